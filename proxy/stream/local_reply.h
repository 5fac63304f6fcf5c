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

// gRPC (gateway.md): the grpc-status code that stands for an HTTP status sluice answers a gRPC
// request with (429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, ...).
int grpcStatusFor(int http_status);

// A grpc-message value: the text percent-encoded as the gRPC HTTP/2 protocol says (bytes outside
// 0x20-0x7E, and '%').
std::string grpcMessage(std::string_view text);

// Whether a request's content-type is gRPC's (application/grpc, application/grpc+proto, ...).
bool isGrpcContentType(std::string_view content_type);

// Appends a whole response: status line, date, content-type, content-length, x-request-id, the
// `extra` fields, `connection: close` when `close`, and the body unless `head_only`.
void appendLocalReply(int status, std::string_view message, std::string_view request_id,
                      std::string_view accept, bool head_only, bool close, std::string_view date,
                      const base::HeaderMap* extra, std::string& out);

}  // namespace sluice::proxy
