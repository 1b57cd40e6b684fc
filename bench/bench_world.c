/* World benchmarks: bulk creation and query iteration, each beside a
 * hand-written loop over plain arrays doing the same work in the same run. */
#define _DEFAULT_SOURCE /* mallopt */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "common.h"
#include "kernels.h"
#include "myriad/myriad.h"
#include "shim/bench.h"

enum { N = 1000000, CHUNK = 4096 };
static const float DT = 1.0f / 60.0f;

static const vec3 pos0 = {1, 2, 3}, vel0 = {0.5f, 0.25f, 0.125f};

typedef struct scene {
  myr_world *w;
  myr_component pos, vel;
  myr_entity *ids;
} scene;

static void scene_make(scene *s) {
  must(myr_world_create(NULL, &s->w), "world");
  must(myr_component_register(s->w, &(myr_component_desc){"Position", vec3_fields, 3, sizeof(vec3)}, &s->pos),
       "Position");
  must(myr_component_register(s->w, &(myr_component_desc){"Velocity", vec3_fields, 3, sizeof(vec3)}, &s->vel),
       "Velocity");
}

static void scene_spawn(scene *s, myr_entity *ids) {
  const myr_component set[] = {s->pos, s->vel};
  const void *values[] = {&pos0, &vel0};
  must(myr_entity_create_bulk(
           s->w,
           &(myr_bulk_desc){.components = set, .component_count = 2, .values = values, .count = N, .ids_out = ids}),
       "bulk create");
}

/* ---- bulk creation ------------------------------------------------------- */

