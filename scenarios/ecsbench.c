/* ecsbench: the systems updates of the public C++ ECS benchmark suite
 * abeimler/ecs_benchmark, on myriad's columns. Its "2 systems" update runs
 * MovementSystem and DataSystem; its "7 systems" update adds
 * MoreComplexSystem, HealthSystem, DamageSystem, SpriteSystem and
 * RenderSystem, in that order. The rules below follow the suite's
 * src/base/base/systems/ headers and its hero/monster entity factory:
 *
 *   movement      Position += Velocity * dt;
 *   data          thingy = (thingy + 1) % 1000000, dingy += 0.0001 * dt,
 *                 mingy = !mingy, numgy = the next xoshiro128** number;
 *   more_complex  on every tenth thingy, a new velocity from the entity's
 *                 xoshiro128** (range(3, 19) - 10 and range(0, 5), x and y
 *                 swapped when x <= y);
 *   health        Spawn/Dead/Alive from hp and maxhp, hp clamped;
 *   damage        hp -= atk - def when hp and atk - def are positive, to 0
 *                 at least;
 *   sprite        the character from the player type and health status;
 *   render        each sprite's character into a 320x240 frame buffer (a
 *                 resource, so in the world hash) at (int)position, clipped.
 *
 * Components: Position {x, y f32}, Velocity {x, y f32}, Data {thingy i32,
 * dingy f64 (a double, as in the suite), mingy u8 (its bool), numgy u32,
 * s0..s3 u32: the xoshiro128** state}, Player {type u8: NPC, Monster, Hero},
 * Health {hp, maxhp i32, status u8: Spawn, Dead, Alive}, Damage {atk, def
 * i32}, Sprite {character u8}.
 *
 * Entities: every one has Position, Velocity and Data; in ecsbench (the 7
 * systems) half of them also have Player, Health, Damage and Sprite, with
 * the suite's odds (3% NPC, 27% hero, 70% monster) and stat ranges, hp 0
 * and status Spawn as its factory leaves them. Every random number comes
 * from a splitmix64 stream of the seed and the entity's index (the slot of
 * its id), so a run is the same for any thread count and chunk size, and
 * every entity's xoshiro128** state is its own. Where the suite differs:
 * it seeds every Data's generator alike and starts every thingy at 0, so
 * more_complex fires for all entities on the same frame, one in ten; here
 * thingy starts at 0..9 from the entity's stream, so a tenth of them fire
 * every frame and frames cost the same. Positions start anywhere in the
 * suite's spawn area, [-100, 320] x [-100, 240], velocities at its (1, 1).
 *
 * Render is MYR_SYSTEM_WHOLE: one job draws every table's rows in order, so
 * where several sprites hit one pixel the last in a serial run wins, for any
 * thread count. Its begin hook clears the frame to spaces first, so the
 * frame (and the hash) shows this frame's sprites only. */
#include <stdlib.h>
#include <string.h>

#include "myriad/simd.h"
#include "scenarios_impl.h"

enum { FRAME_W = 320, FRAME_H = 240 };
enum { NPC, MONSTER, HERO }; /* the suite's PlayerType order */
enum { SPAWN, DEAD, ALIVE }; /* its StatusEffect order */

typedef struct {
  float x, y;
} vec2;
typedef struct data {
  int32_t thingy;
  double dingy;
  uint8_t mingy;
  uint32_t numgy;
  uint32_t s0, s1, s2, s3;
} data;
typedef struct {
  uint8_t type;
} player;
typedef struct {
  int32_t hp, maxhp;
  uint8_t status;
} health;
typedef struct {
  int32_t atk, def;
} damage;
typedef struct {
  uint8_t character;
} sprite;

typedef struct bench {
  myr_component pos, vel, data, player, health, damage, sprite;
  myr_resource frame;
  bool seven; /* the 7-system update, or the 2 */
} bench;

/* ---- xoshiro128** 1.1 (Blackman and Vigna), on one entity's state ---------- */

typedef struct xoshiro {
  uint32_t s[4];
} xoshiro;

