#!/bin/bash
# e2e on the Debian 12 guest with systemd (tests/guest-debian), molt
# installed in it from its own package, booted by GRUB from its own /boot:
#  - nothing configured by hand: the domain starts without the agent
#    channel; molt setup hot-plugs it, udev starts molt-agent.service for it,
#    and setup reports CRIU working;
#  - the real kernel upgrade: apt-get installs the newer kernel from the
#    guest's local repository (its postinst writes the initrd and runs
#    update-grub); molt switch --kernel installed picks it and its initrd;
#    the sequence pipeline (a job) keeps running with nothing lost or
#    repeated; uname -r changes; systemctl is-system-running says running;
#    molt-restore.service restored the job, ordered before network.target;
#  - a service from Debian's packages as a systemd-managed job: the drop-in
#    the package ships (examples/redis-server-molt.conf, docs/guide.md)
#    makes redis-server.service's ExecStart= molt-run --wait; a client on
#    the host holds one connection through a port forward, writing and
#    reading keys. After each switch the unit is active, never restarted,
#    its start attached to the restored redis-server (same PID in its
#    namespace, in the unit's cgroup, one copy), the client never
#    reconnected and every key it wrote reads back;
#  - GRUB's one-shot next_entry names the old kernel from before the kexec
#    until the commit clears it; in the UEFI run, a new kernel that cannot
#    boot: the restart (rollback layer 3) boots the old kernel by that
#    entry, not GRUB's default (the new one), and the jobs come back;
#  - --kernel installed again is refused: the newest is the one running;
#  - the switch back to the old kernel (by path, in the guest's /boot), the
#    service still active and attached, the jobs still whole.
# MOLT_TESTBED_UEFI=1 boots it through OVMF instead of SeaBIOS; that run
# leaves out the switch back (a kexec does not go through the firmware, and
# scripts/check's time is counted).
source "$(dirname "$0")/../testbed/vm-test.sh"

# scripts/check builds the image beside the other tests and says here when
# it is done (its status: 0 or the failure).
if [ -n "${MOLT_DEBIAN_BUILD_STATUS:-}" ]; then
  for _ in $(seq 1 1800); do [ -s "$MOLT_DEBIAN_BUILD_STATUS" ] && break; sleep 1; done
  [ "$(cat "$MOLT_DEBIAN_BUILD_STATUS" 2>/dev/null)" = 0 ] \
    || testbed_die "the Debian guest image was not built (status '$(cat "$MOLT_DEBIAN_BUILD_STATUS" 2>/dev/null)'; scripts/check's log of it: meson-logs/debian-build.log)"
  testbed_log "the Debian guest image is ready"
fi
[ -n "${MOLT_DEBIAN_GUEST_DIR:-}" ] && [ -f "$MOLT_DEBIAN_GUEST_DIR/debian.qcow2" ] \
  || testbed_die "no Debian guest image in '${MOLT_DEBIAN_GUEST_DIR:-}': scripts/check builds it (scripts/build-debian-guest)"
read -r k_old k_new <"$MOLT_DEBIAN_GUEST_DIR/kernels"
# Helper commands run in the guest's own PID namespace: systemctl talks to
# no systemd from another one ("Failed to connect to bus").
GUEST_RUN_OPTS=--no-pid-namespace

# The domain starts without the agent channel, as an existing VM would:
# molt setup hot-plugs it, and udev starts the packaged agent for it.
testbed_start_debian debian --no-channel >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_console "$dom" "molt-debian login" 600
assert_fails 3 "has no molt agent channel: 'molt setup $dom' adds it" m ping "$dom"
out=$(m setup "$dom" --wait 300) || testbed_die "molt setup failed: $out"
assert_contains "$out" "running domain: added; persistent definition: none (transient domain)"
assert_contains "$out" "CRIU:      works"
assert_contains "$out" "Ready:     yes"
out=$(m --json setup "$dom")
assert_json "$out" channel-live present
assert_json "$out" ready true
testbed_log "molt setup added the channel to the running domain; udev started the packaged agent; CRIU works"
assert_json "$(m --json info "$dom")" kernel-release "$k_old"
assert_json "$(m --json info "$dom")" criu.works true
# docs/guide.md's first step, the host's package, installed with apt too.
assert_contains "$(guest_run dpkg-query -W -f='${Status} ${Version}' molt)" "install ok installed"
assert_contains "$(guest_run molt --version)" "molt "
enabled=$(guest_run systemctl is-enabled molt-restore.service molt-lock-network.service | tr '\n' ' ')
[ "$enabled" = "enabled enabled " ] || testbed_die "the package did not enable its boot units: $enabled"
state=$(GUEST_RUN_TIMEOUT_S=300 guest_run systemctl is-system-running --wait | tr -d '\n')
[ "$state" = running ] || testbed_die "systemctl is-system-running: $state ($(guest_run systemctl --failed --no-legend))"

