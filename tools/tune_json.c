/* myriad-tune's report as JSON: the run's parameters, every result, every
 * configuration, the best chunk per system and thread count, and with
 * autotuning, how close it came to the sweep. Every string goes through
 * the library's escaper, so any system name gives valid JSON. */
#include <stdio.h>

#include "json.h"
#include "tune.h"

static void json_header(FILE *out, const options *o) {
  fprintf(out, "{\"scenario\": ");
  json_string(out, o->scenario);
  fprintf(out, ", \"entities\": %u, \"kernels\": ", o->entities);
  json_string(out, o->kernels == SCN_SIMD ? "simd" : "scalar");
  fprintf(out, ", \"frames\": %u, \"warmup\": %u, \"repeat\": %u, \"seed\": %llu,", o->frames, o->warmup, o->repeat,
          (unsigned long long)o->seed);
}

static void json_results(FILE *out, const tune_results *r) {
  fprintf(out, "\n \"results\": [");
  for (uint32_t i = 0; i < r->n; i++) {
    const result *x = &r->rs[i];
    fprintf(out, "%s\n  {\"system\": ", i ? "," : "");
    json_string(out, x->system);
    fprintf(out, ", \"threads\": %u, \"chunk\": %u, \"mode\": ", x->threads, x->chunk);
    json_string(out, mode_of(x->config_chunk));
    fprintf(out,
            ", \"run_once\": %s, \"whole\": %s, \"ns_per_entity\": %.4f, \"min_ns_per_entity\": %.4f, "
            "\"max_ns_per_entity\": %.4f, \"entities_per_s\": %.1f}",
            x->run_once ? "true" : "false", x->whole ? "true" : "false", x->ns_per_entity, x->min_ns, x->max_ns,
            x->entities_per_s);
  }
  fprintf(out, "],");
}

static void json_configurations(FILE *out, const tune_results *r) {
  fprintf(out, "\n \"configurations\": [");
  for (uint32_t i = 0; i < r->tn; i++) {
    const config_time *t = &r->ts[i];
    fprintf(out, "%s\n  {\"threads\": %u, \"chunk\": ", i ? "," : "", t->threads);
    if (t->chunk == AUTO || t->chunk == FROM_FILE) fprintf(out, "null");
    else fprintf(out, "%u", t->chunk);
    fprintf(out, ", \"mode\": ");
    json_string(out, mode_of(t->chunk));
    fprintf(out,
            ", \"frame_ms\": %.4f, \"merge_ms\": %.4f, \"merge_share\": %.4f, \"patches_recorded\": %.1f, "
            "\"patches_applied\": %.1f, \"spawned\": %.1f, \"destroyed\": %.1f, \"moved\": %.1f}",
            t->frame_ms, t->merge_ms, t->merge_share, t->patches_recorded, t->patches_applied, t->spawned, t->destroyed,
            t->moved);
  }
  fprintf(out, "],");
}

/* best_at_edge: "smallest" or "largest" when the best is at that end of
 * more than one size swept (the best may lie beyond), otherwise null. */
static void json_best(FILE *out, const options *o, const tune_results *r) {
  fprintf(out, "\n \"best\": [");
  bool first = true;
  for (uint32_t t = 0; t < o->thread_count; t++)
    for (uint32_t sys = 0; sys < r->systems; sys++) {
      const result *b = best_of(r->rs, r->n, r->rs[sys].system, r->ts[t * o->chunk_count].threads);
      if (!b) continue;
      fprintf(out, "%s\n  {\"system\": ", first ? "" : ",");
      json_string(out, b->system);
      fprintf(out, ", \"threads\": %u, \"chunk\": %u, \"ns_per_entity\": %.4f, \"best_at_edge\": ", b->threads,
              b->chunk, b->ns_per_entity);
      const char *edge = edge_name(edge_of(o, b));
      if (edge) json_string(out, edge);
      else fprintf(out, "null");
      fprintf(out, "}");
      first = false;
    }
  fprintf(out, "]");
}

static void json_autotune(FILE *out, const options *o, const tune_results *r) {
  fprintf(out, ",\n \"autotune\": [");
  bool first = true;
  for (uint32_t t = 0; t < o->thread_count; t++)
    for (uint32_t sys = 0; sys < r->systems; sys++) {
      uint32_t threads = r->ts[t * o->chunk_count].threads;
      const char *name = r->rs[sys].system;
      const result *a = auto_of(r->rs, r->n, name, threads), *b = best_of(r->rs, r->n, name, threads);
      if (!a || !b) continue;
      fprintf(out, "%s\n  {\"system\": ", first ? "" : ",");
      json_string(out, a->system);
      fprintf(out,
              ", \"threads\": %u, \"chunk\": %u, \"settle_frames\": %u, \"entities_per_s\": %.1f, "
              "\"sweep_best_chunk\": %u, \"sweep_best_entities_per_s\": %.1f, \"ratio\": %.4f}",
              threads, a->chunk, a->settle_frames, a->entities_per_s, b->chunk, b->entities_per_s,
              b->ns_per_entity / a->ns_per_entity);
      first = false;
    }
  fprintf(out, "],");
}

static void json_autotune_frames(FILE *out, const options *o, const tune_results *r) {
  fprintf(out, "\n \"autotune_frames\": [");
  for (uint32_t t = 0; t < o->thread_count; t++) {
    const config_time *a, *b;
    frames_of(o, r->ts, t, &a, &b);
    fprintf(out,
            "%s\n  {\"threads\": %u, \"frame_ms\": %.4f, \"sweep_best_chunk\": %u, \"sweep_best_frame_ms\": %.4f, "
            "\"ratio\": %.4f}",
            t ? "," : "", a->threads, a->frame_ms, b->chunk, b->frame_ms, b->frame_ms / a->frame_ms);
  }
  fprintf(out, "]");
}

void write_json(FILE *out, const options *o, const tune_results *r) {
  json_header(out, o);
  json_results(out, r);
  json_configurations(out, r);
  json_best(out, o, r);
  if (o->autotune) {
    json_autotune(out, o, r);
    json_autotune_frames(out, o, r);
  }
  fprintf(out, "}\n");
}
