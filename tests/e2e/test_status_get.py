"""GET /subscription/status/get and GET /subscription/user/status."""
from harness import Optd, expect, expect_error, expect_status

KEY_SCOPES = ["subscription.status.set", "subscription.status.get",
              "subscription.groups.get"]


def phone(i):
    return "+1415555%04d" % i


def ok(r, what):
    expect_status(r, 200, what)
    expect(r.json.get("message") == "success", what + ": message", r.json)
    return r.json


def set_(o, key, body):
    r = o.status_set(body, key=key)
    expect_status(r, 201, "status/set")


def seeded():
    """A server with an SMS group, an e-mail group, and a few users."""
    o = Optd().start()
    try:
        o.create_group(id="sms1", name="SMS one")
        o.create_group(id="mail1", name="Mail one", channel="email")
        key = o.create_key(KEY_SCOPES)
        set_(o, key, {"subscription_group_id": "sms1",
                      "subscription_state": "subscribed",
                      "external_id": ["sub1", "sub2"],
                      "phone": [phone(1), phone(2)]})
        set_(o, key, {"subscription_group_id": "sms1",
                      "subscription_state": "unsubscribed",
                      "external_id": ["unsub1"], "phone": [phone(3)]})
        set_(o, key, {"subscription_group_id": "mail1",
                      "subscription_state": "subscribed",
                      "external_id": ["sub1"],
                      "email": ["sub1@example.com"]})
    except BaseException:
        o.stop()
        raise
    return o, key


def test_status_get_by_each_identifier():
    o, key = seeded()
    with o:
        j = ok(o.status_get("sms1", key=key, external_id="sub1"), "ext")
        expect(j["status"] == {"sub1": "Subscribed"}, "one ext", j)
        j = ok(o.status_get("sms1", key=key,
                            external_id=["sub1", "unsub1", "nobody"]),
               "ext[]")
        expect(j["status"] == {"sub1": "Subscribed",
                               "unsub1": "Unsubscribed",
                               "nobody": "Unknown"}, "three states", j)
        j = ok(o.status_get("sms1", key=key, phone=phone(2)), "phone")
        expect(j["status"] == {phone(2): "Subscribed"}, "phone", j)
        j = ok(o.status_get("sms1", key=key,
                            phone=[phone(1), phone(3), phone(9)]), "phone[]")
        expect(j["status"] == {phone(1): "Subscribed",
                               phone(3): "Unsubscribed",
                               phone(9): "Unknown"}, "phone states", j)
        j = ok(o.status_get("mail1", key=key, email="sub1@example.com"),
               "email")
        expect(j["status"] == {"sub1@example.com": "Subscribed"}, "email", j)
        j = ok(o.status_get("mail1", key=key,
                            email=["sub1@example.com", "x@example.com"]),
               "email[]")
        expect(j["status"] == {"sub1@example.com": "Subscribed",
                               "x@example.com": "Unknown"}, "emails", j)
        # a user never touched in a group is Unknown there
        j = ok(o.status_get("mail1", key=key, external_id="sub2"), "other")
        expect(j["status"] == {"sub2": "Unknown"}, "unknown in mail1", j)
        # 50 ids is the limit and is fine
        ids = ["sub1"] + ["n%d" % i for i in range(49)]
        j = ok(o.status_get("sms1", key=key, external_id=ids), "50 ids")
        expect(len(j["status"]) == 50 and j["status"]["sub1"] ==
               "Subscribed", "50 answers", j)
        # external_id wins when other identifiers come with it
        j = ok(o.status_get("sms1", key=key, external_id="unsub1",
                            phone=phone(1)), "ext+phone")
        expect(j["status"] == {"unsub1": "Unsubscribed"},
               "queried by external_id alone", j)
        j = ok(o.status_get("sms1", key=key, external_id="sub1",
                            phone=phone(3), email="a@example.com"),
               "ext+phone+email")
        expect(j["status"] == {"sub1": "Subscribed"}, "ext wins", j)


def test_status_get_errors():
    o, key = seeded()
    with o:
        r = o.get("/subscription/status/get?external_id=sub1", key=key)
        expect_error(r, 400, "subscription_group_id")
        r = o.get("/subscription/status/get?subscription_group_id="
                  "&external_id=sub1", key=key)
        expect_error(r, 400, "subscription_group_id")
        r = o.status_get("no-such-group", key=key, external_id="sub1")
        expect_error(r, 400, "no-such-group")
        r = o.status_get("sms1", key=key)
        expect_error(r, 400, "external_id")
        for name in ("external_id", "phone", "email"):
            vals = ([phone(i) for i in range(51)] if name == "phone" else
                    ["x%d@example.com" % i for i in range(51)]
                    if name == "email" else ["e%d" % i for i in range(51)])
            r = o.status_get("sms1", key=key, **{name: vals})
            expect_error(r, 400, name, "50")
        r = o.status_get("sms1", key=key, phone=phone(1),
                         email="sub1@example.com")
        expect_error(r, 400, "email", "phone", "not both")
        r = o.status_get("sms1", key=key, phone="+1 222 333 444")
        expect_error(r, 400, "+1 222 333 444")
        r = o.status_get("sms1", key=key, external_id="")
        expect_error(r, 400, "external_id")


