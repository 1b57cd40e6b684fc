/* Random numbers per entity (random.h): Philox's known answer, the key and
 * counter layout against Philox itself, the draws pinned bit for bit (the aarch64 build checks
 * the same values), their ranges and moments, and the same draws for any
 * thread count and chunk size through a schedule. */
#include <math.h>

#include <Random123/philox.h>

#include "helpers.h"
#include "myriad/random.h"

static void philox_gives_its_known_answer_for_zero_key_and_counter(void **state) {
  (void)state;
  /* Random123's known-answer test for philox4x32-10, all zero */
  philox4x32_ctr_t c = {{0, 0, 0, 0}};
  philox4x32_key_t k = {{0, 0}};
  philox4x32_ctr_t o = philox4x32(c, k);
  assert_int_equal(o.v[0], 0x6627e8d5);
  assert_int_equal(o.v[1], 0xe169c58d);
  assert_int_equal(o.v[2], 0xbc57ac4c);
  assert_int_equal(o.v[3], 0x9b00dbd8);
}

/* The generators follow the layout random.h documents, block after block,
 * the system's block carrying into the second counter word. */
static void generators_are_philox_on_the_documented_layout(void **state) {
  (void)state;
  uint64_t seed = 0x0123456789abcdefull, frame = 0x500000007ull;
  myr_entity e = 0x0000002a0000beefull;
  myr_random r;
  assert_int_equal(myr_random_entity(seed, frame, e, 513, &r), MYR_OK);
  philox4x32_key_t k = {{(uint32_t)seed, (uint32_t)(seed >> 32) ^ (uint32_t)(frame >> 32)}};
  for (uint32_t block = 0; block < 3; block++) {
    philox4x32_ctr_t c = {{(uint32_t)e, (uint32_t)(e >> 32), (uint32_t)frame, 513u << 16 | block}};
    philox4x32_ctr_t o = philox4x32(c, k);
    for (int i = 0; i < 4; i++) assert_int_equal(myr_random_u32(&r), o.v[i]);
  }
  assert_int_equal(myr_random_system(seed, frame, 9, 2, &r), MYR_OK);
  for (uint32_t block = 0; block < (1u << 16) + 2; block++) {
    philox4x32_ctr_t c = {{9, UINT32_C(1) << 31 | block >> 16, (uint32_t)frame, 2u << 16 | (block & 0xffff)}};
    philox4x32_ctr_t o = philox4x32(c, k);
    for (int i = 0; i < 4; i++) {
      uint32_t got = myr_random_u32(&r);
      if (block < 2 || block >= (1u << 16)) assert_int_equal(got, o.v[i]);
    }
  }
}

/* The first outputs of a generator, as one hash. */
static uint64_t first_outputs(uint64_t seed, uint64_t frame, uint64_t id, uint32_t stream, bool system) {
  myr_random r;
  if (system) assert_int_equal(myr_random_system(seed, frame, (uint32_t)id, stream, &r), MYR_OK);
  else assert_int_equal(myr_random_entity(seed, frame, id, stream, &r), MYR_OK);
  uint64_t h = 0;
  for (int i = 0; i < 9; i++) h = h * 0x100000001b3ull ^ myr_random_u32(&r);
  return h;
}

static void every_part_of_the_key_and_counter_changes_the_numbers(void **state) {
  (void)state;
  uint64_t base = first_outputs(7, 3, 0x100000005ull, 1, false);
  assert_int_equal(base, first_outputs(7, 3, 0x100000005ull, 1, false)); /* a pure function */
  uint64_t others[] = {
      first_outputs(8, 3, 0x100000005ull, 1, false),
      first_outputs(7, 4, 0x100000005ull, 1, false),
      first_outputs(7, 3 + (1ull << 32), 0x100000005ull, 1, false),
      first_outputs(7, 3, 0x100000006ull, 1, false),
      first_outputs(7, 3, 0x200000005ull, 1, false),
      first_outputs(7, 3, 0x100000005ull, 2, false),
      first_outputs(7, 3, 5, 1, true),
      first_outputs(7 + (1ull << 32), 3, 0x100000005ull, 1, false),
  };
  for (size_t i = 0; i < sizeof others / sizeof *others; i++) assert_true(others[i] != base);
}

