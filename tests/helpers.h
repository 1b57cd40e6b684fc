/* Shared fixtures for the world tests: a few components of every field kind. */
#ifndef MYRIAD_TEST_HELPERS_H
#define MYRIAD_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "myriad/myriad.h"

#include "check_alloc.h"

typedef struct {
  float x, y, z;
} t_position;
typedef struct {
  float x, y, z;
} t_velocity;
typedef struct {
  int32_t hp;
  uint8_t armor;
  double regen;
} t_health;
typedef struct {
  char text[5];
  uint64_t serial;
} t_label;

typedef struct fixture {
  myr_world *w;
  myr_component pos, vel, health, label, tag;
} fixture;

static inline void fixture_register(fixture *f) {
  static const myr_field pos_f[] = {MYR_FIELD(t_position, x, MYR_F32), MYR_FIELD(t_position, y, MYR_F32),
                                    MYR_FIELD(t_position, z, MYR_F32)};
  static const myr_field vel_f[] = {MYR_FIELD(t_velocity, x, MYR_F32), MYR_FIELD(t_velocity, y, MYR_F32),
                                    MYR_FIELD(t_velocity, z, MYR_F32)};
  static const myr_field health_f[] = {MYR_FIELD(t_health, hp, MYR_I32), MYR_FIELD(t_health, armor, MYR_U8),
                                       MYR_FIELD(t_health, regen, MYR_F64)};
  static const myr_field label_f[] = {{"text", MYR_BYTES, 5, offsetof(t_label, text)},
                                      MYR_FIELD(t_label, serial, MYR_U64)};
  assert_int_equal(
      myr_component_register(f->w, &(myr_component_desc){"Position", pos_f, 3, sizeof(t_position)}, &f->pos), MYR_OK);
  assert_int_equal(
      myr_component_register(f->w, &(myr_component_desc){"Velocity", vel_f, 3, sizeof(t_velocity)}, &f->vel), MYR_OK);
  assert_int_equal(
      myr_component_register(f->w, &(myr_component_desc){"Health", health_f, 3, sizeof(t_health)}, &f->health), MYR_OK);
  assert_int_equal(myr_component_register(f->w, &(myr_component_desc){"Label", label_f, 2, sizeof(t_label)}, &f->label),
                   MYR_OK);
  assert_int_equal(myr_component_register(f->w, &(myr_component_desc){"Tag", NULL, 0, 0}, &f->tag), MYR_OK);
}

/* The world gets a checking allocator (check_alloc.h): every free's size is
 * checked, and myr_world_destroy in the teardown aborts on a leak. */
static inline int fixture_setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || myr_world_create(checked_world(), &f->w) != MYR_OK) return -1;
  fixture_register(f);
  *state = f;
  return 0;
}

static inline int fixture_teardown(void **state) {
  fixture *f = *state;
  myr_world_destroy(f->w);
  free(f);
  return 0;
}

static inline uint64_t world_hash(const myr_world *w) {
  uint64_t h = 0;
  assert_int_equal(myr_world_hash(w, &h), MYR_OK);
  return h;
}

/* Seed from MYR_TEST_SEED or the default, printed so a failure can be replayed. */
static inline uint64_t test_seed(uint64_t fallback) {
  const char *s = getenv("MYR_TEST_SEED");
  uint64_t seed = s ? strtoull(s, NULL, 0) : fallback;
  fprintf(stderr, "seed %llu (set MYR_TEST_SEED to replay)\n", (unsigned long long)seed);
  return seed;
}

static inline uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

#endif
