#!/bin/bash
# test.sh: build optd three ways and run every test suite; the last line
# is "N passed, N failed" over all of them.
#
#   unit         cmocka tests of the pure modules      (build/, build/asan/)
#   e2e          the real optd on a free port, over HTTP (build/, build/asan/)
#   fuzz-replay  each fuzz target over its committed corpus (build/fuzz/)
#
# OPTD_TEST_QUICK=1 skips the sanitizer and fuzz builds (for development).
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

unit() { # build dir, suite name
	local p=0 f=0 out n
	for t in "$1"/tests/unit/test_*; do
		[ -x "$t" ] || continue
		out=$("$t" 2>&1)
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

e2e() { # binary, suite name
	local out p f log
	log=$(mktemp)
	python3 tests/e2e/run.py --bin "$1" >"$log" 2>&1
	cat "$log"
	out=$(tail -1 "$log")
	rm -f "$log"
	p=$(echo "$out" | sed -n 's/.* \([0-9]*\) passed, \([0-9]*\) failed.*/\1/p')
	f=$(echo "$out" | sed -n 's/.* \([0-9]*\) passed, \([0-9]*\) failed.*/\2/p')
	[ -n "$p" ] || { p=0; f=1; }
	count "$2" "$p" "$f"
}

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

build all unit && { unit build "unit"; e2e build/optd "e2e"; }
if [ "${OPTD_TEST_QUICK:-0}" != 1 ]; then
	build SAN=1 all unit && { unit build/asan "unit (asan+ubsan)"; e2e build/asan/optd "e2e (asan+ubsan)"; }
	build FUZZ=1 fuzz && fuzz_replay
fi

printf '\n%b' "$summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
