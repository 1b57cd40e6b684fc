/* The job pool: spawn/wait, nesting, parallel_for, shutdown, parking. */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

#ifndef MYR_STRESS_DIVISOR
#define MYR_STRESS_DIVISOR 1
#endif

static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  if (!d) return -1;
  for (struct dirent *e; (e = readdir(d));) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* ---- nested spawns ------------------------------------------------------- */

typedef struct tree {
  myr_jobs *pool;
  _Atomic unsigned char *ran;
  myr_counter loose; /* fire-and-forget leaves, waited on by the root */
  atomic_int errors;
} tree;

typedef struct node {
  tree *t;
  uint64_t begin, end;
} node;

static void leaf(void *arg) {
  node *n = arg;
  atomic_fetch_add_explicit(&n->t->ran[n->begin], 1, memory_order_relaxed);
  free(n);
}

/* Splits its range in two child jobs and waits for them, except that every
 * 8th single-item range is spawned loose into the root's counter instead. */
static void split(void *arg) {
  node *n = arg;
  tree *t = n->t;
  if (n->end - n->begin == 1) {
    atomic_fetch_add_explicit(&t->ran[n->begin], 1, memory_order_relaxed);
    return;
  }
  uint64_t mid = n->begin + (n->end - n->begin) / 2;
  node kids[2] = {{t, n->begin, mid}, {t, mid, n->end}};
  myr_counter c = {0};
  for (int k = 0; k < 2; k++) {
    if (kids[k].end - kids[k].begin == 1 && kids[k].begin % 8 == 0) {
      node *loose = malloc(sizeof *loose);
      *loose = kids[k];
      if (myr_jobs_spawn(t->pool, leaf, loose, &t->loose) != MYR_OK) atomic_fetch_add(&t->errors, 1);
    } else if (myr_jobs_spawn(t->pool, split, &kids[k], &c) != MYR_OK) {
      atomic_fetch_add(&t->errors, 1);
    }
  }
  if (myr_jobs_wait(t->pool, &c) != MYR_OK) atomic_fetch_add(&t->errors, 1);
}

static void run_tree(uint32_t workers, uint64_t items) {
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers, .deque_capacity = 16}, &pool), MYR_OK);
  tree t = {.pool = pool, .ran = calloc(items, 1)};
  node root = {&t, 0, items};
  myr_counter c = {0};
  assert_int_equal(myr_jobs_spawn(pool, split, &root, &c), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &t.loose), MYR_OK);
  assert_int_equal(myr_counter_pending(&c), 0);
  assert_int_equal(atomic_load(&t.errors), 0);
  uint64_t missing = 0, twice = 0;
  for (uint64_t i = 0; i < items; i++) {
    missing += t.ran[i] == 0;
    twice += t.ran[i] > 1;
  }
  uint64_t jobs = 0, steals = 0;
  for (uint32_t w = 0; w < myr_jobs_worker_count(pool); w++) {
    myr_jobs_worker_stats s;
    assert_int_equal(myr_jobs_stats(pool, w, &s), MYR_OK);
    jobs += s.jobs;
    steals += s.steals;
  }
  fprintf(stderr, "%u workers, %llu items: %llu jobs, %llu steals, missing %llu, twice %llu\n", workers,
          (unsigned long long)items, (unsigned long long)jobs, (unsigned long long)steals, (unsigned long long)missing,
          (unsigned long long)twice);
  assert_int_equal(missing, 0);
  assert_int_equal(twice, 0);
  /* a binary tree over n leaves has 2n - 1 nodes: every one was a job */
  assert_int_equal(jobs, 2 * items - 1);
  if (workers > 1) assert_true(steals > 0);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  free((void *)t.ran);
}

static void ten_million_nested_jobs_each_run_once(void **state) {
  (void)state;
  run_tree(2, 5000000 / MYR_STRESS_DIVISOR); /* 10^7 - 1 jobs */
  run_tree(3, 1000000 / MYR_STRESS_DIVISOR); /* more workers than cores */
}

static void one_worker_runs_everything_on_the_caller(void **state) {
  (void)state;
  int before = thread_count();
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 1}, &pool), MYR_OK);
  assert_int_equal(thread_count(), before); /* no thread started */
  assert_int_equal(myr_jobs_worker_index(pool), 0);
  assert_int_equal(myr_jobs_worker_count(pool), 1);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  run_tree(1, 100000);
}

/* ---- parallel_for -------------------------------------------------------- */

typedef struct pf_check {
  _Atomic unsigned char *hit;
  size_t begin, grain;
  atomic_long bad;
} pf_check;

static void pf_body(void *ctx, size_t b, size_t e) {
  pf_check *c = ctx;
  /* pieces are at most a grain long and start a whole number of grains in */
  if (e <= b || e - b > c->grain || (b - c->begin) % c->grain != 0) atomic_fetch_add(&c->bad, 1);
  for (size_t i = b; i < e; i++) atomic_fetch_add_explicit(&c->hit[i - c->begin], 1, memory_order_relaxed);
}

static void parallel_for_covers_each_index_once(void **state) {
  (void)state;
  const size_t sizes[] = {0, 1, 2, 7, 1000, 12345, 1000003};
  const size_t grains[] = {1, 7, 4096, 2000000};
  for (uint32_t workers = 1; workers <= 3; workers++) {
    myr_jobs *pool;
    assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      for (size_t g = 0; g < sizeof grains / sizeof grains[0]; g++) {
        size_t n = sizes[s] / (grains[g] == 1 ? MYR_STRESS_DIVISOR : 1);
        pf_check c = {.hit = calloc(n + 1, 1), .begin = 17, .grain = grains[g]};
        assert_int_equal(myr_jobs_parallel_for(pool, 17, 17 + n, grains[g], pf_body, &c), MYR_OK);
        assert_int_equal(atomic_load(&c.bad), 0);
        for (size_t i = 0; i < n; i++)
          if (c.hit[i] != 1) fail_msg("index %zu hit %d times (n %zu grain %zu)", i, c.hit[i], n, grains[g]);
        free((void *)c.hit);
      }
    }
    assert_int_equal(myr_jobs_parallel_for(pool, 5, 4, 1, pf_body, NULL), MYR_EINVAL);
    assert_int_equal(myr_jobs_parallel_for(pool, 0, 4, 1, NULL, NULL), MYR_EINVAL);
    assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  }
}