static void bad_arguments_are_refused(void **state) {
  (void)state;
  myr_random r;
  assert_int_equal(myr_random_entity(1, 2, 3, MYR_RANDOM_STREAMS, &r), MYR_EINVAL);
  assert_int_equal(myr_random_system(1, 2, 3, MYR_RANDOM_STREAMS, &r), MYR_EINVAL);
  assert_int_equal(myr_random_entity(1, 2, 3, 0, NULL), MYR_EINVAL);
  assert_int_equal(myr_random_entity(1, 2, 3, MYR_RANDOM_STREAMS - 1, &r), MYR_OK);
  assert_int_equal(myr_random_entity(1, 2, MYR_ENTITY_NULL, 0, &r), MYR_EINVAL);
  assert_int_equal(myr_random_entity(1, 2, UINT64_C(1) << 63 | 5, 0, &r), MYR_EINVAL); /* provisional */
  assert_int_equal(myr_view_random(NULL, 0, 0, &r), MYR_EINVAL);
  assert_int_equal(myr_view_random_once(NULL, 0, &r), MYR_EINVAL);
  assert_int_equal(myr_random_below(&r, 0), 0);
}

/* Bit patterns of the draws of one generator: the same on every build and
 * architecture (the aarch64 preset runs this test under qemu). */
static void draws_are_pinned_bit_for_bit(void **state) {
  (void)state;
  myr_random r;
  assert_int_equal(myr_random_entity(0x5eed, 42, 0x0000000300000011ull, 9, &r), MYR_OK);
  uint64_t h = 0;
  for (int i = 0; i < 1000; i++) {
    float f = myr_random_float(&r);
    double d = myr_random_double(&r), n = myr_random_normal(&r);
    uint32_t fb, b = myr_random_below(&r, 1000 + (uint32_t)i);
    uint64_t db, nb;
    memcpy(&fb, &f, 4);
    memcpy(&db, &d, 8);
    memcpy(&nb, &n, 8);
    h = (h ^ fb) * 0x100000001b3ull;
    h = (h ^ db) * 0x100000001b3ull;
    h = (h ^ nb) * 0x100000001b3ull;
    h = (h ^ b) * 0x100000001b3ull;
  }
#ifdef MYR_RANDOM_HASH
  if (h != MYR_RANDOM_HASH) fail_msg("draws hash %016llx, pinned %016llx", (unsigned long long)h, MYR_RANDOM_HASH);
#else
  printf("draws hash: 0x%016llxull\n", (unsigned long long)h);
#endif
}

/* An entity's generator gives 2^18 outputs and then repeats them; a
 * system's goes on (the layout in random.h). */
static void generators_last_as_long_as_their_layout_says(void **state) {
  (void)state;
  myr_random e, s;
  assert_int_equal(myr_random_entity(5, 6, 0x100000007ull, 8, &e), MYR_OK);
  assert_int_equal(myr_random_system(5, 6, 7, 8, &s), MYR_OK);
  uint32_t e0 = myr_random_u32(&e), s0 = myr_random_u32(&s), e1 = myr_random_u32(&e), s1 = myr_random_u32(&s);
  for (uint32_t i = 2; i < (1u << 18); i++) {
    myr_random_u32(&e);
    myr_random_u32(&s);
  }
  uint32_t e2 = myr_random_u32(&e), e3 = myr_random_u32(&e), s2 = myr_random_u32(&s), s3 = myr_random_u32(&s);
  assert_true(e2 == e0 && e3 == e1);
  assert_false(s2 == s0 && s3 == s1);
}

static void draws_stay_in_range_with_the_moments_they_should_have(void **state) {
  (void)state;
  myr_random r;
  assert_int_equal(myr_random_system(99, 1, 2, 3, &r), MYR_OK);
  enum { N = 200000 };
  double sum = 0, sq = 0, usum = 0;
  uint32_t counts[10] = {0};
  for (int i = 0; i < N; i++) {
    float f = myr_random_float(&r);
    double d = myr_random_double(&r);
    assert_true(f >= 0.0f && f < 1.0f);
    assert_true(d >= 0.0 && d < 1.0);
    usum += d;
    uint32_t b = myr_random_below(&r, 10);
    assert_true(b < 10);
    counts[b]++;
    double n = myr_random_normal(&r);
    assert_true(isfinite(n));
    sum += n;
    sq += n * n;
  }
  double mean = sum / N, var = sq / N - mean * mean;
  /* five standard errors: a correct generator fails this about once in 10^6 */
  assert_true(fabs(mean) < 5 * sqrt(1.0 / N));
  assert_true(fabs(var - 1.0) < 5 * sqrt(2.0 / N));
  assert_true(fabs(usum / N - 0.5) < 5 * sqrt(1.0 / 12 / N));
  for (int k = 0; k < 10; k++) assert_true(fabs(counts[k] - N / 10.0) < 5 * sqrt(N * 0.09));
}

/* Through a schedule: every row draws by its entity; the world hash after
 * a few frames is the same for every thread count and chunk size. */
