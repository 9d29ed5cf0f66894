"""The admin API (/admin/...) and the same operations on the command line."""
import json
import re

from harness import (Optd, TestFailure, expect, expect_error, expect_status,
                     run_optd)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$")
GROUPS = "/admin/subscription_groups"


def create(o, **body):
    return o.post(GROUPS, body)


def patch(o, gid, **body):
    return o.request("PATCH", GROUPS + "/" + gid, body)


def test_group_create_list_show():
    with Optd() as o:
        r = expect_status(create(o, name="Promos", channel="sms"), 201)
        g1 = r.json
        expect(UUID.match(g1["id"]), "generated UUID id", g1)
        expect(g1["name"] == "Promos" and g1["channel"] == "sms" and
               g1["numbers"] == [] and g1["double_opt_in"] is False,
               "fields", g1)
        expect(ISO.match(g1["created_at"]) and ISO.match(g1["updated_at"]),
               "timestamps", g1)
        r = expect_status(create(o, name="Promos", channel="sms"), 201)
        expect(r.json["id"] != g1["id"], "a new UUID each time", r.json)
        r = expect_status(create(o, id="xyz-abcd-1234567", name="Seed",
                                 channel="sms", numbers=["+16502530000"],
                                 double_opt_in=True), 201)
        expect(r.json["id"] == "xyz-abcd-1234567" and
               r.json["numbers"] == ["+16502530000"] and
               r.json["double_opt_in"] is True, "given id", r.json)
        r = expect_status(create(o, id="news", name="News",
                                 channel="email"), 201)
        expect(r.json["channel"] == "email", "email group", r.json)
        r = create(o, id="news", name="Again", channel="sms")
        expect_error(r, 409, "news")
        r = expect_status(o.get(GROUPS), 200)
        ids = [g["id"] for g in r.json["subscription_groups"]]
        expect(len(ids) == 4 and "xyz-abcd-1234567" in ids and "news" in ids
               and g1["id"] in ids, "list", r.json)
        r = expect_status(o.get(GROUPS + "/xyz-abcd-1234567"), 200)
        expect(r.json["name"] == "Seed" and r.json["numbers"] ==
               ["+16502530000"], "show", r.json)
        r = expect_status(o.get(GROUPS + "/" + g1["id"]), 200)
        expect(r.json == g1, "show equals create's answer", (r.json, g1))
        expect_error(o.get(GROUPS + "/nope"), 404, "nope")


