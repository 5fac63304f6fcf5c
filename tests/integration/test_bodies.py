"""Message bodies through sluice: chunked both ways, 100 MiB streamed in both directions under a
bounded RSS, a stalled/slow reader, Expect: 100-continue, and max_body_bytes (413)."""

import hashlib
import os
import sys
import threading
import time

from harness import (ProxyTestCase, build_request, chunked, http_request, main, make_config,
                     pattern_bytes, pattern_sha256)

MiB = 1 << 20
# What streaming a body may add to sluice's RSS after start: a body held whole (100 MiB here)
# cannot fit. The bound is over the process's own RSS once it serves (about 13 MiB in a release
# build, over 60 MiB under ASan+UBSan, where it grows with the binary's size), not absolute.
RSS_GROWTH_LIMIT_KIB = 48 * 1024


class RssSampler:
    """Samples sluice's VmRSS in the background; .peak is the largest value seen (KiB)."""

    def __init__(self, sluice, every=0.05):
        self.sluice, self.every, self.peak = sluice, every, 0
        self.stop_ev = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_ev.is_set():
            try:
                self.peak = max(self.peak, self.sluice.rss_kib())
            except (OSError, KeyError):
                return
            self.stop_ev.wait(self.every)

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop_ev.set()
        self.t.join(5)


class BodiesTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",), "big": ("big",), "sink": ("sink",)}

    @classmethod
    def config(cls, ports):
        slow = {"timeouts": "{connect: 1s, response: 60s}"}
        return make_config(ports, [
            "{name: big, match: {path_prefix: /big}, upstream: big}",
            "{name: sink, match: {path_prefix: /sink}, upstream: sink}",
            "{name: all, match: {path_prefix: /}, upstream: echo}",
        ], limits={"max_body_bytes": "200MiB"},
            upstream_opts={"big": slow, "sink": slow})

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        http_request(cls.sluice.port, "GET", "/warm")  # one request served: the baseline
        cls.rss_limit = cls.sluice.rss_kib() + RSS_GROWTH_LIMIT_KIB

    def assert_rss_bounded(self, what):
        peak = self.sluice.peak_rss_kib()
        sys.stderr.write("[%s: sluice VmHWM %d KiB, limit %d] " % (what, peak, self.rss_limit))
        self.assertLess(peak, self.rss_limit,
                        "%s: sluice peak RSS (VmHWM) %d KiB >= its RSS after start + 48 MiB"
                        % (what, peak))

    def test_chunked_request_body(self):
        data = os.urandom(300000)
        c = self.conn()
        # uneven chunk sizes, a chunk extension, upper-case hex
        body = bytearray()
        off = 0
        for i, size in enumerate([1, 4095, 65536, 7, 100000]):
            piece = data[off:off + size]
            ext = b";name=value" if i == 1 else b""
            body += b"%X" % len(piece) + ext + b"\r\n" + piece + b"\r\n"
            off += size
        body += chunked(data[off:], 30000)
        c.send(b"POST /up HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n\r\n"
               + bytes(body))
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        d = r.json()
        self.assertEqual(d["body_len"], len(data))
        self.assertEqual(d["body_sha256"], hashlib.sha256(data).hexdigest())
        # the connection is still in sync afterwards
        self.assertEqual(c.request("GET", "/next").json()["target"], "/next")

    def test_chunked_request_with_trailer(self):
        c = self.conn()
        c.send(b"POST /trailer HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n"
               b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 1\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_len"], 11)
        self.assertEqual(r.json()["body_sha256"], hashlib.sha256(b"hello world").hexdigest())
        self.assertEqual(c.request("GET", "/next").json()["target"], "/next")

    def test_chunked_request_sent_in_pieces(self):
        # head, chunk header, data and terminator in separate TCP sends
        data = os.urandom(20000)
        c = self.conn()
        c.send(b"POST /pieces HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"4e20\r\n", data[:7000], data[7000:], b"\r\n", b"0\r\n", b"\r\n"):
            time.sleep(0.02)
            c.send(piece)
        r = c.read_response()
        self.assertEqual(r.json()["body_sha256"], hashlib.sha256(data).hexdigest())

    def test_chunked_response(self):
        c = self.conn()
        n = MiB + 3
        r = c.request("GET", "/big?size=%d&te=chunked&chunk=10000" % n)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body_len, n)
        self.assertEqual(r.sha256, pattern_sha256(n))
        r = c.request("GET", "/big?size=%d&te=cl" % n)
        self.assertEqual(r.body_len, n)
        self.assertEqual(r.sha256, pattern_sha256(n))

    def test_close_delimited_response(self):
        # upstream ends the body by closing; sluice must re-frame it or close too
        c = self.conn()
        r = c.request("GET", "/big?size=200000&te=close")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body_len, 200000)
        self.assertEqual(r.sha256, pattern_sha256(200000))

    def test_100mib_response_streamed_with_bounded_rss(self):
        n = 100 * MiB
        c = self.conn(timeout=60)
        with RssSampler(self.sluice) as s:
            r = c.request("GET", "/big?size=%d&te=cl&chunk=1048576" % n, sink=lambda p: None)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body_len, n)
        self.assertEqual(r.sha256, pattern_sha256(n))
        self.assertLess(s.peak, self.rss_limit)
        self.assert_rss_bounded("100 MiB response")
        r = c.request("GET", "/big?size=%d&te=chunked&chunk=262144" % (30 * MiB),
                      sink=lambda p: None)
        self.assertEqual(r.sha256, pattern_sha256(30 * MiB))
        self.assert_rss_bounded("30 MiB chunked response")

    def _send_pattern(self, c, n, piece=MiB, chunk_coding=False):
        off = 0
        while off < n:
            k = min(piece, n - off)
            start = off % 256
            data = _BLOCK[start:start + k]
            c.send(b"%x\r\n" % k + data + b"\r\n" if chunk_coding else data)
            off += k
        if chunk_coding:
            c.send(b"0\r\n\r\n")

    def test_100mib_upload_streamed_with_bounded_rss(self):
        n = 100 * MiB
        c = self.conn(timeout=60)
        with RssSampler(self.sluice) as s:
            c.send(b"PUT /sink HTTP/1.1\r\nHost: test.local\r\nContent-Length: %d\r\n\r\n" % n)
            self._send_pattern(c, n)
            r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_len"], n)
        self.assertEqual(r.json()["body_sha256"], pattern_sha256(n))
        self.assertLess(s.peak, self.rss_limit)
        self.assert_rss_bounded("100 MiB upload")
        # and chunked
        m = 30 * MiB
        c.send(b"POST /sink HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n\r\n")
        self._send_pattern(c, m, piece=200000, chunk_coding=True)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_len"], m)
        self.assertEqual(r.json()["body_sha256"], pattern_sha256(m))
        self.assert_rss_bounded("30 MiB chunked upload")

    def test_stalled_then_slow_reader(self):
        # The client stops reading for a while: the upstream is far faster than the client, so
        # without backpressure sluice would buffer most of the 80 MiB.
        n = 80 * MiB
        c = self.conn(timeout=60, rcvbuf=32768)
        c.send(build_request("GET", "/big?size=%d&te=cl" % n))
        h = hashlib.sha256()
        got = 0
        with RssSampler(self.sluice, every=0.02) as s:
            first = c.sock.recv(65536)
            self.assertTrue(first.startswith(b"HTTP/1.1 200"), first[:100])
            head, _, rest = first.partition(b"\r\n\r\n")
            self.assertIn(b"content-length: %d" % n, head.lower())
            h.update(rest)
            got += len(rest)
            time.sleep(2.0)  # stalled
            deadline = time.time() + 2.0
            while time.time() < deadline:  # slow: 16 KiB every 10 ms
                data = c.sock.recv(16384)
                self.assertTrue(data)
                h.update(data)
                got += len(data)
                time.sleep(0.01)
            stalled_rss = self.sluice.rss_kib()
            while got < n:  # then as fast as possible
                data = c.sock.recv(1 << 20)
                if not data:
                    break
                h.update(data)
                got += len(data)
        self.assertEqual(got, n)
        self.assertEqual(h.hexdigest(), pattern_sha256(n))
        self.assertLess(stalled_rss, self.rss_limit)
        self.assertLess(s.peak, self.rss_limit, "RSS while the client was slow")
        self.assert_rss_bounded("slow reader")

    def test_expect_100_continue(self):
        c = self.conn()
        c.send(b"POST /expect HTTP/1.1\r\nHost: test.local\r\nExpect: 100-continue\r\n"
               b"Content-Length: 11\r\n\r\n")
        interim = c.read_response(interim=True)
        self.assertEqual(interim.status, 100, "the client must get 100 Continue before sending")
        c.send(b"hello world")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_len"], 11)
        self.assertEqual(r.json()["body_sha256"], hashlib.sha256(b"hello world").hexdigest())
        self.assertEqual(c.request("GET", "/next").json()["target"], "/next")

    def test_expect_100_continue_chunked(self):
        c = self.conn()
        c.send(b"POST /expect HTTP/1.1\r\nHost: test.local\r\nExpect: 100-continue\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        interim = c.read_response(interim=True)
        self.assertEqual(interim.status, 100)
        c.send(chunked(b"abc" * 1000, 700))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_len"], 3000)


class SlowUploadTest(ProxyTestCase):
    """The upstream's response timeout counts from the end of the request, not while the client
    is still uploading; a body that stops coming is cut after idle_timeout (408)."""
    UPSTREAMS = {"sink": ("sink",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, ["{name: sink, match: {path_prefix: /}, upstream: sink}"],
                           limits={"idle_timeout": "1s"},
                           upstream_opts={"sink": {"timeouts": "{connect: 1s, response: 1s}"}})

    def test_slow_upload_longer_than_the_response_timeout(self):
        piece, pieces = 10 * 1024, 20  # 200 KiB over ~2.4 s: beyond what is buffered up front
        c = self.conn(timeout=10)
        c.send(b"POST /up HTTP/1.1\r\nHost: test.local\r\nContent-Length: %d\r\n\r\n"
               % (piece * pieces))
        for _ in range(pieces):
            time.sleep(0.12)
            c.send(b"u" * piece)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["body_len"], piece * pieces)

    def test_stalled_body_is_408(self):
        c = self.conn(timeout=10)
        t0 = time.time()
        c.send(b"POST /stall HTTP/1.1\r\nHost: test.local\r\nContent-Length: 100\r\n\r\nabcd")
        r = c.read_response()
        self.assertEqual(r.status, 408, r)
        self.assertGreaterEqual(time.time() - t0, 0.9)
        self.assertLess(time.time() - t0, 5)
        self.assertTrue(c.is_closed(2.0))


class BodyLimitTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, ["{name: all, match: {path_prefix: /}, upstream: echo}"],
                           limits={"max_body_bytes": "1KiB"})

    def test_body_at_limit_passes(self):
        r = self.conn().request("POST", "/ok", body=b"a" * 1024)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["body_len"], 1024)

    def test_content_length_over_limit_is_413(self):
        mark = self.up["echo"].mark()
        c = self.conn()
        c.send(b"POST /too-big-cl HTTP/1.1\r\nHost: test.local\r\nContent-Length: 1025\r\n\r\n"
               + b"a" * 1025)
        r = c.read_response()
        self.assertEqual(r.status, 413, r)
        self.assertTrue(r.header("x-request-id"))
        time.sleep(0.3)
        got = [e for e in self.up["echo"].entries_since(mark) if e.get("target") == "/too-big-cl"]
        self.assertEqual(got, [], "a body known to be too large must not be forwarded")

    def test_chunked_over_limit_is_413(self):
        c = self.conn()
        c.send(b"POST /big HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked\r\n\r\n"
               + chunked(b"b" * 5000, 500))
        r = c.read_response()
        self.assertEqual(r.status, 413, r)

    def test_chunk_announcing_too_much_is_413_before_its_bytes(self):
        # The chunk size alone says the body is over the limit: no need to wait for the bytes.
        for size in (b"2000", b"ffffffffffffffff"):
            with self.subTest(size=size):
                c = self.conn(timeout=3)
                c.send(b"POST /big HTTP/1.1\r\nHost: test.local\r\nTransfer-Encoding: chunked"
                       b"\r\n\r\n" + size + b"\r\nhello")
                r = c.read_response()
                self.assertEqual(r.status, 413, r)

    def test_expect_100_over_limit_is_413(self):
        c = self.conn()
        c.send(b"POST /big HTTP/1.1\r\nHost: test.local\r\nExpect: 100-continue\r\n"
               b"Content-Length: 100000\r\n\r\n")
        r = c.read_response(interim=True)
        if r.status == 100:  # allowed, though wasteful: then the body must be refused anyway
            try:
                c.send(b"c" * 100000)
            except OSError:
                pass
            r = c.read_response()
        self.assertEqual(r.status, 413, r)


_BLOCK = pattern_bytes(0, 256 * 4097)


if __name__ == "__main__":
    main()
