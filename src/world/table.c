/* Archetype tables: one per component set, one column per field, all columns
 * of a table in one allocation. */
#include "world_impl.h"

uint32_t compset_count(const compset *s) {
  uint32_t n = 0;
  for (unsigned i = 0; i < MYR_MAX_COMPONENTS / 64; i++) n += (uint32_t)__builtin_popcountll(s->bits[i]);
  return n;
}

uint64_t compset_hash(const compset *s) {
  uint64_t h = 0x6a09e667f3bcc909ull;
  for (unsigned i = 0; i < MYR_MAX_COMPONENTS / 64; i++) {
    h ^= s->bits[i];
    h *= 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
  }
  return h;
}

/* ---- archetype map ------------------------------------------------------- */

static uint32_t map_slot(const myr_world *w, const compset *set) {
  uint32_t mask = w->table_map_cap - 1;
  uint32_t i = (uint32_t)compset_hash(set) & mask;
  while (w->table_map[i] != NO_TABLE && !compset_eq(&w->v.tables[w->table_map[i]]->set, set)) i = (i + 1) & mask;
  return i;
}

table *table_find(const myr_world *w, const compset *set) {
  if (w->table_map_cap == 0) return NULL;
  uint32_t id = w->table_map[map_slot(w, set)];
  return id == NO_TABLE ? NULL : w->v.tables[id];
}

/* Keeps the load factor at or below 1/2 so probes stay short. */
static myr_status map_reserve(myr_world *w, uint32_t tables) {
  if ((uint64_t)tables * 2 <= w->table_map_cap) return MYR_OK;
  uint32_t cap = w->table_map_cap ? w->table_map_cap * 2 : 16;
  while ((uint64_t)tables * 2 > cap) cap *= 2;
  uint32_t *map = world_alloc(w, (size_t)cap * sizeof *map, alignof(uint32_t));
  if (!map) return MYR_ENOMEM;
  memset(map, 0xff, (size_t)cap * sizeof *map);
  uint32_t *old = w->table_map;
  uint32_t old_cap = w->table_map_cap;
  w->table_map = map;
  w->table_map_cap = cap;
  for (uint32_t i = 0; i < old_cap; i++)
    if (old[i] != NO_TABLE) w->table_map[map_slot(w, &w->v.tables[old[i]]->set)] = old[i];
  world_free(w, old, (size_t)old_cap * sizeof *old);
  return MYR_OK;
}

/* ---- creation ------------------------------------------------------------ */

#define EDGES_SIZE (sizeof(uint32_t) * MYR_MAX_COMPONENTS * 2)

static table *table_new(myr_world *w, const compset *set) {
  table *t = world_alloc(w, sizeof *t, alignof(table));
  if (!t) return NULL;
  memset(t, 0, sizeof *t);
  t->set = *set;
  t->comp_count = compset_count(set);
  for (myr_component c = 0; c < w->v.component_count; c++)
    if (compset_has(set, c)) t->col_count += w->v.components[c].field_count;
  size_t comps_size = (size_t)t->comp_count * sizeof(myr_component);
  size_t cols_size = (size_t)t->col_count * sizeof(column);
  t->comps = world_alloc(w, comps_size * 2 + 1, alignof(uint32_t));
  t->cols = world_alloc(w, cols_size + 1, alignof(column));
  t->edges = world_alloc(w, EDGES_SIZE, alignof(uint32_t));
  if (!t->comps || !t->cols || !t->edges) {
    world_free(w, t->comps, comps_size * 2 + 1);
    world_free(w, t->cols, cols_size + 1);
    world_free(w, t->edges, EDGES_SIZE);
    world_free(w, t, sizeof *t);
    return NULL;
  }
  memset(t->edges, 0, EDGES_SIZE);
  t->comp_col = t->comps + t->comp_count;
  uint32_t k = 0, col = 0;
  for (myr_component c = 0; c < w->v.component_count; c++) {
    if (!compset_has(set, c)) continue;
    const component_info *ci = &w->v.components[c];
    t->comps[k] = c;
    t->comp_col[k++] = col;
    for (uint32_t f = 0; f < ci->field_count; f++, col++)
      t->cols[col] = (column){NULL, ci->elem_size[f], ci->fields[f].type, c, f};
  }
  return t;
}

void table_destroy(myr_world *w, table *t) {
  if (!t) return;
  world_free(w, t->block, t->block_size);
  world_free(w, t->edges, EDGES_SIZE);
  world_free(w, t->comps, (size_t)t->comp_count * sizeof(myr_component) * 2 + 1);
  world_free(w, t->cols, (size_t)t->col_count * sizeof(column) + 1);
  world_free(w, t, sizeof *t);
}

