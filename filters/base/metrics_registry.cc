#include "filters/base/metrics_registry.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <new>

namespace sluice::base {
namespace {

bool validName(std::string_view s, bool allow_colon) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

[[maybe_unused]] bool validFamily(MetricType type, std::string_view name,
                                  const std::vector<std::string>& labels,
                                  const std::vector<double>& bounds) {
  if (!validName(name, true)) return false;
  if (type == MetricType::Counter && !name.ends_with("_total")) return false;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!validName(labels[i], false) || labels[i].starts_with("__")) return false;
    if (type == MetricType::Histogram && labels[i] == "le") return false;
    for (size_t j = 0; j < i; ++j) {
      if (labels[i] == labels[j]) return false;
    }
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i]) || (i > 0 && !(bounds[i - 1] < bounds[i]))) return false;
  }
  return true;
}

const char* typeName(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Histogram:
      return "histogram";
  }
  return "untyped";
}

// `name{a="x",b="y"` without the closing brace, so a histogram can append `,le="..."`.
void appendSeriesPrefix(std::string& out, std::string_view name, std::string_view suffix,
                        const std::vector<std::string>& label_names,
                        const std::vector<std::string>& values) {
  out.append(name);
  out.append(suffix);
  out.push_back('{');
  for (size_t i = 0; i < label_names.size(); ++i) {
    if (i > 0) out.push_back(',');
    out.append(label_names[i]);
    out.append("=\"");
    appendEscapedLabelValue(values[i], out);
    out.push_back('"');
  }
}

void appendSample(std::string& out, std::string_view name, std::string_view suffix,
                  const std::vector<std::string>& label_names,
                  const std::vector<std::string>& values, std::string_view value) {
  if (label_names.empty()) {
    out.append(name);
    out.append(suffix);
  } else {
    appendSeriesPrefix(out, name, suffix, label_names, values);
    out.push_back('}');
  }
  out.push_back(' ');
  out.append(value);
  out.push_back('\n');
}

std::string formatValue(double v) {
  std::string s;
  appendSampleValue(v, s);
  return s;
}

void renderHistogram(const HistogramFamily& family, bool exemplars, std::string& out) {
  const auto& names = family.labelNames();
  std::string le_value;
  family.forEach([&](const std::vector<std::string>& values, const Histogram& h) {
    Histogram::Snapshot snap = h.snapshot();
    auto bounds = family.bounds();
    for (size_t i = 0; i < snap.cumulative.size(); ++i) {
      appendSeriesPrefix(out, family.name(), "_bucket", names, values);
      if (!names.empty()) out.push_back(',');
      out.append("le=\"");
      if (i < bounds.size()) {
        appendSampleValue(bounds[i], out);
      } else {
        out.append("+Inf");
      }
      out.append("\"} ");
      out.append(std::to_string(snap.cumulative[i]));
      if (exemplars && i < snap.exemplars.size() && snap.exemplars[i].set) {
        const Histogram::Exemplar& e = snap.exemplars[i];
        out.append(" # {trace_id=\"");
        out.append(e.trace_id, 32);
        out.append("\"} ");
        appendSampleValue(e.value, out);
        out.push_back(' ');
        char ts[32];
        int n = std::snprintf(ts, sizeof ts, "%.3f", e.unix_seconds);
        if (n > 0) out.append(ts, static_cast<size_t>(n));
      }
      out.push_back('\n');
    }
    appendSample(out, family.name(), "_sum", names, values, formatValue(snap.sum));
    appendSample(out, family.name(), "_count", names, values,
                 std::to_string(snap.cumulative.back()));
  });
}

}  // namespace

// ---- text-format helpers ----

void appendEscapedLabelValue(std::string_view value, std::string& out) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out.append("\\\\");
        break;
      case '"':
        out.append("\\\"");
        break;
      case '\n':
        out.append("\\n");
        break;
      default:
        out.push_back(c);
    }
  }
}

void appendEscapedHelp(std::string_view help, std::string& out) {
  for (char c : help) {
    if (c == '\\') {
      out.append("\\\\");
    } else if (c == '\n') {
      out.append("\\n");
    } else {
      out.push_back(c);
    }
  }
}

void appendSampleValue(double v, std::string& out) {
  if (std::isnan(v)) {
    out.append("NaN");
  } else if (std::isinf(v)) {
    out.append(v > 0 ? "+Inf" : "-Inf");
  } else {
    // Shortest round-trip digits; plain notation for the usual magnitudes (so le="0.0005" and
    // timestamps read naturally), exponent notation only for very small or huge values.
    double mag = std::fabs(v);
    auto fmt = (mag == 0 || (mag >= 1e-4 && mag < 1e21)) ? std::chars_format::fixed
                                                         : std::chars_format::scientific;
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, v, fmt);
    out.append(buf, res.ptr);
  }
}