static inline uint32_t rotl(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static inline uint32_t xoshiro_next(xoshiro *x) {
  const uint32_t result = rotl(x->s[1] * 5, 7) * 9, t = x->s[1] << 9;
  x->s[2] ^= x->s[0];
  x->s[3] ^= x->s[1];
  x->s[1] ^= x->s[2];
  x->s[0] ^= x->s[3];
  x->s[2] ^= t;
  x->s[3] = rotl(x->s[3], 11);
  return result;
}

/* in [lo, hi], by modulo as the suite's range() does */
static inline uint32_t xoshiro_range(xoshiro *x, uint32_t lo, uint32_t hi) {
  return xoshiro_next(x) % (hi - lo + 1) + lo;
}

/* The Data columns of a chunk (term `t`), and one row's generator in and out. */
typedef struct data_cols {
  int32_t *thingy;
  double *dingy;
  uint8_t *mingy;
  uint32_t *numgy, *s[4];
} data_cols;

static data_cols data_columns(const myr_chunk *c, uint32_t t) {
  data_cols d = {myr_chunk_i32(c, t, 0), myr_chunk_f64(c, t, 1), myr_chunk_u8(c, t, 2), myr_chunk_u32(c, t, 3), {NULL}};
  for (uint32_t k = 0; k < 4; k++) d.s[k] = myr_chunk_u32(c, t, 4 + k);
  return d;
}

static inline xoshiro xoshiro_load(const data_cols *d, uint32_t i) {
  return (xoshiro){{d->s[0][i], d->s[1][i], d->s[2][i], d->s[3][i]}};
}

static inline void xoshiro_store(const data_cols *d, uint32_t i, const xoshiro *x) {
  for (int k = 0; k < 4; k++) d->s[k][i] = x->s[k];
}

/* ---- the 2-system update ----------------------------------------------------- */

static void movement(const myr_view *v, myr_patches *p) {
  (void)p;
  float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1);
  const float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1);
  const float dt = (float)v->dt;
  MYR_FOR_ROWS(i, &v->chunk) {
    px[i] += vx[i] * dt;
    py[i] += vy[i] * dt;
  }
}

static void data_update(const myr_view *v, myr_patches *p) {
  (void)p;
  const data_cols d = data_columns(&v->chunk, 0);
  const double step = 0.0001 * v->dt;
  MYR_FOR_ROWS(i, &v->chunk) {
    d.thingy[i] = (d.thingy[i] + 1) % 1000000;
    d.dingy[i] += step;
    d.mingy[i] = !d.mingy[i];
    xoshiro x = xoshiro_load(&d, i);
    d.numgy[i] = xoshiro_next(&x);
    xoshiro_store(&d, i, &x);
  }
}

/* The same two in vectors (simd.h): whole vectors over the chunk, no tail.
 * data's f64 and u8 fields stay scalar, in the same pass; its thingy step is (t + 1) % 10^6
 * for the 0..999999 it always holds, as a compare and a select. */
static void movement_simd(const myr_view *v, myr_patches *p) {
  (void)p;
  float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1);
  const float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1);
  const myr_f32v dt = myr_f32v_set1((float)v->dt);
  MYR_FOR_VECTORS(i, &v->chunk) {
    myr_f32v_store(px + i, myr_f32v_add(myr_f32v_load(px + i), myr_f32v_mul(myr_f32v_load(vx + i), dt)));
    myr_f32v_store(py + i, myr_f32v_add(myr_f32v_load(py + i), myr_f32v_mul(myr_f32v_load(vy + i), dt)));
  }
}

static inline myr_i32v rotl_v(myr_i32v x, int k) { return myr_i32v_or(myr_i32v_sll(x, k), myr_u32v_srl(x, 32 - k)); }

