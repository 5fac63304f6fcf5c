#include "proxy/stream/local_reply.h"

#include <cstdlib>

#include "config/json_dump.h"
#include "proxy/http1/http_serialize.h"

namespace sluice::proxy {

namespace {
// The q-value of the first media range in `accept` equal to `type` (or covering it with `*`).
double qualityOf(std::string_view accept, std::string_view type) {
  double best = -1;
  size_t pos = 0;
  while (pos < accept.size()) {
    size_t comma = accept.find(',', pos);
    std::string_view item =
        accept.substr(pos, comma == std::string_view::npos ? accept.npos : comma - pos);
    pos = comma == std::string_view::npos ? accept.size() : comma + 1;
    size_t semi = item.find(';');
    std::string_view range = item.substr(0, semi);
    while (!range.empty() && range.front() == ' ') range.remove_prefix(1);
    while (!range.empty() && range.back() == ' ') range.remove_suffix(1);
    double q = 1;
    if (semi != std::string_view::npos) {
      size_t qp = item.find("q=", semi);
      if (qp != std::string_view::npos)
        q = std::strtod(std::string(item.substr(qp + 2)).c_str(), nullptr);
    }
    bool exact = range == type;
    bool wild =
        range == "*/*" || (range.size() > 2 && range.substr(range.size() - 2) == "/*" &&
                           type.substr(0, range.size() - 1) == range.substr(0, range.size() - 1));
    if (exact) return q;
    if (wild && q > best) best = q;
  }
  return best;
}
}  // namespace

bool prefersJson(std::string_view accept) {
  if (accept.empty()) return false;
  double json = qualityOf(accept, "application/json");
  double text = qualityOf(accept, "text/plain");
  return json > 0 && json > text;
}

std::string localReplyBody(int status, std::string_view message, std::string_view request_id,
                           bool json) {
  std::string text =
      message.empty() ? std::string(base::reasonPhrase(status)) : std::string(message);
  if (json) {
    return "{\"status\":" + std::to_string(status) + ",\"error\":" + config::jsonQuote(text) +
           ",\"request_id\":" + config::jsonQuote(request_id) + "}\n";
  }
  return std::to_string(status) + " " + text + "\nrequest_id: " + std::string(request_id) + "\n";
}

int grpcStatusFor(int http_status) {
  switch (http_status) {
    case 400:
      return 13;  // INTERNAL
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 12;  // UNIMPLEMENTED
    case 405:
      return 12;
    case 408:
      return 4;  // DEADLINE_EXCEEDED
    case 413:
      return 8;  // RESOURCE_EXHAUSTED
    case 429:
      return 8;
    case 431:
      return 8;
    case 500:
      return 13;
    case 501:
      return 12;
    case 502:
      return 14;  // UNAVAILABLE
    case 503:
      return 14;
    case 504:
      return 4;
    default:
      return 2;  // UNKNOWN
  }
}

std::string grpcMessage(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c <= 0x7e && c != '%') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool isGrpcContentType(std::string_view content_type) {
  constexpr std::string_view kGrpc = "application/grpc";
  if (content_type.size() < kGrpc.size()) return false;
  for (size_t i = 0; i < kGrpc.size(); ++i) {
    char c = content_type[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kGrpc[i]) return false;
  }
  // application/grpc, application/grpc+proto, application/grpc;charset=..., but not grpc-web
  // (its replies carry trailers in the body).
  if (content_type.size() == kGrpc.size()) return true;
  char next = content_type[kGrpc.size()];
  return next == '+' || next == ';';
}

void appendLocalReply(int status, std::string_view message, std::string_view request_id,
                      std::string_view accept, bool head_only, bool close, std::string_view date,
                      const base::HeaderMap* extra, std::string& out) {
  bool json = prefersJson(accept);
  std::string body = localReplyBody(status, message, request_id, json);
  base::ResponseHead head;
  head.status = status;
  head.headers.add("date", std::string(date));
  head.headers.add("content-type", json ? "application/json" : "text/plain; charset=utf-8");
  head.headers.add("x-request-id", std::string(request_id));
  if (extra != nullptr) {
    for (const base::Header& h : *extra) head.headers.set(h.name, h.value);
  }
  appendResponseHead(head, BodyFraming::Length, body.size(), close ? "close" : nullptr, out);
  if (!head_only) out.append(body);
}

}  // namespace sluice::proxy
