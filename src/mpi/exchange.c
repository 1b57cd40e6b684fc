/* Entities as records: packed for migration, ghosts and restores, sent
 * between ranks, and made again on arrival (mpi_impl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi_impl.h"

/* ---- buffers and the key map ---------------------------------------------- */

bool myr_mpx_mbuf_reserve(mbuf *b, size_t more) {
  if (b->size + more <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->size + more) cap *= 2;
  unsigned char *p = realloc(b->data, cap);
  if (!p) return false;
  b->data = p;
  b->cap = cap;
  return true;
}

bool myr_mpx_mbuf_put(mbuf *b, const void *p, size_t n) {
  if (!myr_mpx_mbuf_reserve(b, n)) return false;
  if (n) memcpy(b->data + b->size, p, n);
  b->size += n;
  return true;
}

void myr_mpx_mbuf_free(mbuf *b) {
  free(b->data);
  *b = (mbuf){0};
}

static inline uint32_t key_slot(uint64_t key, uint32_t cap) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return (uint32_t)key & (cap - 1);
}

bool myr_mpx_keymap_put_aux(keymap *m, uint64_t key, myr_entity id, uint64_t aux) {
  if ((uint64_t)(m->count + 1) * 2 > m->cap) {
    uint32_t cap = m->cap ? m->cap * 2 : 1024;
    keymap n = {calloc(cap, sizeof *n.keys), calloc(cap, sizeof *n.ids), calloc(cap, sizeof *n.aux), cap, 0};
    if (!n.keys || !n.ids || !n.aux) {
      free(n.keys), free(n.ids), free(n.aux);
      return false;
    }
    for (uint32_t i = 0; i < m->cap; i++)
      if (m->keys[i]) myr_mpx_keymap_put_aux(&n, m->keys[i], m->ids[i], m->aux[i]);
    myr_mpx_keymap_free(m);
    *m = n;
  }
  uint32_t i = key_slot(key, m->cap);
  while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
  if (!m->keys[i]) m->count++;
  m->keys[i] = key;
  m->ids[i] = id;
  m->aux[i] = aux;
  return true;
}

bool myr_mpx_keymap_put(keymap *m, uint64_t key, myr_entity id) { return myr_mpx_keymap_put_aux(m, key, id, 0); }

static uint32_t keymap_slot(const keymap *m, uint64_t key) {
  if (!m->cap || !key) return UINT32_MAX;
  for (uint32_t i = key_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (!m->keys[i]) return UINT32_MAX;
    if (m->keys[i] == key) return i;
  }
}

myr_entity myr_mpx_keymap_get(const keymap *m, uint64_t key) {
  uint32_t i = keymap_slot(m, key);
  return i == UINT32_MAX ? MYR_ENTITY_NULL : m->ids[i];
}

uint64_t myr_mpx_keymap_aux(const keymap *m, uint64_t key) {
  uint32_t i = keymap_slot(m, key);
  return i == UINT32_MAX ? 0 : m->aux[i];
}

uint64_t myr_mpx_signature(const myr_component *comps, uint32_t n) {
  uint64_t h = 0x9ae16a3b2f90404full ^ n;
  for (uint32_t i = 0; i < n; i++) {
    h = (h ^ comps[i]) * 0xff51afd7ed558ccdull;
    h ^= h >> 29;
  }
  return h ? h : 1;
}

void myr_mpx_keymap_clear(keymap *m) {
  if (m->cap) memset(m->keys, 0, (size_t)m->cap * sizeof *m->keys);
  m->count = 0;
}

void myr_mpx_keymap_free(keymap *m) {
  free(m->keys);
  free(m->ids);
  free(m->aux);
  *m = (keymap){0};
}

/* ---- layouts -------------------------------------------------------------- */

