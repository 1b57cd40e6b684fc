/* Patches: recording into per-worker buffers, and applying a batch in key
 * order with one row move per entity. */
#include <stdlib.h>

#include "patch_impl.h"

/* ---- buffers ------------------------------------------------------------- */

void patch_buffer_init(patch_buffer *b, myr_world *w) {
  memset(b, 0, sizeof *b);
  b->world = w;
}

uint64_t patch_batch_open(myr_world *w) {
  w->patch_batch = (w->patch_batch + 1) & BATCH_MASK;
  return PROVISIONAL_BIT | (uint64_t)w->patch_batch << TOKEN_BITS;
}

void patch_buffer_free(patch_buffer *b) {
  world_free(b->world, b->bytes, b->cap);
  world_free(b->world, b->segs, (size_t)b->seg_cap * sizeof(patch_segment));
  b->bytes = NULL;
  b->segs = NULL;
  b->cap = b->used = 0;
  b->seg_cap = b->seg_count = 0;
}

void patch_buffer_clear(patch_buffer *b) {
  b->used = 0;
  b->seg_count = 0;
  b->open = NULL;
  b->patches = 0;
  b->structural = 0;
  b->failed = false;
}

static myr_status buffer_reserve(patch_buffer *b, size_t more) {
  if (b->cap - b->used >= more) return MYR_OK;
  size_t cap = b->cap ? b->cap * 2 : 4096;
  while (cap - b->used < more) cap *= 2;
  unsigned char *bytes = world_alloc(b->world, cap, 64);
  if (!bytes) return MYR_ENOMEM;
  if (b->used) memcpy(bytes, b->bytes, b->used);
  world_free(b->world, b->bytes, b->cap);
  b->bytes = bytes;
  b->cap = cap;
  return MYR_OK;
}

/* Appends a record for handle p: opens a new segment when the buffer's open
 * segment belongs to another handle (a chunk that started or resumed).
 * Returns the header, or NULL when memory ran out (nothing recorded). */
static patch_hdr *record(myr_patches *p, patch_op op, myr_entity e, myr_component c, uint32_t field,
                         uint32_t payload) {
  patch_buffer *b = p->buf;
  size_t bytes = sizeof(patch_hdr) + align_up(payload, 8);
  /* A failure is remembered: the schedule then refuses to apply a stage
   * whose callbacks lost a patch (the callback may not check). */
  if (buffer_reserve(b, bytes) != MYR_OK) {
    b->failed = true;
    return NULL;
  }
  if (b->open != p || b->seg_count == 0) {
    if (b->seg_count == b->seg_cap &&
        world_grow_array(b->world, (void **)&b->segs, &b->seg_cap, sizeof(patch_segment), b->seg_count + 1) != MYR_OK) {
      b->failed = true;
      return NULL;
    }
    b->segs[b->seg_count++] = (patch_segment){p->system, p->chunk, p->seq, 0, b->used, b->used};
    b->open = p;
  }
  patch_segment *s = &b->segs[b->seg_count - 1];
  patch_hdr *h = (patch_hdr *)(void *)(b->bytes + b->used);
  *h = (patch_hdr){(uint8_t)op, OUT_APPLY, (uint16_t)field, c, e, payload, 0};
  b->used += bytes;
  s->end = b->used;
  s->count++;
  p->seq++;
  b->patches++;
  if (op != PATCH_SET && op != PATCH_SET_FIELD) b->structural++;
  return h;
}

static inline unsigned char *payload_of(patch_hdr *h) { return (unsigned char *)(h + 1); }

#define NONE_PLAN UINT32_MAX
static inline size_t record_size(const patch_hdr *h) { return sizeof(patch_hdr) + align_up(h->size, 8); }

/* Packed size of a component's values: its fields back to back. */
static inline uint32_t packed_size(const component_info *ci) { return ci->packed_size; }

