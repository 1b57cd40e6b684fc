/* A loaded world's schema: its components, their names and fields. */
#include <stdio.h>
#include <string.h>

#include "snap.h"

uint32_t snap_component_count(const myr_world *world) {
  uint32_t n = 0;
  while (n < MYR_MAX_COMPONENTS && myr_component_info(world, n, NULL, 0, NULL) == MYR_OK) n++;
  return n;
}

/* world.h names no component by id (myr_component_lookup goes from the name
 * to the id), but myr_world_diff_compute names the first component that one
 * world's entity has and the other's lacks. So: a second copy of the world,
 * a new entity in each (the same id: the entity index is the snapshot's),
 * and each component in turn added to the copy's and removed again. Each
 * comparison walks the whole world; a call that names a component by id
 * would replace this. */
static myr_status schema_names(const char *path, myr_world *world, snap_component *out, uint32_t n) {
  myr_world *copy;
  myr_status st = snap_load(path, &copy, NULL);
  if (st != MYR_OK) return st;
  myr_entity e, e_copy;
  if ((st = myr_entity_create(world, &e)) == MYR_OK && (st = myr_entity_create(copy, &e_copy)) == MYR_OK) {
    for (uint32_t c = 0; c < n && e == e_copy; c++) {
      myr_world_diff d;
      if (myr_component_add(copy, e_copy, c, NULL) != MYR_OK) continue;
      if (myr_world_diff_compute(world, copy, &d) == MYR_OK && d.differing == 1 && d.slot == MYR_ENTITY_INDEX(e)) {
        memcpy(out[c].name, d.component, sizeof out[c].name);
        out[c].name[sizeof out[c].name - 1] = '\0';
      }
      myr_component_remove(copy, e_copy, c);
    }
  }
  myr_world_destroy(copy);
  return st;
}

myr_status snap_schema(const char *path, myr_world *world, snap_component *out, uint32_t *count) {
  uint32_t n = snap_component_count(world);
  for (uint32_t c = 0; c < n; c++) {
    snap_component *sc = &out[c];
    sc->name[0] = '\0';
    myr_status st = myr_component_info(world, c, &sc->field_count, 0, NULL);
    for (uint32_t f = 0; st == MYR_OK && f < sc->field_count; f++)
      st = myr_component_info(world, c, NULL, f, &sc->fields[f]);
    if (st != MYR_OK) return st;
  }
  *count = n;
  return n ? schema_names(path, world, out, n) : MYR_OK;
}
