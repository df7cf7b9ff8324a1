/* The guest's network lock: molt's own nftables table ("inet molt-lock")
 * that drops every packet on every interface but lo.
 *
 * Why: CRIU keeps a TCP connection by dumping its queues and sequence
 * numbers; whatever the guest's kernel acknowledges after that is lost (the
 * peer takes it as delivered), and whatever the new kernel answers before
 * the socket is back is an RST that kills the connection. So the lock is
 * taken before the dump (CRIU's own lock ends with its dump, as the jobs'
 * trees are left in place) and held across the kexec (the new boot takes it
 * again before its NIC comes up: molt-agent --lock-network), until the jobs
 * run again: thawed in place, or restored. Then it goes, with any table
 * CRIU's nftables lock left behind ("CRIU-PID": 3.17 deletes another name
 * than the one it created when dump and restore are different processes). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MOLT_NET_LOCK_TABLE "molt-lock"
/* Written once the lock is taken, in this boot's /run: a thaw with no lock
 * taken runs no nft. */
#define MOLT_NET_LOCK_MARK "/run/molt-net-locked"

/* Whether an interface other than lo is up: with none, nothing can reach
 * a socket and no lock is needed. */
gboolean molt_net_lock_needed (void);
/* Takes the lock (again: idempotent). Needs nft (Debian's nftables). */
gboolean molt_net_lock (GError **error);
/* Drops the lock and CRIU's leftover tables; nothing to drop is fine.
 * Unless always, only if this boot took the lock (MOLT_NET_LOCK_MARK):
 * after a restore CRIU's tables go even so. */
gboolean molt_net_unlock (gboolean always, GError **error);

G_END_DECLS
