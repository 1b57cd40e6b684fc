/* The schedule: building the DAG, running systems over chunks, stages,
 * flags, stats and misuse. */
#include <pthread.h>
#include <stdatomic.h>

#include "helpers.h"

typedef struct sfix {
  fixture f;
  myr_jobs *pool;
  myr_schedule *s;
} sfix;

static int sfix_setup_n(void **state, uint32_t workers) {
  sfix *x = calloc(1, sizeof *x);
  if (!x || myr_world_create(checked_world(), &x->f.w) != MYR_OK) return -1;
  fixture_register(&x->f);
  if (workers && myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &x->pool) != MYR_OK) return -1;
  if (myr_schedule_create(x->f.w, &(myr_schedule_desc){.jobs = x->pool, .chunk_rows = 64}, &x->s) != MYR_OK) return -1;
  *state = x;
  return 0;
}
static int sfix_setup(void **state) { return sfix_setup_n(state, 2); }
static int sfix_setup_inline(void **state) { return sfix_setup_n(state, 0); }

static int sfix_teardown(void **state) {
  sfix *x = *state;
  myr_schedule_destroy(x->s);
  myr_jobs_destroy(x->pool);
  myr_world_destroy(x->f.w);
  free(x);
  return 0;
}

static void noop(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
}

static myr_system add(sfix *x, const char *name, uint32_t stage, const myr_term *terms, uint32_t n, myr_system_fn fn,
                      void *user) {
  myr_system id;
  assert_int_equal(
      myr_schedule_add(
          x->s,
          &(myr_system_desc){.name = name, .terms = terms, .term_count = n, .fn = fn, .user = user, .stage = stage},
          &id),
      MYR_OK);
  return id;
}

static char *plan_text(myr_schedule *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_print_plan(s, f), MYR_OK);
  fclose(f);
  return buf;
}

static void conflicts_become_edges_and_the_plan_says_why(void **state) {
  sfix *x = *state;
  add(x, "move", 0, (myr_term[]){{x->f.pos, MYR_TERM_WRITE}, {x->f.vel, MYR_TERM_READ}}, 2, noop, NULL);
  add(x, "steer", 0, (myr_term[]){{x->f.vel, MYR_TERM_WRITE}}, 1, noop, NULL);
  add(x, "heal", 0, (myr_term[]){{x->f.health, MYR_TERM_WRITE}}, 1, noop, NULL);
  add(x, "draw", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, noop, NULL);
  add(x, "later", 1, (myr_term[]){{x->f.pos, MYR_TERM_WRITE}}, 1, noop, NULL);
  assert_int_equal(myr_schedule_build(x->s), MYR_OK);
  assert_int_equal(myr_schedule_stage_count(x->s), 2);
  char *plan = plan_text(x->s);
  fprintf(stderr, "%s", plan);
  assert_non_null(strstr(plan, "after move: it reads Velocity, written here"));
  assert_non_null(strstr(plan, "after move: it writes Position, read here"));
  assert_non_null(strstr(plan, "heal (chunk 64) ready at start"));
  assert_null(strstr(plan, "after heal"));
  assert_non_null(strstr(plan, "stage 1:"));
  free(plan);
}

static void unknown_names_and_cycles_are_build_errors(void **state) {
  sfix *x = *state;
  const char *after_b[] = {"b"}, *after_ghost[] = {"ghost"}, *before_a[] = {"a"};
  myr_term t = {x->f.pos, MYR_TERM_READ};
  myr_system id;
  assert_int_equal(
      myr_schedule_add(
          x->s,
          &(myr_system_desc){.name = "a", .terms = &t, .term_count = 1, .fn = noop, .after = after_b, .after_count = 1},
          &id),
      MYR_OK);
  assert_int_equal(
      myr_schedule_add(x->s, &(myr_system_desc){.name = "b", .terms = &t, .term_count = 1, .fn = noop}, &id), MYR_OK);
  assert_int_equal(myr_schedule_build(x->s), MYR_OK); /* b before a: fine, no conflict */
  assert_int_equal(
      myr_schedule_add(
          x->s,
          &(myr_system_desc){
              .name = "c", .terms = &t, .term_count = 1, .fn = noop, .after = after_ghost, .after_count = 1},
          &id),
      MYR_OK);
  assert_int_equal(myr_schedule_build(x->s), MYR_ENOTFOUND);
  assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_ENOTFOUND);
  sfix *y;
  assert_int_equal(sfix_setup((void **)&y), 0);
  myr_term w = {y->f.pos, MYR_TERM_WRITE};
  /* "first" writes Position before "second" (registration order), but
   * "first" asks to run after "second": a cycle */
  const char *after_second[] = {"second"};
  assert_int_equal(
      myr_schedule_add(
          y->s,
          &(myr_system_desc){
              .name = "first", .terms = &w, .term_count = 1, .fn = noop, .after = after_second, .after_count = 1},
          &id),
      MYR_OK);
  assert_int_equal(
      myr_schedule_add(y->s, &(myr_system_desc){.name = "second", .terms = &w, .term_count = 1, .fn = noop}, &id),
      MYR_OK);
  assert_int_equal(myr_schedule_build(y->s), MYR_ECYCLE);
  /* an edge against the stage order is a cycle too */
  void *ys = y;
  sfix_teardown(&ys);
  assert_int_equal(sfix_setup((void **)&y), 0);
  assert_int_equal(myr_schedule_add(y->s,
                                    &(myr_system_desc){.name = "a",
                                                       .terms = &w,
                                                       .term_count = 1,
                                                       .fn = noop,
                                                       .stage = 1,
                                                       .before = before_a + 0,
                                                       .before_count = 0},
                                    &id),
                   MYR_OK);
  const char *before_aa[] = {"a"};
  assert_int_equal(myr_schedule_add(y->s,
                                    &(myr_system_desc){.name = "z",
                                                       .terms = &w,
                                                       .term_count = 1,
                                                       .fn = noop,
                                                       .stage = 2,
                                                       .before = before_aa,
                                                       .before_count = 1},
                                    &id),
                   MYR_OK);
  assert_int_equal(myr_schedule_build(y->s), MYR_ECYCLE);
  ys = y;
  sfix_teardown(&ys);
}

static void bad_system_descriptions_are_rejected(void **state) {
  sfix *x = *state;
  myr_term t = {x->f.pos, MYR_TERM_READ};
  myr_system id;
  assert_int_equal(myr_schedule_add(x->s, &(myr_system_desc){.terms = &t, .term_count = 1, .fn = noop}, &id),
                   MYR_EINVAL);
  assert_int_equal(myr_schedule_add(x->s, &(myr_system_desc){.name = "n", .terms = &t, .term_count = 1}, &id),
                   MYR_EINVAL);
  assert_int_equal(
      myr_schedule_add(
          x->s,
          &(myr_system_desc){.name = "n", .terms = (myr_term[]){{77, MYR_TERM_READ}}, .term_count = 1, .fn = noop},
          &id),
      MYR_ENOCOMP);
  assert_int_equal(
      myr_schedule_add(
          x->s, &(myr_system_desc){.name = "n", .terms = &t, .term_count = 1, .fn = noop, .flags = 1u << 7}, &id),
      MYR_EINVAL);
  assert_int_equal(
      myr_schedule_add(x->s, &(myr_system_desc){.name = "n", .terms = &t, .term_count = 1, .fn = noop}, &id), MYR_OK);
  assert_int_equal(
      myr_schedule_add(x->s, &(myr_system_desc){.name = "n", .terms = &t, .term_count = 1, .fn = noop}, &id),
      MYR_EEXIST);
  assert_int_equal(myr_schedule_find(x->s, "n", &id), MYR_OK);
  assert_int_equal(myr_schedule_find(x->s, "nope", &id), MYR_ENOTFOUND);
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, 5, 16), MYR_EINVAL);
  assert_int_equal(myr_schedule_system_count(x->s), 1);
}

/* ---- running ------------------------------------------------------------- */

typedef struct visit {
  _Atomic unsigned char *seen; /* by entity index */
  atomic_long chunks, bad, rows;
  uint32_t limit;
  pthread_t main_thread;
  atomic_long off_main;
} visit;

static void count_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  visit *vs = v->user;
  atomic_fetch_add(&vs->chunks, 1);
  atomic_fetch_add(&vs->rows, v->chunk.count);
  if (v->chunk.row % 16 || v->chunk.count > vs->limit) atomic_fetch_add(&vs->bad, 1);
  if (!pthread_equal(pthread_self(), vs->main_thread)) atomic_fetch_add(&vs->off_main, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) atomic_fetch_add(&vs->seen[MYR_ENTITY_INDEX(v->chunk.ids[i])], 1);
  float *x = myr_chunk_column(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) x[i] += 1;
}

static void every_row_is_visited_once_per_frame_in_bounded_chunks(void **state) {
  sfix *x = *state;
  enum { N = 5000 };
  myr_entity ids[N];
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos},
                                                                   .component_count = 1,
                                                                   .values = NULL,
                                                                   .count = N,
                                                                   .ids_out = ids}),
                   MYR_OK);
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos, x->f.tag},
                                                                   .component_count = 2,
                                                                   .values = NULL,
                                                                   .count = 77,
                                                                   .ids_out = NULL}),
                   MYR_OK);
  visit vs = {.seen = calloc(N + 100, 1), .limit = 64, .main_thread = pthread_self()};
  myr_system id = add(x, "count", 0, (myr_term[]){{x->f.pos, MYR_TERM_WRITE}}, 1, count_rows, &vs);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(atomic_load(&vs.bad), 0);
  for (int i = 0; i < N + 77; i++) assert_int_equal(vs.seen[i], 1);
  myr_system_stats st;
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.entities, N + 77);
  assert_int_equal(st.chunks, atomic_load(&vs.chunks));
  assert_int_equal(st.chunks, (N + 63) / 64 + 2);
  assert_int_equal(st.chunk_rows, 64);
  /* a new chunk size takes effect at the next frame */
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, id, 1000), MYR_OK);
  atomic_store(&vs.chunks, 0);
  vs.limit = 1008;
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(atomic_load(&vs.chunks), (N + 1007) / 1008 + 1);
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.frames, 2);
  assert_int_equal(st.total_entities, 2 * (N + 77));
  t_position p;
  assert_int_equal(myr_component_get(x->f.w, ids[17], x->f.pos, &p), MYR_OK);
  assert_true(p.x == 2.0f);
  free((void *)vs.seen);
}

static void main_thread_and_whole_systems_run_as_asked(void **state) {
  sfix *x = *state;
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos},
                                                                   .component_count = 1,
                                                                   .values = NULL,
                                                                   .count = 3000,
                                                                   .ids_out = NULL}),
                   MYR_OK);
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos, x->f.tag},
                                                                   .component_count = 2,
                                                                   .values = NULL,
                                                                   .count = 100,
                                                                   .ids_out = NULL}),
                   MYR_OK);
  visit main_vs = {.seen = calloc(4000, 1), .limit = 64, .main_thread = pthread_self()};
  visit whole_vs = {.seen = calloc(4000, 1), .limit = 100000, .main_thread = pthread_self()};
  myr_term t = {x->f.pos, MYR_TERM_WRITE};
  myr_system id;
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "main",
                                                       .terms = &t,
                                                       .term_count = 1,
                                                       .fn = count_rows,
                                                       .user = &main_vs,
                                                       .flags = MYR_SYSTEM_MAIN_THREAD},
                                    &id),
                   MYR_OK);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "whole",
                                                       .terms = &t,
                                                       .term_count = 1,
                                                       .fn = count_rows,
                                                       .user = &whole_vs,
                                                       .flags = MYR_SYSTEM_WHOLE},
                                    &id),
                   MYR_OK);
  for (int frame = 0; frame < 3; frame++) assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(atomic_load(&main_vs.off_main), 0);
  assert_int_equal(atomic_load(&main_vs.rows), 3 * 3100);
  assert_int_equal(atomic_load(&whole_vs.chunks), 3 * 2); /* one chunk per table */
  assert_int_equal(atomic_load(&whole_vs.rows), 3 * 3100);
  free((void *)main_vs.seen);
  free((void *)whole_vs.seen);
}

/* stage 0 spawns and adds through patches; stage 1 sees the result */
static atomic_int callback_errors; /* cmocka asserts only on the test's thread */

static void spawn_for_each(const myr_view *v, myr_patches *p) {
  const myr_component *c = v->user;
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    myr_entity e;
    int bad = myr_patch_spawn(p, &c[1], 1, (const void *[]){&(t_velocity){1, 0, 0}}, &e) != MYR_OK;
    bad |= myr_patch_add(p, e, c[2], NULL) != MYR_OK;
    bad |= myr_patch_add(p, v->chunk.ids[i], c[2], NULL) != MYR_OK;
    if (bad) atomic_fetch_add(&callback_errors, 1);
  }
}

static void count_tagged(const myr_view *v, myr_patches *p) {
  (void)p;
  atomic_fetch_add((atomic_long *)v->user, v->chunk.count);
}

static void patches_of_a_stage_are_visible_in_the_next(void **state) {
  sfix *x = *state;
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos},
                                                                   .component_count = 1,
                                                                   .values = NULL,
                                                                   .count = 500,
                                                                   .ids_out = NULL}),
                   MYR_OK);
  myr_component comps[3] = {x->f.pos, x->f.vel, x->f.tag};
  atomic_long tagged = 0;
  add(x, "spawn", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}, {x->f.tag, MYR_TERM_WITHOUT}}, 2, spawn_for_each, comps);
  myr_system counter = add(x, "count", 1, (myr_term[]){{x->f.tag, MYR_TERM_READ}}, 1, count_tagged, &tagged);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(atomic_load(&callback_errors), 0);
  assert_int_equal(atomic_load(&tagged), 1000); /* 500 tagged + 500 spawned and tagged */
  assert_int_equal(myr_world_entity_count(x->f.w), 1000);
  myr_stage_stats st;
  assert_int_equal(myr_schedule_stage_stats(x->s, 0, &st), MYR_OK);
  assert_int_equal(st.patches.recorded, 1500);
  assert_int_equal(st.patches.spawned, 500);
  assert_int_equal(st.patches.moved, 500);
  /* the next frame: the tagged ones are skipped by "spawn" */
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_world_entity_count(x->f.w), 1000);
  myr_system_stats ss;
  assert_int_equal(myr_schedule_system_stats(x->s, counter, &ss), MYR_OK);
  assert_int_equal(ss.entities, 1000);
  /* stats print as a table and as JSON */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_print_stats(x->s, f, true), MYR_OK);
  assert_int_equal(myr_schedule_print_stats(x->s, f, false), MYR_OK);
  fclose(f);
  assert_non_null(strstr(buf, "{\"systems\": ["));
  assert_non_null(strstr(buf, "\"name\": \"count\""));
  assert_non_null(strstr(buf, "\"workers\": ["));
  assert_non_null(strstr(buf, "entities/s"));
  free(buf);
}

