// The `gzip` filter: compresses upstream responses with gzip, brotli or zstd, as the client's
// Accept-Encoding and the configured `encodings` order allow, streaming chunk by chunk.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.h"
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

class GzipFactory final : public FilterFactory {
 public:
  explicit GzipFactory(const config::GzipFilter& cfg);
  std::unique_ptr<Filter> create() const override;
  bool needsResponseBody() const override { return true; }

  const config::GzipFilter& config() const { return cfg_; }
  const std::vector<Encoding>& encodings() const { return encodings_; }

 private:
  config::GzipFilter cfg_;
  std::vector<Encoding> encodings_;
};

}  // namespace sluice::filters
