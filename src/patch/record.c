/* Patches, recording: per-worker buffers of plain-byte records, the
 * recording calls with their checks, and command buffers. */
#include <stdlib.h>

#include "patch_impl.h"

/* ---- buffers ------------------------------------------------------------- */

void patch_buffer_init(patch_buffer *b, myr_world *w) {
  memset(b, 0, sizeof *b);
  b->world = w;
}

/* The world's slot for the patch part holds the number of the last batch
 * opened, as a plain integer in its pointer: there is nothing to free. */
static const char batch_key;

uint64_t patch_batch_next(myr_world *w) {
  void **slot = world_slot(w, &batch_key, NULL);
  uintptr_t batch = ((uintptr_t)*slot + 1) & BATCH_MASK;
  *slot = (void *)batch;
  return PROVISIONAL_BIT | (uint64_t)batch << TOKEN_BITS;
}

void patch_buffer_free(patch_buffer *b) {
  world_free(b->world, b->bytes, b->cap);
  world_free(b->world, b->runs, (size_t)b->run_cap * sizeof(patch_run));
  b->bytes = NULL;
  b->runs = NULL;
  b->cap = b->used = 0;
  b->run_cap = b->run_count = 0;
}

void patch_buffer_clear(patch_buffer *b) {
  b->used = 0;
  b->run_count = 0;
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

/* Appends a record for handle p: opens a new run when the buffer's open
 * run belongs to another handle (a chunk that started or resumed).
 * Returns the header, or NULL when memory ran out (nothing recorded). */
static patch_hdr *record(myr_patches *p, patch_op op, myr_entity e, myr_component c, uint32_t field, uint32_t payload) {
  patch_buffer *b = p->buf;
  size_t bytes = sizeof(patch_hdr) + align_up(payload, 8);
  /* A failure is remembered: the schedule then refuses to apply a stage
   * whose callbacks lost a patch (the callback may not check). */
  if (buffer_reserve(b, bytes) != MYR_OK) {
    b->failed = true;
    return NULL;
  }
  if (b->open != p || b->run_count == 0) {
    if (b->run_count == b->run_cap &&
        world_grow_array(b->world, (void **)&b->runs, &b->run_cap, sizeof(patch_run), b->run_count + 1) != MYR_OK) {
      b->failed = true;
      return NULL;
    }
    b->runs[b->run_count++] = (patch_run){p->stream, p->segment, p->seq, 0, b->used, b->used};
    b->open = p;
  }
  patch_run *s = &b->runs[b->run_count - 1];
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

/* ---- recording ----------------------------------------------------------- */

static myr_status check_component(const myr_patches *p, myr_component c) {
  if (!p || !p->buf) return MYR_EINVAL;
  return c < world_component_count(p->buf->world) ? MYR_OK : MYR_ENOCOMP;
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
  const component_info *ci = s == MYR_OK ? world_component(p->buf->world, c) : NULL;
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

myr_status myr_patch_put(myr_patches *p, myr_entity e, myr_component c, const void *row) {
  if (!row) return MYR_EINVAL;
  return record_values(p, PATCH_PUT, e, c, row);
}

myr_status myr_patch_set_field(myr_patches *p, myr_entity e, myr_component c, uint32_t field, myr_type type,
                               const void *value) {
  myr_status s = check_component(p, c);
  if (s != MYR_OK) return s;
  if (!value) return MYR_EINVAL;
  if ((s = check_entity(p, e)) != MYR_OK) return s;
  const component_info *ci = world_component(p->buf->world, c);
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

static bool commutative_type(myr_type t) {
  return t == MYR_I32 || t == MYR_U32 || t == MYR_I64 || t == MYR_U64 || t == MYR_F32 || t == MYR_F64;
}

/* A commutative update of one numeric field. */
static myr_status record_update(myr_patches *p, patch_op op, myr_entity e, myr_component c, uint32_t field,
                                myr_type type, const void *value) {
  myr_status s = check_component(p, c);
  if (s != MYR_OK) return s;
  if (!value) return MYR_EINVAL;
  if ((s = check_entity(p, e)) != MYR_OK) return s;
  const component_info *ci = world_component(p->buf->world, c);
  if (field >= ci->field_count) return MYR_EFIELD;
  if (ci->fields[field].type != type || !commutative_type(type)) return MYR_ETYPE;
  patch_hdr *h = record(p, op, e, c, field, ci->elem_size[field]);
  if (!h) return MYR_ENOMEM;
  memcpy(payload_of(h), value, ci->elem_size[field]);
  return MYR_OK;
}

myr_status myr_patch_add_to(myr_patches *p, myr_entity e, myr_component c, uint32_t field, myr_type type,
                            const void *value) {
  return record_update(p, PATCH_ADD_TO, e, c, field, type, value);
}

myr_status myr_patch_min(myr_patches *p, myr_entity e, myr_component c, uint32_t field, myr_type type,
                         const void *value) {
  return record_update(p, PATCH_MIN, e, c, field, type, value);
}

myr_status myr_patch_max(myr_patches *p, myr_entity e, myr_component c, uint32_t field, myr_type type,
                         const void *value) {
  return record_update(p, PATCH_MAX, e, c, field, type, value);
}

myr_status myr_patch_set_first(myr_patches *p, myr_entity e, myr_component c, const void *row) {
  if (!row) return MYR_EINVAL;
  return record_values(p, PATCH_SET_FIRST, e, c, row);
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

myr_status myr_patch_spawn(myr_patches *p, const myr_component *comps, uint32_t n, const void *const *values,
                           myr_entity *out) {
  if (!p || !p->buf || (n && !comps)) return MYR_EINVAL;
  const myr_world *w = p->buf->world;
  compset seen = {{0}};
  uint32_t size = (uint32_t)align_up(sizeof(uint32_t) * (1 + (size_t)n), 8);
  for (uint32_t i = 0; i < n; i++) {
    if (comps[i] >= world_component_count(w)) return MYR_ENOCOMP;
    if (compset_has(&seen, comps[i])) return MYR_EINVAL; /* each component once */
    compset_put(&seen, comps[i]);
    size += packed_size(world_component(w, comps[i]));
    myr_status s = values ? check_row_refs(p, world_component(w, comps[i]), values[i]) : MYR_OK;
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
    const component_info *ci = world_component(w, comps[i]);
    pack_row(ci, values[i], at);
    at += packed_size(ci);
  }
  if (out) *out = provisional;
  return MYR_OK;
}

/* ---- command buffers ----------------------------------------------------- */

/* A command buffer's handle starts a batch: tokens from 0, up to 2^40. */
static void command_batch_open(myr_patches *p) {
  p->batch_bits = patch_batch_next(p->buf->world);
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
  patch_ref refs_small[16] = {{0}};
  patch_ref *refs = refs_small;
  size_t refs_size = (size_t)b->run_count * sizeof(patch_ref);
  if (b->run_count > 16 && !(refs = world_alloc(b->world, refs_size, alignof(patch_ref)))) return MYR_ENOMEM;
  myr_patch_stats counts = {0};
  myr_status s = patch_merge_runs(b->world, b, sizeof *b, 1, refs, NULL, &counts);
  if (refs != refs_small) world_free(b->world, refs, refs_size);
  if (s != MYR_OK) return s;
  if (stats) *stats = counts;
  patch_buffer_clear(b);
  command_batch_open(p);
  return MYR_OK;
}
