/* Domain locks on libvirt's test driver: keyed by UUID whatever name form
 * was typed, shared for readers, exclusive for changes, the busy message
 * naming the running step, symlinks refused. */
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "molt-domain-lock.h"
#include "molt-host-error.h"
#include "molt-journal.h"
#include "molt-libvirt.h"
#include "molt-test.h"

static gchar *state_dir;
static virConnectPtr conn;

static virDomainPtr
lookup_by_uuid (void)
{
  virDomainPtr by_name = virDomainLookupByName (conn, "test");
  gchar uuid[VIR_UUID_STRING_BUFLEN];
  virDomainPtr by_uuid;

  virDomainGetUUIDString (by_name, uuid);
  virDomainFree (by_name);
  by_uuid = molt_libvirt_lookup_domain (conn, uuid, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (by_uuid);
  return by_uuid;
}

static void
test_shared_and_exclusive (void)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (virDomain) same = lookup_by_uuid ();
  g_autoptr (GError) error = NULL;
  MoltDomainLock *reader1, *reader2, *writer, *refused;

  reader1 = molt_domain_lock_acquire (state_dir, dom, MOLT_LOCK_SHARED, "read", &error);
  reader2 = molt_domain_lock_acquire (state_dir, same, MOLT_LOCK_SHARED, "read", &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_PTR_NOT_NULL (reader1);
  CU_ASSERT_PTR_NOT_NULL (reader2);
  molt_domain_lock_release (reader1);
  molt_domain_lock_release (reader2);

  writer = molt_domain_lock_acquire (state_dir, dom, MOLT_LOCK_EXCLUSIVE, "switch", &error);
  MOLT_ASSERT_NO_ERROR (error);
  /* The same domain by UUID: refused at once, as a reader and as a writer. */
  refused = molt_domain_lock_acquire (state_dir, same, MOLT_LOCK_SHARED, "read", &error);
  CU_ASSERT_PTR_NULL (refused);
  MOLT_ASSERT_ERROR (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY);
  MOLT_ASSERT_CONTAINS (error->message, "busy: switch in progress since ");
  g_clear_error (&error);
  refused = molt_domain_lock_acquire (state_dir, same, MOLT_LOCK_EXCLUSIVE, "rollback", &error);
  CU_ASSERT_PTR_NULL (refused);
  MOLT_ASSERT_ERROR (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY);
  g_clear_error (&error);
  molt_domain_lock_release (writer);

  reader1 = molt_domain_lock_acquire (state_dir, same, MOLT_LOCK_SHARED, "read", &error);
  MOLT_ASSERT_NO_ERROR (error);
  molt_domain_lock_release (reader1);
}

static void
test_busy_names_the_step (void)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltDomainLock) writer = NULL;
  g_autoptr (MoltJournal) journal = NULL;
  gchar uuid[VIR_UUID_STRING_BUFLEN];

  virDomainGetUUIDString (dom, uuid);
  journal = molt_journal_new (state_dir, uuid, "test");
  molt_journal_set_state (journal, MOLT_JOURNAL_IN_PROGRESS, &error);
  molt_journal_begin_step (journal, "checkpoint", &error);
  MOLT_ASSERT_NO_ERROR (error);
  writer = molt_domain_lock_acquire (state_dir, dom, MOLT_LOCK_EXCLUSIVE, "switch", &error);
  CU_ASSERT_PTR_NULL (molt_domain_lock_acquire (state_dir, dom, MOLT_LOCK_SHARED, "read", &error));
  MOLT_ASSERT_ERROR (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY);
  MOLT_ASSERT_CONTAINS (error->message, "switch in progress, step checkpoint since 20");
  molt_journal_set_state (journal, MOLT_JOURNAL_COMMITTED, NULL);
}

static void
test_channel_lock_waits (void)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltDomainLock) first = molt_domain_lock_channel (state_dir, dom, 100, &error);
  gint64 start = g_get_monotonic_time ();

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_PTR_NULL (molt_domain_lock_channel (state_dir, dom, 200, &error));
  MOLT_ASSERT_ERROR (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY);
  /* It waited rather than failing at once (a lower bound only). */
  CU_ASSERT_TRUE (g_get_monotonic_time () - start >= 200 * 1000);
}

static void
test_symlink_refused (void)
{
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (GError) error = NULL;
  g_autofree gchar *dir = g_build_filename (state_dir, "trap", NULL);
  g_autofree gchar *target = g_build_filename (state_dir, "victim", NULL);
  g_autofree gchar *locks = g_build_filename (dir, "locks", NULL);
  g_autofree gchar *link = NULL;
  gchar uuid[VIR_UUID_STRING_BUFLEN];

  virDomainGetUUIDString (dom, uuid);
  g_mkdir_with_parents (locks, 0700);
  link = g_strdup_printf ("%s/%s.lock", locks, uuid);
  CU_ASSERT_EQUAL (symlink (target, link), 0);
  CU_ASSERT_PTR_NULL (molt_domain_lock_acquire (dir, dom, MOLT_LOCK_EXCLUSIVE, "switch", &error));
  MOLT_ASSERT_CONTAINS (error->message, "cannot open lock");
  CU_ASSERT_FALSE (g_file_test (target, G_FILE_TEST_EXISTS));
}

static void
test_named_lock (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltDomainLock) first
      = molt_domain_lock_named (state_dir, ".policy-apply", "policy-apply", &error);

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_PTR_NULL (molt_domain_lock_named (state_dir, ".policy-apply", "policy-apply", &error));
  MOLT_ASSERT_ERROR (error, MOLT_HOST_ERROR, MOLT_HOST_ERROR_BUSY);
  MOLT_ASSERT_CONTAINS (error->message, "another policy-apply holds .policy-apply (pid ");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "shared and exclusive, by name and UUID", test_shared_and_exclusive },
    { "the busy message names the step", test_busy_names_the_step },
    { "the channel lock waits, then says busy", test_channel_lock_waits },
    { "a symlinked lock file is refused", test_symlink_refused },
    { "a named lock", test_named_lock },
    { NULL, NULL },
  };
  int failures;

  state_dir = molt_test_tmpdir_new ("molt-lock");
  molt_libvirt_init ();
  conn = molt_libvirt_connect ("test:///default", NULL);
  failures = molt_test_run ("domain-lock", cases);
  virConnectClose (conn);
  molt_test_tmpdir_remove (state_dir);
  return failures;
}
