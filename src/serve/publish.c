/* Views published: the simulation thread copies the world's columns
 * (myr_stream_copy) when a client is due an update and hands the copy to
 * the encoder thread, which commits it (quantise, order, hash), encodes it
 * once per distinct baseline and queues it to each client that has room.
 * The stream is the encoder's while it holds enc_lock; the simulation
 * thread only tries that lock, so it never waits for an encoding (a frame
 * that finds the encoder busy is not captured; its clients stay due).
 * Also here, on the simulation thread: figures twice a second, control's
 * chunk sizes applied, pause and step. */
#define _GNU_SOURCE /* SCHED_IDLE */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "serve_internal.h"

#define FIGURES_NS 500000000u   /* figures about twice a second */
#define KEY_WAIT_NS 2000000000u /* a keyframe in flight is awaited this long before another is sent */

typedef serve_due due;

/* One encoding shared by the clients due at one baseline. */
typedef struct encoding {
  uint32_t base, prev, used;
  serve_out *m;
} encoding;

static uint64_t period_ns(const serve_client *c) { return c->rate ? 1000000000u / c->rate : 0; }

/* The next update's time: the multiple of the period on the clock after
 * now (or after the time it was due, when it comes along early), so that
 * clients at one rate fall due together and share captures. */
static uint64_t next_due(const serve_client *c, uint64_t now) {
  uint64_t p = period_ns(c), t = c->due_ns > now ? c->due_ns : now;
  return p ? (t / p + 1) * p : now;
}

/* Under lock: the clients due an update of `frame` at `now`. A client is
 * due when it has no view of this frame, its rate allows one (once one
 * client is due, those due within half their period come along, so that
 * clients at one rate share their captures), its queue
 * could take one more the size of its last, and no keyframe it was sent
 * is still unacknowledged (for at most KEY_WAIT_NS). */
static uint32_t clients_due(myr_serve *srv, uint64_t frame, uint64_t now, due *out) {
  uint32_t n = 0;
  bool any = false; /* one client due now: then those due within half their period come along */
  for (uint32_t i = 0; i < srv->max_clients && !any; i++) {
    serve_client *c = &srv->clients[i];
    any = c->id && !c->close && (c->sent_frame != frame || c->resync) && now >= c->due_ns;
  }
  if (!any) return 0;
  for (uint32_t i = 0; i < srv->max_clients; i++) {
    serve_client *c = &srv->clients[i];
    if (!c->id || c->close || (c->sent_frame == frame && !c->resync) || now + period_ns(c) / 2 < c->due_ns) continue;
    if (c->count && (c->count == SERVE_RING || c->bytes + c->last_size > srv->desc.queue_bytes)) {
      srv->stats.updates_skipped++; /* it would overflow: skip this one, try again at its rate */
      c->due_ns = next_due(c, now);
      continue;
    }
    if (!c->resync && c->key_seq > c->ack && now - c->key_ns < KEY_WAIT_NS) continue;
    out[n++] = (due){.slot = i, .id = c->id, .base = c->resync ? 0 : c->ack, .prev = c->resync ? 0 : c->ack_prev};
    /* in flight: not due again until its period has passed, nor for this frame */
    c->due_ns = next_due(c, now);
    c->sent_frame = frame;
    c->resync = false;
  }
  return n;
}

static encoding *encoding_of(encoding *e, uint32_t n, const due *d) {
  for (uint32_t i = 0; i < n; i++)
    if (e[i].base == d->base && e[i].prev == d->prev) return &e[i];
  return NULL;
}

/* The newest view encoded against each distinct baseline of the clients
 * due (a baseline the stream no longer holds: a keyframe). */
static myr_status encode_all(myr_serve *srv, due *d, uint32_t n, encoding *e, uint32_t *en) {
  *en = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (d[i].base &&
        (!myr_stream_holds(srv->stream, d[i].base) || (d[i].prev && !myr_stream_holds(srv->stream, d[i].prev))))
      d[i].base = d[i].prev = 0;
    if (encoding_of(e, *en, &d[i])) continue;
    unsigned char *data;
    size_t size;
    uint32_t used;
    myr_status st = myr_stream_encode(srv->stream, d[i].base, d[i].prev, &data, &size, &used);
    serve_out *m = st == MYR_OK ? myr_srv_out_new(size) : NULL;
    if (m) memcpy(m->data, data, size);
    if (st == MYR_OK) free(data);
    if (!m) return st == MYR_OK ? MYR_ENOMEM : st;
    e[(*en)++] = (encoding){.base = d[i].base, .prev = d[i].prev, .used = used, .m = m};
  }
  return MYR_OK;
}

/* Under lock: each due client still connected gets its encoding if its
 * queue has room (an empty queue always has). */
