// gzip (RFC 1952) through zlib's deflate with a gzip wrapper, sync-flushed per chunk.
#include <zlib.h>

#include <vector>

#include "filters/encoder.h"

namespace sluice::filters {

namespace {
// deflateInit2 allocates ~270 KB per stream (window, hash chains, pending buffer): big enough
// for mmap/munmap on every response. Streams are kept per thread and per level and reset instead.
struct IdleStreams {
  std::vector<std::pair<int, z_stream*>> streams;
  ~IdleStreams() {
    for (auto& [level, z] : streams) {
      deflateEnd(z);
      delete z;
    }
  }
};
thread_local IdleStreams idle_streams;
constexpr size_t kMaxIdleStreams = 16;

z_stream* takeStream(int level) {
  auto& v = idle_streams.streams;
  for (size_t i = v.size(); i-- > 0;) {
    if (v[i].first == level) {
      z_stream* z = v[i].second;
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
      return z;
    }
  }
  auto* z = new z_stream{};
  if (deflateInit2(z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    delete z;
    return nullptr;
  }
  return z;
}

void giveStream(int level, z_stream* z, bool reusable) {
  if (reusable && idle_streams.streams.size() < kMaxIdleStreams && deflateReset(z) == Z_OK) {
    idle_streams.streams.emplace_back(level, z);
    return;
  }
  deflateEnd(z);
  delete z;
}

class GzipEncoder final : public Encoder {
 public:
  explicit GzipEncoder(int level) : level_(level), zs_(takeStream(level)) { ok_ = zs_ != nullptr; }
  ~GzipEncoder() override {
    if (zs_ != nullptr) giveStream(level_, zs_, ok_);
  }
  bool valid() const { return ok_; }

  bool encode(std::string_view in, bool end, std::string& out) override {
    if (!ok_ || done_) return false;
    zs_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_->avail_in = static_cast<uInt>(in.size());
    int flush = end ? Z_FINISH : Z_SYNC_FLUSH;
    if (!end && in.empty()) return true;  // nothing to flush
    size_t room = deflateBound(zs_, static_cast<uLong>(in.size())) + 16;
    for (;;) {
      size_t old = out.size();
      out.resize(old + room);
      zs_->next_out = reinterpret_cast<Bytef*>(out.data() + old);
      zs_->avail_out = static_cast<uInt>(room);
      int r = deflate(zs_, flush);
      out.resize(old + room - zs_->avail_out);
      if (r == Z_STREAM_END) {
        done_ = true;
        return true;
      }
      if (r != Z_OK && r != Z_BUF_ERROR) {
        ok_ = false;
        return false;
      }
      if (zs_->avail_out != 0 && zs_->avail_in == 0 && !end) return true;  // flushed completely
      room = room < 65536 ? 65536 : room;
    }
  }

 private:
  int level_;
  z_stream* zs_;
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
    case Encoding::Gzip:
      return "gzip";
    case Encoding::Brotli:
      return "br";
    case Encoding::Zstd:
      return "zstd";
    case Encoding::Identity:
      break;
  }
  return "identity";
}

std::unique_ptr<Encoder> makeEncoder(Encoding e, int level) {
  switch (e) {
    case Encoding::Gzip:
      return makeGzipEncoder(level);
    case Encoding::Brotli:
      return makeBrotliEncoder(level);
    case Encoding::Zstd:
      return makeZstdEncoder(level);
    case Encoding::Identity:
      break;
  }
  return nullptr;
}

}  // namespace sluice::filters
