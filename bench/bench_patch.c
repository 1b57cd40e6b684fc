/* Merge throughput: a stage's patches applied by the schedule's merge on 1
 * and 2 workers, beside hand-written edits of the same tables.
 *
 * A world of N entities (Position and Velocity, three floats each) and a
 * system that records one patch for each entity its slot hash selects
 * (about M of them, scattered over the table as a simulation's are): set
 * Position; destroy; spawn with Position and Velocity; add Extra (three
 * floats) with values; remove Extra. The figure is the stage's merge time
 * (myr_stage_stats.merge_ns: sorting the runs, planning, applying), as M
 * patches/s, median over the rounds. Each round is undone untimed between
 * rounds (entities made again, spawns destroyed, Extra removed or added),
 * after one untimed round that grows the merge's work space.
 *
 * The hand-written edits get every advantage: tables laid out as the
 * world lays them out (bench/baseline.h), pre-sized, a slot-to-row index
 * and a free stack, no checks. Their input is what the patches carry: the
 * entities' slots (and values), in the order the system records them; each
 * is looked up and edited in turn (a removal swaps the table's last row in).
 *
 * Usage: bench_patch [--rounds R] [--entities N] [--kind K] [--parallel-min P]
 * [--ready FRAMES] (default 7 rounds, 1M entities, every kind; P as
 * myr_schedule_set_merge_parallel_min, 1 shares every batch). --ready runs
 * FRAMES traced frames of a stage that destroys and spawns 1 in 128
 * entities followed by a stage of chunks over all of them, on 2 workers,
 * and prints how long after the merge each worker starts its first chunk
 * of the second stage (median over the frames), and how often worker 1
 * parked. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "baseline.h"
#include "common.h"
#include "myriad/myriad.h"

typedef enum kind { K_SET, K_DESTROY, K_SPAWN, K_ADD, K_REMOVE, K_COUNT } kind;
static const char *const kind_names[] = {"set", "destroy", "spawn+values", "add+values", "remove"};

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Whether the entity of slot `slot` is picked: about one in `stride`. */
static inline bool picked(uint32_t slot, uint32_t stride) {
  uint64_t h = (uint64_t)slot * UINT64_C(0x9e3779b97f4a7c15);
  return (h >> 40) % stride == 0;
}

/* ---- through the schedule -------------------------------------------------- */

typedef struct sim {
  myr_world *w;
  myr_component pos, vel, extra;
  kind k;
  uint32_t stride;
  bool active; /* the system records patches */
} sim;

static void edit(const myr_view *v, myr_patches *p) {
  const sim *s = v->user;
  if (!s->active) return;
  const vec3 val = {1, 2, 3};
  const myr_component set[] = {s->pos, s->vel};
  const void *values[] = {&val, &val};
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    myr_entity e = v->chunk.ids[i];
    if (!picked(MYR_ENTITY_INDEX(e), s->stride)) continue;
    switch (s->k) {
    case K_SET: must(myr_patch_set(p, e, s->pos, &val), "set"); break;
    case K_DESTROY: must(myr_patch_destroy(p, e), "destroy"); break;
    case K_SPAWN: must(myr_patch_spawn(p, set, 2, values, NULL), "spawn"); break;
    case K_ADD: must(myr_patch_add(p, e, s->extra, &val), "add"); break;
    case K_REMOVE: must(myr_patch_remove(p, e, s->extra), "remove"); break;
    default: break;
    }
  }
}

/* Undoes a round, untimed, through the world API. */
static void undo(sim *s, myr_entity *scratch, uint32_t n) {
  if (s->k == K_SET) return;
  myr_query *q;
  myr_term term = {s->pos, MYR_TERM_READ};
  must(myr_query_create(s->w, &(myr_query_desc){&term, 1}, &q), "query");
  myr_query_iter it;
  myr_chunk ch;
  uint32_t count = 0;
  must(myr_query_iter_init(q, 0, &it), "iter");
  while (myr_query_next(&it, &ch)) {
    memcpy(scratch + count, ch.ids, ch.count * sizeof(myr_entity));
    count += ch.count;
  }
  myr_query_destroy(q);
  const vec3 val = {0, 0, 0};
  if (s->k == K_DESTROY) { /* make the destroyed ones again: they take the same slots back */
    const myr_component set[] = {s->pos, s->vel};
    const void *values[] = {&val, &val};
    must(myr_entity_create_bulk(
             s->w, &(myr_bulk_desc){.components = set, .component_count = 2, .values = values, .count = n - count}),
         "create");
  } else if (s->k == K_SPAWN) { /* the newest rows are the spawns */
    for (uint32_t i = n; i < count; i++) must(myr_entity_destroy(s->w, scratch[i]), "destroy");
  } else {
    for (uint32_t i = 0; i < count; i++)
      if (picked(MYR_ENTITY_INDEX(scratch[i]), s->stride)) {
        if (s->k == K_ADD) must(myr_component_remove(s->w, scratch[i], s->extra), "remove");
        else must(myr_component_add(s->w, scratch[i], s->extra, &val), "add");
      }
  }
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, uint32_t n) {
  qsort(v, n, sizeof *v, cmp_u64);
  return v[n / 2];
}

