#!/usr/bin/env python3
"""Normal-client success while F silent connections are held open (and reopened as soon as the
proxy closes them), for sluice and, with --peers, nginx as Debian configures it
(worker_connections 768) and HAProxy (maxconn 10000). Not a test: prints figures for the README.
Loopback only, bounded in time.

    ulimit -n 200000; python3 tests/bench/idle_flood.py --sluice build/sluice -f 20000 --peers
"""
import argparse
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from fastload import NginxTarget  # noqa: E402
from harness import free_port  # noqa: E402
from stalled_readers import wait_port  # noqa: E402


def start(kind, binary, up_port, d, max_conns):
    port = free_port()
    if kind == "sluice":
        conf = os.path.join(d, "s.yaml")
        open(conf, "w").write(
            "workers: 1\nlimits: {max_connections: %d}\naccess_log: {path: off}\n"
            "listeners: [{name: main, address: 127.0.0.1:%d}]\n"
            "upstreams: [{name: app, targets: [{address: 127.0.0.1:%d}]}]\n"
            "routes: [{name: r, match: {path_prefix: /}, upstream: app}]\n"
            % (max_conns, port, up_port))
        p = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    elif kind == "nginx":
        conf = os.path.join(d, "n.conf")
        open(conf, "w").write(
            "daemon off; worker_processes 1; pid %s/n.pid; error_log %s/n.err;\n"
            "events { worker_connections 768; }\nhttp { access_log off;\n"
            "server { listen 127.0.0.1:%d; location / { proxy_pass http://127.0.0.1:%d; } } }\n"
            % (d, d, port, up_port))
        p = subprocess.Popen(["nginx", "-p", d, "-c", conf, "-e", d + "/n.err"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        conf = os.path.join(d, "h.cfg")
        open(conf, "w").write(
            "global\n  maxconn %d\n  nbthread 1\ndefaults\n  mode http\n  timeout connect 5s\n"
            "  timeout client 60s\n  timeout server 60s\n  timeout http-request 10s\n"
            "frontend f\n  bind 127.0.0.1:%d\n  default_backend b\n"
            "backend b\n  server s1 127.0.0.1:%d\n" % (max_conns, port, up_port))
        p = subprocess.Popen(["haproxy", "-f", conf, "-db"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port


def flood(port, n, stop):
    """Keeps n silent connections open, reopening each one the proxy closes."""
    sel = selectors.DefaultSelector()
    opened = 0
    while not stop.is_set():
        while len(sel.get_map()) < n and not stop.is_set():
            try:
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(("127.0.0.1", port))
                sel.register(s, selectors.EVENT_READ)
                opened += 1
            except OSError:
                break
        for key, _ in sel.select(timeout=0.05):
            try:
                data = key.fileobj.recv(1)
            except OSError:
                data = b""
            if not data:
                sel.unregister(key.fileobj)
                key.fileobj.close()
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    return opened


def probe(port, seconds):
    ok = fail = 0
    t_end = time.time() + seconds
    while time.time() < t_end:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
            s.settimeout(2)
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            data = s.recv(100)
            ok += data.startswith(b"HTTP/1.1 200")
            fail += not data.startswith(b"HTTP/1.1 200")
            s.close()
        except OSError:
            fail += 1
        time.sleep(0.02)
    return ok, fail


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--peers", action="store_true")
    ap.add_argument("-f", type=int, default=20000, help="silent connections")
    ap.add_argument("--max-connections", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=25)
    a = ap.parse_args()
    up = NginxTarget().start()
    try:
        for kind in ["sluice"] + (["nginx", "haproxy"] if a.peers else []):
            d = tempfile.mkdtemp(prefix="flood-")
            p, port = start(kind, a.sluice, up.port, d, a.max_connections)
            stop = threading.Event()
            res = {}
            t = threading.Thread(target=lambda: res.update(opened=flood(port, a.f, stop)))
            t.start()
            time.sleep(3)
            ok, fail = probe(port, a.seconds)
            stop.set()
            t.join()
            p.terminate()
            p.wait(timeout=30)
            print("%-8s %d silent connections held (%d opened in all): normal clients %d ok, "
                  "%d failed (%.1f%%)" % (kind, a.f, res.get("opened", 0), ok, fail,
                                          100.0 * ok / max(ok + fail, 1)), flush=True)
    finally:
        up.stop()


if __name__ == "__main__":
    main()