/* ---- shutdown and misuse ------------------------------------------------- */

static atomic_long slow_done;
static void slow_job(void *arg) {
  (void)arg;
  volatile double x = 1;
  for (int i = 0; i < 20000; i++) x = x * 1.0000001 + 1e-9;
  atomic_fetch_add(&slow_done, 1);
}

static void destroy_while_busy_runs_every_queued_job(void **state) {
  (void)state;
  for (int round = 0; round < 5; round++) {
    myr_jobs *pool;
    myr_counter c = {0};
    atomic_store(&slow_done, 0);
    assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &pool), MYR_OK);
    for (int i = 0; i < 2000; i++) assert_int_equal(myr_jobs_spawn(pool, slow_job, NULL, &c), MYR_OK);
    assert_int_equal(myr_jobs_destroy(pool), MYR_OK); /* no wait first */
    assert_int_equal(atomic_load(&slow_done), 2000);
    assert_int_equal(myr_counter_pending(&c), 0);
  }
}

typedef struct misuse {
  myr_jobs *pool;
  myr_status destroy, spawn, wait;
  int index;
} misuse;

static void destroy_from_job(void *arg) {
  misuse *m = arg;
  m->destroy = myr_jobs_destroy(m->pool);
}

static void *foreign_thread(void *arg) {
  misuse *m = arg;
  myr_counter c = {0};
  m->destroy = myr_jobs_destroy(m->pool);
  m->spawn = myr_jobs_spawn(m->pool, slow_job, NULL, &c);
  m->wait = myr_jobs_wait(m->pool, &c);
  m->index = myr_jobs_worker_index(m->pool);
  return NULL;
}

static void destroy_from_a_job_or_foreign_thread_is_refused(void **state) {
  (void)state;
  for (uint32_t workers = 1; workers <= 2; workers++) {
    misuse m = {0};
    myr_counter c = {0};
    assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &m.pool), MYR_OK);
    for (int i = 0; i < 4; i++) {
      assert_int_equal(myr_jobs_spawn(m.pool, destroy_from_job, &m, &c), MYR_OK);
      assert_int_equal(myr_jobs_wait(m.pool, &c), MYR_OK);
      assert_int_equal(m.destroy, MYR_EBUSY);
    }
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, foreign_thread, &m), 0);
    pthread_join(t, NULL);
    assert_int_equal(m.destroy, MYR_EBUSY);
    assert_int_equal(m.spawn, MYR_EBUSY);
    assert_int_equal(m.wait, MYR_EBUSY);
    assert_int_equal(m.index, -1);
    assert_int_equal(myr_jobs_spawn(m.pool, NULL, NULL, &c), MYR_EINVAL);
    assert_int_equal(myr_jobs_spawn(m.pool, slow_job, NULL, NULL), MYR_EINVAL);
    assert_int_equal(myr_jobs_destroy(m.pool), MYR_OK);
  }
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 5000}, &(myr_jobs *){0}), MYR_EINVAL);
  assert_int_equal(myr_jobs_destroy(NULL), MYR_OK);
}

/* Jobs that spawn two more, loose, into one shared counter, down to a
 * depth, and never wait: on a pool of several workers, most run on workers
 * other than the one that spawned the root. */
typedef struct spread {
  myr_jobs *pool;
  myr_counter counter;
  atomic_long ran;
  atomic_int errors;
} spread;

static spread spreading;
static void spread_job(void *arg) {
  uintptr_t depth = (uintptr_t)arg;
  atomic_fetch_add_explicit(&spreading.ran, 1, memory_order_relaxed);
  if (depth == 0) return;
  slow_job(NULL);
  for (int k = 0; k < 2; k++)
    if (myr_jobs_spawn(spreading.pool, spread_job, (void *)(depth - 1), &spreading.counter) != MYR_OK)
      atomic_fetch_add(&spreading.errors, 1);
}

static void destroy_runs_what_jobs_spawned_on_other_workers(void **state) {
  (void)state;
  enum { DEPTH = 9 };
  for (uint32_t workers = 1; workers <= 3; workers++) {
    for (int round = 0; round < 3; round++) {
      spreading = (spread){0};
      assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers, .deque_capacity = 16}, &spreading.pool),
                       MYR_OK);
      for (int r = 0; r < 4; r++)
        assert_int_equal(myr_jobs_spawn(spreading.pool, spread_job, (void *)(uintptr_t)DEPTH, &spreading.counter),
                         MYR_OK);
      assert_int_equal(myr_jobs_destroy(spreading.pool), MYR_OK); /* no wait first */
      assert_int_equal(atomic_load(&spreading.ran), 4 * ((2 << DEPTH) - 1));
      assert_int_equal(atomic_load(&spreading.errors), 0);
      assert_int_equal(myr_counter_pending(&spreading.counter), 0);
    }
  }
}

/* destroy is refused from user code running inside any call that runs
 * jobs: a parallel_for body (on the caller or not), a job run by a wait
 * nested in another job. */
static atomic_int refused, accepted;
static void note_destroy(myr_jobs *pool) {
  if (myr_jobs_destroy(pool) == MYR_EBUSY) atomic_fetch_add(&refused, 1);
  else atomic_fetch_add(&accepted, 1);
}

static void destroy_in_body(void *ctx, size_t b, size_t e) {
  (void)b;
  (void)e;
  note_destroy(ctx);
}

static void destroy_in_leaf(void *arg) { note_destroy(arg); }

static void destroy_in_nested_wait(void *arg) {
  myr_counter c = {0};
  if (myr_jobs_spawn(arg, destroy_in_leaf, arg, &c) != MYR_OK || myr_jobs_wait(arg, &c) != MYR_OK)
    atomic_fetch_add(&accepted, 1000);
}

static void destroy_inside_loops_and_nested_waits_is_refused(void **state) {
  (void)state;
  for (uint32_t workers = 1; workers <= 2; workers++) {
    atomic_store(&refused, 0);
    atomic_store(&accepted, 0);
    myr_jobs *pool;
    assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
    assert_int_equal(myr_jobs_parallel_for(pool, 0, 64, 1, destroy_in_body, pool), MYR_OK);
    myr_counter c = {0};
    for (int i = 0; i < 16; i++) assert_int_equal(myr_jobs_spawn(pool, destroy_in_nested_wait, pool, &c), MYR_OK);
    assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
    assert_int_equal(atomic_load(&refused), 64 + 16);
    assert_int_equal(atomic_load(&accepted), 0);
    assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  }
}

