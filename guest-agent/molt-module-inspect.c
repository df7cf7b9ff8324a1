/* The driver set against the running kernel: see molt-module-inspect.h. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include <gio/gio.h>

#include "molt-depmod.h"
#include "molt-module-inspect.h"
#include "molt-module-users.h"
#include "molt-protocol-error.h"

/* More .ko files than any driver set holds: the rest is refused. */
#define MOLT_MODULE_DIR_MAX 64

void
molt_module_candidate_free (MoltModuleCandidate *c)
{
  if (c == NULL)
    return;
  g_free (c->file);
  molt_module_info_free (c->info);
  g_free (c->loaded_version);
  g_free (c->loaded_srcversion);
  g_free (c->loaded_build_id);
  g_strfreev (c->holders);
  g_free (c);
}

gchar *
molt_module_sysfs (const gchar *name, const gchar *attribute)
{
  g_autofree gchar *module = molt_module_canonical_name (name);
  g_autofree gchar *path = g_build_filename ("/sys/module", module, attribute, NULL);
  gchar *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return g_strstrip (text);
}

/* NAME's file in the running kernel's modules.dep, or NULL. */
gchar *
molt_module_file (const gchar *release, const gchar *name)
{
  g_autofree gchar *dep_path = g_build_filename ("/lib/modules", release, "modules.dep", NULL);
  g_autofree gchar *deps = NULL, *wanted = molt_module_canonical_name (name);
  g_auto (GStrv) lines = NULL;

  molt_depmod_settle ();
  if (!g_file_get_contents (dep_path, &deps, NULL, NULL))
    return NULL;
  lines = g_strsplit (deps, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gchar *colon = strchr (lines[i], ':');
      g_autofree gchar *base = NULL, *canon = NULL;
      gchar *ko;

      if (colon == NULL)
        continue;
      *colon = '\0';
      base = g_path_get_basename (lines[i]);
      if ((ko = strstr (base, ".ko")) == NULL)
        continue;
      *ko = '\0';
      canon = molt_module_canonical_name (base);
      if (g_str_equal (canon, wanted))
        return g_path_is_absolute (lines[i])
                   ? g_strdup (lines[i])
                   : g_build_filename ("/lib/modules", release, lines[i], NULL);
    }
  return NULL;
}

gchar *
molt_module_loaded_build_id (const gchar *name)
{
  g_autofree gchar *module = molt_module_canonical_name (name);
  g_autofree gchar *path
      = g_build_filename ("/sys/module", module, "notes", ".note.gnu.build-id", NULL);
  g_autofree gchar *note = NULL;
  gsize len;

  if (!g_file_get_contents (path, &note, &len, NULL))
    return NULL;
  return molt_module_build_id_note ((const guint8 *) note, len);
}

static GStrv
holders_of (const gchar *name)
{
  g_autofree gchar *module = molt_module_canonical_name (name);
  g_autofree gchar *path = g_build_filename ("/sys/module", module, "holders", NULL);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr (GStrvBuilder) holders = g_strv_builder_new ();
  const gchar *entry;

  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    g_strv_builder_add (holders, entry);
  return g_strv_builder_end (holders);
}

/* Built in: listed in modules.builtin of the running kernel. */
static gboolean
is_builtin (const gchar *release, const gchar *name)
{
  g_autofree gchar *path = g_build_filename ("/lib/modules", release, "modules.builtin", NULL);
  g_autofree gchar *contents = NULL, *module = molt_module_canonical_name (name);
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree gchar *base = g_path_get_basename (lines[i]);
      g_autofree gchar *canon = NULL;
      if (!g_str_has_suffix (base, ".ko"))
        continue;
      base[strlen (base) - 3] = '\0';
      canon = molt_module_canonical_name (base);
      if (g_str_equal (canon, module))
        return TRUE;
    }
  return FALSE;
}

