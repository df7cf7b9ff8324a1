#!/bin/bash
# e2e: driver-set switches (molt switch --modules) with the out-of-tree
# test driver (tests/guest/molt-testdrv, built for the test kernels against
# Debian's headers: versions 1, 2 and 2-broken, whose init fails).
#  - version 1 installed as a user would (updates/, depmod, modprobe); a
#    live reload to 2 under a running job: the report's path, old and new
#    version; /sys/module and the device say 2; the job went on; the new
#    file staged under updates/molt for the next boot, the old one gone;
#  - --dry-run says the path and changes nothing;
#  - a job holding the device open: --live refused at preflight naming the
#    module and its user; without --live (the kexec path) refused before
#    the freeze naming the device CRIU cannot checkpoint; nothing changed;
#  - 2-broken: its load fails, the old module (2) is loaded again, the
#    staged file is 2 again (the next boot does not pick up the failed
#    hotfix), exit 4;
#  - --probe on the live path: a probe that fails puts the old module and
#    its staged file back (exit 4); one that passes keeps the new;
#  - the old module refusing to load again in the agent's rollback (the
#    driver refuses while /run/molt_testdrv.refuse exists): the next layer,
#    a kexec of the running kernel with the disk's initramfs, the job carried
#    by CRIU, the old version loaded on the fresh boot, exit 4;
#  - a build for the other kernel: refused at preflight, vermagic named;
#  - the root disk's driver (virtio_blk, the kernel's own build with another
#    build id as the hotfix): --live refused naming it; the default takes
#    the same-kernel kexec path, the new build runs after the boot (loaded
#    from the initramfs), is staged for the next boot at the commit, and
#    the job survived (its downtime beside the live reload's);
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
guest_check sh -c "mkdir -p $drv && tar -xf /usr/lib/molt/molt-testdrv.tar -C $drv" >/dev/null
guest_check sh -c "mkdir -p /lib/modules/$rel/updates && cp $drv/$rel/1/molt_testdrv.ko /lib/modules/$rel/updates/ && depmod -a $rel && modprobe molt_testdrv" >/dev/null \
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
guest_check sh -c "test ! -e /lib/modules/$rel/updates/molt_testdrv.ko" >/dev/null \
  || testbed_die "the old version's file is still under updates/ (the next boot could load it)"
assert_job_state pipeline running
wait_sequence_grows "$SEQ_FILE" 3
after=$(seq_capture)
check_continuity "$before" "$after" 60 >/dev/null
rm -f "$before" "$after"
live_downtime=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["downtime-s"])' <<<"$out")
testbed_log "live reload 1 -> 2 under a running job: downtime $live_downtime s"

# --- a hotfix that fails to load: the old module back ---
# Right after the reload above, whose depmod still runs in the guest's
# background: this reload must read the index that depmod writes (the
# old one names updates/molt_testdrv.ko, moved aside by the first).
out=$(expect_rc 4 m --json switch "$dom" --modules "$drv/$rel/2-broken")
assert_json "$out" result rolled-back
assert_contains "$out" "cannot load "
assert_contains "$out" "rolled back: the old modules are loaded again, the staged files removed"
[ "$(sysfs_version)" = 2 ] || testbed_die "after the failed hotfix /sys/module says $(sysfs_version)"
[ "$(device_reads)" = "molt_testdrv 2" ] || testbed_die "after the failed hotfix the device reads '$(device_reads)'"
[ "$(staged_version)" = 2 ] || testbed_die "after the failed hotfix the next boot would load version '$(staged_version)'"
assert_job_state pipeline running
testbed_log "a hotfix whose init fails: $(grep -o 'cannot load [^;]*' <<<"$out" | head -n 1); version 2 loaded again"

# --- a job holding the device: refused, nothing changed ---
m exec "$dom" --name holder --no-pid-namespace -- sh -c 'exec 3</dev/molt_testdrv; exec sleep 100000' >/dev/null
for _ in $(seq 1 50); do [ "$(guest_run cat /sys/module/molt_testdrv/refcnt)" -ge 1 ] && break; sleep 0.2; done
assert_fails 1 "no live reload: module molt_testdrv is in use (1 references: pid" \
  m switch "$dom" --modules "$drv/$rel/1" --live
assert_contains "$(m switch "$dom" --modules "$drv/$rel/1" --live 2>&1 || true)" ") has /dev/molt_testdrv open)"
[ "$(sysfs_version)" = 2 ] || testbed_die "a refused switch changed the module: $(sysfs_version)"
# Without --live the path is the kexec one, whose checkpoint cannot take a
# job holding a character device of a driver: refused before the freeze.
assert_fails 1 "CRIU cannot checkpoint job holder: pid" m switch "$dom" --modules "$drv/$rel/1"
assert_contains "$(m switch "$dom" --modules "$drv/$rel/1" 2>&1 || true)" "/dev/molt_testdrv"
guest_check test ! -e /run/molt/driver-set.initrd >/dev/null \
  || testbed_die "a refused kexec path left its initramfs in /run"
