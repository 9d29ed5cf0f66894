"""The outbox under faults: Twilio (the fake) answers 500, 429, other 4xx,
drops connections, accepts a message and then drops the connection, or
stalls; optd is SIGKILLed mid-run and restarted on the same database.
Every reply must end `sent` (or `delivered`) having reached Twilio exactly
once, or `failed` with a reason; none may be lost (docs/sms.md, "Outbox
and providers")."""
import shutil
import threading
import time

import fake_twilio as ft
from harness import expect, new_db, postgres_only, scratch_dir
from smsutil import (DONE, inbound_ok, messages, phone, sms_group,
                     sms_optd, wait_for)

MAX_ATTEMPTS = 3
TIMEOUT_MS = 1000   # --sms-timeout-ms: one attempt
SLOW = 1.5          # seconds a stalling Twilio sits on a request

# What Twilio does to each attempt for one phone, in order; after the plan
# runs out it accepts. At most MAX_ATTEMPTS - 1 faults before success, so
# each must end sent, except where the plan says failed.
PLANS = [
    ([], "sent"),
    ([ft.fail(500)], "sent"),
    ([ft.fail(503, 20500)], "sent"),
    ([ft.throttle(1)], "sent"),
    ([ft.DROP], "sent"),
    ([ft.ACCEPT_DROP], "sent"),
    ([ft.fail(500), ft.DROP], "sent"),
    ([ft.ACCEPT_DROP, ft.fail(500)], "sent"),
    ([ft.throttle(1), ft.ACCEPT_DROP], "sent"),
    ([ft.DROP, ft.throttle(1)], "sent"),
    ([ft.slow(SLOW)], "sent"),                # accepted after optd gave up
    ([ft.slow(SLOW, ft.fail(500))], "sent"),  # refused after optd gave up
    ([ft.bad_request(21211)], "failed"),
    ([ft.fail(500)] * MAX_ATTEMPTS, "failed"),
]
ROUNDS = 2                  # each plan for this many phones
STALLED = phone(399)        # killed while Twilio sits on its request


class Planner:
    """fake.faults_by: the next fault of each phone's plan."""

    def __init__(self):
        self.plan = {}
        self.seen = {}
        self.lock = threading.Lock()  # the fake answers on many threads

    def add(self, to, faults):
        self.plan[to] = list(faults)

    def __call__(self, form):
        to = form.get("To")
        with self.lock:
            i = self.seen.get(to, 0)
            self.seen[to] = i + 1
        faults = self.plan.get(to, [])
        return faults[i] if i < len(faults) else ft.OK


def trail(fake, p, t0):
    """What Twilio saw of phone p, for a failure report."""
    return "%s: %s" % (p, ", ".join(
        "%+.2fs %s %r->%s" % (a["time"] - t0, (a["key"] or "-")[-12:],
                              a["fault"], a.get("outcome", "?"))
        for a in fake.attempts if a["form"].get("To") == p))


def flags(fake):
    return fake.optd_flags() + [
        "--sms-max-attempts", str(MAX_ATTEMPTS),
        "--sms-timeout-ms", str(TIMEOUT_MS),
        "--sms-lease-ms", str(2 * TIMEOUT_MS),
        "--sms-retry-base-ms", "200"]


