"""Route matching (spec/gateway.md Routing, issue 16 items 1 and 5) with the real binary and an
echo upstream: path_regex, host {regex}, header {regex} and {present: true|false}, query
parameters (exact, regex, presence), priority (higher first, file order among equals), and
rewrite.path_regex with capture groups keeping the query; one HTTP/2 (h2c) request is routed the
same way; a bad regex fails `sluice -t` at its line. Each route names itself to the upstream in
x-route (a header variable), so the test sees which route served a request."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import ProxyTestCase, echo_headers, main, make_config, sluice_binary


def route(name, match, extra=""):
    return ("{name: %s, match: %s, upstream: echo, "
            "request_headers: {set: {x-route: '${route}'}}%s}" % (name, match, extra))


ROUTES = [
    "{name: catch-all, priority: -10, upstream: echo, "
    "request_headers: {set: {x-route: '${route}'}}}",
    route("users", "{path_regex: '^/users/[0-9]+$'}"),
    route("tenant-host", r"{host: {regex: '[a-z]+\.tenants\.test'}}"),
    route("hdr-regex", "{path_prefix: /h/, headers: {x-version: {regex: '^v[12]$'}}}"),
    route("hdr-absent", "{path_prefix: /h/, headers: {x-debug: {present: false}}}"),
    route("hdr-present", "{path_prefix: /h/, headers: {x-debug: {present: true}}}"),
    route("query", "{path: /q, query: {tenant: acme, page: {regex: '[0-9]+'}, "
                   "beta: {present: true}, legacy: {present: false}}}"),
    route("api", "{path_prefix: /api/}"),
    route("api-same-priority", "{path_prefix: /api/}"),
    # Later in the file than `api`, but a higher priority: wins for /api/admin/.
    "{name: api-admin, priority: 10, match: {path_prefix: /api/admin/}, upstream: echo, "
    "request_headers: {set: {x-route: '${route}'}}}",
    route("old", "{path_prefix: /old/}",
          r", rewrite: {path_regex: {pattern: '^/old/([a-z]+)/([0-9]+)$', replace: '/new/\2/\1'}}"),
]


class RoutingMatchTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        text = make_config({"echo": ports["echo"]}, ROUTES)
        return text.replace("listeners: [{name: main, address: 127.0.0.1:$PORT}]",
                            "listeners: [{name: main, address: 127.0.0.1:$PORT, "
                            "http2: {h2c: true}}]")

    def served(self, target, headers=None, host="test.local"):
        """(route name, target the upstream saw) of a GET."""
        r = self.conn().request("GET", target, headers=headers or {}, host=host)
        self.assertEqual(r.status, 200, r.body[:300])
        seen = echo_headers(r)
        return seen["x-route"][0], r.json()["target"]

    def route_of(self, target, headers=None, host="test.local"):
        return self.served(target, headers, host)[0]

    def test_path_regex_is_whole_path_without_query(self):
        self.assertEqual(self.route_of("/users/42"), "users")
        self.assertEqual(self.route_of("/users/42?tab=1"), "users")
        self.assertEqual(self.route_of("/users/42/edit"), "catch-all")
        self.assertEqual(self.route_of("/users/me"), "catch-all")

    def test_host_regex(self):
        self.assertEqual(self.route_of("/", host="acme.tenants.test"), "tenant-host")
        self.assertEqual(self.route_of("/", host="acme.tenants.test:8080"), "tenant-host")
        self.assertEqual(self.route_of("/", host="ACME.Tenants.test"), "tenant-host")
        self.assertEqual(self.route_of("/", host="acme1.tenants.test"), "catch-all")
        self.assertEqual(self.route_of("/", host="acme.tenants.test.evil"), "catch-all")

    def test_header_regex_and_presence(self):
        self.assertEqual(self.route_of("/h/x", {"x-version": "v2"}), "hdr-regex")
        self.assertEqual(self.route_of("/h/x", {"x-version": "v3"}), "hdr-absent")
        self.assertEqual(self.route_of("/h/x", {"x-version": "v12"}), "hdr-absent")
        self.assertEqual(self.route_of("/h/x", {"x-version": "v3", "x-debug": "1"}),
                         "hdr-present")
        self.assertEqual(self.route_of("/h/x", {"x-debug": ""}), "hdr-present")
        # Two lines are one value, "v2, v9": the regex must hold for the whole of it.
        self.assertEqual(self.route_of("/h/x", [("x-version", "v2"), ("x-version", "v9")]),
                         "hdr-absent")

    def test_query_parameters(self):
        self.assertEqual(self.route_of("/q?tenant=acme&page=2&beta"), "query")
        self.assertEqual(self.route_of("/q?beta=1&page=10&tenant=acme&x=y"), "query")
        self.assertEqual(self.route_of("/q?tenant=acme&page=2"), "catch-all")  # no beta
        self.assertEqual(self.route_of("/q?tenant=acme&page=2&beta&legacy=1"), "catch-all")
        self.assertEqual(self.route_of("/q?tenant=acme&page=two&beta"), "catch-all")
        self.assertEqual(self.route_of("/q?tenant=ACME&page=2&beta"), "catch-all")
        # raw values, not percent-decoded (as Envoy): %61cme is not acme
        self.assertEqual(self.route_of("/q?tenant=%61cme&page=2&beta"), "catch-all")

    def test_priority_then_file_order(self):
        self.assertEqual(self.route_of("/api/admin/users"), "api-admin")
        self.assertEqual(self.route_of("/api/users"), "api")
        # the catch-all is first in the file but has priority -10
        self.assertEqual(self.route_of("/elsewhere"), "catch-all")

    def test_rewrite_path_regex_keeps_the_query(self):
        name, target = self.served("/old/item/42?x=1&y=a%20b")
        self.assertEqual(name, "old")
        self.assertEqual(target, "/new/42/item?x=1&y=a%20b")
        name, target = self.served("/old/item/42")
        self.assertEqual(target, "/new/42/item")
        # a path the pattern does not match whole goes up unchanged
        name, target = self.served("/old/item/x?q=1")
        self.assertEqual((name, target), ("old", "/old/item/x?q=1"))

    def test_http2_request_is_routed_the_same_way(self):
        if shutil.which("curl") is None:
            self.skipTest("curl is not installed")
        p = subprocess.run(
            ["curl", "-s", "--max-time", "10", "--http2-prior-knowledge", "-H", "x-version: v1",
             "-w", "\n%{http_version}",
             "http://127.0.0.1:%d/h/x?tenant=acme" % self.sluice.port],
            capture_output=True, text=True, timeout=15)
        body, _, version = p.stdout.rpartition("\n")
        self.assertEqual(version, "2", p.stdout + p.stderr)
        seen = {k.lower(): v for k, v in json.loads(body)["headers"]}
        self.assertEqual(seen["x-route"], "hdr-regex")
        p = subprocess.run(
            ["curl", "-s", "--max-time", "10", "--http2-prior-knowledge",
             "http://127.0.0.1:%d/old/abc/7?k=v" % self.sluice.port],
            capture_output=True, text=True, timeout=15)
        self.assertEqual(json.loads(p.stdout)["target"], "/new/7/abc?k=v")


class BadRegexTest(unittest.TestCase):
    def test_bad_regex_fails_the_config_test_at_its_line(self):
        d = tempfile.mkdtemp(prefix="sluice-rmatch-t-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "sluice.yaml")
        text = make_config({"echo": 9}, [
            "{name: ok, match: {path_prefix: /}, upstream: echo}",
            "{name: bad, match: {path_regex: '^/users/([0-9]+$'}, upstream: echo}"])
        with open(path, "w") as f:
            f.write(text.replace("$DIR", d).replace("$ADMIN", "19999").replace("$PORT", "19998"))
        line = text.splitlines().index(
            "  - {name: bad, match: {path_regex: '^/users/([0-9]+$'}, upstream: echo}") + 1
        p = subprocess.run([sluice_binary(), "-t", "-c", path], capture_output=True, text=True,
                           timeout=10)
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, out)
        self.assertRegex(out, r"sluice\.yaml:%d:\d+: path_regex: bad regex "
                              r"\"\^/users/\(\[0-9\]\+\$\": missing \)" % line)


if __name__ == "__main__":
    main()
