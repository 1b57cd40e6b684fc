/* Failure injection: an allocator that fails the k-th allocation, for every k
 * up to the number a call makes, must leave the world as it was. */
#include "helpers.h"

typedef struct failing {
  long countdown;  /* allocations left before one fails; -1 = never fail */
  long calls;      /* allocations attempted since arming */
  long live;       /* blocks outstanding */
  size_t bytes;    /* bytes outstanding */
} failing;

static void *fail_alloc(size_t size, size_t align, void *user) {
  failing *f = user;
  f->calls++;
  if (f->countdown == 0) return NULL;
  if (f->countdown > 0) f->countdown--;
  if (align < sizeof(void *)) align = sizeof(void *);
  void *p = aligned_alloc(align, (size + align - 1) / align * align + align);
  if (p) {
    f->live++;
    f->bytes += size;
  }
  return p;
}

static void fail_free(void *p, size_t size, void *user) {
  failing *f = user;
  f->live--;
  f->bytes -= size;
  free(p);
}

typedef struct ctx {
  failing fa;
  fixture fx;
  myr_entity some[8];
} ctx;

static int ctx_setup(void **state) {
  ctx *c = calloc(1, sizeof *c);
  c->fa.countdown = -1;
  if (myr_world_create(&(myr_world_desc){{fail_alloc, fail_free, &c->fa}}, &c->fx.w) != MYR_OK) return -1;
  fixture_register(&c->fx);
  const myr_component set[] = {c->fx.pos};
  if (myr_entity_create_bulk(c->fx.w, &(myr_bulk_desc){set, 1, NULL, 8, c->some}) != MYR_OK) return -1;
  *state = c;
  return 0;
}

static int ctx_teardown(void **state) {
  ctx *c = *state;
  myr_world_destroy(c->fx.w);
  assert_int_equal(c->fa.live, 0);
  assert_int_equal(c->fa.bytes, 0);
  free(c);
  return 0;
}

typedef myr_status (*op_fn)(ctx *c);

/* Runs op with the k-th allocation failing, k = 0, 1, ... until it succeeds;
 * every failure must be MYR_ENOMEM and leave hash and entity count as they
 * were. Returns how many failed calls there were (a table made by a failed
 * call may stay, so later calls can need fewer allocations). */
static long fail_every_allocation(ctx *c, op_fn op) {
  long failures = 0;
  for (long k = 0;; k++) {
    uint64_t before = world_hash(c->fx.w);
    uint32_t count = myr_world_entity_count(c->fx.w);
    c->fa.countdown = k;
    c->fa.calls = 0;
    myr_status s = op(c);
    c->fa.countdown = -1;
    if (s == MYR_OK) {
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
  return myr_entity_create_bulk(c->fx.w, &(myr_bulk_desc){set, 3, NULL, 5000, NULL});
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

static void single_create_survives_a_failed_allocation(void **state) {
  ctx *c = *state;
  /* each create is atomic: a failure leaves the ones before it in place */
  for (long k = 0; k < 64; k++) {
    uint32_t count = myr_world_entity_count(c->fx.w);
    uint64_t before = world_hash(c->fx.w);
    c->fa.countdown = k;
    myr_status s = op_create_many(c);
    c->fa.countdown = -1;
    if (s == MYR_OK) break;
    assert_int_equal(s, MYR_ENOMEM);
    assert_true(myr_world_entity_count(c->fx.w) >= count);
    (void)before;
  }
  /* and one create with its only allocation failing changes nothing */
  for (int i = 0; i < 2000; i++) {
    myr_entity e;
    uint64_t before = world_hash(c->fx.w);
    c->fa.countdown = 0;
    myr_status s = myr_entity_create(c->fx.w, &e);
    c->fa.countdown = -1;
    if (s == MYR_ENOMEM) assert_int_equal(world_hash(c->fx.w), before);
    else assert_int_equal(s, MYR_OK);
  }
}

static void query_refresh_survives_a_failed_allocation(void **state) {
  ctx *c = *state;
  myr_query *q = NULL;
  myr_status s;
  for (long k = 0;; k++) {
    c->fa.countdown = k;
    s = myr_query_create(c->fx.w, &(myr_query_desc){(myr_term[]){{c->fx.pos, MYR_TERM_READ}}, 1}, &q);
    c->fa.countdown = -1;
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
  c->fa.countdown = 0;
  s = myr_query_iter_init(q, 0, &it);
  c->fa.countdown = -1;
  if (s == MYR_ENOMEM) assert_int_equal(myr_query_table_count(q), tables);
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  assert_true(myr_query_table_count(q) > tables);
  myr_query_destroy(q);
}

static void world_create_survives_every_failed_allocation(void **state) {
  (void)state;
  failing fa = {.countdown = -1};
  for (long k = 0;; k++) {
    myr_world *w = NULL;
    fa.countdown = k;
    myr_status s = myr_world_create(&(myr_world_desc){{fail_alloc, fail_free, &fa}}, &w);
    fa.countdown = -1;
    if (s == MYR_OK) {
      myr_world_destroy(w);
      assert_int_equal(fa.live, 0);
      break;
    }
    assert_int_equal(s, MYR_ENOMEM);
    assert_null(w);
    assert_int_equal(fa.live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(registering_survives_every_failed_allocation, ctx_setup, ctx_teardown),
      cmocka_unit_test_setup_teardown(bulk_create_survives_every_failed_allocation, ctx_setup, ctx_teardown),
      cmocka_unit_test_setup_teardown(add_and_remove_survive_every_failed_allocation, ctx_setup, ctx_teardown),
      cmocka_unit_test_setup_teardown(single_create_survives_a_failed_allocation, ctx_setup, ctx_teardown),
      cmocka_unit_test_setup_teardown(query_refresh_survives_a_failed_allocation, ctx_setup, ctx_teardown),
      cmocka_unit_test(world_create_survives_every_failed_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
