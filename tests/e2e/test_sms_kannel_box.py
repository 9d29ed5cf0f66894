"""optd as a box of Kannel's bearerbox (--kannel-box, docs/sms.md): no
smsbox and no HTTP between them. First against the real Kannel
(kannel.py, bearerbox and fakesmsc): keywords in, replies out, delivery
reports back, double opt-in, the outbox sender on the link, a bearerbox
that goes away and comes back. Then against a scripted bearerbox
(fake_bearerbox.py) for what the real one will not do on cue."""
import signal
import struct
import subprocess
import time

import kannel
from fake_bearerbox import ACK, ADMIN, REPORT_MO, FakeBearerbox, pack
from harness import expect
from test_sms_kannel import keyword_conversation, text
from smsutil import (NUMBER, NUMBER2, keyword_entries, message, messages,
                     phone, sms_group, sms_optd, state, wait_for,
                     wait_state)


def box_kannel_and_optd(*extra):
    if not kannel.available():
        raise AssertionError("Kannel is not installed: scripts/deps.sh test")
    k = kannel.Kannel(box=True)
    o = sms_optd(*k.optd_flags(), "--sms-retry-base-ms", "200", *extra)
    return k, o


def test_keywords_through_bearerbox():
    k, o = box_kannel_and_optd("--kannel-replies", "inline")
    with k, o:
        k.wait_box()
        sms_group(o)
        sms_group(o, gid="doi", number=NUMBER2, double_opt_in=True)
        keyword_conversation(k, o, phone(70), stop="Stop.")


def test_outbox_sender_on_the_link_and_bearerbox_restarts():
    """Replies through the outbox (the default): the sender hands them to
    bearerbox on the link. Bearerbox stops (SIGTERM: it tells its boxes
    and waits for them to go, so optd must not come straight back) and
    starts again: optd connects again, and a message queued meanwhile is
    delivered once."""
    k, o = box_kannel_and_optd("--sms-timeout-ms", "1000")
    with k, o:
        k.wait_box()
        sms_group(o)
        p = phone(71)
        got, ms = text(k, o, p, NUMBER, "START")
        expect(got == [ms[0]["body"]], "the confirmation, by the sender",
               (got, ms))
        wait_state(o, ms[0]["id"], "delivered")
        expect(o.get("/healthz", key=None).json.get("kannel_box") ==
               "connected", "/healthz: bearerbox connected")
        k.bearerbox.send_signal(signal.SIGTERM)
        try:
            k.bearerbox.wait(15)
        except subprocess.TimeoutExpired:
            raise AssertionError("bearerbox did not stop with optd "
                                 "connected: %s" % o.log_text()[-1500:])
        k.stop()
        h = o.get("/healthz", key=None)
        expect(h.status == 200 and h.json.get("kannel_box") ==
               "not connected", "/healthz: 200, bearerbox away", h)
        r = o.post("/admin/messages", {"group_id": "promo", "to": p,
                                       "body": "Acme: sale today"})
        expect(r.status == 201, "a brand message queued", r)
        mid = r.json["id"]
        wait_for(lambda: message(o, mid)["attempts"] >= 1, 10,
                 "an attempt while bearerbox is away")
        k.start()
        k.wait_box()
        with k.phone(p, NUMBER, "HELP") as ph:
            got = ph.wait_replies(2, timeout=20)
            time.sleep(0.5)
            expect(sorted(ph.replies()).count("Acme: sale today") == 1,
                   "the brand message, once", ph.replies())
        m = wait_state(o, mid, ("sent", "delivered"))
        expect(m["provider"] == "kannel", "sent on the link", m)
        expect("kannel box: connected" in o.log_text() and
               "lost bearerbox" in o.log_text(), "the log says so")


def fake_optd(bb, *extra):
    return sms_optd("--sms-provider", "kannel", "--kannel-box",
                    "127.0.0.1:%d" % bb.port, *extra)


def test_a_message_handed_over_twice_is_applied_once():
    with FakeBearerbox() as bb, fake_optd(bb, "--kannel-replies",
                                          "inline") as o:
        bb.wait_box()
        sms_group(o)
        p = phone(72)
        mid = bb.mo(p, NUMBER, "START")
        expect(bb.wait_ack(mid) == 0, "acked once stored")
        expect(state(o, "promo", p) == "Subscribed", "subscribed")
        wait_for(lambda: len(bb.mts()) == 1, 5, "the confirmation")
        mt = bb.mts()[0]
        expect(mt["receiver"].decode() == p and
               mt["sender"].decode() == NUMBER and mt["sms_type"] == 1 and
               mt["smsc_id"] == b"fake1" and
               mt["dlr_url"].decode().startswith("optd:"),
               "a reply as smsbox sends one", mt)
        bb.mo(p, NUMBER, "START", mid=mid)
        expect(bb.wait_ack(mid, 2) == 0, "the second copy acked too")
        time.sleep(0.3)
        expect(len(bb.mts()) == 1 and len(messages(o)) == 1,
               "and applied once", bb.mts())
        expect(len(keyword_entries(o, p)) == 1, "one ledger entry")
        # a delivery report names its row; one for another row is acked
        # and changes nothing
        rid = messages(o)[0]["id"]
        dlr = bb.mo(NUMBER, p, "", sms_type=REPORT_MO, dlr_mask=1,
                    dlr_url=mt["dlr_url"])
        expect(bb.wait_ack(dlr) == 0, "report acked")
        wait_state(o, rid, "delivered")
        other = bb.mo(NUMBER, p, "", sms_type=REPORT_MO, dlr_mask=2,
                      dlr_url="optd:%d:not-this-one" % rid)
        expect(bb.wait_ack(other) == 0, "a stray report acked")
        expect(message(o, rid)["state"] == "delivered", "unchanged")


