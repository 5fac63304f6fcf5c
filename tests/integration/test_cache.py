"""The `cache` filter end to end: hits with Age and x-cache, 100 concurrent requests for a cold
key reaching the origin once, stale served while the origin is down, stale-while-revalidate with
one background refresh (200 and 304), revalidation with a 304, the
byte bound under 10k distinct keys, negative caching, Vary variants with the gzip filter, bypass,
purge through the admin listener, and the metrics. RFC 9111 request directives (only-if-cached,
max-age, min-fresh), s-maxage, ages against whole-second Dates, stored fields served as they are,
conditional requests on a miss, `ttl: 0`, and 304s through gzip. With the default settings
(RFC 9111): heuristic freshness from Last-Modified only, ranges answered from a stored 200
(206, multipart, 416, If-Range, through gzip in both orders), Expires beside an invalid Date, an
invalid Age ignored, CDN-Cache-Control ahead of Cache-Control, stale-if-error with the origin
gone."""

import json
import socket
import threading
import time
import zlib
from urllib.parse import parse_qs, urlsplit

from harness import Conn, ProxyTestCase, main, make_config, metric_sum, parse_metrics


class Origin:
    """An origin in this process that counts requests per target. Query options: cc=Cache-Control,
    etag=ETag (answers If-None-Match with 304), status=N, delay=SECONDS, size=N (body length),
    delay2=SECONDS (from the second request on), vary=Vary, noct=1 (no Content-Type), lm=SECONDS (Last-Modified that long ago), date=RAW
    (Date as given), expires=SECONDS (Expires that far from now; not a number: as given), age=RAW, cdn=CDN-Cache-Control.
    It ignores Range (always the whole 200). `down` makes it drop every connection without
    answering."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.counts = {}
        self.log = []
        self.down = False
        threading.Thread(target=self.serve, daemon=True).start()

    def count(self, target):
        with self.lock:
            return self.counts.get(target, 0)

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
                headers = {}
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""):
                        break
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                n = int(headers.get("content-length", "0"))
                if n:
                    f.read(n)
                if self.down:
                    return
                self.answer(s, method, target, headers)
        except OSError:
            pass
        finally:
            s.close()

    def answer(self, s, method, target, headers):
        with self.lock:
            self.counts[target] = self.counts.get(target, 0) + 1
            seq = self.counts[target]
            self.log.append((method, target, headers))
        q = parse_qs(urlsplit(target).query)
        if "delay" in q:
            time.sleep(float(q["delay"][0]))
        if "delay2" in q and seq >= 2:
            time.sleep(float(q["delay2"][0]))
        status = int(q.get("status", ["200"])[0])
        hdrs = [] if "noct" in q else [("Content-Type", "text/plain")]
        if "cc" in q:
            hdrs.append(("Cache-Control", q["cc"][0]))
        if "vary" in q:
            hdrs.append(("Vary", q["vary"][0]))
        now = time.time()
        if "lm" in q:
            hdrs.append(("Last-Modified", http_date(now - float(q["lm"][0]))))
        hdrs.append(("Date", q["date"][0] if "date" in q else http_date(now)))
        if "expires" in q:
            try:
                hdrs.append(("Expires", http_date(now + float(q["expires"][0]))))
            except ValueError:
                hdrs.append(("Expires", q["expires"][0]))
        if "age" in q:
            hdrs.append(("Age", q["age"][0]))
        if "cdn" in q:
            hdrs.append(("CDN-Cache-Control", q["cdn"][0]))
        etag = q.get("etag", [None])[0]
        if etag:
            hdrs.append(("ETag", '"%s"' % etag))
            if headers.get("if-none-match") == '"%s"' % etag:
                s.sendall(("HTTP/1.1 304 Not Modified\r\n" +
                           "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n").encode())
                return
        if "size" in q:
            body = (b"%s #%d " % (target.encode(), seq)) * (int(q["size"][0]) // 16 + 1)
            body = body[:int(q["size"][0])]
        else:
            body = b"%s #%d" % (target.encode(), seq)
        hdrs.append(("Content-Length", str(len(body))))
        s.sendall(("HTTP/1.1 %d X\r\n" % status + "".join("%s: %s\r\n" % h for h in hdrs) +
                   "\r\n").encode() + (b"" if method == "HEAD" else body))

    def close(self):
        """Stops listening: new connections are refused (shutdown wakes the accept thread)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def http_date(t):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))


