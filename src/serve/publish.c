/* The simulation thread's side: views captured when a client is due one,
 * encoded once per distinct baseline, queued to each client that has room;
 * figures twice a second; control's chunk sizes applied; pause and step. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_internal.h"

#define FIGURES_NS 500000000u   /* figures about twice a second */
#define KEY_WAIT_NS 2000000000u /* a keyframe in flight is awaited this long before another is sent */

/* A client due an update: which, and the baseline it acknowledged. */
typedef struct due {
  uint32_t slot, base, prev;
  uint64_t id;
} due;

/* One encoding shared by the clients due at one baseline. */
typedef struct encoding {
  uint32_t base, prev, used;
  serve_out *m;
} encoding;

static uint64_t period_ns(const serve_client *c) { return c->rate ? 1000000000u / c->rate : 0; }

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
      c->due_ns = now + period_ns(c);
      continue;
    }
    if (!c->resync && c->key_seq > c->ack && now - c->key_ns < KEY_WAIT_NS) continue;
    out[n++] = (due){.slot = i, .id = c->id, .base = c->resync ? 0 : c->ack, .prev = c->resync ? 0 : c->ack_prev};
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
static void queue_all(myr_serve *srv, const due *d, uint32_t n, encoding *e, uint32_t en, uint32_t seq, uint64_t frame,
                      uint64_t now) {
  for (uint32_t i = 0; i < n; i++) {
    serve_client *c = &srv->clients[d[i].slot];
    if (c->id != d[i].id) continue; /* gone meanwhile */
    encoding *x = encoding_of(e, en, &d[i]);
    c->last_size = x->m->size;
    c->due_ns = now + period_ns(c);
    if (c->count && (c->count == SERVE_RING || c->bytes + x->m->size > srv->desc.queue_bytes)) {
      srv->stats.updates_skipped++;
      continue;
    }
    myr_srv_queue_push(srv, c, x->m);
    c->last_seq = seq;
    c->sent[seq % SERVE_SENT].seq = seq;
    c->sent[seq % SERVE_SENT].used = x->used;
    c->sent_frame = frame;
    c->resync = false;
    if (x->used == 0) {
      c->key_seq = seq;
      c->key_ns = now;
      srv->stats.keyframes++;
    }
    srv->stats.updates_sent++;
    srv->stats.bytes_queued += x->m->size;
    srv->bytes_since += x->m->size;
  }
}

static myr_status publish_views(myr_serve *srv, uint64_t now, bool *queued) {
  due d[SERVE_MAX_CLIENTS];
  encoding e[SERVE_MAX_CLIENTS];
  uint64_t frame = myr_world_frame(srv->world);
  pthread_mutex_lock(&srv->lock);
  uint32_t n = clients_due(srv, frame, now, d), en = 0;
  pthread_mutex_unlock(&srv->lock);
  if (!n) return MYR_OK;
  uint32_t seq;
  myr_status st = myr_stream_capture(srv->stream, srv->world, &seq);
  bool captured = st == MYR_OK;
  uint64_t t1 = myr_srv_now_ns();
  if (captured) st = encode_all(srv, d, n, e, &en);
  double ms = (double)(myr_srv_now_ns() - now) * 1e-6;
  pthread_mutex_lock(&srv->lock);
  srv->stats.captures += captured;
  srv->stats.encodes += en;
  srv->stats.encode_ms = ms;
  srv->stats.encode_ms_total += ms;
  srv->stats.capture_ms = (double)(t1 - now) * 1e-6;
  if (st == MYR_OK) queue_all(srv, d, n, e, en, seq, frame, now);
  *queued = st == MYR_OK;
  for (uint32_t i = 0; i < en; i++)
    if (e[i].m->refs == 0) free(e[i].m); /* no queue took it (free under the lock: cheap, and simple) */
  pthread_mutex_unlock(&srv->lock);
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
  bool queued = false;
  myr_status st = publish_views(srv, now, &queued);
  queued |= publish_figures(srv, now);
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
