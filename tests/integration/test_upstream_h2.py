#!/usr/bin/python3
"""HTTP/2 to upstreams (issue 14 item 2): HTTP/1.1 clients through sluice to targets that speak
h2c with prior knowledge (a python3-h2 server, h2_upstream.py, and nginx `listen ... http2`)
and h2 over TLS with ALPN (nginx `listen ... ssl http2`). GET and POST (1 MiB, and a chunked
body with trailers), an 8 MiB response to a slow client (backpressure: RSS bounded), response
trailers relayed to a chunked HTTP/1.1 client, 200 concurrent requests sharing at most
ceil(200 / max_streams_per_connection) connections, retries when a target is down or resets
streams, a target's GOAWAY under load without a failed request, health checks over HTTP/2
marking a target down and up again, grpc-timeout bounding the try (504 -> grpc-status 4), and
a real gRPC client and server (python3-grpcio) through sluice: unary and server-streaming
calls with trailing metadata and statuses (h2c on both sides).
Run with /usr/bin/python3 (python3-h2 is installed for Debian's interpreter)."""

import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import Conn, Sluice, chunked, free_port, main, make_config, parse_metrics

HERE = os.path.dirname(os.path.abspath(__file__))


def wait_for(pred, timeout, step=0.05):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return True
        time.sleep(step)
    return False


