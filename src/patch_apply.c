/* Patches, applying a planned batch: rows removed, moved once to their
 * final tables and spawned in bulk, then the values written in patch order
 * with provisional ids in MYR_ENTITY fields resolved. */
#include <stdlib.h>

#include "patch_plan.h"

/* Writes packed values into row `r` of the component's columns starting at
 * column `col`. */
static const unsigned char *unpack_row(const component_info *ci, table *t, int32_t col, uint32_t r,
                                       const unsigned char *src) {
  for (uint32_t f = 0; f < ci->field_count; f++) {
    column *cl = &t->cols[col + (int32_t)f];
    value_copy(cl->data + (size_t)r * cl->elem_size, src, cl->elem_size);
    src += cl->elem_size;
  }
  return src;
}

static int row_desc(const void *a, const void *b) {
  uint32_t x = ((const row_ref *)a)->row, y = ((const row_ref *)b)->row;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* Removes the rows in s->refs[0..n) from their tables (and, for destroys,
 * frees their entities' slots). Rows of one table go in descending order,
 * so that a swap-remove only ever moves in a row that stays: when a table
 * loses all its rows, every removal is a pop and copies nothing. */
static void remove_rows(myr_world *w, patch_scratch *s, uint32_t n, bool release) {
  /* Usually the rows come grouped by table already, ascending within each
   * (patches in row order): then there is nothing to sort. */
  row_ref *rows = s->refs;
  bool grouped = true;
  for (uint32_t i = 1; i < n && grouped; i++)
    grouped = rows[i - 1].table < rows[i].table || (rows[i - 1].table == rows[i].table && rows[i - 1].row < rows[i].row);
  if (!grouped) {
    /* bucket by table: a counting sort, stable, so each bucket keeps plan order */
    uint32_t *start = s->rows;
    memset(start, 0, sizeof(uint32_t) * (w->table_count + 1));
    for (uint32_t i = 0; i < n; i++) start[s->refs[i].table + 1]++;
    for (uint32_t t = 0; t < w->table_count; t++) start[t + 1] += start[t];
    for (uint32_t i = 0; i < n; i++) s->bucketed[start[s->refs[i].table]++] = s->refs[i];
    rows = s->bucketed;
  }
  for (uint32_t i = 0, end; i < n; i = end) {
    uint32_t t = rows[i].table;
    for (end = i + 1; end < n && rows[end].table == t; end++) {}
    bool ascending = true; /* already checked when grouped */
    for (uint32_t k = i + 1; !grouped && k < end && ascending; k++) ascending = rows[k - 1].row < rows[k].row;
    if (!ascending) qsort(rows + i, end - i, sizeof(row_ref), row_desc);
    table *tb = w->tables[t];
    uint32_t k = 0;
    if (ascending) { /* rows that are the table's tail: cut them off at once */
      while (k < end - i && rows[end - 1 - k].row == tb->count - 1 - k) k++;
      for (uint32_t q = 0; release && q < k; q++) entity_release(w, MYR_ENTITY_INDEX(tb->ids[tb->count - 1 - q]));
      tb->count -= k; /* the rows past the count keep their (initialised) bytes */
    }
    for (; k < end - i; k++) {
      const row_ref *r = &rows[ascending ? end - 1 - k : i + k];
      myr_entity gone = tb->ids[r->row];
      world_remove_row(w, tb, r->row);
      if (release) entity_release(w, MYR_ENTITY_INDEX(gone));
    }
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

/* Moves every planned row to its final table: copies runs of rows with the
 * same source and destination column by column, then removes the source
 * rows. */
static void move_rows(myr_world *w, patch_scratch *s) {
  uint32_t n = s->move_count;
  for (uint32_t i = 0; i < n; i++) {
    const entity_record *r = &w->entities[MYR_ENTITY_INDEX(s->plans[s->moves[i]].real)];
    s->refs[i] = (row_ref){r->table, r->row, s->moves[i]};
  }
  int32_t *map = s->colmap;
  for (uint32_t i = 0, end; i < n; i = end) {
    uint32_t dst_id = s->plans[s->refs[i].plan].dst;
    table *src = w->tables[s->refs[i].table], *dst = w->tables[dst_id];
    for (end = i + 1; end < n && s->refs[end].table == src->id && s->plans[s->refs[end].plan].dst == dst_id; end++) {}
    uint32_t first = table_append(dst, end - i);
    column_map(src, dst, map);
    bool contiguous = true;
    for (uint32_t k = i + 1; k < end && contiguous; k++) contiguous = s->refs[k].row == s->refs[k - 1].row + 1;
    for (uint32_t c = 0; c < dst->col_count; c++) {
      column *dc = &dst->cols[c];
      uint32_t size = dc->elem_size;
      unsigned char *to = dc->data + (size_t)first * size;
      if (map[c] < 0) {
        memset(to, 0, (size_t)(end - i) * size);
        continue;
      }
      const unsigned char *from = src->cols[map[c]].data;
      const row_ref *ref = s->refs;
      /* the size is fixed per column: one loop per common size keeps the
       * copies inline; rows that follow each other go in one block */
      if (contiguous)
        memcpy(to, from + (size_t)ref[i].row * size, (size_t)(end - i) * size);
      else if (size == 4)
        for (uint32_t k = i; k < end; k++, to += 4) memcpy(to, from + (size_t)ref[k].row * 4, 4);
      else if (size == 8)
        for (uint32_t k = i; k < end; k++, to += 8) memcpy(to, from + (size_t)ref[k].row * 8, 8);
      else
        for (uint32_t k = i; k < end; k++, to += size) value_copy(to, from + (size_t)ref[k].row * size, size);
    }
    for (uint32_t k = i; k < end; k++) {
      myr_entity e = s->plans[s->refs[k].plan].real;
      dst->ids[first + k - i] = e;
      entity_record *r = &w->entities[MYR_ENTITY_INDEX(e)];
      r->table = dst_id;
      r->row = first + k - i;
    }
  }
  remove_rows(w, s, n, false);
}

/* Runs of spawns into one table get their rows and ids in bulk. */
static void spawn_rows(myr_world *w, patch_scratch *s) {
  for (uint32_t i = 0, k; i < s->spawn_count; i += k) {
    uint32_t dst_id = s->plans[s->spawns[i]].dst;
    for (k = 1; i + k < s->spawn_count && s->plans[s->spawns[i + k]].dst == dst_id; k++) {}
    table *t = w->tables[dst_id];
    uint32_t row = table_append(t, k);
    for (uint32_t j = 0; j < t->col_count; j++)
      memset(t->cols[j].data + (size_t)row * t->cols[j].elem_size, 0, (size_t)k * t->cols[j].elem_size);
    entity_take_bulk(w, dst_id, row, k, t->ids + row);
    for (uint32_t q = 0; q < k; q++) s->plans[s->spawns[i + q]].real = t->ids[row + q];
  }
}

/* Structural changes: destroys, then moves, then spawns, each in plan order
 * (the order of each entity's first structural patch), except that rows
 * leave each table from the last one down. */
static void apply_structure(myr_world *w, patch_scratch *s, myr_patch_stats *st) {
  for (uint32_t i = 0; i < s->destroy_count; i++) {
    const entity_record *r = &w->entities[MYR_ENTITY_INDEX(s->plans[s->destroys[i]].real)];
    s->refs[i] = (row_ref){r->table, r->row, s->destroys[i]};
  }
  remove_rows(w, s, s->destroy_count, true);
  move_rows(w, s);
  spawn_rows(w, s);
  if (st) {
    st->destroyed += s->destroy_count;
    st->moved += s->move_count;
    st->spawned += s->spawn_count;
  }
}

/* The real id for a MYR_ENTITY value: provisional ids of the batch become
 * the id their spawn got (null if it was destroyed in the batch). */
static inline myr_entity resolve_ref(const patch_scratch *s, myr_entity v) {
  if (!MYR_ENTITY_IS_PROVISIONAL(v)) return v;
  uint32_t k = spawn_find(s, v);
  return k == NONE_PLAN || s->plans[k].destroyed ? MYR_ENTITY_NULL : s->plans[k].real;
}

static void resolve_column(const patch_scratch *s, column *cl, uint32_t r) {
  unsigned char *at = cl->data + (size_t)r * sizeof(myr_entity);
  myr_entity v;
  memcpy(&v, at, sizeof v);
  v = resolve_ref(s, v);
  memcpy(at, &v, sizeof v);
}

/* Rewrites the provisional ids in row r of a component's MYR_ENTITY columns. */
static void resolve_row(const patch_scratch *s, const component_info *ci, table *t, int32_t col, uint32_t r) {
  if (!ci->has_entity_fields) return;
  for (uint32_t f = 0; f < ci->field_count; f++)
    if (ci->fields[f].type == MYR_ENTITY) resolve_column(s, &t->cols[col + (int32_t)f], r);
}

/* Writes the values of one patch at its entity's row now. */
static void write_values(myr_world *w, const patch_scratch *s, const patch_hdr *h, myr_entity e) {
  const entity_record *r;
  if (entity_lookup(w, e, &r) != MYR_OK) return;
  table *t = w->tables[r->table];
  const unsigned char *at = (const unsigned char *)(h + 1);
  if (h->op == PATCH_SPAWN) {
    uint32_t count;
    memcpy(&count, at, sizeof count);
    const unsigned char *vals = at + align_up(sizeof(uint32_t) * (1 + (size_t)count), 8);
    for (uint32_t i = 0; i < count; i++) {
      uint32_t c;
      memcpy(&c, at + sizeof count + i * sizeof c, sizeof c);
      const component_info *ci = &w->components[c];
      int32_t col = table_comp_col(t, c); /* absent if removed later in the batch */
      if (col >= 0) {
        unpack_row(ci, t, col, r->row, vals);
        resolve_row(s, ci, t, col, r->row);
      }
      vals += packed_size(ci);
    }
    return;
  }
  int32_t col = table_comp_col(t, h->component);
  if (col < 0) return; /* removed later in the batch */
  const component_info *ci = &w->components[h->component];
  if (h->op == PATCH_SET_FIELD) {
    column *cl = &t->cols[col + h->field];
    value_copy(cl->data + (size_t)r->row * cl->elem_size, at, cl->elem_size);
    if (cl->type == MYR_ENTITY) resolve_column(s, cl, r->row);
  } else if (h->size) {
    unpack_row(ci, t, col, r->row, at);
    resolve_row(s, ci, t, col, r->row);
  } else { /* an add without values: zeros, even if the row did not move */
    for (uint32_t f = 0; f < ci->field_count; f++) {
      column *cl = &t->cols[col + (int32_t)f];
      value_zero(cl->data + (size_t)r->row * cl->elem_size, cl->elem_size);
    }
  }
}

/* A batch of set patches only: one pass, check and write. */
static void apply_sets(myr_world *w, const patch_ref *refs, size_t n, myr_patch_stats *st) {
  const table *memo_table = NULL;
  myr_component memo_component = 0;
  int32_t memo_col = -1;
  uint64_t count = 0, applied = 0, dead = 0;
  for (size_t i = 0; i < n; i++) {
    const unsigned char *bytes = refs[i].buf->bytes;
    for (size_t at = refs[i].seg->begin; at < refs[i].seg->end;) {
      const patch_hdr *h = (const patch_hdr *)(const void *)(bytes + at);
      at += record_size(h);
      count++;
      const entity_record *r;
      if (MYR_ENTITY_IS_PROVISIONAL(h->entity) || entity_lookup(w, h->entity, &r) != MYR_OK) {
        dead++;
        continue;
      }
      table *t = w->tables[r->table];
      if (t != memo_table || h->component != memo_component) { /* sets come in runs */
        memo_table = t;
        memo_component = h->component;
        memo_col = table_comp_col(t, h->component);
      }
      if (memo_col < 0) continue; /* absent: counted below */
      applied++;
      const unsigned char *src = (const unsigned char *)(h + 1);
      if (h->op == PATCH_SET_FIELD) {
        column *cl = &t->cols[memo_col + h->field];
        value_copy(cl->data + (size_t)r->row * cl->elem_size, src, cl->elem_size);
      } else {
        unpack_row(&w->components[h->component], t, memo_col, r->row, src);
      }
    }
  }
  if (st) {
    st->recorded += count;
    st->applied += applied;
    st->skipped_dead += dead;
    st->skipped_absent += count - applied - dead;
  }
}

myr_status patch_apply(myr_world *w, const patch_ref *refs, size_t n, bool structural, myr_patch_stats *st) {
  if (!structural) {
    apply_sets(w, refs, n, st);
    return MYR_OK;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) total += refs[i].seg->count;
  patch_scratch *sc;
  myr_status s = patch_scratch_reserve(w, total, &sc);
  if (s != MYR_OK) return s;
  myr_patch_stats planned = {0};
  patch_plan_batch(w, sc, refs, n, &planned);
  if ((s = patch_reserve_batch(w, sc)) != MYR_OK) return s;
  apply_structure(w, sc, &planned);
  if (sc->values) { /* values go in patch order, at each entity's final row */
    cursor cur = {refs, n, 0, 0};
    for (patch_hdr *h; (h = cursor_next(&cur));) {
      if (h->outcome != OUT_APPLY || !carries_values(w, h)) continue;
      myr_entity e = h->entity;
      /* planning left a provisional id's plan in its header */
      uint32_t k = MYR_ENTITY_IS_PROVISIONAL(e) ? h->reserved : plan_find(sc, e);
      if (k != NONE_PLAN) {
        if (sc->plans[k].destroyed) continue;
        e = sc->plans[k].real;
      }
      write_values(w, sc, h, e);
    }
  }
  if (st) patch_stats_add(st, &planned);
  return MYR_OK;
}