/* ---- the stage-end hook: patches diverted and injected ----------------------- */

#define HOOK_N 300u /* entities; every third one tagged */
typedef struct hook_fix {
  sfix *x;
  myr_entity ids[HOOK_N];
  uint32_t calls[2];     /* per stage */
  myr_status seen[2];    /* the status each stage's call saw */
  uint32_t diverted;     /* patches seen in the last call of stage 0 */
  bool in_order;         /* key order: system, then row (= id) order */
  bool info_ok;          /* every diverted patch described as recorded */
  myr_status fail_with;  /* what stage 0's call returns */
  myr_status bad[4];     /* misuse from inside the hook */
  myr_patches *kept;     /* a handle kept past the hook */
  uint32_t destroys;     /* destroys reported at stage 1 */
  myr_status kept_later; /* recording through stage 0's handle in stage 1's hook */
} hook_fix;

static void hook_add_hp(const myr_view *v, myr_patches *p) { /* system 0: +1 hp each */
  int32_t one = 1;
  for (uint32_t i = 0; i < v->chunk.count; i++)
    if (myr_patch_add_to(p, v->chunk.ids[i], 2, 0, MYR_I32, &one) != MYR_OK) myr_system_fail(v, MYR_EINVAL);
}

static void hook_set_armor(const myr_view *v, myr_patches *p) { /* system 1: armor 9 each */
  uint8_t nine = 9;
  for (uint32_t i = 0; i < v->chunk.count; i++)
    if (myr_patch_set_field(p, v->chunk.ids[i], 2, 1, MYR_U8, &nine) != MYR_OK) myr_system_fail(v, MYR_EINVAL);
}

static void hook_kill(const myr_view *v, myr_patches *p) { /* every tagged entity */
  for (uint32_t i = 0; i < v->chunk.count; i++)
    if (myr_patch_destroy(p, v->chunk.ids[i]) != MYR_OK) myr_system_fail(v, MYR_EINVAL);
}

static void hook_fail(const myr_view *v, myr_patches *p) {
  (void)p;
  if (*(const bool *)v->user && v->chunk.count) myr_system_fail(v, MYR_ENOMEM);
}

/* The entity a tagged one's patches go to: the next one, untagged. */
static myr_entity hook_partner(const hook_fix *h, myr_entity e) {
  for (uint32_t i = 0; i < HOOK_N; i++)
    if (h->ids[i] == e) return h->ids[i + 1];
  return MYR_ENTITY_NULL;
}

static myr_status hook_forward(myr_schedule *s, uint32_t stage, myr_status status, void *ctx) {
  hook_fix *h = ctx;
  h->calls[stage]++;
  h->seen[stage] = status;
  if (stage == 1 && status == MYR_OK) {
    int32_t one = 1;
    if (h->kept) h->kept_later = myr_patch_add_to(h->kept, h->ids[0], h->x->f.health, 0, MYR_I32, &one);
    myr_patch_info info;
    for (uint32_t i = 0; i < myr_schedule_diverted_count(s); i++)
      h->destroys += myr_schedule_diverted(s, i, &info) == MYR_OK && info.kind == MYR_PATCH_DESTROY;
  }
  if (stage != 0 || status != MYR_OK) return MYR_OK;
  uint32_t n = myr_schedule_diverted_count(s);
  h->diverted = n;
  h->in_order = h->info_ok = true;
  myr_patch_info prev = {0}, info;
  myr_patches *as0 = NULL, *as1 = NULL;
  h->bad[0] = myr_schedule_inject(s, 2, &as0);    /* no third system */
  h->bad[1] = myr_schedule_diverted(s, n, &info); /* past the end */
  if (myr_schedule_inject(s, 0, &as0) != MYR_OK || myr_schedule_inject(s, 1, &as1) != MYR_OK) return MYR_EINVAL;
  h->kept = as0;
  h->bad[2] = myr_patch_spawn(as0, (myr_component[]){h->x->f.tag}, 1, NULL, NULL);
  h->bad[3] = myr_patch_destroy(as0, UINT64_C(1) << 63 | 5);
  for (uint32_t i = 0; i < n; i++) {
    if (myr_schedule_diverted(s, i, &info) != MYR_OK) return MYR_EINVAL;
    if (i && (info.system < prev.system || (info.system == prev.system && info.entity <= prev.entity)))
      h->in_order = false;
    prev = info;
    myr_entity to = hook_partner(h, info.entity);
    if (info.system == 0) {
      int32_t v;
      h->info_ok &=
          info.kind == MYR_PATCH_ADD_TO && info.component == h->x->f.health && info.field == 0 && info.size == 4;
      memcpy(&v, info.values, 4);
      h->info_ok &= v == 1;
      int32_t ten = 10;
      if (myr_patch_add_to(as0, to, h->x->f.health, 0, MYR_I32, &ten) != MYR_OK) return MYR_EINVAL;
    } else {
      h->info_ok &= info.kind == MYR_PATCH_SET_FIELD && info.field == 1 && info.size == 1 &&
                    ((const uint8_t *)info.values)[0] == 9;
      /* as system 0: system 1's own set of the partner comes later and wins;
       * as system 1: after that set, so it wins */
      uint8_t five = 5, three = 3;
      bool late = (i & 1) != 0;
      if (myr_patch_set_field(late ? as1 : as0, to, h->x->f.health, 1, MYR_U8, late ? &three : &five) != MYR_OK)
        return MYR_EINVAL;
    }
  }
  return h->fail_with;
}

static void hook_world(hook_fix *h) {
  sfix *x = h->x;
  for (uint32_t i = 0; i < HOOK_N; i++) {
    assert_int_equal(myr_entity_create(x->f.w, &h->ids[i]), MYR_OK);
    assert_int_equal(myr_component_add(x->f.w, h->ids[i], x->f.health, &(t_health){0}), MYR_OK);
    if (i % 3 == 1) assert_int_equal(myr_component_add(x->f.w, h->ids[i], x->f.tag, NULL), MYR_OK);
  }
}

static void a_stage_end_hook_diverts_and_injects_patches_in_key_order(void **state) {
  sfix *x = *state;
  hook_fix *h = calloc(1, sizeof *h);
  h->x = x;
  hook_world(h);
  add(x, "add_hp", 0, (myr_term[]){{x->f.health, MYR_TERM_READ}}, 1, hook_add_hp, NULL);
  add(x, "set_armor", 0, (myr_term[]){{x->f.health, MYR_TERM_READ}}, 1, hook_set_armor, NULL);
  add(x, "later", 1, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, noop, NULL);
  assert_int_equal(x->f.health, 2); /* the systems name it by number */
  assert_int_equal(
      myr_schedule_set_stage_end(x->s, &(myr_stage_end_desc){hook_forward, h, .divert = true, .divert_tag = 9999}),
      MYR_ENOCOMP);
  assert_int_equal(myr_schedule_set_stage_end(NULL, NULL), MYR_EINVAL);
  assert_int_equal(
      myr_schedule_set_stage_end(x->s, &(myr_stage_end_desc){hook_forward, h, .divert = true, .divert_tag = x->f.tag}),
      MYR_OK);
  myr_patches *outside = NULL;
  assert_int_equal(myr_schedule_inject(x->s, 0, &outside), MYR_EINVAL);
  assert_int_equal(myr_schedule_diverted_count(x->s), 0);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(atomic_load(&callback_errors), 0);
  assert_int_equal(h->calls[0], 1);
  assert_int_equal(h->calls[1], 1); /* a stage with no patch too */
  assert_int_equal(h->seen[0], MYR_OK);
  assert_int_equal(h->diverted, 2 * (HOOK_N / 3));
  assert_true(h->in_order);
  assert_true(h->info_ok);
  assert_int_equal(h->bad[0], MYR_EINVAL);
  assert_int_equal(h->bad[1], MYR_EINVAL);
  assert_int_equal(h->bad[2], MYR_ELIMIT);
  assert_true(h->bad[3] == MYR_EINVAL || h->bad[3] == MYR_ESTALE);
  uint32_t late = 0;
  for (uint32_t i = 0; i < HOOK_N; i++) {
    t_health v;
    assert_int_equal(myr_component_get(x->f.w, h->ids[i], x->f.health, &v), MYR_OK);
    if (i % 3 == 1) { /* diverted: nothing applied */
      assert_int_equal(v.hp, 0);
      assert_int_equal(v.armor, 0);
    } else if (i % 3 == 2) { /* a partner: its own +1, the injected +10, and the sets in key order */
      assert_int_equal(v.hp, 11);
      assert_true(v.armor == 9 || v.armor == 3);
      late += v.armor == 3;
    } else {
      assert_int_equal(v.hp, 1);
      assert_int_equal(v.armor, 9);
    }
  }
  assert_int_equal(late, HOOK_N / 6); /* every other partner got its set after system 1's */
  myr_stage_stats st;
  assert_int_equal(myr_schedule_stage_stats(x->s, 0, &st), MYR_OK);
  assert_int_equal(st.patches.diverted, 2 * (HOOK_N / 3));
  assert_int_equal(st.patches.recorded, 2 * HOOK_N + 2 * (HOOK_N / 3));
  assert_int_equal(st.patches.applied, 2 * HOOK_N);

  int32_t one = 1; /* a handle kept past the hook refuses to record: in the next stage's hook, and after */
  assert_int_equal(h->kept_later, MYR_EINVAL);
  assert_int_equal(myr_patch_add_to(h->kept, h->ids[0], x->f.health, 0, MYR_I32, &one), MYR_EINVAL);

  /* a hook that fails stops the frame at its stage: none of it applied;
   * the later stage's hook is told, and nothing of that stage runs */
  h->fail_with = MYR_EIO;
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_EIO);
  assert_non_null(strstr(myr_schedule_error(x->s), "stage-end hook"));
  assert_int_equal(h->calls[1], 2);
  assert_int_equal(h->seen[1], MYR_EIO);
  t_health v;
  assert_int_equal(myr_component_get(x->f.w, h->ids[0], x->f.health, &v), MYR_OK);
  assert_int_equal(v.hp, 1);
  /* a failing system: the hook is told, and nothing is diverted */
  h->fail_with = MYR_OK;
  bool failing = true;
  add(x, "fail", 0, (myr_term[]){{x->f.tag, MYR_TERM_READ}}, 1, hook_fail, &failing);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_ENOMEM);
  assert_int_equal(h->seen[0], MYR_ENOMEM);
  assert_int_equal(h->seen[1], MYR_ENOMEM);
  assert_int_equal(h->calls[0], 3);
  assert_int_equal(h->calls[1], 3);
  /* destroys of tagged entities are reported and applied here too */
  failing = false;
  h->fail_with = MYR_OK;
  add(x, "kill", 1, (myr_term[]){{x->f.tag, MYR_TERM_READ}}, 1, hook_kill, NULL);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(h->destroys, HOOK_N / 3);
  assert_false(myr_entity_alive(x->f.w, h->ids[1]));
  assert_int_equal(myr_schedule_stage_stats(x->s, 1, &st), MYR_OK);
  assert_int_equal(st.patches.destroyed, HOOK_N / 3);
  assert_int_equal(st.patches.diverted, 0);
  /* removed: the hook is not called */
  assert_int_equal(myr_schedule_set_stage_end(x->s, NULL), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(h->calls[0], 4);
  free(h);
}

static void noop_system(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
}

/* Walks a JSON text's strings: false on a raw control character inside
 * one, a bad escape or an unterminated string. */
static bool json_strings_valid(const char *t) {
  for (bool in = false; *t; t++) {
    unsigned char c = (unsigned char)*t;
    if (!in) {
      if (c == '"') in = true;
      continue;
    }
    if (c < 0x20) return false;
    if (c == '"') in = false;
    else if (c == '\\') {
      t++;
      if (*t == 'u') {
        for (int k = 1; k <= 4; k++)
          if (!strchr("0123456789abcdefABCDEF", t[k]) || !t[k]) return false;
        t += 4;
      } else if (!*t || !strchr("\"\\/bfnrt", *t)) {
        return false;
      }
    }
  }
  return true;
}

static void stats_json_escapes_any_system_name(void **state) {
  sfix *x = *state;
  const char *name = "we\"ird\\name\n\x01 \xc3\xa9";
  add(x, name, 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, noop_system, NULL);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_print_stats(x->s, f, true), MYR_OK);
  fclose(f);
  assert_true(json_strings_valid(buf));
  assert_non_null(strstr(buf, "\"name\": \"we\\\"ird\\\\name\\u000a\\u0001 \xc3\xa9\""));
  free(buf);
}

static uint32_t count_substr(const char *t, const char *needle) {
  uint32_t n = 0;
  for (const char *at = t; (at = strstr(at, needle)); at += strlen(needle)) n++;
  return n;
}

static void destroy_every_other(const myr_view *v, myr_patches *p) {
  for (uint32_t i = 0; i < v->chunk.count; i += 2) assert_int_equal(myr_patch_destroy(p, v->chunk.ids[i]), MYR_OK);
}

/* A merge shared among the workers leaves one event per part, on the lane
 * of the worker that ran it, within its merge; its JSON says so. */
