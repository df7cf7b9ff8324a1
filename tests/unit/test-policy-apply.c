/* molt policy apply against libvirt's test driver: a snapshot that fails
 * is not pruned around (the plan counts the new one as taken). */
#include <string.h>

#include "molt-libvirt.h"
#include "molt-policy-apply.h"
#include "molt-policy-parser.h"
#include "molt-snapshot.h"

#include "molt-test.h"

#define DAY1 G_GINT64_CONSTANT (1772334000) /* 2026-03-01T03:00:00Z */

static gchar *
snapshot_names (virConnectPtr conn)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (GPtrArray) snaps = molt_snapshot_list (dom, NULL);
  g_autoptr (GString) names = g_string_new (NULL);

  for (guint i = 0; snaps != NULL && i < snaps->len; i++)
    g_string_append_printf (names, "%s%s", i > 0 ? " " : "",
                            ((MoltSnapshotInfo *) g_ptr_array_index (snaps, i))->name);
  return g_string_free (g_steal_pointer (&names), FALSE);
}

static void
test_failed_create_prunes_nothing (void)
{
  const char *text = "[policy nightly]\ndomains = test\nschedule = daily 02:30\n"
                     "quiesce = off\nkeep-last = 1\n";
  g_autoptr (GPtrArray) policies
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_policy_free);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *state = molt_test_tmpdir_new ("policy-apply");
  g_autoptr (virConnect) conn = virConnectOpen ("test:///default");
  MoltPolicyRunOptions o = { .state_dir = state, .agent_timeout_s = 1, .apply = TRUE };
  g_autoptr (JsonArray) first = NULL;
  g_autoptr (JsonArray) second = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *names = NULL;
  gboolean all_ok = FALSE;
  JsonObject *del;

  CU_ASSERT_TRUE_FATAL (molt_policy_parse_text ("p.conf", text, strlen (text), policies, errors));
  first = molt_policy_run (conn, policies, DAY1, &o, &all_ok, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_TRUE (all_ok);
  /* The next day's snapshot fails (disk-only of a running domain): the
   * one from day 1 is what is left, and it stays. */
  ((MoltPolicy *) g_ptr_array_index (policies, 0))->memory = FALSE;
  second = molt_policy_run (conn, policies, DAY1 + 86400, &o, &all_ok, &error);
  CU_ASSERT_PTR_NOT_NULL_FATAL (second);
  CU_ASSERT_FALSE (all_ok);
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (second), 2);
  CU_ASSERT_STRING_EQUAL (
      json_object_get_string_member (json_array_get_object_element (second, 0), "status"),
      "failed");
  del = json_array_get_object_element (second, 1);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (del, "action"), "delete");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (del, "status"), "skipped");
  MOLT_ASSERT_CONTAINS (json_object_get_string_member (del, "message"), "kept: this run's new");
  names = snapshot_names (conn);
  CU_ASSERT_STRING_EQUAL (names, "molt-policy-nightly-20260301T030000Z");
  molt_test_tmpdir_remove (g_steal_pointer (&state));
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a failed create prunes nothing", test_failed_create_prunes_nothing },
    { NULL, NULL },
  };

  return molt_test_run ("policy-apply", cases);
}
