#!/bin/sh
# Starts the editor on a loopback port, runs hack/loadtest against it
# (POST /api/v1/config/validate?mode=offline, concurrency 16) and stops it.
# Usage: hack/run-loadtest.sh BINARY [loadtest flags]
set -eu
BIN=${1:?usage: hack/run-loadtest.sh BINARY [loadtest flags]}
shift
PORT=${PORT:-18098}
PASS=loadtest-$$
CONFIG_EDITOR_PASSWORD=$PASS "$BIN" editor --addr "127.0.0.1:$PORT" --log-level error 2>/dev/null &
pid=$!
trap 'kill -TERM $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
n=0
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz"; do
	n=$((n + 1))
	if [ "$n" -gt 5000 ] || ! kill -0 "$pid" 2>/dev/null; then
		echo "editor did not answer /healthz" >&2
		exit 1
	fi
	sleep 0.001
done
go run ./hack/loadtest -url "http://127.0.0.1:$PORT" -p "$PASS" "$@"
