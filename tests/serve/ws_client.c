/* A small blocking WebSocket client (ws_client.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "ws_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Reads what is there into c->in, waiting up to timeout_ms: 1, 0 (time),
 * -1 (closed). */
static int fill(ws_conn *c, int timeout_ms) {
  struct pollfd p = {.fd = c->fd, .events = POLLIN};
  int r = poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
  if (r == 0) return 0;
  if (r < 0) return errno == EINTR ? 0 : -1;
  if (c->in_cap - c->in_len < 65536) {
    size_t cap = c->in_cap ? c->in_cap * 2 : 1 << 17;
    uint8_t *in = realloc(c->in, cap);
    if (!in) return -1;
    c->in = in;
    c->in_cap = cap;
  }
  ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
  if (n <= 0) return -1;
  c->in_len += (size_t)n;
  return 1;
}

static void take(ws_conn *c, size_t n) {
  memmove(c->in, c->in + n, c->in_len - n);
  c->in_len -= n;
}

int ws_send_raw(ws_conn *c, const void *data, size_t size) {
  const uint8_t *p = data;
  while (size) {
    ssize_t n = write(c->fd, p, size);
    if (n <= 0) return -1;
    p += n;
    size -= (size_t)n;
  }
  return 0;
}

int ws_connect(ws_conn *c, const char *host, uint16_t port, const ws_opts *opts) {
  bool v6 = strchr(host, ':') != NULL;
  *c = (ws_conn){.fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0)};
  if (c->fd < 0) return -1;
  if (opts && opts->rcvbuf > 0) setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &opts->rcvbuf, sizeof opts->rcvbuf);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
  bool ok = v6 ? inet_pton(AF_INET6, host, &a6.sin6_addr) == 1 && connect(c->fd, (struct sockaddr *)&a6, sizeof a6) == 0
               : inet_pton(AF_INET, host, &a.sin_addr) == 1 && connect(c->fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (!ok) {
    int e = errno;
    close(c->fd);
    c->fd = -1;
    errno = e;
    return -1;
  }
  char req[1024], hosthdr[128];
  if (opts && opts->host) snprintf(hosthdr, sizeof hosthdr, "%s", opts->host);
  else snprintf(hosthdr, sizeof hosthdr, v6 ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n",
                   opts && opts->path ? opts->path : "/stream", hosthdr);
  if (opts && opts->origin) n += snprintf(req + n, sizeof req - (size_t)n, "Origin: %s\r\n", opts->origin);
  n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
  if (ws_send_raw(c, req, (size_t)n) != 0) return 1;
  double until = now_ms() + 5000;
  for (;;) {
    uint8_t *end = c->in_len >= 4 ? memmem(c->in, c->in_len, "\r\n\r\n", 4) : NULL;
    if (end) {
      bool ok = c->in_len >= 12 && memcmp(c->in, "HTTP/1.1 101", 12) == 0;
      take(c, (size_t)(end + 4 - c->in));
      return ok ? 0 : 1;
    }
    if (now_ms() > until || fill(c, 100) < 0) return 1;
  }
}

int ws_send(ws_conn *c, const void *data, size_t size) {
  uint8_t head[14] = {0x82};
  size_t h = 2;
  if (size < 126) head[1] = (uint8_t)(0x80 | size);
  else if (size < 65536) {
    head[1] = 0x80 | 126;
    head[2] = (uint8_t)(size >> 8);
    head[3] = (uint8_t)size;
    h = 4;
  } else {
    head[1] = 0x80 | 127;
    for (int i = 0; i < 8; i++) head[2 + i] = (uint8_t)((uint64_t)size >> (56 - 8 * i));
    h = 10;
  }
  static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  memcpy(head + h, mask, 4);
  h += 4;
  uint8_t *frame = malloc(h + size);
  if (!frame) return -1;
  memcpy(frame, head, h);
  for (size_t i = 0; i < size; i++) frame[h + i] = ((const uint8_t *)data)[i] ^ mask[i % 4];
  int r = ws_send_raw(c, frame, h + size);
  free(frame);
  return r;
}

/* One whole frame at the front of c->in: its opcode, fin, payload. */
static int frame_at(ws_conn *c, uint8_t *op, bool *fin, size_t *off, size_t *len) {
  if (c->in_len < 2) return 0;
  *op = c->in[0] & 0x0f;
  *fin = c->in[0] & 0x80;
  uint64_t n = c->in[1] & 0x7f;
  size_t h = 2;
  if (n == 126) {
    if (c->in_len < 4) return 0;
    n = (uint64_t)c->in[2] << 8 | c->in[3];
    h = 4;
  } else if (n == 127) {
    if (c->in_len < 10) return 0;
    n = 0;
    for (int i = 0; i < 8; i++) n = n << 8 | c->in[2 + i];
    h = 10;
  }
  if (c->in_len < h + n) return 0;
  *off = h;
  *len = (size_t)n;
  return 1;
}

int ws_recv(ws_conn *c, size_t *size, int timeout_ms) {
  double until = now_ms() + timeout_ms;
  size_t have = 0;
  for (;;) {
    uint8_t op;
    bool fin;
    size_t off, len;
    while (frame_at(c, &op, &fin, &off, &len)) {
      if (op == 0x8) return -1; /* close */
      if (op == 0x9 || op == 0xa) {
        take(c, off + len); /* ping or pong: lws sends none unless asked */
        continue;
      }
      if (have + len > c->msg_cap) {
        size_t cap = (have + len) * 2;
        uint8_t *m = realloc(c->msg, cap);
        if (!m) return -1;
        c->msg = m;
        c->msg_cap = cap;
      }
      memcpy(c->msg + have, c->in + off, len);
      have += len;
      take(c, off + len);
      if (fin) {
        *size = have;
        return 1;
      }
    }
    double left = until - now_ms();
    if (left <= 0 && have == 0) return 0;
    int r = fill(c, left > 0 ? (int)left : 100);
    if (r < 0) return -1;
    if (r == 0 && have == 0 && now_ms() >= until) return 0;
  }
}

void ws_close(ws_conn *c) {
  if (c->fd >= 0) close(c->fd);
  free(c->in);
  free(c->msg);
  *c = (ws_conn){.fd = -1};
}
