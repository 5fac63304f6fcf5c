// `access_log.format` as a template: a line of literal text and `$name` / `${name}` variables,
// the names being the JSON access-log fields (config::kAccessLogFields), for operators who want
// nginx-style lines. Compiled once per config; formatting a record walks the segments.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/stream/access_log.h"

namespace sluice::proxy {

class AccessLogTemplate {
 public:
  // `line` must have passed config::checkAccessLogTemplate; an unknown name prints nothing.
  static std::shared_ptr<const AccessLogTemplate> compile(std::string_view line);

  // Appends the line and '\n'. Strings are escaped as nginx does (appendLogField), an absent
  // value prints as "-", times are RFC 3339 and durations milliseconds with three decimals.
  void format(const AccessRecord& record, std::string& out) const;

 private:
  struct Segment {
    std::string literal;  // printed before the field
    int field = -1;       // index into config::kAccessLogFields, -1 for none
  };
  std::vector<Segment> segments_;
};

}  // namespace sluice::proxy
