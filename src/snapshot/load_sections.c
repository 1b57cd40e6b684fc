/* Loading, the small sections: reports, the load's allocations, the world,
 * schema, entities and resources sections, decompression. */
#include <stdalign.h>
#include <stdio.h>

#include "load_impl.h"

myr_status load_bad(cur *c, const char *reason) {
  return snap_corrupt(c->l->rep, c->l->name, cur_off(c), "%s: %s", c->what, reason);
}

myr_status load_name(cur *c, bool required, const char **out) {
  uint32_t len;
  const unsigned char *p;
  if (!get32(c, &len)) return load_bad(c, "truncated name length");
  if (len > SNAP_NAME_MAX) return load_bad(c, "a name longer than 4096 bytes");
  if (!take(c, len, &p)) return load_bad(c, "a name runs past the section's end");
  if (required && len == 0) return load_bad(c, "an empty name");
  if (memchr(p, 0, len)) return load_bad(c, "a NUL byte inside a name");
  loader *l = c->l;
  if (l->arena_size - l->arena_used < (size_t)len + 1) return load_bad(c, "internal: names arena full");
  char *s = l->arena + l->arena_used;
  memcpy(s, p, len);
  s[len] = '\0';
  l->arena_used += (size_t)len + 1;
  *out = s;
  return MYR_OK;
}

/* ---- allocations, all through the world's hooks -------------------------------- */

void *load_alloc(loader *l, size_t size) { return world_alloc(l->w, size ? size : 1, 16); }

void *load_calloc(loader *l, size_t n, size_t elem) {
  if (elem && n > SIZE_MAX / elem) return NULL;
  size_t size = n * elem;
  if (size == 0) size = 1;
  void *p = load_alloc(l, size);
  if (p) memset(p, 0, size);
  return p;
}

void load_free(loader *l, void *p, size_t size) {
  if (p) world_free(l->w, p, size ? size : 1);
}

myr_status load_oom(loader *l) { return snap_fail(l->rep, MYR_ENOMEM, "%s: out of memory", l->name); }

/* Keeps a buffer of the loader's until the load ends. */
myr_status load_keep(loader *l, void *p, size_t size) {
  if (l->nbufs == l->bufs_cap) {
    uint32_t cap = l->bufs_cap ? l->bufs_cap * 2 : 16;
    staged *more = load_alloc(l, (size_t)cap * sizeof *more);
    if (!more) {
      load_free(l, p, size);
      return load_oom(l);
    }
    if (l->nbufs) memcpy(more, l->bufs, (size_t)l->nbufs * sizeof *more);
    load_free(l, l->bufs, (size_t)l->bufs_cap * sizeof *l->bufs);
    l->bufs = more;
    l->bufs_cap = cap;
  }
  l->bufs[l->nbufs++] = (staged){p, size};
  return MYR_OK;
}

void load_release(loader *l) {
  for (uint32_t i = 0; i < l->nbufs; i++) load_free(l, l->bufs[i].p, l->bufs[i].size);
  load_free(l, l->bufs, (size_t)l->bufs_cap * sizeof *l->bufs);
  load_free(l, l->comps, (size_t)l->ncomp * sizeof *l->comps);
  load_free(l, l->arena, l->arena_size);
  load_free(l, l->tables, (size_t)l->ntab * sizeof *l->tables);
  load_free(l, l->res, (size_t)l->nres * sizeof *l->res);
  load_free(l, l->seen, ((size_t)l->slots + 7) / 8);
  load_free(l, l->dest_rows, (size_t)l->dest_cap * sizeof *l->dest_rows);
  load_free(l, l->bounce, BOUNCE);
  ZSTD_freeDCtx(l->dctx);
}

/* ---- sections ------------------------------------------------------------------ */

const char *load_kind_name(uint32_t kind) {
  static const char *const names[] = {"?", "world", "meta", "schema", "entities", "table", "resources", "end"};
  return kind < sizeof names / sizeof *names ? names[kind] : "?";
}

/* Decompresses a payload into a buffer of the loader's that grows with
 * the output actually produced (never sized from the claimed raw size
 * alone), which must come to exactly raw bytes. */
