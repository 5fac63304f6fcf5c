#include "filters/jwt.h"

#include <chrono>

#include "config/units.h"
#include "filters/auth/jwt_token.h"
#include "filters/auth/sha256.h"
#include "ratelimit/key_expr.h"

namespace sluice::filters {

namespace {
// How long a verified token without exp stays cached (its signature is not checked again).
constexpr int64_t kNoExpCacheSeconds = 300;

constexpr std::string_view kChallenge = "Bearer realm=\"sluice\"";

bool startsWithBearer(std::string_view v) {
  return v.size() >= 7 && base::equalsIgnoreCase(v.substr(0, 6), "bearer") && v[6] == ' ';
}

// The token the request carries, or an empty view (pointing into `head`).
std::string_view findToken(const config::JwtFilter& cfg, const base::RequestHead& head) {
  switch (cfg.from) {
    case config::JwtFilter::From::Header: {
      const std::string* v = head.headers.get(cfg.from_name);
      if (v == nullptr) return {};
      std::string_view t = *v;
      if (cfg.from_name == "authorization") {
        if (!startsWithBearer(t)) return {};
        t.remove_prefix(7);
      }
      while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
      while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
      return t;
    }
    case config::JwtFilter::From::Cookie:
      for (const base::Header& h : head.headers) {
        if (h.name != "cookie") continue;
        if (auto v = ratelimit::cookieValue(h.value, cfg.from_name)) return *v;
      }
      return {};
    case config::JwtFilter::From::Query:
      if (auto v = ratelimit::queryValue(head.query(), cfg.from_name)) return *v;
      return {};
  }
  return {};
}

class Jwt final : public Filter {
 public:
  explicit Jwt(const JwtFactory& f) : f_(f) {}

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    const config::JwtFilter& cfg = f_.config();
    // Only sluice speaks for the token's claims: client-sent fields of those names go, always.
    for (const auto& [claim, header] : cfg.claims_to_headers) head.headers.remove(header);
    if (cfg.from == config::JwtFilter::From::Query) cb.redactQueryParameter(cfg.from_name);
    head_ = &head;  // the request's own head: it outlives a wait for the key set
    if (f_.source() != nullptr) f_.source()->refreshInBackground(cb);
    return decide(cb, true);
  }

  bool wantsResponseHeaders() const override { return false; }

 private:
  // Checks the request's token; with `may_wait`, a token whose key is not in a fetched set waits
  // for a (rate-limited) refresh of the set and is checked again after it.
  FilterStatus decide(FilterCallbacks& cb, bool may_wait) {
    const config::JwtFilter& cfg = f_.config();
    std::string_view token = findToken(cfg, *head_);
    if (token.empty()) {
      if (cfg.optional) {
        f_.counters().allowed->inc();
        return FilterStatus::Continue;
      }
      f_.counters().denied->inc();
      sendUnauthorized(cb, kChallenge, "bearer token required");
      return FilterStatus::Stop;
    }
    std::string why;
    bool unknown_key = false;
    std::shared_ptr<const JwtClaims> claims = f_.verify(token, &why, &unknown_key);
    if (!claims && unknown_key && may_wait && f_.source() != nullptr) {
      bool early = f_.source()->keys() != nullptr;
      if (f_.source()->refresh(cb, early, cb.waker(), [this](FilterCallbacks& cb) {
            if (decide(cb, false) == FilterStatus::Continue) cb.continueRequest();
          })) {
        return FilterStatus::Stop;
      }
    }
    if (!claims) {
      f_.counters().denied->inc();
      std::string challenge(kChallenge);
      challenge += ", error=\"invalid_token\", error_description=\"" + why + "\"";
      sendUnauthorized(cb, challenge, why);
      return FilterStatus::Stop;
    }
    for (const auto& [claim, header] : cfg.claims_to_headers) {
      // A claim with CR, LF or NUL cannot be a field value.
      const std::string* v = claims->find(claim);
      if (v != nullptr && config::isValidHeaderValue(*v)) head_->headers.add(header, *v);
    }
    f_.counters().allowed->inc();
    cb.setJwtClaims(std::move(claims));
    return FilterStatus::Continue;
  }

