// The C API of bench.h over Google Benchmark. Ratios are computed from the
// median repetition of each benchmark, captured by a console reporter.
#include "bench.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

struct myr_bench_state {
  benchmark::State *state;
};

namespace {

struct ratio {
  std::string label, numerator, denominator;
  double target;
};

std::vector<ratio> &ratios() {
  static std::vector<ratio> r;
  return r;
}

// items/s (or iterations/s when a benchmark sets no items) by name
std::map<std::string, double> &medians() {
  static std::map<std::string, double> m;
  return m;
}

// a benchmark's own counters (myr_bench_counter), median repetition, by
// "benchmark#counter"
std::map<std::string, double> &counter_medians() {
  static std::map<std::string, double> m;
  return m;
}

struct counter_ratio {
  std::string label, bench, counter;
  double target;
};

std::vector<counter_ratio> &counter_ratios() {
  static std::vector<counter_ratio> r;
  return r;
}

void print_verdict(const std::string &label, double v, double target) {
  char t[32] = "";
  if (target > 0) std::snprintf(t, sizeof t, ">= %.2f %s", target, v >= target ? "met" : "MISSED");
  std::printf("%-58s %9.3fx %s\n", label.c_str(), v, t);
}

class capture_reporter : public benchmark::ConsoleReporter {
public:
  explicit capture_reporter(OutputOptions o) : ConsoleReporter(o) {}
  void ReportRuns(const std::vector<Run> &runs) override {
    for (const Run &r : runs) {
      if (r.error_occurred) continue;
      bool single = r.repetitions <= 1 && r.run_type == Run::RT_Iteration;
      bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (!single && !median) continue;
      // the name as registered, without the "/min_time:..." and
      // "/real_time" that the library appends
      std::string name = r.run_name.function_name;
      if (!r.run_name.args.empty()) name += "/" + r.run_name.args;
      auto it = r.counters.find("items_per_second");
      double rate = it != r.counters.end()
                        ? it->second.value
                        : (r.real_accumulated_time > 0 ? double(r.iterations) / r.real_accumulated_time : 0);
      if (median && it == r.counters.end()) {
        // a median aggregate carries the median time per iteration
        double t = r.GetAdjustedRealTime() * benchmark::GetTimeUnitMultiplier(r.time_unit);
        rate = t > 0 ? 1.0 / t : 0;
      }
      medians()[name] = rate;
      for (const auto &c : r.counters) counter_medians()[name + "#" + c.first] = c.second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

} // namespace

extern "C" {

void myr_bench_register(const char *name, myr_bench_fn fn, void *ctx) { myr_bench_register_min_time(name, fn, ctx, 0); }

void myr_bench_register_min_time(const char *name, myr_bench_fn fn, void *ctx, double seconds) {
  benchmark::internal::Benchmark *b = benchmark::RegisterBenchmark(name, [fn, ctx](benchmark::State &st) {
    myr_bench_state s{&st};
    fn(&s, ctx);
  });
  b->UseRealTime();
  if (seconds > 0) b->MinTime(seconds);
}

bool myr_bench_keep_running(myr_bench_state *st) { return st->state->KeepRunning(); }
bool myr_bench_keep_running_batch(myr_bench_state *st, uint64_t n) {
  return st->state->KeepRunningBatch(static_cast<benchmark::IterationCount>(n));
}
uint64_t myr_bench_iterations(const myr_bench_state *st) { return st->state->iterations(); }
void myr_bench_pause(myr_bench_state *st) { st->state->PauseTiming(); }
void myr_bench_resume(myr_bench_state *st) { st->state->ResumeTiming(); }
void myr_bench_set_items(myr_bench_state *st, int64_t items) {
  st->state->SetItemsProcessed(items);
  // the same figure inverted: wall time per item, printed with an SI prefix (n = ns)
  st->state->counters["s/item"] =
      benchmark::Counter(double(items), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
void myr_bench_counter(myr_bench_state *st, const char *name, double value, bool rate) {
  st->state->counters[name] =
      benchmark::Counter(value, rate ? benchmark::Counter::kIsRate : benchmark::Counter::kDefaults);
}
void myr_bench_skip(myr_bench_state *st, const char *why) { st->state->SkipWithError(why); }
void myr_bench_do_not_optimize(const void *p) { benchmark::DoNotOptimize(p); }
void myr_bench_clobber(void) { benchmark::ClobberMemory(); }

void myr_bench_ratio(const char *label, const char *numerator, const char *denominator, double target) {
  ratios().push_back({label, numerator, denominator, target});
}

void myr_bench_ratio_counter(const char *label, const char *bench, const char *counter, double target) {
  counter_ratios().push_back({label, bench, counter, target});
}

int myr_bench_main(int argc, char **argv) {
  // Repeat by default so ratios come from medians, not lone runs.
  std::vector<char *> args(argv, argv + argc);
  bool has_reps = false;
  for (int i = 1; i < argc; i++) has_reps |= std::strncmp(argv[i], "--benchmark_repetitions", 23) == 0;
  // Interleave the repetitions of all benchmarks in random order, so a
  // change in the machine's load hits library and baseline alike.
  static char reps[] = "--benchmark_repetitions=5";
  static char aggr[] = "--benchmark_display_aggregates_only=true";
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  if (!has_reps) {
    args.push_back(reps);
    args.push_back(aggr);
    args.push_back(interleave);
  }
  int n = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) return 1;
  capture_reporter reporter(benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();

  if (!ratios().empty() || !counter_ratios().empty())
    std::printf("\n%-58s %10s %8s\n", "ratio (items/s, medians of this run)", "value", "target");
  for (const ratio &r : ratios()) {
    auto a = medians().find(r.numerator);
    // several denominators ("x|y"): the ratio is taken against the fastest
    double best = 0;
    std::string best_name;
    for (size_t at = 0; at <= r.denominator.size();) {
      size_t bar = r.denominator.find('|', at);
      if (bar == std::string::npos) bar = r.denominator.size();
      std::string name = r.denominator.substr(at, bar - at);
      auto b = medians().find(name);
      if (b != medians().end() && b->second > best) {
        best = b->second;
        best_name = name;
      }
      at = bar + 1;
    }
    if (a == medians().end() || best == 0) continue; // filtered out
    print_verdict(r.label, a->second / best, r.target);
    if (r.denominator.find('|') != std::string::npos) std::printf("%-58s (fastest: %s)\n", "", best_name.c_str());
  }
  for (const counter_ratio &r : counter_ratios()) {
    auto a = counter_medians().find(r.bench + "#" + r.counter);
    if (a != counter_medians().end()) print_verdict(r.label, a->second, r.target);
  }
  return 0;
}

} // extern "C"
