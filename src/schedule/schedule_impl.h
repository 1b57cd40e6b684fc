/* Private to the schedule part: its data, shared by build.c (systems and
 * the per-stage DAGs), run.c (frames, chunk jobs, the merge's call),
 * access.c, reduce.c, stats.c (the plan and the statistics), trace.c,
 * gantt.c (the Gantt chart), signature.c, tuning_file.c and autotune.c. */
#ifndef MYRIAD_SCHEDULE_IMPL_H
#define MYRIAD_SCHEDULE_IMPL_H

#include <stdalign.h>

#include "atomics.h"
#include "myriad/schedule.h"
#include "jobs_iface.h"
#include "patch_iface.h"
#include "query_iface.h"

#define DEFAULT_CHUNK_ROWS 4096u
#define NONE UINT32_MAX

typedef enum edge_why {
  WHY_WRITE_READ,
  WHY_READ_WRITE,
  WHY_WRITE_WRITE,
  WHY_AFTER,
  WHY_BEFORE,
  WHY_RES_WRITE_READ,
  WHY_RES_READ_WRITE,
  WHY_RES_WRITE_WRITE,
  WHY_DISJOINT /* not an edge: a conflict that cannot happen, kept for the plan */
} edge_why;

typedef struct edge {
  uint32_t from, to; /* system ids */
  edge_why why;
  uint32_t what; /* the component, or for WHY_RES_* the resource */
} edge;

/* A system's autotuning (autotune.c). */
enum { TUNE_NONE, TUNE_RUNNING, TUNE_DONE };
#define TUNE_CANDIDATES 16
#define TUNE_FRAMES 64

typedef struct tune_state {
  uint8_t state;         /* TUNE_* */
  uint8_t count, coarse; /* candidates in all, and in the coarse pass */
  uint8_t at;            /* the candidate running */
  uint8_t seen, samples; /* frames of it so far, and scored ones */
  uint32_t frames;       /* frames tuned for */
  uint32_t before;       /* chunk_rows before tuning */
  uint32_t rows[TUNE_CANDIDATES];
  double score[TUNE_CANDIDATES]; /* median ns per entity; INFINITY: none */
  double sample[TUNE_FRAMES];
} tune_state;

/* A tuning file's entry (tuning_file.c). */
typedef struct tune_entry {
  const char *name; /* into the file's text */
  uint32_t rows, line;
} tune_entry;

typedef struct tuning_file {
  char *text; /* the file, lines cut into strings */
  size_t text_size;
  tune_entry *entries;
  uint32_t count;
  size_t entries_size;
} tuning_file;

typedef struct sys {
  char *name;
  size_t name_size;
  myr_term terms[MYR_QUERY_MAX_TERMS];
  uint32_t term_count;
  myr_query *query;
  myr_system_fn fn;
  void *user;
  uint32_t stage, chunk_rows, flags;
  char **after, **before;
  uint32_t after_count, before_count;
  compset reads, writes;
  compset required, excluded; /* tables it can match have all of required, none of excluded */
  myr_resource_term res[MYR_QUERY_MAX_TERMS];
  void *res_data[MYR_QUERY_MAX_TERMS]; /* the view's resources (they never move) */
  uint32_t res_count;
  uint64_t res_reads, res_writes; /* bit r: resource r */
  myr_system_fn begin, end;
  myr_reduction_desc red;        /* red.combine == NULL: no reduction */
  uint32_t chunk_multiple;       /* chunks on multiples of this many rows (16, or a block) */
  uint32_t chunk_multiple_asked; /* the desc's, rounded up to 16 (0: none asked) */
  bool partials_of;              /* reads the partials of the last of its `after` systems */
  bool red_in_resource;          /* red.result is resource red.result_resource's data */
  unsigned char *partials;       /* per block of this frame, red.partial_size bytes each */
  size_t partials_bytes;         /* as allocated */
  uint32_t *first_block;         /* per chunk: the index of its first block */
  uint32_t first_block_cap, blocks;
  uint32_t *match_block; /* per matched table: the index of its first block */
  uint32_t match_block_cap;
  uint64_t red_frame; /* the schedule's frame whose partials these are */
  /* built */
  uint32_t order; /* position among the systems of its stage */
  uint32_t indegree;
  uint32_t *dependents;
  uint32_t dependent_count, dependent_cap; /* cap: as allocated, for the free */
  /* per frame */
  uint32_t pending; /* unfinished dependencies (atomic) */
  bool here;        /* run by the frame's thread, its chunks in order (run_system_here) */
  myr_chunk *chunks;
  uint32_t chunk_count, chunk_cap;
  uint64_t chunk_ordinal; /* the stage-wide ordinal of its begin hook; chunk i
                             is one more than i past it, the end hook last */
  uint64_t t_start;
  uint64_t chunk_ns;    /* this frame, summed by its jobs (atomic) */
  uint64_t cpu_time_ns; /* the same in CPU time, when measured (atomic) */
  myr_system_stats stats;
  tune_state tune;
  struct myr_schedule *owner;
} sys;

