# The fault matrix's cells (bash; sourced after vm-test.sh). Each cell
# records one line in $MOLT_FAULTS_LOG (tab-separated: step, fault, result,
# detail); scripts/reliability-table turns the lines into
# docs/reliability.md.

: "${MOLT_FAULTS_LOG:=${TMPDIR:-/tmp}/molt-faults.tsv}"
# This run's cells only.
: >"$MOLT_FAULTS_LOG"

cell_record() {
  local step=$1 fault=$2 result=$3 detail=$4
  printf '%s\t%s\t%s\t%s\n' "$step" "$fault" "$result" "${detail//$'\t'/ }" >>"$MOLT_FAULTS_LOG"
  testbed_log "cell $step x $fault: $result ($detail)"
}

# The kernel the guest runs now, and the other one of the image's two.
current_release() { m --json info "$dom" | json_get kernel-release; }
other_kernel() { if [ "$(current_release)" = "$k_old" ]; then echo "$k_new"; else echo "$k_old"; fi; }

# switch_in_background LOG TARGET [OPTION...]: starts molt switch to TARGET
# (a kernel release in the guest's /boot); its pid in $SWITCH_PID.
switch_in_background() {
  local log=$1 target=$2
  shift 2
  "$MOLT" -c "$MOLT_TEST_URI" --json --timeout 30 switch "$dom" --kernel "/boot/vmlinuz-$target" \
    --initrd "/boot/initrd.img-$target" "$@" >"$log.json" 2>"$log" &
  SWITCH_PID=$!
}

# wait_for_step LOG STEP [TIMEOUT_S]: until the switch's progress says STEP
# began.
wait_for_step() {
  local log=$1 step=$2 timeout=${3:-180} i
  for i in $(seq 1 $((timeout * 10))); do
    grep -q "\] $step: " "$log" && return 0
    kill -0 "$SWITCH_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$log" >&2
  testbed_die "the switch never reached step $step"
}

# journal_step: the step the domain's journal last began.
journal_step() {
  local uuid
  uuid=$(virsh -q -c "$MOLT_TEST_URI" domuuid "$dom")
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("step", "?"))' \
    "$MOLT_STATE_DIR/journal/$uuid.json"
}
