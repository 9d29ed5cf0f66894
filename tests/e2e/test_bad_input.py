"""Bad input to the core: every case gets a 4xx JSON error whose message
names the field or the problem, never a 5xx; a request with one bad entry
changes nothing; and the server stays healthy and exits cleanly."""
import http.client
import json

from harness import ADMIN_KEY, Optd, TestFailure, expect, expect_status

SCOPES = ["subscription.status.set", "subscription.status.get",
          "subscription.groups.get"]
V1 = "/subscription/status/set"
V2 = "/v2/subscription/status/set"


def phone(i):
    return "+1212555%04d" % i


def start():
    o = Optd().start()
    o.create_group(id="sms", name="SMS")
    o.create_group(id="mail", name="Mail", channel="email")
    return o, o.create_key(SCOPES)


class Cases:
    """Collects every mismatch so one run reports them all."""

    def __init__(self):
        self.bad = []

    def check(self, what, r, status, *words):
        problems = []
        if r.status >= 500:
            problems.append("5xx")
        if r.status != status:
            problems.append("status %d, want %d" % (r.status, status))
        msg = r.json.get("message") if isinstance(r.json, dict) else None
        if not isinstance(msg, str) or not msg:
            problems.append("no JSON message")
        else:
            for w in words:
                if w.lower() not in msg.lower():
                    problems.append("message lacks %r" % w)
        if problems:
            self.bad.append("%s: %s; got %r" % (what, ", ".join(problems),
                                                r))

    def done(self):
        if self.bad:
            raise TestFailure("%d bad-input case(s) answered wrongly:\n  %s"
                              % (len(self.bad), "\n  ".join(self.bad)))


def post_raw(o, path, data, key, content_type="application/json"):
    if isinstance(data, str):
        data = data.encode()
    return o.request("POST", path, raw=data, key=key,
                     content_type=content_type)


def nested(depth):
    """A JSON value of exactly `depth` levels of arrays."""
    return "[" * depth + "]" * depth


V1_BASE = {"subscription_group_id": "sms",
           "subscription_state": "subscribed", "external_id": "x1"}


def v1(**over):
    b = dict(V1_BASE)
    for k, v in over.items():
        if v is DROP:
            b.pop(k, None)
        else:
            b[k] = v
    return b


DROP = object()

V1_CASES = [
    # (what, body, words...)
    ("group id missing", v1(subscription_group_id=DROP),
     "subscription_group_id"),
    ("group id a number", v1(subscription_group_id=123),
     "subscription_group_id"),
    ("group id null", v1(subscription_group_id=None),
     "subscription_group_id"),
    ("group id empty", v1(subscription_group_id=""),
     "subscription_group_id"),
    ("group id an array", v1(subscription_group_id=["sms"]),
     "subscription_group_id"),
    ("group id with bad characters", v1(subscription_group_id="sms; drop"),
     "subscription_group_id"),
    ("group id unknown", v1(subscription_group_id="nope-42"), "nope-42"),
    ("state missing", v1(subscription_state=DROP), "subscription_state"),
    ("state a boolean", v1(subscription_state=True), "subscription_state"),
    ("state wrong value", v1(subscription_state="maybe"),
     "subscription_state"),
    ("state empty", v1(subscription_state=""), "subscription_state"),
    ("external_id a number", v1(external_id=42), "external_id"),
    ("external_id an object", v1(external_id={"a": 1}), "external_id"),
    ("external_id a boolean", v1(external_id=True), "external_id"),
    ("external_id[0] a number", v1(external_id=[1]), "external_id[0]"),
    ("external_id[1] null", v1(external_id=["ok", None]), "external_id[1]"),
    ("external_id nested array", v1(external_id=[["a"]]), "external_id[0]"),
    ("external_id empty array", v1(external_id=[]), "external_id", "empty"),
    ("external_id empty string", v1(external_id=""), "external_id"),
    ("external_id too long", v1(external_id="x" * 513), "external_id"),
    ("external_id control character", v1(external_id="a\u0001b"),
     "external_id"),
    ("external_id 51 entries", v1(external_id=["e%d" % i
                                               for i in range(51)]),
     "external_id", "50"),
    ("no identifier at all", v1(external_id=DROP), "external_id", "phone"),
    ("phone a number", v1(external_id=DROP, phone=12125550000), "phone"),
    ("phone[0] a boolean", v1(external_id=DROP, phone=[True]), "phone[0]"),
    ("phone an object", v1(external_id=DROP, phone={"n": "+12125550000"}),
     "phone"),
    ("phone empty array", v1(external_id=DROP, phone=[]), "phone", "empty"),
    ("phone empty string", v1(external_id=DROP, phone=""), "phone"),
    ("phone only spaces", v1(external_id=DROP, phone="   "), "phone"),
    ("phone letters", v1(external_id=DROP, phone="call me"), "phone",
     "call me"),
    ("phone impossible", v1(external_id=DROP, phone="+1 212 555 000"),
     "+1 212 555 000"),
    ("phone too long", v1(external_id=DROP, phone="1" * 80), "phone"),
    ("phone 51 entries", v1(external_id=DROP,
                            phone=[phone(i) for i in range(51)]),
     "phone", "50"),
    ("email for an SMS group", v1(email="a@example.com"), "email", "sms"),
    ("email and phone together", v1(external_id=DROP, phone=phone(1),
                                     email="a@example.com"),
     "Either an email address or a phone number should be provided, "
     "but not both."),
    ("phone for an email group", v1(subscription_group_id="mail",
                                    external_id=DROP, phone=phone(1)),
     "phone", "e-mail"),
    ("email a number", v1(subscription_group_id="mail", external_id=DROP,
                          email=5), "email"),
    ("email not an address", v1(subscription_group_id="mail",
                                external_id=DROP, email="not-an-email"),
     "email", "not-an-email"),
    ("email empty array", v1(subscription_group_id="mail", external_id=DROP,
                             email=[]), "email", "empty"),
    ("email 51 entries", v1(subscription_group_id="mail", external_id=DROP,
                            email=["m%d@example.com" % i
                                   for i in range(51)]), "email", "50"),
    ("double opt-in a string", v1(use_double_opt_in_logic="true"),
     "use_double_opt_in_logic"),
    ("double opt-in a number", v1(use_double_opt_in_logic=1),
     "use_double_opt_in_logic"),
    ("double opt-in null", v1(use_double_opt_in_logic=None),
     "use_double_opt_in_logic"),
]


