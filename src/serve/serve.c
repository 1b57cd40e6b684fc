/* The server made and unmade: its description checked, its token drawn,
 * its hello written, its service thread started and stopped; the messages
 * it queues and the getters. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "serve_internal.h"

uint64_t myr_srv_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

serve_out *myr_srv_out_new(size_t size) {
  serve_out *m = malloc(sizeof *m + LWS_PRE + size);
  if (!m) return NULL;
  m->refs = 0;
  m->size = size;
  m->data = m->room + LWS_PRE;
  return m;
}

bool myr_srv_out_unref(serve_out *m) { return --m->refs == 0; }

bool myr_srv_queue_push(myr_serve *srv, serve_client *c, serve_out *m) {
  (void)srv;
  if (c->count == SERVE_RING) return false;
  c->ring[(c->head + c->count) % SERVE_RING] = m;
  c->count++;
  c->bytes += m->size;
  m->refs++;
  return true;
}

serve_out *myr_srv_make_reply(bool ok, const char *what) {
  char json[160];
  int n = ok ? snprintf(json, sizeof json, "{\"ok\":true,\"command\":\"%s\"}", what)
             : snprintf(json, sizeof json, "{\"ok\":false,\"error\":\"%s\"}", what);
  if (n < 0 || (size_t)n >= sizeof json) return NULL;
  serve_out *m = myr_srv_out_new((size_t)n + 1);
  if (!m) return NULL;
  m->data[0] = MYR_STREAM_REPLY;
  memcpy(m->data + 1, json, (size_t)n);
  return m;
}

void myr_srv_json_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
    else if (*p < 0x20) fprintf(out, "\\u%04x", *p);
    else fputc(*p, out);
  }
  fputc('"', out);
}

/* A message of a type byte and the text of a memstream; NULL on failure. */
serve_out *myr_srv_out_of_text(uint8_t type, FILE *f, char **text, size_t *len) {
  bool ok = fclose(f) == 0;
  serve_out *m = ok ? myr_srv_out_new(*len + 1) : NULL;
  if (m) {
    m->data[0] = type;
    memcpy(m->data + 1, *text, *len);
  }
  free(*text);
  *text = NULL;
  return m;
}

myr_status myr_srv_make_hello(myr_serve *srv) {
  const myr_stream_desc *d = myr_stream_description(srv->stream);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return MYR_ENOMEM;
  fprintf(f, "{\"version\":%d,\"dims\":%u,\"bits\":%u,\"box\":[[", MYR_STREAM_VERSION, d->dims, d->bits);
  for (uint32_t a = 0; a < d->dims; a++) fprintf(f, "%s%.9g", a ? "," : "", (double)d->box_min[a]);
  fputs("],[", f);
  for (uint32_t a = 0; a < d->dims; a++) fprintf(f, "%s%.9g", a ? "," : "", (double)d->box_max[a]);
  fputs("]],\"kinds\":[", f);
  for (uint32_t k = 0; k < d->kind_count; k++) {
    if (k) fputc(',', f);
    myr_srv_json_string(f, myr_component_name(srv->world, d->kinds[k]));
  }
  fprintf(f, "],\"color\":%s,\"scenario\":", d->has_color ? "true" : "false");
  myr_srv_json_string(f, srv->scenario);
  fprintf(f, ",\"entities\":%u,\"control\":%s,\"systems\":[", myr_world_entity_count(srv->world),
          srv->desc.control ? "true" : "false");
  for (uint32_t i = 0; i < srv->system_count; i++) {
    myr_system_stats ss;
    if (i) fputc(',', f);
    myr_srv_json_string(f, myr_schedule_system_stats(srv->schedule, i, &ss) == MYR_OK ? ss.name : "");
  }
  fputs("]}", f);
  srv->hello = myr_srv_out_of_text(MYR_STREAM_HELLO, f, &text, &len);
  if (!srv->hello) return MYR_ENOMEM;
  srv->hello->refs = 1; /* the server's own, until it is destroyed */
  return MYR_OK;
}