myr_status table_get(myr_world *w, const compset *set, table **out) {
  table *t = table_find(w, set);
  if (t) {
    *out = t;
    return MYR_OK;
  }
  if (w->v.table_count == NO_TABLE - 1) return MYR_ELIMIT;
  /* Reserve every container first, so a failure leaves nothing half made. */
  myr_status s = map_reserve(w, w->v.table_count + 1);
  if (s == MYR_OK && w->v.table_count == w->table_cap)
    s = world_grow_array(w, (void **)&w->v.tables, &w->table_cap, sizeof(table *), w->v.table_count + 1);
  if (s != MYR_OK) return s;
  t = table_new(w, set);
  if (!t) return MYR_ENOMEM;
  t->id = w->v.table_count;
  w->v.tables[w->v.table_count++] = t;
  w->table_map[map_slot(w, set)] = t->id;
  *out = t;
  return MYR_OK;
}

myr_status table_step(myr_world *w, table *t, myr_component c, bool add, table **out) {
  uint32_t slot = c * 2 + (add ? 0 : 1);
  if (t->edges[slot]) {
    *out = w->v.tables[t->edges[slot] - 1];
    return MYR_OK;
  }
  compset set = t->set;
  if (add) compset_put(&set, c);
  else compset_del(&set, c);
  myr_status s = table_get(w, &set, out);
  if (s != MYR_OK) return s;
  t->edges[slot] = (*out)->id + 1;
  return MYR_OK;
}

void table_free_all(myr_world *w) {
  for (uint32_t i = 0; i < w->v.table_count; i++) table_destroy(w, w->v.tables[i]);
  world_free(w, w->v.tables, (size_t)w->table_cap * sizeof(table *));
  world_free(w, w->table_map, (size_t)w->table_map_cap * sizeof(uint32_t));
  w->v.tables = NULL;
  w->table_map = NULL;
  w->v.table_count = w->table_cap = w->table_map_cap = 0;
}

/* ---- storage ------------------------------------------------------------- */

/* Lays out the ids and the columns for `cap` rows: every region starts on a
 * cache line; regions of a page or more start at staggered offsets within a
 * page, so parallel streams over large columns do not alias in the cache.
 * Writes the offsets when `offsets` is not NULL and returns the total size. */
static size_t table_layout(const table *t, uint32_t cap, size_t *offsets) {
  size_t at = 0;
  for (uint32_t j = 0; j <= t->col_count; j++) {
    size_t bytes = (size_t)cap * (j == 0 ? sizeof(myr_entity) : t->cols[j - 1].elem_size);
    at = align_up(at, COLUMN_ALIGN);
    if (bytes >= 4096) at = align_up(at, 4096) + (size_t)((j * 5u) % 64u) * COLUMN_ALIGN;
    if (offsets) offsets[j] = at;
    at += bytes;
  }
  return at;
}

/* Grows a table of ids only (no columns: tags and the empty set) by
 * world_realloc, which moves a large block's pages instead of copying. */
static myr_status table_regrow_ids(myr_world *w, table *t, uint32_t cap, uint32_t keep) {
  size_t size = (size_t)cap * sizeof(myr_entity);
  bool moved = t->block && world_alloc_zeroes(w, t->block_size) && world_alloc_zeroes(w, size);
  void *block = world_realloc(w, t->block, t->block_size, size, TABLE_BLOCK_ALIGN, (size_t)keep * sizeof(myr_entity));
  if (!block) return MYR_ENOMEM;
  if (!moved) { /* a new block: the kept rows copied, the rest fresh */
    t->fresh = keep;
    t->fresh_zero = world_alloc_zeroes(w, size);
  } else if (t->fresh < keep) { /* the old pages came along whole */
    t->fresh = keep;
  }
  t->ids = block;
  t->block = block;
  t->block_size = size;
  t->capacity = cap;
  return MYR_OK;
}

/* Room for n rows past `kept` (at least the count), the rows up to it kept. */
static myr_status table_grow(myr_world *w, table *t, uint32_t kept, uint32_t n) {
  uint64_t need = (uint64_t)kept + n;
  if (need <= t->capacity) return MYR_OK;
  if (need > UINT32_MAX - ROW_ALIGN) return MYR_ELIMIT;
  uint64_t cap = t->capacity ? (uint64_t)t->capacity * 2 : ROW_ALIGN;
  if (cap < need) cap = need;
  cap = round_up16((uint32_t)(cap > UINT32_MAX - ROW_ALIGN ? UINT32_MAX - ROW_ALIGN : cap));
  /* Rows up to round_up16(count) are initialised (padding invariant): keep
   * them all, so the padding stays defined in the new block (and the rows
   * up to `kept` a load has written and not placed yet). */
  uint32_t keep = round_up16(kept);
  if (t->col_count == 0) return table_regrow_ids(w, t, (uint32_t)cap, keep);

  size_t offsets_small[65];
  size_t *offsets = offsets_small;
  size_t offsets_size = ((size_t)t->col_count + 1) * sizeof(size_t);
  if (t->col_count + 1 > 65) {
    offsets = world_alloc(w, offsets_size, alignof(size_t));
    if (!offsets) return MYR_ENOMEM;
  }
  size_t size = table_layout(t, (uint32_t)cap, offsets);
  unsigned char *block = world_alloc(w, size, TABLE_BLOCK_ALIGN);
  if (!block) {
    if (offsets != offsets_small) world_free(w, offsets, offsets_size);
    return MYR_ENOMEM;
  }
  /* Only the kept rows are copied: a fresh block is not written past them. */
  if (keep) memcpy(block + offsets[0], t->ids, (size_t)keep * sizeof(myr_entity));
  t->ids = (myr_entity *)(block + offsets[0]);
  for (uint32_t j = 0; j < t->col_count; j++) {
    column *c = &t->cols[j];
    unsigned char *data = block + offsets[j + 1];
    if (keep) memcpy(data, c->data, (size_t)keep * c->elem_size);
    c->data = data;
  }
  if (offsets != offsets_small) world_free(w, offsets, offsets_size);
  world_free(w, t->block, t->block_size);
  t->block = block;
  t->block_size = size;
  t->capacity = (uint32_t)cap;
  t->fresh = keep;
  t->fresh_zero = world_alloc_zeroes(w, size);
  return MYR_OK;
}

