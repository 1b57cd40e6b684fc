/* Queries: matching, caching, chunking and typed columns. */
#include "helpers.h"

static myr_query *make_query(myr_world *w, const myr_term *terms, uint32_t n) {
  myr_query *q = NULL;
  assert_int_equal(myr_query_create(w, &(myr_query_desc){terms, n}, &q), MYR_OK);
  return q;
}

static uint64_t count_rows(myr_query *q, uint32_t chunk) {
  myr_query_iter it;
  myr_chunk c;
  uint64_t n = 0;
  assert_int_equal(myr_query_iter_init(q, chunk, &it), MYR_OK);
  while (myr_query_next(&it, &c)) n += c.count;
  return n;
}

static void query_matches_required_and_skips_without(void **state) {
  fixture *f = *state;
  const myr_component pv[] = {f->pos, f->vel}, p[] = {f->pos}, pvt[] = {f->pos, f->vel, f->tag};
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = pv, .component_count = 2, .values = NULL, .count = 10, .ids_out = NULL}),
      MYR_OK);
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = p, .component_count = 1, .values = NULL, .count = 20, .ids_out = NULL}),
      MYR_OK);
  assert_int_equal(
      myr_entity_create_bulk(
          f->w,
          &(myr_bulk_desc){.components = pvt, .component_count = 3, .values = NULL, .count = 30, .ids_out = NULL}),
      MYR_OK);
  myr_query *q1 = make_query(f->w, (myr_term[]){{f->pos, MYR_TERM_WRITE}, {f->vel, MYR_TERM_READ}}, 2);
  myr_query *q2 = make_query(f->w, (myr_term[]){{f->pos, MYR_TERM_READ}, {f->tag, MYR_TERM_WITHOUT}}, 2);
  myr_query *q3 = make_query(f->w, (myr_term[]){{f->pos, MYR_TERM_READ}}, 1);
  assert_int_equal(count_rows(q1, 0), 40);
  assert_int_equal(count_rows(q2, 0), 30);
  assert_int_equal(count_rows(q3, 0), 60);
  assert_int_equal(myr_query_table_count(q1), 2);
  assert_int_equal(myr_query_entity_count(q3), 60);
  myr_query_destroy(q1);
  myr_query_destroy(q2);
  /* q3 is left for the world to destroy: that must not leak */
}

static void query_picks_up_tables_created_after_it(void **state) {
  fixture *f = *state;
  myr_query *q = make_query(f->w, (myr_term[]){{f->vel, MYR_TERM_READ}}, 1);
  assert_int_equal(count_rows(q, 64), 0);
  myr_entity e;
  assert_int_equal(myr_entity_create(f->w, &e), MYR_OK);
  assert_int_equal(myr_component_add(f->w, e, f->vel, NULL), MYR_OK);
  assert_int_equal(count_rows(q, 64), 1);
  const myr_component set[] = {f->vel, f->health};
  assert_int_equal(
      myr_entity_create_bulk(
          f->w,
          &(myr_bulk_desc){.components = set, .component_count = 2, .values = NULL, .count = 100, .ids_out = NULL}),
      MYR_OK);
  assert_int_equal(count_rows(q, 64), 101);
  assert_int_equal(myr_query_table_count(q), 2);
  /* a table that does not match does not join */
  assert_int_equal(myr_entity_create_bulk(f->w, &(myr_bulk_desc){.components = (myr_component[]){f->pos},
                                                                 .component_count = 1,
                                                                 .values = NULL,
                                                                 .count = 5,
                                                                 .ids_out = NULL}),
                   MYR_OK);
  assert_int_equal(count_rows(q, 64), 101);
  assert_int_equal(myr_query_table_count(q), 2);
  myr_query_destroy(q);
}

