/* The schedule, building: systems added with their access sets, and per
 * stage the DAG of conflicts and explicit edges, checked for cycles. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "schedule_impl.h"

/* ---- creation ------------------------------------------------------------ */

myr_status myr_schedule_create(myr_world *w, const myr_schedule_desc *d, myr_schedule **out) {
  if (!w || !out) return MYR_EINVAL;
  *out = NULL;
  myr_schedule *s = world_alloc(w, sizeof *s, alignof(myr_schedule));
  if (!s) return MYR_ENOMEM;
  memset(s, 0, sizeof *s);
  s->world = w;
  s->failed_system = NONE;
  s->default_rows = d && d->chunk_rows ? d->chunk_rows : DEFAULT_CHUNK_ROWS;
  s->jobs = d ? d->jobs : NULL;
  if (!s->jobs) {
    myr_status st = myr_jobs_create(&(myr_jobs_desc){.workers = 1}, &s->jobs);
    if (st != MYR_OK) {
      world_free(w, s, sizeof *s);
      return st;
    }
    s->own_jobs = true;
  }
  s->workers = myr_jobs_worker_count(s->jobs);
  if (patch_lanes_init(&s->lanes, w, s->workers + 1) != MYR_OK) { /* + 1: injected patches */
    if (s->own_jobs) myr_jobs_destroy(s->jobs);
    world_free(w, s, sizeof *s);
    return MYR_ENOMEM;
  }
  /* access checks: on in builds with MYR_ACCESS_CHECK, else when the
   * environment asks (myr_schedule_set_access_check switches them later) */
#ifdef MYR_ACCESS_CHECK
  s->checking = true;
#else
  s->checking = false;
#endif
  const char *env = getenv("MYRIAD_ACCESS_CHECK");
  if (env && (!strcmp(env, "1") || !strcmp(env, "on") || !strcmp(env, "yes") || !strcmp(env, "true")))
    s->checking = true;
  else if (env && (!strcmp(env, "0") || !strcmp(env, "off") || !strcmp(env, "no") || !strcmp(env, "false")))
    s->checking = false;
  s->stats = true;
  schedule_access_watch(s, true);
  schedule_tuning_from_env(s);
  *out = s;
  return MYR_OK;
}

/* Frees the first `filled` strings of a list made for n. */
static void strings_free_part(myr_world *w, char **list, uint32_t filled, uint32_t n) {
  for (uint32_t i = 0; i < filled; i++) world_free(w, list[i], strlen(list[i]) + 1);
  world_free(w, list, sizeof(char *) * n + 1);
}

static void strings_free(myr_world *w, char **list, uint32_t n) { strings_free_part(w, list, n, n); }

static void unbuild(myr_schedule *s) {
  myr_world *w = s->world;
  for (uint32_t i = 0; i < s->count; i++) {
    if (s->systems[i].dependents)
      world_free(w, s->systems[i].dependents, sizeof(uint32_t) * s->systems[i].dependent_cap + 1);
    s->systems[i].dependents = NULL;
    s->systems[i].dependent_count = s->systems[i].dependent_cap = 0;
  }
  world_free(w, s->by_stage, sizeof(uint32_t) * s->count + 1);
  world_free(w, s->stages, sizeof(stage) * s->count + 1); /* allocated for one stage per system */
  world_free(w, s->mainq, sizeof(uint32_t) * s->count + 1);
  world_free(w, s->edges, sizeof(edge) * s->edge_cap);
  world_free(w, s->disjoint, sizeof(edge) * s->disjoint_cap);
  s->disjoint = NULL;
  s->disjoint_count = s->disjoint_cap = 0;
  s->by_stage = NULL;
  s->stages = NULL;
  s->mainq = NULL;
  s->edges = NULL;
  s->stage_count = s->edge_count = s->edge_cap = 0;
  s->built = false;
}

