/* The last traced frame as an SVG Gantt chart, written by hand: a row per
 * worker, bars coloured by system, merges on their own row and as dashed
 * lines across the workers, a time axis and a legend. */
#include <stdlib.h>

#include "schedule_impl.h"

enum { LEFT = 90, RIGHT = 24, TOP = 56, ROW = 26, GAP = 6, WIDTH = 1100, LEGEND_ROW = 20 };

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                                      "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
#define PALETTE (sizeof palette / sizeof *palette)

/* Text for an element or an attribute: &, <, > and " escaped, control
 * characters (not allowed in XML 1.0) written as '?'. */
static void svg_text(FILE *out, const char *t) {
  for (; *t; t++) {
    if (*t == '&') fputs("&amp;", out);
    else if (*t == '<') fputs("&lt;", out);
    else if (*t == '>') fputs("&gt;", out);
    else if (*t == '"') fputs("&quot;", out);
    else if ((unsigned char)*t < 0x20) fputc('?', out);
    else fputc(*t, out);
  }
}

/* A tick step of 1, 2 or 5 times a power of ten giving about `ticks` ticks
 * over span (powers of ten by multiplying: the library does not link libm). */
static double tick_step(double span, int ticks) {
  double raw = span / ticks, p = 1;
  if (!(raw > 0)) raw = 1;
  while (p * 10 <= raw) p *= 10;
  while (p > raw) p /= 10;
  return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}

/* The last frame marker recorded (on worker 0's lane), or NULL. */
static const trace_event *last_frame(const myr_schedule *s) {
  const trace_lane *l = &s->trace[0];
  for (uint32_t i = l->count; i-- > 0;)
    if (trace_kind(&l->events[i]) == MYR_TRACE_FRAME) return &l->events[i];
  return NULL;
}

typedef struct chart {
  const myr_schedule *s;
  FILE *out;
  uint32_t frame; /* the drawn frame, as trace events number it */
  uint64_t t0, t1;
  double plot_w, axis_y;
} chart;

static double chart_x(const chart *c, uint64_t t) {
  double span_us = (double)(c->t1 - c->t0) / 1e3;
  return LEFT + (double)(t - c->t0) / 1e3 / (span_us > 0 ? span_us : 1) * c->plot_w;
}

static void draw_event(const chart *c, uint32_t worker, const trace_event *e) {
  const myr_schedule *s = c->s;
  FILE *out = c->out;
  myr_trace_kind kind = trace_kind(e);
  double x = chart_x(c, e->start_ns), w = chart_x(c, e->end_ns) - x;
  if (w < 0.6) w = 0.6;
  if (kind == MYR_TRACE_MERGE) {
    double y = TOP + s->workers * (ROW + GAP);
    fprintf(out, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%.0f\" stroke=\"#333\" stroke-dasharray=\"3,3\"/>\n", x,
            TOP, x, y);
    fprintf(out,
            "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"#333\"><title>stage %u merge, "
            "%.1f us</title></rect>\n",
            x, y, w, ROW, e->stage, (double)(e->end_ns - e->start_ns) / 1e3);
    return;
  }
  double y = TOP + worker * (ROW + GAP);
  if (kind == MYR_TRACE_MERGE_PART) { /* merge work, on the worker that did it */
    fprintf(out,
            "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"#333\" stroke=\"white\" "
            "stroke-width=\"0.3\"><title>stage %u merge, part %u, %.1f us</title></rect>\n",
            x, y, w, ROW, e->stage, e->chunk, (double)(e->end_ns - e->start_ns) / 1e3);
    return;
  }
  fprintf(out,
          "<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%d\" fill=\"%s\" stroke=\"white\" "
          "stroke-width=\"0.3\"><title>",
          x, y, w, ROW, palette[e->system % PALETTE]);
  svg_text(out, s->systems[e->system].name);
  if (kind == MYR_TRACE_HOOK) fprintf(out, " hook");
  else fprintf(out, " chunk %u, %u rows, table %u", e->chunk, e->rows, e->table);
  fprintf(out, ", %.1f us</title></rect>\n", (double)(e->end_ns - e->start_ns) / 1e3);
}

