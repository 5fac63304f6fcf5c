// The effective config as JSON (json_dump.h). The output is itself a valid sluice config (JSON is
// YAML), which the tests use for a round trip; absent optional sections are written as null.
// Upstreams and routes are written by json_dump_upstream.cc and json_dump_route.cc.
#include "config/json_dump.h"

#include <cstdio>
#include <vector>

#include "config/json_dump_writer.h"

namespace sluice::config {
namespace dump {

void writeCertificate(JsonWriter& w, const Certificate& c) {
  w.beginObject();
  w.key("cert").string(c.cert);
  w.key("key").string(c.key);
  w.endObject();
}

namespace {

void writeListener(JsonWriter& w, const Listener& l) {
  w.beginObject();
  w.key("name").string(l.name);
  w.key("address").string(l.address.text());
  w.key("proxy_protocol").boolean(l.proxy_protocol);
  w.key("defer_accept").boolean(l.defer_accept);
  w.key("tls");
  if (!l.tls) {
    w.null();
  } else {
    w.beginObject();
    w.key("certificates").beginArray();
    for (const auto& c : l.tls->certificates) writeCertificate(w, c);
    w.endArray();
    w.key("min_version").string(l.tls->min_version);
    w.key("alpn").strings(l.tls->alpn);
    w.key("client_ca").optString(l.tls->client_ca);
    w.endObject();
  }
  w.key("http2").beginObject();
  w.key("max_concurrent_streams").integer(l.http2.max_concurrent_streams);
  w.key("initial_stream_window").integer(l.http2.initial_stream_window);
  w.key("initial_connection_window").integer(l.http2.initial_connection_window);
  w.key("max_frame_size").integer(l.http2.max_frame_size);
  w.key("max_header_list_size").integer(l.http2.max_header_list_size);
  w.key("h2c").boolean(l.http2.h2c);
  w.endObject();
  w.endObject();
}

void writeLimits(JsonWriter& w, const Limits& l) {
  w.beginObject();
  w.key("max_connections").integer(l.max_connections);
  w.key("max_header_bytes").integer(l.max_header_bytes);
  w.key("max_headers").integer(l.max_headers);
  w.key("max_body_bytes").integer(l.max_body_bytes);
  w.key("header_timeout").duration(l.header_timeout);
  w.key("idle_timeout").duration(l.idle_timeout);
  w.key("drain_timeout").duration(l.drain_timeout);
  w.key("send_timeout").duration(l.send_timeout);
  w.endObject();
}

}  // namespace
}  // namespace dump

using dump::JsonWriter;
using dump::writeLimits;
using dump::writeListener;
using dump::writeRoute;
using dump::writeUpstream;

std::string jsonQuote(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;  // UTF-8 passes through unchanged
        }
    }
  }
  out += '"';
  return out;
}

std::string toJson(const Config& c) {
  JsonWriter w;
  w.beginObject();
  w.key("workers").integer(c.workers);
  w.key("io").string(c.io == IoMode::Uring ? "uring" : c.io == IoMode::Epoll ? "epoll" : "auto");
  w.key("listeners").beginArray();
  for (const auto& l : c.listeners) writeListener(w, l);
  w.endArray();
  w.key("admin").beginObject();
  w.key("address");
  c.admin.address ? w.string(c.admin.address->text()) : w.null();
  w.endObject();
  w.key("limits");
  writeLimits(w, c.limits);
  w.key("trusted_proxies").beginArray();
  for (const auto& p : c.trusted_proxies) w.string(p.text);
  w.endArray();
  w.key("access_log").beginObject();
  w.key("path").string(c.access_log.path);
  w.key("format").string(c.access_log.format == AccessLogFormat::Template
                             ? c.access_log.line_template
                         : c.access_log.format == AccessLogFormat::Combined ? "combined"
                                                                            : "json");
  w.endObject();
  w.key("tracing");
  if (c.tracing) {
    w.beginObject();
    w.key("service_name").string(c.tracing->service_name);
    w.key("sample").string(formatPercent(c.tracing->sample));
    w.key("otlp");
    if (c.tracing->otlp) {
      w.beginObject();
      w.key("endpoint").string(c.tracing->otlp->endpoint);
      w.key("timeout").duration(c.tracing->otlp->timeout);
      w.key("max_queue").integer(c.tracing->otlp->max_queue);
      w.endObject();
    } else {
      w.null();
    }
    w.endObject();
  } else {
    w.null();
  }
  w.key("upstreams").beginArray();
  for (const auto& u : c.upstreams) writeUpstream(w, u);
  w.endArray();
  w.key("rate_limit_store");
  if (c.rate_limit_store) {
    static const char* kOnError[] = {"local", "allow", "deny"};
    w.beginObject();
    if (c.rate_limit_store->sentinels.empty()) {
      w.key("redis").string(c.rate_limit_store->redis);
    } else {
      w.key("sentinels").beginArray();
      for (const Address& a : c.rate_limit_store->sentinels) w.string(a.text());
      w.endArray();
      w.key("master").string(c.rate_limit_store->master);
      w.key("db").integer(static_cast<uint64_t>(c.rate_limit_store->db));
    }
    w.key("on_error").string(kOnError[static_cast<int>(c.rate_limit_store->on_error)]);
    w.endObject();
  } else {
    w.null();
  }
  if (c.cache_sync) {
    w.key("cache_sync").beginObject();
    if (c.cache_sync->use_rate_limit_store) {
      w.key("use_rate_limit_store").boolean(true);
    } else {
      w.key("redis").string(c.cache_sync->redis);
    }
    w.key("channel").string(c.cache_sync->channel);
    w.endObject();
  }
  if (c.resolver) {
    w.key("resolver").beginObject();
    w.key("servers").beginArray();
    for (const Address& a : c.resolver->servers) w.string(a.text());
    w.endArray();
    w.endObject();
  }
  w.key("routes").beginArray();
  for (const auto& r : c.routes) writeRoute(w, r);
  w.endArray();
  w.endObject();
  return w.take();
}

}  // namespace sluice::config
