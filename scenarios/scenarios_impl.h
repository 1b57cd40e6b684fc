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
};

/* splitmix64: the next 64 bits of the stream at *s, the same everywhere */
static inline uint64_t scn_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* splitmix64 in [0, 1) with 24 bits */
static inline float scn_unit(uint64_t *s) { return (float)(scn_next(s) >> 40) / 16777216.0f; }

/* Each scenario: registers its components and systems on sc's world and
 * schedule, and its entities. */
myr_status scn_particles(scn_scenario *sc, uint32_t n, uint64_t seed);
myr_status scn_boids(scn_scenario *sc, uint32_t n, uint64_t seed);
myr_status scn_ecsbench(scn_scenario *sc, uint32_t n, uint64_t seed);  /* the 7-system update */
myr_status scn_ecsbench2(scn_scenario *sc, uint32_t n, uint64_t seed); /* the 2-system update */

#endif
