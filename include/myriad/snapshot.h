/* myriad — snapshots: a world saved to a file, to memory or through a
 * callback, and loaded back bit for bit.
 *
 * A snapshot holds the schema by name (components, their fields' names,
 * types, sizes and offsets), the entity index (every slot's generation and
 * the free list in its order, so ids survive and the next spawns get the
 * ids an uninterrupted run would give), every table's rows in table order
 * (iteration order survives), every resource's bytes, the world's seed and
 * its clock (frame and time), and an optional text the saver adds (meta).
 * The format is versioned, little-endian, and every section carries an
 * XXH3-64 checksum; docs/format.md gives it to the byte.
 *
 * Loading goes into a world that has no live entities. Its components and
 * resources may be registered already (a program that sets up its systems
 * first and then restores): they are matched by name. Those it lacks, the
 * snapshot registers. Loading validates the whole snapshot and reserves
 * every allocation before it changes anything: on any error the world is
 * as it was (nothing registered, no entity, the same clock).
 *
 * Thread safety: as for any call that changes a world (world.h); saving
 * only reads it. Neither may run while a schedule runs a frame on the
 * world (MYR_EBUSY). */
#ifndef MYRIAD_SNAPSHOT_H
#define MYRIAD_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The format version this library writes; it reads this one only. */
#define MYR_SNAPSHOT_FORMAT_VERSION 1

/* The longest meta text a snapshot holds, in bytes (without the NUL). */
#define MYR_SNAPSHOT_META_MAX 4096

/* What went wrong, and what a load did. Every call below fills the one it
 * is given (it may be NULL) on success and on failure. */
typedef struct myr_snapshot_report {
  /* on failure: one line naming the file (or "memory", "stream"), the
   * byte offset when the input is at fault, and the reason, e.g.
   * "w.snap: byte 1234: section 3 (table): checksum mismatch". Empty on
   * success. */
  char message[512];
  uint64_t offset; /* the byte offset of a fault in the input, else 0 */

  /* Loading: what the schema matching did; `notes` names each field or
   * component that was not matched one to one by name, e.g. "Velocity.2:
   * no name, matched by position; Health.armor: not in the snapshot, zero"
   * (cut short with "..." when longer than the buffer). */
  char notes[512];
  uint32_t components_registered; /* in the snapshot, not in the world: registered */
  uint32_t components_matched;    /* registered in the world already, by name */
  uint32_t components_skipped;    /* in the snapshot, dropped by desc.skip (below) */
  uint32_t fields_skipped;        /* a matched component's fields the world lacks: dropped */
  uint32_t fields_zeroed;         /* a matched component's fields the snapshot lacks: zero */
  uint32_t fields_by_position;    /* fields without a name, matched by position */
  uint32_t fields_converted;      /* fields loaded with a type conversion (MYR_SNAPSHOT_CONVERT) */
  uint32_t resources_registered, resources_matched;
  uint32_t tables;   /* tables holding rows */
  uint64_t entities; /* live entities */
  uint64_t bytes;    /* the snapshot's size */
} myr_snapshot_report;

/* ---- saving ------------------------------------------------------------- */

enum {
  /* Compress the sections that hold rows and resources with zstd. */
  MYR_SNAPSHOT_ZSTD = 1u << 0
};

typedef struct myr_snapshot_save_desc {
  uint32_t flags;              /* MYR_SNAPSHOT_* */
  int zstd_level;              /* with MYR_SNAPSHOT_ZSTD: 1..19, 0 = 3 */
  const char *meta;            /* optional text stored as is (up to MYR_SNAPSHOT_META_MAX
                       bytes), e.g. which program and settings made the world */
  myr_snapshot_report *report; /* optional: the message on failure */
} myr_snapshot_save_desc;

/* Receives the snapshot's bytes in order; returns MYR_OK, or any other
 * status to stop the save (which then returns that status). */
typedef myr_status (*myr_snapshot_write_fn)(void *ctx, const void *data, size_t size);

/* Saves the world to `path`, crash safe: the bytes go to a new temporary
 * file in path's folder, which is fsync'd and renamed over path, and then
 * the folder is fsync'd. Under path there is only ever a whole old snapshot
 * or a whole new one; a failed save leaves the old one as it was and no
 * temporary file behind (but one case: when only the folder's fsync fails,
 * MYR_EIO says so with the new snapshot in place, which a power loss may
 * yet undo). The file gets the mode of the one it replaces, else 0644. A
 * save killed part-way leaves its temporary file, `.NAME.tmp.XXXXXX`. desc may be NULL (no compression, no meta).
 * Errors: MYR_EINVAL (NULL world or path, unknown flags, a level out of
 * range, meta too long, a component, field or resource name longer than
 * the 4096 bytes the format holds), MYR_EBUSY (a frame is running on the world),
 * MYR_EIO (the file could not be written: a full disk, an unwritable
 * folder; the report's message names the path and the system's reason),
 * MYR_ENOMEM. */
