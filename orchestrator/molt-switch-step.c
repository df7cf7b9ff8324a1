#include "molt-switch-step.h"

typedef struct
{
  const gchar *name;
  const gchar *description;
  gboolean kernel_switched;
} MoltSwitchStepInfo;

static const MoltSwitchStepInfo steps[] = {
  [MOLT_SWITCH_STEP_PREFLIGHT]
  = { "preflight", "checking the domain, the agent, CRIU and the new kernel", FALSE },
  [MOLT_SWITCH_STEP_SNAPSHOT] = { "snapshot", "taking the whole-VM rollback point", FALSE },
  [MOLT_SWITCH_STEP_PREPARE]
  = { "prepare", "copying the jobs' memory and loading the new kernel while the jobs run", FALSE },
  [MOLT_SWITCH_STEP_FREEZE] = { "freeze", "stopping the jobs", FALSE },
  [MOLT_SWITCH_STEP_CHECKPOINT] = { "checkpoint", "dumping the jobs with CRIU", FALSE },
  [MOLT_SWITCH_STEP_SWITCH] = { "switch", "starting the new kernel", TRUE },
  [MOLT_SWITCH_STEP_RESTORE]
  = { "restore", "waiting for the new kernel and the restored jobs", TRUE },
  [MOLT_SWITCH_STEP_VERIFY] = { "verify", "checking every job runs again", TRUE },
  [MOLT_SWITCH_STEP_COMMIT] = { "commit", "dropping the rollback point", TRUE },
  [MOLT_SWITCH_STEP_ROLLBACK] = { "rollback", "going back to the old kernel", FALSE },
};
G_STATIC_ASSERT (G_N_ELEMENTS (steps) == MOLT_SWITCH_STEP_LAST);

const gchar *
molt_switch_step_to_string (MoltSwitchStep step)
{
  return (guint) step < MOLT_SWITCH_STEP_LAST ? steps[step].name : "?";
}

MoltSwitchStep
molt_switch_step_from_string (const gchar *name)
{
  for (guint i = 0; name != NULL && i < MOLT_SWITCH_STEP_LAST; i++)
    if (g_str_equal (steps[i].name, name))
      return (MoltSwitchStep) i;
  return MOLT_SWITCH_STEP_LAST;
}

const gchar *
molt_switch_step_describe (MoltSwitchStep step)
{
  return (guint) step < MOLT_SWITCH_STEP_LAST ? steps[step].description : "";
}

gboolean
molt_switch_step_kernel_switched (MoltSwitchStep step)
{
  return (guint) step < MOLT_SWITCH_STEP_LAST && steps[step].kernel_switched;
}
