#!/usr/bin/env python3
"""How sluice's cost grows with the work (issue 20, items 2 and 3). Not a test: prints markdown
tables for the README. Loopback only; each subcommand runs a few minutes at most.

Measured as ../shared/bench/compare.py does (its helpers are imported): an nginx worker serving
a 64 B file is the upstream, wrk (1 thread, 64 connections, --latency) the load, and the figure
is requests per CPU-second of the proxy's own processes (user+sys from /proc) with wrk's p99.
Every configuration of a table is its own sluice process; the rounds alternate between them
(A B C A B C ...), so the drift of the shared machine hits them alike. Cells are the median of
the rounds with the spread (min-max) in brackets. `uptime` is printed before and after.

  routes      1 / 100 / 1,000 routes, the match the last one; by path prefix, by header value
  ratelimit   token_bucket keyed by a header that never trips, 1 / 10k / 1M distinct keys
              (wrk's Lua script draws a random key per request; the table is filled first, for
              at most --fill-seconds: the row "keys tracked" says how far it got)
  balancers   1 / 100 / 1,000 targets (127.0.0.x:port, all one nginx) under each balancer
  idle        100 / 10k / 50k idle keep-alive client connections held open beside the load
              (--idle-sizes; sluice needs a descriptor per connection, so RLIMIT_NOFILE must be
              above the largest; a child process per size holds the client side)
  config      RSS, `sluice -t` time and reload time (SIGHUP until the log says the new version
              serves) for large configs, and RSS after eight reloads
  workers     workers: 1 / 2 against nginx worker_processes 1 / 2 (plain), then the balance of
              accepted connections between sluice's two workers under `Connection: close`

    ulimit -Hn 60000   # for idle 50,000 (as root); the script raises the soft limit to it
    python3 tests/bench/scaling.py --sluice build-bench/sluice routes --rounds 3 --duration 4
"""
import argparse
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench"))
import compare  # noqa: E402  (free_port, wait_port, cpu_seconds, rss_kib, Proc, to_ms, write)

KEY_SCRIPT = """
local keys, n = %d, %d
request = function()
  local k
  if %s then k = n %% keys; n = n + 1 else k = math.random(keys) - 1 end
  return wrk.format(nil, nil, {["x-key"] = tostring(k)})
end
"""


def uptime():
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def pinned(cpus, argv):
    return (["taskset", "-c", cpus] + argv) if cpus else argv


