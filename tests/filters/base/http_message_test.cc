#include "filters/base/http_message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sluice::base {
namespace {

std::vector<std::string> flat(const HeaderMap& h) {
  std::vector<std::string> out;
  for (const Header& f : h) out.push_back(f.name + "=" + f.value);
  return out;
}

TEST(HeaderMap, EmptyMap) {
  HeaderMap h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.size(), 0u);
  EXPECT_EQ(h.get("x"), nullptr);
  EXPECT_FALSE(h.has("x"));
  EXPECT_EQ(h.count("x"), 0u);
  EXPECT_EQ(h.remove("x"), 0u);
}

TEST(HeaderMap, AddKeepsDuplicatesInOrderAndGetReturnsTheFirst) {
  HeaderMap h;
  h.add("a", "1");
  h.add("b", "2");
  h.add("a", "3");
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.count("a"), 2u);
  EXPECT_EQ(h.count("b"), 1u);
  ASSERT_NE(h.get("a"), nullptr);
  EXPECT_EQ(*h.get("a"), "1");
  EXPECT_TRUE(h.has("b"));
  EXPECT_EQ(flat(h), (std::vector<std::string>{"a=1", "b=2", "a=3"}));
}

TEST(HeaderMap, AppendToListExtendsTheLastLineOrAddsTheField) {
  HeaderMap h;
  h.appendToList("via", "1.1 sluice");
  EXPECT_EQ(*h.get("via"), "1.1 sluice");
  HeaderMap xff;
  xff.add("x-forwarded-for", "192.0.2.1");
  xff.add("accept", "*/*");
  xff.add("x-forwarded-for", "198.51.100.7");
  xff.appendToList("x-forwarded-for", "10.0.0.1");
  // Both client lines survive; combined in order they read "192.0.2.1, 198.51.100.7, 10.0.0.1".
  ASSERT_EQ(xff.count("x-forwarded-for"), 2u);
  EXPECT_EQ(xff.fields()[0].value, "192.0.2.1");
  EXPECT_EQ(xff.fields()[2].value, "198.51.100.7, 10.0.0.1");
  HeaderMap empty;
  empty.add("x-forwarded-for", "");
  empty.appendToList("x-forwarded-for", "10.0.0.1");
  EXPECT_EQ(*empty.get("x-forwarded-for"), "10.0.0.1");
}

TEST(HeaderMap, LookupsAreByExactLowerCaseName) {
  HeaderMap h;
  h.add("content-type", "text/plain");
  EXPECT_EQ(h.get("Content-Type"), nullptr);
  EXPECT_EQ(h.get("content-typ"), nullptr);
  EXPECT_EQ(h.get("content-type-x"), nullptr);
  EXPECT_TRUE(h.has("content-type"));
}

TEST(HeaderMap, SetReplacesEveryDuplicateInPlaceOfTheFirst) {
  HeaderMap h;
  h.add("x", "0");
  h.add("a", "1");
  h.add("y", "2");
  h.add("a", "3");
  h.add("a", "4");
  h.set("a", "new");
  EXPECT_EQ(flat(h), (std::vector<std::string>{"x=0", "a=new", "y=2"}));
  EXPECT_EQ(h.count("a"), 1u);
}

TEST(HeaderMap, SetAppendsWhenAbsent) {
  HeaderMap h;
  h.add("x", "0");
  h.set("z", "9");
  EXPECT_EQ(flat(h), (std::vector<std::string>{"x=0", "z=9"}));
}

TEST(HeaderMap, RemoveDropsEveryDuplicateAndCountsThem) {
  HeaderMap h;
  h.add("a", "1");
  h.add("b", "2");
  h.add("a", "3");
  h.add("c", "4");
  EXPECT_EQ(h.remove("a"), 2u);
  EXPECT_EQ(flat(h), (std::vector<std::string>{"b=2", "c=4"}));
  EXPECT_EQ(h.remove("a"), 0u);
  h.clear();
  EXPECT_TRUE(h.empty());
}

