#include "proxy/upstream/discovery/etcd_watch_parser.h"

#include <nlohmann/json.hpp>

#include "proxy/upstream/discovery/etcd_json.h"

namespace sluice::proxy::discovery {
namespace {

bool readEvents(const nlohmann::json& events, WatchMessage& out) {
  if (!events.is_array()) return false;
  for (const nlohmann::json& e : events) {
    if (!e.is_object()) return false;
    WatchEvent ev;
    auto type = e.find("type");
    if (type != e.end()) {
      if (type->is_string() && *type == "DELETE") {
        ev.type = WatchEvent::Type::Delete;
      } else if (!(type->is_string() && *type == "PUT") &&
                 !(type->is_number_integer() && type->get<int64_t>() <= 1)) {
        return false;
      } else if (type->is_number_integer() && type->get<int64_t>() == 1) {
        ev.type = WatchEvent::Type::Delete;
      }
    }
    auto kv = e.find("kv");
    if (kv == e.end()) return false;
    auto decoded = decodeKeyValue(*kv);
    auto rev = int64Field(*kv, "mod_revision");
    if (!decoded || !rev) return false;
    ev.kv = std::move(*decoded);
    ev.mod_revision = *rev;
    out.events.push_back(std::move(ev));
  }
  return true;
}

}  // namespace

WatchMessage parseWatchMessage(std::string_view line) {
  WatchMessage out;
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    out.error = "watch message is not a JSON object";
    return out;
  }
  if (std::string e = gatewayError(j); !e.empty()) {
    out.error = e;
    return out;
  }
  auto r = j.find("result");
  if (r == j.end() || !r->is_object()) {
    out.error = "watch message has no result";
    return out;
  }
  auto rev = headerRevision(*r);
  auto compact = int64Field(*r, "compact_revision");
  if (!rev || !compact) {
    out.error = "watch message has no header.revision";
    return out;
  }
  out.revision = *rev;
  out.compact_revision = *compact;
  auto flag = [&](const char* name) {
    auto f = r->find(name);
    return f != r->end() && f->is_boolean() && f->get<bool>();
  };
  out.created = flag("created");
  out.canceled = flag("canceled");
  if (auto reason = r->find("cancel_reason"); reason != r->end() && reason->is_string()) {
    out.cancel_reason = reason->get<std::string>();
  }
  if (auto events = r->find("events"); events != r->end() && !readEvents(*events, out)) {
    out.events.clear();
    out.error = "watch message has a malformed event";
  }
  return out;
}

std::vector<WatchMessage> WatchStreamParser::feed(std::string_view data) {
  std::vector<WatchMessage> out;
  buf_.append(data);
  size_t start = 0;
  for (;;) {
    size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(buf_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) out.push_back(parseWatchMessage(line));
    start = nl + 1;
  }
  buf_.erase(0, start);
  if (buf_.size() > kMaxLine) {
    buf_.clear();
    WatchMessage m;
    m.error = "watch message longer than " + std::to_string(kMaxLine) + " bytes";
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace sluice::proxy::discovery
