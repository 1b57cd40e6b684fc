/* Loading: the whole snapshot is validated (every checksum, every count
 * against the bytes that back it, the entity index's consistency), then
 * matched against the world's schema by name, then everything that can
 * fail is done (registrations, tables, reservations; undone on failure),
 * and only then is the world changed, by steps that cannot fail. */
#include <assert.h>
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>
#include <unistd.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem: zstd allocates through the world's hooks */
#include <zstd.h>

#include "snapshot_impl.h"

#define NO_FIELD (-1)

typedef enum conv { CONV_COPY, CONV_INT, CONV_F32_F64, CONV_F64_F32 } conv;

typedef struct s_field {
  const char *name; /* NUL terminated, in the loader's arena; "" = no name */
  myr_type type;
  uint32_t size;
  uint64_t offset;
} s_field;

typedef struct s_comp {
  const char *name;
  uint32_t field_count;
  uint64_t row_size;
  s_field *fields;
  /* matching */
  bool skip, create;
  myr_component target;
  int32_t src[MYR_MAX_FIELDS]; /* per field of the target: the snapshot's field, NO_FIELD = zero */
  conv how[MYR_MAX_FIELDS];
  int32_t dst[MYR_MAX_FIELDS]; /* per field of the snapshot: the target's field it feeds, NO_FIELD = dropped */
} s_comp;

typedef struct s_table {
  uint64_t offset; /* of the section, for messages */
  uint32_t comp_count, rows;
  const unsigned char *comps, *slots;
  table *dst;
  uint32_t first; /* the row of dst its rows go to */
} s_table;

typedef struct s_resource {
  const char *name;
  uint32_t flags;
  uint64_t align, size;
  const unsigned char *bytes;
  bool create;
  myr_resource target;
} s_resource;

typedef struct staged {
  void *p;
  size_t size;
} staged;

typedef struct loader {
  myr_world *w;
  const char *name;
  myr_snapshot_report *rep;
  const unsigned char *data; /* the snapshot in memory, or NULL: read from fd */
  int fd;
  uint64_t size;
  bool lenient; /* inspecting: a bad checksum is noted, not fatal */
  XXH3_state_t xs;
  world_mark mark;
  bool prepared;       /* the components are matched and registered: tables may be made */
  uint32_t *dest_rows; /* per world table: rows a load has written to it so far */
  uint32_t dest_cap;
  unsigned char *bounce; /* converted or skipped columns read from a file pass here */

  uint32_t version, flags;
  uint64_t seed, frame, time_bits;
  uint32_t ncomp, nres, ntab, slots, nfree;
  const unsigned char *meta;
  uint32_t meta_len;
  s_comp *comps;
  s_field *fields;
  char *arena;
  size_t arena_size, arena_used;
  const unsigned char *gens, *free_list;
  s_table *tables;
  uint32_t tables_seen;
  s_resource *res;
  unsigned char *seen; /* a bit per slot: live or free */
  uint64_t live_rows;
  staged *bufs;
  uint32_t nbufs, bufs_cap;
  ZSTD_DCtx *dctx;

  /* inspecting */
  myr_snapshot_section *sections;
  uint32_t section_cap, section_count;
  bool checksums_ok;
} loader;

/* ---- a bounded reader over one section's payload ------------------------------ */

typedef struct cur {
  loader *l;
  const unsigned char *p, *end, *begin;
  uint64_t at;     /* file offset of begin (uncompressed payloads) */
  uint64_t sec;    /* file offset of the section */
  bool compressed; /* offsets inside cannot be given: the section's is */
  const char *what;
} cur;

static uint64_t cur_off(const cur *c) {
  if (c->compressed) return c->sec;
  return c->p ? c->at + (uint64_t)(c->p - c->begin) : c->at;
}

static myr_status bad(cur *c, const char *reason) {
  return snap_corrupt(c->l->rep, c->l->name, cur_off(c), "%s: %s", c->what, reason);
}

static bool take(cur *c, size_t n, const unsigned char **out) {
  if ((size_t)(c->end - c->p) < n) return false;
  *out = c->p;
  c->p += n;
  return true;
}
static bool get32(cur *c, uint32_t *v) {
  const unsigned char *p;
  if (!take(c, 4, &p)) return false;
  *v = rd32(p);
  return true;
}
static bool get64(cur *c, uint64_t *v) {
  const unsigned char *p;
  if (!take(c, 8, &p)) return false;
  *v = rd64(p);
  return true;
}

