// Reading YAML nodes with diagnostics; see node_reader.h.
#include "config/node_reader.h"

#include <charconv>
#include <filesystem>
#include <limits>

#include "config/units.h"

namespace sluice::config {
namespace {

std::string join(const std::vector<std::string_view>& items) {
  std::string out;
  for (auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string formatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

// Signed whole number as people write it: optional '-', digits.
std::optional<int64_t> parseInteger(std::string_view s) {
  std::string_view digits = !s.empty() && s.front() == '-' ? s.substr(1) : s;
  if (digits.empty()) return std::nullopt;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    return s.front() == '-' ? std::numeric_limits<int64_t>::min()
                            : std::numeric_limits<int64_t>::max();
  }
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> parseSignedDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-')) return std::nullopt;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string Origin::text() const {
  return file + ":" + std::to_string(line);
}

std::string Reader::dir() const {
  return std::filesystem::path(file_).parent_path().string();
}

std::string Reader::resolvePath(std::string_view p) const {
  std::filesystem::path path(p);
  if (path.is_relative()) {
    std::error_code ec;
    path = std::filesystem::absolute(std::filesystem::path(dir()) / path, ec);
  }
  return path.lexically_normal().string();
}

Origin Reader::origin(const YAML::Node& node) const {
  // yaml-cpp marks are 0-based, -1 for nodes that were never parsed (absent keys).
  YAML::Mark m = node.Mark();
  return Origin{file_, m.line + 1, m.column + 1};
}

void Reader::error(const YAML::Node& at, std::string message) {
  error(origin(at), message);
}

void Reader::error(const Origin& at, std::string message) {
  errors_->push_back(Diagnostic{at.file, at.line, at.column, std::move(message)});
}

void Reader::resourceError(const YAML::Node& at, std::string message) {
  Origin o = origin(at);
  errors_->push_back(Diagnostic{o.file, o.line, o.column, std::move(message), true});
}

const LoadOptions& Reader::options() const {
  static const LoadOptions kDefaults;
  return options_ != nullptr ? *options_ : kDefaults;
}

std::string describeNode(const YAML::Node& n) {
  if (!n.IsDefined()) return "nothing";
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      return "\"" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "\"";
    }
    default:
      return "nothing";
  }
}

std::optional<std::string> Reader::string(const YAML::Node& n, std::string_view what) {
  if (n.IsScalar()) return n.Scalar();
  error(n, std::string(what) + ": expected a string, got " + describeNode(n));
  return std::nullopt;
}

std::optional<bool> Reader::boolean(const YAML::Node& n, std::string_view what) {
  // Only true/false: YAML 1.1's yes/no/on/off surprise people (the "Norway problem").
  if (n.IsScalar() && (n.Scalar() == "true" || n.Scalar() == "false")) return n.Scalar() == "true";
  error(n, std::string(what) + ": expected true or false, got " + describeNode(n));
  return std::nullopt;
}

std::optional<int64_t> Reader::integer(const YAML::Node& n, std::string_view what, int64_t min,
                                       int64_t max) {
  auto v = n.IsScalar() ? parseInteger(n.Scalar()) : std::nullopt;
  if (!v) {
    error(n, std::string(what) + ": expected a whole number, got " + describeNode(n));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    std::string range = max >= (int64_t{1} << 53)
                            ? "at least " + std::to_string(min)
                            : "between " + std::to_string(min) + " and " + std::to_string(max);
    error(n, std::string(what) + " must be " + range + ", got " + n.Scalar());
    return std::nullopt;
  }
  return v;
}

std::optional<double> Reader::number(const YAML::Node& n, std::string_view what, double min,
                                     double max) {
  auto v = n.IsScalar() ? parseSignedDecimal(n.Scalar()) : std::nullopt;
  if (!v) {
    error(n, std::string(what) + ": expected a number, got " + describeNode(n));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    error(n, std::string(what) + " must be between " + formatDouble(min) + " and " +
                 formatDouble(max) + ", got " + n.Scalar());
    return std::nullopt;
  }
  return v;
}

std::optional<std::vector<YAML::Node>> Reader::list(const YAML::Node& n, std::string_view what) {
  if (!n.IsSequence()) {
    error(n, std::string(what) + ": expected a list ([a, b] or lines starting with \"- \"), got " +
                 describeNode(n));
    return std::nullopt;
  }
  std::vector<YAML::Node> items;
  for (const auto& item : n) items.push_back(item);
  return items;
}

void Reader::addressList(const YAML::Node& n, std::string_view what, std::string_view empty_error,
                         std::vector<Address>* out, AddressCheck check) {
  auto items = list(n, what);
  if (!items) return;
  if (items->empty()) error(n, std::string(empty_error));
  for (size_t i = 0; i < items->size(); ++i) {
    std::string item = std::string(what) + "[" + std::to_string(i) + "]";
    auto text = string((*items)[i], item);
    if (!text) continue;
    auto a = parseAddress(*text);
    std::string refused = !a ? a.error() : check != nullptr ? check(*a) : std::string();
    if (!refused.empty()) {
      error((*items)[i], item + ": " + refused);
    } else {
      out->push_back(*a);
    }
  }
}

MapReader::MapReader(Reader& r, const YAML::Node& node, std::string what,
                     std::vector<std::string_view> keys)
    : r_(&r), node_(node), what_(std::move(what)) {
  if (!node.IsDefined() || node.IsNull()) {
    ok_ = true;
    return;
  }
  if (!node.IsMap()) {
    r.error(node, what_ + ": expected a map (key: value lines or {key: value}), got " +
                      describeNode(node));
    return;
  }
  ok_ = true;
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator hands out a temporary pair.
    YAML::Node key = it->first;
    if (!key.IsScalar()) {
      r.error(key, "keys in " + what_ + " must be plain names, got " + describeNode(key));
      continue;
    }
    const std::string& name = key.Scalar();
    bool known = false;
    for (auto k : keys) known = known || k == name;
    if (!known && keys.empty()) {  // e.g. the circuit_breaker filter, which has no settings
      r.error(key, "unknown key \"" + name + "\": " + what_ + " takes no options; write " + what_ +
                       ": {}");
      continue;
    }
    if (!known) {
      r.error(key, "unknown key \"" + name + "\" in " + what_ + "; expected one of: " + join(keys));
      continue;
    }
    bool repeated = false;
    for (const auto& e : entries_) repeated = repeated || e.name == name;
    if (repeated) {
      r.error(key, "key \"" + name + "\" appears twice in " + what_ + "; keep one");
      continue;
    }
    entries_.push_back(Entry{name, key, it->second});
  }
}

