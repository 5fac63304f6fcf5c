// A small Prometheus registry (text exposition format 0.0.4) for a multi-threaded proxy.
// Families are declared once at startup; worker threads cache the series they count into, so
// the hot path is one relaxed atomic operation and never takes a lock or allocates.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::base {

// Request-duration buckets in seconds: 0.5 ms up to 10 s.
inline constexpr std::array<double, 14> kDefaultDurationBuckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

// Monotonic counter. Any thread; relaxed ordering (a scrape needs no happens-before).
class alignas(64) Counter {
 public:
  void inc(uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. A double so it can hold fractional timestamps; integers are
// exact up to 2^53, far beyond any connection count or byte size it will hold.
class alignas(64) Gauge {
 public:
  void set(double v) noexcept { value_.store(v, std::memory_order_relaxed); }
  void add(double d) noexcept { value_.fetch_add(d, std::memory_order_relaxed); }
  void sub(double d) noexcept { value_.fetch_sub(d, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Lock-free histogram. Buckets are stored non-cumulative (one increment per observation) and
// summed at scrape time; _count is derived from the buckets so the two always agree.
class alignas(64) Histogram {
 public:
  explicit Histogram(std::span<const double> bounds);
  ~Histogram();
  void observe(double v) noexcept;  // NaN is ignored
  // The same, and the observation becomes its bucket's exemplar (OpenMetrics) when `trace_id`
  // (32 hex digits of a sampled trace) is given: the latest one per bucket is kept.
  void observe(double v, std::string_view trace_id) noexcept;

  struct Exemplar {
    char trace_id[32] = {};
    double value = 0;
    double unix_seconds = 0;
    bool set = false;
  };
  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    double sum = 0;
    std::vector<Exemplar> exemplars;  // per bucket as `cumulative`, or empty when none was kept
  };
  Snapshot snapshot() const;

 private:
  // One bucket's exemplar behind a try-lock: a writer that finds it busy skips (another
  // request just set it), the scrape waits for it.
  struct ExemplarSlot {
    std::atomic_flag busy;
    Exemplar exemplar;
  };

  std::span<const double> bounds_;                    // owned by the family, sorted, finite
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 (+Inf)
  std::atomic<double> sum_{0};
  std::atomic<ExemplarSlot*> exemplars_{nullptr};  // allocated with the first exemplar
};

enum class MetricType { Counter, Gauge, Histogram };

// What every family has; the registry renders through this.
class Family {
 public:
  virtual ~Family() = default;
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& labelNames() const { return label_names_; }
  std::span<const double> bounds() const { return bounds_; }  // histograms only

 protected:
  Family(MetricType type, std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds);

 private:
  MetricType type_;
  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  std::vector<double> bounds_;
};

// Orders label-value tuples, and lets a tuple of string_views look up stored strings.
struct LabelValuesLess {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](std::string_view x, std::string_view y) { return x < y; });
  }
};

// The series of one family, keyed by label values, rendered in sorted label order.
template <class T>
class SeriesFamily : public Family {
 public:
  // Returns the series for these label values (one per label name, in declaration order),
  // creating it on first use under the family mutex. The address is stable for the life of the
  // registry: callers on worker threads look it up once and cache the reference.
  // A wrong number of values is a programming error: it asserts, and in release builds returns
  // a sink series that is never rendered. Does not throw on the hot path (allocation only on
  // first use).
  T& with(std::initializer_list<std::string_view> values) {
    return with(std::span<const std::string_view>(values.begin(), values.size()));
  }
  T& with(std::span<const std::string_view> values);
  T& with(std::span<const std::string> values);

  // Calls fn(label_values, series) for every series in label order, under the family mutex.
  template <class Fn>
  void forEach(Fn&& fn) const {
    std::lock_guard lock(mu_);
    for (const auto& [values, series] : series_) fn(values, *series);
  }

 protected:
  SeriesFamily(MetricType type, std::string name, std::string help, std::vector<std::string> labels,
               std::vector<double> bounds = {});

 private:
  template <class V>
  T& lookup(std::span<const V> values);
  std::unique_ptr<T> make() const;

  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, LabelValuesLess> series_;
  std::unique_ptr<T> sink_;
};

class CounterFamily final : public SeriesFamily<Counter> {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> labels);
};

class GaugeFamily final : public SeriesFamily<Gauge> {
 public:
  GaugeFamily(std::string name, std::string help, std::vector<std::string> labels);
};

class HistogramFamily final : public SeriesFamily<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> labels,
                  std::vector<double> bounds);
};

// Values a collector computes at scrape time (cache size, keys tracked by a limiter, target
// health). They belong to a family declared on the registry, are rendered with its series, and
// last for one scrape only, so a series that disappears (a route removed by a reload) simply
// stops being reported. A collected value replaces a stored series with the same labels.
class Exposition {
 public:
  void set(const GaugeFamily& family, std::initializer_list<std::string_view> values, double v);
  void set(const CounterFamily& family, std::initializer_list<std::string_view> values, uint64_t v);

 private:
  friend class MetricsRegistry;
  void add(const Family& family, std::initializer_list<std::string_view> values, std::string value);
  // Per family: label values -> rendered sample value.
  std::map<const Family*, std::map<std::vector<std::string>, std::string, LabelValuesLess>>
      samples_;
};

// Holds the families, in declaration order. Declaring is done at startup (any thread, under a
// mutex); render() is called by the admin listener for GET /metrics.
class MetricsRegistry {
 public:
  using Collector = std::function<void(Exposition&)>;
  using CollectorId = uint64_t;

  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, counters must end in "_total", label names
  // [a-zA-Z_][a-zA-Z0-9_]* (not "__*", not "le" on histograms), histogram bounds strictly
  // increasing and finite (+Inf is implicit). Declaring an existing name with the same type
  // returns the existing family. Violations are programming errors and assert.
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  HistogramFamily& histogram(std::string name, std::string help,
                             std::vector<std::string> labels = {},
                             std::vector<double> bounds = {kDefaultDurationBuckets.begin(),
                                                           kDefaultDurationBuckets.end()});

  // Collectors run at the start of every render(), on the rendering thread, in the order they
  // were added. The callback must be safe to call from that thread.
  CollectorId addCollector(Collector collector);
  void removeCollector(CollectorId id);

  // The whole exposition, text format 0.0.4: families in declaration order (HELP and TYPE
  // even when a family has no series), series sorted by label values.
  std::string render() const { return render(false); }
  // OpenMetrics 1.0 text (counter families named without `_total`, histogram bucket exemplars,
  // `# EOF`), for a scraper whose Accept asks for application/openmetrics-text.
  std::string renderOpenMetrics() const { return render(true); }

 private:
  std::string render(bool openmetrics) const;
  template <class F, class... Args>
  F& declare(MetricType type, std::string name, Args&&... args);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Family>> families_;
  std::vector<std::unique_ptr<Family>> rejected_;  // declared with a conflicting type
  std::vector<std::pair<CollectorId, Collector>> collectors_;
  CollectorId next_collector_id_ = 1;
};

// Text-format helpers, exposed for tests and for other exposition writers.
void appendEscapedLabelValue(std::string_view value, std::string& out);  // \\ \" \n
void appendEscapedHelp(std::string_view help, std::string& out);         // \\ \n
void appendSampleValue(double v, std::string& out);  // shortest round-trip, +Inf/-Inf/NaN

}  // namespace sluice::base
