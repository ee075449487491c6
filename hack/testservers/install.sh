#!/usr/bin/env bash
# Installs everything the integration tests (internal/testenv) need on a fresh
# machine of the project's kind (Debian 12, Go, Node.js/npm; root).
#
#   hack/testservers/install.sh
#
# Idempotent and safe to run concurrently (flock on $CACHE/.lock). Debian
# packages go to the system; the rest is built once into a version-keyed cache:
#
#   ${CONFIG_EDITOR_TESTCACHE:-$HOME/.cache/config-editor-testservers}/
#     versitygw-v1.8.0/bin/versitygw
#     clair-v4.9.0/bin/clair
#     azurite-3.37.0/node_modules/.bin/azurite-blob
#     kube-apiserver-v1.36.3/bin/kube-apiserver   (from hack/kube)
#     kubectl-v1.36.3/bin/kubectl                 (from hack/kube)
#     crane-v0.22.1/bin/crane
#     oci-conformance-<version>/bin/conformance.test
#
# Exits non-zero if any step fails.
set -euo pipefail

VERSITYGW_VERSION=v1.8.0
CLAIR_VERSION=v4.9.0
AZURITE_VERSION=3.37.0
KUBE_VERSION=v1.36.3
CRANE_VERSION=v0.22.1
# the OCI distribution-spec conformance suite (a nested module; pseudo-version)
OCI_CONFORMANCE_VERSION=v0.0.0-20260831232431-97274622c111

# The repository root (hack/kube is the wrapper module of kube-apiserver).
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

CACHE="${CONFIG_EDITOR_TESTCACHE:-$HOME/.cache/config-editor-testservers}"
mkdir -p "$CACHE"
LOGDIR="$CACHE/logs"
mkdir -p "$LOGDIR"

exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	echo "install.sh: another install holds $CACHE/.lock; waiting..."
	flock 9
fi

T0=$(date +%s)
ts() { echo "[$(($(date +%s) - T0))s] $*"; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# ---------------------------------------------------------------- Debian ---
APT_PKGS=(postgresql postgresql-contrib mariadb-server mariadb-client
	redis-server redis-tools slapd ldap-utils etcd-server openssl ca-certificates
	util-linux procps curl skopeo)
# Node.js + npm come with the machine image (NodeSource build, which conflicts
# with Debian's npm): install Debian's nodejs/npm only if node is absent.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	APT_PKGS+=(nodejs npm)
fi
missing=()
for p in "${APT_PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	ts "apt: installing ${missing[*]}"
	t=$(date +%s)
	# Update the lists only when the candidates are unknown (fresh machine).
	if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
		$SUDO apt-get update -q
	fi
	if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"; then
		# Stale lists: refresh once and retry.
		$SUDO apt-get update -q
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
	fi
	ts "apt: done in $(($(date +%s) - t))s"
else
	ts "apt: all packages present"
fi
# slapd's package may start a system slapd listening on every interface
# (:389); the tests never use it, so stop it if this run just installed it.
if [[ " ${missing[*]:-} " == *" slapd "* ]] && [ -e /run/slapd/slapd.pid ]; then
	ts "stopping the system slapd started by the package"
	$SUDO invoke-rc.d slapd stop >/dev/null 2>&1 || $SUDO kill "$(cat /run/slapd/slapd.pid)" || true
fi

# etcd-server's package enables a system etcd (on localhost:2379); the tests
# start their own, so stop it if this run just installed it and it runs.
if [[ " ${missing[*]:-} " == *" etcd-server "* ]] && pgrep -x etcd >/dev/null 2>&1; then
	ts "stopping the system etcd started by the package"
	$SUDO invoke-rc.d etcd stop >/dev/null 2>&1 || true
fi

# Go build settings: one shared module cache, low priority.
export GOFLAGS="${GOFLAGS:-} -trimpath"
NICE="nice -n 10"

# ------------------------------------------------------------- versitygw ---
build_versitygw() {
	local dir="$CACHE/versitygw-$VERSITYGW_VERSION"
	if [ -x "$dir/bin/versitygw" ]; then
		ts "versitygw $VERSITYGW_VERSION: cached"
		return 0
	fi
	local t=$(date +%s)
	ts "versitygw $VERSITYGW_VERSION: building (log $LOGDIR/versitygw.log)"
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
	if ! GOBIN="$dir.tmp/bin" $NICE go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >"$LOGDIR/versitygw.log" 2>&1; then
		tail -30 "$LOGDIR/versitygw.log" >&2
		return 1
	fi
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
	ts "versitygw: built in $(($(date +%s) - t))s"
}

# ----------------------------------------------------------------- Clair ---
build_clair() {
	local dir="$CACHE/clair-$CLAIR_VERSION"
	if [ -x "$dir/bin/clair" ]; then
		ts "clair $CLAIR_VERSION: cached"
		return 0
	fi
	local t=$(date +%s)
	ts "clair $CLAIR_VERSION: building (log $LOGDIR/clair.log)"
	(
		set -e
		# `go install` is refused for clair (replace directives): build from
		# the module source instead.
		go mod download -json "github.com/quay/clair/v4@$CLAIR_VERSION" >/dev/null
		src="$(go env GOMODCACHE)/github.com/quay/clair/v4@$CLAIR_VERSION"
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
		cp -r "$src" "$dir.tmp/src" && chmod -R u+w "$dir.tmp/src"
		cd "$dir.tmp/src"
		$NICE go build -o "$dir.tmp/bin/clair" ./cmd/clair
	) >"$LOGDIR/clair.log" 2>&1 || {
		tail -30 "$LOGDIR/clair.log" >&2
		return 1
	}
	rm -rf "$dir.tmp/src"
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
	ts "clair: built in $(($(date +%s) - t))s"
}

# --------------------------------------------------------------- Azurite ---
install_azurite() {
	local dir="$CACHE/azurite-$AZURITE_VERSION"
	if [ -x "$dir/node_modules/.bin/azurite-blob" ]; then
		ts "azurite $AZURITE_VERSION: cached"
		return 0
	fi
	local t=$(date +%s)
	ts "azurite $AZURITE_VERSION: npm install (log $LOGDIR/azurite.log)"
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
	(
		cd "$dir.tmp"
		echo '{"name":"config-editor-testservers","private":true}' >package.json
		$NICE npm install --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION"
	) >"$LOGDIR/azurite.log" 2>&1 || {
		tail -30 "$LOGDIR/azurite.log" >&2
		return 1
	}
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
	ts "azurite: installed in $(($(date +%s) - t))s"
}

# -------------------------------------------------------- kube-apiserver ---
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces the staging
# modules with ./staging/...): hack/kube is a wrapper module that requires it
# and replaces each staging module with its published v0 version.
build_kube() {
	build_kube_bin kube-apiserver || return 1
	build_kube_bin kubectl
}

# build_kube_bin NAME builds k8s.io/kubernetes/cmd/NAME into
# $CACHE/NAME-$KUBE_VERSION/bin.
build_kube_bin() {
	local name="$1"
	local dir="$CACHE/$name-$KUBE_VERSION"
	if [ -x "$dir/bin/$name" ]; then
		ts "$name $KUBE_VERSION: cached"
		return 0
	fi
	local t=$(date +%s)
	ts "$name $KUBE_VERSION: building from hack/kube (log $LOGDIR/$name.log)"
	local minor="${KUBE_VERSION#v1.}"
	minor="${minor%%.*}"
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
	(
		set -e
		cd "$REPO/hack/kube"
		grep -q "k8s.io/kubernetes $KUBE_VERSION" go.mod
		$NICE go build -ldflags "-s -w \
			-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
			-X k8s.io/component-base/version.gitMajor=1 \
			-X k8s.io/component-base/version.gitMinor=$minor \
			-X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION" \
			-o "$dir.tmp/bin/$name" "k8s.io/kubernetes/cmd/$name"
		case "$name" in
		kubectl) "$dir.tmp/bin/$name" version --client ;;
		*) "$dir.tmp/bin/$name" --version ;;
		esac
	) >"$LOGDIR/$name.log" 2>&1 || {
		tail -30 "$LOGDIR/$name.log" >&2
		return 1
	}
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
	ts "$name: built in $(($(date +%s) - t))s"
}

