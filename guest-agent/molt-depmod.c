/* The running kernel's module index: see molt-depmod.h. */
#include <gio/gio.h>

#include "molt-depmod.h"

/* The background depmod still running, or NULL. */
static GSubprocess *running;

/* depmod's own message is in the agent's log just before (its standard
 * error is the agent's). */
static void
warn_failed (GSubprocess *depmod)
{
  if (!g_subprocess_get_if_exited (depmod))
    g_warning ("depmod was killed by signal %d: the next boot may load other module versions",
               g_subprocess_get_term_sig (depmod));
  else if (g_subprocess_get_exit_status (depmod) != 0)
    g_warning ("depmod exited with status %d (its message above): the next boot may load other "
               "module versions",
               g_subprocess_get_exit_status (depmod));
}

/* DEPMOD waited for to its end, a failure warned about. */
static void
wait_for (GSubprocess *depmod)
{
  g_autoptr (GError) error = NULL;

  if (!g_subprocess_wait (depmod, NULL, &error))
    g_warning ("cannot wait for depmod: %s", error->message);
  else
    warn_failed (depmod);
}

void
molt_depmod_settle (void)
{
  g_autoptr (GSubprocess) depmod = g_steal_pointer (&running);

  if (depmod != NULL)
    wait_for (depmod);
}

static void
background_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GSubprocess *depmod = G_SUBPROCESS (source);

  (void) data;
  if (!g_subprocess_wait_finish (depmod, result, NULL))
    return;
  /* A settle may have waited for it already (and warned). */
  if (running == depmod)
    {
      warn_failed (depmod);
      g_clear_object (&running);
    }
}

static GSubprocess *
spawn (const gchar *release)
{
  g_autoptr (GError) error = NULL;
  GSubprocess *depmod
      = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "depmod", "-a", release, NULL);

  if (depmod == NULL)
    g_warning ("cannot run depmod: %s: the next boot may load other module versions",
               error->message);
  return depmod;
}

void
molt_depmod_run (const gchar *release)
{
  g_autoptr (GSubprocess) depmod = NULL;

  molt_depmod_settle ();
  if ((depmod = spawn (release)) != NULL)
    wait_for (depmod);
}

void
molt_depmod_run_later (const gchar *release)
{
  molt_depmod_settle ();
  if ((running = spawn (release)) == NULL)
    return;
  g_subprocess_wait_async (running, NULL, background_done, NULL);
}
