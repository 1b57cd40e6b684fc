/* Snapshot speed: saving and loading a 10M-entity particles world (240 MB
 * of columns) to and from tmpfs (/dev/shm) on one thread, beside a plain
 * write() and read() of one buffer of the snapshot's size, a memcpy of it,
 * and XXH3-64 over it; then zstd-compressed saves and loads of particles
 * and boids, with their ratios. Every benchmark reports bytes/s of the
 * uncompressed snapshot's size (the same number of bytes for all of one
 * world), so items/s compare directly.
 *
 * The baselines get what the library gets: the write() buffer is the same
 * size and already in memory, as the world's columns are; the read()
 * buffer is fresh memory from huge pages, as the tables a load makes are;
 * both write and read the same tmpfs; the write fsyncs and closes as the
 * save does.
 *
 * Before the runs it prints the file's size against the bytes it must hold
 * (columns, a 4-byte slot per row, a 4-byte generation per slot and a
 * 4-byte entry per free slot). */
#define _DEFAULT_SOURCE /* madvise */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common.h"
#include "scenarios.h"
#include "shim/bench.h"

#define DIR "/dev/shm"
#define HUGE (2u << 20)

typedef struct case_ {
  const char *scenario;
  uint32_t entities;
  uint32_t flags; /* MYR_SNAPSHOT_ZSTD or 0 */
  scn_scenario *sc;
  char path[256];
  size_t size;  /* the snapshot's */
  size_t items; /* bytes/s are of this many: the uncompressed snapshot's size */
} case_;

static case_ plain = {.scenario = "particles", .entities = 10000000};
static case_ zparticles = {.scenario = "particles", .entities = 10000000, .flags = MYR_SNAPSHOT_ZSTD};
static case_ zboids = {.scenario = "boids", .entities = 100000, .flags = MYR_SNAPSHOT_ZSTD};
static case_ rawboids = {.scenario = "boids", .entities = 100000};

static unsigned char *source; /* the snapshot's bytes in memory, for write() */

static void *huge_alloc(size_t size) {
  size_t n = (size + HUGE - 1) / HUGE * HUGE;
  void *p = aligned_alloc(HUGE, n);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  madvise(p, n, MADV_HUGEPAGE);
  return p;
}

static void prepare(case_ *c) {
  must(scn_create(c->scenario, c->entities, 1, NULL, &c->sc), "scn_create");
  myr_schedule *s = scn_schedule(c->sc);
  for (int f = 0; f < 3; f++) must(myr_schedule_run(s, 1.0 / 60.0), "run"); /* a free list, respawned rows */
  snprintf(c->path, sizeof c->path, DIR "/myr_bench_%s_%s.snap", c->scenario, c->flags ? "zstd" : "raw");
  myr_snapshot_report rep;
  myr_status st =
      myr_snapshot_save_file(scn_world(c->sc), c->path, &(myr_snapshot_save_desc){.flags = c->flags, .report = &rep});
  if (st != MYR_OK) {
    fprintf(stderr, "save: %s\n", rep.message);
    exit(1);
  }
  struct stat sb;
  if (stat(c->path, &sb) != 0) exit(1);
  c->size = c->items = (size_t)sb.st_size;
}

/* ---- the library ------------------------------------------------------------ */

static void save(myr_bench_state *st, void *ctx) {
  case_ *c = ctx;
  myr_snapshot_save_desc d = {.flags = c->flags};
  while (myr_bench_keep_running(st)) must(myr_snapshot_save_file(scn_world(c->sc), c->path, &d), "save");
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * c->items));
}

static void load(myr_bench_state *st, void *ctx) {
  case_ *c = ctx;
  while (myr_bench_keep_running(st)) {
    myr_world *w;
    must(myr_world_create(NULL, &w), "world");
    must(myr_snapshot_load_file(w, c->path, NULL), "load");
    myr_bench_pause(st);
    myr_world_destroy(w);
    myr_bench_resume(st);
  }
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * c->items));
}

/* ---- the baselines ---------------------------------------------------------- */

static void plain_write(myr_bench_state *st, void *ctx) {
  (void)ctx;
  while (myr_bench_keep_running(st)) {
    int fd = open(DIR "/myr_bench_plain", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) exit(1);
    for (size_t at = 0; at < plain.size;) {
      ssize_t n = write(fd, source + at, plain.size - at);
      if (n <= 0) exit(1);
      at += (size_t)n;
    }
    fsync(fd);
    close(fd);
  }
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * plain.size));
}

static void plain_read(myr_bench_state *st, void *ctx) {
  (void)ctx;
  while (myr_bench_keep_running(st)) {
    unsigned char *buf = huge_alloc(plain.size);
    int fd = open(plain.path, O_RDONLY);
    if (fd < 0) exit(1);
    for (size_t at = 0; at < plain.size;) {
      ssize_t n = read(fd, buf + at, plain.size - at);
      if (n <= 0) exit(1);
      at += (size_t)n;
    }
    close(fd);
    myr_bench_do_not_optimize(buf);
    myr_bench_pause(st);
    free(buf);
    myr_bench_resume(st);
  }
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * plain.size));
}

