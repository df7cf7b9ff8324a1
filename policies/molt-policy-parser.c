#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "molt-duration.h"
#include "molt-policy-parser.h"
#include "molt-schedule.h"

#define MOLT_POLICY_LINE_MAX 4096
#define MOLT_KEEP_MAX        100000

typedef struct
{
  const gchar *file;
  GPtrArray *errors;
  gboolean failed;
  MoltPolicy *current;
  GHashTable *seen_keys; /* of the current section */
  gboolean has_domains, has_schedule;
  guint warn_age_line, crit_age_line; /* 0: not given */
} Parser;

static void error_at (Parser *p, guint line, const gchar *key, const gchar *format, ...)
    G_GNUC_PRINTF (4, 5);

static void
error_at (Parser *p, guint line, const gchar *key, const gchar *format, ...)
{
  g_autofree gchar *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (p->errors, g_strdup_printf ("%s:%u: %s: %s", p->file, line, key, what));
  p->failed = TRUE;
}

static gboolean
name_is_valid (const gchar *name)
{
  if (name[0] == '\0' || strlen (name) > 64)
    return FALSE;
  for (const gchar *c = name; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && *c != '-' && *c != '_' && *c != '.')
      return FALSE;
  return TRUE;
}

/* The thresholds against the schedule, once both are known: the newest
 * snapshot is up to a period and the timer's interval old just before the
 * next is taken, so a shorter warn-age would warn every day. */
static void
check_ages (Parser *p)
{
  MoltPolicy *pol = p->current;
  gint64 least = molt_schedule_period (&pol->schedule) + MOLT_POLICY_TIMER_INTERVAL_S;

  if (p->warn_age_line > 0 && p->has_schedule && pol->warn_age < least)
    {
      g_autofree gchar *given = molt_duration_format (pol->warn_age);
      g_autofree gchar *allowed = molt_duration_format (least);
      g_autofree gchar *schedule = molt_schedule_to_string (&pol->schedule);
      error_at (p, p->warn_age_line, "warn-age",
                "%s is shorter than the schedule allows: with '%s' the newest snapshot is up to "
                "%s old before the next is taken (molt-policy.timer runs every 15 minutes), "
                "allowed: %s or more",
                given, schedule, allowed, allowed);
    }
  if (p->crit_age_line > 0 && p->has_schedule && pol->crit_age <= molt_policy_warn_age (pol))
    {
      g_autofree gchar *given = molt_duration_format (pol->crit_age);
      g_autofree gchar *warn = molt_duration_format (molt_policy_warn_age (pol));
      error_at (p, p->crit_age_line, "crit-age",
                "%s is not longer than warn-age (%s%s), allowed: longer than warn-age", given, warn,
                p->warn_age_line > 0 ? "" : ", derived from the schedule");
    }
}

/* Written by root's timer into a node_exporter textfile directory: it
 * must be an absolute path in a directory that exists and can be written. */
static gboolean
metrics_path_ok (const gchar *value, gchar **why)
{
  g_autofree gchar *dir = NULL;

  if (!g_path_is_absolute (value) || g_str_has_suffix (value, "/"))
    {
      *why = g_strdup ("is not an absolute file path");
      return FALSE;
    }
  dir = g_path_get_dirname (value);
  if (access (dir, W_OK) != 0)
    {
      *why = g_strdup_printf ("cannot be written: its directory %s: %s", dir, g_strerror (errno));
      return FALSE;
    }
  if (g_file_test (value, G_FILE_TEST_IS_DIR))
    {
      *why = g_strdup ("is a directory");
      return FALSE;
    }
  return TRUE;
}

/* A hook is a command line run without a shell: its program must exist
 * and be executable now, or the first snapshot would find out at 02:30. */
static gboolean
hook_ok (const gchar *value, gchar **why)
{
  g_auto (GStrv) argv = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree gchar *program = NULL;
  int saved;

  if (!g_shell_parse_argv (value, NULL, &argv, &error))
    {
      *why = g_strdup_printf ("is not a command line: %s", error->message);
      return FALSE;
    }
  program = strchr (argv[0], '/') != NULL ? g_strdup (argv[0]) : g_find_program_in_path (argv[0]);
  if (program == NULL)
    {
      *why = g_strdup_printf ("runs %s, which is not in PATH", argv[0]);
      return FALSE;
    }
  if (!g_path_is_absolute (program))
    {
      *why = g_strdup_printf ("runs %s, a relative path (the timer's working directory is /)",
                              argv[0]);
      return FALSE;
    }
  saved = access (program, X_OK) == 0 ? 0 : errno;
  if (saved != 0 || g_file_test (program, G_FILE_TEST_IS_DIR))
    {
      *why = g_strdup_printf ("runs %s, which cannot be executed: %s", program,
                              saved != 0 ? g_strerror (saved) : "a directory");
      return FALSE;
    }
  return TRUE;
}

