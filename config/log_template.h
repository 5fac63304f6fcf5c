// The access-log line template (`access_log.format: '$remote "$method $path" $status'`): split
// into literal text and `$name` / `${name}` variables, the names being the JSON access-log fields
// (kAccessLogFields). Checked at load; the proxy's formatter is compiled from the same pieces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

struct LogTemplatePiece {
  std::string literal;   // printed before the variable
  std::string variable;  // its name (may be empty for a bare `$`)
  bool has_variable = false;
};

// The pieces of `line` in order (the last may be literal text only); empty with `error` set for
// an unclosed `${`.
std::vector<LogTemplatePiece> splitLogTemplate(std::string_view line, std::string* error);

// An error for a template (an unclosed `${`, an unknown variable), or empty when it is good.
std::string checkAccessLogTemplate(std::string_view line);

}  // namespace sluice::config
