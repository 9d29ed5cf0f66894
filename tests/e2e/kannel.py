"""kannel: run the real Kannel (bearerbox + smsbox, or bearerbox alone with
optd as its box: Kannel(box=True)) on loopback for one
test, with fakesmsc (kannel-extras) as the phone side.

    with Kannel(get_url="http://127.0.0.1:P/sms/inbound/kannel?"
                        "from=%p&to=%P&text=%a&id=%I&secret=S") as k:
        optd flags: k.optd_flags()  (sendsms URL, user, password)
        with k.phone("+12223334444", "+15550001111", "START") as ph:
            ph.wait_replies(1)  -> ["You are subscribed ..."]

Kannel's SMSC is the `fake` driver; fakesmsc connects to it, sends the
given text (-m N times) and prints every message the gateway delivers as
"Got message N: <from to text BODY>", which Phone collects. Only one
fakesmsc is connected at a time; a message sent while none is connected
waits in bearerbox (sendsms answers "3: Queued for later delivery").

Kannel's `sms-service` (keyword = default, max-messages = 0) hands every
incoming message to get_url and sends no reply of its own; replies come
back through sendsms (the `sendsms-user`). The fake SMSC acknowledges
every message it is given, so a sendsms with a dlr-url and dlr-mask gets
DLR type 8 (SMSC accepted) and then 1 (delivered) at that URL.

FakeSendsms stands in for smsbox's sendsms alone (no Kannel): it records
each request and answers as scripted, for the cases a real Kannel will
not produce on cue (refusals, server errors).

Every process runs in its own process group and is SIGKILLed with it when
the test ends (Kannel keeps no state here that needs a clean stop), so no
Kannel outlives a test. A PANIC in Kannel's logs fails the stop.
"""
import os
import re
import shutil
import signal
import collections
import http.server
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

BEARERBOX = shutil.which("bearerbox") or "/usr/sbin/bearerbox"
SMSBOX = shutil.which("smsbox") or "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
GOT = re.compile(r"Got message (\d+): <(.*)>\s*$")


def available():
    """True when Kannel and fakesmsc are installed (scripts/deps.sh test
    installs them)."""
    return all(os.access(p, os.X_OK) for p in (BEARERBOX, SMSBOX, FAKESMSC))


def _free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _kill_group(p, timeout=5.0):
    if p is None or p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait(timeout)


def _conf_str(s):
    if '"' in s or "\n" in s:
        raise ValueError("cannot quote %r in a Kannel config" % s)
    return '"%s"' % s


class KannelError(AssertionError):
    pass


