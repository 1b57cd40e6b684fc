/* The world: creation and teardown, the parts' slots, the read hook. */
#include <assert.h>

#include "world_impl.h"

/* ---- slots of the parts built on the world ----------------------------- */

void **world_slot(myr_world *w, const void *key, world_teardown_fn teardown) {
  for (uint32_t i = 0; i < WORLD_SLOTS; i++) {
    world_slot_entry *e = &w->slots[i];
    if (e->key == key) return &e->state;
    if (!e->key) {
      *e = (world_slot_entry){key, NULL, teardown};
      return &e->state;
    }
  }
  assert(!"more parts than world slots");
  return NULL;
}

void *world_slot_state(const myr_world *w, const void *key) {
  for (uint32_t i = 0; i < WORLD_SLOTS && w->slots[i].key; i++)
    if (w->slots[i].key == key) return w->slots[i].state;
  return NULL;
}

/* ---- world --------------------------------------------------------------- */

myr_status myr_world_create(const myr_world_desc *desc, myr_world **out) {
  if (!out) return MYR_EINVAL;
  *out = NULL;
  myr_allocator a = {world_default_alloc, world_default_free, NULL};
  if (desc && (desc->allocator.alloc || desc->allocator.free)) {
    if (!desc->allocator.alloc || !desc->allocator.free) return MYR_EINVAL;
    a = desc->allocator;
  }
  myr_world *w = a.alloc(sizeof *w, alignof(myr_world), a.user);
  if (!w) return MYR_ENOMEM;
  memset(w, 0, sizeof *w);
  w->alloc = a;
  w->step_src = NO_TABLE; /* no last step */
  size_t comps_size = MYR_MAX_COMPONENTS * sizeof(component_info);
  w->v.components = world_alloc(w, comps_size, alignof(component_info));
  table *empty;
  compset none = {{0}};
  if (!w->v.components || table_get(w, &none, &empty) != MYR_OK) {
    myr_world_destroy(w);
    return MYR_ENOMEM;
  }
  *out = w;
  return MYR_OK;
}

void myr_world_destroy(myr_world *w) {
  if (!w) return;
  for (uint32_t i = WORLD_SLOTS; i-- > 0;)
    if (w->slots[i].key && w->slots[i].teardown) w->slots[i].teardown(w, w->slots[i].state);
  table_free_all(w);
  entity_free_all(w);
  resource_free_all(w);
  if (w->v.components) {
    for (uint32_t i = 0; i < w->v.component_count; i++) component_free(w, &w->v.components[i]);
    world_free(w, w->v.components, MYR_MAX_COMPONENTS * sizeof(component_info));
  }
  myr_allocator a = w->alloc;
  a.free(w, sizeof *w, a.user);
}

uint32_t myr_world_entity_count(const myr_world *w) { return w ? w->live_count : 0; }
uint64_t myr_world_seed(const myr_world *w) { return w ? w->seed : 0; }

myr_status myr_world_set_seed(myr_world *w, uint64_t seed) {
  if (!w) return MYR_EINVAL;
  if (w->running) return MYR_EBUSY;
  w->seed = seed;
  return MYR_OK;
}
uint64_t myr_world_frame(const myr_world *w) { return w ? w->frame : 0; }
double myr_world_time(const myr_world *w) { return w ? w->time : 0; }

myr_status myr_world_set_clock(myr_world *w, uint64_t frame, double time) {
  if (!w) return MYR_EINVAL;
  if (w->running) return MYR_EBUSY;
  w->frame = frame;
  w->time = time;
  return MYR_OK;
}
uint32_t myr_world_table_count(const myr_world *w) { return w ? w->v.table_count : 0; }

/* ---- the read hook --------------------------------------------------------- */

void world_set_read_hook(myr_world *w, world_read_fn fn, void *ctx) {
  w->read_hook = fn;
  w->read_hook_ctx = fn ? ctx : NULL;
}

void *world_read_hook_ctx(const myr_world *w) { return w->read_hook_ctx; }
