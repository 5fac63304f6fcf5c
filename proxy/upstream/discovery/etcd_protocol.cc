#include "proxy/upstream/discovery/etcd_protocol.h"

#include <nlohmann/json.hpp>

#include "config/base64url.h"
#include "proxy/upstream/discovery/etcd_json.h"

namespace sluice::proxy::discovery {

std::string encodeBase64(std::string_view bytes) {
  std::string out = config::encodeBase64Url(bytes);
  for (char& c : out) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

std::optional<std::string> decodeBase64(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string url(text);
  for (char& c : url) {
    if (c == '-' || c == '_') return std::nullopt;  // base64url's, not etcd's alphabet
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return config::decodeBase64Url(url);
}

std::string prefixRangeEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string rangeRequestBody(std::string_view prefix) {
  nlohmann::json j = {{"key", encodeBase64(prefix)},
                      {"range_end", encodeBase64(prefixRangeEnd(prefix))}};
  return j.dump();
}

std::string watchRequestBody(std::string_view prefix, int64_t start_revision) {
  nlohmann::json j = {{"create_request",
                       {{"key", encodeBase64(prefix)},
                        {"range_end", encodeBase64(prefixRangeEnd(prefix))},
                        {"start_revision", std::to_string(start_revision)}}}};
  return j.dump();
}

RangeResult parseRangeResponse(std::string_view body) {
  RangeResult out;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    out.error = "range answer is not a JSON object";
    return out;
  }
  if (std::string e = gatewayError(j); !e.empty()) {
    out.error = e;
    return out;
  }
  auto rev = headerRevision(j);
  if (!rev) {
    out.error = "range answer has no header.revision";
    return out;
  }
  out.revision = *rev;
  auto kvs = j.find("kvs");
  if (kvs == j.end()) return out;  // no key under the prefix
  if (!kvs->is_array()) {
    out.error = "range answer: kvs is not a list";
    return out;
  }
  for (const nlohmann::json& kv : *kvs) {
    auto decoded = decodeKeyValue(kv);
    if (!decoded) {
      out.error = "range answer: a key or value is not base64";
      out.kvs.clear();
      return out;
    }
    out.kvs.push_back(std::move(*decoded));
  }
  return out;
}

}  // namespace sluice::proxy::discovery
