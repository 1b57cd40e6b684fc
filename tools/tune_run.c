/* myriad-tune's runs: every configuration measured, in the order the
 * options give them; traces and the Gantt chart of the last one. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tune.h"

#define TRACE_LANE (1u << 18) /* events a worker keeps: 10 MiB */

/* One measure(): `count` configurations measured in turn on one fresh
 * world per repetition, and what it has gathered so far. */
typedef struct measurement {
  const options *o;
  myr_jobs *pool;
  const uint32_t *chunks;
  uint32_t count, samples, systems; /* samples: o->frames x o->repeat a configuration */
  size_t per_config;                /* entries of ns a configuration: MAX_SYSTEMS x samples */
  bool trace, autotuned;
  double *ns, *frame, *merge; /* ns per entity by configuration, system, sample; frame and merge ms */
  double *patches;            /* by configuration, sample: PATCH_STATS figures of the frame's merges */
  double *frame_scratch;      /* samples values, for medians */
  bool once[MAX_SYSTEMS], whole[MAX_SYSTEMS];
  uint32_t settled[MAX_SYSTEMS], rows[MAX_SYSTEMS]; /* autotuned: frames to settle, and where */
  scn_scenario *sc;
  myr_schedule *s;
} measurement;

/* The Gantt chart of the last traced frame, drawn by the library. */
static void write_gantt(const options *o, myr_schedule *s, myr_jobs *pool) {
  size_t n;
  uint64_t dropped;
  if (myr_schedule_trace_events(s, NULL, 0, &n, &dropped) != MYR_OK) {
    fprintf(stderr, "myriad-tune: reading the trace for %s failed\n", o->gantt_path);
    exit(1);
  }
  if (dropped) /* the last frame is not all there: say so rather than draw a wrong chart */
    fprintf(stderr, "myriad-tune: %s: the trace dropped %llu events (a worker keeps %u); the chart may be cut\n",
            o->gantt_path, (unsigned long long)dropped, TRACE_LANE);
  char title[160];
  uint32_t c = o->chunks[o->chunk_count - 1];
  char chunk[64];
  if (c == FROM_FILE) snprintf(chunk, sizeof chunk, "chunks from the tuning file");
  else snprintf(chunk, sizeof chunk, "chunk %u", c);
  snprintf(title, sizeof title, "%s, %u entities, %u workers, %s", o->scenario, o->entities,
           myr_jobs_worker_count(pool), chunk);
  myr_status st = myr_schedule_write_gantt(s, o->gantt, &(myr_gantt_desc){.title = title});
  if (st != MYR_OK || fclose(o->gantt) != 0) {
    fprintf(stderr, "myriad-tune: writing %s: %s\n", o->gantt_path, st != MYR_OK ? myr_strerror(st) : strerror(errno));
    exit(1);
  }
}

/* After each frame of a world: with --checkpoint, the world saved when its
 * clock is at a multiple of --checkpoint-every. */
static void checkpoint(const measurement *m) {
  const options *o = m->o;
  myr_world *w = scn_world(m->sc);
  if (o->checkpoint_every && myr_world_frame(w) % o->checkpoint_every == 0)
    save_world(o, w, "--checkpoint", o->checkpoint_path);
}

/* Autotunes every system after the warm-up, until each has settled (a
 * number of frames the library bounds: 5 frames a candidate, 50 at most),
 * and notes how many frames each took. */
static uint32_t settle(const measurement *m, uint32_t *frames) {
  const options *o = m->o;
  myr_schedule *s = m->s;
  myr_status st = myr_schedule_autotune(s, &(myr_autotune_desc){.frames = 5});
  uint32_t f = 0;
  for (; st == MYR_OK && !myr_schedule_autotune_done(s); f++) {
    if ((st = myr_schedule_run(s, 1.0 / 60)) != MYR_OK) {
      fprintf(stderr, "myriad-tune: autotuning %s, frame %u: %s\n", o->scenario, f, myr_schedule_error(s));
      exit(1);
    }
    checkpoint(m);
  }
  if (st != MYR_OK) {
    fprintf(stderr, "myriad-tune: autotuning %s: %s\n", o->scenario, myr_schedule_error(s));
    exit(1);
  }
  for (uint32_t i = 0; i < myr_schedule_system_count(s) && i < MAX_SYSTEMS; i++) {
    myr_autotune_info info;
    myr_schedule_autotune_info(s, i, &info);
    frames[i] = info.frames;
  }
  return f;
}

/* The sizes of configuration `chunk` on every system: a swept size, or each
 * system's autotuned one (rows[i]); a tuning file's stay as loaded. */