/* Known to the running kernel: loaded, or in its modules.dep. */
static gboolean
kernel_has (const gchar *release, const gchar *name)
{
  g_autofree gchar *module = molt_module_canonical_name (name);
  g_autofree gchar *sys = g_build_filename ("/sys/module", module, NULL);
  g_autofree gchar *file = NULL;

  if (g_file_test (sys, G_FILE_TEST_IS_DIR))
    return TRUE;
  file = molt_module_file (release, name);
  return file != NULL;
}

static MoltModuleCandidate *
candidate_new (const gchar *file, MoltModuleInfo *info, const gchar *release)
{
  MoltModuleCandidate *c = g_new0 (MoltModuleCandidate, 1);
  g_autofree gchar *refcnt = NULL;

  c->file = g_strdup (file);
  c->info = info;
  c->builtin = is_builtin (release, info->name);
  refcnt = molt_module_sysfs (info->name, "refcnt");
  c->loaded = refcnt != NULL;
  c->refcnt = refcnt != NULL ? (gint) g_ascii_strtoll (refcnt, NULL, 10) : -1;
  c->loaded_version = c->loaded ? molt_module_sysfs (info->name, "version") : NULL;
  c->loaded_srcversion = c->loaded ? molt_module_sysfs (info->name, "srcversion") : NULL;
  c->loaded_build_id = c->loaded ? molt_module_loaded_build_id (info->name) : NULL;
  c->holders = holders_of (info->name);
  return c;
}

static gboolean
in_set (GPtrArray *set, const gchar *name)
{
  g_autofree gchar *wanted = molt_module_canonical_name (name);

  for (guint i = 0; i < set->len; i++)
    {
      g_autofree gchar *have
          = molt_module_canonical_name (((MoltModuleCandidate *) set->pdata[i])->info->name);
      if (g_str_equal (have, wanted))
        return TRUE;
    }
  return FALSE;
}

/* Dependency order within the set: repeatedly take a module none of whose
 * dependencies in the set is still to come. A cycle keeps the rest as
 * found (the kernel would refuse it anyway). */
static GPtrArray *
ordered (GPtrArray *found)
{
  GPtrArray *order = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_module_candidate_free);

  while (found->len > 0)
    {
      guint pick = 0;
      for (guint i = 0; i < found->len; i++)
        {
          MoltModuleCandidate *c = found->pdata[i];
          gboolean waits = FALSE;
          for (guint d = 0; c->info->depends[d] != NULL && !waits; d++)
            waits = in_set (found, c->info->depends[d]);
          if (!waits)
            {
              pick = i;
              break;
            }
        }
      g_ptr_array_add (order, g_ptr_array_steal_index (found, pick));
    }
  return order;
}

GPtrArray *
molt_module_inspect_dir (const gchar *dir, const gchar *release, GPtrArray *problems,
                         GError **error)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, error);
  g_autoptr (GPtrArray) found
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_module_candidate_free);
  const gchar *entry;

  if (listing == NULL)
    return NULL;
  while ((entry = g_dir_read_name (listing)) != NULL)
    {
      g_autofree gchar *path = NULL;
      MoltModuleInfo *info;

      if (!g_str_has_suffix (entry, ".ko"))
        continue;
      if (found->len >= MOLT_MODULE_DIR_MAX)
        {
          g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                       "%s holds more than %d modules", dir, MOLT_MODULE_DIR_MAX);
          return NULL;
        }
      path = g_build_filename (dir, entry, NULL);
      if ((info = molt_module_info_read (path, error)) == NULL)
        return NULL;
      g_ptr_array_add (found, candidate_new (path, info, release));
    }
  if (found->len == 0)
    {
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "%s holds no .ko file: no driver set to install", dir);
      return NULL;
    }
  for (guint i = 0; i < found->len; i++)
    {
      MoltModuleCandidate *c = found->pdata[i];
      g_autofree gchar *for_release = molt_module_vermagic_release (c->info->vermagic);
      g_autofree gchar *base = g_path_get_basename (c->file);

      if (!g_str_equal (for_release, release))
        g_ptr_array_add (problems,
                         g_strdup_printf ("%s is built for kernel %s (vermagic '%s'), "
                                          "the guest runs %s: build it against %s's "
                                          "headers",
                                          base, for_release, c->info->vermagic, release, release));
      if (c->builtin)
        g_ptr_array_add (problems,
                         g_strdup_printf ("%s replaces %s, which is built into kernel %s: a "
                                          "built-in driver can only change with the kernel",
                                          base, c->info->name, release));
      for (guint d = 0; c->info->depends[d] != NULL; d++)
        if (c->info->depends[d][0] != '\0' && !in_set (found, c->info->depends[d])
            && !kernel_has (release, c->info->depends[d]))
          g_ptr_array_add (problems,
                           g_strdup_printf ("%s needs module %s, which kernel %s does not have "
                                            "and %s does not hold",
                                            base, c->info->depends[d], release, dir));
    }
  return ordered (found);
}

