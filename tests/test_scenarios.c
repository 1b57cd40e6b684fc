/* The built-in scenarios: each ends in the same world for any thread count
 * and chunk size, and keeps its entity count. */
#include "helpers.h"
#include "scenarios.h"

static uint64_t run_scenario(const char *name, uint32_t n, uint32_t workers, uint32_t chunk, uint32_t frames,
                             uint32_t *alive) {
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  scn_scenario *sc;
  assert_int_equal(scn_create(name, n, 7, pool, &sc), MYR_OK);
  myr_schedule *s = scn_schedule(sc);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) assert_int_equal(myr_schedule_set_chunk_rows(s, i, chunk), MYR_OK);
  for (uint32_t f = 0; f < frames; f++) assert_int_equal(myr_schedule_run(s, 1.0 / 60), MYR_OK);
  uint64_t h = world_hash(scn_world(sc));
  *alive = myr_world_entity_count(scn_world(sc));
  scn_destroy(sc);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  return h;
}

static void particles_hash_the_same_for_any_threads_and_chunks(void **state) {
  (void)state;
  uint32_t alive;
  uint64_t ref = run_scenario("particles", 50000, 1, 4096, 30, &alive);
  assert_int_equal(alive, 50000); /* respawns keep the count */
  const uint32_t threads[] = {1, 2, 4}, chunks[] = {64, 1000, 16384};
  for (int t = 0; t < 3; t++)
    for (int c = 0; c < 3; c++) {
      assert_true(run_scenario("particles", 50000, threads[t], chunks[c], 30, &alive) == ref);
      assert_int_equal(alive, 50000);
    }
}

/* Each scenario's world after 10 frames at its default size (seed 7, 2
 * workers, chunks of 4096; any other split ends the same, see above): a
 * change to a scenario's rules or to how the library applies them shows
 * here. MYRIAD_PRINT_HASHES=1 prints the hashes to pin after a deliberate
 * change. */
static void scenarios_end_in_their_pinned_hashes(void **state) {
  (void)state;
  static const struct { const char *name; uint64_t hash; } pinned[] = {
      {"particles", UINT64_C(0x8c2497f788409e8d)},
  };
  uint32_t n;
  const scn_info *list = scn_list(&n);
  assert_int_equal(n, sizeof pinned / sizeof *pinned); /* a new scenario pins its hash here */
  for (uint32_t i = 0; i < n; i++) {
    assert_string_equal(list[i].name, pinned[i].name);
    uint32_t alive;
    uint64_t h = run_scenario(list[i].name, list[i].default_entities, 2, 4096, 10, &alive);
    if (getenv("MYRIAD_PRINT_HASHES")) fprintf(stderr, "%s: UINT64_C(0x%016llx)\n", list[i].name, (unsigned long long)h);
    assert_int_equal(alive, list[i].default_entities);
    assert_true(h == pinned[i].hash);
  }
}

static void unknown_scenarios_and_empty_worlds_are_refused(void **state) {
  (void)state;
  scn_scenario *sc = NULL;
  assert_int_equal(scn_create("nope", 10, 1, NULL, &sc), MYR_ENOTFOUND);
  assert_int_equal(scn_create("particles", 0, 1, NULL, &sc), MYR_EINVAL);
  assert_null(sc);
  uint32_t n;
  const scn_info *list = scn_list(&n);
  assert_true(n >= 1 && strcmp(list[0].name, "particles") == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(particles_hash_the_same_for_any_threads_and_chunks),
      cmocka_unit_test(scenarios_end_in_their_pinned_hashes),
      cmocka_unit_test(unknown_scenarios_and_empty_worlds_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
