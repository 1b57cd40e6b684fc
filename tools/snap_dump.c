/* dump: one component's rows, through a query over every table that has
 * it, in table then row order; a writer per format (CSV, JSON). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "snap.h"

typedef struct dump_columns {
  const char *component;
  uint32_t field_count;
  myr_field fields[MYR_MAX_FIELDS];
  const unsigned char *column[MYR_MAX_FIELDS]; /* the current chunk's */
} dump_columns;

/* A writer: the header, one row per entity, the end. */
typedef struct dump_writer {
  void (*begin)(FILE *out, const dump_columns *d);
  void (*row)(FILE *out, const dump_columns *d, myr_entity e, uint32_t i, bool first);
  void (*end)(FILE *out, const dump_columns *d, bool any);
} dump_writer;

/* ---- CSV --------------------------------------------------------------- */

/* A header cell, quoted as RFC 4180 has it when it holds a comma, a quote
 * or a line break; a field without a name is "field<index>". */
static void csv_name(FILE *out, const myr_field *fd, uint32_t f) {
  if (!fd->name || !fd->name[0]) {
    fprintf(out, "field%" PRIu32, f);
    return;
  }
  if (!fd->name[strcspn(fd->name, ",\"\r\n")]) {
    fputs(fd->name, out);
    return;
  }
  fputc('"', out);
  for (const char *p = fd->name; *p; p++) {
    if (*p == '"') fputc('"', out);
    fputc(*p, out);
  }
  fputc('"', out);
}

static void csv_begin(FILE *out, const dump_columns *d) {
  fputs("entity", out);
  for (uint32_t f = 0; f < d->field_count; f++) {
    fputc(',', out);
    csv_name(out, &d->fields[f], f);
  }
  fputc('\n', out);
}

static void csv_row(FILE *out, const dump_columns *d, myr_entity e, uint32_t i, bool first) {
  (void)first;
  snap_write_entity(out, e);
  for (uint32_t f = 0; f < d->field_count; f++) {
    uint32_t size = snap_field_size(&d->fields[f]);
    fputc(',', out);
    snap_write_value(out, d->fields[f].type, size, d->column[f] + (size_t)i * size, SNAP_CSV);
  }
  fputc('\n', out);
}

static void csv_end(FILE *out, const dump_columns *d, bool any) { (void)out, (void)d, (void)any; }

/* ---- JSON -------------------------------------------------------------- */

/* {"component": ..., "fields": [{name, type, size, offset}...], "rows":
 * [{"entity": "index:generation", <field name>: value...}...]}; a field
 * without a name is keyed "field<index>". */
static void json_key(FILE *out, const myr_field *fd, uint32_t f) {
  if (fd->name && fd->name[0]) json_string(out, fd->name);
  else fprintf(out, "\"field%" PRIu32 "\"", f);
}

static void json_begin(FILE *out, const dump_columns *d) {
  fputs("{\"component\": ", out);
  json_string(out, d->component);
  fputs(",\n \"fields\": [", out);
  for (uint32_t f = 0; f < d->field_count; f++) {
    const myr_field *fd = &d->fields[f];
    fputs(f ? ", {\"name\": " : "{\"name\": ", out);
    json_key(out, fd, f);
    fprintf(out, ", \"type\": \"%s\", \"size\": %" PRIu32 ", \"offset\": %zu}", snap_type_name(fd->type),
            snap_field_size(fd), fd->offset);
  }
  fputs("],\n \"rows\": [", out);
}

static void json_row(FILE *out, const dump_columns *d, myr_entity e, uint32_t i, bool first) {
  fputs(first ? "\n  {\"entity\": \"" : ",\n  {\"entity\": \"", out);
  snap_write_entity(out, e);
  fputc('"', out);
  for (uint32_t f = 0; f < d->field_count; f++) {
    uint32_t size = snap_field_size(&d->fields[f]);
    fputs(", ", out);
    json_key(out, &d->fields[f], f);
    fputs(": ", out);
    snap_write_value(out, d->fields[f].type, size, d->column[f] + (size_t)i * size, SNAP_JSON);
  }
  fputc('}', out);
}

static void json_end(FILE *out, const dump_columns *d, bool any) {
  (void)d;
  fputs(any ? "\n ]}\n" : "]}\n", out);
}

static const dump_writer writers[] = {
    [SNAP_FORMAT_CSV] = {csv_begin, csv_row, csv_end},
    [SNAP_FORMAT_JSON] = {json_begin, json_row, json_end},
};

/* ---- the rows ---------------------------------------------------------- */

static myr_status dump_rows(myr_world *w, myr_component c, dump_columns *d, const dump_writer *wr) {
  myr_query *q;
  /* a tag has no columns to read: its presence selects the rows */
  myr_term term = {c, d->field_count ? MYR_TERM_READ : MYR_TERM_WITH};
  myr_status st = myr_query_create(w, &(myr_query_desc){.terms = &term, .term_count = 1}, &q);
  if (st != MYR_OK) return st;
  myr_query_iter it;
  if ((st = myr_query_iter_init(q, 0, &it)) != MYR_OK) {
    myr_query_destroy(q);
    return st;
  }
  wr->begin(stdout, d);
  bool any = false;
  for (myr_chunk ch; myr_query_next(&it, &ch);) {
    for (uint32_t f = 0; f < d->field_count; f++) d->column[f] = myr_chunk_column(&ch, 0, f);
    for (uint32_t i = 0; i < ch.count; i++, any = true) wr->row(stdout, d, ch.ids[i], i, !any);
  }
  wr->end(stdout, d, any);
  myr_query_destroy(q);
  return MYR_OK;
}

int snap_dump(const char *path, const char *component, snap_format format) {
  myr_snapshot_report r = {0};
  myr_world *w;
  myr_status st = snap_load(path, &w, &r);
  if (st != MYR_OK) {
    snap_load_error(path, st, &r);
    return SNAP_EXIT_USAGE;
  }
  myr_component c;
  dump_columns *d = calloc(1, sizeof *d);
  if (!d) st = MYR_ENOMEM;
  else if (myr_component_lookup(w, component, &c) != MYR_OK) {
    snap_error("%s: no component named \"%s\" (see myriad-snap info)", path, component);
    free(d);
    myr_world_destroy(w);
    return SNAP_EXIT_USAGE;
  } else {
    d->component = component;
    st = myr_component_info(w, c, &d->field_count, 0, NULL);
    for (uint32_t f = 0; st == MYR_OK && f < d->field_count; f++) st = myr_component_info(w, c, NULL, f, &d->fields[f]);
    if (st == MYR_OK) st = dump_rows(w, c, d, &writers[format]);
  }
  if (st != MYR_OK) snap_error("%s: dumping %s: %s", path, component, myr_strerror(st));
  free(d);
  myr_world_destroy(w);
  return st == MYR_OK ? SNAP_EXIT_OK : SNAP_EXIT_USAGE;
}
