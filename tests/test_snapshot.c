/* Snapshots (snapshot.h): round trips bit for bit (ids, free list, table
 * order, resources, seed, clock), schema evolution by name, refusal of
 * every corrupt input with the world unchanged, allocation failures at
 * every k, crash-safe files (full disk, unwritable folder, a saver killed
 * at random moments), the determinism debugger, and a golden file that
 * pins the format's bytes on every architecture. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "helpers.h"

typedef struct {
  myr_entity target;
  uint32_t strength;
} t_link;

/* A world with a bit of everything: five components (a tag, bytes, an
 * entity link), entities in several tables, destroyed ones (a free list
 * of some length), a hashed and an unhashed resource, a seed and a clock.
 * The same `salt` makes the same world. */
typedef struct scene {
  fixture f;
  myr_component link;
  myr_resource params, scratch;
  myr_entity ids[64];
} scene;

static void scene_register(scene *s) {
  fixture_register(&s->f);
  static const myr_field link_f[] = {MYR_FIELD(t_link, target, MYR_ENTITY), MYR_FIELD(t_link, strength, MYR_U32)};
  assert_int_equal(myr_component_register(s->f.w, &(myr_component_desc){"Link", link_f, 2, sizeof(t_link)}, &s->link),
                   MYR_OK);
}

static void scene_populate(scene *s, uint32_t n, uint64_t salt) {
  myr_world *w = s->f.w;
  uint64_t rng = salt;
  for (uint32_t i = 0; i < n; i++) {
    myr_entity e;
    assert_int_equal(myr_entity_create(w, &e), MYR_OK);
    if (i < 64) s->ids[i] = e;
    uint64_t r = rng_next(&rng);
    t_position p = {(float)i, (float)(r % 1000) * 0.5f, -1.0f};
    if (r & 1) assert_int_equal(myr_component_add(w, e, s->f.pos, &p), MYR_OK);
    if (r & 2) assert_int_equal(myr_component_add(w, e, s->f.vel, &(t_velocity){1, 2, (float)salt}), MYR_OK);
    if (r & 4) assert_int_equal(myr_component_add(w, e, s->f.health, &(t_health){(int32_t)i - 50, 7, 0.25}), MYR_OK);
    if (r & 8) assert_int_equal(myr_component_add(w, e, s->f.label, &(t_label){"abcd", r}), MYR_OK);
    if (r & 16) assert_int_equal(myr_component_add(w, e, s->f.tag, NULL), MYR_OK);
    if (i && (r & 32)) assert_int_equal(myr_component_add(w, e, s->link, &(t_link){s->ids[(i - 1) % 64], 3}), MYR_OK);
  }
  /* a free list in no simple order */
  for (uint32_t i = 0; i < n; i += 3) {
    myr_entity e = ((myr_entity)1 << 32) | ((i * 7) % n);
    if (myr_entity_alive(w, e)) assert_int_equal(myr_entity_destroy(w, e), MYR_OK);
  }
  uint64_t params[4] = {salt, 2, 3, 4};
  assert_int_equal(myr_resource_register(
                       w, &(myr_resource_desc){.name = "params", .size = sizeof params, .initial = params}, &s->params),
                   MYR_OK);
  assert_int_equal(
      myr_resource_register(
          w, &(myr_resource_desc){.name = "scratch", .size = 100, .align = 64, .flags = MYR_RESOURCE_UNHASHED},
          &s->scratch),
      MYR_OK);
  memset(myr_resource_data(w, s->scratch), 0x5a, 100);
  assert_int_equal(myr_world_set_seed(w, 0x1234 + salt), MYR_OK);
  assert_int_equal(myr_world_set_clock(w, 77, 1.25), MYR_OK);
}

static myr_world *new_world(void) {
  myr_world *w;
  assert_int_equal(myr_world_create(checked_world(), &w), MYR_OK);
  return w;
}

static void scene_make(scene *s, uint32_t n, uint64_t salt) {
  memset(s, 0, sizeof *s);
  s->f.w = new_world();
  scene_register(s);
  scene_populate(s, n, salt);
}

static void save_mem(const myr_world *w, uint32_t flags, unsigned char **data, size_t *size) {
  myr_snapshot_report rep;
  myr_status st =
      myr_snapshot_save_memory(w, &(myr_snapshot_save_desc){.flags = flags, .report = &rep}, (void **)data, size);
  if (st != MYR_OK) fail_msg("save: %s: %s", myr_status_name(st), rep.message);
}

/* Every live entity's id in iteration order: tables in order, rows in order. */
static uint32_t iteration_ids(myr_world *w, myr_component c, myr_entity *out, uint32_t cap) {
  myr_query *q;
  assert_int_equal(myr_query_create(w, &(myr_query_desc){(myr_term[]){{c, MYR_TERM_WITH}}, 1}, &q), MYR_OK);
  myr_query_iter it;
  myr_chunk ch;
  uint32_t n = 0;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  while (myr_query_next(&it, &ch))
    for (uint32_t i = 0; i < ch.count && n < cap; i++) out[n++] = ch.ids[i];
  myr_query_destroy(q);
  return n;
}

/* What a failed call must leave as it was. */
typedef struct shape {
  uint64_t hash, seed, frame;
  double time;
  uint32_t entities, tables, components, resources;
} shape;

static shape shape_of(myr_world *w) {
  shape s = {.hash = world_hash(w),
             .seed = myr_world_seed(w),
             .frame = myr_world_frame(w),
             .time = myr_world_time(w),
             .entities = myr_world_entity_count(w),
             .tables = myr_world_table_count(w)};
  while (myr_component_info(w, s.components, NULL, 0, NULL) == MYR_OK) s.components++;
  while (myr_resource_size(w, s.resources)) s.resources++;
  return s;
}

static void assert_shape(myr_world *w, const shape *before) {
  shape now = shape_of(w);
  assert_true(now.hash == before->hash);
  assert_true(now.seed == before->seed && now.frame == before->frame && now.time == before->time);
  assert_int_equal(now.entities, before->entities);
  assert_int_equal(now.tables, before->tables);
  assert_int_equal(now.components, before->components);
  assert_int_equal(now.resources, before->resources);
}

/* ---- round trips -------------------------------------------------------------- */

static void check_same(scene *a, myr_world *b) {
  assert_true(world_hash(a->f.w) == world_hash(b));
  assert_true(myr_world_seed(a->f.w) == myr_world_seed(b));
  assert_true(myr_world_frame(a->f.w) == myr_world_frame(b));
  assert_true(myr_world_time(a->f.w) == myr_world_time(b));
  /* the unhashed resource too */
  myr_resource r;
  assert_int_equal(myr_resource_lookup(b, "scratch", &r), MYR_OK);
  assert_memory_equal(myr_resource_data(b, r), myr_resource_data(a->f.w, a->scratch), 100);
  /* iteration order */
  static myr_entity ia[4096], ib[4096];
  myr_component pos_b;
  assert_int_equal(myr_component_lookup(b, "Position", &pos_b), MYR_OK);
  uint32_t na = iteration_ids(a->f.w, a->f.pos, ia, 4096), nb = iteration_ids(b, pos_b, ib, 4096);
  assert_int_equal(na, nb);
  assert_memory_equal(ia, ib, na * sizeof *ia);
  /* the next spawns get the ids an uninterrupted run would give */
  for (int k = 0; k < 50; k++) {
    myr_entity x, y;
    assert_int_equal(myr_entity_create(a->f.w, &x), MYR_OK);
    assert_int_equal(myr_entity_create(b, &y), MYR_OK);
    assert_true(x == y);
  }
}

static void round_trip(uint32_t flags) {
  scene a;
  scene_make(&a, 1000, 1);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, flags, &data, &size);
  myr_world *b = new_world();
  myr_snapshot_report rep;
  myr_status st = myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.report = &rep});
  if (st != MYR_OK) fail_msg("load: %s", rep.message);
  assert_int_equal(rep.components_registered, 6);
  assert_int_equal(rep.resources_registered, 2);
  assert_int_equal(rep.entities, myr_world_entity_count(a.f.w));
  assert_string_equal(rep.message, "");
  /* the schema by name, in the saved order */
  assert_int_equal(myr_component_count(b), 6);
  assert_string_equal(myr_component_name(b, 5), "Link");
  assert_null(myr_component_name(b, 6));
  assert_int_equal(myr_resource_count(b), 2);
  assert_string_equal(myr_resource_name(b, 1), "scratch");
  assert_int_equal(myr_resource_flags(b, 1), MYR_RESOURCE_UNHASHED);
  assert_null(myr_resource_name(b, 2));
  check_same(&a, b);
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

