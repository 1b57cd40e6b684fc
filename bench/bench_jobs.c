/* Job system benchmarks: empty jobs, fib(30) as a task tree (beside OpenMP
 * tasks), and parallel_for over 10M floats beside a serial loop and a loop
 * split by hand over the same number of pthreads, all in one run. */
#define _DEFAULT_SOURCE /* madvise, in baseline.h */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bare_deque.h"
#include "baseline.h"
#include "kernels.h"
#include "myriad/jobs.h"
#include "omp_fib.h"
#include "shim/bench.h"

static const float DT = 1.0f / 60.0f;
enum { FIB_N = 30, PF_N = 10000000, BATCH = 1024 };

static myr_jobs *make_pool(uint32_t workers) {
  myr_jobs *p;
  if (myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &p) != MYR_OK) {
    fprintf(stderr, "cannot create a pool of %u\n", workers);
    exit(1);
  }
  return p;
}

/* ---- empty jobs ---------------------------------------------------------- */

static void empty(void *arg) { (void)arg; }

static void empty_jobs(myr_bench_state *st, void *ctx) {
  myr_jobs *pool = make_pool((uint32_t)(uintptr_t)ctx);
  myr_counter c = {0};
  while (myr_bench_keep_running_batch(st, BATCH)) {
    for (int i = 0; i < BATCH; i++) myr_jobs_spawn(pool, empty, NULL, &c);
    myr_jobs_wait(pool, &c);
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st));
  myr_jobs_destroy(pool);
}

/* ---- fib ----------------------------------------------------------------- */

typedef struct fib_arg {
  myr_jobs *pool;
  int n;
  uint64_t result;
} fib_arg;

static uint64_t fib_task(myr_jobs *pool, int n);

static void fib_job(void *p) {
  fib_arg *a = p;
  a->result = fib_task(a->pool, a->n);
}

/* One spawn and one wait per call with n >= 2: fib(n+1) - 1 of them. */
static uint64_t fib_task(myr_jobs *pool, int n) {
  if (n < 2) return (uint64_t)n;
  fib_arg child = {pool, n - 1, 0};
  myr_counter c = {0};
  myr_jobs_spawn(pool, fib_job, &child, &c);
  uint64_t b = fib_task(pool, n - 2);
  myr_jobs_wait(pool, &c);
  return child.result + b;
}

__attribute__((noinline)) static uint64_t fib_serial(int n) {
  return n < 2 ? (uint64_t)n : fib_serial(n - 1) + fib_serial(n - 2);
}

static uint64_t fib_spawns(int n) { return fib_serial(n + 1) - 1; }

static void check_fib(myr_bench_state *st, uint64_t got) {
  if (got != 832040) myr_bench_skip(st, "fib(30) came out wrong");
}

static void fib_pool(myr_bench_state *st, void *ctx) {
  myr_jobs *pool = make_pool((uint32_t)(uintptr_t)ctx);
  while (myr_bench_keep_running(st)) check_fib(st, fib_task(pool, FIB_N));
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * fib_spawns(FIB_N)));
  myr_jobs_destroy(pool);
}

static void fib_openmp(myr_bench_state *st, void *ctx) {
  int threads = (int)(uintptr_t)ctx;
  while (myr_bench_keep_running(st)) check_fib(st, omp_fib(FIB_N, threads));
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * fib_spawns(FIB_N)));
}

static void fib_plain(myr_bench_state *st, void *ctx) {
  (void)ctx;
  while (myr_bench_keep_running(st)) check_fib(st, fib_serial(FIB_N));
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * fib_spawns(FIB_N)));
}

/* ---- a serial spawn + wait stream ----------------------------------------
 * One job at a time, waited on at once: nearly every other worker sleeps,
 * so each push costs whatever waking costs. With many workers (here
 * oversubscribed, as on a large machine with little parallel work) a push
 * that woke every sleeper made each pair slower the more workers there were. */

static void stream_pairs(myr_bench_state *st, void *ctx) {
  myr_jobs *pool = make_pool((uint32_t)(uintptr_t)ctx);
  myr_counter c = {0};
  while (myr_bench_keep_running_batch(st, 64)) {
    for (int i = 0; i < 64; i++) {
      myr_jobs_spawn(pool, empty, NULL, &c);
      myr_jobs_wait(pool, &c);
    }
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st));
  myr_jobs_destroy(pool);
}

/* ---- the bare deque reference (bare_deque.h) ----------------------------- */

