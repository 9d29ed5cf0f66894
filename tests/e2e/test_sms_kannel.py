"""optd behind a real Kannel (kannel.py): a phone (fakesmsc) texts the
group's number, Kannel's sms-service calls optd's get-url, optd answers
through Kannel's sendsms, the reply reaches the phone, and Kannel's
delivery reports come back to /sms/status/kannel (docs/sms.md)."""
import re
import time
import urllib.parse

import kannel
from harness import expect, free_port, query
from smsutil import (NUMBER, NUMBER2, inbound_ok, keyword_entries, message,
                     messages, phone, set_sms, sms_group, sms_optd, state,
                     wait_for, wait_state)

SECRET = "kannel-get-url-secret"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")


def kannel_and_optd(inline=False):
    if not kannel.available():
        raise AssertionError("Kannel is not installed: scripts/deps.sh test")
    port = free_port()
    k = kannel.Kannel("http://127.0.0.1:%d/sms/inbound/kannel?from=%%p&"
                      "to=%%P&text=%%a&id=%%I&secret=%s" % (port, SECRET),
                      inline=inline)
    extra = ("--kannel-replies", "inline") if inline else ()
    o = sms_optd(*k.optd_flags(), "--kannel-secret", SECRET,
                 "--sms-retry-base-ms", "200", *extra, port=port)
    return k, o


def test_replies_in_the_get_url_answer():
    """--kannel-replies inline: the reply is Kannel's get-url answer, the
    outbox row is stored sent with it, and no sendsms call is made."""
    k, o = kannel_and_optd(inline=True)
    with k, o:
        sms_group(o)
        p = phone(61)
        got, ms = text(k, o, p, NUMBER, "START")
        expect(got == [ms[0]["body"]] and ms[0]["kind"] == "opt_in" and
               ms[0]["state"] == "sent" and ms[0]["provider"] == "kannel",
               "the confirmation went back in the answer", (got, ms))
        expect(state(o, "promo", p) == "Subscribed", "subscribed")
        got, ms = text(k, o, p, NUMBER, "STOP")
        expect(ms[0]["kind"] == "opt_out" and got == [ms[0]["body"]],
               "the opt-out confirmation, once", ms)
        text(k, o, p, NUMBER, "stopwatch", n=0)
        expect(state(o, "promo", p) == "Unsubscribed", "unsubscribed")


def text(k, o, frm, to, body, n=1):
    """fakesmsc texts body; the n messages it gets back, once the outbox
    shows that many new ones for frm."""
    before = len(messages(o, to=frm))
    with k.phone(frm, to, body) as ph:
        got = ph.wait_replies(n)
        # a second copy (or, for n = 0, any answer) would show up by now
        time.sleep(0.3 if n else 1.0)
        expect(len(ph.replies()) == n, "%r: exactly %d message(s) back" %
               (body, n), ph.replies())
    ms = messages(o, to=frm)
    expect(len(ms) == before + n, "%r: %d new in the outbox" % (body, n), ms)
    return got, ms[before:]


