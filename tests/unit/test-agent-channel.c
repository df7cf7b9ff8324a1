/* molt setup's channel step against libvirt's test driver, which cannot
 * hot-plug: the error keeps libvirt's reason and names the definition it
 * could not change. (The hot-plug itself: e2e debian.) */
#include "molt-agent-channel.h"
#include "molt-libvirt.h"

#include "molt-test.h"

static void
test_refused_attach_keeps_libvirt_reason (void)
{
  g_autoptr (virConnect) conn = virConnectOpen ("test:///default");
  g_autoptr (virDomain) dom = virDomainLookupByName (conn, "test");
  g_autoptr (GError) error = NULL;
  MoltChannelState live = MOLT_CHANNEL_PRESENT, config = MOLT_CHANNEL_PRESENT;

  CU_ASSERT_PTR_NOT_NULL_FATAL (dom);
  CU_ASSERT_FALSE (molt_agent_channel_ensure (dom, &live, &config, &error));
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  /* The persistent definition is tried first: a failed hot-plug would
   * still leave the channel for the next start. */
  MOLT_ASSERT_CONTAINS (error->message,
                        "cannot add the agent channel to its persistent definition 'test': ");
  MOLT_ASSERT_CONTAINS (error->message, "virDomainAttachDeviceFlags");
  CU_ASSERT_EQUAL (live, MOLT_CHANNEL_ABSENT_NA);
}

/* A domain that has the channel is left alone. */
static void
test_present_left_alone (void)
{
  g_autoptr (virConnect) conn = virConnectOpen ("test:///default");
  g_autofree gchar *xml
      = g_strdup_printf ("<domain type='test'><name>with-channel</name><memory>1024</memory>"
                         "<os><type>hvm</type></os><devices>%s</devices></domain>",
                         molt_libvirt_channel_xml ());
  g_autoptr (virDomain) dom = virDomainDefineXML (conn, xml);
  g_autoptr (GError) error = NULL;
  MoltChannelState live, config;

  CU_ASSERT_PTR_NOT_NULL_FATAL (dom);
  CU_ASSERT_EQUAL_FATAL (virDomainCreate (dom), 0);
  CU_ASSERT_TRUE (molt_agent_channel_ensure (dom, &live, &config, &error));
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_EQUAL (live, MOLT_CHANNEL_PRESENT);
  CU_ASSERT_EQUAL (config, MOLT_CHANNEL_PRESENT);
  CU_ASSERT_STRING_EQUAL (molt_channel_state_to_string (live), "present");
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a refused attach keeps libvirt's reason", test_refused_attach_keeps_libvirt_reason },
    { "a channel present is left alone", test_present_left_alone },
    { NULL, NULL },
  };

  return molt_test_run ("agent-channel", cases);
}
