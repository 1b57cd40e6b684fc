/* One simulation over MPI ranks (mpi.h): cells on a Z-order curve split
 * into runs by entity counts, the frame (migration, ghosts; the patches
 * naming ghosts go to their owners in forward.c), global sums and the
 * content hash. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi_impl.h"

double myr_mpx_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

void myr_mpx_fail(myr_mpi *m, const char *fmt, ...) {
  if (m->error[0]) return; /* the first reason stays */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->error, sizeof m->error, fmt, ap);
  va_end(ap);
}

myr_status myr_mpx_agree(myr_mpi *m, myr_status local) {
  double t0 = myr_mpx_now_ms();
  if (local != MYR_OK) myr_mpx_fail(m, "rank %d: %s", m->rank, myr_strerror(local)); /* when no reason was given */
  int mine = local == MYR_OK ? m->ranks : m->rank, first;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, m->comm);
  if (first == m->ranks) {
    m->stats.comm_ms += myr_mpx_now_ms() - t0;
    return MYR_OK;
  }
  int st = (int)local;
  MPI_Bcast(&st, 1, MPI_INT, first, m->comm);
  MPI_Bcast(m->error, (int)sizeof m->error, MPI_CHAR, first, m->comm);
  m->error[sizeof m->error - 1] = 0;
  m->stats.comm_ms += myr_mpx_now_ms() - t0;
  return (myr_status)st;
}

/* ---- cells and the curve -------------------------------------------------- */

static uint64_t morton(const uint32_t *c, const uint32_t *bits, uint32_t dims) {
  uint64_t code = 0;
  uint32_t out = 0;
  for (uint32_t b = 0; b < 10; b++)
    for (uint32_t a = 0; a < dims; a++)
      if (b < bits[a]) code |= (uint64_t)((c[a] >> b) & 1u) << out++;
  return code;
}

typedef struct code_cell {
  uint64_t code;
  uint32_t cell;
} code_cell;

static int by_code(const void *a, const void *b) {
  const code_cell *x = a, *y = b;
  return (x->code > y->code) - (x->code < y->code);
}

static myr_status make_curve(myr_mpi *m) {
  code_cell *cc = malloc((size_t)m->cell_count * sizeof *cc);
  m->curve_of = malloc((size_t)m->cell_count * sizeof *m->curve_of);
  m->owner = malloc((size_t)m->cell_count * sizeof *m->owner);
  m->counts = malloc((size_t)m->cell_count * sizeof *m->counts);
  m->cell_owner = malloc((size_t)m->cell_count * sizeof *m->cell_owner);
  m->near = calloc(m->cell_count, 1);
  if (!cc || !m->curve_of || !m->owner || !m->counts || !m->cell_owner || !m->near) {
    free(cc);
    return MYR_ENOMEM;
  }
  for (uint32_t i = 0; i < m->cell_count; i++) {
    uint32_t c[3] = {i % m->cells[0], (i / m->cells[0]) % m->cells[1], i / (m->cells[0] * m->cells[1])};
    cc[i] = (code_cell){morton(c, m->bits, m->d.dims), i};
  }
  qsort(cc, m->cell_count, sizeof *cc, by_code);
  for (uint32_t i = 0; i < m->cell_count; i++) m->curve_of[cc[i].cell] = i;
  free(cc);
  return MYR_OK;
}

/* A coordinate's cell on axis a: below the box (or NaN) cell 0, at or past
 * its top the last cell (cells_of_rows computes the same in vectors). */

static inline uint32_t cell_index(const myr_mpi *m, const uint32_t *c) {
  return c[0] + m->cells[0] * (c[1] + m->cells[1] * c[2]);
}

static inline uint32_t cell_of_position(const myr_mpi *m, const float *p) {
  uint32_t c[3] = {0, 0, 0};
  for (uint32_t a = 0; a < m->d.dims; a++) c[a] = myr_mpx_axis_cell(m, a, p[a]);
  return cell_index(m, c);
}

uint32_t myr_mpx_curve_of_position(const myr_mpi *m, const float *p) { return m->curve_of[cell_of_position(m, p)]; }

bool myr_mpi_owns(const myr_mpi *m, const float *p) {
  return m && p && m->cell_owner[cell_of_position(m, p)] == m->rank;
}

