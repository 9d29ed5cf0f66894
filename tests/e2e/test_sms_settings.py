"""A group's SMS settings (PUT/GET /admin/subscription_groups/{id}/sms,
`optd groups sms`): custom keywords and replies per language, custom
categories, limits, and double opt-in (docs/sms.md)."""
import json
import os
import sqlite3

import fake_twilio as ft
from harness import DB_KIND, expect, expect_status, pg_rows
from smsutil import (RATES, inbound_ok, keyword_entries, messages,
                     phone, set_sms, sms_group, sms_optd, state, wait_outbox,
                     wait_state)

FR_OUT = "Acme : vous êtes désabonné. Répondez START pour revenir."
FR_IN = "Acme : bienvenue ! Répondez ARRÊT pour arrêter."
FR_HELP = "Acme : aide sur acme.example. Répondez ARRÊT pour arrêter."
DEALS = "Acme deals this week: 20% off. Reply STOP to cancel."
SETTINGS = {
    "brand": "Acme",
    "help_contact": "acme.example/help",
    "languages": {
        "fr": {"keywords": {"opt_out": ["ARRÊT"], "opt_in": ["OUI"],
                            "help": ["AIDE"]},
               "replies": {"opt_out": FR_OUT, "opt_in": FR_IN,
                           "help": FR_HELP}}},
    "categories": {"deals": {"keywords": {"en": ["DEALS"]},
                             "reply": {"en": DEALS}}},
}
PATH = "/admin/subscription_groups/%s/sms"


def test_settings_put_get_and_french_keywords():
    with sms_optd() as o:
        sms_group(o, name="Acme Group")
        r = o.get(PATH % "promo")
        expect(r.status in (200, 404), "GET before any PUT", r)
        set_sms(o, "promo", SETTINGS)
        got = expect_status(o.get(PATH % "promo"), 200, "GET").json
        expect(got == SETTINGS or got.get("settings") == SETTINGS,
               "GET gives back the document", got)
        p = phone(30)
        j = inbound_ok(o, p, "OUI")
        expect(j["category"] == "opt_in" and j["replies"][0]["body"] ==
               FR_IN, "OUI subscribes, reply in French", j)
        expect(state(o, "promo", p) == "Subscribed", "subscribed")
        for body in ("ARRÊT", "arrêt", " Arrêt. "):
            inbound_ok(o, p, "OUI")
            j = inbound_ok(o, p, body)
            expect(j["category"] == "opt_out" and
                   j["replies"][0]["kind"] == "opt_out" and
                   j["replies"][0]["body"] == FR_OUT, "%r" % body, j)
            expect(state(o, "promo", p) == "Unsubscribed", "%r" % body)
        j = inbound_ok(o, p, "ARRET")  # accents matter
        expect(j["category"] == "other", "ARRET is not ARRÊT", j)
        j = inbound_ok(o, p, "AIDE")
        expect(j["replies"][0]["body"] == FR_HELP, "AIDE in French", j)
        j = inbound_ok(o, p, "START")
        b = j["replies"][0]["body"]
        expect("Acme" in b and RATES.lower() in b.lower(),
               "English keyword, English default reply", j)
        j = inbound_ok(o, p, "STOP")
        expect(j["replies"][0]["body"] != FR_OUT, "STOP answers in English",
               j)
        j = inbound_ok(o, p, "deals")
        expect(j["category"] == "deals" and j["replies"][0]["body"] == DEALS
               and j["replies"][0]["kind"] == "custom", "a custom category",
               j)
        expect(state(o, "promo", p) == "Unsubscribed",
               "a custom keyword changes no consent")
        ms = wait_outbox(o, len(messages(o)))
        fr = [m for m in ms if m["body"] == FR_OUT]
        expect(fr and all(m["encoding"] == "UCS-2" and m["segments"] ==
                          ft.segments(FR_OUT) and m["state"] == "sent"
                          for m in fr), "French replies are UCS-2", fr)
        deal = [m for m in ms if m["body"] == DEALS]
        expect(len(deal) == 1 and deal[0]["state"] == "sent",
               "the custom reply to an unsubscribed phone is sent", deal)
        es = keyword_entries(o, p)
        expect(es and es[1]["evidence"].get("body") == "ARRÊT",
               "the ledger keeps the text as sent", es)


