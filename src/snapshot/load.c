/* Loading: the sections walked in order, each checked (its checksum, its
 * counts against the bytes that back it, the entity index's consistency),
 * the schema matched to the world's by name, and the world changed only
 * once nothing can fail; anything made before is rolled back. Inspecting
 * walks the same sections without loading. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "load_impl.h"

/* Walks the sections in order, checking each one's head, checksum and
 * place in the order, and parses what loading needs. The input is read
 * once, in order; a table's rows go straight into their table (undone by
 * the caller's rollback if anything after fails). */
static myr_status parse(loader *l, const myr_snapshot_load_desc *d) {
  unsigned char header[SNAP_HEADER_SIZE];
  cur c = {.l = l, .p = header, .begin = header, .end = header + sizeof header, .what = "header"};
  if (l->size < SNAP_HEADER_SIZE) return load_bad(&c, "shorter than a snapshot's header (truncated?)");
  myr_status st = load_read(l, 0, header, sizeof header);
  if (st != MYR_OK) return st;
  if (memcmp(header, SNAP_MAGIC, 8) != 0) return load_bad(&c, "not a myriad snapshot (bad magic)");
  l->version = rd32(header + 8);
  l->flags = rd32(header + 12);
  if (XXH3_64bits(header, 16) != rd64(header + 16)) {
    c.p += l->version != MYR_SNAPSHOT_FORMAT_VERSION ? 8 : 16;
    return load_bad(&c, l->version != MYR_SNAPSHOT_FORMAT_VERSION
                            ? "unknown format version (and the header's checksum fails)"
                            : "header checksum mismatch");
  }
  if (l->version != MYR_SNAPSHOT_FORMAT_VERSION) {
    c.p += 8;
    char why[96];
    snprintf(why, sizeof why, "format version %u; this library reads version %u", (unsigned)l->version,
             MYR_SNAPSHOT_FORMAT_VERSION);
    return load_bad(&c, why);
  }
  if (l->flags & ~SNAP_FILE_ZSTD) return c.p += 12, load_bad(&c, "unknown header flags");

  /* the order: world, meta?, schema, entities, table*, resources, end */
  uint32_t expect = MYR_SECTION_WORLD, prev = 0, tables_walked = 0;
  uint64_t pos = SNAP_HEADER_SIZE;
  for (uint32_t index = 0;; index++) {
    unsigned char head[SNAP_SECTION_HEAD];
    char what[48];
    snprintf(what, sizeof what, "section %u", index);
    cur h = {.l = l, .at = pos, .sec = pos, .what = what}; /* offsets from the section's start */
    if (l->size - pos < SNAP_SECTION_HEAD + SNAP_SECTION_TAIL)
      return load_bad(&h, index == 0 ? "no sections (truncated?)" : "truncated: no end marker");
    if ((st = load_read(l, pos, head, sizeof head)) != MYR_OK) return st;
    uint32_t kind = rd32(head), sflags = rd32(head + 4);
    uint64_t stored = rd64(head + 8), raw = rd64(head + 16);
    snprintf(what, sizeof what, "section %u (%s)", index, load_kind_name(kind));
    if (rd32(head + 24) != index) return h.at += 24, load_bad(&h, "out of place: its index is not its position");
    if (rd32(head + 28) != 0) return h.at += 28, load_bad(&h, "reserved bytes not zero");
    if (kind < MYR_SECTION_WORLD || kind > MYR_SECTION_END) return load_bad(&h, "unknown kind");
    if (sflags & ~SNAP_SECTION_ZSTD) return h.at += 4, load_bad(&h, "unknown flags");
    bool z = (sflags & SNAP_SECTION_ZSTD) != 0;
    if (z && !(l->flags & SNAP_FILE_ZSTD)) return h.at += 4, load_bad(&h, "compressed, but the header says none is");
    if (z && kind != MYR_SECTION_ENTITIES && kind != MYR_SECTION_TABLE && kind != MYR_SECTION_RESOURCES)
      return h.at += 4, load_bad(&h, "compressed, but of a kind that never is");
    if (stored > l->size - pos - SNAP_SECTION_HEAD - SNAP_SECTION_TAIL)
      return h.at += 8, load_bad(&h, "runs past the end of the snapshot (truncated?)");
    if (!z && raw != stored) return h.at += 16, load_bad(&h, "raw and stored sizes differ in a section not compressed");
    uint64_t total = SNAP_SECTION_HEAD + stored;
    unsigned char tail[SNAP_SECTION_TAIL];
    if ((st = load_read(l, pos + total, tail, sizeof tail)) != MYR_OK) return st;
    /* its place in the order */
    bool in_order = kind == expect || (kind == MYR_SECTION_META && prev == MYR_SECTION_WORLD);
    if (!in_order && !l->lenient) return load_bad(&h, "out of order");
    cur c2 = {.l = l, .sec = pos, .at = pos + SNAP_SECTION_HEAD, .compressed = z, .what = what};
    XXH3_64bits_reset(&l->xs);
    XXH3_64bits_update(&l->xs, head, sizeof head);
    if (kind == MYR_SECTION_TABLE && !z && !l->lenient) {
      /* rows straight into their table, hashed on the way */
      if (!l->prepared && (st = load_prepare(l, d)) != MYR_OK) return st;
      preader r = {l, l->data ? l->data + pos + SNAP_SECTION_HEAD : NULL, pos + SNAP_SECTION_HEAD, 0, true};
      cur ct = c2;
      ct.p = ct.begin = ct.end = NULL;
      if ((st = load_table(l, &ct, &r, stored)) != MYR_OK) return st;
      if (XXH3_64bits_digest(&l->xs) != rd64(tail)) return c2.at += stored, load_bad(&c2, "checksum mismatch");
      l->section_count++;
    } else {
      const unsigned char *payload = NULL;
      if ((st = load_view(l, pos + SNAP_SECTION_HEAD, (size_t)stored, &payload)) != MYR_OK) return st;
      XXH3_64bits_update(&l->xs, payload, (size_t)stored);
      bool sum_ok = XXH3_64bits_digest(&l->xs) == rd64(tail);
      if (l->sections && l->section_count < l->section_cap)
        l->sections[l->section_count] =
            (myr_snapshot_section){(myr_snapshot_section_kind)kind, sflags, pos, stored, raw, sum_ok};
      l->section_count++;
      l->checksums_ok &= sum_ok;
      if (!sum_ok && !l->lenient) return h.at += total, load_bad(&h, "checksum mismatch");
      if (!in_order) return load_bad(&h, "out of order");
      if (kind == MYR_SECTION_END) {
        if (stored != 0) return h.at += 8, load_bad(&h, "an end marker with a payload");
        if (pos + total + SNAP_SECTION_TAIL != l->size)
          return h.at += total + 8, load_bad(&h, "bytes after the end marker");
        break;
      }
      c2.p = c2.begin = payload;
      c2.end = payload + stored;
      if (kind == MYR_SECTION_WORLD) {
        st = load_world(l, &c2);
      } else if (kind == MYR_SECTION_META) {
        if (stored > MYR_SNAPSHOT_META_MAX) return load_bad(&c2, "meta text longer than its limit");
        if (stored == 0) return load_bad(&c2, "an empty meta section (saved only when not empty)");
        if (memchr(c2.p, 0, stored)) return load_bad(&c2, "a NUL byte inside the meta text");
        l->meta = c2.p;
        l->meta_len = (uint32_t)stored;
      } else if (!l->lenient) {
        if (z && (st = load_inflate(l, &c2, c2.p, stored, raw, &c2.p)) == MYR_OK) c2.end = c2.p + raw;
        if (st == MYR_OK) {
          if (kind == MYR_SECTION_SCHEMA) {
            st = load_schema(l, &c2);
          } else if (kind == MYR_SECTION_ENTITIES) {
            st = load_entities(l, &c2);
          } else if (kind == MYR_SECTION_TABLE) { /* compressed: its bytes were hashed as stored */
            if (!l->prepared) st = load_prepare(l, d);
            preader r = {l, c2.p, 0, 0, false};
            if (st == MYR_OK) st = load_table(l, &c2, &r, raw);
          } else {
            st = load_resources(l, &c2);
          }
        }
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
  cur e = {.l = l, .at = pos, .sec = pos, .what = "end"};
  if (l->tables_seen != l->ntab) return load_bad(&e, "fewer tables than the world section says");
  if (l->live_rows + l->nfree != l->slots) return load_bad(&e, "entity slots that are neither live nor free");
  return MYR_OK;
}

/* Whether a file was written, truncated or replaced since `before`: each
 * section is checked against its own checksum, and this ties them to one
 * file (a rewrite within one tick of the file system's clock escapes it). */
static bool file_changed(int fd, const struct stat *before) {
  struct stat now;
  if (fstat(fd, &now) != 0) return true;
  return now.st_ino != before->st_ino || now.st_size != before->st_size ||
         now.st_mtim.tv_sec != before->st_mtim.tv_sec || now.st_mtim.tv_nsec != before->st_mtim.tv_nsec ||
         now.st_ctim.tv_sec != before->st_ctim.tv_sec || now.st_ctim.tv_nsec != before->st_ctim.tv_nsec;
}

myr_status snap_load(myr_world *w, const unsigned char *data, int fd, uint64_t size, const char *name,
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
  loader l = {.w = w, .name = name, .rep = rep, .data = data, .fd = fd, .size = size, .checksums_ok = true};
  world_mark mark = world_mark_now(w);
  struct stat before;
  myr_status st = fd >= 0 && fstat(fd, &before) != 0
                      ? snap_fail(rep, MYR_EIO, "%s: cannot stat: %s", name, strerror(errno))
                      : parse(&l, d);
  if (st == MYR_OK && !l.prepared) st = load_prepare(&l, d);
  if (st == MYR_OK) st = load_finish(&l);
  if (st == MYR_OK && fd >= 0 && file_changed(fd, &before))
    st = snap_corrupt(rep, name, 0,
                      "the file changed while it was loading (replace a snapshot by renaming a new file over it, as "
                      "myr_snapshot_save_file does)");
  if (st == MYR_OK) load_commit(&l, d);
  else world_rollback(w, &mark); /* what was registered and made: tables, components, resources */
  load_release(&l);
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
              .fd = -1,
              .size = size,
              .lenient = true,
              .sections = sections,
              .section_cap = capacity,
              .checksums_ok = true};
  myr_status st = parse(&l, NULL);
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
