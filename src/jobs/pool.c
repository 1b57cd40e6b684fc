/* The job system: the pool, spawning, waiting and parallel_for. Finding
 * work, parking and waking are in idle.c. */
#define _DEFAULT_SOURCE /* sysconf() under strict C11 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "jobs_pool.h"

_Thread_local worker *jobs_tls_worker __attribute__((tls_model("initial-exec")));

#ifdef MYR_TEST_HOOKS
/* Tests only: a delay injected at the racy points named in jobs_iface.h. */
void (*_Atomic jobs_test_hook)(int point);
#endif

uint64_t myr_counter_pending(const myr_counter *c) { return c ? counter_sum(c) >> 16 : 0; }

/* ---- the pool ------------------------------------------------------------ */

/* One byte per thread whose address names the thread: the creator's is
 * kept in its pools, and comparing addresses is a %fs-relative lea and a
 * compare, where pthread_self() is a call into libc. (Like a pthread_t, the
 * address may be a later thread's once the creator has exited; a pool must
 * not outlive its creator, who alone may destroy it.) */
static _Thread_local char jobs_tls_self __attribute__((tls_model("initial-exec")));

/* The worker the calling thread is for pool p: its own, set when the thread
 * started, or the creator's slot; NULL for a foreign thread. A thread whose
 * thread-local worker is empty or a creator's slot (index 0: only a pool's
 * creator ever holds one) takes the slot of the pool it calls into, so
 * that its spawns and waits into that pool take the fast paths from then
 * on (each went through the slow path before: fib(30) on a second pool ran
 * 40% slower); calling into another of its pools moves it again. A started
 * worker that creates a pool of its own keeps its worker: it stays a
 * worker of the pool that started it. */
static inline worker *current(const myr_jobs *p) {
  worker *w = jobs_tls_worker;
  if (__builtin_expect(w && w->pool == p, 1)) return w;
  if (&jobs_tls_self != p->creator_self) return NULL;
  if (!w || w->index == 0) jobs_tls_worker = &p->workers[0];
  return &p->workers[0];
}

static inline size_t align_up64(size_t n) { return (n + 63) & ~(size_t)63; }

static void pool_free(myr_jobs *p, uint32_t started) {
  at_store32_rel(&p->stop, 1);
  /* every started worker: the locked add on its wake word orders the stop
   * before its next check, and ends a sleep in progress */
  for (uint32_t i = 1; i < started; i++) jobs_wake_worker(&p->workers[i]);
  for (uint32_t i = 1; i < started; i++) pthread_join(p->workers[i].thread, NULL);
  for (uint32_t i = 0; p->workers && i < p->count; i++)
    if (p->workers[i].dq.ring) deque_destroy(&p->workers[i].dq);
  /* (its creator's other pools find their slot again through current()) */
  if (p->workers && jobs_tls_worker == &p->workers[0]) jobs_tls_worker = NULL;
  free(p->watch);
  free(p->watch_seen);
  free(p->parked);
  free(p->workers);
  free(p);
}

myr_status myr_jobs_create(const myr_jobs_desc *desc, myr_jobs **out) {
  if (!out) return MYR_EINVAL;
  *out = NULL;
  myr_jobs_desc d = desc ? *desc : (myr_jobs_desc){0};
  if (d.workers == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    d.workers = n > 0 ? (uint32_t)(n > MAX_WORKERS ? MAX_WORKERS : n) : 1;
  }
  if (d.workers > MAX_WORKERS) return MYR_EINVAL;
  myr_jobs *p = aligned_alloc(64, (sizeof *p + 63) & ~(size_t)63);
  if (!p) return MYR_ENOMEM;
  memset(p, 0, sizeof *p);
  p->count = d.workers;
  p->spin_ns = (uint64_t)(d.spin_us ? d.spin_us : 50) * 1000u;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  p->oversubscribed = cpus > 0 && p->count > (uint32_t)cpus;
  /* Half the CPUs may spin. On 2 or 3 CPUs that would be one, and a thread
   * waiting at the end of a stage takes it, so the worker that finished
   * its chunk first would park at once and every frame pay a futex wake:
   * there, all may spin. A pool larger than the machine keeps no more
   * workers awake than CPUs (awake_limit, idle.c), so the same holds. */
  p->spin_limit = cpus >= 4 ? (uint32_t)(cpus / 2) : cpus > 1 ? (uint32_t)cpus : 1;
  p->awake_limit = p->oversubscribed ? (uint32_t)cpus : p->count;
  p->watch_ns = WATCH_NS;
  p->creator_self = &jobs_tls_self;
  p->membarrier = jobs_membarrier_ready();
  p->workers = aligned_alloc(64, sizeof(worker) * p->count);
  p->watch = calloc(p->count, sizeof *p->watch);
  p->watch_seen = calloc(p->count, sizeof *p->watch_seen);
  p->parked_words = (p->count + 63) / 64;
  /* its own cache lines: parkers and wakers write it, nobody else */
  p->parked = aligned_alloc(64, align_up64(p->parked_words * sizeof(uint64_t)));
  if (p->parked) memset(p->parked, 0, align_up64(p->parked_words * sizeof(uint64_t)));
  if (!p->workers || !p->watch || !p->watch_seen || !p->parked) {
    free(p->workers);
    p->workers = NULL;
    pool_free(p, 0);
    return MYR_ENOMEM;
  }
  memset(p->workers, 0, sizeof(worker) * p->count);
  for (uint32_t i = 0; i < p->count; i++) {
    worker *w = &p->workers[i];
    w->pool = p;
    w->pool_running = (uintptr_t)p;
    w->index = i;
    w->tag = i + 1;
    w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
    w->park_ns = PARK_MIN_NS;
    if (deque_init(&w->dq, d.deque_capacity ? d.deque_capacity : 1024) != MYR_OK) {
      pool_free(p, 0);
      return MYR_ENOMEM;
    }
  }
  if (!jobs_tls_worker) jobs_tls_worker = &p->workers[0];
  jobs_note_cpu_clock(&p->workers[0]);
  for (uint32_t i = 1; i < p->count; i++) {
    if (pthread_create(&p->workers[i].thread, NULL, jobs_worker_main, &p->workers[i]) != 0) {
      pool_free(p, i);
      return MYR_ETHREAD;
    }
  }
  *out = p;
  return MYR_OK;
}

