/* myriad-tune: per-system throughput of a built-in scenario over thread
 * counts and chunk sizes, and the best chunk size for each system; online
 * tuning (--chunk auto) beside a full sweep; tuning files written and read;
 * traces, Gantt charts and plots. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "myriad/myriad.h"
#include "gantt.h"
#include "plot.h"
#include "scenarios.h"

#define MAX_LIST 64
#define MAX_SYSTEMS 32
#define TRACE_LANE (1u << 18) /* events a worker keeps: 10 MiB */

typedef struct options {
  const char *scenario;
  uint32_t entities;
  uint32_t threads[MAX_LIST], thread_count;
  uint32_t chunks[MAX_LIST], chunk_count;
  uint32_t frames, warmup, repeat;
  uint64_t seed;
  enum { FORMAT_TABLE, FORMAT_JSON, FORMAT_CSV } format;
  bool autotune;             /* chunks[0] is 0: autotuning, then the sweep */
  scn_kernels kernels;
  bool tuning_env;           /* tuning_path is MYRIAD_TUNING's */
  const char *trace_path, *gantt_path, *plot_path, *write_path, *tuning_path;
  FILE *trace, *gantt, *plot, *write; /* opened while parsing, so a bad path fails before any run */
} options;

#define AUTO 0u /* the chunk "size" of an autotuned configuration */
#define FROM_FILE UINT32_MAX /* of a configuration run with --tuning's sizes */

/* One system in one configuration: medians over the frames. */
typedef struct result {
  char system[64];
  uint32_t threads, chunk; /* chunk: the size it ran with (autotuned: where it settled) */
  uint32_t config_chunk;   /* the configuration's: a size, AUTO or FROM_FILE */
  uint32_t settle_frames;  /* autotuned: frames it took to settle */
  double ns_per_entity, min_ns, max_ns, entities_per_s;
  bool run_once;
  bool whole;              /* MYR_SYSTEM_WHOLE: one job, no chunk size */
} result;

typedef struct config_time {
  uint32_t threads, chunk;
  double frame_ms, merge_ms;
} config_time;

static _Noreturn void bad(const char *arg, const char *why) {
  fprintf(stderr, "myriad-tune: %s: %s (see --help)\n", arg, why);
  exit(2);
}

static void usage(FILE *out) {
  uint32_t n;
  const scn_info *s = scn_list(&n);
  fprintf(out,
          "usage: myriad-tune [options]\n"
          "Runs a built-in simulation and measures each system's throughput for every\n"
          "thread count and chunk size asked for; prints the median ns per entity and\n"
          "entities per second over the frames (with min-max), the best chunk size per\n"
          "system, the speed-up over 1 thread, and the frame and merge times.\n\n"
          "  --scenario NAME   the simulation (default particles):\n");
  for (uint32_t i = 0; i < n; i++) fprintf(out, "                      %-10s %s\n", s[i].name, s[i].about);
  fprintf(out,
          "  --entities N      entities, with k or M suffixes (default: the scenario's)\n"
          "  --threads LIST    worker counts, e.g. 1,2 (default: one per CPU)\n"
          "  --chunk LIST|RANGE|auto  rows per chunk: 256,1024,4096 or 64:65536:x2\n"
          "                    (default 256,1024,4096,16384); auto: the library's\n"
          "                    autotuning (sizes 64..65536, 5 frames each, 50 frames\n"
          "                    at most) settles each system; then its sizes and a\n"
          "                    full sweep 64:65536:x2 run in turn in the same world,\n"
          "                    to say how close it came, per system and per frame\n"
          "  --frames N        measured frames per configuration (default 20)\n"
          "  --warmup N        frames run first and not measured (default 3)\n"
          "  --repeat N        measure each configuration N times, each on a fresh\n"
          "                    world; medians over all N x frames (default 1)\n"
          "  --seed N          the scenario's seed (default 1)\n"
          "  --kernels K       simd or scalar: the hot systems' code, vectors through\n"
          "                    myriad/simd.h or plain loops; the same world either\n"
          "                    way (default simd)\n"
          "  --format F        table, json or csv (default table)\n"
          "  --trace FILE      write the last configuration's measured frames as a\n"
          "                    Chrome trace (open in Perfetto or chrome://tracing):\n"
          "                    one event per chunk, per hook and per stage merge\n"
          "  --gantt FILE.svg  the last measured frame as a Gantt chart: a row per\n"
          "                    worker, a bar per chunk coloured by system, the\n"
          "                    merges on a row of their own\n"
          "  --plot FILE.svg   entities/s against chunk size, a panel per system and\n"
          "                    a line per thread count\n"
          "  --write-tuning FILE  write the best chunk size per system (with --chunk\n"
          "                    auto: where autotuning settled) for the last thread\n"
          "                    count as a tuning file; load it with --tuning, with\n"
          "                    myr_schedule_load_tuning or MYRIAD_TUNING=FILE\n"
          "  --tuning FILE     run with the chunk sizes of a tuning file instead of a\n"
          "                    sweep (one configuration per thread count); without\n"
          "                    --chunk or --tuning, a file named by MYRIAD_TUNING is\n"
          "                    used the same way\n"
          "  --help            this text\n\n"
          "examples:\n"
          "  myriad-tune\n"
          "  myriad-tune --entities 200k --threads 1,2 --chunk 256,4096 --frames 50 --format json\n"
          "  myriad-tune --chunk 64:65536:x4 --format csv > sweep.csv\n"
          "  myriad-tune --threads 2 --chunk 4096 --frames 5 --trace trace.json --gantt frame.svg\n"
          "  myriad-tune --chunk auto --write-tuning particles.tuning\n"
          "  MYRIAD_TUNING=particles.tuning ./my_simulation\n\n"
          "Exit status: 0, 1 when a run fails, 2 for a bad argument.\n");
}

