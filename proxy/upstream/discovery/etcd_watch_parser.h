// etcd's watch stream as the JSON gateway sends it (POST /v3/watch): one JSON object per line,
// {"result": {"header", "created", "canceled", "compact_revision", "events": [...]}}, over a
// chunked body whose chunks need not end on a line. Pure; etcd_client.cc feeds it the bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/upstream/discovery/etcd_protocol.h"

namespace sluice::proxy::discovery {

struct WatchEvent {
  enum class Type { Put, Delete };  // proto3 leaves PUT (0) out: no "type" is a put
  Type type = Type::Put;
  KeyValue kv;  // a delete's value is empty
  int64_t mod_revision = 0;
};

// One message of the stream. `error` set: not a watch message (bad JSON, a gateway error, bad
// base64, missing header); the stream cannot be trusted after it.
struct WatchMessage {
  int64_t revision = 0;  // header.revision: the store's revision when it was sent
  bool created = false;  // the answer to the create request
  bool canceled = false;
  // Set with canceled when the start revision was compacted away: read again, watch again.
  int64_t compact_revision = 0;
  std::string cancel_reason;
  std::vector<WatchEvent> events;
  std::string error;
};

WatchMessage parseWatchMessage(std::string_view line);

class WatchStreamParser {
 public:
  // A line longer than this is an error (a registry answer this large is not a target list).
  static constexpr size_t kMaxLine = 16 * 1024 * 1024;

  // Adds `data` (a piece of the de-chunked body) and returns the messages it completed, in
  // order; blank lines are skipped. After an over-long line the result holds one error message.
  std::vector<WatchMessage> feed(std::string_view data);
  void reset() { buf_.clear(); }

 private:
  std::string buf_;  // the start of a line not yet complete
};

}  // namespace sluice::proxy::discovery