[ "$(sysfs_version)" = 2 ] || testbed_die "a refused switch changed the module: $(sysfs_version)"
assert_job_state holder running
m stop "$dom" holder >/dev/null
for _ in $(seq 1 50); do [ "$(guest_run cat /sys/module/molt_testdrv/refcnt)" = 0 ] && break; sleep 0.2; done
testbed_log "a job holding the device: refused at preflight, naming the module"

# --- a probe on the live path: the reload held until it passed ---
out=$(expect_rc 4 m --json switch "$dom" --modules "$drv/$rel/1" --probe 'grep -q "molt_testdrv 9" /dev/molt_testdrv')
assert_json "$out" result rolled-back
assert_json "$out" path live
assert_contains "$out" "probe: "
assert_contains "$out" "rolled back: the old modules are loaded again, the staged files removed"
[ "$(sysfs_version)" = 2 ] || testbed_die "after the failed probe /sys/module says $(sysfs_version)"
[ "$(staged_version)" = 2 ] || testbed_die "after the failed probe the next boot would load version '$(staged_version)'"
out=$(m --json switch "$dom" --modules "$drv/$rel/1" --probe 'grep -q "molt_testdrv 1" /dev/molt_testdrv')
assert_json "$out" result committed
assert_json "$out" modules.0.new-version 1
[ "$(sysfs_version)" = 1 ] && [ "$(staged_version)" = 1 ] \
  || testbed_die "after the probe passed: loaded $(sysfs_version), staged $(staged_version)"
assert_job_state pipeline running
testbed_log "--probe on the live path: a failing probe put version 2 back (exit 4), a passing one kept version 1"

# --- the old module does not load again: the next rollback layer ---
# The test driver refuses to load while /run/molt_testdrv.refuse exists (a
# device the failed hotfix left stuck until the next boot): the new version
# fails, so does the old one in the agent's rollback, and the switch boots
# the running kernel again with the disk's initramfs, the job carried by
# CRIU; on that boot (/run empty) the old version loads from the disk.
boot_before=$(guest_run cat /proc/sys/kernel/random/boot_id)
guest_check touch /run/molt_testdrv.refuse >/dev/null
before=$(seq_capture)
out=$(expect_rc 4 m --json switch "$dom" --modules "$drv/$rel/2")
assert_json "$out" result rolled-back
assert_json "$out" path live
assert_contains "$out" "the rollback was incomplete"
assert_contains "$out" "rolled back by a kexec of the running kernel ($rel) with the disk's initramfs"
assert_json "$out" fallback.result committed
assert_json "$out" fallback.modules.0.name molt_testdrv
assert_json "$out" fallback.modules.0.how "loaded after the boot"
assert_json "$out" fallback.modules.0.new-version 1
[ "$(guest_run cat /proc/sys/kernel/random/boot_id)" != "$boot_before" ] \
  || testbed_die "the fallback did not boot the guest again"
[ "$(sysfs_version)" = 1 ] && [ "$(device_reads)" = "molt_testdrv 1" ] \
  || testbed_die "after the fallback: /sys/module says $(sysfs_version), the device reads '$(device_reads)'"
[ "$(staged_version)" = 1 ] || testbed_die "after the fallback the next boot would load version '$(staged_version)'"
assert_job_state pipeline running
wait_sequence_grows "$SEQ_FILE" 3
after=$(seq_capture)
check_continuity "$before" "$after" 120 >/dev/null
rm -f "$before" "$after"
testbed_log "an old module that does not load again: $(grep -o 'the rollback was incomplete[^;]*; [^;]*' <<<"$out" | head -n 1); version 1 back after a kexec with the disk's initramfs, the job went on"

# --- built for the other kernel: refused at preflight ---
assert_fails 1 "molt_testdrv.ko is built for kernel $other" \
  m switch "$dom" --modules "$drv/$other/2"
[ "$(sysfs_version)" = 1 ] || testbed_die "a refused switch changed the module"
testbed_log "a module built for $other refused at preflight, vermagic named"

