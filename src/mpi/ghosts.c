/* The ghosts' refresh (mpi.h): every owned entity within the ghost width of
 * another rank's region is sent there each frame, and the ghosts there are
 * updated in place, made or dropped.
 *
 * Column by column. Entities go per component set (a table's), through a
 * query whose terms are that set's components, so a ghost is packed by
 * copying its fields out of the chunk's columns, and updated by copying
 * them into the ghost table's columns: no per-entity lookups of components.
 * The message for one rank is a run of blocks, one per chunk that has
 * ghosts for it:
 *
 *   u32 component count n, u32 entity count k, n u32 component ids
 *   (ascending, padded to 8 bytes), then k records: the components'
 *   packed field values (each field its type's size, in component then
 *   field order; MYR_ENTITY values as the linked entity's key), each record
 *   padded to 8 bytes. The key is the key component's value.
 *
 * The queries name the components with fields only (a tag has no column):
 * at most MYR_QUERY_MAX_TERMS - 1 of them, the ghost tag being the last
 * term of the ghosts' query. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_impl.h"

static inline size_t pad8(size_t n) { return (n + 7u) & ~(size_t)7u; }

/* ---- component sets and their queries ------------------------------------ */

void myr_mpx_sets_free(myr_mpi *m) {
  for (uint32_t i = 0; i < m->set_count; i++) {
    myr_query_destroy(m->sets[i]->owned);
    myr_query_destroy(m->sets[i]->ghosts);
    free(m->sets[i]);
  }
  free(m->sets);
  free(m->table_set);
  m->sets = NULL;
  m->table_set = NULL;
  m->set_count = m->set_cap = m->table_set_cap = 0;
}

/* The set of comps[0..n) (ascending, no ghost tag), made with its queries
 * when new (none for a set without the position: not distributed).
 * Errors: MYR_ENOMEM, MYR_ELIMIT (more components with fields than a
 * query takes). */
static myr_status set_of(myr_mpi *m, const myr_component *comps, uint32_t n, set_q **out) {
  uint64_t sig = myr_mpx_signature(comps, n);
  for (uint32_t i = 0; i < m->set_count; i++)
    if (m->sets[i]->sig == sig && m->sets[i]->n == n && !memcmp(m->sets[i]->comps, comps, n * sizeof *comps)) {
      *out = m->sets[i];
      return MYR_OK;
    }
  if (m->set_count == m->set_cap) {
    uint32_t cap = m->set_cap ? m->set_cap * 2 : 8;
    set_q **p = realloc(m->sets, (size_t)cap * sizeof *p);
    if (!p) return MYR_ENOMEM;
    m->sets = p;
    m->set_cap = cap;
  }
  set_q *q = calloc(1, sizeof *q);
  if (!q) return MYR_ENOMEM;
  q->sig = sig;
  q->n = n;
  q->pos_term = q->key_term = -1;
  memcpy(q->comps, comps, n * sizeof *comps);
  myr_term terms[MYR_QUERY_MAX_TERMS];
  uint32_t t = 0;
  bool placed = false;
  for (uint32_t i = 0; i < n; i++) {
    const comp_layout *l = &m->layouts[comps[i]];
    q->term[i] = -1;
    if (!l->field_count) continue;
    if (m->d.has_key && comps[i] == m->d.key) q->key_at = q->packed;
    for (uint32_t f = 0; f < l->field_count; f++) q->packed += l->size[f];
    q->fields += l->field_count;
    q->has_links |= l->has_links;
    if (comps[i] == m->d.position) q->pos_term = (int32_t)t;
    if (m->d.has_key && comps[i] == m->d.key) q->key_term = (int32_t)t;
    if (t + 1 < MYR_QUERY_MAX_TERMS) terms[t] = (myr_term){comps[i], MYR_TERM_READ};
    q->term[i] = (int32_t)t++;
  }
  myr_status s = MYR_OK;
  if (q->pos_term >= 0) { /* distributed: queries to reach its columns */
    if (t + 1 > MYR_QUERY_MAX_TERMS) {
      myr_mpx_fail(m, "rank %d: a table of %u components with fields: ghosts take at most %u", m->rank, t,
                   MYR_QUERY_MAX_TERMS - 1);
      s = MYR_ELIMIT;
    }
    if (s == MYR_OK) s = myr_query_create(m->world, &(myr_query_desc){terms, t}, &q->owned);
    if (s == MYR_OK) { /* t < MYR_QUERY_MAX_TERMS here */
      for (uint32_t i = 0; i < t; i++) terms[i].kind = MYR_TERM_WRITE;
      terms[t] = (myr_term){m->ghost, MYR_TERM_WITH};
      s = myr_query_create(m->world, &(myr_query_desc){terms, t + 1}, &q->ghosts);
      placed = s == MYR_OK;
    }
  } else {
    placed = true;
  }
  if (!placed) {
    myr_query_destroy(q->owned);
    free(q);
    return s == MYR_ELIMIT ? s : MYR_ENOMEM;
  }
  q->index = m->set_count;
  m->sets[m->set_count++] = q;
  *out = q;
  return MYR_OK;
}