/* ---- parsing -------------------------------------------------------------- */

static uint64_t parse_u64(const char *arg, const char *text, uint64_t lo, uint64_t hi, bool suffixes) {
  errno = 0;
  char *end;
  if (!text[0] || text[0] == '-') bad(arg, "not a positive number");
  unsigned long long v = strtoull(text, &end, 10);
  uint64_t scale = 1;
  if (suffixes && (*end == 'k' || *end == 'K')) scale = 1000, end++;
  else if (suffixes && *end == 'M') scale = 1000000, end++;
  if (errno || end == text || *end) bad(arg, "not a number");
  if (v > hi / scale || v * scale < lo || v * scale > hi) {
    static char why[96];
    snprintf(why, sizeof why, "out of range (%llu..%llu)", (unsigned long long)lo, (unsigned long long)hi);
    bad(arg, why);
  }
  return v * scale;
}

static uint32_t parse_list(const char *arg, const char *text, uint32_t *out, uint32_t lo, uint32_t hi) {
  uint32_t n = 0;
  char buf[512];
  if (strlen(text) >= sizeof buf) bad(arg, "list too long");
  if (strstr(text, ",,") || text[0] == ',') bad(arg, "an empty value in the list");
  strcpy(buf, text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    if (n == MAX_LIST) bad(arg, "more than 64 values");
    out[n++] = (uint32_t)parse_u64(arg, tok, lo, hi, true);
  }
  if (n == 0 || text[strlen(text) - 1] == ',') bad(arg, "an empty list or value");
  return n;
}

/* LO:HI:xK (multiply) or LO:HI:+K (add), or a list. */
static uint32_t parse_chunks(const char *arg, const char *text, uint32_t *out) {
  if (!strchr(text, ':')) return parse_list(arg, text, out, 16, 1u << 24);
  char buf[128], *a, *b, *c;
  if (strlen(text) >= sizeof buf) bad(arg, "range too long");
  strcpy(buf, text);
  a = buf;
  b = strchr(a, ':');
  *b++ = 0;
  c = strchr(b, ':');
  if (!c || (c[1] != 'x' && c[1] != '+')) bad(arg, "a range is LO:HI:xK or LO:HI:+K");
  *c++ = 0;
  bool times = *c++ == 'x';
  uint64_t lo = parse_u64(arg, a, 16, 1u << 24, true), hi = parse_u64(arg, b, 16, 1u << 24, true);
  uint64_t step = parse_u64(arg, c, times ? 2 : 1, 1u << 24, false);
  if (lo > hi) bad(arg, "LO above HI");
  uint32_t n = 0;
  for (uint64_t v = lo; v <= hi; v = times ? v * step : v + step) {
    if (n == MAX_LIST) bad(arg, "more than 64 sizes");
    out[n++] = (uint32_t)v;
  }
  return n;
}

/* An output file named by `arg`, opened while parsing so that a bad path
 * fails before any run; NULL when not asked for. */
static FILE *open_output(const char *arg, const char *path) {
  if (!path) return NULL;
  FILE *f = fopen(path, "w");
  if (!f) {
    char why[512];
    snprintf(why, sizeof why, "%s: %s", path, strerror(errno));
    bad(arg, why);
  }
  return f;
}

/* A tuning file must load into the scenario's schedule: it is tried on a
 * one-entity world before anything runs, so a bad file is a bad argument. */
static void check_tuning_file(const options *o) {
  scn_scenario *sc = NULL;
  myr_jobs *pool; /* the first configuration's, so that a warning about the worker count is its */
  myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = o->threads[0]}, &pool);
  if (st == MYR_OK) st = scn_create_kernels(o->scenario, 1, o->seed, pool, o->kernels, &sc);
  if (st != MYR_OK) {
    fprintf(stderr, "myriad-tune: building %s: %s\n", o->scenario, myr_strerror(st));
    exit(1);
  }
  if (myr_schedule_load_tuning(scn_schedule(sc), o->tuning_path) != MYR_OK) {
    char why[512];
    snprintf(why, sizeof why, "%s", myr_schedule_error(scn_schedule(sc)));
    scn_destroy(sc);
    myr_jobs_destroy(pool);
    bad(o->tuning_env ? "MYRIAD_TUNING" : "--tuning", why);
  }
  scn_destroy(sc);
  myr_jobs_destroy(pool);
}