static void chunks_start_on_multiples_of_16_and_cover_each_row_once(void **state) {
  fixture *f = *state;
  const myr_component set[] = {f->pos}, set2[] = {f->pos, f->tag};
  myr_entity ids[1000], ids2[37];
  assert_int_equal(
      myr_entity_create_bulk(
          f->w,
          &(myr_bulk_desc){.components = set, .component_count = 1, .values = NULL, .count = 1000, .ids_out = ids}),
      MYR_OK);
  assert_int_equal(
      myr_entity_create_bulk(
          f->w,
          &(myr_bulk_desc){.components = set2, .component_count = 2, .values = NULL, .count = 37, .ids_out = ids2}),
      MYR_OK);
  myr_query *q = make_query(f->w, (myr_term[]){{f->pos, MYR_TERM_WRITE}}, 1);
  const uint32_t sizes[] = {1, 16, 17, 100, 4096, 0};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    /* write the row's own index into x: every entity must get exactly one */
    myr_query_iter it;
    myr_chunk c;
    uint32_t expect_index = 0, limit = sizes[s] ? (sizes[s] + 15) / 16 * 16 : UINT32_MAX;
    assert_int_equal(myr_query_iter_init(q, sizes[s], &it), MYR_OK);
    while (myr_query_next(&it, &c)) {
      assert_int_equal(c.row % 16, 0);
      assert_true(c.count >= 1 && c.count <= limit);
      assert_int_equal(c.index, expect_index++);
      float *x = myr_chunk_column(&c, 0, 0);
      assert_int_equal((uintptr_t)x % 64, 0);
      for (uint32_t i = 0; i < c.count; i++) x[i] += 1.0f;
    }
  }
  for (int i = 0; i < 1000; i++) {
    t_position p;
    assert_int_equal(myr_component_get(f->w, ids[i], f->pos, &p), MYR_OK);
    assert_true(p.x == 6.0f);
  }
  myr_query_destroy(q);
}

/* The alignment query.h promises: a chunk's column of s-byte values starts
 * 16*s-byte aligned, at most 64: f32/f64/i32 columns 64, u8 16, a 5-byte
 * MYR_BYTES field 16 (16 * 5 = 80 = 16 * 5). */
static void chunk_columns_are_aligned_as_promised(void **state) {
  fixture *f = *state;
  assert_int_equal(
      myr_entity_create_bulk(f->w, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->health, f->label},
                                                    .component_count = 3,
                                                    .values = NULL,
                                                    .count = 1000,
                                                    .ids_out = NULL}),
      MYR_OK);
  myr_query *q;
  assert_int_equal(
      myr_query_create(
          f->w,
          &(myr_query_desc){
              (myr_term[]){{f->pos, MYR_TERM_READ}, {f->health, MYR_TERM_READ}, {f->label, MYR_TERM_READ}}, 3},
          &q),
      MYR_OK);
  for (uint32_t rows = 16; rows <= 1024; rows *= 4) {
    myr_query_iter it;
    myr_chunk c;
    assert_int_equal(myr_query_iter_init(q, rows, &it), MYR_OK);
    while (myr_query_next(&it, &c)) {
      assert_int_equal((uintptr_t)myr_chunk_column(&c, 0, 0) % 64, 0); /* f32 */
      assert_int_equal((uintptr_t)myr_chunk_column(&c, 1, 0) % 64, 0); /* i32 */
      assert_int_equal((uintptr_t)myr_chunk_column(&c, 1, 1) % 16, 0); /* u8 */
      assert_int_equal((uintptr_t)myr_chunk_column(&c, 1, 2) % 64, 0); /* f64 */
      assert_int_equal((uintptr_t)myr_chunk_column(&c, 2, 0) % 16, 0); /* 5 bytes */
      assert_int_equal((uintptr_t)myr_chunk_column(&c, 2, 1) % 64, 0); /* u64 */
    }
  }
  myr_query_destroy(q);
}

