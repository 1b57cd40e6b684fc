/* The built-in scenarios: each ends in the same world for any thread count
 * and chunk size, keeps its entity count, and keeps all of its state in the
 * world, so that it continues bit for bit from a saved one. */
#include <math.h>

#include "helpers.h"
#include "myriad/snapshot.h"
#include "scenarios.h"

static scn_kernels kernels = SCN_SIMD; /* run_scenario's */

static uint64_t run_scenario(const char *name, uint32_t n, uint32_t workers, uint32_t chunk, uint32_t frames,
                             uint32_t *alive) {
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  scn_scenario *sc;
  assert_int_equal(scn_create_kernels(name, n, 7, pool, kernels, &sc), MYR_OK);
  myr_schedule *s = scn_schedule(sc);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++)
    assert_int_equal(myr_schedule_set_chunk_rows(s, i, chunk), MYR_OK);
  myr_stage_stats before = {0}, after = {0};
  for (uint32_t f = 0; f < frames; f++) {
    if (f + 1 == frames) assert_int_equal(myr_schedule_stage_stats(s, 0, &before), MYR_OK);
    assert_int_equal(myr_schedule_run(s, 1.0 / 60), MYR_OK);
  }
  assert_int_equal(myr_schedule_stage_stats(s, 0, &after), MYR_OK);
  uint64_t h = world_hash(scn_world(sc));
  *alive = myr_world_entity_count(scn_world(sc));
  /* boids' prey eaten in the last frame come back in the next */
  if (!strcmp(name, "boids")) *alive += (uint32_t)(after.total_patches.destroyed - before.total_patches.destroyed);
  scn_destroy(sc);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  return h;
}

/* The world after `frames` frames of n entities is the same on 1, 2 and 4
 * workers in chunks of 64, 1000 and 16384 rows as on one worker in chunks
 * of 4096, and the entity count stays n. */
static void same_world_for_any_threads_and_chunks(const char *name, uint32_t n, uint32_t frames) {
  uint32_t alive;
  uint64_t ref = run_scenario(name, n, 1, 4096, frames, &alive);
  assert_int_equal(alive, n);
  const uint32_t threads[] = {1, 2, 4}, chunks[] = {64, 1000, 16384};
  for (int t = 0; t < 3; t++)
    for (int c = 0; c < 3; c++) {
      if (run_scenario(name, n, threads[t], chunks[c], frames, &alive) != ref)
        fail_msg("%s: %u workers, chunks of %u: another world", name, threads[t], chunks[c]);
      assert_int_equal(alive, n);
    }
}

static void particles_hash_the_same_for_any_threads_and_chunks(void **state) {
  (void)state;
  same_world_for_any_threads_and_chunks("particles", 50000, 30); /* respawns keep the count */
}

static void boids_hash_the_same_for_any_threads_and_chunks(void **state) {
  (void)state;
  /* predators start on prey: ~30 are eaten and respawned a frame (and 12
   * frames keep it to seconds under TSan) */
  same_world_for_any_threads_and_chunks("boids", 20000, 12);
}

/* 20 frames: more_complex draws for a tenth of the entities every frame */
static void ecsbench_hash_the_same_for_any_threads_and_chunks(void **state) {
  (void)state;
  same_world_for_any_threads_and_chunks("ecsbench", 50000, 20);
}

static void ecsbench2_hash_the_same_for_any_threads_and_chunks(void **state) {
  (void)state;
  same_world_for_any_threads_and_chunks("ecsbench2", 50000, 20);
}

/* bench_small's baseline does the schedule's work: ecsbench's system
 * functions called directly end in the world the schedule's frames end in;
 * a scenario whose systems make patches does not offer them. */
