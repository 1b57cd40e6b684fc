/* The schedule: systems, per-stage DAGs from access conflicts, chunk jobs,
 * per-worker patch buffers merged in key order. */
#define _DEFAULT_SOURCE /* clock_gettime under strict C11 */
#include <stdlib.h>
#include <time.h>

#include <ck_pr.h>

#include "atomics.h"
#include "jobs_impl.h"
#include "myriad/schedule.h"
#include "patch_impl.h"

#define DEFAULT_CHUNK_ROWS 4096u
#define NONE UINT32_MAX

typedef enum edge_why { WHY_WRITE_READ, WHY_READ_WRITE, WHY_WRITE_WRITE, WHY_AFTER, WHY_BEFORE } edge_why;

typedef struct edge {
  uint32_t from, to;    /* system ids */
  edge_why why;
  myr_component component;
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
  /* built */
  uint32_t order;       /* position among the systems of its stage */
  uint32_t indegree;
  uint32_t *dependents;
  uint32_t dependent_count, dependent_cap; /* cap: as allocated, for the free */
  /* per frame */
  uint32_t pending;     /* unfinished dependencies (atomic) */
  myr_chunk *chunks;
  uint32_t chunk_count, chunk_cap;
  uint64_t chunk_ordinal; /* the stage-wide ordinal of its chunk 0 */
  uint64_t t_start;
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

struct myr_schedule {
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
  worker_buffer *bufs;
  uint32_t buf_count;
  patch_ref *refs;
  uint32_t ref_cap;
  double time, dt;
  bool running;
  /* per stage, while it runs */
  const stage *cur;
  myr_counter jobs_counter;
  uint32_t remaining;   /* systems of the stage not finished (atomic) */
  uint32_t *mainq;      /* main-thread systems ready to run */
  uint32_t mainq_head, mainq_tail;
  uint32_t error;       /* a myr_status, negated (atomic) */
  uint64_t batch_bits;  /* the stage's patch batch (patch_impl.h) */
  uint32_t seq_bits;    /* token bits for spawns within one chunk */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- creation ------------------------------------------------------------ */

myr_status myr_schedule_create(myr_world *w, const myr_schedule_desc *d, myr_schedule **out) {
  if (!w || !out) return MYR_EINVAL;
  *out = NULL;
  myr_schedule *s = world_alloc(w, sizeof *s, alignof(myr_schedule));
  if (!s) return MYR_ENOMEM;
  memset(s, 0, sizeof *s);
  s->world = w;
  s->default_rows = d && d->chunk_rows ? d->chunk_rows : DEFAULT_CHUNK_ROWS;
  s->jobs = d ? d->jobs : NULL;
  if (!s->jobs) {
    myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = 1}, &s->jobs);
    if (st != MYR_OK) {
      world_free(w, s, sizeof *s);
      return st;
    }
    s->own_jobs = true;
  }
  s->buf_count = myr_jobs_worker_count(s->jobs);
  s->bufs = world_alloc(w, sizeof(worker_buffer) * s->buf_count, alignof(worker_buffer));
  if (!s->bufs) {
    if (s->own_jobs) myr_jobs_destroy(s->jobs);
    world_free(w, s, sizeof *s);
    return MYR_ENOMEM;
  }
  for (uint32_t i = 0; i < s->buf_count; i++) patch_buffer_init(&s->bufs[i].buf, w);
  *out = s;
  return MYR_OK;
}

/* Frees the first `filled` strings of a list made for n. */
static void strings_free_part(myr_world *w, char **list, uint32_t filled, uint32_t n) {
  for (uint32_t i = 0; i < filled; i++) world_free(w, list[i], strlen(list[i]) + 1);
  world_free(w, list, sizeof(char *) * n + 1);
}

static void strings_free(myr_world *w, char **list, uint32_t n) { strings_free_part(w, list, n, n); }

static void unbuild(myr_schedule *s) {
  myr_world *w = s->world;
  for (uint32_t i = 0; i < s->count; i++) {
    if (s->systems[i].dependents) world_free(w, s->systems[i].dependents, sizeof(uint32_t) * s->systems[i].dependent_cap + 1);
    s->systems[i].dependents = NULL;
    s->systems[i].dependent_count = s->systems[i].dependent_cap = 0;
  }
  world_free(w, s->by_stage, sizeof(uint32_t) * s->count + 1);
  world_free(w, s->stages, sizeof(stage) * s->count + 1); /* allocated for one stage per system */
  world_free(w, s->mainq, sizeof(uint32_t) * s->count + 1);
  world_free(w, s->edges, sizeof(edge) * s->edge_cap);
  s->by_stage = NULL;
  s->stages = NULL;
  s->mainq = NULL;
  s->edges = NULL;
  s->stage_count = s->edge_count = s->edge_cap = 0;
  s->built = false;
}

