/* 1,000,000 random create/destroy/add/remove/set operations, each checked
 * against a reference model kept in plain arrays. */
#include "helpers.h"

enum { C_POS = 1, C_HEALTH = 2, C_LABEL = 4, C_TAG = 8, ALL = 15 };

typedef struct model_entity {
  myr_entity id;
  int alive;
  unsigned mask;
  t_position p;
  t_health h;
  t_label l;
} model_entity;

typedef struct model {
  fixture f;
  model_entity *e;
  size_t n, cap;
  uint32_t live;
  uint64_t rng;
} model;

static myr_component comp_of(const model *m, unsigned bit) {
  return bit == C_POS ? m->f.pos : bit == C_HEALTH ? m->f.health : bit == C_LABEL ? m->f.label : m->f.tag;
}

static void random_values(model *m, model_entity *x) {
  uint64_t r = rng_next(&m->rng);
  x->p = (t_position){(float)(r & 0xff), (float)((r >> 8) & 0xff) * 0.5f, -(float)((r >> 16) & 0xff)};
  x->h = (t_health){(int32_t)(r >> 24) - 1000, (uint8_t)(r >> 40), (double)(r >> 48) * 0.25};
  memset(&x->l, 0, sizeof x->l);
  for (int i = 0; i < 5; i++) x->l.text[i] = (char)('a' + (r >> (i * 5)) % 26);
  x->l.serial = r;
}

static const void *value_of(const model_entity *x, unsigned bit) {
  return bit == C_POS      ? (const void *)&x->p
         : bit == C_HEALTH ? (const void *)&x->h
         : bit == C_LABEL  ? (const void *)&x->l
                           : NULL;
}

static model_entity *push(model *m) {
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 1024;
    m->e = realloc(m->e, m->cap * sizeof *m->e);
    assert_non_null(m->e);
  }
  model_entity *x = &m->e[m->n++];
  memset(x, 0, sizeof *x);
  return x;
}

static void check_entity(model *m, const model_entity *x) {
  if (!x->alive) {
    assert_int_equal(myr_entity_check(m->f.w, x->id), MYR_ESTALE);
    return;
  }
  assert_true(myr_entity_alive(m->f.w, x->id));
  for (unsigned bit = 1; bit <= C_TAG; bit <<= 1)
    assert_int_equal(myr_component_has(m->f.w, x->id, comp_of(m, bit)), (x->mask & bit) != 0);
  t_position p;
  t_health h;
  t_label l;
  memset(&h, 0, sizeof h);
  memset(&l, 0, sizeof l);
  if (x->mask & C_POS) {
    assert_int_equal(myr_component_get(m->f.w, x->id, m->f.pos, &p), MYR_OK);
    assert_memory_equal(&p, &x->p, sizeof p);
  }
  if (x->mask & C_HEALTH) {
    assert_int_equal(myr_component_get(m->f.w, x->id, m->f.health, &h), MYR_OK);
    assert_true(h.hp == x->h.hp && h.armor == x->h.armor && h.regen == x->h.regen);
  }
  if (x->mask & C_LABEL) {
    assert_int_equal(myr_component_get(m->f.w, x->id, m->f.label, &l), MYR_OK);
    assert_memory_equal(l.text, x->l.text, 5);
    assert_int_equal(l.serial, x->l.serial);
  }
}

static void check_all(model *m) {
  assert_int_equal(myr_world_entity_count(m->f.w), m->live);
  for (size_t i = 0; i < m->n; i++) check_entity(m, &m->e[i]);
  /* a query over each component sees exactly the model's population */
  for (unsigned bit = 1; bit <= C_TAG; bit <<= 1) {
    uint64_t expect = 0;
    for (size_t i = 0; i < m->n; i++) expect += m->e[i].alive && (m->e[i].mask & bit);
    myr_query *q;
    myr_term t = {comp_of(m, bit), MYR_TERM_READ};
    assert_int_equal(myr_query_create(m->f.w, &(myr_query_desc){&t, 1}, &q), MYR_OK);
    myr_query_iter it;
    myr_chunk c;
    uint64_t seen = 0;
    assert_int_equal(myr_query_iter_init(q, 256, &it), MYR_OK);
    while (myr_query_next(&it, &c)) seen += c.count;
    assert_int_equal(seen, expect);
    myr_query_destroy(q);
  }
}

