/* Entities created and destroyed through the world API, one at a time or
 * in bulk. */
#include "world_impl.h"

/* ---- entities ------------------------------------------------------------ */

myr_status myr_entity_check(const myr_world *w, myr_entity e) {
  const entity_record *r;
  return entity_lookup(w, e, &r);
}

bool myr_entity_alive(const myr_world *w, myr_entity e) { return myr_entity_check(w, e) == MYR_OK; }

myr_status myr_entity_create(myr_world *w, myr_entity *out) {
  if (!w || !out) return MYR_EINVAL;
  table *t = w->v.tables[0]; /* the table of the empty set, made with the world */
  myr_status s = entity_has_room(w) ? MYR_OK : entity_reserve(w, 1);
  if (s == MYR_OK) s = table_reserve(w, t, 1);
  if (s != MYR_OK) return s;
  uint32_t row = table_append1(t);
  t->ids[row] = *out = entity_take(w, t->id, row);
  return MYR_OK;
}

/* Writes `n` copies of one value into a column. */
static void column_fill(unsigned char *dst, const unsigned char *value, uint32_t size, uint32_t n) {
  if (!value) {
    memset(dst, 0, (size_t)n * size);
  } else if (size == 4) {
    uint32_t v;
    memcpy(&v, value, 4);
    uint32_t *d = (uint32_t *)(void *)dst;
    for (uint32_t i = 0; i < n; i++) d[i] = v;
  } else if (size == 8) {
    uint64_t v;
    memcpy(&v, value, 8);
    uint64_t *d = (uint64_t *)(void *)dst;
    for (uint32_t i = 0; i < n; i++) d[i] = v;
  } else if (size == 1) {
    memset(dst, value[0], n);
  } else {
    for (uint32_t i = 0; i < n; i++) memcpy(dst + (size_t)i * size, value, size);
  }
}

/* Builds a set from a list, checking every id. */
static myr_status compset_from(const myr_world *w, const myr_component *list, uint32_t n, compset *set) {
  memset(set, 0, sizeof *set);
  if (n && !list) return MYR_EINVAL;
  for (uint32_t i = 0; i < n; i++) {
    if (list[i] >= w->v.component_count) return MYR_ENOCOMP;
    compset_put(set, list[i]);
  }
  return MYR_OK;
}

/* The per-entity columns of a bulk creation: each names a field of a
 * component of the set, once, with data. */
static myr_status bulk_columns_check(const myr_world *w, const compset *set, const myr_bulk_desc *d) {
  if (d->column_count && !d->columns) return MYR_EINVAL;
  for (uint32_t i = 0; i < d->column_count; i++) {
    const myr_bulk_column *bc = &d->columns[i];
    if (bc->component >= w->v.component_count) return MYR_ENOCOMP;
    if (!compset_has(set, bc->component) || !bc->data) return MYR_EINVAL;
    if (bc->field >= w->v.components[bc->component].field_count) return MYR_EFIELD;
    for (uint32_t k = 0; k < i; k++)
      if (d->columns[k].component == bc->component && d->columns[k].field == bc->field) return MYR_EINVAL;
  }
  return MYR_OK;
}

static const myr_bulk_column *bulk_column_for(const myr_bulk_desc *d, myr_component c, uint32_t field) {
  for (uint32_t i = 0; i < d->column_count; i++)
    if (d->columns[i].component == c && d->columns[i].field == field) return &d->columns[i];
  return NULL;
}

myr_status myr_entity_create_bulk(myr_world *w, const myr_bulk_desc *d) {
  if (!w || !d) return MYR_EINVAL;
  compset set;
  myr_status s = compset_from(w, d->components, d->component_count, &set);
  if (s == MYR_OK) s = bulk_columns_check(w, &set, d);
  if (s != MYR_OK || d->count == 0) return s;
  table *t;
  s = table_get(w, &set, &t);
  if (s == MYR_OK) s = entity_reserve(w, d->count);
  if (s == MYR_OK) s = table_reserve(w, t, d->count);
  if (s != MYR_OK) return s;

  uint32_t first = table_append(t, d->count);
  for (uint32_t k = 0; k < t->comp_count; k++) {
    myr_component c = t->comps[k];
    const unsigned char *row = NULL;
    /* the last entry naming c wins when the list repeats it */
    for (uint32_t i = 0; d->values && i < d->component_count; i++)
      if (d->components[i] == c) row = d->values[i];
    const component_info *ci = &w->v.components[c];
    for (uint32_t f = 0; f < ci->field_count; f++) {
      column *col = &t->cols[t->comp_col[k] + f];
      unsigned char *to = col->data + (size_t)first * col->elem_size;
      const myr_bulk_column *bc = bulk_column_for(d, c, f);
      if (bc) memcpy(to, bc->data, (size_t)d->count * col->elem_size);
      else column_fill(to, row ? row + ci->fields[f].offset : NULL, col->elem_size, d->count);
    }
  }
  myr_entity *ids = t->ids + first;
  entity_take_bulk(w, t->id, first, d->count, ids);
  if (d->ids_out) memcpy(d->ids_out, ids, (size_t)d->count * sizeof(myr_entity));
  return MYR_OK;
}

myr_status myr_entity_create_with(myr_world *w, const myr_component *comps, uint32_t n, const void *const *values,
                                  myr_entity *out) {
  if (!out) return MYR_EINVAL;
  return myr_entity_create_bulk(
      w, &(myr_bulk_desc){.components = comps, .component_count = n, .values = values, .count = 1, .ids_out = out});
}

myr_status myr_entity_destroy(myr_world *w, myr_entity e) {
  const entity_record *r;
  myr_status s = entity_lookup(w, e, &r);
  if (s != MYR_OK) return s;
  world_remove_row(w, w->v.tables[r->table], r->row);
  entity_release(w, MYR_ENTITY_INDEX(e));
  return MYR_OK;
}
