"""Edge security filters (spec/gateway.md, issue 15 items 1, 2, 4, 5, 8) with the real binary:
ip_filter on the client address as `key: ip` sees it (X-Forwarded-For from a trusted proxy, the
PROXY protocol, IPv4 and IPv6); CORS preflights answered by sluice without the upstream hearing
of them, and the CORS fields of actual requests; basic_auth from an htpasswd file made by
`htpasswd -B` and `openssl passwd -5/-6` (and its cache of good passwords); api_key from a header
or the query, its consumer as a rate-limit key; credentials in no access-log line, metric or
error body; files re-read on reload; `sluice -t` naming a missing file at its key."""

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (Conn, ProxyTestCase, Sluice, Upstream, build_request,
                     clear_of_window_boundary, echo_headers, main, make_config, metric_sum,
                     run_sluice)

PASSWORDS = {"alice": "wonder-land-7", "bob": "sha512-pass", "carol": "sha256-pass"}
KEYS = {"acme": "acme-key-0f3c9a", "beta": "beta-key-77d1e2"}


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def write_htpasswd(path, cost=12):
    """alice: bcrypt ($2y$, `htpasswd -B`); bob: SHA-512 crypt; carol: SHA-256 crypt."""
    subprocess.run(["htpasswd", "-cbB", "-C", str(cost), path, "alice", PASSWORDS["alice"]],
                   check=True, capture_output=True)
    with open(path, "a") as f:
        for user, flag in (("bob", "-6"), ("carol", "-5")):
            h = subprocess.run(["openssl", "passwd", flag, PASSWORDS[user]], check=True,
                               capture_output=True, text=True).stdout.strip()
            f.write("%s:%s\n" % (user, h))


def write_keys(path, keys):
    with open(path, "w") as f:
        for consumer, key in keys.items():
            f.write("- {consumer: %s, key_sha256: %s}\n"
                    % (consumer, hashlib.sha256(key.encode()).hexdigest()))


class EdgeSecurityTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        cls.files = tempfile.mkdtemp(prefix="sluice-edge-")
        cls.htpasswd = os.path.join(cls.files, "htpasswd")
        cls.keys = os.path.join(cls.files, "keys.yaml")
        write_htpasswd(cls.htpasswd)
        write_keys(cls.keys, KEYS)
        cors = ("{cors: {origins: ['https://app.example.com', '*.example.org'], "
                "methods: [GET, PUT], headers: [authorization, content-type], "
                "expose_headers: [x-request-id], credentials: true, max_age: 10m}}")
        cls.routes = [
            "{name: ip_allow, match: {path_prefix: /ip/allow}, upstream: echo, "
            "filters: [{ip_filter: {allow: [127.0.0.0/8]}}]}",
            "{name: ip_deny, match: {path_prefix: /ip/deny}, upstream: echo, "
            "filters: [{ip_filter: {allow: [127.0.0.0/8], deny: [127.0.0.1/32]}}]}",
            "{name: ip_xff, match: {path_prefix: /ip/xff}, upstream: echo, "
            "filters: [{ip_filter: {allow: [203.0.113.0/24, '2001:db8::/32'], "
            "deny: [203.0.113.66/32]}}]}",
            "{name: cors, match: {path_prefix: /cors}, upstream: echo, filters: [%s]}" % cors,
            "{name: basic, match: {path_prefix: /basic}, upstream: echo, "
            "filters: [%s, {basic_auth: {realm: admin, users_file: %s}}]}" % (cors, cls.htpasswd),
            "{name: key_header, match: {path_prefix: /key/header}, upstream: echo, "
            "filters: [{api_key: {from: 'header:x-api-key', keys_file: %s}}]}" % cls.keys,
            "{name: key_query, match: {path_prefix: /key/query}, upstream: echo, "
            "filters: [{api_key: {from: 'query:api_key', keys_file: %s}}, "
            "{token_bucket: {rate: 1/m, burst: 2, key: consumer}}]}" % cls.keys,
            "{name: basic_limited, match: {path_prefix: /blimit}, upstream: echo, "
            "filters: [{basic_auth: {realm: admin, users_file: %s}}, "
            "{fixed_window: {limit: 1, window: 1m, key: consumer}}]}" % cls.htpasswd,
        ]
        return cls.make(ports)

    @classmethod
    def make(cls, ports):
        return make_config({"echo": ports["echo"]}, cls.routes,
                           extra="trusted_proxies: [127.0.0.1/32]")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.files, ignore_errors=True)

    def get(self, target, headers=None, method="GET"):
        return self.sluice.request(method, target, headers=headers or {})

    # ---- ip_filter ---------------------------------------------------------------------------

    def test_ip_filter_allows_and_denies_the_peer(self):
        self.assertEqual(self.get("/ip/allow").status, 200)
        mark = self.up["echo"].mark()
        r = self.get("/ip/deny", {"Accept": "application/json"})
        self.assertEqual(r.status, 403)
        body = r.json()  # sluice's own error format, with the request id
        self.assertEqual(body["request_id"], r.header("x-request-id"))
        time.sleep(0.1)
        self.assertEqual(self.up["echo"].requests_since(mark), [])

    def test_ip_filter_believes_forwarded_for_from_a_trusted_proxy(self):
        # The peer (127.0.0.1) is trusted: the client is the nearest untrusted hop.
        self.assertEqual(self.get("/ip/xff", {"X-Forwarded-For": "203.0.113.7"}).status, 200)
        self.assertEqual(self.get("/ip/xff", {"X-Forwarded-For": "203.0.113.66"}).status, 403)
        self.assertEqual(self.get("/ip/xff", {"X-Forwarded-For": "198.51.100.1"}).status, 403)
        # A client that puts an allowed address in front of its own gains nothing.
        self.assertEqual(
            self.get("/ip/xff", {"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}).status, 403)
        self.assertEqual(self.get("/ip/xff", {"X-Forwarded-For": "2001:db8::7"}).status, 200)
        self.assertEqual(self.get("/ip/xff", {"X-Forwarded-For": "2001:db9::7"}).status, 403)
        self.assertEqual(self.get("/ip/xff").status, 403)  # the peer itself: not allowed here

    # ---- cors ----------------------------------------------------------------------------

    def test_cors_preflight_is_answered_without_the_upstream(self):
        mark = self.up["echo"].mark()
        r = self.get("/cors/x", {"Origin": "https://a.example.org",
                                 "Access-Control-Request-Method": "PUT",
                                 "Access-Control-Request-Headers": "content-type"},
                     method="OPTIONS")
        self.assertEqual(r.status, 204)
        self.assertEqual(r.header("access-control-allow-origin"), "https://a.example.org")
        self.assertEqual(r.header("access-control-allow-methods"), "GET, PUT")
        self.assertEqual(r.header("access-control-allow-headers"), "authorization, content-type")
        self.assertEqual(r.header("access-control-max-age"), "600")
        self.assertEqual(r.header("access-control-allow-credentials"), "true")
        self.assertEqual(r.header("vary"), "Origin")
        # Disallowed origin, unlisted method: still answered here, without CORS fields.
        for origin, method in (("https://evil.example.net", "PUT"),
                               ("https://app.example.com", "DELETE")):
            r = self.get("/cors/x", {"Origin": origin, "Access-Control-Request-Method": method},
                         method="OPTIONS")
            self.assertEqual(r.status, 204)
            self.assertFalse(r.has("access-control-allow-origin"), r.headers)
            self.assertFalse(r.has("access-control-allow-methods"), r.headers)
        time.sleep(0.1)
        self.assertEqual(self.up["echo"].requests_since(mark), [])

    def test_cors_actual_request_gets_the_origin_echoed(self):
        r = self.get("/cors/y", {"Origin": "https://app.example.com"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header_all("access-control-allow-origin"), ["https://app.example.com"])
        self.assertEqual(r.header("access-control-allow-credentials"), "true")
        self.assertEqual(r.header("access-control-expose-headers"), "x-request-id")
        self.assertIn("Origin", r.header_all("vary"))
        self.assertFalse(r.has("access-control-allow-methods"))
        self.assertEqual(r.json()["method"], "GET")  # it reached the upstream

    def test_cors_disallowed_origin_gets_no_cors_fields(self):
        r = self.get("/cors/y", {"Origin": "https://app.example.com.evil.net"})
        self.assertEqual(r.status, 200)
        for h in ("access-control-allow-origin", "access-control-allow-credentials",
                  "access-control-expose-headers"):
            self.assertFalse(r.has(h), r.headers)
        self.assertIn("Origin", r.header_all("vary"))

    # ---- basic_auth ----------------------------------------------------------------------

    def test_basic_auth_missing_and_wrong_get_401_with_the_challenge(self):
        mark = self.up["echo"].mark()
        r = self.get("/basic/x")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("www-authenticate"), 'Basic realm="admin"')
        for user, password in (("alice", "bad-guess-1"), ("bob", PASSWORDS["carol"]),
                               ("nobody", PASSWORDS["alice"])):
            r = self.get("/basic/x", {"Authorization": basic(user, password)})
            self.assertEqual(r.status, 401, (user, password))
            self.assertEqual(r.header("www-authenticate"), 'Basic realm="admin"')
            self.assertNotIn(password.encode(), r.body)
        r = self.get("/basic/x", {"Authorization": "Basic !!notbase64"})
        self.assertEqual(r.status, 401)
        # A 401 on a CORS route still carries the CORS fields, so a page can read it.
        r = self.get("/basic/x", {"Origin": "https://app.example.com"})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("access-control-allow-origin"), "https://app.example.com")
        time.sleep(0.1)
        self.assertEqual(self.up["echo"].requests_since(mark), [])

    def test_basic_auth_bcrypt_and_sha_crypt_users_pass(self):
        for user in ("alice", "bob", "carol"):
            r = self.get("/basic/ok", {"Authorization": basic(user, PASSWORDS[user])})
            self.assertEqual(r.status, 200, user)
            self.assertEqual(r.json()["target"], "/basic/ok")

    def test_basic_auth_caches_good_passwords(self):
        # A password only this test uses, so the first request cannot have been cached by another
        # test. sluice_auth_password_checks_total counts the hash checks the pool ran.
        with open(self.htpasswd) as f:
            before = f.read()
        self.addCleanup(self.restore_htpasswd, before)
        subprocess.run(["htpasswd", "-bB", "-C", "4", self.htpasswd, "dave", "cached-pw"],
                       check=True, capture_output=True)
        self.assertEqual(self.sluice.reload().status, 200)

        def checks(result):
            return metric_sum(self.sluice.metrics(), "sluice_auth_password_checks_total",
                              result=result)

        auth = {"Authorization": basic("dave", "cached-pw")}
        m0 = checks("match")
        self.assertEqual(self.get("/basic/c", auth).status, 200)
        self.assertEqual(checks("match"), m0 + 1, "the first login is checked")
        for _ in range(3):
            self.assertEqual(self.get("/basic/c", auth).status, 200)
        self.assertEqual(checks("match"), m0 + 1, "repeats come from the cache")
        # Wrong passwords are never cached: each costs a check again.
        x0 = checks("mismatch")
        for _ in range(2):
            self.assertEqual(
                self.get("/basic/c", {"Authorization": basic("dave", "nope")}).status, 401)
        self.assertEqual(checks("mismatch"), x0 + 2)

    def restore_htpasswd(self, text):
        with open(self.htpasswd, "w") as f:
            f.write(text)
        self.sluice.reload()

    def test_basic_auth_user_is_the_consumer_rate_limit_key(self):
        a = {"Authorization": basic("bob", PASSWORDS["bob"])}
        b = {"Authorization": basic("carol", PASSWORDS["carol"])}
        clear_of_window_boundary(60)
        self.assertEqual(self.get("/blimit/x", a).status, 200)
        self.assertEqual(self.get("/blimit/x", a).status, 429)
        self.assertEqual(self.get("/blimit/x", b).status, 200)

    def test_users_file_is_read_again_on_reload(self):
        with open(self.htpasswd) as f:
            before = f.read()
        self.addCleanup(self.restore_htpasswd, before)
        auth = {"Authorization": basic("erin", "new-user-pw")}
        self.assertEqual(self.get("/basic/r", auth).status, 401)
        subprocess.run(["htpasswd", "-bB", "-C", "5", self.htpasswd, "erin", "new-user-pw"],
                       check=True, capture_output=True)
        self.assertEqual(self.get("/basic/r", auth).status, 401)  # not before the reload
        self.assertEqual(self.sluice.reload().status, 200)
        self.assertEqual(self.get("/basic/r", auth).status, 200)

    # ---- api_key -------------------------------------------------------------------------

    def test_api_key_from_a_header(self):
        r = self.get("/key/header/x", {"X-Api-Key": KEYS["acme"]})
        self.assertEqual(r.status, 200)
        r = self.get("/key/header/x", {"X-Api-Key": KEYS["acme"] + "x"})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("www-authenticate"), 'ApiKey header="x-api-key"')
        r = self.get("/key/header/x")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("www-authenticate"), 'ApiKey header="x-api-key"')

    def test_api_key_from_the_query_and_consumer_as_rate_limit_key(self):
        q = "/key/query/x?a=1&api_key=%s"
        self.assertEqual(self.get(q % "nope").status, 401)
        self.assertEqual(self.get("/key/query/x").header("www-authenticate"),
                         'ApiKey query="api_key"')
        # burst 2 per consumer: acme's third is limited, beta has its own bucket.
        self.assertEqual([self.get(q % KEYS["acme"]).status for _ in range(3)], [200, 200, 429])
        self.assertEqual(self.get(q % KEYS["beta"]).status, 200)

    # ---- item 8 --------------------------------------------------------------------------

    def test_no_credential_in_the_access_log_or_metrics(self):
        secrets = [KEYS["acme"], KEYS["beta"], PASSWORDS["alice"], PASSWORDS["bob"],
                   basic("alice", PASSWORDS["alice"]).split()[1], basic("alice", "wrong").split()[1]]
        self.get("/key/query/s?api_key=%s" % KEYS["beta"])
        self.get("/key/header/s", {"X-Api-Key": KEYS["acme"]})
        self.get("/basic/s", {"Authorization": basic("alice", PASSWORDS["alice"])})
        self.get("/basic/s", {"Authorization": basic("alice", "wrong")})
        self.get("/ip/deny")
        time.sleep(0.3)  # the access log is written once per loop iteration
        with open(self.sluice.access_log_path) as f:
            log = f.read()
        self.assertIn("/key/query/s?api_key=***", log)
        metrics = self.sluice.metrics()
        stderr = self.sluice.stderr_text()
        for s in secrets:
            self.assertNotIn(s, log)
            self.assertNotIn(s, metrics)
            self.assertNotIn(s, stderr)
        self.assertGreaterEqual(metric_sum(metrics, "sluice_auth_decisions_total", route="basic",
                                           filter="basic_auth", result="allowed"), 1)
        self.assertGreaterEqual(metric_sum(metrics, "sluice_auth_decisions_total", route="basic",
                                           filter="basic_auth", result="denied"), 1)
        self.assertGreaterEqual(metric_sum(metrics, "sluice_auth_decisions_total",
                                           route="key_header", filter="api_key",
                                           result="allowed"), 1)
        self.assertGreaterEqual(metric_sum(metrics, "sluice_auth_decisions_total",
                                           route="ip_deny", filter="ip_filter",
                                           result="denied"), 1)


