/* The boids scenario (scenarios/boids.c: 100,000 prey and 64 predators) on
 * one worker beside a hand-written serial twin of the same rules
 * (scenarios/boids_rules.h: the same kernels): per frame, a grid by counting
 * sort, flocking, hunting, moving, eaten prey removed and new ones spawned.
 * Both start from the same flock: the scenario's RNG resource and the twin's
 * generator both start at SEED and draw it in the same order. The library's
 * figure pays for its schedule, its reduction over blocks and its patches;
 * the twin for none of that. The first pair times neighbour visits alone:
 * every prey's neighbours within SEE through the library's grid (grid.h)
 * and through the hand-written grid of boids_rules.h, from the same flock. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boids_rules.h"
#include "myriad/myriad.h"
#include "scenarios.h"
#include "shim/bench.h"

#define CHECK(call)                                         \
  do {                                                      \
    myr_status s_ = (call);                                 \
    if (s_ != MYR_OK) {                                     \
      fprintf(stderr, "%s: %s\n", #call, myr_strerror(s_)); \
      exit(1);                                              \
    }                                                       \
  } while (0)

enum { PREY = 100000 };
static const uint64_t SEED = 42;
static const float DT = 1.0f / 60.0f;

/* ctx: the worker count, plus SMALL for chunks of 1024 rows (many events a
 * frame) instead of 4096, plus TRACED to record every chunk and merge, plus
 * SCALAR for the scalar kernels (the twin's code) instead of the SIMD ones */
enum { SMALL = 0x100, TRACED = 0x200, SCALAR = 0x400 };

static void library_frames(myr_bench_state *st, void *ctx) {
  uint32_t workers = (uint32_t)(uintptr_t)ctx & 0xff;
  bool traced = (uintptr_t)ctx & TRACED;
  myr_jobs *pool;
  CHECK(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool));
  scn_scenario *sc; /* the scenario's N counts the predators too */
  CHECK(
      scn_create_kernels("boids", PREY + PREDATORS, SEED, pool, (uintptr_t)ctx & SCALAR ? SCN_SCALAR : SCN_SIMD, &sc));
  myr_schedule *s = scn_schedule(sc);
  const uint32_t chunk = (uintptr_t)ctx & SMALL ? 1024 : 4096;
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) CHECK(myr_schedule_set_chunk_rows(s, i, chunk));
  CHECK(myr_schedule_run(s, DT));                           /* first frame: tables and buffers grow */
  if (traced) CHECK(myr_schedule_trace_begin(s, 1u << 20)); /* 40 MiB a worker: nothing dropped */
  while (myr_bench_keep_running(st)) CHECK(myr_schedule_run(s, DT));
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st));
  if (traced) {
    FILE *null = fopen("/dev/null", "w");
    CHECK(myr_schedule_trace_end(s, null));
    fclose(null);
  }
  scn_destroy(sc);
  CHECK(myr_jobs_destroy(pool));
}

/* The twin: prey in plain arrays (removal by swap, spawns appended). */
typedef struct twin {
  uint32_t n, cap;
  float *x, *y, *vx, *vy;
  float px[PREDATORS], py[PREDATORS], pvx[PREDATORS], pvy[PREDATORS];
  myr_entity target[PREDATORS];
  uint32_t eaten[PREDATORS];
  grid *g;
  cell_counts *cursor;
  unsigned char *dead;
  uint64_t rng;
} twin;

static void twin_make(twin *t) {
  memset(t, 0, sizeof *t);
  t->n = t->cap = PREY;
  t->x = malloc(sizeof(float) * PREY);
  t->y = malloc(sizeof(float) * PREY);
  t->vx = malloc(sizeof(float) * PREY);
  t->vy = malloc(sizeof(float) * PREY);
  t->g = calloc(1, grid_size(PREY));
  t->cursor = malloc(sizeof *t->cursor);
  t->dead = calloc(PREY, 1);
  if (!t->x || !t->y || !t->vx || !t->vy || !t->g || !t->cursor || !t->dead) exit(1);
  t->g->capacity = PREY;
  t->rng = SEED;
  for (uint32_t i = 0; i < PREY; i++) {
    t->x[i] = boids_unit(&t->rng);
    t->y[i] = boids_unit(&t->rng);
    t->vx[i] = 0.1f * (boids_unit(&t->rng) - 0.5f);
    t->vy[i] = 0.1f * (boids_unit(&t->rng) - 0.5f);
  }
  for (int k = 0; k < PREDATORS; k++) {
    t->px[k] = t->x[k];
    t->py[k] = t->y[k];
  }
}

