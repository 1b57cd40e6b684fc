/* myriad-tune-mpi: one built-in simulation over MPI ranks (mpi.h), with
 * myriad-tune's options: per configuration (thread count x chunk size) the
 * frame time, and per rank the entities owned and ghosted, migrations,
 * bytes sent and the communication's share of the frame; --hash prints the
 * content hash of the whole simulation (rank 0), comparable with
 * myriad-tune's; --checkpoint and --restore take a manifest. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "myriad/mpi.h"
#include "tune.h"

static int rank, ranks;

static void help(FILE *out) {
  fprintf(out, "usage: mpirun -n R myriad-tune-mpi [options]\n"
               "Runs one built-in simulation split over the R ranks (the box cut into cells,\n"
               "runs of cells per rank balanced by entity counts, entities migrating at the\n"
               "end of every frame, ghosts near the borders) for each thread count and\n"
               "chunk size asked for, and prints per configuration the median frame time\n"
               "and per rank the entities owned and ghosted, the migrations, the bytes sent\n"
               "and the communication's share of the frame (medians over the frames).\n"
               "The result is the same for any R and thread count: --hash shows it.\n\n"
               "  --scenario NAME   particles or boids (default particles; ecsbench and\n"
               "                    ecsbench2 do not split over ranks)\n"
               "  --entities N      entities over all ranks, with k or M suffixes\n"
               "  --threads LIST    worker counts per rank, e.g. 1,2 (default: one per CPU)\n"
               "  --chunk LIST|RANGE  rows per chunk (default 4096; no auto)\n"
               "  --frames N        measured frames per configuration (default 20)\n"
               "  --warmup N        frames run first and not measured (default 3)\n"
               "  --repeat N        each configuration N times, each on a fresh world\n"
               "  --seed N          the scenario's seed (default 1)\n"
               "  --kernels K       simd or scalar (default simd)\n"
               "  --format F        table, json or csv (default table)\n"
               "  --rebalance N     choose the ranks' cells again every N frames from the\n"
               "                    entity counts (default 10; 0: never)\n"
               "  --hash            after each world's last frame, rank 0 prints\n"
               "                    world_content=<16 hex digits> on stderr: the content\n"
               "                    hash of the whole simulation, the same line myriad-tune\n"
               "                    --hash prints for one process\n"
               "  --checkpoint FILE --checkpoint-every N\n"
               "                    a coordinated checkpoint whenever the world's frame count\n"
               "                    is a multiple of N: each rank's world saved to\n"
               "                    FILE.r<rank>of<R>.f<frame>.<id>.snap, then the manifest\n"
               "                    FILE naming them, each crash safe (the files the old\n"
               "                    manifest named go once the new one is in place)\n"
               "  --save FILE       a checkpoint with manifest FILE after the last\n"
               "                    configuration's last frame\n"
               "  --restore FILE    start from the checkpoint whose manifest is FILE, on any\n"
               "                    number of ranks; it names the scenario, entities and seed\n"
               "  --help            this text\n\n"
               "Not here (one process only): --chunk auto, --tuning, --trace, --gantt, --plot,\n"
               "--write-tuning, --serve.\n\n"
               "examples:\n"
               "  mpirun -n 2 myriad-tune-mpi --threads 1 --entities 200k --frames 50\n"
               "  mpirun --bind-to none -n 1 myriad-tune-mpi --threads 2 --entities 200k --frames 50\n"
               "  mpirun -n 4 --oversubscribe myriad-tune-mpi --scenario boids --threads 1 --hash\n"
               "  mpirun -n 3 myriad-tune-mpi --checkpoint run.ckpt --checkpoint-every 10 --frames 40\n"
               "  mpirun -n 2 myriad-tune-mpi --restore run.ckpt --warmup 0 --frames 20 --hash\n\n"
               "With more than one thread a rank, run mpirun with --bind-to none (or --map-by\n"
               "slot:PE=N): Open MPI binds each of up to two ranks to one core by default.\n\n"
               "Errors are printed once, by rank 0. Exit status: 0, 1 when a run fails, 2 for\n"
               "a bad argument or a checkpoint that cannot be read or does not match. When a\n"
               "rank dies, mpirun stops the others.\n");
}

/* Everything one rank measured in a configuration: medians over frames. */
typedef struct rank_report {
  double frame_ms, run_ms, comm_ms, comm_share, migrate_ms, ghosts_ms;
  double migrated, ghosts_sent, bytes_sent, bytes_migration, bytes_ghosts, bytes_patches;
  double owned, ghosts, cells, rebalances;
} rank_report;
enum { REPORT_FIELDS = sizeof(rank_report) / sizeof(double) };

