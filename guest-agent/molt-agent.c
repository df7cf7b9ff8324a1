#include "molt-agent.h"
#include "molt-dispatch.h"
#include "molt-fs-freezer.h"
#include "molt-message.h"
#include "molt-protocol-error.h"

struct _MoltAgent
{
  MoltAgentConfig config;
  gchar *jobs_dir;
  MoltJobLauncherConfig launcher;
  MoltJobRegistry *registry;
  MoltCriuProbe *criu;
  gboolean frozen;
  GStrv frozen_mounts;     /* filesystems we froze, or NULL */
  gboolean registry_dirty; /* a save deferred while filesystems were frozen */
  guint auto_thaw_id;
};

MoltAgent *
molt_agent_new (const MoltAgentConfig *config, GError **error)
{
  g_autoptr (MoltAgent) agent = g_new0 (MoltAgent, 1);
  g_autofree gchar *registry_path = g_build_filename (config->state_dir, "jobs.json", NULL);
  g_autofree gchar *criu_dir = g_build_filename (config->state_dir, "criu", NULL);

  agent->config.state_dir = g_strdup (config->state_dir);
  agent->config.unshare_path = g_strdup (config->unshare_path);
  agent->config.setsid_path = g_strdup (config->setsid_path);
  agent->config.probe_criu = config->probe_criu;
  agent->jobs_dir = g_build_filename (config->state_dir, "jobs", NULL);
  agent->launcher.unshare_path = agent->config.unshare_path;
  agent->launcher.setsid_path = agent->config.setsid_path;
  agent->launcher.jobs_dir = agent->jobs_dir;

  agent->registry = molt_job_registry_new (registry_path);
  if (!molt_job_registry_load (agent->registry, error))
    return NULL;
  if (molt_job_registry_refresh (agent->registry))
    molt_agent_save_registry (agent);

  agent->criu = molt_criu_probe_new (criu_dir);
  if (config->probe_criu)
    molt_criu_probe_start (agent->criu);
  return g_steal_pointer (&agent);
}

void
molt_agent_free (MoltAgent *agent)
{
  if (agent == NULL)
    return;
  if (agent->auto_thaw_id != 0)
    g_source_remove (agent->auto_thaw_id);
  molt_fs_thaw_all (agent->frozen_mounts);
  g_strfreev (agent->frozen_mounts);
  molt_job_registry_free (agent->registry);
  molt_criu_probe_free (agent->criu);
  g_free (agent->jobs_dir);
  g_free (agent->config.state_dir);
  g_free (agent->config.unshare_path);
  g_free (agent->config.setsid_path);
  g_free (agent);
}

MoltJobRegistry *
molt_agent_get_registry (MoltAgent *agent)
{
  return agent->registry;
}

MoltCriuProbe *
molt_agent_get_criu_probe (MoltAgent *agent)
{
  return agent->criu;
}

const MoltJobLauncherConfig *
molt_agent_get_launcher_config (MoltAgent *agent)
{
  return &agent->launcher;
}

gboolean
molt_agent_is_frozen (MoltAgent *agent)
{
  return agent->frozen;
}

void
molt_agent_set_frozen (MoltAgent *agent, gboolean frozen)
{
  agent->frozen = frozen;
}

const gchar *
molt_agent_get_state_dir (MoltAgent *agent)
{
  return agent->config.state_dir;
}

void
molt_agent_save_registry (MoltAgent *agent)
{
  g_autoptr (GError) error = NULL;

  /* A write to a frozen filesystem blocks until it thaws: defer it. */
  if (agent->frozen_mounts != NULL)
    {
      agent->registry_dirty = TRUE;
      return;
    }
  if (!molt_job_registry_save (agent->registry, &error))
    g_warning ("cannot save the job registry: %s", error->message);
}

