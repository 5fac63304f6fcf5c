#include "proxy/http1/http_serialize.h"

#include <gtest/gtest.h>
#include <llhttp.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace sluice::proxy {
namespace {

using base::HeaderMap;

std::vector<std::string> names(const HeaderMap& headers) {
  std::vector<std::string> out;
  for (const base::Header& h : headers) out.push_back(h.name);
  return out;
}

std::string chunkHeader(size_t size) {
  char buf[20];
  size_t n = formatChunkHeader(size, buf);
  return std::string(buf, n);
}

// ---- removeHopByHop ------------------------------------------------------------------------

TEST(RemoveHopByHop, RemovesTheFixedHopByHopFields) {
  HeaderMap h;
  h.add("host", "example.com");
  h.add("connection", "keep-alive");
  h.add("keep-alive", "timeout=5");
  h.add("proxy-connection", "keep-alive");
  h.add("te", "trailers");
  h.add("trailer", "x-checksum");
  h.add("transfer-encoding", "chunked");
  h.add("content-length", "12");
  h.add("upgrade", "websocket");
  h.add("accept", "*/*");
  h.add("x-custom", "1");
  removeHopByHop(h, /*keep_upgrade=*/false);
  EXPECT_EQ(names(h), (std::vector<std::string>{"host", "accept", "x-custom"}));
  EXPECT_EQ(*h.get("host"), "example.com");
}

TEST(RemoveHopByHop, RemovesFieldsNamedByConnection) {
  HeaderMap h;
  h.add("connection", "close, X-Foo ,\tx-bar");
  h.add("x-foo", "1");
  h.add("x-bar", "2");
  h.add("x-foo", "3");
  h.add("x-baz", "4");
  removeHopByHop(h, false);
  EXPECT_EQ(names(h), (std::vector<std::string>{"x-baz"}));
}

TEST(RemoveHopByHop, EveryConnectionFieldCounts) {
  HeaderMap h;
  h.add("connection", "x-one");
  h.add("x-one", "1");
  h.add("x-two", "2");
  h.add("connection", "x-two,,");
  h.add("x-three", "3");
  removeHopByHop(h, false);
  EXPECT_EQ(names(h), (std::vector<std::string>{"x-three"}));
}

TEST(RemoveHopByHop, AlsoRemovesTheFieldsTheCallerNames) {
  HeaderMap h;
  h.add("x-request-id", "client-chosen");
  h.add("connection", "close");
  h.add("accept", "*/*");
  h.add("x-request-id", "again");
  removeHopByHop(h, false, {"x-request-id", "x-forwarded-proto"});
  EXPECT_EQ(names(h), (std::vector<std::string>{"accept"}));
}

TEST(RemoveHopByHop, NeverRemovesHost) {
  HeaderMap h;
  h.add("host", "example.com");
  h.add("connection", "Host, x-a");
  h.add("x-a", "a");
  removeHopByHop(h, false);
  EXPECT_EQ(names(h), (std::vector<std::string>{"host"}));
}

TEST(RemoveHopByHop, KeepUpgradeKeepsUpgradeEvenWhenNamedByConnection) {
  HeaderMap h;
  h.add("connection", "Upgrade");
  h.add("upgrade", "websocket");
  h.add("sec-websocket-key", "k");
  removeHopByHop(h, /*keep_upgrade=*/true);
  EXPECT_EQ(names(h), (std::vector<std::string>{"upgrade", "sec-websocket-key"}));

  HeaderMap dropped;
  dropped.add("connection", "Upgrade");
  dropped.add("upgrade", "websocket");
  dropped.add("sec-websocket-key", "k");
  removeHopByHop(dropped, /*keep_upgrade=*/false);
  EXPECT_EQ(names(dropped), (std::vector<std::string>{"sec-websocket-key"}));
}

TEST(RemoveHopByHop, NothingToRemoveLeavesOrderIntact) {
  HeaderMap h;
  h.add("b", "1");
  h.add("a", "2");
  h.add("b", "3");
  removeHopByHop(h, false);
  EXPECT_EQ(names(h), (std::vector<std::string>{"b", "a", "b"}));
}

// ---- appendRequestHead ---------------------------------------------------------------------

base::RequestHead sampleRequest() {
  base::RequestHead head;
  head.method = "POST";
  head.target = "/v1/items?x=1";
  head.host = "api.example.com";
  head.headers.add("host", "ignored.example.com");
  head.headers.add("accept", "*/*");
  head.headers.add("x-dup", "1");
  head.headers.add("x-dup", "2");
  return head;
}

TEST(AppendRequestHead, NoneFraming) {
  std::string out = "prefix|";
  appendRequestHead(sampleRequest(), BodyFraming::None, 99, out);
  EXPECT_EQ(out,
            "prefix|"
            "POST /v1/items?x=1 HTTP/1.1\r\n"
            "host: api.example.com\r\n"
            "accept: */*\r\n"
            "x-dup: 1\r\n"
            "x-dup: 2\r\n"
            "\r\n");
}

TEST(AppendRequestHead, LengthFraming) {
  std::string out;
  appendRequestHead(sampleRequest(), BodyFraming::Length, 12345678901ULL, out);
  EXPECT_EQ(out,
            "POST /v1/items?x=1 HTTP/1.1\r\n"
            "host: api.example.com\r\n"
            "accept: */*\r\n"
            "x-dup: 1\r\n"
            "x-dup: 2\r\n"
            "content-length: 12345678901\r\n"
            "\r\n");
}

TEST(AppendRequestHead, LengthFramingZero) {
  base::RequestHead head;
  head.method = "PUT";
  head.target = "/";
  head.host = "h";
  std::string out;
  appendRequestHead(head, BodyFraming::Length, 0, out);
  EXPECT_EQ(out, "PUT / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n");
}

TEST(AppendRequestHead, ChunkedFraming) {
  std::string out;
  appendRequestHead(sampleRequest(), BodyFraming::Chunked, 5, out);
  EXPECT_EQ(out,
            "POST /v1/items?x=1 HTTP/1.1\r\n"
            "host: api.example.com\r\n"
            "accept: */*\r\n"
            "x-dup: 1\r\n"
            "x-dup: 2\r\n"
            "transfer-encoding: chunked\r\n"
            "\r\n");
}

TEST(AppendRequestHead, CloseFramingWritesNoFramingField) {
  std::string out;
  appendRequestHead(sampleRequest(), BodyFraming::Close, 5, out);
  EXPECT_EQ(out,
            "POST /v1/items?x=1 HTTP/1.1\r\n"
            "host: api.example.com\r\n"
            "accept: */*\r\n"
            "x-dup: 1\r\n"
            "x-dup: 2\r\n"
            "\r\n");
}

TEST(AppendRequestHead, AlwaysHttp11EvenForHttp10Client) {
  base::RequestHead head;
  head.method = "GET";
  head.target = "/";
  head.host = "h";
  head.version_minor = 0;
  std::string out;
  appendRequestHead(head, BodyFraming::None, 0, out);
  EXPECT_EQ(out, "GET / HTTP/1.1\r\nhost: h\r\n\r\n");
}

// ---- appendResponseHead --------------------------------------------------------------------

base::ResponseHead sampleResponse() {
  base::ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", "text/plain");
  head.headers.add("set-cookie", "a=1");
  head.headers.add("set-cookie", "b=2");
  return head;
}

TEST(AppendResponseHead, NoneFramingNoConnection) {
  base::ResponseHead head = sampleResponse();
  head.status = 204;
  std::string out;
  appendResponseHead(head, BodyFraming::None, 0, nullptr, out);
  EXPECT_EQ(out,
            "HTTP/1.1 204 No Content\r\n"
            "content-type: text/plain\r\n"
            "set-cookie: a=1\r\n"
            "set-cookie: b=2\r\n"
            "\r\n");
}

TEST(AppendResponseHead, LengthFramingKeepAlive) {
  std::string out = "x";
  appendResponseHead(sampleResponse(), BodyFraming::Length, 42, "keep-alive", out);
  EXPECT_EQ(out,
            "x"
            "HTTP/1.1 200 OK\r\n"
            "content-type: text/plain\r\n"
            "set-cookie: a=1\r\n"
            "set-cookie: b=2\r\n"
            "content-length: 42\r\n"
            "connection: keep-alive\r\n"
            "\r\n");
}

TEST(AppendResponseHead, ChunkedFraming) {
  std::string out;
  appendResponseHead(sampleResponse(), BodyFraming::Chunked, 0, nullptr, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\n"
            "content-type: text/plain\r\n"
            "set-cookie: a=1\r\n"
            "set-cookie: b=2\r\n"
            "transfer-encoding: chunked\r\n"
            "\r\n");
}

TEST(AppendResponseHead, CloseFramingWithConnectionClose) {
  std::string out;
  appendResponseHead(sampleResponse(), BodyFraming::Close, 1000, "close", out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\n"
            "content-type: text/plain\r\n"
            "set-cookie: a=1\r\n"
            "set-cookie: b=2\r\n"
            "connection: close\r\n"
            "\r\n");
}

TEST(AppendResponseHead, ReasonKeptWhenGivenAndDefaultedOtherwise) {
  base::ResponseHead custom;
  custom.status = 418;
  custom.reason = "I'm a teapot";
  std::string out;
  appendResponseHead(custom, BodyFraming::Length, 0, nullptr, out);
  EXPECT_EQ(out, "HTTP/1.1 418 I'm a teapot\r\ncontent-length: 0\r\n\r\n");

  base::ResponseHead bad_gateway;
  bad_gateway.status = 502;
  out.clear();
  appendResponseHead(bad_gateway, BodyFraming::Length, 0, "close", out);
  EXPECT_EQ(out, "HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");

  base::ResponseHead upgrade;
  upgrade.status = 101;
  upgrade.headers.add("upgrade", "websocket");
  out.clear();
  appendResponseHead(upgrade, BodyFraming::None, 0, "upgrade", out);
  EXPECT_EQ(
      out, "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n");
}

// ---- formatChunkHeader ---------------------------------------------------------------------

TEST(FormatChunkHeader, LowerCaseHexSizes) {
  EXPECT_EQ(chunkHeader(0), "0\r\n");
  EXPECT_EQ(chunkHeader(1), "1\r\n");
  EXPECT_EQ(chunkHeader(15), "f\r\n");
  EXPECT_EQ(chunkHeader(16), "10\r\n");
  EXPECT_EQ(chunkHeader(255), "ff\r\n");
  EXPECT_EQ(chunkHeader(4096), "1000\r\n");
  EXPECT_EQ(chunkHeader(0xabcdef), "abcdef\r\n");
  EXPECT_EQ(chunkHeader(size_t{1} << 40), "10000000000\r\n");
}

TEST(FormatChunkHeader, LargestSizeFitsTheBuffer) {
  char buf[20];
  size_t n = formatChunkHeader(std::numeric_limits<size_t>::max(), buf);
  ASSERT_LE(n, sizeof buf);
  EXPECT_EQ(std::string(buf, n), std::string(sizeof(size_t) * 2, 'f') + "\r\n");
}

TEST(LastChunk, IsZeroChunkAndEmptyTrailer) {
  EXPECT_EQ(std::string(kLastChunk), "0\r\n\r\n");
}

// ---- chunked round trip through llhttp -----------------------------------------------------

struct Decoded {
  std::string body;
  bool complete = false;
};

int onBody(llhttp_t* parser, const char* at, size_t length) {
  static_cast<Decoded*>(parser->data)->body.append(at, length);
  return 0;
}

int onMessageComplete(llhttp_t* parser) {
  static_cast<Decoded*>(parser->data)->complete = true;
  return 0;
}

// Feeds `wire` to a strict llhttp response parser in pieces of `step` bytes.
Decoded decodeResponse(const std::string& wire, size_t step) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_body = onBody;
  settings.on_message_complete = onMessageComplete;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_RESPONSE, &settings);
  Decoded out;
  parser.data = &out;
  for (size_t pos = 0; pos < wire.size(); pos += step) {
    size_t n = std::min(step, wire.size() - pos);
    llhttp_errno_t err = llhttp_execute(&parser, wire.data() + pos, n);
    EXPECT_EQ(err, HPE_OK) << llhttp_errno_name(err) << ": " << llhttp_get_error_reason(&parser);
    if (err != HPE_OK) break;
  }
  return out;
}