def test_user_status_shape():
    o, key = seeded()
    with o:
        j = ok(o.user_status(key=key, external_id="sub1"), "user/status")
        expect(j["total_count"] == 1 and len(j["users"]) == 1, "one user", j)
        u = j["users"][0]
        expect(set(u) == {"external_id", "email", "phone",
                          "subscription_groups"}, "user fields", u)
        expect(u["external_id"] == "sub1" and u["phone"] == phone(1) and
               u["email"] == "sub1@example.com", "user contact", u)
        groups = sorted(u["subscription_groups"], key=lambda g: g["id"])
        expect(groups == [
            {"id": "mail1", "name": "Mail one", "channel": "email",
             "status": "Subscribed"},
            {"id": "sms1", "name": "SMS one", "channel": "sms",
             "status": "Subscribed"}], "groups", u)
        j = ok(o.user_status(key=key, phone=phone(3)), "by phone")
        expect(j["total_count"] == 1 and
               j["users"][0]["external_id"] == "unsub1" and
               j["users"][0]["email"] is None, "by phone", j)
        expect(j["users"][0]["subscription_groups"][0]["status"] ==
               "Unsubscribed", "unsubscribed", j)
        j = ok(o.user_status(key=key, email="sub1@example.com"), "by email")
        expect([x["external_id"] for x in j["users"]] == ["sub1"],
               "by email", j)
        # nobody matches: an empty list, not an error
        j = ok(o.user_status(key=key, external_id="nobody"), "nobody")
        expect(j["users"] == [] and j["total_count"] == 0, "empty", j)
        # the same user named twice is listed once
        j = ok(o.user_status(key=key, external_id="sub1", phone=phone(1),
                             email="sub1@example.com"), "same user thrice")
        expect(j["total_count"] == 1, "deduplicated", j)
        # a profile with no history has no groups
        j = ok(o.user_status(key=key, external_id=["sub2", "unsub1"]),
               "two users")
        expect(j["total_count"] == 2, "two users", j)


def test_largest_legal_queries():
    """Braze allows 50 of each identifier in one query; the largest legal
    query strings must be answered like any other."""
    with Optd() as o:
        o.create_group(id="g", name="G")
        o.create_group(id="m", name="M", channel="email")
        key = o.create_key(KEY_SCOPES)
        ext = ["big-%02d" % i for i in range(50)]
        phones = [phone(300 + i) for i in range(50)]
        emails = ["big%02d@example.com" % i for i in range(50)]
        set_(o, key, {"subscription_group_id": "g",
                      "subscription_state": "subscribed",
                      "external_id": ext, "phone": phones})
        set_(o, key, {"subscription_group_id": "m",
                      "subscription_state": "subscribed",
                      "external_id": ext, "email": emails})
        r = o.status_get("g", key=key, external_id=ext, phone=phones,
                         timeout=20)
        j = ok(r, "status/get with 50 external_id[] and 50 phone[]")
        expect(j["status"] == {x: "Subscribed" for x in ext},
               "answered by external_id", j)
        r = o.user_status(key=key, external_id=ext, phone=phones,
                          timeout=20)
        j = ok(r, "user/status with 50 external_id[] and 50 phone[]")
        expect(j["total_count"] == 50, "the same 50 users", j)
        r = o.user_status(key=key, external_id=ext, phone=phones,
                          email=emails, timeout=20)
        j = ok(r, "user/status with 50 of each identifier")
        expect(j["total_count"] == 50, "the same 50 users", j)


def test_user_status_paging_and_limits():
    with Optd() as o:
        o.create_group(id="g", name="G")
        key = o.create_key(KEY_SCOPES)
        ext = ["p%02d" % i for i in range(50)]
        set_(o, key, {"subscription_group_id": "g",
                      "subscription_state": "subscribed",
                      "external_id": ext})
        # 60 profiles share one phone, so 51 identifiers name 110 users
        shared = ["s%02d" % i for i in range(60)]
        for part in (shared[:50], shared[50:]):
            set_(o, key, {"subscription_group_id": "g",
                          "subscription_state": "subscribed",
                          "external_id": part,
                          "phone": [phone(999)] * len(part)})
        # default and maximum limit is 100
        j = ok(o.user_status(key=key, external_id=ext, phone=phone(999)),
               "110 users")
        expect(j["total_count"] == 110, "total_count counts all", j)
        expect(len(j["users"]) == 100, "default limit 100",
               len(j["users"]))
        first = [u["external_id"] for u in j["users"]]
        j = ok(o.user_status(key=key, external_id=ext, phone=phone(999),
                             limit=100, offset=100), "page 2")
        expect(len(j["users"]) == 10 and j["total_count"] == 110, "last", j)
        expect(sorted(first + [u["external_id"] for u in j["users"]]) ==
               sorted(ext + shared), "two pages cover everyone once", j)
        # pages of 7 cover the 50 users exactly once
        seen = []
        for off in range(0, 56, 7):
            j = ok(o.user_status(key=key, external_id=ext, limit=7,
                                 offset=off), "page at %d" % off)
            expect(j["total_count"] == 50, "total_count", j)
            expect(len(j["users"]) == min(7, max(0, 50 - off)),
                   "page size at %d" % off, len(j["users"]))
            seen += [u["external_id"] for u in j["users"]]
        expect(sorted(seen) == ext, "every user once", seen)
        j = ok(o.user_status(key=key, external_id=ext, limit=100, offset=50),
               "past the end")
        expect(j["users"] == [] and j["total_count"] == 50, "past end", j)
        for bad in ("0", "101", "-1", "abc", ""):
            r = o.user_status(key=key, external_id="p00", limit=bad)
            expect_error(r, 400, "limit")
        for bad in ("-1", "x"):
            r = o.user_status(key=key, external_id="p00", offset=bad)
            expect_error(r, 400, "offset")
        r = o.user_status(key=key)
        expect_error(r, 400, "external_id")
        r = o.user_status(key=key, external_id=["e%d" % i for i in range(51)])
        expect_error(r, 400, "external_id", "50")
        r = o.user_status(key=key, phone="+1 222 333 444")
        expect_error(r, 400, "+1 222 333 444")
