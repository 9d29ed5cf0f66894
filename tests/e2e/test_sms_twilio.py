"""Twilio both ways, against the fake Messages API (fake_twilio.py):
signed inbound webhooks, replies through the API, status callbacks, and
error 21610 (docs/sms.md)."""
import json
import urllib.parse

import fake_twilio as ft
from harness import expect, expect_status
from smsutil import (NUMBER, NUMBER2, inbound_ok, keyword_entries, message,
                     messages, phone, set_sms, sms_group, sms_log, sms_optd,
                     state, wait_for, wait_state)

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def twilio_in(o, fake, frm, body, to=NUMBER, sid=None, url=None,
              sign_url=None, token=None, signature=None, **more):
    """Post a signed inbound SMS to optd as Twilio does: to url (optd's
    /sms/inbound/twilio), signed over sign_url (the same by default)."""
    url = url or o.public_url + "/sms/inbound/twilio"
    params = ft.inbound_params(frm, to, body, fake.account_sid, sid, **more)
    if signature is None:
        signature = ft.twilio_signature(token or fake.auth_token,
                                        sign_url or url, params)
    st, h, text = ft.post_form(url, params, signature)
    return st, h, text, params


def expect_twiml(res, what):
    st, h, text, _ = res
    expect(st == 200 and h.get("content-type", "").startswith("text/xml")
           and text.strip() == TWIML, what, (st, h, text))


def test_signed_inbound_and_reply_through_twilio():
    with ft.FakeTwilio() as fake, sms_optd(*fake.optd_flags()) as o:
        sms_group(o)
        p = phone(50)
        res = twilio_in(o, fake, p, "START", sid="SM" + "1" * 32)
        expect_twiml(res, "signed START: empty TwiML")
        expect(state(o, "promo", p) == "Subscribed", "subscribed")
        es = keyword_entries(o, p)
        expect(len(es) == 1 and es[0]["evidence"].get("provider") ==
               "twilio" and es[0]["evidence"].get("provider_message_id") ==
               "SM" + "1" * 32, "evidence names Twilio's MessageSid", es)
        got = fake.wait_count(1, to=p)[0]
        m = wait_state(o, messages(o, to=p)[0]["id"], ("sent", "delivered"))
        expect(got["from"] == NUMBER and got["body"] == m["body"] and
               got["status_callback"].startswith(
                   o.public_url + "/sms/status/twilio") and got["key"],
               "the reply at Twilio", got)
        expect(m["provider"] == "twilio" and m["provider_id"] ==
               got["sid"], "the outbox keeps Twilio's sid", m)
        fake.check_clean()
        # a retried webhook (same MessageSid) queues nothing more
        expect_twiml(twilio_in(o, fake, p, "START", sid="SM" + "1" * 32),
                     "retry")
        expect(len(messages(o)) == 1, "no second reply", messages(o))
        # status callbacks move the message on
        st, _, _ = fake.send_status(got, "sent")
        expect(st == 200, "callback sent", st)
        st, _, _ = fake.send_status(got, "delivered")
        expect(st == 200, "callback delivered", st)
        wait_state(o, m["id"], "delivered")
        # a forged callback is refused and changes nothing
        st, _, _ = fake.send_status(got, "failed", signature="Zm9yZ2Vk")
        expect(st == 403, "forged callback", st)
        expect(message(o, m["id"])["state"] == "delivered", "unchanged")
        # STOP then HELP over Twilio: both answered
        expect_twiml(twilio_in(o, fake, p, "STOP"), "STOP")
        expect_twiml(twilio_in(o, fake, p, "HELP"), "HELP")
        fake.wait_count(3, to=p)
        expect(state(o, "promo", p) == "Unsubscribed", "unsubscribed")
        expect(fake.duplicates() == ([], []), "each reply once",
               fake.summary())


