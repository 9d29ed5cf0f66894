/*
 * test_ratelimit: unit tests for core/ratelimit (fixed-window counters).
 *
 * The three numbers rl_hit() returns go straight into the
 * X-RateLimit-Limit/-Remaining/-Reset headers, so they are checked
 * exactly, as are the window rules (aligned to multiples of the window
 * length, a new window at the boundary, a new window when the length
 * changes). The table is bounded: these tests fill it past RL_ENTRIES_MAX
 * both with ended windows (the sweep must reclaim them) and with live ones
 * (the overflow slot must take the excess), because a server facing many
 * clients must neither crash nor grow. Counting from several threads must
 * be exact, or a limit could be exceeded under load.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/ratelimit.h"

#define SEC 1000LL /* ms */

static int setup(void **state)
{
	rl *r = rl_new();

	if (!r)
		return -1;
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	rl_free(*state);
	return 0;
}

static rl_result hit(rl *r, const char *key, uint32_t limit,
		     uint32_t window_s, int64_t now_ms)
{
	rl_result res;

	memset(&res, 0xa5, sizeof res);
	rl_hit(r, key, limit, window_s, now_ms, &res);
	return res;
}

static void test_first_hit(void **state)
{
	rl *r = *state;
	/* 1000 s into a 60 s grid: the window is [960, 1020). */
	rl_result res = hit(r, "k", 10, 60, 1000 * SEC + 123);

	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.limit, 10);
	assert_int_equal(res.remaining, 9);
	assert_int_equal(res.reset_s, 1020);
}

static void test_exhaust(void **state)
{
	rl *r = *state;
	rl_result res;

	for (uint32_t i = 1; i <= 5; i++) {
		res = hit(r, "k", 5, 60, 1000 * SEC);
		assert_int_equal(res.allowed, 1);
		assert_int_equal(res.remaining, 5 - i);
		assert_int_equal(res.limit, 5);
		assert_int_equal(res.reset_s, 1020);
	}
	/* Refused hits are not counted past the limit, nor do they extend
	 * the window. */
	for (int i = 0; i < 3; i++) {
		res = hit(r, "k", 5, 60, 1010 * SEC);
		assert_int_equal(res.allowed, 0);
		assert_int_equal(res.remaining, 0);
		assert_int_equal(res.limit, 5);
		assert_int_equal(res.reset_s, 1020);
	}
}

/* N nodes each enforce ceil(limit / N): together never over the limit
 * by more than N-1, and a share is never 0. */
static void test_share(void **state)
{
	rl *r = *state;
	rl_result res;
	int allowed = 0;

	rl_set_share(r, 3);
	for (int i = 0; i < 10; i++) {
		res = hit(r, "k", 10, 60, 1000 * SEC);
		allowed += res.allowed;
		assert_int_equal(res.limit, 4);
	}
	assert_int_equal(allowed, 4);
	res = hit(r, "tiny", 1, 60, 1000 * SEC);
	assert_int_equal(res.limit, 1);
	assert_int_equal(res.allowed, 1);
	rl_set_share(r, 1);
	res = hit(r, "whole", 10, 60, 1000 * SEC);
	assert_int_equal(res.limit, 10);
	rl_set_share(r, 100000); /* capped at RL_SHARE_MAX */
	res = hit(r, "cap", 1000, 60, 1000 * SEC);
	assert_int_equal(res.limit, 1000 / RL_SHARE_MAX + 1);
}

static void test_window_boundary(void **state)
{
	rl *r = *state;
	rl_result res;

	res = hit(r, "k", 2, 60, 960 * SEC); /* first ms of [960, 1020) */
	assert_int_equal(res.remaining, 1);
	assert_int_equal(res.reset_s, 1020);
	res = hit(r, "k", 2, 60, 1019 * SEC + 999); /* last ms */
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 0);
	assert_int_equal(res.reset_s, 1020);
	res = hit(r, "k", 2, 60, 1019 * SEC + 999);
	assert_int_equal(res.allowed, 0);
	/* Exactly at reset_s a fresh window starts. */
	res = hit(r, "k", 2, 60, 1020 * SEC);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 1);
	assert_int_equal(res.reset_s, 1080);
}

