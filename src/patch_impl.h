/* Private: patch records, buffers, segments and batches, shared by the
 * patch part (patch_record.c, patch_plan.c, patch_apply.c) and the schedule. */
#ifndef MYRIAD_PATCH_IMPL_H
#define MYRIAD_PATCH_IMPL_H

#include "myriad/patch.h"
#include "world_impl.h"

typedef enum patch_op {
  PATCH_SET = 1,
  PATCH_SET_FIELD,
  PATCH_ADD,
  PATCH_REMOVE,
  PATCH_DESTROY,
  PATCH_SPAWN,
  PATCH_PUT       /* set if present, else add with the values */
} patch_op;

/* What the planning pass decided for a patch (written into its header). */
typedef enum patch_outcome {
  OUT_APPLY = 0,
  OUT_SKIP_DEAD,
  OUT_SKIP_PRESENT,
  OUT_SKIP_ABSENT
} patch_outcome;

/* Every patch starts with this header; records are 8-byte aligned.
 * SET/ADD carry the component's packed field values, SET_FIELD one value,
 * SPAWN a u32 component count, the component ids (u32 each, padded to 8
 * bytes) and then each component's packed values. */
typedef struct patch_hdr {
  uint8_t op;
  uint8_t outcome;
  uint16_t field;
  uint32_t component;
  uint64_t entity;
  uint32_t size;      /* payload bytes, before padding */
  uint32_t reserved;
} patch_hdr;

static inline unsigned char *payload_of(patch_hdr *h) { return (unsigned char *)(h + 1); }
static inline size_t record_size(const patch_hdr *h) { return sizeof(patch_hdr) + align_up(h->size, 8); }

/* Packed size of a component's values: its fields back to back. */
static inline uint32_t packed_size(const component_info *ci) { return ci->packed_size; }

/* A run of patches from one chunk (or one part of it), in one buffer. */
typedef struct patch_segment {
  uint32_t system;    /* order of the system in its stage */
  uint32_t chunk;     /* chunk index within the system's iteration */
  uint32_t seq;       /* sequence number of the segment's first patch */
  uint32_t count;     /* patches in the segment */
  size_t begin, end;  /* byte range in the buffer */
} patch_segment;

typedef struct patch_buffer {
  myr_world *world;
  unsigned char *bytes;
  size_t used, cap;
  patch_segment *segs;
  uint32_t seg_count, seg_cap;
  const struct myr_patches *open; /* the handle whose segment is open */
  uint64_t patches;
  uint64_t structural; /* patches other than set and set_field */
  bool failed;         /* a recording ran out of memory: the batch is incomplete */
} patch_buffer;

/* Provisional ids: PROVISIONAL_BIT | batch << TOKEN_BITS | token. A token is
 * the chunk's ordinal among its stage's chunks, shifted left by the stage's
 * seq bits, plus the number of spawns before it in the chunk: so tokens rise
 * in key order, and a batch's spawns, planned in key order, come sorted. */
#define PROVISIONAL_BIT (UINT64_C(1) << 63)
#define TOKEN_BITS 40u
#define TOKEN_MASK ((UINT64_C(1) << TOKEN_BITS) - 1)
#define BATCH_MASK ((UINT32_C(1) << 23) - 1)

/* The handle a chunk callback records through: a buffer plus the key, and
 * the provisional ids it may hand out. */
struct myr_patches {
  patch_buffer *buf;
  uint32_t system, chunk, seq;
  patch_buffer *owned;  /* set for command buffers made by myr_patches_create */
  uint64_t batch_bits;  /* PROVISIONAL_BIT | batch << TOKEN_BITS */
  uint64_t token_first; /* the token of this handle's first spawn */
  uint64_t token_room;  /* how many spawns it may make */
  uint64_t spawned;     /* how many it made: tokens token_first.. are its own */
};

/* Opens a new batch of the world's: returns its PROVISIONAL_BIT | batch bits. */
uint64_t patch_batch_open(myr_world *w);

void patch_buffer_init(patch_buffer *b, myr_world *w);
void patch_buffer_free(patch_buffer *b);
/* Forgets the recorded patches, keeping the memory. */
void patch_buffer_clear(patch_buffer *b);

/* Adds the counts of `from` to `to`. */
static inline void patch_stats_add(myr_patch_stats *to, const myr_patch_stats *from) {
  to->recorded += from->recorded;
  to->applied += from->applied;
  to->skipped_dead += from->skipped_dead;
  to->skipped_present += from->skipped_present;
  to->skipped_absent += from->skipped_absent;
  to->spawned += from->spawned;
  to->destroyed += from->destroyed;
  to->moved += from->moved;
}

/* A batch: segments from several buffers, applied in key order. */
typedef struct patch_ref {
  patch_buffer *buf; /* the planning pass writes outcomes into the headers */
  const patch_segment *seg;
} patch_ref;

/* Applies the segments in refs[0..n), which must already be in key order
 * and form one batch. On MYR_ENOMEM the world is unchanged. stats are added
 * to (may be NULL). */
myr_status patch_apply(myr_world *w, const patch_ref *refs, size_t n, bool structural, myr_patch_stats *stats);

#endif /* MYRIAD_PATCH_IMPL_H */
