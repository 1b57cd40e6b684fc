/* The MPI part (mpi.h), run under mpirun with 1 to 4 ranks: the content
 * hash of particles and boids equals a single world's after every frame;
 * sums and ownership over ranks; links and ghost destroys across ranks;
 * patches of every kind naming ghosts merged at their owners as in one
 * world;
 * ghosts hidden from queries that do not name them; bad descriptions and
 * bad checkpoints refused on every rank. argv[1]: worker threads a rank.
 * Each check counts; rank 0 prints the failures and the test fails when
 * any rank saw one. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "myriad/mpi.h"
#include "myriad/myriad.h"
#include "scenarios.h"

static int rank, ranks, failures;

#define CHECK(cond, ...)                                                        \
  do {                                                                          \
    if (!(cond)) {                                                              \
      failures++;                                                               \
      fprintf(stderr, "rank %d: %s:%d: %s: ", rank, __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                             \
      fprintf(stderr, "\n");                                                    \
    }                                                                           \
  } while (0)

/* ---- scenarios: every frame's content equals one world's ----------------- */

static uint64_t sum_hook(void *ctx, uint64_t local) { return myr_mpi_sum(*(myr_mpi **)ctx, local); }
static bool owns_hook(void *ctx, const float *p) { return myr_mpi_owns(*(myr_mpi **)ctx, p); }

static uint64_t content_of(scn_scenario *sc) {
  scn_domain d;
  myr_component ghost;
  const myr_world *w = scn_world(sc);
  bool keyed = scn_domain_of(sc, &d) == MYR_OK && d.has_key,
       has_ghost = myr_component_lookup(w, "myr.Ghost", &ghost) == MYR_OK;
  myr_content c;
  if (myr_world_content(w,
                        &(myr_content_desc){.has_key = keyed,
                                            .key = keyed ? d.key : 0,
                                            .skip = has_ghost ? &ghost : NULL,
                                            .skip_count = has_ghost ? 1 : 0},
                        &c) != MYR_OK)
    return 0;
  return myr_content_hash(c);
}

static void scenario_every_frame(const char *name, uint32_t n, uint32_t threads, uint32_t frames, uint32_t rebalance) {
  myr_jobs *pool;
  myr_jobs_create(&(myr_jobs_desc){.workers = threads}, &pool);
  static myr_mpi *mpi;
  mpi = NULL;
  scn_scenario *sc, *ref = NULL;
  CHECK(scn_create_desc(&(scn_desc){.name = name,
                                    .entities = n,
                                    .seed = 5,
                                    .pool = pool,
                                    .sum = sum_hook,
                                    .owns = owns_hook,
                                    .domain_ctx = &mpi},
                        &sc) == MYR_OK,
        "%s", name);
  if (rank == 0) CHECK(scn_create(name, n, 5, NULL, &ref) == MYR_OK, "%s", name);
  scn_domain d;
  CHECK(scn_domain_of(sc, &d) == MYR_OK, "%s", name);
  myr_schedule *s = scn_schedule(sc);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) myr_schedule_set_chunk_rows(s, i, 256);
  myr_mpi_desc md = {.position = d.position,
                     .dims = d.dims,
                     .wrap = d.wrap,
                     .rebalance_every = rebalance,
                     .ghost_width = d.ghost_width,
                     .has_key = d.has_key,
                     .key = d.key};
  for (uint32_t a = 0; a < 3; a++) md.axis[a] = d.axis[a], md.min[a] = d.min[a], md.max[a] = d.max[a];
  CHECK(myr_mpi_create(scn_world(sc), &md, &mpi) == MYR_OK, "%s", myr_mpi_error(mpi));
  uint32_t bad = 0;
  for (uint32_t f = 0; f < frames && mpi; f++) {
    CHECK(myr_mpi_frame(mpi, s, 1.0 / 60) == MYR_OK, "%s frame %u: %s", name, f, myr_mpi_error(mpi));
    uint64_t h = 0, want = 0, owned = 0, all = 0;
    CHECK(myr_mpi_content(mpi, &h) == MYR_OK, "%s", name);
    myr_mpi_stats st;
    myr_mpi_get_stats(mpi, &st);
    owned = st.owned;
    MPI_Reduce(&owned, &all, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
      myr_schedule_run(scn_schedule(ref), 1.0 / 60);
      want = content_of(ref);
      if (h != want && bad++ < 3)
        CHECK(h == want, "%s, %d ranks x %u threads: frame %u: content %016" PRIx64 ", one world %016" PRIx64, name,
              ranks, threads, f, h, want);
      CHECK(all == myr_world_entity_count(scn_world(ref)),
            "%s frame %u: %" PRIu64 " owned over the ranks, %u in one world", name, f, all,
            myr_world_entity_count(scn_world(ref)));
    }
  }
  myr_mpi_destroy(mpi);
  scn_destroy(sc);
  scn_destroy(ref);
  myr_jobs_destroy(pool);
}

