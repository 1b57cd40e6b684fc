/* myriad — the schedule: systems over column chunks, in parallel, with
 * deterministic structural changes.
 *
 * A system is a query (which says what it reads and writes), a callback
 * run on chunks of the matched rows, a stage, optional ordering edges and a
 * chunk size. Stages run in ascending order. Within a stage the schedule
 * builds a DAG: a system depends on every earlier-registered system of the
 * stage that writes a component it reads or writes, or reads a component it
 * writes, plus the explicit edges (resources count like components: a
 * resource term read or written makes the same edges). Ready systems' chunks run as jobs on the
 * pool; a finished system releases its dependents, and independent systems'
 * chunks interleave on the same workers.
 *
 * A callback reads and writes its own chunk's rows in place, through the
 * chunk's columns. Everything else (changing other entities, adding or
 * removing components, spawning, destroying) goes through the myr_patches
 * handle it receives. At the end of each stage all patches are applied in
 * key order: system order, chunk index, order of the calls. That is the
 * order of a serial run over all rows, so the world after a frame is the
 * same for any thread count and chunk size, provided each callback's
 * patches depend only on the rows it is given (not on where its chunk
 * starts or ends) and it reads other entities only from components no
 * system of the stage writes.
 *
 * A callback must not wait on the pool, and must not change the world
 * directly except through its chunk's columns.
 *
 * Reading the world from a callback. A callback may read, through the world
 * API (myr_component_get, myr_field_get, myr_component_has,
 * myr_entity_alive), any entity's components that no system of its stage
 * writes, and the resources it declares: nothing changes them until the
 * stage's merge, so every thread count and chunk size reads the same
 * values. It must not read a component that another system of the stage
 * writes in place (that system's chunks may run before, during or after,
 * so the value read would depend on the timing), nor its own system's
 * written components of rows outside its chunk; keep last frame's value in
 * a second component (e.g. PositionPrev) and read that instead. Structural
 * state (which entities exist, their tables) only changes at merges, so
 * alive and has are always safe.
 *
 * Access checking. While a schedule checks, the library reports a callback
 * that reads a component through the world API while another system of its
 * stage writes it, a system that changed a resource it declares read-only,
 * chunks that wrote a resource their system declares written by its hooks
 * only, and a provisional id stored in place in a MYR_ENTITY field: the
 * run returns MYR_EACCESS, prints the sentence to stderr and leaves it in
 * myr_schedule_error, naming the systems (or the resource). Checks are off
 * by default, on in a build with the CMake option MYR_ACCESS_CHECK (the
 * debug and asan presets); the environment variable MYRIAD_ACCESS_CHECK
 * (1, on, yes or true; 0, off, no or false), read when a schedule is
 * created, overrides that default, and myr_schedule_set_access_check
 * switches them between frames. Off, they cost a load and a branch per
 * myr_component_get and myr_field_get, and a branch per chunk. On, they
 * cost a hash of the checked resources per system and a scan of written
 * entity columns: for finding bugs, not for production runs. A running
 * schedule that checks takes the world's read reports for its frame.
 *
 * Floating point. The world's result is the same bits for any thread
 * count because every value is computed by the same code in the same order;
 * across builds it is the same only if the compiler computes it the same
 * way: build systems' code with -ffp-contract=off and without -ffast-math
 * (CMake: link myriad::strict_fp), and with -std=c11 rather than gnu11 (gcc
 * contracts a*b+c into an FMA under -march=native otherwise). `dt` is a
 * double: a float simulation should convert it once, float dt = (float)v->dt,
 * rather than mix double dt into float arithmetic, which rounds differently. */
#ifndef MYRIAD_SCHEDULE_H
#define MYRIAD_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "myriad/jobs.h"
#include "myriad/patch.h"
#include "myriad/query.h"
#include "myriad/random.h"
#include "myriad/status.h"
#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct myr_schedule myr_schedule;
typedef uint32_t myr_system;