static void data_simd(const myr_view *v, myr_patches *p) {
  (void)p;
  const data_cols d = data_columns(&v->chunk, 0);
  const double step = 0.0001 * v->dt;
  const myr_i32v one = myr_i32v_set1(1), wrap = myr_i32v_set1(1000000), zero = myr_i32v_set1(0);
  const myr_i32v five = myr_i32v_set1(5), nine = myr_i32v_set1(9);
  MYR_FOR_VECTORS(i, &v->chunk) {
    myr_i32v t = myr_i32v_add(myr_i32v_load(d.thingy + i), one);
    myr_i32v_store(d.thingy + i, myr_i32v_select(myr_i32v_eq(t, wrap), zero, t));
    myr_i32v s0 = myr_u32v_load(d.s[0] + i), s1 = myr_u32v_load(d.s[1] + i);
    myr_i32v s2 = myr_u32v_load(d.s[2] + i), s3 = myr_u32v_load(d.s[3] + i);
    myr_u32v_store(d.numgy + i, myr_i32v_mul(rotl_v(myr_i32v_mul(s1, five), 7), nine));
    const myr_i32v sh = myr_i32v_sll(s1, 9);
    s2 = myr_i32v_xor(s2, s0);
    s3 = myr_i32v_xor(s3, s1);
    s1 = myr_i32v_xor(s1, s2);
    s0 = myr_i32v_xor(s0, s3);
    s2 = myr_i32v_xor(s2, sh);
    s3 = rotl_v(s3, 11);
    myr_u32v_store(d.s[0] + i, s0);
    myr_u32v_store(d.s[1] + i, s1);
    myr_u32v_store(d.s[2] + i, s2);
    myr_u32v_store(d.s[3] + i, s3);
    for (uint32_t k = i; k < i + MYR_SIMD_WIDTH; k++) { /* in the same pass; padding rows past the count too */
      d.dingy[k] += step;
      d.mingy[k] = !d.mingy[k];
    }
  }
}

/* ---- the other five of the 7-system update ------------------------------------ */

static void more_complex(const myr_view *v, myr_patches *p) {
  (void)p;
  const float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1);
  float *vx = myr_chunk_f32(&v->chunk, 1, 0), *vy = myr_chunk_f32(&v->chunk, 1, 1);
  const data_cols d = data_columns(&v->chunk, 2);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (d.thingy[i] % 10 != 0) continue;
    xoshiro x = xoshiro_load(&d, i);
    if (px[i] > py[i]) { /* one draw a statement: x's before y's */
      vx[i] = (float)xoshiro_range(&x, 3, 19) - 10.0f;
      vy[i] = (float)xoshiro_range(&x, 0, 5);
    } else {
      vx[i] = (float)xoshiro_range(&x, 0, 5);
      vy[i] = (float)xoshiro_range(&x, 3, 19) - 10.0f;
    }
    xoshiro_store(&d, i, &x);
  }
}

static void health_update(const myr_view *v, myr_patches *p) {
  (void)p;
  int32_t *hp = myr_chunk_i32(&v->chunk, 0, 0);
  const int32_t *maxhp = myr_chunk_i32(&v->chunk, 0, 1);
  uint8_t *status = myr_chunk_u8(&v->chunk, 0, 2);
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    if (hp[i] <= 0 && status[i] != DEAD) {
      hp[i] = 0;
      status[i] = DEAD;
    } else if (status[i] == DEAD && hp[i] == 0) {
      hp[i] = maxhp[i];
      status[i] = SPAWN;
    } else if (hp[i] >= maxhp[i] && status[i] != ALIVE) {
      hp[i] = maxhp[i];
      status[i] = ALIVE;
    } else {
      status[i] = ALIVE;
    }
  }
}

static void damage_update(const myr_view *v, myr_patches *p) {
  (void)p;
  int32_t *hp = myr_chunk_i32(&v->chunk, 0, 0);
  const int32_t *atk = myr_chunk_i32(&v->chunk, 1, 0), *def = myr_chunk_i32(&v->chunk, 1, 1);
  MYR_FOR_ROWS(i, &v->chunk) {
    const int32_t total = atk[i] - def[i], left = hp[i] - total;
    if (hp[i] > 0 && total > 0) hp[i] = left > 0 ? left : 0;
  }
}

