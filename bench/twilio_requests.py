#!/usr/bin/env python3
"""twilio_requests.py: signed Twilio inbound-SMS webhooks for the benchmark.

    twilio_requests.py URL TOKEN TO COUNT THREADS OUTPREFIX

Writes THREADS files OUTPREFIX.0 ... OUTPREFIX.{THREADS-1}; request k goes
to file k % THREADS, one line per request: the X-Twilio-Signature, a tab,
the form-encoded body. Request k comes from phone k % 100,000
(+1 650 2xx-xxxx) and says START on even passes over the phones, STOP on
odd ones, so every request changes that phone's consent; its MessageSid is
unique. The signature is what Twilio sends: base64 of the HMAC-SHA1, keyed
with the auth token, of URL followed by every parameter sorted by name,
each name then value. Standard library only.
"""
import base64
import hashlib
import hmac
import sys
from urllib.parse import quote

PHONES = 100000
ACCOUNT = "AC" + "b3" * 16
SERVICE = "MG" + "5e" * 16


def params(to):
    """Every parameter; the ones that change per request are None."""
    return {
        "ToCountry": "US", "ToState": "CA", "SmsMessageSid": None,
        "NumMedia": "0", "ToCity": "", "FromZip": "", "SmsSid": None,
        "FromState": "CA", "SmsStatus": "received", "FromCity": "",
        "Body": None, "FromCountry": "US", "To": to,
        "MessagingServiceSid": SERVICE, "ToZip": "", "NumSegments": "1",
        "ReferralNumMedia": "0", "MessageSid": None, "AccountSid": ACCOUNT,
        "From": None, "ApiVersion": "2010-04-01",
    }


def template(p, pairs, sep):
    """A format string: each pair joined by sep; None values become fields
    named after the parameter (the three SIDs are one field, "Sid")."""
    out = []
    for n, v in pairs:
        if v is None:
            v = "{Sid}" if n.endswith("Sid") else "{%s}" % n
        else:
            v = v.replace("{", "{{").replace("}", "}}")
        out.append(n + sep + v)
    return out


def main():
    url, token, to, count, threads, prefix = sys.argv[1:7]
    count, threads = int(count), int(threads)
    p = params(to)
    signed = url + "".join(template(p, sorted(p.items()), ""))
    body = "&".join(template(p, [(n, v if v is None else quote(v, safe=""))
                                 for n, v in p.items()], "="))
    mac = hmac.new(token.encode(), digestmod=hashlib.sha1)
    outs = [open("%s.%d" % (prefix, t), "w") for t in range(threads)]
    for k in range(count):
        phone = "+1650%07d" % (2000000 + k % PHONES)
        word = "START" if (k // PHONES) % 2 == 0 else "STOP"
        sid = "SM%032x" % k
        m = mac.copy()
        m.update(signed.format(Sid=sid, Body=word, From=phone).encode())
        outs[k % threads].write("%s\t%s\n" % (
            base64.b64encode(m.digest()).decode(),
            body.format(Sid=sid, Body=word, From=quote(phone, safe=""))))
    for f in outs:
        f.close()


if __name__ == "__main__":
    main()
