/* The neighbour grid (grid.h): bad descs refused with nothing changed,
 * walks against a brute-force reference in 2D and 3D, clamped and wrapped,
 * spawns and destroys seen after the rebuild, the visit order the same
 * for every thread count and chunk size, slots ordered by a key the same
 * whatever the entities' rows, and optional filter terms. */
#include <math.h>

#include "helpers.h"

typedef struct {
  uint64_t order; /* a hash of the ids visited, in visit order */
  uint32_t count;
} t_seen;

typedef struct gfix {
  fixture f;
  myr_component seen;
  myr_schedule *s;
  myr_jobs *pool;
  myr_grid grid;
} gfix;

static gfix *gfix_make(uint32_t workers, uint32_t chunk_rows) {
  gfix *x = calloc(1, sizeof *x);
  assert_non_null(x);
  assert_int_equal(myr_world_create(checked_world(), &x->f.w), MYR_OK);
  fixture_register(&x->f);
  static const myr_field seen_f[] = {MYR_FIELD(t_seen, order, MYR_U64), MYR_FIELD(t_seen, count, MYR_U32)};
  assert_int_equal(myr_component_register(x->f.w, &(myr_component_desc){"Seen", seen_f, 2, sizeof(t_seen)}, &x->seen),
                   MYR_OK);
  if (workers) assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &x->pool), MYR_OK);
  assert_int_equal(myr_schedule_create(x->f.w, &(myr_schedule_desc){.jobs = x->pool, .chunk_rows = chunk_rows}, &x->s),
                   MYR_OK);
  return x;
}

static void gfix_free(gfix *x) {
  myr_schedule_destroy(x->s);
  if (x->pool) assert_int_equal(myr_jobs_destroy(x->pool), MYR_OK);
  myr_world_destroy(x->f.w);
  free(x);
}

static float unit(uint64_t *rng) { return (float)(rng_next(rng) >> 40) / 16777216.0f; }

/* n entities with Position (and Velocity), positions in [lo, hi) per axis */
static void spawn(gfix *x, uint32_t n, const float *lo, const float *hi, uint64_t *rng) {
  for (uint32_t i = 0; i < n; i++) {
    t_position p = {lo[0] + (hi[0] - lo[0]) * unit(rng), lo[1] + (hi[1] - lo[1]) * unit(rng),
                    lo[2] + (hi[2] - lo[2]) * unit(rng)};
    t_velocity v = {unit(rng), unit(rng), unit(rng)};
    t_seen s = {0, 0};
    myr_entity e;
    assert_int_equal(myr_entity_create_with(x->f.w, (myr_component[]){x->f.pos, x->f.vel, x->seen}, 3,
                                            (const void *const[]){&p, &v, &s}, &e),
                     MYR_OK);
  }
}

static myr_grid_desc good_desc(const gfix *x) {
  return (myr_grid_desc){.name = "g",
                         .position = x->f.pos,
                         .dims = 3,
                         .axis = {0, 1, 2},
                         .min = {-1.0f, 0.5f, 2.0f},
                         .cell = 0.25f,
                         .cells = {10, 7, 5},
                         .capacity = 4096};
}

/* ---- refusals --------------------------------------------------------------- */

static void nothing(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
}

