/* hello: the smallest tour of myriad. Creates a world, registers Position
 * and Velocity, spawns a few entities in bulk, moves them through a query
 * and prints where they ended up. */
#include <stdio.h>

#include "myriad/myriad.h"

typedef struct {
  float x, y;
} position;
typedef struct {
  float x, y;
} velocity;

#define CHECK(call)                                                \
  do {                                                             \
    myr_status s_ = (call);                                        \
    if (s_ != MYR_OK) {                                            \
      fprintf(stderr, "%s failed: %s\n", #call, myr_strerror(s_)); \
      return 1;                                                    \
    }                                                              \
  } while (0)

int main(void) {
  myr_world *world;
  CHECK(myr_world_create(NULL, &world));

  const myr_field pos_fields[] = {MYR_FIELD(position, x, MYR_F32), MYR_FIELD(position, y, MYR_F32)};
  const myr_field vel_fields[] = {MYR_FIELD(velocity, x, MYR_F32), MYR_FIELD(velocity, y, MYR_F32)};
  myr_component pos, vel;
  CHECK(myr_component_register(
      world,
      &(myr_component_desc){.name = "Position", .fields = pos_fields, .field_count = 2, .row_size = sizeof(position)},
      &pos));
  CHECK(myr_component_register(
      world,
      &(myr_component_desc){.name = "Velocity", .fields = vel_fields, .field_count = 2, .row_size = sizeof(velocity)},
      &vel));

  /* four entities, all starting at the origin, moving right */
  myr_entity ids[4];
  const myr_component set[] = {pos, vel};
  const void *initial[] = {&(position){0, 0}, &(velocity){1, 0.5f}};
  CHECK(myr_entity_create_bulk(
      world, &(myr_bulk_desc){.components = set, .component_count = 2, .values = initial, .count = 4, .ids_out = ids}));
  /* give one a different speed */
  CHECK(myr_component_set(world, ids[3], vel, &(velocity){-2, 0}));

  myr_query *query;
  const myr_term terms[] = {{pos, MYR_TERM_WRITE}, {vel, MYR_TERM_READ}};
  CHECK(myr_query_create(world, &(myr_query_desc){.terms = terms, .term_count = 2}, &query));

  const float dt = 0.5f;
  for (int frame = 0; frame < 10; frame++) {
    myr_query_iter it;
    myr_chunk chunk;
    CHECK(myr_query_iter_init(query, 4096, &it));
    while (myr_query_next(&it, &chunk)) {
      float *px = myr_chunk_column(&chunk, 0, 0), *py = myr_chunk_column(&chunk, 0, 1);
      const float *vx = myr_chunk_column(&chunk, 1, 0), *vy = myr_chunk_column(&chunk, 1, 1);
      for (uint32_t i = 0; i < chunk.count; i++) {
        px[i] += vx[i] * dt;
        py[i] += vy[i] * dt;
      }
    }
  }

  for (int i = 0; i < 4; i++) {
    position p;
    CHECK(myr_component_get(world, ids[i], pos, &p));
    printf("entity %u (generation %u): x = %5.2f, y = %5.2f\n", MYR_ENTITY_INDEX(ids[i]), MYR_ENTITY_GENERATION(ids[i]),
           p.x, p.y);
  }
  uint64_t hash;
  CHECK(myr_world_hash(world, &hash));
  printf("world hash %016llx, myriad %s\n", (unsigned long long)hash, myr_version_string());
  myr_query_destroy(query);
  myr_world_destroy(world);
  return 0;
}
