/* The server's test client: connects to a running `myriad-tune --serve`
 * and checks one promise of myriad/serve.h per mode. Prints what it saw;
 * exit 0 when the promise held, 1 when not, 2 for bad arguments.
 *   serve_client watch PORT N      hello, then a keyframe, then deltas that
 *                                  decode (N updates, acked), and figures
 *   serve_client garbage PORT      a bad message closes that connection alone
 *   serve_client origin PORT       a foreign Origin or another path is refused
 *   serve_client limit PORT N      connections beyond N are refused
 *   serve_client stall PORT        a client that never reads slows nothing
 *   serve_client control PORT HEX  pause, step, chunk, resume with the token;
 *                                  a wrong token closes the connection
 *   serve_client nocontrol PORT    control refused without --serve-control
 *   serve_client handshake PORT ADDR HOST ORIGIN
 *                                  a WebSocket request to ADDR (an IP
 *                                  literal) with these Host and Origin
 *                                  headers ("-": none): exit 0 when
 *                                  accepted, 1 when refused, 3 when the
 *                                  connection failed */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "myriad/stream.h"
#include "ws_client.h"

#define HOST "127.0.0.1"

static uint16_t port;

#define CHECK(cond, ...)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      fprintf(stderr, "serve_client: FAIL %s: ", #cond); \
      fprintf(stderr, __VA_ARGS__);                      \
      fputc('\n', stderr);                               \
      exit(1);                                           \
    }                                                    \
  } while (0)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

typedef struct watcher {
  ws_conn c;
  myr_stream_view *v;
  bool hello;
  uint32_t updates, keyframes, deltas, figures, replies, resyncs;
  uint64_t frame;     /* the newest view's */
  uint64_t fig_frame; /* the newest figures' */
  long fig_chunk0;    /* the newest figures' first system's chunk */
  uint32_t gantts;    /* figures with spans in their Gantt */
  char reply[256];
} watcher;

static void watch_open(watcher *w, const ws_opts *o) {
  *w = (watcher){.fig_chunk0 = -1};
  CHECK(ws_connect(&w->c, HOST, port, o) == 0, "connecting to port %u", (unsigned)port);
  CHECK(myr_stream_view_create(0, &w->v) == MYR_OK, "a view");
}

static void watch_close(watcher *w) {
  ws_close(&w->c);
  myr_stream_view_destroy(w->v);
}