static void bad_descs_are_refused_and_change_nothing(void **state) {
  (void)state;
  gfix *x = gfix_make(0, 0);
  uint64_t rng = 1;
  spawn(x, 10, (const float[]){0, 0, 0}, (const float[]){1, 1, 1}, &rng);
  const uint64_t before = world_hash(x->f.w);
  const myr_grid_field bad_pay[] = {{x->f.health, 0}}, far_pay[] = {{x->f.vel, 7}}, pos_pay[] = {{x->f.pos, 0}};
  const myr_term read_filter[] = {{x->f.tag, MYR_TERM_READ}}, twice[] = {{x->f.pos, MYR_TERM_WITH}};
  struct {
    myr_grid_desc d;
    myr_status want;
  } cases[16];
  uint32_t n = 0;
  for (uint32_t i = 0; i < 16; i++) cases[i].d = good_desc(x);
  cases[n].d.name = NULL, cases[n++].want = MYR_EINVAL;
  cases[n].d.dims = 4, cases[n++].want = MYR_EINVAL;
  cases[n].d.cell = 0.0f, cases[n++].want = MYR_EINVAL;
  cases[n].d.cell = NAN, cases[n++].want = MYR_EINVAL;
  cases[n].d.cells[1] = 0, cases[n++].want = MYR_EINVAL;
  cases[n].d.cells[0] = 1u << 20, cases[n++].want = MYR_EINVAL; /* beyond MYR_GRID_MAX_CELLS */
  cases[n].d.capacity = 0, cases[n++].want = MYR_EINVAL;
  cases[n].d.payload = pos_pay, cases[n].d.payload_count = MYR_GRID_MAX_PAYLOAD + 1, cases[n++].want = MYR_EINVAL;
  cases[n].d.filter = read_filter, cases[n].d.filter_count = 1, cases[n++].want = MYR_EINVAL;
  cases[n].d.filter = twice, cases[n].d.filter_count = 1, cases[n++].want = MYR_EINVAL;
  cases[n].d.position = 200, cases[n++].want = MYR_ENOCOMP;
  cases[n].d.axis[2] = 3, cases[n++].want = MYR_EFIELD;
  cases[n].d.position = x->f.health, cases[n++].want = MYR_ETYPE; /* i32, u8, f64 */
  cases[n].d.payload = bad_pay, cases[n].d.payload_count = 1, cases[n++].want = MYR_ETYPE;
  cases[n].d.payload = far_pay, cases[n].d.payload_count = 1, cases[n++].want = MYR_EFIELD;
  cases[n].d.min[0] = INFINITY, cases[n++].want = MYR_EINVAL;
  myr_grid g;
  for (uint32_t i = 0; i < n; i++) {
    assert_int_equal(myr_grid_add(x->s, &cases[i].d, &g), cases[i].want);
    assert_int_equal(myr_schedule_system_count(x->s), 0);
    assert_int_equal(world_hash(x->f.w), before);
  }
  myr_grid_desc d = good_desc(x);
  assert_ptr_equal(myr_schedule_world(x->s), x->f.w); /* how myr_grid_add finds the world */
  assert_null(myr_schedule_world(NULL));
  assert_int_equal(myr_grid_add(NULL, &d, &g), MYR_EINVAL);
  assert_int_equal(myr_grid_add(x->s, NULL, &g), MYR_EINVAL);
  assert_int_equal(myr_grid_add(x->s, &d, NULL), MYR_EINVAL);
  /* names taken: a resource, then a system */
  myr_resource r;
  assert_int_equal(myr_resource_register(x->f.w, &(myr_resource_desc){.name = "g", .size = 4}, &r), MYR_OK);
  const uint64_t with_resource = world_hash(x->f.w);
  assert_int_equal(myr_grid_add(x->s, &d, &g), MYR_EEXIST);
  assert_int_equal(world_hash(x->f.w), with_resource);
  d.name = "h";
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "h.place",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = nothing},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_grid_add(x->s, &d, &g), MYR_EEXIST);
  assert_int_equal(myr_schedule_system_count(x->s), 1);
  assert_int_equal(myr_resource_lookup(x->f.w, "h.counts", &r), MYR_ENOTFOUND);
  assert_int_equal(world_hash(x->f.w), with_resource);
  d.name = "k";
  assert_int_equal(myr_grid_add(x->s, &d, &g), MYR_OK);
  assert_int_equal(myr_schedule_system_count(x->s), 3);
  gfix_free(x);
}

static void radii_beyond_the_grid_are_refused(void **state) {
  (void)state;
  gfix *x = gfix_make(0, 0);
  myr_grid_desc d = good_desc(x);
  d.edges = MYR_GRID_WRAP;
  myr_grid g;
  assert_int_equal(myr_grid_add(x->s, &d, &g), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_OK);
  myr_grid_cursor q;
  const float p[3] = {0, 1, 2.5f};
  /* the z axis has 5 cells: reach 2 fits, 3 would visit cells twice */
  assert_int_equal(myr_grid_cells(&g, p, 2, &q), MYR_OK);
  assert_int_equal(myr_grid_cells(&g, p, 3, &q), MYR_EINVAL);
  assert_int_equal(myr_grid_near(&g, p, 0.5f, &q), MYR_OK);
  assert_int_equal(myr_grid_near(&g, p, 0.51f, &q), MYR_EINVAL);
  assert_int_equal(myr_grid_near(&g, p, -1.0f, &q), MYR_EINVAL);
  assert_int_equal(myr_grid_near(&g, p, NAN, &q), MYR_EINVAL);
  assert_int_equal(myr_grid_near(&g, p, INFINITY, &q), MYR_EINVAL);
  assert_int_equal(myr_grid_near(NULL, p, 0.1f, &q), MYR_EINVAL);
  gfix_free(x);
}

static void more_entities_than_the_capacity_fail_the_frame(void **state) {
  (void)state;
  gfix *x = gfix_make(0, 0);
  uint64_t rng = 2;
  spawn(x, 20, (const float[]){0, 1, 2}, (const float[]){1, 2, 3}, &rng);
  myr_grid_desc d = good_desc(x);
  d.capacity = 19;
  myr_grid g;
  assert_int_equal(myr_grid_add(x->s, &d, &g), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_ELIMIT);
  gfix_free(x);
}