def test_settings_refused_change_nothing():
    with sms_optd() as o:
        sms_group(o)
        set_sms(o, "promo", SETTINGS)
        fr = SETTINGS["languages"]["fr"]
        bad = [
            {"languages": {"fr": {"keywords": {"opt_out": ["TWO WORDS"]}}}},
            {"languages": {"fr": {"keywords": {"opt_out": [
                "K%d" % i for i in range(21)]}}}},
            {"languages": {"fr": {"keywords": {"opt_out": ["X" * 35]}}}},
            {"languages": {"fr": {"keywords": {"opt_out": [""]}}}},
            {"languages": {"fr": {"keywords": {"opt_out": ["DEALS"]}}},
             "categories": SETTINGS["categories"]},
            {"languages": {"fr": dict(fr, replies={"opt_out": "x" * 301})}},
            {"languages": {"fr": {"keywords": {"opt_out": ["START"]}}}},
            {"languages": {"FR!": {}}},
            {"colour": "red"},
            {"double_opt_in": {"window_days": 0}},
            {"provider": {"kind": "carrier-pigeon"}},
            {"brand": 5},
            [],
        ]
        for doc in bad:
            r = o.request("PUT", PATH % "promo", doc)
            expect(r.status == 400 and isinstance(r.json, dict) and
                   r.json.get("message"), "refused: %s" % json.dumps(doc)
                   [:80], r)
        r = o.request("PUT", PATH % "promo", raw=b"{not json")
        expect_status(r, 400, "bad JSON")
        r = o.request("PUT", PATH % "nope", SETTINGS)
        expect_status(r, 404, "no such group")
        r = o.request("PUT", PATH % "promo", SETTINGS,
                      key=o.create_key(["subscription.status.set"]))
        expect_status(r, 403, "admin key only")
        got = expect_status(o.get(PATH % "promo"), 200).json
        expect(got == SETTINGS or got.get("settings") == SETTINGS,
               "the last good document stands", got)
        j = inbound_ok(o, phone(31), "ARRÊT")
        expect(j["category"] == "opt_out", "still in force", j)


def test_groups_sms_command():
    with sms_optd() as o:
        sms_group(o)
        f = os.path.join(o.tmp, "sms.json")
        with open(f, "w", encoding="utf-8") as fh:
            json.dump(SETTINGS, fh, ensure_ascii=False)
        o.cli("groups", "sms", "promo", "--file", f)
        out = o.cli("groups", "sms", "promo").stdout
        expect(json.loads(out) in (SETTINGS, {"settings": SETTINGS}),
               "shown as JSON", out)
        j = inbound_ok(o, phone(32), "AIDE")
        expect(j["replies"][0]["body"] == FR_HELP, "a running optd uses it",
               j)
        with open(f, "w") as fh:
            fh.write('{"brand": 5}')
        r = o.cli("groups", "sms", "promo", "--file", f, check=False)
        expect(r.returncode != 0 and "brand" in r.stderr, "refused", r)


def test_double_opt_in():
    with sms_optd() as o:
        sms_group(o, gid="doi", double_opt_in=True)
        p = phone(40)
        j = inbound_ok(o, p, "START")
        expect(j["category"] == "opt_in" and
               [r["kind"] for r in j["replies"]] == ["doi_prompt"],
               "START prompts", j)
        expect("Y" in j["replies"][0]["body"], "the prompt says Y", j)
        expect(state(o, "doi", p) != "Subscribed", "not yet subscribed")
        j = inbound_ok(o, p, "y")
        expect(j["category"] == "doi_confirm" and
               [r["kind"] for r in j["replies"]] == ["doi_confirm"],
               "Y confirms", j)
        expect(state(o, "doi", p) == "Subscribed", "subscribed by Y")
        es = keyword_entries(o, p, "doi")
        expect(es and es[-1]["to"] == "subscribed" and
               es[-1]["evidence"].get("body") == "y", "ledger", es)
        # Y with no prompt pending subscribes nobody
        q = phone(41)
        j = inbound_ok(o, q, "Y")
        expect(state(o, "doi", q) != "Subscribed" and
               all(r["kind"] != "doi_confirm" for r in j["replies"]),
               "a stray Y", j)
        # STOP drops a pending prompt
        s = phone(42)
        inbound_ok(o, s, "START")
        j = inbound_ok(o, s, "STOP")
        expect([r["kind"] for r in j["replies"]] == ["opt_out"], "STOP", j)
        inbound_ok(o, s, "Y")
        expect(state(o, "doi", s) != "Subscribed", "the prompt was dropped")
        # status/set with use_double_opt_in_logic prompts as START does
        a = phone(43)
        r = o.status_set({"subscription_group_id": "doi",
                          "subscription_state": "subscribed", "phone": a,
                          "use_double_opt_in_logic": True})
        expect_status(r, 201, "status/set")
        expect(state(o, "doi", a) != "Subscribed", "left unsubscribed")
        ms = wait_outbox(o, 1, to=a)
        expect([m["kind"] for m in ms] == ["doi_prompt"] and
               ms[0]["state"] == "sent", "prompt queued and sent", ms)
        inbound_ok(o, a, "Y")
        expect(state(o, "doi", a) == "Subscribed", "confirmed")
        # without the flag, status/set subscribes at once and sends nothing
        b = phone(44)
        expect_status(o.status_set({"subscription_group_id": "doi",
                                    "subscription_state": "subscribed",
                                    "phone": b}), 201)
        expect(state(o, "doi", b) == "Subscribed" and
               messages(o, to=b) == [], "no prompt without the flag")


