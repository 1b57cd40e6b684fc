/* The schedule, reporting: the plan with the reason for every edge, and the
 * statistics of systems, stages and workers as a table or as JSON. */
#include "json.h"
#include "schedule_impl.h"

/* ---- plan and statistics ------------------------------------------------- */

static const char *component_name(const myr_schedule *s, myr_component c) {
  return c < world_component_count(s->world) ? world_component(s->world, c)->name : "?";
}

myr_status myr_schedule_print_plan(myr_schedule *s, FILE *out) {
  if (!s || !out) return MYR_EINVAL;
  myr_status st = myr_schedule_build(s);
  if (st != MYR_OK) return st;
  fprintf(out, "schedule: %u systems, %u stages, %u workers, default chunk %u rows\n", s->count, s->stage_count,
          s->workers, s->default_rows);
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const stage *sg = &s->stages[g];
    fprintf(out, "stage %u:\n", sg->stage);
    for (uint32_t k = 0; k < sg->count; k++) {
      const sys *y = &s->systems[s->by_stage[sg->first + k]];
      if (y->query)
        fprintf(out, "  %u. %s (chunk %u%s%s)", y->order, y->name, y->chunk_rows ? y->chunk_rows : s->default_rows,
                y->flags & MYR_SYSTEM_WHOLE ? ", whole" : "", y->flags & MYR_SYSTEM_MAIN_THREAD ? ", main thread" : "");
      else
        fprintf(out, "  %u. %s (once per frame%s)", y->order, y->name,
                y->flags & MYR_SYSTEM_MAIN_THREAD ? ", main thread" : "");
      fprintf(out, y->indegree ? "\n" : " ready at start\n");
      for (uint32_t e = 0; e < s->edge_count; e++) {
        const edge *ed = &s->edges[e];
        if (ed->to != s->by_stage[sg->first + k]) continue;
        const char *from = s->systems[ed->from].name, *c = component_name(s, ed->what);
        const char *r = ed->what < world_resource_count(s->world) ? world_resource_name(s->world, ed->what) : "?";
        switch (ed->why) {
        case WHY_RES_WRITE_WRITE: fprintf(out, "     after %s: both write resource %s\n", from, r); break;
        case WHY_RES_WRITE_READ: fprintf(out, "     after %s: it writes resource %s, read here\n", from, r); break;
        case WHY_RES_READ_WRITE: fprintf(out, "     after %s: it reads resource %s, written here\n", from, r); break;
        case WHY_WRITE_WRITE: fprintf(out, "     after %s: both write %s\n", from, c); break;
        case WHY_WRITE_READ: fprintf(out, "     after %s: it writes %s, read here\n", from, c); break;
        case WHY_READ_WRITE: fprintf(out, "     after %s: it reads %s, written here\n", from, c); break;
        case WHY_AFTER: fprintf(out, "     after %s: asked for by this system\n", from); break;
        case WHY_BEFORE: fprintf(out, "     after %s: asked for by %s\n", from, from); break;
        case WHY_DISJOINT: break;
        }
      }
      for (uint32_t e = 0; e < s->disjoint_count; e++) {
        const edge *ed = &s->disjoint[e];
        if (ed->to != s->by_stage[sg->first + k]) continue;
        fprintf(out, "     beside %s: never the same table (one requires %s, the other excludes it)\n",
                s->systems[ed->from].name, component_name(s, ed->what));
      }
    }
  }
  return MYR_OK;
}

myr_status myr_schedule_system_stats(const myr_schedule *s, myr_system id, myr_system_stats *out) {
  if (!s || !out || id >= s->count) return MYR_EINVAL;
  *out = s->systems[id].stats;
  out->name = s->systems[id].name;
  out->stage = s->systems[id].stage;
  return MYR_OK;
}

uint32_t myr_schedule_stage_count(const myr_schedule *s) { return s && s->built ? s->stage_count : 0; }

myr_status myr_schedule_stage_stats(const myr_schedule *s, uint32_t i, myr_stage_stats *out) {
  if (!s || !out || !s->built || i >= s->stage_count) return MYR_EINVAL;
  *out = s->stages[i].stats;
  return MYR_OK;
}

/* One system's figures as printed: its last frame's, or its totals. */
typedef struct sys_figures {
  uint64_t frames, entities, chunks, ns, chunk_ns;
  double ns_per_entity, entities_per_s;
} sys_figures;

static sys_figures figures_of(const myr_system_stats *t, bool totals) {
  if (!totals) return (sys_figures){1, t->entities, t->chunks, t->ns, t->chunk_ns, t->ns_per_entity, t->entities_per_s};
  sys_figures f = {t->frames, t->total_entities, t->total_chunks, t->total_ns, t->total_chunk_ns, 0, 0};
  f.ns_per_entity = f.entities ? (double)f.ns / (double)f.entities : 0;
  f.entities_per_s = f.ns ? (double)f.entities * 1e9 / (double)f.ns : 0;
  return f;
}

