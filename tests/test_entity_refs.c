/* Entity references: MYR_ENTITY fields, provisional ids that carry their
 * batch, and links between spawned entities that come out the same for any
 * thread count and chunk size. */
#include "helpers.h"

typedef struct {
  myr_entity parent;
  uint32_t depth, value;
} t_node;
typedef struct {
  myr_entity target;
} t_link;
typedef struct {
  uint32_t n;
} t_seed;

typedef struct rfix {
  myr_world *w;
  myr_component node, link, seed, raw;
} rfix;

static void register_refs(rfix *x) {
  static const myr_field node_f[] = {MYR_FIELD(t_node, parent, MYR_ENTITY), MYR_FIELD(t_node, depth, MYR_U32),
                                     MYR_FIELD(t_node, value, MYR_U32)};
  static const myr_field link_f[] = {MYR_FIELD(t_link, target, MYR_ENTITY)};
  static const myr_field seed_f[] = {MYR_FIELD(t_seed, n, MYR_U32)};
  static const myr_field raw_f[] = {{"bits", MYR_U64, 0, 0}};
  assert_int_equal(myr_component_register(x->w, &(myr_component_desc){"Node", node_f, 3, sizeof(t_node)}, &x->node),
                   MYR_OK);
  assert_int_equal(myr_component_register(x->w, &(myr_component_desc){"Link", link_f, 1, sizeof(t_link)}, &x->link),
                   MYR_OK);
  assert_int_equal(myr_component_register(x->w, &(myr_component_desc){"Seed", seed_f, 1, sizeof(t_seed)}, &x->seed),
                   MYR_OK);
  assert_int_equal(myr_component_register(x->w, &(myr_component_desc){"Raw", raw_f, 1, sizeof(uint64_t)}, &x->raw),
                   MYR_OK);
}

static int setup(void **state) {
  rfix *x = calloc(1, sizeof *x);
  if (!x || myr_world_create(checked_world(), &x->w) != MYR_OK) return -1;
  register_refs(x);
  *state = x;
  return 0;
}

static int teardown(void **state) {
  rfix *x = *state;
  myr_world_destroy(x->w);
  free(x);
  return 0;
}

static void entity_fields_are_eight_bytes_and_typed(void **state) {
  rfix *x = *state;
  assert_int_equal(myr_type_size(MYR_ENTITY), 8);
  myr_entity e, other;
  assert_int_equal(myr_entity_create(x->w, &e), MYR_OK);
  assert_int_equal(myr_entity_create(x->w, &other), MYR_OK);
  assert_int_equal(myr_component_add(x->w, e, x->link, &(t_link){other}), MYR_OK);
  myr_entity got = 0;
  assert_int_equal(myr_field_get(x->w, e, x->link, 0, MYR_ENTITY, &got), MYR_OK);
  assert_true(got == other);
  assert_int_equal(myr_field_get(x->w, e, x->link, 0, MYR_U64, &got), MYR_ETYPE);
}