static inline void pack_row(const component_info *ci, const unsigned char *row, unsigned char *dst) {
  if (row && ci->row_is_packed) { /* e.g. struct { float x, y, z; }: one copy */
    value_copy(dst, row, ci->packed_size);
    return;
  }
  for (uint32_t f = 0; f < ci->field_count; f++) {
    if (row) value_copy(dst, row + ci->fields[f].offset, ci->elem_size[f]);
    else value_zero(dst, ci->elem_size[f]);
    dst += ci->elem_size[f];
  }
}

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

/* ---- recording ----------------------------------------------------------- */

static myr_status check_component(const myr_patches *p, myr_component c) {
  if (!p || !p->buf) return MYR_EINVAL;
  return c < p->buf->world->component_count ? MYR_OK : MYR_ENOCOMP;
}

/* A provisional id may be named only by the handle that handed it out, in
 * the same batch. */
static myr_status check_provisional(const myr_patches *p, myr_entity e) {
  if ((e & ~TOKEN_MASK) != p->batch_bits) return MYR_ESTALE;
  return (e & TOKEN_MASK) - p->token_first < p->spawned ? MYR_OK : MYR_EINVAL; /* unsigned: below first too */
}

static inline myr_status check_entity(const myr_patches *p, myr_entity e) {
  if (e == MYR_ENTITY_NULL) return MYR_EINVAL;
  return MYR_ENTITY_IS_PROVISIONAL(e) ? check_provisional(p, e) : MYR_OK;
}

/* The MYR_ENTITY fields of a row struct: real ids and null pass, a
 * provisional id must be one of the handle's own. */
static myr_status check_row_refs(const myr_patches *p, const component_info *ci, const unsigned char *row) {
  if (!row || !ci->has_entity_fields) return MYR_OK;
  for (uint32_t f = 0; f < ci->field_count; f++) {
    if (ci->fields[f].type != MYR_ENTITY) continue;
    myr_entity v;
    memcpy(&v, row + ci->fields[f].offset, sizeof v);
    if (MYR_ENTITY_IS_PROVISIONAL(v)) {
      myr_status s = check_provisional(p, v);
      if (s != MYR_OK) return s;
    }
  }
  return MYR_OK;
}

static myr_status record_values(myr_patches *p, patch_op op, myr_entity e, myr_component c, const void *row) {
  myr_status s = check_component(p, c);
  if (s == MYR_OK) s = check_entity(p, e);
  const component_info *ci = s == MYR_OK ? &p->buf->world->components[c] : NULL;
  if (s == MYR_OK) s = check_row_refs(p, ci, row);
  if (s != MYR_OK) return s;
  /* an add without values records no payload: zeros are written at apply */
  uint32_t size = (op == PATCH_ADD && !row) ? 0 : packed_size(ci);
  patch_hdr *h = record(p, op, e, c, 0, size);
  if (!h) return MYR_ENOMEM;
  if (size) pack_row(ci, row, payload_of(h));
  return MYR_OK;
}

myr_status myr_patch_set(myr_patches *p, myr_entity e, myr_component c, const void *row) {
  if (!row) return MYR_EINVAL;
  return record_values(p, PATCH_SET, e, c, row);
}

myr_status myr_patch_add(myr_patches *p, myr_entity e, myr_component c, const void *row) {
  return record_values(p, PATCH_ADD, e, c, row);
}

myr_status myr_patch_set_field(myr_patches *p, myr_entity e, myr_component c, uint32_t field,
                               myr_type type, const void *value) {
  myr_status s = check_component(p, c);
  if (s != MYR_OK) return s;
  if (!value) return MYR_EINVAL;
  if ((s = check_entity(p, e)) != MYR_OK) return s;
  const component_info *ci = &p->buf->world->components[c];
  if (field >= ci->field_count) return MYR_EFIELD;
  if (ci->fields[field].type != type) return MYR_ETYPE;
  if (type == MYR_ENTITY) {
    myr_entity v;
    memcpy(&v, value, sizeof v);
    if (MYR_ENTITY_IS_PROVISIONAL(v) && (s = check_provisional(p, v)) != MYR_OK) return s;
  }
  patch_hdr *h = record(p, PATCH_SET_FIELD, e, c, field, ci->elem_size[field]);
  if (!h) return MYR_ENOMEM;
  memcpy(payload_of(h), value, ci->elem_size[field]);
  return MYR_OK;
}

