/* Schedule and patch benchmarks: frame overhead, an integrate system
 * through the schedule beside hand-written loops (serial and split over the
 * same threads), patch recording, and merge+apply of 1M patches beside the
 * same changes made directly through the world API. */
#define _DEFAULT_SOURCE /* madvise, in baseline.h */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "common.h"
#include "kernels.h"
#include "myriad/myriad.h"
#include "shim/bench.h"

enum { N = 1000000, PATCHES = 1000000 };
static const float DT = 1.0f / 60.0f;

typedef struct scene {
  myr_world *w;
  myr_component pos, vel, tag;
  myr_entity *ids;
} scene;

static void scene_make(scene *s, uint32_t n) {
  must(myr_world_create(NULL, &s->w), "world");
  must(myr_component_register(s->w, &(myr_component_desc){"Position", vec3_fields, 3, sizeof(vec3)}, &s->pos),
       "Position");
  must(myr_component_register(s->w, &(myr_component_desc){"Velocity", vec3_fields, 3, sizeof(vec3)}, &s->vel),
       "Velocity");
  must(myr_component_register(s->w, &(myr_component_desc){"Tag", NULL, 0, 0}, &s->tag), "Tag");
  s->ids = n ? malloc(sizeof(myr_entity) * n) : NULL;
  if (n) {
    const myr_component set[] = {s->pos, s->vel};
    const void *values[] = {&(vec3){1, 2, 3}, &(vec3){0.5f, 0.25f, 0.125f}};
    must(
        myr_entity_create_bulk(
            s->w,
            &(myr_bulk_desc){.components = set, .component_count = 2, .values = values, .count = n, .ids_out = s->ids}),
        "bulk");
  }
}

static void scene_free(scene *s) {
  free(s->ids);
  myr_world_destroy(s->w);
}

/* ---- frame overhead ------------------------------------------------------ */

static void touch(const myr_view *v, myr_patches *p) {
  (void)p;
  myr_bench_do_not_optimize(v->chunk.ids);
}

typedef struct overhead_case {
  uint32_t workers, entities;
} overhead_case;

static void frame_overhead(myr_bench_state *st, void *ctx) {
  const overhead_case *c = ctx;
  scene s;
  scene_make(&s, c->entities);
  myr_jobs *pool;
  must(myr_jobs_create(&(myr_jobs_desc){.workers = c->workers}, &pool), "pool");
  myr_schedule *sc;
  must(myr_schedule_create(s.w, &(myr_schedule_desc){.jobs = pool}, &sc), "schedule");
  /* 20 systems: half read Position, half write Velocity, so the DAG has
   * both parallel systems and chains */
  for (int i = 0; i < 20; i++) {
    char name[16];
    snprintf(name, sizeof name, "system%02d", i);
    myr_term t = i % 2 ? (myr_term){s.vel, MYR_TERM_WRITE} : (myr_term){s.pos, MYR_TERM_READ};
    must(myr_schedule_add(
             sc, &(myr_system_desc){.name = name, .terms = &t, .term_count = 1, .fn = touch, .stage = (uint32_t)i / 10},
             NULL),
         "add");
  }
  while (myr_bench_keep_running(st)) must(myr_schedule_run(sc, DT), "run");
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st));
  myr_schedule_destroy(sc);
  myr_jobs_destroy(pool);
  scene_free(&s);
}

/* ---- integrate ----------------------------------------------------------- */

static void integrate(const myr_view *v, myr_patches *p) {
  (void)p;
  kernel_integrate(myr_chunk_column(&v->chunk, 0, 0), myr_chunk_column(&v->chunk, 0, 1),
                   myr_chunk_column(&v->chunk, 0, 2), myr_chunk_column(&v->chunk, 1, 0),
                   myr_chunk_column(&v->chunk, 1, 1), myr_chunk_column(&v->chunk, 1, 2), v->chunk.count, DT);
}

