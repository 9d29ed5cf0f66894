"""The SMS test peers on their own, without optd: the fake Twilio answers
and fails as scripted, and the real Kannel loop (fakesmsc -> bearerbox ->
smsbox -> get-url -> sendsms -> fakesmsc, with DLRs) works on this
machine. When an SMS test fails, these say whether the peer is to blame.
They use no database, so they run on the SQLite pass only."""
import base64
import http.client
import http.server
import json
import re
import threading
import time
import urllib.parse

import fake_twilio as ft
import kannel
from harness import expect, sqlite_only


def twilio_post(fake, form, key=None, auth=None, timeout=5, account=None):
    conn = http.client.HTTPConnection("127.0.0.1", fake.port,
                                      timeout=timeout)
    account = account or fake.account_sid
    h = {"Content-Type": "application/x-www-form-urlencoded",
         "Authorization": "Basic " + base64.b64encode(
             (auth or "%s:%s" % (account, fake.accounts[account]))
             .encode()).decode()}
    if key:
        h["Idempotency-Key"] = key
    try:
        conn.request("POST", "/2010-04-01/Accounts/%s/Messages.json" %
                     account, urllib.parse.urlencode(form), h)
        r = conn.getresponse()
        body = r.read().decode()
        return r.status, dict(r.getheaders()), json.loads(body)
    finally:
        conn.close()


FORM = {"To": "+12223334444", "From": "+15550001111", "Body": "Hello",
        "StatusCallback": "http://127.0.0.1:9/sms/status/twilio?k=1"}


