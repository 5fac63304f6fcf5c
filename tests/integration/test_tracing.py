"""W3C Trace Context and OTLP export through the real binary (spec/gateway.md "Tracing and
logs", issue 18): a valid traceparent is continued with a new span id and its tracestate kept; a
missing, invalid or conflicting one starts a new trace; the upstream always gets exactly one
traceparent; every upstream try is a span of its own; the access log carries trace_id and
span_id, and a line template prints them; sampling of new traces follows `tracing.sample`.
Sampled spans reach a real OTLP/HTTP receiver on loopback (a thread of this test that records
what is POSTed), and a collector that is down or never answers costs no request."""
import json
import re
import socket
import subprocess
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import otlp_proto
from harness import (ProxyTestCase, Sluice, echo_headers, free_port, main, make_config,
                     run_sluice)

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$")


class TraceContextTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        dead = free_port()  # nothing listens: the first try fails to connect
        routes = ["{name: plain, match: {path_prefix: /plain}, upstream: echo}",
                  "{name: edited, match: {path_prefix: /edited}, upstream: echo, "
                  "request_headers: {set: {x-edited: yes}}, "
                  "filters: [{max_body: {bytes: 1MiB}}]}",
                  "{name: retried, match: {path_prefix: /retried}, upstream: flaky}"]
        text = make_config({"echo": ports["echo"]}, routes, extra="tracing: {sample: 0%}")
        return text.replace(
            "routes:",
            "  - {name: flaky, balancer: round_robin, targets: [{address: 127.0.0.1:%d}, "
            "{address: 127.0.0.1:%d}], retries: {attempts: 2}, "
            "timeouts: {connect: 1s, response: 2s}}\nroutes:" % (dead, ports["echo"]), 1)

    def seen(self, target, headers):
        r = self.conn().request("GET", target, headers=headers)
        self.assertEqual(r.status, 200, r.body[:300])
        return r, echo_headers(r)

    def one_traceparent(self, seen):
        values = seen.get("traceparent", [])
        self.assertEqual(len(values), 1, values)
        m = TRACEPARENT.match(values[0])
        self.assertIsNotNone(m, values[0])
        return m.group(1), m.group(2), m.group(3)

    def log_line(self, request_id):
        deadline = time.time() + 5
        while time.time() < deadline:
            for line in self.sluice.access_log_lines():
                if line.get("request_id") == request_id:
                    return line
            time.sleep(0.05)
        self.fail("no access-log line for " + request_id)

    def test_a_valid_parent_is_continued_with_a_new_span(self):
        for path in ("/plain/a", "/edited/a"):
            r, seen = self.seen(path, {"traceparent": PARENT,
                                       "tracestate": "rojo=00f067aa0ba902b7"})
            trace, parent, flags = self.one_traceparent(seen)
            self.assertEqual(trace, "4bf92f3577b34da6a3ce929d0e0e4736", path)
            self.assertNotEqual(parent, "00f067aa0ba902b7", path)
            self.assertEqual(flags, "01", path)  # the parent's sampled flag, not sample: 0%
            self.assertEqual(seen.get("tracestate"), ["rojo=00f067aa0ba902b7"], path)
            line = self.log_line(r.header("x-request-id"))
            self.assertEqual(line["trace_id"], trace)
            self.assertRegex(line["span_id"], "^[0-9a-f]{16}$")
            self.assertNotEqual(line["span_id"], "00f067aa0ba902b7")

    def test_an_invalid_parent_starts_a_new_trace_and_drops_tracestate(self):
        for bad in ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "garbage"):
            r, seen = self.seen("/plain/b", {"traceparent": bad, "tracestate": "rojo=1"})
            trace, _, flags = self.one_traceparent(seen)
            self.assertNotEqual(trace, "4bf92f3577b34da6a3ce929d0e0e4736", bad)
            self.assertEqual(flags, "00", bad)  # sample: 0% for new traces
            self.assertNotIn("tracestate", seen, bad)
            self.assertEqual(self.log_line(r.header("x-request-id"))["trace_id"], trace)

    def test_no_parent_starts_a_trace(self):
        ids = set()
        for _ in range(3):
            _, seen = self.seen("/plain/c", {})
            trace, _, _ = self.one_traceparent(seen)
            ids.add(trace)
        self.assertEqual(len(ids), 3)

    def test_duplicate_traceparents_collapse_to_one(self):
        conflicting = PARENT.replace("4736", "4737")
        raw = ("GET /plain/d HTTP/1.1\r\nHost: test.local\r\ntraceparent: %s\r\n"
               "traceparent: %s\r\n\r\n" % (PARENT, conflicting))
        c = self.conn()
        c.send(raw.encode())
        r = c.read_response()
        self.assertEqual(r.status, 200)
        trace, _, _ = self.one_traceparent(echo_headers(r))
        self.assertNotIn(trace, ("4bf92f3577b34da6a3ce929d0e0e4736",
                                 "4bf92f3577b34da6a3ce929d0e0e4737"))
        c2 = self.conn()
        c2.send(("GET /edited/d HTTP/1.1\r\nHost: test.local\r\ntraceparent: %s\r\n"
                 "traceparent: %s\r\n\r\n" % (PARENT, PARENT)).encode())
        trace, _, _ = self.one_traceparent(echo_headers(c2.read_response()))
        self.assertEqual(trace, "4bf92f3577b34da6a3ce929d0e0e4736")  # identical: one parent

    def test_each_try_is_a_span_of_its_own(self):
        seen_parents = set()
        for _ in range(4):  # round robin puts the dead target first in some of them
            r, seen = self.seen("/retried/e", {"traceparent": PARENT})
            trace, parent, _ = self.one_traceparent(seen)
            self.assertEqual(trace, "4bf92f3577b34da6a3ce929d0e0e4736")
            line = self.log_line(r.header("x-request-id"))
            # The upstream's parent is the client span of the try, never the server span.
            self.assertNotEqual(parent, line["span_id"])
            seen_parents.add(parent)
        self.assertEqual(len(seen_parents), 4)


