/* The ways in and out: files (saved crash safe, read through a mapping),
 * memory and callbacks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A NULL argument: the report (when there is one) says so. */
static myr_status bad_argument(myr_snapshot_report *rep, const char *what) {
  if (rep) memset(rep, 0, sizeof *rep);
  return snap_fail(rep, MYR_EINVAL, "%s", what);
}

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
  if (!w || !write_fn) return bad_argument(d ? d->report : NULL, "a NULL world or write callback");
  myr_status st = save_check(w, &d);
  if (st != MYR_OK) return st;
  fn_sink s = {{fn_write, 0}, write_fn, ctx, d->report};
  return snap_save(w, d, &s.base, d->report);
}

myr_status myr_snapshot_save_memory(const myr_world *w, const myr_snapshot_save_desc *d, void **data, size_t *size) {
  if (!w || !data || !size) return bad_argument(d ? d->report : NULL, "a NULL world, data or size");
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
  if (!w || !path || !path[0]) return bad_argument(d ? d->report : NULL, "a NULL world, or no path");
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
  fcntl(fd, F_SETFD, FD_CLOEXEC); /* not into a program forked meanwhile */
  /* the mode of the snapshot it replaces, else rw-r--r-- (mkstemp's is rw-------) */
  struct stat old;
  fchmod(fd, stat(path, &old) == 0 ? old.st_mode & 07777 : 0644);
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

/* Input is read into memory before it is looked at: a file is read once,
 * so the bytes validated are the bytes loaded, whatever happens to the
 * file meanwhile (a mapping would see a rewrite in place, and a truncation
 * would kill the process). The buffer is the world's (plain malloc for
 * inspecting, which has no world). */
typedef struct input {
  const unsigned char *data;
  size_t size;
  void *buf; /* to free */
  size_t cap;
  const myr_world *w;
} input;

static void *buf_alloc(const myr_world *w, size_t size) { return w ? world_alloc(w, size, 64) : malloc(size); }
static void buf_free(const myr_world *w, void *p, size_t size) {
  if (w) world_free(w, p, size);
  else free(p);
}

static void input_close(input *in) {
  if (in->buf) buf_free(in->w, in->buf, in->cap);
}

/* Where the snapshot's framing says its bytes end, as far as the bytes
 * read so far tell: the header, then each section's head, payload and
 * checksum, up to the end section. Reading a stream stops there, so it
 * takes one snapshot's bytes and no more (and stops at once on bytes that
 * are not a snapshot's). */
typedef struct framing {
  size_t need; /* bytes needed to know more */
  size_t head; /* offset of the next section's head */
  bool done;   /* the end section is whole: stop */
} framing;

static void framing_step(framing *f, const unsigned char *data, size_t used) {
  while (!f->done && used >= f->need) {
    if (f->need == SNAP_HEADER_SIZE && f->head == 0) {
      if (memcmp(data, SNAP_MAGIC, 8) != 0) { /* not a snapshot: the parser says so */
        f->done = true;
        return;
      }
      f->head = SNAP_HEADER_SIZE;
      f->need = f->head + SNAP_SECTION_HEAD;
      continue;
    }
    const unsigned char *head = data + f->head;
    uint64_t stored = rd64(head + 8);
    if (stored > SIZE_MAX - f->head - SNAP_SECTION_HEAD - SNAP_SECTION_TAIL) { /* a lie: the parser says so */
      f->done = true;
      return;
    }
    size_t end = f->head + SNAP_SECTION_HEAD + (size_t)stored + SNAP_SECTION_TAIL;
    if (used < end) {
      f->need = end;
      return;
    }
    if (rd32(head) == MYR_SECTION_END || rd32(head) < MYR_SECTION_WORLD || rd32(head) > MYR_SECTION_END) {
      f->done = true;
      return;
    }
    f->head = end;
    f->need = end + SNAP_SECTION_HEAD;
  }
}

/* Reads what a callback gives into a buffer that grows with what arrives
 * (from `cap` bytes): with `framed`, the snapshot's bytes only; else up
 * to the end. */
static myr_status read_all(const myr_world *w, myr_snapshot_read_fn fn, void *ctx, input *in, myr_snapshot_report *rep,
                           const char *name, bool framed, size_t cap) {
  size_t used = 0;
  framing f = {SNAP_HEADER_SIZE, 0, false};
  if (cap < 4096) cap = 4096;
  unsigned char *buf = buf_alloc(w, cap);
  if (!buf) return snap_fail(rep, MYR_ENOMEM, "%s: out of memory", name);
  for (;;) {
    if (used == cap) {
      unsigned char *more = cap <= SIZE_MAX / 2 ? buf_alloc(w, cap * 2) : NULL;
      if (!more) {
        buf_free(w, buf, cap);
        return snap_fail(rep, MYR_ENOMEM, "%s: out of memory after %zu bytes", name, used);
      }
      memcpy(more, buf, used);
      buf_free(w, buf, cap);
      buf = more;
      cap *= 2;
    }
    size_t want = cap - used;
    if (framed && f.need - used < want) want = f.need - used;
    size_t got = 0;
    myr_status st = fn(ctx, buf + used, want, &got);
    if (st == MYR_OK && got > want) st = MYR_EINVAL;
    if (st != MYR_OK) {
      buf_free(w, buf, cap);
      return snap_fail(rep, st, "%s: the read callback returned %s after %zu bytes", name, myr_status_name(st), used);
    }
    if (got == 0) break;
    used += got;
    if (framed) {
      framing_step(&f, buf, used);
      if (f.done) break;
    }
  }
  *in = (input){buf, used, buf, cap, w};
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

/* Reads an open file: a regular one whole (its size known, one allocation
 * of it), anything else (a pipe, a device) as a stream, one snapshot's
 * bytes at most. */
static myr_status read_input(const myr_world *w, int fd, const struct stat *st, const char *path, input *in,
                             myr_snapshot_report *rep) {
  bool regular = S_ISREG(st->st_mode);
  if (regular && (uint64_t)st->st_size >= SIZE_MAX / 2) return snap_fail(rep, MYR_EIO, "%s: too large to read", path);
  if (regular) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  fd_source src = {fd, 0};
  /* a regular file: room for all of it and one byte more, so that the read
   * that says it ended needs no second buffer */
  myr_status s = read_all(w, fd_read, &src, in, rep, path, !regular, regular ? (size_t)st->st_size + 1 : 1u << 20);
  if (s == MYR_EIO && rep) /* a read error is the file's, not a callback's */
    snprintf(rep->message, sizeof rep->message, "%s: cannot read: %s", path, strerror(src.error));
  return s;
}

/* Opens a file that is not a folder; *st receives its status. */
static myr_status open_file(const char *path, int *fd, struct stat *st, myr_snapshot_report *rep) {
  *fd = open(path, O_RDONLY | O_CLOEXEC);
  if (*fd < 0) return snap_fail(rep, MYR_EIO, "%s: cannot open: %s", path, strerror(errno));
  if (fstat(*fd, st) != 0) {
    int e = errno;
    close(*fd);
    return snap_fail(rep, MYR_EIO, "%s: cannot stat: %s", path, strerror(e));
  }
  if (S_ISDIR(st->st_mode)) {
    close(*fd);
    return snap_fail(rep, MYR_EIO, "%s: a folder, not a file", path);
  }
  return MYR_OK;
}

static myr_status load_check(myr_world *w, const myr_snapshot_load_desc *d) {
  if (d && d->report) memset(d->report, 0, sizeof *d->report);
  return w ? MYR_OK : snap_fail(d ? d->report : NULL, MYR_EINVAL, "a NULL world");
}

myr_status myr_snapshot_load_memory(myr_world *w, const void *data, size_t size, const myr_snapshot_load_desc *d) {
  if (load_check(w, d) != MYR_OK) return MYR_EINVAL;
  if (!data && size) return snap_fail(d ? d->report : NULL, MYR_EINVAL, "NULL data of %zu bytes", size);
  static const unsigned char none[1];
  return snap_load(w, data ? data : none, -1, size, "memory", d);
}

myr_status myr_snapshot_load_stream(myr_world *w, myr_snapshot_read_fn fn, void *ctx, const myr_snapshot_load_desc *d) {
  if (load_check(w, d) != MYR_OK) return MYR_EINVAL;
  if (!fn) return snap_fail(d ? d->report : NULL, MYR_EINVAL, "a NULL read callback");
  input in = {0};
  myr_status st = read_all(w, fn, ctx, &in, d ? d->report : NULL, "stream", true, 1u << 20);
  if (st != MYR_OK) return st;
  st = snap_load(w, in.data, -1, in.size, "stream", d);
  input_close(&in);
  return st;
}

myr_status myr_snapshot_load_file(myr_world *w, const char *path, const myr_snapshot_load_desc *d) {
  if (load_check(w, d) != MYR_OK) return MYR_EINVAL;
  myr_snapshot_report *rep = d ? d->report : NULL;
  if (!path) return snap_fail(rep, MYR_EINVAL, "a NULL path");
  int fd;
  struct stat sb;
  myr_status st = open_file(path, &fd, &sb, rep);
  if (st != MYR_OK) return st;
  if (S_ISREG(sb.st_mode)) { /* read once, in order, its columns straight into their tables */
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    st = snap_load(w, NULL, fd, (uint64_t)sb.st_size, path, d);
  } else { /* a pipe, a device: read as a stream (one snapshot's bytes) from this
            * descriptor; opening a FIFO again would lose what its writer wrote */
    input in = {0};
    st = read_input(w, fd, &sb, path, &in, rep);
    if (st == MYR_OK) st = snap_load(w, in.data, -1, in.size, path, d);
    input_close(&in);
  }
  close(fd);
  return st;
}

myr_status myr_snapshot_inspect_memory(const void *data, size_t size, myr_snapshot_info *info,
                                       myr_snapshot_section *sections, uint32_t capacity, myr_snapshot_report *rep) {
  if ((!data && size) || !info) return bad_argument(rep, "NULL data or info");
  static const unsigned char none[1];
  return snap_inspect(data ? data : none, size, "memory", info, sections, capacity, rep);
}

myr_status myr_snapshot_inspect_file(const char *path, myr_snapshot_info *info, myr_snapshot_section *sections,
                                     uint32_t capacity, myr_snapshot_report *rep) {
  if (!path || !info) return bad_argument(rep, "a NULL path or info");
  if (rep) memset(rep, 0, sizeof *rep);
  int fd;
  struct stat sb;
  myr_status st = open_file(path, &fd, &sb, rep);
  if (st != MYR_OK) return st;
  input in = {0};
  st = read_input(NULL, fd, &sb, path, &in, rep);
  close(fd);
  if (st != MYR_OK) return st;
  st = snap_inspect(in.data, in.size, path, info, sections, capacity, rep);
  input_close(&in);
  return st;
}
