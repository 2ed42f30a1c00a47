#!/usr/bin/env python3
"""`setevent` through a slow provider while desks long-poll (issue 13).

A stand-in Keyyo on 127.0.0.1 answers every makecall after DELAY seconds
(2 by default). The bridge server (`serve`, Keyyo profile, Keyyo
notifications on) gets DIALS concurrent `setevent` calls, each from a line
of its own, sent again as soon as answered, for the whole run; meanwhile
`examples/serve_bench latency` holds POLLS idle long polls on other lines
and measures, N times, the time from a Keyyo notification to the station
waiting on that line reading its answer. The same latency is measured first
with no dial in flight. Reports both p99s (goal: under 20 ms with the dials
in flight, as without), and the dials answered.

    cargo build --release --bin ctibridge --example serve_bench
    python3 benches/setevent.py [RUNS [DIALS [POLLS [N [DELAY]]]]]

CTIBRIDGE_BIN runs another build of ctibridge (to compare builds).
"""

import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchnet import free_port, wait_listening

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXE = os.environ.get("CTIBRIDGE_BIN") or os.path.join(ROOT, "target", "release", "ctibridge")
TOOL = os.path.join(ROOT, "target", "release", "examples", "serve_bench")
SECRET = "0123456789abcdef-bench"
LINE = "33972101010"
LINE2 = "33972101011"
CTI = "/DhDivaltoServerCTI/api/cti"




async def read_answer(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    return status, body


class Provider:
    """Answers every request `OK` after `delay` seconds (keep-alive)."""

    def __init__(self, delay):
        self.delay = delay
        self.calls = 0

    async def handle(self, reader, writer):
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                self.calls += 1
                await asyncio.sleep(self.delay)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # The bench is over while the server's dialer still holds this
            # keep-alive connection: nothing to report.
            pass
        finally:
            writer.close()


async def dial_loop(port, token, i, stop, results):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    line = "336%08d" % (12000000 + i)
    try:
        while not stop.is_set():
            writer.write((
                "POST %s/setevent?ident=d%d&telorg=%s&tel=0388202020&cmdevent=DIAL HTTP/1.1\r\n"
                "Host: b\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n\r\n"
                % (CTI, i, line, token)).encode())
            await writer.drain()
            status, _ = await read_answer(reader)
            results.append(status)
    finally:
        writer.close()


async def run(delay, dials, polls, n):
    provider = Provider(delay)
    pserver = await asyncio.start_server(provider.handle, "127.0.0.1", 0)
    pport = pserver.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        server_file = os.path.join(d, "server_param.txt")
        with open(server_file, "w") as f:
            f.write("<server>\n<hold>120\n<rate>1000000\n<global>\n<provider>keyyo\n"
                    "<api_url>http://127.0.0.1:%d\n<station>\n<telorg>%s\n"
                    "<keyyo_notify>\n<secret>%s\n<rate>1000000\n" % (pport, LINE, SECRET))
        port = free_port()
        env = dict(os.environ, CTIBRIDGE_CACHE_DIR=d, CTIBRIDGE_CONFIG_DIR=d)
        server = subprocess.Popen(
            [EXE, "serve", "--server", server_file, "--listen", "127.0.0.1:%d" % port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            await asyncio.get_running_loop().run_in_executor(None, wait_listening, port)
            r, w = await asyncio.open_connection("127.0.0.1", port)
            w.write(("GET %s/gettoken?ident=bench HTTP/1.1\r\nHost: b\r\n\r\n" % CTI).encode())
            token = json.loads((await read_answer(r))[1])["token"]
            w.close()

            async def latency(line):
                p = await asyncio.create_subprocess_exec(
                    TOOL, "latency", "127.0.0.1:%d" % port, SECRET, line, str(n), str(polls),
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                out, err = await p.communicate()
                assert p.returncode == 0, err.decode(errors="replace")[-2000:]
                return json.loads(out)

            quiet = await latency(LINE)
            stop, results = asyncio.Event(), []
            loops = [asyncio.create_task(dial_loop(port, token, i, stop, results))
                     for i in range(dials)]
            # Every dial is in flight at the provider before measuring.
            while provider.calls < dials:
                await asyncio.sleep(0.05)
            # A line of its own: the first run's events are not read again.
            busy = await latency(LINE2)
            stop.set()
            await asyncio.gather(*loops)
            return quiet, busy, results, provider.calls
        finally:
            server.terminate()
            server.wait(timeout=30)
            pserver.close()
            await pserver.wait_closed()


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    dials = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    polls = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    delay = float(sys.argv[5]) if len(sys.argv) > 5 else 2.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(4 * polls + 1000, soft), hard), hard))
    quiet_p99, busy_p99 = [], []
    for r in range(runs):
        quiet, busy, results, calls = asyncio.run(run(delay, dials, polls, n))
        ok = sum(1 for s in results if s == 200)
        quiet_p99.append(quiet["p99_ms"])
        busy_p99.append(busy["p99_ms"])
        print("run %d: notification -> station, %d idle polls: no dial p99 %.2f ms (median %.2f); "
              "%d dials in flight (provider answers after %.1f s): p99 %.2f ms (median %.2f, max %.2f); "
              "setevent answered %d (%d x 200), provider called %d times"
              % (r + 1, polls, quiet["p99_ms"], quiet["median_ms"], dials, delay, busy["p99_ms"],
                 busy["median_ms"], busy["max_ms"], len(results), ok, calls), flush=True)
        assert ok == len(results), "a setevent was not answered 200"
    print("medians of %d runs: p99 with %d dials in flight %.2f ms, with none %.2f ms (goal < 20 ms)"
          % (runs, dials, statistics.median(busy_p99), statistics.median(quiet_p99)))


if __name__ == "__main__":
    main()
