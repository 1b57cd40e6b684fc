/* The files myriad-tune writes after its report: a tuning file
 * (--write-tuning) and the plot of the sweep (--plot). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"
#include "tune.h"

/* --write-tuning: the last thread count's best (or autotuned) chunk sizes. */
void write_tuning(const options *o, const tune_results *r) {
  uint32_t threads = o->threads[o->thread_count - 1];
  myr_jobs *pool;
  scn_scenario *sc;
  myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = threads}, &pool);
  if (st == MYR_OK && (st = scn_create_kernels(o->scenario, 1, o->seed, pool, o->kernels, &sc)) != MYR_OK)
    myr_jobs_destroy(pool);
  if (st != MYR_OK) {
    fprintf(stderr, "myriad-tune: --write-tuning: %s\n", myr_strerror(st));
    exit(1);
  }
  myr_schedule *s = scn_schedule(sc);
  threads = myr_jobs_worker_count(pool);
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) {
    myr_system_stats ss;
    myr_schedule_system_stats(s, i, &ss);
    const result *x = o->autotune ? auto_of(r->rs, r->n, ss.name, threads) : best_of(r->rs, r->n, ss.name, threads);
    if (x) myr_schedule_set_chunk_rows(s, i, x->chunk);
  }
  st = myr_schedule_write_tuning(s, o->write, &(myr_tuning_desc){.scenario = o->scenario, .entities = o->entities});
  if (st != MYR_OK || fclose(o->write) != 0) {
    fprintf(stderr, "myriad-tune: writing %s: %s\n", o->write_path,
            st != MYR_OK ? myr_schedule_error(s) : strerror(errno));
    exit(1);
  }
  scn_destroy(sc);
  myr_jobs_destroy(pool);
}

/* --plot: the swept results, entities/s against chunk size. */
void write_plot(const options *o, const tune_results *r) {
  plot_point *pts = calloc(r->n ? r->n : 1, sizeof *pts);
  size_t m = 0;
  for (uint32_t i = 0; pts && i < r->n; i++) {
    const result *x = &r->rs[i];
    if (!x->run_once && !x->whole && x->config_chunk != AUTO && x->config_chunk != FROM_FILE)
      pts[m++] = (plot_point){x->system, x->threads, x->chunk, x->entities_per_s};
  }
  char title[160];
  snprintf(title, sizeof title, "myriad-tune: %s, %u entities", o->scenario, o->entities);
  if (!pts || plot_write(o->plot, pts, m, title) != 0 || fclose(o->plot) != 0) {
    fprintf(stderr, "myriad-tune: writing %s: %s\n", o->plot_path, strerror(errno));
    exit(1);
  }
  free(pts);
}