myr_status myr_mpx_layouts_make(myr_mpi *m) {
  uint32_t n = myr_component_count(m->world);
  m->layouts = calloc(n ? n : 1, sizeof *m->layouts);
  if (!m->layouts) return MYR_ENOMEM;
  m->component_count = n;
  uint32_t widest = 16;
  for (myr_component c = 0; c < n; c++) {
    comp_layout *l = &m->layouts[c];
    uint32_t fields = 0;
    myr_status s = myr_component_info(m->world, c, &fields, 0, NULL);
    if (s != MYR_OK) return s;
    l->field_count = fields;
    l->offset = calloc(fields ? fields : 1, sizeof *l->offset);
    l->size = calloc(fields ? fields : 1, sizeof *l->size);
    l->type = calloc(fields ? fields : 1, sizeof *l->type);
    if (!l->offset || !l->size || !l->type) return MYR_ENOMEM;
    for (uint32_t f = 0; f < fields; f++) {
      myr_field fd;
      s = myr_component_info(m->world, c, NULL, f, &fd);
      if (s != MYR_OK) return s;
      l->offset[f] = (uint32_t)fd.offset;
      l->size[f] = fd.type == MYR_BYTES ? fd.size : myr_type_size(fd.type);
      l->type[f] = fd.type;
      l->has_links |= fd.type == MYR_ENTITY;
      if (l->offset[f] + l->size[f] > l->row_size) l->row_size = l->offset[f] + l->size[f];
    }
    if (l->row_size > widest) widest = l->row_size;
  }
  m->row_cap = (widest + 15u) & ~15u;
  m->row = aligned_alloc(16, (size_t)m->row_cap * (n ? n : 1));
  return m->row ? MYR_OK : MYR_ENOMEM;
}

void myr_mpx_layouts_free(myr_mpi *m) {
  for (uint32_t c = 0; m->layouts && c < m->component_count; c++) {
    free(m->layouts[c].offset);
    free(m->layouts[c].size);
    free(m->layouts[c].type);
  }
  free(m->layouts);
  free(m->row);
  m->layouts = NULL;
  m->row = NULL;
}

/* ---- packing -------------------------------------------------------------- */

/* The key a pending link of entity e holds for (c, f), 0 if none. An
 * entity's pending links are consecutive in m->links; m->pending maps the
 * entity to its first one (index + 1), made again when links were added. */
static uint64_t pending_key(myr_mpi *m, myr_entity e, myr_component c, uint32_t f) {
  if (!m->link_count) return 0;
  if (m->pending_built != m->link_count) {
    myr_mpx_keymap_clear(&m->pending);
    for (uint32_t i = m->link_count; i-- > 0;) /* the first of each entity's run wins */
      if (!myr_mpx_keymap_put(&m->pending, m->links[i].entity, (myr_entity)i + 1)) return 0;
    m->pending_built = m->link_count;
  }
  myr_entity first = myr_mpx_keymap_get(&m->pending, e);
  for (uint32_t i = first ? (uint32_t)first - 1 : m->link_count; i < m->link_count && m->links[i].entity == e; i++)
    if (m->links[i].component == c && m->links[i].field == f) return m->links[i].key;
  return 0;
}

static uint64_t key_in(const myr_world *w, bool has_key, myr_component key, myr_entity e) {
  uint64_t k = 0;
  if (has_key && e != MYR_ENTITY_NULL && myr_field_get(w, e, key, 0, MYR_U64, &k) != MYR_OK) k = 0;
  return k;
}

/* w's components are sent as map[c] (NULL: c), skip left out; the layouts
 * are this world's, which w shares (checked by the restore). */
myr_status myr_mpx_pack_from(myr_mpi *m, const myr_world *w, bool has_key, myr_component key, myr_component skip,
                             const myr_component *map, myr_entity e, mbuf *b) {
  uint64_t k = key_in(w, has_key, key, e);
  uint32_t n = 0, count = myr_component_count(w);
  size_t at = b->size;
  if (!myr_mpx_mbuf_put(b, &k, 8) || !myr_mpx_mbuf_put(b, &n, 4)) return MYR_ENOMEM;
  for (myr_component c = 0; c < count; c++) {
    if (c == skip || !myr_component_has(w, e, c)) continue;
    myr_component to = map ? map[c] : c;
    if (to >= m->component_count) return MYR_ECORRUPT; /* a component this world lacks */
    const comp_layout *l = &m->layouts[to];
    memset(m->row, 0, l->row_size);
    if (l->row_size && myr_component_get(w, e, c, m->row) != MYR_OK) return MYR_EINVAL;
    for (uint32_t f = 0; l->has_links && f < l->field_count; f++) {
      if (l->type[f] != MYR_ENTITY) continue;
      myr_entity target;
      memcpy(&target, m->row + l->offset[f], 8);
      uint64_t tk = key_in(w, has_key, key, target);
      /* a link that arrived and is not resolved yet travels on as its key */
      if (!tk && target == MYR_ENTITY_NULL && w == m->world) tk = pending_key(m, e, to, f);
      memcpy(m->row + l->offset[f], &tk, 8);
    }
    if (!myr_mpx_mbuf_put(b, &to, 4) || !myr_mpx_mbuf_put(b, m->row, l->row_size)) return MYR_ENOMEM;
    n++;
  }
  memcpy(b->data + at + 8, &n, 4);
  return MYR_OK;
}

