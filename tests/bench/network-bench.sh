#!/bin/bash
# Benchmark: a networked service through kernel switches, as its client
# sees it. Debian's redis-server runs as a job; a client on the host
# (redis-bench-client, one connection through a loopback port forward)
# does SET+GET rounds as fast as it can. For each switch (there and back,
# MOLT_BENCH_SWITCHES times): the client's rounds/s in the 10 s before the
# switch and in the 10 s after it, their ratio, its slowest round across
# the switch (the service's downtime as the client sees it) and the job's
# downtime from molt's report. At the end every key is read back on the
# same connection.
#   meson test -C build --benchmark network   (or: bash tests/bench/network-bench.sh)
# Prints a markdown table; MOLT_BENCH_CSV=FILE also writes the rows as CSV.
set -euo pipefail
source "$(dirname "$0")/../testbed/testbed.sh"
source "$(dirname "$0")/../testbed/assert.sh"
source "$(dirname "$0")/../testbed/jobs.sh"
bench_dir=$(cd "$(dirname "$0")" && pwd)
testbed_init
export MOLT_STATE_DIR=${MOLT_STATE_DIR:-$(mktemp -d)}
m() { "$MOLT" -c "$MOLT_TEST_URI" "$@"; }
switches=${MOLT_BENCH_SWITCHES:-2}
work=$(mktemp -d)
client_pid=
trap '[ -z "$client_pid" ] || kill "$client_pid" 2>/dev/null; rm -rf "$work"; testbed_cleanup' EXIT

testbed_start netbench >/dev/null
dom=$TESTBED_DOMAIN
testbed_wait_agent "$dom" >/dev/null
current_kernel() { m --json info "$dom" | json_get kernel-release; }
read -r -a kernels <"$MOLT_GUEST_DIR/kernels"
other_kernel() { [ "$(current_kernel)" = "${kernels[0]}" ] && echo "${kernels[1]}" || echo "${kernels[0]}"; }

m exec "$dom" --name redis -- redis-server --port 6379 --save "" --appendonly no \
  --protected-mode no --dir /var/lib/molt >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
virsh_t qemu-monitor-command "$dom" --hmp "hostfwd_add hostnet0 tcp:127.0.0.1:$port-:6379" >/dev/null \
  || testbed_die "cannot forward 127.0.0.1:$port to the guest's port 6379"
python3 "$bench_dir/redis-bench-client" "$port" "$work/log" &
client_pid=$!
# Warm up: the first 20 s are not measured.
sleep 30
[ -s "$work/log" ] || testbed_die "the redis client logged nothing in 30 s"

: >"$work/switches"
for i in $(seq 1 "$switches"); do
  target=$(other_kernel)
  t0=$(date +%s.%N)
  report=$(m --json --timeout 60 switch "$dom" --kernel "/boot/vmlinuz-$target" \
             --initrd "/boot/initrd.img-$target")
  t1=$(date +%s.%N)
  assert_json "$report" result committed
  downtime=$(python3 -c 'import json,sys; print([j for j in json.load(sys.stdin)["jobs"] if j["name"] == "redis"][0]["downtime-s"])' <<<"$report")
  echo "$target $t0 $t1 $downtime" >>"$work/switches"
  testbed_log "switch $i to $target: job downtime $downtime s"
  # The 10 s after are measured, and the next switch's 10 s before.
  sleep 25
done
kill -TERM "$client_pid"
wait "$client_pid" || testbed_die "the redis client failed"
client_pid=
done_line=$(cat "$work/log.done")
testbed_log "redis client at the end: $done_line"

python3 - "$work/log" "$work/switches" "${MOLT_BENCH_CSV:-}" "$done_line" <<'PY'
import sys
log, switches, csv_path, done = sys.argv[1:5]
rounds, worst = {}, {}
for line in open(log):
    t, n, w = line.split()
    rounds[int(t)] = int(n)
    worst[int(t)] = float(w)
def rate(start, end):
    return sum(rounds.get(s, 0) for s in range(start, end)) / (end - start)
rows = []
for line in open(switches):
    target, t0, t1, downtime = line.split()
    t0, t1 = float(t0), float(t1)
    before = rate(int(t0) - 10, int(t0))
    after = rate(int(t1) + 1, int(t1) + 11)
    slowest = max(worst.get(s, 0) for s in range(int(t0) - 1, int(t1) + 11)) / 1000
    rows.append((target, before, after, after / before if before else 0, slowest,
                 float(downtime), t1 - t0))
print()
print("| switch to | rounds/s 10 s before | rounds/s 10 s after | after/before | slowest round | job downtime | molt switch |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print("| %s | %.1f | %.1f | %.2fx | %.1f s | %.1f s | %.1f s |" % r)
print()
print("one connection throughout; %s" % done)
if csv_path:
    with open(csv_path, "w") as f:
        f.write("target,rounds_per_s_before,rounds_per_s_after,ratio,slowest_round_s,job_downtime_s,switch_s\n")
        for r in rows:
            f.write("%s,%.2f,%.2f,%.3f,%.3f,%.3f,%.3f\n" % r)
PY
