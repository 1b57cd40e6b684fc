/* Look-ups over the tuner's results that its writers share. */
#include <stdio.h>
#include <string.h>

#include "tune.h"

const char *mode_of(uint32_t config_chunk) {
  return config_chunk == AUTO ? "auto" : config_chunk == FROM_FILE ? "file" : "sweep";
}

const result *best_of(const result *rs, uint32_t n, const char *system, uint32_t threads) {
  const result *best = NULL;
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(rs[i].system, system) == 0 && rs[i].threads == threads && !rs[i].run_once && !rs[i].whole &&
        rs[i].config_chunk != AUTO && (!best || rs[i].ns_per_entity < best->ns_per_entity))
      best = &rs[i];
  return best;
}

const result *auto_of(const result *rs, uint32_t n, const char *system, uint32_t threads) {
  for (uint32_t i = 0; i < n; i++)
    if (strcmp(rs[i].system, system) == 0 && rs[i].threads == threads && !rs[i].run_once && !rs[i].whole &&
        rs[i].config_chunk == AUTO)
      return &rs[i];
  return NULL;
}

void frames_of(const options *o, const config_time *ts, uint32_t t, const config_time **a, const config_time **b) {
  *a = *b = NULL;
  if (!o->autotune) return;
  *a = &ts[t * o->chunk_count];
  for (uint32_t c = 1; c < o->chunk_count; c++)
    if (!*b || ts[t * o->chunk_count + c].frame_ms < (*b)->frame_ms) *b = &ts[t * o->chunk_count + c];
}

/* The smallest and largest size swept (AUTO and FROM_FILE are none);
 * false unless there are two different ones. */
static bool swept_range(const options *o, uint32_t *lo, uint32_t *hi) {
  *lo = UINT32_MAX, *hi = 0;
  for (uint32_t c = 0; c < o->chunk_count; c++)
    if (o->chunks[c] != AUTO && o->chunks[c] != FROM_FILE) {
      if (o->chunks[c] < *lo) *lo = o->chunks[c];
      if (o->chunks[c] > *hi) *hi = o->chunks[c];
    }
  return *hi > *lo;
}

tune_edge edge_of(const options *o, const result *best) {
  uint32_t lo, hi;
  if (!best || best->config_chunk == AUTO || best->config_chunk == FROM_FILE || !swept_range(o, &lo, &hi))
    return EDGE_NONE;
  return best->chunk == lo ? EDGE_SMALLEST : best->chunk == hi ? EDGE_LARGEST : EDGE_NONE;
}

const char *edge_name(tune_edge e) { return e == EDGE_SMALLEST ? "smallest" : e == EDGE_LARGEST ? "largest" : NULL; }

/* The bounds --chunk takes (tune_options.c's parse_chunks). */
#define CHUNK_MIN 16u
#define CHUNK_MAX (1u << 24)

/* The first size of LO:...:x`step` above hi; above CHUNK_MAX when none fits. */
static uint64_t beyond(uint32_t lo, uint32_t hi, uint32_t step) {
  uint64_t v = lo;
  while (v <= hi) v *= step;
  return v;
}

bool edge_widened(const options *o, tune_edge e, char *buf, size_t size) {
  uint32_t lo, hi, step = 4;
  if (e == EDGE_NONE || !swept_range(o, &lo, &hi)) return false;
  if (e == EDGE_SMALLEST) { /* a step or two below: LO/4 and up to HI */
    if (lo <= CHUNK_MIN) return false;
    lo = lo / 4 > CHUNK_MIN ? lo / 4 : CHUNK_MIN;
  } else { /* from LO on, one size above HI (by x4, or x2 near the bound) */
    if (beyond(lo, hi, step) > CHUNK_MAX) step = 2;
    if (beyond(lo, hi, step) > CHUNK_MAX) return false;
    hi = (uint32_t)beyond(lo, hi, step);
  }
  snprintf(buf, size, "--chunk %u:%u:x%u", lo, hi, step);
  return true;
}

const config_time *config_of(const tune_results *r, uint32_t threads, uint32_t config_chunk) {
  for (uint32_t i = 0; i < r->tn; i++)
    if (r->ts[i].threads == threads && r->ts[i].chunk == config_chunk) return &r->ts[i];
  return NULL;
}
