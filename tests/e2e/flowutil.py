"""flowutil: what the /users/track and flow tests share (docs/flows.md is
the contract).

Target is a small HTTP server the test controls, for webhook steps: it
records every request and answers each path by a script (a status, a slow
answer, an answer held until the test releases it, or the request passed
on to optd). flow_optd() is smsutil's sms_optd() with short flow
settings. The rest are shortcuts: tracking, adding flows, reading runs,
and probe(), which shows a user's profile as flow templates see it; the
SMS ones (groups, the outbox, the --sms-log file) are smsutil's.
"""
import http.client
import http.server
import itertools
import json
import threading
import time
import urllib.parse

from harness import ADMIN_KEY, expect, expect_status
from smsutil import sms_optd, wait_for

RETRY_BASE_MS = 50
TIMEOUT_MS = 1000
LEASE_MS = 3000


# ---- the webhook target ----

def answer(status=200, body='{"ok":true}', headers=None):
    """A script entry: answer at once."""
    return lambda req: (status, body, headers or {})


def slow(seconds, status=200, body='{"ok":true}'):
    """A script entry: answer after `seconds`."""
    def run(req):
        time.sleep(seconds)
        return status, body, {}
    return run


class Hold:
    """A script entry: note the request has arrived (self.arrived), then
    keep it unanswered until release(); `inner` makes the answer (and may
    do its work, such as forwarding, before the hold)."""

    def __init__(self, inner=None):
        self.inner = inner or answer()
        self.arrived = threading.Event()
        self.released = threading.Event()

    def release(self):
        self.released.set()

    def __call__(self, req):
        out = self.inner(req)
        self.arrived.set()
        self.released.wait(60)
        return out


def forward(port_of, path):
    """A script entry: pass the request on to optd (its port read when
    the request comes), with the same headers and body; optd's answer."""
    def run(req):
        c = http.client.HTTPConnection("127.0.0.1", port_of(), timeout=10)
        try:
            c.request(req["method"], path, body=req["body"].encode(),
                      headers={k: v for k, v in req["headers"].items()
                               if k.lower() not in ("host",
                                                    "content-length")})
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
            req["forwarded"] = {"status": r.status, "body": body,
                                "headers": {k.lower(): v for k, v in
                                            r.getheaders()}}
            return r.status, body, {}
        except OSError as e:
            req["forwarded"] = {"error": str(e)}
            return 503, "optd is not answering", {}
        finally:
            c.close()
    return run


