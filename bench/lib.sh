# lib.sh: what the benchmark scripts share; sourced, not run.
# Callers set tmp (scratch dir), admin (the admin key optd was started
# with), and DURATION, CONNS, THREADS (wrk's load) before using these.

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The bench group and a bench key through the optd on this port; sets key.
prepare() { # port
	local port=$1
	api() { curl -sf -X "$1" "http://127.0.0.1:$port$2" \
		-H "Authorization: Bearer $admin" \
		-H 'Content-Type: application/json' -d "$3"; }
	api POST /admin/subscription_groups \
		'{"id":"bench-group","name":"Bench","channel":"sms"}' >/dev/null
	# The bench key's own limit is raised: Braze's default (5,000 a
	# minute) would turn most of the run into 429s.
	key=$(api POST /admin/api_keys '{"name":"bench","scopes":["subscription.status.set"],"rate_limit":100000000}' |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
}

# Load url with wrk; print a line and set ${label}_rps and ${label}_p99.
run_wrk() { # url label
	OPTD_BENCH_KEY=${key:-} OPTD_BENCH_GROUP=bench-group \
		wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
		-s bench/status_set.lua "$1" >"$tmp/$2.wrk"
	local rps p50 p99 bad
	rps=$(awk '/^Requests\/sec/ {print $2}' "$tmp/$2.wrk")
	p50=$(awk '$1=="50%" {print $2}' "$tmp/$2.wrk")
	p99=$(awk '$1=="99%" {print $2}' "$tmp/$2.wrk")
	bad=$(awk '/Non-2xx/ {print $5}' "$tmp/$2.wrk")
	printf '%-10s %10s req/s   p50 %8s   p99 %8s   non-2xx %s\n' \
		"$2" "$rps" "$p50" "$p99" "${bad:-0}"
	eval "${2}_rps=$rps; ${2}_p99=$p99"
}
