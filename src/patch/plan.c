/* Patches, planning a batch: the merge scratch, each patch's outcome
 * against the state the patches before it leave, and the reservation of
 * every table row and entity slot the apply will need. */
#include "patch_plan.h"

/* The world's slot for the merge scratch. */
static const char scratch_key;

static void scratch_free(myr_world *w, void *state) {
  patch_scratch *s = state;
  if (!s) return;
  world_free(w, s->plans, (size_t)s->plan_cap * sizeof(plan));
  world_free(w, s->sets, (size_t)s->set_cap * sizeof(uint64_t));
  world_free(w, s->firsts, (size_t)s->firsts_cap * sizeof(uint64_t));
  world_free(w, s->by_slot, (size_t)s->slot_cap * sizeof(uint32_t));
  world_free(w, s->spawn_order, (size_t)s->spawn_cap * sizeof(uint32_t));
  world_free(w, s->destroys, (size_t)s->list_cap[0] * sizeof(uint32_t));
  world_free(w, s->moves, (size_t)s->list_cap[1] * sizeof(uint32_t));
  world_free(w, s->spawns, (size_t)s->list_cap[2] * sizeof(uint32_t));
  world_free(w, s->rows, (size_t)s->rows_cap * sizeof(uint32_t));
  world_free(w, s->refs, (size_t)s->refs_cap * sizeof(world_row));
  world_free(w, s->bucketed, (size_t)s->bucketed_cap * sizeof(world_row));
  world_free(w, s->colmap, (size_t)s->colmap_cap * sizeof(int32_t));
  world_free(w, s->work, (size_t)s->work_cap * sizeof(uint32_t));
  world_free(w, s, sizeof *s);
}

/* Grows an index array to `need` entries; new entries are filled with
 * UINT32_MAX so that no tool sees an uninitialised read. */
static myr_status index_reserve(myr_world *w, uint32_t **arr, uint32_t *cap, uint32_t need) {
  uint32_t old = *cap;
  if (need <= old) return MYR_OK;
  myr_status st = world_grow_array(w, (void **)arr, cap, sizeof(uint32_t), need);
  if (st == MYR_OK) memset(*arr + old, 0xff, (size_t)(*cap - old) * sizeof(uint32_t));
  return st;
}

myr_status patch_scratch_reserve(myr_world *w, uint64_t n, patch_scratch **out) {
  if (n > UINT32_MAX / 4) return MYR_ELIMIT;
  void **slot = world_slot(w, &scratch_key, scratch_free);
  patch_scratch *s = *slot;
  if (!s) {
    s = world_alloc(w, sizeof *s, alignof(patch_scratch));
    if (!s) return MYR_ENOMEM;
    memset(s, 0, sizeof *s);
    *slot = s;
  }
  *out = s;
  uint32_t m = (uint32_t)n;
  myr_status st = world_grow_array(w, (void **)&s->plans, &s->plan_cap, sizeof(plan), m);
  s->words = (world_component_count(w) + 63) / 64;
  if (s->words == 0) s->words = 1;
  if ((uint64_t)m * s->words > UINT32_MAX) return MYR_ELIMIT;
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->sets, &s->set_cap, sizeof(uint64_t), m * s->words);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->destroys, &s->list_cap[0], sizeof(uint32_t), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->moves, &s->list_cap[1], sizeof(uint32_t), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->spawns, &s->list_cap[2], sizeof(uint32_t), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->refs, &s->refs_cap, sizeof(world_row), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->bucketed, &s->bucketed_cap, sizeof(world_row), m);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->work, &s->work_cap, sizeof(uint32_t), m * 3);
  if (st == MYR_OK) st = index_reserve(w, &s->by_slot, &s->slot_cap, world_view_of(w)->slot_count);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->spawn_order, &s->spawn_cap, sizeof(uint32_t), m);
  s->plan_count = 0;
  s->spawn_seen = 0;
  s->values = 0;
  s->firsts_live = false;
  return st;
}

static uint32_t plan_new(patch_scratch *s, myr_entity named, uint32_t src, uint32_t row, const uint64_t *set,
                         bool spawned) {
  uint32_t k = s->plan_count++;
  if (spawned) s->spawn_order[s->spawn_seen++] = k;
  else s->by_slot[MYR_ENTITY_INDEX(named)] = k;
  s->plans[k] = (plan){named, spawned ? MYR_ENTITY_NULL : named, src, NO_TABLE, row, spawned, 0};
  if (set) memcpy(plan_set(s, k), set, s->words * sizeof(uint64_t));
  if (s->firsts_live) memset(s->firsts + (size_t)k * s->words, 0, s->words * sizeof(uint64_t));
  return k;
}

