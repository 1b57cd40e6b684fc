/* The schedule, tuning: the machine's signature, tuning files (written,
 * loaded, and read from MYRIAD_TUNING at creation) and online autotuning of
 * each system's chunk size between frames. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "schedule_impl.h"

#define MAX_FILE (1u << 20)
#define MAX_LINE 4095u
#define MAX_ROWS (1u << 30)

/* ---- the machine's signature --------------------------------------------- */

/* The first line of a small file, without its line break; "" if none. */
static void first_line(const char *path, char *buf, size_t cap) {
  buf[0] = 0;
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (!fgets(buf, (int)cap, f)) buf[0] = 0;
  fclose(f);
  buf[strcspn(buf, "\r\n")] = 0;
}

static void cpu_model(char *buf, size_t cap) {
  snprintf(buf, cap, "unknown cpu");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    /* x86: "model name"; some arm kernels: "Model" or "Hardware" */
    if (strncmp(line, "model name", 10) && strncmp(line, "Model", 5) && strncmp(line, "Hardware", 8)) continue;
    const char *v = strchr(line, ':');
    if (!v) continue;
    for (v++; *v == ' ' || *v == '\t'; v++) {}
    line[strcspn(line, "\r\n")] = 0;
    if (*v) snprintf(buf, cap, "%s", v);
    break;
  }
  fclose(f);
}