class Bench:
    """Shared setup: a temp dir, an nginx upstream, sluice processes and wrk runs."""

    def __init__(self, a):
        self.a = a
        self.d = tempfile.mkdtemp(prefix="sluice-scaling-")
        os.chmod(self.d, 0o755)
        www = os.path.join(self.d, "www")
        os.makedirs(www, exist_ok=True)
        compare.write(os.path.join(www, "small"), compare.BODY_SMALL)
        self.procs = []

    def upstream(self, listens, workers=1, name="upstream"):
        """nginx answering the 64 B file on every `listens` address (host:port)."""
        lines = " ".join(f"listen {x} reuseport backlog=4096;" for x in listens)
        conf = compare.write(os.path.join(self.d, f"{name}.conf"), f"""
worker_processes {workers}; daemon off; pid {self.d}/{name}.pid; error_log {self.d}/{name}.err warn;
worker_rlimit_nofile 200000;
events {{ worker_connections 100000; }}
http {{
  access_log off; keepalive_requests 10000000; types {{ }} default_type text/plain;
  server {{ {lines}
    location / {{ root {self.d}/www; try_files /small =404; }} }}
}}""")
        port = int(listens[0].rsplit(":", 1)[1])
        p = compare.Proc(name, pinned(self.a.upstream_cpus, ["nginx", "-c", conf]), port, self.d)
        self.procs.append(p)
        return p

    def sluice(self, name, body, workers=1, cpus=None):
        """Starts sluice with `body` (listeners/upstreams/routes YAML) after the common keys;
        returns (proc, port, admin_port)."""
        port, admin = compare.free_port(), compare.free_port()
        conf = compare.write(os.path.join(self.d, f"{name}.yaml"), f"""workers: {workers}
admin: {{address: 127.0.0.1:{admin}}}
access_log: {{path: "off"}}
limits: {{max_connections: 100000, idle_timeout: 600s}}
listeners: [{{name: bench, address: 127.0.0.1:{port}}}]
{body}""")
        p = compare.Proc(name, pinned(cpus, [self.a.sluice, "-c", conf]), port, self.d)
        p.admin, p.conf = admin, conf
        self.procs.append(p)
        return p

    def wrk(self, port, sid, headers=(), script=None, connections=None, duration=None,
            threads=1):
        duration = duration or self.a.duration
        argv = ["wrk", f"-t{threads}", f"-c{connections or self.a.connections}",
                f"-d{duration}s", "--latency"]
        for h in headers:
            argv += ["-H", h]
        if script:
            argv += ["-s", script]
        argv.append(f"http://127.0.0.1:{port}/")
        cpu0 = compare.cpu_seconds(sid) if sid else 0.0
        out = subprocess.run(pinned(self.a.wrk_cpus, argv), capture_output=True,
                             text=True).stdout
        cpu = compare.cpu_seconds(sid) - cpu0 if sid else float("nan")
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p99 = compare.to_ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        if bad:
            print(f"  warning: {bad.group(1)} non-2xx responses from {argv}", file=sys.stderr)
        return {"rps": rps, "p99": p99, "rps_cpu": rps * duration / cpu if cpu else float("nan")}

    def wrk_path(self, port, sid, path, headers=()):
        """wrk against `path` (a script sets it; the URL stays /)."""
        script = None
        if path != "/":
            script = compare.write(os.path.join(self.d, "path.lua"), f'wrk.path = "{path}"\n')
        return self.wrk(port, sid, headers=headers, script=script)

    def key_script(self, keys, sequential=False, start=0):
        """wrk script sending x-key: a random one of `keys` values, or (sequential) each in
        turn from `start`."""
        path = os.path.join(self.d, f"keys-{keys}-{int(sequential)}.lua")
        return compare.write(path, KEY_SCRIPT % (keys, start, "true" if sequential else "false"))

    def close(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs = []


def cell(values, fmt):
    med = statistics.median(values)
    return f"{fmt(med)} ({fmt(min(values))}-{fmt(max(values))})"


def kilo(v):
    return f"{v / 1000:.1f}k"


def ms(v):
    return f"{v:.2f}"


def alternate(bench, cases, rounds):
    """cases: [(label, fn() -> dict)]; runs them in alternating rounds; returns label -> [dict]."""
    out = {label: [] for label, _ in cases}
    for r in range(rounds):
        for label, fn in cases:
            out[label].append(fn())
            print(f"  round {r + 1} {label}: {out[label][-1]}", file=sys.stderr)
    return out


def table(title, header, rows):
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def upstream_yaml(targets, balancer="round_robin", extra=""):
    ts = "\n".join(f"      - address: {t}" for t in targets)
    return f"""upstreams:
  - name: up
    balancer: {balancer}
    keepalive: 128{extra}
    targets:
{ts}
"""


# ---- routes ---------------------------------------------------------------

def cmd_routes(bench, a):
    up = bench.upstream([f"127.0.0.1:{compare.free_port()}"])
    cases, sizes = [], (1, 100, 1000)
    for kind in ("path_prefix", "header"):
        for n in sizes:
            routes = []
            for i in range(n):
                if kind == "path_prefix":
                    m = f"{{path_prefix: /svc{i}/}}"
                else:
                    m = f"{{path_prefix: /, headers: {{x-svc: v{i}}}}}"
                routes.append(f"  - {{name: r{i}, match: {m}, upstream: up}}")
            body = upstream_yaml([f"127.0.0.1:{up.port}"]) + "routes:\n" + "\n".join(routes)
            p = bench.sluice(f"routes-{kind}-{n}", body)
            path = f"/svc{n - 1}/x" if kind == "path_prefix" else "/"
            hdr = () if kind == "path_prefix" else (f"x-svc: v{n - 1}",)
            url_port = p.port

            def run(p=p, hdr=hdr, path=path, port=url_port):
                return bench.wrk_path(port, p.p.pid, path, hdr)
            cases.append(((kind, n), run))
    res = alternate(bench, cases, a.rounds)
    rows = []
    for kind in ("path_prefix", "header"):
        base = statistics.median(r["rps_cpu"] for r in res[(kind, 1)])
        rows.append([f"by {kind.replace('_', ' ')}, rps/cpu"] +
                    [cell([r["rps_cpu"] for r in res[(kind, n)]], kilo) for n in sizes] +
                    [f"{statistics.median(r['rps_cpu'] for r in res[(kind, sizes[-1])]) / base:.2f}"])
        rows.append([f"by {kind.replace('_', ' ')}, p99 ms"] +
                    [cell([r["p99"] for r in res[(kind, n)]], ms) for n in sizes] + [""])
    table("Routes (the last one matches)", ["", "1 route", "100 routes", "1,000 routes",
                                            "1,000 / 1"], rows)



# ---- rate limit keys --------------------------------------------------------

def keys_tracked(admin):
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    return sum(float(m.group(1)) for m in
               re.finditer(r"^sluice_ratelimit_keys\{[^}]*\} (\S+)$", text, re.M))


def cmd_ratelimit(bench, a):
    up = bench.upstream([f"127.0.0.1:{compare.free_port()}"])
    sizes, cases, procs = (1, 10_000, 1_000_000), [], {}
    for n in sizes:
        body = upstream_yaml([f"127.0.0.1:{up.port}"]) + f"""routes:
  - name: all
    match: {{path_prefix: /}}
    upstream: up
    filters:
      - token_bucket: {{rate: 100000000/s, burst: 100000000, key: "header:x-key", max_keys: 2000000}}
"""
        p = procs[n] = bench.sluice(f"limit-{n}", body)
        deadline = time.time() + a.fill_seconds
        while keys_tracked(p.admin) < n and time.time() < deadline:
            fill = bench.key_script(n, sequential=True, start=int(keys_tracked(p.admin)))
            bench.wrk(p.port, None, script=fill, duration=5)
        p.rss_filled = compare.rss_kib(p.p.pid)
        script = bench.key_script(n)
        cases.append((n, lambda p=p, s=script: bench.wrk(p.port, p.p.pid, script=s)))
    res = alternate(bench, cases, a.rounds)
    base = statistics.median(r["rps_cpu"] for r in res[1])
    rows = [["rps/cpu"] + [cell([r["rps_cpu"] for r in res[n]], kilo) for n in sizes] +
            [f"{statistics.median(r['rps_cpu'] for r in res[sizes[-1]]) / base:.2f}"],
            ["p99 ms"] + [cell([r["p99"] for r in res[n]], ms) for n in sizes] + [""],
            ["keys tracked"] + [f"{keys_tracked(procs[n].admin):.0f}" for n in sizes] + [""],
            ["RSS MB after filling"] + [f"{procs[n].rss_filled / 1024:.0f}" for n in sizes] + [""]]
    table("Rate-limit keys (token_bucket keyed by header, never trips; a random key per request)",
          ["", "1 key", "10,000 keys", "1,000,000 keys", "1M / 1"], rows)


# ---- balancers --------------------------------------------------------------

def target_addresses(n, ports):
    """n distinct loopback addresses: 127.0.0.x for x in 1..250 on each of `ports`."""
    return [f"127.0.0.{1 + i % 250}:{ports[i // 250]}" for i in range(n)]


def cmd_balancers(bench, a):
    sizes = (1, 100, 1000)
    ports = [compare.free_port() for _ in range(4)]
    every = target_addresses(max(sizes), ports)
    bench.upstream(every)
    script = bench.key_script(100_000)
    balancers = ("round_robin", "least_conn", "random_two", "consistent_hash")
    cases = []
    for b in balancers:
        for n in sizes:
            extra = "\n    hash_key: header:x-key" if b == "consistent_hash" else ""
            body = upstream_yaml(every[:n], b, extra) + \
                "routes: [{name: all, match: {path_prefix: /}, upstream: up}]\n"
            p = bench.sluice(f"bal-{b}-{n}", body)
            bench.wrk(p.port, None, script=script, duration=2)  # warm the pools
            cases.append(((b, n), lambda p=p: bench.wrk(p.port, p.p.pid, script=script)))
    res = alternate(bench, cases, a.rounds)
    rows = []
    for b in balancers:
        base = statistics.median(r["rps_cpu"] for r in res[(b, 1)])
        rows.append([b] + [cell([r["rps_cpu"] for r in res[(b, n)]], kilo) for n in sizes] +
                    [f"{statistics.median(r['rps_cpu'] for r in res[(b, sizes[-1])]) / base:.2f}"] +
                    [" / ".join(f"{statistics.median(r['p99'] for r in res[(b, n)]):.2f}"
                                for n in sizes)])
    table("Targets per upstream (rps/cpu; consistent_hash keyed by a random header value)",
          ["balancer", "1 target", "100 targets", "1,000 targets", "1,000 / 1",
           "p99 ms (1 / 100 / 1,000)"], rows)


# ---- idle connections ---------------------------------------------------------

def open_idle(port, n):
    """n keep-alive connections that each made one request and then stay silent. Source
    addresses 127.B.x.2 (B per process, x per 20,000 connections), so neither the ephemeral
    ports of one address nor the TIME_WAIT sockets of an earlier run get in the way."""
    socks, req = [], b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    base = 1 + os.getpid() % 250
    for i in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_IP, 24, 1)  # IP_BIND_ADDRESS_NO_PORT: the port comes at connect
        s.bind((f"127.{base}.{i // 20000}.2", 0))
        s.connect(("127.0.0.1", port))
        s.sendall(req)
        socks.append(s)
        if len(socks) % 1000 == 0:  # read the answers as we go, so no backlog builds up
            for t in socks[-1000:]:
                t.settimeout(10)
                t.recv(65536)
    for t in socks[len(socks) - len(socks) % 1000:]:
        t.settimeout(10)
        t.recv(65536)
    return socks


