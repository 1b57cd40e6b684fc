/* myriad — the world: entities, components, archetype tables of SoA columns.
 *
 * A world owns entities (64-bit ids: slot index in the low 32 bits,
 * generation in the high 32) and components (a name plus a field list). Each
 * distinct component set is an archetype table; every field of every
 * component is its own column, 64-byte aligned, with capacity padded to a
 * multiple of 16 rows. set/get take a plain row struct and scatter/gather it
 * through the field offsets, so iteration sees pure columns.
 *
 * Thread safety: a world is not synchronised. Reads (get, alive, hash) may run
 * concurrently with each other; anything that changes the world must run
 * alone. Systems change other entities through patches (patch.h).
 *
 * Failure: every function that can fail returns a myr_status and, when it
 * fails, leaves the world as it was (same entities, same values, same hash),
 * including when the allocator fails part-way. One trace may remain: a call
 * that created the table of a new component set and then failed leaves that
 * table, empty (myr_world_table_count counts it; queries match it and find
 * no rows). */
#ifndef MYRIAD_WORLD_H
#define MYRIAD_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myriad/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- entities ------------------------------------------------------------ */

/* A real entity's generation is 1..2^31-1: bit 63 of a real id is always
 * clear (ids with it set are provisional, see patch.h). */
typedef uint64_t myr_entity;

#define MYR_ENTITY_NULL ((myr_entity)0)
#define MYR_ENTITY_INDEX(e) ((uint32_t)(0xffffffffu & (e)))
#define MYR_ENTITY_GENERATION(e) ((uint32_t)((e) >> 32))

/* ---- components ---------------------------------------------------------- */

typedef uint32_t myr_component;

/* At most this many components per world (component sets are bitsets). */
#define MYR_MAX_COMPONENTS 256
/* At most this many fields per component. */
#define MYR_MAX_FIELDS 64

typedef enum myr_type {
  MYR_F32 = 1,
  MYR_F64,
  MYR_I32,
  MYR_U32,
  MYR_I64,
  MYR_U64,
  MYR_U8,
  MYR_BYTES, /* fixed-size opaque bytes; myr_field.size gives the size */
  MYR_ENTITY /* a myr_entity (8 bytes): a reference to another entity. A
                provisional id (patch.h) stored in such a field by a patch is
                rewritten to the real id when its batch is applied. */
} myr_type;

/* One field of a component: becomes one column. */
typedef struct myr_field {
  const char *name; /* copied; may be NULL */
  myr_type type;
  uint32_t size; /* MYR_BYTES only: bytes per value (1..4096); else 0 */
  size_t offset; /* offsetof() of the field in the user's row struct */
} myr_field;

