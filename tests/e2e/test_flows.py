"""Flows (docs/flows.md): definitions through /admin/flows and `optd
flows`, entry by event and by inbound SMS, audiences, re-entry, and the
steps — webhook (templated, retried by its rules, every attempt recorded),
sms (under the sending rule), delay and user_update. The seed's Option 2
(phone captured: subscribe through optd's own /subscription/status/set,
then confirm by SMS) runs whole, and again with optd SIGKILLed while the
run sits in its webhook step."""
import json
import os
import shutil
import time

from flowutil import (Hold, Target, add_flow, answer, attempts, event,
                      flow_optd, forward, runs, slow, status, track_ok,
                      wait_runs)
from harness import (Optd, expect, expect_error, expect_status, free_port,
                     scratch_dir)
from smsutil import (NUMBER, NUMBER2, inbound_ok, messages, phone,
                     sms_group, sms_log, wait_for, wait_outbox)


def webhook(url, body=None, method="POST", headers=None):
    s = {"type": "webhook", "method": method, "url": url,
         "headers": headers or {"Content-Type": "application/json"}}
    if body is not None:
        s["body"] = body
    return s


# a run that waits an hour, then sets an attribute: it stays active
WAIT = [{"type": "delay", "seconds": 3600},
        {"type": "user_update", "attributes": {"waited": True}}]


def fire(o, name, props=None, **who):
    track_ok(o, {"events": [event(name, props, **who)]}, events_processed=1)


# ---- definitions ----

def test_admin_flows_add_get_put_enable_disable():
    with Optd() as o, Target() as t:
        d = {"id": "f1", "name": "First", "entry": {"event": "go"},
             "steps": [webhook(t.url("/v"), '{"v":1}')]}
        j = add_flow(o, d)
        expect(j["id"] == "f1" and j["name"] == "First" and
               j["version"] == 1 and j["enabled"] is True and
               j["entry_event"] == "go" and j["definition"] == d,
               "created, version 1, enabled", j)
        expect_error(o.post("/admin/flows", d), 409, "f1")
        listed = expect_status(o.get("/admin/flows"), 200, "list").json
        expect([f["id"] for f in listed["flows"]] == ["f1"], "listed", listed)
        got = expect_status(o.get("/admin/flows/f1"), 200, "get").json
        expect(got == j, "GET gives what POST answered", (got, j))
        d2 = dict(d, steps=[webhook(t.url("/v"), '{"v":2}')])
        r = expect_status(o.request("PUT", "/admin/flows/f1", d2), 200, "PUT")
        expect(r.json["version"] == 2 and r.json["definition"] == d2,
               "version 2", r.json)
        # the id may be left out of a PUT; a different one is refused
        d3 = {k: v for k, v in d2.items() if k != "id"}
        r = expect_status(o.request("PUT", "/admin/flows/f1", d3), 200, "PUT")
        expect(r.json["version"] == 3, "version 3", r.json)
        expect_error(o.request("PUT", "/admin/flows/f1", dict(d, id="f2")),
                     400)
        expect_error(o.request("PUT", "/admin/flows/nope", dict(d, id="nope")),
                     404)
        expect_error(o.get("/admin/flows/nope"), 404)
        expect_error(o.get("/admin/flows/nope/runs"), 404)
        # disabled: no new entries
        r = expect_status(o.post("/admin/flows/f1/disable"), 200, "disable")
        expect(r.json["enabled"] is False, "disabled", r.json)
        fire(o, "go", external_id="u1")
        time.sleep(0.3)
        expect(runs(o, "f1") == [], "a disabled flow starts no run")
        r = expect_status(o.post("/admin/flows/f1/enable"), 200, "enable")
        expect(r.json["enabled"] is True, "enabled", r.json)
        fire(o, "go", external_id="u1")
        rs = wait_runs(o, "f1", 1)
        expect(rs[0]["version"] == 3 and rs[0]["state"] == "done",
               "the run took the newest version", rs)
        expect(json.loads(t.wait("/v")[0]["body"]) == {"v": 2}, "v2 body")
        expect_error(o.post("/admin/flows/nope/enable"), 404)
        # admin only
        key = o.create_key(["users.track", "subscription.status.set"])
        expect_error(o.get("/admin/flows", key=key), 403)
        expect_error(o.post("/admin/flows", dict(d, id="f9"), key=key), 403)