// ---- series ----

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) noexcept {
  if (std::isnan(v)) return;
  // Bucket i holds bounds_[i-1] < v <= bounds_[i]; past the last bound is +Inf.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::~Histogram() {
  delete[] exemplars_.load(std::memory_order_acquire);
}

void Histogram::observe(double v, std::string_view trace_id) noexcept {
  observe(v);
  if (std::isnan(v) || trace_id.size() != 32) return;
  ExemplarSlot* slots = exemplars_.load(std::memory_order_acquire);
  if (slots == nullptr) {
    auto* fresh = new (std::nothrow) ExemplarSlot[bounds_.size() + 1];
    if (fresh == nullptr) return;
    if (exemplars_.compare_exchange_strong(slots, fresh, std::memory_order_acq_rel)) {
      slots = fresh;
    } else {
      delete[] fresh;  // another thread published its array first: `slots` is that one
    }
  }
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
  ExemplarSlot& slot = slots[i];
  if (slot.busy.test_and_set(std::memory_order_acquire)) return;
  std::memcpy(slot.exemplar.trace_id, trace_id.data(), 32);
  slot.exemplar.value = v;
  slot.exemplar.unix_seconds =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  slot.exemplar.set = true;
  slot.busy.clear(std::memory_order_release);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative[i] = running;
  }
  snap.sum = sum_.load(std::memory_order_relaxed);
  if (ExemplarSlot* slots = exemplars_.load(std::memory_order_acquire)) {
    snap.exemplars.resize(bounds_.size() + 1);
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      while (slots[i].busy.test_and_set(std::memory_order_acquire)) {
      }
      snap.exemplars[i] = slots[i].exemplar;
      slots[i].busy.clear(std::memory_order_release);
    }
  }
  return snap;
}

// ---- families ----

Family::Family(MetricType type, std::string name, std::string help, std::vector<std::string> labels,
               std::vector<double> bounds)
    : type_(type),
      name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(labels)),
      bounds_(std::move(bounds)) {}

template <class T>
SeriesFamily<T>::SeriesFamily(MetricType type, std::string name, std::string help,
                              std::vector<std::string> labels, std::vector<double> bounds)
    : Family(type, std::move(name), std::move(help), std::move(labels), std::move(bounds)),
      sink_(make()) {
  // A family without labels has exactly one series; it exists (and renders) from the start.
  if (labelNames().empty()) series_.emplace(std::vector<std::string>{}, make());
}

template <class T>
std::unique_ptr<T> SeriesFamily<T>::make() const {
  if constexpr (std::is_same_v<T, Histogram>) {
    return std::make_unique<Histogram>(bounds());
  } else {
    return std::make_unique<T>();
  }
}

template <class T>
template <class V>
T& SeriesFamily<T>::lookup(std::span<const V> values) {
  assert(values.size() == labelNames().size() && "label value count must match label names");
  if (values.size() != labelNames().size()) return *sink_;
  std::lock_guard lock(mu_);
  auto it = series_.find(values);
  if (it == series_.end()) {
    it = series_.emplace(std::vector<std::string>(values.begin(), values.end()), make()).first;
  }
  return *it->second;
}

template <class T>
T& SeriesFamily<T>::with(std::span<const std::string_view> values) {
  return lookup(values);
}

template <class T>
T& SeriesFamily<T>::with(std::span<const std::string> values) {
  return lookup(values);
}

template class SeriesFamily<Counter>;
template class SeriesFamily<Gauge>;
template class SeriesFamily<Histogram>;

CounterFamily::CounterFamily(std::string name, std::string help, std::vector<std::string> labels)
    : SeriesFamily(MetricType::Counter, std::move(name), std::move(help), std::move(labels)) {}

GaugeFamily::GaugeFamily(std::string name, std::string help, std::vector<std::string> labels)
    : SeriesFamily(MetricType::Gauge, std::move(name), std::move(help), std::move(labels)) {}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> labels, std::vector<double> bounds)
    : SeriesFamily(MetricType::Histogram, std::move(name), std::move(help), std::move(labels),
                   std::move(bounds)) {}

// ---- exposition (collectors) ----

void Exposition::add(const Family& family, std::initializer_list<std::string_view> values,
                     std::string value) {
  assert(values.size() == family.labelNames().size());
  if (values.size() != family.labelNames().size()) return;
  samples_[&family].insert_or_assign(std::vector<std::string>(values.begin(), values.end()),
                                     std::move(value));
}

