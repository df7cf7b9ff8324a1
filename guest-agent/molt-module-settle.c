/* A driver set after the same-kernel kexec: see molt-module-settle.h. */

#include "molt-module-inspect.h"
#include "molt-module-reload.h"
#include "molt-module-settle.h"
#include "molt-protocol-error.h"

static JsonObject *
settled (MoltModuleCandidate *c, const gchar *how)
{
  JsonObject *m = json_object_new ();
  g_autofree gchar *srcversion = molt_module_sysfs (c->info->name, "srcversion");
  g_autofree gchar *version = molt_module_sysfs (c->info->name, "version");
  g_autofree gchar *build_id = molt_module_loaded_build_id (c->info->name);

  json_object_set_string_member (m, "name", c->info->name);
  if (srcversion != NULL)
    json_object_set_string_member (m, "new-srcversion", srcversion);
  if (version != NULL)
    json_object_set_string_member (m, "new-version", version);
  if (build_id != NULL)
    json_object_set_string_member (m, "new-build-id", build_id);
  json_object_set_string_member (m, "how", how);
  return m;
}

/* What tells the running build from DIR's: the build id where both have
 * one (a rebuild changes it), else the srcversion; NULL when they agree
 * or nothing can tell. */
static gchar *
other_build (MoltModuleCandidate *c)
{
  if (c->info->build_id != NULL && c->loaded_build_id != NULL)
    return g_str_equal (c->info->build_id, c->loaded_build_id)
               ? NULL
               : g_strdup_printf ("build id %s, not the driver set's %s", c->loaded_build_id,
                                  c->info->build_id);
  if (c->info->srcversion != NULL && c->loaded_srcversion != NULL)
    return g_str_equal (c->info->srcversion, c->loaded_srcversion)
               ? NULL
               : g_strdup_printf ("srcversion %s, not the driver set's %s", c->loaded_srcversion,
                                  c->info->srcversion);
  return NULL;
}

JsonNode *
molt_module_settle (const gchar *dir, const gchar *const *loaded, GError **error)
{
  g_autoptr (GPtrArray) cands = NULL;
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autoptr (JsonArray) modules = json_array_new ();
  gboolean from_initramfs = FALSE;
  g_autofree gchar *release = NULL;

  if ((cands = molt_module_inspect_installable (dir, &release, error)) == NULL)
    return NULL;
  for (guint i = 0; i < cands->len; i++)
    {
      MoltModuleCandidate *c = cands->pdata[i];

      g_autofree gchar *mismatch = c->loaded ? other_build (c) : NULL;

      if (mismatch != NULL)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "module %s runs %s after the boot: the old build was loaded (from the "
                       "disk, where it stays until the commit, or from an initramfs without the "
                       "new one); the kexec path renews a module the initramfs loads, or one "
                       "nothing loads at boot",
                       c->info->name, mismatch);
          return NULL;
        }
      if (c->loaded)
        {
          from_initramfs = TRUE;
          json_array_add_object_element (modules, settled (c, "initramfs"));
        }
      else if (loaded != NULL && g_strv_contains (loaded, c->info->name))
        {
          if (!molt_module_load_file (c->file, c->info->name, error))
            return NULL;
          json_array_add_object_element (modules, settled (c, "loaded after the boot"));
        }
      else
        json_array_add_object_element (modules, settled (c, "not loaded"));
    }
  json_object_set_array_member (obj, "modules", g_steal_pointer (&modules));
  json_object_set_boolean_member (obj, "from-initramfs", from_initramfs);
  return json_node_init_object (json_node_alloc (), g_steal_pointer (&obj));
}