static void draw_axis_and_legend(const chart *c) {
  FILE *out = c->out;
  double span_us = (double)(c->t1 - c->t0) / 1e3;
  if (span_us <= 0) span_us = 1;
  double step = tick_step(span_us, 8), axis_y = c->axis_y;
  fprintf(out, "<line x1=\"%d\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#000\"/>\n", LEFT, axis_y,
          LEFT + c->plot_w, axis_y);
  for (double t = 0; t <= span_us * 1.0001; t += step) {
    double x = LEFT + t / span_us * c->plot_w;
    fprintf(out, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#000\"/>\n", x, axis_y, x, axis_y + 5);
    fprintf(out, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n", x, axis_y + 18, t);
  }
  fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\" fill=\"#555\">us</text>\n", LEFT + c->plot_w,
          axis_y + 32);
  /* the legend: systems, then the merge */
  uint32_t systems = c->s->count;
  for (uint32_t i = 0; i <= systems; i++) {
    double x = LEFT + (i % 5) * 200, y = axis_y + 44 + (i / 5) * LEGEND_ROW;
    fprintf(out, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\">", x,
            y - 10, i == systems ? "#333" : palette[i % PALETTE], x + 17, y);
    svg_text(out, i == systems ? "merge" : c->s->systems[i].name);
    fprintf(out, "</text>\n");
  }
}

static void draw(chart *c, const char *title) {
  const myr_schedule *s = c->s;
  FILE *out = c->out;
  uint32_t rows = s->workers + 1;
  uint32_t legend_lines = (s->count + 1 + 4) / 5;
  double height = c->axis_y + 40 + legend_lines * LEGEND_ROW + 10;
  double span_us = (double)(c->t1 - c->t0) / 1e3;
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
          LEFT, span_us > 0 ? span_us : 1);
  for (uint32_t r = 0; r < rows; r++) {
    double y = TOP + r * (ROW + GAP);
    fprintf(out, "<rect x=\"%d\" y=\"%.0f\" width=\"%.0f\" height=\"%d\" fill=\"#f4f4f4\"/>\n", LEFT, y, c->plot_w,
            ROW);
    if (r < s->workers)
      fprintf(out, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">worker %u</text>\n", LEFT - 8, y + 17, r);
    else fprintf(out, "<text x=\"%d\" y=\"%.0f\" text-anchor=\"end\">merge</text>\n", LEFT - 8, y + 17);
  }
  for (uint32_t w = 0; w < s->workers; w++)
    for (uint32_t i = 0; i < s->trace[w].count; i++) {
      const trace_event *e = &s->trace[w].events[i];
      if (e->frame == c->frame && trace_kind(e) != MYR_TRACE_FRAME) draw_event(c, w, e);
    }
  draw_axis_and_legend(c);
  fprintf(out, "</svg>\n");
}

myr_status myr_schedule_write_gantt(const myr_schedule *s, FILE *out, const myr_gantt_desc *desc) {
  if (!s || !out || !s->trace) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  const trace_event *f = last_frame(s);
  if (!f) return MYR_ENOTFOUND;
  chart c = {.s = s, .out = out, .frame = f->frame, .t0 = UINT64_MAX, .t1 = 0, .plot_w = WIDTH - LEFT - RIGHT};
  /* the span of the frame's chunks, hooks and merges */
  for (uint32_t w = 0; w < s->workers; w++)
    for (uint32_t i = 0; i < s->trace[w].count; i++) {
      const trace_event *e = &s->trace[w].events[i];
      if (e->frame != c.frame || trace_kind(e) == MYR_TRACE_FRAME) continue;
      if (e->start_ns < c.t0) c.t0 = e->start_ns;
      if (e->end_ns > c.t1) c.t1 = e->end_ns;
    }
  if (c.t0 == UINT64_MAX) c.t0 = c.t1 = 0;
  c.axis_y = TOP + (s->workers + 1) * (ROW + GAP) + 4;
  char title[96];
  if (desc && desc->title) draw(&c, desc->title);
  else {
    snprintf(title, sizeof title, "frame %llu, %u workers", (unsigned long long)(s->trace_frame0 + f->frame),
             s->workers);
    draw(&c, title);
  }
  return fflush(out) != 0 || ferror(out) ? MYR_EIO : MYR_OK;
}