static void round_trip_plain(void **state) {
  (void)state;
  round_trip(0);
}

static void round_trip_zstd(void **state) {
  (void)state;
  round_trip(MYR_SNAPSHOT_ZSTD);
}

/* A program that sets up first and restores then: its components and
 * resources are matched by name, whatever their order. */
static void into_a_world_set_up_first(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 500, 2);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, 0, &data, &size);
  myr_world *b = new_world();
  static const myr_field link_f[] = {MYR_FIELD(t_link, strength, MYR_U32), MYR_FIELD(t_link, target, MYR_ENTITY)};
  myr_component link;
  assert_int_equal(myr_component_register(b, &(myr_component_desc){"Link", link_f, 2, sizeof(t_link)}, &link), MYR_OK);
  scene s2 = {.f.w = b};
  fixture_register(&s2.f); /* the others after it: every id differs from a's */
  myr_resource r;
  assert_int_equal(myr_resource_register(b, &(myr_resource_desc){.name = "scratch", .size = 100}, &r), MYR_OK);
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.report = &rep}), MYR_OK);
  assert_int_equal(rep.components_matched, 6);
  assert_int_equal(rep.components_registered, 0);
  assert_int_equal(rep.resources_matched, 1);
  assert_int_equal(rep.resources_registered, 1);
  assert_int_equal(rep.fields_zeroed + rep.fields_skipped + rep.fields_by_position, 0);
  /* the hash names component ids, which differ; the values do not */
  for (uint32_t i = 0; i < 64; i++) {
    t_link la, lb;
    if (myr_component_get(a.f.w, a.ids[i], a.link, &la) != MYR_OK) continue;
    assert_int_equal(myr_component_get(b, a.ids[i], link, &lb), MYR_OK);
    assert_true(la.target == lb.target && la.strength == lb.strength);
  }
  myr_world_diff d;
  assert_int_equal(myr_world_diff_compute(a.f.w, b, &d), MYR_OK);
  assert_int_equal(d.differing, 0);
  assert_false(d.resources_differ);
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

/* ---- schema evolution ----------------------------------------------------------- */

typedef struct {
  float shield;
  int32_t hp;
  double regen;
} t_health2; /* armor dropped, shield added, reordered */

static void fields_added_dropped_and_reordered(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 300, 3);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, 0, &data, &size);
  myr_world *b = new_world();
  static const myr_field h2[] = {MYR_FIELD(t_health2, shield, MYR_F32), MYR_FIELD(t_health2, hp, MYR_I32),
                                 MYR_FIELD(t_health2, regen, MYR_F64)};
  myr_component health;
  assert_int_equal(myr_component_register(b, &(myr_component_desc){"Health", h2, 3, sizeof(t_health2)}, &health),
                   MYR_OK);
  myr_snapshot_report rep;
  const char *skip[] = {"Label"};
  assert_int_equal(
      myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.report = &rep, .skip = skip, .skip_count = 1}),
      MYR_OK);
  assert_int_equal(rep.fields_zeroed, 1);  /* shield */
  assert_int_equal(rep.fields_skipped, 1); /* armor */
  assert_int_equal(rep.components_skipped, 1);
  assert_non_null(strstr(rep.notes, "Health.shield"));
  assert_non_null(strstr(rep.notes, "Health.armor"));
  myr_component label;
  assert_int_equal(myr_component_lookup(b, "Label", &label), MYR_ENOCOMP);
  uint32_t checked = 0;
  for (uint32_t i = 0; i < 64; i++) {
    t_health ha;
    t_health2 hb;
    if (myr_component_get(a.f.w, a.ids[i], a.f.health, &ha) != MYR_OK) continue;
    assert_int_equal(myr_component_get(b, a.ids[i], health, &hb), MYR_OK);
    assert_int_equal(ha.hp, hb.hp);
    assert_true(ha.regen == hb.regen && hb.shield == 0.0f);
    checked++;
  }
  assert_true(checked > 5);
  /* an entity that had only the skipped component keeps the rest (none) */
  assert_int_equal(myr_world_entity_count(b), myr_world_entity_count(a.f.w));
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

typedef struct {
  int64_t hp;
  uint8_t armor;
  float regen;
} t_health_wide;

static void changed_types_refused_unless_converted(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 200, 4);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, 0, &data, &size);
  static const myr_field hw[] = {MYR_FIELD(t_health_wide, hp, MYR_I64), MYR_FIELD(t_health_wide, armor, MYR_U8),
                                 MYR_FIELD(t_health_wide, regen, MYR_F32)};
  myr_world *b = new_world();
  myr_component health;
  assert_int_equal(myr_component_register(b, &(myr_component_desc){"Health", hw, 3, sizeof(t_health_wide)}, &health),
                   MYR_OK);
  shape before = shape_of(b);
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.report = &rep}), MYR_ETYPE);
  assert_non_null(strstr(rep.message, "Health.hp"));
  assert_shape(b, &before);
  assert_int_equal(
      myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.flags = MYR_SNAPSHOT_CONVERT, .report = &rep}),
      MYR_OK);
  assert_int_equal(rep.fields_converted, 2);
  for (uint32_t i = 0; i < 64; i++) {
    t_health ha;
    t_health_wide hb;
    if (myr_component_get(a.f.w, a.ids[i], a.f.health, &ha) != MYR_OK) continue;
    assert_int_equal(myr_component_get(b, a.ids[i], health, &hb), MYR_OK);
    assert_true(hb.hp == ha.hp && hb.armor == ha.armor && hb.regen == (float)ha.regen);
  }
  myr_world_destroy(b);
  /* a narrowing is refused even with the flag */
  typedef struct {
    uint8_t x;
  } t_narrow;
  static const myr_field nf[] = {{"serial", MYR_U8, 0, 0}};
  b = new_world();
  myr_component label;
  assert_int_equal(myr_component_register(b, &(myr_component_desc){"Label", nf, 1, sizeof(t_narrow)}, &label), MYR_OK);
  assert_int_equal(
      myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.flags = MYR_SNAPSHOT_CONVERT, .report = &rep}),
      MYR_ETYPE);
  assert_non_null(strstr(rep.message, "Label.serial"));
  myr_world_destroy(b);
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(a.f.w);
}

/* Every widening snapshot.h lists loads with MYR_SNAPSHOT_CONVERT, exactly
 * (u32 to i64 among them); a signed integer into an unsigned one does not. */
static void every_listed_widening_converts(void **state) {
  (void)state;
  static const struct {
    myr_type from, to;
    bool allowed;
  } cases[] = {{MYR_U8, MYR_U32, true},   {MYR_U8, MYR_U64, true},   {MYR_U8, MYR_I32, true},
               {MYR_U8, MYR_I64, true},   {MYR_U32, MYR_U64, true},  {MYR_U32, MYR_I64, true},
               {MYR_I32, MYR_I64, true},  {MYR_I32, MYR_U64, false}, {MYR_U32, MYR_I32, false},
               {MYR_U64, MYR_I64, false}, {MYR_I64, MYR_I32, false}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    myr_world *a = new_world(), *b = new_world();
    myr_component c;
    assert_int_equal(
        myr_component_register(a, &(myr_component_desc){"C", (myr_field[]){{"v", cases[i].from, 0, 0}}, 1, 8}, &c),
        MYR_OK);
    /* the largest value of the source type: sign and width must survive */
    uint64_t row = cases[i].from == MYR_U8    ? 0xff
                   : cases[i].from == MYR_I32 ? 0xffffffffu /* -1 */
                   : cases[i].from == MYR_U32 ? 0xfffffffeu
                                              : UINT64_MAX;
    myr_entity e;
    assert_int_equal(myr_entity_create_with(a, &c, 1, (const void *const[]){&row}, &e), MYR_OK);
    unsigned char *data;
    size_t size;
    save_mem(a, 0, &data, &size);
    assert_int_equal(
        myr_component_register(b, &(myr_component_desc){"C", (myr_field[]){{"v", cases[i].to, 0, 0}}, 1, 8}, &c),
        MYR_OK);
    myr_snapshot_report rep;
    myr_status st = myr_snapshot_load_memory(b, data, size,
                                             &(myr_snapshot_load_desc){.flags = MYR_SNAPSHOT_CONVERT, .report = &rep});
    if (st != (cases[i].allowed ? MYR_OK : MYR_ETYPE))
      fail_msg("case %zu: %s (%s)", i, myr_status_name(st), rep.message);
    if (cases[i].allowed) {
      uint64_t back = 0;
      assert_int_equal(myr_component_get(b, e, c, &back), MYR_OK);
      if (cases[i].to == MYR_I32 || cases[i].to == MYR_U32) back &= 0xffffffffu;
      uint64_t want = cases[i].from == MYR_I32 ? UINT64_MAX : row; /* -1 sign-extended */
      if (cases[i].to == MYR_I32 || cases[i].to == MYR_U32) want &= 0xffffffffu;
      assert_true(back == want);
      assert_int_equal(rep.fields_converted, 1);
    }
    myr_snapshot_free(a, data, size);
    myr_world_destroy(b);
    myr_world_destroy(a);
  }
}