myr_status myr_patch_remove(myr_patches *p, myr_entity e, myr_component c) {
  myr_status s = check_component(p, c);
  if (s == MYR_OK) s = check_entity(p, e);
  if (s != MYR_OK) return s;
  return record(p, PATCH_REMOVE, e, c, 0, 0) ? MYR_OK : MYR_ENOMEM;
}

myr_status myr_patch_destroy(myr_patches *p, myr_entity e) {
  if (!p || !p->buf) return MYR_EINVAL;
  myr_status s = check_entity(p, e);
  if (s != MYR_OK) return s;
  return record(p, PATCH_DESTROY, e, 0, 0, 0) ? MYR_OK : MYR_ENOMEM;
}

myr_status myr_patch_spawn(myr_patches *p, const myr_component *comps, uint32_t n,
                           const void *const *values, myr_entity *out) {
  if (!p || !p->buf || (n && !comps)) return MYR_EINVAL;
  const myr_world *w = p->buf->world;
  compset seen = {{0}};
  uint32_t size = (uint32_t)align_up(sizeof(uint32_t) * (1 + (size_t)n), 8);
  for (uint32_t i = 0; i < n; i++) {
    if (comps[i] >= w->component_count) return MYR_ENOCOMP;
    if (compset_has(&seen, comps[i])) return MYR_EINVAL; /* each component once */
    compset_put(&seen, comps[i]);
    size += packed_size(&w->components[comps[i]]);
    myr_status s = values ? check_row_refs(p, &w->components[comps[i]], values[i]) : MYR_OK;
    if (s != MYR_OK) return s;
  }
  if (p->spawned >= p->token_room) return MYR_ELIMIT;
  myr_entity provisional = p->batch_bits | (p->token_first + p->spawned);
  if (!values) size = (uint32_t)align_up(sizeof(uint32_t) * (1 + (size_t)n), 8); /* zeros: no payload */
  patch_hdr *h = record(p, PATCH_SPAWN, provisional, 0, values != NULL, size);
  if (!h) return MYR_ENOMEM;
  p->spawned++;
  unsigned char *at = payload_of(h);
  memcpy(at, &n, sizeof n);
  if (n) memcpy(at + sizeof n, comps, sizeof(uint32_t) * n);
  at += align_up(sizeof(uint32_t) * (1 + (size_t)n), 8);
  for (uint32_t i = 0; values && i < n; i++) {
    const component_info *ci = &w->components[comps[i]];
    pack_row(ci, values[i], at);
    at += packed_size(ci);
  }
  if (out) *out = provisional;
  return MYR_OK;
}

/* ---- command buffers ----------------------------------------------------- */

/* A command buffer's handle starts a batch: tokens from 0, up to 2^40. */
static void command_batch_open(myr_patches *p) {
  p->batch_bits = patch_batch_open(p->buf->world);
  p->token_first = 0;
  p->token_room = TOKEN_MASK + 1;
  p->spawned = 0;
  p->seq = 0;
}

myr_status myr_patches_create(myr_world *w, myr_patches **out) {
  if (!w || !out) return MYR_EINVAL;
  myr_patches *p = world_alloc(w, sizeof *p, alignof(myr_patches));
  patch_buffer *b = world_alloc(w, sizeof *b, alignof(patch_buffer));
  if (!p || !b) {
    world_free(w, p, sizeof *p);
    world_free(w, b, sizeof *b);
    return MYR_ENOMEM;
  }
  patch_buffer_init(b, w);
  *p = (myr_patches){.buf = b, .owned = b};
  command_batch_open(p);
  *out = p;
  return MYR_OK;
}

/* Handles given to system callbacks belong to the schedule. */
static inline bool is_command_buffer(const myr_patches *p) { return p && p->buf && p->owned == p->buf; }