class SamplingAndTemplateTest(unittest.TestCase):
    def test_sample_all_and_a_line_template(self):
        from harness import Upstream
        with Upstream("echo") as up:
            text = make_config({"echo": up.port},
                               ["{name: all, match: {path_prefix: /}, upstream: echo}"],
                               extra="tracing: {sample: 100%, service_name: edge}")
            text = text.replace("access_log: {path: $DIR/access.log}",
                                "access_log: {path: $DIR/access.log, format: "
                                "'$remote \"$method $path\" $status ${trace_id} $span_id $route'}")
            with Sluice(text) as s:
                r = s.request("GET", "/t?x=1")
                self.assertEqual(r.status, 200)
                trace, parent, flags = TRACEPARENT.match(
                    echo_headers(r)["traceparent"][0]).groups()
                self.assertEqual(flags, "01")
                deadline = time.time() + 5
                lines = []
                while time.time() < deadline and not lines:
                    with open(s.access_log_path) as f:
                        lines = [l for l in f.read().splitlines() if trace in l]
                    time.sleep(0.05)
                self.assertEqual(len(lines), 1)
                self.assertRegex(lines[0], r'^127\.0\.0\.1 "GET /t\?x=1" 200 %s [0-9a-f]{16} all$'
                                 % trace)

    def test_an_unknown_template_variable_is_a_config_error(self):
        import os
        import tempfile
        d = tempfile.mkdtemp(prefix="sluice-trace-")
        path = os.path.join(d, "s.yaml")
        with open(path, "w") as f:
            f.write("listeners: [{name: m, address: 127.0.0.1:8080}]\n"
                    "access_log: {format: '$remote $bogus'}\n"
                    "tracing: {sample: 250%}\n"
                    "routes: [{name: r, respond: {status: 200}}]\n")
        p = run_sluice(["-t", "-c", path])
        out = p.stdout + p.stderr
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("unknown variable $bogus", out)
        self.assertIn("s.yaml:3", out)  # the sample over 100%


