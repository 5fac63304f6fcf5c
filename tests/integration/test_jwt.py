"""The jwt filter (spec/gateway.md, issue 15 item 3) with the real binary: tokens made here with
python3-jwt and python3-cryptography (run with /usr/bin/python3), keys in a JWKS file that
sluice reads at load and reload. Every refusal issue 15 lists gets 401 with an RFC 6750
challenge and never reaches the upstream; a good token passes with claims_to_headers set (and
client-sent fields of those names removed); optional; cookie and query sources (the query token
masked in the access log); the rate-limit key jwt:CLAIM; a rotated key set taken by a reload;
`sluice -t` naming a malformed JWKS file at its key; no token in logs or metrics."""

import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import unittest

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from harness import (ProxyTestCase, echo_headers, free_port, main, make_config, metric_sum,
                     run_sluice)

ISS = "https://idp.example/"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def num(n, size=None):
    return n.to_bytes(size or (n.bit_length() + 7) // 8, "big")


def rsa_jwk(key, kid):
    n = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "n": b64(num(n.n)), "e": b64(num(n.e))}


def ec_jwk(key, kid):
    n = key.public_key().public_numbers()
    return {"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(num(n.x, 32)),
            "y": b64(num(n.y, 32))}


def okp_jwk(key, kid):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": b64(raw)}


RSA1 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA2 = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC1 = ec.generate_private_key(ec.SECP256R1())
ED1 = ed25519.Ed25519PrivateKey.generate()


def claims(**over):
    now = int(time.time())
    c = {"iss": ISS, "aud": "api", "sub": "alice", "scope": "read", "iat": now,
         "exp": now + 600}
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


def token(key=RSA1, alg="RS256", kid="rsa1", **over):
    return jwt.encode(claims(**over), key, algorithm=alg, headers={"kid": kid} if kid else {})


def write_jwks(path, keys):
    with open(path, "w") as f:
        json.dump({"keys": keys}, f)


class JwtTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        cls.files = tempfile.mkdtemp(prefix="sluice-jwt-")
        cls.jwks = os.path.join(cls.files, "jwks.json")
        write_jwks(cls.jwks, [rsa_jwk(RSA1, "rsa1"), ec_jwk(EC1, "ec1"), okp_jwk(ED1, "ed1")])
        jwt_cfg = ("issuer: '%s', audiences: [api, web], algorithms: [RS256, PS256, ES256, EdDSA],"
                   " jwks: {file: %s}, leeway: 5s" % (ISS, cls.jwks))
        cls.routes = [
            "{name: api, match: {path_prefix: /api}, upstream: echo, filters: [{jwt: {%s, "
            "claims_to_headers: {sub: x-user-id, scope: x-user-scope, role: x-user-role}}}]}"
            % jwt_cfg,
            "{name: opt, match: {path_prefix: /opt}, upstream: echo, filters: [{jwt: {%s, "
            "optional: true, claims_to_headers: {sub: x-user-id}}}]}" % jwt_cfg,
            "{name: cookie, match: {path_prefix: /cookie}, upstream: echo, filters: [{jwt: {%s, "
            "from: 'cookie:session'}}]}" % jwt_cfg,
            "{name: query, match: {path_prefix: /query}, upstream: echo, filters: [{jwt: {%s, "
            "from: 'query:access_token'}}]}" % jwt_cfg,
            "{name: limited, match: {path_prefix: /limited}, upstream: echo, filters: [{jwt: {%s}},"
            " {token_bucket: {rate: 1/m, burst: 2, key: 'jwt:sub'}}]}" % jwt_cfg,
        ]
        return make_config({"echo": ports["echo"]}, cls.routes)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.files, ignore_errors=True)

    def get(self, target, tok=None, headers=None):
        h = dict(headers or {})
        if tok is not None:
            h["Authorization"] = "Bearer " + tok
        return self.sluice.request("GET", target, headers=h)

    def assert_refused(self, tok, description):
        mark = self.up["echo"].mark()
        r = self.get("/api/x", tok)
        self.assertEqual(r.status, 401, description)
        self.assertEqual(r.header("www-authenticate"),
                         'Bearer realm="sluice", error="invalid_token", error_description="%s"'
                         % description)
        self.assertNotIn(tok[-20:].encode(), r.body)
        time.sleep(0.05)
        self.assertEqual(self.up["echo"].requests_since(mark), [], description)

    def test_good_tokens_pass_with_claims_as_headers(self):
        for tok in (token(), token(alg="PS256"), token(EC1, "ES256", "ec1"),
                    token(ED1, "EdDSA", "ed1"), token(kid=None), token(aud=["web", "x"])):
            r = self.get("/api/x", tok, {"X-User-Id": "mallory", "X-User-Role": "admin"})
            self.assertEqual(r.status, 200, jwt.get_unverified_header(tok))
            h = echo_headers(r)
            self.assertEqual(h["x-user-id"], ["alice"])  # the claim, the client's field gone
            self.assertEqual(h["x-user-scope"], ["read"])
            self.assertNotIn("x-user-role", h)  # no role claim: removed, not set
            self.assertEqual(h["authorization"], ["Bearer " + tok])

    def test_missing_token_gets_the_challenge_without_an_error_code(self):
        for headers in ({}, {"Authorization": "Basic YWxpY2U6eA=="}):
            r = self.get("/api/x", headers=headers)
            self.assertEqual(r.status, 401)
            self.assertEqual(r.header("www-authenticate"), 'Bearer realm="sluice"')

    def test_every_refusal(self):
        now = int(time.time())
        pem = RSA1.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        good = token()
        h, p, s = good.split(".")
        none = b64(b'{"alg":"none","typ":"JWT"}') + "." + p + "."
        conf_head = b64(b'{"alg":"HS256","typ":"JWT","kid":"rsa1"}')
        confusion = conf_head + "." + p + "." + b64(
            hmac.new(pem, (conf_head + "." + p).encode(), hashlib.sha256).digest())
        sig = bytearray(base64.urlsafe_b64decode(s + "=="))
        sig[7] ^= 0x40
        cases = [
            (none, "algorithm not accepted"),
            (confusion, "algorithm not accepted"),
            (token(kid="rsa-unknown"), "unknown key"),
            (token(exp=now - 60), "token expired"),
            (token(nbf=now + 60), "token not yet valid"),
            (token(iss="https://evil.example/"), "issuer not accepted"),
            (token(aud="other"), "audience not accepted"),
            (h + "." + b64(json.dumps(claims(sub="root")).encode()) + "." + s,
             "invalid signature"),
            (h + "." + p + "." + b64(bytes(sig)), "invalid signature"),
            (token(RSA2), "invalid signature"),
            (h + "." + p.replace(p[3], "*", 1) + "." + s, "malformed token"),
            (h + "." + b64(b'{"sub": "alice"') + "." + s, "malformed token"),
            (token(pad="x" * 9000), "token too large"),
        ]
        for tok, why in cases:
            self.assert_refused(tok, why)

    def test_leeway_accepts_a_token_just_expired(self):
        self.assertEqual(self.get("/api/x", token(exp=int(time.time()) - 2)).status, 200)

    def test_optional_lets_tokenless_requests_pass_but_not_bad_tokens(self):
        r = self.get("/opt/x", headers={"X-User-Id": "mallory"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("x-user-id", echo_headers(r))
        self.assertEqual(self.get("/opt/x", token(exp=int(time.time()) - 60)).status, 401)
        self.assertEqual(echo_headers(self.get("/opt/x", token()))["x-user-id"], ["alice"])

    def test_cookie_and_query_sources(self):
        tok = token(sub="carol")
        r = self.sluice.request("GET", "/cookie/x", headers={"Cookie": "a=1; session=" + tok})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.get("/cookie/x", tok).status, 401)  # not where this route looks
        r = self.sluice.request("GET", "/query/x?access_token=%s&b=2" % tok)
        self.assertEqual(r.status, 200)
        time.sleep(0.3)  # the access log is written once per loop iteration
        with open(self.sluice.access_log_path) as f:
            log = f.read()
        self.assertIn("access_token=***", log)
        self.assertNotIn(tok.split(".")[2], log)

    def test_jwt_claim_is_a_rate_limit_key(self):
        dave, erin = token(sub="dave"), token(sub="erin")
        self.assertEqual([self.get("/limited/x", dave).status for _ in range(3)],
                         [200, 200, 429])
        self.assertEqual(self.get("/limited/x", erin).status, 200)  # another subject
        # Another token of the same subject shares its bucket.
        self.assertEqual(self.get("/limited/x", token(sub="dave", scope="other")).status, 429)

    def test_decisions_are_counted_without_the_token(self):
        tok = token(sub="frank")
        self.get("/api/x", tok)
        self.get("/api/x", token(exp=int(time.time()) - 60))
        m = self.sluice.metrics()
        self.assertGreaterEqual(metric_sum(m, "sluice_auth_decisions_total", route="api",
                                           filter="jwt", result="allowed"), 1)
        self.assertGreaterEqual(metric_sum(m, "sluice_auth_decisions_total", route="api",
                                           filter="jwt", result="denied"), 1)
        self.assertNotIn(tok.split(".")[2], m)
        self.assertNotIn(tok.split(".")[2], self.sluice.stderr_text())

    def test_reload_takes_a_rotated_key_set(self):
        with open(self.jwks) as f:
            before = f.read()
        self.addCleanup(self.restore_jwks, before)
        rotated = token(RSA2, kid="rsa2")
        self.assertEqual(self.get("/api/x", rotated).status, 401)
        write_jwks(self.jwks, [rsa_jwk(RSA2, "rsa2")])
        self.assertEqual(self.sluice.reload().status, 200)
        self.assertEqual(self.get("/api/x", rotated).status, 200)
        self.assertEqual(self.get("/api/x", token(sub="gina")).status, 401)  # rsa1 is gone

    def restore_jwks(self, text):
        with open(self.jwks, "w") as f:
            f.write(text)
        self.sluice.reload()


class JwksServer(http.server.BaseHTTPRequestHandler):
    """Serves JwksServer.keys as /jwks.json and counts the fetches."""
    protocol_version = "HTTP/1.1"
    keys = []
    fetches = 0

    def do_GET(self):
        JwksServer.fetches += 1
        body = json.dumps({"keys": JwksServer.keys}).encode()
        self.send_response(200 if self.path == "/jwks.json" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class JwksUrlTest(ProxyTestCase):
    """jwks: {url, upstream}: the set fetched through the upstream on first use; a kid it lacks
    triggers one early refresh (the request waits for it), then none for a minute."""
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        JwksServer.keys = [rsa_jwk(RSA1, "rsa1")]
        cls.idp = http.server.ThreadingHTTPServer(("127.0.0.1", 0), JwksServer)
        cls.idp.daemon_threads = True
        threading.Thread(target=cls.idp.serve_forever, daemon=True).start()
        jwks = "jwks: {url: 'https://idp.example/jwks.json', upstream: idp, refresh: 10m}"
        routes = [
            "{name: url, match: {path_prefix: /url}, upstream: echo, filters: [{jwt: "
            "{issuer: '%s', %s}}]}" % (ISS, jwks),
            "{name: url_dead, match: {path_prefix: /dead}, upstream: echo, filters: [{jwt: "
            "{jwks: {url: 'http://idp.example/jwks.json', upstream: dead}}}]}",
        ]
        return make_config({"echo": ports["echo"], "idp": cls.idp.server_address[1],
                            "dead": free_port()}, routes, workers=1)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.idp.shutdown()
        cls.idp.server_close()

    def get(self, target, tok):
        return self.sluice.request("GET", target, headers={"Authorization": "Bearer " + tok})

    def test_key_rotation_refreshes_early_once_a_minute(self):
        self.assertEqual(self.get("/url/x", token()).status, 200)  # waited for the first fetch
        self.assertEqual(JwksServer.fetches, 1)
        self.assertEqual(self.get("/url/x", token(sub="again")).status, 200)
        self.assertEqual(JwksServer.fetches, 1)  # the set is fresh for 10 minutes
        # The identity provider rotates: rsa2 joins. A token signed by it makes sluice fetch
        # the set again at once, and passes.
        JwksServer.keys = [rsa_jwk(RSA1, "rsa1"), rsa_jwk(RSA2, "rsa2")]
        self.assertEqual(self.get("/url/x", token(RSA2, kid="rsa2")).status, 200)
        self.assertEqual(JwksServer.fetches, 2)
        # Another unknown kid within the minute: no fetch, 401.
        r = self.get("/url/x", token(RSA2, kid="rsa3"))
        self.assertEqual(r.status, 401)
        self.assertIn('error_description="unknown key"', r.header("www-authenticate"))
        self.assertEqual(JwksServer.fetches, 2)

    def test_an_unreachable_key_source_gets_401(self):
        r = self.get("/dead/x", token())
        self.assertEqual(r.status, 401)
        self.assertIn('error_description="unknown key"', r.header("www-authenticate"))


class CheckConfigTest(unittest.TestCase):
    """`sluice -t` names an unreadable or malformed JWKS file at its key."""

    def test_jwks_file_errors_are_reported_at_their_key(self):
        d = tempfile.mkdtemp(prefix="sluice-jwt-t-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write(make_config({"echo": 9}, [
                "{name: a, match: {path_prefix: /}, upstream: echo, filters: ["
                "{jwt: {jwks: {file: jwks.json}}}]}"]).replace("$DIR", d)
                .replace("$PORT", "1").replace("$ADMIN", "2"))
        p = run_sluice(["-t", "-c", path])
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stdout + p.stderr,
                         r'sluice\.yaml:\d+:\d+: file: cannot read "%s/jwks\.json"' % d)
        secret_n = rsa_jwk(RSA1, "k")["n"]
        with open(os.path.join(d, "jwks.json"), "w") as f:
            json.dump({"keys": [{"kty": "RSA", "kid": "k", "n": secret_n}]}, f)
        p = run_sluice(["-t", "-c", path])
        self.assertNotEqual(p.returncode, 0)
        out = p.stdout + p.stderr
        self.assertIn('jwks.json" key 0 (kid "k") has no "e" string', out)
        self.assertNotIn(secret_n[:40], out)
        write_jwks(os.path.join(d, "jwks.json"), [rsa_jwk(RSA1, "k")])
        p = run_sluice(["-t", "-c", path])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    main()
