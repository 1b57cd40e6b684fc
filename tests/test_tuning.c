/* Tuning: the machine signature, tuning files written and loaded back
 * (directly and through MYRIAD_TUNING), bad files refused without a change,
 * and autotuning: bounded, freezable, and never changing the world. */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

typedef struct tfix {
  fixture f;
  myr_jobs *pool;
  myr_schedule *s;
  myr_system move, damp, once, whole;
  char dir[64];
} tfix;

static void move_fn(const myr_view *v, myr_patches *p) {
  (void)p;
  float *px = myr_chunk_f32(&v->chunk, 0, 0);
  const float *vx = myr_chunk_f32(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) px[i] += vx[i] * (float)v->dt;
}

static void damp_fn(const myr_view *v, myr_patches *p) {
  (void)p;
  float *vx = myr_chunk_f32(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) vx[i] *= 0.99f;
}

static void nothing(const myr_view *v, myr_patches *p) {
  (void)v;
  (void)p;
}

/* A world of n moving entities and four systems: two chunked, a run-once
 * one and a MYR_SYSTEM_WHOLE one (neither of which has a chunk size). */
static void build(tfix *x, uint32_t n, uint32_t workers) {
  assert_int_equal(myr_world_create(checked_world(), &x->f.w), MYR_OK);
  fixture_register(&x->f);
  float *cols = malloc(sizeof(float) * 2 * n);
  for (uint32_t i = 0; i < n; i++) cols[i] = (float)i, cols[n + i] = (float)(i % 7) - 3.0f;
  const myr_bulk_column c[] = {{x->f.pos, 0, cols}, {x->f.vel, 0, cols + n}};
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos, x->f.vel},
                                                                   .component_count = 2,
                                                                   .count = n,
                                                                   .columns = c,
                                                                   .column_count = 2}),
                   MYR_OK);
  free(cols);
  assert_int_equal(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &x->pool), MYR_OK);
  assert_int_equal(myr_schedule_create(x->f.w, &(myr_schedule_desc){.jobs = x->pool}, &x->s), MYR_OK);
  assert_int_equal(
      myr_schedule_add(x->s,
                       &(myr_system_desc){.name = "move",
                                          .terms = (myr_term[]){{x->f.pos, MYR_TERM_WRITE}, {x->f.vel, MYR_TERM_READ}},
                                          .term_count = 2,
                                          .fn = move_fn},
                       &x->move),
      MYR_OK);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "damp",
                                                       .terms = (myr_term[]){{x->f.vel, MYR_TERM_WRITE}},
                                                       .term_count = 1,
                                                       .fn = damp_fn,
                                                       .stage = 1},
                                    &x->damp),
                   MYR_OK);
  assert_int_equal(myr_schedule_add(x->s, &(myr_system_desc){.name = "once", .fn = nothing}, &x->once), MYR_OK);
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "whole",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = nothing,
                                                       .flags = MYR_SYSTEM_WHOLE},
                                    &x->whole),
                   MYR_OK);
}

static void unbuild(tfix *x) {
  myr_schedule_destroy(x->s);
  assert_int_equal(myr_jobs_destroy(x->pool), MYR_OK);
  myr_world_destroy(x->f.w);
  x->s = NULL;
}

static int setup(void **state) {
  tfix *x = calloc(1, sizeof *x);
  snprintf(x->dir, sizeof x->dir, "/tmp/myr_tuning_XXXXXX");
  if (!mkdtemp(x->dir)) return -1;
  build(x, 3000, 2);
  *state = x;
  return 0;
}

static int teardown(void **state) {
  tfix *x = *state;
  if (x->s) unbuild(x);
  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", x->dir);
  if (system(cmd) != 0) return -1;
  free(x);
  return 0;
}

