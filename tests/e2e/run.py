#!/usr/bin/env python3
"""run: discover tests/e2e/test_*.py, run every test_* function, and print
one line per test and a last line "e2e (DB): N passed, N failed", with
"(N skipped)" after it when tests did not apply to the database.

    python3 tests/e2e/run.py --bin build/optd [-k substring] [--db postgres]

--db postgres runs every test on PostgreSQL (harness.py says how); unless
OPTD_TEST_PG_URL names a server already, run.py starts a throwaway one with
scripts/pg-test-server.sh and stops it at the end. Tests that do not apply
to the database print "skip" and count in neither number.
"""
import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/optd")
    ap.add_argument("-k", default="")
    ap.add_argument("--db", choices=("sqlite", "postgres"),
                    default=os.environ.get("OPTD_TEST_DB", "sqlite"))
    args = ap.parse_args()
    os.environ["OPTD_BIN"] = os.path.abspath(args.bin)
    os.environ["OPTD_TEST_DB"] = args.db
    server = None
    script = os.path.join(HERE, "..", "..", "scripts", "pg-test-server.sh")
    if args.db == "postgres" and not os.environ.get("OPTD_TEST_PG_URL"):
        server = tempfile.mkdtemp(prefix="optd-pg-")
        url = subprocess.run([script, "start", server], check=True,
                             capture_output=True, text=True).stdout.strip()
        os.environ["OPTD_TEST_PG_URL"] = url
        os.environ["OPTD_TEST_PG_DIR"] = server
    try:
        return run(args)
    finally:
        if server:
            subprocess.run([script, "stop", server])
            shutil.rmtree(server, ignore_errors=True)


def run(args):
    sys.path.insert(0, HERE)
    import harness
    passed = failed = skipped = 0
    for fn in sorted(os.listdir(HERE)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3],
                                                      os.path.join(HERE, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = "%s.%s" % (fn[:-3], name)
            if args.k and args.k not in full:
                continue
            t0 = time.time()
            try:
                getattr(mod, name)()
                passed += 1
                print("ok    %-60s %.2fs" % (full, time.time() - t0),
                      flush=True)
            except harness.Skip as e:
                skipped += 1
                print("skip  %-60s (%s)" % (full, e), flush=True)
            except Exception:
                failed += 1
                print("FAIL  %s" % full, flush=True)
                traceback.print_exc(file=sys.stdout)
    print("e2e (%s): %d passed, %d failed%s" % (
        args.db, passed, failed,
        " (%d skipped)" % skipped if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
