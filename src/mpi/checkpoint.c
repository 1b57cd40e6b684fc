/* Coordinated checkpoints: a snapshot per rank and a manifest naming them,
 * and restarts from them on any number of ranks (mpi.h). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mpi_impl.h"
#include "myriad/snapshot.h"

#define MANIFEST_MAGIC "myriad-mpi-checkpoint 1"

/* The file of rank r of `ranks` at `frame` of checkpoint `id`, beside the
 * manifest. The id (rank 0's, new for every checkpoint) keeps a checkpoint's
 * files apart from those of any other, so writing them never touches the
 * files the manifest in place names. */
static void rank_path(char *out, size_t size, const char *manifest, uint32_t r, uint32_t ranks, uint64_t frame,
                      uint32_t id) {
  snprintf(out, size, "%s.r%uof%u.f%" PRIu64 ".%08x.snap", manifest, r, ranks, frame, id);
}

static void rank_meta(char *out, size_t size, uint32_t r, uint32_t ranks, uint64_t frame, uint32_t id) {
  snprintf(out, size, "myriad-mpi rank=%u ranks=%u frame=%" PRIu64 " id=%08x", r, ranks, frame, id);
}

/* A new checkpoint's id: the clock's nanoseconds, the process and a count. */
static uint32_t new_id(void) {
  static uint32_t count;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 16) ^ ++count;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  return (uint32_t)(x ^ (x >> 32));
}

/* The manifest, crash safe: a temporary file in its folder, fsync'd and
 * renamed over it, then the folder fsync'd. */
