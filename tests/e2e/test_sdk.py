"""The browser-side opt-in (docs/sdk.md): SDK keys, what the Braze Web SDK
posts to /api/v3/data/, CORS for the origins a key lists, the per-address
budget, and the capture widget's script.

The bodies are shaped like the ones the unmodified SDK sends (the browser
tests in tests/browser/ send the real thing). What is checked: custom
events and attributes land as /users/track would put them and start the
same flows (the seed's Option 2: a webhook to /subscription/status/set,
then the confirmation SMS); an SDK key writes and never reads, and REST
keys are refused on the SDK routes; a page from another origin gets no
CORS header and changes nothing; a bad body is a 400 naming the place,
with nothing applied, not even the good objects beside it.
"""
import http.client
import json

from flowutil import add_flow, runs, wait_runs
from harness import (ADMIN_KEY, Optd, Response, expect, expect_error,
                     expect_status)
from smsutil import NUMBER, phone, sms_group, sms_optd, wait_outbox

SHOP = "https://shop.example"
T0 = 1795690841.5  # seconds, as the SDK writes times


def sdk_key(o, origins=(SHOP,), name=None, **fields):
    body = {"name": name or "web-%d" % id(fields), "sdk": True,
            "origins": list(origins), **fields}
    r = expect_status(o.post("/admin/api_keys", body), 201, "SDK key")
    expect(r.json["key"].startswith("optd_sdk_") and r.json["sdk"] is True
           and r.json["scopes"] == [], "an SDK key", r.json)
    return r.json["key"]


def data(o, body, key=None, origin=None, headers=None, source=None, **kw):
    """POST /api/v3/data/ as the SDK does: the key in the body, no
    Authorization header, Origin as a browser sends it."""
    if key is not None:
        body = dict(body, api_key=key)
    h = dict(headers or {})
    h.setdefault("X-Requested-With", "XMLHttpRequest")
    if origin:
        h["Origin"] = origin
    if source:  # from another loopback address
        conn = http.client.HTTPConnection(o.host, o.port, timeout=30,
                                          source_address=(source, 0))
        h["Content-Type"] = "application/json"
        conn.request("POST", "/api/v3/data/", json.dumps(body), h)
        r = conn.getresponse()
        resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()},
                        r.read().decode())
        conn.close()
        return resp
    return o.post("/api/v3/data/", body, key=None, headers=h, **kw)


def ce(user, name, props=None, t=T0):
    e = {"name": "ce", "time": t, "data": {"n": name},
         "session_id": "s-1"}
    if props is not None:
        e["data"]["p"] = props
    if user is not None:
        e["user_id"] = user
    return e


def attrs(user, **fields):
    custom = fields.pop("custom", None)
    a = {"user_id": user, **fields}
    if custom is not None:
        a["custom"] = custom
    return a


def revoke(o, kid):
    r = o.request("DELETE", "/admin/api_keys/%d" % kid)
    expect(r.status in (200, 204), "revoke key %d" % kid, r)


def events_of(o, user):
    r = o.get("/admin/users/%s/events?limit=1000" % user)
    if r.status == 404:
        return []
    return expect_status(r, 200, "events of %s" % user).json["events"]


def gate_flow(o, fid, audience):
    """A flow entered on event fid by users matching `audience` only; a
    run (it waits an hour) shows that the profile matched."""
    add_flow(o, {"id": fid, "entry": {"event": fid}, "audience": audience,
                 "steps": [{"type": "delay", "seconds": 3600}]})


