/* job-start, job-list, job-stop: the managed jobs. */
#include <signal.h>
#include <unistd.h>

#include "molt-args.h"
#include "molt-dispatch.h"
#include "molt-job-cgroup.h"
#include "molt-job-freezer.h"
#include "molt-protocol-error.h"

#define MOLT_DEFAULT_PATH       "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define MOLT_STOP_GRACE_DEFAULT 10

static gboolean
validate_env (GStrv env, GError **error)
{
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      const gchar *eq = strchr (env[i], '=');
      if (eq == NULL || eq == env[i])
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                       "argument 'env': element %u is not of the form NAME=VALUE", i);
          return FALSE;
        }
    }
  return TRUE;
}

static GStrv
env_with_default_path (GStrv env)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  gboolean has_path = FALSE;

  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      has_path |= g_str_has_prefix (env[i], "PATH=");
      g_strv_builder_add (builder, env[i]);
    }
  if (!has_path)
    g_strv_builder_add (builder, MOLT_DEFAULT_PATH);
  return g_strv_builder_end (builder);
}

static MoltJob *
find_job (MoltJobRegistry *registry, const gchar *name, GError **error)
{
  MoltJob *job = molt_job_registry_lookup (registry, name);

  if (job == NULL)
    g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_NOT_FOUND, "no job named '%s'",
                 name);
  return job;
}

typedef struct
{
  MoltAgent *agent;
  MoltCall *call;
  MoltJob *job;
} JobStart;

/* Back from the launcher: the job joins the registry. */
static void
job_started (GObject *source, GAsyncResult *result, gpointer data)
{
  JobStart *start = data;
  MoltAgent *agent = start->agent;
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (MoltJob) job = g_steal_pointer (&start->job);
  MoltCall *call = start->call;
  GError *error = NULL;
  MoltJob *added = job;

  g_free (start);
  molt_agent_set_busy (agent, NULL);
  if (!molt_job_launcher_start_finish (result, &error))
    {
      molt_call_fail (call, error);
      return;
    }
  g_message ("job %s started: pid %d (%d in its namespace)", job->name, job->host_pid, job->ns_pid);
  if (!molt_job_registry_add (registry, g_steal_pointer (&job), &error))
    {
      molt_call_fail (call, error);
      return;
    }
  molt_agent_save_registry (agent);
  molt_call_return (call, molt_job_to_json (added));
}

/* job-start {name, argv, cwd?, env?, pid-namespace?, user?, cgroup?}: the
 * reply comes once the job's namespace has its init (the agent is busy until
 * then, so no freeze can miss the job). With cgroup (molt-run --wait from a
 * systemd unit) the job is born in that group: the unit owns it. */
void
molt_command_job_start (MoltAgent *agent, JsonObject *args, MoltCall *call)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (MoltJob) job = NULL;
  g_auto (GStrv) argv = NULL;
  g_auto (GStrv) env = NULL;
  const gchar *name, *cwd, *user = NULL, *cgroup = NULL;
  gboolean own_ns = TRUE;
  gint procs_fd = -1;
  MoltJob *existing;
  GError *error = NULL;
  JobStart *start;

  if (!molt_args_get_string (args, "name", TRUE, &name, &error)
      || !molt_job_name_is_valid (name, &error)
      || !molt_args_get_strv (args, "argv", TRUE, &argv, &error)
      || !molt_args_get_string (args, "cwd", FALSE, &cwd, &error)
      || !molt_args_get_strv (args, "env", FALSE, &env, &error) || !validate_env (env, &error)
      || !molt_args_get_bool (args, "pid-namespace", TRUE, &own_ns, &error)
      || !molt_args_get_string (args, "user", FALSE, &user, &error)
      || !molt_args_get_string (args, "cgroup", FALSE, &cgroup, &error))
    {
      molt_call_fail (call, error);
      return;
    }
  if (argv[0] == NULL || argv[0][0] == '\0')
    {
      molt_call_fail (call, g_error_new_literal (MOLT_PROTOCOL_ERROR,
                                                 MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                                                 "argument 'argv' must name a program"));
      return;
    }
  existing = molt_job_registry_lookup (registry, name);
  if (existing != NULL)
    {
      molt_job_refresh (existing);
      if (existing->state != MOLT_JOB_STATE_EXITED)
        {
          molt_call_fail (call, g_error_new (MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_EXISTS,
                                             "a job named '%s' is already running (pid %d)", name,
                                             existing->host_pid));
          return;
        }
    }

  if (cgroup != NULL
      && (procs_fd = molt_job_cgroup_open (molt_agent_get_launcher_config (agent)->cgroup_root,
                                           cgroup, &error))
             < 0)
    {
      molt_call_fail (call, error);
      return;
    }

  job = molt_job_new (name);
  job->user = g_strdup (user);
  job->argv = g_steal_pointer (&argv);
  job->cwd = g_strdup (cwd != NULL ? cwd : "/");
  job->env = env_with_default_path (env);
  start = g_new0 (JobStart, 1);
  start->agent = agent;
  start->call = call;
  start->job = g_steal_pointer (&job);
  molt_agent_set_busy (agent, "job-start");
  /* The child has its own copy of the descriptor once spawned. */
  molt_job_launcher_start_async (molt_agent_get_launcher_config (agent), start->job, own_ns,
                                 procs_fd, molt_agent_job_exited, agent, job_started, start);
  if (procs_fd >= 0)
    close (procs_fd);
}

