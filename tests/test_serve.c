/* The live view's server in process (myriad/serve.h): its arguments
 * checked, its port and token, frames that cost nothing without clients,
 * a client that gets a hello then a keyframe that decodes, and a client
 * whose queue is full skipping updates while frames go on. The shell test
 * serve_cli.sh checks the rest through myriad-tune --serve. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "myriad/myriad.h"
#include "myriad/serve.h"
#include "scenarios.h"
#include "ws_client.h"

typedef struct fixture {
  scn_scenario *sc;
  myr_stream_desc sd;
} fixture;

static int setup(void **state) {
  static fixture f;
  if (scn_create("particles", 2000, 1, NULL, &f.sc) != MYR_OK || scn_stream_desc(f.sc, &f.sd) != MYR_OK) return -1;
  *state = &f;
  return 0;
}

static int teardown(void **state) {
  scn_destroy(((fixture *)*state)->sc);
  return 0;
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static myr_status create(fixture *f, const myr_serve_desc *d, myr_serve **out) {
  return myr_serve_create(scn_world(f->sc), scn_schedule(f->sc), &f->sd, d, out);
}

static void bad_arguments_are_refused(void **state) {
  fixture *f = *state;
  myr_serve *srv = NULL;
  myr_serve_desc d = {0};
  assert_int_equal(myr_serve_create(NULL, scn_schedule(f->sc), &f->sd, &d, &srv), MYR_EINVAL);
  assert_int_equal(myr_serve_create(scn_world(f->sc), NULL, &f->sd, &d, &srv), MYR_EINVAL);
  assert_int_equal(myr_serve_create(scn_world(f->sc), scn_schedule(f->sc), NULL, &d, &srv), MYR_EINVAL);
  assert_int_equal(myr_serve_create(scn_world(f->sc), scn_schedule(f->sc), &f->sd, NULL, &srv), MYR_EINVAL);
  assert_int_equal(create(f, &d, NULL), MYR_EINVAL);
  assert_int_equal(create(f, &(myr_serve_desc){.address = "localhost"}, &srv), MYR_EINVAL);
  assert_int_equal(create(f, &(myr_serve_desc){.address = "1.2.3"}, &srv), MYR_EINVAL);
  assert_int_equal(create(f, &(myr_serve_desc){.max_clients = 257}, &srv), MYR_EINVAL);
  myr_world *other;
  assert_int_equal(myr_world_create(NULL, &other), MYR_OK);
  assert_int_equal(myr_serve_create(other, scn_schedule(f->sc), &f->sd, &d, &srv), MYR_EINVAL);
  myr_world_destroy(other);
  myr_stream_desc bad = f->sd;
  bad.dims = 4;
  assert_int_equal(myr_serve_create(scn_world(f->sc), scn_schedule(f->sc), &bad, &d, &srv), MYR_EINVAL);
  assert_null(srv);
  assert_int_equal(myr_serve_frame(NULL), MYR_EINVAL);
  assert_false(myr_serve_turn(NULL, 0));
  assert_false(myr_serve_paused(NULL));
  myr_serve_destroy(NULL);
}

static void a_port_in_use_is_an_io_error(void **state) {
  fixture *f = *state;
  myr_serve *a, *b = NULL;
  assert_int_equal(create(f, &(myr_serve_desc){0}, &a), MYR_OK);
  uint16_t port = myr_serve_port(a);
  assert_true(port > 0);
  assert_string_equal(myr_serve_address(a), "127.0.0.1");
  assert_int_equal(create(f, &(myr_serve_desc){.port = port}, &b), MYR_EIO);
  assert_null(b);
  myr_serve_destroy(a);
}

static void tokens_are_32_hex_digits_and_differ(void **state) {
  fixture *f = *state;
  myr_serve *a, *b;
  assert_int_equal(create(f, &(myr_serve_desc){.control = true}, &a), MYR_OK);
  assert_int_equal(create(f, &(myr_serve_desc){.control = true}, &b), MYR_OK);
  const char *ta = myr_serve_token(a), *tb = myr_serve_token(b);
  assert_int_equal(strlen(ta), MYR_SERVE_TOKEN_HEX);
  assert_int_equal(strspn(ta, "0123456789abcdef"), MYR_SERVE_TOKEN_HEX);
  assert_string_not_equal(ta, tb);
  assert_int_not_equal(myr_serve_port(a), myr_serve_port(b));
  myr_serve_destroy(a);
  myr_serve_destroy(b);
}

static void frames_without_clients_capture_nothing(void **state) {
  fixture *f = *state;
  myr_serve *srv;
  assert_int_equal(create(f, &(myr_serve_desc){0}, &srv), MYR_OK);
  for (int i = 0; i < 20; i++) {
    assert_true(myr_serve_turn(srv, 0));
    assert_int_equal(myr_schedule_run(scn_schedule(f->sc), 1.0 / 60), MYR_OK);
    assert_int_equal(myr_serve_frame(srv), MYR_OK);
  }
  myr_serve_stats st;
  assert_int_equal(myr_serve_get_stats(srv, &st), MYR_OK);
  assert_int_equal(st.captures, 0);
  assert_int_equal(st.clients, 0);
  assert_false(myr_serve_paused(srv));
  myr_serve_destroy(srv);
}

/* Frames and publishing until the client has `want` messages of `type`
 * or the time runs out; returns how many it got. */
