/* modules-inspect and modules-reload: a driver-set switch's side in the
 * guest (molt-module-inspect.h, molt-module-reload.h). */
#include <errno.h>
#include <sys/utsname.h>

#include <glib/gstdio.h>

#include "molt-args.h"
#include "molt-dispatch.h"
#include "molt-module-initrd.h"
#include "molt-module-inspect.h"
#include "molt-module-reload.h"
#include "molt-module-settle.h"
#include "molt-protocol-error.h"

static gboolean
get_dir (JsonObject *args, const gchar **dir, GError **error)
{
  if (!molt_args_get_string (args, "dir", TRUE, dir, error))
    return FALSE;
  if (!g_path_is_absolute (*dir))
    {
      g_set_error_literal (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER,
                           "'dir' must be an absolute path in the guest");
      return FALSE;
    }
  return TRUE;
}

/* {release, modules: [...], problems: [...]}: what the host's preflight
 * decides on (which path, or a refusal naming the module). */
JsonNode *
molt_command_modules_inspect (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) cands = NULL;
  g_autoptr (JsonObject) obj = json_object_new ();
  JsonArray *modules, *texts;
  const gchar *dir;
  struct utsname uts;

  if (!get_dir (args, &dir, error) || uname (&uts) != 0
      || (cands = molt_module_inspect_dir (dir, uts.release, problems, error)) == NULL)
    return NULL;
  modules = json_array_new ();
  texts = json_array_new ();
  for (guint i = 0; i < cands->len; i++)
    json_array_add_object_element (modules, molt_module_candidate_to_json (cands->pdata[i]));
  for (guint i = 0; i < problems->len; i++)
    json_array_add_string_element (texts, problems->pdata[i]);
  json_object_set_string_member (obj, "release", uts.release);
  json_object_set_array_member (obj, "modules", modules);
  json_object_set_array_member (obj, "problems", texts);
  return json_node_init_object (json_node_alloc (), obj);
}

JsonNode *
molt_command_modules_reload (MoltAgent *agent, JsonObject *args, GError **error)
{
  const gchar *dir;
  gboolean hold;
  JsonNode *result;

  if (!get_dir (args, &dir, error) || !molt_args_get_bool (args, "hold", FALSE, &hold, error))
    return NULL;
  result = molt_module_reload (dir, hold, error);
  if (result != NULL)
    g_message ("driver set of %s loaded live%s", dir, hold ? ", held for the probe" : "");
  return result;
}

JsonNode *
molt_command_modules_reload_commit (MoltAgent *agent, JsonObject *args, GError **error)
{
  JsonNode *result = molt_module_reload_commit (error);
  if (result != NULL)
    g_message ("the held driver-set reload is committed");
  return result;
}

JsonNode *
molt_command_modules_reload_revert (MoltAgent *agent, JsonObject *args, GError **error)
{
  JsonNode *result = molt_module_reload_revert (error);
  if (result != NULL)
    g_message ("the held driver-set reload is reverted: the old modules are back");
  return result;
}

/* With discard, the combined initramfs of a switch that did not happen
 * goes (/run would keep it until the next boot). */
JsonNode *
molt_command_modules_initrd (MoltAgent *agent, JsonObject *args, GError **error)
{
  const gchar *dir;
  gboolean discard;

  if (!get_dir (args, &dir, error) || !molt_args_get_bool (args, "discard", FALSE, &discard, error))
    return NULL;
  if (!discard)
    return molt_module_initrd_build (dir, error);
  if (g_unlink (MOLT_MODULE_INITRD_PATH) != 0 && errno != ENOENT)
    {
      gint saved_errno = errno;
      g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "cannot remove %s: %s",
                   MOLT_MODULE_INITRD_PATH, g_strerror (saved_errno));
      return NULL;
    }
  return json_node_init_object (json_node_alloc (), json_object_new ());
}

JsonNode *
molt_command_modules_settle (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_auto (GStrv) loaded = NULL;
  const gchar *dir;
  JsonNode *result;

  if (!get_dir (args, &dir, error) || !molt_args_get_strv (args, "loaded", FALSE, &loaded, error))
    return NULL;
  result = molt_module_settle (dir, (const gchar *const *) loaded, error);
  if (result != NULL)
    g_message ("driver set of %s runs after the kexec", dir);
  return result;
}

JsonNode *
molt_command_modules_load (MoltAgent *agent, JsonObject *args, GError **error)
{
  g_auto (GStrv) names = NULL;

  if (!molt_args_get_strv (args, "names", TRUE, &names, error))
    return NULL;
  return molt_module_settle_old ((const gchar *const *) names, error);
}

JsonNode *
molt_command_modules_install (MoltAgent *agent, JsonObject *args, GError **error)
{
  gboolean initramfs;
  const gchar *dir;
  JsonNode *result;

  if (!get_dir (args, &dir, error)
      || !molt_args_get_bool (args, "initramfs", FALSE, &initramfs, error))
    return NULL;
  result = molt_module_install (dir, initramfs, error);
  if (result != NULL)
    g_message ("driver set of %s installed for the next boot", dir);
  return result;
}