/* ---- against a brute-force reference ------------------------------------------ */

typedef struct ref_entity {
  myr_entity id;
  float p[3];
} ref_entity;

static uint32_t live_entities(gfix *x, ref_entity *out) {
  myr_query *q;
  assert_int_equal(myr_query_create(x->f.w, &(myr_query_desc){(myr_term[]){{x->f.pos, MYR_TERM_READ}}, 1}, &q), MYR_OK);
  myr_query_iter it;
  myr_chunk c;
  uint32_t n = 0;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  while (myr_query_next(&it, &c))
    for (uint32_t i = 0; i < c.count; i++, n++) {
      out[n].id = c.ids[i];
      for (uint32_t a = 0; a < 3; a++) out[n].p[a] = myr_chunk_f32(&c, 0, a)[i];
    }
  myr_query_destroy(q);
  return n;
}

static int by_id(const void *a, const void *b) {
  myr_entity x = *(const myr_entity *)a, y = *(const myr_entity *)b;
  return x < y ? -1 : x > y;
}

/* Walks around `samples` random points and compares with every entity's
 * distance, computed as the grid defines it, and with every entity's cell. */
static void compare_with_brute_force(gfix *x, const myr_grid *g, uint32_t samples, uint64_t *rng) {
  ref_entity *all = calloc(8192, sizeof *all);
  myr_entity *got = calloc(8192, sizeof *got), *want = calloc(8192, sizeof *want);
  assert_true(all && got && want);
  const uint32_t n = live_entities(x, all);
  assert_int_equal(g->start[g->cell_count], n);
  for (uint32_t s = 0; s < samples; s++) {
    float p[3], lim = 1e9f;
    for (uint32_t a = 0; a < 3; a++) p[a] = g->min[a] + g->width[a] * (1.4f * unit(rng) - 0.2f);
    if (g->edges == MYR_GRID_WRAP)
      for (uint32_t a = 0; a < g->dims; a++) {
        p[a] = g->min[a] + g->width[a] * unit(rng);
        float most = (float)((g->cells[a] - 1) / 2) * g->cell; /* 2 reach + 1 <= cells */
        lim = most < lim ? most : lim;
      }
    const float r = (g->edges == MYR_GRID_WRAP ? lim : 2.5f * g->cell) * unit(rng);
    myr_grid_cursor q;
    myr_grid_hit h;
    assert_int_equal(myr_grid_near(g, p, r, &q), MYR_OK);
    uint32_t ng = 0, nw = 0, last_cell = 0, last_slot = 0;
    while (myr_grid_next(&q, &h)) {
      assert_true(ng < 8192);
      assert_int_equal(h.id, g->ids[h.slot]);
      assert_true(h.d2 <= r * r);
      uint32_t cell = 0; /* slots ascend within a cell */
      while (g->start[cell + 1] <= h.slot) cell++;
      if (ng && cell == last_cell) assert_true(h.slot > last_slot);
      last_cell = cell;
      last_slot = h.slot;
      got[ng++] = h.id;
    }
    for (uint32_t i = 0; i < n; i++) {
      float d2 = 0;
      for (uint32_t a = 0; a < g->dims; a++) {
        float d = myr_grid_delta(g, a, all[i].p[a], p[a]);
        d2 = a ? d2 + d * d : d * d;
      }
      if (d2 <= r * r) want[nw++] = all[i].id;
    }
    qsort(got, ng, sizeof *got, by_id);
    qsort(want, nw, sizeof *want, by_id);
    if (ng != nw || memcmp(got, want, ng * sizeof *got) != 0)
      fail_msg("sample %u: the grid visited %u entities, the reference finds %u (radius %g)", s, ng, nw, (double)r);
    /* the cells walk: every entity whose cell is within reach on each axis */
    uint32_t reach = (uint32_t)(rng_next(rng) % 4);
    for (uint32_t a = 0; a < g->dims && g->edges == MYR_GRID_WRAP; a++)
      reach = 2 * reach + 1 > g->cells[a] ? (g->cells[a] - 1) / 2 : reach;
    assert_int_equal(myr_grid_cells(g, p, reach, &q), MYR_OK);
    for (ng = 0; myr_grid_next(&q, &h);) got[ng++] = h.id;
    nw = 0;
    for (uint32_t i = 0; i < n; i++) {
      bool in = true;
      for (uint32_t a = 0; a < g->dims; a++) {
        int32_t cells = (int32_t)g->cells[a];
        int32_t d = (int32_t)myr_grid_axis_cell(g, a, all[i].p[a]) - (int32_t)myr_grid_axis_cell(g, a, p[a]);
        if (g->edges == MYR_GRID_WRAP) d = ((d % cells) + cells) % cells, d = d > cells / 2 ? d - cells : d;
        in = in && d <= (int32_t)reach && d >= -(int32_t)reach;
      }
      if (in) want[nw++] = all[i].id;
    }
    qsort(got, ng, sizeof *got, by_id);
    qsort(want, nw, sizeof *want, by_id);
    if (ng != nw || memcmp(got, want, ng * sizeof *got) != 0)
      fail_msg("sample %u: the cells walk visited %u entities, the reference finds %u (reach %u)", s, ng, nw, reach);
  }
  free(all);
  free(got);
  free(want);
}