/* A length-prefixed name, copied NUL terminated into the arena. */
static myr_status get_name(cur *c, bool required, const char **out) {
  uint32_t len;
  const unsigned char *p;
  if (!get32(c, &len)) return bad(c, "truncated name length");
  if (len > SNAP_NAME_MAX) return bad(c, "a name longer than 4096 bytes");
  if (!take(c, len, &p)) return bad(c, "a name runs past the section's end");
  if (required && len == 0) return bad(c, "an empty name");
  if (memchr(p, 0, len)) return bad(c, "a NUL byte inside a name");
  loader *l = c->l;
  if (l->arena_size - l->arena_used < (size_t)len + 1) return bad(c, "internal: names arena full");
  char *s = l->arena + l->arena_used;
  memcpy(s, p, len);
  s[len] = '\0';
  l->arena_used += (size_t)len + 1;
  *out = s;
  return MYR_OK;
}

/* ---- allocations, all through the world's hooks -------------------------------- */

static void *l_alloc(loader *l, size_t size) { return world_alloc(l->w, size ? size : 1, 16); }

static void *l_calloc(loader *l, size_t n, size_t elem) {
  if (elem && n > SIZE_MAX / elem) return NULL;
  size_t size = n * elem;
  if (size == 0) size = 1;
  void *p = l_alloc(l, size);
  if (p) memset(p, 0, size);
  return p;
}

static void l_free(loader *l, void *p, size_t size) {
  if (p) world_free(l->w, p, size ? size : 1);
}

static myr_status oom(loader *l) { return snap_fail(l->rep, MYR_ENOMEM, "%s: out of memory", l->name); }

#define BOUNCE (1u << 20) /* bytes read, hashed and converted at a time */

/* Keeps a buffer of the loader's until the load ends. */
static myr_status keep(loader *l, void *p, size_t size) {
  if (l->nbufs == l->bufs_cap) {
    uint32_t cap = l->bufs_cap ? l->bufs_cap * 2 : 16;
    staged *more = l_alloc(l, (size_t)cap * sizeof *more);
    if (!more) {
      l_free(l, p, size);
      return oom(l);
    }
    if (l->nbufs) memcpy(more, l->bufs, (size_t)l->nbufs * sizeof *more);
    l_free(l, l->bufs, (size_t)l->bufs_cap * sizeof *l->bufs);
    l->bufs = more;
    l->bufs_cap = cap;
  }
  l->bufs[l->nbufs++] = (staged){p, size};
  return MYR_OK;
}

static void loader_free(loader *l) {
  for (uint32_t i = 0; i < l->nbufs; i++) l_free(l, l->bufs[i].p, l->bufs[i].size);
  l_free(l, l->bufs, (size_t)l->bufs_cap * sizeof *l->bufs);
  l_free(l, l->comps, (size_t)l->ncomp * sizeof *l->comps);
  l_free(l, l->arena, l->arena_size);
  l_free(l, l->tables, (size_t)l->ntab * sizeof *l->tables);
  l_free(l, l->res, (size_t)l->nres * sizeof *l->res);
  l_free(l, l->seen, ((size_t)l->slots + 7) / 8);
  l_free(l, l->dest_rows, (size_t)l->dest_cap * sizeof *l->dest_rows);
  l_free(l, l->bounce, BOUNCE);
  ZSTD_freeDCtx(l->dctx);
}

/* ---- sections ------------------------------------------------------------------ */

static const char *kind_name(uint32_t kind) {
  static const char *const names[] = {"?", "world", "meta", "schema", "entities", "table", "resources", "end"};
  return kind < sizeof names / sizeof *names ? names[kind] : "?";
}

/* Decompresses a payload into a buffer of the loader's that grows with
 * the output actually produced (never sized from the claimed raw size
 * alone), which must come to exactly raw bytes. */
