/* The tuner's throughput plot: entities per second against chunk size. */
#ifndef MYRIAD_TOOLS_PLOT_H
#define MYRIAD_TOOLS_PLOT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct plot_point {
  const char *system;
  uint32_t threads, chunk;
  double rate; /* entities per second */
} plot_point;

/* Writes an SVG with one panel per system (in the order they first appear):
 * M entities/s against rows per chunk on a log2 axis, a line per thread
 * count, the best point of each line ringed. Returns 0, or -1 when writing
 * failed. */
int plot_write(FILE *out, const plot_point *p, size_t n, const char *title);

#endif