def test_a_bearerbox_restarted_at_once_is_connected_to_at_once():
    """After bearerbox says it stops, optd stays away while that
    bearerbox still answers its port (a box there is told to stop), and
    connects as soon as another one answers there instead."""
    with FakeBearerbox() as bb, fake_optd(bb, "--kannel-replies",
                                          "inline") as o:
        bb.wait_box()
        sms_group(o)
        bb.stopping_box = True
        bb.send_raw(pack(ADMIN, command=0))
        bb.wait(lambda: bb.identified >= 3, 10, "optd's probes")
        wait_for(lambda: o.get("/healthz", key=None).json["kannel_box"] ==
                 "not connected", 5, "optd away")
        bb.stopping_box = False  # restarted: a bearerbox that serves
        t0 = time.time()
        wait_for(lambda: o.get("/healthz", key=None).json["kannel_box"] ==
                 "connected", 5, "optd connected to the new bearerbox")
        expect(time.time() - t0 < 5, "at once", time.time() - t0)
        p = phone(73)
        mid = bb.mo(p, NUMBER, "START")
        expect(bb.wait_ack(mid) == 0, "a message taken on the new link")
        expect(state(o, "promo", p) == "Subscribed", "and applied")


def test_refusals_and_bad_frames():
    """A reply bearerbox refuses is recorded failed with the reason; one
    it asks to try again is sent again; a message with no sender is
    refused by name; a frame that makes no sense costs the connection,
    never optd."""
    with FakeBearerbox() as bb, fake_optd(bb, "--kannel-replies",
                                          "inline") as o:
        bb.wait_box()
        sms_group(o)
        p = phone(73)
        bb.nack_next = [1]
        bb.mo(p, NUMBER, "HELP")
        m = wait_state(o, wait_for(lambda: messages(o), 5)[0]["id"],
                       "failed")
        expect("refused" in m["error"], "the reason is recorded", m)
        bb.nack_next = [2]
        bb.mo(p, NUMBER, "HELP")
        wait_for(lambda: len(bb.mts()) == 3, 5, "sent again after 'try "
                 "again'")
        expect(len(set(x["id"] for x in bb.mts()[1:])) == 1,
               "the same message, the same id")
        bad = bb.mo(None, NUMBER, "START")
        expect(bb.wait_ack(bad) == 1, "no sender: acked as failed")
        expect("no sender" in o.log_text(), "the log names the problem")
        # UCS-2 in, a keyword all the same
        q = phone(74)
        bb.mo(q, NUMBER, "ＳＴＡＲＴ", coding=2)
        wait_for(lambda: state(o, "promo", q) == "Subscribed", 5,
                 "a full-width START in UCS-2")
        # a frame of an unknown type, then one cut short
        for junk in (struct.pack(">ii", 4, 99),
                     struct.pack(">iii", 8, ACK, 0)):
            n = bb.identified
            bb.send_raw(junk)
            bb.wait_box(connections=n + 1)
        expect("unknown message type" in o.log_text() and
               "message ends inside a field" in o.log_text(),
               "each named in the log", o.log_text()[-2000:])
        r = o.get("/healthz", key=None)
        expect(r.status == 200, "optd carries on", r)
        later = bb.mo(phone(75), NUMBER, "START")
        expect(bb.wait_ack(later) == 0, "and takes messages again")
        expect(bb.heartbeats >= 1, "heartbeats")


def test_a_clean_stop_answers_every_message_it_applied():
    """SIGTERM while messages stream in: optd stops taking more, and every
    message it applied is acked and its reply handed to bearerbox before
    it exits; the rest stay with bearerbox, unacked."""
    with FakeBearerbox() as bb:
        o = fake_optd(bb, "--kannel-replies", "inline").start()
        try:
            bb.wait_box()
            sms_group(o)
            mos = [bb.mo(phone(100 + i), NUMBER, "START", send=False)
                   for i in range(3000)]
            ids = [m[0] for m in mos]
            bb.send_raw(b"".join(m[1] for m in mos))
            wait_for(lambda: bb.acks, 5, "the first acks")
            expect(o.stop() == 0, "a clean exit")
            o.start()  # to read what it stored
            applied, page = 0, messages(o, limit=1000)
            while page:
                applied += len(page)
                page = messages(o, limit=1000, after=page[-1]["id"])
        finally:
            o.stop()
        acked = [i for i in ids if bb.acks.get(i) == [0]]
        expect(applied > 0 and len(acked) == applied and
               len(bb.mts()) == applied,
               "each applied message acked and answered, none beyond",
               (applied, len(acked), len(bb.mts())))
