"""Targets from DNS (issue 16 item 8): a host name expands to every A/AAAA address it has, an
`srv:` target to its SRV records' addresses with their weights and ports (lowest priority only),
kept in sync by `resolve_every` without a reload and without a failed request. A tiny DNS server
(dns_server.py, its own process) answers for a test zone; sluice asks it through
`resolver: {servers: [...]}`."""

import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (HERE, Sluice, Upstream, free_port, http_request, main, metric_sum,
                     run_sluice)

DNS_SERVER_PY = os.path.join(HERE, "dns_server.py")


class DnsServer:
    """dns_server.py in its own process, answering from a zone file that set_zone() rewrites."""

    def __init__(self, zone):
        self.dir = tempfile.mkdtemp(prefix="sluice-dns-")
        self.zone_path = os.path.join(self.dir, "zone.json")
        self.set_zone(zone)
        self.proc = subprocess.Popen([sys.executable, DNS_SERVER_PY, "--zone", self.zone_path],
                                     stdout=subprocess.PIPE, text=True)
        r, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline() if r else ""
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError("dns server did not start: %r" % line)
        self.port = int(line.split()[1])

    def set_zone(self, zone):
        tmp = self.zone_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(zone, f)
        os.replace(tmp, self.zone_path)

    def stop(self):
        if getattr(self, "proc", None) is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc.stdout.close()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def config(dns_port, upstreams):
    """`upstreams` is YAML text of the upstreams list's entries; one route per upstream, on
    /NAME/."""
    names = [line.split("name:")[1].split(",")[0].strip()
             for line in upstreams.strip().splitlines() if "name:" in line]
    routes = "\n".join("  - {name: r_%s, match: {path_prefix: /%s/}, upstream: %s}" % (n, n, n)
                       for n in names)
    return """workers: 2
admin: {address: 127.0.0.1:$ADMIN}
access_log: {path: $DIR/access.log}
resolver: {servers: ["127.0.0.1:%d"]}
listeners: [{name: main, address: 127.0.0.1:$PORT}]
upstreams:
%s
routes:
%s
""" % (dns_port, upstreams.rstrip(), routes)


def localhost_addresses():
    with open("/etc/hosts") as f:
        entries = [line.split("#")[0].split() for line in f]
    return {e[0] for e in entries if len(e) > 1 and "localhost" in e[1:]}


def served(upstreams):
    return [len(u.requests()) for u in upstreams]