static void bare_empty_jobs(myr_bench_state *st, void *ctx) {
  (void)ctx;
  bare_pool *pool = bare_create();
  uint64_t c = 0;
  while (myr_bench_keep_running_batch(st, BATCH)) {
    for (int i = 0; i < BATCH; i++) bare_spawn(pool, empty, NULL, &c);
    bare_wait(pool, &c);
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st));
  bare_destroy(pool);
}

typedef struct bare_fib_arg {
  bare_pool *pool;
  int n;
  uint64_t result;
} bare_fib_arg;

static uint64_t bare_fib_task(bare_pool *pool, int n);

static void bare_fib_job(void *p) {
  bare_fib_arg *a = p;
  a->result = bare_fib_task(a->pool, a->n);
}

/* fib_task's twin; its counter is one word, the library's two. */
static uint64_t bare_fib_task(bare_pool *pool, int n) {
  if (n < 2) return (uint64_t)n;
  bare_fib_arg child = {pool, n - 1, 0};
  uint64_t c = 0;
  bare_spawn(pool, bare_fib_job, &child, &c);
  uint64_t b = bare_fib_task(pool, n - 2);
  bare_wait(pool, &c);
  return child.result + b;
}

static void bare_fib(myr_bench_state *st, void *ctx) {
  (void)ctx;
  bare_pool *pool = bare_create();
  while (myr_bench_keep_running(st)) check_fib(st, bare_fib_task(pool, FIB_N));
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * fib_spawns(FIB_N)));
  bare_destroy(pool);
}

/* ---- parallel_for -------------------------------------------------------- */

typedef struct arrays {
  float *x, *v;
  void *block;
} arrays;

/* The pool's loop and the baselines use the same layout (baseline.h). */
static arrays arrays_make(void) {
  arrays a;
  void *cols[2];
  a.block = baseline_columns(2, PF_N, sizeof(float), cols);
  a.x = cols[0];
  a.v = cols[1];
  for (size_t i = 0; i < PF_N; i++) {
    a.x[i] = (float)i;
    a.v[i] = 1.0f;
  }
  return a;
}

static void pf_body(void *ctx, size_t b, size_t e) {
  arrays *a = ctx;
  kernel_axpy(a->x + b, a->v + b, e - b, DT);
}

typedef struct pf_case {
  uint32_t workers;
  size_t grain;
} pf_case;

static void pf_pool(myr_bench_state *st, void *ctx) {
  const pf_case *c = ctx;
  myr_jobs *pool = make_pool(c->workers);
  arrays a = arrays_make();
  while (myr_bench_keep_running(st)) {
    myr_jobs_parallel_for(pool, 0, PF_N, c->grain, pf_body, &a);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * PF_N);
  free(a.block);
  myr_jobs_destroy(pool);
}

static void pf_serial(myr_bench_state *st, void *ctx) {
  (void)ctx;
  arrays a = arrays_make();
  while (myr_bench_keep_running(st)) {
    kernel_axpy(a.x, a.v, PF_N, DT);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * PF_N);
  free(a.block);
}

/* The loop split by hand over the calling thread and one pthread created
 * once, which spins between passes as pool workers do (baseline.h). */
static void split_part(void *ctx, uint32_t index, uint32_t parts) {
  arrays *a = ctx;
  size_t b = (size_t)PF_N * index / parts, e = (size_t)PF_N * (index + 1) / parts;
  kernel_axpy(a->x + b, a->v + b, e - b, DT);
}

static void pf_pthreads(myr_bench_state *st, void *ctx) {
  (void)ctx;
  arrays a = arrays_make();
  spin_team team;
  team_start(&team, 2, split_part, &a);
  while (myr_bench_keep_running(st)) {
    team_run(&team);
    myr_bench_clobber();
  }
  team_stop(&team);
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * PF_N);
  free(a.block);
}

/* ---- oversubscribed pools against 2 workers, in turn ----------------------
 * The machine's slow phases last seconds, longer than a repetition, so the
 * ratio of two separate benchmarks spreads by 10% and more. Here one
 * benchmark alternates: each iteration makes a pool of 2 workers, runs the
 * work PAIRED_WARM times to warm it (its threads' first parks and wake-ups
 * fall there), times PAIRED_RUNS runs and destroys it, then does
 * the same with a pool of k workers (which goes first alternates). Only one
 * pool exists at a time, as in a program. Counter vs_2: the median run on 2
 * workers over the median run on k, i.e. k's throughput over 2's. */

enum { PAIRED_WARM = 6, PAIRED_RUNS = 3 };

typedef struct paired_case {
  uint32_t workers;
  bool pfor; /* parallel_for over 10M floats, grain 4096; else fib(30) */
} paired_case;