def option2_flow(o, rest_key, group="promo"):
    """The seed's Option 2 (docs/flows.md): subscribe through optd's own
    REST API, then send the confirmation."""
    body = ('{"subscription_group_id":"%s","subscription_state":'
            '"subscribed","external_id":"{{${user_id}}}","phone":'
            '"{{canvas_entry_properties.${phone_number}}}"}' % group)
    add_flow(o, {
        "id": "seed-option-2", "name": "Phone captured",
        "entry": {"event": "phone_number_captured"},
        "audience": {"all": [{"attribute": "external_id",
                              "op": "is_not_blank"}]},
        "steps": [
            {"type": "webhook", "method": "POST",
             "url": "http://127.0.0.1:%d/subscription/status/set" % o.port,
             "headers": {"Content-Type": "application/json",
                         "Authorization": "Bearer " + rest_key},
             "body": body},
            {"type": "sms", "group_id": group,
             "body": "Thanks {{${first_name} | default: \"there\"}}! "
                     "Reply STOP to cancel."}]})


# ---- keys ----

def test_sdk_keys_are_created_listed_and_checked():
    with Optd() as o:
        r = o.post("/admin/api_keys", {
            "name": "web", "sdk": True,
            "origins": ["HTTPS://Shop.Example:443/", "http://127.0.0.1:8080",
                        "https://shop.example"], "rate_limit": 60})
        expect_status(r, 201, "create")
        expect(r.json["origins"] == [SHOP, "http://127.0.0.1:8080"] and
               r.json["rate_limit"] == 60, "origins normalised, once", r)
        listed = [k for k in o.get("/admin/api_keys").json["api_keys"]
                  if k["name"] == "web"]
        expect(len(listed) == 1 and listed[0]["sdk"] is True and
               listed[0]["origins"] == r.json["origins"] and
               "key" not in listed[0], "listed without the key", listed)
        admin = [k for k in o.get("/admin/api_keys").json["api_keys"]
                 if k["name"] == "admin"]
        expect(admin and admin[0]["sdk"] is False and
               "origins" not in admin[0], "REST keys say sdk false", admin)
        for body, words in (
                ({"name": "a", "sdk": True, "scopes": ["admin"]},
                 ["SDK key has no scopes"]),
                ({"name": "b", "scopes": ["admin"], "origins": [SHOP]},
                 ["origins are for SDK keys"]),
                ({"name": "c", "sdk": True, "origins": ["shop.example"]},
                 ["origins[0]", "http://"]),
                ({"name": "d", "sdk": True,
                  "origins": ["https://shop.example/cart"]},
                 ["origins[0]", "no path"]),
                ({"name": "e", "sdk": True, "origins": "https://x"},
                 ["origins must be an array"]),
                ({"name": "f", "sdk": "yes"}, ["sdk must be a boolean"]),
                ({"name": "g", "sdk": True,
                  "origins": ["https://a%d.example" % i
                              for i in range(17)]}, ["at most 16"])):
            expect_error(o.post("/admin/api_keys", body), 400, *words)
        # The command line makes the same keys.
        p = o.cli("keys", "create", "--sdk", "--name", "cli-web",
                  "--origin", "https://Shop.Example", "--origin",
                  "http://localhost:3000")
        j = json.loads(p.stdout)
        expect(j["sdk"] is True and j["key"].startswith("optd_sdk_") and
               j["origins"] == [SHOP, "http://localhost:3000"], "CLI", j)
        p = o.cli("keys", "create", "--sdk", "--name", "x", "--scope",
                  "admin", check=False)
        expect(p.returncode == 1 and "no scopes" in p.stderr, "CLI refusal",
               p.stderr)