static void parse(int argc, char **argv, options *o) {
  *o = (options){.scenario = "particles", .frames = 20, .warmup = 3, .repeat = 1, .seed = 1};
  static const struct option longs[] = {
      {"scenario", required_argument, NULL, 's'}, {"entities", required_argument, NULL, 'n'},
      {"threads", required_argument, NULL, 't'},  {"chunk", required_argument, NULL, 'c'},
      {"frames", required_argument, NULL, 'f'},   {"warmup", required_argument, NULL, 'w'},
      {"repeat", required_argument, NULL, 'R'},
      {"seed", required_argument, NULL, 'r'},     {"format", required_argument, NULL, 'o'},
      {"trace", required_argument, NULL, 'T'},    {"gantt", required_argument, NULL, 'G'},
      {"plot", required_argument, NULL, 'P'},
      {"write-tuning", required_argument, NULL, 'W'}, {"tuning", required_argument, NULL, 'U'},
      {"kernels", required_argument, NULL, 'K'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  opterr = 0;
  for (int ch; (ch = getopt_long(argc, argv, "", longs, NULL)) != -1;) {
    switch (ch) {
    case 's': o->scenario = optarg; break;
    case 'n': o->entities = (uint32_t)parse_u64("--entities", optarg, 1, 100000000, true); break;
    case 't': o->thread_count = parse_list("--threads", optarg, o->threads, 1, 1024); break;
    case 'c':
      o->autotune = strcmp(optarg, "auto") == 0;
      o->chunk_count = o->autotune ? 0 : parse_chunks("--chunk", optarg, o->chunks);
      break;
    case 'f': o->frames = (uint32_t)parse_u64("--frames", optarg, 1, 100000, false); break;
    case 'R': o->repeat = (uint32_t)parse_u64("--repeat", optarg, 1, 1000, false); break;
    case 'w': o->warmup = (uint32_t)parse_u64("--warmup", optarg, 0, 100000, false); break;
    case 'r': o->seed = parse_u64("--seed", optarg, 0, UINT64_MAX, false); break;
    case 'o':
      if (strcmp(optarg, "table") == 0) o->format = FORMAT_TABLE;
      else if (strcmp(optarg, "json") == 0) o->format = FORMAT_JSON;
      else if (strcmp(optarg, "csv") == 0) o->format = FORMAT_CSV;
      else bad("--format", "table, json or csv");
      break;
    case 'T': o->trace_path = optarg; break;
    case 'G': o->gantt_path = optarg; break;
    case 'P': o->plot_path = optarg; break;
    case 'W': o->write_path = optarg; break;
    case 'U': o->tuning_path = optarg; break;
    case 'K':
      if (strcmp(optarg, "simd") == 0) o->kernels = SCN_SIMD;
      else if (strcmp(optarg, "scalar") == 0) o->kernels = SCN_SCALAR;
      else bad("--kernels", "simd or scalar");
      break;
    case 'h': usage(stdout); exit(0);
    default: bad(optind > 1 ? argv[optind - 1] : "?", "unknown option or missing value");
    }
  }
  if (optind < argc) bad(argv[optind], "unexpected argument");
  if ((uint64_t)o->frames * o->repeat > 1000000) bad("--repeat", "frames x repeat above 1000000");
  uint32_t n;
  const scn_info *infos = scn_list(&n), *info = NULL;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(infos[i].name, o->scenario) == 0) info = &infos[i];
  if (!info) bad("--scenario", "no such scenario");
  if (!o->entities) o->entities = info->default_entities;
  /* refuse before allocating what the machine does not have */
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0 && (double)o->entities * info->bytes_per_entity * 2 > (double)pages * (double)page)
    bad("--entities", "more than this machine's memory allows");
  if (!o->thread_count) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads[0] = cpus > 0 ? (uint32_t)cpus : 1;
    o->thread_count = 1;
  }
  if (o->tuning_path && (o->autotune || o->chunk_count)) bad("--tuning", "the chunk sizes come from the file: no --chunk");
  if (o->autotune) { /* autotuning, then the sweep it is compared with */
    o->chunks[o->chunk_count++] = AUTO;
    for (uint32_t r = 64; r <= 65536; r *= 2) o->chunks[o->chunk_count++] = r;
  } else if (o->tuning_path || (!o->chunk_count && getenv("MYRIAD_TUNING") && *getenv("MYRIAD_TUNING"))) {
    /* --tuning FILE, or like every program, MYRIAD_TUNING's sizes (taken by
     * each schedule as it is created) when no --chunk says otherwise */
    o->tuning_env = !o->tuning_path;
    if (o->tuning_env) o->tuning_path = getenv("MYRIAD_TUNING");
    o->chunks[o->chunk_count++] = FROM_FILE;
    check_tuning_file(o);
  } else if (!o->chunk_count) {
    const uint32_t dflt[] = {256, 1024, 4096, 16384};
    memcpy(o->chunks, dflt, sizeof dflt);
    o->chunk_count = 4;
  }
  o->trace = open_output("--trace", o->trace_path);
  o->gantt = open_output("--gantt", o->gantt_path);
  o->plot = open_output("--plot", o->plot_path);
  o->write = open_output("--write-tuning", o->write_path);
}