/* ---- sums and ownership --------------------------------------------------- */

typedef struct {
  float x, y;
} v2;
typedef struct {
  uint64_t key;
} key_row;
typedef struct {
  myr_entity to;
} link_row;

typedef struct small {
  myr_world *w;
  myr_component pos, key, link, tag;
} small;

/* The components, registered in the same order on every rank. */
/* The allocator of the worlds small_make makes: the system's, failing
 * while `alloc_fails` is set. */
static bool alloc_fails;
static void *test_alloc(size_t size, size_t align, void *user) {
  (void)user;
  void *p = NULL;
  if (align < sizeof(void *)) align = sizeof(void *);
  return alloc_fails || posix_memalign(&p, align, (size + align - 1) / align * align) ? NULL : p;
}
static void test_free(void *p, size_t size, void *user) {
  (void)size, (void)user;
  free(p);
}

static void small_register(small *s) {
  myr_world_create(&(myr_world_desc){.allocator = {.alloc = test_alloc, .free = test_free}}, &s->w);
  static const myr_field pf[] = {MYR_FIELD(v2, x, MYR_F32), MYR_FIELD(v2, y, MYR_F32)};
  static const myr_field kf[] = {MYR_FIELD(key_row, key, MYR_U64)};
  static const myr_field lf[] = {MYR_FIELD(link_row, to, MYR_ENTITY)};
  myr_component_register(s->w, &(myr_component_desc){"Pos", pf, 2, sizeof(v2)}, &s->pos);
  myr_component_register(s->w, &(myr_component_desc){"Key", kf, 1, sizeof(key_row)}, &s->key);
  myr_component_register(s->w, &(myr_component_desc){"Link", lf, 1, sizeof(link_row)}, &s->link);
  myr_component_register(s->w, &(myr_component_desc){"Tag", NULL, 0, 0}, &s->tag);
}

static void small_make(small *s, uint32_t n) {
  small_register(s);
  myr_entity *ids = calloc(n, sizeof *ids);
  uint64_t r = 12345;
  for (uint32_t i = 0; i < n; i++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    v2 p = {(float)(r >> 40) / 16777216.0f, (float)((r >> 16) & 0xffffff) / 16777216.0f};
    key_row k = {i + 1};
    myr_entity_create_with(s->w, (myr_component[]){s->pos, s->key}, 2, (const void *const[]){&p, &k}, &ids[i]);
  }
  for (uint32_t i = 0; i < n; i++)
    if (i % 3) myr_component_add(s->w, ids[i], s->link, &(link_row){ids[(i * 7 + 1) % n]});
  free(ids);
  /* and one without a position, which every rank keeps for itself */
  myr_entity e;
  myr_entity_create_with(s->w, (myr_component[]){s->key, s->tag}, 2, (const void *const[]){&(key_row){99999}, NULL},
                         &e);
}

static myr_mpi_desc small_desc(const small *s, float ghost) {
  return (myr_mpi_desc){.position = s->pos,
                        .dims = 2,
                        .axis = {0, 1},
                        .max = {1, 1},
                        .cells = {8, 8},
                        .wrap = true,
                        .ghost_width = ghost,
                        .has_key = true,
                        .key = s->key};
}

static uint64_t small_content(const small *s) {
  myr_content c;
  myr_world_content(s->w, &(myr_content_desc){.has_key = true, .key = s->key}, &c);
  return myr_content_hash(c);
}

/* Every owned entity moved by dx (wrapped): they cross to other ranks. */
static void shift(small *s, myr_mpi *m, float dx) {
  (void)m;
  myr_query *q;
  myr_query_create(s->w, &(myr_query_desc){(myr_term[]){{s->pos, MYR_TERM_WRITE}}, 1}, &q);
  myr_query_iter it;
  myr_chunk ch;
  myr_query_iter_init(q, 0, &it);
  while (myr_query_next(&it, &ch)) {
    float *x = myr_chunk_column(&ch, 0, 0);
    for (uint32_t i = 0; i < ch.count; i++) x[i] = x[i] + dx >= 1.0f ? x[i] + dx - 1.0f : x[i] + dx;
  }
  myr_query_destroy(q);
}

