/* myriad-tune's snapshots (snapshot.h): --restore's file checked and read
 * (its meta names the scenario, the entity count and the seed), worlds
 * loaded from it, --save and --checkpoint written crash safe, --hash. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "myriad/snapshot.h"
#include "tune.h"

static _Noreturn void bad(const char *arg, const char *why) {
  fprintf(stderr, "%s: %s: %s (see --help)\n", tune_program, arg, why);
  if (tune_before_exit) tune_before_exit(2);
  exit(2);
}

void snapshot_meta(const options *o, char *buf, size_t size) {
  snprintf(buf, size, "myriad-tune scenario=%s entities=%" PRIu32 " seed=%" PRIu64, o->scenario, o->entities, o->seed);
}

/* The value of `key` in a meta text of snapshot_meta's form ("key=value"
 * words, separated by blanks), into buf; false when absent. */
static bool meta_value(const char *meta, const char *key, char *buf, size_t size) {
  const size_t n = strlen(key);
  for (const char *p = meta; *p;) {
    while (*p == ' ' || *p == '\t' || *p == '\n') p++;
    const char *end = p + strcspn(p, " \t\n");
    if ((size_t)(end - p) > n && strncmp(p, key, n) == 0 && p[n] == '=') {
      snprintf(buf, size, "%.*s", (int)(end - p - (ptrdiff_t)n - 1), p + n + 1);
      return true;
    }
    p = end;
  }
  return false;
}

static bool meta_number(const char *meta, const char *key, uint64_t max, uint64_t *out) {
  char v[32], *end;
  if (!meta_value(meta, key, v, sizeof v) || !v[0] || v[0] == '-') return false;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (errno || *end || x > max) return false;
  *out = x;
  return true;
}

/* A section of the file whose checksum fails, named with its offset. */
static void bad_checksum(const char *path, uint32_t count) {
  static const char *const kinds[] = {"?", "world", "meta", "schema", "entities", "table", "resources", "end"};
  char why[640];
  snprintf(why, sizeof why, "%s: a section's checksum does not hold", path);
  myr_snapshot_section *sections = calloc(count ? count : 1, sizeof *sections);
  myr_snapshot_info info;
  if (sections && myr_snapshot_inspect_file(path, &info, sections, count, NULL) == MYR_OK)
    for (uint32_t i = 0; i < count && i < info.section_count; i++)
      if (!sections[i].checksum_ok) {
        const uint32_t k = sections[i].kind;
        snprintf(why, sizeof why, "%s: byte %" PRIu64 ": section %" PRIu32 " (%s): checksum mismatch", path,
                 sections[i].offset, i, k < sizeof kinds / sizeof *kinds ? kinds[k] : "?");
        break;
      }
  free(sections);
  bad("--restore", why);
}

void restore_options(options *o) {
  if (!o->restore_path) return;
  static myr_snapshot_info info_; /* static: 4 KiB of meta, and nothing to free on the way out */
  myr_snapshot_info *info = &info_;
  myr_snapshot_report report = {0};
  if (myr_snapshot_inspect_file(o->restore_path, info, NULL, 0, &report) != MYR_OK) bad("--restore", report.message);
  if (!info->checksums_ok) bad_checksum(o->restore_path, info->section_count);
  char scenario[64], why[256];
  uint64_t entities, seed;
  if (strncmp(info->meta, "myriad-tune ", 12) != 0 || !meta_value(info->meta, "scenario", scenario, sizeof scenario) ||
      !meta_number(info->meta, "entities", 100000000, &entities) || entities == 0 ||
      !meta_number(info->meta, "seed", UINT64_MAX, &seed)) {
    snprintf(why, sizeof why, "%s: not saved by myriad-tune (its meta names no scenario, entities and seed)",
             o->restore_path);
    bad("--restore", why);
  }
  if (o->scenario && strcmp(o->scenario, scenario) != 0) {
    snprintf(why, sizeof why, "%s holds a world of scenario %s, not %s", o->restore_path, scenario, o->scenario);
    bad("--scenario", why);
  }
  if (o->entities && o->entities != entities) {
    snprintf(why, sizeof why, "%s holds a world of %" PRIu64 " entities, not %" PRIu32, o->restore_path, entities,
             o->entities);
    bad("--entities", why);
  }
  if (o->seed_given && o->seed != seed) {
    snprintf(why, sizeof why, "%s holds a world of seed %" PRIu64 ", which it keeps, not %" PRIu64, o->restore_path,
             seed, o->seed);
    bad("--seed", why);
  }
  static char name[64]; /* o->scenario points at it until the program ends */
  snprintf(name, sizeof name, "%s", scenario);
  o->scenario = name;
  o->entities = (uint32_t)entities;
  o->seed = seed;
}

/* A snapshot is written next to its path and renamed over it: its folder
 * must be there and writable, which is checked before anything runs. */