void myr_schedule_destroy(myr_schedule *s) {
  if (!s) return;
  myr_world *w = s->world;
  unbuild(s);
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    world_free(w, y->name, y->name_size);
    myr_query_destroy(y->query);
    strings_free(w, y->after, y->after_count);
    strings_free(w, y->before, y->before_count);
    world_free(w, y->chunks, sizeof(myr_chunk) * y->chunk_cap);
  }
  world_free(w, s->systems, sizeof(sys) * s->cap);
  for (uint32_t i = 0; i < s->buf_count; i++) patch_buffer_free(&s->bufs[i].buf);
  world_free(w, s->bufs, sizeof(worker_buffer) * s->buf_count);
  world_free(w, s->refs, sizeof(patch_ref) * s->ref_cap);
  if (s->own_jobs) myr_jobs_destroy(s->jobs);
  world_free(w, s, sizeof *s);
}

static char *string_copy(myr_world *w, const char *str) {
  size_t n = strlen(str) + 1;
  char *c = world_alloc(w, n, 1);
  if (c) memcpy(c, str, n);
  return c;
}

static myr_status strings_copy(myr_world *w, const char *const *src, uint32_t n, char ***out) {
  if (n && !src) return MYR_EINVAL;
  for (uint32_t i = 0; i < n; i++)
    if (!src[i]) return MYR_EINVAL;
  char **list = world_alloc(w, sizeof(char *) * n + 1, alignof(char *));
  if (!list) return MYR_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    if (!(list[i] = string_copy(w, src[i]))) {
      strings_free_part(w, list, i, n);
      return MYR_ENOMEM;
    }
  }
  *out = list;
  return MYR_OK;
}

myr_status myr_schedule_find(const myr_schedule *s, const char *name, myr_system *out) {
  if (!s || !name || !out) return MYR_EINVAL;
  for (uint32_t i = 0; i < s->count; i++) {
    if (strcmp(s->systems[i].name, name) == 0) {
      *out = i;
      return MYR_OK;
    }
  }
  return MYR_ENOTFOUND;
}

myr_status myr_schedule_add(myr_schedule *s, const myr_system_desc *d, myr_system *out) {
  if (!s || !d || !d->name || !d->name[0] || !d->fn) return MYR_EINVAL;
  if (s->running) return MYR_EBUSY;
  myr_system existing;
  if (myr_schedule_find(s, d->name, &existing) == MYR_OK) return MYR_EEXIST;
  if (d->flags & ~(uint32_t)(MYR_SYSTEM_WHOLE | MYR_SYSTEM_MAIN_THREAD)) return MYR_EINVAL;
  myr_world *w = s->world;
  sys y;
  memset(&y, 0, sizeof y);
  myr_status st = myr_query_create(w, &(myr_query_desc){d->terms, d->term_count}, &y.query);
  if (st != MYR_OK) return st;
  y.name_size = strlen(d->name) + 1;
  if (!(y.name = string_copy(w, d->name))) st = MYR_ENOMEM;
  if (st == MYR_OK) st = strings_copy(w, d->after, d->after_count, &y.after);
  if (st == MYR_OK) y.after_count = d->after_count;
  if (st == MYR_OK) st = strings_copy(w, d->before, d->before_count, &y.before);
  if (st == MYR_OK) y.before_count = d->before_count;
  if (st == MYR_OK && s->count == s->cap)
    st = world_grow_array(w, (void **)&s->systems, &s->cap, sizeof(sys), s->count + 1);
  if (st != MYR_OK) {
    world_free(w, y.name, y.name_size);
    if (y.after) strings_free(w, y.after, y.after_count);
    if (y.before) strings_free(w, y.before, y.before_count);
    myr_query_destroy(y.query);
    return st;
  }
  y.term_count = d->term_count;
  memcpy(y.terms, d->terms, sizeof(myr_term) * d->term_count);
  for (uint32_t i = 0; i < d->term_count; i++) {
    myr_term_kind k = d->terms[i].kind;
    if (k == MYR_TERM_READ || k == MYR_TERM_OPTIONAL) compset_put(&y.reads, d->terms[i].component);
    if (k == MYR_TERM_WRITE || k == MYR_TERM_OPTIONAL_WRITE) compset_put(&y.writes, d->terms[i].component);
  }
  y.fn = d->fn;
  y.user = d->user;
  y.stage = d->stage;
  y.chunk_rows = d->chunk_rows;
  y.flags = d->flags;
  y.stats.name = y.name;
  y.stats.stage = y.stage;
  unbuild(s);
  s->systems[s->count] = y;
  if (out) *out = s->count;
  s->count++;
  return MYR_OK;
}

