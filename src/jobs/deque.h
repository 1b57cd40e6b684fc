/* Private: the Chase–Lev work-stealing deque in the form proven correct for
 * weak memory by Lê, Pop, Cohen and Zappa Nardelli (PPoPP 2013), on ck_pr
 * through atomics.h.
 *
 * The owner pushes and takes at the bottom; thieves steal at the top. Indices
 * are signed 64-bit so that bottom - 1 on an empty deque stays meaningful.
 * A slot holds one job as DEQUE_WORDS 64-bit words, each written and read
 * with a relaxed atomic access: a thief may read a slot the owner is
 * overwriting, but then its CAS on top fails and the torn copy is discarded.
 * The ring grows by doubling; old rings stay readable (a thief may still
 * hold one) until deque_destroy frees them. */
#ifndef MYRIAD_DEQUE_H
#define MYRIAD_DEQUE_H

#include <stdalign.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "atomics.h"
#include "myriad/status.h"

#define DEQUE_WORDS 4

/* A point inside the thief's read of top and bottom, where tests may widen
 * the window (tests/test_deque.c defines it before including this header);
 * empty in the library. */
#ifndef DEQUE_STEAL_PAUSE
#define DEQUE_STEAL_PAUSE() ((void)0)
#endif

typedef struct deque_ring {
  int64_t mask;               /* capacity - 1; capacity is a power of two */
  struct deque_ring *retired; /* older rings, freed with the deque */
  uint64_t words[];           /* capacity * DEQUE_WORDS */
} deque_ring;

typedef struct deque {
  alignas(64) uint64_t top;    /* thieves CAS it: its own cache line */
  alignas(64) uint64_t bottom; /* owner-written, thief-read */
  uint64_t ring;               /* deque_ring *, published with release */
  /* The owner's own copies, on the line it writes anyway, so its push and
   * take need no load of the shared `ring` nor of the contended `top`: */
  uint64_t *slots;  /* the current ring's words */
  int64_t mask;     /* the current ring's mask */
  int64_t top_seen; /* a value top once had: top never goes down */
  /* The mask as a push reads it: a push takes the fast path while bottom -
   * top_seen <= push_mask, and then finds its slot with it. Equal to mask,
   * or DEQUE_HELD (-1) while another thread holds pushes (deque_hold_pushes):
   * bottom >= top_seen at a push, so every push then takes the slow path,
   * where the pool looks for parked workers to wake. Read by the owner,
   * written by it and by holders. */
  uint64_t push_mask;
  char pad[64 - 6 * sizeof(uint64_t)];
} deque;

#define DEQUE_HELD UINT64_MAX /* push_mask while held: -1 */

typedef enum { DEQUE_EMPTY, DEQUE_ABORT, DEQUE_OK } deque_result;

myr_status deque_init(deque *d, uint32_t capacity);
void deque_destroy(deque *d);
/* Slow path of push when the ring looked full: reads top afresh and, if
 * the ring is full indeed, doubles it. Owner only. */
myr_status deque_make_room(deque *d, int64_t bottom);

static inline deque_ring *deque_ring_of(uint64_t v) { return (deque_ring *)(uintptr_t)v; }

static inline void slot_write(deque_ring *r, int64_t i, const uint64_t *w) {
  uint64_t *s = r->words + (size_t)(i & r->mask) * DEQUE_WORDS;
  for (int k = 0; k < DEQUE_WORDS; k++) at_store_rlx(&s[k], w[k]);
}

static inline void slot_read(const deque_ring *r, int64_t i, uint64_t *w) {
  const uint64_t *s = r->words + (size_t)(i & r->mask) * DEQUE_WORDS;
  for (int k = 0; k < DEQUE_WORDS; k++) w[k] = at_load_rlx(&s[k]);
}

/* Owner, first half of a push: returns the slot to fill (with at_store_rlx,
 * one word at a time) and its index in *index, or NULL when the ring had to
 * grow and could not. Filling the slot in place, rather than copying a job
 * built on the stack, avoids store-forwarding stalls on the hot path. */
static inline uint64_t *deque_push_slot(deque *d, int64_t *index) {
  int64_t b = (int64_t)at_load_rlx(&d->bottom);
  /* Slot b was last used by job b - capacity. It is free to reuse when that
   * job's index is below a value of top that the owner read with acquire
   * (the thief that took it read it before its CAS moved top past it), or
   * when the owner took it itself. top_seen is such a value, so top itself
   * is read only when the ring looks full. */
  int64_t mask = (int64_t)at_load_rlx(&d->push_mask);
  *index = b;
  if (__builtin_expect(b - d->top_seen > mask, 0)) {
    /* held, or a full-looking ring */
    if (b - d->top_seen > d->mask && deque_make_room(d, b) != MYR_OK) return NULL;
    mask = d->mask;
  }
  return d->slots + (size_t)(b & mask) * DEQUE_WORDS;
}