/* A counter owned by the main thread (it spawned into it first) waited on
 * by a job that another worker stole: the owner's last completion is a
 * plain store, which such a waiter must still see. The waiter waits only
 * once it has seen (`spawned`, released after the four spawns) that all
 * four are counted: a wait covers the spawns the waiter can see, and a
 * waiter that starts before the owner's last spawns (qemu's timing makes
 * that common) may rightly return when the first one is done. */
typedef struct cross {
  myr_jobs *pool;
  myr_counter owned_by_main;
  atomic_int done;
  atomic_int errors;
  atomic_int spawned;
} cross;

static void cross_slow(void *arg) {
  cross *x = arg;
  slow_job(NULL);
  atomic_fetch_add(&x->done, 1);
}

static void cross_waiter(void *arg) {
  cross *x = arg;
  while (!atomic_load_explicit(&x->spawned, memory_order_acquire)) sched_yield();
  if (myr_jobs_wait(x->pool, &x->owned_by_main) != MYR_OK) atomic_fetch_add(&x->errors, 1);
  if (atomic_load(&x->done) != 4) atomic_fetch_add(&x->errors, 1); /* returned early */
}

static void a_counter_waited_on_by_a_worker_that_does_not_own_it(void **state) {
  (void)state;
  for (int round = 0; round < 50; round++) {
    cross x = {0};
    myr_counter waiters = {0};
    assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &x.pool), MYR_OK);
    /* the waiter first, so that it sits at the top, where thieves steal */
    assert_int_equal(myr_jobs_spawn(x.pool, cross_slow, &x, &x.owned_by_main), MYR_OK);
    assert_int_equal(myr_jobs_spawn(x.pool, cross_waiter, &x, &waiters), MYR_OK);
    for (int i = 0; i < 3; i++) assert_int_equal(myr_jobs_spawn(x.pool, cross_slow, &x, &x.owned_by_main), MYR_OK);
    atomic_store_explicit(&x.spawned, 1, memory_order_release);
    assert_int_equal(myr_jobs_wait(x.pool, &waiters), MYR_OK);
    assert_int_equal(atomic_load(&x.errors), 0);
    assert_int_equal(myr_counter_pending(&x.owned_by_main), 0);
    assert_int_equal(myr_jobs_destroy(x.pool), MYR_OK);
  }
}

/* A thread that created one pool creates a second: each works on its own,
 * the calling thread being worker 0 of both. */
static void a_second_pool_on_the_same_thread(void **state) {
  (void)state;
  myr_jobs *a, *b;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &a), MYR_OK);
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &b), MYR_OK);
  assert_int_equal(myr_jobs_worker_index(a), 0);
  assert_int_equal(myr_jobs_worker_index(b), 0);
  spreading = (spread){.pool = b};
  assert_int_equal(myr_jobs_spawn(b, spread_job, (void *)(uintptr_t)6, &spreading.counter), MYR_OK);
  myr_counter c = {0};
  for (int i = 0; i < 100; i++) assert_int_equal(myr_jobs_spawn(a, slow_job, NULL, &c), MYR_OK);
  assert_int_equal(myr_jobs_wait(b, &spreading.counter), MYR_OK);
  assert_int_equal(atomic_load(&spreading.ran), (2 << 6) - 1);
  assert_int_equal(myr_jobs_wait(a, &c), MYR_OK);
  assert_int_equal(myr_counter_pending(&c), 0);
  assert_int_equal(myr_jobs_destroy(b), MYR_OK);
  assert_int_equal(myr_jobs_destroy(a), MYR_OK);
}

/* The creating thread moves its thread-local worker to the pool it last
 * called into (for the fast paths); destroying that pool must leave nothing
 * pointing into it, and the other pool keeps working (under ASan a stale
 * pointer is a use after free). */
static void the_creator_moves_between_its_pools(void **state) {
  (void)state;
  for (int round = 0; round < 2; round++) {
    myr_jobs *a, *b;
    assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &a), MYR_OK);
    assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 3}, &b), MYR_OK);
    for (int k = 0; k < 3; k++) { /* back and forth */
      myr_counter ca = {0}, cb = {0};
      for (int i = 0; i < 50; i++) assert_int_equal(myr_jobs_spawn(b, slow_job, NULL, &cb), MYR_OK);
      for (int i = 0; i < 50; i++) assert_int_equal(myr_jobs_spawn(a, slow_job, NULL, &ca), MYR_OK);
      assert_int_equal(myr_jobs_wait(b, &cb), MYR_OK);
      assert_int_equal(myr_jobs_wait(a, &ca), MYR_OK);
      assert_int_equal(myr_counter_pending(&ca) + myr_counter_pending(&cb), 0);
    }
    /* destroy the one called into last (round 0) or the other (round 1) */
    myr_jobs *gone = round == 0 ? a : b, *kept = round == 0 ? b : a;
    myr_counter c = {0};
    assert_int_equal(myr_jobs_spawn(gone, slow_job, NULL, &c), MYR_OK);
    assert_int_equal(myr_jobs_wait(gone, &c), MYR_OK);
    assert_int_equal(myr_jobs_destroy(gone), MYR_OK);
    assert_int_equal(myr_jobs_worker_index(kept), 0);
    for (int i = 0; i < 50; i++) assert_int_equal(myr_jobs_spawn(kept, slow_job, NULL, &c), MYR_OK);
    assert_int_equal(myr_jobs_wait(kept, &c), MYR_OK);
    assert_int_equal(myr_counter_pending(&c), 0);
    assert_int_equal(myr_jobs_destroy(kept), MYR_OK);
  }
}

/* A job on a started worker creates a pool of its own, calls into it and
 * destroys it: the thread is still that worker of the pool that started
 * it, for this job and for later ones. */
static myr_jobs *outer_pool;
static atomic_int outer_checked, outer_ok;
static void nop_job(void *arg) { (void)arg; }