def hold_idle(port, n):
    """A child process (its own descriptor limit) holding n idle connections until its stdin
    closes."""
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--hold", str(port), str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    if p.stdout.readline().strip() != "ready":
        raise RuntimeError(f"could not open {n} idle connections")
    return p


def cmd_idle(bench, a):
    up = bench.upstream([f"127.0.0.1:{compare.free_port()}"])
    sizes, cases, procs = tuple(int(x) for x in a.idle_sizes.split(",")), [], {}
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if max(sizes) + 1000 > hard:
        sys.exit(f"RLIMIT_NOFILE is {hard}: {max(sizes)} idle connections need more "
                 "(raise the hard limit: ulimit -Hn, or CAP_SYS_RESOURCE)")
    body = upstream_yaml([f"127.0.0.1:{up.port}"]) + \
        "routes: [{name: all, match: {path_prefix: /}, upstream: up}]\n"
    held = []
    for n in sizes:
        p = procs[n] = bench.sluice(f"idle-{n}", body)
        p.rss_before = compare.rss_kib(p.p.pid)
        held.append(hold_idle(p.port, n))
        time.sleep(1)
        p.rss_idle = compare.rss_kib(p.p.pid)
        cases.append((n, lambda p=p: bench.wrk(p.port, p.p.pid)))
    res = alternate(bench, cases, a.rounds)
    base = statistics.median(r["rps_cpu"] for r in res[sizes[0]])
    rows = [["rps/cpu"] + [cell([r["rps_cpu"] for r in res[n]], kilo) for n in sizes] +
            [f"{statistics.median(r['rps_cpu'] for r in res[sizes[-1]]) / base:.2f}"],
            ["p99 ms"] + [cell([r["p99"] for r in res[n]], ms) for n in sizes] + [""],
            ["RSS MB, idle connections open"] + [f"{procs[n].rss_idle / 1024:.1f}" for n in sizes]
            + [""],
            ["bytes per idle connection"] +
            [f"{(procs[n].rss_idle - procs[n].rss_before) * 1024 / n:.0f}" for n in sizes] + [""]]
    for h in held:
        h.stdin.close()
        h.wait()
    table("Idle keep-alive connections beside the load",
          [""] + [f"{n:,} idle" for n in sizes] + [f"{sizes[-1]:,} / {sizes[0]:,}"], rows)