def start_or_stop(cfg, upstream):
    """A started Sluice; when it does not start, `upstream` is stopped before the error goes on
    (tearDownClass does not run after a failed setUpClass)."""
    try:
        return Sluice(cfg).start()
    except BaseException:
        upstream.stop()
        raise


class ProxyProtocolIpFilterTest(unittest.TestCase):
    """The PROXY protocol source is the client ip_filter judges (the sender is trusted)."""

    @classmethod
    def setUpClass(cls):
        cls.up = Upstream("echo").start()
        cfg = make_config({"echo": cls.up.port}, [
            "{name: pp, match: {path_prefix: /}, upstream: echo, "
            "filters: [{ip_filter: {allow: [192.0.2.0/24, '2001:db8::/32']}}]}"],
            extra="trusted_proxies: [127.0.0.1/32]")
        cfg = cfg.replace("{name: main, address: 127.0.0.1:$PORT}",
                          "{name: main, address: 127.0.0.1:$PORT, proxy_protocol: true}")
        cls.sluice = start_or_stop(cfg, cls.up)

    @classmethod
    def tearDownClass(cls):
        cls.sluice.__exit__(None, None, None)
        cls.up.stop()

    def status(self, proxy_line):
        with Conn(self.sluice.port, timeout=5) as c:
            c.send(proxy_line + build_request("GET", "/pp", headers=[("Connection", "close")]))
            return c.read_response().status

    def test_proxy_protocol_source_is_judged(self):
        self.assertEqual(self.status(b"PROXY TCP4 192.0.2.7 198.51.100.1 5000 443\r\n"), 200)
        self.assertEqual(self.status(b"PROXY TCP4 198.51.100.7 198.51.100.1 5000 443\r\n"), 403)
        self.assertEqual(self.status(b"PROXY TCP6 2001:db8::5 2001:db8::1 5000 443\r\n"), 200)
        self.assertEqual(self.status(b"PROXY TCP6 2001:db9::5 2001:db8::1 5000 443\r\n"), 403)


