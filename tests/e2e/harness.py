"""harness: start the real optd binary and talk to it as clients do.

Each test gets its own optd on a free loopback port with a scratch database
in a temporary directory. The admin key is fixed through OPTD_ADMIN_KEY so
tests need not scrape it. When a server stops, its stderr is searched for
sanitizer reports, and any report fails the test (as Redis's harness does).

Beyond request/get/post/create_group/create_key/cli and the expect_*
helpers: Optd(flags=False) gives the port and database through OPTD_PORT
and OPTD_DB instead of flags, Optd(host="::1") talks IPv6, raw() sends a
hand-written request, status_set/status_get/user_status/consent are API
shortcuts, run_optd() runs a command that must exit by itself, and
scratch_dir() gives a directory for tests that restart optd on one database.

OPTD_TEST_DB=postgres (set by `run.py --db postgres`) runs the same tests
on PostgreSQL: each Optd gets a fresh database (CREATE DATABASE) on the
throwaway server whose admin URL is OPTD_TEST_PG_URL, and tests that look
inside an SQLite file call sqlite_only() to be skipped.
"""
import atexit
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse

BIN = os.environ.get("OPTD_BIN", "build/optd")
ADMIN_KEY = "optd_test_admin_key_0123456789abcdef"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "UndefinedBehaviorSanitizer")


DB_KIND = os.environ.get("OPTD_TEST_DB", "sqlite")
PG_URL = os.environ.get("OPTD_TEST_PG_URL", "")
PG_DIR = os.environ.get("OPTD_TEST_PG_DIR", "")
_db_seq = itertools.count()
_pg_dbs = {}  # tmp directory -> database URL


class TestFailure(AssertionError):
    pass


class Skip(Exception):
    """Raised by a test that does not apply to this run's database."""


def sqlite_only(why="looks inside the SQLite file"):
    if DB_KIND != "sqlite":
        raise Skip(why)


def postgres_only(why="needs PostgreSQL"):
    if DB_KIND != "postgres":
        raise Skip(why)