static void schedule_integrate(myr_bench_state *st, void *ctx) {
  uint32_t workers = (uint32_t)(uintptr_t)ctx;
  scene s;
  scene_make(&s, N);
  myr_jobs *pool;
  must(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), "pool");
  myr_schedule *sc;
  must(myr_schedule_create(s.w, &(myr_schedule_desc){.jobs = pool}, &sc), "schedule");
  const myr_term terms[] = {{s.pos, MYR_TERM_WRITE}, {s.vel, MYR_TERM_READ}};
  must(myr_schedule_add(sc, &(myr_system_desc){.name = "integrate", .terms = terms, .term_count = 2, .fn = integrate},
                        NULL),
       "add");
  while (myr_bench_keep_running(st)) {
    must(myr_schedule_run(sc, DT), "run");
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
  myr_schedule_destroy(sc);
  myr_jobs_destroy(pool);
  scene_free(&s);
}

typedef struct plain {
  float *a[6];
} plain;

static void plain_part(void *ctx, uint32_t part, uint32_t parts) {
  plain *p = ctx;
  size_t b = (size_t)N * part / parts, e = (size_t)N * (part + 1) / parts;
  kernel_integrate(p->a[0] + b, p->a[1] + b, p->a[2] + b, p->a[3] + b, p->a[4] + b, p->a[5] + b, e - b, DT);
}

/* The hand-written loop over six columns laid out as a table's, on the
 * calling thread alone or split with a spinning helper thread created
 * outside the timing (baseline.h). */
static void plain_integrate(myr_bench_state *st, void *ctx) {
  uint32_t parts = (uint32_t)(uintptr_t)ctx;
  plain p;
  void *block = baseline_columns(6, N, sizeof(float), (void **)p.a);
  for (int c = 0; c < 6; c++)
    for (size_t i = 0; i < N; i++) p.a[c][i] = (float)(c + 1);
  spin_team team;
  team_start(&team, parts, plain_part, &p);
  while (myr_bench_keep_running(st)) {
    team_run(&team);
    myr_bench_clobber();
  }
  team_stop(&team);
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * N);
  free(block);
}

/* ---- patches ------------------------------------------------------------- */

static void record_sets(myr_bench_state *st, void *ctx) {
  (void)ctx;
  scene s;
  scene_make(&s, 1024);
  myr_patches *p;
  must(myr_patches_create(s.w, &p), "patches");
  const vec3 v = {1, 2, 3};
  /* one untimed round first: the buffer grows to its steady size */
  for (uint32_t i = 0; i < PATCHES; i++) myr_patch_set(p, s.ids[i & 1023], s.pos, &v);
  myr_patches_clear(p);
  while (myr_bench_keep_running(st)) {
    for (uint32_t i = 0; i < PATCHES; i++) myr_patch_set(p, s.ids[i & 1023], s.pos, &v);
    myr_bench_clobber();
    myr_patches_clear(p);
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * PATCHES);
  myr_patches_destroy(p);
  scene_free(&s);
}

typedef enum apply_kind { APPLY_SET, APPLY_ADD_REMOVE, APPLY_SPAWN_DESTROY } apply_kind;

typedef struct apply_case {
  apply_kind kind;
  scene s;
  myr_patches *p;
  myr_query *q;
  bool forward; /* add or spawn; else remove or destroy */
} apply_case;

static void apply_setup(apply_case *c, apply_kind kind) {
  c->kind = kind;
  scene_make(&c->s, kind == APPLY_SPAWN_DESTROY ? 0 : N);
  if (!c->s.ids) c->s.ids = malloc(sizeof(myr_entity) * N);
  must(myr_patches_create(c->s.w, &c->p), "patches");
  must(myr_query_create(c->s.w, &(myr_query_desc){(myr_term[]){{c->s.pos, MYR_TERM_READ}}, 1}, &c->q), "query");
  c->forward = true;
}

static void apply_teardown(apply_case *c) {
  myr_query_destroy(c->q);
  myr_patches_destroy(c->p);
  scene_free(&c->s);
}

