"""Trailer fields end to end. An upstream's chunked trailers reach an HTTP/1.1 client in the last
chunk (after what the body filters still hold), are dropped when the client's framing cannot carry
them (HTTP/1.0), and leave the connection in step for the next request. A client's chunked
request trailers reach the upstream, whether the body was gathered whole or streamed."""

import gzip
import os
import time

from harness import (ProxyTestCase, build_request, chunked, main, make_config, pattern_bytes,
                     pattern_sha256)

TRAILERS = [("x-checksum", "c0ffee")]


class TrailersTest(ProxyTestCase):
    UPSTREAMS = {"big": ("big",), "echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, [
            "{name: gz, match: {path_prefix: /gz/}, upstream: big, filters: [{gzip: {min_bytes:"
            " 16, types: [application/octet-stream]}}]}",
            "{name: echo, match: {path_prefix: /echo/}, upstream: echo}",
            "{name: all, match: {path_prefix: /}, upstream: big}",
        ])

    def check_trailers(self, r, size):
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("transfer-encoding"), "chunked")
        self.assertEqual(r.trailers, TRAILERS + [("x-count", str(size))])

    def test_trailers_of_a_large_body_reach_the_client(self):
        with self.conn() as c:
            n = 300000
            r = c.request("GET", "/big?size=%d&te=chunked&chunk=10000&trailers=1" % n)
            self.check_trailers(r, n)
            self.assertEqual(r.body_len, n)
            self.assertEqual(r.sha256, pattern_sha256(n))
            # the connection is still in step
            r2 = c.request("GET", "/big?size=10&te=cl")
            self.assertEqual(r2.status, 200)
            self.assertEqual(r2.body, pattern_bytes(0, 10))

    def test_trailers_of_a_small_body_written_with_the_head(self):
        with self.conn() as c:
            for _ in range(3):  # keep-alive: each response ends where the next begins
                r = c.request("GET", "/small?size=10&te=chunked&trailers=1")
                self.check_trailers(r, 10)
                self.assertEqual(r.body, pattern_bytes(0, 10))

    def test_trailers_follow_what_a_body_filter_still_holds(self):
        with self.conn() as c:
            n = 50000
            r = c.request("GET", "/gz/x?size=%d&te=chunked&trailers=1" % n,
                          [("Accept-Encoding", "gzip")])
            self.check_trailers(r, n)
            self.assertEqual(r.header("content-encoding"), "gzip")
            self.assertEqual(gzip.decompress(r.body), pattern_bytes(0, n))

    def test_an_http10_client_gets_the_body_without_trailers(self):
        with self.conn() as c:
            n = 5000
            r = c.request("GET", "/big?size=%d&te=chunked&trailers=1" % n, version="HTTP/1.0")
            self.assertEqual(r.status, 200, r)
            self.assertIsNone(r.header("transfer-encoding"))
            self.assertEqual(r.body, pattern_bytes(0, n))

    def test_a_response_without_trailers_ends_with_an_empty_last_chunk(self):
        with self.conn() as c:
            r = c.request("GET", "/big?size=100&te=chunked")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.trailers, [])
            self.assertEqual(r.body, pattern_bytes(0, 100))

    def post_with_trailers(self, target, body):
        mark = self.up["echo"].mark()
        with self.conn() as c:
            c.send(build_request("POST", target, headers=[("Transfer-Encoding", "chunked")],
                                 body=chunked(body, 4096)[:-2]  # the last chunk, then:
                                 + b"X-Checksum: 1\r\nContent-Length: 5\r\n\r\n"))
            r = c.read_response("POST")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["body_len"], len(body))
            # the connection is still in step
            self.assertEqual(c.request("GET", "/echo/next").json()["target"], "/echo/next")
        time.sleep(0.1)
        done = [e for e in self.up["echo"].entries_since(mark)
                if e.get("event") == "request" and e["method"] == "POST"]
        self.assertEqual(len(done), 1, done)
        return done[0]

    def test_request_trailers_of_a_gathered_body_reach_the_upstream(self):
        e = self.post_with_trailers("/echo/small", b"hello world")
        self.assertTrue(e["complete"], e)
        # framing fields never travel as trailers
        self.assertEqual(e.get("trailers"), [["x-checksum", "1"]], e)

    def test_request_trailers_of_a_streamed_body_reach_the_upstream(self):
        body = os.urandom(200000)  # past what sluice gathers before contacting the upstream
        e = self.post_with_trailers("/echo/large", body)
        self.assertTrue(e["complete"], e)
        self.assertEqual(e["body_len"], len(body))
        self.assertEqual(e.get("trailers"), [["x-checksum", "1"]], e)


if __name__ == "__main__":
    main()