/* The set of a chunk's table (its components but the ghost tag), cached by
 * table id: set index + 1, 0 while unknown. */
static myr_status set_of_table(myr_mpi *m, const myr_chunk *ch, set_q **out) {
  if (ch->table >= m->table_set_cap) {
    uint32_t cap = m->table_set_cap ? m->table_set_cap : 64;
    while (cap <= ch->table) cap *= 2;
    uint32_t *p = realloc(m->table_set, (size_t)cap * sizeof *p);
    if (!p) return MYR_ENOMEM;
    memset(p + m->table_set_cap, 0, (size_t)(cap - m->table_set_cap) * sizeof *p);
    m->table_set = p;
    m->table_set_cap = cap;
  }
  if (!m->table_set[ch->table]) {
    myr_component comps[MYR_MAX_COMPONENTS];
    set_q *q;
    myr_status s = set_of(m, comps, myr_mpx_entity_comps(m, ch->ids[0], comps), &q);
    if (s != MYR_OK) return s;
    m->table_set[ch->table] = q->index + 1;
  }
  *out = m->sets[m->table_set[ch->table] - 1];
  return MYR_OK;
}

/* ---- sending -------------------------------------------------------------- */

/* v wrapped into [0, n). */
static inline int32_t wrap_cell(int32_t v, int32_t n) {
  if (v >= 0 && v < n) return v;
  v %= n;
  return v < 0 ? v + n : v;
}

/* The ranks whose regions come within the ghost width of p, but this one,
 * into m->seen; their count. */
static uint32_t ghost_targets(myr_mpi *m, const float *p) {
  const float w = m->d.ghost_width;
  int32_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0}, n[3] = {1, 1, 1};
  for (uint32_t a = 0; a < m->d.dims; a++) {
    n[a] = (int32_t)m->cells[a];
    if (m->d.wrap) { /* cells counted past the edges, wrapped below */
      lo[a] = (int32_t)floorf((p[a] - w - m->d.min[a]) * m->scale[a]);
      hi[a] = (int32_t)floorf((p[a] + w - m->d.min[a]) * m->scale[a]);
      if (hi[a] - lo[a] >= n[a]) lo[a] = 0, hi[a] = n[a] - 1;
    } else {
      lo[a] = (int32_t)myr_mpx_axis_cell(m, a, p[a] - w);
      hi[a] = (int32_t)myr_mpx_axis_cell(m, a, p[a] + w);
    }
  }
  const int32_t n0 = n[0], n01 = n[0] * n[1];
  uint32_t seen_count = 0; /* marked in m->mark while counted */
  for (int32_t z = lo[2]; z <= hi[2]; z++)
    for (int32_t y = lo[1]; y <= hi[1]; y++) {
      const uint16_t *row = m->cell_owner + n01 * wrap_cell(z, n[2]) + n0 * wrap_cell(y, n[1]);
      for (int32_t x = lo[0]; x <= hi[0]; x++) {
        int to = row[wrap_cell(x, n0)];
        if (to == m->rank || m->mark[to]) continue;
        m->mark[to] = 1;
        m->seen[seen_count++] = to;
      }
    }
  for (uint32_t i = 0; i < seen_count; i++) m->mark[m->seen[i]] = 0;
  return seen_count;
}

/* A chunk's columns, every field of every component in order (q->fields
 * of them). */
