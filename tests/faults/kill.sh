#!/bin/bash
# faults: the orchestrator SIGKILLed at each step of a switch, then the
# operator's way out: `molt switch --resume` or `molt rollback`
# (MOLT_FAULT_AFTER=resume|rollback). Every cell must end with the job
# alive, on the old or the new kernel, its sequence complete.
source "$(dirname "$0")/../testbed/vm-test.sh"
source "$(dirname "$0")/../testbed/faults.sh"
after=${MOLT_FAULT_AFTER:?resume or rollback}

testbed_start "kill-$after" >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
start_sequence_job pipeline
wait_sequence_grows "$SEQ_FILE" 5

for step in snapshot prepare freeze checkpoint switch restore; do
  before=$(seq_capture)
  from=$(current_release)
  target=$(other_kernel)
  log=$(mktemp)
  # The snapshot step only runs when asked for (--snapshot always).
  opts=()
  [ "$step" != snapshot ] || opts=(--snapshot always)
  switch_in_background "$log" "$target" "${opts[@]}"
  wait_for_step "$log" "$step"
  kill -KILL "$SWITCH_PID"
  wait "$SWITCH_PID" 2>/dev/null || true
  killed_at=$(journal_step)
  if [ "$after" = resume ]; then
    out=$(m --json --timeout 30 switch --resume --boot-timeout 90 "$dom" 2>"$log.err") \
      || { cat "$log.err" >&2; testbed_die "molt switch --resume after a kill at $step failed"; }
  else
    out=$(m --json --timeout 30 rollback --boot-timeout 90 "$dom" 2>"$log.err") || {
      cat "$log.err" >&2
      cell_record "$step" "orchestrator SIGKILL, then rollback" FAIL \
        "killed in step $killed_at; molt rollback failed: $(tail -n 1 "$log.err" | cut -c1-300)"
      testbed_die "molt rollback after a kill at $step failed"
    }
  fi
  result=$(json_get result <<<"$out")
  way=$(json_get way-back <<<"$out" 2>/dev/null) || way=forward
  now=$(current_release)
  continuity=$(expect_survived "$before")
  case "$result" in
    committed) [ "$now" = "$target" ] || testbed_die "committed, but the guest runs $now" ;;
    rolled-back) [ "$now" = "$from" ] || testbed_die "rolled back, but the guest runs $now" ;;
    *) testbed_die "after a kill at $step, molt $after says $result" ;;
  esac
  cell_record "$step" "orchestrator SIGKILL, then $after" pass \
    "killed in step $killed_at; $after: $result ($way) on $now; job alive, sequence intact ($continuity)"
  rm -f "$log" "$log.json" "$log.err"
done
echo "kill.sh ($after): all cells passed"
