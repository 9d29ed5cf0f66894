"""The hosted sign-up form: /admin/forms and `optd forms`, the page at
GET /f/{form}, and what POST /f/{form} does (or refuses to do)."""
import json
import os
import re
import urllib.parse

from harness import Optd, expect, expect_error, expect_status
from smsutil import messages

FORMS = "/admin/forms"
SMS_TEXT = ("Acme: up to 4 offers a month by text. Msg & data rates may "
            "apply. Reply STOP to cancel, HELP for help.")
PHONE = "+12015550123"


def setup(o, doi=False, **form):
    """An SMS group, an e-mail group and the form "join" offering both."""
    expect_status(o.post("/admin/subscription_groups", {
        "id": "promos", "name": "Offers", "channel": "sms",
        "numbers": ["+15550001111"], "double_opt_in": doi}), 201)
    expect_status(o.post("/admin/subscription_groups", {
        "id": "news", "name": "Newsletter", "channel": "email"}), 201)
    body = {"id": "join", "title": "Join <Acme> & co",
            "groups": [{"group_id": "promos", "consent_text": SMS_TEXT},
                       {"group_id": "news"}]}
    body.update(form)
    return expect_status(o.post(FORMS, body), 201).json


def page(o, form="join"):
    """GET the form: (response, cookie header, token)."""
    r = o.get("/f/" + form, key=None)
    cookie = (r.header("set-cookie") or "").split(";")[0]
    m = re.search(r'name="token" value="([^"]*)"', r.body)
    return r, cookie, m.group(1) if m else ""


def send(o, fields, cookie="", form="join", headers=None):
    """POST the form, fields as (name, value) pairs."""
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = cookie
    return o.request("POST", "/f/" + form, key=None, headers=h,
                     raw=urllib.parse.urlencode(fields).encode(),
                     content_type="application/x-www-form-urlencoded")


def sign_up(o, fields, form="join", **kw):
    _, cookie, token = page(o, form)
    return send(o, [("token", token)] + fields, cookie, form, **kw)


def state(o, group, **ids):
    r = expect_status(o.status_get(group, **ids), 200)
    return list(r.json["status"].values())[0]


def test_forms_admin_api():
    with Optd() as o:
        f = setup(o)
        expect(f["id"] == "join" and f["path"] == "/f/join" and
               f["title"] == "Join <Acme> & co" and
               f["redirect_url"] is None, "form", f)
        g = f["groups"]
        expect([x["group_id"] for x in g] == ["promos", "news"] and
               g[0]["channel"] == "sms" and g[0]["consent_text"] == SMS_TEXT
               and len(g[0]["consent_text_sha256"]) == 64 and
               g[1]["consent_text"] == "Send me e-mail: Newsletter.",
               "groups, with a default e-mail text", g)
        r = expect_status(o.get("/admin/consent_texts/" +
                                g[0]["consent_text_sha256"]), 200)
        expect(r.json["text"] == SMS_TEXT, "text by hash", r.json)
        expect_error(o.get("/admin/consent_texts/" + "0" * 64), 404)
        expect(expect_status(o.get(FORMS + "/join"), 200).json == f,
               "show equals create's answer")
        r = expect_status(o.get(FORMS), 200)
        expect([x["id"] for x in r.json["forms"]] == ["join"], "list", r)
        expect_error(o.get(FORMS + "/nope"), 404, "nope")
        expect_error(o.post(FORMS, {"id": "join", "title": "T", "groups": [
            {"group_id": "news"}]}), 409, "join")
        sms = lambda text: {"title": "T", "groups": [
            {"group_id": "promos", "consent_text": text}]}
        for body, words in [
            ({"groups": [{"group_id": "news"}]}, ["title"]),
            ({"title": "T"}, ["groups"]),
            ({"title": "T", "groups": []}, ["groups"]),
            ({"title": "T", "groups": [{"group_id": "nope"}]}, ["nope"]),
            ({"title": "T", "groups": [{"group_id": "promos"}]},
             ["consent_text", "required"]),
            (sms("Msg & data rates may apply. Reply HELP for help."),
             ["consent_text", "STOP"]),
            (sms("Msg & data rates may apply. Reply STOP to cancel."),
             ["consent_text", "HELP"]),
            (sms("Reply STOP to cancel, HELP for help."),
             ["consent_text", "rates may apply"]),
            (sms("x" * 2049), ["consent_text", "2048"]),
            ({"title": "T", "groups": [{"group_id": "news"},
                                       {"group_id": "news"}]}, ["twice"]),
            ({"title": "T", "groups": [{"group_id": "news"}],
              "redirect_url": "javascript:alert(1)"}, ["redirect_url"]),
            ({"title": "T", "groups": [{"group_id": "news"}],
              "redirect_url": "https://a.example/\r\nX: y"}, ["redirect_url"]),
            ({"title": "T", "groups": [{"group_id": "news"}], "id": "a b"},
             ["id"]),
            ({"title": "x" * 201, "groups": [{"group_id": "news"}]},
             ["title"]),
            ({"title": "T", "groups": [{"group_id": "news"}], "x": 1},
             ["unknown", "x"]),
        ]:
            expect_error(o.post(FORMS, body), 400, *words)
        r = expect_status(o.get(FORMS), 200)
        expect(len(r.json["forms"]) == 1, "refused forms left nothing", r)