/* Into a new world: the time includes the kernel handing out fresh pages. */
static void bulk_create_cold(myr_bench_state *st, void *ctx) {
  (void)ctx;
  while (myr_bench_keep_running(st)) {
    myr_bench_pause(st);
    scene s;
    scene_make(&s);
    myr_bench_resume(st);
    scene_spawn(&s, NULL);
    myr_bench_clobber();
    myr_bench_pause(st);
    myr_world_destroy(s.w);
    myr_bench_resume(st);
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
}

/* Into a world whose memory is already there: entities destroyed between
 * iterations (untimed), so ids come back from the free list. */
static void bulk_create_warm(myr_bench_state *st, void *ctx) {
  (void)ctx;
  scene s;
  scene_make(&s);
  myr_entity *ids = malloc(N * sizeof *ids);
  myr_query *q;
  const myr_term terms[] = {{s.pos, MYR_TERM_READ}};
  must(myr_query_create(s.w, &(myr_query_desc){terms, 1}, &q), "query");
  while (myr_bench_keep_running(st)) {
    scene_spawn(&s, NULL);
    myr_bench_clobber();
    myr_bench_pause(st);
    /* collect the ids through a query, then destroy from the last row */
    size_t n = 0;
    myr_query_iter it;
    myr_chunk c;
    must(myr_query_iter_init(q, 0, &it), "iterate");
    while (myr_query_next(&it, &c)) {
      memcpy(ids + n, c.ids, c.count * sizeof *ids);
      n += c.count;
    }
    while (n-- > 0) must(myr_entity_destroy(s.w, ids[n]), "destroy");
    myr_bench_resume(st);
  }
  myr_query_destroy(q);
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
  free(ids);
  myr_world_destroy(s.w);
}

/* What bulk creation must write, by hand: an id and a 16-byte index record
 * per entity, and six float columns. */
typedef struct record {
  uint32_t gen, table, row, next;
} record;
typedef struct plain {
  uint64_t *ids;
  record *rec;
  float *col[6];
  void *block;
} plain;

/* The columns in one block laid out as a table's (baseline.h); the ids and
 * the records in blocks of their own, as the world keeps them. */
static void plain_alloc(plain *p) {
  void *cols[6];
  p->block = baseline_columns(6, N, sizeof(float), cols);
  for (int c = 0; c < 6; c++) p->col[c] = cols[c];
  p->ids = baseline_alloc(N * sizeof *p->ids);
  p->rec = baseline_alloc(N * sizeof *p->rec);
}

static void plain_free(plain *p) {
  free(p->ids);
  free(p->rec);
  free(p->block);
}

__attribute__((noinline)) static void plain_fill(plain *p) {
  const float v[6] = {pos0.x, pos0.y, pos0.z, vel0.x, vel0.y, vel0.z};
  for (int c = 0; c < 6; c++)
    for (size_t i = 0; i < N; i++) p->col[c][i] = v[c];
  for (uint32_t i = 0; i < N; i++) {
    p->rec[i] = (record){1, 1, i, UINT32_MAX};
    p->ids[i] = (1ull << 32) | i;
  }
}

static void fill_cold(myr_bench_state *st, void *ctx) {
  (void)ctx;
  while (myr_bench_keep_running(st)) {
    plain p;
    plain_alloc(&p);
    plain_fill(&p);
    myr_bench_clobber();
    myr_bench_pause(st);
    plain_free(&p);
    myr_bench_resume(st);
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
}

static void fill_warm(myr_bench_state *st, void *ctx) {
  (void)ctx;
  plain p;
  plain_alloc(&p);
  plain_fill(&p);
  while (myr_bench_keep_running(st)) {
    plain_fill(&p);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
  plain_free(&p);
}

/* ---- iteration ----------------------------------------------------------- */

static void query_integrate(myr_bench_state *st, void *ctx) {
  uint32_t chunk = (uint32_t)(uintptr_t)ctx;
  scene s;
  scene_make(&s);
  scene_spawn(&s, NULL);
  myr_query *q;
  const myr_term terms[] = {{s.pos, MYR_TERM_WRITE}, {s.vel, MYR_TERM_READ}};
  must(myr_query_create(s.w, &(myr_query_desc){terms, 2}, &q), "query");
  while (myr_bench_keep_running(st)) {
    myr_query_iter it;
    myr_chunk c;
    myr_query_iter_init(q, chunk, &it);
    while (myr_query_next(&it, &c))
      kernel_integrate(myr_chunk_column(&c, 0, 0), myr_chunk_column(&c, 0, 1), myr_chunk_column(&c, 0, 2),
                       myr_chunk_column(&c, 1, 0), myr_chunk_column(&c, 1, 1), myr_chunk_column(&c, 1, 2), c.count, DT);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
  myr_query_destroy(q);
  myr_world_destroy(s.w);
}

static void plain_integrate(myr_bench_state *st, void *ctx) {
  int pairs = ctx != NULL;
  float *a[6];
  void *block = baseline_columns(6, N, sizeof(float), (void **)a);
  for (int c = 0; c < 6; c++)
    for (size_t i = 0; i < N; i++) a[c][i] = (float)(c + 1);
  while (myr_bench_keep_running(st)) {
    if (pairs)
      for (int f = 0; f < 3; f++) kernel_axpy(a[f], a[3 + f], N, DT);
    else kernel_integrate(a[0], a[1], a[2], a[3], a[4], a[5], N, DT);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
  free(block);
}

/* ---- immediate add and remove of a tag ------------------------------------ */

/* 1M entities of two components: a tag added to each (timed) and removed
 * again (untimed), or the other way round. */
static void tag_round(myr_bench_state *st, void *ctx) {
  bool time_adds = ctx != NULL;
  scene s;
  scene_make(&s);
  myr_component tag;
  must(myr_component_register(s.w, &(myr_component_desc){"Tag", NULL, 0, 0}, &tag), "Tag");
  myr_entity *ids = malloc(N * sizeof *ids);
  scene_spawn(&s, ids);
  for (int warm = 0; warm < 2; warm++) { /* tables at full size before timing */
    for (uint32_t i = 0; i < N; i++) myr_component_add(s.w, ids[i], tag, NULL);
    for (uint32_t i = 0; i < N; i++) myr_component_remove(s.w, ids[i], tag);
  }
  while (myr_bench_keep_running(st)) {
    if (!time_adds) myr_bench_pause(st);
    for (uint32_t i = 0; i < N; i++) myr_component_add(s.w, ids[i], tag, NULL);
    if (!time_adds) myr_bench_resume(st);
    else myr_bench_pause(st);
    for (uint32_t i = 0; i < N; i++) myr_component_remove(s.w, ids[i], tag);
    if (time_adds) myr_bench_resume(st);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
  free(ids);
  myr_world_destroy(s.w);
}

/* Into a new world, 1M entities created one at a time, each given a tag
 * at once: the tables and the entity index grow from nothing, so the time
 * is mostly growth (the kernel's fresh pages included). */
static void create_tag_cold(myr_bench_state *st, void *ctx) {
  (void)ctx;
  while (myr_bench_keep_running(st)) {
    myr_bench_pause(st);
    myr_world *w;
    myr_component tag;
    must(myr_world_create(NULL, &w), "world");
    must(myr_component_register(w, &(myr_component_desc){"Tag", NULL, 0, 0}, &tag), "Tag");
    myr_bench_resume(st);
    for (uint32_t i = 0; i < N; i++) {
      myr_entity e;
      must(myr_entity_create(w, &e), "create");
      must(myr_component_add(w, e, tag, NULL), "add");
    }
    myr_bench_clobber();
    myr_bench_pause(st);
    myr_world_destroy(w);
    myr_bench_resume(st);
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
}

/* The same moves written by hand for this one case: two tables of six
 * float columns laid out as the library's (baseline.h), a record of table
 * and row per entity, the loop over columns unrolled at compile time, and
 * no checks. An add pass moves every entity from table 0 to table 1 in id
 * order (the last row swapped into each hole), a remove pass back. */
enum { HAND_COLS = 6 };
typedef struct hand_table {
  uint64_t *ids;
  float *col[HAND_COLS];
  uint32_t count;
  void *block;
} hand_table;

typedef struct hand_record {
  uint32_t table, row;
} hand_record;

__attribute__((noinline)) static void hand_move(hand_record *recs, hand_table *src, hand_table *dst, uint32_t dst_id,
                                                uint32_t e) {
  hand_record *r = &recs[e];
  uint32_t sr = r->row, dr = dst->count++, last = --src->count;
  dst->ids[dr] = e;
  for (int c = 0; c < HAND_COLS; c++) dst->col[c][dr] = src->col[c][sr];
  if (sr != last) {
    uint64_t moved = src->ids[last];
    src->ids[sr] = moved;
    for (int c = 0; c < HAND_COLS; c++) src->col[c][sr] = src->col[c][last];
    recs[moved].row = sr;
  }
  r->table = dst_id;
  r->row = dr;
}

static void hand_tag_moves(myr_bench_state *st, void *ctx) {
  (void)ctx;
  hand_table t[2];
  for (int k = 0; k < 2; k++) {
    t[k].block = baseline_columns(HAND_COLS, N, sizeof(float), (void **)t[k].col);
    t[k].ids = t[k].block; /* region 0 of the block, as a table's ids */
    t[k].count = 0;
  }
  hand_record *recs = baseline_alloc(N * sizeof *recs);
  for (uint32_t i = 0; i < N; i++) {
    t[0].ids[i] = i;
    for (int c = 0; c < HAND_COLS; c++) t[0].col[c][i] = (float)(i + c);
    recs[i] = (hand_record){0, i};
  }
  t[0].count = N;
  for (int warm = 0; warm < 2; warm++)
    for (int k = 0; k < 2; k++)
      for (uint32_t i = 0; i < N; i++) hand_move(recs, &t[k], &t[1 - k], (uint32_t)(1 - k), i);
  while (myr_bench_keep_running(st)) {
    for (int k = 0; k < 2; k++)
      for (uint32_t i = 0; i < N; i++) hand_move(recs, &t[k], &t[1 - k], (uint32_t)(1 - k), i);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * 2 * N);
  if (recs[N / 2].table != 0 || t[0].col[0][recs[N / 2].row] != (float)(N / 2))
    myr_bench_skip(st, "a hand move lost a value");
  free(recs);
  free(t[0].block);
  free(t[1].block);
}

int main(int argc, char **argv) {
  /* A fixed threshold: every large block is a fresh mmap, for the library
   * and the baseline alike (glibc otherwise moves it as blocks are freed). */
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  myr_bench_register("world/bulk_create_1M_cold", bulk_create_cold, NULL);
  myr_bench_register("baseline/fill_1M_cold", fill_cold, NULL);
  myr_bench_register("world/bulk_create_1M_warm", bulk_create_warm, NULL);
  myr_bench_register("baseline/fill_1M_warm", fill_warm, NULL);
  myr_bench_register("world/query_integrate_1M_chunk4096", query_integrate, (void *)(uintptr_t)CHUNK);
  myr_bench_register("world/query_integrate_1M_whole", query_integrate, (void *)(uintptr_t)0);
  myr_bench_register("baseline/integrate_1M", plain_integrate, NULL);
  myr_bench_register("baseline/integrate_1M_field_pairs", plain_integrate, (void *)1);
  myr_bench_register("world/add_tag_1M", tag_round, (void *)1);
  myr_bench_register("world/remove_tag_1M", tag_round, NULL);
  myr_bench_register("baseline/tag_moves_1M_by_hand", hand_tag_moves, NULL);
  myr_bench_register("world/create_then_tag_1M_cold", create_tag_cold, NULL);
  myr_bench_ratio("bulk create (cold) vs hand-written fill of the same bytes", "world/bulk_create_1M_cold",
                  "baseline/fill_1M_cold", 0);
  myr_bench_ratio("bulk create (warm) vs hand-written fill of the same bytes", "world/bulk_create_1M_warm",
                  "baseline/fill_1M_warm", 0);
  myr_bench_ratio("query chunk 4096 vs the faster hand-written loop", "world/query_integrate_1M_chunk4096",
                  "baseline/integrate_1M|baseline/integrate_1M_field_pairs", 0.95);
  myr_bench_ratio("query chunk 4096 vs hand-written, one field pair at a time", "world/query_integrate_1M_chunk4096",
                  "baseline/integrate_1M_field_pairs", 0);
  myr_bench_ratio("query whole tables vs hand-written loop", "world/query_integrate_1M_whole", "baseline/integrate_1M",
                  0);
  myr_bench_ratio("add a tag vs the same moves by hand", "world/add_tag_1M", "baseline/tag_moves_1M_by_hand", 0);
  myr_bench_ratio("remove a tag vs the same moves by hand", "world/remove_tag_1M", "baseline/tag_moves_1M_by_hand", 0);
  return myr_bench_main(argc, argv);
}
