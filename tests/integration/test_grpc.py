"""gRPC through sluice (gateway.md "HTTP/2 and gRPC"). sluice's own error answers to a gRPC call
(content-type application/grpc*) are trailers-only responses: HTTP 200 whose single header block
carries grpc-status (429 -> 8 RESOURCE_EXHAUSTED, 503 -> 14 UNAVAILABLE, 404 -> 12
UNIMPLEMENTED, 403 -> 7 PERMISSION_DENIED, ...) and grpc-message, with no body. Other requests
keep sluice's usual error format."""

import time

from harness import ProxyTestCase, main, make_config

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


if __name__ == "__main__":
    main()
