/* myriad — scale-out over MPI: one simulation across ranks, with the same
 * result for any number of them.
 *
 * A library of its own, libmyriad_mpi (built when CMake finds MPI); the
 * core library does not depend on MPI. Every rank holds a world and a
 * schedule set up the same way (the same components, resources and
 * systems, registered in the same order); a myr_mpi joins them into one
 * simulation.
 *
 * Domains. The box named in the description is cut into cells (a grid);
 * cells are numbered along a Z-order (Morton) curve and each rank owns one
 * run of consecutive cells, chosen so that the runs hold about as many
 * entities each (a deterministic split of the global per-cell counts).
 * Every `rebalance_every` frames the runs are chosen again from the counts
 * then. An entity lives on the rank that owns the cell of its position
 * (positions outside the box count in the nearest cell); entities without
 * the position component are not distributed (each rank keeps its own).
 *
 * A frame (myr_mpi_frame) runs the schedule on every rank; at the end of
 * each stage the patches that name ghosts go to their owners (below).
 * Then it
 * 1. migrates the entities that left their rank's region, with all their
 *    components (MYR_ENTITY links go as the linked entity's key and are
 *    resolved again on arrival, so they survive migration),
 * 2. and refreshes the ghosts: every entity within `ghost_width` of another
 *    rank's region is copied there, read only.
 *
 * Ghosts carry the component "myr.Ghost", which is hidden (world.h): the
 * systems' queries do not see them unless a term names it (a neighbour
 * grid includes them with a MYR_TERM_OPTIONAL filter term, grid.h). A ghost
 * keeps its id while it stays a ghost (its components are changed in place
 * when its owner's change), so links to it stay valid.
 *
 * Patches on ghosts. While myr_mpi_frame runs the schedule, the MPI part
 * is its stage-end hook (myr_schedule_set_stage_end: do not set another
 * on that schedule meanwhile). At the end of every stage each patch but a
 * spawn that names a ghost is sent to the ghost's owner, its entity and
 * the MYR_ENTITY values it carries named by key, and taken out of the
 * stage's batch here (a destroy stays: the copy goes at once too; other
 * patches leave the copy as it is until the next refresh). The owner
 * merges it in the same stage, at its system's place: after that system's
 * own patches there and before the next system's. So a patch on a ghost
 * does what it would do in one process as long as, within one system, the
 * patches that several entities make of one entity commute (commutative
 * updates of integers, min, max, destroy, remove, an add of a tag, one
 * writer), which is also what makes a one-process result independent of
 * rows. A MYR_ENTITY value that is a provisional id (an entity spawned in
 * the same stage), or names an entity the owner does not hold, arrives as
 * MYR_ENTITY_NULL. Patches of the ghost tag itself are dropped. A ghost
 * destroyed between frames (by the program) is destroyed at its owner in
 * the next frame's first stage. Each stage costs an exchange and an
 * agreement among the ranks, also when no patch names a ghost; a stage
 * that fails on one rank (a system, memory, a lost patch) fails on all,
 * and no later stage runs (myr_mpi_error says why). A ghost shows its
 * owner's entity as the last refresh saw it, with this rank's destroys.

 * The same result for any number of ranks. The content hash (world.h) of
 * the whole simulation, combined over the ranks by myr_mpi_content, is the
 * same for any rank and thread count when the systems' results do not
 * depend on rows or ids: what an entity reads of others it reads in an
 * order of keys (e.g. a grid ordered by the key, grid.h), new entities get
 * keys from their spawn lineage, and run-once systems that spawn do so on
 * every rank from global counts (myr_mpi_sum) and keep only what falls in
 * the rank's region (myr_mpi_owns). docs/design.md says why it holds.
 *
 * Collective calls (every rank must make them, in the same order):
 * myr_mpi_create, myr_mpi_frame, myr_mpi_sum, myr_mpi_content,
 * myr_mpi_checkpoint, myr_mpi_restore, myr_mpi_destroy. myr_mpi_sum may be
 * called from a system callback (a run-once system's): MPI must then be
 * initialised with at least MPI_THREAD_SERIALIZED.
 *
 * Failure. A local error (bad description, out of memory, an unknown
 * component in a message) is agreed on by all ranks: every rank returns a
 * status other than MYR_OK from the same call, and myr_mpi_error gives the
 * reason (the first failing rank's). Two cases cannot be agreed on and
 * abort the job: a rank that cannot take what the others send it (out of
 * memory, or 2^31 bytes or more in one exchange), and a frame that fails
 * on one rank before a system that calls myr_mpi_sum (the others wait in
 * that sum: MPI reports mismatched collectives; without ghosts the ranks
 * do not meet at the stages' ends). MPI errors abort the job
 * (Open MPI's default handler): a rank that dies takes the others down
 * within seconds, and the last checkpoint restarts the run.
 *
 * Ghosts are sent per component set through queries, so an entity with
 * a position may have at most MYR_QUERY_MAX_TERMS - 1 components with
 * fields (tags aside) while ghosts are on (MYR_ELIMIT otherwise), and
 * needs the key, not 0 (MYR_EINVAL).
 *
 * Links. A MYR_ENTITY field resolves on a rank only where its target is
 * held, owned or as a ghost: a link that migrates (or is restored) farther
 * from its target than ghost_width becomes MYR_ENTITY_NULL. */