class Collector:
    """An OTLP/HTTP receiver: every POST body (protobuf, parsed by python3-protobuf, or JSON) is
    parsed and its spans kept; `noncanonical` counts protobuf bodies that do not re-serialise to
    the same bytes (unknown fields, wrong order or lengths)."""

    def __init__(self):
        spans, lock = [], threading.Lock()
        self.spans, self.lock, self.posts = spans, lock, []
        self.noncanonical = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                if self.headers.get("content-type") == "application/x-protobuf":
                    doc, canonical = otlp_proto.parse(body)
                    outer.noncanonical += not canonical
                else:
                    doc = json.loads(body)
                with lock:
                    outer.posts.append((self.path, self.headers.get("content-type")))
                    for rs in doc["resourceSpans"]:
                        service = rs["resource"]["attributes"][0]["value"]["stringValue"]
                        for ss in rs["scopeSpans"]:
                            for sp in ss["spans"]:
                                sp["service"] = service
                                sp["attrs"] = {a["key"]: list(a["value"].values())[0]
                                               for a in sp.get("attributes", [])}
                                spans.append(sp)
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, pred, timeout=8.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                found = [s for s in self.spans if pred(s)]
            if found:
                return found
            time.sleep(0.05)
        return []

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class OtlpExportTest(unittest.TestCase):
    """With the default encoding, protobuf; OtlpJsonExportTest runs the same with JSON."""
    ENCODING = None
    CONTENT_TYPE = "application/x-protobuf"

    @classmethod
    def setUpClass(cls):
        from harness import Upstream
        cls.collector = Collector()
        cls.up = Upstream("echo").start()
        dead = free_port()
        text = make_config({"echo": cls.up.port},
                           ["{name: api, match: {path_prefix: /api}, upstream: echo}",
                            "{name: flaky, match: {path_prefix: /flaky}, upstream: flaky}"],
                           extra="tracing: {service_name: edge-test, sample: 0%%, otlp: "
                                 "{endpoint: 'http://127.0.0.1:%d/v1/traces', timeout: 1s%s}}"
                                 % (cls.collector.port, ", encoding: %s" % cls.ENCODING
                                    if cls.ENCODING else ""))
        text = text.replace(
            "routes:",
            "  - {name: flaky, balancer: round_robin, targets: [{address: 127.0.0.1:%d}, "
            "{address: 127.0.0.1:%d}], retries: {attempts: 2}, "
            "timeouts: {connect: 1s, response: 2s}}\nroutes:" % (dead, cls.up.port), 1)
        cls.sluice = Sluice(text).start()

    @classmethod
    def tearDownClass(cls):
        cls.sluice.__exit__(None, None, None)
        cls.up.stop()
        cls.collector.close()

    def test_server_and_client_spans_of_a_sampled_request(self):
        trace = "%032x" % (int(time.time() * 1e6) | 1 << 120)
        before = time.time_ns()
        r = self.sluice.request("GET", "/api/users?id=7",
                                headers={"traceparent": "00-%s-00f067aa0ba902b7-01" % trace})
        after = time.time_ns()
        self.assertEqual(r.status, 200)
        _, up_parent, _ = TRACEPARENT.match(echo_headers(r)["traceparent"][0]).groups()
        spans = self.collector.wait_for(lambda s: s["traceId"] == trace and s["kind"] == 2)
        self.assertEqual(len(spans), 1, spans)
        server = spans[0]
        self.assertEqual(server["service"], "edge-test")
        self.assertEqual(server["parentSpanId"], "00f067aa0ba902b7")
        self.assertEqual(server["name"], "GET api")
        a = server["attrs"]
        self.assertEqual(a["http.request.method"], "GET")
        self.assertEqual(a["http.route"], "api")
        self.assertEqual(a["url.path"], "/api/users")
        self.assertEqual(a["http.response.status_code"], "200")
        self.assertEqual(a["sluice.upstream"], "echo")
        self.assertGreater(int(server["endTimeUnixNano"]), int(server["startTimeUnixNano"]))
        clients = self.collector.wait_for(lambda s: s["traceId"] == trace and s["kind"] == 3)
        self.assertEqual(len(clients), 1, clients)
        self.assertEqual(clients[0]["spanId"], up_parent)  # the upstream's parent is the try
        self.assertEqual(clients[0]["parentSpanId"], server["spanId"])
        self.assertEqual(clients[0]["attrs"]["server.port"], str(self.up.port))
        # Wall-clock times: the request's own, and the try inside the server span.
        start, end = int(server["startTimeUnixNano"]), int(server["endTimeUnixNano"])
        self.assertLessEqual(before - 50_000_000, start)
        self.assertLessEqual(end, after + 50_000_000)
        try_start, try_end = (int(clients[0]["startTimeUnixNano"]),
                              int(clients[0]["endTimeUnixNano"]))
        self.assertLessEqual(start, try_start)
        self.assertLess(try_start, try_end)
        self.assertLessEqual(try_end, end)
        line = [l for l in self.sluice.access_log_lines() if l["trace_id"] == trace]
        self.assertEqual(line[0]["span_id"], server["spanId"])

    def test_each_retry_is_a_client_span(self):
        for _ in range(4):  # the dead target comes first in about half of them
            trace = "%032x" % (int(time.time() * 1e6) | 2 << 120)
            r = self.sluice.request("GET", "/flaky/x",
                                    headers={"traceparent": "00-%s-00f067aa0ba902b7-01" % trace})
            self.assertEqual(r.status, 200)
            server = self.collector.wait_for(lambda s: s["traceId"] == trace and s["kind"] == 2)
            clients = self.collector.wait_for(
                lambda s: s["traceId"] == trace and s["kind"] == 3)
            self.assertEqual(len(server), 1)
            if len(clients) == 2:
                first, second = sorted(clients, key=lambda s: int(s["startTimeUnixNano"]))
                self.assertEqual(first["status"]["code"], 2)  # the failed try
                self.assertEqual(second["attrs"]["http.request.resend_count"], "1")
                self.assertEqual(server[0]["attrs"]["http.request.resend_count"], "1")
                return
        self.fail("no request met the dead target first in 4 tries")

    def test_unsampled_new_traces_are_not_exported(self):
        r = self.sluice.request("GET", "/api/quiet")
        trace, _, flags = TRACEPARENT.match(echo_headers(r)["traceparent"][0]).groups()
        self.assertEqual(flags, "00")
        time.sleep(1.2)  # longer than the exporter's batch delay
        self.assertEqual(self.collector.wait_for(lambda s: s["traceId"] == trace, 0.1), [])
        self.assertIn(("/v1/traces", self.CONTENT_TYPE), self.collector.posts)
        self.assertEqual(self.collector.noncanonical, 0)

    def test_openmetrics_when_asked_with_the_trace_as_exemplar(self):
        trace = "%032x" % (int(time.time() * 1e6) | 3 << 120)
        r = self.sluice.request("GET", "/api/exemplar",
                                headers={"traceparent": "00-%s-00f067aa0ba902b7-01" % trace})
        self.assertEqual(r.status, 200)
        accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
        om = self.sluice.admin("GET", "/metrics", headers={"Accept": accept})
        self.assertEqual(om.status, 200)
        self.assertTrue(om.header("content-type").startswith("application/openmetrics-text"))
        text = om.body.decode()
        self.assertTrue(text.endswith("# EOF\n"))
        self.assertRegex(text, r'sluice_request_duration_seconds_bucket\{route="api",le="[^"]+"\} '
                         r'\d+ # \{trace_id="%s"\} [0-9.e-]+ \d+\.\d+\n' % trace)
        # A strict OpenMetrics parser (Debian's python3-prometheus-client) takes the whole page.
        check = subprocess.run(
            ["/usr/bin/python3", "-c",
             "import sys\nfrom prometheus_client.openmetrics.parser import "
             "text_string_to_metric_families as p\nfams = list(p(sys.stdin.read()))\n"
             "ex = [s.exemplar.labels['trace_id'] for f in fams for s in f.samples if s.exemplar]\n"
             "print(len(fams), ' '.join(ex))"],
            input=text, capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stderr[-2000:])
        self.assertIn(trace, check.stdout)
        plain = self.sluice.admin("GET", "/metrics")  # no Accept: Prometheus text, no exemplars
        self.assertTrue(plain.header("content-type").startswith("text/plain"))
        self.assertNotIn(b"trace_id", plain.body)
        p = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=plain.body,
                           capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])

    def test_metrics_count_exported_spans(self):
        self.sluice.request("GET", "/api/m", headers={"traceparent": PARENT})
        deadline = time.time() + 5
        while time.time() < deadline:
            text = self.sluice.metrics()
            m = re.search(r"^sluice_tracing_spans_exported_total (\d+)", text, re.M)
            if m and int(m.group(1)) >= 2:
                return
            time.sleep(0.1)
        self.fail("sluice_tracing_spans_exported_total stayed below 2")


