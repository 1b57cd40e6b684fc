/* Online autotuning: each system's chunk size chosen between frames from
 * measured throughput. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "schedule_impl.h"

/* ---- autotuning ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, uint32_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The candidate with the lowest score; -1 if none is scored. */
static int best_candidate(const tune_state *t) {
  int best = -1;
  for (int i = 0; i < t->count; i++)
    if (isfinite(t->score[i]) && (best < 0 || t->score[i] < t->score[best])) best = i;
  return best;
}

/* Adds `rows` unless a candidate already runs the same chunks. */
static void add_candidate(const myr_schedule *s, const sys *y, tune_state *t, uint32_t rows) {
  uint32_t eff = schedule_rows(s, y, rows);
  for (int i = 0; i < t->count; i++)
    if (schedule_rows(s, y, t->rows[i]) == eff) return;
  if (t->count < TUNE_CANDIDATES) {
    t->score[t->count] = INFINITY;
    t->rows[t->count++] = rows;
  }
}

/* Ends a system's tuning on `rows`, or on its best (its size from before if
 * nothing was scored) when rows is 0. */
static void settle(sys *y, uint32_t rows) {
  tune_state *t = &y->tune;
  int b = best_candidate(t);
  y->chunk_rows = rows ? rows : b < 0 ? t->before : t->rows[b];
  t->state = TUNE_DONE;
}

myr_status myr_schedule_autotune(myr_schedule *s, const myr_autotune_desc *d) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  uint32_t lo = d && d->min_rows ? d->min_rows : 64, hi = d && d->max_rows ? d->max_rows : 65536;
  uint32_t frames = d && d->frames ? d->frames : 3;
  if (hi > (1u << 24) || frames > TUNE_FRAMES)
    return schedule_say(s, MYR_EINVAL, "autotune: max_rows above 2^24 or frames above %u", TUNE_FRAMES);
  if (lo > hi) return schedule_say(s, MYR_EINVAL, "autotune: min_rows %u above max_rows %u", lo, hi);
  lo = (lo + 15) & ~15u; /* no wrap: lo <= hi <= 2^24 */
  if (lo > hi) lo = hi;  /* e.g. 100..100: one size */
  s->tune_frames = frames;
  s->tune_lo = lo;
  s->tune_hi = hi;
  s->tune_run = s->tune_coarse = s->tune_samples = 0;
  s->tune_checking = false;
  s->tuning = false;
  for (uint64_t r = lo; r <= hi; r *= 4) s->tune_uniform[s->tune_coarse++] = INFINITY;
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    tune_state *t = &y->tune;
    if (t->state == TUNE_RUNNING) y->chunk_rows = t->before; /* a restart: from where it was */
    memset(t, 0, sizeof *t);
    if (!schedule_chunked(y)) continue;
    t->before = y->chunk_rows;
    /* the coarse pass is the same sizes for every system, in the same
     * frames (no sizes skipped), so that those frames also score each size
     * for the whole frame */
    for (uint64_t r = lo; r <= hi; r *= 4) {
      t->score[t->count] = INFINITY;
      t->rows[t->count++] = (uint32_t)r;
    }
    t->coarse = t->count;
    t->state = TUNE_RUNNING;
    y->chunk_rows = t->rows[0];
    s->tuning = true;
  }
  return MYR_OK;
}

/* Every tuning system on its own best (rows 0), or on `rows`. */
static void set_all(myr_schedule *s, uint32_t rows) {
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    if (y->tune.state != TUNE_RUNNING) continue;
    int b = best_candidate(&y->tune);
    y->chunk_rows = rows ? rows : b < 0 ? y->tune.before : y->tune.rows[b];
  }
}

static void settle_all(myr_schedule *s, uint32_t rows) {
  for (uint32_t i = 0; i < s->count; i++)
    if (s->systems[i].tune.state == TUNE_RUNNING) settle(&s->systems[i], rows);
  s->tuning = false;
}

/* The check, once every system has scored its candidates. Systems of a
 * stage share the workers, so a system's own time does not tell the whole
 * frame: frames in turn with each system on its own best and with the
 * coarse size whose frames were fastest on all, `frames` of each; the
 * faster by median is kept. In turn, so that both see the same moments. */
