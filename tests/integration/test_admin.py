"""The admin listener, metrics, access log and command line (spec/operations.md)."""

import json
import os
import re
import socket
import subprocess
import tempfile
import time

from harness import (ProxyTestCase, Sluice, main, make_config, metric_sum, parse_metrics,
                     run_sluice, source_dir, free_port)

ACCESS_FIELDS = ["time", "request_id", "remote", "method", "host", "path", "protocol", "status",
                 "bytes_sent", "duration_ms", "route", "upstream", "target",
                 "upstream_duration_ms", "cache", "ratelimit"]


class AdminTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, [
            "{name: direct, match: {path: /direct}, respond: {status: 200, body: \"ok\\n\"}}",
            "{name: app, match: {path_prefix: /app}, upstream: echo}",
        ])

    def target(self):
        return "127.0.0.1:%d" % self.up["echo"].port

    def test_healthz_and_readyz(self):
        self.assertEqual(self.sluice.admin("GET", "/healthz").status, 200)
        self.assertEqual(self.sluice.admin("GET", "/readyz").status, 200)

    def test_admin_is_not_on_the_public_listener(self):
        r = self.sluice.request("GET", "/metrics")
        self.assertEqual(r.status, 404, "no route matches /metrics on the public listener")
        self.assertNotIn(b"sluice_build_info", r.body)

    def test_metrics_pass_promtool(self):
        for _ in range(3):
            self.sluice.request("GET", "/app/x")
        self.sluice.request("GET", "/nowhere")
        self.sluice.request("GET", "/direct")
        r = self.sluice.admin("GET", "/metrics")
        self.assertEqual(r.status, 200)
        ctype = r.header("content-type") or ""
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        self.assertIn("version=0.0.4", ctype)
        p = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=r.body,
                           capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, "promtool check metrics:\n%s%s\n--- metrics:\n%s" % (
            p.stdout.decode(), p.stderr.decode(), r.body.decode()[:5000]))

    def test_metric_families(self):
        c = self.conn()
        for _ in range(3):
            self.assertEqual(c.request("GET", "/app/m").status, 200)
        self.assertEqual(c.request("POST", "/app/m", body=b"x").status, 200)
        self.assertEqual(c.request("GET", "/nowhere").status, 404)
        self.assertEqual(self.sluice.reload().status, 200)
        # c is still open: one active downstream connection at least
        text = self.sluice.metrics()
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        expect = {
            "sluice_requests_total": "counter",
            "sluice_request_duration_seconds": "histogram",
            "sluice_upstream_requests_total": "counter",
            "sluice_downstream_connections_active": "gauge",
            "sluice_downstream_connections_total": "counter",
            "sluice_build_info": "gauge",
            "sluice_config_reloads_total": "counter",
            "sluice_upstream_request_duration_seconds": "histogram",
        }
        for name, kind in expect.items():
            self.assertEqual(types.get(name), kind, "# TYPE %s %s" % (name, kind))
        self.assertGreaterEqual(metric_sum(text, "sluice_requests_total", route="app",
                                           method="GET", code="200"), 3)
        self.assertGreaterEqual(metric_sum(text, "sluice_requests_total", route="app",
                                           method="POST", code="200"), 1)
        self.assertGreaterEqual(metric_sum(text, "sluice_requests_total", code="404"), 1)
        self.assertGreaterEqual(metric_sum(text, "sluice_request_duration_seconds_bucket",
                                           route="app", le="+Inf"), 4)
        self.assertGreaterEqual(metric_sum(text, "sluice_request_duration_seconds_count",
                                           route="app"), 4)
        self.assertIn("sluice_request_duration_seconds_sum{", text)
        self.assertGreaterEqual(metric_sum(text, "sluice_upstream_requests_total",
                                           upstream="echo", target=self.target(), code="200"), 4)
        self.assertGreaterEqual(metric_sum(text, "sluice_downstream_connections_active",
                                           listener="main"), 1)
        self.assertGreaterEqual(metric_sum(text, "sluice_downstream_connections_total",
                                           listener="main"), 1)
        self.assertGreaterEqual(metric_sum(text, "sluice_config_reloads_total",
                                           result="success"), 1)
        infos = [l for n, l, v in parse_metrics(text) if n == "sluice_build_info" and v == 1]
        self.assertEqual(len(infos), 1)
        self.assertTrue(infos[0].get("version"))

    def test_metric_labels_are_bounded(self):
        self.sluice.request("GET", "/app/unique-path-8f3a1", [("X-Forwarded-For", "198.51.100.7")])
        text = self.sluice.metrics()
        self.assertNotIn("unique-path-8f3a1", text)
        self.assertNotIn("198.51.100.7", text)

    def test_config_endpoint(self):
        r = self.sluice.admin("GET", "/config")
        self.assertEqual(r.status, 200)
        doc = r.json()
        flat = json.dumps(doc)
        self.assertIn("127.0.0.1:%d" % self.sluice.port, flat)
        self.assertIn('"main"', flat)
        self.assertIn('"app"', flat)
        self.assertIn("version", flat)

    def test_unknown_admin_path(self):
        self.assertEqual(self.sluice.admin("GET", "/no-such-endpoint").status, 404)
        for method in ("POST", "PUT", "DELETE"):  # 404 whatever the method
            r = self.sluice.admin(method, "/no-such-endpoint", body=b"")
            self.assertEqual(r.status, 404, (method, r))

    def test_method_not_allowed_names_the_allowed_ones(self):
        # RFC 9110 §15.5.6: a 405 carries Allow
        for method, path, allow in (("POST", "/metrics", "GET, HEAD"),
                                    ("DELETE", "/healthz", "GET, HEAD"),
                                    ("PUT", "/config", "GET, HEAD"),
                                    ("GET", "/reload", "POST"),
                                    ("GET", "/cache/purge", "POST")):
            r = self.sluice.admin(method, path, body=b"" if method != "GET" else None)
            self.assertEqual(r.status, 405, (method, path, r))
            self.assertEqual(r.header("allow"), allow, (method, path, r.headers))
        self.assertIsNone(self.sluice.admin("GET", "/healthz").header("allow"))

    def test_retries_counter_exists_before_any_retry(self):
        samples = [(l, v) for n, l, v in parse_metrics(self.sluice.metrics())
                   if n == "sluice_upstream_retries_total"]
        self.assertIn(({"upstream": "echo"}, 0.0), samples)

    def test_access_log(self):
        ids = {}
        c = self.conn()
        for i, (method, path) in enumerate([("GET", "/app/log?q=1"), ("POST", "/app/log2"),
                                            ("GET", "/direct"), ("GET", "/nowhere")]):
            rid = "access-log-test-%d-%d" % (os.getpid(), i)
            r = c.request(method, path, [("X-Request-Id", rid)],
                          body=b"abc" if method == "POST" else None)
            ids[rid] = (method, path, r)
        deadline = time.time() + 5
        while True:
            lines = self.sluice.access_log_lines()  # every line must be JSON
            mine = [l for l in lines if l.get("request_id") in ids]
            if len(mine) >= len(ids) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(sorted(l["request_id"] for l in mine), sorted(ids),
                         "one access log line per request")
        for line in mine:
            method, path, r = ids[line["request_id"]]
            for f in ACCESS_FIELDS:
                self.assertIn(f, line, "access log field %s missing: %r" % (f, line))
            self.assertEqual(line["method"], method)
            self.assertIn(line["path"], (path, path.split("?")[0]))
            self.assertEqual(line["status"], r.status)
            self.assertEqual(line["protocol"], "HTTP/1.1")
            self.assertEqual(line["host"], "test.local")
            self.assertTrue(str(line["remote"]).startswith("127.0.0.1"), line["remote"])
            self.assertIsInstance(line["bytes_sent"], int)
            self.assertGreater(line["bytes_sent"], 0)
            self.assertIsInstance(line["duration_ms"], (int, float))
            self.assertGreaterEqual(line["duration_ms"], 0)
            if path.startswith("/app"):
                self.assertEqual(line["route"], "app")
                self.assertEqual(line["upstream"], "echo")
                self.assertEqual(line["target"], self.target())
                self.assertIsInstance(line["upstream_duration_ms"], (int, float))
            if path == "/direct":
                self.assertEqual(line["route"], "direct")

    def test_nothing_on_stderr_per_request(self):
        before = self.sluice.stderr_text()
        for _ in range(20):
            self.sluice.request("GET", "/app/quiet")
        time.sleep(0.2)
        self.assertEqual(self.sluice.stderr_text(), before)


