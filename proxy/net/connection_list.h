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
    if (n->prev != nullptr)
      n->prev->next = n->next;
    else if (head_ == n)
      head_ = n->next;
    else
      return;  // not linked
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

namespace sluice::proxy {

// A FIFO of connections (oldest at the front) with O(1) removal from anywhere: the connections
// that cost least to lose, kept in the order they became so, for making room at
// limits.max_connections. A connection is in at most one queue at a time. Worker thread only.
class ConnectionQueue {
 public:
  struct Link {
    Link* prev = nullptr;
    Link* next = nullptr;
    ConnectionQueue* queue = nullptr;  // null: in no queue
    void* owner = nullptr;
  };

  // Appends `link` (taking it out of any queue it was in first).
  void pushBack(Link& link, void* owner) {
    if (link.queue != nullptr) link.queue->remove(link);
    link.owner = owner;
    link.queue = this;
    link.prev = tail_;
    link.next = nullptr;
    if (tail_ != nullptr)
      tail_->next = &link;
    else
      head_ = &link;
    tail_ = &link;
    ++size_;
  }
  // Takes `link` out of the queue it is in, if any.
  static void unlink(Link& link) {
    if (link.queue != nullptr) link.queue->remove(link);
  }
  // The oldest member's owner, or null.
  void* front() const { return head_ != nullptr ? head_->owner : nullptr; }
  size_t size() const { return size_; }

 private:
  void remove(Link& link) {
    if (link.prev != nullptr)
      link.prev->next = link.next;
    else
      head_ = link.next;
    if (link.next != nullptr)
      link.next->prev = link.prev;
    else
      tail_ = link.prev;
    link.prev = link.next = nullptr;
    link.queue = nullptr;
    --size_;
  }

  Link* head_ = nullptr;
  Link* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sluice::proxy