typedef struct chunk_cols {
  unsigned char **col;
  const set_q *q;
} chunk_cols;

static bool cols_of(const myr_mpi *m, const set_q *q, const myr_chunk *ch, chunk_cols *c) {
  c->q = q;
  c->col = malloc((q->fields ? q->fields : 1) * sizeof *c->col);
  if (!c->col) return false;
  uint32_t k = 0;
  for (uint32_t i = 0; i < q->n; i++) {
    const comp_layout *l = &m->layouts[q->comps[i]];
    for (uint32_t f = 0; f < l->field_count; f++) c->col[k++] = myr_chunk_column(ch, (uint32_t)q->term[i], f);
  }
  return true;
}

/* Copies row r's values out of the columns into dst (packed); links
 * become keys. */
static void pack_row(myr_mpi *m, const chunk_cols *c, myr_entity e, uint32_t r, unsigned char *dst) {
  const set_q *q = c->q;
  unsigned char *const *col = c->col;
  for (uint32_t i = 0; i < q->n; i++) {
    const comp_layout *l = &m->layouts[q->comps[i]];
    for (uint32_t f = 0; f < l->field_count; f++) {
      uint32_t size = l->size[f];
      memcpy(dst, *col++ + (size_t)r * size, size);
      if (l->type[f] == MYR_ENTITY) {
        myr_entity target;
        memcpy(&target, dst, 8);
        uint64_t k = myr_mpx_link_key(m, e, q->comps[i], f, target);
        memcpy(dst, &k, 8);
      }
      dst += size;
    }
  }
}

/* Appends row r of the chunk for rank `to`, in the chunk's block for it
 * (opened when absent: open[to] is its offset in out[to] + 1, 0 none). */
static myr_status put_ghost(myr_mpi *m, const chunk_cols *c, const myr_chunk *ch, uint32_t r, int to, size_t *open) {
  const set_q *q = c->q;
  mbuf *b = &m->out[to];
  size_t head = pad8(8 + 4 * (size_t)q->n), rec = pad8(q->packed);
  if (!myr_mpx_mbuf_reserve(b, head + rec)) return MYR_ENOMEM;
  if (!open[to]) {
    open[to] = b->size + 1;
    uint32_t hdr[2] = {q->n, 0};
    memcpy(b->data + b->size, hdr, 8);
    memcpy(b->data + b->size + 8, q->comps, 4 * (size_t)q->n);
    memset(b->data + b->size + 8 + 4 * (size_t)q->n, 0, head - 8 - 4 * (size_t)q->n);
    b->size += head;
  }
  unsigned char *at = b->data + b->size;
  memset(at + q->packed, 0, rec - q->packed);
  pack_row(m, c, ch->ids[r], r, at);
  b->size += rec;
  uint32_t k;
  memcpy(&k, b->data + open[to] - 1 + 4, 4);
  k++;
  memcpy(b->data + open[to] - 1 + 4, &k, 4);
  return MYR_OK;
}