def test_faults_and_sigkill_lose_nothing_and_send_once():
    tmp = scratch_dir()
    planner = Planner()
    expected = {}
    for r in range(ROUNDS):
        for i, (faults, outcome) in enumerate(PLANS):
            p = phone(300 + r * len(PLANS) + i)
            planner.add(p, faults)
            expected[p] = outcome
    planner.add(STALLED, [ft.slow(SLOW)])
    expected[STALLED] = "sent"
    with ft.FakeTwilio() as fake:
        fake.faults_by = planner
        o = sms_optd(*flags(fake), tmp=tmp).start()
        sms_group(o)
        inbound_ok(o, STALLED, "HELP")
        # killed while the fake holds the stalled request unanswered: the
        # fake accepts it after optd is gone, so optd never hears
        wait_for(lambda: any(a["form"].get("To") == STALLED
                             for a in fake.attempts), 10,
                 "the stalled request at Twilio")
        for p in expected:
            if p != STALLED:
                inbound_ok(o, p, "HELP")
        wait_for(lambda: len(fake.attempts) >= len(expected) // 2, 10,
                 "half the first attempts")
        t_kill = time.time()
        o.kill9()
        o = sms_optd(*flags(fake), tmp=tmp, port=o.port).start()
        try:
            ms = wait_for(lambda: (lambda ms: ms if len(ms) == len(expected)
                                   and all(m["state"] in DONE for m in ms)
                                   else None)(messages(o)), 90,
                          "every reply sent or failed")
            took = time.time() - t_kill
            o.stop()
        finally:
            if o.proc:
                o.kill9()
    by_to = {}
    for m in ms:
        by_to.setdefault(m["to"], []).append(m)
    expect(sorted(by_to) == sorted(expected) and
           all(len(v) == 1 for v in by_to.values()),
           "one reply per acknowledged HELP, none lost", sorted(by_to))
    bad = []
    for p, want in sorted(expected.items()):
        m = by_to[p][0]
        at_twilio = [x for x in fake.messages if x["to"] == p]
        keys = {a["key"] for a in fake.attempts if a["form"].get("To") == p}
        got = "sent" if m["state"] in ("sent", "delivered") else m["state"]
        if got != want:
            bad.append("%s: %s, want %s (%s; plan %r)" % (
                p, m["state"], want, m.get("error"), planner.plan[p]))
        elif want == "sent" and (len(at_twilio) != 1 or
                                 at_twilio[0]["body"] != m["body"] or
                                 m["provider_id"] != at_twilio[0]["sid"]):
            bad.append("%s: at Twilio %d time(s), sid %r vs %r" % (
                p, len(at_twilio), m["provider_id"],
                [x["sid"] for x in at_twilio]))
        elif want == "failed" and (at_twilio or not m.get("error")):
            bad.append("%s: failed but at Twilio %d time(s), error %r" % (
                p, len(at_twilio), m.get("error")))
        if len(keys) != 1 or None in keys:
            bad.append("%s: attempts carried keys %r" % (p, keys))
    expect(not bad, "outcomes:\n  " + "\n  ".join(bad) + "\nattempts:\n  " +
           "\n  ".join(trail(fake, p, t_kill) for p in sorted(expected)
                       if any(p in b for b in bad)))
    expect(fake.duplicates() == ([], []), "nothing twice at Twilio",
           fake.duplicates())
    fake.check_clean()
    for p, faults in planner.plan.items():
        if len(faults) == MAX_ATTEMPTS:
            # An attempt counts when claimed: the kill may cut one short
            # before or after it reached Twilio.
            n = planner.seen.get(p, 0)
            expect(by_to[p][0]["attempts"] == MAX_ATTEMPTS and
                   MAX_ATTEMPTS - 1 <= n <= MAX_ATTEMPTS + 1,
                   "%s: --sms-max-attempts attempts, then failed" % p,
                   (by_to[p][0], n))
    expect(took < 30, "all done soon after the kill", took)
    shutil.rmtree(tmp, ignore_errors=True)


def test_pg_two_nodes_share_the_outbox():
    """Two optd on one PostgreSQL database, both sending: every reply
    goes to Twilio once, also when one node is SIGKILLed mid-run."""
    postgres_only()
    tmp = scratch_dir()
    db = new_db(tmp)
    planner = Planner()
    phones = [phone(500 + i) for i in range(40)]
    for i, p in enumerate(phones):
        planner.add(p, [[], [ft.DROP], [ft.fail(500)],
                        [ft.ACCEPT_DROP]][i % 4])
    with ft.FakeTwilio() as fake:
        fake.faults_by = planner
        args = fake.optd_flags() + ["--nodes", "2", "--sms-timeout-ms",
                                    "1000", "--sms-lease-ms", "2000",
                                    "--sms-retry-base-ms", "200"]
        nodes = [sms_optd(*args, db=db).start() for _ in range(2)]
        try:
            sms_group(nodes[0])
            for i, p in enumerate(phones):
                inbound_ok(nodes[i % 2], p, "HELP")
                if i == 25:
                    port = nodes[1].port
                    nodes[1].kill9()
                    nodes[1].start(port=port)
            ms = wait_for(lambda: (lambda ms: ms if len(ms) == len(phones)
                                   and all(m["state"] == "sent"
                                           for m in ms) else None)(
                                       messages(nodes[0])), 30,
                          "every reply sent")
        finally:
            for o in nodes:
                o.stop()
    expect(sorted(m["to"] for m in ms) == sorted(phones), "one each", ms)
    expect(fake.duplicates() == ([], []) and
           sorted(x["to"] for x in fake.messages) == sorted(phones),
           "each at Twilio once", fake.summary())
    senders = {x["status_callback"].split("/sms/")[0] for x in fake.messages}
    expect(len(senders) == 2, "both nodes sent", senders)
    fake.check_clean()
    shutil.rmtree(tmp, ignore_errors=True)
