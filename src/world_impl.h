/* Private: the world's data structures, shared by entity.c, table.c, world.c
 * and query.c. Nothing here is part of the public API. */
#ifndef MYRIAD_WORLD_IMPL_H
#define MYRIAD_WORLD_IMPL_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "myriad/query.h"
#include "myriad/world.h"

#define ROW_ALIGN 16u          /* capacities and chunk starts are multiples of this */
#define COLUMN_ALIGN 64u       /* every column starts on a cache line */
#define TABLE_BLOCK_ALIGN 4096u
#define NO_TABLE UINT32_MAX
#define ENTITY_MAX_GENERATION 0x7fffffffu

static inline uint32_t round_up16(uint32_t n) { return (n + ROW_ALIGN - 1) & ~(ROW_ALIGN - 1); }
static inline size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

/* Copies one value of a column. Column values are 1, 4 or 8 bytes almost
 * always: those sizes are inline moves instead of a call to memcpy, which
 * the variable size would otherwise cost on every row moved or patched. */
static inline void value_copy(void *dst, const void *src, uint32_t size) {
  switch (size) {
  case 4: memcpy(dst, src, 4); break;
  case 8: memcpy(dst, src, 8); break;
  case 1: memcpy(dst, src, 1); break;
  case 12: memcpy(dst, src, 12); break;
  case 16: memcpy(dst, src, 16); break;
  default: memcpy(dst, src, size); break;
  }
}

/* value_copy for a row of several columns: 4-byte values, the common case,
 * without the size dispatch. */
static inline void value_copy_row(void *dst, const void *src, uint32_t size) {
  if (__builtin_expect(size == 4, 1)) memcpy(dst, src, 4);
  else value_copy(dst, src, size);
}

static inline void value_zero(void *dst, uint32_t size) {
  switch (size) {
  case 4: memset(dst, 0, 4); break;
  case 8: memset(dst, 0, 8); break;
  case 1: memset(dst, 0, 1); break;
  default: memset(dst, 0, size); break;
  }
}

/* ---- component sets ------------------------------------------------------ */

typedef struct compset {
  uint64_t bits[MYR_MAX_COMPONENTS / 64];
} compset;

static inline bool compset_has(const compset *s, myr_component c) {
  return (s->bits[c >> 6] >> (c & 63)) & 1u;
}
static inline void compset_put(compset *s, myr_component c) { s->bits[c >> 6] |= 1ull << (c & 63); }
static inline void compset_del(compset *s, myr_component c) {
  s->bits[c >> 6] &= ~(1ull << (c & 63));
}
static inline bool compset_eq(const compset *a, const compset *b) {
  return memcmp(a, b, sizeof *a) == 0;
}
/* True when every component of `sub` is in `set`. */
static inline bool compset_covers(const compset *set, const compset *sub) {
  for (unsigned i = 0; i < MYR_MAX_COMPONENTS / 64; i++)
    if ((set->bits[i] & sub->bits[i]) != sub->bits[i]) return false;
  return true;
}
static inline bool compset_meets(const compset *a, const compset *b) {
  for (unsigned i = 0; i < MYR_MAX_COMPONENTS / 64; i++)
    if (a->bits[i] & b->bits[i]) return true;
  return false;
}
uint32_t compset_count(const compset *s);
uint64_t compset_hash(const compset *s);

/* ---- components ---------------------------------------------------------- */

typedef struct component_info {
  char *name;
  size_t name_size;
  myr_field *fields;        /* field names point into `names` */
  char *names;              /* all field names, NUL separated */
  size_t names_size;
  uint32_t *elem_size;      /* bytes per value, per field */
  uint32_t field_count;
  size_t row_size;
  uint32_t packed_size;     /* sum of elem_size: the fields back to back */
  bool row_is_packed;       /* the row struct holds the fields back to back from offset 0 */
  bool has_entity_fields;   /* some field is MYR_ENTITY: patches rewrite provisional ids */
} component_info;

/* ---- tables -------------------------------------------------------------- */

typedef struct column {
  unsigned char *data;
  uint32_t elem_size;
  myr_type type;
  myr_component component;
  uint32_t field;
} column;

