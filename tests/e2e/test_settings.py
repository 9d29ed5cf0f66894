"""Settings: log formats, listen address, environment variables against
flags, invalid settings, and `optd migrate`."""
import json
import os
import re
import shutil
import socket
import sqlite3

from harness import (ADMIN_KEY, DB_KIND, Optd, TestFailure, expect,
                     expect_status, free_port, run_optd, scratch_dir)

REQUEST_FIELDS = {"method", "path", "status", "duration_ms", "key"}


def json_lines(o):
    """Every line of optd's log, each of which must be UTF-8 JSON."""
    with open(o.log_path, "rb") as f:
        raw = f.read()
    out = []
    for n, line in enumerate(raw.splitlines(), 1):
        try:
            out.append(json.loads(line.decode("utf-8")))
        except (UnicodeDecodeError, ValueError) as e:
            raise TestFailure("log line %d is not UTF-8 JSON (%s): %r" % (
                n, e, line[:300]))
    return out


def requests_in(lines):
    return [x for x in lines if x.get("msg") == "request"]


def traffic(o):
    """A few requests of different kinds; returns what the log should say."""
    o.create_group(id="g")
    key = o.create_key(["subscription.status.set"], name="logged-key")
    expect_status(o.get("/healthz", key=None), 200)
    expect_status(o.status_set({"subscription_group_id": "g",
                                "subscription_state": "subscribed",
                                "phone": "+12025550100"}, key=key), 201)
    expect_status(o.status_set({"subscription_group_id": "g"}, key=key), 400)
    expect_status(o.get("/admin/api_keys", key=key), 403)
    expect_status(o.get("/admin/api_keys", key=None), 401)
    expect_status(o.get("/no/such", key=None), 404)
    return [("GET", "/healthz", 200, ""),
            ("POST", "/admin/subscription_groups", 201, "admin"),
            ("POST", "/admin/api_keys", 201, "admin"),
            ("GET", "/healthz", 200, ""),
            ("POST", "/subscription/status/set", 201, "logged-key"),
            ("POST", "/subscription/status/set", 400, "logged-key"),
            ("GET", "/admin/api_keys", 403, "logged-key"),
            ("GET", "/admin/api_keys", 401, ""),
            ("GET", "/no/such", 404, "")]


def test_log_format_json():
    o = Optd("--log-format", "json").start()
    with o:
        want = traffic(o)
    lines = json_lines(o)
    reqs = requests_in(lines)
    # the harness polls /healthz until ready: drop those leading probes
    while len(reqs) > len(want) and reqs[0]["path"] == "/healthz" and \
            reqs[1]["path"] == "/healthz":
        reqs.pop(0)
    # a line is written when its request completes, so two requests on
    # different connections may be logged in either order
    got = [(r["method"], r["path"], r["status"], r["key"]) for r in reqs]
    expect(sorted(got) == sorted(want), "one JSON line per request", got)
    for r in reqs:
        expect(REQUEST_FIELDS <= set(r), "request line fields", r)
        expect(isinstance(r["status"], int), "status is a number", r)
        expect(isinstance(r["duration_ms"], (int, float)) and
               r["duration_ms"] >= 0, "duration_ms is a number", r)
    expect(all("time" in x and "level" in x and "msg" in x for x in lines),
           "every line has time, level and msg", lines[:3])
    expect(any("listening" in x["msg"] for x in lines), "start logged")
    expect(ADMIN_KEY not in open(o.log_path).read(),
           "the admin key is never logged")


def test_log_format_json_odd_paths_stay_valid_json():
    """Paths carry whatever a client sends, %-decoded: quotes, backslashes,
    control characters and bytes that are not UTF-8. Each line must still
    be one valid JSON object."""
    o = Optd("--log-format", "json").start()
    with o:
        for path in ("/a%22b%5Cc", "/new%0Aline", "/tab%09x", "/caf%C3%A9",
                     "/bad%FFbyte", "/half%C3", "/" + "%E2%82%AC" * 150,
                     # escaping grows this past the log's path buffer
                     "/" + "%01" * 170 + "%E2%82%AC" * 10):
            expect(o.get(path, key=None).status == 404, "404 for " + path)
    reqs = requests_in(json_lines(o))
    paths = [r["path"] for r in reqs]
    expect('/a"b\\c' in paths and "/new\nline" in paths and
           "/caf\u00e9" in paths, "paths decoded and escaped", paths)