#define MYR_FIELD(row_type, member, field_type) \
  { #member, field_type, 0, offsetof(row_type, member) }

typedef struct myr_component_desc {
  const char *name;        /* required, unique in the world; copied */
  const myr_field *fields; /* copied; NULL with field_count 0 = a tag */
  uint32_t field_count;
  size_t row_size; /* sizeof the user's row struct (checked against offsets) */
} myr_component_desc;

/* ---- the world ----------------------------------------------------------- */

typedef struct myr_world myr_world;

/* Allocation hooks. alloc returns memory aligned to `align` (a power of two
 * <= 4096) or NULL; free receives the size that was asked for. */
typedef struct myr_allocator {
  void *(*alloc)(size_t size, size_t align, void *user);
  void (*free)(void *ptr, size_t size, void *user);
  void *user;
} myr_allocator;

typedef struct myr_world_desc {
  myr_allocator allocator; /* zero = aligned malloc/free */
} myr_world_desc;

/* Creates a world. desc may be NULL for defaults. */
MYR_API myr_status myr_world_create(const myr_world_desc *desc, myr_world **out);

/* The seed that keys the world's random numbers (random.h): 0 until set.
 * Set it before the first frame; every seed, 0 too, is as good as any
 * other. myr_world_set_seed errors: MYR_EINVAL (NULL world), MYR_EBUSY
 * (while a schedule runs a frame on the world). */
MYR_API myr_status myr_world_set_seed(myr_world *world, uint64_t seed);
MYR_API uint64_t myr_world_seed(const myr_world *world);

/* The world's clock: the frames schedules have run on it, and the sum of
 * their dt. Each myr_schedule_run advances it by one frame after the
 * frame; callbacks see the values from before (myr_view.frame, .time).
 * The clock is not part of myr_world_hash. 0 for NULL. */
MYR_API uint64_t myr_world_frame(const myr_world *world);
MYR_API double myr_world_time(const myr_world *world);

/* Sets the clock, e.g. to continue a run that stopped at that frame.
 * Errors: MYR_EINVAL (NULL world), MYR_EBUSY (while a schedule runs a frame
 * on the world). */
MYR_API myr_status myr_world_set_clock(myr_world *world, uint64_t frame, double time);

/* Destroys a world and everything it owns. NULL is ignored. Queries still
 * alive are destroyed with it (their handles become invalid); schedules and
 * command buffers made on the world must be destroyed before it. */
MYR_API void myr_world_destroy(myr_world *world);

/* Registers a component. Errors: MYR_EINVAL (bad desc: no name, bad type,
 * field outside row_size), MYR_EEXIST (name taken), MYR_ELIMIT, MYR_ENOMEM. */
MYR_API myr_status myr_component_register(myr_world *world, const myr_component_desc *desc, myr_component *out);

/* Finds a component by name. Errors: MYR_ENOCOMP, MYR_EINVAL. */
MYR_API myr_status myr_component_lookup(const myr_world *world, const char *name, myr_component *out);

/* The number of components registered: their ids are 0 .. count - 1.
 * 0 for NULL. */
MYR_API uint32_t myr_component_count(const myr_world *world);

/* A registered component's name, owned by the world; NULL for an unknown
 * id or NULL world. */
MYR_API const char *myr_component_name(const myr_world *world, myr_component component);

/* Describes a registered component: its field count and, when field_out is
 * not NULL, field `field` (the name pointer stays owned by the world). */
MYR_API myr_status myr_component_info(const myr_world *world, myr_component component, uint32_t *field_count,
                                      uint32_t field, myr_field *field_out);

/* Finds a field of a component by name (names are those given at
 * registration), e.g. once when a system is set up, so that loops index
 * columns by a checked number. Errors: MYR_EINVAL (NULL), MYR_ENOCOMP,
 * MYR_EFIELD (no field of that name). */
MYR_API myr_status myr_component_field(const myr_world *world, myr_component component, const char *name,
                                       uint32_t *field_out);

/* Hides a component: a query (so a system, a grid) matches an entity that
 * has it only when one of its terms names the component, e.g. as
 * MYR_TERM_OPTIONAL to see such entities beside the others, MYR_TERM_WITH
 * to see them alone. For copies of entities that live elsewhere, which the
 * systems must not run on (ghosts, mpi.h). myr_world_entity_count,
 * myr_world_hash and snapshots still count them. Hide a component before
 * any entity has it: errors MYR_EINVAL (NULL), MYR_ENOCOMP, MYR_EBUSY (a
 * table with the component exists already, or a frame is running);
 * hiding it again is MYR_OK. */
MYR_API myr_status myr_component_hide(myr_world *world, myr_component component);
/* True when the component is hidden (false for an unknown one or NULL). */
MYR_API bool myr_component_hidden(const myr_world *world, myr_component component);
/* Number of live entities. */
MYR_API uint32_t myr_world_entity_count(const myr_world *world);

/* Number of archetype tables created so far (tables are never removed). */
MYR_API uint32_t myr_world_table_count(const myr_world *world);

/* A 64-bit hash of the world's content: live entities in slot order (by
 * the index part of their ids), each with its id (generation included),
 * its component ids and every field value. Stable across runs and
 * machines of the same endianness; independent of table layout, row order
 * and capacity. Then every resource's bytes, in registration order, but
 * those registered MYR_RESOURCE_UNHASHED. The clock and the seed are not
 * hashed. */
MYR_API myr_status myr_world_hash(const myr_world *world, uint64_t *out);

/* ---- the content hash ----------------------------------------------------- */
/* A hash of what the simulation holds that does not depend on entity ids,
 * row order, table layout or how the entities are split between worlds:
 * the same entities with the same components and values give the same
 * hash in one world or spread over several (MPI ranks, mpi.h).
 *
 * Each entity is hashed on its own, over its component ids (ascending) and
 * every field's bytes; the entities' hashes are added modulo 2^64 (so
 * their order does not matter) and counted. A MYR_ENTITY field is hashed
 * through the linked entity's key, the first field (MYR_U64) of the `key`
 * component: 0 for MYR_ENTITY_NULL, a dead or stale id, or an entity without
 * the key. Without a key component, a link is hashed as 1 when it names a
 * live entity and 0 otherwise, which holds in one world only. Resources,
 * the clock and the seed are not hashed: on ranks, resources are each
 * rank's own.
 *
 * Parts of one simulation combine by adding: sum += part.sum and count +=
 * part.count (wrapping), in any order; myr_content_hash turns the whole
 * into 64 bits. */
typedef struct myr_content_desc {
  bool has_key;      /* `key` names the key component */
  myr_component key; /* its first field must be MYR_U64 (else MYR_ETYPE) */
  /* Entities with any of these components are left out (e.g. ghosts,
   * copies of another world's entities). */
  const myr_component *skip;
  uint32_t skip_count;
  /* Only entities that have `require`, when has_require (e.g. the ones a
   * split over ranks distributes; the others are each rank's own). */
  bool has_require;
  myr_component require;
} myr_content_desc;
typedef struct myr_content {
  uint64_t sum;   /* the entities' hashes added modulo 2^64 */
  uint64_t count; /* the entities hashed */
} myr_content;
/* The content of the world's live entities (desc NULL: no key, no skip).
 * Errors: MYR_EINVAL (NULL world or out), MYR_ENOCOMP (an unknown key,
 * skip or require component), MYR_ETYPE (a key component whose first field is not
 * MYR_U64). */
MYR_API myr_status myr_world_content(const myr_world *world, const myr_content_desc *desc, myr_content *out);
/* 64 bits of a (combined) content: equal contents give equal hashes. */
MYR_API uint64_t myr_content_hash(myr_content content);
/* ---- resources ----------------------------------------------------------- */

/* A resource is a named blob of the world's that is not an entity's: a
 * spatial grid, a frame buffer, a histogram, a table of parameters. Systems
 * declare resource terms (schedule.h), and the schedule orders systems by
 * them as by components; a system's chunks run at the same time, so they
 * may share one only as myr_resource_term allows. Its bytes are part of
 * the world hash unless registered MYR_RESOURCE_UNHASHED. */
typedef uint32_t myr_resource;

/* At most this many resources per world. */
#define MYR_MAX_RESOURCES 64

enum {
  /* Left out of myr_world_hash: for scratch that systems rebuild every
   * frame from the world (a grid, a frame buffer), whose bytes are no part
   * of the simulation's state. */
  MYR_RESOURCE_UNHASHED = 1u << 0
};

typedef struct myr_resource_desc {
  const char *name;    /* required, unique among the world's resources; copied */
  size_t size;         /* bytes, at least 1 */
  size_t align;        /* a power of two up to 4096; 0 = 16 */
  const void *initial; /* copied in; NULL = zeros */
  uint32_t flags;      /* MYR_RESOURCE_* */
} myr_resource_desc;

/* Registers a resource, allocated with the world's allocator. Errors:
 * MYR_EINVAL (no name, size 0, bad alignment, unknown flags), MYR_EEXIST
 * (name taken), MYR_ELIMIT, MYR_ENOMEM. */
MYR_API myr_status myr_resource_register(myr_world *world, const myr_resource_desc *desc, myr_resource *out);

/* Finds a resource by name. Errors: MYR_EINVAL, MYR_ENOTFOUND. */
MYR_API myr_status myr_resource_lookup(const myr_world *world, const char *name, myr_resource *out);

/* The resource's bytes (aligned as registered), NULL for an unknown id. The
 * pointer stays valid until the resource is resized (or the world is
 * destroyed). Inside a system callback, use myr_view_resource (schedule.h)
 * for the resources the system declares. */
MYR_API void *myr_resource_data(myr_world *world, myr_resource resource);

/* Changes a resource's size, between frames: the first min(old, new)
 * bytes are kept, the rest zero. Its data moves: pointers from
 * myr_resource_data before the call are stale after it (schedules fetch
 * them anew every frame, and a reduction whose result is named by the
 * resource's handle follows it). Errors: MYR_EINVAL (NULL, unknown
 * resource, size 0), MYR_EBUSY (while a schedule runs a frame on the
 * world), MYR_ENOMEM (nothing changed). */
MYR_API myr_status myr_resource_resize(myr_world *world, myr_resource resource, size_t size);

/* The resource's size in bytes, 0 for an unknown id. */
MYR_API size_t myr_resource_size(const myr_world *world, myr_resource resource);

/* The number of resources registered: their ids are 0 .. count - 1. 0 for
 * NULL. */
MYR_API uint32_t myr_resource_count(const myr_world *world);

/* A registered resource's name, owned by the world; NULL for an unknown id
 * or NULL world. */
MYR_API const char *myr_resource_name(const myr_world *world, myr_resource resource);

/* A registered resource's flags (MYR_RESOURCE_*), 0 for an unknown id. */
MYR_API uint32_t myr_resource_flags(const myr_world *world, myr_resource resource);

/* ---- entity lifecycle ---------------------------------------------------- */

/* Creates an entity with no components. */
MYR_API myr_status myr_entity_create(myr_world *world, myr_entity *out);

/* Per-entity values of one field for bulk creation: `data` holds `count`
 * values of the field's type back to back (entity i's at i * size). */
typedef struct myr_bulk_column {
  myr_component component;
  uint32_t field;
  const void *data;
} myr_bulk_column;

typedef struct myr_bulk_desc {
  const myr_component *components; /* the set; order and duplicates ignored */
  uint32_t component_count;
  /* Optional: per entry of `components`, a row struct copied into every new
   * entity; NULL (array or entry) = zeros. */
  const void *const *values;
  uint32_t count;      /* how many entities */
  myr_entity *ids_out; /* optional: receives `count` ids */
  /* Optional: fields with a value per entity, copied straight into their
   * columns; they override `values` for those fields. Each must name a
   * component of the set and one of its fields (else MYR_EINVAL, MYR_EFIELD),
   * each (component, field) at most once. */
  const myr_bulk_column *columns;
  uint32_t column_count;
} myr_bulk_desc;

/* Creates desc->count entities in the table of the component set, filling
 * whole columns at once. Ids come from the free list first (most recently
 * freed first), then fresh slots. */
MYR_API myr_status myr_entity_create_bulk(myr_world *world, const myr_bulk_desc *desc);

/* Creates one entity with components and their values in one call (values
 * as in myr_bulk_desc: per component a row struct, or NULL for zeros). */
MYR_API myr_status myr_entity_create_with(myr_world *world, const myr_component *components, uint32_t component_count,
                                          const void *const *values, myr_entity *out);

/* Destroys an entity; its slot's generation is bumped so the id goes stale. */
MYR_API myr_status myr_entity_destroy(myr_world *world, myr_entity entity);

/* True when the id names a live entity of this world. */
MYR_API bool myr_entity_alive(const myr_world *world, myr_entity entity);

/* Checks an id: MYR_OK, MYR_ESTALE, MYR_ENOENT or MYR_EINVAL (NULL id/world). */
MYR_API myr_status myr_entity_check(const myr_world *world, myr_entity entity);

/* ---- components on entities ---------------------------------------------- */

/* Adds a component, moving the entity's row to the table of its new set.
 * row may be NULL (zeros). Errors: MYR_EEXIST when already present. */
MYR_API myr_status myr_component_add(myr_world *world, myr_entity entity, myr_component component, const void *row);

/* Set-or-add: sets the component from a row struct when the entity has it,
 * adds it with those values when it does not. */
MYR_API myr_status myr_component_put(myr_world *world, myr_entity entity, myr_component component, const void *row);

/* Removes a component. Errors: MYR_EABSENT when not present. */
MYR_API myr_status myr_component_remove(myr_world *world, myr_entity entity, myr_component component);

/* True when the entity is alive and has the component. */
MYR_API bool myr_component_has(const myr_world *world, myr_entity entity, myr_component component);

/* Scatters a row struct into the entity's columns of the component. */
MYR_API myr_status myr_component_set(myr_world *world, myr_entity entity, myr_component component, const void *row);

/* Gathers the component's columns into a row struct (other bytes of *row are
 * left as they were). */
MYR_API myr_status myr_component_get(const myr_world *world, myr_entity entity, myr_component component, void *row);

/* Sets one field; `type` must equal the registered type (MYR_ETYPE) and
 * value points at one value of that type (MYR_BYTES: `size` bytes). */
MYR_API myr_status myr_field_set(myr_world *world, myr_entity entity, myr_component component, uint32_t field,
                                 myr_type type, const void *value);

/* Reads one field into *value (see myr_field_set). */
MYR_API myr_status myr_field_get(const myr_world *world, myr_entity entity, myr_component component, uint32_t field,
                                 myr_type type, void *value);

/* Size in bytes of one value of a scalar type (MYR_ENTITY: 8; 0 for
 * MYR_BYTES and unknown types). */
MYR_API uint32_t myr_type_size(myr_type type);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_WORLD_H */
