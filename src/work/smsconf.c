/* smsconf: see smsconf.h. */
#include "work/smsconf.h"
#include "lib/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char group[IDENT_GROUP_ID_MAX + 1];
	int64_t updated_ms;
	smscfg *cfg;
	unsigned used; /* for least-recently-used eviction */
	uint64_t tx;   /* store_tx_id() that `g` was read in, or 0 */
	store_group g;
} conf_slot;

typedef struct {
	uint64_t tx; /* store_tx_id() it was read in; 0: empty */
	char number[STORE_ADDR_MAX + 1];
	char group[IDENT_GROUP_ID_MAX + 1];
	store_err found; /* STORE_OK or STORE_NOTFOUND */
} num_slot;

static _Thread_local conf_slot slots[SMSCONF_SLOTS];
static _Thread_local unsigned tick;
static _Thread_local num_slot nums[SMSCONF_NUMBERS];
static _Thread_local unsigned num_next;

/* Threads that never call smsconf_thread_done() (libmicrohttpd's) free
 * their cache as they exit, through this key's destructor. */
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void on_exit_free(void *unused)
{
	(void)unused;
	smsconf_thread_done();
}

static void exit_key_make(void) { pthread_key_create(&exit_key, on_exit_free); }

static void free_at_exit(void)
{
	pthread_once(&exit_once, exit_key_make);
	if (!pthread_getspecific(exit_key))
		pthread_setspecific(exit_key, (void *)1);
}

static conf_slot *slot_for(const char *group, int64_t updated_ms)
{
	conf_slot *victim = &slots[0];

	for (int i = 0; i < SMSCONF_SLOTS; i++) {
		conf_slot *s = &slots[i];
		if (s->cfg && strcmp(s->group, group) == 0) {
			if (s->updated_ms == updated_ms)
				return s;
			victim = s; /* stale: replace in place */
			break;
		}
		if (!s->cfg || s->used < victim->used)
			victim = s;
	}
	smscfg_free(victim->cfg);
	victim->cfg = NULL;
	victim->group[0] = '\0';
	return victim;
}

/* The slot holding `group` as read in transaction tx, or NULL. */
static conf_slot *slot_read_in(uint64_t tx, const char *group)
{
	for (int i = 0; tx && i < SMSCONF_SLOTS; i++)
		if (slots[i].cfg && slots[i].tx == tx &&
		    strcmp(slots[i].group, group) == 0)
			return &slots[i];
	return NULL;
}

store_err smsconf_get(store *st, const char *group, store_group *g,
		      const smscfg **cfg)
{
	char err[SMSCFG_ERR_MAX];
	char *json = NULL;
	uint64_t tx = store_tx_id(st);
	conf_slot *s = slot_read_in(tx, group);
	store_err e;

	if (s) {
		*g = s->g;
		goto out;
	}
	e = store_group_get(st, group, g);
	if (e)
		return e;
	s = slot_for(group, g->updated_ms);
	if (!s->cfg) {
		free_at_exit();
		e = store_group_sms_get(st, group, &json);
		if (e)
			return e;
		smscfg_err pe = smscfg_parse(json, strlen(json), g->name,
					     &s->cfg, err);
		free(json);
		if (pe) {
			log_warn("group %s: SMS settings unusable: %s", group,
				 err);
			return pe == SMSCFG_ERR_NOMEM ? STORE_NOMEM
						      : STORE_INVALID;
		}
		snprintf(s->group, sizeof s->group, "%s", group);
		s->updated_ms = g->updated_ms;
	}
	s->tx = tx;
	s->g = *g;
out:
	s->used = ++tick;
	*cfg = s->cfg;
	return STORE_OK;
}

store_err smsconf_number_owner(store *st, const char *number,
			       char group[IDENT_GROUP_ID_MAX + 1])
{
	uint64_t tx = store_tx_id(st);
	num_slot *n;
	store_err e;

	for (int i = 0; tx && i < SMSCONF_NUMBERS; i++) {
		n = &nums[i];
		if (n->tx == tx && strcmp(n->number, number) == 0) {
			memcpy(group, n->group, sizeof n->group);
			return n->found;
		}
	}
	e = store_number_owner(st, number, group);
	if (!tx || (e && e != STORE_NOTFOUND) ||
	    strlen(number) > STORE_ADDR_MAX)
		return e;
	n = &nums[num_next++ % SMSCONF_NUMBERS];
	n->tx = tx;
	n->found = e;
	snprintf(n->number, sizeof n->number, "%s", number);
	snprintf(n->group, sizeof n->group, "%s", e ? "" : group);
	return e;
}

void smsconf_thread_done(void)
{
	for (int i = 0; i < SMSCONF_SLOTS; i++) {
		smscfg_free(slots[i].cfg);
		slots[i].cfg = NULL;
	}
}
