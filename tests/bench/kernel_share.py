#!/usr/bin/python3
"""Where a proxied request's CPU goes, sluice beside nginx (issue 20, item 1): user and system
CPU-microseconds per request of each proxy's processes, their voluntary and involuntary context
switches per request (/proc), and the TCP segments per request on loopback (nstat deltas while
only that proxy is loaded). It explains the ceiling of requests per CPU-second: with the system
share fixed by the kernel's TCP work, sluice/nginx can be at most nginx's total over sluice's
system time. Measured as ../shared/bench/compare.py does (its configurations and helpers: an
nginx upstream, wrk 1 thread, 64 connections, one worker each), the two proxies alternating
round by round. Not a test: figures for the README.

    /usr/bin/python3 tests/bench/kernel_share.py --sluice build/sluice --scenarios plain,churn
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
import compare  # noqa: E402

SEGMENT_COUNTERS = ("TcpOutSegs", "TcpExtTCPPureAcks")


def thread_stats(sid):
    """(user ticks, system ticks, voluntary, involuntary switches) summed over every thread."""
    total = [0, 0, 0, 0]
    for pid in compare.session_pids(sid):
        try:
            tasks = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/stat" % (pid, t)) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                with open("/proc/%d/task/%s/status" % (pid, t)) as f:
                    status = f.read()
            except OSError:
                continue
            total[0] += int(fields[11])
            total[1] += int(fields[12])
            total[2] += int(re.search(r"\nvoluntary_ctxt_switches:\s+(\d+)", status).group(1))
            total[3] += int(re.search(r"nonvoluntary_ctxt_switches:\s+(\d+)", status).group(1))
    return total


def nstat():
    out = subprocess.run(["nstat", "-az"], capture_output=True, text=True).stdout
    counts = {}
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    return counts


def measure(proc, scenario, seconds):
    scheme = "https" if scenario == "tls" else "http"
    tick = os.sysconf("SC_CLK_TCK")
    a, na = thread_stats(proc.p.pid), nstat()
    r = compare.run_wrk("%s://127.0.0.1:%d/" % (scheme, proc.port), seconds, 64, scenario,
                        proc.p.pid)
    b, nb = thread_stats(proc.p.pid), nstat()
    n = r["rps"] * seconds
    row = {"rps/cpu": r["rps_per_cpu"],
           "user us": (b[0] - a[0]) * 1e6 / tick / n,
           "system us": (b[1] - a[1]) * 1e6 / tick / n,
           "voluntary switches": (b[2] - a[2]) / n,
           "involuntary switches": (b[3] - a[3]) / n}
    for c in SEGMENT_COUNTERS:
        row[c] = (nb.get(c, 0) - na.get(c, 0)) / n
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--scenarios", default="plain,churn,tls,limit")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="sluice-share-")
    os.chmod(d, 0o755)
    cert = compare.make_cert(d)
    print("| scenario | proxy | rps/cpu | user us/req | system us/req | system share | "
          "voluntary / involuntary switches per req | TCP segments per req (pure ACKs) |")
    print("|---|---|---|---|---|---|---|---|")
    for scenario in a.scenarios.split(","):
        up_port = compare.free_port()
        up = compare.Proc("upstream", ["nginx", "-c", compare.upstream_conf(d, up_port, scenario)],
                          up_port, d)
        procs = []
        try:
            port = compare.free_port()
            procs.append(compare.Proc("sluice", [os.path.abspath(a.sluice), "-c", compare.sluice_conf(
                d, port, up_port, scenario, cert, compare.free_port())], port, d))
            port = compare.free_port()
            procs.append(compare.Proc("nginx", ["nginx", "-c", compare.nginx_conf(
                d, port, up_port, scenario, cert)], port, d))
            rows = {p.name: [] for p in procs}
            for _ in range(a.rounds):
                for p in procs:
                    rows[p.name].append(measure(p, scenario, a.duration))
            for name, rs in rows.items():
                med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
                print("| %s | %s | %.1fk | %.2f | %.2f | %.0f%% | %.3f / %.3f | %.2f (%.2f) |" % (
                    scenario, name, med["rps/cpu"] / 1000, med["user us"], med["system us"],
                    100 * med["system us"] / (med["user us"] + med["system us"]),
                    med["voluntary switches"], med["involuntary switches"], med["TcpOutSegs"],
                    med["TcpExtTCPPureAcks"]), flush=True)
        finally:
            for p in procs:
                p.stop()
            up.stop()


if __name__ == "__main__":
    main()
