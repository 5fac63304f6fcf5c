#!/usr/bin/env python3
"""Instructions per proxied request as the work grows: the load-independent companion of
tests/bench/scaling.py (whose rps/cpu moves with the machine's load). sluice (one worker) runs
under callgrind in front of one nginx worker that listens on four ports on every loopback
address (targets 127.0.0.x:port); ab -k -c 16 sends REQUESTS keep-alive GETs of a 64 B file
with instrumentation on, after a warm-up that reaches every target. Prints instructions per
request (Ir of every sluice thread / REQUESTS) and ab's failures. Not a test.

  tests/bench/callgrind_scaling.py SLUICE targets round_robin|least_conn|random_two|consistent_hash N [REQUESTS]
  tests/bench/callgrind_scaling.py SLUICE routes prefix|header N [REQUESTS]

targets: N targets under the balancer (consistent_hash keyed by a header whose value is the
same for every request: the pick's cost, one target's connections). routes: N routes, the last
one matching, by `path_prefix: /svcI/` or by a header `x-svc: vI` under `path_prefix: /`.
Needs valgrind, nginx and ab.
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
from compare import free_port  # noqa: E402  (as scaling.py does)


def config(mode, variant, n, ports, listen, admin):
    if mode == "targets":
        targets = "\n".join(f"      - address: 127.0.0.{1 + i % 250}:{ports[i // 250]}"
                            for i in range(n))
        extra = "\n    hash_key: header:x-key" if variant == "consistent_hash" else ""
        routes = "  - {name: all, match: {path_prefix: /}, upstream: up}"
        balancer, path, header = variant, "/index.html", "x-key: k"
    else:
        targets = f"      - address: 127.0.0.1:{ports[0]}"
        extra, balancer = "", "round_robin"
        if variant == "prefix":
            routes = "\n".join(f"  - {{name: r{i}, match: {{path_prefix: /svc{i}/}}, upstream: up}}"
                               for i in range(n))
            path, header = f"/svc{n - 1}/index.html", "x-key: k"
        else:
            routes = "\n".join(f"  - {{name: r{i}, match: {{path_prefix: /, headers: "
                               f"{{x-svc: v{i}}}}}, upstream: up}}" for i in range(n))
            path, header = "/index.html", f"x-svc: v{n - 1}"
    text = (f"workers: 1\naccess_log: {{path: off}}\nadmin: {{address: 127.0.0.1:{admin}}}\n"
            f"listeners: [{{name: m, address: 127.0.0.1:{listen}}}]\n"
            f"upstreams:\n  - name: up\n    balancer: {balancer}\n    keepalive: 128{extra}\n"
            f"    targets:\n{targets}\nroutes:\n{routes}\n")
    return text, path, header


def main():
    if len(sys.argv) < 5 or sys.argv[2] not in ("targets", "routes"):
        sys.exit(__doc__)
    binary, mode, variant, n = os.path.abspath(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    requests = int(sys.argv[5]) if len(sys.argv) > 5 else 20000
    d = tempfile.mkdtemp(prefix="sluice-cg-")
    os.chmod(d, 0o755)  # nginx workers (nobody) read the files
    for sub in ["www"] + [f"www/svc{i}" for i in range(n if mode == "routes" else 0)][-1:]:
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    for root, _, _ in os.walk(os.path.join(d, "www")):
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("x" * 64)
    for _ in range(5):  # a port taken meanwhile (loopback is shared): pick others
        ports = [free_port() for _ in range(4)]
        listens = "".join(f"listen {p} reuseport; " for p in ports)
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(f"daemon off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/nginx.err;\n"
                    f"events {{ worker_connections 8192; }}\nhttp {{ access_log off; server {{ "
                    f"{listens}root {d}/www; keepalive_requests 1000000; }} }}\n")
        nginx = subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf", "-p", d])
        time.sleep(0.5)
        if nginx.poll() is None:
            break
    else:
        sys.exit("nginx did not start: " + open(f"{d}/nginx.err").read())
    listen = free_port()
    text, path, header = config(mode, variant, n, ports, listen, free_port())
    with open(f"{d}/sluice.yaml", "w") as f:
        f.write(text)
    vg = subprocess.Popen(["valgrind", "--tool=callgrind", "--instr-atstart=no",
                           f"--callgrind-out-file={d}/cg.out", binary, "-c", f"{d}/sluice.yaml"],
                          stdout=subprocess.DEVNULL, stderr=open(f"{d}/sluice.err", "w"))
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", listen), 1).close()
                break
            except OSError:
                time.sleep(0.2)
        url = f"http://127.0.0.1:{listen}{path}"
        ab = ["ab", "-q", "-k", "-c", "16", "-H", header]
        subprocess.run(ab + ["-n", str(max(2000, 3 * n)), url], stdout=subprocess.DEVNULL,
                       check=True)
        subprocess.run(["callgrind_control", "-i", "on", str(vg.pid)], stdout=subprocess.DEVNULL)
        out = subprocess.run(ab + ["-n", str(requests), url], capture_output=True, text=True,
                             check=True).stdout
        subprocess.run(["callgrind_control", "-i", "off", str(vg.pid)], stdout=subprocess.DEVNULL)
    finally:
        vg.terminate()
        vg.wait()
        nginx.terminate()
        nginx.wait()
    bad = [line.split(":")[1].strip() for line in out.splitlines()
           if line.startswith(("Failed requests", "Non-2xx"))]
    if any(b != "0" for b in bad):
        sys.exit(f"{mode} {variant} {n}: failed or non-2xx answers {bad}; see {d}")
    totals = subprocess.run(["callgrind_annotate", f"{d}/cg.out"], capture_output=True,
                            text=True).stdout
    ir = int([line for line in totals.splitlines() if "PROGRAM TOTALS" in line][0]
             .split()[0].replace(",", ""))
    print(f"{mode} {variant} {n}: {ir // requests} instructions per request "
          f"(failed/non-2xx: {', '.join(bad) or '0'})")


if __name__ == "__main__":
    main()