def test_group_create_errors():
    with Optd() as o:
        for body, status, words in [
            ({"channel": "sms"}, 400, ["name"]),
            ({"name": "", "channel": "sms"}, 400, ["name"]),
            ({"name": 5, "channel": "sms"}, 400, ["name"]),
            ({"name": "x"}, 400, ["channel"]),
            ({"name": "x", "channel": "mms"}, 400, ["channel"]),
            ({"name": "x", "channel": 1}, 400, ["channel"]),
            ({"name": "x", "channel": "sms", "id": "has space"}, 400, ["id"]),
            ({"name": "x", "channel": "sms", "id": 7}, 400, ["id"]),
            ({"name": "x", "channel": "sms", "id": "a" * 65}, 400, ["id"]),
            ({"name": "x", "channel": "sms", "double_opt_in": "yes"}, 400,
             ["double_opt_in"]),
            ({"name": "x", "channel": "sms", "colour": "red"}, 400,
             ["unknown", "colour"]),
            ({"name": "x", "channel": "sms", "numbers": "+16502530000"}, 400,
             ["numbers"]),
            ({"name": "x", "channel": "sms", "numbers": [16502530000]}, 400,
             ["numbers[0]"]),
            ({"name": "x", "channel": "sms", "numbers": ["1234"]}, 400,
             ["1234"]),
            ({"name": "x", "channel": "sms", "numbers": ["1234567"]}, 400,
             ["1234567"]),
            ({"name": "x", "channel": "sms", "numbers": ["12345678901234567"]},
             400, ["12345678901234567"]),
            ({"name": "x", "channel": "sms", "numbers": ["call us"]}, 400,
             ["call us"]),
            ({"name": "x", "channel": "sms", "numbers": [""]}, 400,
             ["numbers"]),
            ({"name": "x", "channel": "sms",
              "numbers": ["+16502530000", "(650) 253-0000"]}, 400,
             ["+16502530000", "twice"]),
            ({"name": "x", "channel": "email", "numbers": ["12345"]}, 400,
             ["numbers"]),
        ]:
            r = create(o, **body)
            expect_error(r, status, *words)
        expect(o.get(GROUPS).json["subscription_groups"] == [],
               "no group was created by a bad request")
        r = o.post("/admin/api_keys", {"name": "k", "scopes": ["admin"],
                                       "colour": "red"})
        expect_error(r, 400, "colour")
        r = o.post("/admin/api_keys", {"name": "k", "scopes": ["root"]})
        expect_error(r, 400, "scopes")
        r = o.post("/admin/api_keys", {"name": "k", "scopes": []})
        expect_error(r, 400, "scopes")
        r = o.post("/admin/api_keys", {"scopes": ["admin"]})
        expect_error(r, 400, "name")
        r = o.post("/admin/api_keys", {"name": "k", "scopes": ["admin"],
                                       "rate_limit": -1})
        expect_error(r, 400, "rate_limit")
        r = o.post("/admin/api_keys", {"name": "admin", "scopes": ["admin"]})
        expect_error(r, 409, "admin")


def test_group_numbers():
    with Optd() as o:
        r = expect_status(create(o, id="a", name="A", channel="sms",
                                 numbers=["+1 (650) 253-0000", "12345",
                                          "123456", "+33 6 12 34 56 78"]),
                          201)
        expect(sorted(r.json["numbers"]) == sorted([
            "+16502530000", "12345", "123456", "+33612345678"]),
            "long codes as E.164, short codes as digits", r.json)
        # a number belongs to one group
        r = create(o, id="b", name="B", channel="sms",
                   numbers=["+1 650 253 0000"])
        expect_error(r, 409, "+16502530000", "a")
        expect_error(o.get(GROUPS + "/b"), 404)  # nothing half-made
        r = expect_status(create(o, id="b", name="B", channel="sms",
                                 numbers=["+16502530009"]), 201)
        r = patch(o, "b", numbers=["+16502530009", "12345"])
        expect_error(r, 409, "12345", "a")
        r = expect_status(o.get(GROUPS + "/b"), 200)
        expect(r.json["numbers"] == ["+16502530009"],
               "a refused update changes nothing", r.json)
        # numbers replace: a number freed by one group can go to another
        r = expect_status(patch(o, "a", numbers=["12345"]), 200)
        expect(r.json["numbers"] == ["12345"], "replaced", r.json)
        r = expect_status(patch(o, "b", numbers=["+16502530000",
                                                 "123456"]), 200)
        expect(sorted(r.json["numbers"]) == ["+16502530000", "123456"],
               "took the freed numbers", r.json)
        r = expect_status(patch(o, "a", numbers=[]), 200)
        expect(r.json["numbers"] == [], "cleared", r.json)
        r = expect_status(patch(o, "a", name="A2"), 200)
        expect(r.json["numbers"] == [], "numbers untouched by a name change",
               r.json)
        for bad in ("1234", "abc", "+1 650 253 000", "1234567"):
            expect_error(patch(o, "a", numbers=[bad]), 400, bad)


