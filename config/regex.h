// RE2 patterns of the config (route matching, rewrites): compiled once at load, matched against
// the whole string. RE2 runs in linear time, so a hostile path cannot make a match slow.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

namespace sluice::config {

// Compiles `pattern`; on a syntax error returns nullopt with `error` saying what RE2 reported.
std::optional<Regex> compileRegex(const std::string& pattern, std::string* error);

// Whether the whole of `text` matches `regex` (which must be compiled).
bool fullMatch(const Regex& regex, std::string_view text);

// `text` with the first match of `regex` replaced by `rewrite` (`\1`..`\9` are capture groups);
// nullopt when the regex does not match the whole text.
std::optional<std::string> rewriteFull(const Regex& regex, std::string_view text,
                                       std::string_view rewrite);

// An error for `rewrite` against `regex` (a `\N` above the group count), or empty when it is good.
std::string checkRewrite(const Regex& regex, std::string_view rewrite);

}  // namespace sluice::config