/* The links of every owned entity name the entity keyed as in one world. */
static uint32_t wrong_links(const small *s, uint32_t n) {
  myr_query *q;
  myr_query_create(s->w, &(myr_query_desc){(myr_term[]){{s->key, MYR_TERM_READ}, {s->link, MYR_TERM_READ}}, 2}, &q);
  myr_query_iter it;
  myr_chunk ch;
  myr_query_iter_init(q, 0, &it);
  uint32_t wrong = 0;
  while (myr_query_next(&it, &ch)) {
    const uint64_t *k = myr_chunk_column(&ch, 0, 0);
    const myr_entity *to = myr_chunk_column(&ch, 1, 0);
    for (uint32_t i = 0; i < ch.count; i++) {
      uint64_t tk = 0;
      myr_field_get(s->w, to[i], s->key, 0, MYR_U64, &tk);
      wrong += tk != ((k[i] - 1) * 7 + 1) % n + 1;
    }
  }
  myr_query_destroy(q);
  return wrong;
}

/* Destroys, through a command buffer, the entities the terms match (the
 * key first) whose key is a multiple of 5. */
static void destroy_fifth(small *s, myr_term *terms, uint32_t n) {
  myr_query *q;
  myr_query_create(s->w, &(myr_query_desc){terms, n}, &q);
  myr_patches *p;
  myr_patches_create(s->w, &p);
  myr_query_iter it;
  myr_chunk ch;
  myr_query_iter_init(q, 0, &it);
  while (myr_query_next(&it, &ch)) {
    const uint64_t *k = myr_chunk_column(&ch, 0, 0);
    for (uint32_t i = 0; i < ch.count; i++)
      if (k[i] % 5 == 0) myr_patch_destroy(p, ch.ids[i]);
  }
  myr_patches_apply(p, NULL);
  myr_patches_destroy(p);
  myr_query_destroy(q);
}

