"""API keys, scopes, the admin key, and rate limits."""
import json
import re
import shutil
import time

from harness import (ADMIN_KEY, Optd, expect, expect_error, expect_status,
                     scratch_dir)
from smsutil import wait_for

V1 = "/subscription/status/set"
V2 = "/v2/subscription/status/set"
SET = {"subscription_group_id": "g", "subscription_state": "subscribed",
       "external_id": "auth-user"}
V2SET = {"subscription_groups": [{"subscription_group_id": "g",
                                  "subscription_state": "subscribed",
                                  "external_ids": ["auth-user"]}]}
ALL_BUT_ADMIN = ["subscription.status.set", "subscription.status.get",
                 "subscription.groups.get", "users.track"]

# every route that needs a key, with a body where it takes one
KEYED = [
    ("POST", V1, SET),
    ("POST", V2, V2SET),
    ("GET", "/subscription/status/get?subscription_group_id=g"
            "&external_id=auth-user", None),
    ("GET", "/subscription/user/status?external_id=auth-user", None),
    ("GET", "/admin/api_keys", None),
    ("POST", "/admin/api_keys", {"name": "k", "scopes": ["admin"]}),
    ("DELETE", "/admin/api_keys/999", None),
    ("GET", "/admin/subscription_groups", None),
    ("POST", "/admin/subscription_groups", {"name": "x", "channel": "sms"}),
    ("GET", "/admin/subscription_groups/g", None),
    ("PATCH", "/admin/subscription_groups/g", {"name": "y"}),
    ("GET", "/admin/consent?external_id=auth-user", None),
]
ADMIN_ROUTES = [k for k in KEYED if k[1].startswith("/admin/")]


def expect_401(r, what):
    expect_error(r, 401)
    expect(r.header("WWW-Authenticate") is not None and
           "bearer" in r.header("WWW-Authenticate").lower(),
           what + ": WWW-Authenticate: Bearer", r.headers)
    return r


def test_missing_and_wrong_keys_401():
    with Optd() as o:
        o.create_group(id="g")
        for method, path, body in KEYED:
            what = "%s %s" % (method, path)
            r = o.request(method, path, body=body, key=None)
            expect_401(r, what + " without a key")
            expect("key" in r.json["message"].lower(), "message says key",
                   r.json)
            r = o.request(method, path, body=body,
                          key="optd_wrong_key_0123456789abcdef")
            expect_401(r, what + " with a wrong key")
            r = o.request(method, path, body=body, key=None,
                          headers={"Authorization": "Basic " + ADMIN_KEY})
            expect_401(r, what + " with a Basic header")
            r = o.request(method, path, body=body, key=None,
                          headers={"Authorization": "Bearer "})
            expect_401(r, what + " with an empty Bearer")
        # the key in the body or the URL (Braze's old way) is not read
        r = o.post(V1, dict(SET, api_key=ADMIN_KEY), key=None)
        expect_401(r, "api_key in the body")
        r = o.get("/subscription/user/status?external_id=a&api_key=" +
                  ADMIN_KEY, key=None)
        expect_401(r, "api_key in the URL")
        # "bearer" is case-insensitive, as HTTP auth schemes are
        r = o.request("GET", "/admin/api_keys", key=None,
                      headers={"Authorization": "bearer " + ADMIN_KEY})
        expect_status(r, 200, "lower-case bearer")
        # nothing was written by all those requests
        expect(o.consent(external_id="auth-user") == [], "no writes")


def test_revoked_keys_401():
    with Optd() as o:
        o.create_group(id="g")
        r = o.post("/admin/api_keys", {"name": "by-api",
                                       "scopes": ["subscription.status.set"]})
        expect_status(r, 201, "create")
        k1, id1 = r.json["key"], r.json["id"]
        k2 = o.create_key(["subscription.status.set"], name="by-cli")
        expect_status(o.post(V1, SET, key=k1), 201, "k1 works")
        expect_status(o.post(V1, SET, key=k2), 201, "k2 works")
        r = o.request("DELETE", "/admin/api_keys/%d" % id1)
        expect_status(r, 200, "revoke by id")
        # refused at once, on every HTTP thread (several requests in a row)
        def revoked(k, what):
            for _ in range(8):
                expect_401(o.post(V1, SET, key=k), what)
        revoked(k1, "revoked through the API")
        r = o.request("DELETE", "/admin/api_keys/%d" % id1)
        expect_error(r, 404)
        # the CLI revokes by name, against the running server's database;
        # another process's revocation reaches the server through
        # PostgreSQL's NOTIFY, within moments
        p = o.cli("keys", "revoke", "by-cli")
        expect(p.returncode == 0, "cli revoke", p.stderr)
        wait_for(lambda: o.post(V1, SET, key=k2).status == 401, 2.5,
                 "the CLI's revocation is seen", step=0.01)
        revoked(k2, "revoked through the CLI")
        expect_401(o.post(V2, V2SET, key=k2), "revoked, v2")
        # revoked keys are listed as revoked
        keys = {k["name"]: k for k in o.get("/admin/api_keys").json[
            "api_keys"]}
        expect(keys["by-api"]["revoked_at"] and keys["by-cli"]["revoked_at"],
               "revoked_at set", keys)
        # a new key may reuse a revoked key's name; the old key stays dead
        k3 = o.create_key(["subscription.status.set"], name="by-cli")
        expect_status(o.post(V1, SET, key=k3), 201, "new key, old name")
        for _ in range(4):
            expect_401(o.post(V1, SET, key=k2), "old key still revoked")
        # revoke by name through the API as well
        r = o.request("DELETE", "/admin/api_keys/by-cli")
        expect_status(r, 200, "revoke by name")
        revoked(k3, "revoked by name")


