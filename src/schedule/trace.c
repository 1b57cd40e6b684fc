/* Tracing: one event per chunk job, hook and merge in per-worker lanes,
 * written as Chrome trace-event JSON or read back as records. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "schedule_impl.h"

/* ---- tracing ------------------------------------------------------------- */

static void trace_free(myr_schedule *s) {
  if (!s->trace) return;
  for (uint32_t i = 0; i < s->workers; i++)
    world_free(s->world, s->trace[i].events, sizeof(trace_event) * s->trace_cap);
  world_free(s->world, s->trace, sizeof(trace_lane) * s->workers);
  s->trace = NULL;
}

myr_status myr_schedule_trace_begin(myr_schedule *s, uint32_t max_events) {
  if (!s || s->trace || max_events > (UINT32_C(1) << 26)) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  uint32_t cap = max_events ? max_events : 65536;
  trace_lane *lanes = world_alloc(s->world, sizeof(trace_lane) * s->workers, alignof(trace_lane));
  if (!lanes) return MYR_ENOMEM;
  memset(lanes, 0, sizeof(trace_lane) * s->workers);
  for (uint32_t i = 0; i < s->workers; i++)
    if (!(lanes[i].events = world_alloc(s->world, sizeof(trace_event) * cap, alignof(trace_event)))) {
      for (uint32_t k = 0; k < i; k++) world_free(s->world, lanes[k].events, sizeof(trace_event) * cap);
      world_free(s->world, lanes, sizeof(trace_lane) * s->workers);
      return MYR_ENOMEM;
    }
  /* touch every page now, so that no page fault lands inside a traced frame */
  for (uint32_t i = 0; i < s->workers; i++) memset(lanes[i].events, 0, sizeof(trace_event) * cap);
  s->trace = lanes;
  s->trace_cap = cap;
  s->trace_frame0 = s->frame;
  return MYR_OK;
}

myr_trace_kind trace_kind(const trace_event *e) {
  if (e->system != NONE) return e->chunk == NONE ? MYR_TRACE_HOOK : MYR_TRACE_CHUNK;
  if (e->stage == NONE) return MYR_TRACE_FRAME;
  return e->rows == MERGE_PART_ROWS ? MYR_TRACE_MERGE_PART : MYR_TRACE_MERGE;
}

void schedule_trace(myr_schedule *s, int worker, trace_event ev) {
  trace_lane *l = &s->trace[worker < 0 ? 0 : worker];
  if (l->count < s->trace_cap) l->events[l->count++] = ev;
  else l->dropped++;
}

myr_status myr_schedule_trace_events(const myr_schedule *s, myr_trace_event *out, size_t cap, size_t *count,
                                     uint64_t *dropped) {
  if (!s || !count || (!out && cap) || !s->trace) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  size_t n = 0;
  for (uint32_t w = 0; w < s->workers; w++)
    for (uint32_t i = 0; i < s->trace[w].count; i++, n++) {
      if (n >= cap) continue;
      const trace_event *e = &s->trace[w].events[i];
      myr_trace_kind kind = trace_kind(e);
      bool chunk = kind == MYR_TRACE_CHUNK, part = kind == MYR_TRACE_MERGE_PART;
      out[n] = (myr_trace_event){.kind = kind,
                                 .system = e->system,
                                 .worker = w,
                                 .stage = e->stage,
                                 .rows = chunk ? e->rows : 0,
                                 .chunk = chunk || part ? e->chunk : 0,
                                 .table = chunk ? e->table : 0,
                                 .start_ns = e->start_ns,
                                 .end_ns = e->end_ns,
                                 .frame = s->trace_frame0 + e->frame};
    }
  *count = n;
  if (dropped) {
    *dropped = 0;
    for (uint32_t w = 0; w < s->workers; w++) *dropped += s->trace[w].dropped;
  }
  return MYR_OK;
}

myr_status myr_schedule_trace_end(myr_schedule *s, FILE *out) {
  if (!s || !s->trace) return MYR_EINVAL;
  if (schedule_running(s)) return MYR_EBUSY;
  if (!out) {
    trace_free(s);
    return MYR_OK;
  }
  uint64_t t0 = UINT64_MAX;
  for (uint32_t w = 0; w < s->workers; w++)
    for (uint32_t i = 0; i < s->trace[w].count; i++)
      if (s->trace[w].events[i].start_ns < t0) t0 = s->trace[w].events[i].start_ns;
  fprintf(out, "{\"displayTimeUnit\": \"ns\", \"traceEvents\": [");
  for (uint32_t w = 0; w < s->workers; w++)
    fprintf(
        out,
        "%s\n {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %u, \"args\": {\"name\": \"worker %u\"}}",
        w ? "," : "", w, w);
  /* the frames on a track of their own, above the workers' */
  fprintf(
      out,
      ",\n {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %u, \"args\": {\"name\": \"frames\"}},"
      "\n {\"name\": \"thread_sort_index\", \"ph\": \"M\", \"pid\": 1, \"tid\": %u, \"args\": {\"sort_index\": -1}}",
      s->workers, s->workers);
  for (uint32_t w = 0; w < s->workers; w++)
    for (uint32_t i = 0; i < s->trace[w].count; i++) {
      const trace_event *e = &s->trace[w].events[i];
      myr_trace_kind kind = trace_kind(e);
      unsigned long long frame = (unsigned long long)(s->trace_frame0 + e->frame);
      fprintf(out, ",\n {\"name\": ");
      switch (kind) {
      case MYR_TRACE_FRAME: fprintf(out, "\"frame %llu\", \"cat\": \"frame\"", frame); break;
      case MYR_TRACE_MERGE: fprintf(out, "\"merge\", \"cat\": \"merge\""); break;
      case MYR_TRACE_MERGE_PART: fprintf(out, "\"merge part\", \"cat\": \"merge_part\""); break;
      case MYR_TRACE_HOOK:
      case MYR_TRACE_CHUNK:
        json_string(out, s->systems[e->system].name);
        fprintf(out, ", \"cat\": \"%s\"", kind == MYR_TRACE_HOOK ? "hook" : "chunk");
        break;
      }
      fprintf(out, ", \"ph\": \"X\", \"pid\": 1, \"tid\": %u, \"ts\": %.3f, \"dur\": %.3f, \"args\": {",
              kind == MYR_TRACE_FRAME ? s->workers : w, (double)(e->start_ns - t0) / 1e3,
              (double)(e->end_ns - e->start_ns) / 1e3);
      if (kind != MYR_TRACE_FRAME) fprintf(out, "\"stage\": %u, ", e->stage);
      if (kind == MYR_TRACE_CHUNK)
        fprintf(out, "\"rows\": %u, \"chunk\": %u, \"table\": %u, ", e->rows, e->chunk, e->table);
      if (kind == MYR_TRACE_MERGE_PART) fprintf(out, "\"part\": %u, ", e->chunk);
      fprintf(out, "\"frame\": %llu}}", frame);
    }
  uint64_t dropped = 0;
  for (uint32_t w = 0; w < s->workers; w++) dropped += s->trace[w].dropped;
  fprintf(out, "\n], \"otherData\": {\"dropped_events\": %llu}}\n", (unsigned long long)dropped);
  trace_free(s);
  return fflush(out) != 0 || ferror(out) ? MYR_EIO : MYR_OK;
}
