// HTTP/2 header blocks sluice sends (RFC 9113 §8.3.2, §8.2.2): the final response head, 1xx heads
// and trailers as nghttp2 name/value lists, without the connection-specific fields HTTP/2
// forbids, and with the fields a proxied response gets from sluice (the same edits as the
// HTTP/1.1 writer's applyProxiedResponseEdits). Pure; the list owns a copy of its bytes, so a head
// can wait (e.g. for the first body bytes or the end) after the caller's head is gone.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/base/http_message.h"
#include "proxy/stream/downstream.h"

namespace sluice::proxy {

// One header block: names (lower-case) and values copied into one buffer, kept as the nghttp2
// name/value list that points into it (so nv() costs nothing). reserve() sizes both once: a head
// built within its reservation allocates twice, whatever its number of fields.
class FieldList {
 public:
  FieldList() = default;
  FieldList(const FieldList&) = delete;  // the list points into its buffer
  FieldList& operator=(const FieldList&) = delete;

  // Room for `fields` fields of `bytes` name and value bytes in all.
  void reserve(size_t fields, size_t bytes);
  void add(std::string_view name, std::string_view value);
  // A field whose value is new on every message (x-request-id): sent as a literal that HPACK does
  // not index, so it does not push the stable fields out of the client's dynamic table.
  void addUnindexed(std::string_view name, std::string_view value);
  void clear();
  bool empty() const { return nv_.empty(); }
  size_t size() const { return nv_.size(); }
  std::string_view name(size_t i) const;
  std::string_view value(size_t i) const;
  // The list as nghttp2 takes it (nghttp2 copies it when a frame is submitted); valid until the
  // next add() or clear().
  const nghttp2_nv* nv() const { return nv_.data(); }
  // Lets nghttp2 use the values (and the names too when `names` is true: they are known to be
  // lower-case, which nghttp2 otherwise makes them while copying) without copying them. The list
  // must then stay as it is until the frame is sent or dropped with its stream.
  void markNoCopy(bool names);

 private:
  // Makes room for `more` bytes, moving the list's pointers along when the buffer moves.
  void grow(size_t more);

  std::unique_ptr<uint8_t[]> bytes_;
  size_t used_ = 0;
  size_t cap_ = 0;
  std::vector<nghttp2_nv> nv_;
};

// Fields HTTP/2 forbids in any message (RFC 9113 §8.2.2) or that sluice re-derives.
bool connectionSpecificField(std::string_view lname);

// The final response head: ":status", the head's fields (minus connection-specific ones and, when
// `info.proxied`, the upstream's x-request-id), sluice's fields when `info.proxied`, and
// content-length as `info` says (the head's own for a bodiless answer).
void responseFields(const base::ResponseHead& head, const ResponseHeadInfo& info, FieldList& out);

// A 1xx head (e.g. 103 Early Hints, or sluice's own 100 Continue when `head` is null).
void interimFields(const base::ResponseHead* head, FieldList& out);

// Trailer fields without those that must not travel as trailers (framing, routing, connection).
void trailerFields(const base::HeaderMap& trailers, FieldList& out);

}  // namespace sluice::proxy
