/* The ways in and out: files (saved crash safe, read through a mapping),
 * memory and callbacks. */
#define _DEFAULT_SOURCE /* MAP_POPULATE */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snapshot_impl.h"

/* ---- sinks -------------------------------------------------------------------- */

typedef struct fd_sink {
  snap_sink base;
  int fd;
  const char *path;
  myr_snapshot_report *rep;
} fd_sink;

static myr_status fd_write(snap_sink *s, const void *data, size_t size) {
  fd_sink *f = (fd_sink *)s;
  const unsigned char *p = data;
  while (size) {
    ssize_t n = write(f->fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return snap_fail(f->rep, MYR_EIO, "%s: cannot write: %s", f->path, n < 0 ? strerror(errno) : "no progress");
    p += n;
    size -= (size_t)n;
    s->written += (uint64_t)n;
  }
  return MYR_OK;
}

typedef struct mem_sink {
  snap_sink base;
  const myr_world *w;
  unsigned char *data;
  size_t cap;
} mem_sink;

static myr_status mem_write(snap_sink *s, const void *data, size_t size) {
  mem_sink *m = (mem_sink *)s;
  if (m->cap - s->written < size) { /* compressed saves only: the size was not known */
    size_t cap = m->cap ? m->cap : 4096;
    while (cap - s->written < size) cap *= 2;
    unsigned char *more = world_alloc(m->w, cap, 64);
    if (!more) return MYR_ENOMEM;
    if (s->written) memcpy(more, m->data, (size_t)s->written);
    if (m->data) world_free(m->w, m->data, m->cap);
    m->data = more;
    m->cap = cap;
  }
  memcpy(m->data + s->written, data, size);
  s->written += size;
  return MYR_OK;
}

typedef struct fn_sink {
  snap_sink base;
  myr_snapshot_write_fn fn;
  void *ctx;
  myr_snapshot_report *rep;
} fn_sink;

static myr_status fn_write(snap_sink *s, const void *data, size_t size) {
  fn_sink *f = (fn_sink *)s;
  myr_status st = f->fn(f->ctx, data, size);
  if (st != MYR_OK) return snap_fail(f->rep, st, "stream: the write callback returned %s", myr_status_name(st));
  s->written += size;
  return MYR_OK;
}

/* ---- saving ------------------------------------------------------------------- */

static const myr_snapshot_save_desc default_save = {0};

static myr_status save_check(const myr_world *w, const myr_snapshot_save_desc **d) {
  myr_snapshot_report *rep = *d ? (*d)->report : NULL;
  if (rep) memset(rep, 0, sizeof *rep);
  if (!*d) *d = &default_save;
  myr_status st = snap_save_desc_check(*d, rep);
  if (st == MYR_OK && world_running(w)) st = snap_fail(rep, MYR_EBUSY, "a frame is running on the world");
  if (st == MYR_OK) st = snap_save_world_check(w, rep);
  return st;
}

myr_status myr_snapshot_save_stream(const myr_world *w, myr_snapshot_write_fn write_fn, void *ctx,
                                    const myr_snapshot_save_desc *d) {
  if (!w || !write_fn) return MYR_EINVAL;
  myr_status st = save_check(w, &d);
  if (st != MYR_OK) return st;
  fn_sink s = {{fn_write, 0}, write_fn, ctx, d->report};
  return snap_save(w, d, &s.base, d->report);
}

myr_status myr_snapshot_save_memory(const myr_world *w, const myr_snapshot_save_desc *d, void **data, size_t *size) {
  if (!w || !data || !size) return MYR_EINVAL;
  myr_status st = save_check(w, &d);
  if (st != MYR_OK) return st;
  mem_sink s = {{mem_write, 0}, w, NULL, 0};
  if (!(d->flags & MYR_SNAPSHOT_ZSTD)) { /* the size is known: one allocation, no copy */
    s.cap = (size_t)snap_size(w, d);
    s.data = world_alloc(w, s.cap, 64);
    if (!s.data) return snap_fail(d->report, MYR_ENOMEM, "memory: out of memory for %zu bytes", s.cap);
  }
  st = snap_save(w, d, &s.base, d->report);
  if (st == MYR_OK && s.cap != s.base.written) { /* to the size freed with it */
    unsigned char *exact = world_alloc(w, (size_t)s.base.written, 64);
    if (!exact) st = MYR_ENOMEM;
    else memcpy(exact, s.data, (size_t)s.base.written);
    world_free(w, s.data, s.cap);
    s.data = exact;
    s.cap = (size_t)s.base.written;
  }
  if (st != MYR_OK) {
    if (s.data) world_free(w, s.data, s.cap);
    return st == MYR_ENOMEM ? snap_fail(d->report, st, "memory: out of memory") : st;
  }
  *data = s.data;
  *size = s.cap;
  return MYR_OK;
}

void myr_snapshot_free(const myr_world *w, void *data, size_t size) {
  if (w && data) world_free(w, data, size);
}

/* The folder of path (".", when it names none) into buf. */
static bool folder_of(const char *path, char *buf, size_t cap) {
  const char *slash = strrchr(path, '/');
  if (!slash) return snprintf(buf, cap, ".") < (int)cap;
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= cap) return false;
  memcpy(buf, path, n);
  buf[n] = '\0';
  return true;
}