/* Every process of the job with its PID inside the job's namespace: what a
 * restore must keep unchanged. */
static JsonArray *
job_processes (gint root_pid)
{
  g_autoptr (GArray) tree = molt_process_tree (root_pid);
  JsonArray *processes = json_array_new ();

  for (guint i = 0; i < tree->len; i++)
    {
      gint pid = g_array_index (tree, gint, i);
      g_autofree gchar *comm_path = g_strdup_printf ("/proc/%d/comm", pid);
      g_autofree gchar *comm = NULL;
      g_autoptr (JsonObject) entry = json_object_new ();

      g_file_get_contents (comm_path, &comm, NULL, NULL);
      json_object_set_int_member (entry, "pid", pid);
      json_object_set_int_member (entry, "ns-pid", molt_proc_read_ns_pid (pid));
      json_object_set_string_member (entry, "comm", comm != NULL ? g_strstrip (comm) : "?");
      json_array_add_object_element (processes, g_steal_pointer (&entry));
    }
  return processes;
}

JsonNode *
molt_command_job_list (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (JsonArray) array = json_array_new ();
  g_autoptr (GPtrArray) jobs = NULL;

  if (molt_job_registry_refresh (registry))
    molt_agent_save_registry (agent);
  jobs = molt_job_registry_list (registry);
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      JsonNode *node = molt_job_to_json (job);
      if (job->state == MOLT_JOB_STATE_RUNNING || job->state == MOLT_JOB_STATE_FROZEN)
        json_object_set_array_member (json_node_get_object (node), "processes",
                                      job_processes (job->host_pid));
      json_array_add_element (array, node);
    }
  return json_node_init_array (json_node_alloc (), array);
}

typedef struct
{
  MoltAgent *agent;
  gchar *name;
  gint pid;
  guint64 starttime;
} MoltStopEscalation;

static void
escalation_free (gpointer data)
{
  MoltStopEscalation *esc = data;
  g_free (esc->name);
  g_free (esc);
}

/* After the grace period, kill the namespace's init: the kernel then kills
 * every process in the namespace. */
static gboolean
escalate_stop (gpointer data)
{
  MoltStopEscalation *esc = data;
  MoltJob *job = molt_job_registry_lookup (molt_agent_get_registry (esc->agent), esc->name);

  if (job != NULL && job->host_pid == esc->pid && job->proc_starttime == esc->starttime
      && !molt_job_refresh (job))
    {
      g_message ("job %s did not stop within its grace period: SIGKILL", esc->name);
      kill (esc->pid, SIGKILL);
    }
  return G_SOURCE_REMOVE;
}