def test_definition_errors_name_their_path():
    with Optd() as o:
        ok_step = {"type": "delay", "seconds": 1}
        base = {"id": "bad", "entry": {"event": "go"}, "steps": [ok_step]}
        cases = [
            (dict(base, steps=[ok_step, {"type": "sms", "group_id": "g",
                                         "body": "Hi {{${first_name} | "
                                                 "upcasee}}"}]),
             ["steps[1].body", "upcasee"]),
            (dict(base, steps=[{"type": "email", "to": "x"}]),
             ["steps[0].type"]),
            (dict(base, audience={"all": [
                {"attribute": "plan", "op": "eq", "value": "x"}]}),
             ["audience.all[0].op"]),
            (dict(base, audience={"any": [{"phone_valid": "yes"}]}),
             ["audience.any[0].phone_valid"]),
            (dict(base, steps=[ok_step, webhook("ftp://x/")]),
             ["steps[1].url"]),
            (dict(base, steps=[webhook("http://x/", method="TRACE")]),
             ["steps[0].method"]),
            (dict(base, steps=[webhook("http://x/", "{{ ${user_id}")]),
             ["steps[0].body"]),
            (dict(base, steps=[{"type": "delay", "seconds": 0}]),
             ["steps[0].seconds"]),
            (dict(base, steps=[{"type": "delay", "seconds": 30 * 86400 + 1}]),
             ["steps[0].seconds"]),
            (dict(base, steps=[ok_step] * 21), ["steps"]),
            (dict(base, steps=[]), ["steps"]),
            (dict(base, steps=[{"type": "user_update"}]), ["steps[0]"]),
            (dict(base, steps=[{"type": "user_update", "subscription": {
                "group_id": "g", "state": "maybe"}}]),
             ["steps[0].subscription.state"]),
            (dict(base, entry={"sms": {"group_id": "g", "pattern": "(("}}),
             ["entry.sms.pattern"]),
            (dict(base, entry={}), ["entry"]),
            (dict(base, reentry="yes"), ["reentry"]),
            (dict(base, colour="red"), ["colour"]),
            ({k: v for k, v in base.items() if k != "id"}, ["id"]),
        ]
        for d, words in cases:
            r = o.post("/admin/flows", d)
            expect_error(r, 400, *words)
        expect_error(o.post("/admin/flows", raw=b"{not json"), 400)
        expect(o.get("/admin/flows").json["flows"] == [], "none saved")
        add_flow(o, base)
        expect_error(o.request("PUT", "/admin/flows/bad", dict(
            base, steps=[{"type": "nope"}])), 400, "steps[0].type")
        expect(o.get("/admin/flows/bad").json["version"] == 1,
               "a refused PUT saves no version")


def test_cli_flows_and_runs():
    with Optd() as o:
        path = os.path.join(o.tmp, "flow.json")
        d = {"id": "cli-flow", "entry": {"event": "go"},
             "steps": [{"type": "user_update", "attributes": {"seen": True}}]}
        with open(path, "w") as f:
            json.dump(d, f)
        p = o.cli("flows", "add", "--file", path)
        j = json.loads(p.stdout)
        expect(j["id"] == "cli-flow" and j["version"] == 1 and
               j["enabled"] is True, "optd flows add", j)
        listed = json.loads(o.cli("flows", "list").stdout)["flows"]
        expect([f["id"] for f in listed] == ["cli-flow"], "list", listed)
        api = o.get("/admin/flows").json["flows"]
        expect(api == listed, "the API lists the same", (api, listed))
        shown = json.loads(o.cli("flows", "show", "cli-flow").stdout)
        expect(shown["definition"] == d, "show", shown)
        # the running server sees a flow the command line added
        fire(o, "go", external_id="c1")
        wait_runs(o, "cli-flow", 1)
        out = json.loads(o.cli("runs", "--flow", "cli-flow").stdout)
        expect(out["flow_id"] == "cli-flow" and len(out["runs"]) == 1 and
               out["runs"][0]["state"] == "done" and
               out["runs"][0]["steps"][0]["outcome"] == "ok",
               "optd runs --flow", out)
        with open(path, "w") as f:
            json.dump(dict(d, name="Renamed"), f)
        up = json.loads(o.cli("flows", "update", "cli-flow", "--file",
                              path).stdout)
        expect(up["version"] == 2 and up["name"] == "Renamed",
               "optd flows update", up)
        off = json.loads(o.cli("flows", "disable", "cli-flow").stdout)
        expect(off["enabled"] is False, "disable", off)
        fire(o, "go", external_id="c2")
        time.sleep(0.3)
        expect(len(runs(o, "cli-flow")) == 1, "disabled from the CLI")
        on = json.loads(o.cli("flows", "enable", "cli-flow").stdout)
        expect(on["enabled"] is True, "enable", on)
        fire(o, "go", external_id="c3")
        wait_runs(o, "cli-flow", 2)
        # errors: exit 1, the path named on stderr
        with open(path, "w") as f:
            json.dump(dict(d, id="cli-2", steps=[{"type": "nope"}]), f)
        p = o.cli("flows", "add", "--file", path, check=False)
        expect(p.returncode == 1 and "steps[0].type" in p.stderr and
               p.stdout == "", "a bad definition", (p.returncode, p.stderr))
        with open(path, "w") as f:
            f.write("{oops")
        p = o.cli("flows", "add", "--file", path, check=False)
        expect(p.returncode != 0 and path in p.stderr, "not JSON", p.stderr)
        for args in (("flows", "show", "nope"), ("flows", "enable", "nope"),
                     ("runs", "--flow", "nope")):
            p = o.cli(*args, check=False)
            expect(p.returncode == 1 and "nope" in p.stderr,
                   "optd %s" % " ".join(args), (p.returncode, p.stderr))
        expect([f["id"] for f in o.get("/admin/flows").json["flows"]] ==
               ["cli-flow"], "nothing else saved")


def test_a_run_keeps_its_version():
    with flow_optd() as o, Target() as t:
        add_flow(o, {"id": "ver", "entry": {"event": "go"}, "steps": [
            {"type": "delay", "seconds": 1},
            webhook(t.url("/v"), '{"v":1,"who":"{{${user_id}}}"}')]})
        fire(o, "go", external_id="early")
        wait_for(lambda: (lambda rs: rs and rs[0]["step"] == 1)(
            runs(o, "ver")), 5, "the early run in its delay")
        expect_status(o.request("PUT", "/admin/flows/ver", {
            "entry": {"event": "go"}, "steps": [
                webhook(t.url("/v"), '{"v":2,"who":"{{${user_id}}}"}')]}),
            200, "PUT v2")
        fire(o, "go", external_id="late")
        rs = wait_runs(o, "ver", 2, timeout=5)
        expect([r["version"] for r in rs] == [1, 2], "versions", rs)
        got = sorted(json.loads(x["body"])["who"] + str(
            json.loads(x["body"])["v"]) for x in t.wait("/v", 2))
        expect(got == ["early1", "late2"], "each run its own version", got)


