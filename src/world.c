/* The world: allocation hooks, components, entity lifecycle, set/get, hash. */
#define _DEFAULT_SOURCE /* madvise */
#include <assert.h>
#include <stdlib.h>
#ifdef __linux__
#include <sys/mman.h>
#endif

#include "world_impl.h"

/* ---- allocation ---------------------------------------------------------- */

#define HUGE_PAGE (2u << 20)

static void *default_alloc(size_t size, size_t align, void *user) {
  (void)user;
  if (align < sizeof(void *)) align = sizeof(void *);
#ifdef __linux__
  if (size > HUGE_PAGE) {
    /* Blocks larger than a huge page: ask for transparent huge pages. A
     * fresh 4 KiB page costs a fault each; a 2 MiB page one fault per 512 of
     * them, which took bulk creation of 1M entities into fresh memory from
     * 48 to 176 M/s (bench_world). */
    void *p = aligned_alloc(HUGE_PAGE, align_up(size, HUGE_PAGE));
    if (p) madvise(p, align_up(size, HUGE_PAGE), MADV_HUGEPAGE);
    return p;
  }
#endif
  /* aligned_alloc wants the size to be a multiple of the alignment */
  return aligned_alloc(align, align_up(size ? size : 1, align));
}

static void default_free(void *ptr, size_t size, void *user) {
  (void)size;
  (void)user;
  free(ptr);
}

void *world_alloc(const myr_world *w, size_t size, size_t align) {
  return w->alloc.alloc(size, align, w->alloc.user);
}

void world_free(const myr_world *w, void *p, size_t size) {
  if (p) w->alloc.free(p, size, w->alloc.user);
}

myr_status world_grow_array(const myr_world *w, void **arr, uint32_t *cap, size_t elem,
                            uint32_t need) {
  if (need <= *cap) return MYR_OK;
  uint64_t n = *cap ? (uint64_t)*cap * 2 : 8;
  if (n < need) n = need;
  if (n > UINT32_MAX) n = UINT32_MAX;
  void *p = world_alloc(w, (size_t)n * elem, 64);
  if (!p) return MYR_ENOMEM;
  if (*cap) memcpy(p, *arr, (size_t)*cap * elem);
  world_free(w, *arr, (size_t)*cap * elem);
  *arr = p;
  *cap = (uint32_t)n;
  return MYR_OK;
}

/* ---- slots of the parts built on the world ----------------------------- */

void **world_slot(myr_world *w, const void *key, world_teardown_fn teardown) {
  for (uint32_t i = 0; i < WORLD_SLOTS; i++) {
    world_slot_entry *e = &w->slots[i];
    if (e->key == key) return &e->state;
    if (!e->key) {
      *e = (world_slot_entry){key, NULL, teardown};
      return &e->state;
    }
  }
  assert(!"more parts than world slots");
  return NULL;
}

void *world_slot_state(const myr_world *w, const void *key) {
  for (uint32_t i = 0; i < WORLD_SLOTS && w->slots[i].key; i++)
    if (w->slots[i].key == key) return w->slots[i].state;
  return NULL;
}

/* ---- world --------------------------------------------------------------- */

myr_status myr_world_create(const myr_world_desc *desc, myr_world **out) {
  if (!out) return MYR_EINVAL;
  *out = NULL;
  myr_allocator a = {default_alloc, default_free, NULL};
  if (desc && (desc->allocator.alloc || desc->allocator.free)) {
    if (!desc->allocator.alloc || !desc->allocator.free) return MYR_EINVAL;
    a = desc->allocator;
  }
  myr_world *w = a.alloc(sizeof *w, alignof(myr_world), a.user);
  if (!w) return MYR_ENOMEM;
  memset(w, 0, sizeof *w);
  w->alloc = a;
  w->free_head = NO_TABLE;
  w->step_src = NO_TABLE; /* no last step */
  size_t comps_size = MYR_MAX_COMPONENTS * sizeof(component_info);
  w->components = world_alloc(w, comps_size, alignof(component_info));
  table *empty;
  compset none = {{0}};
  if (!w->components || table_get(w, &none, &empty) != MYR_OK) {
    myr_world_destroy(w);
    return MYR_ENOMEM;
  }
  *out = w;
  return MYR_OK;
}

