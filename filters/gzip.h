// The `gzip` filter: compresses upstream responses with gzip, brotli or zstd, as the client's
// Accept-Encoding and the configured `encodings` order allow, streaming chunk by chunk.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.h"
#include "filters/base/metrics_registry.h"
#include "filters/encoder.h"
#include "filters/filter.h"

namespace sluice::filters {

// The encoding to use among `preferred` (config order) for an Accept-Encoding value: the highest
// q-value wins, ties go to the config order; `q=0` excludes, `*` covers the codings not named.
// Identity when the field is absent or nothing acceptable is configured.
Encoding chooseEncoding(const std::string* accept_encoding, const std::vector<Encoding>& preferred);

// Whether `content_type` (parameters ignored, case-insensitive) matches one of `types`
// (lower-case media ranges such as "text/*" or "application/json").
bool mediaTypeMatches(std::string_view content_type, const std::vector<std::string>& types);

// Turns a strong ETag into a weak one (`"x"` -> `W/"x"`); weak ones are kept.
void weakenEtag(base::HeaderMap& headers);

// sluice_compression_bytes_in_total / _out_total by encoding: body bytes given to an encoder and
// what it made of them. Index: Encoding (Identity unused). Null pointers count nothing.
struct CompressionCounters {
  base::Counter* in[4] = {};
  base::Counter* out[4] = {};
};
// Declares both families on `registry` and resolves the series of gzip, br and zstd.
CompressionCounters compressionCounters(base::MetricsRegistry& registry);

class GzipFactory final : public FilterFactory {
 public:
  explicit GzipFactory(const config::GzipFilter& cfg, CompressionCounters counters = {});
  std::unique_ptr<Filter> create() const override;
  bool needsResponseBody() const override { return true; }

  const config::GzipFilter& config() const { return cfg_; }
  const std::vector<Encoding>& encodings() const { return encodings_; }
  const CompressionCounters& counters() const { return counters_; }

 private:
  config::GzipFilter cfg_;
  CompressionCounters counters_;
  std::vector<Encoding> encodings_;
};

}  // namespace sluice::filters
