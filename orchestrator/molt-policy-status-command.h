/* molt policy status, called by molt-cmd-policy.c once the policies are
 * loaded and libvirt reached. */
#pragma once

#include <libvirt/libvirt.h>

#include "molt-cli.h"

G_BEGIN_DECLS

/* Returns the exit code (with monitor: the plugin convention's), or -1
 * with error when libvirt or the history cannot be read. */
int molt_policy_status_command (MoltCli *cli, virConnectPtr conn, GPtrArray *policies,
                                const gchar *state_dir, char **domains, gboolean monitor,
                                gint64 now, GError **error);

G_END_DECLS
