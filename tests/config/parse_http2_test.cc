// Tests for the HTTP/2 keys (gateway.md): a listener's `http2` settings and `tls.alpn: [h2]`,
// an upstream's `protocol` and `max_streams_per_connection`, with their errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/loader.h"

namespace sluice::config {
namespace {

const LoadOptions kNoFileChecks{false, nullptr};

LoadResult load(const std::string& listener, const std::string& upstream_extra) {
  return loadString("listeners: [" + listener +
                        "]\n"
                        "upstreams: [{name: api, targets: [{address: 127.0.0.1:9001}]" +
                        upstream_extra +
                        "}]\n"
                        "routes: [{name: all, upstream: api}]\n",
                    "s.yaml", kNoFileChecks);
}

std::string firstError(const LoadResult& r) {
  return r.errors.empty() ? "" : r.errors[0].text();
}

TEST(Http2Config, Defaults) {
  auto r = load("{name: l, address: 127.0.0.1:8080}", "");
  ASSERT_TRUE(r.config) << firstError(r);
  const Http2Settings& h = r.config->listeners[0].http2;
  EXPECT_EQ(h.max_concurrent_streams, 128u);
  EXPECT_EQ(h.initial_stream_window, 65536u);
  EXPECT_EQ(h.initial_connection_window, 1048576u);
  EXPECT_EQ(h.max_frame_size, 16384u);
  EXPECT_EQ(h.max_header_list_size, 32768u);
  EXPECT_FALSE(h.h2c);
  EXPECT_EQ(r.config->upstreams[0].protocol, UpstreamProtocol::Http1);
  EXPECT_EQ(r.config->upstreams[0].max_streams_per_connection, 100u);
}

TEST(Http2Config, EverySetting) {
  auto r = load(
      "{name: l, address: 127.0.0.1:8080, http2: {max_concurrent_streams: 10, "
      "initial_stream_window: 1MiB, initial_connection_window: 4MiB, max_frame_size: 32KiB, "
      "max_header_list_size: 8KiB, h2c: true}}",
      ", protocol: h2c, max_streams_per_connection: 7");
  ASSERT_TRUE(r.config) << firstError(r);
  const Http2Settings& h = r.config->listeners[0].http2;
  EXPECT_EQ(h.max_concurrent_streams, 10u);
  EXPECT_EQ(h.initial_stream_window, 1048576u);
  EXPECT_EQ(h.initial_connection_window, 4194304u);
  EXPECT_EQ(h.max_frame_size, 32768u);
  EXPECT_EQ(h.max_header_list_size, 8192u);
  EXPECT_TRUE(h.h2c);
  EXPECT_EQ(r.config->upstreams[0].protocol, UpstreamProtocol::H2c);
  EXPECT_EQ(r.config->upstreams[0].max_streams_per_connection, 7u);
}

TEST(Http2Config, Errors) {
  EXPECT_THAT(
      firstError(load("{name: l, address: 127.0.0.1:8080, http2: {max_frame_size: 1KiB}}", "")),
      testing::HasSubstr("max_frame_size"));
  EXPECT_THAT(
      firstError(load("{name: l, address: 127.0.0.1:8080, http2: {max_frame_size: 16MiB}}", "")),
      testing::HasSubstr("16777215"));
  EXPECT_THAT(firstError(load("{name: l, address: 127.0.0.1:8080, http2: {h2: true}}", "")),
              testing::HasSubstr("unknown key \"h2\" in http2"));
  EXPECT_THAT(firstError(load("{name: l, address: 127.0.0.1:8080}", ", protocol: h3")),
              testing::HasSubstr("not one of http1, h2, h2c"));
  EXPECT_THAT(firstError(load("{name: l, address: 127.0.0.1:8080}", ", protocol: h2")),
              testing::HasSubstr("add a tls: section"));
  EXPECT_THAT(firstError(load("{name: l, address: 127.0.0.1:8080}",
                              ", protocol: h2c, tls: {verify: false}")),
              testing::HasSubstr("with a tls: section write h2"));
  EXPECT_THAT(
      firstError(load("{name: l, address: 127.0.0.1:8080}", ", max_streams_per_connection: 0")),
      testing::HasSubstr("max_streams_per_connection"));
}

}  // namespace
}  // namespace sluice::config