/* Every job not yet run is queued in a deque or held by the worker running
 * it, and only a deque's owner pushes to it. So the creator runs what it
 * can find, then stops the pool; each started worker finishes its job in
 * hand and empties its own deque before it exits (jobs_worker_main), and once
 * all are joined nothing is left. */
myr_status myr_jobs_destroy(myr_jobs *p) {
  if (!p) return MYR_OK;
  worker *w = current(p);
  if (w != &p->workers[0] || is_running(w)) return MYR_EBUSY;
  set_running(w, 1); /* a job that calls destroy now is refused */
  uint64_t j[DEQUE_WORDS];
  while (jobs_find_job(w, j)) run_job(w, j);
  pool_free(p, p->count);
  return MYR_OK;
}

/* Pushes an internal job, written straight into its deque slot, counted
 * in counter. */
static myr_status push_internal(worker *w, job_fn fn, uint64_t a, uint64_t b, uint64_t c, myr_counter *counter) {
  int64_t index;
  uint64_t *slot = deque_push_slot(&w->dq, &index);
  if (!slot) return MYR_ENOMEM;
  counter_spawned(w, counter);
  at_store_rlx(&slot[0], fn_word(fn));
  at_store_rlx(&slot[1], a);
  at_store_rlx(&slot[2], b | INTERNAL_JOB);
  at_store_rlx(&slot[3], c);
  deque_push_publish(&w->dq, index);
  jobs_wake_for_push(w);
  return MYR_OK;
}

/* Writes a user job into `slot`, that of job `index`, and publishes it.
 * counter_word: the counter's address, as counter_spawned returns it. */
static inline void publish_user_job(worker *w, uint64_t *slot, int64_t index, myr_job_fn fn, void *arg,
                                    uint64_t counter_word) {
  _Static_assert(sizeof fn == sizeof(uint64_t), "a function pointer fits a word");
  uint64_t fn_bits;
  memcpy(&fn_bits, &fn, sizeof fn_bits);
  at_store_rlx(&slot[0], fn_bits);
  at_store_rlx(&slot[1], (uint64_t)(uintptr_t)arg);
  at_store_rlx(&slot[2], counter_word);
  deque_push_publish(&w->dq, index);
}

/* Every spawn the fast path below does not take: argument errors, a
 * thread found by pthread_self, a ring to grow, a counter of another
 * worker, sleepers to wake. */
__attribute__((noinline)) static myr_status spawn_slow(myr_jobs *p, myr_job_fn fn, void *arg, myr_counter *counter) {
  if (!p || !fn || !counter) return MYR_EINVAL;
  worker *w = current(p);
  if (!w) return MYR_EBUSY;
  int64_t index;
  uint64_t *slot = deque_push_slot(&w->dq, &index);
  if (!slot) return MYR_ENOMEM;
  publish_user_job(w, slot, index, fn, arg, counter_spawned(w, counter));
  jobs_wake_for_push(w);
  return MYR_OK;
}

/* The fast path, for a job spawned by a worker of this pool into its own
 * deque while the deque has room and no parking worker holds its pushes,
 * counted in a counter this worker owns (or nobody owns yet, which makes it
 * the owner): the owner is the counter's only writer of `spawned`, so the
 * count is a plain store; the slot's words follow, and bottom's release
 * store publishes them to thieves (deque.h). Every other case goes to
 * spawn_slow. */