static myr_status inflate(loader *l, cur *c, const unsigned char *in, uint64_t stored, uint64_t raw,
                          const unsigned char **out) {
  if (raw > SIZE_MAX / 2) return bad(c, "a decompressed size beyond this machine's address space");
  if (!l->dctx) {
    l->dctx = ZSTD_createDCtx_advanced((ZSTD_customMem){snap_zalloc, snap_zfree, l->w});
    if (!l->dctx) return oom(l);
    /* zstd allocates the window that a frame's header asks for (up to 128
     * MiB by default) whatever the frame holds: no more than the saver's
     * levels (1..19) use */
    if (ZSTD_isError(ZSTD_DCtx_setParameter(l->dctx, ZSTD_d_windowLogMax, SNAP_ZSTD_WINDOW_LOG_MAX))) return oom(l);
  }
  ZSTD_DCtx_reset(l->dctx, ZSTD_reset_session_only);
  size_t cap = raw < 65536 ? (size_t)raw : (stored * 4 < raw ? (size_t)(stored * 4) : (size_t)raw);
  if (cap < 65536 && raw >= 65536) cap = 65536;
  unsigned char *buf = l_alloc(l, cap);
  if (!buf) return oom(l);
  ZSTD_inBuffer zin = {in, (size_t)stored, 0};
  size_t done = 0;
  for (;;) {
    ZSTD_outBuffer zout = {buf, cap, done};
    size_t r = ZSTD_decompressStream(l->dctx, &zout, &zin);
    done = zout.pos;
    if (ZSTD_isError(r)) {
      l_free(l, buf, cap);
      return bad(c, "the zstd frame does not decompress");
    }
    if (r == 0) break; /* the frame is whole */
    if (done < cap) {
      if (zin.pos == zin.size) { /* wants input there is not */
        l_free(l, buf, cap);
        return bad(c, "the zstd frame is cut short");
      }
      continue;
    }
    if (cap == raw) { /* full, and more to come */
      l_free(l, buf, cap);
      return bad(c, "decompresses to more than its stated size");
    }
    size_t grown = cap * 2 < raw ? cap * 2 : (size_t)raw;
    unsigned char *more = l_alloc(l, grown);
    if (!more) {
      l_free(l, buf, cap);
      return oom(l);
    }
    memcpy(more, buf, done);
    l_free(l, buf, cap);
    buf = more;
    cap = grown;
  }
  if (zin.pos != zin.size || done != raw) {
    l_free(l, buf, cap);
    return bad(c, zin.pos != zin.size ? "bytes after the zstd frame" : "decompresses to another size than stated");
  }
  myr_status st = keep(l, buf, cap);
  if (st != MYR_OK) return st;
  *out = buf;
  return MYR_OK;
}

static myr_status parse_world(loader *l, cur *c) {
  const unsigned char *b;
  if (c->end - c->p != SNAP_WORLD_SIZE || !take(c, SNAP_WORLD_SIZE, &b)) return bad(c, "not 48 bytes long");
  l->seed = rd64(b);
  l->frame = rd64(b + 8);
  l->time_bits = rd64(b + 16);
  l->ncomp = rd32(b + 24);
  l->nres = rd32(b + 28);
  l->ntab = rd32(b + 32);
  l->slots = rd32(b + 36);
  l->nfree = rd32(b + 40);
  c->p = b; /* offsets of the fields, for messages */
  if (rd32(b + 44) != 0) return c->p += 44, bad(c, "reserved bytes not zero");
  if (l->ncomp > MYR_MAX_COMPONENTS) return c->p += 24, bad(c, "more components than a world holds");
  if (l->nres > MYR_MAX_RESOURCES) return c->p += 28, bad(c, "more resources than a world holds");
  /* every table is a section of 40 bytes at least */
  if (l->ntab > l->size / (SNAP_SECTION_HEAD + SNAP_SECTION_TAIL))
    return c->p += 32, bad(c, "more tables than the snapshot's length holds");
  if (l->slots == UINT32_MAX) return c->p += 36, bad(c, "too many entity slots");
  if (l->nfree > l->slots) return c->p += 40, bad(c, "more free slots than slots");
  c->p = c->end;
  if (l->lenient) return MYR_OK;
  l->tables = l_calloc(l, l->ntab, sizeof *l->tables);
  l->res = l_calloc(l, l->nres, sizeof *l->res);
  if (!l->tables || !l->res) return oom(l);
  return MYR_OK;
}

static myr_status type_size_ok(myr_type type, uint32_t size) {
  if (type == MYR_BYTES) return size >= 1 && size <= 4096 ? MYR_OK : MYR_ECORRUPT;
  uint32_t s = myr_type_size(type);
  return s != 0 && s == size ? MYR_OK : MYR_ECORRUPT;
}