typedef struct stage {
  uint32_t stage;
  uint32_t first, count; /* a run of schedule.by_stage */
  myr_stage_stats stats;
} stage;

/* One recorded chunk job, hook, merge (system NONE) or frame (system and
 * stage NONE); frame counts from the trace's begin (trace_frame0). */
typedef struct trace_event {
  uint64_t start_ns, end_ns;
  uint32_t system, rows, chunk, table, stage, frame;
} trace_event;

typedef struct trace_lane { /* one worker's, on its own lines */
  alignas(64) trace_event *events;
  uint32_t count, dropped;
} trace_lane;

struct myr_schedule {
  trace_lane *trace;  /* per worker while tracing, NULL otherwise */
  uint32_t trace_cap; /* events per lane */
  bool cpu_time;      /* measure systems' CPU time (myr_schedule_set_cpu_time) */
  bool stats;         /* per-system statistics (myr_schedule_set_stats) */
  /* the running frame's: statistics recorded (stats, or forced by
   * autotuning), and CPU time measured (cpu_time, when recorded) */
  bool timed, cpu_timed;
  /* one worker, while timed: the stage's last reading of the monotonic
   * clock, where the next system starts (0: none yet) */
  uint64_t serial_clock;
  uint64_t trace_frame0; /* the frames run before tracing began */
  myr_world *world;
  myr_jobs *jobs;
  bool own_jobs;
  uint32_t default_rows;
  sys *systems;
  uint32_t count, cap;
  bool built;
  uint32_t *by_stage; /* system ids by stage, then registration */
  stage *stages;
  uint32_t stage_count;
  edge *edges;
  uint32_t edge_count, edge_cap;
  edge *disjoint; /* pairs that would conflict but never share a table */
  uint32_t disjoint_count, disjoint_cap;
  uint32_t workers;   /* the pool's */
  uint32_t merge_min; /* myr_schedule_set_merge_parallel_min, 0: the default */
  bool held_awake;    /* a merge of the running frame holds the workers awake */
  patch_lanes lanes;  /* a patch buffer per worker, then one for injected patches */
  /* myr_schedule_set_stage_end's hook; while it runs (in_stage_end), the
   * stage's diverted patches and a handle per system of the stage */
  myr_stage_end_desc stage_end;
  bool in_stage_end;
  bool stage_ended; /* the running stage's hook was called */
  patch_diverted *diverted;
  uint32_t diverted_count, diverted_cap;
  /* inject handles: each allocated once and kept, so a handle kept past
   * its hook stays memory that refuses to record; filled when asked for
   * (inject_gen: the hook call that filled each) */
  myr_patches **inject;
  uint64_t *inject_filled;
  uint64_t inject_gen;
  uint32_t inject_count, inject_cap;
  double time, dt;      /* the running frame's: the world's time before it, and its dt */
  uint64_t world_frame; /* the running frame's: the world's frame number before it */
  uint64_t frame;       /* frames run, this one included while it runs */
  /* 1 while a frame runs (atomic: calls from other threads and callbacks
   * read it to refuse themselves) */
  uint32_t running;
  bool checking; /* access checks (access.c), on or off between frames */
  /* per stage, while it runs */
  const stage *cur;
  myr_counter jobs_counter;
  uint32_t remaining; /* systems of the stage not finished (atomic) */
  uint32_t *mainq;    /* main-thread systems ready to run */
  uint32_t mainq_head, mainq_tail;
  uint32_t error;         /* a myr_status, negated (atomic) */
  uint32_t failed_system; /* the system that reported it, NONE if none (atomic) */
  char message[1024];     /* myr_schedule_error's text */
  patch_batch batch;      /* the stage's patch batch */
  /* tuning */
  tuning_file env_tuning;    /* MYRIAD_TUNING's, for systems added later */
  bool tuning;               /* some system is autotuning */
  uint32_t tune_frames;      /* frames per candidate */
  uint32_t tune_lo, tune_hi; /* the sizes tried, at least and at most */
  /* Whole frames: while every tuning system runs the same coarse candidate
   * (frame tune_run / tune_frames is its index), and then with each system
   * on its own best (the check), scored like a system's candidates. */
  uint32_t tune_run;    /* frames since autotuning started */
  uint32_t tune_coarse; /* coarse candidates, the same for every system */
  bool tune_checking;   /* every system has scored its candidates */
  uint8_t tune_samples;
  double tune_sample[TUNE_FRAMES];
  double tune_uniform[TUNE_CANDIDATES]; /* frame ns with coarse candidate k on all */
  /* the check: frames in turn with each system's own best and with the
   * fastest coarse size on all (check_rows) */
  uint32_t check_rows, check_turn;
  uint8_t check_samples[2];
  double check_sample[2][TUNE_FRAMES];
};

