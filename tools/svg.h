/* What the tuner's SVG writers share. */
#ifndef MYRIAD_TOOLS_SVG_H
#define MYRIAD_TOOLS_SVG_H

#include <stdio.h>

/* Writes text for an SVG element or attribute: &, <, > and " escaped, and
 * control characters (not allowed in XML 1.0) written as '?'. */
void svg_text(FILE *out, const char *t);

/* A tick step of 1, 2 or 5 times a power of ten giving about `ticks` ticks
 * over span. */
double svg_tick_step(double span, int ticks);

#endif
