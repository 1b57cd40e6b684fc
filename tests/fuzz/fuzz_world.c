/* libFuzzer target: bytes decoded into public API calls and patch streams
 * on one world, checked against a reference model of the live entities,
 * their component sets and one field's values. Any crash, leak, sanitizer
 * report or disagreement with the model aborts.
 *
 * Build and run: tests/fuzz/run_fuzz.sh (clang, -fsanitize=fuzzer,address,
 * undefined); the seed corpus is tests/fuzz/corpus. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myriad/myriad.h"

#define TRACKED 64
#define COMPONENTS 4 /* A {f32 x, u32 n}, Link {entity}, Tag, D {bytes[3], f64} */

typedef struct {
  float x;
  uint32_t n;
} row_a;
typedef struct {
  myr_entity target;
} row_link;
typedef struct {
  unsigned char b[3];
  double d;
} row_d;

typedef struct model_entity {
  myr_entity id; /* MYR_ENTITY_NULL: slot unused */
  int alive;
  unsigned set; /* bit c: has component c */
  uint32_t n;   /* A.n while it has A */
} model_entity;

typedef struct fuzz {
  const uint8_t *data;
  size_t size, at;
  myr_world *w;
  myr_component comp[COMPONENTS];
  model_entity e[TRACKED];
  uint32_t untracked; /* live entities the model does not follow (spawned by patches) */
  myr_entity stale_provisional;
} fuzz;

#define CHECK(cond)                                                                           \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      fprintf(stderr, "model disagrees at byte %zu: %s (line %d)\n", f->at, #cond, __LINE__); \
      abort();                                                                                \
    }                                                                                         \
  } while (0)

static uint8_t take(fuzz *f) { return f->at < f->size ? f->data[f->at++] : 0; }

static uint32_t take32(fuzz *f) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v = v << 8 | take(f);
  return v;
}

static void register_components(fuzz *f) {
  static const myr_field a_f[] = {MYR_FIELD(row_a, x, MYR_F32), MYR_FIELD(row_a, n, MYR_U32)};
  static const myr_field l_f[] = {MYR_FIELD(row_link, target, MYR_ENTITY)};
  static const myr_field d_f[] = {{"b", MYR_BYTES, 3, offsetof(row_d, b)}, MYR_FIELD(row_d, d, MYR_F64)};
  const myr_component_desc descs[COMPONENTS] = {{"A", a_f, 2, sizeof(row_a)},
                                                {"Link", l_f, 1, sizeof(row_link)},
                                                {"Tag", NULL, 0, 0},
                                                {"D", d_f, 2, sizeof(row_d)}};
  for (int c = 0; c < COMPONENTS; c++)
    if (myr_component_register(f->w, &descs[c], &f->comp[c]) != MYR_OK) abort();
}

static uint32_t model_live(const fuzz *f) {
  uint32_t n = f->untracked;
  for (int i = 0; i < TRACKED; i++) n += f->e[i].id && f->e[i].alive;
  return n;
}

static model_entity *slot_for_new(fuzz *f) {
  for (int i = 0; i < TRACKED; i++)
    if (!f->e[i].id) return &f->e[i];
  /* full: forget a dead one, or count a live one as untracked */
  model_entity *m = &f->e[take(f) % TRACKED];
  if (m->alive) f->untracked++;
  return m;
}

static void track(fuzz *f, myr_entity id, unsigned set, uint32_t n) {
  model_entity *m = slot_for_new(f);
  *m = (model_entity){id, 1, set, n};
}

static model_entity *pick(fuzz *f) {
  model_entity *m = &f->e[take(f) % TRACKED];
  return m->id ? m : NULL;
}

static const void *row_for(unsigned c, row_a *a, row_link *l, row_d *d, uint32_t n, myr_entity link) {
  *a = (row_a){(float)n * 0.5f, n};
  *l = (row_link){link};
  *d = (row_d){{(unsigned char)n, 2, 3}, (double)n};
  return c == 0 ? (const void *)a : c == 1 ? (const void *)l : c == 2 ? NULL : (const void *)d;
}

/* Status an operation on entity m must return before anything else. */
static myr_status id_status(const model_entity *m) { return m->alive ? MYR_OK : MYR_ESTALE; }

static void check_entity(fuzz *f, const model_entity *m) {
  CHECK(myr_entity_alive(f->w, m->id) == (m->alive != 0));
  if (!m->alive) return;
  for (unsigned c = 0; c < COMPONENTS; c++) CHECK(myr_component_has(f->w, m->id, f->comp[c]) == ((m->set >> c) & 1));
  if (m->set & 1) {
    uint32_t n = 0;
    CHECK(myr_field_get(f->w, m->id, f->comp[0], 1, MYR_U32, &n) == MYR_OK);
    CHECK(n == m->n);
  }
}

