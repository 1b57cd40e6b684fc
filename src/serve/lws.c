/* The service thread: libwebsockets' context made, served and destroyed
 * here, and every lws callback. The simulation thread reaches this thread
 * only through the clients' queues (under the server's lock) and
 * lws_cancel_service, which wakes lws_service here. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve_internal.h"

/* What lws keeps per connection for this protocol. */
typedef struct serve_session {
  uint32_t slot;
  uint64_t id; /* 0 before ESTABLISHED took a slot */
  uint8_t rx[MYR_SERVE_MAX_MESSAGE];
  size_t rx_len;
} serve_session;

static myr_serve *server_of(struct lws *wsi) { return lws_context_user(lws_get_context(wsi)); }

static uint32_t clients_connected(const myr_serve *srv) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < srv->max_clients; i++) n += srv->clients[i].id != 0;
  return n;
}

/* Whether the server is bound to a wildcard, 0.0.0.0 or :: (and *v6,
 * whether to an IPv6 address). */
static bool bound_any(const myr_serve *srv, bool *v6) {
  unsigned char a[16] = {0}, zero[16] = {0};
  *v6 = inet_pton(AF_INET6, srv->address, a) == 1;
  if (!*v6 && inet_pton(AF_INET, srv->address, a) != 1) return false;
  return memcmp(a, zero, *v6 ? 16 : 4) == 0;
}

/* Whether it is bound to ::1 or ::. */
static bool bound_v6_loopback(const myr_serve *srv) {
  struct in6_addr a;
  return inet_pton(AF_INET6, srv->address, &a) == 1 && (IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_UNSPECIFIED(&a));
}

/* Whether `host` (a Host header's value) is an IP literal with the
 * server's port: a.b.c.d:PORT, or [v6]:PORT when v6 is allowed. Never a
 * name: a page at a name that resolves here (DNS rebinding) sends its
 * name. */
static bool host_is_ip_literal(const char *host, uint16_t port, bool v6) {
  char ip[64], digits[8];
  const char *colon;
  size_t len;
  bool bracket = host[0] == '[';
  if (bracket) {
    const char *close = strchr(host, ']');
    if (!v6 || !close || close[1] != ':') return false;
    colon = close + 1;
    host++;
    len = (size_t)(close - host);
  } else {
    colon = strchr(host, ':');
    if (!colon || strchr(colon + 1, ':')) return false;
    len = (size_t)(colon - host);
  }
  if (len == 0 || len >= sizeof ip) return false;
  memcpy(ip, host, len);
  ip[len] = 0;
  unsigned char a[16];
  if (inet_pton(bracket ? AF_INET6 : AF_INET, ip, a) != 1) return false;
  snprintf(digits, sizeof digits, "%u", (unsigned)port);
  return strcmp(colon + 1, digits) == 0;
}

/* Whether the Origin header (when there is one) is the server's own page:
 * http://ADDR:PORT, localhost or 127.0.0.1 with the port, [::1] with it
 * when bound to ::1 or ::, and when bound to a wildcard, http://HOST where
 * HOST is the request's Host header, an IP literal with the port (a page
 * served from one of the machine's addresses, as the browser addressed
 * it). */
static bool origin_ok(myr_serve *srv, struct lws *wsi) {
  char origin[256];
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
  if (n <= 0) return true; /* not a browser: no page to speak for */
  if (n >= (int)sizeof origin || lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0) return false;
  char allowed[4][128];
  int count = 3;
  bool v6 = strchr(srv->address, ':') != NULL;
  snprintf(allowed[0], sizeof allowed[0], v6 ? "http://[%s]:%u" : "http://%s:%u", srv->address, (unsigned)srv->port);
  snprintf(allowed[1], sizeof allowed[1], "http://localhost:%u", (unsigned)srv->port);
  snprintf(allowed[2], sizeof allowed[2], "http://127.0.0.1:%u", (unsigned)srv->port);
  if (bound_v6_loopback(srv)) snprintf(allowed[count++], sizeof allowed[0], "http://[::1]:%u", (unsigned)srv->port);
  for (int i = 0; i < count; i++)
    if (strcasecmp(origin, allowed[i]) == 0) return true;
  char host[128];
  n = lws_hdr_total_length(wsi, WSI_TOKEN_HOST);
  if (!bound_any(srv, &v6) || n <= 0 || n >= (int)sizeof host ||
      lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) < 0)
    return false;
  /* bound to ::, IPv4 clients come too (IPv4-mapped) */
  return strncasecmp(origin, "http://", 7) == 0 && strcasecmp(origin + 7, host) == 0 &&
         host_is_ip_literal(host, srv->port, v6);
}