/* Records one round of 1M patches. */
static void apply_record(apply_case *c) {
  const myr_component spawn_set[] = {c->s.pos, c->s.vel};
  const vec3 v = {1, 2, 3};
  if (c->kind == APPLY_SPAWN_DESTROY && !c->forward) { /* the spawned ids, through a query */
    myr_query_iter it;
    myr_chunk ch;
    size_t n = 0;
    must(myr_query_iter_init(c->q, 0, &it), "iter");
    while (myr_query_next(&it, &ch)) {
      memcpy(c->s.ids + n, ch.ids, ch.count * sizeof(myr_entity));
      n += ch.count;
    }
  }
  for (uint32_t i = 0; i < PATCHES; i++) {
    switch (c->kind) {
    case APPLY_SET: myr_patch_set(c->p, c->s.ids[i], c->s.pos, &v); break;
    case APPLY_ADD_REMOVE:
      if (c->forward) myr_patch_add(c->p, c->s.ids[i], c->s.tag, NULL);
      else myr_patch_remove(c->p, c->s.ids[i], c->s.tag);
      break;
    case APPLY_SPAWN_DESTROY:
      if (c->forward) myr_patch_spawn(c->p, spawn_set, 2, NULL, NULL);
      else myr_patch_destroy(c->p, c->s.ids[i]);
      break;
    }
  }
}

static void apply_round(apply_case *c) {
  must(myr_patches_apply(c->p, NULL), "apply");
  c->forward = !c->forward;
}

/* Records 1M patches of one kind (untimed) and applies them (timed). Add and
 * remove alternate between iterations, as do spawn and destroy. Two untimed
 * rounds first, so tables and the merge's work space exist. */
static void apply_patches(myr_bench_state *st, void *ctx) {
  apply_case c;
  apply_setup(&c, (apply_kind)(uintptr_t)ctx);
  for (int warm = 0; warm < 2; warm++) {
    apply_record(&c);
    apply_round(&c);
  }
  while (myr_bench_keep_running(st)) {
    myr_bench_pause(st);
    apply_record(&c);
    myr_bench_resume(st);
    apply_round(&c);
    myr_bench_clobber();
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * PATCHES);
  apply_teardown(&c);
}

/* Spawn and destroy timed apart: each iteration times one direction and
 * runs the other untimed. */
static void apply_one_way(myr_bench_state *st, void *ctx) {
  bool time_spawns = ctx != NULL;
  apply_case c;
  apply_setup(&c, APPLY_SPAWN_DESTROY);
  for (int warm = 0; warm < 2; warm++) {
    apply_record(&c);
    apply_round(&c);
  }
  while (myr_bench_keep_running(st)) {
    for (int half = 0; half < 2; half++) {
      bool timed = c.forward == time_spawns;
      myr_bench_pause(st);
      apply_record(&c);
      if (timed) myr_bench_resume(st);
      apply_round(&c);
      myr_bench_clobber();
      if (!timed) myr_bench_resume(st);
    }
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * PATCHES);
  apply_teardown(&c);
}

/* The same changes made at once through the world API, for comparison:
 * creation in bulk, the fastest way the API has. */
static void direct_round(scene *s, apply_kind kind, bool forward) {
  const vec3 v = {1, 2, 3};
  if (kind == APPLY_SPAWN_DESTROY && forward) {
    const myr_component set[] = {s->pos, s->vel};
    must(myr_entity_create_bulk(
             s->w,
             &(myr_bulk_desc){
                 .components = set, .component_count = 2, .values = NULL, .count = PATCHES, .ids_out = s->ids}),
         "bulk");
    return;
  }
  for (uint32_t i = 0; i < PATCHES; i++) {
    switch (kind) {
    case APPLY_SET: myr_component_set(s->w, s->ids[i], s->pos, &v); break;
    case APPLY_ADD_REMOVE:
      if (forward) myr_component_add(s->w, s->ids[i], s->tag, NULL);
      else myr_component_remove(s->w, s->ids[i], s->tag);
      break;
    case APPLY_SPAWN_DESTROY: myr_entity_destroy(s->w, s->ids[i]); break;
    }
  }
}

