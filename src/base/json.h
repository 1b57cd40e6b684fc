/* Private: JSON output helpers shared by the library's writers (statistics,
 * traces, tuning files) and the in-tree tools. */
#ifndef MYRIAD_BASE_JSON_H
#define MYRIAD_BASE_JSON_H

#include <stdio.h>

/* Writes str as a JSON string: quotes, backslashes and control characters
 * escaped, so that any name gives valid JSON (bytes >= 0x80 pass as they
 * are, so UTF-8 stays UTF-8). */
void json_string(FILE *out, const char *str);

#endif