def g2(**over):
    g = {"subscription_group_id": "sms", "subscription_state": "subscribed",
         "external_ids": ["y1"]}
    for k, v in over.items():
        if v is DROP:
            g.pop(k, None)
        else:
            g[k] = v
    return g


V2_CASES = [
    ("subscription_groups missing", {"external_ids": ["a"]},
     "subscription_groups"),
    ("subscription_groups an object", {"subscription_groups": g2()},
     "subscription_groups"),
    ("subscription_groups empty", {"subscription_groups": []},
     "subscription_groups"),
    ("subscription_groups a string", {"subscription_groups": "sms"},
     "subscription_groups"),
    ("group entry a number", {"subscription_groups": [42]},
     "subscription_groups[0]"),
    ("26 groups", {"subscription_groups": [g2() for _ in range(26)]},
     "subscription_groups", "25"),
    ("external_ids a string", {"subscription_groups": [
        g2(external_ids="y1")]}, "external_ids"),
    ("external_id (v1 name) in v2", {"subscription_groups": [
        g2(external_ids=DROP, external_id=["y1"])]}, "external_ids"),
    ("phones a string", {"subscription_groups": [
        g2(external_ids=DROP, phones=phone(1))]}, "phones"),
    ("emails a number", {"subscription_groups": [
        g2(subscription_group_id="mail", external_ids=DROP, emails=5)]},
     "emails"),
    ("external_ids empty", {"subscription_groups": [g2(external_ids=[])]},
     "external_ids", "empty"),
    ("phones empty", {"subscription_groups": [
        g2(external_ids=DROP, phones=[])]}, "phones", "empty"),
    ("external_ids[0] a number", {"subscription_groups": [
        g2(external_ids=[7])]}, "external_ids[0]"),
    ("external_ids 51", {"subscription_groups": [
        g2(external_ids=["e%d" % i for i in range(51)])]},
     "external_ids", "50"),
    ("phones 51", {"subscription_groups": [
        g2(external_ids=DROP, phones=[phone(i) for i in range(51)])]},
     "phones", "50"),
    ("emails 51", {"subscription_groups": [
        g2(subscription_group_id="mail", external_ids=DROP,
           emails=["m%d@example.com" % i for i in range(51)])]},
     "emails", "50"),
    ("second group lacks state", {"subscription_groups": [
        g2(), g2(subscription_state=DROP)]},
     "subscription_groups[1]", "subscription_state"),
    ("state wrong value", {"subscription_groups": [
        g2(subscription_state="on")]}, "subscription_state"),
    ("group id a number", {"subscription_groups": [
        g2(subscription_group_id=5)]}, "subscription_group_id"),
    ("emails and phones together", {"subscription_groups": [
        g2(external_ids=DROP, phones=[phone(1)],
           emails=["a@example.com"])]}, "not both"),
    ("no identifiers", {"subscription_groups": [g2(external_ids=DROP)]},
     "external_ids"),
    ("double opt-in a string (top)", {"use_double_opt_in_logic": "yes",
                                      "subscription_groups": [g2()]},
     "use_double_opt_in_logic"),
    ("double opt-in a string (group)", {"subscription_groups": [
        g2(use_double_opt_in_logic="yes")]}, "use_double_opt_in_logic"),
    ("unknown group second", {"subscription_groups": [
        g2(), g2(subscription_group_id="ghost")]}, "ghost"),
    ("phone for an email group", {"subscription_groups": [
        g2(subscription_group_id="mail", external_ids=DROP,
           phones=[phone(1)])]}, "phone", "e-mail"),
    ("email for an SMS group", {"subscription_groups": [
        g2(external_ids=DROP, emails=["a@example.com"])]}, "email", "sms"),
    ("impossible phone", {"subscription_groups": [
        g2(external_ids=DROP, phones=["+1 212 555 000"])]},
     "+1 212 555 000"),
]