typedef struct table {
  compset set;
  uint32_t id;
  uint32_t comp_count;
  myr_component *comps;     /* ascending */
  uint32_t *comp_col;       /* per comps[i]: index of its first column */
  uint32_t col_count;
  column *cols;
  myr_entity *ids;          /* the entity id of each row */
  uint32_t count;
  uint32_t capacity;        /* multiple of ROW_ALIGN */
  void *block;              /* ids and every column live in this allocation */
  size_t block_size;
  /* The table graph: per component, the table this one's rows go to when
   * it is added (or removed), plus one; 0 = not looked up yet. Made with
   * the table (MYR_MAX_COMPONENTS * 2 entries); tables never go away. */
  uint32_t *edges;
} table;

/* ---- entities ------------------------------------------------------------ */

typedef struct entity_record {
  uint32_t generation;      /* of the current or next occupant */
  uint32_t table;           /* NO_TABLE when the slot is free */
  uint32_t row;
  uint32_t next_free;       /* free list link (slot index), NO_TABLE ends it */
} entity_record;

/* ---- the world ----------------------------------------------------------- */

/* The parts built on the world (queries, patches) keep their state with it
 * in slots, so that the world needs to know nothing of them: a part names
 * its slot by the address of a static of its own, and may give a function
 * that tears its state down when the world is destroyed (in reverse order
 * of first use, before the tables go). */
#define WORLD_SLOTS 8
typedef void (*world_teardown_fn)(myr_world *w, void *state);
typedef struct world_slot_entry {
  const void *key;
  void *state;
  world_teardown_fn teardown;
} world_slot_entry;

struct myr_world {
  myr_allocator alloc;

  component_info *components;
  uint32_t component_count;

  struct resource_info *resources; /* MYR_MAX_RESOURCES entries, made on first use */
  uint32_t resource_count;

  table **tables;
  uint32_t table_count, table_cap;
  uint32_t *table_map;      /* open addressing: table ids by compset hash */
  uint32_t table_map_cap;   /* power of two */

  entity_record *entities;
  uint32_t slot_count, slot_cap;
  uint32_t free_head;       /* most recently freed slot, NO_TABLE if none */
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
#ifdef MYR_ACCESS_CHECK
  /* access-checking builds: told of every component read through the world
   * API (the schedule checks it against the running system's stage) */
  void (*read_hook)(const myr_world *w, myr_component c, void *ctx);
  void *read_hook_ctx;
#endif
};

#ifdef MYR_ACCESS_CHECK
#define WORLD_READ(w, c) \
  do { \
    if ((w) && (w)->read_hook) (w)->read_hook((w), (c), (w)->read_hook_ctx); \
  } while (0)
#else
#define WORLD_READ(w, c) ((void)0)
#endif

/* one matched table of a query */
typedef struct query_match {
  uint32_t table;
  int32_t term_col[MYR_QUERY_MAX_TERMS]; /* first column of the term's component, -1 none */
} query_match;

struct myr_query {
  myr_world *world;
  struct myr_query *next, *prev; /* the world's live queries (query.c's slot) */
  uint32_t term_count;
  myr_term terms[MYR_QUERY_MAX_TERMS];
  compset required, excluded;
  uint32_t tables_seen;
  query_match *matches;
  uint32_t match_count, match_cap;
};

/* ---- allocation (world.c) ------------------------------------------------ */

void *world_alloc(const myr_world *w, size_t size, size_t align);
void world_free(const myr_world *w, void *p, size_t size);
/* Grows *arr (of *cap elements of elem bytes) to hold at least `need`. On
 * failure nothing changes. */
myr_status world_grow_array(const myr_world *w, void **arr, uint32_t *cap, size_t elem,
                            uint32_t need);

/* Removes row r of t and repairs the record of the entity moved into it. */
void world_remove_row(myr_world *w, table *t, uint32_t r);
/* Moves live entity e from its row in src to a new row of dst (capacity
 * reserved), between any two tables. Columns dst has and src lacks come
 * from `row` (component `added`, NULL for none) or are zero. (A tag's
 * add or remove takes a faster path in change_set, world.c.) */
void world_move_row(myr_world *w, myr_entity e, table *src, table *dst, myr_component added,
                    const unsigned char *row);
