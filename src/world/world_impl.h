/* Private to the world part: the world struct and what its own files share
 * beyond world_iface.h (the entity index, table storage, single-row moves). */
#ifndef MYRIAD_WORLD_IMPL_H
#define MYRIAD_WORLD_IMPL_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "world_iface.h"

#define WORLD_SLOTS 8
typedef struct world_slot_entry {
  const void *key;
  void *state;
  world_teardown_fn teardown;
} world_slot_entry;

/* ---- the world ----------------------------------------------------------- */

struct myr_world {
  world_view v; /* first: what the parts above read (world_iface.h) */
  myr_allocator alloc;
  uint64_t seed;  /* keys random numbers (random.h) */
  uint64_t frame; /* the clock: frames run, and the sum of their dt */
  double time;
  uint32_t running; /* frames running on the world now (world_frame_enter) */

  struct resource_info *resources; /* MYR_MAX_RESOURCES entries, made on first use */
  uint32_t resource_count;

  uint32_t table_cap;
  uint32_t *table_map;    /* open addressing: table ids by compset hash */
  uint32_t table_map_cap; /* power of two */

  uint32_t slot_cap;
  /* The free slots as a stack, the most recently freed on top (at
   * free_count - 1): taking n slots reads n indices in a row instead of
   * following a chain of loads through the index. Room for every slot in use,
   * so that a release never allocates. */
  uint32_t *free_stack;
  uint32_t free_cap;
  uint32_t free_count;
  uint32_t live_count;

  /* The last add or remove of one component: from table step_src (also
   * step_from) by component step_comp, to step_to (step_src is NO_TABLE
   * when empty).
   * A run of the same change on many entities then finds both tables
   * without a chain of dependent loads (tables never move or go away). */
  uint32_t step_src;
  myr_component step_comp;
  bool step_add;
  bool step_tag; /* the two tables differ by a tag: the same columns */
  table *step_from, *step_to;

  world_slot_entry slots[WORLD_SLOTS]; /* state of the parts built on the world */
  /* While a schedule checks accesses: told of every component read through
   * the world API (the schedule checks it against the running system's
   * stage). NULL otherwise: a load and a branch per read. */
  world_read_fn read_hook;
  void *read_hook_ctx;
};

#define WORLD_READ(w, c)                                                                                  \
  do {                                                                                                    \
    if ((w) && __builtin_expect((w)->read_hook != NULL, 0)) (w)->read_hook((w), (c), (w)->read_hook_ctx); \
  } while (0)

/* Frees what a registered component owns (component.c). */
void component_free(myr_world *w, component_info *ci);

/* The default allocator hooks (alloc.c). */
void *world_default_alloc(size_t size, size_t align, void *user);
void world_default_free(void *ptr, size_t size, void *user);

/* Whether a block of `size` bytes from w's allocator comes zeroed: only the
 * default allocator's large blocks (fresh mappings) promise it. */
bool world_alloc_zeroes(const myr_world *w, size_t size);
/* Moves the first `keep` bytes of block p (of `size` bytes) to a new block
 * of new_size bytes and frees p; NULL (p untouched) when out of memory.
 * Between two of the default allocator's mappings the pages are moved, not
 * copied, and the bytes past `size` are zero. */
void *world_realloc(const myr_world *w, void *p, size_t size, size_t new_size, size_t align, size_t keep);

/* Moves live entity e from its row in src to a new row of dst (capacity
 * reserved), between any two tables. Columns dst has and src lacks come
 * from `row` (component `added`, NULL for none) or are zero. (A tag's
 * add or remove takes a faster path, in rows.c.) */
void world_move_row(myr_world *w, myr_entity e, table *src, table *dst, myr_component added, const unsigned char *row);

/* ---- resources (resource.c) --------------------------------------------- */

typedef struct resource_info {
  char *name;
  size_t name_size;
  unsigned char *data;
  size_t size, align;
  uint32_t flags; /* MYR_RESOURCE_* */
} resource_info;

void resource_free_all(myr_world *w);

/* ---- entity index (entity.c) --------------------------------------------- */

/* Whether one more entity fits without entity_reserve: a free slot, or room
 * below the capacity short of the index limit (then entity_reserve(w, 1)
 * would succeed without allocating). */