void myr_patches_destroy(myr_patches *p) {
  if (!is_command_buffer(p)) return;
  myr_world *w = p->buf->world;
  patch_buffer_free(p->owned);
  world_free(w, p->owned, sizeof *p->owned);
  world_free(w, p, sizeof *p);
}

void myr_patches_clear(myr_patches *p) {
  if (!is_command_buffer(p)) return;
  patch_buffer_clear(p->buf);
  command_batch_open(p);
}

uint64_t myr_patches_count(const myr_patches *p) { return p && p->buf ? p->buf->patches : 0; }

myr_status myr_patches_apply(myr_patches *p, myr_patch_stats *stats) {
  if (!p || !p->buf) return MYR_EINVAL;
  if (!is_command_buffer(p)) return MYR_EBUSY;
  patch_buffer *b = p->buf;
  /* one buffer recorded by one handle: its segments are already in order */
  patch_ref refs_small[16] = {{0}};
  patch_ref *refs = refs_small;
  size_t refs_size = (size_t)b->seg_count * sizeof(patch_ref);
  if (b->seg_count > 16 && !(refs = world_alloc(b->world, refs_size, alignof(patch_ref)))) return MYR_ENOMEM;
  for (uint32_t i = 0; i < b->seg_count; i++) refs[i] = (patch_ref){b, &b->segs[i]};
  myr_patch_stats counts = {0};
  myr_status s = patch_apply(b->world, refs, b->seg_count, b->structural != 0, &counts);
  if (refs != refs_small) world_free(b->world, refs, refs_size);
  if (s != MYR_OK) return s;
  if (stats) *stats = counts;
  patch_buffer_clear(b);
  command_batch_open(p);
  return MYR_OK;
}

/* ---- applying ------------------------------------------------------------ */

/* What the merge plans for one entity touched by a structural patch. Kept
 * small: the apply passes walk these arrays, and at a million patches each
 * byte of a plan is a megabyte of memory traffic per pass. The component
 * set lives apart, in sets[], as only planning and reserving need it, and
 * only as many words of it as the world has components for. */
typedef struct plan {
  myr_entity named;    /* the id the patches use: real or provisional */
  myr_entity real;     /* the real id (resolved for spawns in the apply pass) */
  uint32_t src;        /* table before the batch, NO_TABLE for a spawn */
  uint32_t dst;        /* table after the batch, NO_TABLE if none */
  uint8_t spawned, destroyed;
} plan;

/* A row of a table that a batch moves out or destroys. */
typedef struct row_ref {
  uint32_t table, row, plan;
} row_ref;

typedef struct patch_scratch {
  plan *plans;
  uint64_t *sets;      /* per plan, `words` words: the set after the patches so far */
  uint32_t words;      /* words of a set in use: components / 64, rounded up */
  uint32_t plan_count, plan_cap, set_cap;
  /* Plan index by entity slot. Never cleared: an entry counts only if it
   * points at a plan of this batch for that very id, so stale entries from
   * earlier batches are harmless. */
  uint32_t *by_slot;
  uint32_t slot_cap;
  /* The plans of the batch's spawns in planning (key) order, which is the
   * order of their provisional ids: a provisional id is found by bisection. */
  uint32_t *spawn_order;
  uint32_t spawn_seen, spawn_cap;
  /* plan indices by what happens to them, in plan order */
  uint32_t *destroys, *moves, *spawns;
  uint32_t destroy_count, move_count, spawn_count, list_cap[3];
  uint32_t *rows;      /* rows needed per table; then bucket offsets */
  uint32_t rows_cap;
  row_ref *refs, *bucketed; /* rows to move or destroy, in plan order and by table */
  uint32_t refs_cap, bucketed_cap;
  int32_t *colmap;     /* per destination column, the source column */
  uint32_t colmap_cap;
  uint64_t values;     /* applied patches that carry values to write */
} patch_scratch;