static void merge_parts_are_traced_on_their_workers(void **state) {
  sfix *x = *state;
  enum { N = 8192 };
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = N}),
      MYR_OK);
  add(x, "cull", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, destroy_every_other, NULL);
  assert_int_equal(myr_schedule_set_merge_parallel_min(NULL, 1), MYR_EINVAL);
  assert_int_equal(myr_schedule_set_merge_parallel_min(x->s, 1), MYR_OK);
  assert_int_equal(myr_schedule_trace_begin(x->s, 0), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_world_entity_count(x->f.w), N / 2);
  size_t n = 0;
  assert_int_equal(myr_schedule_trace_events(x->s, NULL, 0, &n, NULL), MYR_OK);
  myr_trace_event *ev = calloc(n, sizeof *ev);
  assert_non_null(ev);
  assert_int_equal(myr_schedule_trace_events(x->s, ev, n, &n, NULL), MYR_OK);
  const myr_trace_event *merge = NULL;
  for (size_t i = 0; i < n; i++)
    if (ev[i].kind == MYR_TRACE_MERGE) merge = &ev[i];
  assert_non_null(merge);
  uint32_t parts = 0;
  for (size_t i = 0; i < n; i++) {
    if (ev[i].kind != MYR_TRACE_MERGE_PART) continue;
    parts++;
    assert_true(ev[i].system == UINT32_MAX && ev[i].stage == 0 && ev[i].worker < 2 && ev[i].chunk < 2);
    assert_true(ev[i].start_ns >= merge->start_ns && ev[i].end_ns <= merge->end_ns);
  }
  assert_true(parts >= 2); /* two parts of each shared step: removing rows, at least */
  free(ev);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_trace_end(x->s, f), MYR_OK);
  fclose(f);
  assert_int_equal(count_substr(buf, "\"cat\": \"merge_part\""), parts);
  free(buf);
}

/* A trace holds one event per chunk, per merge and per frame, the frames
 * asked for only; a full lane counts what it drops; misuse is refused. */
static void trace_records_each_chunk_and_merge(void **state) {
  sfix *x = *state;
  enum { N = 1000 }; /* 16 chunks of 64 rows (the last of 40) */
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = N}),
      MYR_OK);
  add(x, "tr\"aced", 0, (myr_term[]){{x->f.pos, MYR_TERM_WRITE}}, 1, noop_system, NULL);
  add(x, "second", 1, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, noop_system, NULL);
  assert_int_equal(myr_schedule_trace_end(x->s, NULL), MYR_EINVAL); /* not tracing */
  assert_int_equal(myr_schedule_trace_begin(NULL, 0), MYR_EINVAL);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK); /* before: not recorded */
  assert_int_equal(myr_schedule_trace_begin(x->s, 0), MYR_OK);
  assert_int_equal(myr_schedule_trace_begin(x->s, 0), MYR_EINVAL); /* already */
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  /* the events as structs: 64 chunks of 2 systems, 4 merges, 2 frames, in
   * order per worker; the schedule's frames 2 and 3 */
  size_t n = 0;
  uint64_t dropped = 1;
  assert_int_equal(myr_schedule_trace_events(x->s, NULL, 1, &n, NULL), MYR_EINVAL);
  assert_int_equal(myr_schedule_trace_events(x->s, NULL, 0, &n, &dropped), MYR_OK);
  assert_int_equal(dropped, 0);
  assert_int_equal(n, 2 * 2 * 16 + 4 + 2);
  myr_trace_event ev[2 * 2 * 16 + 4 + 2];
  size_t again = 0;
  assert_int_equal(myr_schedule_trace_events(x->s, ev, 3, &again, NULL), MYR_OK); /* a prefix */
  assert_int_equal(again, n);
  assert_int_equal(myr_schedule_trace_events(x->s, ev, n, &again, NULL), MYR_OK);
  uint32_t rows[2] = {0}, merges = 0, frames = 0;
  uint64_t frame_start[4] = {0}, frame_end[4] = {0};
  for (size_t i = 0; i < n; i++)
    if (ev[i].kind == MYR_TRACE_FRAME) {
      frames++;
      assert_true(ev[i].frame == 2 || ev[i].frame == 3);
      assert_true(ev[i].system == UINT32_MAX && ev[i].stage == UINT32_MAX && ev[i].worker == 0 && ev[i].rows == 0);
      frame_start[ev[i].frame] = ev[i].start_ns;
      frame_end[ev[i].frame] = ev[i].end_ns;
    }
  assert_int_equal(frames, 2);
  assert_true(frame_end[2] <= frame_start[3]);
  for (size_t i = 0; i < n; i++) {
    assert_true(ev[i].start_ns <= ev[i].end_ns);
    if (i && ev[i].worker == ev[i - 1].worker) assert_true(ev[i - 1].end_ns <= ev[i].end_ns);
    /* every event lies within its frame */
    assert_true(ev[i].frame == 2 || ev[i].frame == 3);
    assert_true(ev[i].start_ns >= frame_start[ev[i].frame] && ev[i].end_ns <= frame_end[ev[i].frame]);
    if (ev[i].kind == MYR_TRACE_FRAME) continue;
    if (ev[i].kind == MYR_TRACE_MERGE) {
      merges++;
      continue;
    }
    assert_int_equal(ev[i].kind, MYR_TRACE_CHUNK);
    assert_true(ev[i].system < 2 && ev[i].stage == ev[i].system && ev[i].chunk < 16);
    rows[ev[i].system] += ev[i].rows;
  }
  assert_int_equal(merges, 4);
  assert_int_equal(rows[0], 2 * N);
  assert_int_equal(rows[1], 2 * N);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_trace_end(x->s, f), MYR_OK);
  fclose(f);
  assert_true(json_strings_valid(buf));
  assert_int_equal(count_substr(buf, "\"cat\": \"chunk\""), 2 * 2 * 16);
  assert_int_equal(count_substr(buf, "\"name\": \"tr\\\"aced\""), 2 * 16);
  assert_int_equal(count_substr(buf, "\"rows\": 64,"), 2 * 2 * 15);
  assert_int_equal(count_substr(buf, "\"rows\": 40,"), 2 * 2);
  assert_int_equal(count_substr(buf, "\"cat\": \"merge\""), 2 * 2);
  /* the frames on their own track, after the workers' */
  uint32_t workers = x->pool ? myr_jobs_worker_count(x->pool) : 1;
  char track[128];
  snprintf(track, sizeof track, "\"tid\": %u, \"args\": {\"name\": \"frames\"}}", workers);
  assert_non_null(strstr(buf, track));
  snprintf(track, sizeof track, "\"cat\": \"frame\", \"ph\": \"X\", \"pid\": 1, \"tid\": %u,", workers);
  assert_int_equal(count_substr(buf, track), 2);
  assert_int_equal(count_substr(buf, "{\"name\": \"frame 2\", \"cat\": \"frame\""), 1);
  assert_int_equal(count_substr(buf, "{\"name\": \"frame 3\", \"cat\": \"frame\""), 1);
  assert_int_equal(count_substr(buf, "\"frame\": 3}}"), 2 * 16 + 2 + 1);
  assert_non_null(strstr(buf, "\"dropped_events\": 0}"));
  free(buf);
  assert_int_equal(myr_schedule_trace_end(x->s, NULL), MYR_EINVAL); /* stopped */
  /* a lane of 4 events: one frame has 35 (32 chunks, 2 merges, the frame) on 2 workers */
  assert_int_equal(myr_schedule_trace_begin(x->s, (UINT32_C(1) << 26) + 1), MYR_EINVAL);
  assert_int_equal(myr_schedule_trace_begin(x->s, 4), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_trace_events(x->s, NULL, 0, &n, &dropped), MYR_OK);
  assert_int_equal(n + dropped, 35);
  f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_trace_end(x->s, f), MYR_OK);
  fclose(f);
  uint32_t kept = count_substr(buf, "\"ph\": \"X\"");
  assert_true(kept >= 4 && kept <= 8);
  char want[64];
  snprintf(want, sizeof want, "\"dropped_events\": %u}", 35 - kept);
  assert_non_null(strstr(buf, want));
  free(buf);
  /* a trace left open is freed by destroy (the leak checker sees it) */
  assert_int_equal(myr_schedule_trace_begin(x->s, 0), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
}

/* True when xmllint is missing or finds the text well-formed XML. */
static bool xml_well_formed(const char *text) {
  if (system("command -v xmllint >/dev/null 2>&1") != 0) return true;
  char path[] = "/tmp/myr_gantt_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(text, f);
  fclose(f);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "xmllint --noout %s 2>/dev/null", path);
  int rc = system(cmd);
  remove(path);
  return rc == 0;
}

/* False when a raw <, & or " stands in text content or a quoted attribute
 * value where markup cannot be (a hand check beside xmllint's). */
static bool xml_text_escaped(const char *t) {
  bool tag = false, quoted = false;
  for (; *t; t++) {
    if (quoted) {
      if (*t == '"') quoted = false;
      else if (*t == '<') return false;
      continue;
    }
    if (tag) {
      if (*t == '"') quoted = true;
      else if (*t == '>') tag = false;
      continue;
    }
    if (*t == '<') tag = true;
    else if (*t == '>' || *t == '"') return false;
    if (*t == '&' && strncmp(t, "&amp;", 5) && strncmp(t, "&lt;", 4) && strncmp(t, "&gt;", 4) &&
        strncmp(t, "&quot;", 6))
      return false;
  }
  return !tag && !quoted;
}

__attribute__((noinline)) static char *gantt_text(myr_schedule *s, const myr_gantt_desc *desc) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_write_gantt(s, f, desc), MYR_OK);
  fclose(f);
  return buf;
}

/* The Gantt chart of the last traced frame: a row per worker and one for
 * the merges, a bar per chunk of that frame only, a merge per stage, names
 * escaped into well-formed XML. */
static void gantt_draws_the_last_traced_frame(void **state) {
  sfix *x = *state;
  enum { N = 1000 }; /* 16 chunks of 64 rows */
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = N}),
      MYR_OK);
  add(x, "a<b & \"c\" > d", 0, (myr_term[]){{x->f.pos, MYR_TERM_WRITE}}, 1, noop_system, NULL);
  add(x, "second", 1, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, noop_system, NULL);
  assert_int_equal(myr_schedule_write_gantt(x->s, stdout, NULL), MYR_EINVAL); /* not tracing */
  assert_int_equal(myr_schedule_trace_begin(x->s, 0), MYR_OK);
  assert_int_equal(myr_schedule_write_gantt(x->s, stdout, NULL), MYR_ENOTFOUND); /* no frame yet */
  assert_int_equal(myr_schedule_write_gantt(NULL, stdout, NULL), MYR_EINVAL);
  assert_int_equal(myr_schedule_write_gantt(x->s, NULL, NULL), MYR_EINVAL);
  for (int f = 0; f < 3; f++) assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  /* the checks themselves bite */
  assert_false(xml_text_escaped("<t>a & b</t>"));
  assert_false(xml_text_escaped("<t>\"</t>"));
  assert_false(xml_text_escaped("<t a=\"<\"/>"));
  assert_true(system("command -v xmllint >/dev/null 2>&1") != 0 || !xml_well_formed("<t>a<b</t>"));
  char *svg = gantt_text(x->s, &(myr_gantt_desc){.title = "t<&\"itle"});
  assert_true(xml_well_formed(svg));
  assert_true(xml_text_escaped(svg));
  assert_null(strstr(svg, "a<b"));
  assert_non_null(strstr(svg, ">t&lt;&amp;&quot;itle</text>"));
  /* one frame: 16 chunks of each system, 2 merges, rows for every worker */
  assert_int_equal(count_substr(svg, "<title>a&lt;b &amp; &quot;c&quot; &gt; d chunk "), 16);
  assert_int_equal(count_substr(svg, "<title>second chunk "), 16);
  assert_int_equal(count_substr(svg, " merge, "), 2);
  assert_int_equal(count_substr(svg, ", 64 rows, "), 2 * 15);
  uint32_t workers = x->pool ? myr_jobs_worker_count(x->pool) : 1;
  char want[64];
  snprintf(want, sizeof want, ">worker %u</text>", workers - 1);
  assert_non_null(strstr(svg, want));
  snprintf(want, sizeof want, ">worker %u</text>", workers);
  assert_null(strstr(svg, want));
  assert_int_equal(strncmp(svg, "<svg ", 5), 0);
  assert_non_null(strstr(svg, "</svg>\n"));
  free(svg);
  /* the default title names the frame */
  svg = gantt_text(x->s, NULL);
  snprintf(want, sizeof want, ">frame 3, %u workers</text>", workers);
  assert_non_null(strstr(svg, want));
  free(svg);
  assert_int_equal(myr_schedule_trace_end(x->s, NULL), MYR_OK);
}

/* `with` terms select rows but read and write nothing: a system that only
 * requires Position does not wait for one that writes it. */
static void with_terms_cause_no_conflict(void **state) {
  sfix *x = *state;
  add(x, "a", 0, (myr_term[]){{x->f.pos, MYR_TERM_WRITE}}, 1, noop_system, NULL);
  add(x, "b", 0, (myr_term[]){{x->f.vel, MYR_TERM_WRITE}, {x->f.pos, MYR_TERM_WITH}}, 2, noop_system, NULL);
  add(x, "c", 0, (myr_term[]){{x->f.vel, MYR_TERM_READ}, {x->f.pos, MYR_TERM_READ}}, 2, noop_system, NULL);
  char *plan = plan_text(x->s);
  assert_null(strstr(plan, "b (chunk 64)\n     after a")); /* b is ready at start */
  assert_non_null(strstr(plan, "b (chunk 64) ready at start"));
  assert_non_null(strstr(plan, "after a: it writes Position, read here")); /* c reads it */
  free(plan);
}

/* ---- resources, run-once systems, hooks ----------------------------------- */

typedef struct {
  uint64_t state;
  uint32_t frames, begins, ends, chunks_before_end;
} rng_res;

