/* health: GET /healthz, 200 when the database answers, 503 when not,
 * or when the writer has stopped committing (a failed fsync: only a
 * restart makes optd take changes again, which is what a supervisor
 * watching this endpoint does). */
#include "api/api.h"
#include "api/app.h"

void api_healthz(http_req *r)
{
	store_err e = store_ping(http_app(r)->st);

	if (!e && http_app(r)->wr && writer_broken(http_app(r)->wr)) {
		http_reply_header(r, "Retry-After", "1");
		http_reply(r, 503, json_pack("{s:s,s:s}", "status", "unavailable",
					     "database", "an fsync failed; "
					     "restart optd"));
		return;
	}
	if (e) {
		http_reply_header(r, "Retry-After", "1");
		http_reply(r, 503, json_pack("{s:s,s:s}", "status", "unavailable",
					     "database", store_strerror(e)));
		return;
	}
	http_reply(r, 200, json_pack("{s:s,s:s}", "status", "ok", "database",
				     store_backend(http_app(r)->st)));
}
