/* Private to serve: the server's state, shared by its lws service thread
 * (serve.c, lws.c) and the simulation thread (publish.c, figures.c). What
 * both threads touch is under `lock`; the rest says whose it is. The
 * functions the files share are named myr_srv_, so that the installed
 * archive defines no global name without the myr_ prefix. */
#ifndef MYRIAD_SERVE_INTERNAL_H
#define MYRIAD_SERVE_INTERNAL_H

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "myriad/serve.h"
#include "parse.h"

/* A message on its way to one or more clients: LWS_PRE bytes of room for
 * the WebSocket header (lws_write writes it there: the service thread
 * writes one client at a time, so clients can share a message), then the
 * payload. refs counts the queues holding it, under the server's lock. */
typedef struct serve_out {
  uint32_t refs;
  size_t size;
  unsigned char *data; /* = room + LWS_PRE */
  unsigned char room[];
} serve_out;

#define SERVE_RING 64u  /* messages a client's queue holds at most */
#define SERVE_SENT 256u /* views queued for a client that an ack can still name */

typedef struct serve_client {
  uint64_t id;     /* the connection's number, 0 for a free slot */
  struct lws *wsi; /* the service thread's only */
  /* under lock */
  serve_out *ring[SERVE_RING];
  uint32_t head, count;
  size_t bytes;
  uint32_t ack;      /* the newest view it acknowledged (0: none) */
  uint32_t ack_prev; /* the base that view was coded against (0: a keyframe) */
  struct {
    uint32_t seq, used;
  } sent[SERVE_SENT];  /* the views queued for it lately, at seq % SERVE_SENT, and their bases */
  uint32_t last_seq;   /* the newest view queued for it */
  uint32_t key_seq;    /* the newest keyframe queued for it */
  uint64_t key_ns;     /* when */
  uint64_t sent_frame; /* the world's frame of the newest view queued (UINT64_MAX: none) */
  uint16_t rate;       /* updates a second, 0 = every frame */
  uint64_t due_ns;     /* the next update not before */
  bool resync;         /* asked for a keyframe */
  bool close;          /* the service thread closes it */
  size_t last_size;    /* the size of its last update: a queue that could not take it is not due */
} serve_client;

/* A chunk size a control message asked for, applied between frames. */
typedef struct serve_chunk_req {
  uint32_t system, rows;
} serve_chunk_req;

/* A client due an update: which, and the baseline it acknowledged (base)
 * with the one that was coded against (prev). */
typedef struct serve_due {
  uint32_t slot, base, prev;
  uint64_t id;
} serve_due;

#define SERVE_CHUNK_REQS 32u
#define SERVE_MAX_CLIENTS 256u

struct myr_serve {
  myr_world *world;
  myr_schedule *schedule;
  myr_stream *stream; /* the simulation thread's */
  myr_serve_desc desc;
  char address[64];
  char *web_root, *scenario;
  char token[MYR_SERVE_TOKEN_HEX + 1];
  uint8_t token_bytes[SERVE_TOKEN_BYTES];
  uint16_t port;
  uint32_t system_count; /* the schedule's, at the start */
  struct lws_http_mount mount;
  struct lws_protocols protocols[2];

  pthread_t thread;
  struct lws_context *context; /* made, served and destroyed by the service thread */
  atomic_bool stop;
  /* the service thread's start: ready set with start_status under lock */
  bool ready;
  myr_status start_status;

  pthread_mutex_t lock;
  pthread_cond_t wake; /* myr_serve_turn waits on it: control arrived */
  serve_client *clients;
  uint32_t max_clients;
  uint64_t next_id;
  serve_out *hello;
  bool paused;
  uint32_t steps; /* steps asked for while paused */
  serve_chunk_req chunk_reqs[SERVE_CHUNK_REQS];
  uint32_t chunk_req_count;
  myr_serve_stats stats; /* connections, refused, closed_bad under lock; the rest the simulation thread's */

  /* the encoder thread (publish.c): the stream is its own while it holds
   * enc_lock; the simulation thread only tries the lock, copies the world
   * into the stream and leaves a job (job_n clients due at job_now) */
  pthread_t encoder;
  bool encoder_started;
  pthread_mutex_t enc_lock;
  pthread_cond_t enc_wake;
  bool enc_stop;
  serve_due *job; /* SERVE_MAX_CLIENTS of them */
  uint32_t job_n;
  uint64_t job_now;
  uint32_t view_count; /* the newest view's entities, under lock */

  /* the simulation thread's */
  uint64_t figures_due_ns, last_call_ns, frames_since, figures_ns, figures_bytes_mark;
  uint64_t last_frame_seen, figures_sent_mark;
  double frame_interval_ns; /* smoothed time between frames */
  bool tracing;             /* this server began a trace on the schedule */
  void *trace_buf;
  size_t trace_cap;
};

uint64_t myr_srv_now_ns(void);

/* serve_out: one with `size` bytes of payload (refs 0), or NULL. */
serve_out *myr_srv_out_new(size_t size);
/* Drops one reference (under lock); true when it was the last: the caller
 * frees it (outside the lock if it likes). */
bool myr_srv_out_unref(serve_out *m);

/* Under lock: queues m for client c if its queue has room (a reference
 * taken); false when it does not. */
bool myr_srv_queue_push(myr_serve *srv, serve_client *c, serve_out *m);

/* JSON: a string escaped; a message of `type` and a memstream's text (f
 * closed, *text freed), NULL on failure. */
void myr_srv_json_string(FILE *out, const char *s);
serve_out *myr_srv_out_of_text(uint8_t type, FILE *f, char **text, size_t *len);

/* The service thread (lws.c): its body, and the hello JSON. */
void *myr_srv_thread(void *arg);
myr_status myr_srv_make_hello(myr_serve *srv);

/* figures.c: the figures message, NULL when out of memory; the trace for
 * the Gantt begun when the figures are near. Simulation thread. */
serve_out *myr_srv_make_figures(myr_serve *srv, uint32_t clients);
void myr_srv_trace_before_figures(myr_serve *srv, uint64_t now);

/* publish.c: a reply to a control message, for the service thread; the
 * encoder thread's body. */
void *myr_srv_encoder(void *arg);
serve_out *myr_srv_make_reply(bool ok, const char *what);

#endif
