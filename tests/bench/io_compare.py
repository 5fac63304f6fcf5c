#!/usr/bin/env python3
"""sluice on its two socket backends, `io: epoll` against `io: uring` (issue 20, item 1). Not a
test: prints markdown tables for the README.

Measured as ../shared/bench/compare.py does (its helpers and its sluice config are imported, with
one line `io: ...` appended): an nginx worker serves the scenario's body, wrk (1 thread,
--connections, --latency) is the load, the figure is requests per CPU-second of sluice's own
processes with wrk's p99. One sluice process per backend; the rounds alternate between them
(epoll uring epoll uring ...) so the drift of a shared machine hits both alike. Cells are the
median of the rounds with the spread (min-max) in brackets. Optionally nginx as a third
contender (--nginx).

--syscalls also counts system calls (and context switches) per request, which depend little on
the machine's load: `perf stat -e raw_syscalls:sys_enter,syscalls:sys_enter_NAME,... -p PID` on
the sluice of each backend while wrk sends --syscall-seconds of load; requests counted by wrk.

    python3 tests/bench/io_compare.py --sluice /work/build-rel/sluice --scenarios plain,churn \
        --rounds 5 --duration 4 --syscalls
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
import compare  # noqa: E402

BACKENDS = ("epoll", "uring")


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def start_sluice(a, d, io, port, up_port, scenario, cert):
    sub = os.path.join(d, io)
    os.makedirs(sub, exist_ok=True)
    cfg = compare.sluice_conf(sub, port, up_port, scenario, cert, compare.free_port())
    with open(cfg, "a") as f:
        f.write("io: %s\n" % io)
    proc = compare.Proc("sluice-" + io, [os.path.abspath(a.sluice), "-c", cfg], port, sub)
    with open(os.path.join(sub, "sluice-%s.log" % io)) as f:
        line = [l.strip() for l in f if "io: " in l and "(" in l]
    if not line or ("io: %s" % io) not in line[0]:
        proc.stop()
        raise RuntimeError("sluice did not start on io: %s: %s" % (io, line))
    return proc


def cell(values, fmt):
    return (fmt % statistics.median(values)) + " (" + (fmt % min(values)) + "-" + \
        (fmt % max(values)) + ")"


SYSCALLS = ("read", "recvfrom", "write", "writev", "sendto", "sendmsg", "epoll_wait",
            "epoll_pwait", "epoll_ctl", "io_uring_enter", "accept4", "connect", "close", "ioctl",
            "getsockopt", "setsockopt", "shutdown", "socket", "recvmsg", "fcntl", "getsockname",
            "getpeername", "clock_gettime", "futex", "madvise")


def syscalls_per_request(a, proc, scenario):
    """perf stat over wrk's load, every thread of the contender's processes (nginx: master and
    worker): {event: count per request} (the
    total of system calls, the common ones by name, context switches), and the requests."""
    out = os.path.join(os.path.dirname(proc.log.name), "perf.txt")
    events = ["raw_syscalls:sys_enter", "context-switches"] + \
        ["syscalls:sys_enter_" + n for n in SYSCALLS]
    pids = ",".join(str(pid) for pid in compare.session_pids(proc.p.pid))
    perf = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out, "-e", ",".join(events),
                             "-p", pids])
    try:
        time.sleep(0.5)
        argv = ["wrk", "-t1", "-c%d" % a.connections, "-d%ds" % a.syscall_seconds,
                "http://127.0.0.1:%d/" % proc.port]
        if scenario == "churn":
            argv[1:1] = ["-H", "Connection: close"]
        text = subprocess.run(argv, capture_output=True, text=True).stdout
        requests = int(re.search(r"(\d+) requests in", text).group(1))
    finally:
        time.sleep(0.5)
        perf.send_signal(signal.SIGINT)
        perf.wait()
    counts = {}
    with open(out) as f:
        for line in f:
            fields = line.strip().split(",")
            if len(fields) > 2 and fields[0].isdigit():
                name = fields[2].replace("syscalls:sys_enter_", "")
                name = "**all system calls**" if name == "raw_syscalls:sys_enter" else name
                counts[name] = int(fields[0]) / requests
    return counts, requests


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--scenarios", default="plain,churn,large")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--nginx", action="store_true", help="nginx (1 worker) as a third contender")
    ap.add_argument("--syscalls", action="store_true", help="also count syscalls per request")
    ap.add_argument("--syscall-seconds", type=int, default=3)
    a = ap.parse_args()
    print("uptime before: " + uptime())
    d = tempfile.mkdtemp(prefix="sluice-io-")
    os.chmod(d, 0o755)
    cert = compare.make_cert(d)
    tables, sys_tables = [], []
    for scenario in a.scenarios.split(","):
        up_port = compare.free_port()
        up = compare.Proc("upstream", ["nginx", "-c", compare.upstream_conf(d, up_port, scenario)],
                          up_port, d)
        procs = []
        try:
            for io in BACKENDS:
                procs.append(start_sluice(a, d, io, compare.free_port(), up_port, scenario, cert))
            if a.nginx:
                port = compare.free_port()
                procs.append(compare.Proc("nginx", ["nginx", "-c", compare.nginx_conf(
                    d, port, up_port, scenario, cert)], port, d))
            rows = {p.name: [] for p in procs}
            for _ in range(a.rounds):
                for p in procs:
                    scheme = "https" if scenario == "tls" else "http"
                    rows[p.name].append(compare.run_wrk("%s://127.0.0.1:%d/" % (scheme, p.port),
                                                        a.duration, a.connections, scenario,
                                                        p.p.pid))
            tables.append((scenario, rows))
            if a.syscalls and scenario != "tls":
                sys_tables.append((scenario, {p.name: syscalls_per_request(a, p, scenario)
                                              for p in procs}))
        finally:
            for p in procs:
                p.stop()
            up.stop()
    print("uptime after: " + uptime())
    print("\n| scenario | contender | rps | rps/cpu | p99 ms | non-2xx |")
    print("|---|---|---|---|---|---|")
    for scenario, rows in tables:
        for name, rs in rows.items():
            print("| %s | %s | %s | %s | %s | %d |" % (
                scenario, name, cell([r["rps"] for r in rs], "%.0f"),
                cell([r["rps_per_cpu"] for r in rs], "%.0f"), cell([r["p99"] for r in rs], "%.2f"),
                sum(r["non2xx"] for r in rs)))
    for scenario, per in sys_tables:
        print("\n%s: per request (perf stat -p over %ds of wrk; %s)" % (
            scenario, a.syscall_seconds, ", ".join("%s %d requests" % (k, n)
                                                   for k, (_, n) in per.items())))
        print("| event | " + " | ".join(per) + " |")
        print("|---|" + "---|" * len(per))
        names = list(next(iter(per.values()))[0])
        for n in names:
            if max(c.get(n, 0) for c, _ in per.values()) >= 0.005:
                print("| %s | " % n + " | ".join("%.3f" % c.get(n, 0) for c, _ in per.values())
                      + " |")

if __name__ == "__main__":
    main()