/* The handshake: the path /stream, a good Origin, room for one more. */
static int filter_connection(myr_serve *srv, struct lws *wsi) {
  char uri[64];
  bool ok =
      lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) > 0 && strcmp(uri, "/stream") == 0 && origin_ok(srv, wsi);
  pthread_mutex_lock(&srv->lock);
  ok = ok && clients_connected(srv) < srv->max_clients;
  if (!ok) srv->stats.refused++;
  pthread_mutex_unlock(&srv->lock);
  return ok ? 0 : 1;
}

static int established(myr_serve *srv, struct lws *wsi, serve_session *ss) {
  pthread_mutex_lock(&srv->lock);
  uint32_t slot = 0;
  while (slot < srv->max_clients && srv->clients[slot].id) slot++;
  if (slot == srv->max_clients) { /* raced past the filter */
    srv->stats.refused++;
    pthread_mutex_unlock(&srv->lock);
    return -1;
  }
  serve_client *c = &srv->clients[slot];
  *c = (serve_client){.id = ++srv->next_id, .wsi = wsi, .rate = MYR_SERVE_DEFAULT_RATE, .sent_frame = UINT64_MAX};
  *ss = (serve_session){.slot = slot, .id = c->id};
  myr_srv_queue_push(srv, c, srv->hello);
  srv->stats.connections++;
  srv->stats.clients = clients_connected(srv);
  pthread_cond_broadcast(&srv->wake); /* a paused simulation publishes its view to the newcomer */
  pthread_mutex_unlock(&srv->lock);
  lws_callback_on_writable(wsi);
  return 0;
}

static serve_client *client_of(myr_serve *srv, const serve_session *ss) {
  if (!ss->id || ss->slot >= srv->max_clients || srv->clients[ss->slot].id != ss->id) return NULL;
  return &srv->clients[ss->slot];
}

static void closed(myr_serve *srv, serve_session *ss) {
  serve_out *drop[SERVE_RING];
  uint32_t n = 0;
  pthread_mutex_lock(&srv->lock);
  serve_client *c = client_of(srv, ss);
  if (c) {
    for (; c->count; c->count--, c->head = (c->head + 1) % SERVE_RING)
      if (myr_srv_out_unref(c->ring[c->head])) drop[n++] = c->ring[c->head];
    *c = (serve_client){0};
    srv->stats.clients = clients_connected(srv);
  }
  pthread_mutex_unlock(&srv->lock);
  ss->id = 0;
  for (uint32_t i = 0; i < n; i++) free(drop[i]);
}

/* The next queued message written; -1 closes the connection. */
static int writeable(myr_serve *srv, struct lws *wsi, serve_session *ss) {
  pthread_mutex_lock(&srv->lock);
  serve_client *c = client_of(srv, ss);
  bool close = !c || c->close;
  serve_out *m = !close && c->count ? c->ring[c->head] : NULL;
  pthread_mutex_unlock(&srv->lock);
  if (close) return -1;
  if (!m) return 0;
  /* the message stays in the queue (and its bytes counted) while written */
  size_t size = m->size;
  int n = lws_write(wsi, m->data, size, LWS_WRITE_BINARY);
  pthread_mutex_lock(&srv->lock);
  c->head = (c->head + 1) % SERVE_RING;
  c->count--;
  c->bytes -= size;
  bool last = myr_srv_out_unref(m), more = c->count > 0;
  pthread_mutex_unlock(&srv->lock);
  if (last) free(m);
  if (n < (int)size) return -1;
  if (more) lws_callback_on_writable(wsi);
  return 0;
}

