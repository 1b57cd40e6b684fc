/* The stream (stream.h): the C encoder against the C decoder over every
 * built-in scenario, a keyframe then 100 deltas, with every view
 * acknowledged and with baselines lost; keyframes when a baseline is gone;
 * the decoded entities against the world's; every corrupt message refused
 * with the view unchanged; descriptions checked. */
#include <math.h>

#include "helpers.h"
#include "scenarios.h"

#define HEADER_BYTES 36u /* docs/stream.md: type .. hash */

static void world_setup(fixture *f) {
  assert_int_equal(myr_world_create(NULL, &f->w), MYR_OK);
  fixture_register(f);
}

/* A receiver as a client would be: it applies what arrives, acks it, and
 * the sender codes against its newest ack and the base that ack was coded
 * against. */
typedef struct link {
  myr_stream *s;
  myr_stream_view *v;
  uint32_t ack, ack_base; /* the receiver's newest ack and what it was coded against */
  uint32_t base_of[4096]; /* per seq, the base the receiver got it against */
  uint64_t bytes, keyframes, deltas;
} link;

/* Captures a view, codes it for the receiver, and (unless lost) applies it
 * and checks both sides' hashes. */
static void step(link *l, const myr_world *w, bool lost) {
  uint32_t seq = 0, used = 99;
  assert_int_equal(myr_stream_capture(l->s, w, &seq), MYR_OK);
  unsigned char *msg = NULL;
  size_t size = 0;
  assert_int_equal(myr_stream_encode(l->s, l->ack, l->ack ? l->ack_base : 0, &msg, &size, &used), MYR_OK);
  myr_stream_header h;
  assert_int_equal(myr_stream_peek(msg, size, &h), MYR_OK);
  assert_int_equal(h.seq, seq);
  assert_int_equal(h.base, used);
  assert_int_equal(h.count, myr_stream_count(l->s));
  if (!lost) {
    l->bytes += size;
    if (used) l->deltas++;
    else l->keyframes++;
    uint32_t got = 0;
    assert_int_equal(myr_stream_view_apply(l->v, msg, size, &got), MYR_OK);
    assert_int_equal(got, seq);
    assert_true(myr_stream_view_hash(l->v) == myr_stream_hash(l->s));
    assert_int_equal(myr_stream_view_count(l->v), myr_stream_count(l->s));
    l->base_of[seq % 4096] = used;
    l->ack = seq;
    l->ack_base = used;
  }
  free(msg);
}

static void link_open(link *l, scn_scenario *sc, uint32_t history) {
  *l = (link){0};
  myr_stream_desc d;
  assert_int_equal(scn_stream_desc(sc, &d), MYR_OK);
  d.history = history;
  assert_int_equal(myr_stream_create(scn_world(sc), &d, &l->s), MYR_OK);
  assert_int_equal(myr_stream_view_create(0, &l->v), MYR_OK);
}

static void link_close(link *l) {
  myr_stream_destroy(l->s);
  myr_stream_view_destroy(l->v);
}

/* A fresh receiver given a keyframe of the newest view agrees with the
 * one that followed every delta, entity by entity. */
static void check_against_keyframe(link *l) {
  unsigned char *msg = NULL;
  size_t size = 0;
  assert_int_equal(myr_stream_encode(l->s, 0, 0, &msg, &size, NULL), MYR_OK);
  myr_stream_view *fresh;
  assert_int_equal(myr_stream_view_create(1, &fresh), MYR_OK);
  assert_int_equal(myr_stream_view_apply(fresh, msg, size, NULL), MYR_OK);
  uint32_t n = myr_stream_view_count(fresh);
  assert_int_equal(n, myr_stream_view_count(l->v));
  myr_stream_entity *a = malloc(sizeof *a * (n + 1)), *b = malloc(sizeof *b * (n + 1));
  assert_int_equal(myr_stream_view_entities(fresh, 0, a, n), n);
  assert_int_equal(myr_stream_view_entities(l->v, 0, b, n), n);
  assert_memory_equal(a, b, sizeof *a * n);
  assert_true(myr_stream_view_hash(fresh) == myr_stream_view_hash(l->v));
  free(a), free(b), free(msg);
  myr_stream_view_destroy(fresh);
}