def test_twilio_signature_matches_twilios_published_example():
    sqlite_only("uses no database")
    sig = ft.twilio_signature("12345",
                              "https://mycompany.com/myapp.php?foo=1&bar=2",
                              {"CallSid": "CA1234567890ABCDE",
                               "Caller": "+14158675309", "Digits": "1234",
                               "From": "+14158675309", "To": "+18005551212"})
    expect(sig == "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "published vector", sig)


def test_segments_and_encoding():
    sqlite_only("uses no database")
    for body, enc, n in [("a" * 160, "GSM-7", 1), ("a" * 161, "GSM-7", 2),
                         ("€" * 80, "GSM-7", 1), ("€" * 81, "GSM-7", 2),
                         ("é" * 160, "GSM-7", 1), ("ê" * 70, "UCS-2", 1),
                         ("ê" * 71, "UCS-2", 2), ("🛑" * 35, "UCS-2", 1),
                         ("a" * 306, "GSM-7", 2), ("a" * 307, "GSM-7", 3)]:
        expect(ft.encoding_of(body)[0] == enc and ft.segments(body) == n,
               "%r... x%d" % (body[0], len(body)),
               (ft.encoding_of(body), ft.segments(body)))


def test_fake_twilio_answers_and_dedupes():
    sqlite_only("uses no database")
    with ft.FakeTwilio() as fake:
        st, h, j = twilio_post(fake, FORM, key="k1")
        expect(st == 201 and re.match(r"^SM[0-9a-f]{32}$", j["sid"]) and
               j["status"] == "queued" and j["num_segments"] == "1" and
               j["to"] == FORM["To"] and j["from"] == FORM["From"] and
               j["body"] == "Hello" and j["error_code"] is None,
               "201 like Twilio", j)
        st2, _, j2 = twilio_post(fake, FORM, key="k1")
        expect(st2 == 201 and j2 == j, "same key, same answer", j2)
        expect(len(fake.messages) == 1, "recorded once", fake.summary())
        st, _, j3 = twilio_post(fake, dict(FORM, Body="Other"), key="k2")
        expect(st == 201 and j3["sid"] != j["sid"], "new key, new sid")
        expect(fake.duplicates() == ([], []), "no duplicates")
        fake.check_clean()
        st, _, e = twilio_post(fake, FORM, key="k3", auth="AC0:bad")
        expect(st == 401 and e["code"] == 20003, "bad auth", e)
        st, _, e = twilio_post(fake, {"Body": "x"}, key="k4")
        expect(st == 400 and e["code"] == 21604, "no To", e)
        st, _, e = twilio_post(fake, {"To": "+12223334444", "Body": "x"},
                               key="k5")
        expect(st == 400 and e["code"] == 21603, "no From", e)
        st, _, j = twilio_post(fake, {"To": "+12223334444", "Body": "x",
                                      "MessagingServiceSid": "MG" + "0" * 32,
                                      "StatusCallback": "http://x/"},
                               key="k6")
        expect(st == 201 and j["status"] == "accepted", "msid: accepted", j)
        expect(len(fake.messages) == 3, "refusals are not recorded")
        sid, token = fake.add_account()
        st, _, j = twilio_post(fake, FORM, key="k1", account=sid)
        expect(st == 201 and j["account_sid"] == sid and
               len(fake.messages) == 4, "another account, its own keys", j)
        st, _, e = twilio_post(fake, FORM, key="k7", account=sid,
                               auth="%s:%s" % (sid, fake.auth_token))
        expect(st == 401, "each account its own token", e)
        twilio_post(fake, FORM)
        expect(fake.problems and "Idempotency-Key" in fake.problems[-2] +
               fake.problems[-1], "a missing key is a problem",
               fake.problems)


def test_fake_twilio_faults():
    sqlite_only("uses no database")
    with ft.FakeTwilio() as fake:
        fake.script(ft.fail(500), ft.throttle(2), ft.opted_out(),
                    ft.bad_request(21211), ft.DROP, ft.ACCEPT_DROP)
        st, _, e = twilio_post(fake, FORM, key="a")
        expect(st == 500 and e["code"] == 20500, "500", e)
        st, h, e = twilio_post(fake, FORM, key="a")
        expect(st == 429 and h.get("Retry-After") == "2", "429", (st, h))
        st, _, e = twilio_post(fake, FORM, key="a")
        expect(st == 400 and e["code"] == 21610, "21610", e)
        st, _, e = twilio_post(fake, FORM, key="a")
        expect(st == 400 and e["code"] == 21211, "21211", e)
        expect(fake.messages == [], "no fault recorded a message")
        for what in ("drop", "accept then drop"):
            try:
                twilio_post(fake, FORM, key="a")
                raise AssertionError("%s: an answer came" % what)
            except (http.client.RemoteDisconnected, ConnectionError):
                pass
        expect(len(fake.messages) == 1, "accept-drop recorded it")
        st, _, j = twilio_post(fake, FORM, key="a")
        expect(st == 201 and j["sid"] == fake.messages[0]["sid"],
               "the retry gets the first answer", j)
        expect(len(fake.messages) == 1, "still once")
        fake.script(ft.slow(0.6))
        t0 = time.time()
        try:
            twilio_post(fake, dict(FORM, Body="slow"), key="s", timeout=0.2)
            raise AssertionError("slow: an answer came in time")
        except TimeoutError:
            pass
        expect(time.time() - t0 < 0.5, "client gave up at its timeout")
        fake.wait_count(2, timeout=3)
        st, _, j = twilio_post(fake, dict(FORM, Body="slow"), key="s")
        expect(st == 201 and len(fake.messages) == 2, "slow: once", j)
        fake.fault_for("+19998887777", ft.opted_out())
        st, _, e = twilio_post(fake, dict(FORM, To="+19998887777"), key="o")
        st2, _, _ = twilio_post(fake, FORM, key="p")
        expect(st == 400 and e["code"] == 21610 and st2 == 201,
               "a fault for one phone only", (st, st2))
        outcomes = [a.get("outcome") for a in fake.attempts]
        expect(outcomes[:7] == [500, 429, 400, 400, "dropped",
                                "accepted, dropped", 201],
               "every attempt is logged", outcomes)


class _Catcher(http.server.BaseHTTPRequestHandler):
    """Records requests and answers 200 (a stand-in for optd)."""

    def log_message(self, *a):
        pass

    def _do(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        with self.server.lock:
            self.server.got.append((self.command, self.path,
                                    dict(self.headers), body))
        hook = getattr(self.server, "hook", None)
        if hook:
            hook(self.command, self.path, body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _do


def catcher(hook=None):
    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Catcher)
    s.daemon_threads = True
    s.got, s.lock, s.hook = [], threading.Lock(), hook
    threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return s


def test_fake_twilio_status_callback_is_signed():
    sqlite_only("uses no database")
    srv = catcher()
    try:
        with ft.FakeTwilio() as fake:
            cb = "http://127.0.0.1:%d/sms/status/twilio?d=abc" % \
                srv.server_address[1]
            twilio_post(fake, dict(FORM, StatusCallback=cb), key="x")
            st, _, _ = fake.send_status(fake.messages[0], "undelivered",
                                        error_code=30003)
            expect(st == 200, "delivered to the catcher", st)
            method, path, headers, body = srv.got[0]
            params = dict(urllib.parse.parse_qsl(body))
            expect(path == "/sms/status/twilio?d=abc" and
                   params["MessageSid"] == fake.messages[0]["sid"] and
                   params["MessageStatus"] == "undelivered" and
                   params["ErrorCode"] == "30003", "fields", params)
            expect(headers["X-Twilio-Signature"] ==
                   ft.twilio_signature(fake.auth_token, cb, params),
                   "signed over the callback URL and fields", headers)
    finally:
        srv.shutdown()
        srv.server_close()


def test_kannel_loop_without_optd():
    """fakesmsc sends two messages; the stand-in for optd's get-url
    answers each through sendsms with a dlr-url; fakesmsc receives both
    replies and the DLRs (8, then 1) come back."""
    sqlite_only("uses no database")
    if not kannel.available():
        raise AssertionError("Kannel is not installed: scripts/deps.sh test")
    box = {}

    def reply(method, path, body):
        u = urllib.parse.urlsplit(path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path != "/in":
            return
        dlr = "http://127.0.0.1:%d/dlr?type=%%d&id=%s" % (
            srv.server_address[1], q["id"])
        threading.Thread(target=lambda: box.setdefault("sendsms", []).append(
            box["k"].sendsms(q["to"], q["from"], "re: " + q["text"],
                             **{"dlr-mask": "27", "dlr-url": dlr}))).start()

    srv = catcher(reply)
    try:
        get_url = ("http://127.0.0.1:%d/in?from=%%p&to=%%P&text=%%a&id=%%I"
                   "&secret=s3cret" % srv.server_address[1])
        with kannel.Kannel(get_url) as k:
            box["k"] = k
            with k.phone("+12223334444", "+15550001111", "START", count=2) \
                    as ph:
                got = ph.wait_replies(2, timeout=15)
                expect(got == ["re: START", "re: START"], "replies", got)
                expect(ph.received[0][:2] == ("+15550001111",
                                              "+12223334444"),
                       "from the number to the phone", ph.received)
            deadline = time.time() + 10
            while time.time() < deadline:
                with srv.lock:
                    dlrs = [p for m, p, h, b in srv.got
                            if p.startswith("/dlr")]
                if len(dlrs) >= 4:
                    break
                time.sleep(0.05)
            ins = [p for m, p, h, b in srv.got if p.startswith("/in")]
            expect(len(ins) == 2 and "from=%2B12223334444" in ins[0] and
                   "to=%2B15550001111" in ins[0] and "text=START" in ins[0]
                   and "secret=s3cret" in ins[0], "get-url", ins)
            types = sorted(urllib.parse.parse_qs(
                urllib.parse.urlsplit(p).query)["type"][0] for p in dlrs)
            expect(types == ["1", "1", "8", "8"], "DLRs 8 and 1", dlrs)
            expect([s for s, b in box["sendsms"]] == [202, 202] and
                   all(b.startswith("0: Accepted") for s, b in
                       box["sendsms"]), "sendsms accepted", box["sendsms"])
            # With no fakesmsc connected, a message waits in bearerbox.
            st, body = k.sendsms("+15550001111", "+12223334444", "later")
            expect(body.startswith("3: Queued"), "queued with no SMSC", body)
            with k.phone("+12223334444", "+15550001111", "x", count=0) as ph:
                expect(ph.wait_replies(1) == ["later"], "delivered later")
                time.sleep(0.3)
                expect(ph.sent() == 0, "count=0 sends nothing", ph.lines)
            st, body = k.sendsms("+15550001111", "+12223334444", "x",
                                 password="wrong")
            expect(st == 403, "bad sendsms password", (st, body))
    finally:
        srv.shutdown()
        srv.server_close()