void patch_scratch_free(myr_world *w) {
  patch_scratch *s = w->patch_scratch;
  if (!s) return;
  world_free(w, s->plans, (size_t)s->plan_cap * sizeof(plan));
  world_free(w, s->sets, (size_t)s->set_cap * sizeof(uint64_t));
  world_free(w, s->by_slot, (size_t)s->slot_cap * sizeof(uint32_t));
  world_free(w, s->spawn_order, (size_t)s->spawn_cap * sizeof(uint32_t));
  world_free(w, s->destroys, (size_t)s->list_cap[0] * sizeof(uint32_t));
  world_free(w, s->moves, (size_t)s->list_cap[1] * sizeof(uint32_t));
  world_free(w, s->spawns, (size_t)s->list_cap[2] * sizeof(uint32_t));
  world_free(w, s->rows, (size_t)s->rows_cap * sizeof(uint32_t));
  world_free(w, s->refs, (size_t)s->refs_cap * sizeof(row_ref));
  world_free(w, s->bucketed, (size_t)s->bucketed_cap * sizeof(row_ref));
  world_free(w, s->colmap, (size_t)s->colmap_cap * sizeof(int32_t));
  world_free(w, s, sizeof *s);
  w->patch_scratch = NULL;
}

/* The plan of a provisional id of the batch, NONE_PLAN if none. */
static uint32_t spawn_find(const patch_scratch *s, myr_entity e) {
  uint32_t lo = 0, hi = s->spawn_seen;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (s->plans[s->spawn_order[mid]].named < e) lo = mid + 1;
    else hi = mid;
  }
  return lo < s->spawn_seen && s->plans[s->spawn_order[lo]].named == e ? s->spawn_order[lo] : NONE_PLAN;
}

static inline uint32_t plan_find(const patch_scratch *s, myr_entity e) {
  if (MYR_ENTITY_IS_PROVISIONAL(e)) return spawn_find(s, e);
  uint32_t i = MYR_ENTITY_INDEX(e);
  if (i >= s->slot_cap) return NONE_PLAN;
  uint32_t k = s->by_slot[i];
  return k < s->plan_count && s->plans[k].named == e ? k : NONE_PLAN;
}

/* Grows an index array to `need` entries; new entries are filled with
 * UINT32_MAX so that no tool sees an uninitialised read. */
static myr_status index_reserve(myr_world *w, uint32_t **arr, uint32_t *cap, uint32_t need) {
  uint32_t old = *cap;
  if (need <= old) return MYR_OK;
  myr_status st = world_grow_array(w, (void **)arr, cap, sizeof(uint32_t), need);
  if (st == MYR_OK) memset(*arr + old, 0xff, (size_t)(*cap - old) * sizeof(uint32_t));
  return st;
}

/* Sizes the scratch for up to n plans and every entity slot. */
static myr_status scratch_reserve(myr_world *w, uint64_t n) {
  if (n > UINT32_MAX / 4) return MYR_ELIMIT;
  patch_scratch *s = w->patch_scratch;
  if (!s) {
    s = world_alloc(w, sizeof *s, alignof(patch_scratch));
    if (!s) return MYR_ENOMEM;
    memset(s, 0, sizeof *s);
    w->patch_scratch = s;
  }
  uint32_t m = (uint32_t)n;
  myr_status st = world_grow_array(w, (void **)&s->plans, &s->plan_cap, sizeof(plan), m);
  s->words = (w->component_count + 63) / 64;
  if (s->words == 0) s->words = 1;
  if ((uint64_t)m * s->words > UINT32_MAX) return MYR_ELIMIT;
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->sets, &s->set_cap, sizeof(uint64_t), m * s->words);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->destroys, &s->list_cap[0], sizeof(uint32_t), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->moves, &s->list_cap[1], sizeof(uint32_t), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->spawns, &s->list_cap[2], sizeof(uint32_t), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->refs, &s->refs_cap, sizeof(row_ref), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->bucketed, &s->bucketed_cap, sizeof(row_ref), m);
  if (st == MYR_OK) st = index_reserve(w, &s->by_slot, &s->slot_cap, w->slot_count);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->spawn_order, &s->spawn_cap, sizeof(uint32_t), m);
  s->plan_count = 0;
  s->spawn_seen = 0;
  s->values = 0;
  return st;
}