void myr_schedule_destroy(myr_schedule *s) {
  if (!s) return;
  myr_world *w = s->world;
  schedule_access_watch(s, false);
  if (s->trace) myr_schedule_trace_end(s, NULL);
  unbuild(s);
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    world_free(w, y->name, y->name_size);
    myr_query_destroy(y->query);
    strings_free(w, y->after, y->after_count);
    strings_free(w, y->before, y->before_count);
    world_free(w, y->chunks, sizeof(myr_chunk) * y->chunk_cap);
    world_free(w, y->partials, y->partials_bytes);
    world_free(w, y->first_block, sizeof(uint32_t) * y->first_block_cap);
    world_free(w, y->match_block, sizeof(uint32_t) * y->match_block_cap);
  }
  world_free(w, s->systems, sizeof(sys) * s->cap);
  patch_lanes_free(&s->lanes);
  world_free(w, s->diverted, sizeof(patch_diverted) * s->diverted_cap);
  for (uint32_t k = 0; k < s->inject_cap; k++) world_free(w, s->inject[k], sizeof(myr_patches));
  world_free(w, s->inject, sizeof(myr_patches *) * s->inject_cap);
  world_free(w, s->inject_filled, sizeof(uint64_t) * s->inject_cap);
  schedule_tuning_free(s);
  if (s->own_jobs) myr_jobs_destroy(s->jobs);
  world_free(w, s, sizeof *s);
}

static char *string_copy(myr_world *w, const char *str) {
  size_t n = strlen(str) + 1;
  char *c = world_alloc(w, n, 1);
  if (c) memcpy(c, str, n);
  return c;
}

/* Copies n names, and `extra` after them if not NULL (n + 1 then). */
static myr_status strings_copy(myr_world *w, const char *const *src, uint32_t n, const char *extra, char ***out) {
  if (n && !src) return MYR_EINVAL;
  for (uint32_t i = 0; i < n; i++)
    if (!src[i]) return MYR_EINVAL;
  uint32_t total = n + (extra != NULL);
  char **list = world_alloc(w, sizeof(char *) * total + 1, alignof(char *));
  if (!list) return MYR_ENOMEM;
  for (uint32_t i = 0; i < total; i++) {
    if (!(list[i] = string_copy(w, i < n ? src[i] : extra))) {
      strings_free_part(w, list, i, total);
      return MYR_ENOMEM;
    }
  }
  *out = list;
  return MYR_OK;
}

myr_status myr_schedule_find(const myr_schedule *s, const char *name, myr_system *out) {
  if (!s || !name || !out) return MYR_EINVAL;
  for (uint32_t i = 0; i < s->count; i++) {
    if (strcmp(s->systems[i].name, name) == 0) {
      *out = i;
      return MYR_OK;
    }
  }
  return MYR_ENOTFOUND;
}

myr_status schedule_say(myr_schedule *s, myr_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->message, sizeof s->message, fmt, ap);
  va_end(ap);
  return st;
}

const char *myr_schedule_error(const myr_schedule *s) { return s ? s->message : ""; }

/* Whether a system's chunks run at the same time as each other. */
static bool chunks_concurrent(const myr_system_desc *d) {
  return d->term_count > 0 && !(d->flags & (MYR_SYSTEM_WHOLE | MYR_SYSTEM_MAIN_THREAD));
}

/* Whether the system declares a plain write of resource r. */
static bool writes_resource(const myr_system_desc *d, myr_resource r) {
  for (uint32_t i = 0; i < d->resource_count; i++)
    if (d->resources[i].resource == r && d->resources[i].kind == MYR_TERM_WRITE) return true;
  return false;
}

/* Whether the reduction's result lies within a resource's bytes. */
static bool holds_result(const myr_world *w, const myr_system_desc *d, myr_resource r, const void *data) {
  if (!d->reduction) return false;
  if (!d->reduction->result) return d->reduction->result_resource == r;
  const unsigned char *at = d->reduction->result, *begin = data, *end = begin + myr_resource_size(w, r);
  return at >= begin && at < end;
}

/* A plain write of a resource by a system whose chunks run at the same
 * time is a data race: refused, with what to use instead. */
static myr_status resource_write_allowed(myr_schedule *s, const myr_system_desc *d, const myr_resource_term *t,
                                         const void *data) {
  const char *name = world_resource_name(s->world, t->resource);
  if (t->kind == MYR_TERM_WRITE_HOOKS && !d->begin && !d->end)
    return schedule_say(s, MYR_EINVAL,
                        "add \"%s\": resource %s is MYR_TERM_WRITE_HOOKS, but the system has no begin "
                        "or end hook",
                        d->name, name);
  if (t->kind != MYR_TERM_WRITE || !chunks_concurrent(d) || holds_result(s->world, d, t->resource, data)) return MYR_OK;
  return schedule_say(
      s, MYR_EINVAL,
      "add \"%s\": resource %s is written (MYR_TERM_WRITE) by a system whose chunks run at the same "
      "time, a data race; if only its begin/end hooks write it, use MYR_TERM_WRITE_HOOKS; if each chunk "
      "writes only its own part, MYR_TERM_WRITE_DISJOINT; else draw random numbers per entity "
      "(myr_random_*), count with a reduction, write through patches, or make the system "
      "MYR_SYSTEM_WHOLE",
      d->name, name);
}

