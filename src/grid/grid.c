/* The neighbour grid: two systems that rebuild it by a counting sort
 * (schedule.h, myr_view_partial_of), on the public API only.
 *
 * The slots resource holds, in order: start[cell_count + 1], capacity,
 * padding to 8 bytes, capacity ids, with has_order capacity keys, then
 * capacity floats per position axis and per payload field. The counts
 * resource is the reduction's result, a count per cell. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "myriad/grid.h"

enum { NAME_MAX_ = 100, DEFAULT_BLOCK = 4096 };

static uint32_t *slots_start(void *slots) { return slots; }

/* ---- the rebuild ---------------------------------------------------------- */

/* The rows of a chunk by block of the reduction: rows [i, i + n) share a
 * partial. Chunks start on whole blocks of their table. */
static uint32_t block_left(const myr_grid *g, const myr_view *v, uint32_t i) {
  uint32_t left = g->block_rows_ - (v->chunk.row + i) % g->block_rows_;
  return left < v->chunk.count - i ? left : v->chunk.count - i;
}

static void count_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  const myr_grid g = *(const myr_grid *)v->user; /* a local copy: no store below aliases it */
  const float *col[3] = {0};
  for (uint32_t a = 0; a < g.dims; a++) col[a] = myr_chunk_f32(&v->chunk, 0, g.axis_[a]);
  for (uint32_t i = 0; i < v->chunk.count;) {
    uint32_t *count = myr_view_partial(v, i);
    for (uint32_t end = i + block_left(&g, v, i); i < end; i++) {
      const float pt[3] = {col[0][i], col[1][i], g.dims == 3 ? col[2][i] : 0.0f};
      count[myr_grid_cell_of(&g, pt)]++;
    }
  }
}

/* Each block's counts become its offsets within each cell (an exclusive
 * scan in row order); the totals accumulate in the result. */
static void scan_counts(void *result, void *partial, void *user) {
  const myr_grid *g = user;
  uint32_t *total = result, *block = partial;
  for (uint32_t c = 0; c < g->cell_count; c++) {
    uint32_t here = block[c];
    block[c] = total[c];
    total[c] += here;
  }
}

static void cell_starts(const myr_view *v, myr_patches *p) {
  (void)p;
  const myr_grid *g = v->user;
  const uint32_t *total = v->resources[0];
  uint32_t *start = slots_start(v->resources[1]);
  start[0] = 0;
  for (uint32_t c = 0; c < g->cell_count; c++) start[c + 1] = start[c] + total[c];
  if (start[g->cell_count] > g->capacity) myr_system_fail(v, MYR_ELIMIT);
}

static void place_rows(const myr_view *v, myr_patches *p) {
  (void)p;
  const myr_grid g = *(const myr_grid *)v->user;
  unsigned char *base = v->resources[0];
  const uint32_t *start = slots_start(base);
  myr_entity *ids = (myr_entity *)(void *)(base + g.ids_offset_);
  const float *col[3] = {0}, *pay[MYR_GRID_MAX_PAYLOAD];
  float *pos_out[3] = {0}, *pay_out[MYR_GRID_MAX_PAYLOAD];
  const uint64_t *key = g.keys ? myr_chunk_u64(&v->chunk, g.key_term_, 0) : NULL;
  uint64_t *key_out = (uint64_t *)(void *)(base + g.keys_offset_);
  for (uint32_t a = 0; a < g.dims; a++) {
    col[a] = myr_chunk_f32(&v->chunk, 0, g.axis_[a]);
    pos_out[a] = (float *)(void *)(base + g.pos_offset_[a]);
  }
  for (uint32_t k = 0; k < g.payload_count; k++) {
    pay[k] = myr_chunk_f32(&v->chunk, g.payload_term_[k], g.payload_field_[k]);
    pay_out[k] = (float *)(void *)(base + g.payload_offset_[k]);
  }
  for (uint32_t i = 0; i < v->chunk.count;) {
    uint32_t *cursor = myr_view_partial_of(v, g.count, i);
    for (uint32_t end = i + block_left(&g, v, i); i < end; i++) {
      const float pt[3] = {col[0][i], col[1][i], g.dims == 3 ? col[2][i] : 0.0f};
      uint32_t c = myr_grid_cell_of(&g, pt), at = start[c] + cursor[c]++;
      if (at >= g.capacity) continue; /* count's end hook failed the frame */
      ids[at] = v->chunk.ids[i];
      if (key) key_out[at] = key[i];
      for (uint32_t a = 0; a < g.dims; a++) pos_out[a][at] = pt[a];
      for (uint32_t k = 0; k < g.payload_count; k++) pay_out[k][at] = pay[k][i];
    }
  }
}

