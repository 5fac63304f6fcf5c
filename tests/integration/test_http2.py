"""Downstream HTTP/2 (issue 14 items 1, 5, 6; gateway.md "HTTP/2 and gRPC"): h2 chosen by ALPN on
a TLS listener, h2c with prior knowledge on a plain listener with `http2.h2c: true` (HTTP/1.1
still served there) and not on one without; many streams on one connection (h2load); uploads and
downloads with flow control (a stalled reader does not make sluice hold the response); the
listener's http2 settings and the HTTP/1.1 limits per stream (431, 413); Via "2 sluice" and the
access log's "HTTP/2"; GOAWAY on drain with the stream in flight finishing; and the hostile
clients of the spec (rapid reset, CONTINUATION flood, HPACK bomb, SETTINGS and PING floods,
stream exhaustion, zero-window stall), each bounded per connection, counted in
sluice_http2_protocol_errors_total{reason}, with the process alive, its memory bounded and other
clients served. Needs python3-h2 (run with /usr/bin/python3), curl with HTTP/2 and h2load."""

import hashlib
import json
import os
import select
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

import h2.config
import h2.connection
import h2.events
import hpack

from harness import ProxyTestCase, Sluice, Upstream, free_port, main, make_config, metric_sum

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = (
    0, 1, 3, 4, 6, 7, 8, 9)
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
ENHANCE_YOUR_CALM, REFUSED_STREAM, PROTOCOL_ERROR, CANCEL = 0xB, 0x7, 0x1, 0x8

CERTS = None


def setUpModule():
    global CERTS
    CERTS = tempfile.mkdtemp(prefix="sluice-h2-certs-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", "k.pem", "-out", "c.pem",
                    "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost"], cwd=CERTS, check=True, capture_output=True)


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(
        ">I", stream) + payload


def request_block(enc, path, authority="test.local", method="GET", extra=()):
    return enc.encode([(":method", method), (":scheme", "http"), (":path", path),
                       (":authority", authority)] + list(extra))