def test_group_update():
    with Optd() as o:
        g = expect_status(create(o, id="up", name="Before", channel="sms",
                                 numbers=["+16502530000"]), 201).json
        r = expect_status(patch(o, "up", name="After"), 200)
        expect(r.json["name"] == "After" and r.json["numbers"] ==
               ["+16502530000"] and r.json["double_opt_in"] is False,
               "name only", r.json)
        expect(r.json["created_at"] == g["created_at"] and
               r.json["updated_at"] >= g["updated_at"], "timestamps", r.json)
        r = expect_status(patch(o, "up", double_opt_in=True), 200)
        expect(r.json["double_opt_in"] is True and r.json["name"] == "After",
               "double_opt_in", r.json)
        r = expect_status(patch(o, "up", numbers=["+16502530001", "55555"]),
                          200)
        expect(sorted(r.json["numbers"]) == ["+16502530001", "55555"],
               "numbers replaced", r.json)
        expect_error(patch(o, "up", channel="email"), 400, "channel")
        expect_status(patch(o, "up", channel="sms"), 200, "same channel")
        expect_error(patch(o, "up", id="other"), 400, "id")
        expect_error(patch(o, "up", colour="red"), 400, "colour")
        expect_error(patch(o, "up", name=""), 400, "name")
        expect_error(patch(o, "up", double_opt_in="no"), 400,
                     "double_opt_in")
        expect_error(patch(o, "ghost", name="x"), 404, "ghost")
        r = expect_status(o.get(GROUPS + "/up"), 200)
        expect(r.json["name"] == "After" and r.json["channel"] == "sms" and
               r.json["double_opt_in"] is True, "refused updates changed "
               "nothing", r.json)
        # the new name shows in user/status
        key = o.create_key(["subscription.status.set",
                            "subscription.groups.get"])
        expect_status(o.status_set({"subscription_group_id": "up",
                                    "subscription_state": "subscribed",
                                    "external_id": "u"}, key=key), 201)
        expect_status(patch(o, "up", name="Renamed"), 200)
        r = o.user_status(key=key, external_id="u")
        expect(r.json["users"][0]["subscription_groups"][0]["name"] ==
               "Renamed", "user/status shows the group's name", r.json)


def cli_json(o, *args):
    p = o.cli(*args)
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise TestFailure("optd %s printed no JSON: %r" % (args, p.stdout))


def test_cli_keys():
    with Optd() as o:
        o.create_group(id="g")
        made = cli_json(o, "keys", "create", "--name", "cli-key", "--scope",
                        "subscription.status.set", "--scope",
                        "subscription.status.get")
        expect(made["name"] == "cli-key" and sorted(made["scopes"]) ==
               ["subscription.status.get", "subscription.status.set"] and
               made["key"], "created", made)
        body = {"subscription_group_id": "g",
                "subscription_state": "subscribed", "external_id": "c1"}
        expect_status(o.status_set(body, key=made["key"]), 201,
                      "the CLI's key works on the running server")
        expect_error(o.get("/admin/api_keys", key=made["key"]), 403)
        limited = cli_json(o, "keys", "create", "--name", "slow", "--scope",
                           "subscription.status.set", "--rate-limit", "2")
        expect(limited["rate_limit"] == 2, "rate limit", limited)
        listed = cli_json(o, "keys", "list")["api_keys"]
        names = [k["name"] for k in listed]
        expect(names[:1] == ["admin"] and "cli-key" in names and
               "slow" in names, "keys list", listed)
        api = o.get("/admin/api_keys").json["api_keys"]
        expect(api == listed, "CLI and API list the same keys", (api, listed))
        p = o.cli("keys", "revoke", "cli-key")
        expect("cli-key" in p.stdout, "revoke says what", p.stdout)
        # the running server refuses it at once, on every thread
        for _ in range(8):
            expect_error(o.status_set(body, key=made["key"]), 401)
        p = o.cli("keys", "revoke", str(limited["id"]))
        for _ in range(8):
            expect_error(o.status_set(body, key=limited["key"]), 401)
        # failures: exit 1 with a message on stderr
        for args, words in [
            (("keys", "revoke", "cli-key"), ["cli-key"]),
            (("keys", "revoke", "nobody"), ["nobody"]),
            (("keys", "create", "--name", "x", "--scope", "root"),
             ["scopes"]),
            (("keys", "create", "--name", "x"), ["scopes"]),
            (("keys", "create", "--scope", "admin"), ["name"]),
            (("keys", "create", "--name", "admin", "--scope", "admin"),
             ["admin"]),
            (("keys", "create", "--name", "x", "--scope", "admin",
              "--rate-limit", "-5"), ["rate_limit"]),
        ]:
            p = o.cli(*args, check=False)
            expect(p.returncode == 1, "optd %s exits 1" % " ".join(args),
                   (p.returncode, p.stderr))
            for w in words:
                expect(w in p.stderr, "optd %s: stderr names %r" % (
                    " ".join(args), w), p.stderr)
            expect(p.stdout == "", "nothing on stdout", p.stdout)


