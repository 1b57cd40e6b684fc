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
 * - a patch diverted to another process (myr_schedule_set_stage_end) is
 *   not applied here (counted in diverted);
 * - put of a component sets it when the entity has it then, else adds it
 *   with the put's values;
 * - several structural patches on one entity (spawn, add, remove, destroy)
 *   move its row once, to its final table; set patches and the values of
 *   adds are then written in their original order.
 *
 * Sets are "last wins": of several sets of one field in a batch, the last
 * in key order stays. Two other ways to settle what several chunks ask of
 * one entity, each the same bits for any thread count and chunk size:
 * - commutative updates of one field (myr_patch_add_to, myr_patch_min,
 *   myr_patch_max): each is applied to the value the patches before it in
 *   key order left, so ten chunks adding energy to one entity add up, in
 *   key order (floats too: the same order gives the same rounding);
 * - "first wins" sets (myr_patch_set_first): of several first-wins sets of
 *   one component on one entity in a batch, only the first in key order is
 *   applied; the later ones are skipped and counted (skipped_lost). Two
 *   predators that catch one prey both record a first-wins claim; exactly
 *   one gets it, whatever the threads. (It does not stop an ordinary set
 *   or a commutative update of the same component from applying.)
 * Like sets, they are skipped when the entity is dead or lacks the
 * component at that point of the batch.
 *
 * Provisional ids. myr_patch_spawn hands out a provisional id (bit 63 set)
 * that names the new entity until its batch is applied; a batch is one
 * stage of one frame of a schedule, or what a command buffer records
 * between two applies. A provisional id may be named by later patches
 * recorded through the same handle (the same chunk callback, or the same
 * command buffer) in the same batch, as the entity of a patch or as the
 * value of a MYR_ENTITY field. When the batch is applied, spawns get real
 * ids in patch order and every MYR_ENTITY value of its set, add and spawn
 * patches that is a provisional id of the batch is rewritten to the real id
 * (to MYR_ENTITY_NULL if that entity was destroyed in the same batch). So
 * links between entities spawned in one stage come out the same for any
 * thread count and chunk size. A provisional id in a field of another type
 * is not rewritten.
 *
 * A provisional id's value depends on the batch, the chunk (its index among
 * the stage's chunks) and the number of spawns before it in the chunk, never
 * on the thread count. Recording refuses, with MYR_ESTALE, a provisional id
 * of another batch (an earlier one, already applied or discarded), and, with
 * MYR_EINVAL, one this handle did not hand out in this batch. Batches are
 * numbered modulo 2^23: an id kept for exactly 2^23 batches is not caught.
 * A chunk may spawn at most 2^(40 - b) entities, where 2^b is the number of
 * chunks of the stage rounded up to a power of two (a command buffer: 2^40
 * per batch); past that myr_patch_spawn returns MYR_ELIMIT. */
#ifndef MYRIAD_PATCH_H
#define MYRIAD_PATCH_H

#include <stdint.h>

#include "myriad/status.h"
#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct myr_patches myr_patches;

/* True for ids handed out by myr_patch_spawn (never for a real id). */
#define MYR_ENTITY_IS_PROVISIONAL(e) ((((uint64_t)(e)) >> 63) != 0)

typedef struct myr_patch_stats {
  uint64_t recorded;                  /* patches in the batch */
  uint64_t applied;                   /* patches that changed the world */
  uint64_t skipped_dead;              /* naming a dead, stale or unknown entity, or after its destroy */
  uint64_t skipped_present;           /* add of a component already there */
  uint64_t skipped_absent;            /* remove or set of a component not there */
  uint64_t spawned, destroyed, moved; /* entities created, destroyed, moved between tables */
  uint64_t skipped_lost;              /* first-wins sets after an earlier one of the same component and entity */
  uint64_t diverted;                  /* taken out for another process, not applied here (myr_schedule_set_stage_end) */
} myr_patch_stats;

/* The kinds of patch, as myr_schedule_diverted reports them. */
typedef enum myr_patch_kind {
  MYR_PATCH_SET = 1,   /* myr_patch_set */
  MYR_PATCH_SET_FIELD, /* myr_patch_set_field */
  MYR_PATCH_ADD,       /* myr_patch_add */
  MYR_PATCH_REMOVE,    /* myr_patch_remove */
  MYR_PATCH_DESTROY,   /* myr_patch_destroy */
  MYR_PATCH_SPAWN,     /* myr_patch_spawn (never diverted) */
  MYR_PATCH_PUT,       /* myr_patch_put */
  MYR_PATCH_ADD_TO,    /* myr_patch_add_to */
  MYR_PATCH_MIN,       /* myr_patch_min */
  MYR_PATCH_MAX,       /* myr_patch_max */
  MYR_PATCH_SET_FIRST  /* myr_patch_set_first */
} myr_patch_kind;