static void make_a_pool_inside(void *arg) {
  bool later = arg != NULL;
  int me = myr_jobs_worker_index(outer_pool);
  if (me <= 0) return; /* on the creator: not the case tested */
  if (!later) {
    myr_jobs *inner;
    if (myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &inner) != MYR_OK) return;
    myr_counter ci = {0};
    bool ok = myr_jobs_worker_index(inner) == 0 && myr_jobs_spawn(inner, nop_job, NULL, &ci) == MYR_OK &&
              myr_jobs_wait(inner, &ci) == MYR_OK && myr_jobs_destroy(inner) == MYR_OK;
    if (!ok) return;
  }
  myr_counter c = {0};
  if (myr_jobs_worker_index(outer_pool) == me && myr_jobs_spawn(outer_pool, nop_job, NULL, &c) == MYR_OK &&
      myr_jobs_wait(outer_pool, &c) == MYR_OK && myr_counter_pending(&c) == 0)
    atomic_fetch_add(&outer_ok, 1);
  atomic_fetch_add(&outer_checked, 1);
}

static void a_worker_that_makes_a_pool_stays_a_worker(void **state) {
  (void)state;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &outer_pool), MYR_OK);
  for (int phase = 0; phase < 2; phase++) { /* the job that makes a pool, then a later one */
    atomic_store(&outer_checked, 0);
    atomic_store(&outer_ok, 0);
    for (int tries = 0; tries < 2000 && atomic_load(&outer_checked) == 0; tries++) {
      myr_counter c = {0};
      for (int i = 0; i < 8; i++) assert_int_equal(myr_jobs_spawn(outer_pool, slow_job, NULL, &c), MYR_OK);
      assert_int_equal(myr_jobs_spawn(outer_pool, make_a_pool_inside, phase ? (void *)1 : NULL, &c), MYR_OK);
      for (int i = 0; i < 8; i++) assert_int_equal(myr_jobs_spawn(outer_pool, slow_job, NULL, &c), MYR_OK);
      assert_int_equal(myr_jobs_wait(outer_pool, &c), MYR_OK);
    }
    assert_true(atomic_load(&outer_checked) > 0); /* the other worker took it at least once */
    assert_int_equal(atomic_load(&outer_ok), atomic_load(&outer_checked));
  }
  assert_int_equal(myr_jobs_destroy(outer_pool), MYR_OK);
}

/* A wait takes a job before it reads its counter; when the job is of
 * another counter and its own counter is closed already, the job goes back
 * where it was, unrun. One worker, so the order is fixed. */
typedef struct order {
  myr_jobs *pool;
  int ran[4], n;
} order;

static order ordering;
static void note_order(void *arg) { ordering.ran[ordering.n++] = (int)(uintptr_t)arg; }

static void wait_on_closed(void *arg) {
  (void)arg;
  myr_jobs *pool = ordering.pool;
  myr_counter closed = {0}, other = {0};
  assert_int_equal(myr_jobs_spawn(pool, note_order, (void *)(uintptr_t)1, &closed), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &closed), MYR_OK);
  /* one job of another counter in the deque: taken as its last job */
  assert_int_equal(myr_jobs_spawn(pool, note_order, (void *)(uintptr_t)2, &other), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &closed), MYR_OK);
  assert_int_equal(ordering.n, 1);
  assert_int_equal(myr_counter_pending(&other), 1);
  /* two: the top one is taken without a race, and must come back on top */
  assert_int_equal(myr_jobs_spawn(pool, note_order, (void *)(uintptr_t)3, &other), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &closed), MYR_OK);
  assert_int_equal(ordering.n, 1);
  assert_int_equal(myr_jobs_wait(pool, &other), MYR_OK);
  assert_int_equal(ordering.n, 3);
  assert_int_equal(ordering.ran[1], 3);
  assert_int_equal(ordering.ran[2], 2);
}

static void a_wait_on_a_closed_counter_leaves_other_jobs_queued(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 1}, &pool), MYR_OK);
  ordering = (order){.pool = pool};
  myr_counter c = {0};
  assert_int_equal(myr_jobs_spawn(pool, wait_on_closed, NULL, &c), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK); /* the waits above are nested */
  assert_int_equal(ordering.n, 3);
  myr_jobs_worker_stats s;
  assert_int_equal(myr_jobs_stats(pool, 0, &s), MYR_OK);
  assert_int_equal(s.jobs, 4);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

static atomic_int index_seen[8];
static void note_index(void *arg) {
  myr_jobs *pool = arg;
  int i = myr_jobs_worker_index(pool);
  if (i >= 0 && i < 8) atomic_fetch_add(&index_seen[i], 1);
  slow_job(NULL);
}

