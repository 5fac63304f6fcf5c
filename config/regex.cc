#include "config/regex.h"

#include <re2/re2.h>

namespace sluice::config {

std::optional<Regex> compileRegex(const std::string& pattern, std::string* error) {
  RE2::Options options;
  options.set_log_errors(false);
  auto compiled = std::make_shared<const RE2>(pattern, options);
  if (!compiled->ok()) {
    if (error) *error = "bad regex \"" + pattern + "\": " + compiled->error();
    return std::nullopt;
  }
  return Regex{pattern, std::move(compiled)};
}

bool fullMatch(const Regex& regex, std::string_view text) {
  return RE2::FullMatch(re2::StringPiece(text.data(), text.size()), *regex.compiled);
}

std::optional<std::string> rewriteFull(const Regex& regex, std::string_view text,
                                       std::string_view rewrite) {
  const RE2& re = *regex.compiled;
  re2::StringPiece groups[10];
  int count = std::min(re.NumberOfCapturingGroups() + 1, 10);
  re2::StringPiece input(text.data(), text.size());
  if (!re.Match(input, 0, input.size(), RE2::ANCHOR_BOTH, groups, count)) return std::nullopt;
  std::string out;
  if (!re.Rewrite(&out, re2::StringPiece(rewrite.data(), rewrite.size()), groups, count)) {
    return std::nullopt;
  }
  return out;
}

std::string checkRewrite(const Regex& regex, std::string_view rewrite) {
  std::string error;
  if (regex.compiled->CheckRewriteString(re2::StringPiece(rewrite.data(), rewrite.size()),
                                         &error)) {
    return {};
  }
  return error;
}

}  // namespace sluice::config