/* Idle for several windows: the next one is the one `now` falls in. */
static void test_window_skip(void **state)
{
	rl *r = *state;
	rl_result res;

	res = hit(r, "k", 3, 60, 1000 * SEC);
	assert_int_equal(res.reset_s, 1020);
	res = hit(r, "k", 3, 60, 1500 * SEC);
	assert_int_equal(res.remaining, 2);
	assert_int_equal(res.reset_s, 1500 - 1500 % 60 + 60);
}

static void test_window_alignment(void **state)
{
	static const uint32_t windows[] = {1, 7, 60, 3600, 86400};
	static const int64_t nows[] = {0, 1, 59 * SEC + 999, 60 * SEC,
				       1700000000LL * SEC + 1,
				       1700000123LL * SEC + 456};
	rl *r = *state;

	for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
		for (size_t n = 0; n < sizeof nows / sizeof nows[0]; n++) {
			char key[32];
			int64_t now_s = nows[n] / 1000;
			rl_result res;

			snprintf(key, sizeof key, "align-%zu-%zu", w, n);
			res = hit(r, key, 100, windows[w], nows[n]);
			assert_int_equal(res.reset_s % windows[w], 0);
			assert_true(res.reset_s > now_s);
			assert_true(res.reset_s - windows[w] <= now_s);
		}
	}
}

static void test_keys_independent(void **state)
{
	rl *r = *state;
	rl_result res;

	for (int i = 0; i < 3; i++)
		hit(r, "a", 3, 60, 1000 * SEC);
	res = hit(r, "a", 3, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 0);
	res = hit(r, "b", 3, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 2);
	/* Keys that share a prefix are still different keys. */
	res = hit(r, "ab", 3, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 2);
	res = hit(r, "A", 3, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 2);
}

static void test_window_length_change_restarts(void **state)
{
	rl *r = *state;
	rl_result res;

	hit(r, "k", 5, 60, 1000 * SEC);
	res = hit(r, "k", 5, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 3);
	/* Same key, another window length: a new window on the new grid. */
	res = hit(r, "k", 5, 3600, 1000 * SEC);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 4);
	assert_int_equal(res.reset_s, 3600);
	/* And back again: restarted once more, not resumed. */
	res = hit(r, "k", 5, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 4);
	assert_int_equal(res.reset_s, 1020);
}

/* A limit that changes mid-window (a key's override edited) applies now. */
static void test_limit_change(void **state)
{
	rl *r = *state;
	rl_result res;

	for (int i = 0; i < 4; i++)
		hit(r, "k", 10, 60, 1000 * SEC);
	res = hit(r, "k", 3, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 0);
	assert_int_equal(res.limit, 3);
	assert_int_equal(res.remaining, 0);
	res = hit(r, "k", 10, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 5);
}

static void test_zero_limit_and_window(void **state)
{
	rl *r = *state;
	rl_result res;

	res = hit(r, "zero", 0, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 0);
	assert_int_equal(res.limit, 0);
	assert_int_equal(res.remaining, 0);
	assert_int_equal(res.reset_s, 1020);
	/* A zero window is read as one second rather than dividing by 0. */
	res = hit(r, "w0", 2, 0, 1000 * SEC + 500);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.reset_s, 1001);
}

static void test_long_keys_truncated(void **state)
{
	char base[RL_KEY_MAX + 64];
	char other[RL_KEY_MAX + 64];
	rl *r = *state;
	rl_result res;

	/* 95 bytes are kept: keys differing only after that are one key. */
	memset(base, 'a', sizeof base);
	base[sizeof base - 1] = '\0';
	memcpy(other, base, sizeof other);
	other[RL_KEY_MAX - 1] = 'X'; /* byte 96: dropped */
	other[RL_KEY_MAX + 10] = 'Y';
	res = hit(r, base, 3, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 2);
	res = hit(r, other, 3, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 1);
	/* The 95-byte prefix on its own is that same key. */
	base[RL_KEY_MAX - 1] = '\0';
	res = hit(r, base, 3, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 0);

	/* A difference inside the first 95 bytes still tells them apart. */
	memcpy(other, base, RL_KEY_MAX);
	other[RL_KEY_MAX - 2] = 'Z'; /* byte 95: kept */
	res = hit(r, other, 3, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 2);
	/* A 94-byte key is not the 95-byte one. */
	base[RL_KEY_MAX - 2] = '\0';
	res = hit(r, base, 3, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 2);
}

