// Responses that sluice writes itself (spec/operations.md "Responses that sluice itself
// writes"): a short plain-text body naming the status and the request id, or JSON when the
// client's Accept prefers it.
#pragma once

#include <string>
#include <string_view>

#include "filters/base/http_message.h"

namespace sluice::proxy {

// What sluice answers for itself to OPTIONS, and in the Allow of its 405 (every method but
// CONNECT goes through).
inline constexpr const char* kAllowedMethods =
    "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH";

// Whether an Accept value prefers application/json over text/plain (q-values honoured).
bool prefersJson(std::string_view accept);

// The default body for `status` (used when `message` is empty).
std::string localReplyBody(int status, std::string_view message, std::string_view request_id,
                           bool json);

// Appends a whole response: status line, date, content-type, content-length, x-request-id, the
// `extra` fields, `connection: close` when `close`, and the body unless `head_only`.
void appendLocalReply(int status, std::string_view message, std::string_view request_id,
                      std::string_view accept, bool head_only, bool close, std::string_view date,
                      const base::HeaderMap* extra, std::string& out);

}  // namespace sluice::proxy