/* ---- direct world calls --------------------------------------------------- */

static void op_create(fuzz *f) {
  myr_entity e;
  CHECK(myr_entity_create(f->w, &e) == MYR_OK);
  track(f, e, 0, 0);
}

static void op_bulk(fuzz *f) {
  unsigned set = take(f) & 15, count = 1 + take(f) % 8;
  uint32_t n = take(f);
  myr_component comps[COMPONENTS];
  const void *vals[COMPONENTS];
  row_a a;
  row_link l;
  row_d d;
  uint32_t k = 0;
  for (unsigned c = 0; c < COMPONENTS; c++)
    if (set >> c & 1) {
      comps[k] = f->comp[c];
      vals[k++] = row_for(c, &a, &l, &d, n, MYR_ENTITY_NULL);
    }
  myr_entity ids[8];
  CHECK(myr_entity_create_bulk(
            f->w,
            &(myr_bulk_desc){
                .components = comps, .component_count = k, .values = vals, .count = count, .ids_out = ids}) == MYR_OK);
  for (unsigned i = 0; i < count; i++) track(f, ids[i], set, n);
}

static void op_destroy(fuzz *f) {
  model_entity *m = pick(f);
  if (!m) return;
  CHECK(myr_entity_destroy(f->w, m->id) == id_status(m));
  m->alive = 0;
}

static void op_add_remove(fuzz *f, int add) {
  model_entity *m = pick(f);
  unsigned c = take(f) % COMPONENTS;
  uint32_t n = take(f);
  if (!m) return;
  uint64_t h0, h1;
  CHECK(myr_world_hash(f->w, &h0) == MYR_OK);
  row_a a;
  row_link l;
  row_d d;
  myr_status want = id_status(m);
  if (want == MYR_OK && add) want = (m->set >> c & 1) ? MYR_EEXIST : MYR_OK;
  if (want == MYR_OK && !add) want = (m->set >> c & 1) ? MYR_OK : MYR_EABSENT;
  myr_status got = add ? myr_component_add(f->w, m->id, f->comp[c], row_for(c, &a, &l, &d, n, m->id))
                       : myr_component_remove(f->w, m->id, f->comp[c]);
  CHECK(got == want);
  if (got != MYR_OK) {
    CHECK(myr_world_hash(f->w, &h1) == MYR_OK);
    CHECK(h0 == h1); /* a failed call changes nothing */
    return;
  }
  if (add) {
    m->set |= 1u << c;
    if (c == 0) m->n = n;
  } else {
    m->set &= ~(1u << c);
  }
}

static void op_field(fuzz *f) {
  model_entity *m = pick(f);
  uint8_t how = take(f);
  uint32_t n = take32(f);
  if (!m) return;
  myr_type type = how & 1 ? MYR_U32 : (how & 2 ? MYR_F32 : MYR_U64);
  uint32_t field = how & 4 ? 1 : (how & 8 ? 7 : 1);
  myr_status want = id_status(m);
  if (want == MYR_OK && !(m->set & 1)) want = MYR_EABSENT;
  if (want == MYR_OK && field >= 2) want = MYR_EFIELD;
  if (want == MYR_OK && type != MYR_U32) want = MYR_ETYPE;
  uint64_t big = n;
  myr_status got = myr_field_set(f->w, m->id, f->comp[0], field, type, &big);
  CHECK(got == want);
  if (got == MYR_OK) m->n = (uint32_t)big; /* little-endian: the low half */
}

static void op_bad_id(fuzz *f) {
  myr_entity e = (myr_entity)take32(f) << 32 | take32(f);
  myr_status s = myr_entity_check(f->w, e);
  CHECK(s == MYR_OK || s == MYR_ESTALE || s == MYR_ENOENT || s == MYR_EINVAL);
  if (s != MYR_OK) {
    CHECK(myr_entity_destroy(f->w, e) == s);
    CHECK(myr_component_add(f->w, e, f->comp[2], NULL) == s);
  }
}

static void op_query(fuzz *f) {
  unsigned c = take(f) % COMPONENTS;
  myr_query *q;
  CHECK(myr_query_create(f->w, &(myr_query_desc){(myr_term[]){{f->comp[c], MYR_TERM_READ}}, 1}, &q) == MYR_OK);
  myr_query_iter it;
  myr_chunk ch;
  uint64_t seen = 0;
  CHECK(myr_query_iter_init(q, 16u << (take(f) % 6), &it) == MYR_OK);
  while (myr_query_next(&it, &ch)) seen += ch.count;
  uint64_t want = 0;
  for (int i = 0; i < TRACKED; i++) want += f->e[i].id && f->e[i].alive && (f->e[i].set >> c & 1);
  if (f->untracked == 0) CHECK(seen == want);
  else CHECK(seen >= want);
  myr_query_destroy(q);
}

