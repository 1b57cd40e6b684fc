/* The world's interface to the parts built on it (queries, patches, the
 * schedule, snapshots): the storage they read on hot paths, and the
 * operations through which they change it. Rows, table counts and entity
 * records are changed only by the world's own functions; a part above may
 * read the structs below and write values into a row's cells, nothing else.
 * Private to the library: nothing here is part of the public API. */
#ifndef MYRIAD_WORLD_IFACE_H
#define MYRIAD_WORLD_IFACE_H

#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "myriad/world.h"

#define ROW_ALIGN 16u    /* capacities and chunk starts are multiples of this */
#define COLUMN_ALIGN 64u /* every column starts on a cache line */
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

static inline bool compset_has(const compset *s, myr_component c) { return (s->bits[c >> 6] >> (c & 63)) & 1u; }
static inline void compset_put(compset *s, myr_component c) { s->bits[c >> 6] |= 1ull << (c & 63); }
static inline void compset_del(compset *s, myr_component c) { s->bits[c >> 6] &= ~(1ull << (c & 63)); }
static inline bool compset_eq(const compset *a, const compset *b) { return memcmp(a, b, sizeof *a) == 0; }
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
  myr_field *fields; /* field names point into `names` */
  char *names;       /* all field names, NUL separated */
  size_t names_size;
  uint32_t *elem_size; /* bytes per value, per field */
  uint32_t field_count;
  size_t row_size;
  uint32_t packed_size;   /* sum of elem_size: the fields back to back */
  bool row_is_packed;     /* the row struct holds the fields back to back from offset 0 */
  bool has_entity_fields; /* some field is MYR_ENTITY: patches rewrite provisional ids */
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
  myr_component *comps; /* ascending */
  uint32_t *comp_col;   /* per comps[i]: index of its first column */
  uint32_t col_count;
  column *cols;
  myr_entity *ids; /* the entity id of each row */
  uint32_t count;
  uint32_t capacity; /* multiple of ROW_ALIGN */
  void *block;       /* ids and every column live in this allocation */
  size_t block_size;
  /* Rows from `fresh` (a multiple of 16, at least round_up16(count)) up to
   * the capacity have not been written since the block was allocated; they
   * are zero when fresh_zero (the allocator's fresh memory is known to be
   * zero), else anything. */
  uint32_t fresh;
  bool fresh_zero;
  /* The table graph: per component, the table this one's rows go to when
   * it is added (or removed), plus one; 0 = not looked up yet. Made with
   * the table (MYR_MAX_COMPONENTS * 2 entries); tables never go away. */
  uint32_t *edges;
} table;

/* ---- entities ------------------------------------------------------------ */

typedef struct entity_record {
  uint32_t generation; /* of the current or next occupant */
  uint32_t table;      /* NO_TABLE when the slot is free */
  uint32_t row;
} entity_record;

/* ---- what the parts read ------------------------------------------------- */

/* The storage a world's parts read directly: the first member of struct
 * myr_world (world_impl.h), so reaching it costs no call on the paths of
 * every patch and chunk. Read only outside the world. */
typedef struct world_view {
  component_info *components; /* MYR_MAX_COMPONENTS entries, component_count used */
  uint32_t component_count;
  table **tables; /* by id; tables never move or go away */
  uint32_t table_count;
  entity_record *entities; /* by slot index */
  uint32_t slot_count;
  /* hidden components (myr_component_hide): a query matches a table that
   * has one only when a term names it */
  compset hidden;
} world_view;

static inline const world_view *world_view_of(const myr_world *w) { return (const world_view *)(const void *)w; }
static inline table *world_table(const myr_world *w, uint32_t id) { return world_view_of(w)->tables[id]; }
static inline uint32_t world_table_count(const myr_world *w) { return world_view_of(w)->table_count; }
static inline const component_info *world_component(const myr_world *w, myr_component c) {
  return &world_view_of(w)->components[c];
}
static inline uint32_t world_component_count(const myr_world *w) { return world_view_of(w)->component_count; }

/* Resolves an id to its record; MYR_OK only for live entities. Inline: it is
 * on the path of every set, get and patch. */
static inline myr_status entity_lookup(const myr_world *w, myr_entity e, const entity_record **out) {
  if (!w || e == MYR_ENTITY_NULL) return MYR_EINVAL;
  const world_view *v = world_view_of(w);
  uint32_t index = MYR_ENTITY_INDEX(e);
  if (index >= v->slot_count) return MYR_ENOENT;
  const entity_record *r = &v->entities[index];
  if (r->table == NO_TABLE || r->generation != MYR_ENTITY_GENERATION(e)) {
    /* a generation above the slot's current one was never handed out */
    return MYR_ENTITY_GENERATION(e) > r->generation ? MYR_ENOENT : MYR_ESTALE;
  }
  *out = r;
  return MYR_OK;
}

/* A frame starts or ends on the world (the schedule's run): resources
 * cannot be resized meanwhile. Called on the frame's thread. */