myr_status myr_jobs_spawn(myr_jobs *p, myr_job_fn fn, void *arg, myr_counter *counter) {
  worker *w = jobs_tls_worker;
  if (__builtin_expect(!w || w->pool != p || !fn || !counter, 0)) return spawn_slow(p, fn, arg, counter);
  int64_t b = (int64_t)at_load_rlx(&w->dq.bottom);
  int64_t mask = (int64_t)at_load_rlx(&w->dq.push_mask);
  uint64_t spawned = at_load_rlx(&counter->spawned);
  /* a full-looking ring, held pushes, or a counter another worker owns */
  if (__builtin_expect(b - w->dq.top_seen > mask || !counter_is_mine(w, spawned), 0))
    return spawn_slow(w->pool, fn, arg, counter);
  at_store_rlx(&counter->spawned, (spawned | w->tag) + OWNED_ONE);
  publish_user_job(w, w->dq.slots + (size_t)(b & mask) * DEQUE_WORDS, b, fn, arg, (uint64_t)(uintptr_t)counter);
  return MYR_OK;
}

/* Runs jobs until the counter, open on entry, reads zero: the worker's own
 * jobs straight from its deque, and the full loop (stealing, spinning,
 * parking) only once the deque runs dry. */
__attribute__((noinline)) static void wait_rest(worker *w, myr_counter *counter) {
  jobs_work_until(w, &(waiting){counter, NULL, NULL});
}

/* Runs a job of a wait, other than in the plain case below: a job of another
 * counter, or of this one spawned by another worker (REMOTE_SPAWN). */
__attribute__((noinline)) static bool wait_run_other(worker *w, const myr_counter *counter, const uint64_t *slot) {
  uint64_t j[DEQUE_WORDS];
  for (int k = 0; k < DEQUE_WORDS; k++) j[k] = at_load_rlx(&slot[k]);
  /* A wait takes first and reads its counter only here: a job counted in
   * it means it is open. This one is not, and if the counter closed
   * already, running the job would only delay the return: the job goes
   * back where it was (its slot is free again, so the push cannot fail). */
  if (counter_sum(counter) == 0 && deque_push(&w->dq, j) == MYR_OK) {
    jobs_wake_for_push(w);
    return false;
  }
  uintptr_t r = run_job(w, j);
  /* closed by this worker as its owner: known; otherwise read it */
  if (r == ((uintptr_t)counter | 1)) return false;
  return counter_sum(counter) != 0;
}

/* A wait on an open counter. Protocol: take from the own deque first and
 * read the counter only when that tells nothing. A job whose third word is
 * the counter itself is counted in it (so the counter is open) and was
 * spawned by its owner into the owner's deque, so this worker is the owner:
 * it runs the job and counts it out with the owner's plain stores, which
 * say exactly whether the counter closed (and wake any other worker parked
 * on it). Any other job goes through wait_run_other, which reads the
 * counter; an empty deque leads to the full loop (wait_rest). */
static inline void wait_open(worker *w, myr_counter *counter) {
  for (;;) {
    /* (An empty asm: keeps gcc from holding addresses derived from w and
     * counter across the job's call, which cost two saved registers.) */
    __asm__("" : "+r"(w), "+r"(counter));
    int64_t index;
    if (!deque_take_index(&w->dq, &index)) {
      wait_rest(w, counter);
      return;
    }
    const uint64_t *slot = deque_slot(&w->dq, index);
    if (__builtin_expect(at_load_rlx(&slot[2]) == (uint64_t)(uintptr_t)counter, 1)) {
      /* The common case: a user job counted in the counter waited on (so
       * the counter was open: a wait takes before it reads the counter),
       * spawned by this worker as the counter's owner (no REMOTE_SPAWN).
       * Counting it out says exactly whether it closed the counter, and
       * wakes any other worker parked on it. */
      myr_job_fn fn;
      uint64_t fn_bits = at_load_rlx(&slot[0]);
      memcpy(&fn, &fn_bits, sizeof fn);
      fn((void *)(uintptr_t)at_load_rlx(&slot[1]));
      stat_add(&w->jobs, 1);
      if (counter_finished_owned(w, counter)) return;
      continue;
    }
    if (!wait_run_other(w, counter, slot)) return;
  }
}

/* Every wait the fast path below does not take: argument errors, a thread
 * found by pthread_self, and a wait not inside a job of this worker, which
 * marks the worker as running jobs meanwhile (see pool_running). */
__attribute__((noinline)) static myr_status wait_slow(myr_jobs *p, myr_counter *counter) {
  if (!p || !counter) return MYR_EINVAL;
  worker *w = current(p);
  if (!w) return MYR_EBUSY;
  if (counter_sum(counter) == 0) return MYR_OK;
  uint32_t was = is_running(w);
  set_running(w, 1);
  wait_open(w, counter);
  set_running(w, was);
  return MYR_OK;
}

