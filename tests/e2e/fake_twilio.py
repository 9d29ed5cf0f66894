"""fake_twilio: a local stand-in for Twilio's Messages API, and the
signatures Twilio puts on the webhooks it sends.

FakeTwilio listens on 127.0.0.1 (a free port) in a thread of the test
process. optd is pointed at it with --twilio-api-base fake.base_url.

    POST /2010-04-01/Accounts/{sid}/Messages.json

checks Basic auth (sid:token of the fake's account, or of one added with
add_account() for a group that has its own), the form fields (To; From or
MessagingServiceSid; Body; StatusCallback) and answers 201 with JSON shaped
like Twilio's (sid "SM" + 32 hex, status "queued", num_segments, ...).
Every accepted message is recorded once: a request whose Idempotency-Key
was seen before gets the first answer again and records nothing. Anything
that breaks optd's contract (no Idempotency-Key, no StatusCallback, a
wrong field) is kept in `problems`; check_clean() fails on any.

Faults come from a script, one per request, in order (script()), or for
every request to one phone (fault_for()), or from a function (faults_by):

    OK                    accept (201)
    fail(500)             answer 500 (a Twilio error JSON)
    throttle(1)           answer 429 with Retry-After: 1
    opted_out()           400 with code 21610
    bad_request(21211)    400 with another code
    slow(s, then)         wait s seconds, then do `then` (OK by default):
                          the client may have given up by then, but an
                          accepted message is recorded all the same
    DROP                  close the connection without answering; nothing
                          is recorded
    ACCEPT_DROP           record the message, then close without answering
                          (Twilio took it, optd never heard)

send_status() POSTs a signed status callback to the message's
StatusCallback; twilio_signature() and inbound_params() build the signed
inbound webhooks tests post to optd's /sms/inbound/twilio.
"""
import base64
import collections
import email.utils
import hashlib
import hmac
import http.client
import http.server
import json
import secrets
import socket
import threading
import time
import urllib.parse

API = "2010-04-01"
MAX_BODY = 1 << 20  # bytes of a request body the fake reads

# GSM 03.38: the basic set (one septet each) and the extension table
# (two septets each, through the escape). Anything else needs UCS-2.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = set("\f^{}\\[~]|€")


def encoding_of(body):
    """("GSM-7", septets) or ("UCS-2", UTF-16 code units) for body."""
    if all(c in GSM7_BASIC or c in GSM7_EXT for c in body):
        return "GSM-7", sum(2 if c in GSM7_EXT else 1 for c in body)
    return "UCS-2", len(body.encode("utf-16-le")) // 2