static void jobs_run_on_every_worker_with_their_index(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &pool), MYR_OK);
  myr_counter c = {0};
  for (int i = 0; i < 4000; i++) assert_int_equal(myr_jobs_spawn(pool, note_index, pool, &c), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
  assert_int_equal(atomic_load(&index_seen[0]) + atomic_load(&index_seen[1]), 4000);
  assert_true(atomic_load(&index_seen[1]) > 0); /* the second worker stole some */
  assert_int_equal(myr_jobs_stats(pool, 2, &(myr_jobs_worker_stats){0}), MYR_EINVAL);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
  myr_jobs *dflt;
  assert_int_equal(myr_jobs_create(NULL, &dflt), MYR_OK);
  assert_int_equal(myr_jobs_worker_count(dflt), (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
  assert_int_equal(myr_jobs_destroy(dflt), MYR_OK);
}

/* ---- parking ------------------------------------------------------------- */

static uint64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
         ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static void idle_pool_parks_and_uses_no_cpu(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 4}, &pool), MYR_OK);
  myr_counter c = {0};
  for (int i = 0; i < 1000; i++) assert_int_equal(myr_jobs_spawn(pool, slow_job, NULL, &c), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
  nanosleep(&(struct timespec){0, 50000000}, NULL); /* let the workers reach their parked state */
  uint64_t before = cpu_ns();
  nanosleep(&(struct timespec){1, 0}, NULL);
  uint64_t used = cpu_ns() - before;
  fprintf(stderr, "idle pool of 4 used %.3f ms of CPU in 1 s\n", (double)used / 1e6);
  assert_true(used < 10000000ull);
  myr_jobs_worker_stats s;
  assert_int_equal(myr_jobs_stats(pool, 1, &s), MYR_OK);
  assert_true(s.parks > 0 && s.parked_ns > 500000000ull);
  /* parked workers wake up for new work */
  for (int i = 0; i < 1000; i++) assert_int_equal(myr_jobs_spawn(pool, note_index, pool, &c), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

/* ---- parallel_for at the ends of size_t --------------------------------- */

typedef struct extreme {
  size_t lo, hi, grain;
  atomic_ulong pieces, bad;
  _Atomic uint64_t covered_hi, covered_lo; /* sum of piece lengths, 128-bit */
} extreme;

static void extreme_piece(void *ctx, size_t b, size_t e) {
  extreme *x = ctx;
  if (!(x->lo <= b && b < e && e <= x->hi && e - b <= x->grain)) atomic_fetch_add(&x->bad, 1);
  /* pieces start a whole number of grains from the range's start */
  if ((b - x->lo) % x->grain != 0) atomic_fetch_add(&x->bad, 1);
  uint64_t len = e - b, old = atomic_fetch_add(&x->covered_lo, len);
  if (old + len < old) atomic_fetch_add(&x->covered_hi, 1);
  atomic_fetch_add(&x->pieces, 1);
}

static void parallel_for_handles_ranges_and_grains_near_size_max(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &pool), MYR_OK);
  const struct {
    size_t lo, hi, grain;
    uint64_t pieces;
  } cases[] = {
      {0, SIZE_MAX, SIZE_MAX, 1},
      {0, SIZE_MAX, SIZE_MAX / 2, 3}, /* two full grains and one item */
      {0, SIZE_MAX, SIZE_MAX / 4 + 1, 4},
      {SIZE_MAX - 1000, SIZE_MAX, 7, 143}, /* ceil(1000 / 7) */
      {SIZE_MAX - 1000, SIZE_MAX, SIZE_MAX, 1},
      {1, SIZE_MAX, SIZE_MAX - 2, 2},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    extreme x = {.lo = cases[i].lo, .hi = cases[i].hi, .grain = cases[i].grain};
    assert_int_equal(myr_jobs_parallel_for(pool, x.lo, x.hi, x.grain, extreme_piece, &x), MYR_OK);
    assert_int_equal(atomic_load(&x.bad), 0);
    assert_int_equal(atomic_load(&x.pieces), cases[i].pieces);
    /* the pieces cover the range exactly once */
    assert_true(atomic_load(&x.covered_hi) == 0 && atomic_load(&x.covered_lo) == x.hi - x.lo);
  }
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

static uint64_t woken_total(myr_jobs *pool) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < myr_jobs_worker_count(pool); i++) {
    myr_jobs_worker_stats s;
    assert_int_equal(myr_jobs_stats(pool, i, &s), MYR_OK);
    n += s.woken;
  }
  return n;
}

static void spread_more(void *arg);
typedef struct spread_ctx {
  myr_jobs *pool;
  myr_counter c;
  atomic_int ran;
} spread_ctx;

/* Two more jobs, down to a depth: work that grows while it runs. */
static void spread_more(void *arg) {
  spread_ctx *x = arg;
  int n = atomic_fetch_add(&x->ran, 1);
  nanosleep(&(struct timespec){0, 200000}, NULL);
  if (n < 200) {
    myr_jobs_spawn(x->pool, spread_more, x, &x->c);
    myr_jobs_spawn(x->pool, spread_more, x, &x->c);
  }
}

/* One job pushed into a parked pool wakes one worker, not all of them;
 * work that keeps growing wakes the others one after another. */
static void a_push_wakes_one_sleeper_and_growing_work_wakes_more(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 8}, &pool), MYR_OK);
  nanosleep(&(struct timespec){0, 30000000}, NULL); /* all park, deadlines grow */
  uint64_t before = woken_total(pool);
  myr_counter c = {0};
  assert_int_equal(myr_jobs_spawn(pool, slow_job, NULL, &c), MYR_OK);
  nanosleep(&(struct timespec){0, 5000000}, NULL); /* the main thread does not run it */
  assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
  nanosleep(&(struct timespec){0, 2000000}, NULL);
  uint64_t woke = woken_total(pool) - before;
  fprintf(stderr, "one push into a parked pool of 8 woke %llu\n", (unsigned long long)woke);
  assert_true(woke >= 1 && woke <= 2); /* one, and at most a stray deadline's neighbour */
  /* growing work: every worker ends up running some of it */
  spread_ctx x = {.pool = pool};
  assert_int_equal(myr_jobs_spawn(pool, spread_more, &x, &x.c), MYR_OK);
  assert_int_equal(myr_jobs_wait(pool, &x.c), MYR_OK);
  uint32_t busy = 0;
  for (uint32_t i = 1; i < 8; i++) {
    myr_jobs_worker_stats s;
    assert_int_equal(myr_jobs_stats(pool, i, &s), MYR_OK);
    busy += s.steals > 0;
  }
  fprintf(stderr, "growing work reached %u of 7 started workers\n", busy);
  assert_true(busy >= 5);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

typedef struct timed_job {
  uint64_t spawned_at;
  _Atomic uint64_t started_at;
} timed_job;

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void timed_sleep(void *arg) {
  timed_job *j = arg;
  atomic_store(&j->started_at, mono_ns());
  nanosleep(&(struct timespec){0, 40000000}, NULL);
}

/* A burst of work into a parked pool, then a second one while the first
 * still runs and the creator does not wait: the second must start on the
 * free workers at once, not when a sleeper's deadline (up to 100 ms) runs
 * out. (Pushes release their holds while a woken worker spins; the last
 * spinner to stop puts them back.) */
static void a_second_burst_wakes_the_workers_left(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 6}, &pool), MYR_OK);
  int late = 0;
  for (int round = 0; round < 3; round++) {
    nanosleep(&(struct timespec){0, 300000000}, NULL); /* idle: deadlines grow */
    timed_job a[2], b[2];
    myr_counter ca = {0}, cb = {0};
    for (int i = 0; i < 2; i++) {
      a[i].spawned_at = mono_ns();
      atomic_store(&a[i].started_at, 0);
      assert_int_equal(myr_jobs_spawn(pool, timed_sleep, &a[i], &ca), MYR_OK);
    }
    nanosleep(&(struct timespec){0, 5000000}, NULL);
    for (int i = 0; i < 2; i++) {
      b[i].spawned_at = mono_ns();
      atomic_store(&b[i].started_at, 0);
      assert_int_equal(myr_jobs_spawn(pool, timed_sleep, &b[i], &cb), MYR_OK);
    }
    nanosleep(&(struct timespec){0, 30000000}, NULL); /* the creator does not run them */
    assert_int_equal(myr_jobs_wait(pool, &cb), MYR_OK);
    assert_int_equal(myr_jobs_wait(pool, &ca), MYR_OK);
    for (int i = 0; i < 2; i++) late += atomic_load(&b[i].started_at) - b[i].spawned_at > 10000000;
  }
  fprintf(stderr, "second-burst jobs started over 10 ms late: %d of 6\n", late);
  assert_true(late <= 1);
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