myr_status load_inflate(loader *l, cur *c, const unsigned char *in, uint64_t stored, uint64_t raw,
                        const unsigned char **out) {
  if (raw > SIZE_MAX / 2) return load_bad(c, "a decompressed size beyond this machine's address space");
  if (!l->dctx) {
    l->dctx = ZSTD_createDCtx_advanced((ZSTD_customMem){snap_zalloc, snap_zfree, l->w});
    if (!l->dctx) return load_oom(l);
    /* zstd allocates the window that a frame's header asks for (up to 128
     * MiB by default) whatever the frame holds: no more than the saver's
     * levels (1..19) use */
    if (ZSTD_isError(ZSTD_DCtx_setParameter(l->dctx, ZSTD_d_windowLogMax, SNAP_ZSTD_WINDOW_LOG_MAX)))
      return load_oom(l);
  }
  ZSTD_DCtx_reset(l->dctx, ZSTD_reset_session_only);
  size_t cap = raw < 65536 ? (size_t)raw : (stored * 4 < raw ? (size_t)(stored * 4) : (size_t)raw);
  if (cap < 65536 && raw >= 65536) cap = 65536;
  unsigned char *buf = load_alloc(l, cap);
  if (!buf) return load_oom(l);
  ZSTD_inBuffer zin = {in, (size_t)stored, 0};
  size_t done = 0;
  for (;;) {
    ZSTD_outBuffer zout = {buf, cap, done};
    size_t r = ZSTD_decompressStream(l->dctx, &zout, &zin);
    done = zout.pos;
    if (ZSTD_isError(r)) {
      load_free(l, buf, cap);
      return load_bad(c, "the zstd frame does not decompress");
    }
    if (r == 0) break; /* the frame is whole */
    if (done < cap) {
      if (zin.pos == zin.size) { /* wants input there is not */
        load_free(l, buf, cap);
        return load_bad(c, "the zstd frame is cut short");
      }
      continue;
    }
    if (cap == raw) { /* full, and more to come */
      load_free(l, buf, cap);
      return load_bad(c, "decompresses to more than its stated size");
    }
    size_t grown = cap * 2 < raw ? cap * 2 : (size_t)raw;
    unsigned char *more = load_alloc(l, grown);
    if (!more) {
      load_free(l, buf, cap);
      return load_oom(l);
    }
    memcpy(more, buf, done);
    load_free(l, buf, cap);
    buf = more;
    cap = grown;
  }
  if (zin.pos != zin.size || done != raw) {
    load_free(l, buf, cap);
    return load_bad(c, zin.pos != zin.size ? "bytes after the zstd frame" : "decompresses to another size than stated");
  }
  myr_status st = load_keep(l, buf, cap);
  if (st != MYR_OK) return st;
  *out = buf;
  return MYR_OK;
}

myr_status load_world(loader *l, cur *c) {
  const unsigned char *b;
  if (c->end - c->p != SNAP_WORLD_SIZE || !take(c, SNAP_WORLD_SIZE, &b)) return load_bad(c, "not 48 bytes long");
  l->seed = rd64(b);
  l->frame = rd64(b + 8);
  l->time_bits = rd64(b + 16);
  l->ncomp = rd32(b + 24);
  l->nres = rd32(b + 28);
  l->ntab = rd32(b + 32);
  l->slots = rd32(b + 36);
  l->nfree = rd32(b + 40);
  c->p = b; /* offsets of the fields, for messages */
  if (rd32(b + 44) != 0) return c->p += 44, load_bad(c, "reserved bytes not zero");
  if (l->ncomp > MYR_MAX_COMPONENTS) return c->p += 24, load_bad(c, "more components than a world holds");
  if (l->nres > MYR_MAX_RESOURCES) return c->p += 28, load_bad(c, "more resources than a world holds");
  /* every table is a section of 40 bytes at least */
  if (l->ntab > l->size / (SNAP_SECTION_HEAD + SNAP_SECTION_TAIL))
    return c->p += 32, load_bad(c, "more tables than the snapshot's length holds");
  if (l->slots == UINT32_MAX) return c->p += 36, load_bad(c, "too many entity slots");
  if (l->nfree > l->slots) return c->p += 40, load_bad(c, "more free slots than slots");
  c->p = c->end;
  if (l->lenient) return MYR_OK;
  l->tables = load_calloc(l, l->ntab, sizeof *l->tables);
  l->res = load_calloc(l, l->nres, sizeof *l->res);
  if (!l->tables || !l->res) return load_oom(l);
  return MYR_OK;
}

static myr_status type_size_ok(myr_type type, uint32_t size) {
  if (type == MYR_BYTES) return size >= 1 && size <= 4096 ? MYR_OK : MYR_ECORRUPT;
  uint32_t s = myr_type_size(type);
  return s != 0 && s == size ? MYR_OK : MYR_ECORRUPT;
}

