"""Request mirroring that compares (issue 16 item 3; gateway.md "Routing"): a route's
`mirror: {upstream, percent, compare, max_in_flight}` sends a copy of each selected request (the
head as sent upstream, the body when whole and at most 64 KiB) to another upstream, one try, and
the client never waits for it. With compare: true, sluice_mirror_requests_total{route, result}
counts match / status_mismatch / body_mismatch / error (and primary_incomplete); without, sent /
error. sluice_mirror_dropped_total{route, reason} counts copies not sent (body_too_large,
max_in_flight). A slow or dead mirror target costs the client nothing. One HTTP/2 (h2c prior
knowledge) request is mirrored too. Real upstream processes (upstreams.py); one worker, so the
per-worker in-flight bound is exact. Needs curl with HTTP/2."""

import hashlib
import socket
import subprocess
import time

from harness import (ProxyTestCase, build_request, chunked, free_port, main, make_config,
                     metric_sum)

MIRRORED = "sluice_mirror_requests_total"
DROPPED = "sluice_mirror_dropped_total"


class MirrorTest(ProxyTestCase):
    UPSTREAMS = {
        "primary": ("big",),             # a deterministic body of ?size= bytes
        "twin": ("big",),                # the same answers: a compared mirror matches
        "echo": ("echo",),               # logs what the mirror received; answers JSON
        "statusup": ("status",),         # /status/N answers N
        "slow": ("slow", "--delay", "2"),
        "tally": ("echo",),              # counts the copies of the percent route
        "garbage": ("garbage",),         # a primary whose response breaks off
        "plain": ("echo",),              # a route without a mirror, for latency
    }

    @classmethod
    def config(cls, ports):
        cls.dead_port = free_port()
        ups = dict(ports)
        ups["dead"] = cls.dead_port
        routes = [
            "{name: same, match: {path_prefix: /same/}, upstream: primary, "
            "mirror: {upstream: twin, compare: true}}",
            "{name: copy, match: {path_prefix: /copy/}, upstream: primary, "
            "mirror: {upstream: echo, compare: true}}",
            "{name: status, match: {path_prefix: /status/}, upstream: primary, "
            "mirror: {upstream: statusup, compare: true}}",
            "{name: dead, match: {path_prefix: /dead/}, upstream: primary, "
            "mirror: {upstream: dead, compare: true}}",
            "{name: deadnc, match: {path_prefix: /deadnc/}, upstream: primary, "
            "mirror: {upstream: dead}}",
            "{name: slow, match: {path_prefix: /slow/}, upstream: primary, "
            "mirror: {upstream: slow, compare: true, max_in_flight: 2}}",
            "{name: half, match: {path_prefix: /half/}, upstream: primary, "
            "mirror: {upstream: tally, percent: 50}}",
            "{name: cut, match: {path_prefix: /cut/}, upstream: garbage, "
            "mirror: {upstream: twin, compare: true}}",
            "{name: plain, match: {path_prefix: /plain/}, upstream: plain}",
        ]
        text = make_config(ups, routes, workers=1, upstream_opts={
            "slow": {"timeouts": "{connect: 1s, response: 5s}"}})
        return text.replace("listeners: [{name: main, address: 127.0.0.1:$PORT}]",
                            "listeners: [{name: main, address: 127.0.0.1:$PORT, "
                            "http2: {h2c: true}}]")

    # ---- helpers ------------------------------------------------------------------------------

    def count(self, name, **labels):
        return metric_sum(self.sluice.metrics(), name, **labels)

    def wait_count(self, name, want, timeout=6.0, **labels):
        """Waits until the series reaches `want` (mirrors finish after the client's answer),
        then returns its value a moment later, so an over-count shows too."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.count(name, **labels) >= want:
                break
            time.sleep(0.02)
        time.sleep(0.1)
        return self.count(name, **labels)

    def wait_requests(self, up, mark, n, timeout=6.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = up.requests_since(mark)
            if len(got) >= n:
                return got
            time.sleep(0.02)
        return up.requests_since(mark)

    # ---- the copy -----------------------------------------------------------------------------

    def test_mirror_receives_the_request_as_sent_upstream_with_its_body(self):
        echo = self.up["echo"]
        mark = echo.mark()
        body = bytes((i * 7) & 0xFF for i in range(5000))
        r = self.sluice.request("POST", "/copy/doc?size=100", headers={"X-Test": "one"},
                                body=body)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body_len, 100)  # the primary's answer, untouched
        seen = self.wait_requests(echo, mark, 1)
        self.assertEqual(len(seen), 1, seen)
        m = seen[0]
        self.assertEqual((m["method"], m["target"]), ("POST", "/copy/doc?size=100"))
        self.assertTrue(m["complete"])
        self.assertEqual(m["body_len"], 5000)
        self.assertEqual(m["body_sha256"], hashlib.sha256(body).hexdigest())
        h = {k.lower(): v for k, v in m["headers"]}
        self.assertEqual(h["x-test"], "one")
        self.assertEqual(h["host"], "test.local")
        self.assertEqual(h["x-forwarded-for"], "127.0.0.1")  # the proxy fields, as upstream
        self.assertEqual(h["x-request-id"], r.header("x-request-id"))
        # The primary saw the same request.
        p = [e for e in self.up["primary"].requests() if e["target"] == "/copy/doc?size=100"]
        self.assertEqual(p[-1]["body_sha256"], m["body_sha256"])

    def test_a_chunked_body_is_mirrored_whole_with_a_length(self):
        echo = self.up["echo"]
        mark = echo.mark()
        body = b"z" * 3000
        with self.conn() as c:
            c.send(build_request("POST", "/copy/chunked?size=10",
                                 {"Transfer-Encoding": "chunked"}) + chunked(body, 1000))
            r = c.read_response("POST")
        self.assertEqual(r.status, 200)
        seen = self.wait_requests(echo, mark, 1)
        self.assertEqual(len(seen), 1, seen)
        self.assertEqual(seen[0]["body_len"], 3000)
        h = {k.lower(): v for k, v in seen[0]["headers"]}
        self.assertEqual(h.get("content-length"), "3000")
        self.assertNotIn("transfer-encoding", h)

    def test_a_body_over_64_kib_is_not_mirrored_and_is_counted(self):
        echo = self.up["echo"]
        dropped = self.count(DROPPED, route="copy", reason="body_too_large")
        # 64 KiB exactly is still mirrored.
        mark = echo.mark()
        r = self.sluice.request("POST", "/copy/edge?size=10", body=b"e" * 65536)
        self.assertEqual(r.status, 200)
        seen = self.wait_requests(echo, mark, 1)
        self.assertEqual([e["body_len"] for e in seen], [65536])
        mark = echo.mark()
        r = self.sluice.request("POST", "/copy/large?size=10", body=b"L" * (100 * 1024))
        self.assertEqual(r.status, 200)
        self.assertEqual(self.wait_count(DROPPED, dropped + 1, route="copy",
                                         reason="body_too_large"), dropped + 1)
        time.sleep(0.2)
        self.assertEqual(echo.requests_since(mark), [])
        # The primary got all of it.
        p = [e for e in self.up["primary"].requests() if e["target"] == "/copy/large?size=10"]
        self.assertEqual(p[-1]["body_len"], 100 * 1024)

    def test_percent_is_roughly_respected(self):
        tally = self.up["tally"]
        mark = tally.mark()
        sent = self.count(MIRRORED, route="half", result="sent")
        n = 200
        with self.conn() as c:
            for i in range(n):
                r = c.request("GET", "/half/%d?size=1" % i)
                self.assertEqual(r.status, 200)
        time.sleep(0.3)
        got = len(self.wait_requests(tally, mark, n, timeout=1.0))
        # Binomial(200, 0.5): 100 +- 7 (one sd); 60..140 is more than 5 sd either way.
        self.assertGreater(got, 60)
        self.assertLess(got, 140)
        self.assertEqual(self.wait_count(MIRRORED, sent + got, route="half", result="sent"),
                         sent + got)
        self.assertEqual(self.count(MIRRORED, route="half", result="error"), 0)

    # ---- compare ------------------------------------------------------------------------------

    def test_compare_counts_a_match(self):
        before = self.count(MIRRORED, route="same", result="match")
        for size in (0, 1, 5000, 200000):  # bodies of any size compare (only requests are bound)
            r = self.sluice.request("GET", "/same/x?size=%d" % size)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body_len, size)
        self.assertEqual(self.wait_count(MIRRORED, before + 4, route="same", result="match"),
                         before + 4)
        for result in ("status_mismatch", "body_mismatch", "error", "primary_incomplete"):
            self.assertEqual(self.count(MIRRORED, route="same", result=result), 0, result)

    def test_compare_counts_a_body_mismatch(self):
        before = self.count(MIRRORED, route="copy", result="body_mismatch")
        r = self.sluice.request("GET", "/copy/x?size=10")  # big's bytes vs echo's JSON, both 200
        self.assertEqual(r.status, 200)
        self.assertEqual(self.wait_count(MIRRORED, before + 1, route="copy",
                                         result="body_mismatch"), before + 1)
        self.assertEqual(self.count(MIRRORED, route="copy", result="match"), 0)

    def test_compare_counts_a_status_mismatch(self):
        before = self.count(MIRRORED, route="status", result="status_mismatch")
        r = self.sluice.request("GET", "/status/503?size=10")  # primary 200, mirror 503
        self.assertEqual(r.status, 200)
        self.assertEqual(self.wait_count(MIRRORED, before + 1, route="status",
                                         result="status_mismatch"), before + 1)
        # Same class (a 2xx either way, bodies differ): not a status mismatch.
        before_body = self.count(MIRRORED, route="status", result="body_mismatch")
        r = self.sluice.request("GET", "/status/201?size=10")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.wait_count(MIRRORED, before_body + 1, route="status",
                                         result="body_mismatch"), before_body + 1)
        self.assertEqual(self.count(MIRRORED, route="status", result="status_mismatch"),
                         before + 1)

    def test_a_dead_mirror_is_an_error_and_costs_the_client_nothing(self):
        before = self.count(MIRRORED, route="dead", result="error")
        before_nc = self.count(MIRRORED, route="deadnc", result="error")
        for _ in range(3):
            t = time.monotonic()
            r = self.sluice.request("GET", "/dead/x?size=10")
            self.assertLess(time.monotonic() - t, 1.0)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body_len, 10)
        r = self.sluice.request("GET", "/deadnc/x?size=10")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.wait_count(MIRRORED, before + 3, route="dead", result="error"),
                         before + 3)
        self.assertEqual(self.wait_count(MIRRORED, before_nc + 1, route="deadnc",
                                         result="error"), before_nc + 1)
        self.assertEqual(self.count(MIRRORED, route="deadnc", result="sent"), 0)

    def test_a_broken_primary_response_is_not_compared(self):
        before = self.count(MIRRORED, route="cut", result="primary_incomplete")
        with socket.create_connection(("127.0.0.1", self.sluice.port), timeout=5) as s:
            s.sendall(build_request("GET", "/cut/x?kind=truncated&size=10"))
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
        self.assertEqual(self.wait_count(MIRRORED, before + 1, route="cut",
                                         result="primary_incomplete"), before + 1)
        for result in ("match", "status_mismatch", "body_mismatch"):
            self.assertEqual(self.count(MIRRORED, route="cut", result=result), 0, result)

    # ---- a slow mirror: latency and the in-flight bound ---------------------------------------

    def test_a_slow_mirror_costs_the_client_nothing_and_the_excess_is_dropped(self):
        slow = self.up["slow"]
        mark = slow.mark()
        dropped = self.count(DROPPED, route="slow", reason="max_in_flight")
        compared = sum(self.count(MIRRORED, route="slow", result=r)
                       for r in ("match", "status_mismatch", "body_mismatch", "error"))
        # The primary's own latency, without a mirror.
        plain = []
        for _ in range(3):
            t = time.monotonic()
            self.assertEqual(self.sluice.request("GET", "/plain/x").status, 200)
            plain.append(time.monotonic() - t)
        took = []
        t0 = time.monotonic()
        with self.conn() as c:
            for i in range(5):
                t = time.monotonic()
                r = c.request("GET", "/slow/%d?size=10" % i)
                took.append(time.monotonic() - t)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body_len, 10)
        total = time.monotonic() - t0
        # The mirror sleeps 2 s on each copy: a client that waited for it would take that long.
        # (Generous bounds: the primary alone answers in milliseconds, see `plain`.)
        self.assertLess(max(took), 1.0, (took, plain))
        self.assertLess(total, 1.9, (took, plain))
        # Two copies in flight at most (max_in_flight: 2, one worker): three dropped.
        self.assertEqual(self.count(DROPPED, route="slow", reason="max_in_flight"), dropped + 3)
        deadline = time.time() + 1.5
        while True:
            heads = [e for e in slow.entries_since(mark) if e.get("event") == "head"]
            if len(heads) >= 2 or time.time() > deadline:
                break
            time.sleep(0.02)
        self.assertEqual(len(heads), 2, heads)
        # The two finish later and are compared (big's bytes vs echo's JSON).
        self.assertEqual(self.wait_count(MIRRORED, compared + 2, timeout=6.0, route="slow",
                                         result="body_mismatch"), compared + 2)
        # With the slots free again, a copy goes out.
        mark = slow.mark()
        self.assertEqual(self.sluice.request("GET", "/slow/again?size=10").status, 200)
        self.assertEqual(len(self.wait_requests(slow, mark, 1)), 1)

    # ---- HTTP/2 -------------------------------------------------------------------------------

    def test_an_http2_request_is_mirrored(self):
        echo = self.up["echo"]
        mark = echo.mark()
        body = b"h2 body " * 100
        p = subprocess.run(
            ["curl", "-s", "--max-time", "10", "--http2-prior-knowledge", "-o", "/dev/null",
             "-w", "%{http_version} %{http_code} %{size_download}", "--data-binary", "@-",
             "http://127.0.0.1:%d/copy/h2?size=10" % self.sluice.port],
            input=body, capture_output=True, timeout=20)
        self.assertEqual(p.stdout.decode(), "2 200 10", p.stderr)
        seen = self.wait_requests(echo, mark, 1)
        self.assertEqual(len(seen), 1, seen)
        self.assertEqual((seen[0]["method"], seen[0]["target"]), ("POST", "/copy/h2?size=10"))
        self.assertEqual(seen[0]["body_sha256"], hashlib.sha256(body).hexdigest())
        h = {k.lower(): v for k, v in seen[0]["headers"]}
        self.assertEqual(h["via"], "2 sluice")
        self.assertEqual(h["host"], "127.0.0.1:%d" % self.sluice.port)

    def test_metrics_are_declared(self):
        text = self.sluice.metrics()
        self.assertIn("# TYPE %s counter" % MIRRORED, text)
        self.assertIn("# TYPE %s counter" % DROPPED, text)


if __name__ == "__main__":
    main()
