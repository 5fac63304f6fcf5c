#include "proxy/net/proxy_protocol.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>

#include "proxy/net/peer_address.h"

namespace sluice::proxy {
namespace {

std::string v2(unsigned char ver_cmd, unsigned char family, const std::string& payload) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h.push_back(static_cast<char>(ver_cmd));
  h.push_back(static_cast<char>(family));
  h.push_back(static_cast<char>(payload.size() >> 8));
  h.push_back(static_cast<char>(payload.size() & 0xff));
  return h + payload;
}

std::string sourceOf(const ProxyHeader& h) {
  return formatPeerIp(reinterpret_cast<const sockaddr*>(&h.source));
}

TEST(ProxyProtocol, V1Tcp4) {
  std::string in = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n";
  size_t used = 0;
  ProxyHeader h;
  ASSERT_EQ(parseProxyHeader(in, used, h), ProxyHeaderStatus::Done);
  EXPECT_EQ(in.substr(used), "GET / HTTP/1.1\r\n");
  EXPECT_TRUE(h.has_source);
  EXPECT_EQ(sourceOf(h), "192.0.2.7");
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(&h.source)->sin_port), 56324);
}

TEST(ProxyProtocol, V1Tcp6AndUnknown) {
  size_t used = 0;
  ProxyHeader h;
  ASSERT_EQ(parseProxyHeader("PROXY TCP6 2001:db8::5 2001:db8::1 1 65535\r\n", used, h),
            ProxyHeaderStatus::Done);
  EXPECT_EQ(sourceOf(h), "2001:db8::5");
  ASSERT_EQ(parseProxyHeader("PROXY UNKNOWN\r\n", used, h), ProxyHeaderStatus::Done);
  EXPECT_FALSE(h.has_source);
  EXPECT_EQ(used, 15u);
  ASSERT_EQ(parseProxyHeader("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", used, h),
            ProxyHeaderStatus::Done);
  EXPECT_FALSE(h.has_source);
}

TEST(ProxyProtocol, EveryPrefixOfAValidHeaderNeedsMore) {
  std::string v1 = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n";
  std::string bin =
      v2(0x21, 0x11, std::string("\xc0\x00\x02\x07\xc6\x33\x64\x01\xdc\x04\x01\xbb", 12));
  for (const std::string& whole : {v1, bin}) {
    for (size_t n = 1; n < whole.size(); ++n) {
      size_t used = 0;
      ProxyHeader h;
      EXPECT_EQ(parseProxyHeader(whole.substr(0, n), used, h), ProxyHeaderStatus::NeedMore) << n;
    }
  }
}

TEST(ProxyProtocol, V1Malformed) {
  for (const char* bad :
       {"GET / HTTP/1.1\r\n", "PROXY TCP4 192.0.2.7 198.51.100.1 56324\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443 x\r\n",
        "PROXY TCP4 300.0.2.7 198.51.100.1 1 2\r\n", "PROXY TCP4 2001:db8::5 198.51.100.1 1 2\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 1 65536\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 01 2\r\n", "PROXY TCP4  192.0.2.7 198.51.100.1 1 2\r\n",
        "PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n", "PROXY TCP4 192.0.2.7 198.51.100.1 1 2\n",
        "PROXY TCP4 1.2.3.4\rX", "proxy TCP4 1.2.3.4 1.2.3.4 1 2\r\n"}) {
    size_t used = 0;
    ProxyHeader h;
    EXPECT_EQ(parseProxyHeader(bad, used, h), ProxyHeaderStatus::Invalid) << bad;
  }
  // No CRLF within 107 bytes.
  size_t used = 0;
  ProxyHeader h;
  EXPECT_EQ(parseProxyHeader("PROXY TCP4 " + std::string(120, '1'), used, h),
            ProxyHeaderStatus::Invalid);
}

TEST(ProxyProtocol, V2Tcp4Tcp6AndTlvs) {
  // 192.0.2.7:56324 -> 198.51.100.1:443, then a TLV (type 0x04 NOOP, 3 bytes) that is skipped.
  std::string payload("\xc0\x00\x02\x07\xc6\x33\x64\x01\xdc\x04\x01\xbb", 12);
  payload += std::string("\x04\x00\x03xyz", 6);
  std::string in = v2(0x21, 0x11, payload) + "GET /";
  size_t used = 0;
  ProxyHeader h;
  ASSERT_EQ(parseProxyHeader(in, used, h), ProxyHeaderStatus::Done);
  EXPECT_EQ(in.substr(used), "GET /");
  EXPECT_EQ(sourceOf(h), "192.0.2.7");
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(&h.source)->sin_port), 56324);

  std::string six(36, '\0');
  six[0] = '\x20';
  six[1] = '\x01';
  six[2] = '\x0d';
  six[3] = '\xb8';
  six[15] = '\x05';
  ASSERT_EQ(parseProxyHeader(v2(0x21, 0x21, six), used, h), ProxyHeaderStatus::Done);
  EXPECT_EQ(sourceOf(h), "2001:db8::5");
}

TEST(ProxyProtocol, V2LocalAndOtherFamiliesKeepThePeer) {
  size_t used = 0;
  ProxyHeader h;
  ASSERT_EQ(parseProxyHeader(v2(0x20, 0x00, ""), used, h), ProxyHeaderStatus::Done);
  EXPECT_FALSE(h.has_source);
  EXPECT_EQ(used, 16u);
  ASSERT_EQ(parseProxyHeader(v2(0x21, 0x12, std::string(12, '\1')), used, h),
            ProxyHeaderStatus::Done);  // UDP over IPv4
  EXPECT_FALSE(h.has_source);
}

TEST(ProxyProtocol, V2Malformed) {
  size_t used = 0;
  ProxyHeader h;
  EXPECT_EQ(parseProxyHeader(v2(0x11, 0x11, std::string(12, '\1')), used, h),
            ProxyHeaderStatus::Invalid);  // version 1 in a v2 header
  EXPECT_EQ(parseProxyHeader(v2(0x22, 0x11, std::string(12, '\1')), used, h),
            ProxyHeaderStatus::Invalid);  // command 2
  EXPECT_EQ(parseProxyHeader(v2(0x21, 0x11, std::string(8, '\1')), used, h),
            ProxyHeaderStatus::Invalid);  // too short for IPv4 addresses
  EXPECT_EQ(parseProxyHeader(v2(0x21, 0x21, std::string(20, '\1')), used, h),
            ProxyHeaderStatus::Invalid);  // too short for IPv6 addresses
  EXPECT_EQ(parseProxyHeader(v2(0x21, 0x11, std::string(kMaxProxyHeader, '\1')), used, h),
            ProxyHeaderStatus::Invalid);  // longer than sluice buffers
  EXPECT_EQ(parseProxyHeader(std::string("\r\n\r\n\0\r\nQUIX\n\x21", 13), used, h),
            ProxyHeaderStatus::Invalid);  // signature
}

}  // namespace
}  // namespace sluice::proxy
