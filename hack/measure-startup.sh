#!/bin/sh
# Measures the editor's start-up time (exec until /healthz answers) and its
# idle RSS, several runs. Usage: hack/measure-startup.sh [BINARY] [RUNS] [-- editor flags]
# Builds ./cmd/config-editor when no binary is given. Loopback only.
set -eu
BIN=${1:-}
RUNS=${2:-5}
PORT=${PORT:-18099}
if [ -z "$BIN" ]; then
	BIN=$(mktemp -d)/config-editor
	go build -o "$BIN" ./cmd/config-editor
fi
command -v curl >/dev/null || { echo "needs curl" >&2; exit 2; }
shift 2 2>/dev/null || true
[ "${1:-}" = "--" ] && shift
i=0
while [ "$i" -lt "$RUNS" ]; do
	i=$((i + 1))
	start=$(date +%s%N)
	CONFIG_EDITOR_PASSWORD=measure "$BIN" editor --addr "127.0.0.1:$PORT" "$@" 2>/dev/null &
	pid=$!
	n=0
	until curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz"; do
		n=$((n + 1))
		if [ "$n" -gt 5000 ] || ! kill -0 "$pid" 2>/dev/null; then
			echo "editor did not answer /healthz" >&2
			kill "$pid" 2>/dev/null || true
			exit 1
		fi
		sleep 0.001
	done
	end=$(date +%s%N)
	sleep 1 # idle
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
	echo "run $i: start-up $(( (end - start) / 1000000 )) ms, idle RSS $((rss / 1024)) MiB ($rss kB)"
	kill -TERM "$pid"
	wait "$pid" || true
done
