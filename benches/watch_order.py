#!/usr/bin/env python3
"""Writes link/watch.order: the functions of the release binary that
`ctibridge watch` runs from its start to its first held poll, in the order
they first run (valgrind's callgrind sees every one). build.rs hands the
file to the linker (LLD's --symbol-ordering-file), which lays these
functions out together: an idle watch then maps a few pages of code
instead of 64 KB windows all over the binary.

Run it again after a change that moves watch's code around (a new
dependency, a rewritten loop); a stale list only saves less. Needs
valgrind. Usage:
  cargo build --release && python3 benches/watch_order.py && cargo build --release
"""

import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import watch  # noqa: E402  (the long-polling stand-in source)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "link", "watch.order")


def main():
    exe = os.path.realpath(watch.EXE)
    src = watch.Source(hold=25)
    port = src.serve()
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "callgrind.out")
        param = os.path.join(tmp, "clicktocall_param.txt")
        with open(param, "w") as f:
            f.write("<global>\n<timeout1>0\n<timeout2>0\n<timeout3>30\n"
                    "<cliktocallevent>\n<with_event>1\n<url>http://127.0.0.1:%d/ev\n"
                    "<json_event>e\n<json_tel>n\n<json_callid>id\n"
                    "<popup>\n<command>true\n" % port)
        station = os.path.join(tmp, "station.txt")
        with open(station, "w") as f:
            f.write("<telorg>1003\n")
        env = dict(os.environ, CTIBRIDGE_CONFIG_DIR=tmp, CTIBRIDGE_CACHE_DIR=tmp, CTIBRIDGE_SYS_DIR=tmp)
        proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", "--demangle=no", "--callgrind-out-file=" + trace,
             exe, "--param", param, "--station", station, "watch", "--json"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        deadline = time.time() + 120
        while src.polls < 1:
            if time.time() > deadline:
                proc.kill()
                sys.exit("watch never polled under valgrind")
            time.sleep(0.2)
        time.sleep(2)  # the poll held, the loop waiting
        proc.terminate()
        proc.wait(timeout=120)
        first_seen = []
        with open(trace) as f:
            for line in f:
                m = re.match(r"c?fn=\(\d+\) (\S+)", line)
                if m:
                    first_seen.append(m.group(1))
    nm = subprocess.run(["nm", "--defined-only", exe], capture_output=True, text=True, check=True)
    ours = {l.split()[-1] for l in nm.stdout.splitlines() if len(l.split()) == 3}
    chosen, seen = [], set()
    for name in first_seen:
        if name in ours and name not in seen:
            seen.add(name)
            chosen.append(name)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(chosen) + "\n")
    print("%d functions written to %s" % (len(chosen), os.path.relpath(OUT, ROOT)))


if __name__ == "__main__":
    main()
