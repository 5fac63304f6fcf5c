"""Hot reload and graceful stop (spec/operations.md, issue 2 point 9): 100 reloads under load
without a failed request; a bad config keeps the old one serving and is reported; in-flight
requests, keep-alive and WebSocket connections survive a reload; SIGTERM drains."""

import signal
import threading
import time
import unittest

from harness import (Conn, ProtocolError, ProxyTestCase, Sluice, Upstream, http_request, main,
                     make_config, metric_sum, ws_handshake, ws_recv, ws_send)


def reload_config(ports, version, limits=None):
    return make_config(ports, [
        "{name: ws, match: {path_prefix: /ws}, upstream: ws}",
        "{name: slow, match: {path_prefix: /slow}, upstream: slow}",
        "{name: all, match: {path_prefix: /}, upstream: echo, "
        "response_headers: {set: {x-config-version: '%d'}}}" % version,
    ], limits=limits, upstream_opts={"slow": {"timeouts": "{connect: 1s, response: 10s}"}})


class ReloadTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",), "slow": ("slow", "--delay", "1.5"), "ws": ("ws",)}
    version = 1

    @classmethod
    def config(cls, ports):
        cls.ports = ports
        return reload_config(ports, cls.version)

    def next_config(self):
        type(self).version += 1
        return reload_config(self.ports, type(self).version)

    def wait_version(self, version, conn=None, timeout=3.0):
        """Polls until a request sees x-config-version == version; returns the response."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            r = conn.request("GET", "/v") if conn else self.sluice.request("GET", "/v")
            last = r.header("x-config-version")
            if r.status == 200 and last == str(version):
                return r
            time.sleep(0.01)
        self.fail("version %s not served within %.1fs (last seen %r)" % (version, timeout, last))

    def test_100_reloads_under_load(self):
        stop = threading.Event()
        failures = []
        done = [0]
        lock = threading.Lock()

        def load(i):
            c = None
            n = 0
            while not stop.is_set() and n < 20000:
                target = "/load/%d/%d" % (i, n)
                try:
                    if c is None:
                        c = Conn(self.sluice.port, timeout=10)
                    r = c.request("GET", target)
                    if r.status != 200 or r.json()["target"] != target:
                        failures.append((target, r.status, r.body[:200]))
                    if "close" in (r.header("connection") or "").lower() or n % 40 == 39:
                        c.close()
                        c = None
                except (OSError, ProtocolError, ValueError) as e:
                    failures.append((target, repr(e)))
                    if c:
                        c.close()
                    c = None
                n += 1
                with lock:
                    done[0] += 1
            if c:
                c.close()

        threads = [threading.Thread(target=load, args=(i,), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(100):
                cfg = self.next_config()
                if i % 2 == 0:
                    r = self.sluice.reload(cfg, via="http")
                    self.assertEqual(r.status, 200, "reload %d: %r" % (i, r))
                else:
                    self.sluice.reload(cfg, via="signal")
                self.wait_version(self.version)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertEqual(failures[:20], [], "%d failed requests of %d" % (len(failures), done[0]))
        self.assertGreater(done[0], 200, "the load generator barely ran")
        self.assertTrue(self.sluice.alive())
        m = self.sluice.metrics()
        self.assertGreaterEqual(metric_sum(m, "sluice_config_reloads_total", result="success"),
                                100)

    def test_bad_config_keeps_old_one(self):
        good = self.next_config()
        self.assertEqual(self.sluice.reload(good).status, 200)
        self.wait_version(self.version)
        served = self.version
        before = metric_sum(self.sluice.metrics(), "sluice_config_reloads_total",
                            result="failure")
        bad_line = good.count("\n") + 1
        bad = good + "bogus_top_level_key: 1\n"
        r = self.sluice.reload(bad, via="http")
        self.assertEqual(r.status, 400, r)
        self.assertIn("sluice.yaml:%d:1:" % bad_line, r.body.decode(),
                      "the error names file:line:col")
        # a failure answers in JSON like a success does, with the version still served
        self.assertTrue((r.header("content-type") or "").startswith("application/json"), r)
        doc = r.json()
        self.assertEqual(doc["result"], "failure")
        self.assertEqual(doc["version"], int(served))
        self.assertEqual(len(doc["errors"]), 1, doc)
        self.assertRegex(doc["errors"][0], r"sluice\.yaml:%d:1: unknown key" % bad_line)
        self.assertEqual(self.sluice.request("GET", "/v").header("x-config-version"), str(served))
        m = self.sluice.metrics()
        self.assertGreaterEqual(metric_sum(m, "sluice_config_reloads_total", result="failure"),
                                before + 1)
        self.assertGreaterEqual(metric_sum(m, "sluice_config_reloads_total", result="failure"), 1)
        # the same by SIGHUP: still running, still the old config, failure counted and logged
        self.sluice.reload(bad, via="signal")
        self.assertTrue(self.sluice.alive())
        self.assertEqual(self.sluice.request("GET", "/v").header("x-config-version"), str(served))
        self.assertGreaterEqual(
            metric_sum(self.sluice.metrics(), "sluice_config_reloads_total", result="failure"),
            before + 2)
        deadline = time.time() + 3
        while ("sluice.yaml:%d" % bad_line) not in self.sluice.stderr_text():
            self.assertLess(time.time(), deadline, "the failed SIGHUP reload is not logged")
            time.sleep(0.05)
        # a semantically bad config (route to an unknown upstream) is refused the same way
        bad2 = good.replace("upstream: echo,", "upstream: nosuchupstream,")
        r = self.sluice.reload(bad2, via="http")
        self.assertEqual(r.status, 400, r)
        self.assertEqual(self.sluice.request("GET", "/v").header("x-config-version"), str(served))
        # and a good one afterwards works again
        self.assertEqual(self.sluice.reload(self.next_config()).status, 200)
        self.wait_version(self.version)

    def test_failed_reload_reports_every_error_on_its_own_line(self):
        good = self.next_config()
        self.assertEqual(self.sluice.reload(good).status, 200)
        served = self.sluice.admin("GET", "/config").json()["version"]
        lines = good.count("\n")
        bad = good + "bogus_one: 1\nbogus_two: 2\n"
        r = self.sluice.reload(bad)
        self.assertEqual(r.status, 400, r)
        doc = r.json()
        self.assertEqual(doc["result"], "failure")
        self.assertEqual(doc["version"], served)
        self.assertEqual(len(doc["errors"]), 2, doc)
        self.assertRegex(doc["errors"][0], r"sluice\.yaml:%d:1: unknown key \"bogus_one\"" % (lines + 1))
        self.assertRegex(doc["errors"][1], r"sluice\.yaml:%d:1: unknown key \"bogus_two\"" % (lines + 2))
        before = self.sluice.stderr_text()
        self.sluice.reload(bad, via="signal")
        # SIGHUP logs them: every stderr line has a level, each error is its own error line
        deadline = time.time() + 3
        while "bogus_two" not in self.sluice.stderr_text()[len(before):]:
            self.assertLess(time.time(), deadline, "the failed SIGHUP reload is not logged")
            time.sleep(0.05)
        new = self.sluice.stderr_text()[len(before):]
        for line in new.split("\n")[:-1]:
            self.assertRegex(line, r"^<\d>\w+: \S", "a log line without a level: %r" % line)
        for name in ("bogus_one", "bogus_two"):
            self.assertEqual(len([l for l in new.splitlines()
                                  if l.startswith("<3>error: ") and name in l]), 1, new)
        self.assertIn("still serving version %d" % served, new)

    def test_keepalive_connection_survives_reload(self):
        c = self.conn()
        self.assertEqual(c.request("GET", "/before").status, 200)
        self.assertEqual(self.sluice.reload(self.next_config()).status, 200)
        r = self.wait_version(self.version, conn=c)
        self.assertEqual(r.status, 200)

    def test_in_flight_request_survives_reload(self):
        result = {}

        def slow():
            try:
                result["r"] = self.sluice.request("GET", "/slow/inflight", timeout=15)
            except Exception as e:  # reported below
                result["e"] = e

        mark = self.up["slow"].mark()
        t = threading.Thread(target=slow)
        t.start()
        deadline = time.time() + 5
        while not self.up["slow"].requests_since(mark) and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.sluice.reload(self.next_config()).status, 200)
        t.join(15)
        self.assertNotIn("e", result)
        self.assertEqual(result["r"].status, 200)
        self.assertEqual(result["r"].json()["target"], "/slow/inflight")

    def test_websocket_survives_reload(self):
        c = self.conn()
        key, r = ws_handshake(c, "/ws/reload")
        self.assertEqual(r.status, 101)
        ws_send(c, 0x1, b"before reload")
        self.assertEqual(ws_recv(c)[3], b"before reload")
        self.assertEqual(self.sluice.reload(self.next_config()).status, 200)
        self.wait_version(self.version)
        self.sluice.reload(self.next_config(), via="signal")
        self.wait_version(self.version)
        for i in range(5):
            ws_send(c, 0x1, b"after reload %d" % i)
            self.assertEqual(ws_recv(c)[3], b"after reload %d" % i)
        ws_send(c, 0x8, (1000).to_bytes(2, "big"))
        self.assertEqual(ws_recv(c)[1], 0x8)


def established_to(port):
    """Established TCP connections whose remote port is `port` (IPv4, /proc/net/tcp)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].split(":")[1], 16) == port:
                n += 1
    return n