class Target:
    """A local HTTP server for webhook steps. script(path, ...) sets the
    answers to successive requests for a path; when they run out, 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.scripts = {}
        self.log = []
        self.holds = []
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                path = urllib.parse.urlsplit(self.path).path
                req = {"method": self.command, "path": self.path,
                       "headers": {k: v for k, v in self.headers.items()},
                       "body": self.rfile.read(n).decode("utf-8",
                                                         "replace"),
                       "time": time.time()}
                with target.lock:
                    target.log.append(req)
                    todo = target.scripts.get(path, [])
                    fn = todo.pop(0) if todo else answer()
                status, body, headers = fn(req)
                data = body.encode()
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # optd gave up on us (a timeout, or killed)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

            def log_message(self, *a):
                pass

        class Server(http.server.ThreadingHTTPServer):
            # the calls of a batch arrive at once: a backlog of 5 (the
            # default) drops connections, as no real server does
            request_queue_size = 128

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def script(self, path, *answers):
        for a in answers:
            if isinstance(a, Hold):
                self.holds.append(a)
        with self.lock:
            self.scripts[path] = list(answers)

    def requests(self, path=None):
        with self.lock:
            return [r for r in self.log if path is None or
                    urllib.parse.urlsplit(r["path"]).path == path]

    def wait(self, path, n=1, timeout=10.0):
        """The requests for path once there are at least n."""
        return wait_for(lambda: (lambda rs: rs if len(rs) >= n else None)(
            self.requests(path)), timeout, "%d request(s) for %s" % (
                n, path))

    def close(self):
        for h in self.holds:
            h.release()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- optd ----

def flow_optd(*args, tmp=None, db=None, port=None,
              retry_base_ms=RETRY_BASE_MS, timeout_ms=TIMEOUT_MS,
              lease_ms=LEASE_MS):
    """An Optd (not started) with short flow settings, its port fixed and
    --sms-log in its scratch directory (o.sms_log)."""
    return sms_optd(*args, "--flow-retry-base-ms", str(retry_base_ms),
                    "--flow-webhook-timeout-ms", str(timeout_ms),
                    "--flow-lease-ms", str(lease_ms), tmp=tmp, db=db,
                    port=port, public_url=False)


def track(o, body, key=ADMIN_KEY, **kw):
    return o.post("/users/track", body, key=key, **kw)


def track_ok(o, body, key=ADMIN_KEY, errors=(), **counts):
    """POST /users/track answered 201 with these counts (unnamed ones 0)
    and exactly these (input_array, index) object errors."""
    r = expect_status(track(o, body, key=key), 201, "users/track")
    j = r.json
    want = {"message": "success", "attributes_processed": 0,
            "events_processed": 0, "purchases_processed": 0}
    want.update(counts)
    got = {k: v for k, v in j.items() if k != "errors"}
    expect(got == want, "users/track counts", j)
    errs = [(e["input_array"], e["index"]) for e in j.get("errors", [])]
    expect(errs == list(errors), "users/track errors", j)
    return j


def event(name, props=None, time_="2026-01-02T03:04:05Z", **who):
    e = {"name": name, "time": time_, **who}
    if props is not None:
        e["properties"] = props
    return e


def add_flow(o, d):
    r = o.post("/admin/flows", d)
    expect_status(r, 201, "POST /admin/flows %s" % d.get("id"))
    return r.json


def runs(o, flow):
    """The flow's runs, oldest first."""
    r = expect_status(o.get("/admin/flows/%s/runs" % flow), 200,
                      "GET runs of %s" % flow)
    expect(r.json.get("flow_id") == flow, "runs name their flow", r)
    return sorted(r.json["runs"], key=lambda x: x["id"])


def wait_runs(o, flow, n, states=("done", "exited", "failed"),
              timeout=10.0):
    """The flow's runs once there are n, all in states."""
    def ready():
        rs = runs(o, flow)
        return rs if len(rs) == n and all(x["state"] in states
                                          for x in rs) else None
    return wait_for(ready, timeout, "%d run(s) of %s in %s" % (
        n, flow, "/".join(states)))


def attempts(run, step):
    return [s for s in run["steps"] if s["step"] == step]


def status(o, group, **who):
    """"Subscribed", "Unsubscribed" or "Unknown": one user's status/get."""
    r = expect_status(o.status_get(group, **who), 200, "status/get")
    vals = list(r.json["status"].values())
    expect(len(vals) == 1, "status/get names one user", r)
    return vals[0]


_probes = itertools.count()


def probe(o, target, names, **who):
    """The user's profile as templates see it: `names` are template
    variables (first_name, custom_attribute.${plan}, …), each rendered
    with default ABSENT by a one-off flow's webhook. A dict name → text."""
    n = next(_probes)
    path = "/probe-%d" % n
    body = "{" + ",".join('"%s":"{{%s | default: "ABSENT"}}"' % (
        v, v if v.startswith("$") or "." in v else "${%s}" % v)
        for v in names) + "}"
    add_flow(o, {"id": "probe-%d" % n, "entry": {"event": "probe-%d" % n},
                 "steps": [{"type": "webhook", "url": target.url(path),
                            "headers": {"Content-Type": "application/json"},
                            "body": body}]})
    track_ok(o, {"events": [event("probe-%d" % n, **who)]},
             events_processed=1)
    return json.loads(target.wait(path)[0]["body"])