static void run_scenario(const char *name, uint32_t entities, uint32_t lose_every) {
  myr_jobs *pool;
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &pool), MYR_OK);
  scn_scenario *sc;
  assert_int_equal(scn_create(name, entities, 7, pool, &sc), MYR_OK);
  link l;
  link_open(&l, sc, 64);
  uint64_t lcg = 12345;
  for (int frame = 0; frame <= 100; frame++) {
    if (frame) assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    bool lost = lose_every && frame > 0 && (lcg >> 33) % lose_every == 0;
    step(&l, scn_world(sc), lost);
  }
  assert_int_equal(l.keyframes, 1); /* losses within the history (64) never need another */
  check_against_keyframe(&l);
  link_close(&l);
  scn_destroy(sc);
  myr_jobs_destroy(pool);
}

static void every_scenario_acknowledged(void **state) {
  (void)state;
  uint32_t count;
  const scn_info *list = scn_list(&count);
  for (uint32_t i = 0; i < count; i++) run_scenario(list[i].name, 3000, 0);
}

static void every_scenario_with_lost_baselines(void **state) {
  (void)state;
  uint32_t count;
  const scn_info *list = scn_list(&count);
  for (uint32_t i = 0; i < count; i++) run_scenario(list[i].name, 3000, 3);
}

/* A receiver silent for longer than the history gets a keyframe, and one
 * that then acks goes back to deltas. */
static void keyframe_when_the_baseline_is_gone(void **state) {
  (void)state;
  scn_scenario *sc;
  assert_int_equal(scn_create("boids", 2000, 3, NULL, &sc), MYR_OK);
  link l;
  link_open(&l, sc, 2);
  step(&l, scn_world(sc), false);
  for (int f = 0; f < 3; f++) {
    assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
    step(&l, scn_world(sc), true);
  }
  assert_false(myr_stream_holds(l.s, l.ack));
  assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
  step(&l, scn_world(sc), false);
  assert_int_equal(l.keyframes, 2);
  assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
  step(&l, scn_world(sc), false);
  assert_int_equal(l.keyframes, 2);
  assert_int_equal(l.deltas, 1);
  link_close(&l);
  scn_destroy(sc);
}

/* The decoded ids are the world's, and positions are within a quantum. */
static void decoded_entities_are_the_worlds(void **state) {
  (void)state;
  scn_scenario *sc;
  assert_int_equal(scn_create("particles", 1000, 5, NULL, &sc), MYR_OK);
  myr_world *w = scn_world(sc);
  for (int f = 0; f < 5; f++) assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
  link l;
  link_open(&l, sc, 0);
  step(&l, w, false);
  uint32_t n = myr_stream_view_count(l.v);
  assert_int_equal(n, myr_world_entity_count(w));
  myr_stream_entity *e = malloc(sizeof *e * n);
  assert_int_equal(myr_stream_view_entities(l.v, 0, e, n), n);
  myr_component pos;
  assert_int_equal(myr_component_lookup(w, "Position", &pos), MYR_OK);
  for (uint32_t i = 0; i < n; i++) {
    if (i) assert_true((uint32_t)e[i].id > (uint32_t)e[i - 1].id);
    float p[3];
    assert_int_equal(myr_component_get(w, e[i].id, pos, p), MYR_OK);
    for (int a = 0; a < 3; a++) {
      float back = ((float)e[i].q[a] + 0.5f) / 65536.0f;
      assert_true(p[a] < 0 || p[a] >= 1 || fabsf(back - p[a]) <= 1.0f / 65536.0f);
    }
  }
  assert_int_equal(myr_stream_view_entities(l.v, n, e, 1), 0);
  free(e);
  link_close(&l);
  scn_destroy(sc);
}

/* Every corrupt copy of a delta (each byte of the body flipped, each
 * truncation, trailing bytes, garbage) is refused, and the view stays as
 * it was; afterwards the right message still applies. */
