/* Patches, applying a planned batch: rows removed, moved once to their
 * final tables and spawned in bulk, then the values written in patch order
 * with provisional ids in MYR_ENTITY fields resolved. */
#include <stdlib.h>

#include "patch_plan.h"

/* The world's batch operations get the merge scratch's arrays to work in. */
static world_rows_scratch rows_scratch(patch_scratch *s) {
  return (world_rows_scratch){s->bucketed, s->work, s->rows, s->colmap, s->par};
}

/* Moves every planned row to its final table. */
static void move_rows(myr_world *w, patch_scratch *s) {
  for (uint32_t i = 0; i < s->move_count; i++) {
    if (i + LOOKAHEAD < s->move_count) prefetch_entity(w, NULL, s->plans[s->moves[i + LOOKAHEAD]].real);
    const plan *p = &s->plans[s->moves[i]];
    const entity_record *r = &world_view_of(w)->entities[MYR_ENTITY_INDEX(p->real)];
    s->refs[i] = (world_row){r->table, r->row, p->dst};
  }
  world_rows_scratch scratch = rows_scratch(s);
  world_rows_move(w, s->refs, s->move_count, &scratch);
}

/* Runs of spawns into one table get their rows and ids in bulk. */
static void spawn_rows(myr_world *w, patch_scratch *s) {
  for (uint32_t i = 0, k; i < s->spawn_count; i += k) {
    uint32_t dst_id = s->plans[s->spawns[i]].dst;
    for (k = 1; i + k < s->spawn_count && s->plans[s->spawns[i + k]].dst == dst_id; k++) {}
    table *t = world_table(w, dst_id);
    uint32_t row = world_rows_spawn(w, t, k);
    for (uint32_t q = 0; q < k; q++) s->plans[s->spawns[i + q]].real = t->ids[row + q];
  }
}

/* Structural changes: destroys, then moves, then spawns, each in plan order
 * (the order of each entity's first structural patch), except that rows
 * leave each table from the last one down. */
