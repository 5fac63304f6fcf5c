#include "filters/cache_store.h"

#include <algorithm>

namespace sluice::filters {

namespace {
constexpr size_t kEntryOverhead = 256;  // bookkeeping per stored variant, roughly

std::string_view trimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// q-value in thousandths of one Accept-Encoding member's parameters.
int qOf(std::string_view params) {
  size_t q = params.find("q=");
  if (q == std::string_view::npos) q = params.find("Q=");
  if (q == std::string_view::npos) return 1000;
  std::string_view v = trimView(params.substr(q + 2));
  if (v.empty() || v[0] == '1') return 1000;
  int out = 0, scale = 100;
  for (size_t i = 2; i < v.size() && i < 5 && v[0] == '0' && v.size() > 1 && v[1] == '.'; ++i) {
    if (v[i] < '0' || v[i] > '9') break;
    out += (v[i] - '0') * scale;
    scale /= 10;
  }
  return out;
}
}  // namespace

int64_t CachedResponse::ageAt(int64_t now_ms) const {
  int64_t resident = now_ms - response_time_ms;
  return initial_age_ms + (resident > 0 ? resident : 0);
}

size_t CachedResponse::bytes() const {
  size_t n = kEntryOverhead + (body ? body->size() : 0) + etag.size() + last_modified.size();
  for (const base::Header& h : headers) n += h.name.size() + h.value.size() + 32;
  for (const auto& [k, v] : vary) n += k.size() + v.size() + 32;
  return n;
}

std::string varyValue(std::string_view lname, const base::HeaderMap& request) {
  std::string joined;
  for (const base::Header& h : request) {
    if (h.name != lname) continue;
    if (!joined.empty()) joined += ',';
    joined += h.value;
  }
  if (lname == "accept-encoding") {
    // gzip / br / zstd / * with their q-values, in a fixed order.
    static const char* kCodings[] = {"br", "gzip", "zstd", "*"};
    int q[4] = {-1, -1, -1, -1};
    std::string_view rest = joined;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      size_t semi = item.find(';');
      std::string lower(trimView(item.substr(0, semi)));
      base::toLowerInPlace(lower);
      if (lower == "x-gzip") lower = "gzip";
      for (int i = 0; i < 4; ++i) {
        if (lower == kCodings[i]) {
          q[i] = semi == std::string_view::npos ? 1000 : qOf(item.substr(semi + 1));
        }
      }
    }
    std::string out;
    for (int i = 0; i < 4; ++i) {
      if (q[i] < 0) continue;
      out += kCodings[i];
      out += '=';
      out += std::to_string(q[i]);
      out += ';';
    }
    return out;
  }
  std::string out;
  bool blank = false;
  for (char c : joined) {
    if (c == ' ' || c == '\t') {
      blank = true;
      continue;
    }
    if (blank && !out.empty()) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

CacheStore::CacheStore(uint64_t max_bytes, base::Gauge* bytes_gauge, base::Gauge* entries_gauge,
                       base::Counter* evictions)
    : max_bytes_(max_bytes),
      shard_capacity_(max_bytes / kShards),
      gauge_(bytes_gauge),
      entries_gauge_(entries_gauge),
      evictions_(evictions) {}

CacheStore::~CacheStore() {
  if (gauge_ != nullptr) gauge_->sub(static_cast<double>(bytes_.load()));
  if (entries_gauge_ != nullptr) entries_gauge_->sub(static_cast<double>(entries_.load()));
}

CacheStore::Shard& CacheStore::shardOf(std::string_view key) {
  return shards_[std::hash<std::string_view>{}(key) % kShards];
}

void CacheStore::account(int64_t delta) {
  if (delta >= 0) {
    bytes_.fetch_add(static_cast<uint64_t>(delta), std::memory_order_relaxed);
  } else {
    bytes_.fetch_sub(static_cast<uint64_t>(-delta), std::memory_order_relaxed);
  }
  if (gauge_ != nullptr) gauge_->add(static_cast<double>(delta));
}

void CacheStore::countEntries(int64_t delta) {
  entries_.fetch_add(delta, std::memory_order_relaxed);
  if (entries_gauge_ != nullptr) entries_gauge_->add(static_cast<double>(delta));
}

void CacheStore::eraseLocked(Shard& s, std::list<Item>::iterator it) {
  countEntries(-static_cast<int64_t>(it->variants.size()));
  s.bytes -= it->bytes;
  account(-static_cast<int64_t>(it->bytes));
  s.index.erase(std::string_view(it->key));
  s.lru.erase(it);
}

CachedPtr CacheStore::lookup(const std::string& key, const base::HeaderMap& request) {
  Shard& s = shardOf(key);
  std::lock_guard lock(s.mu);
  auto found = s.index.find(std::string_view(key));
  if (found == s.index.end()) return nullptr;
  auto it = found->second;
  if (it != s.lru.begin()) s.lru.splice(s.lru.begin(), s.lru, it);
  for (const CachedPtr& v : it->variants) {
    bool match = true;
    for (const auto& [name, value] : v->vary) {
      if (varyValue(name, request) != value) {
        match = false;
        break;
      }
    }
    if (match) return v;
  }
  return nullptr;
}

bool CacheStore::insert(const std::string& key, CachedPtr entry) {
  size_t size = entry->bytes() + key.size();
  if (size > shard_capacity_) return false;
  Shard& s = shardOf(key);
  std::lock_guard lock(s.mu);
  auto found = s.index.find(std::string_view(key));
  std::list<Item>::iterator it;
  if (found == s.index.end()) {
    s.lru.push_front(Item{key, {}, key.size()});
    it = s.lru.begin();
    s.index.emplace(std::string_view(it->key), it);
    s.bytes += it->bytes;
    account(static_cast<int64_t>(it->bytes));
  } else {
    it = found->second;
    if (it != s.lru.begin()) s.lru.splice(s.lru.begin(), s.lru, it);
    // Replace the variant stored for the same Vary values.
    auto& vs = it->variants;
    for (auto v = vs.begin(); v != vs.end();) {
      if ((*v)->vary == entry->vary) {
        size_t b = (*v)->bytes();
        it->bytes -= b;
        s.bytes -= b;
        account(-static_cast<int64_t>(b));
        countEntries(-1);
        v = vs.erase(v);
      } else {
        ++v;
      }
    }
  }
  size_t b = entry->bytes();
  it->variants.push_back(std::move(entry));
  countEntries(1);
  it->bytes += b;
  s.bytes += b;
  account(static_cast<int64_t>(b));
  while (s.bytes > shard_capacity_ && !s.lru.empty()) {
    auto last = std::prev(s.lru.end());
    if (evictions_ != nullptr) evictions_->inc(last->variants.size());
    eraseLocked(s, last);
  }
  return s.index.count(std::string_view(key)) != 0;
}

size_t CacheStore::purge(std::string_view key, bool prefix) {
  size_t n = 0;
  for (Shard& s : shards_) {
    if (!prefix && &s != &shardOf(key)) continue;
    std::lock_guard lock(s.mu);
    if (!prefix) {
      auto found = s.index.find(key);
      if (found != s.index.end()) {
        eraseLocked(s, found->second);
        ++n;
      }
      continue;
    }
    for (auto it = s.lru.begin(); it != s.lru.end();) {
      auto next = std::next(it);
      if (std::string_view(it->key).substr(0, key.size()) == key) {
        eraseLocked(s, it);
        ++n;
      }
      it = next;
    }
  }
  return n;
}

bool CacheStore::beginFill(const std::string& key, std::shared_ptr<Waker> waker,
                           FillWaiter waiter) {
  Shard& s = shardOf(key);
  std::lock_guard lock(s.mu);
  auto [it, inserted] = s.fills.try_emplace(key);
  if (inserted) return true;
  if (waker && waiter) it->second.push_back(Waiting{std::move(waker), std::move(waiter)});
  return false;
}

void CacheStore::endFill(const std::string& key, bool origin_failed) {
  std::vector<Waiting> waiting;
  {
    Shard& s = shardOf(key);
    std::lock_guard lock(s.mu);
    auto it = s.fills.find(key);
    if (it == s.fills.end()) return;
    waiting = std::move(it->second);
    s.fills.erase(it);
  }
  for (Waiting& w : waiting) {
    w.waker->wake(
        [fn = std::move(w.fn), origin_failed](FilterCallbacks& cb) { fn(cb, origin_failed); });
  }
}

bool CacheStore::beginRefresh(const std::string& key) {
  Shard& s = shardOf(key);
  std::lock_guard lock(s.mu);
  return s.refreshing.insert(key).second;
}

void CacheStore::endRefresh(const std::string& key) {
  Shard& s = shardOf(key);
  std::lock_guard lock(s.mu);
  s.refreshing.erase(key);
}

void CacheStore::eraseVariant(const std::string& key, const CachedPtr& entry) {
  Shard& s = shardOf(key);
  std::lock_guard lock(s.mu);
  auto found = s.index.find(std::string_view(key));
  if (found == s.index.end()) return;
  auto it = found->second;
  auto& vs = it->variants;
  auto v = std::find(vs.begin(), vs.end(), entry);
  if (v == vs.end()) return;
  if (vs.size() == 1) {
    eraseLocked(s, it);
    return;
  }
  size_t b = (*v)->bytes();
  it->bytes -= b;
  s.bytes -= b;
  account(-static_cast<int64_t>(b));
  countEntries(-1);
  vs.erase(v);
}

void CacheRegistry::add(const std::shared_ptr<CacheStore>& store) {
  std::lock_guard lock(mu_);
  stores_.erase(std::remove_if(stores_.begin(), stores_.end(),
                               [](const std::weak_ptr<CacheStore>& w) { return w.expired(); }),
                stores_.end());
  for (const auto& w : stores_) {
    if (w.lock() == store) return;
  }
  stores_.push_back(store);
}

size_t CacheRegistry::purge(std::string_view key, bool prefix) {
  std::vector<std::shared_ptr<CacheStore>> live;
  {
    std::lock_guard lock(mu_);
    for (const auto& w : stores_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  size_t n = 0;
  for (const auto& s : live) n += s->purge(key, prefix);
  return n;
}

namespace {

// The value of `name` in an application/x-www-form-urlencoded string.
bool formField(std::string_view form, std::string_view name, std::string& out) {
  while (!form.empty()) {
    size_t amp = form.find('&');
    std::string_view pair = form.substr(0, amp);
    form = amp == std::string_view::npos ? std::string_view{} : form.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name && eq != std::string_view::npos) {
      out = base::formDecode(pair.substr(eq + 1));
      return true;
    }
  }
  return false;
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}
}  // namespace

PurgeOutcome purgeFromAdmin(base::StateStore& state, std::string_view query,
                            std::string_view body) {
  std::string value;
  bool prefix = false;
  std::string_view trimmed_body = trimView(body);
  while (!trimmed_body.empty() && (trimmed_body.back() == '\n' || trimmed_body.back() == '\r')) {
    trimmed_body.remove_suffix(1);
  }
  if (formField(query, "key", value) || formField(trimmed_body, "key", value)) {
    prefix = false;
  } else if (formField(query, "prefix", value) || formField(trimmed_body, "prefix", value)) {
    prefix = true;
  } else {
    return {400, "give key=HOST/PATH?QUERY or prefix=HOST/PATH (query or form body)\n"};
  }
  if (value.empty() && !prefix) return {400, "key: empty\n"};
  auto registry = state.getOrCreate<CacheRegistry>(
      kCacheRegistryKey, [] { return std::make_shared<CacheRegistry>(); });
  size_t n = registry->purge(value, prefix);
  return {200,
          std::string("{\"") + (prefix ? "prefix" : "key") + "\":" + jsonString(value) +
              ",\"purged\":" + std::to_string(n) + "}\n",
          value, prefix};
}

}  // namespace sluice::filters
