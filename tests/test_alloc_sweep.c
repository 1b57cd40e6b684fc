/* Allocation-failure sweeps over the schedule, the patches and snapshots:
 * for every k, the k-th allocation of a call fails (once, or from k on),
 * and then
 * - the call returns MYR_ENOMEM and the world hash is what it was before it
 *   (myr_schedule_run: see the two-stage case below);
 * - the same call, retried without failures, succeeds and leaves the world
 *   with the hash of a run that never failed;
 * - nothing leaked and every free got the size that was asked for
 *   (check_alloc.h).
 * The systems only record patches (spawns, adds, removes, destroys, sets,
 * field sets, MYR_ENTITY references to spawns of the same chunk), so the
 * world changes only in the stage merges: the in-place writes that
 * schedule.h allows a failed run to leave cannot happen. While a callback
 * records, its thread's allocations are not failed (check_alloc_pause):
 * recording is swept on a command buffer instead, where a failure can be
 * seen by the caller (see callback_recording_failure_fails_the_run). */
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

typedef struct {
  myr_entity target;
} t_link;

typedef struct scene {
  check_alloc ca;
  fixture f;
  myr_component link;
  myr_jobs *pool; /* NULL: the schedule's own one-worker pool */
  myr_schedule *s;
  bool pause_callbacks; /* a callback's recording never fails */
  bool late_enabled;    /* the stage 1 system records its patches */
} scene;

/* Results of the callbacks' own calls: every one must succeed, except that
 * recording may run out of memory when it is not paused. */
static atomic_long record_enomem, record_errors;

static void note(myr_status st) {
  if (st == MYR_ENOMEM) atomic_fetch_add(&record_enomem, 1);
  else if (st != MYR_OK) atomic_fetch_add(&record_errors, 1);
}

/* ---- systems: they only record patches ------------------------------------ */

static void enter(const scene *sc) {
  if (sc->pause_callbacks) check_alloc_pause();
}
static void leave(const scene *sc) {
  if (sc->pause_callbacks) check_alloc_resume();
}

/* Some rows spawn an entity, some a second one linked to the first, and
 * give the first a component through its provisional id. */
static void sys_spawn(const myr_view *v, myr_patches *p) {
  const scene *sc = v->user;
  enter(sc);
  const float *px = myr_chunk_column(&v->chunk, 0, 0), *py = myr_chunk_column(&v->chunk, 0, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    int x = (int)px[i];
    if (x % 5) continue;
    myr_entity a, b;
    const myr_component va[] = {sc->f.vel, sc->f.label};
    t_velocity vel = {px[i], py[i], -1};
    t_label lab = {"spwn", (uint64_t)x * 7 + MYR_ENTITY_INDEX(v->chunk.ids[i])};
    note(myr_patch_spawn(p, va, 2, (const void *const[]){&vel, &lab}, &a));
    if (x % 10 == 0) {
      const myr_component vb[] = {sc->link, sc->f.tag};
      t_link link = {a};
      note(myr_patch_spawn(p, vb, 2, (const void *const[]){&link, NULL}, &b));
      note(myr_patch_add(p, a, sc->f.health, &(t_health){x, 3, 0.25}));
    }
  }
  leave(sc);
}

/* Rows without the tag get it or health, by their y. */
static void sys_tag(const myr_view *v, myr_patches *p) {
  const scene *sc = v->user;
  enter(sc);
  const float *py = myr_chunk_column(&v->chunk, 0, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    int y = (int)py[i];
    if (y % 3 == 0) note(myr_patch_add(p, v->chunk.ids[i], sc->f.tag, NULL));
    else if (y % 3 == 1) note(myr_patch_add(p, v->chunk.ids[i], sc->f.health, &(t_health){y, 1, 0.5}));
  }
  leave(sc);
}

/* Tagged rows lose the tag or their velocity (which they may lack). */
static void sys_untag(const myr_view *v, myr_patches *p) {
  const scene *sc = v->user;
  enter(sc);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    myr_entity e = v->chunk.ids[i];
    if (MYR_ENTITY_INDEX(e) % 2) note(myr_patch_remove(p, e, sc->f.tag));
    else note(myr_patch_remove(p, e, sc->f.vel));
  }
  leave(sc);
}

/* Labels: every fourth serial dies, the others count up. */
static void sys_reap(const myr_view *v, myr_patches *p) {
  const scene *sc = v->user;
  enter(sc);
  const uint64_t *serial = myr_chunk_column(&v->chunk, 0, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (serial[i] % 4 == 0) {
      note(myr_patch_destroy(p, v->chunk.ids[i]));
    } else {
      uint64_t next = serial[i] + 1;
      note(myr_patch_set_field(p, v->chunk.ids[i], sc->f.label, 1, MYR_U64, &next));
    }
  }
  leave(sc);
}