/* ---- patch streams -------------------------------------------------------- */

typedef struct pending_effect {
  model_entity *m;
  int op;
  unsigned c;
  uint32_t n;
} pending_effect;

/* Records a stream of patches on a command buffer, computing what applying
 * them in order must do, then applies and compares. */
static void op_patches(fuzz *f) {
  myr_patches *p;
  CHECK(myr_patches_create(f->w, &p) == MYR_OK);
  if (f->stale_provisional) CHECK(myr_patch_destroy(p, f->stale_provisional) == MYR_ESTALE);
  model_entity after[TRACKED];
  memcpy(after, f->e, sizeof after);
  unsigned count = 1 + take(f) % 24, spawned = 0, destroyed_spawns = 0;
  myr_entity last_spawn = MYR_ENTITY_NULL;
  int last_spawn_dead = 0;
  for (unsigned k = 0; k < count; k++) {
    uint8_t op = take(f) % 7;
    unsigned c = take(f) % COMPONENTS;
    uint32_t n = take(f);
    uint8_t who = take(f);
    model_entity *m = &after[who % TRACKED];
    myr_entity id = m->id;
    row_a a;
    row_link l;
    row_d d;
    if (op == 6) { /* spawn, linking to the previous spawn of this batch */
      const myr_component comps[2] = {f->comp[1], f->comp[0]};
      const void *vals[2] = {&(row_link){last_spawn}, &(row_a){1, n}};
      CHECK(myr_patch_spawn(p, comps, 2, vals, &last_spawn) == MYR_OK);
      CHECK(MYR_ENTITY_IS_PROVISIONAL(last_spawn));
      spawned++;
      last_spawn_dead = 0;
      if (who & 1) { /* and destroy it again in the same batch */
        CHECK(myr_patch_destroy(p, last_spawn) == MYR_OK);
        destroyed_spawns++;
        last_spawn_dead = 1;
      }
      continue;
    }
    if (!id) continue;
    switch (op) {
    case 0: CHECK(myr_patch_destroy(p, id) == MYR_OK); break;
    case 1: CHECK(myr_patch_add(p, id, f->comp[c], row_for(c, &a, &l, &d, n, last_spawn)) == MYR_OK); break;
    case 2: CHECK(myr_patch_remove(p, id, f->comp[c]) == MYR_OK); break;
    case 3:
      if (c == 2) continue; /* a tag has no values to set */
      CHECK(myr_patch_set(p, id, f->comp[c], row_for(c, &a, &l, &d, n, last_spawn)) == MYR_OK);
      break;
    case 4:
      CHECK(myr_patch_set_field(p, id, f->comp[0], 1, MYR_U32, &n) == MYR_OK);
      c = 0;
      break;
    case 5: CHECK(myr_patch_set_field(p, id, f->comp[0], 1, MYR_F64, &n) == MYR_ETYPE); continue;
    }
    /* the sequential meaning of the patch (patch.h's outcomes) */
    if (!m->alive) continue;
    int has = m->set >> c & 1;
    if (op == 0) m->alive = 0;
    else if (op == 1 && !has) {
      m->set |= 1u << c;
      if (c == 0) m->n = n;
    } else if (op == 2 && has) m->set &= ~(1u << c);
    else if ((op == 3 || op == 4) && has && c == 0) m->n = n;
  }
  (void)last_spawn_dead;
  myr_patch_stats st;
  CHECK(myr_patches_apply(p, &st) == MYR_OK);
  CHECK(st.spawned == spawned - destroyed_spawns);
  CHECK(myr_patches_count(p) == 0);
  f->stale_provisional = last_spawn;
  memcpy(f->e, after, sizeof after);
  f->untracked += spawned - destroyed_spawns;
  myr_patches_destroy(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz *f = calloc(1, sizeof *f);
  if (!f) return 0;
  f->data = data;
  f->size = size;
  if (myr_world_create(NULL, &f->w) != MYR_OK) abort();
  register_components(f);
  while (f->at < f->size) {
    switch (take(f) % 10) {
    case 0: op_create(f); break;
    case 1: op_bulk(f); break;
    case 2: op_destroy(f); break;
    case 3: op_add_remove(f, 1); break;
    case 4: op_add_remove(f, 0); break;
    case 5: op_field(f); break;
    case 6: op_bad_id(f); break;
    case 7: op_query(f); break;
    case 8: op_patches(f); break;
    case 9: {
      model_entity *m = pick(f);
      if (m) check_entity(f, m);
      break;
    }
    }
    CHECK(myr_world_entity_count(f->w) == model_live(f));
  }
  for (int i = 0; i < TRACKED; i++)
    if (f->e[i].id) check_entity(f, &f->e[i]);
  myr_world_destroy(f->w);
  free(f);
  return 0;
}