# A service from Debian's packages as a managed job, as docs/guide.md says.
# redis.conf is changed for the test only: it listens where the host's port
# forward arrives and keeps its keys in memory (the client checks them all).
drop_in=/usr/share/doc/molt-guest-agent/examples/redis-server-molt.conf
out=$(guest_run sh -c "printf 'bind 0.0.0.0\nprotected-mode no\nsave \"\"\n' >>/etc/redis/redis.conf \
  && mkdir -p /etc/systemd/system/redis-server.service.d \
  && cp $drop_in /etc/systemd/system/redis-server.service.d/molt.conf \
  && systemctl daemon-reload && systemctl restart redis-server && echo configured 2>&1")
assert_contains "$out" configured
peer_dir=$(mktemp -d)
client_pid=
trap 'kill $client_pid 2>/dev/null || true; rm -rf "$peer_dir"; testbed_cleanup' EXIT
redis_field() { tr ' ' '\n' <"$peer_dir/redis-status" | sed -n "s/^$1=//p"; }
# service_attached WHEN: redis-server.service active, never restarted, its
# job running in the unit's cgroup, one redis-server in the guest,
# the client on its one connection with no error.
service_attached() {
  local when=$1 state pid procs count restarts requests
  for _ in $(seq 1 60); do
    state=$(guest_run systemctl is-active redis-server | tr -d '\n')
    [ "$state" = active ] && [ "$(job_field redis state)" = running ] && break
    sleep 2
  done
  [ "$state" = active ] || testbed_die "$when: redis-server.service is $state: $(guest_run systemctl status redis-server --no-pager)"
  assert_job_state redis running
  [ "$(job_field redis ns-pid)" = "$redis_ns_pid" ] \
    || testbed_die "$when: redis-server is PID $(job_field redis ns-pid) in its namespace, was $redis_ns_pid"
  pid=$(job_field redis pid)
  procs=$(guest_run cat /sys/fs/cgroup/system.slice/redis-server.service/cgroup.procs)
  grep -qx "$pid" <<<"$procs" || testbed_die "$when: redis-server (pid $pid) is not in the unit's cgroup: $procs"
  count=$(guest_run pgrep -c -x redis-server | tr -d '\n')
  [ "$count" = 1 ] || testbed_die "$when: $count redis-server processes in the guest"
  restarts=$(guest_run systemctl show -p NRestarts --value redis-server | tr -d '\n')
  [ "$restarts" = 0 ] || testbed_die "$when: systemd restarted redis-server.service $restarts times"
  if [ -n "$client_pid" ]; then
    requests=$(redis_field requests)
    for _ in $(seq 1 30); do [ "$(redis_field requests)" -gt "$requests" ] && break; sleep 1; done
    [ "$(redis_field requests)" -gt "$requests" ] && [ "$(redis_field errors)" = 0 ] \
      || testbed_die "$when: the redis client: $(cat "$peer_dir/redis-status")"
  fi
  testbed_log "$when: redis-server.service active, its job pid $pid ($redis_ns_pid in its namespace) in the unit's cgroup${client_pid:+, the client on its one connection ($(redis_field requests) requests)}"
}
# Type=notify: systemctl restart returned once molt-run said READY=1,
# after the agent started the job: it is listed now, no wait.
redis_ns_pid=$(job_field redis ns-pid)
[ -n "$redis_ns_pid" ] || testbed_die "systemctl restart redis-server returned before the agent had the job: $(m jobs "$dom")"
assert_contains "$(guest_run systemctl show -p StatusText --value redis-server)" "started job redis"
service_attached "started by systemd"
assert_contains "$(guest_run journalctl -u redis-server --no-pager)" "started job redis: pid"

start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 5

# The upgrade as an administrator does it, from the guest's own apt sources.
apt_out=$(GUEST_RUN_TIMEOUT_S=1200 guest_run sh -c \
  "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-image-$k_new 2>&1; echo apt-exit=\$?")
assert_contains "$apt_out" "apt-exit=0"
assert_contains "$(guest_run ls /boot)" "initrd.img-$k_new"
# update-grub made the new kernel the guest's default boot entry.
assert_contains "$(guest_run sh -c 'grep -m1 "^[[:space:]]*linux" /boot/grub/grub.cfg')" "vmlinuz-$k_new"
testbed_log "apt-get installed linux-image-$k_new in the guest (initrd written, update-grub run)"