# ---- config size ---------------------------------------------------------------

def big_config(routes, upstreams, limiter):
    up = "\n".join(f"  - {{name: u{i}, targets: [{{address: 127.{1 + i // 250}.{i % 250}.1:8080}}]}}"
                   for i in range(upstreams))
    lim = (", filters: [{token_bucket: {rate: 100/s, key: ip}}]" if limiter else "")
    rs = "\n".join(f"  - {{name: r{i}, match: {{path_prefix: /svc{i}/}}, upstream: u{i % upstreams}{lim}}}"
                   for i in range(routes))
    return f"upstreams:\n{up}\nroutes:\n{rs}\n"


def reload_once(p, version):
    """SIGHUP; (wall seconds until the log says version `version` serves, sluice's CPU seconds
    meanwhile)."""
    cpu0, t0 = compare.cpu_seconds(p.p.pid), time.time()
    os.kill(p.p.pid, signal.SIGHUP)
    want = f"config reloaded: version {version}"
    while time.time() - t0 < 60:
        with open(p.log.name) as f:
            if want in f.read():
                return time.time() - t0, compare.cpu_seconds(p.p.pid) - cpu0
        time.sleep(0.005)
    raise RuntimeError(f"no '{want}' in {p.log.name}")


def check_config(binary, conf):
    """`sluice -t`: (wall seconds, CPU seconds)."""
    ru0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.time()
    subprocess.run([binary, "-t", "-c", conf], check=True, capture_output=True)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.time() - t0, ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime


def cmd_config(bench, a):
    cases = [("1 route", 1, 1, False), ("5,000 routes + 1,000 upstreams", 5000, 1000, False),
             ("same + token_bucket per route", 5000, 1000, True)]
    rows = []
    for label, nr, nu, lim in cases:
        samples = {"rss": [], "t": [], "t_cpu": [], "reload": [], "reload_cpu": [], "rss8": []}
        for _ in range(a.rounds):
            p = bench.sluice("cfg", big_config(nr, nu, lim))
            time.sleep(0.5)
            samples["rss"].append(compare.rss_kib(p.p.pid) / 1024)
            wall, cpu = check_config(a.sluice, p.conf)
            samples["t"].append(wall)
            samples["t_cpu"].append(cpu)
            times = [reload_once(p, v) for v in range(2, 10)]
            samples["reload"].append(statistics.median(t[0] for t in times))
            samples["reload_cpu"].append(statistics.median(t[1] for t in times))
            time.sleep(1.5)
            samples["rss8"].append(compare.rss_kib(p.p.pid) / 1024)
            bench.close()
            print(f"  {label}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in samples.items()),
                  file=sys.stderr)
        rows.append([label] + [cell(samples[k], lambda v: f"{v:.1f}") for k in ("rss", "rss8")] +
                    [cell(samples[k], lambda v: f"{v:.2f}")
                     for k in ("t", "t_cpu", "reload", "reload_cpu")])
    table("Config size (one worker; reload = SIGHUP until the log says the new version serves,"
          " median of eight; CPU = user+sys of the process)",
          ["config", "RSS MB", "RSS MB after 8 reloads", "`sluice -t` s", "`-t` CPU s",
           "reload s", "reload CPU s"], rows)


# ---- workers -----------------------------------------------------------------

def nginx_proxy(bench, workers, up_port):
    port = compare.free_port()
    conf = compare.write(os.path.join(bench.d, f"nginx-{workers}.conf"), f"""
worker_processes {workers}; daemon off; pid {bench.d}/nginx-{workers}.pid;
error_log {bench.d}/nginx-{workers}.err warn;
events {{ worker_connections 16384; }}
http {{
  access_log off; keepalive_requests 10000000;
  upstream up {{ server 127.0.0.1:{up_port}; keepalive 128; }}
  server {{ listen 127.0.0.1:{port} reuseport backlog=4096;
    location / {{ proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}
}}""")
    p = compare.Proc(f"nginx-{workers}", pinned(bench.a.proxy_cpus, ["nginx", "-c", conf]),
                     port, bench.d)
    bench.procs.append(p)
    return p


def thread_accepts(pid, seconds):
    """accept4 calls per thread of pid over `seconds` (perf stat --per-thread)."""
    out = subprocess.run(["perf", "stat", "-x,", "--per-thread", "-e",
                          "syscalls:sys_enter_accept4", "-p", str(pid), "--", "sleep",
                          str(seconds)], capture_output=True, text=True).stderr
    counts = {}
    for line in out.splitlines():
        f = line.split(",")
        if len(f) > 2 and f[1].strip().isdigit():
            counts[f[0].strip()] = int(f[1])
    return {k: v for k, v in counts.items() if v > 0}


