/* boids: a flock of prey and a few predators on a torus (the unit square,
 * wrapped). Of the N entities, PREDATORS (64) are predators and N - 64 prey;
 * eaten prey are destroyed through patches and as many new ones spawned
 * with random numbers keyed by the world's seed and the frame (random.h),
 * so the count stays at N. The rules' arithmetic is in boids_rules.h, shared
 * with the hand-written twin in bench/bench_boids.c (which keeps its own grid).
 *
 * Every frame, in one stage:
 *   grid.count, grid.place
 *             the library's neighbour grid (grid.h) over the prey, with
 *             their velocity as payload: a deterministic counting sort by
 *             reduction, each cell's prey then ordered by their keys, so
 *             neighbours are read from plain arrays in the same order
 *             whatever the rows (or ranks) the prey live in;
 *   flock     steers each prey by the prey in the 3x3 cells around it
 *             (separation, alignment, cohesion); with the SIMD kernels,
 *             eight prey at a time (the same bits);
 *   hunt      steers each predator to the nearest prey it sees, remembers
 *             it in an entity reference, and eats it (a destroy patch) when
 *             close enough;
 *   move      integrates positions, wrapping around the unit square;
 *   respawn   a run-once system: as many new prey as were eaten before the
 *             frame, drawn by myr_view_random_once, so that the flock keeps
 *             its size.
 * Every boid has a key (the "Key" component) that names it on any rank; the
 * scenario splits over MPI ranks (scn_domain_of), with ghosts of the boids
 * near a rank's border ("myr.Ghost", which the grid names as optional). */
#include <stdlib.h>

#include "boids_rules.h"
#include "myriad/grid.h"
#include "myriad/simd.h"
#include "scenarios_impl.h"

typedef struct {
  float x, y;
} vec2;
typedef struct {
  myr_entity target;
  uint32_t eaten;
} predator;

/* The world's "FlockParams" resource: what respawn keeps up, in the world
 * so that a snapshot holds it. Unhashed: it is the scenario's size, which
 * the entities show, and hashing it would change every world hash pinned
 * before it moved here. */
typedef struct flock_params {
  uint32_t prey_wanted; /* prey alive after each frame */
} flock_params;

/* Handles into the world, made again whenever the scenario is set up. */
typedef struct flock {
  myr_component pos, vel, prey, hunter, key, ghost;
  myr_resource params;
  myr_grid grid; /* the library's neighbour grid: prey, with their velocity */
  myr_query *prey_query;
  const scn_scenario *sc; /* its domain hooks: a run split over ranks */
} flock;

/* Every boid's key (the "Key" component): what orders the grid's cells and
 * names a boid whatever its id and rank. The first boids are keyed by
 * their place in the first world (prey 1..P, predators P+1..); one spawned
 * by respawn by the seed, the frame and its place among the frame's
 * spawns, so every rank gives it the same key. */
typedef struct boid_key {
  uint64_t key;
} boid_key;

static uint64_t spawn_key(uint64_t seed, uint64_t frame, uint64_t n) {
  uint64_t s = seed ^ (frame * 0xd1b54a32d192ed03ull) ^ (n * 0x8cb92ba72f3d8dd7ull);
  uint64_t k = scn_next(&s);
  return k ? k : 1; /* 0 is "no key" */
}

/* ---- flocking and hunting ------------------------------------------------- */

/* Separation, alignment and cohesion from the prey within SEE (one cell):
 * the grid visits the 3x3 cells around in boids_flock's order. */
static void flock_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  const myr_grid *g = v->user;
  const float *x = myr_chunk_f32(&v->chunk, 0, 0), *y = myr_chunk_f32(&v->chunk, 0, 1);
  float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1);
  const float *gvx = g->payload[0], *gvy = g->payload[1], dt = (float)v->dt;
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    flock_sums s = {0};
    myr_grid_cursor q;
    myr_grid_hit h;
    if (myr_grid_near(g, (const float[]){x[i], y[i]}, SEE, &q) != MYR_OK) {
      myr_system_fail(v, MYR_EINVAL);
      return;
    }
    while (myr_grid_next(&q, &h))
      if (h.d2 != 0.0f) flock_add(&s, h.delta[0], h.delta[1], h.d2, gvx[h.slot], gvy[h.slot]);
    flock_steer(&s, &vx[i], &vy[i], dt);
  }
}