/* A name the format cannot hold (over 4096 bytes) is refused when saving,
 * rather than written into a snapshot that no load accepts. */
static void a_name_too_long_is_refused_when_saving(void **state) {
  (void)state;
  static char name[5000];
  memset(name, 'n', sizeof name - 1);
  for (int what = 0; what < 3; what++) {
    myr_world *a = new_world();
    myr_component c;
    myr_resource r;
    if (what == 0) assert_int_equal(myr_component_register(a, &(myr_component_desc){name, NULL, 0, 0}, &c), MYR_OK);
    else if (what == 1)
      assert_int_equal(
          myr_component_register(a, &(myr_component_desc){"C", (myr_field[]){{name, MYR_U32, 0, 0}}, 1, 4}, &c),
          MYR_OK);
    else assert_int_equal(myr_resource_register(a, &(myr_resource_desc){.name = name, .size = 4}, &r), MYR_OK);
    void *p = NULL;
    size_t n = 0;
    myr_snapshot_report rep;
    assert_int_equal(myr_snapshot_save_memory(a, &(myr_snapshot_save_desc){.report = &rep}, &p, &n), MYR_EINVAL);
    assert_non_null(strstr(rep.message, "4096"));
    assert_null(p);
    /* one of 4096 bytes is fine */
    name[4096] = '\0';
    myr_world *b = new_world();
    if (what == 0) assert_int_equal(myr_component_register(b, &(myr_component_desc){name, NULL, 0, 0}, &c), MYR_OK);
    else if (what == 1)
      assert_int_equal(
          myr_component_register(b, &(myr_component_desc){"C", (myr_field[]){{name, MYR_U32, 0, 0}}, 1, 4}, &c),
          MYR_OK);
    else assert_int_equal(myr_resource_register(b, &(myr_resource_desc){.name = name, .size = 4}, &r), MYR_OK);
    unsigned char *data;
    size_t size;
    save_mem(b, 0, &data, &size);
    myr_world *d = new_world();
    assert_int_equal(myr_snapshot_load_memory(d, data, size, NULL), MYR_OK);
    name[4096] = 'n';
    myr_snapshot_free(b, data, size);
    myr_world_destroy(d);
    myr_world_destroy(b);
    myr_world_destroy(a);
  }
}

static void unnamed_fields_match_by_position(void **state) {
  (void)state;
  myr_world *a = new_world();
  static const myr_field anon[] = {{NULL, MYR_F32, 0, 0}, {NULL, MYR_I32, 0, 4}};
  myr_component c;
  assert_int_equal(myr_component_register(a, &(myr_component_desc){"Anon", anon, 2, 8}, &c), MYR_OK);
  myr_entity e;
  struct {
    float f;
    int32_t i;
  } row = {2.5f, -9}, back;
  assert_int_equal(myr_entity_create_with(a, &c, 1, (const void *const[]){&row}, &e), MYR_OK);
  unsigned char *data;
  size_t size;
  save_mem(a, 0, &data, &size);
  myr_world *b = new_world();
  assert_int_equal(myr_component_register(b, &(myr_component_desc){"Anon", anon, 2, 8}, &c), MYR_OK);
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.report = &rep}), MYR_OK);
  assert_int_equal(rep.fields_by_position, 2);
  assert_non_null(strstr(rep.notes, "Anon.0: no name, matched by position"));
  assert_int_equal(myr_component_get(b, e, c, &back), MYR_OK);
  assert_true(back.f == 2.5f && back.i == -9);
  myr_snapshot_free(a, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a);
}

static void resource_of_another_size_refused(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 50, 5);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, 0, &data, &size);
  myr_world *b = new_world();
  myr_resource r;
  assert_int_equal(myr_resource_register(b, &(myr_resource_desc){.name = "params", .size = 8}, &r), MYR_OK);
  shape before = shape_of(b);
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.report = &rep}), MYR_ETYPE);
  assert_non_null(strstr(rep.message, "params"));
  assert_shape(b, &before);
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

static void refuses_a_world_with_entities_and_bad_arguments(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 50, 6);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, 0, &data, &size);
  assert_int_equal(myr_snapshot_load_memory(a.f.w, data, size, NULL), MYR_EBUSY);
  assert_int_equal(myr_snapshot_load_memory(NULL, data, size, NULL), MYR_EINVAL);
  myr_world *b = new_world();
  assert_int_equal(myr_snapshot_load_memory(b, NULL, 10, NULL), MYR_EINVAL);
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_load_memory(b, NULL, 10, &(myr_snapshot_load_desc){.report = &rep}), MYR_EINVAL);
  assert_true(rep.message[0] != '\0'); /* every failure says why */
  assert_int_equal(myr_snapshot_save_file(b, "", &(myr_snapshot_save_desc){.report = &rep}), MYR_EINVAL);
  assert_true(rep.message[0] != '\0');
  assert_int_equal(myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.flags = 1u << 9}), MYR_EINVAL);
  void *p;
  size_t n;
  assert_int_equal(myr_snapshot_save_memory(b, &(myr_snapshot_save_desc){.flags = 1u << 5}, &p, &n), MYR_EINVAL);
  assert_int_equal(myr_snapshot_save_memory(b, &(myr_snapshot_save_desc){.zstd_level = 40}, &p, &n), MYR_EINVAL);
  char big[MYR_SNAPSHOT_META_MAX + 2];
  memset(big, 'm', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(myr_snapshot_save_memory(b, &(myr_snapshot_save_desc){.meta = big}, &p, &n), MYR_EINVAL);
  assert_int_equal(myr_snapshot_save_file(b, NULL, NULL), MYR_EINVAL);
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

/* ---- streams ---------------------------------------------------------------------- */

typedef struct pipe_buf {
  unsigned char *data;
  size_t size, cap, at;
  size_t piece; /* the callback's piece size */
  long calls, fail_at;
} pipe_buf;

static myr_status pipe_write(void *ctx, const void *data, size_t size) {
  pipe_buf *p = ctx;
  if (p->calls++ == p->fail_at) return MYR_EIO;
  if (p->size + size > p->cap) {
    p->cap = (p->size + size) * 2;
    p->data = realloc(p->data, p->cap);
    assert_non_null(p->data);
  }
  memcpy(p->data + p->size, data, size);
  p->size += size;
  return MYR_OK;
}

static myr_status pipe_read(void *ctx, void *buf, size_t size, size_t *got) {
  pipe_buf *p = ctx;
  if (p->calls++ == p->fail_at) return MYR_EIO;
  size_t n = p->size - p->at;
  if (n > size) n = size;
  if (n > p->piece) n = p->piece;
  memcpy(buf, p->data + p->at, n);
  p->at += n;
  *got = n;
  return MYR_OK;
}

static void streams(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 2000, 7);
  for (int z = 0; z < 2; z++) {
    pipe_buf p = {.fail_at = -1, .piece = 777};
    myr_snapshot_save_desc sd = {.flags = z ? MYR_SNAPSHOT_ZSTD : 0, .meta = "streamed"};
    assert_int_equal(myr_snapshot_save_stream(a.f.w, pipe_write, &p, &sd), MYR_OK);
    unsigned char *mem;
    size_t size;
    save_mem(a.f.w, sd.flags, &mem, &size);
    assert_int_equal(size + 40 + strlen("streamed"), p.size); /* the same bytes but the meta section */
    myr_world *b = new_world();
    p.calls = 0;
    assert_int_equal(myr_snapshot_load_stream(b, pipe_read, &p, NULL), MYR_OK);
    assert_true(world_hash(b) == world_hash(a.f.w));
    myr_snapshot_info info;
    assert_int_equal(myr_snapshot_inspect_memory(p.data, p.size, &info, NULL, 0, NULL), MYR_OK);
    assert_string_equal(info.meta, "streamed");
    /* a callback's error stops either way, and is returned as is */
    myr_world *c = new_world();
    shape before = shape_of(c);
    p.at = 0;
    p.calls = 0;
    p.fail_at = 3;
    myr_snapshot_report rep;
    assert_int_equal(myr_snapshot_load_stream(c, pipe_read, &p, &(myr_snapshot_load_desc){.report = &rep}), MYR_EIO);
    assert_non_null(strstr(rep.message, "stream"));
    assert_shape(c, &before);
    pipe_buf q = {.fail_at = 2};
    assert_int_equal(myr_snapshot_save_stream(a.f.w, pipe_write, &q, NULL), MYR_EIO);
    free(q.data);
    free(p.data);
    myr_snapshot_free(a.f.w, mem, size);
    myr_world_destroy(c);
    myr_world_destroy(b);
  }
  myr_world_destroy(a.f.w);
}