# ---- the seed's Option 2 ----

def option2_flow(url, key, first_number_group="promo"):
    return {
        "id": "seed-option-2",
        "name": "Phone captured: subscribe and confirm",
        "entry": {"event": "phone_number_captured"},
        "reentry": False,
        "audience": {"all": [{"attribute": "external_id",
                              "op": "is_not_blank"}]},
        "steps": [
            webhook(url, headers={"Content-Type": "application/json",
                                  "Authorization": "Bearer " + key},
                    body='{"subscription_group_id":"promo",'
                         '"subscription_state":"subscribed",'
                         '"external_id":"{{${user_id}}}",'
                         '"phone":"{{canvas_entry_properties.'
                         '${phone_number}}}"}'),
            {"type": "sms", "group_id": first_number_group,
             "body": 'Thanks {{${first_name} | default: "there"}}! '
                     'Reply STOP to cancel.'}]}


def option2_setup(o, url):
    sms_group(o)
    key = o.create_key(["subscription.status.set"], name="flow-key")
    add_flow(o, option2_flow(url, key))
    track_ok(o, {"attributes": [{"external_id": "u1",
                                 "first_name": "Ada"}]},
             attributes_processed=1)


def expect_option2_done(o, ph, ledger=1):
    rs = wait_runs(o, "seed-option-2", 1, timeout=15)
    expect(rs[0]["state"] == "done", "the run is done", rs)
    expect(status(o, "promo", external_id="u1") == "Subscribed",
           "subscribed by the webhook")
    led = [e for e in o.consent(external_id="u1") if e["group_id"] == "promo"]
    expect(len(led) == ledger and all(
        e["source"] == "api" and e["key_name"] == "flow-key" and
        e["to"] == "subscribed" and e["phone"] == ph for e in led),
        "the ledger: source api, the flow's key", led)
    ms = wait_for(lambda: (lambda ms: ms if ms and all(
        m["state"] in ("sent", "delivered") for m in ms) else None)(
        messages(o)), 10, "the confirmation sent")
    want = "Thanks Ada! Reply STOP to cancel."
    expect([(m["to"], m["from"], m["body"], m["kind"]) for m in ms] ==
           [(ph, NUMBER, want, "message")], "one confirmation", ms)
    lines = sms_log(o)
    expect([(x["to"], x["body"]) for x in lines] == [(ph, want)],
           "one line in the --sms-log file", lines)
    return rs[0]


def test_seed_option_2_phone_captured_subscribes_and_confirms():
    with flow_optd() as o:
        url = "http://127.0.0.1:%d/subscription/status/set" % o.port
        option2_setup(o, url)
        ph = phone(101)
        fire(o, "phone_number_captured", {"phone_number": "(212) 555-0101"},
             external_id="u1")
        run = expect_option2_done(o, ph)
        step0 = attempts(run, 0)
        expect(len(step0) == 1 and step0[0]["outcome"] == "ok" and
               step0[0]["http_status"] == 201 and
               json.loads(step0[0]["detail"]) == {"message": "success"},
               "the webhook's answer recorded", run)
        expect(run["entry_properties"] == {"phone_number": "(212) 555-0101"},
               "entry properties", run)
        expect([a["outcome"] for a in attempts(run, 1)] == ["queued"],
               "the SMS queued", run)
        # a user known only by phone has no external_id: no run
        fire(o, "phone_number_captured", {"phone_number": phone(102)},
             phone=phone(102))
        time.sleep(0.5)
        expect(len(runs(o, "seed-option-2")) == 1, "no run for phone only")
        expect(status(o, "promo", phone=phone(102)) != "Subscribed",
               "not subscribed")
        # re-entry is off: the same user again starts nothing
        fire(o, "phone_number_captured", {"phone_number": phone(101)},
             external_id="u1")
        time.sleep(0.5)
        expect(len(runs(o, "seed-option-2")) == 1, "once per user")
        expect(len(messages(o)) == 1, "still one confirmation")


def option2_killed(after_apply):
    """Option 2 through a relay the test controls: its first request is
    held (after passing it on to optd when after_apply) while optd is
    SIGKILLed; optd restarted on the same database calls it again with
    the same Idempotency-Key, and the run ends with one confirmation."""
    tmp = scratch_dir()
    flags = dict(timeout_ms=2000, lease_ms=2500)
    o = flow_optd(tmp=tmp, **flags).start()
    cur = [o]
    with Target() as t:
        relay = forward(lambda: cur[0].port, "/subscription/status/set")
        hold = Hold(relay if after_apply else answer(500))
        t.script("/set", hold, relay)
        try:
            option2_setup(o, t.url("/set"))
            fire(o, "phone_number_captured", {"phone_number": phone(111)},
                 external_id="u1")
            if not hold.arrived.wait(10):
                raise AssertionError("the webhook never came")
            if after_apply:
                expect(hold.arrived and t.requests("/set")[0]["forwarded"][
                    "status"] == 201, "the first call applied",
                    t.requests("/set"))
            o.kill9()
            hold.release()
            o = cur[0] = flow_optd(tmp=tmp, db=o.db, port=o.port,
                                   **flags).start()
            run = expect_option2_done(o, phone(111))
            reqs = t.requests("/set")
            expect(len(reqs) == 2, "called again after the restart", reqs)
            keys = {r["headers"].get("Idempotency-Key") for r in reqs}
            expect(keys == {"%d-0" % run["id"]}, "one Idempotency-Key, "
                   "<run>-<step>", keys)
            second = reqs[1]["forwarded"]
            expect(second["status"] == 201, "the second call", second)
            expect((second["headers"].get("idempotent-replayed") == "true")
                   == after_apply, "a replay exactly when the first call "
                   "had applied", second)
            o.stop()
        finally:
            if o.proc:
                o.kill9()
    shutil.rmtree(tmp, ignore_errors=True)


