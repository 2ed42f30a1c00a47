#!/usr/bin/env python3
"""Benchmarks of the caller lookup (issue 15), on 127.0.0.1.

1. Pop latency with a cached name: two `ctibridge watch` run side by side
   on long-polling sources, one without `<lookup>` (today's pop), one with
   a `<lookup>` whose answer for the caller is already cached; events are
   released to each in turn and the time from the event to the screen-pop
   command starting (`date +%s%N`, as benches/watch.py) is taken for both.
   The figure is the difference of the medians (goal: < 1 ms).
2. Server burst: `ctibridge serve --sim` with a `<lookup>` against a
   stand-in ERP that answers each request in 20 ms and records how many it
   holds at once; a burst of distinct callers arrives as Keyyo
   notifications from many threads at once. Reported: the most requests
   the ERP saw at once (goal: never above `<lookup_parallel>`), the time
   each notification took to be journaled and published (goal: all within
   `<lookup_timeout>` plus the journal's commit), how many calls were named.

Usage: cargo build --release && python3 benches/names.py [EVENTS] [CALLERS]
"""

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(__file__))
from watch import EXE, Source  # noqa: E402


class Erp:
    """A stand-in ERP in a process of its own (the burst's client threads
    would otherwise share its interpreter): `delay` s per answer; counts
    requests held at once and in all."""

    def __init__(self, delay):
        import multiprocessing as mp
        self.now = mp.Value("i", 0)
        self.most_v = mp.Value("i", 0)
        self.requests_v = mp.Value("i", 0)
        ready = mp.Queue()
        self.proc = mp.Process(
            target=serve_erp, args=(delay, self.now, self.most_v, self.requests_v, ready), daemon=True
        )
        self.proc.start()
        self.port = ready.get(timeout=10)

    @property
    def most(self):
        return self.most_v.value

    @property
    def requests(self):
        return self.requests_v.value


def serve_erp(delay, now, most, requests, ready):
    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body in one segment, sent at once: without these,
        # Nagle's algorithm holds the body until the client's delayed ACK
        # (40 ms), and the ERP looks twice as slow as it is.
        disable_nagle_algorithm = True
        wbufsize = 65536

        def do_GET(self):
            with now.get_lock():
                now.value += 1
                most.value = max(most.value, now.value)
            with requests.get_lock():
                requests.value += 1
            time.sleep(delay)
            with now.get_lock():
                now.value -= 1
            tel = self.path.rsplit("=", 1)[-1]
            body = json.dumps({"name": "Client %s" % tel, "company": "SA %s" % tel[-4:]}).encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()
            except OSError:
                pass  # the lookup gave up (its caller popped without the name)

        def log_message(self, *a):
            pass

        def handle(self):
            try:
                super().handle()
            except OSError:
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    httpd.daemon_threads = True
    ready.put(httpd.server_address[1])
    httpd.serve_forever()