/* A stream load takes one snapshot's bytes and no more: two back to back
 * load in turn, and what follows them is left to the next reader. */
static void a_stream_takes_one_snapshot(void **state) {
  (void)state;
  scene a, o;
  scene_make(&a, 300, 51);
  scene_make(&o, 200, 52);
  unsigned char *da, *dob;
  size_t sa, so;
  save_mem(a.f.w, 0, &da, &sa);
  save_mem(o.f.w, MYR_SNAPSHOT_ZSTD, &dob, &so);
  const size_t pieces[] = {1, 4096, (size_t)1 << 22};
  for (int i = 0; i < 3; i++) {
    pipe_buf p = {.fail_at = -1, .piece = pieces[i], .size = sa + so + 100};
    p.data = malloc(p.size);
    assert_non_null(p.data);
    memcpy(p.data, da, sa);
    memcpy(p.data + sa, dob, so);
    memset(p.data + sa + so, 0x77, 100);
    myr_world *b = new_world(), *c = new_world(), *e = new_world();
    myr_snapshot_report rep;
    assert_int_equal(myr_snapshot_load_stream(b, pipe_read, &p, &(myr_snapshot_load_desc){.report = &rep}), MYR_OK);
    assert_int_equal(p.at, sa);
    assert_true(world_hash(b) == world_hash(a.f.w));
    assert_int_equal(myr_snapshot_load_stream(c, pipe_read, &p, &(myr_snapshot_load_desc){.report = &rep}), MYR_OK);
    assert_int_equal(p.at, sa + so);
    assert_true(world_hash(c) == world_hash(o.f.w));
    shape before = shape_of(e);
    assert_int_equal(myr_snapshot_load_stream(e, pipe_read, &p, &(myr_snapshot_load_desc){.report = &rep}),
                     MYR_ECORRUPT); /* bytes that are not a snapshot: its header only is read */
    assert_int_equal(p.at, sa + so + 24);
    assert_shape(e, &before);
    free(p.data);
    myr_world_destroy(b);
    myr_world_destroy(c);
    myr_world_destroy(e);
  }
  myr_snapshot_free(a.f.w, da, sa);
  myr_snapshot_free(o.f.w, dob, so);
  myr_world_destroy(a.f.w);
  myr_world_destroy(o.f.w);
}

/* ---- corrupt input ------------------------------------------------------------------ */

/* Loads must fail with MYR_ECORRUPT, a message naming the input and a byte
 * offset, and the world unchanged. */
static void expect_corrupt(myr_world *b, const shape *before, const unsigned char *data, size_t size) {
  myr_snapshot_report rep;
  myr_status st = myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.report = &rep});
  if (st != MYR_ECORRUPT)
    fail_msg("load of %zu bytes: %s (%s), expected MYR_ECORRUPT", size, myr_status_name(st), rep.message);
  if (strncmp(rep.message, "memory: byte ", 13) != 0) fail_msg("message: %s", rep.message);
  assert_true(rep.offset <= size);
  assert_shape(b, before);
}

static void every_flipped_byte_is_refused(void **state) {
  (void)state;
  for (int z = 0; z < 2; z++) {
    scene a;
    scene_make(&a, 40, 8);
    unsigned char *data;
    size_t size;
    save_mem(a.f.w, z ? MYR_SNAPSHOT_ZSTD : 0, &data, &size);
    myr_world *b = new_world();
    scene s2 = {.f.w = b};
    fixture_register(&s2.f); /* some of its components registered: matching runs too */
    shape before = shape_of(b);
    unsigned char *copy = malloc(size);
    for (size_t i = 0; i < size; i++) {
      memcpy(copy, data, size);
      copy[i] ^= (unsigned char)(1u << (i % 8));
      expect_corrupt(b, &before, copy, size);
    }
    free(copy);
    myr_snapshot_free(a.f.w, data, size);
    myr_world_destroy(b);
    myr_world_destroy(a.f.w);
  }
}

static void every_truncation_is_refused(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 40, 9);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, 0, &data, &size);
  myr_world *b = new_world();
  shape before = shape_of(b);
  for (size_t n = 0; n < size; n++) expect_corrupt(b, &before, data, n);
  /* and a byte too many */
  unsigned char *longer = malloc(size + 1);
  memcpy(longer, data, size);
  longer[size] = 0;
  expect_corrupt(b, &before, longer, size + 1);
  free(longer);
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

/* Rewrites the checksum of the section whose head is at `at` (and the
 * header's), so that a test can forge well-formed but lying content. */
static void reseal(unsigned char *data, size_t at) {
  uint64_t stored;
  memcpy(&stored, data + at + 8, 8);
  uint64_t sum = XXH3_64bits(data + at, 32 + stored);
  memcpy(data + at + 32 + stored, &sum, 8);
  uint64_t head = XXH3_64bits(data, 16);
  memcpy(data + 16, &head, 8);
}

/* The allocator of a world that must never be asked for more than `limit`
 * bytes at once. */
static size_t biggest_ask;
static void *watch_alloc(size_t size, size_t align, void *user) {
  (void)user;
  if (size > biggest_ask) biggest_ask = size;
  return aligned_alloc(align, (size + align - 1) / align * align);
}
static void watch_free(void *p, size_t size, void *user) {
  (void)size;
  (void)user;
  free(p);
}

static size_t section_at(const unsigned char *data, size_t size, uint32_t kind) {
  size_t at = 24;
  while (at + 40 <= size) {
    uint32_t k;
    uint64_t stored;
    memcpy(&k, data + at, 4);
    memcpy(&stored, data + at + 8, 8);
    if (k == kind) return at;
    at += 40 + stored;
  }
  fail_msg("no section of kind %u", kind);
  return 0;
}

