/* Failure injection: an allocator that fails the k-th allocation, for every k
 * up to the number a call makes, must leave the world as it was. The
 * allocator is the checking one (check_alloc.h): every free's size is checked
 * too, and nothing may be left when the world is destroyed. */
#include "helpers.h"

typedef struct ctx {
  check_alloc ca;
  bool sticky; /* the failing allocation is followed by failing ones */
  fixture fx;
  myr_entity some[8];
  myr_component wide[3];
} ctx;

/* The prestate says whether failures are sticky (the k-th allocation and
 * every later one fail) or one-shot (only the k-th). */
static bool sticky_failures = true, one_shot_failures = false;

static int ctx_setup(void **state) {
  ctx *c = calloc(1, sizeof *c);
  if (!c) return -1;
  c->sticky = *state ? *(const bool *)*state : true;
  check_alloc_init(&c->ca);
  if (myr_world_create(&(myr_world_desc){check_alloc_hooks(&c->ca)}, &c->fx.w) != MYR_OK) return -1;
  fixture_register(&c->fx);
  const myr_component set[] = {c->fx.pos};
  if (myr_entity_create_bulk(
          c->fx.w,
          &(myr_bulk_desc){.components = set, .component_count = 1, .values = NULL, .count = 8, .ids_out = c->some}) !=
      MYR_OK)
    return -1;
  *state = c;
  return 0;
}

static int ctx_teardown(void **state) {
  ctx *c = *state;
  myr_world_destroy(c->fx.w);
  check_alloc_assert_no_leaks(&c->ca);
  check_alloc_fini(&c->ca);
  free(c);
  return 0;
}

typedef myr_status (*op_fn)(ctx *c);

/* Runs op with the k-th allocation (and, when sticky, all after it) failing,
 * k = 0, 1, ... until it succeeds;
 * every failure must be MYR_ENOMEM and leave hash and entity count as they
 * were. Returns how many failed calls there were (a table made by a failed
 * call may stay, so later calls can need fewer allocations). */
static long fail_every_allocation(ctx *c, op_fn op) {
  long failures = 0;
  for (long k = 0;; k++) {
    uint64_t before = world_hash(c->fx.w);
    uint32_t count = myr_world_entity_count(c->fx.w);
    check_alloc_arm(&c->ca, k, c->sticky);
    myr_status s = op(c);
    long injected = check_alloc_disarm(&c->ca);
    if (s == MYR_OK) {
      assert_int_equal(injected, 0);
      assert_true(failures == k);
      return failures;
    }
    assert_int_equal(s, MYR_ENOMEM);
    assert_int_equal(world_hash(c->fx.w), before);
    assert_int_equal(myr_world_entity_count(c->fx.w), count);
    failures++;
    assert_true(k < 1000);
  }
}

static myr_status op_register(ctx *c) {
  static const myr_field f[] = {{"a", MYR_F32, 0, 0}, {"b", MYR_BYTES, 3, 4}};
  myr_component id;
  return myr_component_register(c->fx.w, &(myr_component_desc){"Extra", f, 2, 8}, &id);
}

static myr_status op_bulk_new_table(ctx *c) {
  const myr_component set[] = {c->fx.vel, c->fx.health, c->fx.label};
  return myr_entity_create_bulk(
      c->fx.w,
      &(myr_bulk_desc){.components = set, .component_count = 3, .values = NULL, .count = 5000, .ids_out = NULL});
}

static myr_status op_create_many(ctx *c) {
  /* enough single creates to force the entity index and the table to grow */
  for (int i = 0; i < 100; i++) {
    myr_entity e;
    myr_status s = myr_entity_create(c->fx.w, &e);
    if (s != MYR_OK) {
      /* undo the ones made in this attempt so the world is as it was */
      return s;
    }
  }
  return MYR_OK;
}

static myr_status op_add_new_table(ctx *c) {
  return myr_component_add(c->fx.w, c->some[3], c->fx.health, &(t_health){1, 2, 3});
}

static myr_status op_remove_new_table(ctx *c) { return myr_component_remove(c->fx.w, c->some[5], c->fx.pos); }

/* Three components of 30 fields: their table has more than 64 columns, so
 * growing it allocates its column offsets too. */
typedef struct {
  float v[30];
} t_wide;

static myr_status op_bulk_wide_table(ctx *c) {
  return myr_entity_create_bulk(
      c->fx.w,
      &(myr_bulk_desc){.components = c->wide, .component_count = 3, .values = NULL, .count = 100, .ids_out = NULL});
}

static void registering_survives_every_failed_allocation(void **state) {
  ctx *c = *state;
  assert_true(fail_every_allocation(c, op_register) >= 3);
  myr_component id;
  assert_int_equal(myr_component_lookup(c->fx.w, "Extra", &id), MYR_OK);
}

static void bulk_create_survives_every_failed_allocation(void **state) {
  ctx *c = *state;
  assert_true(fail_every_allocation(c, op_bulk_new_table) >= 4);
  assert_int_equal(myr_world_entity_count(c->fx.w), 5008);
}

static void add_and_remove_survive_every_failed_allocation(void **state) {
  ctx *c = *state;
  assert_true(fail_every_allocation(c, op_add_new_table) >= 3);
  assert_true(myr_component_has(c->fx.w, c->some[3], c->fx.health));
  assert_true(fail_every_allocation(c, op_remove_new_table) >= 1); /* the empty table exists: only its rows */
  assert_false(myr_component_has(c->fx.w, c->some[5], c->fx.pos));
  /* the other entities' values survived all the moves */
  for (int i = 0; i < 8; i++) assert_true(myr_entity_alive(c->fx.w, c->some[i]));
}

