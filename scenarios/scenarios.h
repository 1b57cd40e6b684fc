/* The built-in simulations, as a small library for the tuner, the tests
 * and the examples. A scenario builds a world of `entities` entities and a
 * schedule of its systems on a given pool; every random state comes from
 * the seed, so two runs of one configuration end in the same world. */
#ifndef MYRIAD_SCENARIOS_H
#define MYRIAD_SCENARIOS_H

#include <stdint.h>

#include "myriad/myriad.h"

typedef struct scn_scenario scn_scenario;

typedef struct scn_info {
  const char *name;
  const char *about; /* one line */
  uint32_t default_entities;
  uint32_t bytes_per_entity; /* about how much memory one entity takes */
} scn_info;

/* The scenarios there are, and how many. */
const scn_info *scn_list(uint32_t *count);

/* Which code the hot systems run: vectors through myriad/simd.h, or plain
 * scalar loops doing the same operations in the same order. Both end in the
 * same world, bit for bit (test_scenarios checks it). */
typedef enum scn_kernels { SCN_SIMD, SCN_SCALAR } scn_kernels;

/* Builds scenario `name` with `entities` entities on `pool` (NULL: one
 * worker), with SIMD kernels. Errors: MYR_ENOTFOUND (no such scenario),
 * MYR_EINVAL (0 entities), those of the world and the schedule. */
myr_status scn_create(const char *name, uint32_t entities, uint64_t seed, myr_jobs *pool, scn_scenario **out);

/* The same, with the kernels asked for. */
myr_status scn_create_kernels(const char *name, uint32_t entities, uint64_t seed, myr_jobs *pool, scn_kernels kernels,
                              scn_scenario **out);

myr_world *scn_world(const scn_scenario *s);
myr_schedule *scn_schedule(const scn_scenario *s);
void scn_destroy(scn_scenario *s);

#endif