/* After a split: each cell's owner by cell index, and whether a cell of
 * this rank's lies within the ghost width of another rank's cells (only
 * the entities in such cells are ghosts anywhere). */
static void index_cells(myr_mpi *m) {
  for (uint32_t i = 0; i < m->cell_count; i++) m->cell_owner[i] = m->owner[m->curve_of[i]];
  if (!m->d.has_key || !(m->d.ghost_width > 0.0f)) return;
  int32_t reach[3] = {0, 0, 0};
  for (uint32_t a = 0; a < m->d.dims; a++) {
    float r = ceilf(m->d.ghost_width * m->scale[a]);
    reach[a] = r >= (float)m->cells[a] ? (int32_t)m->cells[a] : (int32_t)r;
  }
  for (uint32_t i = 0; i < m->cell_count; i++) {
    m->near[i] = 0;
    if (m->cell_owner[i] != m->rank) continue;
    int32_t c0[3] = {(int32_t)(i % m->cells[0]), (int32_t)((i / m->cells[0]) % m->cells[1]),
                     (int32_t)(i / (m->cells[0] * m->cells[1]))};
    for (int32_t z = c0[2] - reach[2]; z <= c0[2] + reach[2] && !m->near[i]; z++)
      for (int32_t y = c0[1] - reach[1]; y <= c0[1] + reach[1] && !m->near[i]; y++)
        for (int32_t x = c0[0] - reach[0]; x <= c0[0] + reach[0] && !m->near[i]; x++) {
          int32_t v[3] = {x, y, z};
          uint32_t c[3];
          bool inside = true;
          for (uint32_t a = 0; a < 3; a++) {
            int32_t n = (int32_t)m->cells[a];
            if (!m->d.wrap && (v[a] < 0 || v[a] >= n)) inside = false;
            c[a] = (uint32_t)(((v[a] % n) + n) % n);
          }
          if (inside && m->cell_owner[cell_index(m, c)] != m->rank) m->near[i] = 1;
        }
  }
}

/* Runs fn over every owned entity with its position (dims floats). */
typedef myr_status (*each_fn)(myr_mpi *m, myr_entity e, const float *p, void *ctx);
static myr_status each_owned(myr_mpi *m, each_fn fn, void *ctx) {
  myr_query_iter it;
  myr_chunk ch;
  myr_query_iter_init(m->owned_q, 0, &it);
  while (myr_query_next(&it, &ch)) {
    const float *col[3] = {NULL, NULL, NULL};
    for (uint32_t a = 0; a < m->d.dims; a++) col[a] = myr_chunk_column(&ch, 0, m->d.axis[a]);
    for (uint32_t i = 0; i < ch.count; i++) {
      float p[3] = {col[0][i], col[1][i], m->d.dims == 3 ? col[2][i] : 0.0f};
      myr_status s = fn(m, ch.ids[i], p, ctx);
      if (s != MYR_OK) return s;
    }
  }
  return MYR_OK;
}

/* The cells of rows [0, n) of a chunk's position columns, by cell index:
 * the hot loop of every frame's migration, in a form the compiler turns
 * into vectors (the same rule as axis_cell: below the box or NaN is cell 0,
 * at or past its top the last cell). */
void myr_mpx_cells_of_rows(const myr_mpi *m, const float *const *col, uint32_t n, uint32_t *restrict out) {
  const float *x = col[0], *y = col[1], *z = col[2];
  const float lo0 = m->d.min[0], lo1 = m->d.min[1], lo2 = m->d.min[2];
  const float s0 = m->scale[0], s1 = m->scale[1], s2 = m->scale[2];
  const float top0 = (float)(m->cells[0] - 1), top1 = (float)(m->cells[1] - 1), top2 = (float)(m->cells[2] - 1);
  const int32_t n0 = (int32_t)m->cells[0], n01 = (int32_t)(m->cells[0] * m->cells[1]);
  if (m->d.dims == 2) {
    for (uint32_t i = 0; i < n; i++) {
      float f0 = (x[i] - lo0) * s0, f1 = (y[i] - lo1) * s1;
      f0 = f0 > 0.0f ? f0 : 0.0f;
      f1 = f1 > 0.0f ? f1 : 0.0f;
      f0 = f0 < top0 ? f0 : top0;
      f1 = f1 < top1 ? f1 : top1;
      out[i] = (uint32_t)((int32_t)f0 + n0 * (int32_t)f1);
    }
    return;
  }
  for (uint32_t i = 0; i < n; i++) {
    float f0 = (x[i] - lo0) * s0, f1 = (y[i] - lo1) * s1, f2 = (z[i] - lo2) * s2;
    f0 = f0 > 0.0f ? f0 : 0.0f;
    f1 = f1 > 0.0f ? f1 : 0.0f;
    f2 = f2 > 0.0f ? f2 : 0.0f;
    f0 = f0 < top0 ? f0 : top0;
    f1 = f1 < top1 ? f1 : top1;
    f2 = f2 < top2 ? f2 : top2;
    out[i] = (uint32_t)((int32_t)f0 + n0 * (int32_t)f1 + n01 * (int32_t)f2);
  }
}

