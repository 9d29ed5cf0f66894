"""POST /subscription/status/set (v1) and /v2/subscription/status/set:
who gets updated, how phones are read, and what the ledger records."""
import threading

from harness import Optd, expect, expect_error, expect_status

SET_GET = ["subscription.status.set", "subscription.status.get",
           "subscription.groups.get"]


def phone(i, area=650):
    """A possible US number in E.164, distinct for each i < 10000."""
    return "+1%d555%04d" % (area, i)


def setup(o, group="grp-sms", channel="sms", **fields):
    o.create_group(id=group, name=group, channel=channel, **fields)
    return o.create_key(SET_GET)


def expect_201(r, what="status/set"):
    expect_status(r, 201, what)
    expect(r.json == {"message": "success"}, what + " body", r.json)
    return r


def state(o, key, group, **ids):
    r = expect_status(o.status_get(group, key=key, **ids), 200,
                      "status/get")
    return r.json["status"]


def users(o, key, **ids):
    r = expect_status(o.user_status(key=key, **ids), 200, "user/status")
    return r.json


def group_status(user, group):
    for g in user["subscription_groups"]:
        if g["id"] == group:
            return g["status"]
    return None


def test_seed_request_v1_and_v2():
    with Optd() as o:
        o.create_group(id="xyz-abcd-1234567")
        key = o.create_key(SET_GET)
        expect_201(o.status_set({
            "subscription_group_id": "xyz-abcd-1234567",
            "subscription_state": "subscribed",
            "external_id": "external_identifier",
            "phone": "+12223334444"}, key=key))
        expect(state(o, key, "xyz-abcd-1234567",
                     external_id="external_identifier") ==
               {"external_identifier": "Subscribed"}, "v1 seed state")
        expect(state(o, key, "xyz-abcd-1234567", phone="+12223334444") ==
               {"+12223334444": "Subscribed"}, "seed phone subscribed")
        u = users(o, key, external_id="external_identifier")
        expect(u["users"][0]["phone"] == "+12223334444",
               "the seed's phone is the profile's", u)
        expect_201(o.status_set({"subscription_groups": [{
            "subscription_group_id": "xyz-abcd-1234567",
            "subscription_state": "unsubscribed",
            "external_ids": ["external_identifier"]}]}, key=key, v2=True),
            "v2")
        expect(state(o, key, "xyz-abcd-1234567",
                     external_id="external_identifier") ==
               {"external_identifier": "Unsubscribed"}, "v2 seed state")


def test_braze_doc_example_scalar_external_id_with_phone_array():
    """Braze's newest v1 example (reference section 1) sends one
    external_id as a string beside an array of two phones; the reference
    says to accept it."""
    with Optd() as o:
        o.create_group(id="xyz-abcd-1234567")
        key = o.create_key(SET_GET)
        expect_201(o.status_set({
            "subscription_group_id": "xyz-abcd-1234567",
            "subscription_state": "subscribed",
            "external_id": "external_identifier",
            "phone": ["+12223334444", "+11112223333"]}, key=key))
        expect(state(o, key, "xyz-abcd-1234567",
                     external_id="external_identifier") ==
               {"external_identifier": "Subscribed"}, "external_id state")
        expect(state(o, key, "xyz-abcd-1234567",
                     phone=["+12223334444", "+11112223333"]) ==
               {"+12223334444": "Subscribed", "+11112223333": "Subscribed"},
               "both phones subscribed")


def test_external_id_string_and_array():
    with Optd() as o:
        key = setup(o)
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": "solo"}, key=key))
        ids = ["arr-%d" % i for i in range(50)]
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": ids}, key=key))
        got = state(o, key, "grp-sms", external_id=["solo"] + ids[:49])
        expect(len(got) == 50 and set(got.values()) == {"Subscribed"},
               "every external_id subscribed", got)
        got = state(o, key, "grp-sms", external_id=ids[49])
        expect(got == {ids[49]: "Subscribed"}, "the 50th", got)
        # profiles made by external_id alone have no contact
        u = users(o, key, external_id="solo")
        expect(u["total_count"] == 1, "one user", u)
        expect(u["users"][0]["external_id"] == "solo" and
               u["users"][0]["phone"] is None, "profile fields", u)