def keyword_conversation(k, o, p, stop="Stop"):
    """Through Kannel, phone p texts START, HELP, a phrase that is no
    keyword, `stop`, then START and Y to the double opt-in group's number
    and a French keyword that gets a UCS-2 reply; each reply is checked
    at the phone and every message ends delivered. The groups "promo"
    (NUMBER) and "doi" (NUMBER2) must exist. Returns the ledger evidence
    of the START."""
    got, ms = text(k, o, p, NUMBER, "START")
    expect(got == [ms[0]["body"]] and ms[0]["kind"] == "opt_in" and
           ms[0]["provider"] == "kannel",
           "the confirmation reached the phone", (got, ms))
    expect(state(o, "promo", p) == "Subscribed", "subscribed")
    ev = keyword_entries(o, p)[0]["evidence"]
    expect(ev.get("provider") == "kannel" and
           UUID.match(ev.get("provider_message_id", "")),
           "evidence: Kannel's message id", ev)
    m = wait_state(o, ms[0]["id"], "delivered")
    expect(m["provider"] == "kannel", "sent by Kannel", m)
    got, ms = text(k, o, p, NUMBER, "HELP")
    expect(ms[0]["kind"] == "help" and got == [ms[0]["body"]], "HELP", ms)
    text(k, o, p, NUMBER, "stop please", n=0)
    expect(state(o, "promo", p) == "Subscribed", "not a keyword")
    got, ms = text(k, o, p, NUMBER, stop)
    expect(ms[0]["kind"] == "opt_out" and got == [ms[0]["body"]],
           "the opt-out confirmation, once", ms)
    expect(state(o, "promo", p) == "Unsubscribed", "unsubscribed")
    # double opt-in, on the other group's number
    got, ms = text(k, o, p, NUMBER2, "START")
    expect(ms[0]["kind"] == "doi_prompt" and ms[0]["from"] == NUMBER2,
           "prompt from the group's number", ms)
    expect(state(o, "doi", p) != "Subscribed", "not yet")
    got, ms = text(k, o, p, NUMBER2, "Y")
    expect(ms[0]["kind"] == "doi_confirm", "confirmed", ms)
    expect(state(o, "doi", p) == "Subscribed", "subscribed by Y")
    # a French keyword in, a UCS-2 reply out, intact at the phone
    set_sms(o, "promo", {"languages": {"fr": {
        "keywords": {"opt_out": ["ARRÊT"]},
        "replies": {"opt_out": "Acme : désabonné ✓ Répondez START."}}}})
    got, ms = text(k, o, p, NUMBER, "ARRÊT")
    expect(got == ["Acme : désabonné ✓ Répondez START."] and
           ms[0]["encoding"] == "UCS-2", "French reply", (got, ms))
    for m in messages(o):
        wait_state(o, m["id"], "delivered")
    return ev


def test_keywords_through_kannel():
    k, o = kannel_and_optd()
    with k, o:
        sms_group(o)
        sms_group(o, gid="doi", number=NUMBER2, double_opt_in=True)
        p = phone(60)
        ev = keyword_conversation(k, o, p)
        # the DLR endpoint wants the secret too, and a retried get-url
        # (same Kannel id) applies nothing
        mid = messages(o)[0]["id"]
        for q in ({"type": "2"}, {"type": "2", "secret": "wrong"}):
            r = o.get("/sms/status/kannel?" + query(**q), key=None)
            expect(400 <= r.status < 500, "DLR %r: 4xx" % q, r)
        expect(message(o, mid)["state"] == "delivered", "unchanged")
        kid = ev["provider_message_id"]
        n = len(messages(o))
        r = o.get("/sms/inbound/kannel?" + query(
            **{"from": p, "to": NUMBER, "text": "START", "id": kid,
               "secret": SECRET}), key=None)
        expect(r.status == 200 and len(messages(o)) == n,
               "a retried get-url queues nothing", r)


def test_reply_while_the_phone_side_is_offline_arrives_once():
    """Kannel answers "3: Queued for later delivery" while no SMSC link
    is up: it has the message and delivers it when the link returns, so
    the phone must get it once, not once per attempt."""
    k, o = kannel_and_optd()
    with k, o:
        sms_group(o)
        p = phone(61)
        r = o.get("/sms/inbound/kannel?" + query(
            **{"from": p, "to": NUMBER, "text": "HELP",
               "id": "6d3b1a52-0000-4000-8000-000000000001",
               "secret": SECRET}), key=None)
        expect(r.status == 200, "get-url as Kannel calls it", r)
        wait_for(lambda: any(m["attempts"] >= 1 for m in messages(o)), 10,
                 "an attempt at Kannel")
        time.sleep(1.5)  # time for two retries, were optd to retry
        with k.phone(p, NUMBER, "x", count=0) as ph:
            ph.wait_replies(1)
            time.sleep(0.5)
            expect(len(ph.replies()) == 1, "the reply arrives once",
                   ph.replies())
        m = messages(o, to=p)
        expect(len(m) == 1, "one reply", m)