static void component_free(myr_world *w, component_info *ci) {
  world_free(w, ci->name, ci->name_size);
  world_free(w, ci->fields, (size_t)ci->field_count * sizeof(myr_field) + 1);
  world_free(w, ci->elem_size, (size_t)ci->field_count * sizeof(uint32_t) + 1);
  world_free(w, ci->names, ci->names_size);
}

void myr_world_destroy(myr_world *w) {
  if (!w) return;
  for (uint32_t i = WORLD_SLOTS; i-- > 0;)
    if (w->slots[i].key && w->slots[i].teardown) w->slots[i].teardown(w, w->slots[i].state);
  table_free_all(w);
  entity_free_all(w);
  resource_free_all(w);
  if (w->components) {
    for (uint32_t i = 0; i < w->component_count; i++) component_free(w, &w->components[i]);
    world_free(w, w->components, MYR_MAX_COMPONENTS * sizeof(component_info));
  }
  myr_allocator a = w->alloc;
  a.free(w, sizeof *w, a.user);
}

uint32_t myr_world_entity_count(const myr_world *w) { return w ? w->live_count : 0; }
uint32_t myr_world_table_count(const myr_world *w) { return w ? w->table_count : 0; }

/* ---- components ---------------------------------------------------------- */

uint32_t myr_type_size(myr_type type) {
  switch (type) {
  case MYR_F32: case MYR_I32: case MYR_U32: return 4;
  case MYR_F64: case MYR_I64: case MYR_U64: case MYR_ENTITY: return 8;
  case MYR_U8: return 1;
  default: return 0;
  }
}

static myr_status component_validate(const myr_component_desc *d) {
  if (!d->name || !d->name[0] || d->field_count > MYR_MAX_FIELDS) return MYR_EINVAL;
  if (d->field_count && !d->fields) return MYR_EINVAL;
  for (uint32_t f = 0; f < d->field_count; f++) {
    const myr_field *fd = &d->fields[f];
    uint32_t size = myr_type_size(fd->type);
    if (fd->type == MYR_BYTES) {
      if (fd->size == 0 || fd->size > 4096) return MYR_EINVAL;
      size = fd->size;
    } else if (size == 0 || (fd->size != 0 && fd->size != size)) {
      return MYR_EINVAL;
    }
    if (fd->offset > d->row_size || d->row_size - fd->offset < size) return MYR_EINVAL;
  }
  return MYR_OK;
}