/* ---- flocking, eight prey at a time ------------------------------------- */

/* A prey's neighbour slots in the order boids_flock visits them: per row of
 * cells, the three cells left to right, which are one run of slots unless
 * the row wraps around the torus (then two). Empty runs are left out. */
typedef struct slot_runs {
  uint32_t begin[6], end[6];
  uint32_t count, at;
} slot_runs;

static void slot_runs_of(const myr_grid *g, float x, float y, slot_runs *r) {
  int gx = (int)myr_grid_axis_cell(g, 0, x), gy = (int)myr_grid_axis_cell(g, 1, y);
  r->count = r->at = 0;
  uint32_t last = UINT32_MAX;
  for (int oy = -1; oy <= 1; oy++)
    for (int ox = -1; ox <= 1; ox++) {
      uint32_t c = (uint32_t)((gy + oy + SIDE) % SIDE) * SIDE + (uint32_t)((gx + ox + SIDE) % SIDE);
      if (r->count && last + 1 == c) {
        r->end[r->count - 1] = g->start[c + 1]; /* the next cell's slots follow on */
      } else {
        r->begin[r->count] = g->start[c];
        r->end[r->count++] = g->start[c + 1];
      }
      last = c;
    }
  uint32_t kept = 0;
  for (uint32_t j = 0; j < r->count; j++)
    if (r->begin[j] != r->end[j]) r->begin[kept] = r->begin[j], r->end[kept++] = r->end[j];
  r->count = kept;
}

/* flock_rows with each of eight lanes walking its own prey's neighbours in
 * boids_flock's order and adding a neighbour's terms only where boids_flock
 * adds them (others add +0, which changes no sum that starts at +0), so
 * every lane does the scalar code's operations in its order: the same bits.
 * The lanes gather their neighbours' slots; a lane that ends a run takes
 * its next one, and the group is done when every lane has run out. */
