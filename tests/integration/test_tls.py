"""TLS (issue 6): listeners with `tls:` and upstreams with `tls:` (spec/config.md).

Certificates are made here with the `openssl` CLI in a temp dir: a test CA signing server certs
for a.test, b.test, *.wild.test, exact.wild.test and up.test (the nginx upstream), a second a.test
cert (for the reload swap), a self-signed cert, a client CA with a client cert, and a rogue client
cert nobody signed. Checked: SNI picks the certificate (Python ssl, openssl s_client, curl
--resolve), exact before wildcard, no SNI -> the first; TLS 1.0/1.1 refused (and counted);
min_version TLSv1.3; ALPN; session resumption, also across a reload; mTLS; reloads that swap a
certificate under an open connection, or fail naming the file and keep the old one; a mismatched
key at start -> exit 2; TLS to upstreams (nginx) with verification on/off, a bad certificate ->
502, a client certificate, session reuse; plaintext to a TLS port; a stalled handshake; /metrics.
"""

import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

from harness import (Conn, ProtocolError, Sluice, Upstream, echo_headers, free_port, main,
                     metric_sum)

CERTS = None  # the temp dir of the certificates, made once per run (setUpModule)

CA_CNF = """[req]
distinguished_name = dn
x509_extensions = v3
prompt = no
[dn]
CN = %s
[v3]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
"""

LEAF_EXT = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = %s
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
%s
"""

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def openssl(*args, cwd=None):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd or CERTS, capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed:\n%s%s" % (" ".join(args), p.stdout, p.stderr))
    return p


def cert_path(name):
    return os.path.join(CERTS, name)


def make_ca(name, cn):
    with open(cert_path(name + ".cnf"), "w") as f:
        f.write(CA_CNF % cn)
    openssl("req", "-x509", "-new", "-config", name + ".cnf", *EC, "-keyout", name + ".key",
            "-out", name + ".crt", "-days", "2")


def make_leaf(name, subject, ca, sans=(), usage="serverAuth"):
    openssl("req", "-new", *EC, "-keyout", name + ".key", "-subj", subject, "-out",
            name + ".csr")
    san = ("subjectAltName = " + ", ".join("DNS:" + s for s in sans)) if sans else ""
    with open(cert_path(name + ".ext"), "w") as f:
        f.write(LEAF_EXT % (usage, san))
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
            "-set_serial", str(int.from_bytes(os.urandom(8), "big")), "-days", "2",
            "-extfile", name + ".ext", "-out", name + ".crt")


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="sluice-tls-certs-")
    make_ca("ca", "Sluice Test CA")
    make_leaf("a", "/CN=a.test/O=First", "ca", ["a.test"])
    make_leaf("a2", "/CN=a.test/O=Second", "ca", ["a.test"])
    make_leaf("b", "/CN=b.test/O=First", "ca", ["b.test"])
    make_leaf("wild", "/CN=wildcard/O=First", "ca", ["*.wild.test"])
    make_leaf("exact", "/CN=exact.wild.test/O=First", "ca", ["exact.wild.test"])
    make_leaf("cnonly", "/CN=cn.test/O=First", "ca")  # no SAN: the CN names it
    make_leaf("up", "/CN=up.test/O=Upstream", "ca", ["up.test"])
    make_ca("clientca", "Sluice Client CA")
    make_leaf("client", "/CN=alice/O=Sluice Clients", "clientca", usage="clientAuth")
    make_ca("rogueca", "Rogue CA")
    make_leaf("rogue", "/CN=mallory/O=Rogues", "rogueca", usage="clientAuth")
    openssl("req", "-x509", "-new", *EC, "-keyout", "self.key", "-out", "self.crt", "-days", "2",
            "-subj", "/CN=self.test", "-addext", "subjectAltName=DNS:self.test")


def tearDownModule():
    if CERTS and not os.environ.get("SLUICE_KEEP_TMP"):
        shutil.rmtree(CERTS, ignore_errors=True)


def cert_yaml(*names):
    return "[%s]" % ", ".join("{cert: %s, key: %s}" % (cert_path(n + ".crt"),
                                                       cert_path(k + ".key"))
                              for n, k in (x if isinstance(x, tuple) else (x, x)
                                           for x in names))


# --------------------------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------------------------

def client_ctx(ca="ca", cert=None, min_version=None, max_version=None, alpn=None, legacy=False,
               verify=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    with warnings.catch_warnings():  # TLS 1.0/1.1 are deprecated: offered to see them refused
        warnings.simplefilter("ignore", DeprecationWarning)
        if legacy:  # let this client offer TLS 1.0/1.1 at all
            ctx.set_ciphers("DEFAULT@SECLEVEL=0")
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        if min_version is not None:
            ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
    if verify:
        ctx.load_verify_locations(cert_path(ca + ".crt"))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert_path(cert + ".crt"), cert_path(cert + ".key"))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def no_ticket_ctx(**kw):
    """A TLS 1.2 client that does not take tickets: it can only resume by session ID (what
    testssl's "Session ID" check and `openssl s_client -no_ticket` test)."""
    ctx = client_ctx(max_version=ssl.TLSVersion.TLSv1_2, **kw)
    ctx.options |= ssl.OP_NO_TICKET
    return ctx


class TlsConn(Conn):
    """harness.Conn over TLS: the handshake happens in the constructor."""

    def __init__(self, port, ctx=None, server_hostname="a.test", session=None, timeout=10.0):
        super().__init__(port, timeout=timeout)
        ctx = ctx or client_ctx()
        if server_hostname is None:
            ctx.check_hostname = False
        try:
            self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname,
                                        session=session)
        except BaseException:
            self.close()
            raise

    def peer_names(self):
        """(subject dict, [SAN DNS names]) of the certificate the server sent."""
        cert = self.sock.getpeercert()
        subject = {k: v for rdn in cert.get("subject", ()) for k, v in rdn}
        sans = [v for k, v in cert.get("subjectAltName", ()) if k == "DNS"]
        return subject, sans