/* With has_order, the place system's end hook: each cell's slots, placed in
 * row order, sorted by key. It runs after every chunk of the system, on its
 * job, so nothing else writes the slots meanwhile. Insertion sort: stable,
 * so equal keys keep row order, and cheap on a neighbour grid's few
 * entities per cell; the same result for any thread count and chunk size,
 * as its input is. */
static void order_cells(const myr_view *v, myr_patches *p) {
  (void)p;
  const myr_grid g = *(const myr_grid *)v->user;
  unsigned char *base = v->resources[0];
  const uint32_t *start = slots_start(base);
  if (start[g.cell_count] > g.capacity) return; /* count's end hook failed the frame */
  myr_entity *ids = (myr_entity *)(void *)(base + g.ids_offset_);
  uint64_t *keys = (uint64_t *)(void *)(base + g.keys_offset_);
  float *col[3 + MYR_GRID_MAX_PAYLOAD]; /* every float per slot: positions, then payload */
  const uint32_t cols = g.dims + g.payload_count;
  for (uint32_t a = 0; a < g.dims; a++) col[a] = (float *)(void *)(base + g.pos_offset_[a]);
  for (uint32_t k = 0; k < g.payload_count; k++) col[g.dims + k] = (float *)(void *)(base + g.payload_offset_[k]);
  for (uint32_t c = 0; c < g.cell_count; c++)
    for (uint32_t i = start[c] + 1; i < start[c + 1]; i++) {
      const uint64_t key = keys[i];
      if (keys[i - 1] <= key) continue; /* already after the sorted ones before it */
      const myr_entity id = ids[i];
      float f[3 + MYR_GRID_MAX_PAYLOAD];
      for (uint32_t k = 0; k < cols; k++) f[k] = col[k][i];
      uint32_t j = i;
      for (; j > start[c] && keys[j - 1] > key; j--) {
        keys[j] = keys[j - 1];
        ids[j] = ids[j - 1];
        for (uint32_t k = 0; k < cols; k++) col[k][j] = col[k][j - 1];
      }
      keys[j] = key;
      ids[j] = id;
      for (uint32_t k = 0; k < cols; k++) col[k][j] = f[k];
    }
}

/* ---- checking the desc ------------------------------------------------------ */

static myr_status check_f32(const myr_world *w, myr_component c, uint32_t field) {
  myr_field f;
  myr_status st = myr_component_info(w, c, NULL, field, &f);
  if (st != MYR_OK) return st;
  return f.type == MYR_F32 ? MYR_OK : MYR_ETYPE;
}

static myr_status check_shape(const myr_grid_desc *d) {
  if (!d->name || strlen(d->name) > NAME_MAX_ || (d->dims != 2 && d->dims != 3)) return MYR_EINVAL;
  if (!isfinite(d->cell) || !(d->cell > 0.0f) || !isfinite(1.0f / d->cell)) return MYR_EINVAL;
  if (d->capacity == 0 || d->payload_count > MYR_GRID_MAX_PAYLOAD || d->filter_count > MYR_GRID_MAX_FILTERS)
    return MYR_EINVAL;
  if ((d->payload_count && !d->payload) || (d->filter_count && !d->filter)) return MYR_EINVAL;
  if (d->edges != MYR_GRID_CLAMP && d->edges != MYR_GRID_WRAP) return MYR_EINVAL;
  if (d->block_rows > (1u << 30)) return MYR_EINVAL;
  uint64_t cells = 1;
  for (uint32_t a = 0; a < d->dims; a++) {
    if (d->cells[a] == 0 || !isfinite(d->min[a]) || !isfinite((float)d->cells[a] * d->cell)) return MYR_EINVAL;
    cells *= d->cells[a];
    if (cells > MYR_GRID_MAX_CELLS) return MYR_EINVAL;
  }
  return MYR_OK;
}

