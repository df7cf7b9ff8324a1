/* modules-load (molt_module_settle_old): names from the host go to modprobe
 * as arguments, so anything that is not a module name (an option, a path)
 * is refused before any is loaded; a module modprobe cannot load is the
 * module's error in the reply, not the command's. */
#include "molt-module-settle.h"
#include "molt-protocol-error.h"
#include "molt-test.h"

static void
test_refuses_what_is_not_a_module_name (void)
{
  static const gchar *const bad[] = {
    "-r", "../x", "a/b", "", "a b", "01234567890123456789012345678901234567890123456789012345",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const gchar *names[] = { "molt_fine", bad[i], NULL };
      GError *error = NULL;
      JsonNode *node = molt_module_settle_old (names, &error);

      CU_ASSERT_PTR_NULL (node);
      MOLT_ASSERT_ERROR (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_INVALID_PARAMETER);
      MOLT_ASSERT_CONTAINS (error->message, "is not a module name");
      g_clear_error (&error);
    }
}

static void
test_unloadable_module_is_its_error (void)
{
  const gchar *names[] = { "molt_no_such_module_here", NULL };
  GError *error = NULL;
  JsonNode *node;
  JsonArray *modules;
  JsonObject *m;

  node = molt_module_settle_old (names, &error);
  MOLT_ASSERT_NO_ERROR (error);
  modules = json_object_get_array_member (json_node_get_object (node), "modules");
  CU_ASSERT_EQUAL (json_array_get_length (modules), 1);
  m = json_array_get_object_element (modules, 0);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (m, "name"), "molt_no_such_module_here");
  /* modprobe's own message, or why it could not run. */
  CU_ASSERT_TRUE (json_object_get_string_member_with_default (m, "error", "")[0] != '\0');
  CU_ASSERT_FALSE (json_object_has_member (m, "how"));
  json_node_unref (node);
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "what is not a module name is refused", test_refuses_what_is_not_a_module_name },
    { "a module modprobe cannot load is its error", test_unloadable_module_is_its_error },
    { NULL, NULL },
  };

  return molt_test_run ("module-settle", cases);
}
