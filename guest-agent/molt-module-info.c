/* A kernel module's .modinfo: see molt-module-info.h. */
#include <elf.h>
#include <string.h>

#include <gio/gio.h>

#include "molt-module-info.h"
#include "molt-protocol-error.h"

/* Larger files are not modules (the largest in-tree ones are a few MiB). */
#define MOLT_MODULE_MAX_BYTES (64 * 1024 * 1024)

void
molt_module_info_free (MoltModuleInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->vermagic);
  g_free (info->srcversion);
  g_free (info->version);
  g_free (info->build_id);
  g_strfreev (info->depends);
  g_free (info);
}

G_GNUC_PRINTF (3, 4)
static void
fail (GError **error, const gchar *file_name, const gchar *format, ...)
{
  va_list args;
  g_autofree gchar *why = NULL;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_GENERIC, "%s: %s", file_name, why);
}

/* Whether [off, off + size) lies within a buffer of LEN bytes. */
static gboolean
within (guint64 off, guint64 size, gsize len)
{
  return off <= len && size <= len - off;
}

/* The bytes of section NAME, or NULL: with the error when the file is
 * damaged, or (unless OPTIONAL) when it has no such section. */
static const guint8 *
find_section (const guint8 *data, gsize len, const gchar *name, gboolean optional, gsize *size,
              const gchar *file_name, GError **error)
{
  Elf64_Ehdr eh;
  Elf64_Shdr strtab_hdr;

  if (len < sizeof eh || memcmp (data, ELFMAG, SELFMAG) != 0 || data[EI_CLASS] != ELFCLASS64
      || data[EI_DATA] != ELFDATA2LSB)
    {
      fail (error, file_name, "not a kernel module (an ELF64 little-endian file)");
      return NULL;
    }
  memcpy (&eh, data, sizeof eh);
  if (eh.e_shentsize != sizeof (Elf64_Shdr) || eh.e_shstrndx >= eh.e_shnum
      || !within (eh.e_shoff, (guint64) eh.e_shnum * sizeof (Elf64_Shdr), len))
    {
      fail (error, file_name, "its ELF section table is damaged");
      return NULL;
    }
  memcpy (&strtab_hdr, data + eh.e_shoff + (guint64) eh.e_shstrndx * sizeof (Elf64_Shdr),
          sizeof strtab_hdr);
  if (!within (strtab_hdr.sh_offset, strtab_hdr.sh_size, len))
    {
      fail (error, file_name, "its ELF section names are damaged");
      return NULL;
    }
  for (guint i = 0; i < eh.e_shnum; i++)
    {
      Elf64_Shdr sh;
      const gchar *names = (const gchar *) data + strtab_hdr.sh_offset;

      memcpy (&sh, data + eh.e_shoff + (guint64) i * sizeof (Elf64_Shdr), sizeof sh);
      if (sh.sh_name >= strtab_hdr.sh_size
          || memchr (names + sh.sh_name, '\0', strtab_hdr.sh_size - sh.sh_name) == NULL
          || strcmp (names + sh.sh_name, name) != 0)
        continue;
      if (!within (sh.sh_offset, sh.sh_size, len))
        {
          fail (error, file_name, "its %s section lies outside the file", name);
          return NULL;
        }
      *size = sh.sh_size;
      return data + sh.sh_offset;
    }
  if (!optional)
    fail (error, file_name, "has no %s section: not a kernel module", name);
  return NULL;
}

