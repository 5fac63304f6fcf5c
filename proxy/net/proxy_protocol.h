// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that an L4 load
// balancer sends before the client's own bytes, naming the client's address. Listeners with
// `proxy_protocol: true` require it on every connection; its address replaces the peer's only
// when the peer is one of `trusted_proxies` (config.md).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <string_view>

namespace sluice::proxy {

struct ProxyHeader {
  // False for a v2 LOCAL command (the balancer's own health check), v1 UNKNOWN, or a v2
  // address family other than TCP over IPv4/IPv6: the connection's peer stays the client.
  bool has_source = false;
  sockaddr_storage source{};
};

enum class ProxyHeaderStatus {
  NeedMore,  // a valid prefix; read more
  Done,      // `consumed` bytes were the header; what follows is the client's stream
  Invalid,   // not a PROXY header: close the connection
};

// Longest header accepted: v1 is at most 107 bytes; v2 is 16 bytes plus addresses and TLVs,
// bounded here so a peer cannot make sluice buffer 64 KiB per connection.
inline constexpr size_t kMaxProxyHeader = 4096;

ProxyHeaderStatus parseProxyHeader(std::string_view data, size_t& consumed, ProxyHeader& out);

}  // namespace sluice::proxy
