/* Determinism: a simulation whose systems read and write shared components
 * and spawn, destroy, add and remove through patches gives the same world
 * hash after every frame for 1, 2, 3, 4 and 8 threads and chunk sizes 16,
 * 64, 1000, 4096 and 65536. Commutative and first-wins patches included.
 * The reference merges its patches on one thread; the other runs share
 * every batch among their workers, and must end every frame with the same
 * hash and every stage with the same patch statistics. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "helpers.h"

#ifndef MYR_DETERMINISM_FRAMES
#define MYR_DETERMINISM_FRAMES 100
#endif

typedef struct {
  float x, y, z;
} vec3;
typedef struct {
  int32_t hp;
} health;
typedef struct {
  uint32_t ticks;
} age;
typedef struct {
  myr_entity e;
} target;

typedef struct sim {
  myr_world *w;
  myr_component pos, vel, hp, age, target, marked;
} sim;

static atomic_int callback_errors;
#define CHECK(call)                                              \
  do {                                                           \
    if ((call) != MYR_OK) atomic_fetch_add(&callback_errors, 1); \
  } while (0)

/* ---- systems ------------------------------------------------------------- */

static void integrate(const myr_view *v, myr_patches *p) {
  (void)p;
  float *px = myr_chunk_column(&v->chunk, 0, 0), *py = myr_chunk_column(&v->chunk, 0, 1);
  const float *vx = myr_chunk_column(&v->chunk, 1, 0), *vy = myr_chunk_column(&v->chunk, 1, 1);
  float dt = (float)v->dt;
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    px[i] += vx[i] * dt;
    py[i] += vy[i] * dt;
  }
}

static void grow_old(const myr_view *v, myr_patches *p) {
  const sim *s = v->user;
  uint32_t *ticks = myr_chunk_column(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    ticks[i]++;
    if (ticks[i] % 7 == 0) CHECK(myr_patch_add(p, v->chunk.ids[i], s->marked, NULL));
  }
}

static void damage(const myr_view *v, myr_patches *p) {
  int32_t *hp = myr_chunk_column(&v->chunk, 0, 0);
  const float *px = myr_chunk_column(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    hp[i] -= (int32_t)fmodf(fabsf(px[i]), 3.0f) + 1;
    if (hp[i] <= 0) CHECK(myr_patch_destroy(p, v->chunk.ids[i]));
  }
}

static void spawner(const myr_view *v, myr_patches *p) {
  const sim *s = v->user;
  if (myr_world_entity_count(s->w) > 20000) return; /* fixed during the stage: deterministic */
  const uint32_t *ticks = myr_chunk_column(&v->chunk, 0, 0);
  const float *px = myr_chunk_column(&v->chunk, 1, 0), *vx = myr_chunk_column(&v->chunk, 2, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (ticks[i] % 13 != 5) continue;
    const myr_component set[] = {s->pos, s->vel, s->hp, s->age, s->target};
    vec3 pos = {px[i], 1, 0}, vel = {-vx[i] * 0.5f + 0.25f, 0.5f, 0};
    const void *values[] = {&pos, &vel, &(health){50}, &(age){0}, &(target){v->chunk.ids[i]}};
    myr_entity child;
    CHECK(myr_patch_spawn(p, set, 5, values, &child));
    if (ticks[i] % 2) CHECK(myr_patch_add(p, child, s->marked, NULL));
  }
}

static void unmark(const myr_view *v, myr_patches *p) {
  const sim *s = v->user;
  float *vy = myr_chunk_column(&v->chunk, 1, 1);
  const uint32_t *ticks = myr_chunk_column(&v->chunk, 2, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    vy[i] = -vy[i];
    if (ticks[i] % 5 == 0) CHECK(myr_patch_remove(p, v->chunk.ids[i], s->marked));
  }
}

static void heal_target(const myr_view *v, myr_patches *p) {
  const sim *s = v->user;
  const myr_entity *t = myr_chunk_column(&v->chunk, 0, 0);
  const int32_t *hp = myr_chunk_column(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    int32_t give = hp[i] / 2 + 3;
    CHECK(myr_patch_set_field(p, t[i], s->hp, 0, MYR_I32, &give)); /* the target may be gone: skipped */
  }
}

/* Many rows update one target: commutative updates (a float sum, whose
 * rounding depends on the order) and first-wins claims settle in key order. */