static void apply_sizes(myr_schedule *s, uint32_t systems, uint32_t chunk, const uint32_t *rows) {
  if (chunk == FROM_FILE) return;
  for (uint32_t i = 0; i < systems; i++) myr_schedule_set_chunk_rows(s, i, chunk == AUTO ? rows[i] : chunk);
}

static void run_frame(const measurement *m, uint32_t f) {
  if (myr_schedule_run(m->s, 1.0 / 60) != MYR_OK) {
    fprintf(stderr, "myriad-tune: frame %u: %s\n", f, myr_schedule_error(m->s));
    exit(1);
  }
}

/* A world done with, after its last frame: its hash (--hash), and the
 * last one saved (--save). */
static void retire_world(measurement *m, bool last) {
  const options *o = m->o;
  print_hash(o, m->sc);
  if (last && o->save_path) save_world(o, scn_world(m->sc), "--save", o->save_path);
  scn_destroy(m->sc);
  m->sc = NULL;
}

/* A fresh world (the scenario's first, or --restore's), with the
 * configuration's sizes (a sweep's, or a tuning file's); autotuning sets
 * its own later. */
static void build_world(measurement *m) {
  const options *o = m->o;
  if (m->sc) retire_world(m, false);
  myr_status st = create_world(o, m->pool, &m->sc);
  if (st != MYR_OK) {
    fprintf(stderr, "myriad-tune: building %s: %s\n", o->scenario, myr_strerror(st));
    exit(1);
  }
  m->s = scn_schedule(m->sc);
  m->systems = myr_schedule_system_count(m->s);
  if (m->systems > MAX_SYSTEMS) m->systems = MAX_SYSTEMS;
  if (m->chunks[0] == FROM_FILE && !o->tuning_env && myr_schedule_load_tuning(m->s, o->tuning_path) != MYR_OK) {
    fprintf(stderr, "myriad-tune: --tuning: %s\n", myr_schedule_error(m->s));
    exit(1);
  }
  if (!m->autotuned) apply_sizes(m->s, m->systems, m->chunks[0], NULL);
}

/* The warm-up frames; with autotuning, then its frames until every system
 * has settled, and where each did. */
static void warm_up(measurement *m) {
  for (uint32_t f = 0; f < m->o->warmup; f++) {
    run_frame(m, f);
    checkpoint(m);
  }
  if (!m->autotuned) return;
  settle(m, m->settled);
  for (uint32_t i = 0; i < m->systems; i++) {
    myr_autotune_info info;
    myr_schedule_autotune_info(m->s, i, &info);
    m->rows[i] = info.rows;
  }
}

/* A new order of the `count` configurations, from the xorshift state mix. */
static void shuffle(uint32_t *order, uint32_t count, uint32_t *mix) {
  for (uint32_t i = 0; i < count; i++) {
    *mix ^= *mix << 13, *mix ^= *mix >> 17, *mix ^= *mix << 5;
    uint32_t j = *mix % (i + 1);
    order[i] = order[j];
    order[j] = i;
  }
}

enum { PATCH_STATS = 5 }; /* recorded, applied, spawned, destroyed, moved */

/* One measured frame of configuration c, sample `sample` of each series. */
static void measure_frame(measurement *m, uint32_t c, uint32_t f, size_t sample) {
  double t0 = now_ms();
  run_frame(m, f);
  size_t k = (size_t)c * m->samples + sample;
  m->frame[k] = now_ms() - t0;
  checkpoint(m); /* after the frame's time is taken */
  m->merge[k] = 0;
  double *p = m->patches + k * PATCH_STATS;
  memset(p, 0, sizeof(double) * PATCH_STATS);
  for (uint32_t g = 0; g < myr_schedule_stage_count(m->s); g++) {
    myr_stage_stats gs;
    if (myr_schedule_stage_stats(m->s, g, &gs) != MYR_OK) continue;
    m->merge[k] += (double)gs.merge_ns * 1e-6;
    p[0] += (double)gs.patches.recorded;
    p[1] += (double)gs.patches.applied;
    p[2] += (double)gs.patches.spawned;
    p[3] += (double)gs.patches.destroyed;
    p[4] += (double)gs.patches.moved;
  }
  for (uint32_t i = 0; i < m->systems; i++) {
    myr_system_stats ss;
    myr_schedule_system_stats(m->s, i, &ss);
    m->once[i] = ss.entities == 0 && ss.chunks <= 1;
    m->whole[i] = !m->once[i] && ss.chunk_rows == 0; /* the schedule cuts it into no chunks of a size */
    m->ns[c * m->per_config + (size_t)i * m->samples + sample] =
        ss.entities ? (double)ss.ns / (double)ss.entities : (double)ss.ns;
  }
}

