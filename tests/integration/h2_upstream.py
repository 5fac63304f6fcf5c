#!/usr/bin/python3
"""A small HTTP/2 server (python3-h2, Debian) playing an upstream target for
test_upstream_h2.py: cleartext with prior knowledge (h2c), port picked by the OS; prints
"ready PORT" when serving. Every connection it accepts is logged as a line "conn" in --log, so
a test can count connections. Paths:

  /echo         200, JSON of the request: method, path, authority, scheme, headers, body length
                and the request's trailers (sent after the whole body is read)
  /trailers     200, body "data", then trailers x-checksum: abc and grpc-status: 0
  /slow?ms=N    waits N ms, then 200 "slow"
  /reset        resets the stream (RST_STREAM INTERNAL_ERROR) without an answer (every path
                does with --reset-all)
  /big?n=N      N bytes of body, as flow control allows
  /counted      200 "n=K" (K: how many times this server answered /counted), max-age=1
  anything else 200 "hello"

--max-streams N: SETTINGS_MAX_CONCURRENT_STREAMS N (default: python3-h2's, unlimited).
--tls DIR: TLS (DIR/cert.pem, DIR/key.pem) with ALPN h2 instead of cleartext.
(No GOAWAY mode: python3-h2 sends nothing after its own GOAWAY, so nginx's keepalive_requests
plays the server that goes away.)
Run with /usr/bin/python3."""

import argparse
import json
import select
import socket
import ssl
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings


COUNTED = [0]  # answers to /counted, all connections (under each connection's lock: GIL-atomic)


class Conn:
    def __init__(self, sock, args, log):
        self.sock, self.args, self.log = sock, args, log
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=False, header_encoding="utf-8", validate_inbound_headers=False))
        self.lock = threading.Lock()
        self.window = threading.Condition(self.lock)
        self.streams = {}  # id -> {"headers", "body", "trailers"}
        self.closed = False

    def flush(self):
        data = self.h2.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True

    def recv(self):
        """The next bytes. Over TLS a non-blocking read under the lock the answering threads
        write under: one SSL object must not be in SSL_read and SSL_write at once."""
        if not isinstance(self.sock, ssl.SSLSocket):
            return self.sock.recv(65536)
        while not self.closed:
            with self.lock:
                timeout = self.sock.gettimeout()
                self.sock.settimeout(0)
                try:
                    return self.sock.recv(65536)
                except ssl.SSLWantReadError:
                    pass
                finally:
                    self.sock.settimeout(timeout)
            select.select([self.sock], [], [], 0.2)
        return b""

    def run(self):
        with self.lock:
            self.h2.initiate_connection()
            if self.args.max_streams:
                self.h2.update_settings(
                    {h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: self.args.max_streams})
            self.flush()
        while not self.closed:
            try:
                data = self.recv()
            except OSError:
                break
            if not data:
                break
            with self.lock:
                try:
                    events = self.h2.receive_data(data)
                except h2.exceptions.ProtocolError:
                    self.flush()
                    break
                for ev in events:
                    self.on_event(ev)
                self.flush()
                self.window.notify_all()
        self.closed = True
        with self.lock:
            self.window.notify_all()
        try:
            self.sock.close()
        except OSError:
            pass

    def on_event(self, ev):
        if isinstance(ev, h2.events.RequestReceived):
            self.streams[ev.stream_id] = {"headers": ev.headers, "body": 0, "trailers": []}
            if ev.stream_ended:
                self.start(ev.stream_id)
        elif isinstance(ev, h2.events.DataReceived):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st["body"] += len(ev.data)
            self.h2.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.TrailersReceived):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st["trailers"] = ev.headers
            if ev.stream_ended:
                self.start(ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            if ev.stream_id in self.streams and "started" not in self.streams[ev.stream_id]:
                self.start(ev.stream_id)
        elif isinstance(ev, h2.events.StreamReset):
            self.streams.pop(ev.stream_id, None)

    def start(self, sid):
        st = self.streams[sid]
        st["started"] = True
        threading.Thread(target=self.answer, args=(sid, st), daemon=True).start()

    def send_headers(self, sid, status, extra=(), end=False):
        self.h2.send_headers(sid, [(":status", str(status))] + list(extra), end_stream=end)

    def answer(self, sid, st):
        h = dict(st["headers"])
        url = urlsplit(h.get(":path", "/"))
        q = parse_qs(url.query)
        if url.path == "/slow":
            time.sleep(int(q.get("ms", ["0"])[0]) / 1000.0)
        with self.lock:
            if self.closed or sid not in self.streams:
                return
            try:
                if url.path == "/echo" and not self.args.reset_all:
                    body = json.dumps({
                        "method": h.get(":method"), "path": h.get(":path"),
                        "authority": h.get(":authority"), "scheme": h.get(":scheme"),
                        "headers": [[k, v] for k, v in st["headers"] if not k.startswith(":")],
                        "body": st["body"], "trailers": [[k, v] for k, v in st["trailers"]],
                    }).encode()
                    self.send_headers(sid, 200, [("content-type", "application/json"),
                                                 ("content-length", str(len(body)))])
                    self.h2.send_data(sid, body, end_stream=True)
                elif url.path == "/trailers":
                    self.send_headers(sid, 200, [("content-type", "text/plain")])
                    self.h2.send_data(sid, b"data")
                    self.h2.send_headers(sid, [("x-checksum", "abc"), ("grpc-status", "0")],
                                         end_stream=True)
                elif url.path == "/reset" or self.args.reset_all:
                    self.h2.reset_stream(sid, error_code=2)
                elif url.path == "/counted":
                    COUNTED[0] += 1
                    body = b"n=%d" % COUNTED[0]
                    self.send_headers(sid, 200, [("cache-control", "max-age=1"),
                                                 ("content-length", str(len(body)))])
                    self.h2.send_data(sid, body, end_stream=True)
                elif url.path == "/big":
                    self.flush()
                    self.send_big(sid, int(q.get("n", ["0"])[0]))
                else:
                    self.send_headers(sid, 200, [("content-length", "5")])
                    self.h2.send_data(sid, b"hello", end_stream=True)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass
            self.streams.pop(sid, None)
            self.flush()

    def send_big(self, sid, n):
        # Called with the lock held; waits for window updates (the reader notifies).
        self.send_headers(sid, 200, [("content-length", str(n))])
        self.flush()
        block = b"x" * 16384
        left = n
        while left > 0:
            if self.closed or sid not in self.streams:
                return
            room = min(self.h2.local_flow_control_window(sid), self.h2.max_outbound_frame_size)
            if room <= 0:
                self.window.wait(timeout=1.0)
                continue
            k = min(room, left)
            self.h2.send_data(sid, block[:k] if k <= len(block) else b"x" * k,
                              end_stream=(k == left))
            left -= k
            self.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--tls", default="")
    ap.add_argument("--max-streams", type=int, default=0)
    ap.add_argument("--reset-all", action="store_true")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen(512)
    log = open(args.log, "a", buffering=1)
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls + "/cert.pem", args.tls + "/key.pem")
        ctx.set_alpn_protocols(["h2"])
    print("ready %d" % srv.getsockname()[1], flush=True)
    while True:
        sock, _ = srv.accept()
        log.write("conn\n")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(sock, ctx, args, log), daemon=True).start()


def serve(sock, ctx, args, log):
    if ctx is not None:
        try:
            sock = ctx.wrap_socket(sock, server_side=True)
        except (OSError, ValueError):
            sock.close()
            return
    Conn(sock, args, log).run()


if __name__ == "__main__":
    sys.exit(main())
