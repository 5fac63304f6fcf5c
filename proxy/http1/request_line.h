// What llhttp 8.1 cannot read in a request line, although RFC 9110 allows it, made readable:
// - a method outside llhttp's table (methods are an open set of tokens, RFC 9110 §9.1, and are
//   case-sensitive, so `get` is one too): llhttp is given POST and the request keeps its own;
// - HTTP/1.x with x > 1, which is read as HTTP/1.1 (RFC 9110 §2.5);
// - a major version above 1 that llhttp would call malformed: answered 505, not 400.
// Everything else is left for llhttp and the head checks to judge.
#pragma once

#include <string>
#include <string_view>

namespace sluice::proxy {

struct RequestLineFix {
  bool changed = false;
  std::string line;                  // the line to parse instead, when changed
  std::string method;                // the method as sent, when llhttp is given another
  bool unsupported_version = false;  // HTTP/2 and later: 505
};

// `line` is one request line without its line end. Fills `fix` only when something must change.
void fixRequestLine(std::string_view line, RequestLineFix& fix);

// RFC 9112 §3.2 / RFC 3986 §3.2.2: `host [ ":" port ]` as a Host field or the authority of an
// absolute-form target: an IP literal in brackets or a reg-name, and a port of at most 65535.
// Commas are refused too: a list would name several hosts.
bool validHostAuthority(std::string_view authority);

// True for the methods llhttp's request parser knows (HTTP_METHOD_MAP).
bool llhttpKnowsMethod(std::string_view method);

}  // namespace sluice::proxy
