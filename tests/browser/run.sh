#!/bin/sh
# Browser tests of the editor UI: Debian chromium + playwright-core (pinned in
# package-lock.json). Never downloads a browser. Exit non-zero on failure; in
# CI (CI=true) a missing browser is a failure, never a skip.
set -eu
cd "$(dirname "$0")"
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		apt-get install -y chromium >/dev/null || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
	elif [ "${CI:-}" = true ]; then
		echo "run.sh: chromium is missing and cannot be installed (not root)" >&2
		exit 1
	fi
fi
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts >/dev/null
# One editor binary for every test file (harness.mjs starts it).
if [ -z "${CONFIG_EDITOR_BIN:-}" ]; then
	bindir=$(mktemp -d)
	trap 'rm -rf "$bindir"' EXIT
	(cd ../.. && go build -o "$bindir/config-editor" ./cmd/config-editor)
	CONFIG_EDITOR_BIN=$bindir/config-editor
	export CONFIG_EDITOR_BIN
fi
node --test --test-concurrency=1 --test-reporter=spec editor.test.mjs verdicts.test.mjs
node --test --test-concurrency=1 --test-reporter=spec pages-ux.test.mjs workcopy.test.mjs
# Operator mode: a Go test starts a real kube-apiserver with a QuayRegistry,
# the editor in Operator mode and a stand-in for the Operator, then runs
# operator.test.mjs against them.
cd ../..
CONFIG_EDITOR_BROWSER=1 go test -count=1 -run '^TestBrowserOperatorMode$' -v ./internal/editor/
