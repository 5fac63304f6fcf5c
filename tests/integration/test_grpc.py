"""gRPC through sluice (gateway.md "HTTP/2 and gRPC"). sluice's own error answers to a gRPC call
(content-type application/grpc*) are trailers-only responses: HTTP 200 whose single header block
carries grpc-status (429 -> 8 RESOURCE_EXHAUSTED, 503 -> 14 UNAVAILABLE, 404 -> 12
UNIMPLEMENTED, 403 -> 7 PERMISSION_DENIED, ...) and grpc-message, with no body. Other requests
keep sluice's usual error format."""

import os
import select
import subprocess
import time
import unittest

import grpc

from harness import ProxyTestCase, Sluice, clear_of_window_boundary, main, make_config

GRPC = [("Content-Type", "application/grpc"), ("TE", "trailers")]


class GrpcLocalRepliesTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(dict(ports, dead=1), [
            "{name: limited, match: {path_prefix: /limited.Svc/}, upstream: echo, filters: "
            "[{fixed_window: {limit: 1, window: 1m, key: ip}}]}",
            "{name: denied, match: {path_prefix: /denied.Svc/}, respond: {status: 403, body: "
            "'not for you'}}",
            "{name: dead, match: {path_prefix: /dead.Svc/}, upstream: dead}",
            "{name: echo, match: {path_prefix: /echo.Svc/}, upstream: echo}",
        ])

    def grpc_call(self, c, path):
        r = c.request("POST", path, GRPC, body=b"\x00\x00\x00\x00\x00")
        return r

    def assert_trailers_only(self, r, code):
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("grpc-status"), str(code))
        self.assertEqual(r.header("content-type"), "application/grpc")
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("content-length"), "0")
        self.assertTrue(r.header("x-request-id"))

    def test_no_route_is_unimplemented(self):
        with self.conn() as c:
            r = self.grpc_call(c, "/nowhere.Svc/Call")
            self.assert_trailers_only(r, 12)
            self.assertEqual(r.header("grpc-message"), "Not Found")
            self.assertEqual(r.header("grpc-message"), "Not Found")
        with self.conn() as c:  # a body-less call keeps the connection in step
            r = c.request("POST", "/nowhere.Svc/Call", GRPC)
            self.assert_trailers_only(r, 12)
            self.assert_trailers_only(c.request("POST", "/nowhere.Svc/Call", GRPC), 12)

    def test_rate_limited_call_is_resource_exhausted(self):
        clear_of_window_boundary(60)
        with self.conn() as c:
            first = self.grpc_call(c, "/limited.Svc/Call")
            self.assertEqual(first.status, 200)
            self.assertIsNone(first.header("grpc-status"))  # the echo upstream answered
            r = self.grpc_call(c, "/limited.Svc/Call")
            self.assert_trailers_only(r, 8)
            self.assertTrue(r.header("retry-after"))

    def test_respond_route_403_is_permission_denied(self):
        with self.conn() as c:
            r = self.grpc_call(c, "/denied.Svc/Call")
            self.assert_trailers_only(r, 7)
            self.assertEqual(r.header("grpc-message"), "not for you")

    def test_no_healthy_target_is_unavailable(self):
        with self.conn() as c:
            r = self.grpc_call(c, "/dead.Svc/Call")
            self.assert_trailers_only(r, 14)
        deadline = time.time() + 5
        while time.time() < deadline:
            lines = [e for e in self.sluice.access_log_lines() if e.get("route") == "dead"]
            if lines:
                break
            time.sleep(0.05)
        self.assertEqual(lines[-1]["status"], 200)  # what the client received (as Envoy logs)

    def test_plain_requests_keep_the_error_format(self):
        with self.conn() as c:
            r = c.request("GET", "/nowhere")
            self.assertEqual(r.status, 404)
            self.assertIsNone(r.header("grpc-status"))
            r = c.request("POST", "/x", [("Content-Type", "application/grpc-web")], body=b"x")
            self.assertEqual(r.status, 404)


class GrpcServer:
    """grpc_server.py (a real grpcio server) in its own process."""

    def __init__(self):
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = subprocess.Popen(["/usr/bin/python3", os.path.join(here, "grpc_server.py")],
                                     stdout=subprocess.PIPE, text=True)
        r, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline() if r else ""
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError("grpc_server.py did not start: %r" % line)
        self.port = int(line.split()[1])

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


def grpc_config(grpc_port):
    return "\n".join([
        "workers: 2",
        "admin: {address: 127.0.0.1:$ADMIN}",
        "access_log: {path: $DIR/access.log}",
        "listeners: [{name: main, address: 127.0.0.1:$PORT, http2: {h2c: true}}]",
        "upstreams:",
        "  - {name: grpc, protocol: h2c, targets: [{address: 127.0.0.1:%d}], "
        "timeouts: {connect: 1s, response: 5s}}" % grpc_port,
        "  - {name: dead, protocol: h2c, targets: [{address: 127.0.0.1:1}]}",
        "routes:",
        "  - {name: limited, match: {path_prefix: /limited/}, upstream: grpc, "
        "rewrite: {strip_prefix: /limited}, filters: [{fixed_window: {limit: 1, window: 1m, "
        "key: ip}}]}",
        "  - {name: dead, match: {path_prefix: /dead/}, upstream: dead}",
        "  - {name: echo, match: {path_prefix: /test.Echo/}, upstream: grpc}",
    ]) + "\n"


