#!/bin/bash
# faults: libvirtd restarted in the middle of a switch (an upgrade, a
# crash). The domain runs on; molt reconnects. During the checkpoint the
# agent call dies with the stream: rolled back. While the new kernel boots:
# the switch goes on and commits. Runs alone (meson: is_parallel false):
# the restart cuts every other client's connection.
source "$(dirname "$0")/../testbed/vm-test.sh"
source "$(dirname "$0")/../testbed/faults.sh"

restart_libvirtd() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
    systemctl restart libvirtd
  else
    pkill -x libvirtd || true
    for i in $(seq 1 100); do pgrep -x libvirtd >/dev/null || break; sleep 0.1; done
    libvirtd -d
  fi
  for i in $(seq 1 100); do virsh -q -c "$MOLT_TEST_URI" version >/dev/null 2>&1 && return 0; sleep 0.2; done
  testbed_die "libvirtd did not come back"
}

testbed_start libvirtd >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 5

for step in checkpoint restore; do
  before=$(seq_capture)
  from=$(current_release)
  target=$(other_kernel)
  log=$(mktemp)
  switch_in_background "$log" "$target" --boot-timeout 90
  wait_for_step "$log" "$step"
  restart_libvirtd
  set +e
  wait "$SWITCH_PID"
  rc=$?
  set -e
  result=$(json_get result <"$log.json" 2>/dev/null || echo "?")
  now=$(current_release)
  case "$rc:$result" in
    0:committed) [ "$now" = "$target" ] || testbed_die "committed, but the guest runs $now" ;;
    4:rolled-back) [ "$now" = "$from" ] || testbed_die "rolled back, but the guest runs $now" ;;
    *) cat "$log" >&2; testbed_die "libvirtd restarted at $step: exit $rc, result $result" ;;
  esac
  survived=$(expect_survived "$before")
  reconnected=$(grep -c "reconnected to libvirt" "$log" || true)
  cell_record "$step" "libvirtd restarted" pass \
    "exit $rc, $result on $now; molt reconnected ($reconnected); job alive, sequence intact ($survived)"
  rm -f "$log" "$log.json"
done
echo "libvirtd.sh: all cells passed"