static myr_resource make_resource(sfix *x, const char *name, size_t size) {
  myr_resource r;
  assert_int_equal(myr_resource_register(x->f.w, &(myr_resource_desc){.name = name, .size = size}, &r), MYR_OK);
  return r;
}

static void resources_register_and_reject_bad_descriptions(void **state) {
  sfix *x = *state;
  uint64_t h0 = world_hash(x->f.w);
  myr_resource r;
  uint32_t seed = 7;
  assert_int_equal(myr_resource_register(x->f.w, &(myr_resource_desc){.name = "Seed", .size = 4, .initial = &seed}, &r),
                   MYR_OK);
  assert_int_equal(*(uint32_t *)myr_resource_data(x->f.w, r), 7);
  assert_int_equal(myr_resource_size(x->f.w, r), 4);
  assert_true(world_hash(x->f.w) != h0); /* resources are part of the world's content */
  myr_resource again;
  assert_int_equal(myr_resource_lookup(x->f.w, "Seed", &again), MYR_OK);
  assert_int_equal(again, r);
  assert_int_equal(myr_resource_lookup(x->f.w, "Nope", &again), MYR_ENOTFOUND);
  assert_int_equal(myr_resource_register(x->f.w, &(myr_resource_desc){.name = "Seed", .size = 4}, &again), MYR_EEXIST);
  assert_int_equal(myr_resource_register(x->f.w, &(myr_resource_desc){.name = "Zero", .size = 0}, &again), MYR_EINVAL);
  assert_int_equal(myr_resource_register(x->f.w, &(myr_resource_desc){.name = "Odd", .size = 8, .align = 3}, &again),
                   MYR_EINVAL);
  assert_int_equal(myr_resource_register(x->f.w, &(myr_resource_desc){.size = 8}, &again), MYR_EINVAL);
  myr_resource big;
  assert_int_equal(myr_resource_register(x->f.w, &(myr_resource_desc){.name = "Grid", .size = 100, .align = 256}, &big),
                   MYR_OK);
  assert_int_equal((uintptr_t)myr_resource_data(x->f.w, big) % 256, 0);
  assert_null(myr_resource_data(x->f.w, 99));
  assert_int_equal(myr_resource_size(x->f.w, 99), 0);
}

static void noop_chunk(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
}

static void resource_conflicts_become_edges_that_name_the_resource(void **state) {
  sfix *x = *state;
  myr_resource grid = make_resource(x, "Grid", 64), rng = make_resource(x, "Rng", 8);
  myr_resource_term w_grid[] = {{grid, MYR_TERM_WRITE_DISJOINT}}, r_grid[] = {{grid, MYR_TERM_READ}},
                    r_rng[] = {{rng, MYR_TERM_READ}};
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "build",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = noop_chunk,
                                                       .resources = w_grid,
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "use",
                                                       .terms = (myr_term[]){{x->f.vel, MYR_TERM_WRITE}},
                                                       .term_count = 1,
                                                       .fn = noop_chunk,
                                                       .resources = r_grid,
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "free",
                                                       .terms = (myr_term[]){{x->f.health, MYR_TERM_WRITE}},
                                                       .term_count = 1,
                                                       .fn = noop_chunk,
                                                       .resources = r_rng,
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  char *plan = plan_text(x->s);
  assert_non_null(strstr(plan, "after build: it writes resource Grid, read here"));
  assert_non_null(strstr(plan, "free (chunk 64) ready at start"));
  free(plan);
  /* bad resource terms */
  myr_resource_term twice[] = {{grid, MYR_TERM_READ}, {grid, MYR_TERM_WRITE}}, unknown[] = {{77, MYR_TERM_READ}},
                    optional[] = {{rng, MYR_TERM_OPTIONAL}};
  const myr_resource_term *bad[] = {twice, unknown, optional};
  const uint32_t counts[] = {2, 1, 1};
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        myr_schedule_add(
            x->s, &(myr_system_desc){.name = "bad", .fn = noop_chunk, .resources = bad[i], .resource_count = counts[i]},
            NULL),
        MYR_EINVAL);
  assert_int_equal(myr_schedule_system_count(x->s), 3);
}

static void count_frame(const myr_view *v, myr_patches *p) {
  (void)p;
  rng_res *r = v->resources[0];
  assert_int_equal(v->chunk.count, 0);
  r->frames++;
  r->state = r->state * 6364136223846793005ull + 1442695040888963407ull;
}

static atomic_uint chunk_calls;
static void begin_hook(const myr_view *v, myr_patches *p) {
  (void)p;
  rng_res *r = v->resources[0];
  assert_int_equal(v->chunk.count, 0);
  r->begins++;
  assert_int_equal(atomic_load(&chunk_calls), 0); /* before every chunk */
}
static void chunk_seen(const myr_view *v, myr_patches *p) {
  (void)p;
  const rng_res *r = v->resources[0];
  assert_int_equal(r->begins, r->ends + 1); /* inside begin .. end */
  atomic_fetch_add(&chunk_calls, 1);
}
static void end_hook(const myr_view *v, myr_patches *p) {
  (void)p;
  rng_res *r = v->resources[0];
  r->chunks_before_end = atomic_load(&chunk_calls);
  r->ends++;
}

static void a_run_once_system_runs_once_per_frame_with_its_resource(void **state) {
  sfix *x = *state;
  myr_resource rr = make_resource(x, "Rng", sizeof(rng_res));
  myr_resource_term w_rng[] = {{rr, MYR_TERM_WRITE}};
  myr_system id;
  assert_int_equal(
      myr_schedule_add(
          x->s, &(myr_system_desc){.name = "rng", .fn = count_frame, .resources = w_rng, .resource_count = 1}, &id),
      MYR_OK);
  char *plan = plan_text(x->s);
  assert_non_null(strstr(plan, "rng (once per frame)"));
  free(plan);
  for (int f = 0; f < 5; f++) assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  rng_res *r = myr_resource_data(x->f.w, rr);
  assert_int_equal(r->frames, 5);
  myr_system_stats st;
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.chunks, 1);
  assert_int_equal(st.entities, 0);
  assert_true(st.ns_per_entity == 0);
  assert_true(st.chunk_ns > 0 && st.chunk_ns <= st.ns && st.total_chunk_ns >= st.chunk_ns);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_print_stats(x->s, f, false), MYR_OK);
  fclose(f);
  assert_non_null(strstr(buf, "chunk us"));
  assert_non_null(strstr(buf, "(all systems)"));
  assert_non_null(strstr(buf, " once "));
  free(buf);
}

/* chunk_ns sums the chunk jobs' wall times: with chunks that each sleep
 * (no CPU time), it is about their count times the sleep, whatever the
 * wall span on 2 workers. */
static void slow_chunk(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
  nanosleep(&(struct timespec){0, 2000000}, NULL);
}

static void chunk_time_sums_the_chunks_beside_the_wall_span(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = 64 * 8}),
      MYR_OK);
  myr_system id = add(x, "slow", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, slow_chunk, NULL);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  myr_system_stats st;
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.chunks, 8);
  assert_true(st.chunk_ns >= 8 * 2000000ull);      /* eight chunks of 2 ms */
  assert_true(st.chunk_ns <= 2 * st.ns + 1000000); /* two workers at most */
  assert_int_equal(st.total_chunk_ns, st.chunk_ns);
  /* the old names read the same values, for one release */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  assert_int_equal(st.cpu_ns, st.chunk_ns);
  assert_int_equal(st.total_cpu_ns, st.total_chunk_ns);
#pragma GCC diagnostic pop
  /* CPU time, off by default; on, the sleeping chunks used little of it */
  assert_int_equal(st.cpu_time_ns, 0);
  assert_int_equal(myr_schedule_set_cpu_time(NULL, true), MYR_EINVAL);
  assert_int_equal(myr_schedule_set_cpu_time(x->s, true), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_true(st.chunk_ns >= 8 * 2000000ull);
  assert_true(st.cpu_time_ns > 0 && st.cpu_time_ns < st.chunk_ns / 4);
  assert_int_equal(st.total_cpu_time_ns, st.cpu_time_ns);
}

/* Statistics on by default; switched off they stay as the last recorded
 * frame left them (chunk_rows aside); autotuning records them whatever the
 * switch says, and stops forcing them once frozen. */
static void statistics_switch_off_and_autotuning_forces_them_on(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = 256}),
      MYR_OK);
  myr_system id = add(x, "reader", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, slow_chunk, NULL);
  assert_true(myr_schedule_stats_enabled(x->s));
  assert_false(myr_schedule_stats_enabled(NULL));
  assert_int_equal(myr_schedule_set_stats(NULL, false), MYR_EINVAL);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  myr_system_stats st, was;
  myr_stage_stats gs, gwas;
  assert_int_equal(myr_schedule_system_stats(x->s, id, &was), MYR_OK);
  assert_int_equal(myr_schedule_stage_stats(x->s, 0, &gwas), MYR_OK);
  assert_int_equal(was.frames, 1);
  assert_int_equal(was.entities, 256);
  assert_int_equal(was.chunks, 4);
  assert_true(was.ns >= 2000000 && was.chunk_ns >= 4 * 2000000ull);
  assert_true(gwas.total_merge_ns > 0);
  /* off: nothing moves, but the size in effect */
  assert_int_equal(myr_schedule_set_stats(x->s, false), MYR_OK);
  assert_false(myr_schedule_stats_enabled(x->s));
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, id, 128), MYR_OK);
  for (int i = 0; i < 2; i++) assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.frames, 1);
  assert_int_equal(st.chunks, 4);
  assert_int_equal(st.ns, was.ns);
  assert_int_equal(st.total_ns, was.total_ns);
  assert_int_equal(st.total_chunk_ns, was.total_chunk_ns);
  assert_int_equal(st.total_entities, 256);
  assert_int_equal(st.chunk_rows, 128);
  assert_int_equal(myr_schedule_stage_stats(x->s, 0, &gs), MYR_OK);
  assert_int_equal(gs.total_merge_ns, gwas.total_merge_ns);
  assert_int_equal(gs.merge_ns, gwas.merge_ns);
  /* autotuning forces them on, the switch still reading off */
  assert_int_equal(myr_schedule_autotune(x->s, NULL), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_false(myr_schedule_stats_enabled(x->s));
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.frames, 2);
  assert_int_equal(st.total_entities, 512);
  assert_true(st.total_ns > was.total_ns);
  /* frozen, the switch holds again; on, they move */
  assert_int_equal(myr_schedule_autotune_freeze(x->s), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.frames, 2);
  assert_int_equal(myr_schedule_set_stats(x->s, true), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.frames, 3);
  assert_int_equal(st.total_entities, 768);
}

static char *stats_text(myr_schedule *s, const myr_stats_desc *desc);

static uint64_t thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void spinning_chunk(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
  for (uint64_t t0 = thread_cpu(); thread_cpu() - t0 < 1000000;) {}
}

/* CPU time measured: chunks that each spin for 1 ms of CPU time sum to at
 * least 8 ms, and to no more than their wall times; off again, it stops. */
static void cpu_time_sums_the_chunks_cpu_clocks_when_asked(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = 64 * 8}),
      MYR_OK);
  myr_system id = add(x, "spin", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, spinning_chunk, NULL);
  assert_int_equal(myr_schedule_set_cpu_time(x->s, true), MYR_OK);
  for (int f = 0; f < 2; f++) assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  myr_system_stats st;
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_true(st.cpu_time_ns >= 8 * 1000000ull);
  assert_true(st.cpu_time_ns <= st.chunk_ns + 100000); /* (clock granularity) */
  assert_true(st.total_cpu_time_ns >= 2 * 8 * 1000000ull);
  char *json = stats_text(x->s, &(myr_stats_desc){.format = MYR_STATS_JSON});
  char want[64];
  snprintf(want, sizeof want, "\"cpu_time_ns\": %llu,", (unsigned long long)st.cpu_time_ns);
  assert_non_null(strstr(json, want));
  free(json);
  assert_int_equal(myr_schedule_set_cpu_time(x->s, false), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  assert_int_equal(st.cpu_time_ns, 0);
}

/* (not inlined: gcc 12 then sees buf, whose address open_memstream kept, as dangling) */
__attribute__((noinline)) static char *stats_text(myr_schedule *s, const myr_stats_desc *desc) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_write_stats(s, f, desc), MYR_OK);
  fclose(f);
  return buf;
}

__attribute__((noinline)) static char *print_stats_text(myr_schedule *s, bool json) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(myr_schedule_print_stats(s, f, json), MYR_OK);
  fclose(f);
  return buf;
}

/* Checks a JSON text with jq when the machine has it: true when jq is
 * missing or `jq -e filter` holds. */
static bool jq_holds(const char *json, const char *filter) {
  if (system("command -v jq >/dev/null 2>&1") != 0) return true;
  char path[] = "/tmp/myr_stats_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  fputs(json, f);
  fclose(f);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "jq -e '%s' %s >/dev/null", filter, path);
  int rc = system(cmd);
  remove(path);
  return rc == 0;
}

/* Totals: every frame's entities, chunks and times summed, in a table and
 * in JSON; the last frame's output is what print_stats gives. */