static void sums_owners_links_and_ghosts(const char *dir) {
  small s, ref;
  small_make(&s, 600);
  if (rank == 0) small_make(&ref, 600);
  myr_mpi *m = NULL;
  /* ghosts as wide as the box: every entity is a ghost on every other rank */
  myr_mpi_desc d = small_desc(&s, 1.0f);
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_OK, "%s", myr_mpi_error(m));
  if (!m) return;
  CHECK(myr_mpi_sum(m, (uint64_t)rank + 1) == (uint64_t)ranks * (ranks + 1) / 2, "sum");
  /* each point owned by exactly one rank */
  for (int i = 0; i < 200; i++) {
    float p[2] = {(float)i / 200.0f, (float)((i * 37) % 200) / 200.0f};
    uint64_t owners = myr_mpi_sum(m, myr_mpi_owns(m, p));
    CHECK(owners == 1, "point %d has %" PRIu64 " owners", i, owners);
  }
  myr_mpi_stats st;
  myr_mpi_get_stats(m, &st);
  CHECK(st.ghosts == (ranks > 1 ? 600 - st.owned : 0), "ghosts %" PRIu64 ", owned %" PRIu64, st.ghosts, st.owned);
  /* ghosts are hidden from a query that does not name them */
  myr_component ghost;
  CHECK(myr_component_lookup(s.w, "myr.Ghost", &ghost) == MYR_OK && myr_component_hidden(s.w, ghost), "hidden");
  myr_query *plain, *both;
  myr_query_create(s.w, &(myr_query_desc){(myr_term[]){{s.pos, MYR_TERM_READ}}, 1}, &plain);
  myr_query_create(s.w, &(myr_query_desc){(myr_term[]){{s.pos, MYR_TERM_READ}, {ghost, MYR_TERM_OPTIONAL}}, 2}, &both);
  CHECK(myr_query_entity_count(plain) == st.owned, "a plain query sees %" PRIu64, myr_query_entity_count(plain));
  CHECK(myr_query_entity_count(both) == 600, "naming the ghosts sees %" PRIu64, myr_query_entity_count(both));
  CHECK(myr_world_entity_count(s.w) == 601, "every rank keeps the entity without a position");
  myr_query_destroy(plain);
  myr_query_destroy(both);

  /* entities cross the box: links and content as in one world */
  myr_schedule *sch;
  myr_schedule_create(s.w, NULL, &sch);
  for (int round = 0; round < 3; round++) {
    shift(&s, m, 0.37f);
    if (rank == 0) shift(&ref, NULL, 0.37f);
    CHECK(myr_mpi_frame(m, sch, 1.0 / 60) == MYR_OK, "%s", myr_mpi_error(m));
    uint64_t h;
    CHECK(myr_mpi_content(m, &h) == MYR_OK, "content");
    if (rank == 0) CHECK(h == small_content(&ref), "round %d: content differs from one world's", round);
    myr_mpi_get_stats(m, &st);
    uint64_t moved = myr_mpi_sum(m, st.migrated_in);
    CHECK(ranks == 1 || moved > 0, "round %d: nothing migrated", round);
    /* every owned link names a live entity (owned or ghost) with the key
     * of its target in one world */
    uint32_t wrong = wrong_links(&s, 600);
    CHECK(wrong == 0, "round %d: %u links name the wrong entity", round, wrong);
  }

  /* checkpointed, and restored into a world set up without entities: the
   * links hold (they travel as keys, through the restore's migration) */
  {
    char manifest[600];
    snprintf(manifest, sizeof manifest, "%s/links", dir);
    CHECK(myr_mpi_checkpoint(m, manifest, NULL) == MYR_OK, "%s", myr_mpi_error(m));
    small t;
    small_make(&t, 0);
    myr_mpi *tm = NULL;
    myr_mpi_desc td = small_desc(&t, 0.25f);
    td.start = MYR_MPI_SCATTERED;
    CHECK(myr_mpi_create(t.w, &td, &tm) == MYR_OK, "%s", myr_mpi_error(NULL));
    myr_status rs = myr_mpi_restore(tm, manifest);
    CHECK(rs == MYR_EBUSY, "a restore into a world with an entity: %s", myr_strerror(rs));
    myr_mpi_destroy(tm);
    myr_world_destroy(t.w);
    small_register(&t); /* as small_make, without entities */
    /* as wide ghosts as before: a link resolves where its target is held */
    td = small_desc(&t, 1.0f);
    td.start = MYR_MPI_SCATTERED;
    CHECK(myr_mpi_create(t.w, &td, &tm) == MYR_OK, "%s", myr_mpi_error(NULL));
    CHECK(myr_mpi_restore(tm, manifest) == MYR_OK, "%s", myr_mpi_error(tm));
    /* the entity without a position is the setup's, not the files' */
    myr_entity e;
    myr_entity_create_with(t.w, (myr_component[]){t.key, t.tag}, 2, (const void *const[]){&(key_row){99999}, NULL}, &e);
    uint64_t h;
    CHECK(myr_mpi_content(tm, &h) == MYR_OK, "content");
    if (rank == 0) CHECK(h == small_content(&ref), "restored: content differs from one world's");
    uint32_t wrong = wrong_links(&t, 600);
    CHECK(wrong == 0, "restored: %u links name the wrong entity", wrong);
    myr_mpi_destroy(tm);
    myr_world_destroy(t.w);
  }

  /* a ghost destroyed here is destroyed at its owner at the frame's end */
  if (ranks > 1) {
    destroy_fifth(&s, (myr_term[]){{s.key, MYR_TERM_READ}, {ghost, MYR_TERM_WITH}}, 2); /* ghosts here */
    CHECK(myr_mpi_frame(m, sch, 1.0 / 60) == MYR_OK, "%s", myr_mpi_error(m));
    myr_mpi_get_stats(m, &st);
    uint64_t all = myr_mpi_sum(m, st.owned);
    CHECK(all == 600 - 120, "after the ghosts' destroys %" PRIu64 " entities with a position", all);
    if (rank == 0) { /* the same in one world, links to the dead ones included */
      destroy_fifth(&ref, (myr_term[]){{ref.key, MYR_TERM_READ}}, 1);
    }
    uint64_t h;
    CHECK(myr_mpi_content(m, &h) == MYR_OK, "content");
    if (rank == 0) CHECK(h == small_content(&ref), "after the ghosts' destroys: content differs from one world's");
  }
  myr_schedule_destroy(sch);
  myr_mpi_destroy(m);
  myr_world_destroy(s.w);
  if (rank == 0) myr_world_destroy(ref.w);
}

/* ---- patches naming ghosts reach their owners ----------------------------- */

typedef struct {
  int64_t sum;
  int32_t low, high;
  myr_entity by;
} score_row;

