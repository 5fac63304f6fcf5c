// Reading YAML nodes into config values while collecting diagnostics that point at the node.
// Internal to the loader (the only place yaml-cpp types are seen); every read records its own
// error and leaves the default in place, so one pass reports every problem of a file.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/loader.h"

namespace sluice::config {

// A position in a config file, to point back at an earlier definition.
struct Origin {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  std::string text() const;  // "file:line"
};

// The file being read and the diagnostics collected so far (shared by all files of a load).
class Reader {
 public:
  Reader(std::string file, std::vector<Diagnostic>* errors, const LoadOptions* options = nullptr)
      : file_(std::move(file)), errors_(errors), options_(options) {}

  const std::string& file() const { return file_; }
  // The directory relative paths and includes in this file are resolved against.
  std::string dir() const;
  // `p` made absolute against dir(); absolute paths are only normalised.
  std::string resolvePath(std::string_view p) const;

  Origin origin(const YAML::Node& node) const;
  void error(const YAML::Node& at, std::string message);
  void error(const Origin& at, std::string message);
  // A file the config names cannot be used here (Diagnostic::resource).
  void resourceError(const YAML::Node& at, std::string message);
  size_t errorCount() const { return errors_->size(); }
  // How this load checks the files it names (defaults when the Reader was given none).
  const LoadOptions& options() const;

  // Scalar reads of a single node. `what` names it in messages ("address", "methods[1]"). Each
  // returns empty after recording an error when the node has the wrong type or value.
  std::optional<std::string> string(const YAML::Node& n, std::string_view what);
  std::optional<bool> boolean(const YAML::Node& n, std::string_view what);
  std::optional<int64_t> integer(const YAML::Node& n, std::string_view what, int64_t min,
                                 int64_t max);
  std::optional<double> number(const YAML::Node& n, std::string_view what, double min, double max);
  // A YAML sequence's items, else an error saying a list is expected.
  std::optional<std::vector<YAML::Node>> list(const YAML::Node& n, std::string_view what);
  // A list of host:port scalars (`what` names it: "endpoints"): each address `check` accepts
  // (it returns the reason it refuses one, or empty) is appended to `out`; an empty list is
  // reported as `empty_error`, a bad item as "what[i]: why". Items keep their order.
  using AddressCheck = std::string (*)(const Address&);
  void addressList(const YAML::Node& n, std::string_view what, std::string_view empty_error,
                   std::vector<Address>* out, AddressCheck check = nullptr);

 private:
  std::string file_;
  std::vector<Diagnostic>* errors_;
  const LoadOptions* options_;
};

// "a map", "a list", "null", or the scalar quoted: for "expected X, got Y" messages.
std::string describeNode(const YAML::Node& n);

// A YAML map with a fixed set of keys. Construction reports a node that is not a map and every
// unknown or repeated key; a null node reads as an empty map. Reads of absent or null keys
// return false and leave `*out` alone, so the struct's default stays.
class MapReader {
 public:
  MapReader(Reader& r, const YAML::Node& node, std::string what,
            std::vector<std::string_view> keys);

  bool ok() const { return ok_; }
  Reader& reader() const { return *r_; }
  const YAML::Node& node() const { return node_; }
  const std::string& what() const { return what_; }

  // The value under `key`, or an undefined node.
  YAML::Node get(std::string_view key) const;
  // The key node itself (to point at `tls:` rather than at its first nested line).
  YAML::Node keyNode(std::string_view key) const;
  // `key` is present with a non-null value.
  bool has(std::string_view key) const;
  // Records "<what> needs <key>; write e.g. <example>" at the map when `key` is missing.
  bool require(std::string_view key, std::string_view example);

  bool readString(std::string_view key, std::string* out);
  bool readString(std::string_view key, std::optional<std::string>* out);
  bool readBool(std::string_view key, bool* out);
  template <typename Int>
  bool readInt(std::string_view key, Int* out, int64_t min, int64_t max) {
    auto v = has(key) ? r_->integer(get(key), key, min, max) : std::nullopt;
    if (v) *out = static_cast<Int>(*v);
    return v.has_value();
  }
  bool readNumber(std::string_view key, double* out, double min, double max);
  // Durations must be above zero unless `allow_zero`.
  bool readDuration(std::string_view key, Duration* out, bool allow_zero = false);
  bool readDuration(std::string_view key, std::optional<Duration>* out, bool allow_zero = false);
  bool readSize(std::string_view key, uint64_t* out, uint64_t min);
  bool readRate(std::string_view key, Rate* out);
  bool readPercent(std::string_view key, double* out);
  bool readAddress(std::string_view key, Address* out);
  // A file path, resolved against the directory of the file that names it.
  bool readPath(std::string_view key, std::string* out);
  // A list of scalars.
  bool readStrings(std::string_view key, std::vector<std::string>* out);
  // A required name of a listener, upstream or route: non-empty [A-Za-z0-9_.-]+, because names
  // become metric labels.
  bool readName(std::string_view key, std::string* out);

 private:
  std::optional<std::string> scalarAt(std::string_view key);

  Reader* r_;
  YAML::Node node_;
  std::string what_;
  bool ok_ = false;
  struct Entry {
    std::string name;
    YAML::Node key;
    YAML::Node value;
  };
  std::vector<Entry> entries_;
};

}  // namespace sluice::config