def test_forms_cli():
    with Optd() as o:
        setup(o)
        spec = os.path.join(o.tmp, "form.json")
        with open(spec, "w") as f:
            json.dump({"id": "cli", "title": "By CLI",
                       "redirect_url": "https://acme.example/thanks",
                       "groups": [{"group_id": "promos",
                                   "consent_text": SMS_TEXT}]}, f)
        p = o.cli("forms", "add", "--file", spec)
        out = json.loads(p.stdout)
        expect(out["id"] == "cli" and out["redirect_url"] ==
               "https://acme.example/thanks", "forms add", out)
        p = o.cli("forms", "list")
        expect([x["id"] for x in json.loads(p.stdout)["forms"]] ==
               ["cli", "join"], "forms list", p.stdout)
        p = o.cli("forms", "show", "cli")
        expect(json.loads(p.stdout) == out, "forms show", p.stdout)
        h = out["groups"][0]["consent_text_sha256"]
        p = o.cli("forms", "text", h)
        expect(json.loads(p.stdout)["text"] == SMS_TEXT, "forms text",
               p.stdout)
        with open(spec, "w") as f:
            json.dump({"title": "Bad", "groups": [
                {"group_id": "promos", "consent_text": "no disclosure"}]}, f)
        p = o.cli("forms", "add", "--file", spec, check=False)
        expect(p.returncode == 1 and "STOP" in p.stderr, "refused", p.stderr)
        p = o.cli("forms", "show", "nope", check=False)
        expect(p.returncode == 1 and "nope" in p.stderr, "no form", p.stderr)
        expect(expect_status(o.get(FORMS + "/cli"), 200).json == out,
               "the API sees the CLI's form")


def test_form_page():
    with Optd() as o:
        f = setup(o)
        r, cookie, token = page(o)
        expect_status(r, 200)
        expect(r.header("content-type") == "text/html; charset=utf-8" and
               r.header("cache-control") == "no-store", "headers", r.headers)
        expect(re.match(r"^optd_form=[0-9a-f]{32}$", cookie) and
               "HttpOnly" in r.header("set-cookie") and
               "SameSite=Lax" in r.header("set-cookie"), "cookie", cookie)
        expect(re.match(r"^[0-9a-f]+\.[0-9a-f]{64}$", token), "token", token)
        b = r.body
        for part in ['<meta name="viewport" content="width=device-width, '
                     'initial-scale=1">', '<html lang="en">',
                     '<label for="phone">', 'id="phone" name="phone" '
                     'type="tel"', '<label for="email">',
                     'type="checkbox" name="group" id="group-0" '
                     'value="promos"', '<label for="group-0">' +
                     SMS_TEXT.replace("&", "&amp;") + "</label>",
                     '<label for="group-1">Send me e-mail: Newsletter.',
                     '<button type="submit">Sign up</button>',
                     "<h1>Join &lt;Acme&gt; &amp; co</h1>"]:
            expect(part in b, "page has %r" % part, b)
        expect("<script" not in b and "<Acme>" not in b, "no markup from "
               "text", b)
        # A browser that has the cookie keeps it.
        r = o.get("/f/join", key=None, headers={"Cookie": cookie})
        expect(r.header("set-cookie") is None, "cookie kept", r.headers)
        for path in ("/f/nope", "/f/a%20b"):
            r = o.get(path, key=None)
            expect(r.status == 404 and "text/html" in r.header(
                "content-type"), "404 page", r)
        expect(f["groups"][0]["group_id"] == "promos", "form")


