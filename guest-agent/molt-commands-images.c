/* The checkpoint images of a switch: removed once the host has
 * committed or rolled it back. They hold the jobs' memory: kept, they
 * would fill the guest's disk over repeated switches. */
#include <errno.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "molt-args.h"
#include "molt-dispatch.h"
#include "molt-file-check.h"
#include "molt-job-registry.h"
#include "molt-protocol-error.h"

/* nftw keeps no user data: one removal at a time, on the main loop. */
static gint64 removed_bytes;
static int removal_errno;

static int
remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  if (type == FTW_F || type == FTW_SL)
    removed_bytes += st->st_size;
  if (remove (path) != 0 && removal_errno == 0)
    removal_errno = errno;
  return 0;
}

/* The images directory of the checkpoint named by the "tag" argument (a
 * plain name: no path from the host reaches outside the image store). */
static gchar *
images_dir_of_tag (MoltAgent *agent, JsonObject *args, GError **error)
{
  const gchar *tag;

  if (!molt_args_get_string (args, "tag", TRUE, &tag, error)
      || !molt_job_name_is_valid (tag, error))
    return NULL;
  return g_build_filename (molt_agent_get_state_dir (agent), "images", tag, NULL);
}

JsonNode *
molt_command_images_drop (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *dir = images_dir_of_tag (agent, args, error);
  g_autofree gchar *prefix = NULL;

  if (dir == NULL)
    return NULL;
  prefix = g_strconcat (dir, "/", NULL);
  removed_bytes = 0;
  removal_errno = 0;
  if (nftw (dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
    removal_errno = errno;
  if (removal_errno != 0)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot remove the checkpoint images %s: %s", dir, g_strerror (removal_errno));
      return NULL;
    }
  /* The jobs no longer point at what is gone. */
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);
      if (job->images_dir != NULL && g_str_has_prefix (job->images_dir, prefix))
        g_clear_pointer (&job->images_dir, g_free);
    }
  molt_agent_save_registry (agent);
  json_object_set_string_member (obj, "images", dir);
  json_object_set_int_member (obj, "removed-bytes", removed_bytes);
  return json_node_init_object (json_node_alloc (), obj);
}

#define MOLT_IMAGES_LOG_TAIL (64 * 1024)
#define MOLT_IMAGES_LOG_MAX  64

/* CRIU's log of one job, its end only. */
static JsonObject *
log_entry (const gchar *job, const gchar *path)
{
  g_autofree gchar *contents = NULL;
  gsize len = 0;
  JsonObject *entry;
  g_autofree gchar *valid = NULL;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return NULL;
  valid = g_utf8_make_valid (
      len > MOLT_IMAGES_LOG_TAIL ? contents + len - MOLT_IMAGES_LOG_TAIL : contents, -1);
  entry = json_object_new ();
  json_object_set_string_member (entry, "job", job);
  json_object_set_string_member (entry, "path", path);
  json_object_set_string_member (entry, "tail", valid);
  return entry;
}

/* images-logs: CRIU's dump and restore logs of a switch, for the host to
 * keep before a rollback reverts the disk they are on. */
JsonNode *
molt_command_images_logs (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_autoptr (JsonArray) logs = json_array_new ();
  g_autofree gchar *dir = NULL;
  g_autoptr (GDir) jobs = NULL;
  const gchar *job;

  if ((dir = images_dir_of_tag (agent, args, error)) == NULL)
    return NULL;
  jobs = g_dir_open (dir, 0, NULL);
  while (jobs != NULL && (job = g_dir_read_name (jobs)) != NULL
         && json_array_get_length (logs) < MOLT_IMAGES_LOG_MAX)
    for (guint i = 0; i < 2; i++)
      {
        g_autofree gchar *path
            = g_build_filename (dir, job, i == 0 ? "dump.log" : "restore.log", NULL);
        JsonObject *entry = log_entry (job, path);
        if (entry != NULL)
          json_array_add_object_element (logs, entry);
      }
  return json_node_init_array (json_node_alloc (), logs);
}

/* images-verify {tag}: the regular files each job checkpointed under TAG
 * holds open are as they were at the checkpoint. The host asks right
 * before the kernel goes: a file changed meanwhile fails the switch while
 * the jobs' trees can still be thawed in place, instead of after the kexec,
 * when the images are all that is left and cannot be restored over it. */
JsonNode *
molt_command_images_verify (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  g_autoptr (JsonArray) checked = json_array_new ();
  g_autofree gchar *dir = images_dir_of_tag (agent, args, error);
  g_autofree gchar *prefix = NULL;

  if (dir == NULL)
    return NULL;
  prefix = g_strconcat (dir, "/", NULL);
  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);

      if (job->state != MOLT_JOB_STATE_CHECKPOINTED || job->images_dir == NULL
          || !g_str_has_prefix (job->images_dir, prefix))
        continue;
      if (!molt_file_check_verify (job->images_dir, error))
        {
          g_prefix_error (error, "job %s: ", job->name);
          return NULL;
        }
      json_array_add_string_element (checked, job->name);
    }
  return json_node_init_array (json_node_alloc (), checked);
}

/* restore-undo: the jobs the boot restored and holds stopped (the switch
 * asked for a hold, to check the new kernel first) are ended again before
 * they ran, and are checkpointed as before, their images kept: the host
 * is switching back, and the old kernel restores them. */
JsonNode *
molt_command_restore_undo (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  g_autoptr (JsonArray) undone = json_array_new ();

  for (guint i = 0; i < jobs->len; i++)
    {
      MoltJob *job = g_ptr_array_index (jobs, i);

      if (job->state != MOLT_JOB_STATE_FROZEN || !job->hold_after_restore || job->images_dir == NULL
          || job->ns_pids_restored == NULL)
        continue;
      /* Killing a namespace's init ends the whole namespace. */
      if (molt_job_tree_is_alive (job))
        kill (job->host_pid, SIGKILL);
      job->state = MOLT_JOB_STATE_CHECKPOINTED;
      g_clear_pointer (&job->ns_pids_restored, g_free);
      json_array_add_string_element (undone, job->name);
    }
  molt_agent_save_registry (agent);
  return json_node_init_array (json_node_alloc (), undone);
}
