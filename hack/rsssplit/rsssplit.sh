#!/usr/bin/env bash
# Splits a command's resident memory, read at its exit_group, into the part
# that is the process's own (anonymous: heap, stacks, runtime) and the part
# that is its executable's file pages (shared, clean page cache, mapped
# around each first touch by the kernel's fault-around). Peak RSS
# (getrusage, /usr/bin/time %M) reports the sum; this tells which half moved.
#
#   hack/rsssplit/rsssplit.sh BIN ARGS...
#
# Needs gdb (stops the process at exit_group and reads
# /proc/PID/smaps_rollup). Prints one line: Rss, Anonymous, file-backed (KiB).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BIN ARGS..." >&2; exit 2; }
command -v gdb >/dev/null || { echo "rsssplit: gdb is not installed" >&2; exit 1; }
script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat >"$script" <<'GDB'
set pagination off
catch syscall exit_group
run >/dev/null 2>&1
python
import gdb
pid = gdb.selected_inferior().pid
vals = {}
for line in open('/proc/%d/smaps_rollup' % pid):
    k, _, v = line.partition(':')
    if k in ('Rss', 'Anonymous'):
        vals[k] = int(v.split()[0])
print('RSSSPLIT Rss %d KiB, Anonymous %d KiB, file-backed %d KiB' % (vals['Rss'], vals['Anonymous'], vals['Rss'] - vals['Anonymous']))
end
kill
quit
GDB
out=$(gdb -q -batch -x "$script" --args "$@" 2>&1) || true
line=$(grep '^RSSSPLIT ' <<<"$out" | sed 's/^RSSSPLIT //') || true
if [ -z "$line" ]; then
	echo "rsssplit: the command did not reach exit_group under gdb:" >&2
	echo "$out" | tail -5 >&2
	exit 1
fi
echo "$line"
