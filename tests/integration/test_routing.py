"""Routing (spec/config.md `routes`): first match in file order on host (exact and `*.`
wildcard), path or path_prefix, methods, headers; strip_prefix and host rewrite; request and
response header set/remove; `respond:` direct responses."""

from harness import ProxyTestCase, echo_headers, main, make_config


def route(name, match, upstream="a", extra=""):
    """A route that tags its responses with x-route: NAME."""
    return ("{name: %s, match: %s, upstream: %s, response_headers: {set: {x-route: %s}}%s}"
            % (name, match, upstream, name, (", " + extra) if extra else ""))


class RoutingTest(ProxyTestCase):
    UPSTREAMS = {"a": ("echo",), "b": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, [
            route("first", "{path_prefix: /first/}"),
            route("first-shadowed", "{path_prefix: /first/}", "b"),
            route("host-exact", "{host: exact.example, path_prefix: /}"),
            route("host-wild", "{host: '*.example.com', path_prefix: /}"),
            route("exact-path", "{path: /exact}"),
            route("methods", "{path_prefix: /m/, methods: [POST, PUT]}"),
            route("hdr", "{path_prefix: /h/, headers: {x-env: prod}}"),
            route("strip", "{path_prefix: /strip/}", extra="rewrite: {strip_prefix: /strip}"),
            route("rehost", "{path_prefix: /rehost/}",
                  extra="rewrite: {host: internal.example}"),
            route("reqh", "{path_prefix: /reqh/}",
                  extra="request_headers: {set: {x-gateway: sluice}, remove: [x-debug]}"),
            "{name: resph, match: {path_prefix: /resph/}, upstream: a, response_headers: "
            "{set: {x-frame-options: DENY, x-route: resph}, remove: [x-secret]}}",
            "{name: respond, match: {path_prefix: /respond}, respond: {status: 201, "
            "body: \"created\\n\", headers: {content-type: text/plain, x-direct: 'yes'}}}",
            route("fallback", "{path_prefix: /}", "b"),
        ])

    def get(self, target, host="test.local", method="GET", headers=None, body=None):
        r = self.conn().request(method, target, headers, body, host=host)
        self.assertEqual(r.status, 200, r)
        return r

    def assert_route(self, name, target, **kw):
        r = self.get(target, **kw)
        self.assertEqual(r.header("x-route"), name, "%s %r -> %r" % (target, kw, r.headers))
        return r

    def test_max_forwards_zero_is_answered_by_sluice(self):
        # RFC 9110 §7.6.2: for OPTIONS and TRACE a proxy decrements Max-Forwards and answers
        # itself at 0; other methods ignore it.
        up = self.up["a"]
        mark = up.mark()
        r = self.conn().request("OPTIONS", "/first/mf", [("Max-Forwards", "0")])
        self.assertEqual(r.status, 200)
        self.assertIn("GET", r.header("allow"))
        r = self.conn().request("TRACE", "/first/mf", [("Max-Forwards", "0"), ("Cookie", "s=1"),
                                                       ("X-Trace-Me", "yes")])
        self.assertEqual((r.status, r.header("content-type")), (200, "message/http"))
        self.assertTrue(r.body.startswith(b"TRACE /first/mf HTTP/1.1\r\n"), r.body)
        self.assertIn(b"x-trace-me: yes", r.body.lower())
        self.assertNotIn(b"s=1", r.body, "credentials are not reflected")
        self.assertNotIn(b"x-forwarded-for", r.body.lower(), "the message as received")
        self.assertNotIn(b"via:", r.body.lower())
        self.assertEqual(up.requests_since(mark), [])
        r = self.conn().request("OPTIONS", "/first/mf", [("Max-Forwards", "2")])
        self.assertEqual(echo_headers(r).get("max-forwards"), ["1"])
        r = self.conn().request("GET", "/first/mf", [("Max-Forwards", "0")])
        self.assertEqual(echo_headers(r).get("max-forwards"), ["0"])

    def test_options_asterisk_is_about_sluice(self):
        # RFC 9112 §3.2.4: OPTIONS * asks the server itself; no route is about "*".
        c = self.conn()
        c.send(b"OPTIONS * HTTP/1.1\r\nHost: test.local\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertIn("OPTIONS", r.header("allow"))
        self.assertFalse(c.is_closed(0.2))
        # The absolute form with an empty path means the same (RFC 9112 §3.2.4).
        mark = self.up["b"].mark()
        c.send(b"OPTIONS http://test.local HTTP/1.1\r\nHost: test.local\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertIn("OPTIONS", r.header("allow"))
        self.assertEqual(self.up["b"].requests_since(mark), [])

    def test_first_match_wins(self):
        r = self.assert_route("first", "/first/x")
        self.assertEqual(r.json()["port"], self.up["a"].port)

    def test_host_exact(self):
        self.assert_route("host-exact", "/hosttest", host="exact.example")
        self.assert_route("host-exact", "/hosttest", host="EXACT.Example")  # case-insensitive
        self.assert_route("host-exact", "/hosttest", host="exact.example:8080")  # port ignored
        self.assert_route("fallback", "/hosttest", host="other.example")
        self.assert_route("fallback", "/hosttest", host="sub.exact.example")

    def test_host_wildcard(self):
        self.assert_route("host-wild", "/hosttest", host="a.example.com")
        self.assert_route("host-wild", "/hosttest", host="API.Example.COM")
        self.assert_route("host-wild", "/hosttest", host="a.example.com:9000")
        self.assert_route("fallback", "/hosttest", host="example.com")
        self.assert_route("fallback", "/hosttest", host="notexample.com")
        self.assert_route("fallback", "/hosttest", host="a.example.com.evil")

    def test_path_exact_vs_prefix(self):
        self.assert_route("exact-path", "/exact")
        self.assert_route("exact-path", "/exact?x=1")  # the query is not part of the path
        self.assert_route("fallback", "/exact/")
        self.assert_route("fallback", "/exactly")
        self.assert_route("first", "/first/deeper/still")
        self.assert_route("fallback", "/first")  # prefix /first/ needs the slash

    def test_methods(self):
        self.assert_route("methods", "/m/x", method="POST", body=b"1")
        self.assert_route("methods", "/m/x", method="PUT", body=b"1")
        self.assert_route("fallback", "/m/x", method="GET")
        self.assert_route("fallback", "/m/x", method="DELETE")

    def test_header_match(self):
        self.assert_route("hdr", "/h/x", headers=[("X-Env", "prod")])
        self.assert_route("hdr", "/h/x", headers=[("x-env", "prod")])
        self.assert_route("fallback", "/h/x", headers=[("X-Env", "dev")])
        self.assert_route("fallback", "/h/x")

    def test_strip_prefix(self):
        r = self.assert_route("strip", "/strip/foo/bar?q=1")
        self.assertEqual(r.json()["target"], "/foo/bar?q=1")

    def test_rewrite_host(self):
        r = self.assert_route("rehost", "/rehost/x", host="front.example")
        h = echo_headers(r)
        self.assertEqual(h.get("host"), ["internal.example"])
        self.assertEqual(h.get("x-forwarded-host"), ["front.example"])

    def test_host_kept_by_default(self):
        r = self.assert_route("fallback", "/keep", host="client.example")
        self.assertEqual(echo_headers(r).get("host"), ["client.example"])

    def test_request_headers_set_and_remove(self):
        r = self.assert_route("reqh", "/reqh/x", headers=[
            ("X-Gateway", "client-value"), ("X-Debug", "1"), ("x-debug", "2"), ("X-Other", "o")])
        h = echo_headers(r)
        self.assertEqual(h.get("x-gateway"), ["sluice"], "set replaces the client's value")
        self.assertNotIn("x-debug", h)
        self.assertEqual(h.get("x-other"), ["o"])

    def test_response_headers_set_and_remove(self):
        r = self.get("/resph/x?h=X-Secret:s3cret&h=X-Frame-Options:SAMEORIGIN&h=X-Keep:k")
        self.assertEqual(r.header_all("x-frame-options"), ["DENY"])
        self.assertFalse(r.has("x-secret"))
        self.assertEqual(r.header("x-keep"), "k")
        self.assertEqual(r.header("x-route"), "resph")

    def test_respond_direct(self):
        ma, mb = self.up["a"].mark(), self.up["b"].mark()
        c = self.conn()
        r = c.request("GET", "/respond")
        self.assertEqual(r.status, 201)
        self.assertEqual(r.body, b"created\n")
        self.assertEqual(r.header("content-type"), "text/plain")
        self.assertEqual(r.header("x-direct"), "yes")
        self.assertTrue(r.header("x-request-id"))
        h = c.request("HEAD", "/respond")
        self.assertEqual(h.status, 201)
        self.assertEqual(h.body, b"")
        # the request body is either read and dropped (the connection stays in sync) or the
        # connection is closed, announced with Connection: close
        r = c.request("POST", "/respond/x", body=b"ignored body")
        self.assertEqual(r.status, 201)
        if "close" in (r.header("connection") or "").lower():
            self.assertTrue(c.is_closed(2.0))
            c = self.conn()
        r = c.request("GET", "/respond")
        self.assertEqual(r.body, b"created\n")
        self.assertEqual(self.up["a"].entries_since(ma), [])
        self.assertEqual(self.up["b"].entries_since(mb), [])


if __name__ == "__main__":
    main()
