/* myriad — serve: a world's stream, figures and Gantt over WebSockets, for
 * the live view (a separate library, libmyriad_serve, on libwebsockets).
 *
 * A server listens on one address and port. At / it serves the web
 * client's files from a directory; at /stream it takes WebSocket
 * connections (no subprotocol needed) and speaks docs/stream.md: a hello
 * on connect, then a keyframe, then deltas against the newest view each
 * client acknowledged (a keyframe when the stream no longer holds it, or
 * when the client asks with a resync), figures about twice a second, and
 * replies to control messages.
 *
 * Threads. The server runs libwebsockets' service loop on a thread of its
 * own and its encoder on another; everything else is called from one
 * thread, the simulation's (the one that runs the schedule), between
 * frames. myr_serve_frame copies the world's streamed columns
 * (myr_stream_copy) only when some client is due an update (each picks its
 * updates per second with the rate message: default 10, 0 for every frame;
 * clients at one rate fall due on the same ticks of the clock, and those
 * due within half a period come along, so they share the copy) and the
 * encoder is free; the encoder thread
 * commits the copy, encodes it once per distinct baseline among the
 * clients due, shares each encoding between the clients at that baseline,
 * and hands the messages to the service thread through per-client queues
 * guarded by a mutex, waking it with lws_cancel_service. The simulation
 * never waits for a client nor for the encoder: a frame that finds the
 * encoder busy is not captured (its clients stay due); each client has a
 * bounded send queue (queue_bytes), and an update that would take a
 * non-empty queue above it is skipped for that client alone, which later
 * gets a delta against its newest acknowledgement or a keyframe. The only
 * waiting on the simulation thread is for that mutex, held briefly by the
 * other threads.
 *
 * Security. The server binds 127.0.0.1 unless an address is given. It is
 * read-only unless made with control; then each control message must carry
 * the server's token (myr_serve_token). A client message longer than 64
 * bytes, malformed, of an unknown type, or with a wrong token closes that
 * connection alone and changes nothing else. Connections beyond
 * max_clients are refused, and so is a WebSocket request whose Origin
 * header (compared without regard to case) is not the server's own page:
 * http://ADDR:PORT (http://[ADDR]:PORT for IPv6), http://localhost:PORT,
 * http://127.0.0.1:PORT, http://[::1]:PORT when ADDR is ::1 or ::, and
 * when ADDR is a wildcard (0.0.0.0 or ::) also http://HOST where HOST is
 * the request's Host header when that is an IP literal with the port,
 * a.b.c.d:PORT or (ADDR ::) [IPv6]:PORT (not checked against the
 * machine's addresses: a browser sends that Origin with that Host only
 * from a page it loaded from that address and port, the server's own, as
 * the browser addressed it). A host name in the Host header is never
 * taken: a page at a name that resolves to this machine (DNS rebinding) is
 * refused. A request without an Origin header, from a program rather than
 * a browser, is accepted. */
#ifndef MYRIAD_SERVE_H
#define MYRIAD_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "myriad/schedule.h"
#include "myriad/stream.h"
#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults when the description says 0. */
#define MYR_SERVE_DEFAULT_CLIENTS 8u
#define MYR_SERVE_DEFAULT_QUEUE_BYTES ((size_t)8 << 20)
#define MYR_SERVE_DEFAULT_RATE 10u /* updates a second a client gets until it asks otherwise */
/* The longest client message (docs/stream.md). */
#define MYR_SERVE_MAX_MESSAGE 64u
/* The token's length in hex digits (16 random bytes). */
#define MYR_SERVE_TOKEN_HEX 32u

typedef struct myr_serve_desc {
  const char *address;       /* an IPv4 or IPv6 literal to bind; NULL = "127.0.0.1" */
  uint16_t port;             /* 0 = any free port (myr_serve_port says which) */
  const char *web_root;      /* the web client's folder, served at /; NULL = nothing at / */
  bool control;              /* accept control messages (with the token) */
  uint32_t max_clients;      /* 0 = MYR_SERVE_DEFAULT_CLIENTS; at most 256 */
  size_t queue_bytes;        /* per client send queue bound; 0 = MYR_SERVE_DEFAULT_QUEUE_BYTES */
  const char *scenario_name; /* the hello's "scenario"; NULL = "" */
  /* The encoder thread's niceness (Linux: per thread), 0..19: 0 runs it
   * as the simulation's threads; higher gives it less of the CPU time
   * they want, so that encoding slows the frames less and clients get
   * fewer updates when the cores are busy. 19 also puts it in SCHED_IDLE:
   * it runs only on a core nothing else wants (bench_serve, 1M particles
   * on 2 busy cores: frames 1.02-1.03x of no client, at 1-2 updates a
   * second; at 0: 1.7-1.95x, at 8-9 updates a second). */
  int encoder_nice;
} myr_serve_desc;

