"""The seed's Option 3: a sign-up backend calls /subscription/status/set."""
from harness import Optd, expect, expect_status


def test_seed_request_subscribes_user():
    with Optd() as o:
        o.create_group(id="xyz-abcd-1234567")
        key = o.create_key(["subscription.status.set",
                            "subscription.status.get"])
        r = o.post("/subscription/status/set", {
            "subscription_group_id": "xyz-abcd-1234567",
            "subscription_state": "subscribed",
            "external_id": "external_identifier",
            "phone": "+12223334444"}, key=key)
        expect_status(r, 201)
        expect(r.json == {"message": "success"}, "body", r.json)
        r = o.get("/subscription/status/get?subscription_group_id="
                  "xyz-abcd-1234567&external_id=external_identifier", key=key)
        expect_status(r, 200)
        expect(r.json["status"] == {"external_identifier": "Subscribed"},
               "status", r.json)
