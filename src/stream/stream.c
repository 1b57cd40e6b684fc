/* The encoder: views of a world captured between frames, coded as a
 * keyframe or as a delta against a receiver's baseline (docs/stream.md). */
#include <math.h>
#include <stdlib.h>

#include "stream_impl.h"
#include "world_iface.h"

struct myr_stream {
  myr_stream_desc desc;
  myr_component kinds[MYR_STREAM_MAX_KINDS];
  double lo[3], scale[3]; /* quantisation: q = floor((v - lo) * scale) */
  uint32_t top;           /* 2^bits - 1 */
  uint32_t next_seq;
  /* the views: `places` of them, seq 0 for an empty place (whose arrays
   * may be kept for the next view); the newest at `newest` */
  sview *views;
  uint32_t places, newest;
  bool any; /* a view was committed */
  /* the views myr_stream_keep named, besides the history */
  uint32_t keep[MYR_STREAM_MAX_KEEP];
  uint32_t keep_count;
  /* per table, while capturing: where its positions, kind and colour are */
  struct tinfo {
    const float *axis[3];
    const uint32_t *color;
    uint8_t kind;
    bool has;
  } * tables;
  uint32_t table_cap;
  /* myr_stream_copy's copy, table by table, until committed */
  struct raw {
    uint64_t *ids;
    float *axis[3];
    uint32_t *color;
    uint8_t *kind;
    uint32_t count, cap, slots;
    uint64_t frame;
    bool ready;
  } raw;
  uint32_t *where; /* committing: per slot, its place in the copy */
  uint32_t where_cap;
  struct rec { /* committing: the copy quantised, one line's half per entity */
    uint32_t gen, color, q[3];
    uint8_t kind;
  } * recs;
  uint32_t rec_cap;
  /* encoding's scratch, kept between messages: the lists of places, and
   * the survivors' residuals as a bit stream of their own */
  uint32_t *destroyed, *spawned, *changed;
  uint32_t destroyed_cap, spawned_cap, changed_cap;
  wbuf res;
  size_t last_size; /* the last message's, to size the next one's buffer */
};

/* ---- making one ---------------------------------------------------------- */

static myr_status check_field(const myr_world *w, myr_component c, uint32_t field, myr_type type) {
  if (c >= world_component_count(w)) return MYR_ENOCOMP;
  const component_info *ci = world_component(w, c);
  if (field >= ci->field_count) return MYR_EFIELD;
  return ci->fields[field].type == type ? MYR_OK : MYR_ETYPE;
}

static myr_status check_desc(const myr_world *w, const myr_stream_desc *d) {
  if (d->dims != 2 && d->dims != 3) return MYR_EINVAL;
  if (d->bits > 24 || d->kind_count > MYR_STREAM_MAX_KINDS || (d->kind_count && !d->kinds) || d->history > 64)
    return MYR_EINVAL;
  for (uint32_t a = 0; a < d->dims; a++) {
    if (!isfinite(d->box_min[a]) || !isfinite(d->box_max[a]) || !(d->box_max[a] > d->box_min[a])) return MYR_EINVAL;
    myr_status st = check_field(w, d->position, d->fields[a], MYR_F32);
    if (st != MYR_OK) return st;
  }
  for (uint32_t k = 0; k < d->kind_count; k++)
    if (d->kinds[k] >= world_component_count(w)) return MYR_ENOCOMP;
  return d->has_color ? check_field(w, d->color, d->color_field, MYR_U32) : MYR_OK;
}

