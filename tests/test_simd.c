/* simd.h: every helper against the scalar operations it stands for, bit for
 * bit, on values with zeros of both signs, infinities, NaNs, subnormals and
 * random ones; a chunk loop with no tail against a scalar one; and the same
 * output hash from every build (this file is compiled native, portable and
 * SIMDE_NO_NATIVE: each must print and match the pinned hash). */
#include <math.h>

#include "helpers.h"
#include "myriad/simd.h"

enum { N = 4096 };

/* aligned as the loads need: 32 bytes (a chunk's column gives 64) */
static _Alignas(64) float in_a[N], in_b[N], in_c[N], out_v[N], out_s[N];
static _Alignas(64) int32_t ia[N], ib[N], io_v[N], io_s[N];
static uint64_t out_hash = 0xcbf29ce484222325ull;

static uint32_t bits(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  return u;
}

static void mix(const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) out_hash = (out_hash ^ c[i]) * 0x100000001b3ull;
}

static const float sp[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-40f, -1e-42f, 3.4e38f, -1.0f, 1.0f, 0.5f, 1e-30f};
enum { SP = sizeof sp / sizeof *sp };

static float special(uint64_t *r, uint32_t i) {
  if (i % 7 == 3) return sp[(i / 7) % SP];
  return (float)((double)(int64_t)rng_next(r) / 9.2e18 * 1000.0);
}

static void setup_values(void) {
  uint64_t r = 12345;
  for (uint32_t i = 0; i < N; i++) {
    in_a[i] = special(&r, i);
    in_b[i] = special(&r, i + 5);
    in_c[i] = special(&r, i + 11);
    if (i < SP * SP * SP) { /* every pair and triple of specials in one lane */
      in_a[i] = sp[i % SP];
      in_b[i] = sp[i / SP % SP];
      in_c[i] = sp[i / (SP * SP)];
    }
    ia[i] = (int32_t)rng_next(&r);
    ib[i] = i % 5 == 0 ? ia[i] : (int32_t)rng_next(&r);
  }
}

/* Bit for bit, except that any NaN equals any NaN (simd.h: a NaN's sign
 * and payload are not specified); NaNs enter the hash as one pattern. */
static void same_floats(const char *what) {
  for (uint32_t i = 0; i < N; i++) {
    bool nan_v = out_v[i] != out_v[i], nan_s = out_s[i] != out_s[i];
    if (nan_v && nan_s) {
      out_v[i] = NAN;
      continue;
    }
    if (bits(out_v[i]) != bits(out_s[i]))
      fail_msg("%s, lane %u: %08x (simd) vs %08x (scalar)", what, i, bits(out_v[i]), bits(out_s[i]));
  }
  for (uint32_t i = 0; i < N; i++) {
    uint32_t u = out_v[i] != out_v[i] ? 0x7fc00000u : bits(out_v[i]);
    mix(&u, 4);
  }
}

static void same_ints(const char *what) {
  for (uint32_t i = 0; i < N; i++)
    if (io_v[i] != io_s[i])
      fail_msg("%s, lane %u: %08x (simd) vs %08x (scalar)", what, i, (uint32_t)io_v[i], (uint32_t)io_s[i]);
  mix(io_v, sizeof io_v);
}

/* one float operation: the vector loop and the scalar loop, compared */
#define F2(name, vexpr, sexpr)                                                                        \
  do {                                                                                                \
    for (uint32_t i = 0; i < N; i += 8) {                                                             \
      myr_f32v a = myr_f32v_load(in_a + i), b = myr_f32v_load(in_b + i), c = myr_f32v_load(in_c + i); \
      (void)b, (void)c;                                                                               \
      myr_f32v_store(out_v + i, vexpr);                                                               \
    }                                                                                                 \
    for (uint32_t i = 0; i < N; i++) {                                                                \
      float a = in_a[i], b = in_b[i], c = in_c[i];                                                    \
      (void)b, (void)c;                                                                               \
      out_s[i] = sexpr;                                                                               \
    }                                                                                                 \
    same_floats(name);                                                                                \
  } while (0)

#define I2(name, vexpr, sexpr)                                       \
  do {                                                               \
    for (uint32_t i = 0; i < N; i += 8) {                            \
      myr_i32v a = myr_i32v_load(ia + i), b = myr_i32v_load(ib + i); \
      (void)b;                                                       \
      myr_i32v_store(io_v + i, vexpr);                               \
    }                                                                \
    for (uint32_t i = 0; i < N; i++) {                               \
      int32_t a = ia[i], b = ib[i];                                  \
      uint32_t ua = (uint32_t)a, ub = (uint32_t)b;                   \
      (void)b, (void)ua, (void)ub;                                   \
      io_s[i] = (int32_t)(sexpr);                                    \
    }                                                                \
    same_ints(name);                                                 \
  } while (0)

static float smin(float a, float b) { return a < b ? a : b; }
static float smax(float a, float b) { return a > b ? a : b; }

