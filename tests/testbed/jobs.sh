# Workloads and checks shared by the e2e tests (bash; needs testbed.sh and
# assert.sh, and m() and $dom set by the caller).

# The sequence job: writer | reader. The reader holds the file open (not
# O_APPEND: its position must survive) and appends "N EPOCH" per number.
SEQ_FILE=/var/lib/molt/seq.txt
SEQ_PERIOD=0.2
start_sequence_job() {
  local name=$1 file=${2:-$SEQ_FILE}
  m exec "$dom" --name "$name" -- sh -c "exec 3>$file; i=0; while :; do echo \$i; i=\$((i+1)); sleep $SEQ_PERIOD; done | while read n; do echo \"\$n \$(date +%s)\" >&3; done" >/dev/null
}

# guest_cat PATH: the file's content, read by a short job in the guest.
guest_cat() {
  local name="cat-$RANDOM" i state
  m exec "$dom" --name "$name" -- cat "$1" >/dev/null
  for i in $(seq 1 50); do
    state=$(m --json jobs "$dom" | python3 -c '
import json, sys
jobs = json.load(sys.stdin)["jobs"]
print([j["state"] for j in jobs if j["name"] == sys.argv[1]][0])' "$name")
    [ "$state" = exited ] && break
    sleep 0.2
  done
  m logs "$dom" "$name" --bytes 65536
}

# check_sequence CONTENT MAX_GAP_S: numbers from 0, consecutive, no
# duplicate; no gap between consecutive lines above MAX_GAP_S. Prints
# "LINES MAXGAP".
check_sequence() {
  python3 - "$2" <<PY || testbed_die "sequence check failed"
import sys
max_gap = float(sys.argv[1])
lines = [l.split() for l in """$1""".strip().splitlines() if l.strip()]
nums = [int(l[0]) for l in lines]
times = [int(l[1]) for l in lines]
if nums[0] != 0:
    sys.exit("sequence starts at %d, not 0 (reset?)" % nums[0])
for a, b in zip(nums, nums[1:]):
    if b != a + 1:
        sys.exit("sequence jumps from %d to %d (lost or duplicated numbers)" % (a, b))
gap = max(b - a for a, b in zip(times, times[1:])) if len(times) > 1 else 0
if gap > max_gap:
    sys.exit("a gap of %d s, more than the allowed %.1f s" % (gap, max_gap))
print(len(nums), gap)
PY
}

# wait_sequence_grows FILE N: until the file has N more lines than now.
wait_sequence_grows() {
  local file=$1 more=$2 before now i
  before=$(guest_cat "$file" | wc -l)
  for i in $(seq 1 60); do
    now=$(guest_cat "$file" | wc -l)
    [ "$now" -ge $((before + more)) ] && return 0
    sleep 1
  done
  testbed_die "$file stopped growing ($before -> $now lines)"
}

# job_field NAME FIELD: FIELD of the managed job NAME in $dom (jobs are
# listed by start time, and helper jobs such as guest_cat's come and go, so
# never pick a job by its position).
job_field() {
  m --json jobs "$dom" | python3 -c '
import json, sys
jobs = [j for j in json.load(sys.stdin)["jobs"] if j["name"] == sys.argv[1]]
print(jobs[0].get(sys.argv[2], "") if jobs else "(no job %s)" % sys.argv[1])' "$1" "$2"
}

assert_job_state() {
  local name=$1 expected=$2 got
  got=$(job_field "$name" state)
  [ "$got" = "$expected" ] || testbed_die "job $name is '$got', expected '$expected'"
}