myr_status myr_stream_create(const myr_world *world, const myr_stream_desc *desc, myr_stream **out) {
  if (!world || !desc || !out) return MYR_EINVAL;
  myr_status st = check_desc(world, desc);
  if (st != MYR_OK) return st;
  myr_stream *s = calloc(1, sizeof *s);
  if (!s) return MYR_ENOMEM;
  s->desc = *desc;
  if (s->desc.bits == 0) s->desc.bits = 16;
  if (s->desc.history == 0) s->desc.history = MYR_STREAM_DEFAULT_HISTORY;
  for (uint32_t k = 0; k < desc->kind_count; k++) s->kinds[k] = desc->kinds[k];
  s->desc.kinds = desc->kind_count ? s->kinds : NULL;
  for (uint32_t a = 0; a < desc->dims; a++) {
    s->lo[a] = desc->box_min[a];
    s->scale[a] = ldexp(1.0, (int)s->desc.bits) / ((double)desc->box_max[a] - (double)desc->box_min[a]);
  }
  s->top = (uint32_t)((1ull << s->desc.bits) - 1);
  s->next_seq = 1;
  s->places = s->desc.history + 1 + MYR_STREAM_MAX_KEEP + 1;
  s->views = calloc(s->places, sizeof *s->views);
  if (!s->views) {
    free(s);
    return MYR_ENOMEM;
  }
  for (uint32_t i = 0; i < s->places; i++) s->views[i].dims = desc->dims, s->views[i].bits = s->desc.bits;
  *out = s;
  return MYR_OK;
}

void myr_stream_destroy(myr_stream *s) {
  if (!s) return;
  for (uint32_t i = 0; i < s->places; i++) sview_free(&s->views[i]);
  free(s->views);
  free(s->tables);
  free(s->raw.ids), free(s->raw.color), free(s->raw.kind);
  for (uint32_t a = 0; a < 3; a++) free(s->raw.axis[a]);
  free(s->where);
  free(s->recs);
  free(s->destroyed), free(s->spawned), free(s->changed);
  free(s->res.data);
  free(s);
}

const myr_stream_desc *myr_stream_description(const myr_stream *s) { return s ? &s->desc : NULL; }

/* ---- capturing ----------------------------------------------------------- */

static const sview *newest(const myr_stream *s) { return s->any ? &s->views[s->newest] : NULL; }

static const sview *find(const myr_stream *s, uint32_t seq) {
  for (uint32_t k = 0; seq && k < s->places; k++)
    if (s->views[k].seq == seq) return &s->views[k];
  return NULL;
}

/* Whether view seq stays once view `now` is the newest: one of the
 * history's newest views, or one myr_stream_keep named. */
static bool stays(const myr_stream *s, uint32_t seq, uint32_t now) {
  if (seq + s->desc.history >= now) return true;
  for (uint32_t k = 0; k < s->keep_count; k++)
    if (s->keep[k] == seq) return true;
  return false;
}

myr_status myr_stream_keep(myr_stream *s, const uint32_t *seqs, uint32_t count) {
  if (!s || (count && !seqs) || count > MYR_STREAM_MAX_KEEP) return MYR_EINVAL;
  for (uint32_t k = 0; k < count; k++) s->keep[k] = seqs[k];
  s->keep_count = count;
  return MYR_OK;
}

/* Where each table keeps what the stream reads; false when the world has
 * fewer components than the description names (another world). */
static bool map_tables(myr_stream *s, const myr_world *w) {
  const myr_stream_desc *d = &s->desc;
  if (check_desc(w, d) != MYR_OK) return false;
  uint32_t n = world_table_count(w);
  if (n > s->table_cap) {
    struct tinfo *t = realloc(s->tables, sizeof *t * n);
    if (!t) return false;
    s->tables = t;
    s->table_cap = n;
  }
  for (uint32_t i = 0; i < n; i++) {
    const table *t = world_table(w, i);
    struct tinfo *ti = &s->tables[i];
    *ti = (struct tinfo){0};
    int32_t col = table_comp_col(t, d->position);
    if (col < 0) continue;
    ti->has = true;
    for (uint32_t a = 0; a < d->dims; a++)
      ti->axis[a] = (const float *)(const void *)t->cols[col + (int32_t)d->fields[a]].data;
    for (uint32_t k = 0; k < d->kind_count && !ti->kind; k++)
      if (compset_has(&t->set, d->kinds[k])) ti->kind = (uint8_t)(k + 1);
    int32_t cc = d->has_color ? table_comp_col(t, d->color) : -1;
    if (cc >= 0) ti->color = (const uint32_t *)(const void *)t->cols[cc + (int32_t)d->color_field].data;
  }
  return true;
}

