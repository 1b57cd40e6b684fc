/* The schedule's reductions: partials over fixed blocks of rows, combined
 * in row order after a system's chunks, so that the result depends on
 * neither the thread count nor the chunk size. */
#include <string.h>

#include "schedule_impl.h"

/* The blocks of a system's reduction this frame: chunk c's first block,
 * and every partial set to the identity. Chunks start on whole blocks of
 * their table, so a block belongs to one chunk. */
myr_status reduction_blocks(sys *y) {
  myr_world *w = y->owner->world;
  myr_status st = MYR_OK;
  if (y->first_block_cap < y->chunk_count)
    st = world_grow_array(w, (void **)&y->first_block, &y->first_block_cap, sizeof(uint32_t), y->chunk_count);
  uint32_t matches = myr_query_table_count(y->query);
  if (st == MYR_OK && y->match_block_cap < matches + 1)
    st = world_grow_array(w, (void **)&y->match_block, &y->match_block_cap, sizeof(uint32_t), matches + 1);
  if (st != MYR_OK) return st;
  for (uint32_t m = 0; m <= matches; m++) y->match_block[m] = UINT32_MAX;
  uint64_t blocks = 0;
  for (uint32_t c = 0; c < y->chunk_count; c++) {
    y->first_block[c] = (uint32_t)blocks;
    /* a table's first chunk starts at its row 0 */
    if (y->chunks[c].row == 0) y->match_block[y->chunks[c].match] = (uint32_t)blocks;
    blocks += (y->chunks[c].count + y->red.block_rows - 1) / y->red.block_rows;
  }
  if (blocks > UINT32_MAX) return MYR_ELIMIT;
  size_t need = (size_t)blocks * y->red.partial_size;
  if (need > y->partials_bytes) {
    size_t bytes = need > 2 * y->partials_bytes ? need : 2 * y->partials_bytes;
    unsigned char *p = world_alloc(w, bytes, 64);
    if (!p) return MYR_ENOMEM;
    world_free(w, y->partials, y->partials_bytes);
    y->partials = p;
    y->partials_bytes = bytes;
  }
  y->blocks = (uint32_t)blocks;
  for (uint32_t b = 0; b < y->blocks; b++) {
    unsigned char *part = y->partials + (size_t)b * y->red.partial_size;
    if (y->red.init) y->red.init(part, y->user);
    else memset(part, 0, y->red.partial_size);
  }
  return MYR_OK;
}

/* After the chunks: the partials into the result, in row order. */
void reduction_combine(sys *y) {
  if (y->red.init) y->red.init(y->red.result, y->user);
  else memset(y->red.result, 0, y->red.partial_size);
  for (uint32_t b = 0; b < y->blocks; b++)
    y->red.combine(y->red.result, y->partials + (size_t)b * y->red.partial_size, y->user);
  /* (combine may rewrite each partial, e.g. into its block's offsets) */
}

void *myr_view_partial_of(const myr_view *v, myr_system other, uint32_t i) {
  if (!v || !v->schedule || other >= v->schedule->count || i >= v->chunk.count || !v->chunk.query) return NULL;
  const myr_schedule *s = v->schedule;
  const sys *o = &s->systems[other];
  /* its partials are this frame's once it ran: its frame count moved on */
  if (!o->red.combine || o->red_frame != s->frame || !o->query) return NULL;
  uint32_t m = v->chunk.match;
  if (m >= myr_query_table_count(o->query) || query_match_table(o->query, m) != v->chunk.table ||
      o->match_block[m] == UINT32_MAX)
    return NULL;
  uint32_t b = o->match_block[m] + (v->chunk.row + i) / o->red.block_rows;
  return b < o->blocks ? o->partials + (size_t)b * o->red.partial_size : NULL;
}

void *myr_view_partial(const myr_view *v, uint32_t i) {
  if (!v || !v->schedule || v->system >= v->schedule->count || i >= v->chunk.count) return NULL;
  const sys *y = &v->schedule->systems[v->system];
  if (!y->red.combine || v->chunk.index >= y->chunk_count) return NULL;
  uint32_t first = v->chunk.row / y->red.block_rows; /* the chunk's first block within its table */
  uint32_t b = y->first_block[v->chunk.index] + (v->chunk.row + i) / y->red.block_rows - first;
  return y->partials + (size_t)b * y->red.partial_size;
}
