#!/bin/bash
# Integration: the vertical slice against a real libvirtd, QEMU guest, CRIU.
# molt info shows the guest's kernel and CRIU working; molt exec starts a job
# whose output keeps growing; molt jobs lists it with a namespace PID other
# than its host PID; the agent's own errors reach the CLI intact.
source "$(dirname "$0")/../testbed/vm-test.sh"

expected_kernel=$k_old
dom=$(testbed_start agent)
boot_s=$(testbed_wait_agent "$dom")
testbed_log "guest boot to agent-ready: ${boot_s}s"

# --- info: kernel release and CRIU ---
info=$(m --json --timeout 60 info "$dom")
assert_json "$info" kernel-release "$expected_kernel"
assert_json "$info" criu.works true
assert_json "$info" criu.state ok
human=$(m info "$dom")
assert_contains "$human" "Kernel release:  $expected_kernel"
assert_contains "$human" "CRIU:            works"

# --- exec: a job whose output keeps growing ---
out=$(m exec "$dom" --name counter -- sh -c 'i=0; while :; do echo "tick $i"; i=$((i+1)); sleep 0.5; done')
assert_contains "$out" "started job counter"
sleep 3
size1=$(m --json logs "$dom" counter | json_get size)
sleep 3
size2=$(m --json logs "$dom" counter | json_get size)
[ "$size2" -gt "$size1" ] || testbed_die "job output did not grow ($size1 -> $size2 bytes)"
assert_contains "$(m logs "$dom" counter)" "tick 5"

# --- jobs: namespace PID differs from host PID ---
jobs=$(m --json jobs "$dom")
python3 -c 'import json,sys; sys.exit(0 if [j["name"] for j in json.load(sys.stdin)["jobs"]] == ["counter"] else 1)' <<<"$jobs" \
  || testbed_die "expected exactly the job counter in: $jobs"
assert_job_state counter running
pid=$(job_field counter pid)
ns_pid=$(job_field counter ns-pid)
[ "$ns_pid" = 1 ] || testbed_die "job init should be pid 1 in its namespace, got $ns_pid"
[ "$pid" != "$ns_pid" ] || testbed_die "host pid $pid equals namespace pid $ns_pid"
# The table says the same as --json: its row for counter.
grep -qE "^counter +running +$pid +1 " <<<"$(m jobs "$dom")" \
  || testbed_die "molt jobs has no row 'counter running $pid 1': $(m jobs "$dom")"

# --- env and cwd reach the job ---
m exec "$dom" --name envjob --cwd /var/lib/molt --env GREETING=hello -- sh -c 'echo "$GREETING from $(pwd)"; sleep 600' >/dev/null
sleep 2
assert_contains "$(m logs "$dom" envjob)" "hello from /var/lib/molt"

# --- agent-side errors reach the CLI with exit code 1 ---
assert_fails 1 "already running" m exec "$dom" --name counter -- true
assert_fails 1 "job name must be" m exec "$dom" --name bad/name -- true
assert_fails 1 "does not exist in the guest" m exec "$dom" --name nocwd --cwd /does/not/exist -- true
assert_fails 1 "no job named 'nosuchjob'" m logs "$dom" nosuchjob
assert_fails 64 "--name is required" m exec "$dom" -- true
# --wait: the output and a status that says whether the command succeeded.
[ "$(m exec "$dom" --name waited --wait -- sh -c 'echo done here')" = "done here" ] \
  || testbed_die "exec --wait did not print the job's output"
assert_fails 1 "job waitfail exited with status 7" m exec "$dom" --name waitfail --wait -- sh -c 'exit 7'
assert_json "$(m --json exec "$dom" --name waitjson --wait -- sh -c 'echo x; exit 3' || true)" exit-status 768
assert_fails 1 "job waitlong did not end within 1 s (it is still running)" \
  m exec "$dom" --name waitlong --wait --wait-timeout 1 -- sleep 600
assert_job_state waitlong running
m stop "$dom" waitlong --grace 0 >/dev/null
assert_fails 64 "--wait-timeout takes seconds" m exec "$dom" --name x --wait-timeout 5 -- true

# --- guest text reaches the terminal escaped, and table cells fit ---
esc=$(printf '\033]0;owned\007\033[2J')
long=$(head -c 20000 /dev/zero | tr '\0' 'x')
m exec "$dom" --name hostile -- sh -c 'sleep 600' "$esc" "$long" >/dev/null
table=$(m jobs "$dom")
if printf '%s' "$table" | grep -q "$(printf '\033')"; then
  testbed_die "molt jobs printed an escape character from the guest"
fi
assert_contains "$table" '\x1b]0;owned\x07\x1b[2J'
line=$(grep '^hostile' <<<"$table")
[ "${#line}" -lt 200 ] || testbed_die "molt jobs printed a ${#line}-character line for a long command"
# --json gives the command whole.
[ "$(job_field hostile argv | wc -c)" -gt 20000 ] || testbed_die "--json cut the command"

# --- a domain held by a switch: read-only commands say so at once ---
uuid=$(virsh -q -c "$MOLT_TEST_URI" domuuid "$dom")
hold_lock "$MOLT_STATE_DIR/locks/$uuid.lock" switch
assert_fails 6 "$dom: busy: switch in progress since 20" m jobs "$dom"
# The same domain typed by its UUID takes the same lock.
assert_fails 6 "busy: switch in progress" m info "$uuid"
out=$(m --json jobs "$dom" 2>/dev/null || true)
assert_json "$out" error.code busy
assert_json_is "$out" error.exit-code 6
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null || true
# Readers queue for the channel instead of stealing it from each other.
readers=()
for i in 1 2 3 4; do m --json jobs "$dom" >/dev/null & readers+=($!); done
for pid in "${readers[@]}"; do wait "$pid" || testbed_die "a concurrent molt jobs failed"; done
assert_job_state counter running

# --- molt-run(1): a job started from inside the guest, and --wait ---
m exec "$dom" --name outer -- molt-run inner -- sleep 100000 >/dev/null
for i in $(seq 1 50); do [ "$(job_field inner state 2>/dev/null)" = running ] && break; sleep 0.2; done
assert_job_state inner running
m exec "$dom" --name waiter -- molt-run --wait w2 -- sh -c 'sleep 1; exit 7' >/dev/null
for i in $(seq 1 100); do [ "$(job_field waiter state)" = exited ] && break; sleep 0.2; done
assert_job_state waiter exited
# molt-run --wait exits with the job's status (7), for systemd to see.
python3 -c 'import sys; s = int(sys.argv[1]); sys.exit(0 if s >> 8 == 7 else 1)' "$(job_field waiter exit-status)" \
  || testbed_die "molt-run --wait ended with wait status $(job_field waiter exit-status), expected exit 7"
assert_job_state w2 exited
m stop "$dom" inner --grace 0 >/dev/null

# --- measured, not asserted: the agent's idle memory ---
m exec "$dom" --name rss -- sh -c 'grep VmRSS /proc/$(pidof molt-agent)/status' >/dev/null
sleep 2
testbed_log "molt-agent idle $(m logs "$dom" rss | tr -s ' \t' ' ')"

# --- the counter is still alive after all that ---
assert_job_state counter running
echo "agent.sh: all checks passed (boot to agent-ready ${boot_s}s)"
