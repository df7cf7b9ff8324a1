/* Driving the agent's dispatch from a unit test: one request line in, its
 * parsed reply out. */
#pragma once

#include "molt-agent.h"
#include "molt-message.h"

/* The reply to LINE (a test failure if it does not parse). */
MoltReply *agent_call (MoltAgent *agent, const char *line);
/* LINE fails with error class KLASS and a description holding NEEDLE. */
void agent_expect_error (MoltAgent *agent, const char *line, const char *klass, const char *needle);
