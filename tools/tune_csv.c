/* myriad-tune's report as CSV: a row per system and configuration. */
#include <stdio.h>

#include "tune.h"

void write_csv(FILE *out, const options *o, const tune_results *r) {
  (void)o;
  fprintf(out, "system,threads,chunk,ns_per_entity,min_ns_per_entity,max_ns_per_entity,entities_per_s,mode\n");
  for (uint32_t i = 0; i < r->n; i++) {
    const result *x = &r->rs[i];
    fprintf(out, "%s,%u,%u,%.4f,%.4f,%.4f,%.1f,%s\n", x->system, x->threads, x->chunk, x->ns_per_entity, x->min_ns,
            x->max_ns, x->entities_per_s, mode_of(x->config_chunk));
  }
}
