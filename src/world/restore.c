/* Restoring a saved world: rolling back registrations, and replacing the
 * entity index and the rows of a world with no live entities (for the
 * snapshot part, which validates everything before it calls these). */
#include "world_impl.h"

world_mark world_mark_now(const myr_world *w) {
  return (world_mark){w->v.component_count, w->resource_count, w->v.table_count};
}

void world_rollback(myr_world *w, const world_mark *m) {
  while (w->v.table_count > m->tables) {
    table_destroy(w, w->v.tables[--w->v.table_count]);
  }
  /* the map keeps the older tables: rebuilt in place, no allocation */
  if (w->table_map_cap) {
    memset(w->table_map, 0xff, (size_t)w->table_map_cap * sizeof *w->table_map);
    uint32_t mask = w->table_map_cap - 1;
    for (uint32_t id = 0; id < w->v.table_count; id++) {
      uint32_t i = (uint32_t)compset_hash(&w->v.tables[id]->set) & mask;
      while (w->table_map[i] != NO_TABLE) i = (i + 1) & mask;
      w->table_map[i] = id;
    }
  }
  while (w->resource_count > m->resources) {
    resource_info *r = &w->resources[--w->resource_count];
    world_free(w, r->name, r->name_size);
    world_free(w, r->data, align_up(r->size, r->align));
  }
  while (w->v.component_count > m->components) component_free(w, &w->v.components[--w->v.component_count]);
}

bool world_running(const myr_world *w) { return w->running != 0; }

myr_status world_slots_reserve(myr_world *w, uint32_t slots) {
  if (slots > UINT32_MAX - 1) return MYR_ELIMIT;
  return entity_slots_reserve(w, slots);
}

static inline uint32_t read_u32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4); /* little-endian hosts only (static_assert in the snapshot part) */
  return v;
}

void world_index_restore(myr_world *w, uint32_t slots, const unsigned char *gens, const unsigned char *free_list,
                         uint32_t free_count) {
  entity_record *e = w->v.entities;
  for (uint32_t i = 0; i < slots; i++) e[i] = (entity_record){read_u32(gens + 4 * (size_t)i), NO_TABLE, 0};
  for (uint32_t k = 0; k < free_count; k++) /* the head goes on top */
    w->free_stack[free_count - 1 - k] = read_u32(free_list + 4 * (size_t)k);
  w->free_count = free_count;
  w->v.slot_count = slots;
  w->live_count = 0;
}

uint32_t world_place_rows(myr_world *w, table *t, const unsigned char *slots, uint32_t n, bool last) {
  uint32_t first = t->count;
  t->count = first + n;
  if (round_up16(t->count) > t->fresh) t->fresh = round_up16(t->count);
  if (last) { /* the padding invariant: rows up to the next multiple of 16 are zero */
    uint32_t end = t->count, pad = round_up16(end) - end;
    if (pad) {
      memset(t->ids + end, 0, (size_t)pad * sizeof(myr_entity));
      for (uint32_t j = 0; j < t->col_count; j++)
        memset(t->cols[j].data + (size_t)end * t->cols[j].elem_size, 0, (size_t)pad * t->cols[j].elem_size);
    }
  }
  entity_record *e = w->v.entities;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t s = read_u32(slots + 4 * (size_t)k);
    e[s].table = t->id;
    e[s].row = first + k;
    t->ids[first + k] = ((myr_entity)e[s].generation << 32) | s;
  }
  w->live_count += n;
  return first;
}

uint32_t world_free_at(const myr_world *w, uint32_t k) { return w->free_stack[w->free_count - 1 - k]; }
uint32_t world_free_count(const myr_world *w) { return w->free_count; }
size_t world_resource_align(const myr_world *w, myr_resource r) { return w->resources[r].align; }
uint32_t world_resource_flags(const myr_world *w, myr_resource r) { return w->resources[r].flags; }
