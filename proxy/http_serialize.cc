#include "proxy/http_serialize.h"

#include <charconv>
#include <vector>

namespace sluice::proxy {

using filters::Header;
using filters::HeaderMap;

void removeHopByHop(HeaderMap& headers, bool keep_upgrade) {
  std::vector<std::string> named;
  for (const Header& h : headers) {
    if (h.name != "connection") continue;
    std::string_view v = h.value;
    size_t pos = 0;
    while (pos < v.size()) {
      size_t comma = v.find(',', pos);
      std::string_view tok = v.substr(pos, comma == std::string_view::npos ? v.npos : comma - pos);
      while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
      if (!tok.empty()) {
        std::string name(tok);
        filters::toLowerInPlace(name);
        if (name != "host" && !(keep_upgrade && name == "upgrade")) named.push_back(std::move(name));
      }
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  auto& f = headers.fields();
  std::erase_if(f, [&](const Header& h) {
    const std::string& n = h.name;
    if (n == "connection" || n == "keep-alive" || n == "proxy-connection" || n == "te" ||
        n == "trailer" || n == "transfer-encoding" || n == "content-length") {
      return true;
    }
    if (n == "upgrade") return !keep_upgrade;
    for (const std::string& x : named) {
      if (n == x) return true;
    }
    return false;
  });
}

namespace {
void appendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

void appendFraming(std::string& out, BodyFraming framing, uint64_t length) {
  if (framing == BodyFraming::Length) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, length);
    appendField(out, "content-length", std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  } else if (framing == BodyFraming::Chunked) {
    appendField(out, "transfer-encoding", "chunked");
  }
}
}  // namespace

void appendRequestHead(const filters::RequestHead& head, BodyFraming framing, uint64_t length,
                       std::string& out) {
  out.append(head.method);
  out.push_back(' ');
  out.append(head.target);
  out.append(" HTTP/1.1\r\n");
  appendField(out, "host", head.host);
  for (const Header& h : head.headers) {
    if (h.name != "host") appendField(out, h.name, h.value);
  }
  appendFraming(out, framing, length);
  out.append("\r\n");
}

void appendResponseHead(const filters::ResponseHead& head, BodyFraming framing, uint64_t length,
                        const char* connection, std::string& out) {
  char code[8];
  auto r = std::to_chars(code, code + sizeof code, head.status);
  out.append("HTTP/1.1 ");
  out.append(code, static_cast<size_t>(r.ptr - code));
  out.push_back(' ');
  out.append(head.reason.empty() ? filters::reasonPhrase(head.status) : head.reason);
  out.append("\r\n");
  for (const Header& h : head.headers) appendField(out, h.name, h.value);
  appendFraming(out, framing, length);
  if (connection != nullptr) appendField(out, "connection", connection);
  out.append("\r\n");
}

size_t formatChunkHeader(size_t size, char* buf) {
  auto r = std::to_chars(buf, buf + 16, size, 16);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  return static_cast<size_t>(r.ptr - buf) + 2;
}

}  // namespace sluice::proxy
