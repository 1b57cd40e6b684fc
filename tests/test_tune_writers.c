/* myriad-tune's writers fed results by hand: a system (and a scenario)
 * named with quotes, a backslash, a comma and control characters, and bests
 * placed at the ends of the sweep and between them. Writes into DIR:
 *   name.raw             the hostile name, as bytes
 *   sweep.json auto.json the JSON of a sweep and of --chunk auto
 * which tests/tune_writers.sh reads back with jq; checks here the CSV's
 * quoting, where the table's notes go and the ranges they suggest.
 * Exit status 0 when every check here passed. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tune.h"

/* a quote, a backslash, a comma, a tab, a newline, 0x01 and 0x1f, UTF-8 */
static const char hostile[] = "say \"hi\", C:\\dir\tx\x01y\x1f\nz \xc3\xa9";

static int fails;
#define CHECK(cond)                                                    \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: FAIL: %s\n", __FILE__, __LINE__, #cond); \
      fails++;                                                         \
    }                                                                  \
  } while (0)

enum { SYSTEMS = 4, MAX_CONFIGS = 3 };
static const char *const names[SYSTEMS] = {hostile, "middle", "small", "respawn"};

/* The options of a run on 2 threads over `count` configurations. */
static options make_options(const uint32_t *chunks, uint32_t count) {
  options o = {.scenario = hostile,
               .entities = 1000,
               .frames = 3,
               .warmup = 1,
               .repeat = 1,
               .seed = 7,
               .threads = {2},
               .thread_count = 1,
               .chunk_count = count,
               .autotune = chunks[0] == AUTO};
  memcpy(o.chunks, chunks, sizeof *chunks * count);
  return o;
}

/* Results of every system in every configuration: the hostile system is
 * fastest at the largest size, "middle" at the second, "small" at the
 * smallest; "respawn" runs once. Autotuned configurations settle on 64. */
static tune_results make_results(const options *o, result *rs, config_time *ts) {
  tune_results r = {.rs = rs, .n = 0, .ts = ts, .tn = o->chunk_count, .systems = SYSTEMS};
  for (uint32_t c = 0; c < o->chunk_count; c++) {
    uint32_t chunk = o->chunks[c];
    for (uint32_t i = 0; i < SYSTEMS; i++) {
      result *x = &rs[r.n++];
      *x = (result){.threads = 2,
                    .chunk = chunk == AUTO ? 64 : chunk,
                    .config_chunk = chunk,
                    .settle_frames = chunk == AUTO ? 10 : 0,
                    .run_once = i == 3};
      snprintf(x->system, sizeof x->system, "%s", names[i]);
      double rank = i == 0 ? (double)(o->chunk_count - c) : i == 1 ? (c == 1 ? 0.5 : 2.0 + c) : 1.0 + c;
      x->ns_per_entity = rank;
      x->min_ns = rank * 0.9;
      x->max_ns = rank * 1.1;
      x->entities_per_s = 1e9 / rank;
    }
    ts[c] = (config_time){.threads = 2, .chunk = chunk, .frame_ms = 1.0 + c, .merge_ms = 0.5};
  }
  return r;
}

/* What a writer wrote, as a string (free it). */
static char *written(void (*writer)(FILE *, const options *, const tune_results *), const options *o,
                     const tune_results *r) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  if (!f) exit(1);
  writer(f, o, r);
  if (fclose(f) != 0) exit(1);
  return text;
}

static void save(const char *dir, const char *file, const char *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "wb");
  if (!f || fputs(text, f) == EOF || fclose(f) != 0) {
    perror(path);
    exit(1);
  }
}

static unsigned count_of(const char *text, const char *what) {
  unsigned n = 0;
  for (const char *p = text; (p = strstr(p, what)); p++) n++;
  return n;
}

/* The hostile name as one CSV field: quoted, its quote doubled, the rest
 * (backslash, control characters, newline) as it is. */
static void check_csv(const options *o, const tune_results *r) {
  char *csv = written(write_csv, o, r);
  static const char header[] = "system,threads,chunk,ns_per_entity,min_ns_per_entity,max_ns_per_entity,"
                               "entities_per_s,mode,frame_ms,merge_ms,merge_share,patches_recorded,"
                               "patches_applied,spawned,destroyed,moved,best_at_edge\n";
  CHECK(strncmp(csv, header, sizeof header - 1) == 0);
  CHECK(strstr(csv, "\n\"say \"\"hi\"\", C:\\dir\tx\x01y\x1f\nz \xc3\xa9\",2,4096,") != NULL);
  CHECK(count_of(csv, "\n\"say ") == 3);
  CHECK(count_of(csv, "\nmiddle,2,") == 3 && count_of(csv, "\nsmall,2,") == 3);
  CHECK(count_of(csv, ",largest\n") == 3 && count_of(csv, ",smallest\n") == 3);
  CHECK(count_of(csv, ",\n") == 6);                   /* middle's three rows and respawn's: no edge */
  CHECK(count_of(csv, ",sweep,1.0000,0.5000,") == 4); /* the first configuration's figures on each of its rows */
  free(csv);
}

