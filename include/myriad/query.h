/* myriad — queries: which tables a system sees, handed out as column chunks.
 *
 * A query is a list of terms. It matches every archetype table that has all
 * read/write components and none of the `without` ones; optional terms match
 * either way. The matched tables are cached and tables created later are
 * picked up at the next iteration. Iteration hands out chunks of at most K
 * rows; chunk boundaries fall on multiples of 16 rows within a table, and
 * every column of a table starts 64-byte aligned, so a chunk's column of
 * s-byte values starts 16*s-byte aligned: 64-byte aligned for every field
 * of 4 or 8 bytes (f32, i32, u32, f64, i64, u64, entity), 16-byte aligned
 * for u8, and for MYR_BYTES the largest power of two dividing 16*size, at
 * most 64. A SIMD loop may run over the padded tail of a table's last chunk
 * (rows up to the next multiple of 16 are always allocated and
 * initialised).
 *
 * Thread safety: iterating does not change the world; while an iteration is
 * in progress the world must not change structurally (no create, destroy,
 * add, remove). Several threads may iterate the same query with their own
 * iterators. */
#ifndef MYRIAD_QUERY_H
#define MYRIAD_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myriad/status.h"
#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum myr_term_kind {
  MYR_TERM_READ = 1,       /* required, read only */
  MYR_TERM_WRITE,          /* required, written in place */
  MYR_TERM_WITHOUT,        /* the table must not have it; no columns */
  MYR_TERM_OPTIONAL,       /* read if present; columns NULL otherwise */
  MYR_TERM_OPTIONAL_WRITE, /* written if present; columns NULL otherwise */
  MYR_TERM_WITH,           /* required, but no columns: neither read nor written,
                              so it causes no conflict in a schedule (a tag, or a
                              component whose presence alone selects rows) */
  /* Resource terms only (schedule.h, myr_resource_term): */
  MYR_TERM_WRITE_HOOKS,   /* written by the system's begin and end hooks only;
                              its chunks read it */
  MYR_TERM_WRITE_DISJOINT /* written by the system's chunks, each only in its
                              own part (e.g. a counting sort's slots): the
                              system states that no two chunks write the same
                              bytes */
} myr_term_kind;

typedef struct myr_term {
  myr_component component;
  myr_term_kind kind;
} myr_term;

#define MYR_QUERY_MAX_TERMS 32

typedef struct myr_query_desc {
  const myr_term *terms; /* copied */
  uint32_t term_count;   /* 1..MYR_QUERY_MAX_TERMS */
} myr_query_desc;

typedef struct myr_query myr_query;

/* Creates a query. Errors: MYR_EINVAL (no terms, bad kind, a component
 * named twice), MYR_ENOCOMP, MYR_ENOMEM. */
MYR_API myr_status myr_query_create(myr_world *world, const myr_query_desc *desc, myr_query **out);

/* Destroys a query. NULL is ignored. */
MYR_API void myr_query_destroy(myr_query *query);

/* Brings the cached table list up to date with tables created since the last
 * call (iteration does this itself). Errors: MYR_ENOMEM (cache unchanged). */
MYR_API myr_status myr_query_refresh(myr_query *query);

/* Number of tables matched (after the last refresh) and the number of
 * entities in them now. */
MYR_API uint32_t myr_query_table_count(const myr_query *query);
MYR_API uint64_t myr_query_entity_count(const myr_query *query);

/* One chunk of rows of one table. Columns are fetched with
 * myr_chunk_column(); the fields below are read-only for the caller. */
typedef struct myr_chunk {
  uint32_t count;         /* rows in this chunk, 1..K */
  uint32_t index;         /* ordinal of the chunk in this iteration */
  uint32_t table;         /* table id (stable for the world's lifetime) */
  uint32_t row;           /* first row of the chunk within its table */
  const myr_entity *ids;  /* count entity ids */
  const myr_query *query; /* private */
  uint32_t match;         /* private: index into the query's matched tables */
} myr_chunk;

typedef struct myr_query_iter {
  const myr_query *query; /* private fields; initialise with myr_query_iter_init */
  uint32_t chunk_rows;
  uint32_t match;
  uint32_t row;
  uint32_t index;
} myr_query_iter;

/* Starts an iteration with chunks of at most chunk_rows rows (rounded up to a
 * multiple of 16; 0 = whole tables). Refreshes the table cache first.
 * Errors: MYR_EINVAL, MYR_ENOMEM. */
MYR_API myr_status myr_query_iter_init(myr_query *query, uint32_t chunk_rows, myr_query_iter *it);

