#!/bin/bash
# scripts/meson-suite, which scripts/check runs every suite through, fails
# on what meson lets pass: a skipped test, an empty suite, too few tests;
# and passes a suite whose tests all pass.
set -euo pipefail
# Run by scripts/check, whose tally must not count these runs.
unset MOLT_SUITE_TALLY
runner=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/src"
cat >"$work/src/meson.build" <<'MESON'
project('suite-check', 'c')
sh = find_program('sh')
test('passes', sh, args : ['-c', 'exit 0'], suite : 'good')
test('passes-too', sh, args : ['-c', 'exit 0'], suite : 'good')
test('passes', sh, args : ['-c', 'exit 0'], suite : 'skipping')
test('skips', sh, args : ['-c', 'exit 77'], suite : 'skipping')
test('fails', sh, args : ['-c', 'exit 1'], suite : 'failing')
MESON
meson setup "$work/build" "$work/src" >/dev/null

expect() {
  local want=$1 rc
  shift
  set +e
  "$runner" "$work/build" "$@" >"$work/out" 2>&1
  rc=$?
  set -e
  if { [ "$want" = pass ] && [ "$rc" != 0 ]; } || { [ "$want" = fail ] && [ "$rc" = 0 ]; }; then
    cat "$work/out" >&2
    echo "meson-suite $*: exit $rc, expected to $want" >&2
    exit 1
  fi
}

expect pass good 2
expect fail good 3                  # fewer tests than promised
expect fail skipping 1              # a skip is a failure
grep -q "a skip is a failure" "$work/out"
expect fail failing 1
expect fail nothing-here 1          # an empty suite
grep -q "has 0 tests, expected at least 1" "$work/out"
MOLT_SUITE_TALLY=$work/tally "$runner" "$work/build" good 2 >/dev/null 2>&1
[ "$(cat "$work/tally")" = "2 0" ] || { echo "tally: $(cat "$work/tally")" >&2; exit 1; }
echo "meson-suite.sh: all checks passed"
