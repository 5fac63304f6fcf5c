// The request key of `consistent_hash` (spec/config.md `hash_key`): ip | path | uri |
// header:NAME | cookie:NAME | query:NAME. A missing value hashes as the empty key.
#pragma once

#include <string>
#include <string_view>

#include "filters/base/http_message.h"

namespace sluice::proxy {

// The key text for `spec` from the client's address and request. `original_target` is the
// request target as the client sent it.
std::string hashKeyText(std::string_view spec, std::string_view client_ip,
                        const base::RequestHead& head, std::string_view original_target);

// The value of cookie `name` in a Cookie field value, or empty.
std::string_view cookieValue(std::string_view cookies, std::string_view name);
// The (raw, undecoded) value of query parameter `name` in `query`, or empty.
std::string_view queryValue(std::string_view query, std::string_view name);

}  // namespace sluice::proxy