class Kannel:
    def __init__(self, get_url="", username="optd", password=None, tmp=None,
                 inline=False, box=False):
        # box: no smsbox; optd connects to bearerbox's box port itself
        # (--kannel-box) and the sms-service below is never used
        self.box = box
        self.get_url = get_url or "http://127.0.0.1:9/unused"
        # inline: the get-url's answer is the reply (optd's
        # --kannel-replies inline), so Kannel sends one non-empty answer
        self.service_replies = ("max-messages = 1\nomit-empty = true"
                                if inline else "max-messages = 0")
        self.username = username
        self.password = password or "pw%d" % os.getpid()
        self.admin_password = "adm%d" % time.time_ns()
        self.owns_tmp = tmp is None
        self.tmp = tmp or tempfile.mkdtemp(prefix="optd-kannel-")
        (self.admin_port, self.smsbox_port, self.sendsms_port,
         self.smsc_port) = _free_ports(4)
        self.conf = os.path.join(self.tmp, "kannel.conf")
        self.bearerbox = self.smsbox = None
        self.phones = []

    @property
    def sendsms_url(self):
        return "http://127.0.0.1:%d/cgi-bin/sendsms" % self.sendsms_port

    def optd_flags(self):
        if self.box:
            return ["--sms-provider", "kannel", "--kannel-box",
                    "127.0.0.1:%d" % self.smsbox_port]
        return ["--sms-provider", "kannel",
                "--kannel-sendsms-url", self.sendsms_url,
                "--kannel-username", self.username,
                "--kannel-password", self.password]

    def log(self, name):
        """The text of bb.log, sb.log, bb.out or sb.out."""
        try:
            with open(os.path.join(self.tmp, name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    # -- life --
    def write_conf(self):
        t = self.tmp
        with open(self.conf, "w") as f:
            f.write("""group = core
admin-port = %d
admin-password = %s
smsbox-port = %d
box-allow-ip = "127.0.0.1"
admin-allow-ip = "127.0.0.1"
log-file = %s
log-level = 0
access-log = %s

group = smsc
smsc = fake
smsc-id = fake1
port = %d
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = "127.0.0.1"
sendsms-port = %d
log-file = %s
log-level = 0
access-log = %s

group = sendsms-user
username = %s
password = %s

group = sms-service
keyword = default
get-url = %s
%s
""" % (self.admin_port, _conf_str(self.admin_password), self.smsbox_port,
                _conf_str(os.path.join(t, "bb.log")),
                _conf_str(os.path.join(t, "bb-access.log")),
                self.smsc_port, self.sendsms_port,
                _conf_str(os.path.join(t, "sb.log")),
                _conf_str(os.path.join(t, "sb-access.log")),
                _conf_str(self.username), _conf_str(self.password),
                _conf_str(self.get_url), self.service_replies))

    def _spawn(self, exe, out):
        f = open(os.path.join(self.tmp, out), "ab")
        try:
            return subprocess.Popen([exe, self.conf], stdout=f,
                                    stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        finally:
            f.close()

    def start(self, timeout=15.0):
        self.write_conf()
        self.bearerbox = self._spawn(BEARERBOX, "bb.out")
        try:
            self._wait(lambda: self._listening(self.smsbox_port), timeout,
                       "bearerbox listening")
            if self.box:
                return self
            self.smsbox = self._spawn(SMSBOX, "sb.out")
            self._wait(self._ready, timeout, "smsbox connected")
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def _wait(self, cond, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for p, name in ((self.bearerbox, "bearerbox"),
                            (self.smsbox, "smsbox")):
                if p is not None and p.poll() is not None:
                    raise KannelError("%s exited (%s): %s" % (
                        name, p.returncode, self.log(
                            "bb.out" if name == "bearerbox" else "sb.out")
                        [-2000:]))
            if cond():
                return
            time.sleep(0.05)
        raise KannelError("Kannel: no %s within %.0fs" % (what, timeout))

    @staticmethod
    def _listening(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def status(self):
        """bearerbox's status.txt, or "" when it does not answer."""
        u = "http://127.0.0.1:%d/status.txt?password=%s" % (
            self.admin_port, urllib.parse.quote(self.admin_password))
        try:
            with urllib.request.urlopen(u, timeout=2) as r:
                return r.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _ready(self):
        return self.box_online() and self._listening(self.sendsms_port)

    def box_online(self):
        """A box (smsbox, or optd with --kannel-box) is connected."""
        s = self.status()
        return re.search(r"smsbox:\S*, IP [^\n]*on-line", s) is not None

    def wait_box(self, timeout=15.0):
        self._wait(self.box_online, timeout, "box connected")

    def smsc_online(self):
        return re.search(r"FAKE:%d \(online" % self.smsc_port,
                         self.status()) is not None

    def stop(self, check=True):
        for ph in list(self.phones):
            ph.stop()
        _kill_group(self.smsbox)
        _kill_group(self.bearerbox)
        self.smsbox = self.bearerbox = None
        if check:
            for name in ("bb.log", "sb.log", "bb.out", "sb.out"):
                text = self.log(name)
                if "PANIC:" in text:
                    i = text.index("PANIC:")
                    raise KannelError("PANIC in Kannel's %s:\n%s" % (
                        name, text[max(0, i - 500):i + 1500]))

    def __enter__(self):
        return self.start() if self.bearerbox is None else self

    def __exit__(self, *exc):
        self.stop(check=exc[0] is None)
        if exc[0] is None and self.owns_tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the phone side --
    def phone(self, frm, to, text, count=1, interval=0.1):
        """Start fakesmsc sending `text` from frm to to, `count` times;
        it stays connected, collecting what the gateway delivers, until
        its stop() (or the Kannel's). Stops any earlier one first."""
        for ph in list(self.phones):
            ph.stop()
        ph = Phone(self, frm, to, text, count, interval)
        self.phones.append(ph)
        return ph.start()

    def sendsms(self, frm, to, text, **extra):
        """Kannel's sendsms as optd calls it: (HTTP status, body)."""
        q = {"username": self.username, "password": self.password,
             "from": frm, "to": to, "text": text}
        q.update(extra)
        u = self.sendsms_url + "?" + urllib.parse.urlencode(q)
        try:
            with urllib.request.urlopen(u, timeout=10) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")


def _parse(line):
    """(from, to, text) of one fakesmsc line: "from to text BODY", or
    "from to data URLCODED" / "from to ucs-2 URLCODED" for messages
    that are not plain text."""
    parts = line.split(" ", 3)
    if len(parts) < 4:
        return tuple(parts) + ("",) * (3 - len(parts))
    frm, to, kind, rest = parts
    if kind == "text":
        return frm, to, rest
    raw = urllib.parse.unquote_to_bytes(rest.split(" ")[-1].replace("+",
                                                                     " "))
    if kind == "ucs-2":
        return frm, to, raw.decode("utf-16-be", "replace")
    return frm, to, raw.decode("utf-8", "replace")


class Phone:
    """One fakesmsc process: what it sent and what it received."""

    def __init__(self, kannel, frm, to, text, count, interval):
        self.kannel = kannel
        self.line = "%s %s text %s" % (frm, to, text)
        if "\n" in text or " " in frm or " " in to:
            raise ValueError("fakesmsc cannot send %r" % self.line)
        self.count = count
        self.interval = interval
        self.proc = None
        self.lines = []          # fakesmsc's whole output
        self.received = []       # (from, to, text) as delivered
        self.cond = threading.Condition()
        self.reader = None

    def start(self):
        self.proc = subprocess.Popen(
            [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.kannel.smsc_port),
             "-i", str(self.interval), "-m", str(self.count), self.line],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        return self

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                m = GOT.search(line)
                if m:
                    self.received.append(_parse(m.group(2)))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def sent(self):
        with self.cond:
            return sum(1 for line in self.lines if "sent message" in line)

    def wait_replies(self, n, timeout=15.0):
        """The texts of the first n messages delivered to this phone."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self.received) < n:
                left = deadline - time.time()
                if left <= 0 or (self.proc.poll() is not None and
                                 not self.reader.is_alive()):
                    raise KannelError(
                        "fakesmsc got %d of %d message(s) within %.0fs: "
                        "%r\nits output ends:\n%s" % (
                            len(self.received), n, timeout, self.received,
                            "\n".join(self.lines[-15:])))
                self.cond.wait(min(left, 0.1))
            return [r[-1] for r in self.received[:n]]

    def replies(self):
        with self.cond:
            return [r[-1] for r in self.received]

    def stop(self):
        _kill_group(self.proc)
        if self.reader:
            self.reader.join(5)
        if self in self.kannel.phones:
            self.kannel.phones.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class _SendsmsHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        fake = self.server.fake
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        with fake.cond:
            mine = fake.script.get(q.get("to"))
            status, body = mine.popleft() if mine else fake.default
            fake.requests.append((u.path, q, status))
            fake.cond.notify_all()
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeSendsms:
    """smsbox's /cgi-bin/sendsms, scripted: each request to a phone takes
    the next (status, body) given for it by answer(), else answers 202
    "0: Accepted for delivery". requests holds (path, query dict, status)
    of each."""

    ACCEPTED = (202, "0: Accepted for delivery")
    QUEUED = (202, "3: Queued for later delivery")
    DENIED = (403, "Authorization failed for sendsms")

    def __init__(self):
        self.script = collections.defaultdict(collections.deque)
        self.default = self.ACCEPTED
        self.requests = []
        self.cond = threading.Condition()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      _SendsmsHandler)
        self.server.daemon_threads = True
        self.server.fake = self
        threading.Thread(target=self.server.serve_forever,
                         kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/cgi-bin/sendsms" % \
            self.server.server_address[1]

    def answer(self, to, *answers):
        with self.cond:
            self.script[to].extend(answers)

    def wait(self, n, timeout=10.0, to=None):
        """The first n requests (to phone `to`, if given)."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                got = [q for p, q, s in self.requests
                       if to is None or q.get("to") == to]
                if len(got) >= n:
                    return got[:n]
                left = deadline - time.time()
                if left <= 0:
                    raise KannelError("sendsms: %d of %d request(s)%s" % (
                        len(got), n, " to " + to if to else ""))
                self.cond.wait(min(left, 0.1))

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
