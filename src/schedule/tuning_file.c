/* Tuning files: written, loaded, and read from MYRIAD_TUNING when a
 * schedule is made. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedule_impl.h"

#define MAX_FILE (1u << 20)
#define MAX_LINE 4095u
#define MAX_ROWS (1u << 30)

/* ---- tuning files ---------------------------------------------------------- */

static bool blank(char c) { return c == ' ' || c == '\t'; }

static char *trim(char *a) {
  while (blank(*a)) a++;
  char *e = a + strlen(a);
  while (e > a && blank(e[-1])) *--e = 0;
  return a;
}

/* A name a file can hold: what the parser gives back as it was. */
static bool writable_name(const char *name) {
  size_t n = strlen(name);
  return n && n <= MAX_LINE / 2 && name[0] != '#' && name[0] != '@' && !blank(name[0]) && !blank(name[n - 1]) &&
         !strpbrk(name, "=\r\n");
}

static void tuning_release(const myr_world *w, tuning_file *f) {
  world_free(w, f->text, f->text_size);
  world_free(w, f->entries, f->entries_size);
  memset(f, 0, sizeof *f);
}

/* What a file's header says, for the warnings. */
typedef struct header {
  const char *machine;
  long threads; /* -1: not said */
} header;

static int by_name(const void *a, const void *b) {
  const tune_entry *x = *(const tune_entry *const *)a, *y = *(const tune_entry *const *)b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* A system named twice: sorted by name, so n log n for any file. */
static myr_status no_twice(myr_schedule *s, const char *path, const tuning_file *f) {
  if (f->count < 2) return MYR_OK;
  const tune_entry **by = world_alloc(s->world, sizeof *by * f->count, alignof(tune_entry *));
  if (!by) return schedule_say(s, MYR_ENOMEM, "load_tuning: %s: out of memory", path);
  for (uint32_t i = 0; i < f->count; i++) by[i] = &f->entries[i];
  qsort(by, f->count, sizeof *by, by_name);
  /* sorted by name, then line: in a run of one name the first is its first
   * line and the second its first repeat; report the earliest repeat */
  const tune_entry *again = NULL, *first = NULL;
  for (uint32_t i = 1; i < f->count; i++)
    if (strcmp(by[i]->name, by[i - 1]->name) == 0 && (i < 2 || strcmp(by[i - 2]->name, by[i]->name) != 0) &&
        (!again || by[i]->line < again->line)) {
      again = by[i];
      first = by[i - 1];
    }
  myr_status st = MYR_OK;
  if (again)
    st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s:%u: \"%s\" again (first on line %u)", path, again->line,
                      again->name, first->line);
  world_free(s->world, by, sizeof *by * f->count);
  return st;
}

/* Reads and checks a whole tuning file into *f (empty on failure, with the
 * reason in s's message). */
