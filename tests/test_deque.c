/* The Chase–Lev deque: one owner pushing and taking, several thieves
 * stealing, every item taken exactly once and never torn. */
#include <pthread.h>
#include <stdatomic.h>

#include <ck_pr.h>

/* The staged test's thief stops between its reads of top and bottom, as a
 * preempted thief would, while the owner moves on (see
 * a_thief_stalled_between_its_reads_takes_nothing_taken); other thieves
 * pass straight through. */
static _Thread_local int staged_thief;
static void staged_stop(void);
#define DEQUE_STEAL_PAUSE() (staged_thief ? staged_stop() : (void)0)

#include "deque.h"
#include "helpers.h"

#ifndef MYR_STRESS_DIVISOR
#define MYR_STRESS_DIVISOR 1
#endif

enum { THIEVES = 3 };

typedef struct shared {
  deque dq;
  long items;
  _Atomic unsigned char *taken;
  atomic_int owner_done;
  atomic_long by_thieves;
  atomic_long torn; /* counted, not asserted: cmocka asserts only on the test's thread */
} shared;

static void make_job(uint64_t i, uint64_t *w) {
  for (int k = 0; k < DEQUE_WORDS; k++) w[k] = i * 0x9e3779b97f4a7c15ull + (uint64_t)k;
}

/* Records a taken job; checks its words belong together. */
static void record(shared *s, const uint64_t *w) {
  uint64_t i = w[0] * 0xf1de83e19937733dull; /* inverse of the multiplier mod 2^64 */
  int bad = i >= (uint64_t)s->items;
  for (int k = 1; k < DEQUE_WORDS; k++) bad |= w[k] != w[0] + (uint64_t)k;
  if (bad) {
    atomic_fetch_add(&s->torn, 1);
    return;
  }
  atomic_fetch_add_explicit(&s->taken[i], 1, memory_order_relaxed);
}

static void *thief(void *arg) {
  shared *s = arg;
  uint64_t w[DEQUE_WORDS];
  long mine = 0;
  for (;;) {
    deque_result r = deque_steal(&s->dq, w);
    if (r == DEQUE_OK) {
      record(s, w);
      mine++;
    } else if (r == DEQUE_EMPTY && atomic_load(&s->owner_done)) {
      break;
    }
  }
  atomic_fetch_add(&s->by_thieves, mine);
  return NULL;
}

static void every_item_is_taken_exactly_once(void **state) {
  (void)state;
  shared s = {.items = 10000000 / MYR_STRESS_DIVISOR};
  uint64_t seed = test_seed(7);
  s.taken = calloc((size_t)s.items, 1);
  assert_non_null(s.taken);
  /* a small ring, so it grows many times while thieves read it */
  assert_int_equal(deque_init(&s.dq, 16), MYR_OK);
  pthread_t t[THIEVES];
  for (int i = 0; i < THIEVES; i++) assert_int_equal(pthread_create(&t[i], NULL, thief, &s), 0);
  uint64_t w[DEQUE_WORDS];
  long by_owner = 0;
  for (long i = 0; i < s.items; i++) {
    make_job((uint64_t)i, w);
    assert_int_equal(deque_push(&s.dq, w), MYR_OK);
    /* take back now and then, in bursts, to race thieves for the last item */
    if ((rng_next(&seed) & 3) == 0) {
      int burst = (int)(rng_next(&seed) % 4);
      for (int b = 0; b < burst && deque_take(&s.dq, w); b++, by_owner++) record(&s, w);
    }
  }
  while (deque_take(&s.dq, w)) {
    record(&s, w);
    by_owner++;
  }
  atomic_store(&s.owner_done, 1);
  for (int i = 0; i < THIEVES; i++) pthread_join(t[i], NULL);
  long missing = 0, duplicated = 0;
  for (long i = 0; i < s.items; i++) {
    missing += s.taken[i] == 0;
    duplicated += s.taken[i] > 1;
  }
  fprintf(stderr, "%ld items: owner took %ld, thieves %ld, missing %ld, duplicated %ld\n", s.items, by_owner,
          atomic_load(&s.by_thieves), missing, duplicated);
  assert_int_equal(atomic_load(&s.torn), 0);
  assert_int_equal(missing, 0);
  assert_int_equal(duplicated, 0);
  assert_int_equal(by_owner + atomic_load(&s.by_thieves), s.items);
  assert_true(atomic_load(&s.by_thieves) > 0);
  deque_destroy(&s.dq);
  free((void *)s.taken);
}