def test_option_2_killed_while_the_webhook_is_held():
    option2_killed(after_apply=False)


def test_option_2_killed_after_the_webhook_applied():
    option2_killed(after_apply=True)


# ---- webhook rules ----

def test_webhook_retry_rules_and_attempt_records():
    plans = {
        "r500": ([answer(500, "boom"), answer(200, "fine")],
                 [("retry", 500, "boom"), ("ok", 200, "fine")]),
        "r503": ([answer(503, "busy"), answer(502, "gw"),
                  answer(201, "made")],
                 [("retry", 503, "busy"), ("retry", 502, "gw"),
                  ("ok", 201, "made")]),
        "r429": ([answer(429, "slow down"), answer(200, "ok")],
                 [("retry", 429, "slow down"), ("ok", 200, "ok")]),
        "r408": ([answer(408, "late"), answer(204, "")],
                 [("retry", 408, "late"), ("ok", 204, "")]),
        "r404": ([answer(404, "missing")], [("failed", 404, "missing")]),
        "r400": ([answer(400, "bad")], [("failed", 400, "bad")]),
        "r302": ([answer(302, "moved", {"Location": "/elsewhere"})],
                 [("failed", 302, "moved")]),
        "rslow": ([slow(1.5), answer(200, "after")],
                  [("retry", 0, None), ("ok", 200, "after")]),
        "rbig": ([answer(200, "x" * 3000)], [("ok", 200, "x" * 1024)]),
        "rgive": ([answer(500, "no")] * 7,
                  [("retry", 500, "no")] * 5 + [("failed", 500, "no")]),
    }
    dead = "http://127.0.0.1:%d/nobody" % free_port()
    with flow_optd(timeout_ms=400, lease_ms=3000) as o, Target() as t:
        for name, (script, _) in plans.items():
            t.script("/" + name, *script)
            add_flow(o, {"id": name, "entry": {"event": "go"},
                         "steps": [webhook(t.url("/" + name), '{"n":1}'),
                                   webhook(t.url("/after-" + name))]})
        add_flow(o, {"id": "rdead", "entry": {"event": "go"},
                     "steps": [webhook(dead), webhook(t.url("/after-dead"))]})
        fire(o, "go", external_id="w1")
        for name, (_, want) in plans.items():
            run = wait_runs(o, name, 1, timeout=15)[0]
            got = attempts(run, 0)
            expect([a["attempt"] for a in got] == list(
                range(1, len(want) + 1)), "%s: attempts numbered" % name,
                run)
            for a, (outcome, st, detail) in zip(got, want):
                expect(a["outcome"] == outcome and a["http_status"] == st and
                       (detail is None or a["detail"] == detail),
                       "%s: attempt %d" % (name, a["attempt"]), run)
            expect(len(got) == len(want), "%s: %d attempts" % (
                name, len(want)), run)
            reqs = t.requests("/" + name)
            expect(len(reqs) == len(want), "%s: the target saw each" % name,
                   len(reqs))
            expect({r["headers"].get("Idempotency-Key") for r in reqs} ==
                   {"%d-0" % run["id"]}, "%s: Idempotency-Key" % name,
                   [r["headers"] for r in reqs])
            after = t.wait("/after-" + name)
            expect(after[0]["headers"].get("Idempotency-Key") ==
                   "%d-1" % run["id"], "%s: the next step's key" % name,
                   after[0]["headers"])
            expect(run["state"] == "done", "%s: the run went on" % name, run)
        slow_run = runs(o, "rslow")[0]
        expect(attempts(slow_run, 0)[0]["detail"],
               "a timeout says what happened", slow_run)
        dead_run = wait_runs(o, "rdead", 1, timeout=15)[0]
        got = attempts(dead_run, 0)
        expect([a["outcome"] for a in got] == ["retry"] * 5 + ["failed"] and
               all(a["http_status"] == 0 and a["detail"] for a in got),
               "connection refused: retried, each attempt recorded",
               dead_run)
        give = t.requests("/rgive")
        gaps = [b["time"] - a["time"] for a, b in zip(give, give[1:])]
        expect(gaps[-1] >= 0.4, "the fifth retry waits base * 16 (at "
               "least half of it)", gaps)


