"""Responses that sluice writes itself (spec/operations.md): 502 upstream down or invalid, 504
upstream timeout, 404 no route, 408 header timeout, 431 head limits; and a pooled connection that
the upstream closed never shows up as a client error."""

import json
import socket
import time

import os
import subprocess
import tempfile
import unittest

from harness import (Conn, ProtocolError, ProxyTestCase, Sluice, build_request, free_port,
                     http_request, main, make_config)


class ErrorsTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",), "silent": ("silent",),
                 "stale": ("close_after", "--delay", "0.05"), "garbage": ("garbage",)}

    @classmethod
    def config(cls, ports):
        ports = dict(ports)
        ports["down"] = free_port()  # nothing listens there
        fast = {"timeouts": "{connect: 1s, response: 1s}"}
        return make_config(ports, [
            "{name: down, match: {path_prefix: /down}, upstream: down}",
            "{name: silent, match: {path_prefix: /silent}, upstream: silent}",
            "{name: stale, match: {path_prefix: /stale}, upstream: stale}",
            "{name: garbage, match: {path_prefix: /garbage}, upstream: garbage}",
            "{name: app, match: {path_prefix: /app/}, upstream: echo}",
        ], limits={"header_timeout": "1s", "max_header_bytes": "8KiB", "max_headers": 20},
            upstream_opts={"silent": fast, "down": fast})

    def assert_local_reply(self, r, status):
        """A response written by sluice: the status, a short plain-text body with the id."""
        self.assertEqual(r.status, status, r)
        rid = r.header("x-request-id")
        self.assertTrue(rid, "x-request-id on a local reply")
        self.assertTrue((r.header("content-type") or "").startswith("text/plain"), r.headers)
        self.assertLess(len(r.body), 1024, "error bodies are short")
        self.assertIn(rid.encode(), r.body, "the body names the request id")

    def test_upstream_down_is_502(self):
        r = self.conn().request("GET", "/down/x")
        self.assert_local_reply(r, 502)

    def test_error_body_json_when_accepted(self):
        r = self.conn().request("GET", "/down/x", [("Accept", "application/json")])
        self.assertEqual(r.status, 502)
        self.assertTrue((r.header("content-type") or "").startswith("application/json"))
        doc = json.loads(r.body)
        self.assertIn(r.header("x-request-id"), json.dumps(doc))

    def test_client_request_id_in_error_body(self):
        r = self.conn().request("GET", "/down/x", [("X-Request-Id", "my-req-77")])
        self.assertEqual(r.header("x-request-id"), "my-req-77")
        self.assert_local_reply(r, 502)

    def test_silent_upstream_is_504_after_response_timeout(self):
        t0 = time.time()
        r = self.conn().request("GET", "/silent")
        took = time.time() - t0
        self.assert_local_reply(r, 504)
        self.assertGreaterEqual(took, 0.9, "504 before the 1s response timeout")
        self.assertLess(took, 5.0)

    def test_no_route_is_404(self):
        mark = self.up["echo"].mark()
        r = self.conn().request("GET", "/nowhere")
        self.assert_local_reply(r, 404)
        self.assertEqual(self.up["echo"].requests_since(mark), [])

    def test_keepalive_survives_local_errors(self):
        c = self.conn()
        self.assertEqual(c.request("GET", "/nowhere").status, 404)
        self.assertEqual(c.request("GET", "/down").status, 502)
        self.assertEqual(c.request("GET", "/app/ok").json()["target"], "/app/ok")

    def test_invalid_upstream_response_is_502(self):
        for kind in ("dup_cl", "bad_status", "close", "status_099", "status_600",
                     "http2_version", "te_gzip", "te_gzip_chunked", "bad_chunk", "huge_head",
                     "nul_reason"):
            with self.subTest(kind=kind):
                r = self.conn().request("GET", "/garbage?kind=" + kind)
                self.assert_local_reply(r, 502)

    def test_via_names_the_upstreams_version(self):
        # RFC 9110 §7.6.3: received-protocol is the version of the message as received.
        r = self.conn().request("GET", "/garbage?kind=http10")
        self.assertEqual((r.status, r.body), (200, b"ok"))
        self.assertEqual(r.header("via"), "1.0 sluice")
        self.assertEqual(self.conn().request("GET", "/app/v").header("via"), "1.1 sluice")

    def test_truncated_upstream_body_is_not_completed(self):
        # The head went out already; the only honest thing left is to close the connection
        # before the announced length, so the client sees the truncation.
        c = self.conn()
        c.send(build_request("GET", "/garbage?kind=truncated"))
        try:
            r = c.read_response()
        except ProtocolError:
            return  # body cut short by a close: correct
        self.assertEqual(r.status, 502, "a truncated body must not look complete: %r" % r)

    def test_header_timeout_is_408_and_close(self):
        c = self.conn()
        t0 = time.time()
        c.send(b"GET /app/x HTTP/1.1\r\nHost: test.local\r\nX-Half: ")
        r = c.read_response()
        took = time.time() - t0
        self.assertEqual(r.status, 408, r)
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 5.0)
        self.assertTrue(c.is_closed(3.0), "408 closes the connection")

    def test_slowloris_drip_is_408(self):
        # header_timeout bounds the whole head, not the gap between bytes.
        c = self.conn()
        t0 = time.time()
        c.send(b"GET /app/x HTTP/1.1\r\nHost: test.local\r\n")
        got = None
        for i in range(40):
            try:
                c.send(b"X-Drip-%d: y\r\n" % i)
            except OSError:
                break
            c.sock.settimeout(0.2)
            try:
                if c._fill():
                    break
            except socket.timeout:
                pass
            if c.eof:
                break
        c.sock.settimeout(10)
        got = c.read_response()
        took = time.time() - t0
        self.assertEqual(got.status, 408, got)
        self.assertLess(took, 4.0, "the drip extended the header timeout")

    def test_head_too_large_is_431(self):
        mark = self.up["echo"].mark()
        r = self.conn().request("GET", "/app/x", [("X-Big", "a" * 9000)])
        self.assert_local_reply(r, 431)
        # a target longer than the whole head limit: RFC 9112 §3 says 414 (URI Too Long)
        r = self.conn().request("GET", "/app/" + "b" * 9000)
        self.assertEqual(r.status, 414, r)
        # many medium headers adding up past the limit
        r = self.conn().request("GET", "/app/x", [("X-M%d" % i, "c" * 600) for i in range(15)])
        self.assertEqual(r.status, 431, r)
        self.assertEqual(self.up["echo"].requests_since(mark), [])

    def test_head_limit_is_exact(self):
        # max_header_bytes: 8KiB bounds the whole head (request line + fields + final CRLF):
        # exactly the limit passes, one byte more is 431, however the bytes arrive
        limit = 8 * 1024

        def head(size):
            start = "GET /app/exact HTTP/1.1\r\nHost: test.local\r\nX-Pad: "
            return start + "p" * (size - len(start) - 4) + "\r\n\r\n"

        self.assertEqual(len(head(limit)), limit)
        for pieces in (1, 3):
            for size, status in ((limit, 200), (limit + 1, 431)):
                data = head(size).encode()
                c = self.conn()
                step = -(-len(data) // pieces)
                for i in range(0, len(data), step):
                    c.send(data[i:i + step])
                r = c.read_response()
                self.assertEqual(r.status, status, (size, pieces, r))
                if status == 431:
                    self.assert_local_reply(r, 431)

    def test_too_many_headers_is_431(self):
        mark = self.up["echo"].mark()
        ok = self.conn().request("GET", "/app/x", [("X-H%d" % i, "v") for i in range(19)])
        self.assertEqual(ok.status, 200, "Host + 19 = 20 headers is within max_headers: 20")
        r = self.conn().request("GET", "/app/x", [("X-H%d" % i, "v") for i in range(25)])
        self.assert_local_reply(r, 431)
        self.assertEqual(len(self.up["echo"].requests_since(mark)), 1)

    def test_stale_pooled_connection_is_invisible(self):
        # close_after answers with keep-alive and closes 50 ms later, so the pooled connection
        # is dead (or dying) whenever the next request comes. Every GET must still get a 200.
        mark = self.up["stale"].mark()
        c = self.conn()
        gaps = [0.3, 0.05, 0.04, 0.06, 0.2, 0.045, 0.055, 0.3, 0.01, 0.05, 0.1, 0.048]
        failures = []
        for i, gap in enumerate(gaps):
            time.sleep(gap)
            try:
                if i % 3 == 2:  # sometimes from a new client connection
                    r = self.sluice.request("GET", "/stale/%d" % i)
                else:
                    r = c.request("GET", "/stale/%d" % i)
                if r.status != 200:
                    failures.append((i, r.status, r.body[:200]))
            except (OSError, ProtocolError) as e:
                failures.append((i, repr(e)))
                c = self.conn()
        self.assertEqual(failures, [])
        seen = {e["target"] for e in self.up["stale"].requests_since(mark)}
        self.assertEqual(seen, {"/stale/%d" % i for i in range(len(gaps))})



class OutOfDescriptorsTest(unittest.TestCase):
    """With its descriptors used up, sluice stops accepting (no busy loop on a listening socket
    that stays readable), logs it, and accepts again once descriptors are free."""

    def cpu_seconds(self, pid):
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def ubsan_env(self):
        """UBSan's vptr check reads the object through a pipe(2) it opens for the purpose; with
        no descriptor left it cannot, and reports a valid object as having an invalid vptr (seen
        in CI on the first ClientConnection destroyed while starved). That check alone is
        suppressed here; every other sanitizer report still fails the test."""
        path = os.path.join(tempfile.mkdtemp(prefix="sluice-ubsan-"), "suppressions")
        with open(path, "w") as f:
            f.write("vptr:*\n")
        opts = os.environ.get("UBSAN_OPTIONS", "")
        return {"UBSAN_OPTIONS": (opts + ":" if opts else "") + "suppressions=" + path}

    def test_accept_pauses_and_resumes(self):
        cfg = ("workers: 1\nadmin: {address: 127.0.0.1:$ADMIN}\naccess_log: {path: 'off'}\n"
               "listeners: [{name: main, address: 127.0.0.1:$PORT}]\n"
               "routes: [{name: r, match: {path_prefix: /}, respond: {status: 200, body: ok}}]\n")
        with Sluice(cfg, env=self.ubsan_env()) as s:
            used = len(os.listdir("/proc/%d/fd" % s.pid))
            subprocess.run(["prlimit", "--pid", str(s.pid), "--nofile=%d:%d" % (used + 8, used + 8)],
                           check=True)
            held = []
            for _ in range(30):  # far more than the 8 free descriptors
                c = Conn(s.port, timeout=5)
                held.append(c)
            time.sleep(0.3)
            cpu0 = self.cpu_seconds(s.pid)
            time.sleep(1.0)
            spent = self.cpu_seconds(s.pid) - cpu0
            self.assertLess(spent, 0.3, "sluice spins while out of descriptors")
            for c in held:
                c.close()
            deadline = time.time() + 5
            status = None
            while time.time() < deadline and status != 200:
                try:
                    status = http_request(s.port, "GET", "/", timeout=2).status
                except (OSError, ProtocolError):
                    time.sleep(0.1)
            self.assertEqual(status, 200, "accepting resumed once descriptors were free")
            self.assertEqual(s.stderr_text().count("Too many open files"), 1,
                             "logged once per episode, not at every retry")


if __name__ == "__main__":
    main()
