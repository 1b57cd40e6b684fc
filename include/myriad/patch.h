/* myriad — patches: structural changes recorded now, applied later in order.
 *
 * A patch is a request to change the world: set a component or one field,
 * add or remove a component, destroy an entity, spawn one. Systems record
 * patches through the myr_patches handle their chunk callback receives; the
 * schedule applies every stage's patches at the stage's end, in the order a
 * serial run over all rows would have made them (system order, then row
 * order, then the order of the calls), whatever the thread count and chunk
 * size. Outside a schedule a myr_patches made with myr_patches_create is a
 * deferred command buffer for the main thread.
 *
 * Patches are plain bytes (ids, component ids, packed field values), never
 * pointers. Recording copies the values; it allocates only when a buffer
 * grows, and buffers keep their memory from frame to frame.
 *
 * Outcomes when a batch is applied (each counted in myr_patch_stats):
 * - any patch naming a dead, stale or unknown entity is skipped;
 * - every patch after a destroy of the same entity is skipped;
 * - add of a component the entity already has is skipped (values are not
 *   written: use set);
 * - remove of a component the entity lacks is skipped;
 * - set of a component the entity lacks is skipped;
 * - several structural patches on one entity (spawn, add, remove, destroy)
 *   move its row once, to its final table; set patches and the values of
 *   adds are then written in their original order.
 * An entity spawned by a patch has a provisional id until the batch is
 * applied; later patches of the same batch (the same stage) may name it.
 * Provisional ids resolve to real ids in patch order. A provisional id stored
 * in a component value is not rewritten. */
#ifndef MYRIAD_PATCH_H
#define MYRIAD_PATCH_H

#include <stdint.h>

#include "myriad/status.h"
#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct myr_patches myr_patches;

/* True for ids handed out by myr_patch_spawn and not yet resolved. */
#define MYR_ENTITY_IS_PROVISIONAL(e) (MYR_ENTITY_GENERATION(e) == 0 && (e) != MYR_ENTITY_NULL)

typedef struct myr_patch_stats {
  uint64_t recorded;        /* patches in the batch */
  uint64_t applied;         /* patches that changed the world */
  uint64_t skipped_dead;    /* naming a dead, stale or unknown entity, or after its destroy */
  uint64_t skipped_present; /* add of a component already there */
  uint64_t skipped_absent;  /* remove or set of a component not there */
  uint64_t spawned, destroyed, moved; /* entities created, destroyed, moved between tables */
} myr_patch_stats;

/* ---- recording (from a system callback, or on a command buffer) ----------
 * Errors: MYR_EINVAL (NULL, bad provisional id), MYR_ENOCOMP, MYR_EFIELD,
 * MYR_ETYPE, MYR_ENOMEM (nothing recorded). Entity ids are checked when the
 * batch is applied, not here. */

/* Sets a whole component from a row struct. */
MYR_API myr_status myr_patch_set(myr_patches *p, myr_entity e, myr_component c, const void *row);

/* Sets one field; `type` must be the field's registered type. */
MYR_API myr_status myr_patch_set_field(myr_patches *p, myr_entity e, myr_component c,
                                       uint32_t field, myr_type type, const void *value);

/* Adds a component with values from a row struct (NULL = zeros). */
MYR_API myr_status myr_patch_add(myr_patches *p, myr_entity e, myr_component c, const void *row);

/* Removes a component. */
MYR_API myr_status myr_patch_remove(myr_patches *p, myr_entity e, myr_component c);

/* Destroys an entity. */
MYR_API myr_status myr_patch_destroy(myr_patches *p, myr_entity e);

/* Spawns an entity with a component set; values[i] is a row struct for
 * components[i] or NULL for zeros (values itself may be NULL). Writes a
 * provisional id to *out (may be NULL). */
MYR_API myr_status myr_patch_spawn(myr_patches *p, const myr_component *components,
                                   uint32_t component_count, const void *const *values,
                                   myr_entity *out);

/* ---- command buffers ------------------------------------------------------ */

/* Creates a command buffer for the main thread; it uses the world's
 * allocator and must be destroyed before the world. */
MYR_API myr_status myr_patches_create(myr_world *world, myr_patches **out);

/* Applies everything recorded, in order, and empties the buffer (keeping its
 * memory). stats may be NULL. Errors: MYR_ENOMEM (the world is as it was
 * and the buffer still holds the patches). */
MYR_API myr_status myr_patches_apply(myr_patches *p, myr_patch_stats *stats);

/* Discards everything recorded, keeping the memory. */
MYR_API void myr_patches_clear(myr_patches *p);

/* Number of patches recorded and not yet applied. */
MYR_API uint64_t myr_patches_count(const myr_patches *p);

MYR_API void myr_patches_destroy(myr_patches *p);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_PATCH_H */
