/* GRUB's one-shot boot entry: the menu entry of a kernel found in menus as
 * update-grub writes them, and boot-once through the agent's dispatch with
 * the real grub-editenv on a grubenv in a temporary directory. */
#include <string.h>

#include "agent-call.h"
#include "molt-agent.h"
#include "molt-grub-entry.h"
#include "molt-message.h"
#include "molt-protocol-error.h"
#include "molt-test.h"

static gchar *tmp_dir;

#define OLD  "6.1.0-47-cloud-amd64"
#define NEW  "6.1.0-56-cloud-amd64"
#define UUID "0b5c1e6f-3f2e-4a39-9d5a-3e7f1c2d4b6a"

/* update-grub's shape: the default entry (the newest kernel), then a
 * submenu with each kernel and its recovery mode. */
static const gchar debian_cfg[]
    = "set default=\"0\"\n"
      "function load_video {\n"
      "  insmod all_video\n"
      "}\n"
      "if [ \"${next_entry}\" ] ; then\n"
      "   set default=\"${next_entry}\"\n"
      "fi\n"
      "menuentry 'Debian GNU/Linux' --class debian --class gnu-linux $menuentry_id_option "
      "'gnulinux-simple-" UUID "' {\n"
      "\tload_video\n"
      "\tlinux\t/boot/vmlinuz-" NEW " root=UUID=" UUID " ro console=ttyS0\n"
      "\tinitrd\t/boot/initrd.img-" NEW "\n"
      "}\n"
      "submenu 'Advanced options for Debian GNU/Linux' $menuentry_id_option "
      "'gnulinux-advanced-" UUID "' {\n"
      "\tmenuentry 'Debian GNU/Linux, with Linux " NEW "' --class debian $menuentry_id_option "
      "'gnulinux-" NEW "-advanced-" UUID "' {\n"
      "\t\tlinux\t/boot/vmlinuz-" NEW " root=UUID=" UUID " ro console=ttyS0\n"
      "\t}\n"
      "\tmenuentry 'Debian GNU/Linux, with Linux " OLD " (recovery mode)' --class debian "
      "$menuentry_id_option 'gnulinux-" OLD "-recovery-" UUID "' {\n"
      "\t\tlinux\t/boot/vmlinuz-" OLD " root=UUID=" UUID " ro single console=ttyS0\n"
      "\t}\n"
      "\tmenuentry 'Debian GNU/Linux, with Linux " OLD "' --class debian $menuentry_id_option "
      "'gnulinux-" OLD "-advanced-" UUID "' {\n"
      "\t\tif [ x$grub_platform = xxen ]; then insmod xzio; fi\n"
      "\t\tlinux\t/boot/vmlinuz-" OLD " root=UUID=" UUID " ro console=ttyS0\n"
      "\t}\n"
      "}\n";

static gchar *
find (const gchar *cfg, const gchar *release, GError **error)
{
  return molt_grub_find_entry (cfg, strlen (cfg), release, error);
}

static void
test_debian_menu (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree gchar *old = find (debian_cfg, OLD, &error);
  g_autofree gchar *new = NULL;

  MOLT_ASSERT_NO_ERROR (error);
  /* In the submenu, not its recovery mode listed first. */
  CU_ASSERT_STRING_EQUAL (old, "gnulinux-advanced-" UUID ">gnulinux-" OLD "-advanced-" UUID);
  new = find (debian_cfg, NEW, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (new, "gnulinux-simple-" UUID);
}

static void
test_titles_quotes_and_paths (void)
{
  static const gchar cfg[] = "menuentry 'It'\\''s " OLD "' {\n"
                             "  linux (hd0,gpt2)/vmlinuz-" OLD " ro\n"
                             "}\n"
                             "menuentry \"Other \\\"one\\\"\" {\n"
                             "  linux16 /vmlinuz-" NEW " ro\n"
                             "}\n";
  g_autoptr (GError) error = NULL;
  g_autofree gchar *old = find (cfg, OLD, &error);
  g_autofree gchar *new = NULL;

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (old, "It's " OLD);
  new = find (cfg, NEW, &error);
  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (new, "Other \"one\"");
}

static void
test_not_found (void)
{
  static const gchar recovery_only[] = "menuentry 'rescue' {\n"
                                       "  linux /boot/vmlinuz-" OLD " ro single\n"
                                       "}\n";
  g_autoptr (GError) error = NULL;
  g_autofree gchar *prefix = NULL;
  g_autofree gchar *none = NULL;
  g_autofree gchar *outside = NULL;

  CU_ASSERT_PTR_NULL (find (recovery_only, OLD, &error));
  MOLT_ASSERT_ERROR (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_NOT_FOUND);
  CU_ASSERT_STRING_EQUAL (error->message, "no GRUB menu entry boots vmlinuz-" OLD);
  g_clear_error (&error);
  /* A release that is a prefix of another is not that other. */
  prefix = find (debian_cfg, "6.1.0-4", &error);
  CU_ASSERT_PTR_NULL (prefix);
  g_clear_error (&error);
  none = find ("", OLD, &error);
  CU_ASSERT_PTR_NULL (none);
  g_clear_error (&error);
  /* A linux line outside any menu entry boots nothing. */
  outside = find ("linux /boot/vmlinuz-" OLD "\n", OLD, &error);
  CU_ASSERT_PTR_NULL (outside);
}

static gchar *
grubenv_list (const gchar *grubenv)
{
  const gchar *argv[] = { "grub-editenv", grubenv, "list", NULL };
  g_autoptr (GError) error = NULL;
  gchar *out = NULL;

  g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL, NULL,
                &error);
  MOLT_ASSERT_NO_ERROR (error);
  return out;
}

static void
test_boot_once_command (void)
{
  g_autofree gchar *state = g_build_filename (tmp_dir, "state", NULL);
  g_autofree gchar *grub = g_build_filename (tmp_dir, "grub", NULL);
  g_autofree gchar *cfg = g_build_filename (grub, "grub.cfg", NULL);
  g_autofree gchar *grubenv = g_build_filename (grub, "grubenv", NULL);
  g_autofree gchar *listed = NULL;
  g_autofree gchar *cleared = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltAgent) agent = NULL;
  g_autoptr (MoltReply) set = NULL;
  g_autoptr (MoltReply) clear = NULL;
  g_autoptr (MoltReply) clear_again = NULL;
  g_autoptr (MoltReply) missing = NULL;
  g_autoptr (MoltReply) unknown = NULL;
  g_autoptr (MoltReply) both = NULL;
  MoltAgentConfig config = { .state_dir = state, .grub_dir = grub };

  agent = molt_agent_new (&config, &error);
  MOLT_ASSERT_NO_ERROR (error);

  /* No menu: says where it looked. */
  missing
      = agent_call (agent, "{\"execute\":\"boot-once\",\"arguments\":{\"release\":\"" OLD "\"}}");
  CU_ASSERT_TRUE_FATAL (molt_reply_is_error (missing));
  CU_ASSERT_STRING_EQUAL (missing->error_class, "NotFound");
  MOLT_ASSERT_CONTAINS (missing->error_desc, "no GRUB configuration at ");
  MOLT_ASSERT_CONTAINS (missing->error_desc, "No such file or directory");

  CU_ASSERT_EQUAL (g_mkdir_with_parents (grub, 0700), 0);
  CU_ASSERT_TRUE (g_file_set_contents (cfg, debian_cfg, -1, NULL));
  set = agent_call (agent, "{\"execute\":\"boot-once\",\"arguments\":{\"release\":\"" OLD "\"}}");
  if (molt_reply_is_error (set))
    g_printerr ("\n  boot-once: %s\n", set->error_desc);
  CU_ASSERT_FALSE_FATAL (molt_reply_is_error (set));
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (json_node_get_object (set->ret), "entry"),
                          "gnulinux-advanced-" UUID ">gnulinux-" OLD "-advanced-" UUID);
  listed = grubenv_list (grubenv);
  MOLT_ASSERT_CONTAINS (listed,
                        "next_entry=gnulinux-advanced-" UUID ">gnulinux-" OLD "-advanced-" UUID);

  clear = agent_call (agent, "{\"execute\":\"boot-once\",\"arguments\":{\"clear\":true}}");
  CU_ASSERT_FALSE (molt_reply_is_error (clear));
  cleared = grubenv_list (grubenv);
  CU_ASSERT_PTR_NULL (strstr (cleared, "next_entry"));
  clear_again = agent_call (agent, "{\"execute\":\"boot-once\",\"arguments\":{\"clear\":true}}");
  CU_ASSERT_FALSE (molt_reply_is_error (clear_again));

  unknown = agent_call (agent, "{\"execute\":\"boot-once\",\"arguments\":{\"release\":\"9.9.9\"}}");
  CU_ASSERT_TRUE_FATAL (molt_reply_is_error (unknown));
  MOLT_ASSERT_CONTAINS (unknown->error_desc, "grub.cfg: no GRUB menu entry boots vmlinuz-9.9.9");
  both = agent_call (agent, "{\"execute\":\"boot-once\",\"arguments\":{\"release\":\"" OLD
                            "\",\"clear\":true}}");
  CU_ASSERT_TRUE_FATAL (molt_reply_is_error (both));
  CU_ASSERT_STRING_EQUAL (both->error_class, "InvalidParameter");
}

int
main (void)
{
  const MoltTestCase cases[] = {
    { "a Debian menu: submenu entry, default entry", test_debian_menu },
    { "titles, quotes and paths", test_titles_quotes_and_paths },
    { "no entry boots the kernel", test_not_found },
    { "boot-once sets and clears next_entry", test_boot_once_command },
    { NULL, NULL },
  };
  int failures;

  tmp_dir = molt_test_tmpdir_new ("molt-test-grub-entry");
  failures = molt_test_run ("grub-entry", cases);
  molt_test_tmpdir_remove (tmp_dir);
  return failures;
}
