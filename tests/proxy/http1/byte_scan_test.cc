#include "proxy/http1/byte_scan.h"

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

TEST(ByteScan, FieldValueControlBytesAllowTabOnly) {
  EXPECT_FALSE(hasFieldValueControlBytes("plain value, with\ttab and \x80\xff bytes"));
  EXPECT_FALSE(hasFieldValueControlBytes(""));
  EXPECT_TRUE(hasFieldValueControlBytes(std::string("a\0b", 3)));
  EXPECT_TRUE(hasFieldValueControlBytes("0123456789abcdef0123\r"));
  EXPECT_TRUE(hasFieldValueControlBytes("\t\t\x7f"));
}

}  // namespace
}  // namespace sluice::proxy
