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

# Bad values of the issue-3 options: one line naming the option, status 2.
expect 2 "--trace-range" -- run "$HELLO" --trace "$tmp/t" --trace-range 0x2000-0x1000
expect 2 "--trace-range" -- run "$HELLO" --trace "$tmp/t" --trace-range nowhere
expect 2 "--trace-mode: unknown mode 'smm'" -- run "$HELLO" --trace "$tmp/t" --trace-mode long,smm
expect 2 "--trace-regs" -- run "$HELLO" --trace "$tmp/t" --trace-regs some
expect 2 "--trace-count needs --trace" -- run "$HELLO" --trace-count 5
expect 2 "--trace: cannot open" -- run "$HELLO" --trace "$tmp/no/such/dir/t"
expect 2 "trace-start" -- run "$HELLO" --trace "$tmp/t" --trace-start soon
printf 'this is not a database, just text that is long enough to look like a file\n%.0s' {1..20} > "$tmp/text.db"
expect 2 "not an SQLite database" -- run "$HELLO" --db "$tmp/text.db"
printf 'ram = lots\n' > "$tmp/badval.cfg"; expect 2 "ram" -- run "$HELLO" --config "$tmp/badval.cfg"
printf 'trace-mode = smm\ntrace = %s\n' "$tmp/t" > "$tmp/badmode.cfg"
expect 2 "--trace-mode" -- run "$HELLO" --config "$tmp/badmode.cfg"
expect 2 "'-5'.*'--max-insns'" -- run "$HELLO" --max-insns=-5
expect 2 "'1e3'.*'--ram'" -- run "$HELLO" --ram 1e3
printf 'max-cycles = -1\n' > "$tmp/neg.cfg"; expect 2 "neg.cfg.*'-1'.*max-cycles" -- run "$HELLO" --config "$tmp/neg.cfg"
expect 0 "instructions +16$" -- run "$HELLO" --max-insns 0x10
printf 'ram = 64\njust some words\n' > "$tmp/syntax.cfg"; expect 2 "syntax.cfg.*invalid line" -- run "$HELLO" --config "$tmp/syntax.cfg"
expect 0 "--trace-range LO-HI" -- --help
expect 0 "--db FILE" -- --help

# --trace: Capstone disassembly in the right mode, one line per instruction.
check() {  # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
"$NESTSIM" run "$HELLO" -q --trace "$tmp/full.trace" > /dev/null
insns=$("$NESTSIM" run "$HELLO" 2>&1 >/dev/null | awk '/^instructions/ {print $2}')
check "trace has one line per instruction ($insns)" \
  test "$(grep -vc ' ! ' "$tmp/full.trace")" = "$insns"
check "trace starts at the entry with Capstone text" \
  grep -qE '^0 prot32 0010:0010000c 000000000010000c  [0-9a-f ]+  [a-z]+' "$tmp/full.trace"
check "trace shows 'out dx, al' (COM1 output)" grep -q '  out dx, al$' "$tmp/full.trace"
check "trace shows device accesses by register" \
  grep -qE '^[0-9]+ long ! dev uart0\.thr w 0x[0-9a-f]+ \(port 0x3f8, 1 byte\)$' "$tmp/full.trace"
check "trace ends with the stop event" grep -qE '^[0-9]+ long ! stop exit-device$' "$tmp/full.trace"

# (hello.elf touches few pages; on paging-heavy code the stepped loop's per-instruction
# fetch translation can change the modelled TLB's misses, see sim/trace.h.)
check "tracing changes neither instructions nor simulated cycles (hello.elf)" \
  test "$("$NESTSIM" run "$HELLO" 2>&1 >/dev/null | grep -E '^(instructions|cycles) ')" = \
       "$("$NESTSIM" run "$HELLO" --trace /dev/null 2>&1 >/dev/null | grep -E '^(instructions|cycles) ')"

# Filters: start/count, range, mode; registers.
"$NESTSIM" run "$HELLO" -q --trace "$tmp/win.trace" --trace-start 100 --trace-count 7 > /dev/null
check "--trace-start 100 --trace-count 7 gives lines 100..106" \
  test "$(cut -d' ' -f1 "$tmp/win.trace" | tr '\n' ' ')" = "100 101 102 103 104 105 106 "
check "--trace-start/--trace-count lines equal the full trace's" \
  test "$(grep -v ' ! ' "$tmp/full.trace" | sed -n '101,107p')" = "$(grep -v ' ! ' "$tmp/win.trace")"
"$NESTSIM" run "$HELLO" -q --trace "$tmp/range.trace" --trace-range 0x100000-0x10000f > /dev/null
check "--trace-range keeps only addresses in range" \
  test -s "$tmp/range.trace" -a -z "$(grep -v ' ! ' "$tmp/range.trace" | awk '$4 < "0000000000100000" || $4 > "000000000010000f"')"
"$NESTSIM" run "$HELLO" -q --trace "$tmp/real.trace" --trace-mode real > /dev/null
check "--trace-mode real drops the 32- and 64-bit code" test -z "$(grep -v ' ! ' "$tmp/real.trace")"
"$NESTSIM" run "$HELLO" -q --trace "$tmp/regs.trace" --trace-count 8 --trace-regs > /dev/null
check "--trace-regs shows changed registers" grep -qE '^6 prot32 .*mov ax, 0x10 .*\| rax=' "$tmp/regs.trace"
"$NESTSIM" run "$HELLO" -q --trace "$tmp/all.trace" --trace-count 1 --trace-regs all > /dev/null
check "--trace-regs all shows every GPR and RFLAGS" \
  test "$(grep -o ' r[a-z0-9]*=' "$tmp/all.trace" | wc -l)" = 17

# The same options from a config file give the same trace.
printf 'trace = %s\ntrace-start = 100\ntrace-count = 7\nquiet = true\n' "$tmp/cfg.trace" > "$tmp/trace.cfg"
"$NESTSIM" run "$HELLO" --config "$tmp/trace.cfg" > /dev/null
check "config-file trace options equal the command line's" cmp -s "$tmp/cfg.trace" "$tmp/win.trace"

# --db creates the runs and statistics rows; --stats prints every statistic.
"$NESTSIM" run "$HELLO" -q --db "$tmp/r.db" > /dev/null
"$NESTSIM" run "$HELLO" -q --db "$tmp/r.db" --max-insns 1000 > /dev/null
check "--db appends one row per run" \
  test "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select group_concat(status || \":\" || stop_reason || \":\" || instructions) from runs").fetchone()[0])' "$tmp/r.db")" = "completed:exit-device:$insns,completed:limit:1000"
