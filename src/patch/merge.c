/* Patches, merging: batches opened, the runs of several buffers put in key
 * order and applied as one batch; the per-worker lanes the schedule records
 * into. A command buffer's apply is the one-lane case. */
#include <stdlib.h>

#include "patch_impl.h"

void patch_batch_open(myr_world *w, uint64_t segments, patch_batch *out) {
  uint32_t ordinal_bits = 0;
  while ((UINT64_C(1) << ordinal_bits) < segments) ordinal_bits++;
  out->seq_bits = TOKEN_BITS - ordinal_bits; /* segment counts are below 2^32 */
  out->batch_bits = patch_batch_next(w);
}

static int run_cmp(const void *a, const void *b) {
  const patch_run *x = ((const patch_ref *)a)->run, *y = ((const patch_ref *)b)->run;
  if (x->stream != y->stream) return x->stream < y->stream ? -1 : 1;
  if (x->segment != y->segment) return x->segment < y->segment ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint32_t runs_in(const patch_lane *lanes, uint32_t count) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < count; i++) n += lanes[i].buf.run_count;
  return n;
}

myr_status patch_merge_runs(myr_world *w, patch_buffer *first, size_t stride, uint32_t count, patch_ref *refs,
                            const world_par *par, myr_patch_stats *st) {
  uint32_t n = 0;
  bool structural = false;
  for (uint32_t i = 0; i < count; i++) {
    patch_buffer *b = (patch_buffer *)(void *)((unsigned char *)first + i * stride);
    structural |= b->structural != 0;
    for (uint32_t k = 0; k < b->run_count; k++) refs[n++] = (patch_ref){b, &b->runs[k]};
  }
  /* a lane holds runs in the order its worker ran them, which need not be
   * the key order */
  if (n > 1) qsort(refs, n, sizeof(patch_ref), run_cmp);
  return patch_apply(w, refs, n, structural, par, st);
}

/* ---- patches bound for another process ------------------------------------- */

myr_status patch_divert(patch_lanes *l, myr_component tag, patch_diverted **list, uint32_t *count, uint32_t *cap) {
  myr_world *w = l->world;
  uint32_t n = 0, runs = runs_in(l->lanes, l->count);
  *count = 0;
  if (world_grow_array(w, (void **)&l->refs, &l->ref_cap, sizeof(patch_ref), runs) != MYR_OK) {
    l->lanes[0].buf.failed = true;
    return MYR_ENOMEM;
  }
  uint32_t k = 0;
  for (uint32_t i = 0; i < l->count; i++)
    for (uint32_t r = 0; r < l->lanes[i].buf.run_count; r++)
      l->refs[k++] = (patch_ref){&l->lanes[i].buf, &l->lanes[i].buf.runs[r]};
  if (k > 1) qsort(l->refs, k, sizeof(patch_ref), run_cmp); /* the list comes in key order */
  for (uint32_t i = 0; i < k; i++) {
    patch_buffer *b = l->refs[i].buf;
    const patch_run *run = l->refs[i].run;
    for (size_t at = run->begin; at < run->end;) {
      patch_hdr *h = (patch_hdr *)(void *)(b->bytes + at);
      at += record_size(h);
      const entity_record *rec;
      if (h->op == PATCH_SPAWN || h->op == PATCH_DIVERTED || MYR_ENTITY_IS_PROVISIONAL(h->entity) ||
          entity_lookup(w, h->entity, &rec) != MYR_OK)
        continue;
      const uint64_t *set = world_table(w, rec->table)->set.bits;
      if (!((set[tag >> 6] >> (tag & 63)) & 1u)) continue;
      if (n == *cap && world_grow_array(w, (void **)list, cap, sizeof(patch_diverted), n + 1) != MYR_OK) {
        b->failed = true; /* the merge then applies none of the stage's patches */
        *count = n;
        return MYR_ENOMEM;
      }
      (*list)[n++] = (patch_diverted){h, run->stream, h->op};
      if (h->op == PATCH_DESTROY) continue; /* applied here too: the copy goes at once */
      h->op = PATCH_DIVERTED;
      b->structural++; /* the sets-only pass would not know the mark */
    }
  }
  *count = n;
  return MYR_OK;
}

void patch_diverted_info(const patch_diverted *d, myr_patch_info *out) {
  const patch_hdr *h = d->record;
  patch_op op = (patch_op)d->op;
  bool field = op == PATCH_SET_FIELD || op == PATCH_ADD_TO || op == PATCH_MIN || op == PATCH_MAX;
  *out = (myr_patch_info){(myr_patch_kind)op,
                          d->stream,
                          h->entity,
                          op == PATCH_DESTROY ? 0 : h->component,
                          field ? h->field : 0u,
                          h->size ? (const void *)(h + 1) : NULL,
                          h->size};
}

/* ---- the schedule's lanes ---------------------------------------------------- */

myr_status patch_lanes_init(patch_lanes *l, myr_world *w, uint32_t count) {
  *l = (patch_lanes){.world = w};
  l->lanes = world_alloc(w, sizeof(patch_lane) * count, alignof(patch_lane));
  if (!l->lanes) return MYR_ENOMEM;
  l->count = count;
  for (uint32_t i = 0; i < count; i++) patch_buffer_init(&l->lanes[i].buf, w);
  return MYR_OK;
}

void patch_lanes_free(patch_lanes *l) {
  if (!l->lanes) return;
  for (uint32_t i = 0; i < l->count; i++) patch_buffer_free(&l->lanes[i].buf);
  world_free(l->world, l->lanes, sizeof(patch_lane) * l->count);
  world_free(l->world, l->refs, sizeof(patch_ref) * l->ref_cap);
  *l = (patch_lanes){0};
}

void patch_lanes_clear(patch_lanes *l) {
  for (uint32_t i = 0; i < l->count; i++) patch_buffer_clear(&l->lanes[i].buf);
}

myr_status patch_merge(patch_lanes *l, const world_par *par, myr_patch_stats *stats) {
  bool lost = false;
  for (uint32_t i = 0; i < l->count; i++) lost |= l->lanes[i].buf.failed;
  if (lost) { /* a callback's patch could not be recorded: apply none */
    patch_lanes_clear(l);
    return MYR_ENOMEM;
  }
  myr_status st =
      world_grow_array(l->world, (void **)&l->refs, &l->ref_cap, sizeof(patch_ref), runs_in(l->lanes, l->count));
  myr_patch_stats counts = {0};
  if (st == MYR_OK)
    st = patch_merge_runs(l->world, &l->lanes[0].buf, sizeof(patch_lane), l->count, l->refs, par, &counts);
  if (st != MYR_OK) return st;
  patch_lanes_clear(l);
  if (stats) *stats = counts;
  return MYR_OK;
}
