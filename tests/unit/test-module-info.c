/* A module's .modinfo read from its ELF file: a well-formed one (built
 * here, byte by byte, as the kernel's build lays it out), and damaged ones
 * that must be refused without reading past the buffer. */
#include <elf.h>
#include <string.h>

#include "molt-module-info.h"
#include "molt-test.h"

#define MODINFO                                                                                    \
  "version=2\0license=GPL\0srcversion=027D47A4E5995117B145971\0depends=virtio,virtio_ring\0"       \
  "name=molt_testdrv\0vermagic=6.1.0-47-cloud-amd64 SMP preempt mod_unload modversions \0"
#define NAMES "\0.shstrtab\0.modinfo\0"

/* ELF header, section names, .modinfo, then three section headers (null,
 * .shstrtab, .modinfo). */
static GByteArray *
build_module (const gchar *modinfo, gsize modinfo_len)
{
  GByteArray *elf = g_byte_array_new ();
  Elf64_Ehdr eh = { 0 };
  Elf64_Shdr sh[3] = { { 0 } };
  gsize names_off = sizeof eh, modinfo_off = names_off + sizeof NAMES;
  gsize shoff = (modinfo_off + modinfo_len + 7) & ~(gsize) 7;

  memcpy (eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_REL;
  eh.e_machine = EM_X86_64;
  eh.e_shoff = shoff;
  eh.e_ehsize = sizeof eh;
  eh.e_shentsize = sizeof (Elf64_Shdr);
  eh.e_shnum = 3;
  eh.e_shstrndx = 1;
  sh[1].sh_name = 1;
  sh[1].sh_type = SHT_STRTAB;
  sh[1].sh_offset = names_off;
  sh[1].sh_size = sizeof NAMES;
  sh[2].sh_name = 11;
  sh[2].sh_type = SHT_PROGBITS;
  sh[2].sh_offset = modinfo_off;
  sh[2].sh_size = modinfo_len;
  g_byte_array_append (elf, (const guint8 *) &eh, sizeof eh);
  g_byte_array_append (elf, (const guint8 *) NAMES, sizeof NAMES);
  g_byte_array_append (elf, (const guint8 *) modinfo, modinfo_len);
  g_byte_array_set_size (elf, shoff);
  g_byte_array_append (elf, (const guint8 *) sh, sizeof sh);
  return elf;
}

static void
test_well_formed (void)
{
  g_autoptr (GByteArray) elf = build_module (MODINFO, sizeof MODINFO - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltModuleInfo) info = molt_module_info_parse (elf->data, elf->len, "x.ko", &error);
  g_autofree gchar *release = NULL;

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (info->name, "molt_testdrv");
  CU_ASSERT_STRING_EQUAL (info->version, "2");
  CU_ASSERT_STRING_EQUAL (info->srcversion, "027D47A4E5995117B145971");
  CU_ASSERT_EQUAL_FATAL (g_strv_length (info->depends), 2);
  CU_ASSERT_STRING_EQUAL (info->depends[1], "virtio_ring");
  release = molt_module_vermagic_release (info->vermagic);
  CU_ASSERT_STRING_EQUAL (release, "6.1.0-47-cloud-amd64");
}

/* No name= (older modules): the file's name. No depends: an empty list. */
static void
test_defaults (void)
{
  static const gchar modinfo[] = "vermagic=6.1.0-56-cloud-amd64 SMP \0depends=\0";
  g_autoptr (GByteArray) elf = build_module (modinfo, sizeof modinfo - 1);
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltModuleInfo) info
      = molt_module_info_parse (elf->data, elf->len, "/dir/virtio-net.ko", &error);

  MOLT_ASSERT_NO_ERROR (error);
  CU_ASSERT_STRING_EQUAL (info->name, "virtio-net");
  CU_ASSERT_EQUAL (g_strv_length (info->depends), 0);
  CU_ASSERT_PTR_NULL (info->version);
}

