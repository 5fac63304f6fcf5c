// The JSON of etcd v3's gateway (POST /v3/kv/range, POST /v3/watch) as discovery needs it: the
// request bodies for a prefix, the range answer, and the base64 that keys and values travel in.
// Pure: no loop, no socket; etcd_client.cc sends and receives, etcd_watch_parser.h reads the
// watch stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::proxy::discovery {

// Standard base64 (RFC 4648 §4, padded), as etcd's gateway writes bytes.
std::string encodeBase64(std::string_view bytes);
// Padding optional; nullopt for anything else than the standard alphabet.
std::optional<std::string> decodeBase64(std::string_view text);

// The end of the key range that holds every key starting with `prefix` (etcd's GetPrefixRangeEnd:
// the prefix with its last byte below 0xff incremented, what follows dropped; "\0" when every
// byte is 0xff).
std::string prefixRangeEnd(std::string_view prefix);

// {"key": .., "range_end": ..}: every key under `prefix` at the current revision.
std::string rangeRequestBody(std::string_view prefix);
// {"create_request": {"key", "range_end", "start_revision"}}: the changes under `prefix` from
// `start_revision` on.
std::string watchRequestBody(std::string_view prefix, int64_t start_revision);

struct KeyValue {
  std::string key;  // decoded
  std::string value;
};

// What a range answered: the keys and the store's revision they were read at (a watch from
// revision + 1 misses nothing). `error` is set (and the rest empty) when the body is not a range
// answer: not JSON, an error object of the gateway, a missing header revision, bad base64.
struct RangeResult {
  int64_t revision = 0;
  std::vector<KeyValue> kvs;
  std::string error;
};
RangeResult parseRangeResponse(std::string_view body);

}  // namespace sluice::proxy::discovery
