// gzip (RFC 1952) through zlib's deflate with a gzip wrapper, sync-flushed per chunk.
#include <zlib.h>

#include "filters/encoder.h"

namespace sluice::filters {

namespace {
class GzipEncoder final : public Encoder {
 public:
  explicit GzipEncoder(int level) {
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipEncoder() override {
    if (ok_) deflateEnd(&z_);
  }
  bool valid() const { return ok_; }

  bool encode(std::string_view in, bool end, std::string& out) override {
    if (!ok_ || done_) return false;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    int flush = end ? Z_FINISH : Z_SYNC_FLUSH;
    if (!end && in.empty()) return true;  // nothing to flush
    size_t room = deflateBound(&z_, static_cast<uLong>(in.size())) + 16;
    for (;;) {
      size_t old = out.size();
      out.resize(old + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      z_.avail_out = static_cast<uInt>(room);
      int r = deflate(&z_, flush);
      out.resize(old + room - z_.avail_out);
      if (r == Z_STREAM_END) {
        done_ = true;
        return true;
      }
      if (r != Z_OK && r != Z_BUF_ERROR) {
        ok_ = false;
        return false;
      }
      if (z_.avail_out != 0 && z_.avail_in == 0 && !end) return true;  // flushed completely
      room = room < 65536 ? 65536 : room;
    }
  }

 private:
  z_stream z_{};
  bool ok_ = false;
  bool done_ = false;
};
}  // namespace

std::unique_ptr<Encoder> makeGzipEncoder(int level) {
  auto e = std::make_unique<GzipEncoder>(level);
  if (!e->valid()) return nullptr;
  return e;
}

std::string_view encodingToken(Encoding e) {
  switch (e) {
    case Encoding::Gzip: return "gzip";
    case Encoding::Brotli: return "br";
    case Encoding::Zstd: return "zstd";
    case Encoding::Identity: break;
  }
  return "identity";
}

std::unique_ptr<Encoder> makeEncoder(Encoding e, int level) {
  switch (e) {
    case Encoding::Gzip: return makeGzipEncoder(level);
    case Encoding::Brotli: return makeBrotliEncoder(level);
    case Encoding::Zstd: return makeZstdEncoder(level);
    case Encoding::Identity: break;
  }
  return nullptr;
}

}  // namespace sluice::filters
