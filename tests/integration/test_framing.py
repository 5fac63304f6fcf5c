"""Malformed and ambiguous requests (RFC 9112 §2-§7, RFC 9110 §5): each is answered 400, the
connection is closed, and nothing of it reaches the upstream -- the request smuggling guard.

Every case goes on a fresh connection, all its bytes in one send, after a valid request on the
same connection when `after_valid` is set (so a desync can't hide behind a fresh parser)."""

import json
import time

from harness import ProtocolError, ProxyTestCase, main, make_config

H = b"Host: test.local\r\n"

# name -> raw bytes of the request
CASES = {
    "cl_and_te": b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "te_and_cl": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n"
                 b"Content-Length: 5\r\n\r\n0\r\n\r\n",
    "two_differing_cl": b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n"
                        b"Content-Length: 6\r\n\r\nhello!",
    "cl_list": b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 1, 2\r\n\r\nab",
    "cl_negative": b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n",
    "cl_plus": b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello",
    "cl_not_a_number": b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5x\r\n\r\nhello",
    "bad_chunk_size": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                      b"zz\r\nhello\r\n0\r\n\r\n",
    "chunk_size_overflow": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                           b"fffffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
    "chunk_size_negative": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                           b"-5\r\nhello\r\n0\r\n\r\n",
    "chunk_data_too_long": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
                           b"3\r\nhello\r\n0\r\n\r\n",
    "obs_fold_space": b"GET /a HTTP/1.1\r\n" + H + b"X-Folded: one\r\n two\r\n\r\n",
    "obs_fold_tab": b"GET /a HTTP/1.1\r\n" + H + b"X-Folded: one\r\n\ttwo\r\n\r\n",
    "space_before_colon": b"GET /a HTTP/1.1\r\n" + H + b"X-Name : value\r\n\r\n",
    "space_before_colon_te": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n"
                             b"Content-Length: 5\r\n\r\nhello",
    "bare_lf_everywhere": b"GET /a HTTP/1.1\nHost: test.local\nX-A: b\n\n",
    "bare_lf_in_headers": b"GET /a HTTP/1.1\r\nHost: test.local\nX-A: b\r\n\r\n",
    "bare_lf_request_line": b"GET /a HTTP/1.1\nHost: test.local\r\n\r\n",
    "bare_cr_in_value": b"GET /a HTTP/1.1\r\n" + H + b"X-A: a\rb\r\n\r\n",
    "nul_in_value": b"GET /a HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
    "ctl_01_in_value": b"GET /a HTTP/1.1\r\n" + H + b"X-A: a\x01b\r\n\r\n",
    "ctl_7f_in_value": b"GET /a HTTP/1.1\r\n" + H + b"X-A: a\x7fb\r\n\r\n",
    "ctl_in_name": b"GET /a HTTP/1.1\r\n" + H + b"X-\x01A: b\r\n\r\n",
    "no_colon": b"GET /a HTTP/1.1\r\n" + H + b"X-A b\r\n\r\n",
    "empty_name": b"GET /a HTTP/1.1\r\n" + H + b": b\r\n\r\n",
    "space_in_target": b"GET /a b HTTP/1.1\r\n" + H + b"\r\n",
    "ctl_in_target": b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n",
    "te_gzip": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\nhello",
    "te_chunked_then_gzip": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip"
                            b"\r\n\r\n0\r\n\r\n",
    "te_identity": b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\n"
                   b"Content-Length: 5\r\n\r\nhello",
    "bad_method_chars": b"G(T /a HTTP/1.1\r\n" + H + b"\r\n",
    "bad_method_ctl": b"GE\x01T /a HTTP/1.1\r\n" + H + b"\r\n",
    "version_garbage": b"GET /a HTXP/1.1\r\n" + H + b"\r\n",
    "version_lowercase": b"GET /a http/1.1\r\n" + H + b"\r\n",
    "version_junk_digits": b"GET /a HTTP/1.x\r\n" + H + b"\r\n",
    "version_too_long": b"GET /a HTTP/1.11\r\n" + H + b"\r\n",
    "missing_host_http11": b"GET /a HTTP/1.1\r\nX-A: b\r\n\r\n",
    "two_hosts": b"GET /a HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n",
    "host_with_space": b"GET /a HTTP/1.1\r\nHost: a example\r\n\r\n",
    "host_port_not_digits": b"GET /a HTTP/1.1\r\nHost: a.example:xyz\r\n\r\n",
    "host_port_too_big": b"GET /a HTTP/1.1\r\nHost: a.example:99999\r\n\r\n",
    "host_unclosed_ip_literal": b"GET /a HTTP/1.1\r\nHost: [::1\r\n\r\n",
    "host_userinfo": b"GET /a HTTP/1.1\r\nHost: user@a.example\r\n\r\n",
    # RFC 9112 §3.2: an HTTP/1.1 request without Host is refused even in absolute form.
    "fragment_in_target": b"GET /a#frag HTTP/1.1\r\n" + H + b"\r\n",
    "absolute_form_without_host": b"GET http://a.example/a HTTP/1.1\r\n\r\n",
    "absolute_form_bad_port": b"GET http://a.example:8x/a HTTP/1.1\r\n" + H + b"\r\n",
}