static void links_to_spawned_entities_are_rewritten_to_real_ids(void **state) {
  rfix *x = *state;
  myr_entity holder;
  assert_int_equal(myr_entity_create(x->w, &holder), MYR_OK);
  myr_patches *p;
  assert_int_equal(myr_patches_create(x->w, &p), MYR_OK);
  myr_entity a, b, c, gone;
  const myr_component nc[] = {x->node};
  assert_int_equal(myr_patch_spawn(p, nc, 1, (const void *const[]){&(t_node){holder, 1, 10}}, &a), MYR_OK);
  assert_int_equal(myr_patch_spawn(p, nc, 1, (const void *const[]){&(t_node){a, 2, 20}}, &b), MYR_OK);
  assert_int_equal(myr_patch_spawn(p, nc, 1, NULL, &c), MYR_OK);
  assert_int_equal(myr_patch_set(p, c, x->node, &(t_node){b, 3, 30}), MYR_OK);
  assert_int_equal(myr_patch_spawn(p, NULL, 0, NULL, &gone), MYR_OK);
  assert_int_equal(myr_patch_add(p, holder, x->link, &(t_link){c}), MYR_OK);
  /* a set_field on a link, and a link to an entity destroyed in the batch */
  assert_int_equal(myr_patch_set_field(p, a, x->node, 0, MYR_ENTITY, &c), MYR_OK);
  assert_int_equal(myr_patch_add(p, b, x->link, &(t_link){gone}), MYR_OK);
  assert_int_equal(myr_patch_destroy(p, gone), MYR_OK);
  /* a provisional id in a plain u64 field is a value like any other */
  assert_int_equal(myr_patch_add(p, holder, x->raw, &(uint64_t){a}), MYR_OK);
  assert_int_equal(myr_patches_apply(p, NULL), MYR_OK);

  t_link l;
  t_node na, nb, nn;
  assert_int_equal(myr_component_get(x->w, holder, x->link, &l), MYR_OK);
  myr_entity rc = l.target;
  assert_false(MYR_ENTITY_IS_PROVISIONAL(rc));
  assert_int_equal(myr_component_get(x->w, rc, x->node, &nn), MYR_OK);
  assert_int_equal(nn.depth, 3);
  myr_entity rb = nn.parent;
  assert_int_equal(myr_component_get(x->w, rb, x->node, &nb), MYR_OK);
  assert_int_equal(nb.depth, 2);
  myr_entity ra = nb.parent;
  assert_int_equal(myr_component_get(x->w, ra, x->node, &na), MYR_OK);
  assert_int_equal(na.value, 10);
  assert_true(na.parent == rc); /* rewritten by the set_field */
  assert_int_equal(myr_component_get(x->w, rb, x->link, &l), MYR_OK);
  assert_true(l.target == MYR_ENTITY_NULL); /* its target never came to be */
  uint64_t raw;
  assert_int_equal(myr_component_get(x->w, holder, x->raw, &raw), MYR_OK);
  assert_true(raw == a);
  assert_int_equal(myr_world_entity_count(x->w), 4);
  myr_patches_destroy(p);
}

static void stale_and_foreign_provisional_ids_are_refused(void **state) {
  rfix *x = *state;
  myr_entity e;
  assert_int_equal(myr_entity_create(x->w, &e), MYR_OK);
  myr_patches *p, *q;
  assert_int_equal(myr_patches_create(x->w, &p), MYR_OK);
  assert_int_equal(myr_patches_create(x->w, &q), MYR_OK);
  myr_entity a, b;
  assert_int_equal(myr_patch_spawn(p, NULL, 0, NULL, &a), MYR_OK);
  assert_int_equal(myr_patch_spawn(q, NULL, 0, NULL, &b), MYR_OK);
  assert_true(MYR_ENTITY_IS_PROVISIONAL(a) && MYR_ENTITY_IS_PROVISIONAL(b) && a != b);
  /* never handed out in this batch: the next id, and one far beyond */
  assert_int_equal(myr_patch_destroy(p, a + 1), MYR_EINVAL);
  assert_int_equal(myr_patch_destroy(p, a + 1000000), MYR_EINVAL);
  assert_int_equal(myr_patch_add(p, e, x->link, &(t_link){a + 1}), MYR_EINVAL);
  /* another buffer's id belongs to another batch */
  assert_int_equal(myr_patch_destroy(p, b), MYR_ESTALE);
  assert_int_equal(myr_patch_set_field(p, e, x->link, 0, MYR_ENTITY, &b), MYR_ESTALE);
  assert_int_equal(myr_patch_spawn(p, (myr_component[]){x->link}, 1, (const void *const[]){&(t_link){b}}, NULL),
                   MYR_ESTALE);
  assert_int_equal(myr_patches_count(p), 1); /* only the spawn */
  assert_int_equal(myr_patches_apply(p, NULL), MYR_OK);
  /* after the apply, a is from an earlier batch: refused everywhere */
  assert_int_equal(myr_patch_destroy(p, a), MYR_ESTALE);
  assert_int_equal(myr_patch_set(p, a, x->link, &(t_link){0}), MYR_ESTALE);
  assert_int_equal(myr_patch_add(p, e, x->link, &(t_link){a}), MYR_ESTALE);
  assert_int_equal(myr_patch_remove(p, a, x->link), MYR_ESTALE);
  assert_int_equal(myr_patches_count(p), 0);
  /* clearing discards a batch: its ids go stale too */
  assert_int_equal(myr_patch_spawn(p, NULL, 0, NULL, &a), MYR_OK);
  myr_patches_clear(p);
  assert_int_equal(myr_patch_destroy(p, a), MYR_ESTALE);
  /* a real id is checked at apply, not here */
  assert_int_equal(myr_patch_destroy(p, ((myr_entity)7 << 32) | 99), MYR_OK);
  myr_patches_destroy(p);
  myr_patches_destroy(q);
}

