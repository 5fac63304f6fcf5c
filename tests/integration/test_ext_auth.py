"""The ext_auth filter (spec/gateway.md, issue 15 item 6) with the real binary and a real auth
service (a Python HTTP server in this test) reached through a named upstream: a 2xx lets the
request through with copy_headers, the service sees the configured headers and the original
request (X-Original-URI/-Method, X-Forwarded-For); a 401 with WWW-Authenticate and a 302 with
Location are relayed as given; a timeout and an unreachable service follow on_error (deny: 503,
allow: pass); sluice_auth_decisions_total counts allowed, denied and error."""

import http.server
import json
import threading
import time
import unittest

from harness import ProxyTestCase, echo_headers, free_port, main, make_config, metric_sum


class AuthService(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []  # (method, path, headers as a dict of lower-case names -> values)

    def do_GET(self):
        AuthService.seen.append((self.command, self.path,
                                 {k.lower(): v for k, v in self.headers.items()}))
        auth = self.headers.get("authorization", "")
        if auth == "Bearer slow":
            time.sleep(1.5)
        if auth in ("Bearer good", "Bearer slow"):
            self.answer(200, b"", [("X-User-Id", "alice"), ("X-Not-Copied", "1")])
        elif auth == "Bearer redirect":
            self.answer(302, b"", [("Location", "https://login.example/?rd=%2Fea")])
        else:
            self.answer(401, b"denied by authz\n",
                        [("WWW-Authenticate", 'Bearer realm="authz"'),
                         ("Content-Type", "text/plain")])

    def answer(self, status, body, fields):
        self.send_response(status)
        for k, v in fields:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        try:
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # sluice gave up waiting (the timeout test)

    def log_message(self, *args):
        pass


class ExtAuthTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        cls.auth = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AuthService)
        cls.auth.daemon_threads = True
        threading.Thread(target=cls.auth.serve_forever, daemon=True).start()
        check = ("path: /check, timeout: 500ms, send_headers: [authorization, cookie], "
                 "copy_headers: [x-user-id]")
        routes = [
            "{name: ea, match: {path_prefix: /ea}, upstream: echo, filters: [{ext_auth: "
            "{upstream: authz, %s}}]}" % check,
            "{name: ea_allow, match: {path_prefix: /allow}, upstream: echo, filters: [{ext_auth: "
            "{upstream: authz, %s, on_error: allow}}]}" % check,
            "{name: down_deny, match: {path_prefix: /down/deny}, upstream: echo, filters: "
            "[{ext_auth: {upstream: dead, %s}}]}" % check,
            "{name: down_allow, match: {path_prefix: /down/allow}, upstream: echo, filters: "
            "[{ext_auth: {upstream: dead, %s, on_error: allow}}]}" % check,
        ]
        return make_config({"echo": ports["echo"], "authz": cls.auth.server_address[1],
                            "dead": free_port()}, routes)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.auth.shutdown()
        cls.auth.server_close()

    def get(self, target, auth=None, headers=None):
        h = dict(headers or {})
        if auth:
            h["Authorization"] = "Bearer " + auth
        return self.sluice.request("GET", target, headers=h)

    def test_allowed_request_gets_copy_headers_and_the_service_sees_the_original(self):
        AuthService.seen.clear()
        r = self.get("/ea/doc?x=1", "good", {"Cookie": "s=1", "X-User-Id": "mallory",
                                             "X-Secret": "not-for-authz",
                                             "X-Forwarded-For": "203.0.113.5"})
        self.assertEqual(r.status, 200)
        h = echo_headers(r)
        self.assertEqual(h["x-user-id"], ["alice"])  # from the service, the client's field gone
        self.assertNotIn("x-not-copied", h)
        self.assertEqual(len(AuthService.seen), 1)
        method, path, seen = AuthService.seen[0]
        self.assertEqual((method, path), ("GET", "/check"))
        self.assertEqual(seen["authorization"], "Bearer good")
        self.assertEqual(seen["cookie"], "s=1")
        self.assertNotIn("x-secret", seen)  # not in send_headers
        self.assertEqual(seen["x-original-uri"], "/ea/doc?x=1")
        self.assertEqual(seen["x-original-method"], "GET")
        self.assertEqual(seen["x-forwarded-for"], "203.0.113.5, 127.0.0.1")
        self.assertEqual(seen["x-request-id"], r.header("x-request-id"))

    def test_a_401_is_relayed_with_its_challenge_and_body(self):
        mark = self.up["echo"].mark()
        r = self.get("/ea/x", "bad")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("www-authenticate"), 'Bearer realm="authz"')
        self.assertEqual(r.body, b"denied by authz\n")
        r = self.get("/ea/x")  # no credentials at all: the service decides, 401 too
        self.assertEqual(r.status, 401)
        time.sleep(0.05)
        self.assertEqual(self.up["echo"].requests_since(mark), [])

    def test_a_302_is_relayed_with_its_location(self):
        r = self.get("/ea/x", "redirect")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.header("location"), "https://login.example/?rd=%2Fea")

    def test_a_timeout_follows_on_error(self):
        start = time.monotonic()
        r = self.get("/ea/x", "slow")
        self.assertEqual(r.status, 503)
        self.assertLess(time.monotonic() - start, 1.4)  # the 500 ms bound, not the 1.5 s answer
        r = self.get("/allow/x", "slow")
        self.assertEqual(r.status, 200)
        self.assertNotIn("x-user-id", echo_headers(r))

    def test_an_unreachable_service_follows_on_error(self):
        self.assertEqual(self.get("/down/deny/x", "good").status, 503)
        r = self.get("/down/allow/x", "good", {"X-User-Id": "mallory"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("x-user-id", echo_headers(r))  # a client-sent copy_header never passes
        m = self.sluice.metrics()
        self.assertGreaterEqual(metric_sum(m, "sluice_auth_decisions_total", route="down_deny",
                                           filter="ext_auth", result="error"), 1)
        self.assertGreaterEqual(metric_sum(m, "sluice_auth_decisions_total", route="down_allow",
                                           filter="ext_auth", result="error"), 1)

    def test_decisions_are_counted(self):
        self.get("/ea/x", "good")
        self.get("/ea/x", "bad")
        m = self.sluice.metrics()
        for result in ("allowed", "denied"):
            self.assertGreaterEqual(metric_sum(m, "sluice_auth_decisions_total", route="ea",
                                               filter="ext_auth", result=result), 1, result)


if __name__ == "__main__":
    main()
