"""Crash and shutdown safety: a 201 means the change is on disk, a request
is applied whole or not at all, and a SIGTERM drains cleanly."""
import http.client
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time

from harness import (DB_KIND, Optd, TestFailure, expect, expect_status,
                     free_port, pg_rows, run_optd, scratch_dir,
                     sqlite_only)

THREADS = 8
PER_REQUEST = 3          # phones (and paired external ids) per request
MAX_PER_THREAD = 1500    # every loop is bounded
GROUP = "dur"


def ids_of(t, i):
    """The phones and external ids of request i of thread t."""
    phones = ["+1%d55%05d" % (201 + t, i * PER_REQUEST + k)
              for k in range(PER_REQUEST)]
    ext = ["d-%d-%d-%d" % (t, i, k) for k in range(PER_REQUEST)]
    return phones, ext


class Stream:
    """THREADS clients, each sending distinct status/set requests until
    told to stop or until the server stops answering."""

    run_base = 0  # request numbers start here (a second stream goes on)

    def __init__(self, o, key):
        self.o, self.key = o, key
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = []      # (t, i) answered 201
        self.sent = []       # (t, i) whose request was at least started
        self.answers = []    # (t, i, status, body) for every response
        self.threads = [threading.Thread(target=self.run, args=(t,),
                                         daemon=True)
                        for t in range(THREADS)]

    def run(self, t):
        for i in range(self.run_base, self.run_base + MAX_PER_THREAD):
            if self.stop.is_set():
                return
            phones, ext = ids_of(t, i)
            with self.lock:
                self.sent.append((t, i))
            try:
                r = self.o.status_set({"subscription_group_id": GROUP,
                                       "subscription_state": "subscribed",
                                       "external_id": ext, "phone": phones},
                                      key=self.key, timeout=60)
            except (OSError, http.client.HTTPException):
                return  # the server is gone (or going): no answer
            with self.lock:
                self.answers.append((t, i, r.status, r.json))
                if r.status == 201:
                    self.acked.append((t, i))
            if r.status != 201:
                return

    def start(self):
        for th in self.threads:
            th.start()
        return self

    def wait_acked(self, n, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if len(self.acked) >= n:
                    return
            if not any(th.is_alive() for th in self.threads):
                break
            time.sleep(0.01)
        raise TestFailure("only %d requests acknowledged (answers: %r)" % (
            len(self.acked), self.answers[-3:]))

    def join(self):
        self.stop.set()
        for th in self.threads:
            th.join(120)
            expect(not th.is_alive(), "client thread finished")


def check_db_file(db, stream):
    """Read the SQLite file directly (optd is not running), or the
    PostgreSQL database through psql."""
    if DB_KIND == "postgres":
        subs = {ph: (ext, st) for ph, ext, st in pg_rows(
            db, "SELECT u.phone, u.external_id, s.state FROM users u "
            "JOIN subscriptions s ON s.user_id = u.id "
            "WHERE s.group_id = '%s'" % GROUP)}
        ledger = {}
        for ph, ext, frm, to in pg_rows(
                db, "SELECT phone, external_id, old_state, new_state FROM "
                "consent_ledger WHERE group_id = '%s' ORDER BY id" % GROUP):
            ledger.setdefault(ph, []).append((ext, frm, to))
        return check_stream(subs, ledger, "ok", stream)
    con = sqlite3.connect(db)
    try:
        subs = {}
        for ph, ext, st in con.execute(
                "SELECT u.phone, u.external_id, s.state FROM users u "
                "JOIN subscriptions s ON s.user_id = u.id "
                "WHERE s.group_id = ?", (GROUP,)):
            subs[ph] = (ext, st)
        ledger = {}
        for ph, ext, frm, to in con.execute(
                "SELECT phone, external_id, old_state, new_state FROM "
                "consent_ledger WHERE group_id = ?", (GROUP,)):
            ledger.setdefault(ph, []).append((ext, frm, to))
        integrity = con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()
    return check_stream(subs, ledger, integrity, stream)


def check_stream(subs, ledger, integrity, stream):
    expect(integrity == "ok", "database integrity", integrity)
    for t, i in stream.acked:
        phones, ext = ids_of(t, i)
        for ph, x in zip(phones, ext):
            expect(subs.get(ph) == (x, "subscribed"),
                   "acknowledged %s/%s is in the file" % (ph, x),
                   subs.get(ph))
            expect(ledger.get(ph) == [(x, "unknown", "subscribed")],
                   "acknowledged %s has its ledger entry" % ph,
                   ledger.get(ph))
    # a request is applied whole or not at all, answered or not
    for t, i in stream.sent:
        phones, _ = ids_of(t, i)
        present = [ph in subs for ph in phones]
        expect(all(present) or not any(present),
               "request %d/%d applied whole or not at all" % (t, i),
               present)
        lpresent = [ph in ledger for ph in phones]
        expect(lpresent == present, "ledger agrees with subscriptions",
               (present, lpresent))
    # nothing appears that nobody sent
    sent = {ph for t, i in stream.sent for ph in ids_of(t, i)[0]}
    expect(set(subs) <= sent, "no phantom rows", set(subs) - sent)
    return len(subs)


def check_via_api(o, key, stream):
    acked = [ids_of(t, i) for t, i in stream.acked]
    phones = [p for ph, _ in acked for p in ph]
    exts = [x for _, ex in acked for x in ex]
    for k in range(0, len(phones), 50):
        r = o.status_get(GROUP, key=key, phone=phones[k:k + 50])
        expect_status(r, 200, "status/get after restart")
        expect(set(r.json["status"].values()) == {"Subscribed"},
               "acknowledged phones subscribed after restart", r.json)
    for k in range(0, len(exts), 50):
        r = o.status_get(GROUP, key=key, external_id=exts[k:k + 50])
        expect(set(r.json["status"].values()) == {"Subscribed"},
               "acknowledged external ids subscribed after restart", r.json)
    # the ledger through the API, for a sample spread over the run
    for ph in phones[::max(1, len(phones) // 40)]:
        e = o.consent(phone=ph)
        expect(len(e) == 1 and e[0]["to"] == "subscribed",
               "ledger entry for %s after restart" % ph, e)


def prepared(*args, tmp):
    o = Optd(*args, tmp=tmp).start()
    o.create_group(id=GROUP, name="Durable")
    key = o.create_key(["subscription.status.set",
                        "subscription.status.get"], name="stream")
    return o, key


def test_sigkill_loses_nothing_acknowledged():
    tmp = scratch_dir()
    o, key = prepared(tmp=tmp)
    s = Stream(o, key).start()
    try:
        s.wait_acked(150)
    finally:
        o.kill9()
        s.join()
    rows = check_db_file(o.db, s)
    expect(rows >= len(s.acked) * PER_REQUEST, "rows", rows)
    # restart on the same database, check through the API, then a second
    # stream of new requests and a second kill
    o2 = Optd(db=o.db, tmp=tmp).start()
    check_via_api(o2, key, s)
    expect_status(o2.get("/healthz", key=None), 200, "healthz")
    s2 = Stream(o2, key)
    s2.run_base = MAX_PER_THREAD  # new ids, after the first stream's
    s2.start()
    try:
        s2.wait_acked(150)
    finally:
        o2.kill9()
        s2.join()
    both = Stream(o2, key)
    both.acked, both.sent = s.acked + s2.acked, s.sent + s2.sent
    check_db_file(o.db, both)
    o3 = Optd(db=o.db, tmp=tmp).start()
    with o3:
        check_via_api(o3, key, both)
        # the restarted server takes new writes
        r = o3.status_set({"subscription_group_id": GROUP,
                           "subscription_state": "unsubscribed",
                           "phone": ids_of(0, 0)[0]}, key=key)
        expect_status(r, 201, "write after restart")
    shutil.rmtree(tmp, ignore_errors=True)


def test_sigkill_with_durability_normal():
    """synchronous=NORMAL may lose the last commits if the machine loses
    power, but not if only the process dies."""
    tmp = scratch_dir()
    o, key = prepared("--durability", "normal", tmp=tmp)
    s = Stream(o, key).start()
    try:
        s.wait_acked(150)
    finally:
        o.kill9()
        s.join()
    check_db_file(o.db, s)
    o2 = Optd("--durability", "normal", db=o.db, tmp=tmp).start()
    with o2:
        check_via_api(o2, key, s)
    shutil.rmtree(tmp, ignore_errors=True)


def test_sigterm_drains_cleanly():
    tmp = scratch_dir()
    o, key = prepared(tmp=tmp)
    s = Stream(o, key).start()
    try:
        s.wait_acked(100)
    except Exception:
        o.kill9()
        s.join()
        raise
    rc = o.stop(signal.SIGTERM)  # waits for the process
    s.join()
    expect(rc == 0, "optd exits 0 on SIGTERM",
           "%s; its log ends:\n%s" % (rc, o.log_text()[-1500:]))
    bad = [a for a in s.answers if not (
        a[2] == 201 or (a[2] == 503 and isinstance(a[3], dict) and
                        a[3].get("message")))]
    expect(not bad, "every answer is a 201 or a clean 503", bad[:5])
    log = o.log_text()
    expect("stopping on signal 15" in log and "stopped" in log,
           "shutdown is logged", log[-800:])
    check_db_file(o.db, s)
    o2 = Optd(db=o.db, tmp=tmp).start()
    with o2:
        check_via_api(o2, key, s)
    shutil.rmtree(tmp, ignore_errors=True)


def test_sigint_also_stops_cleanly():
    with Optd() as o:
        o.create_group(id=GROUP)
        expect_status(o.status_set({"subscription_group_id": GROUP,
                                    "subscription_state": "subscribed",
                                    "phone": "+12015550000"}), 201)
        rc = o.stop(signal.SIGINT)
        expect(rc == 0, "exit 0 on SIGINT", rc)


def test_durability_normal_and_bad_values():
    tmp = scratch_dir()
    o = Optd("--durability", "normal", tmp=tmp).start()
    with o:
        o.create_group(id=GROUP)
        expect_status(o.status_set({"subscription_group_id": GROUP,
                                    "subscription_state": "subscribed",
                                    "phone": "+12015550001"}), 201)
    expect("durability normal" in o.log_text(), "normal in effect",
           o.log_text()[-500:])
    o2 = Optd("--durability", "full", db=o.db, tmp=tmp).start()
    with o2:
        r = o2.status_get(GROUP, phone="+12015550001")
        expect(r.json["status"] == {"+12015550001": "Subscribed"},
               "kept across a clean restart", r.json)
    expect("durability full" in o2.log_text(), "full in effect")
    db = os.path.join(tmp, "bad.db")
    for args, env, words in [
        (["--durability", "fast"], {}, ["durability", "fast"]),
        (["--durability", ""], {}, ["durability"]),
        (["--durability", "FULL"], {}, ["durability", "FULL"]),
        ([], {"OPTD_DURABILITY": "sometimes"},
         ["OPTD_DURABILITY", "sometimes"]),
    ]:
        p = run_optd("serve", "--port", str(free_port()), "--db", db, *args,
                     env=env)
        expect(p.returncode == 2, "exit 2 for %r %r" % (args, env),
               (p.returncode, p.stderr))
        for w in words:
            expect(w in p.stderr, "message names %r" % w, p.stderr)
    expect(not os.path.exists(db), "a refused start creates no database")
    shutil.rmtree(tmp, ignore_errors=True)


def test_healthz():
    with Optd() as o:
        for key in (None, "optd_wrong_key_0123456789abcdef"):
            r = o.get("/healthz", key=key)
            expect_status(r, 200, "healthz")
            expect(r.json == {"status": "ok", "database": DB_KIND},
                   "healthz body", r.json)
            expect(r.header("Content-Type") == "application/json",
                   "JSON", r.headers)


def test_failed_fsync_stops_writes():
    """An fsync of the WAL that fails (tests/e2e/failsync.c makes
    fdatasync() answer EIO on demand): the change waiting on it is answered
    503, no later change is committed, /healthz says why, reads go on."""
    sqlite_only("SQLite's WAL fsync")
    tmp = scratch_dir()
    lib = os.path.join(tmp, "failsync.so")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "failsync.c")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, src, "-ldl"],
                   check=True)
    mark = os.path.join(tmp, "fail-now")
    env = dict(os.environ, LD_PRELOAD=lib, OPTD_TEST_FAIL_SYNC=mark,
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") +
               ":verify_asan_link_order=0")
    with Optd(env=env) as o:
        group = o.create_group("Fsync")
        body = {"subscription_group_id": group,
                "subscription_state": "subscribed"}
        r = o.status_set(dict(body, external_id=["fs-before"]))
        expect_status(r, 201, "before")
        open(mark, "w").close()
        r = o.status_set(dict(body, external_id=["fs-lost"]))
        expect_status(r, 503, "the change whose fsync failed")
        os.unlink(mark)  # the disk is back: optd still refuses
        r = o.status_set(dict(body, external_id=["fs-after"]))
        expect_status(r, 503, "a later change")
        expect(r.header("Retry-After"), "Retry-After", r.headers)
        r = o.get("/healthz")
        expect(r.status == 503 and "fsync" in r.json.get("database", ""),
               "healthz names the fsync", (r.status, r.json))
        r = o.status_get(group, external_id=["fs-before", "fs-after"])
        st = (r.json or {}).get("status", {})
        expect(r.status == 200 and st.get("fs-before") == "Subscribed" and
               st.get("fs-after") != "Subscribed",
               "reads go on; nothing committed after", (r.status, r.json))
        expect("fsync failed" in o.log_text(), "the log says so")
    shutil.rmtree(tmp, ignore_errors=True)