static void boids_flock_simd(const myr_grid *g, const float *x, const float *y, float *vx, float *vy, uint32_t n,
                             float dt) {
  const float *gxs = g->pos[0], *gys = g->pos[1], *gvx = g->payload[0], *gvy = g->payload[1];
  const myr_f32v zero = myr_f32v_zero(), half = myr_f32v_set1(0.5f), one = myr_f32v_set1(1.0f),
                 see2 = myr_f32v_set1(SEE * SEE), limit = myr_f32v_set1(0.2f), dtv = myr_f32v_set1(dt);
  const myr_i32v lane_bit = simde_mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128), ones = myr_i32v_set1(1);
  for (uint32_t i = 0; i < n; i += MYR_SIMD_WIDTH) {
    slot_runs r[MYR_SIMD_WIDTH];
    _Alignas(32) int32_t k[MYR_SIMD_WIDTH] = {0}, end[MYR_SIMD_WIDTH] = {0};
    uint32_t live = 0;
    for (uint32_t l = 0; l < MYR_SIMD_WIDTH && i + l < n; l++) {
      slot_runs_of(g, x[i + l], y[i + l], &r[l]);
      if (r[l].count) k[l] = (int32_t)r[l].begin[0], end[l] = (int32_t)r[l].end[0], live |= 1u << l;
    }
    const myr_f32v xi = myr_f32v_load(x + i), yi = myr_f32v_load(y + i);
    myr_f32v sx = zero, sy = zero, ax = zero, ay = zero, cx = zero, cy = zero;
    myr_i32v seen = myr_i32v_set1(0);
    myr_i32v kv = myr_i32v_load(k), ev = myr_i32v_load(end);
    myr_mask on = myr_i32v_eq(myr_i32v_and(myr_i32v_set1((int32_t)live), lane_bit), lane_bit);
    while (live) {
      myr_f32v dx = myr_f32v_sub(myr_f32v_gather(gxs, kv), xi), dy = myr_f32v_sub(myr_f32v_gather(gys, kv), yi);
      /* wrap_delta */
      dx = myr_f32v_select(myr_f32v_gt(dx, half), myr_f32v_sub(dx, one),
                           myr_f32v_select(myr_f32v_lt(dx, myr_f32v_neg(half)), myr_f32v_add(dx, one), dx));
      dy = myr_f32v_select(myr_f32v_gt(dy, half), myr_f32v_sub(dy, one),
                           myr_f32v_select(myr_f32v_lt(dy, myr_f32v_neg(half)), myr_f32v_add(dy, one), dy));
      myr_f32v d2 = myr_f32v_add(myr_f32v_mul(dx, dx), myr_f32v_mul(dy, dy));
      myr_mask ok = myr_mask_and(on, myr_mask_not(myr_mask_or(myr_f32v_eq(d2, zero), myr_f32v_gt(d2, see2))));
      if (myr_mask_any(ok)) {
        seen = myr_i32v_add(seen, myr_i32v_select(ok, ones, myr_i32v_set1(0)));
        sx = myr_f32v_sub(sx, myr_f32v_select(ok, myr_f32v_div(dx, d2), zero));
        sy = myr_f32v_sub(sy, myr_f32v_select(ok, myr_f32v_div(dy, d2), zero));
        ax = myr_f32v_add(ax, myr_f32v_select(ok, myr_f32v_gather(gvx, kv), zero));
        ay = myr_f32v_add(ay, myr_f32v_select(ok, myr_f32v_gather(gvy, kv), zero));
        cx = myr_f32v_add(cx, myr_f32v_select(ok, dx, zero));
        cy = myr_f32v_add(cy, myr_f32v_select(ok, dy, zero));
      }
      kv = myr_i32v_add(kv, ones);
      uint32_t ended = live & myr_mask_bits(myr_i32v_eq(kv, ev));
      if (!ended) continue;
      /* some lanes ended a run: through memory, to take their next */
      myr_i32v_store(k, kv);
      myr_i32v_store(end, ev);
      while (ended) {
        uint32_t l = (uint32_t)__builtin_ctz(ended);
        ended &= ended - 1;
        if (++r[l].at < r[l].count) {
          k[l] = (int32_t)r[l].begin[r[l].at];
          end[l] = (int32_t)r[l].end[r[l].at];
        } else {
          live &= ~(1u << l);
          k[l] = 0; /* a valid slot to gather from; the lane is off */
        }
      }
      kv = myr_i32v_load(k);
      ev = myr_i32v_load(end);
      on = myr_i32v_eq(myr_i32v_and(myr_i32v_set1((int32_t)live), lane_bit), lane_bit);
    }
    const myr_f32v vx0 = myr_f32v_load(vx + i), vy0 = myr_f32v_load(vy + i);
    const myr_mask any = myr_i32v_gt(seen, myr_i32v_set1(0));
    const myr_f32v inv = myr_f32v_div(one, myr_i32v_to_f32(seen));
    const myr_f32v c5 = myr_f32v_set1(1e-5f), two = myr_f32v_set1(2.0f);
    myr_f32v nx =
        myr_f32v_add(myr_f32v_add(myr_f32v_mul(c5, sx), myr_f32v_mul(half, myr_f32v_sub(myr_f32v_mul(ax, inv), vx0))),
                     myr_f32v_mul(myr_f32v_mul(two, cx), inv));
    myr_f32v ny =
        myr_f32v_add(myr_f32v_add(myr_f32v_mul(c5, sy), myr_f32v_mul(half, myr_f32v_sub(myr_f32v_mul(ay, inv), vy0))),
                     myr_f32v_mul(myr_f32v_mul(two, cy), inv));
    myr_f32v vx1 = myr_f32v_select(any, myr_f32v_add(vx0, myr_f32v_mul(dtv, nx)), vx0);
    myr_f32v vy1 = myr_f32v_select(any, myr_f32v_add(vy0, myr_f32v_mul(dtv, ny)), vy0);
    myr_f32v speed = myr_f32v_sqrt(myr_f32v_add(myr_f32v_mul(vx1, vx1), myr_f32v_mul(vy1, vy1)));
    myr_mask fast = myr_f32v_gt(speed, limit);
    myr_f32v f = myr_f32v_div(limit, speed);
    vx1 = myr_f32v_select(fast, myr_f32v_mul(vx1, f), vx1);
    vy1 = myr_f32v_select(fast, myr_f32v_mul(vy1, f), vy1);
    myr_mask mine = myr_simd_tail_mask(i, n); /* rows past n keep their values */
    myr_f32v_store(vx + i, myr_f32v_select(mine, vx1, vx0));
    myr_f32v_store(vy + i, myr_f32v_select(mine, vy1, vy0));
  }
}