# The three Go builds each use both cores; run them one after the other while
# ----------------------------------------------------------------- crane ---
build_crane() {
	local dir="$CACHE/crane-$CRANE_VERSION"
	if [ -x "$dir/bin/crane" ]; then
		ts "crane $CRANE_VERSION: cached"
		return 0
	fi
	local t=$(date +%s)
	ts "crane $CRANE_VERSION: building (log $LOGDIR/crane.log)"
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
	if ! GOBIN="$dir.tmp/bin" $NICE go install "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" >"$LOGDIR/crane.log" 2>&1; then
		tail -30 "$LOGDIR/crane.log" >&2
		return 1
	fi
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
	ts "crane: built in $(($(date +%s) - t))s"
}

# ------------------------------------------------ OCI conformance suite ---
build_oci_conformance() {
	local dir="$CACHE/oci-conformance-$OCI_CONFORMANCE_VERSION"
	if [ -x "$dir/bin/conformance.test" ]; then
		ts "OCI conformance $OCI_CONFORMANCE_VERSION: cached"
		return 0
	fi
	local t=$(date +%s)
	ts "OCI conformance $OCI_CONFORMANCE_VERSION: building (log $LOGDIR/oci-conformance.log)"
	(
		set -e
		# a test binary, built from the module source (it is a nested
		# module of distribution-spec, not installable)
		src=$(GOFLAGS=-mod=mod go mod download -json "github.com/opencontainers/distribution-spec/conformance@$OCI_CONFORMANCE_VERSION" |
			sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -n "$src" ] && [ -d "$src" ]
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
		cp -r "$src" "$dir.tmp/src" && chmod -R u+w "$dir.tmp/src"
		cd "$dir.tmp/src"
		$NICE go test -c -o "$dir.tmp/bin/conformance.test" .
	) >"$LOGDIR/oci-conformance.log" 2>&1 || {
		tail -30 "$LOGDIR/oci-conformance.log" >&2
		return 1
	}
	rm -rf "$dir.tmp/src"
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
	ts "OCI conformance: built in $(($(date +%s) - t))s"
}

# The two Go builds each use both cores; run them one after the other while
# npm (mostly network and disk) runs beside them.
fail=0
install_azurite &
az_pid=$!
build_versitygw || fail=1
build_clair || fail=1
build_kube || fail=1
build_crane || fail=1
build_oci_conformance || fail=1
wait "$az_pid" || fail=1

if [ "$fail" != 0 ]; then
	ts "install.sh: FAILED (logs in $LOGDIR)"
	exit 1
fi
ts "install.sh: all done; cache $CACHE"
