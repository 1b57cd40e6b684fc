/* Private to the patch part: what planning a batch hands to applying it
 * (plan.c and apply.c). */
#ifndef MYRIAD_PATCH_PLAN_H
#define MYRIAD_PATCH_PLAN_H

#include "patch_impl.h"

#define NONE_PLAN UINT32_MAX

/* What the merge plans for one entity touched by a structural patch. Kept
 * small: the apply passes walk these arrays, and at a million patches each
 * byte of a plan is a megabyte of memory traffic per pass. The component
 * set lives apart, in sets[], as only planning and reserving need it, and
 * only as many words of it as the world has components for. */
typedef struct plan {
  myr_entity named; /* the id the patches use: real or provisional */
  myr_entity real;  /* the real id (resolved for spawns in the apply pass) */
  uint32_t src;     /* table before the batch, NO_TABLE for a spawn */
  uint32_t dst;     /* table after the batch, NO_TABLE if none */
  uint32_t row;     /* an existing entity's row in src (planning); a spawn's row in dst (applying) */
  uint8_t spawned, destroyed;
} plan;

typedef struct patch_scratch {
  plan *plans;
  uint64_t *sets; /* per plan, `words` words: the set after the patches so far */
  /* per plan, `words` words: the components a first-wins set of the batch
   * took so far; made and zeroed on the batch's first such set */
  uint64_t *firsts;
  uint32_t firsts_cap;
  bool firsts_live;
  uint32_t words; /* words of a set in use: components / 64, rounded up */
  uint32_t plan_count, plan_cap, set_cap;
  /* Plan index by entity slot. Never cleared: an entry counts only if it
   * points at a plan of this batch for that very id, so stale entries from
   * earlier batches are harmless. */
  uint32_t *by_slot;
  uint32_t slot_cap;
  /* The plans of the batch's spawns in planning (key) order, which is the
   * order of their provisional ids: a provisional id is found by bisection. */
  uint32_t *spawn_order;
  uint32_t spawn_seen, spawn_cap;
  /* plan indices by what happens to them, in plan order */
  uint32_t *destroys, *moves, *spawns;
  uint32_t destroy_count, move_count, spawn_count, list_cap[3];
  uint32_t *rows; /* rows needed per table; then bucket offsets */
  uint32_t rows_cap;
  world_row *refs, *bucketed; /* rows to move or destroy, in plan order; the world's scratch */
  uint32_t refs_cap, bucketed_cap;
  int32_t *colmap; /* per destination column, the source column */
  uint32_t colmap_cap;
  uint32_t *work; /* 3 words per plan: the row operations' work space */
  uint32_t work_cap;
  const world_par *par; /* the batch's threads (NULL: this one alone) */
  uint64_t values;      /* applied patches that carry values to write */
} patch_scratch;

/* The plan of a provisional id of the batch, NONE_PLAN if none. */
static inline uint32_t spawn_find(const patch_scratch *s, myr_entity e) {
  uint32_t lo = 0, hi = s->spawn_seen;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (s->plans[s->spawn_order[mid]].named < e) lo = mid + 1;
    else hi = mid;
  }
  return lo < s->spawn_seen && s->plans[s->spawn_order[lo]].named == e ? s->spawn_order[lo] : NONE_PLAN;
}

static inline uint32_t plan_find(const patch_scratch *s, myr_entity e) {
  if (MYR_ENTITY_IS_PROVISIONAL(e)) return spawn_find(s, e);
  uint32_t i = MYR_ENTITY_INDEX(e);
  if (i >= s->slot_cap) return NONE_PLAN;
  uint32_t k = s->by_slot[i];
  return k < s->plan_count && s->plans[k].named == e ? k : NONE_PLAN;
}

static inline uint64_t *plan_set(patch_scratch *s, uint32_t k) { return s->sets + (size_t)k * s->words; }

static inline bool words_eq(const uint64_t *a, const uint64_t *b, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (a[i] != b[i]) return false;
  return true;
}

/* How many patches ahead the passes over a batch ask for the entity records
 * (and plan slots) they will need: a batch's entities are scattered over
 * an index much larger than the caches, and a pass that waits for each
 * record in turn spends most of its time waiting (docs/performance.md). */
#define LOOKAHEAD 16

/* Asks for the entity record of e (and its plan slot) ahead of use. */
static inline void prefetch_entity(const myr_world *w, const patch_scratch *s, myr_entity e) {
  if (MYR_ENTITY_IS_PROVISIONAL(e)) return;
  uint32_t i = MYR_ENTITY_INDEX(e);
  const world_view *v = world_view_of(w);
  if (i < v->slot_count) __builtin_prefetch(&v->entities[i]);
  if (s && i < s->slot_cap) __builtin_prefetch(&s->by_slot[i]);
}

/* The part of `parts` that block b goes to: blocks spread over the parts
 * with a multiply and a shift (a division per patch would cost more than
 * most patches' own work). */
static inline uint32_t block_part(uint32_t b, uint32_t parts) {
  return (uint32_t)(((uint64_t)(b * UINT32_C(0x9e3779b1)) * parts) >> 32);
}

/* Iterates the patches of a batch in key order. */
typedef struct cursor {
  const patch_ref *refs;
  size_t n, r;
  size_t at;
} cursor;

static inline patch_hdr *cursor_next(cursor *c) {
  while (c->r < c->n) {
    const patch_run *run = c->refs[c->r].run;
    if (c->at < run->begin) c->at = run->begin;
    if (c->at < run->end) {
      patch_hdr *h = (patch_hdr *)(void *)(c->refs[c->r].buf->bytes + c->at);
      c->at += record_size(h);
      return h;
    }
    c->r++;
    c->at = 0;
  }
  return NULL;
}

static inline bool carries_values(const myr_world *w, const patch_hdr *h) {
  return h->op == PATCH_SET || h->op == PATCH_SET_FIELD || h->op == PATCH_PUT || h->op >= PATCH_ADD_TO ||
         (h->op == PATCH_SPAWN && h->field) || (h->op == PATCH_ADD && world_component(w, h->component)->field_count);
}

/* The world's merge scratch, sized for up to n plans and every entity slot
 * (made on first use, kept between batches, freed with the world). Errors:
 * MYR_ENOMEM, MYR_ELIMIT. */
myr_status patch_scratch_reserve(myr_world *w, uint64_t n, patch_scratch **out);

/* Planning: every patch's outcome (written into its header, with its plan)
 * and per entity its final component set. Changes nothing in the world;
 * the outcome counts are added to st. Errors: MYR_ENOMEM (the scratch for
 * first-wins sets could not grow). */
myr_status patch_plan_batch(myr_world *w, patch_scratch *s, const patch_ref *refs, size_t n, myr_patch_stats *st);

/* Sorts the plans into destroys, moves and spawns, finds the tables they
 * end in and reserves every row and entity slot the apply needs, so that
 * it cannot fail. On failure the world's content is as it was. */
myr_status patch_reserve_batch(myr_world *w, patch_scratch *s);

#endif
