/* The schedule, running a frame: per stage, every system's rows cut into
 * chunks, ready systems' chunks run as jobs on the pool, each writing its
 * patches into its worker's buffer, and the buffers merged in key order. */
#define _DEFAULT_SOURCE /* clock_gettime under strict C11 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <ck_pr.h>

#include "atomics.h"
#include "jobs_impl.h"
#include "schedule_impl.h"

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- running ------------------------------------------------------------- */

/* Nonzero while the calling thread runs a frame or a system callback: a
 * myr_schedule_run then is refused whatever the schedule and its pool (the
 * pool checks below see only the target's pool; the frame's thread is the
 * creator of any pool it made, so another pool's check would pass). */
static _Thread_local uint32_t in_frame __attribute__((tls_model("initial-exec")));

/* Records the frame's first failure; later ones leave it (a CAS from 0, so
 * two failing workers never add their codes together). */
static bool fail(myr_schedule *s, myr_status st) {
  return at_load32_rlx(&s->error) == 0 && at_cas32_sc(&s->error, 0, (uint32_t)-st);
}

myr_status myr_system_fail(const myr_view *v, myr_status st) {
  if (!v || !v->schedule || st >= 0 || v->system >= v->schedule->count) return MYR_EINVAL;
  /* release by the CAS: the system's id is read after the error */
  if (fail(v->schedule, st)) at_store32_rel(&v->schedule->failed_system, v->system);
  return MYR_OK;
}

/* Runs chunks [begin, end) of a system on the calling worker, recording
 * patches into that worker's buffer under the key (system order, chunk). */
/* ---- access checking (MYR_ACCESS_CHECK builds) ---------------------------- */

#ifdef MYR_ACCESS_CHECK
/* The system whose callback runs on this thread, for the world's read hook. */
static _Thread_local const sys *running_system;

/* Reports the frame's first undeclared access: its message is written by
 * the worker that wins the error, and read after the stage's jobs end. */
__attribute__((format(printf, 2, 3))) static void access_fail(myr_schedule *s, const char *fmt, ...) {
  if (!fail(s, MYR_EACCESS)) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->message, sizeof s->message, fmt, ap);
  va_end(ap);
  fprintf(stderr, "myriad: %s\n", s->message);
}

/* A component read through the world API from a callback: refused when
 * another system of the stage writes that component in place. */
static void read_hook(const myr_world *w, myr_component c, void *ctx) {
  myr_schedule *s = ctx;
  const sys *y = running_system;
  if (!y || y->owner != s || !s->cur) return;
  const stage *g = s->cur;
  for (uint32_t k = 0; k < g->count; k++) {
    const sys *z = &s->systems[s->by_stage[g->first + k]];
    if (z != y && compset_has(&z->writes, c)) {
      access_fail(s, "access check: system \"%s\" reads %s through the world while \"%s\" of its stage writes it",
                  y->name, w->components[c].name, z->name);
      return;
    }
  }
}

void schedule_access_watch(myr_schedule *s, bool on) {
  if (on) {
    s->world->read_hook = read_hook;
    s->world->read_hook_ctx = s;
  } else if (s->world->read_hook_ctx == s) {
    s->world->read_hook = NULL;
    s->world->read_hook_ctx = NULL;
  }
}

