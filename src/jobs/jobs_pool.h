/* Private to the jobs part: the pool's data and the inline steps that its
 * files share: pool.c (the pool, spawn, wait, parallel_for), idle.c
 * (finding work, spinning, parking and waking), watchman.c (the awake
 * bound) and linux.c (the system calls). */
#ifndef MYRIAD_JOBS_POOL_H
#define MYRIAD_JOBS_POOL_H

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "atomics.h"
#include "deque.h"
#include "jobs_iface.h"
#include "myriad/jobs.h"

#define MAX_WORKERS 1024
#define PARK_MIN_NS 1000000ull   /* first park deadline: 1 ms */
#define PARK_MAX_NS 100000000ull /* longest park deadline: 100 ms */
#define SPIN_CEILING (1u << 12)  /* backoff iterations per idle spin, at most */
#define SPIN_FIRST 16u           /* backoff iterations of the first idle spin */
#define WATCH_NS 1000000ull      /* the watchman's first pause between looks: 1 ms ... */
#define WATCH_MAX_NS 8000000ull  /* ... doubling to this while its looks find nothing held up */
#define WATCH_STUCK_NS 250000ull /* its pause after a look that found stuck workers, work queued */

typedef struct worker worker;

/* What the watchman's last look saw of a worker (watchman.c): its job
 * count + 1 if it was awake (0 if parked), its thread's CPU time, and
 * whether the look found its thread asleep in the kernel. */
typedef struct watch_note {
  uint64_t jobs;
  uint64_t cpu_ns;
  bool slept;
} watch_note;

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
  uint64_t jobs; /* stat: written by the owner (relaxed), read by anyone */
  uint64_t tag;  /* index + 1: marks the counters this worker owns */
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
  uint64_t park_ns; /* next park deadline, grows while idle */
  pthread_t thread;
  /* The thread's CPU-time clock and kernel thread id, read by the
   * watchman (watchman.c; set in linux.c). */
  clockid_t cpu_clock;
  uint32_t has_cpu_clock; /* set (release) by the thread itself once cpu_clock and tid are */
  int32_t tid;
  /* Parking, written by wakers too: the worker sleeps on its own futex
   * word, so that a wake-up reaches exactly the worker it is meant for. */
  alignas(64) uint32_t wake_word; /* a waker adds one, then wakes the futex */
};

struct myr_jobs {
  worker *workers;
  uint32_t count;
  uint64_t spin_ns;
  const char *creator_self; /* the creator thread's jobs_tls_self (pool.c) */
  bool membarrier;          /* the process may issue expedited membarriers */
  uintptr_t *watch;         /* per worker, while parked: what it waits for, 0 = work only */
  uint64_t *parked;         /* bit i: worker i parked and not yet claimed by a waker (own lines) */
  uint32_t parked_words;
  uint32_t spin_limit; /* idle workers that may spin at once: half the CPUs, at least 1;
                           every CPU below 4 CPUs */
  bool oversubscribed; /* more workers than online CPUs */
  /* Awake workers (not parked) that make progress, past which no worker is
   * woken for work, nor looks for it after a park nobody ended: the online
   * CPUs when there are fewer of them than workers, else every worker (see
   * "the awake bound" below). */
  uint32_t awake_limit;
  /* The watchman, an idle worker that looks at the awake workers' progress
   * while others step aside: index + 1 of the worker holding the watch, 0
   * none (taken and given back by CAS, so the holder owns watch_seen and
   * watch_at). */
  alignas(64) uint32_t watchman;
  uint32_t watch_long;           /* the watchman sleeps past WATCH_NS (nothing to watch): a refused wake rouses it */
  uint32_t stuck;                /* awake workers the last look found without progress ... */
  uint64_t stuck_until;          /* ... a finding that holds until this time (ns) */
  uint64_t awake_until;          /* idle workers spin, not park, until this time (jobs_keep_awake) */
  uint64_t watch_at;             /* the holder's: time of the last look (ns), 0 none */
  uint64_t watch_ns;             /* the holder's: its pause between looks (ns) */
  struct watch_note *watch_seen; /* the holder's: per worker, what the last look saw */
  alignas(64) uint32_t sleepers; /* workers parked or about to park */
  alignas(64) uint32_t spinning; /* idle workers looking for work before they park */
  alignas(64) uint32_t watchers; /* of those, workers with a nonzero watch entry */
  alignas(64) uint32_t stop;
};

