#!/usr/bin/env python3
"""Benchmarks of `ctibridge serve` (issue 6), each run RUNS times; medians.

1. Idle long polls: POLLS desks each hold a `getevent?…&cursor=` long poll on
   their own line; the server's resident memory (VmRSS) once all wait.
2. Notification ingest rate: keep-alive Keyyo notifications (each a new
   call reference, so each is validated, published and journaled) from 32
   connections for SECONDS, next to a bare hyper hello-world
   (examples/serve_bench.rs, on a current-thread runtime as `serve` runs)
   measured the same way in the same run; and the CPU time each server
   process spends per request (less noisy than a rate on a shared machine:
   the ratio of rates is bounded by it, each server answering on one thread).
3. Notification → waiting station: with POLLS idle long polls held on other
   lines, one station waits on its line, one notification for that line is
   sent; time until the station has read its answer; N times; p99.

Everything on 127.0.0.1. The server file used raises the per-address rate
limits (every request here comes from one address) and keeps its journal in
a file beside it (WAL), as a server in service does. Usage:
  cargo build --release --bin ctibridge --example serve_bench
  python3 benches/serve.py [RUNS [POLLS [SECONDS [N]]]]
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
import urllib.request

from benchnet import free_port, wait_listening

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
EXE = os.environ.get("CTIBRIDGE_BIN") or os.path.join(ROOT, "target", "release", "ctibridge")
TOOL = os.path.join(ROOT, "target", "release", "examples", "serve_bench")
SECRET = "0123456789abcdef-bench"
LINE = "33972101010"
SERVER_FILE = """<server>
<simulator>1
<journal>journal.sqlite
<hold>120
<rate>1000000
<keyyo_notify>
<secret>%s
<rate>1000000
""" % SECRET




def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        status = dict(l.split(":", 1) for l in f if ":" in l)
    return int(status["VmRSS"].split()[0])


def start_server(server_file):
    # Each server starts on an empty journal.
    for ext in ("", "-wal", "-shm"):
        path = os.path.join(os.path.dirname(server_file), "journal.sqlite" + ext)
        if os.path.exists(path):
            os.remove(path)
    port = free_port()
    proc = subprocess.Popen(
        [EXE, "serve", "--server", server_file, "--listen", "127.0.0.1:%d" % port],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port)
    return proc, port


def stop(proc):
    proc.terminate()
    proc.wait(timeout=30)


# Desks held per source address: fewer than the server's bound of held
# requests per address (PER_ADDRESS, 256), so that every poll is held.
PER_SOURCE = 200


def source_of(i):
    """The loopback address idle poll `i` comes from (127.0.1.2, …)."""
    k = i // PER_SOURCE
    return "127.0.%d.%d" % (1 + k // 250, 2 + k % 250)


answered = []


async def idle_poll(port, token, i, ready, tls=None):
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=tls, local_addr=(source_of(i), 0))
    writer.write((
        "GET /DhDivaltoServerCTI/api/cti/getevent?ident=d%d&telorg=09%08d&cursor=0 HTTP/1.1\r\n"
        "Host: x\r\nAuthorization: Bearer %s\r\n\r\n" % (i, i, token)).encode())
    await writer.drain()
    ready.append(1)
    try:
        if await reader.read(1):
            answered.append(i)  # not held: refused, or answered at once
    finally:
        writer.close()


async def idle_memory(server_file, polls, tls=None):
    """`tls`: an ssl context, for a server file that serves HTTPS."""
    proc, port = start_server(server_file)
    try:
        base = "%s://127.0.0.1:%d/DhDivaltoServerCTI/api/cti" % ("https" if tls else "http", port)
        token = json.load(urllib.request.urlopen(base + "/gettoken?ident=b", context=tls))["token"]
        idle = rss_kb(proc.pid)
        ready, tasks = [], []
        for i in range(polls):
            tasks.append(asyncio.create_task(idle_poll(port, token, i, ready, tls)))
            if i % 500 == 499:
                await asyncio.sleep(0.05)
        while len(ready) < polls:
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)  # every request read and waiting
        held = rss_kb(proc.pid)
        if answered:
            raise SystemExit("%d of the %d idle polls were answered at once, not held"
                             % (len(answered), polls))
        for t in tasks:
            t.cancel()
        return idle, held
    finally:
        stop(proc)


def cpu_seconds(pid):
    """User and system CPU time of process `pid` (all its threads), in s."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tool(*args):
    out = subprocess.run([TOOL, *map(str, args)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def ingest(server_file, seconds, cafile=None):
    """`cafile`: the authority of a server file that serves HTTPS."""
    hello_port = free_port()
    hello = subprocess.Popen([TOOL, "hello", "127.0.0.1:%d" % hello_port])
    wait_listening(hello_port)
    proc, port = start_server(server_file)
    try:
        # Keyyo's time of the event: one the server's memory of repeats
        # covers for the whole run, as the current time of real
        # notifications does (an older one is checked against the journal,
        # as a notification sent again long after). The load tool sends
        # one path, so it is set an hour ahead.
        path = ("/keyyo/notify?secret=%s&account=%s&caller=33388202020&callee=%s&type=SETUP"
                "&version=1&dref=&dref_replace=&session=&is_acd=0&redirecting=&tsms=%d"
                "&callref=" % (SECRET, LINE, LINE, time.time() * 1000 + 3_600_000))
        c = cpu_seconds(hello.pid)
        h = tool("load", "127.0.0.1:%d" % hello_port, "/hello?", 32, seconds)
        h_cpu = (cpu_seconds(hello.pid) - c) / h["requests"] * 1e6
        c = cpu_seconds(proc.pid)
        n = tool("load", "127.0.0.1:%d" % port, path, 32, seconds, *([cafile] if cafile else []))
        n_cpu = (cpu_seconds(proc.pid) - c) / n["requests"] * 1e6
        assert n["not_200"] == 0, n
        return h["rate"], n["rate"], h_cpu, n_cpu
    finally:
        stop(proc)
        hello.terminate()
        hello.wait()


def latency(server_file, polls, n):
    proc, port = start_server(server_file)
    try:
        return tool("latency", "127.0.0.1:%d" % port, SECRET, LINE, n, polls)
    finally:
        stop(proc)


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    polls = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(4 * polls + 1000, soft)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    with tempfile.TemporaryDirectory() as d:
        server_file = os.path.join(d, "server_param.txt")
        with open(server_file, "w") as f:
            f.write(SERVER_FILE)
        mem, rates, cpus, lats = [], [], [], []
        for r in range(runs):
            idle, held = asyncio.run(idle_memory(server_file, polls))
            mem.append(held)
            print("run %d: %d idle long polls: VmRSS %.1f MB (idle server %.1f MB)"
                  % (r + 1, polls, held / 1024, idle / 1024), flush=True)
            hello, notify, hello_cpu, notify_cpu = ingest(server_file, seconds)
            rates.append((hello, notify))
            cpus.append((hello_cpu, notify_cpu))
            print("run %d: ingest %.0f notifications/s, hyper hello-world %.0f requests/s: %.2fx"
                  " (server CPU per request %.1f us, hello-world's %.1f us: %.2fx)"
                  % (r + 1, notify, hello, notify / hello, notify_cpu, hello_cpu,
                     hello_cpu / notify_cpu), flush=True)
            lat = latency(server_file, polls, n)
            lats.append(lat)
            print("run %d: notification -> waiting station (%d idle polls on other lines, %d notifications):"
                  " median %.2f ms, p99 %.2f ms, max %.2f ms"
                  % (r + 1, polls, n, lat["median_ms"], lat["p99_ms"], lat["max_ms"]), flush=True)
        print("medians of %d runs:" % runs)
        print("  %d idle long polls: VmRSS %.1f MB (goal < 200 MB)"
              % (polls, statistics.median(mem) / 1024))
        hello = statistics.median(h for h, _ in rates)
        notify = statistics.median(x for _, x in rates)
        print("  ingest %.0f/s vs hyper hello-world %.0f/s: %.2fx (goal >= 0.6x)"
              % (notify, hello, statistics.median(x / h for h, x in rates)))
        print("  server CPU per notification %.1f us vs per hello-world request %.1f us: %.2fx"
              % (statistics.median(n for _, n in cpus), statistics.median(h for h, _ in cpus),
                 statistics.median(h / n for h, n in cpus)))
        print("  notification -> station p99 %.2f ms (median %.2f ms; goal < 20 ms)"
              % (statistics.median(l["p99_ms"] for l in lats),
                 statistics.median(l["median_ms"] for l in lats)))


if __name__ == "__main__":
    main()