def test_undelivered_callback_fails_the_message():
    with ft.FakeTwilio() as fake, sms_optd(*fake.optd_flags()) as o:
        sms_group(o)
        p = phone(51)
        inbound_ok(o, p, "HELP")
        got = fake.wait_count(1, to=p)[0]
        mid = messages(o, to=p)[0]["id"]
        wait_state(o, mid, "sent")
        st, _, _ = fake.send_status(got, "undelivered", error_code=30003)
        expect(st == 200, "callback", st)
        m = wait_state(o, mid, "failed")
        expect("30003" in (m.get("error") or ""), "the error is kept", m)
        # a callback for a sid optd never sent is answered, changes nothing
        other = dict(got, sid="SM" + "f" * 32)
        st, _, _ = fake.send_status(other, "delivered")
        expect(st < 500, "unknown sid: no 5xx", st)


def test_signatures_are_checked():
    with ft.FakeTwilio() as fake, sms_optd(*fake.optd_flags()) as o:
        sms_group(o)
        p = phone(52)
        url = o.public_url + "/sms/inbound/twilio"
        cases = [
            ("no signature", dict(signature="")),
            ("another token", dict(token="0" * 32)),
            ("another URL", dict(sign_url=url.replace("127.0.0.1",
                                                      "localhost"))),
            ("another query", dict(url=url + "?x=1", sign_url=url)),
            ("not base64", dict(signature="!!!")),
            ("a signature of other params", dict(
                signature=ft.twilio_signature(fake.auth_token, url,
                                              {"Body": "START"}))),
        ]
        for what, kw in cases:
            res = twilio_in(o, fake, p, "START", **kw)
            expect(res[0] == 403, what + ": 403", res[:3])
        # a parameter added after signing is covered by the signature
        params = ft.inbound_params(p, NUMBER, "START", fake.account_sid)
        sig = ft.twilio_signature(fake.auth_token, url, params)
        params["Extra"] = "1"
        st, _, _ = ft.post_form(url, params, sig)
        expect(st == 403, "an unsigned extra parameter: 403", st)
        st, _, _ = ft.post_form(url, params, sig, headers={
            "Content-Type": "application/json"})
        expect(400 <= st < 500, "not a form: 4xx", st)
        expect(state(o, "promo", p) != "Subscribed" and
               messages(o) == [] and o.consent(phone=p) == [],
               "nothing recorded")
        # query parameters on the signed URL are part of it
        res = twilio_in(o, fake, p, "START",
                        url=o.public_url + "/sms/inbound/twilio?src=a")
        expect_twiml(res, "signed with a query string")
        expect(state(o, "promo", p) == "Subscribed", "accepted")


def test_malformed_forms_are_refused_by_name():
    """The form is read before anything else: a body that cannot be one
    gets a 400 naming the field, and nothing is recorded."""
    with ft.FakeTwilio() as fake, sms_optd(*fake.optd_flags()) as o:
        sms_group(o)
        p = phone(53)
        url = o.public_url + "/sms/inbound/twilio"
        base = urllib.parse.urlencode(ft.inbound_params(
            p, NUMBER, "START", fake.account_sid))
        cases = [
            ("a NUL byte", base + "&Body=%00", "Body", "NUL"),
            ("not UTF-8", base + "&Body=%C3%28", "Body", "UTF-8"),
            ("a name not UTF-8", base + "&%FF=1", "?", "UTF-8"),
            ("a value too long", base + "&Body=" + "a" * 16385, "Body",
             "too long"),
            ("too many fields", base + "&x=1" * 300, None,
             "more than 256 fields"),
        ]
        for what, body, field, why in cases:
            st, _, text = ft.post_form(url, body.encode(), "c2ln")
            msg = json.loads(text).get("message", "")
            expect(st == 400 and why in msg and
                   (field is None or '"%s"' % field in msg),
                   what + ": 400 naming it", (st, text[:200]))
        expect(messages(o) == [] and o.consent(phone=p) == [],
               "nothing recorded")
        # what browsers and Twilio never send but servers take as it is:
        # a '%' without two hex digits, empty pieces, a name with no '='
        params = ft.inbound_params(p, NUMBER, "START", fake.account_sid)
        params["Note"] = "100%"
        raw = (urllib.parse.urlencode(params).replace("Note=100%25",
                                                      "Note=100%")
               + "&&Flag")
        params["Flag"] = ""
        sig = ft.twilio_signature(fake.auth_token, url, params)
        st, h, text = ft.post_form(url, raw.encode(), sig)
        expect_twiml((st, h, text, None), "lenient form, signed as read")
        expect(state(o, "promo", p) == "Subscribed", "and applied")


