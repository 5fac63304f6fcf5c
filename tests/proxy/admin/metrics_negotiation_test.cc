#include "proxy/admin/metrics_negotiation.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

TEST(MetricsNegotiation, PrometheusScrapeAcceptGetsOpenMetrics) {
  EXPECT_TRUE(prefersOpenMetrics(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
      "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
  EXPECT_TRUE(prefersOpenMetrics("application/openmetrics-text"));
}

TEST(MetricsNegotiation, TextStaysTheDefault) {
  EXPECT_FALSE(prefersOpenMetrics(""));
  EXPECT_FALSE(prefersOpenMetrics("*/*"));
  EXPECT_FALSE(prefersOpenMetrics("text/plain;version=0.0.4"));
  EXPECT_FALSE(prefersOpenMetrics("text/plain, application/openmetrics-text;q=0.5"));
  EXPECT_FALSE(prefersOpenMetrics("application/openmetrics-text;q=0"));
  EXPECT_FALSE(prefersOpenMetrics("*/*, application/openmetrics-text;q=0.3"));
}

}  // namespace
}  // namespace sluice::proxy
