/* The scenario registry: names, and building one on a world and schedule. */
#include <stdlib.h>
#include <string.h>

#include "scenarios_impl.h"

/* bytes_per_entity: boids and ecsbench's as measured (peak resident memory
 * over a few frames, per entity, with room for a table's doubling) */
static const scn_info infos[] = {
    {"particles", "gravity, drag, integrate and bounds; leavers destroyed and respawned through patches", 1000000, 64},
    {"boids",
     "N-64 prey and 64 predators: grid by counting sort, flock, hunt, move; the eaten respawn in the next frame",
     100000, 128},
    {"ecsbench", "abeimler/ecs_benchmark's 7-system update; half are heroes, monsters, NPCs; render into 320x240",
     1000000, 96},
    {"ecsbench2", "abeimler/ecs_benchmark's 2-system update: movement and data over Position, Velocity, Data", 1000000,
     80},
};

static myr_status (*const builders[])(scn_scenario *, uint32_t, uint64_t) = {scn_particles, scn_boids, scn_ecsbench,
                                                                             scn_ecsbench2};

const scn_info *scn_list(uint32_t *count) {
  if (count) *count = sizeof infos / sizeof *infos;
  return infos;
}

myr_status scn_create(const char *name, uint32_t entities, uint64_t seed, myr_jobs *pool, scn_scenario **out) {
  return scn_create_kernels(name, entities, seed, pool, SCN_SIMD, out);
}

myr_status scn_create_kernels(const char *name, uint32_t entities, uint64_t seed, myr_jobs *pool, scn_kernels kernels,
                              scn_scenario **out) {
  return scn_create_desc(
      &(scn_desc){.name = name, .entities = entities, .seed = seed, .pool = pool, .kernels = kernels}, out);
}

myr_status scn_create_desc(const scn_desc *d, scn_scenario **out) {
  if (!d || !d->name || !out) return MYR_EINVAL;
  *out = NULL;
  uint32_t which = UINT32_MAX;
  for (uint32_t i = 0; i < sizeof infos / sizeof *infos; i++)
    if (strcmp(infos[i].name, d->name) == 0) which = i;
  if (which == UINT32_MAX) return MYR_ENOTFOUND;
  if (d->entities == 0) return MYR_EINVAL;
  if (d->kernels != SCN_SIMD && d->kernels != SCN_SCALAR) return MYR_EINVAL;
  scn_scenario *sc = calloc(1, sizeof *sc);
  if (!sc) return MYR_ENOMEM;
  sc->kernels = d->kernels;
  sc->which = which;
  sc->populate = d->populate;
  sc->populate_ctx = d->ctx;
  sc->sum = d->sum;
  sc->owns = d->owns;
  sc->domain_ctx = d->domain_ctx;
  myr_status st = myr_world_create(NULL, &sc->world);
  if (st == MYR_OK) st = myr_schedule_create(sc->world, &(myr_schedule_desc){.jobs = d->pool}, &sc->schedule);
  if (st == MYR_OK) st = builders[which](sc, d->entities, d->seed);
  if (st != MYR_OK) {
    scn_destroy(sc);
    return st;
  }
  *out = sc;
  return MYR_OK;
}

myr_status scn_domain_of(const scn_scenario *s, scn_domain *out) {
  if (!s || !out) return MYR_EINVAL;
  if (!s->splits) return MYR_ENOTFOUND;
  *out = s->domain;
  return MYR_OK;
}

myr_world *scn_world(const scn_scenario *s) { return s ? s->world : NULL; }
myr_schedule *scn_schedule(const scn_scenario *s) { return s ? s->schedule : NULL; }

myr_status scn_direct_create(scn_scenario *s, scn_direct **out) {
  if (!s || !out || !s->direct) return MYR_EINVAL;
  return s->direct(s, out);
}

void scn_destroy(scn_scenario *s) {
  if (!s) return;
  myr_schedule_destroy(s->schedule);
  if (s->free_state) s->free_state(s->state);
  myr_world_destroy(s->world);
  free(s);
}

/* Per scenario: the dimensions, the box and the kinds' component names. */
static const struct {
  uint32_t dims;
  float lo[3], hi[3];
  const char *kinds[4];
} streams[] = {
    {3, {0, 0, 0}, {1, 1, 1}, {NULL}},               /* particles: the unit box */
    {2, {0, 0, 0}, {1, 1, 0}, {"Predator", "Prey"}}, /* boids: the unit torus */
    {2, {-100, -100, 0}, {420, 340, 0}, {"Player"}}, /* ecsbench: the spawn area and a margin */
    {2, {-100, -100, 0}, {420, 340, 0}, {NULL}},     /* ecsbench2 */
};

myr_status scn_stream_desc(scn_scenario *s, myr_stream_desc *desc) {
  if (!s || !desc) return MYR_EINVAL;
  const myr_world *w = s->world;
  myr_stream_desc d = {.dims = streams[s->which].dims, .fields = {0, 1, 2}, .bits = 16, .kinds = s->kinds};
  myr_status st = myr_component_lookup(w, "Position", &d.position);
  for (uint32_t a = 0; a < 3; a++) d.box_min[a] = streams[s->which].lo[a], d.box_max[a] = streams[s->which].hi[a];
  for (uint32_t k = 0; st == MYR_OK && k < 4 && streams[s->which].kinds[k]; k++, d.kind_count++)
    st = myr_component_lookup(w, streams[s->which].kinds[k], &s->kinds[k]);
  if (st == MYR_OK) *desc = d;
  return st;
}
