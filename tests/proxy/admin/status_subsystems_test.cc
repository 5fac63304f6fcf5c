#include "proxy/admin/status_subsystems.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "filters/cache_store.h"
#include "filters/gzip.h"
#include "proxy/admin/metrics.h"

namespace sluice::proxy {
namespace {

const char* kExposition =
    "# TYPE sluice_cache_requests_total counter\n"
    "sluice_cache_requests_total{route=\"a\",result=\"hit\"} 6\n"
    "sluice_cache_requests_total{route=\"b\",result=\"hit\"} 2\n"
    "sluice_cache_requests_total{route=\"a\",result=\"stale\"} 1\n"
    "sluice_cache_requests_total{route=\"a\",result=\"miss\"} 3\n"
    "sluice_cache_requests_total{route=\"a\",result=\"bypass\"} 5\n"
    "sluice_cache_bytes 4096\n"
    "sluice_cache_entries 7\n"
    "sluice_cache_evictions_total 2\n"
    "sluice_compression_bytes_in_total{encoding=\"gzip\"} 10000\n"
    "sluice_compression_bytes_out_total{encoding=\"gzip\"} 1500\n"
    "sluice_compression_bytes_in_total{encoding=\"br\"} 0\n"
    "sluice_compression_bytes_out_total{encoding=\"br\"} 0\n"
    "sluice_http2_connections_active 1\n"
    "sluice_http2_connections_total 4\n"
    "sluice_http2_streams_active 2\n"
    "sluice_http2_streams_total 30\n"
    "sluice_http2_protocol_errors_total{reason=\"rapid_reset\"} 1\n"
    "sluice_http2_protocol_errors_total{reason=\"ping_flood\"} 0\n"
    "sluice_tls_handshakes_total{listener=\"web\",version=\"TLSv1.3\"} 8\n"
    "sluice_tls_handshakes_total{listener=\"web\",version=\"TLSv1.2\"} 2\n"
    "sluice_tls_resumptions_total{listener=\"web\"} 4\n"
    "sluice_tls_handshake_failures_total{listener=\"web\",reason=\"protocol\"} 3\n";

TEST(StatusSubsystems, SumsTheSeries) {
  SubsystemTotals t = subsystemTotals(parseExposition(kExposition));
  EXPECT_EQ(t.cache.hits, 8);
  EXPECT_EQ(t.cache.stale, 1);
  EXPECT_EQ(t.cache.misses, 3);
  EXPECT_EQ(t.cache.bypass, 5);
  EXPECT_DOUBLE_EQ(t.cache.hitRatio(), 9.0 / 12);
  ASSERT_EQ(t.compression.size(), 2u);
  EXPECT_EQ(t.compression[1].first, "gzip");
  EXPECT_EQ(t.compression[1].second.in, 10000);
  EXPECT_EQ(t.http2.streams_total, 30);
  EXPECT_EQ(t.http2.protocol_errors, 1);
  ASSERT_EQ(t.tls.size(), 1u);
  EXPECT_EQ(t.tls[0].second.handshakes, 10);
  EXPECT_EQ(t.tls[0].second.failures, 3);
}

TEST(StatusSubsystems, RendersHtmlAndJson) {
  SubsystemTotals t = subsystemTotals(parseExposition(kExposition));
  std::string h = renderSubsystemsHtml(t);
  for (const char* id : {"cache", "compression", "http2", "tls"}) {
    EXPECT_NE(h.find(std::string("<table id=\"") + id + "\">"), std::string::npos) << id;
  }
  EXPECT_NE(h.find("<tr data-key=\"hit_ratio\"><td>hit ratio (fresh and stale hits / lookups)"
                   "</td><td data-value=\"0.7500\">75.0%</td></tr>"),
            std::string::npos)
      << h;
  EXPECT_NE(h.find("<td data-value=\"8500\">8.3 KiB</td>"), std::string::npos) << h;  // saved
  EXPECT_NE(h.find("<tr data-listener=\"web\"><td>web</td><td>10</td><td>4</td><td>40.0%</td>"),
            std::string::npos)
      << h;

  nlohmann::json j = nlohmann::json::object();
  appendSubsystemsJson(j, t);
  EXPECT_EQ(j["cache"]["hits"], 8);
  EXPECT_EQ(j["cache"]["hit_ratio"], 0.75);
  EXPECT_EQ(j["cache"]["entries"], 7);
  EXPECT_EQ(j["compression"]["bytes_saved"], 8500);
  EXPECT_EQ(j["compression"]["encodings"]["gzip"]["bytes_out"], 1500);
  EXPECT_EQ(j["http2"]["connections_open"], 1);
  EXPECT_EQ(j["tls"]["resumptions"], 4);
  EXPECT_EQ(j["tls"]["listeners"]["web"]["failures"], 3);
}

TEST(StatusSubsystems, NothingYet) {
  SubsystemTotals t = subsystemTotals({});
  EXPECT_LT(t.cache.hitRatio(), 0);
  nlohmann::json j = nlohmann::json::object();
  appendSubsystemsJson(j, t);
  EXPECT_TRUE(j["cache"]["hit_ratio"].is_null());
  std::string h = renderSubsystemsHtml(t);
  EXPECT_NE(h.find("no gzip filter configured"), std::string::npos);
  EXPECT_NE(h.find("no TLS handshakes yet"), std::string::npos);
}

// The sections read the series the subsystems publish, under the names they publish them: the
// process's Metrics, a CacheStore given the gauges the cache filter declares, the gzip filter's
// counters. A renamed metric fails here instead of showing 0 on the page.
TEST(StatusSubsystems, ReadsWhatTheSubsystemsPublish) {
  Metrics m;
  base::MetricsRegistry& r = m.registry;
  // As filters/cache.cc declares them for a cache filter.
  auto store = std::make_unique<filters::CacheStore>(
      16 * 4096, &r.gauge("sluice_cache_bytes", "Bytes held in the response cache.").with({}),
      &r.gauge("sluice_cache_entries", "Responses held in the response cache.").with({}),
      &r.counter("sluice_cache_evictions_total", "Cached responses dropped.").with({}));
  int stored = 0;
  for (int i = 0; i < 400; ++i) {
    auto e = std::make_shared<filters::CachedResponse>();
    e->body = std::make_shared<const std::string>(1500, 'x');
    if (store->insert("k" + std::to_string(i), e)) ++stored;
  }
  m.cache_requests_total.with({"a", "hit"}).inc(3);
  m.cache_requests_total.with({"a", "miss"}).inc(1);
  filters::CompressionCounters comp = filters::compressionCounters(r);
  comp.in[static_cast<size_t>(filters::Encoding::Gzip)]->inc(1000);
  comp.out[static_cast<size_t>(filters::Encoding::Gzip)]->inc(300);
  m.http2.connections_active->add(1);
  m.http2.connections_total->inc();
  m.http2.streams_total->inc(5);
  m.tls_handshakes_total.with({"web", "TLSv1.3"}).inc(4);
  m.tls_resumptions_total.with({"web"}).inc(2);

  StatusEvents events{[] { return 1'800'000'000.0; }};
  nlohmann::json j = nlohmann::json::object();
  appendStatusExtrasJson(j, events, r, 1'800'000'000.0);
  EXPECT_GT(j["cache"]["evictions"].get<int64_t>(), 0);
  EXPECT_EQ(j["cache"]["entries"].get<int64_t>() + j["cache"]["evictions"].get<int64_t>(), stored);
  EXPECT_EQ(j["cache"]["bytes"].get<uint64_t>(), store->bytes());
  EXPECT_EQ(j["cache"]["hit_ratio"], 0.75);
  EXPECT_EQ(j["compression"]["encodings"]["gzip"]["bytes_saved"], 700);
  EXPECT_EQ(j["compression"]["bytes_in"], 1000);  // br and zstd are declared, at 0
  EXPECT_EQ(j["http2"]["connections_open"], 1);
  EXPECT_EQ(j["http2"]["streams_total"], 5);
  EXPECT_EQ(j["tls"]["listeners"]["web"]["resumptions"], 2);
  EXPECT_TRUE(j["events"].empty());
  EXPECT_EQ(j["events_dropped"], 0);

  std::string h = statusExtraSectionsHtml(events, r, 1'800'000'000.0);
  EXPECT_LT(h.find("<table id=\"events\">"), h.find("<table id=\"cache\">")) << "events first";
  EXPECT_NE(h.find("<tr data-key=\"entries\"><td>entries</td><td data-value=\"" +
                   j["cache"]["entries"].dump() + "\">"),
            std::string::npos)
      << h;
  store.reset();  // a reload that drops the cache takes its figures off the page
  nlohmann::json after = nlohmann::json::object();
  appendStatusExtrasJson(after, events, r, 1'800'000'000.0);
  EXPECT_EQ(after["cache"]["entries"], 0);
  EXPECT_EQ(after["cache"]["bytes"], 0);
}

}  // namespace
}  // namespace sluice::proxy
