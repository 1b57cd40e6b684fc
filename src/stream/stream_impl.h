/* The stream's private parts: a view in slot order, the byte and bit
 * codes of docs/stream.md, and the view hash. Shared by the encoder
 * (stream.c) and the decoder (view.c). */
#ifndef MYRIAD_STREAM_IMPL_H
#define MYRIAD_STREAM_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "myriad/stream.h"

#define HEADER_SIZE 36u /* type .. hash */
#define FLAG_KINDS 1u
#define FLAG_COLOR 2u
#define BLOCK 32u           /* survivors per residual block */
#define MAX_WIDTH 26u       /* widest residual code */
#define MAX_STEP (1u << 20) /* frames a prediction extrapolates over, at most */

/* A view: its entities in ascending slot order, as parallel arrays. */
typedef struct sview {
  uint32_t seq;
  uint64_t frame;
  uint32_t span; /* frames since the view it was coded against (decoder only) */
  uint32_t count, cap;
  uint32_t dims, bits, flags; /* flags: the decoder's, FLAG_* */
  uint32_t *slot, *gen, *color;
  uint8_t *kind;
  uint32_t *q; /* count * dims */
  int32_t *dq; /* count * dims; the decoder's only (NULL in the encoder) */
  uint64_t hash;
} sview;

bool sview_reserve(sview *v, uint32_t n, bool with_dq);
void sview_free(sview *v);
void sview_hash(sview *v);

/* The view hash of docs/stream.md, entity by entity: each entity's words
 * fold into one word first, with no dependence on the others (so the
 * processor overlaps entities); only that word goes through the two
 * lanes' chains. */
typedef struct vhash {
  uint32_t h1, h2;
} vhash;

static inline vhash vhash_begin(void) { return (vhash){0x6D797269u, 0x61647630u}; }

static inline void vhash_entity(vhash *h, uint32_t slot, uint32_t gen, uint32_t kind, uint32_t color, const uint32_t *q,
                                uint32_t dims) {
  uint32_t x = slot;
  x = x * 0x9E3779B1u + gen;
  x = x * 0x9E3779B1u + kind;
  x = x * 0x9E3779B1u + color;
  for (uint32_t a = 0; a < dims; a++) x = x * 0x9E3779B1u + q[a];
  x ^= x >> 15;
  uint32_t h1 = (h->h1 ^ x) * 0x85EBCA77u;
  h->h1 = (h1 << 13) | (h1 >> 19);
  h->h2 = (h->h2 + x) * 0xC2B2AE3Du;
  h->h2 ^= h->h2 >> 16;
}

static inline uint32_t fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85EBCA6Bu;
  x ^= x >> 13;
  x *= 0xC2B2AE35u;
  x ^= x >> 16;
  return x;
}

static inline uint64_t vhash_end(vhash h, uint32_t count) {
  h.h1 ^= count;
  h.h2 ^= count * 0x27D4EB2Fu;
  return (uint64_t)fmix32(h.h1) << 32 | fmix32(h.h2);
}

/* ---- writing ------------------------------------------------------------- */

typedef struct wbuf {
  unsigned char *data;
  size_t size, cap;
  bool failed; /* an allocation failed: everything after is dropped */
  /* the bit writer */
  uint64_t acc;
  uint32_t nacc;
} wbuf;

bool wbuf_room(wbuf *b, size_t n);

