#include "filters/api_key.h"

#include <openssl/crypto.h>

#include "filters/auth/sha256.h"
#include "ratelimit/key_expr.h"

namespace sluice::filters {

namespace {

class ApiKey final : public Filter {
 public:
  explicit ApiKey(const ApiKeyFactory& f) : f_(f) {}

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    const config::ApiKeyFilter& cfg = f_.config();
    std::string decoded;  // a query key, form-decoded (a header's is used in place)
    std::string_view key;
    if (cfg.from_query) {
      cb.redactQueryParameter(cfg.name);
      if (auto v = ratelimit::queryValue(head.query(), cfg.name)) {
        decoded = base::formDecode(*v);
        key = decoded;
      }
    } else if (const std::string* v = head.headers.get(cfg.name)) {
      key = *v;
    }
    bool present = !key.empty();
    const std::string* consumer = present ? f_.consumerOf(key) : nullptr;
    if (!decoded.empty()) OPENSSL_cleanse(decoded.data(), decoded.size());
    if (consumer == nullptr) {
      f_.counters().denied->inc();
      sendUnauthorized(cb, f_.challenge(), present ? "invalid API key" : "API key required");
      return FilterStatus::Stop;
    }
    f_.counters().allowed->inc();
    cb.setConsumer(*consumer);
    return FilterStatus::Continue;
  }

  bool wantsResponseHeaders() const override { return false; }

 private:
  const ApiKeyFactory& f_;
};
}  // namespace

ApiKeyFactory::ApiKeyFactory(const config::ApiKeyFilter& cfg, AuthCounters counters)
    : cfg_(cfg),
      challenge_(std::string("ApiKey ") + (cfg.from_query ? "query" : "header") + "=\"" + cfg.name +
                 "\""),
      counters_(counters) {
  for (const config::ApiKeyEntry& e : cfg.keys) {
    Key k;
    for (size_t i = 0; i < 32; ++i) {  // the loader checked: 64 hex digits
      k.sha256[i] = static_cast<unsigned char>(base::hexDigitValue(e.key_sha256[2 * i]) * 16 +
                                               base::hexDigitValue(e.key_sha256[2 * i + 1]));
    }
    k.consumer = e.consumer;
    keys_.push_back(std::move(k));
  }
  cfg_.keys.clear();  // the hashes live in keys_ only
}

const std::string* ApiKeyFactory::consumerOf(std::string_view key) const {
  auth::Sha256Digest md;
  if (!auth::sha256(key, md)) return nullptr;
  const std::string* found = nullptr;
  for (const Key& k : keys_) {
    // Every entry is compared, whether or not an earlier one matched.
    bool same = CRYPTO_memcmp(md.data(), k.sha256.data(), md.size()) == 0;
    if (same && found == nullptr) found = &k.consumer;
  }
  OPENSSL_cleanse(md.data(), md.size());
  return found;
}

std::unique_ptr<Filter> ApiKeyFactory::create() const {
  return std::make_unique<ApiKey>(*this);
}

}  // namespace sluice::filters
