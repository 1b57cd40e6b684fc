#ifndef MYRIAD_BENCH_OMP_FIB_H
#define MYRIAD_BENCH_OMP_FIB_H
#include <stdint.h>
/* fib(n) computed with one OpenMP task per spawn, on `threads` threads. */
uint64_t omp_fib(int n, int threads);
#endif