static void direct_calls_end_in_the_schedules_world(void **state) {
  (void)state;
  const char *names[] = {"ecsbench", "ecsbench2"};
  for (int k = 0; k < 2; k++) {
    scn_scenario *a, *b;
    assert_int_equal(scn_create(names[k], 1000, 7, NULL, &a), MYR_OK);
    assert_int_equal(scn_create(names[k], 1000, 7, NULL, &b), MYR_OK);
    scn_direct *d;
    assert_int_equal(scn_direct_create(b, &d), MYR_OK);
    for (int f = 0; f < 20; f++) {
      assert_int_equal(myr_schedule_run(scn_schedule(a), 1.0 / 60), MYR_OK);
      scn_direct_run(d, 1.0 / 60);
    }
    if (world_hash(scn_world(a)) != world_hash(scn_world(b)))
      fail_msg("%s: direct calls end in another world", names[k]);
    scn_direct_destroy(d);
    scn_destroy(a);
    scn_destroy(b);
  }
  scn_scenario *p;
  scn_direct *d = NULL;
  assert_int_equal(scn_create("particles", 100, 7, NULL, &p), MYR_OK);
  assert_int_equal(scn_direct_create(p, &d), MYR_EINVAL);
  assert_int_equal(scn_direct_create(NULL, &d), MYR_EINVAL);
  assert_null(d);
  scn_direct_destroy(NULL);
  scn_destroy(p);
}

/* The determinism above covers eating only if predators do eat: over 30
 * frames some prey are destroyed in stage 0, as many spawned in stage 1. */
static void boids_predators_eat_and_the_flock_keeps_its_size(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &pool), MYR_OK);
  scn_scenario *sc;
  assert_int_equal(scn_create("boids", 20000, 7, pool, &sc), MYR_OK);
  /* the prey eaten in a frame come back in the next: the flock is whole at
   * the start of every frame */
  uint64_t eaten = 0;            /* in the last frame */
  myr_stage_stats was = {0}, st; /* the stage's counts add up over the frames */
  for (int f = 0; f < 30; f++) {
    assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
    assert_int_equal(myr_schedule_stage_stats(scn_schedule(sc), 0, &st), MYR_OK);
    assert_int_equal(st.total_patches.spawned - was.total_patches.spawned, eaten);
    eaten = st.total_patches.destroyed - was.total_patches.destroyed;
    assert_int_equal(myr_world_entity_count(scn_world(sc)) + eaten, 20000);
    was = st;
  }
  assert_true(st.total_patches.destroyed > 0);
  scn_destroy(sc);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

/* render's frame is what a serial pass over the final positions and sprites
 * draws, tables and rows in query order, the last sprite on a pixel winning
 * (a model of the rule, not its code); and it shows heroes, monsters and
 * graves after enough frames for the health cycle to turn. */
static void ecsbench_frame_is_the_serial_drawing_of_its_sprites(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 4}, &pool), MYR_OK);
  scn_scenario *sc;
  assert_int_equal(scn_create("ecsbench", 50000, 7, pool, &sc), MYR_OK);
  myr_schedule *s = scn_schedule(sc);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++)
    assert_int_equal(myr_schedule_set_chunk_rows(s, i, 64), MYR_OK);
  for (int f = 0; f < 12; f++) assert_int_equal(myr_schedule_run(s, 1.0 / 60), MYR_OK);
  myr_world *w = scn_world(sc);
  myr_resource fb;
  myr_component pos, spr;
  assert_int_equal(myr_resource_lookup(w, "FrameBuffer", &fb), MYR_OK);
  assert_int_equal(myr_resource_size(w, fb), 320 * 240);
  assert_int_equal(myr_component_lookup(w, "Position", &pos), MYR_OK);
  assert_int_equal(myr_component_lookup(w, "Sprite", &spr), MYR_OK);
  static unsigned char model[240][320];
  memset(model, ' ', sizeof model);
  myr_query *q;
  assert_int_equal(
      myr_query_create(w, &(myr_query_desc){(myr_term[]){{pos, MYR_TERM_READ}, {spr, MYR_TERM_READ}}, 2}, &q), MYR_OK);
  myr_query_iter it;
  myr_chunk c;
  uint32_t drawn = 0;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  while (myr_query_next(&it, &c)) {
    const float *x = myr_chunk_column(&c, 0, 0), *y = myr_chunk_column(&c, 0, 1);
    const unsigned char *ch = myr_chunk_column(&c, 1, 0);
    for (uint32_t i = 0; i < c.count; i++) {
      double fx = trunc(x[i]), fy = trunc(y[i]); /* toward 0, as a cast to int */
      if (fx >= 0 && fx < 320 && fy >= 0 && fy < 240) model[(int)fy][(int)fx] = ch[i], drawn++;
    }
  }
  myr_query_destroy(q);
  assert_true(drawn > 1000);
  const unsigned char *frame = myr_resource_data(w, fb);
  assert_memory_equal(frame, model, sizeof model);
  assert_non_null(memchr(frame, '@', sizeof model));
  assert_non_null(memchr(frame, 'k', sizeof model));
  assert_non_null(memchr(frame, '|', sizeof model));
  scn_destroy(sc);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

