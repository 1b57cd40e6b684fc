/* Links against an installed myriad and touches both halves of the API. */
#include <stdio.h>
#include <string.h>

#include <myriad/myriad.h>
#include <myriad/simd.h> /* installed too: it needs SIMDe's headers only */

static void nothing(void *arg) { (void)arg; }

int main(void) {
  myr_world *w;
  myr_entity e;
  myr_jobs *pool;
  myr_counter c = {0};
  if (myr_world_create(NULL, &w) != MYR_OK || myr_entity_create(w, &e) != MYR_OK) return 1;
  if (myr_jobs_create(&(myr_jobs_desc){.workers = 2}, &pool) != MYR_OK) return 1;
  if (myr_jobs_spawn(pool, nothing, NULL, &c) != MYR_OK || myr_jobs_wait(pool, &c) != MYR_OK) return 1;
  float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  myr_f32v_storeu(v, myr_f32v_mul(myr_f32v_loadu(v), myr_f32v_set1(2.0f)));
  if (v[7] != 16.0f) return 1;
  /* the header's version is the library's */
  char version[32];
  snprintf(version, sizeof version, "%d.%d.%d", MYR_VERSION_MAJOR, MYR_VERSION_MINOR, MYR_VERSION_PATCH);
  if (strcmp(version, myr_version_string()) != 0) {
    fprintf(stderr, "header says %s, library %s\n", version, myr_version_string());
    return 1;
  }
  printf("myriad %s: %u entity\n", myr_version_string(), myr_world_entity_count(w));
  myr_jobs_destroy(pool);
  myr_world_destroy(w);
  return 0;
}
