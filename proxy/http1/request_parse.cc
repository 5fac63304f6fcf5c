#include "proxy/http1/request_parse.h"

#include <vector>

namespace sluice::proxy {
namespace {

// A worker's spare parse states: enough for the connections that go idle and come back between
// two of its loop iterations; beyond that, memory goes back to the allocator.
constexpr size_t kPoolBound = 256;
thread_local std::vector<std::unique_ptr<RequestParse>> t_pool;
thread_local uint64_t t_freed = 0;

}  // namespace

std::unique_ptr<RequestParse> RequestParse::take(const llhttp_settings_t* settings, void* owner) {
  std::unique_ptr<RequestParse> p;
  if (t_pool.empty()) {
    p = std::make_unique<RequestParse>();
  } else {
    p = std::move(t_pool.back());
    t_pool.pop_back();
  }
  llhttp_init(&p->parser, HTTP_REQUEST, settings);
  p->parser.data = owner;
  return p;
}

void RequestParse::giveBack(std::unique_ptr<RequestParse> p) {
  if (t_pool.size() >= kPoolBound) {
    ++t_freed;
    return;  // freed here
  }
  // Back to a first message's state; the strings keep their capacity for the next request.
  p->scanner.reset();
  p->scanning_head = true;
  p->line_gate = true;
  p->line_buf.clear();
  p->method_override.clear();
  p->version_unsupported = false;
  p->head = base::RequestHead{};
  p->meta = RequestMeta{};
  p->field.clear();
  p->value.clear();
  p->in_value = false;
  p->head_bytes = 0;
  p->header_count = 0;
  p->body_bytes = 0;
  t_pool.push_back(std::move(p));
}

uint64_t RequestParse::freedOnThisThread() {
  return t_freed;
}

}  // namespace sluice::proxy