myr_status myr_component_register(myr_world *w, const myr_component_desc *d, myr_component *out) {
  if (!w || !d || !out) return MYR_EINVAL;
  myr_status s = component_validate(d);
  if (s != MYR_OK) return s;
  myr_component existing;
  if (myr_component_lookup(w, d->name, &existing) == MYR_OK) return MYR_EEXIST;
  if (w->component_count == MYR_MAX_COMPONENTS) return MYR_ELIMIT;

  component_info ci = {0};
  ci.field_count = d->field_count;
  ci.row_size = d->row_size;
  ci.name_size = strlen(d->name) + 1;
  for (uint32_t f = 0; f < d->field_count; f++)
    ci.names_size += (d->fields[f].name ? strlen(d->fields[f].name) : 0) + 1;
  ci.names_size += 1;
  ci.name = world_alloc(w, ci.name_size, 1);
  ci.fields = world_alloc(w, (size_t)ci.field_count * sizeof(myr_field) + 1, alignof(myr_field));
  ci.elem_size = world_alloc(w, (size_t)ci.field_count * sizeof(uint32_t) + 1, alignof(uint32_t));
  ci.names = world_alloc(w, ci.names_size, 1);
  if (!ci.name || !ci.fields || !ci.elem_size || !ci.names) {
    component_free(w, &ci);
    return MYR_ENOMEM;
  }
  memcpy(ci.name, d->name, ci.name_size);
  char *at = ci.names;
  for (uint32_t f = 0; f < d->field_count; f++) {
    const myr_field *fd = &d->fields[f];
    size_t len = fd->name ? strlen(fd->name) : 0;
    if (len) memcpy(at, fd->name, len);
    at[len] = '\0';
    ci.fields[f] = *fd;
    ci.fields[f].name = at;
    ci.elem_size[f] = fd->type == MYR_BYTES ? fd->size : myr_type_size(fd->type);
    ci.fields[f].size = ci.elem_size[f];
    at += len + 1;
  }
  *at = '\0';
  ci.row_is_packed = true;
  for (uint32_t f = 0; f < ci.field_count; f++) {
    ci.row_is_packed &= ci.fields[f].offset == ci.packed_size;
    ci.has_entity_fields |= ci.fields[f].type == MYR_ENTITY;
    ci.packed_size += ci.elem_size[f];
  }
  *out = w->component_count;
  w->components[w->component_count++] = ci;
  return MYR_OK;
}

myr_status myr_component_lookup(const myr_world *w, const char *name, myr_component *out) {
  if (!w || !name || !out) return MYR_EINVAL;
  for (uint32_t i = 0; i < w->component_count; i++) {
    if (strcmp(w->components[i].name, name) == 0) {
      *out = i;
      return MYR_OK;
    }
  }
  return MYR_ENOCOMP;
}

myr_status myr_component_info(const myr_world *w, myr_component c, uint32_t *field_count,
                              uint32_t field, myr_field *field_out) {
  if (!w) return MYR_EINVAL;
  if (c >= w->component_count) return MYR_ENOCOMP;
  const component_info *ci = &w->components[c];
  if (field_out) {
    if (field >= ci->field_count) return MYR_EFIELD;
    *field_out = ci->fields[field];
  }
  if (field_count) *field_count = ci->field_count;
  return MYR_OK;
}

myr_status myr_component_field(const myr_world *w, myr_component c, const char *name, uint32_t *out) {
  if (!w || !name || !out) return MYR_EINVAL;
  if (c >= w->component_count) return MYR_ENOCOMP;
  const component_info *ci = &w->components[c];
  for (uint32_t f = 0; f < ci->field_count; f++) {
    if (strcmp(ci->fields[f].name, name) == 0) {
      *out = f;
      return MYR_OK;
    }
  }
  return MYR_EFIELD;
}

/* ---- entities ------------------------------------------------------------ */

myr_status myr_entity_check(const myr_world *w, myr_entity e) {
  const entity_record *r;
  return entity_lookup(w, e, &r);
}

bool myr_entity_alive(const myr_world *w, myr_entity e) { return myr_entity_check(w, e) == MYR_OK; }