def test_v1_field_errors():
    o, key = start()
    with o:
        c = Cases()
        for what, body, *words in V1_CASES:
            c.check("v1 " + what, o.post(V1, body, key=key), 400, *words)
        expect_status(o.get("/healthz", key=None), 200, "healthz")
        c.done()
        expect(o.consent(external_id="x1") == [], "nothing was written")


def test_v2_field_errors():
    o, key = start()
    with o:
        c = Cases()
        for what, body, *words in V2_CASES:
            c.check("v2 " + what, o.post(V2, body, key=key), 400, *words)
        expect_status(o.get("/healthz", key=None), 200, "healthz")
        c.done()
        expect(o.consent(external_id="y1") == [], "nothing was written")


def test_body_syntax_errors():
    o, key = start()
    with o:
        c = Cases()
        good = json.dumps(V1_BASE)
        raws = [
            ("malformed JSON", '{"subscription_group_id": "sms",}', "JSON"),
            ("truncated JSON", good[:len(good) // 2], "JSON"),
            ("not JSON at all", "subscription_group_id=sms", "JSON"),
            ("empty body", "", "empty"),
            ("JSON array", json.dumps([V1_BASE]), "object"),
            ("JSON string", '"subscribed"', "JSON"),
            ("JSON number", "42", "JSON"),
            ("JSON null", "null", "JSON"),
            ("duplicate keys", '{"subscription_group_id": "sms", '
             '"subscription_group_id": "mail", "subscription_state": '
             '"subscribed", "external_id": "x1"}', "duplicate"),
            ("two JSON values", good + good, "JSON"),
            ("nested 33 deep", json.dumps(dict(V1_BASE, extra=0))
             .replace("0}", nested(32) + "}"), "32"),
            ("nested 100000 deep", '{"a": ' + nested(100000) + "}", ""),
            ("invalid UTF-8 in external_id",
             b'{"subscription_group_id": "sms", "subscription_state": '
             b'"subscribed", "external_id": "ab\xff\xfe"}', "byte 0xff"),
            ("overlong UTF-8 in external_id",
             b'{"subscription_group_id": "sms", "subscription_state": '
             b'"subscribed", "external_id": "a\xc0\xafb"}', "byte 0xc0"),
            ("lone surrogate escape in external_id",
             '{"subscription_group_id": "sms", "subscription_state": '
             '"subscribed", "external_id": "a\\ud800b"}', "JSON"),
            ("escaped NUL in external_id",
             '{"subscription_group_id": "sms", "subscription_state": '
             '"subscribed", "external_id": "a\\u0000b"}', "JSON"),
            ("escaped NUL in phone",
             '{"subscription_group_id": "sms", "subscription_state": '
             '"subscribed", "phone": "+1212555\\u00000001"}', "JSON"),
            ("raw NUL byte in a string",
             b'{"subscription_group_id": "sms", "subscription_state": '
             b'"subscribed", "external_id": "a\x00b"}', "JSON"),
            ("raw NUL byte between tokens",
             b'{"subscription_group_id": "sms",\x00 "subscription_state": '
             b'"subscribed", "external_id": "ab"}', "JSON"),
            ("NUL byte only", b"\x00", "JSON"),
        ]
        for what, data, *words in raws:
            for path in (V1, V2):
                c.check("%s %s" % (path, what), post_raw(o, path, data, key),
                        400, *[w for w in words if w])
        # JSON at the depth limit is fine (the extra member is ignored)
        at_limit = json.dumps(dict(V1_BASE, external_id="deep",
                                   extra=0)).replace("0}", nested(31) + "}")
        expect_status(post_raw(o, V1, at_limit, key), 201, "31 nested + root")
        # escapes that decode to valid text are fine
        r = post_raw(o, V1, '{"subscription_group_id": "sms", '
                     '"subscription_state": "subscribed", '
                     '"external_id": "caf\\u00e9-\\ud83d\\ude00"}', key)
        expect_status(r, 201, "escaped UTF-8 external_id")
        r = o.status_get("sms", key=key, external_id="caf\u00e9-\U0001F600")
        expect(r.json["status"] == {"caf\u00e9-\U0001F600": "Subscribed"},
               "escaped external_id stored as text", r)
        expect_status(o.get("/healthz", key=None), 200, "healthz")
        c.done()


def test_http_level_errors():
    o, key = start()
    with o:
        c = Cases()
        good = json.dumps(V1_BASE).encode()
        # content type
        c.check("no Content-Type", post_raw(o, V1, good, key, None), 415,
                "Content-Type")
        c.check("text/plain", post_raw(o, V1, good, key, "text/plain"), 415,
                "Content-Type")
        c.check("form encoded", post_raw(
            o, V2, good, key, "application/x-www-form-urlencoded"), 415,
            "Content-Type")
        c.check("application/jsonp", post_raw(o, V1, good, key,
                                              "application/jsonp"), 415,
                "Content-Type")
        c.check("admin POST without Content-Type", post_raw(
            o, "/admin/subscription_groups", b'{"name":"x","channel":"sms"}',
            ADMIN_KEY, None), 415, "Content-Type")
        # routes and methods
        c.check("unknown route", o.get("/nope", key=key), 404, "/nope")
        c.check("unknown route under a known one", o.post(
            V1 + "/extra", V1_BASE, key=key), 404, "/extra")
        c.check("v3", o.post("/v3/subscription/status/set", V1_BASE,
                             key=key), 404, "v3")
        c.check("GET on status/set", o.get(V1, key=key), 405, "GET")
        c.check("PUT on v2 status/set", o.request("PUT", V2, V1_BASE,
                                                  key=key), 405, "PUT")
        c.check("POST on status/get", o.post("/subscription/status/get",
                                             {}, key=key), 405, "POST")
        c.check("DELETE on user/status", o.request(
            "DELETE", "/subscription/user/status", key=key), 405, "DELETE")
        c.check("POST on healthz", o.post("/healthz", {}, key=None), 405,
                "POST")
        c.check("path too long", o.get("/" + "a" * 600, key=key), 414,
                "path")
        # size
        big = b'{"subscription_group_id": "sms", "pad": "' + \
            b"x" * (1024 * 1024) + b'"}'
        head = ("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                "Content-Type: application/json\r\nConnection: close\r\n"
                % (V1, key)).encode()
        r = o.raw(head + b"Content-Length: %d\r\n\r\n" % len(big) + big)
        c.check("body over 1 MiB", r, 413, "larger")
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 65536]),
                                              big[i:i + 65536])
                          for i in range(0, len(big), 65536))
        r = o.raw(head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks +
                  b"0\r\n\r\n")
        c.check("chunked body over 1 MiB", r, 413, "larger")
        # exactly 1 MiB of valid JSON is accepted
        body = json.dumps(dict(V1_BASE, external_id="big")).encode()
        body = body[:-1] + b" " * (1024 * 1024 - len(body)) + b"}"
        expect(len(body) == 1024 * 1024, "1 MiB body")
        r = post_raw(o, V1, body, key)
        expect_status(r, 201, "a body of exactly 1 MiB")
        # a content type with parameters is still JSON
        r = post_raw(o, V1, good, key, "application/json; charset=utf-8")
        expect_status(r, 201, "application/json; charset=utf-8")
        # admin API bodies get the same checks
        c.check("admin malformed JSON", post_raw(
            o, "/admin/subscription_groups", b'{"name": "x", ', ADMIN_KEY),
            400, "JSON")
        c.check("admin JSON array", post_raw(
            o, "/admin/api_keys", b'[]', ADMIN_KEY), 400, "object")
        expect_status(o.get("/healthz", key=None), 200, "healthz")
        c.done()


