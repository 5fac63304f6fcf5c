"""Connection management and header handling of the proxy path: keep-alive, pipelining,
HTTP/1.0, Connection: close, HEAD/204/304/1xx framing, request ids, forwarding headers,
hop-by-hop removal, absolute-form targets (RFC 9110, RFC 9112, spec/operations.md)."""

import socket
import struct
import time

from harness import ProxyTestCase, build_request, main, make_config, pattern_sha256
from harness import echo_headers as upstream_headers


class KeepAliveTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",), "big": ("big",), "status": ("status",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, [
            "{name: big, match: {path_prefix: /big}, upstream: big}",
            "{name: status, match: {path_prefix: /status/}, upstream: status}",
            "{name: all, match: {path_prefix: /}, upstream: echo}",
        ])

    @property
    def echo(self):
        return self.up["echo"]

    def test_many_requests_on_one_connection(self):
        c = self.conn()
        mark = self.echo.mark()
        for i in range(50):
            r = c.request("GET", "/seq/%d" % i)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["target"], "/seq/%d" % i)
        # A POST with a body in the middle keeps the connection usable too.
        r = c.request("POST", "/post", body=b"x" * 1000)
        self.assertEqual(r.json()["body_len"], 1000)
        r = c.request("GET", "/after")
        self.assertEqual(r.json()["target"], "/after")
        self.assertFalse(c.is_closed(0.2))
        self.assertEqual(len(self.echo.requests_since(mark)), 52)

    def test_pipelining_answers_in_order(self):
        c = self.conn()
        c.send(build_request("GET", "/p/1")
               + build_request("POST", "/p/2", body=b"hello world")
               + build_request("GET", "/big?size=70000&te=chunked"))
        r1 = c.read_response()
        r2 = c.read_response()
        r3 = c.read_response()
        self.assertEqual((r1.status, r2.status, r3.status), (200, 200, 200))
        self.assertEqual(r1.json()["target"], "/p/1")
        self.assertEqual(r2.json()["target"], "/p/2")
        self.assertEqual(r2.json()["body_len"], 11)
        self.assertEqual(r3.body_len, 70000)
        self.assertEqual(r3.sha256, pattern_sha256(70000))
        # and the connection still serves afterwards
        self.assertEqual(c.request("GET", "/p/4").json()["target"], "/p/4")

    def test_pipelining_slow_first_response(self):
        # The second answer is ready first upstream (no delay) but must come second.
        c = self.conn()
        c.send(build_request("GET", "/slow?delay=0.5") + build_request("GET", "/fast"))
        self.assertEqual(c.read_response().json()["target"], "/slow?delay=0.5")
        self.assertEqual(c.read_response().json()["target"], "/fast")

    def test_http10_closes_by_default(self):
        c = self.conn()
        c.send(b"GET /ten HTTP/1.0\r\nHost: test.local\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["target"], "/ten")
        self.assertTrue(c.is_closed(3.0), "HTTP/1.0 request without keep-alive: must close")

    def test_http10_keepalive(self):
        c = self.conn()
        for i in range(3):
            c.send(b"GET /ten-ka/%d HTTP/1.0\r\nHost: test.local\r\nConnection: keep-alive\r\n\r\n"
                   % i)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["target"], "/ten-ka/%d" % i)
            self.assertFalse(r.chunked, "no chunked coding to an HTTP/1.0 client")
            self.assertIn("keep-alive", (r.header("connection") or "").lower())
        self.assertFalse(c.is_closed(0.3))

    def test_http10_gets_no_chunked_response(self):
        # RFC 9112 §6.1: a server MUST NOT send Transfer-Encoding to an HTTP/1.0 request.
        c = self.conn()
        c.send(b"GET /big?size=100000&te=chunked HTTP/1.0\r\nHost: test.local\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertFalse(r.has("transfer-encoding"), r.headers)
        self.assertEqual(r.body_len, 100000)
        self.assertEqual(r.sha256, pattern_sha256(100000))

    def test_connection_close_honoured(self):
        c = self.conn()
        r = c.request("GET", "/bye", [("Connection", "close")])
        self.assertEqual(r.status, 200)
        self.assertTrue(c.is_closed(3.0), "Connection: close must close after the response")

    def test_response_before_close_leaves_with_the_fin(self):
        # A client that asked to close gets the response's last bytes and the FIN in one TCP
        # segment (a segment less per connection): SYN-ACK, the ACK of the request, then the
        # response with the FIN; the FIN as a segment of its own made it 4. Counted from the
        # client socket's TCP_INFO (tcpi_segs_in), before the client closes.
        for request in (build_request("GET", "/fin/11", [("Connection", "close")]),
                        b"GET /fin/10 HTTP/1.0\r\nHost: test.local\r\n\r\n",
                        # pipelined behind the closing request: the response goes out as before
                        build_request("GET", "/fin/p", [("Connection", "close")])
                        + build_request("GET", "/never")):
            s = socket.create_connection(("127.0.0.1", self.sluice.port), timeout=10)
            try:
                s.sendall(request)
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                segs_in = struct.unpack_from("I", s.getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_INFO, 256), 140)[0]
            finally:
                s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
            self.assertEqual(data.count(b"HTTP/1.1 "), 1, data)
            self.assertIn(b'"/fin/', data)
            if b"/never" not in request:
                self.assertLessEqual(segs_in, 3, request)

    def test_head_has_no_body_but_get_length(self):
        c = self.conn()
        g = c.request("GET", "/big?size=12345")
        h = c.request("HEAD", "/big?size=12345")
        self.assertEqual(h.status, 200)
        self.assertEqual(h.header("content-length"), "12345")
        self.assertEqual(g.header("content-length"), "12345")
        self.assertEqual(h.body, b"")
        # Nothing after the HEAD head: the next response parses cleanly.
        r = c.request("GET", "/after-head")
        self.assertEqual(r.json()["target"], "/after-head")

    def test_head_of_chunked_response(self):
        c = self.conn()
        h = c.request("HEAD", "/big?size=5000&te=chunked")
        self.assertEqual(h.status, 200)
        self.assertEqual(h.body, b"")
        self.assertEqual(c.request("GET", "/x").json()["target"], "/x")

    def test_204_and_304_have_no_body(self):
        c = self.conn()
        r = c.request("GET", "/status/204")
        self.assertEqual(r.status, 204)
        self.assertFalse(r.has("transfer-encoding"))
        self.assertFalse(r.has("content-length"))
        # a 304 may carry the Content-Length of the representation (RFC 9110 §8.6): no body.
        r = c.request("GET", "/status/304?cl=10")
        self.assertEqual(r.status, 304)
        self.assertFalse(r.has("transfer-encoding"))
        r = c.request("GET", "/status/304")
        self.assertEqual(r.status, 304)
        r = c.request("GET", "/end")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["target"], "/end")
        self.assertFalse(c.is_closed(0.2))

    def test_unsolicited_100_forwarded(self):
        # RFC 9110 §15.2: a proxy forwards 1xx it did not ask for itself.
        c = self.conn()
        r = c.request("GET", "/status/200?continue=1")
        self.assertEqual(r.status, 200)
        self.assertEqual([i.status for i in r.interim], [100])

    def test_1xx_early_hints_forwarded(self):
        c = self.conn()
        r = c.request("GET", "/status/200?hints=2")
        self.assertEqual(r.status, 200)
        self.assertEqual([i.status for i in r.interim], [103, 103])
        self.assertEqual(r.interim[0].header("link"), "</style.css>; rel=preload")
        self.assertEqual(r.body, b"status 200\n")
        self.assertEqual(c.request("GET", "/after-103").json()["target"], "/after-103")

    def test_request_id_generated_and_forwarded(self):
        r = self.sluice.request("GET", "/rid")
        rid = r.header("x-request-id")
        self.assertTrue(rid, "every response carries x-request-id")
        self.assertEqual(upstream_headers(r).get("x-request-id"), [rid])
        r2 = self.sluice.request("GET", "/rid")
        self.assertNotEqual(r2.header("x-request-id"), rid, "ids are unique")

    def test_request_id_kept_from_client(self):
        r = self.sluice.request("GET", "/rid", [("X-Request-Id", "client-id-42")])
        self.assertEqual(r.header("x-request-id"), "client-id-42")
        self.assertEqual(upstream_headers(r).get("x-request-id"), ["client-id-42"])

    def test_forwarding_headers(self):
        r = self.sluice.request("GET", "/fwd", host="front.example:8080")
        h = upstream_headers(r)
        self.assertEqual(h.get("x-forwarded-for"), ["127.0.0.1"])
        self.assertEqual(h.get("x-forwarded-proto"), ["http"])
        self.assertEqual(h.get("x-forwarded-host"), ["front.example:8080"])
        self.assertEqual(h.get("host"), ["front.example:8080"], "Host kept by default")
        self.assertEqual(len(h.get("via", [])), 1, h)
        self.assertRegex(h["via"][0], r"^1\.1 \S+", "Via: received-protocol received-by")

    def test_forwarded_for_appends(self):
        r = self.sluice.request("GET", "/fwd", [("X-Forwarded-For", "203.0.113.9")])
        xff = ", ".join(upstream_headers(r).get("x-forwarded-for", []))
        parts = [p.strip() for p in xff.split(",")]
        self.assertEqual(parts, ["203.0.113.9", "127.0.0.1"])

    def test_via_appends(self):
        r = self.sluice.request("GET", "/via", [("Via", "1.0 fred")])
        via = ", ".join(upstream_headers(r).get("via", []))
        self.assertRegex(via, r"^1\.0 fred, 1\.1 \S+")

    def test_hop_by_hop_headers_not_forwarded(self):
        hdrs = [("Connection", "keep-alive, X-Hop-Custom"),
                ("X-Hop-Custom", "secret"),
                ("Keep-Alive", "timeout=5, max=100"),
                ("TE", "trailers, deflate;q=0.5"),
                ("Trailer", "X-Checksum"),
                ("Proxy-Connection", "keep-alive"),
                ("Upgrade", "h2c"),
                ("X-End-To-End", "kept")]
        c = self.conn()
        r = c.request("GET", "/hop", hdrs)
        self.assertEqual(r.status, 200)
        h = upstream_headers(r)
        self.assertEqual(h.get("x-end-to-end"), ["kept"])
        for name in ("x-hop-custom", "keep-alive", "te", "trailer", "proxy-connection",
                     "upgrade"):
            self.assertNotIn(name, h, "hop-by-hop %s reached the upstream: %r" % (name, h))
        for v in h.get("connection", []):
            self.assertNotIn("x-hop-custom", v.lower())
        # The Upgrade without Connection: upgrade did not turn the connection into a tunnel.
        self.assertEqual(c.request("GET", "/after-hop").json()["target"], "/after-hop")

    def test_hop_by_hop_response_headers_not_forwarded(self):
        c = self.conn()
        r = c.request("GET", "/hop-resp?h=Connection:X-Up-Hop&h=X-Up-Hop:1"
                      "&h=Keep-Alive:timeout=99&h=Proxy-Connection:keep-alive&h=X-Up-Kept:2")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("x-up-kept"), "2")
        self.assertFalse(r.has("x-up-hop"), r.headers)
        self.assertFalse(r.has("proxy-connection"), r.headers)
        self.assertNotIn("timeout=99", r.header("keep-alive") or "")
        self.assertNotIn("x-up-hop", (r.header("connection") or "").lower())
        self.assertEqual(c.request("GET", "/after").json()["target"], "/after")

    def test_hop_by_hop_on_chunked_request(self):
        # Transfer-Encoding is framing: the upstream gets a valid framing of its own choice,
        # and never the client's Connection-named headers.
        c = self.conn()
        c.send(b"POST /te HTTP/1.1\r\nHost: test.local\r\nConnection: X-A\r\nX-A: 1\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_len"], 5)
        self.assertNotIn("x-a", upstream_headers(r))

    def test_absolute_form_target(self):
        # RFC 9112 §3.2.2: the authority of an absolute-form target replaces Host.
        c = self.conn()
        c.send(b"GET http://abs.example/path/x?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        d = r.json()
        self.assertEqual(d["target"], "/path/x?q=1", "origin-form toward the upstream")
        h = upstream_headers(r)
        self.assertEqual(h.get("host"), ["abs.example"])

    def test_idle_keepalive_connection_reused_after_pause(self):
        c = self.conn()
        self.assertEqual(c.request("GET", "/a").status, 200)
        time.sleep(0.5)
        self.assertEqual(c.request("GET", "/b").json()["target"], "/b")



class IdleConnectionTest(ProxyTestCase):
    """A keep-alive connection idle for two sweeps frees its parse state and makes a new one
    with its next request's first bytes (from memory another connection's state may have held):
    nothing of an earlier request may show, a head in pieces after the pause is read whole, and
    the timeouts still tell a silent connection (closed) from a started head (408)."""
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, ["{name: all, match: {path_prefix: /}, upstream: echo}"],
                           # idle_timeout above the 24 heads' run on a loaded machine
                           limits={"header_timeout": "1s", "idle_timeout": "6s"}, workers=1)

    def test_heads_in_pieces_after_idle_on_many_connections(self):
        conns = [self.conn() for _ in range(24)]
        for i, c in enumerate(conns):  # each connection leaves a different head behind
            r = c.request("POST", "/first/%d" % i, headers={"x-conn-%d" % i: "yes"},
                          body=b"b" * i)
            self.assertEqual(r.status, 200)
        time.sleep(0.5)  # all idle past two sweeps: their parse states are freed
        for i, c in reversed(list(enumerate(conns))):  # in another order
            # empty lines, the request line in two pieces, the fields one by one
            for piece in ("\r\n", "GET /sec", "ond/%d HTTP/1.1\r\nHo" % i, "st: t\r\n",
                          "x-next: %d\r\n" % i, "\r\n"):
                c.send(piece)
                time.sleep(0.01)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            body = r.json()
            self.assertEqual(body["target"], "/second/%d" % i)
            self.assertEqual(body["method"], "GET")
            h = upstream_headers(r)
            self.assertEqual(h.get("x-next"), [str(i)])
            self.assertFalse([k for k in h if k.startswith("x-conn-")], h)

    def test_pipelined_head_cut_at_the_answer(self):
        c = self.conn()
        second = build_request("GET", "/two", headers={"x-n": "2"})
        c.send(build_request("GET", "/one") + second[:20])
        self.assertEqual(c.read_response().json()["target"], "/one")
        time.sleep(0.2)  # answered; the second head's start waits in the parse state
        c.send(second[20:])
        r = c.read_response()
        self.assertEqual(r.json()["target"], "/two")
        self.assertEqual(upstream_headers(r).get("x-n"), ["2"])

    def test_started_head_after_idle_gets_408_and_silence_a_close(self):
        started, silent = self.conn(), self.conn()
        self.assertEqual(started.request("GET", "/a").status, 200)
        self.assertEqual(silent.request("GET", "/a").status, 200)
        time.sleep(0.2)
        started.send("GET /slow HTTP/1.1\r\nHost: t\r\n")
        self.assertEqual(started.read_response().status, 408)  # header_timeout (1 s)
        self.assertTrue(silent.is_closed(10))  # idle_timeout (6 s): no answer, a close


