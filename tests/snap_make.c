/* Saves the small world that tests/snap_cli.sh looks at with myriad-snap,
 * and prints its world hash (world_hash=<16 hex digits>).
 *   snap_make FILE [value|resource|tag|floats]
 * The first three variants change one thing: entity 4's Position.x (6 to
 * 6.5), the Gravity resource (-9.75 to -9.5), or entity 1 gains the Frozen
 * tag; floats is a world of its own (make_floats).
 *
 * The world: components Position {f32 x, y}, Stats {i32 hp, u32 flags,
 * i64 big, u64 id, u8 level, f64 mass}, Link {entity target}, Blob {5
 * bytes}, the tag Frozen, and Pair {u32 first, u32 without a name};
 * resources Gravity {f32} and Ticks {u64}. Entities 0..7 are made in
 * order, 2 and 5 destroyed, and one more made in slot 5 (generation 2);
 * seed 42, clock frame 10 and time 0.5, two lines of meta. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "myriad/myriad.h"
#include "myriad/snapshot.h"

typedef struct vec2 {
  float x, y;
} vec2;
typedef struct stats {
  int32_t hp;
  uint32_t flags;
  int64_t big;
  uint64_t id;
  uint8_t level;
  double mass;
} stats;
typedef struct link {
  myr_entity target;
} link;
typedef struct blob {
  unsigned char bytes[5];
} blob;
typedef struct pair {
  uint32_t first, second;
} pair;

enum { POSITION, STATS, LINK, BLOB, FROZEN, PAIR, COMPONENTS };

#define CHECK(call)                                                                         \
  do {                                                                                      \
    myr_status st_ = (call);                                                                \
    if (st_ != MYR_OK) {                                                                    \
      fprintf(stderr, "snap_make: %s: %s (line %d)\n", #call, myr_strerror(st_), __LINE__); \
      return 1;                                                                             \
    }                                                                                       \
  } while (0)

static myr_status register_all(myr_world *w, myr_component *c) {
  const myr_field pos[] = {MYR_FIELD(vec2, x, MYR_F32), MYR_FIELD(vec2, y, MYR_F32)};
  const myr_field st[] = {MYR_FIELD(stats, hp, MYR_I32),   MYR_FIELD(stats, flags, MYR_U32),
                          MYR_FIELD(stats, big, MYR_I64),  MYR_FIELD(stats, id, MYR_U64),
                          MYR_FIELD(stats, level, MYR_U8), MYR_FIELD(stats, mass, MYR_F64)};
  const myr_field lk[] = {MYR_FIELD(link, target, MYR_ENTITY)};
  const myr_field bl[] = {{"bytes", MYR_BYTES, 5, offsetof(blob, bytes)}};
  const myr_field pr[] = {MYR_FIELD(pair, first, MYR_U32), {NULL, MYR_U32, 0, offsetof(pair, second)}};
  const myr_component_desc descs[COMPONENTS] = {
      {"Position", pos, 2, sizeof(vec2)}, {"Stats", st, 6, sizeof(stats)}, {"Link", lk, 1, sizeof(link)},
      {"Blob", bl, 1, sizeof(blob)},      {"Frozen", NULL, 0, 0},          {"Pair", pr, 2, sizeof(pair)}};
  for (int i = 0; i < COMPONENTS; i++) {
    myr_status s = myr_component_register(w, &descs[i], &c[i]);
    if (s != MYR_OK) return s;
  }
  return MYR_OK;
}

/* Entity i's components and values, as the header comment has them. */
static myr_status make_entity(myr_world *w, const myr_component *c, uint32_t i, myr_entity *out) {
  vec2 p = {(float)i * 1.5f, (float)i + 0.25f};
  stats s = {50 - (int32_t)i * 20, i,      -(int64_t)((uint64_t)i << 40), UINT64_C(0xffffffffffffff00) + i,
             (uint8_t)(i * 30),    i / 3.0};
  link l = {MYR_ENTITY_NULL}; /* set once the entity it names is made */
  blob b = {{0xde, 0xad, 0xbe, 0xef, (unsigned char)i}};
  pair pr = {i, i + 1};
  myr_component set[COMPONENTS];
  const void *values[COMPONENTS];
  uint32_t n = 0;
  set[n] = c[POSITION], values[n++] = &p;
  if (i % 2 == 0) set[n] = c[STATS], values[n++] = &s;
  if (i % 3 == 0) set[n] = c[LINK], values[n++] = &l;
  if (i == 1 || i == 4) set[n] = c[BLOB], values[n++] = &b;
  if (i % 4 == 3) set[n] = c[FROZEN], values[n++] = NULL;
  if (i == 7) set[n] = c[PAIR], values[n++] = &pr;
  return myr_entity_create_with(w, set, n, values, out);
}