/* What a system's callback sees: one chunk, with its columns fetched by
 * myr_chunk_column(&view->chunk, term, field), and the system's resources.
 * A run-once system's view, and the begin and end hooks' views, have a
 * chunk of count 0 and no columns. */
typedef struct myr_view {
  myr_chunk chunk; /* rows, ids, table, chunk.index = chunk index in this frame */
  double dt;       /* as passed to myr_schedule_run */
  double time;     /* the world's time: the sum of the dt of the frames before this one */
  void *user;      /* the system's user pointer */
  myr_system system;
  uint32_t worker; /* the pool worker running the chunk */
  /* The data of the system's resource terms, in term order: readable for a
   * read term, writable for a write term (the schedule orders systems so
   * that no other system of the stage writes it meanwhile). A system's
   * chunks run at the same time as each other: see myr_resource_term for
   * which of them may write. */
  void *const *resources;
  struct myr_schedule *schedule; /* for myr_system_fail */
  const myr_world *world;        /* the world, to read as the header's top says */
  uint64_t frame;                /* the world's frame number (myr_world_frame before this frame) */
} myr_view;

/* A resource a system reads or writes. The kinds:
 * - MYR_TERM_READ: read by the system's chunks and hooks;
 * - MYR_TERM_WRITE: written, by a system whose chunks never run at the same
 *   time: a run-once system (no component terms), a MYR_SYSTEM_WHOLE or
 *   MYR_SYSTEM_MAIN_THREAD one; or, by a chunked system, the resource that
 *   holds its reduction's result: the library combines it after the chunks,
 *   the hooks may write it, the chunks only read it (checked runs compare
 *   its hash around the chunks);
 * - MYR_TERM_WRITE_HOOKS: written by the system's begin and end hooks, read
 *   by its chunks (e.g. a grid built in the end hook of a counting pass);
 * - MYR_TERM_WRITE_DISJOINT: written by the system's chunks, each only in
 *   bytes no other chunk writes (e.g. each row's own slot of a counting
 *   sort): the system states it, and the result is then the same for any
 *   thread count and chunk size only if that holds.
 * A chunked system's chunks run at the same time as each other, so a plain
 * MYR_TERM_WRITE on one is refused by myr_schedule_add: chunks that share a
 * resource (one random state, one counter) race, and the world would
 * depend on the thread count. Draw random numbers per entity instead
 * (random.h), count with a reduction, and change other entities through
 * patches. For every kind, no other system of the stage runs meanwhile with
 * a write to the resource (the schedule orders them). */
typedef struct myr_resource_term {
  myr_resource resource;
  myr_term_kind kind;
} myr_resource_term;

typedef void (*myr_system_fn)(const myr_view *view, myr_patches *patches);

/* From a callback: the data of resource `resource`, if its system declares
 * it (writable as its term allows); NULL otherwise (NULL view, a resource
 * the system did not declare). Reaching resources by handle rather than by
 * position in view->resources keeps a reordering of the terms harmless. */
MYR_API void *myr_view_resource(const myr_view *view, myr_resource resource);

/* From a chunk callback: a generator (random.h) for row `row` of the
 * view's chunk, keyed by the world's seed, the view's frame, the row's
 * entity id and `stream`, so the row draws the same numbers for any thread
 * count and chunk size. Errors: MYR_EINVAL (NULL, row not a row of the
 * chunk, stream >= MYR_RANDOM_STREAMS). */
MYR_API myr_status myr_view_random(const myr_view *view, uint32_t row, uint32_t stream, myr_random *out);

/* From any callback, a run-once system's or a hook's too: a generator keyed
 * by the world's seed, the view's frame, the view's system and `stream`
 * (for draws that belong to no row, e.g. the values of entities a system
 * spawns). Errors: MYR_EINVAL (NULL, stream >= MYR_RANDOM_STREAMS). */
MYR_API myr_status myr_view_random_once(const myr_view *view, uint32_t stream, myr_random *out);

enum {
  MYR_SYSTEM_WHOLE = 1u << 0,      /* one chunk per table, all run by one job in order */
  MYR_SYSTEM_MAIN_THREAD = 1u << 1 /* every chunk runs on the thread calling run */
};