static const char *write_file(tfix *x, const char *name, const char *text) {
  static char path[128];
  snprintf(path, sizeof path, "%s/%s", x->dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fwrite(text, 1, strlen(text), f);
  assert_int_equal(fclose(f), 0);
  return path;
}

static uint32_t rows_of(const tfix *x, myr_system sys) {
  myr_autotune_info info;
  assert_int_equal(myr_schedule_autotune_info(x->s, sys, &info), MYR_OK);
  return info.rows;
}

/* Runs fn with stderr going to a file, and returns what it wrote. */
static char *capture_stderr(tfix *x, myr_status (*fn)(tfix *, const char *), const char *arg, myr_status *st) {
  char path[128];
  snprintf(path, sizeof path, "%s/stderr", x->dir);
  fflush(stderr);
  int saved = dup(2);
  FILE *f = fopen(path, "w+");
  assert_non_null(f);
  dup2(fileno(f), 2);
  *st = fn(x, arg);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  static char text[4096];
  rewind(f);
  size_t n = fread(text, 1, sizeof text - 1, f);
  text[n] = 0;
  fclose(f);
  return text;
}

static void the_signature_names_the_cpu_count_and_caches(void **state) {
  (void)state;
  char sig[512];
  size_t n = myr_machine_signature(sig, sizeof sig);
  assert_int_equal(n, strlen(sig));
  char cpus[32];
  snprintf(cpus, sizeof cpus, "; %ld cpus; ", sysconf(_SC_NPROCESSORS_ONLN));
  assert_non_null(strstr(sig, cpus));
  assert_true(strstr(sig, "L1") || strstr(sig, "caches unknown"));
  assert_null(strpbrk(sig, "\r\n"));
  char small[8];
  assert_int_equal(myr_machine_signature(small, sizeof small), n); /* cut, but the length it needs */
  assert_int_equal(strlen(small), 7);
  assert_int_equal(myr_machine_signature(NULL, 0), n);
}

static void a_written_file_loads_back(void **state) {
  tfix *x = *state;
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->move, 1024), MYR_OK);
  char path[128];
  snprintf(path, sizeof path, "%s/t.tuning", x->dir);
  FILE *out = fopen(path, "w");
  assert_int_equal(myr_schedule_write_tuning(x->s, out, &(myr_tuning_desc){.scenario = "tests"}), MYR_OK);
  fclose(out);
  /* the header, and a line for each chunked system only */
  FILE *in = fopen(path, "r");
  char text[2048];
  size_t n = fread(text, 1, sizeof text - 1, in);
  text[n] = 0;
  fclose(in);
  char sig[512], want[700];
  myr_machine_signature(sig, sizeof sig);
  snprintf(want, sizeof want,
           "@format 1\n@scenario tests\n@entities 3000\n@threads 2\n@machine %s\nmove = 1024\ndamp = 4096\n", sig);
  assert_non_null(strstr(text, want));
  assert_null(strstr(text, "once"));
  assert_null(strstr(text, "whole ="));
  /* changed, then loaded back */
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->move, 64), MYR_OK);
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->damp, 128), MYR_OK);
  assert_int_equal(myr_schedule_load_tuning(x->s, path), MYR_OK);
  assert_int_equal(rows_of(x, x->move), 1024);
  assert_int_equal(rows_of(x, x->damp), 4096);
  assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
  myr_system_stats st;
  assert_int_equal(myr_schedule_system_stats(x->s, x->move, &st), MYR_OK);
  assert_int_equal(st.chunk_rows, 1024);
  assert_int_equal(st.chunks, 3);
  /* comments, blanks, CRLF, unknown @ keys, spaces around '=' */
  const char *p = write_file(x, "hand", "# by hand\r\n\n  @format 1\n@colour blue\n  move=256 \r\n\tdamp   =   32\n");
  assert_int_equal(myr_schedule_load_tuning(x->s, p), MYR_OK);
  assert_int_equal(rows_of(x, x->move), 256);
  assert_int_equal(rows_of(x, x->damp), 32);
  assert_int_equal(myr_schedule_write_tuning(NULL, stdout, NULL), MYR_EINVAL);
  assert_int_equal(myr_schedule_write_tuning(x->s, NULL, NULL), MYR_EINVAL);
}