def test_scopes_403():
    with Optd() as o:
        o.create_group(id="g")
        only = {s: o.create_key([s], name="only-" + s) for s in
                ["subscription.status.set", "subscription.status.get",
                 "subscription.groups.get", "users.track"]}
        need = {V1: "subscription.status.set", V2: "subscription.status.set",
                "/subscription/status/get": "subscription.status.get",
                "/subscription/user/status": "subscription.groups.get"}
        for method, path, body in KEYED:
            base = path.split("?")[0]
            for scope, key in only.items():
                r = o.request(method, path, body=body, key=key)
                what = "%s %s with %s" % (method, path, scope)
                if need.get(base) == scope:
                    expect(r.status in (200, 201), what, r)
                else:
                    expect_error(r, 403, "only-" + scope)
                    expect("permission" in r.json["message"], what, r.json)
        # every admin route needs the admin scope, even with all the others
        everything = o.create_key(ALL_BUT_ADMIN, name="everything")
        for method, path, body in ADMIN_ROUTES:
            r = o.request(method, path, body=body, key=everything)
            expect_error(r, 403, "everything")
        # an admin key can do everything
        for method, path, body in KEYED[:4]:
            r = o.request(method, path, body=body)
            expect(r.status in (200, 201), "admin on " + path, r)


def test_keys_shown_once():
    with Optd() as o:
        r = o.post("/admin/api_keys", {"name": "once",
                                       "scopes": ["subscription.status.get",
                                                  "subscription.status.set"],
                                       "rate_limit": 10})
        expect_status(r, 201, "create")
        secret = r.json["key"]
        expect(isinstance(secret, str) and len(secret) >= 20, "a real key",
               r.json)
        expect(r.json["name"] == "once" and sorted(r.json["scopes"]) ==
               ["subscription.status.get", "subscription.status.set"] and
               r.json["rate_limit"] == 10, "key fields", r.json)
        r = o.get("/admin/api_keys")
        expect_status(r, 200, "list")
        expect(secret not in r.body, "the list does not show the key", r)
        for k in r.json["api_keys"]:
            expect("key" not in k, "no key field in the list", k)
            expect(not any(isinstance(v, str) and re.fullmatch(
                "[0-9a-f]{64}", v) for v in k.values()),
                "no key hash in the list", k)
        names = [k["name"] for k in r.json["api_keys"]]
        expect("once" in names and "admin" in names, "names listed", names)
        p = o.cli("keys", "list")
        expect(secret not in p.stdout and "once" in p.stdout,
               "keys list shows names, not keys", p.stdout)
        # the key the CLI creates is printed once too
        p = o.cli("keys", "create", "--name", "cli-once", "--scope",
                  "subscription.status.get")
        made = json.loads(p.stdout)
        expect("key" in made, "cli shows the new key", p.stdout)
        p = o.cli("keys", "list")
        expect(made["key"] not in p.stdout, "not in a later list", p.stdout)
        r = o.get("/admin/api_keys")
        expect(made["key"] not in r.body, "not in the API list either")


def test_optd_admin_key_env():
    tmp = scratch_dir()
    key1 = "optd_env_admin_key_111111111111"
    key2 = "optd_env_admin_key_222222222222"
    o = Optd(env={"OPTD_ADMIN_KEY": key1}, tmp=tmp).start()
    with o:
        expect_status(o.get("/admin/api_keys", key=key1), 200, "env key")
        expect_401(o.get("/admin/api_keys", key=ADMIN_KEY), "harness key")
        expect(o.out_text() == "", "nothing printed when the key is given",
               o.out_text())
    # a changed OPTD_ADMIN_KEY replaces the old one on the next start
    o = Optd(env={"OPTD_ADMIN_KEY": key2}, tmp=tmp).start()
    with o:
        expect_status(o.get("/admin/api_keys", key=key2), 200, "new key")
        expect_401(o.get("/admin/api_keys", key=key1), "old env key")
    # too short is refused at start
    o = Optd(env={"OPTD_ADMIN_KEY": "short"}, tmp=tmp)
    o.start(wait=False)
    rc = o.proc.wait(20)
    o.stop()
    expect(rc != 0, "a short OPTD_ADMIN_KEY stops optd", rc)
    expect("OPTD_ADMIN_KEY" in o.log_text(), "message names it",
           o.log_text()[-500:])
    shutil.rmtree(tmp, ignore_errors=True)


