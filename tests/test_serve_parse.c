/* The server's parser of client messages (src/serve/parse.c): every type
 * at its size, every wrong size, unknown types and commands, too long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "myriad/serve.h"
#include "parse.h"

static serve_parse_result parse(const uint8_t *m, size_t n, serve_msg *out) { return myr_serve_parse(m, n, out); }

static void ack_carries_its_sequence_number(void **state) {
  (void)state;
  serve_msg msg;
  assert_int_equal(parse((uint8_t[]){0x10, 0x78, 0x56, 0x34, 0x12}, 5, &msg), SERVE_PARSE_OK);
  assert_int_equal(msg.type, SERVE_MSG_ACK);
  assert_int_equal(msg.seq, 0x12345678u);
  assert_int_equal(parse((uint8_t[]){0x10, 0, 0, 0, 0}, 5, &msg), SERVE_PARSE_BAD_VALUE);
}

static void rate_carries_updates_per_second(void **state) {
  (void)state;
  serve_msg msg;
  assert_int_equal(parse((uint8_t[]){0x11, 0x2c, 0x01}, 3, &msg), SERVE_PARSE_OK);
  assert_int_equal(msg.type, SERVE_MSG_RATE);
  assert_int_equal(msg.rate, 300);
  assert_int_equal(parse((uint8_t[]){0x11, 0, 0}, 3, &msg), SERVE_PARSE_OK);
  assert_int_equal(msg.rate, 0);
}

static void resync_is_one_byte(void **state) {
  (void)state;
  serve_msg msg;
  assert_int_equal(parse((uint8_t[]){0x12}, 1, &msg), SERVE_PARSE_OK);
  assert_int_equal(msg.type, SERVE_MSG_RESYNC);
}

static void control_carries_token_command_and_arguments(void **state) {
  (void)state;
  uint8_t m[26] = {0x13};
  for (int i = 0; i < 16; i++) m[1 + i] = (uint8_t)(0xa0 + i);
  serve_msg msg;
  for (uint8_t cmd = 1; cmd <= 3; cmd++) {
    m[17] = cmd;
    assert_int_equal(parse(m, 18, &msg), SERVE_PARSE_OK);
    assert_int_equal(msg.type, SERVE_MSG_CONTROL);
    assert_int_equal(msg.command, cmd);
    assert_memory_equal(msg.token, m + 1, 16);
    assert_int_equal(parse(m, 26, &msg), SERVE_PARSE_BAD_SIZE); /* arguments it does not take */
  }
  m[17] = 4;
  memcpy(m + 18, (uint8_t[]){3, 0, 0, 0, 0x00, 0x10, 0, 0}, 8);
  assert_int_equal(parse(m, 26, &msg), SERVE_PARSE_OK);
  assert_int_equal(msg.command, SERVE_CMD_CHUNK);
  assert_int_equal(msg.system, 3);
  assert_int_equal(msg.rows, 4096);
  assert_int_equal(parse(m, 18, &msg), SERVE_PARSE_BAD_SIZE); /* chunk without its arguments */
  m[17] = 0;
  assert_int_equal(parse(m, 18, &msg), SERVE_PARSE_UNKNOWN);
  m[17] = 5;
  assert_int_equal(parse(m, 18, &msg), SERVE_PARSE_UNKNOWN);
}

/* Every size from 0 to 64 but a type's own is refused. */
static void every_wrong_size_is_refused(void **state) {
  (void)state;
  uint8_t m[MYR_SERVE_MAX_MESSAGE + 8];
  memset(m, 1, sizeof m); /* an ack of a nonzero view; control command 1 */
  const uint8_t types[] = {0x10, 0x11, 0x12, 0x13};
  for (size_t t = 0; t < sizeof types; t++) {
    m[0] = types[t];
    for (size_t n = 1; n <= MYR_SERVE_MAX_MESSAGE; n++) {
      serve_msg msg;
      serve_parse_result r = parse(m, n, &msg);
      bool good = (types[t] == 0x10 && n == 5) || (types[t] == 0x11 && n == 3) || (types[t] == 0x12 && n == 1) ||
                  (types[t] == 0x13 && n == 18);
      assert_int_equal(r, good ? SERVE_PARSE_OK : SERVE_PARSE_BAD_SIZE);
    }
  }
}

static void unknown_types_are_refused(void **state) {
  (void)state;
  serve_msg msg;
  for (unsigned t = 0; t < 256; t++) {
    if (t >= 0x10 && t <= 0x13) continue;
    uint8_t m[5] = {(uint8_t)t, 1, 0, 0, 0};
    for (size_t n = 1; n <= 5; n++) assert_int_equal(parse(m, n, &msg), SERVE_PARSE_UNKNOWN);
  }
}

static void too_long_and_empty_are_refused(void **state) {
  (void)state;
  uint8_t m[200] = {0x12};
  serve_msg msg;
  assert_int_equal(parse(m, MYR_SERVE_MAX_MESSAGE + 1, &msg), SERVE_PARSE_TOO_LONG);
  assert_int_equal(parse(m, sizeof m, &msg), SERVE_PARSE_TOO_LONG);
  assert_int_equal(parse(m, 0, &msg), SERVE_PARSE_EMPTY);
  assert_int_equal(parse(NULL, 0, &msg), SERVE_PARSE_EMPTY);
  assert_string_equal(myr_serve_parse_name(SERVE_PARSE_TOO_LONG), "too long");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(ack_carries_its_sequence_number),
      cmocka_unit_test(rate_carries_updates_per_second),
      cmocka_unit_test(resync_is_one_byte),
      cmocka_unit_test(control_carries_token_command_and_arguments),
      cmocka_unit_test(every_wrong_size_is_refused),
      cmocka_unit_test(unknown_types_are_refused),
      cmocka_unit_test(too_long_and_empty_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