static inline uint32_t quantise(const myr_stream *s, uint32_t a, float v) {
  double t = ((double)v - s->lo[a]) * s->scale[a];
  if (!(t >= 0)) return 0; /* also NaN */
  return t >= (double)s->top ? s->top : (uint32_t)t;
}

/* Room for n entities in the copy; the old arrays stay on failure. */
static bool raw_reserve(struct raw *r, uint32_t n, uint32_t dims) {
  if (n <= r->cap) return true;
  uint32_t cap = n + n / 4 + 16;
  uint64_t *ids = malloc(sizeof *ids * cap);
  uint32_t *color = malloc(sizeof *color * cap);
  uint8_t *kind = malloc(cap);
  float *axis[3] = {NULL, NULL, NULL};
  bool ok = ids && color && kind;
  for (uint32_t a = 0; a < dims; a++) ok = ok && (axis[a] = malloc(sizeof(float) * cap)) != NULL;
  if (!ok) {
    free(ids), free(color), free(kind);
    for (uint32_t a = 0; a < 3; a++) free(axis[a]);
    return false;
  }
  free(r->ids), free(r->color), free(r->kind);
  for (uint32_t a = 0; a < 3; a++) free(r->axis[a]), r->axis[a] = axis[a];
  r->ids = ids, r->color = color, r->kind = kind, r->cap = cap;
  return true;
}

myr_status myr_stream_copy(myr_stream *s, const myr_world *w) {
  if (!s || !w) return MYR_EINVAL;
  if (world_running(w)) return MYR_EBUSY;
  if (check_desc(w, &s->desc) != MYR_OK) return MYR_EINVAL;
  if (!map_tables(s, w)) return MYR_ENOMEM;
  uint32_t n = 0, dims = s->desc.dims;
  for (uint32_t i = 0; i < world_table_count(w); i++)
    if (s->tables[i].has) n += world_table(w, i)->count;
  if (!raw_reserve(&s->raw, n, dims)) return MYR_ENOMEM;
  struct raw *r = &s->raw;
  uint32_t k = 0;
  for (uint32_t i = 0; i < world_table_count(w); i++) {
    const struct tinfo *ti = &s->tables[i];
    const table *t = world_table(w, i);
    if (!ti->has || t->count == 0) continue;
    memcpy(r->ids + k, t->ids, sizeof *r->ids * t->count);
    for (uint32_t a = 0; a < dims; a++) memcpy(r->axis[a] + k, ti->axis[a], sizeof(float) * t->count);
    if (ti->color) memcpy(r->color + k, ti->color, sizeof *r->color * t->count);
    else memset(r->color + k, 0, sizeof *r->color * t->count);
    memset(r->kind + k, ti->kind, t->count);
    k += t->count;
  }
  r->count = n;
  r->slots = world_view_of(w)->slot_count;
  r->frame = myr_world_frame(w);
  r->ready = true;
  return MYR_OK;
}

