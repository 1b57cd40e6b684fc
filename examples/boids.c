/* boids: a flock of prey and a few predators on a torus, run by a schedule.
 *
 * Every frame, stage 0:
 *   count     a reduction counts prey per grid cell per block of rows and
 *             scans the counts into each block's offsets; its end hook
 *             turns the totals into each cell's start (a prefix sum);
 *   place     puts every prey's position and velocity into the grid's slots
 *             (a counting sort: each row at its cell's start plus its block's
 *             cursor), so neighbours are read from plain arrays;
 *   flock     steers each prey by the prey in the 3x3 cells around it
 *             (separation, alignment, cohesion) and away from predators;
 *   hunt      steers each predator to the nearest prey it sees, remembers
 *             it in an entity reference, and eats it (a destroy patch) when
 *             close enough;
 *   move      integrates positions, wrapping around the unit square.
 * Stage 1:
 *   respawn   a run-once system: new prey, from the world's RNG resource, so
 *             that the flock keeps its size.
 *
 * The same flock is run on one thread and on every CPU, with different chunk
 * sizes, and must end with the same world hash.
 *
 * usage: boids [frames] [prey] */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime under strict C11 */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boids_rules.h"
#include "myriad/myriad.h"

typedef struct { float x, y; } vec2;
typedef struct { myr_entity target; uint32_t eaten; } predator;

typedef struct flock {
  myr_world *world;
  myr_component pos, vel, prey, hunter;
  myr_resource totals, grid, rng;
  myr_system count;
  myr_query *prey_query;
  uint32_t prey_wanted;
} flock;

#define CHECK(call)                                                    \
  do {                                                                 \
    myr_status s_ = (call);                                            \
    if (s_ != MYR_OK) {                                                \
      fprintf(stderr, "%s: %s\n", #call, myr_strerror(s_));            \
      exit(1);                                                         \
    }                                                                  \
  } while (0)

/* ---- the grid, by counting sort ------------------------------------------ */

static void count_cells(const myr_view *v, myr_patches *p) {
  (void)p;
  const float *x = myr_chunk_f32(&v->chunk, 0, 0), *y = myr_chunk_f32(&v->chunk, 0, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) ((cell_counts *)myr_view_partial(v, i))->n[cell_of(x[i], y[i])]++;
}

static void scan_cells(void *result, void *partial, void *user) {
  (void)user;
  boids_scan(result, partial);
}

static void cell_starts(const myr_view *v, myr_patches *p) {
  (void)p;
  grid *g = v->resources[1];
  boids_starts(g, v->resources[0]);
  if (g->start[CELLS] > g->capacity) myr_system_fail(v, MYR_ELIMIT);
}

static void place(const myr_view *v, myr_patches *p) {
  (void)p;
  const flock *f = v->user;
  grid *g = v->resources[0];
  const float *x = myr_chunk_f32(&v->chunk, 0, 0), *y = myr_chunk_f32(&v->chunk, 0, 1);
  const float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    cell_counts *cursor = myr_view_partial_of(v, f->count, i);
    uint32_t c = cell_of(x[i], y[i]), at = g->start[c] + cursor->n[c]++;
    if (at >= g->capacity) continue; /* count's end hook failed the frame */
    g->id[at] = v->chunk.ids[i];
    grid_col(g, 0)[at] = x[i];
    grid_col(g, 1)[at] = y[i];
    grid_col(g, 2)[at] = vx[i];
    grid_col(g, 3)[at] = vy[i];
  }
}

/* ---- flocking and hunting ------------------------------------------------- */

static void flock_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  boids_flock(v->resources[0], myr_chunk_f32(&v->chunk, 0, 0), myr_chunk_f32(&v->chunk, 0, 1),
              myr_chunk_f32(&v->chunk, 1, 0), myr_chunk_f32(&v->chunk, 1, 1), v->chunk.count, (float)v->dt);
}

/* Predators eat the prey they reach; several may eat the same prey in a
 * frame: the second destroy is skipped when the batch is applied. */
static void hunt(const myr_view *v, myr_patches *p) {
  const grid *g = v->resources[0];
  myr_entity *target = myr_chunk_entity(&v->chunk, 2, 0);
  uint32_t *eaten = myr_chunk_u32(&v->chunk, 2, 1), eat[PREDATORS];
  for (uint32_t at = 0; at < v->chunk.count; at += PREDATORS) {
    uint32_t n = v->chunk.count - at < PREDATORS ? v->chunk.count - at : PREDATORS;
    boids_hunt(g, myr_chunk_f32(&v->chunk, 0, 0) + at, myr_chunk_f32(&v->chunk, 0, 1) + at,
               myr_chunk_f32(&v->chunk, 1, 0) + at, myr_chunk_f32(&v->chunk, 1, 1) + at, target + at, eat, n);
    for (uint32_t i = 0; i < n; i++)
      if (eat[i] != UINT32_MAX && myr_patch_destroy(p, g->id[eat[i]]) == MYR_OK) eaten[at + i]++;
  }
}

