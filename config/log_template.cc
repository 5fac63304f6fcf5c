#include "config/log_template.h"

#include <cctype>

#include "config/config.h"

namespace sluice::config {

std::vector<LogTemplatePiece> splitLogTemplate(std::string_view line, std::string* error) {
  std::vector<LogTemplatePiece> pieces;
  LogTemplatePiece current;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] != '$') {
      current.literal.push_back(line[i]);
      continue;
    }
    if (i + 1 < line.size() && line[i + 1] == '{') {
      size_t close = line.find('}', i + 2);
      if (close == std::string_view::npos) {
        if (error != nullptr) *error = "unclosed ${ at character " + std::to_string(i);
        return {};
      }
      current.variable.assign(line.substr(i + 2, close - i - 2));
      i = close;
    } else {
      size_t end = i + 1;
      while (end < line.size() &&
             (std::isalnum(static_cast<unsigned char>(line[end])) || line[end] == '_')) {
        ++end;
      }
      current.variable.assign(line.substr(i + 1, end - i - 1));
      i = end - 1;
    }
    current.has_variable = true;
    pieces.push_back(std::move(current));
    current = LogTemplatePiece{};
  }
  if (!current.literal.empty()) pieces.push_back(std::move(current));
  return pieces;
}

std::string checkAccessLogTemplate(std::string_view line) {
  std::string error;
  std::vector<LogTemplatePiece> pieces = splitLogTemplate(line, &error);
  if (!error.empty()) return error;
  for (const LogTemplatePiece& p : pieces) {
    bool known = !p.has_variable;
    for (const char* field : kAccessLogFields) known = known || p.variable == field;
    if (!known) {
      std::string list;
      for (const char* field : kAccessLogFields) {
        list += std::string(list.empty() ? "" : ", ") + field;
      }
      return "unknown variable $" + p.variable + "; the variables are " + list;
    }
  }
  return {};
}

}  // namespace sluice::config
