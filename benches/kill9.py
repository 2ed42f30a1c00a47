#!/usr/bin/env python3
"""`kill -9` of `ctibridge serve` in the middle of a burst of Keyyo
notifications, ROUNDS times on one journal; then every notification that
was answered 200 is looked for in the journal (goal: none lost).

    cargo build --release && python3 benches/kill9.py [ROUNDS [SENDERS]]

Each round starts the server on the journal, SENDERS threads send
notifications as fast as their keep-alive connections allow (each with its
own call reference), and the server is killed with SIGKILL after a number
of acknowledgements that varies by round (so the kill falls anywhere in a
batch). Everything on 127.0.0.1.
"""

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from benchnet import free_port, wait_listening

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.environ.get("CTIBRIDGE_BIN") or os.path.join(ROOT, "target", "release", "ctibridge")
SECRET = "0123456789abcdef-kill9"
SERVER_FILE = """<server>
<simulator>1
<journal>journal.sqlite
<rate>1000000
<keyyo_notify>
<secret>%s
<sources>127\\.0\\.0\\.1
<rate>1000000
""" % SECRET



def sender(port, name, acked, lock, stop):
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        f = s.makefile("rb")
    except OSError:
        return
    i = 0
    while not stop.is_set() and i < 10_000_000:
        ref = "%s-%d" % (name, i)
        i += 1
        req = ("GET /keyyo/notify?secret=%s&account=33972101010&caller=33388202020"
               "&callee=33972101010&callref=%s&type=SETUP&version=1&tsms=%d"
               " HTTP/1.1\r\nHost: x\r\n\r\n" % (SECRET, ref, time.time() * 1000))
        try:
            s.sendall(req.encode())
            status = f.readline()
            if not status:
                return
            length = 0
            while True:
                h = f.readline()
                if not h or h == b"\r\n":
                    break
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
            f.read(length)
        except OSError:
            return
        if status.split()[1] == b"200":
            with lock:
                acked.append(ref)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    senders = int(sys.argv[2]) if len(sys.argv) > 2 else 16
    with tempfile.TemporaryDirectory() as d:
        server_file = os.path.join(d, "server_param.txt")
        with open(server_file, "w") as f:
            f.write(SERVER_FILE)
        os.chmod(server_file, 0o600)
        acked, lock = [], threading.Lock()
        started = time.time()
        for r in range(rounds):
            port = free_port()
            proc = subprocess.Popen([EXE, "serve", "--server", server_file,
                                     "--listen", "127.0.0.1:%d" % port],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_listening(port)
            stop = threading.Event()
            before = len(acked)
            want = before + random.randint(2_000, 20_000)
            threads = [threading.Thread(target=sender, args=(port, "r%d-s%d" % (r, t), acked, lock, stop))
                       for t in range(senders)]
            for t in threads:
                t.start()
            deadline = time.time() + 60
            while len(acked) < want and time.time() < deadline:
                time.sleep(0.001)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            stop.set()
            for t in threads:
                t.join()
            print("round %2d: %6d acknowledged, then kill -9" % (r + 1, len(acked) - before), flush=True)
        elapsed = time.time() - started
        db = sqlite3.connect(os.path.join(d, "journal.sqlite"))
        kept = {row[0] for row in db.execute("SELECT callref FROM events")}
        lost = [a for a in acked if a not in kept]
        print("%d rounds, %d notifications acknowledged (%.0f/s while running), %d in the journal: %d lost (goal: 0)"
              % (rounds, len(acked), len(acked) / elapsed, len(kept), len(lost)))
        if lost:
            print("lost, e.g.:", lost[:5])
            sys.exit(1)


if __name__ == "__main__":
    main()
