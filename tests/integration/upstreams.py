#!/usr/bin/env python3
"""Upstream servers for sluice's end-to-end tests, one per process, on raw sockets so they can
misbehave on purpose. Standard library only.

    python3 upstreams.py MODE --port N --log FILE [--delay SECONDS] [--host 127.0.0.1|::1]

Prints "ready PORT" once listening (--port 0 lets the OS pick). One thread per connection.
Every request received is appended to FILE as one JSON object a line: {"event": "head", "conn",
"seq", "method", "target"} as soon as its head is read, then, once the body has been read (or
the connection ended inside it):
    {"event": "request", "conn": C, "seq": S, "method", "target", "version",
     "headers": [[name, value], ...], "body_len", "body_sha256", "complete": bool, "time"}
and "trailers": [[name, value], ...] when a chunked body ended with some.
Bytes that never made a full request head are logged as {"event": "partial", "bytes": N,
"head": first bytes}; a head this server cannot parse as {"event": "bad", ...}. So a test that
sees no entry at all knows that nothing reached the upstream.

Modes
  echo         200 with a JSON description of the request (method, target, version, headers,
               body_len, body_sha256); keep-alive; chunked request bodies. Query options:
               status=N, h=name:value (repeatable, extra response header), delay=SECONDS,
               close=1 (answer with Connection: close and close)
  big          /anything?size=N&te=cl|chunked|close&chunk=N: N bytes of a deterministic pattern
               (byte i = (i*31+7) & 0xff) with Content-Length, chunked or close-delimited;
               &trailers=1 ends a chunked body with X-Checksum and X-Count trailer fields
  slow         sleeps --delay (or ?delay=) seconds, then answers as echo
  silent       reads requests, never answers, keeps the connection open
  close_after  answers one request per connection as echo with keep-alive headers, then closes
               the socket --delay seconds later (default 0.1): a stale pooled connection
  ws           RFC 6455 WebSocket echo (handshake with Sec-WebSocket-Accept; masked frames
               echoed unmasked; ping -> pong; close echoed); other requests answered as echo
  status       /status/N: answers status N; ?hints=K sends K "103 Early Hints" first (a 1xx N in
               the path sends 103 then 200); ?cl=N adds Content-Length: N to a 304; ?continue=1
               sends a 100 Continue first
  sink         streams a request body of any size and answers {"body_len", "body_sha256"}
  garbage      answers with an invalid response chosen by ?kind=: dup_cl (two differing
               Content-Length), bad_status (not a status line), close (closes without a byte),
               truncated (closes in the middle of a Content-Length body), status_099,
               status_600, http2_version, te_gzip (close-delimited under a coding sluice can't
               decode), te_gzip_chunked, bad_chunk (an invalid chunk size in the head's write);
               huge_head has 70 KB of fields; nul_reason a NUL in the reason phrase; http10 is a valid HTTP/1.0 answer
Every mode answers "Expect: 100-continue" with an interim 100 before reading the body.
"""

import argparse
import base64
import hashlib
import json
import os
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PATTERN_BLOCK = bytes(((i * 31 + 7) & 0xFF) for i in range(256 * 4097))  # 1 MiB + 256, period 256


class Log:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.f = open(path, "a") if path else None

    def write(self, obj):
        if not self.f:
            return
        obj.setdefault("time", time.time())
        line = json.dumps(obj) + "\n"
        with self.lock:
            self.f.write(line)
            self.f.flush()


class Closed(Exception):
    pass


class BadRequest(Exception):
    pass


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.total = 0
        self.first = bytearray()  # the first bytes ever received, for the log

    def fill(self):
        data = self.sock.recv(262144)
        if not data:
            raise Closed()
        self.total += len(data)
        if len(self.first) < 512:
            self.first += data[:512 - len(self.first)]
        self.buf += data

    def line(self, limit=65536):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                out = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return out
            if len(self.buf) > limit:
                raise BadRequest("line too long")
            self.fill()

    def exact(self, n, sink):
        while n > 0:
            if not self.buf:
                self.fill()
            take = min(n, len(self.buf))
            sink(bytes(self.buf[:take]))
            del self.buf[:take]
            n -= take


class Request:
    def __init__(self):
        self.trailers = []  # of a chunked body


