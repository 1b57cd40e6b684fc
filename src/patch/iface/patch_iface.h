/* The patch part's interface to the parts above it (the schedule): patch
 * buffers, the handles callbacks record through, batches of provisional
 * ids, and the merge. Private to the library. */
#ifndef MYRIAD_PATCH_IFACE_H
#define MYRIAD_PATCH_IFACE_H

#include <stdalign.h>

#include "myriad/patch.h"
#include "world_iface.h"

/* ---- buffers and their runs ------------------------------------------------ */

/* The key of a run of patches: runs merge in (stream, segment, seq) order.
 * The schedule uses a stream per system of a stage (in stage order) and a
 * segment per hook or chunk (in row order), so the key order is the order
 * of a serial run over all rows. */
typedef struct patch_run {
  uint32_t stream;
  uint32_t segment;
  uint32_t seq;      /* sequence number of the run's first patch */
  uint32_t count;    /* patches in the run */
  size_t begin, end; /* byte range in the buffer */
} patch_run;

typedef struct patch_buffer {
  myr_world *world;
  unsigned char *bytes;
  size_t used, cap;
  patch_run *runs;
  uint32_t run_count, run_cap;
  const struct myr_patches *open; /* the handle whose run is open */
  uint64_t patches;
  uint64_t structural; /* patches other than set and set_field */
  bool failed;         /* a recording ran out of memory: the batch is incomplete */
} patch_buffer;

void patch_buffer_init(patch_buffer *b, myr_world *w);
void patch_buffer_free(patch_buffer *b);
/* Forgets the recorded patches, keeping the memory. */
void patch_buffer_clear(patch_buffer *b);

/* ---- handles and batches ----------------------------------------------------- */

/* A batch: the patches merged at once, whose provisional ids share its
 * number. batch_bits is PROVISIONAL_BIT | batch << TOKEN_BITS; each
 * segment's spawns get 2^seq_bits tokens, from segment ordinal << seq_bits
 * on, so that tokens rise in key order and a batch's spawns, planned in
 * key order, come sorted. */
typedef struct patch_batch {
  uint64_t batch_bits;
  uint32_t seq_bits;
} patch_batch;

/* The handle a callback records through: a buffer plus the key, and the
 * provisional ids it may hand out. */
struct myr_patches {
  patch_buffer *buf;
  uint32_t stream, segment, seq;
  patch_buffer *owned;  /* set for command buffers made by myr_patches_create */
  uint64_t batch_bits;  /* PROVISIONAL_BIT | batch << TOKEN_BITS */
  uint64_t token_first; /* the token of this handle's first spawn */
  uint64_t token_room;  /* how many spawns it may make */
  uint64_t spawned;     /* how many it made: tokens token_first.. are its own */
};

/* Opens the world's next batch for `segments` segments in all (numbered
 * 0..segments-1 in key order, below 2^32). */
void patch_batch_open(myr_world *w, uint64_t segments, patch_batch *out);

/* A handle recording into buf under key (stream, segment), the segment
 * being the ordinal-th of its batch. */
static inline myr_patches patch_handle(const patch_batch *b, patch_buffer *buf, uint32_t stream, uint32_t segment,
                                       uint64_t ordinal) {
  uint64_t room = UINT64_C(1) << b->seq_bits;
  return (myr_patches){buf, stream, segment, 0, NULL, b->batch_bits, ordinal * room, room, 0};
}

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
  to->skipped_lost += from->skipped_lost;
  to->diverted += from->diverted;
}

/* ---- lanes and the merge ------------------------------------------------------ */

/* A worker's buffer, alone on its cache lines. */
typedef struct patch_lane {
  alignas(64) patch_buffer buf;
} patch_lane;

/* One buffer per worker, and the merge's list of their runs. */
typedef struct patch_lanes {
  myr_world *world;
  patch_lane *lanes;
  uint32_t count;
  struct patch_ref *refs;
  uint32_t ref_cap;
} patch_lanes;

/* Errors: MYR_ENOMEM (nothing made). */
myr_status patch_lanes_init(patch_lanes *l, myr_world *w, uint32_t count);
void patch_lanes_free(patch_lanes *l);
/* Forgets every lane's patches. */
void patch_lanes_clear(patch_lanes *l);
/* Applies the patches of every lane as one batch, in key order, and clears
 * the lanes; par's threads (par may be NULL) share the work, with the
 * same result as one thread's. Errors: MYR_ENOMEM when a lane lost a patch while recording
 * (none applied, the lanes cleared) or memory ran out merging (none applied,
 * the world unchanged); MYR_ELIMIT when the batch is too large. stats gets
 * the batch's counts (may be NULL). */
myr_status patch_merge(patch_lanes *l, const world_par *par, myr_patch_stats *stats);

/* ---- patches bound for another process -------------------------------------- */

/* A patch taken out of a batch: its record in a lane and its run's stream. */
typedef struct patch_diverted {
  const void *record;
  uint32_t stream;
  uint32_t op; /* its patch_op */
} patch_diverted;

/* Takes out of the lanes' batch every patch but a spawn or a destroy whose
 * entity is a live one (not provisional) that has component `tag` now:
 * marks it so that the merge counts it as diverted and applies nothing of
 * it; appends it, and every destroy of such an entity (which stays in the
 * batch), to *list (grown with the world's allocator; *cap entries), in
 * key order. *count is set. Errors: MYR_ENOMEM (the lanes then fail the
 * merge, as a lost patch does). */
myr_status patch_divert(patch_lanes *l, myr_component tag, patch_diverted **list, uint32_t *count, uint32_t *cap);
/* A diverted patch as the public API describes it. */
void patch_diverted_info(const patch_diverted *d, myr_patch_info *out);

/* A handle that records into buf under key (stream, UINT32_MAX): after
 * every chunk and hook of that stream's system. It may not spawn nor name
 * provisional ids. */
static inline myr_patches patch_handle_after(const patch_batch *b, patch_buffer *buf, uint32_t stream) {
  return (myr_patches){buf, stream, UINT32_MAX, 0, NULL, b->batch_bits, 0, 0, 0};
}

#endif
