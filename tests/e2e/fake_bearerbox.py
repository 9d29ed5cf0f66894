"""fake_bearerbox: Kannel's bearerbox as optd's box link sees it
(--kannel-box), scripted, for what a real bearerbox will not do on cue:
hand the same message over twice, send a frame that makes no sense,
refuse a reply.

    with FakeBearerbox() as bb:           # listens on bb.port
        optd ... --kannel-box 127.0.0.1:<bb.port>
        bb.wait_box()                     # optd connected and identified
        mid = bb.mo("+1212...", NUMBER, "START")
        bb.wait_ack(mid)                  -> the ack's nack (0 = success)
        bb.mts()                          -> the replies optd sent
        bb.nack_next = [1]                # refuse the next reply (ack 1)
        bb.stopping_box = True            # tell each box to stop, as a
                                          # stopping bearerbox does

Frames as in Kannel's gw/msg-decl.h (src/sms/kbox.h): a 4-byte length,
the type, then each field; integers 4 bytes big-endian, strings with
their length (-1 for none), ids as 36-character strings.
"""
import socket
import struct
import threading
import time
import uuid

HEARTBEAT, ADMIN, SMS, ACK = 0, 1, 2, 3
MO, MT_REPLY, REPORT_MO = 0, 1, 3
SMS_FIELDS = ("sender S", "receiver S", "udhdata S", "msgdata S", "time I",
              "smsc_id S", "smsc_number S", "foreign_id S", "service S",
              "account S", "id S", "sms_type I", "mclass I", "mwi I",
              "coding I", "compress I", "validity I", "deferred I",
              "dlr_mask I", "dlr_url S", "pid I", "alt_dcs I", "rpi I",
              "charset S", "boxc_id S", "binfo S", "msg_left I",
              "priority I", "resend_try I", "resend_time I", "meta_data S")
FIELDS = {HEARTBEAT: ("load I",), ADMIN: ("command I", "boxc_id S"),
          SMS: SMS_FIELDS, ACK: ("nack I", "time I", "id S")}


def pack(mtype, **values):
    out = [struct.pack(">i", mtype)]
    for f in FIELDS[mtype]:
        name, kind = f.split()
        v = values.get(name)
        if kind == "I":
            out.append(struct.pack(">i", -1 if v is None else v))
        elif v is None:
            out.append(struct.pack(">i", -1))
        else:
            b = v.encode() if isinstance(v, str) else v
            out.append(struct.pack(">i", len(b)) + b)
    body = b"".join(out)
    return struct.pack(">i", len(body)) + body


def unpack(body):
    (mtype,) = struct.unpack_from(">i", body, 0)
    pos, msg = 4, {"type": mtype}
    for f in FIELDS.get(mtype, ()):
        name, kind = f.split()
        (v,) = struct.unpack_from(">i", body, pos)
        pos += 4
        if kind == "S" and v >= 0:
            msg[name] = body[pos:pos + v]
            pos += v
        else:
            msg[name] = None if kind == "S" else v
    return msg


class FakeBearerbox:
    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.lock = threading.Condition()
        # the reader's acks and a test's frames share the socket: one
        # sendall at a time, or a large one could be cut by a small one
        self.send_lock = threading.Lock()
        self.conn = None
        self.connections = 0
        self.identified = 0
        self.acks = {}        # MO id -> [nack, ...]
        self.sent = []        # every MT frame optd sent, decoded
        self.heartbeats = 0
        self.nack_next = []   # nacks for the next MTs; then 0
        # a stopping bearerbox: every box that identifies is told to stop
        self.stopping_box = False
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.drop()
        self.srv.close()

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            with self.lock:
                self.conn = c
                self.connections += 1
                self.lock.notify_all()
            self._read(c)

    def _read(self, c):
        buf = b""
        while True:
            try:
                data = c.recv(65536)
            except OSError:
                data = b""
            if not data:
                with self.lock:
                    if self.conn is c:
                        self.conn = None
                    self.lock.notify_all()
                return
            buf += data
            while len(buf) >= 4:
                (n,) = struct.unpack_from(">i", buf, 0)
                if len(buf) < 4 + n:
                    break
                self._got(c, unpack(buf[4:4 + n]))
                buf = buf[4 + n:]

    def _got(self, c, m):
        with self.lock:
            if m["type"] == ADMIN and m["command"] == 3:
                self.identified += 1
                if self.stopping_box:
                    with self.send_lock:
                        c.sendall(pack(ADMIN, command=0))
            elif m["type"] == HEARTBEAT:
                self.heartbeats += 1
            elif m["type"] == ACK:
                self.acks.setdefault(m["id"].decode(), []).append(m["nack"])
            elif m["type"] == SMS:
                self.sent.append(m)
                nack = self.nack_next.pop(0) if self.nack_next else 0
                with self.send_lock:
                    c.sendall(pack(ACK, nack=nack, time=m["time"],
                                   id=m["id"]))
            self.lock.notify_all()

    # -- what a test does --
    def wait(self, cond, timeout=10.0, what="condition"):
        deadline = time.time() + timeout
        with self.lock:
            while not cond():
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError("fake bearerbox: no %s within "
                                         "%.0fs" % (what, timeout))
                self.lock.wait(left)

    def wait_box(self, connections=1, timeout=10.0):
        """Until optd has connected and identified itself this many
        times in all."""
        self.wait(lambda: self.conn is not None and
                  self.identified >= connections, timeout, "box")

    def send_raw(self, data):
        with self.lock:
            c = self.conn
        with self.send_lock:
            c.sendall(data)

    def mo(self, frm, to, text, mid=None, coding=0, send=True, **fields):
        """Hand optd a message from a phone; its id. send=False: the id
        and the frame, for the caller to send with others at once."""
        mid = mid or str(uuid.uuid4())
        body = text.encode("utf-16-be") if coding == 2 else (
            text.encode() if isinstance(text, str) else text)
        frame = pack(SMS, sender=frm, receiver=to, msgdata=body,
                     time=int(time.time()), smsc_id="fake1", id=mid,
                     sms_type=fields.pop("sms_type", MO), coding=coding,
                     **fields)
        if not send:
            return mid, frame
        self.send_raw(frame)
        return mid

    def wait_ack(self, mid, count=1, timeout=10.0):
        self.wait(lambda: len(self.acks.get(mid, ())) >= count, timeout,
                  "ack of %s" % mid)
        with self.lock:
            return self.acks[mid][count - 1]

    def mts(self):
        with self.lock:
            return list(self.sent)

    def texts(self):
        out = []
        for m in self.mts():
            raw = m["msgdata"] or b""
            out.append(raw.decode("utf-16-be") if m["coding"] == 2
                       else raw.decode())
        return out

    def drop(self):
        """Close the connection, as a bearerbox that stops would."""
        with self.lock:
            c, self.conn = self.conn, None
        if c:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
