#!/usr/bin/env python3
"""run: discover tests/e2e/test_*.py, run every test_* function, and print
one line per test and a last line "e2e: N passed, N failed".

    python3 tests/e2e/run.py --bin build/optd [-k substring]
"""
import argparse
import importlib.util
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/optd")
    ap.add_argument("-k", default="")
    args = ap.parse_args()
    os.environ["OPTD_BIN"] = os.path.abspath(args.bin)
    sys.path.insert(0, HERE)
    passed = failed = 0
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
            except Exception:
                failed += 1
                print("FAIL  %s" % full, flush=True)
                traceback.print_exc(file=sys.stdout)
    print("e2e: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
