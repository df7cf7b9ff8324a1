/* The steps of a kernel switch: one table of names and properties that
 * the switch, its resume and its rollback, the journal and the report all
 * read (docs/switch.md). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum
{
  MOLT_SWITCH_STEP_PREFLIGHT,
  MOLT_SWITCH_STEP_SNAPSHOT,
  MOLT_SWITCH_STEP_PREPARE,
  MOLT_SWITCH_STEP_FREEZE,
  MOLT_SWITCH_STEP_CHECKPOINT,
  MOLT_SWITCH_STEP_SWITCH,
  MOLT_SWITCH_STEP_RESTORE,
  MOLT_SWITCH_STEP_VERIFY,
  MOLT_SWITCH_STEP_COMMIT,
  MOLT_SWITCH_STEP_ROLLBACK,
  MOLT_SWITCH_STEP_LAST
} MoltSwitchStep;

const gchar *molt_switch_step_to_string (MoltSwitchStep step);
/* MOLT_SWITCH_STEP_LAST for a name that is not a step. */
MoltSwitchStep molt_switch_step_from_string (const gchar *name);
/* What the step does, for progress lines. */
const gchar *molt_switch_step_describe (MoltSwitchStep step);
/* From this step on the old kernel may be gone: a resume waits for the new
 * boot instead of rolling back. */
gboolean molt_switch_step_kernel_switched (MoltSwitchStep step);

G_END_DECLS
