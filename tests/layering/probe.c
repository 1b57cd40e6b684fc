/* A layering probe: includes the header named by PROBE_HEADER with the
 * include directories of one part of the library (tests/layering). */
#include PROBE_HEADER

int layering_probe(void);
int layering_probe(void) { return 0; }