static myr_status pack_set(myr_mpi *m, set_q *q) {
  if (!q->owned) return MYR_OK; /* not distributed */
  myr_query_iter it;
  myr_chunk ch;
  chunk_cols cc = {0}, *c = &cc;
  size_t *open = calloc((size_t)m->ranks, sizeof *open);
  uint32_t *cell = malloc(512 * sizeof *cell);
  myr_status s = open && cell ? MYR_OK : MYR_ENOMEM;
  if (s == MYR_OK) s = myr_query_iter_init(q->owned, 0, &it);
  while (s == MYR_OK && myr_query_next(&it, &ch)) {
    set_q *own;
    s = set_of_table(m, &ch, &own);
    if (s != MYR_OK || own != q) continue; /* a table with more components: its own set's query */
    if (q->key_term < 0) {
      myr_mpx_fail(m, "rank %d: entities with a position but no key (component %u) cannot be ghosted", m->rank,
                   m->d.key);
      s = MYR_EINVAL;
      break;
    }
    free(c->col);
    if (!cols_of(m, q, &ch, c)) {
      s = MYR_ENOMEM;
      break;
    }
    const float *pos[3] = {NULL, NULL, NULL};
    for (uint32_t a = 0; a < m->d.dims; a++) pos[a] = myr_chunk_column(&ch, (uint32_t)q->pos_term, m->d.axis[a]);
    const uint64_t *keys = myr_chunk_column(&ch, (uint32_t)q->key_term, 0);
    memset(open, 0, (size_t)m->ranks * sizeof *open);
    for (uint32_t at = 0; s == MYR_OK && at < ch.count; at += 512) {
      uint32_t n = ch.count - at < 512 ? ch.count - at : 512;
      const float *p3[3] = {pos[0] + at, pos[1] + at, pos[2] ? pos[2] + at : NULL};
      myr_mpx_cells_of_rows(m, p3, n, cell);
      for (uint32_t i = 0; s == MYR_OK && i < n; i++) {
        if (!m->near[cell[i]]) continue; /* deep inside the region */
        const float p[3] = {p3[0][i], p3[1][i], p3[2] ? p3[2][i] : 0.0f};
        uint32_t targets = ghost_targets(m, p);
        if (targets && !keys[at + i]) {
          myr_mpx_fail(m, "rank %d: an entity near another rank has the key 0", m->rank);
          s = MYR_EINVAL;
        }
        for (uint32_t t = 0; s == MYR_OK && t < targets; t++) {
          s = put_ghost(m, c, &ch, at + i, m->seen[t], open);
          m->stats.ghosts_sent++;
        }
      }
    }
  }
  free(c->col);
  free(open);
  free(cell);
  return s;
}

/* ---- receiving ------------------------------------------------------------ */

/* A received ghost: its record, its set, its sender, and the entity that
 * holds it here once known. */
typedef struct ghost_in {
  const unsigned char *values;
  set_q *q;
  int from;
  myr_entity e;
  bool changed; /* held here with other components */
} ghost_in;

static inline uint64_t key_of(const ghost_in *g) {
  uint64_t k;
  memcpy(&k, g->values + g->q->key_at, 8);
  return k;
}

/* Reads rank r's blocks into *list and m->map (key -> index + 1). */
static myr_status read_blocks(myr_mpi *m, int r, ghost_in **list, uint32_t *count, uint32_t *cap) {
  const unsigned char *in = m->in.data + m->rdispl[r];
  size_t size = (size_t)m->rcount[r], at = 0;
  myr_component comps[MYR_MAX_COMPONENTS];
  while (at < size) {
    uint32_t hdr[2];
    if (size - at < 8) return MYR_ECORRUPT;
    memcpy(hdr, in + at, 8);
    uint32_t n = hdr[0], k = hdr[1];
    if (n == 0 || n > m->component_count || n > MYR_MAX_COMPONENTS || size - at < pad8(8 + 4 * (size_t)n))
      return MYR_ECORRUPT;
    memcpy(comps, in + at + 8, 4 * (size_t)n);
    uint32_t with_fields = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (comps[i] >= m->component_count || comps[i] == m->ghost || (i && comps[i] <= comps[i - 1]))
        return MYR_ECORRUPT;
      with_fields += m->layouts[comps[i]].field_count != 0;
    }
    if (with_fields >= MYR_QUERY_MAX_TERMS) return MYR_ECORRUPT; /* no rank sends those */
    at += pad8(8 + 4 * (size_t)n);
    set_q *q;
    myr_status s = set_of(m, comps, n, &q);
    if (s != MYR_OK) return s;
    if (q->key_term < 0 || q->pos_term < 0) return MYR_ECORRUPT; /* a ghost without a key or a position */
    size_t rec = pad8(q->packed);
    if (k && (size - at) / rec < k) return MYR_ECORRUPT;
    if (*count + (uint64_t)k > UINT32_MAX - 1) return MYR_ECORRUPT;
    if (*count + k > *cap) {
      uint32_t c = *cap ? *cap : 1024;
      while (c < *count + k) c = c > UINT32_MAX / 2 ? UINT32_MAX - 1 : c * 2;
      ghost_in *p = realloc(*list, (size_t)c * sizeof *p);
      if (!p) return MYR_ENOMEM;
      *list = p;
      *cap = c;
    }
    for (uint32_t j = 0; j < k; j++, at += rec) {
      ghost_in g = {in + at, q, r, MYR_ENTITY_NULL, false};
      uint64_t key = key_of(&g);
      if (!key || myr_mpx_keymap_get(&m->map, key) != MYR_ENTITY_NULL) return MYR_ECORRUPT; /* 0, or twice */
      if (!myr_mpx_keymap_put(&m->map, key, (myr_entity)*count + 1)) return MYR_ENOMEM;
      (*list)[(*count)++] = g;
    }
  }
  return MYR_OK;
}

