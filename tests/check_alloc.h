/* A checking allocator for the tests: myr_allocator hooks that keep every
 * live block (pointer -> size asked, alignment) in a hash table and check
 * the promise of world.h, "free receives the size that was asked for".
 *
 * - free of a pointer this allocator did not hand out (or already freed),
 *   or with another size than was asked for, prints both sizes and aborts
 *   (abort, not a cmocka failure: the free may be deep inside the library,
 *   or on a worker thread);
 * - an alignment that is not a power of two <= 4096 aborts the same way;
 * - check_alloc_live() counts live blocks, check_alloc_assert_no_leaks()
 *   lists the ones left and fails the test;
 * - injection: check_alloc_fail_nth(ca, k) makes the k-th allocation from
 *   now (0 = the next one) return NULL, once; check_alloc_fail_from(ca, k)
 *   makes it and every later one fail until check_alloc_disarm(). While a
 *   thread is inside check_alloc_pause() / check_alloc_resume(), its
 *   allocations never fail and do not count towards k.
 *
 * Two ways to use it:
 *   check_alloc ca; check_alloc_init(&ca);
 *   myr_world_create(&(myr_world_desc){check_alloc_hooks(&ca)}, &w);
 *   ... myr_world_destroy(w); check_alloc_assert_no_leaks(&ca); check_alloc_fini(&ca);
 * or, when the test needs nothing but the checks,
 *   myr_world_create(checked_world(), &w);
 * which gives the world its own checking allocator: when the world's first
 * block (the world itself, freed last by myr_world_destroy) is freed, any
 * other block still live is reported as a leak and the test aborts. */
#ifndef MYRIAD_TEST_CHECK_ALLOC_H
#define MYRIAD_TEST_CHECK_ALLOC_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "myriad/world.h"

typedef struct check_alloc_block {
  void *ptr; /* NULL = empty slot */
  size_t size, align;
  uint64_t serial; /* the allocation's number, from 1, for leak reports */
} check_alloc_block;

typedef struct check_alloc {
  pthread_mutex_t lock;
  check_alloc_block *slots; /* open addressing, linear probing, power-of-two capacity */
  size_t cap, live;
  size_t live_bytes;
  uint64_t allocs, frees; /* all time */
  uint64_t peak_live;
  /* injection */
  long countdown; /* allocations to let through before one fails; -1 = none */
  bool sticky;    /* keep failing once the countdown reached 0 */
  long calls;     /* allocations counted since the last arming */
  long injected;  /* failures injected since the last arming */
  /* checked_world(): the world's own allocator */
  bool owned_by_world;
  void *world_block; /* the first block: the world */
} check_alloc;

static _Thread_local int check_alloc_paused;

static inline void check_alloc_pause(void) { check_alloc_paused++; }
static inline void check_alloc_resume(void) { check_alloc_paused--; }

static inline void check_alloc_init(check_alloc *ca) {
  memset(ca, 0, sizeof *ca);
  pthread_mutex_init(&ca->lock, NULL);
  ca->countdown = -1;
}

static inline void check_alloc_fini(check_alloc *ca) {
  free(ca->slots);
  ca->slots = NULL;
  ca->cap = 0;
  pthread_mutex_destroy(&ca->lock);
}

static inline size_t check_alloc_slot_of(const check_alloc *ca, const void *p) {
  uint64_t h = (uint64_t)(uintptr_t)p;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return (size_t)h & (ca->cap - 1);
}

static inline void check_alloc_die(void) {
  fflush(stdout);
  fflush(stderr);
  abort();
}

