/* Patches naming ghosts, to their owners (mpi.h). At the end of every stage
 * the schedule takes such patches out of the stage's batch (its stage-end
 * hook, myr_schedule_set_stage_end, with the ghost tag); here they go to
 * the ranks that own their entities, their entity and links named by key,
 * and are injected there at their system's place in the stage's batch, so
 * the owner merges them with its own patches of the stage. One exchange per
 * stage, which every rank makes, then one agreement. */
#include <string.h>

#include "mpi_impl.h"

/* A forwarded patch: this header, then `size` value bytes padded to 8
 * (packed as myr_patch_info's, MYR_ENTITY values as the linked entity's
 * key, 0 for none). */
typedef struct fwd_hdr {
  uint64_t key; /* the entity's */
  uint32_t system;
  uint8_t kind;
  uint8_t reserved;
  uint16_t field;
  uint32_t component;
  uint32_t size;
} fwd_hdr;

static inline size_t pad8(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* Whether a kind carries the component's packed fields (else one field's
 * value, or nothing). */
static inline bool whole_row(uint8_t kind) {
  return kind == MYR_PATCH_SET || kind == MYR_PATCH_ADD || kind == MYR_PATCH_PUT || kind == MYR_PATCH_SET_FIRST;
}
static inline bool one_field(uint8_t kind) {
  return kind == MYR_PATCH_SET_FIELD || kind == MYR_PATCH_ADD_TO || kind == MYR_PATCH_MIN || kind == MYR_PATCH_MAX;
}

static uint32_t packed_size(const comp_layout *l) {
  uint32_t n = 0;
  for (uint32_t f = 0; f < l->field_count; f++) n += l->size[f];
  return n;
}

/* Calls fn(m, at, ctx) for the byte offset of every MYR_ENTITY value in a
 * patch's values (packed). */
typedef myr_status (*link_fn)(myr_mpi *m, unsigned char *at, void *ctx);
static myr_status each_link(myr_mpi *m, const fwd_hdr *h, unsigned char *values, link_fn fn, void *ctx) {
  const comp_layout *l = &m->layouts[h->component];
  if (!l->has_links || !h->size) return MYR_OK;
  if (one_field(h->kind)) return l->type[h->field] == MYR_ENTITY ? fn(m, values, ctx) : MYR_OK;
  uint32_t at = 0;
  for (uint32_t f = 0; f < l->field_count; f++) {
    if (l->type[f] == MYR_ENTITY) {
      myr_status s = fn(m, values + at, ctx);
      if (s != MYR_OK) return s;
    }
    at += l->size[f];
  }
  return MYR_OK;
}

/* ---- sending -------------------------------------------------------------- */

static myr_status id_to_key(myr_mpi *m, unsigned char *at, void *ctx) {
  (void)ctx;
  myr_entity e;
  memcpy(&e, at, 8);
  uint64_t k = 0;
  /* a provisional id (an entity spawned in this stage) has no key yet */
  if (e != MYR_ENTITY_NULL && !MYR_ENTITY_IS_PROVISIONAL(e) &&
      myr_field_get(m->world, e, m->d.key, 0, MYR_U64, &k) != MYR_OK)
    k = 0;
  memcpy(at, &k, 8);
  return MYR_OK;
}

/* The rank that sent ghost e at the last refresh, -1 if e is not one. */
static int owner_of(myr_mpi *m, myr_entity e) {
  if (!m->ghost_index_fresh) {
    myr_mpx_keymap_clear(&m->ghost_index);
    for (uint32_t i = 0; i < m->ghost_count; i++)
      if (!myr_mpx_keymap_put(&m->ghost_index, m->ghost_ids[i], (myr_entity)i + 1)) return -2;
    m->ghost_index_fresh = true;
  }
  myr_entity i = myr_mpx_keymap_get(&m->ghost_index, e);
  return i ? m->ghost_from[i - 1] : -1;
}

static myr_status put_record(myr_mpi *m, int to, const fwd_hdr *h, const void *values) {
  static const unsigned char zeros[8];
  mbuf *b = &m->out[to];
  if (!myr_mpx_mbuf_reserve(b, sizeof *h + pad8(h->size))) return MYR_ENOMEM;
  myr_mpx_mbuf_put(b, h, sizeof *h);
  if (!h->size) return MYR_OK;
  size_t at = b->size;
  myr_mpx_mbuf_put(b, values, h->size);
  myr_mpx_mbuf_put(b, zeros, pad8(h->size) - h->size);
  return each_link(m, h, b->data + at, id_to_key, NULL);
}