JsonNode *
molt_command_job_stop (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  MoltStopEscalation *esc;
  const gchar *name;
  gint64 grace = MOLT_STOP_GRACE_DEFAULT;
  MoltJob *job;

  if (!molt_args_get_string (args, "name", TRUE, &name, error)
      || !molt_args_get_int (args, "grace", FALSE, 0, 3600, &grace, error))
    return NULL;
  job = find_job (registry, name, error);
  if (job == NULL)
    return NULL;
  molt_job_refresh (job);
  if (job->state == MOLT_JOB_STATE_EXITED)
    return molt_job_to_json (job);

  kill (job->host_pid, grace == 0 ? SIGKILL : SIGTERM);
  job->state = MOLT_JOB_STATE_STOPPING;
  molt_agent_save_registry (agent);
  if (grace > 0)
    {
      esc = g_new0 (MoltStopEscalation, 1);
      esc->agent = agent;
      esc->name = g_strdup (name);
      esc->pid = job->host_pid;
      esc->starttime = job->proc_starttime;
      g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, (guint) grace, escalate_stop, esc,
                                  escalation_free);
    }
  return molt_job_to_json (job);
}

/* job-attach {name, cgroup}: moves a running job's processes into a
 * cgroup. After a kernel switch the restored job lives in the restore's
 * group; its unit's `molt-run --wait`, started by systemd, takes it back
 * instead of starting a second copy. */
JsonNode *
molt_command_job_attach (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  const gchar *name, *cgroup;
  gboolean moved;
  MoltJob *job;
  gint fd;

  if (!molt_args_get_string (args, "name", TRUE, &name, error)
      || !molt_args_get_string (args, "cgroup", TRUE, &cgroup, error))
    return NULL;
  job = find_job (registry, name, error);
  if (job == NULL)
    return NULL;
  molt_job_refresh (job);
  if (job->state != MOLT_JOB_STATE_RUNNING)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                   "job '%s' is %s, not running: nothing to attach to", name,
                   molt_job_state_to_string (job->state));
      return NULL;
    }
  fd = molt_job_cgroup_open (molt_agent_get_launcher_config (agent)->cgroup_root, cgroup, error);
  if (fd < 0)
    return NULL;
  moved = molt_job_cgroup_move_tree (fd, job->host_pid, error);
  close (fd);
  if (!moved)
    {
      g_prefix_error (error, "job '%s': ", name);
      return NULL;
    }
  g_message ("job %s (pid %d, %d in its namespace) attached to cgroup %s", name, job->host_pid,
             job->ns_pid, cgroup);
  return molt_job_to_json (job);
}

#define MOLT_JOB_LOG_MAX 65536

/* The tail of a job's output log: lets the host see a job is progressing
 * without a general file-read command. */
JsonNode *
molt_command_job_log (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GFile) file = NULL;
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *data = NULL;
  g_autofree gchar *text = NULL;
  gint64 bytes = 4096, size;
  gsize got = 0;
  const gchar *name;
  MoltJob *job;

  if (!molt_args_get_string (args, "name", TRUE, &name, error)
      || !molt_args_get_int (args, "bytes", FALSE, 0, MOLT_JOB_LOG_MAX, &bytes, error))
    return NULL;
  job = find_job (registry, name, error);
  if (job == NULL)
    return NULL;
  file = g_file_new_for_path (job->log_path);
  stream = g_file_read (file, NULL, error);
  if (stream == NULL)
    return NULL;
  info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, error);
  if (info == NULL)
    return NULL;
  size = g_file_info_get_size (info);
  if (size > bytes && !g_seekable_seek (G_SEEKABLE (stream), size - bytes, G_SEEK_SET, NULL, error))
    return NULL;
  data = g_malloc (bytes + 1);
  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), data, bytes, &got, NULL, error))
    return NULL;
  data[got] = '\0';
  /* Job output may be binary; the protocol carries UTF-8 only. */
  text = g_utf8_make_valid (data, got);
  json_object_set_string_member (obj, "name", name);
  json_object_set_string_member (obj, "path", job->log_path);
  json_object_set_int_member (obj, "size", size);
  json_object_set_string_member (obj, "tail", text);
  return json_node_init_object (json_node_alloc (), obj);
}
