/* myriad — random numbers per entity, the same on every thread count, chunk
 * size, build and architecture.
 *
 * A generator is counter based (Philox 4x32-10 from Random123: Salmon et
 * al., "Parallel random numbers: as easy as 1, 2, 3", SC'11; it passes
 * TestU01's BigCrush): its numbers are a pure function of a key and a
 * counter, so a draw depends only on what it is keyed by, never on which
 * thread or chunk makes it or in which order. A system draws for a row by
 * (the world's seed, the frame, the row's entity id, a stream number of
 * its choosing, the draw's ordinal): myr_view_random. A run-once system or
 * a hook, which has no row (e.g. one that spawns entities, before they
 * exist), draws by (seed, frame, its system, stream): myr_view_random_once.
 * Use a different stream for each purpose (movement, breeding, ...), so
 * that adding draws for one purpose does not change the others.
 *
 * The exact layout, so that another implementation can reproduce the
 * numbers: key = {seed & 0xffffffff, (seed >> 32) ^ (frame >> 32)}, and
 * each call of Philox on the counter gives four 32-bit outputs, used in
 * order, after which the block number in the counter moves on:
 * - an entity's generator: counter = {e & 0xffffffff, e >> 32,
 *   frame & 0xffffffff, stream << 16 | block}, block below 2^16: 2^18
 *   outputs, after which it repeats them (e >> 32 is below 2^31 for every
 *   real id);
 * - a system's generator: counter = {system, 1 << 31 | block >> 16,
 *   frame & 0xffffffff, stream << 16 | (block & 0xffff)}, block below
 *   2^47: more outputs than any frame can use.
 *
 * Floating point: uniform floats and doubles are exact multiples of 2^-24
 * and 2^-53; normals use only IEEE addition, multiplication, division and
 * square root (correctly rounded everywhere) and a logarithm of our own
 * made of those (within a few units in the last place of the exact one),
 * never libm's, whose last bit can differ between builds. */
#ifndef MYRIAD_RANDOM_H
#define MYRIAD_RANDOM_H

#include <stdint.h>

#include "myriad/status.h"
#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A generator's state: plain bytes, made by the functions below (or by
 * myr_view_random in schedule.h). Copying one copies its sequence. */
typedef struct myr_random {
  uint32_t key[2];
  uint32_t ctr[4];
  uint32_t out[4]; /* the current block's outputs */
  uint32_t used;   /* outputs of out[] used so far (4: none left) */
} myr_random;

/* Streams are numbered 0 .. MYR_RANDOM_STREAMS - 1. */
#define MYR_RANDOM_STREAMS 65536u

/* A generator for entity e's draws in frame `frame`. Errors: MYR_EINVAL
 * (out NULL, e null or provisional, stream >= MYR_RANDOM_STREAMS). */
MYR_API myr_status myr_random_entity(uint64_t seed, uint64_t frame, myr_entity e, uint32_t stream, myr_random *out);

/* A generator for a system's own draws (no entity) in frame `frame`: the
 * same layout in domain 1, keyed by the system's index. Errors: as above. */
MYR_API myr_status myr_random_system(uint64_t seed, uint64_t frame, uint32_t system, uint32_t stream, myr_random *out);

/* The next 32 random bits. */
MYR_API uint32_t myr_random_u32(myr_random *r);
/* The next 64 random bits: two 32-bit outputs, the first in the low half. */
MYR_API uint64_t myr_random_u64(myr_random *r);
/* Uniform in [0, n): unbiased (Lemire's multiply and reject); 0 when n is 0. */
MYR_API uint32_t myr_random_below(myr_random *r, uint32_t n);
/* Uniform in [0, 1): a multiple of 2^-24 from one 32-bit output. */
MYR_API float myr_random_float(myr_random *r);
/* Uniform in [0, 1): a multiple of 2^-53 from one 64-bit draw. */
MYR_API double myr_random_double(myr_random *r);
/* Standard normal (mean 0, variance 1), by Marsaglia's polar method: four
 * 32-bit outputs per try, 1.27 tries on average. */
MYR_API double myr_random_normal(myr_random *r);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_RANDOM_H */