"$NESTSIM" run "$HELLO" --stats --max-insns 5000 > /dev/null 2> "$tmp/stats.txt"
check "--stats prints named statistics with units" \
  grep -qE '^core.instructions +5000  instructions +instructions retired' "$tmp/stats.txt"

# A triple fault (UD2 with no IDT) stops the run with status 4, reported in the
# summary, the trace and the database.
python3 "$(dirname "$0")/../db/make_loop_elf.py" "$tmp/ud2.elf" --ud2
expect 4 "stop reason +shutdown" -- run "$tmp/ud2.elf" --trace "$tmp/ud2.trace" --db "$tmp/ud2.db"
check "trace shows the nop, then #DF and the shutdown" \
  test "$(cut -d' ' -f2- "$tmp/ud2.trace" | sed 's/ *$//' | cut -c1-40 | tr '\n' '/')" = "long 0008:0000000000100078 0000000000100/long ! exception #DF/long ! shutdown triple fault/long ! stop shutdown (first exception #U/"
check "database records the shutdown and its first exception" \
  test "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select stop_reason, exit_status, fault_vector from runs").fetchone())' "$tmp/ud2.db")" = "('shutdown', 4, 6)"

# Exceptions delivered through the IDT appear as events with their error code.
nasm -f bin -o "$tmp/gp.bin" "$(dirname "$0")/trace_gp.asm"
python3 "$(dirname "$0")/../db/make_loop_elf.py" "$tmp/gp.elf" --flat "$tmp/gp.bin"
"$NESTSIM" run "$tmp/gp.elf" -q --trace "$tmp/gp.trace" --db "$tmp/gp.db" > /dev/null
check "trace logs #GP with its error code, then the handler" \
  test "$(grep -A1 ' ! exception' "$tmp/gp.trace" | cut -d' ' -f2- | cut -c1-44 | tr '\n' '/')" = "long ! exception #GP error=0x30 rip=0x1000b9/long 0008:00000000001000bb 00000000001000bb /"
check "database counts the delivered #GP" \
  test "$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select label, value from vector_stats where name = \"core.exceptions\"").fetchall())' "$tmp/gp.db")" = "[('#GP', 1)]"

