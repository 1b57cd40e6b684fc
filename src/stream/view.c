/* The decoder: keyframes and deltas applied to a read-only view, checked
 * whole before anything changes (docs/stream.md). */
#include <stdlib.h>

#include "stream_impl.h"

/* Up to `keep` views, each stamped with when it was last applied or used
 * as a base; a new one takes the place of the view of its seq if one is
 * held (the newer replaces it), else of an empty place, else of the least
 * recently used view. */
struct myr_stream_view {
  sview *views;
  uint64_t *stamp; /* per place: when its view was applied (0: empty) */
  uint64_t clock;
  uint32_t keep, newest;
};

myr_status myr_stream_view_create(uint32_t keep, myr_stream_view **out) {
  if (!out || keep > 64) return MYR_EINVAL;
  myr_stream_view *v = calloc(1, sizeof *v);
  if (!v) return MYR_ENOMEM;
  v->keep = keep ? keep : 8;
  v->views = calloc(v->keep, sizeof *v->views);
  v->stamp = calloc(v->keep, sizeof *v->stamp);
  if (!v->views || !v->stamp) {
    free(v->views), free(v->stamp);
    free(v);
    return MYR_ENOMEM;
  }
  *out = v;
  return MYR_OK;
}

void myr_stream_view_destroy(myr_stream_view *v) {
  if (!v) return;
  for (uint32_t i = 0; i < v->keep; i++) sview_free(&v->views[i]);
  free(v->views);
  free(v->stamp);
  free(v);
}

static const sview *newest(const myr_stream_view *v) { return v && v->clock ? &v->views[v->newest] : NULL; }

/* The place of view seq, or UINT32_MAX. */
static uint32_t place_of(const myr_stream_view *v, uint32_t seq) {
  for (uint32_t k = 0; k < v->keep; k++)
    if (v->stamp[k] && v->views[k].seq == seq) return k;
  return UINT32_MAX;
}

static const sview *find(const myr_stream_view *v, uint32_t seq) {
  uint32_t k = place_of(v, seq);
  return k == UINT32_MAX ? NULL : &v->views[k];
}

/* A list of ascending slots coded as gaps; false when it does not fit. */
static bool get_gap(rbuf *r, int64_t *prev, uint32_t *slot) {
  uint64_t s = (uint64_t)(*prev + 1) + get_varint(r);
  if (r->bad || s > UINT32_MAX) return false;
  *slot = (uint32_t)s;
  *prev = (int64_t)s;
  return true;
}

/* What a message says, read into scratch arrays before the view changes. */
typedef struct parsed {
  uint32_t nd, ns, nc;
  uint32_t *destroyed;                  /* slots */
  uint32_t *sslot, *sgen, *scolor, *sq; /* spawned */
  uint8_t *skind;
  uint32_t *cslot, *ccolor; /* changed */
  uint8_t *ckind;
} parsed;

static void parsed_free(parsed *p) {
  free(p->destroyed), free(p->sslot), free(p->sgen), free(p->scolor), free(p->sq), free(p->skind);
  free(p->cslot), free(p->ccolor), free(p->ckind);
}

/* Every list has at least one byte per entry, so `left` bytes bound n. */
static bool sane_count(const rbuf *r, uint32_t n) { return !r->bad && n <= (size_t)(r->end - r->p); }

static void get_attrs(rbuf *r, bool kinds, bool color, uint8_t *kind, uint32_t *col) {
  *kind = kinds ? (uint8_t)get_u8(r) : 0;
  *col = color ? get_u32(r) : 0;
}

static myr_status parse_lists(rbuf *r, const myr_stream_header *h, bool kinds, bool color, parsed *p) {
  p->nd = get_varint(r);
  if (!sane_count(r, p->nd)) return MYR_ECORRUPT;
  p->destroyed = malloc(sizeof *p->destroyed * (p->nd + 1u));
  if (!p->destroyed) return MYR_ENOMEM;
  int64_t prev = -1;
  for (uint32_t k = 0; k < p->nd; k++)
    if (!get_gap(r, &prev, &p->destroyed[k])) return MYR_ECORRUPT;

  p->ns = get_varint(r);
  if (!sane_count(r, p->ns)) return MYR_ECORRUPT;
  size_t n = (size_t)p->ns + 1;
  p->sslot = malloc(sizeof *p->sslot * n), p->sgen = malloc(sizeof *p->sgen * n);
  p->scolor = malloc(sizeof *p->scolor * n), p->skind = malloc(n), p->sq = malloc(sizeof *p->sq * n * h->dims);
  if (!p->sslot || !p->sgen || !p->scolor || !p->skind || !p->sq) return MYR_ENOMEM;
  prev = -1;
  for (uint32_t k = 0; k < p->ns; k++) {
    if (!get_gap(r, &prev, &p->sslot[k])) return MYR_ECORRUPT;
    p->sgen[k] = get_varint(r);
    get_attrs(r, kinds, color, &p->skind[k], &p->scolor[k]);
  }
  if (r->bad || (uint64_t)p->ns * h->dims * h->bits > (uint64_t)(r->end - r->p) * 8) return MYR_ECORRUPT;
  for (size_t k = 0; k < (size_t)p->ns * h->dims; k++) p->sq[k] = get_bits(r, h->bits);
  get_bits_end(r);

  p->nc = get_varint(r);
  if (!sane_count(r, p->nc)) return MYR_ECORRUPT;
  n = (size_t)p->nc + 1;
  p->cslot = malloc(sizeof *p->cslot * n), p->ccolor = malloc(sizeof *p->ccolor * n), p->ckind = malloc(n);
  if (!p->cslot || !p->ccolor || !p->ckind) return MYR_ENOMEM;
  prev = -1;
  for (uint32_t k = 0; k < p->nc; k++) {
    if (!get_gap(r, &prev, &p->cslot[k])) return MYR_ECORRUPT;
    get_attrs(r, kinds, color, &p->ckind[k], &p->ccolor[k]);
  }
  return r->bad ? MYR_ECORRUPT : MYR_OK;
}

