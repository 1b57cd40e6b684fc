/* Saving: a world's sections, written in order through a sink, each with
 * its XXH3-64 checksum, optionally compressed with zstd. */
#include <stdalign.h>
#include <stdio.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_customMem: zstd allocates through the world's hooks */
#include <zstd.h>

#include "snapshot_impl.h"

#define STAGE_SIZE (64u << 10) /* small writes gather here; large ones go straight through */
#define PIECE (256u << 10)     /* a large write is hashed and written in pieces this big */
#define GATHER (64u << 10)     /* u32s gathered per write: 256 KiB, one piece */

typedef struct secw {
  const myr_world *w;
  snap_sink *sink;
  myr_snapshot_report *rep;
  myr_status st;
  uint32_t index; /* of the next section */
  bool zstd;      /* compress the sections that may be compressed */
  int level;
  ZSTD_CCtx *cctx;
  /* the section being written */
  unsigned char head[SNAP_SECTION_HEAD];
  XXH3_state_t xs;
  bool compressing;
  uint64_t raw, put;
  unsigned char *z; /* compressed payload */
  size_t zcap;
  ZSTD_outBuffer zout;
  size_t staged;
  unsigned char stage[STAGE_SIZE]; /* last two: not cleared */
  uint32_t gather[GATHER];         /* slots and generations, gathered from the rows and records */
} secw;

static void emit(secw *s, const void *data, size_t n) {
  if (s->st != MYR_OK || n == 0) return;
  s->st = s->sink->write(s->sink, data, n);
}

/* Hashes and writes bytes of an uncompressed section. */
static void emit_hashed(secw *s, const unsigned char *p, size_t n) {
  while (n && s->st == MYR_OK) {
    size_t k = n < PIECE ? n : PIECE;
    XXH3_64bits_update(&s->xs, p, k); /* then written while still in cache */
    emit(s, p, k);
    p += k;
    n -= k;
  }
}

static void flush(secw *s) {
  emit_hashed(s, s->stage, s->staged);
  s->staged = 0;
}

static void compress(secw *s, const void *p, size_t n, ZSTD_EndDirective end) {
  ZSTD_inBuffer in = {p, n, 0};
  for (;;) {
    size_t left = ZSTD_compressStream2(s->cctx, &s->zout, &in, end);
    if (ZSTD_isError(left)) {
      s->st = snap_fail(s->rep, MYR_ENOMEM, "zstd: %s", ZSTD_getErrorName(left));
      return;
    }
    if (end == ZSTD_e_end ? left == 0 : in.pos == in.size) return;
  }
}

static void sec_begin(secw *s, myr_snapshot_section_kind kind, uint64_t raw, bool compressible) {
  if (s->st != MYR_OK) return;
  s->compressing = s->zstd && compressible;
  s->raw = raw;
  s->put = 0;
  wr32(s->head, (uint32_t)kind);
  wr32(s->head + 4, s->compressing ? SNAP_SECTION_ZSTD : 0);
  wr64(s->head + 8, raw);
  wr64(s->head + 16, raw);
  wr32(s->head + 24, s->index++);
  wr32(s->head + 28, 0);
  XXH3_64bits_reset(&s->xs);
  if (!s->compressing) {
    XXH3_64bits_update(&s->xs, s->head, SNAP_SECTION_HEAD);
    emit(s, s->head, SNAP_SECTION_HEAD);
    return;
  }
  s->zcap = ZSTD_compressBound(raw);
  s->z = world_alloc(s->w, s->zcap, 64);
  if (!s->z) {
    s->st =
        snap_fail(s->rep, MYR_ENOMEM, "out of memory for a compressed section of %llu bytes", (unsigned long long)raw);
    return;
  }
  s->zout = (ZSTD_outBuffer){s->z, s->zcap, 0};
  ZSTD_CCtx_reset(s->cctx, ZSTD_reset_session_only);
  ZSTD_CCtx_setPledgedSrcSize(s->cctx, raw);
}

static void sec_put(secw *s, const void *data, size_t n) {
  if (s->st != MYR_OK || n == 0) return;
  s->put += n;
  if (s->compressing) {
    compress(s, data, n, ZSTD_e_continue);
  } else if (n < STAGE_SIZE / 4) {
    if (s->staged + n > STAGE_SIZE) flush(s);
    memcpy(s->stage + s->staged, data, n);
    s->staged += n;
  } else {
    flush(s);
    emit_hashed(s, data, n);
  }
}

