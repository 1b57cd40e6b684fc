/* The figures message (docs/stream.md, "Figures"): the last frame's time,
 * the frame rate, merges, the encoder's time, each system's figures, the
 * Gantt of the last traced frame and the stream's bytes. For the Gantt the
 * server traces the frame or two before each figures message. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve_internal.h"

#define TRACE_EVENTS (1u << 16) /* per worker: two frames of small chunks at 1M entities */
#define MAX_SPANS 4000u         /* spans sent at most, after joining neighbours */
#define JOIN_NS 2000u           /* a worker's spans of one system this close are sent as one */

/* Begins tracing when the next figures are about two frames away, so that
 * the trace holds the last frame before them and not many more. */
void myr_srv_trace_before_figures(myr_serve *srv, uint64_t now) {
  if (srv->tracing || now + 2.0 * srv->frame_interval_ns < (double)srv->figures_due_ns) return;
  srv->tracing = myr_schedule_trace_begin(srv->schedule, TRACE_EVENTS) == MYR_OK;
}

static double finite_or_0(double v) { return isfinite(v) ? v : 0; }

static int by_worker_start(const void *a, const void *b) {
  const myr_trace_event *x = a, *y = b;
  if (x->worker != y->worker) return x->worker < y->worker ? -1 : 1;
  return (x->start_ns > y->start_ns) - (x->start_ns < y->start_ns);
}

/* The newest traced frame's spans as "gantt"; its length in *frame_ns (0
 * when none was traced). Ends the trace. */
static void write_gantt(myr_serve *srv, FILE *f, uint64_t *frame_ns) {
  size_t count = 0;
  myr_trace_event *ev = NULL;
  *frame_ns = 0;
  if (srv->tracing && myr_schedule_trace_events(srv->schedule, NULL, 0, &count, NULL) == MYR_OK && count) {
    if (count > srv->trace_cap) {
      free(srv->trace_buf);
      srv->trace_cap = 0;
      if ((srv->trace_buf = malloc(count * sizeof *ev))) srv->trace_cap = count;
    }
    ev = srv->trace_buf;
    if (!ev || myr_schedule_trace_events(srv->schedule, ev, count, &count, NULL) != MYR_OK) count = 0;
    if (count > srv->trace_cap) count = srv->trace_cap;
  }
  if (srv->tracing) myr_schedule_trace_end(srv->schedule, NULL);
  srv->tracing = false;
  const myr_trace_event *fr = NULL;
  uint32_t workers = 0;
  for (size_t i = 0; i < count; i++) {
    if (ev[i].kind == MYR_TRACE_FRAME && (!fr || ev[i].frame > fr->frame)) fr = &ev[i];
    if (ev[i].kind != MYR_TRACE_FRAME && ev[i].worker + 1 > workers) workers = ev[i].worker + 1;
  }
  myr_trace_event frame = fr ? *fr : (myr_trace_event){0}; /* the compaction below overwrites ev */
  if (fr) *frame_ns = frame.end_ns - frame.start_ns;
  fprintf(f, ",\"gantt\":{\"frame_ns\":%llu,\"workers\":%u,\"spans\":[", (unsigned long long)*frame_ns, workers);
  /* the frame's events by worker and start; a worker's runs of chunks of
   * one system are joined (a frame of 1M entities in small chunks has tens
   * of thousands), so that the whole frame fits in MAX_SPANS */
  size_t n = 0;
  for (size_t i = 0; fr && i < count; i++)
    if (ev[i].kind != MYR_TRACE_FRAME && ev[i].frame == frame.frame) ev[n++] = ev[i];
  if (n) qsort(ev, n, sizeof *ev, by_worker_start);
  uint32_t spans = 0;
  for (size_t i = 0; i < n && spans < MAX_SPANS;) {
    const myr_trace_event *e = &ev[i];
    uint64_t end = e->end_ns;
    size_t j = i + 1;
    while (j < n && ev[j].worker == e->worker && ev[j].kind == e->kind && ev[j].system == e->system &&
           ev[j].start_ns <= end + JOIN_NS) {
      if (ev[j].end_ns > end) end = ev[j].end_ns;
      j++;
    }
    myr_system_stats ss;
    const char *name = "merge";
    if (e->kind == MYR_TRACE_CHUNK || e->kind == MYR_TRACE_HOOK)
      name = myr_schedule_system_stats(srv->schedule, e->system, &ss) == MYR_OK ? ss.name : "?";
    uint64_t s = e->start_ns > frame.start_ns ? e->start_ns - frame.start_ns : 0;
    uint64_t t = end > frame.start_ns ? end - frame.start_ns : 0;
    fprintf(f, "%s[%u,", spans++ ? "," : "", e->worker);
    myr_srv_json_string(f, name);
    fprintf(f, ",%llu,%llu]", (unsigned long long)s, (unsigned long long)t);
    i = j;
  }
  fputs("]}", f);
}