static uint64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static atomic_int wake_flag;
static void set_wake_flag(void *arg) {
  (void)arg;
  atomic_store(&wake_flag, 1);
}

static void spin_until_flag(void *arg) {
  uint64_t *waited = arg, t0 = wall_ns();
  while (!atomic_load(&wake_flag) && wall_ns() - t0 < 5000000000ull) sched_yield();
  *waited = wall_ns() - t0;
}

/* A spawn wakes a parked worker at once, not when its park deadline (grown
 * to 100 ms while idle) passes: the job that sets the flag can only run on
 * the parked worker, while the caller spins in the other. The spawn comes
 * 1 ms into a fresh park (seen by the park count moving), so a missed
 * wake-up would show as about 99 ms. */
static void a_spawn_wakes_a_parked_worker_at_once(void **state) {
  (void)state;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2, .spin_us = 1}, &pool), MYR_OK);
  nanosleep(&(struct timespec){0, 400000000}, NULL); /* deadlines grow: 1, 2, 4 ... 64, 100 ms */
  for (int round = 0; round < 3; round++) {
    myr_jobs_worker_stats s0, s;
    assert_int_equal(myr_jobs_stats(pool, 1, &s0), MYR_OK);
    do {
      nanosleep(&(struct timespec){0, 100000}, NULL);
      assert_int_equal(myr_jobs_stats(pool, 1, &s), MYR_OK);
    } while (s.parks == s0.parks);
    nanosleep(&(struct timespec){0, 1000000}, NULL);
    atomic_store(&wake_flag, 0);
    uint64_t waited = 0;
    myr_counter c = {0};
    assert_int_equal(myr_jobs_spawn(pool, set_wake_flag, NULL, &c), MYR_OK);
    assert_int_equal(myr_jobs_spawn(pool, spin_until_flag, &waited, &c), MYR_OK);
    assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
    fprintf(stderr, "round %d: the parked worker ran the job after %.3f ms\n", round, (double)waited / 1e6);
    assert_true(waited < 30000000ull);
  }
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

/* ---- oversubscribed pools ------------------------------------------------ */

typedef struct blocked_pair {
  atomic_int flag;
  atomic_int gave_up;
  atomic_int *done;
} blocked_pair;

/* Sleeps until its partner job sets the flag (5 s at most). */
static void blocked_on_partner(void *arg) {
  blocked_pair *b = arg;
  uint64_t t0 = mono_ns();
  while (!atomic_load(&b->flag)) {
    if (mono_ns() - t0 > 5000000000ull) {
      atomic_store(&b->gave_up, 1);
      break;
    }
    nanosleep(&(struct timespec){0, 100000}, NULL);
  }
  atomic_fetch_add(b->done, 1);
}

static void free_partner(void *arg) { atomic_store(&((blocked_pair *)arg)->flag, 1); }

/* A pool with more workers than CPUs still runs as many jobs at once as
 * it has workers when they block: n jobs each sleep until a job spawned
 * after all of them runs, while the creator does not wait. The sleepers
 * take the queued jobs within milliseconds. (A pool that kept only one
 * worker per CPU awake, counting blocked ones as busy, ran the partners
 * only once the creator waited, here after 5 s.) */