static uint32_t frames_until(fixture *f, myr_serve *srv, ws_conn *c, uint8_t type, uint32_t want, myr_stream_view *v,
                             double ms) {
  uint32_t got = 0;
  double until = now_ms() + ms;
  while (got < want && now_ms() < until) {
    assert_int_equal(myr_schedule_run(scn_schedule(f->sc), 1.0 / 60), MYR_OK);
    assert_int_equal(myr_serve_frame(srv), MYR_OK);
    size_t n;
    int r;
    while ((r = ws_recv(c, &n, 5)) == 1) {
      if (c->msg[0] != type) continue;
      got++;
      if (v) {
        uint32_t seq;
        assert_int_equal(myr_stream_view_apply(v, c->msg, n, &seq), MYR_OK);
        uint8_t ack[5] = {0x10, (uint8_t)seq, (uint8_t)(seq >> 8), (uint8_t)(seq >> 16), (uint8_t)(seq >> 24)};
        assert_int_equal(ws_send(c, ack, 5), 0);
      }
    }
    assert_int_not_equal(r, -1);
  }
  return got;
}

static void a_client_gets_a_hello_then_a_keyframe_that_decodes(void **state) {
  fixture *f = *state;
  myr_serve *srv;
  assert_int_equal(create(f, &(myr_serve_desc){.scenario_name = "particles"}, &srv), MYR_OK);
  ws_conn c;
  assert_int_equal(ws_connect(&c, "127.0.0.1", myr_serve_port(srv), NULL), 0);
  size_t n;
  assert_int_equal(ws_recv(&c, &n, 5000), 1);
  assert_int_equal(c.msg[0], MYR_STREAM_HELLO);
  assert_non_null(memmem(c.msg, n, "\"scenario\":\"particles\"", 22));
  myr_stream_view *v;
  assert_int_equal(myr_stream_view_create(0, &v), MYR_OK);
  assert_int_equal(frames_until(f, srv, &c, MYR_STREAM_KEYFRAME, 1, v, 10000), 1);
  assert_int_equal(myr_stream_view_count(v), myr_world_entity_count(scn_world(f->sc)));
  assert_true(frames_until(f, srv, &c, MYR_STREAM_DELTA, 2, v, 10000) == 2);
  myr_serve_stats st;
  assert_int_equal(myr_serve_get_stats(srv, &st), MYR_OK);
  assert_int_equal(st.clients, 1);
  assert_true(st.keyframes >= 1 && st.updates_sent >= 3 && st.captures >= 3);
  myr_stream_view_destroy(v);
  ws_close(&c);
  myr_serve_destroy(srv);
}

static void a_full_queue_skips_updates_and_frames_go_on(void **state) {
  (void)state;
  /* a world big enough that a few updates fill the socket's buffers (a
   * few MB), so that the queue is full within seconds even under TSan */
  fixture big = {0}, *f = &big;
  assert_int_equal(scn_create("particles", 50000, 1, NULL, &big.sc), MYR_OK);
  assert_int_equal(scn_stream_desc(big.sc, &big.sd), MYR_OK);
  myr_serve *srv;
  assert_int_equal(create(f, &(myr_serve_desc){.queue_bytes = 1}, &srv), MYR_OK);
  ws_conn c; /* never reads after the hello; asks for every frame */
  assert_int_equal(ws_connect(&c, "127.0.0.1", myr_serve_port(srv), &(ws_opts){.rcvbuf = 4096}), 0);
  assert_int_equal(ws_send(&c, (uint8_t[]){0x11, 0, 0}, 3), 0);
  myr_serve_stats st = {0};
  double until = now_ms() + 30000; /* the socket's buffers fill first */
  while ((st.updates_skipped < 3 || st.updates_sent < 2) && now_ms() < until) {
    assert_int_equal(myr_schedule_run(scn_schedule(f->sc), 1.0 / 60), MYR_OK);
    assert_int_equal(myr_serve_frame(srv), MYR_OK);
    assert_int_equal(myr_serve_get_stats(srv, &st), MYR_OK);
  }
  if (st.updates_skipped < 3 || st.updates_sent < 2)
    fprintf(stderr, "skipped %llu, sent %llu\n", (unsigned long long)st.updates_skipped,
            (unsigned long long)st.updates_sent);
  assert_true(st.updates_skipped >= 3);
  assert_true(st.updates_sent >= 2); /* an empty queue takes any update */
  ws_close(&c);
  myr_serve_destroy(srv);
  scn_destroy(big.sc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(bad_arguments_are_refused),
      cmocka_unit_test(a_port_in_use_is_an_io_error),
      cmocka_unit_test(tokens_are_32_hex_digits_and_differ),
      cmocka_unit_test(frames_without_clients_capture_nothing),
      cmocka_unit_test(a_client_gets_a_hello_then_a_keyframe_that_decodes),
      cmocka_unit_test(a_full_queue_skips_updates_and_frames_go_on),
  };
  if (getenv("MYR_TEST_FILTER")) cmocka_set_test_filter(getenv("MYR_TEST_FILTER")); /* one test, by name */
  return cmocka_run_group_tests(tests, setup, teardown);
}
