/* Private to the scenarios library: what every scenario fills in. */
#ifndef MYRIAD_SCENARIOS_IMPL_H
#define MYRIAD_SCENARIOS_IMPL_H

#include "scenarios.h"

struct scn_scenario {
  myr_world *world;
  myr_schedule *schedule;
  void *state;
  void (*free_state)(void *state);
  scn_kernels kernels; /* which code the hot systems run */
  /* scn_desc's: when set, called instead of making the initial entities */
  myr_status (*populate)(myr_world *world, void *ctx);
  void *populate_ctx;
  /* scn_direct_create's, for a scenario that offers it (NULL: none) */
  myr_status (*direct)(scn_scenario *sc, scn_direct **out);
  uint32_t which;         /* its index in scn_list */
  myr_component kinds[4]; /* scn_stream_desc's kinds */
  /* scn_desc's domain hooks (NULL: one process) and scn_domain_of's answer */
  uint64_t (*sum)(void *ctx, uint64_t local);
  bool (*owns)(void *ctx, const float *position);
  void *domain_ctx;
  scn_domain domain;
  bool splits; /* the scenario filled `domain` */
};

/* The scenario's count over every rank (one process: local). */
static inline uint64_t scn_sum(const scn_scenario *sc, uint64_t local) {
  return sc->sum ? sc->sum(sc->domain_ctx, local) : local;
}
/* Whether a spawn at p is this rank's to keep (one process: always). */
static inline bool scn_owns(const scn_scenario *sc, const float *p) {
  return sc->owns ? sc->owns(sc->domain_ctx, p) : true;
}

/* The tag of ghosts (mpi.h's "myr.Ghost"), registered by scenarios whose
 * grids must see ghosts: the MPI part takes it and hides it. */
#define SCN_GHOST "myr.Ghost"

/* splitmix64: the next 64 bits of the stream at *s, the same everywhere */
static inline uint64_t scn_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* splitmix64 in [0, 1) with 24 bits */
static inline float scn_unit(uint64_t *s) { return (float)(scn_next(s) >> 40) / 16777216.0f; }

/* Each scenario: registers its components and resources on sc's world,
 * sets the seed, makes its entities (or calls sc->populate instead), then
 * makes its queries and adds its systems to sc's schedule. Everything a
 * frame reads or writes lives in the world; sc->state holds only handles,
 * queries and the like, made again at every setup. */
myr_status scn_particles(scn_scenario *sc, uint32_t n, uint64_t seed);
myr_status scn_boids(scn_scenario *sc, uint32_t n, uint64_t seed);
myr_status scn_ecsbench(scn_scenario *sc, uint32_t n, uint64_t seed);  /* the 7-system update */
myr_status scn_ecsbench2(scn_scenario *sc, uint32_t n, uint64_t seed); /* the 2-system update */

#endif