def test_generated_admin_key_printed_once():
    tmp = scratch_dir()
    o = Optd(env={"OPTD_ADMIN_KEY": ""}, tmp=tmp).start()
    with o:
        out = o.out_text()
        keys = re.findall(r"admin API key[^:]*:\s*(\S+)", out)
        expect(len(keys) == 1, "one generated key printed on stdout", out)
        generated = keys[0]
        expect_status(o.get("/admin/api_keys", key=generated), 200,
                      "the printed key is an admin key")
        expect_401(o.get("/admin/api_keys", key=ADMIN_KEY), "harness key")
        expect(generated not in o.log_text(), "the key is not in the log")
    o = Optd(env={"OPTD_ADMIN_KEY": ""}, tmp=tmp).start()
    with o:
        out = o.out_text()
        expect(len(re.findall(r"admin API key", out)) == 1,
               "the second start prints no key", out)
        expect_status(o.get("/admin/api_keys", key=generated), 200,
                      "the first key still works")
    shutil.rmtree(tmp, ignore_errors=True)


def rl(r):
    return (int(r.header("X-RateLimit-Limit")),
            int(r.header("X-RateLimit-Remaining")),
            int(r.header("X-RateLimit-Reset")))


def test_rate_limit_headers():
    with Optd() as o:
        o.create_group(id="g")
        key = o.create_key(["subscription.status.set",
                            "subscription.status.get",
                            "subscription.groups.get"])
        for _ in range(3):
            r1 = o.post(V1, SET, key=key)
            r2 = o.post(V2, V2SET, key=key)
            expect_status(r1, 201), expect_status(r2, 201)
            l1, rem1, reset1 = rl(r1)
            l2, rem2, reset2 = rl(r2)
            if reset1 == reset2:
                break  # not across a minute boundary
        expect(l1 == l2 == 5000, "status/set limit is 5000", (l1, l2))
        expect(rem2 == rem1 - 1, "v1 and v2 share one budget", (rem1, rem2))
        now = time.time()
        expect(now - 5 <= reset1 <= now + 65,
               "reset is an epoch second within the minute", (reset1, now))
        r = o.get("/subscription/status/get?subscription_group_id=g"
                  "&external_id=auth-user", key=key)
        expect(rl(r)[0] == 250000, "status/get has the default limit", r)
        r = o.get("/subscription/user/status?external_id=auth-user", key=key)
        expect(rl(r)[0] == 250000, "user/status has the default limit", r)
        # errors carry the headers too
        r = o.post(V1, {"subscription_group_id": "g"}, key=key)
        expect_status(r, 400)
        expect(r.header("X-RateLimit-Remaining") is not None,
               "a 400 has the headers", r.headers)
        r = o.get("/admin/api_keys")
        expect(r.header("X-RateLimit-Limit") is not None,
               "admin answers have the headers", r.headers)


def test_rate_limit_429_shared_by_v1_and_v2():
    with Optd() as o:
        o.create_group(id="g")
        # A per-key limit of 3 a minute. Windows align to minutes, so an
        # attempt whose requests straddle a boundary is retried.
        for attempt in range(3):
            key = o.create_key(["subscription.status.set",
                                "subscription.status.get"],
                               name="limited-%d" % attempt, rate_limit=3)
            rs = [o.post(V1, SET, key=key), o.post(V2, V2SET, key=key),
                  o.post(V1, SET, key=key), o.post(V2, V2SET, key=key),
                  o.post(V1, SET, key=key)]
            resets = {r.header("X-RateLimit-Reset") for r in rs}
            if len(resets) == 1:
                break
        expect(len(resets) == 1, "five requests within one window", resets)
        expect([r.status for r in rs] == [201, 201, 201, 429, 429],
               "the 4th request in the window is refused", rs)
        expect([rl(r)[1] for r in rs] == [2, 1, 0, 0, 0], "remaining",
               [r.headers for r in rs])
        expect(all(rl(r)[0] == 3 for r in rs), "limit is the key's 3", rs)
        expect_error(rs[3], 429, "rate limit")
        # other buckets have their own budget
        r = o.get("/subscription/status/get?subscription_group_id=g"
                  "&external_id=auth-user", key=key)
        expect(r.status == 200 or rl(r)[2] != int(resets.pop()),
               "status/get is not in the status/set budget", r)
        # other keys are not affected
        other = o.create_key(["subscription.status.set"], name="other")
        r = o.post(V1, SET, key=other)
        expect_status(r, 201, "another key")
        expect(rl(r)[0] == 5000, "default limit for the other key", r)