static void check_begin(myr_schedule *s) {
  int u = -1;
  for (uint32_t k = 0; k < s->tune_coarse; k++)
    if (isfinite(s->tune_uniform[k]) && (u < 0 || s->tune_uniform[k] < s->tune_uniform[u])) u = (int)k;
  if (u < 0) {
    settle_all(s, 0);
    return;
  }
  s->tune_checking = true;
  s->check_rows = (uint32_t)((uint64_t)s->tune_lo << (2 * u));
  s->check_turn = 0;
  s->check_samples[0] = s->check_samples[1] = 0;
  set_all(s, 0); /* own bests first */
}

static void check_step(myr_schedule *s, uint64_t frame_ns) {
  uint32_t side = s->check_turn++ % 2; /* 0: own bests, 1: check_rows */
  s->check_sample[side][s->check_samples[side]++] = (double)frame_ns;
  if (s->check_samples[1] == s->tune_frames) {
    double own = median(s->check_sample[0], s->check_samples[0]);
    double one = median(s->check_sample[1], s->check_samples[1]);
    settle_all(s, one < own ? s->check_rows : 0);
    return;
  }
  set_all(s, side ? 0 : s->check_rows);
}

/* After a successful frame: each tuning system scores the frame and moves
 * on when its candidate has had its frames; then the check. */
void schedule_autotune_step(myr_schedule *s, uint64_t frame_ns) {
  uint32_t at = s->tune_run++;
  bool any = false;
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    if (y->tune.state == TUNE_RUNNING) {
      y->tune.frames++;
      any = true;
    }
  }
  if (!any) { /* every system was stopped */
    s->tuning = false;
    return;
  }
  if (s->tune_checking) {
    check_step(s, frame_ns);
    return;
  }
  if (at / s->tune_frames < s->tune_coarse) { /* one coarse size on all */
    s->tune_sample[s->tune_samples++] = (double)frame_ns;
    if (s->tune_samples == s->tune_frames) {
      s->tune_uniform[at / s->tune_frames] = median(s->tune_sample, s->tune_samples);
      s->tune_samples = 0;
    }
  }
  bool measuring = false;
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    tune_state *t = &y->tune;
    if (t->state != TUNE_RUNNING || t->at >= t->count) continue; /* done, or waiting for the check */
    if (y->stats.entities) t->sample[t->samples++] = (double)y->stats.ns / (double)y->stats.entities;
    if (++t->seen < s->tune_frames) {
      measuring = true;
      continue;
    }
    if (t->samples) t->score[t->at] = median(t->sample, t->samples);
    t->seen = t->samples = 0;
    t->at++;
    if (t->at == t->coarse) { /* the fine pass: either side of the best */
      int b = best_candidate(t);
      if (b >= 0) {
        uint32_t r = t->rows[b];
        if (r / 2 >= s->tune_lo) add_candidate(s, y, t, r / 2);
        if (r * 2 <= s->tune_hi) add_candidate(s, y, t, r * 2);
      }
    }
    if (t->at < t->count) {
      y->chunk_rows = t->rows[t->at];
      measuring = true;
    } else {
      int b = best_candidate(t);
      y->chunk_rows = b < 0 ? t->before : t->rows[b];
    }
  }
  if (!measuring) check_begin(s);
}

myr_status myr_schedule_autotune_freeze(myr_schedule *s) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  for (uint32_t i = 0; i < s->count; i++)
    if (s->systems[i].tune.state == TUNE_RUNNING) settle(&s->systems[i], 0);
  s->tuning = false;
  return MYR_OK;
}

myr_status myr_schedule_autotune_info(const myr_schedule *s, myr_system id, myr_autotune_info *out) {
  if (!s || !out || id >= s->count) return MYR_EINVAL;
  const sys *y = &s->systems[id];
  const tune_state *t = &y->tune;
  int b = t->state == TUNE_NONE ? -1 : best_candidate(t);
  *out = (myr_autotune_info){
      .tuning = t->state == TUNE_RUNNING,
      .settled = t->state == TUNE_DONE,
      .rows = schedule_chunked(y) ? schedule_rows(s, y, y->chunk_rows)
              : y->chunk_rows     ? y->chunk_rows
                                  : s->default_rows,
      .best_rows = b < 0 ? 0 : t->rows[b],
      .best_ns_per_entity = b < 0 ? 0 : t->score[b],
      .frames = t->frames,
  };
  return MYR_OK;
}

bool myr_schedule_autotune_done(const myr_schedule *s) {
  if (!s || !s->tuning) return true;
  for (uint32_t i = 0; i < s->count; i++) /* stopped one by one by set_chunk_rows or load_tuning */
    if (s->systems[i].tune.state == TUNE_RUNNING) return false;
  return true;
}