/* Yields the next non-empty chunk; false when the iteration is over. */
MYR_API bool myr_query_next(myr_query_iter *it, myr_chunk *chunk);

/* Pointer to the chunk's first value of (term, field), typed by the field's
 * registered type; NULL for an optional term absent from this table, for a
 * `without` term, or for a bad term/field index. */
MYR_API void *myr_chunk_column(const myr_chunk *chunk, uint32_t term, uint32_t field);

/* Like myr_chunk_column but also checks the field's type: NULL on mismatch. */
MYR_API void *myr_chunk_column_typed(const myr_chunk *chunk, uint32_t term, uint32_t field, myr_type type);

/* True when the chunk's table has the term's component: always for read,
 * write and with terms, never for without terms, and per table for the
 * optional ones (tags included, which have no columns to test). */
MYR_API bool myr_chunk_has(const myr_chunk *chunk, uint32_t term);

/* Typed columns: the chunk's first value of (term, field) as a pointer of
 * the field's C type. Built with NDEBUG they are myr_chunk_column itself
 * (no check, nothing to pay); otherwise a field of another registered type
 * gives NULL, like myr_chunk_column_typed. With MYR_FOR_ROWS below, the
 * obvious loop over several columns vectorizes (gcc -O3, clang -O2):
 *
 *   float *px = myr_chunk_f32(&v->chunk, 0, x);
 *   const float *vx = myr_chunk_f32(&v->chunk, 1, x);
 *   MYR_FOR_ROWS(i, &v->chunk) px[i] += vx[i] * dt;
 */
#ifdef NDEBUG
#define MYR_CHUNK_TYPED_(chunk, term, field, type) myr_chunk_column(chunk, term, field)
#else
#define MYR_CHUNK_TYPED_(chunk, term, field, type) myr_chunk_column_typed(chunk, term, field, type)
#endif
static inline float *myr_chunk_f32(const myr_chunk *c, uint32_t term, uint32_t field) {
  return (float *)MYR_CHUNK_TYPED_(c, term, field, MYR_F32);
}
static inline double *myr_chunk_f64(const myr_chunk *c, uint32_t term, uint32_t field) {
  return (double *)MYR_CHUNK_TYPED_(c, term, field, MYR_F64);
}
static inline int32_t *myr_chunk_i32(const myr_chunk *c, uint32_t term, uint32_t field) {
  return (int32_t *)MYR_CHUNK_TYPED_(c, term, field, MYR_I32);
}
static inline uint32_t *myr_chunk_u32(const myr_chunk *c, uint32_t term, uint32_t field) {
  return (uint32_t *)MYR_CHUNK_TYPED_(c, term, field, MYR_U32);
}
static inline int64_t *myr_chunk_i64(const myr_chunk *c, uint32_t term, uint32_t field) {
  return (int64_t *)MYR_CHUNK_TYPED_(c, term, field, MYR_I64);
}
static inline uint64_t *myr_chunk_u64(const myr_chunk *c, uint32_t term, uint32_t field) {
  return (uint64_t *)MYR_CHUNK_TYPED_(c, term, field, MYR_U64);
}
static inline uint8_t *myr_chunk_u8(const myr_chunk *c, uint32_t term, uint32_t field) {
  return (uint8_t *)MYR_CHUNK_TYPED_(c, term, field, MYR_U8);
}
static inline myr_entity *myr_chunk_entity(const myr_chunk *c, uint32_t term, uint32_t field) {
  return (myr_entity *)MYR_CHUNK_TYPED_(c, term, field, MYR_ENTITY);
}

/* for (uint32_t i = 0; i < chunk->count; i++), telling the compiler that
 * the body carries no dependency from one row to the next, so it may
 * vectorize without run-time alias checks: the columns of a table never
 * overlap (every field is its own column), which a compiler cannot know of
 * pointers it did not allocate, and gcc gives up on loops over more than a
 * few columns rather than check them all (restrict on local pointers does
 * not help it). The body must not read a row that an earlier row wrote. */
#if defined(__clang__)
#define MYR_ROWS_PRAGMA_ _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define MYR_ROWS_PRAGMA_ _Pragma("GCC ivdep")
#else
#define MYR_ROWS_PRAGMA_
#endif
#define MYR_FOR_ROWS(i, chunk) \
  MYR_ROWS_PRAGMA_ for (uint32_t i = 0, myr_rows_##i = (chunk)->count; i < myr_rows_##i; i++)

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_QUERY_H */