# A version sluice does not speak may be refused with 505 (RFC 9110 §15.6.6) instead of 400;
# the other requirements (closed, never forwarded) are the same.
VERSION_CASES = {
    "missing_version": b"GET /a\r\n" + H + b"\r\n",  # an HTTP/0.9 request line
}


class FramingTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, ["{name: all, match: {path_prefix: /}, upstream: echo}"])

    def check_rejected(self, raw, statuses=(400,), after_valid=False, name=None):
        """`raw` answered with one of `statuses`, the connection closed, and nothing of it at
        the upstream. The target /a becomes /case-NAME, so that what the upstream logs can be
        told apart from what an earlier case may have left behind."""
        up = self.up["echo"]
        token = "/case-%s" % (name or "x")
        raw = raw.replace(b"/a", token.encode(), 1)
        c = self.conn(timeout=4)
        if after_valid:
            ok = c.request("GET", "/valid-first")
            self.assertEqual(ok.status, 200)
        mark = up.mark()
        c.send(raw)
        try:
            r = c.read_response()
        except (ProtocolError, OSError) as e:
            self.fail("no valid response to %r: %r" % (raw, e))
        self.assertIn(r.status, statuses, "request %r got %r" % (raw, r))
        self.assertTrue(c.is_closed(2.0), "connection left open after %d" % r.status)
        time.sleep(0.2)  # anything forwarded would have arrived by now
        got = [e for e in up.entries_since(mark) if token in json.dumps(e)]
        if got:
            self.fail("the upstream received %r (answered %d) as: %s" % (raw, r.status, [
                {k: e.get(k) for k in ("event", "method", "target", "headers", "body_len",
                                       "complete", "head")} for e in got]))

    def test_malformed_requests_are_400_closed_and_not_forwarded(self):
        for name, raw in CASES.items():
            with self.subTest(case=name):
                self.check_rejected(raw, name=name)

    def test_malformed_after_valid_request(self):
        # same cases on a connection that already carried a request (and so a pooled upstream
        # connection exists)
        for name in ("cl_and_te", "two_differing_cl", "bad_chunk_size", "obs_fold_space",
                     "bare_lf_in_headers", "nul_in_value", "te_gzip", "space_before_colon"):
            with self.subTest(case=name):
                self.check_rejected(CASES[name], after_valid=True, name=name)

    def test_unsupported_versions(self):
        for name, raw in VERSION_CASES.items():
            with self.subTest(case=name):
                self.check_rejected(raw, statuses=(400, 505), name=name)

    def test_later_major_versions_are_505(self):
        # RFC 9110 §15.6.6: a major version sluice does not support.
        for v in (b"2.0", b"3.0", b"9.9"):
            with self.subTest(version=v):
                self.check_rejected(b"GET /a HTTP/" + v + b"\r\n" + H + b"\r\n", statuses=(505,),
                                    name="v" + v.decode())

    def test_connect_is_405_with_allow(self):
        # A reverse proxy opens no tunnels to hosts a client names; a 405 says what is allowed.
        c = self.conn()
        c.send(b"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 405)
        self.assertIn("GET", [m.strip() for m in (r.header("allow") or "").split(",")])
        self.assertNotIn("CONNECT", r.header("allow"))

    def test_higher_minor_version_is_served_as_http11(self):
        # RFC 9110 §2.5: HTTP/1.2 is processed as the highest 1.x sluice speaks.
        c = self.conn()
        c.send(b"GET /minor HTTP/1.2\r\n" + H + b"\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["target"], "/minor")

    def test_unknown_methods_are_forwarded_as_sent(self):
        # RFC 9110 §9.1, §16.1: methods are an open set of case-sensitive tokens; a proxy
        # forwards those it does not know (the origin answers 501 if it does not either).
        up = self.up["echo"]
        c = self.conn()
        cases = [
            (b"FROB /m1 HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello", "FROB", 5),
            (b"get /m2 HTTP/1.1\r\n" + H + b"\r\n", "get", 0),
            (b"QUERY /m3 HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
             b"3\r\nabc\r\n0\r\n\r\n", "QUERY", 3),
            (b"X-Long_Method.1 /m4 HTTP/1.1\r\n" + H + b"\r\n", "X-Long_Method.1", 0),
        ]
        for raw, method, body_len in cases:
            with self.subTest(method=method):
                c.send(raw)
                r = c.read_response()
                self.assertEqual(r.status, 200, r)
                d = r.json()
                self.assertEqual((d["method"], d["body_len"]), (method, body_len))
        # Pipelined behind each other, and a request line split over several sends.
        mark = up.mark()
        c.send(b"FROB /p1 HTTP/1.1\r\n" + H + b"\r\nGET /p2 HTTP/1.1\r\n" + H + b"\r\nFR")
        time.sleep(0.05)
        c.send(b"OB /p3 HT")
        time.sleep(0.05)
        c.send(b"TP/1.1\r\n" + H + b"\r\n")
        got = [c.read_response().json() for _ in range(3)]
        self.assertEqual([(d["method"], d["target"]) for d in got],
                         [("FROB", "/p1"), ("GET", "/p2"), ("FROB", "/p3")])
        self.assertEqual([e["method"] for e in up.requests_since(mark)], ["FROB", "GET", "FROB"])

    def test_smuggled_request_in_body_is_not_forwarded(self):
        # CL.TE classic: if sluice used Content-Length and the upstream chunked (or the other
        # way round), the "GET /smuggled" would become a second request upstream.
        raw = (b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 35\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + H
               + b"\r\n")
        self.check_rejected(raw, name="smuggle")
        targets = [e["target"] for e in self.up["echo"].requests()]
        self.assertNotIn("/smuggled", targets)

    def test_valid_edge_cases_still_pass(self):
        # Things that look odd but are valid: the guard must not reject them.
        c = self.conn()
        valid = [
            b"GET /v1 HTTP/1.1\r\nHost: test.local\r\nX-Empty:\r\n\r\n",
            b"GET /v2 HTTP/1.1\r\nHost: test.local\r\nX-Tab:\tv\t\r\n\r\n",
            b"POST /v4 HTTP/1.1\r\nHost: test.local\r\nContent-Length: 005\r\n\r\nhello",
            b"POST /v5 HTTP/1.1\r\nHost: test.local\r\ntransfer-encoding: Chunked\r\n\r\n"
            b"5\r\nhello\r\n0\r\n\r\n",
            b"GET /v6 HTTP/1.1\r\nHost: test.local\r\nX-Obs-Text: caf\xe9\r\n\r\n",
        ]
        for raw in valid:
            with self.subTest(raw=raw):
                c.send(raw)
                r = c.read_response()
                self.assertEqual(r.status, 200, "valid request %r got %r" % (raw, r))
                d = r.json()
                if b"hello" in raw:
                    self.assertEqual(d["body_len"], 5)


if __name__ == "__main__":
    main()
