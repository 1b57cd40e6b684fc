/* myriad-tune's report as a table for reading: every result, every
 * configuration's frame and merge times, the best chunk per system (with a
 * note when it is at an end of the range swept), and with autotuning, how
 * close it came to the sweep. */
#include <stdio.h>

#include "tune.h"

static void table_header(FILE *out, const options *o) {
  fprintf(out, "%s (%s kernels), %u entities, %u frames (after %u warm-up)", o->scenario,
          o->kernels == SCN_SIMD ? "simd" : "scalar", o->entities, o->frames, o->warmup);
  if (o->autotune) fprintf(out, " of each size in turn in one world, after autotuning it");
  if (o->repeat > 1) fprintf(out, " x %u fresh worlds", o->repeat);
  fprintf(out, ", medians\n\n");
}

static void table_results(FILE *out, const options *o, const tune_results *r) {
  fprintf(out, "%-14s %7s %7s %10s %12s %21s\n", "system", "threads", "chunk", "ns/entity", "M entities/s",
          "min-max ns/entity");
  for (uint32_t i = 0; i < r->n; i++) {
    const result *x = &r->rs[i];
    if (x->run_once) {
      fprintf(out, "%-14s %7u %7s %10s %12s %10.1f us a frame\n", x->system, x->threads, "once", "-", "-",
              x->ns_per_entity / 1e3);
      continue;
    }
    char chunk[16];
    snprintf(chunk, sizeof chunk, "%u%s", x->chunk,
             x->config_chunk == AUTO        ? "a"
             : x->config_chunk == FROM_FILE ? "f"
                                            : "");
    if (x->whole) snprintf(chunk, sizeof chunk, "whole");
    fprintf(out, "%-14s %7u %7s %10.3f %12.1f %10.3f-%-10.3f\n", x->system, x->threads, chunk, x->ns_per_entity,
            x->entities_per_s / 1e6, x->min_ns, x->max_ns);
  }
  if (o->autotune) fprintf(out, "(a: where autotuning settled)\n");
  if (o->tuning_path) fprintf(out, "(f: from %s)\n", o->tuning_path);
}

static void table_configurations(FILE *out, const tune_results *r) {
  fprintf(out, "\n%-7s %7s %10s %10s %6s %10s %10s %9s %9s %9s\n", "threads", "chunk", "frame ms", "merge ms", "merge",
          "patches", "applied", "spawned", "destroyed", "moved");
  for (uint32_t i = 0; i < r->tn; i++) {
    const config_time *t = &r->ts[i];
    fprintf(out, "%7u ", t->threads);
    if (t->chunk == AUTO || t->chunk == FROM_FILE) fprintf(out, "%7s", mode_of(t->chunk));
    else fprintf(out, "%7u", t->chunk);
    fprintf(out, " %10.3f %10.3f %5.1f%% %10.0f %10.0f %9.0f %9.0f %9.0f\n", t->frame_ms, t->merge_ms,
            100.0 * t->merge_share, t->patches_recorded, t->patches_applied, t->spawned, t->destroyed, t->moved);
  }
}

/* Under a best chunk at an end of the range swept: the best may lie
 * beyond it, and a wider range to sweep. */
static void table_edge_note(FILE *out, const options *o, const result *b) {
  tune_edge e = edge_of(o, b);
  if (e == EDGE_NONE) return;
  char wider[64];
  fprintf(out, "    note: best at the %s size swept (%u)", edge_name(e), b->chunk);
  if (edge_widened(o, e, wider, sizeof wider)) fprintf(out, ": try %s\n", wider);
  else fprintf(out, ", the %s --chunk takes\n", edge_name(e));
}

static void table_best(FILE *out, const options *o, const tune_results *r) {
  fprintf(out, "\nbest chunk per system%s:\n", o->autotune ? " in the sweep" : "");
  bool one = false;
  for (uint32_t t = 0; t < o->thread_count; t++) one |= r->ts[t * o->chunk_count].threads == 1;
  for (uint32_t t = 0; t < o->thread_count; t++) {
    uint32_t threads = r->ts[t * o->chunk_count].threads;
    for (uint32_t sys = 0; sys < r->systems; sys++) {
      const result *b = best_of(r->rs, r->n, r->rs[sys].system, threads);
      if (!b) continue;
      fprintf(out, "  %-14s %3u threads: chunk %6u, %.3f ns/entity", b->system, threads, b->chunk, b->ns_per_entity);
      const result *b1 = one && threads != 1 ? best_of(r->rs, r->n, b->system, 1) : NULL;
      if (b1) fprintf(out, ", %.2fx the speed of 1 thread", b1->ns_per_entity / b->ns_per_entity);
      fprintf(out, "\n");
      table_edge_note(out, o, b);
    }
  }
}

static void table_autotune(FILE *out, const options *o, const tune_results *r) {
  fprintf(out, "\nautotuning, against the sweep's best:\n");
  for (uint32_t t = 0; t < o->thread_count; t++) {
    uint32_t threads = r->ts[t * o->chunk_count].threads;
    for (uint32_t sys = 0; sys < r->systems; sys++) {
      const char *name = r->rs[sys].system;
      const result *a = auto_of(r->rs, r->n, name, threads), *b = best_of(r->rs, r->n, name, threads);
      if (!a || !b) continue;
      fprintf(out, "  %-14s %3u threads: settled on %6u in %2u frames, %8.1f M/s; sweep best %6u, %8.1f M/s: %.3fx\n",
              a->system, threads, a->chunk, a->settle_frames, a->entities_per_s / 1e6, b->chunk,
              b->entities_per_s / 1e6, b->ns_per_entity / a->ns_per_entity);
    }
    const config_time *a, *b;
    frames_of(o, r->ts, t, &a, &b);
    fprintf(out, "  %-14s %3u threads: %.3f ms autotuned; sweep best chunk %u, %.3f ms: %.3fx\n", "(frame)", threads,
            a->frame_ms, b->chunk, b->frame_ms, b->frame_ms / a->frame_ms);
  }
}

void write_table(FILE *out, const options *o, const tune_results *r) {
  table_header(out, o);
  table_results(out, o, r);
  table_configurations(out, r);
  table_best(out, o, r);
  if (o->autotune) table_autotune(out, o, r);
}
