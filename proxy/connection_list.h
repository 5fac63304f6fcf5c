// An intrusive list of a worker's connections (no allocation per connection), for sweeps over
// deadlines and for drain/stop. Worker thread only.
#pragma once

#include <cstddef>
#include <vector>

namespace sluice::proxy {

class ConnectionList {
 public:
  struct Node {
    Node* prev = nullptr;
    Node* next = nullptr;
  };
  void insert(Node* n) {
    n->prev = nullptr;
    n->next = head_;
    if (head_ != nullptr) head_->prev = n;
    head_ = n;
    ++size_;
  }
  void erase(Node* n) {
    if (n->prev != nullptr) n->prev->next = n->next;
    else if (head_ == n) head_ = n->next;
    else return;  // not linked
    if (n->next != nullptr) n->next->prev = n->prev;
    n->prev = n->next = nullptr;
    --size_;
  }
  size_t size() const { return size_; }
  // Calls fn on each member; fn may start closing a member (nodes leave in close callbacks).
  template <class T, class Fn>
  void forEach(Fn&& fn) {
    for (Node* n = head_; n != nullptr;) {
      Node* next = n->next;
      fn(static_cast<T*>(n));
      n = next;
    }
  }
  // A copy of the members, for callers that may close connections while iterating.
  template <class T>
  std::vector<T*> snapshot() const {
    std::vector<T*> out;
    for (Node* n = head_; n != nullptr; n = n->next) out.push_back(static_cast<T*>(n));
    return out;
  }

 private:
  Node* head_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sluice::proxy
