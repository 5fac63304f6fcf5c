"""Cache purges across instances (`cache_sync:`): two sluice processes with the cache on, one
origin, one real redis-server started here. A purge on A (key or prefix) reaches B through the
Redis channel, and B fetches from the origin again; the propagation time (purge POST sent -> B
serves a miss) is measured over 20 purges and printed. With Redis killed, a purge made on A
while B is cut off is missed by B, which therefore purges its whole cache when it is back (one
warning line per outage, counted). `sluice -t` refuses broken cache_sync sections."""

import json
import os
import statistics
import sys
import tempfile
import time
import unittest

from harness import Sluice, main, make_config, metric_sum, run_sluice
from test_cache import Origin
from test_ratelimit import Redis

CHANNEL = "test:cache:purge"


def cache_config(origin_port, redis_port):
    return make_config(
        {"o": origin_port},
        ["{name: cached, match: {path_prefix: /}, upstream: o, filters: [{cache: {ttl: 60s}}]}"],
        extra="cache_sync: {redis: 'redis://127.0.0.1:%d', channel: '%s'}"
              % (redis_port, CHANNEL))


def wait_for(what, predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("not within %.1fs: %s" % (timeout, what))


class CacheSyncTest(unittest.TestCase):
    def setUp(self):
        self.redis = Redis().start()
        self.addCleanup(self.redis.kill)
        self.origin = Origin()
        self.addCleanup(self.origin.close)
        cfg = cache_config(self.origin.port, self.redis.port)
        self.a = Sluice(cfg).start()
        self.addCleanup(self.stop, self.a)
        self.b = Sluice(cfg).start()
        self.addCleanup(self.stop, self.b)
        for s in (self.a, self.b):
            wait_for("subscribed", lambda: self.metric(s, "sluice_cache_sync_connected") == 1, 5)

    def stop(self, s):
        s.stop()
        s.check_sanitizers()
        s._cleanup()

    def metric(self, s, name):
        return metric_sum(s.metrics(), name)

    def cache(self, s, path):
        r = s.request("GET", path)
        self.assertEqual(r.status, 200, r)
        return r.header("x-cache")

    def fill(self, paths):
        """Every path cached on both instances: the origin saw it once from each."""
        for p in paths:
            for s in (self.a, self.b):
                self.assertEqual(self.cache(s, p), "MISS")
                self.assertEqual(self.cache(s, p), "HIT")
            self.assertEqual(self.origin.count(p), 2)

    def purge(self, s, query):
        r = s.admin("POST", "/cache/purge?" + query)
        self.assertEqual(r.status, 200, r)
        return json.loads(r.body)

    def test_purge_on_a_reaches_b_with_propagation_time(self):
        n = 20
        paths = ["/k/%d" % i for i in range(n)]
        self.fill(paths)
        times = []
        conn = self.b.conn(timeout=5)
        for p in paths:
            t0 = time.monotonic()
            answer = self.purge(self.a, "key=test.local" + p)
            self.assertEqual(answer["purged"], 1, answer)
            self.assertIs(answer["published"], True, answer)
            self.assertEqual(answer["receivers"], 2, answer)  # A's own subscription and B's
            deadline = t0 + 3
            while True:
                r = conn.request("GET", p)
                self.assertEqual(r.status, 200, r)
                if r.header("x-cache") == "MISS":
                    times.append(time.monotonic() - t0)
                    break
                self.assertLess(time.monotonic(), deadline, "B still serves %s from cache" % p)
            # B went to the origin again (A did not: nothing asked A for it since).
            self.assertEqual(self.origin.count(p), 3)
        conn.close()
        ms = sorted(t * 1000 for t in times)
        sys.stderr.write("\ncache_sync propagation (purge POST on A -> miss on B) over %d purges: "
                         "median %.2f ms, max %.2f ms, min %.2f ms\n"
                         % (n, statistics.median(ms), ms[-1], ms[0]))
        self.assertEqual(self.metric(self.a, "sluice_cache_sync_purges_published_total"), n)
        self.assertEqual(self.metric(self.b, "sluice_cache_sync_purges_received_total"), n)
        # A skipped its own echo; B published nothing.
        self.assertEqual(self.metric(self.a, "sluice_cache_sync_purges_received_total"), 0)
        self.assertEqual(self.metric(self.b, "sluice_cache_sync_purges_published_total"), 0)
        # A purge on B goes the other way.
        self.assertEqual(self.cache(self.a, "/k/0"), "MISS")
        self.assertEqual(self.cache(self.a, "/k/0"), "HIT")
        self.assertEqual(self.purge(self.b, "key=test.local/k/0")["published"], True)
        wait_for("A purged /k/0", lambda: self.metric(
            self.a, "sluice_cache_sync_purges_received_total") == 1, 3)
        self.assertEqual(self.cache(self.a, "/k/0"), "MISS")

    def test_prefix_purge(self):
        self.fill(["/p/1", "/p/2", "/q/1"])
        answer = self.purge(self.a, "prefix=test.local/p/")
        self.assertEqual(answer["purged"], 2, answer)
        self.assertIs(answer["published"], True, answer)
        wait_for("B received it", lambda: self.metric(
            self.b, "sluice_cache_sync_purges_received_total") == 1, 3)
        self.assertEqual(self.cache(self.b, "/p/1"), "MISS")
        self.assertEqual(self.cache(self.b, "/p/2"), "MISS")
        self.assertEqual(self.cache(self.b, "/q/1"), "HIT")
        self.assertEqual(self.origin.count("/q/1"), 2)

    def test_disconnected_instance_purges_whole_cache_on_reconnect(self):
        self.fill(["/d/1", "/d/2"])
        self.assertEqual(self.metric(self.b, "sluice_cache_sync_full_purges_total"), 0)
        self.redis.kill()
        for s in (self.a, self.b):
            wait_for("lost", lambda: self.metric(s, "sluice_cache_sync_connected") == 0, 5)
        answer = self.purge(self.a, "key=test.local/d/1")
        self.assertEqual(answer["purged"], 1, answer)
        self.assertIs(answer["published"], False, answer)
        self.assertIs(answer["queued"], True, answer)
        self.assertIn("not connected", answer["error"])
        # B missed it: without the reconnect purge it would serve the stale copy.
        self.assertEqual(self.cache(self.b, "/d/1"), "HIT")
        time.sleep(1.0)  # a few failed reconnect attempts: still one warning line
        t_restart = time.monotonic()
        self.redis.start()
        wait_for("B subscribed again", lambda: self.metric(
            self.b, "sluice_cache_sync_connected") == 1, 10)
        back = time.monotonic() - t_restart
        self.assertEqual(self.metric(self.b, "sluice_cache_sync_full_purges_total"), 1)
        sys.stderr.write("\ncache_sync: B subscribed again %.0f ms after redis restarted\n"
                         % (back * 1000))
        self.assertEqual(self.cache(self.b, "/d/1"), "MISS")
        self.assertEqual(self.cache(self.b, "/d/2"), "MISS")  # the whole cache went
        wait_for("A subscribed again", lambda: self.metric(
            self.a, "sluice_cache_sync_connected") == 1, 10)
        for s in (self.a, self.b):
            lost = [l for l in s.stderr_text().splitlines()
                    if "purges of other instances are missed" in l]
            self.assertEqual(len(lost), 1, s.stderr_text())
            self.assertIn("purged the whole cache", s.stderr_text())
        # A's queued purge went out once its publishing connection was back.
        wait_for("A published the queued purge", lambda: self.metric(
            self.a, "sluice_cache_sync_purges_published_total") == 1, 10)


class CacheSyncConfigTest(unittest.TestCase):
    def check(self, text):
        d = tempfile.mkdtemp(prefix="sluice-cs-")
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write("listeners: [{name: l, address: 127.0.0.1:8080}]\n" + text)
        return run_sluice(["-t", "-c", path])

    def test_sluice_t(self):
        ok = self.check("cache_sync: {redis: 'redis://127.0.0.1:6379/0'}\n")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        ok = self.check("rate_limit_store: {redis: 'redis://10.0.0.1:6379'}\n"
                        "cache_sync: {use_rate_limit_store: true, channel: 'a:b'}\n")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        for text, message in [
            ("cache_sync: {redis: 'http://x:1'}\n", "is not a Redis URL"),
            ("cache_sync: {redis: 'redis://x:70000'}\n", "the port must be 1-65535"),
            ("cache_sync: {}\n", 'cache_sync needs "redis"'),
            ("cache_sync: {use_rate_limit_store: true}\n", "needs a rate_limit_store section"),
            ("rate_limit_store: {sentinels: ['127.0.0.1:26379'], master: m}\n"
             "cache_sync: {use_rate_limit_store: true}\n", "Sentinels cannot be used"),
            ("cache_sync: {redis: 'redis://x:1', channel: 'a b'}\n", "is not a channel name"),
        ]:
            bad = self.check(text)
            self.assertEqual(bad.returncode, 1, text)
            self.assertIn(message, bad.stderr + bad.stdout, text)


if __name__ == "__main__":
    main()