/* The order key: the first field of a component, MYR_U64. */
static myr_status check_key(const myr_world *w, myr_component c) {
  uint32_t fc;
  myr_field f;
  myr_status st = myr_component_info(w, c, &fc, 0, NULL);
  if (st != MYR_OK) return st;
  if (fc == 0) return MYR_ETYPE;
  if ((st = myr_component_info(w, c, NULL, 0, &f)) != MYR_OK) return st;
  return f.type == MYR_U64 ? MYR_OK : MYR_ETYPE;
}

/* The terms of both systems: position, the payload's other components, the
 * order key's (with has_order), the filters. Fills the grid's payload and
 * key term indices. */
static myr_status make_terms(const myr_world *w, const myr_grid_desc *d, myr_grid *g, myr_term *terms,
                             uint32_t *count) {
  uint32_t n = 0, fc;
  myr_status st = myr_component_info(w, d->position, &fc, 0, NULL);
  if (st != MYR_OK) return st;
  terms[n++] = (myr_term){d->position, MYR_TERM_READ};
  for (uint32_t a = 0; a < d->dims; a++)
    if ((st = check_f32(w, d->position, d->axis[a])) != MYR_OK) return st;
  for (uint32_t k = 0; k < d->payload_count; k++) {
    if ((st = check_f32(w, d->payload[k].component, d->payload[k].field)) != MYR_OK) return st;
    uint32_t t = 0;
    while (t < n && terms[t].component != d->payload[k].component) t++;
    if (t == n) terms[n++] = (myr_term){d->payload[k].component, MYR_TERM_READ};
    g->payload_term_[k] = t;
    g->payload_field_[k] = d->payload[k].field;
  }
  if (d->has_order) {
    if ((st = check_key(w, d->order)) != MYR_OK) return st;
    uint32_t t = 0;
    while (t < n && terms[t].component != d->order) t++;
    if (t == n) terms[n++] = (myr_term){d->order, MYR_TERM_READ};
    g->key_term_ = t;
  }
  for (uint32_t f = 0; f < d->filter_count; f++) {
    const myr_term *t = &d->filter[f];
    /* an optional term selects nothing, but names its component in the
     * queries: a component whose entities only naming queries match */
    if (t->kind != MYR_TERM_WITH && t->kind != MYR_TERM_WITHOUT && t->kind != MYR_TERM_OPTIONAL) return MYR_EINVAL;
    if ((st = myr_component_info(w, t->component, &fc, 0, NULL)) != MYR_OK) return st;
    for (uint32_t u = 0; u < n; u++)
      if (terms[u].component == t->component) return MYR_EINVAL;
    terms[n++] = *t;
  }
  *count = n;
  return MYR_OK;
}

static bool system_named(const myr_schedule *s, const char *name) {
  for (uint32_t i = 0; i < myr_schedule_system_count(s); i++) {
    myr_system_stats st;
    if (myr_schedule_system_stats(s, i, &st) == MYR_OK && strcmp(st.name, name) == 0) return true;
  }
  return false;
}

static void set_shape(const myr_grid_desc *d, myr_grid *g) {
  g->dims = d->dims;
  g->capacity = d->capacity;
  g->payload_count = d->payload_count;
  g->edges = d->edges;
  g->cell = d->cell;
  g->inv_cell = 1.0f / d->cell;
  g->cell_count = 1;
  for (uint32_t a = 0; a < 3; a++) {
    bool used = a < d->dims;
    g->cells[a] = used ? d->cells[a] : 1;
    g->min[a] = used ? d->min[a] : 0.0f;
    g->axis_[a] = used ? d->axis[a] : 0;
    g->width[a] = (float)g->cells[a] * d->cell;
    g->half[a] = g->width[a] * 0.5f;
    g->cell_count *= g->cells[a];
  }
  size_t at = ((size_t)g->cell_count + 2) * sizeof(uint32_t);
  g->ids_offset_ = at = (at + 7) & ~(size_t)7;
  at += (size_t)d->capacity * sizeof(myr_entity);
  g->keys_offset_ = at;
  if (d->has_order) at += (size_t)d->capacity * sizeof(uint64_t);
  for (uint32_t a = 0; a < 3; a++) {
    g->pos_offset_[a] = at;
    if (a < d->dims) at += (size_t)d->capacity * sizeof(float);
  }
  for (uint32_t k = 0; k < d->payload_count; k++, at += (size_t)d->capacity * sizeof(float)) g->payload_offset_[k] = at;
  g->slots_size_ = at;
}

/* ---- adding --------------------------------------------------------------- */

