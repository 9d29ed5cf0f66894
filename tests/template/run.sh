#!/bin/bash
# run.sh: compare optd's template engine (src/core/template.c) with
# liquidjs on every case of tests/template/cases.json. Installs what is
# missing (Node.js and npm from Debian, liquidjs at the version pinned in
# package-lock.json, into tests/template/node_modules), builds the
# renderer, and prints each mismatch, then "N passed, N failed"; exits
# non-zero when a case fails or a step cannot run.
set -eu
cd "$(dirname "$0")/../.."
dir=tests/template

scripts/deps.sh run >&2
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if [ "$(id -u)" != 0 ]; then
		echo "as root, run: apt-get install -y nodejs npm" >&2
		exit 2
	fi
	echo "installing: nodejs npm" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

want=$(node -p "require('./$dir/package-lock.json').packages['node_modules/liquidjs'].version")
have=$(node -p "try { require('./$dir/node_modules/liquidjs/package.json').version } catch { '' }")
if [ "$have" != "$want" ]; then
	echo "installing liquidjs $want" >&2
	npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error >&2
fi

make -s -j2 tools >&2
node "$dir/compare.mjs" build/tests/template/tpl_render_cli "$dir/cases.json"
