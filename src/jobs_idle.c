/* The job system while idle: finding work (own deque, then stealing),
 * spinning, parking on a worker's own futex word, and the wake-ups that end
 * a park: one sleeper for a push, the watchers of a counter or predicate
 * for its change. */
#define _DEFAULT_SOURCE /* syscall() under strict C11 */
#include <ck_backoff.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "jobs_pool.h"

/* ---- time and futex primitives ------------------------------------------- */

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
void jobs_wake_worker(worker *v) {
  at_faa32(&v->wake_word, 1);
  syscall(SYS_futex, &v->wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- waking -------------------------------------------------------------- */

/* Wakes one parked worker, if any: the first that a scan from a random
 * start can claim (the claim is a CAS, so two wakers never pick one
 * sleeper). The claim counts the worker as spinning at once, so that pushes
 * meanwhile wake nobody else; the woken worker finds its bit gone and
 * knows it spins (see park()). Work for one more worker wakes one more: a
 * spinner that finds work wakes the next (see spin_end). */
static void hold_all(myr_jobs *p) {
  for (uint32_t i = 0; i < p->count; i++) deque_hold_pushes(&p->workers[i].dq);
}

void jobs_wake_one(myr_jobs *p, worker *self) {
  /* counted before the claim: the claimed worker may stop spinning (and
   * count itself out) as soon as its bit is gone */
  at_faa32(&p->spinning, 1);
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
        jobs_wake_worker(&p->workers[i * 64 + b]);
        return;
      }
      bits = at_load_rlx(&p->parked[i]);
    }
  }
  /* Nobody to claim: every sleeper is waking already and will look at the
   * deques. The count goes back; if that leaves none spinning while some
   * sleep, the holds go back on (see spin_end), without waking anyone. */
  if (at_faa32(&p->spinning, (uint32_t)-1) == 1 && at_load32_rlx(&p->sleepers) != 0) hold_all(p);
}

/* Wakes every parked worker that waits for `what` (a counter's or a
 * predicate context's address). The caller changed `what` with a locked
 * RMW before (or, for a counter's owner, see park()): a waiter counts
 * itself in watchers with a locked RMW before it reads `what`, so one of
 * the two sees the other. Only addresses are compared: `what` may be gone
 * already (a waiter that saw its counter close may have freed it). */
void jobs_wake_watchers_of(myr_jobs *p, uintptr_t what) {
  for (uint32_t i = 0; i < p->count; i++)
    if (at_load_rlx((const uint64_t *)&p->watch[i]) == what) jobs_wake_worker(&p->workers[i]);
}

bool jobs_wake_watchers_then(myr_jobs *p, uintptr_t what, bool result) {
  jobs_wake_watchers_of(p, what);
  return result;
}

/* ---- the awake bound of an oversubscribed pool ----------------------------
 * With more workers than CPUs, no more workers than CPUs (awake_limit) are
 * kept awake for work: every extra one would steal, hold its own stack of
 * waits and take turns with the others on too few CPUs (fib(30) on 8
 * workers took 6% longer than on 2, parallel_for 10%). But a worker blocked
 * inside a job (sleeping, waiting for I/O) is awake and uses no CPU, and
 * queued work must then reach the sleepers as it grows. So while a wake is
 * refused for lack of room, one sleeper is asked to be the sentinel: it
 * notes each awake worker's thread CPU time, sleeps STUCK_NS, and counts
 * as blocked each one that used little CPU meanwhile (sentinel_round);
 * for STUCK_NS more those do not count as awake, and the sentinel itself
 * goes to look for work if that leaves room. None of this is needed for
 * progress: every queued job is in the deque of an awake worker. */

/* Awake workers the sentinel last found blocked, while its finding holds. */
static inline uint32_t stuck_now(const myr_jobs *p) {
  uint32_t n = at_load32_rlx(&p->stuck);
  return n && now_ns() < at_load_rlx(&p->stuck_until) ? n : 0;
}

/* Awake workers (not parked) that count against awake_limit, less `self`
 * (1 for a caller that is awake itself). */
static inline uint32_t awake_busy(const myr_jobs *p, uint32_t self) {
  uint32_t awake = p->count - self - at_load32_rlx(&p->sleepers);
  if (awake < p->awake_limit) return awake; /* (always, unless oversubscribed) */
  uint32_t stuck = stuck_now(p);
  return awake > stuck ? awake - stuck : 0;
}

/* Whether a parked worker may be woken for work: fewer than awake_limit
 * workers are awake, not counting blocked ones. */
static inline bool room_to_wake(const myr_jobs *p) { return awake_busy(p, 0) < p->awake_limit; }

static inline bool is_parked(const myr_jobs *p, uint32_t i) {
  return (at_load_rlx(&p->parked[i / 64]) >> (i & 63)) & 1;
}