static void chunk_ids_match_the_rows(void **state) {
  fixture *f = *state;
  myr_entity ids[50];
  const myr_component set[] = {f->health};
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = set, .component_count = 1, .values = NULL, .count = 50, .ids_out = ids}),
      MYR_OK);
  for (int i = 0; i < 50; i++)
    assert_int_equal(myr_field_set(f->w, ids[i], f->health, 0, MYR_I32, &(int32_t){i * 3}), MYR_OK);
  assert_int_equal(myr_entity_destroy(f->w, ids[7]), MYR_OK);
  myr_query *q = make_query(f->w, (myr_term[]){{f->health, MYR_TERM_READ}}, 1);
  myr_query_iter it;
  myr_chunk c;
  int seen = 0;
  assert_int_equal(myr_query_iter_init(q, 16, &it), MYR_OK);
  while (myr_query_next(&it, &c)) {
    const int32_t *hp = myr_chunk_column_typed(&c, 0, 0, MYR_I32);
    assert_non_null(hp);
    for (uint32_t i = 0; i < c.count; i++, seen++) {
      int32_t expect;
      assert_int_equal(myr_field_get(f->w, c.ids[i], f->health, 0, MYR_I32, &expect), MYR_OK);
      assert_int_equal(hp[i], expect);
    }
  }
  assert_int_equal(seen, 49);
  myr_query_destroy(q);
}

static void optional_columns_are_null_where_absent(void **state) {
  fixture *f = *state;
  const myr_component a[] = {f->pos}, b[] = {f->pos, f->vel};
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = a, .component_count = 1, .values = NULL, .count = 3, .ids_out = NULL}),
      MYR_OK);
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = b, .component_count = 2, .values = NULL, .count = 5, .ids_out = NULL}),
      MYR_OK);
  myr_query *q = make_query(
      f->w, (myr_term[]){{f->pos, MYR_TERM_READ}, {f->vel, MYR_TERM_OPTIONAL}, {f->tag, MYR_TERM_WITHOUT}}, 3);
  myr_query_iter it;
  myr_chunk c;
  int with = 0, without = 0;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  while (myr_query_next(&it, &c)) {
    assert_non_null(myr_chunk_column(&c, 0, 2));
    assert_null(myr_chunk_column(&c, 2, 0)); /* a without term has no columns */
    if (myr_chunk_column(&c, 1, 0)) with += (int)c.count;
    else without += (int)c.count;
  }
  assert_int_equal(with, 5);
  assert_int_equal(without, 3);
  myr_query_destroy(q);
}

static void typed_column_rejects_wrong_type_and_bad_indexes(void **state) {
  fixture *f = *state;
  const myr_component set[] = {f->health};
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = set, .component_count = 1, .values = NULL, .count = 3, .ids_out = NULL}),
      MYR_OK);
  myr_query *q = make_query(f->w, (myr_term[]){{f->health, MYR_TERM_READ}}, 1);
  myr_query_iter it;
  myr_chunk c;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  assert_true(myr_query_next(&it, &c));
  assert_non_null(myr_chunk_column_typed(&c, 0, 2, MYR_F64));
  assert_null(myr_chunk_column_typed(&c, 0, 2, MYR_F32));
  assert_null(myr_chunk_column(&c, 0, 3));
  assert_null(myr_chunk_column(&c, 1, 0));
  assert_null(myr_chunk_column(NULL, 0, 0));
  assert_false(myr_query_next(&it, &c));
  myr_query_destroy(q);
}

static void bad_query_descriptions_are_rejected(void **state) {
  fixture *f = *state;
  myr_query *q = NULL;
  assert_int_equal(myr_query_create(f->w, &(myr_query_desc){NULL, 1}, &q), MYR_EINVAL);
  assert_int_equal(myr_query_create(f->w, &(myr_query_desc){(myr_term[]){{f->pos, MYR_TERM_READ}}, 0}, &q), MYR_EINVAL);
  assert_int_equal(myr_query_create(f->w, &(myr_query_desc){(myr_term[]){{99, MYR_TERM_READ}}, 1}, &q), MYR_ENOCOMP);
  assert_int_equal(myr_query_create(f->w, &(myr_query_desc){(myr_term[]){{f->pos, (myr_term_kind)0}}, 1}, &q),
                   MYR_EINVAL);
  assert_int_equal(
      myr_query_create(f->w, &(myr_query_desc){(myr_term[]){{f->pos, MYR_TERM_READ}, {f->pos, MYR_TERM_WRITE}}, 2}, &q),
      MYR_EINVAL);
  assert_int_equal(
      myr_query_create(f->w, &(myr_query_desc){(myr_term[]){{f->pos, MYR_TERM_READ}}, MYR_QUERY_MAX_TERMS + 1}, &q),
      MYR_EINVAL);
  assert_null(q);
  assert_int_equal(myr_query_iter_init(NULL, 0, &(myr_query_iter){0}), MYR_EINVAL);
}