static myr_status count_cell(myr_mpi *m, myr_entity e, const float *p, void *ctx) {
  (void)e, (void)ctx;
  m->counts[myr_mpx_curve_of_position(m, p)]++;
  return MYR_OK;
}

/* The runs of the curve from the per-cell counts: a cell goes to the rank
 * in whose share of the entities its first entity falls. */
myr_status myr_mpx_split(myr_mpi *m, bool local_only) {
  memset(m->counts, 0, (size_t)m->cell_count * sizeof *m->counts);
  myr_status s = each_owned(m, count_cell, NULL);
  if (s != MYR_OK) return s;
  if (!local_only) {
    double t0 = myr_mpx_now_ms();
    MPI_Allreduce(MPI_IN_PLACE, m->counts, (int)m->cell_count, MPI_UINT64_T, MPI_SUM, m->comm);
    m->stats.comm_ms += myr_mpx_now_ms() - t0;
  }
  uint64_t total = 0;
  for (uint32_t i = 0; i < m->cell_count; i++) total += m->counts[i];
  uint64_t before = 0;
  m->stats.cells_owned = 0;
  for (uint32_t i = 0; i < m->cell_count; i++) {
    uint64_t r = total ? before * (unsigned)m->ranks / total /* < 2^48 entities x 2^16 ranks */
                       : (uint64_t)i * (unsigned)m->ranks / m->cell_count;
    m->owner[i] = (uint16_t)(r < (uint64_t)m->ranks ? r : (uint64_t)m->ranks - 1);
    m->stats.cells_owned += m->owner[i] == m->rank;
    before += m->counts[i];
  }
  index_cells(m);
  m->stats.rebalances++;
  return MYR_OK;
}

/* ---- migration ------------------------------------------------------------ */

bool myr_mpx_id_push(id_list *l, myr_entity e) {
  if (l->count == l->cap) {
    uint32_t cap = l->cap ? l->cap * 2 : 256;
    myr_entity *p = realloc(l->ids, (size_t)cap * sizeof *p);
    if (!p) return false;
    l->ids = p;
    l->cap = cap;
  }
  l->ids[l->count++] = e;
  return true;
}

/* A chunk of owned entities: their component list (the chunk's table's)
 * and their keys (NULL without a key component). */
typedef struct owned_chunk {
  myr_component comps[MYR_MAX_COMPONENTS];
  uint32_t n;
  const uint64_t *keys;
} owned_chunk;

static void owned_chunk_of(const myr_mpi *m, const myr_chunk *ch, owned_chunk *oc) {
  oc->n = ch->count ? myr_mpx_entity_comps(m, ch->ids[0], oc->comps) : 0;
  oc->keys = m->d.has_key ? myr_chunk_column(ch, 1, 0) : NULL;
}

/* Rows [at, at + n) of an owned chunk: their coordinates and cells, and
 * the chunk's components and keys once a row needs them (known). */
typedef struct owned_block {
  const myr_chunk *ch;
  uint32_t at, n;
  const float *pos[3];
  uint32_t cell[512];
  owned_chunk *oc;
  bool known;
} owned_block;

static inline const owned_chunk *block_chunk(const myr_mpi *m, owned_block *b) {
  if (!b->known) owned_chunk_of(m, b->ch, b->oc), b->known = true;
  return b->oc;
}

