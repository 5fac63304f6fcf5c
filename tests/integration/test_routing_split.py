"""Weighted splits and redirects (spec/gateway.md Routing, issue 16 items 2 and 4) with the real
binary and three echo upstreams: `upstreams: [{name, weight}]` splits requests by weight, `sticky`
keeps a cookie or header value on one side, a reload that changes the weights moves only the share
it must (measured over 200 keys), and `redirect:` answers 301/302/303/307/308 with a Location
kept from the request or built from a template, over HTTP/1.1 and HTTP/2 (h2c)."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import ProxyTestCase, main, make_config, sluice_binary

ROUTES = [
    "{name: split, match: {path_prefix: /s/}, upstreams: [{name: v1, weight: %(w1)d}, "
    "{name: v2, weight: %(w2)d}], sticky: {key: 'cookie:sid'}}",
    "{name: by-user, match: {path_prefix: /u/}, upstreams: [{name: v1, weight: 1}, "
    "{name: v2, weight: 1}, {name: v3, weight: 1}], sticky: {key: 'header:x-user'}}",
    "{name: dark, match: {path_prefix: /dark/}, upstreams: [{name: v1, weight: 1}, "
    "{name: v3, weight: 0}]}",
    "{name: to-https, match: {path_prefix: /secure/}, redirect: {scheme: https, status: 308}}",
    "{name: moved-host, match: {path_prefix: /host/}, redirect: {host: 'new.example.com:8443'}}",
    "{name: moved, match: {path_prefix: /old-docs/}, "
    "redirect: {to: 'https://docs.example.com${path}?from=${host}&${query}', status: 301}}",
    "{name: see-other, match: {path_prefix: /post/}, redirect: {to: '/done', status: 303}}",
    "{name: temp, match: {path_prefix: /temp/}, redirect: {scheme: http, status: 307}}",
    "{name: guarded, match: {path_prefix: /guarded/}, "
    "filters: [{ip_filter: {deny: [127.0.0.0/8]}}], redirect: {scheme: https}}",
]


def split_config(ports, w1=90, w2=10):
    text = make_config({n: ports[n] for n in ("v1", "v2", "v3")},
                       [r % {"w1": w1, "w2": w2} if "%(" in r else r for r in ROUTES])
    return text.replace("listeners: [{name: main, address: 127.0.0.1:$PORT}]",
                        "listeners: [{name: main, address: 127.0.0.1:$PORT, http2: {h2c: true}}]")


class SplitTest(ProxyTestCase):
    UPSTREAMS = {"v1": ("echo",), "v2": ("echo",), "v3": ("echo",)}

    @classmethod
    def config(cls, ports):
        cls.ports = ports
        return split_config(ports)

    def sides(self, targets, headers_for=lambda i: {}):
        """Sends GET `targets[i]` on one keep-alive connection; returns the upstream the access
        log names for each, in order."""
        c = self.conn()
        for i, t in enumerate(targets):
            r = c.request("GET", t, headers=headers_for(i))
            self.assertEqual(r.status, 200, r)
        want = set(targets)
        deadline = time.time() + 10
        while True:
            seen = {}
            for line in self.sluice.access_log_lines():
                if line.get("path") in want:
                    seen[line["path"]] = line.get("upstream")
            if len(seen) == len(want) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(len(seen), len(want), "one access log line per request")
        return [seen[t] for t in targets]

    def test_split_follows_the_weights_without_a_key(self):
        # No sid cookie: each request goes at random by weight.
        stamp = time.time_ns()
        marks = {n: self.up[n].mark() for n in ("v1", "v2", "v3")}
        got = self.sides(["/s/r%d-%d" % (stamp, i) for i in range(1000)])
        v2 = got.count("v2")
        self.assertEqual(got.count("v1") + v2, 1000, set(got))
        self.assertGreater(v2, 60)   # 100 expected; sd 9.5
        self.assertLess(v2, 140)
        # The access log names the upstream that really served: the upstreams' own logs agree.
        self.assertEqual(len(self.up["v2"].requests_since(marks["v2"])), v2)
        self.assertEqual(len(self.up["v1"].requests_since(marks["v1"])), 1000 - v2)
        self.assertEqual(self.up["v3"].requests_since(marks["v3"]), [])

    def test_sticky_cookie_stays_on_one_side(self):
        stamp = time.time_ns()
        keys = ["user-%d" % k for k in range(40)]
        targets = ["/s/c%d-%d-%d" % (stamp, k, rep) for rep in range(4) for k in range(40)]
        got = self.sides(targets, lambda i: {"Cookie": "a=1; sid=%s; b=2" % keys[i % 40]})
        for k in range(40):
            self.assertEqual(len({got[rep * 40 + k] for rep in range(4)}), 1,
                             "key %s moved between sides" % keys[k])
        self.assertIn("v2", got)  # 40 keys at 90/10: both sides have some

    def test_sticky_header_stays_on_one_side_of_three(self):
        stamp = time.time_ns()
        targets = ["/u/h%d-%d-%d" % (stamp, k, rep) for rep in range(3) for k in range(60)]
        got = self.sides(targets, lambda i: {"X-User": "u%d" % (i % 60)})
        for k in range(60):
            self.assertEqual(len({got[rep * 60 + k] for rep in range(3)}), 1, "u%d moved" % k)
        for side in ("v1", "v2", "v3"):
            self.assertGreater(got.count(side), 3 * 8, side)  # 20 keys each expected

    def test_zero_weight_side_gets_nothing(self):
        stamp = time.time_ns()
        got = self.sides(["/dark/%d-%d" % (stamp, i) for i in range(100)])
        self.assertEqual(set(got), {"v1"})

    def test_status_page_shows_the_split(self):
        r = self.sluice.admin("GET", "/status")
        self.assertEqual(r.status, 200)
        self.assertIn("v1 90, v2 10 (sticky cookie:sid)", r.body.decode())
        self.assertIn("(redirect 308)", r.body.decode())

    # ---- redirects ----

    def redirect(self, target, host="test.local", method="GET", status=None):
        r = self.conn().request(method, target, host=host)
        if status is not None:
            self.assertEqual(r.status, status, r)
        self.assertEqual(int(r.header("content-length")), len(r.body) if method != "HEAD"
                         else int(r.header("content-length")))
        return r

    def test_scheme_redirect_keeps_host_path_and_query(self):
        r = self.redirect("/secure/a/b?x=1&y=%20", host="www.example.com:8080", status=308)
        self.assertEqual(r.header("location"), "https://www.example.com:8080/secure/a/b?x=1&y=%20")
        self.assertIn(b"Permanent Redirect", r.body)
        self.assertTrue(r.header("x-request-id"))

    def test_host_redirect_keeps_scheme_path_and_query_and_defaults_to_302(self):
        r = self.redirect("/host/p?q=2", status=302)
        self.assertEqual(r.header("location"), "http://new.example.com:8443/host/p?q=2")

    def test_to_redirect_expands_variables(self):
        r = self.redirect("/old-docs/guide/intro?lang=en", host="docs.old", status=301)
        self.assertEqual(r.header("location"),
                         "https://docs.example.com/old-docs/guide/intro?from=docs.old&lang=en")

    def test_303_and_307_and_head(self):
        r = self.conn().request("POST", "/post/form", body=b"a=1")
        self.assertEqual(r.status, 303)
        self.assertEqual(r.header("location"), "/done")
        r = self.redirect("/temp/x?k=v", status=307)
        self.assertEqual(r.header("location"), "http://test.local/temp/x?k=v")
        r = self.redirect("/secure/h", method="HEAD", status=308)
        self.assertEqual(r.body, b"")
        self.assertGreater(int(r.header("content-length")), 0)

    def test_redirects_reach_no_upstream(self):
        marks = {n: self.up[n].mark() for n in ("v1", "v2", "v3")}
        self.redirect("/secure/nothing", status=308)
        self.redirect("/old-docs/nothing", status=301)
        for n, m in marks.items():
            self.assertEqual(self.up[n].requests_since(m), [], n)

    def test_route_filters_run_before_the_redirect(self):
        r = self.conn().request("GET", "/guarded/x")
        self.assertEqual(r.status, 403)
        self.assertIsNone(r.header("location"))

    def test_redirect_over_http2(self):
        p = subprocess.run(
            ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10", "-D", "-",
             "-o", "/dev/null", "-H", "Host: h2.example",
             "http://127.0.0.1:%d/old-docs/h2?z=9" % self.sluice.port],
            capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 0, p.stderr)
        head = p.stdout.lower()
        self.assertIn("http/2 301", head)
        self.assertIn("location: https://docs.example.com/old-docs/h2?from=h2.example&z=9", head)
        self.assertIn("content-length: ", head)


class SplitReloadTest(ProxyTestCase):
    """A reload from 90/10 to 80/20 moves only the keys it must: about 10% of 200 sticky keys,
    all from v1 to v2 (a hash modulo the weights would move far more, and both ways)."""
    UPSTREAMS = {"v1": ("echo",), "v2": ("echo",), "v3": ("echo",)}

    @classmethod
    def config(cls, ports):
        cls.ports = ports
        return split_config(ports)

    def sides(self, tag):
        c = self.conn()
        marks = {n: self.up[n].mark() for n in ("v1", "v2")}
        for k in range(200):
            r = c.request("GET", "/s/%s/%d" % (tag, k), headers={"Cookie": "sid=key-%d" % k})
            self.assertEqual(r.status, 200, r)
        side = {}
        for n in ("v1", "v2"):
            for e in self.up[n].requests_since(marks[n]):
                side[int(e["target"].rsplit("/", 1)[1])] = n
        self.assertEqual(len(side), 200)
        return side

    def test_weight_change_moves_only_its_share(self):
        before = self.sides("before")
        self.assertEqual(self.sides("again"), before)  # sticky without a reload
        r = self.sluice.reload(split_config(self.ports, 80, 20))
        self.assertEqual(r.status, 200, r)
        after = self.sides("after")
        moved = [k for k in range(200) if before[k] != after[k]]
        print("\n90/10 -> 80/20: %d of 200 keys moved (v2 had %d, now %d)" % (
            len(moved), list(before.values()).count("v2"), list(after.values()).count("v2")))
        self.assertTrue(all(before[k] == "v1" and after[k] == "v2" for k in moved),
                        "a key left v2 or moved elsewhere")
        self.assertGreater(len(moved), 8)   # 20 expected (10% of 200)
        self.assertLess(len(moved), 34)


class BadSplitConfigTest(unittest.TestCase):
    def check(self, route, message):
        d = tempfile.mkdtemp(prefix="sluice-split-t-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write(make_config({"v1": 9, "v2": 8}, [route]).replace("$DIR", d)
                    .replace("$ADMIN", "19999").replace("$PORT", "19998"))
        p = subprocess.run([sluice_binary(), "-t", "-c", path], capture_output=True, text=True,
                           timeout=10)
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, out)
        self.assertRegex(out, message)

    def test_unknown_side(self):
        self.check("{name: r, upstreams: [{name: v1}, {name: v9, weight: 2}]}",
                   r"sluice\.yaml:\d+:\d+: upstream \"v9\" is not defined; use one of: v1, v2")

    def test_unknown_variable_in_redirect(self):
        self.check("{name: r, redirect: {to: 'https://x${paht}'}}",
                   r"sluice\.yaml:\d+:\d+: to: unknown variable \$\{paht\}")

    def test_bad_redirect_status(self):
        self.check("{name: r, redirect: {scheme: https, status: 200}}",
                   r"status: 200 is not a redirect status; write 301, 302, 303, 307 or 308")


if __name__ == "__main__":
    main()
