"""POST /users/track (docs/flows.md): attributes, events and purchases,
object errors beside the objects that apply, fatal 400s that change
nothing, who an object is about, and Idempotency-Key on /users/track and
/subscription/status/set. What the profile holds is read back through
/subscription/user/status, the events list and flow templates (probe).
Every optd here writes its --sms-log in its own scratch directory."""
import json
import threading

from flowutil import (Target, event, flow_optd, probe, status, track,
                      track_ok)
from harness import expect, expect_error, expect_status, query
from smsutil import messages, phone, sms_group

SET = ["subscription.status.set", "subscription.status.get"]


def contact(o, **who):
    """external_id, email and phone of the one user named (user/status)."""
    r = expect_status(o.user_status(**who), 200, "user/status")
    expect(r.json["total_count"] == 1, "one user for %r" % who, r.json)
    u = r.json["users"][0]
    return {k: u[k] for k in ("external_id", "email", "phone")}


def events(o, ext, **q):
    r = o.get("/admin/users/%s/events?%s" % (ext, query(**q)))
    expect_status(r, 200, "events of %s" % ext)
    expect(r.json["external_id"] == ext, "events name their user", r.json)
    return r.json["events"]


def test_attributes_contact_and_custom():
    with flow_optd() as o, Target() as t:
        track_ok(o, {"attributes": [{
            "external_id": "ada", "phone": "(212) 555-0101",
            "email": "ada@example.com", "first_name": "Ada",
            "last_name": "Lovelace", "plan": "gold", "score": 42,
            "ratio": 1.5, "vip": True, "tags": ["a", "b"]}]},
            attributes_processed=1)
        expect(contact(o, external_id="ada") == {
            "external_id": "ada", "email": "ada@example.com",
            "phone": "+12125550101"}, "phone normalised, email kept")
        names = ["first_name", "last_name", "custom_attribute.${plan}",
                 "custom_attribute.${score}", "custom_attribute.${ratio}",
                 "custom_attribute.${vip}", "custom_attribute.${tags}",
                 "${phone_number}", "${email_address}", "${user_id}"]
        got = probe(o, t, names, external_id="ada")
        expect(got["first_name"] == "Ada" and got["last_name"] ==
               "Lovelace" and got["custom_attribute.${plan}"] == "gold" and
               got["custom_attribute.${score}"] == "42" and
               got["custom_attribute.${ratio}"] == "1.5" and
               got["custom_attribute.${vip}"] == "true" and
               json.loads(got["custom_attribute.${tags}"]) == ["a", "b"] and
               got["${phone_number}"] == "+12125550101" and
               got["${email_address}"] == "ada@example.com" and
               got["${user_id}"] == "ada", "the profile as stored", got)
        # null removes; other attributes stay; a new value replaces
        track_ok(o, {"attributes": [{
            "external_id": "ada", "plan": None, "last_name": None,
            "score": 43, "tags": ["c"]}]}, attributes_processed=1)
        got = probe(o, t, names, external_id="ada")
        expect(got["custom_attribute.${plan}"] == "ABSENT" and
               got["last_name"] == "ABSENT" and got["first_name"] == "Ada"
               and got["custom_attribute.${score}"] == "43" and
               json.loads(got["custom_attribute.${tags}"]) == ["c"] and
               got["custom_attribute.${ratio}"] == "1.5",
               "null removed plan and last_name only", got)
        # a new phone replaces the old one, normalised the same way
        track_ok(o, {"attributes": [{"external_id": "ada",
                                     "phone": "+1 212-555-0199"}]},
                 attributes_processed=1)
        expect(contact(o, external_id="ada")["phone"] == "+12125550199",
               "new phone")


