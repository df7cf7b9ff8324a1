/* Benchmark: deciding `molt policy plan` for 100 domains with 1000
 * snapshots each (the libvirt listing excluded: this is policies/ alone).
 * Prints the time of one plan (best of 5) and the peak RSS of the process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "molt-policy-plan.h"
#include "molt-schedule.h"

#define DOMAINS   100
#define SNAPSHOTS 1000

static glong
vm_kib (const gchar *field)
{
  g_autofree gchar *status = NULL;
  const gchar *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      || (line = strstr (status, field)) == NULL)
    return 0;
  return strtol (line + strlen (field), NULL, 10);
}

int
main (void)
{
  static const gchar *domains_glob[] = { "vm-*", NULL };
  MoltPolicy policy
      = { .name = (gchar *) "nightly",
          .domains = (GStrv) domains_glob,
          .keep = { .last = 3, .hourly = 24, .daily = 7, .weekly = 4, .monthly = 6, .yearly = 2 } };
  g_autoptr (GPtrArray) policies = g_ptr_array_new ();
  g_autoptr (GPtrArray) domains
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_domain_state_free);
  g_autofree gchar *why = NULL;
  gint64 now = 1790000000, best = G_MAXINT64;
  guint actions = 0;
  struct rusage usage;
  glong input_kib;

  molt_schedule_parse ("hourly", &policy.schedule, &why);
  g_ptr_array_add (policies, &policy);
  for (guint d = 0; d < DOMAINS; d++)
    {
      g_autofree gchar *name = g_strdup_printf ("vm-%03u", d);
      MoltDomainState *state = molt_domain_state_new (name);
      for (guint s = 0; s < SNAPSHOTS; s++)
        {
          gint64 t = now - 3600 - (gint64) s * 3600;
          g_autofree gchar *snap = molt_policy_snapshot_name (&policy, t);
          g_autofree gchar *desc = molt_policy_snapshot_description (&policy, t);
          molt_domain_state_add (state, snap, desc);
        }
      g_ptr_array_add (domains, state);
    }
  input_kib = vm_kib ("VmRSS:");
  for (int run = 0; run < 5; run++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr (GPtrArray) plan = molt_policy_plan (policies, domains, now);
      gint64 took = g_get_monotonic_time () - start;
      best = MIN (best, took);
      actions = plan->len;
    }
  getrusage (RUSAGE_SELF, &usage);
  printf ("plan for %d domains x %d snapshots: %.1f ms (best of 5), %u actions; peak RSS %.1f "
          "MiB, of which the input (the snapshot lists) %.1f MiB and planning %.1f MiB\n",
          DOMAINS, SNAPSHOTS, best / 1000.0, actions, usage.ru_maxrss / 1024.0, input_kib / 1024.0,
          (usage.ru_maxrss - input_kib) / 1024.0);
  return 0;
}
