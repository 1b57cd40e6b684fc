/* Entity index: slot index + generation ids, a LIFO free list, and the map
 * from id to (table, row). */
#include "world_impl.h"

myr_status entity_reserve(myr_world *w, uint32_t n) {
  if (n <= w->free_count) return MYR_OK;
  uint64_t need = (uint64_t)w->v.slot_count + (n - w->free_count);
  if (need > UINT32_MAX - 1) return MYR_ELIMIT; /* index UINT32_MAX stays unused */
  if (need <= w->slot_cap) return MYR_OK;
  return world_grow_array(w, (void **)&w->v.entities, &w->slot_cap, sizeof(entity_record), (uint32_t)need);
}

myr_entity entity_take(myr_world *w, uint32_t table, uint32_t row) {
  uint32_t index;
  entity_record *r;
  if (w->free_head != NO_TABLE) {
    index = w->free_head;
    r = &w->v.entities[index];
    w->free_head = r->next_free;
    w->free_count--;
  } else {
    index = w->v.slot_count++;
    r = &w->v.entities[index];
    r->generation = 1; /* generation 0 is never valid, so id 0 is null */
  }
  r->table = table;
  r->row = row;
  r->next_free = NO_TABLE;
  w->live_count++;
  return ((myr_entity)r->generation << 32) | index;
}

void entity_take_bulk(myr_world *w, uint32_t table, uint32_t first_row, uint32_t n, myr_entity *ids) {
  uint32_t i = 0;
  /* free slots first, most recently freed first, as entity_take would */
  for (uint32_t head = w->free_head; i < n && head != NO_TABLE; i++) {
    entity_record *r = &w->v.entities[head];
    ids[i] = ((myr_entity)r->generation << 32) | head;
    uint32_t next = r->next_free;
    r->table = table;
    r->row = first_row + i;
    r->next_free = NO_TABLE;
    head = next;
    w->free_head = head;
  }
  w->free_count -= i;
  /* then fresh slots, in one pass with no chain to follow */
  uint32_t base = w->v.slot_count;
  entity_record *fresh = w->v.entities + base;
  uint32_t m = n - i;
  for (uint32_t k = 0; k < m; k++) {
    fresh[k] = (entity_record){1, table, first_row + i + k, NO_TABLE};
    ids[i + k] = ((myr_entity)1 << 32) | (base + k);
  }
  w->v.slot_count += m;
  w->live_count += n;
}

void entity_release(myr_world *w, uint32_t index) {
  entity_record *r = &w->v.entities[index];
  r->table = NO_TABLE;
  /* generations stay below 2^31: bit 63 of an id marks a provisional one */
  r->generation = r->generation == ENTITY_MAX_GENERATION ? 1 : r->generation + 1;
  r->next_free = w->free_head;
  w->free_head = index;
  w->free_count++;
  w->live_count--;
}

void entity_free_all(myr_world *w) {
  world_free(w, w->v.entities, (size_t)w->slot_cap * sizeof(entity_record));
  w->v.entities = NULL;
  w->slot_cap = w->v.slot_count = 0;
}