def test_attribute_object_errors_leave_the_others_applied():
    """An impossible phone, a name starting with $, no user or not an
    object is an error of that object alone."""
    with flow_optd() as o:
        bad = [{"external_id": "b1", "phone": "+1 222 333 444"},
               {"external_id": "b2", "$plan": "gold"},
               {"first_name": "nobody"},
               "not an object"]
        j = track_ok(o, {"attributes": [
            {"external_id": "ok1", "phone": phone(1)}] + bad + [
            {"external_id": "ok2", "phone": phone(2)}]},
            attributes_processed=2,
            errors=[("attributes", i) for i in range(1, len(bad) + 1)])
        types = [e["type"] for e in j["errors"]]
        expect("+1 222 333 444" in types[0], "the phone is quoted", types)
        expect(all(isinstance(x, str) and x for x in types), "types", types)
        expect(contact(o, external_id="ok1")["phone"] == phone(1) and
               contact(o, external_id="ok2")["phone"] == phone(2),
               "the good objects applied")
        r = o.user_status(external_id=["b1", "b2"])
        expect(r.json["total_count"] == 0,
               "a refused object writes nothing, not even its user", r.json)


def test_attribute_values_of_other_types_are_object_errors():
    """A custom attribute is a string, number, boolean, array of strings
    or null (docs/flows.md); an object or an array of numbers is that
    object's error."""
    with flow_optd() as o:
        track_ok(o, {"attributes": [
            {"external_id": "t1", "address": {"city": "Paris"}},
            {"external_id": "t2", "lucky": [7, 13]},
            {"external_id": "t3", "tags": ["a", None]},
            {"external_id": "t4", "tags": ["a", "b"], "n": -1.25,
             "s": "", "b": False, "gone": None}]},
            attributes_processed=1,
            errors=[("attributes", 0), ("attributes", 1), ("attributes", 2)])


def test_subscription_groups_go_through_the_consent_path():
    with flow_optd() as o:
        sms_group(o)
        sms_group(o, "doi", number="+16505550199", double_opt_in=True)
        key = o.create_key(["users.track"], name="tracker")
        track_ok(o, {"attributes": [{
            "external_id": "s1", "phone": phone(11),
            "subscription_groups": [{"subscription_group_id": "promo",
                                     "subscription_state": "subscribed"}]}]},
            key=key, attributes_processed=1)
        expect(status(o, "promo", external_id="s1") == "Subscribed",
               "subscribed")
        expect(status(o, "promo", phone=phone(11)) == "Subscribed",
               "the phone given beside it is the profile's")
        led = o.consent(external_id="s1")
        expect(len(led) == 1 and led[0]["group_id"] == "promo" and
               led[0]["to"] == "subscribed" and led[0]["source"] == "api",
               "one ledger entry, source api", led)
        expect(led[0]["phone"] == phone(11), "the ledger has the phone", led)
        track_ok(o, {"attributes": [{
            "external_id": "s1", "subscription_groups": [{
                "subscription_group_id": "promo",
                "subscription_state": "unsubscribed"}]}]},
            attributes_processed=1)
        expect(status(o, "promo", external_id="s1") == "Unsubscribed",
               "unsubscribed")
        # a bad state is an object error before anything is written
        track_ok(o, {"attributes": [{
            "external_id": "s3", "subscription_groups": [{
                "subscription_group_id": "promo",
                "subscription_state": "maybe"}]}]},
            errors=[("attributes", 0)])
        # double opt-in honoured: still unsubscribed, a prompt queued
        track_ok(o, {"attributes": [{
            "external_id": "d1", "phone": phone(12),
            "subscription_groups": [{"subscription_group_id": "doi",
                                     "subscription_state": "subscribed",
                                     "use_double_opt_in_logic": True}]}]},
            attributes_processed=1)
        expect(status(o, "doi", external_id="d1") == "Unsubscribed",
               "double opt-in leaves the phone unsubscribed")
        ms = messages(o, to=phone(12))
        expect([m["kind"] for m in ms] == ["doi_prompt"],
               "one double opt-in prompt", ms)
        # without the flag, a double opt-in group subscribes at once
        track_ok(o, {"attributes": [{
            "external_id": "d2", "phone": phone(13),
            "subscription_groups": [{"subscription_group_id": "doi",
                                     "subscription_state": "subscribed"}]}]},
            attributes_processed=1)
        expect(status(o, "doi", external_id="d2") == "Subscribed",
               "no double opt-in without use_double_opt_in_logic")
        # an unknown group is that object's error: the object is skipped
        # (not counted, its user not made), the others apply
        track_ok(o, {"attributes": [{
            "external_id": "s2", "plan": "gold", "subscription_groups": [
                {"subscription_group_id": "promo",
                 "subscription_state": "subscribed"},
                {"subscription_group_id": "nope",
                 "subscription_state": "subscribed"}]}, {
            "external_id": "s1", "subscription_groups": [{
                "subscription_group_id": "promo",
                "subscription_state": "subscribed"}]}]},
            attributes_processed=1, errors=[("attributes", 0)])
        expect(status(o, "promo", external_id="s1") == "Subscribed",
               "the good object applied")
        expect(o.consent(external_id="s2") == [],
               "the skipped object changed no consent")
        expect(o.user_status(external_id="s2").json["total_count"] == 0,
               "the skipped object made no user")