/* Links of a ghost's values (null in the world until now): each resolved
 * by key once every entity is in (myr_mpx_resolve_links). */
static myr_status links_later(myr_mpi *m, const ghost_in *g) {
  const set_q *q = g->q;
  const unsigned char *v = g->values;
  for (uint32_t i = 0; i < q->n; i++) {
    const comp_layout *l = &m->layouts[q->comps[i]];
    for (uint32_t f = 0; f < l->field_count; f++) {
      if (l->type[f] == MYR_ENTITY) {
        uint64_t k;
        memcpy(&k, v, 8);
        myr_status s = k ? myr_mpx_link_later(m, g->e, q->comps[i], f, k) : MYR_OK;
        if (s != MYR_OK) return s;
      }
      v += l->size[f];
    }
  }
  return MYR_OK;
}

/* Copies a field's packed value to dst: a link (a key here) as null. */
static inline void take_value(const comp_layout *l, uint32_t f, unsigned char *dst, const unsigned char *v) {
  if (l->type[f] == MYR_ENTITY) memset(dst, 0, 8);
  else memcpy(dst, v, l->size[f]);
}

/* Row structs of a ghost's components (for making it), in m->row. */
static void rows_of(myr_mpi *m, const ghost_in *g, const void **values) {
  const set_q *q = g->q;
  const unsigned char *v = g->values;
  for (uint32_t i = 0; i < q->n; i++) {
    const comp_layout *l = &m->layouts[q->comps[i]];
    unsigned char *row = m->row + (size_t)i * m->row_cap;
    memset(row, 0, l->row_size);
    for (uint32_t f = 0; f < l->field_count; f++) {
      take_value(l, f, row + l->offset[f], v);
      v += l->size[f];
    }
    values[i] = row;
  }
}

/* Every ghost here of set q: updated in its columns from what arrived,
 * marked changed (it arrived with other components), or dropped. */
static myr_status update_set(myr_mpi *m, set_q *q, ghost_in *list, id_list *drop) {
  if (!q->ghosts) return MYR_OK; /* not distributed */
  myr_query_iter it;
  myr_chunk ch;
  chunk_cols c = {0};
  myr_status s = myr_query_iter_init(q->ghosts, 0, &it);
  while (s == MYR_OK && myr_query_next(&it, &ch)) {
    set_q *own;
    s = set_of_table(m, &ch, &own);
    if (s != MYR_OK || own != q) continue;
    if (q->key_term < 0) { /* a ghost without a key: not one of ours, dropped */
      for (uint32_t r = 0; s == MYR_OK && r < ch.count; r++)
        if (!myr_mpx_id_push(drop, ch.ids[r])) s = MYR_ENOMEM;
      continue;
    }
    free(c.col);
    if (!cols_of(m, q, &ch, &c)) {
      s = MYR_ENOMEM;
      break;
    }
    const uint64_t *keys = myr_chunk_column(&ch, (uint32_t)q->key_term, 0);
    for (uint32_t r = 0; s == MYR_OK && r < ch.count; r++) {
      myr_entity i = keys[r] ? myr_mpx_keymap_get(&m->map, keys[r]) : MYR_ENTITY_NULL;
      if (i == MYR_ENTITY_NULL || list[i - 1].e != MYR_ENTITY_NULL) { /* not sent again (or a second copy) */
        if (!myr_mpx_id_push(drop, ch.ids[r])) s = MYR_ENOMEM;
        continue;
      }
      ghost_in *g = &list[i - 1];
      g->e = ch.ids[r];
      if (g->q != q) {
        g->changed = true;
        continue;
      }
      const unsigned char *v = g->values;
      unsigned char *const *col = c.col;
      for (uint32_t k = 0; k < q->n; k++) {
        const comp_layout *l = &m->layouts[q->comps[k]];
        for (uint32_t f = 0; f < l->field_count; f++) {
          take_value(l, f, *col++ + (size_t)r * l->size[f], v);
          v += l->size[f];
        }
      }
    }
  }
  free(c.col);
  return s;
}