myr_status table_reserve_grow(myr_world *w, table *t, uint32_t n) { return table_grow(w, t, t->count, n); }

myr_status table_reserve_kept(myr_world *w, table *t, uint32_t kept, uint32_t n) {
  if (kept < t->count) kept = t->count;
  myr_status s = table_grow(w, t, kept, n);
  /* the caller writes the rows up to kept + n before placing them */
  if (s == MYR_OK && round_up16(kept + n) > t->fresh) t->fresh = round_up16(kept + n);
  return s;
}

/* Zeroes rows [first, first + n) of every column (and of the ids when `ids`). */
static void zero_rows(table *t, uint32_t first, uint32_t n, bool ids) {
  if (ids) memset(t->ids + first, 0, (size_t)n * sizeof(myr_entity));
  for (uint32_t j = 0; j < t->col_count; j++) {
    column *c = &t->cols[j];
    memset(c->data + (size_t)first * c->elem_size, 0, (size_t)n * c->elem_size);
  }
}

uint32_t table_append(table *t, uint32_t n) {
  uint32_t first = t->count;
  uint32_t end = first + n;
  uint32_t pad_end = round_up16(end);
  if (pad_end > t->fresh) {
    /* Rows never written are reached: the padding among them must be
     * initialised (the new rows are the caller's). */
    uint32_t from = end > t->fresh ? end : t->fresh;
    if (!t->fresh_zero && pad_end > from) zero_rows(t, from, pad_end - from, true);
    t->fresh = pad_end;
  }
  t->count = end;
  return first;
}

uint32_t table_append_zeroed(table *t, uint32_t n) {
  uint32_t first = t->count, end = first + n;
  /* rows below t->fresh may have been written; the rest are zero when
   * fresh_zero */
  uint32_t dirty_end = !t->fresh_zero || end < t->fresh ? end : t->fresh;
  if (dirty_end > first) zero_rows(t, first, dirty_end - first, false);
  return table_append(t, n);
}

void table_reach_block(table *t) {
  uint32_t first = t->fresh;
  t->fresh = first + ROW_ALIGN;
  if (t->fresh_zero) return;
  memset(t->ids + first, 0, ROW_ALIGN * sizeof(myr_entity));
  for (uint32_t j = 0; j < t->col_count; j++) {
    column *c = &t->cols[j];
    unsigned char *at = c->data + (size_t)first * c->elem_size;
    switch (c->elem_size) { /* constant sizes: a few vector stores each */
    case 4: memset(at, 0, ROW_ALIGN * 4); break;
    case 8: memset(at, 0, ROW_ALIGN * 8); break;
    case 1: memset(at, 0, ROW_ALIGN * 1); break;
    default: memset(at, 0, (size_t)ROW_ALIGN * c->elem_size); break;
    }
  }
}

myr_entity table_swap_remove(table *t, uint32_t r) {
  uint32_t last = t->count - 1;
  myr_entity moved = MYR_ENTITY_NULL;
  if (r != last) {
    moved = t->ids[last];
    t->ids[r] = moved;
    for (uint32_t j = 0; j < t->col_count; j++) {
      column *c = &t->cols[j];
      value_copy_row(c->data + (size_t)r * c->elem_size, c->data + (size_t)last * c->elem_size, c->elem_size);
    }
  }
  t->count = last;
  return moved;
}

int32_t table_comp_col(const table *t, myr_component c) {
  uint32_t lo = 0, hi = t->comp_count;
  while (lo < hi) {
    uint32_t mid = (lo + hi) / 2;
    if (t->comps[mid] < c) lo = mid + 1;
    else hi = mid;
  }
  return lo < t->comp_count && t->comps[lo] == c ? (int32_t)t->comp_col[lo] : -1;
}
