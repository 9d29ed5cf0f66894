/* health: GET /healthz, 200 when the database answers, 503 when not,
 * or when the writer has stopped committing (a failed fsync: only a
 * restart makes optd take changes again, which is what a supervisor
 * watching this endpoint does). With --kannel-box it also says whether
 * bearerbox is connected; a bearerbox away is not optd failing (Kannel
 * keeps the messages until optd is back), so the status stays 200. */
#include "api/api.h"
#include "api/app.h"
#include "sms/kboxlink.h"

void api_healthz(http_req *r)
{
	app *a = http_app(r);
	store_err e = store_ping(a->st);
	const char *why = e ? store_strerror(e)
		: a->wr && writer_broken(a->wr) ? "an fsync failed; restart optd"
		: NULL;

	if (why) {
		http_reply_header(r, "Retry-After", "1");
		http_reply(r, 503, json_pack("{s:s,s:s}", "status", "unavailable",
					     "database", why));
		return;
	}
	json_t *j = json_pack("{s:s,s:s}", "status", "ok", "database",
			      store_backend(a->st));
	if (j && a->kbox_link)
		json_object_set_new(j, "kannel_box", json_string(
			kbl_connected(a->kbox_link) ? "connected"
						    : "not connected"));
	http_reply(r, 200, j);
}