/* A note under each best at an end of the sweep, and none elsewhere. */
static void check_table(const options *o, const tune_results *r) {
  char *table = written(write_table, o, r);
  CHECK(count_of(table, "note:") == 2);
  CHECK(strstr(table, " 2 threads: chunk   4096, 1.000 ns/entity\n"
                      "    note: best at the largest size swept (4096): try --chunk 256:16384:x4\n") != NULL);
  CHECK(strstr(table, "small            2 threads: chunk    256, 1.000 ns/entity\n"
                      "    note: best at the smallest size swept (256): try --chunk 64:4096:x4\n") != NULL);
  CHECK(strstr(table, "middle           2 threads: chunk   1024, 0.500 ns/entity\n  small") != NULL);
  free(table);
}

/* Where a best lies, and the ranges suggested, near the bounds too. */
static void check_edges(void) {
  char buf[64];
  options o = make_options((const uint32_t[]){1024, 256, 4096}, 3);
  result x = {.chunk = 4096, .config_chunk = 4096};
  CHECK(edge_of(&o, &x) == EDGE_LARGEST && edge_widened(&o, EDGE_LARGEST, buf, sizeof buf) &&
        strcmp(buf, "--chunk 256:16384:x4") == 0);
  x.chunk = x.config_chunk = 256;
  CHECK(edge_of(&o, &x) == EDGE_SMALLEST && edge_widened(&o, EDGE_SMALLEST, buf, sizeof buf) &&
        strcmp(buf, "--chunk 64:4096:x4") == 0);
  x.chunk = x.config_chunk = 1024;
  CHECK(edge_of(&o, &x) == EDGE_NONE && !edge_of(&o, NULL));
  o = make_options((const uint32_t[]){4096}, 1); /* one size: no edge */
  x.chunk = x.config_chunk = 4096;
  CHECK(edge_of(&o, &x) == EDGE_NONE);
  o = make_options((const uint32_t[]){FROM_FILE}, 1);
  x.config_chunk = FROM_FILE;
  CHECK(edge_of(&o, &x) == EDGE_NONE);
  o = make_options((const uint32_t[]){16, 32, 1u << 23}, 3); /* at the bounds --chunk takes */
  CHECK(!edge_widened(&o, EDGE_SMALLEST, buf, sizeof buf));
  CHECK(edge_widened(&o, EDGE_LARGEST, buf, sizeof buf) && strcmp(buf, "--chunk 16:16777216:x4") == 0);
  o = make_options((const uint32_t[]){32, 1u << 23}, 2); /* x4 from 32 passes 2^24: x2 */
  CHECK(edge_widened(&o, EDGE_LARGEST, buf, sizeof buf) && strcmp(buf, "--chunk 32:16777216:x2") == 0);
  o = make_options((const uint32_t[]){64, 1u << 24}, 2);
  CHECK(!edge_widened(&o, EDGE_LARGEST, buf, sizeof buf));
  CHECK(edge_widened(&o, EDGE_SMALLEST, buf, sizeof buf) && strcmp(buf, "--chunk 16:16777216:x4") == 0);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_tune_writers DIR\n");
    return 2;
  }
  result rs[SYSTEMS * MAX_CONFIGS];
  config_time ts[MAX_CONFIGS];
  save(argv[1], "name.raw", hostile);

  options sweep = make_options((const uint32_t[]){256, 1024, 4096}, 3);
  tune_results r = make_results(&sweep, rs, ts);
  char *json = written(write_json, &sweep, &r);
  save(argv[1], "sweep.json", json);
  free(json);
  check_csv(&sweep, &r);
  check_table(&sweep, &r);

  options autotuned = make_options((const uint32_t[]){AUTO, 64, 128}, 3);
  r = make_results(&autotuned, rs, ts);
  json = written(write_json, &autotuned, &r);
  save(argv[1], "auto.json", json);
  free(json);

  check_edges();
  printf("test_tune_writers: %d failures\n", fails);
  return fails != 0;
}