def test_slow_webhooks_are_called_once_each():
    """Each run's webhook takes most of the timeout, and several runs are
    due at once: every run is still called once, within its lease (a run
    claimed and left waiting behind the others past its lease would be
    claimed again and called twice)."""
    n = 6
    with flow_optd(timeout_ms=1000, lease_ms=1500) as o, Target() as t:
        t.script("/slow", *[slow(0.7) for _ in range(3 * n)])
        add_flow(o, {"id": "slow", "entry": {"event": "go"},
                     "steps": [webhook(t.url("/slow"),
                                       '{"who":"{{${user_id}}}"}')]})
        track_ok(o, {"events": [event("go", external_id="s%d" % i)
                                for i in range(n)]}, events_processed=n)
        rs = wait_runs(o, "slow", n, timeout=20)
        time.sleep(1)  # a second call, if any, has come by now
        calls = {}
        for r in t.requests("/slow"):
            k = r["headers"].get("Idempotency-Key")
            calls[k] = calls.get(k, 0) + 1
        expect(calls == {"%d-0" % r["id"]: 1 for r in rs},
               "one call per run", calls)
        for r in rs:
            expect(len(attempts(r, 0)) == 1, "one attempt recorded", r)


def test_a_held_webhook_holds_up_no_other_run():
    """Runs due together, one of them with its webhook held: the others
    (a webhook then an SMS, an SMS alone) are done meanwhile."""
    with flow_optd(timeout_ms=5000, lease_ms=6000) as o, Target() as t:
        hold = Hold()
        t.script("/held", hold)
        sms_group(o)
        add_flow(o, {"id": "held", "entry": {"event": "go"},
                     "steps": [webhook(t.url("/held"))]})
        add_flow(o, {"id": "quick", "entry": {"event": "go"},
                     "steps": [webhook(t.url("/quick")),
                               {"type": "sms", "group_id": "promo",
                                "body": "Quick"}]})
        add_flow(o, {"id": "text", "entry": {"event": "go"}, "steps": [
            {"type": "sms", "group_id": "promo", "body": "Text"}]})
        expect_status(o.status_set({
            "subscription_group_id": "promo",
            "subscription_state": "subscribed",
            "external_id": "h1", "phone": phone(161)}), 201, "subscribe")
        fire(o, "go", external_id="h1")
        if not hold.arrived.wait(10):
            raise AssertionError("the held webhook never came")
        for flow in ("quick", "text"):
            wait_runs(o, flow, 1, timeout=4)
        ms = wait_outbox(o, 2, timeout=4)
        expect(sorted(m["body"] for m in ms) == ["Quick", "Text"],
               "both sent while the other webhook is held", ms)
        expect(runs(o, "held")[0]["state"] == "running", "the held run "
               "waits for its call", runs(o, "held"))
        hold.release()
        run = wait_runs(o, "held", 1)[0]
        expect([a["outcome"] for a in attempts(run, 0)] == ["ok"],
               "then it is done", run)


def test_webhook_retry_waits_the_base_then_doubles():
    """--flow-retry-base-ms is the first retry's delay, doubling after
    (docs/flows.md, Settings)."""
    with flow_optd(retry_base_ms=300) as o, Target() as t:
        t.script("/slow", answer(500), answer(503), answer(200))
        add_flow(o, {"id": "base", "entry": {"event": "go"},
                     "steps": [webhook(t.url("/slow"))]})
        fire(o, "go", external_id="b1")
        wait_runs(o, "base", 1)
        ts = [r["time"] for r in t.requests("/slow")]
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        expect(len(gaps) == 2 and gaps[0] >= 0.3 and gaps[1] >= 0.6,
               "retried after 300 ms, then 600 ms", gaps)


def test_webhook_templates_methods_and_json_escaping():
    with flow_optd() as o, Target() as t:
        quote = 'say "hi"\\ \n\ttab </b> é'
        add_flow(o, {"id": "tpl", "entry": {"event": "go"}, "steps": [
            webhook(t.url("/put/{{event_properties.${slug} | url_encode}}"),
                    '{"name":"{{${first_name} | upcase}}",'
                    '"quote":"{{canvas_entry_properties.${quote}}}",'
                    '"n":{{event_properties.${n}}}}',
                    method="PUT",
                    headers={"Content-Type": "application/json",
                             "X-User": "{{${user_id}}}-{{${phone_number}}}"}),
            webhook(t.url("/get?who={{${user_id}}}"), method="GET"),
            webhook(t.url("/text"), "<{{canvas_entry_properties.${quote}}}>"
                    '{% if event_properties.${n} == "7" %}seven'
                    '{% elsif ${first_name} %}named{% else %}none{% endif %}'
                    '{% if custom_attribute.${plan} %}!{% else %}.{% endif %}',
                    method="PATCH", headers={"Content-Type": "text/plain"}),
            webhook(t.url("/del"), method="DELETE")]})
        track_ok(o, {"attributes": [{"external_id": "t1", "first_name": "ada",
                                     "phone": phone(120)}]},
                 attributes_processed=1)
        fire(o, "go", {"slug": "a b/c", "quote": quote, "n": 7},
             external_id="t1")
        wait_runs(o, "tpl", 1)
        put = t.wait("/put/a+b%2Fc")[0]  # Liquid's url_encode
        expect(put["method"] == "PUT", "PUT", put)
        expect(put["headers"].get("X-User") == "t1-" + phone(120),
               "a templated header", put["headers"])
        expect(json.loads(put["body"]) == {"name": "ADA", "quote": quote,
                                           "n": 7},
               "a JSON body: inserted values JSON-escaped", put["body"])
        get = t.wait("/get")[0]
        expect(get["method"] == "GET" and get["path"] == "/get?who=t1" and
               get["body"] == "", "GET", get)
        text = t.wait("/text")[0]
        expect(text["method"] == "PATCH" and
               text["body"] == "<%s>seven." % quote,
               "a text body is not escaped; if, elsif, else", text)
        expect(t.wait("/del")[0]["method"] == "DELETE", "DELETE")


