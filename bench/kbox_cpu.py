#!/usr/bin/env python3
"""kbox_cpu.py: optd's own CPU per message on the Kannel box link, with
no Kannel to share the cores with. A scripted bearerbox
(tests/e2e/fake_bearerbox.py) hands optd N keyword messages (START or
STOP at random from 1,000 phones, as bench/kannel_loop.sh's fakesmsc
sends) in windows of 500, and takes the replies and acks; optd runs on a
fresh SQLite database, durability full, replies inline. It prints optd's
CPU time (user + system) per message and the rate. No baseline and no
target: it is the part of the Kannel loop that is optd's, measured with
far less of the loop's spread, to compare two builds.

    bench/kbox_cpu.py                      # 40,000 messages, build/optd
    N=20000 OPTD_BIN=/tmp/optd-old bench/kbox_cpu.py
    PERF=/tmp/kbox.perf bench/kbox_cpu.py  # also perf record on optd
"""
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from fake_bearerbox import FakeBearerbox  # noqa: E402

NUMBER = "+16502530000"
WINDOW = 500          # messages handed over before waiting for their acks
ADMIN_KEY = "bench-" + "k" * 26


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def admin(port, path, body):
    req = urllib.request.Request(
        "http://127.0.0.1:%d%s" % (port, path), data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + ADMIN_KEY,
                 "Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()


def main():
    n = int(os.environ.get("N", "40000"))
    binary = os.environ.get("OPTD_BIN", os.path.join(HERE, "..", "build",
                                                     "optd"))
    tmp = tempfile.mkdtemp(prefix="optd-bench-kbox.")
    port = free_port()
    optd = perf = None
    try:
        with FakeBearerbox() as bb:
            env = dict(os.environ, OPTD_ADMIN_KEY=ADMIN_KEY)
            optd = subprocess.Popen(
                [binary, "serve", "--port", str(port), "--db",
                 os.path.join(tmp, "optd.db"), "--sms-provider", "kannel",
                 "--kannel-box", "127.0.0.1:%d" % bb.port,
                 "--kannel-replies", "inline", "--kannel-dlr-mask", "0"],
                env=env, stderr=open(os.path.join(tmp, "optd.log"), "w"))
            for _ in range(200):
                try:
                    urllib.request.urlopen("http://127.0.0.1:%d/healthz"
                                           % port, timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            admin(port, "/admin/subscription_groups",
                  {"id": "bench-group", "name": "Bench", "channel": "sms",
                   "numbers": [NUMBER]})
            bb.wait_box()
            rnd = random.Random(1)
            frames = [bb.mo("+1201555%04d" % rnd.randrange(1000), NUMBER,
                            rnd.choice(("START", "STOP")), send=False)
                      for _ in range(n)]
            if os.environ.get("PERF"):
                perf = subprocess.Popen(
                    ["perf", "record", "-q", "--call-graph", "dwarf,16384",
                     "-F", "500", "-o", os.environ["PERF"], "-p",
                     str(optd.pid)], stderr=subprocess.DEVNULL)
                time.sleep(0.5)
            c0, t0 = cpu_seconds(optd.pid), time.time()
            for k in range(0, n, WINDOW):
                window = frames[k:k + WINDOW]
                bb.send_raw(b"".join(frame for _, frame in window))
                bb.wait_ack(window[-1][0], timeout=120)
            bb.wait(lambda: len(bb.acks) >= n, 120, "every ack")
            c1, t1 = cpu_seconds(optd.pid), time.time()
            if perf:
                perf.send_signal(2)
                perf.wait()
            replies = len(bb.mts())
        print("optd: %d messages, %d replies, %.0f messages/s, %.1f us of "
              "CPU a message" % (n, replies, n / (t1 - t0),
                                 1e6 * (c1 - c0) / n))
        if replies != n:
            print("MISMATCH: %d messages, %d replies" % (n, replies))
            return 1
        return 0
    finally:
        if optd:
            optd.terminate()
            optd.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