BOUND = 256 * 1024


class Cache(ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.origin = Origin()
        cls.flaky = Origin()
        cls.doomed = Origin()  # closed (connection refused) by test_stale_if_error_origin_gone
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.origin.close()
        cls.flaky.close()
        cls.doomed.close()

    @classmethod
    def config(cls, ports):
        return make_config({"o": cls.origin.port, "f": cls.flaky.port, "d": cls.doomed.port}, [
            # The defaults: what a conformance suite sees.
            "{name: rfc, match: {path_prefix: /rfc/}, upstream: o, filters: [{cache: {}}]}",
            "{name: doomed, match: {path_prefix: /doomed/}, upstream: d,"
            " filters: [{cache: {}}]}",
            "{name: bound, match: {path_prefix: /bound/}, upstream: o,"
            " filters: [{cache: {ttl: 60s, max_bytes: %d}}]}" % BOUND,
            "{name: flaky, match: {path_prefix: /flaky/}, upstream: f,"
            " filters: [{cache: {ttl: 1s, stale_if_error: 60s}}]}",
            "{name: gz, match: {path_prefix: /gz/}, upstream: o,"
            " filters: [{cache: {ttl: 60s}}, {gzip: {min_bytes: 10, encodings: [gzip]}}]}",
            "{name: gzc, match: {path_prefix: /gzc/}, upstream: o,"
            " filters: [{gzip: {min_bytes: 10, encodings: [gzip]}}, {cache: {ttl: 60s}}]}",
            "{name: plain, match: {path_prefix: /plain/}, upstream: o,"
            " filters: [{cache: {ttl: 0}}]}",
            "{name: main, match: {path_prefix: /}, upstream: o,"
            " filters: [{cache: {ttl: 60s, max_bytes: 8MiB, negative_ttl: 30s,"
            " stale_while_revalidate: 10s}}]}",
        ], upstream_opts={"o": {"keepalive": "64"}, "f": {"keepalive": "8"},
                          "d": {"keepalive": "0"}})

    def get(self, target, headers=(), method="GET"):
        with self.conn(timeout=30) as c:
            return c.request(method, target, list(headers))

    def test_hit_with_age_and_head(self):
        r1 = self.get("/hit?cc=max-age%3D60")
        self.assertEqual(r1.status, 200)
        self.assertEqual(r1.header("x-cache"), "MISS")
        time.sleep(1.1)
        r2 = self.get("/hit?cc=max-age%3D60")
        self.assertEqual(r2.header("x-cache"), "HIT")
        self.assertEqual(r2.body, r1.body)
        self.assertGreaterEqual(int(r2.header("age")), 1)
        self.assertEqual(r2.header("content-type"), "text/plain")
        r3 = self.get("/hit?cc=max-age%3D60", method="HEAD")
        self.assertEqual(r3.header("x-cache"), "HIT")
        self.assertEqual(r3.header("content-length"), str(len(r1.body)))
        self.assertEqual(self.origin.count("/hit?cc=max-age%3D60"), 1)

    def test_100_concurrent_cold_requests_reach_the_origin_once(self):
        target = "/cold?cc=max-age%3D60&delay=0.5"
        results, errors = [], []
        start = threading.Barrier(100)

        def one():
            try:
                c = Conn(self.sluice.port, timeout=30)
                try:
                    start.wait()
                    results.append(c.request("GET", target))
                finally:
                    c.close()
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=one) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 100)
        self.assertTrue(all(r.status == 200 for r in results))
        self.assertEqual({r.body for r in results}, {results[0].body})
        self.assertEqual(self.origin.count(target), 1)
        self.assertEqual(sum(r.header("x-cache") == "MISS" for r in results), 1)

    def test_stale_while_the_origin_is_down(self):
        target = "/flaky/page?etag=e1"
        r1 = self.get(target)
        self.assertEqual(r1.header("x-cache"), "MISS")
        self.flaky.down = True
        try:
            time.sleep(1.2)  # ttl 1s: stale now
            for _ in range(3):
                r = self.get(target)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.header("x-cache"), "STALE")
                self.assertEqual(r.body, r1.body)
        finally:
            self.flaky.down = False

    def test_revalidation_with_304(self):
        # No stale-while-revalidate window: the request waits for the origin's 304.
        target = "/reval?cc=max-age%3D2%2C%20stale-while-revalidate%3D0&etag=v7"
        r1 = self.get(target)
        time.sleep(2.2)
        r2 = self.get(target)
        self.assertEqual(r2.status, 200)
        self.assertEqual(r2.header("x-cache"), "HIT")
        self.assertEqual(r2.body, r1.body)
        self.assertEqual(r2.header("etag"), '"v7"')
        self.assertEqual(self.origin.count(target), 2)
        method, _, headers = [e for e in self.origin.log if e[1] == target][-1]
        self.assertEqual(headers.get("if-none-match"), '"v7"')
        # A conditional request is answered by the cache itself.
        r3 = self.get(target, [("If-None-Match", '"v7"')])
        self.assertEqual(r3.status, 304)
        self.assertEqual(r3.body, b"")
        self.assertEqual(self.origin.count(target), 2)

    def swr_round(self, target):
        """Within stale_while_revalidate: concurrent requests all get the stale copy at once
        while the (slow) origin is asked once in the background; then the refreshed copy."""
        r1 = self.get(target)
        self.assertEqual(r1.header("x-cache"), "MISS")
        # max-age=2 counted from the request (the origin takes 0.8s): stale after 1.2s, within
        # the route's 10s window.
        time.sleep(1.5)
        results, errors = [], []

        def one():
            try:
                t0 = time.monotonic()
                r = self.get(target)
                results.append((r, time.monotonic() - t0))
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=one) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 8)
        for r, took in results:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("x-cache"), "STALE")
            self.assertEqual(r.body, r1.body)
            self.assertLess(took, 0.5)  # the origin takes 0.8s: nobody waited for it
        deadline = time.monotonic() + 10
        while True:
            t0 = time.monotonic()
            r = self.get(target)
            self.assertLess(time.monotonic() - t0, 0.5)
            if r.header("x-cache") == "HIT":
                break
            self.assertEqual(r.header("x-cache"), "STALE")
            self.assertLess(time.monotonic(), deadline, "the background refresh never landed")
            time.sleep(0.1)
        self.assertEqual(self.origin.count(target), 2)  # exactly one refresh
        return r1, r

    def test_stale_while_revalidate_refreshes_in_the_background(self):
        target = "/swr?cc=max-age%3D2&delay=0.8"
        r1, r2 = self.swr_round(target)
        self.assertEqual(r2.body, b"%s #2" % target.encode())  # the new body replaced the old
        self.assertNotEqual(r2.body, r1.body)

    def test_stale_while_revalidate_background_304(self):
        target = "/swr304?cc=max-age%3D2&etag=s1&delay=0.8"
        r1, r2 = self.swr_round(target)
        self.assertEqual(r2.body, r1.body)  # revalidated: the stored body is fresh again
        method, _, headers = [e for e in self.origin.log if e[1] == target][-1]
        self.assertEqual(method, "GET")
        self.assertEqual(headers.get("if-none-match"), '"s1"')

    def test_negative_ttl(self):
        target = "/nothing-here?status=404"
        self.assertEqual(self.get(target).status, 404)
        r = self.get(target)
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("x-cache"), "HIT")
        self.assertEqual(self.origin.count(target), 1)

    def test_not_stored_and_bypass(self):
        for target in ["/priv?cc=private", "/nostore?cc=no-store", "/redir?status=302"]:
            self.get(target)
            self.assertEqual(self.get(target).header("x-cache"), "MISS", target)
            self.assertEqual(self.origin.count(target), 2, target)
        self.get("/nocc")
        r = self.get("/nocc", [("Cache-Control", "no-store")])
        self.assertEqual(r.header("x-cache"), "BYPASS")
        with self.conn() as c:
            r = c.request("POST", "/nocc", body=b"x")
        self.assertEqual(r.header("x-cache"), "BYPASS")
        self.assertEqual(self.get("/nocc").header("x-cache"), "MISS")  # the POST invalidated it

    def test_vary_keeps_variants_apart_with_gzip(self):
        target = "/gz/doc?size=4000"
        a = self.get(target, [("Accept-Encoding", "gzip")])
        b = self.get(target)
        self.assertEqual(a.header("content-encoding"), "gzip")
        self.assertIsNone(b.header("content-encoding"))
        a2 = self.get(target, [("Accept-Encoding", "gzip")])
        b2 = self.get(target)
        self.assertEqual(a2.header("x-cache"), "HIT")
        self.assertEqual(b2.header("x-cache"), "HIT")
        self.assertEqual(a2.header("content-encoding"), "gzip")
        self.assertIsNone(b2.header("content-encoding"))
        self.assertEqual(a2.body, a.body)
        self.assertEqual(b2.body, b.body)
        self.assertEqual(zlib.decompress(a2.body, 16 + zlib.MAX_WBITS),
                         b2.body.replace(b"#2", b"#1"))
        self.assertEqual(self.origin.count(target), 2)

    def test_purge_key_and_prefix(self):
        for t in ["/p/1", "/p/2", "/p/3"]:
            self.get(t)
            self.assertEqual(self.get(t).header("x-cache"), "HIT")
        r = self.sluice.admin("POST", "/cache/purge?key=test.local/p/1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["purged"], 1)
        self.assertEqual(self.get("/p/1").header("x-cache"), "MISS")
        self.assertEqual(self.get("/p/2").header("x-cache"), "HIT")
        r = self.sluice.admin("POST", "/cache/purge", body=b"prefix=test.local/p/")
        self.assertEqual(json.loads(r.body)["purged"], 3)
        self.assertEqual(self.get("/p/2").header("x-cache"), "MISS")
        self.assertEqual(self.sluice.admin("GET", "/cache/purge?key=x").status, 405)
        self.assertEqual(self.sluice.admin("POST", "/cache/purge").status, 400)

    def test_byte_bound_holds_under_10k_keys(self):
        before = metric_sum(self.sluice.metrics(), "sluice_cache_bytes")
        errors = []

        def worker(k0):
            try:
                with Conn(self.sluice.port, timeout=30) as c:
                    for k in range(k0, 10000, 4):
                        r = c.request("GET", "/bound/%d?size=700" % k)
                        if r.status != 200:
                            errors.append(r.status)
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        after = metric_sum(self.sluice.metrics(), "sluice_cache_bytes")
        self.assertGreater(after - before, BOUND // 2)  # it did fill up ...
        self.assertLessEqual(after - before, BOUND)     # ... and stayed within max_bytes
        self.get("/bound/last?size=700")
        self.assertEqual(self.get("/bound/last?size=700").header("x-cache"), "HIT")
        self.assertEqual(self.get("/bound/0?size=700").header("x-cache"), "MISS")

    def test_only_if_cached_never_reaches_the_origin(self):
        t = "/plain/oic?cc=max-age%3D1"
        oic = [("Cache-Control", "only-if-cached")]
        r = self.get(t, oic)
        self.assertEqual(r.status, 504)
        self.assertEqual(r.header("x-cache"), "MISS")
        self.assertIn(r.header("x-request-id").encode(), r.body)  # like other local replies
        self.assertEqual(self.origin.count(t), 0)
        self.assertEqual(self.get(t).header("x-cache"), "MISS")
        r = self.get(t, oic)
        self.assertEqual((r.status, r.header("x-cache")), (200, "HIT"))
        time.sleep(1.1)  # stale, and the route allows no stale use
        self.assertEqual(self.get(t, oic).status, 504)
        self.assertEqual(self.origin.count(t), 1)

    def test_ages_count_whole_seconds_of_date(self):
        # Date has whole seconds: a response that arrives late in its second is not that much
        # older. Arrive at .8 s past a second, look again 0.3 s later.
        t = "/plain/ma1?cc=max-age%3D1"
        time.sleep((0.8 - time.time() % 1) % 1)
        self.assertEqual(self.get(t).header("x-cache"), "MISS")
        time.sleep(0.3)
        r = self.get(t)
        self.assertEqual(r.header("x-cache"), "HIT")
        self.assertEqual(r.header("age"), "0")

    def test_stale_only_where_allowed(self):
        # The main route has stale_while_revalidate 10s.
        ma, sm = "/reqma?cc=max-age%3D600", "/smax?cc=s-maxage%3D1"
        self.get(ma)
        self.get(sm)
        r = self.get(ma, [("Cache-Control", "min-fresh=1000")])  # 600 s left is not enough
        self.assertEqual(r.header("x-cache"), "MISS")
        self.assertEqual(self.origin.count(ma), 2)
        time.sleep(1.1)
        # The client takes nothing older than 1 s: neither HIT nor STALE.
        r = self.get(ma, [("Cache-Control", "max-age=1")])
        self.assertEqual(r.header("x-cache"), "MISS")
        self.assertEqual(r.body, b"%s #3" % ma.encode())
        self.assertEqual(self.get(ma).header("x-cache"), "HIT")
        # s-maxage means proxy-revalidate: no stale copy despite the route's window.
        r = self.get(sm)
        self.assertEqual(r.header("x-cache"), "MISS")
        self.assertEqual(r.body, b"%s #2" % sm.encode())

    def test_ttl_zero_stores_only_explicit_freshness(self):
        self.get("/plain/heuristic")
        self.assertEqual(self.get("/plain/heuristic").header("x-cache"), "MISS")
        self.get("/plain/explicit?cc=max-age%3D60")
        self.assertEqual(self.get("/plain/explicit?cc=max-age%3D60").header("x-cache"), "HIT")

    def test_served_with_the_stored_fields(self):
        t = "/noct?noct=1&etag=n1"
        miss = self.get(t)
        self.assertIsNone(miss.header("content-type"))
        hit = self.get(t)
        self.assertEqual(hit.header("x-cache"), "HIT")
        self.assertIsNone(hit.header("content-type"))
        r = self.get(t, [("If-None-Match", '"n1"')])
        self.assertEqual(r.status, 304)
        self.assertIsNone(r.header("content-type"))

    def test_conditional_miss_gets_304_from_the_origin(self):
        t = "/condmiss?etag=c1"
        r = self.get(t, [("If-None-Match", '"c1"')])
        self.assertEqual(r.status, 304)
        self.assertEqual(r.header("etag"), '"c1"')
        self.assertEqual([h.get("if-none-match") for m, tt, h in self.origin.log if tt == t],
                         ['"c1"'])
        self.assertEqual(self.get(t, [("If-None-Match", '"other"')]).status, 200)
        r = self.get(t, [("If-None-Match", '"c1"')])  # now from the stored copy
        self.assertEqual((r.status, r.header("x-cache")), (304, "HIT"))
        self.assertEqual(self.origin.count(t), 2)

    def test_304_through_gzip_matches_the_200(self):
        t = "/gzc/e?size=3000&etag=e"
        r = self.get(t, [("Accept-Encoding", "gzip")])
        self.assertEqual((r.header("etag"), r.header("vary")), ('W/"e"', "Accept-Encoding"))
        for _ in range(2):  # the cache's own 304 (the identity copy is stored), through gzip
            r = self.get(t, [("Accept-Encoding", "gzip"), ("If-None-Match", 'W/"e"')])
            self.assertEqual(r.status, 304)
            self.assertEqual(r.header("etag"), 'W/"e"')
            self.assertEqual(r.header("vary"), "Accept-Encoding")
            self.assertIsNone(r.header("content-type"))
        r = self.get(t, [("If-None-Match", '"e"')])
        self.assertEqual((r.status, r.header("etag")), (304, '"e"'))

    # --- the default settings (RFC 9111) ---

    def test_default_stores_without_explicit_freshness_only_by_last_modified(self):
        # No max-age / Expires and no Last-Modified: not stored (no 30 s lifetime any more).
        t = "/rfc/nolm"
        self.assertEqual(self.get(t).header("x-cache"), "MISS")
        self.assertEqual(self.get(t).header("x-cache"), "MISS")
        self.assertEqual(self.origin.count(t), 2)
        # Last-Modified 10 days ago: 10% of that (capped at a day) is fresh.
        t = "/rfc/lm?lm=864000"
        self.assertEqual(self.get(t).header("x-cache"), "MISS")
        r = self.get(t)
        self.assertEqual(r.header("x-cache"), "HIT")
        self.assertEqual(self.origin.count(t), 1)
        # Modified a second ago: 0.1 s of freshness, gone by the next look.
        t = "/rfc/recent?lm=1"
        self.get(t)
        time.sleep(0.3)
        self.assertEqual(self.get(t).header("x-cache"), "MISS")
        # A status that is not heuristically cacheable gets no heuristic.
        t = "/rfc/302?lm=864000&status=302"
        self.get(t)
        self.assertEqual(self.get(t).header("x-cache"), "MISS")

    def range_target(self, name):
        t = "/rfc/%s?cc=max-age%%3D60&size=100&etag=%s" % (name, name)
        full = self.get(t)
        self.assertEqual((full.status, full.header("x-cache"), len(full.body)), (200, "MISS", 100))
        return t, full.body

    def test_ranges_are_served_from_the_stored_200(self):
        t, body = self.range_target("rng")
        r = self.get(t, [("Range", "bytes=10-19")])
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("x-cache"), "HIT")
        self.assertEqual(r.header("content-range"), "bytes 10-19/100")
        self.assertEqual(r.header("content-length"), "10")
        self.assertEqual(r.body, body[10:20])
        r = self.get(t, [("Range", "bytes=-5")])
        self.assertEqual((r.status, r.body), (206, body[-5:]))
        r = self.get(t, [("Range", "bytes=95-")])
        self.assertEqual((r.status, r.header("content-range")), (206, "bytes 95-99/100"))
        r = self.get(t, [("Range", "bytes=0-1, 98-")])
        self.assertEqual(r.status, 206)
        ct = r.header("content-type")
        self.assertTrue(ct.startswith("multipart/byteranges; boundary="), ct)
        b = ct.split("boundary=", 1)[1].encode()
        self.assertEqual(r.body,
                         b"--" + b + b"\r\ncontent-type: text/plain\r\n"
                         b"content-range: bytes 0-1/100\r\n\r\n" + body[0:2] + b"\r\n"
                         b"--" + b + b"\r\ncontent-type: text/plain\r\n"
                         b"content-range: bytes 98-99/100\r\n\r\n" + body[98:] + b"\r\n"
                         b"--" + b + b"--\r\n")
        # If-Range: the stored strong ETag gets the range; another validator the whole 200.
        r = self.get(t, [("Range", "bytes=0-3"), ("If-Range", '"rng"')])
        self.assertEqual((r.status, r.body), (206, body[0:4]))
        r = self.get(t, [("Range", "bytes=0-3"), ("If-Range", '"older"')])
        self.assertEqual((r.status, r.body), (200, body))
        self.assertEqual(self.origin.count(t), 1)  # every one of them from the cache

    def test_unsatisfiable_range_is_416(self):
        t, _ = self.range_target("r416")
        r = self.get(t, [("Range", "bytes=100-")])
        self.assertEqual(r.status, 416)
        self.assertEqual(r.header("content-range"), "bytes */100")
        self.assertEqual(r.header("x-cache"), "HIT")
        self.assertEqual(self.origin.count(t), 1)

    def test_range_miss_goes_to_the_origin_as_it_is(self):
        t = "/rfc/rmiss?cc=max-age%3D60&size=50"
        r = self.get(t, [("Range", "bytes=0-9")])
        self.assertEqual(r.header("x-cache"), "MISS")
        self.assertEqual([h.get("range") for m, tt, h in self.origin.log if tt == t], ["bytes=0-9"])
        # This origin ignores Range: its 200 is whole, so it was stored and answers the next one.
        r = self.get(t, [("Range", "bytes=0-9")])
        self.assertEqual((r.status, r.header("x-cache"), len(r.body)), (206, "HIT", 10))
        self.assertEqual(self.origin.count(t), 1)

    def test_ranges_with_gzip_in_either_order(self):
        # cache before gzip: the stored variant is compressed; ranges are of the compressed bytes.
        t = "/gz/rng?size=3000&cc=max-age%3D60"
        full = self.get(t, [("Accept-Encoding", "gzip")])
        self.assertEqual(full.header("content-encoding"), "gzip")
        r = self.get(t, [("Accept-Encoding", "gzip"), ("Range", "bytes=0-9")])
        self.assertEqual((r.status, r.header("x-cache")), (206, "HIT"))
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(r.body, full.body[:10])
        self.assertEqual(r.header("content-range"), "bytes 0-9/%d" % len(full.body))
        # gzip before cache: the identity body is stored; a 206 of it passes gzip untouched.
        t = "/gzc/rng?size=3000&cc=max-age%3D60"
        plain = self.get(t)
        r = self.get(t, [("Accept-Encoding", "gzip"), ("Range", "bytes=5-14")])
        self.assertEqual((r.status, r.header("x-cache")), (206, "HIT"))
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.body, plain.body[5:15])
        self.assertEqual(self.origin.count(t), 1)

    def test_expires_beside_an_invalid_date_and_an_invalid_age(self):
        # The Date is garbage: Expires counts from when the response arrived (100 s: fresh).
        t = "/rfc/exp?date=yesterday&expires=100"
        self.get(t)
        self.assertEqual(self.get(t).header("x-cache"), "HIT")
        # An Age with a fraction is invalid and ignored: fresh, not 2 h old.
        t = "/rfc/agef?cc=max-age%3D3600&age=7200.0"
        self.get(t)
        self.assertEqual(self.get(t).header("x-cache"), "HIT")
        # An invalid Expires means already expired.
        t = "/rfc/exp0?lm=864000&expires=junk"
        self.get(t)
        self.assertEqual(self.get(t).header("x-cache"), "MISS")

    def test_cdn_cache_control_goes_ahead_of_cache_control(self):
        t = "/rfc/cdn?cc=no-store&cdn=max-age%3D60"
        r = self.get(t)
        self.assertEqual(r.header("cdn-cache-control"), "max-age=60")  # forwarded
        r = self.get(t)
        self.assertEqual(r.header("x-cache"), "HIT")
        self.assertEqual(r.header("cache-control"), "no-store")
        self.assertEqual(self.origin.count(t), 1)
        t = "/rfc/cdnns?cc=max-age%3D60&cdn=no-store"
        self.get(t)
        self.assertEqual(self.get(t).header("x-cache"), "MISS")

    def test_stale_if_error_origin_gone(self):
        ok = "/doomed/sie?cc=max-age%3D1%2C%20stale-if-error%3D60"
        req = "/doomed/req?cc=max-age%3D1&lm=864000"
        mr = "/doomed/mr?cc=max-age%3D1%2C%20must-revalidate%2C%20stale-if-error%3D60"
        first = {t: self.get(t) for t in (ok, req, mr)}
        self.doomed.close()  # connection refused from now on
        time.sleep(1.2)
        r = self.get(ok)  # the response's own stale-if-error
        self.assertEqual((r.status, r.header("x-cache"), r.body), (200, "STALE", first[ok].body))
        r = self.get(req)  # nobody allowed it
        self.assertIn(r.status, (502, 503))
        self.assertNotEqual(r.header("x-cache"), "STALE")
        r = self.get(req, [("Cache-Control", "stale-if-error=30")])  # the client allows it
        self.assertEqual((r.status, r.header("x-cache"), r.body), (200, "STALE", first[req].body))
        r = self.get(mr, [("Cache-Control", "stale-if-error=30")])  # must-revalidate forbids it
        self.assertIn(r.status, (502, 503))

    def test_stale_if_error_origin_closes_or_times_out(self):
        # The origin reads the request and closes the connection: sluice's own 502 is replaced.
        closed = "/rfc/sie-closed?cc=max-age%3D1&lm=864000"
        slow = "/rfc/sie-slow?cc=max-age%3D1&lm=864000&delay2=2.5"  # response timeout: 2s
        first = {t: self.get(t) for t in (closed, slow)}
        time.sleep(1.2)
        allow = [("Cache-Control", "stale-if-error=30")]
        self.origin.down = True
        try:
            r = self.get(closed, allow)
        finally:
            self.origin.down = False
        self.assertEqual((r.status, r.header("x-cache"), r.body),
                         (200, "STALE", first[closed].body))
        t0 = time.monotonic()
        r = self.get(slow, allow)  # sluice's 504 is replaced
        self.assertEqual((r.status, r.header("x-cache"), r.body), (200, "STALE", first[slow].body))
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)

    def test_metrics_and_access_log(self):
        self.get("/m")
        self.get("/m")
        m = self.sluice.metrics()
        self.assertGreaterEqual(metric_sum(m, "sluice_cache_requests_total", route="main",
                                           result="hit"), 1)
        self.assertGreaterEqual(metric_sum(m, "sluice_cache_requests_total", route="main",
                                           result="miss"), 1)
        time.sleep(0.2)
        with open(self.sluice.access_log_path) as f:
            caches = {json.loads(line).get("cache") for line in f if '"/m"' in line}
        self.assertIn("hit", caches)
        self.assertIn("miss", caches)


if __name__ == "__main__":
    main()