/* Inserts a block (lock held). */
static inline void check_alloc_put(check_alloc *ca, check_alloc_block b) {
  if ((ca->live + 1) * 2 > ca->cap) {
    size_t old_cap = ca->cap;
    check_alloc_block *old = ca->slots;
    ca->cap = old_cap ? old_cap * 2 : 256;
    ca->slots = calloc(ca->cap, sizeof *ca->slots);
    if (!ca->slots) {
      fprintf(stderr, "check_alloc: out of memory for its own table\n");
      check_alloc_die();
    }
    for (size_t i = 0; i < old_cap; i++) {
      if (!old[i].ptr) continue;
      size_t j = check_alloc_slot_of(ca, old[i].ptr);
      while (ca->slots[j].ptr) j = (j + 1) & (ca->cap - 1);
      ca->slots[j] = old[i];
    }
    free(old);
  }
  size_t j = check_alloc_slot_of(ca, b.ptr);
  while (ca->slots[j].ptr) {
    if (ca->slots[j].ptr == b.ptr) {
      fprintf(stderr, "check_alloc: %p handed out twice\n", b.ptr);
      check_alloc_die();
    }
    j = (j + 1) & (ca->cap - 1);
  }
  ca->slots[j] = b;
  ca->live++;
  ca->live_bytes += b.size;
  if (ca->live > ca->peak_live) ca->peak_live = ca->live;
}

/* Finds a block's slot (lock held); SIZE_MAX if unknown. */
static inline size_t check_alloc_find(const check_alloc *ca, const void *p) {
  if (!ca->cap || !p) return SIZE_MAX;
  for (size_t j = check_alloc_slot_of(ca, p); ca->slots[j].ptr; j = (j + 1) & (ca->cap - 1))
    if (ca->slots[j].ptr == p) return j;
  return SIZE_MAX;
}

/* Empties slot j, shifting later entries of its probe run back (lock held). */
static inline void check_alloc_erase(check_alloc *ca, size_t j) {
  ca->live--;
  ca->live_bytes -= ca->slots[j].size;
  size_t mask = ca->cap - 1;
  for (size_t k = (j + 1) & mask; ca->slots[k].ptr; k = (k + 1) & mask) {
    size_t home = check_alloc_slot_of(ca, ca->slots[k].ptr);
    /* move k into the hole at j unless its home lies cyclically in (j, k] */
    bool stays = j <= k ? (home > j && home <= k) : (home > j || home <= k);
    if (stays) continue;
    ca->slots[j] = ca->slots[k];
    j = k;
  }
  ca->slots[j] = (check_alloc_block){0};
}

static inline void *check_alloc_alloc(size_t size, size_t align, void *user) {
  check_alloc *ca = user;
  if (align == 0 || (align & (align - 1)) || align > 4096) {
    fprintf(stderr, "check_alloc: alloc(size %zu, align %zu): the alignment must be a power of two <= 4096\n", size,
            align);
    check_alloc_die();
  }
  pthread_mutex_lock(&ca->lock);
  if (!check_alloc_paused) {
    ca->calls++;
    if (ca->countdown == 0) {
      ca->injected++;
      if (!ca->sticky) ca->countdown = -1;
      pthread_mutex_unlock(&ca->lock);
      return NULL;
    }
    if (ca->countdown > 0) ca->countdown--;
  }
  size_t a = align < sizeof(void *) ? sizeof(void *) : align;
  size_t bytes = (size ? size : 1) + a - 1;
  bytes -= bytes % a; /* aligned_alloc wants a multiple of the alignment */
  void *p = aligned_alloc(a, bytes);
  if (p) {
    ca->allocs++;
    if (ca->owned_by_world && ca->live == 0 && !ca->world_block) ca->world_block = p;
    check_alloc_put(ca, (check_alloc_block){p, size, align, ca->allocs});
  }
  pthread_mutex_unlock(&ca->lock);
  return p;
}

/* Prints up to 20 live blocks (lock held). */
static inline void check_alloc_print_live(const check_alloc *ca, const void *except) {
  size_t shown = 0;
  for (size_t i = 0; i < ca->cap && shown < 20; i++) {
    const check_alloc_block *b = &ca->slots[i];
    if (!b->ptr || b->ptr == except) continue;
    fprintf(stderr, "  block #%llu: %p, size %zu, align %zu\n", (unsigned long long)b->serial, b->ptr, b->size,
            b->align);
    shown++;
  }
}

/* The world's own allocator (checked_world) goes with the world. Not
 * inlined: gcc would otherwise warn about freeing the check_alloc of a
 * caller that keeps it on the stack (and never sets owned_by_world). */