class RawH2:
    """A client writing raw frames (to misbehave on purpose); a thread reads and records what
    sluice sends, acknowledging its SETTINGS."""

    def __init__(self, port, settings=b"", read=True, ack=True, sock=None):
        self.ack = ack
        # `sock`: an already connected socket (e.g. TLS with ALPN h2) instead of TCP to `port`
        self.sock = sock or socket.create_connection(("127.0.0.1", port), timeout=10)
        self.frames = []  # (type, flags, stream, payload)
        self.closed = threading.Event()
        self.acked = threading.Event()  # sluice's SETTINGS acknowledged
        self.lock = threading.Lock()
        # Guards the socket's writes (the reader thread sends SETTINGS ACKs too) and, over TLS,
        # its reads as well: one SSL object used by two threads at once (a blocking SSL_read
        # beside an SSL_write) is not safe, and once made the reader see an error and record no
        # GOAWAY at all under load.
        self.send_lock = threading.Lock()
        self.tls = isinstance(self.sock, ssl.SSLSocket)
        self.dec = hpack.Decoder()
        self.dec.max_allowed_table_size = 65536
        self.decoded = {}  # stream -> [decoded header blocks]
        self.send(PREFACE + frame(SETTINGS, 0, 0, settings))
        if read:
            threading.Thread(target=self._read, daemon=True).start()

    def send(self, data):
        try:
            with self.send_lock:
                self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _recv(self):
        if not self.tls:
            return self.sock.recv(65536)
        while True:
            with self.send_lock:  # a non-blocking read: never holds the lock while waiting
                timeout = self.sock.gettimeout()
                self.sock.settimeout(0)
                try:
                    return self.sock.recv(65536)
                except ssl.SSLWantReadError:
                    pass  # nothing, part of a record, or one without data (a session ticket)
                finally:
                    self.sock.settimeout(timeout)
            select.select([self.sock], [], [], 0.2)

    def _read(self):
        buf = b""
        try:
            while True:
                chunk = self._recv()
                if not chunk:
                    break
                buf += chunk
                while len(buf) >= 9:
                    n = int.from_bytes(buf[:3], "big")
                    if len(buf) < 9 + n:
                        break
                    f = (buf[3], buf[4], int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF,
                         buf[9:9 + n])
                    buf = buf[9 + n:]
                    if f[0] == SETTINGS and not f[1] & ACK and self.ack:
                        self.send(frame(SETTINGS, ACK, 0))
                        self.acked.set()
                    with self.lock:
                        if f[0] == HEADERS:  # HPACK state: every block, in order
                            self.decoded.setdefault(f[2], []).append(dict(self.dec.decode(f[3])))
                        self.frames.append(f)
        except OSError:
            pass
        self.closed.set()

    def of(self, ftype, stream=None):
        with self.lock:
            return [f for f in self.frames if f[0] == ftype and (stream is None or f[2] == stream)]

    def wait(self, cond, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond():
                return True
            time.sleep(0.02)
        return cond()

    def goaway_code(self, timeout=10.0):
        self.wait(lambda: self.of(GOAWAY) or self.closed.is_set(), timeout)
        g = self.of(GOAWAY)
        return struct.unpack(">II", g[-1][3][:8])[1] if g else None

    def status(self, stream):
        with self.lock:
            blocks = self.decoded.get(stream)
        return blocks[0].get(":status") if blocks else None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class H2Client:
    """A well-behaved client (python-h2) over TCP or TLS; windows given back as data is read."""

    def __init__(self, port, tls=False, timeout=15.0):
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2"])
            sock = ctx.wrap_socket(sock, server_hostname="localhost")
        self.sock = sock
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.flush()
        self.events = {}

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, path, headers=(), body=None, authority="test.local"):
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", method), (":scheme", "http"), (":path", path),
                                     (":authority", authority)] + list(headers),
                               end_stream=body is None)
        self.flush()
        if body is not None:
            self.send_body(sid, body)
        return sid

    def send_body(self, sid, body):
        off = 0
        while off < len(body):
            window = min(self.conn.local_flow_control_window(sid),
                         self.conn.max_outbound_frame_size)
            if window <= 0:
                if self.pump(sid) == "ended":
                    return  # answered (and reset) before the whole body went
                continue
            piece = body[off:off + window]
            self.conn.send_data(sid, piece)
            self.flush()
            off += len(piece)
        self.conn.end_stream(sid)
        self.flush()

    def pump(self, sid=None, consume=True):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        for ev in self.conn.receive_data(data):
            s = getattr(ev, "stream_id", None)
            if s is not None:
                self.events.setdefault(s, []).append(ev)
            if isinstance(ev, h2.events.DataReceived) and consume:
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        self.flush()
        return "ended" if sid is not None and self.ended(sid) else None

    def ended(self, sid):
        return any(isinstance(e, (h2.events.StreamEnded, h2.events.StreamReset))
                   for e in self.events.get(sid, []))

    def response(self, sid):
        """(status, headers dict, body bytes, trailers dict, reset error or None)."""
        while not self.ended(sid):
            self.pump(sid)
        status, headers, body, trailers, reset = None, {}, b"", {}, None
        for ev in self.events.get(sid, []):
            if isinstance(ev, h2.events.ResponseReceived):
                headers = dict(ev.headers)
                status = int(headers[":status"])
            elif isinstance(ev, h2.events.DataReceived):
                body += ev.data
            elif isinstance(ev, h2.events.TrailersReceived):
                trailers = dict(ev.headers)
            elif isinstance(ev, h2.events.StreamReset):
                reset = ev.error_code
        return status, headers, body, trailers, reset

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def curl(*args, timeout=20):
    p = subprocess.run(["curl", "-sk", "--max-time", "15"] + list(args), capture_output=True,
                       timeout=timeout)
    return p.stdout