static void put32(secw *s, uint32_t v) {
  unsigned char b[4];
  wr32(b, v);
  sec_put(s, b, 4);
}
static void put64(secw *s, uint64_t v) {
  unsigned char b[8];
  wr64(b, v);
  sec_put(s, b, 8);
}
static void put_name(secw *s, const char *name) {
  size_t len = name ? strlen(name) : 0;
  put32(s, (uint32_t)len);
  sec_put(s, name, len);
}

static void sec_end(secw *s) {
  if (s->st == MYR_OK && s->put != s->raw)
    s->st = snap_fail(s->rep, MYR_EINVAL, "internal: section %u sized %llu, %llu written", s->index - 1,
                      (unsigned long long)s->raw, (unsigned long long)s->put);
  if (s->compressing) {
    if (s->st == MYR_OK) compress(s, NULL, 0, ZSTD_e_end);
    if (s->st == MYR_OK) {
      wr64(s->head + 8, s->zout.pos);
      XXH3_64bits_update(&s->xs, s->head, SNAP_SECTION_HEAD);
      XXH3_64bits_update(&s->xs, s->z, s->zout.pos);
      emit(s, s->head, SNAP_SECTION_HEAD);
      emit(s, s->z, s->zout.pos);
    }
    world_free(s->w, s->z, s->zcap);
    s->z = NULL;
  } else {
    flush(s);
  }
  unsigned char tail[SNAP_SECTION_TAIL];
  wr64(tail, XXH3_64bits_digest(&s->xs));
  emit(s, tail, sizeof tail);
}

/* ---- what each section holds (docs/format.md) --------------------------------- */

static uint64_t schema_size(const myr_world *w) {
  uint64_t n = 4;
  for (myr_component c = 0; c < world_component_count(w); c++) {
    const component_info *ci = world_component(w, c);
    n += 4 + strlen(ci->name) + 4 + 8;
    for (uint32_t f = 0; f < ci->field_count; f++) n += 4 + strlen(ci->fields[f].name) + 4 + 4 + 8;
  }
  return n;
}

static uint64_t table_size(const myr_world *w, const table *t) {
  (void)w;
  uint64_t n = 8 + 4ull * t->comp_count + 4ull * t->count;
  for (uint32_t j = 0; j < t->col_count; j++) n += (uint64_t)t->count * t->cols[j].elem_size;
  return n;
}

static uint64_t resources_size(const myr_world *w) {
  uint64_t n = 4;
  for (myr_resource r = 0; r < world_resource_count(w); r++)
    n += 4 + strlen(world_resource_name(w, r)) + 4 + 8 + 8 + myr_resource_size(w, r);
  return n;
}

static uint32_t tables_with_rows(const myr_world *w) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < world_table_count(w); i++) n += world_table(w, i)->count != 0;
  return n;
}

static size_t meta_len(const myr_snapshot_save_desc *d) { return d->meta ? strlen(d->meta) : 0; }

uint64_t snap_size(const myr_world *w, const myr_snapshot_save_desc *d) {
  const uint64_t frame = SNAP_SECTION_HEAD + SNAP_SECTION_TAIL;
  const world_view *v = world_view_of(w);
  uint64_t n = SNAP_HEADER_SIZE + frame + SNAP_WORLD_SIZE;
  if (meta_len(d)) n += frame + meta_len(d);
  n += frame + schema_size(w);
  n += frame + 4ull * v->slot_count + 4ull * world_free_count(w);
  for (uint32_t i = 0; i < v->table_count; i++)
    if (v->tables[i]->count) n += frame + table_size(w, v->tables[i]);
  n += frame + resources_size(w) + frame;
  return n;
}

static void save_world(secw *s, const myr_world *w) {
  const world_view *v = world_view_of(w);
  unsigned char b[SNAP_WORLD_SIZE] = {0};
  double time = myr_world_time(w);
  uint64_t time_bits;
  memcpy(&time_bits, &time, 8);
  wr64(b, myr_world_seed(w));
  wr64(b + 8, myr_world_frame(w));
  wr64(b + 16, time_bits);
  wr32(b + 24, v->component_count);
  wr32(b + 28, world_resource_count(w));
  wr32(b + 32, tables_with_rows(w));
  wr32(b + 36, v->slot_count);
  wr32(b + 40, world_free_count(w));
  sec_begin(s, MYR_SECTION_WORLD, sizeof b, false);
  sec_put(s, b, sizeof b);
  sec_end(s);
}