def start_watch(tmp, name, port, extra):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    param = os.path.join(d, "clicktocall_param.txt")
    with open(param, "w") as f:
        f.write(
            "<global>\n<timeout1>0\n<timeout2>0\n<timeout3>35\n"
            "<cliktocallevent>\n<with_event>1\n<url>http://127.0.0.1:%d/ev\n"
            "<json_event>e\n<json_tel>n\n<json_callid>id\n"
            "<popup>\n<command>date +%%s%%N\n%s" % (port, extra)
        )
    station = os.path.join(d, "station.txt")
    with open(station, "w") as f:
        f.write("<telorg>1003\n")
    env = dict(os.environ, CTIBRIDGE_CONFIG_DIR=d, CTIBRIDGE_CACHE_DIR=d, CTIBRIDGE_SYS_DIR=d)
    proc = subprocess.Popen(
        [EXE, "--param", param, "--station", station, "watch", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    stamps = []

    def read():
        for line in proc.stderr:
            line = line.strip()
            if line.isdigit():
                stamps.append(int(line))

    threading.Thread(target=read, daemon=True).start()
    return proc, stamps


def one_pop(src, stamps, i):
    if not src.wait_pending():
        sys.exit("watch never polled")
    time.sleep(random.uniform(0.15, 0.3))  # the poll is surely held
    body = json.dumps({"e": "RING", "n": "0388202020", "id": "c%d" % i}).encode()
    before = len(stamps)
    t0 = time.time_ns()
    src.release(body)
    deadline = time.time() + 5
    while len(stamps) <= before:
        if time.time() > deadline:
            sys.exit("no screen pop")
        time.sleep(0.0005)
    return (stamps[before] - t0) / 1e6


def cached_pop(n):
    erp = Erp(0.0)
    plain_src, named_src = Source(hold=30), Source(hold=30)
    plain_port, named_port = plain_src.serve(), named_src.serve()
    with tempfile.TemporaryDirectory() as tmp:
        plain, plain_stamps = start_watch(tmp, "plain", plain_port, "")
        named, named_stamps = start_watch(
            tmp, "named", named_port,
            "<lookup>\n<url>http://127.0.0.1:%d/erp?tel=$tel$\n<json_name>name\n<json_company>company\n" % erp.port,
        )
        try:
            # The first call fills the cache.
            one_pop(named_src, named_stamps, 0)
            a, b = [], []
            for i in range(1, n + 1):
                a.append(one_pop(plain_src, plain_stamps, i))
                b.append(one_pop(named_src, named_stamps, i))
        finally:
            for p in (plain, named):
                p.terminate()
                p.wait(timeout=10)
    return a, b, erp.requests


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def burst(callers, parallel, budget):
    erp = Erp(0.020)
    secret = "0123456789abcdef-bench"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = os.path.join(tmp, "server_param.txt")
        with open(server, "w") as f:
            f.write(
                "<server>\n<simulator>1\n<journal>journal.sqlite\n<rate>1000000\n"
                "<keyyo_notify>\n<secret>%s\n<sources>127\\.0\\.0\\.1\n<rate>1000000\n"
                "<desk>\n<ident>paul\n<secret>changeme\n<lines>33972101010\n"
                "<lookup>\n<url>http://127.0.0.1:%d/erp?tel=$tele164$\n<json_name>name\n<json_company>company\n"
                "<lookup_timeout>%s\n<lookup_parallel>%d\n" % (secret, erp.port, budget, parallel)
            )
        os.chmod(server, 0o600)
        proc = subprocess.Popen(
            [EXE, "serve", "--server", server, "--listen", "127.0.0.1:%d" % port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=dict(os.environ, CTIBRIDGE_CACHE_DIR=tmp),
        )
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("the server never listened")
                time.sleep(0.02)

        def notify(i):
            caller = "336%08d" % (10_000_000 + i)
            url = ("http://127.0.0.1:%d/keyyo/notify?secret=%s&account=33972101010&caller=%s"
                   "&callee=33972101010&callref=b%d&type=SETUP&version=1&tsms=%d"
                   % (port, secret, caller, i, time.time() * 1000))
            t0 = time.perf_counter()
            with urllib.request.urlopen(url, timeout=30) as r:
                r.read()
                status = r.status
            return status, (time.perf_counter() - t0) * 1000

        try:
            with ThreadPoolExecutor(max_workers=200) as pool:
                t0 = time.perf_counter()
                results = list(pool.map(notify, range(callers)))
                took = time.perf_counter() - t0
            db = os.path.join(tmp, "journal.sqlite")
            out = subprocess.run(
                ["sqlite3", db, "SELECT count(*), count(name) FROM events"],
                capture_output=True, text=True,
            ).stdout.strip() if shutil_which("sqlite3") else ""
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    lat = sorted(ms for _, ms in results)
    bad = [s for s, _ in results if s != 200]
    return {
        "callers": callers,
        "took_s": took,
        "refused": len(bad),
        "median_ms": statistics.median(lat),
        "p99_ms": lat[int(len(lat) * 0.99) - 1],
        "max_ms": lat[-1],
        "erp_most_at_once": erp.most,
        "erp_requests": erp.requests,
        "journal": out,
    }


def shutil_which(name):
    import shutil
    return shutil.which(name)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    callers = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    a, b, asked = cached_pop(n)
    ma, mb = statistics.median(a), statistics.median(b)
    print("pop latency, %d events each: without <lookup> median %.2f ms; with the name cached median %.2f ms;"
          " added %.2f ms (ERP asked %d time(s))" % (n, ma, mb, mb - ma, asked))
    r = burst(callers, parallel=8, budget="0.4")
    rows, named = (r["journal"].split("|") + ["?", "?"])[:2]
    print("burst of %d distinct callers, ERP 20 ms/answer, <lookup_parallel>8, <lookup_timeout>0.4: "
          "in %.2f s; notification journaled+published median %.0f ms, p99 %.0f ms, max %.0f ms; "
          "ERP held at most %d at once, %d requests; %s events, %s named; %d refused"
          % (r["callers"], r["took_s"], r["median_ms"], r["p99_ms"], r["max_ms"],
             r["erp_most_at_once"], r["erp_requests"], rows, named, r["refused"]))


if __name__ == "__main__":
    main()
