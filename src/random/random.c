/* Random numbers per entity: Philox 4x32-10 (Random123) keyed as random.h
 * lays out, and the draws made of its outputs. */
#include <Random123/philox.h>
#include <string.h>

#include "myriad/random.h"

myr_status myr_random_entity(uint64_t seed, uint64_t frame, myr_entity e, uint32_t stream, myr_random *out) {
  if (!out || e == MYR_ENTITY_NULL || e >> 63 || stream >= MYR_RANDOM_STREAMS) return MYR_EINVAL;
  *out = (myr_random){
      .key = {(uint32_t)seed, (uint32_t)(seed >> 32) ^ (uint32_t)(frame >> 32)},
      .ctr = {(uint32_t)e, (uint32_t)(e >> 32), (uint32_t)frame, stream << 16},
      .used = 4,
  };
  return MYR_OK;
}

myr_status myr_random_system(uint64_t seed, uint64_t frame, uint32_t system, uint32_t stream, myr_random *out) {
  if (!out || stream >= MYR_RANDOM_STREAMS) return MYR_EINVAL;
  *out = (myr_random){
      .key = {(uint32_t)seed, (uint32_t)(seed >> 32) ^ (uint32_t)(frame >> 32)},
      .ctr = {system, UINT32_C(1) << 31, (uint32_t)frame, stream << 16},
      .used = 4,
  };
  return MYR_OK;
}

/* The next block: Philox of the counter, then the block number moves on:
 * the low 16 bits of the last counter word, and for a system's generator
 * (bit 31 of the second word) the low 31 bits of the second word above
 * them. */
static void next_block(myr_random *r) {
  philox4x32_ctr_t c = {{r->ctr[0], r->ctr[1], r->ctr[2], r->ctr[3]}};
  philox4x32_key_t k = {{r->key[0], r->key[1]}};
  philox4x32_ctr_t o = philox4x32(c, k);
  memcpy(r->out, o.v, sizeof r->out);
  uint32_t low = (r->ctr[3] + 1) & 0xffffu;
  r->ctr[3] = (r->ctr[3] & 0xffff0000u) | low;
  if (low == 0 && (r->ctr[1] >> 31)) r->ctr[1] = UINT32_C(1) << 31 | ((r->ctr[1] + 1) & 0x7fffffffu);
  r->used = 0;
}

uint32_t myr_random_u32(myr_random *r) {
  if (r->used >= 4) next_block(r);
  return r->out[r->used++];
}

uint64_t myr_random_u64(myr_random *r) {
  uint64_t lo = myr_random_u32(r);
  return lo | (uint64_t)myr_random_u32(r) << 32;
}

uint32_t myr_random_below(myr_random *r, uint32_t n) {
  if (n == 0) return 0;
  uint64_t m = (uint64_t)myr_random_u32(r) * n;
  if ((uint32_t)m < n) {
    uint32_t floor = (uint32_t)-n % n; /* 2^32 mod n: low parts below it are rejected */
    while ((uint32_t)m < floor) m = (uint64_t)myr_random_u32(r) * n;
  }
  return (uint32_t)(m >> 32);
}

float myr_random_float(myr_random *r) { return (float)(myr_random_u32(r) >> 8) * 0x1p-24f; }

double myr_random_double(myr_random *r) { return (double)(myr_random_u64(r) >> 11) * 0x1p-53; }

/* The natural logarithm of x > 0 (finite, normal), from IEEE arithmetic
 * only: x = m 2^e with m in [sqrt(1/2), sqrt(2)), then
 * ln m = 2 atanh(t) = 2 (t + t^3/3 + t^5/5 + ...), t = (m - 1)/(m + 1),
 * |t| < 0.172, so eleven terms leave an error below 2^-60 of the result. */
static double det_log(double x) {
  uint64_t bits;
  memcpy(&bits, &x, sizeof bits);
  int e = (int)((bits >> 52) & 0x7ff) - 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* m in [1, 2) */
  double m;
  memcpy(&m, &bits, sizeof m);
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  double t = (m - 1.0) / (m + 1.0), t2 = t * t, sum = 0.0;
  for (int k = 21; k >= 1; k -= 2) sum = sum * t2 + 1.0 / k;
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  return (double)e * ln2_hi + ((double)e * ln2_lo + 2.0 * t * sum);
}

double myr_random_normal(myr_random *r) {
  for (;;) {
    double x = 2.0 * myr_random_double(r) - 1.0, y = 2.0 * myr_random_double(r) - 1.0;
    double s = x * x + y * y;
    if (s >= 1.0 || s == 0.0) continue;
    /* s >= 2^-104 here, a normal double: det_log's bit trick holds */
    return x * __builtin_sqrt(-2.0 * det_log(s) / s);
  }
}