static uint64_t skipped(const myr_patch_stats *p) {
  return p->skipped_dead + p->skipped_present + p->skipped_absent + p->skipped_lost;
}

static void json_workers(const myr_schedule *s, FILE *out) {
  fprintf(out, "\n], \"workers\": [");
  for (uint32_t w = 0; w < s->workers; w++) {
    myr_jobs_worker_stats ws = {0};
    myr_jobs_stats(s->jobs, w, &ws);
    fprintf(out, "%s\n  {\"worker\": %u, \"jobs\": %llu, \"steals\": %llu, \"failed_steals\": %llu, \"idle_ns\": %llu}",
            w ? "," : "", w, (unsigned long long)ws.jobs, (unsigned long long)ws.steals,
            (unsigned long long)ws.failed_steals, (unsigned long long)ws.parked_ns);
  }
  fprintf(out, "\n]}\n");
}

/* The last frame, with the totals beside it (and cpu_ns, total_cpu_ns:
 * the old names of chunk_ns, total_chunk_ns, kept for 0.1.x). */
static void json_last(const myr_schedule *s, FILE *out) {
  fprintf(out, "{\"systems\": [");
  for (uint32_t i = 0; i < s->count; i++) {
    const myr_system_stats *t = &s->systems[i].stats;
    fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
    json_string(out, s->systems[i].name);
    fprintf(out,
            ", \"stage\": %u, \"chunk_rows\": %u, \"entities\": %llu, \"chunks\": %llu, "
            "\"ns\": %llu, \"ns_per_entity\": %.3f, \"entities_per_s\": %.1f, \"frames\": %llu, "
            "\"total_entities\": %llu, \"total_chunks\": %llu, \"total_ns\": %llu, \"chunk_ns\": %llu, "
            "\"total_chunk_ns\": %llu, \"cpu_ns\": %llu, \"total_cpu_ns\": %llu, \"cpu_time_ns\": %llu, "
            "\"total_cpu_time_ns\": %llu}",
            s->systems[i].stage, t->chunk_rows, (unsigned long long)t->entities, (unsigned long long)t->chunks,
            (unsigned long long)t->ns, t->ns_per_entity, t->entities_per_s, (unsigned long long)t->frames,
            (unsigned long long)t->total_entities, (unsigned long long)t->total_chunks, (unsigned long long)t->total_ns,
            (unsigned long long)t->chunk_ns, (unsigned long long)t->total_chunk_ns, (unsigned long long)t->chunk_ns,
            (unsigned long long)t->total_chunk_ns, (unsigned long long)t->cpu_time_ns,
            (unsigned long long)t->total_cpu_time_ns);
  }
  fprintf(out, "\n], \"stages\": [");
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const myr_stage_stats *t = &s->stages[g].stats;
    fprintf(
        out,
        "%s\n  {\"stage\": %u, \"merge_ns\": %llu, \"patches\": %llu, \"applied\": %llu, \"skipped\": %llu, "
        "\"spawned\": %llu, \"destroyed\": %llu, \"moved\": %llu, \"total_merge_ns\": %llu, \"total_patches\": %llu}",
        g ? "," : "", t->stage, (unsigned long long)t->merge_ns, (unsigned long long)t->patches.recorded,
        (unsigned long long)t->patches.applied, (unsigned long long)skipped(&t->patches),
        (unsigned long long)t->patches.spawned, (unsigned long long)t->patches.destroyed,
        (unsigned long long)t->patches.moved, (unsigned long long)t->total_merge_ns,
        (unsigned long long)t->total_patches.recorded);
  }
  json_workers(s, out);
}

/* The sums over all frames, under the last frame's keys. */
static void json_totals(const myr_schedule *s, FILE *out) {
  fprintf(out, "{\"totals\": true, \"frames\": %llu, \"systems\": [", (unsigned long long)s->frame);
  for (uint32_t i = 0; i < s->count; i++) {
    sys_figures f = figures_of(&s->systems[i].stats, true);
    fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
    json_string(out, s->systems[i].name);
    fprintf(out,
            ", \"stage\": %u, \"chunk_rows\": %u, \"frames\": %llu, \"entities\": %llu, \"chunks\": %llu, "
            "\"ns\": %llu, \"chunk_ns\": %llu, \"cpu_time_ns\": %llu, \"ns_per_entity\": %.3f, "
            "\"entities_per_s\": %.1f}",
            s->systems[i].stage, s->systems[i].stats.chunk_rows, (unsigned long long)f.frames,
            (unsigned long long)f.entities, (unsigned long long)f.chunks, (unsigned long long)f.ns,
            (unsigned long long)f.chunk_ns, (unsigned long long)s->systems[i].stats.total_cpu_time_ns, f.ns_per_entity,
            f.entities_per_s);
  }
  fprintf(out, "\n], \"stages\": [");
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const myr_stage_stats *t = &s->stages[g].stats;
    const myr_patch_stats *p = &t->total_patches;
    fprintf(out,
            "%s\n  {\"stage\": %u, \"merge_ns\": %llu, \"patches\": %llu, \"applied\": %llu, \"skipped\": %llu, "
            "\"spawned\": %llu, \"destroyed\": %llu, \"moved\": %llu}",
            g ? "," : "", t->stage, (unsigned long long)t->total_merge_ns, (unsigned long long)p->recorded,
            (unsigned long long)p->applied, (unsigned long long)skipped(p), (unsigned long long)p->spawned,
            (unsigned long long)p->destroyed, (unsigned long long)p->moved);
  }
  json_workers(s, out);
}