__attribute__((noinline)) static void check_alloc_release_owned(check_alloc *ca) {
  check_alloc_fini(ca);
  free(ca);
}

static inline void check_alloc_free(void *ptr, size_t size, void *user) {
  check_alloc *ca = user;
  pthread_mutex_lock(&ca->lock);
  size_t j = check_alloc_find(ca, ptr);
  if (j == SIZE_MAX) {
    fprintf(stderr,
            "check_alloc: free(%p, size %zu) of a pointer that is not live here (never allocated, or freed already)\n",
            ptr, size);
    check_alloc_die();
  }
  check_alloc_block b = ca->slots[j];
  if (b.size != size) {
    fprintf(stderr, "check_alloc: free(%p) with size %zu, but block #%llu was allocated with size %zu (align %zu)\n",
            ptr, size, (unsigned long long)b.serial, b.size, b.align);
    check_alloc_die();
  }
  check_alloc_erase(ca, j);
  ca->frees++;
  bool last = ca->owned_by_world && ptr == ca->world_block;
  if (last && ca->live) {
    fprintf(stderr, "check_alloc: the world was freed with %zu block(s) (%zu bytes) still live:\n", ca->live,
            ca->live_bytes);
    check_alloc_print_live(ca, NULL);
    check_alloc_die();
  }
  pthread_mutex_unlock(&ca->lock);
  free(ptr);
  if (last) check_alloc_release_owned(ca);
}

static inline myr_allocator check_alloc_hooks(check_alloc *ca) {
  return (myr_allocator){check_alloc_alloc, check_alloc_free, ca};
}

/* A world description with a fresh checking allocator that belongs to the
 * world (see above). Use it at once: the description is per thread. */
static inline const myr_world_desc *checked_world(void) {
  static _Thread_local myr_world_desc desc;
  check_alloc *ca = malloc(sizeof *ca);
  if (!ca) {
    fprintf(stderr, "check_alloc: out of memory\n");
    check_alloc_die();
  }
  check_alloc_init(ca);
  ca->owned_by_world = true;
  desc = (myr_world_desc){check_alloc_hooks(ca)};
  return &desc;
}

static inline size_t check_alloc_live(check_alloc *ca) {
  pthread_mutex_lock(&ca->lock);
  size_t n = ca->live;
  pthread_mutex_unlock(&ca->lock);
  return n;
}

/* Fails the test, listing the blocks, when any block is live. */
static inline void check_alloc_assert_no_leaks(check_alloc *ca) {
  pthread_mutex_lock(&ca->lock);
  size_t live = ca->live, bytes = ca->live_bytes;
  if (live) {
    fprintf(stderr, "check_alloc: %zu block(s) (%zu bytes) leaked:\n", live, bytes);
    check_alloc_print_live(ca, NULL);
  }
  pthread_mutex_unlock(&ca->lock);
  if (live) fail_msg("%zu block(s) leaked", live);
}

static inline void check_alloc_arm(check_alloc *ca, long k, bool sticky) {
  pthread_mutex_lock(&ca->lock);
  ca->countdown = k;
  ca->sticky = sticky;
  ca->calls = 0;
  ca->injected = 0;
  pthread_mutex_unlock(&ca->lock);
}

/* The k-th allocation from now (0 = the next) fails, once. */
static inline void check_alloc_fail_nth(check_alloc *ca, long k) { check_alloc_arm(ca, k, false); }
/* The k-th allocation from now and every one after it fail. */
static inline void check_alloc_fail_from(check_alloc *ca, long k) { check_alloc_arm(ca, k, true); }

/* No more failures; returns how many were injected since the arming. */
static inline long check_alloc_disarm(check_alloc *ca) {
  pthread_mutex_lock(&ca->lock);
  long n = ca->injected;
  ca->countdown = -1;
  ca->sticky = false;
  pthread_mutex_unlock(&ca->lock);
  return n;
}

/* Allocations counted since the last arming (paused ones excluded). */
static inline long check_alloc_calls(check_alloc *ca) {
  pthread_mutex_lock(&ca->lock);
  long n = ca->calls;
  pthread_mutex_unlock(&ca->lock);
  return n;
}

#endif