def test_default_public_url_is_the_loopback_port():
    with ft.FakeTwilio() as fake, \
            sms_optd(*fake.optd_flags(), public_url=False) as o:
        sms_group(o)
        p = phone(53)
        expect_twiml(twilio_in(o, fake, p, "HELP"),
                     "signed over http://127.0.0.1:PORT")
        got = fake.wait_count(1, to=p)[0]
        expect(got["status_callback"].startswith(
            "http://127.0.0.1:%d/sms/status/twilio" % o.port),
            "callback URL", got)


def test_messaging_service_sid():
    msid = "MG" + "2" * 32
    with ft.FakeTwilio() as fake, \
            sms_optd(*fake.optd_flags(messaging_service_sid=msid)) as o:
        sms_group(o)
        p = phone(54)
        inbound_ok(o, p, "HELP")
        got = fake.wait_count(1, to=p)[0]
        expect(got["messaging_service_sid"] == msid, "sent through the "
               "messaging service", got)
        wait_state(o, messages(o, to=p)[0]["id"], "sent")


def test_twilio_settings_from_the_environment():
    """The provider and its credentials as environment variables, with no
    flag: webhooks are checked with OPTD_TWILIO_AUTH_TOKEN and replies go
    out under OPTD_TWILIO_ACCOUNT_SID through OPTD_TWILIO_API_BASE. A flag
    wins over its variable."""
    msid = "MG" + "3" * 32
    with ft.FakeTwilio() as fake:
        env = {"OPTD_SMS_PROVIDER": "twilio",
               "OPTD_TWILIO_API_BASE": fake.base_url,
               "OPTD_TWILIO_ACCOUNT_SID": fake.account_sid,
               "OPTD_TWILIO_AUTH_TOKEN": fake.auth_token,
               "OPTD_TWILIO_MESSAGING_SERVICE_SID": msid}
        with sms_optd(env=env) as o:
            sms_group(o)
            p = phone(66)
            expect_twiml(twilio_in(o, fake, p, "START"),
                         "signed with the variable's token")
            res = twilio_in(o, fake, phone(67), "START", token="0" * 32)
            expect(res[0] == 403, "another token", res[:3])
            got = fake.wait_count(1, to=p)[0]
            expect(got["account_sid"] == fake.account_sid and
                   got["messaging_service_sid"] == msid,
                   "sent under the variables' account and service", got)
            wait_state(o, messages(o, to=p)[0]["id"], "sent")
            fake.check_clean()
        env["OPTD_TWILIO_AUTH_TOKEN"] = "f" * 32
        with sms_optd("--twilio-auth-token", fake.auth_token,
                      env=env) as o:
            sms_group(o)
            expect_twiml(twilio_in(o, fake, phone(68), "START"),
                         "the flag's token, not the variable's")
            res = twilio_in(o, fake, phone(69), "START", token="f" * 32)
            expect(res[0] == 403, "the variable's token", res[:3])


