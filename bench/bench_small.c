/* Small worlds: the ecsbench update (scenarios/ecsbench.c, 7 systems) over
 * 16, 256 and 4096 entities through the schedule on a pool of one worker,
 * beside the same system functions called directly in a loop over the same
 * tables (scn_direct_run); and the frame of 20 empty systems. Both with the
 * schedule's statistics off and on. Batches of frames of every
 * configuration alternate, round after round, so the machine's slow phases
 * hit all alike; each batch is a whole multiple of 12 frames and follows
 * an untimed frame of its own, so that every configuration starts with its
 * world in the caches, and each figure is the median over the rounds of a
 * batch's ns per frame. Usage: bench_small [rounds] (default 501). */
#define _DEFAULT_SOURCE /* clock_gettime under strict C11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "myriad/myriad.h"
#include "scenarios.h"

static const double DT = 1.0 / 60.0;
enum { SIZES = 3, EMPTY_SYSTEMS = 20, BATCH_NS = 40000, MAX_ROUNDS = 100001 };

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One configuration: a frame of it, and its samples (ns per frame). */
typedef struct runner {
  const char *name;
  myr_schedule *schedule; /* NULL: direct calls */
  bool stats;
  scn_direct *direct;
  uint32_t batch; /* frames a sample */
  double *samples;
} runner;

static void frame(const runner *r) {
  if (r->schedule) must(myr_schedule_run(r->schedule, DT), r->name);
  else scn_direct_run(r->direct, DT);
}

static double sample(const runner *r) {
  if (r->schedule) must(myr_schedule_set_stats(r->schedule, r->stats), "stats switch");
  frame(r); /* untimed: the configuration before ran another world, or another way */
  const uint64_t t0 = now_ns();
  for (uint32_t i = 0; i < r->batch; i++) frame(r);
  return (double)(now_ns() - t0) / r->batch;
}

/* Warms up and sizes the batch to about BATCH_NS. */
static void calibrate(runner *r, uint32_t rounds) {
  r->batch = 1;
  double ns = 0;
  for (int i = 0; i < 200; i++) ns = sample(r);
  /* whole multiples of 12 frames: the entities' health and sprites go
   * through cycles of a few frames, so a batch of 1 frame each, in turn,
   * would give each configuration the same phase of them every round */
  const uint32_t frames = ns >= BATCH_NS ? 1 : (uint32_t)(BATCH_NS / (ns > 1 ? ns : 1));
  r->batch = (frames + 11) / 12 * 12;
  r->samples = malloc(sizeof(double) * rounds);
  if (!r->samples) must(MYR_ENOMEM, "samples");
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, uint32_t n) {
  qsort(v, n, sizeof *v, by_value);
  return v[n / 2];
}

static void empty(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
}

/* 20 systems over a component no entity has, in one stage: independent, or
 * a chain (each after the one before). */
static myr_schedule *empty_systems(myr_world *w, myr_jobs *pool, myr_component c, bool chain) {
  myr_schedule *s = NULL;
  must(myr_schedule_create(w, &(myr_schedule_desc){.jobs = pool}, &s), "schedule");
  const myr_term terms[] = {{c, MYR_TERM_READ}};
  char names[EMPTY_SYSTEMS][16];
  for (int i = 0; i < EMPTY_SYSTEMS; i++) {
    snprintf(names[i], sizeof names[i], "empty%d", i);
    const char *after[] = {i ? names[i - 1] : NULL};
    must(myr_schedule_add(s,
                          &(myr_system_desc){.name = names[i],
                                             .terms = terms,
                                             .term_count = 1,
                                             .fn = empty,
                                             .after = after,
                                             .after_count = chain && i ? 1 : 0},
                          NULL),
         "add");
  }
  return s;
}

