/* myriad — the stream: a world's entities as a keyframe and quantised
 * deltas, for a receiver that keeps a read-only view of them.
 *
 * A stream description names the component that holds positions, its
 * fields, the box they live in and the bits per axis, and optionally
 * components that give each entity a kind and a field that gives it a
 * colour. An encoder (myr_stream) captures views of a world between frames;
 * it codes its newest view either whole (a keyframe) or as a delta against
 * an older view the receiver acknowledged: the entities destroyed and
 * spawned, the kinds and colours that changed, and every survivor's
 * quantised position as a residual against a prediction both sides make
 * from the baseline (the baseline's last step, extrapolated), bit-packed in
 * blocks of 32. A decoder (myr_stream_view) rebuilds the view from those
 * messages; both sides compute the same view hash. docs/stream.md gives the
 * bytes.
 *
 * No networking here (serve.h sends a stream over WebSockets); the stream
 * reads the world only. Memory comes from malloc, not the world's
 * allocator: a stream outlives no world but is not part of one.
 *
 * Thread safety: a stream or a view is used by one thread at a time;
 * capturing reads the world, so it may not run while a schedule runs a
 * frame on it (MYR_EBUSY), as for any read of a world outside a frame. */
#ifndef MYRIAD_STREAM_H
#define MYRIAD_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The wire format version this library writes and reads. */
#define MYR_STREAM_VERSION 1
/* Message types (the first byte of every message; docs/stream.md). */
#define MYR_STREAM_HELLO 0x01
#define MYR_STREAM_KEYFRAME 0x02
#define MYR_STREAM_DELTA 0x03
#define MYR_STREAM_FIGURES 0x04
#define MYR_STREAM_REPLY 0x05
/* The most kinds a description may name. */
#define MYR_STREAM_MAX_KINDS 255u
/* Views an encoder keeps for baselines when the description says 0. */
#define MYR_STREAM_DEFAULT_HISTORY 4u
/* The most views myr_stream_keep may name. */
#define MYR_STREAM_MAX_KEEP 1024u

typedef struct myr_stream_desc {
  myr_component position; /* the component that holds positions */
  uint32_t dims;          /* 2 or 3 */
  uint32_t fields[3];     /* position's MYR_F32 fields for x, y (and z) */
  float box_min[3];       /* the box: [box_min, box_max) per axis */
  float box_max[3];
  uint32_t bits; /* per axis, 1..24; 0 = 16 */
  /* Optional: an entity's kind is 1 + the index of the first of these it
   * has, 0 when none (kind_count 0: no kinds are sent). */
  const myr_component *kinds;
  uint32_t kind_count;
  /* Optional: with has_color, each entity's colour is field color_field
   * (MYR_U32, RGBA with R in the low byte) of component color, 0 when the
   * entity lacks it. */
  bool has_color;
  myr_component color;
  uint32_t color_field;
  /* Views kept as possible baselines, besides the newest and those
   * myr_stream_keep names (0 = default, MYR_STREAM_DEFAULT_HISTORY; at
   * most 64). A delta needs the receiver's acknowledged view and the one
   * that view was coded against: a receiver for which either is gone gets
   * a keyframe. */
  uint32_t history;
} myr_stream_desc;

typedef struct myr_stream myr_stream;

/* Makes an encoder for `world`'s entities as `desc` says (desc is copied).
 * Errors: MYR_EINVAL (NULL, dims not 2 or 3, bits above 24, an empty or
 * inverted box, a non-finite bound, more than MYR_STREAM_MAX_KINDS kinds,
 * history above 64), MYR_ENOCOMP (an unknown component), MYR_EFIELD (a
 * field index out of range), MYR_ETYPE (a position field that is not MYR_F32, a colour field that is
 * not MYR_U32), MYR_ENOMEM. */
MYR_API myr_status myr_stream_create(const myr_world *world, const myr_stream_desc *desc, myr_stream **out);

/* Frees the encoder; NULL is ignored. */
MYR_API void myr_stream_destroy(myr_stream *stream);

/* The description the encoder was made with (bits filled in). */
MYR_API const myr_stream_desc *myr_stream_description(const myr_stream *stream);

/* Captures a new view of the world: every entity that has the position
 * component, in slot order. It becomes the newest view, with the next
 * sequence number (1 for the first) in *seq (may be NULL); views older
 * than the history that myr_stream_keep does not name are forgotten. The
 * same as myr_stream_copy then myr_stream_commit. Errors: those two's. */
MYR_API myr_status myr_stream_capture(myr_stream *stream, const myr_world *world, uint32_t *seq);

/* The first half of a capture, the only one that reads the world: copies
 * the positions (as floats), ids, kinds and colours of every entity that
 * has the position component, table by table, into the stream. It costs
 * about a copy of those columns, so a simulation can take it between
 * frames and leave the rest to another thread. A copy not yet committed is
 * replaced. Errors: MYR_EINVAL (NULL, a world without the components and
 * fields the stream was made for), MYR_EBUSY (a frame is running on the
 * world), MYR_ENOMEM (the stream is unchanged). */
MYR_API myr_status myr_stream_copy(myr_stream *stream, const myr_world *world);

/* The second half: quantises the copy, orders it by slot, hashes it and
 * makes it the newest view (seq as for myr_stream_capture). It reads no
 * world, so it may run on another thread than the world's, once
 * myr_stream_copy has returned (the stream itself is used by one thread
 * at a time). Errors: MYR_EINVAL (NULL, no copy to commit), MYR_ENOMEM
 * (the stream is unchanged; the copy stays). */