def read_head(r):
    """A request head, or None at a clean EOF between requests."""
    try:
        line = r.line()
        while line == b"\r\n":  # RFC 9112 §2.2: ignore at least one empty line before a request
            line = r.line()
    except Closed:
        if r.buf:
            raise
        return None
    raw = [line]
    while True:
        line = r.line()
        raw.append(line)
        if line in (b"\r\n", b"\n"):
            break
        if sum(map(len, raw)) > 1 << 20:
            raise BadRequest("head too large")
    req = Request()
    req.raw_head = b"".join(raw)
    parts = raw[0].rstrip(b"\r\n").split(b" ")
    if len(parts) != 3 or not raw[0].endswith(b"\r\n"):
        raise BadRequest("bad request line %r" % raw[0])
    req.method, req.target, req.version = (p.decode("latin-1") for p in parts)
    req.headers = []
    for line in raw[1:-1]:
        if not line.endswith(b"\r\n"):
            raise BadRequest("bare LF")
        name, sep, value = line[:-2].partition(b":")
        if not sep or name != name.strip() or not name:
            raise BadRequest("bad header line %r" % line)
        req.headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return req


def hget(headers, name):
    vals = [v for k, v in headers if k.lower() == name.lower()]
    return ", ".join(vals) if vals else None


def read_body(r, req, sink):
    """Reads the body as framed by the request; returns True when complete."""
    te = hget(req.headers, "transfer-encoding")
    cl = hget(req.headers, "content-length")
    if te is not None:
        if te.split(",")[-1].strip().lower() != "chunked":
            raise BadRequest("transfer-encoding %r" % te)
        while True:
            line = r.line()
            size_text = line.rstrip(b"\r\n").split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest("chunk size %r" % line)
            if size == 0:
                break
            r.exact(size, sink)
            if r.line() != b"\r\n":
                raise BadRequest("chunk without CRLF")
        while True:  # trailers
            line = r.line()
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.rstrip(b"\r\n").partition(b":")
            req.trailers.append([name.decode("latin-1"), value.strip().decode("latin-1")])
    elif cl is not None:
        vals = set(v.strip() for v in cl.split(","))
        if len(vals) != 1 or not next(iter(vals)).isdigit():
            raise BadRequest("content-length %r" % cl)
        r.exact(int(next(iter(vals))), sink)


def wants_keepalive(req):
    conn = (hget(req.headers, "connection") or "").lower()
    tokens = [t.strip() for t in conn.split(",")]
    if req.version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def response_bytes(status, reason, headers, body=b""):
    lines = ["HTTP/1.1 %d %s" % (status, reason)]
    for k, v in headers:
        lines.append("%s: %s" % (k, v))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