int main(int argc, char **argv) {
  const uint32_t rounds = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 501;
  if (rounds == 0 || rounds > MAX_ROUNDS) {
    fprintf(stderr, "usage: bench_small [rounds, 1..%d]\n", MAX_ROUNDS);
    return 1;
  }
  myr_jobs *pool = NULL;
  must(myr_jobs_create(&(myr_jobs_desc){.workers = 1}, &pool), "pool");
  static const uint32_t sizes[SIZES] = {16, 256, 4096};
  scn_scenario *sc[SIZES] = {NULL};
  runner r[SIZES * 3 + 4];
  uint32_t count = 0;
  for (int k = 0; k < SIZES; k++) {
    must(scn_create("ecsbench", sizes[k], 42, pool, &sc[k]), "ecsbench");
    scn_direct *d = NULL;
    must(scn_direct_create(sc[k], &d), "direct calls");
    r[count++] = (runner){.name = "schedule, stats off", .schedule = scn_schedule(sc[k]), .stats = false};
    r[count++] = (runner){.name = "schedule, stats on", .schedule = scn_schedule(sc[k]), .stats = true};
    r[count++] = (runner){.name = "direct calls", .direct = d};
  }
  myr_world *w = NULL;
  myr_component none;
  must(myr_world_create(NULL, &w), "world");
  must(myr_component_register(w, &(myr_component_desc){"Nothing", vec3_fields, 3, sizeof(vec3)}, &none), "Nothing");
  myr_schedule *independent = empty_systems(w, pool, none, false), *chain = empty_systems(w, pool, none, true);
  r[count++] = (runner){.name = "20 empty, one stage, independent, stats off", .schedule = independent};
  r[count++] = (runner){.name = "20 empty, one stage, independent, stats on", .schedule = independent, .stats = true};
  r[count++] = (runner){.name = "20 empty, one stage, a chain, stats off", .schedule = chain};
  r[count++] = (runner){.name = "20 empty, one stage, a chain, stats on", .schedule = chain, .stats = true};

  for (uint32_t i = 0; i < count; i++) calibrate(&r[i], rounds);
  for (uint32_t round = 0; round < rounds; round++)
    for (uint32_t i = 0; i < count; i++) r[i].samples[round] = sample(&r[i]);
  double med[SIZES * 3 + 4];
  for (uint32_t i = 0; i < count; i++) med[i] = median(r[i].samples, rounds);

  printf("ecsbench update (7 systems, SIMD kernels), 1 worker: median ns/frame over %u rounds\n", rounds);
  printf("%8s %12s %12s %12s %10s %10s\n", "entities", "stats off", "stats on", "direct", "off/direct", "on/direct");
  for (int k = 0; k < SIZES; k++) {
    const double *m = &med[k * 3];
    printf("%8u %12.0f %12.0f %12.0f %9.2fx %9.2fx\n", sizes[k], m[0], m[1], m[2], m[0] / m[2], m[1] / m[2]);
  }
  printf("\nframe of 20 empty systems (a query no entity matches), 1 worker: median ns/frame\n");
  for (uint32_t i = SIZES * 3; i < count; i++) printf("  %-46s %8.0f\n", r[i].name, med[i]);
  printf("\ntargets: 16 entities, stats off / direct <= 1.5x: %.2fx (%s); 20 empty systems, stats off <= 1000 ns: "
         "%.0f and %.0f ns (%s)\n",
         med[0] / med[2], med[0] / med[2] <= 1.5 ? "met" : "missed", med[SIZES * 3], med[SIZES * 3 + 2],
         med[SIZES * 3] <= 1000 && med[SIZES * 3 + 2] <= 1000 ? "met" : "missed");

  for (uint32_t i = 0; i < count; i++) {
    scn_direct_destroy(r[i].direct);
    free(r[i].samples);
  }
  myr_schedule_destroy(independent);
  myr_schedule_destroy(chain);
  myr_world_destroy(w);
  for (int k = 0; k < SIZES; k++) scn_destroy(sc[k]);
  must(myr_jobs_destroy(pool), "pool");
  return 0;
}
