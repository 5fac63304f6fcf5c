#include "proxy/http1/request_line.h"

#include <llhttp.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace sluice::proxy {

namespace {

// Byte classes as tables: these run on every request line and Host.
struct ByteClass {
  bool member[256] = {};
  constexpr ByteClass(std::string_view extra) {
    for (int c = 0; c < 256; ++c) {
      member[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
    for (char c : extra) member[static_cast<unsigned char>(c)] = true;
  }
  bool operator()(char c) const { return member[static_cast<unsigned char>(c)]; }
};

constexpr ByteClass isTchar("!#$%&'*+-.^_`|~");        // RFC 9110 §5.6.2
constexpr ByteClass isRegNameChar("-._~%!$&'()*+;=");  // RFC 3986 reg-name, less ","

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

bool validHostAuthority(std::string_view a) {
  std::string_view port;
  if (!a.empty() && a.front() == '[') {
    size_t close = a.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : a.substr(1, close - 1)) {
      bool hex = isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return false;
    }
    std::string_view rest = a.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? rest : rest.substr(1);
  } else {
    size_t colon = a.find(':');
    std::string_view host = a.substr(0, colon);
    if (colon != std::string_view::npos) port = a.substr(colon + 1);
    for (char c : host) {
      if (!isRegNameChar(c)) return false;
    }
  }
  if (port.size() > 5) return false;
  uint32_t value = 0;
  for (char c : port) {
    if (!isDigit(c)) return false;
    value = value * 10 + static_cast<uint32_t>(c - '0');
  }
  return value <= 65535;
}

bool llhttpKnowsMethod(std::string_view method) {
  static const std::array kKnown = {
#define SLUICE_METHOD_NAME(num, name, string) std::string_view(#string),
      HTTP_METHOD_MAP(SLUICE_METHOD_NAME)
#undef SLUICE_METHOD_NAME
  };
  return std::find(kKnown.begin(), kKnown.end(), method) != kKnown.end();
}

void fixRequestLine(std::string_view line, RequestLineFix& fix) {
  size_t sp = line.find(' ');
  size_t last = line.rfind(' ');
  if (sp == std::string_view::npos || sp == 0 || last == sp) return;  // llhttp judges it
  std::string_view method = line.substr(0, sp);
  std::string_view version = line.substr(last + 1);
  if (!version.empty() && version.back() == '\r') version.remove_suffix(1);
  bool unknown = !llhttpKnowsMethod(method) && std::all_of(method.begin(), method.end(), isTchar);
  // "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3); llhttp reads 0.9, 1.0, 1.1 and 2.0 itself.
  bool well_formed = version.size() == 8 && version.substr(0, 5) == "HTTP/" &&
                     isDigit(version[5]) && version[6] == '.' && isDigit(version[7]);
  char major = well_formed ? version[5] : '1';
  char minor = well_formed ? version[7] : '1';
  bool newer_minor = major == '1' && minor > '1';
  bool newer_major = major > '2' || (major == '2' && minor != '0');
  if (!unknown && !newer_minor && !newer_major) return;
  fix.changed = true;
  fix.unsupported_version = newer_major;
  if (unknown) fix.method.assign(method);
  fix.line.clear();
  fix.line.append(unknown ? std::string_view("POST") : method);
  fix.line.append(line.substr(sp, last + 1 - sp));
  fix.line.append(newer_minor || newer_major ? std::string_view("HTTP/1.1")
                                             : line.substr(last + 1, version.size()));
  if (line.back() == '\r') fix.line.push_back('\r');
}

}  // namespace sluice::proxy