static void corrupt_messages_change_nothing(void **state) {
  (void)state;
  scn_scenario *sc;
  assert_int_equal(scn_create("boids", 300, 9, NULL, &sc), MYR_OK);
  link l;
  link_open(&l, sc, 0);
  step(&l, scn_world(sc), false);
  for (int f = 0; f < 2; f++) {
    assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
    step(&l, scn_world(sc), false);
  }
  assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
  uint32_t seq;
  assert_int_equal(myr_stream_capture(l.s, scn_world(sc), &seq), MYR_OK);
  unsigned char *msg;
  size_t size;
  assert_int_equal(myr_stream_encode(l.s, l.ack, l.ack_base, &msg, &size, NULL), MYR_OK);
  uint64_t hash = myr_stream_view_hash(l.v);
  uint32_t had = myr_stream_view_seq(l.v);
  unsigned char *bad = malloc(size + 8);
  /* the body and the header's dims, bits, flags, count and hash: any flip
   * is caught (seq, base and frame are the sender's word) */
  for (size_t i = 0; i < size; i++) {
    if (i >= 8 && i < 24) continue;
    for (int bit = 0; bit < 8; bit++) {
      memcpy(bad, msg, size);
      bad[i] ^= (unsigned char)(1u << bit);
      myr_status st = myr_stream_view_apply(l.v, bad, size, NULL);
      if (st == MYR_OK) fail_msg("byte %zu bit %d flipped was accepted", i, bit);
      assert_true(myr_stream_view_hash(l.v) == hash);
      assert_int_equal(myr_stream_view_seq(l.v), had);
    }
  }
  for (size_t n = 0; n < size; n++) assert_int_not_equal(myr_stream_view_apply(l.v, msg, n, NULL), MYR_OK);
  memcpy(bad, msg, size);
  memset(bad + size, 0, 8);
  assert_int_equal(myr_stream_view_apply(l.v, bad, size + 1, NULL), MYR_ECORRUPT);
  uint64_t lcg = 99;
  for (int k = 0; k < 2000; k++) {
    size_t n = 1 + (size_t)(lcg >> 40) % (size + 7);
    for (size_t i = 0; i < n; i++) {
      lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
      bad[i] = (unsigned char)(lcg >> 56);
    }
    if (k % 2) memcpy(bad, msg, n < HEADER_BYTES ? n : HEADER_BYTES); /* a real header, a garbage body */
    assert_int_not_equal(myr_stream_view_apply(l.v, bad, n, NULL), MYR_OK);
  }
  assert_true(myr_stream_view_hash(l.v) == hash);
  /* a delta against a view it never had */
  memcpy(bad, msg, size);
  bad[8] = 0xfe, bad[9] = 0xff, bad[10] = 0xff, bad[11] = 0x7f;
  bad[12] = 0xfd, bad[13] = 0xff, bad[14] = 0xff, bad[15] = 0x7f;
  assert_int_equal(myr_stream_view_apply(l.v, bad, size, NULL), MYR_ENOTFOUND);
  assert_int_equal(myr_stream_view_apply(l.v, msg, size, NULL), MYR_OK);
  assert_true(myr_stream_view_hash(l.v) == myr_stream_hash(l.s));
  free(bad), free(msg);
  link_close(&l);
  scn_destroy(sc);
}

static void descriptions_are_checked(void **state) {
  (void)state;
  fixture f;
  world_setup(&f);
  myr_stream *s = NULL;
  myr_stream_desc good = {.position = f.pos, .dims = 3, .fields = {0, 1, 2}, .box_max = {1, 1, 1}};
  assert_int_equal(myr_stream_create(f.w, &good, &s), MYR_OK);
  assert_int_equal(myr_stream_description(s)->bits, 16);
  myr_stream_destroy(s);
  myr_stream_desc d = good;
  d.dims = 4;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_EINVAL);
  d = good, d.bits = 25;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_EINVAL);
  d = good, d.box_max[1] = 0;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_EINVAL);
  d = good, d.box_max[2] = INFINITY;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_EINVAL);
  d = good, d.position = 200;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_ENOCOMP);
  d = good, d.fields[2] = 7;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_EFIELD);
  d = good, d.position = f.health;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_ETYPE);
  d = good, d.has_color = true, d.color = f.pos;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_ETYPE);
  d = good, d.history = 65;
  assert_int_equal(myr_stream_create(f.w, &d, &s), MYR_EINVAL);
  assert_int_equal(myr_stream_create(NULL, &good, &s), MYR_EINVAL);
  assert_int_equal(myr_stream_create(f.w, &good, &s), MYR_OK);
  unsigned char *m;
  size_t n;
  assert_int_equal(myr_stream_encode(s, 0, 0, &m, &n, NULL), MYR_EINVAL); /* nothing captured */
  assert_int_equal(myr_stream_capture(s, f.w, NULL), MYR_OK);
  assert_int_equal(myr_stream_encode(s, 1, 0, &m, &n, NULL), MYR_EINVAL); /* base is the newest */
  assert_int_equal(myr_stream_capture(s, f.w, NULL), MYR_OK);
  assert_int_equal(myr_stream_encode(s, 1, 1, &m, &n, NULL), MYR_EINVAL); /* prev not older than base */
  myr_stream_destroy(s);
  myr_stream_view *v;
  assert_int_equal(myr_stream_view_create(65, &v), MYR_EINVAL);
  myr_world_destroy(f.w);
}