static void tribute(const myr_view *v, myr_patches *p) {
  const sim *s = v->user;
  const myr_entity *t = myr_chunk_column(&v->chunk, 0, 0);
  const float *px = myr_chunk_column(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    CHECK(myr_patch_add_to(p, t[i], s->pos, 2, MYR_F32, &(float){px[i] * 0.001f + 0.1f}));
    CHECK(myr_patch_max(p, t[i], s->hp, 0, MYR_I32, &(int32_t){(int32_t)(px[i]) % 97}));
    CHECK(myr_patch_min(p, t[i], s->vel, 1, MYR_F32, &(float){px[i] * -0.01f}));
    CHECK(myr_patch_set_first(p, t[i], s->age, &(age){(uint32_t)v->chunk.ids[i]}));
  }
}

static void cull(const myr_view *v, myr_patches *p) {
  const sim *s = v->user;
  const float *px = myr_chunk_column(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (px[i] > 400) CHECK(myr_patch_destroy(p, v->chunk.ids[i]));
    else if (px[i] > 200) CHECK(myr_patch_remove(p, v->chunk.ids[i], s->vel));
  }
}

/* ---- the simulation ------------------------------------------------------ */

static void sim_make(sim *s) {
  static const myr_field vec_f[] = {MYR_FIELD(vec3, x, MYR_F32), MYR_FIELD(vec3, y, MYR_F32),
                                    MYR_FIELD(vec3, z, MYR_F32)};
  static const myr_field hp_f[] = {MYR_FIELD(health, hp, MYR_I32)};
  static const myr_field age_f[] = {MYR_FIELD(age, ticks, MYR_U32)};
  static const myr_field target_f[] = {MYR_FIELD(target, e, MYR_U64)};
  assert_int_equal(myr_world_create(checked_world(), &s->w), MYR_OK);
  assert_int_equal(myr_component_register(s->w, &(myr_component_desc){"Position", vec_f, 3, sizeof(vec3)}, &s->pos),
                   MYR_OK);
  assert_int_equal(myr_component_register(s->w, &(myr_component_desc){"Velocity", vec_f, 3, sizeof(vec3)}, &s->vel),
                   MYR_OK);
  assert_int_equal(myr_component_register(s->w, &(myr_component_desc){"Health", hp_f, 1, sizeof(health)}, &s->hp),
                   MYR_OK);
  assert_int_equal(myr_component_register(s->w, &(myr_component_desc){"Age", age_f, 1, sizeof(age)}, &s->age), MYR_OK);
  assert_int_equal(
      myr_component_register(s->w, &(myr_component_desc){"Target", target_f, 1, sizeof(target)}, &s->target), MYR_OK);
  assert_int_equal(myr_component_register(s->w, &(myr_component_desc){"Marked", NULL, 0, 0}, &s->marked), MYR_OK);
  /* 5000 entities over a few tables, with varied values */
  uint64_t rng = 42;
  for (int i = 0; i < 5000; i++) {
    myr_entity e;
    assert_int_equal(myr_entity_create(s->w, &e), MYR_OK);
    uint64_t r = rng_next(&rng);
    assert_int_equal(myr_component_add(s->w, e, s->pos, &(vec3){(float)(r % 300), (float)((r >> 10) % 50), 0}), MYR_OK);
    if (r & (1ull << 20))
      assert_int_equal(myr_component_add(s->w, e, s->vel, &(vec3){(float)((r >> 21) % 17) - 3.5f, 1.5f, 0}), MYR_OK);
    assert_int_equal(myr_component_add(s->w, e, s->hp, &(health){(int32_t)((r >> 30) % 200) + 1}), MYR_OK);
    if (r & (1ull << 40))
      assert_int_equal(myr_component_add(s->w, e, s->age, &(age){(uint32_t)((r >> 41) % 20)}), MYR_OK);
    if (r & (1ull << 50)) assert_int_equal(myr_component_add(s->w, e, s->marked, NULL), MYR_OK);
    if (i > 0 && (r & (1ull << 55))) {
      myr_entity other = ((myr_entity)1 << 32) | (uint32_t)((r >> 56) % (uint64_t)i);
      assert_int_equal(myr_component_add(s->w, e, s->target, &(target){other}), MYR_OK);
    }
  }
}