static void test_very_long_key(void **state)
{
	static char huge[1 << 16];
	rl *r = *state;
	rl_result res;

	memset(huge, 'h', sizeof huge - 1);
	res = hit(r, huge, 2, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 1);
	huge[sizeof huge / 2] = '\0';
	res = hit(r, huge, 2, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 0);
}

static void test_empty_key(void **state)
{
	rl *r = *state;
	rl_result res;

	res = hit(r, "", 2, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 1);
	res = hit(r, "", 2, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 0);
	res = hit(r, "", 2, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 0);
	/* Another key is untouched by the empty one. */
	res = hit(r, "x", 2, 60, 1000 * SEC);
	assert_int_equal(res.remaining, 1);
}

/* ---- a full table ---- */

static void key_of(char *buf, size_t cap, const char *tag, unsigned i)
{
	snprintf(buf, cap, "%s:%u", tag, i);
}

/*
 * Fill with one-second windows, let them end, then fill again: the sweep
 * must reclaim the ended ones so every new key gets its own counter.
 */
static void test_sweep_reclaims_ended(void **state)
{
	rl *r = *state;
	char key[64];
	rl_result res;

	for (unsigned i = 0; i < RL_ENTRIES_MAX; i++) {
		key_of(key, sizeof key, "old", i);
		res = hit(r, key, 5, 1, 1000 * SEC);
		assert_int_equal(res.remaining, 4);
	}
	/* Full, but every window ended at 1001: a whole table of new keys
	 * fits again. */
	for (unsigned i = 0; i < RL_ENTRIES_MAX; i++) {
		key_of(key, sizeof key, "new", i);
		res = hit(r, key, 5, 60, 2000 * SEC);
		if (res.remaining != 4)
			fail_msg("new key %u shared a counter (remaining %u)",
				 i, res.remaining);
	}
	/* No old key survived into the new windows. */
	res = hit(r, "new:0", 5, 60, 2000 * SEC);
	assert_int_equal(res.remaining, 3);
}

/*
 * Fill with live windows: past RL_ENTRIES_MAX the extra keys share the
 * overflow slot (one counter), existing keys keep their own counters, and
 * once the live windows end the next new key gets its own slot again.
 */
static void test_overflow_when_full_of_live(void **state)
{
	rl *r = *state;
	char key[64];
	rl_result res;

	for (unsigned i = 0; i < RL_ENTRIES_MAX; i++) {
		key_of(key, sizeof key, "live", i);
		res = hit(r, key, 1000, 3600, 1000 * SEC);
		assert_int_equal(res.remaining, 999);
	}
	/* Every key past the table counts against the one shared slot. */
	for (unsigned i = 0; i < 20; i++) {
		key_of(key, sizeof key, "extra", i);
		res = hit(r, key, 1000, 3600, 1000 * SEC);
		assert_int_equal(res.limit, 1000);
		assert_int_equal(res.remaining, 999 - i);
		assert_int_equal(res.reset_s, 3600);
	}
	/* Keys already in the table are unaffected. */
	res = hit(r, "live:0", 1000, 3600, 1000 * SEC);
	assert_int_equal(res.remaining, 998);
	res = hit(r, "live:65535", 1000, 3600, 1000 * SEC);
	assert_int_equal(res.remaining, 998);
	/* The overflow slot still enforces its limit. */
	for (unsigned i = 0; i < 5; i++) {
		key_of(key, sizeof key, "tiny", i);
		res = hit(r, key, 3, 3600, 1000 * SEC);
		assert_int_equal(res.allowed, 0);
		assert_int_equal(res.remaining, 0);
	}
	/* After the live windows end, a new key is counted alone again. */
	res = hit(r, "later", 1000, 3600, 3600 * SEC);
	assert_int_equal(res.allowed, 1);
	assert_int_equal(res.remaining, 999);
	res = hit(r, "later2", 1000, 3600, 3600 * SEC);
	assert_int_equal(res.remaining, 999);
	res = hit(r, "later", 1000, 3600, 3600 * SEC);
	assert_int_equal(res.remaining, 998);
}