static void flock_rows_simd(const myr_view *v, myr_patches *p) {
  (void)p;
  boids_flock_simd(v->user, myr_chunk_f32(&v->chunk, 0, 0), myr_chunk_f32(&v->chunk, 0, 1),
                   myr_chunk_f32(&v->chunk, 1, 0), myr_chunk_f32(&v->chunk, 1, 1), v->chunk.count, (float)v->dt);
}

/* Each predator steers to the nearest prey in the 5x5 cells around it
 * (boids_hunt's order), remembers it, and eats it when within EAT. Several
 * may eat the same prey in a frame: the second destroy is skipped when the
 * batch is applied. */
static void hunt(const myr_view *v, myr_patches *p) {
  const myr_grid *g = v->user;
  const float *x = myr_chunk_f32(&v->chunk, 0, 0), *y = myr_chunk_f32(&v->chunk, 0, 1);
  float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1);
  myr_entity *target = myr_chunk_entity(&v->chunk, 2, 0);
  uint32_t *eaten = myr_chunk_u32(&v->chunk, 2, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    float best = 1e9f, bx = 0, by = 0;
    uint32_t best_k = UINT32_MAX;
    myr_grid_cursor q;
    myr_grid_hit h;
    if (myr_grid_cells(g, (const float[]){x[i], y[i]}, 2, &q) != MYR_OK) {
      myr_system_fail(v, MYR_EINVAL);
      return;
    }
    while (myr_grid_next(&q, &h))
      if (h.d2 < best) best = h.d2, bx = h.delta[0], by = h.delta[1], best_k = h.slot;
    target[i] = best_k == UINT32_MAX ? MYR_ENTITY_NULL : g->ids[best_k];
    if (best_k == UINT32_MAX) continue;
    if (best < EAT * EAT && myr_patch_destroy(p, g->ids[best_k]) == MYR_OK) eaten[i]++;
    hunt_steer(best, bx, by, &vx[i], &vy[i]);
  }
}

static void move(const myr_view *v, myr_patches *p) {
  (void)p;
  boids_move(myr_chunk_f32(&v->chunk, 0, 0), myr_chunk_f32(&v->chunk, 0, 1), myr_chunk_f32(&v->chunk, 1, 0),
             myr_chunk_f32(&v->chunk, 1, 1), v->chunk.count, (float)v->dt);
}

/* Once per frame, beside the others: as many new prey as were eaten up to
 * the frame's start (those eaten in this frame come back in the next). Over
 * ranks, every rank counts the prey of all, draws every new one and keeps
 * those in its region, keyed alike on every rank. */
static void respawn(const myr_view *v, myr_patches *p) {
  const flock *f = v->user;
  const flock_params *params = myr_view_resource(v, f->params);
  myr_random rng; /* keyed by the system and the frame: no prey exists yet */
  if (myr_view_random_once(v, 0, &rng) != MYR_OK) myr_system_fail(v, MYR_EINVAL);
  /* the query is this system's alone, and tables appear only at merges and
   * between frames (a restore, a migration over ranks): it may catch up */
  if (myr_query_refresh(f->prey_query) != MYR_OK) myr_system_fail(v, MYR_ENOMEM);
  uint64_t alive = scn_sum(f->sc, myr_query_entity_count(f->prey_query)); /* structure changes only at merges */
  const myr_component set[] = {f->pos, f->vel, f->prey, f->key};
  const uint64_t seed = myr_world_seed(v->world);
  for (uint64_t n = alive; n < params->prey_wanted; n++) {
    float x = myr_random_float(&rng), y = myr_random_float(&rng);
    float vx = myr_random_float(&rng), vy = myr_random_float(&rng);
    vec2 pos = {x, y}, vel = {0.1f * (vx - 0.5f), 0.1f * (vy - 0.5f)};
    boid_key key = {spawn_key(seed, v->frame, n - alive)};
    if (scn_owns(f->sc, &pos.x) &&
        myr_patch_spawn(p, set, 4, (const void *const[]){&pos, &vel, NULL, &key}, NULL) != MYR_OK)
      myr_system_fail(v, MYR_ENOMEM);
  }
}

