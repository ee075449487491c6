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

# build_go_tool KEY VERSION BIN LABEL STEP [ARG...] builds one Go tool into
# $CACHE/KEY-VERSION/bin/BIN unless it is there already. It runs
# `STEP TMP [ARG...]` in a subshell, output to $LOGDIR/KEY.log; STEP must
# leave the binary in TMP/bin/BIN (a TMP/src it makes is removed afterwards).
# The finished directory replaces the cached one by a rename, so a build that
# fails or is interrupted never looks cached. BUILD_NOTE, if set, is added to
# the "building" line.
#
# `set -e` does not stop a STEP: bash ignores it inside a function whose
# status is tested, as every caller here does (`build_x || fail=1`). So each
# STEP chains its commands with && and fails with the first that fails.
build_go_tool() {
	local key="$1" version="$2" bin="$3" label="$4" step="$5"
	shift 5
	local dir="$CACHE/$key-$version" log="$LOGDIR/$key.log" t
	if [ -x "$dir/bin/$bin" ]; then
		ts "$label $version: cached"
		return 0
	fi
	t=$(date +%s)
	ts "$label $version: building${BUILD_NOTE:-} (log $log)"
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin" || return 1
	if ! ("$step" "$dir.tmp" "$@") >"$log" 2>&1; then
		tail -30 "$log" >&2
		return 1
	fi
	rm -rf "$dir.tmp/src" "$dir" && mv "$dir.tmp" "$dir" || return 1
	ts "$label: built in $(($(date +%s) - t))s"
}

# go_install_step TMP PACKAGE@VERSION: `go install` into TMP/bin.
go_install_step() {
	GOBIN="$1/bin" $NICE go install "$2"
}

# module_source_step TMP MODULE@VERSION: copy the module's source to TMP/src
# (writable) and cd there, for tools that cannot be `go install`ed.
module_source_step() {
	local src
	src=$(GOFLAGS=-mod=mod go mod download -json "$2" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') &&
		[ -n "$src" ] && [ -d "$src" ] || {
		echo "go mod download $2: no module source" >&2
		return 1
	}
	cp -r "$src" "$1/src" && chmod -R u+w "$1/src" && cd "$1/src"
}

# ------------------------------------------------------------- versitygw ---
build_versitygw() {
	build_go_tool versitygw "$VERSITYGW_VERSION" versitygw versitygw \
		go_install_step "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION"
}

# ----------------------------------------------------------------- Clair ---
# `go install` is refused for clair (replace directives): build from the
# module source instead.
clair_step() {
	module_source_step "$1" "github.com/quay/clair/v4@$CLAIR_VERSION" &&
		$NICE go build -o "$1/bin/clair" ./cmd/clair
}
build_clair() {
	build_go_tool clair "$CLAIR_VERSION" clair clair clair_step
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
	BUILD_NOTE=" from hack/kube" build_go_tool "$1" "$KUBE_VERSION" "$1" "$1" kube_step "$1"
}

# kube_step TMP NAME
kube_step() {
	local name="$2" minor="${KUBE_VERSION#v1.}"
	minor="${minor%%.*}"
	cd "$REPO/hack/kube" &&
		grep -q "k8s.io/kubernetes $KUBE_VERSION" go.mod &&
		$NICE go build -ldflags "-s -w \
		-X k8s.io/component-base/version.gitVersion=$KUBE_VERSION \
		-X k8s.io/component-base/version.gitMajor=1 \
		-X k8s.io/component-base/version.gitMinor=$minor \
		-X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION" \
		-o "$1/bin/$name" "k8s.io/kubernetes/cmd/$name" ||
		return 1
	case "$name" in
	kubectl) "$1/bin/$name" version --client ;;
	*) "$1/bin/$name" --version ;;
	esac
}

# ----------------------------------------------------------------- crane ---
build_crane() {
	build_go_tool crane "$CRANE_VERSION" crane crane \
		go_install_step "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION"
}

# ------------------------------------------------ OCI conformance suite ---
# a test binary, built from the module source (it is a nested module of
# distribution-spec, not installable)
oci_conformance_step() {
	module_source_step "$1" "github.com/opencontainers/distribution-spec/conformance@$OCI_CONFORMANCE_VERSION" &&
		$NICE go test -c -o "$1/bin/conformance.test" .
}
build_oci_conformance() {
	build_go_tool oci-conformance "$OCI_CONFORMANCE_VERSION" conformance.test "OCI conformance" oci_conformance_step
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
