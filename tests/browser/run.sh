#!/bin/bash
# run.sh: optd's real-browser tests. Installs what is missing (Chromium,
# Node.js and npm from Debian; playwright-core at the version pinned in
# package-lock.json, into tests/browser/node_modules), then runs every
# tests/browser/test_*.mjs against the optd binary given, one line per
# test and last "N passed, N failed"; exits non-zero when a test fails or
# a step cannot run.
#
#   tests/browser/run.sh build/optd
set -eu
bin=${1:-build/optd}
cd "$(dirname "$0")/../.."
dir=tests/browser

if [ ! -x "$bin" ]; then
	echo "no optd binary at $bin (run make first)" >&2
	echo "0 passed, 1 failed"
	exit 2
fi
need=""
[ -x /usr/bin/chromium ] || need="$need chromium"
command -v node >/dev/null || need="$need nodejs"
command -v npm >/dev/null || need="$need npm"
if [ -n "$need" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "as root, run: apt-get install -y$need" >&2
		exit 2
	fi
	echo "installing:$need" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $need >/dev/null
fi

want=$(node -p "require('./$dir/package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('./$dir/node_modules/playwright-core/package.json').version } catch { '' }")
if [ "$have" != "$want" ]; then
	echo "installing playwright-core $want" >&2
	npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
fi

exec node "$dir/lib.mjs" "$bin" "$dir"/test_*.mjs
