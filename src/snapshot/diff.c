/* Comparing two worlds slot by slot: where two runs that should agree part
 * ways (myriad-snap diff). */
#include <stdio.h>

#include "snapshot_impl.h"

typedef struct diff_maps {
  int32_t comp[2][MYR_MAX_COMPONENTS];               /* [0]: a's component -> b's, [1]: b's -> a's; -1 = none */
  int32_t field[MYR_MAX_COMPONENTS][MYR_MAX_FIELDS]; /* a's component, a's field -> b's field */
  /* a's component, b's field: no field of a's matches it (b's only) */
  bool b_only[MYR_MAX_COMPONENTS][MYR_MAX_FIELDS];
} diff_maps;

static void copy_name(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src); }

/* The field of ci that a field `name` at `position` matches, as a load
 * matches them: by name, the first one not matched yet (a component may
 * have two fields of one name), or by position when it has no name. */
static int32_t field_in(const component_info *ci, const char *name, uint32_t position, const bool *used) {
  if (!name[0]) return position < ci->field_count && !ci->fields[position].name[0] ? (int32_t)position : -1;
  for (uint32_t f = 0; f < ci->field_count; f++)
    if (!used[f] && strcmp(ci->fields[f].name, name) == 0) return (int32_t)f;
  return -1;
}

static void make_maps(const myr_world *a, const myr_world *b, diff_maps *m) {
  const myr_world *w[2] = {a, b};
  for (int s = 0; s < 2; s++)
    for (myr_component c = 0; c < MYR_MAX_COMPONENTS; c++) {
      m->comp[s][c] = -1;
      if (c >= world_component_count(w[s])) continue;
      myr_component o;
      if (myr_component_lookup(w[1 - s], world_component(w[s], c)->name, &o) == MYR_OK) m->comp[s][c] = (int32_t)o;
    }
  for (myr_component c = 0; c < world_component_count(a); c++) {
    if (m->comp[0][c] < 0) continue;
    const component_info *ca = world_component(a, c), *cb = world_component(b, (myr_component)m->comp[0][c]);
    bool used[MYR_MAX_FIELDS] = {0};
    for (uint32_t f = 0; f < ca->field_count; f++) {
      int32_t g = field_in(cb, ca->fields[f].name, f, used);
      if (g >= 0) used[g] = true;
      /* a field of another type or size is a difference, as a missing one */
      if (g >= 0 && (cb->fields[g].type != ca->fields[f].type || cb->elem_size[g] != ca->elem_size[f])) g = -1;
      m->field[c][f] = g;
    }
    for (uint32_t g = 0; g < cb->field_count; g++) m->b_only[c][g] = !used[g];
  }
}

typedef struct side {
  const myr_world *w;
  const entity_record *r; /* NULL: no live entity at the slot */
  const table *t;
} side;

static const unsigned char *cell(const side *s, int32_t col) { return table_cell(s->t, col, s->r->row); }

/* The first difference between two live entities at one slot, or false. */
static bool entity_differs(const side *x, const side *y, const diff_maps *m, myr_world_diff *out, bool first) {
  /* a's components, with their fields */
  for (uint32_t k = 0; k < x->t->comp_count; k++) {
    myr_component c = x->t->comps[k];
    const component_info *ci = world_component(x->w, c);
    int32_t in_b = m->comp[0][c];
    int32_t colb = in_b < 0 ? -1 : table_comp_col(y->t, (myr_component)in_b);
    if (colb < 0) {
      if (first) copy_name(out->component, sizeof out->component, ci->name), out->field[0] = '\0';
      return true;
    }
    for (uint32_t f = 0; f < ci->field_count; f++) {
      int32_t g = m->field[c][f];
      int32_t cola = (int32_t)x->t->comp_col[k] + (int32_t)f;
      if (g >= 0 && memcmp(cell(x, cola), cell(y, colb + g), ci->elem_size[f]) == 0) continue;
      if (first) {
        copy_name(out->component, sizeof out->component, ci->name);
        copy_name(out->field, sizeof out->field, ci->fields[f].name[0] ? ci->fields[f].name : "(no name)");
        out->type = ci->fields[f].type;
        out->size = ci->elem_size[f];
        uint32_t n = ci->elem_size[f] < 64 ? ci->elem_size[f] : 64;
        memcpy(out->value_a, cell(x, cola), n);
        out->has_value_a = true;
        if (g >= 0) memcpy(out->value_b, cell(y, colb + g), n);
        out->has_value_b = g >= 0;
      }
      return true;
    }
    /* a field b's component has and a's lacks: a difference too, as the
     * other way round (named b's) */
    const component_info *cib = world_component(y->w, (myr_component)in_b);
    for (uint32_t g = 0; g < cib->field_count; g++) {
      if (!m->b_only[c][g]) continue;
      if (first) {
        copy_name(out->component, sizeof out->component, cib->name);
        copy_name(out->field, sizeof out->field, cib->fields[g].name[0] ? cib->fields[g].name : "(no name)");
        out->type = cib->fields[g].type;
        out->size = cib->elem_size[g];
        memcpy(out->value_b, cell(y, colb + (int32_t)g), cib->elem_size[g] < 64 ? cib->elem_size[g] : 64);
        out->has_value_b = true;
      }
      return true;
    }
  }
  /* b's components that a lacks */
  for (uint32_t k = 0; k < y->t->comp_count; k++) {
    myr_component c = y->t->comps[k];
    int32_t in_a = m->comp[1][c];
    if (in_a >= 0 && table_comp_col(x->t, (myr_component)in_a) >= 0) continue;
    if (first) copy_name(out->component, sizeof out->component, world_component(y->w, c)->name), out->field[0] = '\0';
    return true;
  }
  return false;
}

