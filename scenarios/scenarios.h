/* The built-in simulations, as a small library for the tuner, the tests
 * and the examples. A scenario builds a world of `entities` entities and a
 * schedule of its systems on a given pool; every random state comes from
 * the seed, so two runs of one configuration end in the same world. */
#ifndef MYRIAD_SCENARIOS_H
#define MYRIAD_SCENARIOS_H

#include <stdbool.h>
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

/* What scn_create_desc builds; zero is the default where one is named. */
typedef struct scn_desc {
  const char *name;    /* required: a scenario of scn_list's */
  uint32_t entities;   /* the scenario's size, the count its systems keep (>= 1) */
  uint64_t seed;       /* the world's seed and the initial entities' */
  myr_jobs *pool;      /* NULL: one worker */
  scn_kernels kernels; /* SCN_SIMD (0) or SCN_SCALAR */
  /* Optional: fills the world instead of the scenario's initial entities,
   * e.g. with myr_snapshot_load_file (snapshot.h) to continue a saved run.
   * Called once, after the scenario has registered its components and
   * resources and set the seed, before it makes the queries and systems
   * that read the entities (boids' neighbour grid is added before: its
   * resources are part of the world). A status other than MYR_OK is
   * scn_create_desc's. */
  myr_status (*populate)(myr_world *world, void *ctx);
  void *ctx;
  /* Optional, for one simulation split over MPI ranks (myriad-tune-mpi):
   * the run-once systems that spawn (the respawns) run on every rank, count
   * what is alive over all ranks with `sum` (collective: the same call on
   * every rank, from a system callback) and keep the spawns whose position
   * `owns` says are this rank's. NULL: one process. */
  uint64_t (*sum)(void *ctx, uint64_t local);
  bool (*owns)(void *ctx, const float *position);
  void *domain_ctx;
} scn_desc;

/* Builds the scenario d describes. A scenario keeps all of its state in the
 * world (components and resources), so a world saved after any frame and
 * loaded through populate continues as the uninterrupted run would, bit for
 * bit. Errors: those of scn_create_kernels, and populate's. */
myr_status scn_create_desc(const scn_desc *d, scn_scenario **out);

/* How the live view streams the scenario (stream.h): its Position
 * component and fields, the box its entities live in and the kinds
 * (boids: Predator, Prey; ecsbench: Player). desc->kinds points into the
 * scenario, valid while it lives. Errors: MYR_EINVAL (NULL). */
myr_status scn_stream_desc(scn_scenario *s, myr_stream_desc *desc);

/* How the scenario splits over ranks (mpi.h's description, without MPI):
 * its Position component and fields, its box, whether the box wraps, the
 * entities' key component (none for particles, whose entities need no
 * identity: nothing links or orders them) and how far an entity's systems
 * read others (the ghost width; 0 for none). */
typedef struct scn_domain {
  myr_component position;
  uint32_t dims, axis[3];
  float min[3], max[3];
  bool wrap;
  bool has_key;
  myr_component key;
  float ghost_width;
} scn_domain;
/* Errors: MYR_EINVAL (NULL), MYR_ENOTFOUND (a scenario not made to be
 * split: ecsbench and ecsbench2). */
myr_status scn_domain_of(const scn_scenario *s, scn_domain *out);
myr_world *scn_world(const scn_scenario *s);
myr_schedule *scn_schedule(const scn_scenario *s);
void scn_destroy(scn_scenario *s);

/* The scenario's system functions called directly, in a loop, with no
 * schedule: the baseline a schedule's frame is measured against
 * (bench_small). Each system's chunks are its query's whole tables as they
 * are at creation, its begin hook runs before them, and its callbacks get no
 * patches handle (NULL) and a view with dt, the user pointer, the
 * resources and the world (time, frame and schedule 0), so only scenarios
 * whose systems make no patches, no structural change and no random draws
 * from the view offer it: ecsbench and ecsbench2. Errors:
 * MYR_EINVAL (another scenario), MYR_ENOMEM. */
typedef struct scn_direct scn_direct;
myr_status scn_direct_create(scn_scenario *s, scn_direct **out);
/* One frame of direct calls, with `dt`. */
void scn_direct_run(scn_direct *d, double dt);
/* Frees it (before its scenario); NULL is ignored. */
void scn_direct_destroy(scn_direct *d);

#endif