static uint64_t paired_run(myr_jobs *pool, const paired_case *c, arrays *a, myr_bench_state *st) {
  uint64_t t0 = bench_now_ns();
  if (c->pfor) {
    myr_jobs_parallel_for(pool, 0, PF_N, 4096, pf_body, a);
    myr_bench_clobber();
  } else {
    check_fib(st, fib_task(pool, FIB_N));
  }
  return bench_now_ns() - t0;
}

/* A fresh pool of `workers`: PAIRED_WARM runs, then PAIRED_RUNS timed into t. */
static void paired_runs(uint32_t workers, const paired_case *c, arrays *a, myr_bench_state *st, uint64_t *t) {
  myr_jobs *pool = make_pool(workers);
  for (int r = 0; r < PAIRED_WARM; r++) paired_run(pool, c, a, st);
  for (int r = 0; r < PAIRED_RUNS; r++) t[r] = paired_run(pool, c, a, st);
  myr_jobs_destroy(pool);
}

static void paired(myr_bench_state *st, void *ctx) {
  const paired_case *c = ctx;
  arrays a = {0};
  if (c->pfor) a = arrays_make();
  size_t n = 0, cap = 64 * PAIRED_RUNS;
  uint64_t *t_two = malloc(cap * sizeof *t_two), *t_many = malloc(cap * sizeof *t_many);
  if (!t_two || !t_many) exit(1);
  while (myr_bench_keep_running(st)) {
    if (n + PAIRED_RUNS > cap) {
      cap *= 2;
      t_two = realloc(t_two, cap * sizeof *t_two);
      t_many = realloc(t_many, cap * sizeof *t_many);
      if (!t_two || !t_many) exit(1);
    }
    bool two_first = (n / PAIRED_RUNS) % 2;
    paired_runs(two_first ? 2 : c->workers, c, &a, st, two_first ? t_two + n : t_many + n);
    paired_runs(two_first ? c->workers : 2, c, &a, st, two_first ? t_many + n : t_two + n);
    n += PAIRED_RUNS;
  }
  uint64_t m_two = bench_median_u64(t_two, n), m_many = bench_median_u64(t_many, n);
  myr_bench_counter(st, "vs_2", m_many ? (double)m_two / (double)m_many : 0, false);
  /* items: the timed runs of both pools (the warm runs and pool setup are
   * in the wall time too, so items/s here is not a throughput to compare) */
  myr_bench_set_items(st, (int64_t)n * 2 * (c->pfor ? PF_N : (int64_t)fib_spawns(FIB_N)));
  free(t_two);
  free(t_many);
  free(a.block);
}

