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
#  - --kernel installed again is refused: the newest is the one running.
# MOLT_TESTBED_UEFI=1 boots it through OVMF instead of SeaBIOS.
source "$(dirname "$0")/../testbed/vm-test.sh"

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
enabled=$(guest_run systemctl is-enabled molt-restore.service molt-lock-network.service | tr '\n' ' ')
[ "$enabled" = "enabled enabled " ] || testbed_die "the package did not enable its boot units: $enabled"
state=$(GUEST_RUN_TIMEOUT_S=300 guest_run systemctl is-system-running --wait | tr -d '\n')
[ "$state" = running ] || testbed_die "systemctl is-system-running: $state ($(guest_run systemctl --failed --no-legend))"

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

before=$(seq_capture)
out=$(m --timeout 30 switch "$dom" --kernel installed --boot-timeout 900 2>&1) \
  || testbed_die "molt switch --kernel installed failed: $out"
assert_contains "$out" "the newest kernel installed in the guest is $k_new (/boot/vmlinuz-$k_new)"
assert_contains "$out" "Result:       committed"
assert_json "$(m --json info "$dom")" kernel-release "$k_new"
assert_job_state pipeline running
wait_sequence_grows "$SEQ_FILE" 5
after=$(seq_capture)
result=$(check_continuity "$before" "$after" 900)
rm -f "$before" "$after"
testbed_log "switched to $k_new by --kernel installed; sequence $result (lines, largest gap s)"

state=$(GUEST_RUN_TIMEOUT_S=300 guest_run systemctl is-system-running --wait | tr -d '\n')
[ "$state" = running ] || testbed_die "after the switch, systemctl is-system-running: $state ($(guest_run systemctl --failed --no-legend))"
journal=$(guest_run journalctl -b -u molt-restore.service --no-pager)
assert_contains "$journal" "restored job pipeline"
assert_contains "$(guest_run systemctl list-dependencies --after --plain network.target)" "molt-restore.service"
testbed_log "systemd: running; molt-restore.service restored the job before network.target"

assert_fails 1 "the newest kernel installed in the guest, $k_new, is the one running: install a newer one" \
  m switch "$dom" --kernel installed
assert_job_state pipeline running
echo "debian.sh: all checks passed"