class GrpcThroughSluiceTest(unittest.TestCase):
    """A grpcio client speaks HTTP/2 (h2c) to sluice, which forwards to a grpcio server over h2c:
    the four kinds of call, metadata and trailers both ways, the upstream's own status, and
    sluice's own answers as grpc-status."""

    @classmethod
    def setUpClass(cls):
        cls.server = GrpcServer()
        try:
            cls.sluice = Sluice(grpc_config(cls.server.port)).start()
        except BaseException:
            cls.server.stop()
            raise
        cls.channel = grpc.insecure_channel("127.0.0.1:%d" % cls.sluice.port)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        try:
            cls.sluice.__exit__(None, None, None)
        finally:
            cls.server.stop()

    def test_unary_with_metadata_and_trailers(self):
        call = self.channel.unary_unary("/test.Echo/Unary")
        reply, c = call.with_call(b"hello", timeout=10, metadata=(("x-in", "1"),))
        self.assertEqual(reply, b"hello")
        self.assertEqual(c.code(), grpc.StatusCode.OK)
        self.assertIn(("x-trailer", "done"), tuple(c.trailing_metadata()))

    def test_upstream_status_reaches_the_client(self):
        call = self.channel.unary_unary("/test.Echo/Unary")
        with self.assertRaises(grpc.RpcError) as e:
            call(b"x", timeout=10, metadata=(("x-fail", "NOT_FOUND"),))
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(e.exception.details(), "asked")

    def test_server_streaming(self):
        call = self.channel.unary_stream("/test.Echo/ServerStream")
        got = list(call(b"50", timeout=10))
        self.assertEqual(got, [b"i:%d" % i for i in range(50)])

    def test_client_streaming(self):
        call = self.channel.stream_unary("/test.Echo/ClientStream")
        self.assertEqual(call(iter([b"a", b"bb", b"ccc"] * 20), timeout=10),
                         b"abbccc" * 20)

    def test_bidirectional_streaming(self):
        call = self.channel.stream_stream("/test.Echo/Bidi")
        got = list(call(iter([b"x%d" % i for i in range(30)]), timeout=10))
        self.assertEqual(got, [b"X%d" % i for i in range(30)])

    def test_large_messages(self):
        call = self.channel.unary_unary("/test.Echo/Unary")
        big = bytes(range(256)) * 4096  # 1 MiB: flow control both ways
        self.assertEqual(call(big, timeout=20), big)

    def test_rate_limited_call_is_resource_exhausted(self):
        clear_of_window_boundary(60)
        call = self.channel.unary_unary("/limited/test.Echo/Unary")
        self.assertEqual(call(b"1", timeout=10), b"1")
        with self.assertRaises(grpc.RpcError) as e:
            call(b"2", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.RESOURCE_EXHAUSTED)

    def test_no_healthy_target_is_unavailable(self):
        call = self.channel.unary_unary("/dead/test.Echo/Unary")
        with self.assertRaises(grpc.RpcError) as e:
            call(b"x", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_grpc_timeout_bounds_the_upstream_try(self):
        # The client allows 0.5 s (grpc-timeout: ~500m); the upstream would take 5 s. sluice ends
        # the try at the deadline and the upstream call is cancelled.
        call = self.channel.unary_unary("/test.Echo/Slow")
        t0 = time.time()
        with self.assertRaises(grpc.RpcError) as e:
            call(b"5", timeout=0.5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertLess(time.time() - t0, 3)

    def test_grpc_timeout_answered_by_sluice(self):
        # A raw HTTP/2 client that waits longer than its own grpc-timeout: the 504 that ends the
        # try comes back as grpc-status 4 from sluice itself.
        out = subprocess.run(
            ["curl", "-sS", "--http2-prior-knowledge", "-D", "-", "-o", "/dev/null",
             "-m", "10", "-H", "content-type: application/grpc", "-H", "te: trailers",
             "-H", "grpc-timeout: 300m", "--data-binary", "@-",
             "http://127.0.0.1:%d/test.Echo/Slow" % self.sluice.port],
            input=b"\x00\x00\x00\x00\x015", capture_output=True, timeout=15)
        head = out.stdout.decode().lower()
        self.assertIn("grpc-status: 4", head, out)

    def test_access_log_says_http2(self):
        call = self.channel.unary_unary("/test.Echo/Unary")
        call(b"log", timeout=10)
        deadline = time.time() + 5
        lines = []
        while time.time() < deadline and not lines:
            lines = [e for e in self.sluice.access_log_lines() if e.get("route") == "echo"]
            time.sleep(0.05)
        self.assertTrue(lines)
        self.assertEqual(lines[-1]["protocol"], "HTTP/2")


if __name__ == "__main__":
    main()
