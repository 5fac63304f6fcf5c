// Parsers of the edge security filters (spec/gateway.md): ip_filter, cors, basic_auth, api_key.
// The credential files are read here, at every load and reload; a file that cannot be read or
// parsed is reported at its `users_file:` / `keys_file:` value.
#include "config/credential_files.h"
#include "config/sections.h"
#include "config/units.h"

namespace sluice::config {
namespace {

std::vector<Cidr> readCidrs(Reader& r, MapReader& m, std::string_view key) {
  std::vector<Cidr> out;
  std::vector<std::string> texts;
  if (!m.readStrings(key, &texts)) return out;
  for (const std::string& t : texts) {
    auto c = parseCidr(t);
    if (c) {
      out.push_back(*c);
    } else {
      r.error(m.get(key), std::string(key) + ": " + c.error());
    }
  }
  return out;
}

// `https://app.example.com`, `http://localhost:3000`, `*.example.com` or `*`.
bool isOriginPattern(std::string_view o) {
  if (o == "*") return true;
  if (o.substr(0, 2) == "*.") return o.size() > 2 && o.find_first_of("/:*", 2) == o.npos;
  size_t sep = o.find("://");
  if (sep == o.npos || sep == 0) return false;
  std::string_view host = o.substr(sep + 3);
  return !host.empty() && host.find_first_of("/?#* ") == host.npos;
}

// A list of tokens (methods, header names), upper- or lower-cased.
void readTokens(Reader& r, MapReader& m, std::string_view key, bool upper,
                std::vector<std::string>* out) {
  if (!m.readStrings(key, out)) return;
  for (std::string& t : *out) {
    if (!isHttpToken(t)) {
      r.error(m.get(key), std::string(key) + ": \"" + t + "\" is not an HTTP token");
    }
    if (upper) {
      for (char& c : t) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    } else {
      t = toLower(t);
    }
  }
}

// Reads the file at `key` with `parse`, reporting problems at the key's value.
template <typename Entry, typename Parse>
void readCredentials(Reader& r, MapReader& m, std::string_view key, const std::string& path,
                     Parse parse, std::vector<Entry>* out) {
  auto text = readFileAt(r, m, key, path);
  if (!text) return;
  if (auto e = parse(*text, out)) {
    std::string where = e->line == 0 ? "" : " line " + std::to_string(e->line);
    if (e->column > 0) where += " column " + std::to_string(e->column);
    r.error(m.get(key), std::string(key) + ": \"" + path + "\"" + where + ": " + e->message);
  }
}

}  // namespace

std::optional<std::string> readFileAt(Reader& r, MapReader& m, std::string_view key,
                                      const std::string& path) {
  std::string err;
  auto text = readCredentialFile(path, &err);
  if (!text && r.options().check_files) {
    r.resourceError(m.get(key), std::string(key) + ": cannot read \"" + path + "\": " + err +
                                    "; check the path (relative to this file) and the file's "
                                    "permissions");
  }
  return text;
}

IpFilter parseIpFilter(Reader& r, MapReader& m) {
  IpFilter f;
  f.allow = readCidrs(r, m, "allow");
  f.deny = readCidrs(r, m, "deny");
  if (!m.has("allow") && !m.has("deny")) {
    r.error(m.node(), "ip_filter needs allow or deny (or both); write e.g. allow: [10.0.0.0/8]");
  }
  return f;
}

CorsFilter parseCors(Reader& r, MapReader& m) {
  CorsFilter f;
  f.methods = {"GET", "HEAD", "POST"};
  if (m.require("origins", "origins: [\"https://app.example.com\", \"*.example.com\"]") &&
      m.readStrings("origins", &f.origins)) {
    for (std::string& o : f.origins) {
      o = toLower(o);
      if (!isOriginPattern(o)) {
        r.error(
            m.get("origins"),
            "origins: \"" + o + "\" is not an origin; write scheme://host[:port], *.domain or *");
      }
    }
  }
  readTokens(r, m, "methods", true, &f.methods);
  readTokens(r, m, "headers", false, &f.headers);
  readTokens(r, m, "expose_headers", false, &f.expose_headers);
  m.readBool("credentials", &f.credentials);
  m.readDuration("max_age", &f.max_age, true);
  return f;
}

BasicAuthFilter parseBasicAuth(Reader& r, MapReader& m) {
  BasicAuthFilter f;
  if (m.readString("realm", &f.realm)) {
    bool ok = !f.realm.empty();
    for (char c : f.realm) ok = ok && c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    if (!ok) {
      r.error(m.get("realm"), "realm: write printable ASCII without quotes or backslashes");
    }
  }
  if (m.require("users_file", "users_file: htpasswd") && m.readPath("users_file", &f.users_file)) {
    readCredentials(r, m, "users_file", f.users_file, parseHtpasswd, &f.users);
  }
  return f;
}

ApiKeyFilter parseApiKey(Reader& r, MapReader& m) {
  ApiKeyFilter f;
  std::string from;
  if (m.require("from", "from: \"header:x-api-key\"") && m.readString("from", &from)) {
    size_t colon = from.find(':');
    std::string_view kind = std::string_view(from).substr(0, colon);
    std::string name = colon == std::string::npos ? "" : from.substr(colon + 1);
    if ((kind == "header" || kind == "query") && isHttpToken(name)) {
      f.from_query = kind == "query";
      f.name = f.from_query ? name : toLower(name);
    } else {
      r.error(m.get("from"), "from: \"" + from +
                                 "\" is not a key source; write header:NAME or "
                                 "query:NAME");
    }
  }
  if (m.require("keys_file", "keys_file: api-keys.yaml") && m.readPath("keys_file", &f.keys_file)) {
    readCredentials(r, m, "keys_file", f.keys_file, parseApiKeys, &f.keys);
  }
  return f;
}

}  // namespace sluice::config