static inline void put_u8(wbuf *b, uint32_t x) {
  if (wbuf_room(b, 1)) b->data[b->size++] = (unsigned char)x;
}
static inline void put_u32(wbuf *b, uint32_t x) {
  if (!wbuf_room(b, 4)) return;
  for (int i = 0; i < 4; i++) b->data[b->size++] = (unsigned char)(x >> (8 * i));
}
static inline void put_u64(wbuf *b, uint64_t x) {
  put_u32(b, (uint32_t)x);
  put_u32(b, (uint32_t)(x >> 32));
}
static inline void put_varint(wbuf *b, uint32_t x) {
  if (!wbuf_room(b, 5)) return;
  while (x >= 0x80) {
    b->data[b->size++] = (unsigned char)(x | 0x80);
    x >>= 7;
  }
  b->data[b->size++] = (unsigned char)x;
}
/* w bits of x (w <= 32), lowest first. */
static inline void put_bits(wbuf *b, uint32_t x, uint32_t w) {
  if (w == 0) return;
  b->acc |= (uint64_t)(x & (uint32_t)((1ull << w) - 1)) << b->nacc;
  b->nacc += w;
  if (b->nacc >= 32) {
    put_u32(b, (uint32_t)b->acc);
    b->acc >>= 32;
    b->nacc -= 32;
  }
}
/* Pads the bit stream to a byte. */
static inline void put_bits_end(wbuf *b) {
  while (b->nacc > 0) {
    put_u8(b, (uint32_t)b->acc & 0xff);
    b->acc >>= 8;
    b->nacc = b->nacc > 8 ? b->nacc - 8 : 0;
  }
  b->acc = 0;
}

/* ---- reading ------------------------------------------------------------- */

typedef struct rbuf {
  const unsigned char *p, *end;
  bool bad;
  uint64_t acc; /* the bit reader */
  uint32_t nacc;
} rbuf;

static inline uint32_t get_u8(rbuf *r) {
  if (r->p >= r->end) {
    r->bad = true;
    return 0;
  }
  return *r->p++;
}
static inline uint32_t get_u32(rbuf *r) {
  if (r->end - r->p < 4) {
    r->bad = true;
    r->p = r->end;
    return 0;
  }
  uint32_t x = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
  r->p += 4;
  return x;
}
static inline uint64_t get_u64(rbuf *r) {
  uint64_t lo = get_u32(r);
  return lo | (uint64_t)get_u32(r) << 32;
}
static inline uint32_t get_varint(rbuf *r) {
  uint32_t x = 0;
  for (uint32_t shift = 0; shift < 35; shift += 7) {
    uint32_t c = get_u8(r);
    if (shift == 28 && c > 0x0f) break; /* beyond 32 bits */
    x |= (c & 0x7f) << shift;
    if (!(c & 0x80)) return x;
  }
  r->bad = true;
  return 0;
}
static inline uint32_t get_bits(rbuf *r, uint32_t w) {
  if (w == 0) return 0;
  while (r->nacc < w) {
    r->acc |= (uint64_t)get_u8(r) << r->nacc;
    r->nacc += 8;
  }
  uint32_t x = (uint32_t)(r->acc & ((1ull << w) - 1));
  r->acc >>= w;
  r->nacc -= w;
  return x;
}
/* Ends a bit stream: the padding must be zero. */
static inline void get_bits_end(rbuf *r) {
  if (r->acc != 0) r->bad = true;
  r->acc = 0;
  r->nacc = 0;
}

/* ---- arithmetic both sides share ------------------------------------------ */

static inline uint32_t zigzag(int32_t x) { return x >= 0 ? (uint32_t)x * 2u : (uint32_t)(-(x + 1)) * 2u + 1u; }
static inline int32_t unzigzag(uint32_t z) { return (z & 1u) ? -(int32_t)(z >> 1) - 1 : (int32_t)(z >> 1); }
static inline uint32_t bit_width(uint32_t x) { return x ? 32u - (uint32_t)__builtin_clz(x) : 0u; }

static inline int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* The prediction of docs/stream.md: q moved by dq over `span` frames and is
 * extrapolated over f frames (both at most MAX_STEP). */
static inline int64_t predict(uint32_t q, int32_t dq, uint32_t span, uint32_t f, uint32_t top) {
  int64_t p = q;
  p += (span == 0 || f == span) ? dq : floor_div((int64_t)dq * f, span);
  return p < 0 ? 0 : p > top ? top : p;
}

/* Frames from `earlier` to `later`: their difference modulo 2^64 (a clock
 * set back gives a huge one), at most MAX_STEP. */
static inline uint32_t step_of(uint64_t later, uint64_t earlier) {
  uint64_t d = later - earlier;
  return d > MAX_STEP ? MAX_STEP : (uint32_t)d;
}

#endif