uint64_t myr_mpx_link_key(myr_mpi *m, myr_entity e, myr_component c, uint32_t f, myr_entity target) {
  uint64_t k = key_in(m->world, m->d.has_key, m->d.key, target);
  return k || target != MYR_ENTITY_NULL ? k : pending_key(m, e, c, f);
}

uint32_t myr_mpx_entity_comps(const myr_mpi *m, myr_entity e, myr_component *comps) {
  uint32_t n = 0;
  for (myr_component c = 0; c < m->component_count; c++)
    if (c != m->ghost && myr_component_has(m->world, e, c)) comps[n++] = c;
  return n;
}

myr_status myr_mpx_pack_known(myr_mpi *m, myr_entity e, uint64_t key, const myr_component *comps, uint32_t n, mbuf *b) {
  size_t need = 12;
  for (uint32_t i = 0; i < n; i++) need += 4 + m->layouts[comps[i]].row_size;
  if (!myr_mpx_mbuf_reserve(b, need)) return MYR_ENOMEM;
  unsigned char *p = b->data + b->size;
  memcpy(p, &key, 8);
  memcpy(p + 8, &n, 4);
  p += 12;
  for (uint32_t i = 0; i < n; i++) {
    const comp_layout *l = &m->layouts[comps[i]];
    memcpy(p, &comps[i], 4);
    unsigned char *row = p + 4;
    if (l->row_size) {
      /* gathered into the aligned scratch row, then copied: the record's
       * bytes are unaligned */
      memset(m->row, 0, l->row_size);
      if (myr_component_get(m->world, e, comps[i], m->row) != MYR_OK) return MYR_EINVAL;
      for (uint32_t f = 0; l->has_links && f < l->field_count; f++) {
        if (l->type[f] != MYR_ENTITY) continue;
        myr_entity target;
        memcpy(&target, m->row + l->offset[f], 8);
        uint64_t tk = key_in(m->world, m->d.has_key, m->d.key, target);
        if (!tk && target == MYR_ENTITY_NULL) tk = pending_key(m, e, comps[i], f);
        memcpy(m->row + l->offset[f], &tk, 8);
      }
      memcpy(row, m->row, l->row_size);
    }
    p = row + l->row_size;
  }
  b->size = (size_t)(p - b->data);
  return MYR_OK;
}

/* ---- unpacking ------------------------------------------------------------ */

myr_status myr_mpx_link_later(myr_mpi *m, myr_entity e, myr_component c, uint32_t field, uint64_t key) {
  if (m->link_count == m->link_cap) {
    uint32_t cap = m->link_cap ? m->link_cap * 2 : 256;
    pending_link *p = realloc(m->links, (size_t)cap * sizeof *p);
    if (!p) return MYR_ENOMEM;
    m->links = p;
    m->link_cap = cap;
  }
  m->links[m->link_count++] = (pending_link){e, c, field, key};
  return MYR_OK;
}

/* True when e has exactly the components comps[0..n) besides the ghost tag. */
static bool same_set(const myr_mpi *m, myr_entity e, const myr_component *comps, uint32_t n) {
  uint32_t have = 0;
  for (myr_component c = 0; c < m->component_count; c++)
    if (c != m->ghost && myr_component_has(m->world, e, c)) have++;
  if (have != n) return false;
  for (uint32_t i = 0; i < n; i++)
    if (!myr_component_has(m->world, e, comps[i])) return false;
  return true;
}

myr_status myr_mpx_change_set(myr_mpi *m, myr_entity e, const myr_component *comps, uint32_t n,
                              const void *const *values) {
  uint32_t i = 0;
  for (myr_component c = 0; c < m->component_count; c++) {
    bool wanted = i < n && comps[i] == c;
    bool has = myr_component_has(m->world, e, c);
    myr_status s = MYR_OK;
    if (wanted && has && m->layouts[c].field_count) s = myr_component_set(m->world, e, c, values[i]);
    else if (wanted && !has) s = myr_component_add(m->world, e, c, values[i]);
    else if (!wanted && has && c != m->ghost) s = myr_component_remove(m->world, e, c);
    if (s != MYR_OK) return s;
    i += wanted;
  }
  return MYR_OK;
}