class Http2Test(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",), "big": ("big",)}

    @classmethod
    def config(cls, ports):
        cls.tls_port = free_port()
        cls.plain_port = free_port()
        text = make_config(ports, [
            "{name: big, match: {path_prefix: /big}, upstream: big}",
            "{name: echo, match: {path_prefix: /}, upstream: echo}",
        ], limits={"max_header_bytes": 16384, "max_headers": 50, "max_body_bytes": "2MiB",
                   "send_timeout": "1s", "header_timeout": "2s",
                   "idle_timeout": "3s"})
        listeners = (
            "listeners:\n"
            "  - {name: main, address: 127.0.0.1:$PORT, http2: {h2c: true, "
            "max_concurrent_streams: 8, initial_stream_window: 128KiB, "
            "initial_connection_window: 2MiB, max_frame_size: 32KiB, "
            "max_header_list_size: 24KiB}}\n"
            "  - {name: tls, address: 127.0.0.1:%d, tls: {certificates: [{cert: %s, key: %s}], "
            "alpn: [h2, http/1.1]}}\n"
            "  - {name: plain, address: 127.0.0.1:%d}\n" % (
                cls.tls_port, os.path.join(CERTS, "c.pem"), os.path.join(CERTS, "k.pem"),
                cls.plain_port))
        return text.replace("listeners: [{name: main, address: 127.0.0.1:$PORT}]\n", listeners)

    def errors(self, reason):
        return metric_sum(self.sluice.metrics(), "sluice_http2_protocol_errors_total",
                          reason=reason)

    def assert_served(self):
        """Another client is served (h2c and HTTP/1.1) and the process lives."""
        self.assertTrue(self.sluice.alive())
        out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                   "http://127.0.0.1:%d/other" % self.sluice.port)
        self.assertEqual(out, b"2 200")
        self.assertEqual(self.sluice.request("GET", "/other").status, 200)

    def echo_headers(self, body):
        return {k: v for k, v in json.loads(body)["headers"]}

    # ---- protocol selection ----

    def test_h2_preface_in_the_same_read_as_the_tls_finished(self):
        # A client's first HTTP/2 bytes can reach sluice in the same read as the end of its TLS
        # handshake (TLS 1.3: the client's Finished, then its preface). Those bytes belong to
        # the HTTP/2 session ALPN chose; they once went to the HTTP/1 parser, which closed the
        # connection (seen under load as an h2spec TLS case without its GOAWAY).
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        ctx.set_alpn_protocols(["h2"])
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
        sock = socket.create_connection(("127.0.0.1", self.tls_port), timeout=10)
        self.addCleanup(sock.close)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                if outgoing.pending:
                    sock.sendall(outgoing.read())
                data = sock.recv(65536)
                self.assertTrue(data, "closed during the handshake")
                incoming.write(data)
        self.assertEqual(tls.selected_alpn_protocol(), "h2")
        conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        conn.initiate_connection()
        conn.send_headers(1, [(":method", "GET"), (":scheme", "https"), (":path", "/coalesced"),
                              (":authority", "localhost")], end_stream=True)
        tls.write(conn.data_to_send())
        sock.sendall(outgoing.read())  # the Finished and the preface, SETTINGS, HEADERS at once
        status, ended = None, False
        deadline = time.time() + 10
        while not ended and time.time() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            incoming.write(data)
            plain = b""
            while True:
                try:
                    plain += tls.read(65536)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    break
            for ev in conn.receive_data(plain):
                if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == 1:
                    status = dict(ev.headers)[":status"]
                if isinstance(ev, h2.events.StreamEnded) and ev.stream_id == 1:
                    ended = True
            out = conn.data_to_send()
            if out:
                tls.write(out)
            if outgoing.pending:
                sock.sendall(outgoing.read())
        self.assertEqual(status, "200")
        self.assertTrue(ended)

    def test_alpn_h2_over_tls(self):
        out = curl("--http2", "-w", "\n%{http_version} %{http_code}",
                   "https://localhost:%d/alpn?x=1" % self.tls_port)
        body, _, tail = out.rpartition(b"\n")
        self.assertEqual(tail, b"2 200")
        fields = self.echo_headers(body)
        self.assertEqual(fields["via"], "2 sluice")  # RFC 9110 §7.6.3: the protocol received
        self.assertEqual(fields["x-forwarded-proto"], "https")
        self.assertEqual(fields["host"], "localhost:%d" % self.tls_port)
        deadline = time.time() + 5
        lines = []
        while time.time() < deadline:
            lines = [e for e in self.sluice.access_log_lines() if e.get("path") == "/alpn?x=1"]
            if lines:
                break
            time.sleep(0.05)
        self.assertEqual(lines[-1]["protocol"], "HTTP/2")
        self.assertEqual(lines[-1]["status"], 200)

    def test_h2c_prior_knowledge_and_http11_on_the_same_port(self):
        out = curl("--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}",
                   "http://127.0.0.1:%d/h2c" % self.sluice.port)
        body, _, tail = out.rpartition(b"\n")
        self.assertEqual(tail, b"2 200")
        self.assertEqual(self.echo_headers(body)["via"], "2 sluice")
        r = self.sluice.request("GET", "/h1")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.echo_headers(r.body)["via"], "1.1 sluice")
        # curl's default (HTTP/1.1 with an h2c upgrade offer) is served as HTTP/1.1
        out = curl("--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                   "http://127.0.0.1:%d/up" % self.sluice.port)
        self.assertEqual(out, b"1.1 200")
        # A plain listener without http2.h2c does not speak HTTP/2 at all
        s = socket.create_connection(("127.0.0.1", self.plain_port), timeout=5)
        s.sendall(PREFACE + frame(SETTINGS, 0, 0))
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 "), data[:40])  # an HTTP/1.1 refusal
        out = curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version}",
                   "http://127.0.0.1:%d/" % self.plain_port)
        self.assertNotEqual(out, b"2")
        # And a TLS client offering only http/1.1 gets it
        out = curl("--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
                   "https://localhost:%d/" % self.tls_port)
        self.assertEqual(out, b"1.1 200")

    def test_many_streams_on_few_connections(self):
        p = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "10",
                            "https://localhost:%d/load" % self.tls_port],
                           capture_output=True, text=True, timeout=60)
        self.assertIn("2000 succeeded", p.stdout, p.stdout)
        self.assertIn("status codes: 2000 2xx", p.stdout, p.stdout)

    # ---- bodies and flow control ----

    def test_upload_1mib_and_trailers_go_upstream(self):
        body = os.urandom(1 << 20)
        c = H2Client(self.sluice.port)
        self.addCleanup(c.close)
        sid = c.request("POST", "/upload", [("content-type", "application/octet-stream")],
                        body=body)
        status, _, rbody, _, reset = c.response(sid)
        self.assertEqual(status, 200)
        info = json.loads(rbody)
        self.assertEqual(info["body_len"], len(body))
        self.assertEqual(info["body_sha256"], hashlib.sha256(body).hexdigest())
        # Request trailers (a trailing HEADERS frame) reach the upstream in the last chunk
        mark = self.up["echo"].mark()
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", "/trailers"),
                                  (":authority", "test.local")])
        c.conn.send_data(sid, b"x" * 1000)
        c.flush()
        time.sleep(0.2)  # the exchange goes upstream with the body still open (chunked)
        c.conn.send_headers(sid, [("x-checksum", "c0ffee")], end_stream=True)
        c.flush()
        self.assertEqual(c.response(sid)[0], 200)
        reqs = self.up["echo"].requests_since(mark)
        self.assertEqual(reqs[-1]["body_len"], 1000)
        self.assertEqual(reqs[-1].get("trailers"), [["x-checksum", "c0ffee"]])

    def test_stalled_reader_does_not_make_sluice_hold_the_response(self):
        size = 24 << 20
        c = H2Client(self.sluice.port)
        self.addCleanup(c.close)
        before = self.sluice.rss_kib()
        sid = c.request("GET", "/big/x?size=%d" % size)
        got = 0
        # Read a little, then stop giving window back for a while: sluice must not keep reading
        # the upstream meanwhile.
        while got < (1 << 20):
            c.pump(consume=True)
            got = sum(len(e.data) for e in c.events.get(sid, [])
                      if isinstance(e, h2.events.DataReceived))
        c.sock.settimeout(0.2)
        stalled_until = time.time() + 0.7  # under send_timeout (1s)
        while time.time() < stalled_until:
            try:
                c.pump(consume=False)
            except socket.timeout:
                pass
        held = self.sluice.rss_kib() - before
        self.assertLess(held, 12 * 1024, "RSS grew by %d KiB while the client stalled" % held)
        c.sock.settimeout(15)
        # Give all the window back at once and read the rest
        for e in c.events.get(sid, []):
            if isinstance(e, h2.events.DataReceived):
                c.conn.acknowledge_received_data(e.flow_controlled_length, sid)
        c.flush()
        status, _, body, _, reset = c.response(sid)
        self.assertEqual(status, 200)
        self.assertIsNone(reset)
        self.assertEqual(len(body), size)
        self.assertEqual(body[:512], bytes(((i * 31 + 7) & 0xFF) for i in range(512)))

    def test_settings_are_the_listeners(self):
        c = H2Client(self.sluice.port)
        self.addCleanup(c.close)
        sid = c.request("GET", "/s")
        c.response(sid)
        rs = c.conn.remote_settings
        self.assertEqual(rs.max_concurrent_streams, 8)
        self.assertEqual(rs.initial_window_size, 128 * 1024)
        self.assertEqual(rs.max_frame_size, 32 * 1024)
        self.assertEqual(rs.max_header_list_size, 24 * 1024)
        # the connection window: 2 MiB (65535 + the WINDOW_UPDATE of stream 0)
        self.assertEqual(c.conn.outbound_flow_control_window, 2 * 1024 * 1024)

    # ---- limits per stream ----

    def test_header_limits_answer_431(self):
        c = H2Client(self.sluice.port)
        self.addCleanup(c.close)
        sid = c.request("GET", "/big-header", [("x-big", "a" * 20000)])
        self.assertEqual(c.response(sid)[0], 431)
        sid = c.request("GET", "/many", [("x-h%d" % i, "v") for i in range(60)])
        self.assertEqual(c.response(sid)[0], 431)
        sid = c.request("GET", "/fine", [("x-h%d" % i, "v") for i in range(40)])
        self.assertEqual(c.response(sid)[0], 200)  # the same connection goes on

    def test_body_over_max_body_bytes_is_413(self):
        c = H2Client(self.sluice.port)
        self.addCleanup(c.close)
        # declared: refused at the head, before any DATA
        sid = c.conn.get_next_available_stream_id()
        c.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", "/too-big"),
                                  (":authority", "test.local"), ("content-length", str(3 << 20))])
        c.flush()
        self.assertEqual(c.response(sid)[0], 413)
        sid = c.request("POST", "/too-big-streamed", body=os.urandom(3 << 20))
        self.assertEqual(c.response(sid)[0], 413)
        sid = c.request("GET", "/after")
        self.assertEqual(c.response(sid)[0], 200)

    # ---- hostile clients ----

    def test_stream_exhaustion_refused_and_counted(self):
        before = self.errors("stream_exhaustion")
        # Streams over the limit before the client acknowledged the SETTINGS: refused.
        r = RawH2(self.sluice.port, ack=False)
        self.addCleanup(r.close)
        enc = hpack.Encoder()
        out = b""
        for i in range(10):
            out += frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1,
                         request_block(enc, "/slow?delay=1"))
        r.send(out)
        self.assertTrue(r.wait(lambda: len(r.of(RST_STREAM)) >= 2, 5), r.frames)
        refused = sorted(f[2] for f in r.of(RST_STREAM))
        self.assertEqual(refused, [17, 19])
        self.assertEqual(struct.unpack(">I", r.of(RST_STREAM)[0][3])[0], REFUSED_STREAM)
        self.assertTrue(r.wait(lambda: all(r.of(HEADERS, s) for s in range(1, 17, 2)), 10))
        self.assertEqual(r.status(1), "200")
        self.assertEqual(self.errors("stream_exhaustion"), before + 2)
        # After the SETTINGS were acknowledged, going over them is a connection error.
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        self.assertTrue(r.wait(lambda: r.of(SETTINGS), 5))
        time.sleep(0.2)
        enc = hpack.Encoder()
        out = b""
        for i in range(20):
            out += frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1,
                         request_block(enc, "/slow?delay=1"))
        r.send(out)
        self.assertEqual(r.goaway_code(), PROTOCOL_ERROR)
        self.assertEqual(self.errors("stream_exhaustion"), before + 3)
        self.assert_served()

    def test_rapid_reset(self):
        before = self.errors("rapid_reset")
        rss = self.sluice.rss_kib()
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        enc = hpack.Encoder()
        out = b""
        for i in range(400):
            sid = 2 * i + 1
            out += frame(HEADERS, END_HEADERS | END_STREAM, sid,
                         request_block(enc, "/reset?delay=1"))
            out += frame(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
        r.send(out)
        self.assertEqual(r.goaway_code(), ENHANCE_YOUR_CALM)
        self.assertTrue(r.closed.wait(5))
        self.assertEqual(self.errors("rapid_reset"), before + 1)
        self.assertLess(self.sluice.rss_kib() - rss, 32 * 1024)
        self.assert_served()

    def test_continuation_flood(self):
        before = self.errors("continuation_flood")
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        self.assertTrue(r.acked.wait(5))  # no SETTINGS ACK may fall inside the header block
        enc = hpack.Encoder()
        r.send(frame(HEADERS, 0, 1, request_block(enc, "/cont")))
        for i in range(400):
            block = enc.encode([("x-flood-%d" % i, "v" * 1000)])
            if not r.send(frame(CONTINUATION, 0, 1, block)):
                break
            if r.closed.is_set():
                break
        self.assertTrue(r.closed.wait(5))
        self.assertIn(r.goaway_code(0), (ENHANCE_YOUR_CALM, None))
        self.assertEqual(self.errors("continuation_flood"), before + 1)
        self.assert_served()

    def test_hpack_bomb(self):
        before = self.errors("hpack_bomb")
        rss = self.sluice.rss_kib()
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        enc = hpack.Encoder()
        # One 4000-byte field into the dynamic table (a normal request)...
        first = request_block(enc, "/bomb", extra=[("x-bomb", "a" * 4000)])
        r.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, first))
        self.assertTrue(r.wait(lambda: r.of(HEADERS, 1), 5))
        # ...then a block that refers to it 10000 times (10 KB that decode to 40 MB).
        # (GET, http, "/" from the static table, :authority not indexed: no table change, so
        # index 62 stays the x-bomb field)
        bomb = b"\x82\x86\x84\x01\x0atest.local" + b"\xbe" * 10000
        r.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, bomb))
        self.assertEqual(r.goaway_code(), ENHANCE_YOUR_CALM, [(f[:3], f[3][:40]) for f in r.frames])
        self.assertTrue(r.closed.wait(5))
        self.assertEqual(self.errors("hpack_bomb"), before + 1)
        self.assertLess(self.sluice.rss_kib() - rss, 32 * 1024)
        self.assert_served()

    def test_settings_flood(self):
        before = self.errors("settings_flood")
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        r.send(frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 100)) * 1000)
        self.assertEqual(r.goaway_code(), ENHANCE_YOUR_CALM)
        self.assertTrue(r.closed.wait(5))
        self.assertEqual(self.errors("settings_flood"), before + 1)
        self.assert_served()

    def test_ping_flood(self):
        before = self.errors("ping_flood")
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        r.send(frame(PING, 0, 0, b"12345678"))
        self.assertTrue(r.wait(lambda: r.of(PING), 5))  # a PING is answered
        self.assertEqual(r.of(PING)[0][1], ACK)
        self.assertEqual(r.of(PING)[0][3], b"12345678")
        r.send(frame(PING, 0, 0, b"abcdefgh") * 2000)
        self.assertEqual(r.goaway_code(), ENHANCE_YOUR_CALM)
        self.assertTrue(r.closed.wait(5))
        self.assertEqual(self.errors("ping_flood"), before + 1)
        self.assert_served()

    def test_zero_window_stall(self):
        before = self.errors("zero_window")
        rss = self.sluice.rss_kib()
        # INITIAL_WINDOW_SIZE 0: no response DATA may flow on any stream
        r = RawH2(self.sluice.port, settings=struct.pack(">HI", 4, 0))
        self.addCleanup(r.close)
        enc = hpack.Encoder()
        r.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                     request_block(enc, "/big/stall?size=%d" % (16 << 20))))
        self.assertTrue(r.wait(lambda: r.of(RST_STREAM, 1), 6), r.frames[-3:])
        self.assertEqual(r.status(1), "200")
        self.assertEqual(struct.unpack(">I", r.of(RST_STREAM, 1)[0][3])[0], CANCEL)
        self.assertFalse(r.of(DATA, 1))
        self.assertEqual(self.errors("zero_window"), before + 1)
        self.assertLess(self.sluice.rss_kib() - rss, 32 * 1024)
        self.assert_served()

    def test_timeouts_header_block_idle_connection_and_request_body(self):
        before = self.errors("header_timeout")
        slow = RawH2(self.sluice.port, ack=False)  # a header block that never ends (2s)
        self.addCleanup(slow.close)
        enc = hpack.Encoder()
        slow.send(frame(HEADERS, 0, 1, request_block(enc, "/never")))
        body = RawH2(self.sluice.port)  # a request body that stops coming (idle_timeout 3s)
        self.addCleanup(body.close)
        benc = hpack.Encoder()
        body.send(frame(HEADERS, END_HEADERS, 1, request_block(benc, "/body", method="POST")))
        body.send(frame(DATA, 0, 1, b"x" * 100))
        idle = RawH2(self.sluice.port)  # one request, then nothing (idle_timeout 3s)
        self.addCleanup(idle.close)
        ienc = hpack.Encoder()
        idle.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(ienc, "/idle")))
        self.assertTrue(idle.wait(lambda: idle.of(DATA, 1), 5))
        start = time.time()
        self.assertEqual(slow.goaway_code(6), ENHANCE_YOUR_CALM)
        self.assertTrue(slow.closed.wait(5))
        self.assertEqual(self.errors("header_timeout"), before + 1)
        self.assertEqual(idle.goaway_code(6), 0)  # NO_ERROR
        self.assertTrue(idle.closed.wait(5))
        self.assertGreater(time.time() - start, 2.0)
        self.assertTrue(body.wait(lambda: body.of(HEADERS, 1), 6))
        self.assertEqual(body.status(1), "408")

    def test_protocol_errors_get_goaway_not_a_reset(self):
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        r.send(frame(DATA, 0, 1, b"x"))  # DATA on an idle stream: connection error
        self.assertEqual(r.goaway_code(), PROTOCOL_ERROR)
        self.assertTrue(r.closed.wait(5))
        # A new stream id below one already used (RFC 9113 §5.1.1): connection error
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        enc = hpack.Encoder()
        r.send(frame(HEADERS, END_HEADERS | END_STREAM, 5, request_block(enc, "/five")))
        self.assertTrue(r.wait(lambda: r.of(HEADERS, 5), 5))
        r.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block(enc, "/three")))
        self.assertEqual(r.goaway_code(), PROTOCOL_ERROR)
        self.assertTrue(r.closed.wait(5))
        # A request with a connection-specific field is malformed (stream error)
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        enc = hpack.Encoder()
        r.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                     request_block(enc, "/x", extra=[("connection", "close")])))
        self.assertTrue(r.wait(lambda: r.of(RST_STREAM, 1), 5))
        self.assertEqual(struct.unpack(">I", r.of(RST_STREAM, 1)[0][3])[0], PROTOCOL_ERROR)


