/* Records a stream for the JavaScript decoder's test: a scenario run for
 * some frames, a view captured after each, coded for a receiver that loses
 * some of them (one in three at random, and a run longer than the history,
 * which costs a keyframe), with two captures of one frame between which
 * entities moved (a baseline whose step took no frames) and a clock set
 * back. What the receiver got is written as records
 * (u32 little-endian length, then the message), and after each, the C
 * decoder's view hash as a line "<seq> <16 hex digits>".
 *
 * Usage: stream_record SCENARIO ENTITIES FRAMES RECORDING HASHES */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "myriad/myriad.h"
#include "scenarios.h"

static int fail(const char *what, myr_status st) {
  fprintf(stderr, "stream_record: %s: %s\n", what, myr_strerror(st));
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: stream_record SCENARIO ENTITIES FRAMES RECORDING HASHES\n");
    return 2;
  }
  uint32_t entities = (uint32_t)strtoul(argv[2], NULL, 10), frames = (uint32_t)strtoul(argv[3], NULL, 10);
  scn_scenario *sc;
  myr_status st = scn_create(argv[1], entities, 11, NULL, &sc);
  if (st != MYR_OK) return fail(argv[1], st);
  myr_stream_desc d;
  myr_stream *s = NULL;
  myr_stream_view *v = NULL;
  st = scn_stream_desc(sc, &d);
  if (st == MYR_OK) st = myr_stream_create(scn_world(sc), &d, &s);
  if (st == MYR_OK) st = myr_stream_view_create(0, &v);
  FILE *rec = fopen(argv[4], "wb"), *hashes = fopen(argv[5], "w");
  if (!rec || !hashes) st = MYR_EIO;
  uint32_t ack = 0, ack_base = 0;
  uint64_t lcg = 2024;
  myr_component pos = 0;
  if (st == MYR_OK) st = myr_component_lookup(scn_world(sc), "Position", &pos);
  for (uint32_t f = 0; st == MYR_OK && f <= frames; f++) {
    if (f == frames / 3 || f == frames / 3 + 1) {
      /* no frame: every entity moved by hand, so the next baseline's step
       * took 0 frames */
      myr_query *q = NULL;
      st = myr_query_create(scn_world(sc),
                            &(myr_query_desc){.terms = &(myr_term){pos, MYR_TERM_WRITE}, .term_count = 1}, &q);
      myr_query_iter it;
      myr_chunk c;
      if (st == MYR_OK) st = myr_query_iter_init(q, 4096, &it);
      while (st == MYR_OK && myr_query_next(&it, &c)) {
        float *x = myr_chunk_f32(&c, 0, 0);
        for (uint32_t i = 0; i < c.count; i++) x[i] = x[i] * 0.99f + 0.004f;
      }
      myr_query_destroy(q);
    } else if (f == 2 * frames / 3) {
      st = myr_world_set_clock(scn_world(sc), myr_world_frame(scn_world(sc)) - 5, myr_world_time(scn_world(sc)));
    } else if (f) {
      st = myr_schedule_run(scn_schedule(sc), 1.0 / 60);
    }
    uint32_t seq, used;
    unsigned char *msg = NULL;
    size_t size = 0;
    if (st == MYR_OK) st = myr_stream_capture(s, scn_world(sc), &seq);
    if (st == MYR_OK) st = myr_stream_encode(s, ack, ack_base, &msg, &size, &used);
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    bool lost = f > 0 && ((lcg >> 33) % 3 == 0 || (f >= frames / 2 && f < frames / 2 + 6));
    if (st == MYR_OK && !lost) {
      st = myr_stream_view_apply(v, msg, size, NULL);
      unsigned char len[4] = {(unsigned char)size, (unsigned char)(size >> 8), (unsigned char)(size >> 16),
                              (unsigned char)(size >> 24)};
      if (st == MYR_OK && (fwrite(len, 1, 4, rec) != 4 || fwrite(msg, 1, size, rec) != size)) st = MYR_EIO;
      if (st == MYR_OK) fprintf(hashes, "%" PRIu32 " %016" PRIx64 "\n", seq, myr_stream_view_hash(v));
      ack = seq, ack_base = used;
    }
    free(msg);
  }
  if (rec && fclose(rec) != 0 && st == MYR_OK) st = MYR_EIO;
  if (hashes && fclose(hashes) != 0 && st == MYR_OK) st = MYR_EIO;
  myr_stream_view_destroy(v);
  myr_stream_destroy(s);
  scn_destroy(sc);
  return st == MYR_OK ? 0 : fail("recording", st);
}
