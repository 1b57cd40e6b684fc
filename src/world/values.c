/* Values: components' fields read and written through the world API. */
#include "world_impl.h"

/* ---- values -------------------------------------------------------------- */

/* Finds the first column of component c for a live entity. */
static inline myr_status locate(const myr_world *w, myr_entity e, myr_component c, table **t, uint32_t *row,
                                int32_t *col) {
  const entity_record *r;
  myr_status s = entity_lookup(w, e, &r);
  if (s != MYR_OK) return s;
  if (c >= w->v.component_count) return MYR_ENOCOMP;
  *t = w->v.tables[r->table];
  *row = r->row;
  *col = table_comp_col(*t, c);
  return *col < 0 ? MYR_EABSENT : MYR_OK;
}

myr_status myr_component_set(myr_world *w, myr_entity e, myr_component c, const void *row) {
  table *t;
  uint32_t r;
  int32_t col;
  if (!row) return MYR_EINVAL;
  myr_status s = locate(w, e, c, &t, &r, &col);
  if (s != MYR_OK) return s;
  const component_info *ci = &w->v.components[c];
  for (uint32_t f = 0; f < ci->field_count; f++) {
    column *cl = &t->cols[col + (int32_t)f];
    value_copy(cl->data + (size_t)r * cl->elem_size, (const unsigned char *)row + ci->fields[f].offset, cl->elem_size);
  }
  return MYR_OK;
}

myr_status myr_component_get(const myr_world *w, myr_entity e, myr_component c, void *row) {
  WORLD_READ(w, c);
  table *t;
  uint32_t r;
  int32_t col;
  if (!row) return MYR_EINVAL;
  myr_status s = locate(w, e, c, &t, &r, &col);
  if (s != MYR_OK) return s;
  const component_info *ci = &w->v.components[c];
  for (uint32_t f = 0; f < ci->field_count; f++) {
    const column *cl = &t->cols[col + (int32_t)f];
    value_copy((unsigned char *)row + ci->fields[f].offset, cl->data + (size_t)r * cl->elem_size, cl->elem_size);
  }
  return MYR_OK;
}

static inline myr_status locate_field(const myr_world *w, myr_entity e, myr_component c, uint32_t field, myr_type type,
                                      const void *value, column **cl, uint32_t *row) {
  table *t;
  int32_t col;
  if (!value) return MYR_EINVAL;
  myr_status s = locate(w, e, c, &t, row, &col);
  if (s != MYR_OK) return s;
  if (field >= w->v.components[c].field_count) return MYR_EFIELD;
  *cl = &t->cols[col + (int32_t)field];
  return (*cl)->type == type ? MYR_OK : MYR_ETYPE;
}

myr_status myr_field_set(myr_world *w, myr_entity e, myr_component c, uint32_t field, myr_type type,
                         const void *value) {
  column *cl;
  uint32_t r;
  myr_status s = locate_field(w, e, c, field, type, value, &cl, &r);
  if (s == MYR_OK) value_copy(cl->data + (size_t)r * cl->elem_size, value, cl->elem_size);
  return s;
}

myr_status myr_field_get(const myr_world *w, myr_entity e, myr_component c, uint32_t field, myr_type type,
                         void *value) {
  WORLD_READ(w, c);
  column *cl;
  uint32_t r;
  myr_status s = locate_field(w, e, c, field, type, value, &cl, &r);
  if (s == MYR_OK) value_copy(value, cl->data + (size_t)r * cl->elem_size, cl->elem_size);
  return s;
}