static void absurd_counts_are_refused_before_allocating(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 40, 10);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, 0, &data, &size);
  myr_world *b;
  assert_int_equal(myr_world_create(&(myr_world_desc){{watch_alloc, watch_free, NULL}}, &b), MYR_OK);
  shape before = shape_of(b);
  unsigned char *copy = malloc(size);
  /* forged counts, every checksum right: (section kind, offset in its payload, value) */
  const struct {
    uint32_t kind, offset, value;
  } lies[] = {
      {MYR_SECTION_WORLD, 24, 100000},     /* components */
      {MYR_SECTION_WORLD, 28, 1000},       /* resources */
      {MYR_SECTION_WORLD, 32, 0x7fffffff}, /* tables */
      {MYR_SECTION_WORLD, 36, 0xfffffff0}, /* slots */
      {MYR_SECTION_WORLD, 40, 0xfffffff0}, /* free slots */
      {MYR_SECTION_SCHEMA, 0, 0x7fffffff}, /* components */
      {MYR_SECTION_SCHEMA, 4, 0x7fffffff}, /* a name's length */
      {MYR_SECTION_TABLE, 0, 0x7fffffff},  /* a table's components */
      {MYR_SECTION_TABLE, 4, 0x7fffffff},  /* its rows */
      {MYR_SECTION_RESOURCES, 0, 0x7fffffff},
  };
  for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
    memcpy(copy, data, size);
    size_t at = section_at(copy, size, lies[i].kind);
    memcpy(copy + at + 32 + lies[i].offset, &lies[i].value, 4);
    reseal(copy, at);
    biggest_ask = 0;
    expect_corrupt(b, &before, copy, size);
    if (biggest_ask > 16 * size + 65536) fail_msg("lie %zu: an allocation of %zu bytes from %zu", i, biggest_ask, size);
  }
  /* an unknown format version, with the header's checksum right */
  memcpy(copy, data, size);
  copy[8] = 2;
  reseal(copy, section_at(copy, size, MYR_SECTION_WORLD));
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_load_memory(b, copy, size, &(myr_snapshot_load_desc){.report = &rep}), MYR_ECORRUPT);
  assert_non_null(strstr(rep.message, "format version 2"));
  assert_non_null(strstr(rep.message, "byte 8"));
  free(copy);
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

/* A compressed section of a few bytes whose zstd frame header asks for a
 * 128 MiB window (and gives no content size): refused without allocating
 * the window. And a large table saved at the highest level still loads. */
static void a_zstd_window_the_file_cannot_back_is_refused(void **state) {
  (void)state;
  myr_world *a = new_world();
  static const myr_field v3[] = {MYR_FIELD(t_position, x, MYR_F32), MYR_FIELD(t_position, y, MYR_F32),
                                 MYR_FIELD(t_position, z, MYR_F32)};
  myr_component pos;
  assert_int_equal(myr_component_register(a, &(myr_component_desc){"Position", v3, 3, sizeof(t_position)}, &pos),
                   MYR_OK);
  uint64_t rng = 5;
  for (uint32_t i = 0; i < 1000000; i++) {
    myr_entity e;
    t_position p = {(float)(rng_next(&rng) % 1000), (float)i, 1};
    assert_int_equal(myr_entity_create_with(a, &pos, 1, (const void *const[]){&p}, &e), MYR_OK);
  }
  unsigned char *data;
  size_t size;
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_save_memory(
                       a, &(myr_snapshot_save_desc){.flags = MYR_SNAPSHOT_ZSTD, .zstd_level = 19, .report = &rep},
                       (void **)&data, &size),
                   MYR_OK);
  myr_world *b = new_world();
  assert_int_equal(myr_snapshot_load_memory(b, data, size, &(myr_snapshot_load_desc){.report = &rep}), MYR_OK);
  assert_true(world_hash(a) == world_hash(b));
  myr_world_destroy(b);
  /* the table section's payload replaced by a frame: window log 27, no
   * content size, one raw block of one byte */
  static const unsigned char frame[] = {0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x88, 0x09, 0x00, 0x00, 'A'};
  size_t at = section_at(data, size, MYR_SECTION_TABLE), end = section_at(data, size, MYR_SECTION_RESOURCES);
  uint64_t stored = sizeof frame, raw = 1;
  size_t forged_size = at + 40 + sizeof frame + (size - end);
  unsigned char *forged = malloc(forged_size);
  memcpy(forged, data, at + 32);
  memcpy(forged + at + 8, &stored, 8);
  memcpy(forged + at + 16, &raw, 8);
  memcpy(forged + at + 32, frame, sizeof frame);
  memcpy(forged + at + 40 + sizeof frame, data + end, size - end);
  /* the sections after it move: their index stays, their checksums hold */
  reseal(forged, at);
  assert_int_equal(myr_world_create(&(myr_world_desc){{watch_alloc, watch_free, NULL}}, &b), MYR_OK);
  shape before = shape_of(b);
  biggest_ask = 0;
  expect_corrupt(b, &before, forged, forged_size);
  if (biggest_ask > ((size_t)9 << 20)) fail_msg("an allocation of %zu bytes from %zu", biggest_ask, forged_size);
  free(forged);
  myr_world_destroy(b);
  myr_snapshot_free(a, data, size);
  myr_world_destroy(a);
}

/* ---- allocation failures -------------------------------------------------------------- */

static void every_failed_allocation_leaves_the_world(void **state) {
  (void)state;
  for (int z = 0; z < 2; z++) {
    uint32_t flags = z ? MYR_SNAPSHOT_ZSTD : 0;
    check_alloc ca;
    check_alloc_init(&ca);
    scene a = {0};
    assert_int_equal(myr_world_create(&(myr_world_desc){check_alloc_hooks(&ca)}, &a.f.w), MYR_OK);
    scene_register(&a);
    scene_populate(&a, 300, 11);
    unsigned char *good;
    size_t good_size;
    save_mem(a.f.w, flags, &good, &good_size);
    /* saving */
    long k = 0;
    for (;; k++) {
      void *p = NULL;
      size_t n = 0;
      check_alloc_fail_nth(&ca, k);
      myr_status st = myr_snapshot_save_memory(a.f.w, &(myr_snapshot_save_desc){.flags = flags}, &p, &n);
      check_alloc_disarm(&ca);
      if (st == MYR_OK) {
        assert_int_equal(n, good_size);
        assert_memory_equal(p, good, n);
        myr_snapshot_free(a.f.w, p, n);
        break;
      }
      assert_int_equal(st, MYR_ENOMEM);
    }
    assert_true(k >= 1);
    /* loading, into a world with part of the schema */
    myr_world *b;
    assert_int_equal(myr_world_create(&(myr_world_desc){check_alloc_hooks(&ca)}, &b), MYR_OK);
    myr_component pos;
    static const myr_field pf[] = {MYR_FIELD(t_position, x, MYR_F32)};
    assert_int_equal(myr_component_register(b, &(myr_component_desc){"Position", pf, 1, sizeof(t_position)}, &pos),
                     MYR_OK);
    shape before = shape_of(b);
    for (k = 0;; k++) {
      check_alloc_fail_nth(&ca, k);
      myr_status st = myr_snapshot_load_memory(b, good, good_size, NULL);
      check_alloc_disarm(&ca);
      if (st == MYR_OK) break;
      assert_int_equal(st, MYR_ENOMEM);
      assert_shape(b, &before);
    }
    assert_true(k >= 5);
    myr_world_destroy(b);
    myr_snapshot_free(a.f.w, good, good_size);
    myr_world_destroy(a.f.w);
    check_alloc_assert_no_leaks(&ca);
    check_alloc_fini(&ca);
  }
}

/* ---- files ------------------------------------------------------------------------------ */

static char tmp_dir[256];

static int files_setup(void **state) {
  (void)state;
  snprintf(tmp_dir, sizeof tmp_dir, "/tmp/myr_snapshot_XXXXXX");
  return mkdtemp(tmp_dir) ? 0 : -1;
}

