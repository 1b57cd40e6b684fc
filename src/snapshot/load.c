/* Loading: the whole snapshot is validated (every checksum, every count
 * against the bytes that back it, the entity index's consistency), then
 * matched against the world's schema by name, then everything that can
 * fail is done (registrations, tables, reservations; undone on failure),
 * and only then is the world changed, by steps that cannot fail. */
#include <stdalign.h>
#include <stdio.h>
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
} s_comp;

typedef struct s_table {
  uint64_t offset; /* of the section, for messages */
  uint32_t comp_count, rows;
  const unsigned char *comps, *slots, *cols;
  table *dst;
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
  const unsigned char *data;
  size_t size;
  bool lenient; /* inspecting: a bad checksum is noted, not fatal */

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

static uint64_t cur_off(const cur *c) { return c->compressed ? c->sec : c->at + (uint64_t)(c->p - c->begin); }

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

static void loader_free(loader *l) {
  for (uint32_t i = 0; i < l->nbufs; i++) l_free(l, l->bufs[i].p, l->bufs[i].size);
  l_free(l, l->bufs, (size_t)l->bufs_cap * sizeof *l->bufs);
  l_free(l, l->comps, (size_t)l->ncomp * sizeof *l->comps);
  l_free(l, l->arena, l->arena_size);
  l_free(l, l->tables, (size_t)l->ntab * sizeof *l->tables);
  l_free(l, l->res, (size_t)l->nres * sizeof *l->res);
  l_free(l, l->seen, ((size_t)l->slots + 7) / 8);
  ZSTD_freeDCtx(l->dctx);
}

static myr_status oom(loader *l) { return snap_fail(l->rep, MYR_ENOMEM, "%s: out of memory", l->name); }

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
  if (l->nbufs == l->bufs_cap) return bad(c, "more compressed sections than the snapshot has");
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
  l->bufs[l->nbufs++] = (staged){buf, cap};
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
  l->bufs_cap = l->ntab + 4; /* the schema's fields; entities, tables, resources if compressed */
  l->bufs = l_calloc(l, l->bufs_cap, sizeof *l->bufs);
  if (!l->tables || !l->res || !l->bufs) return oom(l);
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
  /* the fields live in the comps' allocation's neighbour: kept in bufs */
  l->bufs[l->nbufs++] = (staged){fields, max_fields * sizeof *fields};
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

static myr_status parse_table(loader *l, cur *c) {
  if (l->tables_seen == l->ntab) return bad(c, "more tables than the world section says");
  s_table *t = &l->tables[l->tables_seen++];
  t->offset = c->sec;
  if (!get32(c, &t->comp_count) || !get32(c, &t->rows)) return bad(c, "truncated");
  if (t->comp_count > l->ncomp) return c->p -= 8, bad(c, "more components than the schema has");
  if (!take(c, 4ull * t->comp_count, &t->comps)) return bad(c, "truncated component list");
  uint64_t row_bytes = 4;
  for (uint32_t k = 0; k < t->comp_count; k++) {
    uint32_t id = rd32(t->comps + 4ull * k);
    if (id >= l->ncomp || (k && id <= rd32(t->comps + 4ull * (k - 1))))
      return c->p = t->comps + 4ull * k, bad(c, "component ids not ascending or unknown");
    const s_comp *sc = &l->comps[id];
    for (uint32_t f = 0; f < sc->field_count; f++) row_bytes += sc->fields[f].size;
  }
  uint64_t left = (uint64_t)(c->end - c->p);
  if (t->rows > left / row_bytes || (uint64_t)t->rows * row_bytes != left)
    return c->p -= 4ull * t->comp_count + 4, bad(c, "a row count unlike the section's length");
  if (t->rows > UINT32_MAX - 2 * ROW_ALIGN) return bad(c, "more rows than a table holds");
  if (t->rows == 0) return bad(c, "a table section with no rows (only tables that hold rows are saved)");
  t->slots = c->p;
  t->cols = c->p + 4ull * t->rows;
  for (uint32_t r = 0; r < t->rows; r++) {
    uint32_t s = rd32(t->slots + 4ull * r);
    if (s >= l->slots || bit_get(l->seen, s)) {
      c->p = t->slots + 4ull * r;
      return bad(c, s >= l->slots ? "a row's slot out of range" : "a slot that is free or has another row");
    }
    bit_set(l->seen, s);
  }
  l->live_rows += t->rows;
  c->p = c->end;
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
 * place in the order, and parses what loading needs. */
static myr_status parse(loader *l) {
  cur c = {.l = l, .p = l->data, .begin = l->data, .end = l->data + l->size, .what = "header"};
  if (l->size < SNAP_HEADER_SIZE) return bad(&c, "shorter than a snapshot's header (truncated?)");
  if (memcmp(l->data, SNAP_MAGIC, 8) != 0) return bad(&c, "not a myriad snapshot (bad magic)");
  l->version = rd32(l->data + 8);
  l->flags = rd32(l->data + 12);
  if (XXH3_64bits(l->data, 16) != rd64(l->data + 16)) {
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
  size_t pos = SNAP_HEADER_SIZE;
  for (uint32_t index = 0;; index++) {
    cur h = {.l = l, .p = l->data + pos, .begin = l->data + pos, .end = l->data + l->size, .at = pos, .sec = pos};
    char what[48];
    snprintf(what, sizeof what, "section %u", index);
    h.what = what;
    if (l->size - pos < SNAP_SECTION_HEAD + SNAP_SECTION_TAIL)
      return bad(&h, index == 0 ? "no sections (truncated?)" : "truncated: no end marker");
    const unsigned char *head = l->data + pos;
    uint32_t kind = rd32(head), sflags = rd32(head + 4);
    uint64_t stored = rd64(head + 8), raw = rd64(head + 16);
    snprintf(what, sizeof what, "section %u (%s)", index, kind_name(kind));
    if (rd32(head + 24) != index) return h.p += 24, bad(&h, "out of place: its index is not its position");
    if (rd32(head + 28) != 0) return h.p += 28, bad(&h, "reserved bytes not zero");
    if (kind < MYR_SECTION_WORLD || kind > MYR_SECTION_END) return bad(&h, "unknown kind");
    if (sflags & ~SNAP_SECTION_ZSTD) return h.p += 4, bad(&h, "unknown flags");
    bool z = (sflags & SNAP_SECTION_ZSTD) != 0;
    if (z && !(l->flags & SNAP_FILE_ZSTD)) return h.p += 4, bad(&h, "compressed, but the header says none is");
    if (z && kind != MYR_SECTION_ENTITIES && kind != MYR_SECTION_TABLE && kind != MYR_SECTION_RESOURCES)
      return h.p += 4, bad(&h, "compressed, but of a kind that never is");
    if (stored > l->size - pos - SNAP_SECTION_HEAD - SNAP_SECTION_TAIL)
      return h.p += 8, bad(&h, "runs past the end of the snapshot (truncated?)");
    if (!z && raw != stored) return h.p += 16, bad(&h, "raw and stored sizes differ in a section not compressed");
    size_t total = SNAP_SECTION_HEAD + (size_t)stored;
    bool sum_ok = XXH3_64bits(head, total) == rd64(head + total);
    if (l->sections && l->section_count < l->section_cap)
      l->sections[l->section_count] =
          (myr_snapshot_section){(myr_snapshot_section_kind)kind, sflags, pos, stored, raw, sum_ok};
    l->section_count++;
    l->checksums_ok &= sum_ok;
    if (!sum_ok && !l->lenient) return h.p += total, bad(&h, "checksum mismatch");

    /* its place in the order */
    bool ok = kind == expect || (kind == MYR_SECTION_META && prev == MYR_SECTION_WORLD);
    if (!ok) return bad(&h, "out of order");
    if (kind == MYR_SECTION_END) {
      if (stored != 0) return h.p += 8, bad(&h, "an end marker with a payload");
      if (pos + total + SNAP_SECTION_TAIL != l->size) return h.p += total + 8, bad(&h, "bytes after the end marker");
      break;
    }
    cur c2 = {.l = l,
              .p = head + SNAP_SECTION_HEAD,
              .begin = head + SNAP_SECTION_HEAD,
              .end = head + SNAP_SECTION_HEAD + stored,
              .at = pos + SNAP_SECTION_HEAD,
              .sec = pos,
              .compressed = z,
              .what = what};
    myr_status st = MYR_OK;
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
        if (kind == MYR_SECTION_SCHEMA) st = parse_schema(l, &c2);
        else if (kind == MYR_SECTION_ENTITIES) st = parse_entities(l, &c2);
        else if (kind == MYR_SECTION_TABLE) st = parse_table(l, &c2);
        else st = parse_resources(l, &c2);
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
  cur e = {.l = l, .p = l->data + pos, .begin = l->data + pos, .end = l->data + l->size, .at = pos, .what = "end"};
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

static myr_status match(loader *l, const myr_snapshot_load_desc *d) {
  uint32_t flags = d ? d->flags : 0;
  uint32_t new_comps = 0, new_res = 0;
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
  return MYR_OK;
}

/* ---- reserving: everything that can fail, undone on failure --------------------- */

static myr_status reserve(loader *l) {
  myr_world *w = l->w;
  myr_status st = MYR_OK;
  for (uint32_t i = 0; i < l->ncomp && st == MYR_OK; i++) {
    s_comp *sc = &l->comps[i];
    if (!sc->create) continue;
    myr_field fields[MYR_MAX_FIELDS];
    for (uint32_t f = 0; f < sc->field_count; f++) {
      const s_field *sf = &sc->fields[f];
      fields[f] = (myr_field){sf->name[0] ? sf->name : NULL, sf->type, sf->type == MYR_BYTES ? sf->size : 0,
                              (size_t)sf->offset};
    }
    st = myr_component_register(w, &(myr_component_desc){sc->name, fields, sc->field_count, (size_t)sc->row_size},
                                &sc->target);
    if (st != MYR_OK) break;
    l->rep->components_registered++;
    for (uint32_t f = 0; f < sc->field_count; f++) sc->src[f] = (int32_t)f, sc->how[f] = CONV_COPY;
  }
  for (uint32_t i = 0; i < l->nres && st == MYR_OK; i++) {
    s_resource *r = &l->res[i];
    if (!r->create) continue;
    st = myr_resource_register(
        w, &(myr_resource_desc){.name = r->name, .size = (size_t)r->size, .align = (size_t)r->align, .flags = r->flags},
        &r->target);
    if (st == MYR_OK) l->rep->resources_registered++;
  }
  if (st != MYR_OK)
    return snap_fail(l->rep, st, "%s: registering the snapshot's schema: %s", l->name, myr_strerror(st));
  for (uint32_t k = 0; k < l->ntab && st == MYR_OK; k++) {
    s_table *t = &l->tables[k];
    compset set = {{0}};
    for (uint32_t j = 0; j < t->comp_count; j++) {
      const s_comp *sc = &l->comps[rd32(t->comps + 4ull * j)];
      if (!sc->skip) compset_put(&set, sc->target);
    }
    st = table_get(w, &set, &t->dst);
  }
  /* rows per table of the world (several of the snapshot's may meet in one
   * when components are skipped) */
  uint32_t nt = world_table_count(w);
  uint64_t *need = st == MYR_OK ? l_calloc(l, nt, sizeof *need) : NULL;
  if (st == MYR_OK && !need) st = MYR_ENOMEM;
  for (uint32_t k = 0; k < l->ntab && st == MYR_OK; k++) need[l->tables[k].dst->id] += l->tables[k].rows;
  for (uint32_t id = 0; id < nt && st == MYR_OK; id++) {
    if (need[id] > UINT32_MAX - 2 * ROW_ALIGN) st = MYR_ELIMIT;
    else if (need[id]) st = table_reserve(w, world_table(w, id), (uint32_t)need[id]);
  }
  l_free(l, need, (size_t)nt * sizeof *need);
  if (st == MYR_OK) st = world_slots_reserve(w, l->slots);
  if (st != MYR_OK)
    return snap_fail(l->rep, st, "%s: making room for the snapshot's rows: %s", l->name, myr_strerror(st));
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

static void commit_table(loader *l, const s_table *t, const s_comp **by_target) {
  table *dst = t->dst;
  uint32_t first = world_place_rows(l->w, dst, t->slots, t->rows);
  /* where each of the snapshot's components' columns start in the payload */
  uint64_t at[MYR_MAX_COMPONENTS];
  bool has[MYR_MAX_COMPONENTS] = {0};
  uint64_t off = 0;
  for (uint32_t j = 0; j < t->comp_count; j++) {
    uint32_t id = rd32(t->comps + 4ull * j);
    at[id] = off;
    has[id] = true;
    for (uint32_t f = 0; f < l->comps[id].field_count; f++) off += (uint64_t)t->rows * l->comps[id].fields[f].size;
  }
  for (uint32_t k = 0; k < dst->comp_count; k++) {
    myr_component c = dst->comps[k];
    const component_info *ci = world_component(l->w, c);
    const s_comp *sc = by_target[c];
    uint32_t id = sc ? (uint32_t)(sc - l->comps) : 0;
    for (uint32_t wf = 0; wf < ci->field_count; wf++) {
      column *col = &dst->cols[dst->comp_col[k] + wf];
      unsigned char *out = col->data + (size_t)first * col->elem_size;
      if (!sc || !has[id] || sc->src[wf] == NO_FIELD) {
        memset(out, 0, (size_t)t->rows * col->elem_size);
        continue;
      }
      uint64_t from = at[id];
      for (int32_t f = 0; f < sc->src[wf]; f++) from += (uint64_t)t->rows * sc->fields[f].size;
      const s_field *sf = &sc->fields[sc->src[wf]];
      if (sc->how[wf] == CONV_COPY) memcpy(out, t->cols + from, (size_t)t->rows * col->elem_size);
      else convert_column(out, col->type, t->cols + from, sf->type, t->rows, sc->how[wf]);
    }
  }
}

static void commit(loader *l, const myr_snapshot_load_desc *d) {
  myr_world *w = l->w;
  world_index_restore(w, l->slots, l->gens, l->free_list, l->nfree);
  const s_comp *by_target[MYR_MAX_COMPONENTS] = {0};
  for (uint32_t i = 0; i < l->ncomp; i++)
    if (!l->comps[i].skip) by_target[l->comps[i].target] = &l->comps[i];
  for (uint32_t k = 0; k < l->ntab; k++) commit_table(l, &l->tables[k], by_target);
  for (uint32_t i = 0; i < l->nres; i++)
    memcpy(myr_resource_data(w, l->res[i].target), l->res[i].bytes, (size_t)l->res[i].size);
  if (!(d && (d->flags & MYR_SNAPSHOT_KEEP_SEED))) myr_world_set_seed(w, l->seed);
  double time;
  memcpy(&time, &l->time_bits, 8);
  myr_world_set_clock(w, l->frame, time);
  l->rep->tables = 0;
  for (uint32_t k = 0; k < l->ntab; k++) l->rep->tables += l->tables[k].rows != 0;
  l->rep->entities = l->live_rows;
}

myr_status snap_load(myr_world *w, const unsigned char *data, size_t size, const char *name,
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
  loader l = {.w = w, .name = name, .rep = rep, .data = data, .size = size, .checksums_ok = true};
  world_mark mark = world_mark_now(w);
  myr_status st = parse(&l);
  if (st == MYR_OK) st = match(&l, d);
  if (st == MYR_OK) {
    st = reserve(&l);
    if (st != MYR_OK) world_rollback(w, &mark);
  }
  if (st == MYR_OK) commit(&l, d);
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
              .size = size,
              .lenient = true,
              .sections = sections,
              .section_cap = capacity,
              .checksums_ok = true};
  myr_status st = parse(&l);
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