/* ---- measuring ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, uint32_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* The Gantt chart of the last traced frame. */
static void write_gantt(const options *o, myr_schedule *s, myr_jobs *pool) {
  size_t n;
  uint64_t dropped;
  myr_trace_event *ev = NULL;
  if (myr_schedule_trace_events(s, NULL, 0, &n, NULL) != MYR_OK || !(ev = malloc(sizeof *ev * (n ? n : 1))) ||
      myr_schedule_trace_events(s, ev, n, &n, &dropped) != MYR_OK) {
    fprintf(stderr, "myriad-tune: reading the trace for %s failed\n", o->gantt_path);
    exit(1);
  }
  if (dropped) /* the last frame is not all there: say so rather than draw a wrong chart */
    fprintf(stderr, "myriad-tune: %s: the trace dropped %llu events (a worker keeps %u); the chart may be cut\n",
            o->gantt_path, (unsigned long long)dropped, TRACE_LANE);
  char title[160];
  uint32_t c = o->chunks[o->chunk_count - 1];
  char chunk[64];
  if (c == FROM_FILE) snprintf(chunk, sizeof chunk, "chunks from the tuning file");
  else snprintf(chunk, sizeof chunk, "chunk %u", c);
  snprintf(title, sizeof title, "%s, %u entities, %u workers, %s", o->scenario, o->entities, myr_jobs_worker_count(pool),
           chunk);
  if (gantt_write(o->gantt, s, ev, n, myr_jobs_worker_count(pool), myr_schedule_stage_count(s), title) != 0 ||
      fclose(o->gantt) != 0) {
    fprintf(stderr, "myriad-tune: writing %s: %s\n", o->gantt_path, strerror(errno));
    exit(1);
  }
  free(ev);
}

/* Autotunes every system after the warm-up, until each has settled (a
 * number of frames the library bounds: 5 frames a candidate, 50 at most),
 * and notes how many frames each took. */
static uint32_t settle(const options *o, myr_schedule *s, uint32_t *frames) {
  myr_status st = myr_schedule_autotune(s, &(myr_autotune_desc){.frames = 5});
  uint32_t f = 0;
  for (; st == MYR_OK && !myr_schedule_autotune_done(s); f++)
    if ((st = myr_schedule_run(s, 1.0 / 60)) != MYR_OK) {
      fprintf(stderr, "myriad-tune: autotuning %s, frame %u: %s\n", o->scenario, f, myr_schedule_error(s));
      exit(1);
    }
  if (st != MYR_OK) {
    fprintf(stderr, "myriad-tune: autotuning %s: %s\n", o->scenario, myr_schedule_error(s));
    exit(1);
  }
  for (uint32_t i = 0; i < myr_schedule_system_count(s) && i < MAX_SYSTEMS; i++) {
    myr_autotune_info info;
    myr_schedule_autotune_info(s, i, &info);
    frames[i] = info.frames;
  }
  return f;
}

/* The sizes of configuration `chunk` on every system: a swept size, or each
 * system's autotuned one (rows[i]); a tuning file's stay as loaded. */
static void apply_sizes(myr_schedule *s, uint32_t systems, uint32_t chunk, const uint32_t *rows) {
  if (chunk == FROM_FILE) return;
  for (uint32_t i = 0; i < systems; i++) myr_schedule_set_chunk_rows(s, i, chunk == AUTO ? rows[i] : chunk);
}

/* Measures `count` configurations (sizes, AUTO, FROM_FILE) on one fresh
 * scenario per repetition: warm-up, then with AUTO first the autotuning,
 * then o->frames rounds of one frame of each configuration, in an order
 * shuffled each round. So an
 * autotuned configuration is measured in the same world and the same
 * moments as the sweep it is compared with (a sweep alone has count 1: one
 * world per size). out gets count x systems results, time count entries;
 * the last configuration of the last repetition is traced when asked (with
 * AUTO: frames of its own after the measured ones, at the autotuned sizes). */