/* The test world (the header comment), or one of its variants. */
static int make_world(myr_world *w, const char *variant) {
  myr_component c[COMPONENTS];
  CHECK(register_all(w, c));
  myr_entity e[9];
  for (uint32_t i = 0; i < 8; i++) CHECK(make_entity(w, c, i, &e[i]));
  for (uint32_t i = 0; i < 8; i += 3) CHECK(myr_component_set(w, e[i], c[LINK], &(link){e[i + 1]}));
  CHECK(myr_entity_destroy(w, e[2]));
  CHECK(myr_entity_destroy(w, e[5]));
  /* slot 5 again, generation 2, linked back to entity 0 */
  vec2 p8 = {100, 200};
  link l8 = {e[0]};
  CHECK(myr_entity_create_with(w, (myr_component[]){c[POSITION], c[LINK]}, 2, (const void *[]){&p8, &l8}, &e[8]));

  float gravity = strcmp(variant, "resource") == 0 ? -9.5f : -9.75f;
  uint64_t ticks = 1234567;
  myr_resource r;
  CHECK(myr_resource_register(w, &(myr_resource_desc){.name = "Gravity", .size = sizeof gravity, .initial = &gravity},
                              &r));
  CHECK(myr_resource_register(w, &(myr_resource_desc){.name = "Ticks", .size = sizeof ticks, .initial = &ticks}, &r));
  if (strcmp(variant, "value") == 0) {
    float x = 6.5f;
    CHECK(myr_field_set(w, e[4], c[POSITION], 0, MYR_F32, &x));
  } else if (strcmp(variant, "tag") == 0) {
    CHECK(myr_component_add(w, e[1], c[FROZEN], NULL));
  }
  return 0;
}

/* The variant "floats", a world of its own: one component Floats {f32 f,
 * f64 d} on four entities, with a NaN, infinities, -0, the smallest
 * denormals and 0.1. */
typedef struct floats {
  float f;
  double d;
} floats;

static int make_floats(myr_world *w) {
  const myr_field fields[] = {MYR_FIELD(floats, f, MYR_F32), MYR_FIELD(floats, d, MYR_F64)};
  myr_component c;
  CHECK(myr_component_register(w, &(myr_component_desc){"Floats", fields, 2, sizeof(floats)}, &c));
  const floats values[] = {{NAN, -INFINITY}, {INFINITY, -0.0}, {1e-45f, 5e-324}, {0.1f, 0.1}};
  for (int i = 0; i < 4; i++) {
    myr_entity e;
    CHECK(myr_entity_create_with(w, &c, 1, (const void *[]){&values[i]}, &e));
  }
  return 0;
}

int main(int argc, char **argv) {
  const char *variant = argc > 2 ? argv[2] : "";
  const char *variants[] = {"", "value", "resource", "tag", "floats"};
  bool known = false;
  for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) known |= strcmp(variant, variants[i]) == 0;
  if (argc < 2 || argc > 3 || !known) {
    fprintf(stderr, "usage: snap_make FILE [value|resource|tag|floats]\n");
    return 2;
  }
  myr_world *w;
  CHECK(myr_world_create(NULL, &w));
  if ((strcmp(variant, "floats") == 0 ? make_floats(w) : make_world(w, variant)) != 0) return 1;
  CHECK(myr_world_set_seed(w, 42));
  CHECK(myr_world_set_clock(w, 10, 0.5));

  myr_snapshot_report report = {0};
  myr_status st = myr_snapshot_save_file(
      w, argv[1], &(myr_snapshot_save_desc){.meta = "snap_make: the test world\nsecond line", .report = &report});
  if (st != MYR_OK) {
    fprintf(stderr, "snap_make: %s: %s\n", argv[1], report.message[0] ? report.message : myr_strerror(st));
    return 1;
  }
  uint64_t h;
  CHECK(myr_world_hash(w, &h));
  printf("world_hash=%016llx\n", (unsigned long long)h);
  myr_world_destroy(w);
  return 0;
}