static void send_u8_u32(watcher *w, uint8_t type, uint32_t v) {
  uint8_t m[5] = {type, (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  CHECK(ws_send(&w->c, m, 5) == 0, "sending");
}

static long json_number(const char *json, size_t n, const char *key) {
  char k[64];
  snprintf(k, sizeof k, "\"%s\":", key);
  const char *p = memmem(json, n, k, strlen(k));
  return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

/* One message handled: its type, 0 when none came in time, -1 closed. */
static int pump(watcher *w, int timeout_ms) {
  size_t n;
  int r = ws_recv(&w->c, &n, timeout_ms);
  if (r <= 0) return r;
  const uint8_t *m = w->c.msg;
  CHECK(n >= 1, "an empty message");
  if (!w->hello) {
    CHECK(m[0] == MYR_STREAM_HELLO, "the first message is the hello, not type %u", m[0]);
    CHECK(memmem(m, n, "\"version\":1", 11) && memmem(m, n, "\"systems\":[", 11), "hello JSON: %.*s", (int)n - 1,
          m + 1);
    w->hello = true;
    return m[0];
  }
  if (m[0] == MYR_STREAM_KEYFRAME || m[0] == MYR_STREAM_DELTA) {
    CHECK(w->updates || m[0] == MYR_STREAM_KEYFRAME, "the first update is a keyframe");
    uint32_t seq;
    myr_status st = myr_stream_view_apply(w->v, m, n, &seq);
    if (st == MYR_ENOTFOUND) { /* a base this view let go: ask again */
      uint8_t rs = 0x12;
      CHECK(ws_send(&w->c, &rs, 1) == 0, "resync");
      w->resyncs++;
      return m[0];
    }
    CHECK(st == MYR_OK, "applying update %u (type %u, %zu bytes): %s", w->updates, m[0], n, myr_strerror(st));
    w->updates++;
    w->keyframes += m[0] == MYR_STREAM_KEYFRAME;
    w->deltas += m[0] == MYR_STREAM_DELTA;
    w->frame = myr_stream_view_frame(w->v);
    send_u8_u32(w, 0x10, seq);
  } else if (m[0] == MYR_STREAM_FIGURES) {
    w->figures++;
    w->fig_frame = (uint64_t)json_number((const char *)m + 1, n - 1, "frame");
    w->gantts += memmem(m, n, "\"spans\":[[", 10) != NULL;
    const char *sys = memmem(m, n, "\"systems\":[{", 12);
    w->fig_chunk0 = sys ? json_number(sys, n - (size_t)(sys - (const char *)m), "chunk") : -1;
  } else if (m[0] == MYR_STREAM_REPLY) {
    w->replies++;
    snprintf(w->reply, sizeof w->reply, "%.*s", (int)(n - 1 < 255 ? n - 1 : 255), m + 1);
  } else {
    CHECK(false, "an unknown message type %u", m[0]);
  }
  return m[0];
}

/* Pumps until `updates` more updates arrived; false when the time ran out. */
static bool updates_within(watcher *w, uint32_t updates, int ms) {
  uint32_t want = w->updates + updates;
  double until = now_ms() + ms;
  while (w->updates < want) {
    double left = until - now_ms();
    if (left <= 0) return false;
    CHECK(pump(w, (int)left) >= 0, "the connection closed after %u updates", w->updates);
  }
  return true;
}

static void drain(watcher *w, int ms) {
  double until = now_ms() + ms;
  for (double left; (left = until - now_ms()) > 0;) CHECK(pump(w, (int)left) >= 0, "closed while draining");
}

static int watch(uint32_t n) {
  watcher w;
  watch_open(&w, NULL);
  CHECK(updates_within(&w, n, 20000), "%u updates in 20 s: got %u", n, w.updates);
  drain(&w, 700); /* figures come twice a second */
  CHECK(w.keyframes >= 1 && w.deltas >= 1, "keyframes %u deltas %u", w.keyframes, w.deltas);
  CHECK(w.figures >= 1, "figures %u", w.figures);
  CHECK(w.gantts >= 1, "a Gantt with spans in %u figures", w.figures);
  printf("watch: hello, updates=%u keyframes=%u deltas=%u figures=%u (%u with a Gantt) frame=%llu count=%u\n",
         w.updates, w.keyframes, w.deltas, w.figures, w.gantts, (unsigned long long)w.frame,
         myr_stream_view_count(w.v));
  watch_close(&w);
  return 0;
}

/* A connection that sends `bad` must be closed, the watcher going on. */
static void bad_message(watcher *a, const char *what, const void *bad, size_t size) {
  watcher b;
  watch_open(&b, NULL);
  CHECK(updates_within(&b, 1, 5000), "%s: the second client got no update", what);
  CHECK(ws_send(&b.c, bad, size) == 0, "sending %s", what);
  double until = now_ms() + 5000;
  int r = 1;
  while (r != -1 && now_ms() < until) r = pump(&b, 200);
  CHECK(r == -1, "%s did not close the connection", what);
  CHECK(updates_within(a, 3, 5000), "after %s the first client got no more updates", what);
  printf("garbage: %s closed that connection; the other got %u updates so far\n", what, a->updates);
  watch_close(&b);
}

static int garbage(void) {
  watcher a;
  watch_open(&a, NULL);
  CHECK(updates_within(&a, 2, 5000), "first updates");
  uint8_t junk[100];
  memset(junk, 0x10, sizeof junk);
  bad_message(&a, "100 bytes", junk, sizeof junk);
  bad_message(&a, "an unknown type", (uint8_t[]){0x7f}, 1);
  bad_message(&a, "an ack of 3 bytes", (uint8_t[]){0x10, 1, 0}, 3);
  bad_message(&a, "a rate of 4 bytes", (uint8_t[]){0x11, 1, 0, 0}, 4);
  bad_message(&a, "an ack of a view never sent", (uint8_t[]){0x10, 0xff, 0xff, 0xff, 0x7f}, 5);
  bad_message(&a, "an empty message", junk, 0);
  watch_close(&a);
  return 0;
}

static int origin(void) {
  ws_conn c;
  char good[64];
  snprintf(good, sizeof good, "http://127.0.0.1:%u", (unsigned)port);
  CHECK(ws_connect(&c, HOST, port, &(ws_opts){.origin = "http://evil.example"}) == 1, "a foreign Origin refused");
  ws_close(&c);
  CHECK(ws_connect(&c, HOST, port, &(ws_opts){.origin = "http://127.0.0.1:1"}) == 1, "another port's Origin refused");
  ws_close(&c);
  CHECK(ws_connect(&c, HOST, port, &(ws_opts){.path = "/other"}) == 1, "another path refused");
  ws_close(&c);
  CHECK(ws_connect(&c, HOST, port, &(ws_opts){.origin = good}) == 0, "the server's own Origin accepted");
  ws_close(&c);
  snprintf(good, sizeof good, "http://localhost:%u", (unsigned)port);
  CHECK(ws_connect(&c, HOST, port, &(ws_opts){.origin = good}) == 0, "localhost's Origin accepted");
  ws_close(&c);
  printf("origin: foreign Origin, other port and other path refused; own Origin and none accepted\n");
  return 0;
}

static int limit(uint32_t max) {
  ws_conn *c = calloc(max + 1, sizeof *c);
  CHECK(c, "memory");
  for (uint32_t i = 0; i < max; i++) CHECK(ws_connect(&c[i], HOST, port, NULL) == 0, "connection %u accepted", i + 1);
  CHECK(ws_connect(&c[max], HOST, port, NULL) == 1, "connection %u refused", max + 1);
  ws_close(&c[max]);
  ws_close(&c[0]);
  /* the slot comes free once the server saw the close */
  double until = now_ms() + 3000;
  int r = 1;
  while (r != 0 && now_ms() < until) {
    r = ws_connect(&c[0], HOST, port, NULL);
    if (r != 0) ws_close(&c[0]);
  }
  CHECK(r == 0, "a connection accepted again after one closed");
  for (uint32_t i = 0; i < max; i++) ws_close(&c[i]);
  free(c);
  printf("limit: %u connections accepted, one more refused, one again after a close\n", max);
  return 0;
}

/* The views' frames advanced per second while pumping for ms. */
static double frames_per_s(watcher *w, int ms) {
  uint32_t u0 = w->updates;
  uint64_t f0 = w->frame;
  double t0 = now_ms();
  drain(w, ms);
  CHECK(w->updates - u0 >= (uint32_t)(ms / 1000.0 * 10 * 0.5), "updates at about 10 a second: %u in %d ms",
        w->updates - u0, ms);
  return (double)(w->frame - f0) / ((now_ms() - t0) * 1e-3);
}

static int stall(void) {
  watcher w;
  watch_open(&w, NULL);
  CHECK(updates_within(&w, 2, 5000), "first updates");
  double before = frames_per_s(&w, 2000);
  ws_conn s; /* never reads; asks for every frame to fill its queue soon */
  CHECK(ws_connect(&s, HOST, port, &(ws_opts){.rcvbuf = 4096}) == 0, "the stalled client connects");
  CHECK(ws_send(&s, (uint8_t[]){0x11, 0, 0}, 3) == 0, "rate 0");
  drain(&w, 2000); /* its queue fills */
  double during = frames_per_s(&w, 2000);
  printf("stall: frames/s seen by a watcher %.0f alone, %.0f beside a client that never reads\n", before, during);
  CHECK(during >= 0.5 * before, "frames slowed from %.0f to %.0f a second", before, during);
  ws_close(&s);
  watch_close(&w);
  return 0;
}

static void control_msg(watcher *w, const uint8_t *token, uint8_t cmd, bool chunk, uint32_t sys, uint32_t rows) {
  uint8_t m[26] = {0x13};
  memcpy(m + 1, token, 16);
  m[17] = cmd;
  for (int i = 0; i < 4; i++) m[18 + i] = (uint8_t)(sys >> 8 * i), m[22 + i] = (uint8_t)(rows >> 8 * i);
  CHECK(ws_send(&w->c, m, chunk ? 26 : 18) == 0, "sending control %u", cmd);
}

/* Pumps until a reply; returns it. */
static const char *reply_of(watcher *w) {
  uint32_t r0 = w->replies;
  double until = now_ms() + 5000;
  while (w->replies == r0 && now_ms() < until) CHECK(pump(w, 200) >= 0, "closed before the reply");
  CHECK(w->replies > r0, "a reply within 5 s");
  return w->reply;
}

/* The figures' frame after two more figures. */
static uint64_t figures_frame(watcher *w) {
  uint32_t f0 = w->figures;
  double until = now_ms() + 5000;
  while (w->figures < f0 + 2 && now_ms() < until) CHECK(pump(w, 200) >= 0, "closed waiting for figures");
  CHECK(w->figures >= f0 + 2, "figures within 5 s");
  return w->fig_frame;
}

static int control(const char *hex) {
  uint8_t token[16];
  CHECK(strlen(hex) == 32, "a 32-digit token");
  for (int i = 0; i < 16; i++) CHECK(sscanf(hex + 2 * i, "%2hhx", &token[i]) == 1, "a hex token");
  watcher w;
  watch_open(&w, NULL);
  CHECK(updates_within(&w, 2, 5000), "first updates");
  control_msg(&w, token, 1, false, 0, 0);
  CHECK(strstr(reply_of(&w), "\"ok\":true"), "pause: %s", w.reply);
  uint64_t f1 = figures_frame(&w), f2 = figures_frame(&w);
  CHECK(f1 == f2, "paused, yet the frame went from %llu to %llu", (unsigned long long)f1, (unsigned long long)f2);
  control_msg(&w, token, 3, false, 0, 0);
  CHECK(strstr(reply_of(&w), "\"ok\":true"), "step: %s", w.reply);
  uint64_t f3 = figures_frame(&w);
  CHECK(f3 == f2 + 1, "one step: frame %llu after %llu", (unsigned long long)f3, (unsigned long long)f2);
  control_msg(&w, token, 4, true, 0, 512);
  CHECK(strstr(reply_of(&w), "\"ok\":true"), "chunk: %s", w.reply);
  control_msg(&w, token, 4, true, 9999, 512);
  CHECK(strstr(reply_of(&w), "\"ok\":false"), "chunk of no such system refused: %s", w.reply);
  control_msg(&w, token, 2, false, 0, 0);
  CHECK(strstr(reply_of(&w), "\"ok\":true"), "resume: %s", w.reply);
  uint64_t f4 = figures_frame(&w);
  CHECK(f4 > f3 + 1, "resumed: frame %llu after %llu", (unsigned long long)f4, (unsigned long long)f3);
  CHECK(w.fig_chunk0 == 512, "system 0's chunk is 512 in the figures, not %ld", w.fig_chunk0);
  /* a wrong token closes that connection; this one goes on */
  watcher b;
  watch_open(&b, NULL);
  CHECK(updates_within(&b, 1, 5000), "the second client's first update");
  token[0] ^= 1;
  control_msg(&b, token, 1, false, 0, 0);
  double until = now_ms() + 5000;
  int r = 1;
  while (r != -1 && now_ms() < until) r = pump(&b, 200);
  CHECK(r == -1, "a wrong token closes the connection");
  watch_close(&b);
  uint64_t f5 = figures_frame(&w);
  CHECK(f5 > f4, "not paused by the wrong token: frame %llu after %llu", (unsigned long long)f5,
        (unsigned long long)f4);
  printf("control: pause held frame %llu, step made %llu, chunk 512 applied, resume went on to %llu; a wrong token "
         "closed its connection alone\n",
         (unsigned long long)f2, (unsigned long long)f3, (unsigned long long)f5);
  watch_close(&w);
  return 0;
}

static int nocontrol(void) {
  watcher w;
  watch_open(&w, NULL);
  CHECK(updates_within(&w, 1, 5000), "first update");
  uint8_t token[16] = {0};
  control_msg(&w, token, 1, false, 0, 0);
  CHECK(strstr(reply_of(&w), "\"ok\":false"), "control refused: %s", w.reply);
  CHECK(updates_within(&w, 3, 5000), "still served after the refusal");
  uint64_t f1 = figures_frame(&w), f2 = figures_frame(&w);
  CHECK(f2 > f1, "not paused: frame %llu then %llu", (unsigned long long)f1, (unsigned long long)f2);
  printf("nocontrol: control refused (%s), the connection and the frames go on\n", w.reply);
  watch_close(&w);
  return 0;
}

static int handshake(const char *addr, const char *host, const char *origin) {
  ws_conn c;
  ws_opts o = {.host = strcmp(host, "-") ? host : NULL, .origin = strcmp(origin, "-") ? origin : NULL};
  int r = ws_connect(&c, addr, port, &o);
  if (r < 0) {
    fprintf(stderr, "serve_client: handshake: cannot connect to %s port %u\n", addr, (unsigned)port);
    return 3;
  }
  ws_close(&c);
  printf("handshake: to %s, Host %s, Origin %s: %s\n", addr, host, origin, r == 0 ? "accepted" : "refused");
  return r == 0 ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: serve_client MODE PORT [ARG]\n");
    return 2;
  }
  port = (uint16_t)atoi(argv[2]);
  const char *mode = argv[1], *arg = argc > 3 ? argv[3] : NULL;
  if (strcmp(mode, "watch") == 0) return watch(arg ? (uint32_t)atoi(arg) : 20);
  if (strcmp(mode, "garbage") == 0) return garbage();
  if (strcmp(mode, "origin") == 0) return origin();
  if (strcmp(mode, "limit") == 0) return limit(arg ? (uint32_t)atoi(arg) : 8);
  if (strcmp(mode, "stall") == 0) return stall();
  if (strcmp(mode, "control") == 0 && arg) return control(arg);
  if (strcmp(mode, "nocontrol") == 0) return nocontrol();
  if (strcmp(mode, "handshake") == 0 && argc == 6) return handshake(argv[3], argv[4], argv[5]);
  fprintf(stderr, "serve_client: unknown mode %s\n", mode);
  return 2;
}