def test_subscription_ledger_names_the_key_as_status_set_does():
    """/users/track's subscription_groups take the consent path of
    /subscription/status/set, whose ledger entries name the API key, the
    request and the client (DESIGN.md: api key id, ip)."""
    with flow_optd() as o:
        sms_group(o)
        key = o.create_key(["users.track", "subscription.status.set"],
                           name="tracker")
        expect_status(o.status_set({
            "subscription_group_id": "promo",
            "subscription_state": "subscribed", "external_id": "via-set"},
            key=key), 201, "status/set")
        track_ok(o, {"attributes": [{
            "external_id": "via-track", "subscription_groups": [{
                "subscription_group_id": "promo",
                "subscription_state": "subscribed"}]}]},
            key=key, attributes_processed=1)
        want = o.consent(external_id="via-set")[0]
        got = o.consent(external_id="via-track")[0]
        expect(want["key_name"] == "tracker", "status/set names it", want)
        for k in ("key_name", "request_id", "client_addr"):
            expect(bool(got[k]) == bool(want[k]) and
                   (k != "key_name" or got[k] == want[k]),
                   "users/track records %s as status/set does" % k,
                   (got, want))


def test_events_listed_newest_first_and_future_time_is_now():
    with flow_optd() as o:
        track_ok(o, {"events": [event("first", {"n": 1, "s": "x"},
                                      time_="2020-05-06T07:08:09Z",
                                      external_id="e1")]},
                 events_processed=1)
        track_ok(o, {"events": [event("second", time_="2099-01-01T00:00:00Z",
                                      external_id="e1")]},
                 events_processed=1)
        evs = events(o, "e1")
        expect([e["name"] for e in evs] == ["second", "first"],
               "newest first", evs)
        expect(evs[1]["time"].startswith("2020-05-06T07:08:09") and
               evs[1]["properties"] == {"n": 1, "s": "x"},
               "time and properties kept", evs[1])
        expect(evs[0]["time"] == evs[0]["received_at"],
               "a time in the future became now", evs[0])
        expect([e["name"] for e in events(o, "e1", limit=1)] == ["second"],
               "limit")
        p = o.cli("events", "--user", "e1")
        cli = json.loads(p.stdout)
        expect(cli["events"] == evs, "optd events lists the same", cli)
        p = o.cli("events", "--user", "e1", "--limit", "1")
        expect([e["name"] for e in json.loads(p.stdout)["events"]] ==
               ["second"], "optd events --limit", p.stdout)
        expect_error(o.get("/admin/users/nobody/events"), 404)
        p = o.cli("events", "--user", "nobody", check=False)
        expect(p.returncode == 1 and "nobody" in p.stderr,
               "optd events for an unknown user", p.stderr)