int main(int argc, char **argv) {
  myr_bench_register("jobs/empty_job/workers:1", empty_jobs, (void *)1);
  myr_bench_register("jobs/empty_job/workers:2", empty_jobs, (void *)2);

  myr_bench_register("jobs/fib30/workers:1", fib_pool, (void *)1);
  myr_bench_register("jobs/fib30/workers:2", fib_pool, (void *)2);
  myr_bench_register("jobs/fib30/workers:8", fib_pool, (void *)8);
  myr_bench_register("jobs/fib30/workers:16", fib_pool, (void *)16);
  static const uint32_t stream_workers[] = {1, 2, 8, 16, 64};
  static char stream_names[5][48];
  for (int i = 0; i < 5; i++) {
    snprintf(stream_names[i], sizeof stream_names[i], "jobs/spawn_wait_stream/workers:%u", stream_workers[i]);
    myr_bench_register(stream_names[i], stream_pairs, (void *)(uintptr_t)stream_workers[i]);
  }
  myr_bench_register("baseline/fib30_serial_recursion", fib_plain, NULL);
  myr_bench_register("reference/bare_chase_lev/empty_job", bare_empty_jobs, NULL);
  myr_bench_register("reference/bare_chase_lev/fib30", bare_fib, NULL);

  static const pf_case cases[] = {{1, 1024}, {1, 4096},  {1, 16384}, {2, 1024},
                                  {2, 4096}, {2, 16384}, {8, 4096},  {16, 4096}};
  static char names[8][64];
  for (int i = 0; i < 8; i++) {
    snprintf(names[i], sizeof names[i], "jobs/parallel_for_10M/workers:%u/grain:%zu", cases[i].workers, cases[i].grain);
    myr_bench_register(names[i], pf_pool, (void *)&cases[i]);
  }
  /* the last two are controls: 2 workers against 2, so their vs_2 shows
   * how far from 1.0 the measurement itself strays */
  static const paired_case pairs[] = {{8, false}, {16, false}, {8, true}, {16, true}, {2, false}, {2, true}};
  static char pair_names[6][64], pair_labels[6][96];
  for (int i = 0; i < 6; i++) {
    snprintf(pair_names[i], sizeof pair_names[i], "jobs/%s/workers:%u_and_2_in_turn",
             pairs[i].pfor ? "parallel_for_10M/grain:4096" : "fib30", pairs[i].workers);
    snprintf(pair_labels[i], sizeof pair_labels[i], "%s: %u workers%s vs 2, in turn",
             pairs[i].pfor ? "parallel_for grain 4096" : "fib30", pairs[i].workers,
             pairs[i].workers > 2 ? " (oversubscribed)" : " (control)");
    myr_bench_register(pair_names[i], paired, (void *)&pairs[i]);
  }
  myr_bench_register("baseline/loop_10M_serial", pf_serial, NULL);
  myr_bench_register("baseline/loop_10M_pthreads:2", pf_pthreads, NULL);
  /* OpenMP last: libgomp's idle threads keep spinning for a while after a
   * parallel region and would slow whatever ran next */
  myr_bench_register("openmp/fib30/threads:1", fib_openmp, (void *)1);
  myr_bench_register("openmp/fib30/threads:2", fib_openmp, (void *)2);

  myr_bench_ratio("fib30: 2 workers vs 1", "jobs/fib30/workers:2", "jobs/fib30/workers:1", 1.8);
  myr_bench_ratio("fib30: myriad vs OpenMP tasks, 1 thread", "jobs/fib30/workers:1", "openmp/fib30/threads:1", 0);
  myr_bench_ratio("fib30: myriad vs OpenMP tasks, 2 threads", "jobs/fib30/workers:2", "openmp/fib30/threads:2", 0);
  myr_bench_ratio("empty job, 1 worker: myriad vs bare Chase-Lev", "jobs/empty_job/workers:1",
                  "reference/bare_chase_lev/empty_job", 0);
  myr_bench_ratio("fib30, 1 worker: myriad vs bare Chase-Lev", "jobs/fib30/workers:1", "reference/bare_chase_lev/fib30",
                  0);
  myr_bench_ratio("empty job: 2 workers vs 1", "jobs/empty_job/workers:2", "jobs/empty_job/workers:1", 0);
  for (int i = 0; i < 6; i++) {
    static char label[6][96];
    snprintf(label[i], sizeof label[i], "parallel_for grain %zu, %u worker%s vs %s", cases[i].grain, cases[i].workers,
             cases[i].workers > 1 ? "s" : "", cases[i].workers > 1 ? "hand-split pthreads" : "serial loop");
    myr_bench_ratio(label[i], names[i],
                    cases[i].workers > 1 ? "baseline/loop_10M_pthreads:2" : "baseline/loop_10M_serial",
                    cases[i].grain == 4096 ? 0.95 : 0);
  }
  myr_bench_ratio("spawn+wait stream: 64 workers vs 2 (per pair <= 1.5x)", stream_names[4], stream_names[1], 1.0 / 1.5);
  myr_bench_ratio("spawn+wait stream: 16 workers vs 2", stream_names[3], stream_names[1], 0);
  myr_bench_ratio("spawn+wait stream: 8 workers vs 2", stream_names[2], stream_names[1], 0);
  myr_bench_ratio("spawn+wait stream: 2 workers vs 1", stream_names[1], stream_names[0], 0);
  myr_bench_ratio("fib30: 8 workers (oversubscribed) vs 2", "jobs/fib30/workers:8", "jobs/fib30/workers:2", 1.0);
  myr_bench_ratio("fib30: 16 workers (oversubscribed) vs 2", "jobs/fib30/workers:16", "jobs/fib30/workers:2", 1.0);
  myr_bench_ratio("parallel_for grain 4096: 8 workers (oversubscribed) vs 2", names[6], names[4], 1.0);
  myr_bench_ratio("parallel_for grain 4096: 16 workers (oversubscribed) vs 2", names[7], names[4], 1.0);
  for (int i = 0; i < 6; i++)
    myr_bench_ratio_counter(pair_labels[i], pair_names[i], "vs_2", pairs[i].workers > 2 ? 1.0 : 0);
  myr_bench_ratio("hand-split pthreads: 2 threads vs serial", "baseline/loop_10M_pthreads:2",
                  "baseline/loop_10M_serial", 0);
  return myr_bench_main(argc, argv);
}