/* Round f of repetition rep: one frame of each configuration, in turn, in
 * a new order each round (a frame's time depends a little on what the
 * frame before left in the caches, and no configuration should always
 * follow the same one). The trace begins at frame first_traced. */
static void measure_round(measurement *m, uint32_t rep, uint32_t f, bool traced, uint32_t first_traced) {
  const options *o = m->o;
  uint32_t order[MAX_LIST], mix = 0x9e3779b9u * (rep * o->frames + f + 1);
  shuffle(order, m->count, &mix);
  for (uint32_t turn = 0; turn < m->count; turn++) {
    uint32_t c = order[turn];
    myr_status st;
    if (m->count > 1) apply_sizes(m->s, m->systems, m->chunks[c], m->rows);
    if (traced && f == first_traced && (st = myr_schedule_trace_begin(m->s, TRACE_LANE)) != MYR_OK) {
      fprintf(stderr, "myriad-tune: starting the trace: %s\n", myr_strerror(st));
      exit(1);
    }
    measure_frame(m, c, f, (size_t)rep * o->frames + f);
  }
}

/* Repetition rep: a fresh world, the warm-up (and autotuning), the rounds. */
static void measure_repetition(measurement *m, uint32_t rep) {
  const options *o = m->o;
  build_world(m);
  /* traced without autotuning: a trace file gets every measured frame, a
   * chart alone the last two (it draws the last, so that the one it draws
   * is not the first traced) */
  bool traced = m->trace && rep + 1 == o->repeat && !m->autotuned;
  uint32_t first_traced = o->trace || o->frames < 2 ? 0 : o->frames - 2;
  warm_up(m);
  for (uint32_t f = 0; f < o->frames; f++) measure_round(m, rep, f, traced, first_traced);
}

/* With autotuning, the trace and chart get frames of their own after the
 * measured ones, at the autotuned sizes. */
static void trace_autotuned(measurement *m) {
  apply_sizes(m->s, m->systems, AUTO, m->rows);
  uint32_t traced_frames = m->o->trace ? m->o->frames : 2;
  myr_status st = myr_schedule_trace_begin(m->s, TRACE_LANE);
  for (uint32_t f = 0; st == MYR_OK && f < traced_frames; f++)
    if ((st = myr_schedule_run(m->s, 1.0 / 60)) == MYR_OK) checkpoint(m);
  if (st != MYR_OK) {
    fprintf(stderr, "myriad-tune: a traced frame: %s\n", myr_schedule_error(m->s));
    exit(1);
  }
}

/* System i in configuration c: its name, sizes and medians. */
static void collect_result(measurement *m, uint32_t c, uint32_t i, result *r) {
  myr_system_stats ss;
  myr_schedule_system_stats(m->s, i, &ss);
  snprintf(r->system, sizeof r->system, "%s", ss.name);
  r->threads = myr_jobs_worker_count(m->pool);
  myr_autotune_info info;
  myr_schedule_autotune_info(m->s, i, &info);
  uint32_t chunk = m->chunks[c];
  r->chunk = chunk == AUTO ? m->rows[i] : chunk == FROM_FILE ? info.rows : chunk;
  r->config_chunk = chunk;
  r->settle_frames = chunk == AUTO ? m->settled[i] : 0;
  r->run_once = m->once[i];
  r->whole = m->whole[i];
  double *v = m->ns + c * m->per_config + (size_t)i * m->samples;
  r->ns_per_entity = median(v, m->samples);
  r->min_ns = v[0];
  r->max_ns = v[m->samples - 1];
  r->entities_per_s = r->run_once || r->ns_per_entity <= 0 ? 0 : 1e9 / r->ns_per_entity;
}

/* Every configuration's results and frame and merge medians. */
static void collect(measurement *m, result *out, config_time *time) {
  for (uint32_t c = 0; c < m->count; c++) {
    for (uint32_t i = 0; i < m->systems; i++) collect_result(m, c, i, &out[c * m->systems + i]);
    config_time *t = &time[c];
    *t = (config_time){.threads = myr_jobs_worker_count(m->pool),
                       .chunk = m->chunks[c],
                       .frame_ms = median(m->frame + (size_t)c * m->samples, m->samples),
                       .merge_ms = median(m->merge + (size_t)c * m->samples, m->samples)};
    t->merge_share = t->frame_ms > 0 ? t->merge_ms / t->frame_ms : 0;
    double *figure[PATCH_STATS] = {&t->patches_recorded, &t->patches_applied, &t->spawned, &t->destroyed, &t->moved};
    double *v = m->frame_scratch;
    for (int f = 0; f < PATCH_STATS; f++) {
      for (size_t k = 0; k < m->samples; k++) v[k] = m->patches[((size_t)c * m->samples + k) * PATCH_STATS + f];
      *figure[f] = median(v, (uint32_t)m->samples);
    }
  }
}