static uint32_t measure(const options *o, myr_jobs *pool, const uint32_t *chunks, uint32_t count, bool trace,
                        result *out, config_time *time) {
  uint32_t samples = o->frames * o->repeat, systems = 0;
  size_t per_config = (size_t)MAX_SYSTEMS * samples;
  double *ns = malloc(sizeof(double) * per_config * count), *frame = malloc(sizeof(double) * samples * count),
         *merge = malloc(sizeof(double) * samples * count);
  if (!ns || !frame || !merge) exit(1);
  bool once[MAX_SYSTEMS] = {0}, whole[MAX_SYSTEMS] = {0}, autotuned = chunks[0] == AUTO;
  uint32_t settled[MAX_SYSTEMS] = {0}, rows[MAX_SYSTEMS] = {0};
  scn_scenario *sc = NULL;
  myr_schedule *s = NULL;
  myr_status st;
  for (uint32_t rep = 0; rep < o->repeat; rep++) {
    if (sc) scn_destroy(sc);
    if ((st = scn_create_kernels(o->scenario, o->entities, o->seed, pool, o->kernels, &sc)) != MYR_OK) {
      fprintf(stderr, "myriad-tune: building %s: %s\n", o->scenario, myr_strerror(st));
      exit(1);
    }
    s = scn_schedule(sc);
    systems = myr_schedule_system_count(s);
    if (systems > MAX_SYSTEMS) systems = MAX_SYSTEMS;
    if (chunks[0] == FROM_FILE && !o->tuning_env && myr_schedule_load_tuning(s, o->tuning_path) != MYR_OK) {
      fprintf(stderr, "myriad-tune: --tuning: %s\n", myr_schedule_error(s));
      exit(1);
    }
    if (!autotuned) apply_sizes(s, systems, chunks[0], NULL);
    /* traced without autotuning: a trace file gets every measured frame, a
     * chart alone the last two (it draws the last, so that the one it draws
     * is not the first traced) */
    bool traced = trace && rep + 1 == o->repeat && !autotuned;
    uint32_t first_traced = o->trace || o->frames < 2 ? 0 : o->frames - 2;
    for (uint32_t f = 0; f < o->warmup; f++)
      if ((st = myr_schedule_run(s, 1.0 / 60)) != MYR_OK) {
        fprintf(stderr, "myriad-tune: frame %u: %s\n", f, myr_schedule_error(s));
        exit(1);
      }
    if (autotuned) {
      settle(o, s, settled);
      for (uint32_t i = 0; i < systems; i++) {
        myr_autotune_info info;
        myr_schedule_autotune_info(s, i, &info);
        rows[i] = info.rows;
      }
    }
    for (uint32_t f = 0; f < o->frames; f++)
      for (uint32_t turn = 0, order[MAX_LIST], mix = 0x9e3779b9u * (rep * o->frames + f + 1); turn < count; turn++) {
        /* in turn, in a new order each round: a frame's time depends a little
         * on what the frame before left in the caches, and no configuration
         * should always follow the same one */
        if (turn == 0)
          for (uint32_t i = 0; i < count; i++) {
            mix ^= mix << 13, mix ^= mix >> 17, mix ^= mix << 5;
            uint32_t j = mix % (i + 1);
            order[i] = order[j];
            order[j] = i;
          }
        uint32_t c = order[turn];
        if (count > 1) apply_sizes(s, systems, chunks[c], rows);
        if (traced && f == first_traced && (st = myr_schedule_trace_begin(s, TRACE_LANE)) != MYR_OK) {
          fprintf(stderr, "myriad-tune: starting the trace: %s\n", myr_strerror(st));
          exit(1);
        }
        double t0 = now_ms();
        if ((st = myr_schedule_run(s, 1.0 / 60)) != MYR_OK) {
          fprintf(stderr, "myriad-tune: frame %u: %s\n", f, myr_schedule_error(s));
          exit(1);
        }
        size_t k = (size_t)c * samples + rep * o->frames + f;
        frame[k] = now_ms() - t0;
        merge[k] = 0;
        for (uint32_t g = 0; g < myr_schedule_stage_count(s); g++) {
          myr_stage_stats gs;
          if (myr_schedule_stage_stats(s, g, &gs) == MYR_OK) merge[k] += (double)gs.merge_ns * 1e-6;
        }
        for (uint32_t i = 0; i < systems; i++) {
          myr_system_stats ss;
          myr_schedule_system_stats(s, i, &ss);
          once[i] = ss.entities == 0 && ss.chunks <= 1;
          whole[i] = !once[i] && ss.chunk_rows == 0; /* the schedule cuts it into no chunks of a size */
          ns[c * per_config + (size_t)i * samples + rep * o->frames + f] =
              ss.entities ? (double)ss.ns / (double)ss.entities : (double)ss.ns;
        }
      }
  }
  if (trace && autotuned) { /* the trace and chart: frames at the autotuned sizes */
    apply_sizes(s, systems, AUTO, rows);
    uint32_t traced_frames = o->trace ? o->frames : 2;
    st = myr_schedule_trace_begin(s, TRACE_LANE);
    for (uint32_t f = 0; st == MYR_OK && f < traced_frames; f++) st = myr_schedule_run(s, 1.0 / 60);
    if (st != MYR_OK) {
      fprintf(stderr, "myriad-tune: a traced frame: %s\n", myr_schedule_error(s));
      exit(1);
    }
  }
  for (uint32_t c = 0; c < count; c++) {
    for (uint32_t i = 0; i < systems; i++) {
      myr_system_stats ss;
      myr_schedule_system_stats(s, i, &ss);
      result *r = &out[c * systems + i];
      snprintf(r->system, sizeof r->system, "%s", ss.name);
      r->threads = myr_jobs_worker_count(pool);
      myr_autotune_info info;
      myr_schedule_autotune_info(s, i, &info);
      r->chunk = chunks[c] == AUTO ? rows[i] : chunks[c] == FROM_FILE ? info.rows : chunks[c];
      r->config_chunk = chunks[c];
      r->settle_frames = chunks[c] == AUTO ? settled[i] : 0;
      r->run_once = once[i];
      r->whole = whole[i];
      double *v = ns + c * per_config + (size_t)i * samples;
      r->ns_per_entity = median(v, samples);
      r->min_ns = v[0];
      r->max_ns = v[samples - 1];
      r->entities_per_s = r->run_once || r->ns_per_entity <= 0 ? 0 : 1e9 / r->ns_per_entity;
    }
    time[c] = (config_time){myr_jobs_worker_count(pool), chunks[c], median(frame + (size_t)c * samples, samples),
                            median(merge + (size_t)c * samples, samples)};
  }
  if (trace && o->gantt) write_gantt(o, s, pool);
  if (trace && ((st = myr_schedule_trace_end(s, o->trace)) != MYR_OK || (o->trace && fclose(o->trace) != 0))) {
    fprintf(stderr, "myriad-tune: writing %s: %s\n", o->trace_path, st != MYR_OK ? myr_strerror(st) : strerror(errno));
    exit(1);
  }
  free(ns);
  free(frame);
  free(merge);
  scn_destroy(sc);
  return systems;
}

