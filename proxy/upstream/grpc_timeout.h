// gRPC's `grpc-timeout` request field (PROTOCOL-HTTP2.md): at most 8 ASCII digits and a unit
// (H hours, M minutes, S seconds, m milliseconds, u microseconds, n nanoseconds). It bounds the
// upstream try of a gRPC call. Pure.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace sluice::proxy {

// The timeout `value` says, rounded up to whole milliseconds (at least 1 ms for a positive
// value); nullopt when it is malformed (the field is then ignored, as gRPC servers do).
std::optional<std::chrono::milliseconds> parseGrpcTimeout(std::string_view value);

}  // namespace sluice::proxy
