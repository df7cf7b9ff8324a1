#include <string.h>

#include "agent-call.h"
#include "molt-test.h"

MoltReply *
agent_call (MoltAgent *agent, const char *line)
{
  g_autoptr (GError) error = NULL;
  gboolean delimited = FALSE;
  g_autofree gchar *text = molt_agent_handle_line (agent, line, &delimited);
  MoltReply *reply = molt_reply_parse (g_strchomp (text), &error);

  MOLT_ASSERT_NO_ERROR (error);
  return reply;
}

void
agent_expect_error (MoltAgent *agent, const char *line, const char *klass, const char *needle)
{
  g_autoptr (MoltReply) reply = agent_call (agent, line);

  CU_ASSERT_TRUE_FATAL (molt_reply_is_error (reply));
  CU_ASSERT_STRING_EQUAL (reply->error_class, klass);
  MOLT_ASSERT_CONTAINS (reply->error_desc, needle);
}