myr_status myr_stream_commit(myr_stream *s, uint32_t *seq) {
  if (!s || !s->raw.ready) return MYR_EINVAL;
  struct raw *r = &s->raw;
  uint32_t dims = s->desc.dims;
  if (r->slots > s->where_cap) {
    uint32_t *where = malloc(sizeof *where * r->slots);
    if (!where) return MYR_ENOMEM;
    free(s->where);
    s->where = where;
    s->where_cap = r->slots;
  }
  if (r->count > s->rec_cap) {
    struct rec *recs = malloc(sizeof *recs * r->count);
    if (!recs) return MYR_ENOMEM;
    free(s->recs);
    s->recs = recs;
    s->rec_cap = r->count;
  }
  /* The new view takes an empty place, or the place of a view that would
   * go anyway (the oldest such), preferring one whose arrays are big
   * enough already. There is always one: at most history + keep_count
   * views stay besides it. */
  uint32_t now = s->next_seq, at = UINT32_MAX;
  for (uint32_t k = 0; k < s->places; k++) {
    const sview *c = &s->views[k];
    if (c->seq && stays(s, c->seq, now)) continue;
    bool fits = c->cap >= r->count, at_fits = at != UINT32_MAX && s->views[at].cap >= r->count;
    if (at == UINT32_MAX || (fits && !at_fits) || (fits == at_fits && c->seq < s->views[at].seq)) at = k;
  }
  sview *v = &s->views[at];
  if (!sview_reserve(v, r->count ? r->count : 1, false)) return MYR_ENOMEM;
  /* in the copy's order: quantise, and note where each slot is; then in
   * slot order, one record read per entity */
  if (r->slots) memset(s->where, 0xff, sizeof *s->where * r->slots);
  for (uint32_t k = 0; k < r->count; k++) {
    struct rec *e = &s->recs[k];
    e->gen = (uint32_t)(r->ids[k] >> 32);
    e->color = r->color[k];
    e->kind = r->kind[k];
    for (uint32_t a = 0; a < dims; a++) e->q[a] = quantise(s, a, r->axis[a][k]);
    s->where[(uint32_t)r->ids[k]] = k;
  }
  uint32_t n = 0;
  vhash h = vhash_begin();
  for (uint32_t slot = 0; slot < r->slots; slot++) {
    /* the records are read in random order: ask for one 16 slots ahead */
    if (slot + 16 < r->slots && s->where[slot + 16] != UINT32_MAX) __builtin_prefetch(&s->recs[s->where[slot + 16]]);
    uint32_t k = s->where[slot];
    if (k == UINT32_MAX) continue;
    const struct rec *e = &s->recs[k];
    v->slot[n] = slot;
    v->gen[n] = e->gen;
    v->kind[n] = e->kind;
    v->color[n] = e->color;
    for (uint32_t a = 0; a < dims; a++) v->q[(size_t)n * dims + a] = e->q[a];
    vhash_entity(&h, slot, e->gen, e->kind, e->color, e->q, dims);
    n++;
  }
  v->count = n;
  v->seq = s->next_seq++;
  v->frame = r->frame;
  v->span = 0;
  v->hash = vhash_end(h, n);
  s->newest = at;
  s->any = true;
  /* the views that go: their places are empty; the arrays of one stay for
   * the next view, the others are freed */
  bool spare = false;
  for (uint32_t k = 0; k < s->places; k++) {
    sview *c = &s->views[k];
    if (k == at || stays(s, c->seq, v->seq)) continue;
    c->seq = 0;
    if (c->cap && spare) sview_free(c);
    spare = spare || c->cap;
  }
  r->ready = false;
  if (seq) *seq = v->seq;
  return MYR_OK;
}

myr_status myr_stream_capture(myr_stream *s, const myr_world *w, uint32_t *seq) {
  myr_status st = myr_stream_copy(s, w);
  return st == MYR_OK ? myr_stream_commit(s, seq) : st;
}

bool myr_stream_holds(const myr_stream *s, uint32_t seq) { return s && seq && find(s, seq) != NULL; }
uint32_t myr_stream_seq(const myr_stream *s) { return s && s->any ? newest(s)->seq : 0; }
uint32_t myr_stream_count(const myr_stream *s) { return s && s->any ? newest(s)->count : 0; }
uint64_t myr_stream_hash(const myr_stream *s) { return s && s->any ? newest(s)->hash : 0; }

/* ---- coding -------------------------------------------------------------- */

static void put_header(wbuf *b, const myr_stream *s, const sview *v, uint32_t type, uint32_t base) {
  put_u8(b, type);
  put_u8(b, MYR_STREAM_VERSION);
  put_u8(b, s->desc.dims);
  put_u8(b, s->desc.bits);
  put_u8(b, (s->desc.kind_count ? FLAG_KINDS : 0) | (s->desc.has_color ? FLAG_COLOR : 0));
  put_u8(b, 0), put_u8(b, 0), put_u8(b, 0);
  put_u32(b, v->seq);
  put_u32(b, base);
  put_u64(b, v->frame);
  put_u32(b, v->count);
  put_u64(b, v->hash);
}

static void put_attrs(wbuf *b, const myr_stream *s, const sview *v, uint32_t i) {
  if (s->desc.kind_count) put_u8(b, v->kind[i]);
  if (s->desc.has_color) put_u32(b, v->color[i]);
}