static void stats_print_totals_over_all_frames(void **state) {
  sfix *x = *state;
  enum { N = 1000, FRAMES = 3 }; /* 16 chunks of 64 rows */
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = N}),
      MYR_OK);
  myr_system id = add(x, "a<&\"b", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, noop_system, NULL);
  myr_component comps[3] = {x->f.pos, x->f.vel, x->f.tag};
  add(x, "spawn", 1, (myr_term[]){{x->f.pos, MYR_TERM_READ}, {x->f.tag, MYR_TERM_WITHOUT}}, 2, spawn_for_each, comps);
  for (int i = 0; i < FRAMES; i++) assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  myr_system_stats st;
  assert_int_equal(myr_schedule_system_stats(x->s, id, &st), MYR_OK);
  /* N rows a frame (the spawned entities have no Position) */
  assert_int_equal(st.total_entities, FRAMES * N);
  assert_int_equal(myr_schedule_write_stats(NULL, stdout, NULL), MYR_EINVAL);
  assert_int_equal(myr_schedule_write_stats(x->s, NULL, NULL), MYR_EINVAL);
  assert_int_equal(myr_schedule_write_stats(x->s, stdout, &(myr_stats_desc){.format = (myr_stats_format)7}),
                   MYR_EINVAL);

  /* the last frame: the default desc is print_stats' table */
  char *last = stats_text(x->s, NULL), *table = stats_text(x->s, &(myr_stats_desc){.format = MYR_STATS_TABLE});
  char *old = print_stats_text(x->s, false);
  /* (up to the workers, whose idle time goes on between the calls) */
  size_t upto = (size_t)(strstr(old, "\nworker ") - old);
  assert_true(strncmp(last, old, upto + 1) == 0);
  assert_true(strncmp(table, old, upto + 1) == 0);
  assert_null(strstr(last, "totals"));
  free(old);
  free(table);
  free(last);

  /* the totals table: a frames column, 3N entities and 48 chunks */
  char *tot = stats_text(x->s, &(myr_stats_desc){.totals = true});
  assert_non_null(strstr(tot, "totals over 3 frames\n"));
  assert_non_null(strstr(tot, " frames "));
  char want[128];
  snprintf(want, sizeof want, "%-24s %5u %7u %7u %10u %8u ", "a<&\"b", 0, 64, FRAMES, FRAMES * N, FRAMES * 16);
  assert_non_null(strstr(tot, want));
  free(tot);

  /* JSON of the totals: the same keys, summed */
  char *json = stats_text(x->s, &(myr_stats_desc){.format = MYR_STATS_JSON, .totals = true});
  assert_true(json_strings_valid(json));
  const char *head = "{\"totals\": true, \"frames\": 3, \"systems\": [";
  assert_true(strncmp(json, head, strlen(head)) == 0);
  snprintf(want, sizeof want,
           "\"name\": \"a<&\\\"b\", \"stage\": 0, \"chunk_rows\": 64, \"frames\": 3, "
           "\"entities\": %u, \"chunks\": %u, \"ns\": %llu, \"chunk_ns\": %llu, ",
           FRAMES * N, FRAMES * 16, (unsigned long long)st.total_ns, (unsigned long long)st.total_chunk_ns);
  assert_non_null(strstr(json, want));
  assert_null(strstr(json, "cpu_ns"));
  myr_stage_stats gs;
  assert_int_equal(myr_schedule_stage_stats(x->s, 1, &gs), MYR_OK);
  assert_int_equal(gs.total_patches.spawned, N); /* frame 1 spawns N and tags the rest */
  snprintf(want, sizeof want, "{\"stage\": 1, \"merge_ns\": %llu, \"patches\": %llu, ",
           (unsigned long long)gs.total_merge_ns, (unsigned long long)gs.total_patches.recorded);
  assert_non_null(strstr(json, want));
  assert_true(jq_holds(json, ".totals and .frames == 3 and (.systems | length) == 2 and "
                             ".systems[0].name == \"a<&\\\"b\" and .systems[0].entities == 3000 and "
                             ".systems[0].frames == 3 and .stages[1].spawned == 1000 and (.workers | length) == 2"));
  free(json);

  /* JSON of the last frame: the totals beside, and the old key names */
  json = stats_text(x->s, &(myr_stats_desc){.format = MYR_STATS_JSON});
  assert_true(json_strings_valid(json));
  assert_true(jq_holds(json, ".systems[0].entities == 1000 and .systems[0].total_entities == 3000 and "
                             ".systems[0].cpu_ns == .systems[0].chunk_ns and "
                             ".systems[0].total_cpu_ns == .systems[0].total_chunk_ns"));
  free(json);
}

static void hooks_run_once_before_and_after_every_chunk(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = 5000}),
      MYR_OK);
  myr_resource rr = make_resource(x, "Rng", sizeof(rng_res));
  myr_resource_term w_rng[] = {{rr, MYR_TERM_WRITE_HOOKS}};
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "grid",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = chunk_seen,
                                                       .begin = begin_hook,
                                                       .end = end_hook,
                                                       .resources = w_rng,
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  rng_res *r = myr_resource_data(x->f.w, rr);
  for (int f = 1; f <= 3; f++) {
    atomic_store(&chunk_calls, 0);
    assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
    assert_int_equal(r->begins, (uint32_t)f);
    assert_int_equal(r->ends, (uint32_t)f);
    assert_int_equal(r->chunks_before_end, (5000 + 63) / 64); /* after the last chunk */
  }
}

/* Hooks and run-once systems record patches like chunks: the begin hook's
 * come first, the end hook's last, whatever the threads and chunk sizes. */
static void hook_spawn(const myr_view *v, myr_patches *p) {
  const myr_component *c = v->user;
  uint32_t *n = v->resources[0];
  t_position pos = {(float)(*n)++, 0, 0};
  assert_int_equal(myr_patch_spawn(p, c, 1, (const void *const[]){&pos}, NULL), MYR_OK);
}
static void chunk_spawn(const myr_view *v, myr_patches *p) {
  const myr_component *c = v->user;
  const uint32_t *n = v->resources[0];
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    uint32_t row = v->chunk.row + i; /* the row, not where the chunk starts */
    if (row % 7) continue;
    t_health h = {(int32_t)*n, (uint8_t)row, (double)row};
    assert_int_equal(myr_patch_spawn(p, c + 1, 1, (const void *const[]){&h}, NULL), MYR_OK);
  }
}

static uint64_t hooks_world(uint32_t workers, uint32_t chunk) {
  fixture f = {0};
  assert_int_equal(myr_world_create(checked_world(), &f.w), MYR_OK);
  fixture_register(&f);
  assert_int_equal(
      myr_entity_create_bulk(
          f.w, &(myr_bulk_desc){.components = (myr_component[]){f.vel}, .component_count = 1, .count = 3000}),
      MYR_OK);
  myr_resource n;
  assert_int_equal(myr_resource_register(f.w, &(myr_resource_desc){.name = "N", .size = 4}, &n), MYR_OK);
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(f.w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &s), MYR_OK);
  static myr_component comps[2];
  comps[0] = f.pos;
  comps[1] = f.health;
  myr_resource_term w_n[] = {{n, MYR_TERM_WRITE}}, r_n[] = {{n, MYR_TERM_READ}};
  assert_int_equal(
      myr_schedule_add(
          s, &(myr_system_desc){.name = "once", .fn = hook_spawn, .user = comps, .resources = w_n, .resource_count = 1},
          NULL),
      MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "around",
                                                       .terms = (myr_term[]){{f.vel, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = chunk_spawn,
                                                       .begin = hook_spawn,
                                                       .end = hook_spawn,
                                                       .user = comps,
                                                       .resources = (myr_resource_term[]){{n, MYR_TERM_WRITE_HOOKS}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  (void)r_n;
  for (int fr = 0; fr < 4; fr++) assert_int_equal(myr_schedule_run(s, 0.5), MYR_OK);
  uint64_t h = world_hash(f.w);
  myr_schedule_destroy(s);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  myr_world_destroy(f.w);
  return h;
}

static void hook_and_run_once_patches_are_deterministic(void **state) {
  (void)state;
  uint64_t ref = hooks_world(1, 64);
  const uint32_t threads[] = {1, 2, 4}, chunks[] = {16, 256, 4096};
  for (int t = 0; t < 3; t++)
    for (int c = 0; c < 3; c++) assert_true(hooks_world(threads[t], chunks[c]) == ref);
}

/* Systems whose queries can never match one table conflict on nothing:
 * one requires Tag, the other excludes it, so both may write Position. */
static void systems_on_disjoint_tables_do_not_wait_for_each_other(void **state) {
  sfix *x = *state;
  add(x, "tagged", 0, (myr_term[]){{x->f.pos, MYR_TERM_WRITE}, {x->f.tag, MYR_TERM_WITH}}, 2, noop_system, NULL);
  add(x, "untagged", 0, (myr_term[]){{x->f.pos, MYR_TERM_WRITE}, {x->f.tag, MYR_TERM_WITHOUT}}, 2, noop_system, NULL);
  add(x, "all", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, noop_system, NULL);
  char *plan = plan_text(x->s);
  assert_non_null(strstr(plan, "untagged (chunk 64) ready at start"));
  assert_non_null(strstr(plan, "beside tagged: never the same table (one requires Tag, the other excludes it)"));
  assert_non_null(strstr(plan, "after tagged: it writes Position, read here")); /* "all" still waits */
  free(plan);
}

/* ---- errors that say what failed ------------------------------------------ */

static void destroy_then_fail(const myr_view *v, myr_patches *p) {
  for (uint32_t i = 0; i < v->chunk.count; i++) assert_int_equal(myr_patch_destroy(p, v->chunk.ids[i]), MYR_OK);
  if (v->chunk.index == 1) assert_int_equal(myr_system_fail(v, MYR_ECORRUPT), MYR_OK);
}

static void errors_name_what_failed(void **state) {
  sfix *x = *state;
  assert_string_equal(myr_schedule_error(x->s), "");
  myr_system_desc d = {.name = "move", .terms = (myr_term[]){{99, MYR_TERM_READ}}, .term_count = 1, .fn = noop_system};
  assert_int_equal(myr_schedule_add(x->s, &d, NULL), MYR_ENOCOMP);
  assert_non_null(strstr(myr_schedule_error(x->s), "add \"move\": term 0 names unknown component 99"));
  d.terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}, {x->f.pos, MYR_TERM_WRITE}};
  d.term_count = 2;
  assert_int_equal(myr_schedule_add(x->s, &d, NULL), MYR_EINVAL);
  assert_non_null(strstr(myr_schedule_error(x->s), "terms 0 and 1 both name Position"));
  myr_resource grid = make_resource(x, "Grid", 16);
  d.term_count = 1;
  d.resources = (myr_resource_term[]){{grid, MYR_TERM_READ}, {grid, MYR_TERM_READ}};
  d.resource_count = 2;
  assert_int_equal(myr_schedule_add(x->s, &d, NULL), MYR_EINVAL);
  assert_non_null(strstr(myr_schedule_error(x->s), "resource Grid is named twice"));
  d.resource_count = 0;
  d.after = (const char *const[]){"steer"};
  d.after_count = 1;
  assert_int_equal(myr_schedule_add(x->s, &d, NULL), MYR_OK);
  assert_int_equal(myr_schedule_add(x->s, &d, NULL), MYR_EEXIST);
  assert_non_null(strstr(myr_schedule_error(x->s), "add \"move\": a system of that name exists"));
  assert_int_equal(myr_schedule_build(x->s), MYR_ENOTFOUND);
  assert_non_null(strstr(myr_schedule_error(x->s), "\"move\" runs after \"steer\", which is no system"));
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "steer",
                                                       .terms = (myr_term[]){{x->f.vel, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = noop_system,
                                                       .after = (const char *const[]){"move"},
                                                       .after_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_build(x->s), MYR_ECYCLE);
  assert_non_null(strstr(myr_schedule_error(x->s), "cycle"));
  assert_non_null(strstr(myr_schedule_error(x->s), "\"move\""));
  assert_non_null(strstr(myr_schedule_error(x->s), "\"steer\""));
}

static void a_callback_can_fail_the_frame_and_is_named(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = 200}),
      MYR_OK);
  add(x, "doomed", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, destroy_then_fail, NULL);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_ECORRUPT);
  assert_non_null(strstr(myr_schedule_error(x->s), "system \"doomed\" reported MYR_ECORRUPT"));
  assert_int_equal(myr_world_entity_count(x->f.w), 200); /* none of its destroys applied */
  myr_view fake = {0};
  assert_int_equal(myr_system_fail(&fake, MYR_ENOMEM), MYR_EINVAL);
  assert_int_equal(myr_system_fail(NULL, MYR_ENOMEM), MYR_EINVAL);
}

/* From another thread during a frame: run and add are refused with
 * MYR_EBUSY, and reading whether a frame runs is not a data race (the
 * tsan preset checks that). */
typedef struct foreign_try {
  myr_schedule *s;
  atomic_int go, run_status, add_status, done, stop, tries, refused;
} foreign_try;

static void *foreign_caller(void *arg) {
  foreign_try *t = arg;
  while (!atomic_load(&t->go)) sched_yield();
  atomic_store(&t->run_status, myr_schedule_run(t->s, 0.1));
  atomic_store(&t->add_status, myr_schedule_add(t->s, &(myr_system_desc){.name = "late", .fn = noop}, NULL));
  atomic_store(&t->done, 1);
  /* then runs, over and over, while the frames start and end */
  while (!atomic_load(&t->stop)) {
    atomic_fetch_add(&t->tries, 1);
    atomic_fetch_add(&t->refused, myr_schedule_run(t->s, 0.1) == MYR_EBUSY);
  }
  return NULL;
}

static void wait_for_foreign(const myr_view *v, myr_patches *p) {
  (void)p;
  foreign_try *t = v->user;
  if (atomic_exchange(&t->go, 1)) return; /* the first chunk alone waits */
  while (!atomic_load(&t->done)) sched_yield();
}

static void calls_from_another_thread_during_a_frame_are_refused(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = 100}),
      MYR_OK);
  foreign_try t = {.s = x->s};
  add(x, "waits", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, wait_for_foreign, &t);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, foreign_caller, &t), 0);
  for (int f = 0; f < 50; f++) assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
  atomic_store(&t.stop, 1);
  pthread_join(th, NULL);
  assert_int_equal(atomic_load(&t.refused), atomic_load(&t.tries));
  assert_int_equal(atomic_load(&t.run_status), MYR_EBUSY);
  assert_int_equal(atomic_load(&t.add_status), MYR_EBUSY);
  myr_system id;
  assert_int_equal(myr_schedule_find(x->s, "late", &id), MYR_ENOTFOUND);
}