def test_form_post_subscribes_ticked_boxes_only():
    with Optd() as o:
        f = setup(o)
        r = sign_up(o, [("phone", "(201) 555-0123"),
                        ("email", "Walker@Example.COM"),
                        ("group", "promos")],
                    headers={"User-Agent": "Mozilla/5.0 e2e"})
        expect_status(r, 200)
        expect("Thank you" in r.body and "Offers" in r.body and
               "Newsletter" not in r.body, "confirmation", r.body)
        expect(state(o, "promos", phone=PHONE) == "Subscribed", "sms")
        expect(state(o, "news", email="Walker@example.com") == "Unknown",
               "an unticked box subscribes nothing")
        led = o.consent(phone=PHONE)
        expect(len(led) == 1, "one entry", led)
        e = led[0]
        expect(e["source"] == "form" and e["group_id"] == "promos" and
               e["from"] == "unknown" and e["to"] == "subscribed" and
               e["client_addr"] == "127.0.0.1" and
               e["email"] == "Walker@example.com" and e["request_id"],
               "ledger entry", e)
        ev = e["evidence"]
        expect(ev == {"form": "join",
                      "page_url": "http://127.0.0.1:%d/f/join" % o.port,
                      "user_agent": "Mozilla/5.0 e2e",
                      "consent_text_sha256":
                          f["groups"][0]["consent_text_sha256"]},
               "evidence", ev)
        # The same person again, both boxes: one profile, one new entry.
        r = sign_up(o, [("phone", "+1 201 555 0123"),
                        ("email", "walker@example.com"),
                        ("group", "promos"), ("group", "news")])
        expect_status(r, 200)
        expect(state(o, "news", email="walker@example.com") == "Subscribed",
               "email")
        led = o.consent(phone=PHONE)
        expect(len(led) == 2 and {x["user_id"] for x in led} ==
               {e["user_id"]}, "no second profile", led)


def test_form_post_redirects():
    with Optd() as o:
        setup(o, redirect_url="https://acme.example/thanks?x=1")
        r = sign_up(o, [("phone", PHONE), ("group", "promos")])
        expect_status(r, 303)
        expect(r.header("location") == "https://acme.example/thanks?x=1",
               "Location", r.headers)
        expect(state(o, "promos", phone=PHONE) == "Subscribed", "sms")


def test_form_post_bad_input():
    with Optd() as o:
        setup(o)
        cases = [
            ([("phone", "<script>x</script>"), ("group", "promos")],
             "phone", "&lt;script&gt;x&lt;/script&gt;"),
            ([("phone", ""), ("group", "promos")], "phone", ""),
            ([("phone", "1" * 80), ("group", "promos")], "phone", "1" * 80),
            ([("email", "not-an\"-address"), ("group", "news")], "email",
             "not-an&quot;-address"),
            ([("email", ""), ("group", "news")], "email", ""),
            ([("phone", PHONE)], "groups", None),
        ]
        for fields, bad, kept in cases:
            r = sign_up(o, fields)
            expect_status(r, 400, "%r" % fields)
            expect('id="%s-error"' % bad in r.body and
                   'class="notice" role="alert"' in r.body,
                   "error beside %s" % bad, r.body)
            if kept is not None:
                expect('name="%s" type=' % bad in r.body and
                       'value="%s" aria-invalid="true" aria-describedby='
                       '"%s-error"' % (kept, bad) in r.body,
                       "typed value kept, escaped", r.body)
            expect("<script>" not in r.body, "never markup", r.body)
        # A ticked box stays ticked; a box of another group means nothing.
        r = sign_up(o, [("phone", "12"), ("group", "promos"),
                        ("group", "other")])
        expect('value="promos" checked>' in r.body and
               'value="news" checked>' not in r.body, "ticks kept", r.body)
        expect(o.consent(phone=PHONE) == [] and
               state(o, "promos", phone=PHONE) == "Unknown", "no change")
        # Bodies and values past their limits.
        _, cookie, token = page(o)
        r = send(o, [("token", token), ("phone", "1" * 17000)], cookie)
        expect(r.status == 413 and "text/html" in r.header("content-type"),
               "413 page", r)
        r = send(o, [("token", token), ("group", "promos")] +
                 [("f%d" % i, "x") for i in range(300)], cookie)
        expect_status(r, 400)


