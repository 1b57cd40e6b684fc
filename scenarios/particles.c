/* particles: gravity, drag, integrate and bounds over particles in a unit
 * box. Particles that leave the box are destroyed through patches, and a
 * run-once system spawns as many new ones, with random numbers keyed by the
 * world's seed and the frame (random.h), so the count stays at N. */
#include <stdlib.h>

#include "myriad/simd.h"
#include "scenarios_impl.h"

typedef struct {
  float x, y, z;
} vec3;

/* The world's "ParticleParams" resource: what respawn keeps up, in the
 * world so that a snapshot holds it. Unhashed: it is the scenario's size,
 * which the entities show, and hashing it would change every world hash
 * pinned before it moved here. */
typedef struct particle_params {
  uint32_t wanted; /* particles alive after each frame */
} particle_params;

/* Handles into the world, made again whenever the scenario is set up. */
typedef struct particles {
  myr_component pos, vel;
  myr_resource params;
  myr_query *alive;
  const scn_scenario *sc; /* its domain hooks: a run split over ranks */
} particles;

static void gravity(const myr_view *v, myr_patches *p) {
  (void)p;
  float *vy = myr_chunk_f32(&v->chunk, 0, 1);
  const float g = 0.5f * (float)v->dt;
  MYR_FOR_ROWS(i, &v->chunk) vy[i] -= g;
}

static void drag(const myr_view *v, myr_patches *p) {
  (void)p;
  float *vx = myr_chunk_f32(&v->chunk, 0, 0), *vy = myr_chunk_f32(&v->chunk, 0, 1),
        *vz = myr_chunk_f32(&v->chunk, 0, 2);
  const float keep = 1.0f - 0.1f * (float)v->dt;
  MYR_FOR_ROWS(i, &v->chunk) {
    vx[i] *= keep;
    vy[i] *= keep;
    vz[i] *= keep;
  }
}

/* A chunk of this many rows or more is integrated field by field (x over
 * the chunk, then y, then z: two streams at a time), a smaller one in one
 * loop over the three. From 100k rows a chunk the first runs faster here
 * in most runs (by up to 9% standalone); up to 50k they run alike
 * (docs/performance.md). Each row gets the same operations either way, so
 * the world hash does not change. */
enum { FIELDWISE_ROWS = 65536 };

static void integrate(const myr_view *v, myr_patches *p) {
  (void)p;
  float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1),
        *pz = myr_chunk_f32(&v->chunk, 0, 2);
  const float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1),
              *vz = myr_chunk_f32(&v->chunk, 1, 2);
  const float dt = (float)v->dt;
  if (v->chunk.count >= FIELDWISE_ROWS) {
    MYR_FOR_ROWS(i, &v->chunk) px[i] += vx[i] * dt;
    MYR_FOR_ROWS(i, &v->chunk) py[i] += vy[i] * dt;
    MYR_FOR_ROWS(i, &v->chunk) pz[i] += vz[i] * dt;
    return;
  }
  MYR_FOR_ROWS(i, &v->chunk) {
    px[i] += vx[i] * dt;
    py[i] += vy[i] * dt;
    pz[i] += vz[i] * dt;
  }
}

/* The same three, in vectors: whole vectors over the chunk, no tail (the
 * rows past its count are the table's padding, simd.h). */
static void gravity_simd(const myr_view *v, myr_patches *p) {
  (void)p;
  float *vy = myr_chunk_f32(&v->chunk, 0, 1);
  const myr_f32v g = myr_f32v_set1(0.5f * (float)v->dt);
  MYR_FOR_VECTORS(i, &v->chunk) myr_f32v_store(vy + i, myr_f32v_sub(myr_f32v_load(vy + i), g));
}

static void drag_simd(const myr_view *v, myr_patches *p) {
  (void)p;
  float *vx = myr_chunk_f32(&v->chunk, 0, 0), *vy = myr_chunk_f32(&v->chunk, 0, 1),
        *vz = myr_chunk_f32(&v->chunk, 0, 2);
  const myr_f32v keep = myr_f32v_set1(1.0f - 0.1f * (float)v->dt);
  MYR_FOR_VECTORS(i, &v->chunk) { /* the three fields in one pass, as the scalar loop */
    myr_f32v_store(vx + i, myr_f32v_mul(myr_f32v_load(vx + i), keep));
    myr_f32v_store(vy + i, myr_f32v_mul(myr_f32v_load(vy + i), keep));
    myr_f32v_store(vz + i, myr_f32v_mul(myr_f32v_load(vz + i), keep));
  }
}

static void integrate_simd(const myr_view *v, myr_patches *p) {
  (void)p;
  float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1),
        *pz = myr_chunk_f32(&v->chunk, 0, 2);
  const float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1),
              *vz = myr_chunk_f32(&v->chunk, 1, 2);
  const myr_f32v dt = myr_f32v_set1((float)v->dt);
  if (v->chunk.count >= FIELDWISE_ROWS) { /* as the scalar loop */
    MYR_FOR_VECTORS(i, &v->chunk) {
      myr_f32v_store(px + i, myr_f32v_add(myr_f32v_load(px + i), myr_f32v_mul(myr_f32v_load(vx + i), dt)));
    }
    MYR_FOR_VECTORS(i, &v->chunk) {
      myr_f32v_store(py + i, myr_f32v_add(myr_f32v_load(py + i), myr_f32v_mul(myr_f32v_load(vy + i), dt)));
    }
    MYR_FOR_VECTORS(i, &v->chunk) {
      myr_f32v_store(pz + i, myr_f32v_add(myr_f32v_load(pz + i), myr_f32v_mul(myr_f32v_load(vz + i), dt)));
    }
    return;
  }
  MYR_FOR_VECTORS(i, &v->chunk) {
    myr_f32v_store(px + i, myr_f32v_add(myr_f32v_load(px + i), myr_f32v_mul(myr_f32v_load(vx + i), dt)));
    myr_f32v_store(py + i, myr_f32v_add(myr_f32v_load(py + i), myr_f32v_mul(myr_f32v_load(vy + i), dt)));
    myr_f32v_store(pz + i, myr_f32v_add(myr_f32v_load(pz + i), myr_f32v_mul(myr_f32v_load(vz + i), dt)));
  }
}

/* bounds in vectors: the compares eight rows at a time, the destroys (a
 * patch each, rare) row by row in the lanes that left */
static void bounds_simd(const myr_view *v, myr_patches *p) {
  const float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1),
              *pz = myr_chunk_f32(&v->chunk, 0, 2);
  const myr_f32v zero = myr_f32v_zero(), one = myr_f32v_set1(1.0f);
  MYR_FOR_VECTORS(i, &v->chunk) {
    const myr_f32v x = myr_f32v_load(px + i), y = myr_f32v_load(py + i), z = myr_f32v_load(pz + i);
    myr_mask out = myr_mask_or(myr_mask_or(myr_f32v_lt(x, zero), myr_f32v_gt(x, one)),
                               myr_mask_or(myr_mask_or(myr_f32v_lt(y, zero), myr_f32v_gt(y, one)),
                                           myr_mask_or(myr_f32v_lt(z, zero), myr_f32v_gt(z, one))));
    uint32_t lanes = myr_mask_bits(myr_mask_and(out, myr_simd_tail_mask(i, v->chunk.count)));
    for (; lanes; lanes &= lanes - 1)
      if (myr_patch_destroy(p, v->chunk.ids[i + (uint32_t)__builtin_ctz(lanes)]) != MYR_OK)
        myr_system_fail(v, MYR_ENOMEM);
  }
}

static void bounds(const myr_view *v, myr_patches *p) {
  const float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1),
              *pz = myr_chunk_f32(&v->chunk, 0, 2);
  for (uint32_t i = 0; i < v->chunk.count; i++)
    if (px[i] < 0 || px[i] > 1 || py[i] < 0 || py[i] > 1 || pz[i] < 0 || pz[i] > 1)
      if (myr_patch_destroy(p, v->chunk.ids[i]) != MYR_OK) myr_system_fail(v, MYR_ENOMEM);
}

static vec3 random_in(myr_random *r, float lo, float hi) {
  float x = myr_random_float(r), y = myr_random_float(r), z = myr_random_float(r);
  return (vec3){lo + (hi - lo) * x, lo + (hi - lo) * y, lo + (hi - lo) * z};
}

static void respawn(const myr_view *v, myr_patches *p) {
  const particles *s = v->user;
  const particle_params *params = myr_view_resource(v, s->params);
  myr_random rng; /* keyed by the system and the frame: no entity exists yet */
  if (myr_view_random_once(v, 0, &rng) != MYR_OK) myr_system_fail(v, MYR_EINVAL);
  const myr_component set[] = {s->pos, s->vel};
  /* over ranks: every rank draws every new particle and keeps its own */
  /* the query is this system's alone, and tables appear only at merges and
   * between frames (a restore, a migration over ranks): it may catch up */
  if (myr_query_refresh(s->alive) != MYR_OK) myr_system_fail(v, MYR_ENOMEM);
  for (uint64_t n = scn_sum(s->sc, myr_query_entity_count(s->alive)); n < params->wanted; n++) {
    vec3 pos = random_in(&rng, 0.0f, 1.0f), vel = random_in(&rng, -0.1f, 0.1f);
    vel.y += 0.2f; /* up at first, then down through the floor */
    if (scn_owns(s->sc, &pos.x) && myr_patch_spawn(p, set, 2, (const void *const[]){&pos, &vel}, NULL) != MYR_OK)
      myr_system_fail(v, MYR_ENOMEM);
  }
}