static void bad_files_are_refused_and_change_nothing(void **state) {
  tfix *x = *state;
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->move, 512), MYR_OK);
  static const struct {
    const char *text;
    myr_status st;
    const char *says;
  } bad[] = {
      {"move = 64\n", MYR_ECORRUPT, ":1: expected \"@format 1\" first"},
      {"@format 2\nmove = 64\n", MYR_ECORRUPT, ":1: expected \"@format 1\""},
      {"# nothing\n", MYR_ECORRUPT, "no \"@format 1\" line"},
      {"@format 1\nmove = 64\ndamp 64\n", MYR_ECORRUPT, ":3: expected \"system = rows\""},
      {"@format 1\nmove = 64\ndamp = sixty\n", MYR_ECORRUPT, ":3: \"damp\": rows must be a number"},
      {"@format 1\nmove = 0\n", MYR_ECORRUPT, ":2: \"move\": rows must be"},
      {"@format 1\nmove = -64\n", MYR_ECORRUPT, ":2: \"move\": rows must be"},
      {"@format 1\nmove = 1073741825\n", MYR_ECORRUPT, "from 1 to 1073741824"},
      {"@format 1\nmove = 99999999999999999999999\n", MYR_ECORRUPT, "rows must be"},
      {"@format 1\nmove = 64 rows\n", MYR_ECORRUPT, "rows must be"},
      {"@format 1\n = 64\n", MYR_ECORRUPT, ":2: no system name"},
      {"@format 1\nmove = 64\n\nmove = 128\n", MYR_ECORRUPT, ":4: \"move\" again (first on line 2)"},
      {"@format 1\nmove = 64\nfly = 64\n", MYR_ENOTFOUND, ":3: the schedule has no system \"fly\""},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *p = write_file(x, "bad", bad[i].text);
    assert_int_equal(myr_schedule_load_tuning(x->s, p), bad[i].st);
    if (!strstr(myr_schedule_error(x->s), bad[i].says)) fail_msg("case %zu: \"%s\"", i, myr_schedule_error(x->s));
    assert_non_null(strstr(myr_schedule_error(x->s), p)); /* names the file */
    assert_int_equal(rows_of(x, x->move), 512);
    assert_int_equal(rows_of(x, x->damp), 4096);
  }
  /* a NUL byte, an endless line, a huge file, no file at all */
  char path[128];
  snprintf(path, sizeof path, "%s/binary", x->dir);
  FILE *f = fopen(path, "wb");
  fwrite("@format 1\nmove = 6\0"
         "4\n",
         1, 22, f);
  fclose(f);
  assert_int_equal(myr_schedule_load_tuning(x->s, path), MYR_ECORRUPT);
  assert_non_null(strstr(myr_schedule_error(x->s), "NUL"));
  char *line = malloc(5000);
  memset(line, 'a', 4999);
  line[4999] = 0;
  char *text = malloc(6000);
  snprintf(text, 6000, "@format 1\n%s = 64\n", line);
  assert_int_equal(myr_schedule_load_tuning(x->s, write_file(x, "long", text)), MYR_ECORRUPT);
  assert_non_null(strstr(myr_schedule_error(x->s), ":2: a line above 4095 bytes"));
  free(text);
  free(line);
  snprintf(path, sizeof path, "%s/huge", x->dir);
  f = fopen(path, "wb");
  fputs("@format 1\n", f);
  for (int i = 0; i < 110000; i++) fputs("# padding\n", f);
  fputs("move = 64\n", f);
  fclose(f);
  assert_int_equal(myr_schedule_load_tuning(x->s, path), MYR_ECORRUPT);
  assert_non_null(strstr(myr_schedule_error(x->s), "above 1048576 bytes"));
  snprintf(path, sizeof path, "%s/none", x->dir);
  assert_int_equal(myr_schedule_load_tuning(x->s, path), MYR_EIO);
  assert_non_null(strstr(myr_schedule_error(x->s), "No such file"));
  assert_int_equal(myr_schedule_load_tuning(x->s, x->dir), MYR_EIO); /* a directory */
  assert_non_null(strstr(myr_schedule_error(x->s), "not a regular file"));
  snprintf(path, sizeof path, "%s/fifo", x->dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(myr_schedule_load_tuning(x->s, path), MYR_EIO); /* refused, not waited on */
  assert_non_null(strstr(myr_schedule_error(x->s), "not a regular file"));
  assert_int_equal(myr_schedule_load_tuning(NULL, path), MYR_EINVAL);
  assert_int_equal(myr_schedule_load_tuning(x->s, NULL), MYR_EINVAL);
  assert_int_equal(rows_of(x, x->move), 512);
}