/* A `with` term: required, no columns; myr_chunk_has answers per term. */
static void with_terms_select_without_columns_and_chunk_has_answers(void **state) {
  fixture *f = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->tag}, .component_count = 2, .count = 20}),
      MYR_OK);
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->vel}, .component_count = 2, .count = 30}),
      MYR_OK);
  myr_query *q;
  assert_int_equal(
      myr_query_create(
          f->w,
          &(myr_query_desc){(myr_term[]){{f->pos, MYR_TERM_READ}, {f->tag, MYR_TERM_WITH}, {f->vel, MYR_TERM_OPTIONAL}},
                            3},
          &q),
      MYR_OK);
  assert_int_equal(myr_query_entity_count(q), 20);
  myr_query_iter it;
  myr_chunk c;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  assert_true(myr_query_next(&it, &c));
  assert_null(myr_chunk_column(&c, 1, 0));
  assert_true(myr_chunk_has(&c, 0) && myr_chunk_has(&c, 1) && !myr_chunk_has(&c, 2));
  assert_false(myr_chunk_has(&c, 7));
  assert_false(myr_query_next(&it, &c));
  myr_query_destroy(q);
  /* optional tags: has answers where columns cannot */
  assert_int_equal(
      myr_query_create(
          f->w,
          &(myr_query_desc){
              (myr_term[]){{f->pos, MYR_TERM_READ}, {f->tag, MYR_TERM_OPTIONAL}, {f->health, MYR_TERM_WITHOUT}}, 3},
          &q),
      MYR_OK);
  uint32_t with_tag = 0, rows = 0;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  while (myr_query_next(&it, &c)) {
    rows += c.count;
    if (myr_chunk_has(&c, 1)) with_tag += c.count;
    assert_false(myr_chunk_has(&c, 2));
  }
  assert_int_equal(rows, 50);
  assert_int_equal(with_tag, 20);
  myr_query_destroy(q);
}

/* Typed accessors give the column as its C type; in a debug build (the
 * tests are built without NDEBUG) a wrong type gives NULL. */
static void typed_accessors_give_c_typed_columns(void **state) {
  fixture *f = *state;
  assert_int_equal(
      myr_entity_create_bulk(
          f->w, &(myr_bulk_desc){.components = (myr_component[]){f->pos, f->health},
                                 .component_count = 2,
                                 .values = (const void *const[]){&(t_position){1, 2, 3}, &(t_health){5, 6, 7.5}},
                                 .count = 40}),
      MYR_OK);
  myr_query *q;
  assert_int_equal(
      myr_query_create(f->w, &(myr_query_desc){(myr_term[]){{f->pos, MYR_TERM_WRITE}, {f->health, MYR_TERM_READ}}, 2},
                       &q),
      MYR_OK);
  myr_query_iter it;
  myr_chunk c;
  assert_int_equal(myr_query_iter_init(q, 16, &it), MYR_OK);
  assert_true(myr_query_next(&it, &c));
  float *restrict py = myr_chunk_f32(&c, 0, 1);
  const int32_t *restrict hp = myr_chunk_i32(&c, 1, 0);
  const uint8_t *armor = myr_chunk_u8(&c, 1, 1);
  const double *regen = myr_chunk_f64(&c, 1, 2);
  assert_true(py && hp && armor && regen);
  assert_true(py[0] == 2 && hp[3] == 5 && armor[15] == 6 && regen[1] == 7.5);
  assert_true((void *)py == myr_chunk_column(&c, 0, 1));
#ifndef NDEBUG
  assert_null(myr_chunk_u32(&c, 0, 1)); /* an f32 field */
  assert_null(myr_chunk_f64(&c, 1, 0));
  assert_null(myr_chunk_entity(&c, 0, 0));
#endif
  myr_query_destroy(q);
}