static void walks_match_a_brute_force_reference(void **state) {
  (void)state;
  uint64_t rng = test_seed(20261207);
  for (uint32_t dims = 2; dims <= 3; dims++)
    for (int edges = MYR_GRID_CLAMP; edges <= MYR_GRID_WRAP; edges++) {
      gfix *x = gfix_make(0, 0);
      myr_grid_desc d = good_desc(x);
      d.dims = dims;
      d.edges = (myr_grid_edges)edges;
      d.payload = (myr_grid_field[]){{x->f.vel, 2}, {x->f.pos, 0}};
      d.payload_count = 2;
      float lo[3], hi[3];
      for (uint32_t a = 0; a < 3; a++) {
        float w = (float)d.cells[a] * d.cell;
        lo[a] = edges == MYR_GRID_WRAP ? d.min[a] : d.min[a] - 0.3f * w; /* clamped: some outside */
        hi[a] = edges == MYR_GRID_WRAP ? d.min[a] + w : d.min[a] + 1.3f * w;
      }
      spawn(x, 3000, lo, hi, &rng);
      assert_int_equal(myr_grid_add(x->s, &d, &x->grid), MYR_OK);
      assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_OK);
      compare_with_brute_force(x, &x->grid, 300, &rng);
      /* the payload is each slot's entity's */
      for (uint32_t k = 0; k < x->grid.start[x->grid.cell_count]; k++) {
        t_velocity v;
        t_position p;
        assert_int_equal(myr_component_get(x->f.w, x->grid.ids[k], x->f.vel, &v), MYR_OK);
        assert_int_equal(myr_component_get(x->f.w, x->grid.ids[k], x->f.pos, &p), MYR_OK);
        assert_true(x->grid.payload[0][k] == v.z && x->grid.payload[1][k] == p.x && x->grid.pos[1][k] == p.y);
      }
      gfix_free(x);
    }
}

static void spawns_and_destroys_show_after_the_rebuild(void **state) {
  (void)state;
  uint64_t rng = test_seed(7);
  gfix *x = gfix_make(2, 64);
  myr_grid_desc d = good_desc(x);
  d.dims = 2;
  spawn(x, 1000, (const float[]){-1, 0.5f, 0}, (const float[]){1.5f, 2.25f, 0}, &rng);
  assert_int_equal(myr_grid_add(x->s, &d, &x->grid), MYR_OK);
  for (int round = 0; round < 3; round++) {
    assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_OK);
    compare_with_brute_force(x, &x->grid, 50, &rng);
    /* every entity is in its own cell, once */
    ref_entity *all = calloc(8192, sizeof *all);
    assert_non_null(all);
    uint32_t n = live_entities(x, all);
    for (uint32_t i = 0; i < n; i++) {
      uint32_t c = myr_grid_cell_of(&x->grid, all[i].p), hits = 0;
      for (uint32_t k = x->grid.start[c]; k < x->grid.start[c + 1]; k++) hits += x->grid.ids[k] == all[i].id;
      assert_int_equal(hits, 1);
    }
    for (uint32_t i = 0; i < n; i += 3) assert_int_equal(myr_entity_destroy(x->f.w, all[i].id), MYR_OK);
    free(all);
    spawn(x, 200 + 100 * (uint32_t)round, (const float[]){-1, 0.5f, 0}, (const float[]){1.5f, 2.25f, 0}, &rng);
  }
  gfix_free(x);
}

/* ---- the same order for every thread count and chunk size ------------------- */

/* Each entity hashes the ids it visits within 0.3, in visit order. */
static void look_around(const myr_view *v, myr_patches *p) {
  (void)p;
  const myr_grid *g = v->user;
  const float *x = myr_chunk_f32(&v->chunk, 0, 0), *y = myr_chunk_f32(&v->chunk, 0, 1);
  uint64_t *order = myr_chunk_u64(&v->chunk, 1, 0);
  uint32_t *count = myr_chunk_u32(&v->chunk, 1, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    myr_grid_cursor q;
    myr_grid_hit h;
    if (myr_grid_near(g, (const float[]){x[i], y[i]}, 0.3f, &q) != MYR_OK) myr_system_fail(v, MYR_EINVAL);
    uint64_t o = 0;
    uint32_t n = 0;
    while (myr_grid_next(&q, &h)) {
      o = (o ^ h.id) * 0x100000001b3ull;
      n++;
    }
    order[i] = o;
    count[i] = n;
  }
}