static atomic_int hook_chunks, hook_ends;
static void fail_in_begin(const myr_view *v, myr_patches *p) {
  (void)p;
  assert_int_equal(myr_system_fail(v, MYR_ELIMIT), MYR_OK);
}
static void count_hook_chunk(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
  atomic_fetch_add(&hook_chunks, 1);
}
static void count_hook_end(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
  atomic_fetch_add(&hook_ends, 1);
}

/* A begin hook that fails the frame: its system runs no chunk and no end
 * hook, and the run returns the status and names the system. */
static void a_failing_begin_hook_runs_none_of_its_system(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = 500}),
      MYR_OK);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "hooked",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = count_hook_chunk,
                                                       .begin = fail_in_begin,
                                                       .end = count_hook_end},
                                    NULL),
                   MYR_OK);
  atomic_store(&hook_chunks, 0);
  atomic_store(&hook_ends, 0);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_ELIMIT);
  assert_int_equal(atomic_load(&hook_chunks), 0);
  assert_int_equal(atomic_load(&hook_ends), 0);
  assert_non_null(strstr(myr_schedule_error(x->s), "system \"hooked\" reported MYR_ELIMIT"));
}

/* ---- deterministic reductions --------------------------------------------- */

typedef struct sum_hist {
  float sum;
  double wide;
  uint32_t hist[8];
} sum_hist;

static void sum_combine(void *result, void *partial, void *user) {
  (void)user;
  sum_hist *r = result;
  const sum_hist *p = partial;
  r->sum += p->sum;
  r->wide += p->wide;
  for (int k = 0; k < 8; k++) r->hist[k] += p->hist[k];
}

static void sum_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  const float *x = myr_chunk_f32(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    sum_hist *part = myr_view_partial(v, i);
    part->sum += x[i];
    part->wide += (double)x[i] * 1e-3;
    part->hist[(uint32_t)(x[i] * 1000.0f) & 7]++;
  }
}

static sum_hist reduce_world(uint32_t workers, uint32_t chunk, uint32_t n) {
  fixture f = {0};
  assert_int_equal(myr_world_create(checked_world(), &f.w), MYR_OK);
  fixture_register(&f);
  float *xs = malloc(sizeof *xs * n);
  assert_non_null(xs);
  uint64_t seed = 99;
  for (uint32_t i = 0; i < n; i++)
    xs[i] = (float)(rng_next(&seed) % 1000003) * 1e-4f + 1e-7f * (float)i; /* rounding-sensitive */
  const myr_bulk_column col[] = {{f.pos, 0, xs}};
  assert_int_equal(myr_entity_create_bulk(f.w, &(myr_bulk_desc){.components = (myr_component[]){f.pos},
                                                                .component_count = 1,
                                                                .count = n,
                                                                .columns = col,
                                                                .column_count = 1}),
                   MYR_OK);
  /* a second table, matched after the first */
  assert_int_equal(myr_entity_create_bulk(f.w, &(myr_bulk_desc){.components = (myr_component[]){f.pos, f.tag},
                                                                .component_count = 2,
                                                                .count = n / 3,
                                                                .columns = col,
                                                                .column_count = 1}),
                   MYR_OK);
  free(xs);
  myr_resource total;
  assert_int_equal(myr_resource_register(f.w, &(myr_resource_desc){.name = "Total", .size = sizeof(sum_hist)}, &total),
                   MYR_OK);
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(f.w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &s), MYR_OK);
  myr_reduction_desc red = {.partial_size = sizeof(sum_hist),
                            .block_rows = 256,
                            .combine = sum_combine,
                            .result = myr_resource_data(f.w, total)};
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "sum",
                                                       .terms = (myr_term[]){{f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = sum_rows,
                                                       .reduction = &red,
                                                       .resources = (myr_resource_term[]){{total, MYR_TERM_WRITE}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_run(s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_run(s, 0.5), MYR_OK); /* partials start from the identity every frame */
  sum_hist r = *(sum_hist *)myr_resource_data(f.w, total);
  myr_schedule_destroy(s);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  myr_world_destroy(f.w);
  return r;
}

static void a_float_sum_reduction_has_the_same_bits_for_any_threads_and_chunks(void **state) {
  (void)state;
  enum { N = 40000 };
  sum_hist ref = reduce_world(1, 4096, N);
  uint32_t count = 0;
  for (int k = 0; k < 8; k++) count += ref.hist[k];
  assert_int_equal(count, N + N / 3);
  const uint32_t threads[] = {1, 2, 3, 4, 8}, chunks[] = {16, 64, 1000, 4096, 65536};
  for (int t = 0; t < 5; t++)
    for (int c = 0; c < 5; c++) {
      sum_hist r = reduce_world(threads[t], chunks[c], N);
      /* bit for bit, field by field (the struct's padding is not a value) */
      assert_memory_equal(&r.sum, &ref.sum, sizeof r.sum);
      assert_memory_equal(&r.wide, &ref.wide, sizeof r.wide);
      assert_memory_equal(r.hist, ref.hist, sizeof r.hist);
    }
}

static void bad_reductions_are_rejected(void **state) {
  sfix *x = *state;
  sum_hist out;
  myr_reduction_desc no_combine = {.partial_size = sizeof out, .result = &out};
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "r",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = sum_rows,
                                                       .reduction = &no_combine},
                                    NULL),
                   MYR_EINVAL);
  assert_non_null(strstr(myr_schedule_error(x->s), "a reduction needs"));
  myr_reduction_desc once = {.partial_size = sizeof out, .combine = sum_combine, .result = &out};
  assert_int_equal(myr_schedule_add(x->s, &(myr_system_desc){.name = "r", .fn = sum_rows, .reduction = &once}, NULL),
                   MYR_EINVAL);
}

/* ---- access checking (the debug and asan presets build with it) ------------ */

typedef struct peek_ctx {
  myr_world *w;
  myr_component vel;
} peek_ctx;

static void peek_velocity(const myr_view *v, myr_patches *p) {
  (void)p;
  const peek_ctx *c = v->user;
  t_velocity vel;
  if (v->chunk.count) myr_component_get(c->w, v->chunk.ids[0], c->vel, &vel);
}

static void write_declared_readonly(const myr_view *v, myr_patches *p) {
  (void)p;
  uint32_t *n = v->resources[0];
  ++*n; /* declared read */
}

static void undeclared_accesses_are_reported_while_checking(void **state) {
  sfix *x = *state;
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos, x->f.vel},
                                                                   .component_count = 2,
                                                                   .count = 100}),
                   MYR_OK);
  peek_ctx c = {x->f.w, x->f.vel};
  add(x, "steer", 0, (myr_term[]){{x->f.vel, MYR_TERM_WRITE}}, 1, noop_system, NULL);
  add(x, "peek", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, peek_velocity, &c);
  assert_int_equal(myr_schedule_set_access_check(x->s, true), MYR_OK);
  myr_status st = myr_schedule_run(x->s, 0.5);
  assert_int_equal(st, MYR_EACCESS);
  assert_non_null(strstr(myr_schedule_error(x->s), "system \"peek\" reads Velocity through the world while \"steer\""));
}

/* Off, nothing is checked (whatever the build's default); the switch is
 * refused during a frame and from a callback; the environment variable
 * turns checks on for schedules made after it is set. */
static void try_switch(const myr_view *v, myr_patches *p) {
  (void)p;
  if (myr_schedule_set_access_check(v->schedule, false) != MYR_EBUSY) myr_system_fail(v, MYR_EINVAL);
}

static void access_checks_switch_at_run_time(void **state) {
  sfix *x = *state;
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos, x->f.vel},
                                                                   .component_count = 2,
                                                                   .count = 100}),
                   MYR_OK);
  peek_ctx c = {x->f.w, x->f.vel};
  add(x, "steer", 0, (myr_term[]){{x->f.vel, MYR_TERM_WRITE}}, 1, noop_system, NULL);
  add(x, "peek", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, peek_velocity, &c);
  assert_int_equal(myr_schedule_set_access_check(x->s, false), MYR_OK);
  assert_false(myr_schedule_access_check(x->s));
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK); /* nothing checked, nothing paid */
  assert_int_equal(myr_schedule_set_access_check(x->s, true), MYR_OK);
  assert_true(myr_schedule_access_check(x->s));
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_EACCESS);
  assert_int_equal(myr_schedule_set_access_check(x->s, false), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_schedule_set_access_check(NULL, true), MYR_EINVAL);
  add(x, "switcher", 1, NULL, 0, try_switch, NULL);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  /* the environment, for schedules made after it is set */
  setenv("MYRIAD_ACCESS_CHECK", "1", 1);
  myr_schedule *t;
  assert_int_equal(myr_schedule_create(x->f.w, NULL, &t), MYR_OK);
  assert_true(myr_schedule_access_check(t));
  myr_schedule_destroy(t);
  setenv("MYRIAD_ACCESS_CHECK", "0", 1);
  assert_int_equal(myr_schedule_create(x->f.w, NULL, &t), MYR_OK);
#ifndef MYR_ACCESS_CHECK
  assert_false(myr_schedule_access_check(t)); /* (a checking build is on whatever the environment says) */
#endif
  myr_schedule_destroy(t);
  unsetenv("MYRIAD_ACCESS_CHECK");
}

static void writing_a_read_resource_is_reported_while_checking(void **state) {
  sfix *x = *state;
  myr_resource n = make_resource(x, "N", 4);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "sneaky",
                                                       .fn = write_declared_readonly,
                                                       .resources = (myr_resource_term[]){{n, MYR_TERM_READ}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_set_access_check(x->s, true), MYR_OK);
  myr_status st = myr_schedule_run(x->s, 0.5);
  assert_int_equal(st, MYR_EACCESS);
  assert_non_null(strstr(myr_schedule_error(x->s), "system \"sneaky\" wrote resource N, which it declares read-only"));
}

static void sum_combine_u64(void *result, void *partial, void *user) {
  (void)user;
  uint64_t a, b;
  memcpy(&a, result, 8);
  memcpy(&b, partial, 8);
  a += b;
  memcpy(result, &a, 8);
}

/* A chunked system's own chunks run at the same time: a plain write of a
 * resource by one is refused, naming the system, the resource and what to
 * use instead; the cases where chunks cannot race are allowed. */
static myr_status add_writer(sfix *x, const char *name, myr_resource r, myr_term_kind kind, uint32_t flags,
                             myr_system_fn hook) {
  return myr_schedule_add(x->s,
                          &(myr_system_desc){.name = name,
                                             .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                             .term_count = 1,
                                             .fn = noop_chunk,
                                             .flags = flags,
                                             .end = hook,
                                             .resources = (myr_resource_term[]){{r, kind}},
                                             .resource_count = 1},
                          NULL);
}

static void a_chunked_system_writing_a_resource_is_refused_with_what_to_use(void **state) {
  sfix *x = *state;
  myr_resource rng = make_resource(x, "SharedRng", 8);
  assert_int_equal(add_writer(x, "draw", rng, MYR_TERM_WRITE, 0, NULL), MYR_EINVAL);
  const char *msg = myr_schedule_error(x->s);
  assert_non_null(strstr(msg, "add \"draw\": resource SharedRng is written (MYR_TERM_WRITE) by a system whose "
                              "chunks run at the same time"));
  assert_non_null(strstr(msg, "MYR_TERM_WRITE_HOOKS"));
  assert_non_null(strstr(msg, "MYR_TERM_WRITE_DISJOINT"));
  assert_non_null(strstr(msg, "reduction"));
  assert_int_equal(myr_schedule_system_count(x->s), 0); /* nothing added */
  /* a hooks-only kind needs a hook */
  assert_int_equal(add_writer(x, "hookless", rng, MYR_TERM_WRITE_HOOKS, 0, NULL), MYR_EINVAL);
  assert_non_null(strstr(myr_schedule_error(x->s), "\"hookless\": resource SharedRng is MYR_TERM_WRITE_HOOKS"));
  /* a kind that is no resource kind */
  assert_int_equal(add_writer(x, "odd", rng, MYR_TERM_OPTIONAL, 0, NULL), MYR_EINVAL);
  assert_int_equal(myr_schedule_system_count(x->s), 0);
}

static void resource_writes_whose_chunks_cannot_race_are_allowed(void **state) {
  sfix *x = *state;
  myr_resource a = make_resource(x, "A", 8), b = make_resource(x, "B", 8), c = make_resource(x, "C", 8),
               d = make_resource(x, "D", 8), e = make_resource(x, "E", 8), f = make_resource(x, "F", 8);
  assert_int_equal(add_writer(x, "whole", a, MYR_TERM_WRITE, MYR_SYSTEM_WHOLE, NULL), MYR_OK);
  assert_int_equal(add_writer(x, "main", b, MYR_TERM_WRITE, MYR_SYSTEM_MAIN_THREAD, NULL), MYR_OK);
  assert_int_equal(add_writer(x, "hooks", c, MYR_TERM_WRITE_HOOKS, 0, noop_chunk), MYR_OK);
  assert_int_equal(add_writer(x, "disjoint", d, MYR_TERM_WRITE_DISJOINT, 0, NULL), MYR_OK);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "once",
                                                       .fn = noop_chunk,
                                                       .resources = (myr_resource_term[]){{e, MYR_TERM_WRITE}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  /* the reduction's result, combined by the library after the chunks */
  myr_reduction_desc red = {.partial_size = 8, .combine = sum_combine_u64, .result = myr_resource_data(x->f.w, f)};
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "reduce",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = noop_chunk,
                                                       .reduction = &red,
                                                       .resources = (myr_resource_term[]){{f, MYR_TERM_WRITE}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_system_count(x->s), 6);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
}

static void count_rows_u64(const myr_view *v, myr_patches *p) {
  (void)p;
  for (uint32_t i = 0; i < v->chunk.count; i++) ++*(uint64_t *)myr_view_partial(v, i);
}

static void write_shared_from_chunk(const myr_view *v, myr_patches *p) {
  (void)p;
  if (v->chunk.count) ((uint32_t *)v->resources[0])[0] += 1;
}

static void chunks_writing_a_hooks_only_resource_are_reported_while_checking(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = &x->f.pos, .component_count = 1, .count = 10}),
      MYR_OK);
  myr_resource n = make_resource(x, "N", 4);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "sly",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = write_shared_from_chunk,
                                                       .flags = MYR_SYSTEM_MAIN_THREAD,
                                                       .begin = noop_chunk,
                                                       .resources = (myr_resource_term[]){{n, MYR_TERM_WRITE_HOOKS}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_set_access_check(x->s, true), MYR_OK);
  myr_status st = myr_schedule_run(x->s, 0.5);
  assert_int_equal(st, MYR_EACCESS);
  assert_non_null(strstr(myr_schedule_error(x->s), "a chunk of system \"sly\" wrote resource N, which it declares "
                                                   "written by its hooks only"));
}

