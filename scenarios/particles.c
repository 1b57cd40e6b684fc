/* particles: gravity, drag, integrate and bounds over particles in a unit
 * box. Particles that leave the box are destroyed through patches, and a
 * run-once system spawns as many new ones from the world's RNG resource, so
 * the count stays at N. */
#include <stdlib.h>

#include "scenarios_impl.h"

typedef struct { float x, y, z; } vec3;

typedef struct particles {
  myr_component pos, vel;
  myr_resource rng;
  myr_query *alive;
  uint32_t wanted;
} particles;

static void gravity(const myr_view *v, myr_patches *p) {
  (void)p;
  float *vy = myr_chunk_f32(&v->chunk, 0, 1);
  const float g = 0.5f * (float)v->dt;
  MYR_FOR_ROWS(i, &v->chunk) vy[i] -= g;
}

static void drag(const myr_view *v, myr_patches *p) {
  (void)p;
  float *vx = myr_chunk_f32(&v->chunk, 0, 0), *vy = myr_chunk_f32(&v->chunk, 0, 1), *vz = myr_chunk_f32(&v->chunk, 0, 2);
  const float keep = 1.0f - 0.1f * (float)v->dt;
  MYR_FOR_ROWS(i, &v->chunk) {
    vx[i] *= keep;
    vy[i] *= keep;
    vz[i] *= keep;
  }
}

static void integrate(const myr_view *v, myr_patches *p) {
  (void)p;
  float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1), *pz = myr_chunk_f32(&v->chunk, 0, 2);
  const float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1), *vz = myr_chunk_f32(&v->chunk, 1, 2);
  const float dt = (float)v->dt;
  MYR_FOR_ROWS(i, &v->chunk) {
    px[i] += vx[i] * dt;
    py[i] += vy[i] * dt;
    pz[i] += vz[i] * dt;
  }
}

static void bounds(const myr_view *v, myr_patches *p) {
  const float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1), *pz = myr_chunk_f32(&v->chunk, 0, 2);
  for (uint32_t i = 0; i < v->chunk.count; i++)
    if (px[i] < 0 || px[i] > 1 || py[i] < 0 || py[i] > 1 || pz[i] < 0 || pz[i] > 1)
      if (myr_patch_destroy(p, v->chunk.ids[i]) != MYR_OK) myr_system_fail(v, MYR_ENOMEM);
}

static vec3 random_in(uint64_t *rng, float lo, float hi) {
  return (vec3){lo + (hi - lo) * scn_unit(rng), lo + (hi - lo) * scn_unit(rng), lo + (hi - lo) * scn_unit(rng)};
}

static void respawn(const myr_view *v, myr_patches *p) {
  const particles *s = v->user;
  uint64_t *rng = v->resources[0];
  const myr_component set[] = {s->pos, s->vel};
  for (uint64_t n = myr_query_entity_count(s->alive); n < s->wanted; n++) {
    vec3 pos = random_in(rng, 0.0f, 1.0f), vel = random_in(rng, -0.1f, 0.1f);
    vel.y += 0.2f; /* up at first, then down through the floor */
    if (myr_patch_spawn(p, set, 2, (const void *const[]){&pos, &vel}, NULL) != MYR_OK) myr_system_fail(v, MYR_ENOMEM);
  }
}

static void particles_free(void *state) {
  particles *s = state;
  myr_query_destroy(s->alive);
  free(s);
}

myr_status scn_particles(scn_scenario *sc, uint32_t n, uint64_t seed) {
  particles *s = calloc(1, sizeof *s);
  if (!s) return MYR_ENOMEM;
  sc->state = s;
  sc->free_state = particles_free;
  myr_world *w = sc->world;
  static const myr_field v3[] = {MYR_FIELD(vec3, x, MYR_F32), MYR_FIELD(vec3, y, MYR_F32), MYR_FIELD(vec3, z, MYR_F32)};
  myr_status st = myr_component_register(w, &(myr_component_desc){"Position", v3, 3, sizeof(vec3)}, &s->pos);
  if (st == MYR_OK) st = myr_component_register(w, &(myr_component_desc){"Velocity", v3, 3, sizeof(vec3)}, &s->vel);
  if (st == MYR_OK) st = myr_resource_register(w, &(myr_resource_desc){"Rng", sizeof seed, 0, &seed}, &s->rng);
  if (st != MYR_OK) return st;
  s->wanted = n;
  float *cols = malloc(sizeof(float) * 6 * (size_t)n);
  if (!cols) return MYR_ENOMEM;
  uint64_t *rng = myr_resource_data(w, s->rng);
  for (uint32_t i = 0; i < n; i++)
    for (int k = 0; k < 6; k++) cols[(size_t)k * n + i] = k < 3 ? scn_unit(rng) : 0.2f * (scn_unit(rng) - 0.5f) + 0.2f * (k == 4);
  myr_bulk_column columns[6];
  for (int k = 0; k < 6; k++) columns[k] = (myr_bulk_column){k < 3 ? s->pos : s->vel, (uint32_t)(k % 3), cols + (size_t)k * n};
  st = myr_entity_create_bulk(w, &(myr_bulk_desc){.components = (myr_component[]){s->pos, s->vel}, .component_count = 2,
                                                   .count = n, .columns = columns, .column_count = 6});
  free(cols);
  /* after the entities: the query matches their table from the start (a
   * callback counts through it, and must not refresh it) */
  if (st == MYR_OK) st = myr_query_create(w, &(myr_query_desc){(myr_term[]){{s->pos, MYR_TERM_WITH}}, 1}, &s->alive);
  if (st != MYR_OK) return st;
  myr_schedule *sch = sc->schedule;
  const myr_system_desc systems[] = {
      {.name = "gravity", .terms = (myr_term[]){{s->vel, MYR_TERM_WRITE}}, .term_count = 1, .fn = gravity},
      {.name = "drag", .terms = (myr_term[]){{s->vel, MYR_TERM_WRITE}}, .term_count = 1, .fn = drag},
      {.name = "integrate", .terms = (myr_term[]){{s->pos, MYR_TERM_WRITE}, {s->vel, MYR_TERM_READ}}, .term_count = 2,
       .fn = integrate},
      {.name = "bounds", .terms = (myr_term[]){{s->pos, MYR_TERM_READ}}, .term_count = 1, .fn = bounds},
      {.name = "respawn", .fn = respawn, .user = s, .stage = 1,
       .resources = (myr_resource_term[]){{s->rng, MYR_TERM_WRITE}}, .resource_count = 1},
  };
  for (size_t i = 0; i < sizeof systems / sizeof *systems && st == MYR_OK; i++)
    st = myr_schedule_add(sch, &systems[i], NULL);
  return st;
}
