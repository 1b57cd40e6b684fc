/* Private to serve: the client messages of docs/stream.md ("Client to
 * server") parsed by a pure function, so that it can be fuzzed alone. */
#ifndef MYRIAD_SERVE_PARSE_H
#define MYRIAD_SERVE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERVE_MSG_ACK 0x10
#define SERVE_MSG_RATE 0x11
#define SERVE_MSG_RESYNC 0x12
#define SERVE_MSG_CONTROL 0x13

#define SERVE_CMD_PAUSE 1
#define SERVE_CMD_RESUME 2
#define SERVE_CMD_STEP 3
#define SERVE_CMD_CHUNK 4

#define SERVE_TOKEN_BYTES 16

typedef struct serve_msg {
  uint8_t type;    /* SERVE_MSG_* */
  uint32_t seq;    /* ack */
  uint16_t rate;   /* rate: updates a second, 0 = every frame */
  uint8_t command; /* control: SERVE_CMD_* */
  uint8_t token[SERVE_TOKEN_BYTES];
  uint32_t system, rows; /* control SERVE_CMD_CHUNK */
} serve_msg;

typedef enum serve_parse_result {
  SERVE_PARSE_OK = 0,
  SERVE_PARSE_TOO_LONG, /* above MYR_SERVE_MAX_MESSAGE bytes */
  SERVE_PARSE_EMPTY,    /* no type byte */
  SERVE_PARSE_UNKNOWN,  /* an unknown type or control command */
  SERVE_PARSE_BAD_SIZE, /* the wrong size for its type (or command) */
  SERVE_PARSE_BAD_VALUE /* an ack of view 0 */
} serve_parse_result;

/* Parses one client message of `size` bytes into *out (zeroed first).
 * Reads only data[0 .. size), writes only *out, keeps no state: any bytes
 * give a result. A control message's token is not checked here. */
serve_parse_result myr_serve_parse(const uint8_t *data, size_t size, serve_msg *out);

/* The result's name, for logs and tests. */
const char *myr_serve_parse_name(serve_parse_result r);

#endif