/* 16 random bytes, and their hex form. */
static myr_status draw_token(myr_serve *srv) {
  size_t got = 0;
  while (got < SERVE_TOKEN_BYTES) {
    ssize_t n = getrandom(srv->token_bytes + got, SERVE_TOKEN_BYTES - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got < SERVE_TOKEN_BYTES) { /* no getrandom (old kernel): the device */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return MYR_EIO;
    ssize_t n = read(fd, srv->token_bytes, SERVE_TOKEN_BYTES);
    close(fd);
    if (n != SERVE_TOKEN_BYTES) return MYR_EIO;
  }
  for (int i = 0; i < SERVE_TOKEN_BYTES; i++) snprintf(srv->token + 2 * i, 3, "%02x", srv->token_bytes[i]);
  return MYR_OK;
}

static myr_status check_desc(myr_world *world, myr_schedule *schedule, const myr_stream_desc *stream,
                             const myr_serve_desc *desc, myr_serve **out) {
  if (!world || !schedule || !stream || !desc || !out || myr_schedule_world(schedule) != world) return MYR_EINVAL;
  if (desc->max_clients > SERVE_MAX_CLIENTS || desc->encoder_nice < 0 || desc->encoder_nice > 19) return MYR_EINVAL;
  const char *a = desc->address ? desc->address : "127.0.0.1";
  unsigned char addr[16];
  if (strlen(a) >= 64 || (inet_pton(AF_INET, a, addr) != 1 && inet_pton(AF_INET6, a, addr) != 1)) return MYR_EINVAL;
  return MYR_OK;
}

/* Whether address:port can be bound now (a listener there, or an address
 * not this machine's, says no). Checked before libwebsockets tries, as
 * lws_create_context leaks a little when its bind fails (4.1.6). */
static bool bindable(const char *address, uint16_t port) {
  struct sockaddr_storage ss = {0};
  socklen_t len;
  if (inet_pton(AF_INET, address, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
    ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
    ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    len = sizeof(struct sockaddr_in);
  } else {
    inet_pton(AF_INET6, address, &((struct sockaddr_in6 *)&ss)->sin6_addr);
    ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
    ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
    len = sizeof(struct sockaddr_in6);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return true; /* no verdict: let libwebsockets try */
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* as lws does: a port in TIME_WAIT is free */
  bool ok = bind(fd, (struct sockaddr *)&ss, len) == 0;
  close(fd);
  return ok;
}

/* Copies what the description points to; MYR_ENOMEM. */
static myr_status copy_desc(myr_serve *srv, const myr_serve_desc *desc) {
  srv->desc = *desc;
  snprintf(srv->address, sizeof srv->address, "%s", desc->address ? desc->address : "127.0.0.1");
  srv->desc.address = srv->address;
  srv->max_clients = desc->max_clients ? desc->max_clients : MYR_SERVE_DEFAULT_CLIENTS;
  if (!srv->desc.queue_bytes) srv->desc.queue_bytes = MYR_SERVE_DEFAULT_QUEUE_BYTES;
  srv->scenario = strdup(desc->scenario_name ? desc->scenario_name : "");
  srv->web_root = desc->web_root ? strdup(desc->web_root) : NULL;
  srv->clients = calloc(srv->max_clients, sizeof *srv->clients);
  srv->job = calloc(SERVE_MAX_CLIENTS, sizeof *srv->job);
  if (!srv->scenario || (desc->web_root && !srv->web_root) || !srv->clients || !srv->job) return MYR_ENOMEM;
  srv->desc.scenario_name = srv->scenario;
  srv->desc.web_root = srv->web_root;
  return MYR_OK;
}

static void free_server(myr_serve *srv) {
  if (srv->hello) free(srv->hello);
  myr_stream_destroy(srv->stream);
  free(srv->clients);
  free(srv->scenario);
  free(srv->web_root);
  free(srv->trace_buf);
  free(srv->job);
  pthread_cond_destroy(&srv->enc_wake);
  pthread_mutex_destroy(&srv->enc_lock);
  pthread_cond_destroy(&srv->wake);
  pthread_mutex_destroy(&srv->lock);
  free(srv);
}

/* Ends the service thread (the context destroyed there, closing every
 * connection). */
static void stop_service(myr_serve *srv) {
  /* Under the lock: the service thread takes it before destroying the
   * context, so the context (and the descriptor lws_cancel_service writes
   * to) cannot go while this call is in it (TSan saw that race). */
  pthread_mutex_lock(&srv->lock);
  atomic_store(&srv->stop, true);
  lws_cancel_service(srv->context);
  pthread_cond_broadcast(&srv->wake);
  pthread_mutex_unlock(&srv->lock);
  pthread_join(srv->thread, NULL);
}

/* Ends the encoder thread, after the job it is on. */
static void stop_encoder(myr_serve *srv) {
  pthread_mutex_lock(&srv->enc_lock);
  srv->enc_stop = true;
  pthread_cond_signal(&srv->enc_wake);
  pthread_mutex_unlock(&srv->enc_lock);
  pthread_join(srv->encoder, NULL);
}

/* Starts the service thread and waits until it listens (or failed to),
 * then the encoder thread. */
static myr_status start_thread(myr_serve *srv) {
  if (pthread_create(&srv->thread, NULL, myr_srv_thread, srv) != 0) return MYR_ETHREAD;
  pthread_mutex_lock(&srv->lock);
  while (!srv->ready) pthread_cond_wait(&srv->wake, &srv->lock);
  myr_status st = srv->start_status;
  pthread_mutex_unlock(&srv->lock);
  if (st != MYR_OK) {
    pthread_join(srv->thread, NULL); /* it made no context and ended */
    return st;
  }
  if (pthread_create(&srv->encoder, NULL, myr_srv_encoder, srv) != 0) {
    stop_service(srv);
    return MYR_ETHREAD;
  }
  return MYR_OK;
}

myr_status myr_serve_create(myr_world *world, myr_schedule *schedule, const myr_stream_desc *stream,
                            const myr_serve_desc *desc, myr_serve **out) {
  myr_status st = check_desc(world, schedule, stream, desc, out);
  if (st != MYR_OK) return st;
  myr_serve *srv = calloc(1, sizeof *srv);
  if (!srv) return MYR_ENOMEM;
  pthread_mutex_init(&srv->lock, NULL);
  pthread_cond_init(&srv->wake, NULL);
  pthread_mutex_init(&srv->enc_lock, NULL);
  pthread_cond_init(&srv->enc_wake, NULL);
  atomic_init(&srv->stop, false);
  srv->world = world;
  srv->schedule = schedule;
  srv->system_count = myr_schedule_system_count(schedule);
  srv->last_frame_seen = myr_world_frame(world);
  if ((st = copy_desc(srv, desc)) == MYR_OK && (st = myr_stream_create(world, stream, &srv->stream)) == MYR_OK &&
      (st = draw_token(srv)) == MYR_OK && (st = myr_srv_make_hello(srv)) == MYR_OK) {
    lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
    st = bindable(srv->address, desc->port) ? start_thread(srv) : MYR_EIO;
  }
  if (st != MYR_OK) {
    free_server(srv);
    return st;
  }
  srv->figures_due_ns = srv->figures_ns = srv->last_call_ns = myr_srv_now_ns();
  *out = srv;
  return MYR_OK;
}

void myr_serve_destroy(myr_serve *srv) {
  if (!srv) return;
  if (srv->tracing) myr_schedule_trace_end(srv->schedule, NULL);
  stop_encoder(srv); /* first: it wakes the service thread */
  stop_service(srv);
  free_server(srv);
}

uint16_t myr_serve_port(const myr_serve *srv) { return srv ? srv->port : 0; }
const char *myr_serve_address(const myr_serve *srv) { return srv ? srv->address : NULL; }
const char *myr_serve_token(const myr_serve *srv) { return srv ? srv->token : NULL; }

bool myr_serve_paused(const myr_serve *srv) {
  if (!srv) return false;
  pthread_mutex_lock((pthread_mutex_t *)&srv->lock);
  bool p = srv->paused;
  pthread_mutex_unlock((pthread_mutex_t *)&srv->lock);
  return p;
}

myr_status myr_serve_get_stats(const myr_serve *srv, myr_serve_stats *out) {
  if (!srv || !out) return MYR_EINVAL;
  pthread_mutex_lock((pthread_mutex_t *)&srv->lock);
  *out = srv->stats;
  pthread_mutex_unlock((pthread_mutex_t *)&srv->lock);
  return MYR_OK;
}