class Http2RoomTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, ["{name: echo, match: {path_prefix: /}, upstream: echo}"],
                           limits={"max_connections": 2}, workers=1).replace(
            "listeners: [{name: main, address: 127.0.0.1:$PORT}]",
            "listeners: [{name: main, address: 127.0.0.1:$PORT, http2: {h2c: true}}]")

    def test_idle_http2_connection_makes_room(self):
        """At limits.max_connections an HTTP/2 connection with no stream open is closed to make
        room, as an idle HTTP/1.1 keep-alive connection is; one with a stream in flight is not."""
        busy = RawH2(self.sluice.port)
        self.addCleanup(busy.close)
        enc = hpack.Encoder()
        busy.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(enc, "/b?delay=1.5")))
        idle = RawH2(self.sluice.port)
        self.addCleanup(idle.close)
        ienc = hpack.Encoder()
        idle.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(ienc, "/i")))
        self.assertTrue(idle.wait(lambda: any(f[1] & END_STREAM for f in idle.of(DATA, 1)), 5))
        time.sleep(0.3)
        before = metric_sum(self.sluice.metrics(), "sluice_downstream_connections_evicted_total")
        self.assertEqual(self.sluice.request("GET", "/third").status, 200)
        self.assertTrue(idle.closed.wait(5))
        self.assertEqual(metric_sum(self.sluice.metrics(),
                                    "sluice_downstream_connections_evicted_total"), before + 1)
        self.assertTrue(busy.wait(lambda: any(f[1] & END_STREAM for f in busy.of(DATA, 1)), 5))
        self.assertEqual(busy.status(1), "200")