class OtlpJsonExportTest(OtlpExportTest):
    ENCODING = "json"
    CONTENT_TYPE = "application/json"


class DeadCollectorTest(unittest.TestCase):
    def run_against(self, collector_port, requests=400):
        from harness import Upstream
        with Upstream("echo") as up:
            text = make_config({"echo": up.port},
                               ["{name: api, match: {path_prefix: /}, upstream: echo}"],
                               extra="tracing: {sample: 100%%, otlp: {endpoint: "
                                     "'http://127.0.0.1:%d/v1/traces', timeout: 300ms, "
                                     "max_queue: 50}}" % collector_port)
            with Sluice(text) as s:
                c = s.conn()
                worst = 0
                for i in range(requests):
                    t0 = time.time()
                    r = c.request("GET", "/x%d" % i)
                    worst = max(worst, time.time() - t0)
                    self.assertEqual(r.status, 200)
                time.sleep(1.0)
                text = s.metrics()
                dropped = sum(int(v) for v in re.findall(
                    r"^sluice_tracing_spans_dropped_total\{[^}]*\} (\d+)", text, re.M))
                c.close()
                return worst, dropped

    def test_a_closed_port_costs_no_request(self):
        worst, dropped = self.run_against(free_port())
        self.assertLess(worst, 1.0)
        self.assertGreater(dropped, 300)  # server and client spans of 400 requests: 800

    def test_a_collector_that_never_answers_costs_no_request(self):
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        try:
            worst, dropped = self.run_against(silent.getsockname()[1])
        finally:
            silent.close()
        self.assertLess(worst, 1.0)
        self.assertGreater(dropped, 300)


if __name__ == "__main__":
    main()
