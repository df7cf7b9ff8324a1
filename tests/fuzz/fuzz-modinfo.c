/* libFuzzer target: a kernel module's .modinfo and build id read from its
 * ELF file (the driver set's files in the guest come from anyone; the
 * agent reads them before anything is loaded). */
#include <stdint.h>
#include <string.h>

#include "molt-module-info.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (MoltModuleInfo) info = molt_module_info_parse (data, size, "fuzz.ko", NULL);
  g_autofree gchar *id = molt_module_build_id_note (data, size);

  if (info != NULL && (info->name == NULL || info->vermagic == NULL || info->depends == NULL))
    __builtin_trap ();
  /* Two hex digits per byte of an id of 1 to 64 bytes. */
  if (id != NULL && (strlen (id) % 2 != 0 || strlen (id) < 2 || strlen (id) > 128))
    __builtin_trap ();
  return 0;
}