/* A deterministic reduction of a system's rows: each chunk accumulates
 * into the partial of the block its row is in (blocks of block_rows rows of
 * each table, fixed whatever the chunk size), and after the system's chunks
 * the partials are combined into `result` in row order (tables in the
 * query's order, blocks in row order). So a float sum, a histogram or a
 * count comes out bit-identical for any thread count and chunk size. The
 * system's chunks are rounded up to whole blocks. Its end hook runs after
 * the combination and may read `result`. */
typedef struct myr_reduction_desc {
  size_t partial_size; /* bytes of a partial and of the result; required */
  uint32_t block_rows; /* rows per block, rounded up to 16; 0 = 1024 */
  /* Sets a partial (and the result, before combining) to the identity;
   * NULL = zero bytes. */
  void (*init)(void *partial, void *user);
  /* result = result (+) partial, called for every block in row order;
   * required. It may also rewrite the partial, e.g. into the block's
   * offsets for a second pass (myr_view_partial_of). `user` is the system's. */
  void (*combine)(void *result, void *partial, void *user);
  /* Where the result goes: partial_size bytes at `result`, or, when result
   * is NULL, at the start of resource `result_resource`, which the system
   * must declare with a MYR_TERM_WRITE resource term (so the schedule
   * orders its readers after it), followed when the resource is resized
   * (it must keep partial_size bytes at least). */
  void *result;
  myr_resource result_resource;
} myr_reduction_desc;

/* From a callback of a system with a reduction: the partial that row i of
 * the view's chunk accumulates into (NULL if the system has none, or i is
 * not a row of the chunk). */
MYR_API void *myr_view_partial(const myr_view *view, uint32_t i);

/* The partial of row i of the view's chunk in another system's reduction
 * of this frame: a later system of the stage (ordered after `other`, e.g.
 * by an `after` edge) with the same query reads the partials `other` left,
 * as combine changed them. NULL when other has no reduction, has not run
 * this frame, or does not cover the row's table. This is the second pass of
 * a deterministic counting sort, e.g. a spatial grid:
 *
 *   pass 1, "count": a reduction whose partial is a count per cell; its
 *     combine turns each block's counts into that block's offsets within
 *     each cell (an exclusive scan in row order: offset = total so far,
 *     total += count), and its end hook turns the totals into each cell's
 *     start in the grid (a prefix sum over cells);
 *   pass 2, "place", after "count", same query, chunk_multiple set to the
 *     reduction's block_rows: each row goes to
 *     start[cell] + partial_of(count, i)[cell]++, its block's cursor. Rows
 *     of a block are one chunk's and run in row order, so every row gets
 *     the slot a serial run would give it, for any thread count and chunk
 *     size. */
MYR_API void *myr_view_partial_of(const myr_view *view, myr_system other, uint32_t i);

typedef struct myr_system_desc {
  const char *name;      /* required, unique; copied */
  const myr_term *terms; /* the query; copied. No terms: the system
                                     runs once per frame in its stage, as one
                                     job, on a chunk of count 0 */
  uint32_t term_count;
  myr_system_fn fn; /* required */
  void *user;
  uint32_t stage;           /* stages run in ascending order */
  const char *const *after; /* systems this one runs after (by name) */
  uint32_t after_count;
  const char *const *before; /* systems this one runs before */
  uint32_t before_count;
  uint32_t chunk_rows;                /* rows per chunk (rounded up to 16); 0 = default */
  uint32_t flags;                     /* MYR_SYSTEM_* */
  const myr_resource_term *resources; /* read and written like components; copied */
  uint32_t resource_count;            /* up to MYR_QUERY_MAX_TERMS, each resource once */
  /* Optional hooks, run once per frame on the job of the system, before its
   * first chunk and after its last (a run-once system too); their patches
   * come before the first chunk's and after the last chunk's. */
  myr_system_fn begin, end;
  const myr_reduction_desc *reduction; /* optional; copied */
  /* Chunks are cut on multiples of this many rows of their table (rounded
   * up to 16; 0 = 16, or with partials_of, that reduction's block_rows): a
   * second pass over another system's reduction blocks needs it to be a
   * multiple of their block_rows, so that a block is one chunk's. */
  uint32_t chunk_multiple;
  /* A second pass: the name of the system whose reduction partials this
   * one reads (myr_view_partial_of). The system then runs after it, its
   * chunks line up with that reduction's blocks, and myr_schedule_build
   * refuses, naming both, a chunk_multiple that does not, a system without
   * a reduction, or one of another stage (MYR_EINVAL); an unknown name
   * (MYR_ENOTFOUND) or its own (MYR_ECYCLE). */
  const char *partials_of;
} myr_system_desc;