class Http2ReloadTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return Http2DrainTest.config(ports)

    def test_goaway_on_reload_and_the_stream_in_flight_finishes(self):
        # A reload sends HTTP/2 clients GOAWAY (as nginx's old workers do), so they reconnect and
        # get the new listener settings; the stream in flight finishes and sluice keeps serving.
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        enc = hpack.Encoder()
        r.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(enc, "/slow?delay=1.5")))
        time.sleep(0.3)
        self.assertEqual(self.sluice.reload().status, 200)
        self.assertTrue(r.wait(lambda: r.of(GOAWAY), 5))
        self.assertTrue(r.wait(lambda: any(f[1] & END_STREAM for f in r.of(DATA, 1)), 10))
        self.assertEqual(r.status(1), "200")
        goaways = r.of(GOAWAY)
        self.assertTrue(all(struct.unpack(">II", g[3][:8])[1] == 0 for g in goaways))
        self.assertEqual(struct.unpack(">II", goaways[-1][3][:8])[0], 1)  # last stream id
        self.assertTrue(r.closed.wait(10))
        # a new connection is served
        fresh = RawH2(self.sluice.port)
        self.addCleanup(fresh.close)
        fresh.send(frame(HEADERS, END_HEADERS | END_STREAM, 1,
                         request_block(hpack.Encoder(), "/after")))
        self.assertTrue(fresh.wait(lambda: fresh.status(1) is not None, 5))
        self.assertEqual(fresh.status(1), "200")


