/* The live view's cost to the simulation: particles' frame time with four
 * clients connected (three that read and acknowledge every update, one
 * that never reads), each at 10 updates a second, beside the same frames
 * with no client served, in turn in one run. A plain program: it times
 * whole frames as the simulation thread sees them.
 *
 * Served: myr_schedule_run then myr_serve_frame (captures, encodes and
 * queues when a client is due; the service thread and the clients run
 * meanwhile on the same cores). Baseline: myr_schedule_run alone, the
 * server idle (no capture, nothing queued). Rounds alternate the order.
 * The promise (serve.h): the served mean frame within 10% of the baseline.
 *
 * Each way runs for --block-ms (1000) per round; after a served block the
 * frames pause 400 ms, so that an encoding still running does not slow the
 * next block with no client.
 *
 *   bench_serve [--entities N] [--threads T] [--rounds R] [--block-ms MS] [--nice N]
 *   bench_serve --smoke      (20k entities, 2 rounds of 200 ms) */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "myriad/myriad.h"
#include "myriad/serve.h"
#include "myriad/stream.h"
#include "scenarios.h"
#include "ws_client.h"

static atomic_bool done;
static uint16_t port;

static void sleep_ms(double ms) {
  struct timespec t = {.tv_sec = (time_t)(ms / 1000),
                       .tv_nsec = (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
  nanosleep(&t, NULL);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* A reader: every update's header peeked and its view acknowledged (no
 * decoding: the clients would be browsers on other machines). */
static void *reader(void *arg) {
  (void)arg;
  ws_conn c;
  if (ws_connect(&c, "127.0.0.1", port, NULL) != 0) {
    fprintf(stderr, "bench_serve: a reader could not connect\n");
    return NULL;
  }
  size_t n;
  while (!atomic_load(&done)) {
    int r = ws_recv(&c, &n, 100);
    if (r < 0) break;
    myr_stream_header h;
    if (r == 1 && n && (c.msg[0] == MYR_STREAM_KEYFRAME || c.msg[0] == MYR_STREAM_DELTA) &&
        myr_stream_peek(c.msg, n, &h) == MYR_OK) {
      uint8_t ack[5] = {0x10, (uint8_t)h.seq, (uint8_t)(h.seq >> 8), (uint8_t)(h.seq >> 16), (uint8_t)(h.seq >> 24)};
      ws_send(&c, ack, 5);
    }
  }
  ws_close(&c);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double mean(const double *v, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += v[i];
  return n ? s / (double)n : 0;
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp);
  return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

static void frame(myr_schedule *s, myr_serve *srv, double *out) {
  double t0 = now_ms();
  if (myr_schedule_run(s, 1.0 / 60) != MYR_OK) {
    fprintf(stderr, "bench_serve: a frame failed: %s\n", myr_schedule_error(s));
    exit(1);
  }
  if (srv) myr_serve_frame(srv);
  *out = now_ms() - t0;
}

static void frames(myr_schedule *s, myr_serve *srv, uint32_t count, double *out) {
  for (uint32_t f = 0; f < count; f++) frame(s, srv, &out[f]);
}

/* Frames for `ms` milliseconds, their times appended at out[*n] (up to cap). */
static void block(myr_schedule *s, myr_serve *srv, double ms, double *out, size_t *n, size_t cap) {
  double until = now_ms() + ms;
  while (now_ms() < until && *n < cap) frame(s, srv, &out[(*n)++]);
}

/* A served block, counting the views captured in it. */
static uint64_t served_block(myr_schedule *s, myr_serve *srv, double ms, double *out, size_t *n, size_t cap) {
  myr_serve_stats a, b;
  myr_serve_get_stats(srv, &a);
  block(s, srv, ms, out, n, cap);
  myr_serve_get_stats(srv, &b);
  return b.captures - a.captures;
}

int main(int argc, char **argv) {
  uint32_t entities = 1000000, rounds = 10, block_ms = 1000, threads = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
  int nice = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--smoke") == 0) entities = 20000, rounds = 2, block_ms = 200;
    else if (i + 1 < argc && strcmp(argv[i], "--entities") == 0) entities = (uint32_t)atol(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--threads") == 0) threads = (uint32_t)atol(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--rounds") == 0) rounds = (uint32_t)atol(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--block-ms") == 0) block_ms = (uint32_t)atol(argv[++i]);
    else if (i + 1 < argc && strcmp(argv[i], "--nice") == 0) nice = atoi(argv[++i]);
    else {
      fprintf(stderr,
              "usage: bench_serve [--smoke] [--entities N] [--threads T] [--rounds R] [--block-ms MS] [--nice N]\n");
      return 2;
    }
  }
  if (!entities || !rounds || !block_ms || block_ms > 600000 || !threads) return 2;
  myr_jobs *pool;
  scn_scenario *sc;
  myr_stream_desc sd;
  myr_serve *srv;
  if (myr_jobs_create(&(myr_jobs_desc){.workers = threads}, &pool) != MYR_OK ||
      scn_create("particles", entities, 1, pool, &sc) != MYR_OK || scn_stream_desc(sc, &sd) != MYR_OK ||
      myr_serve_create(scn_world(sc), scn_schedule(sc), &sd,
                       &(myr_serve_desc){.scenario_name = "particles", .encoder_nice = nice}, &srv) != MYR_OK) {
    fprintf(stderr, "bench_serve: setting up failed\n");
    return 1;
  }
  port = myr_serve_port(srv);
  myr_schedule *s = scn_schedule(sc);
  pthread_t readers[3];
  for (int i = 0; i < 3; i++) pthread_create(&readers[i], NULL, reader, NULL);
  ws_conn stalled; /* connects, never reads */
  if (ws_connect(&stalled, "127.0.0.1", port, &(ws_opts){.rcvbuf = 4096}) != 0) return 1;
  /* warm-up, served: every client has its keyframe, the stalled one's queue fills */
  size_t room = (size_t)rounds * (size_t)block_ms * 20 + 64; /* frames of at least 0.05 ms */
  double *warm = malloc(sizeof(double) * 50), *served = malloc(sizeof(double) * room),
         *alone = malloc(sizeof(double) * room);
  if (!warm || !served || !alone) return 1;
  double start = now_ms(), until = start + 3000;
  while (now_ms() < until) frames(s, srv, 5, warm);
  /* Blocks of block_ms each way, in turn. The encoder may still be busy
   * with the served block's last update when it ends: the frames after a
   * served block wait `settle` ms (no frames, nothing captured) so that
   * no encoding runs into the next block with no client served. */
  const double settle = 400;
  size_t na = 0, nb = 0, cap = (size_t)rounds * (size_t)block_ms * 20 + 64;
  uint64_t captured = 0;
  for (uint32_t r = 0; r < rounds; r++) {
    if (r % 2) {
      captured += served_block(s, srv, block_ms, served, &nb, cap);
      sleep_ms(settle);
      block(s, NULL, block_ms, alone, &na, cap);
    } else {
      block(s, NULL, block_ms, alone, &na, cap);
      captured += served_block(s, srv, block_ms, served, &nb, cap);
      sleep_ms(settle);
    }
  }
  myr_serve_stats st;
  myr_serve_get_stats(srv, &st);
  double ma = mean(alone, na), mb = mean(served, nb), da = median(alone, na), db = median(served, nb);
  printf("particles, %u entities, %u threads, %u rounds of %u ms each way (%zu and %zu frames), encoder nice %d\n",
         entities, threads, rounds, block_ms, na, nb, nice);
  printf("  no client served:     mean %8.3f ms   median %8.3f ms\n", ma, da);
  printf("  4 clients (1 stalled): mean %8.3f ms   median %8.3f ms\n", mb, db);
  printf("  ratio served/alone:   mean %.3f   median %.3f   (promise: mean within 1.10) %s\n", mb / ma, db / da,
         mb / ma <= 1.10 ? "PASS" : "FAIL");
  printf("  updates: %.1f captures a second while served (clients ask for 10)\n",
         (double)captured / (rounds * block_ms * 1e-3));
  printf("  server: %u clients, %llu captures, %llu encodes, last capture+encode %.2f ms (capture %.2f; mean %.2f), "
         "%llu updates "
         "queued (%llu keyframes), %llu skipped (full queues), %.1f MB queued\n",
         st.clients, (unsigned long long)st.captures, (unsigned long long)st.encodes, st.encode_ms, st.capture_ms,
         st.captures ? st.encode_ms_total / (double)st.captures : 0, (unsigned long long)st.updates_sent,
         (unsigned long long)st.keyframes, (unsigned long long)st.updates_skipped, (double)st.bytes_queued * 1e-6);
  atomic_store(&done, true);
  for (int i = 0; i < 3; i++) pthread_join(readers[i], NULL);
  ws_close(&stalled);
  myr_serve_destroy(srv);
  scn_destroy(sc);
  myr_jobs_destroy(pool);
  free(warm);
  free(served);
  free(alone);
  return 0;
}