typedef struct fwd_comps {
  myr_component key, link, tag, score;
} fwd_comps;

/* Each linked entity patches the one it links to (no entity is linked
 * from two: the links are a permutation), often a ghost on this rank. */
static void fwd_first(const myr_view *v, myr_patches *p) { /* stage 0, first: put the whole score, a link in it */
  const fwd_comps *c = v->user;
  const uint64_t *k = myr_chunk_column(&v->chunk, 0, 0);
  const myr_entity *to = myr_chunk_column(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (to[i] == MYR_ENTITY_NULL) continue;
    score_row r = {(int64_t)k[i], (int32_t)k[i], (int32_t)k[i], v->chunk.ids[i]};
    static const char none = 0; /* a tag's row: no bytes, but a row */
    if (myr_patch_put(p, to[i], c->score, &r) != MYR_OK ||
        (k[i] % 7 == 0 && myr_patch_put(p, to[i], c->tag, &none) != MYR_OK))
      myr_system_fail(v, MYR_EINVAL);
  }
}

static void fwd_second(const myr_view *v, myr_patches *p) { /* stage 0, second: after the put, in one process */
  const fwd_comps *c = v->user;
  const uint64_t *k = myr_chunk_column(&v->chunk, 0, 0);
  const myr_entity *to = myr_chunk_column(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (to[i] == MYR_ENTITY_NULL) continue;
    int64_t more = 1000;
    int32_t lo = (int32_t)k[i] - 5, hi = (int32_t)k[i] + 5;
    myr_status st = myr_patch_add_to(p, to[i], c->score, 0, MYR_I64, &more);
    if (st == MYR_OK) st = myr_patch_min(p, to[i], c->score, 1, MYR_I32, &lo);
    if (st == MYR_OK) st = myr_patch_max(p, to[i], c->score, 2, MYR_I32, &hi);
    if (st == MYR_OK && k[i] % 4 == 0) st = myr_patch_add(p, to[i], c->tag, NULL);
    if (st == MYR_OK && k[i] % 10 == 0) st = myr_patch_remove(p, to[i], c->link);
    if (st == MYR_OK && k[i] % 97 == 0) st = myr_patch_destroy(p, to[i]);
    if (st != MYR_OK) myr_system_fail(v, MYR_EINVAL);
  }
}

static int fwd_failing = -1; /* the rank whose stage 1 fails */

/* stage 1: needs stage 0's score in place, and sees stage 0's destroys */
static void fwd_later(const myr_view *v, myr_patches *p) {
  const fwd_comps *c = v->user;
  if (rank == fwd_failing) myr_system_fail(v, MYR_ENOMEM);
  const uint64_t *k = myr_chunk_column(&v->chunk, 0, 0);
  const myr_entity *to = myr_chunk_column(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (to[i] == MYR_ENTITY_NULL) continue;
    int32_t zero = 0;
    myr_status st = MYR_OK;
    if (!myr_entity_alive(v->world, to[i])) st = myr_patch_add(p, v->chunk.ids[i], c->tag, NULL);
    else if (k[i] % 5 == 0) st = myr_patch_set_field(p, to[i], c->score, 1, MYR_I32, &zero);
    if (st != MYR_OK) myr_system_fail(v, MYR_EINVAL);
  }
}

/* stage 0, third: an entity's own score, after the second's min from
 * another entity (often another rank's): injected patches must come before
 * this system's, at their own system's place */
static void fwd_own(const myr_view *v, myr_patches *p) {
  const fwd_comps *c = v->user;
  const uint64_t *k = myr_chunk_column(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    int32_t low = 3 * (int32_t)k[i];
    if (myr_patch_set_field(p, v->chunk.ids[i], c->score, 1, MYR_I32, &low) != MYR_OK) myr_system_fail(v, MYR_EINVAL);
  }
}