REASONS = {100: "Continue", 101: "Switching Protocols", 103: "Early Hints", 200: "OK",
           201: "Created", 204: "No Content", 206: "Partial Content", 301: "Moved Permanently",
           302: "Found", 304: "Not Modified", 400: "Bad Request", 404: "Not Found",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Server:
    def __init__(self, mode, port, log, delay, host="127.0.0.1"):
        self.mode = mode
        self.log = Log(log)
        self.delay = delay
        self.conn_ids = 0
        self.lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]

    def serve(self):
        print("ready %d" % self.port, flush=True)
        while True:
            s, addr = self.sock.accept()
            with self.lock:
                self.conn_ids += 1
                cid = self.conn_ids
            t = threading.Thread(target=self.handle, args=(s, cid), daemon=True)
            t.start()

    def handle(self, s, cid):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        r = Reader(s)
        seq = 0
        try:
            while True:
                try:
                    req = read_head(r)
                except Closed:
                    self.log.write({"event": "partial", "conn": cid, "bytes": r.total,
                                    "head": bytes(r.first).decode("latin-1")})
                    return
                except BadRequest as e:
                    self.log.write({"event": "bad", "conn": cid, "error": str(e),
                                    "head": bytes(r.first).decode("latin-1")})
                    s.sendall(response_bytes(400, "Bad Request",
                                             [("Content-Length", "0"), ("Connection", "close")]))
                    return
                if req is None:
                    return
                seq += 1
                req.conn, req.seq = cid, seq
                if not self.dispatch(s, r, req):
                    return
        except (Closed, ConnectionError, BrokenPipeError, OSError):
            return
        finally:
            try:
                s.close()
            except OSError:
                pass

    def read_and_log(self, s, r, req, logged_extra=None):
        """Reads the request body (answering Expect: 100-continue first) and logs the request."""
        h = hashlib.sha256()
        n = [0]

        def sink(piece):
            h.update(piece)
            n[0] += len(piece)

        self.log.write({"event": "head", "conn": req.conn, "seq": req.seq, "method": req.method,
                        "target": req.target})
        if (hget(req.headers, "expect") or "").lower() == "100-continue":
            s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        complete = True
        error = None
        try:
            read_body(r, req, sink)
        except Closed:
            complete = False
        except BadRequest as e:
            complete, error = False, str(e)
        req.body_len, req.body_sha256 = n[0], h.hexdigest()
        entry = {"event": "request", "conn": req.conn, "seq": req.seq, "method": req.method,
                 "target": req.target, "version": req.version,
                 "headers": [list(kv) for kv in req.headers], "body_len": req.body_len,
                 "body_sha256": req.body_sha256, "complete": complete}
        if error:
            entry["error"] = error
        if req.trailers:
            entry["trailers"] = req.trailers
        self.log.write(entry)
        if error:
            s.sendall(response_bytes(400, "Bad Request",
                                     [("Content-Length", "0"), ("Connection", "close")]))
            raise Closed()
        if not complete:
            raise Closed()

    def describe(self, req):
        return {"method": req.method, "target": req.target, "version": req.version,
                "headers": [list(kv) for kv in req.headers], "body_len": req.body_len,
                "body_sha256": req.body_sha256, "conn": req.conn, "seq": req.seq,
                "port": self.port}

    def send_json(self, s, req, obj, status=200, extra=(), keep=None):
        body = json.dumps(obj).encode()
        keep = wants_keepalive(req) if keep is None else keep
        hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        hdrs += list(extra)
        hdrs.append(("Connection", "keep-alive" if keep else "close"))
        s.sendall(response_bytes(status, REASONS.get(status, "Status"), hdrs,
                                 b"" if req.method == "HEAD" else body))
        return keep

    def dispatch(self, s, r, req):
        """Answers one request; returns whether the connection stays open."""
        q = parse_qs(urlsplit(req.target).query)
        mode = self.mode
        if mode == "ws" and (hget(req.headers, "upgrade") or "").lower() == "websocket":
            return self.websocket(s, r, req)
        self.read_and_log(s, r, req)
        if mode == "silent":
            while True:  # never answer; keep reading until the peer goes away
                if not s.recv(65536):
                    return False
        if mode == "slow":
            time.sleep(float(q.get("delay", [self.delay])[0]))
            return self.send_json(s, req, self.describe(req))
        if mode == "close_after":
            self.send_json(s, req, self.describe(req), keep=True)
            time.sleep(self.delay if self.delay else 0.1)
            return False
        if mode == "big":
            return self.big(s, req, q)
        if mode == "status":
            return self.status(s, req, q)
        if mode == "garbage":
            kind = q.get("kind", ["bad_status"])[0]
            if kind == "dup_cl":
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"
                          b"hello!")
            elif kind == "bad_status":
                s.sendall(b"HTTP/1.1 OK twohundred\r\n\r\n")
            elif kind == "status_099":
                s.sendall(b"HTTP/1.1 099 Low\r\nContent-Length: 2\r\n\r\nok")
            elif kind == "status_600":
                s.sendall(b"HTTP/1.1 600 High\r\nContent-Length: 2\r\n\r\nok")
            elif kind == "http2_version":
                s.sendall(b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
            elif kind == "te_gzip":
                s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nrawbytes")
            elif kind == "te_gzip_chunked":
                s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                          b"3\r\nabc\r\n0\r\n\r\n")
            elif kind == "bad_chunk":
                s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"zz\r\nhello\r\n0\r\n\r\n")
            elif kind == "huge_head":  # 70 KB of fields: over what sluice holds
                s.sendall(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"a" * 70000 + b"\r\n"
                          b"Content-Length: 2\r\n\r\nok")
            elif kind == "nul_reason":
                s.sendall(b"HTTP/1.1 200 O\x00K\r\nContent-Length: 2\r\n\r\nok")
            elif kind == "http10":  # valid, for the Via that names it
                s.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
            elif kind == "truncated":
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly some")
            return False
        if mode == "sink":
            return self.send_json(s, req, {"body_len": req.body_len,
                                           "body_sha256": req.body_sha256})
        # echo (and ws without an upgrade)
        if "delay" in q:
            time.sleep(float(q["delay"][0]))
        status = int(q.get("status", ["200"])[0])
        extra = [tuple(h.split(":", 1)) for h in q.get("h", [])]
        if q.get("close", ["0"])[0] == "1":
            self.send_json(s, req, self.describe(req), status, extra, keep=False)
            return False
        return self.send_json(s, req, self.describe(req), status, extra)

    def big(self, s, req, q):
        size = int(q.get("size", [str(1 << 20)])[0])
        te = q.get("te", ["cl"])[0]
        chunk = int(q.get("chunk", ["65536"])[0])
        keep = wants_keepalive(req) and te != "close"
        hdrs = [("Content-Type", "application/octet-stream")]
        if te == "cl":
            hdrs.append(("Content-Length", str(size)))
        elif te == "chunked":
            hdrs.append(("Transfer-Encoding", "chunked"))
        hdrs.append(("Connection", "keep-alive" if keep else "close"))
        s.sendall(response_bytes(200, "OK", hdrs))
        if req.method == "HEAD":
            return keep
        off = 0
        block = PATTERN_BLOCK
        while off < size:
            n = min(chunk, size - off, 1 << 20)
            start = off % 256
            piece = block[start:start + n]
            if te == "chunked":
                s.sendall(b"%x\r\n" % n + piece + b"\r\n")
            else:
                s.sendall(piece)
            off += n
        if te == "chunked" and q.get("trailers", ["0"])[0] == "1":
            s.sendall(b"0\r\nX-Checksum: c0ffee\r\nX-Count: %d\r\n\r\n" % size)
        elif te == "chunked":
            s.sendall(b"0\r\n\r\n")
        if te == "close":
            s.shutdown(socket.SHUT_WR)
            return False
        return keep

    def status(self, s, req, q):
        parts = urlsplit(req.target).path.strip("/").split("/")
        code = int(parts[-1]) if parts and parts[-1].isdigit() else 200
        hints = int(q.get("hints", ["0"])[0])
        if 100 <= code < 200:
            hints, code = max(hints, 1), 200
        if q.get("continue", ["0"])[0] == "1":  # unsolicited: the request had no Expect
            s.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        for _ in range(hints):
            s.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        keep = wants_keepalive(req)
        hdrs = [("X-Upstream-Status", str(code))]
        body = b""
        if code == 304:
            hdrs.append(("ETag", '"v1"'))
            if "cl" in q:
                hdrs.append(("Content-Length", q["cl"][0]))
        elif code != 204:
            body = b"status %d\n" % code
            hdrs += [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        hdrs.append(("Connection", "keep-alive" if keep else "close"))
        s.sendall(response_bytes(code, REASONS.get(code, "Status"), hdrs,
                                 b"" if req.method == "HEAD" else body))
        return keep

    def websocket(self, s, r, req):
        key = hget(req.headers, "sec-websocket-key") or ""
        req.body_len, req.body_sha256 = 0, hashlib.sha256().hexdigest()
        self.log.write({"event": "request", "conn": req.conn, "seq": req.seq,
                        "method": req.method, "target": req.target, "version": req.version,
                        "headers": [list(kv) for kv in req.headers], "body_len": 0,
                        "body_sha256": req.body_sha256, "complete": True})
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        # ?greet=1: the server speaks first, its frame in the same write as the 101.
        greeting = ws_frame(0x1, b"welcome") if "greet=1" in req.target else b""
        s.sendall(response_bytes(101, "Switching Protocols", [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", accept)]) + greeting)
        while True:
            b = bytearray()
            r.exact(2, b.extend)
            fin_op, ln = b[0], b[1]
            masked, ln = ln & 0x80, ln & 0x7F
            if ln == 126:
                e = bytearray()
                r.exact(2, e.extend)
                ln = int.from_bytes(e, "big")
            elif ln == 127:
                e = bytearray()
                r.exact(8, e.extend)
                ln = int.from_bytes(e, "big")
            mask = bytearray()
            if masked:
                r.exact(4, mask.extend)
            payload = bytearray()
            r.exact(ln, payload.extend)
            if masked:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            opcode = fin_op & 0x0F
            self.log.write({"event": "ws", "conn": req.conn, "opcode": opcode,
                            "masked": bool(masked), "len": ln})
            if opcode == 0x9:  # ping
                s.sendall(ws_frame(0xA, bytes(payload)))
            elif opcode == 0x8:  # close
                s.sendall(ws_frame(0x8, bytes(payload)))
                return False
            elif opcode == 0xA:
                pass
            else:
                s.sendall(ws_frame(opcode, bytes(payload), fin=bool(fin_op & 0x80)))


def ws_frame(opcode, payload, fin=True, mask=None):
    """One WebSocket frame; `mask` (4 bytes) masks it as a client must."""
    head = bytearray([(0x80 if fin else 0) | opcode])
    mbit = 0x80 if mask else 0
    n = len(payload)
    if n < 126:
        head.append(mbit | n)
    elif n < 65536:
        head.append(mbit | 126)
        head += n.to_bytes(2, "big")
    else:
        head.append(mbit | 127)
        head += n.to_bytes(8, "big")
    if mask:
        head += mask
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return bytes(head) + payload


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["echo", "big", "slow", "silent", "close_after", "ws",
                                     "status", "sink", "garbage"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", default=None)
    ap.add_argument("--delay", type=float, default=None)
    ap.add_argument("--host", default="127.0.0.1")  # the address to listen on (::1 for IPv6)
    a = ap.parse_args()
    delay = a.delay
    if delay is None:
        delay = {"slow": 2.0, "close_after": 0.1}.get(a.mode, 0.0)
    srv = Server(a.mode, a.port, a.log, delay, a.host)
    try:
        srv.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