static void float_operations_match_scalar_bit_for_bit(void **state) {
  (void)state;
  F2("add", myr_f32v_add(a, b), a + b);
  F2("sub", myr_f32v_sub(a, b), a - b);
  F2("mul", myr_f32v_mul(a, b), a * b);
  F2("div", myr_f32v_div(a, b), a / b);
  F2("sqrt", myr_f32v_sqrt(myr_f32v_abs(a)), sqrtf(fabsf(a)));
  F2("muladd", myr_f32v_muladd(a, b, c), a * b + c);
  F2("min", myr_f32v_min(a, b), smin(a, b));
  F2("max", myr_f32v_max(a, b), smax(a, b));
  F2("neg", myr_f32v_neg(a), -a);
  F2("abs", myr_f32v_abs(a), fabsf(a));
  F2("set1", myr_f32v_add(a, myr_f32v_set1(0.25f)), a + 0.25f);
  F2("zero", myr_f32v_add(myr_f32v_zero(), a), 0.0f + a);
  F2("select lt", myr_f32v_select(myr_f32v_lt(a, b), a, c), a < b ? a : c);
  F2("select le", myr_f32v_select(myr_f32v_le(a, b), a, c), a <= b ? a : c);
  F2("select gt", myr_f32v_select(myr_f32v_gt(a, b), a, c), a > b ? a : c);
  F2("select ge", myr_f32v_select(myr_f32v_ge(a, b), a, c), a >= b ? a : c);
  F2("select eq", myr_f32v_select(myr_f32v_eq(a, a), a, c), a == a ? a : c);
  F2("and or not",
     myr_f32v_select(myr_mask_or(myr_mask_and(myr_f32v_lt(a, b), myr_f32v_gt(b, c)), myr_mask_not(myr_f32v_eq(c, c))),
                     b, a),
     ((a < b && b > c) || !(c == c)) ? b : a);
  /* int to float: every int32 rounds as the scalar cast (large ones too) */
  for (uint32_t i = 0; i < N; i += 8) myr_f32v_store(out_v + i, myr_i32v_to_f32(myr_i32v_load(ia + i)));
  for (uint32_t i = 0; i < N; i++) out_s[i] = (float)ia[i];
  same_floats("i32 to f32");
  /* conversions, for values the scalar cast defines */
  F2("to i32 and back",
     myr_i32v_to_f32(myr_f32v_to_i32(
         myr_f32v_min(myr_f32v_max(myr_f32v_select(myr_f32v_eq(a, a), a, myr_f32v_zero()), myr_f32v_set1(-2e9f)),
                      myr_f32v_set1(2e9f)))),
     (float)(int32_t)smin(smax(a == a ? a : 0.0f, -2e9f), 2e9f));
}

static void integer_operations_match_scalar_bit_for_bit(void **state) {
  (void)state;
  I2("add", myr_i32v_add(a, b), ua + ub);
  I2("sub", myr_i32v_sub(a, b), ua - ub);
  I2("mul", myr_i32v_mul(a, b), ua * ub);
  I2("and", myr_i32v_and(a, b), ua & ub);
  I2("or", myr_i32v_or(a, b), ua | ub);
  I2("xor", myr_i32v_xor(a, b), ua ^ ub);
  I2("sll 7", myr_i32v_sll(a, 7), ua << 7);
  I2("srl 9", myr_u32v_srl(a, 9), ua >> 9);
  I2("sra 3", myr_i32v_sra(a, 3), a < 0 ? ~(~ua >> 3) : ua >> 3);
  I2("min", myr_i32v_min(a, b), a < b ? a : b);
  I2("max", myr_i32v_max(a, b), a > b ? a : b);
  I2("umin", myr_u32v_min(a, b), ua < ub ? ua : ub);
  I2("umax", myr_u32v_max(a, b), ua > ub ? ua : ub);
  I2("set1", myr_i32v_add(a, myr_i32v_set1(77)), ua + 77u);
  I2("select eq", myr_i32v_select(myr_i32v_eq(a, b), a, myr_i32v_set1(-1)), a == b ? ua : 0xffffffffu);
  I2("select gt", myr_i32v_select(myr_i32v_gt(a, b), a, b), a > b ? ua : ub);
  /* u32 load and store are the same lanes */
  for (uint32_t i = 0; i < N; i += 8) myr_u32v_store((uint32_t *)io_v + i, myr_u32v_load((const uint32_t *)ia + i));
  assert_memory_equal(io_v, ia, sizeof ia);
}

static void masks_give_their_lanes(void **state) {
  (void)state;
  myr_f32v a = myr_f32v_loadu((const float[]){1, 2, 3, 4, 5, 6, 7, 8});
  assert_int_equal(myr_mask_bits(myr_f32v_lt(a, myr_f32v_set1(3.5f))), 0x07);
  assert_true(myr_mask_any(myr_f32v_gt(a, myr_f32v_set1(7.5f))));
  assert_false(myr_mask_any(myr_f32v_gt(a, myr_f32v_set1(8.0f))));
  float back[8];
  myr_f32v_storeu(back, a);
  assert_true(back[7] == 8.0f);
  for (uint32_t count = 0; count <= 20; count++)
    for (uint32_t i = 0; i <= 16; i += 8) {
      uint32_t want = count <= i ? 0 : count - i >= 8 ? 0xff : (1u << (count - i)) - 1;
      assert_int_equal(myr_mask_bits(myr_simd_tail_mask(i, count)), want);
    }
}