static void
finish_section (Parser *p, GPtrArray *policies)
{
  if (p->current == NULL)
    return;
  check_ages (p);
  if (!p->has_domains)
    error_at (p, p->current->line, "domains",
              "missing in [policy %s], allowed: domain names and glob patterns, comma-separated",
              p->current->name);
  if (!p->has_schedule)
    error_at (p, p->current->line, "schedule",
              "missing in [policy %s], allowed: hourly [:MM], daily HH:MM, weekly DAY HH:MM, "
              "monthly DAY HH:MM (UTC)",
              p->current->name);
  g_ptr_array_add (policies, g_steal_pointer (&p->current));
  g_hash_table_remove_all (p->seen_keys);
}

static gboolean
parse_keep (const gchar *value, guint *out)
{
  gchar *end = NULL;
  gulong n;

  if (value[0] == '\0' || !g_ascii_isdigit (value[0]))
    return FALSE;
  n = strtoul (value, &end, 10);
  if (*end != '\0' || n > MOLT_KEEP_MAX)
    return FALSE;
  *out = (guint) n;
  return TRUE;
}

static void
set_key (Parser *p, guint line, const gchar *key, const gchar *value)
{
  MoltPolicy *pol = p->current;
  static const gchar *const keep_keys[]
      = { "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly" };
  guint *keep_fields[] = { &pol->keep.last,   &pol->keep.hourly,  &pol->keep.daily,
                           &pol->keep.weekly, &pol->keep.monthly, &pol->keep.yearly };

  if (g_hash_table_contains (p->seen_keys, key))
    {
      error_at (p, line, key, "given twice in [policy %s], allowed: once", pol->name);
      return;
    }
  g_hash_table_add (p->seen_keys, g_strdup (key));

  if (g_str_equal (key, "domains"))
    {
      p->has_domains = TRUE; /* present; if invalid, that is its own error */
      g_auto (GStrv) parts = g_strsplit (value, ",", -1);
      g_autoptr (GStrvBuilder) b = g_strv_builder_new ();
      guint n = 0;
      for (guint i = 0; parts[i] != NULL; i++)
        {
          g_strstrip (parts[i]);
          if (parts[i][0] == '\0')
            continue;
          g_strv_builder_add (b, parts[i]);
          n++;
        }
      if (n == 0)
        {
          error_at (p, line, key,
                    "is empty, allowed: domain names and glob patterns, comma-separated");
          return;
        }
      g_strfreev (pol->domains);
      pol->domains = g_strv_builder_end (b);
    }
  else if (g_str_equal (key, "schedule"))
    {
      g_autofree gchar *why = NULL;
      p->has_schedule = TRUE;
      if (!molt_schedule_parse (value, &pol->schedule, &why))
        {
          error_at (p, line, key,
                    "'%s' %s, allowed: hourly [:MM], daily HH:MM, weekly DAY HH:MM, "
                    "monthly DAY HH:MM (UTC)",
                    value, why);
          return;
        }
    }
  else if (g_str_equal (key, "memory"))
    {
      if (g_str_equal (value, "true") || g_str_equal (value, "yes"))
        pol->memory = TRUE;
      else if (g_str_equal (value, "false") || g_str_equal (value, "no"))
        pol->memory = FALSE;
      else
        error_at (p, line, key, "'%s' is not a boolean, allowed: true, false", value);
    }
  else if (g_str_equal (key, "warn-age") || g_str_equal (key, "crit-age"))
    {
      g_autofree gchar *why = NULL;
      gboolean warn = g_str_equal (key, "warn-age");

      if (!molt_duration_parse (value, warn ? &pol->warn_age : &pol->crit_age, &why))
        error_at (p, line, key, "'%s' %s, allowed: a duration such as 36h, 2d, 1d12h, 90m", value,
                  why);
      else if (warn)
        p->warn_age_line = line;
      else
        p->crit_age_line = line;
    }
  else if (g_str_equal (key, "pre-snapshot") || g_str_equal (key, "post-snapshot"))
    {
      g_autofree gchar *why = NULL;
      gchar **field = g_str_equal (key, "pre-snapshot") ? &pol->pre_snapshot : &pol->post_snapshot;

      if (!hook_ok (value, &why))
        error_at (p, line, key, "'%s' %s, allowed: an executable and its arguments", value, why);
      else
        {
          g_free (*field);
          *field = g_strdup (value);
        }
    }
  else if (g_str_equal (key, "guest-pre-snapshot"))
    {
      /* Run in the guest by its shell: nothing of it can be checked here
       * but that there is one. */
      if (value[0] == '\0' || strlen (value) > MOLT_GUEST_COMMAND_MAX)
        error_at (p, line, key, "'%.64s' is %s, allowed: a shell command line of 1-%d bytes", value,
                  value[0] == '\0' ? "empty" : "too long", MOLT_GUEST_COMMAND_MAX);
      else
        {
          g_free (pol->guest_pre_snapshot);
          pol->guest_pre_snapshot = g_strdup (value);
        }
    }
  else if (g_str_equal (key, "hook-timeout"))
    {
      g_autofree gchar *why = NULL;
      gint64 seconds = 0;

      if (!molt_duration_parse (value, &seconds, &why))
        error_at (p, line, key, "'%s' %s, allowed: a duration from 1s to 1h, such as 90s, 5m",
                  value, why);
      else if (seconds < 1 || seconds > 3600)
        error_at (p, line, key, "'%s' is out of range, allowed: a duration from 1s to 1h", value);
      else
        pol->hook_timeout_s = (guint) seconds;
    }
  else if (g_str_equal (key, "on-failure"))
    {
      if (g_str_equal (value, "abort") || g_str_equal (value, "continue"))
        pol->hook_failure_aborts = g_str_equal (value, "abort");
      else
        error_at (p, line, key, "'%s' is not a hook failure mode, allowed: abort, continue", value);
    }
  else if (g_str_equal (key, "metrics-file"))
    {
      g_autofree gchar *why = NULL;

      if (!metrics_path_ok (value, &why))
        error_at (p, line, key,
                  "'%s' %s, allowed: a file in a writable directory (such as "
                  "node_exporter's textfile directory)",
                  value, why);
      else
        {
          g_free (pol->metrics_file);
          pol->metrics_file = g_strdup (value);
        }
    }
  else if (g_str_equal (key, "snapshot-type"))
    {
      if (!molt_snapshot_type_from_string (value, &pol->snapshot_type))
        error_at (p, line, key, "'%s' is not a snapshot type, allowed: internal, external, auto",
                  value);
    }
  else if (g_str_equal (key, "quiesce"))
    {
      if (!molt_quiesce_from_string (value, &pol->quiesce))
        error_at (p, line, key, "'%s' is not a quiesce mode, allowed: required, best-effort, off",
                  value);
    }
  else
    {
      for (guint i = 0; i < G_N_ELEMENTS (keep_keys); i++)
        if (g_str_equal (key, keep_keys[i]))
          {
            if (!parse_keep (value, keep_fields[i]))
              error_at (p, line, key, "'%s' is not a count, allowed: 0-%d", value, MOLT_KEEP_MAX);
            return;
          }
      error_at (
          p, line, key,
          "unknown key, allowed: domains, schedule, memory, quiesce, snapshot-type, keep-last, "
          "keep-hourly, keep-daily, keep-weekly, keep-monthly, keep-yearly, warn-age, "
          "crit-age, metrics-file, pre-snapshot, post-snapshot, guest-pre-snapshot, "
          "hook-timeout, on-failure");
    }
}

