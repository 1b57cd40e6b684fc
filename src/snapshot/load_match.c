/* Loading, the schema: matching the snapshot's components and resources
 * to the world's by name, registering what the world lacks, and the
 * commit, which cannot fail. */
#include <assert.h>
#include <stdio.h>

#include "load_impl.h"

/* ---- matching the snapshot's schema to the world's ------------------------------- */

static const char *type_name(myr_type t) {
  static const char *const names[] = {"?", "f32", "f64", "i32", "u32", "i64", "u64", "u8", "bytes", "entity"};
  return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

static bool is_signed(myr_type t) { return t == MYR_I32 || t == MYR_I64; }
static bool is_int(myr_type t) { return t == MYR_I32 || t == MYR_I64 || t == MYR_U32 || t == MYR_U64 || t == MYR_U8; }

/* How a saved field of type `from` loads into a field of type `to`. */
static bool conversion(myr_type from, myr_type to, uint32_t from_size, uint32_t to_size, bool allowed, conv *how) {
  if (from == to && from_size == to_size) return *how = CONV_COPY, true;
  if (!allowed) return false;
  if (from == MYR_F32 && to == MYR_F64) return *how = CONV_F32_F64, true;
  if (from == MYR_F64 && to == MYR_F32) return *how = CONV_F64_F32, true;
  /* integer widening, exact: an unsigned integer to any wider integer (u8
   * to u32, u64, i32, i64; u32 to u64, i64), a signed one to a wider signed
   * one (i32 to i64) */
  if (is_int(from) && is_int(to) && myr_type_size(to) > myr_type_size(from) && (!is_signed(from) || is_signed(to)))
    return *how = CONV_INT, true;
  return false;
}

static myr_status match_component(loader *l, s_comp *sc, uint32_t flags) {
  const component_info *ci = world_component(l->w, sc->target);
  bool used[MYR_MAX_FIELDS] = {0};
  for (uint32_t wf = 0; wf < ci->field_count; wf++) {
    const char *name = ci->fields[wf].name;
    int32_t from = NO_FIELD;
    if (name[0]) {
      for (uint32_t f = 0; f < sc->field_count && from == NO_FIELD; f++)
        if (!used[f] && strcmp(sc->fields[f].name, name) == 0) from = (int32_t)f;
    } else if (wf < sc->field_count && !sc->fields[wf].name[0] && !used[wf]) {
      from = (int32_t)wf;
      l->rep->fields_by_position++;
      snap_note(l->rep, "%s.%u: no name, matched by position", sc->name, wf);
    }
    sc->src[wf] = from;
    if (from == NO_FIELD) {
      l->rep->fields_zeroed++;
      snap_note(l->rep, "%s.%s: not in the snapshot, zero", sc->name, name[0] ? name : "(no name)");
      continue;
    }
    used[from] = true;
    const s_field *sf = &sc->fields[from];
    if (!conversion(sf->type, ci->fields[wf].type, sf->size, ci->elem_size[wf], flags & MYR_SNAPSHOT_CONVERT,
                    &sc->how[wf])) {
      char field[80];
      if (name[0]) snprintf(field, sizeof field, "%s", name);
      else snprintf(field, sizeof field, "%u", wf);
      return snap_fail(l->rep, MYR_ETYPE, "%s: %s.%s: saved as %s (%u bytes), registered as %s (%u bytes)%s", l->name,
                       sc->name, field, type_name(sf->type), sf->size, type_name(ci->fields[wf].type),
                       ci->elem_size[wf], flags & MYR_SNAPSHOT_CONVERT ? "" : " (MYR_SNAPSHOT_CONVERT not given)");
    }
    if (sc->how[wf] != CONV_COPY) {
      l->rep->fields_converted++;
      snap_note(l->rep, "%s.%s: %s converted to %s", sc->name, name[0] ? name : "(no name)", type_name(sf->type),
                type_name(ci->fields[wf].type));
    }
  }
  for (uint32_t f = 0; f < sc->field_count; f++) sc->dst[f] = NO_FIELD;
  for (uint32_t wf = 0; wf < ci->field_count; wf++)
    if (sc->src[wf] != NO_FIELD) sc->dst[sc->src[wf]] = (int32_t)wf;
  for (uint32_t f = 0; f < sc->field_count; f++) {
    if (used[f]) continue;
    l->rep->fields_skipped++;
    snap_note(l->rep, "%s.%s: not in the world's component, dropped", sc->name,
              sc->fields[f].name[0] ? sc->fields[f].name : "(no name)");
  }
  return MYR_OK;
}

static bool skipped(const myr_snapshot_load_desc *d, const char *name) {
  for (uint32_t i = 0; d && d->skip && i < d->skip_count; i++)
    if (d->skip[i] && strcmp(d->skip[i], name) == 0) return true;
  return false;
}

/* Matches the snapshot's components to the world's by name and registers
 * those the world lacks (at the first table section: its rows need their
 * table). Undone by the rollback if the load fails later. */
myr_status load_prepare(loader *l, const myr_snapshot_load_desc *d) {
  uint32_t flags = d ? d->flags : 0;
  uint32_t new_comps = 0;
  l->prepared = true;
  for (uint32_t i = 0; i < l->ncomp; i++) {
    s_comp *sc = &l->comps[i];
    if (skipped(d, sc->name)) {
      sc->skip = true;
      l->rep->components_skipped++;
      snap_note(l->rep, "%s: skipped as asked", sc->name);
      continue;
    }
    myr_status st = myr_component_lookup(l->w, sc->name, &sc->target);
    if (st == MYR_ENOCOMP) {
      sc->create = true;
      new_comps++;
      continue;
    }
    if (st != MYR_OK) return snap_fail(l->rep, st, "%s: looking up component %s failed", l->name, sc->name);
    l->rep->components_matched++;
    if ((st = match_component(l, sc, flags)) != MYR_OK) return st;
  }
  if (world_component_count(l->w) + new_comps > MYR_MAX_COMPONENTS)
    return snap_fail(l->rep, MYR_ELIMIT, "%s: %u new components do not fit in the world (%u of %u taken)", l->name,
                     new_comps, world_component_count(l->w), MYR_MAX_COMPONENTS);
  for (uint32_t i = 0; i < l->ncomp; i++) {
    s_comp *sc = &l->comps[i];
    if (!sc->create) continue;
    myr_field fields[MYR_MAX_FIELDS];
    for (uint32_t f = 0; f < sc->field_count; f++) {
      const s_field *sf = &sc->fields[f];
      fields[f] = (myr_field){sf->name[0] ? sf->name : NULL, sf->type, sf->type == MYR_BYTES ? sf->size : 0,
                              (size_t)sf->offset};
    }
    myr_status st = myr_component_register(
        l->w, &(myr_component_desc){sc->name, fields, sc->field_count, (size_t)sc->row_size}, &sc->target);
    if (st != MYR_OK)
      return snap_fail(l->rep, st, "%s: registering component %s: %s", l->name, sc->name, myr_strerror(st));
    l->rep->components_registered++;
    for (uint32_t f = 0; f < sc->field_count; f++) sc->src[f] = sc->dst[f] = (int32_t)f, sc->how[f] = CONV_COPY;
  }
  /* rows written per world table: the tables there are, and one per section at most */
  l->dest_cap = world_table_count(l->w) + l->ntab + 1;
  l->dest_rows = load_calloc(l, l->dest_cap, sizeof *l->dest_rows);
  return l->dest_rows ? MYR_OK : load_oom(l);
}

/* After the last section: the resources matched by name (and registered
 * when the world lacks them), and room for the entity index. Undone by the
 * rollback if anything fails. */
myr_status load_finish(loader *l) {
  uint32_t new_res = 0;
  for (uint32_t i = 0; i < l->nres; i++) {
    s_resource *r = &l->res[i];
    myr_status st = myr_resource_lookup(l->w, r->name, &r->target);
    if (st == MYR_ENOTFOUND) {
      r->create = true;
      new_res++;
      continue;
    }
    if (st != MYR_OK) return snap_fail(l->rep, st, "%s: looking up resource %s failed", l->name, r->name);
    if (myr_resource_size(l->w, r->target) != r->size)
      return snap_fail(l->rep, MYR_ETYPE, "%s: resource %s: saved with %llu bytes, registered with %zu", l->name,
                       r->name, (unsigned long long)r->size, myr_resource_size(l->w, r->target));
    l->rep->resources_matched++;
  }
  if (world_resource_count(l->w) + new_res > MYR_MAX_RESOURCES)
    return snap_fail(l->rep, MYR_ELIMIT, "%s: %u new resources do not fit in the world (%u of %u taken)", l->name,
                     new_res, world_resource_count(l->w), MYR_MAX_RESOURCES);
  for (uint32_t i = 0; i < l->nres; i++) {
    s_resource *r = &l->res[i];
    if (!r->create) continue;
    myr_status st = myr_resource_register(
        l->w,
        &(myr_resource_desc){.name = r->name, .size = (size_t)r->size, .align = (size_t)r->align, .flags = r->flags},
        &r->target);
    if (st != MYR_OK)
      return snap_fail(l->rep, st, "%s: registering resource %s: %s", l->name, r->name, myr_strerror(st));
    l->rep->resources_registered++;
  }
  myr_status st = world_slots_reserve(l->w, l->slots);
  if (st != MYR_OK)
    return snap_fail(l->rep, st, "%s: making room for %u entity slots: %s", l->name, l->slots, myr_strerror(st));
  return MYR_OK;
}

/* ---- committing: nothing below can fail ------------------------------------------- */

void load_convert(unsigned char *dst, myr_type to, const unsigned char *src, myr_type from, uint32_t n, conv how) {
  uint32_t ds = myr_type_size(to), ss = myr_type_size(from);
  for (uint32_t r = 0; r < n; r++, dst += ds, src += ss) {
    if (how == CONV_F32_F64) {
      float f;
      memcpy(&f, src, 4);
      double d = f;
      memcpy(dst, &d, 8);
    } else if (how == CONV_F64_F32) {
      double d;
      memcpy(&d, src, 8);
      float f = (float)d;
      memcpy(dst, &f, 4);
    } else { /* integer widening: sign-extend signed sources, zero-extend the rest */
      uint64_t v = 0;
      if (from == MYR_I32) {
        int32_t i;
        memcpy(&i, src, 4);
        v = (uint64_t)(int64_t)i;
      } else {
        memcpy(&v, src, ss);
      }
      memcpy(dst, &v, ds);
    }
  }
}

void load_commit(loader *l, const myr_snapshot_load_desc *d) {
  myr_world *w = l->w;
  world_index_restore(w, l->slots, l->gens, l->free_list, l->nfree);
  /* the rows' values are in place past each table's count: placing them
   * gives them their ids and records, in the order they were written */
  for (uint32_t k = 0; k < l->ntab; k++) {
    const s_table *t = &l->tables[k];
    bool last = t->first + t->rows == l->dest_rows[t->dst->id];
    uint32_t first = world_place_rows(w, t->dst, t->slots, t->rows, last);
    assert(first == t->first);
    (void)first;
  }
  for (uint32_t i = 0; i < l->nres; i++)
    memcpy(myr_resource_data(w, l->res[i].target), l->res[i].bytes, (size_t)l->res[i].size);
  if (!(d && (d->flags & MYR_SNAPSHOT_KEEP_SEED))) myr_world_set_seed(w, l->seed);
  double time;
  memcpy(&time, &l->time_bits, 8);
  myr_world_set_clock(w, l->frame, time);
  l->rep->tables = l->ntab;
  l->rep->entities = l->live_rows;
}
