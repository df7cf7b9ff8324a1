/* A live reload's last rollback layer: see molt-switch-modules-fallback.h. */
#include "molt-host-error.h"
#include "molt-reply.h"
#include "molt-switch-modules-fallback.h"

typedef struct
{
  const gchar *const *loaded;
  JsonObject *before;
  GString *missing; /* what does not run its old build after the boot */
} Back;

/* The old build's identity as the preflight saw it loaded: the build id
 * where it had one, else the srcversion. */
static gchar *
differs (JsonObject *before, JsonObject *now, const gchar *name)
{
  static const gchar *const fields[][2] = {
    { "loaded-build-id", "new-build-id" },
    { "loaded-srcversion", "new-srcversion" },
  };
  JsonObject *old = before != NULL && json_object_has_member (before, name)
                        ? json_object_get_object_member (before, name)
                        : NULL;

  for (guint f = 0; old != NULL && f < G_N_ELEMENTS (fields); f++)
    {
      const gchar *was = json_object_get_string_member_with_default (old, fields[f][0], NULL);
      const gchar *is = json_object_get_string_member_with_default (now, fields[f][1], NULL);

      if (was != NULL && is != NULL)
        return g_str_equal (was, is) ? NULL
                                     : g_strdup_printf ("%s runs %s %s, not the old %s", name,
                                                        fields[f][1] + 4, is, was);
    }
  return NULL;
}

/* On the fresh boot: the old modules loaded again. Never fails the switch:
 * another boot would not bring a module back that this one could not; what
 * is missing is said at the end. */
static gboolean
load_old (MoltAgentClient *client, JsonObject *report, gpointer data, GError **error)
{
  Back *back = data;
  g_autoptr (JsonObject) args = json_object_new ();
  g_autoptr (JsonNode) node = NULL;
  g_autoptr (GError) local = NULL;
  JsonArray *names = json_array_new (), *modules = NULL;
  JsonObject *obj;

  for (guint i = 0; back->loaded[i] != NULL; i++)
    json_array_add_string_element (names, back->loaded[i]);
  json_object_set_array_member (args, "names", names);
  if ((node = molt_agent_client_call (client, "modules-load", args, &local)) == NULL
      || (obj = molt_reply_as_object (node, "modules-load", &local)) == NULL
      || !molt_reply_get_array (obj, "modules-load", "modules", 0, &modules, &local))
    {
      g_string_append_printf (back->missing, "; the old modules were not loaded: %s",
                              local->message);
      return TRUE;
    }
  for (guint i = 0; i < json_array_get_length (modules); i++)
    {
      JsonObject *m = molt_reply_array_object (modules, "modules-load", i, &local);
      const gchar *name = NULL, *failed = NULL;
      g_autofree gchar *other = NULL;

      if (m == NULL || !molt_reply_get_string (m, "modules-load", "name", 0, &name, &local)
          || !molt_reply_get_string (m, "modules-load", "error", MOLT_REPLY_OPTIONAL, &failed,
                                     &local))
        {
          g_string_append_printf (back->missing, "; %s", local->message);
          return TRUE;
        }
      if (failed != NULL)
        g_string_append_printf (back->missing, "; %s", failed);
      else if ((other = differs (back->before, m, name)) != NULL)
        g_string_append_printf (back->missing, "; %s", other);
    }
  json_object_set_array_member (report, "modules", json_array_ref (modules));
  return TRUE;
}

MoltSwitchResult
molt_switch_modules_fall_back (const MoltSwitchOptions *kexec, const gchar *release,
                               const gchar *const *loaded, JsonObject *before, const gchar *cause,
                               JsonObject *report, GError **error)
{
  g_autofree gchar *kernel = g_strdup_printf ("/boot/vmlinuz-%s", release);
  g_autofree gchar *initrd = g_strdup_printf ("/boot/initrd.img-%s", release);
  g_autoptr (GString) missing = g_string_new (NULL);
  g_autoptr (GError) failure = NULL;
  Back back = { .loaded = loaded, .before = before, .missing = missing };
  MoltSwitchOptions ko = *kexec;
  MoltSwitchResult result;

  ko.method = MOLT_SWITCH_METHOD_KEXEC;
  ko.kernel = kernel;
  ko.initrd = initrd;
  ko.append = NULL;
  ko.dry_run = FALSE;
  /* The user's probe tests the new modules, which are gone. */
  ko.probe = NULL;
  ko.verify_hook = load_old;
  ko.commit_hook = NULL;
  ko.hook_data = &back;
  result = molt_switch_run (&ko, report, &failure);
  if (result == MOLT_SWITCH_COMMITTED && missing->len == 0)
    {
      g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                   "%s; rolled back by a kexec of the running kernel (%s) with the disk's "
                   "initramfs, the jobs checkpointed and restored: the old modules are loaded "
                   "again",
                   cause, release);
      return MOLT_SWITCH_ROLLED_BACK;
    }
  if (result == MOLT_SWITCH_COMMITTED)
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "%s; after a kexec of the running kernel (%s) with the disk's initramfs, the "
                 "jobs checkpointed and restored, an old module is still not back%s",
                 cause, release, missing->str);
  else
    g_set_error (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_FAILED,
                 "%s; the kexec of the running kernel with the disk's initramfs that was to "
                 "bring the old modules back failed too: %s",
                 cause, failure != NULL ? failure->message : "no reason given");
  return MOLT_SWITCH_BROKEN;
}