static myr_schedule *fwd_schedule(small *s, fwd_comps *c, myr_jobs *pool) {
  static const myr_field sf[] = {MYR_FIELD(score_row, sum, MYR_I64), MYR_FIELD(score_row, low, MYR_I32),
                                 MYR_FIELD(score_row, high, MYR_I32), MYR_FIELD(score_row, by, MYR_ENTITY)};
  myr_component_register(s->w, &(myr_component_desc){"Score", sf, 4, sizeof(score_row)}, &c->score);
  c->key = s->key, c->link = s->link, c->tag = s->tag;
  myr_schedule *sch;
  myr_schedule_create(s->w, &(myr_schedule_desc){.jobs = pool, .chunk_rows = 64}, &sch);
  myr_term terms[] = {{s->key, MYR_TERM_READ}, {s->link, MYR_TERM_READ}};
  myr_system_fn fns[] = {fwd_first, fwd_second, fwd_own, fwd_later};
  const char *names[] = {"first", "second", "own", "later"};
  for (uint32_t i = 0; i < 4; i++)
    myr_schedule_add(
        sch,
        &(myr_system_desc){
            .name = names[i], .terms = terms, .term_count = i == 2 ? 1 : 2, .fn = fns[i], .user = c, .stage = i / 3},
        NULL);
  return sch;
}

static void patches_on_ghosts_reach_their_owners(uint32_t threads) {
  myr_jobs *pool;
  myr_jobs_create(&(myr_jobs_desc){.workers = threads}, &pool);
  small s, ref;
  fwd_comps c, rc;
  small_make(&s, 600);
  myr_schedule *sch = fwd_schedule(&s, &c, pool), *rsch = NULL;
  if (rank == 0) {
    small_make(&ref, 600);
    rsch = fwd_schedule(&ref, &rc, NULL);
  }
  myr_mpi *m = NULL;
  /* ghosts as wide as the box: every link's target is held on every rank */
  myr_mpi_desc d = small_desc(&s, 1.0f);
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_OK, "%s", myr_mpi_error(m));
  uint64_t forwarded = 0;
  for (int f = 0; f < 4 && m; f++) {
    shift(&s, m, 0.29f);
    CHECK(myr_mpi_frame(m, sch, 1.0 / 60) == MYR_OK, "frame %d: %s", f, myr_mpi_error(m));
    myr_mpi_stats st;
    myr_mpi_get_stats(m, &st);
    forwarded += myr_mpi_sum(m, st.patches_sent);
    uint64_t h, all = myr_mpi_sum(m, st.owned);
    CHECK(myr_mpi_content(m, &h) == MYR_OK, "content");
    if (rank == 0) {
      shift(&ref, NULL, 0.29f);
      CHECK(myr_schedule_run(rsch, 1.0 / 60) == MYR_OK, "%s", myr_schedule_error(rsch));
      CHECK(h == small_content(&ref), "%d ranks x %u threads, frame %d: content differs from one world's", ranks,
            threads, f);
      CHECK(all + 1 == myr_world_entity_count(ref.w), "frame %d: %" PRIu64 " owned, one world %u", f, all,
            myr_world_entity_count(ref.w));
    }
  }
  CHECK(ranks == 1 || forwarded > 1000, "only %" PRIu64 " patches forwarded", forwarded);
  /* a stage that fails on one rank fails on every rank, there */
  fwd_failing = ranks - 1;
  myr_status st = m ? myr_mpi_frame(m, sch, 1.0 / 60) : MYR_EINVAL;
  CHECK(st == MYR_ENOMEM && strstr(myr_mpi_error(m), "stage 1"), "one rank's failing stage: %s: %s", myr_strerror(st),
        myr_mpi_error(m));
  fwd_failing = -1;
  if (m) CHECK(myr_mpi_frame(m, sch, 1.0 / 60) == MYR_OK, "the frame after: %s", myr_mpi_error(m));
  CHECK(myr_mpi_sum(m, 1) == (uint64_t)ranks, "the ranks are out of step after a failed stage");
  myr_mpi_destroy(m);
  myr_schedule_destroy(sch);
  myr_world_destroy(s.w);
  if (rank == 0) {
    myr_schedule_destroy(rsch);
    myr_world_destroy(ref.w);
  }
  myr_jobs_destroy(pool);
}

/* ---- failures on one rank stop every rank at the same stage -------------- */

static int failing_rank = -1;
static void fail_here(const myr_view *v, myr_patches *p) { /* stage 0 */
  (void)p;
  if (rank == failing_rank && v->chunk.count) myr_system_fail(v, MYR_EIO);
}
static int lose_on = -1;
static void lose_patches(const myr_view *v, myr_patches *p) { /* stage 1: recording runs out of memory */
  const small *s = v->user;
  if (rank != lose_on) return;
  alloc_fails = true;
  for (uint32_t i = 0; i < v->chunk.count; i++) myr_patch_add(p, v->chunk.ids[i], s->tag, NULL);
  alloc_fails = false;
}