/* Health: a whole-row set. */
static void sys_heal(const myr_view *v, myr_patches *p) {
  const scene *sc = v->user;
  enter(sc);
  const int32_t *hp = myr_chunk_column(&v->chunk, 0, 0);
  const uint8_t *armor = myr_chunk_column(&v->chunk, 0, 1);
  const double *regen = myr_chunk_column(&v->chunk, 0, 2);
  for (uint32_t i = 0; i < v->chunk.count; i++)
    note(myr_patch_set(p, v->chunk.ids[i], sc->f.health, &(t_health){hp[i] + 1, armor[i], regen[i] * 2}));
  leave(sc);
}

/* Stage 1: moving entities die or get tagged. */
static void sys_late(const myr_view *v, myr_patches *p) {
  const scene *sc = v->user;
  if (!sc->late_enabled) return;
  enter(sc);
  const float *vx = myr_chunk_column(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (vx[i] < 20) note(myr_patch_destroy(p, v->chunk.ids[i]));
    else note(myr_patch_add(p, v->chunk.ids[i], sc->f.tag, NULL));
  }
  leave(sc);
}

/* Added by the myr_schedule_add sweep. */
static void sys_extra(const myr_view *v, myr_patches *p) {
  const scene *sc = v->user;
  enter(sc);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    float z = (float)i;
    note(myr_patch_set_field(p, v->chunk.ids[i], sc->f.vel, 2, MYR_F32, &z));
  }
  leave(sc);
}

/* ---- the scene -------------------------------------------------------------- */

static void scene_world(scene *sc) {
  check_alloc_init(&sc->ca);
  assert_int_equal(myr_world_create(&(myr_world_desc){check_alloc_hooks(&sc->ca)}, &sc->f.w), MYR_OK);
  fixture_register(&sc->f);
  static const myr_field link_f[] = {MYR_FIELD(t_link, target, MYR_ENTITY)};
  assert_int_equal(myr_component_register(sc->f.w, &(myr_component_desc){"Link", link_f, 1, sizeof(t_link)}, &sc->link),
                   MYR_OK);
  /* 300 entities over a dozen tables */
  uint64_t rng = 7;
  for (int i = 0; i < 300; i++) {
    uint64_t r = rng_next(&rng);
    myr_entity e;
    myr_world *w = sc->f.w;
    assert_int_equal(myr_entity_create(w, &e), MYR_OK);
    if (i < 220)
      assert_int_equal(myr_component_add(w, e, sc->f.pos, &(t_position){(float)(r % 100), (float)((r >> 8) % 100), 1}),
                       MYR_OK);
    if (r & (1u << 16))
      assert_int_equal(myr_component_add(w, e, sc->f.vel, &(t_velocity){(float)((r >> 17) % 50), 2, 3}), MYR_OK);
    if (r & (1u << 24))
      assert_int_equal(myr_component_add(w, e, sc->f.health, &(t_health){(int32_t)((r >> 25) % 90), 4, 1.5}), MYR_OK);
    if (r & (1ull << 32))
      assert_int_equal(myr_component_add(w, e, sc->f.label, &(t_label){"lbl", (r >> 33) % 1000}), MYR_OK);
    if (r & (1ull << 40)) assert_int_equal(myr_component_add(w, e, sc->f.tag, NULL), MYR_OK);
  }
}

static void scene_system(scene *sc, const char *name, uint32_t stage, const myr_term *terms, uint32_t n,
                         myr_system_fn fn, const char *after) {
  const char *const after_list[] = {after};
  myr_system_desc d = {.name = name,
                       .terms = terms,
                       .term_count = n,
                       .fn = fn,
                       .user = sc,
                       .stage = stage,
                       .after = after_list,
                       .after_count = after ? 1 : 0,
                       .chunk_rows = 32};
  assert_int_equal(myr_schedule_add(sc->s, &d, NULL), MYR_OK);
}

/* A world, a schedule over it with `workers` (0: none of our own) and the
 * systems of `stages` stages (1 or 2). The declared writes only make
 * conflict edges: the callbacks write nothing in place. */
static void scene_open(scene *sc, uint32_t workers, uint32_t stages) {
  memset(sc, 0, sizeof *sc);
  sc->pause_callbacks = true;
  sc->late_enabled = true;
  scene_world(sc);
  if (workers) assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &sc->pool), MYR_OK);
  assert_int_equal(myr_schedule_create(sc->f.w, &(myr_schedule_desc){.jobs = sc->pool}, &sc->s), MYR_OK);
  const fixture *f = &sc->f;
  scene_system(sc, "heal", 0, (myr_term[]){{f->health, MYR_TERM_WRITE}}, 1, sys_heal, NULL);
  scene_system(sc, "reap", 0, (myr_term[]){{f->label, MYR_TERM_WRITE}}, 1, sys_reap, NULL);
  scene_system(sc, "spawn", 0, (myr_term[]){{f->pos, MYR_TERM_READ}, {f->label, MYR_TERM_OPTIONAL}}, 2, sys_spawn,
               NULL);
  scene_system(sc, "tag", 0,
               (myr_term[]){{f->pos, MYR_TERM_READ}, {f->tag, MYR_TERM_WITHOUT}, {f->health, MYR_TERM_OPTIONAL}}, 3,
               sys_tag, NULL);
  scene_system(sc, "untag", 0, (myr_term[]){{f->tag, MYR_TERM_READ}}, 1, sys_untag, "spawn");
  if (stages > 1) scene_system(sc, "late", 1, (myr_term[]){{f->vel, MYR_TERM_READ}}, 1, sys_late, "heal");
}