/* ---- setting up ----------------------------------------------------------- */

static void flock_free(void *state) {
  flock *f = state;
  myr_query_destroy(f->prey_query);
  free(f);
}

/* The flock and the predators, from a splitmix64 stream of the seed: one
 * loop, so one order. The predators stand where the first prey do, at
 * rest. */
static myr_status make_entities(myr_world *w, flock *f, uint32_t prey, uint64_t seed) {
  uint64_t state = seed, *rng = &state;
  /* room for the predators' columns when there are fewer prey than them */
  const size_t room = prey > PREDATORS ? prey : PREDATORS;
  float *cols = calloc(4 * room, sizeof(float));
  uint64_t *keys = malloc(sizeof(uint64_t) * room);
  if (!cols || !keys) {
    free(cols);
    free(keys);
    return MYR_ENOMEM;
  }
  for (uint32_t i = 0; i < prey; i++) {
    cols[i] = boids_unit(rng);
    cols[prey + i] = boids_unit(rng);
    cols[2 * (size_t)prey + i] = 0.1f * (boids_unit(rng) - 0.5f);
    cols[3 * (size_t)prey + i] = 0.1f * (boids_unit(rng) - 0.5f);
  }
  for (uint32_t i = 0; i < prey; i++) keys[i] = (uint64_t)i + 1;
  const myr_bulk_column columns[] = {{f->pos, 0, cols},
                                     {f->pos, 1, cols + prey},
                                     {f->vel, 0, cols + 2 * (size_t)prey},
                                     {f->vel, 1, cols + 3 * (size_t)prey},
                                     {f->key, 0, keys}};
  myr_status st =
      myr_entity_create_bulk(w, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->vel, f->prey, f->key},
                                                 .component_count = 4,
                                                 .count = prey,
                                                 .columns = columns,
                                                 .column_count = 5});
  /* the predators: keys after the prey's */
  for (uint32_t i = 0; i < PREDATORS; i++) keys[i] = (uint64_t)prey + i + 1;
  const myr_bulk_column hunters[] = {{f->pos, 0, cols}, {f->pos, 1, cols + prey}, {f->key, 0, keys}};
  if (st == MYR_OK)
    st = myr_entity_create_bulk(w, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->vel, f->hunter, f->key},
                                                    .component_count = 4,
                                                    .count = PREDATORS,
                                                    .columns = hunters,
                                                    .column_count = 3});
  free(cols);
  free(keys);
  return st;
}

/* The prey's grid: the unit square wrapped, SIDE x SIDE cells of SEE. Its
 * resources are part of the world (a snapshot holds them), so it is added
 * before the entities are made or loaded. */
static myr_status add_grid(myr_schedule *s, flock *f, uint32_t prey) {
  return myr_grid_add(s,
                      &(myr_grid_desc){.name = "grid",
                                       .position = f->pos,
                                       .dims = 2,
                                       .axis = {0, 1},
                                       .cell = SEE,
                                       .cells = {SIDE, SIDE},
                                       .edges = MYR_GRID_WRAP,
                                       .capacity = prey,
                                       .payload = (myr_grid_field[]){{f->vel, 0}, {f->vel, 1}},
                                       .payload_count = 2,
                                       /* ghosts too, when split over ranks */
                                       .filter = (myr_term[]){{f->prey, MYR_TERM_WITH}, {f->ghost, MYR_TERM_OPTIONAL}},
                                       .filter_count = 2,
                                       .block_rows = BLOCK,
                                       /* each cell's prey in key order, not row order: the same
                                          neighbours in the same order on any rank */
                                       .has_order = true,
                                       .order = f->key},
                      &f->grid);
}

