/* Loading, the input: reading a file once, in order, and a table
 * section's rows streamed into their table, hashed as they pass. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "load_impl.h"

/* ---- reading the input ------------------------------------------------------------ */

/* Reads n bytes at offset `off` of the input into dst. Each byte of a file
 * is read once: what is checked is what is loaded. */
myr_status load_read(loader *l, uint64_t off, void *dst, size_t n) {
  if (l->data) {
    memcpy(dst, l->data + off, n);
    return MYR_OK;
  }
  unsigned char *p = dst;
  while (n) {
    ssize_t k = pread(l->fd, p, n, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return snap_fail(l->rep, MYR_EIO, "%s: cannot read: %s", l->name, strerror(errno));
    if (k == 0) return snap_corrupt(l->rep, l->name, off, "the file ends early (did it change while loading?)");
    p += k;
    off += (uint64_t)k;
    n -= (size_t)k;
  }
  return MYR_OK;
}

/* The n bytes at `off`: in place in memory, else read into a buffer kept
 * until the load ends. */
myr_status load_view(loader *l, uint64_t off, size_t n, const unsigned char **out) {
  if (l->data) {
    *out = l->data + off;
    return MYR_OK;
  }
  unsigned char *buf = load_alloc(l, n);
  if (!buf) return load_oom(l);
  myr_status st = load_keep(l, buf, n);
  if (st == MYR_OK) st = load_read(l, off, buf, n);
  *out = buf;
  return st;
}

static myr_status pr_view(preader *r, size_t n, const unsigned char **out) {
  myr_status st = MYR_OK;
  if (r->mem) *out = r->mem + r->at;
  else st = load_view(r->l, r->base + r->at, n, out);
  if (st == MYR_OK && r->hash) XXH3_64bits_update(&r->l->xs, *out, n);
  r->at += n;
  return st;
}

/* Copies n bytes into dst, hashing them a piece at a time while in cache:
 * a file's column goes straight into its table. */
static myr_status pr_into(preader *r, unsigned char *dst, size_t n) {
  while (n) {
    size_t k = n < BOUNCE ? n : BOUNCE;
    myr_status st = MYR_OK;
    if (r->mem) memcpy(dst, r->mem + r->at, k);
    else st = load_read(r->l, r->base + r->at, dst, k);
    if (st != MYR_OK) return st;
    if (r->hash) XXH3_64bits_update(&r->l->xs, dst, k);
    r->at += k;
    dst += k;
    n -= k;
  }
  return MYR_OK;
}

typedef struct convert_ctx {
  unsigned char *out;
  myr_type from, to;
  conv how;
} convert_ctx;

static void convert_piece(convert_ctx *cc, const unsigned char *p, size_t n) {
  uint32_t count = (uint32_t)(n / myr_type_size(cc->from));
  load_convert(cc->out, cc->to, p, cc->from, count, cc->how);
  cc->out += (size_t)count * myr_type_size(cc->to);
}

/* Passes n bytes of values `size` bytes each on, a whole number of values
 * at a time, to be converted (cc) or dropped (cc NULL). */
static myr_status pr_each(preader *r, size_t n, uint32_t size, convert_ctx *cc) {
  size_t piece = BOUNCE / size * size;
  while (n) {
    size_t k = n < piece ? n : piece;
    const unsigned char *p = r->mem ? r->mem + r->at : NULL;
    if (!p) {
      if (!r->l->bounce && !(r->l->bounce = load_alloc(r->l, BOUNCE))) return load_oom(r->l);
      myr_status st = load_read(r->l, r->base + r->at, r->l->bounce, k);
      if (st != MYR_OK) return st;
      p = r->l->bounce;
    }
    if (r->hash) XXH3_64bits_update(&r->l->xs, p, k);
    if (cc) convert_piece(cc, p, k);
    r->at += k;
    n -= k;
  }
  return MYR_OK;
}

/* ---- a table section: its rows go straight into their table --------------------- */

/* Parses a table section of `len` payload bytes from r: checks its counts
 * and its rows' slots, makes (or finds) the world's table of its set,
 * reserves its rows and writes their values, past the rows the table has:
 * they are placed (ids, records, count) at the commit. A failure is undone
 * by the rollback of everything since the mark. */
myr_status load_table(loader *l, cur *c, preader *r, uint64_t len) {
  if (l->tables_seen == l->ntab) return load_bad(c, "more tables than the world section says");
  s_table *t = &l->tables[l->tables_seen++];
  t->offset = c->sec;
  const unsigned char *h;
  myr_status st;
  if (len < 8) return load_bad(c, "truncated");
  if ((st = pr_view(r, 8, &h)) != MYR_OK) return st;
  t->comp_count = rd32(h);
  t->rows = rd32(h + 4);
  if (t->comp_count > l->ncomp) return load_bad(c, "more components than the schema has");
  if (len - 8 < 4ull * t->comp_count) return load_bad(c, "truncated component list");
  if ((st = pr_view(r, 4ull * t->comp_count, &t->comps)) != MYR_OK) return st;
  uint64_t row_bytes = 4;
  compset set = {{0}};
  for (uint32_t k = 0; k < t->comp_count; k++) {
    uint32_t id = rd32(t->comps + 4ull * k);
    if (id >= l->ncomp || (k && id <= rd32(t->comps + 4ull * (k - 1))))
      return c->at += 8 + 4ull * k, load_bad(c, "component ids not ascending or unknown");
    const s_comp *sc = &l->comps[id];
    for (uint32_t f = 0; f < sc->field_count; f++) row_bytes += sc->fields[f].size;
    if (!sc->skip) compset_put(&set, sc->target);
  }
  uint64_t left = len - 8 - 4ull * t->comp_count;
  if (t->rows > left / row_bytes || (uint64_t)t->rows * row_bytes != left)
    return c->at += 4, load_bad(c, "a row count unlike the section's length");
  if (t->rows > UINT32_MAX - 2 * ROW_ALIGN) return c->at += 4, load_bad(c, "more rows than a table holds");
  if (t->rows == 0)
    return c->at += 4, load_bad(c, "a table section with no rows (only tables that hold rows are saved)");
  if ((st = pr_view(r, 4ull * t->rows, &t->slots)) != MYR_OK) return st;
  for (uint32_t k = 0; k < t->rows; k++) {
    uint32_t sl = rd32(t->slots + 4ull * k);
    if (sl >= l->slots || bit_get(l->seen, sl)) {
      c->at += 8 + 4ull * t->comp_count + 4ull * k;
      return load_bad(c, sl >= l->slots ? "a row's slot out of range" : "a slot that is free or has another row");
    }
    bit_set(l->seen, sl);
  }
  l->live_rows += t->rows;

  /* the world's table, and room for the rows past those written so far */
  table *dst;
  if ((st = table_get(l->w, &set, &dst)) != MYR_OK)
    return snap_fail(l->rep, st, "%s: making the table of section at byte %llu: %s", l->name,
                     (unsigned long long)c->sec, myr_strerror(st));
  if (dst->id >= l->dest_cap) return snap_fail(l->rep, MYR_ELIMIT, "%s: internal: more tables than room", l->name);
  t->dst = dst;
  t->first = l->dest_rows[dst->id];
  if ((uint64_t)t->first + t->rows > UINT32_MAX - 2 * ROW_ALIGN)
    return snap_fail(l->rep, MYR_ELIMIT, "%s: more rows for one table than it holds", l->name);
  if ((st = table_reserve_kept(l->w, dst, t->first, t->rows)) != MYR_OK)
    return snap_fail(l->rep, st, "%s: making room for %u rows: %s", l->name, t->rows, myr_strerror(st));
  l->dest_rows[dst->id] += t->rows;

  /* the columns, into the table (or converted into it, or dropped) */
  for (uint32_t k = 0; k < t->comp_count; k++) {
    const s_comp *sc = &l->comps[rd32(t->comps + 4ull * k)];
    int32_t col0 = sc->skip ? -1 : table_comp_col(dst, sc->target);
    for (uint32_t f = 0; f < sc->field_count; f++) {
      const s_field *sf = &sc->fields[f];
      size_t bytes = (size_t)t->rows * sf->size;
      int32_t wf = sc->skip ? NO_FIELD : sc->dst[f];
      if (wf == NO_FIELD) {
        st = pr_each(r, bytes, sf->size, NULL);
      } else {
        column *col = &dst->cols[col0 + wf];
        unsigned char *out = col->data + (size_t)t->first * col->elem_size;
        if (sc->how[wf] == CONV_COPY) {
          st = pr_into(r, out, bytes);
        } else {
          convert_ctx cc = {out, sf->type, col->type, sc->how[wf]};
          st = pr_each(r, bytes, sf->size, &cc);
        }
      }
      if (st != MYR_OK) return st;
    }
    /* the fields of the world's component the snapshot lacks: zero */
    if (sc->skip) continue;
    const component_info *ci = world_component(l->w, sc->target);
    for (uint32_t wf = 0; wf < ci->field_count; wf++) {
      if (sc->src[wf] != NO_FIELD) continue;
      column *col = &dst->cols[col0 + (int32_t)wf];
      memset(col->data + (size_t)t->first * col->elem_size, 0, (size_t)t->rows * col->elem_size);
    }
  }
  return MYR_OK;
}
