/* The work-stealing pool: workers, spawning, waiting, parking, parallel_for. */
#define _DEFAULT_SOURCE /* syscall(), sysconf() under strict C11 */
#include <ck_backoff.h>
#include <errno.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "deque.h"
#include "jobs_impl.h"
#include "myriad/jobs.h"

#define MAX_WORKERS 1024
#define PARK_MIN_NS 1000000ull    /* first park deadline: 1 ms */
#define PARK_MAX_NS 100000000ull  /* longest park deadline: 100 ms */
#define SPIN_CEILING (1u << 12)   /* backoff iterations per idle spin, at most */

typedef struct worker worker;

/* A job as the deque stores it: DEQUE_WORDS words. A user job is {its
 * myr_job_fn, its argument, its counter | REMOTE_SPAWN if the spawning
 * worker did not own the counter, unused}: three stores to spawn, and the
 * function is called directly. An internal job (a parallel_for piece) is
 * {a job_fn, a, b | INTERNAL_JOB, c}; the function returns the counter to
 * count the job out of, which it finds in its loop's record. The low bits
 * of the third word tell them apart: a counter is word-aligned, so its
 * address never has them set. */
typedef myr_counter *(*job_fn)(worker *w, uint64_t a, uint64_t b, uint64_t c);
_Static_assert(DEQUE_WORDS == 4, "a job is a function and three arguments");
#define INTERNAL_JOB UINT64_C(1)
#define REMOTE_SPAWN UINT64_C(2)
_Static_assert(_Alignof(myr_counter) >= 4, "a counter's address has its two low bits clear");

struct worker {
  deque dq;
  /* What every job touches, on one line. */
  alignas(64) myr_jobs *pool;
  uint64_t jobs;        /* stat: written by the owner (relaxed), read by anyone */
  uint64_t tag;         /* index + 1: marks the counters this worker owns */
  /* The pool's address plus 1 while inside a call that runs jobs (a wait,
   * a parallel_for, destroy, the loop of a started worker): user code that
   * runs on this worker now runs inside a job, where destroy and the
   * schedule's run are refused. Kept as a flag set by the outermost such
   * call, not a depth counted per job, so that nested waits, the common
   * case, store nothing for it; kept beside the pool's address so that a
   * wait checks both with one compare. */
  uintptr_t pool_running;
  uint32_t index;
  /* Parked workers that wait for a counter this worker owns (locked RMWs
   * by them): its completions of owned jobs look here, on a line they
   * touch anyway, to know whether to wake anyone (see park()). */
  uint32_t watched;
  /* The other stats, written like jobs, and the idle loop's state. */
  alignas(64) uint64_t steals;
  uint64_t failed_steals, parked_ns, parks, woken;
  uint64_t rng;
  uint64_t park_ns;     /* next park deadline, grows while idle */
  pthread_t thread;
  /* Parking, written by wakers too: the worker sleeps on its own futex
   * word, so that a wake-up reaches exactly the worker it is meant for. */
  alignas(64) uint32_t wake_word; /* a waker adds one, then wakes the futex */
};

struct myr_jobs {
  worker *workers;
  uint32_t count;
  uint64_t spin_ns;
  pthread_t creator;
  worker *creator_prev_tls;
  bool membarrier;      /* the process may issue expedited membarriers */
  uintptr_t *watch;     /* per worker, while parked: what it waits for, 0 = work only */
  uint64_t *parked;     /* bit i: worker i parked and not yet claimed by a waker (own lines) */
  uint32_t parked_words;
  uint32_t spin_limit;  /* idle workers that may spin at once: half the CPUs, at least 1 */
  alignas(64) uint32_t sleepers; /* workers parked or about to park */
  alignas(64) uint32_t spinning; /* idle workers looking for work before they park */
  alignas(64) uint32_t watchers; /* of those, workers with a nonzero watch entry */
  alignas(64) uint32_t stop;
};

_Static_assert(_Alignof(myr_jobs) >= 2, "a pool's address has its low bit clear: pool_running");
static inline uint32_t is_running(const worker *w) { return (uint32_t)(w->pool_running & 1); }
static inline void set_running(worker *w, uint32_t on) { w->pool_running = (uintptr_t)w->pool | on; }