static myr_status load(tfix *x, const char *path) { return myr_schedule_load_tuning(x->s, path); }

static void another_machine_or_pool_warns_and_applies(void **state) {
  tfix *x = *state;
  const char *p = write_file(x, "other", "@format 1\n@machine a toaster; 1 cpus; L1d 1K\n@threads 64\nmove = 2048\n");
  myr_status st;
  const char *said = capture_stderr(x, load, p, &st);
  assert_int_equal(st, MYR_OK);
  assert_int_equal(rows_of(x, x->move), 2048);
  assert_non_null(strstr(said, "another machine (a toaster; 1 cpus; L1d 1K; this is "));
  assert_non_null(strstr(said, "written for 64 workers, this pool has 2"));
  /* this machine and pool: silence */
  char sig[512], text[700];
  myr_machine_signature(sig, sizeof sig);
  snprintf(text, sizeof text, "@format 1\n@machine %s\n@threads 2\nmove = 16\n", sig);
  said = capture_stderr(x, load, write_file(x, "same", text), &st);
  assert_int_equal(st, MYR_OK);
  assert_string_equal(said, "");
  assert_int_equal(rows_of(x, x->move), 16);
}

static myr_status rebuild(tfix *x, const char *unused) {
  (void)unused;
  unbuild(x);
  build(x, 3000, 2);
  return MYR_OK;
}

static void myriad_tuning_applies_to_systems_added_later(void **state) {
  tfix *x = *state;
  const char *p = write_file(x, "env", "@format 1\nmove = 320\nnot_here = 64\n");
  assert_int_equal(setenv("MYRIAD_TUNING", p, 1), 0);
  myr_status st;
  const char *said = capture_stderr(x, rebuild, NULL, &st);
  assert_string_equal(said, "");              /* no header: nothing to warn about */
  assert_int_equal(rows_of(x, x->move), 320); /* over the desc's 0 */
  assert_int_equal(rows_of(x, x->damp), 4096);
  assert_string_equal(myr_schedule_error(x->s), "");
  assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
  myr_system_stats ss;
  assert_int_equal(myr_schedule_system_stats(x->s, x->move, &ss), MYR_OK);
  assert_int_equal(ss.chunk_rows, 320);
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->move, 48), MYR_OK); /* a later set wins */
  assert_int_equal(rows_of(x, x->move), 48);
  /* a corrupt file: said on stderr, not applied, creation goes on */
  p = write_file(x, "env", "@format 1\nmove = lots\n");
  said = capture_stderr(x, rebuild, NULL, &st);
  assert_non_null(strstr(said, "MYRIAD_TUNING: load_tuning: "));
  assert_non_null(strstr(said, ":2: \"move\": rows must be a number"));
  assert_non_null(strstr(said, "not applied"));
  assert_int_equal(rows_of(x, x->move), 4096);
  assert_string_equal(myr_schedule_error(x->s), "");
  assert_int_equal(setenv("MYRIAD_TUNING", "", 1), 0); /* empty: not read */
  said = capture_stderr(x, rebuild, NULL, &st);
  assert_string_equal(said, "");
  assert_int_equal(unsetenv("MYRIAD_TUNING"), 0);
}

