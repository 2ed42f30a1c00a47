#!/usr/bin/env python3
"""Benchmarks of `ctibridge watch` against a long-polling source on 127.0.0.1.

1. Latency: from the moment an event becomes available at the source (the
   held poll is answered) to the screen-pop command starting. The command is
   `date +%s%N`: it prints the time it runs at, which reaches us through
   watch's stderr (where a screen-pop command's output goes). The figure
   includes the fork and exec of the command.
2. Idle: resident memory (VmRSS, VmHWM) and CPU time of `watch` left for
   IDLE seconds on a source that holds each poll 25 s and never has an event.

Usage: cargo build --release && python3 benches/watch.py [EVENTS] [IDLE]
"""

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EXE = os.environ.get("CTIBRIDGE_BIN") or os.path.join(os.path.dirname(__file__), "..", "target", "release", "ctibridge")


class Source:
    """A long-polling event source: a poll is held until `release` or `hold` s."""

    def __init__(self, hold):
        self.hold = hold
        self.cond = threading.Condition()
        self.pending = 0
        self.body = None
        self.polls = 0

    def serve(self):
        src = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                with src.cond:
                    src.polls += 1
                    src.pending += 1
                    src.cond.notify_all()
                    src.cond.wait_for(lambda: src.body is not None, timeout=src.hold)
                    body, src.body = (src.body or b"{}"), None
                    src.pending -= 1
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # watch was stopped while its poll was held

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self.httpd.server_address[1]

    def wait_pending(self, timeout=10):
        with self.cond:
            return self.cond.wait_for(lambda: self.pending > 0, timeout=timeout)

    def release(self, body):
        with self.cond:
            self.body = body
            self.cond.notify_all()


def start_watch(tmp, port, popup, timeout3, stderr=subprocess.DEVNULL):
    param = os.path.join(tmp, "clicktocall_param.txt")
    with open(param, "w") as f:
        f.write(
            "<global>\n<timeout1>0\n<timeout2>0\n<timeout3>%s\n"
            "<cliktocallevent>\n<with_event>1\n<url>http://127.0.0.1:%d/ev\n"
            "<json_event>e\n<json_tel>n\n<json_callid>id\n%s"
            % (timeout3, port, popup)
        )
    station = os.path.join(tmp, "station.txt")
    with open(station, "w") as f:
        f.write("<telorg>1003\n")
    env = dict(os.environ, CTIBRIDGE_CONFIG_DIR=tmp, CTIBRIDGE_CACHE_DIR=tmp, CTIBRIDGE_SYS_DIR=tmp)
    return subprocess.Popen(
        [EXE, "--param", param, "--station", station, "watch", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env=env,
    )


def latency(n):
    src = Source(hold=30)
    port = src.serve()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_watch(tmp, port, "<popup>\n<command>date +%s%N\n", 35, subprocess.PIPE)
        stamps = []

        def read_stamps():
            for line in proc.stderr:
                line = line.strip()
                if line.isdigit():
                    stamps.append(int(line))

        threading.Thread(target=read_stamps, daemon=True).start()
        out = []
        try:
            for i in range(n):
                if not src.wait_pending():
                    sys.exit("watch never polled")
                time.sleep(random.uniform(0.15, 0.3))  # the poll is surely held
                body = json.dumps({"e": "RING", "n": "0388202020", "id": "c%d" % i}).encode()
                t0 = time.time_ns()
                src.release(body)
                deadline = time.time() + 5
                while time.time() < deadline:
                    if len(stamps) > i:
                        break
                    time.sleep(0.001)
                else:
                    sys.exit("no screen pop for event %d" % i)
                out.append((stamps[i] - t0) / 1e6)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return out


def idle(seconds):
    src = Source(hold=25)
    port = src.serve()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_watch(tmp, port, "<popup>\n<command>true\n", 30)
        try:
            time.sleep(seconds)
            with open("/proc/%d/status" % proc.pid) as f:
                status = dict(l.split(":", 1) for l in f if ":" in l)
            with open("/proc/%d/stat" % proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks = os.sysconf("SC_CLK_TCK")
            cpu = (int(fields[11]) + int(fields[12])) / ticks
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return status["VmRSS"].strip(), status["VmHWM"].strip(), cpu, src.polls


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    idle_s = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    lat = latency(n)
    lat.sort()
    print("event -> screen-pop command started, %d events: median %.2f ms, p90 %.2f ms, max %.2f ms"
          % (n, statistics.median(lat), lat[int(len(lat) * 0.9) - 1], lat[-1]))
    rss, hwm, cpu, polls = idle(idle_s)
    print("idle %.0f s on a long-polling source: VmRSS %s, VmHWM %s, CPU %.3f s (%.3f %%), %d polls"
          % (idle_s, rss, hwm, cpu, 100 * cpu / idle_s, polls))


if __name__ == "__main__":
    main()