def psql(sql, url=None):
    """Run SQL on the throwaway server (its admin database by default);
    the output, unaligned, tuples only."""
    p = subprocess.run(["psql", url or PG_URL, "-X", "-q", "-A", "-t",
                        "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise TestFailure("psql %r failed: %s" % (sql, p.stderr))
    return p.stdout.strip()


def pg_rows(db, sql):
    """The rows of a query on optd's PostgreSQL database `db` (a URL), as
    tuples of strings; NULL and '' both read as None."""
    return [tuple(v or None for v in line.split("\t"))
            for line in psql(sql, url=db).splitlines() if line]


def new_db(tmp):
    """A fresh database for one Optd: a file in tmp, or on PostgreSQL a new
    database on the test server, as the URL optd takes."""
    if DB_KIND != "postgres":
        return os.path.join(tmp, "optd.db")
    # Tests restart optd on one database by reusing its tmp directory.
    if tmp not in _pg_dbs:
        name = "optd_e2e_%d_%d" % (os.getpid(), next(_db_seq))
        psql("CREATE DATABASE " + name)
        _pg_dbs[tmp] = PG_URL.rsplit("/", 1)[0] + "/" + name
    return _pg_dbs[tmp]


def pg_server(action):
    """Stop ("down"), kill as a crash would ("crash") or start again
    ("up") the throwaway PostgreSQL."""
    subprocess.run([os.path.join(os.path.dirname(__file__), "..", "..",
                                 "scripts", "pg-test-server.sh"),
                    action, PG_DIR], check=True, timeout=330)


# Scratch directories of servers whose `with` block ended without an
# exception are removed when the run ends (so a test may still read the
# logs after the server stopped); the others are kept for a post-mortem.
_scratch = []
# Servers still running when the run ends (a test failed before stopping
# one) are killed, so no optd outlives the suite.
_running = []


@atexit.register
def _clean_up():
    for p in _running:
        if p.poll() is None:
            p.kill()
            p.wait()
    for d in _scratch:
        shutil.rmtree(d, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


def scratch_dir():
    """A temporary directory for tests that restart optd on one database;
    the caller removes it (shutil.rmtree) when the test passes."""
    return tempfile.mkdtemp(prefix="optd-e2e-")


def run_optd(*args, env=None, timeout=20, admin_key=ADMIN_KEY):
    """Run the binary to completion (a command that must exit, such as a
    serve with a bad setting). A process still running at `timeout` is
    killed and reported as a failure."""
    e = dict(os.environ)
    if admin_key is not None:
        e["OPTD_ADMIN_KEY"] = admin_key
    e.update(env or {})
    try:
        return subprocess.run([BIN, *args], env=e, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TestFailure("optd %s was still running after %ss" % (
            " ".join(args), timeout))


class Optd:
    """One optd server.

    flags=False starts `optd serve ARGS` without the harness's --port and
    --db flags, giving them through OPTD_PORT and OPTD_DB instead (unless
    `env` already sets those). host is the address clients connect to.
    port fixes the port in advance (for flags that must name it, such as
    --public-url); by default start() picks a free one."""

    def __init__(self, *args, env=None, db=None, tmp=None, flags=True,
                 host="127.0.0.1", port=None):
        self.owns_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="optd-e2e-")
        self.db = db or new_db(self.tmp)
        self.args = list(args)
        self.env = dict(os.environ)
        self.env["OPTD_ADMIN_KEY"] = ADMIN_KEY
        self.env.update(env or {})
        self.flags = flags
        self.host = host
        self.port = self.fixed_port = port
        self.proc = None
        self.log_path = os.path.join(self.tmp, "optd.log")
        self.out_path = os.path.join(self.tmp, "optd.out")

    # -- process control --
    def start(self, port=None, wait=True):
        self.port = port or self.fixed_port or free_port()
        if self.flags:
            cmd = [BIN, "serve", "--port", str(self.port), "--db", self.db,
                   *self.args]
        else:
            cmd = [BIN, "serve", *self.args]
            self.env.setdefault("OPTD_PORT", str(self.port))
            self.env.setdefault("OPTD_DB", self.db)
        self.log = open(self.log_path, "ab")
        self.out = open(self.out_path, "ab")
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.out,
                                     stderr=self.log)
        _running.append(self.proc)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise TestFailure("optd exited with %s: %s" % (
                    self.proc.returncode, self.log_text()[-2000:]))
            try:
                if self.get("/healthz", key=None).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise TestFailure("optd did not become ready")

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise TestFailure("optd did not stop within %ss" % timeout)
        finally:
            self.log.close()
            self.out.close()
            self.proc = None
        self.check_sanitizers()
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def log_text(self):
        # A running optd writes its log in batches at least every 100 ms.
        if self.proc and self.proc.poll() is None:
            time.sleep(0.25)
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def out_text(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def check_sanitizers(self):
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            if mark in text:
                i = text.index(mark)
                raise TestFailure("sanitizer report in optd's log:\n" +
                                  text[max(0, i - 200):i + 3000])

    def __enter__(self):
        if not self.proc:
            self.start()
        return self

    def __exit__(self, *exc):
        if self.proc:
            rc = self.stop()
            if exc[0] is None and rc not in (0, None):
                raise TestFailure("optd exited with status %s" % rc)
        if exc[0] is None and self.owns_tmp:
            _scratch.append(self.tmp)

    # -- HTTP --
    def request(self, method, path, body=None, key=ADMIN_KEY, headers=None,
                raw=None, content_type="application/json", timeout=30):
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=timeout)
        h = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type and "Content-Type" not in h:
            h["Content-Type"] = content_type
        if key:
            h.setdefault("Authorization", "Bearer " + key)
        conn.request(method, path, body=data, headers=h)
        r = conn.getresponse()
        resp = Response(r.status, {k.lower(): v for k, v in r.getheaders()},
                        r.read().decode("utf-8", "replace"))
        conn.close()
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def raw(self, data, timeout=30):
        """Send `data` (bytes: a whole HTTP request, written by the test)
        on a fresh connection and read one response. A server that answers
        before reading the whole body may reset the connection while we
        still send; the response is read all the same."""
        sock = socket.create_connection((self.host, self.port),
                                        timeout=timeout)
        try:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass
            r = http.client.HTTPResponse(sock)
            r.begin()
            body = r.read().decode("utf-8", "replace")
            return Response(r.status,
                            {k.lower(): v for k, v in r.getheaders()}, body)
        finally:
            sock.close()

    # -- API shortcuts --
    def status_set(self, body, key=ADMIN_KEY, v2=False, **kw):
        path = "/v2/subscription/status/set" if v2 else \
            "/subscription/status/set"
        return self.post(path, body, key=key, **kw)

    def status_get(self, group, key=ADMIN_KEY, timeout=30, **ids):
        """GET /subscription/status/get; a list value is sent as name[]."""
        return self.get("/subscription/status/get?" + query(
            subscription_group_id=group, **ids), key=key, timeout=timeout)

    def user_status(self, key=ADMIN_KEY, timeout=30, **ids):
        return self.get("/subscription/user/status?" + query(**ids), key=key,
                        timeout=timeout)

    def consent(self, **by):
        """The ledger entries (oldest first) for phone=, email= or
        external_id=, through GET /admin/consent."""
        r = self.get("/admin/consent?" + query(**by))
        expect_status(r, 200, "GET /admin/consent")
        return r.json["consent"]

    # -- common set-up --
    def create_group(self, name="Promos", channel="sms", **fields):
        body = {"name": name, "channel": channel, **fields}
        r = self.post("/admin/subscription_groups", body)
        expect(r.status == 201, "group create", r)
        return r.json["id"]

    def create_key(self, scopes, name=None, **fields):
        body = {"name": name or "key-%d" % time.time_ns(), "scopes": scopes,
                **fields}
        r = self.post("/admin/api_keys", body)
        expect(r.status == 201, "key create", r)
        return r.json["key"]

    def cli(self, *args, env=None, check=True):
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run([BIN, *args, "--db", self.db], env=e,
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise TestFailure("optd %s failed (%d): %s" % (
                " ".join(args), p.returncode, p.stderr))
        return p


def query(**params):
    """A query string; list values repeat as name[]=v, in order."""
    parts = []
    for k, v in params.items():
        if isinstance(v, (list, tuple)):
            parts += [(k + "[]", x) for x in v]
        elif v is not None:
            parts.append((k, v))
    return urllib.parse.urlencode(parts)


def expect(cond, what, detail=None):
    if not cond:
        raise TestFailure("%s%s" % (what, "" if detail is None
                                    else ": %r" % (detail,)))


def expect_status(resp, status, what=""):
    if resp.status != status:
        raise TestFailure("%s: expected %d, got %r" % (what or "status",
                                                      status, resp))
    return resp


def expect_error(resp, status, *words):
    """A Braze-shaped JSON error with this status whose message has words."""
    expect_status(resp, status, "error")
    expect(isinstance(resp.json, dict) and
           isinstance(resp.json.get("message"), str),
           "error body is JSON with a message", resp)
    msg = resp.json["message"].lower()
    for w in words:
        expect(w.lower() in msg, "message mentions %r" % w, resp.json)
    return resp