/* A hidden component's entities are seen only by queries that name it. */
static void hidden_components_are_seen_only_when_named(void **state) {
  fixture *f = *state;
  myr_query *before = make_query(f->w, (myr_term[]){{f->pos, MYR_TERM_READ}}, 1);
  assert_false(myr_component_hidden(f->w, f->tag));
  assert_int_equal(myr_component_hide(f->w, f->tag), MYR_OK);
  assert_int_equal(myr_component_hide(f->w, f->tag), MYR_OK); /* again: no change */
  assert_true(myr_component_hidden(f->w, f->tag));
  assert_int_equal(myr_component_hide(NULL, f->tag), MYR_EINVAL);
  assert_int_equal(myr_component_hide(f->w, 200), MYR_ENOCOMP);
  const myr_component p[] = {f->pos}, pt[] = {f->pos, f->tag};
  assert_int_equal(myr_entity_create_bulk(f->w, &(myr_bulk_desc){.components = p, .component_count = 1, .count = 10}),
                   MYR_OK);
  assert_int_equal(myr_entity_create_bulk(f->w, &(myr_bulk_desc){.components = pt, .component_count = 2, .count = 5}),
                   MYR_OK);
  myr_query *plain = make_query(f->w, (myr_term[]){{f->pos, MYR_TERM_READ}}, 1);
  myr_query *maybe = make_query(f->w, (myr_term[]){{f->pos, MYR_TERM_READ}, {f->tag, MYR_TERM_OPTIONAL}}, 2);
  myr_query *only = make_query(f->w, (myr_term[]){{f->tag, MYR_TERM_WITH}}, 1);
  myr_query *none = make_query(f->w, (myr_term[]){{f->pos, MYR_TERM_READ}, {f->tag, MYR_TERM_WITHOUT}}, 2);
  assert_int_equal(count_rows(before, 0), 10); /* made before the hiding, matched after */
  assert_int_equal(count_rows(plain, 0), 10);
  assert_int_equal(myr_query_entity_count(plain), 10);
  assert_int_equal(count_rows(maybe, 0), 15);
  assert_int_equal(count_rows(only, 0), 5);
  assert_int_equal(count_rows(none, 0), 10);
  assert_int_equal(myr_world_entity_count(f->w), 15);
  /* a component some table has already cannot be hidden */
  assert_int_equal(myr_component_hide(f->w, f->pos), MYR_EBUSY);
  assert_false(myr_component_hidden(f->w, f->pos));
  assert_int_equal(count_rows(plain, 0), 10);
  myr_query_destroy(before);
  myr_query_destroy(plain);
  myr_query_destroy(maybe);
  myr_query_destroy(only);
  myr_query_destroy(none);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(with_terms_select_without_columns_and_chunk_has_answers, fixture_setup,
                                      fixture_teardown),
      cmocka_unit_test_setup_teardown(typed_accessors_give_c_typed_columns, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(query_matches_required_and_skips_without, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(hidden_components_are_seen_only_when_named, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(query_picks_up_tables_created_after_it, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(chunks_start_on_multiples_of_16_and_cover_each_row_once, fixture_setup,
                                      fixture_teardown),
      cmocka_unit_test_setup_teardown(chunk_columns_are_aligned_as_promised, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(chunk_ids_match_the_rows, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(optional_columns_are_null_where_absent, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(typed_column_rejects_wrong_type_and_bad_indexes, fixture_setup, fixture_teardown),
      cmocka_unit_test_setup_teardown(bad_query_descriptions_are_rejected, fixture_setup, fixture_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
