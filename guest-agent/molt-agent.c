#include "molt-agent.h"
#include "molt-job-cgroup.h"
#include "molt-dispatch.h"
#include "molt-fs-freezer.h"
#include "molt-message.h"
#include "molt-protocol-error.h"

/* How long jobs found frozen at start wait for the host to thaw them. */
#define MOLT_AUTO_THAW_AFTER_START_S 120

struct _MoltAgent
{
  MoltAgentConfig config;
  gchar *jobs_dir;
  MoltJobLauncherConfig launcher;
  MoltJobRegistry *registry;
  MoltCriuProbe *criu;
  gboolean frozen;
  GStrv frozen_mounts;     /* filesystems we froze, or NULL */
  gboolean fs_freezing;    /* a thread is freezing them: they may be frozen */
  gboolean registry_dirty; /* a save deferred while filesystems were frozen */
  guint auto_thaw_id;
  gchar *busy;                     /* a command running off the main loop, or NULL */
  gboolean thaw_when_idle;         /* the auto-thaw fell due while busy */
  GStrv dumping;                   /* jobs the running checkpoint dumps */
  GHashTable *exits_while_dumping; /* name -> wait status */
  guint kexec_id;                  /* the loaded kernel's execution, due soon */
  gboolean kexec_loading;          /* kexec -l runs; a thaw calls the switch off */
  gchar *kexec_preloaded; /* what kexec-load loaded, not yet due (kernel, initrd, append) */
};

struct _MoltCall
{
  MoltAgent *agent;
  JsonNode *id;
  gboolean delimited;
  MoltReplyFunc reply;
  gpointer data;
  GDestroyNotify destroy;
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
  agent->config.cgroup_root
      = g_strdup (config->cgroup_root != NULL ? config->cgroup_root : MOLT_CGROUP_ROOT);
  agent->config.grub_dir = g_strdup (config->grub_dir != NULL ? config->grub_dir : "/boot/grub");
  agent->config.probe_criu = config->probe_criu;
  agent->jobs_dir = g_build_filename (config->state_dir, "jobs", NULL);
  agent->launcher.unshare_path = agent->config.unshare_path;
  agent->launcher.setsid_path = agent->config.setsid_path;
  agent->launcher.cgroup_root = agent->config.cgroup_root;
  agent->launcher.jobs_dir = agent->jobs_dir;

