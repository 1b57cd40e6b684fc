/* Resources: named blobs of the world's, registered with a size and an
 * alignment, allocated with the world's allocator. */
#include "world_impl.h"

myr_status myr_resource_lookup(const myr_world *w, const char *name, myr_resource *out) {
  if (!w || !name || !out) return MYR_EINVAL;
  for (uint32_t i = 0; i < w->resource_count; i++) {
    if (strcmp(w->resources[i].name, name) == 0) {
      *out = i;
      return MYR_OK;
    }
  }
  return MYR_ENOTFOUND;
}

myr_status myr_resource_register(myr_world *w, const myr_resource_desc *d, myr_resource *out) {
  if (!w || !d || !out || !d->name || !d->name[0] || d->size == 0) return MYR_EINVAL;
  if (d->flags & ~(uint32_t)MYR_RESOURCE_UNHASHED) return MYR_EINVAL;
  size_t align = d->align ? d->align : 16;
  if ((align & (align - 1)) != 0 || align > 4096) return MYR_EINVAL;
  myr_resource existing;
  if (myr_resource_lookup(w, d->name, &existing) == MYR_OK) return MYR_EEXIST;
  if (w->resource_count == MYR_MAX_RESOURCES) return MYR_ELIMIT;
  if (!w->resources) {
    w->resources = world_alloc(w, MYR_MAX_RESOURCES * sizeof(resource_info), alignof(resource_info));
    if (!w->resources) return MYR_ENOMEM;
  }
  resource_info r = {.name_size = strlen(d->name) + 1, .size = d->size, .align = align, .flags = d->flags};
  r.name = world_alloc(w, r.name_size, 1);
  r.data = world_alloc(w, align_up(r.size, align), align);
  if (!r.name || !r.data) {
    if (r.name) world_free(w, r.name, r.name_size);
    if (r.data) world_free(w, r.data, align_up(r.size, align));
    return MYR_ENOMEM;
  }
  memcpy(r.name, d->name, r.name_size);
  if (d->initial) memcpy(r.data, d->initial, r.size);
  else memset(r.data, 0, r.size);
  *out = w->resource_count;
  w->resources[w->resource_count++] = r;
  return MYR_OK;
}

void *myr_resource_data(myr_world *w, myr_resource r) {
  return w && r < w->resource_count ? w->resources[r].data : NULL;
}

size_t myr_resource_size(const myr_world *w, myr_resource r) {
  return w && r < w->resource_count ? w->resources[r].size : 0;
}

myr_status myr_resource_resize(myr_world *w, myr_resource r, size_t size) {
  if (!w || r >= w->resource_count || size == 0) return MYR_EINVAL;
  if (w->running) return MYR_EBUSY;
  resource_info *ri = &w->resources[r];
  unsigned char *data = world_alloc(w, align_up(size, ri->align), ri->align);
  if (!data) return MYR_ENOMEM;
  size_t keep = size < ri->size ? size : ri->size;
  memcpy(data, ri->data, keep);
  memset(data + keep, 0, size - keep);
  world_free(w, ri->data, align_up(ri->size, ri->align));
  ri->data = data;
  ri->size = size;
  return MYR_OK;
}

void world_frame_enter(myr_world *w) { w->running++; }
void world_frame_leave(myr_world *w) { w->running--; }

void resource_free_all(myr_world *w) {
  if (!w->resources) return;
  for (uint32_t i = 0; i < w->resource_count; i++) {
    world_free(w, w->resources[i].name, w->resources[i].name_size);
    world_free(w, w->resources[i].data, align_up(w->resources[i].size, w->resources[i].align));
  }
  world_free(w, w->resources, MYR_MAX_RESOURCES * sizeof(resource_info));
  w->resources = NULL;
  w->resource_count = 0;
}

uint32_t world_resource_count(const myr_world *w) { return w->resource_count; }
const char *world_resource_name(const myr_world *w, myr_resource r) { return w->resources[r].name; }

uint32_t myr_resource_count(const myr_world *w) { return w ? w->resource_count : 0; }

const char *myr_resource_name(const myr_world *w, myr_resource r) {
  return w && r < w->resource_count ? w->resources[r].name : NULL;
}

uint32_t myr_resource_flags(const myr_world *w, myr_resource r) {
  return w && r < w->resource_count ? w->resources[r].flags : 0;
}
