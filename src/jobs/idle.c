/* The job system while idle: finding work (own deque, then stealing),
 * spinning, parking on a worker's own futex word, and the wake-ups that end
 * a park: one sleeper for a push, the watchers of a counter or predicate
 * for its change. */
#include <ck_backoff.h>
#include <sched.h>

#include "jobs_pool.h"

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

void jobs_wake_for_push(worker *w) {
  myr_jobs *p = w->pool;
  if (at_load32_rlx(&p->sleepers) != 0 && at_load32_rlx(&p->spinning) == 0) {
    if (room_to_wake(p)) {
      jobs_wake_one(p, w);
      return;
    }
    jobs_refused_wake(p, w);
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

bool jobs_find_job(worker *w, uint64_t *out) { return deque_take(&w->dq, out) || steal_round(w, out); }

bool jobs_any_queued(const myr_jobs *p) {
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
 * paying a store-load fence (an mfence) per spawn would double the
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
  if (foreign && !(owner && p->membarrier && jobs_membarrier()))
    park_ns = PARK_MIN_NS; /* no membarrier: the owner's plain store may be missed */
  TEST_HOOK(JOBS_HOOK_PARK);
  uint64_t t0 = jobs_now_ns();
  bool slept = !is_done(p, pending) && !jobs_any_queued(p);
  if (slept) jobs_futex_wait(&w->wake_word, seen, park_ns);
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
    stat_add(&w->parked_ns, jobs_now_ns() - t0);
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
bool jobs_step_aside(worker *w, uint32_t seen, uint64_t ns, bool always) {
  myr_jobs *p = w->pool;
  uint64_t bit = UINT64_C(1) << (w->index & 63);
  at_or64(&p->parked[w->index / 64], bit);
  at_faa32(&p->sleepers, 1);
  uint64_t t0 = jobs_now_ns();
  /* (now counted in sleepers, so none of the awake is w) */
  bool slept = (always || awake_busy(p, 0) >= p->awake_limit) && !at_load32_acq(&p->stop);
  if (slept) jobs_futex_wait(&w->wake_word, seen, ns);
  bool claimed = !(at_and64(&p->parked[w->index / 64], ~bit) & bit);
  at_faa32(&p->sleepers, (uint32_t)-1);
  if (slept) {
    stat_add(&w->parked_ns, jobs_now_ns() - t0);
    stat_add(&w->parks, 1);
    if (at_load32_rlx(&w->wake_word) != seen) stat_add(&w->woken, 1);
  }
  return claimed;
}

/* CPU time used by worker v's thread so far (ns); 0 if it cannot be read. */
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
  if (!jobs_any_queued(p)) return;
  if (room_to_wake(p)) jobs_wake_one(p, w);
  else jobs_refused_wake(p, w);
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
     * it looks often at first (ck's first pause of 512 iterations cost a
     * schedule's frame measurably: docs/performance.md). A worker idle for
     * longer looks rarely, so that it does not steal each job of an owner
     * that spawns and then waits for one job at a time. */
    uint64_t idle_since = jobs_now_ns(), spin_ns = p->spin_ns;
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
      if (!spinner || (jobs_now_ns() - idle_since > spin_ns && jobs_now_ns() >= at_load_rlx(&p->awake_until))) {
        if (spinner) at_faa32(&p->spinning, (uint32_t)-1);
        /* Woken for work, it spins as its waker counted it; else it looks
         * once more, then parks again without spinning, so that a
         * long-idle pool stays quiet. */
        spinner = park(w, pending);
        /* More workers than CPUs: one that waits for work alone (it holds
         * no job: its deque was empty when it parked) and that nobody woke
         * steps aside while awake_limit others are busy, or holds the
         * watch if nobody does (see "the awake bound" in jobs_pool.h). */
        while (!spinner && !pending->counter && !pending->pred && p->oversubscribed && !at_load32_acq(&p->stop)) {
          if (awake_busy(p, 1) < p->awake_limit) break;
          if (at_load32_rlx(&p->watchman) == 0 && at_cas32_sc(&p->watchman, 0, w->index + 1)) {
            spinner = jobs_watch(w);
            continue;
          }
          spinner = jobs_step_aside(w, at_load32_acq(&w->wake_word), PARK_MAX_NS, false);
        }
        if (spinner) {
          idle_since = jobs_now_ns();
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

/* ---- keeping workers awake ------------------------------------------------ */

void jobs_keep_awake(myr_jobs *p, uint64_t ns) {
  worker *w = jobs_tls_worker;
  if (!w || w->pool != p) return;
  uint64_t until = jobs_now_ns() + ns, was = at_load_rlx(&p->awake_until);
  while (was < until && !at_cas_sc(&p->awake_until, was, until)) was = at_load_rlx(&p->awake_until);
  /* the sleepers wake as if for work: each counted as spinning by its waker */
  for (uint32_t n = at_load32_rlx(&p->sleepers); n > 0 && room_to_wake(p); n--) jobs_wake_one(p, w);
}

void jobs_keep_awake_end(myr_jobs *p) { at_store_rlx(&p->awake_until, 0); }