def test_query_string_and_path_errors():
    """NUL bytes and invalid UTF-8 reach optd through %-escapes in the
    query and the path; each must get a 4xx with a JSON message."""
    o, key = start()
    with o:
        c = Cases()
        get = "/subscription/status/get?subscription_group_id=sms&"
        for what, path, status, words in [
            ("NUL starting external_id", get + "external_id=%00abc", 400,
             ["external_id"]),
            ("NUL inside external_id", get + "external_id=a%00b", 400,
             ["external_id"]),
            ("NUL inside phone", get + "phone=%2B1212555%000001", 400,
             ["phone"]),
            ("invalid UTF-8 external_id", get + "external_id=%FF%FE", 400,
             ["external_id"]),
            ("invalid UTF-8 phone", get + "phone=%FF%FE", 400, ["phone"]),
            ("invalid UTF-8 group id", "/subscription/status/get?"
             "subscription_group_id=%FF&external_id=a", 400,
             ["subscription_group_id"]),
            ("user/status invalid UTF-8 phone",
             "/subscription/user/status?phone=%FF", 400, ["phone"]),
            ("consent invalid UTF-8 phone", "/admin/consent?phone=%FF", 400,
             ["phone"]),
            ("invalid UTF-8 path", "/%FF", 404, []),
            ("invalid UTF-8 group in admin path",
             "/admin/subscription_groups/%FF", 404, []),
        ]:
            c.check(what, o.get(path, key=key if "admin" not in path
                                else ADMIN_KEY), status, *words)
        expect_status(o.get("/healthz", key=None), 200, "healthz")
        c.done()


