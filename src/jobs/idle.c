/* The job system while idle: finding work (own deque, then stealing),
 * spinning, parking on a worker's own futex word, and the wake-ups that end
 * a park: one sleeper for a push, the watchers of a counter or predicate
 * for its change. */
#define _DEFAULT_SOURCE /* syscall() under strict C11 */
#include <ck_backoff.h>
#include <fcntl.h>
#include <stdio.h>
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
 * kept awake for work while they make progress: every extra one would
 * steal, hold its own stack of waits and take turns with the others on too
 * few CPUs (fib(30) on 8 workers took 5-8% longer than on 2). But a worker
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

/* Whether a parked worker may be woken for work. */
static inline bool room_to_wake(const myr_jobs *p) { return awake_busy(p, 0) < p->awake_limit; }

static inline bool is_parked(const myr_jobs *p, uint32_t i) {
  return (at_load_rlx(&p->parked[i / 64]) >> (i & 63)) & 1;
}

/* Wakes, without claiming it, an idle sleeper other than self (a parked
 * worker that waits for work alone), which takes the watch if nobody holds
 * it and the bound bites (see jobs_work_until); else a parked waiter,
 * which looks for work once it finds its wait not over. */
static void rouse_idle_sleeper(myr_jobs *p, const worker *self) {
  uint32_t waiter = p->count;
  for (uint32_t k = 1; k < p->count; k++) {
    uint32_t i = (self->index + k) % p->count;
    if (!is_parked(p, i)) continue;
    if (at_load_rlx((const uint64_t *)&p->watch[i]) == 0) {
      jobs_wake_worker(&p->workers[i]);
      return;
    }
    if (waiter == p->count) waiter = i;
  }
  if (waiter < p->count) jobs_wake_worker(&p->workers[waiter]);
}

/* A wake was refused for lack of room: makes sure somebody watches soon.
 * It rouses the watchman if it sleeps past WATCH_NS, or, if nobody holds
 * the watch, an idle sleeper to take it (else a parked waiter). */
static void refused_wake(myr_jobs *p, const worker *self) {
  uint32_t m = at_load32_rlx(&p->watchman);
  if (!m)
    rouse_idle_sleeper(p, self);
  else if (at_load32_rlx(&p->watch_long))
    jobs_wake_worker(&p->workers[m - 1]);
}

/* After a push other than on spawn's fast path: wakes one parked worker if
 * any sleeps, none is spinning and there is room (room_to_wake). A parking
 * worker holds every deque's pushes (see park()), so that spawn's fast
 * path need not look at sleepers or spinners; the holds are released here
 * once none sleeps, or once some worker spins, or once a wake is refused
 * (the watchman then finds stuck workers): a spinner steals what is
 * pushed, and a spinner that finds work with more queued wakes the next
 * (spin_end), so wake-ups follow the work without a slow push per job.
 * After the release's locked CAS, a locked read of spinning and the
 * sleepers load show any worker whose hold it took back while none
 * spins, and the hold is then put back. (A spinner that stops to park
 * just as this reads spinning looks at the deques after counting itself
 * in sleepers: it misses this push only in the window described at
 * park().) */