class CommandLineTest(ProxyTestCase):
    UPSTREAMS = {}

    @classmethod
    def setUpClass(cls):
        cls.up = {}
        cls.sluice = None
        cls.dir = tempfile.mkdtemp(prefix="sluice-cli-")

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def good_config(self):
        return make_config({"app": 9}, ["{name: all, match: {path_prefix: /}, upstream: app}"]) \
            .replace("$ADMIN", "19901").replace("$PORT", "18080").replace("$DIR", self.dir)

    def test_version(self):
        p = run_sluice(["--version"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"\d+\.\d+")

    def test_version_matches_build_info(self):
        p = run_sluice(["--version"])
        with Sluice(make_config({"app": free_port()},
                                ["{name: all, match: {path_prefix: /}, upstream: app}"])) as s:
            infos = [l for n, l, v in parse_metrics(s.metrics()) if n == "sluice_build_info"]
        self.assertTrue(infos)
        self.assertIn(infos[0]["version"], p.stdout)

    def test_check_conf_d_example(self):
        path = os.path.join(source_dir(), "conf.d", "sluice.yaml")
        self.assertTrue(os.path.exists(path), "conf.d/sluice.yaml is missing")
        p = run_sluice(["-t", "-c", path], cwd=os.path.dirname(path))
        self.assertEqual(p.returncode, 0, "sluice -t %s:\n%s%s" % (path, p.stdout, p.stderr))

    def test_check_good_file(self):
        path = self.write("good.yaml", self.good_config())
        p = run_sluice(["-t", "-c", path])
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run_sluice(["-T", "-c", path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("18080", p.stdout, "-T prints the effective config")

    def test_check_bad_file_reports_every_error(self):
        text = ("workers: lots\n"             # 1: bad value, column 10
                "listners: []\n"              # 2: unknown key, column 1
                "listeners:\n"
                "  - name: main\n"
                "    address: 127.0.0.1:8080\n"
                "    adress: 127.0.0.1:1\n"   # 6: unknown key, column 5
                "upstreams: [{name: app, targets: [{address: 127.0.0.1:9}]}]\n"
                "routes: [{name: all, match: {path_prefix: /}, upstream: app}]\n")
        path = self.write("bad.yaml", text)
        p = run_sluice(["-t", "-c", path])
        self.assertEqual(p.returncode, 1, p.stderr)
        err = p.stderr
        for loc in ("bad.yaml:1:10:", "bad.yaml:2:1:", "bad.yaml:6:5:"):
            self.assertIn(loc, err, "missing %s in:\n%s" % (loc, err))
        line2 = [l for l in err.splitlines() if "bad.yaml:2:1:" in l][0]
        self.assertIn("listeners", line2, "the message says what to write instead")
        for l in err.splitlines():
            if re.search(r"bad\.yaml:\d", l):
                self.assertRegex(l, r"bad\.yaml:\d+:\d+: \S")

    def test_check_missing_file(self):
        p = run_sluice(["-t", "-c", os.path.join(self.dir, "does-not-exist.yaml")])
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.strip())

    def test_bad_flag_exits_1(self):
        p = run_sluice(["--no-such-flag"])
        self.assertEqual(p.returncode, 1)
        for args in (["--version", "--bogus"], ["--bogus", "--version"], ["--help", "-x"]):
            p = run_sluice(args)
            self.assertEqual(p.returncode, 1, "a bad flag fails whatever else is there: %s" % args)
            self.assertIn("unknown argument", p.stderr)
            self.assertNotIn("sluice 0", p.stdout)

    def test_c_without_a_file(self):
        for args in (["-c"], ["-t", "-c"]):
            p = run_sluice(args)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("-c needs a file", p.stderr)

    def test_dump_shows_the_effective_hash_key(self):
        path = self.write("hash.yaml", self.good_config())
        p = run_sluice(["-T", "-c", path])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["upstreams"][0]["hash_key"], "ip")

    def tls_config(self, cert, key):
        return ("listeners:\n"
                "  - name: tls\n"
                "    address: 127.0.0.1:$PORT\n"
                "    tls: {certificates: [{cert: %s, key: %s}]}\n"
                "admin: {address: 127.0.0.1:$ADMIN}\n"
                "upstreams: [{name: app, targets: [{address: 127.0.0.1:9}]}]\n"
                "routes: [{name: all, upstream: app}]\n" % (cert, key))

    def test_check_reports_what_start_would_refuse(self):
        # each of these passed -t once and then failed at start; now -t lists them all
        path = self.write("refuse.yaml", (
            "listeners:\n"
            "  - name: tls\n"
            "    address: 127.0.0.1:18443\n"
            "    tls: {certificates: [{cert: /nonexistent/x.crt, key: no-such.key}]}\n"
            "admin: {address: 127.0.0.1:19902}\n"
            "upstreams: [{name: app, targets: [{address: 127.0.0.1:9}]}]\n"
            "routes: [{name: all, upstream: app, filters: [{circuit_breaker: {}}]}]\n"
            "access_log: {path: /nonexistent-dir/access.log}\n"))
        p = run_sluice(["-t", "-c", path])
        self.assertEqual(p.returncode, 1, p.stderr)
        err = p.stderr
        for loc, what in (("refuse.yaml:4:33: ", "cert: cannot read \"/nonexistent/x.crt\""),
                          ("refuse.yaml:4:58: ", "key: cannot read"),
                          ("refuse.yaml:7:48: ", "circuit_breaker: "),
                          ("refuse.yaml:8:20: ", "\"/nonexistent-dir\" does not exist")):
            lines = [l for l in err.splitlines() if loc in l]
            self.assertEqual(len(lines), 1, "%s not reported once:\n%s" % (loc, err))
            self.assertIn(what, lines[0])

    def test_unusable_certificate_fails_check_and_start(self):
        cert, key = os.path.join(self.dir, "a.crt"), os.path.join(self.dir, "a.key")
        other_key = os.path.join(self.dir, "b.key")
        for k in (key, other_key):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", k, "-out",
                            cert, "-subj", "/CN=a.test", "-days", "2"],
                           check=True, capture_output=True)
        # cert now belongs to other_key; key is a valid key of another certificate
        cases = [(cert, key, "does not match the certificate"),
                 ("/nonexistent/x.crt", other_key, "cannot read"),
                 (self.write("junk.crt", "not a certificate\n"), other_key, "no PEM certificate")]
        for c, k, what in cases:
            path = self.write("tls.yaml", self.tls_config(c, k).replace("$PORT", "18443")
                              .replace("$ADMIN", "19902"))
            p = run_sluice(["-t", "-c", path])
            self.assertEqual(p.returncode, 1, (what, p.stderr))
            self.assertRegex(p.stderr, r"tls\.yaml:4:\d+: (cert|key): .*%s" % what)
            # running it: operations.md "could not start (cert unreadable)": exit 2
            s = Sluice(self.tls_config(c, k), wait_ready=False)
            s.start()
            try:
                code = s.wait(20)
                err = s.stderr_text()
            finally:
                s.__exit__(None, None, None)
            self.assertEqual(code, 2, err)
            self.assertRegex(err, r"<3>error: \S+:4:\d+: (cert|key): .*%s" % what)
        # the good pair passes -t
        path = self.write("tls.yaml", self.tls_config(cert, other_key).replace("$PORT", "18443")
                          .replace("$ADMIN", "19902"))
        p = run_sluice(["-t", "-c", path])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_port_in_use_exits_2(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(blocker.close)
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        cfg = make_config({"app": 9}, ["{name: all, match: {path_prefix: /}, upstream: app}"])
        s = Sluice(cfg.replace("$PORT", str(port)), wait_ready=False)
        s.start()
        try:
            code = s.wait(20)
        finally:
            s.__exit__(None, None, None)
        self.assertEqual(code, 2, "port in use: could not start -> exit 2")


if __name__ == "__main__":
    main()
