/* The job system's interface to the parts above it (the schedule), beyond
 * jobs.h. Private to the library. */
#ifndef MYRIAD_JOBS_IFACE_H
#define MYRIAD_JOBS_IFACE_H

#include <stdbool.h>

#include "myriad/jobs.h"

/* Runs jobs until pred(ctx) holds; the calling thread must be a worker of
 * the pool (false otherwise). Whoever makes pred true must call
 * jobs_wake(p, ctx) after a locked RMW, so a parked waiter is not missed. */
bool jobs_wait_until(myr_jobs *p, bool (*pred)(void *ctx), void *ctx);

/* Calls fn(ctx) on the calling worker as a job would run (inside it,
 * destroy and the schedule's run are refused); false if the calling thread
 * is not a worker of the pool. */
bool jobs_run_here(myr_jobs *p, void (*fn)(void *ctx), void *ctx);

/* Wakes the workers parked in jobs_wait_until(p, ..., ctx), if any. */
void jobs_wake(myr_jobs *p, const void *ctx);

/* Tests only (built with MYR_TEST_HOOKS): called at the racy points of the
 * counters and of parking, so that tests can widen their windows. */
enum {
  JOBS_HOOK_SUM = 1,     /* between the loads of a non-owner's counter read */
  JOBS_HOOK_OWNER_DONE,  /* an owner's completion: after reading remote, before storing */
  JOBS_HOOK_REMOTE_DONE, /* a non-owner's completion: before its decrement */
  JOBS_HOOK_PARK         /* a parking worker: after announcing itself, before its last check */
};
extern void (*_Atomic jobs_test_hook)(int point);

/* Keeps the pool's idle workers spinning, instead of parking, for the next
 * `ns` nanoseconds, and wakes the parked ones to spin too: work is coming
 * soon (the schedule's merge, then the next stage), and a parked worker
 * would start it tens of microseconds late. The calling thread must be a
 * worker of the pool (nothing happens otherwise). */
void jobs_keep_awake(myr_jobs *p, uint64_t ns);
/* Ends a jobs_keep_awake early: idle workers park after their usual spin. */
void jobs_keep_awake_end(myr_jobs *p);

/* Makes the calling worker the owner of a fresh counter (see myr_counter),
 * for counters that other workers may spawn into first. */
void jobs_counter_claim(myr_jobs *p, myr_counter *c);

/* Jobs running on the calling worker's stack; -1 if it is not a worker. */
int jobs_depth(const myr_jobs *p);

#endif
