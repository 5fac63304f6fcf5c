#include "proxy/stream/access_log_template.h"

#include <charconv>
#include <cstdio>

#include "config/config.h"
#include "config/log_template.h"

namespace sluice::proxy {
namespace {

int fieldIndex(std::string_view name) {
  int i = 0;
  for (const char* field : config::kAccessLogFields) {
    if (name == field) return i;
    ++i;
  }
  return -1;
}

void appendNumber(uint64_t v, std::string& out) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void appendMillis(double ms, std::string& out) {
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.3f", ms);
  if (n > 0) out.append(buf, static_cast<size_t>(n));
}

void appendOptional(const std::optional<std::string_view>& v, std::string& out) {
  appendLogField(v ? *v : std::string_view(), out);
}

void appendField(const AccessRecord& r, std::string_view name, std::string& out) {
  if (name == "time") return formatRfc3339Millis(r.time, out);
  if (name == "status") return appendNumber(static_cast<uint64_t>(r.status), out);
  if (name == "bytes_sent") return appendNumber(r.bytes_sent, out);
  if (name == "duration_ms") return appendMillis(r.duration_ms, out);
  if (name == "upstream_duration_ms") {
    if (r.upstream_duration_ms) return appendMillis(*r.upstream_duration_ms, out);
    out.push_back('-');
    return;
  }
  if (name == "cache") return appendOptional(r.cache, out);
  if (name == "ratelimit") return appendOptional(r.ratelimit, out);
  if (name == "termination") return appendOptional(r.termination, out);
  std::string_view v = name == "request_id"   ? r.request_id
                       : name == "remote"     ? r.remote
                       : name == "method"     ? r.method
                       : name == "host"       ? r.host
                       : name == "path"       ? r.path
                       : name == "protocol"   ? r.protocol
                       : name == "route"      ? r.route
                       : name == "upstream"   ? r.upstream
                       : name == "target"     ? r.target
                       : name == "trace_id"   ? r.trace_id
                       : name == "span_id"    ? r.span_id
                       : name == "referer"    ? r.referer
                       : name == "user_agent" ? r.user_agent
                                              : std::string_view();
  appendLogField(v, out);
}

}  // namespace

std::shared_ptr<const AccessLogTemplate> AccessLogTemplate::compile(std::string_view line) {
  auto t = std::make_shared<AccessLogTemplate>();
  for (config::LogTemplatePiece& p : config::splitLogTemplate(line, nullptr)) {
    t->segments_.push_back(
        Segment{std::move(p.literal), p.has_variable ? fieldIndex(p.variable) : -1});
  }
  return t;
}

void AccessLogTemplate::format(const AccessRecord& record, std::string& out) const {
  for (const Segment& s : segments_) {
    out.append(s.literal);
    if (s.field >= 0) appendField(record, config::kAccessLogFields[s.field], out);
  }
  out.push_back('\n');
}

}  // namespace sluice::proxy
