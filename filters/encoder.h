// Streaming content encoders for the `gzip` filter: one per file (encoder_gzip.cc,
// encoder_brotli.cc, encoder_zstd.cc) behind this small interface.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace sluice::filters {

enum class Encoding { Identity, Gzip, Brotli, Zstd };

// The Content-Encoding token of an encoding ("gzip", "br", "zstd"; "identity").
std::string_view encodingToken(Encoding e);

// One response body's compression stream. Called on one worker thread, chunk by chunk.
class Encoder {
 public:
  virtual ~Encoder() = default;
  // Appends the compressed form of `in` to `out` and flushes, so everything given so far can
  // be decoded by the client (a streamed response is not held back). `end` finishes the
  // stream. Returns false when the library fails; the stream is unusable then.
  virtual bool encode(std::string_view in, bool end, std::string& out) = 0;
};

// `level` is the filter's 1..9 (zlib's levels; brotli's quality and zstd's level use the same
// number). Null when the library cannot allocate its state.
std::unique_ptr<Encoder> makeGzipEncoder(int level);
std::unique_ptr<Encoder> makeBrotliEncoder(int level);
std::unique_ptr<Encoder> makeZstdEncoder(int level);
std::unique_ptr<Encoder> makeEncoder(Encoding e, int level);

}  // namespace sluice::filters
