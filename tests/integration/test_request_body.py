"""The request-body phase (issue 13, item 5) through its first filter, `max_body` (a route's own
body limit, spec/gateway.md): a Content-Length over it is 413 before the upstream hears of the
request; a chunked body is counted chunk by chunk as it streams and answered 413 the moment it
goes over, and an upstream that already had part of it never sees the request end (so never
takes a cut body for a whole one); a body within the limit passes every chunk unchanged."""

import hashlib
import time
import unittest

from harness import Conn, ProxyTestCase, build_request, chunked, main, make_config


class RequestBodyTest(ProxyTestCase):
    UPSTREAMS = {"sink": ("sink",)}

    @classmethod
    def config(cls, ports):
        return make_config({"sink": ports["sink"]}, [
            "{name: small, match: {path_prefix: /small}, upstream: sink, "
            "filters: [{max_body: {bytes: 1000}}]}",
            "{name: big, match: {path_prefix: /big}, upstream: sink, "
            "filters: [{max_body: {bytes: 100KiB}}]}",
            "{name: free, match: {path_prefix: /free}, upstream: sink}"])

    def test_content_length_over_the_limit_never_reaches_the_upstream(self):
        mark = self.up["sink"].mark()
        r = self.sluice.request("POST", "/small/x", body=b"a" * 2000)
        self.assertEqual(r.status, 413)
        self.assertIn(b"max_body", r.body)
        time.sleep(0.2)
        self.assertEqual(self.up["sink"].entries_since(mark), [])

    def test_chunked_body_over_the_limit_is_stopped_as_it_streams(self):
        mark = self.up["sink"].mark()
        body = bytes(range(256)) * 800  # 200 KiB: the first 64 KiB go upstream before the limit
        request = build_request("POST", "/big/x", headers=[("Transfer-Encoding", "chunked")],
                                body=chunked(body, 4096))
        # 80 KiB first (past what sluice gathers, within the limit), and the rest once the
        # upstream has the head: sent at once, the limit could be hit before the upstream
        # connection (new on this worker) is even up, and then it never hears of the request.
        split = len(request) - len(chunked(body, 4096)) + 20 * (len(b"1000\r\n") + 4096 + 2)
        with Conn(self.sluice.port) as c:
            c.send(request[:split])
            deadline = time.time() + 5
            while time.time() < deadline and not [
                    e for e in self.up["sink"].entries_since(mark) if e.get("event") == "head"]:
                time.sleep(0.02)
            c.send(request[split:])
            r = c.read_response("POST")
        self.assertEqual(r.status, 413)
        time.sleep(0.5)
        done = [e for e in self.up["sink"].entries_since(mark) if e.get("event") == "request"]
        heads = [e for e in self.up["sink"].entries_since(mark) if e.get("event") == "head"]
        self.assertEqual(len(heads), 1, "the first 64 KiB went upstream before the limit")
        # The upstream saw the request begin, but never its end: an incomplete request.
        self.assertEqual(len(done), 1, done)
        for e in done:
            self.assertFalse(e["complete"], e)
            self.assertLess(e["body_len"], len(body))

    def test_body_within_the_limit_passes_unchanged(self):
        body = bytes(range(256)) * 300  # 75 KiB, streamed in 4 KiB chunks past the gathered part
        with Conn(self.sluice.port) as c:
            c.send(build_request("POST", "/big/ok", headers=[("Transfer-Encoding", "chunked")],
                                 body=chunked(body, 4096)))
            r = c.read_response("POST")
        self.assertEqual(r.status, 200, r)
        got = r.json()
        self.assertEqual(got["body_len"], len(body))
        self.assertEqual(got["body_sha256"], hashlib.sha256(body).hexdigest())
        r = self.sluice.request("POST", "/small/ok", body=b"b" * 1000)  # exactly the limit
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_len"], 1000)

    def test_other_routes_keep_the_listener_limit(self):
        r = self.sluice.request("POST", "/free/x", body=b"c" * 5000)
        self.assertEqual(r.status, 200)


if __name__ == "__main__":
    main()
