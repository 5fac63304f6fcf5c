#include "filters/gzip.h"

#include <charconv>
#include <cstdlib>

namespace sluice::filters {

namespace {
std::string_view trim(std::string_view s) {
  return base::trimOws(s);
}
bool iequals(std::string_view a, std::string_view b) {
  return base::equalsIgnoreCase(a, b);
}

// A qvalue (RFC 9110 §12.4.2) in thousandths; malformed ones count as 1.
int parseQ(std::string_view params) {
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view p = trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view{} : params.substr(semi + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') continue;
    std::string_view v = trim(p.substr(2));
    if (v.empty() || (v[0] != '0' && v[0] != '1')) return 1000;
    int q = (v[0] - '0') * 1000;
    if (v.size() > 1 && v[1] == '.') {
      int scale = 100;
      for (size_t i = 2; i < v.size() && i < 5 && scale > 0; ++i, scale /= 10) {
        if (v[i] < '0' || v[i] > '9') break;
        q += (v[i] - '0') * scale;
      }
    }
    return q > 1000 ? 1000 : q;
  }
  return 1000;
}
}  // namespace

Encoding chooseEncoding(const std::string* accept_encoding,
                        const std::vector<Encoding>& preferred) {
  if (accept_encoding == nullptr) return Encoding::Identity;
  int q[4] = {-1, -1, -1, -1};  // per Encoding; -1 = not named
  int star = -1;
  std::string_view rest = *accept_encoding;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    size_t semi = item.find(';');
    std::string_view coding = trim(item.substr(0, semi));
    int value = semi == std::string_view::npos ? 1000 : parseQ(item.substr(semi + 1));
    if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
      q[static_cast<int>(Encoding::Gzip)] = value;
    } else if (iequals(coding, "br")) {
      q[static_cast<int>(Encoding::Brotli)] = value;
    } else if (iequals(coding, "zstd")) {
      q[static_cast<int>(Encoding::Zstd)] = value;
    } else if (coding == "*") {
      star = value;
    }
  }
  Encoding best = Encoding::Identity;
  int best_q = 0;
  for (Encoding e : preferred) {
    int v = q[static_cast<int>(e)];
    if (v < 0) v = star;
    if (v > best_q) {  // strictly greater: ties keep the earlier (config order)
      best = e;
      best_q = v;
    }
  }
  return best;
}

bool mediaTypeMatches(std::string_view content_type, const std::vector<std::string>& types) {
  std::string_view mt = trim(content_type.substr(0, content_type.find(';')));
  size_t slash = mt.find('/');
  if (slash == std::string_view::npos) return false;
  for (const std::string& t : types) {
    std::string_view range = t;
    if (range.size() >= 2 && range.substr(range.size() - 2) == "/*") {
      if (iequals(mt.substr(0, slash + 1), range.substr(0, range.size() - 1))) return true;
    } else if (iequals(mt, range)) {
      return true;
    }
  }
  return false;
}

void weakenEtag(base::HeaderMap& headers) {
  const std::string* etag = headers.get("etag");
  if (etag == nullptr || etag->empty() || etag->front() != '"') return;
  headers.set("etag", "W/" + *etag);
}

namespace {
std::string joinedField(const base::HeaderMap& headers, std::string_view lname) {
  std::string joined;
  for (const base::Header& h : headers) {
    if (h.name != lname) continue;
    if (!joined.empty()) joined += ", ";
    joined += h.value;
  }
  return joined;
}

// Whether the If-None-Match list holds the weak form of the strong `etag` ("x" -> W/"x"): the
// client holds a variant this filter compressed, whose ETag it weakened.
bool holdsWeakened(std::string_view inm, std::string_view etag) {
  if (etag.empty() || etag.front() != '"') return false;
  return base::anyListMember(inm, [&](std::string_view member) {
    std::string_view item = base::trimOws(member);
    return item.size() == etag.size() + 2 && item.substr(0, 2) == "W/" && item.substr(2) == etag;
  });
}

class GzipFilter final : public Filter {
 public:
  explicit GzipFilter(const GzipFactory& f) : f_(f) {}

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks&) override {
    head_ = head.method == "HEAD";
    // Several Accept-Encoding lines are one list (RFC 9110 §5.3).
    if (head.headers.count("accept-encoding") > 1) {
      std::string ae = joinedField(head.headers, "accept-encoding");
      chosen_ = chooseEncoding(&ae, f_.encodings());
    } else {
      chosen_ = chooseEncoding(head.headers.get("accept-encoding"), f_.encodings());
    }
    inm_ = joinedField(head.headers, "if-none-match");
    return FilterStatus::Continue;
  }

  // May run twice for one request when a response filter substitutes a reply: each head starts
  // afresh. A HEAD gets the head a GET would (RFC 9110 §9.3.2), without an encoder.
  FilterStatus onResponseHeaders(base::ResponseHead& head, FilterCallbacks&) override {
    encoder_.reset();
    if (head.status == 304) {
      notModified(head.headers);
      return FilterStatus::Continue;
    }
    if (!eligible(head)) return FilterStatus::Continue;
    addVary(head.headers);  // the answer depends on Accept-Encoding whether or not we encode
    if (chosen_ == Encoding::Identity) return FilterStatus::Continue;
    if (!head_) {
      encoder_ = makeEncoder(chosen_, f_.config().level);
      if (!encoder_) return FilterStatus::Continue;
    }
    head.headers.set("content-encoding", std::string(encodingToken(chosen_)));
    head.headers.remove("content-length");  // the proxy re-frames the response
    // Byte ranges of the identity body are not ranges of this one (RFC 9110 §14).
    head.headers.remove("accept-ranges");
    weakenEtag(head.headers);
    return FilterStatus::Continue;
  }

