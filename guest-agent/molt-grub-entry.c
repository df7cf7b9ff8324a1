#include <string.h>

#include "molt-grub-entry.h"
#include "molt-protocol-error.h"

/* Deeper nesting than update-grub writes is not a menu worth trusting. */
#define MOLT_GRUB_MAX_DEPTH 16

typedef struct
{
  gboolean is_menu; /* menuentry or submenu, not if/function */
  gboolean is_recovery;
  gchar *id;
} Block;

/* The words of a grub.cfg line, quotes removed ('...', "...", \x). */
static GPtrArray *
split_words (const gchar *line)
{
  GPtrArray *words = g_ptr_array_new_with_free_func (g_free);
  const gchar *p = line;

  for (;;)
    {
      GString *word;

      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0' || *p == '#')
        return words;
      word = g_string_new (NULL);
      while (*p != '\0' && *p != ' ' && *p != '\t')
        {
          if (*p == '\'')
            {
              for (p++; *p != '\0' && *p != '\''; p++)
                g_string_append_c (word, *p);
              if (*p == '\'')
                p++;
            }
          else if (*p == '"')
            {
              for (p++; *p != '\0' && *p != '"'; p++)
                {
                  if (*p == '\\' && p[1] != '\0')
                    p++;
                  g_string_append_c (word, *p);
                }
              if (*p == '"')
                p++;
            }
          else
            {
              if (*p == '\\' && p[1] != '\0')
                p++;
              g_string_append_c (word, *p++);
            }
        }
      g_ptr_array_add (words, g_string_free (word, FALSE));
    }
}

static gchar *
menu_id (GPtrArray *words)
{
  for (guint i = 1; i + 1 < words->len; i++)
    if (g_str_equal (words->pdata[i], "$menuentry_id_option")
        || g_str_equal (words->pdata[i], "--id"))
      return g_strdup (words->pdata[i + 1]);
  return g_strdup (words->len > 1 ? words->pdata[1] : "");
}

static gboolean
loads_release (GPtrArray *words, const gchar *release)
{
  const gchar *command = words->pdata[0];
  g_autofree gchar *image = NULL;
  g_autofree gchar *base = NULL;

  if (!g_str_equal (command, "linux") && !g_str_equal (command, "linux16")
      && !g_str_equal (command, "linuxefi"))
    return FALSE;
  if (words->len < 2)
    return FALSE;
  /* "single" is how update-grub marks recovery mode on the command line. */
  for (guint i = 2; i < words->len; i++)
    if (g_str_equal (words->pdata[i], "single"))
      return FALSE;
  /* (hd0,gpt2)/vmlinuz-X or /boot/vmlinuz-X: the file's name decides. */
  image = g_strdup (words->pdata[1]);
  base = g_path_get_basename (image);
  return g_str_has_prefix (base, "vmlinuz-") && g_str_equal (base + strlen ("vmlinuz-"), release);
}

static gchar *
entry_path (GArray *stack)
{
  GString *path = g_string_new (NULL);

  for (guint i = 0; i < stack->len; i++)
    {
      Block *b = &g_array_index (stack, Block, i);
      if (!b->is_menu)
        continue;
      if (path->len > 0)
        g_string_append_c (path, '>');
      g_string_append (path, b->id);
    }
  return g_string_free (path, FALSE);
}

static void
block_clear (gpointer data)
{
  g_free (((Block *) data)->id);
}

gchar *
molt_grub_find_entry (const gchar *cfg, gsize length, const gchar *release, GError **error)
{
  g_autofree gchar *text = g_strndup (cfg, length);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GArray) stack = g_array_new (FALSE, TRUE, sizeof (Block));

  g_array_set_clear_func (stack, block_clear);
  for (guint n = 0; lines[n] != NULL; n++)
    {
      g_autoptr (GPtrArray) words = split_words (lines[n]);
      const gchar *first, *last;

      if (words->len == 0)
        continue;
      first = words->pdata[0];
      last = words->pdata[words->len - 1];
      if (g_str_equal (first, "}"))
        {
          if (stack->len > 0)
            g_array_set_size (stack, stack->len - 1);
          continue;
        }
      if (g_str_equal (last, "{"))
        {
          Block block = { 0 };

          if (stack->len >= MOLT_GRUB_MAX_DEPTH)
            break;
          block.is_menu = g_str_equal (first, "menuentry") || g_str_equal (first, "submenu");
          if (block.is_menu)
            {
              block.id = menu_id (words);
              block.is_recovery
                  = words->len > 1 && strstr (words->pdata[1], "recovery mode") != NULL;
            }
          g_array_append_val (stack, block);
          continue;
        }
      if (stack->len > 0 && g_array_index (stack, Block, stack->len - 1).is_menu
          && !g_array_index (stack, Block, stack->len - 1).is_recovery
          && loads_release (words, release))
        return entry_path (stack);
    }
  g_set_error (error, MOLT_PROTOCOL_ERROR, MOLT_PROTOCOL_ERROR_NOT_FOUND,
               "no GRUB menu entry boots vmlinuz-%s", release);
  return NULL;
}