static void move(const myr_view *v, myr_patches *p) {
  (void)p;
  boids_move(myr_chunk_f32(&v->chunk, 0, 0), myr_chunk_f32(&v->chunk, 0, 1), myr_chunk_f32(&v->chunk, 1, 0),
             myr_chunk_f32(&v->chunk, 1, 1), v->chunk.count, (float)v->dt);
}

/* Stage 1, once per frame: as many new prey as were eaten. */
static void respawn(const myr_view *v, myr_patches *p) {
  const flock *f = v->user;
  uint64_t *rng = v->resources[0];
  uint64_t alive = myr_query_entity_count(f->prey_query); /* structure changes only at merges */
  const myr_component set[] = {f->pos, f->vel, f->prey};
  for (uint64_t n = alive; n < f->prey_wanted; n++) {
    vec2 pos = {boids_unit(rng), boids_unit(rng)}, vel = {0.1f * (boids_unit(rng) - 0.5f), 0.1f * (boids_unit(rng) - 0.5f)};
    if (myr_patch_spawn(p, set, 3, (const void *const[]){&pos, &vel, NULL}, NULL) != MYR_OK) myr_system_fail(v, MYR_ENOMEM);
  }
}

/* ---- setting up ----------------------------------------------------------- */

static void make_world(flock *f, uint32_t prey) {
  CHECK(myr_world_create(NULL, &f->world));
  static const myr_field v2[] = {MYR_FIELD(vec2, x, MYR_F32), MYR_FIELD(vec2, y, MYR_F32)};
  static const myr_field pr[] = {MYR_FIELD(predator, target, MYR_ENTITY), MYR_FIELD(predator, eaten, MYR_U32)};
  CHECK(myr_component_register(f->world, &(myr_component_desc){"Position", v2, 2, sizeof(vec2)}, &f->pos));
  CHECK(myr_component_register(f->world, &(myr_component_desc){"Velocity", v2, 2, sizeof(vec2)}, &f->vel));
  CHECK(myr_component_register(f->world, &(myr_component_desc){"Prey", NULL, 0, 0}, &f->prey));
  CHECK(myr_component_register(f->world, &(myr_component_desc){"Predator", pr, 2, sizeof(predator)}, &f->hunter));
  CHECK(myr_resource_register(f->world, &(myr_resource_desc){"CellCounts", sizeof(cell_counts), 0, NULL}, &f->totals));
  CHECK(myr_resource_register(f->world, &(myr_resource_desc){"Grid", grid_size(prey), 64, NULL}, &f->grid));
  ((grid *)myr_resource_data(f->world, f->grid))->capacity = prey;
  uint64_t seed = 42;
  CHECK(myr_resource_register(f->world, &(myr_resource_desc){"Rng", sizeof seed, 0, &seed}, &f->rng));
  f->prey_wanted = prey;
  /* the flock and the predators, from the RNG: one loop, so one order */
  uint64_t *rng = myr_resource_data(f->world, f->rng);
  float *cols = malloc(sizeof(float) * 4 * prey);
  if (!cols) exit(1);
  for (uint32_t i = 0; i < prey; i++) {
    cols[i] = boids_unit(rng);
    cols[prey + i] = boids_unit(rng);
    cols[2 * prey + i] = 0.1f * (boids_unit(rng) - 0.5f);
    cols[3 * prey + i] = 0.1f * (boids_unit(rng) - 0.5f);
  }
  const myr_bulk_column columns[] = {{f->pos, 0, cols}, {f->pos, 1, cols + prey}, {f->vel, 0, cols + 2 * prey},
                                     {f->vel, 1, cols + 3 * prey}};
  CHECK(myr_entity_create_bulk(f->world, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->vel, f->prey},
                                                           .component_count = 3, .count = prey, .columns = columns,
                                                           .column_count = 4}));
  CHECK(myr_entity_create_bulk(f->world, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->vel, f->hunter},
                                                           .component_count = 3, .count = PREDATORS, .columns = columns,
                                                           .column_count = 2}));
  free(cols);
  CHECK(myr_query_create(f->world, &(myr_query_desc){(myr_term[]){{f->prey, MYR_TERM_WITH}}, 1}, &f->prey_query));
}

