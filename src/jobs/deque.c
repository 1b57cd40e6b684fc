/* The deque's slow paths: set-up, growth and reclamation. */
#include <stdlib.h>

#include "deque.h"

static deque_ring *ring_new(int64_t capacity) {
  size_t bytes = sizeof(deque_ring) + (size_t)capacity * DEQUE_WORDS * sizeof(uint64_t);
  deque_ring *r = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
  if (!r) return NULL;
  r->mask = capacity - 1;
  r->retired = NULL;
  return r;
}

myr_status deque_init(deque *d, uint32_t capacity) {
  int64_t cap = 16;
  while (cap < capacity) cap *= 2;
  deque_ring *r = ring_new(cap);
  if (!r) return MYR_ENOMEM;
  memset(d, 0, sizeof *d);
  d->ring = (uint64_t)(uintptr_t)r;
  d->slots = r->words;
  d->mask = r->mask;
  d->push_mask = (uint64_t)r->mask;
  return MYR_OK;
}

static myr_status grow(deque *d, int64_t top, int64_t bottom) {
  deque_ring *old = deque_ring_of(at_load_rlx(&d->ring));
  deque_ring *r = ring_new((old->mask + 1) * 2);
  if (!r) return MYR_ENOMEM;
  uint64_t job[DEQUE_WORDS];
  for (int64_t i = top; i < bottom; i++) {
    slot_read(old, i, job);
    slot_write(r, i, job);
  }
  /* Thieves may still be reading `old`: it is only retired here and freed
   * with the deque. Retired rings together are smaller than the live one. */
  r->retired = old;
  /* release: the copied slots are visible before the new ring is */
  at_store_rel(&d->ring, (uint64_t)(uintptr_t)r);
  d->slots = r->words;
  /* held pushes stay held: the release reads the new mask */
  at_cas_sc(&d->push_mask, (uint64_t)d->mask, (uint64_t)r->mask);
  d->mask = r->mask;
  return MYR_OK;
}

myr_status deque_make_room(deque *d, int64_t bottom) {
  /* acquire: a thief's CAS that freed a slot happens-before we reuse it */
  int64_t t = (int64_t)at_load_acq(&d->top);
  d->top_seen = t;
  return bottom - t > d->mask ? grow(d, t, bottom) : MYR_OK;
}

void deque_destroy(deque *d) {
  deque_ring *r = deque_ring_of(d->ring);
  while (r) {
    deque_ring *next = r->retired;
    free(r);
    r = next;
  }
  d->ring = 0;
}