myr_status myr_schedule_set_chunk_rows(myr_schedule *s, myr_system id, uint32_t rows) {
  if (!s || id >= s->count) return MYR_EINVAL;
  s->systems[id].chunk_rows = rows;
  return MYR_OK;
}

uint32_t myr_schedule_system_count(const myr_schedule *s) { return s ? s->count : 0; }

/* ---- building ------------------------------------------------------------ */

static int by_stage_cmp(const void *a, const void *b, const myr_schedule *s) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  if (s->systems[x].stage != s->systems[y].stage) return s->systems[x].stage < s->systems[y].stage ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* insertion sort: stable, and system counts are small */
static void sort_by_stage(myr_schedule *s) {
  for (uint32_t i = 1; i < s->count; i++) {
    uint32_t v = s->by_stage[i], j = i;
    while (j > 0 && by_stage_cmp(&s->by_stage[j - 1], &v, s) > 0) {
      s->by_stage[j] = s->by_stage[j - 1];
      j--;
    }
    s->by_stage[j] = v;
  }
}

static myr_status add_edge(myr_schedule *s, uint32_t from, uint32_t to, edge_why why, myr_component c) {
  for (uint32_t i = 0; i < s->edge_count; i++)
    if (s->edges[i].from == from && s->edges[i].to == to) return MYR_OK; /* the first reason stays */
  if (s->edge_count == s->edge_cap) {
    myr_status st = world_grow_array(s->world, (void **)&s->edges, &s->edge_cap, sizeof(edge), s->edge_count + 1);
    if (st != MYR_OK) return st;
  }
  s->edges[s->edge_count++] = (edge){from, to, why, c};
  return MYR_OK;
}

static uint32_t first_common(const compset *a, const compset *b) {
  for (uint32_t i = 0; i < MYR_MAX_COMPONENTS / 64; i++) {
    uint64_t x = a->bits[i] & b->bits[i];
    if (x) return i * 64 + (uint32_t)__builtin_ctzll(x);
  }
  return NONE;
}

/* Conflict edges within a stage, in registration order. */
static myr_status conflict_edges(myr_schedule *s, const stage *g) {
  for (uint32_t a = 0; a < g->count; a++) {
    const sys *x = &s->systems[s->by_stage[g->first + a]];
    for (uint32_t b = a + 1; b < g->count; b++) {
      const sys *y = &s->systems[s->by_stage[g->first + b]];
      uint32_t c;
      edge_why why;
      if ((c = first_common(&x->writes, &y->writes)) != NONE) why = WHY_WRITE_WRITE;
      else if ((c = first_common(&x->writes, &y->reads)) != NONE) why = WHY_WRITE_READ;
      else if ((c = first_common(&x->reads, &y->writes)) != NONE) why = WHY_READ_WRITE;
      else continue;
      myr_status st = add_edge(s, s->by_stage[g->first + a], s->by_stage[g->first + b], why, c);
      if (st != MYR_OK) return st;
    }
  }
  return MYR_OK;
}

/* Explicit edges: within a stage they are edges; across stages they must
 * agree with the stage order. */
static myr_status explicit_edges(myr_schedule *s) {
  for (uint32_t i = 0; i < s->count; i++) {
    const sys *y = &s->systems[i];
    for (uint32_t k = 0; k < y->after_count + y->before_count; k++) {
      bool after = k < y->after_count;
      const char *name = after ? y->after[k] : y->before[k - y->after_count];
      myr_system other;
      if (myr_schedule_find(s, name, &other) != MYR_OK) return MYR_ENOTFOUND;
      uint32_t from = after ? other : i, to = after ? i : other;
      if (from == to) return MYR_ECYCLE;
      if (s->systems[from].stage > s->systems[to].stage) return MYR_ECYCLE;
      if (s->systems[from].stage < s->systems[to].stage) continue; /* the stage order does it */
      myr_status st = add_edge(s, from, to, after ? WHY_AFTER : WHY_BEFORE, 0);
      if (st != MYR_OK) return st;
    }
  }
  return MYR_OK;
}