myr_status myr_snapshot_save_file(const myr_world *w, const char *path, const myr_snapshot_save_desc *d) {
  if (!w || !path || !path[0]) return MYR_EINVAL;
  myr_status st = save_check(w, &d);
  if (st != MYR_OK) return st;
  myr_snapshot_report *rep = d->report;
  char dir[4096], tmp[4096 + 32];
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  if (!base[0] || !folder_of(path, dir, sizeof dir) ||
      /* the base cut short: a name of up to 255 bytes (NAME_MAX) is a file's,
       * and ".", ".tmp.XXXXXX" around it must not make it longer */
      snprintf(tmp, sizeof tmp, "%s/.%.200s.tmp.XXXXXX", dir, base) >= (int)sizeof tmp)
    return snap_fail(rep, MYR_EINVAL, "%s: not a file name, or too long", path);
  int fd = mkstemp(tmp);
  if (fd < 0) return snap_fail(rep, MYR_EIO, "%s: cannot create a file in %s: %s", path, dir, strerror(errno));
  fchmod(fd, 0644);
  fd_sink s = {{fd_write, 0}, fd, path, rep};
  st = snap_save(w, d, &s.base, rep);
  if (st == MYR_OK && fsync(fd) != 0) st = snap_fail(rep, MYR_EIO, "%s: cannot sync: %s", path, strerror(errno));
  if (close(fd) != 0 && st == MYR_OK) st = snap_fail(rep, MYR_EIO, "%s: cannot close: %s", path, strerror(errno));
  if (st == MYR_OK && rename(tmp, path) != 0)
    st = snap_fail(rep, MYR_EIO, "%s: cannot rename the new snapshot into place: %s", path, strerror(errno));
  if (st != MYR_OK) {
    unlink(tmp); /* the old snapshot, if any, is untouched */
    return st;
  }
  /* the rename is durable once the folder is */
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fsync(dfd) != 0)
    st = snap_fail(rep, MYR_EIO, "%s: cannot sync its folder %s: %s", path, dir, strerror(errno));
  if (dfd >= 0) close(dfd);
  return st;
}

/* ---- reading ------------------------------------------------------------------ */

typedef struct input {
  const unsigned char *data;
  size_t size;
  void *map; /* a mapping to unmap, or */
  void *buf; /* a buffer of the world's to free */
  size_t buf_cap;
  const myr_world *w;
} input;

static void input_close(input *in) {
  if (in->map) munmap(in->map, in->size);
  if (in->buf) world_free(in->w, in->buf, in->buf_cap);
}

/* Reads everything a callback gives into a buffer that grows with what
 * arrives. */
static myr_status read_all(const myr_world *w, myr_snapshot_read_fn fn, void *ctx, input *in, myr_snapshot_report *rep,
                           const char *name) {
  size_t cap = 1u << 20, used = 0;
  unsigned char *buf = world_alloc(w, cap, 64);
  if (!buf) return snap_fail(rep, MYR_ENOMEM, "%s: out of memory", name);
  for (;;) {
    if (used == cap) {
      unsigned char *more = cap <= SIZE_MAX / 2 ? world_alloc(w, cap * 2, 64) : NULL;
      if (!more) {
        world_free(w, buf, cap);
        return snap_fail(rep, MYR_ENOMEM, "%s: out of memory after %zu bytes", name, used);
      }
      memcpy(more, buf, used);
      world_free(w, buf, cap);
      buf = more;
      cap *= 2;
    }
    size_t got = 0;
    myr_status st = fn(ctx, buf + used, cap - used, &got);
    if (st == MYR_OK && got > cap - used) st = MYR_EINVAL;
    if (st != MYR_OK) {
      world_free(w, buf, cap);
      return snap_fail(rep, st, "%s: the read callback returned %s after %zu bytes", name, myr_status_name(st), used);
    }
    if (got == 0) break;
    used += got;
  }
  *in = (input){buf, used, NULL, buf, cap, w};
  return MYR_OK;
}

