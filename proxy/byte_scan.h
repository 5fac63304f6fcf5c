// Skipping over the ordinary bytes of a message head 16 at a time: the byte-level checks (bare
// CR/LF, control bytes) only need to look at the few bytes that are not ordinary.
#pragma once

#include <cstddef>

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
  while (i < n && isOrdinaryHeadByte(static_cast<unsigned char>(p[i]))) ++i;
  return i;
}

}  // namespace sluice::proxy