/* Checks and copies a system's resource terms, with their data pointers. */
static myr_status resource_terms(myr_schedule *s, const myr_system_desc *d, sys *y) {
  if (d->resource_count > MYR_QUERY_MAX_TERMS || (d->resource_count && !d->resources))
    return schedule_say(s, MYR_EINVAL, "add \"%s\": %u resource terms, without an array or more than %u", d->name,
                        d->resource_count, MYR_QUERY_MAX_TERMS);
  for (uint32_t i = 0; i < d->resource_count; i++) {
    const myr_resource_term *t = &d->resources[i];
    void *data = myr_resource_data(s->world, t->resource);
    if (!data)
      return schedule_say(s, MYR_EINVAL, "add \"%s\": resource term %u names unknown resource %u", d->name, i,
                          t->resource);
    if (t->kind != MYR_TERM_READ && t->kind != MYR_TERM_WRITE && t->kind != MYR_TERM_WRITE_HOOKS &&
        t->kind != MYR_TERM_WRITE_DISJOINT)
      return schedule_say(s, MYR_EINVAL, "add \"%s\": resource term %u (%s) is of no resource kind (%d)", d->name, i,
                          world_resource_name(s->world, t->resource), (int)t->kind);
    myr_status st = resource_write_allowed(s, d, t, data);
    if (st != MYR_OK) return st;
    uint64_t bit = UINT64_C(1) << t->resource;
    if ((y->res_reads | y->res_writes) & bit) /* each resource once */
      return schedule_say(s, MYR_EINVAL, "add \"%s\": resource %s is named twice", d->name,
                          world_resource_name(s->world, t->resource));
    if (t->kind == MYR_TERM_READ) y->res_reads |= bit;
    else y->res_writes |= bit;
    y->res[i] = *t;
    y->res_data[i] = data;
  }
  y->res_count = d->resource_count;
  return MYR_OK;
}

/* The component terms, checked here so that the message can say which. */
static myr_status component_terms(myr_schedule *s, const myr_system_desc *d) {
  const myr_world *w = s->world;
  if (d->term_count > MYR_QUERY_MAX_TERMS || (d->term_count && !d->terms))
    return schedule_say(s, MYR_EINVAL, "add \"%s\": %u terms, without an array or more than %u", d->name, d->term_count,
                        MYR_QUERY_MAX_TERMS);
  for (uint32_t i = 0; i < d->term_count; i++) {
    const myr_term *t = &d->terms[i];
    if (t->component >= world_component_count(w))
      return schedule_say(s, MYR_ENOCOMP, "add \"%s\": term %u names unknown component %u", d->name, i, t->component);
    if (t->kind < MYR_TERM_READ || t->kind > MYR_TERM_WITH)
      return schedule_say(s, MYR_EINVAL, "add \"%s\": term %u (%s) has an unknown kind %d", d->name, i,
                          world_component(w, t->component)->name, (int)t->kind);
    for (uint32_t k = 0; k < i; k++)
      if (d->terms[k].component == t->component)
        return schedule_say(s, MYR_EINVAL, "add \"%s\": terms %u and %u both name %s", d->name, k, i,
                            world_component(w, t->component)->name);
  }
  return MYR_OK;
}

