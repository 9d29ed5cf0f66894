"""Keywords through the generic inbound webhook (POST /sms/inbound) with
the log provider: what each keyword does to consent, the ledger and the
outbox, idempotent retries, and the command line (docs/sms.md)."""
import json
import os

import fake_twilio as ft
from harness import (ADMIN_KEY, expect, expect_status, query, run_optd)
from smsutil import (NUMBER, RATES, inbound, inbound_ok, keyword_entries,
                     message, messages, phone, sms_group, sms_log, sms_optd,
                     state, wait_outbox, wait_state)


def one_reply(j, kind):
    expect(len(j["replies"]) == 1 and j["replies"][0]["kind"] == kind,
           "one %s reply" % kind, j)
    r = j["replies"][0]
    expect(isinstance(r["id"], int) and isinstance(r["body"], str) and
           r["body"], "reply has an id and a body", r)
    return r


def test_start_subscribes_and_replies():
    with sms_optd() as o:
        sms_group(o)
        p = phone(1)
        j = inbound_ok(o, p, "START", mid="gw-start-1")
        expect(j["duplicate"] is False and j["group_id"] == "promo" and
               j["category"] == "opt_in" and j["action"] == "subscribed" and
               isinstance(j["inbound_id"], int), "answer", j)
        rep = one_reply(j, "opt_in")
        for words in ("Acme", RATES, "STOP", "HELP"):
            expect(words.lower() in rep["body"].lower(),
                   "the confirmation carries %r" % words, rep)
        expect(state(o, "promo", p) == "Subscribed", "subscribed")
        u = expect_status(o.user_status(phone=p), 200).json
        expect(any(g["id"] == "promo" and g["status"] == "Subscribed"
                   for x in u["users"] for g in x["subscription_groups"]),
               "an anonymous profile holds the subscription", u)
        es = keyword_entries(o, p)
        expect(len(es) == 1 and es[0]["to"] == "subscribed" and
               es[0]["group_id"] == "promo", "one keyword ledger entry", es)
        ev = es[0]["evidence"]
        expect(str(ev.get("keyword", "")).lower() == "start" and
               ev.get("body") == "START" and
               ev.get("provider_message_id") == "gw-start-1" and
               ev.get("inbound_id") == j["inbound_id"] and
               isinstance(ev.get("provider"), str) and ev["provider"],
               "evidence", ev)
        m = wait_state(o, rep["id"], "sent")
        expect(m["to"] == p and m["from"] == NUMBER and
               m["body"] == rep["body"] and m["kind"] == "opt_in" and
               m["group_id"] == "promo", "outbox row", m)
        enc, _ = ft.encoding_of(m["body"])
        expect(m.get("encoding") == enc and
               m.get("segments") == ft.segments(m["body"]),
               "encoding and segments", m)
        lines = [x for x in sms_log(o) if x.get("to") == p]
        expect(len(lines) == 1 and lines[0].get("body") == rep["body"],
               "one JSON line in --sms-log", sms_log(o))
        ms = messages(o)
        expect([x["id"] for x in ms] == [rep["id"]], "GET /admin/messages",
               ms)


def test_stop_unsubscribes_and_confirms_once_per_message():
    with sms_optd() as o:
        sms_group(o)
        p = phone(2)
        inbound_ok(o, p, "START")
        j = inbound_ok(o, p, "STOP")
        expect(j["category"] == "opt_out", "opt_out", j)
        rep = one_reply(j, "opt_out")
        expect("START" in rep["body"] and "Acme" in rep["body"],
               "says how to come back", rep)
        expect(state(o, "promo", p) == "Unsubscribed", "unsubscribed")
        # The opt-out confirmation goes to a phone no longer subscribed:
        # replies to its own message pass the sending rule.
        expect(wait_state(o, rep["id"])["state"] == "sent",
               "the opt-out confirmation is sent, not rejected")
        j2 = inbound_ok(o, p, "stop")
        one_reply(j2, "opt_out")
        j3 = inbound_ok(o, phone(3), "UNSUBSCRIBE")  # never subscribed
        one_reply(j3, "opt_out")
        ms = wait_outbox(o, 4)
        outs = [m for m in ms if m["kind"] == "opt_out"]
        expect(len(outs) == 3 and all(m["state"] == "sent" for m in outs),
               "one confirmation per STOP message, all sent", ms)
        expect(len([m for m in outs if m["in_reply_to"] == j["inbound_id"]])
               == 1, "exactly one for the first STOP", outs)
        es = keyword_entries(o, p)
        expect([(e["from"], e["to"]) for e in es] ==
               [("unknown", "subscribed"), ("subscribed", "unsubscribed")],
               "ledger: one change per real change", es)
        expect(es[1]["evidence"].get("body") == "STOP", "evidence", es[1])