/* Fills dependents and indegrees from the edges, and checks for cycles. */
static myr_status link_edges(myr_schedule *s) {
  for (uint32_t e = 0; e < s->edge_count; e++) {
    s->systems[s->edges[e].to].indegree++;
    s->systems[s->edges[e].from].dependent_count++;
  }
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    y->dependents = world_alloc(s->world, sizeof(uint32_t) * y->dependent_count + 1, alignof(uint32_t));
    if (!y->dependents) return MYR_ENOMEM;
    y->dependent_cap = y->dependent_count;
    y->dependent_count = 0;
  }
  for (uint32_t e = 0; e < s->edge_count; e++) {
    sys *from = &s->systems[s->edges[e].from];
    from->dependents[from->dependent_count++] = s->edges[e].to;
  }
  /* Kahn's algorithm per stage: everything must come out */
  uint32_t *left = s->mainq; /* scratch of the right size */
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const stage *st = &s->stages[g];
    uint32_t done = 0, n = 0;
    for (uint32_t k = 0; k < st->count; k++) s->systems[s->by_stage[st->first + k]].pending = s->systems[s->by_stage[st->first + k]].indegree;
    for (uint32_t k = 0; k < st->count; k++)
      if (s->systems[s->by_stage[st->first + k]].pending == 0) left[n++] = s->by_stage[st->first + k];
    while (n) {
      const sys *y = &s->systems[left[--n]];
      done++;
      for (uint32_t d = 0; d < y->dependent_count; d++)
        if (--s->systems[y->dependents[d]].pending == 0) left[n++] = y->dependents[d];
    }
    if (done != st->count) return MYR_ECYCLE;
  }
  return MYR_OK;
}

myr_status myr_schedule_build(myr_schedule *s) {
  if (!s) return MYR_EINVAL;
  if (s->running) return MYR_EBUSY;
  if (s->built) return MYR_OK;
  unbuild(s);
  myr_world *w = s->world;
  for (uint32_t i = 0; i < s->count; i++) s->systems[i].indegree = 0;
  s->by_stage = world_alloc(w, sizeof(uint32_t) * s->count + 1, alignof(uint32_t));
  s->mainq = world_alloc(w, sizeof(uint32_t) * s->count + 1, alignof(uint32_t));
  s->stages = world_alloc(w, sizeof(stage) * s->count + 1, alignof(stage));
  if (!s->by_stage || !s->mainq || !s->stages) {
    unbuild(s);
    return MYR_ENOMEM;
  }
  for (uint32_t i = 0; i < s->count; i++) s->by_stage[i] = i;
  sort_by_stage(s);
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[s->by_stage[i]];
    if (s->stage_count == 0 || s->stages[s->stage_count - 1].stage != y->stage) {
      stage *g = &s->stages[s->stage_count++];
      memset(g, 0, sizeof *g);
      g->stage = y->stage;
      g->stats.stage = y->stage;
      g->first = i;
    }
    y->order = s->stages[s->stage_count - 1].count++;
  }
  myr_status st = MYR_OK;
  for (uint32_t g = 0; g < s->stage_count && st == MYR_OK; g++) st = conflict_edges(s, &s->stages[g]);
  if (st == MYR_OK) st = explicit_edges(s);
  if (st == MYR_OK) st = link_edges(s);
  if (st != MYR_OK) {
    unbuild(s);
    return st;
  }
  s->built = true;
  return MYR_OK;
}

/* ---- running ------------------------------------------------------------- */

/* Records the frame's first failure; later ones leave it (a CAS from 0, so
 * two failing workers never add their codes together). */
static void fail(myr_schedule *s, myr_status st) {
  if (at_load32_rlx(&s->error) == 0) at_cas32_sc(&s->error, 0, (uint32_t)-st);
}

/* Runs chunks [begin, end) of a system on the calling worker, recording
 * patches into that worker's buffer under the key (system order, chunk). */