myr_status myr_schedule_add(myr_schedule *s, const myr_system_desc *d, myr_system *out) {
  if (!s) return MYR_EINVAL;
  /* first: from a callback, on several workers at once, nothing is written */
  if (schedule_running(s)) return MYR_EBUSY;
  if (!d || !d->name || !d->name[0]) return schedule_say(s, MYR_EINVAL, "add: a system needs a name");
  if (!d->fn) return schedule_say(s, MYR_EINVAL, "add \"%s\": no callback (fn)", d->name);
  myr_system existing;
  if (myr_schedule_find(s, d->name, &existing) == MYR_OK)
    return schedule_say(s, MYR_EEXIST, "add \"%s\": a system of that name exists", d->name);
  if (d->flags & ~(uint32_t)(MYR_SYSTEM_WHOLE | MYR_SYSTEM_MAIN_THREAD))
    return schedule_say(s, MYR_EINVAL, "add \"%s\": unknown flags 0x%x", d->name, d->flags);
  myr_world *w = s->world;
  sys y;
  memset(&y, 0, sizeof y);
  myr_status st = component_terms(s, d);
  if (st == MYR_OK) st = resource_terms(s, d, &y);
  if (st == MYR_OK && d->reduction) {
    const myr_reduction_desc *r = d->reduction;
    if (!r->combine || r->partial_size == 0 || d->term_count == 0)
      return schedule_say(s, MYR_EINVAL, "add \"%s\": a reduction needs component terms, a partial size and combine",
                          d->name);
    if (!r->result && myr_resource_size(w, r->result_resource) < r->partial_size)
      return schedule_say(s, MYR_EINVAL,
                          "add \"%s\": its reduction has no result pointer, and resource %u (its result_resource) %s",
                          d->name, r->result_resource,
                          myr_resource_size(w, r->result_resource) ? "is smaller than the partial size" : "is unknown");
    if (!r->result && !writes_resource(d, r->result_resource))
      return schedule_say(s, MYR_EINVAL,
                          "add \"%s\": its reduction's result goes to resource %s, which the system does not declare "
                          "with a MYR_TERM_WRITE term (the library writes it after the chunks: the schedule must know)",
                          d->name, world_resource_name(w, r->result_resource));
    y.red = *r;
    y.red_in_resource = !r->result;
    uint32_t b = r->block_rows ? r->block_rows : 1024;
    y.red.block_rows = b > UINT32_MAX - 15 ? UINT32_MAX - 15 : (b + 15) & ~15u;
  }
  if (st != MYR_OK) return st;
  /* no component terms: a run-once system, with no query */
  if (d->term_count && (st = myr_query_create(w, &(myr_query_desc){d->terms, d->term_count}, &y.query)) != MYR_OK)
    return schedule_say(s, st, "add \"%s\": its query: %s", d->name, myr_strerror(st));
  y.name_size = strlen(d->name) + 1;
  if (!(y.name = string_copy(w, d->name))) st = MYR_ENOMEM;
  /* the system whose partials it reads: the last of its "after" names */
  if (st == MYR_OK) st = strings_copy(w, d->after, d->after_count, d->partials_of, &y.after);
  if (st == MYR_OK) y.after_count = d->after_count + (d->partials_of != NULL);
  y.partials_of = d->partials_of != NULL;
  if (st == MYR_OK) st = strings_copy(w, d->before, d->before_count, NULL, &y.before);
  if (st == MYR_OK) y.before_count = d->before_count;
  if (st == MYR_OK && s->count == s->cap)
    st = world_grow_array(w, (void **)&s->systems, &s->cap, sizeof(sys), s->count + 1);
  if (st != MYR_OK) {
    world_free(w, y.name, y.name_size);
    if (y.after) strings_free(w, y.after, y.after_count);
    if (y.before) strings_free(w, y.before, y.before_count);
    myr_query_destroy(y.query);
    return schedule_say(s, st, "add \"%s\": %s", d->name, st == MYR_ENOMEM ? "out of memory" : myr_strerror(st));
  }
  y.term_count = d->term_count;
  if (d->term_count) memcpy(y.terms, d->terms, sizeof(myr_term) * d->term_count);
  for (uint32_t i = 0; i < d->term_count; i++) {
    myr_term_kind k = d->terms[i].kind;
    if (k == MYR_TERM_READ || k == MYR_TERM_WRITE || k == MYR_TERM_WITH)
      compset_put(&y.required, d->terms[i].component);
    if (k == MYR_TERM_WITHOUT) compset_put(&y.excluded, d->terms[i].component);
    if (k == MYR_TERM_READ || k == MYR_TERM_OPTIONAL) compset_put(&y.reads, d->terms[i].component);
    if (k == MYR_TERM_WRITE || k == MYR_TERM_OPTIONAL_WRITE) compset_put(&y.writes, d->terms[i].component);
  }
  y.chunk_multiple = d->chunk_multiple > UINT32_MAX - 15 ? UINT32_MAX - 15 : (d->chunk_multiple + 15) & ~15u;
  y.chunk_multiple_asked = y.chunk_multiple;
  if (y.chunk_multiple == 0) y.chunk_multiple = 16;
  if (y.red.combine) y.chunk_multiple = y.red.block_rows; /* a block is one chunk's */
  y.fn = d->fn;
  y.begin = d->begin;
  y.end = d->end;
  y.user = d->user;
  y.stage = d->stage;
  y.chunk_rows = d->chunk_rows;
  y.flags = d->flags;
  y.stats.name = y.name;
  y.stats.stage = y.stage;
  schedule_tuning_take(s, &y);
  unbuild(s);
  s->systems[s->count] = y;
  if (out) *out = s->count;
  s->count++;
  return MYR_OK;
}