def thread_cpu(pid):
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[tid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def cmd_workers(bench, a):
    up = bench.upstream([f"127.0.0.1:{compare.free_port()}"])
    body = upstream_yaml([f"127.0.0.1:{up.port}"]) + \
        "routes: [{name: all, match: {path_prefix: /}, upstream: up}]\n"
    procs = {("sluice", w): bench.sluice(f"sluice-w{w}", body, workers=w, cpus=a.proxy_cpus)
             for w in (1, 2)}
    for w in (1, 2):
        procs[("nginx", w)] = nginx_proxy(bench, w, up.port)
    cases = [(k, lambda p=p: bench.wrk(p.port, p.p.pid, threads=a.wrk_threads))
             for k, p in procs.items()]
    res = alternate(bench, cases, a.rounds)
    rows = []
    for name in ("sluice", "nginx"):
        r1, r2 = res[(name, 1)], res[(name, 2)]
        rows.append([name] + [cell([r["rps"] for r in rs], kilo) for rs in (r1, r2)] +
                    [f"{statistics.median(r['rps'] for r in r2) / statistics.median(r['rps'] for r in r1):.2f}"] +
                    [cell([r["rps_cpu"] for r in rs], kilo) for rs in (r1, r2)] +
                    [" / ".join(f"{statistics.median(r['p99'] for r in rs):.2f}" for rs in (r1, r2))])
    table(f"Workers (plain, wrk -t{a.wrk_threads} -c{a.connections}; wrk on CPUs "
          f"{a.wrk_cpus or 'any'}, upstream on {a.upstream_cpus or 'any'}, proxy on "
          f"{a.proxy_cpus or 'any'})",
          ["proxy", "rps, 1 worker", "rps, 2 workers", "2 / 1", "rps/cpu, 1", "rps/cpu, 2",
           "p99 ms (1 / 2)"], rows)
    # Balance under churn: accepted connections and CPU per sluice worker thread.
    p = procs[("sluice", 2)]
    rows = []
    for _ in range(a.rounds):
        cpu0 = thread_cpu(p.p.pid)
        counts = {}
        t = threading.Thread(target=lambda: counts.update(thread_accepts(p.p.pid, a.duration)))
        t.start()
        r = bench.wrk(p.port, p.p.pid, headers=("Connection: close",), threads=a.wrk_threads)
        t.join()
        cpu1 = thread_cpu(p.p.pid)
        busy = sorted(((cpu1[k] - cpu0.get(k, 0), k) for k in cpu1), reverse=True)[:2]
        acc = sorted(counts.values(), reverse=True)
        share = acc[0] / sum(acc) if acc else float("nan")
        rows.append([kilo(r["rps"]), ms(r["p99"]), " / ".join(str(v) for v in acc),
                     f"{share:.3f}", " / ".join(f"{c:.2f}" for c, _ in busy)])
    table("Two workers under churn (wrk -H 'Connection: close'): accepts per worker thread "
          "(perf stat -e syscalls:sys_enter_accept4 --per-thread)",
          ["rps", "p99 ms", "accepts per worker", "busiest worker's share",
           "CPU s per worker thread"], rows)


def main():
    if sys.argv[1:2] == ["--hold"]:  # hold_idle's child
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        socks = open_idle(int(sys.argv[2]), int(sys.argv[3]))
        print("ready", flush=True)
        sys.stdin.read()
        return len(socks)
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-cpus", default=None, help="taskset list for wrk (default: any)")
    ap.add_argument("--upstream-cpus", default=None, help="taskset list for the nginx upstream")
    ap.add_argument("--proxy-cpus", default=None, help="workers: taskset list for the proxies")
    ap.add_argument("--wrk-threads", type=int, default=1, help="workers: wrk threads")
    ap.add_argument("--fill-seconds", type=int, default=240,
                    help="ratelimit: longest time spent putting keys in the table first")
    ap.add_argument("--idle-sizes", default="100,10000,50000",
                    help="idle: connection counts (each needs a file descriptor in sluice and "
                    "in this script: RLIMIT_NOFILE must be above the largest)")
    ap.add_argument("what", nargs="+",
                    choices=["routes", "ratelimit", "balancers", "idle", "config", "workers"])
    a = ap.parse_args()
    a.sluice = os.path.abspath(a.sluice)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # sluice and nginx inherit it
    for what in a.what:
        bench = Bench(a)
        print(f"\n### {what}: `{' '.join(sys.argv)}`\nbefore: {uptime()}")
        try:
            globals()[f"cmd_{what}"](bench, a)
        finally:
            bench.close()
        print(f"\nafter: {uptime()}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
