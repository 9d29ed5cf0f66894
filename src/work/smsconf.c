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
} conf_slot;

static _Thread_local conf_slot slots[SMSCONF_SLOTS];
static _Thread_local unsigned tick;

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

store_err smsconf_get(store *st, const char *group, store_group *g,
		      const smscfg **cfg)
{
	char err[SMSCFG_ERR_MAX];
	char *json = NULL;
	conf_slot *s;
	store_err e;

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
	s->used = ++tick;
	*cfg = s->cfg;
	return STORE_OK;
}

void smsconf_thread_done(void)
{
	for (int i = 0; i < SMSCONF_SLOTS; i++) {
		smscfg_free(slots[i].cfg);
		slots[i].cfg = NULL;
	}
}
