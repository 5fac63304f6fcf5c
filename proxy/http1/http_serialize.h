// Re-serialising parsed messages: what sluice sends upstream and downstream is always written
// from the parsed head (never the peer's raw bytes), so a parser quirk cannot desynchronise a
// peer. Pure functions, unit-tested.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "filters/base/http_message.h"

namespace sluice::proxy {

enum class BodyFraming {
  None,     // no body (Content-Length: 0 for requests that had a body field, nothing otherwise)
  Length,   // Content-Length: N
  Chunked,  // Transfer-Encoding: chunked
  Close,    // response delimited by closing the connection (HTTP/1.0 clients)
};

// Removes the hop-by-hop fields (RFC 9110 §7.6.1): Connection and every field it names,
// Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade (unless `keep_upgrade`),
// and Content-Length (framing is re-derived). A Connection option naming Host is ignored.
// Fields named in `also` (lower-case) go in the same pass: those sluice is about to set itself.
void removeHopByHop(base::HeaderMap& headers, bool keep_upgrade,
                    std::initializer_list<std::string_view> also = {});

// "METHOD target HTTP/1.1\r\nhost: ...\r\n<fields>\r\n<framing>\r\n"
void appendRequestHead(const base::RequestHead& head, BodyFraming framing, uint64_t length,
                       std::string& out);

// Status line, fields, framing and the connection field; `connection` is appended verbatim as
// `connection: <value>` when not null ("close", "keep-alive", "upgrade").
void appendResponseHead(const base::ResponseHead& head, BodyFraming framing, uint64_t length,
                        const char* connection, std::string& out);

// What a proxied response gets from sluice (operations.md): its hop on Via, the request id, a
// Date when the upstream sent none, and Content-Length kept as is (a HEAD or 304 answer) when set.
struct ProxiedFields {
  std::string_view via;  // e.g. "1.1 sluice"
  std::string_view request_id;
  std::string_view date;            // used when the head has no Date; empty: none
  std::string_view content_length;  // empty: none
};

// Edits `headers` into what the client gets: hop-by-hop fields and any x-request-id go, `via`
// is added to Via, then x-request-id, Date when absent (and `date` given) and Content-Length
// (when given) are added. Used when response filters must see the edited field list.
void applyProxiedResponseEdits(base::HeaderMap& headers, const ProxiedFields& add,
                               bool keep_upgrade = false);

// The bytes of applyProxiedResponseEdits then appendResponseHead, in one pass over the
// unmodified `head` (when no filter wants the edited list).
void appendProxiedResponseHead(const base::ResponseHead& head, const ProxiedFields& add,
                               BodyFraming framing, uint64_t length, const char* connection,
                               std::string& out);

// What an upstream request gets from sluice (operations.md).
struct ProxiedRequestFields {
  std::string_view forwarded_for;    // the client address, added to X-Forwarded-For
  std::string_view forwarded_proto;  // "http" or "https"
  std::string_view forwarded_host;   // Host as the client sent it
  std::string_view via;              // e.g. "1.1 sluice"
  std::string_view request_id;
  std::string_view client_subject_name;  // the field sluice alone sets (client certificate)
  std::string_view client_subject;       // empty: none (a client-sent one is dropped anyway)
  bool upgrade = false;                  // keep Upgrade and send `connection: upgrade`
  // W3C trace context for this try (filters/base/trace_context.h): the client's traceparent and
  // tracestate fields are replaced by exactly one of each (tracestate only when not empty).
  std::string_view traceparent;
  std::string_view tracestate;
};

// Edits `headers` into what the upstream gets: hop-by-hop fields and those sluice alone sets
// go; the client joins X-Forwarded-For, then x-forwarded-proto, the client subject,
// x-forwarded-host, Via, x-request-id, traceparent/tracestate and (upgrade) `connection: upgrade`
// are added. Used when
// filters must see the edited head.
void applyProxiedRequestEdits(base::HeaderMap& headers, const ProxiedRequestFields& add);

// The bytes of applyProxiedRequestEdits then appendRequestHead, in one pass over the unmodified
// `head` (for routes without filters).
void appendProxiedRequestHead(const base::RequestHead& head, const ProxiedRequestFields& add,
                              BodyFraming framing, uint64_t length, std::string& out);

// Writes "<hex>\r\n" for a chunk of `size` bytes into `buf` (at least 20 bytes); returns length.
size_t formatChunkHeader(size_t size, char* buf);

inline constexpr char kLastChunk[] = "0\r\n\r\n";

// Whether a field must not travel as a trailer: framing, routing and connection fields (RFC 9110
// §6.5.1, RFC 9112 §7.1.2). The one rule for HTTP/1.1 last chunks and HTTP/2 trailing HEADERS.
bool forbiddenTrailer(std::string_view name);

// The last chunk with `trailers` (kLastChunk when there are none), without the fields
// forbiddenTrailer names.
void appendLastChunk(const base::HeaderMap& trailers, std::string& out);

}  // namespace sluice::proxy
