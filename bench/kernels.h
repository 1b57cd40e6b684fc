/* Kernels shared by a library benchmark and its hand-written baseline, kept
 * out of line so that both run the very same machine code and gcc cannot
 * fuse frames around them (unroll-and-jam, see TOOLCHAIN.md). */
#ifndef MYRIAD_BENCH_KERNELS_H
#define MYRIAD_BENCH_KERNELS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* p[i] += v[i] * dt */
__attribute__((noinline, unused)) static void kernel_axpy(float *restrict p, const float *restrict v, size_t n,
                                                          float dt) {
  for (size_t i = 0; i < n; i++) p[i] += v[i] * dt;
}

/* pos += vel * dt over three float columns each, in one loop */
__attribute__((noinline, unused)) static void kernel_integrate(float *restrict px, float *restrict py,
                                                               float *restrict pz, const float *restrict vx,
                                                               const float *restrict vy, const float *restrict vz,
                                                               size_t n, float dt) {
  for (size_t i = 0; i < n; i++) {
    px[i] += vx[i] * dt;
    py[i] += vy[i] * dt;
    pz[i] += vz[i] * dt;
  }
}

#include <stdlib.h>

static int bench_cmp_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return (a > b) - (a < b);
}

/* The median of n > 0 values (sorts them). */
__attribute__((unused)) static uint64_t bench_median_u64(uint64_t *v, size_t n) {
  qsort(v, n, sizeof *v, bench_cmp_u64);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