typedef struct config_report {
  uint32_t threads, chunk, repeat;
  double frame_ms; /* median over frames of the slowest rank's frame */
  rank_report *ranks;
} config_report;

static _Noreturn void fail(int status, const char *fmt, const char *arg, const char *why) {
  if (rank == 0) {
    fprintf(stderr, "myriad-tune-mpi: ");
    fprintf(stderr, fmt, arg, why);
    fprintf(stderr, "\n");
  }
  MPI_Finalize();
  exit(status);
}

/* Exits with `status` once every rank is here (for at most 5 s), so that
 * the line rank 0 printed is out before mpirun, seeing a rank exit
 * non-zero, stops the others. A rank whose options were fine elsewhere
 * (a manifest on another node's disk) never comes: the wait ends and this
 * rank exits alone, without MPI_Finalize (which would wait for it too),
 * and mpirun stops the job. */
static _Noreturn void exit_together(int status) {
  int up = 0;
  MPI_Initialized(&up);
  if (!up) MPI_Init(NULL, NULL);
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  int done = 0;
  struct timespec nap = {0, 1000000}; /* 1 ms */
  for (int i = 0; i < 5000 && !done; i++) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (!done) nanosleep(&nap, NULL);
  }
  if (done) MPI_Finalize();
  exit(status);
}

static void exit_together_hook(int status) { exit_together(status); }

/* --rebalance N, taken out of argv before the common options are read. */
static uint32_t take_rebalance(int *argc, char **argv) {
  uint32_t k = 10;
  int out = 1;
  for (int i = 1; i < *argc; i++) {
    if (strcmp(argv[i], "--rebalance") != 0) {
      argv[out++] = argv[i];
      continue;
    }
    char *end;
    unsigned long v = i + 1 < *argc ? strtoul(argv[i + 1], &end, 10) : 0;
    if (i + 1 >= *argc || !argv[i + 1][0] || *end || argv[i + 1][0] == '-' || v > 1000000) {
      if (rank == 0) fprintf(stderr, "myriad-tune-mpi: --rebalance: a number of frames, 0..1000000 (see --help)\n");
      exit_together(2);
    }
    k = (uint32_t)v;
    i++;
  }
  *argc = out;
  argv[out] = NULL;
  return k;
}

/* The rank before MPI starts (Open MPI's, or PMI's), for errors printed once. */
static int early_rank(void) {
  const char *vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    if (getenv(vars[i])) return atoi(getenv(vars[i]));
  return 0;
}

/* A bad --restore, before MPI starts: said on rank 0's stderr (the others'
 * are quiet while the options are read), exit 2 on every rank. */
static _Noreturn void bad_restore(const char *path, const char *why) {
  fprintf(stderr, "myriad-tune-mpi: --restore: %s%s%s\n", path ? path : "", path ? ": " : "", why);
  exit_together(2);
}

/* A manifest's meta "myriad-tune scenario=S entities=N seed=X" into o,
 * before the scenario and entity count are settled. */
static void restore_from(options *o) {
  myr_mpi_manifest mf;
  char why[1024];
  myr_status st = myr_mpi_manifest_read(o->restore_path, &mf, why, sizeof why);
  if (st != MYR_OK) bad_restore(NULL, why);
  char scenario[64];
  unsigned long entities;
  unsigned long long seed;
  if (sscanf(mf.meta, "myriad-tune scenario=%63s entities=%lu seed=%llu", scenario, &entities, &seed) != 3)
    bad_restore(o->restore_path, "not a checkpoint of myriad-tune-mpi (its meta names no scenario)");
  if (o->scenario && strcmp(o->scenario, scenario) != 0) bad_restore(o->restore_path, "is of another --scenario");
  if (o->entities && o->entities != entities) bad_restore(o->restore_path, "is of another --entities");
  if (o->seed_given && o->seed != seed) bad_restore(o->restore_path, "is of another --seed");
  static char name[64];
  snprintf(name, sizeof name, "%s", scenario);
  o->scenario = name;
  o->entities = (uint32_t)entities;
  o->seed = seed;
}

