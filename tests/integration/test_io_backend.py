"""The socket I/O backend (`io:`, README "Socket I/O backend"): io_uring when the kernel allows
it, libuv's epoll otherwise or when configured; one log line at start says which and why, and
traffic (keep-alive, bodies both ways, pipelining, Connection: close) works on either. A refused
io_uring (forced here with SLUICE_IO_URING_PROBE_FAIL) falls back to epoll."""

import os
import tempfile
import unittest

from harness import (Conn, Sluice, Upstream, assert_no_sanitizer, build_request, main,
                     make_config, pattern_sha256, run_sluice)

WORKERS = 2


def rings(pid):
    """io_uring instances the process holds (one per worker on the uring backend)."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:[io_uring]":
                n += 1
        except OSError:
            pass
    return n


class IoBackendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.echo = Upstream("echo").start()
        cls.big = Upstream("big").start()

    @classmethod
    def tearDownClass(cls):
        cls.echo.stop()
        cls.big.stop()

    def start(self, io, env=None):
        cfg = make_config({"echo": self.echo.port, "big": self.big.port}, [
            "{name: big, match: {path_prefix: /big}, upstream: big}",
            "{name: all, match: {path_prefix: /}, upstream: echo}",
        ], workers=WORKERS, extra="io: %s" % io if io else "")
        s = Sluice(cfg, env=env or {}).start()
        self.addCleanup(s.__exit__, None, None, None)
        return s

    def serves(self, s):
        c = Conn(s.port)
        self.addCleanup(c.close)
        for i in range(20):
            r = c.request("GET", "/seq/%d" % i)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["target"], "/seq/%d" % i)
        r = c.request("POST", "/post", body=b"x" * 300000)
        self.assertEqual(r.json()["body_len"], 300000)
        r = c.request("GET", "/big?size=3000000&te=chunked")
        self.assertEqual(r.body_len, 3000000)
        self.assertEqual(r.sha256, pattern_sha256(3000000))
        c.send(build_request("GET", "/p/1") + build_request("GET", "/p/2"))
        self.assertEqual(c.read_response().json()["target"], "/p/1")
        self.assertEqual(c.read_response().json()["target"], "/p/2")
        r = c.request("GET", "/last", headers=[("Connection", "close")])
        self.assertEqual(r.status, 200)
        self.assertTrue(c.is_closed(2.0))

    def test_large_responses_reuse_the_upstream_connection(self):
        # Every relayed chunk is queued until the loop's submit on io_uring, so the relay pauses
        # the upstream read each time; a response that ends while paused still goes back to the
        # pool (it once did not: a new upstream connection per large response).
        for io in ("uring", "epoll"):
            with self.subTest(io=io):
                s = self.start(io)
                mark = len(self.big.entries())
                c = Conn(s.port)
                self.addCleanup(c.close)
                for i in range(4):
                    r = c.request("GET", "/big/%d?size=1000000" % i)
                    self.assertEqual(r.sha256, pattern_sha256(1000000))
                reqs = self.big.requests_since(mark)
                self.assertEqual([r["target"] for r in reqs],
                                 ["/big/%d?size=1000000" % i for i in range(4)])
                self.assertEqual(len({r["conn"] for r in reqs}), 1, reqs)

    def log_lines(self, s):
        return [l for l in s.stderr_text().splitlines() if "io: " in l and "(" in l]

    def test_auto_uses_io_uring_when_the_kernel_allows_it(self):
        s = self.start("auto")
        self.assertEqual(self.log_lines(s),
                         ["<6>info: io: uring (auto: io_uring with multishot recv available)"])
        self.assertEqual(rings(s.proc.pid), WORKERS)
        self.serves(s)
        assert_no_sanitizer(self, s.stderr_text())

    def test_refused_io_uring_falls_back_to_epoll_and_says_why(self):
        s = self.start("uring", env={"SLUICE_IO_URING_PROBE_FAIL": "1"})
        self.assertEqual(self.log_lines(s), [
            "<4>warning: io: epoll (io: uring configured, but io_uring is unavailable: "
            "io_uring disabled by SLUICE_IO_URING_PROBE_FAIL)"])
        self.assertEqual(rings(s.proc.pid), 0)
        self.serves(s)

    def test_auto_falls_back_too(self):
        s = self.start("auto", env={"SLUICE_IO_URING_PROBE_FAIL": "1"})
        self.assertEqual(self.log_lines(s), [
            "<6>info: io: epoll (auto: io_uring unavailable: "
            "io_uring disabled by SLUICE_IO_URING_PROBE_FAIL)"])
        self.assertEqual(rings(s.proc.pid), 0)
        self.serves(s)

    def test_epoll_when_configured(self):
        s = self.start("epoll")
        self.assertEqual(self.log_lines(s), ["<6>info: io: epoll (configured, the default)"])
        self.assertEqual(rings(s.proc.pid), 0)
        self.serves(s)

    @unittest.skipIf(os.environ.get("SLUICE_IO"), "SLUICE_IO sets io: for every config")
    def test_epoll_is_the_default(self):
        s = self.start(None)
        self.assertEqual(self.log_lines(s), ["<6>info: io: epoll (configured, the default)"])
        self.assertEqual(rings(s.proc.pid), 0)
        self.serves(s)

    def test_uring_when_configured(self):
        s = self.start("uring")
        self.assertEqual(self.log_lines(s), ["<6>info: io: uring (configured)"])
        self.assertEqual(rings(s.proc.pid), WORKERS)
        self.serves(s)
        assert_no_sanitizer(self, s.stderr_text())

    def test_check_rejects_an_unknown_backend(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "sluice.yaml")
            with open(path, "w") as f:
                f.write(make_config({"echo": 1}, ["{name: all, upstream: echo}"],
                                    extra="io: kqueue").replace("$ADMIN", "0")
                        .replace("$PORT", "0").replace("$DIR", d))
            r = run_sluice(["-t", "-c", path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("io: expected auto, uring or epoll, got", r.stderr)


if __name__ == "__main__":
    main()