myr_status myr_schedule_set_chunk_rows(myr_schedule *s, myr_system id, uint32_t rows) {
  if (!s || id >= s->count) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  s->systems[id].chunk_rows = rows;
  if (s->systems[id].tune.state == TUNE_RUNNING) s->systems[id].tune.state = TUNE_NONE;
  return MYR_OK;
}

uint32_t myr_schedule_system_count(const myr_schedule *s) { return s ? s->count : 0; }

myr_world *myr_schedule_world(const myr_schedule *s) { return s ? s->world : NULL; }

/* ---- building ------------------------------------------------------------ */

static int by_stage_cmp(const void *a, const void *b, const myr_schedule *s) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  if (s->systems[x].stage != s->systems[y].stage) return s->systems[x].stage < s->systems[y].stage ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* insertion sort: stable, and system counts are small */
static void sort_by_stage(myr_schedule *s) {
  for (uint32_t i = 1; i < s->count; i++) {
    uint32_t v = s->by_stage[i], j = i;
    while (j > 0 && by_stage_cmp(&s->by_stage[j - 1], &v, s) > 0) {
      s->by_stage[j] = s->by_stage[j - 1];
      j--;
    }
    s->by_stage[j] = v;
  }
}

static myr_status add_edge(myr_schedule *s, uint32_t from, uint32_t to, edge_why why, uint32_t c) {
  for (uint32_t i = 0; i < s->edge_count; i++)
    if (s->edges[i].from == from && s->edges[i].to == to) return MYR_OK; /* the first reason stays */
  if (s->edge_count == s->edge_cap) {
    myr_status st = world_grow_array(s->world, (void **)&s->edges, &s->edge_cap, sizeof(edge), s->edge_count + 1);
    if (st != MYR_OK) return st;
  }
  s->edges[s->edge_count++] = (edge){from, to, why, c};
  return MYR_OK;
}

static uint32_t first_common(const compset *a, const compset *b) {
  for (uint32_t i = 0; i < MYR_MAX_COMPONENTS / 64; i++) {
    uint64_t x = a->bits[i] & b->bits[i];
    if (x) return i * 64 + (uint32_t)__builtin_ctzll(x);
  }
  return NONE;
}

/* The component that keeps two systems' queries from ever matching one
 * table (one requires it, the other excludes it), NONE if there is none. */
static uint32_t never_same_table(const sys *x, const sys *y) {
  uint32_t c = first_common(&x->required, &y->excluded);
  return c != NONE ? c : first_common(&y->required, &x->excluded);
}

static myr_status note_disjoint(myr_schedule *s, uint32_t from, uint32_t to, uint32_t c) {
  if (s->disjoint_count == s->disjoint_cap) {
    myr_status st =
        world_grow_array(s->world, (void **)&s->disjoint, &s->disjoint_cap, sizeof(edge), s->disjoint_count + 1);
    if (st != MYR_OK) return st;
  }
  s->disjoint[s->disjoint_count++] = (edge){from, to, WHY_DISJOINT, c};
  return MYR_OK;
}

/* Conflict edges within a stage, in registration order. Components
 * conflict only between systems whose queries can match a common table:
 * rows of different tables are different entities. Resources always do. */
