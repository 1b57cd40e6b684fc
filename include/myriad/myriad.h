/* myriad — umbrella header: includes every public part. */
#ifndef MYRIAD_MYRIAD_H
#define MYRIAD_MYRIAD_H

#include "myriad/status.h"
#include "myriad/world.h"
#include "myriad/query.h"
#include "myriad/jobs.h"
#include "myriad/patch.h"
#include "myriad/random.h"
#include "myriad/schedule.h"
#include "myriad/trace.h"
#include "myriad/tuning.h"
#include "myriad/grid.h"
#include "myriad/snapshot.h"
#include "myriad/stream.h"

#endif /* MYRIAD_MYRIAD_H */
