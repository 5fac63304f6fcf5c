"""W3C Trace Context through the real binary (spec/gateway.md "Tracing and logs", issue 18):
a valid traceparent is continued with a new span id and its tracestate kept; a missing, invalid
or conflicting one starts a new trace; the upstream always gets exactly one traceparent; every
upstream try is a span of its own; the access log carries trace_id and span_id, and a line
template prints them; sampling of new traces follows `tracing.sample`."""
import re
import time
import unittest

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


if __name__ == "__main__":
    main()