def test_sdk_key_writes_and_never_reads():
    with Optd() as o:
        gid = o.create_group(id="promo", name="Promo", channel="sms")
        k = sdk_key(o)
        # On every REST route it is a 403 naming what it is.
        for method, path, body in (
                ("POST", "/subscription/status/set",
                 {"subscription_group_id": gid, "subscription_state":
                  "subscribed", "external_id": "u1"}),
                ("POST", "/users/track", {"events": [
                    {"external_id": "u1", "name": "x",
                     "time": "2026-11-26T10:00:00Z"}]}),
                ("GET", "/subscription/status/get?subscription_group_id=%s"
                 "&external_id=u1" % gid, None),
                ("GET", "/subscription/user/status?external_id=u1", None),
                ("GET", "/admin/api_keys", None),
                ("GET", "/admin/users/u1/events", None)):
            r = o.request(method, path, body, key=k)
            expect_error(r, 403, "SDK key")
        expect(events_of(o, "u1") == [], "nothing written", events_of(o, "u1"))
        # REST keys, even admin ones, are refused on the SDK route.
        track_key = o.create_key(["users.track"], name="backend")
        for rest in (ADMIN_KEY, track_key):
            r = data(o, {"events": [ce("u1", "x")]}, key=rest)
            expect_error(r, 403, "REST API key", "SDK key")
        # Missing, unknown and revoked SDK keys are 401s.
        expect_error(data(o, {"events": [ce("u1", "x")]}), 401,
                     "missing SDK key")
        expect_error(data(o, {"events": [ce("u1", "x")]},
                          key="optd_sdk_0000"), 401, "invalid SDK key")
        k2 = sdk_key(o, name="old")
        kid = [x["id"] for x in o.get("/admin/api_keys").json["api_keys"]
               if x["name"] == "old"][0]
        revoke(o, kid)
        expect_error(data(o, {"events": [ce("u1", "x")]}, key=k2), 401,
                     "invalid SDK key")
        # The SDK's header works alone; a header and body that disagree
        # are refused.
        r = data(o, {"events": [ce("u1", "hdr")]},
                 headers={"X-Braze-Api-Key": k})
        expect_status(r, 200, "key in X-Braze-Api-Key")
        r = data(o, {"events": [ce("u1", "x")]}, key=k,
                 headers={"X-Braze-Api-Key": k2})
        expect_error(r, 400, "api_key and X-Braze-Api-Key")
        expect_error(data(o, {"api_key": 5, "events": []}), 400,
                     "api_key must be a string")
        expect([e["name"] for e in events_of(o, "u1")] == ["hdr"],
               "only the accepted request wrote", events_of(o, "u1"))


# ---- what the SDK sends ----

def test_sdk_body_sets_attributes_and_logs_events():
    with Optd() as o:
        k = sdk_key(o)
        gate_flow(o, "gold", {"all": [
            {"attribute": "first_name", "op": "equals", "value": "Ada"},
            {"attribute": "plan", "op": "equals", "value": "gold"},
            {"attribute": "country", "op": "equals", "value": "US"},
            {"attribute": "tags", "op": "contains", "value": "vip"},
            {"attribute": "phone", "op": "is_not_blank"}]})
        # The session start: only an anonymous device and a session.
        r = data(o, {"respond_with": {"triggers": True, "user_id": "ada",
                                      "config": {"config_time": 0}},
                     "events": [{"name": "ss", "time": T0, "data": {}},
                                ce(None, "before_login", {"a": 1}),
                                {"name": "se", "time": T0,
                                 "data": {"d": 1.5}},
                                {"name": "ss", "time": T0, "data": {},
                                 "user_id": "ada"}],
                     "device": {"browser": "Chrome"}, "time": int(T0),
                     "sdk_version": "6.13.0", "device_id": "d-1"},
                 key=k, origin=SHOP)
        expect_status(r, 200, "session start")
        expect(r.json == {"message": "success", "attributes_processed": 0,
                          "events_processed": 0, "purchases_processed": 0,
                          "ignored": 4, "triggers": []}, "answer", r.json)
        # The user's data, as the SDK batches it.
        r = data(o, {"respond_with": {"user_id": "ada"},
                     "attributes": [attrs("ada", phone="(650) 253-0000",
                                          email="Ada@Example.com",
                                          first_name="Ada", country="US",
                                          custom={"plan": "gold",
                                                  "visits": 3})],
                     "events": [
                         {"name": "set", "time": T0, "user_id": "ada",
                          "data": {"key": "tags", "value": ["vip", "b"]}},
                         {"name": "inc", "time": T0, "user_id": "ada",
                          "data": {"key": "visits", "value": 1}},
                         ce("ada", "viewed", {"page": "/cart", "n": 2}),
                         {"name": "p", "time": T0, "user_id": "ada",
                          "data": {"pid": "sku-1", "c": "USD", "p": "9.99",
                                   "q": 2}},
                         ce("ada", "gold")]},
                 key=k, origin=SHOP)
        expect_status(r, 200, "data")
        expect(r.json["attributes_processed"] == 2 and
               r.json["events_processed"] == 2 and
               r.json["purchases_processed"] == 1 and
               r.json["ignored"] == 1 and "triggers" not in r.json,
               "counts", r.json)
        evs = events_of(o, "ada")
        names = sorted(e["name"] for e in evs)
        expect(names == ["gold", "viewed"], "custom events only", evs)
        viewed = [e for e in evs if e["name"] == "viewed"][0]
        expect(viewed["properties"] == {"page": "/cart", "n": 2} and
               viewed["time"].startswith("2026-11-26T11:00:41.5"),
               "properties and time", viewed)
        u = expect_status(o.user_status(external_id="ada"), 200).json
        expect(u["users"][0]["phone"] == "+16502530000" and
               u["users"][0]["email"] == "Ada@example.com",
               "phone normalised, e-mail domain lower-cased", u)
        rs = runs(o, "gold")
        expect(len(rs) == 1, "the profile matched every condition", rs)