static void failures_stop_every_rank_at_one_stage(void) {
  small s;
  small_make(&s, 600);
  myr_mpi *m = NULL;
  myr_mpi_desc d = small_desc(&s, 0.2f);
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_OK, "%s", myr_mpi_error(m));
  if (!m) return;
  myr_schedule *sch;
  myr_schedule_create(s.w, NULL, &sch);
  myr_term terms[] = {{s.key, MYR_TERM_READ}};
  myr_schedule_add(sch, &(myr_system_desc){.name = "fail", .terms = terms, .term_count = 1, .fn = fail_here}, NULL);
  myr_schedule_add(
      sch,
      &(myr_system_desc){.name = "lose", .terms = terms, .term_count = 1, .fn = lose_patches, .user = &s, .stage = 1},
      NULL);
  myr_schedule_add(
      sch, &(myr_system_desc){.name = "last", .terms = terms, .term_count = 1, .fn = fail_here, .stage = 2}, NULL);
  CHECK(myr_schedule_build(sch) == MYR_OK, "build");
  /* memory runs out cutting the first frame's chunks on the last rank */
  if (rank == ranks - 1) alloc_fails = true;
  myr_status st = myr_mpi_frame(m, sch, 1.0 / 60);
  alloc_fails = false;
  CHECK(st == MYR_ENOMEM, "no memory on rank %d: %s", ranks - 1, myr_strerror(st));
  CHECK(myr_mpi_sum(m, 1) == (uint64_t)ranks, "out of step after running out of memory");
  /* a system of stage 0 fails on the last rank */
  failing_rank = ranks - 1;
  st = myr_mpi_frame(m, sch, 1.0 / 60);
  CHECK(st == MYR_EIO, "a failing system on rank %d: %s", ranks - 1, myr_strerror(st));
  failing_rank = -1;
  CHECK(myr_mpi_frame(m, sch, 1.0 / 60) == MYR_OK, "the next frame: %s", myr_mpi_error(m));
  CHECK(myr_mpi_sum(m, 1) == (uint64_t)ranks, "out of step after a failing system");
  /* a patch lost in stage 1 on the last rank (its first: its buffer grows) */
  lose_on = ranks - 1;
  st = myr_mpi_frame(m, sch, 1.0 / 60);
  lose_on = -1;
  CHECK(st == MYR_ENOMEM, "a lost patch on rank %d: %s", ranks - 1, myr_strerror(st));
  CHECK(myr_mpi_sum(m, 1) == (uint64_t)ranks, "out of step after a lost patch");
  CHECK(myr_mpi_frame(m, sch, 1.0 / 60) == MYR_OK, "the frame after: %s", myr_mpi_error(m));
  myr_schedule_destroy(sch);
  myr_mpi_destroy(m);
  myr_world_destroy(s.w);
}

/* ---- bad descriptions and checkpoints ------------------------------------- */

