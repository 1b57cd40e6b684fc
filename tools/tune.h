/* Private to myriad-tune: what its parts share. The options (tune_options.c),
 * the results of running them (tune_run.c), the look-ups the writers share
 * (tune_results.c), and one writer per output format (tune_table.c,
 * tune_json.c, tune_csv.c); tuning files and plots in tune_files.c;
 * snapshots (--save, --restore, --checkpoint, --hash) in tune_snapshot.c. */
#ifndef MYRIAD_TOOLS_TUNE_H
#define MYRIAD_TOOLS_TUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "myriad/myriad.h"
#include "scenarios.h"

#define MAX_LIST 64
#define MAX_SYSTEMS 32

#define AUTO 0u              /* the chunk "size" of an autotuned configuration */
#define FROM_FILE UINT32_MAX /* of a configuration run with --tuning's sizes */

typedef enum tune_format { FORMAT_TABLE, FORMAT_JSON, FORMAT_CSV } tune_format;

typedef struct options {
  const char *scenario;
  uint32_t entities;
  uint32_t threads[MAX_LIST], thread_count;
  uint32_t chunks[MAX_LIST], chunk_count;
  uint32_t frames, warmup, repeat;
  uint64_t seed;
  tune_format format;
  bool autotune; /* chunks[0] is 0: autotuning, then the sweep */
  scn_kernels kernels;
  bool tuning_env; /* tuning_path is MYRIAD_TUNING's */
  const char *trace_path, *gantt_path, *plot_path, *write_path, *tuning_path;
  FILE *trace, *gantt, *plot, *write; /* opened while parsing, so a bad path fails before any run */
  const char *save_path, *restore_path, *checkpoint_path;
  uint32_t checkpoint_every; /* frames of the world's clock between checkpoints; 0 without */
  bool hash;                 /* --hash: each world's hash on stderr after its last frame */
  bool seed_given;           /* --seed was given (--restore's file has its own) */
  /* --serve (tune_serve.c): one configuration served live until interrupted */
  bool serve, serve_control;
  char serve_address[64]; /* an IPv4 or IPv6 literal */
  uint16_t serve_port;
  uint32_t fps; /* --fps: frames a second at most, 0 = no cap */
  const char *web_root;
} options;

/* One system in one configuration: medians over the frames. */
typedef struct result {
  char system[64];
  uint32_t threads, chunk; /* chunk: the size it ran with (autotuned: where it settled) */
  uint32_t config_chunk;   /* the configuration's: a size, AUTO or FROM_FILE */
  uint32_t settle_frames;  /* autotuned: frames it took to settle */
  double ns_per_entity, min_ns, max_ns, entities_per_s;
  bool run_once;
  bool whole; /* MYR_SYSTEM_WHOLE: one job, no chunk size */
} result;

/* One configuration (a thread count and a chunk size): medians. */
typedef struct config_time {
  uint32_t threads, chunk;
  double frame_ms, merge_ms;
  double merge_share; /* merge_ms / frame_ms */
  /* per frame (medians), summed over the stages' merges */
  double patches_recorded, patches_applied, spawned, destroyed, moved;
} config_time;

/* Everything measured: `systems` results per configuration, thread count
 * by thread count, the configurations of one in o->chunks' order. */
typedef struct tune_results {
  result *rs;
  uint32_t n;
  config_time *ts;
  uint32_t tn, systems;
} tune_results;

/* The configuration of a thread count and a configured chunk (a size,
 * AUTO or FROM_FILE), NULL if none. */
const config_time *config_of(const tune_results *r, uint32_t threads, uint32_t config_chunk);

/* Where a system's best swept chunk size lies in the range swept. */
typedef enum tune_edge { EDGE_NONE, EDGE_SMALLEST, EDGE_LARGEST } tune_edge;

/* tune_options.c: the command line into o, or exit 0 (--help) or 2 (a bad
 * argument, with one line on stderr). */
void parse_options(int argc, char **argv, options *o);
/* The same for myriad-tune-mpi: the same options, but those one process
 * measures alone or serves (--chunk auto, --tuning, --trace, --gantt,
 * --plot, --write-tuning, --serve) are bad arguments; --restore names a
 * manifest, which `restore` reads before the scenario and entity count are
 * settled (as restore_options does for myriad-tune); --chunk defaults to
 * 4096; help prints --help. */