static void twin_free(twin *t) {
  free(t->x);
  free(t->y);
  free(t->vx);
  free(t->vy);
  free(t->g);
  free(t->cursor);
  free(t->dead);
}

__attribute__((noinline)) static void twin_frame(twin *t) {
  grid *g = t->g;
  cell_counts *c = t->cursor;
  memset(c, 0, sizeof *c);
  for (uint32_t i = 0; i < t->n; i++) c->n[cell_of(t->x[i], t->y[i])]++;
  boids_starts(g, c);
  for (uint32_t k = 0; k < CELLS; k++) c->n[k] = g->start[k];
  float *gx = grid_col(g, 0), *gy = grid_col(g, 1), *gvx = grid_col(g, 2), *gvy = grid_col(g, 3);
  for (uint32_t i = 0; i < t->n; i++) {
    uint32_t at = c->n[cell_of(t->x[i], t->y[i])]++;
    g->id[at] = i;
    gx[at] = t->x[i];
    gy[at] = t->y[i];
    gvx[at] = t->vx[i];
    gvy[at] = t->vy[i];
  }
  boids_flock(g, t->x, t->y, t->vx, t->vy, t->n, DT);
  uint32_t eat[PREDATORS];
  boids_hunt(g, t->px, t->py, t->pvx, t->pvy, t->target, eat, PREDATORS);
  for (int k = 0; k < PREDATORS; k++)
    if (eat[k] != UINT32_MAX && !t->dead[g->id[eat[k]]]) {
      t->dead[g->id[eat[k]]] = 1;
      t->eaten[k]++;
    }
  boids_move(t->x, t->y, t->vx, t->vy, t->n, DT);
  boids_move(t->px, t->py, t->pvx, t->pvy, PREDATORS, DT);
  for (uint32_t i = t->n; i-- > 0;) /* the eaten go, the last prey taking their place */
    if (t->dead[i]) {
      t->dead[i] = 0;
      t->n--;
      t->x[i] = t->x[t->n];
      t->y[i] = t->y[t->n];
      t->vx[i] = t->vx[t->n];
      t->vy[i] = t->vy[t->n];
    }
  for (; t->n < t->cap; t->n++) {
    t->x[t->n] = boids_unit(&t->rng);
    t->y[t->n] = boids_unit(&t->rng);
    t->vx[t->n] = 0.1f * (boids_unit(&t->rng) - 0.5f);
    t->vy[t->n] = 0.1f * (boids_unit(&t->rng) - 0.5f);
  }
}

static void twin_frames(myr_bench_state *st, void *ctx) {
  (void)ctx;
  twin t;
  twin_make(&t);
  twin_frame(&t);
  while (myr_bench_keep_running(st)) {
    twin_frame(&t);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st));
  twin_free(&t);
}

/* ---- neighbour visits: the library's grid against the hand-written one ---- */

/* The first flock's prey positions and velocities (as the scenario draws
 * them), in plain arrays. */
static void first_flock(float *x, float *y, float *vx, float *vy) {
  uint64_t rng = SEED;
  for (uint32_t i = 0; i < PREY; i++) {
    x[i] = boids_unit(&rng);
    y[i] = boids_unit(&rng);
    vx[i] = 0.1f * (boids_unit(&rng) - 0.5f);
    vy[i] = 0.1f * (boids_unit(&rng) - 0.5f);
  }
}

/* Every prey's neighbours within SEE (itself included), through
 * myr_grid_near from each slot's position: items are neighbours visited. */
