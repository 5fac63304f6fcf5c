// brotli (RFC 7932) through BrotliEncoderCompressStream, flushed per chunk.
#include <brotli/encode.h>

#include "filters/encoder.h"

namespace sluice::filters {

namespace {
class BrotliEncoder final : public Encoder {
 public:
  explicit BrotliEncoder(int level) : s_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (s_ == nullptr) return;
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(level));
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_LGWIN, 20);  // 1 MiB window: bounded memory
  }
  ~BrotliEncoder() override {
    if (s_ != nullptr) BrotliEncoderDestroyInstance(s_);
  }
  bool valid() const { return s_ != nullptr; }

  bool encode(std::string_view in, bool end, std::string& out) override {
    if (s_ == nullptr || failed_) return false;
    if (!end && in.empty()) return true;
    size_t avail_in = in.size();
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
    BrotliEncoderOperation op = end ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;
    for (;;) {
      size_t avail_out = 0;
      if (!BrotliEncoderCompressStream(s_, op, &avail_in, &next_in, &avail_out, nullptr, nullptr)) {
        failed_ = true;
        return false;
      }
      // Take what the encoder produced straight from its own buffer.
      size_t size = 0;
      const uint8_t* produced = BrotliEncoderTakeOutput(s_, &size);
      if (size > 0) out.append(reinterpret_cast<const char*>(produced), size);
      bool drained = avail_in == 0 && !BrotliEncoderHasMoreOutput(s_);
      if (end ? BrotliEncoderIsFinished(s_) : drained) return true;
    }
  }

 private:
  BrotliEncoderState* s_;
  bool failed_ = false;
};
}  // namespace

std::unique_ptr<Encoder> makeBrotliEncoder(int level) {
  auto e = std::make_unique<BrotliEncoder>(level);
  if (!e->valid()) return nullptr;
  return e;
}

}  // namespace sluice::filters