# --- the root disk's driver: the same-kernel kexec path ---
# The hotfix is the kernel's own virtio_blk with another build id written
# into its .note.gnu.build-id (what a rebuild changes; Debian's in-tree
# modules have no srcversion), so that /sys/module/virtio_blk/notes tells
# the builds apart, and without Debian's signature, which no longer
# matches (the kernel refuses a bad signature, and takes an unsigned module
# as it takes any out-of-tree build): the signature, its 12-byte
# descriptor (sig_len in the last 4, big-endian) and the 28-byte marker
# come off the end. The note: namesz 4, descsz 20, type 3, "GNU\0", the id.
blk=/var/lib/molt/blk
blk_id=5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed
guest_check sh -c "set -e; mkdir -p $blk; f=/lib/modules/$rel/kernel/drivers/block/virtio_blk.ko
  size=\$(stat -c %s \$f); set -- \$(tail -c 32 \$f | head -c 4 | od -An -tu1)
  head -c \$((size - 40 - ((\$1 << 24) | (\$2 << 16) | (\$3 << 8) | \$4))) \$f >$blk/virtio_blk.ko
  off=\$(od -An -v -tx1 $blk/virtio_blk.ko | tr -d '\n' | awk '{ i = index(\$0, \" 04 00 00 00 14 00 00 00 03 00 00 00 47 4e 55 00\"); if (i) print (i - 1) / 3 + 16 }')
  [ -n \"\$off\" ]
  printf '\\136\\355\\136\\355\\136\\355\\136\\355\\136\\355\\136\\355\\136\\355\\136\\355\\136\\355\\136\\355' | dd of=$blk/virtio_blk.ko bs=1 seek=\$off conv=notrunc 2>/dev/null
  ! grep -q 'Module signature appended' $blk/virtio_blk.ko" >/dev/null \
  || testbed_die "cannot write the virtio_blk hotfix"
out=$(m --json switch "$dom" --modules "$blk" --dry-run)
assert_json "$out" result dry-run
assert_json "$out" path kexec
assert_json "$out" before.modules.0.build-id "$blk_id"
blk_old=$(json_get before.modules.0.loaded-build-id <<<"$out")
[ -n "$blk_old" ] && [ "$blk_old" != "$blk_id" ] || testbed_die "virtio_blk runs build id '$blk_old' before the switch"
assert_contains "$out" "no live reload: module virtio_blk is"
assert_contains "$out" "/ is mounted from /dev/vda"
assert_fails 1 "no live reload: module virtio_blk is" m switch "$dom" --modules "$blk" --live
before=$(seq_capture)
out=$(m --json switch "$dom" --modules "$blk")
assert_json "$out" result committed
assert_json "$out" path kexec
assert_json "$out" modules.0.name virtio_blk
assert_json "$out" modules.0.how initramfs
assert_json "$out" modules.0.old-build-id "$blk_old"
assert_json "$out" modules.0.new-build-id "$blk_id"
running_id=$(guest_run sh -c "od -An -v -tx1 /sys/module/virtio_blk/notes/.note.gnu.build-id | tr -d ' \n' | tail -c 40")
[ "$running_id" = "$blk_id" ] || testbed_die "after the kexec virtio_blk runs build id $running_id"
guest_check cmp /lib/modules/$rel/updates/molt/virtio_blk.ko $blk/virtio_blk.ko >/dev/null \
  || testbed_die "the committed virtio_blk is not staged under updates/molt for the next boot"
assert_contains "$out" "appended to /boot/initrd.img-$rel"
assert_job_state pipeline running
wait_sequence_grows "$SEQ_FILE" 3
after=$(seq_capture)
check_continuity "$before" "$after" 120 >/dev/null
rm -f "$before" "$after"
kexec_downtime=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["downtime-s"])' <<<"$out")
testbed_log "virtio_blk (the root disk's driver) by the same-kernel kexec path: build id $blk_old -> $blk_id; the job pipeline's downtime $kexec_downtime s (live reload of molt_testdrv under the same job: $live_downtime s)"

# --- the NIC's driver under a live TCP connection ---
TCP_FILE=/var/lib/molt/tcp.txt
python3 "$testbed_lib/tcp-peer" "$peer_dir/port" "$peer_dir/status" 50 &
peer_pid=$!
for _ in $(seq 1 50); do [ -s "$peer_dir/port" ] && break; sleep 0.1; done
peer() { tr ' ' '\n' <"$peer_dir/status" | sed -n "s/^$1=//p"; }
m exec "$dom" --name tcp -- /usr/lib/molt/molt-test-tcp 10.0.2.2 "$(cat "$peer_dir/port")" "$TCP_FILE" 50 >/dev/null
wait_sequence_grows "$TCP_FILE" 20
guest_check sh -c "mkdir -p /var/lib/molt/nic && cp /lib/modules/$rel/kernel/drivers/net/virtio_net.ko /var/lib/molt/nic/" >/dev/null
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
