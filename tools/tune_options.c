/* myriad-tune's options: the command line parsed and checked, --help. A
 * bad argument is one line on stderr naming it and exit status 2, before
 * anything runs. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tune.h"

const char *tune_program = "myriad-tune";
void (*tune_before_exit)(int status);

static _Noreturn void bad(const char *arg, const char *why) {
  fprintf(stderr, "%s: %s: %s (see --help)\n", tune_program, arg, why);
  if (tune_before_exit) tune_before_exit(2);
  exit(2);
}

/* --help from --entities on. */
static void usage_options(FILE *out) {
  fprintf(out, "  --entities N      entities, with k or M suffixes (default: the scenario's)\n"
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
               "                    one event per chunk, per hook, per stage merge and\n"
               "                    per part of a merge on the worker that ran it\n"
               "  --gantt FILE.svg  the last measured frame as a Gantt chart: a row per\n"
               "                    worker, a bar per chunk coloured by system, the\n"
               "                    merges on a row of their own, their parts on the\n"
               "                    workers that ran them\n"
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
               "  --save FILE       after the last configuration's last frame, save its\n"
               "                    world to FILE (crash safe: a whole old or new file)\n"
               "  --restore FILE    start every configuration and repetition from the\n"
               "                    world saved in FILE instead of the scenario's first\n"
               "                    one; the file names its scenario, entities and seed\n"
               "                    (--scenario, --entities or --seed may repeat them)\n"
               "  --checkpoint FILE --checkpoint-every N\n"
               "                    save each world to FILE, crash safe, whenever its frame\n"
               "                    count is a multiple of N (a restored world's count goes\n"
               "                    on from the file's); the two go together\n"
               "  --hash            print on stderr, for each world run (each configuration\n"
               "                    and repetition), world_hash=<16 hex digits> after its\n"
               "                    last frame; --warmup 0 --frames N runs exactly N frames\n");
  fprintf(out, "  --serve [ADDR:]PORT  run one configuration (the first thread count and\n"
               "                    chunk size) until interrupted (SIGINT, SIGTERM: exit 0)\n"
               "                    and serve it live: the web client at http://ADDR:PORT/,\n"
               "                    its stream at ws://ADDR:PORT/stream (ADDR: an IPv4\n"
               "                    address, default 127.0.0.1, or an IPv6 one in\n"
               "                    brackets, e.g. [::1]:8080; PORT: digits, 0..65535, 0\n"
               "                    for any free port). Prints listening=ADDR:PORT on\n"
               "                    stderr when ready, with the port chosen. Browsers may\n"
               "                    stream from pages at http://ADDR:PORT, localhost:PORT,\n"
               "                    127.0.0.1:PORT, [::1]:PORT (ADDR ::1 or ::) and, with\n"
               "                    ADDR 0.0.0.0 or ::, at http://IP:PORT when the\n"
               "                    request's Host header is that IP literal and port\n"
               "                    (an IPv6 one in brackets, with :: only); never at a\n"
               "                    host name from the Host header\n"
               "  --serve-control   with --serve: clients may pause, step, resume and set\n"
               "                    chunk sizes with the token printed as token=HEX\n"
               "  --fps N           with --serve: at most N frames a second (1..10000)\n"
               "  --web-root DIR    with --serve: the web client's files (default: the\n"
               "                    installed share/myriad/web, or the source tree's web/\n"
               "                    when run from the build tree)\n"
               "  --help            this text\n\n"
               "examples:\n"
               "  myriad-tune\n"
               "  myriad-tune --entities 200k --threads 1,2 --chunk 256,4096 --frames 50 --format json\n"
               "  myriad-tune --chunk 64:65536:x4 --format csv > sweep.csv\n"
               "  myriad-tune --threads 2 --chunk 4096 --frames 5 --trace trace.json --gantt frame.svg\n"
               "  myriad-tune --chunk auto --write-tuning particles.tuning\n"
               "  MYRIAD_TUNING=particles.tuning ./my_simulation\n"
               "  myriad-tune --threads 1 --chunk 1024 --warmup 0 --frames 100 --save w.snap\n"
               "  myriad-tune --restore w.snap --threads 2 --chunk 4096 --warmup 0 --frames 50 --hash\n"
               "  myriad-tune --scenario boids --threads 2 --chunk 4096 --serve 8080 --fps 60\n\n"
               "Exit status: 0, 1 when a run fails, 2 for a bad argument or a --restore file\n"
               "that cannot be read or is corrupt.\n");
}

/* --help. */
static void usage(FILE *out) {
  uint32_t n;
  const scn_info *s = scn_list(&n);
  fprintf(out, "usage: myriad-tune [options]\n"
               "Runs a built-in simulation and measures each system's throughput for every\n"
               "thread count and chunk size asked for; prints the median ns per entity and\n"
               "entities per second over the frames (with min-max), the best chunk size per\n"
               "system (with a note when it is the smallest or largest size swept: the best\n"
               "may lie beyond, so widen the range), the speed-up over 1 thread, and the\n"
               "frame and merge times.\n\n"
               "  --scenario NAME   the simulation (default particles):\n");
  for (uint32_t i = 0; i < n; i++) fprintf(out, "                      %-10s %s\n", s[i].name, s[i].about);
  usage_options(out);
}

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