/* Colours and kinds travel, and their changes too. */
static void kinds_and_colours_follow_the_world(void **state) {
  (void)state;
  fixture f;
  world_setup(&f);
  static const myr_field cf[] = {{"rgba", MYR_U32, 0, 0}};
  myr_component color, tag;
  assert_int_equal(myr_component_register(f.w, &(myr_component_desc){"Color", cf, 1, 4}, &color), MYR_OK);
  assert_int_equal(myr_component_register(f.w, &(myr_component_desc){"Red", NULL, 0, 0}, &tag), MYR_OK);
  myr_entity e[50];
  for (int i = 0; i < 50; i++) {
    assert_int_equal(myr_entity_create(f.w, &e[i]), MYR_OK);
    t_position p = {i / 50.0f, 0.5f, 0.25f};
    assert_int_equal(myr_component_add(f.w, e[i], f.pos, &p), MYR_OK);
    uint32_t c = 0x11223300u + (uint32_t)i;
    if (i % 2) assert_int_equal(myr_component_add(f.w, e[i], color, &c), MYR_OK);
  }
  myr_stream_desc d = {.position = f.pos,
                       .dims = 3,
                       .fields = {0, 1, 2},
                       .box_max = {1, 1, 1},
                       .kinds = &tag,
                       .kind_count = 1,
                       .has_color = true,
                       .color = color};
  link l = {0};
  assert_int_equal(myr_stream_create(f.w, &d, &l.s), MYR_OK);
  assert_int_equal(myr_stream_view_create(0, &l.v), MYR_OK);
  step(&l, f.w, false);
  assert_int_equal(myr_component_add(f.w, e[4], tag, NULL), MYR_OK);
  uint32_t c = 7;
  assert_int_equal(myr_component_set(f.w, e[5], color, &c), MYR_OK);
  assert_int_equal(myr_entity_destroy(f.w, e[6]), MYR_OK);
  step(&l, f.w, false);
  myr_stream_entity out[50];
  uint32_t n = myr_stream_view_entities(l.v, 0, out, 50);
  assert_int_equal(n, 49);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t k = (uint32_t)out[i].id;
    assert_true(out[i].id == e[k]);
    assert_int_equal(out[i].kind, k == 4 ? 1 : 0);
    assert_int_equal(out[i].color, k == 5 ? 7 : (k % 2 ? 0x11223300u + k : 0));
  }
  link_close(&l);
  myr_world_destroy(f.w);
}

/* A view sent again (a keyframe for a seq the receiver holds) replaces
 * that view alone: the older baselines stay. */
static void a_view_sent_again_replaces_only_itself(void **state) {
  (void)state;
  scn_scenario *sc;
  assert_int_equal(scn_create("particles", 500, 4, NULL, &sc), MYR_OK);
  link l;
  link_open(&l, sc, 8);
  step(&l, scn_world(sc), false); /* seq 1, a keyframe */
  assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
  step(&l, scn_world(sc), false); /* seq 2 against 1 */
  unsigned char *msg;
  size_t size;
  assert_int_equal(myr_stream_encode(l.s, 0, 0, &msg, &size, NULL), MYR_OK); /* seq 2 again, whole */
  assert_int_equal(myr_stream_view_apply(l.v, msg, size, NULL), MYR_OK);
  free(msg);
  assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
  uint32_t seq;
  assert_int_equal(myr_stream_capture(l.s, scn_world(sc), &seq), MYR_OK);
  assert_int_equal(myr_stream_encode(l.s, 1, 0, &msg, &size, NULL), MYR_OK); /* seq 3 against 1 */
  assert_int_equal(myr_stream_view_apply(l.v, msg, size, NULL), MYR_OK);
  assert_true(myr_stream_view_hash(l.v) == myr_stream_hash(l.s));
  free(msg);
  link_close(&l);
  scn_destroy(sc);
}

