/*
 * test_scope: unit tests for core/scope (API key permission names, their
 * bits, the comma list, and the allow rule).
 *
 * The names are Braze's and are stored with every key, so they are pinned
 * exactly; an unknown or mis-cased name must give no permission at all.
 * scope_allows() is the last check before a handler runs: a key needs
 * every bit asked for, and `admin` alone implies all of them.
 * scope_format() writes into a caller's buffer, so it must stay inside
 * `cap` and always leave a terminated string, however small `cap` is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/scope.h"

#define ALL_NAMES "subscription.status.set,subscription.status.get," \
		  "subscription.groups.get,users.track,sms.inbound,admin"

static void test_from_name(void **state)
{
	(void)state;
	assert_int_equal(scope_from_name("subscription.status.set"),
			 SCOPE_STATUS_SET);
	assert_int_equal(scope_from_name("subscription.status.get"),
			 SCOPE_STATUS_GET);
	assert_int_equal(scope_from_name("subscription.groups.get"),
			 SCOPE_GROUPS_GET);
	assert_int_equal(scope_from_name("users.track"), SCOPE_USERS_TRACK);
	assert_int_equal(scope_from_name("admin"), SCOPE_ADMIN);
}

static void test_from_name_unknown(void **state)
{
	static const char *const bad[] = {
		"", "Admin", "ADMIN", "admin ", " admin", "subscription",
		"subscription.status", "subscription.status.*", "users.*",
		"users.track,admin", "*", "all", "users.export.ids",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(scope_from_name(bad[i]), 0);
	assert_int_equal(scope_from_name(NULL), 0);
}

static void test_name_at(void **state)
{
	uint32_t seen = 0;
	size_t i;

	(void)state;
	for (i = 0;; i++) {
		uint32_t bit = 0;
		const char *name = scope_name_at(i, &bit);

		if (!name)
			break;
		/* One bit per name, no repeats, and it maps back. */
		assert_int_equal(bit & (bit - 1), 0);
		assert_int_not_equal(bit, 0);
		assert_int_equal(seen & bit, 0);
		seen |= bit;
		assert_int_equal(scope_from_name(name), bit);
		/* A NULL bit pointer is allowed. */
		assert_ptr_equal(scope_name_at(i, NULL), name);
	}
	assert_int_equal(i, 6);
	assert_int_equal(seen, SCOPE_ALL);
	assert_null(scope_name_at(6, NULL));
	assert_null(scope_name_at((size_t)-1, NULL));
}

static void test_format(void **state)
{
	char buf[SCOPE_LIST_MAX];

	(void)state;
	scope_format(SCOPE_ALL, buf, sizeof buf);
	assert_string_equal(buf, ALL_NAMES);
	assert_true(strlen(ALL_NAMES) < SCOPE_LIST_MAX);

	scope_format(0, buf, sizeof buf);
	assert_string_equal(buf, "");
	scope_format(SCOPE_USERS_TRACK, buf, sizeof buf);
	assert_string_equal(buf, "users.track");
	/* Table order, whatever the bit order asked. */
	scope_format(SCOPE_ADMIN | SCOPE_STATUS_SET, buf, sizeof buf);
	assert_string_equal(buf, "subscription.status.set,admin");
	scope_format(SCOPE_GROUPS_GET | SCOPE_STATUS_GET, buf, sizeof buf);
	assert_string_equal(buf,
			    "subscription.status.get,subscription.groups.get");
	/* Unknown bits are ignored. */
	scope_format(0x60u | SCOPE_USERS_TRACK, buf, sizeof buf);
	assert_string_equal(buf, "users.track");
	scope_format(0xffffffffu, buf, sizeof buf);
	assert_string_equal(buf, ALL_NAMES);
}

/* The parse of each formatted name gives back the bits formatted. */
static void test_format_round_trip(void **state)
{
	(void)state;
	for (uint32_t have = 0; have <= SCOPE_ALL; have++) {
		char buf[SCOPE_LIST_MAX];
		uint32_t back = 0;
		char *save = NULL;

		if (have & ~SCOPE_ALL)
			continue;
		scope_format(have, buf, sizeof buf);
		for (char *t = strtok_r(buf, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			back |= scope_from_name(t);
		assert_int_equal(back, have);
	}
}

/* Small buffers: never written past cap, always terminated. */
static void test_format_small_cap(void **state)
{
	const size_t full = strlen(ALL_NAMES);
	char buf[SCOPE_LIST_MAX + 8];

	(void)state;
	for (size_t cap = 1; cap <= full + 1; cap++) {
		memset(buf, '#', sizeof buf);
		scope_format(SCOPE_ALL, buf, cap);
		assert_true(memchr(buf, '\0', cap) != NULL);
		for (size_t k = cap; k < sizeof buf; k++)
			assert_int_equal(buf[k], '#');
		/* Whatever was written is the start of the full list. */
		assert_memory_equal(buf, ALL_NAMES, strlen(buf));
	}
	/* cap 0: nothing at all is written. */
	memset(buf, '#', sizeof buf);
	scope_format(SCOPE_ALL, buf, 0);
	assert_int_equal(buf[0], '#');
	/* Exactly enough room for the whole list. */
	scope_format(SCOPE_ALL, buf, full + 1);
	assert_string_equal(buf, ALL_NAMES);
}

static void test_allows(void **state)
{
	(void)state;
	assert_true(scope_allows(SCOPE_STATUS_SET, SCOPE_STATUS_SET));
	assert_false(scope_allows(SCOPE_STATUS_GET, SCOPE_STATUS_SET));
	assert_false(scope_allows(0, SCOPE_STATUS_SET));
	/* Every bit needed must be held. */
	assert_false(scope_allows(SCOPE_STATUS_SET,
				  SCOPE_STATUS_SET | SCOPE_STATUS_GET));
	assert_true(scope_allows(SCOPE_STATUS_SET | SCOPE_STATUS_GET,
				 SCOPE_STATUS_SET | SCOPE_STATUS_GET));
	assert_true(scope_allows(SCOPE_STATUS_SET | SCOPE_USERS_TRACK,
				 SCOPE_USERS_TRACK));
	/* Holding everything but admin does not grant admin. */
	assert_false(scope_allows(SCOPE_ALL & ~SCOPE_ADMIN, SCOPE_ADMIN));
	/* Nothing needed: anyone may. */
	assert_true(scope_allows(0, 0));
}

/* admin implies every scope, alone or with others. */
static void test_admin_implies_all(void **state)
{
	(void)state;
	for (uint32_t need = 0; need <= SCOPE_ALL; need++) {
		assert_true(scope_allows(SCOPE_ADMIN, need));
		assert_true(scope_allows(SCOPE_ADMIN | SCOPE_USERS_TRACK,
					 need));
	}
	assert_true(scope_allows(SCOPE_ALL, SCOPE_ALL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_name),
		cmocka_unit_test(test_from_name_unknown),
		cmocka_unit_test(test_name_at),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_format_small_cap),
		cmocka_unit_test(test_allows),
		cmocka_unit_test(test_admin_implies_all),
	};

	return cmocka_run_group_tests_name("scope", tests, NULL, NULL);
}
