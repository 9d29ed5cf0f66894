/*
 * sim: `optd sim sms`, a phone texting a running optd.
 *
 * Posts the text to the generic inbound webhook (POST /sms/inbound) as a
 * gateway would, with a fresh message id, then follows each reply optd
 * queued through GET /admin/messages/{id} until it has an outcome (or
 * SIM_WAIT_MS pass), and prints it. The key needs the sms.inbound and
 * admin scopes (the admin key has both).
 */
#ifndef OPTD_SMS_SIM_H
#define OPTD_SMS_SIM_H

#define SIM_WAIT_MS 10000

/* Exit status for the command line: 0 done, 1 optd refused or failed. */
int sim_sms(const char *base_url, const char *key, const char *from,
	    const char *to, const char *text);

#endif