/* scn_desc's domain hooks, on the simulation's myr_mpi. */
static uint64_t sum_hook(void *ctx, uint64_t local) { return myr_mpi_sum(*(myr_mpi **)ctx, local); }
static bool owns_hook(void *ctx, const float *p) { return myr_mpi_owns(*(myr_mpi **)ctx, p); }
static myr_status no_entities(myr_world *w, void *ctx) {
  (void)w, (void)ctx;
  return MYR_OK;
}

static double median_of(double *v, uint32_t n) { return n ? median(v, n) : 0.0; }

/* One configuration: a world over the ranks, its frames, its report. */
static void run_config(const options *o, uint32_t rebalance, uint32_t threads, uint32_t chunk, bool last,
                       config_report *cr) {
  myr_jobs *pool;
  myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = threads}, &pool);
  if (st != MYR_OK) fail(1, "the thread pool: %s%s", myr_strerror(st), "");
  static myr_mpi *mpi; /* the hooks reach it */
  mpi = NULL;
  scn_scenario *sc;
  st = scn_create_desc(&(scn_desc){.name = o->scenario,
                                   .entities = o->entities,
                                   .seed = o->seed,
                                   .pool = pool,
                                   .kernels = o->kernels,
                                   .populate = o->restore_path ? no_entities : NULL,
                                   .sum = sum_hook,
                                   .owns = owns_hook,
                                   .domain_ctx = &mpi},
                       &sc);
  if (st != MYR_OK) fail(1, "building %s: %s", o->scenario, myr_strerror(st));
  scn_domain d;
  if (scn_domain_of(sc, &d) != MYR_OK) fail(2, "--scenario: %s: %s", o->scenario, "does not split over ranks");
  myr_schedule *s = scn_schedule(sc);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) myr_schedule_set_chunk_rows(s, i, chunk);
  myr_mpi_desc md = {.comm = MPI_COMM_WORLD,
                     .position = d.position,
                     .dims = d.dims,
                     .wrap = d.wrap,
                     .rebalance_every = rebalance,
                     .ghost_width = d.ghost_width,
                     .has_key = d.has_key,
                     .key = d.key,
                     .start = o->restore_path ? MYR_MPI_SCATTERED : MYR_MPI_REPLICATED};
  for (uint32_t a = 0; a < 3; a++) {
    md.axis[a] = d.axis[a];
    md.min[a] = d.min[a];
    md.max[a] = d.max[a];
    md.cells[a] = d.dims == 3 ? 16 : 32;
  }
  st = myr_mpi_create(scn_world(sc), &md, &mpi);
  if (st != MYR_OK) fail(1, "joining the ranks: %s: %s", myr_strerror(st), myr_mpi_error(NULL));
  if (o->restore_path) {
    st = myr_mpi_restore(mpi, o->restore_path);
    if (st != MYR_OK) fail(st == MYR_ENOMEM ? 1 : 2, "--restore: %s%s", myr_mpi_error(mpi), "");
  }
  char meta[256];
  snapshot_meta(o, meta, sizeof meta);
  uint32_t total = o->warmup + o->frames;
  double *v = calloc((size_t)o->frames * (REPORT_FIELDS + 1), sizeof *v);
  if (!v) fail(1, "%s%s", "out of memory", "");
  for (uint32_t f = 0; f < total; f++) {
    st = myr_mpi_frame(mpi, s, 1.0 / 60);
    if (st != MYR_OK) fail(1, "frame: %s: %s", myr_strerror(st), myr_mpi_error(mpi));
    if (o->checkpoint_every && myr_world_frame(scn_world(sc)) % o->checkpoint_every == 0) {
      st = myr_mpi_checkpoint(mpi, o->checkpoint_path, meta);
      if (st != MYR_OK) fail(1, "--checkpoint: %s%s", myr_mpi_error(mpi), "");
    }
    if (f < o->warmup) continue;
    myr_mpi_stats ms;
    myr_mpi_get_stats(mpi, &ms);
    rank_report r = {.frame_ms = ms.frame_ms,
                     .run_ms = ms.run_ms,
                     .comm_ms = ms.comm_ms,
                     .comm_share = ms.frame_ms > 0 ? ms.comm_ms / ms.frame_ms : 0,
                     .migrate_ms = ms.migrate_ms,
                     .ghosts_ms = ms.ghosts_ms,
                     .migrated = (double)ms.migrated_out,
                     .ghosts_sent = (double)ms.ghosts_sent,
                     .bytes_sent = (double)ms.bytes_sent,
                     .bytes_migration = (double)ms.bytes_migration,
                     .bytes_ghosts = (double)ms.bytes_ghosts,
                     .bytes_patches = (double)ms.bytes_patches,
                     .owned = (double)ms.owned,
                     .ghosts = (double)ms.ghosts,
                     .cells = ms.cells_owned,
                     .rebalances = (double)ms.rebalances};
    const double *fields = &r.frame_ms;
    for (uint32_t k = 0; k < REPORT_FIELDS; k++) v[(size_t)k * o->frames + (f - o->warmup)] = fields[k];
    /* the simulation's frame: its slowest rank's */
    double slowest;
    MPI_Allreduce(&ms.frame_ms, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    v[(size_t)REPORT_FIELDS * o->frames + (f - o->warmup)] = slowest;
  }
  if (o->save_path && last) { /* as myriad-tune: the last configuration's world */
    st = myr_mpi_checkpoint(mpi, o->save_path, meta);
    if (st != MYR_OK) fail(1, "--save: %s%s", myr_mpi_error(mpi), "");
  }
  if (o->hash) {
    uint64_t h;
    st = myr_mpi_content(mpi, &h);
    if (st != MYR_OK) fail(1, "--hash: %s%s", myr_mpi_error(mpi), "");
    if (rank == 0) fprintf(stderr, "world_content=%016" PRIx64 "\n", h);
  }
  rank_report mine;
  double *fields = &mine.frame_ms;
  for (uint32_t k = 0; k < REPORT_FIELDS; k++) fields[k] = median_of(v + (size_t)k * o->frames, o->frames);
  cr->frame_ms = median_of(v + (size_t)REPORT_FIELDS * o->frames, o->frames);
  free(v);
  cr->threads = threads;
  cr->chunk = chunk;
  cr->ranks = rank == 0 ? calloc((size_t)ranks, sizeof *cr->ranks) : NULL;
  MPI_Gather(&mine, REPORT_FIELDS, MPI_DOUBLE, cr->ranks, REPORT_FIELDS, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  myr_mpi_destroy(mpi);
  scn_destroy(sc);
  myr_jobs_destroy(pool);
}

static void write_report(const options *o, const config_report *cs, uint32_t n) {
  if (o->format == FORMAT_CSV) {
    printf("scenario,entities,ranks,threads,chunk,repeat,frame_ms,rank,owned,ghosts,cells,migrations,ghosts_sent,"
           "bytes_sent,bytes_migration,bytes_ghosts,bytes_patches,rank_frame_ms,run_ms,comm_ms,comm_share,migrate_ms,"
           "ghosts_ms\n");
    for (uint32_t i = 0; i < n; i++)
      for (int r = 0; r < ranks; r++) {
        const rank_report *p = &cs[i].ranks[r];
        printf("%s,%" PRIu32 ",%d,%" PRIu32 ",%" PRIu32 ",%" PRIu32
               ",%.4f,%d,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,"
               "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n",
               o->scenario, o->entities, ranks, cs[i].threads, cs[i].chunk, cs[i].repeat, cs[i].frame_ms, r, p->owned,
               p->ghosts, p->cells, p->migrated, p->ghosts_sent, p->bytes_sent, p->bytes_migration, p->bytes_ghosts,
               p->bytes_patches, p->frame_ms, p->run_ms, p->comm_ms, p->comm_share, p->migrate_ms, p->ghosts_ms);
      }
    return;
  }
  if (o->format == FORMAT_JSON) {
    printf("{\"scenario\": \"%s\", \"entities\": %" PRIu32 ", \"ranks\": %d, \"frames\": %" PRIu32
           ", \"configurations\": [",
           o->scenario, o->entities, ranks, o->frames);
    for (uint32_t i = 0; i < n; i++) {
      printf("%s\n  {\"threads\": %" PRIu32 ", \"chunk\": %" PRIu32 ", \"repeat\": %" PRIu32
             ", \"frame_ms\": %.4f, \"per_rank\": [",
             i ? "," : "", cs[i].threads, cs[i].chunk, cs[i].repeat, cs[i].frame_ms);
      for (int r = 0; r < ranks; r++) {
        const rank_report *p = &cs[i].ranks[r];
        printf("%s\n    {\"rank\": %d, \"owned\": %.0f, \"ghosts\": %.0f, \"cells\": %.0f, \"migrations\": %.0f, "
               "\"ghosts_sent\": %.0f, \"bytes_sent\": %.0f, \"bytes_migration\": %.0f, \"bytes_ghosts\": %.0f, "
               "\"bytes_patches\": %.0f, \"frame_ms\": %.4f, \"run_ms\": %.4f, \"comm_ms\": %.4f, "
               "\"comm_share\": %.4f, \"migrate_ms\": %.4f, \"ghosts_ms\": %.4f}",
               r ? "," : "", r, p->owned, p->ghosts, p->cells, p->migrated, p->ghosts_sent, p->bytes_sent,
               p->bytes_migration, p->bytes_ghosts, p->bytes_patches, p->frame_ms, p->run_ms, p->comm_ms, p->comm_share,
               p->migrate_ms, p->ghosts_ms);
      }
      printf("]}");
    }
    printf("\n]}\n");
    return;
  }
  printf("myriad-tune-mpi: %s, %" PRIu32 " entities over %d ranks, %" PRIu32 " frames (medians)\n\n", o->scenario,
         o->entities, ranks, o->frames);
  for (uint32_t i = 0; i < n; i++) {
    printf("%" PRIu32 " thread%s a rank, chunk %" PRIu32 "%s: frame %.3f ms (the slowest rank's)\n", cs[i].threads,
           cs[i].threads == 1 ? "" : "s", cs[i].chunk, o->repeat > 1 ? " (one repetition)" : "", cs[i].frame_ms);
    printf("  rank     owned    ghosts  cells  migrated  ghosts sent  bytes sent  frame ms  comm ms  comm share\n");
    for (int r = 0; r < ranks; r++) {
      const rank_report *p = &cs[i].ranks[r];
      printf("  %4d %9.0f %9.0f %6.0f %9.0f %12.0f %11.0f %9.3f %8.3f %10.1f%%\n", r, p->owned, p->ghosts, p->cells,
             p->migrated, p->ghosts_sent, p->bytes_sent, p->frame_ms, p->comm_ms, 100.0 * p->comm_share);
    }
    printf("\n");
  }
}

int main(int argc, char **argv) {
  rank = early_rank();
  /* the options, before MPI: a bad one exits 2 on every rank, said once
   * (and --help printed once) */
  int saved_out = -1, saved_err = -1;
  if (rank != 0) {
    saved_out = dup(1), saved_err = dup(2);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1), dup2(null, 2), close(null);
  }
  tune_before_exit = exit_together_hook;
  uint32_t rebalance = take_rebalance(&argc, argv);
  options o;
  parse_options_mpi(argc, argv, &o, help, restore_from);
  if (saved_out >= 0) dup2(saved_out, 1), close(saved_out);
  if (saved_err >= 0) dup2(saved_err, 2), close(saved_err);
  int provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  /* the respawns' global counts are taken on whichever worker runs them */
  if (provided < MPI_THREAD_SERIALIZED) fail(1, "%s%s", "this MPI does not offer MPI_THREAD_SERIALIZED", "");
  if (strcmp(o.scenario, "particles") != 0 && strcmp(o.scenario, "boids") != 0)
    fail(2, "--scenario: %s: %s", o.scenario, "does not split over ranks (particles and boids do)");
  uint32_t n = o.thread_count * o.chunk_count * o.repeat, at = 0;
  config_report *cs = calloc(n, sizeof *cs);
  if (!cs) fail(1, "%s%s", "out of memory", "");
  for (uint32_t t = 0; t < o.thread_count; t++)
    for (uint32_t c = 0; c < o.chunk_count; c++)
      for (uint32_t r = 0; r < o.repeat; r++, at++) {
        run_config(&o, rebalance, o.threads[t], o.chunks[c], at + 1 == n, &cs[at]);
        cs[at].repeat = r;
      }
  if (rank == 0) write_report(&o, cs, n);
  for (uint32_t i = 0; i < n; i++) free(cs[i].ranks);
  free(cs);
  MPI_Finalize();
  return 0;
}
