#!/usr/bin/env bash
# Builds Quay's own config-tool (quay/quay, config-tool/, module
# github.com/quay/quay/config-tool) as a benchmark baseline for
# `validate --mode online` (hack/oldtool/compare). Not used by the tests or CI.
#
#   hack/oldtool/build.sh [QUAY_GIT]
#
# QUAY_GIT is a git directory of quay/quay (a clone or a bare mirror); the
# default is $QUAY_GIT, else /work/.mirror/quay+quay/repo. The tree at
# QUAY_COMMIT (pinned below) is exported with `git archive`, so the clone may
# be at any commit that contains it. Modules come from the Go module proxy as
# for any `go build`. The binary goes to
# ${XDG_CACHE_HOME:-~/.cache}/config-editor-bench/config-tool; the exact
# commit it was built from is written next to it (config-tool.commit).
set -euo pipefail

QUAY_COMMIT=${QUAY_COMMIT:-ffba0c70e2d8d522290a4fbbaa704dbf2fc37f34}
src=${1:-${QUAY_GIT:-/work/.mirror/quay+quay/repo}}
cache=${XDG_CACHE_HOME:-$HOME/.cache}/config-editor-bench
out=$cache/config-tool

if ! git --git-dir="$src" cat-file -e "$QUAY_COMMIT^{commit}" 2>/dev/null &&
   ! git -C "$src" cat-file -e "$QUAY_COMMIT^{commit}" 2>/dev/null; then
	echo "build.sh: $src is not a git directory of quay/quay holding $QUAY_COMMIT;" >&2
	echo "  git clone https://github.com/quay/quay /some/where && hack/oldtool/build.sh /some/where" >&2
	exit 1
fi
gitdir=$src
[ -d "$src/.git" ] && gitdir=$src/.git

mkdir -p "$cache"
work=$(mktemp -d "$cache/src.XXXXXX")
trap 'rm -rf "$work"' EXIT
git --git-dir="$gitdir" archive "$QUAY_COMMIT" config-tool | tar -x -C "$work"
cd "$work/config-tool"
# The module asks for go 1.25; a newer local toolchain builds it as is.
# go-sqlite3 (pulled in by the config-tool's database group) needs cgo.
CGO_ENABLED=1 GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" ./cmd/config-tool
mv "$out.tmp" "$out"
echo "$QUAY_COMMIT" >"$out.commit"
echo "built $out from quay/quay@$QUAY_COMMIT ($(go version | cut -d' ' -f3))"