def test_names_of_255_characters_are_kept_whole():
    """Event names and property names are 1 to 255 characters, not bytes:
    a name of 255 non-ASCII characters is stored and listed whole."""
    with flow_optd() as o:
        name = "é" * 255
        prop = "ü" * 255
        track_ok(o, {"events": [event(name, {prop: "€" * 255},
                                      external_id="n1")],
                     "purchases": [{"external_id": "n1",
                                    "product_id": "€" * 255,
                                    "currency": "EUR", "price": 1,
                                    "time": "2026-01-01T00:00:00Z"}]},
                 events_processed=1, purchases_processed=1)
        evs = events(o, "n1")
        expect([(e["name"], e["properties"]) for e in evs] ==
               [(name, {prop: "€" * 255})], "the event whole", evs)


def test_event_and_purchase_object_errors():
    with flow_optd() as o:
        j = track_ok(o, {
            "events": [
                event("ok", {"k": "v"}, external_id="x1"),
                {"external_id": "x1", "time": "2026-01-01T00:00:00Z"},
                event("", external_id="x1"),
                event("a" * 256, external_id="x1"),
                event("bad-time", time_="yesterday", external_id="x1"),
                event("dollar", {"$k": 1}, external_id="x1"),
                event("long", {"k": "v" * 256}, external_id="x1"),
                event("props", [1, 2], external_id="x1"),
                event("max", {"k": "v" * 255, "n" * 255: 1},
                      external_id="x1"),
                event("big", {"p%03d" % i: "v" * 250 for i in range(220)},
                      external_id="x1"),
                event("fits", {"p%03d" % i: "v" * 250 for i in range(180)},
                      external_id="x1")],
            "purchases": [
                {"external_id": "x1", "product_id": "sku-1",
                 "currency": "USD", "price": 9.99,
                 "time": "2026-01-01T00:00:00Z"},
                {"external_id": "x1", "product_id": "sku-1",
                 "currency": "US", "price": 1,
                 "time": "2026-01-01T00:00:00Z"},
                {"external_id": "x1", "product_id": "sku-1",
                 "currency": "USD", "price": "1",
                 "time": "2026-01-01T00:00:00Z"},
                {"external_id": "x1", "currency": "USD", "price": 1,
                 "time": "2026-01-01T00:00:00Z"},
                {"external_id": "x1", "product_id": "sku-2",
                 "currency": "EUR", "price": 2, "quantity": 3,
                 "time": "2026-01-01T00:00:00Z"},
                {"product_id": "sku-1", "currency": "USD", "price": 1,
                 "time": "2026-01-01T00:00:00Z"}]},
            events_processed=3, purchases_processed=2,
            errors=[("events", i) for i in (1, 2, 3, 4, 5, 6, 7, 9)] +
                   [("purchases", i) for i in (1, 2, 3, 5)])
        for e in j["errors"]:
            expect(set(e) == {"type", "input_array", "index"} and
                   isinstance(e["type"], str) and e["type"],
                   "an error is type, input_array, index", e)
        expect([e["name"] for e in events(o, "x1")] == ["fits", "max", "ok"],
               "only the good events stored")