MYR_API myr_status myr_snapshot_save_file(const myr_world *world, const char *path, const myr_snapshot_save_desc *desc);

/* Saves the world into memory allocated with the world's allocator: *data
 * and *size receive it; release it with myr_snapshot_free. Errors as
 * myr_snapshot_save_file's, but MYR_EIO. */
MYR_API myr_status myr_snapshot_save_memory(const myr_world *world, const myr_snapshot_save_desc *desc, void **data,
                                            size_t *size);

/* Frees what myr_snapshot_save_memory made (NULL is ignored). */
MYR_API void myr_snapshot_free(const myr_world *world, void *data, size_t size);

/* Saves the world through `write`, which receives the bytes in order in
 * pieces of any size. Errors as myr_snapshot_save_file's; a status other
 * than MYR_OK that write returns is returned as is. */
MYR_API myr_status myr_snapshot_save_stream(const myr_world *world, myr_snapshot_write_fn write, void *ctx,
                                            const myr_snapshot_save_desc *desc);

/* ---- loading ------------------------------------------------------------ */

enum {
  /* Allow a field whose type changed since the save, where the conversion
   * is exact or rounds as C does: an integer to a wider integer of the
   * same signedness (u8 to u32/u64 or i32/i64, u32 to u64 or i64, i32 to
   * i64), f32 to f64 and f64 to f32 (rounded to nearest). Without it, such
   * a field is MYR_ETYPE. */
  MYR_SNAPSHOT_CONVERT = 1u << 0,
  /* Keep the world's seed instead of the snapshot's. */
  MYR_SNAPSHOT_KEEP_SEED = 1u << 1
};

typedef struct myr_snapshot_load_desc {
  uint32_t flags;              /* MYR_SNAPSHOT_CONVERT, MYR_SNAPSHOT_KEEP_SEED */
  myr_snapshot_report *report; /* optional */
  /* Optional: names of components of the snapshot not to load (dropped,
   * counted in components_skipped); their entities keep their other
   * components. */
  const char *const *skip;
  uint32_t skip_count;
} myr_snapshot_load_desc;

/* Supplies the snapshot's bytes in order: writes up to `size` bytes to
 * buf and sets *got to how many (0 at the end); returns MYR_OK, or another
 * status to stop the load (which then returns that status). A load asks
 * for one snapshot's bytes and no more: it stops after the end section
 * (what follows, such as a next snapshot, is left unread, not an error),
 * and after the header if that is not a snapshot's. A file that is not a
 * regular one (a pipe, a FIFO, a device) is read the same way. */
typedef myr_status (*myr_snapshot_read_fn)(void *ctx, void *buf, size_t size, size_t *got);

/* Loads a snapshot into a world with no live entities (it may have had
 * some: the snapshot's entity index replaces the world's). Components and
 * resources are matched by name. A component the world has, registered in
 * any order and with fields added, removed or reordered, takes the
 * snapshot's values field by field, matched by name (fields without a
 * name by position): a field the snapshot lacks is zero, a field the world
 * lacks is dropped (both counted in the report). A component the world
 * lacks is registered as the snapshot describes it, unless desc.skip names
 * it. A resource is matched by name and must have the snapshot's size
 * (else MYR_ETYPE: its bytes could not be meant for it); its bytes are
 * copied into its memory, so pointers from myr_resource_data stay valid.
 * A resource the world lacks is registered. The snapshot's tables are made in its order, so a
 * world that had no tables iterates its rows in the saved order. The
 * world's seed (unless MYR_SNAPSHOT_KEEP_SEED) and clock become the
 * snapshot's. Errors, with the world unchanged:
 * MYR_EINVAL (NULL, unknown flags), MYR_EBUSY (a frame is running, or the
 * world has live entities), MYR_ECORRUPT (not a snapshot, truncated, a
 * checksum that does not hold, counts or sizes its length cannot back, an
 * unknown format version, an inconsistent entity index), MYR_ETYPE (a
 * matched field's type differs and MYR_SNAPSHOT_CONVERT does not allow the
 * conversion, or a resource's size differs: the message names
 * component.field or the resource), MYR_ELIMIT (more components or
 * resources than a world holds), MYR_EIO (the file could not be read),
 * MYR_ENOMEM. */
/* A file is read once, in order (not mapped): the bytes checked are the
 * bytes loaded. A file written or truncated in place while it loads is
 * refused (MYR_ECORRUPT) when its size or times show it; a writer replaces
 * a snapshot by renaming a new file over it, as myr_snapshot_save_file
 * does, and then a load that began reads the old file whole. */
