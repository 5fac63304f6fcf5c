"""Variables in route header values (spec/gateway.md Routing: `${client_ip}`, `${jwt.sub}`...)
with the real binary and an echo upstream: request_headers set from the request, the consumer an
api_key filter established and the subject of a token a jwt filter verified (HS256, made here
with the standard library); response_headers from the request; a bad variable fails sluice -t."""
import base64
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import ProxyTestCase, Sluice, echo_headers, main, make_config, sluice_binary

SECRET = b"0123456789abcdef0123456789abcdef-header-vars"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(claims):
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET, ("%s.%s" % (head, body)).encode(), hashlib.sha256).digest()
    return "%s.%s.%s" % (head, body, b64(sig))


class HeaderVariablesTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        cls.files = tempfile.mkdtemp(prefix="sluice-hvars-")
        keys = os.path.join(cls.files, "keys.yaml")
        with open(keys, "w") as f:
            f.write("- {consumer: acme, key_sha256: %s}\n" % hashlib.sha256(b"k-acme").hexdigest())
        secret = os.path.join(cls.files, "secret")
        with open(secret, "wb") as f:
            f.write(SECRET)
        vars_set = ("{x-client-ip: '${client_ip}', x-method: '${method}', x-path: '${path}', "
                    "x-query: '${query}', x-copy-a: 'a=${header.x-a}', x-route: '${route}', "
                    "x-rid: '${request_id}', x-scheme: '${scheme}', x-host: '${host}', "
                    "x-price: '$$5'}")
        routes = [
            "{name: vars, match: {path_prefix: /vars}, upstream: echo, "
            "request_headers: {set: %s}, "
            "response_headers: {set: {x-seen-path: '${path}', x-seen-rid: '${request_id}'}}}"
            % vars_set,
            "{name: keyed, match: {path_prefix: /keyed}, upstream: echo, "
            "filters: [{api_key: {from: 'header:x-api-key', keys_file: %s}}], "
            "request_headers: {set: {x-consumer: '${consumer}'}, remove: [x-api-key]}}" % keys,
            "{name: token, match: {path_prefix: /token}, upstream: echo, "
            "filters: [{jwt: {algorithms: [HS256], secret_file: %s, optional: true}}], "
            "request_headers: {set: {x-user: '${jwt.sub}', x-tenant: 't-${jwt.tenant}'}}}"
            % secret,
        ]
        return make_config({"echo": ports["echo"]}, routes)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.files, ignore_errors=True)

    def get(self, target, headers=None):
        r = self.conn().request("GET", target, headers=headers or {})
        self.assertEqual(r.status, 200, r.body[:300])
        return r, echo_headers(r)

    def test_request_variables_reach_the_upstream(self):
        r, seen = self.get("/vars/a/b?q=1&z=2", {"x-a": "hello", "x-rid": "forged"})
        self.assertEqual(seen["x-client-ip"], ["127.0.0.1"])
        self.assertEqual(seen["x-method"], ["GET"])
        self.assertEqual(seen["x-path"], ["/vars/a/b"])
        self.assertEqual(seen["x-query"], ["q=1&z=2"])
        self.assertEqual(seen["x-copy-a"], ["a=hello"])
        self.assertEqual(seen["x-route"], ["vars"])
        self.assertEqual(seen["x-scheme"], ["http"])
        self.assertEqual(seen["x-host"], ["test.local"])
        self.assertEqual(seen["x-price"], ["$5"])
        # the request id the upstream got in x-request-id, not the client's forged x-rid
        self.assertEqual(len(seen["x-request-id"]), 1)
        self.assertEqual(seen["x-rid"], seen["x-request-id"])
        # response_headers expand from the same request
        self.assertEqual(r.header("x-seen-path"), "/vars/a/b")
        self.assertEqual(r.header("x-seen-rid"), seen["x-request-id"][0])

    def test_absent_header_expands_to_nothing(self):
        _, seen = self.get("/vars/")
        self.assertEqual(seen["x-copy-a"], ["a="])
        self.assertNotIn("x-query", seen)  # empty result: the field is not sent

    def test_consumer_after_api_key(self):
        _, seen = self.get("/keyed/x", {"x-api-key": "k-acme", "x-consumer": "forged"})
        self.assertEqual(seen["x-consumer"], ["acme"])
        self.assertNotIn("x-api-key", seen)
        r = self.conn().request("GET", "/keyed/x", headers={"x-api-key": "wrong"})
        self.assertEqual(r.status, 401)

    def test_jwt_claim_after_jwt_filter(self):
        tok = hs256({"sub": "alice", "tenant": "blue", "exp": int(time.time()) + 300})
        _, seen = self.get("/token/x", {"authorization": "Bearer " + tok, "x-user": "forged"})
        self.assertEqual(seen["x-user"], ["alice"])
        self.assertEqual(seen["x-tenant"], ["t-blue"])
        # no token (optional): no claim, so the client's x-user is removed, not passed on
        _, seen = self.get("/token/x", {"x-user": "forged"})
        self.assertNotIn("x-user", seen)
        self.assertEqual(seen["x-tenant"], ["t-"])

    def test_claim_with_a_line_break_is_never_emitted(self):
        tok = hs256({"sub": "eve\r\nx-admin: yes", "exp": int(time.time()) + 300})
        r = self.conn().request("GET", "/token/x", headers={"authorization": "Bearer " + tok})
        self.assertEqual(r.status, 200, r.body[:300])
        seen = echo_headers(r)
        self.assertNotIn("x-user", seen)
        self.assertNotIn("x-admin", seen)


class BadVariableTest(unittest.TestCase):
    def test_unknown_variable_fails_the_config_test(self):
        d = tempfile.mkdtemp(prefix="sluice-hvars-t-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "sluice.yaml")
        with open(path, "w") as f:
            f.write(make_config({"echo": 9}, [
                "{name: r, match: {path_prefix: /}, upstream: echo, "
                "request_headers: {set: {x-user: '${jwt_sub}'}}}"]).replace("$DIR", d)
                .replace("$ADMIN", "19999").replace("$PORT", "19998"))
        p = subprocess.run([sluice_binary(), "-t", "-c", path], capture_output=True, text=True,
                           timeout=10)
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0, out)
        self.assertRegex(out, r"sluice\.yaml:\d+:\d+: x-user: unknown variable \$\{jwt_sub\}; "
                              r"use \$\{client_ip\}")


if __name__ == "__main__":
    main()
