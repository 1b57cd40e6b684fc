/* Entity index: slot index + generation ids, a LIFO free list (a stack of slot indices), and the map
 * from id to (table, row). */
#include "world_impl.h"

myr_status entity_slots_reserve(myr_world *w, uint32_t slots) {
  /* Either growth may fail after the other succeeded: the room for new
   * slots is the smaller of the two capacities, and every check of it
   * (entity_reserve, entity_has_room) looks at both. */
  myr_status st = world_grow_array(w, (void **)&w->free_stack, &w->free_cap, sizeof(uint32_t), slots);
  if (st != MYR_OK) return st;
  return world_grow_array(w, (void **)&w->v.entities, &w->slot_cap, sizeof(entity_record), slots);
}

myr_status entity_reserve(myr_world *w, uint32_t n) {
  if (n <= w->free_count) return MYR_OK;
  uint64_t need = (uint64_t)w->v.slot_count + (n - w->free_count);
  if (need > UINT32_MAX - 1) return MYR_ELIMIT; /* index UINT32_MAX stays unused */
  if (need <= w->slot_cap && need <= w->free_cap) return MYR_OK;
  return entity_slots_reserve(w, (uint32_t)need);
}

myr_entity entity_take(myr_world *w, uint32_t table, uint32_t row) {
  uint32_t index;
  entity_record *r;
  if (w->free_count) {
    index = w->free_stack[--w->free_count];
    r = &w->v.entities[index];
  } else {
    index = w->v.slot_count++;
    r = &w->v.entities[index];
    r->generation = 1; /* generation 0 is never valid, so id 0 is null */
  }
  r->table = table;
  r->row = row;
  w->live_count++;
  return ((myr_entity)r->generation << 32) | index;
}

void entity_take_bulk(myr_world *w, uint32_t table, uint32_t first_row, uint32_t n, myr_entity *ids) {
  /* free slots first, most recently freed first, as entity_take would */
  uint32_t i = n < w->free_count ? n : w->free_count;
  const uint32_t *top = w->free_stack + w->free_count;
  entity_record *e = w->v.entities;
  for (uint32_t k = 0; k < i; k++) { /* the slots are known up front: their records are asked for ahead */
    if (k + 16 < i) __builtin_prefetch(&e[top[-1 - (int64_t)(k + 16)]], 1);
    uint32_t slot = top[-1 - (int64_t)k];
    entity_record *r = &e[slot];
    ids[k] = ((myr_entity)r->generation << 32) | slot;
    r->table = table;
    r->row = first_row + k;
  }
  w->free_count -= i;
  /* then fresh slots, in one pass */
  uint32_t base = w->v.slot_count;
  entity_record *fresh = e + base;
  uint32_t m = n - i;
  for (uint32_t k = 0; k < m; k++) {
    fresh[k] = (entity_record){1, table, first_row + i + k};
    ids[i + k] = ((myr_entity)1 << 32) | (base + k);
  }
  w->v.slot_count += m;
  w->live_count += n;
}

void entity_release(myr_world *w, uint32_t index) {
  entity_free_at(w, index, w->free_count);
  entity_freed(w, 1);
}

void entity_free_all(myr_world *w) {
  world_free(w, w->v.entities, (size_t)w->slot_cap * sizeof(entity_record));
  world_free(w, w->free_stack, (size_t)w->free_cap * sizeof(uint32_t));
  w->v.entities = NULL;
  w->free_stack = NULL;
  w->slot_cap = w->free_cap = w->v.slot_count = 0;
}
