/* boids: a flock of prey and a few predators on a torus (the unit square,
 * wrapped). Of the N entities, PREDATORS (64) are predators and N - 64 prey;
 * eaten prey are destroyed through patches and as many new ones spawned
 * from the world's RNG resource (its initial value is the seed), so the
 * count stays at N. The rules themselves are kernels on plain arrays in
 * boids_rules.h, shared with the hand-written twin in bench/bench_boids.c.
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
 *             that the flock keeps its size. */
#include <stdlib.h>

#include "boids_rules.h"
#include "scenarios_impl.h"

typedef struct { float x, y; } vec2;
typedef struct { myr_entity target; uint32_t eaten; } predator;

typedef struct flock {
  myr_component pos, vel, prey, hunter;
  myr_resource totals, grid, rng;
  myr_system count;
  myr_query *prey_query;
  uint32_t prey_wanted;
} flock;

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

static void flock_free(void *state) {
  flock *f = state;
  myr_query_destroy(f->prey_query);
  free(f);
}

/* The flock and the predators, from the RNG: one loop, so one order. The
 * predators stand where the first prey do, at rest. */
static myr_status make_entities(myr_world *w, flock *f, uint32_t prey) {
  uint64_t *rng = myr_resource_data(w, f->rng);
  float *cols = malloc(sizeof(float) * 4 * (size_t)prey);
  if (!cols) return MYR_ENOMEM;
  for (uint32_t i = 0; i < prey; i++) {
    cols[i] = boids_unit(rng);
    cols[prey + i] = boids_unit(rng);
    cols[2 * (size_t)prey + i] = 0.1f * (boids_unit(rng) - 0.5f);
    cols[3 * (size_t)prey + i] = 0.1f * (boids_unit(rng) - 0.5f);
  }
  const myr_bulk_column columns[] = {{f->pos, 0, cols}, {f->pos, 1, cols + prey}, {f->vel, 0, cols + 2 * (size_t)prey},
                                     {f->vel, 1, cols + 3 * (size_t)prey}};
  myr_status st = myr_entity_create_bulk(w, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->vel, f->prey},
                                                              .component_count = 3, .count = prey, .columns = columns,
                                                              .column_count = 4});
  if (st == MYR_OK)
    st = myr_entity_create_bulk(w, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->vel, f->hunter},
                                                     .component_count = 3, .count = PREDATORS, .columns = columns,
                                                     .column_count = 2});
  free(cols);
  return st;
}

static myr_status add_systems(myr_world *w, myr_schedule *s, flock *f) {
  const myr_term prey_terms[] = {{f->pos, MYR_TERM_READ}, {f->vel, MYR_TERM_READ}, {f->prey, MYR_TERM_WITH}};
  const myr_reduction_desc red = {.partial_size = sizeof(cell_counts), .block_rows = BLOCK, .combine = scan_cells,
                                  .result = myr_resource_data(w, f->totals)};
  myr_status st = myr_schedule_add(s, &(myr_system_desc){
      .name = "count", .terms = prey_terms, .term_count = 3, .fn = count_cells, .reduction = &red, .end = cell_starts,
      .resources = (myr_resource_term[]){{f->totals, MYR_TERM_WRITE}, {f->grid, MYR_TERM_WRITE}}, .resource_count = 2},
      &f->count);
  const myr_system_desc systems[] = {
      {.name = "place", .terms = prey_terms, .term_count = 3, .fn = place, .user = f, .chunk_multiple = BLOCK,
       .after = (const char *const[]){"count"}, .after_count = 1,
       .resources = (myr_resource_term[]){{f->grid, MYR_TERM_WRITE}}, .resource_count = 1},
      {.name = "flock",
       .terms = (myr_term[]){{f->pos, MYR_TERM_READ}, {f->vel, MYR_TERM_WRITE}, {f->prey, MYR_TERM_WITH},
                             {f->hunter, MYR_TERM_WITHOUT}},
       .term_count = 4, .fn = flock_rows, .resources = (myr_resource_term[]){{f->grid, MYR_TERM_READ}},
       .resource_count = 1},
      /* without Prey: never a table of flock's, so the two run side by side */
      {.name = "hunt",
       .terms = (myr_term[]){{f->pos, MYR_TERM_READ}, {f->vel, MYR_TERM_WRITE}, {f->hunter, MYR_TERM_WRITE},
                             {f->prey, MYR_TERM_WITHOUT}},
       .term_count = 4, .fn = hunt, .resources = (myr_resource_term[]){{f->grid, MYR_TERM_READ}}, .resource_count = 1},
      {.name = "move", .terms = (myr_term[]){{f->pos, MYR_TERM_WRITE}, {f->vel, MYR_TERM_READ}}, .term_count = 2,
       .fn = move},
      {.name = "respawn", .fn = respawn, .user = f, .stage = 1,
       .resources = (myr_resource_term[]){{f->rng, MYR_TERM_WRITE}}, .resource_count = 1},
  };
  for (size_t i = 0; i < sizeof systems / sizeof *systems && st == MYR_OK; i++) st = myr_schedule_add(s, &systems[i], NULL);
  return st;
}

myr_status scn_boids(scn_scenario *sc, uint32_t n, uint64_t seed) {
  if (n <= PREDATORS) return MYR_EINVAL; /* at least one prey */
  flock *f = calloc(1, sizeof *f);
  if (!f) return MYR_ENOMEM;
  sc->state = f;
  sc->free_state = flock_free;
  myr_world *w = sc->world;
  const uint32_t prey = n - PREDATORS;
  static const myr_field v2[] = {MYR_FIELD(vec2, x, MYR_F32), MYR_FIELD(vec2, y, MYR_F32)};
  static const myr_field pr[] = {MYR_FIELD(predator, target, MYR_ENTITY), MYR_FIELD(predator, eaten, MYR_U32)};
  myr_status st = myr_component_register(w, &(myr_component_desc){"Position", v2, 2, sizeof(vec2)}, &f->pos);
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){"Velocity", v2, 2, sizeof(vec2)}, &f->vel);
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){"Prey", NULL, 0, 0}, &f->prey);
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){"Predator", pr, 2, sizeof(predator)}, &f->hunter);
  if (st == MYR_OK)
    st = myr_resource_register(w, &(myr_resource_desc){"CellCounts", sizeof(cell_counts), 0, NULL}, &f->totals);
  if (st == MYR_OK) st = myr_resource_register(w, &(myr_resource_desc){"Grid", grid_size(prey), 64, NULL}, &f->grid);
  if (st == MYR_OK) st = myr_resource_register(w, &(myr_resource_desc){"Rng", sizeof seed, 0, &seed}, &f->rng);
  if (st != MYR_OK) return st;
  ((grid *)myr_resource_data(w, f->grid))->capacity = prey;
  f->prey_wanted = prey;
  st = make_entities(w, f, prey);
  /* after the entities: the query matches their table from the start (a
   * callback counts through it, and must not refresh it) */
  if (st == MYR_OK) st = myr_query_create(w, &(myr_query_desc){(myr_term[]){{f->prey, MYR_TERM_WITH}}, 1}, &f->prey_query);
  return st == MYR_OK ? add_systems(w, sc->schedule, f) : st;
}
