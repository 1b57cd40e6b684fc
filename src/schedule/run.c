/* The schedule, running a frame: per stage, every system's rows cut into
 * chunks, ready systems' chunks run as jobs on the pool, each writing its
 * patches into its worker's buffer, and the buffers merged in key order. */
#define _DEFAULT_SOURCE /* clock_gettime under strict C11 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ck_pr.h>

#include "atomics.h"
#include "schedule_impl.h"

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The calling thread's CPU time: a system call (not in the vDSO). */
static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

myr_status myr_schedule_set_cpu_time(myr_schedule *s, bool on) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  s->cpu_time = on;
  return MYR_OK;
}

myr_status myr_schedule_set_stats(myr_schedule *s, bool on) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  s->stats = on;
  return MYR_OK;
}

bool myr_schedule_stats_enabled(const myr_schedule *s) { return s && s->stats; }

/* ---- running ------------------------------------------------------------- */

/* Nonzero while the calling thread runs a frame or a system callback: a
 * myr_schedule_run then is refused whatever the schedule and its pool (the
 * pool checks below see only the target's pool; the frame's thread is the
 * creator of any pool it made, so another pool's check would pass). */
static _Thread_local uint32_t in_frame __attribute__((tls_model("initial-exec")));

/* Records the frame's first failure; later ones leave it (a CAS from 0, so
 * two failing workers never add their codes together). */
bool schedule_fail(myr_schedule *s, myr_status st) {
  return at_load32_rlx(&s->error) == 0 && at_cas32_sc(&s->error, 0, (uint32_t)-st);
}

myr_status myr_system_fail(const myr_view *v, myr_status st) {
  if (!v || !v->schedule || st >= 0 || v->system >= v->schedule->count) return MYR_EINVAL;
  /* release by the CAS: the system's id is read after the error */
  if (schedule_fail(v->schedule, st)) at_store32_rel(&v->schedule->failed_system, v->system);
  return MYR_OK;
}

/* Calls fn on one chunk (or a hook's empty one) with a patches handle keyed
 * (system order, key), key 0 being the begin hook, chunk i key i + 1 and
 * the end hook the last; the key is also the provisional-id ordinal past
 * the system's first (see open_batch). */
static void run_one(myr_schedule *s, sys *y, myr_system_fn fn, const myr_chunk *chunk, uint32_t key, patch_buffer *buf,
                    int wi) {
  myr_view view = {*chunk,       s->dt,       s->time, y->user,  (myr_system)(y - s->systems),
                   (uint32_t)wi, y->res_data, s,       s->world, s->world_frame};
  myr_patches handle = patch_handle(&s->batch, buf, y->order, key, y->chunk_ordinal + key);
  uint64_t t0 = s->trace ? now_ns() : 0;
  const sys *was = s->checking ? access_enter(y) : NULL;
  in_frame++;
  fn(&view, &handle);
  in_frame--;
  if (s->checking) access_leave(was);
  if (s->trace)
    schedule_trace(s, wi,
                   (trace_event){t0, now_ns(), (uint32_t)(y - s->systems), chunk->count,
                                 key == 0 || key > y->chunk_count ? NONE : key - 1, chunk->table, y->stage,
                                 (uint32_t)(s->frame - s->trace_frame0)});
  /* the handle dies here: the next chunk opens its own run even if its
   * handle lands at the same address */
  buf->open = NULL;
}

/* The running worker's index: always 0 on a pool of one worker (the frame's
 * thread), which saves the pool's thread-local lookup. */
static inline int worker_of(const myr_schedule *s) { return s->workers == 1 ? 0 : myr_jobs_worker_index(s->jobs); }

/* The system's thread, while none of its jobs runs (so a plain add: no
 * other thread writes chunk_ns meanwhile), adds the time from *clock, the
 * last reading of the monotonic clock, to now to the system's chunk_ns,
 * and moves *clock to now: one reading ends a span and starts the next. */