/* Each scenario's world after 10 frames at its default size (seed 7, 2
 * workers, chunks of 4096; any other split ends the same, see above): a
 * change to a scenario's rules or to how the library applies them shows
 * here. MYRIAD_PRINT_HASHES=1 prints the hashes to pin after a deliberate
 * change. (particles and boids changed when their respawn systems moved
 * from a shared random state in a resource to keyed draws, random.h; boids
 * again when it got keys, a grid in key order and its respawn beside the
 * other systems, to give the same result split over MPI ranks.) */
static void scenarios_end_in_their_pinned_hashes(void **state) {
  (void)state;
  static const struct {
    const char *name;
    uint64_t hash;
  } pinned[] = {
      {"particles", UINT64_C(0x60d3b1d766a642e6)},
      {"boids", UINT64_C(0x68669883b5568bb4)},
      {"ecsbench", UINT64_C(0xd85c8eee131cce0f)},
      {"ecsbench2", UINT64_C(0x6f5429faee4bb669)},
  };
  uint32_t n;
  const scn_info *list = scn_list(&n);
  assert_int_equal(n, sizeof pinned / sizeof *pinned); /* a new scenario pins its hash here */
  uint32_t moved = 0;                                  /* every scenario runs, so that all new hashes print at once */
  for (uint32_t i = 0; i < n; i++) {
    assert_string_equal(list[i].name, pinned[i].name);
    uint32_t alive;
    uint64_t h = run_scenario(list[i].name, list[i].default_entities, 2, 4096, 10, &alive);
    if (getenv("MYRIAD_PRINT_HASHES"))
      fprintf(stderr, "%s: UINT64_C(0x%016llx)\n", list[i].name, (unsigned long long)h);
    assert_int_equal(alive, list[i].default_entities);
    if (h != pinned[i].hash) {
      fprintf(stderr, "%s: world hash %016llx, pinned %016llx\n", list[i].name, (unsigned long long)h,
              (unsigned long long)pinned[i].hash);
      moved++;
    }
  }
  assert_int_equal(moved, 0);
}

/* The SIMD kernels do the scalar ones' operations in the same order, so
 * every scenario ends in the same world with either, for chunk sizes that
 * leave odd tails (1000: the last chunk of a table stops mid-vector). */
static void simd_and_scalar_kernels_end_in_the_same_world(void **state) {
  (void)state;
  uint32_t n, alive;
  const scn_info *list = scn_list(&n);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t entities = list[i].default_entities < 30011 ? list[i].default_entities : 30011;
    kernels = SCN_SCALAR;
    uint64_t scalar = run_scenario(list[i].name, entities, 2, 1000, 8, &alive);
    kernels = SCN_SIMD;
    uint64_t simd = run_scenario(list[i].name, entities, 2, 1000, 8, &alive);
    if (scalar != simd)
      fail_msg("%s: scalar %016llx, simd %016llx", list[i].name, (unsigned long long)scalar, (unsigned long long)simd);
  }
  scn_scenario *sc = NULL;
  assert_int_equal(scn_create_kernels("particles", 10, 1, NULL, (scn_kernels)7, &sc), MYR_EINVAL);
  assert_null(sc);
}

/* particles integrates a chunk of 64k rows or more field by field, a
 * smaller one in one loop over the three fields: chunks of 65536 rows
 * (one of each kind) and 131072 (a single chunk of 100003 rows) end in
 * the world of chunks of 4096, with either kernel. */
