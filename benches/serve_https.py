#!/usr/bin/env python3
"""`ctibridge serve` over HTTPS next to plain HTTP, in the same run (issue
14): memory with POLLS idle long polls, and the notification ingest rate
next to the bare hyper hello-world (plain HTTP, as in benches/serve.py),
each measured for the HTTP server then the HTTPS one, RUNS times; medians.
The certificate is made for the run by openssl (a test authority and a
certificate for 127.0.0.1, ECDSA P-256). Usage:
  cargo build --release --bin ctibridge --example serve_bench
  python3 benches/serve_https.py [RUNS [POLLS [SECONDS]]]
"""

import asyncio
import os
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serve  # noqa: E402


def authority_and_certificate(d):
    """ca.pem, and cert.pem/key.pem for 127.0.0.1 signed by it, in `d`."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=ctibridge bench CA")
    run("req", *ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "leaf.ext")
    return os.path.join(d, "ca.pem")


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    polls = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(max(4 * polls + 1000, soft), hard), hard))
    with tempfile.TemporaryDirectory() as d:
        cafile = authority_and_certificate(d)
        tls = ssl.create_default_context(cafile=cafile)
        files = {}
        for name, extra in (("http", ""), ("https", "<tls_cert>cert.pem\n<tls_key>key.pem\n")):
            sub = os.path.join(d, name)
            os.mkdir(sub)
            for pem in ("cert.pem", "key.pem"):
                os.link(os.path.join(d, pem), os.path.join(sub, pem))
            path = os.path.join(sub, "server_param.txt")
            with open(path, "w") as f:
                f.write(serve.SERVER_FILE.replace("<server>\n", "<server>\n" + extra, 1))
            files[name] = path
        mem = {"http": [], "https": []}
        ratio = {"http": [], "https": []}
        cpu = {"http": [], "https": []}
        for r in range(runs):
            for name in ("http", "https"):
                ctx = tls if name == "https" else None
                _, held = asyncio.run(serve.idle_memory(files[name], polls, ctx))
                mem[name].append(held)
                hello, notify, hello_cpu, notify_cpu = serve.ingest(
                    files[name], seconds, cafile if name == "https" else None)
                ratio[name].append(notify / hello)
                cpu[name].append(notify_cpu)
                print("run %d %-5s: %d idle polls VmRSS %.1f MB; ingest %.0f/s vs hello-world %.0f/s:"
                      " %.2fx (server CPU %.1f us per notification)"
                      % (r + 1, name, polls, held / 1024, notify, hello, notify / hello, notify_cpu),
                      flush=True)
        print("medians of %d runs:" % runs)
        for name in ("http", "https"):
            print("  %-5s: %d idle long polls VmRSS %.1f MB; ingest %.2fx hello-world; %.1f us CPU per notification"
                  % (name, polls, statistics.median(mem[name]) / 1024,
                     statistics.median(ratio[name]), statistics.median(cpu[name])))


if __name__ == "__main__":
    main()
