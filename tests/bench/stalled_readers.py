#!/usr/bin/env python3
"""Memory of sluice (and, for comparison, nginx and HAProxy) under N clients that request a
16 MiB file and then read nothing (slowhttptest -X style), and after they are gone. Not a test:
prints figures for the README. Loopback only, bounded in time.

    ulimit -n 200000; python3 tests/bench/stalled_readers.py --sluice build/sluice -n 1000 10000
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from fastload import NginxTarget  # noqa: E402
from harness import free_port  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree_rss(pid):
    """RSS of a process and its children (nginx/HAProxy workers)."""
    total = rss_kib(pid)
    try:
        kids = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
        for k in kids.split():
            total += rss_kib(int(k))
    except OSError:
        pass
    return total


def wait_port(port, timeout=10):
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never opened" % port)


def start_sluice(binary, up_port, d):
    port = free_port()
    conf = os.path.join(d, "sluice.yaml")
    with open(conf, "w") as f:
        f.write("workers: 1\nlimits: {max_connections: 100000}\naccess_log: {path: off}\n"
                "listeners: [{name: main, address: 127.0.0.1:%d}]\n"
                "upstreams: [{name: files, targets: [{address: 127.0.0.1:%d}]}]\n"
                "routes: [{name: r, match: {path_prefix: /}, upstream: files}]\n" % (port, up_port))
    p = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port


def start_nginx(up_port, d):
    port = free_port()
    conf = os.path.join(d, "nginx-proxy.conf")
    with open(conf, "w") as f:
        f.write("daemon off; master_process on; worker_processes 1; worker_rlimit_nofile 200000;\n"
                "pid %s/np.pid; error_log %s/np.err;\nevents { worker_connections 100000; }\n"
                "http { access_log off; upstream u { server 127.0.0.1:%d; keepalive 64; }\n"
                "server { listen 127.0.0.1:%d; location / { proxy_pass http://u;"
                " proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }\n"
                % (d, d, up_port, port))
    p = subprocess.Popen(["nginx", "-p", d, "-c", conf, "-e", d + "/np.err"])
    wait_port(port)
    return p, port


def start_haproxy(up_port, d):
    port = free_port()
    conf = os.path.join(d, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write("global\n  maxconn 9500\n  nbthread 1\ndefaults\n  mode http\n"
                "  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n"
                "frontend f\n  bind 127.0.0.1:%d\n  default_backend b\n"
                "backend b\n  server s1 127.0.0.1:%d\n" % (port, up_port))
    p = subprocess.Popen(["haproxy", "-f", conf, "-db"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port


def measure(name, proc, port, n):
    base = tree_rss(proc.pid)
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /big/16m HTTP/1.1\r\nHost: t\r\n\r\n")
        socks.append(s)
    time.sleep(max(3.0, n / 1000.0))
    loaded = tree_rss(proc.pid)
    for s in socks:
        s.close()
    time.sleep(3.0)
    after = tree_rss(proc.pid)
    print("%-8s n=%6d  RSS before %7d KiB  stalled %8d KiB (%.1f KiB each)  after %7d KiB"
          % (name, n, base, loaded, (loaded - base) / n, after), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--peers", action="store_true", help="also nginx and HAProxy")
    ap.add_argument("-n", type=int, nargs="+", default=[1000])
    a = ap.parse_args()
    up = NginxTarget().add_file("16m", 16 << 20).start()
    try:
        kinds = ["sluice"] + (["nginx", "haproxy"] if a.peers else [])
        for kind in kinds:
            for n in a.n:
                d = tempfile.mkdtemp(prefix="stalled-")
                if kind == "sluice":
                    p, port = start_sluice(a.sluice, up.port, d)
                elif kind == "nginx":
                    p, port = start_nginx(up.port, d)
                else:
                    p, port = start_haproxy(up.port, d)
                try:
                    measure(kind, p, port, n)
                finally:
                    p.terminate()
                    p.wait(timeout=30)
    finally:
        up.stop()


if __name__ == "__main__":
    main()