static void grid_visits(myr_bench_state *st, void *ctx) {
  (void)ctx;
  float *cols = malloc(sizeof(float) * 4 * PREY);
  if (!cols) exit(1);
  first_flock(cols, cols + PREY, cols + 2 * PREY, cols + 3 * PREY);
  myr_world *w;
  CHECK(myr_world_create(NULL, &w));
  typedef struct {
    float x, y;
  } vec2;
  static const myr_field v2[] = {MYR_FIELD(vec2, x, MYR_F32), MYR_FIELD(vec2, y, MYR_F32)};
  myr_component pos, vel;
  CHECK(myr_component_register(w, &(myr_component_desc){"Position", v2, 2, sizeof(vec2)}, &pos));
  CHECK(myr_component_register(w, &(myr_component_desc){"Velocity", v2, 2, sizeof(vec2)}, &vel));
  const myr_bulk_column columns[] = {
      {pos, 0, cols}, {pos, 1, cols + PREY}, {vel, 0, cols + 2 * PREY}, {vel, 1, cols + 3 * PREY}};
  CHECK(myr_entity_create_bulk(w, &(myr_bulk_desc){.components = (myr_component[]){pos, vel},
                                                   .component_count = 2,
                                                   .count = PREY,
                                                   .columns = columns,
                                                   .column_count = 4}));
  free(cols);
  myr_schedule *s;
  CHECK(myr_schedule_create(w, NULL, &s));
  myr_grid g;
  CHECK(myr_grid_add(s,
                     &(myr_grid_desc){.name = "grid",
                                      .position = pos,
                                      .dims = 2,
                                      .axis = {0, 1},
                                      .cell = SEE,
                                      .cells = {SIDE, SIDE},
                                      .edges = MYR_GRID_WRAP,
                                      .capacity = PREY,
                                      .payload = (myr_grid_field[]){{vel, 0}, {vel, 1}},
                                      .payload_count = 2,
                                      .block_rows = BLOCK},
                     &g));
  CHECK(myr_schedule_run(s, DT));
  uint64_t visits = 0;
  float sum = 0;
  while (myr_bench_keep_running(st)) {
    for (uint32_t i = 0; i < PREY; i++) {
      myr_grid_cursor q;
      myr_grid_hit h;
      CHECK(myr_grid_near(&g, (const float[]){g.pos[0][i], g.pos[1][i]}, SEE, &q));
      while (myr_grid_next(&q, &h)) {
        sum += h.delta[0] + g.payload[0][h.slot];
        visits++;
      }
    }
    myr_bench_do_not_optimize(&sum);
  }
  myr_bench_set_items(st, (int64_t)visits);
  myr_schedule_destroy(s);
  myr_world_destroy(w);
}

/* The same visits through the hand-written grid of boids_rules.h (the one
 * the scenario had before the library's; the twin's), built from the same
 * flock by the twin's counting sort. */
static void hand_visits(myr_bench_state *st, void *ctx) {
  (void)ctx;
  twin t;
  twin_make(&t);
  first_flock(t.x, t.y, t.vx, t.vy);
  grid *g = t.g;
  cell_counts *c = t.cursor;
  memset(c, 0, sizeof *c);
  for (uint32_t i = 0; i < t.n; i++) c->n[cell_of(t.x[i], t.y[i])]++;
  boids_starts(g, c);
  for (uint32_t k = 0; k < CELLS; k++) c->n[k] = g->start[k];
  float *gxs = grid_col(g, 0), *gys = grid_col(g, 1), *gvx = grid_col(g, 2);
  for (uint32_t i = 0; i < t.n; i++) {
    uint32_t at = c->n[cell_of(t.x[i], t.y[i])]++;
    g->id[at] = i;
    gxs[at] = t.x[i];
    gys[at] = t.y[i];
    gvx[at] = t.vx[i];
    grid_col(g, 3)[at] = t.vy[i];
  }
  uint64_t visits = 0;
  float sum = 0;
  while (myr_bench_keep_running(st)) {
    for (uint32_t i = 0; i < PREY; i++) {
      const float x = gxs[i], y = gys[i];
      int gx = (int)(x * SIDE) % SIDE, gy = (int)(y * SIDE) % SIDE;
      for (int oy = -1; oy <= 1; oy++)
        for (int ox = -1; ox <= 1; ox++) {
          uint32_t cell = (uint32_t)((gy + oy + SIDE) % SIDE) * SIDE + (uint32_t)((gx + ox + SIDE) % SIDE);
          for (uint32_t k = g->start[cell]; k < g->start[cell + 1]; k++) {
            float dx = wrap_delta(gxs[k] - x), dy = wrap_delta(gys[k] - y);
            if (dx * dx + dy * dy > SEE * SEE) continue;
            sum += dx + gvx[k];
            visits++;
          }
        }
    }
    myr_bench_do_not_optimize(&sum);
  }
  myr_bench_set_items(st, (int64_t)visits);
  twin_free(&t);
}