/* ---- in a schedule ------------------------------------------------------- */

static myr_entity kept_id; /* provisional id carried between callbacks */
static myr_status kept_status, stale_status;

static void keep_first_use_later(const myr_view *v, myr_patches *p) {
  if (v->chunk.index == 0) {
    if (kept_id) stale_status = myr_patch_destroy(p, kept_id); /* from last frame */
    assert_int_equal(myr_patch_spawn(p, NULL, 0, NULL, &kept_id), MYR_OK);
  } else if (v->chunk.index == 1) {
    kept_status = myr_patch_destroy(p, kept_id); /* another chunk's */
  }
}

static void a_callback_refuses_ids_of_other_chunks_and_frames(void **state) {
  rfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->w, &(myr_bulk_desc){.components = (myr_component[]){x->seed}, .component_count = 1, .count = 40}),
      MYR_OK);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(x->w, &(myr_schedule_desc){.chunk_rows = 16}, &s), MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "keep",
                                                       .terms = (myr_term[]){{x->seed, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = keep_first_use_later,
                                                       .flags = MYR_SYSTEM_MAIN_THREAD},
                                    NULL),
                   MYR_OK);
  kept_id = 0;
  kept_status = stale_status = MYR_OK;
  assert_int_equal(myr_schedule_run(s, 1), MYR_OK);
  assert_int_equal(kept_status, MYR_EINVAL);
  assert_int_equal(stale_status, MYR_OK);
  kept_status = MYR_OK;
  myr_entity first = kept_id;
  assert_int_equal(myr_schedule_run(s, 1), MYR_OK);
  assert_true(first != kept_id);
  /* chunk 0 of frame 2 named frame 1's id (stale), then chunk 1 named chunk 0's */
  assert_int_equal(stale_status, MYR_ESTALE);
  assert_int_equal(kept_status, MYR_EINVAL);
  myr_stage_stats st;
  assert_int_equal(myr_schedule_stage_stats(s, 0, &st), MYR_OK);
  assert_int_equal(st.patches.recorded, 1); /* the spawn alone */
  myr_schedule_destroy(s);
}

static myr_status stale_seen;
static void keep_across_frames(const myr_view *v, myr_patches *p) {
  (void)v;
  if (kept_id) stale_seen = myr_patch_destroy(p, kept_id);
  assert_int_equal(myr_patch_spawn(p, NULL, 0, NULL, &kept_id), MYR_OK);
}

static void a_callback_refuses_ids_of_earlier_frames(void **state) {
  rfix *x = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          x->w, &(myr_bulk_desc){.components = (myr_component[]){x->seed}, .component_count = 1, .count = 1}),
      MYR_OK);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(x->w, NULL, &s), MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "keep",
                                                       .terms = (myr_term[]){{x->seed, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = keep_across_frames},
                                    NULL),
                   MYR_OK);
  kept_id = 0;
  stale_seen = MYR_OK;
  assert_int_equal(myr_schedule_run(s, 1), MYR_OK);
  assert_int_equal(stale_seen, MYR_OK);
  assert_int_equal(myr_schedule_run(s, 1), MYR_OK);
  assert_int_equal(stale_seen, MYR_ESTALE);
  assert_int_equal(myr_world_entity_count(x->w), 3);
  myr_schedule_destroy(s);
}

/* A spawn graph over several systems and stages: seeds spawn
 * parent -> child -> grandchild chains linked through MYR_ENTITY fields and
 * point at the grandchild; pairs link to each other both ways; a later stage
 * culls some nodes and relinks survivors to their grandparent. The raw
 * provisional id goes into a u64 field too, so the hash sees token values. */
typedef struct graph_ctx {
  myr_component node, link, seed, raw;
  bool keep_raw;
} graph_ctx;