# Progress: drawn on a terminal (script(1) gives one), never into a file or pipe.
python3 "$(dirname "$0")/../db/make_loop_elf.py" "$tmp/loop.elf"
"$NESTSIM" run "$tmp/loop.elf" --max-cycles 300000000 > /dev/null 2> "$tmp/noprogress.err"
check "no progress line when stderr is not a terminal" bash -c "! grep -q 'nestsim\]' '$tmp/noprogress.err'"
if command -v script > /dev/null; then
  script -qec "'$NESTSIM' run '$tmp/loop.elf' --max-cycles 300000000" "$tmp/tty.log" > /dev/null 2>&1
  check "progress line on a terminal (instructions, MIPS, ETA)" \
    grep -qE '\[nestsim\] [0-9]+ instructions, [0-9.]+ MIPS, .*ETA [0-9]+ s' "$tmp/tty.log"
fi

# Boot options (sim/boot/boot.h): a Multiboot kernel that reports what it was given.
nasm -f bin -o "$tmp/mb.bin" "$(dirname "$0")/multiboot_args.asm"
printf 'Module data' > "$tmp/mod"
expect 1 "stop reason +exit-device \(value 0\)" -- run "$tmp/mb.bin"
expect 27 "value 13" -- run "$tmp/mb.bin" --append "x Z" --module "$tmp/mod arg1 arg2"
expect 3 "value 1\)" -- run "$tmp/mb.bin" --module "$tmp/mb.bin"
printf 'mem = 64M\nappend = hello Z\nmodule = %s NAME=value\n' "$tmp/mod" > "$tmp/boot.cfg"
expect 27 "value 13" -- run "$tmp/mb.bin" --config "$tmp/boot.cfg"
expect 1 "image .*multiboot" -- run "$tmp/mb.bin" --mem 3G
# Bad images and boot options: one line naming the problem, status 2.
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[8] ^= 1; open(sys.argv[2], "wb").write(b)' "$tmp/mb.bin" "$tmp/badsum.bin"
expect 2 "bad checksum" -- run "$tmp/badsum.bin"
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[4] |= 8; b[8] -= 8; open(sys.argv[2], "wb").write(b)' "$tmp/mb.bin" "$tmp/flag3.bin"
expect 2 "requires features" -- run "$tmp/flag3.bin"
head -c 20 "$tmp/mb.bin" > "$tmp/cut.bin"; expect 2 "truncated" -- run "$tmp/cut.bin"
expect 2 "--module: cannot open '$tmp/none'" -- run "$tmp/mb.bin" --module "$tmp/none x"
head -c 3000000 /dev/zero > "$tmp/big"
expect 2 "--module '$tmp/big' \(3000000 bytes\) does not fit" -- run "$tmp/mb.bin" --mem 2M --module "$tmp/big"
truncate -s 4G "$tmp/huge"  # sparse: refused from its size, never read
expect 2 "larger than any guest memory" -- run "$tmp/huge"
expect 2 "--module: '$tmp/huge' .* is larger than any guest memory" -- run "$tmp/mb.bin" --module "$tmp/huge"
expect 2 "--initrd is for Linux and PVH" -- run "$tmp/mb.bin" --initrd "$tmp/mod"
expect 2 "--module is for Multiboot" -- run "$tmp/mb.bin" --format flat --module "$tmp/mod"
expect 2 "--format: unknown format 'coff'" -- run "$tmp/mb.bin" --format coff
expect 2 "--entry needs --format flat" -- run "$tmp/mb.bin" --entry 0x100000
expect 2 "--entry-mode: expected real, prot32 or long" -- run "$tmp/mb.bin" --format flat --entry-mode v86
expect 2 "firmware area" -- run "$tmp/mb.bin" --format flat --load-addr 0xE0000
expect 2 "--entry 0x200000 is outside" -- run "$tmp/mb.bin" --format flat --entry 0x200000
expect 2 "'zz'.*'--load-addr'" -- run "$tmp/mb.bin" --format flat --load-addr zz
expect 2 "--mem: expected a size" -- run "$tmp/mb.bin" --mem 4G
expect 2 "--mem: expected a size" -- run "$tmp/mb.bin" --mem 1T
expect 2 "--mem: expected a size" -- run "$tmp/mb.bin" --mem 1000K
expect 2 "--mem and --ram" -- run "$tmp/mb.bin" --mem 64M --ram 64
expect 2 "--ram must be" -- run "$tmp/mb.bin" --ram 4096
# A flat binary entered in 32-bit mode: EAX is not the Multiboot magic, so 0x40.
expect 129 "value 64" -- run "$tmp/mb.bin" --format flat --entry-mode prot32 --entry 0x100020

if [ $fails -ne 0 ]; then echo "$fails CLI checks failed"; exit 1; fi
echo "all CLI checks passed"