def test_21610_records_the_phone_opted_out():
    with ft.FakeTwilio() as fake, sms_optd(*fake.optd_flags()) as o:
        sms_group(o)
        p = phone(55)
        expect_status(o.status_set({"subscription_group_id": "promo",
                                    "subscription_state": "subscribed",
                                    "phone": p}), 201)
        fake.fault_for(p, ft.opted_out())
        j = inbound_ok(o, p, "HELP")
        m = wait_state(o, j["replies"][0]["id"], "failed")
        expect("21610" in (m.get("error") or ""), "the error names 21610", m)
        n = len([a for a in fake.attempts if a["form"].get("To") == p])
        expect(n == 1, "21610 is not retried", n)
        wait_for(lambda: state(o, "promo", p) == "Unsubscribed", 5,
                 "the phone opted out")
        es = [e for e in o.consent(phone=p) if e["source"] == "provider"]
        expect(len(es) == 1 and es[0]["to"] == "unsubscribed" and
               es[0]["group_id"] == "promo", "ledger source provider", es)
        # another 4xx fails at once and changes no consent
        q = phone(56)
        inbound_ok(o, q, "START")
        fake.wait_count(1, to=q)
        fake.fault_for(q, ft.bad_request(21211))
        j = inbound_ok(o, q, "HELP")
        m = wait_state(o, j["replies"][0]["id"], "failed")
        expect("21211" in (m.get("error") or ""), "error kept", m)
        expect(state(o, "promo", q) == "Subscribed", "still subscribed")
        expect(len([a for a in fake.attempts if a["form"].get("To") == q and
                    a.get("outcome") == 400]) == 1, "not retried")


def test_sending_rule_is_applied_again_at_each_attempt():
    """A brand message queued while the phone was subscribed, whose first
    attempt failed, is rejected at the next attempt if the phone opted
    out meanwhile: it never reaches Twilio."""
    with ft.FakeTwilio() as fake, \
            sms_optd(*fake.optd_flags(), "--sms-retry-base-ms", "2000") as o:
        sms_group(o)
        p = phone(57)
        expect_status(o.status_set({"subscription_group_id": "promo",
                                    "subscription_state": "subscribed",
                                    "phone": p}), 201)
        fake.fault_for(p, ft.fail(503))
        r = expect_status(o.post("/admin/messages", {
            "group_id": "promo", "to": p, "body": "Deals today"}), 201)
        wait_for(lambda: any(a["form"].get("To") == p
                             for a in fake.attempts), 5, "a first attempt")
        j = inbound_ok(o, p, "STOP")
        fake.fault_for(p, None)
        m = wait_state(o, r.json["id"], ("rejected", "sent", "failed"))
        expect(m["state"] == "rejected" and m["error"] == "unsubscribed",
               "rejected at the retry", m)
        fake.wait_count(1, to=p)  # the opt-out confirmation
        wait_state(o, j["replies"][0]["id"], "sent")
        expect([x["body"] for x in fake.sent_to(p)] ==
               [j["replies"][0]["body"]], "only the confirmation at Twilio",
               fake.summary())


def test_group_with_its_own_twilio_account():
    """A group's settings may name its own Twilio account: its replies go
    out under that account, and webhooks to its number are signed with
    that account's token; the other groups keep the global provider."""
    with ft.FakeTwilio() as fake, \
            sms_optd("--twilio-api-base", fake.base_url) as o:
        sid, token = fake.add_account()
        sms_group(o)
        sms_group(o, gid="own", number=NUMBER2)
        set_sms(o, "own", {"provider": {"kind": "twilio",
                                        "twilio_account_sid": sid,
                                        "twilio_auth_token": token}})
        p = phone(58)
        expect_twiml(twilio_in(o, fake, p, "START", to=NUMBER2,
                               token=token), "signed with the group's token")
        got = fake.wait_count(1, to=p)[0]
        expect(got["account_sid"] == sid and got["from"] == NUMBER2,
               "sent under the group's account", got)
        m = wait_state(o, messages(o, to=p)[0]["id"], "sent")
        for to, tok in ((NUMBER2, fake.auth_token), (NUMBER, token)):
            res = twilio_in(o, fake, phone(59), "START", to=to, token=tok)
            expect(res[0] == 403, "%s with another account's token" % to,
                   res[:3])
        j = inbound_ok(o, p, "HELP")  # the other group: the log provider
        wait_state(o, j["replies"][0]["id"], "sent")
        expect(len(fake.messages) == 1 and
               [x["to"] for x in sms_log(o)] == [p], "log provider",
               (fake.summary(), sms_log(o)))
        fake.check_clean()
        # Twilio signs the status callback with the sending account's token
        st, _, body = fake.send_status(got, "delivered")
        expect(st == 200, "a callback signed with the group's token",
               (st, body))
        wait_state(o, m["id"], "delivered")
