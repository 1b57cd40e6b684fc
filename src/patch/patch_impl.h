/* Private to the patch part: the records in a buffer, and applying a batch
 * of them. */
#ifndef MYRIAD_PATCH_IMPL_H
#define MYRIAD_PATCH_IMPL_H

#include "patch_iface.h"

typedef enum patch_op {
  PATCH_SET = 1,
  PATCH_SET_FIELD,
  PATCH_ADD,
  PATCH_REMOVE,
  PATCH_DESTROY,
  PATCH_SPAWN,
  PATCH_PUT,       /* set if present, else add with the values */
  PATCH_ADD_TO,    /* commutative updates of one field: value += v */
  PATCH_MIN,       /* value = min(value, v) */
  PATCH_MAX,       /* value = max(value, v) */
  PATCH_SET_FIRST, /* a set that only the first of its (entity, component) in the batch applies */
  PATCH_DIVERTED   /* taken out for another process (patch_divert) */
} patch_op;

/* What the planning pass decided for a patch (written into its header). */
typedef enum patch_outcome {
  OUT_APPLY = 0,
  OUT_SKIP_DEAD,
  OUT_SKIP_PRESENT,
  OUT_SKIP_ABSENT,
  OUT_SKIP_LOST,
  OUT_DIVERTED
} patch_outcome;

/* Every patch starts with this header; records are 8-byte aligned.
 * SET/ADD/PUT/SET_FIRST carry the component's packed field values,
 * SET_FIELD/ADD_TO/MIN/MAX one value,
 * SPAWN a u32 component count, the component ids (u32 each, padded to 8
 * bytes) and then each component's packed values. */
typedef struct patch_hdr {
  uint8_t op;
  uint8_t outcome;
  uint16_t field;
  uint32_t component;
  uint64_t entity;
  uint32_t size; /* payload bytes, before padding */
  uint32_t reserved;
} patch_hdr;

static inline unsigned char *payload_of(patch_hdr *h) { return (unsigned char *)(h + 1); }
static inline size_t record_size(const patch_hdr *h) { return sizeof(patch_hdr) + align_up(h->size, 8); }

/* Packed size of a component's values: its fields back to back. */
static inline uint32_t packed_size(const component_info *ci) { return ci->packed_size; }

/* Provisional ids: PROVISIONAL_BIT | batch << TOKEN_BITS | token. A token is
 * its segment's ordinal in the batch, shifted left by the batch's seq bits,
 * plus the number of spawns before it in the segment (patch_iface.h). */
#define PROVISIONAL_BIT (UINT64_C(1) << 63)
#define TOKEN_BITS 40u
#define TOKEN_MASK ((UINT64_C(1) << TOKEN_BITS) - 1)
#define BATCH_MASK ((UINT32_C(1) << 23) - 1)

/* Opens a batch for a command buffer: the world's next batch number. */
uint64_t patch_batch_next(myr_world *w);

/* A batch: runs from several buffers, applied in key order. */
typedef struct patch_ref {
  patch_buffer *buf; /* the planning pass writes outcomes into the headers */
  const patch_run *run;
} patch_ref;

/* Applies the runs in refs[0..n), which must already be in key order
 * and form one batch, sharing the work among par's threads (par may be
 * NULL); the result does not depend on them. On MYR_ENOMEM the world is
 * unchanged. stats are added to (may be NULL). */
myr_status patch_apply(myr_world *w, const patch_ref *refs, size_t n, bool structural, const world_par *par,
                       myr_patch_stats *stats);

/* Applies the runs of `count` buffers, the first at `first` and the others
 * `stride` bytes apart (the lanes of patch_lanes, or one command buffer),
 * as one batch in key order (merge.c); refs has room for all their runs.
 * The buffers are not cleared. */
myr_status patch_merge_runs(myr_world *w, patch_buffer *first, size_t stride, uint32_t count, patch_ref *refs,
                            const world_par *par, myr_patch_stats *st);

#endif
