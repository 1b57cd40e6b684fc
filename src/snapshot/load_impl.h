/* Private to the snapshot part's loading (load*.c): the loader's state,
 * the snapshot's schema, tables and resources as read, and the steps the
 * files share. load.c walks the sections and commits; load_sections.c
 * parses the small sections; load_read.c reads the input and streams a
 * table's rows into their table; load_match.c matches the schema to the
 * world's, registers, and commits. */
#ifndef MYRIAD_LOAD_IMPL_H
#define MYRIAD_LOAD_IMPL_H

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

static inline uint64_t cur_off(const cur *c) {
  if (c->compressed) return c->sec;
  return c->p ? c->at + (uint64_t)(c->p - c->begin) : c->at;
}
static inline bool take(cur *c, size_t n, const unsigned char **out) {
  if ((size_t)(c->end - c->p) < n) return false;
  *out = c->p;
  c->p += n;
  return true;
}
static inline bool get32(cur *c, uint32_t *v) {
  const unsigned char *p;
  if (!take(c, 4, &p)) return false;
  *v = rd32(p);
  return true;
}
static inline bool get64(cur *c, uint64_t *v) {
  const unsigned char *p;
  if (!take(c, 8, &p)) return false;
  *v = rd64(p);
  return true;
}
static inline void bit_set(unsigned char *bits, uint32_t i) { bits[i >> 3] |= (unsigned char)(1u << (i & 7)); }
static inline bool bit_get(const unsigned char *bits, uint32_t i) { return (bits[i >> 3] >> (i & 7)) & 1u; }

#define BOUNCE (1u << 20) /* bytes read, hashed and converted at a time */

/* ---- load_sections.c: reports, allocations, the small sections ----------------- */

/* MYR_ECORRUPT for the input at the cursor's offset, for `reason`. */
myr_status load_bad(cur *c, const char *reason);
/* A length-prefixed name, copied NUL terminated into the arena. */
myr_status load_name(cur *c, bool required, const char **out);
/* Allocations of the load, through the world's hooks. */
void *load_alloc(loader *l, size_t size);
void *load_calloc(loader *l, size_t n, size_t elem);
void load_free(loader *l, void *p, size_t size);
myr_status load_oom(loader *l);
/* Keeps a buffer of the loader's until the load ends (freed on failure too). */
myr_status load_keep(loader *l, void *p, size_t size);
/* Frees everything the loader holds. */
void load_release(loader *l);
const char *load_kind_name(uint32_t kind);
/* Decompresses a payload into a buffer that grows with its real output. */
myr_status load_inflate(loader *l, cur *c, const unsigned char *in, uint64_t stored, uint64_t raw,
                        const unsigned char **out);
myr_status load_world(loader *l, cur *c);
myr_status load_schema(loader *l, cur *c);
myr_status load_entities(loader *l, cur *c);
myr_status load_resources(loader *l, cur *c);

/* ---- load_read.c: the input, and a table section's rows ------------------------ */

/* Reads n bytes at `off` of the input into dst (each byte of a file once). */
myr_status load_read(loader *l, uint64_t off, void *dst, size_t n);
/* The n bytes at `off`: in place in memory, else read into a kept buffer. */
myr_status load_view(loader *l, uint64_t off, size_t n, const unsigned char **out);

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

/* Parses a table section of `len` payload bytes from r, its rows' values
 * written into their table past its count (placed at the commit). */
myr_status load_table(loader *l, cur *c, preader *r, uint64_t len);

/* ---- load_match.c: the schema matched, registered; the commit ------------------- */

/* Matches the components by name and registers those the world lacks. */
myr_status load_prepare(loader *l, const myr_snapshot_load_desc *d);
/* The resources matched (or registered), room for the entity index. */
myr_status load_finish(loader *l);
/* Converts n values of type `from` at src into type `to` at dst. */
void load_convert(unsigned char *dst, myr_type to, const unsigned char *src, myr_type from, uint32_t n, conv how);
/* Changes the world: cannot fail. */
void load_commit(loader *l, const myr_snapshot_load_desc *d);

#endif /* MYRIAD_LOAD_IMPL_H */