static inline myr_status block_pack(myr_mpi *m, owned_block *b, uint32_t i, int to) {
  const owned_chunk *oc = block_chunk(m, b);
  return myr_mpx_pack_known(m, b->ch->ids[b->at + i], oc->keys ? oc->keys[b->at + i] : 0, oc->comps, oc->n,
                            &m->out[to]);
}

/* Runs fn over every owned entity, 512 rows at a time, their cells found
 * in vectors (cells_of_rows). */
typedef myr_status (*block_fn)(myr_mpi *m, owned_block *b, void *ctx);
static myr_status each_owned_block(myr_mpi *m, block_fn fn, void *ctx) {
  myr_query_iter it;
  myr_chunk ch;
  owned_chunk oc; /* 1 KiB */
  owned_block b = {.ch = &ch, .oc = &oc};
  myr_query_iter_init(m->owned_q, 0, &it);
  while (myr_query_next(&it, &ch)) {
    const float *col[3] = {NULL, NULL, NULL};
    for (uint32_t a = 0; a < m->d.dims; a++) col[a] = myr_chunk_column(&ch, 0, m->d.axis[a]);
    b.known = false;
    for (b.at = 0; b.at < ch.count; b.at += 512) {
      b.n = ch.count - b.at < 512 ? ch.count - b.at : 512;
      for (uint32_t a = 0; a < 3; a++) b.pos[a] = col[a] ? col[a] + b.at : NULL;
      myr_mpx_cells_of_rows(m, b.pos, b.n, b.cell);
      myr_status s = fn(m, &b, ctx);
      if (s != MYR_OK) return s;
    }
  }
  return MYR_OK;
}

/* Every owned entity whose cell is another rank's: packed for it. */
static myr_status pack_leavers(myr_mpi *m, owned_block *b, void *ctx) {
  id_list *leaving = ctx;
  for (uint32_t i = 0; i < b->n; i++) {
    int to = m->cell_owner[b->cell[i]];
    if (to == m->rank) continue;
    if (!myr_mpx_id_push(leaving, b->ch->ids[b->at + i])) return MYR_ENOMEM;
    myr_status s = block_pack(m, b, i, to);
    if (s != MYR_OK) return s;
  }
  return MYR_OK;
}

static bool ghosts_on(const myr_mpi *m) { return m->d.has_key && m->d.ghost_width > 0.0f; }

/* m->ghost_map: every ghost here by key (from the ghost query's key
 * column), for the migration's arrivals: an arrival it names is that ghost,
 * which becomes owned (marked MPI_KEPT in the map: a second record with the
 * key is corrupt). */
static myr_status map_ghosts(myr_mpi *m) {
  myr_mpx_keymap_clear(&m->ghost_map);
  myr_query_iter it;
  myr_chunk ch;
  myr_component comps[MYR_MAX_COMPONENTS];
  myr_query_iter_init(m->ghost_q, 0, &it);
  while (myr_query_next(&it, &ch)) {
    const uint64_t *keys = myr_chunk_column(&ch, 2, 0);
    /* the chunk's table's components, the same for every row */
    uint64_t sig = ch.count ? myr_mpx_signature(comps, myr_mpx_entity_comps(m, ch.ids[0], comps)) : 0;
    for (uint32_t i = 0; i < ch.count; i++) {
      uint64_t k = keys ? keys[i] : 0;
      if (!k) return MYR_EINVAL; /* a ghost without a key: not one of ours */
      if (!myr_mpx_keymap_put_aux(&m->ghost_map, k, ch.ids[i], sig)) return MYR_ENOMEM;
    }
  }
  return MYR_OK;
}

