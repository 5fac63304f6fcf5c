"""PROXY protocol listeners (spec/config.md `listeners[].proxy_protocol`): v1 and v2 headers
before HTTP (and before TLS), the client address they carry believed only from
`trusted_proxies`, and connections without a valid header closed with nothing forwarded."""

import socket
import struct
import time

import unittest

from harness import (Conn, ProtocolError, Sluice, Upstream, build_request, echo_headers, main,
                     make_config)


def v2_header(src, sport, dst="198.51.100.1", dport=443, command=0x21):
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    tlv = b"\x04\x00\x02ab"  # a NOOP TLV, skipped
    payload = addrs + tlv
    return (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([command, 0x11]) + struct.pack("!H", len(payload))
            + payload)


def v2_header6(src, sport):
    addrs = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, "::1")
             + struct.pack("!HH", sport, 80))
    return b"\r\n\r\n\x00\r\nQUIT\n\x21\x21" + struct.pack("!H", len(addrs)) + addrs


class ProxyProtocolTest(unittest.TestCase):
    TRUSTED = "[127.0.0.1/32]"

    @classmethod
    def setUpClass(cls):
        cls.up = Upstream("echo").start()
        cfg = make_config({"echo": cls.up.port}, ["{name: all, match: {path_prefix: /}, upstream: echo}"],
                          limits={"header_timeout": "1s"},
                          extra="trusted_proxies: %s" % cls.TRUSTED)
        cfg = cfg.replace("{name: main, address: 127.0.0.1:$PORT}",
                          "{name: main, address: 127.0.0.1:$PORT, proxy_protocol: true}")
        cls.sluice = Sluice(cfg).start()

    @classmethod
    def tearDownClass(cls):
        cls.sluice.__exit__(None, None, None)
        cls.up.stop()

    def forwarded_for(self, prefix, target="/pp", pieces=1):
        c = Conn(self.sluice.port, timeout=5)
        raw = prefix + build_request("GET", target)
        step = max(1, len(raw) // pieces)
        for i in range(0, len(raw), step):
            c.send(raw[i:i + step])
            if pieces > 1:
                time.sleep(0.02)
        r = c.read_response()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["target"], target)
        c.close()
        return echo_headers(r)["x-forwarded-for"]

    def test_v1_source_becomes_the_client(self):
        got = self.forwarded_for(b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n")
        self.assertEqual(got, ["192.0.2.7"])
        got = self.forwarded_for(b"PROXY TCP6 2001:db8::5 2001:db8::1 1000 443\r\n")
        self.assertEqual(got, ["2001:db8::5"])

    def test_v2_source_becomes_the_client(self):
        self.assertEqual(self.forwarded_for(v2_header("192.0.2.9", 4000)), ["192.0.2.9"])
        self.assertEqual(self.forwarded_for(v2_header6("2001:db8::9", 4000)), ["2001:db8::9"])

    def test_header_in_pieces(self):
        got = self.forwarded_for(b"PROXY TCP4 192.0.2.8 198.51.100.1 56324 443\r\n", pieces=7)
        self.assertEqual(got, ["192.0.2.8"])
        self.assertEqual(self.forwarded_for(v2_header("192.0.2.10", 1), pieces=9), ["192.0.2.10"])

    def test_local_and_unknown_keep_the_peer(self):
        self.assertEqual(self.forwarded_for(b"PROXY UNKNOWN\r\n"), ["127.0.0.1"])
        self.assertEqual(self.forwarded_for(v2_header("192.0.2.1", 1, command=0x20)),
                         ["127.0.0.1"])

    def test_keepalive_after_the_header(self):
        c = Conn(self.sluice.port, timeout=5)
        c.send(b"PROXY TCP4 192.0.2.11 198.51.100.1 5 443\r\n")
        for i in range(3):
            r = c.request("GET", "/ka/%d" % i)
            self.assertEqual(echo_headers(r)["x-forwarded-for"], ["192.0.2.11"])
        c.close()
        lines = [l for l in self.sluice.access_log_lines() if l["path"].startswith("/ka/")]
        self.assertEqual({l["remote"] for l in lines}, {"192.0.2.11"})

    def test_missing_or_bad_header_closes_without_forwarding(self):
        for prefix in (b"", b"PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n",
                       b"PROXY TCP4 192.0.2.7\n", b"\r\n\r\n\x00\r\nQUIT\n\x22\x11\x00\x00"):
            with self.subTest(prefix=prefix):
                mark = self.up.mark()
                c = Conn(self.sluice.port, timeout=5)
                c.send(prefix + build_request("GET", "/never"))
                try:
                    r = c.read_response()
                    self.fail("answered %r" % r)
                except (ProtocolError, OSError):
                    pass
                self.assertTrue(c.is_closed(2.0))
                c.close()
                self.assertEqual(self.up.requests_since(mark), [])

    def test_silent_connection_closed_at_header_timeout(self):
        c = Conn(self.sluice.port, timeout=5)
        c.send(b"PROXY TCP4 192.0")
        t0 = time.time()
        self.assertTrue(c.is_closed(4.0))
        self.assertLess(time.time() - t0, 3.5)
        c.close()


class UntrustedProxyProtocolTest(ProxyProtocolTest):
    """The header is still required and removed, but an untrusted peer's claim is ignored."""
    TRUSTED = "[10.0.0.0/8]"

    def test_v1_source_becomes_the_client(self):
        got = self.forwarded_for(b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n")
        self.assertEqual(got, ["127.0.0.1"])

    def test_v2_source_becomes_the_client(self):
        self.assertEqual(self.forwarded_for(v2_header("192.0.2.9", 4000)), ["127.0.0.1"])

    def test_header_in_pieces(self):
        got = self.forwarded_for(b"PROXY TCP4 192.0.2.8 198.51.100.1 56324 443\r\n", pieces=7)
        self.assertEqual(got, ["127.0.0.1"])

    def test_keepalive_after_the_header(self):
        c = Conn(self.sluice.port, timeout=5)
        c.send(b"PROXY TCP4 192.0.2.11 198.51.100.1 5 443\r\n")
        r = c.request("GET", "/ka-untrusted")
        self.assertEqual(echo_headers(r)["x-forwarded-for"], ["127.0.0.1"])
        c.close()


if __name__ == "__main__":
    main()
