/* myriad-tune: per-system throughput of a built-in scenario over thread
 * counts and chunk sizes, and the best chunk size for each system; online
 * tuning (--chunk auto) beside a full sweep; tuning files written and read;
 * traces, Gantt charts and plots; --serve runs one configuration live for
 * the web client. The parts are in tune.h. */
#include <stdio.h>
#include <stdlib.h>

#include "tune.h"

int main(int argc, char **argv) {
  options o;
  tune_results r;
  parse_options(argc, argv, &o);
  if (o.serve) return serve_main(&o);
  run_all(&o, &r);
  if (o.format == FORMAT_CSV) write_csv(stdout, &o, &r);
  else if (o.format == FORMAT_JSON) write_json(stdout, &o, &r);
  else write_table(stdout, &o, &r);
  if (o.write) write_tuning(&o, &r);
  if (o.plot) write_plot(&o, &r);
  free(r.rs);
  free(r.ts);
  return 0;
}
