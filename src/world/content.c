/* The content hash: a world's entities hashed one by one and added up, so
 * that neither ids nor rows nor the split between worlds show (world.h). */
#include "world_impl.h"

static inline uint64_t fmix64(uint64_t h) { /* MurmurHash3's finaliser constants */
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

typedef struct content_key {
  bool has;
  myr_component c;
} content_key;

/* The key of the entity a link names, as world.h says. */
static uint64_t link_key(const myr_world *w, const content_key *k, myr_entity e) {
  const entity_record *r;
  if (e == MYR_ENTITY_NULL || entity_lookup(w, e, &r) != MYR_OK) return 0;
  if (!k->has) return 1;
  const table *t = world_table(w, r->table);
  int32_t col = table_comp_col(t, k->c);
  if (col < 0) return 0;
  uint64_t key;
  memcpy(&key, table_cell(t, col, r->row), sizeof key);
  return key;
}

static uint64_t row_hash(const myr_world *w, const content_key *k, const table *t, uint32_t row) {
  uint64_t h = 0x6a09e667f3bcc908ull;
  for (uint32_t j = 0, i = 0; i < t->comp_count; i++) {
    h = hash_mix(h, 0xc0ull << 56 | t->comps[i]);
    uint32_t fields = world_component(w, t->comps[i])->field_count;
    for (uint32_t f = 0; f < fields; f++, j++) {
      const column *c = &t->cols[j];
      const unsigned char *p = c->data + (size_t)row * c->elem_size;
      if (c->type == MYR_ENTITY) {
        myr_entity e;
        memcpy(&e, p, sizeof e);
        h = hash_mix(h, link_key(w, k, e));
        continue;
      }
      h = hash_bytes(h, p, c->elem_size);
    }
  }
  return fmix64(h);
}

myr_status myr_world_content(const myr_world *w, const myr_content_desc *desc, myr_content *out) {
  if (!w || !out) return MYR_EINVAL;
  const myr_content_desc none = {0};
  if (!desc) desc = &none;
  if (desc->skip_count && !desc->skip) return MYR_EINVAL;
  content_key k = {.has = desc->has_key, .c = desc->key};
  compset skip = {{0}};
  for (uint32_t i = 0; i < desc->skip_count; i++) {
    if (desc->skip[i] >= world_component_count(w)) return MYR_ENOCOMP;
    compset_put(&skip, desc->skip[i]);
  }
  if (desc->has_require && desc->require >= world_component_count(w)) return MYR_ENOCOMP;
  if (k.has) {
    if (k.c >= world_component_count(w)) return MYR_ENOCOMP;
    const component_info *ci = world_component(w, k.c);
    if (ci->field_count == 0 || ci->fields[0].type != MYR_U64) return MYR_ETYPE;
  }
  myr_content c = {0, 0};
  for (uint32_t ti = 0; ti < world_table_count(w); ti++) {
    const table *t = world_table(w, ti);
    if (!t->count || compset_meets(&t->set, &skip)) continue;
    if (desc->has_require && !compset_has(&t->set, desc->require)) continue;
    for (uint32_t r = 0; r < t->count; r++) c.sum += row_hash(w, &k, t, r);
    c.count += t->count;
  }
  *out = c;
  return MYR_OK;
}

uint64_t myr_content_hash(myr_content c) { return fmix64(hash_mix(hash_mix(0x3c6ef372fe94f82bull, c.sum), c.count)); }
