/* The stream's bandwidth and cost: bytes per entity per update, and the
 * time to capture and encode a view and to decode it, for particles and
 * boids at 16 bits per axis, with an update every frame and every 4 and 16
 * frames, against the 12 bytes of three raw floats.
 *
 * Only the copy (myr_stream_copy) reads the world, between frames, on the
 * simulation's thread; the commit (the rest of the capture) and the
 * encoding need only the copy and the views.
 *
 * A receiver acknowledges every update, so each delta is coded against the
 * previous update (and the step before it: the prediction). "unchanged" is
 * a view captured again with no frame in between: every entity is where
 * the prediction puts it. Figures are medians over the updates.
 *
 * Usage: bench_stream [--updates U] [--particles N] [--boids N]
 * (default 32 updates, 1M particles, 100k boids). */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myriad/myriad.h"
#include "scenarios.h"

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, uint32_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void check(myr_status st, const char *what) {
  if (st != MYR_OK) {
    fprintf(stderr, "bench_stream: %s: %s\n", what, myr_strerror(st));
    exit(1);
  }
}

typedef struct figures {
  double bytes, copy_ns, commit_ns, encode_ns, decode_ns; /* per entity, medians */
} figures;

/* `updates` updates, one every `every` frames (0: no frame between them). */
static figures measure(scn_scenario *sc, myr_stream *s, uint32_t every, uint32_t updates) {
  myr_stream_view *v;
  check(myr_stream_view_create(0, &v), "view");
  double *bytes = malloc(sizeof *bytes * updates), *enc = malloc(sizeof *enc * updates);
  double *dec = malloc(sizeof *dec * updates), *cap = malloc(sizeof *cap * updates);
  double *com = malloc(sizeof *com * updates);
  uint32_t ack = 0, ack_base = 0;
  /* the first update is the receiver's keyframe: not counted */
  for (uint32_t u = 0; u <= updates; u++) {
    for (uint32_t f = 0; u && f < every; f++) check(myr_schedule_run(scn_schedule(sc), 1.0 / 60), "frame");
    uint64_t t0 = now_ns();
    uint32_t seq, used;
    check(myr_stream_copy(s, scn_world(sc)), "copy");
    uint64_t tc = now_ns();
    check(myr_stream_commit(s, &seq), "commit");
    uint64_t tm = now_ns();
    unsigned char *msg;
    size_t size;
    check(myr_stream_encode(s, ack, ack_base, &msg, &size, &used), "encode");
    uint64_t t1 = now_ns();
    check(myr_stream_view_apply(v, msg, size, NULL), "decode");
    uint64_t t2 = now_ns();
    free(msg);
    ack = seq, ack_base = used;
    if (u == 0) continue;
    double n = myr_stream_count(s) ? myr_stream_count(s) : 1;
    bytes[u - 1] = (double)size / n;
    cap[u - 1] = (double)(tc - t0) / n;
    com[u - 1] = (double)(tm - tc) / n;
    enc[u - 1] = (double)(t1 - tm) / n;
    dec[u - 1] = (double)(t2 - t1) / n;
  }
  figures out = {median(bytes, updates), median(cap, updates), median(com, updates), median(enc, updates),
                 median(dec, updates)};
  free(bytes), free(cap), free(com), free(enc), free(dec);
  myr_stream_view_destroy(v);
  return out;
}

static void run(const char *name, uint32_t entities, uint32_t updates, myr_jobs *pool) {
  scn_scenario *sc;
  check(scn_create(name, entities, 42, pool, &sc), "scenario");
  for (int f = 0; f < 10; f++) check(myr_schedule_run(scn_schedule(sc), 1.0 / 60), "frame");
  myr_stream_desc d;
  check(scn_stream_desc(sc, &d), "description");
  static const uint32_t everies[] = {1, 4, 16, 0};
  for (size_t k = 0; k < sizeof everies / sizeof *everies; k++) {
    myr_stream *s;
    check(myr_stream_create(scn_world(sc), &d, &s), "stream");
    figures fg = measure(sc, s, everies[k], updates);
    char every[32];
    if (everies[k]) snprintf(every, sizeof every, "%u", everies[k]);
    else snprintf(every, sizeof every, "unchanged");
    printf("%-10s %9u %4u %10s %12.3f %9.1fx %8.2f %8.2f %8.2f %8.2f\n", name, myr_stream_count(s), d.dims, every,
           fg.bytes, 12.0 / fg.bytes, fg.copy_ns, fg.commit_ns, fg.encode_ns, fg.decode_ns);
    myr_stream_destroy(s);
  }
  scn_destroy(sc);
}

int main(int argc, char **argv) {
  uint32_t updates = 32, particles = 1000000, boids = 100000;
  for (int i = 1; i < argc; i++) {
    unsigned long x = 0;
    if (i + 1 < argc) x = strtoul(argv[i + 1], NULL, 10);
    if (strcmp(argv[i], "--updates") == 0 && x >= 1 && x <= 100000) updates = (uint32_t)x, i++;
    else if (strcmp(argv[i], "--particles") == 0 && x >= 1 && x <= 100000000) particles = (uint32_t)x, i++;
    else if (strcmp(argv[i], "--boids") == 0 && x >= 100 && x <= 100000000) boids = (uint32_t)x, i++;
    else {
      fprintf(stderr, "usage: bench_stream [--updates U] [--particles N] [--boids N]\n");
      return 2;
    }
  }
  myr_jobs *pool;
  check(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &pool), "pool");
  printf("16 bits per axis; bytes per entity per update (vs 12 B of three raw floats); ns per entity: copy "
         "(on the world's thread), commit, encode, decode; medians over %u updates\n",
         updates);
  printf("%-10s %9s %4s %10s %12s %10s %8s %8s %8s %8s\n", "scenario", "entities", "dims", "every", "bytes/entity",
         "vs raw", "copy", "commit", "encode", "decode");
  run("particles", particles, updates, pool);
  run("boids", boids, updates, pool);
  myr_jobs_destroy(pool);
  return 0;
}