static void save_schema(secw *s, const myr_world *w) {
  sec_begin(s, MYR_SECTION_SCHEMA, schema_size(w), false);
  put32(s, world_component_count(w));
  for (myr_component c = 0; c < world_component_count(w); c++) {
    const component_info *ci = world_component(w, c);
    put_name(s, ci->name);
    put32(s, ci->field_count);
    put64(s, ci->row_size);
    for (uint32_t f = 0; f < ci->field_count; f++) {
      put_name(s, ci->fields[f].name);
      put32(s, (uint32_t)ci->fields[f].type);
      put32(s, ci->elem_size[f]);
      put64(s, ci->fields[f].offset);
    }
  }
  sec_end(s);
}

static void save_entities(secw *s, const myr_world *w) {
  const world_view *v = world_view_of(w);
  uint32_t free_count = world_free_count(w);
  sec_begin(s, MYR_SECTION_ENTITIES, 4ull * v->slot_count + 4ull * free_count, true);
  uint32_t *buf = s->gather;
  for (uint32_t i = 0; i < v->slot_count && s->st == MYR_OK;) {
    uint32_t n = v->slot_count - i < GATHER ? v->slot_count - i : GATHER;
    for (uint32_t k = 0; k < n; k++) buf[k] = v->entities[i + k].generation;
    sec_put(s, buf, 4 * (size_t)n);
    i += n;
  }
  uint32_t n = 0;
  for (uint32_t k = 0; k < free_count; k++) {
    buf[n++] = world_free_at(w, k);
    if (n == GATHER) {
      sec_put(s, buf, 4 * (size_t)n);
      n = 0;
    }
  }
  sec_put(s, buf, 4 * (size_t)n);
  sec_end(s);
}

static void save_table(secw *s, const myr_world *w, const table *t) {
  sec_begin(s, MYR_SECTION_TABLE, table_size(w, t), true);
  put32(s, t->comp_count);
  put32(s, t->count);
  for (uint32_t k = 0; k < t->comp_count; k++) put32(s, t->comps[k]);
  uint32_t *buf = s->gather;
  for (uint32_t r = 0; r < t->count && s->st == MYR_OK;) {
    uint32_t n = t->count - r < GATHER ? t->count - r : GATHER;
    for (uint32_t k = 0; k < n; k++) buf[k] = MYR_ENTITY_INDEX(t->ids[r + k]);
    sec_put(s, buf, 4 * (size_t)n);
    r += n;
  }
  for (uint32_t j = 0; j < t->col_count; j++) sec_put(s, t->cols[j].data, (size_t)t->count * t->cols[j].elem_size);
  sec_end(s);
}

static void save_resources(secw *s, const myr_world *w) {
  sec_begin(s, MYR_SECTION_RESOURCES, resources_size(w), true);
  put32(s, world_resource_count(w));
  for (myr_resource r = 0; r < world_resource_count(w); r++) {
    put_name(s, world_resource_name(w, r));
    put32(s, world_resource_flags(w, r));
    put64(s, world_resource_align(w, r));
    put64(s, myr_resource_size(w, r));
    sec_put(s, myr_resource_data((myr_world *)w, r), myr_resource_size(w, r));
  }
  sec_end(s);
}

myr_status snap_save_desc_check(const myr_snapshot_save_desc *d, myr_snapshot_report *rep) {
  if (!d) return MYR_OK;
  if (d->flags & ~(uint32_t)MYR_SNAPSHOT_ZSTD)
    return snap_fail(rep, MYR_EINVAL, "unknown save flags 0x%x", (unsigned)d->flags);
  if (d->zstd_level < 0 || d->zstd_level > 19)
    return snap_fail(rep, MYR_EINVAL, "zstd level %d: 1..19, or 0 for the default", d->zstd_level);
  if (d->meta && strlen(d->meta) > MYR_SNAPSHOT_META_MAX)
    return snap_fail(rep, MYR_EINVAL, "meta of %zu bytes: at most %u", strlen(d->meta), MYR_SNAPSHOT_META_MAX);
  return MYR_OK;
}

/* A name the format cannot hold: named (its first bytes) in the message. */
static myr_status long_name(myr_snapshot_report *rep, const char *what, const char *name) {
  return snap_fail(rep, MYR_EINVAL, "%s %.40s...: a name of %zu bytes; a snapshot holds names of up to %u", what, name,
                   strlen(name), SNAP_NAME_MAX);
}