static void blocked_jobs_and_partners(uint32_t workers, uint32_t n) {
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  for (int round = 0; round < 3; round++) {
    nanosleep(&(struct timespec){0, 100000000}, NULL); /* idle: the workers park */
    atomic_int done = 0;
    blocked_pair *pairs = calloc(n, sizeof *pairs);
    assert_non_null(pairs);
    myr_counter c = {0};
    uint64_t t0 = mono_ns();
    for (uint32_t i = 0; i < n; i++) {
      pairs[i].done = &done;
      assert_int_equal(myr_jobs_spawn(pool, blocked_on_partner, &pairs[i], &c), MYR_OK);
    }
    for (uint32_t i = 0; i < n; i++) assert_int_equal(myr_jobs_spawn(pool, free_partner, &pairs[i], &c), MYR_OK);
    while (atomic_load(&done) < (int)n && mono_ns() - t0 < 6000000000ull)
      nanosleep(&(struct timespec){0, 1000000}, NULL);
    uint64_t took = mono_ns() - t0;
    assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
    int gave_up = 0;
    for (uint32_t i = 0; i < n; i++) gave_up += atomic_load(&pairs[i].gave_up);
    fprintf(stderr, "round %d: %u blocked jobs and their partners on %u workers took %.1f ms\n", round, n, workers,
            (double)took / 1e6);
    assert_int_equal(gave_up, 0);
    assert_true(took < 1000000000ull);
    free(pairs);
  }
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

static void jobs_blocked_on_later_jobs_finish_in_an_oversubscribed_pool(void **state) {
  (void)state;
  uint32_t cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
  blocked_jobs_and_partners(4 * cpus, 2 * cpus);
  /* nearly every worker blocked: the sleepers join a few at a time */
  blocked_jobs_and_partners(16 * cpus, 16 * cpus - 2);
}

static atomic_int at_barrier;
static int barrier_jobs;

static void meet_at_spin_barrier(void *arg) {
  (void)arg;
  atomic_fetch_add(&at_barrier, 1);
  uint64_t t0 = mono_ns();
  while (atomic_load(&at_barrier) < barrier_jobs && mono_ns() - t0 < 5000000000ull) sched_yield();
}

/* Jobs that spin until all of them have started need as many workers at
 * once: on a pool with more workers than CPUs and fewer jobs than workers,
 * the workers parked when the jobs were spawned must still come to run
 * them, woken as the work grows or when their park deadline passes (each
 * job spins, so none of them looks blocked). A bound of one awake worker
 * per CPU hung here (issue #9's review). */
static void jobs_that_spin_for_each_other_finish_in_an_oversubscribed_pool(void **state) {
  (void)state;
  uint32_t cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN), workers = 4 * cpus;
  barrier_jobs = (int)cpus + 1;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  for (int round = 0; round < 3; round++) {
    nanosleep(&(struct timespec){0, 200000000}, NULL); /* idle: the workers park */
    atomic_store(&at_barrier, 0);
    myr_counter c = {0};
    uint64_t t0 = mono_ns();
    for (int i = 0; i < barrier_jobs; i++)
      assert_int_equal(myr_jobs_spawn(pool, meet_at_spin_barrier, NULL, &c), MYR_OK);
    assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
    uint64_t took = mono_ns() - t0;
    fprintf(stderr, "round %d: %d jobs at a spin barrier on %u workers took %.1f ms\n", round, barrier_jobs, workers,
            (double)took / 1e6);
    assert_int_equal(atomic_load(&at_barrier), barrier_jobs);
    assert_true(took < 1000000000ull);
  }
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

/* ---- waits that run jobs, and sleepers that are all waiters ------------- */

static atomic_int helping_flag;
static void noop_job(void *arg) { (void)arg; }
static void set_helping_flag(void *arg) {
  (void)arg;
  atomic_store(&helping_flag, 1);
}

/* Waits by running jobs of its own until a job queued after it runs (5 s
 * at most): it finishes jobs and uses its CPU, so it never looks stuck. */
static void help_until_flag(void *arg) {
  myr_jobs *pool = arg;
  uint64_t t0 = mono_ns();
  while (!atomic_load(&helping_flag) && mono_ns() - t0 < 5000000000ull) {
    myr_counter c = {0};
    myr_jobs_spawn(pool, noop_job, NULL, &c);
    myr_jobs_wait(pool, &c);
  }
}

/* More helping waiters than CPUs keep every CPU busy with progress, while
 * the job they wait for sits in the deque of the creator, which sleeps
 * without waiting. A worker past the bound must take it: a pool that gave
 * a stuck worker's queued jobs no thief ran it after 0.1-2 s (issue #9's
 * review), against under 10 ms now. */
static void a_job_queued_behind_helping_waiters_runs_in_an_oversubscribed_pool(void **state) {
  (void)state;
  uint32_t cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN), helpers = cpus + 1;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 4 * cpus}, &pool), MYR_OK);
  for (int round = 0; round < 4; round++) {
    nanosleep(&(struct timespec){0, 50000000}, NULL); /* idle: the workers park */
    atomic_store(&helping_flag, 0);
    myr_counter c = {0};
    for (uint32_t i = 0; i < helpers; i++) assert_int_equal(myr_jobs_spawn(pool, help_until_flag, pool, &c), MYR_OK);
    nanosleep(&(struct timespec){0, 5000000}, NULL); /* the helpers start */
    uint64_t t0 = mono_ns();
    assert_int_equal(myr_jobs_spawn(pool, set_helping_flag, NULL, &c), MYR_OK);
    while (!atomic_load(&helping_flag) && mono_ns() - t0 < 6000000000ull)
      nanosleep(&(struct timespec){0, 200000}, NULL);
    uint64_t took = mono_ns() - t0;
    assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
    fprintf(stderr, "round %d: the job behind %u helping waiters on %u workers ran after %.1f ms\n", round, helpers,
            4 * cpus, (double)took / 1e6);
    assert_true(took < 500000000ull);
  }
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

/* Two chains of jobs: each job spawns the next and, once a job runs on
 * every worker, waits for it; the two ends block, each holding a partner
 * job in its own deque until the partner has run elsewhere. Every other
 * worker is then parked in a wait, so no idle worker is there to watch. */
typedef struct chain_run {
  myr_jobs *pool;
  uint32_t workers;
  atomic_uint started, in_wait, ends_ready;
  atomic_uint_fast64_t worst_ns;
} chain_run;

typedef struct chain_link {
  chain_run *run;
  uint32_t depth, len;
} chain_link;

typedef struct partner_stamp {
  _Atomic uint64_t queued_at; /* 0 once the partner ran */
  chain_run *run;
} partner_stamp;

static void stamped_partner(void *arg) {
  partner_stamp *st = arg;
  uint64_t lag = mono_ns() - atomic_load(&st->queued_at);
  uint_fast64_t worst = atomic_load(&st->run->worst_ns);
  while (lag > worst && !atomic_compare_exchange_weak(&st->run->worst_ns, &worst, lag)) {}
  atomic_store(&st->queued_at, 0);
}

static void chain_link_job(void *arg) {
  chain_link *l = arg;
  chain_run *r = l->run;
  atomic_fetch_add(&r->started, 1);
  myr_counter c = {0};
  if (l->depth == l->len) {
    uint64_t t0 = mono_ns();
    while (atomic_load(&r->in_wait) < r->workers - 2 && mono_ns() - t0 < 2000000000ull)
      nanosleep(&(struct timespec){0, 1000000}, NULL);
    atomic_fetch_add(&r->ends_ready, 1);
    while (atomic_load(&r->ends_ready) < 2 && mono_ns() - t0 < 4000000000ull)
      nanosleep(&(struct timespec){0, 100000}, NULL);
    nanosleep(&(struct timespec){0, 150000000}, NULL); /* the waiters' park deadlines grow */
    partner_stamp st = {mono_ns(), r};
    assert_int_equal(myr_jobs_spawn(r->pool, stamped_partner, &st, &c), MYR_OK);
    uint64_t t1 = mono_ns();
    while (atomic_load(&st.queued_at) != 0 && mono_ns() - t1 < 1000000000ull)
      nanosleep(&(struct timespec){0, 200000}, NULL);
    assert_int_equal(myr_jobs_wait(r->pool, &c), MYR_OK);
    return;
  }
  chain_link next = {r, l->depth + 1, l->len};
  assert_int_equal(myr_jobs_spawn(r->pool, chain_link_job, &next, &c), MYR_OK);
  uint64_t t0 = mono_ns();
  while (atomic_load(&r->started) < r->workers && mono_ns() - t0 < 1000000000ull) sched_yield();
  atomic_fetch_add(&r->in_wait, 1);
  assert_int_equal(myr_jobs_wait(r->pool, &c), MYR_OK);
}

/* Where every sleeper is a waiter, a job queued behind blocked workers
 * still runs at once: a pool that left it to the waiters' park deadlines
 * ran it after 73-77 ms (issue #9's review). */