/* Writes a list of slots (indices into v) as slot gaps. */
static void put_slots(wbuf *b, const sview *v, const uint32_t *idx, uint32_t n) {
  put_varint(b, n);
  int64_t prev = -1;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t slot = v->slot[idx[k]];
    put_varint(b, (uint32_t)(slot - prev - 1));
    prev = slot;
  }
}

static void put_spawned(wbuf *b, const myr_stream *s, const sview *v, const uint32_t *idx, uint32_t n) {
  put_varint(b, n);
  int64_t prev = -1;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t i = idx[k];
    put_varint(b, (uint32_t)(v->slot[i] - prev - 1));
    prev = v->slot[i];
    put_varint(b, v->gen[i]);
    put_attrs(b, s, v, i);
  }
  for (uint32_t k = 0; k < n; k++)
    for (uint32_t a = 0; a < s->desc.dims; a++) put_bits(b, v->q[(size_t)idx[k] * s->desc.dims + a], s->desc.bits);
  put_bits_end(b);
}

/* One block of survivors' residuals (zigzag codes, dims each): its width
 * in 5 bits, then every code in that many. */
static void put_block(wbuf *b, const uint32_t *res, uint32_t n) {
  uint32_t any = 0;
  for (uint32_t k = 0; k < n; k++) any |= res[k];
  uint32_t w = bit_width(any);
  put_bits(b, w, 5);
  if (w)
    for (uint32_t k = 0; k < n; k++) put_bits(b, res[k], w);
}

typedef struct lists {
  uint32_t *destroyed, *spawned, *changed, nd, ns, nc;
} lists;

/* Walks base and the new view in slot order: who was destroyed, spawned
 * and changed, and every survivor's residual, packed into s->res block by
 * block as the walk goes. A survivor's predicted step is the one the
 * receiver saw from prev to base (0 when it was not in prev), found by a
 * third walk over prev alongside. */
static inline __attribute__((always_inline)) void classify_dims(myr_stream *s, const sview *base, const sview *prev,
                                                                const sview *v, lists *l, const uint32_t dims) {
  uint32_t f = step_of(v->frame, base->frame), i = 0, j = 0, p = 0, inblock = 0;
  uint32_t span = prev ? step_of(base->frame, prev->frame) : 0;
  uint32_t block[BLOCK * 3];
  while (i < base->count || j < v->count) {
    bool in_base = i < base->count, in_new = j < v->count;
    if (in_base && in_new && base->slot[i] == v->slot[j] && base->gen[i] == v->gen[j]) {
      if (base->kind[i] != v->kind[j] || base->color[i] != v->color[j]) l->changed[l->nc++] = j;
      while (prev && p < prev->count && prev->slot[p] < base->slot[i]) p++;
      bool moved = prev && p < prev->count && prev->slot[p] == base->slot[i] && prev->gen[p] == base->gen[i];
      const uint32_t *qb = &base->q[(size_t)i * dims], *qn = &v->q[(size_t)j * dims];
      const uint32_t *qp = moved ? &prev->q[(size_t)p * dims] : qb;
      for (uint32_t a = 0; a < dims; a++) {
        int64_t pred = predict(qb[a], (int32_t)(qb[a] - qp[a]), moved ? span : 0, f, s->top);
        block[inblock * dims + a] = zigzag((int32_t)((int64_t)qn[a] - pred));
      }
      if (++inblock == BLOCK) put_block(&s->res, block, BLOCK * dims), inblock = 0;
      i++, j++;
    } else if (in_base && (!in_new || base->slot[i] <= v->slot[j])) {
      l->destroyed[l->nd++] = i++; /* gone, or its slot has a new occupant */
    } else {
      l->spawned[l->ns++] = j++;
    }
  }
  if (inblock) put_block(&s->res, block, inblock * dims);
  put_bits_end(&s->res);
}

/* The walk, compiled once per dimension count (the axis loops unrolled). */
static void classify(myr_stream *s, const sview *base, const sview *prev, const sview *v, lists *l) {
  if (s->desc.dims == 3) classify_dims(s, base, prev, v, l, 3);
  else classify_dims(s, base, prev, v, l, 2);
}

