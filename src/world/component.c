/* Components: registration, lookup, fields. */
#include <stdlib.h>

#include "world_impl.h"

/* ---- components ---------------------------------------------------------- */

void component_free(myr_world *w, component_info *ci) {
  world_free(w, ci->name, ci->name_size);
  world_free(w, ci->fields, (size_t)ci->field_count * sizeof(myr_field) + 1);
  world_free(w, ci->elem_size, (size_t)ci->field_count * sizeof(uint32_t) + 1);
  world_free(w, ci->names, ci->names_size);
}

uint32_t myr_type_size(myr_type type) {
  switch (type) {
  case MYR_F32:
  case MYR_I32:
  case MYR_U32: return 4;
  case MYR_F64:
  case MYR_I64:
  case MYR_U64:
  case MYR_ENTITY: return 8;
  case MYR_U8: return 1;
  default: return 0;
  }
}

static myr_status component_validate(const myr_component_desc *d) {
  if (!d->name || !d->name[0] || d->field_count > MYR_MAX_FIELDS) return MYR_EINVAL;
  if (d->field_count && !d->fields) return MYR_EINVAL;
  for (uint32_t f = 0; f < d->field_count; f++) {
    const myr_field *fd = &d->fields[f];
    uint32_t size = myr_type_size(fd->type);
    if (fd->type == MYR_BYTES) {
      if (fd->size == 0 || fd->size > 4096) return MYR_EINVAL;
      size = fd->size;
    } else if (size == 0 || (fd->size != 0 && fd->size != size)) {
      return MYR_EINVAL;
    }
    if (fd->offset > d->row_size || d->row_size - fd->offset < size) return MYR_EINVAL;
  }
  return MYR_OK;
}

myr_status myr_component_register(myr_world *w, const myr_component_desc *d, myr_component *out) {
  if (!w || !d || !out) return MYR_EINVAL;
  myr_status s = component_validate(d);
  if (s != MYR_OK) return s;
  myr_component existing;
  if (myr_component_lookup(w, d->name, &existing) == MYR_OK) return MYR_EEXIST;
  if (w->v.component_count == MYR_MAX_COMPONENTS) return MYR_ELIMIT;

  component_info ci = {0};
  ci.field_count = d->field_count;
  ci.row_size = d->row_size;
  ci.name_size = strlen(d->name) + 1;
  for (uint32_t f = 0; f < d->field_count; f++)
    ci.names_size += (d->fields[f].name ? strlen(d->fields[f].name) : 0) + 1;
  ci.names_size += 1;
  ci.name = world_alloc(w, ci.name_size, 1);
  ci.fields = world_alloc(w, (size_t)ci.field_count * sizeof(myr_field) + 1, alignof(myr_field));
  ci.elem_size = world_alloc(w, (size_t)ci.field_count * sizeof(uint32_t) + 1, alignof(uint32_t));
  ci.names = world_alloc(w, ci.names_size, 1);
  if (!ci.name || !ci.fields || !ci.elem_size || !ci.names) {
    component_free(w, &ci);
    return MYR_ENOMEM;
  }
  memcpy(ci.name, d->name, ci.name_size);
  char *at = ci.names;
  for (uint32_t f = 0; f < d->field_count; f++) {
    const myr_field *fd = &d->fields[f];
    size_t len = fd->name ? strlen(fd->name) : 0;
    if (len) memcpy(at, fd->name, len);
    at[len] = '\0';
    ci.fields[f] = *fd;
    ci.fields[f].name = at;
    ci.elem_size[f] = fd->type == MYR_BYTES ? fd->size : myr_type_size(fd->type);
    ci.fields[f].size = ci.elem_size[f];
    at += len + 1;
  }
  *at = '\0';
  ci.row_is_packed = true;
  for (uint32_t f = 0; f < ci.field_count; f++) {
    ci.row_is_packed &= ci.fields[f].offset == ci.packed_size;
    ci.has_entity_fields |= ci.fields[f].type == MYR_ENTITY;
    ci.packed_size += ci.elem_size[f];
  }
  *out = w->v.component_count;
  w->v.components[w->v.component_count++] = ci;
  return MYR_OK;
}

myr_status myr_component_lookup(const myr_world *w, const char *name, myr_component *out) {
  if (!w || !name || !out) return MYR_EINVAL;
  for (uint32_t i = 0; i < w->v.component_count; i++) {
    if (strcmp(w->v.components[i].name, name) == 0) {
      *out = i;
      return MYR_OK;
    }
  }
  return MYR_ENOCOMP;
}

myr_status myr_component_info(const myr_world *w, myr_component c, uint32_t *field_count, uint32_t field,
                              myr_field *field_out) {
  if (!w) return MYR_EINVAL;
  if (c >= w->v.component_count) return MYR_ENOCOMP;
  const component_info *ci = &w->v.components[c];
  if (field_out) {
    if (field >= ci->field_count) return MYR_EFIELD;
    *field_out = ci->fields[field];
  }
  if (field_count) *field_count = ci->field_count;
  return MYR_OK;
}

myr_status myr_component_field(const myr_world *w, myr_component c, const char *name, uint32_t *out) {
  if (!w || !name || !out) return MYR_EINVAL;
  if (c >= w->v.component_count) return MYR_ENOCOMP;
  const component_info *ci = &w->v.components[c];
  for (uint32_t f = 0; f < ci->field_count; f++) {
    if (strcmp(ci->fields[f].name, name) == 0) {
      *out = f;
      return MYR_OK;
    }
  }
  return MYR_EFIELD;
}

uint32_t myr_component_count(const myr_world *w) { return w ? w->v.component_count : 0; }

const char *myr_component_name(const myr_world *w, myr_component c) {
  return w && c < w->v.component_count ? w->v.components[c].name : NULL;
}

myr_status myr_component_hide(myr_world *w, myr_component c) {
  if (!w) return MYR_EINVAL;
  if (c >= w->v.component_count) return MYR_ENOCOMP;
  if (compset_has(&w->v.hidden, c)) return MYR_OK;
  if (w->running) return MYR_EBUSY;
  for (uint32_t i = 0; i < w->v.table_count; i++)
    if (compset_has(&w->v.tables[i]->set, c)) return MYR_EBUSY; /* a query may have matched it */
  compset_put(&w->v.hidden, c);
  return MYR_OK;
}

bool myr_component_hidden(const myr_world *w, myr_component c) {
  return w && c < w->v.component_count && compset_has(&w->v.hidden, c);
}
