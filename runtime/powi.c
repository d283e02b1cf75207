/*
 * powi.c — pow of integer tensors, as ATen's powi (aten/src/ATen/native/Pow.h).
 *
 * The elementwise template of pow_int calls it for every integer type: the low bits of a
 * product depend only on the low bits of its factors, so computing in uint64_t and
 * converting to the tensor's type wraps exactly as PyTorch's int8/int32/int64 arithmetic
 * does.
 */
#include "tt.h"

int64_t tt_pow_i64(int64_t a, int64_t b) {
  if (b < 0) { /* ATen: 1 stays 1, -1 alternates, everything else (0 included) is 0 */
    if (a == 1) return 1;
    if (a == -1) return (b % 2) ? -1 : 1;
    return 0;
  }
  uint64_t r = 1, x = (uint64_t)a;
  for (uint64_t e = (uint64_t)b; e; e >>= 1) {
    if (e & 1) r *= x;
    x *= x;
  }
  return (int64_t)r;
}
