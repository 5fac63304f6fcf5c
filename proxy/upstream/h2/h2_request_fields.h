// The HTTP/2 request fields (RFC 9113 §8.3.1) of a head going upstream: the pseudo-fields from
// the method, scheme, authority and target, then the fields without the connection-specific
// ones HTTP/2 forbids (§8.2.2), the framing re-derived (content-length for a known length), and
// `te: trailers` for gRPC calls, whose servers require it. Pure; unit-tested.
#pragma once

#include <nghttp2/nghttp2.h>

#include <list>
#include <string>
#include <vector>

#include "filters/base/http_message.h"
#include "proxy/http1/http_serialize.h"

namespace sluice::proxy {

// The name/value pairs nghttp2 copies at submit time: they point into the head and into this
// object (not to be moved), so both must live until then. Nothing here allocates for a head with
// lower-case names (as HeaderMap keeps them) beyond `nv` itself.
struct H2RequestFields {
  std::vector<nghttp2_nv> nv;
  std::list<std::string> owned;  // lower-cased names (stable addresses; empty: no allocation)
  char length_digits[24];        // the content length
};

// Fills `out` for `head` (`tls`: scheme https) with a body framed as `framing` (`length` with
// BodyFraming::Length).
void buildH2RequestFields(const base::RequestHead& head, bool tls, BodyFraming framing,
                          uint64_t length, H2RequestFields& out);

// Whether trailer field `name` may go in an HTTP/2 trailing HEADERS: not a pseudo-field, nor a
// framing, routing or connection field (those appendLastChunk leaves out).
bool h2TrailerAllowed(std::string_view name);

}  // namespace sluice::proxy