static void clock_span(sys *y, uint64_t *clock) {
  const uint64_t t = now_ns();
  at_store_rlx(&y->chunk_ns, at_load_rlx(&y->chunk_ns) + (t - *clock));
  *clock = t;
}

/* A begin or end hook, on the system's thread, timed from *clock. */
static void run_hook(myr_schedule *s, sys *y, myr_system_fn fn, uint32_t key, uint64_t *clock) {
  int wi = worker_of(s);
  const myr_chunk none = {0};
  uint64_t c0 = s->cpu_timed ? thread_cpu_ns() : 0;
  run_one(s, y, fn, &none, key, &s->lanes.lanes[wi < 0 ? 0 : wi].buf, wi);
  if (s->timed) clock_span(y, clock);
  if (s->cpu_timed) at_faa(&y->cpu_time_ns, thread_cpu_ns() - c0);
}

/* A job of chunks [begin, end), on any worker. */
static void run_chunks(void *ctx, size_t begin, size_t end) {
  sys *y = ctx;
  myr_schedule *s = y->owner;
  int wi = worker_of(s);
  patch_buffer *buf = &s->lanes.lanes[wi < 0 ? 0 : wi].buf;
  uint64_t t0 = s->timed ? now_ns() : 0, c0 = s->cpu_timed ? thread_cpu_ns() : 0;
  for (size_t i = begin; i < end; i++) run_one(s, y, y->fn, &y->chunks[i], (uint32_t)i + 1, buf, wi);
  if (s->timed) at_faa(&y->chunk_ns, now_ns() - t0);
  if (s->cpu_timed) at_faa(&y->cpu_time_ns, thread_cpu_ns() - c0);
}

/* All the system's chunks in order on its thread, timed from *clock. */
static void run_chunks_here(myr_schedule *s, sys *y, uint64_t *clock) {
  if (y->chunk_count == 0) return;
  int wi = worker_of(s);
  patch_buffer *buf = &s->lanes.lanes[wi < 0 ? 0 : wi].buf;
  uint64_t c0 = s->cpu_timed ? thread_cpu_ns() : 0;
  for (uint32_t i = 0; i < y->chunk_count; i++) run_one(s, y, y->fn, &y->chunks[i], i + 1, buf, wi);
  if (s->timed) clock_span(y, clock);
  if (s->cpu_timed) at_faa(&y->cpu_time_ns, thread_cpu_ns() - c0);
}

/* Cuts the system's matched rows into chunks. */
static myr_status collect_chunks(sys *y, uint32_t rows) {
  if (!y->query) { /* run once: one chunk of no rows */
    myr_status st = MYR_OK;
    if (y->chunk_cap == 0)
      st = world_grow_array(y->owner->world, (void **)&y->chunks, &y->chunk_cap, sizeof(myr_chunk), 1);
    if (st != MYR_OK) return st;
    y->chunks[0] = (myr_chunk){0};
    y->chunk_count = 1;
    return MYR_OK;
  }
  myr_query_iter it;
  myr_status st = myr_query_iter_init(y->query, rows, &it);
  if (st != MYR_OK) return st;
  y->chunk_count = 0;
  /* the chunk is written in its slot when there is room: a copy of one
   * just written field by field would wait for those stores */
  myr_chunk spare;
  for (;;) {
    myr_chunk *c = y->chunk_count < y->chunk_cap ? &y->chunks[y->chunk_count] : &spare;
    if (!myr_query_next(&it, c)) return MYR_OK;
    if (c == &spare) {
      st = world_grow_array(y->owner->world, (void **)&y->chunks, &y->chunk_cap, sizeof(myr_chunk), y->chunk_count + 1);
      if (st != MYR_OK) return st;
      y->chunks[y->chunk_count] = spare;
    }
    y->chunk_count++;
  }
}

static void launch(myr_schedule *s, uint32_t id);

