/* Private: the schedule's data, shared by schedule_build.c (systems and the
 * per-stage DAGs), schedule_run.c (frames, chunk jobs, merges) and
 * schedule_stats.c (the plan and the statistics). */
#ifndef MYRIAD_SCHEDULE_IMPL_H
#define MYRIAD_SCHEDULE_IMPL_H

#include <stdalign.h>

#include "myriad/schedule.h"
#include "patch_impl.h"

#define DEFAULT_CHUNK_ROWS 4096u
#define NONE UINT32_MAX

typedef enum edge_why {
  WHY_WRITE_READ, WHY_READ_WRITE, WHY_WRITE_WRITE, WHY_AFTER, WHY_BEFORE,
  WHY_RES_WRITE_READ, WHY_RES_READ_WRITE, WHY_RES_WRITE_WRITE,
  WHY_DISJOINT /* not an edge: a conflict that cannot happen, kept for the plan */
} edge_why;

typedef struct edge {
  uint32_t from, to;    /* system ids */
  edge_why why;
  uint32_t what;        /* the component, or for WHY_RES_* the resource */
} edge;

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
  myr_reduction_desc red;  /* red.combine == NULL: no reduction */
  uint32_t chunk_multiple; /* chunks on multiples of this many rows (16, or a block) */
  unsigned char *partials; /* per block of this frame, red.partial_size bytes each */
  size_t partials_bytes;   /* as allocated */
  uint32_t *first_block;   /* per chunk: the index of its first block */
  uint32_t first_block_cap, blocks;
  uint32_t *match_block;   /* per matched table: the index of its first block */
  uint32_t match_block_cap;
  uint64_t red_frame;      /* the schedule's frame whose partials these are */
  /* built */
  uint32_t order;       /* position among the systems of its stage */
  uint32_t indegree;
  uint32_t *dependents;
  uint32_t dependent_count, dependent_cap; /* cap: as allocated, for the free */
  /* per frame */
  uint32_t pending;     /* unfinished dependencies (atomic) */
  myr_chunk *chunks;
  uint32_t chunk_count, chunk_cap;
  uint64_t chunk_ordinal; /* the stage-wide ordinal of its begin hook; chunk i
                             is one more than i past it, the end hook last */
  uint64_t t_start;
  uint64_t cpu_ns;      /* this frame, summed by its jobs (atomic) */
  myr_system_stats stats;
  struct myr_schedule *owner;
} sys;

typedef struct stage {
  uint32_t stage;
  uint32_t first, count; /* a run of schedule.by_stage */
  myr_stage_stats stats;
} stage;

/* A worker's patch buffer, alone on its cache lines. */
typedef struct worker_buffer {
  alignas(64) patch_buffer buf;
} worker_buffer;

/* One recorded chunk job, hook or merge (system NONE: a merge). */
typedef struct trace_event {
  uint64_t start_ns, end_ns;
  uint32_t system, rows, chunk, table, stage;
} trace_event;

typedef struct trace_lane { /* one worker's, on its own lines */
  alignas(64) trace_event *events;
  uint32_t count, dropped;
} trace_lane;

struct myr_schedule {
  trace_lane *trace;    /* per worker while tracing, NULL otherwise */
  uint32_t trace_cap;   /* events per lane */
  myr_world *world;
  myr_jobs *jobs;
  bool own_jobs;
  uint32_t default_rows;
  sys *systems;
  uint32_t count, cap;
  bool built;
  uint32_t *by_stage;   /* system ids by stage, then registration */
  stage *stages;
  uint32_t stage_count;
  edge *edges;
  uint32_t edge_count, edge_cap;
  edge *disjoint;       /* pairs that would conflict but never share a table */
  uint32_t disjoint_count, disjoint_cap;
  worker_buffer *bufs;
  uint32_t buf_count;
  patch_ref *refs;
  uint32_t ref_cap;
  double time, dt;
  uint64_t frame;       /* frames run, this one included while it runs */
  bool running;
  /* per stage, while it runs */
  const stage *cur;
  myr_counter jobs_counter;
  uint32_t remaining;   /* systems of the stage not finished (atomic) */
  uint32_t *mainq;      /* main-thread systems ready to run */
  uint32_t mainq_head, mainq_tail;
  uint32_t error;       /* a myr_status, negated (atomic) */
  uint32_t failed_system; /* the system that reported it, NONE if none (atomic) */
  char message[256];    /* myr_schedule_error's text */
  uint64_t batch_bits;  /* the stage's patch batch (patch_impl.h) */
  uint32_t seq_bits;    /* token bits for spawns within one chunk */
};

/* Access-checking builds: makes the world report component reads to this
 * schedule (on), or stop if it reports to it (off). Does nothing otherwise. */
void schedule_access_watch(myr_schedule *s, bool on);

/* A JSON string with quotes, backslashes and control characters escaped. */
void schedule_json_string(FILE *out, const char *str);

/* Records a traced event on lane `worker` (drops it when the lane is full). */
void schedule_trace(myr_schedule *s, int worker, trace_event ev);

/* Writes myr_schedule_error's text and returns st. */
myr_status schedule_say(myr_schedule *s, myr_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
