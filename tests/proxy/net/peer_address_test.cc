#include "proxy/net/peer_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace sluice::proxy {
namespace {

std::string v4(const char* text) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, text, &sa.sin_addr), 1);
  return formatPeerIp(reinterpret_cast<const sockaddr*>(&sa));
}

std::string v6(const char* text) {
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  EXPECT_EQ(inet_pton(AF_INET6, text, &sa.sin6_addr), 1);
  return formatPeerIp(reinterpret_cast<const sockaddr*>(&sa));
}

TEST(PeerAddress, Ipv4AsInetNtopWritesIt) {
  for (const char* a : {"0.0.0.0", "127.0.0.1", "10.20.30.40", "255.255.255.255", "1.0.10.100"}) {
    EXPECT_EQ(v4(a), a);
  }
}

TEST(PeerAddress, Ipv6AndMappedIpv4) {
  EXPECT_EQ(v6("::1"), "::1");
  EXPECT_EQ(v6("2001:db8::8:800:200c:417a"), "2001:db8::8:800:200c:417a");
  EXPECT_EQ(v6("::ffff:192.0.2.33"), "192.0.2.33");
}

TEST(PeerAddress, OtherFamiliesAreEmpty) {
  sockaddr sa{};
  sa.sa_family = AF_UNIX;
  EXPECT_EQ(formatPeerIp(&sa), "");
  unsigned char a[16];
  EXPECT_FALSE(peerAddress16(&sa, a));
}

TEST(PeerAddress, SixteenBytesWithIpv4Mapped) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "192.0.2.9", &sa.sin_addr), 1);
  unsigned char a[16];
  std::memset(a, 0xaa, sizeof a);
  ASSERT_TRUE(peerAddress16(reinterpret_cast<const sockaddr*>(&sa), a));
  const unsigned char want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 9};
  EXPECT_EQ(std::memcmp(a, want, 16), 0);
  sockaddr_in6 s6{};
  s6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::1", &s6.sin6_addr), 1);
  ASSERT_TRUE(peerAddress16(reinterpret_cast<const sockaddr*>(&s6), a));
  EXPECT_EQ(std::memcmp(a, &s6.sin6_addr, 16), 0);
}

}  // namespace
}  // namespace sluice::proxy