/* Records a system's frame that took `ns`, once its jobs are done. */
static void system_stats(sys *y, uint64_t ns) {
  uint64_t entities = 0;
  for (uint32_t i = 0; i < y->chunk_count; i++) entities += y->chunks[i].count;
  myr_system_stats *ss = &y->stats;
  ss->entities = entities;
  ss->chunks = y->chunk_count;
  ss->ns = ns;
  /* acquire: every job of the system counted its time before parallel_for returned */
  ss->chunk_ns = at_load_acq(&y->chunk_ns);
  ss->total_chunk_ns += ss->chunk_ns;
  ss->cpu_time_ns = at_load_acq(&y->cpu_time_ns);
  ss->total_cpu_time_ns += ss->cpu_time_ns;
  ss->ns_per_entity = entities ? (double)ss->ns / (double)entities : 0;
  ss->entities_per_s = ss->ns ? (double)entities * 1e9 / (double)ss->ns : 0;
  ss->frames++;
  ss->total_entities += entities;
  ss->total_chunks += y->chunk_count;
  ss->total_ns += ss->ns;
}

/* A finished system's release of its dependents and of the stage, on a
 * pool of one worker: the frame's thread runs every system (launch queues
 * them for it) and is the only one to touch the counts, so relaxed loads
 * and stores do, and nobody waits to be woken. */
static void release_serial(myr_schedule *s, const sys *y) {
  for (uint32_t d = 0; d < y->dependent_count; d++) {
    uint32_t *pending = &s->systems[y->dependents[d]].pending;
    at_store32_rlx(pending, at_load32_rlx(pending) - 1);
    if (at_load32_rlx(pending) == 0) launch(s, y->dependents[d]);
  }
  at_store32_rlx(&s->remaining, at_load32_rlx(&s->remaining) - 1);
}

/* Runs one system: its chunks as jobs (or in order on this thread), then
 * its statistics, then the release of its dependents. */
static void run_system(myr_schedule *s, sys *y, bool here) {
  /* The clock is read once where the system starts and once after each
   * hook or run of its chunks on this thread, which is where the next one
   * starts; 0 means that what ran since (a check, a combination, jobs of
   * chunks elsewhere) is no hook's or chunk's, and it is read anew. On one
   * worker systems run one after the other on this thread, and a system
   * starts where the one before it ended. */
  const bool serial = s->workers == 1;
  const uint64_t t0 = !s->timed ? 0 : serial && s->serial_clock ? s->serial_clock : now_ns();
  uint64_t clock = t0;
  myr_status st;
  bool failed = at_load32_rlx(&s->error) != 0; /* a failed frame runs nothing more */
  uint64_t res_hashes[MYR_QUERY_MAX_TERMS], hook_hashes[MYR_QUERY_MAX_TERMS];
  const bool checking = s->checking;
  if (checking) {
    access_resources_before(y, res_hashes, MYR_TERM_READ);
    clock = 0;
  }
  at_store_rlx(&y->chunk_ns, 0); /* no job of this system runs yet */
  at_store_rlx(&y->cpu_time_ns, 0);
  if (failed) y->chunk_count = 0;
  if (y->begin && !failed) {
    if (s->timed && !clock) clock = now_ns();
    run_hook(s, y, y->begin, 0, &clock);
    /* a begin hook that failed the frame: its system runs no chunk */
    if (at_load32_rlx(&s->error) != 0) {
      failed = true;
      y->chunk_count = 0;
    }
  }
  if (checking) {
    access_resources_before(y, hook_hashes, MYR_TERM_WRITE_HOOKS);
    clock = 0;
  }
  /* one chunk: a job for it would only hand it to this worker */
  if (here || (y->flags & MYR_SYSTEM_WHOLE) || !y->query || y->chunk_count <= 1) {
    if (s->timed && !clock) clock = now_ns();
    run_chunks_here(s, y, &clock);
  } else {
    if ((st = myr_jobs_parallel_for(s->jobs, 0, y->chunk_count, 1, run_chunks, y)) != MYR_OK) schedule_fail(s, st);
    clock = 0;
  }
  if (checking && !failed) {
    access_resources_after(s, y, hook_hashes, MYR_TERM_WRITE_HOOKS);
    access_entity_columns_after(s, y);
    clock = 0;
  }
  if (y->red.combine && !failed && at_load32_rlx(&s->error) == 0) {
    reduction_combine(y);
    y->red_frame = s->frame;
    clock = 0;
  }
  /* (nor its end hook once the frame failed, by it or by another system) */
  if (y->end && !failed && at_load32_rlx(&s->error) == 0) {
    if (s->timed && !clock) clock = now_ns();
    run_hook(s, y, y->end, y->chunk_count + 1, &clock);
  }
  if (checking && !failed) {
    access_resources_after(s, y, res_hashes, MYR_TERM_READ);
    clock = 0;
  }
  if (s->timed) {
    if (!clock) clock = now_ns();
    system_stats(y, clock - t0);
    if (serial) s->serial_clock = clock;
  }
  if (serial) { /* the only thread: no locked RMW needed */
    release_serial(s, y);
    return;
  }
  for (uint32_t d = 0; d < y->dependent_count; d++)
    if (at_faa32(&s->systems[y->dependents[d]].pending, (uint32_t)-1) == 1) launch(s, y->dependents[d]);
  /* the locked RMW orders this before the sleepers load in jobs_wake */
  if (at_faa32(&s->remaining, (uint32_t)-1) == 1) jobs_wake(s->jobs, s);
}