def segments(body):
    """How many SMS segments body takes, as Twilio counts them: 160
    septets (70 UCS-2 units) in one, else 153 (67) per part."""
    enc, units = encoding_of(body)
    one, part = (160, 153) if enc == "GSM-7" else (70, 67)
    if units <= one:
        return 1
    return -(-units // part)


def twilio_signature(token, url, params):
    """X-Twilio-Signature for a request to url with POST params (a dict or
    a list of pairs): base64(HMAC-SHA1(token, url + name1 + value1 + ...))
    with the names sorted in byte order."""
    pairs = list(params.items()) if isinstance(params, dict) else \
        list(params)
    pairs.sort(key=lambda p: p[0].encode())
    text = url + "".join(n + v for n, v in pairs)
    mac = hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def new_sid(prefix):
    return prefix + secrets.token_hex(16)


def inbound_params(frm, to, body, account_sid, message_sid=None, **more):
    """The form fields Twilio posts for an incoming SMS."""
    sid = message_sid or new_sid("SM")
    p = {"ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid,
         "NumMedia": "0", "ToCity": "", "FromZip": "", "SmsSid": sid,
         "FromState": "NY", "SmsStatus": "received", "FromCity": "",
         "Body": body, "FromCountry": "US", "To": to, "ToZip": "",
         "NumSegments": str(segments(body)), "MessageSid": sid,
         "AccountSid": account_sid, "From": frm, "ApiVersion": API}
    p.update(more)
    return p


def post_form(url, params, signature=None, timeout=30, headers=None):
    """POST params form-encoded to url, with X-Twilio-Signature when
    signature is given: (status, headers, body text). Bytes are sent as
    they are, for bodies no client library would encode."""
    u = urllib.parse.urlsplit(url)
    data = params if isinstance(params, bytes) else urllib.parse.urlencode(
        list(params.items() if isinstance(params, dict) else params)).encode()
    h = {"Content-Type": "application/x-www-form-urlencoded",
         "User-Agent": "TwilioProxy/1.1"}
    if signature is not None:
        h["X-Twilio-Signature"] = signature
    h.update(headers or {})
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + ("?" + u.query if u.query else "")
        conn.request("POST", path, body=data, headers=h)
        r = conn.getresponse()
        return (r.status, {k.lower(): v for k, v in r.getheaders()},
                r.read().decode("utf-8", "replace"))
    finally:
        conn.close()


# ---- faults ----

class Fault:
    def __init__(self, kind, status=0, code=0, retry_after=None,
                 seconds=0.0, then=None):
        self.kind = kind            # ok, error, slow, drop, accept_drop
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.seconds = seconds
        self.then = then

    def __repr__(self):
        if self.kind == "error":
            return "<%d %d>" % (self.status, self.code)
        if self.kind == "slow":
            return "<slow %.1fs then %r>" % (self.seconds, self.then)
        return "<%s>" % self.kind


OK = Fault("ok")
DROP = Fault("drop")
ACCEPT_DROP = Fault("accept_drop")

ERRORS = {  # Twilio's codes and messages for the answers the fake gives
    20003: "Authenticate",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "The 'To' number is not a valid phone number.",
    21602: "Message body is required.",
    21603: "The 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
}


def fail(status=500, code=20500):
    return Fault("error", status=status, code=code)


def throttle(retry_after=1):
    return Fault("error", status=429, code=20429, retry_after=retry_after)


def opted_out():
    return Fault("error", status=400, code=21610)


def bad_request(code=21211):
    return Fault("error", status=400, code=code)


def slow(seconds, then=OK):
    return Fault("slow", seconds=seconds, then=then)


def error_body(status, code):
    return {"code": code, "message": ERRORS.get(code, "Error %d" % code),
            "more_info": "https://www.twilio.com/docs/errors/%d" % code,
            "status": status}


# ---- the server ----

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects

    def log_message(self, *a):
        pass

    def handle(self):
        # A client that gave up (its timeout) is not the fake's error.
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Twilio-Request-Id", new_sid("RQ"))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        fake = self.server.fake
        parts = self.path.split("?")[0].split("/")
        # /2010-04-01/Accounts/{sid}/Messages/{SM...}.json
        if len(parts) == 6 and parts[4] == "Messages" and \
                self._authorized(parts[3]):
            m = fake.find(sid=parts[5][:-len(".json")])
            if m and m["account_sid"] == parts[3]:
                return self._send(200, m["answer"])
        self._send(404, error_body(404, 20404))

    def _authorized(self, account):
        token = self.server.fake.accounts.get(account)
        want = base64.b64encode(("%s:%s" % (account, token)).encode())
        return token is not None and \
            self.headers.get("Authorization", "") == "Basic " + want.decode()

    def do_POST(self):
        fake = self.server.fake
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self._drop()
            return
        raw = self.rfile.read(n).decode("utf-8", "replace")
        form = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
        key = self.headers.get("Idempotency-Key")
        path = self.path.split("?")[0]
        parts = path.split("/")
        account = parts[3] if len(parts) == 5 else ""
        want_path = "/%s/Accounts/%s/Messages.json" % (API, account)
        fault = fake._next_fault(form)
        attempt = {"time": time.time(), "path": path, "form": form,
                   "key": key, "fault": fault}
        fake._log_attempt(attempt)
        if path != want_path or account not in fake.accounts:
            fake._problem("POST to %s, no account's Messages.json" % path)
            return self._send(404, error_body(404, 20404))
        if not self._authorized(account):
            fake._problem("bad or missing Basic auth: %r" %
                          self.headers.get("Authorization"))
            return self._send(401, error_body(401, 20003))
        if fault.kind == "slow":
            fake._stopping.wait(fault.seconds)
            fault = fault.then
        if fault.kind == "drop":
            attempt["outcome"] = "dropped"
            return self._drop()
        if fault.kind == "error":
            attempt["outcome"] = fault.status
            extra = {}
            if fault.retry_after is not None:
                extra["Retry-After"] = str(fault.retry_after)
            return self._send(fault.status,
                              error_body(fault.status, fault.code), extra)
        missing = fake._validate(form, key)
        if missing:
            attempt["outcome"] = 400
            return self._send(400, error_body(400, missing))
        answer = fake._accept(form, key, account)
        if fault.kind == "accept_drop":
            attempt["outcome"] = "accepted, dropped"
            return self._drop()
        attempt["outcome"] = 201
        self._send(201, answer)


class FakeTwilio:
    def __init__(self, account_sid=None, auth_token=None):
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.accounts = {self.account_sid: self.auth_token}
        self.lock = threading.Lock()
        self.messages = []     # accepted, once each: dicts, see _accept
        self.attempts = []     # every POST, with its fault and outcome
        self.problems = []     # contract breaches seen
        self.callbacks = []    # (sid, status, optd's HTTP status)
        self._by_key = {}
        self._script = collections.deque()
        self._for_to = {}
        self.faults_by = None  # f(form) -> Fault or None
        self._stopping = threading.Event()
        self._cond = threading.Condition(self.lock)
        self.server = None
        self.thread = None

    # -- life --
    def start(self):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      _Handler)
        self.server.daemon_threads = True
        self.server.fake = self
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self._stopping.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def __enter__(self):
        return self.start() if not self.server else self

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self.server.server_address[1]

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def add_account(self):
        """Another account (sid, token), as a group's own settings name."""
        sid, token = new_sid("AC"), secrets.token_hex(16)
        with self.lock:
            self.accounts[sid] = token
        return sid, token

    def optd_flags(self, messaging_service_sid=None):
        """The optd serve flags that send through this fake."""
        f = ["--sms-provider", "twilio", "--twilio-api-base", self.base_url,
             "--twilio-account-sid", self.account_sid,
             "--twilio-auth-token", self.auth_token]
        if messaging_service_sid:
            f += ["--twilio-messaging-service-sid", messaging_service_sid]
        return f

    # -- faults --
    def script(self, *faults):
        """Faults for the next requests, one each, in order."""
        with self.lock:
            self._script.extend(faults)

    def fault_for(self, to, fault):
        """Every request to phone `to` gets fault (None: no more)."""
        with self.lock:
            if fault is None:
                self._for_to.pop(to, None)
            else:
                self._for_to[to] = fault

    def _next_fault(self, form):
        with self.lock:
            if form.get("To") in self._for_to:
                return self._for_to[form["To"]]
            if self._script:
                return self._script.popleft()
        f = self.faults_by(form) if self.faults_by else None
        return f or OK

    # -- recording --
    def _log_attempt(self, a):
        with self.lock:
            self.attempts.append(a)

    def _problem(self, what):
        with self.lock:
            self.problems.append(what)

    def _validate(self, form, key):
        """A Twilio error code for a request Twilio would refuse, else 0;
        breaches of optd's contract that Twilio accepts go to problems."""
        if not form.get("To"):
            return 21604
        if not form.get("Body"):
            return 21602
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 21603
        if not key:
            self._problem("no Idempotency-Key for %r" % form)
        if not form.get("StatusCallback"):
            self._problem("no StatusCallback for %r" % form)
        unknown = set(form) - {"To", "From", "MessagingServiceSid", "Body",
                               "StatusCallback"}
        if unknown:
            self._problem("unexpected fields %s" % sorted(unknown))
        return 0

    def _accept(self, form, key, account):
        """The 201 answer; records the message unless key was seen."""
        with self.lock:
            if key and (account, key) in self._by_key:
                return self._by_key[(account, key)]["answer"]
            sid = new_sid("SM")
            now = email.utils.formatdate(usegmt=True)
            msid = form.get("MessagingServiceSid")
            answer = {
                "account_sid": account, "api_version": API,
                "body": form["Body"], "date_created": now,
                "date_sent": None, "date_updated": now,
                "direction": "outbound-api", "error_code": None,
                "error_message": None, "from": form.get("From"),
                "messaging_service_sid": msid, "num_media": "0",
                "num_segments": str(segments(form["Body"])), "price": None,
                "price_unit": "USD", "sid": sid,
                "status": "accepted" if msid and not form.get("From")
                else "queued",
                "subresource_uris": {"media": "/%s/Accounts/%s/Messages/%s/"
                                     "Media.json" % (API, account,
                                                     sid)},
                "to": form["To"],
                "uri": "/%s/Accounts/%s/Messages/%s.json" % (
                    API, account, sid)}
            m = {"sid": sid, "to": form["To"], "from": form.get("From"),
                 "messaging_service_sid": msid, "body": form["Body"],
                 "status_callback": form.get("StatusCallback"),
                 "key": key, "time": time.time(), "answer": answer,
                 "account_sid": account}
            self.messages.append(m)
            if key:
                self._by_key[(account, key)] = m
            self._cond.notify_all()
            return answer

    # -- queries --
    def find(self, sid=None, to=None):
        with self.lock:
            for m in self.messages:
                if (sid is None or m["sid"] == sid) and \
                        (to is None or m["to"] == to):
                    return m
        return None

    def sent_to(self, to):
        with self.lock:
            return [m for m in self.messages if m["to"] == to]

    def wait(self, pred, timeout=10.0, what="messages"):
        """Wait until pred(messages) is true; returns the messages."""
        deadline = time.time() + timeout
        with self.lock:
            while not pred(list(self.messages)):
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("fake Twilio: no %s within %.0fs; "
                                         "got %r" % (what, timeout,
                                                     self.summary()))
                self._cond.wait(min(left, 0.1))
            return list(self.messages)

    def wait_count(self, n, timeout=10.0, to=None):
        return self.wait(lambda ms: len([m for m in ms if to is None or
                                         m["to"] == to]) >= n,
                         timeout, "%d message(s)%s" % (
                             n, " to " + to if to else ""))

    def summary(self):
        return [(m["to"], m["body"][:40], m["key"]) for m in self.messages]

    def duplicates(self):
        """Messages recorded more than once: by Idempotency-Key and by
        (To, Body). Both lists are empty when every message went once."""
        with self.lock:
            keys = collections.Counter(m["key"] for m in self.messages
                                       if m["key"])
            pairs = collections.Counter((m["to"], m["body"])
                                        for m in self.messages)
        return ([k for k, n in keys.items() if n > 1],
                [p for p, n in pairs.items() if n > 1])

    def check_clean(self):
        with self.lock:
            if self.problems:
                raise AssertionError("fake Twilio saw contract breaches:\n"
                                     "  " + "\n  ".join(self.problems[:20]))

    # -- callbacks to optd --
    def send_status(self, message, status, error_code=None, url=None,
                    signature=None, token=None):
        """POST a status callback for message (a recorded dict or its sid)
        to its StatusCallback (or url), signed unless signature is given;
        returns (status, headers, body) of optd's answer."""
        m = message if isinstance(message, dict) else self.find(sid=message)
        params = {"AccountSid": m["account_sid"], "ApiVersion": API,
                  "MessageSid": m["sid"], "SmsSid": m["sid"],
                  "MessageStatus": status, "SmsStatus": status,
                  "To": m["to"]}
        if m.get("from"):
            params["From"] = m["from"]
        if m.get("messaging_service_sid"):
            params["MessagingServiceSid"] = m["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        target = url or m["status_callback"]
        if signature is None:
            signature = twilio_signature(
                token or self.accounts[m["account_sid"]], target, params)
        r = post_form(target, params, signature)
        with self.lock:
            self.callbacks.append((m["sid"], status, r[0]))
        return r