/* Whether a system is cut into chunks (so has a chunk size to tune). */
static inline bool schedule_chunked(const sys *y) { return y->term_count > 0 && !(y->flags & MYR_SYSTEM_WHOLE); }

/* Rows per chunk a system runs with for `rows` asked (0: the default): whole
 * blocks for a system cutting on multiples of more than 16 rows. */
static inline uint32_t schedule_rows(const struct myr_schedule *s, const sys *y, uint32_t rows) {
  if (y->flags & MYR_SYSTEM_WHOLE) return 0;
  if (!rows) rows = s->default_rows;
  if (y->chunk_multiple > 16) {
    uint64_t b = y->chunk_multiple, up = ((uint64_t)rows + b - 1) / b * b;
    rows = up > UINT32_MAX - 15 ? (uint32_t)(UINT32_MAX / b * b) : (uint32_t)up;
  }
  return rows;
}

/* tuning_file.c: reads MYRIAD_TUNING at creation; gives an added system its
 * entry; frees the file. autotune.c: scores and moves the tuning systems
 * after a frame. */
void schedule_tuning_from_env(myr_schedule *s);
void schedule_tuning_take(const myr_schedule *s, sys *y);
void schedule_tuning_free(myr_schedule *s);
void schedule_autotune_step(myr_schedule *s, uint64_t frame_ns);

/* view.c: fetches the data pointers of y's resources and of its
 * reduction's result resource, anew every stage (a resize moves them).
 * Errors: MYR_EINVAL (the result resource shrank below the partial size;
 * the message says so). */
myr_status schedule_fetch_resources(myr_schedule *s, sys *y);

/* Records the frame's first failure; later ones leave it. True for the
 * call that recorded it. May be called from any worker (run.c). */
bool schedule_fail(myr_schedule *s, myr_status st);

/* access.c, used only while the schedule checks: makes the world report
 * component reads to this schedule (on, if it checks), or stop if it
 * reports to it (off). */
void schedule_access_watch(myr_schedule *s, bool on);
/* Marks y as the system whose callback runs on this thread; returns the
 * one it replaces, for access_leave. */
const sys *access_enter(const sys *y);
void access_leave(const sys *was);
/* A hash of each resource of y whose term is of `kind` (read-only: before
 * the system runs; hooks-only: before its chunks), and the check after
 * (it ran; its chunks ran) that none changed. */
void access_resources_before(const sys *y, uint64_t *hashes, myr_term_kind kind);
void access_resources_after(myr_schedule *s, const sys *y, const uint64_t *hashes, myr_term_kind kind);
/* After y's chunks: reports a provisional id that a chunk stored in place
 * in a MYR_ENTITY field it writes. */
void access_entity_columns_after(myr_schedule *s, const sys *y);

/* reduce.c: the blocks of a system's reduction this frame, and after its
 * chunks, the partials combined into its result in row order. */
myr_status reduction_blocks(sys *y);
void reduction_combine(sys *y);

/* Records a traced event on lane `worker` (drops it when the lane is full). */
void schedule_trace(myr_schedule *s, int worker, trace_event ev);
/* What a recorded event is (trace.c). */
/* A merge part's event: system NONE, rows MERGE_PART_ROWS, chunk = part. */
#define MERGE_PART_ROWS UINT32_MAX
myr_trace_kind trace_kind(const trace_event *e);

/* Writes myr_schedule_error's text and returns st. */
myr_status schedule_say(myr_schedule *s, myr_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Whether a frame runs: calls refused during one read it from any thread. */
static inline bool schedule_running(const myr_schedule *s) { return at_load32_acq(&s->running) != 0; }

#endif