def test_fatal_errors_change_nothing():
    with flow_optd() as o:
        one = {"external_id": "f1", "first_name": "F"}
        ev = event("e", external_id="f1")
        cases = [
            ("not JSON", b'{"attributes": [', None),
            ("76 attributes", None, {"attributes": [one] * 76}),
            ("76 events", None, {"events": [ev] * 76}),
            ("76 purchases", None, {"events": [ev], "purchases": [
                {"external_id": "f1", "product_id": "p", "currency": "USD",
                 "price": 1, "time": "2026-01-01T00:00:00Z"}] * 76}),
            ("unknown field", None, {"events": [ev], "extra": []}),
            ("attributes not an array", None, {"events": [ev],
                                               "attributes": one}),
            ("events not an array", None, {"events": ev}),
            ("no array", None, {}),
            ("a JSON array", None, [ev]),
            ("a JSON string", None, "events"),
        ]
        for what, raw, body in cases:
            if raw is not None:
                r = o.post("/users/track", raw=raw)
            else:
                r = track(o, body)
            expect_error(r, 400)
            expect(r.json.get("message"), "%s: a message" % what, r.json)
        expect_error(o.get("/admin/users/f1/events"), 404)
        expect(o.user_status(external_id="f1").json["total_count"] == 0,
               "no user was made")
        # 75 of each is the limit, not over it
        track_ok(o, {"attributes": [one] * 75, "events": [ev] * 75},
                 attributes_processed=75, events_processed=75)
        expect(len(events(o, "f1")) == 75, "75 events")


def test_scope_users_track_required():
    with flow_optd() as o:
        body = {"events": [event("e", external_id="k1")]}
        other = o.create_key(SET)
        expect_error(track(o, body, key=other), 403)
        expect_error(track(o, body, key=None), 401)
        expect_error(o.get("/admin/users/k1/events"), 404)
        key = o.create_key(["users.track"])
        track_ok(o, body, key=key, events_processed=1)
        expect_error(o.status_set({"subscription_group_id": "g",
                                   "subscription_state": "subscribed",
                                   "external_id": "k1"}, key=key), 403)


def test_user_alias_and_update_existing_only():
    with flow_optd() as o, Target() as t:
        alias = {"alias_name": "anon-7", "alias_label": "web"}
        track_ok(o, {"attributes": [{"user_alias": alias, "color": "red"}]},
                 attributes_processed=1)
        track_ok(o, {"attributes": [{"user_alias": alias, "size": "L"}]},
                 attributes_processed=1)
        got = probe(o, t, ["custom_attribute.${color}",
                           "custom_attribute.${size}", "${user_id}"],
                    user_alias=alias)
        expect(got == {"custom_attribute.${color}": "red",
                       "custom_attribute.${size}": "L",
                       "${user_id}": "ABSENT"},
               "one profile for the alias, with no external_id", got)
        other = {"alias_name": "anon-7", "alias_label": "app"}
        got = probe(o, t, ["custom_attribute.${color}"], user_alias=other)
        expect(got == {"custom_attribute.${color}": "ABSENT"},
               "another label is another profile", got)
        track_ok(o, {"attributes": [
            {"user_alias": {"alias_name": "x"}, "color": "blue"},
            {"user_alias": "anon-7", "color": "blue"}]},
            errors=[("attributes", 0), ("attributes", 1)])
        # _update_existing_only: an unknown user is an error, not made
        track_ok(o, {"attributes": [
            {"external_id": "ghost", "_update_existing_only": True,
             "color": "grey"},
            {"user_alias": {"alias_name": "ghost", "alias_label": "web"},
             "_update_existing_only": True, "color": "grey"}],
            "events": [event("e", external_id="ghost",
                             _update_existing_only=True)]},
            errors=[("attributes", 0), ("attributes", 1), ("events", 0)])
        expect_error(o.get("/admin/users/ghost/events"), 404)
        got = probe(o, t, ["custom_attribute.${color}"],
                    user_alias={"alias_name": "ghost", "alias_label": "web"})
        expect(got == {"custom_attribute.${color}": "ABSENT"},
               "the alias ghost was not made with grey", got)
        # … and a known one is updated
        track_ok(o, {"attributes": [{"external_id": "real", "color": "a"}]},
                 attributes_processed=1)
        track_ok(o, {"attributes": [{"external_id": "real", "color": "b",
                                     "_update_existing_only": True}],
                     "events": [event("e", external_id="real",
                                      _update_existing_only=True)]},
                 attributes_processed=1, events_processed=1)
        expect(len(events(o, "real")) == 1, "the event of a known user")
        got = probe(o, t, ["custom_attribute.${color}"], external_id="real")
        expect(got == {"custom_attribute.${color}": "b"}, "updated", got)
        track_ok(o, {"attributes": [{"external_id": "real",
                                     "_update_existing_only": "yes"}]},
                 errors=[("attributes", 0)])