# ---- the other steps ----

def test_sms_step_obeys_the_sending_rule():
    with flow_optd() as o:
        sms_group(o)
        add_flow(o, {"id": "promo-sms", "entry": {"event": "go"}, "steps": [
            {"type": "sms", "group_id": "promo",
             "body": "Deal for {{${first_name} | default: \"you\"}}"}]})
        expect_status(o.status_set({
            "subscription_group_id": "promo",
            "subscription_state": "subscribed",
            "external_id": ["in", "out"], "phone": [phone(131), phone(132)]}),
            201, "subscribe")
        expect_status(o.status_set({
            "subscription_group_id": "promo",
            "subscription_state": "unsubscribed",
            "external_id": "out"}), 201, "unsubscribe")
        track_ok(o, {"attributes": [
            {"external_id": "in", "first_name": "Ina"},
            {"external_id": "never", "phone": phone(133)}]},
            attributes_processed=2)
        for who in ("in", "out", "never"):
            fire(o, "go", external_id=who)
        rs = wait_runs(o, "promo-sms", 3)
        outcomes = sorted(attempts(r, 0)[0]["outcome"] for r in rs)
        expect(outcomes == ["queued", "rejected", "rejected"],
               "the step records what became of its SMS", rs)
        ms = wait_outbox(o, 3)
        got = sorted((m["to"], m["state"], m["error"]) for m in ms)
        expect(got == [(phone(131), "sent", ""),
                       (phone(132), "rejected", "unsubscribed"),
                       (phone(133), "rejected", "unsubscribed")],
               "only the subscribed phone is sent to", ms)
        expect([(x["to"], x["body"]) for x in sms_log(o)] ==
               [(phone(131), "Deal for Ina")], "the --sms-log file")


def test_delay_step_postpones_the_next_and_outlives_disable():
    with flow_optd() as o, Target() as t:
        add_flow(o, {"id": "wait", "entry": {"event": "go"}, "steps": [
            webhook(t.url("/before")), {"type": "delay", "seconds": 1},
            webhook(t.url("/after"))]})
        fire(o, "go", external_id="d1")
        before = t.wait("/before")[0]["time"]
        run = wait_for(lambda: (lambda rs: rs and rs[0]["step"] == 2 and
                                rs[0])(runs(o, "wait")), 5, "in the delay")
        expect(run["state"] == "active" and not t.requests("/after"),
               "waiting, the next step not run", run)
        # disabling the flow stops new entries, not a run under way
        expect_status(o.post("/admin/flows/wait/disable"), 200, "disable")
        after = t.wait("/after", timeout=5)[0]["time"]
        expect(1.0 <= after - before < 3.0, "about a second later",
               after - before)
        wait_runs(o, "wait", 1)


def test_user_update_step():
    with flow_optd() as o, Target() as t:
        o.create_group(id="news", name="News", channel="email")
        add_flow(o, {"id": "upd", "entry": {"event": "go"}, "steps": [
            {"type": "user_update",
             "attributes": {"welcomed": True, "tier": "gold", "old": None},
             "subscription": {"group_id": "news", "state": "subscribed"}},
            webhook(t.url("/seen"),
                    '{"w":"{{custom_attribute.${welcomed}}}",'
                    '"t":"{{custom_attribute.${tier}}}",'
                    '"o":"{{custom_attribute.${old} | default: "gone"}}",'
                    '"k":"{{custom_attribute.${kept}}}"}')]})
        track_ok(o, {"attributes": [{"external_id": "uu", "old": "x",
                                     "kept": "yes",
                                     "email": "uu@example.com"}]},
                 attributes_processed=1)
        fire(o, "go", external_id="uu")
        run = wait_runs(o, "upd", 1)[0]
        expect(attempts(run, 0)[0]["outcome"] == "ok", "the step", run)
        expect(json.loads(t.wait("/seen")[0]["body"]) == {
            "w": "true", "t": "gold", "o": "gone", "k": "yes"},
            "attributes changed before the next step")
        expect(status(o, "news", external_id="uu") == "Subscribed",
               "subscribed")
        led = o.consent(external_id="uu")
        expect(len(led) == 1 and led[0]["source"] == "flow" and
               led[0]["group_id"] == "news" and
               led[0]["to"] == "subscribed", "source flow", led)
        ev = led[0]["evidence"]
        expect(ev.get("flow") == "upd" and ev.get("run") == run["id"],
               "the flow and run ids as evidence", ev)