static myr_status parse_schema(loader *l, cur *c) {
  uint32_t n;
  if (!get32(c, &n)) return bad(c, "truncated");
  if (n != l->ncomp) return c->p -= 4, bad(c, "a component count unlike the world section's");
  size_t payload = (size_t)(c->end - c->p);
  /* names: each has a 4-byte length in front, so they and their NULs fit in payload bytes */
  l->arena_size = payload + 64;
  l->arena = l_alloc(l, l->arena_size);
  /* fields: each takes 20 bytes of the payload at least */
  size_t max_fields = payload / 20 + 1;
  l->comps = l_calloc(l, n, sizeof *l->comps);
  s_field *fields = l_calloc(l, max_fields, sizeof *fields);
  if (!l->arena || !l->comps || !fields) {
    l_free(l, fields, max_fields * sizeof *fields);
    return oom(l);
  }
  myr_status kept = keep(l, fields, max_fields * sizeof *fields);
  if (kept != MYR_OK) return kept;
  size_t used = 0;
  myr_status st;
  for (uint32_t i = 0; i < n; i++) {
    s_comp *sc = &l->comps[i];
    if ((st = get_name(c, true, &sc->name)) != MYR_OK) return st;
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(l->comps[j].name, sc->name) == 0) return bad(c, "two components of one name");
    if (!get32(c, &sc->field_count) || !get64(c, &sc->row_size)) return bad(c, "truncated component");
    if (sc->field_count > MYR_MAX_FIELDS) return bad(c, "more fields than a component holds");
    if (sc->field_count > max_fields - used) return bad(c, "more fields than the section's length holds");
    sc->fields = fields + used;
    used += sc->field_count;
    for (uint32_t f = 0; f < sc->field_count; f++) {
      s_field *sf = &sc->fields[f];
      uint32_t type;
      if ((st = get_name(c, false, &sf->name)) != MYR_OK) return st;
      if (!get32(c, &type) || !get32(c, &sf->size) || !get64(c, &sf->offset)) return bad(c, "truncated field");
      sf->type = (myr_type)type;
      if (type_size_ok(sf->type, sf->size) != MYR_OK) return c->p -= 16, bad(c, "a field of an unknown type or size");
      if (sf->offset > sc->row_size || sc->row_size - sf->offset < sf->size)
        return c->p -= 8, bad(c, "a field outside its row struct");
    }
  }
  if (c->p != c->end) return bad(c, "bytes after the last component");
  return MYR_OK;
}

static void bit_set(unsigned char *bits, uint32_t i) { bits[i >> 3] |= (unsigned char)(1u << (i & 7)); }
static bool bit_get(const unsigned char *bits, uint32_t i) { return (bits[i >> 3] >> (i & 7)) & 1u; }

static myr_status parse_entities(loader *l, cur *c) {
  if ((uint64_t)(c->end - c->p) != 4ull * l->slots + 4ull * l->nfree)
    return bad(c, "a length unlike the world section's slot and free counts");
  l->gens = c->p;
  l->free_list = c->p + 4ull * l->slots;
  for (uint32_t i = 0; i < l->slots; i++) {
    uint32_t g = rd32(l->gens + 4ull * i);
    if (g == 0 || g > ENTITY_MAX_GENERATION) return c->p += 4ull * i, bad(c, "a generation out of range");
  }
  l->seen = l_calloc(l, ((size_t)l->slots + 7) / 8, 1);
  if (!l->seen) return oom(l);
  for (uint32_t k = 0; k < l->nfree; k++) {
    uint32_t s = rd32(l->free_list + 4ull * k);
    c->p = l->free_list + 4ull * k;
    if (s >= l->slots) return bad(c, "a free slot out of range");
    if (bit_get(l->seen, s)) return bad(c, "a slot twice in the free list");
    bit_set(l->seen, s);
  }
  c->p = c->end;
  return MYR_OK;
}

/* ---- reading the input ------------------------------------------------------------ */

/* Reads n bytes at offset `off` of the input into dst. Each byte of a file
 * is read once: what is checked is what is loaded. */