static void damage_simd(const myr_view *v, myr_patches *p) {
  (void)p;
  int32_t *hp = myr_chunk_i32(&v->chunk, 0, 0);
  const int32_t *atk = myr_chunk_i32(&v->chunk, 1, 0), *def = myr_chunk_i32(&v->chunk, 1, 1);
  const myr_i32v zero = myr_i32v_set1(0);
  MYR_FOR_VECTORS(i, &v->chunk) {
    const myr_i32v h = myr_i32v_load(hp + i), total = myr_i32v_sub(myr_i32v_load(atk + i), myr_i32v_load(def + i));
    const myr_mask hit = myr_mask_and(myr_i32v_gt(h, zero), myr_i32v_gt(total, zero));
    myr_i32v_store(hp + i, myr_i32v_select(hit, myr_i32v_max(myr_i32v_sub(h, total), zero), h));
  }
}

static void sprite_update(const myr_view *v, myr_patches *p) {
  (void)p;
  uint8_t *character = myr_chunk_u8(&v->chunk, 0, 0);
  const uint8_t *type = myr_chunk_u8(&v->chunk, 1, 0), *status = myr_chunk_u8(&v->chunk, 2, 2);
  static const uint8_t alive[] = {[NPC] = 'h', [MONSTER] = 'k', [HERO] = '@'};
  for (uint32_t i = 0; i < v->chunk.count; i++) {
    uint8_t c = ' ';
    if (status[i] == ALIVE && type[i] <= HERO) c = alive[type[i]];
    else if (status[i] == DEAD) c = '|';
    else if (status[i] == SPAWN) c = '_';
    character[i] = c;
  }
}

static void frame_clear(const myr_view *v, myr_patches *p) {
  (void)p;
  memset(v->resources[0], ' ', FRAME_W * FRAME_H);
}

static void render(const myr_view *v, myr_patches *p) {
  (void)p;
  uint8_t *frame = v->resources[0];
  const float *px = myr_chunk_f32(&v->chunk, 0, 0), *py = myr_chunk_f32(&v->chunk, 0, 1);
  const uint8_t *character = myr_chunk_u8(&v->chunk, 1, 0);
  for (uint32_t i = 0; i < v->chunk.count; i++)
    /* (int) truncates toward 0, as the suite's cast does: -1 < x < 0 draws
     * in column 0; the comparisons first keep the cast in range */
    if (px[i] > -1.0f && px[i] < (float)FRAME_W && py[i] > -1.0f && py[i] < (float)FRAME_H)
      frame[(size_t)(int)py[i] * FRAME_W + (size_t)(int)px[i]] = character[i];
}

/* ---- setting up ---------------------------------------------------------------- */

static myr_status register_components(myr_world *w, bench *b) {
  static const myr_field v2[] = {MYR_FIELD(vec2, x, MYR_F32), MYR_FIELD(vec2, y, MYR_F32)};
  static const myr_field df[] = {MYR_FIELD(data, thingy, MYR_I32), MYR_FIELD(data, dingy, MYR_F64),
                                 MYR_FIELD(data, mingy, MYR_U8),   MYR_FIELD(data, numgy, MYR_U32),
                                 MYR_FIELD(data, s0, MYR_U32),     MYR_FIELD(data, s1, MYR_U32),
                                 MYR_FIELD(data, s2, MYR_U32),     MYR_FIELD(data, s3, MYR_U32)};
  static const myr_field pf[] = {MYR_FIELD(player, type, MYR_U8)};
  static const myr_field hf[] = {MYR_FIELD(health, hp, MYR_I32), MYR_FIELD(health, maxhp, MYR_I32),
                                 MYR_FIELD(health, status, MYR_U8)};
  static const myr_field af[] = {MYR_FIELD(damage, atk, MYR_I32), MYR_FIELD(damage, def, MYR_I32)};
  static const myr_field sf[] = {MYR_FIELD(sprite, character, MYR_U8)};
  const struct {
    const char *name;
    const myr_field *fields;
    uint32_t count;
    size_t size;
    myr_component *out;
  } c[] = {
      {"Position", v2, 2, sizeof(vec2), &b->pos},    {"Velocity", v2, 2, sizeof(vec2), &b->vel},
      {"Data", df, 8, sizeof(data), &b->data},       {"Player", pf, 1, sizeof(player), &b->player},
      {"Health", hf, 3, sizeof(health), &b->health}, {"Damage", af, 2, sizeof(damage), &b->damage},
      {"Sprite", sf, 1, sizeof(sprite), &b->sprite},
  };
  myr_status st = MYR_OK;
  for (size_t i = 0; i < sizeof c / sizeof *c && st == MYR_OK; i++)
    st = myr_component_register(w, &(myr_component_desc){c[i].name, c[i].fields, c[i].count, c[i].size}, c[i].out);
  return st;
}