static void apply_structure(myr_world *w, patch_scratch *s, myr_patch_stats *st) {
  for (uint32_t i = 0; i < s->destroy_count; i++) {
    if (i + LOOKAHEAD < s->destroy_count) prefetch_entity(w, NULL, s->plans[s->destroys[i + LOOKAHEAD]].real);
    const entity_record *r = &world_view_of(w)->entities[MYR_ENTITY_INDEX(s->plans[s->destroys[i]].real)];
    s->refs[i] = (world_row){r->table, r->row, NO_TABLE};
  }
  world_rows_scratch scratch = rows_scratch(s);
  world_rows_remove(w, s->refs, s->destroy_count, true, &scratch);
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

/* The commutative updates, on one value of a field of type T: NAN(x) says
 * whether x is a NaN (a NaN value changes nothing; a NaN field takes any
 * value under min and max). */
#define COMBINE(T, NAN, op, cell, arg)                                   \
  do {                                                                   \
    T cur, v;                                                            \
    memcpy(&cur, cell, sizeof cur);                                      \
    memcpy(&v, arg, sizeof v);                                           \
    if (op == PATCH_ADD_TO) cur = (T)(cur + v);                          \
    else if (NAN(v)) return;                                             \
    else if (NAN(cur) || (op == PATCH_MIN ? v < cur : v > cur)) cur = v; \
    memcpy(cell, &cur, sizeof cur);                                      \
  } while (0)
#define NOT_NAN(x) ((void)(x), false)
static inline bool nan_f32(float x) { return x != x; }
static inline bool nan_f64(double x) { return x != x; }

/* Applies a commutative update to one cell. Signed integers add as
 * unsigned ones (wrapping modulo 2^bits, no overflow) and compare signed. */
static void combine_field(patch_op op, myr_type type, unsigned char *cell, const unsigned char *arg) {
  switch (type) {
  case MYR_F32: COMBINE(float, nan_f32, op, cell, arg); break;
  case MYR_F64: COMBINE(double, nan_f64, op, cell, arg); break;
  case MYR_U32: COMBINE(uint32_t, NOT_NAN, op, cell, arg); break;
  case MYR_U64: COMBINE(uint64_t, NOT_NAN, op, cell, arg); break;
  case MYR_I32:
    if (op == PATCH_ADD_TO) COMBINE(uint32_t, NOT_NAN, op, cell, arg);
    else COMBINE(int32_t, NOT_NAN, op, cell, arg);
    break;
  case MYR_I64:
    if (op == PATCH_ADD_TO) COMBINE(uint64_t, NOT_NAN, op, cell, arg);
    else COMBINE(int64_t, NOT_NAN, op, cell, arg);
    break;
  default: break; /* recording refuses other types */
  }
}

/* Writes the values of one patch at its entity's row now. */
static void write_values(myr_world *w, const patch_scratch *s, const patch_hdr *h, myr_entity e) {
  const entity_record *r;
  if (entity_lookup(w, e, &r) != MYR_OK) return;
  table *t = world_table(w, r->table);
  const unsigned char *at = (const unsigned char *)(h + 1);
  if (h->op == PATCH_SPAWN) {
    uint32_t count;
    memcpy(&count, at, sizeof count);
    const unsigned char *vals = at + align_up(sizeof(uint32_t) * (1 + (size_t)count), 8);
    for (uint32_t i = 0; i < count; i++) {
      uint32_t c;
      memcpy(&c, at + sizeof count + i * sizeof c, sizeof c);
      const component_info *ci = world_component(w, c);
      int32_t col = table_comp_col(t, c); /* absent if removed later in the batch */
      if (col >= 0) {
        table_write_packed(ci, t, col, r->row, vals);
        resolve_row(s, ci, t, col, r->row);
      }
      vals += packed_size(ci);
    }
    return;
  }
  int32_t col = table_comp_col(t, h->component);
  if (col < 0) return; /* removed later in the batch */
  const component_info *ci = world_component(w, h->component);
  if (h->op == PATCH_ADD_TO || h->op == PATCH_MIN || h->op == PATCH_MAX) {
    column *cl = &t->cols[col + h->field];
    combine_field((patch_op)h->op, cl->type, cl->data + (size_t)r->row * cl->elem_size, at);
  } else if (h->op == PATCH_SET_FIELD) {
    column *cl = &t->cols[col + h->field];
    value_copy(cl->data + (size_t)r->row * cl->elem_size, at, cl->elem_size);
    if (cl->type == MYR_ENTITY) resolve_column(s, cl, r->row);
  } else if (h->size) {
    table_write_packed(ci, t, col, r->row, at);
    resolve_row(s, ci, t, col, r->row);
  } else { /* an add without values: zeros, even if the row did not move */
    table_zero_component(ci, t, col, r->row);
  }
}

/* Asks for the record of the entity a patch's values go to (h may be NULL:
 * returns whether it was not). */
static inline bool prefetch_target(const myr_world *w, const patch_scratch *s, const patch_hdr *h) {
  if (!h) return false;
  myr_entity e = h->entity;
  if (MYR_ENTITY_IS_PROVISIONAL(e)) {
    if (h->outcome != OUT_APPLY || h->reserved == NONE_PLAN) return true;
    e = s->plans[h->reserved].real;
  }
  prefetch_entity(w, NULL, e);
  return true;
}

/* A batch of set patches only: one pass, check and write. */
static void apply_sets(myr_world *w, const patch_ref *refs, size_t n, myr_patch_stats *st) {
  const table *memo_table = NULL;
  myr_component memo_component = 0;
  int32_t memo_col = -1;
  uint64_t count = 0, applied = 0, dead = 0;
  for (size_t i = 0; i < n; i++) {
    const unsigned char *bytes = refs[i].buf->bytes;
    size_t end = refs[i].run->end, ahead = refs[i].run->begin;
    for (size_t at = ahead; at < end;) {
      for (; ahead < end && ahead - at < LOOKAHEAD * sizeof(patch_hdr);
           ahead += record_size((const patch_hdr *)(const void *)(bytes + ahead)))
        prefetch_entity(w, NULL, ((const patch_hdr *)(const void *)(bytes + ahead))->entity);
      const patch_hdr *h = (const patch_hdr *)(const void *)(bytes + at);
      at += record_size(h);
      count++;
      const entity_record *r;
      if (MYR_ENTITY_IS_PROVISIONAL(h->entity) || entity_lookup(w, h->entity, &r) != MYR_OK) {
        dead++;
        continue;
      }
      table *t = world_table(w, r->table);
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
        table_write_packed(world_component(w, h->component), t, memo_col, r->row, src);
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

myr_status patch_apply(myr_world *w, const patch_ref *refs, size_t n, bool structural, const world_par *par,
                       myr_patch_stats *st) {
  if (!structural) {
    apply_sets(w, refs, n, st);
    return MYR_OK;
  }
  uint64_t total = 0;
  for (size_t i = 0; i < n; i++) total += refs[i].run->count;
  patch_scratch *sc;
  myr_status s = patch_scratch_reserve(w, total, &sc);
  if (s != MYR_OK) return s;
  myr_patch_stats planned = {0};
  sc->par = par;
  if ((s = patch_plan_batch(w, sc, refs, n, &planned)) != MYR_OK) return s;
  if ((s = patch_reserve_batch(w, sc)) != MYR_OK) return s;
  apply_structure(w, sc, &planned);
  if (sc->values) { /* values go in patch order, at each entity's final row */
    cursor cur = {refs, n, 0, 0}, ahead = cur;
    for (uint32_t k = 0; k < LOOKAHEAD && prefetch_target(w, sc, cursor_next(&ahead)); k++) {}
    for (patch_hdr *h; (h = cursor_next(&cur));) {
      prefetch_target(w, sc, cursor_next(&ahead));
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
