#!/bin/bash
# Benchmark: does guest RAM cost downtime? The same 64 MiB job switched by
# kexec in a 512 MiB guest and in a 4 GiB guest with 0 to 3 GiB of its RAM
# touched (by a process outside the managed jobs), side by side in one run:
#   never   molt's default: no whole-VM snapshot, the rollback layers;
#   always  --snapshot always: a live external snapshot before the freeze;
#   before  with MOLT_BEFORE set to an older molt binary, its --snapshot
#           always (an internal snapshot with memory inside the freeze
#           window, what every switch paid before the rollback layers).
#   meson test -C build --benchmark guest-ram   (or: bash tests/bench/guest-ram-bench.sh)
# Downtime is the job's own largest gap between its 10 ms ticks
# (molt-bench-hog). Writes CSV to $MOLT_BENCH_CSV (default
# guest-ram-bench.csv in the current directory) and prints a markdown
# table; scripts/plot-guest-ram draws docs/guest-ram.png from the CSV.
set -euo pipefail
source "$(dirname "$0")/../testbed/testbed.sh"
source "$(dirname "$0")/../testbed/assert.sh"
source "$(dirname "$0")/../testbed/jobs.sh"
testbed_init
export MOLT_STATE_DIR=${MOLT_STATE_DIR:-$(mktemp -d)}
m() { "$MOLT" -c "$MOLT_TEST_URI" "$@"; }
read -r -a kernels <"$MOLT_GUEST_DIR/kernels"
csv=${MOLT_BENCH_CSV:-$PWD/guest-ram-bench.csv}
job_mib=${MOLT_BENCH_JOB_MIB:-64}
# GUEST_MIB:TOUCHED_MIB points, in order.
points=${MOLT_BENCH_POINTS:-512:0 4096:0 4096:1024 4096:3072}
modes=${MOLT_BENCH_MODES:-never always${MOLT_BEFORE:+ before}}
# Each point and mode this many times, interleaved; the table shows medians
# (one switch's downtime varies by seconds on a shared host).
repeat=${MOLT_BENCH_REPEAT:-3}

current_kernel() { m --json info "$dom" | json_get kernel-release; }
other_kernel() { [ "$(current_kernel)" = "${kernels[0]}" ] && echo "${kernels[1]}" || echo "${kernels[0]}"; }
hog_status() { guest_cat "/var/lib/molt/$1.status"; }
hog_gap() { hog_status "$1" | sed -n 's/.*max_gap_s=\([0-9.]*\).*/\1/p'; }

# wait_status PATH: until a molt-bench-hog writes its first status there
# (touching gigabytes takes a while under TCG).
wait_status() {
  local path=$1 i
  # guest_run succeeds whatever the command's status: grep its output here.
  for i in $(seq 1 600); do
    guest_run cat "$path" 2>/dev/null | grep -q ticks= && return 0
    sleep 1
  done
  testbed_die "no status in $path after 600 s"
}

# touch_guest_ram MIB: a molt-bench-hog outside the managed jobs (started
# from a job without a PID namespace, re-parented to init when that job
# ends) holds MIB of touched memory; the kexec ends it.
touch_guest_ram() {
  local mib=$1
  [ "$mib" -gt 0 ] || return 0
  guest_run rm -f /tmp/fill.status >/dev/null
  m exec "$dom" --no-pid-namespace --name "fill-$RANDOM" -- sh -c \
    "/usr/lib/molt/molt-bench-hog $mib /tmp/fill.status </dev/null >/dev/null 2>&1 &" >/dev/null
  wait_status /tmp/fill.status
}

# The guest's used memory (MemTotal - MemAvailable) right before a switch:
# what the filler really holds, not what it was asked to.
used_mib() {
  guest_run cat /proc/meminfo | awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 }
    END { printf "%d\n", (t - a) / 1024 }'
}