gboolean
molt_policy_parse_text (const gchar *file, const gchar *text, gsize len, GPtrArray *policies,
                        GPtrArray *errors)
{
  Parser p = { .file = file, .errors = errors };
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) molt_policy_free);
  const gchar *pos = text, *end = text + len;
  guint line = 0;

  if (len > MOLT_POLICY_FILE_MAX)
    {
      error_at (&p, 1, "file", "larger than %d bytes, allowed: a policy file",
                MOLT_POLICY_FILE_MAX);
      return FALSE;
    }
  if (memchr (text, '\0', len) != NULL || !g_utf8_validate (text, (gssize) len, NULL))
    {
      error_at (&p, 1, "file", "not UTF-8 text, allowed: an INI policy file");
      return FALSE;
    }
  p.seen_keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  while (pos < end)
    {
      const gchar *nl = memchr (pos, '\n', (gsize) (end - pos));
      gsize n = nl != NULL ? (gsize) (nl - pos) : (gsize) (end - pos);
      g_autofree gchar *raw = NULL;
      gchar *s, *eq;

      line++;
      if (n > MOLT_POLICY_LINE_MAX)
        {
          error_at (&p, line, "line", "longer than %d characters", MOLT_POLICY_LINE_MAX);
          pos += n + 1;
          continue;
        }
      raw = g_strndup (pos, n);
      pos += n + 1;
      s = g_strstrip (raw);
      if (s[0] == '\0' || s[0] == '#' || s[0] == ';')
        continue;
      if (s[0] == '[')
        {
          gsize sl = strlen (s);
          gchar *inner;
          finish_section (&p, found);
          if (s[sl - 1] != ']')
            {
              error_at (&p, line, "section", "'%s' lacks its ']', allowed: [policy NAME]", s);
              continue;
            }
          s[sl - 1] = '\0';
          inner = g_strstrip (s + 1);
          if (!g_str_has_prefix (inner, "policy ") || !name_is_valid (g_strstrip (inner + 7)))
            {
              error_at (&p, line, "section",
                        "'[%s]' is not a policy, allowed: [policy NAME] with NAME of "
                        "A-Z a-z 0-9 . _ -",
                        inner);
              continue;
            }
          p.current = g_new0 (MoltPolicy, 1);
          p.current->name = g_strdup (g_strstrip (inner + 7));
          p.current->file = g_strdup (file);
          p.current->line = line;
          p.current->memory = TRUE;
          p.current->quiesce = MOLT_QUIESCE_BEST_EFFORT;
          p.current->hook_timeout_s = MOLT_POLICY_HOOK_TIMEOUT_DEFAULT_S;
          p.current->hook_failure_aborts = TRUE;
          p.current->domains = g_new0 (gchar *, 1);
          p.has_domains = p.has_schedule = FALSE;
          p.warn_age_line = p.crit_age_line = 0;
          continue;
        }
      eq = strchr (s, '=');
      if (eq == NULL)
        {
          error_at (&p, line, "line", "'%s' is not KEY = VALUE, a [policy NAME] or a # comment", s);
          continue;
        }
      *eq = '\0';
      if (p.current == NULL)
        {
          error_at (&p, line, g_strstrip (s), "outside any section, allowed: after [policy NAME]");
          continue;
        }
      set_key (&p, line, g_strstrip (s), g_strstrip (eq + 1));
    }
  finish_section (&p, found);
  g_hash_table_unref (p.seen_keys);
  if (p.failed)
    return FALSE;
  for (guint i = 0; i < found->len; i++)
    g_ptr_array_add (policies, g_steal_pointer (&found->pdata[i]));
  return TRUE;
}

