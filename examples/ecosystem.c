/* ecosystem: rabbits and foxes on a torus, written with the simulation
 * author's tools (docs/authoring.md walks through it).
 *
 * Rabbits wander, graze and breed; foxes wander, hunt and breed; both
 * starve. Every random number is drawn per entity (myr_view_random), so no
 * system shares a random state. Foxes
 * claim the nearest rabbit with a first-wins set: of several foxes after
 * one rabbit, the first in key order gets it, whatever the threads. The
 * next frame the caught rabbit is destroyed and its fox fed by a
 * commutative add to its energy. Foxes find rabbits through a neighbour
 * grid (grid.h) rebuilt every frame. Newborns link to their parent with a
 * MYR_ENTITY field; a parent notes its latest child's provisional id in a
 * patch, which the merge rewrites to the real id. A census counts rabbits
 * by a reduction whose result is a resource, which grazing reads the next
 * frame (crowded rabbits find less grass).
 *
 * The same run on 1, 2 and 3 workers with different chunk sizes ends in the
 * same world hash; the program checks it and exits 1 if not.
 *
 * usage: ecosystem [frames] */
#include <stdio.h>
#include <stdlib.h>

#include "myriad/myriad.h"

typedef struct {
  float x, y;
} vec2;
typedef struct {
  float e;
} energy;
typedef struct {
  myr_entity id;
} link;
typedef struct eco {
  myr_world *w;
  myr_component pos, energy, rabbit, fox, parent, child, caught;
  myr_resource count; /* rabbits, by this frame's census */
  myr_grid rabbits;   /* where they are */
} eco;

#define CHECK(call)                                         \
  do {                                                      \
    myr_status s_ = (call);                                 \
    if (s_ != MYR_OK) {                                     \
      fprintf(stderr, "%s: %s\n", #call, myr_strerror(s_)); \
      exit(1);                                              \
    }                                                       \
  } while (0)
#define FAIL_IF(v, call)                        \
  do {                                          \
    myr_status s_ = (call);                     \
    if (s_ != MYR_OK) myr_system_fail((v), s_); \
  } while (0)

enum { STREAM_WALK, STREAM_BIRTH, STREAM_FIRST_ANIMALS };
static const float CATCH = 0.006f, FOX_MEAL = 3.0f, BIRTH_COST = 4.0f;

static float wrap(float x) { return x < 0 ? x + 1 : x >= 1 ? x - 1 : x; }

/* ---- stage 0 --------------------------------------------------------------- */

/* A caught rabbit dies and feeds its fox: an add to the fox's energy, in key
 * order with any other (a fox may have caught two). */
static void settle(const myr_view *v, myr_patches *p) {
  const eco *s = v->user;
  const link *by = myr_chunk_column(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (by[i].id == MYR_ENTITY_NULL) continue;
    FAIL_IF(v, myr_patch_destroy(p, v->chunk.ids[i]));
    FAIL_IF(v, myr_patch_add_to(p, by[i].id, s->energy, 0, MYR_F32, &FOX_MEAL));
  }
}

/* Each animal takes a random step (its own numbers: the same for any thread
 * count or chunk size) and spends energy; rabbits graze, less when last
 * frame's census found them crowded; the starved die. */
static void wander(const myr_view *v, myr_patches *p) {
  const eco *s = v->user;
  const uint32_t *census = myr_view_resource(v, s->count);
  const float grass = 0.3f * (1.0f - (float)*census / 4000.0f);
  float *x = myr_chunk_column(&v->chunk, 0, 0), *y = myr_chunk_column(&v->chunk, 0, 1);
  float *e = myr_chunk_column(&v->chunk, 1, 0);
  const bool rabbits = myr_chunk_has(&v->chunk, 2);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    myr_random r;
    FAIL_IF(v, myr_view_random(v, i, STREAM_WALK, &r));
    float step = rabbits ? 0.01f : 0.02f;
    x[i] = wrap(x[i] + step * (float)myr_random_normal(&r));
    y[i] = wrap(y[i] + step * (float)myr_random_normal(&r));
    e[i] += rabbits ? grass : -0.15f;
    if (e[i] <= 0) FAIL_IF(v, myr_patch_destroy(p, v->chunk.ids[i]));
  }
}

/* The well fed have one young, next to them, linked to its parent; the
 * parent notes the newborn's provisional id, rewritten at the merge. */