def _raw_read_response(sock, timeout=20):
    """Status and body of one HTTP/1.1 answer on a raw socket."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise TestFailure("connection closed without an answer: %r"
                              % data)
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(l.split(": ", 1) for l in lines[1:])
    length = int(headers.get("Content-Length", "0"))
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def test_sigterm_refuses_requests_that_arrive_while_stopping():
    """A connection accepted before SIGTERM whose request comes in during
    the drain gets a clean 503; a request already counted still
    completes; optd exits 0."""
    import json
    import socket
    tmp = scratch_dir()
    o, key = prepared(tmp=tmp)
    body = json.dumps({"subscription_group_id": GROUP,
                       "subscription_state": "subscribed",
                       "phone": ["+12015550100"]}).encode()
    head = ("POST /subscription/status/set HTTP/1.1\r\nHost: x\r\n"
            "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n" % (key, len(body))).encode()
    # held: headers complete, body withheld, so the drain waits for it
    held = socket.create_connection((o.host, o.port))
    held.sendall(head + b"\r\n" + body[:5])
    # late: accepted, but its headers are not finished before SIGTERM
    late = socket.create_connection((o.host, o.port))
    late.sendall(head)
    time.sleep(0.3)
    o.proc.send_signal(signal.SIGTERM)
    deadline = time.time() + 20
    while "stopping on signal 15" not in o.log_text():
        expect(time.time() < deadline, "SIGTERM is logged", o.log_text())
    late.sendall(b"\r\n" + body)
    status, headers, text = _raw_read_response(late)
    expect(status == 503 and b"optd is stopping" in text,
           "a request that arrives while stopping is refused with 503",
           (status, text))
    expect(headers.get("Connection", "").lower() == "close",
           "the refusal closes the connection", headers)
    held.sendall(body[5:])
    status, _, text = _raw_read_response(held)
    expect(status == 201, "the request in flight completes", (status, text))
    rc = o.stop(signal.SIGTERM)
    expect(rc == 0, "optd exits 0", "%s; its log ends:\n%s" % (
        rc, o.log_text()[-1500:]))
    held.close()
    late.close()
    o2 = Optd(db=o.db, tmp=tmp).start()
    with o2:
        r = o2.status_get(GROUP, key=key, phone=["+12015550100"])
        expect_status(r, 200, "status/get after restart")
        expect(r.json["status"] == {"+12015550100": "Subscribed"},
               "the completed request is kept", r.json)
    shutil.rmtree(tmp, ignore_errors=True)
