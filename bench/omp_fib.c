/* fib as OpenMP tasks (gcc -fopenmp): the public reference for bench_jobs. */
#include <omp.h>
#include <stdint.h>

#include "omp_fib.h"

static uint64_t fib_task(int n) {
  if (n < 2) return (uint64_t)n;
  uint64_t a, b;
#pragma omp task shared(a)
  a = fib_task(n - 1);
  b = fib_task(n - 2);
#pragma omp taskwait
  return a + b;
}

uint64_t omp_fib(int n, int threads) {
  uint64_t r = 0;
#pragma omp parallel num_threads(threads)
#pragma omp single
  r = fib_task(n);
  return r;
}