def test_phone_string_and_array_creates_profiles():
    with Optd() as o:
        key = setup(o)
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "phone": phone(1)}, key=key))
        phones = [phone(100 + i) for i in range(50)]
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "phone": phones}, key=key))
        # a profile was created for each phone nobody had
        for p in (phone(1), phones[0], phones[49]):
            u = users(o, key, phone=p)
            expect(u["total_count"] == 1, "one profile for %s" % p, u)
            user = u["users"][0]
            expect(user["phone"] == p and user["external_id"] is None,
                   "anonymous profile with the phone", user)
            expect(user["subscription_groups"] == [{
                "id": "grp-sms", "name": "grp-sms", "channel": "sms",
                "status": "Subscribed"}], "groups of %s" % p, user)
        got = state(o, key, "grp-sms", phone=phones)
        expect(len(got) == 50 and set(got.values()) == {"Subscribed"},
               "all 50 phones subscribed", got)


def test_email_for_email_groups():
    with Optd() as o:
        key = setup(o, group="grp-mail", channel="email")
        expect_201(o.status_set({"subscription_group_id": "grp-mail",
                                 "subscription_state": "subscribed",
                                 "email": "Ann@Example.COM"}, key=key))
        expect_201(o.status_set({"subscription_group_id": "grp-mail",
                                 "subscription_state": "subscribed",
                                 "email": ["b@example.com",
                                           "c@example.org"]}, key=key))
        # the domain is case-insensitive; the local part is kept as sent
        got = state(o, key, "grp-mail",
                    email=["Ann@example.com", "b@example.com",
                           "c@example.org", "nobody@example.com"])
        expect(got == {"Ann@example.com": "Subscribed",
                       "b@example.com": "Subscribed",
                       "c@example.org": "Subscribed",
                       "nobody@example.com": "Unknown"}, "email states", got)
        expect(state(o, key, "grp-mail", email="Ann@EXAMPLE.com") ==
               {"Ann@EXAMPLE.com": "Subscribed"}, "domain case ignored")
        u = users(o, key, email="b@example.com")
        expect(u["total_count"] == 1 and
               u["users"][0]["email"] == "b@example.com" and
               group_status(u["users"][0], "grp-mail") == "Subscribed",
               "email profile", u)
        # v2 with emails
        expect_201(o.status_set({"subscription_groups": [{
            "subscription_group_id": "grp-mail",
            "subscription_state": "unsubscribed",
            "emails": ["b@example.com"]}]}, key=key, v2=True), "v2 emails")
        expect(state(o, key, "grp-mail", email="b@example.com") ==
               {"b@example.com": "Unsubscribed"}, "v2 email state")


def test_every_profile_sharing_a_phone_is_updated():
    # Six profiles: more than optd reads for a phone before it looks
    # again for up to 100, so both reads are taken.
    names = ["alice", "bob", "carol", "dave", "erin", "frank"]
    with Optd() as o:
        key = setup(o)
        shared = phone(7)
        # six profiles with the same phone, through pairing
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": names,
                                 "phone": [shared] * len(names)},
                                key=key))
        u = users(o, key, phone=shared)
        expect(u["total_count"] == 6, "six profiles share the phone", u)
        expect(sorted(x["external_id"] for x in u["users"]) == names,
               "who shares it", u)
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "unsubscribed",
                                 "phone": shared}, key=key))
        got = state(o, key, "grp-sms", external_id=names)
        expect(got == {n: "Unsubscribed" for n in names},
               "all unsubscribed", got)
        # no anonymous profile was added for a phone that had owners
        expect(users(o, key, phone=shared)["total_count"] == 6,
               "still six profiles")
        entries = o.consent(phone=shared)
        expect(len(entries) == 12, "6 subscribes + 6 unsubscribes", entries)
        expect(sorted(e["external_id"] for e in entries[6:]) == names,
               "one entry per profile", entries)