/* ---- resources: hashing, resizing, reached by handle ---------------------- */

static void an_unhashed_resource_is_left_out_of_the_world_hash(void **state) {
  sfix *x = *state;
  myr_resource kept = make_resource(x, "Kept", 8), scratch;
  assert_int_equal(
      myr_resource_register(x->f.w, &(myr_resource_desc){.name = "Scratch", .size = 64, .flags = MYR_RESOURCE_UNHASHED},
                            &scratch),
      MYR_OK);
  uint64_t h0 = world_hash(x->f.w);
  memset(myr_resource_data(x->f.w, scratch), 0x5a, 64);
  assert_true(world_hash(x->f.w) == h0);
  memset(myr_resource_data(x->f.w, kept), 0x5a, 8);
  assert_true(world_hash(x->f.w) != h0);
  myr_resource bad;
  assert_int_equal(
      myr_resource_register(x->f.w, &(myr_resource_desc){.name = "Bad", .size = 8, .flags = 1u << 7}, &bad),
      MYR_EINVAL);
}

static void try_resize(const myr_view *v, myr_patches *p) {
  (void)p;
  myr_resource *r = v->user;
  /* the world is read-only to callbacks; a resize during a frame is refused */
  if (myr_resource_resize((myr_world *)v->world, *r, 4) != MYR_EBUSY) myr_system_fail(v, MYR_EINVAL);
}

static void a_resize_keeps_the_bytes_and_is_refused_during_a_frame(void **state) {
  sfix *x = *state;
  myr_resource r = make_resource(x, "Grows", 4);
  memcpy(myr_resource_data(x->f.w, r), "abcd", 4);
  assert_int_equal(myr_resource_resize(x->f.w, r, 8), MYR_OK);
  assert_int_equal(myr_resource_size(x->f.w, r), 8);
  assert_memory_equal(myr_resource_data(x->f.w, r), "abcd\0\0\0\0", 8);
  assert_int_equal(myr_resource_resize(x->f.w, r, 2), MYR_OK);
  assert_memory_equal(myr_resource_data(x->f.w, r), "ab", 2);
  assert_int_equal(myr_resource_resize(x->f.w, r, 0), MYR_EINVAL);
  assert_int_equal(myr_resource_resize(x->f.w, 99, 8), MYR_EINVAL);
  assert_int_equal(myr_resource_resize(NULL, r, 8), MYR_EINVAL);
  assert_int_equal(myr_resource_size(x->f.w, r), 2);
  assert_int_equal(myr_schedule_add(x->s, &(myr_system_desc){.name = "resizer", .fn = try_resize, .user = &r}, NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
}

typedef struct by_handle {
  myr_resource a, b, missing;
  uint32_t seen_a, seen_b;
  bool missing_null;
} by_handle;

static void read_by_handle(const myr_view *v, myr_patches *p) {
  (void)p;
  by_handle *h = v->user;
  const uint32_t *a = myr_view_resource(v, h->a), *b = myr_view_resource(v, h->b);
  h->seen_a = a ? a[0] : 0;
  h->seen_b = b ? b[1] : 0; /* b's second word: there after the resize */
  h->missing_null = myr_view_resource(v, h->missing) == NULL;
}

static void systems_reach_resources_by_handle_and_follow_a_resize(void **state) {
  sfix *x = *state;
  by_handle h = {make_resource(x, "A", 4), make_resource(x, "B", 4), make_resource(x, "Undeclared", 4), 0, 0, false};
  *(uint32_t *)myr_resource_data(x->f.w, h.a) = 11;
  /* the terms in the other order than the handles: nothing depends on it */
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){
                                        .name = "reader",
                                        .fn = read_by_handle,
                                        .user = &h,
                                        .resources = (myr_resource_term[]){{h.b, MYR_TERM_READ}, {h.a, MYR_TERM_WRITE}},
                                        .resource_count = 2},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(h.seen_a, 11);
  assert_true(h.missing_null);
  assert_int_equal(myr_resource_resize(x->f.w, h.b, 8), MYR_OK);
  ((uint32_t *)myr_resource_data(x->f.w, h.b))[1] = 22;
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(h.seen_b, 22);
  assert_null(myr_view_resource(NULL, h.a));
}

static void a_reduction_result_named_by_handle_follows_its_resource(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = &x->f.pos, .component_count = 1, .count = 300}),
      MYR_OK);
  myr_resource total = make_resource(x, "Total", 8);
  myr_reduction_desc red = {.partial_size = 8, .combine = sum_combine_u64, .result_resource = total};
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "count",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = count_rows_u64,
                                                       .reduction = &red,
                                                       .resources = (myr_resource_term[]){{total, MYR_TERM_WRITE}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(*(uint64_t *)myr_resource_data(x->f.w, total), 300);
  assert_int_equal(myr_resource_resize(x->f.w, total, 64), MYR_OK); /* the data moves */
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(*(uint64_t *)myr_resource_data(x->f.w, total), 300);
  assert_int_equal(myr_resource_resize(x->f.w, total, 4), MYR_OK); /* too small now */
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_EINVAL);
  assert_non_null(strstr(myr_schedule_error(x->s), "Total of \"count\"'s reduction was resized below"));
  /* at add: an unknown or too small result resource */
  red.result_resource = 77;
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "count2",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = count_rows_u64,
                                                       .reduction = &red},
                                    NULL),
                   MYR_EINVAL);
  assert_non_null(strstr(myr_schedule_error(x->s), "is unknown"));
}

/* A second pass names the reduction whose partials it reads: its chunks
 * line up with the blocks by default, and a chunk_multiple that does not
 * is refused with both names. */
static myr_status add_pass(sfix *x, const char *name, const char *of, uint32_t multiple, uint32_t stage) {
  return myr_schedule_add(x->s,
                          &(myr_system_desc){.name = name,
                                             .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                             .term_count = 1,
                                             .fn = noop_chunk,
                                             .stage = stage,
                                             .chunk_multiple = multiple,
                                             .partials_of = of},
                          NULL);
}

static void a_second_pass_lines_up_with_its_reduction_or_is_refused(void **state) {
  sfix *x = *state;
  myr_resource total = make_resource(x, "Total", 8);
  myr_reduction_desc red = {.partial_size = 8, .block_rows = 512, .combine = sum_combine_u64, .result_resource = total};
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "first",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = count_rows_u64,
                                                       .reduction = &red,
                                                       .resources = (myr_resource_term[]){{total, MYR_TERM_WRITE}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(add_pass(x, "second", "first", 0, 0), MYR_OK); /* lines up by itself */
  assert_int_equal(myr_schedule_build(x->s), MYR_OK);
  char *plan = plan_text(x->s);
  assert_non_null(strstr(plan, "second"));
  free(plan);
  assert_int_equal(add_pass(x, "crooked", "first", 1024 + 16, 0), MYR_OK);
  assert_int_equal(myr_schedule_build(x->s), MYR_EINVAL);
  assert_non_null(strstr(myr_schedule_error(x->s), "\"crooked\" reads the partials of \"first\", whose blocks are "
                                                   "512 rows, but cuts its chunks on multiples of 1040 rows"));
}

static void a_second_pass_of_no_reduction_or_another_stage_is_refused(void **state) {
  sfix *x = *state;
  assert_int_equal(add_pass(x, "plain", NULL, 0, 0), MYR_OK);
  assert_int_equal(add_pass(x, "reader", "plain", 0, 0), MYR_OK);
  assert_int_equal(myr_schedule_build(x->s), MYR_EINVAL);
  assert_non_null(
      strstr(myr_schedule_error(x->s), "\"reader\" reads the partials of \"plain\", which has no reduction"));
}

static void store_provisional_in_place(const myr_view *v, myr_patches *p) {
  myr_entity *links = myr_chunk_column(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    myr_entity child;
    if (myr_patch_spawn(p, NULL, 0, NULL, &child) != MYR_OK) myr_system_fail(v, MYR_ENOMEM);
    links[i] = child; /* wrong: never rewritten */
  }
}

static void a_provisional_id_stored_in_place_is_reported_while_checking(void **state) {
  sfix *x = *state;
  static const myr_field link_f[] = {{"to", MYR_ENTITY, 0, 0}};
  myr_component link;
  assert_int_equal(myr_component_register(x->f.w, &(myr_component_desc){"Link", link_f, 1, sizeof(myr_entity)}, &link),
                   MYR_OK);
  assert_int_equal(
      myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = &link, .component_count = 1, .count = 5}), MYR_OK);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "linker",
                                                       .terms = (myr_term[]){{link, MYR_TERM_WRITE}},
                                                       .term_count = 1,
                                                       .fn = store_provisional_in_place},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_set_access_check(x->s, true), MYR_OK);
  myr_status st = myr_schedule_run(x->s, 0.5);
  assert_int_equal(st, MYR_EACCESS);
  assert_non_null(strstr(myr_schedule_error(x->s), "system \"linker\" stored a provisional id in Link.to"));
}

/* From a review: a result resource the system does not declare would be
 * written with no edge to its readers (and a forgotten `result` would
 * write resource 0): refused. */
static void a_result_resource_must_be_declared_written(void **state) {
  sfix *x = *state;
  myr_resource total = make_resource(x, "Total", 8);
  myr_reduction_desc red = {.partial_size = 8, .combine = sum_combine_u64, .result_resource = total};
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "undeclared",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = count_rows_u64,
                                                       .reduction = &red},
                                    NULL),
                   MYR_EINVAL);
  assert_non_null(strstr(myr_schedule_error(x->s), "\"undeclared\": its reduction's result goes to resource Total, "
                                                   "which the system does not declare"));
  assert_int_equal(myr_schedule_system_count(x->s), 0);
}

static void write_result_from_chunk(const myr_view *v, myr_patches *p) {
  (void)p;
  uint64_t *r = myr_view_resource(v, *(const myr_resource *)v->user);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    ++*(uint64_t *)myr_view_partial(v, i);
    r[1]++; /* wrong: the chunks may only read the result's resource */
  }
}

/* A system whose chunks also write the resource that holds its
 * reduction's result, run once with access checks on. */
static myr_status run_greedy(sfix *x, uint32_t flags) {
  assert_int_equal(
      myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = &x->f.pos, .component_count = 1, .count = 50}),
      MYR_OK);
  static myr_resource total;
  total = make_resource(x, "Total", 16);
  myr_reduction_desc red = {.partial_size = 8, .combine = sum_combine_u64, .result_resource = total};
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "greedy",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = write_result_from_chunk,
                                                       .user = &total,
                                                       .flags = flags,
                                                       .reduction = &red,
                                                       .resources = (myr_resource_term[]){{total, MYR_TERM_WRITE}},
                                                       .resource_count = 1},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_set_access_check(x->s, true), MYR_OK);
  return myr_schedule_run(x->s, 0.5);
}

static void a_main_thread_system_may_write_its_result_resource_from_its_chunks(void **state) {
  /* main thread: its chunks cannot race, so writing there is allowed */
  assert_int_equal(run_greedy(*state, MYR_SYSTEM_MAIN_THREAD), MYR_OK);
}

static void chunked_writes_to_a_result_resource_are_reported_while_checking(void **state) {
  sfix *x = *state;
  assert_int_equal(run_greedy(x, 0), MYR_EACCESS);
  assert_non_null(strstr(myr_schedule_error(x->s), "a chunk of system \"greedy\" wrote resource Total, which holds "
                                                   "its reduction's result"));
}

/* A checking schedule keeps the world's read reports for its frames even
 * after another checking schedule on the world took them and went away. */
static void a_checking_schedule_keeps_its_read_checks_when_another_goes(void **state) {
  sfix *x = *state;
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos, x->f.vel},
                                                                   .component_count = 2,
                                                                   .count = 100}),
                   MYR_OK);
  peek_ctx c = {x->f.w, x->f.vel};
  add(x, "steer", 0, (myr_term[]){{x->f.vel, MYR_TERM_WRITE}}, 1, noop_system, NULL);
  add(x, "peek", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, peek_velocity, &c);
  assert_int_equal(myr_schedule_set_access_check(x->s, true), MYR_OK);
  myr_schedule *other;
  assert_int_equal(myr_schedule_create(x->f.w, NULL, &other), MYR_OK);
  assert_int_equal(myr_schedule_set_access_check(other, true), MYR_OK); /* takes the world's hook */
  myr_schedule_destroy(other);                                          /* and drops it */
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_EACCESS);
}

static void set_the_clock_from_a_callback(const myr_view *v, myr_patches *p) {
  (void)p;
  myr_world *w = (myr_world *)v->world;
  if (myr_world_set_seed(w, 5) != MYR_EBUSY || myr_world_set_clock(w, 9, 9) != MYR_EBUSY)
    myr_system_fail(v, MYR_EINVAL);
}

static void the_seed_and_clock_are_not_set_during_a_frame(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_schedule_add(x->s, &(myr_system_desc){.name = "tamper", .fn = set_the_clock_from_a_callback}, NULL), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.5), MYR_OK);
  assert_int_equal(myr_world_frame(x->f.w), 1);
  assert_int_equal(myr_world_seed(x->f.w), 0);
}

/* A spatial grid by deterministic counting sort, in two passes over the
 * same rows (the pattern myr_view_partial_of documents). */
