/* The bare Chase–Lev reference of bench_jobs (see bare_deque.h). The owner
 * is the only thread, so nothing here is stolen; the operations still pay
 * what a stealable deque must: the exchange in take, the CAS on the last. */
#include <ck_pr.h>
#include <stdlib.h>

#include "bare_deque.h"

enum { BARE_SLOTS = 1 << 16 };

typedef struct bare_job {
  bare_fn fn;
  void *arg;
  uint64_t *counter;
  uint64_t unused; /* four words, as the library's slots */
} bare_job;

struct bare_pool {
  uint64_t top __attribute__((aligned(64)));
  uint64_t bottom __attribute__((aligned(64)));
  bare_job *ring;
};

bare_pool *bare_create(void) {
  bare_pool *p = aligned_alloc(64, sizeof *p);
  if (!p) return NULL;
  p->top = p->bottom = 0;
  p->ring = calloc(BARE_SLOTS, sizeof *p->ring);
  if (!p->ring) {
    free(p);
    return NULL;
  }
  return p;
}

void bare_destroy(bare_pool *p) {
  if (!p) return;
  free(p->ring);
  free(p);
}

void bare_spawn(bare_pool *p, bare_fn fn, void *arg, uint64_t *counter) {
  uint64_t b = ck_pr_load_64(&p->bottom);
  if (b - ck_pr_load_64(&p->top) >= BARE_SLOTS) abort(); /* the benchmarks stay far below */
  ++*counter;
  bare_job *s = &p->ring[b & (BARE_SLOTS - 1)];
  s->fn = fn;
  s->arg = arg;
  s->counter = counter;
  ck_pr_fence_release();
  ck_pr_store_64(&p->bottom, b + 1);
}

static int take(bare_pool *p, bare_job *out) {
  uint64_t b = ck_pr_load_64(&p->bottom) - 1;
  ck_pr_fas_64(&p->bottom, b);
  uint64_t t = ck_pr_load_64(&p->top);
  if ((int64_t)(t - b) > 0) {
    ck_pr_store_64(&p->bottom, b + 1);
    return 0;
  }
  int won = 1;
  if (t == b) {
    won = ck_pr_cas_64(&p->top, t, t + 1);
    ck_pr_store_64(&p->bottom, b + 1);
  }
  if (won) *out = p->ring[b & (BARE_SLOTS - 1)];
  return won;
}

void bare_wait(bare_pool *p, uint64_t *counter) {
  bare_job j;
  while (*counter) {
    if (!take(p, &j)) abort(); /* one worker: every job is in the deque */
    j.fn(j.arg);
    --*j.counter;
  }
}