static void run_chunks(void *ctx, size_t begin, size_t end) {
  sys *y = ctx;
  myr_schedule *s = y->owner;
  int wi = myr_jobs_worker_index(s->jobs);
  patch_buffer *buf = &s->bufs[wi < 0 ? 0 : wi].buf;
  for (size_t i = begin; i < end; i++) {
    myr_view view = {y->chunks[i], s->dt, s->time, y->user, (myr_system)(y - s->systems), (uint32_t)wi};
    uint64_t room = UINT64_C(1) << s->seq_bits;
    myr_patches handle = {buf, y->order, (uint32_t)i, 0, NULL, s->batch_bits, (y->chunk_ordinal + i) * room, room, 0};
    y->fn(&view, &handle);
    /* the handle dies here: the next chunk opens its own segment even if
     * its handle lands at the same address */
    buf->open = NULL;
  }
}

/* Cuts the system's matched rows into chunks. */
static myr_status collect_chunks(sys *y, uint32_t rows) {
  myr_query_iter it;
  myr_status st = myr_query_iter_init(y->query, rows, &it);
  if (st != MYR_OK) return st;
  y->chunk_count = 0;
  myr_chunk c;
  while (myr_query_next(&it, &c)) {
    if (y->chunk_count == y->chunk_cap &&
        (st = world_grow_array(y->owner->world, (void **)&y->chunks, &y->chunk_cap, sizeof(myr_chunk), y->chunk_count + 1)) != MYR_OK)
      return st;
    y->chunks[y->chunk_count++] = c;
  }
  return MYR_OK;
}

static void launch(myr_schedule *s, uint32_t id);

/* Runs one system: its chunks as jobs (or in order on this thread), then
 * its statistics, then the release of its dependents. */
static void run_system(myr_schedule *s, sys *y, bool here) {
  uint64_t t0 = now_ns();
  myr_status st;
  if (at_load32_rlx(&s->error)) y->chunk_count = 0; /* a failed frame runs nothing more */
  if (here || (y->flags & MYR_SYSTEM_WHOLE)) run_chunks(y, 0, y->chunk_count);
  else if ((st = myr_jobs_parallel_for(s->jobs, 0, y->chunk_count, 1, run_chunks, y)) != MYR_OK) fail(s, st);
  uint64_t entities = 0;
  for (uint32_t i = 0; i < y->chunk_count; i++) entities += y->chunks[i].count;
  myr_system_stats *ss = &y->stats;
  ss->entities = entities;
  ss->chunks = y->chunk_count;
  ss->ns = now_ns() - t0;
  ss->ns_per_entity = entities ? (double)ss->ns / (double)entities : 0;
  ss->entities_per_s = ss->ns ? (double)entities * 1e9 / (double)ss->ns : 0;
  ss->frames++;
  ss->total_entities += entities;
  ss->total_chunks += y->chunk_count;
  ss->total_ns += ss->ns;
  for (uint32_t d = 0; d < y->dependent_count; d++)
    if (at_faa32(&s->systems[y->dependents[d]].pending, (uint32_t)-1) == 1) launch(s, y->dependents[d]);
  /* the locked RMW orders this before the sleepers load in jobs_wake */
  if (at_faa32(&s->remaining, (uint32_t)-1) == 1) jobs_wake(s->jobs, s);
}

static void system_job(void *arg) {
  sys *y = arg;
  run_system(y->owner, y, false);
}

/* Starts a ready system: main-thread systems are queued for the thread
 * running the frame, the others become jobs. */
static void launch(myr_schedule *s, uint32_t id) {
  sys *y = &s->systems[id];
  if (y->flags & MYR_SYSTEM_MAIN_THREAD) {
    uint32_t slot = at_faa32(&s->mainq_tail, 1);
    at_store32_rel(&s->mainq[slot], id);
    jobs_wake(s->jobs, s);
    return;
  }
  myr_status st = myr_jobs_spawn(s->jobs, system_job, y, &s->jobs_counter);
  if (st != MYR_OK) { /* no room to queue it: run it here */
    run_system(s, y, false);
  }
}

static bool stage_waiting_over(void *ctx) {
  myr_schedule *s = ctx;
  return at_load32_acq(&s->remaining) == 0 || at_load32_acq(&s->mainq_tail) != s->mainq_head;
}

