// Reading the pieces shared by etcd's gateway answers (nlohmann::json, no exceptions): int64
// fields, which the gateway writes as strings; the header's revision; a key-value pair; an
// error object. Used by etcd_protocol.cc and etcd_watch_parser.cc.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "proxy/upstream/discovery/etcd_protocol.h"

namespace sluice::proxy::discovery {

// `obj[name]` as an int64: a JSON number or a decimal string ("12"). Absent reads as 0
// (proto3 leaves zero values out); nullopt when present and neither.
std::optional<int64_t> int64Field(const nlohmann::json& obj, const char* name);

// `header.revision` of an answer, or nullopt.
std::optional<int64_t> headerRevision(const nlohmann::json& answer);

// A `{"key", "value"}` object with both decoded (a missing value is empty: a DELETE's kv has
// none); nullopt when either is not base64 or the key is missing.
std::optional<KeyValue> decodeKeyValue(const nlohmann::json& kv);

// The gateway's error answer ({"error": "...", "code": N} or {"message": ..}): its text, or "".
std::string gatewayError(const nlohmann::json& answer);

}  // namespace sluice::proxy::discovery
