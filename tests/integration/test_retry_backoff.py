"""Retry back-off end to end (issue 16, item 7): between tries sluice waits a random time in
[0, min(max, base x 2^(n-1))] on a timer; a 503's or 429's Retry-After is waited instead when it
fits the deadline (or the response timeout without one), and passed on to the client when it does
not; a client that resets its connection during the wait takes the retry with it.

Two real upstream processes: `bad` (echo: answers the status and fields the query asks for) and
`good` (slow with no delay: always 200). The upstream logs' arrival times give the wait."""

import email.utils
import itertools
import socket
import struct
import time
import urllib.parse

from harness import Conn, ProxyTestCase, main, make_config, sluice_binary


def asan_build():
    try:
        with open(sluice_binary(), "rb") as f:
            import mmap
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                return m.find(b"__asan_init") >= 0
    except (OSError, ValueError):
        return False


# What a wait may overrun by: the 503's way back, the timer, the connect to `good`.
SLACK = 0.15 if asan_build() else 0.08
IDS = itertools.count(1)

RETRIES = {
    # jitter: base 100ms, so the first retry waits at most 100ms (max 400ms is never reached).
    "jitter": "{attempts: 1, on: [503], backoff: {base: 100ms, max: 400ms}}",
    "honour": "{attempts: 1, on: [503, 429], deadline: 4s, backoff: {base: 10ms, max: 20ms}}",
    "short": "{attempts: 1, on: [503], deadline: 1s, backoff: {base: 10ms, max: 20ms}}",
    # no deadline: the response timeout (2s in make_config) bounds a Retry-After.
    "nodeadline": "{attempts: 1, on: [503], backoff: {base: 10ms, max: 20ms}}",
}


class RetryBackoffTest(ProxyTestCase):
    UPSTREAMS = {"bad": ("echo",), "good": ("slow", "--delay", "0")}

    @classmethod
    def config(cls, ports):
        both = [ports["bad"], ports["good"]]
        routes = ["{name: %s, match: {path_prefix: /%s/}, upstream: %s}" % (n, n, n)
                  for n in RETRIES]
        return make_config({n: both for n in RETRIES}, routes, workers=1,
                           upstream_opts={n: {"retries": r} for n, r in RETRIES.items()})

    def arrivals(self, name, rid):
        """Arrival times at upstream `name` of the request tagged `rid`."""
        tag = "id=%d&" % rid
        return [e["time"] for e in self.up[name].requests() if tag in e["target"]]

    def retried(self, route, query, attempts=4):
        """Sends GET /route/x?id=N&query until one reached `bad` first (round robin may start at
        `good`, which answers at once). Returns (response, seconds taken, times at bad, at good)."""
        for _ in range(attempts):
            rid = next(IDS)
            t0 = time.time()
            r = self.sluice.request("GET", "/%s/x?id=%d&%s" % (route, rid, query), timeout=15)
            took = time.time() - t0
            bad = self.arrivals("bad", rid)
            if bad:
                return r, took, bad, self.arrivals("good", rid)
        self.fail("no request of %s reached the failing target first" % route)

    def test_jitter_stays_within_the_first_cap(self):
        gaps = []
        for _ in range(14):
            r, _, bad, good = self.retried("jitter", "status=503")
            self.assertEqual(r.status, 200, r)
            self.assertEqual((len(bad), len(good)), (1, 1))
            gaps.append(good[0] - bad[0])
        for g in gaps:
            self.assertGreaterEqual(g, 0)
            self.assertLessEqual(g, 0.100 + SLACK, "first retry waited past base: %r" % gaps)
        # Full jitter spreads the waits over [0, 100ms]; without a back-off all are ~1 ms.
        self.assertGreater(max(gaps), 0.03, gaps)
        self.assertGreater(max(gaps) - min(gaps), 0.02, gaps)

    def test_retry_after_seconds_is_honoured(self):
        r, took, bad, good = self.retried("honour", "status=503&h=Retry-After:1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(good), 1)
        gap = good[0] - bad[0]
        self.assertGreaterEqual(gap, 0.95)
        self.assertLessEqual(gap, 1.0 + SLACK + 0.1)

    def test_retry_after_of_a_429_is_honoured(self):
        r, _, bad, good = self.retried("honour", "status=429&h=Retry-After:1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(good), 1)
        self.assertGreaterEqual(good[0] - bad[0], 0.95)

    def test_retry_after_http_date_is_honoured(self):
        when = email.utils.formatdate(time.time() + 2, usegmt=True)  # whole seconds: 1-2 s away
        r, _, bad, good = self.retried("honour", "status=503&h=" + urllib.parse.quote("Retry-After:" + when))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(good), 1)
        gap = good[0] - bad[0]
        self.assertGreaterEqual(gap, 0.9)
        self.assertLessEqual(gap, 2.0 + SLACK + 0.1)

    def test_retry_after_past_the_deadline_is_passed_on(self):
        r, took, bad, good = self.retried("short", "status=503&h=Retry-After:2")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.header("retry-after"), "2")
        self.assertEqual(good, [], "retried although Retry-After does not fit the deadline")
        self.assertLess(took, 0.8, "waited instead of passing the 503 on")

    def test_retry_after_past_the_response_timeout_is_passed_on(self):
        r, took, _, good = self.retried("nodeadline", "status=503&h=Retry-After:3")
        self.assertEqual(r.status, 503)
        self.assertEqual(good, [])
        self.assertLess(took, 0.8)
        # One that fits the 2s response timeout is waited.
        r, _, bad, good = self.retried("nodeadline", "status=503&h=Retry-After:1")
        self.assertEqual(r.status, 200)
        self.assertGreaterEqual(good[0] - bad[0], 0.95)

    def test_client_reset_during_the_wait_cancels_the_retry(self):
        for _ in range(4):
            rid = next(IDS)
            c = Conn(self.sluice.port)
            c.send("GET /honour/x?id=%d&status=503&h=Retry-After:1 HTTP/1.1\r\n"
                   "Host: test.local\r\n\r\n" % rid)
            deadline = time.time() + 2
            while time.time() < deadline and not self.arrivals("bad", rid) \
                    and not self.arrivals("good", rid):
                time.sleep(0.01)
            if self.arrivals("good", rid):  # round robin started at `good`: answered at once
                c.close()
                continue
            self.assertTrue(self.arrivals("bad", rid))
            time.sleep(0.1)  # the 503 is back: sluice is waiting out Retry-After
            # A reset (SO_LINGER 0), not a half-close: the client cannot take an answer.
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            c.close()
            time.sleep(1.5)
            self.assertEqual(self.arrivals("good", rid), [],
                             "the retry was made for a client that had gone")
            # sluice is fine (the harness checks stderr for sanitizer reports at the end).
            r = self.sluice.request("GET", "/honour/x?id=%d&status=200" % next(IDS))
            self.assertEqual(r.status, 200)
            return
        self.fail("no request reached the failing target first")


if __name__ == "__main__":
    main()