myr_status myr_mpx_unpack(myr_mpi *m, const unsigned char *in, size_t size, keymap *ghosts, uint64_t *got) {
  myr_component comps[MYR_MAX_COMPONENTS + 1];
  const void *values[MYR_MAX_COMPONENTS + 1];
  size_t at = 0;
  while (at < size) {
    uint64_t key;
    uint32_t n;
    if (size - at < 12) return MYR_ECORRUPT;
    memcpy(&key, in + at, 8);
    memcpy(&n, in + at + 8, 4);
    at += 12;
    if (n > m->component_count || n > MYR_MAX_COMPONENTS) return MYR_ECORRUPT;
    for (uint32_t i = 0; i < n; i++) {
      myr_component c;
      if (size - at < 4) return MYR_ECORRUPT;
      memcpy(&c, in + at, 4);
      at += 4;
      if (c >= m->component_count || c == m->ghost || (i && c <= comps[i - 1])) return MYR_ECORRUPT;
      const comp_layout *l = &m->layouts[c];
      if (size - at < l->row_size) return MYR_ECORRUPT;
      unsigned char *row = m->row + (size_t)i * m->row_cap;
      memcpy(row, in + at, l->row_size);
      at += l->row_size;
      comps[i] = c;
      values[i] = row;
    }
    /* links: keys now, ids once everything has arrived */
    myr_entity e = ghosts ? myr_mpx_keymap_get(ghosts, key) : MYR_ENTITY_NULL;
    if (e == MPI_KEPT) return MYR_ECORRUPT; /* the same entity twice */
    /* the ghost's components: known by their signature when the map has it */
    uint64_t sig = myr_mpx_signature(comps, n);
    if (e != MYR_ENTITY_NULL) {
      /* another component set: changed in place, so that the ghost keeps
       * its id and the links to it hold */
      bool same = myr_mpx_keymap_aux(ghosts, key) == sig || same_set(m, e, comps, n);
      if (!same && myr_mpx_change_set(m, e, comps, n, values) != MYR_OK) return MYR_EINVAL;
      for (uint32_t i = 0; same && i < n; i++)
        if (m->layouts[comps[i]].field_count && myr_component_set(m->world, e, comps[i], values[i]) != MYR_OK)
          return MYR_EINVAL;
      if (myr_component_remove(m->world, e, m->ghost) != MYR_OK) return MYR_EINVAL; /* owned now */
    } else {
      myr_status s = myr_entity_create_with(m->world, comps, n, values, &e);
      if (s != MYR_OK) return s;
    }
    if (ghosts && key && !myr_mpx_keymap_put(ghosts, key, MPI_KEPT)) return MYR_ENOMEM; /* kept: not to be dropped */
    for (uint32_t i = 0; i < n; i++) {
      const comp_layout *l = &m->layouts[comps[i]];
      for (uint32_t f = 0; l->has_links && f < l->field_count; f++) {
        if (l->type[f] != MYR_ENTITY) continue;
        uint64_t tk;
        memcpy(&tk, (const unsigned char *)values[i] + l->offset[f], 8);
        const myr_entity none = MYR_ENTITY_NULL;
        myr_status s = myr_field_set(m->world, e, comps[i], f, MYR_ENTITY, &none);
        if (s == MYR_OK && tk) s = myr_mpx_link_later(m, e, comps[i], f, tk);
        if (s != MYR_OK) return s;
      }
    }
    (*got)++;
  }
  return MYR_OK;
}

myr_status myr_mpx_find_keys(myr_mpi *m) {
  if (!m->map.count) return MYR_OK;
  myr_query *q;
  myr_status s = myr_query_create(
      m->world, &(myr_query_desc){(myr_term[]){{m->d.key, MYR_TERM_READ}, {m->ghost, MYR_TERM_OPTIONAL}}, 2}, &q);
  if (s != MYR_OK) return s;
  myr_query_iter it;
  myr_chunk ch;
  myr_query_iter_init(q, 0, &it);
  while (myr_query_next(&it, &ch)) {
    const uint64_t *k = myr_chunk_column(&ch, 0, 0);
    for (uint32_t i = 0; i < ch.count; i++) {
      if (!k[i]) continue;
      uint32_t slot = key_slot(k[i], m->map.cap);
      while (m->map.keys[slot] && m->map.keys[slot] != k[i]) slot = (slot + 1) & (m->map.cap - 1);
      if (m->map.keys[slot]) m->map.ids[slot] = ch.ids[i];
    }
  }
  myr_query_destroy(q);
  return MYR_OK;
}