typedef struct fd_source {
  int fd;
  int error; /* errno of a failed read */
} fd_source;

static myr_status fd_read(void *ctx, void *buf, size_t size, size_t *got) {
  fd_source *s = ctx;
  for (;;) {
    ssize_t n = read(s->fd, buf, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      s->error = errno;
      return MYR_EIO;
    }
    *got = (size_t)n;
    return MYR_OK;
  }
}

/* Maps a regular file; reads anything else (a pipe) through a buffer. */
static myr_status open_input(const myr_world *w, const char *path, input *in, myr_snapshot_report *rep) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return snap_fail(rep, MYR_EIO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return snap_fail(rep, MYR_EIO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    return snap_fail(rep, MYR_EIO, "%s: a folder, not a file", path);
  }
  myr_status s = MYR_OK;
  if (S_ISREG(st.st_mode) && st.st_size > 0) {
    if ((uint64_t)st.st_size > SIZE_MAX) {
      close(fd);
      return snap_fail(rep, MYR_EIO, "%s: too large to map", path);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED) s = snap_fail(rep, MYR_EIO, "%s: cannot map: %s", path, strerror(errno));
    else *in = (input){map, (size_t)st.st_size, map, NULL, 0, w};
  } else if (S_ISREG(st.st_mode)) {
    static const unsigned char none[1];
    *in = (input){none, 0, NULL, NULL, 0, w};
  } else if (!w) {
    s = snap_fail(rep, MYR_EIO, "%s: not a regular file", path);
  } else {
    fd_source src = {fd, 0};
    s = read_all(w, fd_read, &src, in, rep, path);
    if (s == MYR_EIO && rep) /* a read error is the file's, not a callback's */
      snprintf(rep->message, sizeof rep->message, "%s: cannot read: %s", path, strerror(src.error));
  }
  close(fd);
  return s;
}

static myr_status load_check(myr_world *w, const myr_snapshot_load_desc *d) {
  if (d && d->report) memset(d->report, 0, sizeof *d->report);
  return w ? MYR_OK : MYR_EINVAL;
}

myr_status myr_snapshot_load_memory(myr_world *w, const void *data, size_t size, const myr_snapshot_load_desc *d) {
  if (load_check(w, d) != MYR_OK || (!data && size)) return MYR_EINVAL;
  static const unsigned char none[1];
  return snap_load(w, data ? data : none, size, "memory", d);
}

myr_status myr_snapshot_load_stream(myr_world *w, myr_snapshot_read_fn fn, void *ctx, const myr_snapshot_load_desc *d) {
  if (load_check(w, d) != MYR_OK || !fn) return MYR_EINVAL;
  input in = {0};
  myr_status st = read_all(w, fn, ctx, &in, d ? d->report : NULL, "stream");
  if (st != MYR_OK) return st;
  st = snap_load(w, in.data, in.size, "stream", d);
  input_close(&in);
  return st;
}

myr_status myr_snapshot_load_file(myr_world *w, const char *path, const myr_snapshot_load_desc *d) {
  if (load_check(w, d) != MYR_OK || !path) return MYR_EINVAL;
  input in = {0};
  myr_status st = open_input(w, path, &in, d ? d->report : NULL);
  if (st != MYR_OK) return st;
  st = snap_load(w, in.data, in.size, path, d);
  input_close(&in);
  return st;
}

myr_status myr_snapshot_inspect_memory(const void *data, size_t size, myr_snapshot_info *info,
                                       myr_snapshot_section *sections, uint32_t capacity, myr_snapshot_report *rep) {
  if ((!data && size) || !info) return MYR_EINVAL;
  static const unsigned char none[1];
  return snap_inspect(data ? data : none, size, "memory", info, sections, capacity, rep);
}

myr_status myr_snapshot_inspect_file(const char *path, myr_snapshot_info *info, myr_snapshot_section *sections,
                                     uint32_t capacity, myr_snapshot_report *rep) {
  if (!path || !info) return MYR_EINVAL;
  if (rep) memset(rep, 0, sizeof *rep);
  input in = {0};
  myr_status st = open_input(NULL, path, &in, rep);
  if (st != MYR_OK) return st;
  st = snap_inspect(in.data, in.size, path, info, sections, capacity, rep);
  input_close(&in);
  return st;
}
