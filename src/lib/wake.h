/*
 * wake: how a pool of worker threads sleeps until there is work.
 *
 * Workers sleep until signalled, until a deadline, or until stopped;
 * a signal that arrives between a worker's look at the queue and its
 * sleep is not lost, because the worker sleeps only while the signal
 * count is the one it saw before looking (wake_stopping()).
 */
#ifndef OPTD_WAKE_H
#define OPTD_WAKE_H

#include <pthread.h>
#include <stdint.h>

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned long signals;
	int stop;
} wake;

void wake_init(wake *w);
void wake_destroy(wake *w);
void wake_signal(wake *w);     /* every sleeper wakes */
void wake_signal_one(wake *w); /* one sleeper wakes, if any sleeps */
void wake_stop(wake *w);   /* every sleeper wakes, for good */
/* 1 once stopped; *seen gets the signal count to pass to wake_sleep. */
int wake_stopping(wake *w, unsigned long *seen);
/* Sleep at most ms, unless signalled since `seen` or stopped. */
void wake_sleep(wake *w, unsigned long seen, int64_t ms);

#endif
