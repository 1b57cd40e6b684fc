/* Look-ups over the tuner's results that its writers share. */
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