def test_cli_groups():
    with Optd() as o:
        g = cli_json(o, "groups", "create", "--name", "CLI group",
                     "--channel", "sms", "--number", "+1 (650) 253-0000",
                     "--number", "12345", "--id", "cli-g")
        expect(g["id"] == "cli-g" and g["name"] == "CLI group" and
               sorted(g["numbers"]) == ["+16502530000", "12345"],
               "created", g)
        r = expect_status(o.get(GROUPS + "/cli-g"), 200)
        expect(r.json == g, "the server sees the CLI's group", r.json)
        gen = cli_json(o, "groups", "create", "--name", "Mail",
                       "--channel", "email", "--double-opt-in")
        expect(UUID.match(gen["id"]) and gen["channel"] == "email" and
               gen["double_opt_in"] is True, "generated id", gen)
        apig = o.create_group(id="api-g", name="API group")
        listed = cli_json(o, "groups", "list")["subscription_groups"]
        expect(sorted(x["id"] for x in listed) ==
               sorted(["cli-g", gen["id"], apig]), "groups list", listed)
        expect(listed == o.get(GROUPS).json["subscription_groups"],
               "CLI and API list the same groups")
        shown = cli_json(o, "groups", "show", "cli-g")
        expect(shown == g, "groups show", shown)
        up = cli_json(o, "groups", "update", "cli-g", "--name", "Renamed",
                      "--number", "55555", "--double-opt-in", "true")
        expect(up["name"] == "Renamed" and up["numbers"] == ["55555"] and
               up["double_opt_in"] is True, "updated", up)
        up = cli_json(o, "groups", "update", "cli-g", "--double-opt-in=false")
        expect(up["double_opt_in"] is False and up["numbers"] == ["55555"]
               and up["name"] == "Renamed", "double opt-in off", up)
        expect(o.get(GROUPS + "/cli-g").json == up, "server sees update")
        for args, words in [
            (("groups", "show", "nope"), ["nope"]),
            (("groups", "update", "nope", "--name", "x"), ["nope"]),
            (("groups", "create", "--name", "x", "--channel", "fax"),
             ["channel"]),
            (("groups", "create", "--channel", "sms"), ["name"]),
            (("groups", "create", "--name", "x", "--channel", "sms",
              "--id", "cli-g"), ["cli-g"]),
            (("groups", "create", "--name", "x", "--channel", "sms",
              "--number", "55555"), ["55555", "cli-g"]),
            (("groups", "create", "--name", "x", "--channel", "sms",
              "--number", "1234"), ["1234"]),
            (("groups", "update", "api-g", "--number", "55555"),
             ["55555", "cli-g"]),
            (("groups", "update", "cli-g", "--channel", "email"),
             ["channel"]),
        ]:
            p = o.cli(*args, check=False)
            expect(p.returncode == 1, "optd %s exits 1" % " ".join(args),
                   (p.returncode, p.stderr))
            for w in words:
                expect(w in p.stderr, "optd %s: stderr names %r" % (
                    " ".join(args), w), p.stderr)
        expect(len(o.get(GROUPS).json["subscription_groups"]) == 3,
               "failed commands created nothing")


