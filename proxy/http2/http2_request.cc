#include "proxy/http2/http2_request.h"

#include <charconv>

namespace sluice::proxy {

using namespace std::string_view_literals;

namespace {
// An HTTP/2 field counted as the HTTP/1.1 line it stands for ("name: value\r\n").
constexpr uint64_t kLineOverhead = 4;
// RFC 9113 §6.5.2: the size of a field in the header list.
constexpr uint64_t kListOverhead = 32;
// Room made for a request's regular fields at its first one (more still fit, by growing).
constexpr size_t kUsualFields = 8;
}  // namespace

bool Http2RequestBuilder::overBudget() const {
  return list_size_ > limits_.max_header_list_size || line_bytes_ > limits_.max_header_bytes ||
         count_ > limits_.max_headers;
}

void Http2RequestBuilder::addField(std::string_view name, std::string_view value) {
  list_size_ += name.size() + value.size() + kListOverhead;
  line_bytes_ += name.size() + value.size() + kLineOverhead;
  bool pseudo = !name.empty() && name[0] == ':';
  if (!pseudo) ++count_;
  if (overBudget()) return;  // counted; the answer is 431
  if (pseudo) {
    if (name == ":method"sv) {
      head_.method.assign(value);
    } else if (name == ":path"sv) {
      head_.target.assign(value);
      has_path_ = true;
    } else if (name == ":authority"sv) {
      authority_.assign(value);
    } else if (name == ":scheme"sv) {
      scheme_.assign(value);
    }
    return;
  }
  if (name == "cookie"sv) {  // RFC 9113 §8.2.3: one field again for HTTP/1.1
    if (!cookie_.empty()) cookie_.append("; "sv);
    cookie_.append(value);
    return;
  }
  std::vector<base::Header>& fields = head_.headers.fields();
  if (fields.empty()) fields.reserve(kUsualFields);  // one allocation for a usual request
  fields.push_back(base::Header{std::string(name), std::string(value)});
}

int Http2RequestBuilder::finishHead(bool end_stream, base::RequestHead& head, RequestMeta& meta) {
  if (overBudget()) return 431;
  if (!cookie_.empty()) head_.headers.add("cookie", std::move(cookie_));
  head_.version_major = 2;
  head_.version_minor = 0;
  meta = RequestMeta{};
  std::string host = authority_;
  const std::string* host_field = head_.headers.get("host");
  if (host.empty() && host_field != nullptr) host = *host_field;
  base::toLowerInPlace(host);
  if (host_field != nullptr && !authority_.empty() &&
      !base::equalsIgnoreCase(*host_field, authority_)) {
    head = std::move(head_);
    return 400;  // RFC 9113 §8.3.1: Host and :authority name different origins
  }
  if (host.find_first_of(" \t@/\\"sv) != std::string::npos) {
    head = std::move(head_);
    return 400;
  }
  head_.host = std::move(host);
  head_.headers.remove("host");
  int status = 0;
  if (head_.method == "CONNECT"sv) {
    status = 405;  // as over HTTP/1.1: sluice tunnels nothing by CONNECT
  } else if (!has_path_ || head_.target.empty() || head_.host.empty() ||
             head_.target.find('#') != std::string::npos ||
             (head_.target[0] != '/' && !(head_.target == "*"sv && head_.method == "OPTIONS"sv))) {
    status = 400;
  }
  if (status == 0) {
    if (const std::string* expect = head_.headers.get("expect")) {
      if (base::equalsIgnoreCase(base::trimOws(*expect), "100-continue"sv)) {
        meta.expect_continue = !end_stream;
      } else {
        status = 417;
      }
    }
  }
  if (status == 0 && !end_stream) {
    meta.framing = BodyFraming::Chunked;  // a body of unknown length, unless it is stated
    if (const std::string* cl = head_.headers.get("content-length")) {
      uint64_t n = 0;
      auto r = std::from_chars(cl->data(), cl->data() + cl->size(), n);
      if (r.ec != std::errc() || r.ptr != cl->data() + cl->size()) {
        status = 400;
      } else if (n > limits_.max_body_bytes) {
        status = 413;
      } else {
        meta.framing = n == 0 ? BodyFraming::None : BodyFraming::Length;
        meta.content_length = n;
      }
    }
  }
  head = std::move(head_);  // head_ is filled again only after beginTrailers() resets it
  return status;
}

void Http2RequestBuilder::beginTrailers() {
  head_ = base::RequestHead{};
  count_ = 0;
  list_size_ = 0;
  line_bytes_ = 0;
}

int Http2RequestBuilder::finishTrailers(base::HeaderMap& trailers) {
  if (overBudget()) return 431;
  trailers = std::move(head_.headers);
  head_.headers.clear();
  return 0;
}

}  // namespace sluice::proxy