myr_status load_schema(loader *l, cur *c) {
  uint32_t n;
  if (!get32(c, &n)) return load_bad(c, "truncated");
  if (n != l->ncomp) return c->p -= 4, load_bad(c, "a component count unlike the world section's");
  size_t payload = (size_t)(c->end - c->p);
  /* names: each has a 4-byte length in front, so they and their NULs fit in payload bytes */
  l->arena_size = payload + 64;
  l->arena = load_alloc(l, l->arena_size);
  /* fields: each takes 20 bytes of the payload at least */
  size_t max_fields = payload / 20 + 1;
  l->comps = load_calloc(l, n, sizeof *l->comps);
  s_field *fields = load_calloc(l, max_fields, sizeof *fields);
  if (!l->arena || !l->comps || !fields) {
    load_free(l, fields, max_fields * sizeof *fields);
    return load_oom(l);
  }
  myr_status kept = load_keep(l, fields, max_fields * sizeof *fields);
  if (kept != MYR_OK) return kept;
  size_t used = 0;
  myr_status st;
  for (uint32_t i = 0; i < n; i++) {
    s_comp *sc = &l->comps[i];
    if ((st = load_name(c, true, &sc->name)) != MYR_OK) return st;
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(l->comps[j].name, sc->name) == 0) return load_bad(c, "two components of one name");
    if (!get32(c, &sc->field_count) || !get64(c, &sc->row_size)) return load_bad(c, "truncated component");
    if (sc->field_count > MYR_MAX_FIELDS) return load_bad(c, "more fields than a component holds");
    if (sc->field_count > max_fields - used) return load_bad(c, "more fields than the section's length holds");
    sc->fields = fields + used;
    used += sc->field_count;
    for (uint32_t f = 0; f < sc->field_count; f++) {
      s_field *sf = &sc->fields[f];
      uint32_t type;
      if ((st = load_name(c, false, &sf->name)) != MYR_OK) return st;
      if (!get32(c, &type) || !get32(c, &sf->size) || !get64(c, &sf->offset)) return load_bad(c, "truncated field");
      sf->type = (myr_type)type;
      if (type_size_ok(sf->type, sf->size) != MYR_OK)
        return c->p -= 16, load_bad(c, "a field of an unknown type or size");
      if (sf->offset > sc->row_size || sc->row_size - sf->offset < sf->size)
        return c->p -= 8, load_bad(c, "a field outside its row struct");
    }
  }
  if (c->p != c->end) return load_bad(c, "bytes after the last component");
  return MYR_OK;
}

myr_status load_entities(loader *l, cur *c) {
  if ((uint64_t)(c->end - c->p) != 4ull * l->slots + 4ull * l->nfree)
    return load_bad(c, "a length unlike the world section's slot and free counts");
  l->gens = c->p;
  l->free_list = c->p + 4ull * l->slots;
  for (uint32_t i = 0; i < l->slots; i++) {
    uint32_t g = rd32(l->gens + 4ull * i);
    if (g == 0 || g > ENTITY_MAX_GENERATION) return c->p += 4ull * i, load_bad(c, "a generation out of range");
  }
  l->seen = load_calloc(l, ((size_t)l->slots + 7) / 8, 1);
  if (!l->seen) return load_oom(l);
  for (uint32_t k = 0; k < l->nfree; k++) {
    uint32_t s = rd32(l->free_list + 4ull * k);
    c->p = l->free_list + 4ull * k;
    if (s >= l->slots) return load_bad(c, "a free slot out of range");
    if (bit_get(l->seen, s)) return load_bad(c, "a slot twice in the free list");
    bit_set(l->seen, s);
  }
  c->p = c->end;
  return MYR_OK;
}

myr_status load_resources(loader *l, cur *c) {
  uint32_t n;
  if (!get32(c, &n)) return load_bad(c, "truncated");
  if (n != l->nres) return c->p -= 4, load_bad(c, "a resource count unlike the world section's");
  /* names go into the arena after the schema's: grow it for them */
  size_t need = l->arena_used + (size_t)(c->end - c->p) + 64;
  char *arena = load_alloc(l, need);
  if (!arena) return load_oom(l);
  memcpy(arena, l->arena, l->arena_used);
  /* the schema's names point into the old arena: move them */
  for (uint32_t i = 0; i < l->ncomp; i++) {
    s_comp *sc = &l->comps[i];
    sc->name = arena + (sc->name - l->arena);
    for (uint32_t f = 0; f < sc->field_count; f++) sc->fields[f].name = arena + (sc->fields[f].name - l->arena);
  }
  load_free(l, l->arena, l->arena_size);
  l->arena = arena;
  l->arena_size = need;
  myr_status st;
  for (uint32_t i = 0; i < n; i++) {
    s_resource *r = &l->res[i];
    if ((st = load_name(c, true, &r->name)) != MYR_OK) return st;
    for (uint32_t j = 0; j < i; j++)
      if (strcmp(l->res[j].name, r->name) == 0) return load_bad(c, "two resources of one name");
    if (!get32(c, &r->flags) || !get64(c, &r->align) || !get64(c, &r->size)) return load_bad(c, "truncated resource");
    if (r->flags & ~(uint32_t)MYR_RESOURCE_UNHASHED) return c->p -= 20, load_bad(c, "unknown resource flags");
    if (r->align == 0 || (r->align & (r->align - 1)) || r->align > 4096)
      return c->p -= 16, load_bad(c, "a resource alignment that is not a power of two up to 4096");
    if (r->size == 0 || !take(c, (size_t)(r->size > SIZE_MAX ? SIZE_MAX : r->size), &r->bytes))
      return c->p -= 8, load_bad(c, "a resource size of 0 or past the section's end");
  }
  if (c->p != c->end) return load_bad(c, "bytes after the last resource");
  return MYR_OK;
}