static myr_status src_read(loader *l, uint64_t off, void *dst, size_t n) {
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
static myr_status src_view(loader *l, uint64_t off, size_t n, const unsigned char **out) {
  if (l->data) {
    *out = l->data + off;
    return MYR_OK;
  }
  unsigned char *buf = l_alloc(l, n);
  if (!buf) return oom(l);
  myr_status st = keep(l, buf, n);
  if (st == MYR_OK) st = src_read(l, off, buf, n);
  *out = buf;
  return st;
}

/* A table section's payload, read in order: from memory (the input, or a
 * decompressed payload) or from the file, hashed as it passes (not a
 * decompressed one: its stored bytes were). */
typedef struct preader {
  loader *l;
  const unsigned char *mem;
  uint64_t base; /* the payload's offset in the file */
  uint64_t at;   /* bytes consumed */
  bool hash;
} preader;

static myr_status pr_view(preader *r, size_t n, const unsigned char **out) {
  myr_status st = MYR_OK;
  if (r->mem) *out = r->mem + r->at;
  else st = src_view(r->l, r->base + r->at, n, out);
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
    else st = src_read(r->l, r->base + r->at, dst, k);
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

static void convert_column(unsigned char *dst, myr_type to, const unsigned char *src, myr_type from, uint32_t n,
                           conv how);

static void convert_piece(convert_ctx *cc, const unsigned char *p, size_t n) {
  uint32_t count = (uint32_t)(n / myr_type_size(cc->from));
  convert_column(cc->out, cc->to, p, cc->from, count, cc->how);
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
      if (!r->l->bounce && !(r->l->bounce = l_alloc(r->l, BOUNCE))) return oom(r->l);
      myr_status st = src_read(r->l, r->base + r->at, r->l->bounce, k);
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

static myr_status prepare(loader *l, const myr_snapshot_load_desc *d);

/* Parses a table section of `len` payload bytes from r: checks its counts
 * and its rows' slots, makes (or finds) the world's table of its set,
 * reserves its rows and writes their values, past the rows the table has:
 * they are placed (ids, records, count) at the commit. A failure is undone
 * by the rollback of everything since the mark. */
static myr_status parse_table(loader *l, cur *c, preader *r, uint64_t len) {
  if (l->tables_seen == l->ntab) return bad(c, "more tables than the world section says");
  s_table *t = &l->tables[l->tables_seen++];
  t->offset = c->sec;
  const unsigned char *h;
  myr_status st;
  if (len < 8) return bad(c, "truncated");
  if ((st = pr_view(r, 8, &h)) != MYR_OK) return st;
  t->comp_count = rd32(h);
  t->rows = rd32(h + 4);
  if (t->comp_count > l->ncomp) return bad(c, "more components than the schema has");
  if (len - 8 < 4ull * t->comp_count) return bad(c, "truncated component list");
  if ((st = pr_view(r, 4ull * t->comp_count, &t->comps)) != MYR_OK) return st;
  uint64_t row_bytes = 4;
  compset set = {{0}};
  for (uint32_t k = 0; k < t->comp_count; k++) {
    uint32_t id = rd32(t->comps + 4ull * k);
    if (id >= l->ncomp || (k && id <= rd32(t->comps + 4ull * (k - 1))))
      return c->at += 8 + 4ull * k, bad(c, "component ids not ascending or unknown");
    const s_comp *sc = &l->comps[id];
    for (uint32_t f = 0; f < sc->field_count; f++) row_bytes += sc->fields[f].size;
    if (!sc->skip) compset_put(&set, sc->target);
  }
  uint64_t left = len - 8 - 4ull * t->comp_count;
  if (t->rows > left / row_bytes || (uint64_t)t->rows * row_bytes != left)
    return c->at += 4, bad(c, "a row count unlike the section's length");
  if (t->rows > UINT32_MAX - 2 * ROW_ALIGN) return c->at += 4, bad(c, "more rows than a table holds");
  if (t->rows == 0) return c->at += 4, bad(c, "a table section with no rows (only tables that hold rows are saved)");
  if ((st = pr_view(r, 4ull * t->rows, &t->slots)) != MYR_OK) return st;
  for (uint32_t k = 0; k < t->rows; k++) {
    uint32_t sl = rd32(t->slots + 4ull * k);
    if (sl >= l->slots || bit_get(l->seen, sl)) {
      c->at += 8 + 4ull * t->comp_count + 4ull * k;
      return bad(c, sl >= l->slots ? "a row's slot out of range" : "a slot that is free or has another row");
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

static myr_status parse_resources(loader *l, cur *c) {
  uint32_t n;
  if (!get32(c, &n)) return bad(c, "truncated");
  if (n != l->nres) return c->p -= 4, bad(c, "a resource count unlike the world section's");
  /* names go into the arena after the schema's: grow it for them */
  size_t need = l->arena_used + (size_t)(c->end - c->p) + 64;
  char *arena = l_alloc(l, need);
  if (!arena) return oom(l);
  memcpy(arena, l->arena, l->arena_used);
  /* the schema's names point into the old arena: move them */
  for (uint32_t i = 0; i < l->ncomp; i++) {
    s_comp *sc = &l->comps[i];
    sc->name = arena + (sc->name - l->arena);
    for (uint32_t f = 0; f < sc->field_count; f++) sc->fields[f].name = arena + (sc->fields[f].name - l->arena);
  }
  l_free(l, l->arena, l->arena_size);
  l->arena = arena;
  l->arena_size = need;
  myr_status st;
  for (uint32_t i = 0; i < n; i++) {
    s_resource *r = &l->res[i];
    if ((st = get_name(c, true, &r->name)) != MYR_OK) return st;
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(l->res[j].name, r->name) == 0) return bad(c, "two resources of one name");
    if (!get32(c, &r->flags) || !get64(c, &r->align) || !get64(c, &r->size)) return bad(c, "truncated resource");
    if (r->flags & ~(uint32_t)MYR_RESOURCE_UNHASHED) return c->p -= 20, bad(c, "unknown resource flags");
    if (r->align == 0 || (r->align & (r->align - 1)) || r->align > 4096)
      return c->p -= 16, bad(c, "a resource alignment that is not a power of two up to 4096");
    if (r->size == 0 || !take(c, (size_t)(r->size > SIZE_MAX ? SIZE_MAX : r->size), &r->bytes))
      return c->p -= 8, bad(c, "a resource size of 0 or past the section's end");
  }
  if (c->p != c->end) return bad(c, "bytes after the last resource");
  return MYR_OK;
}

/* Walks the sections in order, checking each one's head, checksum and
 * place in the order, and parses what loading needs. The input is read
 * once, in order; a table's rows go straight into their table (undone by
 * the caller's rollback if anything after fails). */
static myr_status parse(loader *l, const myr_snapshot_load_desc *d) {
  unsigned char header[SNAP_HEADER_SIZE];
  cur c = {.l = l, .p = header, .begin = header, .end = header + sizeof header, .what = "header"};
  if (l->size < SNAP_HEADER_SIZE) return bad(&c, "shorter than a snapshot's header (truncated?)");
  myr_status st = src_read(l, 0, header, sizeof header);
  if (st != MYR_OK) return st;
  if (memcmp(header, SNAP_MAGIC, 8) != 0) return bad(&c, "not a myriad snapshot (bad magic)");
  l->version = rd32(header + 8);
  l->flags = rd32(header + 12);
  if (XXH3_64bits(header, 16) != rd64(header + 16)) {
    c.p += l->version != MYR_SNAPSHOT_FORMAT_VERSION ? 8 : 16;
    return bad(&c, l->version != MYR_SNAPSHOT_FORMAT_VERSION
                       ? "unknown format version (and the header's checksum fails)"
                       : "header checksum mismatch");
  }
  if (l->version != MYR_SNAPSHOT_FORMAT_VERSION) {
    c.p += 8;
    char why[96];
    snprintf(why, sizeof why, "format version %u; this library reads version %u", (unsigned)l->version,
             MYR_SNAPSHOT_FORMAT_VERSION);
    return bad(&c, why);
  }
  if (l->flags & ~SNAP_FILE_ZSTD) return c.p += 12, bad(&c, "unknown header flags");

  /* the order: world, meta?, schema, entities, table*, resources, end */
  uint32_t expect = MYR_SECTION_WORLD, prev = 0, tables_walked = 0;
  uint64_t pos = SNAP_HEADER_SIZE;
  for (uint32_t index = 0;; index++) {
    unsigned char head[SNAP_SECTION_HEAD];
    char what[48];
    snprintf(what, sizeof what, "section %u", index);
    cur h = {.l = l, .at = pos, .sec = pos, .what = what}; /* offsets from the section's start */
    if (l->size - pos < SNAP_SECTION_HEAD + SNAP_SECTION_TAIL)
      return bad(&h, index == 0 ? "no sections (truncated?)" : "truncated: no end marker");
    if ((st = src_read(l, pos, head, sizeof head)) != MYR_OK) return st;
    uint32_t kind = rd32(head), sflags = rd32(head + 4);
    uint64_t stored = rd64(head + 8), raw = rd64(head + 16);
    snprintf(what, sizeof what, "section %u (%s)", index, kind_name(kind));
    if (rd32(head + 24) != index) return h.at += 24, bad(&h, "out of place: its index is not its position");
    if (rd32(head + 28) != 0) return h.at += 28, bad(&h, "reserved bytes not zero");
    if (kind < MYR_SECTION_WORLD || kind > MYR_SECTION_END) return bad(&h, "unknown kind");
    if (sflags & ~SNAP_SECTION_ZSTD) return h.at += 4, bad(&h, "unknown flags");
    bool z = (sflags & SNAP_SECTION_ZSTD) != 0;
    if (z && !(l->flags & SNAP_FILE_ZSTD)) return h.at += 4, bad(&h, "compressed, but the header says none is");
    if (z && kind != MYR_SECTION_ENTITIES && kind != MYR_SECTION_TABLE && kind != MYR_SECTION_RESOURCES)
      return h.at += 4, bad(&h, "compressed, but of a kind that never is");
    if (stored > l->size - pos - SNAP_SECTION_HEAD - SNAP_SECTION_TAIL)
      return h.at += 8, bad(&h, "runs past the end of the snapshot (truncated?)");
    if (!z && raw != stored) return h.at += 16, bad(&h, "raw and stored sizes differ in a section not compressed");
    uint64_t total = SNAP_SECTION_HEAD + stored;
    unsigned char tail[SNAP_SECTION_TAIL];
    if ((st = src_read(l, pos + total, tail, sizeof tail)) != MYR_OK) return st;
    /* its place in the order */
    bool in_order = kind == expect || (kind == MYR_SECTION_META && prev == MYR_SECTION_WORLD);
    if (!in_order && !l->lenient) return bad(&h, "out of order");
    cur c2 = {.l = l, .sec = pos, .at = pos + SNAP_SECTION_HEAD, .compressed = z, .what = what};
    XXH3_64bits_reset(&l->xs);
    XXH3_64bits_update(&l->xs, head, sizeof head);
    if (kind == MYR_SECTION_TABLE && !z && !l->lenient) {
      /* rows straight into their table, hashed on the way */
      if (!l->prepared && (st = prepare(l, d)) != MYR_OK) return st;
      preader r = {l, l->data ? l->data + pos + SNAP_SECTION_HEAD : NULL, pos + SNAP_SECTION_HEAD, 0, true};
      cur ct = c2;
      ct.p = ct.begin = ct.end = NULL;
      if ((st = parse_table(l, &ct, &r, stored)) != MYR_OK) return st;
      if (XXH3_64bits_digest(&l->xs) != rd64(tail)) return c2.at += stored, bad(&c2, "checksum mismatch");
      l->section_count++;
    } else {
      const unsigned char *payload = NULL;
      if ((st = src_view(l, pos + SNAP_SECTION_HEAD, (size_t)stored, &payload)) != MYR_OK) return st;
      XXH3_64bits_update(&l->xs, payload, (size_t)stored);
      bool sum_ok = XXH3_64bits_digest(&l->xs) == rd64(tail);
      if (l->sections && l->section_count < l->section_cap)
        l->sections[l->section_count] =
            (myr_snapshot_section){(myr_snapshot_section_kind)kind, sflags, pos, stored, raw, sum_ok};
      l->section_count++;
      l->checksums_ok &= sum_ok;
      if (!sum_ok && !l->lenient) return h.at += total, bad(&h, "checksum mismatch");
      if (!in_order) return bad(&h, "out of order");
      if (kind == MYR_SECTION_END) {
        if (stored != 0) return h.at += 8, bad(&h, "an end marker with a payload");
        if (pos + total + SNAP_SECTION_TAIL != l->size) return h.at += total + 8, bad(&h, "bytes after the end marker");
        break;
      }
      c2.p = c2.begin = payload;
      c2.end = payload + stored;
      if (kind == MYR_SECTION_WORLD) {
        st = parse_world(l, &c2);
      } else if (kind == MYR_SECTION_META) {
        if (stored > MYR_SNAPSHOT_META_MAX) return bad(&c2, "meta text longer than its limit");
        if (stored == 0) return bad(&c2, "an empty meta section (saved only when not empty)");
        if (memchr(c2.p, 0, stored)) return bad(&c2, "a NUL byte inside the meta text");
        l->meta = c2.p;
        l->meta_len = (uint32_t)stored;
      } else if (!l->lenient) {
        if (z && (st = inflate(l, &c2, c2.p, stored, raw, &c2.p)) == MYR_OK) c2.end = c2.p + raw;
        if (st == MYR_OK) {
          if (kind == MYR_SECTION_SCHEMA) {
            st = parse_schema(l, &c2);
          } else if (kind == MYR_SECTION_ENTITIES) {
            st = parse_entities(l, &c2);
          } else if (kind == MYR_SECTION_TABLE) { /* compressed: its bytes were hashed as stored */
            if (!l->prepared) st = prepare(l, d);
            preader r = {l, c2.p, 0, 0, false};
            if (st == MYR_OK) st = parse_table(l, &c2, &r, raw);
          } else {
            st = parse_resources(l, &c2);
          }
        }
      }
    }
    if (st != MYR_OK) return st;
    if (kind == MYR_SECTION_TABLE) tables_walked++;
    prev = kind;
    if (kind == MYR_SECTION_WORLD || kind == MYR_SECTION_META) expect = MYR_SECTION_SCHEMA;
    else if (kind == MYR_SECTION_SCHEMA) expect = MYR_SECTION_ENTITIES;
    else if (kind == MYR_SECTION_RESOURCES) expect = MYR_SECTION_END;
    else expect = tables_walked < l->ntab ? MYR_SECTION_TABLE : MYR_SECTION_RESOURCES;
    pos += total + SNAP_SECTION_TAIL;
  }
  if (l->lenient) return MYR_OK;
  cur e = {.l = l, .at = pos, .sec = pos, .what = "end"};
  if (l->tables_seen != l->ntab) return bad(&e, "fewer tables than the world section says");
  if (l->live_rows + l->nfree != l->slots) return bad(&e, "entity slots that are neither live nor free");
  return MYR_OK;
}

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
static myr_status prepare(loader *l, const myr_snapshot_load_desc *d) {
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
  l->dest_rows = l_calloc(l, l->dest_cap, sizeof *l->dest_rows);
  return l->dest_rows ? MYR_OK : oom(l);
}

/* After the last section: the resources matched by name (and registered
 * when the world lacks them), and room for the entity index. Undone by the
 * rollback if anything fails. */
static myr_status finish(loader *l) {
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

static void convert_column(unsigned char *dst, myr_type to, const unsigned char *src, myr_type from, uint32_t n,
                           conv how) {
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

static void commit(loader *l, const myr_snapshot_load_desc *d) {
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

myr_status snap_load(myr_world *w, const unsigned char *data, int fd, uint64_t size, const char *name,
                     const myr_snapshot_load_desc *d) {
  myr_snapshot_report scratch, *rep = d && d->report ? d->report : &scratch;
  memset(rep, 0, sizeof *rep);
  rep->bytes = size;
  if (d && (d->flags & ~(uint32_t)(MYR_SNAPSHOT_CONVERT | MYR_SNAPSHOT_KEEP_SEED)))
    return snap_fail(rep, MYR_EINVAL, "unknown load flags 0x%x", (unsigned)d->flags);
  if (world_running(w)) return snap_fail(rep, MYR_EBUSY, "%s: a frame is running on the world", name);
  if (myr_world_entity_count(w) != 0)
    return snap_fail(rep, MYR_EBUSY, "%s: the world has %u live entities; a snapshot loads into a world with none",
                     name, myr_world_entity_count(w));
  loader l = {.w = w, .name = name, .rep = rep, .data = data, .fd = fd, .size = size, .checksums_ok = true};
  world_mark mark = world_mark_now(w);
  myr_status st = parse(&l, d);
  if (st == MYR_OK && !l.prepared) st = prepare(&l, d);
  if (st == MYR_OK) st = finish(&l);
  if (st == MYR_OK) commit(&l, d);
  else world_rollback(w, &mark); /* what was registered and made: tables, components, resources */
  loader_free(&l);
  if (st != MYR_OK) { /* the counts of a load that did not happen would mislead */
    char message[sizeof rep->message];
    uint64_t offset = rep->offset;
    memcpy(message, rep->message, sizeof message);
    memset(rep, 0, sizeof *rep);
    memcpy(rep->message, message, sizeof message);
    rep->offset = offset;
    rep->bytes = size;
  }
  return st;
}

myr_status snap_inspect(const unsigned char *data, size_t size, const char *name, myr_snapshot_info *info,
                        myr_snapshot_section *sections, uint32_t capacity, myr_snapshot_report *rep) {
  myr_snapshot_report scratch;
  if (!rep) rep = &scratch;
  memset(rep, 0, sizeof *rep);
  memset(info, 0, sizeof *info);
  loader l = {.name = name,
              .rep = rep,
              .data = data,
              .fd = -1,
              .size = size,
              .lenient = true,
              .sections = sections,
              .section_cap = capacity,
              .checksums_ok = true};
  myr_status st = parse(&l, NULL);
  info->format_version = l.version;
  info->flags = l.flags;
  info->bytes = size;
  if (st != MYR_OK) return st;
  info->seed = l.seed;
  info->frame = l.frame;
  memcpy(&info->time, &l.time_bits, 8);
  info->component_count = l.ncomp;
  info->resource_count = l.nres;
  info->table_count = l.ntab;
  info->slot_count = l.slots;
  info->entity_count = (uint64_t)l.slots - l.nfree;
  info->section_count = l.section_count;
  info->checksums_ok = l.checksums_ok;
  if (l.meta) memcpy(info->meta, l.meta, l.meta_len);
  info->meta[l.meta_len] = '\0';
  return MYR_OK;
}
