/* myriad — vector helpers for column loops, over SIMDe.
 *
 * A chunk's f32, i32 and u32 columns start 64-byte aligned (query.h), and
 * a table always has its rows up to the next multiple of 16 allocated and
 * initialised (padding rows: zero when a table grows, later whatever was
 * last stored there; they belong to no entity, are never hashed, and are
 * overwritten when an entity takes the row). Chunks start on multiples of
 * 16 rows, so a loop over a chunk in steps of MYR_SIMD_WIDTH (8) rows may
 * load and store whole vectors up to the chunk's count rounded up to 8,
 * with no scalar tail: the writes past the count land in padding rows (the
 * last chunk of a table) or are exactly the rows of the chunk (any other
 * chunk, whose count is a multiple of 16). MYR_FOR_VECTORS is that loop.
 * Reads past the count see padding values: a kernel must not let them flow
 * into live rows (a sum over a chunk masks them, see myr_simd_tail_mask),
 * nor use them as indices or for side effects (a patch, a write elsewhere).
 *
 * Every operation here is one IEEE operation per lane, rounded once (add,
 * sub, mul, div, sqrt, min, max, compares, conversions), so a kernel gives
 * the same bits whether SIMDe maps it to AVX2 (a native build,
 * -march=native), to SSE2 or NEON, or to its portable code (SIMDE_NO_NATIVE:
 * gcc's vector extensions), and the same bits as the scalar loop doing the
 * same operations in the same order, with two exceptions. A NaN result is a
 * NaN everywhere, but its sign and payload are not specified: x86 keeps an
 * operand's NaN (and gcc may swap the operands of add and mul), aarch64 its
 * default NaN, and an invalid operation (inf - inf, 0 * inf) gives
 * 0xffc00000 on x86 and 0x7fc00000 on aarch64; a world whose values can
 * become NaN has a hash that differs between machines. And a float-to-int
 * conversion of NaN or of a value outside int32 gives 0x80000000 on x86 and
 * saturates on aarch64.
 * There is no fused multiply-add: one rounds once where the CPU has it and
 * twice where SIMDe emulates it, so results would differ between builds.
 * Compile kernels with -ffp-contract=off (myriad::strict_fp) so that the
 * scalar code they are compared with is not fused either, and with -fwrapv
 * (SIMDe's portable code adds, subtracts, shifts and multiplies the lanes
 * as signed ints, and they wrap).
 *
 * The header needs only SIMDe's headers (libsimde-dev), no library. The
 * CMake option MYR_SIMD_NATIVE (on by default) builds the project's own
 * kernels with -march=native; off, they get the compiler's baseline (SSE2
 * on x86-64); tests/test_simd.c runs the same kernels both ways and with
 * SIMDE_NO_NATIVE (plain C), against scalar loops, bit for bit. */
#ifndef MYRIAD_SIMD_H
#define MYRIAD_SIMD_H

#include <stdbool.h>
#include <stdint.h>

#include <simde/x86/avx2.h>

#include "myriad/query.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MYR_SIMD_WIDTH 8

typedef simde__m256 myr_f32v;  /* 8 floats */
typedef simde__m256i myr_i32v; /* 8 int32 or uint32 lanes */
typedef simde__m256 myr_mask;  /* 8 lanes of all ones (true) or all zeros */

/* for (i = 0; i < count; i += 8): whole vectors, no tail (see above). The
 * count is read once, before the loop, so that stores through the columns
 * (which the compiler cannot tell apart from the chunk) do not make it
 * reload the count every vector. */
