#!/usr/bin/env python3
"""A tiny authoritative DNS server for sluice's end-to-end tests (standard library only, UDP).

    python3 dns_server.py --zone FILE [--port N]

Prints "ready PORT" once listening on 127.0.0.1 (--port 0, the default, lets the OS pick). The
zone is a JSON file, read again on every query, so a test changes the answers by rewriting it:

    {"A":    {"api.test": ["127.0.0.1", "127.0.0.2"]},
     "AAAA": {"api.test": ["::1"]},
     "SRV":  {"_http._tcp.api.test": [[priority, weight, port, "a.api.test"], ...]}}

Names are matched case-insensitively, without the trailing dot. A name the zone has under some
type but not the asked one gets an empty answer (NODATA); a name it does not have at all gets
NXDOMAIN. Every query is appended to FILE.log as "TYPE name" lines.
"""

import argparse
import ipaddress
import json
import socket
import struct
import sys

TYPES = {1: "A", 28: "AAAA", 33: "SRV"}


def read_name(msg, off):
    labels = []
    while True:
        n = msg[off]
        if n == 0:
            return ".".join(labels), off + 1
        if n & 0xC0:
            raise ValueError("compressed names are not expected in a question")
        labels.append(msg[off + 1:off + 1 + n].decode("ascii"))
        off += 1 + n


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode("ascii")
    return out + b"\x00"


def load_zone(path):
    try:
        with open(path) as f:
            zone = json.load(f)
    except (OSError, ValueError):
        return {}
    return {t: {k.lower().rstrip("."): v for k, v in zone.get(t, {}).items()} for t in TYPES.values()}


def answer(query, zone):
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    name, off = read_name(query, 12)
    qtype, qclass = struct.unpack("!HH", query[off:off + 4])
    question = query[12:off + 4]
    key = name.lower().rstrip(".")
    kind = TYPES.get(qtype)
    records = zone.get(kind, {}).get(key) if kind else None
    known = any(key in zone.get(t, {}) for t in TYPES.values())
    rrs = []
    for rec in records or []:
        if kind == "A":
            rdata = ipaddress.IPv4Address(rec).packed
        elif kind == "AAAA":
            rdata = ipaddress.IPv6Address(rec).packed
        else:
            prio, weight, port, target = rec
            rdata = struct.pack("!HHH", prio, weight, port) + encode_name(target)
        rrs.append(b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 1, len(rdata)) + rdata)
    rcode = 0 if known else 3
    rflags = 0x8000 | 0x0400 | (flags & 0x0100) | rcode  # QR, AA, RD copied
    head = struct.pack("!HHHHHH", qid, rflags, 1, len(rrs), 0, 0)
    return head + question + b"".join(rrs), "%s %s" % (kind or qtype, key)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--zone", required=True)
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", a.port))
    print("ready %d" % sock.getsockname()[1], flush=True)
    log = open(a.zone + ".log", "a")
    while True:
        query, peer = sock.recvfrom(4096)
        try:
            reply, line = answer(query, load_zone(a.zone))
        except (ValueError, IndexError, struct.error) as e:
            print("bad query from %s: %s" % (peer, e), file=sys.stderr, flush=True)
            continue
        log.write(line + "\n")
        log.flush()
        sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
