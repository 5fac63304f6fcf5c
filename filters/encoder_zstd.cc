// zstd (RFC 8878) through ZSTD_compressStream2, flushed per chunk.
#include <zstd.h>

#include "filters/encoder.h"

namespace sluice::filters {

namespace {
class ZstdEncoder final : public Encoder {
 public:
  explicit ZstdEncoder(int level) : c_(ZSTD_createCCtx()) {
    if (c_ == nullptr) return;
    ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel, level);
    // RFC 8878 §3.1.1.1.2: decoders need only support windows up to 8 MiB; 2^21 stays well
    // inside what browsers accept.
    ZSTD_CCtx_setParameter(c_, ZSTD_c_windowLog, 21);
  }
  ~ZstdEncoder() override { ZSTD_freeCCtx(c_); }
  bool valid() const { return c_ != nullptr; }

  bool encode(std::string_view in, bool end, std::string& out) override {
    if (c_ == nullptr || failed_) return false;
    if (!end && in.empty()) return true;
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    ZSTD_EndDirective mode = end ? ZSTD_e_end : ZSTD_e_flush;
    size_t room = ZSTD_compressBound(in.size()) + 64;
    for (;;) {
      size_t old = out.size();
      out.resize(old + room);
      ZSTD_outBuffer output{out.data() + old, room, 0};
      size_t left = ZSTD_compressStream2(c_, &output, &input, mode);
      out.resize(old + output.pos);
      if (ZSTD_isError(left)) {
        failed_ = true;
        return false;
      }
      if (left == 0 && input.pos == input.size) return true;  // flushed (or ended) completely
      room = room < 65536 ? 65536 : room;
    }
  }

 private:
  ZSTD_CCtx* c_;
  bool failed_ = false;
};
}  // namespace

std::unique_ptr<Encoder> makeZstdEncoder(int level) {
  auto e = std::make_unique<ZstdEncoder>(level);
  if (!e->valid()) return nullptr;
  return e;
}

}  // namespace sluice::filters
