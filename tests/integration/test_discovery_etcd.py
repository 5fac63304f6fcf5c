"""Upstream targets from etcd (issue 17 item 1): `discovery: {etcd: {endpoints, prefix}}` reads
the keys under the prefix at start and follows them with an etcd v3 watch (JSON gateway,
HTTP/1.1), without a reload: targets registered and deregistered under load cost no request, a
lease that expires takes its target away, a dead etcd leaves the last set in force (metrics and
one log line say so) and a restarted one is followed again, with what changed meanwhile. A real
etcd (/usr/bin/etcd, etcd_server.py) runs on loopback ports the OS picked."""

import json
import os
import re
import shutil
import tempfile
import threading
import time
import unittest

from etcd_server import EtcdServer
from harness import Conn, Sluice, Upstream, free_port, main, metric_sum, run_sluice

PREFIX = "/services/api/"


def config(etcd_ports, extra_upstream="", workers=2, routes_extra="", api_opts=""):
    endpoints = ", ".join('"127.0.0.1:%d"' % p for p in etcd_ports)
    return """workers: %d
admin: {address: 127.0.0.1:$ADMIN}
listeners: [{name: main, address: 127.0.0.1:$PORT}]
upstreams:
  - name: api
    retries: {attempts: 0}
%s    discovery:
      etcd:
        endpoints: [%s]
        prefix: %s
        timeout: 1s
        backoff: {base: 100ms, max: 400ms}
%s
routes:
  - {name: all, match: {path_prefix: /}, upstream: api}
%s""" % (workers, api_opts, endpoints, PREFIX, extra_upstream, routes_extra)


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("not within %.1f s: %s" % (timeout, what))