static int segment_cmp(const void *a, const void *b) {
  const patch_segment *x = ((const patch_ref *)a)->seg, *y = ((const patch_ref *)b)->seg;
  if (x->system != y->system) return x->system < y->system ? -1 : 1;
  if (x->chunk != y->chunk) return x->chunk < y->chunk ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Applies the stage's patches from every worker's buffer in key order. */
static myr_status merge(myr_schedule *s, stage *g) {
  uint64_t t0 = now_ns();
  uint32_t n = 0;
  bool structural = false, lost = false;
  for (uint32_t i = 0; i < s->buf_count; i++) {
    n += s->bufs[i].buf.seg_count;
    structural |= s->bufs[i].buf.structural != 0;
    lost |= s->bufs[i].buf.failed;
  }
  if (lost) { /* a callback's patch could not be recorded: apply none */
    for (uint32_t i = 0; i < s->buf_count; i++) patch_buffer_clear(&s->bufs[i].buf);
    return MYR_ENOMEM;
  }
  myr_status st = world_grow_array(s->world, (void **)&s->refs, &s->ref_cap, sizeof(patch_ref), n);
  if (st != MYR_OK) return st;
  n = 0;
  for (uint32_t i = 0; i < s->buf_count; i++)
    for (uint32_t k = 0; k < s->bufs[i].buf.seg_count; k++) s->refs[n++] = (patch_ref){&s->bufs[i].buf, &s->bufs[i].buf.segs[k]};
  if (n) qsort(s->refs, n, sizeof(patch_ref), segment_cmp);
  myr_patch_stats ps = {0};
  st = patch_apply(s->world, s->refs, n, structural, &ps);
  if (st != MYR_OK) return st;
  for (uint32_t i = 0; i < s->buf_count; i++) patch_buffer_clear(&s->bufs[i].buf);
  g->stats.patches = ps;
  g->stats.merge_ns = now_ns() - t0;
  g->stats.total_merge_ns += g->stats.merge_ns;
  patch_stats_add(&g->stats.total_patches, &ps);
  return MYR_OK;
}

/* Numbers the stage's chunks in key order and splits the provisional
 * tokens between chunk ordinals and spawns per chunk (patch_impl.h), so
 * that neither depends on the thread count. */
static void open_batch(myr_schedule *s, const stage *g) {
  uint64_t ordinals = 0;
  for (uint32_t k = 0; k < g->count; k++) {
    sys *y = &s->systems[s->by_stage[g->first + k]];
    y->chunk_ordinal = ordinals;
    ordinals += y->chunk_count;
  }
  uint32_t ordinal_bits = 0;
  while ((UINT64_C(1) << ordinal_bits) < ordinals) ordinal_bits++;
  s->seq_bits = TOKEN_BITS - ordinal_bits; /* chunk counts are below 2^32 */
  s->batch_bits = patch_batch_open(s->world);
}

static myr_status run_stage(myr_schedule *s, stage *g) {
  for (uint32_t i = 0; i < s->buf_count; i++) patch_buffer_clear(&s->bufs[i].buf);
  /* Cut every system's rows into chunks here, on the calling thread: the
   * tables do not change until the merge, and the allocator hooks are then
   * only ever called from this thread. */
  for (uint32_t k = 0; k < g->count; k++) {
    sys *y = &s->systems[s->by_stage[g->first + k]];
    y->owner = s;
    y->pending = y->indegree;
    s->mainq[k] = NONE;
    uint32_t rows = (y->flags & MYR_SYSTEM_WHOLE) ? 0 : (y->chunk_rows ? y->chunk_rows : s->default_rows);
    y->stats.chunk_rows = rows;
    myr_status st = collect_chunks(y, rows);
    if (st != MYR_OK) return st;
  }
  open_batch(s, g);
  s->remaining = g->count;
  s->mainq_head = s->mainq_tail = 0;
  s->jobs_counter = (myr_counter){0};
  jobs_counter_claim(s->jobs, &s->jobs_counter);
  for (uint32_t k = 0; k < g->count; k++)
    if (s->systems[s->by_stage[g->first + k]].indegree == 0) launch(s, s->by_stage[g->first + k]);
  for (;;) {
    jobs_wait_until(s->jobs, stage_waiting_over, s);
    if (at_load32_acq(&s->mainq_tail) != s->mainq_head) {
      uint32_t id;
      while ((id = at_load32_acq(&s->mainq[s->mainq_head])) == NONE) ck_pr_stall(); /* slot being written */
      s->mainq_head++;
      run_system(s, &s->systems[id], true);
      continue;
    }
    if (at_load32_acq(&s->remaining) == 0) break;
  }
  myr_jobs_wait(s->jobs, &s->jobs_counter); /* the last system jobs return */
  uint32_t err = at_load32_acq(&s->error);
  if (err) return (myr_status) - (int)err;
  return merge(s, g);
}

myr_status myr_schedule_run(myr_schedule *s, double dt) {
  if (!s) return MYR_EINVAL;
  if (s->running || myr_jobs_worker_index(s->jobs) != 0 || jobs_depth(s->jobs) != 0) return MYR_EBUSY;
  myr_status st = myr_schedule_build(s);
  if (st != MYR_OK) return st;
  s->running = true;
  s->dt = dt;
  s->error = 0;
  for (uint32_t g = 0; g < s->stage_count && st == MYR_OK; g++) st = run_stage(s, &s->stages[g]);
  s->time += dt;
  s->running = false;
  return st;
}

/* ---- plan and statistics ------------------------------------------------- */

static const char *component_name(const myr_schedule *s, myr_component c) {
  return c < s->world->component_count ? s->world->components[c].name : "?";
}

myr_status myr_schedule_print_plan(myr_schedule *s, FILE *out) {
  if (!s || !out) return MYR_EINVAL;
  myr_status st = myr_schedule_build(s);
  if (st != MYR_OK) return st;
  fprintf(out, "schedule: %u systems, %u stages, %u workers, default chunk %u rows\n", s->count, s->stage_count,
          s->buf_count, s->default_rows);
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const stage *sg = &s->stages[g];
    fprintf(out, "stage %u:\n", sg->stage);
    for (uint32_t k = 0; k < sg->count; k++) {
      const sys *y = &s->systems[s->by_stage[sg->first + k]];
      fprintf(out, "  %u. %s (chunk %u%s%s)", y->order, y->name, y->chunk_rows ? y->chunk_rows : s->default_rows,
              y->flags & MYR_SYSTEM_WHOLE ? ", whole" : "", y->flags & MYR_SYSTEM_MAIN_THREAD ? ", main thread" : "");
      fprintf(out, y->indegree ? "\n" : " ready at start\n");
      for (uint32_t e = 0; e < s->edge_count; e++) {
        const edge *ed = &s->edges[e];
        if (ed->to != s->by_stage[sg->first + k]) continue;
        const char *from = s->systems[ed->from].name, *c = component_name(s, ed->component);
        switch (ed->why) {
        case WHY_WRITE_WRITE: fprintf(out, "     after %s: both write %s\n", from, c); break;
        case WHY_WRITE_READ: fprintf(out, "     after %s: it writes %s, read here\n", from, c); break;
        case WHY_READ_WRITE: fprintf(out, "     after %s: it reads %s, written here\n", from, c); break;
        case WHY_AFTER: fprintf(out, "     after %s: asked for by this system\n", from); break;
        case WHY_BEFORE: fprintf(out, "     after %s: asked for by %s\n", from, from); break;
        }
      }
    }
  }
  return MYR_OK;
}

