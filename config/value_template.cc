#include "config/value_template.h"

#include "config/units.h"

namespace sluice::config {
namespace {

struct Named {
  std::string_view name;
  TemplateVar var;
};
constexpr Named kPlain[] = {
    {"client_ip", TemplateVar::ClientIp}, {"request_id", TemplateVar::RequestId},
    {"host", TemplateVar::Host},          {"path", TemplateVar::Path},
    {"query", TemplateVar::Query},        {"method", TemplateVar::Method},
    {"scheme", TemplateVar::Scheme},      {"route", TemplateVar::Route},
    {"consumer", TemplateVar::Consumer},
};

void addLiteral(std::vector<ValueTemplate::Piece>& out, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && !out.back().is_var) {
    out.back().text.append(text);
  } else {
    out.push_back(ValueTemplate::Piece{false, TemplateVar::ClientIp, std::string(text)});
  }
}

// One variable name (between `${` and `}`) into a piece, or an error message.
std::optional<ValueTemplate::Piece> variable(std::string_view name, std::string* error) {
  for (const Named& n : kPlain) {
    if (name == n.name) return ValueTemplate::Piece{true, n.var, {}};
  }
  if (name.rfind("header.", 0) == 0) {
    std::string_view arg = name.substr(7);
    if (isHttpToken(arg)) return ValueTemplate::Piece{true, TemplateVar::Header, toLower(arg)};
    *error = "${" + std::string(name) + "}: NAME must be a header name, e.g. ${header.x-tenant}";
    return std::nullopt;
  }
  if (name.rfind("jwt.", 0) == 0) {
    std::string_view arg = name.substr(4);
    if (!arg.empty()) return ValueTemplate::Piece{true, TemplateVar::Jwt, std::string(arg)};
    *error = "${jwt.}: name the claim, e.g. ${jwt.sub}";
    return std::nullopt;
  }
  *error = "unknown variable ${" + std::string(name) + "}; use " + templateVariableList() +
           " (write $$ for a literal $)";
  return std::nullopt;
}

}  // namespace

const char* templateVariableList() {
  return "${client_ip}, ${request_id}, ${host}, ${path}, ${query}, ${method}, ${scheme}, "
         "${route}, ${header.NAME}, ${jwt.CLAIM}, ${consumer}";
}

std::optional<ValueTemplate> ValueTemplate::parse(std::string_view text, std::string* error) {
  ValueTemplate t;
  size_t i = 0;
  while (i < text.size()) {
    size_t dollar = text.find('$', i);
    if (dollar == std::string_view::npos || dollar + 1 == text.size()) {
      addLiteral(t.pieces_, text.substr(i));
      break;
    }
    addLiteral(t.pieces_, text.substr(i, dollar - i));
    char next = text[dollar + 1];
    if (next == '$') {
      addLiteral(t.pieces_, "$");
      i = dollar + 2;
    } else if (next == '{') {
      size_t close = text.find('}', dollar + 2);
      if (close == std::string_view::npos) {
        *error = "\"${\" without a closing \"}\"; write ${name}, or $$ for a literal $";
        return std::nullopt;
      }
      auto piece = variable(text.substr(dollar + 2, close - dollar - 2), error);
      if (!piece) return std::nullopt;
      t.pieces_.push_back(std::move(*piece));
      t.has_vars_ = true;
      i = close + 1;
    } else {
      addLiteral(t.pieces_, "$");
      i = dollar + 1;
    }
  }
  return t;
}

ValueTemplate ValueTemplate::literal(std::string text) {
  ValueTemplate t;
  if (!text.empty()) t.pieces_.push_back(Piece{false, TemplateVar::ClientIp, std::move(text)});
  return t;
}

std::string ValueTemplate::expand(const TemplateVariables& vars) const {
  std::string out;
  for (const Piece& p : pieces_) {
    if (p.is_var) {
      out.append(vars.value(p.var, p.text));
    } else {
      out.append(p.text);
    }
  }
  return out;
}

}  // namespace sluice::config