static int files_teardown(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static uint32_t files_in(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  uint32_t n = 0;
  for (struct dirent *e; (e = readdir(d));) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void file_round_trip_and_errors(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 3000, 12);
  char path[400];
  snprintf(path, sizeof path, "%s/w.snap", tmp_dir);
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_save_file(a.f.w, path, &(myr_snapshot_save_desc){.meta = "file", .report = &rep}),
                   MYR_OK);
  assert_int_equal(files_in(tmp_dir), 1);
  myr_world *b = new_world();
  assert_int_equal(myr_snapshot_load_file(b, path, NULL), MYR_OK);
  check_same(&a, b);
  myr_world_destroy(b);
  myr_snapshot_info info;
  myr_snapshot_section sections[256];
  assert_int_equal(myr_snapshot_inspect_file(path, &info, sections, 256, NULL), MYR_OK);
  assert_string_equal(info.meta, "file");
  assert_true(info.checksums_ok);
  assert_int_equal(info.format_version, MYR_SNAPSHOT_FORMAT_VERSION);
  assert_int_equal(sections[0].kind, MYR_SECTION_WORLD);
  assert_int_equal(sections[info.section_count - 1].kind, MYR_SECTION_END);

  /* a folder that cannot hold a file: a path under a regular file */
  char bad_path[500];
  snprintf(bad_path, sizeof bad_path, "%s/w.snap/inner.snap", tmp_dir);
  assert_int_equal(myr_snapshot_save_file(a.f.w, bad_path, &(myr_snapshot_save_desc){.report = &rep}), MYR_EIO);
  assert_non_null(strstr(rep.message, bad_path));
  /* a file that is not there, and a folder */
  b = new_world();
  shape before = shape_of(b);
  snprintf(bad_path, sizeof bad_path, "%s/none.snap", tmp_dir);
  assert_int_equal(myr_snapshot_load_file(b, bad_path, &(myr_snapshot_load_desc){.report = &rep}), MYR_EIO);
  assert_non_null(strstr(rep.message, bad_path));
  assert_int_equal(myr_snapshot_load_file(b, tmp_dir, &(myr_snapshot_load_desc){.report = &rep}), MYR_EIO);
  assert_int_equal(myr_snapshot_inspect_file(bad_path, &info, NULL, 0, &rep), MYR_EIO);
  assert_shape(b, &before);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

/* The same refusals when the snapshot is a file, which a load reads once,
 * in order, columns straight into their tables: every flipped byte and
 * every truncation, into a world with part of the schema. */
static void every_flipped_byte_of_a_file_is_refused(void **state) {
  (void)state;
  for (int z = 0; z < 2; z++) {
    scene a;
    scene_make(&a, 40, 16);
    unsigned char *data;
    size_t size;
    save_mem(a.f.w, z ? MYR_SNAPSHOT_ZSTD : 0, &data, &size);
    myr_world *b = new_world();
    scene s2 = {.f.w = b};
    fixture_register(&s2.f);
    shape before = shape_of(b);
    char path[400];
    snprintf(path, sizeof path, "%s/flip.snap", tmp_dir);
    unsigned char *copy = malloc(size);
    for (size_t i = 0; i <= 2 * size; i++) {
      memcpy(copy, data, size);
      size_t n = size;
      if (i < size) copy[i] ^= (unsigned char)(1u << (i % 8));
      else n = i - size; /* then every truncation */
      if (n == size) continue;
      FILE *f = fopen(path, "wb");
      assert_non_null(f);
      assert_int_equal(fwrite(copy, 1, n, f), n);
      fclose(f);
      myr_snapshot_report rep;
      myr_status st = myr_snapshot_load_file(b, path, &(myr_snapshot_load_desc){.report = &rep});
      if (st != MYR_ECORRUPT) fail_msg("byte %zu: %s (%s)", i, myr_status_name(st), rep.message);
      if (!strstr(rep.message, path) || !strstr(rep.message, ": byte ")) fail_msg("message: %s", rep.message);
      assert_shape(b, &before);
    }
    /* and the whole file loads, into the same world */
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
    assert_int_equal(myr_snapshot_load_file(b, path, NULL), MYR_OK);
    myr_world_diff d;
    assert_int_equal(myr_world_diff_compute(a.f.w, b, &d), MYR_OK);
    assert_int_equal(d.differing, 0);
    free(copy);
    myr_snapshot_free(a.f.w, data, size);
    myr_world_destroy(b);
    myr_world_destroy(a.f.w);
  }
}

/* Components skipped: two of the snapshot's tables meet in one of the
 * world's, from a file (rows written ahead of placing them, in two runs). */
static void skipped_components_merge_tables_from_a_file(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 600, 17);
  char path[400];
  snprintf(path, sizeof path, "%s/skip.snap", tmp_dir);
  assert_int_equal(myr_snapshot_save_file(a.f.w, path, NULL), MYR_OK);
  const char *skip[] = {"Label", "Tag"};
  myr_world *b = new_world();
  myr_snapshot_report rep;
  assert_int_equal(
      myr_snapshot_load_file(b, path, &(myr_snapshot_load_desc){.report = &rep, .skip = skip, .skip_count = 2}),
      MYR_OK);
  assert_int_equal(rep.components_skipped, 2);
  myr_component pos;
  assert_int_equal(myr_component_lookup(b, "Position", &pos), MYR_OK);
  uint32_t checked = 0;
  for (uint32_t i = 0; i < 64; i++) {
    t_position pa, pb;
    if (myr_component_get(a.f.w, a.ids[i], a.f.pos, &pa) != MYR_OK) continue;
    assert_int_equal(myr_component_get(b, a.ids[i], pos, &pb), MYR_OK);
    assert_memory_equal(&pa, &pb, sizeof pa);
    checked++;
  }
  assert_true(checked > 10);
  /* every table's padding rows are zero, as the world promises its kernels */
  myr_query *q;
  assert_int_equal(myr_query_create(b, &(myr_query_desc){(myr_term[]){{pos, MYR_TERM_READ}}, 1}, &q), MYR_OK);
  myr_query_iter it;
  myr_chunk ch;
  assert_int_equal(myr_query_iter_init(q, 0, &it), MYR_OK);
  while (myr_query_next(&it, &ch)) {
    const float *x = myr_chunk_column(&ch, 0, 0);
    for (uint32_t r = ch.count; r % 16; r++) assert_true(x[r] == 0.0f);
  }
  myr_query_destroy(q);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

/* A named FIFO loads: the load reads the descriptor it opened (opening the
 * FIFO a second time found its writer gone and the bytes it wrote lost, and
 * blocked for ever; a writer still writing got EPIPE). A small snapshot
 * (in the pipe's buffer at once) and a large one (the writer blocks). The
 * open that would block is interrupted by an alarm, so a regression fails
 * rather than hangs. */
static void on_alarm(int sig) { (void)sig; }

static void a_named_fifo_loads(void **state) {
  (void)state;
  struct sigaction sa = {.sa_handler = on_alarm}, old_sa; /* no SA_RESTART: open() returns EINTR */
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGALRM, &sa, &old_sa), 0);
  for (int big = 0; big < 2; big++) {
    scene a;
    scene_make(&a, big ? 5000 : 20, 71);
    unsigned char *data;
    size_t size;
    save_mem(a.f.w, 0, &data, &size);
    char path[400];
    snprintf(path, sizeof path, "%s/fifo%d", tmp_dir, big);
    assert_int_equal(mkfifo(path, 0600), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) { /* the writer: writes the snapshot, closes, leaves */
      signal(SIGPIPE, SIG_DFL);
      int fd = open(path, O_WRONLY);
      const unsigned char *p = data;
      size_t left = size;
      while (fd >= 0 && left) {
        ssize_t n = write(fd, p, left);
        if (n <= 0) _exit(3);
        p += n;
        left -= (size_t)n;
      }
      _exit(fd >= 0 && close(fd) == 0 ? 0 : 4);
    }
    myr_world *b = new_world();
    myr_snapshot_report rep;
    alarm(10);
    myr_status st = myr_snapshot_load_file(b, path, &(myr_snapshot_load_desc){.report = &rep});
    alarm(0);
    if (st != MYR_OK) kill(pid, SIGKILL);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    if (st != MYR_OK) fail_msg("%s: %s", myr_status_name(st), rep.message);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0); /* the writer saw no EPIPE */
    assert_true(world_hash(b) == world_hash(a.f.w));
    myr_world_destroy(b);
    myr_snapshot_free(a.f.w, data, size);
    myr_world_destroy(a.f.w);
  }
  sigaction(SIGALRM, &old_sa, NULL);
}

/* A file written in place while it loads (a byte appended from inside an
 * allocation of the load, at every allocation in turn) is refused, or
 * loaded whole when the change came after the last read; never a world
 * that is neither. */
static const char *grow_path;
static long grow_at, grow_calls;
static void *growing_alloc(size_t size, size_t align, void *user) {
  (void)user;
  if (grow_path && grow_calls++ == grow_at) {
    FILE *f = fopen(grow_path, "ab");
    if (f) {
      fputc('x', f);
      fclose(f);
    }
  }
  return aligned_alloc(align, (size + align - 1) / align * align);
}