/* Builds the new view from base and the lists: survivors first take their
 * baseline's values and are moved afterwards by the residuals. */
static myr_status build(rbuf *r, const myr_stream_header *h, const sview *base, const parsed *p, sview *out) {
  uint32_t dims = h->dims, top = (uint32_t)((1ull << h->bits) - 1);
  uint64_t total = (uint64_t)base->count + p->ns;
  if (p->nd > base->count || total - p->nd != h->count) return MYR_ECORRUPT;
  out->dims = dims;
  out->bits = h->bits;
  if (!sview_reserve(out, h->count ? h->count : 1, true)) return MYR_ENOMEM;
  uint32_t f = step_of(h->frame, base->frame), i = 0, d = 0, sp = 0, c = 0, n = 0;
  /* survivors' places in out, and in base, for the residual pass */
  uint32_t *sv = malloc(sizeof *sv * ((size_t)h->count + 1)), *sb = malloc(sizeof *sb * ((size_t)h->count + 1));
  if (!sv || !sb) {
    free(sv), free(sb);
    return MYR_ENOMEM;
  }
  uint32_t nsurv = 0;
  myr_status st = MYR_OK;
  while (st == MYR_OK && (i < base->count || sp < p->ns)) {
    bool take_base =
        i < base->count && (sp >= p->ns || base->slot[i] < p->sslot[sp] ||
                            (base->slot[i] == p->sslot[sp] && d < p->nd && p->destroyed[d] == base->slot[i]));
    if (n >= h->count && !(take_base && d < p->nd && p->destroyed[d] == base->slot[i])) {
      st = MYR_ECORRUPT;
      break;
    }
    if (take_base) {
      if (d < p->nd && p->destroyed[d] == base->slot[i]) { /* destroyed */
        d++, i++;
        continue;
      }
      if (d < p->nd && p->destroyed[d] < base->slot[i]) { /* names a slot base lacks */
        st = MYR_ECORRUPT;
        break;
      }
      out->slot[n] = base->slot[i], out->gen[n] = base->gen[i];
      out->kind[n] = base->kind[i], out->color[n] = base->color[i];
      if (c < p->nc && p->cslot[c] == base->slot[i]) out->kind[n] = p->ckind[c], out->color[n] = p->ccolor[c++];
      else if (c < p->nc && p->cslot[c] < base->slot[i]) st = MYR_ECORRUPT; /* a change of no survivor */
      sv[nsurv] = n, sb[nsurv++] = i;
      n++, i++;
    } else {
      if (i < base->count && base->slot[i] == p->sslot[sp]) { /* a live slot spawned again */
        st = MYR_ECORRUPT;
        break;
      }
      out->slot[n] = p->sslot[sp], out->gen[n] = p->sgen[sp];
      out->kind[n] = p->skind[sp], out->color[n] = p->scolor[sp];
      for (uint32_t a = 0; a < dims; a++) {
        uint32_t q = p->sq[(size_t)sp * dims + a];
        if (q > top) st = MYR_ECORRUPT;
        out->q[(size_t)n * dims + a] = q;
        out->dq[(size_t)n * dims + a] = 0;
      }
      if (c < p->nc && p->cslot[c] <= p->sslot[sp]) st = MYR_ECORRUPT; /* a change of a spawned entity */
      n++, sp++;
    }
  }
  if (st == MYR_OK && (n != h->count || d != p->nd || c != p->nc)) st = MYR_ECORRUPT;
  /* the survivors' residuals, in blocks */
  for (uint32_t lo = 0; st == MYR_OK && lo < nsurv; lo += BLOCK) {
    uint32_t hi = nsurv - lo < BLOCK ? nsurv : lo + BLOCK, w = get_bits(r, 5);
    if (w > MAX_WIDTH || r->bad || (uint64_t)(hi - lo) * dims * w > (uint64_t)(r->end - r->p) * 8 + r->nacc) {
      st = MYR_ECORRUPT;
      break;
    }
    for (uint32_t k = lo; k < hi; k++)
      for (uint32_t a = 0; a < dims; a++) {
        size_t bi = (size_t)sb[k] * dims + a, oi = (size_t)sv[k] * dims + a;
        int64_t q = predict(base->q[bi], base->dq[bi], base->span, f, top) + unzigzag(get_bits(r, w));
        if (q < 0 || q > top) st = MYR_ECORRUPT;
        out->q[oi] = (uint32_t)q;
        out->dq[oi] = (int32_t)((int64_t)out->q[oi] - base->q[bi]);
      }
  }
  get_bits_end(r);
  free(sv), free(sb);
  if (st != MYR_OK) return st;
  if (r->bad || r->p != r->end) return MYR_ECORRUPT;
  out->count = h->count;
  out->seq = h->seq;
  out->frame = h->frame;
  out->span = base->seq ? f : 0;
  sview_hash(out);
  return out->hash == h->hash ? MYR_OK : MYR_ECORRUPT;
}

