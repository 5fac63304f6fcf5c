"""The admin listener's runtime API (issue 16, item 9): drain, enable and weight a target of an
upstream while clients keep sending, and GET /upstreams showing what is in force; a reload puts
the config back. Two real upstream processes (echo: each answer names the port that served it),
two workers (the change is process-wide), four keep-alive clients."""

import json
import threading
import time
import urllib.parse

from harness import (Conn, ProtocolError, ProxyTestCase, main, make_config, metric_sum)


class Load:
    """Client threads doing keep-alive GETs until stopped; counts answers per upstream port and
    records every failure (a status other than 200, a connection error)."""

    def __init__(self, port, threads=4):
        self.port = port
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.by_port = {}
        self.failures = []
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=15)

    def counts(self):
        with self.lock:
            return dict(self.by_port)

    def run(self, i):
        conn, n = None, 0
        deadline = time.time() + 30
        while not self.stop_flag.is_set() and time.time() < deadline:
            try:
                if conn is None:
                    conn = Conn(self.port, timeout=10)
                r = conn.request("GET", "/app/load?c=%d&n=%d" % (i, n))
                n += 1
                with self.lock:
                    if r.status == 200:
                        p = r.json()["port"]
                        self.by_port[p] = self.by_port.get(p, 0) + 1
                    else:
                        self.failures.append("status %d: %r" % (r.status, r.body[:200]))
            except (OSError, ProtocolError, ValueError) as e:
                with self.lock:
                    self.failures.append("error %r" % e)
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()


