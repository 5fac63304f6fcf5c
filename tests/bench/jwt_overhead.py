#!/usr/bin/python3
"""What a jwt filter costs (issue 15, Performance): requests per CPU-second of one sluice worker
on a route without auth and on the same route with a jwt filter (RS256, 2048-bit key, the same
token on every request: served from the verified-token cache after the first), wrk driving both
with `-H 'Authorization: Bearer ...'` and nginx as the upstream; sluice's CPU time from
/proc/PID/stat. Alternating rounds; prints each round and the median ratio. Then the cost of a
first-seen token: a run where every request carries a new token (a wrk Lua script cycling
through N pre-made tokens, N larger than the requests sent, so none repeats and every one is a
signature check). Not a test: figures for the README. Loopback only, bounded in time.

    /usr/bin/python3 tests/bench/jwt_overhead.py --sluice build/sluice --seconds 8 --rounds 3
"""
import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
os.environ.setdefault("SLUICE_SOURCE_DIR", os.path.join(HERE, "..", ".."))

from harness import Sluice, free_port, make_config  # noqa: E402

from test_jwt import rsa_jwk  # noqa: E402


_KEY = None


def load_key(pem):
    """Pool initializer: key objects do not cross processes, so each worker loads the PEM once
    (loading it per token costs more than signing)."""
    global _KEY
    _KEY = serialization.load_pem_private_key(pem, password=None)


def sign(claims):
    return jwt.encode(claims, _KEY, algorithm="RS256", headers={"kid": "k1"})


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port, path, seconds, header=None, script=None, conns=16):
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--latency"]
    if header:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", script]
    out = subprocess.run(cmd + ["http://127.0.0.1:%d%s" % (port, path)], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if "requests in" in line:
            return int(line.split()[0]), out
    raise RuntimeError(out)


def measure(s, path, seconds, **kw):
    pid = s.pid
    c0 = cpu_seconds(pid)
    n, out = wrk(s.port, path, seconds, **kw)
    cpu = cpu_seconds(pid) - c0
    non2xx = [l for l in out.splitlines() if "Non-2xx" in l]
    return n, cpu, non2xx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=30000, help="distinct tokens for the first-seen"
                    " run (must exceed what sluice verifies in 1 s)")
    a = ap.parse_args()
    os.environ["SLUICE_BINARY"] = os.path.abspath(a.sluice)
    d = tempfile.mkdtemp(prefix="sluice-jwt-bench-")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = os.path.join(d, "jwks.json")
    with open(jwks, "w") as f:
        json.dump({"keys": [rsa_jwk(key, "k1")]}, f)
    now = int(time.time())
    claims = {"iss": "https://idp.example/", "aud": "api", "sub": "alice", "exp": now + 3600}
    tok = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})

    nginx_port = free_port()
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("daemon off; worker_processes 1; pid %s/nginx.pid; error_log %s/err.log;\n"
                "events {worker_connections 1024;}\n"
                "http {access_log off; server {listen 127.0.0.1:%d; keepalive_requests 100000;"
                " location / {return 200 'ok';}}}\n" % (d, d, nginx_port))
    nginx = subprocess.Popen(["nginx", "-c", conf, "-p", d], stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    jwt_cfg = ("{jwt: {issuer: 'https://idp.example/', audiences: [api], algorithms: [RS256], "
               "jwks: {file: %s}, claims_to_headers: {sub: x-user-id}}}" % jwks)
    routes = ["{name: plain, match: {path_prefix: /plain}, upstream: up}",
              "{name: jwt, match: {path_prefix: /jwt}, upstream: up, filters: [%s]}" % jwt_cfg]
    cfg = make_config({"up": nginx_port}, routes, workers=1,
                      upstream_opts={"up": {"keepalive": "64"}}).replace(
        "access_log: {path: $DIR/access.log}", "access_log: {path: /dev/null}")
    header = "Authorization: Bearer " + tok
    try:
        with Sluice(cfg) as s:
            wrk(s.port, "/jwt/", 2, header=header)  # warm up both
            wrk(s.port, "/plain/", 2, header=header)
            ratios = []
            for i in range(a.rounds):
                row = {}
                for name in ("plain", "jwt"):
                    n, cpu, bad = measure(s, "/%s/" % name, a.seconds, header=header)
                    row[name] = n / cpu
                    print("round %d %-5s %8d requests %6.2f cpu-s %9.0f req/cpu-s %s"
                          % (i, name, n, cpu, n / cpu, " ".join(bad)))
                ratios.append(row["jwt"] / row["plain"])
                print("round %d ratio jwt/plain %.3f" % (i, ratios[-1]))
            print("median ratio jwt/plain: %.3f" % statistics.median(ratios))

            # First-seen tokens: every request a new one.
            count = a.tokens
            lua = os.path.join(d, "tokens.lua")
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            with multiprocessing.Pool(2, initializer=load_key, initargs=(pem,)) as pool:
                toks = pool.map(sign, [dict(claims, jti=str(j)) for j in range(count)],
                                chunksize=500)
            with open(lua, "w") as f:
                f.write("tokens = {\n")
                for t in toks:
                    f.write('"%s",\n' % t)
                f.write("}\ni = 0\nrequest = function()\n  i = i + 1\n"
                        "  return wrk.format('GET', '/jwt/', "
                        "{['Authorization'] = 'Bearer ' .. tokens[(i % #tokens) + 1]})\nend\n")
            secs = 1
            n_new, cpu_new, bad = measure(s, "/jwt/", secs, script=lua, conns=4)
            n_plain, cpu_plain, _ = measure(s, "/plain/", secs, header=header, conns=4)
            per_new = cpu_new / n_new * 1e6
            per_plain = cpu_plain / n_plain * 1e6
            print("new tokens: %d requests (%d distinct tokens) %.2f cpu-s: %.1f us/request; "
                  "plain %.1f us/request; a first-seen RS256 token costs ~%.1f us of CPU %s"
                  % (n_new, count, cpu_new, per_new, per_plain, per_new - per_plain,
                     " ".join(bad)))
            if n_new > count:
                print("warning: tokens repeated (more requests than tokens): raise --tokens")
    finally:
        nginx.terminate()
        nginx.wait()


if __name__ == "__main__":
    main()