gboolean
molt_policy_parse_file (const gchar *path, GPtrArray *policies, GPtrArray *errors)
{
  g_autofree gchar *text = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, &error))
    {
      g_ptr_array_add (errors, g_strdup_printf ("%s:0: file: %s", path, error->message));
      return FALSE;
    }
  return molt_policy_parse_text (path, text, len, policies, errors);
}

/* g_ptr_array_sort hands over pointers to the elements. */
static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const gchar *const *) a, *(const gchar *const *) b);
}

gboolean
molt_policy_load_dir (const gchar *dir, GPtrArray *policies, GPtrArray *errors)
{
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean ok = TRUE;
  const gchar *entry;
  guint first = policies->len;

  d = g_dir_open (dir, 0, &error);
  if (d == NULL)
    {
      g_ptr_array_add (errors, g_strdup_printf ("%s:0: directory: %s", dir, error->message));
      return FALSE;
    }
  while ((entry = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (entry, ".conf"))
      g_ptr_array_add (files, g_build_filename (dir, entry, NULL));
  g_ptr_array_sort (files, compare_paths);
  for (guint i = 0; i < files->len; i++)
    ok &= molt_policy_parse_file (g_ptr_array_index (files, i), policies, errors);
  for (guint i = first; i < policies->len; i++)
    {
      MoltPolicy *pol = g_ptr_array_index (policies, i);
      MoltPolicy *other = g_hash_table_lookup (names, pol->name);
      if (other != NULL)
        {
          g_ptr_array_add (errors, g_strdup_printf ("%s:%u: section: policy '%s' is already "
                                                    "defined at %s:%u, allowed: unique names",
                                                    pol->file, pol->line, pol->name, other->file,
                                                    other->line));
          ok = FALSE;
        }
      else
        g_hash_table_insert (names, pol->name, pol);
    }
  return ok;
}