def test_steps_after_a_webhook_run_at_once_under_the_sending_rule():
    """The sms and user_update steps after a webhook are done together
    with the webhook's record (one time for all), in order: an SMS before
    the flow subscribes the user is rejected, the one after it queued;
    the subscription is of source flow with the flow and run ids."""
    with flow_optd() as o, Target() as t:
        sms_group(o)
        add_flow(o, {"id": "chain", "entry": {"event": "go"}, "steps": [
            webhook(t.url("/hook")),
            {"type": "sms", "group_id": "promo", "body": "Before"},
            {"type": "user_update", "attributes": {"chained": True},
             "subscription": {"group_id": "promo", "state": "subscribed"}},
            {"type": "sms", "group_id": "promo", "body": "After"},
            webhook(t.url("/after"),
                    '{"c":"{{custom_attribute.${chained}}}"}')]})
        expect_status(o.status_set({
            "subscription_group_id": "promo",
            "subscription_state": "subscribed",
            "external_id": "sub", "phone": phone(141)}), 201, "subscribe")
        track_ok(o, {"attributes": [{"external_id": "new",
                                     "phone": phone(142)}]},
                 attributes_processed=1)
        fire(o, "go", external_id="sub")
        fire(o, "go", external_id="new")
        rs = wait_runs(o, "chain", 2)
        for r, first in zip(rs, ("queued", "rejected")):
            got = [(a["step"], a["outcome"]) for a in r["steps"]]
            expect(got == [(0, "ok"), (1, first), (2, "ok"), (3, "queued"),
                           (4, "ok")], "each step once, in order", r)
            expect(len({a["time"] for a in r["steps"][:4]}) == 1,
                   "the steps after the webhook recorded with it", r)
        led = [e for e in o.consent(external_id="new")
               if e["source"] == "flow"]
        expect(len(led) == 1 and led[0]["to"] == "subscribed" and
               led[0]["evidence"].get("flow") == "chain" and
               led[0]["evidence"].get("run") == rs[1]["id"],
               "the flow's subscription, with its flow and run", led)
        ms = wait_outbox(o, 4)
        got = sorted((m["to"], m["body"], m["state"]) for m in ms)
        expect(got == [(phone(141), "After", "sent"),
                       (phone(141), "Before", "sent"),
                       (phone(142), "After", "sent"),
                       (phone(142), "Before", "rejected")],
               "only a subscribed phone is sent to", ms)
        after = t.wait("/after", 2)
        expect(sorted((r["headers"].get("Idempotency-Key"), r["body"])
                      for r in after) ==
               sorted(("%d-4" % r["id"], '{"c":"true"}') for r in rs),
               "the next webhook sees the update, with its own key",
               after)


def test_killed_after_steps_done_at_once_resumes_at_its_step():
    """optd is SIGKILLed while a run's third step (a webhook) is held:
    the first webhook and the SMS after it were recorded together, so
    the restarted optd calls neither again, sends one SMS, and calls the
    held webhook again with the same Idempotency-Key."""
    tmp = scratch_dir()
    flags = dict(timeout_ms=2000, lease_ms=2500)
    o = flow_optd(tmp=tmp, **flags).start()
    try:
        with Target() as t:
            hold = Hold()
            t.script("/b", hold)
            sms_group(o)
            add_flow(o, {"id": "resume", "entry": {"event": "go"},
                         "steps": [webhook(t.url("/a")),
                                   {"type": "sms", "group_id": "promo",
                                    "body": "Once"},
                                   webhook(t.url("/b"))]})
            expect_status(o.status_set({
                "subscription_group_id": "promo",
                "subscription_state": "subscribed",
                "external_id": "k1", "phone": phone(151)}), 201,
                "subscribe")
            fire(o, "go", external_id="k1")
            if not hold.arrived.wait(10):
                raise AssertionError("the third step's webhook never came")
            # sent before the kill: a message the sender had claimed would
            # wait out the sender's lease (docs/sms.md), not the flow's
            wait_outbox(o, 1)
            o.kill9()
            hold.release()
            o = flow_optd(tmp=tmp, db=o.db, port=o.port, **flags).start()
            run = wait_runs(o, "resume", 1, timeout=15)[0]
            expect(run["state"] == "done", "the run is done", run)
            keys = [r["headers"].get("Idempotency-Key")
                    for r in t.requests("/a")]
            expect(keys == ["%d-0" % run["id"]], "the first webhook once",
                   keys)
            keys = [r["headers"].get("Idempotency-Key")
                    for r in t.wait("/b", 2)]
            expect(keys == ["%d-2" % run["id"]] * 2, "the held one again, "
                   "with its key", keys)
            expect([a["outcome"] for a in attempts(run, 1)] == ["queued"],
                   "the SMS step once", run)
            ms = messages(o)
            expect([(m["to"], m["body"], m["state"]) for m in ms] ==
                   [(phone(151), "Once", "sent")], "one SMS", ms)
            expect([x["body"] for x in sms_log(o)] == ["Once"],
                   "sent once", sms_log(o))
            o.stop()
    finally:
        if o.proc:
            o.kill9()
        shutil.rmtree(tmp, ignore_errors=True)


# ---- entry ----

def test_sms_entry_by_pattern_on_category_other():
    with flow_optd() as o, Target() as t:
        sms_group(o)
        sms_group(o, "other", number=NUMBER2)
        add_flow(o, {"id": "join", "entry": {"sms": {
            "group_id": "promo", "pattern": "^(join|stop|help)"}},
            "steps": [webhook(t.url("/joined"),
                              '{"b":"{{canvas_entry_properties.${body}}}",'
                              '"f":"{{canvas_entry_properties.${from}}}",'
                              '"t":"{{canvas_entry_properties.${to}}}"}')]})
        j = inbound_ok(o, phone(141), "Join the club")
        expect(j["category"] == "other", "not a keyword", j)
        for ph, body, to in [(phone(142), "STOP", NUMBER),
                             (phone(143), "HELP", NUMBER),
                             (phone(144), "hello, join", NUMBER),
                             (phone(145), "join", NUMBER2)]:
            inbound_ok(o, ph, body, to=to)
        inbound_ok(o, phone(146), "jOiN")
        rs = wait_runs(o, "join", 2)
        got = sorted(json.dumps(json.loads(x["body"]), sort_keys=True)
                     for x in t.wait("/joined", 2))
        want = sorted(json.dumps(d, sort_keys=True) for d in [
            {"b": "Join the club", "f": phone(141), "t": NUMBER},
            {"b": "jOiN", "f": phone(146), "t": NUMBER}])
        expect(got == want, "a run for each matching other-category "
               "message, with body, from and to", got)
        expect(sorted(r["entry_properties"]["from"] for r in rs) ==
               [phone(141), phone(146)], "entry properties", rs)
        time.sleep(0.3)
        expect(len(runs(o, "join")) == 2, "STOP, HELP, a non-match and "
               "another group's number start none")


