"""flows_report: the figures of bench/flows.sh, from the files it leaves in
its scratch directory:
  lat         "flows first-event-ms last-confirmation-ms", then one line
              per flow: total, event -> webhook received, webhook round
              trip, webhook answered -> SMS queued (ms)
  writer      "jobs commits" from optd's last log line
  ticks0/1    per-thread scheduler counters (tid, ns on cpu, ns waiting
              for a cpu, times scheduled) before the load and after the
              drain, threads in creation order
  machine0/1  the machine's busy and idle clock ticks at the same moments

  flows_report.py TMP OPTD_FLAGS START_S END_S RATE TRACK_RPS
"""
import os
import sys


def numbers(path):
    with open(path) as f:
        return [list(map(int, line.split())) for line in f if line.strip()]


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))]


def flag(flags, name, default):
    f = flags.split()
    return int(f[f.index(name) + 1]) if name in f else default


def latency(tmp, rate, track):
    rows = numbers(os.path.join(tmp, "lat"))
    n, first, last = rows[0]
    if n == 0 or last <= first:
        sys.exit("no flow finished: nothing to measure")
    cols = list(zip(*rows[1:]))
    span = (last - first) / 1000
    print("flows/s     %.0f   (%d flows in %.2f s, first event to last "
          "confirmation; target >= 2,000)" % (n / span, n, span))
    if n / span < 0.95 * rate:
        print("            (below the %d offered: the runs queued up, and "
              "the latency grows with DURATION)" % rate)
    print("vs track    %.1f%% of /users/track alone (%.0f req/s)"
          % (100 * n / span / track, track))
    print("latency     p50 %d ms   p99 %d ms   max %d ms   (target p99 <= "
          "250 ms)" % (pct(cols[0], 50), pct(cols[0], 99), max(cols[0])))
    for name, c in (("event -> webhook received", 1),
                    ("webhook round trip", 2),
                    ("webhook answered -> SMS queued", 3)):
        print("  %-31s p50 %5d ms   p99 %5d ms"
              % (name, pct(cols[c], 50), pct(cols[c], 99)))
    met = n / span >= 2000 and pct(cols[0], 99) <= 250
    print("target      %s" % ("met" if met else "NOT met"))
    return n


def threads(tmp, flags, n, wall):
    """CPU by role: optd creates main, the writer, the SMS senders, the flow
    runners, the HTTP workers and the log flusher, in that order."""
    before = {r[0]: r[1:] for r in numbers(os.path.join(tmp, "ticks0"))}
    after = {r[0]: r[1:] for r in numbers(os.path.join(tmp, "ticks1"))}
    roles = (["main", "writer"] + ["sender"] * flag(flags, "--sms-senders", 2)
             + ["runner"] * flag(flags, "--flow-runners", 16)
             + ["http"] * flag(flags, "--threads", os.cpu_count())
             + ["log"])
    if len(after) != len(roles):
        roles = ["t%d" % i for i in range(len(after))]
    use = {}
    for role, tid in zip(roles, sorted(after)):
        d = [y - x for x, y in zip(before.get(tid, [0, 0, 0]), after[tid])]
        use[role] = [u + x for u, x in zip(use.get(role, [0, 0, 0]), d)]
    cpu_us = sum(u[0] for u in use.values()) / 1e3 / n
    m0, m1 = (numbers(os.path.join(tmp, f))[0]
              for f in ("machine0", "machine1"))
    busy, idle = m1[0] - m0[0], m1[1] - m0[1]
    share = busy / (busy + idle)
    print("machine     %.0f%% busy (%.2f of %d cores; optd %.2f, wrk and "
          "other processes the rest)" % (100 * share, os.cpu_count() * share,
                                         os.cpu_count(),
                                         cpu_us * n / 1e6 / wall))
    print("threads     on cpu / waiting for a cpu (share of one core), cpu "
          "time and times scheduled per flow; %.0f us of cpu a flow in all"
          % cpu_us)
    for role, (run, wait, switches) in use.items():
        if run:
            print("  %-8s %5.1f%% / %5.1f%%   %5.0f us   %5.1f"
                  % (role, run / wall / 1e7, wait / wall / 1e7,
                     run / 1e3 / n, switches / n))


def main():
    tmp, flags = sys.argv[1:3]
    wall = float(sys.argv[4]) - float(sys.argv[3])
    rate, track = float(sys.argv[5]), float(sys.argv[6])
    n = latency(tmp, rate, track)
    w = numbers(os.path.join(tmp, "writer"))
    if w:
        jobs, commits = w[0]
        print("writer      %d jobs in %d commits: %.1f jobs, %.2f commits a "
              "flow" % (jobs, commits, jobs / n, commits / n))
    threads(tmp, flags, n, wall)


main()
