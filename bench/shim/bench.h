/* A small C API over Google Benchmark, so benchmarks are written in C.
 *
 * Register functions with myr_bench_register(), then call myr_bench_main()
 * from main(). Every benchmark is timed in wall-clock time (the pool's
 * threads do the work, not the calling thread), repeated 5 times with the
 * repetitions of all benchmarks interleaved in random order (unless
 * --benchmark_repetitions is given) and reported by its median. After
 * the runs, every ratio declared with myr_bench_ratio() is printed from the
 * medians of one run, e.g. library vs hand-written loop. */
#ifndef MYRIAD_BENCH_H
#define MYRIAD_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct myr_bench_state myr_bench_state;
typedef void (*myr_bench_fn)(myr_bench_state *st, void *ctx);

/* Registers a benchmark; name and ctx must outlive myr_bench_main(). */
void myr_bench_register(const char *name, myr_bench_fn fn, void *ctx);
/* The same, run for at least `seconds` a repetition whatever
 * --benchmark_min_time says (0: as the flag says). */
void myr_bench_register_min_time(const char *name, myr_bench_fn fn, void *ctx, double seconds);

/* Iteration control: one iteration per call, or a batch of n (the C/C++
 * crossing costs about 1.6 ns a call, so kernels under ~20 ns use batches). */
bool myr_bench_keep_running(myr_bench_state *st);
bool myr_bench_keep_running_batch(myr_bench_state *st, uint64_t n);
uint64_t myr_bench_iterations(const myr_bench_state *st);
void myr_bench_pause(myr_bench_state *st);
void myr_bench_resume(myr_bench_state *st);
/* Items processed in all iterations: reported as items/s and s/item. */
void myr_bench_set_items(myr_bench_state *st, int64_t items);
/* An extra column: a plain value, or a rate (divided by the time). */
void myr_bench_counter(myr_bench_state *st, const char *name, double value, bool rate);
void myr_bench_skip(myr_bench_state *st, const char *why);

/* Keep the compiler from dropping or moving work around these points. */
void myr_bench_do_not_optimize(const void *p);
void myr_bench_clobber(void);

/* Declares a ratio printed after the runs: items/s of `numerator` over
 * items/s of `denominator` (benchmark names as registered; several names
 * joined by '|' mean the fastest of them), with the target it is held to
 * (0 = none; higher is better). */
void myr_bench_ratio(const char *label, const char *numerator, const char *denominator, double target);

/* Declares a ratio a benchmark measured itself and reported as a counter
 * (myr_bench_counter, not a rate): its median over the repetitions is
 * printed with the ratios above. For ratios of two configurations run in
 * alternation inside one benchmark, so that the machine's slow phases,
 * which last seconds here, hit both alike. */
void myr_bench_ratio_counter(const char *label, const char *bench, const char *counter, double target);

/* Parses Google Benchmark's flags, runs, prints the table and the ratios.
 * Returns 0, or 1 on bad flags. */
int myr_bench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif
