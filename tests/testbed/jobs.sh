# Workloads and checks shared by the e2e tests (bash; needs testbed.sh and
# assert.sh, and m() and $dom set by the caller).

# The sequence job: writer | reader. The reader holds the file open (not
# O_APPEND: its position must survive) and writes one line per number:
# "N EPOCH TOKEN PID": the number, the time, a token drawn once when the
# job starts and the job's PID as it sees it ($$). A job restarted instead
# of restored truncates the file, counts from 0 again and draws a new token:
# check_continuity catches each of these.
SEQ_FILE=/var/lib/molt/seq.txt
SEQ_PERIOD=0.2
start_sequence_job() {
  local name=$1 file=${2:-$SEQ_FILE}
  m exec "$dom" --name "$name" -- sh -c "exec 3>$file; tok=\$(cat /proc/sys/kernel/random/uuid); me=\$\$; i=0; while :; do echo \$i; i=\$((i+1)); sleep $SEQ_PERIOD; done | while read n; do echo \"\$n \$(date +%s) \$tok \$me\" >&3; done" >/dev/null
}

# guest_run CMD...: runs CMD as a short job in the guest and prints its
# output, byte for byte. Fails if the job does not end within 60 s
# ($GUEST_RUN_TIMEOUT_S) or its output is longer than one log read (64 KiB).
# GUEST_RUN_OPTS: more options for molt exec (--no-pid-namespace, for
# systemctl: systemd answers no client in another PID namespace). CMD's
# exit status is not checked (a query like systemctl is-active says what
# it found by it): guest_check does.
guest_run() {
  local name="run-$RANDOM$RANDOM" out rc=0
  out=$(mktemp)
  # One call: molt waits for the job's end and reads its log (exit 1 when
  # the command failed, the JSON printed all the same).
  # shellcheck disable=SC2086
  m --json exec "$dom" --name "$name" ${GUEST_RUN_OPTS:-} --wait \
    --wait-timeout "${GUEST_RUN_TIMEOUT_S:-60}" -- "$@" >"$out" 2>"$out.err" || rc=$?
  if [ ! -s "$out" ]; then
    testbed_log "guest_run: '$*': $(cat "$out.err")"
    rm -f "$out" "$out.err"
    return 1
  fi
  GUEST_RUN_STRICT=${GUEST_RUN_STRICT:-0} python3 - "$out" <<'PY' || { rm -f "$out" "$out.err"; return 1; }
import json, os, sys
log = json.load(open(sys.argv[1]))
if "tail" not in log:
    sys.exit("guest_run: %s" % log["error"]["message"])
data = log["tail"].encode()
if log["size"] != len(data):
    sys.exit("guest_run: the output has %d bytes, one read gives %d" % (log["size"], len(data)))
sys.stdout.buffer.write(data)
sys.stdout.flush()
if os.environ["GUEST_RUN_STRICT"] == "1" and log["exit-status"] != 0:
    # A wait status: 256 is exit 1.
    sys.exit("guest_check: ended with wait status %d" % log["exit-status"])
PY
  rm -f "$out" "$out.err"
}

# guest_check CMD...: guest_run, and fails unless CMD exits 0 (an assertion
# on the guest: guest_check test -e FILE || testbed_die ...).
guest_check() { GUEST_RUN_STRICT=1 guest_run "$@"; }

# guest_cat PATH: the whole file as it was when its size was read (files
# here only grow), in chunks of one log read each.
guest_cat() {
  local path=$1 size off=0 n chunk=60000
  size=$(guest_run stat -c %s "$path") || return 1
  while [ "$off" -lt "$size" ]; do
    n=$(( size - off < chunk ? size - off : chunk ))
    guest_run sh -c "tail -c +$((off + 1)) '$path' | head -c $n" || return 1
    off=$((off + n))
  done
}

# guest_lines PATH: its number of lines (0 while it does not exist: a job
# may not have written its first line yet).
guest_lines() { guest_run sh -c "cat '$1' 2>/dev/null | wc -l" | tr -d ' \n'; }

# check_continuity BEFORE AFTER MAX_GAP_S: host files holding the sequence
# file before and after an event (a switch, a rollback). The old content is
# a prefix of the new; one token and one PID on every line (the same job,
# not a new start); numbers from 0, consecutive, none repeated; no gap
# between consecutive lines above MAX_GAP_S. Prints "LINES MAXGAP".
check_continuity() {
  python3 - "$1" "$2" "$3" <<'PY' || testbed_die "continuity check failed"
import sys
before = open(sys.argv[1], "rb").read()
after = open(sys.argv[2], "rb").read()
max_gap = float(sys.argv[3])
if not before:
    sys.exit("nothing recorded before the event")
if not after.startswith(before):
    sys.exit("the file before the event (%d bytes) is not a prefix of the file after it "
             "(%d bytes): the job started over" % (len(before), len(after)))
if len(after) == len(before):
    sys.exit("the sequence did not grow after the event")
lines = [l.split() for l in after.decode().splitlines()]
if any(len(l) != 4 for l in lines):
    sys.exit("malformed line: %r" % next(l for l in lines if len(l) != 4))
nums = [int(l[0]) for l in lines]
times = [int(l[1]) for l in lines]
tokens = {l[2] for l in lines}
pids = {l[3] for l in lines}
if len(tokens) != 1:
    sys.exit("%d tokens in the file: the job was started again" % len(tokens))
if len(pids) != 1:
    sys.exit("the job saw its PID change: %s" % sorted(pids))
if nums[0] != 0:
    sys.exit("sequence starts at %d, not 0" % nums[0])
for a, b in zip(nums, nums[1:]):
    if b != a + 1:
        sys.exit("sequence jumps from %d to %d (lost or duplicated numbers)" % (a, b))
gap = max(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else 0
if gap > max_gap:
    sys.exit("a gap of %d s, more than the allowed %.1f s" % (gap, max_gap))
print(len(nums), gap)
PY
}

# expect_survived BEFORE [MAX_GAP_S]: the job "pipeline" runs, and its
# sequence went on from BEFORE (a capture, removed here) without a restart,
# a lost or a repeated number (default gap bound 900 s: a whole failed
# attempt). Prints "LINES MAXGAP".
expect_survived() {
  local before=$1 max_gap=${2:-900} after result
  assert_job_state pipeline running
  wait_sequence_grows "$SEQ_FILE" 5
  after=$(seq_capture)
  result=$(check_continuity "$before" "$after" "$max_gap")
  rm -f "$before" "$after"
  echo "$result"
}

# seq_capture: the sequence file now, into a new host file; prints its path.
# start_redis_client STATUS_FILE SECONDS: forwards a free port on
# 127.0.0.1 to the guest's redis (port 6379) and starts redis-client on it
# in the background (its PID in REDIS_CLIENT_PID); returns once the client
# has had its first answer.
start_redis_client() {
  local status=$1 seconds=$2 port requests=0
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  virsh_t qemu-monitor-command "$dom" --hmp "hostfwd_add hostnet0 tcp:127.0.0.1:$port-:6379" >/dev/null \
    || testbed_die "cannot forward 127.0.0.1:$port to the guest's port 6379"
  python3 "$testbed_lib/redis-client" "$port" "$status" "$seconds" &
  REDIS_CLIENT_PID=$!
  for _ in $(seq 1 60); do
    # The client writes its status file once it has its first answer.
    if [ -s "$status" ]; then
      requests=$(tr ' ' '\n' <"$status" | sed -n 's/^requests=//p')
      [ "${requests:-0}" -gt 0 ] && return 0
    fi
    sleep 1
  done
  kill "$REDIS_CLIENT_PID" 2>/dev/null || true
  testbed_die "the redis client got no answer: $(cat "$status" 2>/dev/null)"
}

# pipeline_continuity BEFORE: the sequence job runs, and its file, grown
# past BEFORE (a seq_capture, removed here), lost and repeated nothing;
# prints check_continuity's result.
pipeline_continuity() {
  local before=$1 after result
  assert_job_state pipeline running
  wait_sequence_grows "$SEQ_FILE" 5
  after=$(seq_capture)
  result=$(check_continuity "$before" "$after" 900)
  rm -f "$before" "$after"
  printf '%s\n' "$result"
}

seq_capture() {
  local file
  file=$(mktemp)
  guest_cat "$SEQ_FILE" >"$file" || { rm -f "$file"; return 1; }
  echo "$file"
}

# wait_sequence_grows FILE N: until the file has N more lines than now.
wait_sequence_grows() {
  local file=$1 more=$2 before now i
  before=$(guest_lines "$file")
  for i in $(seq 1 60); do
    now=$(guest_lines "$file")
    [ "$now" -ge $((before + more)) ] && return 0
    sleep 1
  done
  testbed_die "$file stopped growing ($before -> $now lines)"
}

# job_field NAME FIELD: FIELD of the managed job NAME in $dom (jobs are
# listed by start time, and helper jobs come and go, so never pick a job by
# its position). Fails if there is no such job.
job_field() {
  m --json jobs "$dom" | python3 -c '
import json, sys
jobs = [j for j in json.load(sys.stdin)["jobs"] if j["name"] == sys.argv[1]]
if not jobs:
    sys.exit("no job %s" % sys.argv[1])
print(jobs[0].get(sys.argv[2], ""))' "$1" "$2"
}

assert_job_state() {
  local name=$1 expected=$2 got
  got=$(job_field "$name" state) || testbed_die "job $name is not listed"
  [ "$got" = "$expected" ] || testbed_die "job $name is '$got', expected '$expected'"
}