def subject_of(port, name, **kw):
    with TlsConn(port, server_hostname=name, **kw) as c:
        return c.peer_names()


def s_client(port, *args, stdin=b""):
    """openssl s_client against 127.0.0.1:port; (returncode, stdout+stderr)."""
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + list(args),
                       input=stdin, capture_output=True, timeout=20)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def curl(url, *args):
    p = subprocess.run(["curl", "-sS", "--max-time", "10"] + list(args) + [url],
                       capture_output=True, timeout=30)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d" % port)


def wait_metric(sluice, name, minimum, timeout=5.0, **labels):
    """The value of the metric once it reached `minimum` (counters move asynchronously to the
    client seeing the connection end); the last value seen otherwise."""
    deadline = time.time() + timeout
    while True:
        v = metric_sum(sluice.metrics(), name, **labels)
        if v >= minimum or time.time() > deadline:
            return v
        time.sleep(0.05)


class Nginx:
    """nginx serving fixed bodies over TLS: `verified` (cert up.test signed by the test CA),
    `verified12` (the same, TLS 1.2 only), `selfsigned`, `mtls` (asks for a client cert from the client CA and echoes its subject).
    keepalive_timeout 0: every request is a new connection, so TLS session reuse shows; except
    `keepalive` (cert up.test), which keeps connections for sluice's pool."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-tls-nginx-")
        self.ports = {"verified": free_port(), "verified12": free_port(),
                      "selfsigned": free_port(), "mtls": free_port(), "keepalive": free_port()}
        d = self.dir
        conf = """daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 128; }
