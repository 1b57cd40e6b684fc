/* What hand-written baselines get, so that they have every advantage the
 * library has: memory as the world's default allocator gets it (above
 * 2 MiB: 2 MiB aligned, with transparent huge pages; page aligned below;
 * src/world/alloc.c),
 * their columns in one block laid out as a table lays out its columns
 * (src/world/table.c: every column on a cache line, columns of a page or more at
 * staggered offsets within a page), and helper threads that spin between
 * passes, as pool workers do, instead of sleeping in a barrier. */
#ifndef MYRIAD_BENCH_BASELINE_H
#define MYRIAD_BENCH_BASELINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>

#include <ck_pr.h>

/* A block as the world's default allocator makes a table's block: above
 * 2 MiB, 2 MiB aligned, rounded up to whole 2 MiB pages and advised
 * MADV_HUGEPAGE; else page aligned (a table block's alignment). */
static inline void *baseline_alloc(size_t size) {
  const size_t huge = (size_t)2 << 20, page = 4096;
  void *p;
  if (size > huge) {
    size_t whole = (size + huge - 1) & ~(huge - 1);
    if ((p = aligned_alloc(huge, whole))) madvise(p, whole, MADV_HUGEPAGE);
  } else {
    p = aligned_alloc(page, size ? (size + page - 1) & ~(page - 1) : page);
  }
  if (!p) abort();
  return p;
}

/* One 2 MiB aligned block holding `count` columns of `rows` values of
 * `elem` bytes; column j starts where a table's (j + 1)-th region would
 * (region 0 being its ids). Returns the block (free() it); cols[j] set. */
static inline void *baseline_columns(uint32_t count, size_t rows, size_t elem, void **cols) {
  size_t offsets[64], at = 0;
  for (uint32_t j = 0; j <= count && j < 64; j++) {
    size_t bytes = rows * (j == 0 ? sizeof(uint64_t) : elem);
    at = (at + 63) & ~(size_t)63;
    if (bytes >= 4096) at = ((at + 4095) & ~(size_t)4095) + (size_t)((j * 5u) % 64u) * 64;
    offsets[j] = at;
    at += bytes;
  }
  void *block = baseline_alloc(at);
  for (uint32_t j = 0; j < count; j++) cols[j] = (unsigned char *)block + offsets[j + 1];
  return block;
}

/* Threads 1..parts-1 of a hand-split loop: they spin (with pause) until the
 * caller starts a pass, run their part, and count themselves done. */
#define TEAM_MAX 16
typedef struct spin_team {
  uint32_t parts;
  void (*part)(void *ctx, uint32_t index, uint32_t parts);
  void *ctx;
  pthread_t threads[TEAM_MAX];
  atomic_uint pass, done;
  atomic_int stop;
} spin_team;

typedef struct team_arg {
  spin_team *team;
  uint32_t index;
} team_arg;

static void *team_helper(void *arg) {
  team_arg a = *(team_arg *)arg;
  free(arg);
  spin_team *t = a.team;
  unsigned seen = 0;
  for (;;) {
    unsigned now;
    while ((now = atomic_load_explicit(&t->pass, memory_order_acquire)) == seen) {
      if (atomic_load_explicit(&t->stop, memory_order_relaxed)) return NULL;
      ck_pr_stall();
    }
    seen = now;
    t->part(t->ctx, a.index, t->parts);
    atomic_fetch_add_explicit(&t->done, 1, memory_order_release);
  }
}

static inline void team_start(spin_team *t, uint32_t parts, void (*part)(void *, uint32_t, uint32_t), void *ctx) {
  memset(t, 0, sizeof *t);
  t->parts = parts > TEAM_MAX ? TEAM_MAX : parts;
  t->part = part;
  t->ctx = ctx;
  for (uint32_t i = 1; i < t->parts; i++) {
    team_arg *a = malloc(sizeof *a);
    if (!a) abort();
    *a = (team_arg){t, i};
    if (pthread_create(&t->threads[i], NULL, team_helper, a) != 0) abort();
  }
}

/* One pass: the caller runs part 0 and waits, spinning, for the others. */
static inline void team_run(spin_team *t) {
  atomic_store_explicit(&t->done, 0, memory_order_relaxed);
  atomic_fetch_add_explicit(&t->pass, 1, memory_order_release);
  t->part(t->ctx, 0, t->parts);
  while (atomic_load_explicit(&t->done, memory_order_acquire) != t->parts - 1) ck_pr_stall();
}

static inline void team_stop(spin_team *t) {
  atomic_store(&t->stop, 1);
  for (uint32_t i = 1; i < t->parts; i++) pthread_join(t->threads[i], NULL);
}

#endif
