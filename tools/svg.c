#include "svg.h"

#include <math.h>

void svg_text(FILE *out, const char *t) {
  for (; *t; t++) {
    if (*t == '&') fputs("&amp;", out);
    else if (*t == '<') fputs("&lt;", out);
    else if (*t == '>') fputs("&gt;", out);
    else if (*t == '"') fputs("&quot;", out);
    else if ((unsigned char)*t < 0x20) fputc('?', out);
    else fputc(*t, out);
  }
}

double svg_tick_step(double span, int ticks) {
  double raw = span / ticks, p = pow(10, floor(log10(raw > 0 ? raw : 1)));
  return raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
}