static inline uint64_t *plan_set(patch_scratch *s, uint32_t k) { return s->sets + (size_t)k * s->words; }

static inline bool words_eq(const uint64_t *a, const uint64_t *b, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (a[i] != b[i]) return false;
  return true;
}

static uint32_t plan_new(patch_scratch *s, myr_entity named, uint32_t src, const uint64_t *set, bool spawned) {
  uint32_t k = s->plan_count++;
  if (spawned) s->spawn_order[s->spawn_seen++] = k;
  else s->by_slot[MYR_ENTITY_INDEX(named)] = k;
  s->plans[k] = (plan){named, spawned ? MYR_ENTITY_NULL : named, src, NO_TABLE, spawned, 0};
  if (set) memcpy(plan_set(s, k), set, s->words * sizeof(uint64_t));
  return k;
}

/* Iterates the patches of a batch in key order. */
typedef struct cursor {
  const patch_ref *refs;
  size_t n, r;
  size_t at;
} cursor;

static patch_hdr *cursor_next(cursor *c) {
  while (c->r < c->n) {
    const patch_segment *seg = c->refs[c->r].seg;
    if (c->at < seg->begin) c->at = seg->begin;
    if (c->at < seg->end) {
      patch_hdr *h = (patch_hdr *)(void *)(c->refs[c->r].buf->bytes + c->at);
      c->at += record_size(h);
      return h;
    }
    c->r++;
    c->at = 0;
  }
  return NULL;
}

static inline bool carries_values(const myr_world *w, const patch_hdr *h) {
  return h->op == PATCH_SET || h->op == PATCH_SET_FIELD || (h->op == PATCH_SPAWN && h->field) ||
         (h->op == PATCH_ADD && w->components[h->component].field_count);
}

/* Writes a spawn's component set into `words` words at set (zeroed first).
 * Built in place: building a compset on the stack and copying it made gcc
 * read 16-byte halves of freshly stored 8-byte words, and the store-
 * forwarding stalls cost more than the rest of planning a spawn. */
static void spawn_set(const patch_hdr *h, uint64_t *set, uint32_t words) {
  memset(set, 0, words * sizeof(uint64_t));
  const unsigned char *at = (const unsigned char *)(h + 1);
  uint32_t count;
  memcpy(&count, at, sizeof count);
  for (uint32_t i = 0; i < count; i++) {
    uint32_t c;
    memcpy(&c, at + sizeof count + i * sizeof c, sizeof c);
    set[c >> 6] |= 1ull << (c & 63);
  }
}

/* Decides one patch's outcome against the state the patches before it
 * would leave, and updates its entity's plan. */
static patch_outcome plan_patch(const myr_world *w, patch_scratch *s, patch_hdr *h) {
  if (h->op == PATCH_SPAWN) {
    /* a spawn's id is new: recording hands out each provisional id once */
    uint32_t p = plan_new(s, h->entity, NO_TABLE, NULL, true);
    spawn_set(h, plan_set(s, p), s->words);
    h->reserved = p;
    return OUT_APPLY;
  }
  uint32_t k = plan_find(s, h->entity);
  h->reserved = k;
  const uint64_t *set;
  uint32_t src = NO_TABLE;
  if (k != NONE_PLAN) {
    if (s->plans[k].destroyed) return OUT_SKIP_DEAD;
    set = plan_set(s, k);
  } else {
    const entity_record *r;
    if (MYR_ENTITY_IS_PROVISIONAL(h->entity) || entity_lookup(w, h->entity, &r) != MYR_OK) return OUT_SKIP_DEAD;
    src = r->table;
    set = w->tables[src]->set.bits;
  }
  myr_component c = h->component;
  bool has = h->op != PATCH_DESTROY && ((set[c >> 6] >> (c & 63)) & 1u);
  switch (h->op) {
  case PATCH_SET:
  case PATCH_SET_FIELD: return has ? OUT_APPLY : OUT_SKIP_ABSENT;
  case PATCH_ADD:
    if (has) return OUT_SKIP_PRESENT;
    break;
  case PATCH_REMOVE:
    if (!has) return OUT_SKIP_ABSENT;
    break;
  default: break;
  }
  if (k == NONE_PLAN) h->reserved = k = plan_new(s, h->entity, src, set, false);
  if (h->op == PATCH_ADD) plan_set(s, k)[c >> 6] |= 1ull << (c & 63);
  else if (h->op == PATCH_REMOVE) plan_set(s, k)[c >> 6] &= ~(1ull << (c & 63));
  else s->plans[k].destroyed = 1;
  return OUT_APPLY;
}

