#include "number_text.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

// Header-only {fmt} (Debian libfmt-dev) in this file alone: no library to link or export.
#define FMT_HEADER_ONLY
#include <fmt/format.h>

namespace ef {
namespace {

constexpr char kPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

void put4(char* out, uint32_t v) {  // v < 10^4, zero-padded
  std::memcpy(out, kPairs + 2 * (v / 100), 2);
  std::memcpy(out + 2, kPairs + 2 * (v % 100), 2);
}

void put8(char* out, uint32_t v) {  // v < 10^8, zero-padded
  put4(out, v / 10000);
  put4(out + 4, v % 10000);
}

// The 17 digits of d < 10^17, zero-padded (Dragonbox gives at most 17 for a double): three
// independent pieces instead of a chain of divisions.
void put17(char* out, uint64_t d) {
  out[0] = char('0' + d / 10000000000000000ull);
  put8(out + 1, uint32_t(d / 100000000 % 100000000));
  put8(out + 9, uint32_t(d % 100000000));
}

int digit_count(uint64_t d) {  // d > 0
  static constexpr uint64_t kPow10[] = {1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
                                        10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
                                        100000000000ull, 1000000000000ull, 10000000000000ull,
                                        100000000000000ull, 1000000000000000ull, 10000000000000000ull,
                                        100000000000000000ull, 1000000000000000000ull};
  const int t = (64 - __builtin_clzll(d)) * 1233 >> 12;  // floor(log10(d)) or one more
  return t + 1 - (d < kPow10[t]);
}

}  // namespace

char* format_double(char* out, double v) {
  // Not finite, zero, and from 2^53 on (where %f prints the exact integer, more digits than the
  // shortest ones): to_chars itself. Rare in data; the common path below.
  if (!std::isfinite(v) || v == 0 || std::fabs(v) >= 9007199254740992.0)
    return std::to_chars(out, out + 32, v).ptr;
  const auto dec = fmt::detail::dragonbox::to_decimal(v);
  uint64_t sig = dec.significand;
  int e = dec.exponent;  // |v| = sig * 10^e
  while (sig % 10 == 0) {
    sig /= 10;
    ++e;
  }
  char* p = out;
  if (v < 0) *p++ = '-';
  const int n = digit_count(sig);
  // The digits at d[0, n), followed by slack: the copies below have fixed sizes (inlined moves)
  // and may carry garbage past the text's end, which the returned end excludes.
  char buf[48];
  put17(buf, sig);
  const char* d = buf + 17 - n;
  const int x = e + n - 1;  // the %e exponent
  const int ax = x < 0 ? -x : x;
  const int sci = n + (n > 1) + 2 + (ax >= 100 ? 3 : 2);
  const int fixed = e >= 0 ? n + e : (n + e > 0 ? n + 1 : 2 - e);
  if (fixed <= sci) {
    if (e >= 0) {  // a whole number below 2^53: its digits, then zeros
      std::memcpy(p, d, 17);
      p += n;
      for (int k = 0; k < e; ++k) *p++ = '0';
      return p;
    }
    if (n + e > 0) {  // digits . digits
      const int whole = n + e;
      std::memcpy(p, d, 16);
      p[whole] = '.';
      std::memcpy(p + whole + 1, d + whole, 16);
      return p + n + 1;
    }
    *p++ = '0';  // 0.000digits
    *p++ = '.';
    for (int k = 0; k < -e - n; ++k) *p++ = '0';
    std::memcpy(p, d, 17);
    return p + n;
  }
  p[0] = d[0];  // d.ddd e+XX
  if (n > 1) {
    p[1] = '.';
    std::memcpy(p + 2, d + 1, 16);
    p += n + 1;
  } else {
    p += 1;
  }
  *p++ = 'e';
  *p++ = x < 0 ? '-' : '+';
  if (ax >= 100) {
    *p++ = char('0' + ax / 100);
    std::memcpy(p, kPairs + 2 * (ax % 100), 2);
  } else {
    std::memcpy(p, kPairs + 2 * ax, 2);
  }
  return p + 2;
}

}  // namespace ef
