/* What the encoder and the decoder share: views' storage, the view hash
 * and the growing byte buffer. */
#include <stdlib.h>

#include "stream_impl.h"

bool sview_reserve(sview *v, uint32_t n, bool with_dq) {
  if (n <= v->cap && (!with_dq || v->dq || n == 0)) return true;
  uint32_t cap = n > v->cap ? n : v->cap;
  size_t dims = v->dims ? v->dims : 3;
  uint32_t *slot = malloc(sizeof *slot * (size_t)cap), *gen = malloc(sizeof *gen * (size_t)cap);
  uint32_t *color = malloc(sizeof *color * (size_t)cap), *q = malloc(sizeof *q * (size_t)cap * dims);
  uint8_t *kind = malloc((size_t)cap);
  int32_t *dq = with_dq ? malloc(sizeof *dq * (size_t)cap * dims) : NULL;
  if (!slot || !gen || !color || !q || !kind || (with_dq && !dq)) {
    free(slot), free(gen), free(color), free(q), free(kind), free(dq);
    return false;
  }
  sview_free(v);
  v->slot = slot, v->gen = gen, v->color = color, v->q = q, v->kind = kind, v->dq = dq;
  v->cap = cap;
  return true;
}

void sview_free(sview *v) {
  free(v->slot), free(v->gen), free(v->color), free(v->q), free(v->kind), free(v->dq);
  v->slot = v->gen = v->color = v->q = NULL;
  v->kind = NULL;
  v->dq = NULL;
  v->cap = 0;
}

void sview_hash(sview *v) {
  vhash h = vhash_begin();
  for (uint32_t i = 0; i < v->count; i++)
    vhash_entity(&h, v->slot[i], v->gen[i], v->kind[i], v->color[i], &v->q[(size_t)i * v->dims], v->dims);
  v->hash = vhash_end(h, v->count);
}

bool wbuf_room(wbuf *b, size_t n) {
  if (b->failed) return false;
  if (b->cap - b->size >= n) return true;
  size_t cap = b->cap ? b->cap * 2 : 4096;
  while (cap - b->size < n) cap *= 2;
  unsigned char *d = realloc(b->data, cap);
  if (!d) {
    b->failed = true;
    return false;
  }
  b->data = d;
  b->cap = cap;
  return true;
}