class NoUpstreamKeepaliveTest(ProxyTestCase):
    """keepalive: 0: each upstream connection serves one request, and says so (RFC 9112 §9.6)."""
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, ["{name: all, match: {path_prefix: /}, upstream: echo}"],
                           upstream_opts={"echo": {"keepalive": "0"}})

    def test_connection_close_sent_upstream(self):
        c = self.conn()
        for i in range(2):
            r = c.request("GET", "/nk/%d" % i)
            self.assertEqual(r.status, 200)
            self.assertEqual(upstream_headers(r).get("connection"), ["close"])


class PoolSurplusTest(ProxyTestCase):
    """keepalive bounds the idle upstream connections kept, but a surplus from a burst (up to as
    many again) is closed only once it has been idle for a second: a load whose concurrency swings
    around the bound reuses its connections instead of opening new ones."""
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, ["{name: all, match: {path_prefix: /}, upstream: echo}"],
                           workers=1, upstream_opts={"echo": {"keepalive": "4"}})

    def burst(self):
        """8 concurrent requests (each held 0.3 s by the upstream); the upstream connections
        they used."""
        mark = self.up["echo"].mark()
        conns = [self.conn() for _ in range(8)]
        for i, c in enumerate(conns):
            c.send(build_request("GET", "/burst/%d?delay=0.3" % i))
        for c in conns:
            self.assertEqual(c.read_response("GET").status, 200)
            c.close()
        return {e["conn"] for e in self.up["echo"].requests_since(mark)}

    def test_burst_surplus_reused_then_trimmed(self):
        first = self.burst()
        self.assertEqual(len(first), 8)
        second = self.burst()
        self.assertEqual(second, first, "the second burst reuses the first one's connections")
        time.sleep(1.6)  # the surplus over keepalive (4) has been idle for over a second
        third = self.burst()
        self.assertEqual(len(third - first), 4, "only `keepalive` connections were kept")


if __name__ == "__main__":
    main()
