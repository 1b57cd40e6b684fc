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
    s->refs[i] = (world_row){r->table, r->row, p->dst, MYR_ENTITY_INDEX(p->real)};
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
    for (uint32_t q = 0; q < k; q++) {
      plan *p = &s->plans[s->spawns[i + q]];
      p->real = t->ids[row + q];
      p->row = row + q;
    }
  }
}

/* Structural changes: destroys, then moves, then spawns, each in plan order
 * (the order of each entity's first structural patch), except that rows
 * leave each table from the last one down. */
static void apply_structure(myr_world *w, patch_scratch *s, myr_patch_stats *st) {
  for (uint32_t i = 0; i < s->destroy_count; i++) { /* rows as planning found them: nothing moved since */
    const plan *p = &s->plans[s->destroys[i]];
    s->refs[i] = (world_row){p->src, p->row, NO_TABLE, MYR_ENTITY_INDEX(p->real)};
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

/* Writes the values of one patch at row `row` of table t, its entity's
 * place after the batch's structural changes. */
static void write_values(myr_world *w, const patch_scratch *s, const patch_hdr *h, table *t, uint32_t row) {
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
        table_write_packed(ci, t, col, row, vals);
        resolve_row(s, ci, t, col, row);
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
    combine_field((patch_op)h->op, cl->type, cl->data + (size_t)row * cl->elem_size, at);
  } else if (h->op == PATCH_SET_FIELD) {
    column *cl = &t->cols[col + h->field];
    value_copy(cl->data + (size_t)row * cl->elem_size, at, cl->elem_size);
    if (cl->type == MYR_ENTITY) resolve_column(s, cl, row);
  } else if (h->size) {
    table_write_packed(ci, t, col, row, at);
    resolve_row(s, ci, t, col, row);
  } else { /* an add without values: zeros, even if the row did not move */
    table_zero_component(ci, t, col, row);
  }
}

/* A batch of sets shared out by entity slot (all of an entity's sets in
 * one part, in patch order); each part counts what it applied and what
 * it found dead. */
#define SETS_MAX_PARTS 64
typedef struct sets_job {
  myr_world *w;
  const patch_ref *refs;
  size_t n;
  uint32_t parts;
  struct {
    alignas(64) uint64_t applied;
    uint64_t dead;
  } counts[SETS_MAX_PARTS];
} sets_job;

static inline uint32_t set_part(myr_entity e, uint32_t parts) {
  return parts == 1 || MYR_ENTITY_IS_PROVISIONAL(e) ? 0 : block_part(MYR_ENTITY_INDEX(e) >> 4, parts);
}

static void sets_part(void *arg, uint32_t part) {
  sets_job *j = arg;
  myr_world *w = j->w;
  const table *memo_table = NULL;
  myr_component memo_component = 0;
  int32_t memo_col = -1;
  uint64_t applied = 0, dead = 0;
  for (size_t i = 0; i < j->n; i++) {
    const unsigned char *bytes = j->refs[i].buf->bytes;
    size_t end = j->refs[i].run->end, ahead = j->refs[i].run->begin;
    for (size_t at = ahead; at < end;) {
      for (; ahead < end && ahead - at < LOOKAHEAD * sizeof(patch_hdr);
           ahead += record_size((const patch_hdr *)(const void *)(bytes + ahead))) {
        myr_entity a = ((const patch_hdr *)(const void *)(bytes + ahead))->entity;
        if (set_part(a, j->parts) == part) prefetch_entity(w, NULL, a);
      }
      const patch_hdr *h = (const patch_hdr *)(const void *)(bytes + at);
      at += record_size(h);
      if (set_part(h->entity, j->parts) != part) continue;
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
  j->counts[part].applied = applied;
  j->counts[part].dead = dead;
}

/* A batch of set patches only: one pass, check and write. */
static void apply_sets(myr_world *w, const patch_ref *refs, size_t n, const world_par *par, myr_patch_stats *st) {
  uint64_t count = 0, applied = 0, dead = 0;
  for (size_t i = 0; i < n; i++) count += refs[i].run->count;
  sets_job j = {.w = w, .refs = refs, .n = n, .parts = world_par_parts(par, count)};
  if (j.parts > SETS_MAX_PARTS) j.parts = SETS_MAX_PARTS;
  world_par_run(par, count, j.parts, sets_part, &j);
  for (uint32_t p = 0; p < j.parts; p++) {
    applied += j.counts[p].applied;
    dead += j.counts[p].dead;
  }
  if (st) {
    st->recorded += count;
    st->applied += applied;
    st->skipped_dead += dead;
    st->skipped_absent += count - applied - dead;
  }
}

/* The value writes of a batch, shared out: each entity's patches go to one
 * part, which writes them in patch order, so the result is the serial one.
 * Entities spawned in the batch (named by provisional ids) go by their row,
 * in blocks of 256 rows, so that parts do not write the same cache lines;
 * the others by their slot. */
typedef struct values_job {
  myr_world *w;
  const patch_scratch *sc;
  const patch_ref *refs;
  size_t n;
  uint32_t parts;
} values_job;

/* The part that writes h's values (parts when none does), and the entity
 * they go to. */
static inline uint32_t value_part(const myr_world *w, const patch_scratch *s, const patch_hdr *h, uint32_t parts,
                                  myr_entity *e) {
  if (h->outcome != OUT_APPLY || !carries_values(w, h)) return parts;
  *e = h->entity;
  if (MYR_ENTITY_IS_PROVISIONAL(*e)) { /* planning left its plan in its header */
    uint32_t k = h->reserved;
    if (k == NONE_PLAN || s->plans[k].destroyed) return parts;
    *e = s->plans[k].real;
    return parts == 1 ? 0 : block_part((s->plans[k].row >> 8) + s->plans[k].dst, parts);
  }
  return parts == 1 ? 0 : block_part(MYR_ENTITY_INDEX(*e) >> 4, parts);
}

static void values_part(void *arg, uint32_t part) {
  const values_job *j = arg;
  const patch_scratch *sc = j->sc;
  myr_entity e = MYR_ENTITY_NULL;
  cursor cur = {j->refs, j->n, 0, 0}, ahead = cur;
  for (uint32_t k = 0; k < LOOKAHEAD; k++) {
    const patch_hdr *a = cursor_next(&ahead);
    if (!a) break;
    if (!MYR_ENTITY_IS_PROVISIONAL(a->entity) && value_part(j->w, sc, a, j->parts, &e) == part)
      prefetch_entity(j->w, NULL, e);
  }
  for (patch_hdr *h; (h = cursor_next(&cur));) {
    const patch_hdr *a = cursor_next(&ahead);
    if (a && !MYR_ENTITY_IS_PROVISIONAL(a->entity) && value_part(j->w, sc, a, j->parts, &e) == part)
      prefetch_entity(j->w, NULL, e);
    if (value_part(j->w, sc, h, j->parts, &e) != part) continue;
    if (MYR_ENTITY_IS_PROVISIONAL(h->entity)) { /* spawned in the batch: its plan knows its row */
      const plan *p = &sc->plans[h->reserved];
      write_values(j->w, sc, h, world_table(j->w, p->dst), p->row);
      continue;
    }
    uint32_t k = plan_find(sc, e); /* moved or destroyed by a patch of the batch? */
    if (k != NONE_PLAN) {
      if (sc->plans[k].destroyed) continue;
      e = sc->plans[k].real;
    }
    const entity_record *r;
    if (entity_lookup(j->w, e, &r) == MYR_OK) write_values(j->w, sc, h, world_table(j->w, r->table), r->row);
  }
}

myr_status patch_apply(myr_world *w, const patch_ref *refs, size_t n, bool structural, const world_par *par,
                       myr_patch_stats *st) {
  if (!structural) {
    apply_sets(w, refs, n, par, st);
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
    values_job job = {w, sc, refs, n, world_par_parts(par, sc->values)};
    world_par_run(par, sc->values, job.parts, values_part, &job);
  }
  if (st) patch_stats_add(st, &planned);
  return MYR_OK;
}