static void queue_all(myr_serve *srv, const due *d, uint32_t n, encoding *e, uint32_t en, uint32_t seq, uint64_t now) {
  for (uint32_t i = 0; i < n; i++) {
    serve_client *c = &srv->clients[d[i].slot];
    if (c->id != d[i].id) continue; /* gone meanwhile */
    encoding *x = encoding_of(e, en, &d[i]);
    c->last_size = x->m->size;
    if (c->count && (c->count == SERVE_RING || c->bytes + x->m->size > srv->desc.queue_bytes)) {
      srv->stats.updates_skipped++;
      continue;
    }
    myr_srv_queue_push(srv, c, x->m);
    c->last_seq = seq;
    c->sent[seq % SERVE_SENT].seq = seq;
    c->sent[seq % SERVE_SENT].used = x->used;
    if (x->used == 0) {
      c->key_seq = seq;
      c->key_ns = now;
      srv->stats.keyframes++;
    }
    srv->stats.updates_sent++;
    srv->stats.bytes_queued += x->m->size;
  }
}

/* Under lock: the views a client may be coded against later: its ack and
 * that ack's base, and the views in flight to it with their bases (each
 * may become its ack and ack_prev). Up to `cap`, duplicates and all. */
static uint32_t views_in_use(const myr_serve *srv, uint32_t *out, uint32_t cap) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < srv->max_clients; i++) {
    const serve_client *c = &srv->clients[i];
    if (!c->id) continue;
    if (n + 2 <= cap) out[n++] = c->ack, out[n++] = c->ack_prev;
    for (uint32_t k = 0; k < SERVE_SENT && n + 2 <= cap; k++)
      if (c->sent[k].seq > c->ack) out[n++] = c->sent[k].seq, out[n++] = c->sent[k].used;
  }
  return n;
}

/* The encoder thread: a job (the clients due and the copy in the stream)
 * committed, encoded and queued; then the service thread woken. The
 * views clients still use stay in the stream however many captures
 * faster clients ask for (myr_stream_keep). */
static void run_job(myr_serve *srv, due *d, uint32_t n, uint64_t now) {
  encoding e[SERVE_MAX_CLIENTS];
  uint32_t keep[MYR_STREAM_MAX_KEEP]; /* 4 KiB of the encoder thread's stack */
  uint32_t seq, en = 0;
  uint64_t t0 = myr_srv_now_ns();
  pthread_mutex_lock(&srv->lock);
  uint32_t kept = views_in_use(srv, keep, MYR_STREAM_MAX_KEEP);
  pthread_mutex_unlock(&srv->lock);
  myr_status st = myr_stream_keep(srv->stream, keep, kept);
  if (st == MYR_OK) st = myr_stream_commit(srv->stream, &seq);
  if (st == MYR_OK) st = encode_all(srv, d, n, e, &en);
  uint32_t count = myr_stream_count(srv->stream);
  pthread_mutex_unlock(&srv->enc_lock); /* the encodings are the job's own: the stream is free */
  double ms = (double)(myr_srv_now_ns() - t0) * 1e-6;
  pthread_mutex_lock(&srv->lock);
  srv->stats.captures += st == MYR_OK;
  srv->stats.encodes += en;
  srv->stats.encode_ms = ms;
  srv->stats.encode_ms_total += ms;
  srv->view_count = count;
  if (st == MYR_OK) queue_all(srv, d, n, e, en, seq, now);
  for (uint32_t i = 0; i < en; i++)
    if (e[i].m->refs == 0) free(e[i].m); /* no queue took it */
  pthread_mutex_unlock(&srv->lock);
  if (st == MYR_OK) lws_cancel_service(srv->context);
  pthread_mutex_lock(&srv->enc_lock);
}

void *myr_srv_encoder(void *arg) {
  myr_serve *srv = arg;
  due d[SERVE_MAX_CLIENTS];
  /* Linux's nice is per thread: this one's alone (best effort) */
  if (srv->desc.encoder_nice) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), srv->desc.encoder_nice);
  if (srv->desc.encoder_nice >= 19) { /* only when nothing else wants the core: SCHED_IDLE */
    struct sched_param sp = {.sched_priority = 0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
  }
  pthread_mutex_lock(&srv->enc_lock);
  for (;;) {
    while (!srv->job_n && !srv->enc_stop) pthread_cond_wait(&srv->enc_wake, &srv->enc_lock);
    if (srv->enc_stop) break;
    uint32_t n = srv->job_n;
    uint64_t now = srv->job_now;
    memcpy(d, srv->job, sizeof d[0] * n);
    srv->job_n = 0;
    run_job(srv, d, n, now); /* returns with enc_lock held again */
  }
  pthread_mutex_unlock(&srv->enc_lock);
  return NULL;
}