class AdminRuntimeTest(ProxyTestCase):
    UPSTREAMS = {"a": ("echo",), "b": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config({"app": [ports["a"], ports["b"]]},
                           ["{name: app, match: {path_prefix: /app/}, upstream: app}"], workers=2,
                           upstream_opts={"app": {"timeouts": "{connect: 1s, response: 10s}"}})

    def setUp(self):
        # Every test starts from the config: a reload clears the runtime changes.
        r = self.sluice.reload()
        self.assertEqual(r.status, 200, r)

    def addr(self, name):
        return "127.0.0.1:%d" % self.up[name].port

    def post(self, name, action, query=""):
        path = "/upstreams/app/targets/%s/%s" % (urllib.parse.quote(self.addr(name), safe=""),
                                                 action)
        return self.sluice.admin("POST", path + ("?" + query if query else ""), body=b"")

    def target_view(self, name):
        r = self.sluice.admin("GET", "/upstreams")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "application/json")
        ups = {u["name"]: u for u in r.json()["upstreams"]}
        return {t["address"]: t for t in ups["app"]["targets"]}[self.addr(name)]

    def test_get_upstreams_shows_the_config(self):
        r = self.sluice.admin("GET", "/upstreams")
        self.assertEqual(r.status, 200)
        body = r.json()
        self.assertIsInstance(body["version"], int)
        [app] = body["upstreams"]
        self.assertEqual(app["name"], "app")
        self.assertEqual(app["balancer"], "round_robin")
        self.assertEqual([t["address"] for t in app["targets"]], [self.addr("a"), self.addr("b")])
        for t in app["targets"]:
            self.assertEqual(t, {"address": t["address"], "source": t["address"], "weight": 1,
                                 "weight_override": None,
                                 "effective_weight": 1, "drained": False, "health": "healthy",
                                 "circuit": None, "in_flight": 0})
        one = self.sluice.admin("GET", "/upstreams/app")
        self.assertEqual(one.status, 200)
        self.assertEqual(one.json(), app)

    def test_drain_under_load_then_enable(self):
        a_port, b_port = self.up["a"].port, self.up["b"].port
        # A slow request that is (already) on target a when the drain comes.
        slow = {}

        def slow_request(tag):
            slow[tag] = self.sluice.request("GET", "/app/slow?delay=1.5&tag=%s" % tag, timeout=15)

        threads, on_a = [], None
        for k in range(4):
            tag = "s%d" % k
            t = threading.Thread(target=slow_request, args=(tag,))
            t.start()
            threads.append(t)
            for _ in range(200):
                if any("tag=%s" % tag in e.get("target", "") for e in self.up["a"].entries()):
                    on_a = tag
                    break
                if any("tag=%s" % tag in e.get("target", "") for e in self.up["b"].entries()):
                    break
                time.sleep(0.01)
            if on_a:
                break
        self.assertIsNotNone(on_a, "no slow request reached target a")
        with Load(self.sluice.port) as load:
            time.sleep(0.5)
            before = load.counts()
            self.assertGreater(before.get(a_port, 0), 10, before)
            r = self.post("a", "drain")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["drained"], True)
            view = self.target_view("a")
            self.assertEqual((view["drained"], view["health"], view["effective_weight"]),
                             (True, "healthy", 0))
            self.assertGreaterEqual(view["in_flight"], 1, view)  # the slow request
            time.sleep(0.1)  # requests picked just before the drain have arrived by now
            mark = self.up["a"].mark()
            at_drain = load.counts()
            time.sleep(1.0)
            drained = load.counts()
            new_on_a = [e for e in self.up["a"].entries_since(mark) if e["event"] == "head"]
            self.assertEqual(new_on_a, [], "a drained target got new requests")
            self.assertEqual(drained.get(a_port, 0), at_drain.get(a_port, 0))
            self.assertGreater(drained.get(b_port, 0) - at_drain.get(b_port, 0), 20)
            # Not unhealthy: the health gauge stays 1.
            self.assertEqual(metric_sum(self.sluice.metrics(), "sluice_upstream_target_healthy",
                                        upstream="app", target=self.addr("a")), 1)
            r = self.post("a", "enable")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["drained"], False)
            time.sleep(0.5)
            back = load.counts()
            self.assertGreater(back.get(a_port, 0) - drained.get(a_port, 0), 10, back)
        for t in threads:
            t.join(timeout=15)
        self.assertEqual(load.failures, [])
        # The in-flight request on a finished normally.
        self.assertEqual(slow[on_a].status, 200, slow[on_a])
        self.assertEqual(slow[on_a].json()["port"], a_port)

    def test_weight_three_to_one(self):
        r = self.post("a", "weight", "value=3")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json()["weight"], r.json()["weight_override"],
                          r.json()["effective_weight"]), (1, 3, 3))
        with Load(self.sluice.port) as load:
            time.sleep(1.2)
        self.assertEqual(load.failures, [])
        c = load.counts()
        a, b = c.get(self.up["a"].port, 0), c.get(self.up["b"].port, 0)
        self.assertGreater(a + b, 200)
        self.assertAlmostEqual(a / (a + b), 0.75, delta=0.03, msg=c)
        # Weight 0: no new requests, as a drain, but reported as a weight.
        r = self.post("a", "weight", "value=0")
        self.assertEqual((r.json()["effective_weight"], r.json()["drained"]), (0, False))
        mark = self.up["a"].mark()
        for i in range(20):
            self.assertEqual(self.sluice.request("GET", "/app/w0?%d" % i).status, 200)
        self.assertEqual(self.up["a"].requests_since(mark), [])

    def test_reload_resets_to_the_config(self):
        self.assertEqual(self.post("a", "drain").status, 200)
        self.assertEqual(self.post("b", "weight", "value=5").status, 200)
        self.assertTrue(self.target_view("a")["drained"])
        self.assertEqual(self.target_view("b")["weight_override"], 5)
        r = self.sluice.reload()
        self.assertEqual(r.status, 200)
        a, b = self.target_view("a"), self.target_view("b")
        self.assertEqual((a["drained"], a["effective_weight"]), (False, 1))
        self.assertEqual((b["weight_override"], b["effective_weight"]), (None, 1))
        mark = self.up["a"].mark()
        for i in range(10):
            self.assertEqual(self.sluice.request("GET", "/app/r?%d" % i).status, 200)
        # Round robin again (per worker: with two workers, at least 3 of 10).
        self.assertGreaterEqual(len(self.up["a"].requests_since(mark)), 3)

    def test_status_page_shows_drained_and_weight(self):
        self.assertEqual(self.post("a", "drain").status, 200)
        self.assertEqual(self.post("b", "weight", "value=4").status, 200)
        page = self.sluice.admin("GET", "/status").body.decode()

        def row(name):
            start = page.index('data-target="%s"' % self.addr(name))
            return page[start:page.index("</tr>", start)]

        self.assertIn("healthy (drained)", row("a"))
        self.assertNotIn("drained", row("b"))
        self.assertIn("<td>4 (config 1)</td>", row("b"))

    def test_bad_inputs(self):
        def check(method, path, status, text):
            r = self.sluice.admin(method, path, body=b"" if method == "POST" else None)
            self.assertEqual(r.status, status, (path, r))
            self.assertEqual(r.header("content-type"), "application/json", path)
            body = r.json()
            self.assertEqual(body["status"], status)
            self.assertIn(text, body["error"])
            return r

        a = urllib.parse.quote(self.addr("a"), safe="")
        check("POST", "/upstreams/nope/targets/%s/drain" % a, 404, "no upstream named nope")
        check("POST", "/upstreams/app/targets/127.0.0.1%3A1/drain", 404, "has no target")
        check("POST", "/upstreams/app/targets/%5B%3A%3A1%5D%3A80/enable", 404, "[::1]:80")
        check("GET", "/upstreams/nope", 404, "no upstream")
        check("POST", "/upstreams/app/targets/%s/restart" % a, 404, "no endpoint")
        r = check("GET", "/upstreams/app/targets/%s/drain" % a, 405, "use POST")
        self.assertEqual(r.header("allow"), "POST")
        r = check("POST", "/upstreams", 405, "use GET")
        self.assertEqual(r.header("allow"), "GET, HEAD")
        for q in ("", "?value=", "?value=-2", "?value=abc", "?value=1000001", "?value=2.5"):
            check("POST", "/upstreams/app/targets/%s/weight%s" % (a, q), 400, "value=N")
        view = self.target_view("a")
        self.assertEqual((view["drained"], view["weight_override"]), (False, None))
        # The address also works as written, unencoded.
        r = self.sluice.admin("POST", "/upstreams/app/targets/%s/drain" % self.addr("a"), body=b"")
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    main()
