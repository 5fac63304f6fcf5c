"""Fast real processes for fault tests at the concurrency users have: nginx as an upstream
target (one process, `master_process off`, so SIGKILL kills all of it) and wrk as the load
generator, whose summary is parsed into counts. Only loopback, bounded in time."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import free_port

NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
error_log %(d)s/error.log warn;
pid %(d)s/nginx.pid;
worker_rlimit_nofile 65536;
events { worker_connections 32768; }
http {
    access_log %(access)s;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:%(port)d reuseport;
        root %(d)s/www;
        location = /healthz { return 200 "ok\\n"; }
        location /big/ { }
        location / { return %(status)d "hello from %(port)d\\n"; }
    }
}
"""


class NginxTarget:
    """nginx answering `status` to every path but /healthz and /big/FILE (static files made by
    add_file). `log=True` writes an access log, so requests can be counted."""

    def __init__(self, status=200, log=False, port=None):
        self.status, self.log = status, log
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="sluice-nginx-")
        os.makedirs(os.path.join(self.dir, "www", "big"))
        self.proc = None

    def add_file(self, name, size):
        path = os.path.join(self.dir, "www", "big", name)
        block = bytes(((i * 31 + 7) & 0xFF) for i in range(65536))
        with open(path, "wb") as f:
            left = size
            while left > 0:
                f.write(block[:min(left, len(block))])
                left -= len(block)
        return self

    def start(self):
        access = os.path.join(self.dir, "access.log") if self.log else "off"
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF % {"d": self.dir, "port": self.port, "status": self.status,
                                  "access": access})
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", conf, "-e",
                                      os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        import socket
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("nginx exited: " + self.error_log())
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def error_log(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()
        except OSError:
            return ""

    def requests(self):
        """Lines in the access log (requests nginx answered)."""
        try:
            with open(os.path.join(self.dir, "access.log"), "rb") as f:
                return sum(1 for _ in f)
        except OSError:
            return 0

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class WrkResult:
    def __init__(self, text):
        self.text = text
        m = re.search(r"(\d+) requests in", text)
        self.requests = int(m.group(1)) if m else 0
        m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        self.non2xx = int(m.group(1)) if m else 0
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                      text)
        self.socket_errors = sum(int(x) for x in m.groups()) if m else 0

    @property
    def failures(self):
        return self.non2xx + self.socket_errors


def wrk_start(url, connections=64, threads=2, seconds=6):
    """wrk in the background; wrk_finish() waits and parses its summary."""
    return subprocess.Popen(["wrk", "-c", str(connections), "-t", str(threads),
                             "-d", "%ds" % seconds, "--timeout", "5s", url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_finish(proc, timeout=60):
    out, _ = proc.communicate(timeout=timeout)
    return WrkResult(out)