/* The systems that read the grid, after its rebuild. */
static myr_status add_systems(myr_schedule *s, flock *f, bool simd) {
  const myr_system_desc systems[] = {
      {.name = "flock",
       .terms = (myr_term[]){{f->pos, MYR_TERM_READ},
                             {f->vel, MYR_TERM_WRITE},
                             {f->prey, MYR_TERM_WITH},
                             {f->hunter, MYR_TERM_WITHOUT}},
       .term_count = 4,
       .fn = simd ? flock_rows_simd : flock_rows,
       .user = &f->grid,
       .resources = (myr_resource_term[]){{f->grid.slots, MYR_TERM_READ}},
       .resource_count = 1},
      /* without Prey: never a table of flock's, so the two run side by side */
      {.name = "hunt",
       .terms = (myr_term[]){{f->pos, MYR_TERM_READ},
                             {f->vel, MYR_TERM_WRITE},
                             {f->hunter, MYR_TERM_WRITE},
                             {f->prey, MYR_TERM_WITHOUT}},
       .term_count = 4,
       .fn = hunt,
       .user = &f->grid,
       .resources = (myr_resource_term[]){{f->grid.slots, MYR_TERM_READ}},
       .resource_count = 1},
      {.name = "move",
       .terms = (myr_term[]){{f->pos, MYR_TERM_WRITE}, {f->vel, MYR_TERM_READ}},
       .term_count = 2,
       .fn = move},
      {.name = "respawn",
       .fn = respawn,
       .user = f,
       .stage = 0,
       .resources = (myr_resource_term[]){{f->params, MYR_TERM_READ}},
       .resource_count = 1},
  };
  myr_status st = MYR_OK;
  for (size_t i = 0; i < sizeof systems / sizeof *systems && st == MYR_OK; i++)
    st = myr_schedule_add(s, &systems[i], NULL);
  return st;
}

myr_status scn_boids(scn_scenario *sc, uint32_t n, uint64_t seed) {
  if (n <= PREDATORS) return MYR_EINVAL; /* at least one prey */
  flock *f = calloc(1, sizeof *f);
  if (!f) return MYR_ENOMEM;
  sc->state = f;
  sc->free_state = flock_free;
  f->sc = sc;
  myr_world *w = sc->world;
  const uint32_t prey = n - PREDATORS;
  static const myr_field v2[] = {MYR_FIELD(vec2, x, MYR_F32), MYR_FIELD(vec2, y, MYR_F32)};
  static const myr_field pr[] = {MYR_FIELD(predator, target, MYR_ENTITY), MYR_FIELD(predator, eaten, MYR_U32)};
  myr_status st = myr_component_register(w, &(myr_component_desc){"Position", v2, 2, sizeof(vec2)}, &f->pos);
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){"Velocity", v2, 2, sizeof(vec2)}, &f->vel);
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){"Prey", NULL, 0, 0}, &f->prey);
  if (st == MYR_OK)
    st = myr_component_register(w, &(myr_component_desc){"Predator", pr, 2, sizeof(predator)}, &f->hunter);
  static const myr_field kf[] = {MYR_FIELD(boid_key, key, MYR_U64)};
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){"Key", kf, 1, sizeof(boid_key)}, &f->key);
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){SCN_GHOST, NULL, 0, 0}, &f->ghost);
  /* over ranks: the unit torus; a prey reads the prey within 3 grid cells
   * (hunt's 5x5 cells), and a predator's target must still be here after
   * both moved and the predator migrated: ghosts out to 5 cells */
  sc->domain = (scn_domain){.position = f->pos,
                            .dims = 2,
                            .axis = {0, 1},
                            .max = {1, 1},
                            .wrap = true,
                            .has_key = true,
                            .key = f->key,
                            .ghost_width = 5.0f / SIDE};
  sc->splits = true;
  if (st == MYR_OK) st = myr_world_set_seed(w, seed);
  if (st == MYR_OK) st = add_grid(sc->schedule, f, prey);
  /* after the grid's: the hash numbers resources by registration */
  if (st == MYR_OK)
    st = myr_resource_register(w,
                               &(myr_resource_desc){.name = "FlockParams",
                                                    .size = sizeof(flock_params),
                                                    .initial = &(flock_params){.prey_wanted = prey},
                                                    .flags = MYR_RESOURCE_UNHASHED},
                               &f->params);
  if (st == MYR_OK) st = sc->populate ? sc->populate(w, sc->populate_ctx) : make_entities(w, f, prey, seed);
  /* the respawn's count (it refreshes it when it counts) */
  if (st == MYR_OK)
    st = myr_query_create(w, &(myr_query_desc){(myr_term[]){{f->prey, MYR_TERM_WITH}}, 1}, &f->prey_query);
  return st == MYR_OK ? add_systems(sc->schedule, f, sc->kernels == SCN_SIMD) : st;
}