def test_errors_leave_keep_alive_connections_usable():
    """A client that reuses one connection (as HTTP clients do) gets each
    error and can go on."""
    o, key = start()
    with o:
        conn = http.client.HTTPConnection("127.0.0.1", o.port, timeout=30)
        h = {"Authorization": "Bearer " + key,
             "Content-Type": "application/json"}
        good = json.dumps(V1_BASE).encode()
        for method, path, body, status in [
            ("POST", V1, b"{bad", 400), ("POST", V1, good, 201),
            ("POST", V2, b"[]", 400), ("GET", "/nope", None, 404),
            ("GET", V1, None, 405), ("POST", V1, json.dumps(
                v1(subscription_group_id="ghost")).encode(), 400),
            ("POST", V2, json.dumps({"subscription_groups": [g2()]})
             .encode(), 201),
            ("GET", "/admin/api_keys", None, 403),
        ]:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            expect(r.status == status, "%s %s on a reused connection" % (
                method, path), (r.status, data))
            expect(json.loads(data).get("message"), "JSON message", data)
        conn.close()


def test_oversized_headers_refused_and_server_survives():
    """Headers beyond what the server keeps per connection are refused
    with a 4xx (libmicrohttpd answers 431 itself; see the report for its
    body), and nothing else is disturbed."""
    o, key = start()
    with o:
        body = json.dumps(V1_BASE).encode()
        for name, value in [("X-Big", "a" * 100000),
                            ("Authorization", "Bearer " + "k" * 100000)]:
            r = o.raw(("POST %s HTTP/1.1\r\nHost: x\r\n%s: %s\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: %d\r\nConnection: close\r\n\r\n"
                       % (V1, name, value, len(body))).encode() + body)
            expect(400 <= r.status < 500, "a 4xx for a %d-byte %s header" %
                   (len(value), name), r)
        r = o.request("GET", "/healthz", key=None,
                      headers={"X-H%d" % i: "v" * 100 for i in range(300)})
        expect(r.status < 500, "many headers", r)
        r = o.post(V1, V1_BASE, key="k" * 5000)
        expect(r.status == 401 and r.json.get("message"), "a long key", r)
        expect_status(o.get("/healthz", key=None), 200, "healthz")
        expect_status(o.post(V1, V1_BASE, key=key), 201, "still serving")