static void system_job(void *arg) {
  sys *y = arg;
  run_system(y->owner, y, false);
}

/* A system run by the frame's thread (a main-thread system, or a stage's
 * only system), as a job would run it: its callbacks are inside the pool,
 * where destroying it or running a schedule is refused. */
static void system_here(void *arg) {
  sys *y = arg;
  run_system(y->owner, y, y->here);
}

static void run_system_here(myr_schedule *s, sys *y, bool here) {
  y->here = here;
  if (!jobs_run_here(s->jobs, system_here, y)) run_system(s, y, here);
}

/* Starts a ready system: main-thread systems, and every system on a pool
 * of one worker (where a job would only come back to the frame's thread,
 * through the deque), are queued for the thread running the frame, the
 * others become jobs. */
static void launch(myr_schedule *s, uint32_t id) {
  sys *y = &s->systems[id];
  if (s->workers == 1) { /* the only thread (release_serial) */
    const uint32_t slot = at_load32_rlx(&s->mainq_tail);
    at_store32_rlx(&s->mainq[slot], id);
    at_store32_rlx(&s->mainq_tail, slot + 1);
    return;
  }
  if (y->flags & MYR_SYSTEM_MAIN_THREAD) {
    uint32_t slot = at_faa32(&s->mainq_tail, 1);
    at_store32_rel(&s->mainq[slot], id);
    jobs_wake(s->jobs, s);
    return;
  }
  myr_status st = myr_jobs_spawn(s->jobs, system_job, y, &s->jobs_counter);
  if (st != MYR_OK) { /* no room to queue it: run it here, inside the pool */
    run_system_here(s, y, false);
  }
}

static bool stage_waiting_over(void *ctx) {
  myr_schedule *s = ctx;
  return at_load32_acq(&s->remaining) == 0 || at_load32_acq(&s->mainq_tail) != s->mainq_head;
}

/* How long the pool's workers are kept from parking when a merge starts:
 * merges of up to this long do not cost the next stage a wake-up (a few
 * tens of microseconds from a futex). */
#define MERGE_AWAKE_NS UINT64_C(1000000)

/* The merge's parallel parts, as jobs of the pool (world_par). */
typedef struct merge_parts {
  world_part_fn body;
  void *arg;
  myr_schedule *s;
} merge_parts;