class Load:
    """`threads` keep-alive clients, each on its own connection (so each stays on one sluice
    worker), sending GETs until stop(). Records every answer's status and the upstream port that
    served it, with the time."""

    def __init__(self, port, threads=16):
        self.port = port
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.seen = [[] for _ in range(threads)]  # per thread: (time, upstream port)
        self.failures = []
        self.total = 0
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=10)

    def run(self, i):
        conn = None
        while not self.stop_event.is_set():
            try:
                if conn is None:
                    conn = Conn(self.port, timeout=5)
                r = conn.request("GET", "/load")
                t = time.time()
                if r.status != 200:
                    with self.lock:
                        self.failures.append((r.status, r.body[:200]))
                    continue
                port = json.loads(r.body)["port"]
                with self.lock:
                    self.total += 1
                    self.seen[i].append((t, port))
                if (r.header("connection") or "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception as e:  # a failed request is what this test counts
                with self.lock:
                    self.failures.append(repr(e))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def first_per_thread(self, port, after):
        """Per client thread, the first time `port` served it after `after` (None: never)."""
        with self.lock:
            return [next((t for t, p in s if p == port and t >= after), None) for s in self.seen]

    def last_time(self, port):
        with self.lock:
            times = [t for s in self.seen for t, p in s if p == port]
        return max(times) if times else None


class DiscoveryEtcdTest(unittest.TestCase):
    def setUp(self):
        self.cleanups = []
        self.etcd = EtcdServer().start()
        self.cleanups.append(self.etcd.remove)

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()

    def upstream(self):
        u = Upstream("echo").start()
        self.cleanups.append(u.stop)
        return u

    def sluice(self, text):
        s = Sluice(text).start()
        self.cleanups.append(lambda: s.__exit__(None, None, None))
        return s

    def served_by(self, s, n):
        ports = []
        for _ in range(n):
            r = s.request("GET", "/x", timeout=5)
            self.assertEqual(r.status, 200, r.body[:200])
            ports.append(json.loads(r.body)["port"])
        return ports

    def gauge(self, s, name, **labels):
        return metric_sum(s.metrics(), name, **labels)

    def test_targets_from_prefix_at_start(self):
        a, b, outside = self.upstream(), self.upstream(), self.upstream()
        self.etcd.put(PREFIX + "a", "127.0.0.1:%d" % a.port)
        self.etcd.put(PREFIX + "b", json.dumps({"address": "127.0.0.1:%d" % b.port, "weight": 3}))
        self.etcd.put(PREFIX + "bad", "not-a-target")
        self.etcd.put("/services/other/x", "127.0.0.1:%d" % outside.port)
        s = self.sluice(config([self.etcd.port], workers=1))
        ports = self.served_by(s, 40)
        # Weights 1 and 3 (one worker's smooth weighted round robin: exact over 40).
        self.assertEqual(ports.count(a.port), 10, ports)
        self.assertEqual(ports.count(b.port), 30, ports)
        self.assertEqual(len(outside.requests()), 0)
        text = s.metrics()
        self.assertEqual(metric_sum(text, "sluice_discovery_targets", upstream="api"), 2)
        self.assertEqual(metric_sum(text, "sluice_discovery_connected", upstream="api"), 1)
        self.assertEqual(metric_sum(text, "sluice_discovery_errors_total", upstream="api",
                                    reason="bad_value"), 1)
        self.assertIn("key %sbad is not a target" % PREFIX, s.stderr_text())

    def test_register_and_deregister_under_load(self):
        """32 keep-alive clients (spread over both workers by SO_REUSEPORT) while c registers and
        a deregisters and then shuts down. Prints, from the etcd write (its request sent; the
        answer comes a few ms later, often after sluice has the watch event): "first" = the
        first request any client got from c; "last" = the moment every one of the 32 client
        connections has had a request served by c (both workers switched, and each round-robin
        position passed c); for the delete, the last request a logged."""
        a, b, c = self.upstream(), self.upstream(), self.upstream()
        self.etcd.put(PREFIX + "a", "127.0.0.1:%d" % a.port)
        self.etcd.put(PREFIX + "b", "127.0.0.1:%d" % b.port)
        s = self.sluice(config([self.etcd.port]))
        reloads = s.reloads_total()
        with Load(s.port, threads=32) as load:
            time.sleep(0.5)
            written = time.time()
            self.etcd.put(PREFIX + "c", "127.0.0.1:%d" % c.port)
            answered = time.time() - written
            wait_for(lambda: all(load.first_per_thread(c.port, written)), 10,
                     "every client reached the new target")
            firsts = load.first_per_thread(c.port, written)
            first_new, last_new = min(firsts) - written, max(firsts) - written
            time.sleep(0.3)
            deleted = time.time()
            self.etcd.delete(PREFIX + "a")
            time.sleep(1.0)  # long enough for every worker to have dropped a
            a_log = a.requests()
            a.stop()  # deregistered, then gone: costs nothing either
            time.sleep(0.5)
            load.stop()
        # Entries of a's own log: what reached it, not only what came back.
        last_removed = max(e["time"] for e in a_log) - deleted
        print("\n  32 clients, 2 workers: etcd write -> first request at the new target: %.1f ms; "
              "-> every client reaching it: %.1f ms (the put's answer: %.1f ms); delete -> last "
              "request at the removed target: %.1f ms; %d requests, %d failed"
              % (first_new * 1000, last_new * 1000, answered * 1000, last_removed * 1000,
                 load.total, len(load.failures)))
        self.assertEqual(load.failures, [])
        self.assertGreater(load.total, 500)
        self.assertLess(last_new, 5.0)  # generous: a loaded machine under ASan
        self.assertLess(last_removed, 1.0)
        self.assertEqual(s.reloads_total(), reloads)  # no reload took place
        text = s.metrics()
        self.assertEqual(metric_sum(text, "sluice_discovery_targets", upstream="api"), 2)
        self.assertEqual(metric_sum(text, "sluice_discovery_updates_total", upstream="api"), 3)
        # Only b and c now.
        mark_b, mark_c = len(b.requests()), len(c.requests())
        self.served_by(s, 20)
        self.assertEqual(len(b.requests()) + len(c.requests()) - mark_b - mark_c, 20)

    def test_lease_expiry_removes_target(self):
        a, b = self.upstream(), self.upstream()
        self.etcd.put(PREFIX + "a", "127.0.0.1:%d" % a.port)
        lease = self.etcd.grant(2)
        self.etcd.put(PREFIX + "b", "127.0.0.1:%d" % b.port, lease=lease)
        s = self.sluice(config([self.etcd.port], workers=1))
        self.assertIn(b.port, self.served_by(s, 4))
        # Not kept alive: etcd deletes the key when the lease expires (2 s, checked twice a
        # second), and the watch reports the delete.
        wait_for(lambda: self.gauge(s, "sluice_discovery_targets", upstream="api") == 1, 6,
                 "the leased target left")
        self.assertEqual(set(self.served_by(s, 10)), {a.port})

    def test_etcd_killed_then_restarted(self):
        a, b, c = self.upstream(), self.upstream(), self.upstream()
        self.etcd.put(PREFIX + "a", "127.0.0.1:%d" % a.port)
        self.etcd.put(PREFIX + "b", "127.0.0.1:%d" % b.port)
        s = self.sluice(config([self.etcd.port]))
        self.assertEqual(set(self.served_by(s, 8)), {a.port, b.port})
        self.etcd.kill()
        wait_for(lambda: self.gauge(s, "sluice_discovery_connected", upstream="api") == 0, 3,
                 "sluice noticed etcd is gone")
        time.sleep(1.5)  # several reconnects (back-off 100-400 ms), all refused
        # The last set stays in force.
        self.assertEqual(set(self.served_by(s, 20)), {a.port, b.port})
        text = s.metrics()
        self.assertEqual(metric_sum(text, "sluice_discovery_targets", upstream="api"), 2)
        errors = (metric_sum(text, "sluice_discovery_errors_total", upstream="api",
                             reason="connect") +
                  metric_sum(text, "sluice_discovery_errors_total", upstream="api",
                             reason="disconnected"))
        self.assertGreaterEqual(errors, 3)
        log = s.stderr_text()
        self.assertEqual(len(re.findall("keeping the last 2 target", log)), 1, log)
        # A change made while sluice cannot see etcd: the member is up on another client port
        # only (same data), a is deregistered and c registered, then it goes down again.
        self.etcd.start(client_port=free_port())
        self.etcd.delete(PREFIX + "a")
        self.etcd.put(PREFIX + "c", "127.0.0.1:%d" % c.port)
        self.etcd.kill()
        self.assertEqual(set(self.served_by(s, 10)), {a.port, b.port})
        # Back where sluice looks: it reads the set again and watches again. Reconnection time:
        # from etcd answering (start() returns after its first answer) to the gauge at 1
        # (metrics polled every 20 ms); the back-off is 100-400 ms here.
        self.etcd.start()
        answering = time.time()
        wait_for(lambda: self.gauge(s, "sluice_discovery_connected", upstream="api") == 1, 5,
                 "sluice watches again")
        reconnected = time.time() - answering
        wait_for(lambda: set(self.served_by(s, 8)) == {b.port, c.port}, 3,
                 "the change made meanwhile is in force")
        # And the watch works: a new registration arrives without a reconnect.
        d = self.upstream()
        self.etcd.put(PREFIX + "d", "127.0.0.1:%d" % d.port)
        wait_for(lambda: d.port in self.served_by(s, 6), 3, "d registered after the restart")
        log = s.stderr_text()
        self.assertEqual(len(re.findall("keeping the last", log)), 1, log)
        self.assertEqual(len(re.findall("answers again after", log)), 1, log)
        # A second outage is a second episode: one more warning, one more recovery line.
        self.etcd.kill()
        wait_for(lambda: self.gauge(s, "sluice_discovery_connected", upstream="api") == 0, 3,
                 "sluice noticed the second outage")
        time.sleep(0.8)
        self.assertEqual(set(self.served_by(s, 9)), {b.port, c.port, d.port})
        self.etcd.start()
        answering = time.time()
        wait_for(lambda: self.gauge(s, "sluice_discovery_connected", upstream="api") == 1, 5,
                 "sluice watches again after the second outage")
        reconnected2 = time.time() - answering
        log = s.stderr_text()
        self.assertEqual(len(re.findall("keeping the last 3 target", log)), 1, log)
        self.assertEqual(len(re.findall("keeping the last", log)), 2, log)
        self.assertEqual(len(re.findall("answers again after", log)), 2, log)
        self.assertLess(reconnected, 3.0)  # generous: the back-off is capped at 400 ms
        print("\n  etcd answering again -> sluice watching again: %.0f ms, %.0f ms "
              "(back-off 100-400 ms)" % (reconnected * 1000, reconnected2 * 1000))

    def test_state_kept_for_targets_that_stay_and_slow_start_for_new_ones(self):
        """A change from etcd is applied as a reload applies one: the target that stays keeps
        its health (a dead one stays unhealthy, not reset to healthy), a drain set through the
        admin API stays, and a new target ramps up with slow_start while the others keep their
        full weight."""
        dead, drained, steady, new = (self.upstream() for _ in range(4))
        for name, u in (("dead", dead), ("drained", drained), ("steady", steady)):
            self.etcd.put(PREFIX + name, json.dumps({"address": "127.0.0.1:%d" % u.port,
                                                      "weight": 100}))
        s = self.sluice(config(
            [self.etcd.port],
            api_opts="    slow_start: 20s\n"
                     "    health_check: {path: /hc, interval: 1s, timeout: 500ms, "
                     "healthy_threshold: 1, unhealthy_threshold: 1}\n"))
        addr = {u.port: "127.0.0.1:%d" % u.port for u in (dead, drained, steady, new)}

        def view():
            r = s.admin("GET", "/upstreams/api")
            self.assertEqual(r.status, 200, r.body)
            return {t["address"]: t for t in r.json()["targets"]}

        # Targets of the first read are the first config's: full weight at once.
        self.assertEqual({a: t["effective_weight"] for a, t in view().items()},
                         {addr[u.port]: 100 for u in (dead, drained, steady)})
        dead.stop()
        wait_for(lambda: view()[addr[dead.port]]["health"] == "unhealthy", 5, "dead unhealthy")
        r = s.admin("POST", "/upstreams/api/targets/%s/drain" % addr[drained.port])
        self.assertEqual(r.status, 200, r.body)
        self.etcd.put(PREFIX + "new", json.dumps({"address": "127.0.0.1:%d" % new.port,
                                                  "weight": 100}))
        wait_for(lambda: addr[new.port] in view(), 5, "the new target is in force")
        # At once (well within the 1 s check interval, so a health state that had been reset to
        # healthy would still show): traffic goes to steady and new only, and nothing fails
        # (no retries: a request sent to the dead target would fail).
        ports = self.served_by(s, 30)
        self.assertEqual(set(ports), {steady.port, new.port})
        self.assertGreater(ports.count(steady.port), ports.count(new.port))
        v = view()
        self.assertEqual((v[addr[dead.port]]["health"], v[addr[dead.port]]["effective_weight"]),
                         ("unhealthy", 0))
        self.assertEqual((v[addr[drained.port]]["drained"],
                          v[addr[drained.port]]["effective_weight"]), (True, 0))
        self.assertEqual(v[addr[steady.port]]["effective_weight"], 100)
        ramp = v[addr[new.port]]["effective_weight"]
        self.assertEqual(v[addr[new.port]]["source"], "discovery:api")
        self.assertGreaterEqual(ramp, 10)
        self.assertLess(ramp, 50)  # 10% + 90% x elapsed/20 s, read within a few seconds
        time.sleep(1.5)
        self.assertGreater(view()[addr[new.port]]["effective_weight"], ramp)  # ramping up

    def test_unreachable_endpoint_is_skipped(self):
        """The first endpoint refuses connections: sluice tries the next one and starts with the
        registry's targets; the failure is counted and logged once."""
        a = self.upstream()
        self.etcd.put(PREFIX + "a", "127.0.0.1:%d" % a.port)
        dead = free_port()
        s = self.sluice(config([dead, self.etcd.port], workers=1))
        self.assertEqual(set(self.served_by(s, 4)), {a.port})
        text = s.metrics()
        self.assertEqual(metric_sum(text, "sluice_discovery_connected", upstream="api"), 1)
        self.assertEqual(metric_sum(text, "sluice_discovery_errors_total", upstream="api",
                                    reason="connect"), 1)
        log = s.stderr_text()
        self.assertEqual(log.count("etcd at 127.0.0.1:%d: connect" % dead), 1, log)
        self.assertEqual(log.count("answers again after"), 1, log)

    def test_starts_while_etcd_is_down_then_follows_it(self):
        """etcd down at start: sluice starts after trying every endpoint once, with no target
        (503), and takes the registry's targets when etcd comes up, without a reload."""
        a = self.upstream()
        self.etcd.put(PREFIX + "a", "127.0.0.1:%d" % a.port)
        self.etcd.kill()
        s = self.sluice(config([self.etcd.port], workers=1))
        r = s.request("GET", "/x", timeout=5)
        self.assertEqual(r.status, 503, r.body[:200])
        self.assertEqual(self.gauge(s, "sluice_discovery_connected", upstream="api"), 0)
        self.assertEqual(self.gauge(s, "sluice_discovery_targets", upstream="api"), 0)
        self.etcd.start()
        wait_for(lambda: s.request("GET", "/x", timeout=5).status == 200, 5,
                 "the registry's target is used once etcd is up")
        self.assertEqual(set(self.served_by(s, 4)), {a.port})
        self.assertEqual(s.stderr_text().count("keeping the last 0 target"), 1, s.stderr_text())

    def test_reload_keeps_discovered_set_and_removed_discovery_stops(self):
        a, b = self.upstream(), self.upstream()
        self.etcd.put(PREFIX + "a", "127.0.0.1:%d" % a.port)
        s = self.sluice(config([self.etcd.port]))
        with Load(s.port, threads=8) as load:
            time.sleep(0.3)
            # The same discovery section (another route added): the watch and its set stay.
            r = s.reload(config([self.etcd.port],
                                routes_extra="  - {name: other, match: {path_prefix: /o/}, "
                                             "upstream: api}\n"))
            self.assertEqual(r.status, 200, r.body)
            time.sleep(0.3)
            load.stop()
        self.assertEqual(load.failures, [])
        text = s.metrics()
        self.assertEqual(metric_sum(text, "sluice_discovery_updates_total", upstream="api"), 1)
        self.assertEqual(metric_sum(text, "sluice_discovery_targets", upstream="api"), 1)
        # Discovery removed: the watch stops, a later registration changes nothing.
        r = s.reload("""workers: 2
admin: {address: 127.0.0.1:$ADMIN}
listeners: [{name: main, address: 127.0.0.1:$PORT}]
upstreams: [{name: api, targets: [{address: "127.0.0.1:%d"}]}]
routes: [{name: all, match: {path_prefix: /}, upstream: api}]
""" % b.port)
        self.assertEqual(r.status, 200, r.body)
        text = s.metrics()
        self.assertNotIn("sluice_discovery_connected{", text)
        self.etcd.put(PREFIX + "x", "127.0.0.1:%d" % a.port)
        time.sleep(0.3)
        self.assertEqual(set(self.served_by(s, 6)), {b.port})
        self.assertEqual(metric_sum(s.metrics(), "sluice_discovery_updates_total",
                                    upstream="api"), 1)

    def test_config_check(self):
        d = tempfile.mkdtemp(prefix="sluice-etcd-conf-")
        self.cleanups.append(lambda: shutil.rmtree(d, ignore_errors=True))

        def check(upstream):
            path = os.path.join(d, "sluice.yaml")
            with open(path, "w") as f:
                f.write("""listeners: [{name: main, address: "127.0.0.1:8080"}]
upstreams:
  - name: api
%s
routes: [{name: all, upstream: api}]
""" % upstream)
            return run_sluice(["-t", "-c", path])

        ok = check("    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\"], prefix: /s/}}")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        both = check("    targets: [{address: 127.0.0.1:9001}]\n"
                     "    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\"], prefix: /s/}}")
        self.assertEqual(both.returncode, 1)
        self.assertRegex(both.stderr, r"sluice\.yaml:4:5: targets and discovery are exclusive")
        bad = check("    discovery: {etcd: {endpoints: [\"127.0.0.1\"], prefix: /s/}}")
        self.assertEqual(bad.returncode, 1)
        self.assertRegex(bad.stderr, r"sluice\.yaml:4:\d+: endpoints\[0\]: ")
        missing = check("    discovery: {etcd: {endpoints: [\"127.0.0.1:2379\"]}}")
        self.assertEqual(missing.returncode, 1)
        self.assertRegex(missing.stderr, r"sluice\.yaml:4:\d+: etcd needs \"prefix\"")


if __name__ == "__main__":
    main()