/* Median merge ns of `rounds` rounds; *patches gets the patches per round. */
static uint32_t parallel_min; /* --parallel-min, 0: the default */

static uint64_t through_schedule(kind k, uint32_t n, uint32_t stride, uint32_t workers, uint32_t rounds,
                                 uint64_t *patches) {
  sim s = {.k = k, .stride = stride};
  must(myr_world_create(NULL, &s.w), "world");
  must(myr_component_register(s.w, &(myr_component_desc){"Position", vec3_fields, 3, sizeof(vec3)}, &s.pos), "pos");
  must(myr_component_register(s.w, &(myr_component_desc){"Velocity", vec3_fields, 3, sizeof(vec3)}, &s.vel), "vel");
  must(myr_component_register(s.w, &(myr_component_desc){"Extra", vec3_fields, 3, sizeof(vec3)}, &s.extra), "extra");
  const vec3 val = {0, 0, 0};
  const myr_component set[] = {s.pos, s.vel, s.extra};
  const void *values[] = {&val, &val, &val};
  must(myr_entity_create_bulk(
           s.w,
           &(myr_bulk_desc){.components = set, .component_count = k == K_REMOVE ? 3 : 2, .values = values, .count = n}),
       "create");
  myr_jobs *pool;
  must(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), "pool");
  myr_schedule *sc;
  must(myr_schedule_create(s.w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = 16384}, &sc), "schedule");
  must(myr_schedule_set_merge_parallel_min(sc, parallel_min), "parallel min");
  myr_term term = {s.pos, MYR_TERM_READ};
  must(myr_schedule_add(sc, &(myr_system_desc){.name = "edit", .terms = &term, .term_count = 1, .fn = edit, .user = &s},
                        NULL),
       "system");
  myr_entity *scratch = malloc(sizeof(myr_entity) * 2 * (size_t)n);
  uint64_t *ns = malloc(sizeof(uint64_t) * rounds);
  if (!scratch || !ns) abort();
  for (uint32_t r = 0; r <= rounds; r++) { /* round 0 is untimed */
    s.active = true;
    must(myr_schedule_run(sc, 1.0 / 60), "run");
    myr_stage_stats st;
    must(myr_schedule_stage_stats(sc, 0, &st), "stats");
    if (r) ns[r - 1] = st.merge_ns;
    *patches = st.patches.applied;
    undo(&s, scratch, n);
  }
  uint64_t m = median(ns, rounds);
  free(ns);
  free(scratch);
  myr_schedule_destroy(sc);
  must(myr_jobs_destroy(pool), "pool");
  myr_world_destroy(s.w);
  return m;
}

/* ---- hand-written ----------------------------------------------------------- */

typedef struct htable {
  void *block;
  float *col[9];
  uint64_t *ids;
  uint32_t cols, count;
} htable;

typedef struct hand {
  htable a, b;      /* Position+Velocity, and with Extra */
  uint32_t *row_of; /* by slot: row in its table */
  uint32_t *free_stack, free_count, slots;
  uint32_t *picked; /* the round's entities, in row order */
} hand;

static void htable_make(htable *t, uint32_t cols, size_t cap) {
  void *c[9];
  t->block = baseline_columns(cols, cap, sizeof(float), c);
  t->ids = t->block; /* region 0 of the block, as a table's ids */
  for (uint32_t j = 0; j < cols; j++) t->col[j] = c[j];
  t->cols = cols;
  t->count = 0;
}

static void hand_make(hand *h, kind k, uint32_t n) {
  size_t cap = 2 * (size_t)n;
  htable_make(&h->a, 6, cap);
  htable_make(&h->b, 9, cap);
  h->row_of = baseline_alloc(cap * sizeof(uint32_t));
  h->free_stack = baseline_alloc(cap * sizeof(uint32_t));
  h->picked = baseline_alloc(cap * sizeof(uint32_t));
  h->free_count = 0;
  h->slots = n;
  htable *t = k == K_REMOVE ? &h->b : &h->a;
  for (uint32_t i = 0; i < n; i++) {
    for (uint32_t j = 0; j < t->cols; j++) t->col[j][i] = 0;
    t->ids[i] = i;
    h->row_of[i] = i;
  }
  t->count = n;
}