/* Queues a control reply for the client (under lock). */
static void reply(myr_serve *srv, serve_client *c, bool ok, const char *what) {
  serve_out *m = myr_srv_make_reply(ok, what);
  if (m && !myr_srv_queue_push(srv, c, m)) free(m);
}

static bool token_ok(const myr_serve *srv, const uint8_t *token) {
  uint8_t diff = 0; /* every byte compared: the time says nothing of where it differs */
  for (int i = 0; i < SERVE_TOKEN_BYTES; i++) diff |= (uint8_t)(token[i] ^ srv->token_bytes[i]);
  return diff == 0;
}

/* A control message with a good token, applied (under lock). */
static void control(myr_serve *srv, serve_client *c, const serve_msg *msg) {
  switch (msg->command) {
  case SERVE_CMD_PAUSE:
    srv->paused = true;
    reply(srv, c, true, "pause");
    break;
  case SERVE_CMD_RESUME:
    srv->paused = false;
    srv->steps = 0;
    reply(srv, c, true, "resume");
    break;
  case SERVE_CMD_STEP:
    if (!srv->paused) {
      reply(srv, c, false, "step: not paused");
      break;
    }
    srv->steps++;
    reply(srv, c, true, "step");
    break;
  default: /* SERVE_CMD_CHUNK: checked and applied between frames */
    if (msg->system >= srv->system_count || msg->rows == 0 || srv->chunk_req_count == SERVE_CHUNK_REQS) {
      reply(srv, c, false, "chunk: no such system, a zero size, or too many requests");
      break;
    }
    srv->chunk_reqs[srv->chunk_req_count++] = (serve_chunk_req){.system = msg->system, .rows = msg->rows};
    reply(srv, c, true, "chunk");
  }
  pthread_cond_broadcast(&srv->wake);
}

/* One whole client message; -1 closes the connection. */
static int message(myr_serve *srv, struct lws *wsi, serve_session *ss) {
  serve_msg msg;
  serve_parse_result r = myr_serve_parse(ss->rx, ss->rx_len, &msg);
  pthread_mutex_lock(&srv->lock);
  serve_client *c = client_of(srv, ss);
  bool bad = r != SERVE_PARSE_OK || !c;
  if (!bad && msg.type == SERVE_MSG_ACK) {
    bad = msg.seq > c->last_seq; /* a view never sent to it */
    if (!bad && msg.seq > c->ack) {
      c->ack = msg.seq;
      if (c->sent[msg.seq % SERVE_SENT].seq == msg.seq) c->ack_prev = c->sent[msg.seq % SERVE_SENT].used;
      else c->resync = true; /* too old to know its base: start again from a keyframe */
    }
  } else if (!bad && msg.type == SERVE_MSG_RATE) {
    c->rate = msg.rate;
    c->due_ns = 0;
  } else if (!bad && msg.type == SERVE_MSG_RESYNC) {
    c->resync = true;
    c->due_ns = 0;
  } else if (!bad && msg.type == SERVE_MSG_CONTROL) {
    if (!srv->desc.control) reply(srv, c, false, "control is off (start the server with control)");
    else if (!token_ok(srv, msg.token)) bad = true;
    else control(srv, c, &msg);
  }
  if (bad) srv->stats.closed_bad++;
  pthread_mutex_unlock(&srv->lock);
  if (bad) return -1;
  lws_callback_on_writable(wsi);
  return 0;
}

