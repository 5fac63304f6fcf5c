#include "config/value_template.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace sluice::config {
namespace {

// Values by variable; Header and Jwt look their argument up in `named`.
class MapVariables final : public TemplateVariables {
 public:
  std::map<TemplateVar, std::string> plain;
  std::map<std::string, std::string> headers;
  std::map<std::string, std::string> claims;
  std::string_view value(TemplateVar var, std::string_view arg) const override {
    const auto& named = var == TemplateVar::Header ? headers : claims;
    if (var == TemplateVar::Header || var == TemplateVar::Jwt) {
      auto it = named.find(std::string(arg));
      return it == named.end() ? std::string_view() : std::string_view(it->second);
    }
    auto it = plain.find(var);
    return it == plain.end() ? std::string_view() : std::string_view(it->second);
  }
};

ValueTemplate parseOk(std::string_view text) {
  std::string error;
  auto t = ValueTemplate::parse(text, &error);
  EXPECT_TRUE(t.has_value()) << text << ": " << error;
  return t ? *t : ValueTemplate::literal("");
}

std::string parseError(std::string_view text) {
  std::string error;
  EXPECT_FALSE(ValueTemplate::parse(text, &error).has_value()) << text;
  return error;
}

TEST(ValueTemplate, LiteralTextStaysOnePiece) {
  ValueTemplate t = parseOk("sluice 1.0");
  EXPECT_TRUE(t.isLiteral());
  ASSERT_EQ(t.pieces().size(), 1u);
  EXPECT_EQ(t.expand(MapVariables{}), "sluice 1.0");
  EXPECT_TRUE(parseOk("").pieces().empty());
}

TEST(ValueTemplate, DollarEscapes) {
  EXPECT_EQ(parseOk("cost $$5").expand(MapVariables{}), "cost $5");
  EXPECT_EQ(parseOk("$${x}").expand(MapVariables{}), "${x}");  // escaped: no variable
  EXPECT_EQ(parseOk("a$b$").expand(MapVariables{}), "a$b$");   // a lone $ is itself
  EXPECT_TRUE(parseOk("$${client_ip}").isLiteral());
}

TEST(ValueTemplate, EveryPlainVariable) {
  MapVariables v;
  v.plain = {{TemplateVar::ClientIp, "192.0.2.7"},
             {TemplateVar::RequestId, "rid"},
             {TemplateVar::Host, "api.example.com"},
             {TemplateVar::Path, "/p"},
             {TemplateVar::Query, "a=1"},
             {TemplateVar::Method, "GET"},
             {TemplateVar::Scheme, "https"},
             {TemplateVar::Route, "api"},
             {TemplateVar::Consumer, "acme"}};
  ValueTemplate t = parseOk(
      "${client_ip}|${request_id}|${host}|${path}|${query}|${method}|${scheme}|${route}|"
      "${consumer}");
  EXPECT_FALSE(t.isLiteral());
  EXPECT_EQ(t.expand(v), "192.0.2.7|rid|api.example.com|/p|a=1|GET|https|api|acme");
}

TEST(ValueTemplate, HeaderAndJwtTakeAnArgument) {
  MapVariables v;
  v.headers = {{"x-tenant", "t1"}};
  v.claims = {{"sub", "alice"}};
  ValueTemplate t = parseOk("${header.X-Tenant}/${jwt.sub}/${jwt.absent}/${header.x-absent}.");
  ASSERT_EQ(t.pieces().size(), 8u);
  EXPECT_EQ(t.pieces()[0].var, TemplateVar::Header);
  EXPECT_EQ(t.pieces()[0].text, "x-tenant");  // lower-cased
  EXPECT_EQ(t.expand(v), "t1/alice//.");
}

TEST(ValueTemplate, UnknownVariableListsTheValidOnes) {
  std::string e = parseError("x ${jwt_sub} y");
  EXPECT_NE(e.find("unknown variable ${jwt_sub}"), std::string::npos) << e;
  EXPECT_NE(e.find("${client_ip}"), std::string::npos) << e;
  EXPECT_NE(e.find("${jwt.CLAIM}"), std::string::npos) << e;
  EXPECT_NE(parseError("${}").find("unknown variable ${}"), std::string::npos);
  EXPECT_NE(parseError("${CLIENT_IP}").find("unknown variable"), std::string::npos);
}

TEST(ValueTemplate, Malformed) {
  EXPECT_NE(parseError("${client_ip").find("without a closing"), std::string::npos);
  EXPECT_NE(parseError("a ${").find("without a closing"), std::string::npos);
  EXPECT_NE(parseError("${header.}").find("NAME must be a header name"), std::string::npos);
  EXPECT_NE(parseError("${header.a b}").find("NAME must be a header name"), std::string::npos);
  EXPECT_NE(parseError("${jwt.}").find("name the claim"), std::string::npos);
}

}  // namespace
}  // namespace sluice::config