def test_sdk_event_starts_option_2_flow():
    with sms_optd() as o:
        sms_group(o)
        rest = o.create_key(["subscription.status.set"], name="flows")
        option2_flow(o, rest)
        k = sdk_key(o)
        p = phone(42)
        r = data(o, {"attributes": [attrs("shopper-1", first_name="Ada",
                                          phone=p)],
                     "events": [ce("shopper-1", "phone_number_captured",
                                   {"phone_number": p})]},
                 key=k, origin=SHOP)
        expect_status(r, 200, "data")
        run = wait_runs(o, "seed-option-2", 1, timeout=15)[0]
        expect(run["state"] == "done", "run done", run)
        st = expect_status(o.status_get("promo", external_id="shopper-1"),
                           200).json
        expect(st["status"]["shopper-1"] == "Subscribed", "subscribed", st)
        ms = wait_outbox(o, 1, to=p)
        expect(len(ms) == 1 and ms[0]["state"] == "sent" and
               ms[0]["body"].startswith("Thanks Ada!") and
               ms[0]["from"] == NUMBER, "the confirmation SMS", ms)
        led = o.consent(external_id="shopper-1")
        expect(len(led) == 1 and led[0]["to"] == "subscribed" and
               led[0]["key_name"] == "flows", "ledger names the REST key",
               led)
        # Re-entry is off: the same event again starts nothing more.
        expect_status(data(o, {"events": [ce("shopper-1",
                                             "phone_number_captured",
                                             {"phone_number": p})]},
                           key=k), 200, "again")
        expect(len(runs(o, "seed-option-2")) == 1, "one run",
               runs(o, "seed-option-2"))


def test_sdk_batches_larger_than_users_track_are_applied_whole():
    with Optd() as o:
        k = sdk_key(o)
        body = {"attributes": [attrs("big-%d" % i, custom={"i": i})
                               for i in range(90)],
                "events": [ce("big", "e", {"i": i}) for i in range(200)]}
        r = data(o, body, key=k)
        expect_status(r, 200, "290 objects")
        expect(r.json["attributes_processed"] == 90 and
               r.json["events_processed"] == 200, "counts", r.json)
        expect(len(events_of(o, "big")) == 200, "all events",
               len(events_of(o, "big")))
        body["events"].append(ce("big", "e", {"$bad": 1}))
        expect_error(data(o, body, key=k), 400, "events[200]",
                     "property name")
        expect(len(events_of(o, "big")) == 200, "nothing more written",
               len(events_of(o, "big")))
        body = {"events": [ce("big", "e") for _ in range(301)]}
        expect_error(data(o, body, key=k), 400, "more than 300")