class DnsTargetsTest(unittest.TestCase):
    def setUp(self):
        self.cleanups = []

    def tearDown(self):
        for c in reversed(self.cleanups):
            c()

    def upstream(self, *args):
        u = Upstream("echo", *args).start()
        self.cleanups.append(u.stop)
        return u

    def dns(self, zone):
        d = DnsServer(zone)
        self.cleanups.append(d.stop)
        return d

    def sluice(self, text):
        s = Sluice(text).start()
        self.cleanups.append(lambda: s.__exit__(None, None, None))
        return s

    def get(self, s, path, n):
        for _ in range(n):
            r = s.request("GET", path)
            self.assertEqual(r.status, 200, r.body[:200])

    def test_name_expands_to_every_address_v4_and_v6(self):
        v4 = self.upstream()
        v6 = self.upstream("--host", "::1", "--port", v4.port)  # the same port on ::1
        dns = self.dns({"A": {"api.test": ["127.0.0.1"]}, "AAAA": {"api.test": ["::1"]}})
        s = self.sluice(config(dns.port, "  - {name: api, targets: [{address: 'api.test:%d', "
                                         "weight: 2}]}" % v4.port))
        self.get(s, "/api/x", 40)
        # Round robin over the two addresses, each with the configured weight: an even share
        # (each of the two workers alternates on its own: at most one off per worker).
        got = served([v4, v6])
        self.assertEqual(sum(got), 40)
        self.assertLessEqual(abs(got[0] - 20), 2, got)
        text = s.metrics()
        for target in ("127.0.0.1:%d" % v4.port, "[::1]:%d" % v4.port):
            self.assertEqual(metric_sum(text, "sluice_upstream_target_healthy", upstream="api",
                                        target=target), 1, target)

    @unittest.skipUnless({"127.0.0.1", "::1"} <= localhost_addresses(),
                         "/etc/hosts does not name localhost for both 127.0.0.1 and ::1")
    def test_localhost_from_etc_hosts_expands_to_both(self):
        v4 = self.upstream()
        v6 = self.upstream("--host", "::1", "--port", v4.port)
        s = self.sluice("""workers: 1
admin: {address: 127.0.0.1:$ADMIN}
listeners: [{name: main, address: 127.0.0.1:$PORT}]
upstreams: [{name: api, targets: [{address: 'localhost:%d'}]}]
routes: [{name: all, match: {path_prefix: /}, upstream: api}]
""" % v4.port)
        self.get(s, "/", 20)
        self.assertEqual(served([v4, v6]), [10, 10])  # one worker: strict alternation

    def test_srv_weights_priorities_and_changes_without_reload(self):
        a, b, c, d = (self.upstream() for _ in range(4))
        srv = "_http._tcp.api.test"
        zone = {"A": {"a.api.test": ["127.0.0.1"], "b.api.test": ["127.0.0.1"]},
                "SRV": {srv: [[10, 1, a.port, "a.api.test"], [10, 3, b.port, "b.api.test."],
                              [20, 50, c.port, "a.api.test"]]}}
        dns = self.dns(zone)
        s = self.sluice(config(dns.port, "  - {name: api, resolve_every: 1s, keepalive: 4, "
                                         "targets: [{srv: %s}]}" % srv))
        self.get(s, "/api/x", 80)
        # Weights 1:3 from the records (smooth round robin per worker: exact per 4 picks, so at
        # most one short per worker); priority 20 is a fallback group and gets nothing.
        got = served([a, b, c, d])
        self.assertEqual(sum(got), 80)
        self.assertLessEqual(abs(got[0] - 20), 2, got)
        self.assertEqual(got[2:], [0, 0])
        reloads = s.reloads_total()

        # Light load while the answer changes: a goes away, d (port from its record) comes in.
        failures, done, total = [], threading.Event(), [0]

        def load():
            while not done.is_set():
                try:
                    r = http_request(s.port, "GET", "/api/load", timeout=5)
                    if r.status != 200:
                        failures.append(r.status)
                except Exception as e:  # noqa: BLE001 - any failure counts
                    failures.append(repr(e))
                total[0] += 1
                time.sleep(0.01)

        t = threading.Thread(target=load)
        t.start()
        try:
            time.sleep(0.5)
            zone["SRV"][srv] = [[10, 3, b.port, "b.api.test"], [10, 1, d.port, "b.api.test"]]
            dns.set_zone(zone)
            deadline = time.time() + 8
            while time.time() < deadline and not d.requests():
                time.sleep(0.1)
            self.assertTrue(d.requests(), "the new SRV record got no traffic within 8 s")
            time.sleep(0.3)  # requests picked before the switch finish
            a_before = len(a.requests())
            time.sleep(1.5)
        finally:
            done.set()
            t.join(timeout=10)
        self.assertEqual(failures, [])
        self.assertGreater(total[0], 50)
        self.assertEqual(len(a.requests()), a_before, "a removed record still gets requests")
        self.assertEqual(s.reloads_total(), reloads)  # no reload took place
        self.assertIn("upstream addresses changed after re-resolution", s.stderr_text())
        text = s.metrics()
        self.assertEqual(metric_sum(text, "sluice_upstream_target_healthy", upstream="api",
                                    target="127.0.0.1:%d" % a.port), 0)  # no series: gone
        self.assertEqual(metric_sum(text, "sluice_upstream_target_healthy", upstream="api",
                                    target="127.0.0.1:%d" % d.port), 1)

        # The name stops resolving: the last targets stay, and that is logged once.
        dns.set_zone({"A": {}, "SRV": {}})
        time.sleep(2.5)
        self.get(s, "/api/y", 8)
        self.assertEqual(s.stderr_text().count("did not resolve (no SRV records)"), 1,
                         s.stderr_text())

    def test_check_reports_bad_srv_and_resolver(self):
        tmp = tempfile.mkdtemp(prefix="sluice-dns-check-")
        self.cleanups.append(lambda: shutil.rmtree(tmp, ignore_errors=True))
        path = os.path.join(tmp, "bad.yaml")
        with open(path, "w") as f:
            f.write("""resolver: {servers: [dns.internal:53]}
listeners: [{name: main, address: 127.0.0.1:%d}]
upstreams: [{name: api, targets: [{srv: "_http._tcp.api.test", weight: 2}]}]
routes: [{name: all, match: {path_prefix: /}, upstream: api}]
""" % free_port())
        r = run_sluice(["-t", "-c", path])
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("bad.yaml:1:", r.stderr)
        self.assertIn('"dns.internal" is not an IP address', r.stderr)
        self.assertIn("weights from the SRV records", r.stderr)


if __name__ == "__main__":
    main()