static void hand_free(hand *h) {
  free(h->a.block);
  free(h->b.block);
  free(h->row_of);
  free(h->free_stack);
  free(h->picked);
}

/* Swap-removes row r of t: the last row moves into it. */
static inline void hand_swap_remove(hand *h, htable *t, uint32_t r) {
  uint32_t last = --t->count;
  if (r == last) return;
  for (uint32_t j = 0; j < t->cols; j++) t->col[j][r] = t->col[j][last];
  t->ids[r] = t->ids[last];
  h->row_of[t->ids[r]] = r;
}

/* One round of kind k, timed; the same entities as the system picks, in
 * the order it records them (row order), as ids, the edits' input. */
static uint64_t hand_round(hand *h, kind k, uint32_t stride) {
  htable *src = k == K_REMOVE ? &h->b : &h->a;
  uint32_t m = 0;
  for (uint32_t i = 0; i < src->count; i++) /* untimed: the patches' recording */
    if (picked((uint32_t)src->ids[i], stride)) h->picked[m++] = (uint32_t)src->ids[i];
  uint64_t t0 = now_ns();
  const float v[3] = {1, 2, 3};
  switch (k) {
  case K_SET:
    for (uint32_t i = 0; i < m; i++) {
      uint32_t r = h->row_of[h->picked[i]];
      for (uint32_t j = 0; j < 3; j++) h->a.col[j][r] = v[j];
    }
    break;
  case K_DESTROY:
    for (uint32_t i = 0; i < m; i++) {
      uint32_t slot = h->picked[i];
      hand_swap_remove(h, &h->a, h->row_of[slot]);
      h->free_stack[h->free_count++] = slot;
    }
    break;
  case K_SPAWN: {
    htable *t = &h->a;
    for (uint32_t i = 0; i < m; i++) {
      uint32_t slot = h->free_count ? h->free_stack[--h->free_count] : h->slots++;
      uint32_t r = t->count++;
      for (uint32_t j = 0; j < 6; j++) t->col[j][r] = v[j % 3];
      t->ids[r] = slot;
      h->row_of[slot] = r;
    }
    break;
  }
  case K_ADD:
  case K_REMOVE: {
    htable *dst = k == K_ADD ? &h->b : &h->a;
    for (uint32_t i = 0; i < m; i++) {
      uint32_t slot = h->picked[i], r = h->row_of[slot], d = dst->count++;
      for (uint32_t j = 0; j < 6; j++) dst->col[j][d] = src->col[j][r];
      if (k == K_ADD)
        for (uint32_t j = 6; j < 9; j++) dst->col[j][d] = v[j - 6];
      dst->ids[d] = slot;
      hand_swap_remove(h, src, r);
      h->row_of[slot] = d;
    }
    break;
  }
  default: break;
  }
  uint64_t t = now_ns() - t0;
  /* untimed: undo */
  if (k == K_DESTROY) {
    for (uint32_t i = 0; i < m; i++) {
      uint32_t slot = h->free_stack[--h->free_count], r = h->a.count++;
      h->a.ids[r] = slot;
      h->row_of[slot] = r;
    }
  } else if (k == K_SPAWN) {
    h->a.count -= m;
    for (uint32_t i = 0; i < m; i++) h->free_stack[h->free_count++] = (uint32_t)h->a.ids[h->a.count + m - 1 - i];
  } else if (k == K_ADD || k == K_REMOVE) {
    htable *dst = k == K_ADD ? &h->b : &h->a;
    for (uint32_t i = 0; i < dst->count; i++) { /* move them all back */
      uint32_t r = src->count++;
      for (uint32_t j = 0; j < 6; j++) src->col[j][r] = dst->col[j][i];
      src->ids[r] = dst->ids[i];
      h->row_of[dst->ids[i]] = r;
    }
    dst->count = 0;
  }
  return t;
}

static uint64_t by_hand(kind k, uint32_t n, uint32_t stride, uint32_t rounds) {
  hand h;
  hand_make(&h, k, n);
  uint64_t *ns = malloc(sizeof(uint64_t) * rounds);
  if (!ns) abort();
  for (uint32_t r = 0; r <= rounds; r++) {
    uint64_t t = hand_round(&h, k, stride);
    if (r) ns[r - 1] = t;
  }
  uint64_t m = median(ns, rounds);
  free(ns);
  hand_free(&h);
  return m;
}