def test_sdk_bad_bodies_are_400_and_apply_nothing():
    with Optd() as o:
        k = sdk_key(o)
        good = ce("u1", "kept")
        for body, words in (
                ({"events": {"name": "ce"}}, ["events must be an array"]),
                ({"events": [good, 7]}, ["events[1] is not an object"]),
                ({"events": [good, dict(good, time="yesterday")]},
                 ["events[1].time", "seconds"]),
                ({"events": [good, {"name": "ce", "user_id": "u1",
                                    "time": T0, "data": {}}]},
                 ["events[1].data.n"]),
                ({"events": [good], "attributes": [
                    attrs("u1", phone="12")]},
                 ["attributes[0]", "phone \"12\""]),
                ({"events": [good], "attributes": [
                    attrs("u1", subscription_groups=[])]},
                 ["attributes[0].subscription_groups", "SDK key"]),
                ({"events": [good], "attributes": [
                    attrs("u1", custom={"email": "x@example.com"})]},
                 ["attributes[0].custom.email"]),
                ({"events": [good, {"name": "p", "user_id": "u1",
                                    "time": T0, "data": {
                                        "pid": "s", "c": "USD",
                                        "p": "free"}}]},
                 ["events[1].data.p", "price"]),
                ({"events": [good], "attributes": [
                    attrs("u1", custom={"big": "x" * 60000,
                                        "big2": "y" * 60000})]},
                 ["attributes[0]", "100 KB"]),
                ({"respond_with": "x", "events": [good]},
                 ["respond_with"])):
            expect_error(data(o, body, key=k), 400, *words)
        for raw, words in ((b"{not json", ["not valid JSON"]),
                           (b"[1,2]", ["JSON object"]),
                           (b"", ["empty"])):
            r = o.post("/api/v3/data/", raw=raw, key=None,
                       headers={"X-Braze-Api-Key": k})
            expect_error(r, 400, *words)
        r = o.post("/api/v3/data/", raw=b"{}", key=None,
                   content_type="text/plain")
        expect_error(r, 415, "application/json")
        expect(events_of(o, "u1") == [], "not one event written",
               events_of(o, "u1"))
        u = expect_status(o.user_status(external_id="u1"), 200).json
        expect(u["users"] == [], "no profile created", u)


# ---- CORS ----

