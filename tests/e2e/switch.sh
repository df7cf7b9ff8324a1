#!/bin/bash
# e2e: jobs survive molt switch 6.1.0-47 -> 6.1.0-56 -> 6.1.0-47 (kexec).
# A writer|reader pipeline appending to a file it holds open, and a second
# job, run through both switches: uname changes; the sequence file from
# before each switch is a prefix of the file after it, with one token and
# one PID throughout (the job was restored, not started again), no number
# lost or repeated, and its largest gap at most the reported downtime plus
# one period; the PID in each job's namespace is the one from before.
source "$(dirname "$0")/../testbed/vm-test.sh"

[ "$k_old" != "$k_new" ] || testbed_die "the test image has one kernel ($k_old): a switch to itself proves nothing"
testbed_start e2e >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
m exec "$dom" --name ticker -- sh -c 'while :; do date +%s; sleep 1; done' >/dev/null
wait_sequence_grows "$SEQ_FILE" 10

switch_to() {
  local target=$1 report downtime before after name
  testbed_log "switching $dom to $target"
  assert_json "$(m --json info "$dom")" kernel-release "$(current_kernel)"
  before=$(seq_capture)
  report=$(m --json --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$target" \
             --initrd "/boot/initrd.img-$target")
  assert_json "$report" result committed
  assert_json "$report" new-kernel-release "$target"
  # The jobs' memory was pre-dumped and the kernel loaded while they ran:
  # no job fell back to a whole dump in the freeze, no late kernel load.
  case "$report" in *"dumped whole"*|*"loads in the freeze window"*)
    testbed_die "the prepare step did not work: $report" ;; esac
  # A direct-boot domain: its restart boots the journaled <kernel>, GRUB's
  # one-shot entry is not touched (nor warned about).
  case "$report" in *boot-once*|*"GRUB"*)
    testbed_die "a direct-boot domain's switch touched GRUB's next boot: $report" ;; esac
  assert_json "$(m --json info "$dom")" kernel-release "$target"
  for name in pipeline ticker; do
    local entry
    entry=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(json.dumps([j for j in r["jobs"] if j["name"] == sys.argv[1]][0]))' "$name" <<<"$report")
    # Read from the restored process by the agent, compared by molt with
    # the value from before the checkpoint.
    assert_json_is "$entry" ns-pid 1
    assert_json_is "$entry" state '"running"'
    [ -n "$(json_get ns-pids <<<"$entry")" ] || testbed_die "no namespace PIDs reported for $name"
    testbed_log "job $name: namespace PIDs $(json_get ns-pids <<<"$entry"), downtime $(json_get downtime-s <<<"$entry") s"
  done
  downtime=$(python3 -c 'import json,sys; r=json.load(sys.stdin); print(max(j["downtime-s"] for j in r["jobs"]))' <<<"$report")
  # The file holds every switch so far: its largest gap is bounded by the
  # largest downtime of them all.
  MAX_DOWNTIME=$(python3 -c "print(max(${MAX_DOWNTIME:-0}, $downtime))")
  assert_job_state pipeline running
  assert_job_state ticker running
  # The checkpoint images (the jobs' memory) do not stay in the guest.
  [ "$(guest_run sh -c 'ls -A /var/lib/molt/images 2>/dev/null | wc -l')" = 0 ] \
    || testbed_die "checkpoint images left in the guest: $(guest_run ls -R /var/lib/molt/images)"
  json_get images-removed-bytes <<<"$report" >/dev/null || testbed_die "no images-removed-bytes in the report"
  wait_sequence_grows "$SEQ_FILE" 10
  after=$(seq_capture)
  # Gap bound: the largest downtime + one period, +1 s for whole-second timestamps.
  result=$(check_continuity "$before" "$after" "$(python3 -c "print($MAX_DOWNTIME + $SEQ_PERIOD + 1)")")
  rm -f "$before" "$after"
  testbed_log "sequence after the switch to $target: $result (lines, largest gap s); downtime ${downtime}s"
  LAST_REPORT=$report
  CURRENT=$target
}
CURRENT=$k_old
current_kernel() { echo "$CURRENT"; }

switch_to "$k_new"
# A downgrade away from a bad kernel is a real use.
switch_to "$k_old"
echo "$LAST_REPORT" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("steps:", ", ".join("%s %.2fs" % (s["step"], s["seconds"]) for s in r["steps"]))'
echo "switch.sh: all checks passed"