void jobs_wake_for_push(worker *w) {
  myr_jobs *p = w->pool;
  if (at_load32_rlx(&p->sleepers) != 0 && at_load32_rlx(&p->spinning) == 0) {
    if (room_to_wake(p)) {
      jobs_wake_one(p, w);
      return;
    }
    refused_wake(p, w);
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
  /* Waiters are not watchmen: in a pool larger than the machine, where the
   * only sleepers may be waiters, their deadline is the fallback for work
   * queued behind stuck workers, so it stays short. */
  if (what && p->oversubscribed && park_ns > WATCH_MAX_NS) park_ns = WATCH_MAX_NS;
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
 * aside while awake_limit others are busy (or, `always`, as the
 * watchman): it sleeps, claimable by a waker like a parked worker, but
 * without looking for work first and without holding pushes (queued work
 * is the awake workers'; one that parks and so leaves room holds them, and
 * the pushes after it wake a sleeper). `seen`: its wake word, read before
 * anything a waker's bump must not be missed after. Returns whether a
 * waker claimed it. */
static bool step_aside(worker *w, uint32_t seen, uint64_t ns, bool always) {
  myr_jobs *p = w->pool;
  uint64_t bit = UINT64_C(1) << (w->index & 63);
  at_or64(&p->parked[w->index / 64], bit);
  at_faa32(&p->sleepers, 1);
  uint64_t t0 = now_ns();
  /* (now counted in sleepers, so none of the awake is w) */
  bool slept = (always || awake_busy(p, 0) >= p->awake_limit) && !at_load32_acq(&p->stop);
  if (slept) futex_wait(&w->wake_word, seen, ns);
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

/* Whether worker v's thread sleeps in the kernel now (its state in
 * /proc is not R, running or runnable); true if that cannot be read. */
static bool thread_sleeps(const worker *v) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)v->tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return true;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return true;
  buf[n] = 0;
  /* "tid (comm) S ...": the state follows the last ')' (comm may hold one) */
  const char *end = strrchr(buf, ')');
  return !end || end[1] != ' ' || end[2] != 'R';
}

/* The watchman's look, by w, which holds the watch. A worker awake now and
 * at the last look (at most 2 WATCH_MAX_NS ago) is stuck
 * - if it finished no job since and its thread ran RAN_NS or more (it
 *   spins, or runs one long job: a worker of short jobs that runs at all
 *   finishes some);
 * - if it finished no job and hardly ran, and sleeps in the kernel (it
 *   blocks in its job) or no awake worker finished a job (all wait for
 *   something queued; else it is one that waits for a CPU, and more
 *   workers would only share the CPUs further: counting those woke one
 *   worker after another on fib);
 * - if it finished jobs but used under a quarter of a CPU, and sleeps in
 *   the kernel (its jobs block).
 * Whether a thread sleeps is read from /proc (about 7 us) only when the
 * answer matters, and a worker found asleep that has neither run nor
 * finished a job since is taken to sleep still. A stuck worker with jobs
 * in its deque counts twice and sets *needy: those jobs need a thief, and
 * the workers that are busy may never steal them (they may be waiting by
 * running jobs of their own), so the watchman then goes to work even past
 * the bound. The finding holds until the look after next. */
#define RAN_NS 20000u
static uint32_t watch_look(worker *w, bool *needy) {
  myr_jobs *p = w->pool;
  uint64_t now = now_ns(), span = now - p->watch_at;
  bool recent = p->watch_at && span < 2 * WATCH_MAX_NS;
  /* whether a worker awake at both looks finished a job */
  bool progress = false;
  for (uint32_t i = 0; recent && !progress && i < p->count; i++)
    progress = i != w->index && p->watch_seen[i].jobs && !is_parked(p, i) &&
               at_load_rlx(&p->workers[i].jobs) + 1 != p->watch_seen[i].jobs;
  uint32_t stuck = 0;
  for (uint32_t i = 0; i < p->count; i++) {
    watch_note *last = &p->watch_seen[i];
    worker *v = &p->workers[i];
    bool awake = i != w->index && !is_parked(p, i);
    watch_note seen = {awake ? at_load_rlx(&v->jobs) + 1 : 0, awake ? thread_cpu_ns(v) : 0, false};
    if (recent && seen.jobs && last->jobs) {
      bool clock = seen.cpu_ns != 0;
      uint64_t ran = clock ? seen.cpu_ns - last->cpu_ns : 0;
      bool finished = seen.jobs != last->jobs, is_stuck;
      if (!clock)
        is_stuck = !finished; /* no CPU clock: job counts alone */
      else if (!finished && ran >= RAN_NS)
        is_stuck = true;
      else if (!finished)
        is_stuck = (seen.slept = (last->slept && ran < 1000) || thread_sleeps(v)) || !progress;
      else
        is_stuck = ran < span / 4 && (seen.slept = thread_sleeps(v));
      bool holds = is_stuck && !deque_looks_empty(&v->dq);
      stuck += is_stuck + holds;
      *needy = *needy || holds;
    }
    *last = seen;
  }
  p->watch_at = now;
  at_store_rlx(&p->stuck_until, now + 2 * p->watch_ns);
  at_store32_rlx(&p->stuck, stuck);
  return stuck;
}

/* The watchman gives the watch back and, if the bound still bites, rouses
 * an idle sleeper to take it. */
static void give_watch_back(worker *w) {
  myr_jobs *p = w->pool;
  at_store32_rel(&p->watchman, 0);
  if (awake_busy(p, 0) >= p->awake_limit) rouse_idle_sleeper(p, w);
}

/* The watchman's rounds, by w, which holds the watch. While the bound
 * bites or work is queued, it looks after a pause that starts at WATCH_NS
 * (WATCH_STUCK_NS after a look that found stuck workers with work
 * queued: a pool whose jobs all block gains up to awake_limit running jobs
 * per two looks) and doubles to WATCH_MAX_NS otherwise (each look
 * takes a CPU from a busy worker: fib(30) on 8 workers ran 1-2% slower
 * with a look every millisecond than every 4 ms); else it sleeps for its
 * growing park deadline, cut short by a refused wake. It goes to work when
 * claimed, or when stuck workers leave room for queued work, and then wakes
 * one more worker for each further slot. Returns whether w is to look for
 * work (counted as spinning, as a claim counts a worker), false when the
 * pool stops; the watch is given back either way. */
static bool watch(worker *w) {
  myr_jobs *p = w->pool;
  while (!at_load32_acq(&p->stop)) {
    uint32_t seen = at_load32_acq(&w->wake_word);
    bool close = awake_busy(p, 1) >= p->awake_limit || any_queued(p);
    if (!close) { /* nothing to watch: a long sleep, which a refused wake cuts short */
      /* the locked RMW orders the flag before the looks again: a wake
       * refused after them finds it set */
      at_faa32(&p->watch_long, 1);
      close = awake_busy(p, 1) >= p->awake_limit || any_queued(p);
    }
    bool claimed = step_aside(w, seen, close ? p->watch_ns : w->park_ns, true);
    if (at_load32_rlx(&p->watch_long)) at_store32_rlx(&p->watch_long, 0);
    if (close) {
      w->park_ns = PARK_MIN_NS;
    } else {
      w->park_ns = w->park_ns < PARK_MAX_NS / 2 ? w->park_ns * 2 : PARK_MAX_NS;
      p->watch_ns = WATCH_NS; /* work that comes after a quiet spell is watched closely */
    }
    if (claimed) {
      give_watch_back(w);
      return true;
    }
    bool needy = false;
    uint32_t stuck = watch_look(w, &needy);
    /* stuck workers and queued work: more may block, and each look lets at
     * most awake_limit more run, so look again soon (with nothing queued,
     * stuck workers hold nothing up) */
    if (stuck && any_queued(p))
      p->watch_ns = WATCH_STUCK_NS;
    else if (close)
      p->watch_ns = p->watch_ns < WATCH_MAX_NS / 2 ? p->watch_ns * 2 : WATCH_MAX_NS;
    uint32_t busy = awake_busy(p, 1);
    if ((busy < p->awake_limit || needy) && any_queued(p)) {
      at_faa32(&p->spinning, 1);
      for (uint32_t k = busy + 1; k < p->awake_limit; k++) jobs_wake_one(p, w);
      give_watch_back(w);
      return true;
    }
  }
  at_store32_rel(&p->watchman, 0);
  return false;
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
  /* (held even without room to wake anyone now: the pushes after it then
   * ask again, once the watchman finds stuck workers) */
  hold_all(p);
  if (!any_queued(p)) return;
  if (room_to_wake(p))
    jobs_wake_one(p, w);
  else
    refused_wake(p, w);
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
         * steps aside while awake_limit others are busy, or holds the
         * watch if nobody does (see "the awake bound" above). */
        while (!spinner && !pending->counter && !pending->pred && p->oversubscribed && !at_load32_acq(&p->stop)) {
          if (awake_busy(p, 1) < p->awake_limit) break;
          if (at_load32_rlx(&p->watchman) == 0 && at_cas32_sc(&p->watchman, 0, w->index + 1)) {
            spinner = watch(w);
            continue;
          }
          spinner = step_aside(w, at_load32_acq(&w->wake_word), PARK_MAX_NS, false);
        }
        if (spinner) {
          idle_since = now_ns();
          spin_ns = p->spin_ns;
        } else {
          spin_ns = 0;
        }
      } else if (p->oversubscribed && p->count - at_load32_rlx(&p->sleepers) > p->awake_limit) {
        /* More workers awake than CPUs (stuck ones, waiters woken for
         * their counters, a new pool's threads): one holding work may be
         * waiting for a CPU, so give ours up rather than spin past it. */
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
  w->tid = (int32_t)syscall(SYS_gettid);
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