typedef struct myr_serve myr_serve;

/* Starts a server for `world` run by `schedule` (whose world it must be),
 * streaming as `stream` describes (copied: the server makes its own
 * encoder). The hello names the schedule's systems and the world's entity
 * count at this call. On return the server listens and its threads run.
 * Call between frames.
 * `world` and `schedule` must outlive the server. The log level of
 * libwebsockets (process wide) is set to errors and warnings.
 * Errors: MYR_EINVAL (NULL, a schedule of another world, an address that
 * is not an IPv4 or IPv6 literal, max_clients above 256, encoder_nice
 * outside 0..19), those of
 * myr_stream_create, MYR_EIO (the address and port could not be bound: in
 * use, or not this machine's), MYR_ETHREAD, MYR_ENOMEM. Nothing is left
 * behind on failure. */
MYR_API myr_status myr_serve_create(myr_world *world, myr_schedule *schedule, const myr_stream_desc *stream,
                                    const myr_serve_desc *desc, myr_serve **out);

/* Stops the encoder and service threads (closing every connection) and
 * frees the server; NULL is ignored. Call from the simulation thread,
 * between frames. */
MYR_API void myr_serve_destroy(myr_serve *srv);

/* The port it listens on (the one chosen when the description said 0). */
MYR_API uint16_t myr_serve_port(const myr_serve *srv);

/* The address it listens on, as given or "127.0.0.1". */
MYR_API const char *myr_serve_address(const myr_serve *srv);

/* The control token: MYR_SERVE_TOKEN_HEX hex digits (lower case), the hex
 * form of 16 random bytes from getrandom; control messages carry the 16
 * bytes. Made whether or not control is on. */
MYR_API const char *myr_serve_token(const myr_serve *srv);

/* Publishes the world after a frame: applies the chunk sizes control
 * messages asked for (myr_schedule_set_chunk_rows, before the next frame),
 * copies the world for the encoder when a client is due an update and the
 * encoder is free, queues the figures about twice a second, and wakes the
 * service thread when it queued something. Call between
 * frames from the simulation thread, after each frame (and it may be
 * called with no new frame, e.g. while paused: a client then gets a view
 * only when it has none of this frame yet). It never waits for a client.
 * To draw the Gantt chart it traces one frame before each figures message
 * (myr_schedule_trace_begin/end), unless the schedule is being traced by
 * someone else (then the figures have no spans). Errors: MYR_EINVAL
 * (NULL), MYR_ENOMEM (this update was skipped; the server goes on), those
 * of myr_stream_copy. */
MYR_API myr_status myr_serve_frame(myr_serve *srv);

/* Whether the simulation may run a frame now, as control messages say:
 * true at once when not paused; while paused, true once for each step
 * asked for. Otherwise it waits, up to `max_ms` milliseconds, for a
 * resume or a step, publishing meanwhile (as myr_serve_frame does: new
 * clients get a view of the paused world, figures go on), and returns
 * false when none came. A loop: `while (running) { if
 * (!myr_serve_turn(srv, 100)) continue; run a frame; myr_serve_frame(srv);
 * }`. False for NULL. */
MYR_API bool myr_serve_turn(myr_serve *srv, uint32_t max_ms);

/* Whether a client paused the simulation (false for NULL). */
MYR_API bool myr_serve_paused(const myr_serve *srv);

typedef struct myr_serve_stats {
  uint32_t clients;         /* connected now */
  uint64_t connections;     /* accepted since the start */
  uint64_t refused;         /* refused at the handshake: Origin, path, client limit */
  uint64_t closed_bad;      /* closed for a bad message or token */
  uint64_t captures;        /* views captured (copied, then committed) */
  uint64_t encodes;         /* messages encoded (one per distinct baseline and capture) */
  uint64_t updates_sent;    /* keyframes and deltas queued, over all clients */
  uint64_t updates_skipped; /* not queued because a client's queue was full */
  uint64_t keyframes;       /* keyframes queued */
  uint64_t bytes_queued;    /* bytes queued, over all clients */
  double encode_ms;         /* the last commit and its encodings, on the encoder thread */
  double capture_ms;        /* the last copy of the world, on the simulation thread */
  double capture_ms_total;  /* summed since the start */
  double encode_ms_total;   /* summed since the start */
} myr_serve_stats;

/* Copies the server's counters (from any thread). Errors: MYR_EINVAL
 * (NULL). */
MYR_API myr_status myr_serve_get_stats(const myr_serve *srv, myr_serve_stats *out);

#ifdef __cplusplus
}
#endif

#endif