static void a_file_changed_while_loading_is_refused(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 300, 18);
  char path[400];
  snprintf(path, sizeof path, "%s/growing.snap", tmp_dir);
  unsigned char *data;
  size_t size;
  save_mem(a.f.w, 0, &data, &size);
  uint32_t refused = 0;
  for (grow_at = 0;; grow_at++) {
    FILE *f = fopen(path, "wb");
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
    myr_world *b;
    assert_int_equal(myr_world_create(&(myr_world_desc){{growing_alloc, watch_free, NULL}}, &b), MYR_OK);
    uint64_t empty = world_hash(b);
    grow_path = path;
    grow_calls = 0;
    myr_snapshot_report rep;
    myr_status st = myr_snapshot_load_file(b, path, &(myr_snapshot_load_desc){.report = &rep});
    grow_path = NULL;
    bool changed = grow_calls > grow_at;
    if (st == MYR_OK) {
      assert_true(world_hash(b) == world_hash(a.f.w)); /* whole, when the change came after the last check */
    } else {
      assert_int_equal(st, MYR_ECORRUPT);
      assert_true(world_hash(b) == empty && myr_world_entity_count(b) == 0);
      refused++;
    }
    myr_world_destroy(b);
    if (!changed) break; /* the load made fewer allocations than grow_at: done */
  }
  assert_true(refused > 5);
  myr_snapshot_free(a.f.w, data, size);
  myr_world_destroy(a.f.w);
}

/* A full disk: the saving child may write 64 KiB only (SIGXFSZ ignored,
 * so write() fails with EFBIG). The old snapshot stays as it was, and no
 * temporary file is left. */
/* A file name of 250 bytes (NAME_MAX is 255): its temporary file's name
 * must still fit. */
static void a_long_file_name_saves(void **state) {
  (void)state;
  scene a;
  scene_make(&a, 20, 21);
  char path[512];
  int n = snprintf(path, sizeof path, "%s/", tmp_dir);
  memset(path + n, 'w', 250);
  path[n + 250] = '\0';
  myr_snapshot_report rep;
  myr_status st = myr_snapshot_save_file(a.f.w, path, &(myr_snapshot_save_desc){.report = &rep});
  if (st != MYR_OK) fail_msg("%s: %s", myr_status_name(st), rep.message);
  assert_int_equal(files_in(tmp_dir), 1);
  myr_world *b = new_world();
  assert_int_equal(myr_snapshot_load_file(b, path, NULL), MYR_OK);
  assert_true(world_hash(b) == world_hash(a.f.w));
  assert_int_equal(unlink(path), 0);
  myr_world_destroy(b);
  myr_world_destroy(a.f.w);
}

static void full_disk_keeps_the_old_snapshot(void **state) {
  (void)state;
  char path[400];
  snprintf(path, sizeof path, "%s/full.snap", tmp_dir);
  scene small;
  scene_make(&small, 100, 13);
  assert_int_equal(myr_snapshot_save_file(small.f.w, path, NULL), MYR_OK);
  uint64_t old_hash = world_hash(small.f.w);
  myr_world_destroy(small.f.w);
  uint32_t files = files_in(tmp_dir);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    scene big;
    scene_make(&big, 20000, 14);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {65536, 65536};
    setrlimit(RLIMIT_FSIZE, &lim);
    myr_snapshot_report rep;
    myr_status st = myr_snapshot_save_file(big.f.w, path, &(myr_snapshot_save_desc){.report = &rep});
    _exit(st == MYR_EIO && strstr(rep.message, path) ? 0 : 1);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(files_in(tmp_dir), files);
  myr_world *b = new_world();
  assert_int_equal(myr_snapshot_load_file(b, path, NULL), MYR_OK);
  assert_true(world_hash(b) == old_hash);
  myr_world_destroy(b);
}

/* A saver killed with SIGKILL at random moments: after each kill the
 * target loads, and is one of the states saved (state i: salt i). */
static void killed_saver_leaves_a_whole_snapshot(void **state) {
  (void)state;
  char path[400];
  snprintf(path, sizeof path, "%s/killed.snap", tmp_dir);
  enum { STATES = 8, KILLS = 120 };
  uint64_t hashes[STATES];
  for (uint32_t i = 0; i < STATES; i++) {
    scene s;
    scene_make(&s, 4000, 100 + i);
    hashes[i] = world_hash(s.f.w);
    if (i == 0) assert_int_equal(myr_snapshot_save_file(s.f.w, path, NULL), MYR_OK);
    myr_world_destroy(s.f.w);
  }
  /* how long one save takes in this build: kills land within a few saves */
  scene probe;
  scene_make(&probe, 4000, 100);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < 4; i++) assert_int_equal(myr_snapshot_save_file(probe.f.w, path, NULL), MYR_OK);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  myr_world_destroy(probe.f.w);
  long save_ns = ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec)) / 4 + 1;
  uint64_t rng = test_seed(42);
  uint32_t seen[STATES] = {0};
  for (int kill_no = 0; kill_no < KILLS; kill_no++) {
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      scene s[STATES];
      for (uint32_t i = 0; i < STATES; i++) scene_make(&s[i], 4000, 100 + i);
      if (write(ready[1], "r", 1) != 1) _exit(1);
      for (uint32_t i = (uint32_t)kill_no;; i++) myr_snapshot_save_file(s[i % STATES].f.w, path, NULL);
    }
    char r;
    close(ready[1]);
    assert_int_equal(read(ready[0], &r, 1), 1); /* the states are made: the saves begin */
    close(ready[0]);
    long ns = (long)(rng_next(&rng) % (uint64_t)(6 * save_ns)); /* within the first six saves */
    struct timespec t = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&t, NULL);
    kill(pid, SIGKILL);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    myr_world *b = new_world();
    myr_snapshot_report rep;
    myr_status st = myr_snapshot_load_file(b, path, &(myr_snapshot_load_desc){.report = &rep});
    if (st != MYR_OK) fail_msg("after kill %d: %s", kill_no, rep.message);
    uint64_t h = world_hash(b);
    uint32_t which = STATES;
    for (uint32_t i = 0; i < STATES; i++)
      if (hashes[i] == h) which = i;
    if (which == STATES) fail_msg("after kill %d: a state never saved", kill_no);
    seen[which]++;
    myr_world_destroy(b);
  }
  uint32_t distinct = 0;
  for (uint32_t i = 0; i < STATES; i++) distinct += seen[i] != 0;
  assert_true(distinct >= 2); /* the kills did land in the middle of a run of saves */
  /* the temporary files of killed saves are the only leftovers: clean them */
  char cmd[500];
  snprintf(cmd, sizeof cmd, "rm -f '%s'/.killed.snap.tmp.*", tmp_dir);
  assert_int_equal(system(cmd), 0);
}

/* ---- the determinism debugger ------------------------------------------------------------- */

static void diff_names_the_first_difference(void **state) {
  (void)state;
  scene a, b;
  scene_make(&a, 500, 15);
  scene_make(&b, 500, 15);
  myr_world_diff d;
  assert_int_equal(myr_world_diff_compute(a.f.w, b.f.w, &d), MYR_OK);
  assert_int_equal(d.differing, 0);
  /* two entities' health differ, the later first */
  myr_entity e1 = 0, e2 = 0;
  for (uint32_t i = 0; i < 64; i++) {
    if (!myr_component_has(a.f.w, a.ids[i], a.f.health)) continue;
    if (!e1) e1 = a.ids[i];
    else if (!e2) e2 = a.ids[i];
  }
  assert_true(e1 && e2);
  double regen = 0.5;
  assert_int_equal(myr_field_set(b.f.w, e2, b.f.health, 2, MYR_F64, &regen), MYR_OK);
  assert_int_equal(myr_component_remove(b.f.w, e1, b.f.health), MYR_OK);
  assert_int_equal(myr_world_diff_compute(a.f.w, b.f.w, &d), MYR_OK);
  assert_int_equal(d.differing, 2);
  assert_int_equal(d.slot, MYR_ENTITY_INDEX(e1));
  assert_string_equal(d.component, "Health");
  assert_string_equal(d.field, "");
  assert_int_equal(myr_component_add(b.f.w, e1, b.f.health, &(t_health){0}), MYR_OK);
  t_health h;
  assert_int_equal(myr_component_get(a.f.w, e1, a.f.health, &h), MYR_OK);
  assert_int_equal(myr_component_set(b.f.w, e1, b.f.health, &h), MYR_OK);
  assert_int_equal(myr_world_diff_compute(a.f.w, b.f.w, &d), MYR_OK);
  assert_int_equal(d.differing, 1);
  assert_true(d.a == e2 && d.b == e2);
  assert_string_equal(d.field, "regen");
  assert_int_equal(d.type, MYR_F64);
  double va, vb;
  memcpy(&va, d.value_a, 8);
  memcpy(&vb, d.value_b, 8);
  assert_true(va == 0.25 && vb == 0.5);
  memset(myr_resource_data(b.f.w, b.params), 9, 1);
  assert_int_equal(myr_world_diff_compute(a.f.w, b.f.w, &d), MYR_OK);
  assert_true(d.resources_differ);
  assert_string_equal(d.resource, "params");
  assert_false(d.free_list_differs || d.seed_differs || d.clock_differs);
  /* what decides the next ids and draws */
  assert_int_equal(myr_world_set_seed(b.f.w, 5), MYR_OK);
  assert_int_equal(myr_world_set_clock(b.f.w, 78, 1.25), MYR_OK);
  assert_int_equal(myr_world_diff_compute(a.f.w, b.f.w, &d), MYR_OK);
  assert_true(d.seed_differs && d.clock_differs && !d.free_list_differs);
  myr_entity x, y;
  assert_int_equal(myr_entity_create(a.f.w, &x), MYR_OK);
  assert_int_equal(myr_entity_create(a.f.w, &y), MYR_OK);
  assert_int_equal(myr_entity_destroy(a.f.w, x), MYR_OK);
  assert_int_equal(myr_entity_destroy(a.f.w, y), MYR_OK);
  assert_int_equal(myr_entity_create(b.f.w, &x), MYR_OK);
  assert_int_equal(myr_entity_create(b.f.w, &y), MYR_OK);
  assert_int_equal(myr_entity_destroy(b.f.w, y), MYR_OK); /* the other order */
  assert_int_equal(myr_entity_destroy(b.f.w, x), MYR_OK);
  assert_int_equal(myr_world_diff_compute(a.f.w, b.f.w, &d), MYR_OK);
  assert_true(d.free_list_differs);
  myr_world_destroy(a.f.w);
  myr_world_destroy(b.f.w);
}