static void scene_close(scene *sc) {
  myr_schedule_destroy(sc->s);
  if (sc->pool) assert_int_equal(myr_jobs_destroy(sc->pool), MYR_OK);
  myr_world_destroy(sc->f.w);
  check_alloc_assert_no_leaks(&sc->ca);
  check_alloc_fini(&sc->ca);
}

static void callbacks_reset(void) {
  atomic_store(&record_enomem, 0);
  atomic_store(&record_errors, 0);
}

static uint64_t run_ok(scene *sc) {
  assert_int_equal(myr_schedule_run(sc->s, 0.5), MYR_OK);
  return world_hash(sc->f.w);
}

static const char *mode_name(bool sticky) { return sticky ? "from k on" : "k-th only"; }

/* ---- myr_schedule_run ------------------------------------------------------- */

/* One stage: a failed run leaves the world exactly as it was. */
static void run_sweep_one_stage(uint32_t workers, bool sticky) {
  scene sc;
  scene_open(&sc, workers, 1);
  uint64_t h0 = world_hash(sc.f.w), h1 = run_ok(&sc), h2 = run_ok(&sc);
  myr_stage_stats st;
  assert_int_equal(myr_schedule_stage_stats(sc.s, 0, &st), MYR_OK);
  /* the frames did every kind of structural change */
  assert_true(st.total_patches.spawned > 0 && st.total_patches.destroyed > 0 && st.total_patches.moved > 0);
  scene_close(&sc);
  assert_int_not_equal(h0, h1);
  long k;
  for (k = 0;; k++) {
    callbacks_reset();
    scene_open(&sc, workers, 1);
    assert_int_equal(world_hash(sc.f.w), h0);
    check_alloc_arm(&sc.ca, k, sticky);
    myr_status s = myr_schedule_run(sc.s, 0.5);
    long injected = check_alloc_disarm(&sc.ca);
    if (injected == 0) {
      assert_int_equal(s, MYR_OK);
      assert_int_equal(world_hash(sc.f.w), h1);
      scene_close(&sc);
      break;
    }
    if (s != MYR_ENOMEM)
      fail_msg("allocation %ld failed (%s): run returned %s", k, mode_name(sticky), myr_status_name(s));
    if (world_hash(sc.f.w) != h0) fail_msg("allocation %ld failed (%s): the world changed", k, mode_name(sticky));
    assert_int_equal(run_ok(&sc), h1);
    assert_int_equal(run_ok(&sc), h2);
    assert_int_equal(atomic_load(&record_enomem), 0);
    assert_int_equal(atomic_load(&record_errors), 0);
    scene_close(&sc);
  }
  fprintf(stderr, "run, %u workers, %s: %ld allocations failed in turn\n", workers, mode_name(sticky), k);
  assert_true(k >= 20); /* build, chunks, merge scratch, new tables, rows, slots */
}

static void run_fails_cleanly_at_every_allocation(void **state) {
  (void)state;
  for (int sticky = 0; sticky < 2; sticky++) {
    run_sweep_one_stage(0, sticky);
    run_sweep_one_stage(2, sticky);
  }
}

/* Two stages: stage 0 is merged before stage 1 allocates, so a failure in
 * stage 1 leaves stage 0's patches applied (schedule.h: "a stage could not
 * be completed"); a retry runs a whole frame on that world. */