/* The value of one option into o. */
static void take(options *o, int ch, char **argv) {
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
  case 'r':
    o->seed = parse_u64("--seed", optarg, 0, UINT64_MAX, false);
    o->seed_given = true;
    break;
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
  case 'S': o->save_path = optarg; break;
  case 'L': o->restore_path = optarg; break;
  case 'C': o->checkpoint_path = optarg; break;
  case 'E': o->checkpoint_every = (uint32_t)parse_u64("--checkpoint-every", optarg, 1, UINT32_MAX, false); break;
  case 'H': o->hash = true; break;
  case 'V': {
    const char *why = serve_parse_address(optarg, o);
    if (why) bad("--serve", why);
    o->serve = true;
    break;
  }
  case 'X': o->serve_control = true; break;
  case 'F': o->fps = (uint32_t)parse_u64("--fps", optarg, 1, 10000, false); break;
  case 'B': o->web_root = optarg; break;
  case 'h': usage(stdout); exit(0);
  default: bad(optind > 1 ? argv[optind - 1] : "?", "unknown option or missing value");
  }
}

/* --serve and the options that go with it. */
static void check_serve(const options *o) {
  if (!o->serve) {
    if (o->serve_control) bad("--serve-control", "only with --serve");
    if (o->fps) bad("--fps", "only with --serve");
    if (o->web_root) bad("--web-root", "only with --serve");
    return;
  }
  if (!serve_available()) bad("--serve", "this myriad-tune was built without the server (no libwebsockets)");
  struct stat st;
  if (o->web_root && (stat(o->web_root, &st) != 0 || !S_ISDIR(st.st_mode))) bad("--web-root", "not a directory");
}

/* The options as given, with the defaults of those not given. */
static void read_args(int argc, char **argv, options *o) {
  *o = (options){.frames = 20, .warmup = 3, .repeat = 1, .seed = 1}; /* the scenario: check_world */
  static const struct option longs[] = {{"scenario", required_argument, NULL, 's'},
                                        {"entities", required_argument, NULL, 'n'},
                                        {"threads", required_argument, NULL, 't'},
                                        {"chunk", required_argument, NULL, 'c'},
                                        {"frames", required_argument, NULL, 'f'},
                                        {"warmup", required_argument, NULL, 'w'},
                                        {"repeat", required_argument, NULL, 'R'},
                                        {"seed", required_argument, NULL, 'r'},
                                        {"format", required_argument, NULL, 'o'},
                                        {"trace", required_argument, NULL, 'T'},
                                        {"gantt", required_argument, NULL, 'G'},
                                        {"plot", required_argument, NULL, 'P'},
                                        {"write-tuning", required_argument, NULL, 'W'},
                                        {"tuning", required_argument, NULL, 'U'},
                                        {"kernels", required_argument, NULL, 'K'},
                                        {"save", required_argument, NULL, 'S'},
                                        {"restore", required_argument, NULL, 'L'},
                                        {"checkpoint", required_argument, NULL, 'C'},
                                        {"checkpoint-every", required_argument, NULL, 'E'},
                                        {"hash", no_argument, NULL, 'H'},
                                        {"serve", required_argument, NULL, 'V'},
                                        {"serve-control", no_argument, NULL, 'X'},
                                        {"fps", required_argument, NULL, 'F'},
                                        {"web-root", required_argument, NULL, 'B'},
                                        {"help", no_argument, NULL, 'h'},
                                        {NULL, 0, NULL, 0}};
  opterr = 0;
  for (int ch; (ch = getopt_long(argc, argv, "", longs, NULL)) != -1;) take(o, ch, argv);
  if (optind < argc) bad(argv[optind], "unexpected argument");
  if ((uint64_t)o->frames * o->repeat > 1000000) bad("--repeat", "frames x repeat above 1000000");
  check_serve(o);
}

/* The scenario exists, and its world fits in the machine's memory; the
 * default scenario, entity and thread counts. */
static void check_world(options *o) {
  if (!o->scenario) o->scenario = "particles";
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
}

/* The configurations of a thread count: autotuning and the sweep, a tuning
 * file's sizes, or the sizes swept (given or the default ones). */
static void choose_chunks(options *o) {
  if (o->tuning_path && (o->autotune || o->chunk_count))
    bad("--tuning", "the chunk sizes come from the file: no --chunk");
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
}

void parse_options_mpi(int argc, char **argv, options *o, void (*help)(FILE *out), void (*restore)(options *o)) {
  tune_program = "myriad-tune-mpi";
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--help")) {
      help(stdout);
      exit(0);
    }
  read_args(argc, argv, o);
  if (o->restore_path) restore(o);
  check_world(o);
  /* what one process measures alone, or serves */
  if (o->autotune) bad("--chunk", "auto is not in myriad-tune-mpi: give sizes");
  const struct {
    const char *arg;
    bool given;
  } alone[] = {{"--tuning", o->tuning_path}, {"--trace", o->trace_path},        {"--gantt", o->gantt_path},
               {"--plot", o->plot_path},     {"--write-tuning", o->write_path}, {"--serve", o->serve}};
  for (size_t i = 0; i < sizeof alone / sizeof *alone; i++)
    if (alone[i].given) bad(alone[i].arg, "not in myriad-tune-mpi");
  if (!o->chunk_count) o->chunks[o->chunk_count++] = 4096;
  snapshot_options(o);
}

void parse_options(int argc, char **argv, options *o) {
  read_args(argc, argv, o);
  restore_options(o);
  check_world(o);
  choose_chunks(o);
  snapshot_options(o);
  o->trace = open_output("--trace", o->trace_path);
  o->gantt = open_output("--gantt", o->gantt_path);
  o->plot = open_output("--plot", o->plot_path);
  o->write = open_output("--write-tuning", o->write_path);
}
