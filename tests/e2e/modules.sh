#!/bin/bash
# e2e: driver-set switches (molt switch --modules) with the out-of-tree
# test driver (tests/guest/molt-testdrv, built for the test kernels against
# Debian's headers: versions 1, 2 and 2-broken, whose init fails).
#  - version 1 installed as a user would (updates/, depmod, modprobe); a
#    live reload to 2 under a running job: the report's path, old and new
#    version; /sys/module and the device say 2; the job went on; the new
#    file staged under updates/molt for the next boot, the old one gone;
#  - --dry-run says the path and changes nothing;
#  - a job holding the device open: refused at preflight naming the
#    module and its user, nothing changed;
#  - 2-broken: its load fails, the old module (2) is loaded again, the
#    staged file is 2 again (the next boot does not pick up the failed
#    hotfix), exit 4;
#  - a build for the other kernel: refused at preflight, vermagic named;
#  - the NIC's driver (virtio_net, the kernel's own build as the hotfix)
#    reloaded live while a job holds a TCP connection to a host peer, data
#    flowing both ways: the interface comes back with its address and
#    route, the peer saw one connection, no error, no number lost.
source "$(dirname "$0")/../testbed/vm-test.sh"
peer_dir=$(mktemp -d)
peer_pid=
trap 'kill $peer_pid 2>/dev/null || true; rm -rf "$peer_dir"; testbed_cleanup' EXIT

testbed_start modules >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 3
rel=$k_old
other=$k_new
drv=/var/lib/molt/testdrv
guest_run sh -c "mkdir -p $drv && tar -xf /usr/lib/molt/molt-testdrv.tar -C $drv" >/dev/null
guest_run sh -c "mkdir -p /lib/modules/$rel/updates && cp $drv/$rel/1/molt_testdrv.ko /lib/modules/$rel/updates/ && depmod -a $rel && modprobe molt_testdrv" >/dev/null \
  || testbed_die "cannot install the test driver's version 1"
sysfs_version() { guest_run cat /sys/module/molt_testdrv/version; }
device_reads() { guest_run cat /dev/molt_testdrv; }
staged_version() { guest_run sh -c "modinfo -F version /lib/modules/$rel/updates/molt/molt_testdrv.ko"; }
[ "$(sysfs_version)" = 1 ] || testbed_die "version 1 is not loaded: $(sysfs_version)"

# --- dry run: the path, nothing changed ---
out=$(m --json switch "$dom" --modules "$drv/$rel/2" --dry-run)
assert_json "$out" result dry-run
assert_json "$out" path live
assert_json "$out" before.modules.0.loaded-version 1
[ "$(sysfs_version)" = 1 ] || testbed_die "a dry run changed the module: $(sysfs_version)"

# --- live reload under a running job ---
before=$(seq_capture)
out=$(m --json switch "$dom" --modules "$drv/$rel/2")
assert_json "$out" result committed
assert_json "$out" path live
assert_json "$out" modules.0.name molt_testdrv
assert_json "$out" modules.0.old-version 1
assert_json "$out" modules.0.new-version 2
[ "$(sysfs_version)" = 2 ] || testbed_die "after the live reload /sys/module says $(sysfs_version)"
[ "$(device_reads)" = "molt_testdrv 2" ] || testbed_die "the device reads '$(device_reads)'"
[ "$(staged_version)" = 2 ] || testbed_die "staged for the next boot: version '$(staged_version)'"
guest_run sh -c "test ! -e /lib/modules/$rel/updates/molt_testdrv.ko" >/dev/null \
  || testbed_die "the old version's file is still under updates/ (the next boot could load it)"
assert_job_state pipeline running
wait_sequence_grows "$SEQ_FILE" 3
after=$(seq_capture)
check_continuity "$before" "$after" 60 >/dev/null
rm -f "$before" "$after"
testbed_log "live reload 1 -> 2 under a running job: downtime $(python3 -c 'import json,sys; print(json.load(sys.stdin)["downtime-s"])' <<<"$out") s"

# --- a job holding the device: refused, nothing changed ---
m exec "$dom" --name holder --no-pid-namespace -- sh -c 'exec 3</dev/molt_testdrv; exec sleep 100000' >/dev/null
for _ in $(seq 1 50); do [ "$(guest_run cat /sys/module/molt_testdrv/refcnt)" -ge 1 ] && break; sleep 0.2; done
assert_fails 1 "no live reload: module molt_testdrv is in use (1 references" \
  m switch "$dom" --modules "$drv/$rel/1"
