#!/usr/bin/python3
"""Memory per idle keep-alive client connection, sluice beside nginx measured the same way
(issue 20): each proxy (one worker, a keep-alive pool to an nginx upstream) gets N client
connections that each make one request and then stay silent (scaling.py's hold_idle, from its
own process); the figure is the proxy worker's RSS growth divided by N, read 1 s and 5 s after
the last answer, and the growth from the smaller N to the larger one per added connection
(which leaves out what a burst of N requests in flight leaves behind in the allocator).
Not a test: figures for the README. Loopback only; N up to the descriptor limit less 2,000.

    /usr/bin/python3 tests/bench/idle_memory.py --sluice build/sluice --sizes 10000,18000
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("SLUICE_SOURCE_DIR", os.path.join(HERE, "..", ".."))

import scaling  # noqa: E402
from harness import Sluice, free_port, make_config  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS"))


def measure(pid, port, n):
    """RSS growth per connection 1 s and 5 s after n idle connections were opened."""
    before = rss_kib(pid)
    held = scaling.hold_idle(port, n)
    try:
        time.sleep(1)
        at1 = rss_kib(pid)
        time.sleep(4)
        at5 = rss_kib(pid)
    finally:
        held.stdin.close()
        held.wait()
    return (at1 - before) * 1024 / n, (at5 - before) * 1024 / n, at5


def nginx_proxy(d, up):
    port = free_port()
    conf = os.path.join(d, "proxy.conf")
    with open(conf, "w") as f:
        f.write("daemon off; worker_processes 1; worker_rlimit_nofile 60000;\n"
                "pid %s/proxy.pid; error_log %s/proxy.err;\n"
                "events {worker_connections 60000;}\n"
                "http {access_log off; keepalive_requests 1000000; keepalive_timeout 600s;\n"
                " upstream u {server 127.0.0.1:%d; keepalive 64;}\n"
                " server {listen 127.0.0.1:%d; location / {proxy_pass http://u;"
                " proxy_http_version 1.1; proxy_set_header Connection '';}}}\n"
                % (d, d, up, port))
    master = subprocess.Popen(["nginx", "-c", conf, "-p", d], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    worker = int(subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True,
                                text=True, check=True).stdout.split()[0])
    return master, worker, port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True, nargs="+", help="one or more binaries")
    ap.add_argument("--sizes", default="10000,18000")
    a = ap.parse_args()
    sizes = [int(x) for x in a.sizes.split(",")]
    d = tempfile.mkdtemp(prefix="sluice-idle-")
    up = free_port()
    with open(os.path.join(d, "up.conf"), "w") as f:
        f.write("daemon off; worker_processes 1; pid %s/up.pid; error_log %s/up.err;\n"
                "events {worker_connections 4096;}\n"
                "http {access_log off; keepalive_requests 1000000;\n"
                " server {listen 127.0.0.1:%d; location / {return 200 'ok';}}}\n" % (d, d, up))
    upstream = subprocess.Popen(["nginx", "-c", os.path.join(d, "up.conf"), "-p", d],
                                stderr=subprocess.DEVNULL)
    rows = []
    try:
        for binary in ["nginx"] + a.sluice:
            for n in sizes:  # a fresh process per size
                if binary == "nginx":
                    master, pid, port = nginx_proxy(d, up)
                    stop = lambda m=master: (m.terminate(), m.wait())  # noqa: E731
                else:
                    os.environ["SLUICE_BINARY"] = os.path.abspath(binary)
                    cfg = make_config({"up": up}, ["{name: all, match: {path_prefix: /}, "
                                                   "upstream: up}"], workers=1,
                                      limits={"max_connections": 100000, "idle_timeout": "600s"})
                    cfg = cfg.replace("access_log: {path: $DIR/access.log}",
                                      "access_log: {path: off}")
                    s = Sluice(cfg).start()
                    pid, port = s.pid, s.port
                    stop = lambda s=s: s.__exit__(None, None, None)  # noqa: E731
                try:
                    at1, at5, rss = measure(pid, port, n)
                finally:
                    stop()
                rows.append((binary, n, at1, at5, rss))
                print("%-28s %6d idle: %5.0f B/conn after 1 s, %5.0f after 5 s (RSS %.1f MB)"
                      % (binary, n, at1, at5, rss / 1024), flush=True)
    finally:
        upstream.terminate()
        upstream.wait()
    print()
    print("| proxy | " + " | ".join("%s idle, B/conn (1 s / 5 s)" % f"{n:,}" for n in sizes) +
          " | added per connection, %s to %s |" % (f"{sizes[0]:,}", f"{sizes[-1]:,}"))
    print("|---" * (len(sizes) + 2) + "|")
    for binary in ["nginx"] + a.sluice:
        mine = [r for r in rows if r[0] == binary]
        added = (mine[-1][4] - mine[0][4]) * 1024 / (sizes[-1] - sizes[0]) if len(mine) > 1 else 0
        print("| %s | " % binary + " | ".join("%.0f / %.0f" % (r[2], r[3]) for r in mine) +
              " | %.0f |" % added)


if __name__ == "__main__":
    main()