def test_log_format_text():
    o = Optd("--log-format", "text").start()
    with o:
        want = traffic(o)
    lines = o.log_text().splitlines()
    pat = re.compile(r"^\S+ info request (\S+) (\S+) (\d{3}) "
                     r"(\d+(?:\.\d+)?)ms key=(\S+) id=\S+$")
    got = [(m.group(1), m.group(2), int(m.group(3)),
            "" if m.group(5) == "-" else m.group(5))
           for m in map(pat.match, lines) if m]
    while len(got) > len(want) and got[0][1] == "/healthz" and \
            got[1][1] == "/healthz":
        got.pop(0)
    expect(sorted(got) == sorted(want), "one text line per request", got)
    expect(not any(l.startswith("{") for l in lines), "no JSON lines")


def have_ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_listen_ipv6():
    if not have_ipv6_loopback():
        print("  (skipped: this machine has no ::1)")
        return
    with Optd("--listen", "::1", host="::1") as o:
        o.create_group(id="g")
        expect_status(o.status_set({"subscription_group_id": "g",
                                    "subscription_state": "subscribed",
                                    "phone": "+12025550101"}), 201)
        e = o.consent(phone="+12025550101")
        expect(e[0]["client_addr"] == "::1", "client address is ::1", e)
        refused = False
        try:
            socket.create_connection(("127.0.0.1", o.port), timeout=5).close()
        except OSError:
            refused = True
        expect(refused, "not listening on 127.0.0.1")
    expect("::1" in o.log_text(), "the log names the address")


def test_env_vars_equal_flags():
    tmp = scratch_dir()
    db = os.path.join(tmp, "from-env.db")
    o = Optd(flags=False, tmp=tmp, env={
        "OPTD_DB": db, "OPTD_LISTEN": "127.0.0.1", "OPTD_LOG_FORMAT": "json",
        "OPTD_DEFAULT_REGION": "FR", "OPTD_DURABILITY": "normal",
        "OPTD_THREADS": "3"}).start()
    with o:
        expect(os.path.exists(db), "OPTD_DB names the database")
        o.create_group(id="g")
        expect_status(o.status_set({"subscription_group_id": "g",
                                    "subscription_state": "subscribed",
                                    "external_id": ["e"],
                                    "phone": ["06 12 34 56 78"]}), 201)
        r = o.user_status(external_id="e")
        expect(r.json["users"][0]["phone"] == "+33612345678",
               "OPTD_DEFAULT_REGION=FR", r.json)
    lines = json_lines(o)
    expect(requests_in(lines), "OPTD_LOG_FORMAT=json")
    start = [x["msg"] for x in lines if "listening" in x["msg"]]
    expect(start and "durability normal" in start[0] and
           "127.0.0.1:%d" % o.port in start[0] and db in start[0],
           "OPTD_PORT, OPTD_DURABILITY, OPTD_LISTEN", start)
    shutil.rmtree(tmp, ignore_errors=True)