/* ---- the golden file ------------------------------------------------------------------------- */

/* tests/data/golden.snap was saved by this test on x86-64 from
 * scene_make(&s, 200, 99) with meta "golden". Every build must load it to
 * the same hash, and save the same world to the same bytes. */
#ifndef MYR_GOLDEN_SNAPSHOT
#define MYR_GOLDEN_SNAPSHOT "golden.snap"
#endif

/* Two fields of one name (the world lets a component have them): a world
 * and its loaded copy do not differ. */
static void diff_of_fields_of_one_name(void **state) {
  (void)state;
  myr_world *a = new_world();
  static const myr_field twice[] = {{"x", MYR_U32, 0, 0}, {"x", MYR_U32, 0, 4}};
  myr_component c;
  assert_int_equal(myr_component_register(a, &(myr_component_desc){"C", twice, 2, 8}, &c), MYR_OK);
  uint32_t row[2] = {1, 2};
  myr_entity e;
  assert_int_equal(myr_entity_create_with(a, &c, 1, (const void *const[]){row}, &e), MYR_OK);
  unsigned char *data;
  size_t size;
  save_mem(a, 0, &data, &size);
  myr_world *b = new_world();
  assert_int_equal(myr_snapshot_load_memory(b, data, size, NULL), MYR_OK);
  myr_world_diff d;
  assert_int_equal(myr_world_diff_compute(a, b, &d), MYR_OK);
  assert_int_equal(d.differing, 0);
  /* a field only b's component has is a difference, either way round */
  myr_world *c2 = new_world();
  static const myr_field once[] = {{"x", MYR_U32, 0, 0}};
  myr_component c1;
  assert_int_equal(myr_component_register(c2, &(myr_component_desc){"C", once, 1, 4}, &c1), MYR_OK);
  assert_int_equal(myr_entity_create_with(c2, &c1, 1, (const void *const[]){row}, &e), MYR_OK);
  assert_int_equal(myr_world_diff_compute(c2, a, &d), MYR_OK);
  assert_int_equal(d.differing, 1);
  assert_string_equal(d.component, "C");
  assert_string_equal(d.field, "x");
  assert_int_equal(myr_world_diff_compute(a, c2, &d), MYR_OK);
  assert_int_equal(d.differing, 1);
  myr_world_destroy(c2);
  /* and a real difference in the second one is found */
  row[1] = 3;
  assert_int_equal(myr_component_set(b, e, c, row), MYR_OK);
  assert_int_equal(myr_world_diff_compute(a, b, &d), MYR_OK);
  assert_int_equal(d.differing, 1);
  myr_snapshot_free(a, data, size);
  myr_world_destroy(b);
  myr_world_destroy(a);
}

static void golden_file(void **state) {
  (void)state;
  scene s;
  scene_make(&s, 200, 99);
  unsigned char *data;
  size_t size;
  myr_snapshot_report rep;
  assert_int_equal(myr_snapshot_save_memory(s.f.w, &(myr_snapshot_save_desc){.meta = "golden", .report = &rep},
                                            (void **)&data, &size),
                   MYR_OK);
  FILE *f = fopen(MYR_GOLDEN_SNAPSHOT, "rb");
  if (!f && getenv("MYR_WRITE_GOLDEN")) {
    f = fopen(MYR_GOLDEN_SNAPSHOT, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
    fail_msg("wrote %s: commit it", MYR_GOLDEN_SNAPSHOT);
  }
  if (!f) fail_msg("%s: %s (MYR_WRITE_GOLDEN=1 writes it)", MYR_GOLDEN_SNAPSHOT, strerror(errno));
  unsigned char *golden = malloc(size + 1);
  size_t n = fread(golden, 1, size + 1, f);
  fclose(f);
  assert_int_equal(n, size);
  assert_memory_equal(golden, data, size);
  myr_world *b = new_world();
  assert_int_equal(myr_snapshot_load_file(b, MYR_GOLDEN_SNAPSHOT, NULL), MYR_OK);
  assert_true(world_hash(b) == world_hash(s.f.w));
#ifdef MYR_GOLDEN_HASH
  assert_true(world_hash(b) == MYR_GOLDEN_HASH);
#endif
  free(golden);
  myr_snapshot_free(s.f.w, data, size);
  myr_world_destroy(b);
  myr_world_destroy(s.f.w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_plain),
      cmocka_unit_test(round_trip_zstd),
      cmocka_unit_test(into_a_world_set_up_first),
      cmocka_unit_test(fields_added_dropped_and_reordered),
      cmocka_unit_test(changed_types_refused_unless_converted),
      cmocka_unit_test(every_listed_widening_converts),
      cmocka_unit_test(a_name_too_long_is_refused_when_saving),
      cmocka_unit_test(unnamed_fields_match_by_position),
      cmocka_unit_test(resource_of_another_size_refused),
      cmocka_unit_test(refuses_a_world_with_entities_and_bad_arguments),
      cmocka_unit_test(streams),
      cmocka_unit_test(a_stream_takes_one_snapshot),
      cmocka_unit_test(every_flipped_byte_is_refused),
      cmocka_unit_test(every_truncation_is_refused),
      cmocka_unit_test(absurd_counts_are_refused_before_allocating),
      cmocka_unit_test(a_zstd_window_the_file_cannot_back_is_refused),
      cmocka_unit_test(every_failed_allocation_leaves_the_world),
      cmocka_unit_test_setup_teardown(file_round_trip_and_errors, files_setup, files_teardown),
      cmocka_unit_test_setup_teardown(a_long_file_name_saves, files_setup, files_teardown),
      cmocka_unit_test_setup_teardown(every_flipped_byte_of_a_file_is_refused, files_setup, files_teardown),
      cmocka_unit_test_setup_teardown(skipped_components_merge_tables_from_a_file, files_setup, files_teardown),
      cmocka_unit_test_setup_teardown(a_named_fifo_loads, files_setup, files_teardown),
      cmocka_unit_test_setup_teardown(a_file_changed_while_loading_is_refused, files_setup, files_teardown),
      cmocka_unit_test_setup_teardown(full_disk_keeps_the_old_snapshot, files_setup, files_teardown),
      cmocka_unit_test_setup_teardown(killed_saver_leaves_a_whole_snapshot, files_setup, files_teardown),
      cmocka_unit_test(diff_names_the_first_difference),
      cmocka_unit_test(diff_of_fields_of_one_name),
      cmocka_unit_test(golden_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