/* The fast path: a wait nested in a job of this pool's worker goes straight
 * to the deque; the counter is read only when the job taken is not its own
 * (wait_run_other), or when the deque runs dry (work_until). */
myr_status myr_jobs_wait(myr_jobs *p, myr_counter *counter) {
  worker *w = jobs_tls_worker;
  if (__builtin_expect(!w || w->pool_running != ((uintptr_t)p | 1) || !counter, 0)) return wait_slow(p, counter);
  wait_open(w, counter);
  return MYR_OK;
}

/* ---- parallel_for -------------------------------------------------------- */

typedef struct pfor {
  myr_range_fn fn;
  void *ctx;
  size_t grain;
  myr_counter counter;
} pfor;

/* Runs [begin, end), a range whose begin is a whole number of grains from
 * the loop's start, so pieces are the same however the range was split. */
static myr_counter *pfor_run(worker *w, uint64_t begin, uint64_t pf_bits, uint64_t end) {
  pfor *pf = (pfor *)(uintptr_t)pf_bits;
  size_t b = (size_t)begin, e = (size_t)end, g = pf->grain;
  while (e - b > g) {
    if (deque_looks_empty(&w->dq)) {
      /* nothing offered to thieves: offer the upper half (the piece count
       * without adding g - 1 first, which could overflow near SIZE_MAX) */
      size_t pieces = (e - b) / g + ((e - b) % g != 0);
      size_t mid = b + pieces / 2 * g;
      if (push_internal(w, pfor_run, (uint64_t)mid, pf_bits, (uint64_t)e, &pf->counter) == MYR_OK) {
        e = mid;
        continue;
      }
    }
    pf->fn(pf->ctx, b, b + g);
    b += g;
  }
  pf->fn(pf->ctx, b, e);
  return &pf->counter;
}

myr_status myr_jobs_parallel_for(myr_jobs *p, size_t begin, size_t end, size_t grain, myr_range_fn fn, void *ctx) {
  if (!p || !fn || end < begin) return MYR_EINVAL;
  worker *w = current(p);
  if (!w) return MYR_EBUSY;
  if (begin == end) return MYR_OK;
  pfor pf = {fn, ctx, grain ? grain : 1, {0}};
  uint32_t was = is_running(w);
  set_running(w, 1);
  pfor_run(w, begin, (uint64_t)(uintptr_t)&pf, end);
  jobs_work_until(w, &(waiting){&pf.counter, NULL, NULL});
  set_running(w, was);
  return MYR_OK;
}

/* ---- introspection ------------------------------------------------------- */

uint32_t myr_jobs_worker_count(const myr_jobs *p) { return p ? p->count : 0; }

int myr_jobs_worker_index(const myr_jobs *p) {
  if (!p) return -1;
  worker *w = current(p);
  return w ? (int)w->index : -1;
}

myr_status myr_jobs_stats(const myr_jobs *p, uint32_t i, myr_jobs_worker_stats *out) {
  if (!p || !out || i >= p->count) return MYR_EINVAL;
  const worker *w = &p->workers[i];
  out->jobs = at_load_rlx(&w->jobs);
  out->steals = at_load_rlx(&w->steals);
  out->failed_steals = at_load_rlx(&w->failed_steals);
  out->parked_ns = at_load_rlx(&w->parked_ns);
  out->parks = at_load_rlx(&w->parks);
  out->woken = at_load_rlx(&w->woken);
  return MYR_OK;
}

/* ---- for the schedule (jobs_iface.h) -------------------------------------- */

bool jobs_wait_until(myr_jobs *p, bool (*pred)(void *ctx), void *ctx) {
  worker *w = current(p);
  if (!w) return false;
  uint32_t was = is_running(w);
  set_running(w, 1);
  jobs_work_until(w, &(waiting){NULL, pred, ctx});
  set_running(w, was);
  return true;
}

bool jobs_run_here(myr_jobs *p, void (*fn)(void *ctx), void *ctx) {
  worker *w = current(p);
  if (!w) return false;
  uint32_t was = is_running(w);
  set_running(w, 1);
  fn(ctx);
  set_running(w, was);
  return true;
}

void jobs_wake(myr_jobs *p, const void *ctx) { wake_watchers(p, ctx); }

void jobs_counter_claim(myr_jobs *p, myr_counter *c) {
  worker *w = current(p);
  if (w && at_load_rlx(&c->spawned) == 0) at_store_rlx(&c->spawned, w->tag);
}

int jobs_depth(const myr_jobs *p) {
  worker *w = current(p);
  return w ? (int)is_running(w) : -1;
}
