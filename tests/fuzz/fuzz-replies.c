/* libFuzzer target: the host's reading of agent replies. The input is two
 * JSON documents split at the first 0xFF byte: the job list before a switch
 * and the one after it. Both go through the switch and rollback verdicts,
 * the info reply's typed getters (and, as a switch-preflight reply, the
 * blockers, the sockets and --kernel installed's choice), and every string through the terminal
 * excerpt. Must never crash, leak or read past what it was given. */
#include <stdint.h>
#include <string.h>

#include "molt-installed-kernel.h"
#include "molt-message.h"
#include "molt-reply.h"
#include "molt-switch-jobs.h"
#include "molt-switch-sockets.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static JsonNode *
parse (const uint8_t *data, size_t size)
{
  g_autofree gchar *text = g_strndup ((const gchar *) data, size);
  return molt_json_parse_bounded (text, NULL);
}

static void
read_info (JsonNode *node)
{
  JsonObject *info = molt_reply_as_object (node, "info", NULL);
  JsonObject *criu = NULL;
  const gchar *text = NULL;
  gboolean works = FALSE;
  gint64 number = 0;

  if (info == NULL)
    return;
  if (molt_reply_get_string (info, "info", "kernel-release", 0, &text, NULL))
    g_free (molt_text_excerpt (text, 64));
  if (molt_reply_get_object (info, "info", "criu", MOLT_REPLY_OPTIONAL, &criu, NULL) && criu)
    {
      molt_reply_get_bool (criu, "info.criu", "works", 0, &works, NULL);
      molt_reply_get_int (criu, "info.criu", "version", 0, G_MAXINT32, 0, &number, NULL);
    }
  /* The same object read as a switch-preflight reply. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonArray) sockets = NULL;
    molt_switch_jobs_check_blockers (info, &error);
    g_clear_error (&error);
    sockets = molt_switch_sockets_read (info, &error);
    if (sockets != NULL)
      molt_switch_sockets_check_restart (sockets, NULL);
    g_clear_error (&error);
    /* --kernel installed's choice from installed-kernels. */
    {
      g_autofree gchar *image = NULL, *initrd = NULL, *release = NULL;
      if (!molt_installed_kernel_pick (info, "6.1.0-47-cloud-amd64", &image, &initrd, &release,
                                       &error))
        g_free (molt_text_excerpt (error->message, 4096));
    }
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *split = memchr (data, 0xFF, size);
  size_t first = split != NULL ? (size_t) (split - data) : size;
  g_autoptr (JsonNode) before = parse (data, first);
  g_autoptr (JsonNode) after = split != NULL ? parse (split + 1, size - first - 1) : NULL;
  g_autoptr (JsonArray) report = json_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree gchar *summary = NULL;
  JsonArray *b, *a;

  if (before != NULL)
    read_info (before);
  if (before == NULL || after == NULL
      || (b = molt_reply_as_array (before, "job-list", NULL)) == NULL
      || (a = molt_reply_as_array (after, "job-list", NULL)) == NULL)
    return 0;
  if (!molt_switch_jobs_verify_switch (b, a, 1.0, report, &error))
    g_free (molt_text_excerpt (error->message, 4096));
  molt_switch_jobs_verify_rollback (b, a, NULL, report, &summary);
  g_free (molt_text_excerpt (summary, 4096));
  return 0;
}
