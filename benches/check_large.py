#!/usr/bin/env python3
"""`ctibridge check` on param files made hostile on purpose, at two sizes:
time and peak memory grow with the input, not with its square.

    cargo build --release && python3 benches/check_large.py [RUNS]

Cases (N and 4N items on one line, under the 1 MB limit):
- headers: N `<headers>` items each using `$token$` with no token
  request (one error each);
- unknown: N headers each using an unknown keyword (one error each, with
  a "did you mean");
- keywords: one URL with N `$teldest$`.
Prints the median time of each, and the ratio 4N/N (linear: about 4;
quadratic: about 16).
"""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CTIBRIDGE_BIN") or os.path.join(ROOT, "target", "release", "ctibridge")

CASES = {
    "headers": (12000, lambda n: "<cliktocalldial>\n<url>http://h/d?t=$teldest$\n<headers>"
                + "|".join("X-H%d: $token$" % i for i in range(n)) + "\n"),
    "unknown": (15000, lambda n: "<cliktocalldial>\n<url>http://h/d?t=$teldest$\n<headers>"
                + "|".join("X-%d: $tok$" % i for i in range(n)) + "\n"),
    "keywords": (20000, lambda n: "<cliktocalldial>\n<url>http://h/d?t=" + "$teldest$" * n + "\n"),
}


def timed(path):
    best = []
    for _ in range(RUNS):
        t = time.perf_counter()
        subprocess.run([BIN, "check", "--param", path, "--sys-dir", os.path.dirname(path)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best.append(time.perf_counter() - t)
    return statistics.median(best)


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    with tempfile.TemporaryDirectory() as d:
        for name, (n, make) in CASES.items():
            times = []
            for size in (n, 4 * n):
                path = os.path.join(d, "%s-%d.txt" % (name, size))
                with open(path, "w") as f:
                    f.write(make(size))
                times.append((size, os.path.getsize(path), timed(path)))
            (n1, b1, t1), (n4, b4, t4) = times
            print("%-9s %6d items (%4d KB) %7.1f ms   %6d items (%4d KB) %7.1f ms   ratio %.1f (linear: ~4)"
                  % (name, n1, b1 // 1024, t1 * 1000, n4, b4 // 1024, t4 * 1000, t4 / t1))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("peak memory of a check: %.1f MB" % (peak / 1024))


if __name__ == "__main__":
    main()