def test_cli_double_opt_in_false_as_usage_shows_it():
    """The usage line reads `groups update ID [--double-opt-in true|false]`;
    written that way, false must turn double opt-in off."""
    with Optd() as o:
        cli_json(o, "groups", "create", "--name", "D", "--channel", "sms",
                 "--id", "doi", "--double-opt-in")
        up = cli_json(o, "groups", "update", "doi", "--double-opt-in",
                      "false")
        expect(up["double_opt_in"] is False,
               "`--double-opt-in false` turns it off", up)
        up = cli_json(o, "groups", "update", "doi", "--double-opt-in",
                      "true")
        expect(up["double_opt_in"] is True,
               "`--double-opt-in true` turns it on", up)


def test_cli_bad_flag_values_refused():
    """A flag value the command cannot read is refused (exit 1 or 2 with a
    message naming the flag), never read as some default."""
    with Optd() as o:
        o.create_group(id="keep", name="Keep")
        bad = []
        for args, word in [
            (("keys", "create", "--name", "r1", "--scope", "admin",
              "--rate-limit", "abc"), "rate"),
            (("keys", "create", "--name", "r2", "--scope", "admin",
              "--rate-limit", "10x"), "rate"),
            (("groups", "create", "--name", "d1", "--channel", "sms",
              "--double-opt-in=maybe"), "double"),
            (("groups", "update", "keep", "--double-opt-in=yes please"),
             "double"),
        ]:
            p = o.cli(*args, check=False)
            if p.returncode not in (1, 2) or word not in p.stderr.lower():
                bad.append("optd %s: exit %d, stdout %r, stderr %r" % (
                    " ".join(args), p.returncode, p.stdout[-200:],
                    p.stderr[-200:]))
        names = [k["name"] for k in o.get("/admin/api_keys").json[
            "api_keys"]]
        groups = o.get(GROUPS).json["subscription_groups"]
        if "r1" in names or "r2" in names:
            bad.append("a key was created: %r" % names)
        if len(groups) != 1 or groups[0]["double_opt_in"]:
            bad.append("groups changed: %r" % groups)
        if bad:
            raise TestFailure("bad flag values must be refused:\n  " +
                              "\n  ".join(bad))


def test_cli_usage_errors_exit_2():
    bad = []
    with Optd() as o:
        for args in [(), ("keys",), ("groups",), ("frobnicate", "x"),
                     ("keys", "frob"), ("groups", "frob"),
                     ("keys", "revoke"), ("groups", "show"),
                     ("groups", "update"), ("consent", "show"),
                     ("consent", "list", "--phone", "+16502530000"),
                     ("keys", "create", "--bogus", "x"),
                     ("serve", "--bogus"), ("keys", "list", "--bogus"),
                     ("keys", "list", "--port", "notaport"),
                     ("groups", "list", "--default-region", "XYZ")]:
            p = run_optd(*args, "--db", o.db) if args else run_optd()
            if p.returncode != 2 or not p.stderr.strip():
                bad.append("optd %s: exit %d, stderr %r" % (
                    " ".join(args), p.returncode, p.stderr[-300:]))
        # a flag missing its value (the last word on the line)
        for args in [("groups", "list", "--db"), ("serve", "--port"),
                     ("keys", "create", "--name")]:
            p = run_optd(*args)
            if p.returncode != 2 or not p.stderr.strip():
                bad.append("optd %s: exit %d, stderr %r" % (
                    " ".join(args), p.returncode, p.stderr[-300:]))
        if bad:
            raise TestFailure("usage errors must exit 2 with a message:\n  "
                              + "\n  ".join(bad))
        p = run_optd("version")
        expect(p.returncode == 0 and p.stdout.startswith("optd "),
               "version", p.stdout)