/* The state pointer of the part named by key, made (NULL, with teardown)
 * on first use. The parts are few and fixed, so a slot is always found. */
void **world_slot(myr_world *w, const void *key, world_teardown_fn teardown);
/* The state of the part named by key, NULL if it never used its slot. */
void *world_slot_state(const myr_world *w, const void *key);

/* ---- resources (resource.c) --------------------------------------------- */

typedef struct resource_info {
  char *name;
  size_t name_size;
  unsigned char *data;
  size_t size, align;
} resource_info;

void resource_free_all(myr_world *w);

/* ---- entity index (entity.c) --------------------------------------------- */

/* Resolves an id to its record; MYR_OK only for live entities. Inline: it is
 * on the path of every set, get and patch. */
static inline myr_status entity_lookup(const myr_world *w, myr_entity e, const entity_record **out) {
  if (!w || e == MYR_ENTITY_NULL) return MYR_EINVAL;
  uint32_t index = MYR_ENTITY_INDEX(e);
  if (index >= w->slot_count) return MYR_ENOENT;
  const entity_record *r = &w->entities[index];
  if (r->table == NO_TABLE || r->generation != MYR_ENTITY_GENERATION(e)) {
    /* a generation above the slot's current one was never handed out */
    return MYR_ENTITY_GENERATION(e) > r->generation ? MYR_ENOENT : MYR_ESTALE;
  }
  *out = r;
  return MYR_OK;
}
/* Ensures `n` more entities can be created without allocating. */
myr_status entity_reserve(myr_world *w, uint32_t n);
/* Takes a slot (free list first) and returns its new id. Needs a reservation. */
myr_entity entity_take(myr_world *w, uint32_t table, uint32_t row);
/* entity_take for n entities at rows first_row.. of one table, writing
 * their ids to ids[0..n). Needs a reservation. */
void entity_take_bulk(myr_world *w, uint32_t table, uint32_t first_row, uint32_t n, myr_entity *ids);
/* Frees a live entity's slot and bumps its generation. */
void entity_release(myr_world *w, uint32_t index);
void entity_free_all(myr_world *w);

/* ---- tables (table.c) ---------------------------------------------------- */

/* Finds or creates the table of a component set. */
myr_status table_get(myr_world *w, const compset *set, table **out);
/* The table of t's set with component c added (add) or removed, for a
 * step that changes the set: through t's cached edge, else table_get,
 * caching the answer. Only such steps are cached, so a nonzero
 * table_edge() also says that t lacks c (add) or has it (remove). */
myr_status table_step(myr_world *w, table *t, myr_component c, bool add, table **out);
/* t's cached edge for adding or removing c: the destination's id plus
 * one, 0 when not looked up yet. */
static inline uint32_t table_edge(const table *t, myr_component c, bool add) { return t->edges[c * 2 + (add ? 0 : 1)]; }
table *table_find(const myr_world *w, const compset *set);
/* Ensures `n` more rows fit without allocating. */
myr_status table_reserve(myr_world *w, table *t, uint32_t n);
/* Appends n rows (capacity must be reserved) and keeps the padding invariant:
 * rows [count, round_up16(count)) are always initialised. Returns the first row. */
uint32_t table_append(table *t, uint32_t n);
/* Zeroes the 16-row block that starts at row `first` (a multiple of 16,
 * below the capacity) in the ids and every column. */
void table_zero_block(table *t, uint32_t first);
/* table_append of one row: only a row that starts a 16-row block has
 * padding to zero, and zeroing the whole block (the row itself is written
 * next) is a few constant-size stores per column. */
static inline uint32_t table_append1(table *t) {
  uint32_t first = t->count;
  if (__builtin_expect(first % ROW_ALIGN == 0, 0)) table_zero_block(t, first);
  t->count = first + 1;
  return first;
}
/* Removes row r by moving the last row into it; returns the entity that
 * moved (MYR_ENTITY_NULL if none). */
myr_entity table_swap_remove(table *t, uint32_t r);
/* Finds the first column of a component in the table, -1 if absent. */
int32_t table_comp_col(const table *t, myr_component c);
void table_destroy(myr_world *w, table *t);
void table_free_all(myr_world *w);

#endif /* MYRIAD_WORLD_IMPL_H */