/* One chunk's columns of the entities being set up: Position, Velocity,
 * Data, then (players only) Player, Health, Damage, Sprite. */
typedef struct group {
  float *px, *py, *vx, *vy;
  data_cols d;
  uint8_t *type;
  int32_t *hp, *maxhp;
  uint8_t *status;
  int32_t *atk, *def;
  uint8_t *character;
} group;

static group group_of(const myr_chunk *c, bool players) {
  group g = {myr_chunk_f32(c, 0, 0),
             myr_chunk_f32(c, 0, 1),
             myr_chunk_f32(c, 1, 0),
             myr_chunk_f32(c, 1, 1),
             data_columns(c, 2),
             NULL,
             NULL,
             NULL,
             NULL,
             NULL,
             NULL,
             NULL};
  if (!players) return g;
  g.type = myr_chunk_u8(c, 3, 0);
  g.hp = myr_chunk_i32(c, 4, 0);
  g.maxhp = myr_chunk_i32(c, 4, 1);
  g.status = myr_chunk_u8(c, 4, 2);
  g.atk = myr_chunk_i32(c, 5, 0);
  g.def = myr_chunk_i32(c, 5, 1);
  g.character = myr_chunk_u8(c, 6, 0);
  return g;
}

/* in [lo, hi] from the entity's splitmix64 stream */
static uint32_t stream_range(uint64_t *r, uint32_t lo, uint32_t hi) {
  return (uint32_t)(scn_next(r) % (hi - lo + 1)) + lo;
}

/* Row `row` of g: the entity of index `index` (its id's slot), all from its
 * own stream, in one fixed order of draws. */
static void entity_init(const group *g, uint32_t row, uint64_t seed, uint32_t index, bool players) {
  uint64_t r = seed * 0xd1342543de82ef95ull + index;
  uint64_t a = scn_next(&r), b = scn_next(&r);
  xoshiro x = {{(uint32_t)a, (uint32_t)(a >> 32), (uint32_t)b, (uint32_t)(b >> 32)}};
  if (!(x.s[0] | x.s[1] | x.s[2] | x.s[3])) x.s[0] = 1; /* xoshiro's one bad state */
  g->d.numgy[row] = xoshiro_next(&x);                   /* as the suite's Data constructor does */
  xoshiro_store(&g->d, row, &x);
  g->d.thingy[row] = (int32_t)stream_range(&r, 0, 9);
  g->d.dingy[row] = 0.0;
  g->d.mingy[row] = 0;
  g->px[row] = (float)stream_range(&r, 0, 420) - 100.0f;
  g->py[row] = (float)stream_range(&r, 0, 340) - 100.0f;
  g->vx[row] = g->vy[row] = 1.0f;
  if (!players) return;
  const uint32_t rate = stream_range(&r, 1, 100);
  const uint8_t type = rate <= 3 ? NPC : rate <= 30 ? HERO : MONSTER;
  static const uint32_t stats[3][6] = {/* maxhp, def, atk: lowest and highest */
                                       [NPC] = {6, 12, 3, 8, 0, 0},
                                       [MONSTER] = {4, 12, 2, 8, 3, 9},
                                       [HERO] = {5, 15, 2, 6, 4, 10}};
  const uint32_t *s = stats[type];
  g->type[row] = type;
  g->maxhp[row] = (int32_t)stream_range(&r, s[0], s[1]);
  g->def[row] = (int32_t)stream_range(&r, s[2], s[3]);
  g->atk[row] = type == NPC ? 0 : (int32_t)stream_range(&r, s[4], s[5]);
  g->hp[row] = 0;
  g->status[row] = SPAWN;
  g->character[row] = '_';
}

