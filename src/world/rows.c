/* Rows: the one module that moves rows between tables and removes them:
 * one entity at a time (adding and removing components, with a fast path
 * for tags) and in batches (for the patch part's merge). */
#include <stdlib.h>

#include "world_impl.h"

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
    w->v.entities[MYR_ENTITY_INDEX(moved)].row = sr;
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
  return dst->col_count == src->col_count && w->v.components[c].field_count == 0;
}

void world_move_row(myr_world *w, myr_entity e, table *src, table *dst, myr_component added, const unsigned char *row) {
  entity_record *rec = &w->v.entities[MYR_ENTITY_INDEX(e)];
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
      value_copy(to, row + w->v.components[added].fields[dc->field].offset, dc->elem_size);
    } else {
      value_zero(to, dc->elem_size);
    }
  }
}

/* change_set past the fast path: finds the step (and caches it), makes
 * room, moves the row. r is e's live record. */
__attribute__((noinline)) static myr_status change_step(myr_world *w, myr_entity e, const entity_record *r,
                                                        myr_component c, bool add, const void *row) {
  if (c >= w->v.component_count) return MYR_ENOCOMP;
  table *src, *dst;
  myr_status s;
  if (r->table == w->step_src && c == w->step_comp && add == w->step_add) {
    /* the same change as the last one, from the same table (valid then) */
    src = w->step_from;
    dst = w->step_to;
  } else {
    src = w->v.tables[r->table];
    uint32_t to = table_edge(src, c, add);
    if (to != 0) { /* a cached edge: the step is valid */
      dst = w->v.tables[to - 1];
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
  if ((s = table_reserve(w, dst, 1)) != MYR_OK) return s;
  if (w->step_tag) move_tag_row(w, &w->v.entities[MYR_ENTITY_INDEX(e)], e, src, dst);
  else world_move_row(w, e, src, dst, c, row);
  return MYR_OK;
}

/* Adds or removes component c. Inline into the two calls: a run of the same
 * tag's change (the cached step, with room in the destination) costs the
 * id's check, three compares and the move. */
static inline myr_status change_set(myr_world *w, myr_entity e, myr_component c, bool add, const void *row) {
  const entity_record *r;
  myr_status s = entity_lookup(w, e, &r);
  if (s != MYR_OK) return s;
  table *dst = w->step_to;
  if (r->table == w->step_src && c == w->step_comp && add == w->step_add && w->step_tag &&
      __builtin_expect(dst->count != dst->capacity, 1)) {
    move_tag_row(w, &w->v.entities[MYR_ENTITY_INDEX(e)], e, w->step_from, dst);
    return MYR_OK;
  }
  return change_step(w, e, r, c, add, row);
}

myr_status myr_component_add(myr_world *w, myr_entity e, myr_component c, const void *row) {
  return change_set(w, e, c, true, row);
}

myr_status myr_component_put(myr_world *w, myr_entity e, myr_component c, const void *row) {
  if (!row) return MYR_EINVAL;
  if (w && c < w->v.component_count && myr_component_has(w, e, c)) return myr_component_set(w, e, c, row);
  return change_set(w, e, c, true, row);
}

myr_status myr_component_remove(myr_world *w, myr_entity e, myr_component c) {
  return change_set(w, e, c, false, NULL);
}

bool myr_component_has(const myr_world *w, myr_entity e, myr_component c) {
  const entity_record *r;
  if (entity_lookup(w, e, &r) != MYR_OK || c >= w->v.component_count) return false;
  return compset_has(&w->v.tables[r->table]->set, c);
}

/* ---- batches of rows (the patch part's merge) ------------------------------ */

/* How many rows ahead the batch loops ask for the rows and records they
 * will touch: a batch's rows are scattered over tables and an entity
 * index much larger than the caches. */
#define ROWS_AHEAD 16

static int row_asc(const void *a, const void *b) {
  uint32_t x = ((const world_row *)a)->row, y = ((const world_row *)b)->row;
  return x < y ? -1 : x > y;
}

/* rows[0..n) grouped by table, each group in the order it came: the rows
 * themselves when they come grouped with ascending rows already (patches in
 * row order), else a stable counting sort into scratch->rows. */
static world_row *rows_by_table(const myr_world *w, world_row *rows, uint32_t n, world_rows_scratch *scratch,
                                bool *grouped) {
  *grouped = true;
  for (uint32_t i = 1; i < n && *grouped; i++)
    *grouped =
        rows[i - 1].table < rows[i].table || (rows[i - 1].table == rows[i].table && rows[i - 1].row < rows[i].row);
  if (*grouped) return rows;
  uint32_t *start = scratch->counts;
  memset(start, 0, sizeof(uint32_t) * (w->v.table_count + 1));
  for (uint32_t i = 0; i < n; i++) start[rows[i].table + 1]++;
  for (uint32_t t = 0; t < w->v.table_count; t++) start[t + 1] += start[t];
  for (uint32_t i = 0; i < n; i++) scratch->rows[start[rows[i].table]++] = rows[i];
  return scratch->rows;
}

/* One table's removal, planned: hole holes[j] takes the row fills[j]
 * (j < pairs), and the slots gone[0..released) are freed onto the free
 * stack from stack_base on. */
typedef struct removal {
  myr_world *w;
  table *t;
  const uint32_t *holes, *fills, *gone;
  uint32_t pairs, released, stack_base, parts;
} removal;

static void removal_part(void *arg, uint32_t part) {
  const removal *m = arg;
  table *t = m->t;
  entity_record *e = m->w->v.entities;
  uint32_t lo, hi;
  world_part_range(m->pairs, part, m->parts, &lo, &hi);
  for (uint32_t c = 0; c < t->col_count; c++) {
    unsigned char *d = t->cols[c].data;
    uint32_t size = t->cols[c].elem_size;
    for (uint32_t j = lo; j < hi; j++) {
      if (j + ROWS_AHEAD < hi) __builtin_prefetch(d + (size_t)m->holes[j + ROWS_AHEAD] * size, 1);
      if (__builtin_expect(size == 4, 1)) memcpy(d + (size_t)m->holes[j] * 4, d + (size_t)m->fills[j] * 4, 4);
      else value_copy_row(d + (size_t)m->holes[j] * size, d + (size_t)m->fills[j] * size, size);
    }
  }
  for (uint32_t j = lo; j < hi; j++) {
    if (j + ROWS_AHEAD < hi) __builtin_prefetch(&e[MYR_ENTITY_INDEX(t->ids[m->fills[j + ROWS_AHEAD]])], 1);
    myr_entity moved = t->ids[m->fills[j]];
    t->ids[m->holes[j]] = moved;
    e[MYR_ENTITY_INDEX(moved)].row = m->holes[j];
  }
  world_part_range(m->released, part, m->parts, &lo, &hi);
  for (uint32_t k = lo; k < hi; k++) {
    if (k + ROWS_AHEAD < hi) __builtin_prefetch(&e[m->gone[k + ROWS_AHEAD]], 1);
    entity_free_at(m->w, m->gone[k], m->stack_base + k);
  }
}

/* Removes the rows r[0..d) (ascending) of table t. The swap-removes from
 * the last row down are played on row numbers first: rows at or above the
 * new count may move more than once (into a removed row there, then on),
 * rows below it only once, into a hole; so each hole's final row is known
 * before any value moves, and the copies can then be shared out. */
static void remove_group(myr_world *w, table *t, const world_row *r, uint32_t d, bool release,
                         world_rows_scratch *scratch) {
  uint32_t n = t->count, kept = n - d, h = 0;
  while (h < d && r[h].row < kept) h++;
  uint32_t *holes = scratch->work, *fills = holes + d, *gone = fills + d;
  uint32_t *at = gone; /* until the slots are gathered: the row now at kept + i */
  for (uint32_t i = 0; i < d; i++) at[i] = kept + i;
  for (uint32_t k = d, count = n; k-- > 0; count--) {
    uint32_t row = r[k].row, last = count - 1;
    if (row == last) continue; /* the last row itself: cut off */
    if (row >= kept) {
      at[row - kept] = at[last - kept];
    } else { /* a hole, highest first */
      holes[h - 1 - k] = row;
      fills[h - 1 - k] = at[last - kept];
    }
  }
  if (release)
    for (uint32_t k = 0; k < d; k++) gone[k] = r[d - 1 - k].slot; /* rows descending */
  removal m = {w, t, holes, fills, gone, h, release ? d : 0, w->free_count, 1};
  m.parts = world_par_parts(scratch->par, d);
  world_par_run(scratch->par, d, m.parts, removal_part, &m);
  t->count = kept; /* the rows past the count keep their (initialised) bytes */
  if (release) entity_freed(w, d);
}

void world_rows_remove(myr_world *w, world_row *rows, uint32_t n, bool release, world_rows_scratch *scratch) {
  bool grouped;
  rows = rows_by_table(w, rows, n, scratch, &grouped);
  for (uint32_t i = 0, end; i < n; i = end) {
    uint32_t t = rows[i].table;
    for (end = i + 1; end < n && rows[end].table == t; end++) {}
    bool ascending = true; /* already checked when grouped */
    for (uint32_t k = i + 1; !grouped && k < end && ascending; k++) ascending = rows[k - 1].row < rows[k].row;
    if (!ascending) qsort(rows + i, end - i, sizeof(world_row), row_asc);
    remove_group(w, w->v.tables[t], rows + i, end - i, release, scratch);
  }
}

/* For each column of dst, the column of src with the same (component,
 * field), or -1. */
static void column_map(const table *src, const table *dst, int32_t *map) {
  uint32_t j = 0; /* both lists are sorted by (component, field) */
  for (uint32_t i = 0; i < dst->col_count; i++) {
    const column *dc = &dst->cols[i];
    while (j < src->col_count && src->cols[j].component < dc->component) j++;
    if (j < src->col_count && src->cols[j].component == dc->component) map[i] = (int32_t)j++;
    else map[i] = -1;
  }
}

/* Copies column from[map] of the rows rows[0..n) of src into column `to`
 * from row `first` on. The size is fixed per column: one loop per common
 * size keeps the copies inline; rows that follow each other go in one block. */
static void copy_column(unsigned char *to, const unsigned char *from, uint32_t size, const world_row *rows, uint32_t n,
                        bool contiguous) {
  if (contiguous) memcpy(to, from + (size_t)rows[0].row * size, (size_t)n * size);
  else if (size == 4)
    for (uint32_t k = 0; k < n; k++, to += 4) {
      if (k + ROWS_AHEAD < n) __builtin_prefetch(from + (size_t)rows[k + ROWS_AHEAD].row * 4);
      memcpy(to, from + (size_t)rows[k].row * 4, 4);
    }
  else if (size == 8)
    for (uint32_t k = 0; k < n; k++, to += 8) {
      if (k + ROWS_AHEAD < n) __builtin_prefetch(from + (size_t)rows[k + ROWS_AHEAD].row * 8);
      memcpy(to, from + (size_t)rows[k].row * 8, 8);
    }
  else
    for (uint32_t k = 0; k < n; k++, to += size) value_copy(to, from + (size_t)rows[k].row * size, size);
}

/* A run of rows moving from src to dst, from row `first` of dst on; parts
 * take slices of it. */
typedef struct move_job {
  myr_world *w;
  const world_row *rows;
  uint32_t n, first, parts;
  table *src, *dst;
  const int32_t *map;
  bool contiguous;
} move_job;

static void move_part(void *arg, uint32_t part) {
  const move_job *m = arg;
  uint32_t lo, hi;
  world_part_range(m->n, part, m->parts, &lo, &hi);
  const world_row *rows = m->rows + lo;
  uint32_t n = hi - lo, first = m->first + lo;
  if (!n) return;
  for (uint32_t c = 0; c < m->dst->col_count; c++) {
    column *dc = &m->dst->cols[c];
    unsigned char *to = dc->data + (size_t)first * dc->elem_size;
    if (m->map[c] < 0) memset(to, 0, (size_t)n * dc->elem_size);
    else copy_column(to, m->src->cols[m->map[c]].data, dc->elem_size, rows, n, m->contiguous);
  }
  entity_record *e = m->w->v.entities;
  for (uint32_t k = 0; k < n; k++) {
    if (k + ROWS_AHEAD < n) __builtin_prefetch(&e[MYR_ENTITY_INDEX(m->src->ids[rows[k + ROWS_AHEAD].row])], 1);
    myr_entity id = m->src->ids[rows[k].row];
    m->dst->ids[first + k] = id;
    entity_record *r = &e[MYR_ENTITY_INDEX(id)];
    r->table = m->dst->id;
    r->row = first + k;
  }
}

/* Appends the rows rows[0..n) of src to dst, ids and records included. */
static void move_run(myr_world *w, const world_row *rows, uint32_t n, table *src, table *dst,
                     world_rows_scratch *scratch) {
  move_job m = {w, rows, n, table_append(dst, n), 1, src, dst, scratch->colmap, true};
  column_map(src, dst, scratch->colmap);
  for (uint32_t k = 1; k < n && m.contiguous; k++) m.contiguous = rows[k].row == rows[k - 1].row + 1;
  m.parts = world_par_parts(scratch->par, n);
  world_par_run(scratch->par, n, m.parts, move_part, &m);
}

void world_rows_move(myr_world *w, world_row *rows, uint32_t n, world_rows_scratch *scratch) {
  for (uint32_t i = 0, end; i < n; i = end) {
    uint32_t src = rows[i].table, dst = rows[i].dst;
    for (end = i + 1; end < n && rows[end].table == src && rows[end].dst == dst; end++) {}
    move_run(w, rows + i, end - i, w->v.tables[src], w->v.tables[dst], scratch);
  }
  world_rows_remove(w, rows, n, false, scratch);
}

uint32_t world_rows_spawn(myr_world *w, table *t, uint32_t n) {
  uint32_t row = table_append_zeroed(t, n); /* writes only what is not known zero */
  entity_take_bulk(w, t->id, row, n, t->ids + row);
  return row;
}