[ "$(sysfs_version)" = 2 ] || testbed_die "a refused switch changed the module: $(sysfs_version)"
assert_job_state holder running
m stop "$dom" holder >/dev/null
for _ in $(seq 1 50); do [ "$(guest_run cat /sys/module/molt_testdrv/refcnt)" = 0 ] && break; sleep 0.2; done
testbed_log "a job holding the device: refused at preflight, naming the module"

# --- a hotfix that fails to load: the old module back ---
out=$(expect_rc 4 m --json switch "$dom" --modules "$drv/$rel/2-broken")
assert_json "$out" result rolled-back
assert_contains "$out" "cannot load "
assert_contains "$out" "rolled back: the old modules are loaded again, the staged files removed"
[ "$(sysfs_version)" = 2 ] || testbed_die "after the failed hotfix /sys/module says $(sysfs_version)"
[ "$(device_reads)" = "molt_testdrv 2" ] || testbed_die "after the failed hotfix the device reads '$(device_reads)'"
[ "$(staged_version)" = 2 ] || testbed_die "after the failed hotfix the next boot would load version '$(staged_version)'"
assert_job_state pipeline running
testbed_log "a hotfix whose init fails: $(grep -o 'cannot load [^;]*' <<<"$out" | head -n 1); version 2 loaded again"

# --- built for the other kernel: refused at preflight ---
assert_fails 1 "molt_testdrv.ko is built for kernel $other" \
  m switch "$dom" --modules "$drv/$other/2"
[ "$(sysfs_version)" = 2 ] || testbed_die "a refused switch changed the module"
testbed_log "a module built for $other refused at preflight, vermagic named"

# --- the NIC's driver under a live TCP connection ---
TCP_FILE=/var/lib/molt/tcp.txt
python3 "$testbed_lib/tcp-peer" "$peer_dir/port" "$peer_dir/status" 50 &
peer_pid=$!
for _ in $(seq 1 50); do [ -s "$peer_dir/port" ] && break; sleep 0.1; done
peer() { tr ' ' '\n' <"$peer_dir/status" | sed -n "s/^$1=//p"; }
m exec "$dom" --name tcp -- /usr/lib/molt/molt-test-tcp 10.0.2.2 "$(cat "$peer_dir/port")" "$TCP_FILE" 50 >/dev/null
wait_sequence_grows "$TCP_FILE" 20
guest_run sh -c "mkdir -p /var/lib/molt/nic && cp /lib/modules/$rel/kernel/drivers/net/virtio_net.ko /var/lib/molt/nic/" >/dev/null
addr_before=$(guest_run ip -o -4 addr show | awk '$2 != "lo" {print $2, $4}')
before=$(mktemp)
guest_cat "$TCP_FILE" >"$before"
recv_before=$(peer recv)
out=$(m --json switch "$dom" --modules /var/lib/molt/nic)
assert_json "$out" result committed
assert_json "$out" modules.0.name virtio_net
assert_contains "$out" '"interfaces"'
[ "$(guest_run ip -o -4 addr show | awk '$2 != "lo" {print $2, $4}')" = "$addr_before" ] \
  || testbed_die "after the NIC driver's reload: $(guest_run ip -o -4 addr show)"
for _ in $(seq 1 100); do [ "$(peer recv)" -gt $((recv_before + 40)) ] && break; sleep 0.2; done
[ "$(peer recv)" -gt $((recv_before + 40)) ] || testbed_die "the peer receives nothing after the NIC driver's reload: $(cat "$peer_dir/status")"
wait_sequence_grows "$TCP_FILE" 20
[ "$(peer accepts)" = 1 ] || testbed_die "the peer saw $(peer accepts) connections (a reconnect)"
[ "$(peer errors)" = 0 ] || testbed_die "the peer saw errors: $(peer last-error)"
after=$(mktemp)
guest_cat "$TCP_FILE" >"$after"
continuity=$(check_continuity "$before" "$after" 60)
rm -f "$before" "$after"
assert_job_state tcp running
testbed_log "virtio_net reloaded live under a TCP connection: interfaces $(python3 -c 'import json,sys; print(json.load(sys.stdin)["modules"][0]["interfaces"])' <<<"$out"), downtime $(python3 -c 'import json,sys; print(json.load(sys.stdin)["downtime-s"])' <<<"$out") s; one connection, guest side $continuity (lines, largest gap s), peer $(cat "$peer_dir/status")"
