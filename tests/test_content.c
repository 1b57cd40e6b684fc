/* The content hash (world.h): the same entities give the same hash
 * whatever their ids, rows, tables' order and the worlds they are split
 * between; any value, component or link target changes it. */
#include "helpers.h"

typedef struct {
  uint64_t key;
} t_key;
typedef struct {
  myr_entity target;
} t_link;

typedef struct cworld {
  myr_world *w;
  myr_component pos, key, link, ghost;
} cworld;

static void cw_make(cworld *c) {
  assert_int_equal(myr_world_create(NULL, &c->w), MYR_OK);
  static const myr_field v3[] = {MYR_FIELD(t_position, x, MYR_F32), MYR_FIELD(t_position, y, MYR_F32),
                                 MYR_FIELD(t_position, z, MYR_F32)};
  static const myr_field k[] = {MYR_FIELD(t_key, key, MYR_U64)};
  static const myr_field l[] = {MYR_FIELD(t_link, target, MYR_ENTITY)};
  assert_int_equal(myr_component_register(c->w, &(myr_component_desc){"Position", v3, 3, sizeof(t_position)}, &c->pos),
                   MYR_OK);
  assert_int_equal(myr_component_register(c->w, &(myr_component_desc){"Key", k, 1, sizeof(t_key)}, &c->key), MYR_OK);
  assert_int_equal(myr_component_register(c->w, &(myr_component_desc){"Link", l, 1, sizeof(t_link)}, &c->link), MYR_OK);
  assert_int_equal(myr_component_register(c->w, &(myr_component_desc){"Ghost", NULL, 0, 0}, &c->ghost), MYR_OK);
}

/* Entity i: key i + 1, position (i, 2i, 3i), and a link to entity
 * (i * 7) % n when i is odd. */
static t_position pos_of(uint32_t i) { return (t_position){(float)i, 2.0f * (float)i, 3.0f * (float)i}; }

/* Makes entities `order[0..m)` of n in that order (after `junk` entities
 * made and destroyed first, so the ids differ), links resolved by key. */
static void cw_fill(cworld *c, uint32_t n, const uint32_t *order, uint32_t m, uint32_t junk) {
  myr_entity j[64];
  for (uint32_t i = 0; i < junk; i++) assert_int_equal(myr_entity_create(c->w, &j[i]), MYR_OK);
  for (uint32_t i = 0; i < junk; i++) assert_int_equal(myr_entity_destroy(c->w, j[i]), MYR_OK);
  myr_entity *ids = calloc(n, sizeof *ids);
  for (uint32_t a = 0; a < m; a++) {
    uint32_t i = order[a];
    t_position p = pos_of(i);
    t_key k = {i + 1};
    assert_int_equal(
        myr_entity_create_with(c->w, (myr_component[]){c->pos, c->key}, 2, (const void *const[]){&p, &k}, &ids[i]),
        MYR_OK);
  }
  for (uint32_t a = 0; a < m; a++) {
    uint32_t i = order[a];
    if (i % 2 == 0) continue;
    uint32_t to = (i * 7) % n;
    /* the target may live in another world: then its key is carried by a
     * copy here, a ghost */
    if (!ids[to]) {
      t_position p = pos_of(to);
      t_key k = {to + 1};
      assert_int_equal(myr_entity_create_with(c->w, (myr_component[]){c->pos, c->key, c->ghost}, 3,
                                              (const void *const[]){&p, &k, NULL}, &ids[to]),
                       MYR_OK);
    }
    assert_int_equal(myr_component_add(c->w, ids[i], c->link, &(t_link){ids[to]}), MYR_OK);
  }
  free(ids);
}

static myr_content cw_content(const cworld *c) {
  myr_content out;
  assert_int_equal(
      myr_world_content(c->w, &(myr_content_desc){.has_key = true, .key = c->key, .skip = &c->ghost, .skip_count = 1},
                        &out),
      MYR_OK);
  return out;
}

enum { N = 200 };