void parse_options_mpi(int argc, char **argv, options *o, void (*help)(FILE *out), void (*restore)(options *o));
/* The program named in messages: "myriad-tune" or "myriad-tune-mpi". */
extern const char *tune_program;
/* Called with the status before a bad option exits (NULL: nothing);
 * myriad-tune-mpi waits there for every rank. */
extern void (*tune_before_exit)(int status);

/* tune_snapshot.c: --restore's file inspected, before the scenario and
 * entity count are settled: they become its meta's (a --scenario,
 * --entities or --seed that differs is a bad argument, as is a file that
 * cannot be read or is corrupt: exit 2). */
void restore_options(options *o);
/* --save and --checkpoint checked (their folders writable, the two
 * checkpoint options together): exit 2 on a bad one. */
void snapshot_options(const options *o);
/* The meta text of the snapshots the tuner writes: "myriad-tune
 * scenario=NAME entities=N seed=S". */
void snapshot_meta(const options *o, char *buf, size_t size);
/* A world of o's scenario on pool: its initial one, or --restore's (a file
 * that does not load: exit 2 with the report's message). Other errors are
 * returned. */
myr_status create_world(const options *o, myr_jobs *pool, scn_scenario **out);
/* The world saved to path, crash safe, with snapshot_meta's text; exit 1
 * naming arg (--save, --checkpoint) when it fails. */
void save_world(const options *o, myr_world *w, const char *arg, const char *path);
/* With --hash: the lines "world_hash=<16 hex digits>" (myr_world_hash) and
 * "world_content=<16 hex digits>" (the content hash, world.h: keyed by the
 * scenario's key, ghosts left out; myriad-tune-mpi prints the same line
 * for a run over ranks) on stderr. */
void print_hash(const options *o, const scn_scenario *sc);
/* The content of a scenario's world: its key (scn_domain_of), ghosts left out. */
myr_status scenario_content(const scn_scenario *sc, myr_content *out);

/* tune_serve.c: whether this build has the server; [ADDR:]PORT into
 * o->serve_address and o->serve_port, or the reason it is not one (NULL
 * when it is); --serve's run: one configuration (the first thread count
 * and chunk size) served until SIGINT or SIGTERM, returning the exit status. */
bool serve_available(void);
const char *serve_parse_address(const char *text, options *o);
int serve_main(const options *o);

/* tune_run.c: every configuration of o measured into r (allocated);
 * exits 1 when a run fails. */
void run_all(const options *o, tune_results *r);

/* tune_results.c: look-ups over the results, for the writers. */
const char *mode_of(uint32_t config_chunk); /* "auto", "file" or "sweep" */
/* The fastest chunk of a system at a thread count, over the sweep (or the
 * tuning file's configuration), not the autotuned one; NULL if none. */
const result *best_of(const result *rs, uint32_t n, const char *system, uint32_t threads);
/* The autotuned result of a system at a thread count; NULL if none. */
const result *auto_of(const result *rs, uint32_t n, const char *system, uint32_t threads);
/* Thread count t's autotuned frame and the fastest swept one (both NULL
 * without autotuning). */
void frames_of(const options *o, const config_time *ts, uint32_t t, const config_time **a, const config_time **b);
/* Whether `best` (a best_of) is the smallest or largest of more than one
 * size swept; EDGE_NONE for anything else (NULL, a tuning file's sizes). */
tune_edge edge_of(const options *o, const result *best);
const char *edge_name(tune_edge e); /* "smallest", "largest" or NULL */
/* A --chunk range one step wider on the edge's side (x4, or x2 near the
 * bound), into buf; false when --chunk takes nothing beyond it. */
bool edge_widened(const options *o, tune_edge e, char *buf, size_t size);

/* tune_util.c: the median of n > 0 values (sorts them); a monotonic clock. */
double median(double *v, uint32_t n);
double now_ms(void);

/* The writers: the report in one format each. */
void write_table(FILE *out, const options *o, const tune_results *r);
void write_json(FILE *out, const options *o, const tune_results *r);
void write_csv(FILE *out, const options *o, const tune_results *r);

/* tune_files.c: --write-tuning and --plot, after the report; exit 1 when
 * writing fails. */
void write_tuning(const options *o, const tune_results *r);
void write_plot(const options *o, const tune_results *r);

#endif