typedef struct {
  float x;
  uint32_t n;
} drawn;

static void draw_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  float *x = myr_chunk_column(&v->chunk, 0, 0);
  uint32_t *n = myr_chunk_column(&v->chunk, 0, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    myr_random r;
    if (myr_view_random(v, i, 1, &r) != MYR_OK) {
      myr_system_fail(v, MYR_EINVAL);
      return;
    }
    x[i] += (float)myr_random_normal(&r);
    n[i] += myr_random_below(&r, 100);
  }
}

static void spawn_some(const myr_view *v, myr_patches *p) {
  myr_random r;
  if (myr_view_random_once(v, 2, &r) != MYR_OK) {
    myr_system_fail(v, MYR_EINVAL);
    return;
  }
  const myr_component *c = v->user;
  for (uint32_t k = myr_random_below(&r, 50); k > 0; k--) {
    drawn d = {myr_random_float(&r), myr_random_u32(&r)};
    if (myr_patch_spawn(p, c, 1, (const void *const[]){&d}, NULL) != MYR_OK) myr_system_fail(v, MYR_ENOMEM);
  }
}

static uint64_t run_draws(uint32_t workers, uint32_t chunk) {
  myr_world *w;
  assert_int_equal(myr_world_create(NULL, &w), MYR_OK);
  assert_int_equal(myr_world_set_seed(w, 1234), MYR_OK);
  assert_int_equal(myr_world_seed(w), 1234);
  static const myr_field f[] = {MYR_FIELD(drawn, x, MYR_F32), MYR_FIELD(drawn, n, MYR_U32)};
  myr_component c;
  assert_int_equal(myr_component_register(w, &(myr_component_desc){"Drawn", f, 2, sizeof(drawn)}, &c), MYR_OK);
  assert_int_equal(myr_entity_create_bulk(w, &(myr_bulk_desc){.components = &c, .component_count = 1, .count = 3000}),
                   MYR_OK);
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &s), MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "draw",
                                                       .terms = (myr_term[]){{c, MYR_TERM_WRITE}},
                                                       .term_count = 1,
                                                       .fn = draw_rows},
                                    NULL),
                   MYR_OK);
  static myr_component comp;
  comp = c;
  assert_int_equal(myr_schedule_add(s, &(myr_system_desc){.name = "spawn", .fn = spawn_some, .user = &comp}, NULL),
                   MYR_OK);
  for (int fr = 0; fr < 6; fr++) assert_int_equal(myr_schedule_run(s, 0.25), MYR_OK);
  assert_int_equal(myr_world_frame(w), 6);
  assert_true(myr_world_time(w) == 1.5);
  uint64_t h;
  assert_int_equal(myr_world_hash(w, &h), MYR_OK);
  myr_schedule_destroy(s);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  myr_world_destroy(w);
  return h;
}

static void rows_draw_the_same_for_every_thread_count_and_chunk_size(void **state) {
  (void)state;
  uint64_t ref = run_draws(1, 4096);
  const uint32_t workers[] = {1, 2, 3}, chunks[] = {16, 160, 1024};
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++)
      if (run_draws(workers[a], chunks[b]) != ref) fail_msg("workers %u chunk %u differ", workers[a], chunks[b]);
}

static void the_clock_can_be_set_to_continue_a_run(void **state) {
  (void)state;
  myr_world *w;
  assert_int_equal(myr_world_create(NULL, &w), MYR_OK);
  assert_int_equal(myr_world_seed(w), 0);
  assert_int_equal(myr_world_frame(w), 0);
  assert_int_equal(myr_world_set_clock(w, 41, 10.25), MYR_OK);
  assert_int_equal(myr_world_frame(w), 41);
  assert_true(myr_world_time(w) == 10.25);
  assert_int_equal(myr_world_set_clock(NULL, 1, 1), MYR_EINVAL);
  assert_int_equal(myr_world_set_seed(NULL, 1), MYR_EINVAL);
  myr_world_destroy(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(philox_gives_its_known_answer_for_zero_key_and_counter),
      cmocka_unit_test(generators_are_philox_on_the_documented_layout),
      cmocka_unit_test(every_part_of_the_key_and_counter_changes_the_numbers),
      cmocka_unit_test(bad_arguments_are_refused),
      cmocka_unit_test(draws_are_pinned_bit_for_bit),
      cmocka_unit_test(generators_last_as_long_as_their_layout_says),
      cmocka_unit_test(draws_stay_in_range_with_the_moments_they_should_have),
      cmocka_unit_test(rows_draw_the_same_for_every_thread_count_and_chunk_size),
      cmocka_unit_test(the_clock_can_be_set_to_continue_a_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