/* `count` entities, players or not, created with zeros in one call and then
 * filled in place through a query that sees only their table: nothing is
 * allocated beside the world's own columns. */
static myr_status make_group(myr_world *w, const bench *b, uint32_t count, uint64_t seed, bool players) {
  const myr_component set[] = {b->pos, b->vel, b->data, b->player, b->health, b->damage, b->sprite};
  myr_status st = myr_entity_create_bulk(
      w, &(myr_bulk_desc){.components = set, .component_count = players ? 7 : 3, .count = count});
  myr_term terms[7];
  for (int k = 0; k < 7; k++) terms[k] = (myr_term){set[k], k < 3 || players ? MYR_TERM_WRITE : MYR_TERM_WITHOUT};
  myr_query *q = NULL;
  myr_query_iter it;
  myr_chunk c;
  if (st == MYR_OK) st = myr_query_create(w, &(myr_query_desc){terms, 7}, &q);
  if (st == MYR_OK) st = myr_query_iter_init(q, 0, &it);
  while (st == MYR_OK && myr_query_next(&it, &c)) {
    const group g = group_of(&c, players);
    for (uint32_t i = 0; i < c.count; i++) entity_init(&g, i, seed, MYR_ENTITY_INDEX(c.ids[i]), players);
  }
  myr_query_destroy(q);
  return st;
}

/* n entities: with players, the first half (entity indices 0 to (n+1)/2 - 1)
 * are players, in one table, and the rest not, in another; without, all in
 * one table. */
static myr_status make_entities(myr_world *w, const bench *b, uint32_t n, uint64_t seed, bool players) {
  myr_status st = make_group(w, b, players ? (n + 1) / 2 : n, seed, players);
  if (st == MYR_OK && players && n / 2) st = make_group(w, b, n / 2, seed, false);
  return st;
}

/* Calls `each` on the descriptions of the update's systems, in order (2 or 7). */
static myr_status each_system(const bench *b, bool seven, bool simd,
                              myr_status (*each)(void *ctx, const myr_system_desc *desc), void *ctx) {
  const myr_system_desc systems[] = {
      {.name = "movement",
       .terms = (myr_term[]){{b->pos, MYR_TERM_WRITE}, {b->vel, MYR_TERM_READ}},
       .term_count = 2,
       .fn = simd ? movement_simd : movement},
      {.name = "data",
       .terms = (myr_term[]){{b->data, MYR_TERM_WRITE}},
       .term_count = 1,
       .fn = simd ? data_simd : data_update},
      {.name = "more_complex",
       .terms = (myr_term[]){{b->pos, MYR_TERM_READ}, {b->vel, MYR_TERM_WRITE}, {b->data, MYR_TERM_WRITE}},
       .term_count = 3,
       .fn = more_complex},
      {.name = "health", .terms = (myr_term[]){{b->health, MYR_TERM_WRITE}}, .term_count = 1, .fn = health_update},
      {.name = "damage",
       .terms = (myr_term[]){{b->health, MYR_TERM_WRITE}, {b->damage, MYR_TERM_READ}},
       .term_count = 2,
       .fn = simd ? damage_simd : damage_update},
      {.name = "sprite",
       .terms = (myr_term[]){{b->sprite, MYR_TERM_WRITE}, {b->player, MYR_TERM_READ}, {b->health, MYR_TERM_READ}},
       .term_count = 3,
       .fn = sprite_update},
      {.name = "render",
       .terms = (myr_term[]){{b->pos, MYR_TERM_READ}, {b->sprite, MYR_TERM_READ}},
       .term_count = 2,
       .fn = render,
       .begin = frame_clear,
       .flags = MYR_SYSTEM_WHOLE,
       .resources = (myr_resource_term[]){{b->frame, MYR_TERM_WRITE}},
       .resource_count = 1},
  };
  myr_status st = MYR_OK;
  for (size_t i = 0; i < (seven ? 7u : 2u) && st == MYR_OK; i++) st = each(ctx, &systems[i]);
  return st;
}

static myr_status add_one(void *schedule, const myr_system_desc *desc) {
  return myr_schedule_add(schedule, desc, NULL);
}

