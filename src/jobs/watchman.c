/* The job system's watchman: in an oversubscribed pool (more workers than
 * CPUs), the idle worker that keeps the awake bound honest by finding
 * workers stuck in their jobs, and the wakes refused for lack of room. */
#include "jobs_pool.h"

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
void jobs_refused_wake(myr_jobs *p, const worker *self) {
  uint32_t m = at_load32_rlx(&p->watchman);
  if (!m) rouse_idle_sleeper(p, self);
  else if (at_load32_rlx(&p->watch_long)) jobs_wake_worker(&p->workers[m - 1]);
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
  uint64_t now = jobs_now_ns(), span = now - p->watch_at;
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
    watch_note seen = {awake ? at_load_rlx(&v->jobs) + 1 : 0, awake ? jobs_thread_cpu_ns(v) : 0, false};
    if (recent && seen.jobs && last->jobs) {
      bool clock = seen.cpu_ns != 0;
      uint64_t ran = clock ? seen.cpu_ns - last->cpu_ns : 0;
      bool finished = seen.jobs != last->jobs, is_stuck;
      if (!clock) is_stuck = !finished; /* no CPU clock: job counts alone */
      else if (!finished && ran >= RAN_NS) is_stuck = true;
      else if (!finished) is_stuck = (seen.slept = (last->slept && ran < 1000) || jobs_thread_sleeps(v)) || !progress;
      else is_stuck = ran < span / 4 && (seen.slept = jobs_thread_sleeps(v));
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
 * takes a CPU from a busy worker); else it sleeps for its
 * growing park deadline, cut short by a refused wake. It goes to work when
 * claimed, or when stuck workers leave room for queued work, and then wakes
 * one more worker for each further slot. Returns whether w is to look for
 * work (counted as spinning, as a claim counts a worker), false when the
 * pool stops; the watch is given back either way. */
bool jobs_watch(worker *w) {
  myr_jobs *p = w->pool;
  while (!at_load32_acq(&p->stop)) {
    uint32_t seen = at_load32_acq(&w->wake_word);
    bool close = awake_busy(p, 1) >= p->awake_limit || jobs_any_queued(p);
    if (!close) { /* nothing to watch: a long sleep, which a refused wake cuts short */
      /* the locked RMW orders the flag before the looks again: a wake
       * refused after them finds it set */
      at_faa32(&p->watch_long, 1);
      close = awake_busy(p, 1) >= p->awake_limit || jobs_any_queued(p);
    }
    bool claimed = jobs_step_aside(w, seen, close ? p->watch_ns : w->park_ns, true);
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
    if (stuck && jobs_any_queued(p)) p->watch_ns = WATCH_STUCK_NS;
    else if (close) p->watch_ns = p->watch_ns < WATCH_MAX_NS / 2 ? p->watch_ns * 2 : WATCH_MAX_NS;
    uint32_t busy = awake_busy(p, 1);
    if ((busy < p->awake_limit || needy) && jobs_any_queued(p)) {
      at_faa32(&p->spinning, 1);
      for (uint32_t k = busy + 1; k < p->awake_limit; k++) jobs_wake_one(p, w);
      give_watch_back(w);
      return true;
    }
  }
  at_store32_rel(&p->watchman, 0);
  return false;
}