/* ---- reporting ------------------------------------------------------------ */

static const char *mode_of(uint32_t config_chunk) {
  return config_chunk == AUTO ? "auto" : config_chunk == FROM_FILE ? "file" : "sweep";
}

/* The fastest chunk of a system at a thread count, over the sweep (or the
 * tuning file's configuration), not the autotuned one; NULL if none. */
static const result *best_of(const result *rs, uint32_t n, const char *system, uint32_t threads) {
  const result *best = NULL;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(rs[i].system, system) == 0 && rs[i].threads == threads && !rs[i].run_once && !rs[i].whole &&
        rs[i].config_chunk != AUTO && (!best || rs[i].ns_per_entity < best->ns_per_entity))
      best = &rs[i];
  return best;
}

/* The autotuned result of a system at a thread count; NULL if none. */
static const result *auto_of(const result *rs, uint32_t n, const char *system, uint32_t threads) {
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(rs[i].system, system) == 0 && rs[i].threads == threads && !rs[i].run_once && !rs[i].whole &&
        rs[i].config_chunk == AUTO)
      return &rs[i];
  return NULL;
}

/* Thread count t's autotuned frame and the fastest swept one (both NULL
 * without autotuning). */
static void frames_of(const options *o, const config_time *ts, uint32_t t, const config_time **a, const config_time **b) {
  *a = *b = NULL;
  if (!o->autotune) return;
  *a = &ts[t * o->chunk_count];
  for (uint32_t c = 1; c < o->chunk_count; c++)
    if (!*b || ts[t * o->chunk_count + c].frame_ms < (*b)->frame_ms) *b = &ts[t * o->chunk_count + c];
}

static void print_config_chunk(uint32_t c, bool json) {
  if (c == AUTO || c == FROM_FILE) printf(json ? "null" : "%7s", mode_of(c));
  else printf(json ? "%u" : "%7u", c);
}