static void
expect_refused (const guint8 *data, gsize len, const gchar *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (MoltModuleInfo) info = molt_module_info_parse (data, len, "bad.ko", &error);

  CU_ASSERT_PTR_NULL (info);
  CU_ASSERT_PTR_NOT_NULL_FATAL (error);
  MOLT_ASSERT_CONTAINS (error->message, "bad.ko: ");
  MOLT_ASSERT_CONTAINS (error->message, why);
}

static void
test_damaged (void)
{
  static const gchar no_vermagic[] = "license=GPL\0";
  g_autoptr (GByteArray) elf = build_module (MODINFO, sizeof MODINFO - 1);
  g_autoptr (GByteArray) plain = build_module (no_vermagic, sizeof no_vermagic - 1);
  g_autoptr (GByteArray) copy = NULL;
  Elf64_Ehdr *eh;
  Elf64_Shdr *sh;

  expect_refused ((const guint8 *) "#!/bin/sh\n", 10, "not a kernel module");
  expect_refused (elf->data, 40, "not a kernel module");
  expect_refused (plain->data, plain->len, "has no vermagic");
  /* The section table cut off. */
  expect_refused (elf->data, elf->len - 8, "section table is damaged");
  /* .modinfo pointing past the end. */
  copy = g_byte_array_sized_new (elf->len);
  g_byte_array_append (copy, elf->data, elf->len);
  eh = (Elf64_Ehdr *) copy->data;
  sh = (Elf64_Shdr *) (copy->data + eh->e_shoff);
  sh[2].sh_size = G_MAXUINT64 - 4;
  expect_refused (copy->data, copy->len, "outside the file");
  /* No section named .modinfo. */
  sh[2].sh_size = sizeof MODINFO - 1;
  sh[2].sh_name = 2;
  expect_refused (copy->data, copy->len, "has no .modinfo section");
  /* A section name offset past the name table. */
  sh[2].sh_name = 4000;
  expect_refused (copy->data, copy->len, "has no .modinfo section");
  /* Names not NUL-terminated. */
  sh[1].sh_size = 4;
  sh[2].sh_name = 1;
  expect_refused (copy->data, copy->len, "has no .modinfo section");
}

/* namesz 4, descsz 4, NT_GNU_BUILD_ID, "GNU", the id: what sysfs and
 * .note.gnu.build-id hold. */
static void
test_build_id_note (void)
{
  static const guint8 note[]
      = { 4, 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 'G', 'N', 'U', 0, 0x5e, 0xed, 0x00, 0xff };
  guint8 damaged[sizeof note];
  g_autofree gchar *id = molt_module_build_id_note (note, sizeof note);

  CU_ASSERT_STRING_EQUAL (id, "5eed00ff");
  /* Cut short: the id would run past the end. */
  CU_ASSERT_PTR_NULL (molt_module_build_id_note (note, sizeof note - 1));
  CU_ASSERT_PTR_NULL (molt_module_build_id_note (note, 8));
  memcpy (damaged, note, sizeof note);
  damaged[4] = 0xff; /* descsz 255 */
  CU_ASSERT_PTR_NULL (molt_module_build_id_note (damaged, sizeof damaged));
  memcpy (damaged, note, sizeof note);
  damaged[8] = 1; /* another note type */
  CU_ASSERT_PTR_NULL (molt_module_build_id_note (damaged, sizeof damaged));
  memcpy (damaged, note, sizeof note);
  damaged[12] = 'X'; /* another owner */
  CU_ASSERT_PTR_NULL (molt_module_build_id_note (damaged, sizeof damaged));
  memcpy (damaged, note, sizeof note);
  damaged[0] = 0xff; /* namesz past the end */
  CU_ASSERT_PTR_NULL (molt_module_build_id_note (damaged, sizeof damaged));
}

int
main (void)
{
  static const MoltTestCase cases[] = {
    { "a module's .modinfo", test_well_formed },
    { "name and depends when absent", test_defaults },
    { "damaged files refused", test_damaged },
    { "a build id note", test_build_id_note },
    { NULL, NULL },
  };
  return molt_test_run ("module-info", cases);
}