static myr_status conflict_edges(myr_schedule *s, const stage *g) {
  for (uint32_t a = 0; a < g->count; a++) {
    const sys *x = &s->systems[s->by_stage[g->first + a]];
    for (uint32_t b = a + 1; b < g->count; b++) {
      const sys *y = &s->systems[s->by_stage[g->first + b]];
      uint32_t c, apart = never_same_table(x, y);
      edge_why why;
      uint64_t r;
      bool components = (c = first_common(&x->writes, &y->writes)) != NONE ||
                        (c = first_common(&x->writes, &y->reads)) != NONE ||
                        (c = first_common(&x->reads, &y->writes)) != NONE;
      if (components && apart != NONE) {
        myr_status st = note_disjoint(s, s->by_stage[g->first + a], s->by_stage[g->first + b], apart);
        if (st != MYR_OK) return st;
        components = false;
      }
      if (components && (c = first_common(&x->writes, &y->writes)) != NONE) why = WHY_WRITE_WRITE;
      else if (components && (c = first_common(&x->writes, &y->reads)) != NONE) why = WHY_WRITE_READ;
      else if (components && (c = first_common(&x->reads, &y->writes)) != NONE) why = WHY_READ_WRITE;
      else if ((r = x->res_writes & y->res_writes) != 0) why = WHY_RES_WRITE_WRITE, c = (uint32_t)__builtin_ctzll(r);
      else if ((r = x->res_writes & y->res_reads) != 0) why = WHY_RES_WRITE_READ, c = (uint32_t)__builtin_ctzll(r);
      else if ((r = x->res_reads & y->res_writes) != 0) why = WHY_RES_READ_WRITE, c = (uint32_t)__builtin_ctzll(r);
      else continue;
      myr_status st = add_edge(s, s->by_stage[g->first + a], s->by_stage[g->first + b], why, c);
      if (st != MYR_OK) return st;
    }
  }
  return MYR_OK;
}

/* Explicit edges: within a stage they are edges; across stages they must
 * agree with the stage order. */
static myr_status explicit_edges(myr_schedule *s) {
  for (uint32_t i = 0; i < s->count; i++) {
    const sys *y = &s->systems[i];
    for (uint32_t k = 0; k < y->after_count + y->before_count; k++) {
      bool after = k < y->after_count;
      const char *name = after ? y->after[k] : y->before[k - y->after_count];
      myr_system other;
      if (myr_schedule_find(s, name, &other) != MYR_OK)
        return schedule_say(s, MYR_ENOTFOUND, "build: \"%s\" runs %s \"%s\", which is no system of this schedule",
                            y->name, after ? "after" : "before", name);
      uint32_t from = after ? other : i, to = after ? i : other;
      if (from == to)
        return schedule_say(s, MYR_ECYCLE, "build: \"%s\" names itself in its %s list", y->name,
                            after ? "after" : "before");
      if (s->systems[from].stage > s->systems[to].stage)
        return schedule_say(s, MYR_ECYCLE,
                            "build: \"%s\" (stage %u) must run before \"%s\" (stage %u), an earlier stage",
                            s->systems[from].name, s->systems[from].stage, s->systems[to].name, s->systems[to].stage);
      if (s->systems[from].stage < s->systems[to].stage) continue; /* the stage order does it */
      myr_status st = add_edge(s, from, to, after ? WHY_AFTER : WHY_BEFORE, 0);
      if (st != MYR_OK) return st;
    }
  }
  return MYR_OK;
}

/* Fills dependents and indegrees from the edges, and checks for cycles. */
static myr_status link_edges(myr_schedule *s) {
  for (uint32_t e = 0; e < s->edge_count; e++) {
    s->systems[s->edges[e].to].indegree++;
    s->systems[s->edges[e].from].dependent_count++;
  }
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    y->dependents = world_alloc(s->world, sizeof(uint32_t) * y->dependent_count + 1, alignof(uint32_t));
    if (!y->dependents) return MYR_ENOMEM;
    y->dependent_cap = y->dependent_count;
    y->dependent_count = 0;
  }
  for (uint32_t e = 0; e < s->edge_count; e++) {
    sys *from = &s->systems[s->edges[e].from];
    from->dependents[from->dependent_count++] = s->edges[e].to;
  }
  /* Kahn's algorithm per stage: everything must come out */
  uint32_t *left = s->mainq; /* scratch of the right size */
  for (uint32_t g = 0; g < s->stage_count; g++) {
    const stage *st = &s->stages[g];
    uint32_t done = 0, n = 0;
    for (uint32_t k = 0; k < st->count; k++)
      s->systems[s->by_stage[st->first + k]].pending = s->systems[s->by_stage[st->first + k]].indegree;
    for (uint32_t k = 0; k < st->count; k++)
      if (s->systems[s->by_stage[st->first + k]].pending == 0) left[n++] = s->by_stage[st->first + k];
    while (n) {
      const sys *y = &s->systems[left[--n]];
      done++;
      for (uint32_t d = 0; d < y->dependent_count; d++)
        if (--s->systems[y->dependents[d]].pending == 0) left[n++] = y->dependents[d];
    }
    if (done != st->count) { /* the systems left with dependencies form the cycle(s) */
      char names[160] = "";
      size_t at = 0;
      for (uint32_t k = 0; k < st->count && at < sizeof names - 40; k++) {
        const sys *y = &s->systems[s->by_stage[st->first + k]];
        if (y->pending) at += (size_t)snprintf(names + at, sizeof names - at, "%s\"%s\"", at ? ", " : "", y->name);
      }
      return schedule_say(s, MYR_ECYCLE, "build: stage %u has a cycle of edges among %s", st->stage, names);
    }
  }
  return MYR_OK;
}