void
molt_agent_job_exited (const gchar *name, gint wait_status, gpointer data)
{
  MoltAgent *agent = data;
  MoltJob *job = molt_job_registry_lookup (agent->registry, name);

  /* A checkpoint ends the dumped tree on purpose: that is not an exit. */
  if (job == NULL || job->state == MOLT_JOB_STATE_CHECKPOINTED)
    return;
  job->state = MOLT_JOB_STATE_EXITED;
  job->exit_status = wait_status;
  job->exit_known = wait_status >= 0;
  g_message ("job %s ended (wait status %d)", name, wait_status);
  molt_agent_save_registry (agent);
}

gchar *
molt_agent_oversized_reply (void)
{
  g_autoptr (GError) error
      = g_error_new (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_PARSE,
                     "request longer than %d bytes, dropped", MOLT_AGENT_MAX_REQUEST);
  return molt_reply_build_error (error, NULL);
}

gchar *
molt_agent_handle_line (MoltAgent *agent, const gchar *line, gboolean *delimited)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltRequest) request = NULL;
  g_autoptr (JsonNode) result = NULL;
  const MoltCommand *cmd;

  *delimited = FALSE;
  request = molt_request_parse (line, &error);
  if (request == NULL)
    {
      g_debug ("bad request: %s", error->message);
      return molt_reply_build_error (error, NULL);
    }
  cmd = molt_dispatch_lookup (request->execute);
  if (cmd == NULL)
    {
      g_autofree gchar *name = molt_text_excerpt (request->execute, 64);
      g_set_error (&error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_COMMAND_NOT_FOUND,
                   "unknown command '%s' (the 'commands' command lists them)", name);
      return molt_reply_build_error (error, request->id);
    }
  if (agent->frozen && !(cmd->flags & MOLT_COMMAND_FLAG_ALLOWED_WHILE_FROZEN))
    {
      g_set_error (&error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_COMMAND_DISABLED,
                   "'%s' is disabled while the guest is frozen", cmd->name);
      return molt_reply_build_error (error, request->id);
    }
  *delimited = (cmd->flags & MOLT_COMMAND_FLAG_DELIMITED) != 0;
  result = cmd->func (agent, request->arguments, &error);
  if (result == NULL)
    {
      g_debug ("%s failed: %s", cmd->name, error->message);
      return molt_reply_build_error (error, request->id);
    }
  return molt_reply_build_return (result, request->id);
}

gboolean
molt_agent_freeze_filesystems (MoltAgent *agent, GError **error)
{
  if (agent->frozen_mounts != NULL)
    return TRUE;
  agent->frozen_mounts = molt_fs_freeze_all (error);
  return agent->frozen_mounts != NULL;
}

GStrv
molt_agent_get_frozen_mounts (MoltAgent *agent)
{
  return agent->frozen_mounts;
}

void
molt_agent_thaw_filesystems (MoltAgent *agent)
{
  if (agent->frozen_mounts == NULL)
    return;
  molt_fs_thaw_all (agent->frozen_mounts);
  g_clear_pointer (&agent->frozen_mounts, g_strfreev);
  if (agent->registry_dirty)
    {
      agent->registry_dirty = FALSE;
      molt_agent_save_registry (agent);
    }
}

static gboolean
auto_thaw_cb (gpointer data)
{
  MoltAgent *agent = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonNode) ignored = NULL;

  agent->auto_thaw_id = 0;
  g_message ("the host did not thaw within its timeout: thawing by ourselves");
  ignored = molt_command_thaw (agent, NULL, &error);
  return G_SOURCE_REMOVE;
}

void
molt_agent_arm_auto_thaw (MoltAgent *agent, guint seconds)
{
  if (agent->auto_thaw_id != 0)
    g_source_remove (agent->auto_thaw_id);
  agent->auto_thaw_id = seconds > 0 ? g_timeout_add_seconds (seconds, auto_thaw_cb, agent) : 0;
}

void
molt_agent_disarm_auto_thaw (MoltAgent *agent)
{
  if (agent->auto_thaw_id != 0)
    g_source_remove (agent->auto_thaw_id);
  agent->auto_thaw_id = 0;
}