/* A fragment of a client message: gathered, at most 64 bytes in all. */
static int receive(myr_serve *srv, struct lws *wsi, serve_session *ss, const void *in, size_t len) {
  if (lws_is_first_fragment(wsi)) ss->rx_len = 0;
  if (!lws_frame_is_binary(wsi) || len > MYR_SERVE_MAX_MESSAGE - ss->rx_len) {
    pthread_mutex_lock(&srv->lock);
    srv->stats.closed_bad++;
    pthread_mutex_unlock(&srv->lock);
    return -1;
  }
  memcpy(ss->rx + ss->rx_len, in, len);
  ss->rx_len += len;
  if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi)) return 0;
  return message(srv, wsi, ss);
}

/* The simulation thread queued messages: ask to write to those clients. */
static void cancelled(myr_serve *srv) {
  pthread_mutex_lock(&srv->lock);
  for (uint32_t i = 0; i < srv->max_clients; i++) {
    serve_client *c = &srv->clients[i];
    if (c->id && (c->count || c->close)) lws_callback_on_writable(c->wsi);
  }
  pthread_mutex_unlock(&srv->lock);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  myr_serve *srv = server_of(wsi);
  serve_session *ss = user;
  switch (reason) {
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: return filter_connection(srv, wsi);
  case LWS_CALLBACK_ESTABLISHED: return established(srv, wsi, ss);
  case LWS_CALLBACK_CLOSED: closed(srv, ss); return 0;
  case LWS_CALLBACK_SERVER_WRITEABLE: return writeable(srv, wsi, ss);
  case LWS_CALLBACK_RECEIVE: return receive(srv, wsi, ss, in, len);
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
    if (srv) cancelled(srv);
    return 0;
  default: return lws_callback_http_dummy(wsi, reason, user, in, len);
  }
}

/* Makes the context; its status and port are told to myr_serve_create. */
static struct lws_context *start(myr_serve *srv) {
  srv->protocols[0] = (struct lws_protocols){
      .name = "myriad-stream", .callback = callback, .per_session_data_size = sizeof(serve_session)};
  struct lws_context_creation_info info;
  memset(&info, 0, sizeof info);
  info.port = srv->desc.port;
  info.iface = srv->address;
  info.protocols = srv->protocols;
  info.user = srv;
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8;
  if (!strchr(srv->address, ':')) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
  if (srv->web_root) {
    srv->mount = (struct lws_http_mount){.mountpoint = "/",
                                         .mountpoint_len = 1,
                                         .origin = srv->web_root,
                                         .def = "index.html",
                                         .origin_protocol = LWSMPRO_FILE};
    info.mounts = &srv->mount;
  }
  struct lws_context *ctx = lws_create_context(&info);
  myr_status st = MYR_EIO;
  if (ctx) {
    struct lws_vhost *vh = lws_get_vhost_by_name(ctx, "default");
    int port = vh ? lws_get_vhost_listen_port(vh) : -1;
    if (port > 0 && port <= 65535) {
      srv->port = (uint16_t)port;
      st = MYR_OK;
    } else {
      lws_context_destroy(ctx);
      ctx = NULL;
    }
  }
  pthread_mutex_lock(&srv->lock);
  srv->context = ctx;
  srv->start_status = st;
  srv->ready = true;
  pthread_cond_broadcast(&srv->wake);
  pthread_mutex_unlock(&srv->lock);
  return ctx;
}

void *myr_srv_thread(void *arg) {
  myr_serve *srv = arg;
  struct lws_context *ctx = start(srv);
  if (!ctx) return NULL;
  /* stop: set by myr_serve_destroy before its lws_cancel_service (seq_cst) */
  while (!atomic_load(&srv->stop))
    if (lws_service(ctx, 0) < 0) break;
  /* The context goes only once stop is set, under the lock stop_service
   * holds while it wakes this thread: until then the other threads may
   * still call lws_cancel_service on it (after a failed lws_service too). */
  pthread_mutex_lock(&srv->lock);
  while (!atomic_load(&srv->stop)) pthread_cond_wait(&srv->wake, &srv->lock);
  pthread_mutex_unlock(&srv->lock);
  lws_context_destroy(ctx);
  return NULL;
}