/* One recorded patch, as myr_schedule_diverted reports it. `values` holds
 * packed values: for SET, ADD, PUT and SET_FIRST the component's fields
 * back to back in field order, each its type's size (a MYR_BYTES field's
 * own size), no padding; for SET_FIELD, ADD_TO, MIN and MAX the one
 * field's value; for REMOVE and DESTROY nothing (size 0); an ADD recorded
 * without values has none either (size 0: zeros). */
typedef struct myr_patch_info {
  myr_patch_kind kind;
  uint32_t system; /* the recording system's position among its stage's systems */
  myr_entity entity;
  myr_component component; /* 0 for DESTROY */
  uint32_t field;          /* SET_FIELD, ADD_TO, MIN, MAX; else 0 */
  const void *values;
  uint32_t size; /* bytes at values */
} myr_patch_info;

/* ---- recording (from a system callback, or on a command buffer) ----------
 * Errors: MYR_EINVAL (NULL handle, MYR_ENTITY_NULL, or a provisional id this
 * handle did not hand out in this batch, as the entity or in a MYR_ENTITY
 * field), MYR_ESTALE (a provisional id of another batch), MYR_ENOCOMP,
 * MYR_EFIELD, MYR_ETYPE, MYR_ENOMEM (nothing recorded). Real entity ids are
 * checked when the batch is applied, not here. */

/* Sets a whole component from a row struct. */
MYR_API myr_status myr_patch_set(myr_patches *p, myr_entity e, myr_component c, const void *row);

/* Sets one field; `type` must be the field's registered type. */
MYR_API myr_status myr_patch_set_field(myr_patches *p, myr_entity e, myr_component c, uint32_t field, myr_type type,
                                       const void *value);

/* Adds a component with values from a row struct (NULL = zeros). */
MYR_API myr_status myr_patch_add(myr_patches *p, myr_entity e, myr_component c, const void *row);

/* Set-or-add: sets the component when the entity has it at that point of
 * the batch, else adds it with these values (row required). */
MYR_API myr_status myr_patch_put(myr_patches *p, myr_entity e, myr_component c, const void *row);

/* Commutative updates of one field, applied in key order at the merge:
 * add_to adds `value` to the field (integers wrap around modulo 2^bits,
 * floats round as IEEE addition does), min and max keep the smaller or
 * larger of the field and `value` (for floats, a NaN `value` changes
 * nothing, and a NaN field is replaced by any value). `type` must be the
 * field's registered type: MYR_I32, MYR_U32, MYR_I64, MYR_U64, MYR_F32 or
 * MYR_F64 (MYR_ETYPE for any other). */
MYR_API myr_status myr_patch_add_to(myr_patches *p, myr_entity e, myr_component c, uint32_t field, myr_type type,
                                    const void *value);
MYR_API myr_status myr_patch_min(myr_patches *p, myr_entity e, myr_component c, uint32_t field, myr_type type,
                                 const void *value);
MYR_API myr_status myr_patch_max(myr_patches *p, myr_entity e, myr_component c, uint32_t field, myr_type type,
                                 const void *value);

/* First wins: sets a whole component from a row struct unless a first-wins
 * set of the same component on the same entity came earlier in key order
 * in this batch (then it is skipped, counted in skipped_lost). */
MYR_API myr_status myr_patch_set_first(myr_patches *p, myr_entity e, myr_component c, const void *row);

/* Removes a component. */
MYR_API myr_status myr_patch_remove(myr_patches *p, myr_entity e, myr_component c);

/* Destroys an entity. */
MYR_API myr_status myr_patch_destroy(myr_patches *p, myr_entity e);

/* Spawns an entity with a component set; values[i] is a row struct for
 * components[i] or NULL for zeros (values itself may be NULL). Writes a
 * provisional id to *out (may be NULL). */
MYR_API myr_status myr_patch_spawn(myr_patches *p, const myr_component *components, uint32_t component_count,
                                   const void *const *values, myr_entity *out);

/* ---- command buffers ------------------------------------------------------ */

/* Creates a command buffer for the main thread; it uses the world's
 * allocator and must be destroyed before the world. */
MYR_API myr_status myr_patches_create(myr_world *world, myr_patches **out);

/* Applies everything recorded, in order, and empties the buffer (keeping its
 * memory); the next patches form a new batch. stats, when not NULL, is
 * filled with this batch's counts. Errors: MYR_EINVAL (NULL), MYR_EBUSY (the
 * handle of a system callback: the schedule applies those), MYR_ENOMEM (the
 * world is as it was and the buffer still holds the patches). */
MYR_API myr_status myr_patches_apply(myr_patches *p, myr_patch_stats *stats);

/* Discards everything recorded, keeping the memory; provisional ids handed
 * out so far become stale. Ignored for NULL and for a callback's handle. */
MYR_API void myr_patches_clear(myr_patches *p);

/* Number of patches recorded and not yet applied. */
MYR_API uint64_t myr_patches_count(const myr_patches *p);

/* Destroys a command buffer. Ignored for NULL and for a callback's handle. */
MYR_API void myr_patches_destroy(myr_patches *p);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_PATCH_H */
