#include "filters/base/metrics_registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>
#include <vector>

namespace sluice::base {
namespace {

TEST(MetricsRegistryTest, EmptyFamiliesStillPrintHelpAndType) {
  MetricsRegistry r;
  r.counter("a_total", "A counter.", {"route"});
  r.histogram("b_seconds", "A histogram.", {"route"});
  EXPECT_EQ(r.render(),
            "# HELP a_total A counter.\n"
            "# TYPE a_total counter\n"
            "# HELP b_seconds A histogram.\n"
            "# TYPE b_seconds histogram\n");
}

TEST(MetricsRegistryTest, CountersAndGaugesWithLabelsAndEscaping) {
  MetricsRegistry r;
  auto& requests =
      r.counter("req_total", "Requests, by \"route\".\nSecond \\ line.", {"route", "code"});
  auto& temp = r.gauge("temp", "Temperature.");
  auto& ts = r.gauge("last_seconds", "A timestamp.", {"what"});

  requests.with({"b", "200"}).inc();
  requests.with({"a\"q\\b\nc", "500"}).inc(3);
  requests.with({"b", "200"}).inc(2);
  temp.with({}).set(-1.5);
  ts.with({"reload"}).set(1717171717.125);

  EXPECT_EQ(r.render(),
            "# HELP req_total Requests, by \"route\".\\nSecond \\\\ line.\n"
            "# TYPE req_total counter\n"
            "req_total{route=\"a\\\"q\\\\b\\nc\",code=\"500\"} 3\n"
            "req_total{route=\"b\",code=\"200\"} 3\n"
            "# HELP temp Temperature.\n"
            "# TYPE temp gauge\n"
            "temp -1.5\n"
            "# HELP last_seconds A timestamp.\n"
            "# TYPE last_seconds gauge\n"
            "last_seconds{what=\"reload\"} 1717171717.125\n");
}

TEST(MetricsRegistryTest, UnlabelledSeriesExistFromDeclaration) {
  MetricsRegistry r;
  r.counter("x_total", "X.");
  r.gauge("y", "Y.");
  EXPECT_EQ(r.render(),
            "# HELP x_total X.\n# TYPE x_total counter\nx_total 0\n"
            "# HELP y Y.\n# TYPE y gauge\ny 0\n");
}

TEST(MetricsRegistryTest, SeriesAddressesAreStable) {
  MetricsRegistry r;
  auto& fam = r.counter("s_total", "S.", {"k"});
  Counter& first = fam.with({"m"});
  for (int i = 0; i < 1000; ++i) fam.with({std::to_string(i)});
  EXPECT_EQ(&first, &fam.with({"m"}));
  std::vector<std::string> owned{"m"};
  EXPECT_EQ(&first, &fam.with(std::span<const std::string>(owned)));
}

TEST(MetricsRegistryTest, RedeclaringReturnsTheSameFamily) {
  MetricsRegistry r;
  auto& a = r.counter("dup_total", "D.", {"k"});
  auto& b = r.counter("dup_total", "D.", {"k"});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsRegistryTest, HistogramIsCumulativeWithInf) {
  MetricsRegistry r;
  auto& h = r.histogram("lat_seconds", "Latency.", {"route"}, {0.1, 0.5, 1});
  auto& api = h.with({"api"});
  api.observe(0.05);
  api.observe(0.1);  // le is inclusive
  api.observe(0.3);
  api.observe(7);
  api.observe(std::numeric_limits<double>::quiet_NaN());  // ignored
  h.with({"web"});
  EXPECT_EQ(r.render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{route=\"api\",le=\"0.1\"} 2\n"
            "lat_seconds_bucket{route=\"api\",le=\"0.5\"} 3\n"
            "lat_seconds_bucket{route=\"api\",le=\"1\"} 3\n"
            "lat_seconds_bucket{route=\"api\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{route=\"api\"} 7.45\n"
            "lat_seconds_count{route=\"api\"} 4\n"
            "lat_seconds_bucket{route=\"web\",le=\"0.1\"} 0\n"
            "lat_seconds_bucket{route=\"web\",le=\"0.5\"} 0\n"
            "lat_seconds_bucket{route=\"web\",le=\"1\"} 0\n"
            "lat_seconds_bucket{route=\"web\",le=\"+Inf\"} 0\n"
            "lat_seconds_sum{route=\"web\"} 0\n"
            "lat_seconds_count{route=\"web\"} 0\n");
}

TEST(MetricsRegistryTest, UnlabelledHistogramAndDefaultBuckets) {
  MetricsRegistry r;
  auto& h = r.histogram("d_seconds", "D.");
  h.with({}).observe(0.0005);
  std::string text = r.render();
  EXPECT_NE(text.find("d_seconds_bucket{le=\"0.0005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_bucket{le=\"10\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_bucket{le=\"+Inf\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_seconds_sum 0.0005\nd_seconds_count 1\n"), std::string::npos) << text;
  EXPECT_EQ(h.bounds().size(), kDefaultDurationBuckets.size());
}

TEST(MetricsRegistryTest, SampleValueFormatting) {
  auto fmt = [](double v) {
    std::string s;
    appendSampleValue(v, s);
    return s;
  };
  EXPECT_EQ(fmt(0), "0");
  EXPECT_EQ(fmt(0.1), "0.1");
  EXPECT_EQ(fmt(42), "42");
  EXPECT_EQ(fmt(0.0005), "0.0005");
  EXPECT_EQ(fmt(-2.5), "-2.5");
  EXPECT_EQ(fmt(1717171717.125), "1717171717.125");
  EXPECT_EQ(fmt(1e-7), "1e-07");
  EXPECT_EQ(fmt(1e300), "1e+300");
  EXPECT_EQ(fmt(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(fmt(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(fmt(std::nan("")), "NaN");
}

TEST(MetricsRegistryTest, CollectorsAddAndOverrideScrapeTimeValues) {
  MetricsRegistry r;
  auto& keys = r.gauge("keys", "Keys.", {"route"});
  auto& bytes = r.counter("bytes_total", "Bytes.");
  keys.with({"a"}).set(1);
  keys.with({"c"}).set(3);
  int calls = 0;
  auto id = r.addCollector([&](Exposition& e) {
    ++calls;
    e.set(keys, {"b"}, 2);
    e.set(keys, {"c"}, 30);  // replaces the stored value for this scrape
    e.set(bytes, {}, 99);
  });
  EXPECT_EQ(r.render(),
            "# HELP keys Keys.\n# TYPE keys gauge\n"
            "keys{route=\"a\"} 1\nkeys{route=\"b\"} 2\nkeys{route=\"c\"} 30\n"
            "# HELP bytes_total Bytes.\n# TYPE bytes_total counter\nbytes_total 99\n");
  EXPECT_EQ(calls, 1);
  r.removeCollector(id);
  EXPECT_EQ(r.render(),
            "# HELP keys Keys.\n# TYPE keys gauge\n"
            "keys{route=\"a\"} 1\nkeys{route=\"c\"} 3\n"
            "# HELP bytes_total Bytes.\n# TYPE bytes_total counter\nbytes_total 0\n");
  EXPECT_EQ(calls, 1);
}

TEST(MetricsRegistryTest, GaugeAddSub) {
  MetricsRegistry r;
  Gauge& g = r.gauge("active", "Active.", {"listener"}).with({"main"});
  g.add(3);
  g.sub(1);
  g.add(0.5);
  EXPECT_DOUBLE_EQ(g.value(), 2.5);
}

TEST(MetricsRegistryTest, ConcurrentIncrementsAndObservationsSum) {
  MetricsRegistry r;
  auto& fam = r.counter("c_total", "C.", {"route"});
  auto& hist = r.histogram("h_seconds", "H.", {"route"}, {0.5});
  auto& gauge = r.gauge("g", "G.");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Each worker looks its series up once (racing on first creation) and caches them.
      Counter& shared = fam.with({"shared"});
      Counter& own = fam.with({"t" + std::to_string(t % 2)});
      Histogram& h = hist.with({"shared"});
      Gauge& g = gauge.with({});
      for (int i = 0; i < kPerThread; ++i) {
        shared.inc();
        own.inc(2);
        h.observe(i % 2 == 0 ? 0.25 : 1.0);
        g.add(1);
      }
      // A scrape racing with the workers must not crash or tear lines.
      if (t == 0) (void)r.render();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(fam.with({"shared"}).value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(fam.with({"t0"}).value() + fam.with({"t1"}).value(),
            uint64_t{kThreads} * kPerThread * 2);
  auto snap = hist.with({"shared"}).snapshot();
  EXPECT_EQ(snap.cumulative[0], uint64_t{kThreads} * kPerThread / 2);
  EXPECT_EQ(snap.cumulative[1], uint64_t{kThreads} * kPerThread);
  EXPECT_DOUBLE_EQ(snap.sum, kThreads * kPerThread / 2 * 1.25);
  EXPECT_DOUBLE_EQ(gauge.with({}).value(), kThreads * kPerThread);
}

TEST(MetricsRegistryTest, OpenMetricsNamesCountersWithoutTotalAndEndsWithEof) {
  MetricsRegistry r;
  r.counter("sluice_x_total", "Xs.", {"k"}).with({"a"}).inc(3);
  r.gauge("sluice_g", "G.").with({}).set(2);
  std::string om = r.renderOpenMetrics();
  EXPECT_NE(om.find("# TYPE sluice_x counter\n"), std::string::npos) << om;
  EXPECT_NE(om.find("sluice_x_total{k=\"a\"} 3\n"), std::string::npos) << om;
  EXPECT_NE(om.find("# TYPE sluice_g gauge\n"), std::string::npos) << om;
  EXPECT_TRUE(om.ends_with("# EOF\n")) << om;
  std::string text = r.render();  // the Prometheus text format is unchanged
  EXPECT_NE(text.find("# TYPE sluice_x_total counter\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("# EOF"), std::string::npos);
}

TEST(MetricsRegistryTest, HistogramBucketsCarryTheLatestExemplarInOpenMetricsOnly) {
  MetricsRegistry r;
  auto& h = r.histogram("sluice_d_seconds", "D.", {}, {0.1, 1}).with({});
  h.observe(0.05);  // no trace: no exemplar
  std::string om = r.renderOpenMetrics();
  EXPECT_EQ(om.find(" # {"), std::string::npos) << om;
  h.observe(0.5, "4bf92f3577b34da6a3ce929d0e0e4736");
  h.observe(0.7, "00000000000000000000000000000abc");
  h.observe(0.2, "short");  // not a trace id: counted, not kept
  om = r.renderOpenMetrics();
  size_t at = om.find(
      "sluice_d_seconds_bucket{le=\"1\"} 4 # {trace_id=\"00000000000000000000000000000abc\"} 0.7 ");
  EXPECT_NE(at, std::string::npos) << om;
  EXPECT_EQ(om.find("4bf92f3577b34da6a3ce929d0e0e4736"), std::string::npos) << om;  // replaced
  EXPECT_NE(om.find("sluice_d_seconds_bucket{le=\"0.1\"} 1\n"), std::string::npos) << om;
  EXPECT_EQ(r.render().find("trace_id"), std::string::npos);
  auto snap = h.snapshot();
  ASSERT_EQ(snap.exemplars.size(), 3u);
  EXPECT_FALSE(snap.exemplars[0].set);
  EXPECT_TRUE(snap.exemplars[1].set);
  EXPECT_DOUBLE_EQ(snap.exemplars[1].value, 0.7);
}

}  // namespace
}  // namespace sluice::base