static myr_schedule *sim_schedule(sim *s, myr_jobs *pool, uint32_t chunk) {
  myr_schedule *sc;
  assert_int_equal(myr_schedule_create(s->w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &sc), MYR_OK);
  struct {
    const char *name;
    uint32_t stage;
    myr_system_fn fn;
    myr_term terms[4];
    uint32_t n;
  } systems[] = {
      {"integrate", 0, integrate, {{s->pos, MYR_TERM_WRITE}, {s->vel, MYR_TERM_READ}}, 2},
      {"grow_old", 0, grow_old, {{s->age, MYR_TERM_WRITE}, {s->marked, MYR_TERM_WITHOUT}}, 2},
      {"damage", 0, damage, {{s->hp, MYR_TERM_WRITE}, {s->pos, MYR_TERM_READ}}, 2},
      {"spawner", 0, spawner, {{s->age, MYR_TERM_READ}, {s->pos, MYR_TERM_READ}, {s->vel, MYR_TERM_READ}}, 3},
      {"unmark", 0, unmark, {{s->marked, MYR_TERM_READ}, {s->vel, MYR_TERM_WRITE}, {s->age, MYR_TERM_READ}}, 3},
      {"heal_target", 1, heal_target, {{s->target, MYR_TERM_READ}, {s->hp, MYR_TERM_READ}}, 2},
      {"tribute", 1, tribute, {{s->target, MYR_TERM_READ}, {s->pos, MYR_TERM_READ}}, 2},
      {"cull", 1, cull, {{s->pos, MYR_TERM_READ}}, 1},
  };
  for (size_t i = 0; i < sizeof systems / sizeof systems[0]; i++)
    assert_int_equal(myr_schedule_add(sc,
                                      &(myr_system_desc){.name = systems[i].name,
                                                         .terms = systems[i].terms,
                                                         .term_count = systems[i].n,
                                                         .fn = systems[i].fn,
                                                         .user = s,
                                                         .stage = systems[i].stage},
                                      NULL),
                     MYR_OK);
  return sc;
}

static void world_hash_is_the_same_for_every_thread_count_and_chunk_size(void **state) {
  (void)state;
  const uint32_t threads[] = {1, 2, 3, 4, 8};
  const uint32_t chunks[] = {16, 64, 1000, 4096, 65536};
  enum { FRAMES = MYR_DETERMINISM_FRAMES };
  uint64_t reference[FRAMES];
  uint32_t population[FRAMES];
  myr_patch_stats ref_stats[4];
  bool have_reference = false;
  for (size_t t = 0; t < 5; t++) {
    myr_jobs *pool;
    assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = threads[t]}, &pool), MYR_OK);
    for (size_t c = 0; c < 5; c++) {
      sim s;
      sim_make(&s);
      myr_schedule *sc = sim_schedule(&s, pool, chunks[c]);
      /* the reference merges on one thread; every other run shares every
       * batch, however small, among its workers */
      assert_int_equal(myr_schedule_set_merge_parallel_min(sc, have_reference ? 1 : UINT32_MAX), MYR_OK);
      for (int f = 0; f < FRAMES; f++) {
        assert_int_equal(myr_schedule_run(sc, 1.0 / 8), MYR_OK);
        uint64_t h = world_hash(s.w);
        if (!have_reference) {
          reference[f] = h;
          population[f] = myr_world_entity_count(s.w);
        } else if (h != reference[f]) {
          fail_msg("threads %u, chunk %u: frame %d hash %016llx, expected %016llx (entities %u vs %u)", threads[t],
                   chunks[c], f, (unsigned long long)h, (unsigned long long)reference[f], myr_world_entity_count(s.w),
                   population[f]);
        }
      }
      for (uint32_t g = 0; g < myr_schedule_stage_count(sc) && g < 4; g++) { /* the same patch statistics */
        myr_stage_stats st;
        assert_int_equal(myr_schedule_stage_stats(sc, g, &st), MYR_OK);
        if (!have_reference) ref_stats[g] = st.total_patches;
        else if (memcmp(&ref_stats[g], &st.total_patches, sizeof st.total_patches) != 0)
          fail_msg("threads %u, chunk %u: stage %u's patch statistics differ from the serial merge's", threads[t],
                   chunks[c], g);
      }
      if (!have_reference) {
        myr_schedule_print_stats(sc, stderr, false);
        fprintf(stderr, "reference: %d frames, entities %u -> %u\n", FRAMES, 5000, population[FRAMES - 1]);
        /* the simulation exercises every kind of patch */
        myr_patch_stats total = {0};
        for (uint32_t g = 0; g < myr_schedule_stage_count(sc); g++) {
          myr_stage_stats st;
          assert_int_equal(myr_schedule_stage_stats(sc, g, &st), MYR_OK);
          total.spawned += st.total_patches.spawned;
          total.destroyed += st.total_patches.destroyed;
          total.moved += st.total_patches.moved;
          total.skipped_dead += st.total_patches.skipped_dead;
          total.applied += st.total_patches.applied;
          total.skipped_lost += st.total_patches.skipped_lost;
        }
        assert_true(total.spawned > 0 && total.destroyed > 0 && total.moved > 0 && total.skipped_dead > 0);
        assert_true(total.skipped_lost > 0); /* first-wins claims met each other */
      }
      have_reference = true;
      myr_schedule_destroy(sc);
      myr_world_destroy(s.w);
    }
    assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  }
  assert_int_equal(atomic_load(&callback_errors), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(world_hash_is_the_same_for_every_thread_count_and_chunk_size),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
