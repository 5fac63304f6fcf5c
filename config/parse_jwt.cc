// Parser of the jwt filter (spec/gateway.md, "Edge security filters"). A `jwks: {file:}` and a
// `secret_file:` are read here at every load and reload; one that cannot be read or parsed is
// reported at its key, never quoting what it holds.
#include <yaml-cpp/yaml.h>

#include "config/jwks.h"
#include "config/sections.h"
#include "config/units.h"

namespace sluice::config {
namespace {

constexpr std::string_view kAlgorithms[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                            "ES256", "ES384", "EdDSA", "HS256", "HS384", "HS512"};

bool isHmac(std::string_view alg) {
  return alg.substr(0, 2) == "HS";
}

void parseJwks(Reader& r, MapReader& m, JwtFilter& f, RouteRefs* refs) {
  MapReader j(r, m.get("jwks"), "jwks", {"file", "url", "upstream", "refresh"});
  if (!j.ok()) return;
  bool file = j.has("file");
  if (file == j.has("url")) {
    r.error(m.get("jwks"),
            "jwks needs either file: or url: (with upstream:); write e.g. "
            "jwks: {file: keys/jwks.json}");
    return;
  }
  if (file) {
    if (j.has("upstream") || j.has("refresh")) {
      r.error(m.get("jwks"), "jwks: upstream and refresh go with url:, not with file:");
    }
    if (!j.readPath("file", &f.jwks_file)) return;
    auto text = readFileAt(r, j, "file", f.jwks_file);
    if (!text) return;
    if (auto e = config::parseJwks(*text, &f.jwks)) {
      r.error(j.get("file"), "file: \"" + f.jwks_file + "\" " + e->message);
    }
    return;
  }
  if (j.readString("url", &f.jwks_url) && f.jwks_url.substr(0, 8) != "https://" &&
      f.jwks_url.substr(0, 7) != "http://") {
    r.error(j.get("url"), "url: write an absolute http(s) URL, e.g. https://idp.example.com/jwks");
  }
  if (j.require("upstream", "upstream: idp") && j.readString("upstream", &f.jwks_upstream)) {
    refs->filter_upstreams.emplace_back(r.origin(j.get("upstream")), f.jwks_upstream);
  }
  j.readDuration("refresh", &f.jwks_refresh);
}

void parseFrom(Reader& r, MapReader& m, JwtFilter& f) {
  std::string from;
  if (!m.readString("from", &from)) return;
  size_t colon = from.find(':');
  std::string_view kind = std::string_view(from).substr(0, colon);
  std::string name = colon == std::string::npos ? "" : from.substr(colon + 1);
  if (!isHttpToken(name) || (kind != "header" && kind != "cookie" && kind != "query")) {
    r.error(m.get("from"), "from: \"" + from +
                               "\" is not a token source; write header:authorization, "
                               "cookie:NAME or query:NAME");
    return;
  }
  f.from = kind == "header"   ? JwtFilter::From::Header
           : kind == "cookie" ? JwtFilter::From::Cookie
                              : JwtFilter::From::Query;
  f.from_name = kind == "header" ? toLower(name) : name;
}

void parseClaimsToHeaders(Reader& r, MapReader& m, JwtFilter& f) {
  if (!m.has("claims_to_headers")) return;
  YAML::Node n = m.get("claims_to_headers");
  if (!n.IsMap()) {
    r.error(n, "claims_to_headers: write a map of claim: header, e.g. {sub: x-user-id}");
    return;
  }
  for (const auto& kv : n) {
    if (!kv.first.IsScalar() || !kv.second.IsScalar() || kv.first.Scalar().empty() ||
        !isHttpToken(kv.second.Scalar())) {
      r.error(kv.first, "claims_to_headers: each entry is claim: header-name");
      continue;
    }
    f.claims_to_headers.emplace_back(kv.first.Scalar(), toLower(kv.second.Scalar()));
  }
}

}  // namespace

JwtFilter parseJwt(Reader& r, MapReader& m, RouteRefs* refs) {
  JwtFilter f;
  m.readString("issuer", &f.issuer);
  if (m.has("audiences")) {
    YAML::Node a = m.get("audiences");
    if (a.IsScalar()) {
      f.audiences.push_back(a.Scalar());
    } else {
      m.readStrings("audiences", &f.audiences);
    }
  }
  if (m.readStrings("algorithms", &f.algorithms)) {
    for (const std::string& alg : f.algorithms) {
      bool known = false;
      for (std::string_view k : kAlgorithms) known = known || alg == k;
      if (!known) {
        r.error(m.get("algorithms"),
                "algorithms: \"" + alg +
                    "\" is not supported; use RS256/384/512, PS256/384/512, ES256/384, EdDSA "
                    "or HS256/384/512 (never none)");
      }
    }
    if (f.algorithms.empty()) r.error(m.get("algorithms"), "algorithms: name at least one");
  }
  bool hmac = false, asymmetric = false;
  for (const std::string& alg : f.algorithms) (isHmac(alg) ? hmac : asymmetric) = true;
  if (m.has("jwks")) parseJwks(r, m, f, refs);
  if (m.readPath("secret_file", &f.secret_file)) {
    if (auto text = readFileAt(r, m, "secret_file", f.secret_file)) {
      while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
      if (text->size() < 32) {
        r.error(m.get("secret_file"), "secret_file: \"" + f.secret_file +
                                          "\" holds under 32 bytes; HS* needs a secret at least "
                                          "as long as its hash");
      }
      f.secret = std::move(*text);
    }
  }
  if (hmac && !m.has("secret_file")) {
    r.error(m.get("algorithms"), "algorithms: HS256/384/512 need secret_file: (a shared secret)");
  }
  if (asymmetric && !m.has("jwks")) {
    r.error(m.node(), "jwt needs jwks: {file: ...} or jwks: {url: ..., upstream: ...} for " +
                          std::string("its public-key algorithms"));
  }
  if (!hmac && m.has("secret_file")) {
    r.error(m.get("secret_file"), "secret_file: only HS256/384/512 use it; add one to algorithms");
  }
  parseFrom(r, m, f);
  m.readDuration("leeway", &f.leeway, true);
  parseClaimsToHeaders(r, m, f);
  m.readBool("optional", &f.optional);
  return f;
}

}  // namespace sluice::config
