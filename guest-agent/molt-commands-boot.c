/* boot-once: GRUB's one-shot next_entry, pointed at the running kernel
 * before a kexec (layer 3 of a switch's rollback boots it if the new kernel
 * does not come back) and cleared once the switch is resolved. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "molt-args.h"
#include "molt-dispatch.h"
#include "molt-grub-entry.h"
#include "molt-protocol-error.h"

/* update-grub's menus are a few KiB a kernel. */
#define MOLT_GRUB_CFG_MAX (4 * 1024 * 1024)

static gboolean
grub_editenv (const gchar *grubenv, const gchar *const *command, GError **error)
{
  g_autofree gchar *program = g_find_program_in_path ("grub-editenv");
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree gchar *err = NULL;
  gint status = 0;
  gint fd;

  if (program == NULL)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_UNSUPPORTED,
                           "grub-editenv is not installed in the guest (Debian: grub-common)");
      return FALSE;
    }
  g_ptr_array_add (argv, program);
  g_ptr_array_add (argv, (gpointer) grubenv);
  for (guint i = 0; command[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) command[i]);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (gchar **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                     NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, NULL))
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "grub-editenv %s %s failed: %s", grubenv, command[0],
                   err != NULL && *err != '\0' ? g_strstrip (err) : "no message");
      return FALSE;
    }
  /* The next boot may be a hard reset of the domain: on disk now. */
  fd = open (grubenv, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync (fd) != 0)
    {
      int saved_errno = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot sync %s: %s",
                   grubenv, g_strerror (saved_errno));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

static gboolean
read_grub_cfg (const gchar *path, gchar **contents, gsize *length, GError **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR,
                   saved_errno == ENOENT ? MOLT_PROTOCOL_ERROR_NOT_FOUND
                                         : MOLT_PROTOCOL_ERROR_GENERIC,
                   "no GRUB configuration at %s (does the guest boot by GRUB from its own "
                   "disk?): %s",
                   path, g_strerror (saved_errno));
      return FALSE;
    }
  if (st.st_size > MOLT_GRUB_CFG_MAX)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "%s has %" G_GINT64_FORMAT " bytes, more than the %d a GRUB menu is read up to",
                   path, (gint64) st.st_size, MOLT_GRUB_CFG_MAX);
      return FALSE;
    }
  return g_file_get_contents (path, contents, length, error);
}

JsonNode *
molt_command_boot_once (MoltAgent *agent, JsonObject *args, GError **error)
{
  const gchar *grub_dir = molt_agent_get_grub_dir (agent);
  g_autofree gchar *cfg_path = g_build_filename (grub_dir, "grub.cfg", NULL);
  g_autofree gchar *grubenv = g_build_filename (grub_dir, "grubenv", NULL);
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autofree gchar *cfg = NULL;
  g_autofree gchar *entry = NULL;
  g_autofree gchar *assignment = NULL;
  const gchar *release = NULL;
  gboolean clear = FALSE;
  gsize length = 0;

  if (!molt_args_get_string (args, "release", FALSE, &release, error)
      || !molt_args_get_bool (args, "clear", FALSE, &clear, error))
    return NULL;
  if ((release == NULL) == !clear)
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                           "give either 'release' (the kernel GRUB boots next, once) or "
                           "'clear'");
      return NULL;
    }
  json_object_set_string_member (obj, "grubenv", grubenv);
  if (clear)
    {
      static const gchar *const unset[] = { "unset", "next_entry", NULL };

      /* Nothing was set where there is no environment block. */
      if (g_file_test (grubenv, G_FILE_TEST_EXISTS) && !grub_editenv (grubenv, unset, error))
        return NULL;
      json_object_set_boolean_member (obj, "cleared", TRUE);
      return json_node_init_object (json_node_alloc (), obj);
    }

  if (!read_grub_cfg (cfg_path, &cfg, &length, error))
    return NULL;
  entry = molt_grub_find_entry (cfg, length, release, error);
  if (entry == NULL)
    {
      g_prefix_error (error, "%s: ", cfg_path);
      return NULL;
    }
  assignment = g_strconcat ("next_entry=", entry, NULL);
  {
    const gchar *const set[] = { "set", assignment, NULL };
    if (!grub_editenv (grubenv, set, error))
      return NULL;
  }
  g_message ("GRUB's next boot: %s (kernel %s), once", entry, release);
  json_object_set_string_member (obj, "entry", entry);
  return json_node_init_object (json_node_alloc (), obj);
}
