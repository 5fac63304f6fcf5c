#include "proxy/admin/metrics_negotiation.h"

#include <cstdlib>
#include <string>

namespace sluice::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool prefersOpenMetrics(std::string_view accept) {
  double om = -1, text = -1, any = -1;
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view item = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    size_t semi = item.find(';');
    std::string_view type = trim(item.substr(0, semi));
    double q = 1;
    while (semi != std::string_view::npos) {
      item = item.substr(semi + 1);
      semi = item.find(';');
      std::string_view param = trim(item.substr(0, semi));
      if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        q = std::strtod(std::string(param.substr(2)).c_str(), nullptr);
      }
    }
    double* slot = equalsIgnoreCase(type, "application/openmetrics-text") ? &om
                   : equalsIgnoreCase(type, "text/plain")                 ? &text
                   : type == "*/*"                                        ? &any
                                                                          : nullptr;
    if (slot != nullptr && q > *slot) *slot = q;  // several versions: the best q counts
  }
  double rival = text >= 0 ? text : any;
  return om > 0 && om >= rival;
}

}  // namespace sluice::proxy