#define MYR_FOR_VECTORS(i, chunk) \
  for (uint32_t i = 0, myr_vectors_##i = (chunk)->count; i < myr_vectors_##i; i += MYR_SIMD_WIDTH)

/* ---- loads and stores: p 32-byte aligned (a chunk's column + a multiple of 8 rows) */
static inline myr_f32v myr_f32v_load(const float *p) { return simde_mm256_load_ps(p); }
static inline void myr_f32v_store(float *p, myr_f32v v) { simde_mm256_store_ps(p, v); }
static inline myr_i32v myr_i32v_load(const int32_t *p) {
  return simde_mm256_load_si256((const simde__m256i *)(const void *)p);
}
static inline void myr_i32v_store(int32_t *p, myr_i32v v) { simde_mm256_store_si256((simde__m256i *)(void *)p, v); }
static inline myr_i32v myr_u32v_load(const uint32_t *p) {
  return simde_mm256_load_si256((const simde__m256i *)(const void *)p);
}
static inline void myr_u32v_store(uint32_t *p, myr_i32v v) { simde_mm256_store_si256((simde__m256i *)(void *)p, v); }
/* unaligned, for arrays of one's own */
static inline myr_f32v myr_f32v_loadu(const float *p) { return simde_mm256_loadu_ps(p); }
static inline void myr_f32v_storeu(float *p, myr_f32v v) { simde_mm256_storeu_ps(p, v); }
/* lane j = base[idx[j]]: a gather (one instruction on AVX2, eight loads
 * elsewhere); every index must be a valid element of base */
static inline myr_f32v myr_f32v_gather(const float *base, myr_i32v idx) {
  return simde_mm256_i32gather_ps(base, idx, 4);
}

/* ---- f32 arithmetic ----------------------------------------------------- */
static inline myr_f32v myr_f32v_set1(float x) { return simde_mm256_set1_ps(x); }
static inline myr_f32v myr_f32v_zero(void) { return simde_mm256_setzero_ps(); }
static inline myr_f32v myr_f32v_add(myr_f32v a, myr_f32v b) { return simde_mm256_add_ps(a, b); }
static inline myr_f32v myr_f32v_sub(myr_f32v a, myr_f32v b) { return simde_mm256_sub_ps(a, b); }
static inline myr_f32v myr_f32v_mul(myr_f32v a, myr_f32v b) { return simde_mm256_mul_ps(a, b); }
static inline myr_f32v myr_f32v_div(myr_f32v a, myr_f32v b) { return simde_mm256_div_ps(a, b); }
static inline myr_f32v myr_f32v_sqrt(myr_f32v a) { return simde_mm256_sqrt_ps(a); }
/* a*b + c rounded twice, as the scalar a * b + c without contraction */
static inline myr_f32v myr_f32v_muladd(myr_f32v a, myr_f32v b, myr_f32v c) {
  return myr_f32v_add(myr_f32v_mul(a, b), c);
}
/* min and max as the scalar a < b ? a : b and a > b ? a : b (b when either is NaN) */
static inline myr_f32v myr_f32v_min(myr_f32v a, myr_f32v b) { return simde_mm256_min_ps(a, b); }
static inline myr_f32v myr_f32v_max(myr_f32v a, myr_f32v b) { return simde_mm256_max_ps(a, b); }
static inline myr_f32v myr_f32v_neg(myr_f32v a) { return simde_mm256_xor_ps(a, simde_mm256_set1_ps(-0.0f)); }
static inline myr_f32v myr_f32v_abs(myr_f32v a) { return simde_mm256_andnot_ps(simde_mm256_set1_ps(-0.0f), a); }

/* ---- compares, masks, select (ordered compares: false with a NaN) -------- */
static inline myr_mask myr_f32v_lt(myr_f32v a, myr_f32v b) { return simde_mm256_cmp_ps(a, b, SIMDE_CMP_LT_OQ); }
static inline myr_mask myr_f32v_le(myr_f32v a, myr_f32v b) { return simde_mm256_cmp_ps(a, b, SIMDE_CMP_LE_OQ); }
static inline myr_mask myr_f32v_gt(myr_f32v a, myr_f32v b) { return simde_mm256_cmp_ps(a, b, SIMDE_CMP_GT_OQ); }
static inline myr_mask myr_f32v_ge(myr_f32v a, myr_f32v b) { return simde_mm256_cmp_ps(a, b, SIMDE_CMP_GE_OQ); }
static inline myr_mask myr_f32v_eq(myr_f32v a, myr_f32v b) { return simde_mm256_cmp_ps(a, b, SIMDE_CMP_EQ_OQ); }
static inline myr_mask myr_mask_and(myr_mask a, myr_mask b) { return simde_mm256_and_ps(a, b); }
static inline myr_mask myr_mask_or(myr_mask a, myr_mask b) { return simde_mm256_or_ps(a, b); }
static inline myr_mask myr_mask_not(myr_mask a) {
  return simde_mm256_xor_ps(a, simde_mm256_castsi256_ps(simde_mm256_set1_epi32(-1)));
}
/* bit i: lane i is true */
static inline uint32_t myr_mask_bits(myr_mask m) { return (uint32_t)simde_mm256_movemask_ps(m); }
static inline bool myr_mask_any(myr_mask m) { return myr_mask_bits(m) != 0; }
/* lane by lane, m ? a : b */
static inline myr_f32v myr_f32v_select(myr_mask m, myr_f32v a, myr_f32v b) { return simde_mm256_blendv_ps(b, a, m); }
static inline myr_i32v myr_i32v_select(myr_mask m, myr_i32v a, myr_i32v b) {
  return simde_mm256_castps_si256(simde_mm256_blendv_ps(simde_mm256_castsi256_ps(b), simde_mm256_castsi256_ps(a), m));
}
/* true in the lanes of rows below `count` of the vector starting at row i */
static inline myr_mask myr_simd_tail_mask(uint32_t i, uint32_t count) {
  const simde__m256i lane = simde_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  int32_t left = count > i ? (int32_t)(count - i < 8 ? count - i : 8) : 0;
  return simde_mm256_castsi256_ps(simde_mm256_cmpgt_epi32(simde_mm256_set1_epi32(left), lane));
}

/* ---- i32 and u32 lanes ----------------------------------------------------- */
static inline myr_i32v myr_i32v_set1(int32_t x) { return simde_mm256_set1_epi32(x); }
static inline myr_i32v myr_i32v_add(myr_i32v a, myr_i32v b) { return simde_mm256_add_epi32(a, b); }
static inline myr_i32v myr_i32v_sub(myr_i32v a, myr_i32v b) { return simde_mm256_sub_epi32(a, b); }
/* the low 32 bits of the product (wraps; -fwrapv, see above) */
static inline myr_i32v myr_i32v_mul(myr_i32v a, myr_i32v b) { return simde_mm256_mullo_epi32(a, b); }
static inline myr_i32v myr_i32v_and(myr_i32v a, myr_i32v b) { return simde_mm256_and_si256(a, b); }
static inline myr_i32v myr_i32v_or(myr_i32v a, myr_i32v b) { return simde_mm256_or_si256(a, b); }
static inline myr_i32v myr_i32v_xor(myr_i32v a, myr_i32v b) { return simde_mm256_xor_si256(a, b); }
/* shifts by a count the same for every lane, 0..31; srl is logical (u32), sra arithmetic (i32) */
static inline myr_i32v myr_i32v_sll(myr_i32v a, int n) { return simde_mm256_sll_epi32(a, simde_mm_cvtsi32_si128(n)); }
static inline myr_i32v myr_u32v_srl(myr_i32v a, int n) { return simde_mm256_srl_epi32(a, simde_mm_cvtsi32_si128(n)); }
static inline myr_i32v myr_i32v_sra(myr_i32v a, int n) { return simde_mm256_sra_epi32(a, simde_mm_cvtsi32_si128(n)); }
static inline myr_i32v myr_i32v_min(myr_i32v a, myr_i32v b) { return simde_mm256_min_epi32(a, b); }
static inline myr_i32v myr_i32v_max(myr_i32v a, myr_i32v b) { return simde_mm256_max_epi32(a, b); }
static inline myr_i32v myr_u32v_min(myr_i32v a, myr_i32v b) { return simde_mm256_min_epu32(a, b); }
static inline myr_i32v myr_u32v_max(myr_i32v a, myr_i32v b) { return simde_mm256_max_epu32(a, b); }
static inline myr_mask myr_i32v_eq(myr_i32v a, myr_i32v b) {
  return simde_mm256_castsi256_ps(simde_mm256_cmpeq_epi32(a, b));
}
static inline myr_mask myr_i32v_gt(myr_i32v a, myr_i32v b) {
  return simde_mm256_castsi256_ps(simde_mm256_cmpgt_epi32(a, b));
}
/* conversions: toward zero, as the scalar (int32_t)x for x in range (NaN
 * and values outside int32: build-dependent, see above); int to float
 * rounded to nearest, as (float)i */
static inline myr_i32v myr_f32v_to_i32(myr_f32v a) { return simde_mm256_cvttps_epi32(a); }
static inline myr_f32v myr_i32v_to_f32(myr_i32v a) { return simde_mm256_cvtepi32_ps(a); }

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_SIMD_H */
