#include "proxy/upstream/discovery/etcd_json.h"

#include <charconv>

namespace sluice::proxy::discovery {

std::optional<int64_t> int64Field(const nlohmann::json& obj, const char* name) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) return std::nullopt;
  const std::string& s = it->get_ref<const std::string&>();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<int64_t> headerRevision(const nlohmann::json& answer) {
  auto h = answer.find("header");
  if (h == answer.end() || !h->is_object() || !h->contains("revision")) return std::nullopt;
  return int64Field(*h, "revision");
}

std::optional<KeyValue> decodeKeyValue(const nlohmann::json& kv) {
  if (!kv.is_object()) return std::nullopt;
  auto k = kv.find("key");
  if (k == kv.end() || !k->is_string()) return std::nullopt;
  KeyValue out;
  auto key = decodeBase64(k->get_ref<const std::string&>());
  if (!key) return std::nullopt;
  out.key = std::move(*key);
  auto v = kv.find("value");
  if (v != kv.end()) {
    if (!v->is_string()) return std::nullopt;
    auto value = decodeBase64(v->get_ref<const std::string&>());
    if (!value) return std::nullopt;
    out.value = std::move(*value);
  }
  return out;
}

std::string gatewayError(const nlohmann::json& answer) {
  for (const char* name : {"error", "message"}) {
    auto e = answer.find(name);
    if (e == answer.end()) continue;
    if (e->is_string()) return "etcd: " + e->get<std::string>();
    if (e->is_object()) {
      auto m = e->find("message");
      if (m != e->end() && m->is_string()) return "etcd: " + m->get<std::string>();
      return "etcd: error";
    }
  }
  return "";
}

}  // namespace sluice::proxy::discovery