# Layer 3 of the rollback on a guest that boots by its own GRUB (the UEFI
# run; the BIOS run switches back instead, scripts/check's time is
# counted): the new kernel with the old initrd cannot find its root disk
# and, without panic= on its command line, waits in the initramfs. After
# the boot timeout molt restarts the domain; GRUB's default entry is now
# the new kernel, but the switch had set its one-shot next_entry to the old
# one, whose boot restores the jobs.
if [ "${MOLT_TESTBED_UEFI:-0}" = 1 ]; then
  append=$(guest_run cat /proc/cmdline | sed -e 's/ *panic=-1//' -e 's/BOOT_IMAGE=[^ ]* *//' | tr -d '\n')
  before=$(seq_capture)
  set +e
  out=$(m --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$k_new" --initrd "/boot/initrd.img-$k_old" \
    --append "$append" --boot-timeout 60 2>&1)
  rc=$?
  set -e
  [ "$rc" = 4 ] || testbed_die "a new kernel that cannot boot: exit $rc, expected 4: $out"
  assert_contains "$out" "GRUB's next boot: 'gnulinux-advanced-"
  assert_contains "$out" "-advanced-"
  assert_contains "$out" "(the old kernel $k_old), once"
  assert_contains "$out" "did not bring the agent back within 60 s"
  assert_contains "$out" "Rolled back (restarted on the old kernel)"
  assert_json "$(m --json info "$dom")" kernel-release "$k_old"
  result=$(pipeline_continuity "$before")
  # GRUB took the entry as it booted it; nothing is left to boot once.
  assert_not_contains "$(guest_run grub-editenv /boot/grub/grubenv list)" "next_entry="
  service_attached "after the restart on the old kernel"
  testbed_log "layer 3 on GRUB: restarted, GRUB booted $k_old once (not its default $k_new), the jobs restored; sequence $result"
fi

# A client on the host holds one connection to redis through the switches.
start_redis_client "$peer_dir/redis-status" 3600
client_pid=$REDIS_CLIENT_PID

before=$(seq_capture)
out=$(m --timeout 30 switch "$dom" --kernel installed --boot-timeout 900 2>&1) \
  || testbed_die "molt switch --kernel installed failed: $out"
assert_contains "$out" "the newest kernel installed in the guest is $k_new (/boot/vmlinuz-$k_new)"
assert_contains "$out" "Result:       committed"
assert_contains "$out" "GRUB's next boot: '"
assert_json "$(m --json info "$dom")" kernel-release "$k_new"
# The commit cleared the one-shot entry: the next boot is GRUB's default.
assert_not_contains "$(guest_run grub-editenv /boot/grub/grubenv list)" "next_entry="
result=$(pipeline_continuity "$before")
testbed_log "switched to $k_new by --kernel installed; sequence $result (lines, largest gap s)"

state=$(GUEST_RUN_TIMEOUT_S=300 guest_run systemctl is-system-running --wait | tr -d '\n')
[ "$state" = running ] || testbed_die "after the switch, systemctl is-system-running: $state ($(guest_run systemctl --failed --no-legend))"
journal=$(guest_run journalctl -b -u molt-restore.service --no-pager)
assert_contains "$journal" "restored job pipeline"
assert_contains "$(guest_run systemctl list-dependencies --after --plain network.target)" "molt-restore.service"
testbed_log "systemd: running; molt-restore.service restored the job before network.target"
service_attached "after the switch to $k_new"
# systemctl status: the unit runs, its cgroup lists the restored
# redis-server, and its log says molt-run attached to it.
# (Plain ASCII: the tree's glyphs are not what is checked.)
status=$(guest_run sh -c 'LC_ALL=C SYSTEMD_COLORS=0 systemctl status redis-server --no-pager --full --lines=20 2>&1 | tr -cd "\11\12\40-\176"')
assert_contains "$status" "Active: active (running)"
grep -qE "[^0-9]$(job_field redis pid) [^ ]*redis-server" <<<"$status" \
  || testbed_die "systemctl status does not list the restored redis-server in the unit's cgroup: $status"
assert_contains "$status" "attached to the running job redis: pid $(job_field redis pid) ($redis_ns_pid in its namespace)"

assert_fails 1 "the newest kernel installed in the guest, $k_new, is the one running: install a newer one" \
  m switch "$dom" --kernel installed
assert_job_state pipeline running

# And back, by the old kernel's files in the guest's /boot.
if [ "${MOLT_TESTBED_UEFI:-0}" != 1 ]; then
before=$(seq_capture)
out=$(m --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$k_old" --initrd "/boot/initrd.img-$k_old" \
  --boot-timeout 900 2>&1) || testbed_die "the switch back to $k_old failed: $out"
assert_contains "$out" "Result:       committed"
assert_json "$(m --json info "$dom")" kernel-release "$k_old"
result=$(pipeline_continuity "$before")
state=$(GUEST_RUN_TIMEOUT_S=300 guest_run systemctl is-system-running --wait | tr -d '\n')
[ "$state" = running ] || testbed_die "after the switch back, systemctl is-system-running: $state"
service_attached "after the switch back to $k_old"
testbed_log "switched back to $k_old; sequence $result"
fi

# Every key the client wrote through both switches reads back, on the
# connection it opened before them.
kill -USR1 "$client_pid"
for _ in $(seq 1 120); do [ "$(redis_field done)" = 1 ] && break; sleep 1; done
[ "$(redis_field done)" = 1 ] && [ "$(redis_field errors)" = 0 ] \
  && [ "$(redis_field verified)" = "$(redis_field keys)" ] \
  || testbed_die "the redis client: $(cat "$peer_dir/redis-status")"
testbed_log "redis: $(redis_field keys) keys written and read back on one connection through the switches; worst latency $(redis_field max-latency-ms) ms"
echo "debian.sh: all checks passed"