myr_status myr_stream_view_apply(myr_stream_view *v, const void *data, size_t size, uint32_t *seq) {
  if (!v || !data) return MYR_EINVAL;
  myr_stream_header h;
  if (myr_stream_peek(data, size, &h) != MYR_OK) return MYR_ECORRUPT;
  uint32_t flags = (h.kinds ? FLAG_KINDS : 0) | (h.color ? FLAG_COLOR : 0);
  static const sview empty = {0};
  const sview *base = &empty;
  if (h.type == MYR_STREAM_DELTA) {
    base = find(v, h.base);
    if (!base) return MYR_ENOTFOUND;
    if (base->dims != h.dims || base->bits != h.bits || base->flags != flags) return MYR_ECORRUPT;
  }
  /* The new view is built apart and only put in place once it checks
   * out, so that a failure keeps every view as it was. */
  sview fresh = {0};
  rbuf r = {.p = (const unsigned char *)data + HEADER_SIZE, .end = (const unsigned char *)data + size};
  parsed p = {0};
  myr_status st = parse_lists(&r, &h, h.kinds, h.color, &p);
  if (st == MYR_OK) st = build(&r, &h, base, &p, &fresh);
  parsed_free(&p);
  if (st != MYR_OK) {
    sview_free(&fresh);
    return st;
  }
  fresh.flags = flags;
  /* a baseline in use is kept: places go least recently used (applied,
   * or used as a base), so a sender still coding against an old ack does
   * not see it dropped by the views it sent meanwhile */
  if (h.type == MYR_STREAM_DELTA) v->stamp[base - v->views] = ++v->clock;
  uint32_t at = place_of(v, h.seq);
  for (uint32_t k = 0; at == UINT32_MAX && k < v->keep; k++)
    if (!v->stamp[k]) at = k;
  if (at == UINT32_MAX) /* every place full: the least recently applied */
    for (uint32_t k = 0; k < v->keep; k++)
      if (at == UINT32_MAX || v->stamp[k] < v->stamp[at]) at = k;
  sview_free(&v->views[at]);
  v->views[at] = fresh;
  v->stamp[at] = ++v->clock;
  v->newest = at;
  if (seq) *seq = h.seq;
  return MYR_OK;
}

uint32_t myr_stream_view_seq(const myr_stream_view *v) { return newest(v) ? newest(v)->seq : 0; }
uint64_t myr_stream_view_frame(const myr_stream_view *v) { return newest(v) ? newest(v)->frame : 0; }
uint32_t myr_stream_view_count(const myr_stream_view *v) { return newest(v) ? newest(v)->count : 0; }
uint32_t myr_stream_view_dims(const myr_stream_view *v) { return newest(v) ? newest(v)->dims : 0; }
uint32_t myr_stream_view_bits(const myr_stream_view *v) { return newest(v) ? newest(v)->bits : 0; }
uint64_t myr_stream_view_hash(const myr_stream_view *v) { return newest(v) ? newest(v)->hash : 0; }

uint32_t myr_stream_view_entities(const myr_stream_view *v, uint32_t first, myr_stream_entity *out, uint32_t cap) {
  const sview *s = newest(v);
  if (!s || !out || first >= s->count) return 0;
  uint32_t n = s->count - first < cap ? s->count - first : cap;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t i = first + k;
    myr_stream_entity *e = &out[k];
    *e = (myr_stream_entity){.id = (myr_entity)s->gen[i] << 32 | s->slot[i], .kind = s->kind[i], .color = s->color[i]};
    for (uint32_t a = 0; a < s->dims; a++) e->q[a] = s->q[(size_t)i * s->dims + a];
  }
  return n;
}