/* Room in a kept array for n entries (its old contents are not kept). */
static bool scratch(uint32_t **a, uint32_t *cap, uint32_t n) {
  if (n <= *cap && *a) return true;
  uint32_t c = n + n / 4 + 64;
  uint32_t *x = malloc(sizeof *x * c);
  if (!x) return false;
  free(*a);
  *a = x;
  *cap = c;
  return true;
}

myr_status myr_stream_encode(myr_stream *s, uint32_t base_seq, uint32_t prev_seq, unsigned char **data, size_t *size,
                             uint32_t *used) {
  if (!s || !data || !size || !s->any) return MYR_EINVAL;
  const sview *v = newest(s);
  if ((base_seq && base_seq >= v->seq) || (prev_seq && (base_seq == 0 || prev_seq >= base_seq))) return MYR_EINVAL;
  const sview *base = base_seq ? find(s, base_seq) : NULL, *prev = prev_seq ? find(s, prev_seq) : NULL;
  if (prev_seq && !prev) base = NULL; /* the receiver's steps are unknown: a keyframe */
  static const sview empty = {0};
  const sview *from = base ? base : &empty;
  if (!scratch(&s->destroyed, &s->destroyed_cap, from->count + 1) ||
      !scratch(&s->spawned, &s->spawned_cap, v->count + 1) || !scratch(&s->changed, &s->changed_cap, v->count + 1))
    return MYR_ENOMEM;
  lists l = {.destroyed = s->destroyed, .spawned = s->spawned, .changed = s->changed};
  s->res.size = 0, s->res.failed = false, s->res.acc = 0, s->res.nacc = 0;
  classify(s, from, base ? prev : NULL, v, &l);
  wbuf b = {0};
  if (s->res.failed || !wbuf_room(&b, s->last_size + s->last_size / 8 + HEADER_SIZE + 64)) {
    free(b.data);
    return MYR_ENOMEM;
  }
  put_header(&b, s, v, base ? MYR_STREAM_DELTA : MYR_STREAM_KEYFRAME, base ? base->seq : 0);
  put_slots(&b, from, l.destroyed, l.nd);
  put_spawned(&b, s, v, l.spawned, l.ns);
  put_varint(&b, l.nc);
  int64_t last = -1;
  for (uint32_t k = 0; k < l.nc; k++) {
    uint32_t j = l.changed[k];
    put_varint(&b, (uint32_t)(v->slot[j] - last - 1));
    last = v->slot[j];
    put_attrs(&b, s, v, j);
  }
  if (s->res.size && wbuf_room(&b, s->res.size)) {
    memcpy(b.data + b.size, s->res.data, s->res.size);
    b.size += s->res.size;
  }
  if (b.failed) {
    free(b.data);
    return MYR_ENOMEM;
  }
  s->last_size = b.size;
  *data = b.data;
  *size = b.size;
  if (used) *used = base ? base->seq : 0;
  return MYR_OK;
}

myr_status myr_stream_peek(const void *data, size_t size, myr_stream_header *out) {
  if (!data || !out) return MYR_EINVAL;
  rbuf r = {.p = data, .end = (const unsigned char *)data + size};
  myr_stream_header h = {0};
  h.type = get_u8(&r);
  uint32_t version = get_u8(&r);
  h.dims = get_u8(&r);
  h.bits = get_u8(&r);
  uint32_t flags = get_u8(&r), zero = get_u8(&r) | get_u8(&r) | get_u8(&r);
  h.kinds = flags & FLAG_KINDS;
  h.color = flags & FLAG_COLOR;
  h.seq = get_u32(&r);
  h.base = get_u32(&r);
  h.frame = get_u64(&r);
  h.count = get_u32(&r);
  h.hash = get_u64(&r);
  if (r.bad || version != MYR_STREAM_VERSION || zero || (flags & ~(FLAG_KINDS | FLAG_COLOR)) ||
      (h.type != MYR_STREAM_KEYFRAME && h.type != MYR_STREAM_DELTA) || (h.dims != 2 && h.dims != 3) || h.bits < 1 ||
      h.bits > 24 || h.seq == 0 || (h.type == MYR_STREAM_KEYFRAME) != (h.base == 0) || (h.base && h.base >= h.seq))
    return MYR_ECORRUPT;
  *out = h;
  return MYR_OK;
}