static void apply_direct(myr_bench_state *st, void *ctx) {
  apply_kind kind = (apply_kind)(uintptr_t)ctx;
  scene s;
  scene_make(&s, kind == APPLY_SPAWN_DESTROY ? 0 : N);
  if (!s.ids) s.ids = malloc(sizeof(myr_entity) * N);
  direct_round(&s, kind, true);
  direct_round(&s, kind, false);
  bool forward = true;
  while (myr_bench_keep_running(st)) {
    direct_round(&s, kind, forward);
    myr_bench_clobber();
    forward = !forward;
  }
  myr_bench_set_items(st, (int64_t)myr_bench_iterations(st) * PATCHES);
  scene_free(&s);
}

int main(int argc, char **argv) {
  static const overhead_case overhead[] = {{1, 0}, {2, 0}, {1, 1000}, {2, 1000}};
  static char names[4][64];
  for (int i = 0; i < 4; i++) {
    snprintf(names[i], sizeof names[i], "schedule/frame_20_systems/entities:%u/workers:%u", overhead[i].entities,
             overhead[i].workers);
    myr_bench_register(names[i], frame_overhead, (void *)&overhead[i]);
  }
  myr_bench_register("schedule/integrate_1M/workers:1", schedule_integrate, (void *)1);
  myr_bench_register("schedule/integrate_1M/workers:2", schedule_integrate, (void *)2);
  myr_bench_register("baseline/integrate_1M/serial", plain_integrate, (void *)1);
  myr_bench_register("baseline/integrate_1M/pthreads:2", plain_integrate, (void *)2);
  myr_bench_register("patches/record_set", record_sets, NULL);
  myr_bench_register("patches/apply_set_1M", apply_patches, (void *)APPLY_SET);
  myr_bench_register("patches/apply_add_remove_1M", apply_patches, (void *)APPLY_ADD_REMOVE);
  myr_bench_register("patches/apply_spawn_destroy_1M", apply_patches, (void *)APPLY_SPAWN_DESTROY);
  myr_bench_register("patches/apply_spawn_1M", apply_one_way, (void *)1);
  myr_bench_register("patches/apply_destroy_1M", apply_one_way, NULL);
  myr_bench_register("direct/set_1M", apply_direct, (void *)APPLY_SET);
  myr_bench_register("direct/add_remove_1M", apply_direct, (void *)APPLY_ADD_REMOVE);
  myr_bench_register("direct/create_destroy_1M", apply_direct, (void *)APPLY_SPAWN_DESTROY);

  myr_bench_ratio("integrate, 2 workers vs hand-split pthreads", "schedule/integrate_1M/workers:2",
                  "baseline/integrate_1M/pthreads:2", 0.9);
  myr_bench_ratio("integrate, 2 workers vs 1 worker", "schedule/integrate_1M/workers:2",
                  "schedule/integrate_1M/workers:1", 1.7);
  myr_bench_ratio("integrate, 1 worker vs serial loop", "schedule/integrate_1M/workers:1",
                  "baseline/integrate_1M/serial", 0);
  myr_bench_ratio("hand-split pthreads vs serial loop", "baseline/integrate_1M/pthreads:2",
                  "baseline/integrate_1M/serial", 0);
  myr_bench_ratio("apply set patches vs direct myr_component_set", "patches/apply_set_1M", "direct/set_1M", 0);
  myr_bench_ratio("apply add/remove patches vs direct add/remove", "patches/apply_add_remove_1M",
                  "direct/add_remove_1M", 0);
  myr_bench_ratio("apply spawn/destroy patches vs direct create/destroy", "patches/apply_spawn_destroy_1M",
                  "direct/create_destroy_1M", 0);
  return myr_bench_main(argc, argv);
}