size_t myr_machine_signature(char *buf, size_t cap) {
  char model[256], caches[256] = "", path[96], level[16], type[32], size[32];
  cpu_model(model, sizeof model);
  size_t used = 0;
  for (int i = 0; i < 16; i++) { /* cpu0's caches, as sysfs lists them */
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    first_line(path, level, sizeof level);
    if (!level[0]) break;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
    first_line(path, type, sizeof type);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    first_line(path, size, sizeof size);
    const char *kind = strcmp(type, "Data") == 0 ? "d" : strcmp(type, "Instruction") == 0 ? "i" : "";
    int n = snprintf(caches + used, sizeof caches - used, "%sL%s%s %s", used ? ", " : "", level, kind, size);
    if (n < 0 || (size_t)n >= sizeof caches - used) break;
    used += (size_t)n;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int n = snprintf(buf, cap, "%s; %ld cpus; %s", model, cpus > 0 ? cpus : 1, caches[0] ? caches : "caches unknown");
  return n < 0 ? 0 : (size_t)n;
}

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
  else if (memchr(f->text, 0, n)) st = schedule_say(s, MYR_ECORRUPT, "load_tuning: %s: a NUL byte; not a text file", path);
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

static bool chunked(const sys *y) { return y->term_count > 0 && !(y->flags & MYR_SYSTEM_WHOLE); }

myr_status myr_schedule_write_tuning(const myr_schedule *s, FILE *out, const myr_tuning_desc *d) {
  if (!s || !out) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY; /* the chunk sizes and the message change during a frame */
  for (uint32_t i = 0; i < s->count; i++)
    if (chunked(&s->systems[i]) && !writable_name(s->systems[i].name))
      return schedule_say((myr_schedule *)s, MYR_EINVAL, "write_tuning: system \"%s\": a name a tuning file cannot hold",
                          s->systems[i].name);
  if (d && d->scenario && (strpbrk(d->scenario, "\r\n") || strlen(d->scenario) > MAX_LINE - 16))
    return schedule_say((myr_schedule *)s, MYR_EINVAL, "write_tuning: a scenario name with a line break or above %u bytes",
                        MAX_LINE - 16);
  size_t bytes = 1024 + (d && d->scenario ? strlen(d->scenario) : 0); /* the header, at most */
  for (uint32_t i = 0; i < s->count; i++) {
    const sys *y = &s->systems[i];
    uint32_t rows = y->chunk_rows ? y->chunk_rows : s->default_rows;
    if (!chunked(y)) continue;
    if (rows > MAX_ROWS)
      return schedule_say((myr_schedule *)s, MYR_EINVAL, "write_tuning: system \"%s\": %u rows, above the %u a file holds",
                          y->name, rows, MAX_ROWS);
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
    if (chunked(y)) fprintf(out, "%s = %u\n", y->name, y->chunk_rows ? y->chunk_rows : s->default_rows);
  }
  if (fflush(out) != 0 || ferror(out))
    return schedule_say((myr_schedule *)s, MYR_EIO, "write_tuning: a write error: %s", strerror(errno));
  return MYR_OK;
}

/* ---- autotuning ------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, uint32_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The candidate with the lowest score; -1 if none is scored. */
static int best_candidate(const tune_state *t) {
  int best = -1;
  for (int i = 0; i < t->count; i++)
    if (isfinite(t->score[i]) && (best < 0 || t->score[i] < t->score[best])) best = i;
  return best;
}

/* Adds `rows` unless a candidate already runs the same chunks. */
static void add_candidate(const myr_schedule *s, const sys *y, tune_state *t, uint32_t rows) {
  uint32_t eff = schedule_rows(s, y, rows);
  for (int i = 0; i < t->count; i++)
    if (schedule_rows(s, y, t->rows[i]) == eff) return;
  if (t->count < TUNE_CANDIDATES) {
    t->score[t->count] = INFINITY;
    t->rows[t->count++] = rows;
  }
}

/* Ends a system's tuning on `rows`, or on its best (its size from before if
 * nothing was scored) when rows is 0. */
static void settle(sys *y, uint32_t rows) {
  tune_state *t = &y->tune;
  int b = best_candidate(t);
  y->chunk_rows = rows ? rows : b < 0 ? t->before : t->rows[b];
  t->state = TUNE_DONE;
}

myr_status myr_schedule_autotune(myr_schedule *s, const myr_autotune_desc *d) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  uint32_t lo = d && d->min_rows ? d->min_rows : 64, hi = d && d->max_rows ? d->max_rows : 65536;
  uint32_t frames = d && d->frames ? d->frames : 3;
  if (hi > (1u << 24) || frames > TUNE_FRAMES)
    return schedule_say(s, MYR_EINVAL, "autotune: max_rows above 2^24 or frames above %u", TUNE_FRAMES);
  if (lo > hi) return schedule_say(s, MYR_EINVAL, "autotune: min_rows %u above max_rows %u", lo, hi);
  lo = (lo + 15) & ~15u; /* no wrap: lo <= hi <= 2^24 */
  if (lo > hi) lo = hi;   /* e.g. 100..100: one size */
  s->tune_frames = frames;
  s->tune_lo = lo;
  s->tune_hi = hi;
  s->tune_run = s->tune_coarse = s->tune_samples = 0;
  s->tune_checking = false;
  s->tuning = false;
  for (uint64_t r = lo; r <= hi; r *= 4) s->tune_uniform[s->tune_coarse++] = INFINITY;
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    tune_state *t = &y->tune;
    if (t->state == TUNE_RUNNING) y->chunk_rows = t->before; /* a restart: from where it was */
    memset(t, 0, sizeof *t);
    if (!chunked(y)) continue;
    t->before = y->chunk_rows;
    /* the coarse pass is the same sizes for every system, in the same
     * frames (no sizes skipped), so that those frames also score each size
     * for the whole frame */
    for (uint64_t r = lo; r <= hi; r *= 4) {
      t->score[t->count] = INFINITY;
      t->rows[t->count++] = (uint32_t)r;
    }
    t->coarse = t->count;
    t->state = TUNE_RUNNING;
    y->chunk_rows = t->rows[0];
    s->tuning = true;
  }
  return MYR_OK;
}

/* Every tuning system on its own best (rows 0), or on `rows`. */
static void set_all(myr_schedule *s, uint32_t rows) {
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    if (y->tune.state != TUNE_RUNNING) continue;
    int b = best_candidate(&y->tune);
    y->chunk_rows = rows ? rows : b < 0 ? y->tune.before : y->tune.rows[b];
  }
}

static void settle_all(myr_schedule *s, uint32_t rows) {
  for (uint32_t i = 0; i < s->count; i++)
    if (s->systems[i].tune.state == TUNE_RUNNING) settle(&s->systems[i], rows);
  s->tuning = false;
}

/* The check, once every system has scored its candidates. Systems of a
 * stage share the workers, so a system's own time does not tell the whole
 * frame: frames in turn with each system on its own best and with the
 * coarse size whose frames were fastest on all, `frames` of each; the
 * faster by median is kept. In turn, so that both see the same moments. */
static void check_begin(myr_schedule *s) {
  int u = -1;
  for (uint32_t k = 0; k < s->tune_coarse; k++)
    if (isfinite(s->tune_uniform[k]) && (u < 0 || s->tune_uniform[k] < s->tune_uniform[u])) u = (int)k;
  if (u < 0) {
    settle_all(s, 0);
    return;
  }
  s->tune_checking = true;
  s->check_rows = (uint32_t)((uint64_t)s->tune_lo << (2 * u));
  s->check_turn = 0;
  s->check_samples[0] = s->check_samples[1] = 0;
  set_all(s, 0); /* own bests first */
}