static void run_with_two_stages_fails_stage_by_stage(void **state) {
  (void)state;
  scene sc;
  scene_open(&sc, 0, 2);
  uint64_t h0 = world_hash(sc.f.w), h1 = run_ok(&sc), h2 = run_ok(&sc);
  scene_close(&sc);
  /* the world after stage 0 alone, and after that plus a whole frame */
  scene_open(&sc, 0, 2);
  sc.late_enabled = false;
  uint64_t h_stage0 = run_ok(&sc);
  sc.late_enabled = true;
  uint64_t h_stage0_then_frame = run_ok(&sc);
  scene_close(&sc);
  assert_int_not_equal(h_stage0, h1);
  for (int sticky = 0; sticky < 2; sticky++) {
    long k, in_stage0 = 0, in_stage1 = 0;
    for (k = 0;; k++) {
      callbacks_reset();
      scene_open(&sc, 0, 2);
      check_alloc_arm(&sc.ca, k, sticky);
      myr_status s = myr_schedule_run(sc.s, 0.5);
      long injected = check_alloc_disarm(&sc.ca);
      if (injected == 0) {
        assert_int_equal(s, MYR_OK);
        assert_int_equal(world_hash(sc.f.w), h1);
        scene_close(&sc);
        break;
      }
      if (s != MYR_ENOMEM)
        fail_msg("allocation %ld failed (%s): run returned %s", k, mode_name(sticky), myr_status_name(s));
      uint64_t h = world_hash(sc.f.w);
      if (h == h0) {
        in_stage0++;
        assert_int_equal(run_ok(&sc), h1);
        assert_int_equal(run_ok(&sc), h2);
      } else if (h == h_stage0) {
        in_stage1++;
        assert_int_equal(run_ok(&sc), h_stage0_then_frame);
      } else {
        fail_msg("allocation %ld failed (%s): the world is neither as before the run nor after stage 0", k,
                 mode_name(sticky));
      }
      assert_int_equal(atomic_load(&record_errors), 0);
      scene_close(&sc);
    }
    fprintf(stderr, "two stages, %s: %ld allocations failed, %ld in stage 0 (world unchanged), %ld in stage 1\n",
            mode_name(sticky), k, in_stage0, in_stage1);
    assert_true(in_stage0 > 0 && in_stage1 > 0);
  }
}

/* A failed recording inside a callback cannot be returned by the callback
 * (myr_system_fn returns nothing): the buffer remembers it, and the run
 * fails with MYR_ENOMEM, applying none of the stage's patches. */
static void callback_recording_failure_fails_the_run(void **state) {
  (void)state;
  scene sc;
  scene_open(&sc, 0, 1);
  uint64_t h0 = world_hash(sc.f.w), h1 = run_ok(&sc);
  scene_close(&sc);
  long hit = 0;
  for (long k = 0;; k++) {
    callbacks_reset();
    scene_open(&sc, 0, 1);
    sc.pause_callbacks = false;
    check_alloc_fail_nth(&sc.ca, k);
    myr_status s = myr_schedule_run(sc.s, 0.5);
    long injected = check_alloc_disarm(&sc.ca);
    if (injected == 0) {
      scene_close(&sc);
      break;
    }
    if (atomic_load(&record_enomem) > 0) {
      hit++;
      uint64_t h = world_hash(sc.f.w);
      if (s != MYR_ENOMEM || h != h0)
        fail_msg("allocation %ld failed in a callback's recording: run returned %s and the world %s", k,
                 myr_status_name(s),
                 h == h0   ? "is unchanged"
                 : h == h1 ? "is as after a run that never failed"
                           : "differs from a run that never failed");
      assert_int_equal(run_ok(&sc), h1);
    }
    scene_close(&sc);
  }
  assert_true(hit > 0);
}

/* ---- myr_schedule_create, myr_schedule_add and myr_schedule_build ---------- */

static void create_fails_cleanly_at_every_allocation(void **state) {
  (void)state;
  for (int sticky = 0; sticky < 2; sticky++) {
    for (uint32_t workers = 0; workers <= 3; workers += 3) {
      scene sc;
      memset(&sc, 0, sizeof sc);
      scene_world(&sc);
      if (workers) assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &sc.pool), MYR_OK);
      size_t live = check_alloc_live(&sc.ca);
      long k;
      for (k = 0;; k++) {
        myr_schedule *s = (myr_schedule *)&sc; /* must become NULL on failure */
        check_alloc_arm(&sc.ca, k, sticky);
        myr_status st = myr_schedule_create(sc.f.w, &(myr_schedule_desc){.jobs = sc.pool}, &s);
        long injected = check_alloc_disarm(&sc.ca);
        if (injected == 0) {
          assert_int_equal(st, MYR_OK);
          sc.s = s;
          break;
        }
        assert_int_equal(st, MYR_ENOMEM);
        assert_null(s);
        assert_int_equal(check_alloc_live(&sc.ca), live);
      }
      assert_int_equal(k, 2); /* the schedule, the worker buffers */
      scene_close(&sc);
    }
  }
}

/* ---- myr_schedule_add and myr_schedule_build ------------------------------- */

static myr_status add_extra(scene *sc) {
  const myr_term terms[] = {{sc->f.vel, MYR_TERM_READ}, {sc->f.pos, MYR_TERM_OPTIONAL}};
  return myr_schedule_add(sc->s,
                          &(myr_system_desc){.name = "extra",
                                             .terms = terms,
                                             .term_count = 2,
                                             .fn = sys_extra,
                                             .user = sc,
                                             .after = (const char *const[]){"heal", "spawn"},
                                             .after_count = 2,
                                             .before = (const char *const[]){"untag"},
                                             .before_count = 1,
                                             .chunk_rows = 16},
                          NULL);
}