YAML::Node MapReader::get(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.name == key) return e.value;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

YAML::Node MapReader::keyNode(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.name == key) return e.key;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool MapReader::has(std::string_view key) const {
  YAML::Node n = get(key);
  return n.IsDefined() && !n.IsNull();
}

bool MapReader::require(std::string_view key, std::string_view example) {
  if (has(key)) return true;
  // Only a valid map gets here with a meaningful message; a broken one was reported already.
  if (ok_) {
    r_->error(node_,
              what_ + " needs \"" + std::string(key) + "\"; write e.g. " + std::string(example));
  }
  return false;
}

std::optional<std::string> MapReader::scalarAt(std::string_view key) {
  if (!has(key)) return std::nullopt;
  return r_->string(get(key), key);
}

bool MapReader::readString(std::string_view key, std::string* out) {
  auto v = scalarAt(key);
  if (v) *out = std::move(*v);
  return v.has_value();
}

bool MapReader::readString(std::string_view key, std::optional<std::string>* out) {
  auto v = scalarAt(key);
  if (v) *out = std::move(*v);
  return v.has_value();
}

bool MapReader::readBool(std::string_view key, bool* out) {
  auto v = has(key) ? r_->boolean(get(key), key) : std::nullopt;
  if (v) *out = *v;
  return v.has_value();
}

