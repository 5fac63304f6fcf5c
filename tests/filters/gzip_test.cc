#include "filters/gzip.h"

#include <brotli/decode.h>
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <random>
#include <string>
#include <vector>

#include "tests/filters/fake_callbacks.h"

namespace sluice::filters {
namespace {

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[65536];
  int r;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    r = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (r == Z_OK);
  EXPECT_EQ(r, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

std::string unbrotli(const std::string& in) {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  size_t avail_in = in.size();
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
  std::string out;
  BrotliDecoderResult r;
  do {
    uint8_t buf[65536];
    size_t avail_out = sizeof buf;
    uint8_t* next_out = buf;
    r = BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    out.append(reinterpret_cast<char*>(buf), sizeof buf - avail_out);
  } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
  EXPECT_EQ(r, BROTLI_DECODER_RESULT_SUCCESS);
  BrotliDecoderDestroyInstance(s);
  return out;
}

std::string unzstd(const std::string& in) {
  ZSTD_DCtx* d = ZSTD_createDCtx();
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  std::string out;
  size_t r = 1;
  while (input.pos < input.size) {
    char buf[65536];
    ZSTD_outBuffer output{buf, sizeof buf, 0};
    r = ZSTD_decompressStream(d, &output, &input);
    EXPECT_FALSE(ZSTD_isError(r));
    if (ZSTD_isError(r)) break;
    out.append(buf, output.pos);
  }
  EXPECT_EQ(r, 0u);  // a complete frame
  ZSTD_freeDCtx(d);
  return out;
}

std::string decode(Encoding e, const std::string& in) {
  switch (e) {
    case Encoding::Gzip:
      return gunzip(in);
    case Encoding::Brotli:
      return unbrotli(in);
    case Encoding::Zstd:
      return unzstd(in);
    default:
      return in;
  }
}

std::string sample(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(n);
  const char* words[] = {"cache ", "proxy ", "sluice ", "gzip ", "\n", "{\"k\":1}", "zstd "};
  while (s.size() < n) {
    if (rng() % 5 == 0) {
      s.push_back(static_cast<char>(rng() & 0xff));  // some incompressible bytes
    } else {
      s += words[rng() % 7];
    }
  }
  s.resize(n);
  return s;
}

class EncoderRoundTrip : public ::testing::TestWithParam<Encoding> {};

TEST_P(EncoderRoundTrip, OddChunksDecodeToTheInput) {
  for (size_t size : {0ul, 1ul, 100ul, 65537ul, 1000003ul}) {
    std::string in = sample(size, static_cast<uint32_t>(size));
    auto enc = makeEncoder(GetParam(), 5);
    ASSERT_TRUE(enc);
    std::string out;
    std::mt19937 rng(7);
    size_t off = 0;
    while (off < in.size()) {
      size_t n = std::min(in.size() - off, size_t{1} + rng() % 40000);
      ASSERT_TRUE(enc->encode(std::string_view(in).substr(off, n), false, out));
      off += n;
    }
    ASSERT_TRUE(enc->encode({}, true, out));
    EXPECT_EQ(decode(GetParam(), out), in) << "size " << size;
  }
}

TEST_P(EncoderRoundTrip, EachChunkIsFlushed) {
  // What was handed in so far decodes before the stream ends (a streamed response is not held).
  auto enc = makeEncoder(GetParam(), 5);
  std::string out;
  ASSERT_TRUE(enc->encode("hello, streaming world", false, out));
  EXPECT_FALSE(out.empty());
}

INSTANTIATE_TEST_SUITE_P(All, EncoderRoundTrip,
                         ::testing::Values(Encoding::Gzip, Encoding::Brotli, Encoding::Zstd));

TEST(ChooseEncoding, QValuesThenConfigOrder) {
  std::vector<Encoding> pref{Encoding::Zstd, Encoding::Brotli, Encoding::Gzip};
  auto pick = [&](const char* ae) {
    std::string v = ae;
    return chooseEncoding(&v, pref);
  };
  EXPECT_EQ(chooseEncoding(nullptr, pref), Encoding::Identity);
  EXPECT_EQ(pick("gzip, br, zstd"), Encoding::Zstd);
  EXPECT_EQ(pick("gzip, br"), Encoding::Brotli);
  EXPECT_EQ(pick("gzip;q=1, br;q=0.5"), Encoding::Gzip);
  EXPECT_EQ(pick("gzip;q=0, br;q=0"), Encoding::Identity);
  EXPECT_EQ(pick("*"), Encoding::Zstd);
  EXPECT_EQ(pick("*;q=0.5, zstd;q=0"), Encoding::Brotli);
  EXPECT_EQ(pick("GZIP ; Q=0.8, identity"), Encoding::Gzip);
  EXPECT_EQ(pick("deflate"), Encoding::Identity);
  EXPECT_EQ(pick("br;q=0.001"), Encoding::Brotli);
  EXPECT_EQ(pick("br;q=0.000"), Encoding::Identity);
  EXPECT_EQ(chooseEncoding(&*std::make_unique<std::string>("br"), {Encoding::Gzip}),
            Encoding::Identity);
}

TEST(MediaType, WildcardsAndParameters) {
  std::vector<std::string> types{"text/*", "application/json"};
  EXPECT_TRUE(mediaTypeMatches("text/html; charset=utf-8", types));
  EXPECT_TRUE(mediaTypeMatches("Application/JSON", types));
  EXPECT_FALSE(mediaTypeMatches("application/javascript", types));
  EXPECT_FALSE(mediaTypeMatches("image/png", types));
  EXPECT_FALSE(mediaTypeMatches("text", types));
}

struct Run {
  std::unique_ptr<Filter> filter;
  testing::FakeCallbacks cb;
};

base::ResponseHead textHead(size_t length) {
  base::ResponseHead h;
  h.headers.add("content-type", "text/plain");
  h.headers.add("content-length", std::to_string(length));
  h.headers.add("etag", "\"abc\"");
  return h;
}

TEST(GzipFilter, CompressesAndAdjustsTheHead) {
  config::GzipFilter cfg;
  cfg.encodings = {"br", "gzip"};
  GzipFactory f(cfg);
  auto filter = f.create();
  testing::FakeCallbacks cb;
  base::RequestHead req;
  req.method = "GET";
  req.headers.add("accept-encoding", "gzip");
  filter->onRequestHeaders(req, cb);
  std::string body = sample(5000, 1);
  base::ResponseHead h = textHead(body.size());
  filter->onResponseHeaders(h, cb);
  EXPECT_FALSE(h.headers.has("content-length"));
  EXPECT_EQ(*h.headers.get("content-encoding"), "gzip");
  EXPECT_EQ(*h.headers.get("etag"), "W/\"abc\"");
  EXPECT_EQ(*h.headers.get("vary"), "Accept-Encoding");
  std::string a = body.substr(0, 1234), b = body.substr(1234), tail;
  filter->onResponseBody(a, false, cb);
  filter->onResponseBody(b, false, cb);
  filter->onResponseBody(tail, true, cb);
  EXPECT_EQ(gunzip(a + b + tail), body);
}

TEST(GzipFilter, CountsBytesInAndOutByEncoding) {
  config::GzipFilter cfg;
  cfg.encodings = {"br", "gzip"};
  base::MetricsRegistry registry;
  GzipFactory f(cfg, compressionCounters(registry));
  auto filter = f.create();
  testing::FakeCallbacks cb;
  base::RequestHead req;
  req.method = "GET";
  req.headers.add("accept-encoding", "gzip");
  filter->onRequestHeaders(req, cb);
  std::string body = sample(9000, 2);
  base::ResponseHead h = textHead(body.size());
  filter->onResponseHeaders(h, cb);
  std::string a = body.substr(0, 100), b = body.substr(100), tail;  // a is gathered first
  filter->onResponseBody(a, false, cb);
  filter->onResponseBody(b, false, cb);
  filter->onResponseBody(tail, true, cb);
  const CompressionCounters& c = f.counters();
  size_t gz = static_cast<size_t>(Encoding::Gzip), br = static_cast<size_t>(Encoding::Brotli);
  EXPECT_EQ(c.in[gz]->value(), body.size());
  EXPECT_EQ(c.out[gz]->value(), a.size() + b.size() + tail.size());
  EXPECT_LT(c.out[gz]->value(), c.in[gz]->value());
  EXPECT_EQ(c.in[br]->value(), 0u);
  std::string text = registry.render();
  EXPECT_NE(text.find("sluice_compression_bytes_in_total{encoding=\"gzip\"} 9000"),
            std::string::npos)
      << text;
}

TEST(GzipFilter, SkipsWhatItMustNotTouch) {
  config::GzipFilter cfg;
  GzipFactory f(cfg);
  auto check = [&](const char* method, const char* ae, base::ResponseHead h, bool vary) {
    auto filter = f.create();
    testing::FakeCallbacks cb;
    base::RequestHead req;
    req.method = method;
    if (ae) req.headers.add("accept-encoding", ae);
    filter->onRequestHeaders(req, cb);
    filter->onResponseHeaders(h, cb);
    EXPECT_FALSE(h.headers.has("content-encoding") && *h.headers.get("content-encoding") == "gzip")
        << method;
    EXPECT_TRUE(h.headers.has("content-length"));
    EXPECT_EQ(h.headers.has("vary"), vary);
  };
  check("GET", "gzip;q=0", textHead(5000), true);
  check("GET", nullptr, textHead(5000), true);
  check("GET", "gzip", textHead(10), false);  // below min_bytes
  base::ResponseHead h = textHead(5000);
  h.status = 206;
  check("GET", "gzip", h, false);
  h = textHead(5000);
  h.headers.add("cache-control", "public, no-transform");
  check("GET", "gzip", h, false);
  h = textHead(5000);
  h.headers.add("content-encoding", "br");
  check("GET", "gzip", h, false);
  h = textHead(5000);
  h.headers.set("content-type", "image/png");
  check("GET", "gzip", h, false);
}

// One request through a gzip filter: `req` fields, then the response head `h`.
base::ResponseHead runHead(const config::GzipFilter& cfg, const char* method,
                           std::vector<std::pair<const char*, const char*>> req,
                           base::ResponseHead h, std::string* body_out = nullptr) {
  GzipFactory f(cfg);
  auto filter = f.create();
  testing::FakeCallbacks cb;
  base::RequestHead r;
  r.method = method;
  for (auto& [k, v] : req) r.headers.add(k, v);
  filter->onRequestHeaders(r, cb);
  filter->onResponseHeaders(h, cb);
  if (body_out != nullptr) {
    std::string tail;
    filter->onResponseBody(tail, true, cb);  // what a bodiless (HEAD) response's end gives
    *body_out = tail;
  }
  return h;
}

TEST(GzipFilter, HeadGetsTheHeadAGetWould) {
  config::GzipFilter cfg;
  std::string body = "unset";
  base::ResponseHead h = runHead(cfg, "HEAD", {{"accept-encoding", "gzip"}}, textHead(5000), &body);
  EXPECT_EQ(*h.headers.get("content-encoding"), "gzip");
  EXPECT_FALSE(h.headers.has("content-length"));
  EXPECT_EQ(*h.headers.get("vary"), "Accept-Encoding");
  EXPECT_EQ(*h.headers.get("etag"), "W/\"abc\"");
  EXPECT_EQ(body, "");  // no gzip stream for a body that is not sent
  // What a GET would not compress, a HEAD does not claim either.
  h = runHead(cfg, "HEAD", {{"accept-encoding", "gzip"}}, textHead(10));
  EXPECT_FALSE(h.headers.has("content-encoding"));
  EXPECT_EQ(*h.headers.get("content-length"), "10");
}

TEST(GzipFilter, NotModifiedMatchesTheVariantTheClientHolds) {
  config::GzipFilter cfg;
  auto notModified = [] {
    base::ResponseHead h;
    h.status = 304;
    h.headers.add("etag", "\"abc\"");
    return h;
  };
  // The client holds the compressed variant (its weakened ETag): the 304 says so.
  base::ResponseHead h = runHead(
      cfg, "GET", {{"accept-encoding", "gzip"}, {"if-none-match", "W/\"abc\""}}, notModified());
  EXPECT_EQ(*h.headers.get("etag"), "W/\"abc\"");
  EXPECT_EQ(*h.headers.get("vary"), "Accept-Encoding");
  h = runHead(cfg, "GET", {{"if-none-match", "\"x\", W/\"abc\""}}, notModified());
  EXPECT_EQ(*h.headers.get("etag"), "W/\"abc\"");
  // It holds the identity one: the strong ETag stays.
  h = runHead(cfg, "GET", {{"if-none-match", "\"abc\""}}, notModified());
  EXPECT_EQ(*h.headers.get("etag"), "\"abc\"");
  EXPECT_EQ(*h.headers.get("vary"), "Accept-Encoding");
  EXPECT_FALSE(h.headers.has("content-encoding"));
  // What the 200 would not have been compressed for: untouched.
  base::ResponseHead img = notModified();
  img.headers.add("content-type", "image/png");
  h = runHead(cfg, "GET", {{"if-none-match", "W/\"abc\""}}, img);
  EXPECT_FALSE(h.headers.has("vary"));
  EXPECT_EQ(*h.headers.get("etag"), "\"abc\"");
  base::ResponseHead nt = notModified();
  nt.headers.add("cache-control", "no-transform");
  EXPECT_FALSE(runHead(cfg, "GET", {}, nt).headers.has("vary"));
}

TEST(GzipFilter, AcceptEncodingLinesCombine) {
  config::GzipFilter cfg;  // encodings: [gzip]
  base::ResponseHead h =
      runHead(cfg, "GET", {{"accept-encoding", "br"}, {"accept-encoding", "gzip"}}, textHead(5000));
  EXPECT_EQ(*h.headers.get("content-encoding"), "gzip");
  h = runHead(cfg, "GET", {{"accept-encoding", "gzip"}, {"accept-encoding", "gzip;q=0"}},
              textHead(5000));
  EXPECT_FALSE(h.headers.has("content-encoding"));  // the later q=0 counts, as in one line
}

TEST(GzipFilter, AcceptRangesGoesWhenCompressed) {
  config::GzipFilter cfg;
  base::ResponseHead in = textHead(5000);
  in.headers.add("accept-ranges", "bytes");
  EXPECT_FALSE(runHead(cfg, "GET", {{"accept-encoding", "gzip"}}, in).headers.has("accept-ranges"));
  EXPECT_TRUE(runHead(cfg, "GET", {}, in).headers.has("accept-ranges"));
}

}  // namespace
}  // namespace sluice::filters