static uint64_t bytes_hash(const unsigned char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* The read-only resources' bytes before a system runs, to compare after. */
static void resources_snapshot(const sys *y, uint64_t *hashes) {
  for (uint32_t i = 0; i < y->res_count; i++)
    if (y->res[i].kind == MYR_TERM_READ) hashes[i] = bytes_hash(y->res_data[i], y->owner->world->resources[y->res[i].resource].size);
}

static void resources_verify(myr_schedule *s, const sys *y, const uint64_t *hashes) {
  for (uint32_t i = 0; i < y->res_count; i++)
    if (y->res[i].kind == MYR_TERM_READ &&
        bytes_hash(y->res_data[i], s->world->resources[y->res[i].resource].size) != hashes[i])
      access_fail(s, "access check: system \"%s\" wrote resource %s, which it declares read-only", y->name,
                  s->world->resources[y->res[i].resource].name);
}
#define RUNNING_SET(y) const sys *was_running = running_system; running_system = (y)
#define RUNNING_RESTORE() running_system = was_running
#else
void schedule_access_watch(myr_schedule *s, bool on) {
  (void)s;
  (void)on;
}
#define RUNNING_SET(y) ((void)0)
#define RUNNING_RESTORE() ((void)0)
#endif

/* Calls fn on one chunk (or a hook's empty one) with a patches handle keyed
 * (system order, key), key 0 being the begin hook, chunk i key i + 1 and
 * the end hook the last; the key is also the provisional-id ordinal past
 * the system's first (see open_batch). */
static void run_one(myr_schedule *s, sys *y, myr_system_fn fn, const myr_chunk *chunk, uint32_t key,
                    patch_buffer *buf, int wi) {
  myr_view view = {*chunk, s->dt, s->time, y->user, (myr_system)(y - s->systems), (uint32_t)wi, y->res_data, s};
  uint64_t room = UINT64_C(1) << s->seq_bits;
  myr_patches handle = {buf, y->order, key, 0, NULL, s->batch_bits, (y->chunk_ordinal + key) * room, room, 0};
  uint64_t t0 = s->trace ? now_ns() : 0;
  RUNNING_SET(y);
  in_frame++;
  fn(&view, &handle);
  in_frame--;
  RUNNING_RESTORE();
  if (s->trace)
    schedule_trace(s, wi, (trace_event){t0, now_ns(), (uint32_t)(y - s->systems), chunk->count,
                                        key == 0 || key > y->chunk_count ? NONE : key - 1, chunk->table, y->stage});
  /* the handle dies here: the next chunk opens its own segment even if its
   * handle lands at the same address */
  buf->open = NULL;
}

/* A begin or end hook, on the calling worker. */
static void run_hook(myr_schedule *s, sys *y, myr_system_fn fn, uint32_t key) {
  int wi = myr_jobs_worker_index(s->jobs);
  const myr_chunk none = {0};
  uint64_t t0 = now_ns();
  run_one(s, y, fn, &none, key, &s->bufs[wi < 0 ? 0 : wi].buf, wi);
  at_faa(&y->cpu_ns, now_ns() - t0);
}

static void run_chunks(void *ctx, size_t begin, size_t end) {
  sys *y = ctx;
  myr_schedule *s = y->owner;
  int wi = myr_jobs_worker_index(s->jobs);
  patch_buffer *buf = &s->bufs[wi < 0 ? 0 : wi].buf;
  uint64_t t0 = now_ns();
  for (size_t i = begin; i < end; i++) run_one(s, y, y->fn, &y->chunks[i], (uint32_t)i + 1, buf, wi);
  at_faa(&y->cpu_ns, now_ns() - t0);
}

/* Cuts the system's matched rows into chunks. */
static myr_status collect_chunks(sys *y, uint32_t rows) {
  if (!y->query) { /* run once: one chunk of no rows */
    myr_status st = MYR_OK;
    if (y->chunk_cap == 0) st = world_grow_array(y->owner->world, (void **)&y->chunks, &y->chunk_cap, sizeof(myr_chunk), 1);
    if (st != MYR_OK) return st;
    y->chunks[0] = (myr_chunk){0};
    y->chunk_count = 1;
    return MYR_OK;
  }
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

/* The blocks of a system's reduction this frame: chunk c's first block,
 * and every partial set to the identity. Chunks start on whole blocks of
 * their table, so a block belongs to one chunk. */
static myr_status reduction_blocks(sys *y) {
  myr_world *w = y->owner->world;
  myr_status st = MYR_OK;
  if (y->first_block_cap < y->chunk_count)
    st = world_grow_array(w, (void **)&y->first_block, &y->first_block_cap, sizeof(uint32_t), y->chunk_count);
  uint32_t matches = myr_query_table_count(y->query);
  if (st == MYR_OK && y->match_block_cap < matches + 1)
    st = world_grow_array(w, (void **)&y->match_block, &y->match_block_cap, sizeof(uint32_t), matches + 1);
  if (st != MYR_OK) return st;
  for (uint32_t m = 0; m <= matches; m++) y->match_block[m] = UINT32_MAX;
  uint64_t blocks = 0;
  for (uint32_t c = 0; c < y->chunk_count; c++) {
    y->first_block[c] = (uint32_t)blocks;
    /* a table's first chunk starts at its row 0 */
    if (y->chunks[c].row == 0) y->match_block[y->chunks[c].match] = (uint32_t)blocks;
    blocks += (y->chunks[c].count + y->red.block_rows - 1) / y->red.block_rows;
  }
  if (blocks > UINT32_MAX) return MYR_ELIMIT;
  size_t need = (size_t)blocks * y->red.partial_size;
  if (need > y->partials_bytes) {
    size_t bytes = need > 2 * y->partials_bytes ? need : 2 * y->partials_bytes;
    unsigned char *p = world_alloc(w, bytes, 64);
    if (!p) return MYR_ENOMEM;
    world_free(w, y->partials, y->partials_bytes);
    y->partials = p;
    y->partials_bytes = bytes;
  }
  y->blocks = (uint32_t)blocks;
  for (uint32_t b = 0; b < y->blocks; b++) {
    unsigned char *part = y->partials + (size_t)b * y->red.partial_size;
    if (y->red.init) y->red.init(part, y->user);
    else memset(part, 0, y->red.partial_size);
  }
  return MYR_OK;
}

/* After the chunks: the partials into the result, in row order. */
static void reduction_combine(sys *y) {
  if (y->red.init) y->red.init(y->red.result, y->user);
  else memset(y->red.result, 0, y->red.partial_size);
  for (uint32_t b = 0; b < y->blocks; b++) y->red.combine(y->red.result, y->partials + (size_t)b * y->red.partial_size, y->user);
  /* (combine may rewrite each partial, e.g. into its block's offsets) */
}

void *myr_view_partial_of(const myr_view *v, myr_system other, uint32_t i) {
  if (!v || !v->schedule || other >= v->schedule->count || i >= v->chunk.count || !v->chunk.query) return NULL;
  const myr_schedule *s = v->schedule;
  const sys *o = &s->systems[other];
  /* its partials are this frame's once it ran: its frame count moved on */
  if (!o->red.combine || o->red_frame != s->frame || !o->query) return NULL;
  uint32_t m = v->chunk.match;
  if (m >= myr_query_table_count(o->query) || o->query->matches[m].table != v->chunk.table ||
      o->match_block[m] == UINT32_MAX)
    return NULL;
  uint32_t b = o->match_block[m] + (v->chunk.row + i) / o->red.block_rows;
  return b < o->blocks ? o->partials + (size_t)b * o->red.partial_size : NULL;
}

void *myr_view_partial(const myr_view *v, uint32_t i) {
  if (!v || !v->schedule || v->system >= v->schedule->count || i >= v->chunk.count) return NULL;
  const sys *y = &v->schedule->systems[v->system];
  if (!y->red.combine || v->chunk.index >= y->chunk_count) return NULL;
  uint32_t first = v->chunk.row / y->red.block_rows; /* the chunk's first block within its table */
  uint32_t b = y->first_block[v->chunk.index] + (v->chunk.row + i) / y->red.block_rows - first;
  return y->partials + (size_t)b * y->red.partial_size;
}

static void launch(myr_schedule *s, uint32_t id);

/* Runs one system: its chunks as jobs (or in order on this thread), then
 * its statistics, then the release of its dependents. */
static void run_system(myr_schedule *s, sys *y, bool here) {
  uint64_t t0 = now_ns();
  myr_status st;
  bool failed = at_load32_rlx(&s->error) != 0; /* a failed frame runs nothing more */
#ifdef MYR_ACCESS_CHECK
  uint64_t res_hashes[MYR_QUERY_MAX_TERMS];
  resources_snapshot(y, res_hashes);
#endif
  at_store_rlx(&y->cpu_ns, 0); /* no job of this system runs yet */
  if (failed) y->chunk_count = 0;
  if (y->begin && !failed) {
    run_hook(s, y, y->begin, 0);
    /* a begin hook that failed the frame: its system runs no chunk */
    if (at_load32_rlx(&s->error) != 0) {
      failed = true;
      y->chunk_count = 0;
    }
  }
  if (here || (y->flags & MYR_SYSTEM_WHOLE) || !y->query) run_chunks(y, 0, y->chunk_count);
  else if ((st = myr_jobs_parallel_for(s->jobs, 0, y->chunk_count, 1, run_chunks, y)) != MYR_OK) fail(s, st);
  if (y->red.combine && !failed && at_load32_rlx(&s->error) == 0) {
    reduction_combine(y);
    y->red_frame = s->frame;
  }
  /* (nor its end hook once the frame failed, by it or by another system) */
  if (y->end && !failed && at_load32_rlx(&s->error) == 0) run_hook(s, y, y->end, y->chunk_count + 1);
#ifdef MYR_ACCESS_CHECK
  if (!failed) resources_verify(s, y, res_hashes);
#endif
  uint64_t entities = 0;
  for (uint32_t i = 0; i < y->chunk_count; i++) entities += y->chunks[i].count;
  myr_system_stats *ss = &y->stats;
  ss->entities = entities;
  ss->chunks = y->chunk_count;
  ss->ns = now_ns() - t0;
  /* acquire: every job of the system counted its time before parallel_for returned */
  ss->cpu_ns = at_load_acq(&y->cpu_ns);
  ss->total_cpu_ns += ss->cpu_ns;
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
  if (st != MYR_OK) { /* no room to queue it: run it here, inside the pool */
    run_system_here(s, y, false);
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
    ordinals += y->chunk_count + 2; /* the begin hook, the chunks, the end hook */
  }
  uint32_t ordinal_bits = 0;
  while ((UINT64_C(1) << ordinal_bits) < ordinals) ordinal_bits++;
  s->seq_bits = TOKEN_BITS - ordinal_bits; /* chunk counts are below 2^32 */
  s->batch_bits = patch_batch_open(s->world);
}

static myr_status run_stage_systems(myr_schedule *s, stage *g);

static myr_status run_stage(myr_schedule *s, stage *g) {
  s->cur = g;
  myr_status st = run_stage_systems(s, g);
  s->cur = NULL;
  return st;
}

static myr_status run_stage_systems(myr_schedule *s, stage *g) {
  for (uint32_t i = 0; i < s->buf_count; i++) patch_buffer_clear(&s->bufs[i].buf);
  /* Cut every system's rows into chunks here, on the calling thread: the
   * tables do not change until the merge, and the allocator hooks are then
   * only ever called from this thread. */
  for (uint32_t k = 0; k < g->count; k++) {
    sys *y = &s->systems[s->by_stage[g->first + k]];
    y->owner = s;
    y->pending = y->indegree;
    s->mainq[k] = NONE;
    uint32_t rows = schedule_rows(s, y, y->chunk_rows);
    y->stats.chunk_rows = rows;
    myr_status st = collect_chunks(y, rows);
    if (st == MYR_OK && y->red.combine) st = reduction_blocks(y);
    if (st != MYR_OK) return schedule_say(s, st, "run: stage %u: out of memory cutting \"%s\" into chunks", g->stage, y->name);
  }
  open_batch(s, g);
  s->remaining = g->count;
  s->mainq_head = s->mainq_tail = 0;
  s->jobs_counter = (myr_counter){0};
  jobs_counter_claim(s->jobs, &s->jobs_counter);
  /* A stage of one system runs it here: a job for it would only be taken
   * back by this thread or stolen by another worker (one more handoff
   * before its chunks are shared out, about 0.3 us here). Its chunks still
   * go to the pool. At 100k entities on 2 workers the integrate frame
   * (simd.h kernel) took 0.96-1.01x the hand loop's over its layout, in
   * eight runs, against 0.93-1.10x (median 1.04x) in five before
   * (bench_memory, in turn). */
  if (g->count == 1 && !(s->systems[s->by_stage[g->first]].flags & MYR_SYSTEM_MAIN_THREAD))
    run_system_here(s, &s->systems[s->by_stage[g->first]], false);
  else
    for (uint32_t k = 0; k < g->count; k++)
      if (s->systems[s->by_stage[g->first + k]].indegree == 0) launch(s, s->by_stage[g->first + k]);
  for (;;) {
    jobs_wait_until(s->jobs, stage_waiting_over, s);
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
  if (err) {
    myr_status st = (myr_status) - (int)err;
    uint32_t who = at_load32_acq(&s->failed_system);
    for (uint32_t i = 0; i < s->buf_count; i++) patch_buffer_clear(&s->bufs[i].buf);
    if (st == MYR_EACCESS) return st; /* access_fail wrote the message */
    if (who != NONE)
      return schedule_say(s, st, "run: stage %u: system \"%s\" reported %s (%s); none of the stage's patches applied",
                          g->stage, s->systems[who].name, myr_status_name(st), myr_strerror(st));
    return schedule_say(s, st, "run: stage %u: %s; none of the stage's patches applied", g->stage, myr_strerror(st));
  }
  uint64_t t0 = s->trace ? now_ns() : 0;
  myr_status st = merge(s, g);
  if (s->trace) schedule_trace(s, 0, (trace_event){t0, now_ns(), NONE, 0, 0, 0, g->stage});
  if (st == MYR_ENOMEM)
    return schedule_say(s, st, "run: stage %u: out of memory merging its patches, or a system's patch could not be "
                        "recorded; none of them applied", g->stage);
  return st;
}

myr_status myr_schedule_run(myr_schedule *s, double dt) {
  if (!s) return MYR_EINVAL;
  if (in_frame || schedule_running(s) || myr_jobs_worker_index(s->jobs) != 0 || jobs_depth(s->jobs) != 0)
    return MYR_EBUSY; /* (no message: refusals may come from several workers at once) */
  myr_status st = myr_schedule_build(s);
  if (st != MYR_OK) return st;
  in_frame++;
  at_store32_rel(&s->running, 1);
  s->frame++;
  s->dt = dt;
  s->error = 0;
  s->failed_system = NONE;
  uint64_t t0 = s->tuning ? now_ns() : 0;
  for (uint32_t g = 0; g < s->stage_count && st == MYR_OK; g++) st = run_stage(s, &s->stages[g]);
  s->time += dt;
  at_store32_rel(&s->running, 0);
  in_frame--;
  if (st == MYR_OK && s->tuning) schedule_autotune_step(s, now_ns() - t0);
  return st;
}