/* initial-exec: a plain %fs-relative load instead of a call to
 * __tls_get_addr on every spawn (the library is built position independent) */
static _Thread_local worker *tls_worker __attribute__((tls_model("initial-exec")));

#ifdef MYR_TEST_HOOKS
/* Tests only: a delay injected at the racy points named in jobs_impl.h. */
void (*_Atomic jobs_test_hook)(int point);
#define TEST_HOOK(point)                                    \
  do {                                                      \
    void (*hook_)(int) = jobs_test_hook; /* seq_cst load */ \
    if (hook_) hook_(point);                                \
  } while (0)
#else
#define TEST_HOOK(point) do { } while (0)
#endif

/* ---- time and parking primitives ----------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleeps while *addr == expected, for ns at most (a wake, a signal or a
 * changed word ends it early). */
static void futex_wait(uint32_t *addr, uint32_t expected, uint64_t ns) {
  struct timespec rel = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, expected, &rel, NULL, 0);
}

/* Wakes worker v if it sleeps, or makes its next sleep return at once:
 * the locked add changes the word its futex wait compares. */
static void wake_worker(worker *v) {
  at_faa32(&v->wake_word, 1);
  syscall(SYS_futex, &v->wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* Wakes one parked worker, if any: the first that a scan from a random
 * start can claim (the claim is a CAS, so two wakers never pick one
 * sleeper). The claim counts the worker as spinning at once, so that pushes
 * meanwhile wake nobody else; the woken worker finds its bit gone and
 * knows it spins (see park()). Work for one more worker wakes one more: a
 * spinner that finds work wakes the next (see spin_found). */
__attribute__((noinline)) static void wake_one(myr_jobs *p, worker *self) {
  uint64_t r = xorshift(&self->rng);
  for (uint32_t k = 0; k < p->parked_words; k++) {
    uint32_t i = (uint32_t)((r + k) % p->parked_words);
    uint64_t bits = at_load_rlx(&p->parked[i]);
    while (bits) {
      /* from a random bit on, so that wakers spread over the sleepers */
      unsigned shift = (unsigned)(r >> 32) & 63;
      uint64_t turned = shift ? (bits >> shift) | (bits << (64 - shift)) : bits;
      unsigned b = ((unsigned)__builtin_ctzll(turned) + shift) & 63;
      if (at_cas_sc(&p->parked[i], bits, bits & ~(UINT64_C(1) << b))) {
        at_faa32(&p->spinning, 1);
        wake_worker(&p->workers[i * 64 + b]);
        return;
      }
      bits = at_load_rlx(&p->parked[i]);
    }
  }
}

/* Wakes every parked worker that waits for `what` (a counter's or a
 * predicate context's address). The caller changed `what` with a locked
 * RMW before (or, for a counter's owner, see park()): a waiter counts
 * itself in watchers with a locked RMW before it reads `what`, so one of
 * the two sees the other. Only addresses are compared: `what` may be gone
 * already (a waiter that saw its counter close may have freed it). */
__attribute__((noinline)) static void wake_watchers_of(myr_jobs *p, uintptr_t what) {
  for (uint32_t i = 0; i < p->count; i++)
    if (at_load_rlx((const uint64_t *)&p->watch[i]) == what) wake_worker(&p->workers[i]);
}

__attribute__((noinline)) static bool wake_watchers_then(myr_jobs *p, uintptr_t what, bool result) {
  wake_watchers_of(p, what);
  return result;
}

static inline void wake_watchers(myr_jobs *p, const void *what) {
  if (__builtin_expect(at_load32_rlx(&p->watchers) != 0, 0)) wake_watchers_of(p, (uintptr_t)what);
}

/* After a push other than on spawn's fast path: wakes one parked worker if
 * any sleeps and none is spinning. A parking worker holds every deque's
 * pushes (see park()), so that spawn's fast path need not look at sleepers
 * or spinners; the holds are released here once none sleeps, or once some
 * worker spins: a spinner steals what is pushed, and a spinner that finds
 * work with more queued wakes the next (spin_found), so wake-ups follow
 * the work without a slow push per job. After the release's locked CAS,
 * a locked read of spinning and the sleepers load show any worker whose
 * hold it took back while none spins, and the hold is then put back.
 * (A spinner that stops to park just as this reads spinning looks at the
 * deques after counting itself in sleepers: it misses this push only in
 * the window described at park().) */
__attribute__((noinline)) static void wake_for_push(worker *w) {
  myr_jobs *p = w->pool;
  if (at_load32_rlx(&p->sleepers) != 0 && at_load32_rlx(&p->spinning) == 0) {
    wake_one(p, w);
    return;
  }
  if (deque_release_pushes(&w->dq) && at_faa32(&p->spinning, 0) == 0 && at_load32_rlx(&p->sleepers) != 0) {
    deque_hold_pushes(&w->dq);
    wake_one(p, w);
  }
}

static inline void stat_add(uint64_t *field, uint64_t d) {
  at_store_rlx(field, at_load_rlx(field) + d); /* owner-only writer */
}

/* ---- running jobs -------------------------------------------------------- */

static inline uint64_t fn_word(job_fn fn) {
  uint64_t w;
  memcpy(&w, &fn, sizeof w);
  return w;
}

static inline job_fn word_fn(uint64_t w) {
  job_fn fn;
  memcpy(&fn, &w, sizeof fn);
  return fn;
}

/* ---- counters -------------------------------------------------------------
 * Three words, each a count scaled by OWNED_ONE so that carries and borrows
 * fall off the top, never into the tag: the owner's spawns (`spawned`, with
 * the owner's tag in the low bits) and its completions (`done`), both only
 * ever growing and written by the owner alone with plain stores; and
 * `remote`, the other workers' spawns minus their completions, changed with
 * locked RMWs. Outstanding = spawned - done + remote, modulo 2^48.
 *
 * Why a reader that is not the owner gets an exact answer: it reads done,
 * then remote, then spawned, each with acquire. A job's spawn is counted
 * before the job is published and its completion after it ran, so the
 * spawn happens-before the completion. Every completion the reader saw
 * (in done or in remote) is followed, in its reading order, by the word
 * holding that job's spawn: done before spawned, remote before spawned,
 * and a remote spawn and completion are both in `remote`, where the value
 * read includes every RMW before the one it reads. So the reader sees the
 * spawn of every completion it sees, the difference it computes is never
 * below the true number of unfinished jobs among the spawns it saw, and
 * zero means each of those finished. (With one owner word holding spawns
 * minus completions, an owner spawn and a remote completion between two
 * loads could sum to zero with a job unfinished.) */

#define OWNED_ONE (UINT64_C(1) << 16)
#define OWNED_TAG (OWNED_ONE - 1)
_Static_assert(MAX_WORKERS < OWNED_TAG, "a worker's tag fits below the count");

static inline uint64_t counter_open(uint64_t spawned, uint64_t done, uint64_t remote) {
  return (spawned & ~OWNED_TAG) - done + (remote << 16);
}

/* Any worker: zero when every job whose spawn the caller can see finished.
 * acquire: those jobs' writes are visible to the caller. */
static inline uint64_t counter_sum(const myr_counter *c) {
  uint64_t done = at_load_acq(&c->done);
  TEST_HOOK(JOBS_HOOK_SUM);
  uint64_t remote = at_load_acq(&c->remote);
  TEST_HOOK(JOBS_HOOK_SUM);
  return counter_open(at_load_acq(&c->spawned), done, remote);
}

uint64_t myr_counter_pending(const myr_counter *c) { return c ? counter_sum(c) >> 16 : 0; }

static inline bool counter_owned_by(const worker *w, uint64_t spawned) { return (spawned & OWNED_TAG) == w->tag; }

/* Whether w may count in `spawned` (it owns it, or nobody does yet). */
static inline bool counter_is_mine(const worker *w, uint64_t spawned) {
  return spawned == 0 || counter_owned_by(w, spawned);
}

/* Counts a job in; returns the job's third word: the counter's address,
 * marked with REMOTE_SPAWN when w does not own it. */
static inline uint64_t counter_spawned(worker *w, myr_counter *c) {
  uint64_t spawned = at_load_rlx(&c->spawned);
  /* the first spawn takes ownership: see myr_counter in jobs.h */
  if (counter_is_mine(w, spawned)) {
    at_store_rlx(&c->spawned, (spawned | w->tag) + OWNED_ONE);
    return (uint64_t)(uintptr_t)c;
  }
  at_faa(&c->remote, 1);
  return (uint64_t)(uintptr_t)c | REMOTE_SPAWN;
}

/* Counting one job out by the counter's owner; returns whether that
 * closed it, exactly: the owner's words are its own, and `remote` is read
 * once. It is read before the store of done, as the counter must not be
 * touched after a store that may close it (a waiter that sees zero may
 * return and free it; it is often on the waiter's stack).
 *
 * A waiter that is not the owner may be parked: the owner's store is
 * plain, so the waiter's membarrier orders it (see park()), and the owner
 * wakes it after the store when its `watched` says one is parked. */
static inline bool counter_finished_owned(worker *w, myr_counter *c) {
  uint64_t done = at_load_rlx(&c->done) + OWNED_ONE;
  bool closed = counter_open(at_load_rlx(&c->spawned), done, at_load_acq(&c->remote)) == 0;
  TEST_HOOK(JOBS_HOOK_OWNER_DONE);
  /* release: the job's writes come before the count a waiter reads */
#ifdef MYR_TSAN
  at_store_fence(&c->done, done); /* TSan does not model membarrier: a full fence here */
#else
  at_store_rel(&c->done, done);
#endif
  /* (the slow path hands `closed` back rather than keep it across the call) */
  if (__builtin_expect(at_load32_rlx(&w->watched) != 0, 0)) return wake_watchers_then(w->pool, (uintptr_t)c, closed);
  return closed;
}

/* Counting one job out by any other worker. The locked RMW orders the
 * decrement before the watchers load in wake_watchers, so a parked waiter
 * on this counter is woken; only its address is used after the RMW. */
__attribute__((noinline)) static void counter_finished_remote(myr_jobs *p, myr_counter *c) {
  TEST_HOOK(JOBS_HOOK_REMOTE_DONE);
  at_faa(&c->remote, (uint64_t)-1);
  wake_watchers(p, c);
}

/* Counts a job out; returns true when w owns the counter and that closed it. */
static inline bool counter_finished(worker *w, myr_counter *c) {
  if (__builtin_expect(counter_owned_by(w, at_load_rlx(&c->spawned)), 1)) return counter_finished_owned(w, c);
  counter_finished_remote(w->pool, c);
  return false;
}

/* Runs a job read from a slot (the words are copies: running it may push
 * over the slot) and counts it out. Returns the counter's address, plus 1
 * when this worker owns it and the job closed it. */
static inline uintptr_t run_job(worker *w, const uint64_t *j) {
  myr_counter *c;
  if (__builtin_expect(!(j[2] & INTERNAL_JOB), 1)) {
    myr_job_fn fn;
    memcpy(&fn, &j[0], sizeof fn);
    c = (myr_counter *)(uintptr_t)(j[2] & ~REMOTE_SPAWN);
    fn((void *)(uintptr_t)j[1]);
  } else {
    c = word_fn(j[0])(w, j[1], j[2] & ~INTERNAL_JOB, j[3]);
  }
  stat_add(&w->jobs, 1);
  return (uintptr_t)c | counter_finished(w, c);
}

/* One round over the other workers from a random start. */
static bool steal_round(worker *w, uint64_t *out) {
  myr_jobs *p = w->pool;
  if (p->count < 2) return false;
  uint32_t start = (uint32_t)(xorshift(&w->rng) % p->count);
  for (uint32_t k = 0; k < p->count; k++) {
    worker *v = &p->workers[(start + k) % p->count];
    if (v == w) continue;
    if (deque_steal(&v->dq, out) == DEQUE_OK) {
      stat_add(&w->steals, 1);
      return true;
    }
    stat_add(&w->failed_steals, 1);
  }
  return false;
}

static inline bool find_job(worker *w, uint64_t *out) {
  return deque_take(&w->dq, out) || steal_round(w, out);
}

static bool any_queued(const myr_jobs *p) {
  for (uint32_t i = 0; i < p->count; i++)
    if (!deque_looks_empty(&p->workers[i].dq)) return true;
  return false;
}

/* What a worker waits for: a counter at zero, a predicate, or (neither) the
 * pool stopping. */
typedef struct waiting {
  const myr_counter *counter;
  bool (*pred)(void *ctx);
  void *ctx;
} waiting;

static inline bool is_done(const myr_jobs *p, const waiting *until) {
  if (until->counter) return counter_sum(until->counter) == 0;
  if (until->pred) return until->pred(until->ctx);
  return at_load32_acq(&p->stop) != 0;
}

/* The address a parked waiter is woken for: its counter, or its
 * predicate's context (whoever makes the predicate true calls jobs_wake
 * with it); 0 for a worker that waits for work only. */
static inline uintptr_t watch_of(const waiting *pending) {
  return pending->counter ? (uintptr_t)pending->counter : (uintptr_t)pending->ctx;
}

/* Parks until woken or the deadline passes.
 *
 * Protocol: the worker reads its wake word, marks itself parked, publishes
 * what it waits for, counts itself in watchers (if it waits for something)
 * and in sleepers (locked RMWs, so full fences), holds every deque's pushes
 * (see wake_for_push), looks once more for work and for `done`, and only
 * then sleeps on its wake word. Any wake-up after the first read makes the
 * sleep return at once.
 *
 * No completion that closes its counter is missed. A completion by a
 * worker that does not own the counter is a locked RMW followed by a
 * watchers load: of it and the waiter's RMW on watchers, the later sees the
 * earlier. The owner counts out with a plain store and then loads
 * watchers; when the waiter is not the owner it issues an expedited
 * membarrier after its RMW, which makes the owner run a full fence: an
 * owner store before that fence is seen by the waiter's check, and an
 * owner store after it is followed by a load that sees watchers. Where
 * the kernel refuses membarrier, such a waiter parks for PARK_MIN_NS at most.
 *
 * A spawn reads its deque's push_mask after a plain release store of bottom:
 * paying a store-load fence per spawn (16 ns, TOOLCHAIN.md) would double the
 * cost of a job, so a spawn's wake-up can be missed in a window of a few
 * nanoseconds. That costs parallelism, never progress: every queued job is
 * in the deque of a worker that is running (workers park only with an empty
 * deque), and the deadline, growing from 1 ms to 100 ms while idle, bounds
 * the delay. */
static bool park(worker *w, const waiting *pending) {
  myr_jobs *p = w->pool;
  uint32_t seen = at_load32_acq(&w->wake_word);
  uintptr_t what = watch_of(pending);
  /* the owner of a counter owned by another worker, which its completions
   * tell through its `watched` */
  uint64_t tag = pending->counter ? at_load_rlx(&pending->counter->spawned) & OWNED_TAG : 0;
  worker *owner = tag && tag != w->tag ? &p->workers[tag - 1] : NULL;
  uint64_t bit = UINT64_C(1) << (w->index & 63);
  at_or64(&p->parked[w->index / 64], bit);
  if (what) {
    at_store_rlx((uint64_t *)&p->watch[w->index], what);
    at_faa32(&p->watchers, 1);
    if (owner) at_faa32(&owner->watched, 1);
  }
  at_faa32(&p->sleepers, 1);
  for (uint32_t i = 0; i < p->count; i++) deque_hold_pushes(&p->workers[i].dq);
  uint64_t park_ns = w->park_ns;
  if (owner) {
    if (p->membarrier) syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    else park_ns = PARK_MIN_NS;
  }
  TEST_HOOK(JOBS_HOOK_PARK);
  uint64_t t0 = now_ns();
  bool slept = !is_done(p, pending) && !any_queued(p);
  if (slept) futex_wait(&w->wake_word, seen, park_ns);
  /* A waker that claimed us first has woken us or will bump the word, which
   * at worst makes the next park return at once. */
  /* our bit gone: a waker claimed us, and counted us as spinning */
  bool claimed = !(at_and64(&p->parked[w->index / 64], ~bit) & bit);
  if (what) {
    at_store_rlx((uint64_t *)&p->watch[w->index], 0);
    at_faa32(&p->watchers, (uint32_t)-1);
    if (owner) at_faa32(&owner->watched, (uint32_t)-1);
  }
  at_faa32(&p->sleepers, (uint32_t)-1);
  if (slept) {
    stat_add(&w->parked_ns, now_ns() - t0);
    stat_add(&w->parks, 1);
    if (at_load32_rlx(&w->wake_word) != seen) stat_add(&w->woken, 1);
    w->park_ns = w->park_ns < PARK_MAX_NS / 2 ? w->park_ns * 2 : PARK_MAX_NS;
  }
  return claimed;
}

/* An idle worker spins only while fewer than spin_limit do: more spinners
 * than free CPUs would take time from the workers that have work (the pool
 * may have more workers than the machine has CPUs). */
static inline bool spin_begin(myr_jobs *p) {
  if (at_faa32(&p->spinning, 1) < p->spin_limit) return true;
  at_faa32(&p->spinning, (uint32_t)-1);
  return false;
}

/* A spinner that found a job: if it was the last one spinning and more work
 * is queued while workers sleep, it wakes one to look for that work. */
static inline void spin_found(worker *w) {
  myr_jobs *p = w->pool;
  if (at_faa32(&p->spinning, (uint32_t)-1) == 1 && at_load32_rlx(&p->sleepers) != 0 && any_queued(p)) wake_one(p, w);
}

/* The worker loop: run jobs until done, spinning then parking while idle. */
static void work_until(worker *w, const waiting *pending) {
  myr_jobs *p = w->pool;
  uint64_t j[DEQUE_WORDS];
  while (!is_done(p, pending)) {
    if (find_job(w, j)) {
      run_job(w, j);
      continue;
    }
    /* idle: back off exponentially, then park once spin_ns has passed */
    uint64_t idle_since = now_ns(), spin_ns = p->spin_ns;
    ck_backoff_t backoff = CK_BACKOFF_INITIALIZER;
    bool spinner = spin_begin(p);
    for (;;) {
      if (is_done(p, pending)) {
        if (spinner) at_faa32(&p->spinning, (uint32_t)-1);
        return;
      }
      if (find_job(w, j)) {
        w->park_ns = PARK_MIN_NS;
        if (spinner) spin_found(w);
        run_job(w, j);
        break;
      }
      if (!spinner || now_ns() - idle_since > spin_ns) {
        if (spinner) at_faa32(&p->spinning, (uint32_t)-1);
        /* Woken for work, it spins as its waker counted it; else it looks
         * once more, then parks again without spinning, so that a
         * long-idle pool stays quiet. */
        spinner = park(w, pending);
        if (spinner) idle_since = now_ns();
        else spin_ns = 0;
      } else {
        for (int i = 0; i < 8; i++) ck_pr_stall(); /* pause: let the sibling hyperthread run */
        /* ck's ceiling is 2^20 iterations (about a millisecond): cap it far
         * lower so a spin never outlasts spin_ns by much */
        if (backoff > SPIN_CEILING) backoff = SPIN_CEILING;
        ck_backoff_eb(&backoff);
      }
    }
  }
}

/* A started worker: runs jobs until the pool stops, then whatever is left
 * in its deque (and anything it can still steal) before it exits. */
static void *worker_main(void *arg) {
  worker *w = arg;
  tls_worker = w;
  set_running(w, 1);
  work_until(w, &(waiting){NULL, NULL, NULL});
  uint64_t j[DEQUE_WORDS];
  while (find_job(w, j)) run_job(w, j);
  return NULL;
}

/* ---- the pool ------------------------------------------------------------ */

/* The worker the calling thread is for pool p: its own, set when the thread
 * started or first made a pool, or the creator's slot when the creator
 * works for a second pool; NULL for a foreign thread. */
__attribute__((noinline)) static worker *current_slow(const myr_jobs *p) {
  if (pthread_equal(pthread_self(), p->creator)) return &p->workers[0];
  return NULL;
}

static inline worker *current(const myr_jobs *p) {
  worker *w = tls_worker;
  if (__builtin_expect(w && w->pool == p, 1)) return w;
  return current_slow(p);
}

static inline size_t align_up64(size_t n) { return (n + 63) & ~(size_t)63; }

static void pool_free(myr_jobs *p, uint32_t started) {
  at_store32_rel(&p->stop, 1);
  /* every started worker: the locked add on its wake word orders the stop
   * before its next check, and ends a sleep in progress */
  for (uint32_t i = 1; i < started; i++) wake_worker(&p->workers[i]);
  for (uint32_t i = 1; i < started; i++) pthread_join(p->workers[i].thread, NULL);
  for (uint32_t i = 0; p->workers && i < p->count; i++)
    if (p->workers[i].dq.ring) deque_destroy(&p->workers[i].dq);
  if (p->workers && tls_worker == &p->workers[0]) tls_worker = p->creator_prev_tls;
  free(p->watch);
  free(p->parked);
  free(p->workers);
  free(p);
}

/* Expedited membarriers need registering once per process; a kernel
 * without them leaves the pool on its fallback (see park()). */
static bool membarrier_ready(void) {
  long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
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
  p->spin_limit = cpus >= 4 ? (uint32_t)(cpus / 2) : 1;
  p->creator = pthread_self();
  p->membarrier = membarrier_ready();
  p->workers = aligned_alloc(64, sizeof(worker) * p->count);
  p->watch = calloc(p->count, sizeof *p->watch);
  p->parked_words = (p->count + 63) / 64;
  /* its own cache lines: parkers and wakers write it, nobody else */
  p->parked = aligned_alloc(64, align_up64(p->parked_words * sizeof(uint64_t)));
  if (p->parked) memset(p->parked, 0, align_up64(p->parked_words * sizeof(uint64_t)));
  if (!p->workers || !p->watch || !p->parked) {
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
  p->creator_prev_tls = tls_worker;
  if (!tls_worker) tls_worker = &p->workers[0];
  for (uint32_t i = 1; i < p->count; i++) {
    if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0) {
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
 * hand and empties its own deque before it exits (worker_main), and once
 * all are joined nothing is left. */
myr_status myr_jobs_destroy(myr_jobs *p) {
  if (!p) return MYR_OK;
  worker *w = current(p);
  if (w != &p->workers[0] || is_running(w)) return MYR_EBUSY;
  set_running(w, 1); /* a job that calls destroy now is refused */
  uint64_t j[DEQUE_WORDS];
  while (find_job(w, j)) run_job(w, j);
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
  wake_for_push(w);
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
  wake_for_push(w);
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
  worker *w = tls_worker;
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
  work_until(w, &(waiting){counter, NULL, NULL});
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
    wake_for_push(w);
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
  worker *w = tls_worker;
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

myr_status myr_jobs_parallel_for(myr_jobs *p, size_t begin, size_t end, size_t grain,
                                 myr_range_fn fn, void *ctx) {
  if (!p || !fn || end < begin) return MYR_EINVAL;
  worker *w = current(p);
  if (!w) return MYR_EBUSY;
  if (begin == end) return MYR_OK;
  pfor pf = {fn, ctx, grain ? grain : 1, {0}};
  uint32_t was = is_running(w);
  set_running(w, 1);
  pfor_run(w, begin, (uint64_t)(uintptr_t)&pf, end);
  work_until(w, &(waiting){&pf.counter, NULL, NULL});
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

/* ---- for the schedule (jobs_impl.h) -------------------------------------- */

bool jobs_wait_until(myr_jobs *p, bool (*pred)(void *ctx), void *ctx) {
  worker *w = current(p);
  if (!w) return false;
  uint32_t was = is_running(w);
  set_running(w, 1);
  work_until(w, &(waiting){NULL, pred, ctx});
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
