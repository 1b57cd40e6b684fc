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

static inline uint32_t rotl32(uint32_t x, uint32_t r) { return (x << r) | (x >> (32 - r)); }
static inline uint32_t fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  x *= 0xC2B2AE35u;
  x ^= x >> 16;
  return x;
}

void sview_hash(sview *v) {
  /* Each entity's words fold into one word first, with no dependence on
   * the others (so the processor overlaps entities); only that word goes
   * through the two lanes' chains. */
  uint32_t h1 = 0x6D797269u, h2 = 0x61647630u, dims = v->dims;
  for (uint32_t i = 0; i < v->count; i++) {
    uint32_t x = v->slot[i];
    x = x * 0x9E3779B1u + v->gen[i];
    x = x * 0x9E3779B1u + v->kind[i];
    x = x * 0x9E3779B1u + v->color[i];
    for (uint32_t a = 0; a < dims; a++) x = x * 0x9E3779B1u + v->q[(size_t)i * dims + a];
    x ^= x >> 15;
    h1 = rotl32((h1 ^ x) * 0x85EBCA77u, 13);
    h2 = (h2 + x) * 0xC2B2AE3Du;
    h2 ^= h2 >> 16;
  }
  h1 ^= v->count;
  h2 ^= v->count * 0x27D4EB2Fu;
  v->hash = (uint64_t)fmix32(h1) << 32 | fmix32(h2);
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
