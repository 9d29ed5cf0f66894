/*
 * smsconf: a group's parsed SMS settings, cached per thread.
 *
 * Parsing settings builds an ICU keyword set, far too slow to repeat for
 * every message, so each thread keeps the last few groups' parsed
 * settings. Freshness: the group row is read every time (one indexed
 * read) and the cache is used only while its updated_ms is the one the
 * settings were parsed at; changing a group's SMS settings or name bumps
 * updated_ms, so a change is seen by the very next message, on every
 * thread and every optd process sharing the database.
 *
 * Inside a transaction (the writer's batch) the group row and the owner
 * of a number are read once and used for the rest of it: store_tx_id()
 * changes when the transaction writes a group or its numbers, so what the
 * batch itself changes is seen at once too.
 */
#ifndef OPTD_SMSCONF_H
#define OPTD_SMSCONF_H

#include "core/smscfg.h"
#include "store/store.h"

#define SMSCONF_SLOTS 16   /* groups cached per thread */
#define SMSCONF_NUMBERS 16 /* number owners cached per thread */

/*
 * The group and its settings. *cfg stays valid until this thread's next
 * smsconf_get() or smsconf_thread_done(). STORE_INVALID when the stored
 * settings no longer parse (they were checked when set, so only a newer
 * optd's settings read by an older one); NOTFOUND when no such group.
 */
store_err smsconf_get(store *st, const char *group, store_group *g,
		      const smscfg **cfg);
/* store_number_owner(), remembered for the rest of the transaction. */
store_err smsconf_number_owner(store *st, const char *number,
			       char group[IDENT_GROUP_ID_MAX + 1]);
/* Free this thread's cache (before the thread exits). */
void smsconf_thread_done(void);

#endif