void world_frame_enter(myr_world *w);
void world_frame_leave(myr_world *w);

/* Resources registered, and one's name (registered resources only). */
uint32_t world_resource_count(const myr_world *w);
const char *world_resource_name(const myr_world *w, myr_resource r);
/* Access-checking builds: the function told of every component read
 * through the world API (NULL: none), and its context. */
typedef void (*world_read_fn)(const myr_world *w, myr_component c, void *ctx);
void world_set_read_hook(myr_world *w, world_read_fn fn, void *ctx);
/* The context of the read hook set, NULL if none. */
void *world_read_hook_ctx(const myr_world *w);

/* ---- allocation (alloc.c) ------------------------------------------------ */

void *world_alloc(const myr_world *w, size_t size, size_t align);
void world_free(const myr_world *w, void *p, size_t size);
/* Grows *arr (of *cap elements of elem bytes) to hold at least `need`. On
 * failure nothing changes. */
myr_status world_grow_array(const myr_world *w, void **arr, uint32_t *cap, size_t elem, uint32_t need);

/* ---- slots of the parts built on the world ------------------------------- */

/* The parts built on the world (queries, patches) keep their state with it
 * in slots, so that the world needs to know nothing of them: a part names
 * its slot by the address of a static of its own, and may give a function
 * that tears its state down when the world is destroyed (in reverse order
 * of first use, before the tables go). */
typedef void (*world_teardown_fn)(myr_world *w, void *state);
/* The state pointer of the part named by key, made (NULL, with teardown)
 * on first use. The parts are few and fixed, so a slot is always found. */
void **world_slot(myr_world *w, const void *key, world_teardown_fn teardown);
/* The state of the part named by key, NULL if it never used its slot. */
void *world_slot_state(const myr_world *w, const void *key);

/* ---- reserving ------------------------------------------------------------ */

/* Ensures `n` more entities can be created without allocating. */
myr_status entity_reserve(myr_world *w, uint32_t n);
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
myr_status table_reserve_grow(myr_world *w, table *t, uint32_t n);
/* Ensures `n` more rows fit without allocating. Inline: a table that has
 * room (nearly always) costs a compare. */
static inline myr_status table_reserve(myr_world *w, table *t, uint32_t n) {
  return (uint64_t)t->count + n <= t->capacity ? MYR_OK : table_reserve_grow(w, t, n);
}
/* The same, for a table whose rows past its count up to `kept` hold values
 * written ahead of placing them (a snapshot's load): those are kept too,
 * and the n rows past `kept` count as written from then on. */
myr_status table_reserve_kept(myr_world *w, table *t, uint32_t kept, uint32_t n);
/* Finds the first column of a component in the table, -1 if absent. */
int32_t table_comp_col(const table *t, myr_component c);

/* ---- batch operations on rows (rows.c) ------------------------------------ */

/* A row of a table, and where a move takes it. */
typedef struct world_row {
  uint32_t table, row;
  uint32_t dst;  /* world_rows_move: the destination table */
  uint32_t slot; /* the entity's slot (what t->ids[row] holds): spares the removal a load */
} world_row;

/* Parallel work: run(ctx, parts, body, arg) calls body(arg, part) for every
 * part in [0, parts), on several threads at once, and returns when all have
 * returned. The parts of one call touch disjoint memory. */
typedef void (*world_part_fn)(void *arg, uint32_t part);
typedef struct world_par {
  void (*run)(void *ctx, uint32_t parts, world_part_fn body, void *arg);
  void *ctx;
  uint32_t threads; /* how many threads run shares work among; 0 or 1: none */
  uint32_t min;     /* work smaller than this many items stays on the caller */
} world_par;

/* Runs body over `parts` parts: with par's threads when par has more than
 * one and `items` (the work's size) reaches par->min, else here, in part
 * order. */
static inline void world_par_run(const world_par *par, uint64_t items, uint32_t parts, world_part_fn body, void *arg) {
  if (par && par->threads > 1 && parts > 1 && items >= par->min) {
    par->run(par->ctx, parts, body, arg);
    return;
  }
  for (uint32_t p = 0; p < parts; p++) body(arg, p);
}

/* The parts a batch of `items` splits into under par: one per thread, or 1. */
static inline uint32_t world_par_parts(const world_par *par, uint64_t items) {
  return par && par->threads > 1 && items >= par->min ? par->threads : 1;
}

/* Part p's share [*lo, *hi) of n items cut into `parts` parts. */
static inline void world_part_range(uint64_t n, uint32_t p, uint32_t parts, uint32_t *lo, uint32_t *hi) {
  *lo = (uint32_t)(n * p / parts);
  *hi = (uint32_t)(n * (p + 1) / parts);
}

/* What the batch operations may use while they run: `rows` with room for
 * as many rows as the batch has, `work` for 3 words per row of the batch,
 * `counts` for world_table_count() + 1 counters, and `colmap` for the
 * columns of the widest destination table; `par` (may be NULL) shares the
 * copies out among threads. */
