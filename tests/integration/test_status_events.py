"""The status page's event list and subsystem sections (issue 19, items 3 and 4), in GET /status
(HTML, also as headless Chromium renders it) and GET /status.json.

Events, each with a wall-clock time: a health-checked target turning unhealthy then healthy
(its health endpoint is a server in this process that the test flips), a target ejected by
passive health then back when its ejection time is over, a circuit breaker opening, half-open
and closing, a reload that succeeds and one that fails with its first error line, and the Redis
store of a cluster rate limit killed (lost) and started again on its port (regained). Sections:
the cache after misses and hits, compression after gzip responses, HTTP/2 and TLS after curl's
h2 requests over TLS and a resumed Python TLS session. Needs redis-server, curl with HTTP/2,
openssl and chromium."""

import gzip
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import Sluice, Upstream, free_port, main, make_config
from test_ratelimit import Redis
from test_status_page import Browser, dump_dom


def wait_for(pred, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


class HealthServer:
    """An upstream target in this process whose /healthz answers 200 or 503 as the test says;
    any other path answers 200 with a small JSON body."""

    def __init__(self):
        self.healthy = True
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                ok = not self.path.startswith("/healthz") or outer.healthy
                body = b'{"ok": %s}' % (b"true" if ok else b"false")
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def make_cert(directory):
    key, crt = os.path.join(directory, "k.pem"), os.path.join(directory, "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=status.test",
                    "-addext", "subjectAltName=DNS:status.test"],
                   check=True, capture_output=True, timeout=30)
    return crt, key


def events_in_html(html):
    """[(kind, state, time, ago, subject, detail)] of the page's event table, newest first."""
    m = re.search(r'<table id="events">(.*?)</table>', html, re.S)
    if not m:
        raise AssertionError("no events table in:\n" + html[-3000:])
    out = []
    for kind, state, cells in re.findall(
            r'<tr data-kind="([^"]*)" data-state="([^"]*)">(.*?)</tr>', m.group(1), re.S):
        tds = re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
        out.append((kind, state, tds[0], tds[1], tds[3], tds[5]))
    return out


def key_values(html, table):
    """{data-key: data-value} of one of the page's two-column tables."""
    m = re.search(r'<table id="%s">(.*?)</table>' % table, html, re.S)
    if not m:
        raise AssertionError("no %s table in:\n%s" % (table, html[-3000:]))
    return dict(re.findall(r'<tr data-key="([^"]*)"><td>[^<]*</td><td data-value="([^"]*)">',
                           m.group(1)))


class StatusEventsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sluice-status-events-")
        cls.health = HealthServer()
        cls.health2 = HealthServer()  # flipped by the browser test alone
        cls.echo = Upstream("echo").start()
        cls.redis = Redis().start()
        cls.crt, cls.key = make_cert(cls.tmp)
        cls.dead = free_port()
        cls.tls_port = free_port()
        ports = {"hc": cls.health.port, "hc2": cls.health2.port, "brk": cls.echo.port, "ej": [cls.echo.port, cls.dead],
                 "echo": cls.echo.port}
        cls.good_config = make_config(ports, [
            "{name: hc, match: {path_prefix: /hc}, upstream: hc}",
            "{name: hc2, match: {path_prefix: /hc2}, upstream: hc2}",
            "{name: brk, match: {path_prefix: /brk}, upstream: brk}",
            "{name: ej, match: {path_prefix: /ej}, upstream: ej}",
            "{name: rl, match: {path_prefix: /rl}, upstream: echo, filters: "
            "[{token_bucket: {rate: 1000/s, burst: 1000, key: route, scope: cluster}}]}",
            "{name: cached, match: {path_prefix: /cached}, upstream: echo, "
            "filters: [{cache: {ttl: 60s}}]}",
            "{name: zip, match: {path_prefix: /zip}, upstream: echo, "
            "filters: [{gzip: {min_bytes: 100}}]}",
            "{name: rest, match: {path_prefix: /}, upstream: echo}",
        ], upstream_opts={
            "hc": {"health_check": "{path: /healthz, interval: 200ms, timeout: 150ms, "
                                   "healthy_threshold: 1, unhealthy_threshold: 2}"},
            "hc2": {"health_check": "{path: /healthz, interval: 200ms, timeout: 150ms, "
                                    "healthy_threshold: 1, unhealthy_threshold: 2}"},
            "brk": {"circuit_breaker": "{consecutive_failures: 2, open_for: 1s}"},
            "ej": {"passive_health": "{consecutive_failures: 1, base_ejection: 1s, "
                                     "max_ejection_percent: 50}"},
        }, extra="rate_limit_store: {redis: 'redis://127.0.0.1:%d/0', on_error: local}"
                  % cls.redis.port)
        cls.good_config = cls.good_config.replace(
            "listeners: [{name: main, address: 127.0.0.1:$PORT}]\n",
            "listeners:\n  - {name: main, address: 127.0.0.1:$PORT}\n"
            "  - {name: secure, address: 127.0.0.1:%d, tls: {certificates: [{cert: %s, key: %s}], "
            "alpn: [h2, http/1.1]}}\n" % (cls.tls_port, cls.crt, cls.key))
        cls.sluice = None
        try:
            cls.sluice = Sluice(cls.good_config).start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.sluice is not None:
                cls.sluice.__exit__(None, None, None)
        finally:
            cls.health.stop()
            cls.health2.stop()
            cls.echo.stop()
            cls.redis.kill()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- helpers ------------------------------------------------------------------------------

    def page(self):
        r = self.sluice.admin("GET", "/status")
        self.assertEqual(r.status, 200)
        return r.body.decode()

    def status_json(self):
        r = self.sluice.admin("GET", "/status.json")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("content-type").startswith("application/json"))
        return json.loads(r.body)

    def wait_event(self, kind, subject, state, timeout, since=0.0):
        """Waits until the page lists the event; returns its row. Checks /status.json has it
        too, with the same time."""
        def find():
            for e in events_in_html(self.page()):
                if e[0] == kind and e[4] == subject and e[1] == state:
                    return e
            return None
        row = wait_for(find, timeout)
        self.assertIsNotNone(row, "no %s %s %s event in:\n%s" % (
            kind, subject, state, "\n".join(map(str, events_in_html(self.page())))))
        listed = [e for e in self.status_json()["events"]
                  if e["kind"] == kind and e["subject"] == subject and e["state"] == state]
        self.assertTrue(listed, "not in /status.json")
        e = listed[0]
        self.assertGreaterEqual(e["time"], since - 1)
        self.assertLessEqual(e["time"], time.time() + 1)
        self.assertEqual(time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(e["time"]))),
                         row[2], "the page's UTC time is the JSON's")
        self.assertRegex(row[3], r"^\d+s ago$")
        self.assertRegex(e["time_utc"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertGreaterEqual(e["ago_seconds"], 0)
        return row, e

    # --- events -------------------------------------------------------------------------------

    def test_target_unhealthy_then_healthy(self):
        subject = "hc 127.0.0.1:%d" % self.health.port
        t0 = time.time()
        self.health.healthy = False
        try:
            _, e = self.wait_event("target health", subject, "unhealthy", 5, since=t0)
            self.assertIn("/healthz failed 2 times", e["detail"])
        finally:
            self.health.healthy = True
        t1 = time.time()
        _, e2 = self.wait_event("target health", subject, "healthy", 5, since=t1)
        sys.stderr.write("\nhealth events: unhealthy %.2f s after the endpoint failed, healthy "
                         "%.2f s after it recovered (interval 200 ms, thresholds 2 and 1)\n"
                         % (e["time"] - t0, e2["time"] - t1))
        events = self.status_json()["events"]
        mine = [x["state"] for x in events if x["subject"] == subject]
        self.assertEqual(mine[:2], ["healthy", "unhealthy"], "newest first, one per transition")
        self.assertGreater(e2["time"], e["time"])

    def test_unhealthy_event_shows_in_the_browser_within_one_refresh(self):
        """The page open in Chromium with ?refresh=1 lists the event, in place, within one
        refresh of sluice recording it."""
        subject = "hc2 127.0.0.1:%d" % self.health2.port
        rows = ("[...document.querySelectorAll('#events tr[data-state=\"unhealthy\"]')]"
                ".filter(r => r.cells[3].textContent === '%s').length" % subject)
        b = Browser(width=1280, height=500)
        try:
            b.open("http://127.0.0.1:%d/status?refresh=1" % self.sluice.admin_port)
            self.assertEqual(b.eval(rows), 0)
            b.eval("window.__sameDocument = true; 0")
            t0 = time.time()
            self.health2.healthy = False
            seen_json = seen_page = None
            deadline = time.time() + 8
            while time.time() < deadline and seen_page is None:
                now = time.time()
                if seen_json is None and any(
                        e["subject"] == subject and e["state"] == "unhealthy"
                        for e in self.status_json()["events"]):
                    seen_json = now
                if b.eval(rows) == 1:
                    seen_page = now
                time.sleep(0.1)
            self.assertIsNotNone(seen_page, "the page never listed the event")
            self.assertLessEqual(seen_page - (seen_json or seen_page), 2.5,
                                 "within one refresh (1 s) of sluice recording it")
            self.assertTrue(b.eval("window.__sameDocument === true"), "refreshed in place")
            cells = b.eval("[...document.querySelectorAll('#events tr[data-state=\"unhealthy\"]')]"
                           ".filter(r => r.cells[3].textContent === '%s')[0].cells.length"
                           % subject)
            self.assertEqual(cells, 6)
            cls = b.eval("[...document.querySelectorAll('#events tr[data-state=\"unhealthy\"]')]"
                         ".filter(r => r.cells[3].textContent === '%s')[0].cells[4].className"
                         % subject)
            self.assertEqual(cls, "bad")
            sys.stderr.write("\nbrowser: unhealthy listed %.2f s after the endpoint failed\n"
                             % (seen_page - t0))
        finally:
            self.health2.healthy = True
            b.close()

    def test_breaker_opens_half_opens_and_closes(self):
        subject = "brk 127.0.0.1:%d" % self.echo.port
        t0 = time.time()
        for _ in range(2):
            self.assertEqual(self.sluice.request("GET", "/brk?status=500").status, 500)
        _, e = self.wait_event("circuit", subject, "open", 3, since=t0)
        self.assertIn("tripped by failures", e["detail"])
        time.sleep(1.1)  # open_for
        self.assertEqual(self.sluice.request("GET", "/brk?status=200").status, 200)
        self.wait_event("circuit", subject, "half-open", 3, since=t0)
        self.wait_event("circuit", subject, "closed", 3, since=t0)
        states = [x["state"] for x in self.status_json()["events"] if x["subject"] == subject]
        self.assertEqual(states[:3], ["closed", "half-open", "open"])

    def test_passive_ejection_and_return(self):
        subject = "ej 127.0.0.1:%d" % self.dead
        t0 = time.time()
        for _ in range(4):  # round robin: the dead target is tried and ejected
            self.sluice.request("GET", "/ej")
        _, e = self.wait_event("ejection", subject, "ejected", 3, since=t0)
        self.assertIn("for 1 s", e["detail"])
        _, r = self.wait_event("ejection", subject, "returned", 3, since=t0)
        self.assertAlmostEqual(r["time"] - e["time"], 1.0, delta=0.2)

    def test_reload_success_and_failure_with_its_error(self):
        t0 = time.time()
        r = self.sluice.reload(self.good_config)
        self.assertEqual(r.status, 200, r)
        version = r.json()["version"]
        _, e = self.wait_event("config", "config", "reloaded", 3, since=t0)
        self.assertEqual(e["detail"], "version %d" % version)
        try:
            r = self.sluice.reload(self.good_config + "bogus_top_level_key: 1\n")
            self.assertEqual(r.status, 400, r)
            first_error = r.json()["errors"][0]
        finally:
            self.sluice.write_config(self.good_config)
        _, e = self.wait_event("config", "config", "reload failed", 3, since=t0)
        self.assertEqual(e["detail"], first_error)
        self.assertIn("bogus_top_level_key", e["detail"])
        row = [x for x in events_in_html(self.page()) if x[1] == "reload failed"][0]
        self.assertIn("bogus_top_level_key", row[5])
        # Startup is listed too, and reloads are never merged.
        events = self.status_json()["events"]
        self.assertTrue(any(x["state"] == "loaded" for x in events), events)

    def test_redis_store_lost_and_regained(self):
        subject = "redis://127.0.0.1:%d/0" % self.redis.port
        for _ in range(6):  # the workers open their Redis connections
            self.assertEqual(self.sluice.request("GET", "/rl").status, 200)
        time.sleep(0.2)
        t0 = time.time()
        self.redis.kill()
        try:
            for _ in range(4):
                self.sluice.request("GET", "/rl")
            _, e = self.wait_event("rate-limit store", subject, "lost", 3, since=t0)
            self.assertTrue(e["detail"], e)
        finally:
            t1 = time.time()
            self.redis.start()
        _, r = self.wait_event("rate-limit store", subject, "regained", 8, since=t1)
        sys.stderr.write("\nredis store: lost %.2f s after the kill, regained %.2f s after the "
                         "restart\n" % (e["time"] - t0, r["time"] - t1))
        states = [x["state"] for x in self.status_json()["events"] if x["subject"] == subject]
        self.assertEqual(states[:2], ["regained", "lost"], "one pair, not one per worker")

    # --- subsystems ---------------------------------------------------------------------------

    def test_cache_section_counts_hits_and_misses(self):
        before = self.status_json()["cache"]
        for i in range(3):
            for _ in range(3):  # a miss, then two hits
                r = self.sluice.request("GET", "/cached/%d?h=Cache-Control:max-age%%3D60" % i)
                self.assertEqual(r.status, 200)
        c = self.status_json()["cache"]
        self.assertEqual(c["misses"] - before["misses"], 3)
        self.assertEqual(c["hits"] - before["hits"], 6)
        self.assertGreaterEqual(c["entries"], 3)
        self.assertGreater(c["bytes"], 0)
        self.assertGreaterEqual(c["evictions"], 0)
        self.assertGreater(c["hit_ratio"], 0)
        html = key_values(self.page(), "cache")
        self.assertEqual(int(html["hits"]), c["hits"])
        self.assertEqual(int(html["entries"]), c["entries"])
        self.assertAlmostEqual(float(html["hit_ratio"]), c["hit_ratio"], places=3)

    def test_compression_section_counts_bytes_saved(self):
        before = self.status_json()["compression"]
        pad = "a" * 5000
        c = self.sluice.conn()
        try:
            r = c.request("GET", "/zip?pad=" + pad, headers={"Accept-Encoding": "gzip"})
        finally:
            c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("content-encoding"), "gzip")
        plain = gzip.decompress(r.body)
        self.assertGreater(len(plain), 5000)
        comp = self.status_json()["compression"]
        gz = comp["encodings"]["gzip"]
        old = before.get("encodings", {}).get("gzip", {"bytes_in": 0, "bytes_out": 0})
        # Exactly what this response was before and after the encoder.
        self.assertEqual(gz["bytes_in"] - old["bytes_in"], len(plain), comp)
        self.assertEqual(gz["bytes_out"] - old["bytes_out"], len(r.body), comp)
        self.assertEqual(gz["bytes_saved"], gz["bytes_in"] - gz["bytes_out"])
        self.assertGreater(comp["bytes_saved"] - before["bytes_saved"], 4000)
        m = re.search(r'<tr data-encoding="gzip"><td>gzip</td><td data-value="(\d+)">',
                      self.page())
        self.assertIsNotNone(m)
        self.assertEqual(int(m.group(1)), gz["bytes_in"])

    def test_http2_and_tls_sections(self):
        before = self.status_json()
        url = "https://127.0.0.1:%d/h2/" % self.tls_port
        p = subprocess.run(["curl", "-sk", "--http2", "--max-time", "10", "-w",
                            "%{http_version}\\n"] + ["-o", "/dev/null"] * 3
                           + [url + "1", url + "2", url + "3"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(p.stdout.split(), ["2", "2", "2"], p.stderr)
        # A resumed TLS session (Python ssl, TLS 1.2 session ticket) and a failed handshake.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        sess = None
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as raw:
                with ctx.wrap_socket(raw, server_hostname="status.test", session=sess) as s:
                    s.sendall(b"GET /tls HTTP/1.1\r\nHost: status.test\r\n"
                              b"Connection: close\r\n\r\n")
                    while s.recv(65536):
                        pass
                    resumed = s.session_reused
                    sess = s.session
        self.assertTrue(resumed, "the second handshake resumed")
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # plaintext to a TLS port
            raw.settimeout(3)
            try:
                while raw.recv(65536):
                    pass
            except OSError:
                pass

        def settled():
            j = self.status_json()
            return j if j["http2"]["connections_open"] == 0 and j["tls"]["failures"] > \
                before["tls"]["failures"] else None
        j = wait_for(settled, 3)
        self.assertIsNotNone(j, self.status_json())
        h2, tls = j["http2"], j["tls"]
        self.assertEqual(h2["connections_total"] - before["http2"]["connections_total"], 1,
                         "curl reused one connection for its three URLs")
        self.assertEqual(h2["streams_total"] - before["http2"]["streams_total"], 3)
        self.assertEqual(h2["streams_open"], 0)
        self.assertGreaterEqual(tls["handshakes"] - before["tls"]["handshakes"], 3)
        self.assertGreaterEqual(tls["resumptions"] - before["tls"]["resumptions"], 1)
        self.assertEqual(tls["listeners"]["secure"]["handshakes"], tls["handshakes"])
        kv = key_values(self.page(), "http2")
        self.assertEqual(int(kv["streams_total"]), h2["streams_total"])
        self.assertIn('<tr data-listener="secure">', self.page())

    def test_subsystem_figures_move_under_concurrent_load(self):
        """32 clients at once: every cache lookup and every compressed byte is counted."""
        before = self.status_json()
        clients, each = 32, 6
        lock = threading.Lock()
        got = {"cached": 0, "plain": 0, "wire": 0, "errors": []}

        def client(n):
            try:
                for i in range(each):
                    if i % 2 == 0:
                        r = self.sluice.request(
                            "GET", "/cached/load-%d?h=Cache-Control:max-age%%3D60" % (i // 2))
                        assert r.status == 200, r
                        with lock:
                            got["cached"] += 1
                    else:
                        c = self.sluice.conn()
                        try:
                            r = c.request("GET", "/zip/%d?pad=%s" % (n, "b" * (1000 + 37 * n)),
                                          headers={"Accept-Encoding": "gzip"})
                        finally:
                            c.close()
                        assert r.status == 200 and r.header("content-encoding") == "gzip", r
                        with lock:
                            got["plain"] += len(gzip.decompress(r.body))
                            got["wire"] += len(r.body)
            except Exception as e:  # noqa: BLE001 (reported below)
                with lock:
                    got["errors"].append(repr(e))
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(got["errors"], [])
        after = self.status_json()
        c0, c1 = before["cache"], after["cache"]
        lookups = sum(c1[k] - c0[k] for k in ("hits", "stale_hits", "misses", "bypass"))
        self.assertEqual(lookups, got["cached"], (c0, c1))
        self.assertGreaterEqual(c1["misses"] - c0["misses"], 3, "three new keys")
        self.assertGreater(c1["hits"] - c0["hits"], 0)
        self.assertEqual(c1["entries"] - c0["entries"], 3)
        self.assertGreater(c1["bytes"], c0["bytes"])
        g0 = before["compression"]["encodings"].get("gzip", {"bytes_in": 0, "bytes_out": 0})
        g1 = after["compression"]["encodings"]["gzip"]
        self.assertEqual(g1["bytes_in"] - g0["bytes_in"], got["plain"])
        self.assertEqual(g1["bytes_out"] - g0["bytes_out"], got["wire"])
        self.assertGreater(after["compression"]["bytes_saved"] - before["compression"]["bytes_saved"],
                           got["plain"] // 2)
        # The HTML page shows the same figures.
        html = self.page()
        self.assertEqual(int(key_values(html, "cache")["entries"]), c1["entries"])

    def test_sections_render_in_chromium(self):
        dom = dump_dom("http://127.0.0.1:%d/status" % self.sluice.admin_port)
        self.assertIn("<h2>Events</h2>", dom)
        self.assertTrue(events_in_html(dom), "startup at least is listed")
        b = Browser(width=1280, height=700)
        try:
            b.open("http://127.0.0.1:%d/status" % self.sluice.admin_port)
            ids = b.eval("[...document.querySelectorAll('h2 + *')].map(e => e.id)")
            self.assertEqual(ids[-5:], ["events", "cache", "compression", "http2", "tls"],
                             "the new sections, in order, after the built-in ones")
            self.assertIn("ratelimits", ids[:-5])
            # Laid out, with their rows: each table is visible and as wide as its text needs.
            boxes = b.eval("['events','cache','compression','http2','tls'].map(id => {"
                           "const t = document.getElementById(id), r = t.getBoundingClientRect();"
                           "return [id, r.width, r.height, t.rows.length]})")
            for name, w, h, rows in boxes:
                self.assertGreater(w, 100, name)
                self.assertGreater(h, 15, name)
                self.assertGreaterEqual(rows, 2, name)
            loaded = b.eval("[...document.querySelectorAll('#events tr[data-state=\"loaded\"]')]"
                            ".map(r => [r.cells[2].textContent, r.cells[3].textContent])")
            self.assertEqual(loaded, [["config", "config"]])
            self.assertEqual(b.eval("performance.getEntriesByType('resource').filter("
                                    "e => !e.name.startsWith(location.origin)).length"), 0)
        finally:
            b.close()

if __name__ == "__main__":
    main()