def test_form_csrf_refused():
    with Optd() as o:
        setup(o)
        expect_status(o.post(FORMS, {"id": "other", "title": "O",
                                     "groups": [{"group_id": "news"}]}), 201)
        _, cookie, token = page(o)
        _, cookie2, token2 = page(o)
        _, _, other = page(o, "other")
        ok = [("phone", PHONE), ("group", "promos")]
        for fields, c in [
            (ok, cookie),                              # no token
            ([("token", token)] + ok, ""),             # no cookie
            ([("token", token)] + ok, cookie2),        # another browser's
            ([("token", token2)] + ok, cookie),
            ([("token", other)] + ok, cookie),         # another form's
            # the MAC's last digit changed (never to itself)
            ([("token", token[:-1] + ("1" if token[-1] == "0" else "0"))]
             + ok, cookie),
            ([("token", "0." + "0" * 64)] + ok, cookie),
            ([("token", token)] + ok, "optd_form=" + "A" * 32),
        ]:
            r = send(o, fields, c)
            expect_status(r, 403, "%r %r" % (fields[0], c))
            expect("nothing was changed" in r.body and
                   'value="%s"' % PHONE in r.body, "403 page keeps input",
                   r.body)
        expect(o.consent(phone=PHONE) == [], "nothing applied")
        r = send(o, [("token", token)] + ok, cookie)
        expect_status(r, 200)
        expect(state(o, "promos", phone=PHONE) == "Subscribed", "the real "
               "page works")


def test_form_rate_limit():
    with Optd() as o:
        setup(o)
        _, cookie, token = page(o)
        codes = [send(o, [("token", token), ("phone", "12"),
                          ("group", "promos")], cookie).status
                 for _ in range(10)]
        expect(codes == [400] * 10, "ten answered", codes)
        r = send(o, [("token", token), ("phone", PHONE),
                     ("group", "promos")], cookie)
        expect_status(r, 429)
        expect("text/html" in r.header("content-type") and
               int(r.header("retry-after")) in range(0, 61), "429 page", r)
        expect(state(o, "promos", phone=PHONE) == "Unknown", "refused")
        expect_status(o.get("/f/join", key=None), 200)


def test_form_double_opt_in():
    with Optd() as o:
        setup(o, doi=True)
        r = sign_up(o, [("phone", PHONE), ("group", "promos")])
        expect_status(r, 200)
        expect("Reply to it to confirm" in r.body, "says to confirm", r.body)
        expect(state(o, "promos", phone=PHONE) == "Unsubscribed",
               "not subscribed before the reply")
        ms = messages(o, to=PHONE)
        expect(len(ms) == 1 and ms[0]["kind"] == "doi_prompt" and
               ms[0]["group_id"] == "promos", "prompt queued", ms)
        led = o.consent(phone=PHONE)
        expect(len(led) == 1 and led[0]["to"] == "unsubscribed" and
               led[0]["source"] == "form" and
               led[0]["evidence"]["double_opt_in"] is True, "ledger", led)
        # Already subscribed (by the API): left as it is, no prompt.
        expect_status(o.status_set({"subscription_group_id": "promos",
                                    "subscription_state": "subscribed",
                                    "phone": "+12015550124"}), 201)
        expect_status(sign_up(o, [("phone", "+12015550124"),
                                  ("group", "promos")]), 200)
        expect(state(o, "promos", phone="+12015550124") == "Subscribed" and
               messages(o, to="+12015550124") == [], "kept, not prompted")
