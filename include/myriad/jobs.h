/* myriad — a lock-free work-stealing job system (usable without a world).
 *
 * A pool has N workers: N-1 threads it starts, plus the thread that created
 * it, which works while it waits. Every worker owns a Chase–Lev deque: it
 * pushes and pops at the bottom, idle workers steal from the top of a victim
 * picked at random. Idle workers spin a bounded time, then park and use no
 * CPU until work appears. With N = 1 no thread is started: jobs run on the
 * calling thread when it waits (or destroys the pool), in the same way.
 *
 * A pool with more workers than online CPUs keeps about one worker per CPU
 * awake for work while those finish jobs; workers that block or spin
 * inside a job are noticed and others take the queued work, so such a pool
 * still runs as many jobs at once as it has workers when its jobs block or
 * wait for each other. How soon that happens is not promised: it depends on
 * the host. As measured on a 2-CPU machine (docs/performance.md), noticing
 * took a millisecond or a few per CPU's worth of workers, and longer when
 * more jobs spin than there are CPUs while other jobs finish (spinners that
 * yield get too little CPU to tell from workers waiting for one).
 *
 * Jobs are counted in a myr_counter the caller owns: spawn adds one, a job's
 * completion subtracts one, and myr_jobs_wait returns once it reads zero,
 * running other jobs meanwhile, so waiting inside a job cannot deadlock.
 *
 * Thread safety: spawn, wait and parallel_for may be called from the thread
 * that created the pool or from inside any of its jobs; from other threads
 * they return MYR_EBUSY. */
#ifndef MYRIAD_JOBS_H
#define MYRIAD_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "myriad/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct myr_jobs myr_jobs;

/* Jobs outstanding on a counter. Zero-initialise it and keep it alive until
 * every wait on it has returned; its fields are the pool's.
 *
 * A counter belongs to the worker that first spawns into it: that worker
 * counts its own spawns and completions with plain stores, every other
 * worker with atomic read-modify-writes, so a job spawned and run on one
 * worker costs no locked instruction for its counting. The first spawn into
 * a counter must therefore happen before any other worker spawns into it
 * (true when the others learn of the counter from a job spawned after it,
 * as in fork-join code).
 *
 * A wait, by the owner or by any other worker, returns only once every job
 * whose spawn it could see has finished: it never returns early, and a
 * waiter that parks is woken by the completion that closes the counter. */
typedef struct myr_counter {
  uint64_t spawned; /* the owner's spawns (high 48 bits) and its worker tag
                       (low 16 bits, 0 until the first spawn); owner only */
  uint64_t done;    /* the owner's completions (high 48 bits); owner only */
  uint64_t remote;  /* other workers' spawns minus completions; atomic */
} myr_counter;

typedef void (*myr_job_fn)(void *arg);
/* One piece [begin, end) of a parallel_for range; never longer than grain. */
typedef void (*myr_range_fn)(void *ctx, size_t begin, size_t end);

typedef struct myr_jobs_desc {
  uint32_t workers;        /* 0 = one per online CPU; the caller counts as one */
  uint32_t spin_us;        /* idle spin before parking; 0 = 50 us */
  uint32_t deque_capacity; /* initial jobs per deque (grows); 0 = 1024 */
} myr_jobs_desc;

typedef struct myr_jobs_worker_stats {
  uint64_t jobs;          /* jobs run by this worker */
  uint64_t steals;        /* jobs taken from another worker's deque */
  uint64_t failed_steals; /* steal attempts that found nothing or lost a race */
  uint64_t parked_ns;     /* time spent parked */
  uint64_t parks;         /* times parked */
  uint64_t woken;         /* parks ended by a wake-up (work pushed, a counter or
                              a stop), not by the deadline */
} myr_jobs_worker_stats;

/* Creates a pool. desc may be NULL for defaults. Errors: MYR_EINVAL (more
 * than 1024 workers), MYR_ENOMEM, MYR_ETHREAD (a thread could not be
 * started; nothing is left running). */
MYR_API myr_status myr_jobs_create(const myr_jobs_desc *desc, myr_jobs **out);

/* Runs every job still queued or running, stops the workers and frees the
 * pool. Errors: MYR_EBUSY when called from inside a job or from a thread
 * other than the creator (the pool is left running). NULL is ignored. */
MYR_API myr_status myr_jobs_destroy(myr_jobs *pool);

/* Queues fn(arg) and counts it in *counter (required). May be called from a
 * job. Errors: MYR_EINVAL, MYR_EBUSY (foreign thread), MYR_ENOMEM (the
 * deque could not grow; nothing queued). */
MYR_API myr_status myr_jobs_spawn(myr_jobs *pool, myr_job_fn fn, void *arg, myr_counter *counter);

/* Returns when the counter reads zero, running queued or stolen jobs
 * meanwhile; on a counter at zero already, returns without running any.
 * Errors: MYR_EINVAL, MYR_EBUSY (foreign thread). */
MYR_API myr_status myr_jobs_wait(myr_jobs *pool, myr_counter *counter);

/* Calls fn on pieces of [begin, end) of at most `grain` items (0 = 1), in
 * parallel, and returns when all are done. The range is split lazily: a
 * worker halves its range and offers one half only while its own deque is
 * empty, otherwise it runs the next grain itself; pieces of one worker run
 * in ascending order. Any range is fine, up to [0, SIZE_MAX) with any grain:
 * piece bounds never overflow. If a deque cannot grow, the piece is run
 * where it is instead of offered, so the call does not fail for memory.
 * Errors: MYR_EINVAL (NULL pool or fn, end < begin), MYR_EBUSY. */
MYR_API myr_status myr_jobs_parallel_for(myr_jobs *pool, size_t begin, size_t end, size_t grain, myr_range_fn fn,
                                         void *ctx);

/* Jobs spawned into the counter and not yet finished, as seen now. */
MYR_API uint64_t myr_counter_pending(const myr_counter *counter);

/* Number of workers, the creating thread included. */
MYR_API uint32_t myr_jobs_worker_count(const myr_jobs *pool);

/* Index of the calling thread in the pool (0 = the creator), -1 if it is
 * not one of its workers. */
MYR_API int myr_jobs_worker_index(const myr_jobs *pool);

/* Reads one worker's counters (they may lag by a few jobs while the pool
 * runs). Errors: MYR_EINVAL. */
MYR_API myr_status myr_jobs_stats(const myr_jobs *pool, uint32_t worker, myr_jobs_worker_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_JOBS_H */