std::string encodeChunked(const std::string& body, const std::vector<size_t>& sizes) {
  std::string wire = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
  size_t pos = 0;
  size_t i = 0;
  while (pos < body.size()) {
    size_t n = std::min(sizes[i++ % sizes.size()], body.size() - pos);
    char buf[20];
    wire.append(buf, formatChunkHeader(n, buf));
    wire.append(body, pos, n);
    wire.append("\r\n");
    pos += n;
  }
  wire.append(kLastChunk);
  return wire;
}

std::string testBody(size_t size) {
  std::string body;
  body.reserve(size);
  uint32_t x = 12345;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    body.push_back(static_cast<char>(x >> 24));  // every byte value, CR and LF included
  }
  return body;
}

TEST(ChunkedRoundTrip, OddChunkSizesDecodeToTheSameBody) {
  const std::string body = testBody(100000);
  const std::string wire = encodeChunked(body, {1, 15, 16, 17, 255, 4096, 7, 65537, 3});
  for (size_t step : {size_t{1}, size_t{7}, size_t{4096}, wire.size()}) {
    Decoded d = decodeResponse(wire, step);
    EXPECT_TRUE(d.complete) << "step " << step;
    EXPECT_EQ(d.body.size(), body.size()) << "step " << step;
    EXPECT_TRUE(d.body == body) << "step " << step;
  }
}