myr_status myr_schedule_system_stats(const myr_schedule *s, myr_system id, myr_system_stats *out) {
  if (!s || !out || id >= s->count) return MYR_EINVAL;
  *out = s->systems[id].stats;
  out->name = s->systems[id].name;
  out->stage = s->systems[id].stage;
  return MYR_OK;
}

uint32_t myr_schedule_stage_count(const myr_schedule *s) { return s && s->built ? s->stage_count : 0; }

myr_status myr_schedule_stage_stats(const myr_schedule *s, uint32_t i, myr_stage_stats *out) {
  if (!s || !out || !s->built || i >= s->stage_count) return MYR_EINVAL;
  *out = s->stages[i].stats;
  return MYR_OK;
}

/* A JSON string: quotes, backslashes and control characters escaped, so
 * that any system name gives valid JSON (bytes >= 0x80 pass as they are). */
static void json_string(FILE *out, const char *str) {
  fputc('"', out);
  for (const unsigned char *c = (const unsigned char *)str; *c; c++) {
    if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
    else if (*c < 0x20) fprintf(out, "\\u%04x", *c);
    else fputc(*c, out);
  }
  fputc('"', out);
}

static void print_json(const myr_schedule *s, FILE *out) {
  fprintf(out, "{\"systems\": [");
  for (uint32_t i = 0; i < s->count; i++) {
    const myr_system_stats *t = &s->systems[i].stats;
    fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
    json_string(out, s->systems[i].name);
    fprintf(out, ", \"stage\": %u, \"chunk_rows\": %u, \"entities\": %llu, \"chunks\": %llu, "
            "\"ns\": %llu, \"ns_per_entity\": %.3f, \"entities_per_s\": %.1f, \"frames\": %llu, "
            "\"total_entities\": %llu, \"total_chunks\": %llu, \"total_ns\": %llu}",
            s->systems[i].stage, t->chunk_rows, (unsigned long long)t->entities,
            (unsigned long long)t->chunks, (unsigned long long)t->ns, t->ns_per_entity, t->entities_per_s,
            (unsigned long long)t->frames, (unsigned long long)t->total_entities, (unsigned long long)t->total_chunks,
            (unsigned long long)t->total_ns);
  }
  fprintf(out, "\n], \"stages\": [");
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const myr_stage_stats *t = &s->stages[g].stats;
    fprintf(out, "%s\n  {\"stage\": %u, \"merge_ns\": %llu, \"patches\": %llu, \"applied\": %llu, \"skipped\": %llu, "
            "\"spawned\": %llu, \"destroyed\": %llu, \"moved\": %llu, \"total_merge_ns\": %llu, \"total_patches\": %llu}",
            g ? "," : "", t->stage, (unsigned long long)t->merge_ns, (unsigned long long)t->patches.recorded,
            (unsigned long long)t->patches.applied,
            (unsigned long long)(t->patches.skipped_dead + t->patches.skipped_present + t->patches.skipped_absent),
            (unsigned long long)t->patches.spawned, (unsigned long long)t->patches.destroyed,
            (unsigned long long)t->patches.moved, (unsigned long long)t->total_merge_ns,
            (unsigned long long)t->total_patches.recorded);
  }
  fprintf(out, "\n], \"workers\": [");
  for (uint32_t w = 0; w < s->buf_count; w++) {
    myr_jobs_worker_stats ws = {0};
    myr_jobs_stats(s->jobs, w, &ws);
    fprintf(out, "%s\n  {\"worker\": %u, \"jobs\": %llu, \"steals\": %llu, \"failed_steals\": %llu, \"idle_ns\": %llu}",
            w ? "," : "", w, (unsigned long long)ws.jobs, (unsigned long long)ws.steals,
            (unsigned long long)ws.failed_steals, (unsigned long long)ws.parked_ns);
  }
  fprintf(out, "\n]}\n");
}