static void print_table(const myr_schedule *s, FILE *out, bool totals) {
  if (totals) fprintf(out, "totals over %llu frames\n", (unsigned long long)s->frame);
  fprintf(out, "%-24s %5s %7s", "system", "stage", "chunk");
  if (totals) fprintf(out, " %7s", "frames");
  fprintf(out, " %10s %8s %10s %10s %9s %12s\n", "entities", "chunks", "us", "chunk us", "ns/ent", "entities/s");
  uint64_t entities = 0, ns = 0, chunk_ns = 0;
  for (uint32_t i = 0; i < s->count; i++) {
    const sys *y = &s->systems[i];
    sys_figures t = figures_of(&y->stats, totals);
    /* a run-once system has no chunk size and no per-entity figures */
    char chunk[16] = "once", per[16] = "-", rate[16] = "-";
    if (y->query) {
      snprintf(chunk, sizeof chunk, "%u", y->stats.chunk_rows);
      snprintf(per, sizeof per, "%.2f", t.ns_per_entity);
      snprintf(rate, sizeof rate, "%.4g", t.entities_per_s);
    }
    fprintf(out, "%-24s %5u %7s", y->name, y->stage, chunk);
    if (totals) fprintf(out, " %7llu", (unsigned long long)t.frames);
    fprintf(out, " %10llu %8llu %10.1f %10.1f %9s %12s\n", (unsigned long long)t.entities, (unsigned long long)t.chunks,
            (double)t.ns / 1e3, (double)t.chunk_ns / 1e3, per, rate);
    entities += t.entities;
    ns += t.ns;
    chunk_ns += t.chunk_ns;
  }
  fprintf(out, "%-24s %5s %7s", "(all systems)", "", "");
  if (totals) fprintf(out, " %7s", "");
  fprintf(out, " %10llu %8s %10.1f %10.1f\n", (unsigned long long)entities, "", (double)ns / 1e3,
          (double)chunk_ns / 1e3);
  fprintf(out, "%-6s %10s %10s %10s %10s %10s %10s\n", "stage", "merge us", "patches", "applied", "skipped", "spawned",
          "destroyed");
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const myr_stage_stats *t = &s->stages[g].stats;
    const myr_patch_stats *p = totals ? &t->total_patches : &t->patches;
    fprintf(out, "%-6u %10.1f %10llu %10llu %10llu %10llu %10llu\n", t->stage,
            (double)(totals ? t->total_merge_ns : t->merge_ns) / 1e3, (unsigned long long)p->recorded,
            (unsigned long long)p->applied, (unsigned long long)skipped(p), (unsigned long long)p->spawned,
            (unsigned long long)p->destroyed);
  }
  fprintf(out, "%-6s %10s %10s %14s %12s\n", "worker", "jobs", "steals", "failed steals", "idle ms");
  for (uint32_t w = 0; w < s->workers; w++) {
    myr_jobs_worker_stats ws = {0};
    myr_jobs_stats(s->jobs, w, &ws);
    fprintf(out, "%-6u %10llu %10llu %14llu %12.2f\n", w, (unsigned long long)ws.jobs, (unsigned long long)ws.steals,
            (unsigned long long)ws.failed_steals, (double)ws.parked_ns / 1e6);
  }
}

myr_status myr_schedule_write_stats(const myr_schedule *s, FILE *out, const myr_stats_desc *desc) {
  myr_stats_desc d = desc ? *desc : (myr_stats_desc){0};
  if (!s || !out || (d.format != MYR_STATS_TABLE && d.format != MYR_STATS_JSON)) return MYR_EINVAL;
  if (d.format == MYR_STATS_JSON && d.totals) json_totals(s, out);
  else if (d.format == MYR_STATS_JSON) json_last(s, out);
  else print_table(s, out, d.totals);
  return ferror(out) ? MYR_EIO : MYR_OK;
}

myr_status myr_schedule_print_stats(const myr_schedule *s, FILE *out, bool json) {
  return myr_schedule_write_stats(s, out, &(myr_stats_desc){.format = json ? MYR_STATS_JSON : MYR_STATS_TABLE});
}