def test_external_id_paired_with_phone():
    with Optd() as o:
        key = setup(o)
        ext = ["pair-%d" % i for i in range(5)]
        phones = [phone(200 + i) for i in range(5)]
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": ext, "phone": phones},
                                key=key))
        for i in range(5):
            u = users(o, key, external_id=ext[i])
            expect(u["total_count"] == 1, "one user", u)
            expect(u["users"][0]["phone"] == phones[i],
                   "external_id[%d] got phone[%d]" % (i, i), u)
            u = users(o, key, phone=phones[i])
            expect([x["external_id"] for x in u["users"]] == [ext[i]],
                   "phone[%d] belongs to external_id[%d] only" % (i, i), u)
        # a later pairing moves the profile to its new phone
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": [ext[0]],
                                 "phone": [phone(299)]}, key=key))
        u = users(o, key, external_id=ext[0])
        expect(u["users"][0]["phone"] == phone(299), "phone updated", u)


def test_unequal_lists_name_profiles_independently():
    """external_id and phone of different lengths do not pair: every id
    and every phone is subscribed."""
    with Optd() as o:
        key = setup(o)
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": ["ua", "ub"],
                                 "phone": [phone(61), phone(62), phone(63)]},
                                key=key))
        expect(state(o, key, "grp-sms", external_id=["ua", "ub"]) ==
               {"ua": "Subscribed", "ub": "Subscribed"}, "ids subscribed")
        got = state(o, key, "grp-sms", phone=[phone(61), phone(62),
                                             phone(63)])
        expect(set(got.values()) == {"Subscribed"} and len(got) == 3,
               "phones subscribed", got)


def test_same_phone_twice_in_one_request_is_one_profile():
    with Optd() as o:
        key = setup(o)
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "phone": ["+16502530000", "(650) 253-0000",
                                           "+1 650 253 0000"]}, key=key))
        expect(users(o, key, phone="+16502530000")["total_count"] == 1,
               "one anonymous profile for one phone written three ways")
        expect(len(o.consent(phone="+16502530000")) == 1, "one entry")
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": ["dup", "dup"]}, key=key))
        expect(len(o.consent(external_id="dup")) == 1, "one entry for dup")