def dlr(o, req, dlr_type, **change):
    """Call the dlr-url optd gave sendsms as Kannel would, with %d filled
    in (and any query parameter changed or, with None, dropped)."""
    u = urllib.parse.urlsplit(req["dlr-url"].replace("%d", str(dlr_type)))
    q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
    for k, v in change.items():
        if v is None:
            q.pop(k, None)
        else:
            q[k] = v
    return o.get(u.path + "?" + urllib.parse.urlencode(q), key=None)


def test_sendsms_requests_answers_and_delivery_reports():
    """Against a scripted stand-in for sendsms: what optd asks Kannel,
    how it takes Kannel's answers, and what each DLR type does."""
    with kannel.FakeSendsms() as ks, sms_optd(
            "--sms-provider", "kannel", "--kannel-sendsms-url", ks.url,
            "--kannel-username", "u1", "--kannel-password", "p&w=1",
            "--kannel-secret", SECRET, "--sms-retry-base-ms", "200") as o:
        sms_group(o)
        set_sms(o, "promo", {"languages": {"fr": {
            "keywords": {"opt_out": ["ARRÊT"]},
            "replies": {"opt_out": "Désabonné ✓"}}}})
        p = phone(62)
        j = inbound_ok(o, p, "START")
        q = ks.wait(1, to=p)[0]
        expect(q["username"] == "u1" and q["password"] == "p&w=1" and
               q["from"] == NUMBER and q["to"] == p and
               q["text"] == j["replies"][0]["body"] and
               q.get("coding", "0") == "0" and q["dlr-mask"] == "27" and
               q["dlr-url"].startswith(o.public_url + "/sms/status/kannel")
               and "%d" in q["dlr-url"], "the sendsms request", q)
        mid = wait_state(o, j["replies"][0]["id"], "sent")["id"]
        for t, want in ((8, "sent"), (4, "sent"), (1, "delivered"),
                        (16, "delivered"), (2, "delivered")):
            r = dlr(o, q, t)
            expect(r.status == 200, "DLR %d answered" % t, r)
            expect(message(o, mid)["state"] == want, "after DLR %d" % t,
                   message(o, mid))
        # a forged or incomplete report changes nothing
        j = inbound_ok(o, p, "HELP")
        q = ks.wait(2, to=p)[1]
        mid = wait_state(o, j["replies"][0]["id"], "sent")["id"]
        for what, change in (("wrong secret", {"secret": "x"}),
                             ("no secret", {"secret": None})):
            r = dlr(o, q, 16, **change)
            expect(r.status == 403, what + ": 403", r)
        for what, change in (("no type", {"type": None}),
                             ("bad type", {"type": "delivered"})):
            r = dlr(o, q, 16, **change)
            expect(r.status < 500, what + ": no 5xx", r)
        expect(message(o, mid)["state"] == "sent", "unchanged")
        r = dlr(o, q, 16)
        m = wait_state(o, mid, "failed")
        expect(m.get("error"), "a rejected DLR says so", m)
        # UCS-2 text goes as UTF-8 with coding=2
        j = inbound_ok(o, p, "ARRÊT")
        q = ks.wait(3, to=p)[2]
        expect(q["text"] == "Désabonné ✓" and q["charset"] == "UTF-8" and
               q["coding"] == "2", "UCS-2 text", q)
        # "3: Queued" is accepted; 5xx is retried; a refusal fails at once
        ks.answer(phone(63), kannel.FakeSendsms.QUEUED)
        ks.answer(phone(64), (503, "Service unavailable"))
        ks.answer(phone(65), kannel.FakeSendsms.DENIED)
        ids = [inbound_ok(o, phone(63 + i), "HELP")["replies"][0]["id"]
               for i in range(3)]
        wait_state(o, ids[0], "sent")
        wait_state(o, ids[1], "sent")
        expect(len(ks.wait(2, to=phone(64))) == 2, "503 retried")
        m = wait_state(o, ids[2], "failed")
        expect(len([1 for p_, q_, s in ks.requests
                    if q_.get("to") == phone(65)]) == 1 and m["error"],
               "403 not retried", m)