gchar *
molt_module_build_id_note (const guint8 *data, gsize len)
{
  guint32 header[3];
  gsize name_at = sizeof header, desc_at;

  if (len < sizeof header)
    return NULL;
  memcpy (header, data, sizeof header);
  /* namesz, descsz, type: "GNU\0" and NT_GNU_BUILD_ID. */
  desc_at = name_at + (((gsize) header[0] + 3) & ~(gsize) 3);
  if (header[0] != 4 || header[2] != NT_GNU_BUILD_ID || header[1] == 0 || header[1] > 64
      || !within (name_at, 4, len) || memcmp (data + name_at, "GNU", 4) != 0
      || !within (desc_at, header[1], len))
    return NULL;
  {
    GString *hex = g_string_sized_new (header[1] * 2);
    for (guint i = 0; i < header[1]; i++)
      g_string_append_printf (hex, "%02x", data[desc_at + i]);
    return g_string_free (hex, FALSE);
  }
}

MoltModuleInfo *
molt_module_info_parse (const guint8 *data, gsize len, const gchar *file_name, GError **error)
{
  g_autoptr (MoltModuleInfo) info = g_new0 (MoltModuleInfo, 1);
  gsize size = 0, at = 0, note_size = 0;
  const gchar *modinfo
      = (const gchar *) find_section (data, len, ".modinfo", FALSE, &size, file_name, error);
  const guint8 *note;

  if (modinfo == NULL)
    return NULL;
  note = find_section (data, len, ".note.gnu.build-id", TRUE, &note_size, file_name, NULL);
  if (note != NULL)
    info->build_id = molt_module_build_id_note (note, note_size);
  while (at < size)
    {
      const gchar *entry = modinfo + at;
      const gchar *end = memchr (entry, '\0', size - at);
      gsize entry_len = end != NULL ? (gsize) (end - entry) : size - at;
      g_autofree gchar *text = g_strndup (entry, entry_len);
      const gchar *eq = strchr (text, '=');

      at += entry_len + 1;
      if (eq == NULL)
        continue;
      if (g_str_has_prefix (text, "name=") && info->name == NULL)
        info->name = g_strdup (eq + 1);
      else if (g_str_has_prefix (text, "vermagic=") && info->vermagic == NULL)
        info->vermagic = g_strdup (eq + 1);
      else if (g_str_has_prefix (text, "srcversion=") && info->srcversion == NULL)
        info->srcversion = g_strdup (eq + 1);
      else if (g_str_has_prefix (text, "version=") && info->version == NULL)
        info->version = g_strdup (eq + 1);
      else if (g_str_has_prefix (text, "depends=") && info->depends == NULL)
        info->depends = eq[1] != '\0' ? g_strsplit (eq + 1, ",", -1) : g_new0 (gchar *, 1);
    }
  if (info->vermagic == NULL)
    {
      fail (error, file_name, "has no vermagic: not built for any kernel");
      return NULL;
    }
  if (info->name == NULL)
    {
      g_autofree gchar *base = g_path_get_basename (file_name);
      if (g_str_has_suffix (base, ".ko"))
        base[strlen (base) - 3] = '\0';
      info->name = g_strdup (base);
    }
  if (info->depends == NULL)
    info->depends = g_new0 (gchar *, 1);
  return g_steal_pointer (&info);
}

MoltModuleInfo *
molt_module_info_read (const gchar *path, GError **error)
{
  g_autoptr (GMappedFile) file = g_mapped_file_new (path, FALSE, error);

  if (file == NULL)
    return NULL;
  if (g_mapped_file_get_length (file) > MOLT_MODULE_MAX_BYTES)
    {
      fail (error, path, "larger than %d MiB: not a kernel module", MOLT_MODULE_MAX_BYTES >> 20);
      return NULL;
    }
  return molt_module_info_parse ((const guint8 *) g_mapped_file_get_contents (file),
                                 g_mapped_file_get_length (file), path, error);
}

gchar *
molt_module_canonical_name (const gchar *name)
{
  gchar *copy = g_strdup (name);
  g_strdelimit (copy, "-", '_');
  return copy;
}

gchar *
molt_module_vermagic_release (const gchar *vermagic)
{
  const gchar *space = strchr (vermagic, ' ');
  return space != NULL ? g_strndup (vermagic, space - vermagic) : g_strdup (vermagic);
}