MYR_API myr_status myr_stream_commit(myr_stream *stream, uint32_t *seq);

/* Codes the newest view against view `base` (0: a keyframe). `prev` is the
 * view that base was itself coded against for this receiver (0 when base
 * reached it as a keyframe): the receiver predicts each survivor's move
 * from the step it saw between prev and base, so the encoder needs both.
 * When the stream no longer holds base, or prev is not 0 and no longer
 * held, it codes a keyframe. *used (may be NULL) gets the base the message
 * is coded against (0 for a keyframe); remember it with the message's
 * sequence number, as the prev of a later encode against it. Receivers at
 * the same (base, prev) get the same bytes, so one encoding serves them
 * all. The message is in *data, *size bytes, allocated with malloc: free
 * it with free(). Errors: MYR_EINVAL (NULL, no view captured yet, base or
 * prev not older than the newest view, prev not older than base),
 * MYR_ENOMEM. */
MYR_API myr_status myr_stream_encode(myr_stream *stream, uint32_t base, uint32_t prev, unsigned char **data,
                                     size_t *size, uint32_t *used);

/* A keyframe's or delta's header, read without decoding the rest. */
typedef struct myr_stream_header {
  uint32_t type; /* MYR_STREAM_KEYFRAME or MYR_STREAM_DELTA */
  uint32_t dims, bits;
  bool kinds, color;  /* entities carry a kind, a colour */
  uint32_t seq, base; /* base: 0 in a keyframe */
  uint64_t frame;
  uint32_t count;
  uint64_t hash;
} myr_stream_header;

/* Reads the header of a keyframe or delta. Errors: MYR_EINVAL (NULL),
 * MYR_ECORRUPT (too short, another type or version, dims or bits out of
 * range). */
MYR_API myr_status myr_stream_peek(const void *data, size_t size, myr_stream_header *out);

/* Names views to keep as baselines besides the history (each call
 * replaces the set; a view named that is not held is ignored): e.g. a
 * server names each receiver's acknowledged view, the base that view was
 * coded against and the views in flight to it, so that a receiver slower
 * than the captures others ask for still gets deltas. Each view kept
 * costs its memory (about 25 bytes per entity in 3D). Errors: MYR_EINVAL
 * (NULL, count above MYR_STREAM_MAX_KEEP). */
MYR_API myr_status myr_stream_keep(myr_stream *stream, const uint32_t *seqs, uint32_t count);

/* Whether view `seq` is still held as a baseline. */
MYR_API bool myr_stream_holds(const myr_stream *stream, uint32_t seq);

/* The newest view's sequence number (0 before the first capture), entity
 * count and view hash. */
MYR_API uint32_t myr_stream_seq(const myr_stream *stream);
MYR_API uint32_t myr_stream_count(const myr_stream *stream);
MYR_API uint64_t myr_stream_hash(const myr_stream *stream);

/* ---- the receiving side -------------------------------------------------- */

typedef struct myr_stream_view myr_stream_view;

/* One entity of a view, as myr_stream_view_entities gives them. */
typedef struct myr_stream_entity {
  myr_entity id;
  uint32_t kind;
  uint32_t color;
  uint32_t q[3]; /* quantised position (dims axes used) */
} myr_stream_entity;

/* Makes a decoder that keeps up to `keep` views (0 = 8) as baselines:
 * those it applied or used as a base most recently. Errors: MYR_EINVAL
 * (NULL, keep above 64),
 * MYR_ENOMEM. */
MYR_API myr_status myr_stream_view_create(uint32_t keep, myr_stream_view **out);
MYR_API void myr_stream_view_destroy(myr_stream_view *view);

/* Applies a keyframe or a delta; *seq (may be NULL) gets its sequence
 * number, which the receiver then acknowledges. The message is checked
 * whole (sizes, counts, slots in order, widths, the entity count and the
 * view hash it carries) before the view changes: on any error the view is
 * as it was. Errors: MYR_EINVAL (NULL), MYR_ECORRUPT (not a keyframe or
 * delta of this version, truncated, inconsistent, or a hash that does not
 * match), MYR_ENOTFOUND (a delta whose base this view does not hold: ask
 * for a keyframe), MYR_ENOMEM. */
MYR_API myr_status myr_stream_view_apply(myr_stream_view *view, const void *data, size_t size, uint32_t *seq);

/* The newest applied view's sequence number (0 before the first), frame,
 * entity count, dims, bits and view hash. */
MYR_API uint32_t myr_stream_view_seq(const myr_stream_view *view);
MYR_API uint64_t myr_stream_view_frame(const myr_stream_view *view);
MYR_API uint32_t myr_stream_view_count(const myr_stream_view *view);
MYR_API uint32_t myr_stream_view_dims(const myr_stream_view *view);
MYR_API uint32_t myr_stream_view_bits(const myr_stream_view *view);
MYR_API uint64_t myr_stream_view_hash(const myr_stream_view *view);

/* Copies up to `cap` entities of the newest view, in slot order, from the
 * `first`-th, into out; returns how many it copied. */
MYR_API uint32_t myr_stream_view_entities(const myr_stream_view *view, uint32_t first, myr_stream_entity *out,
                                          uint32_t cap);

#ifdef __cplusplus
}
#endif

#endif