GPtrArray *
molt_module_inspect_installable (const gchar *dir, gchar **release, GError **error)
{
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) cands = NULL;
  struct utsname uts;

  if (uname (&uts) != 0)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "cannot read the running kernel's release: %s", g_strerror (saved_errno));
      return NULL;
    }
  if ((cands = molt_module_inspect_dir (dir, uts.release, problems, error)) == NULL)
    return NULL;
  if (problems->len > 0)
    {
      g_autofree gchar *all = NULL;
      g_ptr_array_add (problems, NULL);
      all = g_strjoinv ("; ", (gchar **) problems->pdata);
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC,
                   "the driver set cannot be installed: %s", all);
      return NULL;
    }
  *release = g_strdup (uts.release);
  return g_steal_pointer (&cands);
}

gchar *
molt_module_busy_reason (const MoltModuleCandidate *c)
{
  if (!c->loaded)
    return NULL;
  if (c->holders[0] != NULL)
    {
      g_autofree gchar *names = g_strjoinv (", ", c->holders);
      return g_strdup_printf ("module %s is held by module(s) %s", c->info->name, names);
    }
  if (c->refcnt > 0)
    {
      g_autofree gchar *users = molt_module_users_describe (c->info->name);
      return g_strdup_printf ("module %s is in use (%d references: %s)", c->info->name, c->refcnt,
                              users != NULL ? users
                                            : "an open device, a mounted filesystem or a network "
                                              "interface");
    }
  return NULL;
}

static JsonArray *
strv_array (const gchar *const *strv)
{
  JsonArray *array = json_array_new ();
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    if (strv[i][0] != '\0')
      json_array_add_string_element (array, strv[i]);
  return array;
}

JsonObject *
molt_module_candidate_to_json (const MoltModuleCandidate *c)
{
  JsonObject *obj = json_object_new ();
  g_autofree gchar *busy = molt_module_busy_reason (c);

  json_object_set_string_member (obj, "file", c->file);
  json_object_set_string_member (obj, "name", c->info->name);
  json_object_set_string_member (obj, "vermagic", c->info->vermagic);
  if (c->info->version != NULL)
    json_object_set_string_member (obj, "version", c->info->version);
  if (c->info->srcversion != NULL)
    json_object_set_string_member (obj, "srcversion", c->info->srcversion);
  json_object_set_array_member (obj, "depends",
                                strv_array ((const gchar *const *) c->info->depends));
  json_object_set_boolean_member (obj, "loaded", c->loaded);
  json_object_set_boolean_member (obj, "builtin", c->builtin);
  if (c->loaded_version != NULL)
    json_object_set_string_member (obj, "loaded-version", c->loaded_version);
  if (c->loaded_srcversion != NULL)
    json_object_set_string_member (obj, "loaded-srcversion", c->loaded_srcversion);
  if (c->info->build_id != NULL)
    json_object_set_string_member (obj, "build-id", c->info->build_id);
  if (c->loaded_build_id != NULL)
    json_object_set_string_member (obj, "loaded-build-id", c->loaded_build_id);
  json_object_set_int_member (obj, "refcnt", c->refcnt);
  json_object_set_array_member (obj, "holders", strv_array ((const gchar *const *) c->holders));
  if (busy != NULL)
    json_object_set_string_member (obj, "busy", busy);
  return obj;
}