static myr_status add_systems(myr_schedule *s, const myr_grid_desc *d, myr_grid *g, const myr_term *terms,
                              uint32_t term_count) {
  char count_name[NAME_MAX_ + 8], place_name[NAME_MAX_ + 8];
  snprintf(count_name, sizeof count_name, "%s.count", d->name);
  snprintf(place_name, sizeof place_name, "%s.place", d->name);
  const uint32_t block = g->block_rows_;
  const myr_reduction_desc red = {.partial_size = (size_t)g->cell_count * sizeof(uint32_t),
                                  .block_rows = block,
                                  .combine = scan_counts,
                                  .result_resource = g->counts};
  myr_status st =
      myr_schedule_add(s,
                       &(myr_system_desc){.name = count_name,
                                          .terms = terms,
                                          .term_count = term_count,
                                          .fn = count_rows,
                                          .user = g,
                                          .stage = d->stage,
                                          .reduction = &red,
                                          .end = cell_starts,
                                          .resources = (myr_resource_term[]){{g->counts, MYR_TERM_WRITE},
                                                                             {g->slots, MYR_TERM_WRITE_HOOKS}},
                                          .resource_count = 2},
                       &g->count);
  if (st != MYR_OK) return st;
  return myr_schedule_add(s,
                          &(myr_system_desc){.name = place_name,
                                             .terms = terms,
                                             .term_count = term_count,
                                             .fn = place_rows,
                                             .user = g,
                                             .stage = d->stage,
                                             .end = d->has_order ? order_cells : NULL,
                                             .partials_of = count_name, /* after it, on its blocks */
                                             /* each row writes its own slot */
                                             .resources = (myr_resource_term[]){{g->slots, MYR_TERM_WRITE_DISJOINT}},
                                             .resource_count = 1},
                          &g->place);
}

myr_status myr_grid_add(myr_schedule *s, const myr_grid_desc *d, myr_grid *out) {
  myr_world *w = myr_schedule_world(s);
  if (!w || !d || !out) return MYR_EINVAL;
  myr_status st = check_shape(d);
  if (st != MYR_OK) return st;
  myr_grid g;
  memset(&g, 0, sizeof g);
  myr_term terms[1 + MYR_GRID_MAX_PAYLOAD + 1 + MYR_GRID_MAX_FILTERS];
  uint32_t term_count;
  if ((st = make_terms(w, d, &g, terms, &term_count)) != MYR_OK) return st;
  char counts_name[NAME_MAX_ + 8], name[NAME_MAX_ + 8];
  snprintf(counts_name, sizeof counts_name, "%s.counts", d->name);
  snprintf(name, sizeof name, "%s.count", d->name);
  myr_resource r;
  if (myr_resource_lookup(w, counts_name, &r) != MYR_ENOTFOUND ||
      myr_resource_lookup(w, d->name, &r) != MYR_ENOTFOUND || system_named(s, name))
    return MYR_EEXIST;
  snprintf(name, sizeof name, "%s.place", d->name);
  if (system_named(s, name)) return MYR_EEXIST;

  set_shape(d, &g);
  g.block_rows_ = d->block_rows ? (d->block_rows + 15) / 16 * 16 : DEFAULT_BLOCK; /* as the reduction rounds */
  st = myr_resource_register(
      w, &(myr_resource_desc){.name = counts_name, .size = (size_t)g.cell_count * sizeof(uint32_t)}, &g.counts);
  if (st == MYR_OK)
    st = myr_resource_register(w, &(myr_resource_desc){.name = d->name, .size = g.slots_size_, .align = 64}, &g.slots);
  if (st != MYR_OK) return st;
  unsigned char *base = myr_resource_data(w, g.slots);
  slots_start(base)[g.cell_count + 1] = g.capacity;
  g.start = slots_start(base);
  g.ids = (const myr_entity *)(void *)(base + g.ids_offset_);
  for (uint32_t a = 0; a < g.dims; a++) g.pos[a] = (const float *)(void *)(base + g.pos_offset_[a]);
  for (uint32_t k = 0; k < g.payload_count; k++) g.payload[k] = (const float *)(void *)(base + g.payload_offset_[k]);
  if (d->has_order) g.keys = (const uint64_t *)(void *)(base + g.keys_offset_);
  *out = g;
  return add_systems(s, d, out, terms, term_count);
}