static myr_status tuning_read(myr_schedule *s, const char *path, tuning_file *f, header *h) {
  const myr_world *w = s->world;
  memset(f, 0, sizeof *f);
  *h = (header){NULL, -1};
  /* not blocking on a FIFO's open, and refusing anything but a file */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return schedule_say(s, MYR_EIO, "load_tuning: %s: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return schedule_say(s, MYR_EIO, "load_tuning: %s: not a regular file", path);
  }
  if (sb.st_size > (off_t)MAX_FILE) {
    close(fd);
    return schedule_say(s, MYR_ECORRUPT, "load_tuning: %s: above %u bytes", path, MAX_FILE);
  }
  FILE *in = fdopen(fd, "rb");
  if (!in) {
    close(fd);
    return schedule_say(s, MYR_EIO, "load_tuning: %s: %s", path, strerror(errno));
  }
  f->text_size = (size_t)sb.st_size + 2; /* a file that grows meanwhile is read up to one byte more, then refused */
  f->text = world_alloc(w, f->text_size, 1);
  if (!f->text) {
    fclose(in);
    return schedule_say(s, MYR_ENOMEM, "load_tuning: %s: out of memory", path);
  }
  size_t n = fread(f->text, 1, f->text_size - 1, in);
  bool failed = ferror(in);
  fclose(in);
  myr_status st = MYR_OK;
  if (failed) st = schedule_say(s, MYR_EIO, "load_tuning: %s: a read error", path);
  else if (n > (size_t)sb.st_size) st = schedule_say(s, MYR_EIO, "load_tuning: %s: it grew while being read", path);
  else if (memchr(f->text, 0, n))
    st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s: a NUL byte; not a text file", path);
  if (st != MYR_OK) {
    tuning_release(w, f);
    return st;
  }
  f->text[n] = 0;
  /* entries: at most one a line */
  uint32_t lines = 1;
  for (size_t i = 0; i < n; i++) lines += f->text[i] == '\n';
  f->entries_size = sizeof(tune_entry) * lines;
  f->entries = world_alloc(w, f->entries_size, alignof(tune_entry));
  if (!f->entries) {
    tuning_release(w, f);
    return schedule_say(s, MYR_ENOMEM, "load_tuning: %s: out of memory", path);
  }
  bool format = false;
  char *line = f->text;
  for (uint32_t no = 1; line && st == MYR_OK; no++) {
    char *next = strchr(line, '\n');
    if (next) *next++ = 0;
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r') line[--len] = 0;
    if (len > MAX_LINE) {
      st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s:%u: a line above %u bytes", path, no, MAX_LINE);
      break;
    }
    char *a = trim(line);
    line = next;
    if (!*a || *a == '#') continue;
    if (*a == '@') {
      char *key = a + 1, *value = key + strcspn(key, " \t");
      if (*value) *value++ = 0;
      value = trim(value);
      if (!format) {
        if (strcmp(key, "format") != 0 || strcmp(value, "1") != 0) {
          st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s:%u: expected \"@format 1\" first", path, no);
          break;
        }
        format = true;
      } else if (strcmp(key, "machine") == 0) {
        h->machine = value;
      } else if (strcmp(key, "threads") == 0) {
        char *end;
        long t = strtol(value, &end, 10);
        h->threads = *end || t < 1 ? -1 : t;
      }
      continue; /* other keys: for people, and for later formats */
    }
    if (!format) {
      st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s:%u: expected \"@format 1\" first", path, no);
      break;
    }
    char *eq = strchr(a, '=');
    if (!eq) {
      st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s:%u: expected \"system = rows\"", path, no);
      break;
    }
    *eq = 0;
    char *name = trim(a), *value = trim(eq + 1), *end = value;
    unsigned long long rows = 0;
    while (isdigit((unsigned char)*end) && rows <= MAX_ROWS) rows = rows * 10 + (unsigned)(*end++ - '0');
    if (!*name) st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s:%u: no system name before '='", path, no);
    else if (end == value || *end || rows < 1 || rows > MAX_ROWS)
      st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s:%u: \"%s\": rows must be a number from 1 to %u", path, no,
                        name, MAX_ROWS);
    if (st == MYR_OK) f->entries[f->count++] = (tune_entry){name, (uint32_t)rows, no};
  }
  if (st == MYR_OK && !format) st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s: no \"@format 1\" line", path);
  if (st == MYR_OK) st = no_twice(s, path, f);
  if (st != MYR_OK) tuning_release(w, f);
  return st;
}

/* One line on stderr for each way the file's header differs from here. */
static void tuning_warn(const myr_schedule *s, const char *path, const header *h) {
  char here[512];
  myr_machine_signature(here, sizeof here);
  if (h->machine && strcmp(h->machine, here) != 0)
    fprintf(stderr, "myriad: tuning file %s was written on another machine (%s; this is %s); applying it anyway\n",
            path, h->machine, here);
  uint32_t workers = myr_jobs_worker_count(s->jobs);
  if (h->threads > 0 && (uint32_t)h->threads != workers)
    fprintf(stderr, "myriad: tuning file %s was written for %ld workers, this pool has %u; applying it anyway\n", path,
            h->threads, workers);
}

static void stop_tuning(sys *y) {
  if (y->tune.state == TUNE_RUNNING) y->tune.state = TUNE_NONE;
}