/* The owner keeps the deque nearly empty: pushes one or two items and takes
 * back at once, so that nearly every take races the thieves for the last
 * item and the thieves' reads of top and bottom straddle the owner's moves
 * of bottom. Weakened orders show up here as items taken twice or lost. */
static void last_items_are_taken_exactly_once(void **state) {
  (void)state;
  shared s = {.items = 6000000 / MYR_STRESS_DIVISOR};
  uint64_t seed = test_seed(11);
  s.taken = calloc((size_t)s.items, 1);
  assert_non_null(s.taken);
  assert_int_equal(deque_init(&s.dq, 16), MYR_OK);
  /* one thief: on two CPUs it and the owner then really run at once */
  pthread_t t[1];
  assert_int_equal(pthread_create(&t[0], NULL, thief, &s), 0);
  uint64_t w[DEQUE_WORDS];
  long by_owner = 0;
  for (long i = 0; i < s.items;) {
    long n = 1 + (long)(rng_next(&seed) & 1);
    for (long k = 0; k < n && i < s.items; k++, i++) {
      make_job((uint64_t)i, w);
      assert_int_equal(deque_push(&s.dq, w), MYR_OK);
    }
    while (deque_take(&s.dq, w)) {
      record(&s, w);
      by_owner++;
    }
  }
  atomic_store(&s.owner_done, 1);
  pthread_join(t[0], NULL);
  long missing = 0, duplicated = 0;
  for (long i = 0; i < s.items; i++) {
    missing += s.taken[i] == 0;
    duplicated += s.taken[i] > 1;
  }
  fprintf(stderr, "%ld items pushed and taken back: owner %ld, thieves %ld, missing %ld, duplicated %ld\n", s.items,
          by_owner, atomic_load(&s.by_thieves), missing, duplicated);
  assert_int_equal(atomic_load(&s.torn), 0);
  assert_int_equal(missing, 0);
  assert_int_equal(duplicated, 0);
  assert_int_equal(by_owner + atomic_load(&s.by_thieves), s.items);
  deque_destroy(&s.dq);
  free((void *)s.taken);
}

/* The thief's two reads, staged: a thief stops between them while the
 * owner takes the deque's two jobs (the second by winning top with its CAS).
 * The thief must then fail or find the deque empty: reading bottom before
 * top would let it take a job the owner already took. */
static struct {
  deque dq;
  atomic_int in_window, go;
  deque_result result;
  uint64_t got[DEQUE_WORDS];
} staged;

static void staged_stop(void) {
  atomic_store(&staged.in_window, 1);
  while (!atomic_load(&staged.go)) ck_pr_stall();
}

static void *staged_thief_main(void *arg) {
  (void)arg;
  staged_thief = 1;
  staged.result = deque_steal(&staged.dq, staged.got);
  return NULL;
}