def test_attributes_apply_before_events_in_one_request():
    """Order within a request: attributes, then events — an event's
    audience sees what the same request's attributes set, wherever the
    arrays stand in the body."""
    with flow_optd() as o:
        sms_group(o)
        add_flow(o, {"id": "vip", "entry": {"event": "buy"},
                     "audience": {"all": [
                         {"subscribed": "promo"},
                         {"attribute": "plan", "op": "equals",
                          "value": "gold"}]},
                     "steps": WAIT})
        track_ok(o, {
            "events": [event("buy", external_id="o1")],
            "attributes": [{"external_id": "o1", "plan": "gold",
                            "phone": phone(161),
                            "subscription_groups": [{
                                "subscription_group_id": "promo",
                                "subscription_state": "subscribed"}]}]},
            attributes_processed=1, events_processed=1)
        wait_runs(o, "vip", 1, states=("active",))


def test_reentry_off_and_on():
    with flow_optd() as o:
        for fid, re in (("once", False), ("again", True)):
            add_flow(o, {"id": fid, "reentry": re, "entry": {"event": "re"},
                         "steps": WAIT})
        fire(o, "re", external_id="r1")
        wait_runs(o, "once", 1, states=("active",))
        wait_runs(o, "again", 1, states=("active",))
        time.sleep(1.1)
        fire(o, "re", external_id="r1")
        wait_runs(o, "again", 2, states=("active",))
        expect(len(runs(o, "once")) == 1, "re-entry off: one run ever")
        fire(o, "re", external_id="r2")
        wait_runs(o, "once", 2, states=("active",))


def test_reentry_at_most_once_per_second():
    with flow_optd() as o:
        add_flow(o, {"id": "burst", "reentry": True, "entry": {"event": "b"},
                     "steps": WAIT})
        track_ok(o, {"events": [event("b", external_id="b1")] * 3},
                 events_processed=3)
        time.sleep(0.3)
        rs = runs(o, "burst")
        expect(len(rs) == 1, "three entries in one second: one run", rs)


def test_audience_filters():
    users = {
        "a1": {"external_id": "a1", "plan": "gold", "tags": ["vip", "x"],
               "bio": "loves cats", "score": 42, "phone": phone(151)},
        "a2": {"external_id": "a2", "plan": "silver", "tags": ["x"],
               "phone": "+12005550100", "email": "a2@example.com"},
        "a3": {"phone": phone(153), "plan": "gold"},
    }
    audiences = {
        "eq": ({"attribute": "plan", "op": "equals", "value": "gold"},
               ["a1", "a3"]),
        "eq-num": ({"attribute": "score", "op": "equals", "value": "42"},
                   ["a1"]),
        "has-tag": ({"attribute": "tags", "op": "contains", "value": "vip"},
                    ["a1"]),
        "in-text": ({"attribute": "bio", "op": "contains", "value": "cats"},
                    ["a1"]),
        "sub": ({"subscribed": "promo"}, ["a1"]),
        "not-sub": ({"not_subscribed": "promo"}, ["a2", "a3"]),
        "valid": ({"phone_valid": True}, ["a1", "a3"]),
        "invalid": ({"phone_valid": False}, ["a2"]),
        "no-email": ({"attribute": "email", "op": "is_blank"}, ["a1", "a3"]),
        "known": ({"attribute": "external_id", "op": "is_not_blank"},
                  ["a1", "a2"]),
        "nested": ({"all": [{"any": [
            {"attribute": "plan", "op": "equals", "value": "silver"},
            {"subscribed": "promo"}]},
            {"attribute": "external_id", "op": "is_not_blank"}]},
            ["a1", "a2"]),
        "nobody": ({"attribute": "plan", "op": "equals", "value": "gol"},
                   []),
    }
    with flow_optd() as o:
        sms_group(o)
        track_ok(o, {"attributes": list(users.values())},
                 attributes_processed=3)
        expect_status(o.status_set({
            "subscription_group_id": "promo",
            "subscription_state": "subscribed", "external_id": "a1"}),
            201, "a1 subscribed")
        for fid, (aud, _) in audiences.items():
            add_flow(o, {"id": fid, "entry": {"event": "aud"},
                         "audience": aud,
                         "steps": WAIT})
        for name, u in users.items():
            who = {k: u[k] for k in ("external_id",) if k in u} or \
                {"phone": u["phone"]}
            fire(o, "aud", {"who": name}, **who)
        for fid, (_, want) in audiences.items():
            got = sorted(r["entry_properties"]["who"] for r in runs(o, fid))
            expect(got == want, "audience %s" % fid, got)
