// Skipping over the ordinary bytes of a message head 16 at a time: the byte-level checks (bare
// CR/LF, control bytes) only need to look at the few bytes that are not ordinary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice::proxy {

// An ordinary byte is neither a control byte (< 0x20, including HTAB, CR and LF) nor DEL.
inline bool isOrdinaryHeadByte(unsigned char u) {
  return u >= 0x20 && u != 0x7f;
}

// How many bytes at the start of [p, p+n) are ordinary.
inline size_t countOrdinaryBytes(const char* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  // Unsigned u < 0x20  <=>  signed (u ^ 0x80) < (0x20 ^ 0x80).
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  const __m128i limit = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
  const __m128i del = _mm_set1_epi8(0x7f);
  for (; i + 16 <= n; i += 16) {
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i ctl = _mm_cmplt_epi8(_mm_xor_si128(b, flip), limit);
    __m128i bad = _mm_or_si128(ctl, _mm_cmpeq_epi8(b, del));
    int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
  }
#endif
  // 8 bytes at a time (SWAR): a byte is special when it is < 0x20 or equal to 0x7f.
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    std::memcpy(&x, p + i, 8);
    uint64_t below = (x - kOnes * 0x20) & ~x & kHigh;  // exact for the lowest flagged byte
    uint64_t del = x ^ (kOnes * 0x7f);
    uint64_t is_del = (del - kOnes) & ~del & kHigh;
    uint64_t flagged = below | is_del;
    if (flagged != 0) return i + static_cast<size_t>(__builtin_ctzll(flagged) / 8);
  }
  while (i < n && isOrdinaryHeadByte(static_cast<unsigned char>(p[i]))) ++i;
  return i;
}

// Whether a field value holds a control byte other than HTAB, or DEL (RFC 9110 §5.5: CR, LF
// and NUL are never valid; the other controls are refused too, a downstream parser might split
// on them).
inline bool hasFieldValueControlBytes(std::string_view v) {
  for (size_t i = countOrdinaryBytes(v.data(), v.size()); i < v.size();
       i += 1 + countOrdinaryBytes(v.data() + i + 1, v.size() - i - 1)) {
    if (v[i] != '\t') return true;
  }
  return false;
}

}  // namespace sluice::proxy