static void add_fails_cleanly_at_every_allocation(void **state) {
  (void)state;
  scene sc;
  /* reference: a frame, the add, a frame */
  scene_open(&sc, 0, 2);
  run_ok(&sc);
  assert_int_equal(add_extra(&sc), MYR_OK);
  uint64_t h2 = run_ok(&sc);
  scene_close(&sc);
  for (int sticky = 0; sticky < 2; sticky++) {
    long k;
    for (k = 0;; k++) {
      scene_open(&sc, 0, 2);
      uint64_t h1 = run_ok(&sc); /* built, with chunks: the add unbuilds */
      uint32_t systems = myr_schedule_system_count(sc.s);
      check_alloc_arm(&sc.ca, k, sticky);
      myr_status s = add_extra(&sc);
      long injected = check_alloc_disarm(&sc.ca);
      if (injected == 0) {
        assert_int_equal(s, MYR_OK);
        assert_int_equal(run_ok(&sc), h2);
        scene_close(&sc);
        break;
      }
      if (s != MYR_ENOMEM)
        fail_msg("allocation %ld failed (%s): add returned %s", k, mode_name(sticky), myr_status_name(s));
      myr_system id;
      assert_int_equal(myr_schedule_system_count(sc.s), systems);
      assert_int_equal(myr_schedule_find(sc.s, "extra", &id), MYR_ENOTFOUND);
      assert_int_equal(world_hash(sc.f.w), h1);
      assert_int_equal(add_extra(&sc), MYR_OK);
      assert_int_equal(run_ok(&sc), h2);
      scene_close(&sc);
    }
    fprintf(stderr, "add, %s: %ld allocations failed in turn\n", mode_name(sticky), k);
    assert_true(k >= 5); /* query, name, two name lists and their strings, systems */
  }
}

static char *plan_text(myr_schedule *s) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  assert_int_equal(myr_schedule_print_plan(s, f), MYR_OK);
  fclose(f);
  return buf;
}

static void build_fails_cleanly_at_every_allocation(void **state) {
  (void)state;
  scene sc;
  scene_open(&sc, 0, 2);
  assert_int_equal(add_extra(&sc), MYR_OK);
  char *plan = plan_text(sc.s);
  uint64_t h1 = run_ok(&sc);
  scene_close(&sc);
  assert_non_null(strstr(plan, "extra"));
  for (int sticky = 0; sticky < 2; sticky++) {
    long k;
    for (k = 0;; k++) {
      scene_open(&sc, 0, 2);
      assert_int_equal(add_extra(&sc), MYR_OK);
      uint64_t h0 = world_hash(sc.f.w);
      check_alloc_arm(&sc.ca, k, sticky);
      myr_status s = myr_schedule_build(sc.s);
      long injected = check_alloc_disarm(&sc.ca);
      if (injected == 0) {
        assert_int_equal(s, MYR_OK);
        scene_close(&sc);
        break;
      }
      if (s != MYR_ENOMEM)
        fail_msg("allocation %ld failed (%s): build returned %s", k, mode_name(sticky), myr_status_name(s));
      assert_int_equal(world_hash(sc.f.w), h0);
      assert_int_equal(myr_schedule_build(sc.s), MYR_OK);
      char *again = plan_text(sc.s);
      assert_string_equal(again, plan);
      free(again);
      assert_int_equal(run_ok(&sc), h1);
      scene_close(&sc);
    }
    fprintf(stderr, "build, %s: %ld allocations failed in turn\n", mode_name(sticky), k);
    assert_true(k >= 4); /* by_stage, mainq, stages, edges, dependents */
  }
  free(plan);
}

/* ---- command buffers: recording and applying -------------------------------- */

/* The recording script: call i of a fixed sequence of every kind of patch,
 * on the entities the world was made with and on spawns of the buffer. */
typedef struct script {
  scene *sc;
  myr_patches *cb;
  myr_entity ids[300];
  myr_entity spawned[64];
  uint32_t spawn_count;
} script;

static void script_init(script *sc_, scene *sc, myr_patches *cb) {
  memset(sc_, 0, sizeof *sc_);
  sc_->sc = sc;
  sc_->cb = cb;
  /* the world's entities have the first 300 slots, generation 1 */
  for (uint32_t i = 0; i < 300; i++) sc_->ids[i] = ((myr_entity)1 << 32) | i;
}