/* Systems that read another's reduction partials (partials_of, the last of
 * their "after" names, so explicit_edges found it and ordered them): their
 * chunks must line up with its blocks. */
static myr_status second_passes(myr_schedule *s) {
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[i];
    if (!y->partials_of) continue;
    myr_system id;
    myr_schedule_find(s, y->after[y->after_count - 1], &id); /* found by explicit_edges */
    const sys *o = &s->systems[id];
    if (!o->red.combine)
      return schedule_say(s, MYR_EINVAL, "build: \"%s\" reads the partials of \"%s\", which has no reduction", y->name,
                          o->name);
    if (o->stage != y->stage)
      return schedule_say(s, MYR_EINVAL,
                          "build: \"%s\" (stage %u) reads the partials of \"%s\" (stage %u): partials "
                          "last one stage",
                          y->name, y->stage, o->name, o->stage);
    uint32_t b = o->red.block_rows;
    if (!y->chunk_multiple_asked && !y->red.combine) y->chunk_multiple = b;
    if (y->chunk_multiple % b != 0)
      return schedule_say(s, MYR_EINVAL,
                          "build: \"%s\" reads the partials of \"%s\", whose blocks are %u rows, but cuts its chunks "
                          "on multiples of %u rows: set its %s to a multiple of %u%s",
                          y->name, o->name, b, y->chunk_multiple,
                          y->red.combine ? "reduction's block_rows" : "chunk_multiple", b,
                          y->red.combine ? "" : " (or leave it 0)");
  }
  return MYR_OK;
}

myr_status myr_schedule_build(myr_schedule *s) {
  if (!s) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  if (s->built) return MYR_OK;
  unbuild(s);
  myr_world *w = s->world;
  for (uint32_t i = 0; i < s->count; i++) s->systems[i].indegree = 0;
  s->by_stage = world_alloc(w, sizeof(uint32_t) * s->count + 1, alignof(uint32_t));
  s->mainq = world_alloc(w, sizeof(uint32_t) * s->count + 1, alignof(uint32_t));
  s->stages = world_alloc(w, sizeof(stage) * s->count + 1, alignof(stage));
  if (!s->by_stage || !s->mainq || !s->stages) {
    unbuild(s);
    return schedule_say(s, MYR_ENOMEM, "build: out of memory");
  }
  for (uint32_t i = 0; i < s->count; i++) s->by_stage[i] = i;
  sort_by_stage(s);
  for (uint32_t i = 0; i < s->count; i++) {
    sys *y = &s->systems[s->by_stage[i]];
    if (s->stage_count == 0 || s->stages[s->stage_count - 1].stage != y->stage) {
      stage *g = &s->stages[s->stage_count++];
      memset(g, 0, sizeof *g);
      g->stage = y->stage;
      g->stats.stage = y->stage;
      g->first = i;
    }
    y->order = s->stages[s->stage_count - 1].count++;
  }
  myr_status st = MYR_OK;
  for (uint32_t g = 0; g < s->stage_count && st == MYR_OK; g++) st = conflict_edges(s, &s->stages[g]);
  if (st == MYR_OK) st = explicit_edges(s);
  if (st == MYR_OK) st = second_passes(s);
  if (st == MYR_OK) st = link_edges(s);
  if (st != MYR_OK) {
    if (st == MYR_ENOMEM) schedule_say(s, st, "build: out of memory");
    unbuild(s);
    return st;
  }
  s->built = true;
  return MYR_OK;
}