myr_status myr_mpx_refresh_ghosts(myr_mpi *m) {
  if (!m->d.has_key || !(m->d.ghost_width > 0.0f)) return MYR_OK;
  for (int r = 0; r <= m->ranks; r++) m->out[r].size = 0;
  m->stats.ghosts_sent = 0;
  /* the sets of the owned tables, then each set's owned entities */
  myr_query_iter it;
  myr_chunk ch;
  set_q *q;
  myr_status s = myr_query_iter_init(m->owned_q, 0, &it);
  while (s == MYR_OK && myr_query_next(&it, &ch)) s = set_of_table(m, &ch, &q);
  for (uint32_t i = 0; s == MYR_OK && i < m->set_count; i++) s = pack_set(m, m->sets[i]);
  uint64_t sent = 0;
  myr_status x = myr_mpx_exchange(m, &sent); /* whatever happened: the ranks take part */
  if (s == MYR_OK) s = x;
  m->stats.bytes_ghosts += sent;
  /* the list is the new ghosts' once whole; meanwhile none (a ghost missing
   * from it is not taken for one destroyed by the program) */
  m->ghost_count = 0;
  m->ghost_index_fresh = false;
  if (s != MYR_OK) return s;

  ghost_in *list = NULL;
  uint32_t count = 0, cap = 0;
  myr_mpx_keymap_clear(&m->map);
  for (int r = 0; s == MYR_OK && r < m->ranks; r++) {
    s = read_blocks(m, r, &list, &count, &cap);
    if (s == MYR_ECORRUPT) myr_mpx_fail(m, "rank %d: a ghost message from rank %d does not decode", m->rank, r);
  }
  /* the ghosts here: the sets of their tables, then each set's ghosts */
  id_list drop = {0};
  if (s == MYR_OK) s = myr_query_iter_init(m->ghost_q, 0, &it);
  while (s == MYR_OK && myr_query_next(&it, &ch)) s = set_of_table(m, &ch, &q);
  for (uint32_t i = 0; s == MYR_OK && i < m->set_count; i++) s = update_set(m, m->sets[i], list, &drop);
  for (uint32_t i = 0; s == MYR_OK && i < drop.count; i++) s = myr_entity_destroy(m->world, drop.ids[i]);
  free(drop.ids);
  /* the new ones, and those whose components changed (in place: their ids
   * and links to them hold) */
  const void *values[MYR_MAX_COMPONENTS + 1];
  myr_component comps[MYR_MAX_COMPONENTS + 1];
  for (uint32_t i = 0; s == MYR_OK && i < count; i++) {
    ghost_in *g = &list[i];
    if (g->e != MYR_ENTITY_NULL && !g->changed) continue;
    rows_of(m, g, values);
    if (g->changed) {
      s = myr_mpx_change_set(m, g->e, g->q->comps, g->q->n, values);
    } else {
      memcpy(comps, g->q->comps, g->q->n * sizeof *comps);
      comps[g->q->n] = m->ghost;
      values[g->q->n] = NULL;
      s = myr_entity_create_with(m->world, comps, g->q->n + 1, values, &g->e);
    }
  }
  /* links, and the list of ghosts with their senders */
  if (s == MYR_OK && count > m->ghost_cap) {
    myr_entity *ids = realloc(m->ghost_ids, (size_t)count * sizeof *ids);
    if (ids) m->ghost_ids = ids;
    uint64_t *keys = realloc(m->ghost_keys, (size_t)count * sizeof *keys);
    if (keys) m->ghost_keys = keys;
    int *from = realloc(m->ghost_from, (size_t)count * sizeof *from);
    if (from) m->ghost_from = from;
    if (!ids || !keys || !from) s = MYR_ENOMEM;
    else m->ghost_cap = count;
  }
  for (uint32_t i = 0; s == MYR_OK && i < count; i++) {
    ghost_in *g = &list[i];
    if (g->q->has_links) s = links_later(m, g);
    m->ghost_keys[i] = key_of(g);
    m->ghost_ids[i] = g->e;
    m->ghost_from[i] = g->from;
  }
  if (s == MYR_OK) m->ghost_count = count;
  free(list);
  return s;
}