static void check_step(myr_schedule *s, uint64_t frame_ns) {
  uint32_t side = s->check_turn++ % 2; /* 0: own bests, 1: check_rows */
  s->check_sample[side][s->check_samples[side]++] = (double)frame_ns;
  if (s->check_samples[1] == s->tune_frames) {
    double own = median(s->check_sample[0], s->check_samples[0]);
    double one = median(s->check_sample[1], s->check_samples[1]);
    settle_all(s, one < own ? s->check_rows : 0);
    return;
  }
  set_all(s, side ? 0 : s->check_rows);
}

/* After a successful frame: each tuning system scores the frame and moves
 * on when its candidate has had its frames; then the check. */
void schedule_autotune_step(myr_schedule *s, uint64_t frame_ns) {
  uint32_t at = s->tune_run++;
  bool any = false;
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    if (y->tune.state == TUNE_RUNNING) {
      y->tune.frames++;
      any = true;
    }
  }
  if (!any) { /* every system was stopped */
    s->tuning = false;
    return;
  }
  if (s->tune_checking) {
    check_step(s, frame_ns);
    return;
  }
  if (at / s->tune_frames < s->tune_coarse) { /* one coarse size on all */
    s->tune_sample[s->tune_samples++] = (double)frame_ns;
    if (s->tune_samples == s->tune_frames) {
      s->tune_uniform[at / s->tune_frames] = median(s->tune_sample, s->tune_samples);
      s->tune_samples = 0;
    }
  }
  bool measuring = false;
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    tune_state *t = &y->tune;
    if (t->state != TUNE_RUNNING || t->at >= t->count) continue; /* done, or waiting for the check */
    if (y->stats.entities) t->sample[t->samples++] = (double)y->stats.ns / (double)y->stats.entities;
    if (++t->seen < s->tune_frames) {
      measuring = true;
      continue;
    }
    if (t->samples) t->score[t->at] = median(t->sample, t->samples);
    t->seen = t->samples = 0;
    t->at++;
    if (t->at == t->coarse) { /* the fine pass: either side of the best */
      int b = best_candidate(t);
      if (b >= 0) {
        uint32_t r = t->rows[b];
        if (r / 2 >= s->tune_lo) add_candidate(s, y, t, r / 2);
        if (r * 2 <= s->tune_hi) add_candidate(s, y, t, r * 2);
      }
    }
    if (t->at < t->count) {
      y->chunk_rows = t->rows[t->at];
      measuring = true;
    } else {
      int b = best_candidate(t);
      y->chunk_rows = b < 0 ? t->before : t->rows[b];
    }
  }
  if (!measuring) check_begin(s);
}

myr_status myr_schedule_autotune_freeze(myr_schedule *s) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  for (uint32_t i = 0; i < s->count; i++)
    if (s->systems[i].tune.state == TUNE_RUNNING) settle(&s->systems[i], 0);
  s->tuning = false;
  return MYR_OK;
}

myr_status myr_schedule_autotune_info(const myr_schedule *s, myr_system id, myr_autotune_info *out) {
  if (!s || !out || id >= s->count) return MYR_EINVAL;
  const sys *y = &s->systems[id];
  const tune_state *t = &y->tune;
  int b = t->state == TUNE_NONE ? -1 : best_candidate(t);
  *out = (myr_autotune_info){
      .tuning = t->state == TUNE_RUNNING,
      .settled = t->state == TUNE_DONE,
      .rows = chunked(y) ? schedule_rows(s, y, y->chunk_rows) : y->chunk_rows ? y->chunk_rows : s->default_rows,
      .best_rows = b < 0 ? 0 : t->rows[b],
      .best_ns_per_entity = b < 0 ? 0 : t->score[b],
      .frames = t->frames,
  };
  return MYR_OK;
}

bool myr_schedule_autotune_done(const myr_schedule *s) {
  if (!s || !s->tuning) return true;
  for (uint32_t i = 0; i < s->count; i++) /* stopped one by one by set_chunk_rows or load_tuning */
    if (s->systems[i].tune.state == TUNE_RUNNING) return false;
  return true;
}