myr_status myr_mpx_migrate(myr_mpi *m) {
  for (int r = 0; r <= m->ranks; r++) m->out[r].size = 0;
  id_list leaving = {0};
  myr_status s = each_owned_block(m, pack_leavers, &leaving);
  /* the ranks exchange whatever happened: a rank that failed sends less and
   * says so when they agree */
  uint64_t sent = 0;
  if (s == MYR_OK) s = myr_mpx_exchange(m, &sent);
  else myr_mpx_exchange(m, &sent);
  m->stats.bytes_migration += sent;
  m->stats.migrated_out = leaving.count;
  /* a leaver stays as a ghost, so that links to it hold while it is near;
   * the refresh drops it when it is not */
  for (uint32_t i = 0; s == MYR_OK && i < leaving.count; i++)
    s = ghosts_on(m) ? myr_component_add(m->world, leaving.ids[i], m->ghost, NULL)
                     : myr_entity_destroy(m->world, leaving.ids[i]);
  free(leaving.ids);
  /* an arrival this rank holds as a ghost becomes that entity, owned */
  if (s == MYR_OK && ghosts_on(m)) s = map_ghosts(m);
  uint64_t got = 0;
  if (s == MYR_OK) {
    s = myr_mpx_unpack(m, m->in.data, m->in.size, ghosts_on(m) ? &m->ghost_map : NULL, &got);
    if (s == MYR_ECORRUPT) myr_mpx_fail(m, "rank %d: a migration message from another rank does not decode", m->rank);
  }
  m->stats.migrated_in = got;
  return s;
}

/* ---- ghosts destroyed between frames, to their owners -------------------- */

myr_status myr_mpx_forward_destroys(myr_mpi *m) {
  if (!ghosts_on(m)) return MYR_OK;
  for (int r = 0; r <= m->ranks; r++) m->out[r].size = 0;
  myr_status s = MYR_OK;
  for (uint32_t i = 0; i < m->ghost_count && s == MYR_OK; i++) {
    if (myr_entity_alive(m->world, m->ghost_ids[i])) continue;
    if (!myr_mpx_mbuf_put(&m->out[m->ghost_from[i]], &m->ghost_keys[i], 8)) s = MYR_ENOMEM;
    m->stats.patches_sent++;
  }
  uint64_t sent = 0;
  myr_status x = myr_mpx_exchange(m, &sent); /* whatever happened: the ranks take part */
  if (s == MYR_OK) s = x;
  m->stats.bytes_patches += sent;
  if (s != MYR_OK || !m->in.size) return s;
  if (m->in.size % 8) {
    myr_mpx_fail(m, "rank %d: a message of destroys from another rank does not decode", m->rank);
    return MYR_ECORRUPT;
  }
  myr_mpx_keymap_clear(&m->map);
  for (size_t at = 0; s == MYR_OK && at < m->in.size; at += 8) {
    uint64_t k;
    memcpy(&k, m->in.data + at, 8);
    if (k && !myr_mpx_keymap_put(&m->map, k, MYR_ENTITY_NULL)) s = MYR_ENOMEM;
  }
  if (s == MYR_OK) s = myr_mpx_find_keys(m);
  for (size_t at = 0; s == MYR_OK && at < m->in.size; at += 8) {
    uint64_t k;
    memcpy(&k, m->in.data + at, 8);
    myr_entity e = myr_mpx_keymap_get(&m->map, k);
    /* already gone (two ranks ate it), or a ghost here: nothing to do */
    if (e == MYR_ENTITY_NULL || !myr_entity_alive(m->world, e) || myr_component_has(m->world, e, m->ghost)) continue;
    s = myr_entity_destroy(m->world, e);
  }
  return s;
}

/* ---- the public calls ----------------------------------------------------- */

static myr_status check_desc(myr_world *w, const myr_mpi_desc *d) {
  if (d->dims != 2 && d->dims != 3) return MYR_EINVAL;
  uint32_t fields = 0;
  myr_status s = myr_component_info(w, d->position, &fields, 0, NULL);
  if (s != MYR_OK) return s == MYR_EINVAL ? MYR_ENOCOMP : s;
  uint64_t product = 1;
  for (uint32_t a = 0; a < d->dims; a++) {
    if (d->axis[a] >= fields) return MYR_EFIELD;
    myr_field f;
    myr_component_info(w, d->position, NULL, d->axis[a], &f);
    if (f.type != MYR_F32) return MYR_ETYPE;
    if (!isfinite(d->min[a]) || !isfinite(d->max[a]) || !(d->min[a] < d->max[a])) return MYR_EINVAL;
    uint32_t c = d->cells[a] ? d->cells[a] : 16;
    if (c > 1024 || (c & (c - 1))) return MYR_EINVAL;
    product *= c;
  }
  if (product > MYR_MPI_MAX_CELLS) return MYR_EINVAL;
  if (!isfinite(d->ghost_width) || d->ghost_width < 0.0f) return MYR_EINVAL;
  if (d->ghost_width > 0.0f && !d->has_key) return MYR_EINVAL;
  if (d->has_key) {
    s = myr_component_info(w, d->key, &fields, 0, NULL);
    if (s != MYR_OK) return MYR_ENOCOMP;
    myr_field f;
    if (fields == 0 || myr_component_info(w, d->key, NULL, 0, &f) != MYR_OK || f.type != MYR_U64) return MYR_ETYPE;
  }
  if (d->start != MYR_MPI_REPLICATED && d->start != MYR_MPI_SCATTERED) return MYR_EINVAL;
  return MYR_OK;
}