static myr_status write_manifest(const char *path, const char *text, char *why, size_t why_size) {
  size_t n = strlen(path);
  char *tmp = malloc(n + 16);
  if (!tmp) return MYR_ENOMEM;
  snprintf(tmp, n + 16, "%s.tmp.XXXXXX", path);
  int fd = mkstemp(tmp);
  myr_status s = MYR_OK;
  if (fd < 0) {
    snprintf(why, why_size, "%s: %s", path, strerror(errno));
    free(tmp);
    return MYR_EIO;
  }
  size_t len = strlen(text), done = 0;
  while (done < len) {
    ssize_t w = write(fd, text + done, len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  if (done < len || fchmod(fd, 0644) != 0 || fsync(fd) != 0) s = MYR_EIO;
  if (close(fd) != 0) s = MYR_EIO;
  if (s == MYR_OK && rename(tmp, path) != 0) s = MYR_EIO;
  if (s != MYR_OK) {
    snprintf(why, why_size, "%s: %s", path, strerror(errno));
    unlink(tmp);
  } else {
    /* the folder, so that the rename survives a power loss */
    char *dir = strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    int dfd = -1;
    if (dir) {
      if (slash) *(slash == dir ? slash + 1 : slash) = 0;
      dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY);
    }
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    free(dir);
  }
  free(tmp);
  return s;
}

/* The folder part of a path, with its slash ("" for none). */
static void folder_of(const char *path, char *out, size_t size) {
  const char *slash = strrchr(path, '/');
  size_t n = slash ? (size_t)(slash - path) + 1 : 0;
  if (n >= size) n = size - 1;
  memcpy(out, path, n);
  out[n] = 0;
}

/* "file NAME COUNT\n": the name (which may hold spaces) into name, the count
 * into *count; false when the line is not one. */
static bool file_line(const char *line, char *name, size_t size, unsigned long long *count) {
  if (strncmp(line, "file ", 5) != 0) return false;
  const char *last = strrchr(line, ' '), *end = strchr(line, '\n');
  if (!end || end[1] || last <= line + 5 || last[1] < '0' || last[1] > '9') return false;
  size_t n = (size_t)(last - (line + 5));
  if (n >= size) return false;
  memcpy(name, line + 5, n);
  name[n] = 0;
  char *stop;
  errno = 0;
  *count = strtoull(last + 1, &stop, 10);
  return errno == 0 && stop == end;
}

/* The file names a manifest lists (its "file" lines), for deleting them
 * (NULL, 0 when there is none); free each and the array. */
static char **listed_files(const char *manifest, uint32_t *count) {
  *count = 0;
  FILE *f = fopen(manifest, "r");
  if (!f) return NULL;
  char **names = NULL, line[8192], name[4200];
  unsigned long long n;
  uint32_t cap = 0;
  while (fgets(line, sizeof line, f)) {
    if (!file_line(line, name, sizeof name, &n) || strchr(name, '/')) continue; /* only files beside it */
    if (*count == cap) {
      char **more = realloc(names, (cap ? cap * 2 : 16) * sizeof *names);
      if (!more) break;
      names = more;
      cap = cap ? cap * 2 : 16;
    }
    if (!(names[*count] = strdup(name))) break;
    (*count)++;
  }
  fclose(f);
  return names;
}

myr_status myr_mpi_checkpoint(myr_mpi *m, const char *manifest, const char *meta) {
  if (!m || !manifest || strchr(manifest, '\n') || strlen(manifest) > 4096) return MYR_EINVAL;
  if (meta && (strchr(meta, '\n') || strlen(meta) >= sizeof(((myr_mpi_manifest *)0)->meta))) return MYR_EINVAL;
  uint64_t frame = myr_world_frame(m->world);
  uint32_t id = m->rank == 0 ? new_id() : 0;
  MPI_Bcast(&id, 1, MPI_UINT32_T, 0, m->comm);
  char path[4200], text[160];
  rank_path(path, sizeof path, manifest, (uint32_t)m->rank, (uint32_t)m->ranks, frame, id);
  rank_meta(text, sizeof text, (uint32_t)m->rank, (uint32_t)m->ranks, frame, id);
  myr_snapshot_report rep = {0};
  myr_status s = myr_snapshot_save_file(m->world, path, &(myr_snapshot_save_desc){.meta = text, .report = &rep});
  if (s != MYR_OK) myr_mpx_fail(m, "rank %d: checkpoint: %s", m->rank, rep.message);
  s = myr_mpx_agree(m, s);
  if (s != MYR_OK) {
    unlink(path); /* no manifest names it */
    return s;
  }
  /* every file is in place: the manifest names them */
  uint64_t mine = myr_world_entity_count(m->world), *all = NULL;
  if (m->rank == 0) {
    all = malloc((size_t)m->ranks * sizeof *all);
    if (!all) s = MYR_ENOMEM;
  }
  MPI_Gather(&mine, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, m->comm);
  if (m->rank == 0 && s == MYR_OK) {
    /* the files of the checkpoint the manifest names now, to go once the
     * new manifest is in place */
    uint32_t old_count;
    char **old = listed_files(manifest, &old_count);
    size_t cap = 256 + (meta ? strlen(meta) : 0) + (size_t)m->ranks * (sizeof path + 32);
    char *doc = malloc(cap);
    if (!doc) s = MYR_ENOMEM;
    else {
      /* file names relative to the manifest's folder */
      const char *base = strrchr(manifest, '/');
      base = base ? base + 1 : manifest;
      int n = snprintf(doc, cap, "%s\nranks %d\nframe %" PRIu64 "\nid %08x\nmeta %s\n", MANIFEST_MAGIC, m->ranks, frame,
                       id, meta ? meta : "");
      for (int r = 0; r < m->ranks; r++) {
        rank_path(path, sizeof path, base, (uint32_t)r, (uint32_t)m->ranks, frame, id);
        n += snprintf(doc + n, cap - (size_t)n, "file %s %" PRIu64 "\n", path, all[r]);
      }
      snprintf(doc + n, cap - (size_t)n, "end\n");
      char why[512] = "";
      s = write_manifest(manifest, doc, why, sizeof why);
      if (s != MYR_OK) myr_mpx_fail(m, "checkpoint: %s", why);
      free(doc);
    }
    if (s == MYR_OK) {
      char folder[4200];
      folder_of(manifest, folder, sizeof folder);
      for (uint32_t i = 0; i < old_count; i++) {
        snprintf(path, sizeof path, "%s%s", folder, old[i]);
        unlink(path);
      }
    }
    for (uint32_t i = 0; i < old_count; i++) free(old[i]);
    free(old);
  }
  free(all);
  s = myr_mpx_agree(m, s);
  if (s != MYR_OK) { /* the old manifest stays, naming its files: these go */
    rank_path(path, sizeof path, manifest, (uint32_t)m->rank, (uint32_t)m->ranks, frame, id);
    unlink(path);
  }
  return s;
}

/* ---- reading the manifest ------------------------------------------------- */

static myr_status bad(char *why, size_t why_size, myr_status s, const char *path, const char *fmt, const char *arg) {
  if (why && why_size) {
    char reason[4600];
    snprintf(reason, sizeof reason, fmt, arg);
    snprintf(why, why_size, "%s: %s", path, reason);
  }
  return s;
}

/* "NAME <digits>\n" exactly, into *v. */
static bool number_line(const char *line, const char *name, unsigned long long *v) {
  size_t n = strlen(name);
  if (strncmp(line, name, n) != 0 || line[n] != ' ' || line[n + 1] < '0' || line[n + 1] > '9') return false;
  char *end;
  errno = 0;
  *v = strtoull(line + n + 1, &end, 10);
  return errno == 0 && strcmp(end, "\n") == 0;
}

/* "NAME <8 hex digits>\n" exactly, into *v. */
static bool hex_line(const char *line, const char *name, unsigned long long *v) {
  size_t n = strlen(name);
  if (strncmp(line, name, n) != 0 || line[n] != ' ' || strlen(line + n + 1) != 9 || line[n + 9] != '\n') return false;
  char *end;
  *v = strtoull(line + n + 1, &end, 16);
  return end == line + n + 9 && !strchr(line + n + 1, '-') && !strchr(line + n + 1, '+');
}

/* Reads the manifest and, for each rank file, checks it is there and is
 * the one named (its meta); `files`, when not NULL, receives the paths
 * (ranks * 8400 bytes). */
static myr_status manifest_load(const char *path, myr_mpi_manifest *mf, char *files, char *why, size_t why_size) {
  FILE *f = fopen(path, "r");
  if (!f) return bad(why, why_size, MYR_EIO, path, "%s", strerror(errno));
  char line[8192], folder[4096];
  folder_of(path, folder, sizeof folder);
  myr_status s = MYR_OK;
  memset(mf, 0, sizeof *mf);
  unsigned long long frame = 0, ranks = 0, id = 0;
  if (!fgets(line, sizeof line, f) || strcmp(line, MANIFEST_MAGIC "\n") != 0)
    s = bad(why, why_size, MYR_ECORRUPT, path, "%s", "not a myriad MPI checkpoint manifest");
  else if (!fgets(line, sizeof line, f) || !number_line(line, "ranks", &ranks) || ranks == 0 || ranks > 65535)
    s = bad(why, why_size, MYR_ECORRUPT, path, "%s", "no valid 'ranks' line");
  else if (!fgets(line, sizeof line, f) || !number_line(line, "frame", &frame))
    s = bad(why, why_size, MYR_ECORRUPT, path, "%s", "no valid 'frame' line");
  else if (!fgets(line, sizeof line, f) || !hex_line(line, "id", &id))
    s = bad(why, why_size, MYR_ECORRUPT, path, "%s", "no valid 'id' line");
  else if (!fgets(line, sizeof line, f) || strncmp(line, "meta ", 5) != 0 || !strchr(line, '\n') ||
           strlen(line + 5) > sizeof mf->meta)
    s = bad(why, why_size, MYR_ECORRUPT, path, "%s", "no valid 'meta' line");
  if (s == MYR_OK) {
    mf->ranks = (uint32_t)ranks;
    mf->frame = frame;
    memcpy(mf->meta, line + 5, strlen(line + 5) - 1);
  }
  for (uint32_t r = 0; s == MYR_OK && r < ranks; r++) {
    char name[4200], expect[4200], full[8400];
    unsigned long long count;
    if (!fgets(line, sizeof line, f) || !file_line(line, name, sizeof name, &count)) {
      s = bad(why, why_size, MYR_ECORRUPT, path, "%s", "a rank's 'file' line is missing or damaged");
      break;
    }
    const char *base = strrchr(path, '/');
    rank_path(expect, sizeof expect, base ? base + 1 : path, r, (uint32_t)ranks, frame, (uint32_t)id);
    if (strcmp(name, expect) != 0) {
      s = bad(why, why_size, MYR_ECORRUPT, path, "names '%s' where this checkpoint's rank file belongs", name);
      break;
    }
    snprintf(full, sizeof full, "%s%s", folder, name);
    myr_snapshot_info info;
    myr_status x = myr_snapshot_inspect_file(full, &info, NULL, 0, NULL);
    char meta[160];
    rank_meta(meta, sizeof meta, r, (uint32_t)ranks, frame, (uint32_t)id);
    if (x == MYR_EIO) s = bad(why, why_size, MYR_ECORRUPT, full, "%s", "missing or unreadable (named by the manifest)");
    else if (x != MYR_OK || !info.checksums_ok)
      s = bad(why, why_size, MYR_ECORRUPT, full, "%s", "not a whole snapshot (damaged)");
    else if (strcmp(info.meta, meta) != 0 || info.frame != frame || info.entity_count != count)
      s = bad(why, why_size, MYR_ECORRUPT, full, "%s", "is not the file of this checkpoint (meta, frame or count)");
    if (s == MYR_OK && files) snprintf(files + (size_t)r * 8400, 8400, "%s", full);
  }
  if (s == MYR_OK && (!fgets(line, sizeof line, f) || strcmp(line, "end\n") != 0))
    s = bad(why, why_size, MYR_ECORRUPT, path, "%s", "no 'end' line: cut short");
  fclose(f);
  return s;
}

myr_status myr_mpi_manifest_read(const char *manifest, myr_mpi_manifest *out, char *why, size_t why_size) {
  if (why && why_size) why[0] = 0;
  if (!manifest || !out) return MYR_EINVAL;
  return manifest_load(manifest, out, NULL, why, why_size);
}

/* ---- restoring ------------------------------------------------------------ */

/* The file world w's components as this world's: map[c] by name, and the
 * layouts the same (field count, types, sizes, offsets). */
static myr_status match_schema(myr_mpi *m, const myr_world *w, myr_component *map, const char *path) {
  uint32_t n = myr_component_count(w);
  for (myr_component c = 0; c < n; c++) {
    const char *name = myr_component_name(w, c);
    map[c] = UINT32_MAX;
    if (!strcmp(name, "myr.Ghost")) continue;
    myr_component here;
    if (myr_component_lookup(m->world, name, &here) != MYR_OK) {
      myr_mpx_fail(m, "%s: component %s is not in this simulation", path, name);
      return MYR_ETYPE;
    }
    uint32_t fields = 0;
    myr_component_info(w, c, &fields, 0, NULL);
    const comp_layout *l = &m->layouts[here];
    bool same = fields == l->field_count;
    for (uint32_t f = 0; same && f < fields; f++) {
      myr_field fd;
      myr_component_info(w, c, NULL, f, &fd);
      same = fd.type == l->type[f] && fd.offset == l->offset[f] &&
             (fd.type == MYR_BYTES ? fd.size : myr_type_size(fd.type)) == l->size[f];
    }
    if (!same) {
      myr_mpx_fail(m, "%s: component %s has other fields than this simulation's", path, name);
      return MYR_ETYPE;
    }
    map[c] = here;
  }
  return MYR_OK;
}

/* The clock, the seed and the resources of file world w into this one. */
static myr_status take_world_state(myr_mpi *m, myr_world *w, const char *path) {
  for (myr_resource r = 0; r < myr_resource_count(w); r++) {
    myr_resource here;
    const char *name = myr_resource_name(w, r);
    if (myr_resource_lookup(m->world, name, &here) != MYR_OK) continue; /* scratch this setup does not have */
    if (myr_resource_size(m->world, here) != myr_resource_size(w, r)) {
      myr_mpx_fail(m, "%s: resource %s has another size than this simulation's", path, name);
      return MYR_ETYPE;
    }
    memcpy(myr_resource_data(m->world, here), myr_resource_data(w, r), myr_resource_size(w, r));
  }
  myr_status s = myr_world_set_seed(m->world, myr_world_seed(w));
  if (s == MYR_OK) s = myr_world_set_clock(m->world, myr_world_frame(w), myr_world_time(w));
  return s;
}

/* Loads file j: its entities (but ghosts) into this world, as owned; with
 * state, its clock, seed and resources too. */
static myr_status load_file(myr_mpi *m, const char *path, bool entities, bool state) {
  myr_world *w;
  myr_status s = myr_world_create(NULL, &w);
  if (s != MYR_OK) return s;
  myr_snapshot_report rep = {0};
  s = myr_snapshot_load_file(w, path, &(myr_snapshot_load_desc){.report = &rep});
  if (s != MYR_OK) myr_mpx_fail(m, "%s", rep.message);
  myr_component *map = NULL;
  if (s == MYR_OK) {
    map = malloc((myr_component_count(w) + 1) * sizeof *map);
    s = map ? match_schema(m, w, map, path) : MYR_ENOMEM;
  }
  if (s == MYR_OK && state) s = take_world_state(m, w, path);
  myr_component pos = UINT32_MAX, ghost = UINT32_MAX, key = UINT32_MAX;
  const char *pos_name = myr_component_name(m->world, m->d.position);
  if (s == MYR_OK && entities && myr_component_lookup(w, pos_name, &pos) != MYR_OK) entities = false; /* none */
  if (s == MYR_OK && entities) {
    bool has_ghost = myr_component_lookup(w, "myr.Ghost", &ghost) == MYR_OK;
    bool has_key = m->d.has_key && myr_component_lookup(w, myr_component_name(m->world, m->d.key), &key) == MYR_OK;
    myr_query *q;
    myr_term terms[2] = {{pos, MYR_TERM_WITH}, {ghost, MYR_TERM_WITHOUT}};
    s = myr_query_create(w, &(myr_query_desc){terms, has_ghost ? 2 : 1}, &q);
    mbuf b = {0};
    if (s == MYR_OK) {
      myr_query_iter it;
      myr_chunk ch;
      myr_query_iter_init(q, 0, &it);
      while (s == MYR_OK && myr_query_next(&it, &ch))
        for (uint32_t i = 0; i < ch.count && s == MYR_OK; i++)
          s = myr_mpx_pack_from(m, w, has_key, key, ghost, map, ch.ids[i], &b);
      myr_query_destroy(q);
    }
    uint64_t got = 0;
    if (s == MYR_OK) s = myr_mpx_unpack(m, b.data, b.size, NULL, &got);
    myr_mpx_mbuf_free(&b);
  }
  free(map);
  myr_world_destroy(w);
  return s;
}

myr_status myr_mpi_restore(myr_mpi *m, const char *manifest) {
  if (!m || !manifest) return MYR_EINVAL;
  myr_mpi_manifest mf;
  char why[1024] = "";
  char *files = NULL;
  myr_status s = myr_world_entity_count(m->world) ? MYR_EBUSY : MYR_OK;
  if (s != MYR_OK) myr_mpx_fail(m, "rank %d: restore: the world has entities already", m->rank);
  if (s == MYR_OK) s = manifest_load(manifest, &mf, NULL, why, sizeof why);
  if (s == MYR_OK) {
    files = malloc((size_t)mf.ranks * 8400);
    s = files ? manifest_load(manifest, &mf, files, why, sizeof why) : MYR_ENOMEM;
  }
  if (s != MYR_OK && why[0]) myr_mpx_fail(m, "%s", why);
  s = myr_mpx_agree(m, s);
  /* rank r: the state of file r mod R, the entities of r, r + ranks, ... */
  if (s == MYR_OK) {
    uint32_t first = (uint32_t)m->rank % mf.ranks;
    s = load_file(m, files + (size_t)first * 8400, first == (uint32_t)m->rank, true);
    for (uint32_t j = (uint32_t)m->rank + (uint32_t)m->ranks; s == MYR_OK && j < mf.ranks; j += (uint32_t)m->ranks)
      s = load_file(m, files + (size_t)j * 8400, true, false);
    s = myr_mpx_agree(m, s);
  }
  free(files);
  if (s == MYR_OK) s = myr_mpx_agree(m, myr_mpx_split(m, false));
  if (s == MYR_OK) s = myr_mpx_agree(m, myr_mpx_migrate(m));
  if (s == MYR_OK) s = myr_mpx_agree(m, myr_mpx_refresh_ghosts(m));
  if (s == MYR_OK) s = myr_mpx_agree(m, myr_mpx_resolve_links(m));
  return s;
}