/* Writes a spawn's component set into `words` words at set (zeroed first).
 * Built in place: building a compset on the stack and copying it made gcc
 * read 16-byte halves of freshly stored 8-byte words, and the store-
 * forwarding stalls cost more than the rest of planning a spawn. */
static void spawn_set(const patch_hdr *h, uint64_t *set, uint32_t words) {
  const unsigned char *at = (const unsigned char *)(h + 1);
  uint32_t count;
  memcpy(&count, at, sizeof count);
  if (words == 1) { /* up to 64 components: the word is made in a register, then stored once */
    uint64_t bits = 0;
    for (uint32_t i = 0; i < count; i++) {
      uint32_t c;
      memcpy(&c, at + sizeof count + i * sizeof c, sizeof c);
      bits |= 1ull << (c & 63);
    }
    set[0] = bits;
    return;
  }
  memset(set, 0, words * sizeof(uint64_t));
  for (uint32_t i = 0; i < count; i++) {
    uint32_t c;
    memcpy(&c, at + sizeof count + i * sizeof c, sizeof c);
    set[c >> 6] |= 1ull << (c & 63);
  }
}

/* Whether plan k's first-wins set of component c is the batch's first
 * (then it takes it). The firsts are live once the batch's first
 * first-wins set was seen (patch_plan_batch). */
static bool first_claim(patch_scratch *s, uint32_t k, myr_component c) {
  uint64_t *taken = s->firsts + (size_t)k * s->words, bit = UINT64_C(1) << (c & 63);
  if (taken[c >> 6] & bit) return false;
  taken[c >> 6] |= bit;
  return true;
}

/* Makes the firsts live for the batch: room for every plan it may make,
 * zero for those made so far. */
static myr_status firsts_begin(myr_world *w, patch_scratch *s) {
  if ((uint64_t)s->plan_cap * s->words > UINT32_MAX) return MYR_ELIMIT;
  myr_status st = world_grow_array(w, (void **)&s->firsts, &s->firsts_cap, sizeof(uint64_t), s->plan_cap * s->words);
  if (st != MYR_OK) return st;
  memset(s->firsts, 0, (size_t)s->plan_count * s->words * sizeof(uint64_t));
  s->firsts_live = true;
  return MYR_OK;
}

/* Decides one patch's outcome against the state the patches before it
 * would leave, and updates its entity's plan. */
static patch_outcome plan_patch(const myr_world *w, patch_scratch *s, patch_hdr *h) {
  if (h->op == PATCH_DIVERTED) return OUT_DIVERTED;
  if (h->op == PATCH_SPAWN) {
    /* a spawn's id is new: recording hands out each provisional id once */
    uint32_t p = plan_new(s, h->entity, NO_TABLE, 0, NULL, true);
    spawn_set(h, plan_set(s, p), s->words);
    h->reserved = p;
    return OUT_APPLY;
  }
  uint32_t k = plan_find(s, h->entity);
  h->reserved = k;
  const uint64_t *set;
  uint32_t src = NO_TABLE, row = 0;
  if (k != NONE_PLAN) {
    if (s->plans[k].destroyed) return OUT_SKIP_DEAD;
    set = plan_set(s, k);
  } else {
    const entity_record *r;
    if (MYR_ENTITY_IS_PROVISIONAL(h->entity) || entity_lookup(w, h->entity, &r) != MYR_OK) return OUT_SKIP_DEAD;
    src = r->table;
    row = r->row;
    set = world_table(w, src)->set.bits;
  }
  myr_component c = h->component;
  bool has = h->op != PATCH_DESTROY && ((set[c >> 6] >> (c & 63)) & 1u);
  switch (h->op) {
  case PATCH_SET:
  case PATCH_SET_FIELD:
  case PATCH_ADD_TO:
  case PATCH_MIN:
  case PATCH_MAX: return has ? OUT_APPLY : OUT_SKIP_ABSENT;
  case PATCH_SET_FIRST:
    if (!has) return OUT_SKIP_ABSENT;
    if (k == NONE_PLAN) h->reserved = k = plan_new(s, h->entity, src, row, set, false);
    return first_claim(s, k, c) ? OUT_APPLY : OUT_SKIP_LOST;
  case PATCH_ADD:
    if (has) return OUT_SKIP_PRESENT;
    break;
  case PATCH_PUT: /* present: a set; absent: an add */
    if (has) return OUT_APPLY;
    break;
  case PATCH_REMOVE:
    if (!has) return OUT_SKIP_ABSENT;
    break;
  default: break;
  }
  if (k == NONE_PLAN) h->reserved = k = plan_new(s, h->entity, src, row, set, false);
  if (h->op == PATCH_ADD || h->op == PATCH_PUT) plan_set(s, k)[c >> 6] |= 1ull << (c & 63);
  else if (h->op == PATCH_REMOVE) plan_set(s, k)[c >> 6] &= ~(1ull << (c & 63));
  else s->plans[k].destroyed = 1;
  return OUT_APPLY;
}

