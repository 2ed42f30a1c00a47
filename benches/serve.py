#!/usr/bin/env python3
"""Benchmark of `ctibridge serve`: idle long polls and notification fan-out.

1. N stations (default 10 000) each hold a `getevent?…&cursor=` long poll on
   the same line; the server's resident memory (VmRSS, VmHWM) is read once
   they are all waiting.
2. One Keyyo notification for that line is sent; the time from sending it to
   each station receiving its answer is measured: median, p99, max.

Everything on 127.0.0.1. Usage:
  cargo build --release && python3 benches/serve.py [N]
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

EXE = os.path.join(os.path.dirname(__file__), "..", "target", "release", "ctibridge")
SECRET = "0123456789abcdef-bench"
LINE = "33972101010"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        status = dict(l.split(":", 1) for l in f if ":" in l)
    return status["VmRSS"].strip(), status["VmHWM"].strip()


async def station(port, token, ready, results, t0_box):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (
            "GET /DhDivaltoServerCTI/api/cti/getevent?ident=b&telorg=%s&cursor=0 HTTP/1.1\r\n"
            "Host: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n" % (LINE, token)
        ).encode()
    )
    await writer.drain()
    ready.append(1)
    await reader.read(1)  # the first byte of the answer
    results.append(time.perf_counter() - t0_box[0])
    await reader.read()
    writer.close()


async def main(n):
    port = free_port()
    proc = subprocess.Popen(
        [EXE, "serve", "--sim", "--hold", "120", "--listen", "127.0.0.1:%d" % port,
         "--keyyo-secret", SECRET],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        base = "http://127.0.0.1:%d" % port
        token = json.load(urllib.request.urlopen(base + "/DhDivaltoServerCTI/api/cti/gettoken?ident=b"))["token"]
        idle_rss, _ = rss(proc.pid)
        ready, results, t0 = [], [], [0.0]
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(station(port, token, ready, results, t0)))
            if i % 500 == 499:
                await asyncio.sleep(0.05)
        while len(ready) < n:
            await asyncio.sleep(0.1)
        await asyncio.sleep(3)  # all requests read and waiting
        held_rss, held_hwm = rss(proc.pid)
        url = (base + "/keyyo/notify?secret=%s&account=%s&caller=33388202020&callee=%s"
               "&callref=1&type=SETUP&version=1&tsms=1700000000000" % (SECRET, LINE, LINE))
        loop = asyncio.get_running_loop()
        t0[0] = time.perf_counter()
        await loop.run_in_executor(None, lambda: urllib.request.urlopen(url).read())
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
        lat = sorted(x * 1000 for x in results)
        print("%d idle long polls held: server VmRSS %s (idle before: %s), VmHWM %s"
              % (n, held_rss, idle_rss, held_hwm))
        print("notification -> %d waiting stations answered: median %.1f ms, p99 %.1f ms, max %.1f ms"
              % (len(lat), statistics.median(lat), lat[int(len(lat) * 0.99) - 1], lat[-1]))
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000))