static void particles_in_large_chunks_ends_in_the_world_of_small_ones(void **state) {
  (void)state;
  uint32_t alive;
  const scn_kernels both[] = {SCN_SCALAR, SCN_SIMD};
  const uint32_t workers[] = {1, 2}, chunks[] = {65536, 131072};
  kernels = SCN_SCALAR;
  uint64_t ref = run_scenario("particles", 100003, 1, 4096, 6, &alive);
  for (int k = 0; k < 2; k++)
    for (int t = 0; t < 2; t++)
      for (int c = 0; c < 2; c++) {
        kernels = both[k];
        if (run_scenario("particles", 100003, workers[t], chunks[c], 6, &alive) != ref)
          fail_msg("particles, %s kernels, %u workers, chunks of %u: another world", k ? "simd" : "scalar", workers[t],
                   chunks[c]);
      }
  kernels = SCN_SIMD;
}

/* What a populate callback saw, and what it does: it may change the
 * world's resources, which the systems then follow. */
typedef struct populate_probe {
  uint32_t calls, entities;
  bool position;      /* the components were registered before it */
  const char *params; /* a resource to set, or NULL */
  uint32_t wanted;    /* its value */
  myr_status result;
} populate_probe;

static myr_status probe_populate(myr_world *w, void *ctx) {
  populate_probe *p = ctx;
  myr_component pos;
  p->calls++;
  p->entities = myr_world_entity_count(w);
  p->position = myr_component_lookup(w, "Position", &pos) == MYR_OK;
  myr_resource r;
  if (p->params) {
    assert_int_equal(myr_resource_lookup(w, p->params, &r), MYR_OK);
    assert_int_equal(myr_resource_size(w, r), sizeof(uint32_t));
    memcpy(myr_resource_data(w, r), &p->wanted, sizeof p->wanted);
  }
  return p->result;
}

/* A scenario built with a populate callback makes none of its initial
 * entities; the callback runs once, after the components and resources are
 * registered; the count that particles and boids keep up is a resource of
 * the world (so a snapshot holds it): set to 5 particles (boids: 5 prey and
 * the 64 predators none were made of), a frame respawns that many. */
static void populate_fills_the_world_instead_of_the_initial_entities(void **state) {
  (void)state;
  const struct {
    const char *name, *params;
    uint32_t after; /* entities after one frame */
  } cases[] = {
      {"particles", "ParticleParams", 5}, {"boids", "FlockParams", 5}, {"ecsbench", NULL, 0}, {"ecsbench2", NULL, 0}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    populate_probe p = {.params = cases[i].params, .wanted = 5, .result = MYR_OK};
    scn_scenario *sc = NULL;
    assert_int_equal(
        scn_create_desc(
            &(scn_desc){.name = cases[i].name, .entities = 1000, .seed = 3, .populate = probe_populate, .ctx = &p},
            &sc),
        MYR_OK);
    assert_int_equal(p.calls, 1);
    assert_int_equal(p.entities, 0);
    assert_true(p.position);
    assert_int_equal(myr_world_entity_count(scn_world(sc)), 0);
    assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
    assert_int_equal(myr_world_entity_count(scn_world(sc)), cases[i].after);
    scn_destroy(sc);
    p = (populate_probe){.result = MYR_ECORRUPT};
    assert_int_equal(
        scn_create_desc(&(scn_desc){.name = cases[i].name, .entities = 1000, .populate = probe_populate, .ctx = &p},
                        &sc),
        MYR_ECORRUPT);
    assert_null(sc);
  }
}

/* A saved world, loaded by scn_create_desc's populate. */
typedef struct saved {
  const void *data;
  size_t size;
} saved;

static myr_status load_saved(myr_world *w, void *ctx) {
  const saved *s = ctx;
  return myr_snapshot_load_memory(w, s->data, s->size, NULL);
}

/* A scenario's world after `frames` frames on `workers` workers in chunks
 * of `chunk`, starting from the initial world or from `from`; when `save`,
 * the world is saved there afterwards. */
