#include "proxy/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace sluice::proxy {

namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV1Max = 107;  // including the CRLF
constexpr char kV2Signature[] = "\r\n\r\n\0\r\nQUIT\n";
constexpr size_t kV2SignatureLen = 12;

// The client's address: 4 (AF_INET) or 16 (AF_INET6) bytes, the port in network order.
void setSource(ProxyHeader& out, int family, const unsigned char* addr, uint16_t port_be) {
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.source);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, addr, 4);
    sin->sin_port = port_be;
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.source);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, addr, 16);
    sin6->sin6_port = port_be;
  }
  out.has_source = true;
}

bool parsePort(std::string_view s, uint16_t& port) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

// Splits "a b c" on single spaces into exactly `n` fields.
bool splitFields(std::string_view s, std::string_view* fields, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    size_t sp = s.find(' ');
    if (i + 1 < n) {
      if (sp == std::string_view::npos || sp == 0) return false;
      fields[i] = s.substr(0, sp);
      s.remove_prefix(sp + 1);
    } else {
      if (sp != std::string_view::npos || s.empty()) return false;
      fields[i] = s;
    }
  }
  return true;
}

ProxyHeaderStatus parseV1(std::string_view data, size_t& consumed, ProxyHeader& out) {
  size_t prefix = std::min(data.size(), kV1Prefix.size());
  if (data.substr(0, prefix) != kV1Prefix.substr(0, prefix)) return ProxyHeaderStatus::Invalid;
  size_t cr = data.find('\r');
  if (cr == std::string_view::npos) {
    if (data.find('\n') != std::string_view::npos) return ProxyHeaderStatus::Invalid;
    return data.size() < kV1Max ? ProxyHeaderStatus::NeedMore : ProxyHeaderStatus::Invalid;
  }
  if (cr + 2 > kV1Max) return ProxyHeaderStatus::Invalid;
  if (cr + 1 >= data.size()) return ProxyHeaderStatus::NeedMore;
  if (data[cr + 1] != '\n' || cr < kV1Prefix.size()) return ProxyHeaderStatus::Invalid;
  std::string_view line = data.substr(kV1Prefix.size(), cr - kV1Prefix.size());
  consumed = cr + 2;
  out = ProxyHeader{};
  // "UNKNOWN" may be followed by anything up to the CRLF; the peer stays the client.
  if (line == "UNKNOWN" || line.substr(0, 8) == "UNKNOWN ") return ProxyHeaderStatus::Done;
  std::string_view f[5];
  if (!splitFields(line, f, 5)) return ProxyHeaderStatus::Invalid;
  uint16_t sport = 0;
  uint16_t dport = 0;
  if (!parsePort(f[3], sport) || !parsePort(f[4], dport)) return ProxyHeaderStatus::Invalid;
  int family = f[0] == "TCP4" ? AF_INET : f[0] == "TCP6" ? AF_INET6 : AF_UNSPEC;
  if (family == AF_UNSPEC) return ProxyHeaderStatus::Invalid;
  // Both addresses must be of the family named; only the source is kept.
  unsigned char src[16];
  unsigned char dst[16];
  if (inet_pton(family, std::string(f[1]).c_str(), src) != 1 ||
      inet_pton(family, std::string(f[2]).c_str(), dst) != 1) {
    return ProxyHeaderStatus::Invalid;
  }
  setSource(out, family, src, htons(sport));
  return ProxyHeaderStatus::Done;
}

ProxyHeaderStatus parseV2(std::string_view data, size_t& consumed, ProxyHeader& out) {
  size_t sig = std::min(data.size(), kV2SignatureLen);
  if (std::memcmp(data.data(), kV2Signature, sig) != 0) return ProxyHeaderStatus::Invalid;
  if (data.size() < 16) return ProxyHeaderStatus::NeedMore;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(data[i]); };
  unsigned version = byte(12) >> 4;
  unsigned command = byte(12) & 0x0f;
  if (version != 2 || command > 1) return ProxyHeaderStatus::Invalid;
  size_t len = (static_cast<size_t>(byte(14)) << 8) | byte(15);
  if (16 + len > kMaxProxyHeader) return ProxyHeaderStatus::Invalid;
  if (data.size() < 16 + len) return ProxyHeaderStatus::NeedMore;
  consumed = 16 + len;
  out = ProxyHeader{};
  if (command == 0) return ProxyHeaderStatus::Done;  // LOCAL: the balancer speaking for itself
  const unsigned char* a = reinterpret_cast<const unsigned char*>(data.data()) + 16;
  uint16_t port_be;
  switch (byte(13)) {
    case 0x11:  // TCP over IPv4: src, dst, sport, dport
      if (len < 12) return ProxyHeaderStatus::Invalid;
      std::memcpy(&port_be, a + 8, 2);
      setSource(out, AF_INET, a, port_be);
      return ProxyHeaderStatus::Done;
    case 0x21:  // TCP over IPv6
      if (len < 36) return ProxyHeaderStatus::Invalid;
      std::memcpy(&port_be, a + 32, 2);
      setSource(out, AF_INET6, a, port_be);
      return ProxyHeaderStatus::Done;
    default:  // UNSPEC, UDP, unix sockets: nothing to take over
      return ProxyHeaderStatus::Done;
  }
}

}  // namespace

ProxyHeaderStatus parseProxyHeader(std::string_view data, size_t& consumed, ProxyHeader& out) {
  if (data.empty()) return ProxyHeaderStatus::NeedMore;
  if (data[0] == 'P') return parseV1(data, consumed, out);
  if (data[0] == '\r') return parseV2(data, consumed, out);
  return ProxyHeaderStatus::Invalid;
}

}  // namespace sluice::proxy
