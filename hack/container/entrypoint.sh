#!/bin/sh
# Container entry point: the modes of Quay's own image.
#   config <password>   the web editor on :8080 (password also from CONFIG_EDITOR_PASSWORD)
#   registry            validate /conf/stack online, then serve the registry from it
#   validate [flags]    validate /conf/stack and exit (0 valid, 1 invalid, 2 unreadable)
#   anything else       passed to config-editor as a subcommand (version, print, schema, ...)
# The password never goes on a command line (visible in ps): it is handed
# over in the environment.
set -eu

CONFIG_DIR="${CONFIG_DIR:-/conf/stack}"
BIN="${CONFIG_EDITOR_BIN:-config-editor}"

usage() {
	cat >&2 <<USAGE
usage: <image> config <password> | registry | validate [--mode online|offline] | version | print | schema
  bundle directory: $CONFIG_DIR (set CONFIG_DIR to change)
USAGE
}

mode="${1:-}"
[ $# -gt 0 ] && shift

case "$mode" in
config)
	pw="${1:-${CONFIG_EDITOR_PASSWORD:-}}"
	[ $# -gt 0 ] && shift
	if [ -z "$pw" ]; then
		echo "config mode needs a password: <image> config <password> (or CONFIG_EDITOR_PASSWORD)" >&2
		exit 2
	fi
	CONFIG_EDITOR_PASSWORD="$pw"
	export CONFIG_EDITOR_PASSWORD
	if [ -f "$CONFIG_DIR/config.yaml" ]; then
		exec "$BIN" editor -c "$CONFIG_DIR" --addr "${CONFIG_EDITOR_ADDR:-:8080}" "$@"
	fi
	echo "no $CONFIG_DIR/config.yaml: starting a new setup session" >&2
	exec "$BIN" editor --addr "${CONFIG_EDITOR_ADDR:-:8080}" "$@"
	;;
registry)
	# the registry command validates the bundle online itself and refuses
	# to start on errors (IGNORE_VALIDATION=true skips the gate, loudly)
	exec "$BIN" registry -c "$CONFIG_DIR" "$@"
	;;
validate)
	exec "$BIN" validate -c "$CONFIG_DIR" "$@"
	;;
"" | help | -h | --help)
	usage
	[ -n "$mode" ] && exit 0
	exit 2
	;;
*)
	exec "$BIN" "$mode" "$@"
	;;
esac