  agent->exits_while_dumping = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  agent->registry = molt_job_registry_new (registry_path);
  if (!molt_job_registry_load (agent->registry, error))
    return NULL;
  if (molt_job_registry_refresh (agent->registry))
    molt_agent_save_registry (agent);
  /* Jobs still frozen from before this agent started (it was restarted
   * mid-switch, or the boot restored them held for the host): whoever
   * froze them may be gone, so the auto-thaw applies to them too. */
  if (molt_job_registry_count_state (agent->registry, MOLT_JOB_STATE_FROZEN) > 0)
    molt_agent_arm_auto_thaw (agent, MOLT_AUTO_THAW_AFTER_START_S);

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
  if (agent->kexec_id != 0)
    g_source_remove (agent->kexec_id);
  g_free (agent->kexec_preloaded);
  molt_fs_thaw_all (agent->frozen_mounts);
  g_strfreev (agent->frozen_mounts);
  g_free (agent->busy);
  g_strfreev (agent->dumping);
  g_hash_table_destroy (agent->exits_while_dumping);
  molt_job_registry_free (agent->registry);
  molt_criu_probe_free (agent->criu);
  g_free (agent->jobs_dir);
  g_free (agent->config.state_dir);
  g_free (agent->config.unshare_path);
  g_free (agent->config.setsid_path);
  g_free (agent->config.cgroup_root);
  g_free (agent->config.grub_dir);
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

const gchar *
molt_agent_get_grub_dir (MoltAgent *agent)
{
  return agent->config.grub_dir;
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
molt_agent_get_busy (MoltAgent *agent)
{
  return agent->busy;
}

static gboolean auto_thaw_cb (gpointer data);

void
molt_agent_set_busy (MoltAgent *agent, const gchar *what)
{
  g_free (agent->busy);
  agent->busy = g_strdup (what);
  if (what == NULL && agent->thaw_when_idle)
    {
      agent->thaw_when_idle = FALSE;
      auto_thaw_cb (agent);
    }
}

void
molt_agent_set_dumping (MoltAgent *agent, GStrv names)
{
  g_strfreev (agent->dumping);
  agent->dumping = names;
  g_hash_table_remove_all (agent->exits_while_dumping);
}

gboolean
molt_agent_is_dumping (MoltAgent *agent)
{
  return agent->dumping != NULL;
}

void
molt_agent_end_dumping (MoltAgent *agent)
{
  GHashTableIter iter;
  gpointer name, status;

  g_clear_pointer (&agent->dumping, g_strfreev);
  /* The dump leaves the trees running (stopped): one that ended meanwhile
   * was killed, and really ended, dumped or not. Recorded after the dump's
   * own state changes, so the exit is what stays. */
  g_hash_table_iter_init (&iter, agent->exits_while_dumping);
  while (g_hash_table_iter_next (&iter, &name, &status))
    molt_agent_job_exited (name, GPOINTER_TO_INT (status), agent);
  g_hash_table_remove_all (agent->exits_while_dumping);
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
  if (agent->frozen_mounts != NULL || agent->fs_freezing)
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

  if (job == NULL)
    return;
  if (agent->dumping != NULL && g_strv_contains ((const gchar *const *) agent->dumping, name))
    {
      g_hash_table_insert (agent->exits_while_dumping, g_strdup (name),
                           GINT_TO_POINTER (wait_status));
      return;
    }
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

static void
call_reply (MoltCall *call, gchar *text)
{
  call->reply (text, call->delimited, call->data);
  if (call->destroy != NULL)
    call->destroy (call->data);
  if (call->id != NULL)
    json_node_unref (call->id);
  g_free (text);
  g_free (call);
}

void
molt_call_return (MoltCall *call, JsonNode *result)
{
  g_autoptr (JsonNode) owned = result;
  call_reply (call, molt_reply_build_return (owned, call->id));
}

void
molt_call_fail (MoltCall *call, GError *error)
{
  g_autoptr (GError) owned = error;
  g_debug ("command failed: %s", owned->message);
  call_reply (call, molt_reply_build_error (owned, call->id));
}

/* What the agent's state forbids, by the command's flags; NULL: allowed. */
static gchar *
disabled_because (MoltAgent *agent, const MoltCommand *cmd)
{
  if (agent->busy != NULL && !(cmd->flags & MOLT_COMMAND_FLAG_ALLOWED_WHILE_BUSY))
    return g_strdup_printf ("'%s' is disabled while a %s is in progress", cmd->name, agent->busy);
  if (agent->frozen && !(cmd->flags & MOLT_COMMAND_FLAG_ALLOWED_WHILE_JOBS_FROZEN))
    return g_strdup_printf ("'%s' is disabled while the guest is frozen", cmd->name);
  if (agent->frozen_mounts != NULL && !(cmd->flags & MOLT_COMMAND_FLAG_ALLOWED_WHILE_FS_FROZEN))
    return g_strdup_printf ("'%s' is disabled while the guest's filesystems are frozen", cmd->name);
  return NULL;
}

void
molt_agent_handle_line_async (MoltAgent *agent, const gchar *line, MoltReplyFunc reply,
                              gpointer data, GDestroyNotify destroy)
{
  GError *error = NULL;
  g_autoptr (MoltRequest) request = NULL;
  g_autofree gchar *why = NULL;
  JsonNode *result;
  const MoltCommand *cmd;
  MoltCall *call = g_new0 (MoltCall, 1);

  call->agent = agent;
  call->reply = reply;
  call->data = data;
  call->destroy = destroy;
  request = molt_request_parse (line, &error);
  if (request == NULL)
    {
      g_debug ("bad request: %s", error->message);
      molt_call_fail (call, error);
      return;
    }
  call->id = request->id != NULL ? json_node_ref (request->id) : NULL;
  cmd = molt_dispatch_lookup (request->execute);
  if (cmd == NULL)
    {
      g_autofree gchar *name = molt_text_excerpt (request->execute, 64);
      molt_call_fail (call, g_error_new (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_COMMAND_NOT_FOUND,
                                         "unknown command '%s' (the 'commands' command lists "
                                         "them)",
                                         name));
      return;
    }
  if ((why = disabled_because (agent, cmd)) != NULL)
    {
      molt_call_fail (call, g_error_new_literal (MOLT_PROTOCOL_ERROR,
                                                 MOLT_PROTOCOL_ERROR_COMMAND_DISABLED, why));
      return;
    }
  call->delimited = (cmd->flags & MOLT_COMMAND_FLAG_DELIMITED) != 0;
  if (cmd->async_func != NULL)
    {
      cmd->async_func (agent, request->arguments, call);
      return;
    }
  result = cmd->func (agent, request->arguments, &error);
  if (result == NULL)
    molt_call_fail (call, error);
  else
    molt_call_return (call, result);
}

typedef struct
{
  gchar *text;
  gboolean delimited;
} SyncReply;

static void
sync_reply (const gchar *reply, gboolean delimited, gpointer data)
{
  SyncReply *out = data;
  out->text = g_strdup (reply);
  out->delimited = delimited;
}

gchar *
molt_agent_handle_line (MoltAgent *agent, const gchar *line, gboolean *delimited)
{
  SyncReply out = { NULL, FALSE };

  molt_agent_handle_line_async (agent, line, sync_reply, &out, NULL);
  while (out.text == NULL)
    g_main_context_iteration (NULL, TRUE);
  *delimited = out.delimited;
  return out.text;
}

void
molt_agent_begin_fs_freeze (MoltAgent *agent)
{
  agent->fs_freezing = TRUE;
}

void
molt_agent_end_fs_freeze (MoltAgent *agent, GStrv mounts)
{
  agent->fs_freezing = FALSE;
  if (mounts != NULL)
    {
      /* Frozen twice: the first list stands, the second thaw is a no-op. */
      if (agent->frozen_mounts == NULL)
        agent->frozen_mounts = mounts;
      else
        g_strfreev (mounts);
      return;
    }
  if (agent->registry_dirty && agent->frozen_mounts == NULL)
    {
      agent->registry_dirty = FALSE;
      molt_agent_save_registry (agent);
    }
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
  /* CRIU holds the jobs while it dumps: thaw as soon as it is done. Any
   * other work off the main loop (a sync that hangs) does not delay it. */
  if (agent->dumping != NULL)
    {
      g_message ("the host did not thaw within its timeout: thawing once the %s ends", agent->busy);
      agent->thaw_when_idle = TRUE;
      return G_SOURCE_REMOVE;
    }
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

typedef struct
{
  MoltAgent *agent;
  GSourceFunc run;
} KexecDue;

static gboolean
kexec_due (gpointer data)
{
  KexecDue *due = data;

  due->agent->kexec_id = 0;
  return due->run (NULL);
}

void
molt_agent_schedule_kexec (MoltAgent *agent, guint delay_ms, GSourceFunc run)
{
  KexecDue *due = g_new0 (KexecDue, 1);

  due->agent = agent;
  due->run = run;
  if (agent->kexec_id != 0)
    g_source_remove (agent->kexec_id);
  agent->kexec_id = g_timeout_add_full (G_PRIORITY_DEFAULT, delay_ms, kexec_due, due, g_free);
}

void
molt_agent_begin_kexec_load (MoltAgent *agent)
{
  agent->kexec_loading = TRUE;
}

gboolean
molt_agent_end_kexec_load (MoltAgent *agent)
{
  gboolean still_wanted = agent->kexec_loading;

  agent->kexec_loading = FALSE;
  return still_wanted;
}

void
molt_agent_set_kexec_preloaded (MoltAgent *agent, const gchar *what)
{
  g_free (agent->kexec_preloaded);
  agent->kexec_preloaded = g_strdup (what);
}

gboolean
molt_agent_take_kexec_preloaded (MoltAgent *agent, const gchar *what)
{
  if (agent->kexec_preloaded == NULL || g_strcmp0 (agent->kexec_preloaded, what) != 0)
    return FALSE;
  g_clear_pointer (&agent->kexec_preloaded, g_free);
  return TRUE;
}

gboolean
molt_agent_cancel_kexec (MoltAgent *agent)
{
  if (agent->kexec_preloaded != NULL)
    {
      g_clear_pointer (&agent->kexec_preloaded, g_free);
      return TRUE;
    }
  if (agent->kexec_loading)
    {
      agent->kexec_loading = FALSE;
      return TRUE;
    }
  if (agent->kexec_id == 0)
    return FALSE;
  g_source_remove (agent->kexec_id);
  agent->kexec_id = 0;
  return TRUE;
}

gboolean
molt_agent_kexec_pending (MoltAgent *agent)
{
  return agent->kexec_id != 0;
}
