#include <string.h>

#include "molt-host-error.h"
#include "molt-installed-kernel.h"
#include "molt-reply.h"

/* "6.1.0-56-cloud-amd64" -> "cloud-amd64": Debian's VERSION-ABI-FLAVOUR. */
static const gchar *
flavour (const gchar *release)
{
  const gchar *dash = strchr (release, '-');

  dash = dash != NULL ? strchr (dash + 1, '-') : NULL;
  return dash != NULL ? dash + 1 : "";
}

gboolean
molt_installed_kernel_pick (JsonObject *preflight, const gchar *running, gchar **image,
                            gchar **initrd, gchar **release, GError **error)
{
  JsonArray *kernels = NULL;
  JsonObject *chosen = NULL;
  const gchar *chosen_release = NULL, *path = NULL, *initrd_path = NULL;

  if (!molt_reply_get_array (preflight, "switch-preflight", "installed-kernels", 0, &kernels,
                             error))
    return FALSE;
  /* The agent sends newest first; the first of the running flavour wins,
   * else the first of any. */
  for (guint pass = 0; pass < 2 && chosen == NULL; pass++)
    for (guint i = 0; i < json_array_get_length (kernels) && chosen == NULL; i++)
      {
        JsonObject *k = molt_reply_array_object (kernels, "installed-kernels", i, error);
        const gchar *r = NULL;

        if (k == NULL || !molt_reply_get_string (k, "installed-kernels", "release", 0, &r, error))
          return FALSE;
        if (pass == 1 || g_str_equal (flavour (r), flavour (running)))
          {
            chosen = k;
            chosen_release = r;
          }
      }
  if (chosen == NULL)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "no kernel is installed in the guest's /boot (vmlinuz-RELEASE): install one "
                   "(apt-get install linux-image-...), or name it with --kernel PATH");
      return FALSE;
    }
  if (g_str_equal (chosen_release, running))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "the newest kernel installed in the guest, %s, is the one running: install a "
                   "newer one (apt-get install linux-image-...), or name another with --kernel "
                   "PATH",
                   running);
      return FALSE;
    }
  if (!molt_reply_get_string (chosen, "installed-kernels", "image", 0, &path, error)
      || !molt_reply_get_string (chosen, "installed-kernels", "initrd", MOLT_REPLY_OPTIONAL,
                                 &initrd_path, error))
    return FALSE;
  /* The guest names the files; they must be where the listing looked. */
  if (!g_str_has_prefix (path, "/boot/")
      || (initrd_path != NULL && !g_str_has_prefix (initrd_path, "/boot/")))
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_AGENT_PROTOCOL,
                   "switch-preflight: installed-kernels names a file outside /boot");
      return FALSE;
    }
  *image = g_strdup (path);
  *initrd = g_strdup (initrd_path);
  *release = g_strdup (chosen_release);
  return TRUE;
}
