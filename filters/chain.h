// Runs one request's filters through the phases: request phases in config order (resumable after
// a Stop), response phases in reverse over the filters whose request phase ran.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "filters/filter.h"

namespace sluice::filters {

using FactoryList = std::vector<std::shared_ptr<const FilterFactory>>;

class FilterChain {
 public:
  // Creates one Filter per factory. Called once, when the request's route is known.
  void init(const FactoryList& factories);
  bool empty() const { return filters_.empty(); }

  // Runs onRequestHeaders from where the chain stopped last (or the start). Stop means a filter
  // answered or will call continueRequest(); the next call resumes after that filter.
  FilterStatus runRequestHeaders(base::RequestHead& head, FilterCallbacks& cb);
  FilterStatus runRequestBody(std::string& data, bool end, FilterCallbacks& cb);
  // Response phases run over the filters that saw the request, last first.
  FilterStatus runResponseHeaders(base::ResponseHead& head, FilterCallbacks& cb);
  // Whether a filter that saw the request wants its response head (Filter::wantsResponseHeaders).
  bool wantsResponseHeaders() const;
  FilterStatus runResponseBody(std::string& data, bool end, FilterCallbacks& cb);
  void complete(int status);

 private:
  std::vector<std::unique_ptr<Filter>> filters_;
  size_t next_ = 0;  // index of the next filter whose request phase runs
  size_t ran_ = 0;   // how many filters saw the request head
};

}  // namespace sluice::filters