static void particles_free(void *state) {
  particles *s = state;
  myr_query_destroy(s->alive);
  free(s);
}

/* The first world, made here in one loop: one order. */
static myr_status make_entities(myr_world *w, const particles *s, uint32_t n, uint64_t seed) {
  float *cols = malloc(sizeof(float) * 6 * (size_t)n);
  if (!cols) return MYR_ENOMEM;
  uint64_t rng = seed;
  for (uint32_t i = 0; i < n; i++)
    for (int k = 0; k < 6; k++)
      cols[(size_t)k * n + i] = k < 3 ? scn_unit(&rng) : 0.2f * (scn_unit(&rng) - 0.5f) + 0.2f * (k == 4);
  myr_bulk_column columns[6];
  for (int k = 0; k < 6; k++)
    columns[k] = (myr_bulk_column){k < 3 ? s->pos : s->vel, (uint32_t)(k % 3), cols + (size_t)k * n};
  myr_status st = myr_entity_create_bulk(w, &(myr_bulk_desc){.components = (myr_component[]){s->pos, s->vel},
                                                             .component_count = 2,
                                                             .count = n,
                                                             .columns = columns,
                                                             .column_count = 6});
  free(cols);
  return st;
}

static myr_status add_systems(myr_schedule *sch, particles *s, bool simd) {
  const myr_system_desc systems[] = {
      {.name = "gravity",
       .terms = (myr_term[]){{s->vel, MYR_TERM_WRITE}},
       .term_count = 1,
       .fn = simd ? gravity_simd : gravity},
      {.name = "drag", .terms = (myr_term[]){{s->vel, MYR_TERM_WRITE}}, .term_count = 1, .fn = simd ? drag_simd : drag},
      {.name = "integrate",
       .terms = (myr_term[]){{s->pos, MYR_TERM_WRITE}, {s->vel, MYR_TERM_READ}},
       .term_count = 2,
       .fn = simd ? integrate_simd : integrate},
      {.name = "bounds",
       .terms = (myr_term[]){{s->pos, MYR_TERM_READ}},
       .term_count = 1,
       .fn = simd ? bounds_simd : bounds},
      {.name = "respawn",
       .fn = respawn,
       .user = s,
       .stage = 1,
       .resources = (myr_resource_term[]){{s->params, MYR_TERM_READ}},
       .resource_count = 1},
  };
  myr_status st = MYR_OK;
  for (size_t i = 0; i < sizeof systems / sizeof *systems && st == MYR_OK; i++)
    st = myr_schedule_add(sch, &systems[i], NULL);
  return st;
}

myr_status scn_particles(scn_scenario *sc, uint32_t n, uint64_t seed) {
  particles *s = calloc(1, sizeof *s);
  if (!s) return MYR_ENOMEM;
  sc->state = s;
  sc->free_state = particles_free;
  s->sc = sc;
  myr_world *w = sc->world;
  static const myr_field v3[] = {MYR_FIELD(vec3, x, MYR_F32), MYR_FIELD(vec3, y, MYR_F32), MYR_FIELD(vec3, z, MYR_F32)};
  myr_status st = myr_component_register(w, &(myr_component_desc){"Position", v3, 3, sizeof(vec3)}, &s->pos);
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){"Velocity", v3, 3, sizeof(vec3)}, &s->vel);
  if (st == MYR_OK)
    st = myr_resource_register(w,
                               &(myr_resource_desc){.name = "ParticleParams",
                                                    .size = sizeof(particle_params),
                                                    .initial = &(particle_params){.wanted = n},
                                                    .flags = MYR_RESOURCE_UNHASHED},
                               &s->params);
  if (st == MYR_OK) st = myr_world_set_seed(w, seed);
  /* over ranks: the unit box, no key (nothing links or orders particles),
   * no ghosts (a particle reads no other) */
  sc->domain = (scn_domain){.position = s->pos, .dims = 3, .axis = {0, 1, 2}, .max = {1, 1, 1}};
  sc->splits = true;
  if (st == MYR_OK) st = sc->populate ? sc->populate(w, sc->populate_ctx) : make_entities(w, s, n, seed);
  /* the respawn's count (it refreshes it when it counts) */
  if (st == MYR_OK) st = myr_query_create(w, &(myr_query_desc){(myr_term[]){{s->pos, MYR_TERM_WITH}}, 1}, &s->alive);
  return st == MYR_OK ? add_systems(sc->schedule, s, sc->kernels == SCN_SIMD) : st;
}