DAY_MS = 24 * 3600 * 1000


def age_prompt(o, gid, ph, days):
    """Move the phone's pending prompt in gid `days` into the past, as if
    it had been sent then (optd reads the prompt's time from the store at
    each message)."""
    sql = ("UPDATE doi_pending SET since_ms = since_ms - %d "
           "WHERE phone = '%s' AND group_id = '%s'" % (days * DAY_MS, ph, gid))
    if DB_KIND == "postgres":
        pg_rows(o.db, sql)
        return
    con = sqlite3.connect(o.db, timeout=10)
    try:
        n = con.execute(sql).rowcount
        con.commit()
    finally:
        con.close()
    expect(n == 1, "one pending prompt for %s in %s" % (ph, gid), n)


def test_double_opt_in_window():
    """A confirmation counts within the window (30 days by default, or the
    group's window_days); after it, the reply is a new message."""
    with sms_optd() as o:
        sms_group(o, gid="doi", double_opt_in=True)
        p, q = phone(46), phone(47)
        for ph in (p, q):
            j = inbound_ok(o, ph, "START")
            expect([r["kind"] for r in j["replies"]] == ["doi_prompt"],
                   "START prompts", j)
        age_prompt(o, "doi", p, 29)
        j = inbound_ok(o, p, "Y")
        expect(j["category"] == "doi_confirm" and
               state(o, "doi", p) == "Subscribed", "Y after 29 days", j)
        age_prompt(o, "doi", q, 31)
        before = keyword_entries(o, q, "doi")
        j = inbound_ok(o, q, "Y")
        expect(j["category"] == "other" and j["replies"] == [] and
               state(o, "doi", q) != "Subscribed" and
               keyword_entries(o, q, "doi") == before,
               "Y after 31 days is a new message", j)
        # A new START prompts again, and that prompt can be confirmed.
        j = inbound_ok(o, q, "START")
        expect([r["kind"] for r in j["replies"]] == ["doi_prompt"],
               "START prompts again", j)
        j = inbound_ok(o, q, "Y")
        expect(j["category"] == "doi_confirm" and
               state(o, "doi", q) == "Subscribed", "the new prompt", j)

        set_sms(o, "doi", {"double_opt_in": {"window_days": 7}})
        a, b = phone(48), phone(49)
        for ph in (a, b):
            inbound_ok(o, ph, "START")
        age_prompt(o, "doi", a, 6)
        age_prompt(o, "doi", b, 8)
        inbound_ok(o, a, "Y")
        j = inbound_ok(o, b, "Y")
        expect(state(o, "doi", a) == "Subscribed" and
               state(o, "doi", b) != "Subscribed" and
               j["category"] == "other",
               "a 7-day window: 6 days confirms, 8 does not", j)


def test_double_opt_in_custom_confirm_keyword_and_replies():
    with sms_optd() as o:
        sms_group(o, gid="doi", double_opt_in=True)
        set_sms(o, "doi", {"double_opt_in": {"confirm_keywords": ["JOIN"],
                                             "window_days": 7},
                           "languages": {"en": {"replies": {
                               "doi_prompt": "Acme: reply JOIN to confirm.",
                               "doi_confirm": "Acme: confirmed."}}}})
        p = phone(45)
        j = inbound_ok(o, p, "START")
        expect(j["replies"][0]["body"] == "Acme: reply JOIN to confirm.",
               "custom prompt", j)
        j = inbound_ok(o, p, "Y")
        expect(state(o, "doi", p) != "Subscribed", "Y is not JOIN", j)
        j = inbound_ok(o, p, "join")
        expect(j["replies"][0]["body"] == "Acme: confirmed." and
               state(o, "doi", p) == "Subscribed", "JOIN confirms", j)
        wait_state(o, j["replies"][0]["id"], "sent")
