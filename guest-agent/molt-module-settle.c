/* A driver set after the same-kernel kexec: see molt-module-settle.h. */

#include <string.h>

#include "molt-module-inspect.h"
#include "molt-module-reload.h"
#include "molt-module-settle.h"
#include "molt-protocol-error.h"

static JsonObject *
settled_name (const gchar *name, const gchar *how)
{
  JsonObject *m = json_object_new ();
  g_autofree gchar *srcversion = molt_module_sysfs (name, "srcversion");
  g_autofree gchar *version = molt_module_sysfs (name, "version");
  g_autofree gchar *build_id = molt_module_loaded_build_id (name);

  json_object_set_string_member (m, "name", name);
  if (srcversion != NULL)
    json_object_set_string_member (m, "new-srcversion", srcversion);
  if (version != NULL)
    json_object_set_string_member (m, "new-version", version);
  if (build_id != NULL)
    json_object_set_string_member (m, "new-build-id", build_id);
  json_object_set_string_member (m, "how", how);
  return m;
}

static JsonObject *
settled (MoltModuleCandidate *c, const gchar *how)
{
  return settled_name (c->info->name, how);
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
  return json_node_init_object (json_node_alloc (), obj);
}

/* A module name as the kernel spells them (MODULE_NAME_LEN is 56): it goes
 * to modprobe as an argument, which must not read as an option. */
static gboolean
valid_module_name (const gchar *name)
{
  gsize len = strlen (name);

  if (len == 0 || len >= 56)
    return FALSE;
  for (const gchar *p = name; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return name[0] != '-';
}

JsonNode *
molt_module_settle_old (const gchar *const *names, GError **error)
{
  g_autoptr (JsonObject) obj = json_object_new ();
  g_autoptr (JsonArray) modules = json_array_new ();

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    if (!valid_module_name (names[i]))
      {
        g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                     "'%s' is not a module name", names[i]);
        return NULL;
      }
  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      g_autofree gchar *refcnt = molt_module_sysfs (names[i], "refcnt");
      g_autoptr (GError) local = NULL;
      JsonObject *m;

      if (refcnt != NULL)
        {
          json_array_add_object_element (modules, settled_name (names[i], "at boot"));
          continue;
        }
      /* No ".ko": by name, through modprobe and the disk's index. */
      if (!molt_module_load_file (names[i], names[i], &local))
        {
          m = json_object_new ();
          json_object_set_string_member (m, "name", names[i]);
          json_object_set_string_member (m, "error", local->message);
          json_array_add_object_element (modules, m);
          continue;
        }
      json_array_add_object_element (modules, settled_name (names[i], "loaded after the boot"));
    }
  json_object_set_array_member (obj, "modules", g_steal_pointer (&modules));
  return json_node_init_object (json_node_alloc (), obj);
}