/* Whether worker i sleeps and waits for work alone (so it may take a
 * sentinel request: see jobs_work_until). */
static inline bool idle_sleeper(const myr_jobs *p, uint32_t i) {
  return is_parked(p, i) && at_load_rlx((const uint64_t *)&p->watch[i]) == 0;
}

/* A wake was refused for lack of room: asks for a sentinel, if none is
 * asked for or at work and the last round is not too recent, and wakes an
 * idle sleeper to be it: the one that last stepped aside, else the first
 * found. (A sleeper that has just left is woken for nothing: its next park
 * returns at once. The request then waits for the next idle sleeper whose
 * deadline passes, or that steps aside.) */
static void ask_sentinel(myr_jobs *p) {
  if (!p->oversubscribed || at_load32_rlx(&p->sentinel) != 0 || now_ns() < at_load_rlx(&p->sentinel_next) ||
      !at_cas32_sc(&p->sentinel, 0, 1))
    return;
  uint32_t hint = at_load32_rlx(&p->aside_hint);
  if (hint && idle_sleeper(p, hint - 1)) {
    jobs_wake_worker(&p->workers[hint - 1]);
    return;
  }
  for (uint32_t i = 0; i < p->count; i++)
    if (idle_sleeper(p, i)) {
      jobs_wake_worker(&p->workers[i]);
      return;
    }
}

/* After a push other than on spawn's fast path: wakes one parked worker if
 * any sleeps, none is spinning and there is room (room_to_wake; else it
 * asks for a sentinel). A parking worker holds every deque's pushes (see
 * park()), so that spawn's fast path need not look at sleepers or
 * spinners; the holds are released here once none sleeps, or once some
 * worker spins: a spinner steals what is pushed, and a spinner that finds
 * work with more queued wakes the next (spin_end), so wake-ups follow
 * the work without a slow push per job. After the release's locked CAS,
 * a locked read of spinning and the sleepers load show any worker whose
 * hold it took back while none spins, and the hold is then put back.
 * (A spinner that stops to park just as this reads spinning looks at the
 * deques after counting itself in sleepers: it misses this push only in
 * the window described at park().) */
void jobs_wake_for_push(worker *w) {
  myr_jobs *p = w->pool;
  if (at_load32_rlx(&p->sleepers) != 0 && at_load32_rlx(&p->spinning) == 0) {
    if (room_to_wake(p)) {
      jobs_wake_one(p, w);
      return;
    }
    ask_sentinel(p);
  }
  if (deque_release_pushes(&w->dq) && at_faa32(&p->spinning, 0) == 0 && at_load32_rlx(&p->sleepers) != 0 &&
      room_to_wake(p)) {
    deque_hold_pushes(&w->dq);
    jobs_wake_one(p, w);
  }
}

/* Counting one job out by any other worker. The locked RMW orders the
 * decrement before the watchers load in wake_watchers, so a parked waiter
 * on this counter is woken; only its address is used after the RMW. */
void jobs_counter_finished_remote(myr_jobs *p, myr_counter *c) {
  TEST_HOOK(JOBS_HOOK_REMOTE_DONE);
  at_faa(&c->remote, (uint64_t)-1);
  wake_watchers(p, c);
}

/* ---- finding work and idling -------------------------------------------- */

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

bool jobs_find_job(worker *w, uint64_t *out) {
  return deque_take(&w->dq, out) || steal_round(w, out);
}

