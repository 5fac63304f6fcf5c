#include "proxy/admin/status_charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "proxy/admin/status_page.h"

namespace sluice::proxy {

namespace {
constexpr double kPanelWidth = 200;
constexpr double kPanelHeight = 50;
constexpr double kPanelGap = 14;
constexpr double kTextHeight = 16;

std::string fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A short figure for a label: 3 significant digits at most.
std::string shortNum(double v) {
  if (v < 0) return "–";
  char buf[32];
  if (v >= 100 || v == std::floor(v)) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

// The top of a panel's scale: 1, 2 or 5 times a power of ten at or above the largest value,
// and at least `floor` (a flat line at 0 stays at the bottom).
double niceTop(const double* v, size_t n, double floor) {
  double m = floor;
  for (size_t i = 0; i < n; ++i) m = std::max(m, v[i]);
  double p = std::pow(10, std::floor(std::log10(m)));
  for (double f : {1.0, 2.0, 5.0, 10.0}) {
    if (f * p >= m) return f * p;
  }
  return 10 * p;
}

// The last value that is not a gap, or -1.
double lastValue(const double* v, size_t n) {
  for (size_t i = n; i > 0; --i) {
    if (v[i - 1] >= 0) return v[i - 1];
  }
  return -1;
}

std::string panel(const double* values, size_t n, double floor, double scale, const char* id,
                  const char* title, const char* unit, double x) {
  double top = niceTop(values, n, floor);
  std::string d = chartPath(values, n, top, kPanelWidth, kPanelHeight);
  std::string out = "<g class=\"panel\" transform=\"translate(" + fixed(x, 0) + " 0)\">";
  out += "<text x=\"0\" y=\"11\">" + std::string(title) + " <tspan class=\"now\">" +
         shortNum(lastValue(values, n) * scale) + unit + "</tspan> <tspan class=\"max\">(max " +
         shortNum(top * scale) + unit + ")</tspan></text>";
  out += "<rect x=\"0\" y=\"" + fixed(kTextHeight, 0) + "\" width=\"" + fixed(kPanelWidth, 0) +
         "\" height=\"" + fixed(kPanelHeight, 0) + "\"/>";
  out += "<path class=\"line\" data-panel=\"" + std::string(id) + "\" transform=\"translate(0 " +
         fixed(kTextHeight, 0) + ")\" d=\"" + d + "\"/></g>";
  return out;
}
}  // namespace

std::string chartPath(const double* values, size_t n, double top, double width, double height) {
  std::string d;
  bool pen_down = false;
  double step = n > 1 ? width / static_cast<double>(n - 1) : 0;
  for (size_t i = 0; i < n; ++i) {
    if (values[i] < 0 || top <= 0) {
      pen_down = false;  // no sample in this slot: a gap
      continue;
    }
    double y = height * (1 - std::min(values[i], top) / top);
    d += pen_down ? " L" : (d.empty() ? "M" : " M");
    d += fixed(static_cast<double>(i) * step, 1) + " " + fixed(y, 1);
    if (!pen_down && (i + 1 == n || values[i + 1] < 0)) {
      d += i + 1 == n ? " h-2" : " h2";  // a point alone: a short dash, or nothing would show
    }
    pen_down = true;
  }
  return d;
}

std::string renderChart(const SeriesView& v, std::string_view kind, std::string_view name) {
  const size_t n = kWindowSlots;
  double total_width = 3 * kPanelWidth + 2 * kPanelGap;
  double total_height = kTextHeight + kPanelHeight + 1;
  std::string label = std::string(kind) + " " + std::string(name);
  std::string out = "<svg class=\"chart\" data-" + std::string(kind) + "=\"" + htmlEscape(name) +
                    "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                    fixed(total_width, 0) + " " + fixed(total_height, 0) + "\" width=\"" +
                    fixed(total_width, 0) + "\" height=\"" + fixed(total_height, 0) +
                    "\" role=\"img\" aria-label=\"" + htmlEscape(label) +
                    ": requests per second, p99 latency and 5xx share, last 5 minutes\">";
  out += panel(v.rate.data(), n, 1, 1, "rate", "req/s", "", 0);
  out += panel(v.p99_ms.data(), n, 1, 1, "p99", "p99", " ms", kPanelWidth + kPanelGap);
  out +=
      panel(v.share_5xx.data(), n, 0.01, 100, "errors", "5xx", "%", 2 * (kPanelWidth + kPanelGap));
  out += "</svg>";
  return out;
}

}  // namespace sluice::proxy