/* Half ended, half live: only the ended half is dropped. */
static void test_sweep_keeps_live(void **state)
{
	rl *r = *state;
	char key[64];
	rl_result res;

	for (unsigned i = 0; i < RL_ENTRIES_MAX; i++) {
		key_of(key, sizeof key, "mix", i);
		/* Even keys: 1 s windows; odd keys: an hour. */
		hit(r, key, 10, (i & 1) ? 3600 : 1, 1000 * SEC);
	}
	for (unsigned i = 0; i < RL_ENTRIES_MAX / 2; i++) {
		key_of(key, sizeof key, "fresh", i);
		res = hit(r, key, 10, 60, 1010 * SEC);
		if (res.remaining != 9)
			fail_msg("fresh key %u: remaining %u", i,
				 res.remaining);
	}
	/* The live odd keys kept their count through the sweep. */
	for (unsigned i = 1; i < RL_ENTRIES_MAX; i += 4099) {
		key_of(key, sizeof key, "mix", i | 1);
		res = hit(r, key, 10, 3600, 1010 * SEC);
		if (res.remaining != 8)
			fail_msg("live key %u lost its count: remaining %u",
				 i | 1, res.remaining);
	}
}

/* ---- threads ---- */

#define RL_THREADS 4
#define RL_PER_THREAD 5000

struct worker {
	rl *r;
	const char *key;
	uint32_t limit;
	unsigned allowed;
	unsigned bad; /* cmocka asserts are not thread-safe: count here */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < RL_PER_THREAD; i++) {
		rl_result res;

		rl_hit(w->r, w->key, w->limit, 60, 1000 * SEC, &res);
		if (res.allowed)
			w->allowed++;
		if (res.limit != w->limit || res.reset_s != 1020 ||
		    res.remaining > w->limit)
			w->bad++;
	}
	return NULL;
}

static unsigned run_threads(rl *r, const char *key, uint32_t limit)
{
	pthread_t tid[RL_THREADS];
	struct worker w[RL_THREADS];
	unsigned allowed = 0;

	for (int i = 0; i < RL_THREADS; i++) {
		w[i] = (struct worker){.r = r, .key = key, .limit = limit};
		assert_int_equal(pthread_create(&tid[i], NULL, worker_main,
						&w[i]), 0);
	}
	for (int i = 0; i < RL_THREADS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(w[i].bad, 0);
		allowed += w[i].allowed;
	}
	return allowed;
}

static void test_threads_exact(void **state)
{
	rl *r = *state;
	rl_result res;

	/* Room for every hit: all allowed, and the count is exact. */
	assert_int_equal(run_threads(r, "shared", RL_THREADS * RL_PER_THREAD),
			 RL_THREADS * RL_PER_THREAD);
	res = hit(r, "shared", RL_THREADS * RL_PER_THREAD, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 0);
	assert_int_equal(res.remaining, 0);

	/* Over the limit: exactly `limit` hits get through, no more. */
	assert_int_equal(run_threads(r, "tight", 1234), 1234);
	res = hit(r, "tight", 1234, 60, 1000 * SEC);
	assert_int_equal(res.allowed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_hit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_exhaust, setup, teardown),
		cmocka_unit_test_setup_teardown(test_share, setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_boundary, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_window_skip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_window_alignment, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_keys_independent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_window_length_change_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_change, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_zero_limit_and_window,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_keys_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_very_long_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_empty_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sweep_reclaims_ended,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_overflow_when_full_of_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_keeps_live, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_threads_exact, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("ratelimit", tests, NULL, NULL);
}
