#!/bin/bash
# test.sh: build optd three ways and run every test suite; the last line
# is "N passed, N failed" over all of them.
#
#   unit         cmocka tests of the pure modules      (build/, build/asan/)
#   e2e          the real optd on a free port, over HTTP (build/, build/asan/)
#   fuzz-replay  each fuzz target over its committed corpus (build/fuzz/)
#   browser      Chromium driving the real optd (tests/browser, build/)
#
# The e2e suite runs twice on each of build/ and build/asan/: on SQLite
# and, at the same time, on PostgreSQL (a throwaway server from
# scripts/pg-test-server.sh, started here and stopped at the end); the
# unit tests of the store and the writer run on it too.
#
# OPTD_TEST_QUICK=1 skips the sanitizer and fuzz builds (for development).
# OPTD_TEST_DB=sqlite or =postgres runs the e2e suite on that one only.
set -u
cd "$(dirname "$0")/.."

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
summary=""

count() { # suite passed failed
	passed=$((passed + $2))
	failed=$((failed + $3))
	summary="$summary$(printf '  %-22s %4d passed, %d failed' "$1" "$2" "$3")\n"
}

build() { # make args...
	if ! make -s -j"$jobs" "$@" >/tmp/optd-build.log 2>&1; then
		cat /tmp/optd-build.log
		echo "build failed: make $*"
		count "build $*" 0 1
		return 1
	fi
}

unit() { # build dir, suite name[, "postgres": the store's tests on it]
	local p=0 f=0 out n
	for t in "$1"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		if [ "${3:-}" = postgres ]; then
			case "${t##*/}" in test_store | test_writer) ;; *) continue ;; esac
			out=$("$t" 2>&1)
		else
			out=$(env -u OPTD_TEST_PG_URL "$t" 2>&1)
		fi
		echo "$out" | grep -E '^\[  (FAILED|  OK  |PASSED|ERROR) ' | grep -v '  OK  ' || true
		n=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		p=$((p + ${n:-0}))
		n=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
		f=$((f + ${n:-0}))
		# A crash prints no summary at all.
		if ! echo "$out" | grep -q '^\[  PASSED  \]\|^\[  FAILED  \]'; then
			echo "$out" | tail -20
			f=$((f + 1))
		fi
	done
	count "$2" "$p" "$f"
}

e2e_count() { # suite name, log of run.py
	local out p f
	cat "$2"
	out=$(tail -1 "$2")
	rm -f "$2"
	p=$(echo "$out" | sed -n 's/.* \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	f=$(echo "$out" | sed -n 's/.* \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	[ -n "$p" ] || { p=0; f=1; }
	count "$1" "$p" "$f"
}

# The e2e suite on SQLite and on PostgreSQL (as want_db says), side by
# side: each spends most of its time waiting for optd, Kannel or a
# timer, not on the CPU (about a third of one core), and they share
# nothing but the PostgreSQL server, which only the second uses. Each
# log is shown whole, one after the other.
e2e_both() { # binary, "" or "asan, "
	local lite="" pg=""
	if [ "$want_db" != postgres ]; then
		lite=$(mktemp)
		python3 tests/e2e/run.py --bin "$1" --db sqlite >"$lite" 2>&1 &
	fi
	if [ "$want_db" != sqlite ]; then
		pg=$(mktemp)
		python3 tests/e2e/run.py --bin "$1" --db postgres >"$pg" 2>&1 &
	fi
	wait
	[ -z "$lite" ] || e2e_count "e2e (${2}sqlite)" "$lite"
	[ -z "$pg" ] || e2e_count "e2e (${2}postgres)" "$pg"
}

# A suite whose last line is "N passed, N failed": run it and count it.
tally() { # suite name, command...
	local name=$1 log p f
	shift
	log=$(mktemp)
	"$@" >"$log" 2>&1
	tail -5 "$log"
	p=$(tail -1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	f=$(tail -1 "$log" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	rm -f "$log"
	[ -n "$p" ] || { p=0; f=1; }
	count "$name" "$p" "$f"
}

# Templates against liquidjs (npm), the reference for standard Liquid.
liquid() { tally "templates vs liquidjs" tests/template/run.sh; }

# Chromium driving the real optd (playwright-core from npm).
browser() { tally "browser" tests/browser/run.sh build/optd; }

fuzz_replay() {
	local p=0 f=0 name
	for t in build/fuzz/tests/fuzz/fuzz_*; do
		[ -x "$t" ] || continue
		name=${t##*/fuzz_}
		if "$t" -runs=0 "tests/fuzz/corpus/$name" >/tmp/optd-fuzz.log 2>&1; then
			p=$((p + 1))
		else
			tail -30 /tmp/optd-fuzz.log
			f=$((f + 1))
		fi
	done
	count "fuzz-replay" "$p" "$f"
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0

# One throwaway PostgreSQL for every suite that wants one.
pg_dir=""
want_db=${OPTD_TEST_DB:-both}
if [ "$want_db" != sqlite ]; then
	pg_dir=$(mktemp -d /tmp/optd-pg.XXXXXX)
	trap 'scripts/pg-test-server.sh stop "$pg_dir"; rm -rf "$pg_dir"' EXIT
	if OPTD_TEST_PG_URL=$(scripts/pg-test-server.sh start "$pg_dir"); then
		export OPTD_TEST_PG_URL OPTD_TEST_PG_DIR=$pg_dir
	else
		count "postgres test server" 0 1
		want_db=sqlite
	fi
fi

build all unit && {
	unit build "unit"
	liquid
	[ "$want_db" != sqlite ] && unit build "unit (postgres)" postgres
	e2e_both build/optd ""
	browser
}
if [ "${OPTD_TEST_QUICK:-0}" != 1 ]; then
	build SAN=1 all unit && {
		unit build/asan "unit (asan+ubsan)"
		[ "$want_db" != sqlite ] && unit build/asan "unit (asan, postgres)" postgres
		e2e_both build/asan/optd "asan, "
	}
	build FUZZ=1 fuzz && fuzz_replay
fi

printf '\n%b' "$summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