/* Moves every entity a little and, in stage 1, destroys one in five and
 * spawns as many, so the grid changes every frame. */
static void drift(const myr_view *v, myr_patches *p) {
  (void)p;
  float *x = myr_chunk_f32(&v->chunk, 0, 0), *y = myr_chunk_f32(&v->chunk, 0, 1);
  const float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    x[i] = fmodf(x[i] + 0.05f * vx[i] + 2.5f, 2.5f) - 1.0f;
    y[i] = fmodf(y[i] - 0.5f + 0.05f * vy[i] + 1.75f, 1.75f) + 0.5f;
  }
}

static void churn(const myr_view *v, myr_patches *p) {
  const gfix *x = v->user;
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    myr_random r;
    if (myr_view_random(v, i, 0, &r) != MYR_OK || myr_random_below(&r, 5) != 0) continue;
    t_position pos = {-1.0f + 2.5f * myr_random_float(&r), 0.5f + 1.75f * myr_random_float(&r), 0};
    t_velocity vel = {myr_random_float(&r) - 0.5f, myr_random_float(&r) - 0.5f, 0};
    t_seen seen = {0, 0};
    if (myr_patch_destroy(p, v->chunk.ids[i]) != MYR_OK ||
        myr_patch_spawn(p, (myr_component[]){x->f.pos, x->f.vel, x->seen}, 3, (const void *const[]){&pos, &vel, &seen},
                        NULL) != MYR_OK)
      myr_system_fail(v, MYR_ENOMEM);
  }
}

static uint64_t run_world(uint32_t workers, uint32_t chunk_rows, uint64_t seed) {
  gfix *x = gfix_make(workers, chunk_rows);
  uint64_t rng = seed;
  spawn(x, 4000, (const float[]){-1, 0.5f, 0}, (const float[]){1.5f, 2.25f, 0}, &rng);
  myr_grid_desc d = good_desc(x);
  d.dims = 2;
  d.edges = MYR_GRID_WRAP;
  d.block_rows = 256;
  d.capacity = 8192;
  assert_int_equal(myr_grid_add(x->s, &d, &x->grid), MYR_OK);
  const myr_resource_term reads[] = {{x->grid.slots, MYR_TERM_READ}};
  const myr_system_desc systems[] = {
      {.name = "look",
       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}, {x->seen, MYR_TERM_WRITE}},
       .term_count = 2,
       .fn = look_around,
       .user = &x->grid,
       .resources = reads,
       .resource_count = 1},
      {.name = "drift",
       .terms = (myr_term[]){{x->f.pos, MYR_TERM_WRITE}, {x->f.vel, MYR_TERM_READ}},
       .term_count = 2,
       .fn = drift,
       .after = (const char *const[]){"look"},
       .after_count = 1},
      {.name = "churn",
       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
       .term_count = 1,
       .fn = churn,
       .user = x,
       .stage = 1},
  };
  for (size_t i = 0; i < sizeof systems / sizeof *systems; i++)
    assert_int_equal(myr_schedule_add(x->s, &systems[i], NULL), MYR_OK);
  uint64_t h = 0;
  for (int frame = 0; frame < 6; frame++) {
    assert_int_equal(myr_schedule_run(x->s, 1.0 / 60), MYR_OK);
    h = h * 31 + world_hash(x->f.w);
  }
  gfix_free(x);
  return h;
}

static void visit_order_is_the_same_for_every_thread_count_and_chunk_size(void **state) {
  (void)state;
  const uint64_t seed = test_seed(99);
  const uint64_t want = run_world(0, 4096, seed);
  const uint32_t threads[] = {1, 2, 3}, chunks[] = {16, 64, 1000, 4096, 65536};
  for (size_t t = 0; t < 3; t++)
    for (size_t c = 0; c < 5; c++) {
      uint64_t got = run_world(threads[t], chunks[c], seed);
      if (got != want)
        fail_msg("threads %u, chunk %u: hash %llx, want %llx", threads[t], chunks[c], (unsigned long long)got,
                 (unsigned long long)want);
    }
}

/* ---- slots ordered by a key --------------------------------------------------- */

typedef struct {
  uint64_t key;
  float weight;
} t_key;

static myr_component key_register(gfix *x) {
  static const myr_field key_f[] = {MYR_FIELD(t_key, key, MYR_U64), MYR_FIELD(t_key, weight, MYR_F32)};
  myr_component c;
  assert_int_equal(myr_component_register(x->f.w, &(myr_component_desc){"Key", key_f, 2, sizeof(t_key)}, &c), MYR_OK);
  return c;
}