static void one_op(model *m) {
  uint64_t r = rng_next(&m->rng);
  unsigned op = (unsigned)(r % 100);
  unsigned bit = 1u << ((r >> 8) % 4);
  model_entity *x = m->n ? &m->e[(r >> 16) % m->n] : NULL;
  myr_world *w = m->f.w;
  /* keep the population bounded: create less often when it is large */
  if (!x || op < (m->live < 20000 ? 15u : 5u)) {
    model_entity *y = push(m);
    assert_int_equal(myr_entity_create(w, &y->id), MYR_OK);
    y->alive = 1;
    m->live++;
  } else if (op < 17) {
    unsigned mask = (unsigned)(r >> 24) & ALL, count = 1 + (unsigned)((r >> 28) % 8);
    myr_component set[4];
    const void *values[4];
    uint32_t k = 0;
    model_entity proto = {0};
    random_values(m, &proto);
    for (unsigned b = 1; b <= C_TAG; b <<= 1)
      if (mask & b) {
        set[k] = comp_of(m, b);
        values[k++] = value_of(&proto, b);
      }
    myr_entity ids[8];
    assert_int_equal(myr_entity_create_bulk(w, &(myr_bulk_desc){.components = set,
                                                                .component_count = k,
                                                                .values = values,
                                                                .count = count,
                                                                .ids_out = ids}),
                     MYR_OK);
    for (unsigned i = 0; i < count; i++) {
      model_entity *y = push(m);
      *y = proto;
      y->id = ids[i];
      y->alive = 1;
      y->mask = mask;
    }
    m->live += count;
  } else if (op < 29) {
    myr_status s = myr_entity_destroy(w, x->id);
    assert_int_equal(s, x->alive ? MYR_OK : MYR_ESTALE);
    if (x->alive) m->live--;
    x->alive = 0;
  } else if (op < 49) {
    model_entity v;
    random_values(m, &v);
    myr_status s = myr_component_add(w, x->id, comp_of(m, bit), value_of(&v, bit));
    if (!x->alive) assert_int_equal(s, MYR_ESTALE);
    else if (x->mask & bit) assert_int_equal(s, MYR_EEXIST);
    else {
      assert_int_equal(s, MYR_OK);
      x->mask |= bit;
      if (bit == C_POS) x->p = v.p;
      if (bit == C_HEALTH) x->h = v.h;
      if (bit == C_LABEL) x->l = v.l;
    }
  } else if (op < 64) {
    myr_status s = myr_component_remove(w, x->id, comp_of(m, bit));
    if (!x->alive) assert_int_equal(s, MYR_ESTALE);
    else if (!(x->mask & bit)) assert_int_equal(s, MYR_EABSENT);
    else {
      assert_int_equal(s, MYR_OK);
      x->mask &= ~bit;
    }
  } else if (op < 79) {
    if (bit == C_TAG) bit = C_LABEL;
    model_entity v;
    random_values(m, &v);
    myr_status s = myr_component_set(w, x->id, comp_of(m, bit), value_of(&v, bit));
    if (!x->alive) assert_int_equal(s, MYR_ESTALE);
    else if (!(x->mask & bit)) assert_int_equal(s, MYR_EABSENT);
    else {
      assert_int_equal(s, MYR_OK);
      if (bit == C_POS) x->p = v.p;
      if (bit == C_HEALTH) x->h = v.h;
      if (bit == C_LABEL) x->l = v.l;
    }
  } else if (op < 89) {
    float y = (float)(r >> 40);
    myr_status s = myr_field_set(w, x->id, m->f.pos, 1, MYR_F32, &y);
    if (!x->alive) assert_int_equal(s, MYR_ESTALE);
    else if (!(x->mask & C_POS)) assert_int_equal(s, MYR_EABSENT);
    else {
      assert_int_equal(s, MYR_OK);
      x->p.y = y;
    }
  } else {
    check_entity(m, x);
  }
}

static void random_operations_match_the_reference_model(void **state) {
  (void)state;
  model m = {0};
  m.rng = test_seed(20261124);
  assert_int_equal(myr_world_create(checked_world(), &m.f.w), MYR_OK);
  fixture_register(&m.f);
  const long ops = 1000000;
  for (long i = 1; i <= ops; i++) {
    one_op(&m);
    if (i % 100000 == 0) check_all(&m);
  }
  check_all(&m);
  fprintf(stderr, "%ld ops, %zu entities ever, %u live, %u tables\n", ops, m.n, m.live, myr_world_table_count(m.f.w));
  /* replaying the same seed gives the same world, bit for bit */
  uint64_t h = world_hash(m.f.w);
  myr_world_destroy(m.f.w);
  free(m.e);
  model m2 = {0};
  m2.rng = test_seed(20261124);
  assert_int_equal(myr_world_create(checked_world(), &m2.f.w), MYR_OK);
  fixture_register(&m2.f);
  for (long i = 1; i <= ops; i++) one_op(&m2);
  assert_int_equal(world_hash(m2.f.w), h);
  myr_world_destroy(m2.f.w);
  free(m2.e);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(random_operations_match_the_reference_model)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