/* The ghosts destroyed between frames (by the program: in a frame, patches
 * on ghosts are diverted), as destroys of system 0. */
static myr_status pack_early_destroys(myr_mpi *m) {
  for (uint32_t i = 0; i < m->ghost_count; i++) {
    if (myr_entity_alive(m->world, m->ghost_ids[i])) continue;
    fwd_hdr h = {m->ghost_keys[i], 0, MYR_PATCH_DESTROY, 0, 0, 0, 0};
    if (put_record(m, m->ghost_from[i], &h, NULL) != MYR_OK) return MYR_ENOMEM;
    m->stats.patches_sent++;
  }
  return MYR_OK;
}

static myr_status pack_diverted(myr_mpi *m, myr_schedule *s) {
  uint32_t n = myr_schedule_diverted_count(s);
  for (uint32_t i = 0; i < n; i++) {
    myr_patch_info p;
    myr_status st = myr_schedule_diverted(s, i, &p);
    if (st != MYR_OK) return st;
    /* the ghost tag is this part's to set: patches of it are not sent */
    if (p.kind != MYR_PATCH_DESTROY && p.component == m->ghost) continue;
    int to = owner_of(m, p.entity);
    if (to == -2) return MYR_ENOMEM;
    if (to < 0) continue; /* tagged by the program, not by a refresh: no owner to send it to */
    fwd_hdr h = {0, p.system, (uint8_t)p.kind, 0, (uint16_t)p.field, p.component, p.size};
    if (myr_field_get(m->world, p.entity, m->d.key, 0, MYR_U64, &h.key) != MYR_OK || !h.key) continue;
    if (put_record(m, to, &h, p.values) != MYR_OK) return MYR_ENOMEM;
    m->stats.patches_sent++;
  }
  return MYR_OK;
}

/* ---- receiving ------------------------------------------------------------ */

static myr_status want_key(myr_mpi *m, unsigned char *at, void *ctx) {
  (void)ctx;
  uint64_t k;
  memcpy(&k, at, 8);
  if (k && !myr_mpx_keymap_put(&m->map, k, MYR_ENTITY_NULL)) return MYR_ENOMEM;
  return MYR_OK;
}

static myr_status key_to_id(myr_mpi *m, unsigned char *at, void *ctx) {
  (void)ctx;
  uint64_t k;
  memcpy(&k, at, 8);
  myr_entity e = k ? myr_mpx_keymap_get(&m->map, k) : MYR_ENTITY_NULL;
  memcpy(at, &e, 8);
  return MYR_OK;
}

/* Checks a record's header against the world's components; its values
 * follow at the returned offset. */
static bool record_ok(const myr_mpi *m, const fwd_hdr *h, size_t at, size_t end) {
  if (end - at < sizeof *h || end - at - sizeof *h < pad8(h->size) || !h->key) return false;
  if (h->kind == MYR_PATCH_DESTROY) return h->size == 0;
  if (h->component >= m->component_count || h->component == m->ghost) return false;
  const comp_layout *l = &m->layouts[h->component];
  if (whole_row(h->kind)) return h->size == packed_size(l) || (h->kind == MYR_PATCH_ADD && h->size == 0);
  if (one_field(h->kind)) return h->field < l->field_count && h->size == l->size[h->field];
  return h->kind == MYR_PATCH_REMOVE && h->size == 0;
}