def loopback6_works():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@unittest.skipUnless(loopback6_works(), "no IPv6 loopback here")
class Ipv6PeerTest(unittest.TestCase):
    """A client on ::1 judged by its own address (a listener on [::1])."""

    @classmethod
    def setUpClass(cls):
        cls.up = Upstream("echo").start()
        cfg = make_config({"echo": cls.up.port}, [
            "{name: in6, match: {path_prefix: /in}, upstream: echo, "
            "filters: [{ip_filter: {allow: ['::1/128']}}]}",
            "{name: out6, match: {path_prefix: /out}, upstream: echo, "
            "filters: [{ip_filter: {allow: ['::/0'], deny: ['::1/128']}}]}",
            "{name: v4only, match: {path_prefix: /v4}, upstream: echo, "
            "filters: [{ip_filter: {allow: [127.0.0.0/8]}}]}"])
        cfg = cfg.replace("address: 127.0.0.1:$PORT}", "address: '[::1]:$PORT'}")
        cls.sluice = start_or_stop(cfg, cls.up)

    @classmethod
    def tearDownClass(cls):
        cls.sluice.__exit__(None, None, None)
        cls.up.stop()

    def status(self, target):
        c = Conn.__new__(Conn)  # Conn speaks IPv4 only: the same reader over an IPv6 socket
        c.sock = socket.create_connection(("::1", self.sluice.port), timeout=5)
        c.buf = bytearray()
        c.eof = False
        with c:
            c.send(build_request("GET", target, headers=[("Connection", "close")]))
            return c.read_response().status

    def test_ipv6_peer(self):
        self.assertEqual(self.status("/in/x"), 200)
        self.assertEqual(self.status("/out/x"), 403)
        self.assertEqual(self.status("/v4/x"), 403)