TEST(HeaderHasToken, FindsTokensCaseInsensitivelyWithSpaces) {
  EXPECT_TRUE(headerHasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(headerHasToken("keep-alive, Upgrade", "Keep-Alive"));
  EXPECT_TRUE(headerHasToken("  close  ", "close"));
  EXPECT_TRUE(headerHasToken("a,\tCLOSE\t,b", "close"));
  EXPECT_TRUE(headerHasToken("a,,close", "close"));
  EXPECT_TRUE(headerHasToken("close", "close"));
}

TEST(HeaderHasToken, NoPartialMatches) {
  EXPECT_FALSE(headerHasToken("closed", "close"));
  EXPECT_FALSE(headerHasToken("enclose", "close"));
  EXPECT_FALSE(headerHasToken("keep-alive", "keep"));
  EXPECT_FALSE(headerHasToken("close x", "close"));
  EXPECT_FALSE(headerHasToken("", "close"));
  EXPECT_FALSE(headerHasToken("upgrade, websocket", "keep-alive"));
}

TEST(RequestHead, PathAndQuery) {
  RequestHead h;
  h.target = "/a/b?x=1&y=2";
  EXPECT_EQ(h.path(), "/a/b");
  EXPECT_EQ(h.query(), "x=1&y=2");

  h.target = "/plain";
  EXPECT_EQ(h.path(), "/plain");
  EXPECT_EQ(h.query(), "");

  h.target = "/trailing?";
  EXPECT_EQ(h.path(), "/trailing");
  EXPECT_EQ(h.query(), "");

  h.target = "/q?a=?b";
  EXPECT_EQ(h.path(), "/q");
  EXPECT_EQ(h.query(), "a=?b");

  h.target = "*";
  EXPECT_EQ(h.path(), "*");
  EXPECT_EQ(h.query(), "");
}

TEST(IsIdempotentMethod, Rfc9110Methods) {
  for (const char* m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
    EXPECT_TRUE(isIdempotentMethod(m)) << m;
  }
  for (const char* m : {"POST", "PATCH", "CONNECT", "get", "Put", "", "PROPFIND"}) {
    EXPECT_FALSE(isIdempotentMethod(m)) << m;
  }
}

TEST(ReasonPhrase, KnownAndUnknown) {
  EXPECT_STREQ(reasonPhrase(200), "OK");
  EXPECT_STREQ(reasonPhrase(429), "Too Many Requests");
  EXPECT_STREQ(reasonPhrase(504), "Gateway Timeout");
  EXPECT_STREQ(reasonPhrase(299), "Unknown");
}

TEST(ToLowerInPlace, AsciiOnly) {
  std::string s = "Content-TYPE_09\xC3\x89";
  toLowerInPlace(s);
  EXPECT_EQ(s, "content-type_09\xC3\x89");
}

TEST(HeaderMap, ToLowerInPlaceChangesOnlyUpperCaseLetters) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  for (size_t len = 0; len <= all.size(); ++len) {
    // Every length, and the letters at every position relative to the word boundaries.
    std::string s = all.substr(all.size() - len);
    std::rotate(all.begin(), all.begin() + 1, all.end());
    std::string want = s;
    for (char& c : want) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    }
    toLowerInPlace(s);
    EXPECT_EQ(s, want) << len;
  }
  std::string name = "X-Forwarded-For-Very-Long-Name";
  toLowerInPlace(name);
  EXPECT_EQ(name, "x-forwarded-for-very-long-name");
}

TEST(FormDecode, EscapesPlusAndMalformed) {
  EXPECT_EQ(formDecode("a+b%20c%2Fd"), "a b c/d");
  EXPECT_EQ(formDecode("%zz%4"), "%zz%4");  // malformed escapes stay as written
  EXPECT_EQ(formDecode("%41%6a"), "Aj");
  EXPECT_EQ(hexDigitValue('F'), 15);
  EXPECT_EQ(hexDigitValue('g'), -1);
}

TEST(HeaderMap, CombinedJoinsTheLinesOfOneFieldInOrder) {
  HeaderMap h;
  std::string scratch;
  EXPECT_FALSE(h.combined("x-a", scratch));
  h.add("x-a", "1");
  h.add("x-b", "between");
  EXPECT_EQ(h.combined("x-a", scratch), "1");
  EXPECT_TRUE(scratch.empty()) << "one line is returned in place";
  h.add("x-a", "");
  h.add("x-a", "3");
  EXPECT_EQ(h.combined("x-a", scratch), "1, , 3");
  h.add("cookie", "a=1");
  h.add("cookie", "b=2");  // HTTP/2 cookie crumbs join with "; " (RFC 9113 8.2.3)
  EXPECT_EQ(h.combined("cookie", scratch), "a=1; b=2");
}

}  // namespace
}  // namespace sluice::base