bool MapReader::readNumber(std::string_view key, double* out, double min, double max) {
  auto v = has(key) ? r_->number(get(key), key, min, max) : std::nullopt;
  if (v) *out = *v;
  return v.has_value();
}

bool MapReader::readDuration(std::string_view key, Duration* out, bool allow_zero) {
  std::optional<Duration> v;
  if (!readDuration(key, &v, allow_zero)) return false;
  *out = *v;
  return true;
}

bool MapReader::readDuration(std::string_view key, std::optional<Duration>* out, bool allow_zero) {
  auto text = scalarAt(key);
  if (!text) return false;
  auto d = parseDuration(*text);
  if (!d) {
    r_->error(get(key), std::string(key) + ": " + d.error());
    return false;
  }
  if (!allow_zero && d->count() == 0) {
    r_->error(get(key), std::string(key) + " must be above zero, e.g. 250ms or 10s");
    return false;
  }
  *out = *d;
  return true;
}

bool MapReader::readSize(std::string_view key, uint64_t* out, uint64_t min) {
  auto text = scalarAt(key);
  if (!text) return false;
  auto v = parseSize(*text);
  if (!v) {
    r_->error(get(key), std::string(key) + ": " + v.error());
    return false;
  }
  if (*v < min) {
    r_->error(get(key), std::string(key) + " must be at least " + std::to_string(min) +
                            " bytes, got " + *text);
    return false;
  }
  *out = *v;
  return true;
}

bool MapReader::readRate(std::string_view key, Rate* out) {
  auto text = scalarAt(key);
  if (!text) return false;
  auto v = parseRate(*text);
  if (!v) {
    r_->error(get(key), std::string(key) + ": " + v.error());
    return false;
  }
  *out = *v;
  return true;
}

bool MapReader::readPercent(std::string_view key, double* out) {
  auto text = scalarAt(key);
  if (!text) return false;
  auto v = parsePercent(*text);
  if (!v) {
    r_->error(get(key), std::string(key) + ": " + v.error());
    return false;
  }
  *out = *v;
  return true;
}

bool MapReader::readAddress(std::string_view key, Address* out) {
  auto text = scalarAt(key);
  if (!text) return false;
  auto v = parseAddress(*text);
  if (!v) {
    r_->error(get(key), std::string(key) + ": " + v.error());
    return false;
  }
  *out = *v;
  return true;
}

bool MapReader::readPath(std::string_view key, std::string* out) {
  auto text = scalarAt(key);
  if (!text) return false;
  if (text->empty()) {
    r_->error(get(key), std::string(key) + ": the path is empty; write a file path");
    return false;
  }
  *out = r_->resolvePath(*text);
  return true;
}

bool MapReader::readStrings(std::string_view key, std::vector<std::string>* out) {
  if (!has(key)) return false;
  auto items = r_->list(get(key), key);
  if (!items) return false;
  std::vector<std::string> values;
  bool ok = true;
  for (size_t i = 0; i < items->size(); ++i) {
    auto v = r_->string((*items)[i], std::string(key) + "[" + std::to_string(i) + "]");
    if (v) values.push_back(std::move(*v));
    ok = ok && v.has_value();
  }
  if (ok) *out = std::move(values);
  return ok;
}

bool MapReader::readName(std::string_view key, std::string* out) {
  if (!require(key, "name: api")) return false;
  auto v = scalarAt(key);
  if (!v) return false;
  if (!isValidName(*v)) {
    r_->error(get(key), std::string(key) + " \"" + *v +
                            "\" may only use letters, digits, \"_\", \".\" and \"-\" (it "
                            "becomes a metric label)");
    return false;
  }
  *out = std::move(*v);
  return true;
}

}  // namespace sluice::config