MYR_API myr_status myr_snapshot_load_file(myr_world *world, const char *path, const myr_snapshot_load_desc *desc);
MYR_API myr_status myr_snapshot_load_memory(myr_world *world, const void *data, size_t size,
                                            const myr_snapshot_load_desc *desc);
MYR_API myr_status myr_snapshot_load_stream(myr_world *world, myr_snapshot_read_fn read, void *ctx,
                                            const myr_snapshot_load_desc *desc);

/* ---- inspecting --------------------------------------------------------- */

/* Section kinds (docs/format.md). */
typedef enum myr_snapshot_section_kind {
  MYR_SECTION_WORLD = 1,     /* seed, clock, counts */
  MYR_SECTION_META = 2,      /* the saver's text */
  MYR_SECTION_SCHEMA = 3,    /* components and fields */
  MYR_SECTION_ENTITIES = 4,  /* generations and the free list */
  MYR_SECTION_TABLE = 5,     /* one table's rows */
  MYR_SECTION_RESOURCES = 6, /* every resource's name, flags and bytes */
  MYR_SECTION_END = 7
} myr_snapshot_section_kind;

typedef struct myr_snapshot_section {
  myr_snapshot_section_kind kind;
  uint32_t flags;       /* 1: its payload is zstd-compressed */
  uint64_t offset;      /* of its header in the snapshot */
  uint64_t stored_size; /* payload bytes in the snapshot */
  uint64_t raw_size;    /* payload bytes once decompressed */
  bool checksum_ok;
} myr_snapshot_section;

typedef struct myr_snapshot_info {
  uint32_t format_version;
  uint32_t flags; /* the header's flags */
  uint64_t bytes; /* the snapshot's size */
  uint64_t seed, frame;
  double time;
  uint32_t component_count, resource_count, table_count; /* tables with rows */
  uint32_t slot_count;                                   /* entity slots, live or free */
  uint64_t entity_count;                                 /* live entities */
  uint32_t section_count;
  bool checksums_ok;                    /* every section's checksum holds */
  char meta[MYR_SNAPSHOT_META_MAX + 1]; /* the saver's text, "" if none */
} myr_snapshot_info;

/* Reads a snapshot's header and sections without loading it: fills *info
 * and, when sections is not NULL, up to `capacity` section descriptions
 * (info->section_count says how many there are). Unlike loading, a
 * checksum that does not hold is reported (checksum_ok, checksums_ok) and
 * not an error, as long as the sections can still be walked. Errors:
 * MYR_EINVAL, MYR_ECORRUPT (not a snapshot, unknown version, a section
 * that runs past the end, no end marker), MYR_EIO (the file), MYR_ENOMEM. */
MYR_API myr_status myr_snapshot_inspect_memory(const void *data, size_t size, myr_snapshot_info *info,
                                               myr_snapshot_section *sections, uint32_t capacity,
                                               myr_snapshot_report *report);
MYR_API myr_status myr_snapshot_inspect_file(const char *path, myr_snapshot_info *info, myr_snapshot_section *sections,
                                             uint32_t capacity, myr_snapshot_report *report);

/* ---- comparing worlds ---------------------------------------------------- */

/* Where two worlds part: the determinism debugger. */
typedef struct myr_world_diff {
  uint64_t differing; /* slots whose entity differs (id, components or values) */
  bool resources_differ;
  /* the first differing slot, in slot order (valid when differing > 0) */
  uint32_t slot;
  myr_entity a, b; /* the entity in each world at that slot (MYR_ENTITY_NULL: none) */
  /* the first difference at that slot: component "" when the ids differ
   * (one world has no entity there, or another generation); field "" when
   * one entity has the component and the other lacks it; else a field
   * whose values differ. Names are world a's (b's when only b has it). */
  char component[64], field[64];
  myr_type type;
  uint32_t size;                          /* the field's value size in bytes */
  unsigned char value_a[64], value_b[64]; /* the field's values (their first 64 bytes) */
  bool has_value_a, has_value_b;          /* false: that world's component lacks the field */
  /* the first differing resource, by name (valid when resources_differ) */
  char resource[64];
  /* what decides future ids and draws: the free list (its order, or a free
   * slot's generation), the seed, the clock (frame or time) */
  bool free_list_differs, seed_differs, clock_differs;
} myr_world_diff;

/* Compares two worlds entity by entity in slot order: ids (generation
 * included), component sets (components matched by name) and every
 * field's value bit for bit (fields matched by name), then resources by
 * name and bytes, the free lists, the seeds and the clocks. Returns MYR_OK
 * whether or not they differ; out->differing, resources_differ,
 * free_list_differs, seed_differs and clock_differs say. Errors:
 * MYR_EINVAL (NULL), MYR_ENOMEM. */
MYR_API myr_status myr_world_diff_compute(const myr_world *a, const myr_world *b, myr_world_diff *out);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_SNAPSHOT_H */