/* ---- autotuning ----------------------------------------------------------- */

static void spin_us(uint32_t us) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  do clock_gettime(CLOCK_MONOTONIC, &b);
  while ((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/* A system whose every chunk costs 200 us more: the biggest chunk is fastest. */
static void costly_chunks(const myr_view *v, myr_patches *p) {
  (void)p;
  int32_t *hp = myr_chunk_i32(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++) hp[i]++;
  spin_us(200);
}

static void autotuning_settles_in_bounded_frames_on_the_fastest(void **state) {
  tfix *x = *state;
  unbuild(x);
  build(x, 4096, 1);
  myr_system costly;
  assert_int_equal(myr_schedule_add(x->s,
                                    &(myr_system_desc){.name = "costly",
                                                       .terms = (myr_term[]){{x->f.health, MYR_TERM_WRITE}},
                                                       .term_count = 1,
                                                       .fn = costly_chunks},
                                    &costly),
                   MYR_OK);
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.health}, .component_count = 1, .count = 4096}),
      MYR_OK);
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->damp, 100), MYR_OK);
  /* 64, 256, 1024, 4096, then beside the best (2048 when it is 4096; 512
   * and 2048 if a noisy frame made it 1024): 5 frames each (a median of 5
   * outlasts two preempted frames: CI runs tests side by side, and under
   * qemu), then the check: 5 frames on its own best and 5 on the fastest
   * coarse size, in turn */
  assert_int_equal(myr_schedule_autotune(x->s, &(myr_autotune_desc){.min_rows = 64, .max_rows = 4096, .frames = 5}),
                   MYR_OK);
  assert_false(myr_schedule_autotune_done(x->s));
  myr_autotune_info info;
  assert_int_equal(myr_schedule_autotune_info(x->s, costly, &info), MYR_OK);
  assert_true(info.tuning && !info.settled && info.rows == 64 && info.best_rows == 0 && info.frames == 0);
  assert_int_equal(myr_schedule_autotune_info(x->s, x->once, &info), MYR_OK); /* not tuned */
  assert_true(!info.tuning && !info.settled);
  assert_int_equal(myr_schedule_autotune_info(x->s, x->whole, &info), MYR_OK);
  assert_true(!info.tuning && !info.settled);
  uint32_t frames = 0, seen[8] = {0}, distinct = 0;
  while (!myr_schedule_autotune_done(x->s)) {
    uint32_t r = rows_of(x, costly);
    bool fresh = true;
    for (uint32_t i = 0; i < distinct; i++) fresh &= seen[i] != r;
    if (fresh && distinct < 8) seen[distinct++] = r;
    assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
    myr_system_stats ss;
    assert_int_equal(myr_schedule_system_stats(x->s, costly, &ss), MYR_OK);
    assert_int_equal(ss.chunk_rows, r); /* the size it said it runs with next */
    assert_true(++frames <= 5 * (4 + 4));
  }
  assert_true(frames == 5 * (4 + 1 + 2) || frames == 5 * (4 + 2 + 2));
  assert_true(distinct >= 5);
  bool tried_2048 = false;
  for (uint32_t i = 4; i < distinct; i++) tried_2048 |= seen[i] == 2048;
  assert_true(tried_2048);
  assert_int_equal(myr_schedule_autotune_info(x->s, costly, &info), MYR_OK);
  assert_true(!info.tuning && info.settled);
  assert_int_equal(info.rows, 4096);
  assert_int_equal(info.best_rows, 4096);
  assert_int_equal(info.frames, frames);
  assert_true(info.best_ns_per_entity > 0);
  /* frames after settling keep it */
  assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
  assert_int_equal(rows_of(x, costly), 4096);
  assert_int_equal(myr_schedule_autotune_info(x->s, costly, &info), MYR_OK);
  assert_int_equal(info.frames, frames);
  /* every chunked system settled on one of its candidates */
  assert_int_equal(myr_schedule_autotune_info(x->s, x->damp, &info), MYR_OK);
  assert_true(info.settled);
  assert_true(info.rows == 64 || info.rows == 128 || info.rows == 256 || info.rows == 512 || info.rows == 1024 ||
              info.rows == 2048 || info.rows == 4096);
}

