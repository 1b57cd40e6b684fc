/* The schedule's access checks, while a schedule checks (s->checking:
 * myr_schedule_set_access_check, MYRIAD_ACCESS_CHECK=1, or a build with
 * MYR_ACCESS_CHECK): component reads through the world API from a
 * callback, refused when another system of the stage writes that component
 * in place; read-only resources, compared before and after their system
 * runs, and resources only hooks may write, compared before and after the
 * system's chunks; provisional ids stored in place. The run calls these
 * only while checking. */
#include <stdarg.h>
#include <stdio.h>

#include "atomics.h"
#include "schedule_impl.h"

/* The system whose callback runs on this thread, for the world's read hook. */
static _Thread_local const sys *running_system;

const sys *access_enter(const sys *y) {
  const sys *was = running_system;
  running_system = y;
  return was;
}

void access_leave(const sys *was) { running_system = was; }

/* Reports the frame's first undeclared access: its message is written by
 * the worker that wins the error, and read after the stage's jobs end. */
__attribute__((format(printf, 2, 3))) static void access_fail(myr_schedule *s, const char *fmt, ...) {
  if (!schedule_fail(s, MYR_EACCESS)) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->message, sizeof s->message, fmt, ap);
  va_end(ap);
  fprintf(stderr, "myriad: %s\n", s->message);
}

/* A component read through the world API from a callback. */
static void read_hook(const myr_world *w, myr_component c, void *ctx) {
  myr_schedule *s = ctx;
  const sys *y = running_system;
  if (!y || y->owner != s || !s->cur) return;
  const stage *g = s->cur;
  for (uint32_t k = 0; k < g->count; k++) {
    const sys *z = &s->systems[s->by_stage[g->first + k]];
    if (z != y && compset_has(&z->writes, c)) {
      access_fail(s, "access check: system \"%s\" reads %s through the world while \"%s\" of its stage writes it",
                  y->name, world_component(w, c)->name, z->name);
      return;
    }
  }
}

void schedule_access_watch(myr_schedule *s, bool on) {
  if (on && s->checking) world_set_read_hook(s->world, read_hook, s);
  else if (world_read_hook_ctx(s->world) == s) world_set_read_hook(s->world, NULL, NULL);
}

myr_status myr_schedule_set_access_check(myr_schedule *s, bool on) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  s->checking = on;
  schedule_access_watch(s, on);
  return MYR_OK;
}

bool myr_schedule_access_check(const myr_schedule *s) { return s && s->checking; }

static uint64_t bytes_hash(const unsigned char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

/* Whether y's term i is checked with the terms of `kind`: a chunked
 * system's plain write term (allowed only for its reduction's result, which
 * the library writes after the chunks) is checked around the chunks like a
 * hooks-only one. */
static bool checked_as(const sys *y, uint32_t i, myr_term_kind kind) {
  if (y->res[i].kind == kind) return true;
  bool chunked = y->query && !(y->flags & (MYR_SYSTEM_WHOLE | MYR_SYSTEM_MAIN_THREAD));
  return kind == MYR_TERM_WRITE_HOOKS && y->res[i].kind == MYR_TERM_WRITE && chunked;
}

void access_resources_before(const sys *y, uint64_t *hashes, myr_term_kind kind) {
  for (uint32_t i = 0; i < y->res_count; i++)
    if (checked_as(y, i, kind))
      hashes[i] = bytes_hash(y->res_data[i], myr_resource_size(y->owner->world, y->res[i].resource));
}

void access_resources_after(myr_schedule *s, const sys *y, const uint64_t *hashes, myr_term_kind kind) {
  for (uint32_t i = 0; i < y->res_count; i++) {
    if (!checked_as(y, i, kind) ||
        bytes_hash(y->res_data[i], myr_resource_size(s->world, y->res[i].resource)) == hashes[i])
      continue;
    const char *name = world_resource_name(s->world, y->res[i].resource);
    if (kind == MYR_TERM_READ)
      access_fail(s, "access check: system \"%s\" wrote resource %s, which it declares read-only", y->name, name);
    else if (y->res[i].kind == MYR_TERM_WRITE)
      access_fail(s,
                  "access check: a chunk of system \"%s\" wrote resource %s, which holds its reduction's result: "
                  "its chunks may only read it",
                  y->name, name);
    else
      access_fail(s,
                  "access check: a chunk of system \"%s\" wrote resource %s, which it declares written by its "
                  "hooks only (MYR_TERM_WRITE_HOOKS)",
                  y->name, name);
  }
}
/* A provisional id stored straight into a MYR_ENTITY column (not through a
 * patch) is never rewritten: after the system's chunks, its written
 * columns of entity fields are scanned for one. */
void access_entity_columns_after(myr_schedule *s, const sys *y) {
  const myr_world *w = s->world;
  for (uint32_t t = 0; t < y->term_count; t++) {
    if (y->terms[t].kind != MYR_TERM_WRITE && y->terms[t].kind != MYR_TERM_OPTIONAL_WRITE) continue;
    const component_info *ci = world_component(w, y->terms[t].component);
    if (!ci->has_entity_fields) continue;
    for (uint32_t f = 0; f < ci->field_count; f++) {
      if (ci->fields[f].type != MYR_ENTITY) continue;
      for (uint32_t c = 0; c < y->chunk_count; c++) {
        const myr_entity *col = myr_chunk_column(&y->chunks[c], t, f);
        for (uint32_t i = 0; col && i < y->chunks[c].count; i++) {
          if (!MYR_ENTITY_IS_PROVISIONAL(col[i])) continue;
          access_fail(s,
                      "access check: system \"%s\" stored a provisional id in %s.%s of a row in place; it would never "
                      "become a real id: record it with a patch (myr_patch_set_field) instead",
                      y->name, ci->name, ci->fields[f].name ? ci->fields[f].name : "?");
          return;
        }
      }
    }
  }
}