static void spawn_chains(const myr_view *v, myr_patches *p) {
  const graph_ctx *g = v->user;
  uint32_t *seed = myr_chunk_column(&v->chunk, 0, 0);
  const myr_component nc[] = {g->node}, nr[] = {g->node, g->raw};
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    uint32_t n = seed[i]++;
    if (n % 3 != 0) continue;
    myr_entity a, b, c;
    myr_entity self = v->chunk.ids[i];
    assert_int_equal(myr_patch_spawn(p, nc, 1, (const void *const[]){&(t_node){self, 1, n}}, &a), MYR_OK);
    assert_int_equal(myr_patch_spawn(p, nc, 1, (const void *const[]){&(t_node){a, 2, n + 1}}, &b), MYR_OK);
    uint64_t raw = b; /* a token value: the same for any thread count, not for any chunk size */
    assert_int_equal(
        myr_patch_spawn(p, nr, g->keep_raw ? 2 : 1, (const void *const[]){&(t_node){b, 3, n + 2}, &raw}, &c), MYR_OK);
    myr_status st = myr_patch_add(p, self, g->link, &(t_link){c});
    assert_true(st == MYR_OK);
    assert_int_equal(myr_patch_set(p, self, g->link, &(t_link){c}), MYR_OK); /* covers a seed that has one */
  }
}

static void spawn_pairs(const myr_view *v, myr_patches *p) {
  const graph_ctx *g = v->user;
  const uint32_t *seed = myr_chunk_column(&v->chunk, 0, 0);
  const myr_component nc[] = {g->node};
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (seed[i] % 5 != 1) continue;
    myr_entity a, b;
    assert_int_equal(myr_patch_spawn(p, nc, 1, NULL, &a), MYR_OK);
    assert_int_equal(myr_patch_spawn(p, nc, 1, (const void *const[]){&(t_node){a, 7, seed[i]}}, &b), MYR_OK);
    assert_int_equal(myr_patch_set_field(p, a, g->node, 0, MYR_ENTITY, &b), MYR_OK);
    if (seed[i] % 10 == 1) assert_int_equal(myr_patch_destroy(p, b), MYR_OK); /* a's link goes null */
  }
}

static const myr_world *graph_world;

static void cull_and_relink(const myr_view *v, myr_patches *p) {
  const graph_ctx *g = v->user;
  const myr_entity *parent = myr_chunk_column(&v->chunk, 0, 0);
  const uint32_t *depth = myr_chunk_column(&v->chunk, 0, 1), *value = myr_chunk_column(&v->chunk, 0, 2);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (depth[i] == 1 && value[i] % 4 == 0) {
      assert_int_equal(myr_patch_destroy(p, v->chunk.ids[i]), MYR_OK);
    } else if (depth[i] == 3 && parent[i]) {
      /* read another entity's Node: no system of this stage writes it */
      t_node up;
      if (myr_component_get(graph_world, parent[i], g->node, &up) == MYR_OK && up.parent)
        assert_int_equal(myr_patch_add(p, v->chunk.ids[i], g->link, &(t_link){up.parent}), MYR_OK);
    }
  }
}

static uint64_t run_graph(uint32_t workers, uint32_t chunk, uint32_t frames, uint32_t seeds, bool keep_raw) {
  myr_world *w;
  assert_int_equal(myr_world_create(checked_world(), &w), MYR_OK);
  rfix x = {.w = w};
  register_refs(&x);
  graph_ctx g = {x.node, x.link, x.seed, x.raw, keep_raw};
  graph_world = w;
  myr_entity *ids = malloc(sizeof *ids * seeds);
  assert_non_null(ids);
  assert_int_equal(myr_entity_create_bulk(w, &(myr_bulk_desc){.components = (myr_component[]){x.seed},
                                                              .component_count = 1,
                                                              .count = seeds,
                                                              .ids_out = ids}),
                   MYR_OK);
  for (uint32_t i = 0; i < seeds; i++) assert_int_equal(myr_component_set(w, ids[i], x.seed, &(t_seed){i * 7}), MYR_OK);
  free(ids);
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &s), MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "chains",
                                                       .terms = (myr_term[]){{x.seed, MYR_TERM_WRITE}},
                                                       .term_count = 1,
                                                       .fn = spawn_chains,
                                                       .user = &g},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "pairs",
                                                       .terms = (myr_term[]){{x.seed, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = spawn_pairs,
                                                       .user = &g},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "cull",
                                                       .terms = (myr_term[]){{x.node, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = cull_and_relink,
                                                       .user = &g,
                                                       .stage = 1},
                                    NULL),
                   MYR_OK);
  for (uint32_t f = 0; f < frames; f++) assert_int_equal(myr_schedule_run(s, 1.0 / 60), MYR_OK);
  uint64_t h = 0;
  assert_int_equal(myr_world_hash(w, &h), MYR_OK);
  myr_schedule_destroy(s);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  myr_world_destroy(w);
  return h;
}