static void plain_memcpy(myr_bench_state *st, void *ctx) {
  (void)ctx;
  unsigned char *dst = huge_alloc(plain.size);
  memset(dst, 1, plain.size);
  while (myr_bench_keep_running(st)) {
    memcpy(dst, source, plain.size);
    myr_bench_clobber();
  }
  free(dst);
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * plain.size));
}

static void checksum(myr_bench_state *st, void *ctx) {
  (void)ctx;
  uint64_t h = 0;
  while (myr_bench_keep_running(st)) {
    h ^= XXH3_64bits(source, plain.size);
    myr_bench_do_not_optimize(&h);
  }
  myr_bench_set_items(st, (int64_t)(myr_bench_iterations(st) * plain.size));
}

/* ---- what the file holds ------------------------------------------------------ */

static void report_size(const case_ *c) {
  myr_snapshot_info info;
  if (myr_snapshot_inspect_file(c->path, &info, NULL, 0, NULL) != MYR_OK) exit(1);
  myr_world *w = scn_world(c->sc);
  uint64_t columns = 0;
  uint32_t comps = 0;
  myr_field f;
  uint32_t fields;
  while (myr_component_info(w, comps, &fields, 0, NULL) == MYR_OK) comps++;
  /* every live entity's columns: from the components it has */
  for (myr_component k = 0; k < comps; k++) {
    myr_query *q;
    must(myr_query_create(w, &(myr_query_desc){(myr_term[]){{k, MYR_TERM_WITH}}, 1}, &q), "query");
    uint64_t bytes = 0;
    must(myr_component_info(w, k, &fields, 0, NULL), "info");
    for (uint32_t j = 0; j < fields; j++) {
      must(myr_component_info(w, k, NULL, j, &f), "field");
      bytes += f.size;
    }
    columns += bytes * myr_query_entity_count(q);
    myr_query_destroy(q);
  }
  uint64_t free_slots = info.slot_count - info.entity_count;
  uint64_t must_hold = columns + 4 * info.entity_count + 4ull * info.slot_count + 4 * free_slots;
  printf("%s%s, %u entities: file %.1f MB, must hold %.1f MB (columns %.1f MB, row slots, entity index): "
         "%.2f%% above\n",
         c->scenario, c->flags ? " (zstd)" : "", (unsigned)c->entities, (double)c->size / 1e6, (double)must_hold / 1e6,
         (double)columns / 1e6, 100.0 * ((double)c->size / (double)must_hold - 1.0));
}

int main(int argc, char **argv) {
  prepare(&plain);
  prepare(&zparticles);
  prepare(&zboids);
  prepare(&rawboids);
  report_size(&plain);
  zparticles.items = plain.size;
  zboids.items = rawboids.size;
  printf("zstd: particles %.2fx smaller, boids %.2fx smaller (level 3)\n", (double)plain.size / (double)zparticles.size,
         (double)rawboids.size / (double)zboids.size);
  source = huge_alloc(plain.size);
  int fd = open(plain.path, O_RDONLY);
  if (fd < 0 || read(fd, source, plain.size) != (ssize_t)plain.size) exit(1); /* in memory, as the columns are */
  close(fd);

  myr_bench_register("save/particles/10M", save, &plain);
  myr_bench_register("write/plain/10M", plain_write, NULL);
  myr_bench_register("load/particles/10M", load, &plain);
  myr_bench_register("read/plain/10M", plain_read, NULL);
  myr_bench_register("memcpy/10M", plain_memcpy, NULL);
  myr_bench_register("xxh3/10M", checksum, NULL);
  myr_bench_register("save_zstd/particles/10M", save, &zparticles);
  myr_bench_register("load_zstd/particles/10M", load, &zparticles);
  myr_bench_register("save_zstd/boids/100k", save, &zboids);
  myr_bench_register("load_zstd/boids/100k", load, &zboids);
  myr_bench_register("save/boids/100k", save, &rawboids);
  myr_bench_register("load/boids/100k", load, &rawboids);
  myr_bench_ratio("save vs write(), 10M particles", "save/particles/10M", "write/plain/10M", 0.7);
  myr_bench_ratio("load vs read(), 10M particles", "load/particles/10M", "read/plain/10M", 0.7);
  myr_bench_ratio("save vs memcpy", "save/particles/10M", "memcpy/10M", 0);
  /* time(XXH3) / time(save): the most that checksumming sections on a
   * second thread could take off a save */
  myr_bench_ratio("save vs XXH3 alone (checksums' share of a save)", "save/particles/10M", "xxh3/10M", 0);
  int rc = myr_bench_main(argc, argv);
  scn_destroy(plain.sc);
  scn_destroy(zparticles.sc);
  scn_destroy(zboids.sc);
  scn_destroy(rawboids.sc);
  unlink(plain.path);
  unlink(zparticles.path);
  unlink(zboids.path);
  unlink(rawboids.path);
  unlink(DIR "/myr_bench_plain");
  free(source);
  return rc;
}