typedef struct world_rows_scratch {
  world_row *rows;
  uint32_t *work;
  uint32_t *counts;
  int32_t *colmap;
  const world_par *par;
} world_rows_scratch;

/* Removes the rows rows[0..n) (distinct, live) from their tables and, with
 * release, frees their entities' slots (bumping the generations). The
 * result is that of swap-removes of each table's rows from the last one
 * down: the holes below the new count, highest first, take the rows that
 * stay above it, highest first; the slots are freed in that order too
 * (rows descending, table by table). rows[] is reordered. Cannot fail. */
void world_rows_remove(myr_world *w, world_row *rows, uint32_t n, bool release, world_rows_scratch *scratch);
/* Moves the rows rows[0..n) (distinct, live) to the end of their dst
 * tables, in order: runs of rows with the same source and destination are
 * copied column by column; columns the destination has and the source lacks
 * are zero. Then removes the source rows as world_rows_remove does. The
 * destinations' capacity must be reserved (table_reserve). Cannot fail. */
void world_rows_move(myr_world *w, world_row *rows, uint32_t n, world_rows_scratch *scratch);
/* Appends n zeroed rows to table t for n new entities. Rows and entity
 * slots must be reserved (table_reserve, entity_reserve). Returns the first
 * row; the new ids are t->ids[first .. first + n). */
uint32_t world_rows_spawn(myr_world *w, table *t, uint32_t n);

/* ---- values of a row ------------------------------------------------------ */

/* The cell of column col at row r. */
static inline unsigned char *table_cell(const table *t, int32_t col, uint32_t r) {
  const column *cl = &t->cols[col];
  return cl->data + (size_t)r * cl->elem_size;
}
/* Writes a component's packed values (its fields back to back) into row r
 * of its columns, which start at column col; returns the end of the values. */
static inline const unsigned char *table_write_packed(const component_info *ci, table *t, int32_t col, uint32_t r,
                                                      const unsigned char *src) {
  for (uint32_t f = 0; f < ci->field_count; f++) {
    column *cl = &t->cols[col + (int32_t)f];
    value_copy(cl->data + (size_t)r * cl->elem_size, src, cl->elem_size);
    src += cl->elem_size;
  }
  return src;
}
/* Zeroes a component's values in row r. */
static inline void table_zero_component(const component_info *ci, table *t, int32_t col, uint32_t r) {
  for (uint32_t f = 0; f < ci->field_count; f++) {
    column *cl = &t->cols[col + (int32_t)f];
    value_zero(cl->data + (size_t)r * cl->elem_size, cl->elem_size);
  }
}

/* ---- restoring a saved world (restore.c) ----------------------------------- */

/* What a world has registered: a load notes it before it registers
 * anything, and rolls back to it when it fails. */
typedef struct world_mark {
  uint32_t components, resources, tables;
} world_mark;

world_mark world_mark_now(const myr_world *w);
/* Unregisters the components, resources and tables made since the mark,
 * newest first. They must be unused: the tables empty, no query refreshed
 * over them, no table of the mark's made with their components. */
void world_rollback(myr_world *w, const world_mark *mark);
/* True while a schedule runs a frame on the world. */
bool world_running(const myr_world *w);
/* Ensures the entity index holds `slots` slots without allocating. */
myr_status world_slots_reserve(myr_world *w, uint32_t slots);
/* Replaces the entity index of a world with no live entities: `slots`
 * slots (reserved), slot i of generation gens[i], all free; then the free
 * list is free_list[0..free_count) in order, its head first. The slots in
 * neither are made live by world_place_rows, before anything else reads
 * the world. Little-endian u32 arrays, read unaligned. Cannot fail. */
void world_index_restore(myr_world *w, uint32_t slots, const unsigned char *gens, const unsigned char *free_list,
                         uint32_t free_count);
/* Appends n rows to table t (capacity reserved) for the entities of the
 * slots slots[0..n) (little-endian u32, restored by world_index_restore),
 * with their generations; their values are the ones the caller wrote there
 * beforehand (every column). `last`: no more rows follow for this table,
 * so the padding after them is zeroed now (before, it would zero rows
 * written for a later call). Returns the first row. Cannot fail. */
uint32_t world_place_rows(myr_world *w, table *t, const unsigned char *slots, uint32_t n, bool last);
/* The free list: its length, and its k-th slot (k < length; 0 is the head,
 * the slot the next spawn takes). */
uint32_t world_free_count(const myr_world *w);
uint32_t world_free_at(const myr_world *w, uint32_t k);
/* A resource's alignment and flags (registered resources only). */
size_t world_resource_align(const myr_world *w, myr_resource r);
uint32_t world_resource_flags(const myr_world *w, myr_resource r);

#endif /* MYRIAD_WORLD_IFACE_H */
