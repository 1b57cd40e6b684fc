/* myriad-tune --serve: one configuration of a scenario run until SIGINT or
 * SIGTERM and served live (myriad/serve.h) for the web client; pause, step
 * and chunk sizes from clients with --serve-control. Without the server
 * (no libwebsockets when built), serve_available says so and the options
 * refuse --serve. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tune.h"

/* [ADDR:]PORT: ADDR an IPv4 address, or an IPv6 one in brackets; PORT
 * decimal digits alone (no space, no sign), 0..65535. */
const char *serve_parse_address(const char *text, options *o) {
  const char *colon = strrchr(text, ':');
  const char *port = colon ? colon + 1 : text;
  size_t alen = colon ? (size_t)(colon - text) : 0;
  char addr[64];
  if (alen >= sizeof addr) return "the address is too long";
  memcpy(addr, text, alen);
  addr[alen] = 0;
  unsigned char buf[16];
  if (alen >= 1 && addr[0] == '[') { /* [v6]:PORT */
    bool closed = alen >= 2 && addr[alen - 1] == ']';
    memmove(addr, addr + 1, alen - 1);
    addr[alen - 1 - closed] = 0;
    if (!closed || inet_pton(AF_INET6, addr, buf) != 1)
      return "not [ADDR]:PORT with ADDR an IPv6 address (brackets are for IPv6 alone; e.g. [::1]:8080)";
  } else if (colon && strchr(addr, ':')) {
    return "an IPv6 address goes in brackets (e.g. [::1]:8080)";
  } else if (colon && inet_pton(AF_INET, addr, buf) != 1) {
    return "not [ADDR:]PORT with ADDR an IP address (e.g. 127.0.0.1:8080)";
  }
  size_t digits = strspn(port, "0123456789");
  if (digits == 0 || port[digits] || digits > 5 || strtoul(port, NULL, 10) > 65535)
    return "the port is not a number in 0..65535 (digits alone)";
  snprintf(o->serve_address, sizeof o->serve_address, "%s", colon ? addr : "127.0.0.1");
  o->serve_port = (uint16_t)strtoul(port, NULL, 10);
  return NULL;
}

#ifndef MYR_TUNE_SERVE

bool serve_available(void) { return false; }

int serve_main(const options *o) {
  (void)o;
  fprintf(stderr, "myriad-tune: --serve: this myriad-tune was built without the server (no libwebsockets)\n");
  return 2;
}

#else

#include "myriad/serve.h"

bool serve_available(void) { return true; }

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static bool is_dir(const char *path) {
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* --web-root's; for a tuner run from its build tree, the source tree's
 * web/; else the installed share/myriad/web; NULL when there is none. */
static const char *web_root(const options *o) {
  if (o->web_root) return o->web_root;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[n > 0 ? n : 0] = 0;
  size_t blen = strlen(MYR_BUILD_DIR);
  bool in_build = n > 0 && strncmp(exe, MYR_BUILD_DIR, blen) == 0 && exe[blen] == '/';
  if (in_build && is_dir(MYR_WEB_SOURCE)) return MYR_WEB_SOURCE;
  if (is_dir(MYR_WEB_INSTALLED)) return MYR_WEB_INSTALLED;
  return NULL;
}

static void sleep_until(double t_ms) {
  double left = t_ms - now_ms();
  if (left <= 0) return;
  long long ns = (long long)(left * 1e6);
  struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
  nanosleep(&ts, NULL); /* a signal cuts it short: the loop then sees stop */
}

/* The configuration's chunk sizes: a size, autotuning, or a tuning file's. */
static myr_status set_sizes(const options *o, myr_schedule *s) {
  uint32_t c = o->chunks[0];
  if (c == AUTO) return myr_schedule_autotune(s, &(myr_autotune_desc){.frames = 5});
  if (c == FROM_FILE) return o->tuning_env ? MYR_OK : myr_schedule_load_tuning(s, o->tuning_path);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) myr_schedule_set_chunk_rows(s, i, c);
  return MYR_OK;
}

static int fail(const char *what, myr_status st) {
  fprintf(stderr, "myriad-tune: --serve: %s: %s\n", what, myr_strerror(st));
  return 1;
}

/* Frames until a signal: each when the server's control allows, at most
 * --fps a second, published after it. */
static int serve_loop(const options *o, myr_serve *srv, myr_schedule *s) {
  double period = o->fps ? 1000.0 / o->fps : 0, next = now_ms();
  while (!stop) {
    if (!myr_serve_turn(srv, 100)) continue;
    myr_status st = myr_schedule_run(s, 1.0 / 60);
    if (st != MYR_OK) {
      fprintf(stderr, "myriad-tune: --serve: a frame: %s\n", myr_schedule_error(s));
      return 1;
    }
    myr_serve_frame(srv); /* a skipped update (out of memory) is not fatal */
    if (period > 0) {
      next += period;
      if (next < now_ms() - 10 * period) next = now_ms(); /* fell behind: no burst to catch up */
      sleep_until(next);
    }
  }
  return 0;
}

static int serve_world(const options *o, scn_scenario *sc) {
  myr_stream_desc sd;
  myr_serve *srv;
  myr_status st = scn_stream_desc(sc, &sd);
  if (st != MYR_OK) return fail("the scenario's stream", st);
  const char *root = web_root(o);
  if (!root) fprintf(stderr, "myriad-tune: no web client found (--web-root DIR): serving the stream only\n");
  st = myr_serve_create(scn_world(sc), scn_schedule(sc), &sd,
                        &(myr_serve_desc){.address = o->serve_address,
                                          .port = o->serve_port,
                                          .web_root = root,
                                          .control = o->serve_control,
                                          .scenario_name = o->scenario},
                        &srv);
  if (st == MYR_EIO) {
    fprintf(stderr, "myriad-tune: --serve %s:%u: cannot listen there (in use, or not this machine's address)\n",
            o->serve_address, (unsigned)o->serve_port);
    return 1;
  }
  if (st != MYR_OK) return fail("starting the server", st);
  const char *addr = myr_serve_address(srv);
  fprintf(stderr, strchr(addr, ':') ? "listening=[%s]:%u\n" : "listening=%s:%u\n", addr, (unsigned)myr_serve_port(srv));
  if (o->serve_control) fprintf(stderr, "token=%s\n", myr_serve_token(srv));
  fflush(stderr);
  int rc = serve_loop(o, srv, scn_schedule(sc));
  myr_serve_destroy(srv);
  if (rc == 0) print_hash(o, sc);
  return rc;
}

int serve_main(const options *o) {
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN); /* a client gone mid-write is the server's to notice, not a reason to die */
  myr_jobs *pool;
  myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = o->threads[0]}, &pool);
  if (st != MYR_OK) return fail("the pool", st);
  scn_scenario *sc;
  if ((st = create_world(o, pool, &sc)) != MYR_OK) {
    myr_jobs_destroy(pool);
    return fail("building the scenario", st);
  }
  int rc = (st = set_sizes(o, scn_schedule(sc))) == MYR_OK ? serve_world(o, sc) : fail("the chunk sizes", st);
  scn_destroy(sc);
  myr_jobs_destroy(pool);
  return rc;
}

#endif
