/* What a callback reaches through its view: its resources by handle, and
 * random numbers keyed by its row or by its system (random.h). */
#include "schedule_impl.h"

myr_status schedule_fetch_resources(myr_schedule *s, sys *y) {
  for (uint32_t i = 0; i < y->res_count; i++) y->res_data[i] = myr_resource_data(s->world, y->res[i].resource);
  if (!y->red_in_resource) return MYR_OK;
  y->red.result = myr_resource_data(s->world, y->red.result_resource);
  if (myr_resource_size(s->world, y->red.result_resource) >= y->red.partial_size) return MYR_OK;
  return schedule_say(s, MYR_EINVAL,
                      "run: the result resource %s of \"%s\"'s reduction was resized below the "
                      "reduction's %zu bytes",
                      world_resource_name(s->world, y->red.result_resource), y->name, y->red.partial_size);
}

void *myr_view_resource(const myr_view *v, myr_resource r) {
  if (!v || !v->schedule || v->system >= v->schedule->count) return NULL;
  const sys *y = &v->schedule->systems[v->system];
  for (uint32_t i = 0; i < y->res_count; i++)
    if (y->res[i].resource == r) return y->res_data[i];
  return NULL;
}

myr_status myr_view_random(const myr_view *v, uint32_t row, uint32_t stream, myr_random *out) {
  if (!v || !v->world || row >= v->chunk.count || !v->chunk.ids) return MYR_EINVAL;
  return myr_random_entity(myr_world_seed(v->world), v->frame, v->chunk.ids[row], stream, out);
}

myr_status myr_view_random_once(const myr_view *v, uint32_t stream, myr_random *out) {
  if (!v || !v->world) return MYR_EINVAL;
  return myr_random_system(myr_world_seed(v->world), v->frame, v->system, stream, out);
}