/* On the simulation thread: when clients are due and the encoder is free,
 * the world copied into the stream and handed to the encoder. */
static myr_status publish_views(myr_serve *srv, uint64_t now) {
  if (pthread_mutex_trylock(&srv->enc_lock) != 0) return MYR_OK; /* encoding: this frame is not captured */
  if (srv->job_n) {
    pthread_mutex_unlock(&srv->enc_lock);
    return MYR_OK;
  }
  due *d = srv->job;
  uint64_t frame = myr_world_frame(srv->world);
  pthread_mutex_lock(&srv->lock);
  uint32_t n = clients_due(srv, frame, now, d);
  pthread_mutex_unlock(&srv->lock);
  myr_status st = MYR_OK;
  if (n) {
    st = myr_stream_copy(srv->stream, srv->world);
    if (st == MYR_OK) {
      srv->job_n = n;
      srv->job_now = now;
      pthread_cond_signal(&srv->enc_wake);
    }
  }
  pthread_mutex_unlock(&srv->enc_lock);
  if (n) {
    double ms = (double)(myr_srv_now_ns() - now) * 1e-6;
    pthread_mutex_lock(&srv->lock);
    srv->stats.capture_ms = ms;
    srv->stats.capture_ms_total += ms;
    pthread_mutex_unlock(&srv->lock);
  }
  return st;
}

/* Figures to every client whose queue has room for them. */
static bool publish_figures(myr_serve *srv, uint64_t now) {
  if (now < srv->figures_due_ns) return false;
  pthread_mutex_lock(&srv->lock);
  uint32_t clients = srv->stats.clients;
  pthread_mutex_unlock(&srv->lock);
  serve_out *m = myr_srv_make_figures(srv, clients);
  srv->figures_due_ns = now + FIGURES_NS;
  if (!m) return false;
  pthread_mutex_lock(&srv->lock);
  for (uint32_t i = 0; i < srv->max_clients; i++) {
    serve_client *c = &srv->clients[i];
    if (c->id && !c->close && (!c->count || (c->count < SERVE_RING && c->bytes + m->size <= srv->desc.queue_bytes)))
      myr_srv_queue_push(srv, c, m);
  }
  bool unused = m->refs == 0;
  pthread_mutex_unlock(&srv->lock);
  if (unused) free(m);
  return !unused;
}

/* The chunk sizes control asked for, applied before the next frame. */
static void apply_chunks(myr_serve *srv) {
  serve_chunk_req reqs[SERVE_CHUNK_REQS];
  pthread_mutex_lock(&srv->lock);
  uint32_t n = srv->chunk_req_count;
  memcpy(reqs, srv->chunk_reqs, sizeof reqs[0] * n);
  srv->chunk_req_count = 0;
  pthread_mutex_unlock(&srv->lock);
  for (uint32_t i = 0; i < n; i++) myr_schedule_set_chunk_rows(srv->schedule, reqs[i].system, reqs[i].rows);
}

/* Frames counted and their pace, for the figures. */
static void note_frames(myr_serve *srv, uint64_t now) {
  uint64_t frame = myr_world_frame(srv->world);
  if (frame == srv->last_frame_seen) return;
  uint64_t frames = frame > srv->last_frame_seen ? frame - srv->last_frame_seen : 1;
  double interval = (double)(now - srv->last_call_ns) / (double)frames;
  srv->frame_interval_ns = srv->frame_interval_ns > 0 ? 0.8 * srv->frame_interval_ns + 0.2 * interval : interval;
  srv->frames_since += frames;
  srv->last_frame_seen = frame;
  srv->last_call_ns = now;
}

myr_status myr_serve_frame(myr_serve *srv) {
  if (!srv) return MYR_EINVAL;
  uint64_t now = myr_srv_now_ns();
  apply_chunks(srv);
  note_frames(srv, now);
  myr_status st = publish_views(srv, now);
  bool queued = publish_figures(srv, now);
  myr_srv_trace_before_figures(srv, myr_srv_now_ns());
  if (queued) lws_cancel_service(srv->context); /* a write to a pipe: only when there is news */
  return st;
}

bool myr_serve_turn(myr_serve *srv, uint32_t max_ms) {
  if (!srv) return false;
  pthread_mutex_lock(&srv->lock);
  if (srv->paused && !srv->steps) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += max_ms / 1000;
    until.tv_nsec += (long)(max_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    /* one wake-up (control, a new client) or the time: then publish */
    pthread_cond_timedwait(&srv->wake, &srv->lock, &until);
  }
  bool go = !srv->paused || srv->steps;
  if (srv->paused && srv->steps) srv->steps--;
  pthread_mutex_unlock(&srv->lock);
  if (!go) myr_serve_frame(srv);
  return go;
}