static void report(const options *o, const result *rs, uint32_t n, const config_time *ts, uint32_t tn, uint32_t systems) {
  if (o->format == FORMAT_CSV) {
    printf("system,threads,chunk,ns_per_entity,min_ns_per_entity,max_ns_per_entity,entities_per_s,mode\n");
    for (uint32_t i = 0; i < n; i++)
      printf("%s,%u,%u,%.4f,%.4f,%.4f,%.1f,%s\n", rs[i].system, rs[i].threads, rs[i].chunk, rs[i].ns_per_entity,
             rs[i].min_ns, rs[i].max_ns, rs[i].entities_per_s, mode_of(rs[i].config_chunk));
    return;
  }
  if (o->format == FORMAT_JSON) {
    printf("{\"scenario\": \"%s\", \"entities\": %u, \"kernels\": \"%s\", \"frames\": %u, \"warmup\": %u, "
           "\"repeat\": %u, \"seed\": %llu,\n \"results\": [",
           o->scenario, o->entities, o->kernels == SCN_SIMD ? "simd" : "scalar", o->frames, o->warmup, o->repeat,
           (unsigned long long)o->seed);
    for (uint32_t i = 0; i < n; i++)
      printf("%s\n  {\"system\": \"%s\", \"threads\": %u, \"chunk\": %u, \"mode\": \"%s\", \"run_once\": %s, "
             "\"whole\": %s, \"ns_per_entity\": %.4f, \"min_ns_per_entity\": %.4f, \"max_ns_per_entity\": %.4f, "
             "\"entities_per_s\": %.1f}",
             i ? "," : "", rs[i].system, rs[i].threads, rs[i].chunk, mode_of(rs[i].config_chunk),
             rs[i].run_once ? "true" : "false", rs[i].whole ? "true" : "false", rs[i].ns_per_entity, rs[i].min_ns, rs[i].max_ns, rs[i].entities_per_s);
    printf("],\n \"configurations\": [");
    for (uint32_t i = 0; i < tn; i++) {
      printf("%s\n  {\"threads\": %u, \"chunk\": ", i ? "," : "", ts[i].threads);
      print_config_chunk(ts[i].chunk, true);
      printf(", \"mode\": \"%s\", \"frame_ms\": %.4f, \"merge_ms\": %.4f}", mode_of(ts[i].chunk), ts[i].frame_ms,
             ts[i].merge_ms);
    }
    printf("],\n \"best\": [");
    bool first = true;
    for (uint32_t t = 0; t < o->thread_count; t++)
      for (uint32_t sys = 0; sys < systems; sys++) {
        const result *b = best_of(rs, n, rs[sys].system, ts[t * o->chunk_count].threads);
        if (!b) continue;
        printf("%s\n  {\"system\": \"%s\", \"threads\": %u, \"chunk\": %u, \"ns_per_entity\": %.4f}", first ? "" : ",",
               b->system, b->threads, b->chunk, b->ns_per_entity);
        first = false;
      }
    printf("]");
    if (o->autotune) {
      printf(",\n \"autotune\": [");
      first = true;
      for (uint32_t t = 0; t < o->thread_count; t++)
        for (uint32_t sys = 0; sys < systems; sys++) {
          uint32_t threads = ts[t * o->chunk_count].threads;
          const result *a = auto_of(rs, n, rs[sys].system, threads), *b = best_of(rs, n, rs[sys].system, threads);
          if (!a || !b) continue;
          printf("%s\n  {\"system\": \"%s\", \"threads\": %u, \"chunk\": %u, \"settle_frames\": %u, "
                 "\"entities_per_s\": %.1f, \"sweep_best_chunk\": %u, \"sweep_best_entities_per_s\": %.1f, "
                 "\"ratio\": %.4f}",
                 first ? "" : ",", a->system, threads, a->chunk, a->settle_frames, a->entities_per_s, b->chunk,
                 b->entities_per_s, b->ns_per_entity / a->ns_per_entity);
          first = false;
        }
      printf("],\n \"autotune_frames\": [");
      for (uint32_t t = 0; t < o->thread_count; t++) {
        const config_time *a, *b;
        frames_of(o, ts, t, &a, &b);
        printf("%s\n  {\"threads\": %u, \"frame_ms\": %.4f, \"sweep_best_chunk\": %u, \"sweep_best_frame_ms\": %.4f, "
               "\"ratio\": %.4f}", t ? "," : "", a->threads, a->frame_ms, b->chunk, b->frame_ms, b->frame_ms / a->frame_ms);
      }
      printf("]");
    }
    printf("}\n");
    return;
  }
  printf("%s (%s kernels), %u entities, %u frames (after %u warm-up)", o->scenario,
         o->kernels == SCN_SIMD ? "simd" : "scalar", o->entities, o->frames, o->warmup);
  if (o->autotune) printf(" of each size in turn in one world, after autotuning it");
  if (o->repeat > 1) printf(" x %u fresh worlds", o->repeat);
  printf(", medians\n\n");
  printf("%-14s %7s %7s %10s %12s %21s\n", "system", "threads", "chunk", "ns/entity", "M entities/s", "min-max ns/entity");
  for (uint32_t i = 0; i < n; i++) {
    if (rs[i].run_once) {
      printf("%-14s %7u %7s %10s %12s %10.1f us a frame\n", rs[i].system, rs[i].threads, "once", "-", "-",
             rs[i].ns_per_entity / 1e3);
      continue;
    }
    char chunk[16];
    snprintf(chunk, sizeof chunk, "%u%s", rs[i].chunk,
             rs[i].config_chunk == AUTO ? "a" : rs[i].config_chunk == FROM_FILE ? "f" : "");
    if (rs[i].whole) snprintf(chunk, sizeof chunk, "whole");
    printf("%-14s %7u %7s %10.3f %12.1f %10.3f-%-10.3f\n", rs[i].system, rs[i].threads, chunk, rs[i].ns_per_entity,
           rs[i].entities_per_s / 1e6, rs[i].min_ns, rs[i].max_ns);
  }
  if (o->autotune) printf("(a: where autotuning settled)\n");
  if (o->tuning_path) printf("(f: from %s)\n", o->tuning_path);
  printf("\n%-7s %7s %10s %10s\n", "threads", "chunk", "frame ms", "merge ms");
  for (uint32_t i = 0; i < tn; i++) {
    printf("%7u ", ts[i].threads);
    print_config_chunk(ts[i].chunk, false);
    printf(" %10.3f %10.3f\n", ts[i].frame_ms, ts[i].merge_ms);
  }
  printf("\nbest chunk per system%s:\n", o->autotune ? " in the sweep" : "");
  bool one = false;
  for (uint32_t t = 0; t < o->thread_count; t++) one |= ts[t * o->chunk_count].threads == 1;
  for (uint32_t t = 0; t < o->thread_count; t++) {
    uint32_t threads = ts[t * o->chunk_count].threads;
    for (uint32_t sys = 0; sys < systems; sys++) {
      const result *b = best_of(rs, n, rs[sys].system, threads);
      if (!b) continue;
      printf("  %-14s %3u threads: chunk %6u, %.3f ns/entity", b->system, threads, b->chunk, b->ns_per_entity);
      const result *b1 = one && threads != 1 ? best_of(rs, n, b->system, 1) : NULL;
      if (b1) printf(", %.2fx the speed of 1 thread", b1->ns_per_entity / b->ns_per_entity);
      printf("\n");
    }
  }
  if (!o->autotune) return;
  printf("\nautotuning, against the sweep's best:\n");
  for (uint32_t t = 0; t < o->thread_count; t++) {
    uint32_t threads = ts[t * o->chunk_count].threads;
    for (uint32_t sys = 0; sys < systems; sys++) {
      const result *a = auto_of(rs, n, rs[sys].system, threads), *b = best_of(rs, n, rs[sys].system, threads);
      if (!a || !b) continue;
      printf("  %-14s %3u threads: settled on %6u in %2u frames, %8.1f M/s; sweep best %6u, %8.1f M/s: %.3fx\n",
             a->system, threads, a->chunk, a->settle_frames, a->entities_per_s / 1e6, b->chunk, b->entities_per_s / 1e6,
             b->ns_per_entity / a->ns_per_entity);
    }
    const config_time *a, *b;
    frames_of(o, ts, t, &a, &b);
    printf("  %-14s %3u threads: %.3f ms autotuned; sweep best chunk %u, %.3f ms: %.3fx\n", "(frame)", threads, a->frame_ms,
           b->chunk, b->frame_ms, b->frame_ms / a->frame_ms);
  }
}

