/* The tuner's Gantt chart: one frame of a trace as SVG. */
#ifndef MYRIAD_TOOLS_GANTT_H
#define MYRIAD_TOOLS_GANTT_H

#include <stddef.h>
#include <stdio.h>

#include "myriad/myriad.h"

/* Writes the last frame of the events (the ones after the merge that ended
 * the frame before it) as an SVG Gantt chart: a row per worker, a bar per
 * chunk or hook coloured by system, merges as dark bars on a row of their
 * own, a time axis in microseconds and a legend. `stages` is the number of
 * merges a frame has. Returns 0, or -1 when writing failed. */
int gantt_write(FILE *out, const myr_schedule *s, const myr_trace_event *ev, size_t n, uint32_t workers,
                uint32_t stages, const char *title);

#endif
