#!/bin/sh
# deps.sh: install the Debian packages optd needs, when they are missing.
#
#   scripts/deps.sh run     to build and run optd
#   scripts/deps.sh test    also what the test suites need
#   scripts/deps.sh bench   also what the benchmarks need
#
# As root it runs apt-get; otherwise it prints the apt-get line to run.
set -eu

run_pkgs="build-essential pkg-config libmicrohttpd-dev libjansson-dev
libsqlite3-dev libpq-dev libcurl4-openssl-dev libssl-dev libphonenumber-dev
libicu-dev"
test_pkgs="libcmocka-dev clang libclang-rt-14-dev python3 curl postgresql
nginx nodejs npm kannel kannel-extras chromium"
bench_pkgs="nginx wrk sqlite3 curl postgresql kannel kannel-extras"

case "${1:-run}" in
run) want="$run_pkgs" ;;
test) want="$run_pkgs $test_pkgs" ;;
bench) want="$run_pkgs $bench_pkgs" ;;
*) echo "usage: $0 run|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	# Node.js from elsewhere (NodeSource's nodejs carries its own npm)
	# does as well as Debian's, and Debian's npm cannot join it.
	case $p in
	nodejs) command -v node >/dev/null 2>&1 && continue ;;
	npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "optd needs these Debian packages; as root, run:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
