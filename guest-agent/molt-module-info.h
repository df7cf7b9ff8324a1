/* What a kernel module file (.ko, ELF64) says about itself: its .modinfo
 * section (NUL-separated KEY=VALUE strings, what modinfo prints). Read
 * with every offset checked against the file: a module a user hands to
 * `molt switch --modules` may be anything. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  gchar *name;       /* "name=", else the file's name without .ko */
  gchar *vermagic;   /* "6.1.0-47-cloud-amd64 SMP preempt mod_unload modversions " */
  gchar *srcversion; /* may be NULL */
  gchar *version;    /* MODULE_VERSION; may be NULL */
  gchar *build_id;   /* .note.gnu.build-id in hex; may be NULL */
  GStrv depends;     /* modules it needs loaded first; empty when none */
} MoltModuleInfo;

void molt_module_info_free (MoltModuleInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MoltModuleInfo, molt_module_info_free)

/* From the bytes of a .ko file; NULL with an error naming what is wrong
 * ("not an ELF64 file", "has no .modinfo section", "no vermagic"). */
MoltModuleInfo *molt_module_info_parse (const guint8 *data, gsize len, const gchar *file_name,
                                        GError **error);
MoltModuleInfo *molt_module_info_read (const gchar *path, GError **error);
/* NAME as the kernel lists modules: '-' and '_' are the same to it, and
 * /sys/module has '_'. */
gchar *molt_module_canonical_name (const gchar *name);
/* The build id (hex) of an ELF note holding NT_GNU_BUILD_ID ("GNU"), as in
 * .note.gnu.build-id and /sys/module/NAME/notes/.note.gnu.build-id; NULL
 * for anything else. */
gchar *molt_module_build_id_note (const guint8 *data, gsize len);
/* The kernel release a vermagic string is for (its first word). */
gchar *molt_module_vermagic_release (const gchar *vermagic);

G_END_DECLS