static myr_status drop_others(myr_mpi *m, myr_entity e, const float *p, void *ctx) {
  if (m->cell_owner[cell_of_position(m, p)] != m->rank && !myr_mpx_id_push(ctx, e)) return MYR_ENOMEM;
  return MYR_OK;
}

static myr_status setup(myr_mpi *m) {
  const myr_mpi_desc *d = &m->d;
  m->cell_count = 1;
  for (uint32_t a = 0; a < 3; a++) {
    m->cells[a] = a < d->dims ? (d->cells[a] ? d->cells[a] : 16) : 1;
    m->bits[a] = (uint32_t)__builtin_ctz(m->cells[a]);
    m->scale[a] = a < d->dims ? (float)m->cells[a] / (d->max[a] - d->min[a]) : 1.0f;
    m->cell_count *= m->cells[a];
  }
  m->d.cells[0] = m->cells[0], m->d.cells[1] = m->cells[1], m->d.cells[2] = d->dims == 3 ? m->cells[2] : 0;
  myr_status s = myr_component_lookup(m->world, "myr.Ghost", &m->ghost);
  if (s != MYR_OK) s = myr_component_register(m->world, &(myr_component_desc){"myr.Ghost", NULL, 0, 0}, &m->ghost);
  if (s == MYR_OK) s = myr_component_hide(m->world, m->ghost);
  if (s == MYR_OK) s = myr_mpx_layouts_make(m);
  if (s == MYR_OK) s = make_curve(m);
  /* term 1: the key, where there is one */
  if (s == MYR_OK)
    s = myr_query_create(
        m->world,
        &(myr_query_desc){(myr_term[]){{d->position, MYR_TERM_READ}, {d->key, MYR_TERM_OPTIONAL}}, d->has_key ? 2 : 1},
        &m->owned_q);
  myr_term ghost_terms[3] = {{d->position, MYR_TERM_READ}, {m->ghost, MYR_TERM_WITH}, {d->key, MYR_TERM_OPTIONAL}};
  if (s == MYR_OK) s = myr_query_create(m->world, &(myr_query_desc){ghost_terms, d->has_key ? 3 : 2}, &m->ghost_q);
  m->out = calloc((size_t)m->ranks + 1, sizeof *m->out);
  m->scount = calloc((size_t)m->ranks * 5, sizeof(int));
  m->mark = calloc((size_t)m->ranks, 1);
  if (s == MYR_OK && (!m->out || !m->scount || !m->mark)) s = MYR_ENOMEM;
  if (s == MYR_OK) {
    m->sdispl = m->scount + m->ranks;
    m->rcount = m->sdispl + m->ranks;
    m->rdispl = m->rcount + m->ranks;
    m->seen = m->rdispl + m->ranks;
  }
  return s;
}

/* The reason the last myr_mpi_create failed (myr_mpi_error(NULL)). */
static char create_error[256];

