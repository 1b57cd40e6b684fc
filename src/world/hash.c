/* The world hash. */
#include "world_impl.h"

/* ---- hash ---------------------------------------------------------------- */

/* (hash_mix and hash_bytes: world_impl.h, shared with the content hash) */

myr_status myr_world_hash(const myr_world *w, uint64_t *out) {
  if (!w || !out) return MYR_EINVAL;
  uint64_t h = hash_mix(0x243f6a8885a308d3ull, w->live_count);
  for (uint32_t i = 0; i < w->v.slot_count; i++) {
    const entity_record *r = &w->v.entities[i];
    if (r->table == NO_TABLE) continue;
    h = hash_mix(h, ((uint64_t)r->generation << 32) | i);
    const table *t = w->v.tables[r->table];
    for (uint32_t j = 0, k = 0; k < t->comp_count; k++) {
      h = hash_mix(h, 0xc0ull << 56 | t->comps[k]);
      uint32_t fields = w->v.components[t->comps[k]].field_count;
      for (uint32_t f = 0; f < fields; f++, j++) {
        const column *c = &t->cols[j];
        h = hash_bytes(h, c->data + (size_t)r->row * c->elem_size, c->elem_size);
      }
    }
  }
  for (uint32_t i = 0; i < w->resource_count; i++) {
    if (w->resources[i].flags & MYR_RESOURCE_UNHASHED) continue;
    h = hash_mix(h, 0xd0ull << 56 | i);
    h = hash_bytes(h, w->resources[i].data, (uint32_t)w->resources[i].size);
  }
  *out = h;
  return MYR_OK;
}
