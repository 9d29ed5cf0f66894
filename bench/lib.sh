# lib.sh: what the benchmark scripts share; sourced, not run, from the
# top of the tree. bench_init sets what the others use: tmp (scratch dir),
# admin (the admin key optd is started with), DURATION, CONNS, THREADS
# (wrk's load) and pids (what start_optd started).

# What every benchmark does first: the packages, the binary, the load's
# defaults, a scratch dir, an admin key, and a trap that on exit stops
# everything started here, calls the script's on_exit if it has one, and
# removes the scratch dir (unless KEEP is set, to look at the logs).
bench_init() { # scratch-dir-prefix
	scripts/deps.sh bench
	make -s -j"$(nproc)" build/optd
	DURATION=${DURATION:-10s}
	CONNS=${CONNS:-64}
	THREADS=${THREADS:-2}
	tmp=$(mktemp -d "/tmp/$1.XXXXXX")
	admin=optd_bench_admin_$(random_hex 12)
	pids=()
	trap bench_cleanup EXIT
}

random_hex() { # bytes
	head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'
}

stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	pids=()
}

bench_cleanup() {
	stop_all
	stop_nginx
	[ "$(type -t on_exit)" = function ] && on_exit
	if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}

# A port free now, and never one this script was given before (kept in
# $tmp/ports): a port picked and let go can come back at the next call,
# and two servers of one run given the same port fail to start, or worse,
# one answers for the other.
free_port() {
	python3 - "$tmp/ports" <<'PY'
import socket, sys
path = sys.argv[1]
try:
    given = set(open(path).read().split())
except FileNotFoundError:
    given = set()
while True:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = str(s.getsockname()[1])
    s.close()
    if port not in given:
        break
with open(path, "a") as f:
    f.write(port + "\n")
print(port)
PY
}

machine() {
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME")"
}

# An admin API call to the optd on this port; prints the answer.
admin_api() { # port method path json
	curl -sf -X "$2" "http://127.0.0.1:$1$3" \
		-H "Authorization: Bearer $admin" \
		-H 'Content-Type: application/json' -d "$4"
}

# An API key with these scopes and a limit no load reaches; prints it.
# Braze's default limit (5,000 a minute) would turn most of a run into 429s.
bench_key() { # port name scope...
	local port=$1 name=$2 scopes
	shift 2
	scopes=$(printf '"%s",' "$@")
	admin_api "$port" POST /admin/api_keys \
		"{\"name\":\"$name\",\"scopes\":[${scopes%,}],\"rate_limit\":100000000}" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])'
}

# The bench group and a bench key through the optd on this port; sets key.
prepare() { # port
	local port=$1
	admin_api "$port" POST /admin/subscription_groups \
		'{"id":"bench-group","name":"Bench","channel":"sms"}' >/dev/null
	# The bench key's own limit is raised: Braze's default (5,000 a
	# minute) would turn most of the run into 429s.
	key=$(admin_api "$port" POST /admin/api_keys '{"name":"bench","scopes":["subscription.status.set"],"rate_limit":100000000}' |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
}

# optd on this database and port, in the background; returns once it
# answers /healthz.
start_optd() { # db port log [flags...]; $OPTD_PRELOAD is preloaded into it
	local db=$1 port=$2 log=$3
	shift 3
	OPTD_ADMIN_KEY=$admin LD_PRELOAD=${OPTD_PRELOAD:-} \
		"${OPTD_BIN:-./build/optd}" serve --port "$port" --db "$db" "$@" \
		>/dev/null 2>"$log" &
	pids+=($!)
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return
		sleep 0.1
	done
	echo "optd on $db did not start:" >&2
	cat "$log" >&2
	exit 1
}

# nginx on this port answering every request with one static response;
# its pid is in $tmp/nginx.pid.
start_nginx() { # port status content-type body
	mkdir -p "$tmp/nginx"
	cat >"$tmp/nginx.conf" <<CONF
worker_processes auto;
pid $tmp/nginx.pid;
error_log $tmp/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$1;
    location / {
      default_type $3;
      return $2 '$4';
    }
  }
}
CONF
	nginx -c "$tmp/nginx.conf" -p "$tmp/nginx"
}

# Stops the nginx start_nginx started, and waits for it to be gone, so
# that it takes no CPU from what is measured next.
stop_nginx() {
	local pid
	pid=$(cat "$tmp/nginx.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	rm -f "$tmp/nginx.pid"
}

# Load url with wrk and $WRK_SCRIPT (default bench/status_set.lua); print
# its figures and the machine's CPU split, and set ${label}_rps,
# ${label}_p99 (as wrk prints it), ${label}_ok (responses under 400) and
# ${label}_bad.
run_wrk() { # url label
	local stat0 stat1 rps p50 p99 bad all
	stat0=$(head -1 /proc/stat)
	OPTD_BENCH_KEY=${key:-} OPTD_BENCH_GROUP=bench-group \
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
		-s "${WRK_SCRIPT:-bench/status_set.lua}" "$1" >"$tmp/$2.wrk"
	stat1=$(head -1 /proc/stat)
	rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/$2.wrk")
	p50=$(awk '$1=="50%" {print $2}' "$tmp/$2.wrk")
	p99=$(awk '$1=="99%" {print $2}' "$tmp/$2.wrk")
	bad=$(awk '/Non-2xx/ {print $5}' "$tmp/$2.wrk")
	all=$(awk '/requests in/ {print $1}' "$tmp/$2.wrk")
	printf '%-10s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' \
		"$2" "$rps" "$p50" "$p99" "${bad:-0}"
	cpu_split "$2" "$stat0" "$stat1"
	eval "${2}_rps=$rps; ${2}_p99=$p99; ${2}_bad=${bad:-0}; ${2}_ok=$((all - ${bad:-0}))"
}

# How the machine's CPUs spent a run, from two "cpu" lines of /proc/stat
# (user nice system idle iowait irq softirq steal ...). Idle and iowait
# left during a load mean the server under test waited rather than
# worked: it was bound by latency (its disk, its pipeline), not by CPU.
cpu_split() { # label stat-before stat-after
	awk -v a="$2" -v b="$3" -v label="$1" 'BEGIN {
		n = split(a, x); split(b, y); total = 0
		for (i = 2; i <= 9 && i <= n; i++) { d[i] = y[i] - x[i]; total += d[i] }
		if (total <= 0) exit
		idle = d[5]; wait = d[6]; steal = d[9]
		printf "%-10s machine CPU: busy %.0f%%, idle %.0f%%, iowait %.0f%%, steal %.0f%%\n",
			label, 100 * (total - idle - wait - steal) / total,
			100 * idle / total, 100 * wait / total, 100 * steal / total }'
}

# wrk's latency (850.00us, 2.45ms, 1.02s) in milliseconds.
to_ms() {
	awk -v t="$1" 'BEGIN {
		if (t ~ /us$/) print t / 1000; else if (t ~ /ms$/) print t + 0;
		else if (t ~ /m$/) print t * 60000; else print t * 1000 }'
}
