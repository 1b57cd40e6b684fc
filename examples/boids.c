/* boids: a flock of prey and 64 predators on a torus, from the scenario
 * library: its world and systems are in scenarios/boids.c (a grid by
 * counting sort, flocking, hunting, moving, and eaten prey respawned), its
 * rules in scenarios/boids_rules.h.
 *
 * The same flock is run on one thread and on every CPU, with different chunk
 * sizes, and must end with the same world hash.
 *
 * usage: boids [frames] [entities]   (64 of the entities are predators) */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime under strict C11 */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "myriad/myriad.h"
#include "scenarios.h"

#define CHECK(call)                                         \
  do {                                                      \
    myr_status s_ = (call);                                 \
    if (s_ != MYR_OK) {                                     \
      fprintf(stderr, "%s: %s\n", #call, myr_strerror(s_)); \
      exit(1);                                              \
    }                                                       \
  } while (0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One run: `workers` threads (0: one per CPU), every system in chunks of
 * `chunk` rows; returns the world hash after `frames` frames. */
static uint64_t run(uint32_t workers, uint32_t chunk, uint32_t frames, uint32_t entities, bool verbose) {
  myr_jobs *pool;
  CHECK(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool));
  scn_scenario *sc;
  CHECK(scn_create("boids", entities, 42, pool, &sc));
  myr_schedule *s = scn_schedule(sc);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) CHECK(myr_schedule_set_chunk_rows(s, i, chunk));
  if (verbose) CHECK(myr_schedule_print_plan(s, stdout));
  double t0 = now_s();
  for (uint32_t i = 0; i < frames; i++)
    if (myr_schedule_run(s, 1.0 / 60) != MYR_OK) {
      fprintf(stderr, "frame %u: %s\n", i, myr_schedule_error(s));
      exit(1);
    }
  double t = now_s() - t0;
  uint64_t hash;
  CHECK(myr_world_hash(scn_world(sc), &hash));
  printf("%u workers, chunk %5u: %u frames, %.2f ms a frame, %u entities alive, world hash %016llx\n",
         myr_jobs_worker_count(pool), chunk, frames, 1e3 * t / frames, myr_world_entity_count(scn_world(sc)),
         (unsigned long long)hash);
  if (verbose) CHECK(myr_schedule_print_stats(s, stdout, false));
  scn_destroy(sc);
  CHECK(myr_jobs_destroy(pool));
  return hash;
}

int main(int argc, char **argv) {
  uint32_t frames = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 120;
  uint32_t entities = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 100064;
  if (frames == 0 || entities <= 64 || entities > 50000064) {
    fprintf(stderr, "usage: boids [frames >= 1] [entities 65..50000064]\n");
    return 2;
  }
  uint64_t one = run(1, 4096, frames, entities, false);
  uint64_t all = run(0, 1024, frames, entities, true);
  if (one != all) {
    fprintf(stderr, "boids: the world differs between 1 thread and every CPU\n");
    return 1;
  }
  printf("same world on 1 thread and on every CPU\n");
  return 0;
}