/* The entities the pending links name, by key, into m->map. */
static myr_status find_link_targets(myr_mpi *m) {
  myr_mpx_keymap_clear(&m->map);
  for (uint32_t i = 0; i < m->link_count; i++)
    if (m->links[i].key && !myr_mpx_keymap_put(&m->map, m->links[i].key, MYR_ENTITY_NULL)) return MYR_ENOMEM;
  return myr_mpx_find_keys(m);
}

myr_status myr_mpx_resolve_links(myr_mpi *m) {
  if (!m->link_count) return MYR_OK;
  myr_status s = m->d.has_key ? find_link_targets(m) : MYR_OK;
  for (uint32_t i = 0; s == MYR_OK && i < m->link_count; i++) {
    const pending_link *l = &m->links[i];
    if (!myr_entity_alive(m->world, l->entity)) continue; /* a ghost replaced since */
    myr_entity to = m->d.has_key ? myr_mpx_keymap_get(&m->map, l->key) : MYR_ENTITY_NULL;
    s = myr_field_set(m->world, l->entity, l->component, l->field, MYR_ENTITY, &to);
  }
  m->link_count = 0;
  m->pending_built = 0;
  myr_mpx_keymap_clear(&m->pending);
  return s;
}

/* ---- sending -------------------------------------------------------------- */

myr_status myr_mpx_exchange(myr_mpi *m, uint64_t *bytes_sent) {
  double t0 = myr_mpx_now_ms();
  size_t total = 0;
  myr_status s = MYR_OK;
  for (int r = 0; r < m->ranks; r++) {
    if (m->out[r].size > (size_t)INT32_MAX - total) s = MYR_ELIMIT;
    total += m->out[r].size;
  }
  /* the segments back to back in out[ranks], the send buffer */
  mbuf *send = &m->out[m->ranks];
  send->size = 0;
  if (s == MYR_OK && !myr_mpx_mbuf_reserve(send, total ? total : 1)) s = MYR_ENOMEM;
  if (s != MYR_OK) { /* the ranks all take part: this one sends nothing, and says why when they agree */
    myr_mpx_fail(m, "rank %d: %s bytes to send to the other ranks: %s", m->rank,
                 s == MYR_ELIMIT ? "more than 2^31" : "no memory for the", myr_strerror(s));
    total = 0;
  }
  size_t at = 0;
  for (int r = 0; r < m->ranks; r++) {
    size_t n = s == MYR_OK ? m->out[r].size : 0;
    m->sdispl[r] = (int)at;
    m->scount[r] = (int)n;
    if (n) myr_mpx_mbuf_put(send, m->out[r].data, n);
    at += n;
    if (r != m->rank && bytes_sent) *bytes_sent += n;
  }
  MPI_Alltoall(m->scount, 1, MPI_INT, m->rcount, 1, MPI_INT, m->comm);
  size_t in = 0;
  for (int r = 0; r < m->ranks; r++) {
    m->rdispl[r] = (int)(in <= (size_t)INT32_MAX ? in : 0);
    in += (size_t)m->rcount[r];
  }
  m->in.size = 0;
  /* the senders have committed to sending: a rank that cannot take it all
   * has no way back for the ranks */
  if (in > (size_t)INT32_MAX || !myr_mpx_mbuf_reserve(&m->in, in ? in : 1)) {
    fprintf(stderr, "myriad: rank %d: %zu bytes from the other ranks: %s\n", m->rank, in,
            in > (size_t)INT32_MAX ? "more than 2^31 in one exchange" : "out of memory");
    MPI_Abort(m->comm, 1);
  }
  MPI_Alltoallv(send->data ? send->data : m->in.data, m->scount, m->sdispl, MPI_BYTE, m->in.data, m->rcount, m->rdispl,
                MPI_BYTE, m->comm);
  m->in.size = in;
  m->stats.comm_ms += myr_mpx_now_ms() - t0;
  return s;
}