myr_status snap_save_world_check(const myr_world *w, myr_snapshot_report *rep) {
  for (myr_component c = 0; c < world_component_count(w); c++) {
    const component_info *ci = world_component(w, c);
    if (strlen(ci->name) > SNAP_NAME_MAX) return long_name(rep, "component", ci->name);
    for (uint32_t f = 0; f < ci->field_count; f++)
      if (strlen(ci->fields[f].name) > SNAP_NAME_MAX) return long_name(rep, "a field of component", ci->name);
  }
  for (myr_resource r = 0; r < world_resource_count(w); r++)
    if (strlen(world_resource_name(w, r)) > SNAP_NAME_MAX) return long_name(rep, "resource", world_resource_name(w, r));
  return MYR_OK;
}

myr_status snap_save(const myr_world *w, const myr_snapshot_save_desc *d, snap_sink *sink, myr_snapshot_report *rep) {
  secw *s = world_alloc(w, sizeof *s, alignof(secw));
  if (!s) return snap_fail(rep, MYR_ENOMEM, "out of memory");
  memset(s, 0, offsetof(secw, stage));
  s->w = w;
  s->sink = sink;
  s->rep = rep;
  s->st = MYR_OK;
  s->zstd = (d->flags & MYR_SNAPSHOT_ZSTD) != 0;
  s->level = d->zstd_level ? d->zstd_level : 3;
  if (s->zstd) {
    s->cctx = ZSTD_createCCtx_advanced((ZSTD_customMem){snap_zalloc, snap_zfree, (void *)w});
    if (!s->cctx) s->st = snap_fail(rep, MYR_ENOMEM, "out of memory for zstd");
    else ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, s->level);
  }
  unsigned char head[SNAP_HEADER_SIZE];
  memcpy(head, SNAP_MAGIC, 8);
  wr32(head + 8, MYR_SNAPSHOT_FORMAT_VERSION);
  wr32(head + 12, s->zstd ? SNAP_FILE_ZSTD : 0);
  wr64(head + 16, XXH3_64bits(head, 16));
  emit(s, head, sizeof head);
  save_world(s, w);
  if (meta_len(d)) {
    sec_begin(s, MYR_SECTION_META, meta_len(d), false);
    sec_put(s, d->meta, meta_len(d));
    sec_end(s);
  }
  save_schema(s, w);
  save_entities(s, w);
  const world_view *v = world_view_of(w);
  for (uint32_t i = 0; i < v->table_count; i++)
    if (v->tables[i]->count) save_table(s, w, v->tables[i]);
  save_resources(s, w);
  sec_begin(s, MYR_SECTION_END, 0, false);
  sec_end(s);
  myr_status st = s->st;
  ZSTD_freeCCtx(s->cctx);
  world_free(w, s, sizeof *s);
  return st;
}

/* ---- zstd's allocations, through the world's hooks ---------------------------- */

#define ZHEAD 16u /* the size, kept in front of the block */

void *snap_zalloc(void *world, size_t size) {
  unsigned char *p = world_alloc(world, size + ZHEAD, 16);
  if (!p) return NULL;
  memcpy(p, &size, sizeof size);
  return p + ZHEAD;
}

void snap_zfree(void *world, void *p) {
  if (!p) return;
  unsigned char *base = (unsigned char *)p - ZHEAD;
  size_t size;
  memcpy(&size, base, sizeof size);
  world_free(world, base, size + ZHEAD);
}

/* ---- reports -------------------------------------------------------------------- */

myr_status snap_fail(myr_snapshot_report *rep, myr_status st, const char *fmt, ...) {
  if (rep && !rep->message[0]) { /* the first cause is the one to tell */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->message, sizeof rep->message, fmt, ap);
    va_end(ap);
  }
  return st;
}

myr_status snap_corrupt(myr_snapshot_report *rep, const char *name, uint64_t offset, const char *fmt, ...) {
  if (rep && !rep->message[0]) {
    int n = snprintf(rep->message, sizeof rep->message, "%s: byte %llu: ", name, (unsigned long long)offset);
    if (n > 0 && (size_t)n < sizeof rep->message) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(rep->message + n, sizeof rep->message - (size_t)n, fmt, ap);
      va_end(ap);
    }
    rep->offset = offset;
  }
  return MYR_ECORRUPT;
}

void snap_note(myr_snapshot_report *rep, const char *fmt, ...) {
  if (!rep) return;
  size_t at = strlen(rep->notes);
  const size_t cap = sizeof rep->notes;
  if (at + 4 >= cap || (at >= 3 && strcmp(rep->notes + at - 3, "...") == 0)) return;
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  const char *sep = at ? "; " : "";
  if (at + strlen(sep) + strlen(line) + 4 > cap) {
    strcpy(rep->notes + at, "...");
    return;
  }
  strcat(rep->notes, sep);
  strcat(rep->notes, line);
}
