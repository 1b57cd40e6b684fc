/* What the world benchmarks share: a 3-float component and a fail-fast check. */
#ifndef MYRIAD_BENCH_COMMON_H
#define MYRIAD_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "myriad/myriad.h"

typedef struct {
  float x, y, z;
} vec3;

static const myr_field vec3_fields[] = {MYR_FIELD(vec3, x, MYR_F32), MYR_FIELD(vec3, y, MYR_F32),
                                        MYR_FIELD(vec3, z, MYR_F32)};

/* Benchmarks have no error path worth having: a failed call ends the run. */
static inline void must(myr_status s, const char *what) {
  if (s != MYR_OK) {
    fprintf(stderr, "%s: %s\n", what, myr_strerror(s));
    exit(1);
  }
}

#endif
