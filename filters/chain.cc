#include "filters/chain.h"

namespace sluice::filters {

void FilterChain::init(const FactoryList& factories) {
  filters_.clear();
  filters_.reserve(factories.size());
  for (const auto& f : factories) filters_.push_back(f->create());
  next_ = 0;
  ran_ = 0;
}

FilterStatus FilterChain::runRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) {
  while (next_ < filters_.size()) {
    size_t i = next_++;
    ran_ = next_;
    if (filters_[i]->onRequestHeaders(head, cb) == FilterStatus::Stop) return FilterStatus::Stop;
  }
  return FilterStatus::Continue;
}

FilterStatus FilterChain::runRequestBody(std::string& data, bool end, FilterCallbacks& cb) {
  for (size_t i = 0; i < ran_; ++i) {
    if (filters_[i]->onRequestBody(data, end, cb) == FilterStatus::Stop) return FilterStatus::Stop;
  }
  return FilterStatus::Continue;
}

FilterStatus FilterChain::runResponseHeaders(base::ResponseHead& head, FilterCallbacks& cb) {
  for (size_t i = ran_; i-- > 0;) {
    if (filters_[i]->onResponseHeaders(head, cb) == FilterStatus::Stop) return FilterStatus::Stop;
  }
  return FilterStatus::Continue;
}

bool FilterChain::wantsResponseHeaders() const {
  for (size_t i = 0; i < ran_; ++i) {
    if (filters_[i]->wantsResponseHeaders()) return true;
  }
  return false;
}

FilterStatus FilterChain::runResponseBody(std::string& data, bool end, FilterCallbacks& cb) {
  for (size_t i = ran_; i-- > 0;) {
    if (filters_[i]->onResponseBody(data, end, cb) == FilterStatus::Stop) return FilterStatus::Stop;
  }
  return FilterStatus::Continue;
}

void FilterChain::complete(int status) {
  for (auto& f : filters_) f->onComplete(status);
}

}  // namespace sluice::filters
