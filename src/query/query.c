/* Queries: cached table matching and chunked iteration. */
#include "query_impl.h"

/* The world's slot for its live queries holds the head of their list; the
 * queries still alive go with the world. */
static const char queries_key;

static void queries_teardown(myr_world *w, void *head) {
  (void)w;
  while (head) {
    myr_query *q = head;
    head = q->next;
    myr_query_destroy(q);
  }
}

myr_status myr_query_create(myr_world *w, const myr_query_desc *d, myr_query **out) {
  if (!w || !d || !out || !d->terms || d->term_count == 0 || d->term_count > MYR_QUERY_MAX_TERMS) return MYR_EINVAL;
  compset named = {{0}};
  for (uint32_t i = 0; i < d->term_count; i++) {
    const myr_term *t = &d->terms[i];
    if (t->kind < MYR_TERM_READ || t->kind > MYR_TERM_WITH) return MYR_EINVAL;
    if (t->component >= world_component_count(w)) return MYR_ENOCOMP;
    if (compset_has(&named, t->component)) return MYR_EINVAL;
    compset_put(&named, t->component);
  }
  myr_query *q = world_alloc(w, sizeof *q, alignof(myr_query));
  if (!q) return MYR_ENOMEM;
  memset(q, 0, sizeof *q);
  q->world = w;
  q->term_count = d->term_count;
  q->unhidden = named;
  memcpy(q->terms, d->terms, d->term_count * sizeof(myr_term));
  for (uint32_t i = 0; i < d->term_count; i++) {
    if (q->terms[i].kind == MYR_TERM_READ || q->terms[i].kind == MYR_TERM_WRITE || q->terms[i].kind == MYR_TERM_WITH)
      compset_put(&q->required, q->terms[i].component);
    else if (q->terms[i].kind == MYR_TERM_WITHOUT) compset_put(&q->excluded, q->terms[i].component);
  }
  myr_status s = myr_query_refresh(q);
  if (s != MYR_OK) {
    world_free(w, q, sizeof *q);
    return s;
  }
  void **head = world_slot(w, &queries_key, queries_teardown);
  q->next = *head;
  if (q->next) q->next->prev = q;
  *head = q;
  *out = q;
  return MYR_OK;
}

void myr_query_destroy(myr_query *q) {
  if (!q) return;
  myr_world *w = q->world;
  if (q->prev) q->prev->next = q->next;
  else *world_slot(w, &queries_key, queries_teardown) = q->next;
  if (q->next) q->next->prev = q->prev;
  world_free(w, q->matches, (size_t)q->match_cap * sizeof(query_match));
  world_free(w, q, sizeof *q);
}

static bool query_matches(const myr_query *q, const table *t) {
  if (!compset_covers(&t->set, &q->required) || compset_meets(&t->set, &q->excluded)) return false;
  const compset *hidden = &world_view_of(q->world)->hidden;
  for (unsigned i = 0; i < MYR_MAX_COMPONENTS / 64; i++)
    if (t->set.bits[i] & hidden->bits[i] & ~q->unhidden.bits[i]) return false;
  return true;
}

myr_status myr_query_refresh(myr_query *q) {
  if (!q) return MYR_EINVAL;
  const myr_world *w = q->world;
  if (q->tables_seen == world_table_count(w)) return MYR_OK;
  uint32_t fresh = 0;
  for (uint32_t i = q->tables_seen; i < world_table_count(w); i++) fresh += query_matches(q, world_table(w, i));
  /* Grow once, before touching the cache, so a failure leaves it as it was. */
  myr_status s = world_grow_array(w, (void **)&q->matches, &q->match_cap, sizeof(query_match), q->match_count + fresh);
  if (s != MYR_OK) return s;
  for (uint32_t i = q->tables_seen; i < world_table_count(w); i++) {
    const table *t = world_table(w, i);
    if (!query_matches(q, t)) continue;
    query_match *m = &q->matches[q->match_count++];
    m->table = i;
    for (uint32_t k = 0; k < q->term_count; k++)
      m->term_col[k] = q->terms[k].kind == MYR_TERM_WITHOUT || q->terms[k].kind == MYR_TERM_WITH
                           ? -1
                           : table_comp_col(t, q->terms[k].component);
  }
  q->tables_seen = world_table_count(w);
  return MYR_OK;
}

uint32_t myr_query_table_count(const myr_query *q) { return q ? q->match_count : 0; }

uint64_t myr_query_entity_count(const myr_query *q) {
  uint64_t n = 0;
  for (uint32_t i = 0; q && i < q->match_count; i++) n += world_table(q->world, q->matches[i].table)->count;
  return n;
}

myr_status myr_query_iter_init(myr_query *q, uint32_t chunk_rows, myr_query_iter *it) {
  if (!q || !it) return MYR_EINVAL;
  myr_status s = myr_query_refresh(q);
  if (s != MYR_OK) return s;
  it->query = q;
  it->chunk_rows = chunk_rows == 0 ? UINT32_MAX : (chunk_rows > UINT32_MAX - 15 ? UINT32_MAX : round_up16(chunk_rows));
  it->match = 0;
  it->row = 0;
  it->index = 0;
  return MYR_OK;
}

bool myr_query_next(myr_query_iter *it, myr_chunk *chunk) {
  const myr_query *q = it->query;
  if (!q || !chunk) return false;
  const myr_world *w = q->world;
  while (it->match < q->match_count) {
    const table *t = world_table(w, q->matches[it->match].table);
    if (it->row < t->count) {
      uint32_t left = t->count - it->row;
      chunk->count = left < it->chunk_rows ? left : it->chunk_rows;
      chunk->index = it->index++;
      chunk->table = t->id;
      chunk->row = it->row;
      chunk->ids = t->ids + it->row;
      chunk->query = q;
      chunk->match = it->match;
      it->row += chunk->count;
      return true;
    }
    it->match++;
    it->row = 0;
  }
  return false;
}

static const column *chunk_col(const myr_chunk *chunk, uint32_t term, uint32_t field) {
  const myr_query *q = chunk ? chunk->query : NULL;
  if (!q || term >= q->term_count || chunk->match >= q->match_count) return NULL;
  const query_match *m = &q->matches[chunk->match];
  int32_t first = m->term_col[term];
  if (first < 0 || field >= world_component(q->world, q->terms[term].component)->field_count) return NULL;
  return &world_table(q->world, m->table)->cols[first + (int32_t)field];
}

void *myr_chunk_column(const myr_chunk *chunk, uint32_t term, uint32_t field) {
  const column *c = chunk_col(chunk, term, field);
  return c ? c->data + (size_t)chunk->row * c->elem_size : NULL;
}

bool myr_chunk_has(const myr_chunk *chunk, uint32_t term) {
  const myr_query *q = chunk ? chunk->query : NULL;
  if (!q || term >= q->term_count || chunk->match >= q->match_count) return false;
  const table *t = world_table(q->world, q->matches[chunk->match].table);
  return compset_has(&t->set, q->terms[term].component);
}

void *myr_chunk_column_typed(const myr_chunk *chunk, uint32_t term, uint32_t field, myr_type type) {
  const column *c = chunk_col(chunk, term, field);
  return c && c->type == type ? c->data + (size_t)chunk->row * c->elem_size : NULL;
}

uint32_t query_match_table(const myr_query *q, uint32_t m) { return q->matches[m].table; }