typedef struct myr_schedule_desc {
  myr_jobs *jobs;      /* the pool; NULL = one worker, the calling thread */
  uint32_t chunk_rows; /* default rows per chunk; 0 = 4096 */
} myr_schedule_desc;

/* Creates an empty schedule over a world. Errors: MYR_EINVAL, MYR_ENOMEM. */
MYR_API myr_status myr_schedule_create(myr_world *world, const myr_schedule_desc *desc, myr_schedule **out);

/* Destroys the schedule (not the world or the pool). NULL is ignored. A
 * schedule must be destroyed before its world and before its pool. */
MYR_API void myr_schedule_destroy(myr_schedule *s);

/* Adds a system. Errors: MYR_EINVAL (no name or fn, bad terms, an unknown
 * resource, a resource term of an unknown kind, a resource named twice, a
 * MYR_TERM_WRITE of a resource by a system whose chunks run at the same time
 * (see myr_resource_term; the message names the system and the resource
 * and says what to use instead), MYR_TERM_WRITE_HOOKS on a system without
 * hooks), MYR_EEXIST (name taken), MYR_ENOCOMP, MYR_EBUSY (while running),
 * MYR_ENOMEM. */
MYR_API myr_status myr_schedule_add(myr_schedule *s, const myr_system_desc *desc, myr_system *out);

/* Builds the per-stage DAGs. Errors: MYR_ENOTFOUND (an edge names an
 * unknown system), MYR_ECYCLE (edges and conflicts form a cycle, or an edge
 * points to a later stage's system from a "before" or to an earlier one from
 * an "after"), MYR_ENOMEM. myr_schedule_run builds when needed. */
MYR_API myr_status myr_schedule_build(myr_schedule *s);

/* Runs one frame: every stage, its systems, then its patches.
 * Errors: those of build; MYR_EBUSY (from a system callback or another
 * thread); and a stage that could not be completed: MYR_ENOMEM (its merge,
 * cutting its rows into chunks, or the recording of one of its patches,
 * even one whose callback ignored the status, ran out of memory),
 * MYR_ELIMIT (a reduction's blocks or the stage's patches exceed what one
 * frame can hold), the status a callback passed to myr_system_fail, or, in
 * access-checking builds, MYR_EACCESS. None of that stage's patches is
 * applied and no later stage runs; the world then holds the earlier
 * stages' applied patches and the in-place writes of the systems that ran.
 * myr_schedule_error says which. */
MYR_API myr_status myr_schedule_run(myr_schedule *s, double dt);

/* What the last call on the schedule that failed (add, build, run) failed
 * on, in a sentence that names the system, edge, component, resource or
 * stage; "" until a call fails. The text stays until the next failure. A
 * call refused with MYR_EBUSY (during a frame, from a callback or another
 * thread) leaves it as it was: such calls may come from several workers at
 * once, and write nothing. */
MYR_API const char *myr_schedule_error(const myr_schedule *s);

/* From a system callback (or hook): reports a failure, e.g. a patch call
 * that returned MYR_ENOMEM. The frame's run then returns `status` (the first
 * reported, if several), runs no more of the frame, applies none of the
 * stage's patches, and myr_schedule_error names the system. Errors:
 * MYR_EINVAL (NULL view, a view not from a schedule, status >= 0). */