static void autotuned_frames_end_in_the_fixed_chunk_world(void **state) {
  tfix *x = *state;
  unbuild(x);
  uint64_t fixed = 0, tuned = 0;
  for (int pass = 0; pass < 2; pass++) {
    build(x, 20000, 2);
    if (pass)
      assert_int_equal(
          myr_schedule_autotune(x->s, &(myr_autotune_desc){.min_rows = 16, .max_rows = 1u << 16, .frames = 1}), MYR_OK);
    for (int f = 0; f < 30; f++) assert_int_equal(myr_schedule_run(x->s, 1.0 / 60), MYR_OK);
    if (pass) {
      assert_true(myr_schedule_autotune_done(x->s)); /* 1 x (7 + 4) frames at most */
      /* each settled on its own best, or all on the check's one coarse size */
      myr_autotune_info a, b;
      assert_int_equal(myr_schedule_autotune_info(x->s, x->move, &a), MYR_OK);
      assert_int_equal(myr_schedule_autotune_info(x->s, x->damp, &b), MYR_OK);
      assert_true(a.settled && b.settled);
      bool own = a.rows == a.best_rows && b.rows == b.best_rows, uniform = a.rows == b.rows;
      assert_true(own || uniform);
      if (!own)
        assert_true(a.rows == 16 || a.rows == 64 || a.rows == 256 || a.rows == 1024 || a.rows == 4096 ||
                    a.rows == 16384 || a.rows == 65536);
    }
    *(pass ? &tuned : &fixed) = world_hash(x->f.w);
    unbuild(x);
  }
  assert_true(fixed == tuned);
  build(x, 10, 1); /* for the teardown */
}

static void freezing_and_setting_stop_tuning(void **state) {
  tfix *x = *state;
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->damp, 777), MYR_OK);
  assert_int_equal(myr_schedule_autotune(x->s, NULL), MYR_OK); /* 64..65536, 3 frames */
  assert_int_equal(rows_of(x, x->move), 64);
  for (int f = 0; f < 4; f++) assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
  assert_int_equal(rows_of(x, x->move), 256); /* the second candidate */
  /* a set stops one system; a freeze the others, on the best scored */
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->move, 96), MYR_OK);
  myr_autotune_info info;
  assert_int_equal(myr_schedule_autotune_info(x->s, x->move, &info), MYR_OK);
  assert_true(!info.tuning && !info.settled && info.rows == 96);
  assert_false(myr_schedule_autotune_done(x->s)); /* damp goes on */
  assert_int_equal(myr_schedule_autotune_freeze(x->s), MYR_OK);
  assert_true(myr_schedule_autotune_done(x->s));
  assert_int_equal(myr_schedule_autotune_info(x->s, x->damp, &info), MYR_OK);
  assert_true(!info.tuning && info.settled && info.rows == 64 && info.best_rows == 64 && info.frames == 4);
  assert_int_equal(myr_schedule_run(x->s, 0.1), MYR_OK);
  assert_int_equal(rows_of(x, x->move), 96);
  /* frozen before anything was scored: back to its size from before */
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->damp, 777), MYR_OK);
  assert_int_equal(myr_schedule_autotune(x->s, NULL), MYR_OK);
  assert_int_equal(rows_of(x, x->damp), 64);
  assert_int_equal(myr_schedule_autotune(x->s, NULL), MYR_OK); /* a restart starts from 777 again */
  assert_int_equal(myr_schedule_autotune_freeze(x->s), MYR_OK);
  assert_int_equal(rows_of(x, x->damp), 777);
  /* loading a file stops it too */
  assert_int_equal(myr_schedule_autotune(x->s, NULL), MYR_OK);
  assert_int_equal(myr_schedule_load_tuning(x->s, write_file(x, "f", "@format 1\ndamp = 160\n")), MYR_OK);
  assert_int_equal(myr_schedule_autotune_info(x->s, x->damp, &info), MYR_OK);
  assert_true(!info.tuning && info.rows == 160);
  assert_int_equal(myr_schedule_autotune_freeze(x->s), MYR_OK);
  assert_int_equal(rows_of(x, x->damp), 160);
}