_Static_assert(_Alignof(myr_jobs) >= 2, "a pool's address has its low bit clear: pool_running");
static inline uint32_t is_running(const worker *w) { return (uint32_t)(w->pool_running & 1); }
static inline void set_running(worker *w, uint32_t on) { w->pool_running = (uintptr_t)w->pool | on; }

/* The calling thread's worker (pool.c). initial-exec: a plain %fs-relative
 * load instead of a call to __tls_get_addr on every spawn (the library is
 * built position independent). */
extern _Thread_local worker *jobs_tls_worker __attribute__((tls_model("initial-exec")));

#ifdef MYR_TEST_HOOKS
#define TEST_HOOK(point)                                    \
  do {                                                      \
    void (*hook_)(int) = jobs_test_hook; /* seq_cst load */ \
    if (hook_) hook_(point);                                \
  } while (0)
#else
#define TEST_HOOK(point) \
  do {                   \
  } while (0)
#endif

static inline uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static inline void stat_add(uint64_t *field, uint64_t d) {
  at_store_rlx(field, at_load_rlx(field) + d); /* owner-only writer */
}

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

/* ---- waking (idle.c; the futex wake in linux.c) ------------------------------------------------ */

/* Wakes worker v if it sleeps, or makes its next sleep return at once. */
void jobs_wake_worker(worker *v);
/* Wakes one parked worker, if any, counted as spinning at once. */
void jobs_wake_one(myr_jobs *p, worker *self);
/* Wakes every parked worker that waits for `what` (an address only). */
void jobs_wake_watchers_of(myr_jobs *p, uintptr_t what);
/* jobs_wake_watchers_of, then returns result (see counter_finished_owned). */
bool jobs_wake_watchers_then(myr_jobs *p, uintptr_t what, bool result);
/* After a push other than on spawn's fast path: wakes a sleeper if needed. */
void jobs_wake_for_push(worker *w);

/* Wakes the parked watchers of `what`, if any parked worker watches at all. */
static inline void wake_watchers(myr_jobs *p, const void *what) {
  /* seq_cst: the load after the caller's locked RMW in the handshake with
   * a parking watcher (a plain load on x86, where the RMW fences) */
  if (__builtin_expect(at_load32_sc(&p->watchers) != 0, 0)) jobs_wake_watchers_of(p, (uintptr_t)what);
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
  /* seq_cst under TSan: a waiter's read after its locked RMW on watchers */
  uint64_t done = at_load_sc(&c->done);
  TEST_HOOK(JOBS_HOOK_SUM);
  uint64_t remote = at_load_sc(&c->remote);
  TEST_HOOK(JOBS_HOOK_SUM);
  return counter_open(at_load_sc(&c->spawned), done, remote);
}

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
  if (__builtin_expect(at_load32_sc(&w->watched) != 0, 0))
    return jobs_wake_watchers_then(w->pool, (uintptr_t)c, closed);
  return closed;
}

/* Counting one job out by any other worker (idle.c). */
void jobs_counter_finished_remote(myr_jobs *p, myr_counter *c);