static void bad_input_is_refused_everywhere(const char *dir) {
  small s;
  small_make(&s, 50);
  myr_mpi *m = NULL;
  myr_mpi_desc d = small_desc(&s, 0);
  d.dims = 4;
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_EINVAL && !m, "dims 4");
  d = small_desc(&s, 0), d.cells[0] = 12;
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_EINVAL && !m, "12 cells");
  d = small_desc(&s, 0), d.max[1] = d.min[1];
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_EINVAL && !m, "an empty box");
  d = small_desc(&s, 0.1f), d.has_key = false;
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_EINVAL && !m, "ghosts without a key");
  d = small_desc(&s, 0), d.key = s.pos;
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_ETYPE && !m, "a key not u64");
  d = small_desc(&s, 0), d.position = s.key;
  CHECK(myr_mpi_create(s.w, &d, &m) != MYR_OK && !m, "a position not f32");
  d = small_desc(&s, 0), d.position = 99;
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_ENOCOMP && !m, "an unknown position");
  /* a description bad on one rank only: every rank refuses */
  d = small_desc(&s, 0);
  if (rank == ranks - 1) d.dims = 7;
  myr_status st = myr_mpi_create(s.w, &d, &m);
  CHECK(st != MYR_OK && !m, "one rank's bad description: %s", myr_strerror(st));
  myr_component ghost;
  CHECK(myr_component_lookup(s.w, "myr.Ghost", &ghost) != MYR_OK, "a refused description changed the world");
  CHECK(myr_world_entity_count(s.w) == 51, "a refused description changed the world");

  /* ghosts of an entity with more components with fields than a query
   * takes: refused with a reason, on every rank */
  {
    small w;
    small_register(&w);
    myr_component comps[40] = {w.pos, w.key};
    static const myr_field one[] = {MYR_FIELD(key_row, key, MYR_U64)};
    for (uint32_t i = 2; i < 34; i++) {
      char name[16];
      snprintf(name, sizeof name, "C%u", i);
      myr_component_register(w.w, &(myr_component_desc){name, one, 1, sizeof(key_row)}, &comps[i]);
    }
    myr_entity e;
    CHECK(myr_entity_create_with(w.w, comps, 34, NULL, &e) == MYR_OK, "34 components");
    myr_field_set(w.w, e, w.key, 0, MYR_U64, &(uint64_t){7});
    myr_mpi *wm = NULL;
    d = small_desc(&w, 0.2f);
    st = myr_mpi_create(w.w, &d, &wm);
    CHECK(st == MYR_ELIMIT && !wm && strstr(myr_mpi_error(NULL), "at most"), "34 components with fields: %s: %s",
          myr_strerror(st), myr_mpi_error(NULL));
    myr_world_destroy(w.w);
  }

  /* checkpoints */
  char manifest[512], path[1100], why[512];
  snprintf(manifest, sizeof manifest, "%s/ck", dir);
  d = small_desc(&s, 0.2f);
  CHECK(myr_mpi_create(s.w, &d, &m) == MYR_OK, "%s", myr_mpi_error(m));
  myr_schedule *sch;
  myr_schedule_create(s.w, NULL, &sch);
  myr_mpi_frame(m, sch, 1.0 / 60);
  CHECK(myr_mpi_checkpoint(m, manifest, "test meta") == MYR_OK, "%s", myr_mpi_error(m));
  myr_mpi_manifest mf;
  CHECK(myr_mpi_manifest_read(manifest, &mf, why, sizeof why) == MYR_OK, "%s", why);
  CHECK(mf.ranks == (uint32_t)ranks && mf.frame == 1 && !strcmp(mf.meta, "test meta"), "manifest %u %" PRIu64 " %s",
        mf.ranks, mf.frame, mf.meta);
  CHECK(myr_mpi_restore(m, manifest) == MYR_EBUSY, "a restore into a world with entities");
  CHECK(myr_mpi_error(m)[0], "no reason given");
  CHECK(myr_mpi_manifest_read("/nonexistent/ck", &mf, why, sizeof why) == MYR_EIO && why[0], "a missing manifest");
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) { /* a damaged copy, and one missing its last rank file */
    snprintf(path, sizeof path, "%s/damaged", dir);
    FILE *f = fopen(path, "w");
    fputs("myriad-mpi-checkpoint 1\nranks 2\nframe x\n", f);
    fclose(f);
    CHECK(myr_mpi_manifest_read(path, &mf, why, sizeof why) == MYR_ECORRUPT && strstr(why, "frame"), "%s", why);
    /* the last rank's file, as the manifest names it */
    char line[512], name[512] = "";
    FILE *mfile = fopen(manifest, "r");
    while (mfile && fgets(line, sizeof line, mfile))
      if (!strncmp(line, "file ", 5)) {
        snprintf(name, sizeof name, "%s", line + 5);
        *strrchr(name, ' ') = 0;
      }
    if (mfile) fclose(mfile);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char moved[1200];
    snprintf(moved, sizeof moved, "%s.away", path);
    rename(path, moved);
    CHECK(myr_mpi_manifest_read(manifest, &mf, why, sizeof why) == MYR_ECORRUPT && strstr(why, "missing"), "%s", why);
    rename(moved, path);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  myr_schedule_destroy(sch);
  myr_mpi_destroy(m);
  myr_world_destroy(s.w);
}

int main(int argc, char **argv) {
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  uint32_t threads = argc > 1 ? (uint32_t)atoi(argv[1]) : 1;
  const char *dir = argc > 2 ? argv[2] : "/tmp";
  scenario_every_frame("particles", 3000, threads, 30, 7);
  scenario_every_frame("boids", 1500, threads, 30, 5);
  sums_owners_links_and_ghosts(dir);
  patches_on_ghosts_reach_their_owners(threads);
  failures_stop_every_rank_at_one_stage();
  bad_input_is_refused_everywhere(dir);
  int all = 0;
  MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0)
    printf("test_mpi: %d ranks x %u threads: %s (%d failures)\n", ranks, threads, all ? "FAIL" : "ok", all);
  MPI_Finalize();
  return all ? 1 : 0;
}
