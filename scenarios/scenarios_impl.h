/* Private to the scenarios library: what every scenario fills in. */
#ifndef MYRIAD_SCENARIOS_IMPL_H
#define MYRIAD_SCENARIOS_IMPL_H

#include "scenarios.h"

struct scn_scenario {
  myr_world *world;
  myr_schedule *schedule;
  void *state;
  void (*free_state)(void *state);
};

/* splitmix64 in [0, 1) with 24 bits: the same numbers everywhere */
static inline float scn_unit(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return (float)((z ^ (z >> 31)) >> 40) / 16777216.0f;
}

/* Each scenario: registers its components and systems on sc's world and
 * schedule, and its entities. */
myr_status scn_particles(scn_scenario *sc, uint32_t n, uint64_t seed);

#endif
