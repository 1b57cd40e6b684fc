/* One frame of a schedule trace as an SVG Gantt chart, written by hand: a
 * row per worker, bars coloured by system, merges on their own row and as
 * dashed lines across the workers, a time axis and a legend. */
#include "gantt.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svg.h"

enum { LEFT = 90, RIGHT = 24, TOP = 56, ROW = 26, GAP = 6, WIDTH = 1100, LEGEND_ROW = 20 };

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define PALETTE (sizeof palette / sizeof *palette)

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

int gantt_write(FILE *out, const myr_schedule *s, const myr_trace_event *ev, size_t n, uint32_t workers,
                uint32_t stages, const char *title) {
  /* the last frame starts where the merge ending the one before it ends */
  size_t merges = 0;
  for (size_t i = 0; i < n; i++) merges += ev[i].kind == MYR_TRACE_MERGE;
  uint64_t *ends = malloc(sizeof *ends * (merges ? merges : 1));
  if (!ends) return -1;
  merges = 0;
  uint64_t t0 = UINT64_MAX, t1 = 0;
  for (size_t i = 0; i < n; i++)
    if (ev[i].kind == MYR_TRACE_MERGE) ends[merges++] = ev[i].end_ns;
  qsort(ends, merges, sizeof *ends, cmp_u64);
  uint64_t from = merges > stages && stages ? ends[merges - stages - 1] : 0;
  free(ends);
  for (size_t i = 0; i < n; i++)
    if (ev[i].start_ns >= from && ev[i].kind != MYR_TRACE_FRAME) {
      if (ev[i].start_ns < t0) t0 = ev[i].start_ns;
      if (ev[i].end_ns > t1) t1 = ev[i].end_ns;
    }
  if (t0 == UINT64_MAX) t0 = t1 = 0;
  double span_us = (double)(t1 - t0) / 1e3, plot_w = WIDTH - LEFT - RIGHT;
  if (span_us <= 0) span_us = 1;
  uint32_t systems = myr_schedule_system_count(s), rows = workers + 1;
  double axis_y = TOP + rows * (ROW + GAP) + 4;
  uint32_t legend_lines = (systems + 1 + 4) / 5;
  double height = axis_y + 40 + legend_lines * LEGEND_ROW + 10;
#define X(t) (LEFT + (double)((t)-t0) / 1e3 / span_us * plot_w)

  fprintf(out,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n",
          WIDTH, height, WIDTH, height);
  fprintf(out,
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"24\" font-size=\"15\" "
          "font-weight=\"bold\">",
          LEFT);
  svg_text(out, title);
  fprintf(out,
          "</text>\n<text x=\"%d\" y=\"42\" fill=\"#555\">one frame, %.1f us; a bar per chunk, coloured by "
          "system</text>\n",
          LEFT, span_us);
  for (uint32_t r = 0; r < rows; r++) {
    double y = TOP + r * (ROW + GAP);
    fprintf(out, "<rect x=\"%d\" y=\"%.0f\" width=\"%.0f\" height=\"%d\" fill=\"#f4f4f4\"/>\n", LEFT, y, plot_w, ROW);
    if (r < workers)
      fprintf(out, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">worker %u</text>\n", LEFT - 8, y + 17, r);
    else fprintf(out, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">merge</text>\n", LEFT - 8, y + 17);
  }
  for (size_t i = 0; i < n; i++) {
    const myr_trace_event *e = &ev[i];
    if (e->start_ns < from || e->start_ns < t0 || e->kind == MYR_TRACE_FRAME) continue;
    double x = X(e->start_ns), w = X(e->end_ns) - x;
    if (w < 0.6) w = 0.6;
    if (e->kind == MYR_TRACE_MERGE) {
      double y = TOP + workers * (ROW + GAP);
      fprintf(out, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%.0f\" stroke=\"#333\" stroke-dasharray=\"3,3\"/>\n",
              x, TOP, x, y);
      fprintf(out,
              "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"#333\"><title>stage %u merge, "
              "%.1f us</title></rect>\n",
              x, y, w, ROW, e->stage, (double)(e->end_ns - e->start_ns) / 1e3);
      continue;
    }
    if (e->worker >= workers) continue;
    myr_system_stats st;
    const char *name = myr_schedule_system_stats(s, e->system, &st) == MYR_OK ? st.name : "?";
    double y = TOP + e->worker * (ROW + GAP);
    fprintf(out,
            "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" stroke=\"white\" "
            "stroke-width=\"0.3\"><title>",
            x, y, w, ROW, palette[e->system % PALETTE]);
    svg_text(out, name);
    if (e->kind == MYR_TRACE_HOOK) fprintf(out, " hook");
    else fprintf(out, " chunk %u, %u rows, table %u", e->chunk, e->rows, e->table);
    fprintf(out, ", %.1f us</title></rect>\n", (double)(e->end_ns - e->start_ns) / 1e3);
  }
  /* the time axis */
  double step = svg_tick_step(span_us, 8);
  fprintf(out, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#000\"/>\n", LEFT, axis_y, LEFT + plot_w,
          axis_y);
  for (double t = 0; t <= span_us * 1.0001; t += step) {
    double x = LEFT + t / span_us * plot_w;
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#000\"/>\n", x, axis_y, x, axis_y + 5);
    fprintf(out, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n", x, axis_y + 18, t);
  }
  fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\" fill=\"#555\">us</text>\n", LEFT + plot_w, axis_y + 32);
  /* the legend: systems, then the merge */
  for (uint32_t i = 0; i <= systems; i++) {
    double x = LEFT + (i % 5) * 200, y = axis_y + 44 + (i / 5) * LEGEND_ROW;
    myr_system_stats st;
    const char *name = i == systems ? "merge" : myr_schedule_system_stats(s, i, &st) == MYR_OK ? st.name : "?";
    fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">", x,
            y - 10, i == systems ? "#333" : palette[i % PALETTE], x + 17, y);
    svg_text(out, name);
    fprintf(out, "</text>\n");
  }
  fprintf(out, "</svg>\n");
#undef X
  return ferror(out) ? -1 : 0;
}
