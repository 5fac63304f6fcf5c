#include "filters/basic_auth.h"

#include <openssl/crypto.h>

namespace sluice::filters {

namespace {
int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding (RFC 4648 §4), as RFC 7617 uses; false on anything else.
bool decodeBase64(std::string_view in, std::string& out) {
  out.clear();
  if (in.empty() || in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = base64Value(c)) < 0) {
        return false;
      }
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>(n >> 16));
    if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return true;
}

void cleanse(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

class BasicAuth final : public Filter {
 public:
  explicit BasicAuth(const BasicAuthFactory& f) : f_(f) {}
  ~BasicAuth() override {
    cleanse(user_);
    cleanse(password_);
  }

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    const std::string* field = head.headers.get("authorization");
    if (field == nullptr || !parseBasicCredentials(*field, user_, password_)) {
      return deny(cb, "authentication required");
    }
    const std::string* hash = f_.hashOf(user_);
    if (hash != nullptr && f_.verifier().cached(user_, password_, *hash)) return allow(cb);
    if (f_.decoyHash().empty()) return deny(cb, "wrong user or password");
    std::shared_ptr<Waker> waker = cb.waker();
    bool known = hash != nullptr;
    bool queued =
        waker != nullptr && f_.verifier().submit(
                                user_, password_, known ? *hash : f_.decoyHash(),
                                [waker, known, this](PasswordVerifier::Result r) {
                                  // Pool thread: only the woken function touches `this`,
                                  // and only while the request lives.
                                  waker->wake([this, known, r](FilterCallbacks& c) {
                                    finish(c, known ? r : PasswordVerifier::Result::Mismatch);
                                  });
                                },
                                known);
    if (!queued) {
      f_.counters().error->inc();
      base::HeaderMap extra;
      extra.add("retry-after", "1");
      cb.sendError(503, "too many password checks waiting", &extra);
      return FilterStatus::Stop;
    }
    return FilterStatus::Stop;
  }

  bool wantsResponseHeaders() const override { return false; }

 private:
  void finish(FilterCallbacks& cb, PasswordVerifier::Result r) {
    switch (r) {
      case PasswordVerifier::Result::Match:
        allow(cb);
        cb.continueRequest();
        return;
      case PasswordVerifier::Result::Mismatch:
        deny(cb, "wrong user or password");
        return;
      case PasswordVerifier::Result::Error:
        f_.counters().error->inc();
        cb.sendError(500, "the password could not be checked", nullptr);
        return;
    }
  }

  FilterStatus allow(FilterCallbacks& cb) {
    f_.counters().allowed->inc();
    cb.setConsumer(user_);
    cleanse(password_);
    return FilterStatus::Continue;
  }

  FilterStatus deny(FilterCallbacks& cb, std::string_view why) {
    f_.counters().denied->inc();
    cleanse(password_);
    sendUnauthorized(cb, f_.challenge(), why);
    return FilterStatus::Stop;
  }

  const BasicAuthFactory& f_;
  std::string user_;
  std::string password_;
};
}  // namespace

bool parseBasicCredentials(std::string_view field, std::string& user, std::string& password) {
  constexpr std::string_view kScheme = "basic ";
  if (field.size() <= kScheme.size() ||
      !base::equalsIgnoreCase(field.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  std::string_view token = field.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  std::string decoded;
  if (!decodeBase64(token, decoded)) return false;
  size_t colon = decoded.find(':');
  bool ok = colon != std::string::npos && colon > 0;
  if (ok) {
    user.assign(decoded, 0, colon);
    password.assign(decoded, colon + 1);
  }
  cleanse(decoded);
  return ok;
}

BasicAuthFactory::BasicAuthFactory(const config::BasicAuthFilter& cfg, AuthCounters counters,
                                   PasswordVerifier& verifier)
    : challenge_("Basic realm=\"" + cfg.realm + "\""), counters_(counters), verifier_(verifier) {
  for (const config::HtpasswdEntry& e : cfg.users) users_.emplace(e.user, e.hash);
  if (!cfg.users.empty()) decoy_ = cfg.users.front().hash;
}

const std::string* BasicAuthFactory::hashOf(const std::string& user) const {
  auto it = users_.find(user);
  return it == users_.end() ? nullptr : &it->second;
}

std::unique_ptr<Filter> BasicAuthFactory::create() const {
  return std::make_unique<BasicAuth>(*this);
}

}  // namespace sluice::filters
