#include "proxy/byte_scan.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

size_t scalarCount(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && isOrdinaryHeadByte(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

TEST(ByteScan, StopsAtEveryKindOfSpecialByteAtEveryOffset) {
  const char specials[] = {'\0', '\t', '\r', '\n', '\x1f', '\x7f'};
  for (size_t len = 0; len < 50; ++len) {
    for (size_t at = 0; at <= len; ++at) {
      for (char sp : specials) {
        std::string s(len, 'a');
        for (size_t k = 0; k < len; ++k) s[k] = static_cast<char>(0x20 + (k * 7) % 0x5f);
        if (at < len) s[at] = sp;
        EXPECT_EQ(countOrdinaryBytes(s.data(), s.size()), at < len ? at : len)
            << "len " << len << " at " << at << " byte " << int(sp);
      }
    }
  }
}

TEST(ByteScan, HighBytesAreOrdinary) {
  std::string s;
  for (int b = 0x80; b <= 0xff; ++b) s.push_back(static_cast<char>(b));
  s += " ~";
  EXPECT_EQ(countOrdinaryBytes(s.data(), s.size()), s.size());
  s.push_back('\x7f');
  EXPECT_EQ(countOrdinaryBytes(s.data(), s.size()), s.size() - 1);
}

TEST(ByteScan, AgreesWithTheByteByByteDefinitionOnAllBytes) {
  for (int b = 0; b < 256; ++b) {
    std::string s(40, 'x');
    s[33] = static_cast<char>(b);
    EXPECT_EQ(countOrdinaryBytes(s.data(), s.size()), scalarCount(s)) << b;
  }
}

TEST(ByteScan, LowerAsciiInPlaceChangesOnlyUpperCaseLetters) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (size_t len : {size_t{0}, size_t{5}, size_t{16}, size_t{37}, all.size()}) {
    std::string s = all.substr(all.size() - len);
    std::string want = s;
    for (char& c : want) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    lowerAsciiInPlace(s.data(), s.size());
    EXPECT_EQ(s, want) << len;
  }
  std::string name = "X-Forwarded-For-Very-Long-Name";
  lowerAsciiInPlace(name.data(), name.size());
  EXPECT_EQ(name, "x-forwarded-for-very-long-name");
}

}  // namespace
}  // namespace sluice::proxy