/* `pay`, the payload, is the caller's: it must outlive the desc. */
static myr_grid_desc ordered_desc(const gfix *x, myr_component key, myr_grid_field *pay) {
  myr_grid_desc d = good_desc(x);
  d.block_rows = 64; /* many blocks, so cells gather rows of several */
  pay[0] = (myr_grid_field){x->f.vel, 0};
  pay[1] = (myr_grid_field){x->f.vel, 2};
  d.payload = pay;
  d.payload_count = 2;
  d.has_order = true;
  d.order = key;
  return d;
}

/* Entity `i` of a scene: its key is 1000 + 7 i, its position and velocity
 * follow from i alone; some sit outside the box (edge cells, crowded). */
static void keyed_values(uint64_t i, t_key *k, t_position *p, t_velocity *v) {
  uint64_t rng = i * 0x9e3779b97f4a7c15ull + 1;
  *k = (t_key){1000 + 7 * i, unit(&rng)};
  *p = (t_position){-1.5f + 3.5f * unit(&rng), 0.2f + 2.3f * unit(&rng), 1.8f + 1.6f * unit(&rng)};
  *v = (t_velocity){unit(&rng), unit(&rng), unit(&rng)};
}

/* The n entities of the scene, created in an order and into tables (some
 * with a tag) picked by `shuffle` (0: in key order, no tags), with
 * short-lived entities in between, so that rows differ between worlds. */