class Http2DrainTest(ProxyTestCase):
    UPSTREAMS = {"echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, ["{name: echo, match: {path_prefix: /}, upstream: echo}"]).replace(
            "listeners: [{name: main, address: 127.0.0.1:$PORT}]",
            "listeners: [{name: main, address: 127.0.0.1:$PORT, http2: {h2c: true}}]")

    def test_goaway_on_drain_and_the_stream_in_flight_finishes(self):
        r = RawH2(self.sluice.port)
        self.addCleanup(r.close)
        enc = hpack.Encoder()
        r.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(enc, "/slow?delay=1.5")))
        time.sleep(0.3)
        self.sluice.signal(signal.SIGTERM)
        self.assertTrue(r.wait(lambda: r.of(GOAWAY), 5))
        self.assertTrue(r.wait(lambda: any(f[1] & END_STREAM for f in r.of(DATA, 1)), 10))
        self.assertEqual(r.status(1), "200")
        goaways = r.of(GOAWAY)
        self.assertTrue(all(struct.unpack(">II", g[3][:8])[1] == 0 for g in goaways))
        self.assertEqual(struct.unpack(">II", goaways[-1][3][:8])[0], 1)  # last stream id
        self.assertTrue(r.closed.wait(10))
        self.assertEqual(self.sluice.wait(15), 0)


if __name__ == "__main__":
    main()