static void merge_range(void *ctx, size_t begin, size_t end) {
  const merge_parts *m = ctx;
  myr_schedule *s = m->s;
  for (size_t p = begin; p < end; p++) {
    uint64_t t0 = s->trace ? now_ns() : 0;
    m->body(m->arg, (uint32_t)p);
    if (s->trace) /* on the lane of the worker that ran it */
      schedule_trace(s, myr_jobs_worker_index(s->jobs),
                     (trace_event){t0, now_ns(), NONE, MERGE_PART_ROWS, (uint32_t)p, 0, s->cur->stage,
                                   (uint32_t)(s->frame - s->trace_frame0)});
  }
}

static void merge_par_run(void *ctx, uint32_t parts, world_part_fn body, void *arg) {
  myr_schedule *s = ctx;
  merge_parts m = {body, arg, s};
  /* cannot fail: this is the thread running the frame, a worker of the pool */
  if (myr_jobs_parallel_for(s->jobs, 0, parts, 1, merge_range, &m) != MYR_OK) merge_range(&m, 0, parts);
}

/* Whether no lane recorded anything, nor failed to: a stage whose systems
 * only write in place, for which a merge would sort and apply nothing. */
static bool lanes_empty(const patch_lanes *l) {
  for (uint32_t i = 0; i < l->count; i++) {
    const patch_buffer *b = &l->lanes[i].buf;
    if (b->run_count || b->used || b->failed) return false;
  }
  return true;
}

/* Applies the stage's patches from every worker's buffer in key order,
 * the pool's workers sharing the work. */
static myr_status merge(myr_schedule *s, stage *g) {
  uint64_t t0 = s->timed ? now_ns() : 0;
  myr_patch_stats ps = {0};
  world_par par = {merge_par_run, s, myr_jobs_worker_count(s->jobs),
                   s->merge_min ? s->merge_min : MYR_MERGE_PARALLEL_MIN};
  myr_status st = MYR_OK;
  if (!lanes_empty(&s->lanes)) {
    /* The other workers spin through the merge, to take its parallel parts
     * and the next stage's first chunks at once; the frame's end lets them
     * park as usual (myr_schedule_run). */
    if (par.threads > 1) {
      jobs_keep_awake(s->jobs, MERGE_AWAKE_NS);
      s->held_awake = true;
    }
    st = patch_merge(&s->lanes, &par, &ps);
  }
  if (st != MYR_OK || !s->timed) return st;
  g->stats.patches = ps;
  g->stats.merge_ns = now_ns() - t0;
  g->stats.total_merge_ns += g->stats.merge_ns;
  patch_stats_add(&g->stats.total_patches, &ps);
  return MYR_OK;
}

/* Numbers the stage's hooks and chunks in key order and opens the stage's
 * patch batch over them (patch_iface.h), so that provisional ids do not
 * depend on the thread count. */
static void open_batch(myr_schedule *s, const stage *g) {
  uint64_t ordinals = 0;
  for (uint32_t k = 0; k < g->count; k++) {
    sys *y = &s->systems[s->by_stage[g->first + k]];
    y->chunk_ordinal = ordinals;
    ordinals += y->chunk_count + 2; /* the begin hook, the chunks, the end hook */
  }
  patch_batch_open(s->world, ordinals, &s->batch);
}

static myr_status run_stage_systems(myr_schedule *s, stage *g);

/* Whether a lane lost a patch while recording (the merge will refuse). */
static bool lanes_lost(const patch_lanes *l) {
  for (uint32_t i = 0; i < l->count; i++)
    if (l->lanes[i].buf.failed) return true;
  return false;
}