MYR_API myr_status myr_system_fail(const myr_view *view, myr_status status);

/* Switches access checks (see the top of this header) on or off for the
 * frames that follow. Errors: MYR_EINVAL (NULL), MYR_EBUSY (while running). */
MYR_API myr_status myr_schedule_set_access_check(myr_schedule *s, bool on);
/* Whether the schedule checks accesses. */
MYR_API bool myr_schedule_access_check(const myr_schedule *s);

/* The merge of a stage's patches shares its steps among the pool's
 * workers when they are large enough: removing at least this many rows
 * from a table, moving as many rows from one table to another, writing as
 * many patches' values, or applying a batch of as many sets; smaller steps
 * run on the thread running the frame alone, as planning always does. The
 * world that results is the same bit for bit either way, for any thread
 * count: every entity id, every table's row order, every value and the
 * patch statistics. 0 restores the default (MYR_MERGE_PARALLEL_MIN); 1
 * shares every step; UINT32_MAX none. While a merge runs, the pool's
 * other workers spin instead of parking (for up to a millisecond from its
 * start), so that they start the next stage at once. For the next frames.
 * Errors: MYR_EINVAL (NULL), MYR_EBUSY (while running). */
#define MYR_MERGE_PARALLEL_MIN 2048u
MYR_API myr_status myr_schedule_set_merge_parallel_min(myr_schedule *s, uint32_t patches);

/* ---- the end of each stage: patches bound for another process ------------
 * For scale-out (mpi.h uses it): a hook run on the frame's thread once at
 * the end of every stage of every frame, before the stage's merge, whether
 * or not the stage recorded patches, so that processes running the same
 * schedule can make one collective call per stage and stay in step.
 * `status` is the stage's so far: MYR_OK, or the failure that stops the
 * frame: a system's, cutting the stage's chunks, a patch a system could
 * not record, running out of memory taking patches out (below), or an
 * earlier stage's failure (then the hook is called for every later stage
 * in turn, with that failure, and nothing of those stages runs). With a
 * failure nothing is diverted and none of the stage's patches is applied,
 * whatever the hook returns. A stage's merge can still fail after its hook
 * returned MYR_OK (out of memory, or too many patches): the later stages'
 * hooks then get that failure.
 *
 * With `divert`, before the hook runs every patch of the stage but a spawn
 * or a destroy whose entity has the component `divert_tag` at that moment
 * is taken out of the batch: it is not applied here
 * (myr_patch_stats.diverted counts it). The destroys of such entities stay
 * in the batch (the entity goes here too) and are reported with the rest.
 * The hook reads them with myr_schedule_diverted, in key order (the order a
 * serial run records them). It may record patches into the stage's batch
 * through the handle myr_schedule_inject gives for a system of the stage:
 * they are applied in the stage's merge after the patches of that system's
 * chunks and hooks and before those of the next system of the stage, in
 * the order they were recorded, as any patch of the batch (their entities
 * are checked then). Such a handle cannot spawn (MYR_ELIMIT) nor take a
 * provisional id (MYR_EINVAL, MYR_ESTALE), and refuses to record
 * (MYR_EINVAL) once the hook has returned. (Handles are kept and reused:
 * one kept past its hook call records again only when a later call asks
 * myr_schedule_inject for the same system, which returns that handle.)
 *
 * A hook that returns other than MYR_OK fails the frame at that stage as a
 * failing system does: none of the stage's patches is applied,
 * myr_schedule_run returns that status and myr_schedule_error says so. */
typedef myr_status (*myr_stage_end_fn)(myr_schedule *s, uint32_t stage, myr_status status, void *ctx);
typedef struct myr_stage_end_desc {
  myr_stage_end_fn fn; /* NULL: no hook (the rest is ignored) */
  void *ctx;
  bool divert; /* take out the patches whose entity has divert_tag */
  myr_component divert_tag;
} myr_stage_end_desc;

/* Sets the hook for the next frames, or removes it (desc or desc->fn
 * NULL). Errors: MYR_EINVAL (NULL schedule), MYR_ENOCOMP (divert with an
 * unknown component), MYR_EBUSY (while a frame runs). */