#ifndef MYR_REFS_FRAMES
#define MYR_REFS_FRAMES 5
#endif

static void spawn_graphs_hash_the_same_for_every_thread_count_and_chunk_size(void **state) {
  (void)state;
  const uint32_t threads[] = {1, 2, 3, 4, 8};
  const uint32_t chunks[] = {16, 64, 256, 1024, 4096, 16384, 65536};
  uint64_t ref = run_graph(1, 4096, MYR_REFS_FRAMES, 3000, false);
  for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
    for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
      uint64_t h = run_graph(threads[t], chunks[c], MYR_REFS_FRAMES, 3000, false);
      if (h != ref)
        fprintf(stderr, "threads %u chunk %u: %016llx != %016llx\n", threads[t], chunks[c], (unsigned long long)h,
                (unsigned long long)ref);
      assert_true(h == ref);
    }
  }
}

/* Provisional ids kept raw in a u64 field: their values, and so the hash,
 * do not depend on the thread count. */
static void provisional_ids_do_not_depend_on_the_thread_count(void **state) {
  (void)state;
  const uint32_t threads[] = {2, 3, 4, 8};
  for (uint32_t chunk = 16; chunk <= 1024; chunk *= 8) {
    uint64_t ref = run_graph(1, chunk, MYR_REFS_FRAMES, 2000, true);
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++)
      assert_true(run_graph(threads[t], chunk, MYR_REFS_FRAMES, 2000, true) == ref);
  }
}

/* Every link in the world names a live entity or is null: checked by walking
 * the world after a graph run. */
static void spawn_graph_links_name_live_entities(void **state) {
  (void)state;
  myr_world *w;
  assert_int_equal(myr_world_create(checked_world(), &w), MYR_OK);
  rfix x = {.w = w};
  register_refs(&x);
  graph_ctx g = {x.node, x.link, x.seed, x.raw, false};
  graph_world = w;
  assert_int_equal(
      myr_entity_create_bulk(
          w, &(myr_bulk_desc){.components = (myr_component[]){x.seed}, .component_count = 1, .count = 300}),
      MYR_OK);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(w, &(myr_schedule_desc){.chunk_rows = 32}, &s), MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "chains",
                                                       .terms = (myr_term[]){{x.seed, MYR_TERM_WRITE}},
                                                       .term_count = 1,
                                                       .fn = spawn_chains,
                                                       .user = &g},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_run(s, 1), MYR_OK);
  myr_query *q;
  assert_int_equal(myr_query_create(w, &(myr_query_desc){(myr_term[]){{x.node, MYR_TERM_READ}}, 1}, &q), MYR_OK);
  myr_query_iter it;
  myr_chunk c;
  uint32_t checked = 0;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  while (myr_query_next(&it, &c)) {
    const myr_entity *parent = myr_chunk_column(&c, 0, 0);
    const uint32_t *depth = myr_chunk_column(&c, 0, 1);
    for (uint32_t i = 0; i < c.count; i++, checked++) {
      assert_false(MYR_ENTITY_IS_PROVISIONAL(parent[i]));
      assert_true(myr_entity_alive(w, parent[i]));
      t_node up;
      if (depth[i] > 1) {
        assert_int_equal(myr_component_get(w, parent[i], x.node, &up), MYR_OK);
        assert_int_equal(up.depth, depth[i] - 1);
      } else {
        assert_true(myr_component_has(w, parent[i], x.seed));
      }
    }
  }
  assert_int_equal(checked, 300 * 3); /* every seed starts at 0: three nodes each */
  myr_query_destroy(q);
  myr_schedule_destroy(s);
  myr_world_destroy(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(entity_fields_are_eight_bytes_and_typed, setup, teardown),
      cmocka_unit_test_setup_teardown(links_to_spawned_entities_are_rewritten_to_real_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(stale_and_foreign_provisional_ids_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(a_callback_refuses_ids_of_other_chunks_and_frames, setup, teardown),
      cmocka_unit_test_setup_teardown(a_callback_refuses_ids_of_earlier_frames, setup, teardown),
      cmocka_unit_test(spawn_graph_links_name_live_entities),
      cmocka_unit_test(spawn_graphs_hash_the_same_for_every_thread_count_and_chunk_size),
      cmocka_unit_test(provisional_ids_do_not_depend_on_the_thread_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