static void bad_autotune_arguments_are_refused(void **state) {
  tfix *x = *state;
  assert_int_equal(myr_schedule_autotune(NULL, NULL), MYR_EINVAL);
  assert_int_equal(myr_schedule_autotune(x->s, &(myr_autotune_desc){.min_rows = 8192, .max_rows = 4096}), MYR_EINVAL);
  assert_int_equal(myr_schedule_autotune(x->s, &(myr_autotune_desc){.max_rows = (1u << 24) + 1}), MYR_EINVAL);
  assert_int_equal(myr_schedule_autotune(x->s, &(myr_autotune_desc){.frames = 65}), MYR_EINVAL);
  assert_int_equal(myr_schedule_autotune(x->s, &(myr_autotune_desc){.min_rows = UINT32_MAX}), MYR_EINVAL); /* no wrap */
  assert_int_equal(myr_schedule_autotune(x->s, &(myr_autotune_desc){.min_rows = 0xfffffff1u, .max_rows = 65536}),
                   MYR_EINVAL);
  assert_true(myr_schedule_autotune_done(x->s)); /* nothing started */
  assert_int_equal(rows_of(x, x->move), 4096);
  myr_autotune_info info;
  assert_int_equal(myr_schedule_autotune_info(x->s, 99, &info), MYR_EINVAL);
  assert_int_equal(myr_schedule_autotune_info(x->s, x->move, NULL), MYR_EINVAL);
  assert_int_equal(myr_schedule_autotune_freeze(NULL), MYR_EINVAL);
  assert_true(myr_schedule_autotune_done(NULL));
  /* one size that is not a multiple of 16 */
  assert_int_equal(myr_schedule_autotune(x->s, &(myr_autotune_desc){.min_rows = 100, .max_rows = 100}), MYR_OK);
  assert_int_equal(rows_of(x, x->move), 100);
  /* done as soon as every tuning system is stopped, without another frame */
  assert_false(myr_schedule_autotune_done(x->s));
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->move, 64), MYR_OK);
  assert_false(myr_schedule_autotune_done(x->s));
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->damp, 64), MYR_OK);
  assert_true(myr_schedule_autotune_done(x->s));
  /* a chunk size no file holds is refused, with nothing written */
  assert_int_equal(myr_schedule_set_chunk_rows(x->s, x->move, (1u << 30) + 1), MYR_OK);
  char buf[64] = "";
  FILE *mem = fmemopen(buf, sizeof buf, "w");
  assert_int_equal(myr_schedule_write_tuning(x->s, mem, NULL), MYR_EINVAL);
  fclose(mem);
  assert_string_equal(buf, "");
  assert_non_null(strstr(myr_schedule_error(x->s), "\"move\": 1073741825 rows"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_signature_names_the_cpu_count_and_caches),
      cmocka_unit_test_setup_teardown(a_written_file_loads_back, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_files_are_refused_and_change_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(another_machine_or_pool_warns_and_applies, setup, teardown),
      cmocka_unit_test_setup_teardown(myriad_tuning_applies_to_systems_added_later, setup, teardown),
      cmocka_unit_test_setup_teardown(autotuning_settles_in_bounded_frames_on_the_fastest, setup, teardown),
      cmocka_unit_test_setup_teardown(autotuned_frames_end_in_the_fixed_chunk_world, setup, teardown),
      cmocka_unit_test_setup_teardown(freezing_and_setting_stop_tuning, setup, teardown),
      cmocka_unit_test_setup_teardown(bad_autotune_arguments_are_refused, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