def nothing_for(o, key, phones, ext=()):
    for p in phones:
        r = o.user_status(key=key, phone=p)
        expect_status(r, 200, "user/status")
        expect(r.json["total_count"] == 0, "no profile for %s" % p, r.json)
        expect(o.consent(phone=p) == [], "no ledger entry for %s" % p)
    for x in ext:
        r = o.user_status(key=key, external_id=x)
        expect(r.json["total_count"] == 0, "no profile %s" % x, r.json)
        expect(o.consent(external_id=x) == [], "no ledger for %s" % x)


def test_no_half_applied_request():
    o, key = start()
    with o:
        good = [phone(1000 + i) for i in range(49)]
        # the bad phone last, first, and in the middle
        for at in (49, 0, 25):
            phones = list(good)
            phones.insert(at, "+1 212 555 01")
            r = o.post(V1, {"subscription_group_id": "sms",
                            "subscription_state": "subscribed",
                            "phone": phones}, key=key)
            expect_status(r, 400, "bad phone at %d" % at)
            expect("+1 212 555 01" in r.json["message"], "quotes it", r.json)
        # 49 good external ids, one with a control character
        ext = ["half-%d" % i for i in range(49)]
        r = o.post(V1, {"subscription_group_id": "sms",
                        "subscription_state": "subscribed",
                        "external_id": ext + ["bad\u0007id"]}, key=key)
        expect_status(r, 400, "bad external_id")
        # 49 good pairs and one bad phone in the pairs
        r = o.post(V1, {"subscription_group_id": "sms",
                        "subscription_state": "subscribed",
                        "external_id": ext + ["half-49"],
                        "phone": good + ["nope"]}, key=key)
        expect_status(r, 400, "bad paired phone")
        # v2: a good group, then a bad one, in every way a group can be bad
        ok_group = {"subscription_group_id": "sms",
                    "subscription_state": "subscribed", "phones": good}
        for what, bad in [
            ("bad phone", {"subscription_group_id": "sms",
                           "subscription_state": "subscribed",
                           "phones": ["+1 212 555 01"]}),
            ("unknown group", {"subscription_group_id": "ghost",
                               "subscription_state": "subscribed",
                               "external_ids": ["half-0"]}),
            ("email for SMS group", {"subscription_group_id": "sms",
                                     "subscription_state": "subscribed",
                                     "emails": ["a@example.com"]}),
            ("phone for email group", {"subscription_group_id": "mail",
                                       "subscription_state": "subscribed",
                                       "phones": [phone(1)]}),
            ("missing state", {"subscription_group_id": "sms",
                               "external_ids": ["half-0"]}),
        ]:
            r = o.post(V2, {"subscription_groups": [
                ok_group, dict(ok_group, external_ids=ext), bad]}, key=key)
            expect_status(r, 400, "v2 " + what)
        nothing_for(o, key, good, ext + ["half-49"])
        # with existing state: a failed unsubscribe leaves it subscribed
        expect_status(o.post(V1, {"subscription_group_id": "sms",
                                  "subscription_state": "subscribed",
                                  "phone": good}, key=key), 201, "subscribe")
        before = [o.consent(phone=p) for p in good]
        r = o.post(V1, {"subscription_group_id": "sms",
                        "subscription_state": "unsubscribed",
                        "phone": good + ["+999 1"]}, key=key)
        expect_status(r, 400, "unsubscribe with a bad phone")
        r = o.post(V2, {"subscription_groups": [
            {"subscription_group_id": "sms",
             "subscription_state": "unsubscribed", "phones": good},
            {"subscription_group_id": "ghost",
             "subscription_state": "unsubscribed", "phones": good}]},
            key=key)
        expect_status(r, 400, "v2 unsubscribe with an unknown group")
        r = o.status_get("sms", key=key, phone=good)
        expect(set(r.json["status"].values()) == {"Subscribed"},
               "still subscribed", r.json)
        expect([o.consent(phone=p) for p in good] == before,
               "ledger unchanged")
        # still healthy and still working
        expect_status(o.get("/healthz", key=None), 200, "healthz")
        expect_status(o.post(V1, {"subscription_group_id": "sms",
                                  "subscription_state": "unsubscribed",
                                  "phone": good[0]}, key=key), 201,
                      "a good request after all that")
        rc = o.stop()
        expect(rc == 0, "clean exit", rc)