TEST(ChunkedRoundTrip, OneChunkAndEmptyBody) {
  Decoded one = decodeResponse(encodeChunked("hello world", {1000}), 1 << 20);
  EXPECT_TRUE(one.complete);
  EXPECT_EQ(one.body, "hello world");

  Decoded empty = decodeResponse(encodeChunked("", {1}), 1 << 20);
  EXPECT_TRUE(empty.complete);
  EXPECT_EQ(empty.body, "");
}

TEST(ChunkedRoundTrip, SerializedHeadParsesToo) {
  base::ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", "application/octet-stream");
  std::string wire;
  appendResponseHead(head, BodyFraming::Chunked, 0, "keep-alive", wire);
  const std::string body = testBody(5000);
  size_t pos = 0;
  for (size_t n : {size_t{1}, size_t{999}, size_t{4000}}) {
    char buf[20];
    wire.append(buf, formatChunkHeader(n, buf));
    wire.append(body, pos, n);
    wire.append("\r\n");
    pos += n;
  }
  wire.append(kLastChunk);
  Decoded d = decodeResponse(wire, 13);
  EXPECT_TRUE(d.complete);
  EXPECT_TRUE(d.body == body);
}

TEST(AppendResponseHead, FieldsOfEveryShortLengthAreCopiedExactly) {
  base::ResponseHead head;
  head.status = 200;
  std::string want = "HTTP/1.1 200 OK\r\n";
  for (size_t n = 1; n <= 40; ++n) {
    std::string name(n, static_cast<char>('a' + n % 26));
    std::string value;
    for (size_t k = 0; k < n; ++k) value.push_back(static_cast<char>('A' + (n + k) % 26));
    head.headers.add(name, value);
    want += name + ": " + value + "\r\n";
  }
  head.headers.add("x-empty", "");
  want += "x-empty: \r\n\r\n";
  std::string out;
  appendResponseHead(head, BodyFraming::None, 0, nullptr, out);
  EXPECT_EQ(out, want);
}