static myr_status script_call(script *t, uint32_t i, myr_entity *spawned_out) {
  const fixture *f = &t->sc->f;
  myr_entity e = t->ids[(i * 37u) % 300];
  *spawned_out = MYR_ENTITY_NULL;
  switch (i % 8) {
  case 0: return myr_patch_set(t->cb, e, f->pos, &(t_position){(float)i, -1, 2});
  case 1: return myr_patch_set_field(t->cb, e, f->health, 0, MYR_I32, &(int32_t){(int32_t)i});
  case 2: return myr_patch_add(t->cb, e, f->tag, NULL);
  case 3: return myr_patch_remove(t->cb, e, f->vel);
  case 4: return myr_patch_add(t->cb, e, f->label, &(t_label){"add", i});
  case 5: {
    const myr_component set[] = {f->vel, t->sc->link, f->label};
    myr_entity target = t->spawn_count ? t->spawned[t->spawn_count - 1] : e;
    t_link link = {target};
    return myr_patch_spawn(t->cb, set, 3, (const void *const[]){&(t_velocity){1, 2, (float)i}, &link, NULL},
                           spawned_out);
  }
  case 6:
    if (t->spawn_count)
      return myr_patch_add(t->cb, t->spawned[(i / 8) % t->spawn_count], f->health, &(t_health){7, 7, 7});
    return myr_patch_destroy(t->cb, e);
  default:
    if (i % 3 == 0) return myr_patch_destroy(t->cb, e);
    if (t->spawn_count) return myr_patch_remove(t->cb, t->spawned[(i / 3) % t->spawn_count], f->label);
    return myr_patch_set(t->cb, e, f->vel, &(t_velocity){0, 0, (float)i});
  }
}

enum { SCRIPT_CALLS = 1200 };

/* Records the whole script; with sweep, each call first fails at each of
 * its allocations in turn (recording failed: MYR_ENOMEM, nothing
 * recorded, the world untouched), then succeeds. Returns the number of
 * failed calls. */
static long script_record(script *t, bool sweep, bool sticky) {
  long failed = 0;
  uint64_t h = world_hash(t->sc->f.w);
  for (uint32_t i = 0; i < SCRIPT_CALLS; i++) {
    uint64_t count = myr_patches_count(t->cb);
    myr_entity spawned;
    myr_status s;
    for (long k = 0;; k++) {
      if (sweep) check_alloc_arm(&t->sc->ca, k, sticky);
      s = script_call(t, i, &spawned);
      long injected = sweep ? check_alloc_disarm(&t->sc->ca) : 0;
      if (injected == 0) break;
      if (s != MYR_ENOMEM) fail_msg("call %u, allocation %ld failed: returned %s", i, k, myr_status_name(s));
      assert_int_equal(myr_patches_count(t->cb), count);
      failed++;
    }
    assert_int_equal(s, MYR_OK);
    assert_int_equal(myr_patches_count(t->cb), count + 1);
    if (spawned != MYR_ENTITY_NULL && t->spawn_count < 64) t->spawned[t->spawn_count++] = spawned;
  }
  assert_int_equal(world_hash(t->sc->f.w), h);
  return failed;
}

static void command_buffer_recording_and_apply_fail_cleanly(void **state) {
  (void)state;
  scene sc;
  script t;
  myr_patches *cb;
  /* reference */
  scene_world(&sc);
  uint64_t h0 = world_hash(sc.f.w);
  assert_int_equal(myr_patches_create(sc.f.w, &cb), MYR_OK);
  script_init(&t, &sc, cb);
  script_record(&t, false, false);
  myr_patch_stats ref_stats;
  assert_int_equal(myr_patches_apply(cb, &ref_stats), MYR_OK);
  uint64_t h1 = world_hash(sc.f.w);
  assert_true(ref_stats.spawned > 0 && ref_stats.destroyed > 0 && ref_stats.moved > 0);
  myr_patches_destroy(cb);
  myr_world_destroy(sc.f.w);
  check_alloc_assert_no_leaks(&sc.ca);
  check_alloc_fini(&sc.ca);
  assert_int_not_equal(h0, h1);

  for (int sticky = 0; sticky < 2; sticky++) {
    scene_world(&sc);
    /* creating the buffer */
    long k, create_failed = 0;
    size_t live = check_alloc_live(&sc.ca);
    for (k = 0;; k++) {
      cb = NULL;
      check_alloc_arm(&sc.ca, k, sticky);
      myr_status s = myr_patches_create(sc.f.w, &cb);
      long injected = check_alloc_disarm(&sc.ca);
      if (injected == 0) {
        assert_int_equal(s, MYR_OK);
        break;
      }
      assert_int_equal(s, MYR_ENOMEM);
      assert_int_equal(check_alloc_live(&sc.ca), live);
      create_failed++;
    }
    assert_true(create_failed >= 2);
    /* recording */
    script_init(&t, &sc, cb);
    long record_failed = script_record(&t, true, sticky);
    assert_true(record_failed >= 5); /* the buffer grew a few times and made its segment list */
    /* applying */
    uint64_t recorded = myr_patches_count(cb);
    long apply_failed = 0;
    for (k = 0;; k++) {
      check_alloc_arm(&sc.ca, k, sticky);
      myr_patch_stats stats;
      myr_status s = myr_patches_apply(cb, &stats);
      long injected = check_alloc_disarm(&sc.ca);
      if (injected == 0) {
        assert_int_equal(s, MYR_OK);
        assert_int_equal(stats.applied, ref_stats.applied);
        assert_int_equal(stats.spawned, ref_stats.spawned);
        break;
      }
      if (s != MYR_ENOMEM)
        fail_msg("apply, allocation %ld failed (%s): returned %s", k, mode_name(sticky), myr_status_name(s));
      assert_int_equal(world_hash(sc.f.w), h0);
      assert_int_equal(myr_patches_count(cb), recorded);
      apply_failed++;
    }
    assert_int_equal(world_hash(sc.f.w), h1);
    fprintf(stderr, "command buffer, %s: %ld failed creates, %ld failed recordings, %ld failed applies\n",
            mode_name(sticky), create_failed, record_failed, apply_failed);
    assert_true(apply_failed >= 5); /* fewer than on a fresh world: what a failed apply made (tables, scratch) stays */
    myr_patches_destroy(cb);
    myr_world_destroy(sc.f.w);
    check_alloc_assert_no_leaks(&sc.ca);
    check_alloc_fini(&sc.ca);
  }
}

