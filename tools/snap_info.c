/* info: what a snapshot holds. The header and sections come from
 * myr_snapshot_inspect_file, so they show for a file that does not load;
 * the schema from the world the file loads into. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"

static const char *section_kind_name(myr_snapshot_section_kind kind) {
  switch (kind) {
  case MYR_SECTION_WORLD: return "world";
  case MYR_SECTION_META: return "meta";
  case MYR_SECTION_SCHEMA: return "schema";
  case MYR_SECTION_ENTITIES: return "entities";
  case MYR_SECTION_TABLE: return "table";
  case MYR_SECTION_RESOURCES: return "resources";
  case MYR_SECTION_END: return "end";
  }
  return "?";
}

/* The meta text, each of its lines indented under "meta:". */
static void print_meta(const char *meta) {
  if (!meta[0]) {
    printf("meta: (none)\n");
    return;
  }
  printf("meta:\n");
  for (const char *line = meta; *line;) {
    size_t len = strcspn(line, "\n");
    printf("  %.*s\n", (int)len, line);
    line += len + (line[len] == '\n');
  }
}

static void print_header(const char *path, const myr_snapshot_info *info) {
  printf("file: %s\n", path);
  printf("bytes: %" PRIu64 "\n", info->bytes);
  printf("format version: %" PRIu32 "\n", info->format_version);
  printf("flags: 0x%" PRIx32 "\n", info->flags);
  print_meta(info->meta);
  printf("seed: %" PRIu64 "\n", info->seed);
  printf("frame: %" PRIu64 "\n", info->frame);
  printf("time: %.17g\n", info->time);
  printf("entities: %" PRIu64 " (slots: %" PRIu32 ")\n", info->entity_count, info->slot_count);
  printf("tables: %" PRIu32 "\n", info->table_count);
  printf("components: %" PRIu32 "\n", info->component_count);
  printf("resources: %" PRIu32 "\n", info->resource_count);
}

static void print_sections(const myr_snapshot_info *info, const myr_snapshot_section *s) {
  printf("sections: %" PRIu32 "\n", info->section_count);
  printf("  %-4s %-10s %12s %12s %12s  %s\n", "#", "kind", "offset", "stored", "raw", "checksum");
  for (uint32_t i = 0; i < info->section_count; i++)
    printf("  %-4" PRIu32 " %-10s %12" PRIu64 " %12" PRIu64 " %12" PRIu64 "  %s%s\n", i, section_kind_name(s[i].kind),
           s[i].offset, s[i].stored_size, s[i].raw_size, s[i].checksum_ok ? "ok" : "MISMATCH",
           s[i].flags & 1 ? " (zstd)" : "");
  printf("checksums: %s\n", info->checksums_ok ? "all hold" : "some do not hold");
}

static void print_resources(const myr_world *w) {
  printf("resources:\n");
  for (myr_resource r = 0; r < myr_resource_count(w); r++)
    printf("  %s (id %" PRIu32 "): %zu bytes%s\n", myr_resource_name(w, r), r, myr_resource_size(w, r),
           myr_resource_flags(w, r) & MYR_RESOURCE_UNHASHED ? ", not hashed" : "");
}

static void print_schema(const snap_component *cs, uint32_t n) {
  printf("schema:\n");
  for (uint32_t c = 0; c < n; c++) {
    printf("  %s (id %" PRIu32 "): %" PRIu32 " field%s%s\n", cs[c].name[0] ? cs[c].name : "?", c, cs[c].field_count,
           cs[c].field_count == 1 ? "" : "s", cs[c].field_count ? "" : " (a tag)");
    for (uint32_t f = 0; f < cs[c].field_count; f++) {
      const myr_field *fd = &cs[c].fields[f];
      printf("    %-16s %-6s size %-4" PRIu32 " offset %zu\n", fd->name && fd->name[0] ? fd->name : "(no name)",
             snap_type_name(fd->type), snap_field_size(fd), fd->offset);
    }
  }
}

/* The sections, as many as there are (a first call says how many). */
static myr_status inspect(const char *path, myr_snapshot_info *info, myr_snapshot_section **sections,
                          myr_snapshot_report *report) {
  *sections = NULL;
  myr_status st = myr_snapshot_inspect_file(path, info, NULL, 0, report);
  if (st != MYR_OK) return st;
  const uint32_t capacity = info->section_count;
  *sections = calloc(capacity ? capacity : 1, sizeof **sections);
  if (!*sections) return MYR_ENOMEM;
  st = myr_snapshot_inspect_file(path, info, *sections, capacity, report);
  /* a file renamed over the path in between (a checkpoint) may have more
   * sections than were made room for: show those there are room for */
  if (st == MYR_OK && info->section_count > capacity) info->section_count = capacity;
  return st;
}

int snap_info(const char *path) {
  myr_snapshot_info *info = calloc(1, sizeof *info);
  myr_snapshot_section *sections = NULL;
  myr_snapshot_report report = {0};
  myr_status st = info ? inspect(path, info, &sections, &report) : MYR_ENOMEM;
  if (st != MYR_OK) {
    snap_load_error(path, st, &report);
    free(info);
    free(sections);
    return snap_unreadable(st) ? SNAP_EXIT_USAGE : SNAP_EXIT_BAD;
  }
  print_header(path, info);

  myr_world *w;
  myr_status load = snap_load(path, &w, &report), schema = MYR_OK;
  if (load == MYR_OK) {
    snap_component *cs = calloc(MYR_MAX_COMPONENTS, sizeof *cs);
    uint32_t n = 0;
    schema = cs ? snap_schema(path, w, cs, &n) : MYR_ENOMEM;
    if (schema == MYR_OK) print_schema(cs, n);
    if (schema == MYR_OK) print_resources(w);
    else snap_error("%s: the schema: %s", path, myr_strerror(schema));
    free(cs);
    myr_world_destroy(w);
  } else {
    printf("schema: not shown (the file does not load)\n");
  }
  print_sections(info, sections);
  if (load == MYR_OK) {
    printf("loads: yes\n");
  } else {
    printf("loads: no: %s\n", report.message[0] ? report.message : myr_strerror(load));
    snap_load_error(path, load, &report);
  }
  free(info);
  free(sections);
  if (load != MYR_OK) return snap_unreadable(load) ? SNAP_EXIT_USAGE : SNAP_EXIT_BAD;
  return schema == MYR_OK ? SNAP_EXIT_OK : SNAP_EXIT_USAGE;
}