myr_status myr_mpi_create(myr_world *w, const myr_mpi_desc *d, myr_mpi **out) {
  if (!w || !d || !out) return MYR_EINVAL;
  myr_status s = check_desc(w, d);
  myr_mpi *m = calloc(1, sizeof *m);
  if (!m) return MYR_ENOMEM;
  m->world = w;
  m->d = *d;
  /* zero (a description's default) and MPI_COMM_NULL: all the ranks */
  MPI_Comm zero;
  memset(&zero, 0, sizeof zero);
  bool unset = d->comm == MPI_COMM_NULL || memcmp(&d->comm, &zero, sizeof zero) == 0;
  MPI_Comm_dup(unset ? MPI_COMM_WORLD : d->comm, &m->comm);
  MPI_Comm_rank(m->comm, &m->rank);
  MPI_Comm_size(m->comm, &m->ranks);
  if (m->ranks > 65535) s = MYR_ELIMIT;
  if (s != MYR_OK) myr_mpx_fail(m, "rank %d: the MPI description is not valid: %s", m->rank, myr_strerror(s));
  /* every rank's description is good before any world changes */
  s = myr_mpx_agree(m, s);
  if (s == MYR_OK) s = myr_mpx_agree(m, setup(m));
  /* the first split: from the whole world each rank holds, or from the
   * parts summed */
  bool replicated = d->start == MYR_MPI_REPLICATED;
  if (s == MYR_OK) s = myr_mpx_agree(m, myr_mpx_split(m, replicated));
  if (s == MYR_OK && replicated) {
    /* the others' entities: ghosts for now, so that links to them hold;
     * the refresh keeps those near and drops the rest */
    id_list others = {0};
    myr_status x = each_owned(m, drop_others, &others);
    for (uint32_t i = 0; x == MYR_OK && i < others.count; i++)
      x = ghosts_on(m) ? myr_component_add(w, others.ids[i], m->ghost, NULL) : myr_entity_destroy(w, others.ids[i]);
    free(others.ids);
    s = myr_mpx_agree(m, x);
  } else if (s == MYR_OK) {
    s = myr_mpx_agree(m, myr_mpx_migrate(m));
  }
  /* without ghosts there is nothing to refresh, and without a key no link
   * waits (links travel as keys): no rank can fail there, so the ranks
   * need not meet */
  if (s == MYR_OK && ghosts_on(m)) s = myr_mpx_agree(m, myr_mpx_refresh_ghosts(m));
  if (s == MYR_OK && m->d.has_key) s = myr_mpx_agree(m, myr_mpx_resolve_links(m));
  else if (s == MYR_OK) (void)myr_mpx_resolve_links(m); /* nothing to find: links go null */
  if (s != MYR_OK) {
    snprintf(create_error, sizeof create_error, "%s", m->error);
    myr_mpi_destroy(m);
    return s;
  }
  create_error[0] = 0;
  *out = m;
  return MYR_OK;
}

void myr_mpi_destroy(myr_mpi *m) {
  if (!m) return;
  myr_query_destroy(m->owned_q);
  myr_query_destroy(m->ghost_q);
  myr_mpx_layouts_free(m);
  free(m->curve_of);
  free(m->owner);
  free(m->counts);
  free(m->cell_owner);
  free(m->near);
  free(m->ghost_ids);
  free(m->ghost_keys);
  free(m->ghost_from);
  myr_mpx_keymap_free(&m->map);
  myr_mpx_keymap_free(&m->pending);
  myr_mpx_keymap_free(&m->ghost_map);
  myr_mpx_keymap_free(&m->ghost_index);
  myr_mpx_sets_free(m);
  free(m->links);
  for (int r = 0; m->out && r <= m->ranks; r++) myr_mpx_mbuf_free(&m->out[r]);
  free(m->out);
  myr_mpx_mbuf_free(&m->in);
  free(m->scount);
  free(m->mark);
  MPI_Comm_free(&m->comm);
  free(m);
}

