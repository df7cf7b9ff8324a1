#include <string.h>

#include "molt-duration.h"

static const struct
{
  gchar unit;
  gint64 seconds;
} units[] = { { 'w', 7 * 86400 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };

gboolean
molt_duration_parse (const gchar *text, gint64 *seconds, gchar **why)
{
  const gchar *pos = text;
  guint next_unit = 0;
  gint64 total = 0;

  if (*pos == '\0')
    {
      *why = g_strdup ("is empty");
      return FALSE;
    }
  while (*pos != '\0')
    {
      gint64 n = 0;
      guint u;

      if (!g_ascii_isdigit (*pos))
        {
          *why = g_strdup_printf ("needs a number at '%s'", pos);
          return FALSE;
        }
      /* Seven digits of any unit already pass the maximum: no overflow. */
      for (guint digits = 0; g_ascii_isdigit (*pos); pos++, digits++)
        {
          if (digits == 7)
            {
              *why = g_strdup ("is too long a number");
              return FALSE;
            }
          n = n * 10 + (*pos - '0');
        }
      for (u = next_unit; u < G_N_ELEMENTS (units) && units[u].unit != *pos; u++)
        ;
      if (u == G_N_ELEMENTS (units))
        {
          *why = g_strdup_printf ("has %s where a unit belongs (w, d, h, m, s, largest first, "
                                  "each once)",
                                  *pos == '\0' ? "nothing" : "another character");
          return FALSE;
        }
      total += n * units[u].seconds;
      if (total > MOLT_DURATION_MAX)
        {
          *why = g_strdup ("is longer than ten years");
          return FALSE;
        }
      next_unit = u + 1;
      pos++;
    }
  *seconds = total;
  return TRUE;
}

gchar *
molt_duration_format (gint64 seconds)
{
  GString *out = g_string_new (NULL);
  guint shown = 0;

  if (seconds < 0)
    {
      g_string_append_c (out, '-');
      seconds = -seconds;
    }
  for (guint u = 0; u < G_N_ELEMENTS (units) && shown < 2; u++)
    {
      gint64 n = seconds / units[u].seconds;

      /* Weeks read worse than days in an age: "9d", not "1w2d". */
      if (units[u].unit == 'w')
        continue;
      if (n == 0)
        continue;
      g_string_append_printf (out, "%" G_GINT64_FORMAT "%c", n, units[u].unit);
      seconds -= n * units[u].seconds;
      shown++;
    }
  if (out->len == 0 || g_str_equal (out->str, "-"))
    g_string_append (out, "0s");
  return g_string_free (out, FALSE);
}