def refuses_connections(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except OSError:
        return True


def test_flag_wins_over_env():
    tmp = scratch_dir()
    env_port, flag_port = free_port(), free_port()
    env_db = os.path.join(tmp, "env.db")
    flag_db = os.path.join(tmp, "flag.db")
    o = Optd("--port", str(flag_port), "--db", flag_db, "--log-format",
             "text", "--default-region", "US", "--durability", "full",
             flags=False, tmp=tmp, env={
                 "OPTD_PORT": str(env_port), "OPTD_DB": env_db,
                 "OPTD_LOG_FORMAT": "json", "OPTD_DEFAULT_REGION": "FR",
                 "OPTD_DURABILITY": "normal"})
    o.start(port=flag_port)
    with o:
        expect(refuses_connections(env_port), "not on OPTD_PORT")
        expect(os.path.exists(flag_db) and not os.path.exists(env_db),
               "--db wins over OPTD_DB")
        o.create_group(id="g")
        expect_status(o.status_set({"subscription_group_id": "g",
                                    "subscription_state": "subscribed",
                                    "external_id": ["e"],
                                    "phone": ["(650) 253-0000"]}), 201)
        r = o.user_status(external_id="e")
        expect(r.json["users"][0]["phone"] == "+16502530000",
               "--default-region US wins over FR", r.json)
    text = o.log_text()
    expect(not text.lstrip().startswith("{"), "--log-format text wins",
           text[:200])
    expect("durability full" in text, "--durability wins", text[:400])
    shutil.rmtree(tmp, ignore_errors=True)


def test_db_writers():
    """--db-writers sets PostgreSQL's writer lanes; SQLite says it keeps
    its one writer, and both apply every change."""
    o = Optd("--db-writers", "3")
    with o:
        o.create_group(id="g")
        for i in range(12):
            expect_status(o.status_set({
                "subscription_group_id": "g",
                "subscription_state": "subscribed",
                "phone": "+1202555%04d" % i}), 201)
        for i in range(12):
            r = o.user_status(phone="+1202555%04d" % i)
            expect(r.json["users"][0]["subscription_groups"][0]["status"]
                   == "Subscribed", "applied", r.json)
    text = o.log_text()
    warned = "takes one writer at a time" in text
    expect(warned == (DB_KIND == "sqlite"),
           "a warning on SQLite only", text[-600:])


INVALID = [
    # (flags, env, words the message must hold)
    (["--port", "70000"], {}, ["port", "70000"]),
    (["--port", "http"], {}, ["port", "http"]),
    (["--port", "-1"], {}, ["port"]),
    (["--threads", "0"], {}, ["threads"]),
    (["--threads", "65"], {}, ["threads", "65"]),
    (["--threads", "many"], {}, ["threads", "many"]),
    (["--log-format", "xml"], {}, ["log-format", "xml"]),
    (["--default-region", "USA"], {}, ["default-region", "USA"]),
    (["--default-region", "ZZ"], {}, ["default-region", "ZZ"]),
    (["--durability", "eventually"], {}, ["durability", "eventually"]),
    (["--db", ""], {}, ["db"]),
    ([], {"OPTD_PORT": "eighty"}, ["OPTD_PORT", "eighty"]),
    ([], {"OPTD_THREADS": "0"}, ["OPTD_THREADS"]),
    ([], {"OPTD_LOG_FORMAT": "yaml"}, ["OPTD_LOG_FORMAT", "yaml"]),
    ([], {"OPTD_DEFAULT_REGION": "Q"}, ["OPTD_DEFAULT_REGION"]),
    ([], {"OPTD_DURABILITY": "x"}, ["OPTD_DURABILITY"]),
    (["--db-pool", "0"], {}, ["db-pool"]),
    (["--db-pool", "257"], {}, ["db-pool", "257"]),
    ([], {"OPTD_DB_POOL": "lots"}, ["OPTD_DB_POOL", "lots"]),
    (["--db-writers", "0"], {}, ["db-writers", "1 to 8"]),
    (["--db-writers", "9"], {}, ["db-writers", "9"]),
    ([], {"OPTD_DB_WRITERS": "two"}, ["OPTD_DB_WRITERS", "two"]),
    (["--nodes", "0"], {}, ["nodes"]),
    (["--kannel-box", "nohost"], {}, ["--kannel-box", "nohost"]),
    (["--kannel-box", "127.0.0.1:0"], {}, ["--kannel-box", "HOST:PORT"]),
    (["--kannel-box", "127.0.0.1:99999"], {}, ["--kannel-box"]),
    ([], {"OPTD_KANNEL_BOX": ":13001"}, ["kannel-box", ":13001"]),
    ([], {"OPTD_NODES": "-3"}, ["OPTD_NODES", "-3"]),
]


def check_invalid(cases):
    tmp = scratch_dir()
    bad = []
    for flags, env, words in cases:
        args = flags
        if "--port" not in flags and "OPTD_PORT" not in env:
            args = args + ["--port", str(free_port())]
        if "--db" not in flags:
            args = args + ["--db", os.path.join(tmp, "x.db")]
        p = run_optd("serve", *args, env=env)
        problems = []
        if p.returncode != 2:
            problems.append("exit %d" % p.returncode)
        problems += ["no %r" % w for w in words if w not in p.stderr]
        if problems:
            bad.append("%s %s: %s; stderr %r" % (flags, env,
                                                 ", ".join(problems),
                                                 p.stderr[-300:]))
    shutil.rmtree(tmp, ignore_errors=True)
    if bad:
        raise TestFailure("invalid settings must exit 2 naming the "
                          "setting:\n  " + "\n  ".join(bad))


def test_invalid_settings_exit_2():
    check_invalid(INVALID)


def test_invalid_listen_address_exits_2():
    check_invalid([
        (["--listen", "not-an-address"], {}, ["listen", "not-an-address"]),
        (["--listen", ""], {}, ["listen"]),
        ([], {"OPTD_LISTEN": "999.1.1.1"}, ["OPTD_LISTEN", "999.1.1.1"]),
    ])


def test_port_in_use_fails_with_a_message():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        tmp = scratch_dir()
        p = run_optd("serve", "--port", str(port), "--db",
                     os.path.join(tmp, "x.db"))
        shutil.rmtree(tmp, ignore_errors=True)
    expect(p.returncode not in (0, 2) and p.returncode > 0,
           "a runtime failure, not success or usage", p.returncode)
    expect(str(port) in p.stderr and "listen" in p.stderr,
           "the message names the port", p.stderr)


def test_migrate_applies_once():
    tmp = scratch_dir()
    db = os.path.join(tmp, "m.db")
    p = run_optd("migrate", "--db", db)
    expect(p.returncode == 0, "migrate", p.stderr)
    expect("applied migration 1" in p.stderr, "first run applies", p.stderr)
    expect("up to date" in p.stdout and db in p.stdout, "says so", p.stdout)
    con = sqlite3.connect(db)
    first = con.execute("SELECT * FROM schema_migrations").fetchall()
    tables = {r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    expect(len(first) >= 1, "migrations recorded", first)
    expect({"api_keys", "subscription_groups", "users", "subscriptions",
            "consent_ledger"} <= tables, "tables made", tables)
    p = run_optd("migrate", "--db", db)
    expect(p.returncode == 0 and "applied migration" not in p.stderr,
           "second run applies nothing", p.stderr)
    expect("up to date" in p.stdout, "second run says up to date", p.stdout)
    con = sqlite3.connect(db)
    again = con.execute("SELECT * FROM schema_migrations").fetchall()
    con.close()
    expect(again == first, "nothing recorded twice", again)
    # serve on the migrated database applies nothing either
    o = Optd(db=db, tmp=tmp).start()
    with o:
        o.create_group(id="g")
    expect("applied migration" not in o.log_text(), "serve applies nothing",
           o.log_text()[:500])
    # OPTD_DB works for migrate too; a database that cannot be opened fails
    db2 = os.path.join(tmp, "env.db")
    p = run_optd("migrate", env={"OPTD_DB": db2})
    expect(p.returncode == 0 and os.path.exists(db2), "OPTD_DB", p.stderr)
    p = run_optd("migrate", "--db", os.path.join(tmp, "no", "such", "x.db"))
    expect(p.returncode == 1 and "no/such" in p.stderr,
           "unopenable database exits 1 naming it", (p.returncode, p.stderr))
    shutil.rmtree(tmp, ignore_errors=True)