def test_concurrent_requests_for_one_new_phone_make_one_profile():
    with Optd() as o:
        key = setup(o)
        statuses = []

        def one():
            r = o.status_set({"subscription_group_id": "grp-sms",
                              "subscription_state": "subscribed",
                              "phone": phone(71)}, key=key)
            statuses.append(r.status)
        threads = [threading.Thread(target=one) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        expect(statuses == [201] * 16, "all answered 201", statuses)
        expect(users(o, key, phone=phone(71))["total_count"] == 1,
               "one profile")
        expect(len(o.consent(phone=phone(71))) == 1, "one ledger entry")


def test_unsubscribe_and_resubscribe():
    with Optd() as o:
        key = setup(o)
        body = {"subscription_group_id": "grp-sms", "external_id": "u1",
                "phone": phone(11)}
        expect_201(o.status_set(dict(body, subscription_state="unsubscribed"),
                                key=key))
        expect(state(o, key, "grp-sms", external_id="u1") ==
               {"u1": "Unsubscribed"}, "unsubscribed from unknown")
        expect_201(o.status_set(dict(body, subscription_state="subscribed"),
                                key=key))
        expect_201(o.status_set(dict(body, subscription_state="unsubscribed"),
                                key=key))
        expect(state(o, key, "grp-sms", phone=phone(11)) ==
               {phone(11): "Unsubscribed"}, "unsubscribed again")
        entries = o.consent(phone=phone(11))
        expect([(e["from"], e["to"]) for e in entries] ==
               [("unknown", "unsubscribed"), ("unsubscribed", "subscribed"),
                ("subscribed", "unsubscribed")], "ledger transitions",
               entries)


def test_repeated_request_appends_nothing():
    with Optd() as o:
        key = setup(o)
        body = {"subscription_group_id": "grp-sms",
                "subscription_state": "subscribed",
                "external_id": ["r1", "r2"], "phone": [phone(21), phone(22)]}
        expect_201(o.status_set(body, key=key))
        first = o.consent(phone=phone(21)) + o.consent(phone=phone(22))
        expect(len(first) == 2, "one entry per profile", first)
        for _ in range(3):
            expect_201(o.status_set(body, key=key), "repeat")
        expect_201(o.status_set({"subscription_groups": [{
            "subscription_group_id": "grp-sms",
            "subscription_state": "subscribed",
            "phones": [phone(21)]}]}, key=key, v2=True), "v2 repeat")
        again = o.consent(phone=phone(21)) + o.consent(phone=phone(22))
        expect(again == first, "the ledger did not grow", again)
        expect(o.consent(external_id="r1") == first[:1], "by external_id")


def test_v2_several_groups_each_with_own_state():
    with Optd() as o:
        key = setup(o, group="g-a")
        o.create_group(id="g-b", name="B")
        o.create_group(id="g-c", name="C")
        o.create_group(id="g-mail", name="Mail", channel="email")
        expect_201(o.status_set({"subscription_groups": [
            {"subscription_group_id": "g-a",
             "subscription_state": "subscribed",
             "external_ids": ["v2user"], "phones": [phone(31)]},
            {"subscription_group_id": "g-b",
             "subscription_state": "unsubscribed",
             "phones": [phone(31)]},
            {"subscription_group_id": "g-c",
             "subscription_state": "subscribed",
             "external_ids": ["v2user", "other"]},
            {"subscription_group_id": "g-mail",
             "subscription_state": "subscribed",
             "external_ids": ["v2user"]},
        ]}, key=key, v2=True), "v2")
        u = users(o, key, external_id="v2user")
        expect(u["total_count"] == 1, "one user", u)
        got = {g["id"]: g["status"]
               for g in u["users"][0]["subscription_groups"]}
        expect(got == {"g-a": "Subscribed", "g-b": "Unsubscribed",
                       "g-c": "Subscribed", "g-mail": "Subscribed"},
               "each group its own state", u)
        chans = {g["id"]: g["channel"]
                 for g in u["users"][0]["subscription_groups"]}
        expect(chans["g-mail"] == "email" and chans["g-a"] == "sms",
               "channels", u)
        expect(state(o, key, "g-c", external_id="other") ==
               {"other": "Subscribed"}, "second id in g-c")
        # 25 groups in one call is the maximum and is accepted
        for i in range(22):
            o.create_group(id="many-%d" % i, name="M%d" % i)
        groups = ["g-a", "g-b", "g-c"] + ["many-%d" % i for i in range(22)]
        expect_201(o.status_set({"subscription_groups": [
            {"subscription_group_id": g,
             "subscription_state": "subscribed" if i % 2 else "unsubscribed",
             "external_ids": ["v2many"]} for i, g in enumerate(groups)]},
            key=key, v2=True), "25 groups")
        u = users(o, key, external_id="v2many")
        got = {g["id"]: g["status"]
               for g in u["users"][0]["subscription_groups"]}
        expect(len(got) == 25, "25 groups", got)
        for i, g in enumerate(groups):
            want = "Subscribed" if i % 2 else "Unsubscribed"
            expect(got[g] == want, "state of %s" % g, got)


def test_use_double_opt_in_logic_is_recorded():
    with Optd() as o:
        key = setup(o)
        o.create_group(id="grp-b", name="B")
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "phone": phone(41),
                                 "use_double_opt_in_logic": True}, key=key))
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "phone": phone(42),
                                 "use_double_opt_in_logic": False}, key=key))
        e41 = o.consent(phone=phone(41))
        expect(len(e41) == 1 and
               e41[0]["evidence"].get("use_double_opt_in_logic") is True,
               "v1 evidence records double opt-in", e41)
        e42 = o.consent(phone=phone(42))
        expect(len(e42) == 1 and
               "use_double_opt_in_logic" not in e42[0]["evidence"],
               "false is not recorded as double opt-in", e42)
        # v2: top level applies to every group; a group may say otherwise
        expect_201(o.status_set({"use_double_opt_in_logic": True,
                                 "subscription_groups": [
                                     {"subscription_group_id": "grp-sms",
                                      "subscription_state": "subscribed",
                                      "phones": [phone(43)]},
                                     {"subscription_group_id": "grp-b",
                                      "subscription_state": "subscribed",
                                      "phones": [phone(43)],
                                      "use_double_opt_in_logic": False}]},
                                key=key, v2=True), "v2")
        e43 = {e["group_id"]: e for e in o.consent(phone=phone(43))}
        expect(e43["grp-sms"]["evidence"].get("use_double_opt_in_logic")
               is True, "v2 top-level flag recorded", e43)
        expect("use_double_opt_in_logic" not in e43["grp-b"]["evidence"],
               "v2 per-group false wins", e43)
        expect_201(o.status_set({"subscription_groups": [
            {"subscription_group_id": "grp-sms",
             "subscription_state": "subscribed", "phones": [phone(44)],
             "use_double_opt_in_logic": True}]}, key=key, v2=True),
            "v2 per group")
        e44 = o.consent(phone=phone(44))
        expect(e44[0]["evidence"].get("use_double_opt_in_logic") is True,
               "v2 per-group flag recorded", e44)