static void check_folder(const char *arg, const char *path) {
  char why[600], folder[512];
  struct stat st;
  if (!path[0]) bad(arg, "an empty path");
  if (strlen(path) >= sizeof folder) bad(arg, "path too long");
  strcpy(folder, path);
  char *slash = strrchr(folder, '/');
  if (!slash) strcpy(folder, ".");
  else if (slash == folder) slash[1] = 0;
  else *slash = 0;
  const char *reason = NULL;
  if (stat(folder, &st) != 0) reason = strerror(errno);
  else if (!S_ISDIR(st.st_mode)) reason = "not a folder";
  else if (access(folder, W_OK | X_OK) != 0) reason = strerror(errno);
  if (reason) {
    snprintf(why, sizeof why, "%s: cannot write in %s: %s", path, folder, reason);
    bad(arg, why);
  }
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(why, sizeof why, "%s is a folder", path);
    bad(arg, why);
  }
}

static bool same_file(const char *a, const char *b) {
  struct stat x, y;
  if (strcmp(a, b) == 0) return true;
  return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

void snapshot_options(const options *o) {
  if (o->save_path) check_folder("--save", o->save_path);
  if (!o->checkpoint_path != !o->checkpoint_every)
    bad(o->checkpoint_path ? "--checkpoint" : "--checkpoint-every",
        "--checkpoint FILE and --checkpoint-every N go together");
  if (o->checkpoint_path) check_folder("--checkpoint", o->checkpoint_path);
  /* every world starts from --restore's file: one that a checkpoint
   * rewrites would start the later ones elsewhere */
  const uint32_t worlds = o->thread_count * (o->autotune ? 1 : o->chunk_count) * o->repeat;
  if (o->restore_path && o->checkpoint_path && worlds > 1 && same_file(o->restore_path, o->checkpoint_path))
    bad("--checkpoint", "rewrites the --restore file while later configurations still start from it");
}

/* scn_desc's populate: the world of --restore's file. */
typedef struct restore_ctx {
  const char *path;
  bool loaded; /* populate was called */
  myr_snapshot_report report;
} restore_ctx;

static myr_status load(myr_world *w, void *ctx) {
  restore_ctx *r = ctx;
  r->loaded = true;
  r->report = (myr_snapshot_report){0};
  return myr_snapshot_load_file(w, r->path, &(myr_snapshot_load_desc){.report = &r->report});
}

myr_status create_world(const options *o, myr_jobs *pool, scn_scenario **out) {
  restore_ctx r = {.path = o->restore_path};
  myr_status st = scn_create_desc(&(scn_desc){.name = o->scenario,
                                              .entities = o->entities,
                                              .seed = o->seed,
                                              .pool = pool,
                                              .kernels = o->kernels,
                                              .populate = o->restore_path ? load : NULL,
                                              .ctx = &r},
                                  out);
  if (st == MYR_OK) return st;
  if (r.loaded && r.report.message[0]) { /* the file's fault, or the machine's memory */
    fprintf(stderr, "myriad-tune: --restore: %s\n", r.report.message);
    exit(st == MYR_ENOMEM ? 1 : 2);
  }
  if (r.loaded) {
    fprintf(stderr, "myriad-tune: --restore: %s: %s\n", o->restore_path, myr_strerror(st));
    exit(st == MYR_ENOMEM ? 1 : 2);
  }
  return st;
}

void save_world(const options *o, myr_world *w, const char *arg, const char *path) {
  char meta[256];
  myr_snapshot_report report = {0};
  snapshot_meta(o, meta, sizeof meta);
  myr_status st = myr_snapshot_save_file(w, path, &(myr_snapshot_save_desc){.meta = meta, .report = &report});
  if (st != MYR_OK) {
    fprintf(stderr, "myriad-tune: %s: %s\n", arg, report.message[0] ? report.message : myr_strerror(st));
    exit(1);
  }
}

myr_status scenario_content(const scn_scenario *sc, myr_content *out) {
  const myr_world *w = scn_world(sc);
  scn_domain d;
  myr_component ghost;
  bool has_ghost = myr_component_lookup(w, "myr.Ghost", &ghost) == MYR_OK;
  bool keyed = scn_domain_of(sc, &d) == MYR_OK && d.has_key;
  return myr_world_content(w,
                           &(myr_content_desc){.has_key = keyed,
                                               .key = keyed ? d.key : 0,
                                               .skip = has_ghost ? &ghost : NULL,
                                               .skip_count = has_ghost ? 1 : 0},
                           out);
}

void print_hash(const options *o, const scn_scenario *sc) {
  uint64_t h;
  myr_content c;
  if (!o->hash) return;
  if (myr_world_hash(scn_world(sc), &h) != MYR_OK || scenario_content(sc, &c) != MYR_OK) {
    fprintf(stderr, "myriad-tune: --hash: the world hash failed\n");
    exit(1);
  }
  if (isatty(2)) fprintf(stderr, "\r%*s\r", 60, ""); /* over the progress line */
  fprintf(stderr, "world_hash=%016" PRIx64 "\n", h);
  fprintf(stderr, "world_content=%016" PRIx64 "\n", myr_content_hash(c));
}