myr_status myr_schedule_load_tuning(myr_schedule *s, const char *path) {
  if (!s || !path) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  tuning_file f;
  header h;
  myr_status st = tuning_read(s, path, &f, &h);
  if (st != MYR_OK) return st;
  /* every name first, so that an unknown one changes nothing */
  uint32_t *ids = world_alloc(s->world, sizeof(uint32_t) * (f.count ? f.count : 1), alignof(uint32_t));
  if (!ids) st = schedule_say(s, MYR_ENOMEM, "load_tuning: %s: out of memory", path);
  for (uint32_t i = 0; i < f.count && st == MYR_OK; i++)
    if (myr_schedule_find(s, f.entries[i].name, &ids[i]) != MYR_OK)
      st = schedule_say(s, MYR_ENOTFOUND, "load_tuning: %s:%u: the schedule has no system \"%s\"", path,
                        f.entries[i].line, f.entries[i].name);
  if (st == MYR_OK) {
    tuning_warn(s, path, &h);
    for (uint32_t i = 0; i < f.count; i++) {
      s->systems[ids[i]].chunk_rows = f.entries[i].rows;
      stop_tuning(&s->systems[ids[i]]);
    }
  }
  world_free(s->world, ids, sizeof(uint32_t) * (f.count ? f.count : 1));
  tuning_release(s->world, &f);
  return st;
}

void schedule_tuning_from_env(myr_schedule *s) {
  const char *path = getenv("MYRIAD_TUNING");
  if (!path || !*path) return;
  header h;
  if (tuning_read(s, path, &s->env_tuning, &h) != MYR_OK) {
    fprintf(stderr, "myriad: MYRIAD_TUNING: %s; not applied\n", s->message);
    s->message[0] = 0; /* creation did not fail */
    return;
  }
  tuning_warn(s, path, &h);
}

void schedule_tuning_take(const myr_schedule *s, sys *y) {
  for (uint32_t i = 0; i < s->env_tuning.count; i++)
    if (strcmp(s->env_tuning.entries[i].name, y->name) == 0) y->chunk_rows = s->env_tuning.entries[i].rows;
}

void schedule_tuning_free(myr_schedule *s) { tuning_release(s->world, &s->env_tuning); }

myr_status myr_schedule_write_tuning(const myr_schedule *s, FILE *out, const myr_tuning_desc *d) {
  if (!s || !out) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY; /* the chunk sizes and the message change during a frame */
  for (uint32_t i = 0; i < s->count; i++)
    if (schedule_chunked(&s->systems[i]) && !writable_name(s->systems[i].name))
      return schedule_say((myr_schedule *)s, MYR_EINVAL,
                          "write_tuning: system \"%s\": a name a tuning file cannot hold", s->systems[i].name);
  if (d && d->scenario && (strpbrk(d->scenario, "\r\n") || strlen(d->scenario) > MAX_LINE - 16))
    return schedule_say((myr_schedule *)s, MYR_EINVAL,
                        "write_tuning: a scenario name with a line break or above %u bytes", MAX_LINE - 16);
  size_t bytes = 1024 + (d && d->scenario ? strlen(d->scenario) : 0); /* the header, at most */
  for (uint32_t i = 0; i < s->count; i++) {
    const sys *y = &s->systems[i];
    uint32_t rows = y->chunk_rows ? y->chunk_rows : s->default_rows;
    if (!schedule_chunked(y)) continue;
    if (rows > MAX_ROWS)
      return schedule_say((myr_schedule *)s, MYR_EINVAL,
                          "write_tuning: system \"%s\": %u rows, above the %u a file holds", y->name, rows, MAX_ROWS);
    bytes += strlen(y->name) + 16;
  }
  if (bytes > MAX_FILE)
    return schedule_say((myr_schedule *)s, MYR_EINVAL, "write_tuning: the file would be above %u bytes", MAX_FILE);
  char machine[512];
  myr_machine_signature(machine, sizeof machine);
  uint64_t entities = d && d->entities ? d->entities : myr_world_entity_count(s->world);
  fprintf(out, "# myriad tuning file: rows per chunk for each system\n@format 1\n");
  if (d && d->scenario) fprintf(out, "@scenario %s\n", d->scenario);
  fprintf(out, "@entities %llu\n@threads %u\n@machine %s\n", (unsigned long long)entities,
          myr_jobs_worker_count(s->jobs), machine);
  for (uint32_t i = 0; i < s->count; i++) {
    const sys *y = &s->systems[i];
    if (schedule_chunked(y)) fprintf(out, "%s = %u\n", y->name, y->chunk_rows ? y->chunk_rows : s->default_rows);
  }
  if (fflush(out) != 0 || ferror(out))
    return schedule_say((myr_schedule *)s, MYR_EIO, "write_tuning: a write error: %s", strerror(errno));
  return MYR_OK;
}
