/* wake: see wake.h. */
#include "lib/wake.h"
#include "lib/clock.h"

#include <time.h>

void wake_init(wake *w)
{
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->signals = 0;
	w->stop = 0;
}

void wake_destroy(wake *w)
{
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}

static void bump(wake *w, int stop, int all)
{
	pthread_mutex_lock(&w->mu);
	w->signals++;
	w->stop |= stop;
	if (all)
		pthread_cond_broadcast(&w->cv);
	else
		pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void wake_signal(wake *w) { bump(w, 0, 1); }
void wake_signal_one(wake *w) { bump(w, 0, 0); }
void wake_stop(wake *w) { bump(w, 1, 1); }

int wake_stopping(wake *w, unsigned long *seen)
{
	int stop;

	pthread_mutex_lock(&w->mu);
	stop = w->stop;
	*seen = w->signals;
	pthread_mutex_unlock(&w->mu);
	return stop;
}

void wake_sleep(wake *w, unsigned long seen, int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts = clock_deadline(CLOCK_REALTIME, ms);
	pthread_mutex_lock(&w->mu);
	while (!w->stop && w->signals == seen &&
	       pthread_cond_timedwait(&w->cv, &w->mu, &ts) == 0)
		;
	pthread_mutex_unlock(&w->mu);
}