static bool resources_differ(const myr_world *a, const myr_world *b, myr_world_diff *out) {
  for (int s = 0; s < 2; s++) {
    const myr_world *x = s ? b : a, *y = s ? a : b;
    for (myr_resource r = 0; r < world_resource_count(x); r++) {
      myr_resource o;
      const char *name = world_resource_name(x, r);
      bool same = myr_resource_lookup(y, name, &o) == MYR_OK && myr_resource_size(x, r) == myr_resource_size(y, o) &&
                  memcmp(myr_resource_data((myr_world *)x, r), myr_resource_data((myr_world *)y, o),
                         myr_resource_size(x, r)) == 0;
      if (!same) {
        copy_name(out->resource, sizeof out->resource, name);
        return true;
      }
    }
  }
  return false;
}

/* The free lists in order, with each free slot's generation: the ids the
 * next spawns get. */
static bool free_lists_differ(const myr_world *a, const myr_world *b) {
  if (world_free_count(a) != world_free_count(b)) return true;
  const world_view *va = world_view_of(a), *vb = world_view_of(b);
  for (uint32_t k = 0; k < world_free_count(a); k++) {
    uint32_t x = world_free_at(a, k), y = world_free_at(b, k);
    if (x != y || va->entities[x].generation != vb->entities[y].generation) return true;
  }
  /* fresh slots come after the free ones: from the slot count on */
  return va->slot_count != vb->slot_count;
}

myr_status myr_world_diff_compute(const myr_world *a, const myr_world *b, myr_world_diff *out) {
  if (!a || !b || !out) return MYR_EINVAL;
  memset(out, 0, sizeof *out);
  diff_maps *m = world_alloc(a, sizeof *m, alignof(diff_maps));
  if (!m) return MYR_ENOMEM;
  make_maps(a, b, m);
  const world_view *va = world_view_of(a), *vb = world_view_of(b);
  uint32_t slots = va->slot_count > vb->slot_count ? va->slot_count : vb->slot_count;
  for (uint32_t i = 0; i < slots; i++) {
    side x = {a, NULL, NULL}, y = {b, NULL, NULL};
    if (i < va->slot_count && va->entities[i].table != NO_TABLE) x.r = &va->entities[i], x.t = va->tables[x.r->table];
    if (i < vb->slot_count && vb->entities[i].table != NO_TABLE) y.r = &vb->entities[i], y.t = vb->tables[y.r->table];
    if (!x.r && !y.r) continue;
    bool first = out->differing == 0;
    bool differs;
    if (!x.r || !y.r || x.r->generation != y.r->generation) {
      differs = true;
      if (first) out->component[0] = out->field[0] = '\0';
    } else {
      differs = entity_differs(&x, &y, m, out, first);
    }
    if (!differs) continue;
    if (first) {
      out->slot = i;
      out->a = x.r ? ((myr_entity)x.r->generation << 32) | i : MYR_ENTITY_NULL;
      out->b = y.r ? ((myr_entity)y.r->generation << 32) | i : MYR_ENTITY_NULL;
    }
    out->differing++;
  }
  world_free(a, m, sizeof *m);
  out->resources_differ = resources_differ(a, b, out);
  out->free_list_differs = free_lists_differ(a, b);
  out->seed_differs = myr_world_seed(a) != myr_world_seed(b);
  double ta = myr_world_time(a), tb = myr_world_time(b);
  out->clock_differs = myr_world_frame(a) != myr_world_frame(b) || memcmp(&ta, &tb, sizeof ta) != 0;
  return MYR_OK;
}
