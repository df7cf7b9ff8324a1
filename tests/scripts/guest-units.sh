#!/bin/bash
# The guest's systemd units as the build configured them: systemd-analyze
# verify finds no syntax error, no missing binary and no ordering cycle (the
# early restore sits between the network lock and network.target).
#   guest-units.sh BUILD_DIR
set -euo pipefail
build=$1
units=(molt-agent.service molt-lock-network.service molt-restore.service)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in "${units[@]}"; do
  # The installed path, /usr/sbin/molt-agent, is not there on a build host.
  sed "s|^\(Exec[A-Za-z]*=\)[^ ]*/molt-agent|\1$build/guest-agent/molt-agent|" "$build/$unit" >"$work/$unit"
  grep -q "$build/guest-agent/molt-agent" "$work/$unit" || { echo "FAIL: $unit runs no molt-agent"; exit 1; }
done
cd "$work"
if ! out=$(systemd-analyze verify --man=no "${units[@]}" 2>&1) || [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify: $out"
  exit 1
fi
# The udev rule names the unit that exists.
grep -q 'ENV{SYSTEMD_WANTS}+="molt-agent.service"' "$(dirname "$0")/../../data/guest/60-molt-agent.rules" \
  || { echo "FAIL: the udev rule does not start molt-agent.service"; exit 1; }
echo "guest-units.sh: ${units[*]} verified"