// ---- appendProxiedResponseHead ---------------------------------------------------------------

// Up to 8 fields drawn from `names`; a connection field takes its value from `connection_values`.
template <size_t N, size_t C, size_t V, class Pick>
void addRandomFields(base::HeaderMap& headers, const char* (&names)[N],
                     const char* (&connection_values)[C], const char* (&values)[V], Pick& pick) {
  size_t fields = pick(9);
  for (size_t k = 0; k < fields; ++k) {
    std::string name = names[pick(N)];
    std::string value = name == "connection" ? connection_values[pick(C)] : values[pick(V)];
    headers.add(name, value);
  }
}

// The long way the one-pass writer must equal: edit a copy of the head, then serialise it.
std::string proxiedTheLongWay(base::ResponseHead head, const ProxiedFields& add,
                              BodyFraming framing, uint64_t length, const char* connection) {
  applyProxiedResponseEdits(head.headers, add);
  std::string out;
  appendResponseHead(head, framing, length, connection, out);
  return out;
}

TEST(AppendProxiedResponseHead, EqualsEditingThenSerialisingOnRandomHeads) {
  const char* names[] = {"server",
                         "date",
                         "content-type",
                         "content-length",
                         "connection",
                         "keep-alive",
                         "via",
                         "x-request-id",
                         "etag",
                         "x-foo",
                         "x-bar",
                         "upgrade",
                         "te",
                         "trailer",
                         "transfer-encoding",
                         "proxy-connection",
                         "set-cookie"};
  const char* connection_values[] = {"keep-alive", "close",    "X-Foo",   "x-foo, X-Bar",
                                     "Date",       "via",      "upgrade", "Host, x-bar",
                                     "",           " ,x-foo ,"};
  const char* values[] = {"", "v", "1.0 upstream", "  ", "some longer value of 30 chars.."};
  const char* conns[] = {nullptr, "close", "keep-alive"};
  const BodyFraming framings[] = {BodyFraming::None, BodyFraming::Length, BodyFraming::Chunked,
                                  BodyFraming::Close};
  std::mt19937 rng(7);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int round = 0; round < 3000; ++round) {
    base::ResponseHead head;
    head.status = round % 7 == 0 ? 304 : 200;
    if (round % 11 == 0) head.reason = "Fine";
    addRandomFields(head.headers, names, connection_values, values, pick);
    ProxiedFields add{"1.1 sluice", "req-123", "Thu, 26 Nov 2026 08:00:00 GMT",
                      round % 5 == 0 ? "42" : ""};
    BodyFraming framing = framings[pick(std::size(framings))];
    const char* connection = conns[pick(std::size(conns))];
    std::string fast;
    appendProxiedResponseHead(head, add, framing, 1234, connection, fast);
    ASSERT_EQ(fast, proxiedTheLongWay(head, add, framing, 1234, connection)) << "round " << round;
  }
}