  const JwtFactory& f_;
  base::RequestHead* head_ = nullptr;
};
}  // namespace

JwtFactory::JwtFactory(const config::JwtFilter& cfg, AuthCounters counters)
    : cfg_(cfg), counters_(counters) {}

std::shared_ptr<const JwtFactory> JwtFactory::make(const config::JwtFilter& cfg,
                                                   AuthCounters counters, std::string* error,
                                                   std::function<int64_t()> now) {
  std::shared_ptr<JwtFactory> f(new JwtFactory(cfg, counters));
  f->now_ = now ? std::move(now) : [] {
    return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  };
  for (const std::string& name : cfg.algorithms) {
    auto alg = auth::parseJwsAlg(name);
    if (!alg) {
      *error = "algorithm \"" + name + "\" is not supported";
      return nullptr;
    }
    f->algorithms_.push_back(*alg);
  }
  for (size_t i = 0; i < cfg.jwks.size(); ++i) {
    std::string why;
    auto key = auth::VerifyKey::fromJwk(cfg.jwks[i], &why);
    if (!key) {
      *error = "jwks key " + std::to_string(i) + ": " + why;
      return nullptr;
    }
    f->keys_.push_back(std::move(key));
  }
  if (!cfg.jwks_url.empty()) {
    f->source_ =
        std::make_shared<auth::JwksSource>(cfg.jwks_url, cfg.jwks_upstream, cfg.jwks_refresh);
  }
  if (!cfg.secret.empty()) f->secret_ = auth::VerifyKey::fromSecret(cfg.secret);
  f->cfg_.jwks.clear();    // the keys live in keys_ only
  f->cfg_.secret.clear();  // and the secret in secret_
  return f;
}

std::shared_ptr<const JwtClaims> JwtFactory::verify(std::string_view token, std::string* why,
                                                    bool* unknown_key) const {
  if (token.size() > auth::kMaxTokenBytes) {
    *why = "token too large";
    return nullptr;
  }
  auth::TokenDigest digest;
  if (!auth::sha256(token, digest)) {
    *why = "internal error";
    return nullptr;
  }
  int64_t now = now_();
  if (auto hit = cache_.find(digest, now)) return hit;

  auto t = auth::parseToken(token, why);
  if (!t) return nullptr;
  auto alg = auth::parseJwsAlg(t->alg);
  bool allowed = false;
  for (auth::JwsAlg a : algorithms_) allowed = allowed || (alg && a == *alg);
  if (!allowed) {
    *why = "algorithm not accepted";
    return nullptr;
  }
  bool good = false;
  if (secret_ && secret_->fits(*alg)) {
    good = secret_->verify(*alg, t->signing_input, t->signature);
  } else {
    bool known = false;
    std::shared_ptr<const auth::KeySet> fetched = source_ ? source_->keys() : nullptr;
    static const auth::KeySet kNone;
    const auth::KeySet* keys = &keys_;
    if (source_) keys = fetched ? fetched.get() : &kNone;
    for (const auto& key : *keys) {
      if (!key->fits(*alg) || (!t->kid.empty() && key->kid() != t->kid)) continue;
      known = true;
      if (key->verify(*alg, t->signing_input, t->signature)) {
        good = true;
        break;
      }
    }
    if (!known) {
      if (unknown_key != nullptr) *unknown_key = true;
      *why = "unknown key";
      return nullptr;
    }
  }
  if (!good) {
    *why = "invalid signature";
    return nullptr;
  }
  if (auto bad = auth::checkClaims(*t, cfg_, now)) {
    *why = *bad;
    return nullptr;
  }
  int64_t leeway = std::chrono::duration_cast<std::chrono::seconds>(cfg_.leeway).count();
  int64_t until = t->exp ? *t->exp + leeway : now + kNoExpCacheSeconds;
  cache_.insert(digest, t->claims, until);
  return t->claims;
}

std::unique_ptr<Filter> JwtFactory::create() const {
  return std::make_unique<Jwt>(*this);
}

}  // namespace sluice::filters