static inline bool entity_has_room(const myr_world *w) {
  /* both the index and the free stack: a failed growth may have grown one */
  return w->free_count != 0 || ((uint64_t)w->v.slot_count + 1 < w->slot_cap && w->v.slot_count < w->free_cap);
}
/* Takes a slot (free list first) and returns its new id. Needs a reservation. */
myr_entity entity_take(myr_world *w, uint32_t table, uint32_t row);
/* entity_take for n entities at rows first_row.. of one table, writing
 * their ids to ids[0..n). Needs a reservation. */
void entity_take_bulk(myr_world *w, uint32_t table, uint32_t first_row, uint32_t n, myr_entity *ids);
/* Frees a live entity's slot and bumps its generation. */
void entity_release(myr_world *w, uint32_t index);
/* entity_release in two steps, for batches shared among threads: each
 * slot freed at its place `at` in the free stack (from free_count on, in
 * the order the releases one by one would have taken), then the count of
 * them all. */
static inline void entity_free_at(myr_world *w, uint32_t index, uint32_t at) {
  entity_record *r = &w->v.entities[index];
  r->table = NO_TABLE;
  /* generations stay below 2^31: bit 63 of an id marks a provisional one */
  r->generation = r->generation == ENTITY_MAX_GENERATION ? 1 : r->generation + 1;
  w->free_stack[at] = index; /* room: the stack holds every slot */
}
static inline void entity_freed(myr_world *w, uint32_t n) {
  w->free_count += n;
  w->live_count -= n;
}
void entity_free_all(myr_world *w);
/* Grows the index and the free stack to `slots` slots each. */
myr_status entity_slots_reserve(myr_world *w, uint32_t slots);

/* ---- tables (table.c) ---------------------------------------------------- */

/* Appends n rows (capacity must be reserved) and keeps the padding invariant:
 * rows [count, round_up16(count)) are always initialised. The new rows hold
 * anything. Returns the first row. */
uint32_t table_append(table *t, uint32_t n);
/* table_append, with the new rows' columns zero (their ids are the
 * caller's to write): memory already known to be zero is not written. */
uint32_t table_append_zeroed(table *t, uint32_t n);
/* Makes the 16-row block that starts at row t->fresh initialised (zeroed,
 * unless known zero already) and moves t->fresh past it. */
void table_reach_block(table *t);
/* table_append of one row: only a row that starts a block of 16 rows never
 * written before has padding to initialise. */
static inline uint32_t table_append1(table *t) {
  uint32_t first = t->count;
  if (__builtin_expect(first == t->fresh, 0)) table_reach_block(t);
  t->count = first + 1;
  return first;
}
/* Removes row r by moving the last row into it; returns the entity that
 * moved (MYR_ENTITY_NULL if none). */
myr_entity table_swap_remove(table *t, uint32_t r);
void table_destroy(myr_world *w, table *t);
void table_free_all(myr_world *w);

/* Removes row r of t and repairs the record of the entity moved into it.
 * Inline: on the path of every destroy. */
static inline void world_remove_row(myr_world *w, table *t, uint32_t r) {
  myr_entity moved = table_swap_remove(t, r);
  if (moved != MYR_ENTITY_NULL) w->v.entities[MYR_ENTITY_INDEX(moved)].row = r;
}

/* ---- hashing (hash.c, content.c) ---------------------------------------- */

static inline uint64_t hash_mix(uint64_t h, uint64_t v) {
  h ^= v * 0x9e3779b97f4a7c15ull;
  h = (h << 27) | (h >> 37);
  return h * 0xbf58476d1ce4e5b9ull + 0x94d049bb133111ebull;
}

static inline uint64_t hash_bytes(uint64_t h, const unsigned char *p, uint32_t size) {
  uint32_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t v;
    memcpy(&v, p + i, 8);
    h = hash_mix(h, v);
  }
  if (i < size) {
    uint64_t v = 0;
    memcpy(&v, p + i, size - i);
    h = hash_mix(h, v ^ ((uint64_t)(size - i) << 56));
  }
  return h;
}

#endif /* MYRIAD_WORLD_IMPL_H */
