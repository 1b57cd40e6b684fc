/* A small blocking WebSocket client on plain sockets, for the server's
 * tests and its benchmark: it can do what a browser would not (no Origin,
 * a foreign one, garbage, never reading), and reads frames with a timeout. */
#ifndef MYRIAD_TESTS_WS_CLIENT_H
#define MYRIAD_TESTS_WS_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef struct ws_conn {
  int fd;
  uint8_t *in; /* bytes read, not yet taken */
  size_t in_len, in_cap;
  uint8_t *msg; /* the last message (ws_recv) */
  size_t msg_cap;
} ws_conn;

typedef struct ws_opts {
  const char *path;   /* NULL = "/stream" */
  const char *origin; /* NULL = no Origin header */
  const char *host;   /* the Host header; NULL = the host and port connected to */
  int rcvbuf;         /* > 0: SO_RCVBUF before connecting (a small one stalls sooner) */
} ws_opts;

/* Connects to host:port (an IPv4 or IPv6 literal) and upgrades. 0 when the server
 * switched protocols, 1 when it answered otherwise or closed, -1 when the
 * TCP connection failed (errno says why). */
int ws_connect(ws_conn *c, const char *host, uint16_t port, const ws_opts *opts);
/* Sends one binary message (masked, as a client must); 0 or -1. */
int ws_send(ws_conn *c, const void *data, size_t size);
/* Sends raw bytes as they are; 0 or -1. */
int ws_send_raw(ws_conn *c, const void *data, size_t size);
/* The next whole message into c->msg, *size bytes: 1, or 0 when none came
 * within timeout_ms, or -1 when the server closed the connection. */
int ws_recv(ws_conn *c, size_t *size, int timeout_ms);
void ws_close(ws_conn *c);

#endif