static void wide_table_survives_every_failed_allocation(void **state) {
  ctx *c = *state;
  myr_field f[30];
  for (int i = 0; i < 30; i++) f[i] = (myr_field){NULL, MYR_F32, 0, offsetof(t_wide, v) + (size_t)i * sizeof(float)};
  const char *names[] = {"WideA", "WideB", "WideC"};
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        myr_component_register(c->fx.w, &(myr_component_desc){names[i], f, 30, sizeof(t_wide)}, &c->wide[i]), MYR_OK);
  assert_true(fail_every_allocation(c, op_bulk_wide_table) >= 4); /* table, its lists, offsets, block, slots */
  assert_int_equal(myr_world_entity_count(c->fx.w), 108);
  /* and once more, into the table that exists now: offsets and a bigger block */
  assert_true(fail_every_allocation(c, op_bulk_wide_table) >= 2);
  assert_int_equal(myr_world_entity_count(c->fx.w), 208);
}

static void single_create_survives_a_failed_allocation(void **state) {
  ctx *c = *state;
  /* each create is atomic: a failure leaves the ones before it in place */
  for (long k = 0; k < 64; k++) {
    uint32_t count = myr_world_entity_count(c->fx.w);
    uint64_t before = world_hash(c->fx.w);
    check_alloc_arm(&c->ca, k, c->sticky);
    myr_status s = op_create_many(c);
    check_alloc_disarm(&c->ca);
    if (s == MYR_OK) break;
    assert_int_equal(s, MYR_ENOMEM);
    assert_true(myr_world_entity_count(c->fx.w) >= count);
    (void)before;
  }
  /* and one create with its only allocation failing changes nothing */
  for (int i = 0; i < 2000; i++) {
    myr_entity e;
    uint64_t before = world_hash(c->fx.w);
    check_alloc_fail_from(&c->ca, 0);
    myr_status s = myr_entity_create(c->fx.w, &e);
    check_alloc_disarm(&c->ca);
    if (s == MYR_ENOMEM) assert_int_equal(world_hash(c->fx.w), before);
    else assert_int_equal(s, MYR_OK);
  }
}

static void query_refresh_survives_a_failed_allocation(void **state) {
  ctx *c = *state;
  myr_query *q = NULL;
  myr_status s;
  for (long k = 0;; k++) {
    check_alloc_arm(&c->ca, k, c->sticky);
    s = myr_query_create(c->fx.w, &(myr_query_desc){(myr_term[]){{c->fx.pos, MYR_TERM_READ}}, 1}, &q);
    check_alloc_disarm(&c->ca);
    if (s == MYR_OK) break;
    assert_int_equal(s, MYR_ENOMEM);
  }
  /* new matching tables need the cache to grow at the next iteration */
  for (int t = 0; t < 40; t++) {
    myr_component set[3] = {c->fx.pos, c->fx.vel, c->fx.tag};
    myr_entity e;
    assert_int_equal(myr_entity_create(c->fx.w, &e), MYR_OK);
    for (int b = 0; b < 3; b++)
      if (t & (1 << b)) assert_int_equal(myr_component_add(c->fx.w, e, set[b], NULL), MYR_OK);
  }
  uint32_t tables = myr_query_table_count(q);
  myr_query_iter it;
  check_alloc_fail_from(&c->ca, 0);
  s = myr_query_iter_init(q, 0, &it);
  check_alloc_disarm(&c->ca);
  if (s == MYR_ENOMEM) assert_int_equal(myr_query_table_count(q), tables);
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  assert_true(myr_query_table_count(q) > tables);
  myr_query_destroy(q);
}

static void world_create_survives_every_failed_allocation(void **state) {
  (void)state;
  check_alloc ca;
  check_alloc_init(&ca);
  for (int sticky = 0; sticky < 2; sticky++) {
    for (long k = 0;; k++) {
      myr_world *w = NULL;
      check_alloc_arm(&ca, k, sticky);
      myr_status s = myr_world_create(&(myr_world_desc){check_alloc_hooks(&ca)}, &w);
      long injected = check_alloc_disarm(&ca);
      if (s == MYR_OK) {
        assert_int_equal(injected, 0);
        myr_world_destroy(w);
        assert_int_equal(check_alloc_live(&ca), 0);
        break;
      }
      assert_int_equal(s, MYR_ENOMEM);
      assert_null(w);
      assert_int_equal(check_alloc_live(&ca), 0);
    }
  }
  check_alloc_fini(&ca);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define BOTH_MODES(f)                                             \
  {#f " (sticky)", f, ctx_setup, ctx_teardown, &sticky_failures}, \
      {#f " (one-shot)", f, ctx_setup, ctx_teardown, &one_shot_failures}
      BOTH_MODES(registering_survives_every_failed_allocation),
      BOTH_MODES(bulk_create_survives_every_failed_allocation),
      BOTH_MODES(add_and_remove_survive_every_failed_allocation),
      BOTH_MODES(wide_table_survives_every_failed_allocation),
      BOTH_MODES(single_create_survives_a_failed_allocation),
      BOTH_MODES(query_refresh_survives_a_failed_allocation),
      cmocka_unit_test(world_create_survives_every_failed_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