/* Room for n inject handles, each allocated once (never moved). */
static myr_status inject_reserve(myr_schedule *s, uint32_t n) {
  myr_world *w = s->world;
  if (n <= s->inject_cap) return MYR_OK;
  myr_patches **p = world_alloc(w, sizeof *p * n, alignof(myr_patches *));
  uint64_t *filled = world_alloc(w, sizeof *filled * n, alignof(uint64_t));
  if (!p || !filled) {
    world_free(w, p, sizeof *p * n);
    world_free(w, filled, sizeof *filled * n);
    return MYR_ENOMEM;
  }
  memset(p, 0, sizeof *p * n);
  memset(filled, 0, sizeof *filled * n);
  if (s->inject_cap) {
    memcpy(p, s->inject, sizeof *p * s->inject_cap);
    memcpy(filled, s->inject_filled, sizeof *filled * s->inject_cap);
  }
  myr_status st = MYR_OK;
  for (uint32_t k = s->inject_cap; k < n && st == MYR_OK; k++) {
    p[k] = world_alloc(w, sizeof(myr_patches), alignof(myr_patches));
    if (!p[k]) st = MYR_ENOMEM;
    else *p[k] = (myr_patches){0};
  }
  if (st != MYR_OK) {
    for (uint32_t k = s->inject_cap; k < n; k++) world_free(w, p[k], sizeof(myr_patches));
    world_free(w, p, sizeof *p * n);
    world_free(w, filled, sizeof *filled * n);
    return st;
  }
  world_free(w, s->inject, sizeof(myr_patches *) * s->inject_cap);
  world_free(w, s->inject_filled, sizeof(uint64_t) * s->inject_cap);
  s->inject = p;
  s->inject_filled = filled;
  s->inject_cap = n;
  return MYR_OK;
}

/* Runs the stage-end hook (myr_schedule_set_stage_end) once for stage g,
 * with the stage's status: when it is MYR_OK, the patches for another
 * process are taken out first (a failure doing so, or a lost patch, is
 * then the status the hook gets, and *local says so), and each system of
 * the stage gets a handle to inject patches with, valid until the hook
 * returns. Returns the stage's status after the hook: the failure it was
 * given or found, else the hook's. */
static myr_status stage_end(myr_schedule *s, const stage *g, myr_status status, myr_status *local) {
  s->diverted_count = 0;
  s->stage_ended = true;
  if (status == MYR_OK && lanes_lost(&s->lanes)) status = MYR_ENOMEM;
  if (status == MYR_OK && s->stage_end.divert &&
      patch_divert(&s->lanes, s->stage_end.divert_tag, &s->diverted, &s->diverted_count, &s->diverted_cap) != MYR_OK) {
    status = MYR_ENOMEM;
    s->diverted_count = 0; /* a part of the list: none is reported */
  }
  if (status == MYR_OK && inject_reserve(s, g->count) != MYR_OK) {
    status = MYR_ENOMEM;
    s->diverted_count = 0;
  }
  *local = status;
  s->inject_count = status == MYR_OK ? g->count : 0;
  s->inject_gen++;
  s->in_stage_end = true;
  myr_status hooked = s->stage_end.fn(s, g->stage, status, s->stage_end.ctx);
  s->in_stage_end = false;
  for (uint32_t k = 0; k < s->inject_count; k++) s->inject[k]->buf = NULL; /* kept handles refuse to record */
  s->diverted_count = s->inject_count = 0;
  return status != MYR_OK ? status : hooked;
}

myr_status myr_schedule_set_stage_end(myr_schedule *s, const myr_stage_end_desc *desc) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  if (!desc || !desc->fn) {
    s->stage_end = (myr_stage_end_desc){0};
    return MYR_OK;
  }
  if (desc->divert && desc->divert_tag >= world_component_count(s->world)) return MYR_ENOCOMP;
  s->stage_end = *desc;
  return MYR_OK;
}

uint32_t myr_schedule_diverted_count(const myr_schedule *s) { return s && s->in_stage_end ? s->diverted_count : 0; }

myr_status myr_schedule_diverted(const myr_schedule *s, uint32_t i, myr_patch_info *out) {
  if (!s || !out || !s->in_stage_end || i >= s->diverted_count) return MYR_EINVAL;
  patch_diverted_info(&s->diverted[i], out);
  return MYR_OK;
}