myr_status myr_entity_create(myr_world *w, myr_entity *out) {
  if (!w || !out) return MYR_EINVAL;
  table *t = w->tables[0]; /* the table of the empty set, made with the world */
  myr_status s = entity_reserve(w, 1);
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
static myr_status compset_from(const myr_world *w, const myr_component *list, uint32_t n,
                               compset *set) {
  memset(set, 0, sizeof *set);
  if (n && !list) return MYR_EINVAL;
  for (uint32_t i = 0; i < n; i++) {
    if (list[i] >= w->component_count) return MYR_ENOCOMP;
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
    if (bc->component >= w->component_count) return MYR_ENOCOMP;
    if (!compset_has(set, bc->component) || !bc->data) return MYR_EINVAL;
    if (bc->field >= w->components[bc->component].field_count) return MYR_EFIELD;
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
    const component_info *ci = &w->components[c];
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

myr_status myr_entity_create_with(myr_world *w, const myr_component *comps, uint32_t n,
                                  const void *const *values, myr_entity *out) {
  if (!out) return MYR_EINVAL;
  return myr_entity_create_bulk(w, &(myr_bulk_desc){.components = comps, .component_count = n, .values = values,
                                                    .count = 1, .ids_out = out});
}

/* Removes row r of t and repairs the record of the entity moved into it. */
void world_remove_row(myr_world *w, table *t, uint32_t r) {
  myr_entity moved = table_swap_remove(t, r);
  if (moved != MYR_ENTITY_NULL) w->entities[MYR_ENTITY_INDEX(moved)].row = r;
}

myr_status myr_entity_destroy(myr_world *w, myr_entity e) {
  const entity_record *r;
  myr_status s = entity_lookup(w, e, &r);
  if (s != MYR_OK) return s;
  world_remove_row(w, w->tables[r->table], r->row);
  entity_release(w, MYR_ENTITY_INDEX(e));
  return MYR_OK;
}

/* ---- adding and removing components -------------------------------------- */

/* Moves entity e from its row in src to a new row of dst (capacity reserved).
 * Columns dst has and src lacks come from `row` (component `added`) or are
 * zero. */
static void move_columns(myr_world *w, const table *src, uint32_t sr, table *dst, uint32_t dr, myr_component added,
                         const unsigned char *row);

/* Moves row sr of src to a new row of dst when the two differ by a tag:
 * the same columns on both sides, in order. One pass per column moves the
 * row out and the last row into its place (table_swap_remove's work,
 * fused), and when sr is the last row nothing moves into it. */
static inline void move_tag_row(myr_world *w, entity_record *rec, myr_entity e, table *src, table *dst) {
  uint32_t sr = rec->row, last = src->count - 1, n = dst->col_count;
  uint32_t dr = table_append1(dst);
  dst->ids[dr] = e;
  const column *sc = src->cols, *dc = dst->cols;
  if (sr != last) {
    for (uint32_t i = 0; i < n; i++) {
      unsigned char *d = dc[i].data, *from = sc[i].data;
      uint32_t size = sc[i].elem_size;
      if (__builtin_expect(size == 4, 1)) {
        memcpy(d + (size_t)dr * 4, from + (size_t)sr * 4, 4);
        memcpy(from + (size_t)sr * 4, from + (size_t)last * 4, 4);
      } else {
        value_copy(d + (size_t)dr * size, from + (size_t)sr * size, size);
        value_copy(from + (size_t)sr * size, from + (size_t)last * size, size);
      }
    }
    myr_entity moved = src->ids[last];
    src->ids[sr] = moved;
    w->entities[MYR_ENTITY_INDEX(moved)].row = sr;
  } else {
    for (uint32_t i = 0; i < n; i++) {
      uint32_t size = sc[i].elem_size;
      value_copy_row(dc[i].data + (size_t)dr * size, sc[i].data + (size_t)sr * size, size);
    }
  }
  src->count = last;
  rec->table = dst->id;
  rec->row = dr;
}

/* Whether a step from src to dst by component c is a tag's. */
static inline bool tag_step(const myr_world *w, const table *src, const table *dst, myr_component c) {
  return dst->col_count == src->col_count && w->components[c].field_count == 0;
}

void world_move_row(myr_world *w, myr_entity e, table *src, table *dst, myr_component added,
                    const unsigned char *row) {
  entity_record *rec = &w->entities[MYR_ENTITY_INDEX(e)];
  uint32_t sr = rec->row;
  uint32_t dr = table_append1(dst);
  dst->ids[dr] = e;
  move_columns(w, src, sr, dst, dr, added, row);
  world_remove_row(w, src, sr);
  rec->table = dst->id;
  rec->row = dr;
}

/* The columns of a move between tables of different columns: shared ones
 * copied, the added component's from `row` or zero, the rest zero. */
static void move_columns(myr_world *w, const table *src, uint32_t sr, table *dst, uint32_t dr, myr_component added,
                         const unsigned char *row) {
  uint32_t j = 0; /* both column lists are sorted by (component, field) */
  for (uint32_t i = 0; i < dst->col_count; i++) {
    column *dc = &dst->cols[i];
    while (j < src->col_count && src->cols[j].component < dc->component) j++;
    unsigned char *to = dc->data + (size_t)dr * dc->elem_size;
    if (j < src->col_count && src->cols[j].component == dc->component) {
      value_copy(to, src->cols[j].data + (size_t)sr * dc->elem_size, dc->elem_size);
      j++;
    } else if (row && dc->component == added) {
      value_copy(to, row + w->components[added].fields[dc->field].offset, dc->elem_size);
    } else {
      value_zero(to, dc->elem_size);
    }
  }
}

static myr_status change_set(myr_world *w, myr_entity e, myr_component c, bool add,
                             const void *row) {
  const entity_record *r;
  myr_status s = entity_lookup(w, e, &r);
  if (s != MYR_OK) return s;
  if (c >= w->component_count) return MYR_ENOCOMP;
  table *src, *dst;
  if (r->table == w->step_src && c == w->step_comp && add == w->step_add) {
    /* the same change as the last one, from the same table (valid then) */
    src = w->step_from;
    dst = w->step_to;
  } else {
    src = w->tables[r->table];
    uint32_t to = table_edge(src, c, add);
    if (to != 0) { /* a cached edge: the step is valid */
      dst = w->tables[to - 1];
    } else {
      if (compset_has(&src->set, c) == add) return add ? MYR_EEXIST : MYR_EABSENT;
      s = table_step(w, src, c, add, &dst);
      if (s != MYR_OK) return s;
    }
    w->step_src = src->id;
    w->step_comp = c;
    w->step_add = add;
    w->step_from = src;
    w->step_to = dst;
    w->step_tag = tag_step(w, src, dst, c);
  }
  if (dst->count == dst->capacity && (s = table_reserve(w, dst, 1)) != MYR_OK) return s; /* room, mostly */
  if (w->step_tag) move_tag_row(w, &w->entities[MYR_ENTITY_INDEX(e)], e, src, dst);
  else world_move_row(w, e, src, dst, c, row);
  return MYR_OK;
}

myr_status myr_component_add(myr_world *w, myr_entity e, myr_component c, const void *row) {
  return change_set(w, e, c, true, row);
}

myr_status myr_component_put(myr_world *w, myr_entity e, myr_component c, const void *row) {
  if (!row) return MYR_EINVAL;
  if (w && c < w->component_count && myr_component_has(w, e, c)) return myr_component_set(w, e, c, row);
  return change_set(w, e, c, true, row);
}

myr_status myr_component_remove(myr_world *w, myr_entity e, myr_component c) {
  return change_set(w, e, c, false, NULL);
}

bool myr_component_has(const myr_world *w, myr_entity e, myr_component c) {
  const entity_record *r;
  if (entity_lookup(w, e, &r) != MYR_OK || c >= w->component_count) return false;
  return compset_has(&w->tables[r->table]->set, c);
}

/* ---- values -------------------------------------------------------------- */

/* Finds the first column of component c for a live entity. */
static myr_status locate(const myr_world *w, myr_entity e, myr_component c, table **t,
                         uint32_t *row, int32_t *col) {
  const entity_record *r;
  myr_status s = entity_lookup(w, e, &r);
  if (s != MYR_OK) return s;
  if (c >= w->component_count) return MYR_ENOCOMP;
  *t = w->tables[r->table];
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
  const component_info *ci = &w->components[c];
  for (uint32_t f = 0; f < ci->field_count; f++) {
    column *cl = &t->cols[col + (int32_t)f];
    value_copy(cl->data + (size_t)r * cl->elem_size, (const unsigned char *)row + ci->fields[f].offset,
               cl->elem_size);
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
  const component_info *ci = &w->components[c];
  for (uint32_t f = 0; f < ci->field_count; f++) {
    const column *cl = &t->cols[col + (int32_t)f];
    value_copy((unsigned char *)row + ci->fields[f].offset, cl->data + (size_t)r * cl->elem_size,
               cl->elem_size);
  }
  return MYR_OK;
}

static myr_status locate_field(const myr_world *w, myr_entity e, myr_component c, uint32_t field,
                               myr_type type, const void *value, column **cl, uint32_t *row) {
  table *t;
  int32_t col;
  if (!value) return MYR_EINVAL;
  myr_status s = locate(w, e, c, &t, row, &col);
  if (s != MYR_OK) return s;
  if (field >= w->components[c].field_count) return MYR_EFIELD;
  *cl = &t->cols[col + (int32_t)field];
  return (*cl)->type == type ? MYR_OK : MYR_ETYPE;
}

myr_status myr_field_set(myr_world *w, myr_entity e, myr_component c, uint32_t field,
                         myr_type type, const void *value) {
  column *cl;
  uint32_t r;
  myr_status s = locate_field(w, e, c, field, type, value, &cl, &r);
  if (s == MYR_OK) value_copy(cl->data + (size_t)r * cl->elem_size, value, cl->elem_size);
  return s;
}

myr_status myr_field_get(const myr_world *w, myr_entity e, myr_component c, uint32_t field,
                         myr_type type, void *value) {
  WORLD_READ(w, c);
  column *cl;
  uint32_t r;
  myr_status s = locate_field(w, e, c, field, type, value, &cl, &r);
  if (s == MYR_OK) value_copy(value, cl->data + (size_t)r * cl->elem_size, cl->elem_size);
  return s;
}

/* ---- hash ---------------------------------------------------------------- */

static inline uint64_t hash_mix(uint64_t h, uint64_t v) {
  h ^= v * 0x9e3779b97f4a7c15ull;
  h = (h << 27) | (h >> 37);
  return h * 0xbf58476d1ce4e5b9ull + 0x94d049bb133111ebull;
}

static uint64_t hash_bytes(uint64_t h, const unsigned char *p, uint32_t size) {
  uint32_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    h = hash_mix(h, v);
  }
  if (i < size) {
    uint64_t v = 0;
    memcpy(&v, p + i, size - i);
    h = hash_mix(h, v ^ ((uint64_t)(size - i) << 56));
  }
  return h;
}

myr_status myr_world_hash(const myr_world *w, uint64_t *out) {
  if (!w || !out) return MYR_EINVAL;
  uint64_t h = hash_mix(0x243f6a8885a308d3ull, w->live_count);
  for (uint32_t i = 0; i < w->slot_count; i++) {
    const entity_record *r = &w->entities[i];
    if (r->table == NO_TABLE) continue;
    h = hash_mix(h, ((uint64_t)r->generation << 32) | i);
    const table *t = w->tables[r->table];
    for (uint32_t j = 0, k = 0; k < t->comp_count; k++) {
      h = hash_mix(h, 0xc0ull << 56 | t->comps[k]);
      uint32_t fields = w->components[t->comps[k]].field_count;
      for (uint32_t f = 0; f < fields; f++, j++) {
        const column *c = &t->cols[j];
        h = hash_bytes(h, c->data + (size_t)r->row * c->elem_size, c->elem_size);
      }
    }
  }
  for (uint32_t i = 0; i < w->resource_count; i++) {
    h = hash_mix(h, 0xd0ull << 56 | i);
    h = hash_bytes(h, w->resources[i].data, (uint32_t)w->resources[i].size);
  }
  *out = h;
  return MYR_OK;
}
