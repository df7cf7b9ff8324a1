#include <string.h>
#include <unistd.h>

#include "molt-installed-kernels.h"

/* Newest first; strverscmp orders the numbers inside a release. */
static gint
newest_first (gconstpointer a, gconstpointer b)
{
  return strverscmp (*(const gchar *const *) b, *(const gchar *const *) a);
}

JsonArray *
molt_installed_kernels (const gchar *boot_dir)
{
  g_autoptr (GDir) dir = g_dir_open (boot_dir, 0, NULL);
  g_autoptr (GPtrArray) releases = g_ptr_array_new_with_free_func (g_free);
  JsonArray *out = json_array_new ();
  const gchar *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree gchar *image = g_build_filename (boot_dir, name, NULL);

      /* vmlinuz-RELEASE only: not vmlinuz.old, nor a release with a '/'. */
      if (!g_str_has_prefix (name, "vmlinuz-") || name[8] == '\0'
          || !g_file_test (image, G_FILE_TEST_IS_REGULAR) || access (image, R_OK) != 0)
        continue;
      g_ptr_array_add (releases, g_strdup (name + 8));
    }
  g_ptr_array_sort (releases, newest_first);
  for (guint i = 0; i < releases->len && i < MOLT_INSTALLED_KERNELS_MAX; i++)
    {
      const gchar *release = g_ptr_array_index (releases, i);
      g_autofree gchar *file = g_strconcat ("vmlinuz-", release, NULL);
      g_autofree gchar *initrd_file = g_strconcat ("initrd.img-", release, NULL);
      g_autofree gchar *image = g_build_filename (boot_dir, file, NULL);
      g_autofree gchar *initrd = g_build_filename (boot_dir, initrd_file, NULL);
      JsonObject *entry = json_object_new ();

      json_object_set_string_member (entry, "release", release);
      json_object_set_string_member (entry, "image", image);
      if (access (initrd, R_OK) == 0)
        json_object_set_string_member (entry, "initrd", initrd);
      json_array_add_object_element (out, entry);
    }
  return out;
}