/* A receiver slower than the captures: with history 1, its baselines are
 * soon gone and it gets keyframes, unless myr_stream_keep names them. */
static void kept_views_stay_baselines(void **state) {
  (void)state;
  for (int keep = 0; keep < 2; keep++) {
    scn_scenario *sc;
    assert_int_equal(scn_create("particles", 400, 6, NULL, &sc), MYR_OK);
    link l;
    link_open(&l, sc, 1);
    for (int u = 0; u < 12; u++) {
      for (int k = 0; k < 3; k++) { /* captures for faster receivers */
        assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
        if (keep) assert_int_equal(myr_stream_keep(l.s, (uint32_t[]){l.ack, l.ack_base}, 2), MYR_OK);
        assert_int_equal(myr_stream_capture(l.s, scn_world(sc), NULL), MYR_OK);
      }
      if (keep) assert_int_equal(myr_stream_keep(l.s, (uint32_t[]){l.ack, l.ack_base}, 2), MYR_OK);
      step(&l, scn_world(sc), false);
    }
    if (keep) {
      assert_int_equal(l.keyframes, 1);
      assert_int_equal(l.deltas, 11);
    } else {
      assert_int_equal(l.keyframes, 12);
    }
    link_close(&l);
    scn_destroy(sc);
  }
  myr_stream *s = NULL;
  assert_int_equal(myr_stream_keep(s, NULL, 0), MYR_EINVAL);
}

/* A sender whose acks lag codes many views against one old ack: the
 * receiver keeps that baseline while it is used, even with room for two. */
static void a_baseline_in_use_is_kept(void **state) {
  (void)state;
  scn_scenario *sc;
  assert_int_equal(scn_create("boids", 300, 8, NULL, &sc), MYR_OK);
  myr_stream_desc d;
  assert_int_equal(scn_stream_desc(sc, &d), MYR_OK);
  myr_stream *s;
  myr_stream_view *v;
  assert_int_equal(myr_stream_create(scn_world(sc), &d, &s), MYR_OK);
  assert_int_equal(myr_stream_view_create(2, &v), MYR_OK);
  unsigned char *msg;
  size_t size;
  assert_int_equal(myr_stream_capture(s, scn_world(sc), NULL), MYR_OK);
  assert_int_equal(myr_stream_encode(s, 0, 0, &msg, &size, NULL), MYR_OK);
  assert_int_equal(myr_stream_view_apply(v, msg, size, NULL), MYR_OK);
  free(msg);
  for (int k = 0; k < 4; k++) { /* views 2..5, all against 1 */
    assert_int_equal(myr_schedule_run(scn_schedule(sc), 1.0 / 60), MYR_OK);
    assert_int_equal(myr_stream_capture(s, scn_world(sc), NULL), MYR_OK);
    assert_int_equal(myr_stream_encode(s, 1, 0, &msg, &size, NULL), MYR_OK);
    assert_int_equal(myr_stream_view_apply(v, msg, size, NULL), MYR_OK);
    assert_true(myr_stream_view_hash(v) == myr_stream_hash(s));
    free(msg);
  }
  myr_stream_view_destroy(v);
  myr_stream_destroy(s);
  scn_destroy(sc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_scenario_acknowledged),        cmocka_unit_test(every_scenario_with_lost_baselines),
      cmocka_unit_test(keyframe_when_the_baseline_is_gone), cmocka_unit_test(decoded_entities_are_the_worlds),
      cmocka_unit_test(corrupt_messages_change_nothing),    cmocka_unit_test(descriptions_are_checked),
      cmocka_unit_test(kinds_and_colours_follow_the_world), cmocka_unit_test(a_view_sent_again_replaces_only_itself),
      cmocka_unit_test(kept_views_stay_baselines),          cmocka_unit_test(a_baseline_in_use_is_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
