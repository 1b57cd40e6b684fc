/* Throughput against chunk size as SVG small multiples, written by hand:
 * a panel per system, rows per chunk on a log2 axis shared by all panels,
 * M entities/s from zero, a line per thread count. */
#include "plot.h"

#include <math.h>
#include <string.h>

#include "svg.h"

enum {
  COLS = 2,
  PANEL_W = 520,
  PANEL_H = 250,
  PAD_L = 64,
  PAD_R = 16,
  PAD_T = 30,
  PAD_B = 46,
  TOP = 70,
  MAX_NAMES = 64
};

static const char *const colours[] = {"#4e79a7", "#e15759", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#9c755f"};
#define COLOURS (sizeof colours / sizeof *colours)

static void chunk_label(char *buf, size_t size, uint32_t c) {
  if (c >= 1024 && c % 1024 == 0) snprintf(buf, size, "%uk", c / 1024);
  else snprintf(buf, size, "%u", c);
}

int plot_write(FILE *out, const plot_point *p, size_t n, const char *title) {
  const char *names[MAX_NAMES];
  uint32_t threads[MAX_NAMES], name_count = 0, thread_count = 0, cmin = UINT32_MAX, cmax = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t k = 0;
    while (k < name_count && strcmp(names[k], p[i].system) != 0) k++;
    if (k == name_count && name_count < MAX_NAMES) names[name_count++] = p[i].system;
    for (k = 0; k < thread_count && threads[k] != p[i].threads; k++) {}
    if (k == thread_count && thread_count < MAX_NAMES) threads[thread_count++] = p[i].threads;
    if (p[i].chunk < cmin) cmin = p[i].chunk;
    if (p[i].chunk > cmax) cmax = p[i].chunk;
  }
  double lmin = log2(cmin ? cmin : 1), lmax = log2(cmax ? cmax : 1);
  if (lmax - lmin < 1) lmin -= 0.5, lmax += 0.5; /* one chunk size: a centred point */
  uint32_t rows = (name_count + COLS - 1) / COLS;
  int width = COLS * PANEL_W + 20, height = TOP + (int)rows * PANEL_H + 10;
  double pw = PANEL_W - PAD_L - PAD_R, ph = PANEL_H - PAD_T - PAD_B;

  fprintf(out,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
          width, height, width, height);
  fprintf(out, "<text x=\"20\" y=\"26\" font-size=\"15\" font-weight=\"bold\">");
  svg_text(out, title);
  fprintf(out, "</text>\n<text x=\"20\" y=\"46\" fill=\"#555\">throughput (M entities/s, median over the frames) "
               "against rows per chunk; the best of each line ringed</text>\n");
  for (uint32_t t = 0; t < thread_count; t++) {
    double x = 20 + t * 110;
    fprintf(out,
            "<line x1=\"%.0f\" y1=\"60\" x2=\"%.0f\" y2=\"60\" stroke=\"%s\" stroke-width=\"3\"/>"
            "<text x=\"%.0f\" y=\"64\">%u thread%s</text>\n",
            x, x + 22, colours[t % COLOURS], x + 28, threads[t], threads[t] == 1 ? "" : "s");
  }
  for (uint32_t s = 0; s < name_count; s++) {
    double ox = 10 + (s % COLS) * PANEL_W + PAD_L, oy = TOP + (s / COLS) * PANEL_H + PAD_T;
    double top = 0;
    for (size_t i = 0; i < n; i++)
      if (strcmp(p[i].system, names[s]) == 0 && p[i].rate / 1e6 > top) top = p[i].rate / 1e6;
    double step = svg_tick_step(top > 0 ? top : 1, 5);
    top = ceil((top > 0 ? top * 1.05 : 1) / step) * step;
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" font-weight=\"bold\">", ox, oy - 10);
    svg_text(out, names[s]);
    fprintf(out,
            "</text>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f7f7f7\" "
            "stroke=\"#ccc\"/>\n",
            ox, oy, pw, ph);
    for (double v = 0; v <= top * 1.0001; v += step) {
      double y = oy + ph - v / top * ph;
      fprintf(out,
              "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
              "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
              ox, y, ox + pw, y, ox - 6, y + 4, v);
    }
    for (double l = ceil(lmin); l <= lmax + 1e-9; l++) {
      double x = ox + (l - lmin) / (lmax - lmin) * pw;
      char lab[16];
      chunk_label(lab, sizeof lab, (uint32_t)exp2(l));
      fprintf(out,
              "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#000\"/>"
              "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" font-size=\"10\">%s</text>\n",
              x, oy + ph, x, oy + ph + 4, x, oy + ph + 16, lab);
    }
    fprintf(out, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\">rows per chunk</text>\n",
            ox + pw / 2, oy + ph + 34);
    for (uint32_t t = 0; t < thread_count; t++) {
      /* the line's points in chunk order (a sweep gives each chunk once) */
      const plot_point *line[MAX_NAMES];
      uint32_t m = 0;
      for (size_t i = 0; i < n && m < MAX_NAMES; i++)
        if (p[i].threads == threads[t] && strcmp(p[i].system, names[s]) == 0) line[m++] = &p[i];
      for (uint32_t a = 1; a < m; a++)
        for (uint32_t b = a; b > 0 && line[b - 1]->chunk > line[b]->chunk; b--) {
          const plot_point *tmp = line[b];
          line[b] = line[b - 1];
          line[b - 1] = tmp;
        }
      if (!m) continue;
      const plot_point *best = line[0];
      fprintf(out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", colours[t % COLOURS]);
      for (uint32_t k = 0; k < m; k++) {
        double x = ox + (log2(line[k]->chunk) - lmin) / (lmax - lmin) * pw,
               y = oy + ph - line[k]->rate / 1e6 / top * ph;
        fprintf(out, "%s%.1f,%.1f", k ? " " : "", x, y);
        if (line[k]->rate > best->rate) best = line[k];
      }
      fprintf(out, "\"/>\n");
      for (uint32_t k = 0; k < m; k++) {
        double x = ox + (log2(line[k]->chunk) - lmin) / (lmax - lmin) * pw,
               y = oy + ph - line[k]->rate / 1e6 / top * ph;
        fprintf(out,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\" stroke=\"%s\" stroke-width=\"2\">"
                "<title>%u threads, chunk %u: %.1f M entities/s</title></circle>\n",
                x, y, line[k] == best ? "6" : "3", line[k] == best ? "white" : colours[t % COLOURS],
                colours[t % COLOURS], threads[t], line[k]->chunk, line[k]->rate / 1e6);
      }
    }
  }
  fprintf(out, "</svg>\n");
  return ferror(out) ? -1 : 0;
}
