#!/usr/bin/env python3
"""A target SIGKILLed under load, side by side: sluice (README config: retries {attempts: 2},
500 ms health check), nginx with its defaults (plus upstream keepalive) and HAProxy with
`retries 2`, `option redispatch` and a 500 ms check. Three nginx targets, wrk with C keep-alive
connections for 6 s, one target killed 2 s in. Not a test: prints failed requests per run.

    python3 tests/bench/kill_target.py --sluice build/sluice -c 32 64 --runs 3
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from fastload import NginxTarget, wrk_finish, wrk_start  # noqa: E402
from harness import free_port  # noqa: E402
from stalled_readers import wait_port  # noqa: E402


def start(kind, binary, ports, d):
    port = free_port()
    if kind == "sluice":
        conf = os.path.join(d, "s.yaml")
        targets = ", ".join("{address: 127.0.0.1:%d}" % p for p in ports)
        open(conf, "w").write(
            "workers: 1\naccess_log: {path: off}\n"
            "listeners: [{name: main, address: 127.0.0.1:%d}]\n"
            "upstreams: [{name: app, keepalive: 64, targets: [%s], retries: {attempts: 2},\n"
            "  health_check: {path: /healthz, interval: 500ms, timeout: 300ms}}]\n"
            "routes: [{name: r, match: {path_prefix: /}, upstream: app}]\n" % (port, targets))
        p = subprocess.Popen([binary, "-c", conf], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    elif kind == "nginx":
        conf = os.path.join(d, "n.conf")
        servers = " ".join("server 127.0.0.1:%d;" % p for p in ports)
        open(conf, "w").write(
            "daemon off; worker_processes 1; pid %s/n.pid; error_log %s/n.err;\n"
            "events { worker_connections 4096; }\nhttp { access_log off;\n"
            "upstream u { %s keepalive 64; }\n"
            "server { listen 127.0.0.1:%d; location / { proxy_pass http://u;"
            " proxy_http_version 1.1; proxy_set_header Connection \"\"; } } }\n"
            % (d, d, servers, port))
        p = subprocess.Popen(["nginx", "-p", d, "-c", conf, "-e", d + "/n.err"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        conf = os.path.join(d, "h.cfg")
        servers = "".join("  server s%d 127.0.0.1:%d check inter 500ms\n" % (i, p)
                          for i, p in enumerate(ports))
        open(conf, "w").write(
            "global\n  maxconn 4000\n  nbthread 1\ndefaults\n  mode http\n  retries 2\n"
            "  option redispatch\n  timeout connect 1s\n  timeout client 30s\n"
            "  timeout server 30s\n  option http-keep-alive\n"
            "frontend f\n  bind 127.0.0.1:%d\n  default_backend b\n"
            "backend b\n  option httpchk GET /healthz\n%s" % (port, servers))
        p = subprocess.Popen(["haproxy", "-f", conf, "-db"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("-c", type=int, nargs="+", default=[32, 64])
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    for conns in a.c:
        for run in range(a.runs):
            for kind in ("sluice", "nginx", "haproxy"):
                ups = [NginxTarget().start() for _ in range(3)]
                d = tempfile.mkdtemp(prefix="kill-")
                p, port = start(kind, a.sluice, [u.port for u in ups], d)
                try:
                    time.sleep(1.0)
                    load = wrk_start("http://127.0.0.1:%d/x" % port, connections=conns, seconds=6)
                    time.sleep(2.0)
                    ups[1].kill()
                    res = wrk_finish(load)
                    print("c=%-3d run %d  %-8s %7d requests  %5d failed (%.3f%%)"
                          % (conns, run + 1, kind, res.requests, res.failures,
                             100.0 * res.failures / max(res.requests, 1)), flush=True)
                finally:
                    p.terminate()
                    p.wait(timeout=30)
                    for u in ups:
                        u.stop()


if __name__ == "__main__":
    main()