class CheckConfigTest(unittest.TestCase):
    """`sluice -t` names an unreadable credential file at its key."""

    def test_missing_files_are_reported_at_their_key(self):
        d = tempfile.mkdtemp(prefix="sluice-edge-t-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write(make_config({"echo": 9}, [
                "{name: a, match: {path_prefix: /}, upstream: echo, filters: ["
                "{basic_auth: {users_file: no-htpasswd}}, "
                "{api_key: {from: 'header:k', keys_file: no-keys.yaml}}]}"]).replace("$DIR", d)
                .replace("$PORT", "1").replace("$ADMIN", "2"))
        p = run_sluice(["-t", "-c", path])
        self.assertNotEqual(p.returncode, 0)
        out = p.stdout + p.stderr
        self.assertRegex(out, r'sluice\.yaml:\d+:\d+: users_file: cannot read "%s/no-htpasswd"'
                         % d)
        self.assertRegex(out, r'sluice\.yaml:\d+:\d+: keys_file: cannot read "%s/no-keys\.yaml"'
                         % d)
        with open(os.path.join(d, "no-htpasswd"), "w") as f:
            f.write("alice:$apr1$salt$secrethashvalue\n")
        write_keys(os.path.join(d, "no-keys.yaml"), KEYS)
        p = run_sluice(["-t", "-c", path])
        self.assertNotEqual(p.returncode, 0)
        out = p.stdout + p.stderr
        self.assertIn('no-htpasswd" line 1 column 7: the hash of user "alice"', out)
        self.assertNotIn("secrethashvalue", out)
        self.assertNotIn("keys_file", out)


if __name__ == "__main__":
    main()
