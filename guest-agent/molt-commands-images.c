/* images-drop: the checkpoint images of a switch, removed once the host has
 * committed or rolled it back. They hold the jobs' memory: kept, they
 * would fill the guest's disk over repeated switches. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "molt-args.h"
#include "molt-dispatch.h"
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

JsonNode *
molt_command_images_drop (MoltAgent *agent, JsonObject *args, GError **error)
{
  MoltJobRegistry *registry = molt_agent_get_registry (agent);
  g_autoptr (GPtrArray) jobs = molt_job_registry_list (registry);
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *dir = NULL;
  g_autofree gchar *prefix = NULL;
  const gchar *tag;

  if (!molt_args_get_string (args, "tag", TRUE, &tag, error)
      || !molt_job_name_is_valid (tag, error))
    return NULL;
  dir = g_build_filename (molt_agent_get_state_dir (agent), "images", tag, NULL);
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
  return json_node_init_object (json_node_alloc (), g_steal_pointer (&obj));
}
