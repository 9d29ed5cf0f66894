"""smsutil: what the SMS tests share (docs/sms.md is the contract).

sms_optd() starts an optd whose port is known in advance, so that
--public-url (and the URLs Twilio signs, and Kannel's get-url) can name
it, with its --sms-log in the server's scratch directory. The rest are
shortcuts: a group that owns a number, the generic inbound webhook, the
outbox (GET /admin/messages) and waiting for a message's state.
"""
import json
import os
import time

from harness import (ADMIN_KEY, Optd, TestFailure, expect, expect_status,
                     free_port, query)

NUMBER = "+16505550100"     # the number the tests' group owns
NUMBER2 = "+16505550101"    # a second group's number
DONE = ("sent", "delivered", "failed", "rejected")
RATES = "Msg & data rates may apply"


def phone(i, area=212):
    """A possible US number in E.164, distinct for each i < 10000."""
    return "+1%d555%04d" % (area, i)


def sms_optd(*args, tmp=None, port=None, public_url=True, **kw):
    """An Optd (not started) with --sms-log in its directory and, unless
    public_url is False, --public-url http://127.0.0.1:PORT."""
    port = port or free_port()
    o = Optd(*args, tmp=tmp, port=port, **kw)
    o.sms_log = os.path.join(o.tmp, "sms.log")
    o.public_url = "http://127.0.0.1:%d" % port
    o.args += ["--sms-log", o.sms_log]
    if public_url:
        o.args += ["--public-url", o.public_url]
    return o


def sms_group(o, gid="promo", number=NUMBER, name="Acme", **fields):
    return o.create_group(id=gid, name=name, channel="sms",
                          numbers=[number], **fields)


def set_sms(o, gid, doc):
    r = o.request("PUT", "/admin/subscription_groups/%s/sms" % gid, doc)
    expect(r.status in (200, 201, 204), "PUT %s/sms" % gid, r)
    return r


_ids = iter(range(1, 1 << 30))


def inbound(o, frm, body, to=NUMBER, mid=None, key=ADMIN_KEY, **kw):
    """POST /sms/inbound as a gateway would; mid defaults to a new id."""
    doc = {"from": frm, "to": to, "body": body,
           "id": mid or "gw-%d-%d" % (os.getpid(), next(_ids))}
    return o.post("/sms/inbound", doc, key=key, **kw)


def inbound_ok(o, frm, body, to=NUMBER, mid=None, **kw):
    r = inbound(o, frm, body, to=to, mid=mid, **kw)
    expect_status(r, 200, "POST /sms/inbound %r" % body)
    j = r.json
    expect(isinstance(j, dict) and j.get("message") == "success" and
           isinstance(j.get("replies"), list), "inbound answer", r)
    return j


def messages(o, **q):
    """The outbox, oldest first (GET /admin/messages)."""
    q.setdefault("limit", 1000)
    r = o.get("/admin/messages?" + query(**q))
    expect_status(r, 200, "GET /admin/messages")
    j = r.json
    expect(isinstance(j, dict) and isinstance(j.get("messages"), list),
           "GET /admin/messages lists messages", r)
    return j["messages"]


def message(o, mid):
    r = o.get("/admin/messages/%s" % mid)
    expect_status(r, 200, "GET /admin/messages/%s" % mid)
    return r.json.get("message", r.json) if isinstance(r.json, dict) \
        else r.json


def wait_for(fn, timeout=10.0, what="condition", step=0.05):
    """Poll fn() until it returns something true; that value."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    raise TestFailure("%s not reached within %.0fs (last: %r)" % (
        what, timeout, last))


def wait_state(o, mid, states=DONE, timeout=10.0):
    """Wait until message mid is in one of states; the message."""
    if isinstance(states, str):
        states = (states,)
    return wait_for(lambda: (lambda m: m if m.get("state") in states
                             else None)(message(o, mid)),
                    timeout, "message %s in %s" % (mid, "/".join(states)))


def wait_outbox(o, n, timeout=10.0, states=DONE, **q):
    """Wait until at least n messages (matching q) are all in states."""
    def ready():
        ms = messages(o, **q)
        if len(ms) >= n and all(m["state"] in states for m in ms):
            return ms
        return None
    return wait_for(ready, timeout, "%d message(s) %s" % (n, "/".join(
        states)))


def sms_log(o):
    """The JSON lines of the log provider's file."""
    try:
        with open(o.sms_log, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def state(o, gid, ph):
    """"Subscribed" or "Unsubscribed" (status/get by phone)."""
    r = expect_status(o.status_get(gid, phone=ph), 200, "status/get")
    return r.json["status"].get(ph)


def keyword_entries(o, ph, gid=None):
    return [e for e in o.consent(phone=ph)
            if e["source"] == "keyword" and (gid is None or
                                             e["group_id"] == gid)]


def no_5xx(r, what):
    expect(r.status < 500, "%s: never 5xx" % what, r)
    return r
