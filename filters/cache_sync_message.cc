#include "filters/cache_sync_message.h"

#include <algorithm>

namespace sluice::filters {

namespace {

constexpr std::string_view kMagic = "sluice-purge";
constexpr std::string_view kVersion = "1";

// The next space-separated word of `rest` (consumed with its space); empty when there is none.
std::optional<std::string_view> word(std::string_view& rest) {
  size_t sp = rest.find(' ');
  if (sp == std::string_view::npos || sp == 0) return std::nullopt;
  std::string_view w = rest.substr(0, sp);
  rest.remove_prefix(sp + 1);
  return w;
}

}  // namespace

std::string encodePurge(const PurgeMessage& m) {
  std::string out;
  out.reserve(kMagic.size() + m.instance.size() + m.value.size() + 16);
  out.append(kMagic).append(" ").append(kVersion).append(" ").append(m.instance);
  out.append(m.kind == PurgeMessage::Kind::Prefix ? " prefix " : " key ");
  out.append(m.value);
  return out;
}

std::optional<PurgeMessage> decodePurge(std::string_view payload) {
  std::string_view rest = payload;
  auto magic = word(rest);
  auto version = word(rest);
  auto instance = word(rest);
  auto kind = word(rest);
  if (!magic || *magic != kMagic || !version || *version != kVersion || !instance || !kind) {
    return std::nullopt;
  }
  PurgeMessage m;
  if (*kind == "key") {
    m.kind = PurgeMessage::Kind::Key;
    if (rest.empty()) return std::nullopt;  // the admin refuses an empty key too
  } else if (*kind == "prefix") {
    m.kind = PurgeMessage::Kind::Prefix;
  } else {
    return std::nullopt;
  }
  m.instance = std::string(*instance);
  m.value = std::string(rest);
  return m;
}

std::string newInstanceId(uint64_t random) {
  static const char kHex[] = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 15; i >= 0; --i) {
    id[static_cast<size_t>(i)] = kHex[random & 0xf];
    random >>= 4;
  }
  return id;
}

uint64_t reconnectDelayMs(uint32_t failures, uint64_t random) {
  uint64_t ceiling = kSyncBackoffBaseMs << std::min<uint32_t>(failures, 20);
  ceiling = std::min(ceiling, kSyncBackoffMaxMs);
  uint64_t half = ceiling / 2;
  return half + random % (ceiling - half + 1);
}

}  // namespace sluice::filters