static void write_systems(myr_serve *srv, FILE *f) {
  fputs(",\"systems\":[", f);
  for (uint32_t i = 0; i < srv->system_count; i++) {
    myr_system_stats ss;
    if (myr_schedule_system_stats(srv->schedule, i, &ss) != MYR_OK) continue;
    fprintf(f, "%s{\"name\":", i ? "," : "");
    myr_srv_json_string(f, ss.name);
    fprintf(f, ",\"ns_per_entity\":%.4g,\"chunks\":%llu,\"chunk\":%u,\"entities\":%llu}", finite_or_0(ss.ns_per_entity),
            (unsigned long long)ss.chunks, ss.chunk_rows, (unsigned long long)ss.entities);
  }
  fputc(']', f);
}

serve_out *myr_srv_make_figures(myr_serve *srv, uint32_t clients) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return NULL;
  uint64_t now = myr_srv_now_ns();
  double secs = (double)(now - srv->figures_ns) * 1e-9;
  double merge_ms = 0;
  for (uint32_t g = 0; g < myr_schedule_stage_count(srv->schedule); g++) {
    myr_stage_stats gs;
    if (myr_schedule_stage_stats(srv->schedule, g, &gs) == MYR_OK) merge_ms += (double)gs.merge_ns * 1e-6;
  }
  /* the Gantt first, into its own text: it gives the frame's time */
  char *gantt = NULL;
  size_t glen = 0;
  FILE *g = open_memstream(&gantt, &glen);
  uint64_t frame_ns = 0;
  if (g) write_gantt(srv, g, &frame_ns);
  if (g && fclose(g) != 0) {
    free(gantt);
    gantt = NULL;
  }
  double frame_ms = frame_ns ? (double)frame_ns * 1e-6 : srv->frame_interval_ns * 1e-6;
  pthread_mutex_lock(&srv->lock);
  bool paused = srv->paused;
  double encode_ms = srv->stats.encode_ms;
  uint64_t sent = srv->stats.updates_sent, bytes = srv->stats.bytes_queued;
  uint32_t count = srv->view_count;
  pthread_mutex_unlock(&srv->lock);
  uint64_t bytes_since = bytes - srv->figures_bytes_mark;
  fprintf(f, "{\"frame\":%llu,\"frame_ms\":%.4g,\"fps\":%.4g,\"merge_ms\":%.4g,\"merge_share\":%.4g,",
          (unsigned long long)myr_world_frame(srv->world), finite_or_0(frame_ms),
          finite_or_0(secs > 0 ? (double)srv->frames_since / secs : 0), finite_or_0(merge_ms),
          finite_or_0(frame_ms > 0 ? merge_ms / frame_ms : 0));
  fprintf(f, "\"encode_ms\":%.4g,\"paused\":%s", finite_or_0(encode_ms), paused ? "true" : "false");
  write_systems(srv, f);
  if (gantt) fwrite(gantt, 1, glen, f);
  free(gantt);
  uint64_t updates = sent - srv->figures_sent_mark;
  fprintf(f, ",\"stream\":{\"clients\":%u,\"bytes_per_s\":%.6g,\"bytes_per_entity\":%.4g}}", clients,
          finite_or_0(secs > 0 ? (double)bytes_since / secs : 0),
          finite_or_0(updates && count ? (double)bytes_since / ((double)updates * count) : 0));
  srv->figures_ns = now;
  srv->frames_since = 0;
  srv->figures_bytes_mark = bytes;
  srv->figures_sent_mark = sent;
  return myr_srv_out_of_text(MYR_STREAM_FIGURES, f, &text, &len);
}