myr_status myr_mpi_frame(myr_mpi *m, myr_schedule *sch, double dt) {
  if (!m || !sch) return MYR_EINVAL;
  double t0 = myr_mpx_now_ms();
  m->stats.comm_ms = 0;
  m->stats.bytes_migration = m->stats.bytes_ghosts = m->stats.bytes_patches = 0;
  m->stats.patches_sent = 0;
  m->stage_ends = 0;
  m->ghost_index_fresh = false; /* the ghosts are the last refresh's through the run */
  myr_status s = MYR_OK;
  if (ghosts_on(m)) {
    /* every rank runs the hook at every stage, so they must agree that
     * the schedule builds; patches naming ghosts go to their owners at
     * each stage's end */
    s = myr_schedule_build(sch);
    if (s == MYR_OK) s = myr_schedule_set_stage_end(sch, &(myr_stage_end_desc){myr_mpx_stage_end, m, true, m->ghost});
    if (s != MYR_OK)
      myr_mpx_fail(m, "rank %d: the schedule: %s: %s", m->rank, myr_strerror(s), myr_schedule_error(sch));
    s = myr_mpx_agree(m, s);
    if (s != MYR_OK) {
      myr_schedule_set_stage_end(sch, NULL);
      return s;
    }
  }
  s = myr_schedule_run(sch, dt);
  if (ghosts_on(m)) myr_schedule_set_stage_end(sch, NULL);
  if (s != MYR_OK)
    myr_mpx_fail(m, "rank %d: the frame failed: %s: %s", m->rank, myr_strerror(s), myr_schedule_error(sch));
  double t1 = myr_mpx_now_ms();
  m->stats.run_ms = t1 - t0;
  /* (the hooks agreed at every stage's end; the last stage's merge may
   * still have failed on one rank) */
  s = myr_mpx_agree(m, s);
  /* no stage ran the hook (a schedule without systems): the ghosts
   * destroyed since the last frame go now */
  if (s == MYR_OK && !m->stage_ends && ghosts_on(m)) s = myr_mpx_agree(m, myr_mpx_forward_destroys(m));
  uint64_t frame = myr_world_frame(m->world);
  if (s == MYR_OK && m->d.rebalance_every && frame % m->d.rebalance_every == 0)
    s = myr_mpx_agree(m, myr_mpx_split(m, false));
  double t2 = myr_mpx_now_ms();
  if (s == MYR_OK) s = myr_mpx_agree(m, myr_mpx_migrate(m));
  double t3 = myr_mpx_now_ms();
  /* without ghosts there is nothing to refresh, and without a key no link
   * waits (links travel as keys): no rank can fail there, so the ranks
   * need not meet */
  if (s == MYR_OK && ghosts_on(m)) s = myr_mpx_agree(m, myr_mpx_refresh_ghosts(m));
  if (s == MYR_OK && m->d.has_key) s = myr_mpx_agree(m, myr_mpx_resolve_links(m));
  else if (s == MYR_OK) (void)myr_mpx_resolve_links(m); /* nothing to find: links go null */
  m->stats.migrate_ms = t3 - t2;
  m->stats.ghosts_ms = myr_mpx_now_ms() - t3;
  m->stats.bytes_sent = m->stats.bytes_migration + m->stats.bytes_ghosts + m->stats.bytes_patches;
  m->stats.frame_ms = myr_mpx_now_ms() - t0;
  return s;
}

uint64_t myr_mpi_sum(myr_mpi *m, uint64_t local) {
  uint64_t all = 0;
  double t0 = myr_mpx_now_ms();
  MPI_Allreduce(&local, &all, 1, MPI_UINT64_T, MPI_SUM, m->comm);
  m->stats.comm_ms += myr_mpx_now_ms() - t0;
  return all;
}

myr_status myr_mpi_content(myr_mpi *m, uint64_t *hash) {
  if (!m || !hash) return MYR_EINVAL;
  myr_content c = {0, 0};
  /* entities without a position are each rank's own: rank 0's count */
  myr_status s = myr_world_content(m->world,
                                   &(myr_content_desc){.has_key = m->d.has_key,
                                                       .key = m->d.key,
                                                       .skip = &m->ghost,
                                                       .skip_count = 1,
                                                       .has_require = m->rank != 0,
                                                       .require = m->d.position},
                                   &c);
  s = myr_mpx_agree(m, s);
  if (s != MYR_OK) return s;
  uint64_t part[2] = {c.sum, c.count}, all[2];
  MPI_Allreduce(part, all, 2, MPI_UINT64_T, MPI_SUM, m->comm);
  *hash = myr_content_hash((myr_content){all[0], all[1]});
  return MYR_OK;
}

myr_status myr_mpi_get_stats(const myr_mpi *m, myr_mpi_stats *out) {
  if (!m || !out) return MYR_EINVAL;
  *out = m->stats;
  out->rank = m->rank;
  out->ranks = m->ranks;
  /* tables made since the queries last looked */
  if (myr_query_refresh(m->owned_q) != MYR_OK || myr_query_refresh(m->ghost_q) != MYR_OK) return MYR_ENOMEM;
  out->owned = myr_query_entity_count(m->owned_q);
  out->ghosts = myr_query_entity_count(m->ghost_q);
  return MYR_OK;
}

const char *myr_mpi_error(const myr_mpi *m) { return m ? m->error : create_error; }