static myr_status add_systems(myr_schedule *s, const bench *b, bool seven, bool simd) {
  return each_system(b, seven, simd, add_one, s);
}

/* ---- the same functions called directly (scn_direct_create) ------------------- */

typedef struct direct_call {
  myr_system_fn fn, begin;
  void *user;
  myr_query *query;
  void *resources[1];
  uint32_t first, count; /* its chunks in scn_direct.chunks */
} direct_call;

struct scn_direct {
  const myr_world *world;
  uint32_t calls;
  direct_call call[7];
  myr_chunk chunks[16]; /* whole tables: 2 at most per system */
  uint32_t chunk_count;
};

static myr_status direct_add(void *ctx, const myr_system_desc *desc) {
  scn_direct *d = ctx;
  direct_call *c = &d->call[d->calls++];
  *c = (direct_call){.fn = desc->fn, .begin = desc->begin, .user = desc->user, .first = d->chunk_count};
  if (desc->resource_count) c->resources[0] = myr_resource_data((myr_world *)d->world, desc->resources[0].resource);
  myr_status st = myr_query_create((myr_world *)d->world, &(myr_query_desc){desc->terms, desc->term_count}, &c->query);
  myr_query_iter it;
  if (st == MYR_OK) st = myr_query_iter_init(c->query, 0, &it);
  myr_chunk chunk;
  while (st == MYR_OK && myr_query_next(&it, &chunk)) {
    if (d->chunk_count == sizeof d->chunks / sizeof *d->chunks) return MYR_ELIMIT;
    d->chunks[d->chunk_count++] = chunk;
  }
  c->count = d->chunk_count - c->first;
  return st;
}

static myr_status direct_create(scn_scenario *sc, scn_direct **out) {
  const bench *b = sc->state;
  scn_direct *d = calloc(1, sizeof *d);
  if (!d) return MYR_ENOMEM;
  d->world = sc->world;
  myr_status st = each_system(b, b->seven, sc->kernels == SCN_SIMD, direct_add, d);
  if (st != MYR_OK) {
    scn_direct_destroy(d);
    return st;
  }
  *out = d;
  return MYR_OK;
}

void scn_direct_run(scn_direct *d, double dt) {
  for (uint32_t k = 0; k < d->calls; k++) {
    const direct_call *c = &d->call[k];
    myr_view v = {.dt = dt, .user = c->user, .system = k, .resources = c->resources, .world = d->world};
    if (c->begin) c->begin(&v, NULL);
    for (uint32_t i = c->first; i < c->first + c->count; i++) {
      v.chunk = d->chunks[i];
      c->fn(&v, NULL);
    }
  }
}

void scn_direct_destroy(scn_direct *d) {
  if (!d) return;
  for (uint32_t k = 0; k < d->calls; k++) myr_query_destroy(d->call[k].query);
  free(d);
}

static myr_status ecsbench(scn_scenario *sc, uint32_t n, uint64_t seed, bool seven) {
  bench *b = calloc(1, sizeof *b);
  if (!b) return MYR_ENOMEM;
  sc->state = b;
  sc->free_state = free;
  sc->direct = direct_create;
  b->seven = seven;
  myr_world *w = sc->world;
  myr_status st = register_components(w, b);
  if (st == MYR_OK && seven)
    st = myr_resource_register(w, &(myr_resource_desc){.name = "FrameBuffer", .size = FRAME_W * FRAME_H, .align = 64},
                               &b->frame);
  if (st == MYR_OK && seven) memset(myr_resource_data(w, b->frame), ' ', FRAME_W * FRAME_H);
  if (st == MYR_OK) st = sc->populate ? sc->populate(w, sc->populate_ctx) : make_entities(w, b, n, seed, seven);
  return st == MYR_OK ? add_systems(sc->schedule, b, seven, sc->kernels == SCN_SIMD) : st;
}

myr_status scn_ecsbench(scn_scenario *sc, uint32_t n, uint64_t seed) { return ecsbench(sc, n, seed, true); }
myr_status scn_ecsbench2(scn_scenario *sc, uint32_t n, uint64_t seed) { return ecsbench(sc, n, seed, false); }