/* A fresh world with the script recorded on a fresh buffer. */
static void script_scene(scene *sc, script *t, myr_patches **cb) {
  scene_world(sc);
  assert_int_equal(myr_patches_create(sc->f.w, cb), MYR_OK);
  script_init(t, sc, *cb);
  script_record(t, false, false);
}

static void script_scene_close(scene *sc, myr_patches *cb) {
  myr_patches_destroy(cb);
  myr_world_destroy(sc->f.w);
  check_alloc_assert_no_leaks(&sc->ca);
  check_alloc_fini(&sc->ca);
}

/* Independent trials of the apply: each on a fresh world and buffer, the
 * retry made right after the one failure (not after more failures). */
static void command_buffer_apply_retried_after_one_failure(void **state) {
  (void)state;
  scene sc;
  script t;
  myr_patches *cb;
  script_scene(&sc, &t, &cb);
  assert_int_equal(myr_patches_apply(cb, NULL), MYR_OK);
  uint64_t h1 = world_hash(sc.f.w);
  script_scene_close(&sc, cb);
  for (int sticky = 0; sticky < 2; sticky++) {
    long k;
    for (k = 0;; k++) {
      script_scene(&sc, &t, &cb);
      uint64_t h0 = world_hash(sc.f.w);
      check_alloc_arm(&sc.ca, k, sticky);
      myr_status s = myr_patches_apply(cb, NULL);
      long injected = check_alloc_disarm(&sc.ca);
      if (injected == 0) {
        assert_int_equal(s, MYR_OK);
        assert_int_equal(world_hash(sc.f.w), h1);
        script_scene_close(&sc, cb);
        break;
      }
      if (s != MYR_ENOMEM)
        fail_msg("apply, allocation %ld failed (%s): returned %s", k, mode_name(sticky), myr_status_name(s));
      assert_int_equal(world_hash(sc.f.w), h0);
      assert_int_equal(myr_patches_apply(cb, NULL), MYR_OK);
      assert_int_equal(world_hash(sc.f.w), h1);
      assert_int_equal(myr_patches_count(cb), 0);
      script_scene_close(&sc, cb);
    }
    fprintf(stderr, "apply on fresh worlds, %s: %ld allocations failed in turn\n", mode_name(sticky), k);
    assert_true(k >= 10);
  }
}

/* ---- the checking allocator itself ------------------------------------------ */

/* Runs fn in a child process, which must die of abort(). */
static void must_abort(void (*fn)(void), const char *what) {
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stderr)) _exit(2);
    fn();
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) fail_msg("%s: the child did not abort", what);
}

static void free_with_wrong_size(void) {
  check_alloc ca;
  check_alloc_init(&ca);
  void *p = check_alloc_alloc(24, 8, &ca);
  check_alloc_free(p, 23, &ca);
}

static void free_of_unknown_pointer(void) {
  check_alloc ca;
  check_alloc_init(&ca);
  void *p = check_alloc_alloc(24, 8, &ca);
  check_alloc_free(p, 24, &ca);
  check_alloc_free(p, 24, &ca); /* twice */
}

static void world_destroyed_with_a_live_block(void) {
  myr_world *w;
  const myr_world_desc *d = checked_world();
  if (myr_world_create(d, &w) != MYR_OK) _exit(3);
  d->allocator.alloc(16, 8, d->allocator.user); /* as if the library leaked it */
  myr_world_destroy(w);
}

