#!/bin/bash
# e2e: jobs survive molt switch --method reboot (a new QEMU process with a
# new direct-boot kernel, host paths): 6.1.0-47 -> 6.1.0-56 -> 6.1.0-47 on a
# transient domain (whose snapshot metadata a destroy drops), and a switch
# of a persistent domain whose definition must keep the new kernel, and a
# reboot switch that fails and rolls back, definition included.
source "$(dirname "$0")/../testbed/vm-test.sh"
[ "$k_old" != "$k_new" ] || testbed_die "the test image has one kernel ($k_old): a switch to itself proves nothing"
guest=$(testbed_guest_dir)

testbed_start reboot-t >/dev/null
transient=$TESTBED_DOMAIN
testbed_start reboot-p --persistent >/dev/null
persistent=$TESTBED_DOMAIN
for dom in "$transient" "$persistent"; do
  testbed_wait_agent "$dom" >/dev/null
  start_sequence_job pipeline
done

reboot_to() {
  local target=$1 report downtime result before after
  testbed_log "switching $dom to $target with --method reboot"
  before=$(seq_capture)
  report=$(m --json --timeout 30 switch "$dom" --method reboot \
             --kernel "$guest/vmlinuz-$target" --initrd "$guest/initrd.img-$target")
  assert_json "$report" result committed
  assert_json "$report" method reboot
  assert_json "$report" new-kernel-release "$target"
  assert_json_is "$report" jobs.0.ns-pid 1
  downtime=$(json_get jobs.0.downtime-s <<<"$report" 2>/dev/null) \
    || testbed_die "no downtime in the report's job (frozen-at/resumed-at missing or the clock went back): $(json_get jobs.0 <<<"$report")"
  # The file holds every switch so far: its largest gap is bounded by the
  # largest downtime of them all.
  MAX_DOWNTIME=$(python3 -c "print(max(${MAX_DOWNTIME:-0}, $downtime))")
  assert_job_state pipeline running
  wait_sequence_grows "$SEQ_FILE" 10
  after=$(seq_capture)
  result=$(check_continuity "$before" "$after" "$(python3 -c "print($MAX_DOWNTIME + $SEQ_PERIOD + 1)")")
  rm -f "$before" "$after"
  testbed_log "$dom on $target: sequence $result (lines, largest gap s), downtime ${downtime}s, namespace PIDs $(json_get jobs.0.ns-pids <<<"$report")"
}

dom=$transient
wait_sequence_grows "$SEQ_FILE" 5
reboot_to "$k_new"
reboot_to "$k_old"

dom=$persistent
MAX_DOWNTIME=0
reboot_to "$k_new"
definition=$(virsh -c "$MOLT_TEST_URI" dumpxml --inactive "$dom")
assert_contains "$definition" "<kernel>$guest/vmlinuz-$k_new</kernel>"
assert_contains "$definition" "<initrd>$guest/initrd.img-$k_new</initrd>"

# A reboot switch that fails (the old kernel with the new kernel's initrd
# cannot mount its root): rolled back to the snapshot, the job alive, and
# the persistent definition keeps the kernel it had.
before=$(seq_capture)
assert_fails 4 "did not bring the agent back within 45 s" \
  m --timeout 30 switch "$dom" --method reboot --boot-timeout 45 \
  --kernel "$guest/vmlinuz-$k_old" --initrd "$guest/initrd.img-$k_new"
assert_json "$(m --json info "$dom")" kernel-release "$k_new"
survived=$(expect_survived "$before")
definition=$(virsh -c "$MOLT_TEST_URI" dumpxml --inactive "$dom")
assert_contains "$definition" "<kernel>$guest/vmlinuz-$k_new</kernel>"
testbed_log "a failed reboot switch rolled back: still $k_new, job alive ($survived)"
echo "reboot.sh: all checks passed"