/* A gather copies each lane's element as it is (NaN payloads too): any
 * index order, repeats, the first and the last element. */
static void gather_reads_each_lanes_index(void **state) {
  (void)state;
  uint64_t r = 99;
  for (int round = 0; round < 200; round++) {
    _Alignas(32) int32_t idx[8];
    for (int j = 0; j < 8; j++) idx[j] = (int32_t)(rng_next(&r) % N);
    if (round == 0) idx[0] = 0, idx[7] = N - 1, idx[3] = idx[4];
    float got[8];
    myr_f32v_storeu(got, myr_f32v_gather(in_a, myr_i32v_load(idx)));
    for (int j = 0; j < 8; j++) assert_int_equal(bits(got[j]), bits(in_a[idx[j]]));
  }
}

/* pos += vel * dt over query chunks: whole vectors with no tail, against the
 * scalar loop on a twin world; the two worlds end in the same hash, so the
 * writes past each table's count (into padding rows) changed no entity. */
static void chunk_loops_need_no_tail(void **state) {
  (void)state;
  myr_world *w[2];
  myr_component pos[2], vel[2];
  static const myr_field f2[] = {{"x", MYR_F32, 0, 0}, {"y", MYR_F32, 0, 4}};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(myr_world_create(checked_world(), &w[k]), MYR_OK);
    assert_int_equal(myr_component_register(w[k], &(myr_component_desc){"P", f2, 2, 8}, &pos[k]), MYR_OK);
    assert_int_equal(myr_component_register(w[k], &(myr_component_desc){"V", f2, 2, 8}, &vel[k]), MYR_OK);
    for (uint32_t n = 1; n <= 1003; n += 77) { /* many tables' worth of odd counts: one table, growing */
      float *cols = malloc(sizeof(float) * 4 * n);
      for (uint32_t i = 0; i < 4 * n; i++) cols[i] = (float)(i % 97) * 0.37f - (float)n;
      const myr_bulk_column c[] = {
          {pos[k], 0, cols}, {pos[k], 1, cols + n}, {vel[k], 0, cols + 2 * n}, {vel[k], 1, cols + 3 * n}};
      assert_int_equal(myr_entity_create_bulk(w[k], &(myr_bulk_desc){.components = (myr_component[]){pos[k], vel[k]},
                                                                     .component_count = 2,
                                                                     .count = n,
                                                                     .columns = c,
                                                                     .column_count = 4}),
                       MYR_OK);
      free(cols);
    }
    myr_query *q;
    assert_int_equal(
        myr_query_create(w[k], &(myr_query_desc){(myr_term[]){{pos[k], MYR_TERM_WRITE}, {vel[k], MYR_TERM_READ}}, 2},
                         &q),
        MYR_OK);
    const float dt = 1.0f / 60.0f;
    for (uint32_t chunk_rows = 16; chunk_rows <= 4096; chunk_rows *= 4) {
      myr_query_iter it;
      myr_chunk ch;
      myr_query_iter_init(q, chunk_rows, &it);
      while (myr_query_next(&it, &ch)) {
        float *px = myr_chunk_f32(&ch, 0, 0), *py = myr_chunk_f32(&ch, 0, 1);
        const float *vx = myr_chunk_f32(&ch, 1, 0), *vy = myr_chunk_f32(&ch, 1, 1);
        if (k == 0) {
          const myr_f32v d = myr_f32v_set1(dt);
          MYR_FOR_VECTORS(i, &ch) {
            myr_f32v_store(px + i, myr_f32v_muladd(myr_f32v_load(vx + i), d, myr_f32v_load(px + i)));
            myr_f32v_store(py + i, myr_f32v_muladd(myr_f32v_load(vy + i), d, myr_f32v_load(py + i)));
          }
        } else {
          for (uint32_t i = 0; i < ch.count; i++) {
            px[i] = vx[i] * dt + px[i];
            py[i] = vy[i] * dt + py[i];
          }
        }
      }
    }
    myr_query_destroy(q);
  }
  assert_true(world_hash(w[0]) == world_hash(w[1]));
  myr_world_destroy(w[0]);
  myr_world_destroy(w[1]);
}

/* Run last: every operation above fed the hash. */
static void every_build_gives_the_same_bits(void **state) {
  (void)state;
  fprintf(stderr, "%s: output hash 0x%016llx\n", MYR_SIMD_BUILD, (unsigned long long)out_hash);
#ifdef MYR_SIMD_HASH
  assert_true(out_hash == MYR_SIMD_HASH);
#endif
}

int main(void) {
  setup_values();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(float_operations_match_scalar_bit_for_bit),
      cmocka_unit_test(integer_operations_match_scalar_bit_for_bit),
      cmocka_unit_test(masks_give_their_lanes),
      cmocka_unit_test(gather_reads_each_lanes_index),
      cmocka_unit_test(chunk_loops_need_no_tail),
      cmocka_unit_test(every_build_gives_the_same_bits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