def test_help_is_answered_subscribed_or_not():
    with sms_optd() as o:
        sms_group(o)
        p, q = phone(4), phone(5)
        inbound_ok(o, p, "START")
        for who, body in ((p, "HELP"), (q, "help"), (q, "INFO")):
            j = inbound_ok(o, who, body)
            expect(j["category"] == "help", "help category", j)
            rep = one_reply(j, "help")
            expect(RATES.lower() in rep["body"].lower() and
                   "STOP" in rep["body"], "CTIA help content", rep)
        expect(state(o, "promo", p) == "Subscribed", "HELP changes nothing")
        expect(state(o, "promo", q) in ("Unknown", "Unsubscribed"),
               "HELP subscribes nobody")
        expect(keyword_entries(o, q) == [], "no ledger entry for HELP")
        ms = wait_outbox(o, 4)
        expect([m["state"] for m in ms if m["to"] == q] == ["sent", "sent"],
               "help to a phone that never subscribed is sent", ms)


def test_words_that_are_not_keywords_change_nothing():
    with sms_optd() as o:
        sms_group(o)
        p = phone(6)
        inbound_ok(o, p, "START")
        for body in ("stopwatch", "STOP PLEASE", "Stop. Thank you",
                     "We have got to STOP this!", "please start", "S.T.O.P.",
                     "STOP 🛑", "", "   "):
            r = inbound(o, p, body)
            if body.strip() == "":
                expect(r.status in (200, 400), "empty body: 200 or 400", r)
                if r.status != 200:
                    continue
            expect_status(r, 200, repr(body))
            expect(r.json["category"] == "other" and r.json["replies"] == [],
                   "%r is other, with no reply" % body, r.json)
        expect(state(o, "promo", p) == "Subscribed", "still subscribed")
        for body in ("  stop!  ", "sToP", "“STOP”", "Stop."):
            q = phone(100 + len(body))
            inbound_ok(o, q, "START")
            j = inbound_ok(o, q, body)
            expect(j["category"] == "opt_out", "%r is opt_out" % body, j)
            expect(state(o, "promo", q) == "Unsubscribed", "%r" % body)


def test_retried_webhook_applies_nothing_twice():
    with sms_optd() as o:
        sms_group(o)
        p = phone(7)
        j = inbound_ok(o, p, "START", mid="dup-1")
        wait_outbox(o, 1)
        ledger = o.consent(phone=p)
        for body in ("START", "STOP"):  # a retry, even with another body
            d = inbound_ok(o, p, body, mid="dup-1")
            expect(d["duplicate"] is True, "duplicate:true", d)
            # answered with what the first delivery did, whatever the
            # retry's body says
            expect(all(d[k] == j[k] for k in ("inbound_id", "group_id",
                                               "category", "action")),
                   "the first delivery's id, category and action", (j, d))
            expect(d["replies"] == [], "no new reply", d)
        expect(len(messages(o)) == 1, "one reply in the outbox",
               messages(o))
        expect(o.consent(phone=p) == ledger, "ledger unchanged")
        expect(state(o, "promo", p) == "Subscribed", "still subscribed")
        # the same id from another number's gateway is another message
        j2 = inbound_ok(o, phone(8), "START", mid="dup-2")
        expect(j2["duplicate"] is False, "a new id is new", j2)


def test_number_of_no_group_and_bad_sender():
    with sms_optd() as o:
        sms_group(o)
        p = phone(9)
        j = inbound_ok(o, p, "START", to="+16505550199")
        expect(j["action"] == "no_group" and j["replies"] == [] and
               not j.get("group_id"), "no_group", j)
        r = o.user_status(phone=p)
        expect(r.status == 404 or not r.json.get("users"),
               "no profile was made", r)
        j = inbound_ok(o, "ACMEBANK", "START")
        expect(j["action"] == "bad_sender" and j["replies"] == [],
               "an alphanumeric sender is recorded, nothing else", j)
        # its id, retried from a real phone, is still the first message
        j1 = inbound_ok(o, "ACMEBANK", "START", mid="alnum-1")
        d = inbound_ok(o, p, "START", mid="alnum-1")
        expect(d["duplicate"] is True and d["action"] == "bad_sender" and
               d["inbound_id"] == j1["inbound_id"], "a retry", (j1, d))
        expect(messages(o) == [], "no reply at all")
        expect(o.consent(phone=p) == [], "no ledger entry")