/* --write-tuning: the last thread count's best (or autotuned) chunk sizes. */
static void write_tuning(const options *o, const result *rs, uint32_t n) {
  uint32_t threads = o->threads[o->thread_count - 1];
  myr_jobs *pool;
  scn_scenario *sc;
  myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = threads}, &pool);
  if (st == MYR_OK && (st = scn_create_kernels(o->scenario, 1, o->seed, pool, o->kernels, &sc)) != MYR_OK) myr_jobs_destroy(pool);
  if (st != MYR_OK) {
    fprintf(stderr, "myriad-tune: --write-tuning: %s\n", myr_strerror(st));
    exit(1);
  }
  myr_schedule *s = scn_schedule(sc);
  threads = myr_jobs_worker_count(pool);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) {
    myr_system_stats ss;
    myr_schedule_system_stats(s, i, &ss);
    const result *r = o->autotune ? auto_of(rs, n, ss.name, threads) : best_of(rs, n, ss.name, threads);
    if (r) myr_schedule_set_chunk_rows(s, i, r->chunk);
  }
  st = myr_schedule_write_tuning(s, o->write, &(myr_tuning_desc){.scenario = o->scenario, .entities = o->entities});
  if (st != MYR_OK || fclose(o->write) != 0) {
    fprintf(stderr, "myriad-tune: writing %s: %s\n", o->write_path, st != MYR_OK ? myr_schedule_error(s) : strerror(errno));
    exit(1);
  }
  scn_destroy(sc);
  myr_jobs_destroy(pool);
}

int main(int argc, char **argv) {
  options o;
  parse(argc, argv, &o);
  uint32_t configs = o.thread_count * o.chunk_count;
  result *rs = calloc((size_t)configs * MAX_SYSTEMS, sizeof *rs);
  config_time *ts = calloc(configs, sizeof *ts);
  if (!rs || !ts) return 1;
  bool progress = isatty(2);
  uint32_t n = 0, systems = 0, k = 0;
  for (uint32_t t = 0; t < o.thread_count; t++) {
    myr_jobs *pool;
    myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = o.threads[t]}, &pool);
    if (st != MYR_OK) {
      fprintf(stderr, "myriad-tune: a pool of %u workers: %s\n", o.threads[t], myr_strerror(st));
      return 1;
    }
    /* a sweep: one world per size; autotuning: one world for all, in turn */
    uint32_t step = o.autotune ? o.chunk_count : 1;
    for (uint32_t c = 0; c < o.chunk_count; c += step, k += step) {
      if (progress) {
        char chunk[16];
        snprintf(chunk, sizeof chunk, "%u", o.chunks[c]);
        fprintf(stderr, "\r%u/%u: %u threads, chunk %s   ", k + 1, configs, o.threads[t],
                o.autotune ? "auto and the sweep" : o.chunks[c] == FROM_FILE ? "file" : chunk);
      }
      uint32_t m = measure(&o, pool, o.chunks + c, step, (o.trace || o.gantt) && k + step == configs, rs + n, ts + k);
      n += m * step;
      systems = m;
    }
    myr_jobs_destroy(pool);
  }
  if (progress) fprintf(stderr, "\r%*s\r", 60, "");
  report(&o, rs, n, ts, configs, systems);
  if (o.write) write_tuning(&o, rs, n);
  if (o.plot) {
    plot_point *pts = calloc(n ? n : 1, sizeof *pts);
    size_t m = 0;
    for (uint32_t i = 0; pts && i < n; i++)
      if (!rs[i].run_once && !rs[i].whole && rs[i].config_chunk != AUTO && rs[i].config_chunk != FROM_FILE) pts[m++] = (plot_point){rs[i].system, rs[i].threads, rs[i].chunk, rs[i].entities_per_s};
    char title[160];
    snprintf(title, sizeof title, "myriad-tune: %s, %u entities", o.scenario, o.entities);
    if (!pts || plot_write(o.plot, pts, m, title) != 0 || fclose(o.plot) != 0) {
      fprintf(stderr, "myriad-tune: writing %s: %s\n", o.plot_path, strerror(errno));
      return 1;
    }
    free(pts);
  }
  free(rs);
  free(ts);
  return 0;
}