static void breed(const myr_view *v, myr_patches *p) {
  const eco *s = v->user;
  const float *x = myr_chunk_column(&v->chunk, 0, 0), *y = myr_chunk_column(&v->chunk, 0, 1);
  const float *e = myr_chunk_column(&v->chunk, 1, 0);
  const bool rabbits = myr_chunk_has(&v->chunk, 2);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (e[i] < (rabbits ? 5.0f : 60.0f)) continue;
    myr_random r;
    FAIL_IF(v, myr_view_random(v, i, STREAM_BIRTH, &r));
    if (myr_random_float(&r) > 0.1f) continue;
    vec2 at = {wrap(x[i] + 0.01f * myr_random_float(&r)), wrap(y[i] + 0.01f * myr_random_float(&r))};
    const myr_component set[] = {s->pos, s->energy, rabbits ? s->rabbit : s->fox, s->parent, s->child, s->caught};
    const void *values[] = {&at, &(energy){BIRTH_COST}, NULL, &(link){v->chunk.ids[i]}, NULL, NULL};
    myr_entity young; /* only foxes are never caught */
    FAIL_IF(v, myr_patch_spawn(p, set, rabbits ? 6 : 5, values, &young));
    FAIL_IF(v, myr_patch_add_to(p, v->chunk.ids[i], s->energy, 0, MYR_F32, &(float){-BIRTH_COST}));
    FAIL_IF(v, myr_patch_set_field(p, v->chunk.ids[i], s->child, 0, MYR_ENTITY, &young));
  }
}

/* ---- stage 1: the census and the hunt -------------------------------------------- */

/* Counts rabbits per block of rows; the blocks' counts add up in row order
 * (a deterministic reduction) into the RabbitCount resource. */
static void census_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  for (uint32_t i = 0; i < v->chunk.count; i++) ++*(uint32_t *)myr_view_partial(v, i);
}

static void census_combine(void *result, void *partial, void *user) {
  (void)user;
  *(uint32_t *)result += *(uint32_t *)partial;
}

/* Each fox claims the nearest rabbit within reach, found through the grid
 * (visited in a fixed order, so ties go the same way every time): a
 * first-wins set, so of several foxes after one rabbit the first in key
 * order has it. */
static void hunt(const myr_view *v, myr_patches *p) {
  const eco *s = v->user;
  const float *x = myr_chunk_column(&v->chunk, 0, 0), *y = myr_chunk_column(&v->chunk, 0, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    float best = CATCH * CATCH;
    myr_entity prey = MYR_ENTITY_NULL;
    myr_grid_cursor q;
    myr_grid_hit hit;
    FAIL_IF(v, myr_grid_near(&s->rabbits, (const float[]){x[i], y[i]}, CATCH, &q));
    while (myr_grid_next(&q, &hit))
      if (hit.d2 < best) {
        best = hit.d2;
        prey = hit.id;
      }
    if (prey != MYR_ENTITY_NULL) FAIL_IF(v, myr_patch_set_first(p, prey, s->caught, &(link){v->chunk.ids[i]}));
  }
}

/* ---- the world and the schedule --------------------------------------------- */

static void make_world(eco *s, uint32_t rabbits, uint32_t foxes) {
  CHECK(myr_world_create(NULL, &s->w));
  CHECK(myr_world_set_seed(s->w, 2026));
  static const myr_field v2[] = {MYR_FIELD(vec2, x, MYR_F32), MYR_FIELD(vec2, y, MYR_F32)};
  static const myr_field en[] = {MYR_FIELD(energy, e, MYR_F32)};
  static const myr_field ln[] = {MYR_FIELD(link, id, MYR_ENTITY)};
  CHECK(myr_component_register(s->w, &(myr_component_desc){"Position", v2, 2, sizeof(vec2)}, &s->pos));
  CHECK(myr_component_register(s->w, &(myr_component_desc){"Energy", en, 1, sizeof(energy)}, &s->energy));
  CHECK(myr_component_register(s->w, &(myr_component_desc){"Rabbit", NULL, 0, 0}, &s->rabbit));
  CHECK(myr_component_register(s->w, &(myr_component_desc){"Fox", NULL, 0, 0}, &s->fox));
  CHECK(myr_component_register(s->w, &(myr_component_desc){"Parent", ln, 1, sizeof(link)}, &s->parent));
  CHECK(myr_component_register(s->w, &(myr_component_desc){"LastChild", ln, 1, sizeof(link)}, &s->child));
  CHECK(myr_component_register(s->w, &(myr_component_desc){"CaughtBy", ln, 1, sizeof(link)}, &s->caught));
  CHECK(myr_resource_register(s->w, &(myr_resource_desc){.name = "RabbitCount", .size = sizeof(uint32_t)}, &s->count));
  /* the first animals, from a generator of our own (no frame runs yet) */
  myr_random r;
  CHECK(myr_random_system(myr_world_seed(s->w), 0, 0, STREAM_FIRST_ANIMALS, &r));
  for (uint32_t i = 0; i < rabbits + foxes; i++) {
    vec2 at = {myr_random_float(&r), myr_random_float(&r)};
    bool rabbit = i < rabbits;
    const myr_component set[] = {s->pos, s->energy, rabbit ? s->rabbit : s->fox, s->child, s->caught};
    const void *values[] = {&at, &(energy){rabbit ? 4.0f : 15.0f}, NULL, NULL, NULL};
    myr_entity e;
    CHECK(myr_entity_create_with(s->w, set, rabbit ? 5 : 4, values, &e));
  }
}