/* The chart and the trace file of the traced frames. */
static void finish_trace(measurement *m) {
  const options *o = m->o;
  myr_status st;
  if (o->gantt) write_gantt(o, m->s, m->pool);
  if ((st = myr_schedule_trace_end(m->s, o->trace)) != MYR_OK || (o->trace && fclose(o->trace) != 0)) {
    fprintf(stderr, "myriad-tune: writing %s: %s\n", o->trace_path, st != MYR_OK ? myr_strerror(st) : strerror(errno));
    exit(1);
  }
}

/* Measures `count` configurations (sizes, AUTO, FROM_FILE) on one fresh
 * scenario per repetition: warm-up, then with AUTO first the autotuning,
 * then o->frames rounds of one frame of each configuration, in an order
 * shuffled each round. So an autotuned configuration is measured in the
 * same world and the same moments as the sweep it is compared with (a
 * sweep alone has count 1: one world per size). out gets count x systems
 * results, time count entries. When `last` (the run's last measure), the
 * last configuration of the last repetition is traced when asked (with
 * AUTO: frames of its own after the measured ones, at the autotuned sizes)
 * and its world saved with --save. Returns the number of systems. */
static uint32_t measure(const options *o, myr_jobs *pool, const uint32_t *chunks, uint32_t count, bool last,
                        result *out, config_time *time) {
  const bool trace = last && (o->trace || o->gantt);
  measurement m = {.o = o,
                   .pool = pool,
                   .chunks = chunks,
                   .count = count,
                   .trace = trace,
                   .autotuned = chunks[0] == AUTO,
                   .samples = o->frames * o->repeat};
  m.per_config = (size_t)MAX_SYSTEMS * m.samples;
  m.ns = malloc(sizeof(double) * m.per_config * count);
  m.frame = malloc(sizeof(double) * m.samples * count);
  m.merge = malloc(sizeof(double) * m.samples * count);
  m.patches = malloc(sizeof(double) * PATCH_STATS * m.samples * count);
  m.frame_scratch = malloc(sizeof(double) * m.samples);
  if (!m.ns || !m.frame || !m.merge || !m.patches || !m.frame_scratch) exit(1);
  for (uint32_t rep = 0; rep < o->repeat; rep++) measure_repetition(&m, rep);
  if (trace && m.autotuned) trace_autotuned(&m);
  collect(&m, out, time);
  if (trace) finish_trace(&m);
  free(m.ns);
  free(m.frame);
  free(m.merge);
  free(m.patches);
  free(m.frame_scratch);
  retire_world(&m, last);
  return m.systems;
}

/* The progress line on a terminal: configuration k + 1 of `configs`. */
static void progress(const options *o, uint32_t t, uint32_t c, uint32_t k, uint32_t configs) {
  char chunk[16];
  snprintf(chunk, sizeof chunk, "%u", o->chunks[c]);
  fprintf(stderr, "\r%u/%u: %u threads, chunk %s   ", k + 1, configs, o->threads[t],
          o->autotune                 ? "auto and the sweep"
          : o->chunks[c] == FROM_FILE ? "file"
                                      : chunk);
}

void run_all(const options *o, tune_results *r) {
  uint32_t configs = o->thread_count * o->chunk_count;
  *r = (tune_results){
      .rs = calloc((size_t)configs * MAX_SYSTEMS, sizeof *r->rs), .ts = calloc(configs, sizeof *r->ts), .tn = configs};
  if (!r->rs || !r->ts) exit(1);
  bool tty = isatty(2);
  for (uint32_t t = 0, k = 0; t < o->thread_count; t++) {
    myr_jobs *pool;
    myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = o->threads[t]}, &pool);
    if (st != MYR_OK) {
      fprintf(stderr, "myriad-tune: a pool of %u workers: %s\n", o->threads[t], myr_strerror(st));
      exit(1);
    }
    /* a sweep: one world per size; autotuning: one world for all, in turn */
    uint32_t step = o->autotune ? o->chunk_count : 1;
    for (uint32_t c = 0; c < o->chunk_count; c += step, k += step) {
      if (tty) progress(o, t, c, k, configs);
      uint32_t m = measure(o, pool, o->chunks + c, step, k + step == configs, r->rs + r->n, r->ts + k);
      r->n += m * step;
      r->systems = m;
    }
    myr_jobs_destroy(pool);
  }
  if (tty) fprintf(stderr, "\r%*s\r", 60, "");
}