static void keyed_scene(gfix *x, myr_component key, uint32_t n, uint64_t shuffle) {
  uint32_t *order = malloc(n * sizeof *order);
  assert_non_null(order);
  for (uint32_t i = 0; i < n; i++) order[i] = i;
  uint64_t rng = shuffle;
  for (uint32_t i = n; shuffle && i > 1; i--) {
    uint32_t j = (uint32_t)(rng_next(&rng) % i), t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  myr_entity junk[64];
  uint32_t junk_count = 0;
  for (uint32_t i = 0; i < n; i++) {
    t_key k;
    t_position p;
    t_velocity v;
    keyed_values(order[i], &k, &p, &v);
    const bool tagged = shuffle && rng_next(&rng) % 3 == 0;
    myr_entity e;
    assert_int_equal(myr_entity_create_with(x->f.w, (myr_component[]){x->f.pos, x->f.vel, key, x->f.tag},
                                            tagged ? 4 : 3, (const void *const[]){&p, &v, &k, NULL}, &e),
                     MYR_OK);
    if (shuffle && rng_next(&rng) % 4 == 0 && junk_count < 64) {
      keyed_values(n + i, &k, &p, &v);
      assert_int_equal(myr_entity_create_with(x->f.w, (myr_component[]){x->f.pos, x->f.vel, key}, 3,
                                              (const void *const[]){&p, &v, &k}, &junk[junk_count++]),
                       MYR_OK);
    }
  }
  for (uint32_t i = 0; i < junk_count; i++) assert_int_equal(myr_entity_destroy(x->f.w, junk[i]), MYR_OK);
  free(order);
}

/* A grid's slots, ids left out (they differ between worlds). */
typedef struct keyed_slots {
  uint32_t cells, n;
  uint32_t *start;
  uint64_t *keys;
  float *f; /* per slot: x, y, z, then the payload */
} keyed_slots;

enum { KEYED_FLOATS = 5 };

static keyed_slots keyed_copy(gfix *x, const myr_grid *g, myr_component key) {
  keyed_slots k = {.cells = g->cell_count, .n = g->start[g->cell_count]};
  k.start = malloc((k.cells + 1) * sizeof *k.start);
  k.keys = malloc(k.n * sizeof *k.keys);
  k.f = malloc((size_t)k.n * KEYED_FLOATS * sizeof *k.f);
  assert_true(k.start && k.keys && k.f);
  memcpy(k.start, g->start, (k.cells + 1) * sizeof *k.start);
  assert_non_null(g->keys);
  for (uint32_t c = 0; c < k.cells; c++)
    for (uint32_t s = g->start[c]; s < g->start[c + 1]; s++) {
      t_key want;
      assert_int_equal(myr_component_get(x->f.w, g->ids[s], key, &want), MYR_OK);
      assert_true(g->keys[s] == want.key); /* each slot's key is its entity's */
      if (s > g->start[c]) assert_true(g->keys[s - 1] < g->keys[s]);
      k.keys[s] = g->keys[s];
      for (uint32_t a = 0; a < 3; a++) k.f[s * KEYED_FLOATS + a] = g->pos[a][s];
      for (uint32_t p = 0; p < 2; p++) k.f[s * KEYED_FLOATS + 3 + p] = g->payload[p][s];
    }
  return k;
}

static void keyed_free(keyed_slots *k) {
  free(k->start);
  free(k->keys);
  free(k->f);
}

static void keyed_equal(const keyed_slots *a, const keyed_slots *b, const char *what) {
  if (a->cells != b->cells || a->n != b->n || memcmp(a->start, b->start, (a->cells + 1) * sizeof *a->start) != 0 ||
      memcmp(a->keys, b->keys, a->n * sizeof *a->keys) != 0 ||
      memcmp(a->f, b->f, (size_t)a->n * KEYED_FLOATS * sizeof *a->f) != 0)
    fail_msg("%s: the slots differ", what);
}

/* One world's slots after two rebuilds (the second on the first's grid). */
static keyed_slots keyed_world(uint32_t workers, uint32_t chunk_rows, uint32_t n, uint64_t shuffle) {
  gfix *x = gfix_make(workers, chunk_rows);
  myr_component key = key_register(x);
  keyed_scene(x, key, n, shuffle);
  myr_grid_field pay[2];
  myr_grid_desc d = ordered_desc(x, key, pay);
  assert_int_equal(myr_grid_add(x->s, &d, &x->grid), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_OK);
  assert_int_equal(x->grid.start[x->grid.cell_count], n);
  keyed_slots k = keyed_copy(x, &x->grid, key);
  gfix_free(x);
  return k;
}

static void ordered_slots_are_the_same_whatever_the_rows(void **state) {
  (void)state;
  const uint32_t n = 2500;
  const uint64_t seed = test_seed(31);
  keyed_slots want = keyed_world(0, 4096, n, 0);
  const uint32_t threads[] = {0, 1, 2}, chunks[] = {16, 64, 1000, 4096};
  char what[96];
  for (size_t t = 0; t < 3; t++)
    for (size_t c = 0; c < 4; c++)
      for (uint64_t shuffle = 0; shuffle < 3; shuffle++) {
        keyed_slots got = keyed_world(threads[t], chunks[c], n, shuffle ? seed + shuffle : 0);
        snprintf(what, sizeof what, "threads %u, chunk %u, shuffle %u", threads[t], chunks[c], (unsigned)shuffle);
        keyed_equal(&got, &want, what);
        keyed_free(&got);
      }
  keyed_free(&want);
}

/* Equal keys keep the order of the grid without a key: the sort is stable. */
static void equal_keys_keep_row_order(void **state) {
  (void)state;
  gfix *x = gfix_make(2, 64);
  myr_component key = key_register(x);
  keyed_scene(x, key, 2000, test_seed(5));
  /* four keys only, so each cell holds runs of equal keys */
  myr_query *q;
  assert_int_equal(myr_query_create(x->f.w, &(myr_query_desc){(myr_term[]){{key, MYR_TERM_WRITE}}, 1}, &q), MYR_OK);
  myr_query_iter it;
  myr_chunk c;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  while (myr_query_next(&it, &c))
    for (uint32_t i = 0; i < c.count; i++) myr_chunk_u64(&c, 0, 0)[i] %= 4;
  myr_query_destroy(q);
  myr_grid_field pay[2];
  myr_grid_desc d = ordered_desc(x, key, pay);
  myr_grid plain, ordered;
  d.name = "ordered";
  assert_int_equal(myr_grid_add(x->s, &d, &ordered), MYR_OK);
  d.name = "plain";
  d.has_order = false;
  assert_int_equal(myr_grid_add(x->s, &d, &plain), MYR_OK);
  assert_null(plain.keys);
  assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_OK);
  assert_int_equal(memcmp(plain.start, ordered.start, (plain.cell_count + 1) * sizeof *plain.start), 0);
  uint32_t runs = 0;
  for (uint32_t cell = 0; cell < plain.cell_count; cell++) {
    /* a stable sort of the plain grid's cell, by key, slot by slot */
    uint32_t at = ordered.start[cell];
    for (uint64_t k = 0; k < 4; k++)
      for (uint32_t s = plain.start[cell]; s < plain.start[cell + 1]; s++) {
        t_key got;
        assert_int_equal(myr_component_get(x->f.w, plain.ids[s], key, &got), MYR_OK);
        if (got.key != k) continue;
        assert_true(ordered.ids[at] == plain.ids[s] && ordered.keys[at] == k);
        assert_true(ordered.pos[0][at] == plain.pos[0][s] && ordered.payload[1][at] == plain.payload[1][s]);
        runs += at > ordered.start[cell] && ordered.keys[at - 1] == k;
        at++;
      }
    assert_int_equal(at, ordered.start[cell + 1]);
  }
  assert_true(runs > 100); /* the cells did hold equal keys */
  gfix_free(x);
}

