/* libFuzzer target: bytes loaded as a snapshot from memory, into a fresh
 * world or into one with part of a schema registered (the first byte
 * chooses). A load that fails must leave that world as it was; a load
 * that succeeds must give a world that hashes, saves, and loads again to
 * the same hash and no difference. Any crash, leak or sanitizer report
 * fails, and so does any broken promise (abort).
 *
 * Build and run: tests/fuzz/run_fuzz.sh SOURCE WORK SECONDS fuzz_snapshot;
 * the seed corpus (small valid snapshots) is tests/fuzz/corpus_snapshot. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myriad/myriad.h"

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                   \
    }                                                            \
  } while (0)

typedef struct {
  float x, y, z;
} vec3;

static void part_of_a_schema(myr_world *w, unsigned mode) {
  static const myr_field v3[] = {MYR_FIELD(vec3, x, MYR_F32), MYR_FIELD(vec3, y, MYR_F32), MYR_FIELD(vec3, z, MYR_F32)};
  static const myr_field v1[] = {{"x", MYR_F64, 0, 0}}; /* saved as f32: converted, or MYR_ETYPE */
  myr_component c;
  myr_resource r;
  if (mode & 1) CHECK(myr_component_register(w, &(myr_component_desc){"Position", v3, 3, sizeof(vec3)}, &c) == MYR_OK);
  if (mode & 2) CHECK(myr_component_register(w, &(myr_component_desc){"Velocity", v1, 1, 8}, &c) == MYR_OK);
  if (mode & 4) CHECK(myr_resource_register(w, &(myr_resource_desc){.name = "params", .size = 32}, &r) == MYR_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned mode = size ? data[0] & 7u : 0;
  myr_world *w;
  CHECK(myr_world_create(NULL, &w) == MYR_OK);
  part_of_a_schema(w, mode);
  uint64_t before;
  CHECK(myr_world_hash(w, &before) == MYR_OK);
  uint32_t tables = myr_world_table_count(w);
  myr_snapshot_report rep;
  uint32_t flags = mode & 4 ? MYR_SNAPSHOT_CONVERT : 0;
  myr_status st = myr_snapshot_load_memory(w, data, size, &(myr_snapshot_load_desc){.flags = flags, .report = &rep});
  if (st != MYR_OK) {
    uint64_t after;
    CHECK(myr_world_hash(w, &after) == MYR_OK && after == before);
    CHECK(myr_world_entity_count(w) == 0 && myr_world_table_count(w) == tables);
    CHECK(rep.message[0] != '\0');
    myr_world_destroy(w);
    return 0;
  }
  uint64_t h;
  CHECK(myr_world_hash(w, &h) == MYR_OK);
  /* what loaded saves and loads again to the same world */
  void *again;
  size_t again_size;
  CHECK(myr_snapshot_save_memory(w, NULL, &again, &again_size) == MYR_OK);
  myr_world *w2;
  CHECK(myr_world_create(NULL, &w2) == MYR_OK);
  CHECK(myr_snapshot_load_memory(w2, again, again_size, NULL) == MYR_OK);
  uint64_t h2;
  CHECK(myr_world_hash(w2, &h2) == MYR_OK);
  myr_world_diff d;
  CHECK(myr_world_diff_compute(w, w2, &d) == MYR_OK);
  CHECK(d.differing == 0 && !d.resources_differ);
  /* the component ids are the same as w's only when w registered none first */
  if (mode == 0) CHECK(h == h2);
  /* and the world goes on: new entities get ids */
  myr_entity e;
  CHECK(myr_entity_create(w, &e) == MYR_OK && myr_entity_alive(w, e));
  myr_snapshot_free(w, again, again_size);
  myr_world_destroy(w2);
  myr_world_destroy(w);
  return 0;
}