myr_status patch_plan_batch(myr_world *w, patch_scratch *s, const patch_ref *refs, size_t n, myr_patch_stats *st) {
  uint64_t outcomes[6] = {0}, values = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char *bytes = refs[i].buf->bytes;
    size_t end = refs[i].run->end, ahead = refs[i].run->begin;
    for (size_t at = ahead; at < end;) {
      for (; ahead < end && ahead - at < LOOKAHEAD * sizeof(patch_hdr);
           ahead += record_size((patch_hdr *)(void *)(bytes + ahead)))
        prefetch_entity(w, s, ((const patch_hdr *)(const void *)(bytes + ahead))->entity);
      patch_hdr *h = (patch_hdr *)(void *)(bytes + at);
      at += record_size(h);
      if (h->op == PATCH_SET_FIRST && !s->firsts_live) {
        myr_status e = firsts_begin(w, s);
        if (e != MYR_OK) return e;
      }
      patch_outcome o = plan_patch(w, s, h);
      h->outcome = (uint8_t)o;
      outcomes[o]++;
      values += o == OUT_APPLY && carries_values(w, h);
    }
  }
  s->values = values;
  st->recorded += outcomes[0] + outcomes[1] + outcomes[2] + outcomes[3] + outcomes[4] + outcomes[5];
  st->applied += outcomes[OUT_APPLY];
  st->skipped_dead += outcomes[OUT_SKIP_DEAD];
  st->skipped_present += outcomes[OUT_SKIP_PRESENT];
  st->skipped_absent += outcomes[OUT_SKIP_ABSENT];
  st->skipped_lost += outcomes[OUT_SKIP_LOST];
  st->diverted += outcomes[OUT_DIVERTED];
  return MYR_OK;
}

myr_status patch_reserve_batch(myr_world *w, patch_scratch *s) {
  s->destroy_count = s->move_count = s->spawn_count = 0;
  table *last = NULL; /* plans come in runs with the same final set */
  uint32_t cols = 1;
  for (uint32_t i = 0; i < s->plan_count; i++) {
    plan *p = &s->plans[i];
    if (p->destroyed) {
      if (!p->spawned) s->destroys[s->destroy_count++] = i;
      continue;
    }
    const uint64_t *set = plan_set(s, i);
    if (!p->spawned && words_eq(set, world_table(w, p->src)->set.bits, s->words)) continue; /* no move */
    if (!last || !words_eq(last->set.bits, set, s->words)) {
      compset full = {{0}};
      memcpy(full.bits, set, s->words * sizeof(uint64_t));
      myr_status st = table_get(w, &full, &last);
      if (st != MYR_OK) return st;
      if (last->col_count > cols) cols = last->col_count;
    }
    p->dst = last->id;
    if (p->spawned) s->spawns[s->spawn_count++] = i;
    else s->moves[s->move_count++] = i;
  }
  myr_status st = world_grow_array(w, (void **)&s->rows, &s->rows_cap, sizeof(uint32_t), world_table_count(w) + 1);
  if (st == MYR_OK) st = world_grow_array(w, (void **)&s->colmap, &s->colmap_cap, sizeof(int32_t), cols);
  if (st != MYR_OK) return st;
  memset(s->rows, 0, (size_t)world_table_count(w) * sizeof(uint32_t));
  for (uint32_t i = 0; i < s->move_count; i++) s->rows[s->plans[s->moves[i]].dst]++;
  for (uint32_t i = 0; i < s->spawn_count; i++) s->rows[s->plans[s->spawns[i]].dst]++;
  for (uint32_t t = 0; t < world_table_count(w); t++)
    if (s->rows[t] && (st = table_reserve(w, world_table(w, t), s->rows[t])) != MYR_OK) return st;
  return entity_reserve(w, s->spawn_count);
}
