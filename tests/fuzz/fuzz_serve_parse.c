/* libFuzzer target: bytes parsed as a client message of the live view's
 * server (src/serve/parse.c). Whatever the bytes: no crash, no read past
 * them; a message longer than 64 bytes is too long; one that parses writes
 * back to exactly the same bytes (every field read, nothing ignored);
 * parsing twice gives the same answer (no state).
 *
 * Build and run: tests/fuzz/run_fuzz.sh SOURCE WORK SECONDS fuzz_serve_parse;
 * the seed corpus (one message of each type) is tests/fuzz/corpus_serve_parse. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "myriad/serve.h"
#include "parse.h"

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                   \
    }                                                            \
  } while (0)

static size_t put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i);
  return 4;
}

/* The message written back from what was parsed. */
static size_t encode(const serve_msg *m, uint8_t *out) {
  size_t n = 0;
  out[n++] = m->type;
  switch (m->type) {
  case SERVE_MSG_ACK: n += put_u32(out + n, m->seq); break;
  case SERVE_MSG_RATE:
    out[n++] = (uint8_t)m->rate;
    out[n++] = (uint8_t)(m->rate >> 8);
    break;
  case SERVE_MSG_CONTROL:
    memcpy(out + n, m->token, SERVE_TOKEN_BYTES);
    n += SERVE_TOKEN_BYTES;
    out[n++] = m->command;
    if (m->command == SERVE_CMD_CHUNK) {
      n += put_u32(out + n, m->system);
      n += put_u32(out + n, m->rows);
    }
    break;
  default: break;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* a copy of exactly `size` bytes, so that ASan catches a read past them */
  uint8_t *copy = malloc(size ? size : 1);
  CHECK(copy);
  memcpy(copy, data, size);
  serve_msg a, b;
  serve_parse_result r = myr_serve_parse(copy, size, &a);
  CHECK(myr_serve_parse(copy, size, &b) == r && memcmp(&a, &b, sizeof a) == 0);
  if (size > MYR_SERVE_MAX_MESSAGE) CHECK(r == SERVE_PARSE_TOO_LONG);
  if (size == 0) CHECK(r == SERVE_PARSE_EMPTY);
  if (r == SERVE_PARSE_OK) {
    uint8_t back[MYR_SERVE_MAX_MESSAGE];
    size_t n = encode(&a, back);
    CHECK(n == size && memcmp(back, copy, size) == 0);
    CHECK(a.type != SERVE_MSG_ACK || a.seq != 0);
  }
  CHECK(myr_serve_parse_name(r) != NULL);
  free(copy);
  return 0;
}