/* Planning: every patch's outcome, and per entity its final component set.
 * Changes nothing in the world. */
static void plan_batch(myr_world *w, patch_scratch *s, const patch_ref *refs, size_t n, myr_patch_stats *st) {
  uint64_t outcomes[4] = {0}, values = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char *bytes = refs[i].buf->bytes;
    for (size_t at = refs[i].seg->begin; at < refs[i].seg->end;) {
      patch_hdr *h = (patch_hdr *)(void *)(bytes + at);
      at += record_size(h);
      patch_outcome o = plan_patch(w, s, h);
      h->outcome = (uint8_t)o;
      outcomes[o]++;
      values += o == OUT_APPLY && carries_values(w, h);
    }
  }
  s->values = values;
  st->recorded += outcomes[0] + outcomes[1] + outcomes[2] + outcomes[3];
  st->applied += outcomes[OUT_APPLY];
  st->skipped_dead += outcomes[OUT_SKIP_DEAD];
  st->skipped_present += outcomes[OUT_SKIP_PRESENT];
  st->skipped_absent += outcomes[OUT_SKIP_ABSENT];
}

/* Sorts the plans into destroys, moves and spawns, finds the tables they
 * end in and reserves every row and entity slot the apply pass needs, so
 * that it cannot fail. */
static myr_status reserve_batch(myr_world *w, patch_scratch *s) {
  s->destroy_count = s->move_count = s->spawn_count = 0;
  table *last = NULL; /* plans come in runs with the same final set */
  uint32_t cols = 1;
  for (uint32_t i = 0; i < s->plan_count; i++) {
    plan *p = &s->plans[i];
    if (p->destroyed) {
      if (!p->spawned) s->destroys[s->destroy_count++] = i;
      continue;
    }
    const uint64_t *set = plan_set(s, i);
    if (!p->spawned && words_eq(set, w->tables[p->src]->set.bits, s->words)) continue; /* no move */
    if (!last || !words_eq(last->set.bits, set, s->words)) {
      compset full = {{0}};
      memcpy(full.bits, set, s->words * sizeof(uint64_t));
      myr_status st = table_get(w, &full, &last);
      if (st != MYR_OK) return st;
      if (last->col_count > cols) cols = last->col_count;
    }
    p->dst = last->id;
    if (p->spawned) s->spawns[s->spawn_count++] = i;
    else s->moves[s->move_count++] = i;
  }
  myr_status st = world_grow_array(w, (void **)&s->rows, &s->rows_cap, sizeof(uint32_t), w->table_count + 1);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->colmap, &s->colmap_cap, sizeof(int32_t), cols);
  if (st != MYR_OK) return st;
  memset(s->rows, 0, (size_t)w->table_count * sizeof(uint32_t));
  for (uint32_t i = 0; i < s->move_count; i++) s->rows[s->plans[s->moves[i]].dst]++;
  for (uint32_t i = 0; i < s->spawn_count; i++) s->rows[s->plans[s->spawns[i]].dst]++;
  for (uint32_t t = 0; t < w->table_count; t++)
    if (s->rows[t] && (st = table_reserve(w, w->tables[t], s->rows[t])) != MYR_OK) return st;
  return entity_reserve(w, s->spawn_count);
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
  myr_status s = scratch_reserve(w, total);
  if (s != MYR_OK) return s;
  patch_scratch *sc = w->patch_scratch;
  myr_patch_stats planned = {0};
  plan_batch(w, sc, refs, n, &planned);
  if ((s = reserve_batch(w, sc)) != MYR_OK) return s;
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