#ifndef MYRIAD_MPI_H
#define MYRIAD_MPI_H

#include <mpi.h>
#include <stdbool.h>
#include <stdint.h>

#include "myriad/schedule.h"
#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct myr_mpi myr_mpi;

/* What each rank's world holds when the myr_mpi is made. */
typedef enum myr_mpi_start {
  /* Every rank holds the same whole world (set up by the same code from the
   * same seed): each keeps the entities in its region and drops the rest. */
  MYR_MPI_REPLICATED = 0,
  /* Each rank holds a part (e.g. files restored): the entities migrate to
   * their owners. */
  MYR_MPI_SCATTERED
} myr_mpi_start;

/* The most cells the box is cut into. */
#define MYR_MPI_MAX_CELLS (1u << 20)

typedef struct myr_mpi_desc {
  MPI_Comm comm;            /* the ranks (duplicated); zero (the default) or MPI_COMM_NULL: MPI_COMM_WORLD */
  myr_component position;   /* required: the f32 fields axis[] are the coordinates */
  uint32_t dims;            /* 2 or 3 */
  uint32_t axis[3];         /* fields of position: x, y[, z] */
  float min[3], max[3];     /* the box, min < max on each axis */
  uint32_t cells[3];        /* cells per axis, each a power of two up to 1024; 0 = 16.
                             Product at most MYR_MPI_MAX_CELLS. */
  bool wrap;                /* the box is a torus: ghosts reach across its edges */
  uint32_t rebalance_every; /* frames between rebalances; 0 = never */
  float ghost_width;        /* 0 = no ghosts; else needs a key */
  /* The entities' keys: a component whose first field is MYR_U64, unique
   * per entity, the same on every rank. Needed for ghosts and to carry
   * links; optional otherwise (then links migrate as MYR_ENTITY_NULL). */
  bool has_key;
  myr_component key;
  myr_mpi_start start;
} myr_mpi_desc;

/* Joins the ranks' worlds (collective). Registers and hides the ghost
 * component "myr.Ghost" in the world, computes the first split and
 * distributes the entities as desc->start says, then makes the ghosts.
 * The world and schedule must outlive it. Errors (the world unchanged on
 * a bad description): MYR_EINVAL (NULL, dims, box, cells, a ghost width
 * without a key), MYR_ENOCOMP, MYR_EFIELD, MYR_ETYPE (a position field not
 * f32, a key not u64), MYR_ENOMEM. */
MYR_API myr_status myr_mpi_create(myr_world *world, const myr_mpi_desc *desc, myr_mpi **out);
/* Frees it and its communicator (collective); NULL is ignored. Ghosts stay
 * in the world. */
MYR_API void myr_mpi_destroy(myr_mpi *mpi);

/* One frame (collective): myr_schedule_run(schedule, dt) on every rank,
 * with the patches naming ghosts sent to their owners at each stage's end
 * (with ghosts on, the schedule's stage-end hook is set for the run and
 * removed after it), then the migration and the ghosts' refresh; every
 * rebalance_every frames (of the world's clock) a rebalance first. Errors:
 * the schedule's (on any rank: then every rank returns it or MYR_EINVAL,
 * and the world holds what the run left), MYR_ENOMEM, MYR_ECORRUPT (a
 * message that does not decode). */
MYR_API myr_status myr_mpi_frame(myr_mpi *mpi, myr_schedule *schedule, double dt);