myr_status myr_schedule_inject(myr_schedule *s, uint32_t system, myr_patches **out) {
  if (!s || !out || !s->in_stage_end || system >= s->inject_count) return MYR_EINVAL;
  if (s->inject_filled[system] != s->inject_gen) { /* once a call: its patches' keys follow on */
    *s->inject[system] = patch_handle_after(&s->batch, &s->lanes.lanes[s->workers].buf, system);
    s->inject_filled[system] = s->inject_gen;
  }
  *out = s->inject[system];
  return MYR_OK;
}

/* Runs stage g, or (failed: the frame's failure so far) only its stage-end
 * hook: the hook runs once at the end of every stage of every frame, also
 * when cutting the stage's chunks failed or an earlier stage failed, so
 * that processes meeting there stay in step. */
static myr_status run_stage(myr_schedule *s, stage *g, myr_status failed) {
  s->cur = g;
  s->stage_ended = false;
  myr_status st = failed != MYR_OK ? failed : run_stage_systems(s, g);
  if (s->stage_end.fn && !s->stage_ended) {
    myr_status local;
    stage_end(s, g, st, &local);
  }
  s->cur = NULL;
  return st;
}

static myr_status run_stage_systems(myr_schedule *s, stage *g) {
  patch_lanes_clear(&s->lanes);
  /* Cut every system's rows into chunks here, on the calling thread: the
   * tables do not change until the merge, and the allocator hooks are then
   * only ever called from this thread. */
  for (uint32_t k = 0; k < g->count; k++) {
    sys *y = &s->systems[s->by_stage[g->first + k]];
    y->owner = s;
    y->pending = y->indegree;
    s->mainq[k] = NONE;
    myr_status fetched = schedule_fetch_resources(s, y);
    if (fetched != MYR_OK) return fetched;
    uint32_t rows = schedule_rows(s, y, y->chunk_rows);
    y->stats.chunk_rows = rows;
    myr_status st = collect_chunks(y, rows);
    if (st == MYR_OK && y->red.combine) st = reduction_blocks(y);
    if (st != MYR_OK)
      return schedule_say(s, st, "run: stage %u: %s cutting \"%s\" into chunks", g->stage,
                          st == MYR_ENOMEM ? "out of memory" : "too many reduction blocks", y->name);
  }
  open_batch(s, g);
  s->serial_clock = 0; /* cutting the chunks is no system's time */
  s->remaining = g->count;
  s->mainq_head = s->mainq_tail = 0;
  s->jobs_counter = (myr_counter){0};
  jobs_counter_claim(s->jobs, &s->jobs_counter);
  /* A stage of one system runs it here: a job for it would only be taken
   * back by this thread or stolen by another worker, one more handoff
   * before its chunks are shared out (docs/performance.md). Its chunks
   * still go to the pool. */
  if (g->count == 1 && !(s->systems[s->by_stage[g->first]].flags & MYR_SYSTEM_MAIN_THREAD))
    run_system_here(s, &s->systems[s->by_stage[g->first]], s->workers == 1);
  else
    for (uint32_t k = 0; k < g->count; k++)
      if (s->systems[s->by_stage[g->first + k]].indegree == 0) launch(s, s->by_stage[g->first + k]);
  for (;;) {
    /* one worker: a system is queued here whenever one is ready */
    if (s->workers > 1) jobs_wait_until(s->jobs, stage_waiting_over, s);
    assert(stage_waiting_over(s));
    if (at_load32_acq(&s->mainq_tail) != s->mainq_head) {
      uint32_t id;
      while ((id = at_load32_acq(&s->mainq[s->mainq_head])) == NONE) ck_pr_stall(); /* slot being written */
      s->mainq_head++;
      run_system_here(s, &s->systems[id], true);
      continue;
    }
    if (at_load32_acq(&s->remaining) == 0) break;
  }
  myr_jobs_wait(s->jobs, &s->jobs_counter); /* the last system jobs return */
  uint32_t err = at_load32_acq(&s->error);
  if (s->stage_end.fn) {
    myr_status local, hooked = stage_end(s, g, err ? (myr_status) - (int)err : MYR_OK, &local);
    if (!err && hooked != MYR_OK) {
      patch_lanes_clear(&s->lanes);
      if (local != MYR_OK)
        return schedule_say(s, local,
                            "run: stage %u: out of memory diverting its patches, or a system's patch could not "
                            "be recorded; none of them applied",
                            g->stage);
      return schedule_say(s, hooked,
                          "run: stage %u: the stage-end hook reported %s (%s); none of the stage's patches "
                          "applied",
                          g->stage, myr_status_name(hooked), myr_strerror(hooked));
    }
  }
  if (err) {
    myr_status st = (myr_status) - (int)err;
    uint32_t who = at_load32_acq(&s->failed_system);
    patch_lanes_clear(&s->lanes);
    if (st == MYR_EACCESS) return st; /* access_fail wrote the message */
    if (who != NONE)
      return schedule_say(s, st, "run: stage %u: system \"%s\" reported %s (%s); none of the stage's patches applied",
                          g->stage, s->systems[who].name, myr_status_name(st), myr_strerror(st));
    return schedule_say(s, st, "run: stage %u: %s; none of the stage's patches applied", g->stage, myr_strerror(st));
  }
  uint64_t t0 = s->trace ? now_ns() : 0;
  myr_status st = merge(s, g);
  if (s->trace)
    schedule_trace(s, 0, (trace_event){t0, now_ns(), NONE, 0, 0, 0, g->stage, (uint32_t)(s->frame - s->trace_frame0)});
  if (st == MYR_ENOMEM)
    return schedule_say(s, st,
                        "run: stage %u: out of memory merging its patches, or a system's patch could not be "
                        "recorded; none of them applied",
                        g->stage);
  if (st != MYR_OK)
    return schedule_say(s, st, "run: stage %u: too many patches to merge in one batch; none of them applied", g->stage);
  return st;
}

