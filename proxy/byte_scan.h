// Skipping over the ordinary bytes of a message head 16 at a time: the byte-level checks (bare
// CR/LF, control bytes) only need to look at the few bytes that are not ordinary.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice::proxy {

// An ordinary byte is neither a control byte (< 0x20, including HTAB, CR and LF) nor DEL.
inline bool isOrdinaryHeadByte(unsigned char u) { return u >= 0x20 && u != 0x7f; }

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

// ASCII lower-casing in place (field names), 16 bytes at a time where SSE2 is there.
inline void lowerAsciiInPlace(char* p, size_t n) {
  size_t i = 0;
#if defined(__SSE2__)
  const __m128i before_a = _mm_set1_epi8('A' - 1);
  const __m128i after_z = _mm_set1_epi8('Z' + 1);
  const __m128i bit = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compares: bytes >= 0x80 are negative and so never in 'A'..'Z'.
    __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(b, before_a), _mm_cmplt_epi8(b, after_z));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), _mm_or_si128(b, _mm_and_si128(upper, bit)));
  }
#endif
  for (; i < n; ++i) {
    char c = p[i];
    if (c >= 'A' && c <= 'Z') p[i] = static_cast<char>(c + 32);
  }
}

}  // namespace sluice::proxy