/* The sum of `local` over the ranks (collective; from a run-once system
 * too). Wraps modulo 2^64. */
MYR_API uint64_t myr_mpi_sum(myr_mpi *mpi, uint64_t local);
/* True when the rank owns the cell of the position (dims floats, by axis):
 * for a run-once system that spawns on every rank to keep its share. */
MYR_API bool myr_mpi_owns(const myr_mpi *mpi, const float *position);

/* The content hash of the whole simulation (collective): myr_world_content
 * with the key and the ghosts skipped, summed over the ranks, as
 * myr_content_hash. Entities without the position component are each
 * rank's own: rank 0's are counted. Every rank gets it. */
MYR_API myr_status myr_mpi_content(myr_mpi *mpi, uint64_t *hash);

/* What this rank did, from creation (counters) or in the last frame. */
typedef struct myr_mpi_stats {
  int rank, ranks;
  uint64_t owned, ghosts;             /* entities now */
  uint64_t migrated_out, migrated_in; /* last frame */
  uint64_t ghosts_sent, patches_sent; /* last frame; patches: those naming ghosts, sent to their owners */
  uint64_t bytes_sent;                /* last frame: migration, ghosts, forwarded patches */
  uint64_t bytes_migration, bytes_ghosts, bytes_patches;
  double frame_ms;     /* last frame, on this rank */
  double run_ms;       /* of which the schedule's run */
  double comm_ms;      /* of which exchanges (including waits for other ranks) */
  double migrate_ms;   /* of which the migration: the scan, packing, exchange, arrivals */
  double ghosts_ms;    /* of which the ghosts' refresh and the links' resolution */
  uint64_t rebalances; /* since creation */
  uint32_t cells_owned;
} myr_mpi_stats;
MYR_API myr_status myr_mpi_get_stats(const myr_mpi *mpi, myr_mpi_stats *out);

/* The reason of the last failure on any rank, "" when none; with NULL, the
 * reason the last myr_mpi_create failed. */
MYR_API const char *myr_mpi_error(const myr_mpi *mpi);

/* ---- checkpoints ---------------------------------------------------------
 * A coordinated checkpoint (collective): every rank saves its world (ghosts
 * included) to "<manifest>.r<rank>of<ranks>.f<frame>.snap" with
 * myr_snapshot_save_file (crash safe: a new file renamed over), then rank 0
 * writes the manifest the same way, naming the ranks, the frame, `meta` and
 * each file with its entity count, and each rank deletes the files of the
 * checkpoint the manifest named before. A crash at any moment leaves a
 * manifest and the files it names. Errors: MYR_EIO (a file could not be
 * written: on every rank; the old manifest stays), MYR_EINVAL. */
MYR_API myr_status myr_mpi_checkpoint(myr_mpi *mpi, const char *manifest, const char *meta);

/* A checkpoint's manifest, read and checked (not collective): ranks, frame,
 * meta. Errors: MYR_EIO (cannot read), MYR_ECORRUPT (not a manifest, or a
 * rank file missing or not of this checkpoint), with a one-line reason in
 * `why` (when not NULL). */
typedef struct myr_mpi_manifest {
  uint32_t ranks;
  uint64_t frame;
  char meta[4096];
} myr_mpi_manifest;
MYR_API myr_status myr_mpi_manifest_read(const char *manifest, myr_mpi_manifest *out, char *why, size_t why_size);

/* Loads a checkpoint written by any number of ranks (collective): the
 * world must hold no entities but the ones of its setup (none: a scenario
 * set up without its initial entities) and be set up as the saved one was.
 * Rank r reads the files r, r + R, r + 2R, ... of the checkpoint (R ranks
 * now), leaves their ghosts out, and the entities go to their owners under
 * a split made from their counts, then the ghosts are made. The world's
 * clock, seed and resources (matched by name and size) become the files'.
 * Links are carried by key. Errors, agreed on by every rank, with the reason
 * in myr_mpi_error (one line naming the file): those of
 * myr_mpi_manifest_read, MYR_EBUSY (the world has entities), and a
 * snapshot's load errors (MYR_ECORRUPT, MYR_EIO, MYR_ETYPE, ...). */
MYR_API myr_status myr_mpi_restore(myr_mpi *mpi, const char *manifest);

#ifdef __cplusplus
}
#endif

#endif /* MYRIAD_MPI_H */