myr_status myr_schedule_set_merge_parallel_min(myr_schedule *s, uint32_t patches) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  s->merge_min = patches;
  return MYR_OK;
}

myr_status myr_schedule_run(myr_schedule *s, double dt) {
  if (!s) return MYR_EINVAL;
  if (in_frame || schedule_running(s) || myr_jobs_worker_index(s->jobs) != 0 || jobs_depth(s->jobs) != 0)
    return MYR_EBUSY; /* (no message: refusals may come from several workers at once) */
  myr_status st = myr_schedule_build(s);
  if (st != MYR_OK) return st;
  in_frame++;
  at_store32_rel(&s->running, 1);
  world_frame_enter(s->world);
  /* the world reports reads to this schedule while it runs, even if another
   * checking schedule took the hook since (or was destroyed with it) */
  if (s->checking) schedule_access_watch(s, true);
  s->frame++;
  s->dt = dt;
  s->time = myr_world_time(s->world); /* the frame sees the world's clock from before it */
  s->world_frame = myr_world_frame(s->world);
  s->error = 0;
  s->failed_system = NONE;
  s->timed = s->stats || s->tuning; /* the tuner scores systems by their statistics */
  s->cpu_timed = s->timed && s->cpu_time;
  uint64_t t0 = s->tuning || s->trace ? now_ns() : 0;
  for (uint32_t g = 0; g < s->stage_count && (st == MYR_OK || s->stage_end.fn); g++)
    st = run_stage(s, &s->stages[g], st);
  world_frame_leave(s->world);
  if (s->held_awake) { /* no merge follows before the next frame */
    jobs_keep_awake_end(s->jobs);
    s->held_awake = false;
  }
  /* the frame's marker, on the calling thread's lane (worker 0), failed or not */
  if (s->trace)
    schedule_trace(s, 0, (trace_event){t0, now_ns(), NONE, 0, 0, 0, NONE, (uint32_t)(s->frame - s->trace_frame0)});
  myr_world_set_clock(s->world, s->world_frame + 1, s->time + dt);
  at_store32_rel(&s->running, 0);
  in_frame--;
  if (st == MYR_OK && s->tuning) schedule_autotune_step(s, now_ns() - t0);
  return st;
}
