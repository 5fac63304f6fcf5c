#!/usr/bin/env python3
"""Restarts under load, counting the requests they cost. `sluice`: the SO_REUSEPORT overlap
restart of test_systemd (a new process binds the same port, then the old one gets SIGTERM and
drains), ITERATIONS times in a row, each new process becoming the old one. `haproxy`: the same
with `haproxy -sf OLDPID` (the new process binds, then tells the old one to finish; no `-x`, so
listening sockets are not passed over). `nginx`: `nginx -s reload` (SIGHUP to one master, which
keeps its listening sockets). CLIENTS processes open a fresh connection per request
(`Connection: close`) and count every failure by kind; tcp_migrate_req is set to 1 (as the
package's sysctl file does) unless MIGRATE=0. Needs root.

  tests/bench/overlap_restart.py sluice build-x/sluice 300 [--clients 32] [--workers 2]
  tests/bench/overlap_restart.py haproxy /usr/sbin/haproxy 300
  tests/bench/overlap_restart.py nginx /usr/sbin/nginx 300
"""
import argparse
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import tempfile
import time

REQ = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def client(port, stop, out):
    ok, fails = 0, {}
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            s.sendall(REQ)
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            s.close()
            if data.startswith(b"HTTP/1.1 200") and data.rstrip().endswith(b"ok"):
                ok += 1
                continue
            kind = "bad response %r" % data[:30]
        except OSError as e:
            kind = "%s (errno %s)" % (type(e).__name__, e.errno)
        fails[kind] = fails.get(kind, 0) + 1
        fails.setdefault("at", []).append(time.time())
    out.put((ok, fails))


class Sluice:
    def __init__(self, binary, port, workers, d):
        self.binary, self.port, self.workers, self.d, self.n = binary, port, workers, d, 0

    def start(self):
        self.n += 1
        cfg = os.path.join(self.d, "s%d.yaml" % self.n)
        err = os.path.join(self.d, "e%d" % self.n)
        with open(cfg, "w") as f:
            f.write("workers: %d\nadmin: {address: 127.0.0.1:%d}\naccess_log: {path: off}\n"
                    "limits: {drain_timeout: 5s}\n"
                    "listeners: [{name: main, address: 127.0.0.1:%d}]\n"
                    "routes: [{name: d, match: {path_prefix: /}, "
                    "respond: {status: 200, body: \"ok\\n\"}}]\n"
                    % (self.workers, free_port(), self.port))
        p = subprocess.Popen([self.binary, "-c", cfg], stdout=subprocess.DEVNULL,
                             stderr=open(err, "w"))
        deadline = time.time() + 10
        while "serving" not in open(err).read():
            if time.time() > deadline or p.poll() is not None:
                raise SystemExit("sluice did not start: " + open(err).read())
            time.sleep(0.01)
        return p

    def restart(self, old):
        new = self.start()
        time.sleep(0.1)
        old.send_signal(signal.SIGTERM)
        if old.wait(15) != 0:
            print("old sluice exited with", old.returncode)
        return new


class Haproxy:
    def __init__(self, binary, port, workers, d):
        self.binary, self.cfg = binary, os.path.join(d, "haproxy.cfg")
        with open(self.cfg, "w") as f:
            f.write("global\n  maxconn 8000\n  nbthread %d\n"
                    "defaults\n  mode http\n  timeout connect 5s\n  timeout client 10s\n"
                    "  timeout server 10s\n"
                    "frontend f\n  bind 127.0.0.1:%d\n"
                    "  http-request return status 200 content-type text/plain string ok\n"
                    % (workers, port))
        self.port = port

    def listening(self, pid):
        inodes = set()
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and int(cols[1].split(":")[1], 16) == self.port \
                        and cols[9] in inodes:
                    return True
        return False

    def start(self, old=None):
        args = [self.binary, "-db", "-f", self.cfg] + (["-sf", str(old.pid)] if old else [])
        p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while not self.listening(p.pid):
            if time.time() > deadline:
                raise SystemExit("haproxy did not start")
            time.sleep(0.01)
        return p

    def restart(self, old):
        new = self.start(old)
        old.wait(15)
        return new


class Nginx:
    def __init__(self, binary, port, workers, d):
        self.binary, self.cfg = binary, os.path.join(d, "nginx.conf")
        with open(self.cfg, "w") as f:
            f.write("daemon off;\nmaster_process on;\nworker_processes %d;\npid %s/nginx.pid;\n"
                    "error_log %s/error.log;\nevents { worker_connections 8192; }\n"
                    "http { access_log off; server { listen 127.0.0.1:%d;\n"
                    "  location / { return 200 \"ok\\n\"; } } }\n" % (workers, d, d, port))

    def start(self):
        p = subprocess.Popen([self.binary, "-c", self.cfg], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        return p

    def restart(self, master):
        master.send_signal(signal.SIGHUP)  # nginx -s reload
        time.sleep(0.15)
        return master


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["sluice", "haproxy", "nginx"])
    ap.add_argument("binary")
    ap.add_argument("iterations", type=int)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    with open("/proc/sys/net/ipv4/tcp_migrate_req", "w") as f:
        f.write(os.environ.get("MIGRATE", "1"))
    port = free_port()
    d = tempfile.mkdtemp(prefix="overlap-")
    server = {"sluice": Sluice, "haproxy": Haproxy, "nginx": Nginx}[a.kind](
        a.binary, port, a.workers, d)
    proc = server.start()
    stop, out = mp.Event(), mp.Queue()
    clients = [mp.Process(target=client, args=(port, stop, out)) for _ in range(a.clients)]
    for c in clients:
        c.start()
    time.sleep(0.3)
    t0 = time.time()
    for _ in range(a.iterations):
        proc = server.restart(proc)
        time.sleep(0.05)
    stop.set()
    ok, fails = 0, {}
    for _ in clients:
        n, f = out.get(timeout=60)
        ok += n
        for k, v in f.items():
            fails[k] = fails.get(k, []) + v if k == "at" else fails.get(k, 0) + v
    for c in clients:
        c.join()
    proc.send_signal(signal.SIGTERM if a.kind != "nginx" else signal.SIGQUIT)
    proc.wait(15)
    fails.pop("at", None)
    print("%s: %d restarts in %.0f s, %d requests ok, %d failed %r"
          % (a.kind, a.iterations, time.time() - t0, ok, sum(fails.values()), fails))


if __name__ == "__main__":
    main()