static void a_job_queued_while_only_waiters_sleep_runs_in_an_oversubscribed_pool(void **state) {
  (void)state;
  uint32_t cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN), workers = 4 * cpus;
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  for (int round = 0; round < 3; round++) {
    nanosleep(&(struct timespec){0, 50000000}, NULL);
    chain_run r = {.pool = pool, .workers = workers};
    chain_link a = {&r, 1, workers / 2}, b = {&r, 1, workers - workers / 2};
    myr_counter c = {0};
    assert_int_equal(myr_jobs_spawn(pool, chain_link_job, &a, &c), MYR_OK);
    assert_int_equal(myr_jobs_spawn(pool, chain_link_job, &b, &c), MYR_OK);
    assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
    uint64_t worst = atomic_load(&r.worst_ns);
    fprintf(stderr, "round %d: %u of %u workers in waits; a partner ran after %.1f ms at worst\n", round,
            atomic_load(&r.in_wait), workers, (double)worst / 1e6);
    assert_true(worst < 40000000ull);
  }
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

/* Jobs that spin (yielding) until all of them have started, while another
 * job keeps finishing short ones: more spinners than CPUs each get little
 * CPU and are runnable, like workers waiting for a CPU, but they must
 * still count as stuck. A pool that took them for that stalled until the
 * spinners gave up (then after 5 s) in 4 of 10 runs (issue #9's second
 * review). The pool that notices them takes 2-40 ms in most rounds, but
 * on a busy 2-CPU host some rounds took 0.3-4 s (x86-64 and qemu), so a
 * spinner's patience is 20 s and the test fails if one runs out of it. */
#define SPIN_PATIENCE_NS 20000000000ull
static atomic_int spin_arrived, spin_done, spin_gave_up;
static int spin_jobs;

static void spin_for_the_others(void *arg) {
  (void)arg;
  atomic_fetch_add(&spin_arrived, 1);
  uint64_t t0 = mono_ns();
  while (atomic_load(&spin_arrived) < spin_jobs)
    if (mono_ns() - t0 < SPIN_PATIENCE_NS) {
      sched_yield();
    } else {
      atomic_store(&spin_gave_up, 1);
      break;
    }
  atomic_store(&spin_done, 1);
}

static void short_busy_job(void *arg) {
  (void)arg;
  uint64_t t0 = mono_ns();
  while (mono_ns() - t0 < 20000) {}
}

static void keep_finishing_jobs(void *arg) {
  myr_jobs *pool = arg;
  uint64_t t0 = mono_ns();
  while (!atomic_load(&spin_done) && mono_ns() - t0 < SPIN_PATIENCE_NS + 1000000000ull) {
    myr_counter c = {0};
    for (int i = 0; i < 4; i++) myr_jobs_spawn(pool, short_busy_job, NULL, &c);
    myr_jobs_wait(pool, &c);
  }
}

static void jobs_that_spin_for_each_other_beside_progress_finish_in_an_oversubscribed_pool(void **state) {
  (void)state;
  uint32_t cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN), workers = 8 * cpus;
  spin_jobs = (int)(6 * cpus);
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool), MYR_OK);
  for (int round = 0; round < 6; round++) {
    nanosleep(&(struct timespec){0, 50000000}, NULL);
    atomic_store(&spin_arrived, 0);
    atomic_store(&spin_done, 0);
    atomic_store(&spin_gave_up, 0);
    myr_counter c = {0};
    uint64_t t0 = mono_ns();
    assert_int_equal(myr_jobs_spawn(pool, keep_finishing_jobs, pool, &c), MYR_OK);
    for (int i = 0; i < spin_jobs; i++) assert_int_equal(myr_jobs_spawn(pool, spin_for_the_others, NULL, &c), MYR_OK);
    assert_int_equal(myr_jobs_wait(pool, &c), MYR_OK);
    uint64_t took = mono_ns() - t0;
    fprintf(stderr, "round %d: %d spinning jobs beside a job stream on %u workers took %.1f ms\n", round, spin_jobs,
            workers, (double)took / 1e6);
    assert_int_equal(atomic_load(&spin_arrived), spin_jobs);
    assert_int_equal(atomic_load(&spin_gave_up), 0); /* all of them ran at once */
  }
  assert_int_equal(myr_jobs_destroy(pool), MYR_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(one_worker_runs_everything_on_the_caller),
      cmocka_unit_test(parallel_for_covers_each_index_once),
      cmocka_unit_test(destroy_while_busy_runs_every_queued_job),
      cmocka_unit_test(destroy_from_a_job_or_foreign_thread_is_refused),
      cmocka_unit_test(destroy_runs_what_jobs_spawned_on_other_workers),
      cmocka_unit_test(destroy_inside_loops_and_nested_waits_is_refused),
      cmocka_unit_test(a_counter_waited_on_by_a_worker_that_does_not_own_it),
      cmocka_unit_test(a_second_pool_on_the_same_thread),
      cmocka_unit_test(the_creator_moves_between_its_pools),
      cmocka_unit_test(a_worker_that_makes_a_pool_stays_a_worker),
      cmocka_unit_test(a_wait_on_a_closed_counter_leaves_other_jobs_queued),
      cmocka_unit_test(jobs_run_on_every_worker_with_their_index),
      cmocka_unit_test(parallel_for_handles_ranges_and_grains_near_size_max),
      cmocka_unit_test(idle_pool_parks_and_uses_no_cpu),
      cmocka_unit_test(a_push_wakes_one_sleeper_and_growing_work_wakes_more),
      cmocka_unit_test(a_second_burst_wakes_the_workers_left),
      cmocka_unit_test(a_spawn_wakes_a_parked_worker_at_once),
      cmocka_unit_test(jobs_blocked_on_later_jobs_finish_in_an_oversubscribed_pool),
      cmocka_unit_test(jobs_that_spin_for_each_other_finish_in_an_oversubscribed_pool),
      cmocka_unit_test(jobs_that_spin_for_each_other_beside_progress_finish_in_an_oversubscribed_pool),
      cmocka_unit_test(a_job_queued_behind_helping_waiters_runs_in_an_oversubscribed_pool),
      cmocka_unit_test(a_job_queued_while_only_waiters_sleep_runs_in_an_oversubscribed_pool),
      cmocka_unit_test(ten_million_nested_jobs_each_run_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