static void same_entities_same_hash_whatever_ids_rows_and_split(void **state) {
  (void)state;
  uint32_t fwd[N], rev[N], evens[N], odds[N], ne = 0, no = 0;
  for (uint32_t i = 0; i < N; i++) {
    fwd[i] = i, rev[i] = N - 1 - i;
    if (i % 3) evens[ne++] = i;
    else odds[no++] = i;
  }
  cworld a, b, p, q;
  cw_make(&a), cw_make(&b), cw_make(&p), cw_make(&q);
  cw_fill(&a, N, fwd, N, 0);
  cw_fill(&b, N, rev, N, 37); /* other ids, other rows */
  cw_fill(&p, N, evens, ne, 5);
  cw_fill(&q, N, odds, no, 0);
  uint64_t ha, hb;
  assert_int_equal(myr_world_hash(a.w, &ha), MYR_OK);
  assert_int_equal(myr_world_hash(b.w, &hb), MYR_OK);
  assert_int_not_equal(ha, hb); /* the world hash sees the ids */
  myr_content ca = cw_content(&a), cb = cw_content(&b), cp = cw_content(&p), cq = cw_content(&q);
  assert_int_equal(ca.count, N);
  assert_int_equal(myr_content_hash(ca), myr_content_hash(cb));
  assert_int_equal(cp.count + cq.count, N); /* the ghosts left out */
  myr_content whole = {cp.sum + cq.sum, cp.count + cq.count};
  assert_int_equal(myr_content_hash(whole), myr_content_hash(ca));
  assert_int_not_equal(myr_content_hash(cp), myr_content_hash(ca));

  /* one value changed */
  myr_entity e = MYR_ENTITY_NULL;
  myr_query *all;
  assert_int_equal(myr_query_create(b.w, &(myr_query_desc){(myr_term[]){{b.link, MYR_TERM_WITH}}, 1}, &all), MYR_OK);
  myr_query_iter it;
  myr_chunk ch;
  myr_query_iter_init(all, 0, &it);
  assert_true(myr_query_next(&it, &ch));
  e = ch.ids[0];
  myr_query_destroy(all);
  t_position was;
  assert_int_equal(myr_component_get(b.w, e, b.pos, &was), MYR_OK);
  t_position moved = was;
  moved.z = nextafterf(moved.z, 1e9f);
  assert_int_equal(myr_component_set(b.w, e, b.pos, &moved), MYR_OK);
  assert_int_not_equal(myr_content_hash(cw_content(&b)), myr_content_hash(ca));
  assert_int_equal(myr_component_set(b.w, e, b.pos, &was), MYR_OK);
  assert_int_equal(myr_content_hash(cw_content(&b)), myr_content_hash(ca));

  /* a link to another entity: its key is what is hashed */
  t_link l;
  assert_int_equal(myr_component_get(b.w, e, b.link, &l), MYR_OK);
  assert_int_equal(myr_component_set(b.w, e, b.link, &(t_link){e}), MYR_OK);
  assert_int_not_equal(myr_content_hash(cw_content(&b)), myr_content_hash(ca));
  /* a dead target hashes as no link */
  assert_int_equal(myr_component_set(b.w, e, b.link, &(t_link){MYR_ENTITY_NULL}), MYR_OK);
  uint64_t null_hash = myr_content_hash(cw_content(&b));
  myr_entity dead;
  assert_int_equal(myr_entity_create(b.w, &dead), MYR_OK);
  assert_int_equal(myr_entity_destroy(b.w, dead), MYR_OK);
  assert_int_equal(myr_component_set(b.w, e, b.link, &(t_link){dead}), MYR_OK);
  assert_int_equal(myr_content_hash(cw_content(&b)), null_hash);
  assert_int_equal(myr_component_set(b.w, e, b.link, &l), MYR_OK);
  assert_int_equal(myr_content_hash(cw_content(&b)), myr_content_hash(ca));

  /* a component added (a tag) changes it */
  assert_int_equal(myr_component_add(b.w, e, b.ghost, NULL), MYR_OK);
  myr_content nog;
  assert_int_equal(myr_world_content(b.w, &(myr_content_desc){.has_key = true, .key = b.key}, &nog), MYR_OK);
  assert_int_equal(nog.count, N); /* no skip: the ghost-tagged one too */
  assert_int_equal(cw_content(&b).count, N - 1);
  assert_int_not_equal(myr_content_hash(nog), myr_content_hash(ca));
  for (cworld *c = &a; c; c = c == &a ? &b : c == &b ? &p : c == &p ? &q : NULL) myr_world_destroy(c->w);
}

static void bad_arguments_are_refused(void **state) {
  (void)state;
  cworld c;
  cw_make(&c);
  myr_content out = {7, 7};
  assert_int_equal(myr_world_content(NULL, NULL, &out), MYR_EINVAL);
  assert_int_equal(myr_world_content(c.w, NULL, NULL), MYR_EINVAL);
  assert_int_equal(myr_world_content(c.w, &(myr_content_desc){.has_key = true, .key = 99}, &out), MYR_ENOCOMP);
  assert_int_equal(myr_world_content(c.w, &(myr_content_desc){.has_key = true, .key = c.pos}, &out), MYR_ETYPE);
  assert_int_equal(myr_world_content(c.w, &(myr_content_desc){.has_key = true, .key = c.ghost}, &out), MYR_ETYPE);
  assert_int_equal(myr_world_content(c.w, &(myr_content_desc){.skip = (myr_component[]){77}, .skip_count = 1}, &out),
                   MYR_ENOCOMP);
  assert_int_equal(myr_world_content(c.w, &(myr_content_desc){.skip_count = 1}, &out), MYR_EINVAL);
  assert_int_equal(out.sum, 7);
  assert_int_equal(myr_world_content(c.w, NULL, &out), MYR_OK);
  assert_int_equal(out.count, 0);
  assert_int_equal(out.sum, 0);
  myr_world_destroy(c.w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(same_entities_same_hash_whatever_ids_rows_and_split),
      cmocka_unit_test(bad_arguments_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