static void add_systems(eco *s, myr_schedule *sc) {
  const myr_term animals[] = {{s->pos, MYR_TERM_WRITE}, {s->energy, MYR_TERM_WRITE}, {s->rabbit, MYR_TERM_OPTIONAL}};
  const myr_term breeders[] = {{s->pos, MYR_TERM_READ}, {s->energy, MYR_TERM_READ}, {s->rabbit, MYR_TERM_OPTIONAL}};
  const myr_term rabbits[] = {{s->pos, MYR_TERM_READ}, {s->rabbit, MYR_TERM_WITH}};
  const myr_term foxes[] = {{s->pos, MYR_TERM_READ}, {s->fox, MYR_TERM_WITH}};
  myr_reduction_desc census = {
      .partial_size = sizeof(uint32_t), .combine = census_combine, .result_resource = s->count};
  /* stage 1 rebuilds the rabbits' grid, then the foxes read it */
  CHECK(myr_grid_add(sc,
                     &(myr_grid_desc){.name = "RabbitGrid",
                                      .stage = 1,
                                      .position = s->pos,
                                      .dims = 2,
                                      .axis = {0, 1},
                                      .cell = 1.0f / 64,
                                      .cells = {64, 64},
                                      .edges = MYR_GRID_WRAP,
                                      .capacity = 1u << 16,
                                      .filter = (myr_term[]){{s->rabbit, MYR_TERM_WITH}},
                                      .filter_count = 1},
                     &s->rabbits));
  const myr_system_desc systems[] = {
      {.name = "settle",
       .terms = (myr_term[]){{s->caught, MYR_TERM_READ}, {s->rabbit, MYR_TERM_WITH}},
       .term_count = 2,
       .fn = settle,
       .user = s},
      {.name = "wander",
       .terms = animals,
       .term_count = 3,
       .fn = wander,
       .user = s,
       .resources = (myr_resource_term[]){{s->count, MYR_TERM_READ}},
       .resource_count = 1},
      {.name = "breed", .terms = breeders, .term_count = 3, .fn = breed, .user = s},
      {.name = "census",
       .terms = rabbits,
       .term_count = 2,
       .fn = census_rows,
       .stage = 1,
       .reduction = &census,
       .resources = (myr_resource_term[]){{s->count, MYR_TERM_WRITE}},
       .resource_count = 1},
      {.name = "hunt",
       .terms = foxes,
       .term_count = 2,
       .fn = hunt,
       .user = s,
       .stage = 1,
       .resources = (myr_resource_term[]){{s->rabbits.slots, MYR_TERM_READ}},
       .resource_count = 1},
  };
  for (size_t i = 0; i < sizeof systems / sizeof *systems; i++) CHECK(myr_schedule_add(sc, &systems[i], NULL));
}

static uint64_t run(uint32_t workers, uint32_t chunk, int frames, bool report) {
  static eco s; /* the grid must stay where myr_grid_add saw it */
  s = (eco){0};
  make_world(&s, 3000, 60);
  myr_jobs *pool;
  CHECK(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool));
  myr_schedule *sc;
  CHECK(myr_schedule_create(s.w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &sc));
  add_systems(&s, sc);
  for (int f = 0; f < frames; f++) {
    myr_status st = myr_schedule_run(sc, 1.0 / 30);
    if (st != MYR_OK) {
      fprintf(stderr, "frame %d: %s\n", f, myr_schedule_error(sc));
      exit(1);
    }
    if (report && f % 25 == 0) {
      uint32_t rabbits = *(uint32_t *)myr_resource_data(s.w, s.count); /* this frame's census */
      printf("frame %3d: %5u rabbits, %4u foxes\n", f, rabbits, myr_world_entity_count(s.w) - rabbits);
    }
  }
  uint64_t hash;
  CHECK(myr_world_hash(s.w, &hash));
  myr_schedule_destroy(sc);
  CHECK(myr_jobs_destroy(pool));
  myr_world_destroy(s.w);
  return hash;
}

int main(int argc, char **argv) {
  int frames = argc > 1 ? atoi(argv[1]) : 200;
  if (frames <= 0 || frames > 1000000) {
    fprintf(stderr, "usage: ecosystem [frames] (1 to 1000000)\n");
    return 2;
  }
  uint64_t one = run(1, 4096, frames, true);
  uint64_t two = run(2, 64, frames, false), three = run(3, 1000, frames, false);
  printf("world hash: 1 worker %016llx, 2 workers %016llx, 3 workers %016llx\n", (unsigned long long)one,
         (unsigned long long)two, (unsigned long long)three);
  if (one != two || one != three) {
    fprintf(stderr, "ecosystem: the runs disagree\n");
    return 1;
  }
  return 0;
}
