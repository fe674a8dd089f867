#!/usr/bin/env bash
# Checks nestsim's command line: bad input gives one clear line and status 2;
# the demo runs and passes through the exit-device status.
set -u
NESTSIM=$1
HELLO=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

expect() {  # expect STATUS PATTERN -- ARGS...
  local want=$1 pat=$2; shift 3
  "$NESTSIM" "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [ "$got" != "$want" ] || ! grep -qE -e "$pat" "$tmp/err" "$tmp/out"; then
    echo "FAIL: nestsim $* -> status $got (want $want), output:"; cat "$tmp/out" "$tmp/err"
    fails=$((fails + 1))
  else
    echo "ok: nestsim $*"
  fi
}

expect 2 "unrecognised option|unrecognized option" -- run "$HELLO" --bogus
expect 2 "missing IMAGE" -- run
expect 2 "unknown command" -- fly "$HELLO"
expect 2 "cannot open image" -- run "$tmp/does-not-exist.elf"
: > "$tmp/empty"; expect 2 "is empty" -- run "$tmp/empty"
printf 'hello' > "$tmp/junk"; expect 2 "unknown image format" -- run "$tmp/junk"
head -c 100 "$HELLO" > "$tmp/trunc.elf"; expect 2 "truncated" -- run "$tmp/trunc.elf"
expect 2 "does not fit|RAM" -- run "$HELLO" --ram 1
expect 2 "--ram must be" -- run "$HELLO" --ram 0
expect 2 "invalid|argument" -- run "$HELLO" --max-insns lots
expect 2 "unknown --cpu-model" -- run "$HELLO" --cpu-model pentium
printf 'ram = 64\nbogus = 1\n' > "$tmp/bad.cfg"; expect 2 "bogus" -- run "$HELLO" --config "$tmp/bad.cfg"
expect 2 "cannot open" -- run "$HELLO" --config "$tmp/none.cfg"
expect 0 "usage: nestsim run" -- --help
expect 0 "server" -- cpu-models
printf 'ram = 64\nmax-insns = 100\n' > "$tmp/ok.cfg"; expect 0 "instructions +100$" -- run "$HELLO" --config "$tmp/ok.cfg"

if [ $fails -ne 0 ]; then echo "$fails CLI checks failed"; exit 1; fi
echo "all CLI checks passed"