/* Counts a job out; returns true when w owns the counter and that closed it. */
static inline bool counter_finished(worker *w, myr_counter *c) {
  if (__builtin_expect(counter_owned_by(w, at_load_rlx(&c->spawned)), 1)) return counter_finished_owned(w, c);
  jobs_counter_finished_remote(w->pool, c);
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

/* ---- the Linux calls (linux.c) ---------------------------------------------- */

/* The monotonic clock, in ns. */
uint64_t jobs_now_ns(void);
/* Sleeps while *addr == expected, for ns at most (a wake, a signal or a
 * changed word ends it early). */
void jobs_futex_wait(uint32_t *addr, uint32_t expected, uint64_t ns);
/* CPU time used by worker v's thread so far (ns); 0 if it cannot be read. */
uint64_t jobs_thread_cpu_ns(const worker *v);
/* Whether worker v's thread sleeps in the kernel now (its state in /proc
 * is not R, running or runnable); true if that cannot be read. */
bool jobs_thread_sleeps(const worker *v);
/* The calling thread, worker w's, publishes its CPU-time clock and thread id. */
void jobs_note_cpu_clock(worker *w);
/* Whether expedited membarriers are there (registers the process once). */
bool jobs_membarrier_ready(void);
/* An expedited membarrier: every thread of the process passes a full
 * barrier before it returns true. */
bool jobs_membarrier(void);

/* ---- finding work and idling (idle.c) --------------------------------------- */

/* Takes from the own deque, else steals once round the others. */
bool jobs_find_job(worker *w, uint64_t *out);
/* Whether some deque holds a job. */
bool jobs_any_queued(const myr_jobs *p);
/* An idle worker of an oversubscribed pool (or, always, the watchman)
 * sleeps for ns at most, claimable by a waker (see idle.c); seen: its wake
 * word, read before. Returns whether a waker claimed it. */
bool jobs_step_aside(worker *w, uint32_t seen, uint64_t ns, bool always);
/* Runs jobs until `pending` is done, spinning then parking while idle. */
void jobs_work_until(worker *w, const waiting *pending);
/* A started worker's thread. */
void *jobs_worker_main(void *arg);

/* ---- the awake bound of an oversubscribed pool ----------------------------
 * With more workers than CPUs, no more workers than CPUs (awake_limit) are
 * kept awake for work while they make progress: every extra one would
 * steal, hold its own stack of waits and take turns with the others on too
 * few CPUs (docs/performance.md). But a worker
 * blocked inside a job (asleep, waiting for I/O, spinning for another job)
 * holds its slot without progress, and the jobs queued behind it must then
 * reach the sleepers. So while the others step aside, one idle worker, the
 * watchman, looks at the awake workers' job counts and CPU times every
 * 0.25-8 ms while the bound bites or work is queued (watch_look): stuck
 * workers do not count against the bound until the look after next. Given
 * room and queued work, the watchman goes to work itself and wakes one
 * worker more for each further slot. So queued work behind stuck workers
 * waits for a look or two, and a pool whose jobs all block runs as many at
 * once as it has workers, one more per CPU every two looks. Where every
 * sleeper waits on a counter there is no watchman: a refused wake rouses
 * a waiter, and a waiter's park deadline stays short (see park()). None of
 * this is needed for progress: every queued job is in the deque of an
 * awake worker. */

/* Awake workers the last look found stuck, while that finding holds. */
static inline uint32_t stuck_now(const myr_jobs *p) {
  uint32_t n = at_load32_rlx(&p->stuck);
  return n && jobs_now_ns() < at_load_rlx(&p->stuck_until) ? n : 0;
}

/* Awake workers (not parked) that count against awake_limit, less `self`
 * (1 for a caller that is awake itself). */
static inline uint32_t awake_busy(const myr_jobs *p, uint32_t self) {
  uint32_t awake = p->count - self - at_load32_rlx(&p->sleepers);
  if (awake < p->awake_limit) return awake; /* (always, unless oversubscribed) */
  uint32_t stuck = stuck_now(p);
  return awake > stuck ? awake - stuck : 0;
}

/* Whether a parked worker may be woken for work. */
static inline bool room_to_wake(const myr_jobs *p) { return awake_busy(p, 0) < p->awake_limit; }

static inline bool is_parked(const myr_jobs *p, uint32_t i) {
  return (at_load_rlx(&p->parked[i / 64]) >> (i & 63)) & 1;
}

/* ---- the watchman (watchman.c) ----------------------------------------------- */

/* A wake was refused for lack of room: makes sure somebody watches soon. */
void jobs_refused_wake(myr_jobs *p, const worker *self);
/* The watchman's rounds, by w, which holds the watch; whether w is to look
 * for work (false when the pool stops). */
bool jobs_watch(worker *w);

#endif