http {
  access_log off;
  client_body_temp_path %(d)s/body; proxy_temp_path %(d)s/proxy;
  fastcgi_temp_path %(d)s/fastcgi; uwsgi_temp_path %(d)s/uwsgi; scgi_temp_path %(d)s/scgi;
  keepalive_timeout 0;
  default_type text/plain;
  ssl_session_cache shared:tls:1m;
  server {
    listen 127.0.0.1:%(verified)d ssl;
    ssl_certificate %(certs)s/up.crt; ssl_certificate_key %(certs)s/up.key;
    location / { return 200 "verified upstream sni=$ssl_server_name reused=$ssl_session_reused\\n"; }
  }
  server {
    listen 127.0.0.1:%(verified12)d ssl;
    ssl_protocols TLSv1.2;
    ssl_certificate %(certs)s/up.crt; ssl_certificate_key %(certs)s/up.key;
    location / { return 200 "verified upstream $ssl_protocol reused=$ssl_session_reused\\n"; }
  }
  server {
    listen 127.0.0.1:%(selfsigned)d ssl;
    ssl_certificate %(certs)s/self.crt; ssl_certificate_key %(certs)s/self.key;
    location / { return 200 "self-signed upstream\\n"; }
  }
  server {
    listen 127.0.0.1:%(mtls)d ssl;
    ssl_certificate %(certs)s/up.crt; ssl_certificate_key %(certs)s/up.key;
    ssl_client_certificate %(certs)s/clientca.crt; ssl_verify_client on;
    location / { return 200 "client=$ssl_client_s_dn\\n"; }
  }
  server {
    listen 127.0.0.1:%(keepalive)d ssl;
    keepalive_timeout 60s;
    ssl_certificate %(certs)s/up.crt; ssl_certificate_key %(certs)s/up.key;
    location / { return 200 "keepalive upstream sni=$ssl_server_name conn=$connection\\n"; }
  }
}
""" % dict(d=d, certs=CERTS, **self.ports)
        self.conf = os.path.join(d, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(conf)
        self.proc = None

    def start(self):
        self.err = open(os.path.join(self.dir, "stderr.log"), "wb")
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.conf, "-e",
                                      os.path.join(self.dir, "error.log")],
                                     stdout=self.err, stderr=self.err, stdin=subprocess.DEVNULL)
        try:
            for p in self.ports.values():
                wait_port(p)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.err.close()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)


def base_config(listeners, upstreams, routes, header_timeout="1s"):
    lines = ["workers: 2",
             "admin: {address: 127.0.0.1:$ADMIN}",
             "access_log: {path: $DIR/access.log}",
             "limits: {header_timeout: %s}" % header_timeout,
             "listeners:"]
    lines += ["  - " + l for l in listeners]
    lines.append("upstreams:")
    lines += ["  - " + u for u in upstreams]
    lines.append("routes:")
    lines += ["  - " + r for r in routes]
    return "\n".join(lines) + "\n"


def echo_upstream(port):
    return ("{name: echo, targets: [{address: 127.0.0.1:%d}], keepalive: 8, "
            "timeouts: {connect: 1s, response: 2s}}" % port)


# --------------------------------------------------------------------------------------------
# One sluice: listeners main (SNI, ALPN), tls13 (min_version TLSv1.3), mtls (client_ca);
# upstreams over TLS to nginx.
# --------------------------------------------------------------------------------------------

class TlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.echo = cls.nginx = cls.sluice = None
        try:
            cls.echo = Upstream("echo").start()
            cls.nginx = Nginx().start()
            cls.port13 = free_port()
            cls.port_mtls = free_port()
            np = cls.nginx.ports
            ca = cert_path("ca.crt")
            tmo = "timeouts: {connect: 2s, response: 2s}"
            upstreams = [
                echo_upstream(cls.echo.port),
                "{name: ngx_verify, targets: [{address: 127.0.0.1:%d}], keepalive: 0, %s, "
                "tls: {sni: up.test, verify: true, ca: %s}}" % (np["verified"], tmo, ca),
                "{name: ngx_verify12, targets: [{address: 127.0.0.1:%d}], keepalive: 0, %s, "
                "tls: {sni: up.test, verify: true, ca: %s}}" % (np["verified12"], tmo, ca),
                "{name: ngx_noverify, targets: [{address: 127.0.0.1:%d}], keepalive: 0, %s, "
                "tls: {verify: false}}" % (np["selfsigned"], tmo),
                "{name: ngx_badca, targets: [{address: 127.0.0.1:%d}], keepalive: 0, %s, "
                "tls: {sni: self.test, verify: true, ca: %s}}" % (np["selfsigned"], tmo, ca),
                "{name: ngx_badname, targets: [{address: 127.0.0.1:%d}], keepalive: 0, %s, "
                "tls: {sni: wrong.test, verify: true, ca: %s}}" % (np["verified"], tmo, ca),
                "{name: ngx_clientcert, targets: [{address: 127.0.0.1:%d}], keepalive: 0, %s, "
                "tls: {sni: up.test, verify: true, ca: %s, client_certificate: "
                "{cert: %s, key: %s}}}" % (np["mtls"], tmo, ca, cert_path("client.crt"),
                                          cert_path("client.key")),
                "{name: ngx_noclientcert, targets: [{address: 127.0.0.1:%d}], keepalive: 0, %s, "
                "tls: {sni: up.test, verify: true, ca: %s}}" % (np["mtls"], tmo, ca),
                # Three upstreams on one address, each with other TLS settings (or none): none
                # may be handed a connection another one opened.
                "{name: pool_lax, targets: [{address: 127.0.0.1:%d}], keepalive: 4, %s, "
                "tls: {sni: lax.test, verify: false}}" % (np["keepalive"], tmo),
                "{name: pool_strict, targets: [{address: 127.0.0.1:%d}], keepalive: 4, %s, "
                "tls: {sni: wrong.test, verify: true, ca: %s}}" % (np["keepalive"], tmo, ca),
                "{name: pool_plain, targets: [{address: 127.0.0.1:%d}], keepalive: 4, %s}"
                % (np["keepalive"], tmo),
            ]
            routes = ["{name: %s, match: {path_prefix: /%s/}, upstream: %s}" % (u, u, u)
                      for u in ("ngx_verify", "ngx_verify12", "ngx_noverify", "ngx_badca", "ngx_badname",
                                "ngx_clientcert", "ngx_noclientcert", "pool_lax", "pool_strict",
                                "pool_plain")]
            routes.append("{name: all, match: {path_prefix: /}, upstream: echo}")
            listeners = [
                "{name: main, address: 127.0.0.1:$PORT, tls: {certificates: %s, "
                "alpn: [http/1.1]}}" % cert_yaml("a", "b", "wild", "exact", "cnonly"),
                "{name: tls13, address: 127.0.0.1:%d, tls: {certificates: %s, "
                "min_version: TLSv1.3}}" % (cls.port13, cert_yaml("a")),
                "{name: mtls, address: 127.0.0.1:%d, tls: {certificates: %s, client_ca: %s}}"
                % (cls.port_mtls, cert_yaml("a"), cert_path("clientca.crt")),
            ]
            cls.sluice = Sluice(base_config(listeners, upstreams, routes)).start()
            cls.port = cls.sluice.port
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.sluice is not None:
                cls.sluice.__exit__(None, None, None)
        finally:
            if cls.nginx is not None:
                cls.nginx.stop()
            if cls.echo is not None:
                cls.echo.stop()

    def tls(self, port=None, **kw):
        c = TlsConn(port or self.port, **kw)
        self.addCleanup(c.close)
        return c

    def metric(self, name, **labels):
        return metric_sum(self.sluice.metrics(), name, **labels)

    def assert_refused(self, port, ctx, server_hostname="a.test", session=None):
        """The handshake (or the first exchange right after it) fails; no HTTP answer."""
        try:
            c = TlsConn(port, ctx, server_hostname=server_hostname, timeout=5, session=session)
        except (ssl.SSLError, ConnectionError, OSError):
            return
        try:
            c.send(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            r = c.read_response()
        except (ssl.SSLError, ConnectionError, OSError, ProtocolError):
            return
        finally:
            c.close()
        self.fail("the server answered a client it should have refused: %r" % r)

    # --- SNI ----------------------------------------------------------------------------------

    def test_sni_python(self):
        cases = {"a.test": ["a.test"], "b.test": ["b.test"], "x.wild.test": ["*.wild.test"],
                 "exact.wild.test": ["exact.wild.test"]}
        for name, want in cases.items():
            subject, sans = subject_of(self.port, name)
            self.assertEqual(sans, want, name)
        subject, sans = subject_of(self.port, "cn.test")  # a certificate without SAN: its CN
        self.assertEqual(subject["commonName"], "cn.test")

    def test_sni_unknown_or_absent_gets_default(self):
        for name in (None, "nomatch.test", "a.b.wild.test", "wild.test"):
            ctx = client_ctx()
            ctx.check_hostname = False
            subject, sans = subject_of(self.port, name, ctx=ctx)
            self.assertEqual(sans, ["a.test"], "SNI %r should get the first certificate" % name)

    def test_sni_openssl_s_client(self):
        for name, want in (("b.test", "CN = b.test"), ("B.TEST", "CN = b.test"),
                           ("foo.wild.test", "CN = wildcard"), ("a.test", "CN = a.test")):
            rc, out = s_client(self.port, "-servername", name, "-CAfile", cert_path("ca.crt"),
                               "-verify_return_error")
            self.assertEqual(rc, 0, out)
            self.assertIn("subject=" + want, out.replace("subject= ", "subject="), name)
            self.assertIn("Verify return code: 0 (ok)", out)
        rc, out = s_client(self.port, "-noservername", "-CAfile", cert_path("ca.crt"))
        self.assertIn("CN = a.test", out)

    def test_sni_curl_resolve(self):
        for name in ("a.test", "b.test", "x.wild.test"):
            rc, body, err = curl("https://%s:%d/curl/%s" % (name, self.port, name),
                                 "--resolve", "%s:%d:127.0.0.1" % (name, self.port),
                                 "--cacert", cert_path("ca.crt"))
            self.assertEqual(rc, 0, err)
            seen = json.loads(body)
            self.assertEqual(seen["target"], "/curl/" + name)
            hdrs = {k.lower(): v for k, v in seen["headers"]}
            self.assertEqual(hdrs.get("x-forwarded-proto"), "https")
            self.assertEqual(hdrs.get("host"), "%s:%d" % (name, self.port))
        # a name no certificate covers gets the default (a.test): curl's name check fails
        rc, body, err = curl("https://other.test:%d/" % self.port,
                             "--resolve", "other.test:%d:127.0.0.1" % self.port,
                             "--cacert", cert_path("ca.crt"))
        self.assertEqual(rc, 60, err)  # CURLE_PEER_FAILED_VERIFICATION

    # --- versions -----------------------------------------------------------------------------

    def test_tls10_tls11_refused(self):
        before = self.metric("sluice_tls_handshake_failures_total", listener="main")
        for v in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            ctx = client_ctx(legacy=True, max_version=v, verify=False)
            with self.assertRaises((ssl.SSLError, ConnectionError)):
                TlsConn(self.port, ctx, server_hostname="a.test", timeout=5).close()
        for flag in ("-tls1", "-tls1_1"):
            rc, out = s_client(self.port, flag, "-cipher", "DEFAULT@SECLEVEL=0",
                               "-servername", "a.test")
            self.assertNotEqual(rc, 0, out)
            self.assertNotIn("BEGIN CERTIFICATE", out)
        after = wait_metric(self.sluice, "sluice_tls_handshake_failures_total", before + 4,
                            listener="main")
        self.assertGreaterEqual(after - before, 4, "each refused handshake is counted")
        self.assertGreaterEqual(self.metric("sluice_tls_handshake_failures_total",
                                            listener="main", reason="version"), 4)
        # TLS 1.2 and 1.3 are fine here
        with self.tls(ctx=client_ctx(max_version=ssl.TLSVersion.TLSv1_2)) as c:
            self.assertEqual(c.sock.version(), "TLSv1.2")
            self.assertEqual(c.request("GET", "/v12", host="a.test").status, 200)
        with self.tls() as c:
            self.assertEqual(c.sock.version(), "TLSv1.3")

    def test_min_version_tls13(self):
        before = self.metric("sluice_tls_handshake_failures_total", listener="tls13")
        self.assert_refused(self.port13, client_ctx(max_version=ssl.TLSVersion.TLSv1_2))
        rc, out = s_client(self.port13, "-tls1_2", "-servername", "a.test")
        self.assertNotEqual(rc, 0, out)
        after = wait_metric(self.sluice, "sluice_tls_handshake_failures_total", before + 2,
                            listener="tls13")
        self.assertGreaterEqual(after - before, 2)
        c = self.tls(self.port13)
        self.assertEqual(c.sock.version(), "TLSv1.3")
        self.assertEqual(c.request("GET", "/13", host="a.test").status, 200)

    # --- ALPN ---------------------------------------------------------------------------------

    def test_alpn(self):
        c = self.tls(ctx=client_ctx(alpn=["http/1.1"]))
        self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
        self.assertEqual(c.request("GET", "/alpn", host="a.test").status, 200)
        c = self.tls(ctx=client_ctx(alpn=["h2", "http/1.1"]))
        self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
        c = self.tls(ctx=client_ctx(alpn=["h2"]))  # nothing in common: no ALPN, still served
        self.assertIsNone(c.sock.selected_alpn_protocol())
        self.assertEqual(c.request("GET", "/alpn", host="a.test").status, 200)
        c = self.tls()
        self.assertIsNone(c.sock.selected_alpn_protocol())

    # --- keep-alive and resumption ------------------------------------------------------------

    def test_keepalive_over_tls(self):
        c = self.tls()
        for i in range(5):
            r = c.request("POST", "/ka/%d" % i, body=b"x" * (1000 * i), host="a.test")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json()["body_len"], 1000 * i)
        # a large response over TLS, read whole
        big = b"y" * (300 * 1024)
        r = c.request("POST", "/ka/big", body=big, host="a.test")
        self.assertEqual(r.json()["body_len"], len(big))
        r = c.request("GET", "/ka/last", headers={"Connection": "close"}, host="a.test")
        self.assertEqual(r.status, 200)
        self.assertTrue(c.is_closed(3.0))

    def check_resumption(self, port, max_version):
        ctx = client_ctx(max_version=max_version)
        c = TlsConn(port, ctx)
        self.assertEqual(c.request("GET", "/r1", host="a.test").status, 200)
        sess = c.sock.session
        c.close()
        self.assertIsNotNone(sess)
        c = TlsConn(port, ctx, session=sess)
        try:
            self.assertTrue(c.sock.session_reused, "resumption with %s" % max_version)
            self.assertEqual(c.request("GET", "/r2", host="a.test").status, 200)
        finally:
            c.close()

    def test_session_resumption(self):
        self.check_resumption(self.port, ssl.TLSVersion.TLSv1_3)
        self.check_resumption(self.port, ssl.TLSVersion.TLSv1_2)

    def test_session_id_resumption_on_both_workers(self):
        """TLS 1.2 without tickets resumes by session ID (issue 11 item 5: testssl said "Session
        ID: no"): twenty connections after the first, spread by SO_REUSEPORT over both workers,
        all resume, the clients closing without close_notify as most do; counted in
        sluice_tls_resumptions_total."""
        ctx = no_ticket_ctx()
        before = self.metric("sluice_tls_resumptions_total", listener="main")
        with TlsConn(self.port, ctx) as c:
            self.assertEqual(c.request("GET", "/id/first", host="a.test").status, 200)
            sess = c.sock.session
        self.assertFalse(sess.has_ticket)
        self.assertTrue(sess.id)
        reused = 0
        for i in range(20):
            with TlsConn(self.port, ctx, session=sess) as c:
                reused += bool(c.sock.session_reused)
                self.assertEqual(c.request("GET", "/id/%d" % i, host="a.test").status, 200)
        self.assertEqual(reused, 20, "connections resumed by session ID")
        self.assertGreaterEqual(wait_metric(self.sluice, "sluice_tls_resumptions_total",
                                            before + 20, listener="main"), before + 20)
        # A certificate picked by SNI (not the default context) resumes as well.
        ctx_b = no_ticket_ctx()
        with TlsConn(self.port, ctx_b, server_hostname="b.test") as c:
            sess_b = c.sock.session
        with TlsConn(self.port, ctx_b, server_hostname="b.test", session=sess_b) as c:
            self.assertTrue(c.sock.session_reused, "b.test session resumed")
            self.assertEqual(c.peer_names()[1], ["b.test"])

    def test_session_id_resumption_openssl_s_client(self):
        rc, out = s_client(self.port, "-tls1_2", "-no_ticket", "-servername", "a.test",
                           "-reconnect")
        self.assertEqual(rc, 0, out)
        self.assertEqual(out.count("New, TLSv1.2"), 1, out)
        self.assertEqual(out.count("Reused, TLSv1.2"), 5, out)

    # --- mTLS ---------------------------------------------------------------------------------

    def test_mtls_rejects_client_without_cert(self):
        before = self.metric("sluice_tls_handshake_failures_total", listener="mtls")
        self.assert_refused(self.port_mtls, client_ctx())
        self.assert_refused(self.port_mtls, client_ctx(max_version=ssl.TLSVersion.TLSv1_2))
        self.assert_refused(self.port_mtls, client_ctx(cert="rogue"))  # signed by another CA
        after = wait_metric(self.sluice, "sluice_tls_handshake_failures_total", before + 3,
                            listener="mtls")
        self.assertGreaterEqual(after - before, 3)
        self.assertGreaterEqual(self.metric("sluice_tls_handshake_failures_total",
                                            listener="mtls", reason="certificate"), 3)

    def test_mtls_accepts_valid_cert_and_passes_subject(self):
        for maxv in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            c = self.tls(self.port_mtls, ctx=client_ctx(cert="client", max_version=maxv))
            r = c.request("GET", "/mtls", host="a.test",
                          headers=[("X-Client-Cert-Subject", "/CN=forged")])
            self.assertEqual(r.status, 200, r)
            subj = echo_headers(r).get("x-client-cert-subject")
            self.assertIsNotNone(subj, r)
            self.assertEqual(len(subj), 1, "only sluice's own value: %r" % subj)
            self.assertIn("CN=alice", subj[0].replace(" = ", "="))
            self.assertIn("O=Sluice Clients", subj[0].replace(" = ", "="))
            self.assertNotIn("forged", subj[0])
            # every request of the connection carries it
            r = c.request("GET", "/mtls2", host="a.test")
            self.assertEqual(echo_headers(r).get("x-client-cert-subject"), subj)

    def test_mtls_not_skipped_by_a_session_from_another_listener(self):
        """Tickets and the session cache are shared by all listeners; a session made on `main`
        (no client certificate) must not resume on `mtls`, by ticket or by session ID."""
        for ctx in (client_ctx(), client_ctx(max_version=ssl.TLSVersion.TLSv1_2),
                    no_ticket_ctx()):
            with TlsConn(self.port, ctx) as c:
                self.assertEqual(c.request("GET", "/elsewhere", host="a.test").status, 200)
                sess = c.sock.session
            self.assert_refused(self.port_mtls, ctx, session=sess)

    def test_client_sent_subject_dropped_without_cert(self):
        c = self.tls()
        r = c.request("GET", "/spoof", host="a.test",
                      headers=[("X-Client-Cert-Subject", "/CN=admin"),
                               ("x-client-cert-subject", "/CN=root")])
        self.assertEqual(r.status, 200)
        self.assertNotIn("x-client-cert-subject", echo_headers(r))

    # --- TLS upstreams ------------------------------------------------------------------------

    def test_upstream_tls_verified(self):
        c = self.tls()
        r = c.request("GET", "/ngx_verify/x", host="a.test")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"verified upstream sni=up.test", r.body)

    def test_upstream_tls_no_verify(self):
        c = self.tls()
        r = c.request("GET", "/ngx_noverify/x", host="a.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, b"self-signed upstream\n")

    def test_upstream_tls_bad_certificate_502(self):
        c = self.tls()
        r = c.request("GET", "/ngx_badca/x", host="a.test")
        self.assertEqual(r.status, 502, "a certificate the CA did not sign: %r" % r)
        r = self.tls().request("GET", "/ngx_badname/x", host="a.test")
        self.assertEqual(r.status, 502, "a certificate for another name: %r" % r)
        # and the good one still works afterwards
        r = self.tls().request("GET", "/ngx_verify/x", host="a.test")
        self.assertEqual(r.status, 200, r)

    def test_upstream_pool_is_per_tls_setting(self):
        # One client connection, so one worker and one pool: after pool_lax left an idle
        # (unverified, SNI lax.test) connection, pool_strict must still verify (and fail on
        # the name) and pool_plain must still speak plain HTTP (which nginx refuses with 400).
        c = self.tls()
        for _ in range(2):
            r = c.request("GET", "/pool_lax/x", host="a.test")
            self.assertEqual(r.status, 200, r)
            self.assertIn(b"sni=lax.test", r.body)
            r = c.request("GET", "/pool_strict/x", host="a.test")
            self.assertEqual(r.status, 502, "verification bypassed by a pooled connection: %r" % r)
            r = c.request("GET", "/pool_plain/x", host="a.test")
            self.assertEqual(r.status, 400, "plain upstream served over TLS: %r" % r)
        first = c.request("GET", "/pool_lax/x", host="a.test").body
        again = c.request("GET", "/pool_lax/x", host="a.test").body
        self.assertEqual(first.split(b"conn=")[1], again.split(b"conn=")[1],
                         "pool_lax reuses its own connections")

    def test_upstream_client_certificate(self):
        r = self.tls().request("GET", "/ngx_clientcert/x", host="a.test")
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"CN=alice", r.body)
        r = self.tls().request("GET", "/ngx_noclientcert/x", host="a.test")
        self.assertNotEqual(r.status, 200, "nginx requires a client cert: %r" % r)

    def test_upstream_session_reuse(self):
        # nginx closes after each response (keepalive_timeout 0), so each request is a new
        # upstream TLS connection; with 2 workers, 6 requests put 2+ on one worker, whose
        # later connections resume the session it cached for the target (TLS 1.3: from a
        # NewSessionTicket; TLS 1.2: the handshake's session).
        for route in ("ngx_verify", "ngx_verify12"):
            bodies = []
            for i in range(6):
                r = self.tls().request("GET", "/%s/s%d" % (route, i), host="a.test")
                self.assertEqual(r.status, 200, r)
                bodies.append(r.body)
            self.assertTrue(any(b"reused=r" in b for b in bodies),
                            "%s: no upstream TLS session was resumed: %r" % (route, bodies))
        self.assertIn(b"TLSv1.2", bodies[0])

    # --- misbehaving clients ------------------------------------------------------------------

    def test_plaintext_to_tls_port(self):
        before = self.metric("sluice_tls_handshake_failures_total", listener="main")
        with Conn(self.port, timeout=5) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n")
            got = bytearray()
            t0 = time.time()
            try:
                while True:
                    data = c.sock.recv(65536)
                    if not data:
                        break
                    got += data
            except ConnectionResetError:
                pass
            self.assertLess(time.time() - t0, 3.0, "closed promptly")
            self.assertFalse(got.startswith(b"HTTP/1.1 2"), got)
        after = wait_metric(self.sluice, "sluice_tls_handshake_failures_total", before + 1,
                            listener="main")
        self.assertEqual(after - before, 1)
        self.assertGreaterEqual(self.metric("sluice_tls_handshake_failures_total",
                                            listener="main", reason="not_tls"), 1)
        self.assertTrue(self.sluice.alive())
        self.assertEqual(self.tls().request("GET", "/after-plain", host="a.test").status, 200)

    def assert_closed_after_header_timeout(self, c):
        t0 = time.time()
        try:
            data = c.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            self.fail("a stalled handshake was not closed within %.1fs" % (time.time() - t0))
        took = time.time() - t0
        self.assertEqual(data, b"")
        return took

    def test_stalled_handshake_timed_out(self):
        # nothing sent at all
        c1 = Conn(self.port, timeout=6)
        self.addCleanup(c1.close)
        # a partial ClientHello: the record header and the start of the handshake message
        c2 = Conn(self.port, timeout=6)
        self.addCleanup(c2.close)
        c2.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + os.urandom(20))
        t0 = time.time()
        self.assert_closed_after_header_timeout(c1)
        self.assert_closed_after_header_timeout(c2)
        took = time.time() - t0
        self.assertGreater(took, 0.5, "closed before header_timeout (1s)")
        self.assertLess(took, 4.0)
        self.assertEqual(self.tls().request("GET", "/after-stall", host="a.test").status, 200)

    # --- metrics ------------------------------------------------------------------------------

    def test_metrics(self):
        with self.tls(ctx=client_ctx(max_version=ssl.TLSVersion.TLSv1_2)) as c:
            self.assertEqual(c.request("GET", "/m", host="a.test").status, 200)
        with self.tls() as c:
            self.assertEqual(c.request("GET", "/m", host="a.test").status, 200)
        self.assert_refused(self.port, client_ctx(legacy=True, max_version=ssl.TLSVersion.TLSv1_1,
                                                  verify=False))
        wait_metric(self.sluice, "sluice_tls_handshake_failures_total", 1, listener="main",
                    reason="version")
        r = self.sluice.admin("GET", "/metrics")
        text = r.body.decode()
        self.assertGreaterEqual(metric_sum(text, "sluice_tls_handshakes_total", listener="main",
                                           version="TLSv1.2"), 1, text)
        self.assertGreaterEqual(metric_sum(text, "sluice_tls_handshakes_total", listener="main",
                                           version="TLSv1.3"), 1)
        self.assertGreaterEqual(metric_sum(text, "sluice_tls_handshake_failures_total",
                                           listener="main", reason="version"), 1)
        self.assertIn("# TYPE sluice_tls_handshakes_total counter", text)
        self.assertIn("# TYPE sluice_tls_handshake_failures_total counter", text)
        promtool = shutil.which("promtool") or "/usr/bin/promtool"
        p = subprocess.run([promtool, "check", "metrics"], input=r.body, capture_output=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, "promtool check metrics:\n%s%s" % (
            p.stdout.decode(), p.stderr.decode()))


# --------------------------------------------------------------------------------------------
# Reloads and start-up errors: a sluice per test class, config rewritten by the tests.
# --------------------------------------------------------------------------------------------

class TlsReloadTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.echo = Upstream("echo").start()
        try:
            cls.sluice = Sluice(cls.config("a")).start()
        except BaseException:
            cls.echo.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            cls.sluice.__exit__(None, None, None)
        finally:
            cls.echo.stop()

    @classmethod
    def config(cls, *certs):
        return base_config(
            ["{name: main, address: 127.0.0.1:$PORT, tls: {certificates: %s}}"
             % cert_yaml(*certs)],
            [echo_upstream(cls.echo.port)],
            ["{name: all, match: {path_prefix: /}, upstream: echo}"], header_timeout="5s")

    def setUp(self):
        r = self.sluice.reload(self.config("a"))
        self.assertEqual(r.status, 200, r)

    def org(self, **kw):
        subject, _ = subject_of(self.sluice.port, "a.test", **kw)
        return subject.get("organizationName")

    def test_reload_swaps_certificate_under_open_connection(self):
        c = TlsConn(self.sluice.port)
        self.addCleanup(c.close)
        self.assertEqual(c.peer_names()[0]["organizationName"], "First")
        self.assertEqual(c.request("GET", "/before", host="a.test").status, 200)
        r = self.sluice.reload(self.config("a2"))
        self.assertEqual(r.status, 200, r)
        # the open connection goes on, on its old session
        for i in range(3):
            self.assertEqual(c.request("GET", "/during/%d" % i, host="a.test").status, 200)
        self.assertEqual(self.org(), "Second", "new handshakes get the new certificate")
        self.assertEqual(c.request("GET", "/after", host="a.test").status, 200)
        self.assertEqual(self.org(), "Second")

    def test_reload_with_missing_cert_keeps_old(self):
        missing = cert_path("does-not-exist.crt")
        cfg = self.config("a").replace(cert_path("a.crt"), missing)
        r = self.sluice.reload(cfg)
        self.assertEqual(r.status, 400, r)
        self.assertIn("does-not-exist.crt", r.body.decode("utf-8", "replace"))
        self.assertEqual(self.org(), "First")
        with TlsConn(self.sluice.port) as c:
            self.assertEqual(c.request("GET", "/still", host="a.test").status, 200)

    def test_reload_with_mismatched_key_keeps_old(self):
        r = self.sluice.reload(self.config("a2", ("a", "b")))  # a.crt with b.key
        self.assertEqual(r.status, 400, r)
        self.assertIn(cert_path("b.key"), r.body.decode("utf-8", "replace"))
        self.assertEqual(self.org(), "First", "the old certificate is still served")
        # the config file is fixed: the next reload works
        self.assertEqual(self.sluice.reload(self.config("a2")).status, 200)
        self.assertEqual(self.org(), "Second")

    def test_resumption_survives_reload(self):
        for maxv in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            ctx = client_ctx(max_version=maxv)
            c = TlsConn(self.sluice.port, ctx)
            self.assertEqual(c.request("GET", "/r1", host="a.test").status, 200)
            sess = c.sock.session
            c.close()
            self.assertEqual(self.sluice.reload(self.config("a")).status, 200)
            c = TlsConn(self.sluice.port, ctx, session=sess)
            try:
                self.assertTrue(c.sock.session_reused,
                                "%s session resumed after a reload" % maxv.name)
                self.assertEqual(c.request("GET", "/r2", host="a.test").status, 200)
            finally:
                c.close()

    def test_session_id_resumption_survives_reload(self):
        """Sessions cached by ID (TLS 1.2, no tickets) live outside the config snapshot."""
        ctx = no_ticket_ctx()
        c = TlsConn(self.sluice.port, ctx)
        self.assertEqual(c.request("GET", "/id1", host="a.test").status, 200)
        sess = c.sock.session
        c.close()
        self.assertEqual(self.sluice.reload(self.config("a")).status, 200)
        for i in range(6):
            with TlsConn(self.sluice.port, ctx, session=sess) as c:
                self.assertTrue(c.sock.session_reused, "session ID resumed after a reload")
                self.assertEqual(c.request("GET", "/id2/%d" % i, host="a.test").status, 200)

    def test_start_with_mismatched_key_exits_2(self):
        bad = self.config(("a", "b"))
        s = Sluice(bad, wait_ready=False)
        try:
            s.start()
            code = s.wait(30)
            self.assertEqual(code, 2, s.stderr_text())
            self.assertIn(cert_path("b.key"), s.stderr_text())
            s.check_sanitizers()
        finally:
            s.stop()
            s._cleanup()


if __name__ == "__main__":
    main()
