#!/bin/sh
# pg-test-server.sh: a throwaway PostgreSQL server for the test suites.
#
#   scripts/pg-test-server.sh start DIR   initdb into DIR/data and start a
#                                         server on a free port of 127.0.0.1;
#                                         prints its admin URL (checkpoints
#                                         every 30 s unless
#                                         PG_TEST_CHECKPOINTS=default)
#   scripts/pg-test-server.sh stop DIR    stop it (DIR stays; rm it after)
#   scripts/pg-test-server.sh down DIR    stop it (fast), keep the data
#   scripts/pg-test-server.sh crash DIR   stop it as a crash would (pg_ctl
#                                         -m immediate: no checkpoint)
#   scripts/pg-test-server.sh up DIR      start it again on the same port
#
# PostgreSQL comes from Debian's postgresql package, installed when missing
# (as root). As root the server runs as the postgres user; otherwise as
# the caller. It trusts local connections: it is for tests only, listens
# on 127.0.0.1 alone and keeps its socket in DIR.
set -eu
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|down|crash|up DIR" >&2; exit 2; }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "PostgreSQL is missing; as root run: apt-get install -y postgresql" >&2
		exit 1
	fi
	echo "installing: postgresql" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
	pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_ctl_() { # action [args]
	as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 300 "$@" >/dev/null
}

case "$cmd" in
start)
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	echo "$port" >"$dir/port"
	as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
		--locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; exit 1; }
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 256MB
CONF
	# Frequent checkpoints keep crash recovery (the crash tests) short on a
	# busy machine; durability is PostgreSQL's default. Benchmarks keep
	# Debian's checkpoints (PG_TEST_CHECKPOINTS=default), as a user would.
	[ "${PG_TEST_CHECKPOINTS:-frequent}" = default ] ||
		printf 'checkpoint_timeout = 30s\nmax_wal_size = 256MB\n' \
			>>"$dir/data/postgresql.conf"
	pg_ctl_ start
	echo "postgres://postgres@127.0.0.1:$port/postgres"
	;;
up)
	pg_ctl_ start
	;;
down)
	pg_ctl_ stop -m fast
	;;
crash)
	pg_ctl_ stop -m immediate
	;;
stop)
	[ -f "$dir/data/postmaster.pid" ] && pg_ctl_ stop -m fast
	;;
*)
	echo "usage: $0 start|stop|down|crash|up DIR" >&2
	exit 2
	;;
esac
