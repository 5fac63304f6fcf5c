// A header value (later a redirect target) with variables, `${client_ip}`, `${header.x-a}`...:
// parsed once when the config is loaded, expanded per request from what the caller supplies.
// Pure logic; the filters layer knows where each variable's value comes from.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

enum class TemplateVar {
  ClientIp,   // ${client_ip}
  RequestId,  // ${request_id}
  Host,       // ${host}
  Path,       // ${path}
  Query,      // ${query}
  Method,     // ${method}
  Scheme,     // ${scheme}
  Route,      // ${route}
  Header,     // ${header.NAME}: arg is NAME, lower-case
  Jwt,        // ${jwt.CLAIM}: arg is CLAIM
  Consumer,   // ${consumer}
};

// Where expansion takes each variable's value from. The view must stay valid until expand()
// returns; an absent value is empty.
class TemplateVariables {
 public:
  virtual ~TemplateVariables() = default;
  virtual std::string_view value(TemplateVar var, std::string_view arg) const = 0;
};

class ValueTemplate {
 public:
  struct Piece {
    bool is_var = false;
    TemplateVar var = TemplateVar::ClientIp;
    std::string text;  // the literal text, or the variable's argument (header name, claim)
  };

  // Parses `text`: `${name}` is a variable, `$$` a literal `$`; any other `$` is itself. An
  // unknown name, `${` without `}` or an empty NAME/CLAIM gives nullopt and sets `error` to a
  // message naming the problem and the valid variables.
  static std::optional<ValueTemplate> parse(std::string_view text, std::string* error);
  // A template of fixed text (no parsing).
  static ValueTemplate literal(std::string text);

  // True when the value has no variables.
  bool isLiteral() const { return !has_vars_; }
  const std::vector<Piece>& pieces() const { return pieces_; }
  std::string expand(const TemplateVariables& vars) const;

 private:
  std::vector<Piece> pieces_;
  bool has_vars_ = false;
};

// "${client_ip}, ${request_id}, ..." for messages.
const char* templateVariableList();

}  // namespace sluice::config
