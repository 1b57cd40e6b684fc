/* Private to the snapshot part: the format's constants (docs/format.md),
 * little-endian access, checksums, and what saving and loading share. */
#ifndef MYRIAD_SNAPSHOT_IMPL_H
#define MYRIAD_SNAPSHOT_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define XXH_INLINE_ALL /* XXH3-64 inlined from Debian's xxhash.h: no symbols to export */
#include <xxhash.h>

#include "myriad/snapshot.h"
#include "world_iface.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "snapshots are little-endian and columns are copied as they are: little-endian hosts only"
#endif

/* ---- the format ------------------------------------------------------------ */

#define SNAP_MAGIC "\x89MYRSNAP"
#define SNAP_HEADER_SIZE 24u  /* magic[8], version u32, flags u32, XXH3 of the 16 bytes before */
#define SNAP_SECTION_HEAD 32u /* kind u32, flags u32, stored u64, raw u64, index u32, zero u32 */
#define SNAP_SECTION_TAIL 8u  /* XXH3-64 of the section's head and payload */
#define SNAP_FILE_ZSTD 1u     /* header flag: some sections are compressed */
#define SNAP_SECTION_ZSTD 1u  /* section flag: its payload is one zstd frame */
#define SNAP_WORLD_SIZE 48u   /* the world section's payload */
#define SNAP_NAME_MAX 4096u   /* the longest name, in bytes */

/* A zstd frame's window: at most 8 MiB (levels 1..19 use no more). */
#define SNAP_ZSTD_WINDOW_LOG_MAX 23

/* ---- little-endian access (the hosts are little-endian: plain copies) ------ */

static inline uint32_t rd32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t rd64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline void wr32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void wr64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }

/* ---- reports ------------------------------------------------------------------ */

/* Sets the report's message (when there is a report) and returns st. */
myr_status snap_fail(myr_snapshot_report *rep, myr_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, for a fault at byte `offset` of input `name`. */
myr_status snap_corrupt(myr_snapshot_report *rep, const char *name, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Appends a note to the report's notes (cut short with "..."). */
void snap_note(myr_snapshot_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- saving ------------------------------------------------------------------- */

/* Where saved bytes go. */
typedef struct snap_sink {
  myr_status (*write)(struct snap_sink *s, const void *data, size_t size);
  uint64_t written;
} snap_sink;

/* Writes the world's snapshot to the sink (desc validated). */
myr_status snap_save(const myr_world *w, const myr_snapshot_save_desc *desc, snap_sink *sink, myr_snapshot_report *rep);
/* The size of the snapshot snap_save writes without compression. */
uint64_t snap_size(const myr_world *w, const myr_snapshot_save_desc *desc);
/* Checks a save desc (NULL is the default one). */
myr_status snap_save_desc_check(const myr_snapshot_save_desc *desc, myr_snapshot_report *rep);
/* Checks that the world's names fit the format (SNAP_NAME_MAX bytes). */
myr_status snap_save_world_check(const myr_world *w, myr_snapshot_report *rep);

/* ---- loading ------------------------------------------------------------------ */

/* Loads a snapshot of `size` bytes: from memory (data), or read from the
 * file fd (data NULL) once, in order, its columns straight into their
 * tables. `name` names the input in messages (a path, "memory",
 * "stream"). */
myr_status snap_load(myr_world *w, const unsigned char *data, int fd, uint64_t size, const char *name,
                     const myr_snapshot_load_desc *desc);
myr_status snap_inspect(const unsigned char *data, size_t size, const char *name, myr_snapshot_info *info,
                        myr_snapshot_section *sections, uint32_t capacity, myr_snapshot_report *rep);

/* Allocation through a world's hooks for zstd (it asks with a size and
 * frees without one: the size goes in a header). */
void *snap_zalloc(void *world, size_t size);
void snap_zfree(void *world, void *p);

#endif /* MYRIAD_SNAPSHOT_IMPL_H */
