#!/usr/bin/env python3
"""fakesmsc_clock.py: time Kannel's fakesmsc until every reply is back.

    fakesmsc_clock.py N TIMEOUT FAKESMSC-COMMAND...

Starts the command (fakesmsc sending N messages), reads its output, where
each message the gateway delivers to the fake SMSC is a "Got message" line,
and stops it once N have arrived or TIMEOUT seconds have passed. Prints
"replies SECONDS SENT_SECONDS": how many came back, the time from start to
the last of them (or to the timeout), and the time fakesmsc took to send
its N messages.
"""
import selectors
import subprocess
import sys
import time


def main():
    n, timeout, cmd = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    sel = selectors.DefaultSelector()
    sel.register(proc.stderr, selectors.EVENT_READ)
    sent_line = b"sent message %d\n" % n
    got, sent_at, buf, end = 0, None, b"", None
    while got < n:
        left = t0 + timeout - time.monotonic()
        if left <= 0 or not sel.select(left):
            break
        chunk = proc.stderr.read1(65536)
        if not chunk:
            break
        lines = (buf + chunk).split(b"\n")
        buf = lines.pop()
        for line in lines:
            if b"Got message" in line:
                got += 1
            elif sent_at is None and (line + b"\n").endswith(sent_line):
                sent_at = time.monotonic() - t0
        end = time.monotonic() - t0
    if got < n:
        end = time.monotonic() - t0
    proc.kill()
    proc.wait()
    print("%d %.3f %.3f" % (got, end, sent_at if sent_at is not None else -1))


if __name__ == "__main__":
    main()
