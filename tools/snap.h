/* Private to myriad-snap: what its parts share. Loading a snapshot into a
 * fresh world and the exit statuses (snap_load.c), a loaded world's schema
 * (snap_schema.c), values as text (snap_values.c), and one part per
 * command: info (snap_info.c), verify, hash and diff (snap_compare.c),
 * dump with a writer per format (snap_dump.c). Everything goes through the
 * public API (myriad.h, snapshot.h). */
#ifndef MYRIAD_TOOLS_SNAP_H
#define MYRIAD_TOOLS_SNAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "myriad/myriad.h"
#include "myriad/snapshot.h"

/* Exit statuses: success (equal, loads), a difference or bad content, and
 * a bad argument or input that cannot be read (or, where the command needs
 * a loaded world, does not load). */
enum { SNAP_EXIT_OK = 0, SNAP_EXIT_DIFFER = 1, SNAP_EXIT_BAD = 1, SNAP_EXIT_USAGE = 2 };

/* One line on stderr, "myriad-snap: " and the text. */
void snap_error(const char *fmt, ...);

/* snap_load.c: loads path into a new world (*out; NULL on failure). The
 * report, when not NULL, is filled as myr_snapshot_load_file fills it. */
myr_status snap_load(const char *path, myr_world **out, myr_snapshot_report *report);

/* One line on stderr for a failed load or inspection: the report's message
 * (it names the file, the byte offset and the reason), else the path and
 * the status' description. */
void snap_load_error(const char *path, myr_status status, const myr_snapshot_report *report);

/* A snapshot that could not be loaded: MYR_EIO and MYR_ENOMEM are input
 * that could not be read or checked at all, everything else bad content. */
bool snap_unreadable(myr_status status);

/* snap_schema.c: a loaded world's components, in id order. */
typedef struct snap_component {
  char name[64]; /* "" when it could not be found out */
  uint32_t field_count;
  myr_field fields[MYR_MAX_FIELDS]; /* names owned by the world */
} snap_component;

/* The world's components (ids 0 to *count - 1) into out[MYR_MAX_COMPONENTS],
 * with their names; `path` is the snapshot the world was loaded from. The
 * world gains one entity (see snap_schema.c). */
myr_status snap_schema(const char *path, myr_world *world, snap_component *out, uint32_t *count);

/* The number of components registered in the world (ids are 0..n-1). */
uint32_t snap_component_count(const myr_world *world);

/* snap_values.c: field values as text. */
typedef enum snap_style {
  SNAP_TEXT, /* for people: floats with their bits, e.g. 1.5 (0x3fc00000) */
  SNAP_CSV,  /* floats that read back to the same bits, no quotes needed */
  SNAP_JSON  /* numbers, or strings for entities, bytes and non-finite floats */
} snap_style;

/* "f32", "bytes", "entity"...; "?" for an unknown type. */
const char *snap_type_name(myr_type type);

/* A field's size in bytes: myr_type_size, or field->size for MYR_BYTES. */
uint32_t snap_field_size(const myr_field *field);

/* Writes one value of `type` (`size` bytes for MYR_BYTES) in the style.
 * Entities are index:generation, bytes lowercase hex. */
void snap_write_value(FILE *out, myr_type type, uint32_t size, const void *value, snap_style style);

/* index:generation */
void snap_write_entity(FILE *out, myr_entity entity);

/* The commands: each returns the exit status. */
int snap_info(const char *path);
int snap_verify(const char *path);
int snap_hash(const char *path);
int snap_diff(const char *path_a, const char *path_b);

typedef enum snap_format { SNAP_FORMAT_CSV, SNAP_FORMAT_JSON } snap_format;
int snap_dump(const char *path, const char *component, snap_format format);

#endif
