/* sim: a particle fountain run by a schedule.
 *
 * Emitters spawn particles through patches; particles fall, bounce, age and
 * are destroyed through patches when they get old. The same simulation runs
 * once on one thread and once on every CPU, with different chunk sizes, and
 * ends with the same world hash: structural changes are applied in an order
 * that does not depend on threads or chunking.
 *
 * usage: sim [frames] */
#include <stdio.h>
#include <stdlib.h>

#include "myriad/myriad.h"

typedef struct {
  float x, y;
} vec2;
typedef struct {
  uint32_t ticks;
} age;
typedef struct {
  uint32_t every;
} emitter;

typedef struct sim {
  myr_world *world;
  myr_component pos, vel, age, emitter;
} sim;

#define CHECK(call)                                         \
  do {                                                      \
    myr_status s_ = (call);                                 \
    if (s_ != MYR_OK) {                                     \
      fprintf(stderr, "%s: %s\n", #call, myr_strerror(s_)); \
      exit(1);                                              \
    }                                                       \
  } while (0)

/* Position += Velocity * dt; gravity; bounce on the floor. */
static void fall(const myr_view *v, myr_patches *p) {
  (void)p;
  float *px = myr_chunk_column(&v->chunk, 0, 0), *py = myr_chunk_column(&v->chunk, 0, 1);
  float *vx = myr_chunk_column(&v->chunk, 1, 0), *vy = myr_chunk_column(&v->chunk, 1, 1);
  float dt = (float)v->dt;
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    vy[i] -= 9.81f * dt;
    px[i] += vx[i] * dt;
    py[i] += vy[i] * dt;
    if (py[i] < 0) {
      py[i] = -py[i];
      vy[i] = -vy[i] * 0.7f;
    }
  }
}

/* Particles age and die: their destruction is a patch. */
static void grow_old(const myr_view *v, myr_patches *p) {
  uint32_t *ticks = myr_chunk_column(&v->chunk, 0, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++)
    if (++ticks[i] > 240) myr_patch_destroy(p, v->chunk.ids[i]);
}

/* Emitters spawn a particle every few frames, also through patches. */
static void emit(const myr_view *v, myr_patches *p) {
  const sim *s = v->user;
  const float *px = myr_chunk_column(&v->chunk, 0, 0), *py = myr_chunk_column(&v->chunk, 0, 1);
  const uint32_t *every = myr_chunk_column(&v->chunk, 1, 0);
  uint32_t frame = (uint32_t)(v->time * 60.0 + 0.5);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (frame % every[i]) continue;
    /* the spread comes from the emitter's own id: the same on any thread */
    float spread = (float)(v->chunk.ids[i] % 97) / 97.0f - 0.5f;
    const myr_component set[] = {s->pos, s->vel, s->age};
    const void *values[] = {&(vec2){px[i], py[i]}, &(vec2){spread * 4, 12}, &(age){0}};
    myr_patch_spawn(p, set, 3, values, NULL);
  }
}

static void build(sim *s) {
  static const myr_field vec2_f[] = {MYR_FIELD(vec2, x, MYR_F32), MYR_FIELD(vec2, y, MYR_F32)};
  static const myr_field age_f[] = {MYR_FIELD(age, ticks, MYR_U32)};
  static const myr_field emitter_f[] = {MYR_FIELD(emitter, every, MYR_U32)};
  CHECK(myr_world_create(NULL, &s->world));
  CHECK(myr_component_register(s->world, &(myr_component_desc){"Position", vec2_f, 2, sizeof(vec2)}, &s->pos));
  CHECK(myr_component_register(s->world, &(myr_component_desc){"Velocity", vec2_f, 2, sizeof(vec2)}, &s->vel));
  CHECK(myr_component_register(s->world, &(myr_component_desc){"Age", age_f, 1, sizeof(age)}, &s->age));
  CHECK(myr_component_register(s->world, &(myr_component_desc){"Emitter", emitter_f, 1, sizeof(emitter)}, &s->emitter));
  for (uint32_t i = 0; i < 2000; i++) {
    const myr_component set[] = {s->pos, s->emitter};
    const void *values[] = {&(vec2){(float)i, 1}, &(emitter){1 + i % 3}};
    CHECK(myr_entity_create_bulk(
        s->world,
        &(myr_bulk_desc){.components = set, .component_count = 2, .values = values, .count = 1, .ids_out = NULL}));
  }
}

static uint64_t run(uint32_t workers, uint32_t chunk, int frames, bool report) {
  sim s;
  build(&s);
  myr_jobs *pool;
  CHECK(myr_jobs_create(&(myr_jobs_desc){.workers = workers}, &pool));
  myr_schedule *sc;
  CHECK(myr_schedule_create(s.world, &(myr_schedule_desc){.jobs = pool, .chunk_rows = chunk}, &sc));
  CHECK(myr_schedule_add(sc,
                         &(myr_system_desc){.name = "fall",
                                            .fn = fall,
                                            .term_count = 2,
                                            .terms = (myr_term[]){{s.pos, MYR_TERM_WRITE}, {s.vel, MYR_TERM_WRITE}}},
                         NULL));
  CHECK(myr_schedule_add(
      sc,
      &(myr_system_desc){
          .name = "grow_old", .fn = grow_old, .term_count = 1, .terms = (myr_term[]){{s.age, MYR_TERM_WRITE}}},
      NULL));
  CHECK(myr_schedule_add(sc,
                         &(myr_system_desc){.name = "emit",
                                            .fn = emit,
                                            .user = &s,
                                            .term_count = 2,
                                            .terms = (myr_term[]){{s.pos, MYR_TERM_READ}, {s.emitter, MYR_TERM_READ}}},
                         NULL));
  if (report) CHECK(myr_schedule_print_plan(sc, stdout));
  for (int f = 0; f < frames; f++) CHECK(myr_schedule_run(sc, 1.0 / 60));
  uint64_t hash;
  CHECK(myr_world_hash(s.world, &hash));
  printf("%u worker(s), chunk %5u: %d frames, %u entities, world hash %016llx\n", myr_jobs_worker_count(pool), chunk,
         frames, myr_world_entity_count(s.world), (unsigned long long)hash);
  if (report) CHECK(myr_schedule_print_stats(sc, stdout, false));
  myr_schedule_destroy(sc);
  myr_jobs_destroy(pool);
  myr_world_destroy(s.world);
  return hash;
}

int main(int argc, char **argv) {
  int frames = argc > 1 ? atoi(argv[1]) : 300;
  if (frames < 1 || frames > 1000000) {
    fprintf(stderr, "usage: sim [frames (1..1000000)]\n");
    return 2;
  }
  uint64_t serial = run(1, 4096, frames, false);
  uint64_t parallel = run(0, 256, frames, true);
  printf(serial == parallel ? "same world on 1 thread and on all CPUs\n" : "WORLDS DIFFER\n");
  return serial == parallel ? 0 : 1;
}
