/* Private: what the schedule needs from the pool beyond jobs.h. */
#ifndef MYRIAD_JOBS_IMPL_H
#define MYRIAD_JOBS_IMPL_H

#include <stdbool.h>

#include "myriad/jobs.h"

/* Runs jobs until pred(ctx) holds; the calling thread must be a worker of
 * the pool (false otherwise). Whoever makes pred true must call jobs_wake
 * after a locked RMW, so a parked waiter is not missed. */
bool jobs_wait_until(myr_jobs *p, bool (*pred)(void *ctx), void *ctx);

/* Wakes parked workers, if any. */
void jobs_wake(myr_jobs *p);

/* Makes the calling worker the owner of a fresh counter (see myr_counter),
 * for counters that other workers may spawn into first. */
void jobs_counter_claim(myr_jobs *p, myr_counter *c);

/* Jobs running on the calling worker's stack; -1 if it is not a worker. */
int jobs_depth(const myr_jobs *p);

#endif