/* ---- workers ready across the merge -------------------------------------- */

/* Stage 0 destroys the entities its slot hash picks and spawns as many
 * (a merge of both kinds); stage 1 moves every entity, in chunks that
 * every worker takes. The trace says when each worker starts its first
 * chunk of stage 1 after stage 0's merge ends. */
typedef struct ready_sim {
  myr_component pos, vel;
  uint32_t stride;
} ready_sim;

static void churn(const myr_view *v, myr_patches *p) {
  const ready_sim *s = v->user;
  const vec3 val = {1, 2, 3};
  const myr_component set[] = {s->pos, s->vel};
  const void *values[] = {&val, &val};
  for (uint32_t i = 0; i < v->chunk.count; i++)
    if (picked(MYR_ENTITY_INDEX(v->chunk.ids[i]) ^ (uint32_t)v->chunk.ids[i] >> 7, s->stride)) {
      must(myr_patch_destroy(p, v->chunk.ids[i]), "destroy");
      must(myr_patch_spawn(p, set, 2, values, NULL), "spawn");
    }
}

static void drift(const myr_view *v, myr_patches *p) {
  (void)p;
  float *x = myr_chunk_column(&v->chunk, 0, 0);
  const float *vx = myr_chunk_column(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) x[i] += vx[i] * (float)v->dt;
}

static int cmp_f(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int ready(uint32_t n, uint32_t frames) {
  ready_sim s = {.stride = 128};
  myr_world *w;
  must(myr_world_create(NULL, &w), "world");
  must(myr_component_register(w, &(myr_component_desc){"Position", vec3_fields, 3, sizeof(vec3)}, &s.pos), "pos");
  must(myr_component_register(w, &(myr_component_desc){"Velocity", vec3_fields, 3, sizeof(vec3)}, &s.vel), "vel");
  const vec3 val = {0, 0, 0};
  const myr_component set[] = {s.pos, s.vel};
  const void *values[] = {&val, &val};
  must(myr_entity_create_bulk(w,
                              &(myr_bulk_desc){.components = set, .component_count = 2, .values = values, .count = n}),
       "create");
  myr_jobs *pool;
  must(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &pool), "pool");
  myr_schedule *sc;
  must(myr_schedule_create(w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = 16384}, &sc), "schedule");
  must(myr_schedule_set_merge_parallel_min(sc, parallel_min), "parallel min");
  myr_term read = {s.pos, MYR_TERM_READ};
  myr_term move[] = {{s.pos, MYR_TERM_WRITE}, {s.vel, MYR_TERM_READ}};
  must(myr_schedule_add(
           sc, &(myr_system_desc){.name = "churn", .terms = &read, .term_count = 1, .fn = churn, .user = &s}, NULL),
       "churn");
  must(myr_schedule_add(
           sc, &(myr_system_desc){.name = "drift", .terms = move, .term_count = 2, .fn = drift, .stage = 1}, NULL),
       "drift");
  for (int i = 0; i < 20; i++) must(myr_schedule_run(sc, 1.0 / 60), "warm-up");
  myr_jobs_worker_stats before, after;
  must(myr_jobs_stats(pool, 1, &before), "stats");
  must(myr_schedule_trace_begin(sc, 1u << 22), "trace");
  for (uint32_t f = 0; f < frames; f++) must(myr_schedule_run(sc, 1.0 / 60), "run");
  must(myr_jobs_stats(pool, 1, &after), "stats");
  size_t count = 0;
  must(myr_schedule_trace_events(sc, NULL, 0, &count, NULL), "events");
  myr_trace_event *ev = malloc(sizeof *ev * (count ? count : 1));
  double *gap[2] = {malloc(sizeof(double) * frames), malloc(sizeof(double) * frames)};
  uint64_t *merge_end = calloc(frames + 2, sizeof(uint64_t)),
           *first[2] = {calloc(frames + 2, 8), calloc(frames + 2, 8)};
  if (!ev || !gap[0] || !gap[1] || !merge_end || !first[0] || !first[1]) abort();
  must(myr_schedule_trace_events(sc, ev, count, &count, NULL), "events");
  uint64_t f0 = UINT64_MAX;
  for (size_t i = 0; i < count; i++)
    if (ev[i].frame < f0) f0 = ev[i].frame;
  uint64_t patches = 0;
  for (size_t i = 0; i < count; i++) {
    uint64_t f = ev[i].frame - f0;
    if (f >= frames) continue;
    if (ev[i].kind == MYR_TRACE_MERGE && ev[i].stage == 0) merge_end[f] = ev[i].end_ns;
    if (ev[i].kind == MYR_TRACE_CHUNK && ev[i].stage == 1 && ev[i].worker < 2 &&
        (!first[ev[i].worker][f] || ev[i].start_ns < first[ev[i].worker][f]))
      first[ev[i].worker][f] = ev[i].start_ns;
  }
  uint32_t m[2] = {0, 0};
  for (uint32_t f = 0; f < frames; f++)
    for (int k = 0; k < 2; k++)
      if (merge_end[f] && first[k][f]) gap[k][m[k]++] = ((double)first[k][f] - (double)merge_end[f]) / 1e3;
  myr_stage_stats st;
  must(myr_schedule_stage_stats(sc, 0, &st), "stage stats");
  patches = st.patches.recorded;
  printf("stage 0's merge (%llu patches, %.1f us) to each worker's first chunk of stage 1, %u frames:\n",
         (unsigned long long)patches, (double)st.merge_ns / 1e3, frames);
  printf("worker  frames  median us  p90 us  max us\n");
  for (int k = 0; k < 2; k++) {
    if (!m[k]) continue;
    qsort(gap[k], m[k], sizeof(double), cmp_f);
    printf("%6d  %6u  %9.2f  %6.2f  %6.1f\n", k, m[k], gap[k][m[k] / 2], gap[k][m[k] * 9 / 10], gap[k][m[k] - 1]);
  }
  printf("worker 1 parked %llu times in the traced frames\n", (unsigned long long)(after.parks - before.parks));
  free(ev);
  free(gap[0]);
  free(gap[1]);
  free(merge_end);
  free(first[0]);
  free(first[1]);
  must(myr_schedule_trace_end(sc, NULL), "trace end");
  myr_schedule_destroy(sc);
  must(myr_jobs_destroy(pool), "pool");
  myr_world_destroy(w);
  return 0;
}

