/* myriad — tracing a schedule: one event per chunk job, hook and merge,
 * written as Chrome trace-event JSON or read back as records.
 *
 * Part of the schedule's API: schedule.h includes this header, and this
 * header includes schedule.h. */
#ifndef MYRIAD_TRACE_H
#define MYRIAD_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "myriad/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tracing ------------------------------------------------------------- */

/* Starts recording, for the frames that follow, every chunk a system runs
 * on (system, worker, rows, chunk index, table, start and end), every begin
 * or end hook, every stage's merge and every frame; up to `max_events`
 * events per worker (0 = 65536; at most 2^26), later ones are counted as
 * dropped. When off it costs a load and a branch per chunk. Errors: MYR_EINVAL (NULL, already
 * tracing, or max_events above 2^26), MYR_EBUSY (while running),
 * MYR_ENOMEM (nothing changes). */
MYR_API myr_status myr_schedule_trace_begin(myr_schedule *s, uint32_t max_events);

/* Stops recording and writes what was recorded as Chrome trace-event JSON
 * (Perfetto, chrome://tracing): one complete ("ph": "X") event per chunk
 * (cat "chunk", the system's name, tid = worker, args stage, rows, chunk,
 * table, frame), per hook (cat "hook") and per stage merge (cat "merge",
 * name "merge"), per merge part (cat "merge_part", name "merge part", on
 * the worker that ran it, args stage, part, frame), and per frame (cat "frame", name "frame N", args frame)
 * on a track of its own named "frames" (tid = the worker count), times in
 * microseconds from the first event; the number of dropped events is
 * otherData.dropped_events. out may be NULL: the events are discarded.
 * Tracing stops even when writing fails. Errors: MYR_EINVAL
 * (NULL, or not tracing), MYR_EBUSY (while running), MYR_EIO (write error). */
MYR_API myr_status myr_schedule_trace_end(myr_schedule *s, FILE *out);

/* MYR_TRACE_FRAME: a whole frame, from myr_schedule_run's start to its end
 * (recorded at its end, failed or not). MYR_TRACE_MERGE_PART: a share of a
 * merge's work, on the lane of the worker that ran it, when the merge was
 * shared among the pool's workers (myr_schedule_set_merge_parallel_min);
 * its chunk is the part's index within its step of the merge. */
typedef enum myr_trace_kind {
  MYR_TRACE_CHUNK,
  MYR_TRACE_HOOK,
  MYR_TRACE_MERGE,
  MYR_TRACE_FRAME,
  MYR_TRACE_MERGE_PART
} myr_trace_kind;

/* One recorded event. */
typedef struct myr_trace_event {
  myr_trace_kind kind;
  myr_system system;           /* UINT32_MAX for a merge, a merge part or a frame */
  uint32_t worker;             /* the lane it was recorded on; merges and frames: 0 */
  uint32_t stage;              /* UINT32_MAX for a frame */
  uint32_t rows, chunk, table; /* chunks only, 0 otherwise; a merge part's chunk: its index */
  uint64_t start_ns, end_ns;   /* CLOCK_MONOTONIC */
  uint64_t frame;              /* the schedule's frame it belongs to: 1 for its first frame */
} myr_trace_event;

/* Copies the events recorded so far, worker 0's first and each worker's in
 * the order they ended, into out (at most cap of them; out may be NULL when
 * cap is 0), sets *count to how many there are in all, copied or not, and
 * *dropped (when not NULL) to how many did not fit in their worker's lane.
 * Tracing goes on. Errors: MYR_EINVAL (NULL s or count, out NULL with cap >
 * 0, or not tracing), MYR_EBUSY (while running). */
MYR_API myr_status myr_schedule_trace_events(const myr_schedule *s, myr_trace_event *out, size_t cap, size_t *count,
                                             uint64_t *dropped);

/* ---- the Gantt chart ----------------------------------------------------- */

typedef struct myr_gantt_desc {
  const char *title; /* NULL: "frame N, W workers" */
} myr_gantt_desc;

/* Draws the last frame recorded so far as an SVG Gantt chart: a row per
 * worker, a bar per chunk or hook coloured by system (its title, shown on
 * hover, gives the chunk, rows, table and time), the merges as dark bars
 * on a row of their own and dashed lines across the workers, a time axis in
 * microseconds and a legend. Names are escaped, so any name gives valid
 * XML. Call while tracing (before myr_schedule_trace_end); it allocates
 * nothing. When a worker's lane was full (myr_schedule_trace_events' dropped
 * count) the chart may miss events, and the frame drawn is the last one
 * whose marker was kept. desc may be NULL. Errors: MYR_EINVAL (NULL s or out,
 * or not tracing), MYR_EBUSY (while running), MYR_ENOTFOUND (no frame
 * recorded yet), MYR_EIO (write error). */
MYR_API myr_status myr_schedule_write_gantt(const myr_schedule *s, FILE *out, const myr_gantt_desc *desc);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_TRACE_H */