class RemovedUpstreamTest(unittest.TestCase):
    def test_idle_connections_of_a_removed_upstream_close_at_reload(self):
        a, b = Upstream("echo").start(), Upstream("echo").start()
        self.addCleanup(a.stop)
        self.addCleanup(b.stop)
        both = make_config({"a": a.port, "b": b.port}, [
            "{name: b, match: {path_prefix: /b}, upstream: b}",
            "{name: a, match: {path_prefix: /}, upstream: a}"], workers=1)
        only_a = make_config({"a": a.port}, ["{name: a, match: {path_prefix: /}, upstream: a}"],
                             workers=1)
        with Sluice(both) as s:
            for i in range(3):
                self.assertEqual(s.request("GET", "/b/%d" % i).status, 200)
            self.assertGreater(established_to(b.port), 0, "a pooled connection to b")
            self.assertEqual(s.reload(only_a).status, 200)
            deadline = time.time() + 3
            while established_to(b.port) > 0 and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(established_to(b.port), 0, "b's idle connections outlived its removal")
            self.assertEqual(s.request("GET", "/b/after").status, 200)  # now routed to a


class DrainTest(ProxyTestCase):
    """Graceful stop. Each test starts its own sluice (SIGTERM ends it)."""
    UPSTREAMS = {"echo": ("echo",), "slow": ("slow", "--delay", "2"), "ws": ("ws",),
                 "silent": ("silent",)}

    @classmethod
    def setUpClass(cls):
        cls.up = {}
        cls.sluice = None
        try:
            for name, spec in cls.UPSTREAMS.items():
                cls.up[name] = Upstream(spec[0], *spec[1:]).start()
        except BaseException:
            cls._teardown()
            raise

    def start(self, drain="10s"):
        ports = {n: u.port for n, u in self.up.items() if n != "silent"}
        cfg = reload_config(ports, 1, limits={"drain_timeout": drain})
        cfg = cfg.replace("routes:\n", "routes:\n  - {name: silent, match: {path_prefix: /silent}"
                          ", upstream: silent}\n")
        cfg = cfg.replace("upstreams:\n", "upstreams:\n  - {name: silent, targets: [{address: "
                          "127.0.0.1:%d}], timeouts: {connect: 1s, response: 30s}}\n"
                          % self.up["silent"].port)
        s = Sluice(cfg)
        s.start()
        self.addCleanup(s.__exit__, None, None, None)
        return s

    def background_get(self, s, target):
        result = {}

        def run():
            try:
                result["r"] = http_request(s.port, "GET", target, timeout=30)
            except Exception as e:
                result["e"] = e

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t, result

    def wait_upstream_got(self, name, mark):
        deadline = time.time() + 5
        while not self.up[name].requests_since(mark):
            self.assertLess(time.time(), deadline, "request never reached the upstream")
            time.sleep(0.02)

    def test_sigterm_drains_in_flight_request(self):
        s = self.start()
        mark = self.up["slow"].mark()
        t, result = self.background_get(s, "/slow/drain")
        self.wait_upstream_got("slow", mark)
        t0 = time.time()
        s.signal(signal.SIGTERM)
        saw_503 = False
        while t.is_alive() and time.time() - t0 < 1.5:
            try:
                if s.admin("GET", "/readyz", timeout=1).status == 503:
                    saw_503 = True
                    break
            except (OSError, ProtocolError):
                pass
            time.sleep(0.05)
        t.join(15)
        self.assertNotIn("e", result)
        self.assertEqual(result["r"].status, 200)
        self.assertEqual(result["r"].json()["target"], "/slow/drain")
        self.assertEqual(s.wait(15), 0, "graceful stop exits 0")
        self.assertTrue(saw_503, "/readyz must answer 503 while draining")

    def test_sigterm_does_not_wait_for_idle_keepalive(self):
        s = self.start(drain="20s")
        c = Conn(s.port)
        self.addCleanup(c.close)
        self.assertEqual(c.request("GET", "/idle").status, 200)
        t0 = time.time()
        s.signal(signal.SIGTERM)
        self.assertEqual(s.wait(15), 0)
        self.assertLess(time.time() - t0, 5.0, "an idle keep-alive connection held up the stop")
        self.assertTrue(c.is_closed(2.0))

    def test_drain_timeout_bounds_the_stop(self):
        s = self.start(drain="1s")
        mark = self.up["silent"].mark()
        t, result = self.background_get(s, "/silent/forever")
        self.wait_upstream_got("silent", mark)
        t0 = time.time()
        s.signal(signal.SIGTERM)
        self.assertEqual(s.wait(15), 0)
        took = time.time() - t0
        self.assertGreaterEqual(took, 0.9, "stopped before drain_timeout")
        self.assertLess(took, 5.0, "drain_timeout: 1s not enforced")
        t.join(5)

    def test_new_connections_refused_while_draining(self):
        s = self.start()
        mark = self.up["slow"].mark()
        t, result = self.background_get(s, "/slow/drain2")
        self.wait_upstream_got("slow", mark)
        s.signal(signal.SIGTERM)
        time.sleep(0.3)
        try:
            r = http_request(s.port, "GET", "/new", timeout=5)
            self.fail("a new connection was served while draining: %r" % r)
        except (OSError, ProtocolError):
            pass
        t.join(15)
        self.assertEqual(result["r"].status, 200)
        self.assertEqual(s.wait(15), 0)


if __name__ == "__main__":
    main()