static void a_thief_stalled_between_its_reads_takes_nothing_taken(void **state) {
  (void)state;
  for (int round = 0; round < 20; round++) {
    memset(&staged, 0, sizeof staged);
    assert_int_equal(deque_init(&staged.dq, 16), MYR_OK);
    uint64_t w[DEQUE_WORDS];
    for (uint64_t i = 0; i < (uint64_t)round % 5; i++) { /* move top and bottom on a little */
      make_job(100 + i, w);
      assert_int_equal(deque_push(&staged.dq, w), MYR_OK);
      assert_int_equal(deque_steal(&staged.dq, w), DEQUE_OK);
    }
    for (uint64_t i = 0; i < 2; i++) {
      make_job(i, w);
      assert_int_equal(deque_push(&staged.dq, w), MYR_OK);
    }
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, staged_thief_main, NULL), 0);
    while (!atomic_load(&staged.in_window)) ck_pr_stall();
    assert_true(deque_take(&staged.dq, w)); /* job 1: no race */
    assert_int_equal(w[0], 1 * 0x9e3779b97f4a7c15ull);
    assert_true(deque_take(&staged.dq, w)); /* job 0: the last, won by CAS */
    assert_int_equal(w[0], 0);
    atomic_store(&staged.go, 1);
    pthread_join(t, NULL);
    assert_true(staged.result != DEQUE_OK); /* both jobs were the owner's */
    assert_false(deque_take(&staged.dq, w));
    assert_int_equal(deque_steal(&staged.dq, w), DEQUE_EMPTY);
    deque_destroy(&staged.dq);
  }
}

static void empty_deque_gives_nothing_and_take_is_lifo(void **state) {
  (void)state;
  deque d;
  uint64_t w[DEQUE_WORDS];
  assert_int_equal(deque_init(&d, 4), MYR_OK);
  assert_false(deque_take(&d, w));
  assert_int_equal(deque_steal(&d, w), DEQUE_EMPTY);
  assert_false(deque_take(&d, w)); /* bottom must not drift on empty takes */
  for (uint64_t i = 0; i < 100; i++) {
    make_job(i, w);
    assert_int_equal(deque_push(&d, w), MYR_OK);
  }
  assert_int_equal(deque_steal(&d, w), DEQUE_OK);
  assert_int_equal(w[0], 0); /* thieves take the oldest */
  assert_true(deque_take(&d, w));
  assert_int_equal(w[0], 99 * 0x9e3779b97f4a7c15ull); /* the owner the newest */
  int left = 0;
  while (deque_take(&d, w)) left++;
  assert_int_equal(left, 98);
  assert_true(deque_looks_empty(&d));
  deque_destroy(&d);
}

/* Held pushes (the pool's way to learn of pushes while workers park) still
 * push, and a ring that grows while held stays held until released. */
static void held_pushes_still_push_and_grow(void **state) {
  (void)state;
  deque d;
  uint64_t w[DEQUE_WORDS];
  assert_int_equal(deque_init(&d, 16), MYR_OK);
  assert_false(deque_release_pushes(&d)); /* nothing held */
  assert_int_equal(at_load_rlx(&d.push_mask), (uint64_t)d.mask);
  deque_hold_pushes(&d);
  for (uint64_t i = 0; i < 40; i++) {
    make_job(i, w);
    assert_int_equal(deque_push(&d, w), MYR_OK);
  }
  assert_int_equal(d.mask, 63); /* grew twice */
  assert_int_equal(at_load_rlx(&d.push_mask), DEQUE_HELD);
  assert_true(deque_release_pushes(&d));
  assert_int_equal(at_load_rlx(&d.push_mask), 63);
  assert_false(deque_release_pushes(&d));
  for (uint64_t i = 40; i-- > 0;) {
    assert_true(deque_take(&d, w));
    assert_int_equal(w[0], i * 0x9e3779b97f4a7c15ull);
  }
  assert_false(deque_take(&d, w));
  deque_destroy(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(empty_deque_gives_nothing_and_take_is_lifo),
      cmocka_unit_test(held_pushes_still_push_and_grow),
      cmocka_unit_test(a_thief_stalled_between_its_reads_takes_nothing_taken),
      cmocka_unit_test(every_item_is_taken_exactly_once),
      cmocka_unit_test(last_items_are_taken_exactly_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