static bool any_queued(const myr_jobs *p) {
  for (uint32_t i = 0; i < p->count; i++)
    if (!deque_looks_empty(&p->workers[i].dq)) return true;
  return false;
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
  /* (a tag beyond this pool's workers: a counter of another pool's; no
   * owner of ours to tell, so the short deadline below applies) */
  worker *owner = tag && tag != w->tag && tag <= p->count ? &p->workers[tag - 1] : NULL;
  bool foreign = tag && tag != w->tag;
  uint64_t bit = UINT64_C(1) << (w->index & 63);
  at_or64(&p->parked[w->index / 64], bit);
  if (what) {
    at_store_rlx((uint64_t *)&p->watch[w->index], what);
    at_faa32(&p->watchers, 1);
    if (owner) at_faa32(&owner->watched, 1);
  }
  at_faa32(&p->sleepers, 1);
  hold_all(p);
  uint64_t park_ns = w->park_ns;
  if (foreign && !(owner && p->membarrier && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0))
    park_ns = PARK_MIN_NS; /* no membarrier: the owner's plain store may be missed */
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

/* An oversubscribed pool's idle worker that waits for work alone steps
 * aside while awake_limit others are awake: it sleeps, claimable by a
 * waker like a parked worker, but without looking for work first and
 * without holding pushes (queued work is theirs; a worker that parks and
 * so leaves room holds them, so the pushes after it wake a sleeper). It
 * sleeps for the longest park deadline at once: the deadline is only a
 * fallback for a missed wake-up, and each early one would take a CPU from
 * a worker with work (fresh pools of 8 and 16 ran fib(30) 2-4% slower
 * with deadlines growing from 1 ms). Returns whether a waker claimed it. */
static bool step_aside(worker *w, uint64_t ns, bool always) {
  myr_jobs *p = w->pool;
  uint32_t seen = at_load32_acq(&w->wake_word);
  uint64_t bit = UINT64_C(1) << (w->index & 63);
  at_or64(&p->parked[w->index / 64], bit);
  at_faa32(&p->sleepers, 1);
  at_store32_rlx(&p->aside_hint, w->index + 1);
  uint64_t t0 = now_ns();
  /* (now counted in sleepers, so none of the awake is w) */
  bool slept = (always || awake_busy(p, 0) >= p->awake_limit) && !at_load32_acq(&p->stop) &&
               (always || at_load32_rlx(&p->sentinel) != 1);
  if (slept) futex_wait(&w->wake_word, seen, ns);
  if (at_load32_rlx(&p->aside_hint) == w->index + 1) at_store32_rlx(&p->aside_hint, 0);
  bool claimed = !(at_and64(&p->parked[w->index / 64], ~bit) & bit);
  at_faa32(&p->sleepers, (uint32_t)-1);
  if (slept) {
    stat_add(&w->parked_ns, now_ns() - t0);
    stat_add(&w->parks, 1);
    if (at_load32_rlx(&w->wake_word) != seen) stat_add(&w->woken, 1);
  }
  return claimed;
}

/* CPU time used by worker v's thread so far (ns); 0 if it cannot be read. */
static uint64_t thread_cpu_ns(const worker *v) {
  struct timespec ts;
  if (!at_load32_acq(&v->has_cpu_clock) || clock_gettime(v->cpu_clock, &ts) != 0) return 0;
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The sentinel's round (see room_to_wake), by w, which holds the request
 * (sentinel == 2): the awake workers whose threads used less than a
 * quarter of a CPU over STUCK_NS count as blocked. (Compute-bound workers
 * get a quarter each only when more than four per CPU run; a worker that
 * spins for work uses a whole one.) Returns whether w is to look for work
 * now: a waker claimed it meanwhile (counted as spinning), or the blocked
 * workers leave room (then w counts itself as spinning, as a claim does). */
static bool sentinel_round(worker *w) {
  myr_jobs *p = w->pool;
  for (uint32_t i = 0; i < p->count; i++) {
    worker *v = &p->workers[i];
    v->sentinel_awake = v != w && !is_parked(p, i);
    if (v->sentinel_awake) v->sentinel_cpu = thread_cpu_ns(v);
  }
  uint64_t t0 = now_ns();
  bool claimed = step_aside(w, STUCK_NS, true);
  uint64_t span = now_ns() - t0;
  uint32_t stuck = 0;
  for (uint32_t i = 0; i < p->count; i++) {
    worker *v = &p->workers[i];
    if (v->sentinel_awake && !is_parked(p, i)) stuck += thread_cpu_ns(v) - v->sentinel_cpu < span / 4;
  }
  /* Rounds that find none blocked come rarer (from 2 to 32 looks apart):
   * each takes a CPU from a busy worker twice, and a parallel_for asks for
   * one on nearly every split while none may be woken. */
  uint64_t now = now_ns(), gap = at_load_rlx(&p->sentinel_gap);
  gap = stuck ? 0 : !gap ? 2 * STUCK_NS : gap < SENTINEL_GAP_MAX_NS / 2 ? 2 * gap : SENTINEL_GAP_MAX_NS;
  at_store_rlx(&p->sentinel_gap, gap);
  at_store_rlx(&p->sentinel_next, now + gap);
  at_store_rlx(&p->stuck_until, now + STUCK_NS);
  at_store32_rlx(&p->stuck, stuck);
  at_store32_rel(&p->sentinel, 0);
  if (claimed) return true;
  if (awake_busy(p, 1) >= p->awake_limit) return false;
  at_faa32(&p->spinning, 1);
  return true;
}

/* An idle worker spins only while fewer than spin_limit do: more spinners
 * than free CPUs would take time from the workers that have work (the pool
 * may have more workers than the machine has CPUs). */
static inline bool spin_begin(myr_jobs *p) {
  if (at_faa32(&p->spinning, 1) < p->spin_limit) return true;
  at_faa32(&p->spinning, (uint32_t)-1);
  return false;
}

/* A spinner stops spinning (it found a job, or its wait is over). Pushes
 * release their deque's hold while some worker spins (jobs_wake_for_push),
 * so the last spinner to stop while workers sleep puts every hold back, so
 * that later pushes wake a sleeper again, and wakes one now if work is
 * queued (found meanwhile, or more than it took). */
static void spin_end(worker *w) {
  myr_jobs *p = w->pool;
  if (at_faa32(&p->spinning, (uint32_t)-1) != 1 || at_load32_rlx(&p->sleepers) == 0) return;
  /* (held even without room to wake anyone now: the next push then asks
   * for a sentinel, which finds room if the awake workers are blocked) */
  hold_all(p);
  if (!any_queued(p)) return;
  if (room_to_wake(p))
    jobs_wake_one(p, w);
  else
    ask_sentinel(p);
}

/* The worker loop: run jobs until done, spinning then parking while idle. */
void jobs_work_until(worker *w, const waiting *pending) {
  myr_jobs *p = w->pool;
  uint64_t j[DEQUE_WORDS];
  while (!is_done(p, pending)) {
    if (jobs_find_job(w, j)) {
      run_job(w, j);
      continue;
    }
    /* Idle: look again after a pause that doubles (from SPIN_FIRST
     * iterations, a few nanoseconds, to SPIN_CEILING, about a microsecond),
     * then park once spin_ns has passed. Work often follows soon after a
     * worker runs out (the next stage or frame, the job it waits for), so
     * it looks often at first: a schedule's frame on 2 workers took 0.4 us
     * less than with ck's first pause of 512 iterations. A worker idle for
     * longer looks rarely, so that it does not steal each job of an owner
     * that spawns and then waits for one job at a time. */
    uint64_t idle_since = now_ns(), spin_ns = p->spin_ns;
    ck_backoff_t backoff = SPIN_FIRST;
    bool spinner = spin_begin(p);
    for (;;) {
      if (is_done(p, pending)) {
        if (spinner) spin_end(w);
        return;
      }
      if (jobs_find_job(w, j)) {
        w->park_ns = PARK_MIN_NS;
        if (spinner) spin_end(w);
        run_job(w, j);
        break;
      }
      if (!spinner || now_ns() - idle_since > spin_ns) {
        if (spinner) at_faa32(&p->spinning, (uint32_t)-1);
        /* Woken for work, it spins as its waker counted it; else it looks
         * once more, then parks again without spinning, so that a
         * long-idle pool stays quiet. */
        spinner = park(w, pending);
        /* More workers than CPUs: one that waits for work alone (it holds
         * no job: its deque was empty when it parked) and that nobody woke
         * steps aside while awake_limit others are awake. Otherwise every
         * worker whose deadline passed would steal, and each would then
         * hold its own stack of waits, all runnable at once on too few
         * CPUs: fib(30) on 8 workers took 6% longer than on 2, parallel_for
         * 10%. */
        while (!spinner && !pending->counter && !pending->pred && p->oversubscribed && !at_load32_acq(&p->stop)) {
          if (at_load32_rlx(&p->sentinel) == 1 && at_cas32_sc(&p->sentinel, 1, 2)) {
            spinner = sentinel_round(w);
            continue;
          }
          if (awake_busy(p, 1) < p->awake_limit) break;
          /* Work is queued and nobody woke us: the awake workers may be
           * blocked, and pushes that went the fast path asked nobody to
           * look. So look (rounds that find nothing come rarer). */
          if (any_queued(p) && now_ns() >= at_load_rlx(&p->sentinel_next) && at_cas32_sc(&p->sentinel, 0, 2)) {
            spinner = sentinel_round(w);
            continue;
          }
          spinner = step_aside(w, PARK_MAX_NS, false);
        }
        if (spinner) {
          idle_since = now_ns();
          spin_ns = p->spin_ns;
        } else {
          spin_ns = 0;
        }
      } else if (p->oversubscribed && p->count - at_load32_rlx(&p->sleepers) > p->awake_limit) {
        /* More workers awake than CPUs (most step aside, but waiters woken
         * for their counters and a new pool's threads may not have): one
         * holding work may be waiting for a CPU, so give ours up rather
         * than spin past it. */
        sched_yield();
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

void jobs_note_cpu_clock(worker *w) {
  if (pthread_getcpuclockid(pthread_self(), &w->cpu_clock) == 0) at_store32_rel(&w->has_cpu_clock, 1);
}

/* A started worker: runs jobs until the pool stops, then whatever is left
 * in its deque (and anything it can still steal) before it exits. */
void *jobs_worker_main(void *arg) {
  worker *w = arg;
  jobs_note_cpu_clock(w);
  jobs_tls_worker = w;
  set_running(w, 1);
  jobs_work_until(w, &(waiting){NULL, NULL, NULL});
  uint64_t j[DEQUE_WORDS];
  while (jobs_find_job(w, j)) run_job(w, j);
  return NULL;
}

/* Expedited membarriers need registering once per process; a kernel
 * without them leaves the pool on its fallback (see park()). */
bool jobs_membarrier_ready(void) {
  long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
  return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}