def test_email_with_phone_the_email_identifies():
    with flow_optd() as o:
        track_ok(o, {"attributes": [
            {"external_id": "by-mail", "email": "m@example.com"},
            {"external_id": "by-phone", "phone": phone(21)}]},
            attributes_processed=2)
        # both given: the email's profile gets the phone and the event
        track_ok(o, {"attributes": [{"email": "m@example.com",
                                     "phone": phone(22),
                                     "first_name": "Mail"}],
                     "events": [event("both", email="m@example.com",
                                      phone=phone(21))]},
                 attributes_processed=1, events_processed=1)
        expect(contact(o, external_id="by-mail") == {
            "external_id": "by-mail", "email": "m@example.com",
            "phone": phone(22)}, "the email's profile took the phone")
        expect(contact(o, external_id="by-phone")["phone"] == phone(21),
               "the phone's profile unchanged")
        expect([e["name"] for e in events(o, "by-mail")] == ["both"],
               "the event went to the email's profile")
        expect(events(o, "by-phone") == [], "not to the phone's")
        # a phone alone names the oldest profile with it
        track_ok(o, {"events": [event("phone-only", phone="(212) 555-0021")]},
                 events_processed=1)
        expect([e["name"] for e in events(o, "by-phone")] == ["phone-only"],
               "phone alone: its profile")
        # an unknown email or phone makes a profile with it
        track_ok(o, {"events": [event("new", email="new@example.com"),
                                event("new", phone=phone(23))]},
                 events_processed=2)
        r = expect_status(o.user_status(email="new@example.com"), 200, "")
        expect(r.json["total_count"] == 1 and
               r.json["users"][0]["external_id"] is None,
               "an anonymous profile with the email", r.json)
        r = expect_status(o.user_status(phone=phone(23)), 200, "")
        expect(r.json["total_count"] == 1, "one with the phone", r.json)


# ---- Idempotency-Key ----

def replayed(r):
    return r.header("Idempotent-Replayed") == "true"


