#!/usr/bin/python3
"""What tracing costs (issue 18, Performance): requests per CPU-second of one sluice worker with
no `tracing:` section, with `sample: 0%` and a live collector, and with `sample: 100%` and a live
collector (every request exports a server and a client span). wrk drives each (keep-alive, 16
connections) through sluice to nginx; the collector is nginx too (`return 200` on the OTLP
path, so it keeps up and sluice's exporter never drops). sluice's CPU time (all its threads,
the exporter's included) from /proc/PID/stat. The three run in alternating rounds; prints each
round, the median ratios against no tracing, and the exported/dropped span counters.
Not a test: figures for the README. Loopback only, bounded in time.

    /usr/bin/python3 tests/bench/tracing_overhead.py --sluice build/sluice --seconds 6 --rounds 5
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("SLUICE_SOURCE_DIR", os.path.join(HERE, "..", ".."))

from harness import Sluice, free_port, make_config  # noqa: E402


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port, seconds):
    out = subprocess.run(["wrk", "-t1", "-c16", "-d%ds" % seconds, "--latency",
                          "http://127.0.0.1:%d/" % port], capture_output=True, text=True,
                         check=True).stdout
    n = int(next(l for l in out.splitlines() if "requests in" in l).split()[0])
    p99 = next((l.split()[1] for l in out.splitlines() if l.strip().startswith("99%")), "?")
    bad = " ".join(l.strip() for l in out.splitlines() if "Non-2xx" in l or "errors" in l)
    return n, p99, bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    os.environ["SLUICE_BINARY"] = os.path.abspath(a.sluice)
    d = tempfile.mkdtemp(prefix="sluice-trace-bench-")
    up, collector = free_port(), free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("daemon off; worker_processes 1; pid %s/nginx.pid; error_log %s/err.log;\n"
                "events {worker_connections 1024;}\n"
                "http {access_log off; keepalive_requests 1000000;\n"
                " server {listen 127.0.0.1:%d; location / {return 200 'ok';}}\n"
                " server {listen 127.0.0.1:%d; client_body_buffer_size 4m;"
                " client_max_body_size 16m; location /v1/traces {return 200 '{}';}}}\n"
                % (d, d, up, collector))
    nginx = subprocess.Popen(["nginx", "-c", conf, "-p", d], stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    otlp = "otlp: {endpoint: 'http://127.0.0.1:%d/v1/traces', timeout: 2s}" % collector
    variants = {"off": "", "sample0": "tracing: {sample: 0%%, %s}" % otlp,
                "sample100": "tracing: {sample: 100%%, %s}" % otlp}
    procs = {}
    try:
        for name, extra in variants.items():
            cfg = make_config({"up": up}, ["{name: all, match: {path_prefix: /}, upstream: up}"],
                              workers=1, extra=extra,
                              upstream_opts={"up": {"keepalive": "64"}}).replace(
                "access_log: {path: $DIR/access.log}", "access_log: {path: off}")
            procs[name] = Sluice(cfg).start()
        for s in procs.values():
            wrk(s.port, 2)  # warm up
        ratios = {"sample0": [], "sample100": []}
        for i in range(a.rounds):
            row = {}
            for name, s in procs.items():
                c0 = cpu_seconds(s.pid)
                n, p99, bad = wrk(s.port, a.seconds)
                cpu = cpu_seconds(s.pid) - c0
                row[name] = n / cpu
                print("round %d %-9s %8d requests %6.2f cpu-s %9.0f req/cpu-s p99 %s %s"
                      % (i, name, n, cpu, n / cpu, p99, bad))
            for k in ratios:
                ratios[k].append(row[k] / row["off"])
            print("round %d ratios: sample0/off %.3f  sample100/off %.3f"
                  % (i, ratios["sample0"][-1], ratios["sample100"][-1]))
        print("median sample0/off %.3f, sample100/off %.3f"
              % (statistics.median(ratios["sample0"]), statistics.median(ratios["sample100"])))
        time.sleep(1.5)
        text = procs["sample100"].metrics()
        exported = re.search(r"^sluice_tracing_spans_exported_total (\d+)", text, re.M)
        dropped = sum(int(v) for v in re.findall(
            r"^sluice_tracing_spans_dropped_total\{[^}]*\} (\d+)", text, re.M))
        print("sample100 spans exported %s, dropped %d"
              % (exported.group(1) if exported else "?", dropped))
    finally:
        for s in procs.values():
            s.__exit__(None, None, None)
        nginx.terminate()
        nginx.wait()


if __name__ == "__main__":
    main()
