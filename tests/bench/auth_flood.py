#!/usr/bin/env python3
"""A worker's latency for ordinary requests while wrong Basic-auth passwords arrive (issue 15
item 4): one sluice worker, a route without auth paced at R req/s (latency of each request
recorded); alone, then with A wrong API keys per second (cheap 401s: the load generator's own
cost), then with A wrong passwords per second for a bcrypt user (`htpasswd -B -C COST`) on
another route of the same worker. Prints p50/p99/max of the ordinary requests for
both runs and what the guesses got (401, or 503 when the verifier's queue was full). Not a test:
figures for the README. Loopback only, bounded in time.

    python3 tests/bench/auth_flood.py --sluice build/sluice --cost 10 --seconds 15
"""
import argparse
import base64
import os
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("SLUICE_SOURCE_DIR", os.path.join(HERE, "..", ".."))

from harness import Conn, Sluice, Upstream, make_config  # noqa: E402


def paced(port, path, rate, seconds, conns, headers, out, lock):
    """`rate` req/s spread over `conns` keep-alive connections (one thread each, open loop
    within each thread); appends (latency, status) to `out`."""
    start = time.time() + 0.3
    per = rate / conns

    def run(i):
        c = Conn(port, timeout=30)
        n = 0
        try:
            while True:
                t = start + (n + i / conns) / per
                if t - start >= seconds:
                    return
                d = t - time.time()
                if d > 0:
                    time.sleep(d)
                t0 = time.time()
                try:
                    r = c.request("GET", path, headers)
                    status = r.status
                except Exception:
                    status = 0
                    c.close()
                    c = Conn(port, timeout=30)
                with lock:
                    out.append((time.time() - t0, status))
                n += 1
        finally:
            c.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    return threads


def pct(sorted_values, p):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--cost", type=int, default=10)
    ap.add_argument("--rate", type=float, default=200, help="ordinary requests per second")
    ap.add_argument("--attack", type=float, default=100, help="wrong passwords per second")
    ap.add_argument("--seconds", type=float, default=15)
    a = ap.parse_args()
    os.environ["SLUICE_BINARY"] = os.path.abspath(a.sluice)
    d = tempfile.mkdtemp(prefix="sluice-auth-flood-")
    htpasswd = os.path.join(d, "htpasswd")
    subprocess.run(["htpasswd", "-cbB", "-C", str(a.cost), htpasswd, "alice", "right"],
                   check=True, capture_output=True)
    keys = os.path.join(d, "keys.yaml")
    with open(keys, "w") as f:
        f.write("- {consumer: c, key_sha256: %s}\n" % ("0" * 64))
    up = Upstream("echo").start()
    cfg = make_config({"echo": up.port}, [
        "{name: plain, match: {path_prefix: /plain}, upstream: echo}",
        "{name: auth, match: {path_prefix: /auth}, upstream: echo, "
        "filters: [{basic_auth: {realm: bench, users_file: %s}}]}" % htpasswd,
        "{name: key, match: {path_prefix: /key}, upstream: echo, "
        "filters: [{api_key: {from: 'header:x-api-key', keys_file: %s}}]}" % keys], workers=1,
        limits={"header_timeout": "30s"})  # guess connections may idle before their first
    wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}
    try:
        with Sluice(cfg) as s:
            # The same number of client threads sending cheap 401s (a wrong API key) tells the
            # load generator's own noise apart from what the password checks cost.
            runs = (("no attack", 0, None, None),
                    ("%g wrong API keys/s" % a.attack, a.attack, "/key/x", {"X-Api-Key": "no"}),
                    ("%g wrong passwords/s" % a.attack, a.attack, "/auth/x", wrong))
            for label, attack, path, headers in runs:
                lock = threading.Lock()
                plain, guesses = [], []
                threads = paced(s.port, "/plain/x", a.rate, a.seconds, 4, {}, plain, lock)
                if attack:
                    # Enough connections that guesses waiting for their check (at most for the
                    # verifier's queue to drain) never hold back the pace.
                    threads += paced(s.port, path, attack, a.seconds, 200, headers, guesses,
                                     lock)
                for t in threads:
                    t.join()
                lat = sorted(x[0] * 1000 for x in plain)
                bad = sum(1 for x in plain if x[1] != 200)
                print("%-24s ordinary: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms (non-200: %d)"
                      % (label, len(lat), pct(lat, 0.5), pct(lat, 0.99), lat[-1], bad))
                if attack:
                    counts = {}
                    for _, st in guesses:
                        counts[st] = counts.get(st, 0) + 1
                    glat = sorted(x[0] * 1000 for x in guesses)
                    print("%-24s guesses: n=%d (%.0f/s) statuses=%s p50=%.0f ms max=%.0f ms" % (
                        "", len(guesses), len(guesses) / a.seconds, dict(sorted(counts.items())),
                        pct(glat, 0.5), glat[-1]))
                time.sleep(1)
    finally:
        up.stop()


if __name__ == "__main__":
    main()
