#!/usr/bin/env python3
"""Times `ctibridge dial` from a fresh process against `curl` sending the
same request to the same loopback server, interleaved, in one run.

    cargo build --release && python3 benches/dial_vs_curl.py [RUNS] [FORMAT NUMBER]

FORMAT and NUMBER (default: asdialled, 0388202020) are the param file's
`<number_format>` and the number clicked, e.g.
`international '+33 (0)3 88 20 20 20'`: curl sends the digits ctibridge
sends (the format is checked on the first, untimed dial).

The server is a small threaded HTTP/1.1 server on 127.0.0.1 that answers
`/token` with a JSON token and `/dial` with `OK`. ctibridge's token is cached
by a first, untimed dial, so each timed dial is one request, as curl's is.
Prints the median and quartiles of each, and the ratio of the medians
(goal: ctibridge within 1.2x of curl).
"""

import http.server
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
FORMAT = sys.argv[2] if len(sys.argv) > 2 else "asdialled"
NUMBER = sys.argv[3] if len(sys.argv) > 3 else "0388202020"
# What the server must receive in `tel=` for NUMBER in FORMAT (the bench
# checks it before timing anything).
EXPECTED = {"asdialled": None, "national": "0388202020", "e164": "%2B33388202020",
            "international": "33388202020", "international00": "0033388202020"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CTIBRIDGE_BIN") or os.path.join(ROOT, "target", "release", "ctibridge")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    last_path = None

    def _answer(self):
        Handler.last_path = self.path
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = b'{"token":"tok1"}' if self.path.startswith("/token") else b"OK"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *args):
        pass


def main():
    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    curl = shutil.which("curl")
    if not curl:
        sys.exit("curl is needed as the anchor: apt-get install curl")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"

    work = tempfile.mkdtemp(prefix="ctibridge-bench-")
    param = os.path.join(work, "clicktocall_param.txt")
    station = os.path.join(work, "station.txt")
    with open(param, "w") as f:
        f.write(
            f"<global>\n<number_format>{FORMAT}\n"
            "<cliktocalldial>\n"
            f"<url>{base}/dial?ident=$ident$&telorg=$telorg$&tel=$teldest$&cmdevent=$event$\n"
            "<headers>Authorization: Bearer $token$\n"
            "<cliktocalltoken>\n<with_token>1\n"
            f"<url>{base}/token\n<json_token>token\n"
        )
    with open(station, "w") as f:
        f.write("<user>paul\n<mdp>secret\n<ident>desk1\n<telorg>1003\n")
    env = dict(os.environ, CTIBRIDGE_CONFIG_DIR=os.path.join(work, "user"),
               CTIBRIDGE_CACHE_DIR=os.path.join(work, "cache"), CTIBRIDGE_SYS_DIR=work)
    dial = [BIN, "--param", param, "--station", station, "dial", NUMBER]
    tel = EXPECTED.get(FORMAT) or "".join(c for c in NUMBER if c.isdigit() or c == "+")
    same_request = [curl, "-sS", "-o", "/dev/null", "-X", "POST",
                    "-H", "Authorization: Bearer tok1",
                    "-H", "Content-Type: application/x-www-form-urlencoded",
                    "--data-binary", "",
                    f"{base}/dial?ident=desk1&telorg=1003&tel={tel}&cmdevent=DIAL"]

    subprocess.run(dial, env=env, check=True)  # fetches and caches the token
    if Handler.last_path != f"/dial?ident=desk1&telorg=1003&tel={tel}&cmdevent=DIAL":
        sys.exit(f"ctibridge sent {Handler.last_path}, not tel={tel}")
    for _ in range(10):  # warm the page cache for both
        subprocess.run(dial, env=env, check=True)
        subprocess.run(same_request, check=True)

    times = {"ctibridge": [], "curl": []}
    for _ in range(RUNS):
        for name, cmd, e in (("ctibridge", dial, env), ("curl", same_request, None)):
            t0 = time.perf_counter()
            subprocess.run(cmd, env=e, check=True)
            times[name].append((time.perf_counter() - t0) * 1000)
    server.shutdown()
    shutil.rmtree(work, ignore_errors=True)

    for name, ts in times.items():
        q = statistics.quantiles(ts, n=4)
        print(f"{name:10} median {statistics.median(ts):6.2f} ms   (q1 {q[0]:.2f}, q3 {q[2]:.2f}, {len(ts)} runs)")
    ratio = statistics.median(times["ctibridge"]) / statistics.median(times["curl"])
    print(f"ratio      {ratio:.2f}x (goal: at most 1.2x)")


if __name__ == "__main__":
    main()