enum { CELLS = 64, GRID_MAX = 60000 };
typedef struct grid_res {
  uint32_t start[CELLS + 1];
  uint32_t filled;
  myr_entity slot[GRID_MAX];
} grid_res;
typedef struct counts {
  uint32_t n[CELLS];
} counts;
typedef struct grid_ctx {
  myr_system count_sys;
} grid_ctx;

static uint32_t cell_of(const float *x, const float *y, uint32_t i) {
  uint32_t cx = (uint32_t)(x[i] * 8.0f) & 7, cy = (uint32_t)(y[i] * 8.0f) & 7;
  return cy * 8 + cx;
}

static void count_cells(const myr_view *v, myr_patches *p) {
  (void)p;
  const float *x = myr_chunk_f32(&v->chunk, 0, 0), *y = myr_chunk_f32(&v->chunk, 0, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) ((counts *)myr_view_partial(v, i))->n[cell_of(x, y, i)]++;
}

/* an exclusive scan in row order: each block's counts become its offsets */
static void scan_cells(void *result, void *partial, void *user) {
  (void)user;
  counts *total = result, *block = partial;
  for (int c = 0; c < CELLS; c++) {
    uint32_t here = block->n[c];
    block->n[c] = total->n[c];
    total->n[c] += here;
  }
}

static void cell_starts(const myr_view *v, myr_patches *p) {
  (void)p;
  const counts *total = v->resources[0];
  grid_res *g = v->resources[1];
  g->start[0] = 0;
  for (int c = 0; c < CELLS; c++) g->start[c + 1] = g->start[c] + total->n[c];
  g->filled = 0;
}

static void place_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  const grid_ctx *ctx = v->user;
  grid_res *g = v->resources[0];
  const float *x = myr_chunk_f32(&v->chunk, 0, 0), *y = myr_chunk_f32(&v->chunk, 0, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    counts *cursor = myr_view_partial_of(v, ctx->count_sys, i);
    assert_non_null(cursor);
    uint32_t c = cell_of(x, y, i);
    g->slot[g->start[c] + cursor->n[c]++] = v->chunk.ids[i];
  }
}

static uint64_t grid_world(uint32_t workers, uint32_t chunk, uint32_t n, bool check) {
  fixture f = {0};
  assert_int_equal(myr_world_create(checked_world(), &f.w), MYR_OK);
  fixture_register(&f);
  float *xs = malloc(sizeof(float) * n), *ys = malloc(sizeof(float) * n);
  uint64_t seed = 5;
  for (uint32_t i = 0; i < n; i++) {
    xs[i] = (float)(rng_next(&seed) % 10000) / 10000.0f;
    ys[i] = (float)(rng_next(&seed) % 10000) / 10000.0f;
  }
  const myr_bulk_column cols[] = {{f.pos, 0, xs}, {f.pos, 1, ys}};
  assert_int_equal(myr_entity_create_bulk(f.w, &(myr_bulk_desc){.components = (myr_component[]){f.pos},
                                                                .component_count = 1,
                                                                .count = n,
                                                                .columns = cols,
                                                                .column_count = 2}),
                   MYR_OK);
  assert_int_equal(myr_entity_create_bulk(f.w, &(myr_bulk_desc){.components = (myr_component[]){f.pos, f.tag},
                                                                .component_count = 2,
                                                                .count = n / 2,
                                                                .columns = cols,
                                                                .column_count = 2}),
                   MYR_OK);
  free(xs);
  free(ys);
  myr_resource totals, grid;
  assert_int_equal(myr_resource_register(f.w, &(myr_resource_desc){.name = "Totals", .size = sizeof(counts)}, &totals),
                   MYR_OK);
  assert_int_equal(myr_resource_register(f.w, &(myr_resource_desc){.name = "Grid", .size = sizeof(grid_res)}, &grid),
                   MYR_OK);
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(f.w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &s), MYR_OK);
  myr_reduction_desc red = {.partial_size = sizeof(counts),
                            .block_rows = 512,
                            .combine = scan_cells,
                            .result = myr_resource_data(f.w, totals)};
  grid_ctx ctx;
  const myr_term q[] = {{f.pos, MYR_TERM_READ}};
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "count",
                                                       .terms = q,
                                                       .term_count = 1,
                                                       .fn = count_cells,
                                                       .reduction = &red,
                                                       .end = cell_starts,
                                                       .resources = (myr_resource_term[]){{totals, MYR_TERM_WRITE},
                                                                                          {grid, MYR_TERM_WRITE_HOOKS}},
                                                       .resource_count = 2},
                                    &ctx.count_sys),
                   MYR_OK);
  assert_int_equal(
      myr_schedule_add(s,
                       &(myr_system_desc){.name = "place",
                                          .terms = q,
                                          .term_count = 1,
                                          .fn = place_rows,
                                          .user = &ctx,
                                          .chunk_multiple = 512,
                                          .after = (const char *const[]){"count"},
                                          .after_count = 1,
                                          .resources = (myr_resource_term[]){{grid, MYR_TERM_WRITE_DISJOINT}},
                                          .resource_count = 1},
                       NULL),
      MYR_OK);
  for (int fr = 0; fr < 2; fr++) assert_int_equal(myr_schedule_run(s, 0.5), MYR_OK);
  const grid_res *g = myr_resource_data(f.w, grid);
  if (check) { /* every entity once, each in its cell's range */
    assert_int_equal(g->start[CELLS], n + n / 2);
    for (int c = 0; c < CELLS; c++)
      for (uint32_t k = g->start[c]; k < g->start[c + 1]; k++) {
        t_position p;
        assert_int_equal(myr_component_get(f.w, g->slot[k], f.pos, &p), MYR_OK);
        assert_int_equal(cell_of(&p.x, &p.y, 0), (uint32_t)c);
      }
  }
  uint64_t h = world_hash(f.w);
  myr_schedule_destroy(s);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  myr_world_destroy(f.w);
  return h;
}

static void a_grid_counting_sort_fills_the_same_slots_for_any_threads_and_chunks(void **state) {
  (void)state;
  enum { N = 30000 };
  uint64_t ref = grid_world(1, 4096, N, true);
  const uint32_t threads[] = {1, 2, 3, 4, 8}, chunks[] = {16, 64, 1000, 4096, 65536};
  for (int t = 0; t < 5; t++)
    for (int c = 0; c < 5; c++) assert_true(grid_world(threads[t], chunks[c], N, false) == ref);
}

static myr_schedule *nested_target;
static atomic_int nested_status;
static void run_from_inside(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
  atomic_store(&nested_status, myr_schedule_run(nested_target, 0.1));
}

static void running_from_inside_a_system_is_refused(void **state) {
  sfix *x = *state;
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos},
                                                                   .component_count = 1,
                                                                   .values = NULL,
                                                                   .count = 10,
                                                                   .ids_out = NULL}),
                   MYR_OK);
  add(x, "nest", 0, (myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1, run_from_inside, NULL);
  nested_target = x->s;
  assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
  assert_int_equal(atomic_load(&nested_status), MYR_EBUSY);
}

/* Inside a callback the pool may not be destroyed nor a frame run (of any
 * schedule: on the same pool, on another, on none), for every way a system
 * runs: chunks as jobs, a stage's only system (run by the frame's thread,
 * its chunks shared out), a run-once system alone in its stage, and a
 * main-thread system. */
typedef struct inside_calls {
  myr_jobs *pool;
  myr_schedule *self;
  myr_schedule *other[3]; /* on the same pool, on a pool of its own, on none (jobs = NULL) */
  atomic_int calls, destroy_busy, run_busy, add_busy;
} inside_calls;

static void call_from_inside(const myr_view *v, myr_patches *p) {
  (void)p;
  inside_calls *c = v->user;
  atomic_fetch_add(&c->calls, 1);
  atomic_fetch_add(&c->destroy_busy, myr_jobs_destroy(c->pool) == MYR_EBUSY);
  int busy = 0;
  for (int k = 0; k < 3; k++) busy += myr_schedule_run(c->other[k], 0.1) == MYR_EBUSY;
  atomic_fetch_add(&c->run_busy, busy == 3);
  /* a bad add during the frame: refused before it is looked at (no message
   * written from several workers at once) */
  atomic_fetch_add(&c->add_busy, myr_schedule_add(c->self, &(myr_system_desc){0}, NULL) == MYR_EBUSY);
}

static void destroying_the_pool_or_running_a_frame_from_any_callback_is_refused(void **state) {
  sfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos}, .component_count = 1, .count = 1000}),
      MYR_OK);
  myr_jobs *own;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &own), MYR_OK);
  inside_calls c = {.pool = x->pool, .self = x->s};
  myr_jobs *pools[3] = {x->pool, own, NULL};
  for (int k = 0; k < 3; k++)
    assert_int_equal(myr_schedule_create(x->f.w, &(myr_schedule_desc){.jobs = pools[k]}, &c.other[k]), MYR_OK);
  const struct {
    const char *name;
    uint32_t stage, term_count, flags;
  } ways[] = {
      {"chunks, two in a stage", 0, 1, 0},
      {"its partner", 0, 1, 0},
      {"a stage's only system", 1, 1, 0},
      {"run-once, alone in its stage", 2, 0, 0},
      {"main-thread", 3, 1, MYR_SYSTEM_MAIN_THREAD},
  };
  for (size_t i = 0; i < sizeof ways / sizeof *ways; i++)
    assert_int_equal(myr_schedule_add(x->s,
                                      &(myr_system_desc){.name = ways[i].name,
                                                         .stage = ways[i].stage,
                                                         .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                         .term_count = ways[i].term_count,
                                                         .flags = ways[i].flags,
                                                         .fn = call_from_inside,
                                                         .user = &c},
                                      NULL),
                     MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
  int calls = atomic_load(&c.calls);
  assert_true(calls >= 5); /* at least one chunk each (1000 rows, 64 a chunk) */
  assert_int_equal(atomic_load(&c.destroy_busy), calls);
  assert_int_equal(atomic_load(&c.run_busy), calls);
  assert_int_equal(atomic_load(&c.add_busy), calls);
  assert_string_equal(myr_schedule_error(x->s), "");
  for (int k = 0; k < 3; k++) myr_schedule_destroy(c.other[k]);
  assert_int_equal(myr_jobs_destroy(own), MYR_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_grid_counting_sort_fills_the_same_slots_for_any_threads_and_chunks),
      cmocka_unit_test_setup_teardown(destroying_the_pool_or_running_a_frame_from_any_callback_is_refused, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(undeclared_accesses_are_reported_while_checking, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(access_checks_switch_at_run_time, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(writing_a_read_resource_is_reported_while_checking, sfix_setup, sfix_teardown),
      cmocka_unit_test(a_float_sum_reduction_has_the_same_bits_for_any_threads_and_chunks),
      cmocka_unit_test_setup_teardown(bad_reductions_are_rejected, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(errors_name_what_failed, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(a_callback_can_fail_the_frame_and_is_named, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(a_failing_begin_hook_runs_none_of_its_system, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(calls_from_another_thread_during_a_frame_are_refused, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(chunk_time_sums_the_chunks_beside_the_wall_span, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(statistics_switch_off_and_autotuning_forces_them_on, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(systems_on_disjoint_tables_do_not_wait_for_each_other, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(resources_register_and_reject_bad_descriptions, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(resource_conflicts_become_edges_that_name_the_resource, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(a_run_once_system_runs_once_per_frame_with_its_resource, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(hooks_run_once_before_and_after_every_chunk, sfix_setup, sfix_teardown),
      cmocka_unit_test(hook_and_run_once_patches_are_deterministic),
      cmocka_unit_test_setup_teardown(with_terms_cause_no_conflict, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(conflicts_become_edges_and_the_plan_says_why, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(unknown_names_and_cycles_are_build_errors, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(bad_system_descriptions_are_rejected, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(stats_json_escapes_any_system_name, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(stats_print_totals_over_all_frames, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(cpu_time_sums_the_chunks_cpu_clocks_when_asked, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(every_row_is_visited_once_per_frame_in_bounded_chunks, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(every_row_is_visited_once_per_frame_in_bounded_chunks, sfix_setup_inline,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(main_thread_and_whole_systems_run_as_asked, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(patches_of_a_stage_are_visible_in_the_next, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(patches_of_a_stage_are_visible_in_the_next, sfix_setup_inline, sfix_teardown),
      cmocka_unit_test_setup_teardown(a_stage_end_hook_diverts_and_injects_patches_in_key_order, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(a_stage_end_hook_diverts_and_injects_patches_in_key_order, sfix_setup_inline,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(running_from_inside_a_system_is_refused, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(trace_records_each_chunk_and_merge, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(merge_parts_are_traced_on_their_workers, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(trace_records_each_chunk_and_merge, sfix_setup_inline, sfix_teardown),
      cmocka_unit_test_setup_teardown(gantt_draws_the_last_traced_frame, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(gantt_draws_the_last_traced_frame, sfix_setup_inline, sfix_teardown),
      cmocka_unit_test_setup_teardown(a_chunked_system_writing_a_resource_is_refused_with_what_to_use, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(resource_writes_whose_chunks_cannot_race_are_allowed, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(chunks_writing_a_hooks_only_resource_are_reported_while_checking, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(an_unhashed_resource_is_left_out_of_the_world_hash, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(a_resize_keeps_the_bytes_and_is_refused_during_a_frame, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(systems_reach_resources_by_handle_and_follow_a_resize, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(a_reduction_result_named_by_handle_follows_its_resource, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(a_second_pass_lines_up_with_its_reduction_or_is_refused, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(a_second_pass_of_no_reduction_or_another_stage_is_refused, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(a_provisional_id_stored_in_place_is_reported_while_checking, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(a_result_resource_must_be_declared_written, sfix_setup, sfix_teardown),
      cmocka_unit_test_setup_teardown(a_main_thread_system_may_write_its_result_resource_from_its_chunks, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(chunked_writes_to_a_result_resource_are_reported_while_checking, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(a_checking_schedule_keeps_its_read_checks_when_another_goes, sfix_setup,
                                      sfix_teardown),
      cmocka_unit_test_setup_teardown(the_seed_and_clock_are_not_set_during_a_frame, sfix_setup, sfix_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
