/* The client messages of docs/stream.md, parsed: sizes exact, types and
 * commands known, integers little-endian. */
#include "parse.h"

#include <string.h>

#include "myriad/serve.h"

static uint32_t u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static serve_parse_result parse_control(const uint8_t *data, size_t size, serve_msg *out) {
  if (size != 18 && size != 26) return SERVE_PARSE_BAD_SIZE;
  memcpy(out->token, data + 1, SERVE_TOKEN_BYTES);
  out->command = data[17];
  switch (out->command) {
  case SERVE_CMD_PAUSE:
  case SERVE_CMD_RESUME:
  case SERVE_CMD_STEP: return size == 18 ? SERVE_PARSE_OK : SERVE_PARSE_BAD_SIZE;
  case SERVE_CMD_CHUNK:
    if (size != 26) return SERVE_PARSE_BAD_SIZE;
    out->system = u32_at(data + 18);
    out->rows = u32_at(data + 22);
    return SERVE_PARSE_OK;
  default: return SERVE_PARSE_UNKNOWN;
  }
}

serve_parse_result myr_serve_parse(const uint8_t *data, size_t size, serve_msg *out) {
  *out = (serve_msg){0};
  if (size > MYR_SERVE_MAX_MESSAGE) return SERVE_PARSE_TOO_LONG;
  if (size == 0 || !data) return SERVE_PARSE_EMPTY;
  out->type = data[0];
  switch (data[0]) {
  case SERVE_MSG_ACK:
    if (size != 5) return SERVE_PARSE_BAD_SIZE;
    out->seq = u32_at(data + 1);
    return out->seq ? SERVE_PARSE_OK : SERVE_PARSE_BAD_VALUE;
  case SERVE_MSG_RATE:
    if (size != 3) return SERVE_PARSE_BAD_SIZE;
    out->rate = (uint16_t)(data[1] | data[2] << 8);
    return SERVE_PARSE_OK;
  case SERVE_MSG_RESYNC: return size == 1 ? SERVE_PARSE_OK : SERVE_PARSE_BAD_SIZE;
  case SERVE_MSG_CONTROL: return parse_control(data, size, out);
  default: return SERVE_PARSE_UNKNOWN;
  }
}

const char *myr_serve_parse_name(serve_parse_result r) {
  switch (r) {
  case SERVE_PARSE_OK: return "ok";
  case SERVE_PARSE_TOO_LONG: return "too long";
  case SERVE_PARSE_EMPTY: return "empty";
  case SERVE_PARSE_UNKNOWN: return "unknown type or command";
  case SERVE_PARSE_BAD_SIZE: return "wrong size";
  case SERVE_PARSE_BAD_VALUE: return "bad value";
  }
  return "?";
}
