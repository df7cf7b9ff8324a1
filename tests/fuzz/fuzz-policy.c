/* libFuzzer target: the policy file parser (files in /etc/molt/policies.d
 * may be written by anyone with root on the host, but they must never crash
 * the nightly apply). Each parsed policy's schedule is also evaluated. */
#include <stdint.h>

#include "molt-policy-parser.h"
#include "molt-schedule.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GPtrArray) policies
      = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_policy_free);
  g_autoptr (GPtrArray) errors = g_ptr_array_new_with_free_func (g_free);
  g_autofree gchar *text = g_strndup ((const gchar *) data, size);

  molt_policy_parse_text ("fuzz.conf", text, size, policies, errors);
  for (guint i = 0; i < policies->len; i++)
    {
      MoltPolicy *p = g_ptr_array_index (policies, i);
      g_autofree gchar *s = molt_schedule_to_string (&p->schedule);
      if (s[0] == '?' || molt_schedule_last_due (&p->schedule, 1767225600) > 1767225600)
        __builtin_trap ();
    }
  return 0;
}
