"""The `gzip` filter end to end: for bodies from 0 B to 10 MiB arriving in odd chunk sizes, what
sluice sends decodes (gzip with zlib, br and zstd with the Debian `brotli`/`zstd` tools) back to
the origin's body; q-values and the config order choose the encoding; what must not be
compressed is not; Vary, weak ETags and re-framing; HEAD and 304 get the fields a GET's 200 would;
Accept-Encoding on several lines."""

import hashlib
import shutil
import socket
import subprocess
import threading
import unittest
import zlib
from urllib.parse import parse_qs, urlsplit

from harness import ProxyTestCase, main, make_config

MiB = 1 << 20


def _base():
    words = [b"sluice ", b"proxy ", b"cache ", b"{\"key\": 12345}\n", b"compress ", b"<p>x</p>"]
    out, x = bytearray(), 12345
    while len(out) < 65521:  # a prime length: chunk boundaries never line up with the period
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out += words[x % len(words)] if x % 7 else bytes([x & 0xFF])
    return bytes(out[:65521])


BASE = _base()


def body_of(size):
    reps = size // len(BASE) + 1
    return (BASE * reps)[:size]


class Origin:
    """An origin in this process: GET /gen?size=N&chunk=K&te=cl|chunked&ct=TYPE&h=name:value
    sends `body_of(N)` in pieces of K bytes (each its own send)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(s,), daemon=True).start()

    def handle(self, s):
        f = s.makefile("rb")
        try:
            while True:
                line = f.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                while f.readline() not in (b"\r\n", b""):
                    pass
                self.answer(s, method, target)
        except OSError:
            pass
        finally:
            s.close()

    def answer(self, s, method, target):
        q = parse_qs(urlsplit(target).query)
        size = int(q.get("size", ["5000"])[0])
        chunk = max(1, int(q.get("chunk", ["4099"])[0]))
        te = q.get("te", ["cl"])[0]
        status = int(q.get("status", ["200"])[0])
        hdrs = [("Content-Type", q.get("ct", ["text/plain"])[0]), ("ETag", '"v1"')]
        hdrs += [tuple(h.split(":", 1)) for h in q.get("h", [])]
        hdrs.append(("Content-Length", str(size)) if te == "cl" else
                    ("Transfer-Encoding", "chunked"))
        head = "HTTP/1.1 %d X\r\n" % status + "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n"
        s.sendall(head.encode())
        if method == "HEAD":
            return
        body = body_of(size)
        for off in range(0, size, chunk):
            piece = body[off:off + chunk]
            s.sendall(piece if te == "cl" else b"%x\r\n" % len(piece) + piece + b"\r\n")
        if te != "cl":
            s.sendall(b"0\r\n\r\n")

    def close(self):
        self.sock.close()


def decode(encoding, data):
    if encoding is None:
        return data
    if encoding == "gzip":
        return zlib.decompress(data, 16 + zlib.MAX_WBITS)
    tool = {"br": ["brotli", "-d", "-c"], "zstd": ["zstd", "-d", "-c", "-q"]}[encoding]
    return subprocess.run(tool, input=data, stdout=subprocess.PIPE, check=True).stdout


class Compression(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.origin.close()

    @classmethod
    def config(cls, ports):
        return make_config({"o": cls.origin.port}, [
            "{name: gc, match: {path_prefix: /gc/}, upstream: o, filters: [{gzip: {min_bytes:"
            " 1024}}, {cache: {ttl: 30s}}]}",
            "{name: z, match: {path_prefix: /}, upstream: o, filters: [{gzip: {min_bytes: 1024,"
            " level: 5, types: [text/*, application/json], encodings: [zstd, br, gzip]}}]}"],
            limits={"header_timeout": "5s"})

    def get(self, target, ae=None, method="GET", extra=()):
        hdrs = [("Accept-Encoding", ae)] if ae is not None else []
        hdrs += list(extra)
        with self.conn(timeout=60) as c:
            return c.request(method, target, hdrs)

    def test_round_trips_all_encodings(self):
        cases = [(0, 1, "chunked"), (1, 1, "cl"), (1023, 7, "chunked"), (4096, 4096, "cl"),
                 (100003, 1, "cl"), (300007, 65537, "chunked"), (10 * MiB, 99991, "chunked"),
                 (10 * MiB, 1 << 20, "cl")]
        for enc in ("gzip", "br", "zstd"):
            if enc != "gzip" and shutil.which({"br": "brotli", "zstd": "zstd"}[enc]) is None:
                self.skipTest("the %s tool is not installed" % enc)
            for size, chunk, te in cases:
                if size == 10 * MiB and (enc, te) not in (("gzip", "chunked"), ("br", "cl"),
                                                          ("zstd", "chunked")):
                    continue  # one 10 MiB body per encoding keeps the test quick under ASan
                with self.subTest(enc=enc, size=size, chunk=chunk, te=te):
                    r = self.get("/gen?size=%d&chunk=%d&te=%s" % (size, chunk, te), enc)
                    self.assertEqual(r.status, 200)
                    want = body_of(size)
                    expect_encoded = size >= 1024 or te == "chunked"
                    self.assertEqual(r.header("content-encoding"),
                                     enc if expect_encoded else None, r)
                    if expect_encoded:
                        self.assertIn("Accept-Encoding", r.header("vary", ""))
                    got = decode(r.header("content-encoding"), r.body)
                    self.assertEqual(len(got), len(want))
                    self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(want).digest())
                    if expect_encoded:
                        self.assertIsNone(r.header("content-length"))
                        self.assertEqual(r.header("etag"), 'W/"v1"')
                        if size > 100000:
                            self.assertLess(len(r.body), size // 2)

    def test_q_values_and_config_order(self):
        t = "/gen?size=5000"
        self.assertEqual(self.get(t, "gzip, br, zstd").header("content-encoding"), "zstd")
        self.assertEqual(self.get(t, "gzip, br").header("content-encoding"), "br")
        self.assertEqual(self.get(t, "gzip;q=1, br;q=0.5").header("content-encoding"), "gzip")
        self.assertEqual(self.get(t, "zstd;q=0, br;q=0, gzip").header("content-encoding"), "gzip")
        r = self.get(t, "gzip;q=0, identity")
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.body, body_of(5000))
        self.assertEqual(r.header("content-length"), "5000")
        self.assertIn("Accept-Encoding", r.header("vary", ""))
        self.assertIsNone(self.get(t).header("content-encoding"))

    def test_what_is_not_compressed(self):
        for target, method in [("/gen?size=5000&ct=image/png", "GET"),
                               ("/gen?size=500", "GET"),
                               ("/gen?size=5000&h=Cache-Control:no-transform", "GET"),
                               ("/gen?size=5000&h=Content-Encoding:br", "GET"),
                               ("/gen?size=5000&status=206", "GET")]:
            with self.subTest(target=target, method=method):
                r = self.get(target, "gzip", method=method)
                self.assertNotEqual(r.header("content-encoding"), "gzip", r)
                self.assertEqual(r.header("content-length"), "5000" if "500&" not in target
                                 and not target.endswith("=500") else "500")
                self.assertEqual(len(r.body), int(r.header("content-length")))

    def test_head_gets_the_head_a_get_would(self):
        get = self.get("/gen?size=5000", "gzip")
        head = self.get("/gen?size=5000", "gzip", method="HEAD")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.body, b"")
        for name in ("content-encoding", "vary", "etag", "content-length"):
            self.assertEqual(head.header(name), get.header(name), name)
        self.assertEqual(head.header("content-encoding"), "gzip")
        self.assertIsNone(head.header("content-length"))
        small = self.get("/gen?size=500", "gzip", method="HEAD")  # a GET would not compress it
        self.assertIsNone(small.header("content-encoding"))
        self.assertEqual(small.header("content-length"), "500")

    def test_head_from_the_cache_behind_gzip(self):
        # gzip before cache: the cache answers the HEAD itself (a local reply); gzip would
        # transform the body, so the uncompressed length must not be announced.
        get = self.get("/gc/h?size=5000", "gzip")
        self.assertEqual(get.header("content-encoding"), "gzip")
        head = self.get("/gc/h?size=5000", "gzip", method="HEAD")
        self.assertEqual(head.header("x-cache"), "HIT")
        self.assertEqual(head.header("content-encoding"), "gzip")
        self.assertIsNone(head.header("content-length"))
        self.assertEqual(head.body, b"")

    def test_304_carries_the_etag_and_vary_of_the_200(self):
        target = "/gen?size=0&status=304"
        r = self.get(target, "gzip", extra=[("If-None-Match", 'W/"v1"')])
        self.assertEqual(r.status, 304)
        self.assertEqual(r.header("etag"), 'W/"v1"')  # the client holds the compressed variant
        self.assertEqual(r.header("vary"), "Accept-Encoding")
        self.assertIsNone(r.header("content-encoding"))
        r = self.get(target, None, extra=[("If-None-Match", '"v1"')])
        self.assertEqual(r.header("etag"), '"v1"')  # ... the identity one
        self.assertEqual(r.header("vary"), "Accept-Encoding")

    def test_accept_encoding_on_two_lines(self):
        r = self.get("/gen?size=5000", None,
                     extra=[("Accept-Encoding", "identity"), ("Accept-Encoding", "gzip")])
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(zlib.decompress(r.body, 16 + zlib.MAX_WBITS), body_of(5000))

    def test_accept_ranges_dropped_when_compressed(self):
        t = "/gen?size=5000&h=Accept-Ranges:bytes"
        self.assertIsNone(self.get(t, "gzip").header("accept-ranges"))
        self.assertEqual(self.get(t).header("accept-ranges"), "bytes")

    def test_existing_vary_is_extended(self):
        r = self.get("/gen?size=5000&h=Vary:Origin", "gzip")
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(r.header("vary"), "Origin, Accept-Encoding")


if __name__ == "__main__":
    main()