MYR_API myr_status myr_schedule_set_stage_end(myr_schedule *s, const myr_stage_end_desc *desc);

/* From the hook: how many patches were diverted at this stage's end (0
 * anywhere else). */
MYR_API uint32_t myr_schedule_diverted_count(const myr_schedule *s);

/* From the hook: diverted patch i (below myr_schedule_diverted_count);
 * out->values stays valid until the hook returns. Errors: MYR_EINVAL (NULL,
 * i out of range, outside the hook). */
MYR_API myr_status myr_schedule_diverted(const myr_schedule *s, uint32_t i, myr_patch_info *out);

/* From the hook: a handle that records patches as system `system` (its
 * position among the stage's systems, myr_patch_info.system) after its
 * chunks and hooks. Errors: MYR_EINVAL (NULL, outside the hook, no such
 * system in the stage). */
MYR_API myr_status myr_schedule_inject(myr_schedule *s, uint32_t system, myr_patches **out);

/* Finds a system by name. Errors: MYR_ENOTFOUND, MYR_EINVAL. */
MYR_API myr_status myr_schedule_find(const myr_schedule *s, const char *name, myr_system *out);

/* Changes a system's chunk size (0 = the default) for the next frames, and
 * stops its autotuning. Errors: MYR_EINVAL (NULL, unknown system), MYR_EBUSY
 * (while running). */
MYR_API myr_status myr_schedule_set_chunk_rows(myr_schedule *s, myr_system sys, uint32_t rows);

/* The number of systems added (ids run from 0); 0 for NULL. */
MYR_API uint32_t myr_schedule_system_count(const myr_schedule *s);

/* The world the schedule runs on (NULL for NULL). May be called from a
 * system callback. */
MYR_API myr_world *myr_schedule_world(const myr_schedule *s);

/* Prints the plan: stages, systems, edges and why each edge exists
 * (building the schedule first). Errors: MYR_EINVAL (NULL), those of
 * myr_schedule_build. */
MYR_API myr_status myr_schedule_print_plan(myr_schedule *s, FILE *out);

/* ---- statistics ---------------------------------------------------------- */

/* Deprecated names still compile, with a warning where the compiler
 * supports one, for one minor release after the one that deprecates them. */
#if defined(__GNUC__) || defined(__clang__)
#define MYR_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define MYR_DEPRECATED(msg)
#endif

typedef struct myr_system_stats {
  const char *name;
  uint32_t stage;
  uint32_t chunk_rows; /* in effect */
  /* last frame */
  uint64_t entities, chunks, ns; /* ns: wall time from the system's start to its last chunk's end */
  /* chunk_ns: the wall time of its chunk jobs and hooks, each from its start
   * to its end, summed over workers: not CPU time (a job that waits or is
   * preempted counts its waiting). cpu_ns is its old name. */
  union {
    uint64_t chunk_ns;
    uint64_t cpu_ns MYR_DEPRECATED("cpu_ns is wall time summed over chunk jobs: use chunk_ns");
  };
  double ns_per_entity, entities_per_s; /* from ns; 0 for a run-once system (no entities) */
  /* all frames */
  uint64_t frames, total_entities, total_chunks, total_ns;
  union {
    uint64_t total_chunk_ns; /* chunk_ns summed over frames */
    uint64_t total_cpu_ns MYR_DEPRECATED("use total_chunk_ns");
  };
  /* CPU time of its chunk jobs and hooks, summed over workers: the last
   * frame's and all frames' since myr_schedule_set_cpu_time turned it on
   * (0 while off) */
  uint64_t cpu_time_ns, total_cpu_time_ns;
} myr_system_stats;

typedef struct myr_stage_stats {
  uint32_t stage;
  uint64_t merge_ns;       /* last frame: sorting and applying the patches */
  myr_patch_stats patches; /* last frame */
  uint64_t total_merge_ns;
  myr_patch_stats total_patches;
} myr_stage_stats;