int main(int argc, char **argv) {
  /* neighbour visits, one thread: the library's grid (grid.h) and the hand-written one */
  myr_bench_register("grid/visits_100k_near", grid_visits, NULL);
  myr_bench_register("baseline/grid_visits_100k_hand", hand_visits, NULL);
  myr_bench_ratio("neighbour visits/s, library grid (myr_grid_near) vs hand-written grid (>= 1.0x)",
                  "grid/visits_100k_near", "baseline/grid_visits_100k_hand", 1.0);
  myr_bench_register("boids/frame_100k_scalar/workers:1", library_frames, (void *)(uintptr_t)(1 | SCALAR));
  myr_bench_register("boids/frame_100k/workers:1", library_frames, (void *)1);
  myr_bench_register("boids/frame_100k/workers:2", library_frames, (void *)2);
  myr_bench_register("baseline/boids_frame_100k_serial", twin_frames, NULL);
  /* the twin runs the scalar rules: the fair comparison is the library's scalar kernels */
  myr_bench_ratio("boids frame, 1 worker, scalar kernels vs hand-written serial (time <= 1.1x)",
                  "boids/frame_100k_scalar/workers:1", "baseline/boids_frame_100k_serial", 1.0 / 1.1);
  myr_bench_ratio("boids frame, 1 worker, SIMD kernels vs scalar", "boids/frame_100k/workers:1",
                  "boids/frame_100k_scalar/workers:1", 0);
  myr_bench_ratio("boids frame, 1 worker, SIMD kernels vs hand-written serial", "boids/frame_100k/workers:1",
                  "baseline/boids_frame_100k_serial", 0);
  myr_bench_ratio("boids frame, 2 workers vs 1", "boids/frame_100k/workers:2", "boids/frame_100k/workers:1", 0);
  /* tracing: chunks of 1024 rows, traced and not */
  myr_bench_register("boids/frame_100k_chunk1024/workers:1", library_frames, (void *)(uintptr_t)(1 | SMALL));
  myr_bench_register("boids/frame_100k_chunk1024_traced/workers:1", library_frames,
                     (void *)(uintptr_t)(1 | SMALL | TRACED));
  myr_bench_register("boids/frame_100k_chunk1024/workers:2", library_frames, (void *)(uintptr_t)(2 | SMALL));
  myr_bench_register("boids/frame_100k_chunk1024_traced/workers:2", library_frames,
                     (void *)(uintptr_t)(2 | SMALL | TRACED));
  myr_bench_ratio("boids frame traced vs not, 1 worker (time <= 1.05x)", "boids/frame_100k_chunk1024_traced/workers:1",
                  "boids/frame_100k_chunk1024/workers:1", 1.0 / 1.05);
  myr_bench_ratio("boids frame traced vs not, 2 workers (time <= 1.05x)", "boids/frame_100k_chunk1024_traced/workers:2",
                  "boids/frame_100k_chunk1024/workers:2", 1.0 / 1.05);
  return myr_bench_main(argc, argv);
}