/* Any thread: sends the owner's pushes to their slow path until it
 * releases them. A locked RMW, so ordered after the caller's earlier
 * locked RMWs. */
static inline void deque_hold_pushes(deque *d) { at_store_fence(&d->push_mask, DEQUE_HELD); }

/* Owner: takes its pushes back to the fast path if they were held. Returns
 * whether they were: then a locked RMW came first, so what the holder did
 * before it held them is visible to the caller now. */
static inline bool deque_release_pushes(deque *d) {
  return at_load_rlx(&d->push_mask) == DEQUE_HELD && at_cas_sc(&d->push_mask, DEQUE_HELD, (uint64_t)d->mask);
}

/* Owner, second half of a push: publishes the filled slot. */
static inline void deque_push_publish(deque *d, int64_t index) {
  /* release: the slot's words are visible before the new bottom is */
  at_store_rel(&d->bottom, (uint64_t)(index + 1));
}

/* Owner: pushes one job. MYR_ENOMEM only when the ring had to grow and
 * could not; nothing was pushed then. */
static inline myr_status deque_push(deque *d, const uint64_t *job) {
  int64_t b;
  uint64_t *slot = deque_push_slot(d, &b);
  if (!slot) return MYR_ENOMEM;
  for (int k = 0; k < DEQUE_WORDS; k++) at_store_rlx(&slot[k], job[k]);
  deque_push_publish(d, b);
  return MYR_OK;
}

/* Owner: the slot of job `index`, taken or about to be pushed. */
static inline const uint64_t *deque_slot(const deque *d, int64_t index) {
  return d->slots + (size_t)(index & d->mask) * DEQUE_WORDS;
}

/* Owner: takes the most recently pushed job; false when the deque was
 * empty. The job's words are in deque_slot(d, *index), and stay there
 * until the owner's next push (only the owner writes slots): read them
 * (with at_load_rlx) before pushing again. */
static inline bool deque_take_index(deque *d, int64_t *index) {
  int64_t b = (int64_t)at_load_rlx(&d->bottom) - 1;
  /* nothing at or above top_seen: empty for sure, no fence needed */
  if (b < d->top_seen) return false;
  /* seq_cst: our claim on slot b must be visible before we read top, or a
   * thief and we could both take the last job */
  at_store_fence(&d->bottom, (uint64_t)b);
  int64_t t = (int64_t)at_load_sc(&d->top);
  if (t > b) { /* empty: undo the claim */
    at_store_rlx(&d->bottom, (uint64_t)(b + 1));
    d->top_seen = t;
    return false;
  }
  if (t == b) {
    /* the last job: race the thieves for it through top */
    bool won = at_cas_sc(&d->top, (uint64_t)t, (uint64_t)(t + 1));
    at_store_rlx(&d->bottom, (uint64_t)(b + 1));
    d->top_seen = t + 1; /* whoever won moved top there */
    if (!won) return false;
  }
  /* The slot is read after the race, so no job words are held across it. */
  *index = b;
  return true;
}

/* Owner: takes the most recently pushed job into job[DEQUE_WORDS]. */
static inline bool deque_take(deque *d, uint64_t *job) {
  int64_t i;
  if (!deque_take_index(d, &i)) return false;
  const uint64_t *s = deque_slot(d, i);
  for (int k = 0; k < DEQUE_WORDS; k++) job[k] = at_load_rlx(&s[k]);
  return true;
}

/* Thief: tries to take the oldest job. */
static inline deque_result deque_steal(deque *d, uint64_t *job) {
  /* top before bottom, with a seq_cst fence between (the paper's order);
   * acquire on bottom pairs with push's release, so the slot is complete */
  int64_t t = (int64_t)at_load_sc(&d->top);
  at_fence_steal();
  DEQUE_STEAL_PAUSE();
  int64_t b = (int64_t)at_load_sc(&d->bottom);
  if (t >= b) return DEQUE_EMPTY;
  /* acquire: the ring's contents were published before its pointer */
  deque_ring *r = deque_ring_of(at_load_acq(&d->ring));
  slot_read(r, t, job);
  /* seq_cst CAS: only one of the owner and the thieves gets index t */
  return at_cas_sc(&d->top, (uint64_t)t, (uint64_t)(t + 1)) ? DEQUE_OK : DEQUE_ABORT;
}

/* Owner: whether the deque looks empty (a thief may be racing for the last
 * job; that is fine for the uses here, which are heuristics). */
static inline bool deque_looks_empty(const deque *d) {
  return (int64_t)at_load_rlx(&d->bottom) <= (int64_t)at_load_rlx(&d->top);
}

#endif /* MYRIAD_DEQUE_H */