echo "guest_mib,touched_mib,used_mib,snapshot,run,downtime_s,snapshot_s,prepare_s,checkpoint_s,switch_s,restore_s" >"$csv"
dom="" dom_mib=""
for point in $points; do
  guest_mib=${point%%:*} touched=${point#*:}
  if [ "$dom_mib" != "$guest_mib" ]; then
    [ -n "$dom" ] && testbed_destroy "$dom"
    MOLT_GUEST_MEMORY_MIB=$guest_mib testbed_start "ram$guest_mib" >/dev/null
    dom=$TESTBED_DOMAIN dom_mib=$guest_mib
    testbed_wait_agent "$dom" >/dev/null
  fi
  for run in $(seq 1 "$repeat"); do
    for mode in $modes; do
      touch_guest_ram "$touched"
      name="hog-$guest_mib-$touched-$mode-$run"
      m exec "$dom" --name "$name" -- /usr/lib/molt/molt-bench-hog "$job_mib" "/var/lib/molt/$name.status" >/dev/null
      wait_status "/var/lib/molt/$name.status"
      sleep 2
      used=$(used_mib)
      target=$(other_kernel)
      molt=$MOLT snapshot=$mode
      if [ "$mode" = before ]; then molt=$MOLT_BEFORE snapshot=always; fi
      report=$("$molt" -c "$MOLT_TEST_URI" --json --timeout 120 switch "$dom" --snapshot "$snapshot" \
                 --checkpoint-timeout 900 --kernel "/boot/vmlinuz-$target" \
                 --initrd "/boot/initrd.img-$target" 2>/dev/null)
      assert_json "$report" result committed
      sleep 2
      gap=$(hog_gap "$name")
      hog_status "$name" | grep -q '^ok' || testbed_die "hog $name memory corrupt after the switch"
      steps=$(python3 -c '
import json, sys
r = json.load(sys.stdin)
s = {x["step"]: x["seconds"] for x in r["steps"]}
print(",".join("%.2f" % s.get(k, 0.0) for k in ("snapshot", "prepare", "checkpoint", "switch", "restore")))' <<<"$report")
      echo "$guest_mib,$touched,$used,$mode,$run,$gap,$steps" >>"$csv"
      testbed_log "guest $guest_mib MiB, $touched MiB touched ($used MiB used), --snapshot $mode, run $run: downtime ${gap}s (snapshot,prepare,checkpoint,switch,restore: $steps)"
      m stop "$dom" "$name" --grace 0 >/dev/null
    done
  done
done

echo
python3 - "$csv" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keys = []
for r in rows:
    k = (int(r["guest_mib"]), int(r["touched_mib"]), r["snapshot"])
    if k not in keys:
        keys.append(k)
cols = ["downtime_s", "snapshot_s", "prepare_s", "checkpoint_s", "switch_s", "restore_s"]
print("| guest RAM | touched (used) | --snapshot | runs | job downtime, median (min-max) | snapshot | prepare | checkpoint | switch | restore |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
med = {}
for k in keys:
    sel = [r for r in rows if (int(r["guest_mib"]), int(r["touched_mib"]), r["snapshot"]) == k]
    m = {c: statistics.median(float(r[c]) for r in sel) for c in cols}
    med[k] = m["downtime_s"]
    used = statistics.median(int(r["used_mib"]) for r in sel)
    d = [float(r["downtime_s"]) for r in sel]
    print("| %d MiB | %d MiB (%d MiB) | %s | %d | %.1f s (%.1f-%.1f) | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s |"
          % (k[0], k[1], used, k[2], len(sel), m["downtime_s"], min(d), max(d), m["snapshot_s"],
             m["prepare_s"], m["checkpoint_s"], m["switch_s"], m["restore_s"]))
small = [k for k in keys if k[0] == min(x[0] for x in keys)]
big = [k for k in keys if k[0] == max(x[0] for x in keys) and k[1] == max(x[1] for x in keys)]
for mode in sorted({k[2] for k in keys}):
    s = [k for k in small if k[2] == mode]
    b = [k for k in big if k[2] == mode]
    if s and b and s[0] != b[0]:
        print("\n--snapshot %s: %d MiB guest with %d MiB touched / %d MiB guest: %.2fx"
              % (mode, b[0][0], b[0][1], s[0][0], med[b[0]] / med[s[0]]))
PY
echo "CSV: $csv"
