// The textual form of a peer's socket address, as logged and forwarded (X-Forwarded-For).
#pragma once

#include <sys/socket.h>

#include <string>

namespace sluice::proxy {

// "192.0.2.1", "2001:db8::1"; an IPv4-mapped IPv6 address as its IPv4 form; "" for other
// families.
std::string formatPeerIp(const sockaddr* sa);

// The address as 16 bytes, IPv4 mapped to ::ffff:a.b.c.d (the form config::Cidr::contains
// takes); false for other families.
bool peerAddress16(const sockaddr* sa, unsigned char out[16]);

}  // namespace sluice::proxy