static void order_keys_not_u64_are_refused_and_change_nothing(void **state) {
  (void)state;
  gfix *x = gfix_make(0, 0);
  myr_component key = key_register(x);
  keyed_scene(x, key, 50, 0);
  const uint64_t before = world_hash(x->f.w);
  const myr_term key_filter[] = {{key, MYR_TERM_WITH}};
  struct {
    myr_component order;
    const myr_term *filter;
    myr_status want;
  } cases[] = {
      {x->f.health, NULL, MYR_ETYPE},                                /* i32 first */
      {x->f.label, NULL, MYR_ETYPE},                                 /* bytes first, then a u64 */
      {x->f.tag, NULL, MYR_ETYPE},                                   /* no fields */
      {x->f.pos, NULL, MYR_ETYPE},                                   /* f32 */
      {200, NULL, MYR_ENOCOMP},       {key, key_filter, MYR_EINVAL}, /* named twice */
  };
  myr_grid g;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    myr_grid_field pay[2];
    myr_grid_desc d = ordered_desc(x, cases[i].order, pay);
    d.filter = cases[i].filter;
    d.filter_count = cases[i].filter ? 1 : 0;
    assert_int_equal(myr_grid_add(x->s, &d, &g), cases[i].want);
    assert_int_equal(myr_schedule_system_count(x->s), 0);
    assert_int_equal(world_hash(x->f.w), before);
  }
  /* the key may be a payload's component, or the position's */
  myr_grid_field pay[2];
  myr_grid_desc d = ordered_desc(x, key, pay);
  d.payload = (const myr_grid_field[]){{key, 1}};
  d.payload_count = 1;
  assert_int_equal(myr_grid_add(x->s, &d, &g), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_OK);
  assert_int_equal(g.start[g.cell_count], 50);
  for (uint32_t s = 0; s < 50; s++) {
    t_key k;
    assert_int_equal(myr_component_get(x->f.w, g.ids[s], key, &k), MYR_OK);
    assert_true(g.keys[s] == k.key && g.payload[0][s] == k.weight);
  }
  gfix_free(x);
}

/* ---- optional filter terms ------------------------------------------------------ */

static void optional_filters_place_rows_with_and_without(void **state) {
  (void)state;
  gfix *x = gfix_make(2, 16);
  uint64_t rng = test_seed(11);
  spawn(x, 300, (const float[]){-1, 0.5f, 2}, (const float[]){1.5f, 2.25f, 3.25f}, &rng);
  for (uint32_t i = 0; i < 200; i++) { /* no velocity, some tagged */
    t_position p = {-1.0f + 2.5f * unit(&rng), 0.5f + 1.75f * unit(&rng), 2.0f + 1.25f * unit(&rng)};
    myr_entity e;
    assert_int_equal(myr_entity_create_with(x->f.w, (myr_component[]){x->f.pos, x->f.tag}, i % 2 ? 2 : 1,
                                            (const void *const[]){&p, NULL}, &e),
                     MYR_OK);
  }
  const myr_term optional[] = {{x->f.vel, MYR_TERM_OPTIONAL}, {x->f.tag, MYR_TERM_OPTIONAL}},
                 with[] = {{x->f.vel, MYR_TERM_WITH}};
  myr_grid_desc d = good_desc(x);
  d.filter = optional;
  d.filter_count = 2;
  myr_grid all, moving;
  assert_int_equal(myr_grid_add(x->s, &d, &all), MYR_OK);
  d.name = "moving";
  d.filter = with;
  d.filter_count = 1;
  assert_int_equal(myr_grid_add(x->s, &d, &moving), MYR_OK);
  assert_int_equal(myr_schedule_run(x->s, 0.0), MYR_OK);
  assert_int_equal(all.start[all.cell_count], 500);
  assert_int_equal(moving.start[moving.cell_count], 300);
  compare_with_brute_force(x, &all, 50, &rng);
  gfix_free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_descs_are_refused_and_change_nothing),
      cmocka_unit_test(radii_beyond_the_grid_are_refused),
      cmocka_unit_test(more_entities_than_the_capacity_fail_the_frame),
      cmocka_unit_test(walks_match_a_brute_force_reference),
      cmocka_unit_test(spawns_and_destroys_show_after_the_rebuild),
      cmocka_unit_test(visit_order_is_the_same_for_every_thread_count_and_chunk_size),
      cmocka_unit_test(ordered_slots_are_the_same_whatever_the_rows),
      cmocka_unit_test(equal_keys_keep_row_order),
      cmocka_unit_test(order_keys_not_u64_are_refused_and_change_nothing),
      cmocka_unit_test(optional_filters_place_rows_with_and_without),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
