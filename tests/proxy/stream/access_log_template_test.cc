#include "proxy/stream/access_log_template.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

AccessRecord record() {
  AccessRecord r;
  r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1717245296789));
  r.remote = "192.0.2.7";
  r.method = "GET";
  r.path = "/a?b=\"1\"";
  r.status = 200;
  r.bytes_sent = 512;
  r.duration_ms = 12.3456;
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.span_id = "00f067aa0ba902b7";
  return r;
}

std::string line(std::string_view t, const AccessRecord& r) {
  std::string out;
  AccessLogTemplate::compile(t)->format(r, out);
  return out;
}

TEST(AccessLogTemplate, PrintsFieldsLikeNginx) {
  EXPECT_EQ(line("$remote \"$method $path\" $status ${bytes_sent}B $duration_ms $trace_id-$span_id",
                 record()),
            "192.0.2.7 \"GET /a?b=\\x221\\x22\" 200 512B 12.346 "
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7\n");
}

TEST(AccessLogTemplate, AbsentValuesPrintAsDash) {
  EXPECT_EQ(line("[$route] $upstream_duration_ms $cache $user_agent", record()), "[-] - - -\n");
  AccessRecord r = record();
  r.upstream_duration_ms = 1.5;
  r.cache = "hit";
  EXPECT_EQ(line("$upstream_duration_ms $cache $time", r), "1.500 hit 2024-06-01T12:34:56.789Z\n");
}

TEST(AccessLogTemplate, LiteralDollarTextAroundFieldsIsKept) {
  EXPECT_EQ(line("status=${status};", record()), "status=200;\n");
}

}  // namespace
}  // namespace sluice::proxy