def test_idempotency_key_on_users_track():
    with flow_optd() as o:
        body = {"attributes": [{"external_id": "i1", "n": 1}],
                "events": [event("once", external_id="i1"),
                           event("once", external_id="i1"),
                           {"name": "no user"}]}
        h = {"Idempotency-Key": "track-1"}
        r1 = expect_status(track(o, body, headers=h), 201, "first")
        expect(not replayed(r1), "the first answer is not a replay", r1)
        r2 = expect_status(track(o, body, headers=h), 201, "again")
        expect(replayed(r2) and r2.json == r1.json,
               "the same answer, marked replayed", (r1, r2.headers))
        expect(len(events(o, "i1")) == 2, "the events stored once")
        # another body under the same key: the first answer, no change
        r3 = track(o, {"events": [event("other", external_id="i1")]},
                   headers=h)
        expect(r3.status == 201 and replayed(r3) and r3.json == r1.json,
               "a key names its first answer", r3)
        expect(len(events(o, "i1")) == 2, "nothing more stored")
        # the same key on another endpoint is another key
        g = sms_group(o)
        r = o.status_set({"subscription_group_id": g,
                          "subscription_state": "subscribed",
                          "external_id": "i1"}, headers=h)
        expect(r.status == 201 and not replayed(r),
               "status/set has its own keys", r)
        # concurrent requests with one key: one applies
        h = {"Idempotency-Key": "track-2"}
        out = []

        def send():
            out.append(track(o, {"events": [event("race", external_id="i2")]},
                             headers=h))
        ths = [threading.Thread(target=send) for _ in range(6)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        expect(all(r.status == 201 for r in out), "all answered", out)
        expect(sum(not replayed(r) for r in out) == 1, "one not replayed",
               [r.headers for r in out])
        expect(len(events(o, "i2")) == 1, "one event row")
        # a fatal 400 stores no answer: the key is still free
        h = {"Idempotency-Key": "track-3"}
        expect_error(track(o, {"events": "x"}, headers=h), 400)
        r = track(o, {"events": [event("late", external_id="i3")]},
                  headers=h)
        expect(r.status == 201 and not replayed(r), "the key was free", r)


def test_idempotency_key_on_status_set_v1_and_v2():
    with flow_optd() as o:
        g = sms_group(o)
        key = o.create_key(SET, name="setter")
        sub = {"subscription_group_id": g, "subscription_state": "subscribed",
               "external_id": "p1", "phone": phone(31)}
        unsub = dict(sub, subscription_state="unsubscribed")
        h = {"Idempotency-Key": "set-1"}
        r1 = expect_status(o.status_set(sub, key=key, headers=h), 201, "v1")
        r2 = expect_status(o.status_set(sub, key=key, headers=h), 201, "v1")
        expect(not replayed(r1) and replayed(r2) and r1.json == r2.json,
               "v1 replayed", (r1.headers, r2.headers))
        expect(len(o.consent(external_id="p1")) == 1, "one ledger entry")
        expect_status(o.status_set(unsub, key=key, headers={
            "Idempotency-Key": "set-2"}), 201, "v1 unsubscribe")
        r = o.status_set(sub, key=key, headers=h)
        expect(r.status == 201 and replayed(r),
               "the first key replays", r)
        expect(status(o, g, external_id="p1") == "Unsubscribed",
               "a replay does not subscribe again")
        expect(len(o.consent(external_id="p1")) == 2, "two ledger entries")
        v2 = {"subscription_groups": [{
            "subscription_group_id": g, "subscription_state": "subscribed",
            "external_ids": ["p2"], "phones": [phone(32)]}]}
        h = {"Idempotency-Key": "set-v2-1"}
        r1 = expect_status(o.status_set(v2, key=key, v2=True, headers=h),
                           201, "v2")
        r2 = expect_status(o.status_set(v2, key=key, v2=True, headers=h),
                           201, "v2")
        expect(not replayed(r1) and replayed(r2) and r1.json == r2.json,
               "v2 replayed", (r1.headers, r2.headers))
        expect(len(o.consent(external_id="p2")) == 1, "v2: one entry")
        expect(status(o, g, external_id="p2") == "Subscribed", "v2 applied")


def test_idempotency_key_must_be_1_to_255_bytes():
    with flow_optd() as o:
        g = sms_group(o)
        body = {"events": [event("k", external_id="k1")]}
        sub = {"subscription_group_id": g, "subscription_state": "subscribed",
               "external_id": "k2"}
        for bad in ("k" * 256, ""):
            h = {"Idempotency-Key": bad}
            expect_error(track(o, body, headers=h), 400, "Idempotency-Key")
            expect_error(o.status_set(sub, headers=h), 400,
                         "Idempotency-Key")
            expect_error(o.status_set({"subscription_groups": [{
                "subscription_group_id": g,
                "subscription_state": "subscribed",
                "external_ids": ["k2"]}]}, v2=True, headers=h), 400,
                "Idempotency-Key")
        expect_error(o.get("/admin/users/k1/events"), 404)
        expect(o.consent(external_id="k2") == [], "nothing applied")
        h = {"Idempotency-Key": "k" * 255}
        expect_status(track(o, body, headers=h), 201, "255 bytes")
        expect(replayed(track(o, body, headers=h)), "255 bytes replayed")
        expect(len(events(o, "k1")) == 1, "once")
