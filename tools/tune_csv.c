/* myriad-tune's report as CSV (RFC 4180): a row per system and
 * configuration, with its configuration's frame and merge figures (the
 * same on every row of the configuration). best_at_edge, the last column: on a swept row, "smallest"
 * or "largest" when the system's best chunk at that thread count is at that
 * end of more than one size swept, otherwise empty. */
#include <stdio.h>
#include <string.h>

#include "tune.h"

/* A field, quoted (its quotes doubled) when it holds a comma, a quote or a
 * line break. */
static void csv_field(FILE *out, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, out);
    return;
  }
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"') fputc('"', out);
    fputc(*s, out);
  }
  fputc('"', out);
}

static const char *csv_edge(const options *o, const tune_results *r, const result *x) {
  if (x->run_once || x->whole || x->config_chunk == AUTO || x->config_chunk == FROM_FILE) return "";
  const char *edge = edge_name(edge_of(o, best_of(r->rs, r->n, x->system, x->threads)));
  return edge ? edge : "";
}

void write_csv(FILE *out, const options *o, const tune_results *r) {
  fprintf(out, "system,threads,chunk,ns_per_entity,min_ns_per_entity,max_ns_per_entity,entities_per_s,mode,"
               "frame_ms,merge_ms,merge_share,patches_recorded,patches_applied,spawned,destroyed,moved,"
               "best_at_edge\n");
  for (uint32_t i = 0; i < r->n; i++) {
    const result *x = &r->rs[i];
    const config_time *t = config_of(r, x->threads, x->config_chunk);
    static const config_time none;
    if (!t) t = &none;
    csv_field(out, x->system);
    fprintf(out, ",%u,%u,%.4f,%.4f,%.4f,%.1f,%s,%.4f,%.4f,%.4f,%.1f,%.1f,%.1f,%.1f,%.1f,%s\n", x->threads, x->chunk,
            x->ns_per_entity, x->min_ns, x->max_ns, x->entities_per_s, mode_of(x->config_chunk), t->frame_ms,
            t->merge_ms, t->merge_share, t->patches_recorded, t->patches_applied, t->spawned, t->destroyed, t->moved,
            csv_edge(o, r, x));
  }
}