void Exposition::set(const GaugeFamily& family, std::initializer_list<std::string_view> values,
                     double v) {
  add(family, values, formatValue(v));
}

void Exposition::set(const CounterFamily& family, std::initializer_list<std::string_view> values,
                     uint64_t v) {
  add(family, values, std::to_string(v));
}

// ---- registry ----

template <class F, class... Args>
F& MetricsRegistry::declare(MetricType type, std::string name, Args&&... args) {
  std::lock_guard lock(mu_);
  for (auto& f : families_) {
    if (f->name() != name) continue;
    assert(f->type() == type && "metric family redeclared with another type");
    if (f->type() == type) return static_cast<F&>(*f);
    // Release builds: hand back a family that is never rendered rather than corrupt output.
    rejected_.push_back(std::make_unique<F>(std::move(name), std::forward<Args>(args)...));
    return static_cast<F&>(*rejected_.back());
  }
  auto family = std::make_unique<F>(std::move(name), std::forward<Args>(args)...);
  assert(validFamily(type, family->name(), family->labelNames(),
                     {family->bounds().begin(), family->bounds().end()}) &&
         "invalid metric family declaration");
  families_.push_back(std::move(family));
  return static_cast<F&>(*families_.back());
}

CounterFamily& MetricsRegistry::counter(std::string name, std::string help,
                                        std::vector<std::string> labels) {
  return declare<CounterFamily>(MetricType::Counter, std::move(name), std::move(help),
                                std::move(labels));
}

GaugeFamily& MetricsRegistry::gauge(std::string name, std::string help,
                                    std::vector<std::string> labels) {
  return declare<GaugeFamily>(MetricType::Gauge, std::move(name), std::move(help),
                              std::move(labels));
}

HistogramFamily& MetricsRegistry::histogram(std::string name, std::string help,
                                            std::vector<std::string> labels,
                                            std::vector<double> bounds) {
  return declare<HistogramFamily>(MetricType::Histogram, std::move(name), std::move(help),
                                  std::move(labels), std::move(bounds));
}

MetricsRegistry::CollectorId MetricsRegistry::addCollector(Collector collector) {
  std::lock_guard lock(mu_);
  CollectorId id = next_collector_id_++;
  collectors_.emplace_back(id, std::move(collector));
  return id;
}

void MetricsRegistry::removeCollector(CollectorId id) {
  std::lock_guard lock(mu_);
  std::erase_if(collectors_, [id](const auto& c) { return c.first == id; });
}

std::string MetricsRegistry::render(bool openmetrics) const {
  std::vector<Collector> collectors;
  std::vector<const Family*> families;
  {
    std::lock_guard lock(mu_);
    for (const auto& c : collectors_) collectors.push_back(c.second);
    for (const auto& f : families_) families.push_back(f.get());
  }
  // Run collectors without the registry lock so they may declare or look up series.
  Exposition collected;
  for (const auto& c : collectors) c(collected);

  std::string out;
  for (const Family* family : families) {
    // OpenMetrics names a counter family without the `_total` of its samples.
    std::string_view meta = family->name();
    if (openmetrics && family->type() == MetricType::Counter && meta.ends_with("_total")) {
      meta.remove_suffix(6);
    }
    out.append("# HELP ");
    out.append(meta);
    out.push_back(' ');
    appendEscapedHelp(family->help(), out);
    out.append("\n# TYPE ");
    out.append(meta);
    out.push_back(' ');
    out.append(typeName(family->type()));
    out.push_back('\n');

    if (family->type() == MetricType::Histogram) {
      renderHistogram(static_cast<const HistogramFamily&>(*family), openmetrics, out);
      continue;
    }
    // Stored series, overlaid by this scrape's collected values, in label order.
    std::map<std::vector<std::string>, std::string, LabelValuesLess> rows;
    if (family->type() == MetricType::Counter) {
      static_cast<const CounterFamily&>(*family).forEach(
          [&](const std::vector<std::string>& v, const Counter& c) {
            rows.emplace(v, std::to_string(c.value()));
          });
    } else {
      static_cast<const GaugeFamily&>(*family).forEach(
          [&](const std::vector<std::string>& v, const Gauge& g) {
            rows.emplace(v, formatValue(g.value()));
          });
    }
    if (auto it = collected.samples_.find(family); it != collected.samples_.end()) {
      for (auto& [values, value] : it->second) rows.insert_or_assign(values, value);
    }
    for (const auto& [values, value] : rows) {
      appendSample(out, family->name(), "", family->labelNames(), values, value);
    }
  }
  if (openmetrics) out.append("# EOF\n");
  return out;
}

}  // namespace sluice::base