/* Turns on or off the measuring of each system's CPU time (cpu_time_ns):
 * two reads of the running thread's CPU clock around each chunk job and
 * hook, each a system call (CLOCK_THREAD_CPUTIME_ID is not in the vDSO;
 * docs/performance.md has the cost measured). Off (the default) it costs a
 * load and a branch per job. Errors: MYR_EINVAL (NULL), MYR_EBUSY (while
 * running). */
MYR_API myr_status myr_schedule_set_cpu_time(myr_schedule *s, bool on);

/* Turns per-system and per-stage statistics on or off for the frames that
 * follow. On (the default), a system reads the monotonic clock where it
 * starts and after each of its hooks and each run of its chunks on its own
 * thread (twice a frame for a system without hooks; on a pool of one
 * worker, where a system starts as the one before it ends, once), each job
 * of its chunks on another worker reads it twice, and a stage's merge
 * twice; off, nothing reads it. Off, the statistics (myr_schedule_system_stats,
 * myr_schedule_stage_stats, myr_schedule_write_stats) stay as the last
 * frame recorded with them on left them (zeros if none did; a system's
 * frames counts the frames recorded), but for chunk_rows, which always says
 * the size in effect, and the workers' counts, which are the pool's. CPU time
 * (myr_schedule_set_cpu_time) is a statistic: off, it is not measured
 * either. While autotuning (tuning.h) statistics are recorded whatever
 * the switch says, because the tuner scores sizes by them; the switch
 * takes effect again once tuning is done. Errors: MYR_EINVAL (NULL),
 * MYR_EBUSY (while running). */
MYR_API myr_status myr_schedule_set_stats(myr_schedule *s, bool on);
/* Whether the switch is on (autotuning may record statistics while it is
 * off); false for NULL. */
MYR_API bool myr_schedule_stats_enabled(const myr_schedule *s);

/* Copies a system's statistics. Errors: MYR_EINVAL (NULL, unknown system). */
MYR_API myr_status myr_schedule_system_stats(const myr_schedule *s, myr_system sys, myr_system_stats *out);
/* The number of stages; 0 before the schedule is built. */
MYR_API uint32_t myr_schedule_stage_count(const myr_schedule *s);
/* Copies a stage's statistics (stage_index counts the stages in order, from
 * 0). Errors: MYR_EINVAL (NULL, not built, index out of range). */
MYR_API myr_status myr_schedule_stage_stats(const myr_schedule *s, uint32_t stage_index, myr_stage_stats *out);

typedef enum myr_stats_format { MYR_STATS_TABLE, MYR_STATS_JSON } myr_stats_format;

typedef struct myr_stats_desc {
  myr_stats_format format; /* default: a table */
  /* false: the last frame (and every total_* besides, in JSON); true: the
   * sums over all frames run, the same columns and keys, with each system's
   * frame count, ns per entity and entities/s from the totals. */
  bool totals;
} myr_stats_desc;

/* Writes the statistics of systems, stages and workers (the pool's counts
 * since it started, whatever `totals` says). desc may be NULL: a table of
 * the last frame. JSON: {"systems": [...], "stages": [...], "workers":
 * [...]}, and with totals {"totals": true, "frames": the schedule's frames
 * run, ...} with each system's "frames"; names are escaped, so any name
 * gives valid JSON. Errors: MYR_EINVAL (NULL s or out, unknown format),
 * MYR_EIO (write error). */
MYR_API myr_status myr_schedule_write_stats(const myr_schedule *s, FILE *out, const myr_stats_desc *desc);

/* The last frame's statistics as a table, or as JSON: myr_schedule_write_stats
 * without totals. Errors: MYR_EINVAL (NULL s or out), MYR_EIO. */
MYR_API myr_status myr_schedule_print_stats(const myr_schedule *s, FILE *out, bool json);

#ifdef __cplusplus
}
#endif

/* Tracing and tuning have headers of their own; a program that includes
 * schedule.h gets them too. */
#include "myriad/trace.h"
#include "myriad/tuning.h"

#endif /* MYRIAD_SCHEDULE_H */