static uint64_t run_from(const char *name, uint32_t n, const saved *from, uint32_t workers, uint32_t chunk,
                         uint32_t frames, saved *save) {
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  scn_scenario *sc;
  assert_int_equal(scn_create_desc(&(scn_desc){.name = name,
                                               .entities = n,
                                               .seed = 7,
                                               .pool = pool,
                                               .populate = from ? load_saved : NULL,
                                               .ctx = (void *)from},
                                   &sc),
                   MYR_OK);
  myr_schedule *s = scn_schedule(sc);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++)
    assert_int_equal(myr_schedule_set_chunk_rows(s, i, chunk), MYR_OK);
  for (uint32_t f = 0; f < frames; f++) assert_int_equal(myr_schedule_run(s, 1.0 / 60), MYR_OK);
  uint64_t h = world_hash(scn_world(sc));
  if (save) {
    void *data;
    assert_int_equal(myr_snapshot_save_memory(scn_world(sc), NULL, &data, &save->size), MYR_OK);
    void *copy = malloc(save->size); /* the world's allocator's memory goes with the world */
    assert_non_null(copy);
    memcpy(copy, data, save->size);
    myr_snapshot_free(scn_world(sc), data, save->size);
    save->data = copy;
  }
  scn_destroy(sc);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  return h;
}

/* Every scenario keeps its whole state in the world: 6 frames, saved,
 * loaded into a scenario built without its initial entities, and 7 more
 * frames end in the world of 13 frames without a stop, saved on 1 worker
 * and continued on 2 in other chunks, and the other way; a world that lost
 * its state (started afresh) would not. */
static void every_scenario_continues_from_a_saved_world_bit_for_bit(void **state) {
  (void)state;
  uint32_t count;
  const scn_info *list = scn_list(&count);
  for (uint32_t i = 0; i < count; i++) {
    const char *name = list[i].name;
    const uint32_t n = 5000;
    const uint64_t whole = run_from(name, n, NULL, 1, 4096, 13, NULL);
    assert_int_not_equal(whole, run_from(name, n, NULL, 1, 4096, 7, NULL));
    const uint32_t workers[2][2] = {{1, 2}, {2, 1}}, chunks[2][2] = {{1024, 64}, {64, 4096}};
    for (int way = 0; way < 2; way++) {
      saved at6 = {0};
      run_from(name, n, NULL, workers[way][0], chunks[way][0], 6, &at6);
      uint64_t h = run_from(name, n, &at6, workers[way][1], chunks[way][1], 7, NULL);
      if (h != whole)
        fail_msg("%s: saved on %u workers, continued on %u: %016llx, without a stop %016llx", name, workers[way][0],
                 workers[way][1], (unsigned long long)h, (unsigned long long)whole);
      free((void *)at6.data);
    }
  }
}

static void unknown_scenarios_and_empty_worlds_are_refused(void **state) {
  (void)state;
  scn_scenario *sc = NULL;
  assert_int_equal(scn_create("nope", 10, 1, NULL, &sc), MYR_ENOTFOUND);
  assert_int_equal(scn_create("particles", 0, 1, NULL, &sc), MYR_EINVAL);
  assert_int_equal(scn_create("boids", 64, 1, NULL, &sc), MYR_EINVAL);             /* predators only, no prey */
  assert_int_equal(scn_create_desc(&(scn_desc){.entities = 10}, &sc), MYR_EINVAL); /* no name */
  assert_int_equal(scn_create_desc(NULL, &sc), MYR_EINVAL);
  assert_null(sc);
  uint32_t n;
  const scn_info *list = scn_list(&n);
  assert_true(n >= 1 && strcmp(list[0].name, "particles") == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(particles_hash_the_same_for_any_threads_and_chunks),
      cmocka_unit_test(boids_hash_the_same_for_any_threads_and_chunks),
      cmocka_unit_test(ecsbench_hash_the_same_for_any_threads_and_chunks),
      cmocka_unit_test(ecsbench2_hash_the_same_for_any_threads_and_chunks),
      cmocka_unit_test(direct_calls_end_in_the_schedules_world),
      cmocka_unit_test(boids_predators_eat_and_the_flock_keeps_its_size),
      cmocka_unit_test(ecsbench_frame_is_the_serial_drawing_of_its_sprites),
      cmocka_unit_test(scenarios_end_in_their_pinned_hashes),
      cmocka_unit_test(simd_and_scalar_kernels_end_in_the_same_world),
      cmocka_unit_test(particles_in_large_chunks_ends_in_the_world_of_small_ones),
      cmocka_unit_test(populate_fills_the_world_instead_of_the_initial_entities),
      cmocka_unit_test(every_scenario_continues_from_a_saved_world_bit_for_bit),
      cmocka_unit_test(unknown_scenarios_and_empty_worlds_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