class H2Server:
    """h2_upstream.py: an h2c target that logs each connection it accepts."""

    def __init__(self, *args, port=0):
        self.dir = tempfile.mkdtemp(prefix="sluice-h2up-")
        self.log = os.path.join(self.dir, "conns.log")
        self.args, self.port, self.proc = list(args), port, None

    def start(self):
        cmd = ["/usr/bin/python3", os.path.join(HERE, "h2_upstream.py"), "--log", self.log]
        if self.port:
            cmd += ["--port", str(self.port)]
        self.proc = subprocess.Popen(cmd + self.args, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            raise RuntimeError("h2_upstream.py did not start: %r" % line)
        self.port = int(line.split()[1])
        return self

    def connections(self):
        try:
            with open(self.log) as f:
                return sum(1 for _ in f)
        except OSError:
            return 0

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


NGINX = """
daemon off;
master_process off;
worker_processes 1;
error_log %(d)s/error.log warn;
pid %(d)s/nginx.pid;
events { worker_connections 4096; }
http {
    log_format conns '$connection $status $request_length $ssl_session_reused';
    access_log %(d)s/access.log conns;
    client_body_temp_path %(d)s/body;
    proxy_temp_path %(d)s/proxy;
    fastcgi_temp_path %(d)s/fastcgi;
    uwsgi_temp_path %(d)s/uwsgi;
    scgi_temp_path %(d)s/scgi;
    keepalive_requests %(keepalive_requests)d;
    client_max_body_size 16m;
    server {
        listen 127.0.0.1:%(port)d %(listen)s;
        %(tls)s
        root %(d)s/www;
        location = /healthz { return 200 "ok\\n"; }
        location /big/ { }
        location /upload { return 200 "stored\\n"; }
        location / { return 200 "hello from nginx\\n"; }
    }
}
"""


class NginxH2:
    """nginx speaking h2c (prior knowledge) or h2 over TLS; its access log says which connection
    carried each request and how long the request was."""

    def __init__(self, tls_dir=None, keepalive_requests=100000):
        self.keepalive_requests = keepalive_requests
        self.dir = tempfile.mkdtemp(prefix="sluice-nginx-h2-")
        os.makedirs(os.path.join(self.dir, "www", "big"))
        self.port = free_port()
        self.tls_dir = tls_dir
        self.proc = None

    def add_file(self, name, size):
        with open(os.path.join(self.dir, "www", "big", name), "wb") as f:
            f.write(bytes((i * 7) & 0xFF for i in range(256)) * (size // 256))
        return self

    def start(self):
        tls = ""
        listen = "http2"
        if self.tls_dir:
            listen = "ssl http2"
            tls = "ssl_certificate %s/cert.pem; ssl_certificate_key %s/key.pem;" % (
                self.tls_dir, self.tls_dir)
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX % {"d": self.dir, "port": self.port, "listen": listen, "tls": tls,
                             "keepalive_requests": self.keepalive_requests})
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", conf, "-e",
                                      os.path.join(self.dir, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_for(self._up, 10):
            raise RuntimeError("nginx did not start")
        return self

    def _up(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def log(self):
        try:
            with open(os.path.join(self.dir, "access.log")) as f:
                return [line.split() for line in f if line.strip()]
        except OSError:
            return []

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def make_cert(d):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", os.path.join(d, "key.pem"),
                    "-out", os.path.join(d, "cert.pem"), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)


def h2_config(ports, protocol="h2c", workers=1, opts=None, routes=None, tls_dir=None):
    o = {"protocol": protocol, "max_streams_per_connection": "100",
         "timeouts": "{connect: 1s, response: 2s}"}
    if tls_dir:
        o["tls"] = "{ca: %s/cert.pem, sni: localhost}" % tls_dir
    o.update(opts or {})
    return make_config({"up": ports}, routes or ["{name: all, match: {path_prefix: /}, upstream: up}"],
                       workers=workers, upstream_opts={"up": o})


def get(port, target, headers=None, method="GET", body=None):
    with Conn(port) as c:
        return c.request(method, target, headers=headers, body=body)


def parallel(n, fn):
    """Runs fn(i) in n threads at once; returns the results (exceptions as values)."""
    results = [None] * n
    barrier = threading.Barrier(n)

    def run(i):
        try:
            barrier.wait(10)
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 -- reported by the caller's assertions
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


TLS_DIR = None  # a self-signed certificate for localhost (setUpModule)


def setUpModule():
    global TLS_DIR
    TLS_DIR = tempfile.mkdtemp(prefix="sluice-h2-cert-")
    make_cert(TLS_DIR)


def tearDownModule():
    shutil.rmtree(TLS_DIR, ignore_errors=True)


class H2cPythonTarget(unittest.TestCase):
    """Against h2_upstream.py over h2c: what the target receives and what comes back."""
    tls = False

    @classmethod
    def setUpClass(cls):
        if cls.tls:
            cls.up = H2Server("--tls", TLS_DIR).start()
            cfg = h2_config(cls.up.port, protocol="h2", tls_dir=TLS_DIR)
        else:
            cls.up = H2Server().start()
            cfg = h2_config(cls.up.port)
        cls.sluice = Sluice(cfg).start()

    @classmethod
    def tearDownClass(cls):
        cls.sluice.stop()
        cls.up.stop()

    def scheme(self):
        return "https" if self.tls else "http"

    def test_get_arrives_as_http2_with_sluice_fields(self):
        r = get(self.sluice.port, "/echo?q=1", headers={"Connection": "keep-alive",
                                                        "X-Custom": "v"})
        self.assertEqual(r.status, 200, r.body)
        e = json.loads(r.body)
        self.assertEqual(e["method"], "GET")
        self.assertEqual(e["path"], "/echo?q=1")
        self.assertEqual(e["scheme"], self.scheme())
        self.assertEqual(e["authority"], "test.local")
        names = [k for k, _ in e["headers"]]
        self.assertIn("x-custom", names)
        self.assertIn("x-forwarded-for", names)
        self.assertIn("x-request-id", names)
        for banned in ("connection", "keep-alive", "host", "transfer-encoding"):
            self.assertNotIn(banned, names)
        # Via names the protocol each message came over (RFC 9110 §7.6.3)
        self.assertIn(("via", "1.1 sluice"), [tuple(h) for h in e["headers"]])
        self.assertEqual(r.header("via"), "2 sluice")

    def test_post_1mib_body(self):
        body = os.urandom(1 << 20)
        r = get(self.sluice.port, "/echo", method="POST", body=body)
        self.assertEqual(r.status, 200, r.body)
        e = json.loads(r.body)
        self.assertEqual(e["body"], 1 << 20)
        self.assertIn(["content-length", str(1 << 20)], e["headers"])

    def test_chunked_request_with_trailers(self):
        with Conn(self.sluice.port) as c:
            c.send(b"POST /echo HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n\r\n"
                   + b"5\r\nhello\r\n6\r\n world\r\n0\r\nx-checksum: 42\r\n\r\n")
            r = c.read_response()
        self.assertEqual(r.status, 200, r.body)
        e = json.loads(r.body)
        self.assertEqual(e["body"], 11)
        self.assertEqual(e["trailers"], [["x-checksum", "42"]])

    def test_response_trailers_reach_a_chunked_client(self):
        r = get(self.sluice.port, "/trailers", headers={"TE": "trailers"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"data")
        self.assertEqual(r.header("transfer-encoding"), "chunked")
        self.assertIn(("x-checksum", "abc"), r.trailers)
        self.assertIn(("grpc-status", "0"), r.trailers)

    def test_reset_stream_is_a_502(self):
        r = get(self.sluice.port, "/reset")
        self.assertEqual(r.status, 502)
        # The session survives a stream's reset: the next request is served.
        self.assertEqual(get(self.sluice.port, "/echo").status, 200)

    def test_grpc_timeout_bounds_the_try(self):
        t0 = time.time()
        r = get(self.sluice.port, "/slow?ms=1500", method="POST", body=b"\0\0\0\0\0",
                headers={"Content-Type": "application/grpc", "grpc-timeout": "200m",
                         "TE": "trailers"})
        took = time.time() - t0
        self.assertLess(took, 1.0, "grpc-timeout 200m, the response timeout is 2 s")
        # The lead's gRPC reply: 200 with grpc-status 4 (DEADLINE_EXCEEDED), else a plain 504.
        statuses = dict(r.headers)
        grpc_status = statuses.get("grpc-status") or dict(getattr(r, "trailers", [])).get(
            "grpc-status")
        self.assertTrue(r.status == 504 or grpc_status == "4", (r.status, r.headers))

    def test_without_grpc_timeout_the_slow_answer_arrives(self):
        r = get(self.sluice.port, "/slow?ms=300")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"hello")

    def test_concurrent_requests_share_connections(self):
        before = self.up.connections()
        n = 200
        res = parallel(n, lambda i: get(self.sluice.port, "/slow?ms=600").status)
        self.assertEqual(res, [200] * n)
        opened = self.up.connections() - before
        # One worker, 100 streams per connection: 200 requests in flight need 2.
        self.assertLessEqual(opened, math.ceil(n / 100), "connections opened: %d" % opened)


class H2cRetriesAndGoaway(unittest.TestCase):

    def test_down_target_and_resetting_target_are_retried(self):
        dead = free_port()
        with H2Server("--reset-all") as bad, H2Server() as good:
            cfg = h2_config([dead, bad.port, good.port], workers=1,
                            opts={"retries": "{attempts: 2, budget: 100%}"})
            with Sluice(cfg) as s:
                res = [get(s.port, "/echo").status for _ in range(30)]
                self.assertEqual(res, [200] * 30)

    def test_goaway_under_load_fails_no_request(self):
        # nginx ends an HTTP/2 connection after keepalive_requests with a GOAWAY, letting the
        # streams it took finish: under load, streams sent meanwhile are refused and go again.
        with NginxH2(keepalive_requests=15) as ng:
            with Sluice(h2_config(ng.port, workers=2)) as s:
                n = 40

                def burst(i):
                    with Conn(s.port) as c:
                        return [c.request("GET", "/").status for _ in range(10)]

                res = parallel(n, burst)
                flat = [x for r in res for x in (r if isinstance(r, list) else [r])]
                self.assertEqual(flat, [200] * (n * 10))
                # Refused streams were sent again, not retried elsewhere or duplicated: nginx
                # processed each request exactly once.
                self.assertEqual(len(ng.log()), n * 10)
                conns = {line[0] for line in ng.log()}
                self.assertGreater(len(conns), 400 // 15 - 1,
                                   "a GOAWAY every 15 requests: more connections were needed")

    def test_the_servers_max_concurrent_streams_is_honoured(self):
        with H2Server("--max-streams", "10") as up:
            with Sluice(h2_config(up.port, workers=1)) as s:
                get(s.port, "/echo")  # a session that knows the server's SETTINGS
                n = 40
                res = parallel(n, lambda i: get(s.port, "/slow?ms=700").status)
                self.assertEqual(res, [200] * n)
                # 10 streams per connection, not max_streams_per_connection (100).
                self.assertGreaterEqual(up.connections(), math.ceil(n / 10))

    def test_cache_refresh_in_the_background_goes_over_http2(self):
        with H2Server() as up:
            cfg = h2_config(up.port, workers=1, routes=[
                "{name: all, match: {path_prefix: /}, upstream: up,"
                " filters: [{cache: {ttl: 60s, stale_while_revalidate: 10s}}]}"])
            with Sluice(cfg) as s:
                r1 = get(s.port, "/counted")
                self.assertEqual((r1.status, r1.body, r1.header("x-cache")), (200, b"n=1", "MISS"))
                time.sleep(1.3)  # max-age=1: stale, within stale_while_revalidate
                r2 = get(s.port, "/counted")
                self.assertEqual((r2.body, r2.header("x-cache")), (b"n=1", "STALE"))
                # The refresh is a background fetch through the same HTTP/2 path.
                self.assertTrue(wait_for(lambda: get(s.port, "/counted").body == b"n=2", 5),
                                "the background refresh never landed")
                self.assertEqual(up.connections(), 1, "the refresh shared the worker's session")

    def test_health_check_over_http2_marks_down_and_up(self):
        up = H2Server().start()
        port = up.port
        cfg = h2_config(port, workers=1, opts={
            "health_check": "{path: /echo, interval: 100ms, timeout: 100ms, "
                            "healthy_threshold: 1, unhealthy_threshold: 1}"})

        def healthy(s):
            for n, labels, v in parse_metrics(s.metrics()):
                if n == "sluice_upstream_target_healthy" and labels.get("upstream") == "up":
                    return v
            return None

        try:
            with Sluice(cfg) as s:
                # h2_upstream.py speaks HTTP/2 only: an HTTP/1.1 probe would fail it.
                self.assertTrue(wait_for(lambda: healthy(s) == 1, 5), healthy(s))
                time.sleep(0.5)
                self.assertEqual(healthy(s), 1, "HTTP/2 probes keep passing")
                up.stop()
                self.assertTrue(wait_for(lambda: healthy(s) == 0, 5), "never marked down")
                up = H2Server(port=port).start()
                self.assertTrue(wait_for(lambda: healthy(s) == 1, 5), "never marked up again")
                self.assertEqual(get(s.port, "/echo").status, 200)
        finally:
            up.stop()


def target_healthy(s, upstream="up"):
    for n, labels, v in parse_metrics(s.metrics()):
        if n == "sluice_upstream_target_healthy" and labels.get("upstream") == upstream:
            return v
    return None


class H2TlsPythonTarget(H2cPythonTarget):
    """The same against h2_upstream.py over TLS, ALPN h2 (protocol: h2)."""
    tls = True

    def test_health_check_over_tls_and_h2(self):
        # The target speaks nothing but HTTP/2 after ALPN h2: the probe must too.
        cfg = h2_config(self.up.port, protocol="h2", tls_dir=TLS_DIR, opts={
            "health_check": "{path: /echo, interval: 100ms, timeout: 100ms, "
                            "healthy_threshold: 1, unhealthy_threshold: 1}"})
        with Sluice(cfg) as s:
            time.sleep(0.6)
            self.assertEqual(target_healthy(s), 1)


class NginxTargets(unittest.TestCase):
    """nginx as the target, h2c and h2 over TLS (ALPN): large answers, many clients."""

    def both(self, fn):
        for tls in (False, True):
            with self.subTest(tls=tls):
                ng = NginxH2(tls_dir=TLS_DIR if tls else None).add_file("8m", 8 << 20)
                with ng:
                    cfg = h2_config(ng.port, protocol="h2" if tls else "h2c", workers=2,
                                    tls_dir=TLS_DIR if tls else None)
                    with Sluice(cfg) as s:
                        fn(ng, s)

    def test_get(self):
        def check(ng, s):
            r = get(s.port, "/")
            self.assertEqual((r.status, r.body), (200, b"hello from nginx\n"))
            self.assertEqual(len(ng.log()), 1)
        self.both(check)

    def test_8mib_to_a_slow_client_is_not_buffered(self):
        def check(ng, s):
            base = s.rss_kib()
            with Conn(s.port, rcvbuf=16384) as c:
                c.send(b"GET /big/8m HTTP/1.1\r\nHost: test.local\r\n\r\n")
                time.sleep(1.0)  # sluice reads what it may, then must stop
                held = s.rss_kib() - base
                got = [0]
                r = c.read_response(sink=lambda p: got.__setitem__(0, got[0] + len(p)))
            self.assertEqual(r.status, 200)
            self.assertEqual(got[0], 8 << 20)
            self.assertLess(held, 4 << 10, "sluice held %d KiB of an 8 MiB answer" % held)
        self.both(check)

    def test_a_paused_stream_does_not_stall_the_others(self):
        # One worker: both clients' requests are streams of the same upstream connection.
        ng = NginxH2().add_file("8m", 8 << 20)
        with ng, Sluice(h2_config(ng.port, workers=1)) as s:
            with Conn(s.port, rcvbuf=16384) as slow:
                slow.send(b"GET /big/8m HTTP/1.1\r\nHost: test.local\r\n\r\n")
                time.sleep(0.5)  # its stream window is full and not reopened
                t0 = time.time()
                for _ in range(20):
                    r = get(s.port, "/big/8m")
                    self.assertEqual((r.status, r.body_len), (200, 8 << 20))
                took = time.time() - t0
                got = [0]
                r = slow.read_response(sink=lambda p: got.__setitem__(0, got[0] + len(p)))
                self.assertEqual((r.status, got[0]), (200, 8 << 20))
            self.assertLess(took, 10, "20 x 8 MiB beside a paused stream took %.1f s" % took)
            self.assertEqual(len({line[0] for line in ng.log()}), 1, "one shared connection")

    def test_tls_sessions_resume_on_new_connections(self):
        # nginx closes each HTTP/2 connection after 5 requests (GOAWAY): the next session to the
        # target resumes the TLS session of the last one.
        ng = NginxH2(tls_dir=TLS_DIR, keepalive_requests=5)
        with ng, Sluice(h2_config(ng.port, protocol="h2", workers=1, tls_dir=TLS_DIR)) as s:
            for _ in range(20):
                self.assertEqual(get(s.port, "/").status, 200)
            log = ng.log()
            conns = {line[0] for line in log}
            resumed = {line[0] for line in log if len(line) > 3 and line[3] == "r"}
            self.assertGreaterEqual(len(conns), 4)
            self.assertGreaterEqual(len(resumed), len(conns) - 1, log)

    def test_concurrency_shares_connections(self):
        def check(ng, s):
            n = 200
            res = parallel(n, lambda i: get(s.port, "/").status)
            self.assertEqual(res, [200] * n)
            conns = {line[0] for line in ng.log()}
            # Two workers, each needing at most ceil(200 / 100) connections.
            self.assertLessEqual(len(conns), 2 * math.ceil(n / 100), conns)
        self.both(check)


GRPC_SERVER = r"""
import sys
import time
from concurrent import futures
import grpc

def unary(request, context):
    fail = dict(context.invocation_metadata()).get("x-fail")
    if fail:
        context.abort(getattr(grpc.StatusCode, fail), "asked")
    context.set_trailing_metadata((("x-trailer", "done"),))
    return request

def server_stream(request, context):
    for i in range(int(request.decode())):
        yield b"i:%d" % i

def slow(request, context):
    end = time.time() + float(request.decode() or "0")
    while time.time() < end and context.is_active():
        time.sleep(0.02)
    return b"late"

handlers = {"Unary": grpc.unary_unary_rpc_method_handler(unary),
            "Slow": grpc.unary_unary_rpc_method_handler(slow),
            "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream)}
server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", handlers),))
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print("ready %d" % port, flush=True)
server.wait_for_termination()
"""


class GrpcThroughSluice(unittest.TestCase):
    """A real gRPC client (python3-grpcio) over h2c to sluice, sluice over h2c to a real gRPC
    server: unary and server-streaming calls, trailing metadata and statuses end to end."""

    @classmethod
    def setUpClass(cls):
        import grpc  # noqa: F401 -- python3-grpcio, for /usr/bin/python3
        cls.up = subprocess.Popen(["/usr/bin/python3", "-c", GRPC_SERVER],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = cls.up.stdout.readline()
        if not line.startswith("ready "):
            cls.up.kill()
            raise RuntimeError("gRPC server did not start: %r" % line)
        cfg = h2_config(int(line.split()[1]), workers=2).replace(
            "listeners: [{name: main, address: 127.0.0.1:$PORT}]",
            "listeners: [{name: main, address: 127.0.0.1:$PORT, http2: {h2c: true}}]")
        cls.sluice = Sluice(cfg).start()
        cls.channel = grpc.insecure_channel("127.0.0.1:%d" % cls.sluice.port)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.sluice.stop()
        cls.up.kill()
        cls.up.wait(timeout=10)
        cls.up.stdout.close()

    def test_unary_with_trailing_metadata(self):
        call = self.channel.unary_unary("/test.Echo/Unary")
        resp, info = call.with_call(b"ping", timeout=5)
        self.assertEqual(resp, b"ping")
        self.assertIn(("x-trailer", "done"), tuple(info.trailing_metadata()))

    def test_unary_error_status_from_the_server(self):
        import grpc
        call = self.channel.unary_unary("/test.Echo/Unary")
        with self.assertRaises(grpc.RpcError) as cm:
            call(b"x", timeout=5, metadata=(("x-fail", "NOT_FOUND"),))
        self.assertEqual(cm.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(cm.exception.details(), "asked")

    def test_server_streaming(self):
        call = self.channel.unary_stream("/test.Echo/ServerStream")
        self.assertEqual(list(call(b"50", timeout=5)), [b"i:%d" % i for i in range(50)])

    def test_many_concurrent_calls(self):
        call = self.channel.unary_unary("/test.Echo/Unary")
        res = parallel(50, lambda i: call(b"n%d" % i, timeout=10))
        self.assertEqual(res, [b"n%d" % i for i in range(50)])

    def test_deadline(self):
        import grpc
        call = self.channel.unary_unary("/test.Echo/Slow")
        t0 = time.time()
        with self.assertRaises(grpc.RpcError) as cm:
            call(b"3", timeout=0.3)
        self.assertEqual(cm.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertLess(time.time() - t0, 2.0)


if __name__ == "__main__":
    main()