static myr_schedule *make_schedule(flock *f, myr_jobs *pool, uint32_t chunk, myr_reduction_desc *red) {
  myr_schedule *s;
  CHECK(myr_schedule_create(f->world, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &s));
  const myr_term prey_terms[] = {{f->pos, MYR_TERM_READ}, {f->vel, MYR_TERM_READ}, {f->prey, MYR_TERM_WITH}};
  *red = (myr_reduction_desc){.partial_size = sizeof(cell_counts), .block_rows = BLOCK, .combine = scan_cells,
                              .result = myr_resource_data(f->world, f->totals)};
  CHECK(myr_schedule_add(s, &(myr_system_desc){
      .name = "count", .terms = prey_terms, .term_count = 3, .fn = count_cells, .reduction = red, .end = cell_starts,
      .resources = (myr_resource_term[]){{f->totals, MYR_TERM_WRITE}, {f->grid, MYR_TERM_WRITE}}, .resource_count = 2},
      &f->count));
  CHECK(myr_schedule_add(s, &(myr_system_desc){
      .name = "place", .terms = prey_terms, .term_count = 3, .fn = place, .user = f, .chunk_multiple = BLOCK,
      .after = (const char *const[]){"count"}, .after_count = 1,
      .resources = (myr_resource_term[]){{f->grid, MYR_TERM_WRITE}}, .resource_count = 1}, NULL));
  CHECK(myr_schedule_add(s, &(myr_system_desc){
      .name = "flock",
      .terms = (myr_term[]){{f->pos, MYR_TERM_READ}, {f->vel, MYR_TERM_WRITE}, {f->prey, MYR_TERM_WITH},
                            {f->hunter, MYR_TERM_WITHOUT}},
      .term_count = 4, .fn = flock_rows, .resources = (myr_resource_term[]){{f->grid, MYR_TERM_READ}}, .resource_count = 1},
      NULL));
  CHECK(myr_schedule_add(s, &(myr_system_desc){
      /* without Prey: never a table of flock's, so the two run side by side */
      .name = "hunt",
      .terms = (myr_term[]){{f->pos, MYR_TERM_READ}, {f->vel, MYR_TERM_WRITE}, {f->hunter, MYR_TERM_WRITE},
                            {f->prey, MYR_TERM_WITHOUT}},
      .term_count = 4, .fn = hunt, .resources = (myr_resource_term[]){{f->grid, MYR_TERM_READ}}, .resource_count = 1},
      NULL));
  CHECK(myr_schedule_add(s, &(myr_system_desc){
      .name = "move", .terms = (myr_term[]){{f->pos, MYR_TERM_WRITE}, {f->vel, MYR_TERM_READ}}, .term_count = 2,
      .fn = move}, NULL));
  CHECK(myr_schedule_add(s, &(myr_system_desc){
      .name = "respawn", .fn = respawn, .user = f, .stage = 1,
      .resources = (myr_resource_term[]){{f->rng, MYR_TERM_WRITE}}, .resource_count = 1}, NULL));
  return s;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

__attribute__((unused)) static uint64_t run(uint32_t workers, uint32_t chunk, uint32_t frames, uint32_t prey, bool verbose) {
  flock f;
  memset(&f, 0, sizeof f);
  make_world(&f, prey);
  myr_jobs *pool;
  CHECK(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool));
  myr_reduction_desc red;
  myr_schedule *s = make_schedule(&f, pool, chunk, &red);
  if (verbose) CHECK(myr_schedule_print_plan(s, stdout));
  double t0 = now_s();
  for (uint32_t i = 0; i < frames; i++) {
    myr_status st = myr_schedule_run(s, 1.0 / 60);
    if (st != MYR_OK) {
      fprintf(stderr, "frame %u: %s\n", i, myr_schedule_error(s));
      exit(1);
    }
  }
  double t = now_s() - t0;
  uint64_t hash;
  CHECK(myr_world_hash(f.world, &hash));
  printf("%u workers, chunk %5u: %u frames, %.2f ms a frame, %u prey alive, world hash %016llx\n",
         myr_jobs_worker_count(pool), chunk, frames, 1e3 * t / frames, (uint32_t)myr_query_entity_count(f.prey_query),
         (unsigned long long)hash);
  if (verbose) CHECK(myr_schedule_print_stats(s, stdout, false));
  myr_schedule_destroy(s);
  CHECK(myr_jobs_destroy(pool));
  myr_query_destroy(f.prey_query);
  myr_world_destroy(f.world);
  return hash;
}

#ifndef BOIDS_NO_MAIN /* bench/bench_boids.c reuses the rest */
int main(int argc, char **argv) {
  uint32_t frames = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 120;
  uint32_t prey = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 100000;
  if (frames == 0 || prey == 0 || prey > 50000000) {
    fprintf(stderr, "usage: boids [frames >= 1] [prey 1..50000000]\n");
    return 2;
  }
  uint64_t one = run(1, 4096, frames, prey, false);
  uint64_t all = run(0, 1024, frames, prey, true);
  if (one != all) {
    fprintf(stderr, "boids: the world differs between 1 thread and every CPU\n");
    return 1;
  }
  printf("same world on 1 thread and on every CPU\n");
  return 0;
}
#endif