static void print_table(const myr_schedule *s, FILE *out) {
  fprintf(out, "%-24s %5s %7s %10s %8s %10s %9s %12s\n", "system", "stage", "chunk", "entities", "chunks", "us",
          "ns/ent", "entities/s");
  for (uint32_t i = 0; i < s->count; i++) {
    const myr_system_stats *t = &s->systems[i].stats;
    fprintf(out, "%-24s %5u %7u %10llu %8llu %10.1f %9.2f %12.4g\n", s->systems[i].name, s->systems[i].stage,
            t->chunk_rows, (unsigned long long)t->entities, (unsigned long long)t->chunks, (double)t->ns / 1e3,
            t->ns_per_entity, t->entities_per_s);
  }
  fprintf(out, "%-6s %10s %10s %10s %10s %10s %10s\n", "stage", "merge us", "patches", "applied", "skipped",
          "spawned", "destroyed");
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const myr_stage_stats *t = &s->stages[g].stats;
    fprintf(out, "%-6u %10.1f %10llu %10llu %10llu %10llu %10llu\n", t->stage, (double)t->merge_ns / 1e3,
            (unsigned long long)t->patches.recorded, (unsigned long long)t->patches.applied,
            (unsigned long long)(t->patches.skipped_dead + t->patches.skipped_present + t->patches.skipped_absent),
            (unsigned long long)t->patches.spawned, (unsigned long long)t->patches.destroyed);
  }
  fprintf(out, "%-6s %10s %10s %14s %12s\n", "worker", "jobs", "steals", "failed steals", "idle ms");
  for (uint32_t w = 0; w < s->buf_count; w++) {
    myr_jobs_worker_stats ws = {0};
    myr_jobs_stats(s->jobs, w, &ws);
    fprintf(out, "%-6u %10llu %10llu %14llu %12.2f\n", w, (unsigned long long)ws.jobs, (unsigned long long)ws.steals,
            (unsigned long long)ws.failed_steals, (double)ws.parked_ns / 1e6);
  }
}

myr_status myr_schedule_print_stats(const myr_schedule *s, FILE *out, bool json) {
  if (!s || !out) return MYR_EINVAL;
  if (json) print_json(s, out);
  else print_table(s, out);
  return MYR_OK;
}
