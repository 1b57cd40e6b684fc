/* What a callback reaches through its view: random numbers keyed by its
 * row or by its system (random.h). */
#include "schedule_impl.h"

myr_status myr_view_random(const myr_view *v, uint32_t row, uint32_t stream, myr_random *out) {
  if (!v || !v->world || row >= v->chunk.count || !v->chunk.ids) return MYR_EINVAL;
  return myr_random_entity(myr_world_seed(v->world), v->frame, v->chunk.ids[row], stream, out);
}

myr_status myr_view_random_once(const myr_view *v, uint32_t stream, myr_random *out) {
  if (!v || !v->world) return MYR_EINVAL;
  return myr_random_system(myr_world_seed(v->world), v->frame, v->system, stream, out);
}
