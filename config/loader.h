// Turns YAML files (spec/config.md) into a validated Config, or into the full list of errors.
// Called on the main thread at start and on every reload; never on a worker's data path.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace sluice::config {

// One problem in a config file, pointing at the YAML node that caused it.
struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
  std::string text() const;  // "file:line:column: message"
};

struct LoadResult {
  std::shared_ptr<const Config> config;  // null when errors is not empty
  std::vector<Diagnostic> errors;        // every error of every file, in file order
};

// Loads `path` and its includes. All errors are collected; none throws.
LoadResult loadFile(const std::string& path);

// Same, from a string (tests); `name` is used as the file in diagnostics and as the base for
// relative includes/paths (its directory).
LoadResult loadString(std::string_view yaml, const std::string& name);

}  // namespace sluice::config