std::string requestTheLongWay(base::RequestHead head, const ProxiedRequestFields& add,
                              BodyFraming framing, uint64_t length) {
  applyProxiedRequestEdits(head.headers, add);
  std::string out;
  appendRequestHead(head, framing, length, out);
  return out;
}

TEST(AppendProxiedRequestHead, EqualsEditingThenSerialisingOnRandomHeads) {
  const char* names[] = {"host",
                         "user-agent",
                         "accept",
                         "content-length",
                         "connection",
                         "keep-alive",
                         "via",
                         "x-request-id",
                         "x-forwarded-for",
                         "x-forwarded-proto",
                         "x-forwarded-host",
                         "x-client-cert-subject",
                         "upgrade",
                         "te",
                         "transfer-encoding",
                         "x-foo",
                         "cookie"};
  const char* connection_values[] = {
      "keep-alive", "close", "X-Foo", "upgrade", "Via", "x-forwarded-for, cookie", "", "Host"};
  const char* values[] = {"", "v", "10.0.0.9", "  ", "1.0 front, 1.1 edge"};
  const BodyFraming framings[] = {BodyFraming::None, BodyFraming::Length, BodyFraming::Chunked};
  std::mt19937 rng(11);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  for (int round = 0; round < 3000; ++round) {
    base::RequestHead head;
    head.method = round % 4 == 0 ? "POST" : "GET";
    head.target = "/p?q=" + std::to_string(round);
    head.host = "example.test";
    addRandomFields(head.headers, names, connection_values, values, pick);
    ProxiedRequestFields add;
    add.forwarded_for = "192.0.2.7";
    add.forwarded_proto = round % 2 ? "https" : "http";
    add.forwarded_host = "Example.Test:8080";
    add.via = "1.1 sluice";
    add.request_id = "rid-42";
    add.client_subject_name = "x-client-cert-subject";
    add.client_subject = round % 3 == 0 ? "CN=client" : "";
    add.upgrade = round % 5 == 0;
    BodyFraming framing = framings[pick(std::size(framings))];
    std::string fast;
    appendProxiedRequestHead(head, add, framing, 77, fast);
    ASSERT_EQ(fast, requestTheLongWay(head, add, framing, 77)) << "round " << round;
  }
}

}  // namespace
}  // namespace sluice::proxy