int main(int argc, char **argv) {
  uint32_t rounds = 7, n = 1000000, only = K_COUNT, ready_frames = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--entities") && i + 1 < argc) n = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--parallel-min") && i + 1 < argc) parallel_min = (uint32_t)strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--ready") && i + 1 < argc) {
      ready_frames = (uint32_t)strtoul(argv[++i], NULL, 10);
      if (ready_frames < 1 || ready_frames > 100000) {
        fprintf(stderr, "bench_patch: --ready takes 1..100000 frames\n");
        return 2;
      }
    } else if (!strcmp(argv[i], "--kind") && i + 1 < argc) {
      for (only = 0; only < K_COUNT && strcmp(kind_names[only], argv[i + 1]); only++) {}
      if (only == K_COUNT) {
        fprintf(stderr, "bench_patch: unknown kind '%s'\n", argv[i + 1]);
        return 2;
      }
      i++;
    } else {
      fprintf(stderr,
              "usage: bench_patch [--rounds R] [--entities N] [--kind set|destroy|spawn+values|add+values|remove] "
              "[--parallel-min P] [--ready FRAMES]\n");
      return 2;
    }
  }
  if (rounds < 1 || rounds > 1000 || n < 1000 || n > 50000000) {
    fprintf(stderr, "bench_patch: rounds 1..1000, entities 1000..50000000\n");
    return 2;
  }
  if (ready_frames) return ready(n, ready_frames);
  const uint32_t strides[] = {16, 2};
  printf("%-13s %9s %12s %12s %12s %9s %9s\n", "patches", "per round", "by hand M/s", "1 worker M/s", "2 workers M/s",
         "1w/hand", "2w/1w");
  for (uint32_t k = 0; k < K_COUNT; k++)
    for (uint32_t s = 0; s < 2 && (only == K_COUNT || only == k); s++) {
      uint64_t patches = 0, p2 = 0;
      uint64_t hand_ns = by_hand((kind)k, n, strides[s], rounds);
      uint64_t one = through_schedule((kind)k, n, strides[s], 1, rounds, &patches);
      uint64_t two = through_schedule((kind)k, n, strides[s], 2, rounds, &p2);
      double mh = patches * 1e3 / (double)hand_ns, m1 = patches * 1e3 / (double)one, m2 = patches * 1e3 / (double)two;
      printf("%-13s %9llu %12.1f %12.1f %12.1f %8.2fx %8.2fx\n", kind_names[k], (unsigned long long)patches, mh, m1, m2,
             m1 / mh, m2 / m1);
      fflush(stdout);
    }
  return 0;
}