static void bad_alignment(void) {
  check_alloc ca;
  check_alloc_init(&ca);
  check_alloc_alloc(24, 24, &ca);
}

static void checking_allocator_aborts_on_each_broken_promise(void **state) {
  (void)state;
  must_abort(free_with_wrong_size, "free with another size");
  must_abort(free_of_unknown_pointer, "double free");
  must_abort(world_destroyed_with_a_live_block, "leak at world destroy");
  must_abort(bad_alignment, "alignment not a power of two");
  /* and a clean world passes */
  myr_world *w;
  assert_int_equal(myr_world_create(checked_world(), &w), MYR_OK);
  myr_world_destroy(w);
}

/* ---- snapshots ---------------------------------------------------------------- */

/* Saving and loading a world that ran (spawns, links, destroyed entities),
 * plain and compressed: every allocation of a save, then of a load into a
 * world with part of the schema, fails in turn (once, or from k on). A
 * failed save returns MYR_ENOMEM; a failed load leaves the world as it was
 * (hash, entities, tables, components, resources, clock); nothing leaks,
 * and the call that no longer fails gives the bytes, or the world, of a
 * call that never failed. */
static void snapshot_save_and_load_fail_cleanly_at_every_allocation(void **state) {
  (void)state;
  for (int mode = 0; mode < 4; mode++) {
    bool sticky = mode & 1;
    uint32_t flags = mode & 2 ? MYR_SNAPSHOT_ZSTD : 0;
    scene sc;
    scene_open(&sc, 0, 2);
    run_ok(&sc);
    uint64_t source_hash = run_ok(&sc);
    void *good;
    size_t good_size;
    assert_int_equal(myr_snapshot_save_memory(sc.f.w, &(myr_snapshot_save_desc){.flags = flags}, &good, &good_size),
                     MYR_OK);
    long k = 0;
    for (;; k++) {
      void *p = NULL;
      size_t n = 0;
      check_alloc_arm(&sc.ca, k, sticky);
      myr_status st = myr_snapshot_save_memory(sc.f.w, &(myr_snapshot_save_desc){.flags = flags}, &p, &n);
      check_alloc_disarm(&sc.ca);
      if (st == MYR_OK) {
        assert_int_equal(n, good_size);
        assert_memory_equal(p, good, n);
        myr_snapshot_free(sc.f.w, p, n);
        break;
      }
      if (st != MYR_ENOMEM) fail_msg("save, %s, k = %ld: %s", mode_name(sticky), k, myr_status_name(st));
      assert_true(world_hash(sc.f.w) == source_hash);
    }
    long save_allocations = k;
    fixture into = {0};
    assert_int_equal(myr_world_create(&(myr_world_desc){check_alloc_hooks(&sc.ca)}, &into.w), MYR_OK);
    fixture_register(&into); /* Link comes from the snapshot: the same ids as the source's */
    uint64_t empty_hash = world_hash(into.w);
    uint32_t tables = myr_world_table_count(into.w);
    for (k = 0;; k++) {
      check_alloc_arm(&sc.ca, k, sticky);
      myr_status st = myr_snapshot_load_memory(into.w, good, good_size, NULL);
      check_alloc_disarm(&sc.ca);
      if (st == MYR_OK) break;
      if (st != MYR_ENOMEM) fail_msg("load, %s, k = %ld: %s", mode_name(sticky), k, myr_status_name(st));
      assert_true(world_hash(into.w) == empty_hash);
      assert_int_equal(myr_world_entity_count(into.w), 0);
      assert_int_equal(myr_world_table_count(into.w), tables);
      assert_int_equal(myr_component_count(into.w), 5);
      assert_int_equal(myr_resource_count(into.w), 0);
      assert_int_equal(myr_world_frame(into.w), 0);
    }
    assert_true(save_allocations >= 1 && k >= 5);
    assert_true(world_hash(into.w) == source_hash);
    assert_int_equal(myr_world_frame(into.w), myr_world_frame(sc.f.w));
    myr_world_destroy(into.w);
    myr_snapshot_free(sc.f.w, good, good_size);
    scene_close(&sc);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(checking_allocator_aborts_on_each_broken_promise),
      cmocka_unit_test(run_fails_cleanly_at_every_allocation),
      cmocka_unit_test(run_with_two_stages_fails_stage_by_stage),
      cmocka_unit_test(callback_recording_failure_fails_the_run),
      cmocka_unit_test(create_fails_cleanly_at_every_allocation),
      cmocka_unit_test(add_fails_cleanly_at_every_allocation),
      cmocka_unit_test(build_fails_cleanly_at_every_allocation),
      cmocka_unit_test(command_buffer_recording_and_apply_fail_cleanly),
      cmocka_unit_test(command_buffer_apply_retried_after_one_failure),
      cmocka_unit_test(snapshot_save_and_load_fail_cleanly_at_every_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