  FilterStatus onResponseBody(std::string& data, bool end, FilterCallbacks&) override {
    if (!encoder_) return FilterStatus::Continue;
    // Small pieces (an upstream writing a few bytes at a time) are gathered first: a flush per
    // piece costs a few bytes each and can make the output larger than the input. What is held
    // is below kGatherBytes and goes out with the next piece or the end.
    if (!end && held_.size() + data.size() < kGatherBytes) {
      held_.append(data);
      data.clear();
      return FilterStatus::Continue;
    }
    if (!held_.empty()) {
      held_.append(data);
      data.swap(held_);
      held_.clear();
    }
    out_.clear();
    size_t in_bytes = data.size();
    if (!encoder_->encode(data, end, out_)) {
      // The library failed (out of memory): nothing sane can follow. Drop the rest; the client
      // sees a truncated stream it cannot decode, which is what a broken upstream would give.
      encoder_.reset();
      data.clear();
      return FilterStatus::Continue;
    }
    data.swap(out_);
    const CompressionCounters& c = f_.counters();
    auto e = static_cast<size_t>(chosen_);
    if (c.in[e] != nullptr) c.in[e]->inc(in_bytes);
    if (c.out[e] != nullptr) c.out[e]->inc(data.size());
    if (end) encoder_.reset();
    return FilterStatus::Continue;
  }

 private:
  // A 304 carries the Vary and ETag the 200 would have (RFC 9110 §15.4.5). Unless its own fields
  // say the 200 would not have been touched, it gets Vary; its strong ETag becomes weak when the
  // client's If-None-Match named the weak form, i.e. the client holds a compressed variant.
  void notModified(base::HeaderMap& h) const {
    if (const std::string* ce = h.get("content-encoding")) {
      if (!ce->empty() && !iequals(trim(*ce), "identity")) return;
    }
    if (const std::string* cc = h.get("cache-control")) {
      if (base::headerHasToken(*cc, "no-transform")) return;
    }
    const std::string* ct = h.get("content-type");
    if (ct != nullptr && !mediaTypeMatches(*ct, f_.config().types)) return;
    addVary(h);
    const std::string* etag = h.get("etag");
    if (etag != nullptr && holdsWeakened(inm_, *etag)) weakenEtag(h);
  }

  bool eligible(const base::ResponseHead& head) const {
    int s = head.status;
    if (s < 200 || s == 204 || s == 206 || s == 304) return false;
    if (const std::string* ce = head.headers.get("content-encoding")) {
      if (!ce->empty() && !iequals(trim(*ce), "identity")) return false;
    }
    if (const std::string* cc = head.headers.get("cache-control")) {
      if (base::headerHasToken(*cc, "no-transform")) return false;
    }
    const std::string* ct = head.headers.get("content-type");
    if (ct == nullptr || !mediaTypeMatches(*ct, f_.config().types)) return false;
    if (const std::string* cl = head.headers.get("content-length")) {
      uint64_t n = 0;
      auto r = std::from_chars(cl->data(), cl->data() + cl->size(), n);
      if (r.ec == std::errc() && n < f_.config().min_bytes) return false;
    }
    return true;
  }

  static void addVary(base::HeaderMap& h) {
    const std::string* vary = h.get("vary");
    if (vary == nullptr) {
      h.add("vary", "Accept-Encoding");
    } else if (!base::headerHasToken(*vary, "accept-encoding") &&
               !base::headerHasToken(*vary, "*")) {
      h.set("vary", *vary + ", Accept-Encoding");
    }
  }

  const GzipFactory& f_;
  static constexpr size_t kGatherBytes = 4096;
  std::unique_ptr<Encoder> encoder_;
  std::string out_;
  std::string held_;
  std::string inm_;  // the request's If-None-Match, joined
  Encoding chosen_ = Encoding::Identity;
  bool head_ = false;
};
}  // namespace

CompressionCounters compressionCounters(base::MetricsRegistry& registry) {
  base::CounterFamily& in = registry.counter(
      "sluice_compression_bytes_in_total",
      "Response body bytes given to the gzip filter's encoders, by encoding.", {"encoding"});
  base::CounterFamily& out = registry.counter(
      "sluice_compression_bytes_out_total",
      "Compressed bytes the gzip filter's encoders produced, by encoding.", {"encoding"});
  CompressionCounters c;
  for (Encoding e : {Encoding::Gzip, Encoding::Brotli, Encoding::Zstd}) {
    c.in[static_cast<size_t>(e)] = &in.with({encodingToken(e)});
    c.out[static_cast<size_t>(e)] = &out.with({encodingToken(e)});
  }
  return c;
}

GzipFactory::GzipFactory(const config::GzipFilter& cfg, CompressionCounters counters)
    : cfg_(cfg), counters_(counters) {
  for (const std::string& e : cfg_.encodings) {
    if (e == "gzip") encodings_.push_back(Encoding::Gzip);
    if (e == "br") encodings_.push_back(Encoding::Brotli);
    if (e == "zstd") encodings_.push_back(Encoding::Zstd);
  }
}

std::unique_ptr<Filter> GzipFactory::create() const {
  return std::make_unique<GzipFilter>(*this);
}

}  // namespace sluice::filters
