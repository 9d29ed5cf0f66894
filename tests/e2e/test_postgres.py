"""PostgreSQL only: migrations on a shared database, several optd nodes on
one database behind nginx (one of them killed with SIGKILL and restarted
under load), and PostgreSQL itself restarted under load. In every case each
change that was answered 201 must be in the database afterwards, and a
request optd could not commit must get a 503 with Retry-After, never a 2xx.
Skipped on SQLite runs."""
import http.client
import os
import shutil
import subprocess
import threading
import time

from harness import (Optd, TestFailure, expect, expect_status,
                     free_port, new_db, pg_rows, pg_server, postgres_only,
                     run_optd, scratch_dir)
from smsutil import wait_for

GROUP = "multi"
CLIENTS = 6


def phones_of(t, i):
    return ["+1%d56%05d" % (201 + t, i * 2 + k) for k in range(2)]


class Nginx:
    """Debian's nginx, round-robin over the given ports, on a free port."""

    def __init__(self, tmp, ports):
        self.dir = os.path.join(tmp, "nginx")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        upstream = "".join("    server 127.0.0.1:%d max_fails=0;\n" % p
                           for p in ports)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %(d)s/body;
  proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fastcgi;
  uwsgi_temp_path %(d)s/uwsgi;
  scgi_temp_path %(d)s/scgi;
  upstream optd {
%(up)s  }
  server {
    listen 127.0.0.1:%(port)d;
    location / {
      proxy_pass http://optd;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_connect_timeout 2s;
    }
  }
}
""" % {"d": self.dir, "up": upstream, "port": self.port})
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir],
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=2)
                c.request("GET", "/healthz")
                c.getresponse().read()
                c.close()
                return
            except OSError:
                time.sleep(0.05)
        raise TestFailure("nginx did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


class Client:
    """An HTTP client of one host and port with the harness's shortcuts
    (an Optd that owns no process)."""

    def __init__(self, port):
        self.c = Optd(db="(none)", tmp="/tmp")  # never started
        self.c.port = port

    def __getattr__(self, name):
        return getattr(self.c, name)


class Stream:
    """CLIENTS threads sending distinct status/set requests until stopped.
    They keep going through errors (a node or the database may be down)
    and record every answer."""

    def __init__(self, target, key):
        self.target, self.key = target, key
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked, self.sent, self.statuses = [], [], {}
        self.bad = []  # answers that are neither 201 nor a proper 503
        self.threads = [threading.Thread(target=self.run, args=(t,),
                                         daemon=True)
                        for t in range(CLIENTS)]

    def run(self, t):
        for i in range(100000):
            if self.stop.is_set():
                return
            with self.lock:
                self.sent.append((t, i))
            try:
                r = self.target.status_set(
                    {"subscription_group_id": GROUP,
                     "subscription_state": "subscribed",
                     "external_id": ["m-%d-%d-%d" % (t, i, k)
                                     for k in range(2)],
                     "phone": phones_of(t, i)}, key=self.key, timeout=30)
            except (OSError, http.client.HTTPException):
                time.sleep(0.02)
                continue
            with self.lock:
                self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
                if r.status == 201:
                    self.acked.append((t, i))
                elif r.status == 503:
                    if r.header("Retry-After") is None:
                        self.bad.append(("503 without Retry-After", r))
                elif r.status != 502:  # nginx: the node died mid-request
                    self.bad.append((r.status, r))
            if r.status != 201:
                time.sleep(0.02)

    def start(self):
        for th in self.threads:
            th.start()
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def wait_more(self, n, timeout=60):
        """Until n more requests than now are acknowledged."""
        goal = self.count() + n
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count() >= goal:
                return
            time.sleep(0.01)
        raise TestFailure("stalled at %d acknowledged (statuses %r)" % (
            self.count(), self.statuses))

    def join(self):
        self.stop.set()
        for th in self.threads:
            th.join(60)
            expect(not th.is_alive(), "client thread finished")


def check_db(db, stream):
    """Every acknowledged change, whole, with its one ledger entry; every
    request applied whole or not at all."""
    subs = {ph: (ext, st) for ph, ext, st in pg_rows(
        db, "SELECT u.phone, u.external_id, s.state FROM users u JOIN "
        "subscriptions s ON s.user_id = u.id WHERE s.group_id = '%s'" %
        GROUP)}
    ledger = {}
    for ph, ext, to in pg_rows(
            db, "SELECT phone, external_id, new_state FROM consent_ledger "
            "WHERE group_id = '%s'" % GROUP):
        ledger.setdefault(ph, []).append((ext, to))
    for t, i in stream.acked:
        for k, ph in enumerate(phones_of(t, i)):
            ext = "m-%d-%d-%d" % (t, i, k)
            expect(subs.get(ph) == (ext, "subscribed"),
                   "acknowledged %s is in the database" % ph, subs.get(ph))
            expect(ledger.get(ph) == [(ext, "subscribed")],
                   "acknowledged %s has one ledger entry" % ph,
                   ledger.get(ph))
    for t, i in stream.sent:
        present = [ph in subs for ph in phones_of(t, i)]
        expect(all(present) or not any(present),
               "request %d/%d whole or not at all" % (t, i), present)
    return len(subs)


def test_pg_migrate_once_with_nodes_starting_together():
    postgres_only()
    tmp = scratch_dir()
    db = new_db(tmp)
    # three processes migrate one fresh database at once
    procs = [subprocess.Popen([os.environ["OPTD_BIN"], "migrate", "--db",
                               db], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    expect(all(p.returncode == 0 for p in procs), "all migrate", outs)
    rows = pg_rows(db, "SELECT version, name FROM schema_migrations "
                   "ORDER BY version")
    expect(rows == [("1", "core"), ("2", "sms"), ("3", "flows"),
                    ("4", "forms"), ("5", "sdk"), ("6", "outbox_check"),
                    ("7", "key_notify"), ("8", "subscription_refs"),
                    ("9", "outbox_pending"),
                    ("10", "users_external_id")],
           "recorded once", rows)
    applied = sum(err.count("applied migration") for _, err in outs)
    expect(applied == len(rows), "each migration applied once", outs)
    p = run_optd("migrate", "--db", db)
    expect(p.returncode == 0 and "applied" not in p.stderr and
           "up to date" in p.stdout, "second run applies nothing",
           (p.stdout, p.stderr))
    # the ledger is append-only in PostgreSQL too
    r = subprocess.run(["psql", db, "-X", "-q", "-c",
                        "TRUNCATE consent_ledger"],
                       capture_output=True, text=True)
    expect(r.returncode != 0 and "append-only" in r.stderr,
           "ledger refuses TRUNCATE", r.stderr)
    # an unreachable server: exit 1, and the password is not printed
    port = free_port()
    p = run_optd("migrate", "--db",
                 "postgres://optd:s3cret@127.0.0.1:%d/x" % port)
    expect(p.returncode == 1 and "s3cret" not in p.stderr,
           "unreachable database exits 1, password not shown",
           (p.returncode, p.stderr))
    shutil.rmtree(tmp, ignore_errors=True)


def test_pg_three_nodes_behind_nginx_with_one_killed():
    postgres_only()
    tmp = scratch_dir()
    db = new_db(tmp)
    nodes = [Optd("--nodes", "3", db=db).start() for _ in range(3)]
    nginx = None
    try:
        nginx = Nginx(tmp, [o.port for o in nodes])
        lb = Client(nginx.port)
        r = lb.post("/admin/subscription_groups",
                    {"id": GROUP, "name": "Multi", "channel": "sms"})
        expect_status(r, 201, "group through nginx")
        key = lb.create_key(["subscription.status.set",
                             "subscription.status.get"], name="multi",
                            rate_limit=10000000)
        # every node sees what another wrote
        for o in nodes:
            r = o.get("/admin/subscription_groups/" + GROUP)
            expect_status(r, 200, "group on node %d" % o.port)
        s = Stream(lb, key).start()
        try:
            s.wait_more(150)
            victim = nodes[1]
            port = victim.port
            victim.kill9()
            s.wait_more(150)  # the other two carry on
            victim.start(port=port)
            s.wait_more(150)
        finally:
            s.join()
        expect(not s.bad, "only 201, 502 (killed mid-request) or 503 with "
               "Retry-After", s.bad[:3])
        rows = check_db(db, s)
        expect(rows >= 2 * len(s.acked), "rows", rows)
        # the restarted node answers for data written through the others
        t, i = s.acked[0]
        r = nodes[1].status_get(GROUP, key=key, phone=phones_of(t, i))
        expect(set(r.json["status"].values()) == {"Subscribed"},
               "restarted node reads the shared data", r.json)
        served = [int(o.log_text().count("POST /subscription/status/set"))
                  for o in nodes]
        expect(all(n > 0 for n in served), "nginx spread the load", served)
    finally:
        if nginx:
            nginx.stop()
        for o in nodes:
            o.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def test_pg_rate_limit_shared_among_nodes():
    postgres_only()
    tmp = scratch_dir()
    db = new_db(tmp)
    nodes = [Optd("--nodes", "2", db=db).start() for _ in range(2)]
    try:
        key = nodes[0].create_key(["subscription.status.get"], name="rl",
                                  rate_limit=10)
        ok = 0
        for k in range(20):
            r = nodes[k % 2].status_get("nope", key=key, external_id="x")
            expect(r.status in (400, 429), "status", r)
            ok += r.status != 429
            expect(r.header("X-RateLimit-Limit") == "5",
                   "each node enforces its share", r.headers)
        expect(ok == 10, "the two nodes together allow the key's limit", ok)
    finally:
        for o in nodes:
            o.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def test_pg_key_revoked_on_one_node_stops_on_the_others():
    postgres_only()
    tmp = scratch_dir()
    db = new_db(tmp)
    nodes = [Optd("--nodes", "2", db=db).start() for _ in range(2)]
    try:
        nodes[0].create_group(id=GROUP)
        r = nodes[0].post("/admin/api_keys", {
            "name": "shared", "scopes": ["subscription.status.get"]})
        expect_status(r, 201, "create")
        key, kid = r.json["key"], r.json["id"]

        def status(o):
            return o.status_get(GROUP, key=key, external_id="x").status
        # each node has looked the key up, and keeps it
        for _ in range(4):
            expect([status(o) for o in nodes] == [200, 200], "key works")
        expect_status(nodes[0].request("DELETE", "/admin/api_keys/%d" % kid),
                      200, "revoke on node 0")
        # the node that revoked it refuses it at once; the other is told
        # through PostgreSQL within moments, long before its copy of the
        # key would have lapsed
        expect([status(nodes[0]) for _ in range(8)] == [401] * 8,
               "node 0 at once")
        wait_for(lambda: status(nodes[1]) == 401, 2.5,
                 "node 1 refuses the key", step=0.01)
        expect([status(nodes[1]) for _ in range(8)] == [401] * 8,
               "node 1 for good")
    finally:
        for o in nodes:
            o.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def test_pg_restart_under_load():
    restart_under_load("down")


def test_pg_crash_under_load():
    restart_under_load("crash")


def restart_under_load(how):
    """PostgreSQL stopped ("down": fast shutdown) or killed ("crash":
    immediate shutdown, crash recovery at the next start) under load."""
    postgres_only()
    tmp = scratch_dir()
    o = Optd(tmp=tmp).start()
    try:
        o.create_group(id=GROUP, name="Restart")
        key = o.create_key(["subscription.status.set",
                            "subscription.status.get"], name="restart",
                           rate_limit=10000000)
        s = Stream(o, key).start()
        try:
            s.wait_more(150)
            pg_server(how)
            try:
                time.sleep(1.5)
                with s.lock:
                    during = dict(s.statuses)
                r = o.get("/healthz", key=None)
                expect_status(r, 503, "healthz while the database is down")
                # Asked again and again, each HTTP thread's wait between
                # connection attempts grows to its longest (2 s).
                t_end = time.time() + 2.5
                while time.time() < t_end:
                    o.get("/healthz", key=None)
                    time.sleep(0.05)
            finally:
                pg_server("up")
            # /healthz asks the server at once, whatever that wait
            expect_status(o.get("/healthz", key=None), 200,
                          "healthz as soon as the database is back")
            # optd reconnects by itself
            s.wait_more(150, timeout=30)
        finally:
            s.join()
        expect(during.get(503, 0) > 0, "503s while down", during)
        expect(not s.bad, "only 201 or 503 with Retry-After", s.bad[:3])
        check_db(o.db, s)
        expect_status(o.get("/healthz", key=None), 200, "healthz after")
        expect("connection lost" in o.log_text(), "the loss was logged")
    finally:
        o.stop()
    shutil.rmtree(tmp, ignore_errors=True)
