/* verify, hash and diff: each loads whole worlds into fresh ones. */
#include <inttypes.h>

#include "snap.h"

int snap_verify(const char *path) {
  myr_snapshot_report r = {0};
  myr_world *w;
  myr_status st = snap_load(path, &w, &r);
  if (st != MYR_OK) {
    snap_load_error(path, st, &r);
    return snap_unreadable(st) ? SNAP_EXIT_USAGE : SNAP_EXIT_BAD;
  }
  printf("%s: ok: %" PRIu64 " entities, %" PRIu32 " tables, %" PRIu64 " bytes\n", path, r.entities, r.tables, r.bytes);
  myr_world_destroy(w);
  return SNAP_EXIT_OK;
}

/* The world of a snapshot a command cannot go without: NULL (and the
 * reason on stderr) when it does not load. */
static myr_world *load_or_complain(const char *path) {
  myr_snapshot_report r = {0};
  myr_world *w;
  myr_status st = snap_load(path, &w, &r);
  if (st != MYR_OK) snap_load_error(path, st, &r);
  return w;
}

int snap_hash(const char *path) {
  myr_world *w = load_or_complain(path);
  if (!w) return SNAP_EXIT_USAGE;
  uint64_t h;
  myr_status st = myr_world_hash(w, &h);
  myr_world_destroy(w);
  if (st != MYR_OK) {
    snap_error("%s: the world hash: %s", path, myr_strerror(st));
    return SNAP_EXIT_USAGE;
  }
  printf("world_hash=%016" PRIx64 "\n", h);
  return SNAP_EXIT_OK;
}

/* Whether the world's entity has the component named `name`. */
static bool has_component(const myr_world *w, myr_entity e, const char *name) {
  myr_component c;
  return e != MYR_ENTITY_NULL && myr_component_lookup(w, name, &c) == MYR_OK && myr_component_has(w, e, c);
}

/* One of the differing values: the diff holds the first 64 bytes. */
static void print_value(const char *label, const myr_world_diff *d, const unsigned char *value) {
  uint32_t shown = d->size < sizeof d->value_a ? d->size : (uint32_t)sizeof d->value_a;
  printf("%s: ", label);
  snap_write_value(stdout, d->type, shown, value, SNAP_TEXT);
  if (shown < d->size) printf(" (the first %" PRIu32 " of %" PRIu32 " bytes)", shown, d->size);
  printf("\n");
}

/* The first differing entity: its ids, then (when the ids agree) the
 * component one has and the other lacks, or the field whose values differ. */
static void print_first(const myr_world *a, const myr_world_diff *d) {
  printf("first differing entity: slot %" PRIu32 ", ", d->slot);
  if (d->a != MYR_ENTITY_NULL) snap_write_entity(stdout, d->a);
  else printf("none");
  printf(" in a, ");
  if (d->b != MYR_ENTITY_NULL) snap_write_entity(stdout, d->b);
  else printf("none");
  printf(" in b\n");
  if (!d->component[0]) return;
  if (!d->field[0]) {
    printf("component: %s (in %s only)\n", d->component, has_component(a, d->a, d->component) ? "a" : "b");
    return;
  }
  printf("component: %s\n", d->component);
  printf("field: %s (%s)\n", d->field, snap_type_name(d->type));
  if (d->has_value_a) print_value("value a", d, d->value_a);
  else printf("value a: none (a's %s has no such field)\n", d->component);
  if (d->has_value_b) print_value("value b", d, d->value_b);
  else printf("value b: none (b's %s has no such field)\n", d->component);
}

int snap_diff(const char *path_a, const char *path_b) {
  myr_world *a = load_or_complain(path_a);
  myr_world *b = a ? load_or_complain(path_b) : NULL;
  if (!b) {
    myr_world_destroy(a);
    return SNAP_EXIT_USAGE;
  }
  myr_world_diff d;
  myr_status st = myr_world_diff_compute(a, b, &d);
  if (st != MYR_OK) {
    snap_error("%s, %s: the comparison: %s", path_a, path_b, myr_strerror(st));
  } else {
    if (d.differing) print_first(a, &d);
    printf("differing entities: %" PRIu64 "\n", d.differing);
    if (d.resources_differ) printf("resources: differ (first: %s)\n", d.resource);
    else printf("resources: equal\n");
    printf("free list: %s\n", d.free_list_differs ? "differs (the next spawns get other ids)" : "equal");
    printf("seed: %s\n", d.seed_differs ? "differs" : "equal");
    printf("clock: %s\n", d.clock_differs ? "differs" : "equal");
  }
  myr_world_destroy(a);
  myr_world_destroy(b);
  if (st != MYR_OK) return SNAP_EXIT_USAGE;
  bool differ = d.differing || d.resources_differ || d.free_list_differs || d.seed_differs || d.clock_differs;
  return differ ? SNAP_EXIT_DIFFER : SNAP_EXIT_OK;
}
