/* A loaded world's schema: its components, their names and fields. */
#include <stdio.h>
#include <string.h>

#include "snap.h"

uint32_t snap_component_count(const myr_world *world) { return myr_component_count(world); }

myr_status snap_schema(const char *path, myr_world *world, snap_component *out, uint32_t *count) {
  (void)path;
  uint32_t n = myr_component_count(world);
  for (uint32_t c = 0; c < n; c++) {
    snap_component *sc = &out[c];
    snprintf(sc->name, sizeof sc->name, "%s", myr_component_name(world, c));
    myr_status st = myr_component_info(world, c, &sc->field_count, 0, NULL);
    for (uint32_t f = 0; st == MYR_OK && f < sc->field_count; f++)
      st = myr_component_info(world, c, NULL, f, &sc->fields[f]);
    if (st != MYR_OK) return st;
  }
  *count = n;
  return MYR_OK;
}