/* Records one received patch through the handle of its system. */
static myr_status inject(myr_mpi *m, myr_schedule *s, const fwd_hdr *h, const unsigned char *values) {
  myr_entity e = myr_mpx_keymap_get(&m->map, h->key);
  /* gone since (destroyed by an earlier stage here: as in one process, the
   * patch finds it dead), or not ours */
  if (e == MYR_ENTITY_NULL || myr_component_has(m->world, e, m->ghost)) return MYR_OK;
  myr_patches *p;
  if (myr_schedule_inject(s, h->system, &p) != MYR_OK) return MYR_ECORRUPT; /* no such system here */
  const comp_layout *l = h->kind == MYR_PATCH_DESTROY ? NULL : &m->layouts[h->component];
  if (h->kind == MYR_PATCH_DESTROY) return myr_patch_destroy(p, e);
  if (h->kind == MYR_PATCH_REMOVE) return myr_patch_remove(p, e, h->component);
  if (one_field(h->kind)) {
    myr_type t = l->type[h->field];
    if (h->kind == MYR_PATCH_SET_FIELD) return myr_patch_set_field(p, e, h->component, h->field, t, values);
    if (h->kind == MYR_PATCH_ADD_TO) return myr_patch_add_to(p, e, h->component, h->field, t, values);
    if (h->kind == MYR_PATCH_MIN) return myr_patch_min(p, e, h->component, h->field, t, values);
    return myr_patch_max(p, e, h->component, h->field, t, values);
  }
  /* the packed values into a row struct (zeros for an add without values;
   * a tag's is empty, but the calls want one) */
  const unsigned char *row = m->row;
  memset(m->row, 0, l->row_size);
  for (uint32_t f = 0, at = 0; h->size && f < l->field_count; f++) {
    memcpy(m->row + l->offset[f], values + at, l->size[f]);
    at += l->size[f];
  }
  if (h->kind == MYR_PATCH_SET) return myr_patch_set(p, e, h->component, row);
  if (h->kind == MYR_PATCH_ADD) return myr_patch_add(p, e, h->component, row);
  if (h->kind == MYR_PATCH_PUT) return myr_patch_put(p, e, h->component, row);
  return myr_patch_set_first(p, e, h->component, row);
}

static myr_status take_received(myr_mpi *m, myr_schedule *s) {
  unsigned char *in = m->in.data;
  size_t end = m->in.size;
  myr_mpx_keymap_clear(&m->map);
  myr_status st = MYR_OK;
  /* first every key named: the entities and their links' targets */
  for (size_t at = 0; st == MYR_OK && at < end;) {
    fwd_hdr h;
    if (end - at < sizeof h) return MYR_ECORRUPT;
    memcpy(&h, in + at, sizeof h);
    if (!record_ok(m, &h, at, end)) return MYR_ECORRUPT;
    if (!myr_mpx_keymap_put(&m->map, h.key, MYR_ENTITY_NULL)) return MYR_ENOMEM;
    if (h.kind != MYR_PATCH_DESTROY) st = each_link(m, &h, in + at + sizeof h, want_key, NULL);
    at += sizeof h + pad8(h.size);
  }
  if (st == MYR_OK) st = myr_mpx_find_keys(m);
  for (size_t at = 0; st == MYR_OK && at < end;) {
    fwd_hdr h;
    memcpy(&h, in + at, sizeof h);
    unsigned char *values = in + at + sizeof h;
    if (h.kind != MYR_PATCH_DESTROY) st = each_link(m, &h, values, key_to_id, NULL);
    if (st == MYR_OK) st = inject(m, s, &h, values);
    at += sizeof h + pad8(h.size);
  }
  return st;
}

/* ---- the hook ------------------------------------------------------------- */

myr_status myr_mpx_stage_end(myr_schedule *s, uint32_t stage, myr_status status, void *ctx) {
  myr_mpi *m = ctx;
  for (int r = 0; r <= m->ranks; r++) m->out[r].size = 0;
  myr_status local = status;
  if (status != MYR_OK) myr_mpx_fail(m, "rank %d: stage %u failed: %s", m->rank, stage, myr_strerror(status));
  if (m->stage_ends++ == 0 && local == MYR_OK) local = pack_early_destroys(m);
  if (local == MYR_OK) local = pack_diverted(m, s);
  uint64_t sent = 0;
  myr_status x = myr_mpx_exchange(m, &sent); /* whatever happened: the ranks take part */
  if (local == MYR_OK) local = x;
  m->stats.bytes_patches += sent;
  if (local == MYR_OK && m->in.size) {
    local = take_received(m, s);
    if (local == MYR_ECORRUPT) myr_mpx_fail(m, "rank %d: patches forwarded by another rank do not decode", m->rank);
  }
  return myr_mpx_agree(m, local);
}
