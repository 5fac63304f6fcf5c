"""WebSocket through sluice: the Upgrade handshake passes (101), then sluice is a two-way byte
tunnel (RFC 6455 framing is untouched), and the close handshake ends the connection."""

import os
import socket

from harness import (ProxyTestCase, build_request, echo_headers, main, make_config, ws_accept,
                     ws_handshake, ws_recv, ws_send)


class WebSocketTest(ProxyTestCase):
    UPSTREAMS = {"ws": ("ws",), "echo": ("echo",)}

    @classmethod
    def config(cls, ports):
        return make_config(ports, [
            "{name: plain, match: {path_prefix: /plain}, upstream: echo}",
            "{name: ws, match: {path_prefix: /}, upstream: ws}",
        ])

    def open_ws(self, target="/ws"):
        c = self.conn()
        key, r = ws_handshake(c, target)
        self.assertEqual(r.status, 101, r)
        self.assertEqual((r.header("upgrade") or "").lower(), "websocket")
        self.assertIn("upgrade", (r.header("connection") or "").lower())
        self.assertEqual(r.header("sec-websocket-accept"), ws_accept(key))
        return c, key

    def test_upgrade_echo_and_close(self):
        mark = self.up["ws"].mark()
        c, key = self.open_ws("/ws?room=1")
        # The upstream got the handshake, with Upgrade and Connection: upgrade (tunnelling is
        # the one case where they are forwarded).
        reqs = self.up["ws"].requests_since(mark)
        self.assertEqual(len(reqs), 1)
        h = {}
        for k, v in reqs[0]["headers"]:
            h.setdefault(k.lower(), []).append(v)
        self.assertEqual(reqs[0]["target"], "/ws?room=1")
        self.assertEqual([v.lower() for v in h.get("upgrade", [])], ["websocket"])
        self.assertIn("upgrade", ",".join(h.get("connection", [])).lower())
        self.assertEqual(h.get("sec-websocket-key"), [key])

        messages = [(0x1, b"hello"), (0x1, "héllo wörld".encode()), (0x2, os.urandom(200)),
                    (0x2, os.urandom(70000)), (0x1, b"")]
        for opcode, payload in messages:
            ws_send(c, opcode, payload)
            fin, op, masked, data = ws_recv(c)
            self.assertTrue(fin)
            self.assertFalse(masked, "server frames are unmasked")
            self.assertEqual(op, opcode)
            self.assertEqual(data, payload)
        # several messages in flight at once, both ways
        for i in range(20):
            ws_send(c, 0x1, b"burst %d" % i)
        for i in range(20):
            self.assertEqual(ws_recv(c)[3], b"burst %d" % i)
        # ping -> pong
        ws_send(c, 0x9, b"are you there")
        fin, op, masked, data = ws_recv(c)
        self.assertEqual((op, data), (0xA, b"are you there"))
        # close handshake
        ws_send(c, 0x8, (1000).to_bytes(2, "big") + b"bye")
        fin, op, masked, data = ws_recv(c)
        self.assertEqual(op, 0x8)
        self.assertEqual(data, (1000).to_bytes(2, "big") + b"bye")
        self.assertTrue(c.is_closed(5.0), "the tunnel closes when the upstream closes")

    def test_server_speaks_first(self):
        # The upstream's first frame arrives in the same read as its 101: it belongs to the
        # tunnel (RFC 9110 §7.8: the new protocol starts right after the 101's empty line).
        c, _ = self.open_ws("/ws?greet=1")
        fin, op, masked, data = ws_recv(c)
        self.assertEqual((fin, op, data), (True, 0x1, b"welcome"))
        ws_send(c, 0x1, b"after")
        self.assertEqual(ws_recv(c)[3], b"after")

    def test_fragmented_message(self):
        c, _ = self.open_ws()
        ws_send(c, 0x1, b"part one, ", fin=False)
        ws_send(c, 0x0, b"part two", fin=True)
        f1 = ws_recv(c)
        f2 = ws_recv(c)
        self.assertEqual((f1[0], f1[1], f1[3]), (False, 0x1, b"part one, "))
        self.assertEqual((f2[0], f2[1], f2[3]), (True, 0x0, b"part two"))

    def test_several_tunnels_at_once(self):
        conns = [self.open_ws("/ws/%d" % i)[0] for i in range(5)]
        for round_ in range(3):
            for i, c in enumerate(conns):
                ws_send(c, 0x1, b"conn %d round %d" % (i, round_))
            for i, c in enumerate(conns):
                self.assertEqual(ws_recv(c)[3], b"conn %d round %d" % (i, round_))
        for c in conns:
            ws_send(c, 0x8, (1000).to_bytes(2, "big"))
            self.assertEqual(ws_recv(c)[1], 0x8)

    def test_upgrade_refused_stays_http(self):
        # The upstream answers 200, not 101: no tunnel; the connection stays HTTP/1.1 (or is
        # closed after a response that says Connection: close).
        c = self.conn()
        _, r = ws_handshake(c, "/plain/ws")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["target"], "/plain/ws")
        if "close" in (r.header("connection") or "").lower():  # allowed: announced close
            self.assertTrue(c.is_closed(2.0))
            c = self.conn()
        r2 = c.request("GET", "/plain/after")
        self.assertEqual(r2.status, 200)
        self.assertEqual(r2.json()["target"], "/plain/after")
        self.assertNotIn("upgrade", echo_headers(r2))

    def test_upgrade_in_http10_is_ignored(self):
        # RFC 9110 §7.8: a server MUST ignore Upgrade in an HTTP/1.0 request; sluice forwards a
        # plain request (without the hop-by-hop Upgrade) and answers it normally.
        c = self.conn()
        c.send(b"GET /plain/old HTTP/1.0\r\nHost: test.local\r\nConnection: Upgrade\r\n"
               b"Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["target"], "/plain/old")
        self.assertNotIn("upgrade", echo_headers(r))

    def test_h2c_upgrade_is_ignored(self):
        # sluice does not speak HTTP/2: Upgrade: h2c is dropped with HTTP2-Settings (named in
        # Connection), and the request is answered as HTTP/1.1 (RFC 9113 §3.1, RFC 9110 §7.8).
        c = self.conn()
        r = c.request("GET", "/plain/h2c", [("Connection", "Upgrade, HTTP2-Settings"),
                                             ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAAQAAP__")])
        self.assertEqual(r.status, 200, r)
        seen = echo_headers(r)
        self.assertNotIn("upgrade", seen)
        self.assertNotIn("http2-settings", seen)
        self.assertEqual(c.request("GET", "/plain/next").status, 200)

    def test_handshake_then_half_close_still_answered(self):
        # A client that half-closes after its whole upgrade request still gets the answer.
        c = self.conn()
        c.send(build_request("GET", "/ws", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                            ("Sec-WebSocket-Version", "13")]))
        c.sock.shutdown(socket.SHUT_WR)
        r = c.read_response()
        self.assertEqual(r.status, 101, r)


if __name__ == "__main__":
    main()