def test_inbound_bad_input_never_5xx_and_changes_nothing():
    with sms_optd("--kannel-secret", "k-secret") as o:
        sms_group(o)
        p = phone(10)
        inbound_ok(o, p, "START")
        wait_outbox(o, 1)
        before = (messages(o), o.consent(phone=p))
        good = {"from": p, "to": NUMBER, "body": "STOP", "id": "bad-1"}
        cases = []
        for drop in ("from", "to", "body"):
            cases.append(("no " + drop, {k: v for k, v in good.items()
                                         if k != drop}))
        for k, v in (("from", 5), ("to", ["x"]), ("body", {"a": 1}),
                     ("id", 7.5), ("from", "+1 (212) 555-0010" + "9" * 200)):
            cases.append(("%s=%r" % (k, v), dict(good, **{k: v})))
        cases.append(("not an object", ["STOP"]))
        for what, doc in cases:
            r = o.post("/sms/inbound", doc)
            expect(400 <= r.status < 500, "%s: 4xx" % what, r)
        for what, raw in (("bad JSON", b'{"from": "+1212'),
                          ("not UTF-8", b'{"from":"\xff","to":"x"}'),
                          ("deep", b"[" * 5000 + b"]" * 5000),
                          ("huge", json.dumps(dict(
                              good, body="STOP", pad="x" * (2 << 20)))
                           .encode())):
            # optd may answer (413) before reading all of it: o.raw()
            r = o.raw(b"POST /sms/inbound HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + ADMIN_KEY.encode() +
                      b"\r\nContent-Type: application/json\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(raw) + raw)
            expect(400 <= r.status < 500, "%s: 4xx" % what, r)
        r = o.post("/sms/inbound", good, key=None)
        expect_status(r, 401, "no key")
        k = o.create_key(["subscription.status.set"])
        expect_status(o.post("/sms/inbound", good, key=k), 403,
                      "a key without sms.inbound")
        expect_status(o.post("/sms/inbound", good, key="optd_nope"), 401,
                      "an unknown key")
        # the other webhooks: a missing or wrong secret or signature
        q = {"from": p, "to": NUMBER, "text": "STOP", "id": "k-1"}
        for extra in ({}, {"secret": "wrong"}, {"secret": ""}):
            r = o.get("/sms/inbound/kannel?" + query(**q, **extra),
                      key=None)
            expect_status(r, 403, "kannel %r" % extra)
        params = ft.inbound_params(p, NUMBER, "STOP", "AC" + "0" * 32)
        for sig in (None, "", "bm90IGEgc2lnbmF0dXJl"):
            st, _, body = ft.post_form(o.public_url + "/sms/inbound/twilio",
                                       params, sig)
            expect(st == 403, "twilio signature %r: 403" % sig, (st, body))
        expect(state(o, "promo", p) == "Subscribed", "still subscribed")
        expect((messages(o), o.consent(phone=p)) == before,
               "nothing changed")
        # a key scoped to sms.inbound works
        k = o.create_key(["sms.inbound"])
        j = inbound_ok(o, p, "STOP", key=k)
        expect(j["category"] == "opt_out", "sms.inbound key", j)


def test_sim_sms_and_messages_command():
    with sms_optd() as o:
        sms_group(o)
        p = phone(11)
        r = run_optd("sim", "sms", "--from", p, "--to", NUMBER, "--url",
                     o.public_url, "--key", ADMIN_KEY, "START", timeout=30)
        expect(r.returncode == 0, "optd sim sms", (r.returncode, r.stdout,
                                                  r.stderr))
        ms = messages(o, to=p)
        expect(len(ms) == 1, "one reply", ms)
        expect("reply [sent]: " + ms[0]["body"] in r.stdout,
               "prints the reply with its outcome", r.stdout)
        r = run_optd("sim", "sms", "--from", p, "--to", NUMBER, "--url",
                     o.public_url, "--key", ADMIN_KEY, "HELP", timeout=30)
        ms = messages(o, to=p)
        expect(len(ms) == 2 and "reply [sent]: " + ms[1]["body"] in r.stdout,
               "the HELP reply", (ms, r.stdout))
        inbound_ok(o, phone(12), "HELP")
        wait_outbox(o, 3)
        out = o.cli("messages").stdout
        expect(p in out and phone(12) in out and ms[0]["body"][:30] in out,
               "optd messages", out)
        out = o.cli("messages", "--to", p, "--limit", "1").stdout
        expect(ms[0]["body"][:30] in out and ms[1]["body"][:30] not in out
               and phone(12) not in out, "--to and --limit", out)
        out = o.cli("messages", "--state", "failed").stdout
        expect(p not in out, "nothing failed", out)
        r = o.cli("messages", "--state", "bogus", check=False)
        expect(r.returncode != 0 and r.stderr, "a bad state is refused", r)


def test_admin_messages_filters():
    with sms_optd() as o:
        sms_group(o)
        for i in range(3):
            inbound_ok(o, phone(20 + i), "HELP")
        ms = wait_outbox(o, 3)
        expect([m["id"] for m in ms] == sorted(m["id"] for m in ms),
               "oldest first", ms)
        expect([m["to"] for m in messages(o, to=phone(21))] == [phone(21)],
               "to=", ms)
        expect(len(messages(o, limit=2)) == 2, "limit=")
        after = messages(o, after=ms[0]["id"])
        expect([m["id"] for m in after] == [m["id"] for m in ms[1:]],
               "after=", after)
        expect(len(messages(o, state="sent")) == 3 and
               messages(o, state="queued") == [], "state=")
        expect(message(o, ms[1]["id"])["id"] == ms[1]["id"], "one message")
        for path, status in (("/admin/messages/999999", 404),
                             ("/admin/messages?state=bogus", 400),
                             ("/admin/messages?limit=-1", 400),
                             ("/admin/messages?limit=x", 400),
                             ("/admin/messages/abc", None)):
            r = o.get(path)
            expect(400 <= r.status < 500 and (status is None or
                                              r.status == status),
                   path, r)
        k = o.create_key(["subscription.status.get"])
        expect_status(o.get("/admin/messages", key=k), 403, "admin only")
        expect_status(o.get("/admin/messages", key=None), 401, "no key")
        expect(os.path.getsize(o.sms_log) > 0, "the log file was written")


def test_sending_rule_for_messages_from_the_brand():
    with sms_optd() as o:
        sms_group(o)
        p, q = phone(70), phone(71)
        inbound_ok(o, p, "START")
        r = expect_status(o.post("/admin/messages", {
            "group_id": "promo", "to": p, "body": "Deals today"}), 201)
        expect(r.json["kind"] == "message" and
               r.json["state"] == "queued", "queued for a subscriber", r)
        wait_state(o, r.json["id"], "sent")
        for who in (q, p):  # never subscribed; then opted out
            if who == p:
                inbound_ok(o, p, "STOP")
            r = expect_status(o.post("/admin/messages", {
                "group_id": "promo", "to": who, "body": "More deals"}), 201)
            expect(r.json["state"] == "rejected" and
                   r.json["error"] == "unsubscribed", "rejected", r)
            expect(message(o, r.json["id"])["state"] == "rejected",
                   "and stays so")
        wait_outbox(o, 5)
        expect([x["body"] for x in sms_log(o)].count("More deals") == 0,
               "a rejected message reaches no provider", sms_log(o))
        # replies still go to the opted-out phone
        j = inbound_ok(o, p, "HELP")
        wait_state(o, j["replies"][0]["id"], "sent")
        for doc, status in (({"group_id": "promo", "to": p}, 400),
                            ({"group_id": "nope", "to": p, "body": "x"},
                             400),
                            ({"group_id": "promo", "to": "call me",
                              "body": "x"}, 400),
                            ({"group_id": "promo", "to": p,
                              "body": "x" * 7000}, 400),
                            ({"group_id": "promo", "to": p, "body": 5},
                             400)):
            r = o.post("/admin/messages", doc)
            expect(r.status == status, "POST /admin/messages %r" %
                   {k: str(v)[:20] for k, v in doc.items()}, r)
        k = o.create_key(["subscription.status.set"])
        expect_status(o.post("/admin/messages", {
            "group_id": "promo", "to": p, "body": "x"}, key=k), 403,
            "admin only")
