#!/bin/bash
# Every command 'molt help' lists has its entry in the man page, and every
# option its --help shows is named there too (a command added without its
# documentation fails here).
#   man-commands.sh MOLT MAN_PAGE
set -euo pipefail
molt=$1 man=$2
commands=$("$molt" help | awk '/^Commands:/ { on = 1; next } on && NF == 0 { exit } on { print $1 }')
[ -n "$commands" ] || { echo "FAIL: 'molt help' lists no commands"; exit 1; }
status=0
for cmd in $commands; do
  grep -qE "^\.B $cmd( |$)" "$man" || { echo "FAIL: molt.1 has no entry for '$cmd'"; status=1; }
  for opt in $("$molt" "$cmd" --help | grep -oE '^  (-[a-zA-Z], )?--[a-z][a-z-]*' | grep -oE -- '--[a-z-]+'); do
    case "$opt" in --help|--connect|--json|--timeout|--verbose) continue ;; esac
    grep -qF -- "${opt//-/\\-}" "$man" \
      || { echo "FAIL: molt.1 does not mention '$cmd $opt'"; status=1; }
  done
done
[ "$status" = 0 ] && echo "man-commands.sh: $(wc -w <<<"$commands") commands and their options documented"
exit "$status"