PEOPLE_TYPE = [
    ("+1 (222) 333-4444", "+12223334444"),
    ("(650) 253-0000", "+16502530000"),
    ("650.253.0001", "+16502530001"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("0033 6 12 34 56 79", "+33612345679"),
    ("+44 20 7946 0958", "+442079460958"),
    ("+1 650-253-0002 ext. 123", "+16502530002"),
]


def test_phones_as_people_type_them():
    with Optd() as o:
        key = setup(o)
        for i, (typed, e164) in enumerate(PEOPLE_TYPE):
            ext = "typed-%d" % i
            expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                     "subscription_state": "subscribed",
                                     "external_id": [ext],
                                     "phone": [typed]}, key=key), typed)
            u = users(o, key, external_id=ext)
            expect(u["users"][0]["phone"] == e164,
                   "%r stored as %s" % (typed, e164), u)
            got = state(o, key, "grp-sms", phone=e164)
            expect(got == {e164: "Subscribed"}, "found by E.164", got)
            entries = o.consent(phone=e164)
            expect(len(entries) == 1 and entries[0]["phone"] == e164,
                   "ledger keyed by E.164", entries)
        # the same French number typed two ways is one phone
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "unsubscribed",
                                 "phone": "0033 6 12 34 56 78"}, key=key))
        got = state(o, key, "grp-sms", external_id="typed-3")
        expect(got == {"typed-3": "Unsubscribed"},
               "0033... reached the +33 ... profile", got)
        # v2 phones are read the same way
        expect_201(o.status_set({"subscription_groups": [{
            "subscription_group_id": "grp-sms",
            "subscription_state": "subscribed",
            "phones": ["+1 (415) 555-0100"]}]}, key=key, v2=True), "v2")
        expect(users(o, key, phone="+14155550100")["total_count"] == 1,
               "v2 phone stored as E.164")


def test_impossible_number_refused_quoting_it():
    with Optd() as o:
        key = setup(o)
        for bad in ("+1 222 333 444", "12", "+999 1234", "not a phone"):
            r = o.status_set({"subscription_group_id": "grp-sms",
                              "subscription_state": "subscribed",
                              "phone": [phone(51), bad]}, key=key)
            expect_error(r, 400, "phone", bad)
            r = o.status_set({"subscription_groups": [{
                "subscription_group_id": "grp-sms",
                "subscription_state": "subscribed",
                "phones": [bad]}]}, key=key, v2=True)
            expect_error(r, 400, "phones", bad)
        expect(users(o, key, phone=phone(51))["total_count"] == 0,
               "nothing was written")


def test_default_region_fr():
    with Optd("--default-region", "FR") as o:
        key = setup(o)
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": ["fr1"],
                                 "phone": ["06 12 34 56 78"]}, key=key))
        u = users(o, key, external_id="fr1")
        expect(u["users"][0]["phone"] == "+33612345678",
               "national French number stored as +33", u)
        # queries read national numbers with the same region
        got = state(o, key, "grp-sms", phone="06 12 34 56 78")
        expect(list(got.values()) == ["Subscribed"], "status/get", got)
        expect(len(o.consent(phone="06 12 34 56 78")) == 1,
               "ledger lookup by national number")
        # a number with its country code still means that country
        expect_201(o.status_set({"subscription_group_id": "grp-sms",
                                 "subscription_state": "subscribed",
                                 "external_id": ["us1"],
                                 "phone": ["+1 (650) 253-0000"]}, key=key))
        u = users(o, key, external_id="us1")
        expect(u["users"][0]["phone"] == "+16502530000", "US stays US", u)