def test_cors_for_listed_origins_only():
    with Optd() as o:
        k = sdk_key(o, origins=[SHOP, "http://127.0.0.1:8080"])
        other = sdk_key(o, origins=["https://other.example"],
                        name="other")
        body = {"events": [ce("u1", "x")]}
        r = expect_status(data(o, body, key=k, origin=SHOP), 200, "listed")
        expect(r.header("Access-Control-Allow-Origin") == SHOP and
               "Origin" in (r.header("Vary") or "") and
               "Retry-After" in (r.header("Access-Control-Expose-Headers")
                                 or ""), "CORS headers", r.headers)
        # Another key's origin, an unknown one: refused, no CORS header,
        # nothing written.
        for origin in ("https://other.example", "https://evil.example",
                       "https://shop.example.evil.example", "null"):
            r = data(o, {"events": [ce("u1", "from-" + origin)]}, key=k,
                     origin=origin)
            expect_error(r, 403, "origin", "not allowed")
            expect(r.header("Access-Control-Allow-Origin") is None,
                   "no CORS header for " + origin, r.headers)
        expect([e["name"] for e in events_of(o, "u1")] == ["x"],
               "only the listed origin wrote", events_of(o, "u1"))
        # Without Origin (not a browser) the key works as usual.
        expect_status(data(o, body, key=other), 200, "no Origin")
        # Preflights: any live SDK key's origin passes.
        for origin in (SHOP, "https://other.example"):
            r = o.request("OPTIONS", "/api/v3/data/", key=None, headers={
                "Origin": origin, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers":
                    "content-type,x-braze-api-key,x-requested-with"})
            expect_status(r, 204, "preflight from " + origin)
            expect(r.header("Access-Control-Allow-Origin") == origin and
                   "POST" in r.header("Access-Control-Allow-Methods") and
                   r.header("Access-Control-Allow-Headers") ==
                   "content-type,x-braze-api-key,x-requested-with" and
                   int(r.header("Access-Control-Max-Age")) > 0,
                   "preflight headers", r.headers)
        # A public page asking to reach optd on a private network.
        r = o.request("OPTIONS", "/api/v3/data/", key=None, headers={
            "Origin": SHOP, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true"})
        expect(r.status == 204 and r.header(
            "Access-Control-Allow-Private-Network") == "true",
            "private network preflight", r.headers)
        r = o.request("OPTIONS", "/api/v3/data/", key=None, headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Private-Network": "true"})
        expect_error(r, 403, "not allowed")
        expect(r.header("Access-Control-Allow-Private-Network") is None,
               "not for an unlisted origin", r.headers)
        expect(r.header("Access-Control-Allow-Origin") is None,
               "no CORS header", r.headers)
        r = o.request("OPTIONS", "/api/v3/data/", key=None)
        expect(r.status == 204 and "POST" in r.header("Allow"),
               "OPTIONS without Origin", r)
        # Revoking the key takes its origins away at once.
        kid = [x["id"] for x in o.get("/admin/api_keys").json["api_keys"]
               if x["name"] == "other"][0]
        revoke(o, kid)
        r = o.request("OPTIONS", "/api/v3/data/", key=None, headers={
            "Origin": "https://other.example",
            "Access-Control-Request-Method": "POST"})
        expect_error(r, 403, "not allowed")
        # CORS is for the SDK routes: REST routes send no such header.
        r = o.get("/subscription/user/status?external_id=u1",
                  headers={"Origin": SHOP})
        expect(r.header("Access-Control-Allow-Origin") is None,
               "no CORS on REST routes", r.headers)
        r = o.request("OPTIONS", "/subscription/status/set", key=None,
                      headers={"Origin": SHOP})
        expect_error(r, 405)


# ---- budget ----

def test_rate_limit_is_per_key_and_address():
    with Optd() as o:
        k = sdk_key(o, rate_limit=3)
        body = {"events": [ce("u1", "x")]}
        for i in range(3):
            r = expect_status(data(o, body, key=k, origin=SHOP), 200,
                              "request %d" % i)
            expect(r.header("X-RateLimit-Limit") == "3" and
                   r.header("X-RateLimit-Remaining") == str(2 - i),
                   "budget headers", r.headers)
        r = data(o, body, key=k, origin=SHOP)
        expect_error(r, 429, "rate limit")
        expect(int(r.header("Retry-After")) >= 1 and
               r.header("Access-Control-Allow-Origin") == SHOP,
               "a page can read Retry-After", r.headers)
        expect(len(events_of(o, "u1")) == 3, "the 429 wrote nothing",
               events_of(o, "u1"))
        # Another client address has its own budget.
        r = data(o, body, key=k, origin=SHOP, source="127.0.0.2")
        expect_status(r, 200, "from 127.0.0.2")
        expect(len(events_of(o, "u1")) == 4, "written",
               events_of(o, "u1"))


# ---- the rest of what the SDK and the widget fetch ----

def test_other_sdk_endpoints_and_widget_script():
    with Optd() as o:
        k = sdk_key(o)
        for path in ("/api/v3/content_cards/sync",
                     "/api/v3/feature_flags/sync", "/api/v3/banners/sync"):
            r = o.post(path, {"api_key": k, "device_id": "d"}, key=None,
                       headers={"Origin": SHOP})
            expect(r.status == 200 and r.json == {} and
                   r.header("Access-Control-Allow-Origin") == SHOP,
                   path, r)
            expect_error(o.post(path, {"device_id": "d"}, key=None), 401)
        r = o.get("/sdk/widget.js", key=None)
        expect_status(r, 200, "widget.js")
        expect(r.header("Content-Type").startswith("text/javascript") and
               "phone_number_captured" in r.body and
               "/api/v3/data/" in r.body and
               "max-age" in r.header("Cache-Control"), "the script", r)
        expect_error(o.post("/sdk/widget.js", {}, key=None), 405)