def test_consent_history_cli_and_api():
    with Optd() as o:
        o.create_group(id="g1", name="G1")
        o.create_group(id="g2", name="G2")
        key = o.create_key(["subscription.status.set"], name="ledger-key")
        p = "+14155550101"
        steps = [("g1", "subscribed", {}), ("g1", "unsubscribed", {}),
                 ("g2", "subscribed", {"use_double_opt_in_logic": True}),
                 ("g1", "subscribed", {})]
        reqids = []
        for g, st, extra in steps:
            r = o.status_set(dict({"subscription_group_id": g,
                                   "subscription_state": st,
                                   "external_id": ["led"], "phone": [p]},
                                  **extra), key=key)
            expect_status(r, 201)
            reqids.append(r.header("X-Request-Id"))
        expect(all(reqids) and len(set(reqids)) == 4, "request ids", reqids)
        cli = cli_json(o, "consent", "show", "--phone", p)["consent"]
        api = o.consent(phone=p)
        expect(cli == api, "CLI and API give the same history", (cli, api))
        expect(len(api) == 4, "four changes", api)
        expect([e["id"] for e in api] == sorted(e["id"] for e in api),
               "oldest first", api)
        expect([e["time"] for e in api] == sorted(e["time"] for e in api),
               "times ascend", api)
        want = [("g1", "unknown", "subscribed"),
                ("g1", "subscribed", "unsubscribed"),
                ("g2", "unknown", "subscribed"),
                ("g1", "unsubscribed", "subscribed")]
        user_ids = {e["user_id"] for e in api}
        expect(len(user_ids) == 1 and isinstance(user_ids.pop(), int),
               "one user", api)
        for e, (g, frm, to), rid in zip(api, want, reqids):
            expect((e["group_id"], e["from"], e["to"]) == (g, frm, to),
                   "transition", e)
            expect(e["external_id"] == "led" and e["phone"] == p and
                   e["email"] is None, "who", e)
            expect(e["source"] == "api" and e["key_name"] == "ledger-key",
                   "source and key", e)
            expect(e["request_id"] == rid, "request id matches the "
                   "response's X-Request-Id", (e, rid))
            expect(e["client_addr"] == "127.0.0.1", "client address", e)
            expect(ISO.match(e["time"]), "time is ISO 8601", e)
            expect(isinstance(e["evidence"], dict), "evidence object", e)
        expect(api[2]["evidence"] == {"use_double_opt_in_logic": True},
               "double opt-in evidence", api[2])
        # other lookups agree
        expect(cli_json(o, "consent", "show", "--external-id", "led")[
            "consent"] == api, "by external id")
        expect(cli_json(o, "consent", "show", "--phone", "(415) 555-0101")[
            "consent"] == api, "CLI reads phones as typed")
        expect(o.consent(phone="+1 415 555 0101") == api,
               "API reads phones as typed")
        expect(o.consent(phone="+14155550199") == [], "unknown phone")
        # paging through the API
        r = o.get("/admin/consent?phone=%2B14155550101&limit=2")
        first = r.json["consent"]
        expect(first == api[:2], "limit", r.json)
        r = o.get("/admin/consent?phone=%%2B14155550101&limit=2&after_id=%d"
                  % first[-1]["id"])
        expect(r.json["consent"] == api[2:], "after_id", r.json)
        # bad lookups
        expect_error(o.get("/admin/consent"), 400, "phone")
        expect_error(o.get("/admin/consent?phone=12"), 400, "12")
        p2 = o.cli("consent", "show", "--phone", "12", check=False)
        expect(p2.returncode == 1 and "12" in p2.stderr,
               "CLI bad phone exits 1", (p2.returncode, p2.stderr))
        # email groups have email history
        o.create_group(id="m", name="M", channel="email")
        expect_status(o.status_set({"subscription_group_id": "m",
                                    "subscription_state": "subscribed",
                                    "email": "Led@Example.com"}, key=key),
                      201)
        e = cli_json(o, "consent", "show", "--email", "Led@example.com")[
            "consent"]
        expect(len(e) == 1 and e[0]["group_id"] == "m" and
               e[0]["email"] == "Led@example.com", "email history", e)
