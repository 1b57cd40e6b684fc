/* myriad — tuning a schedule's chunk sizes: tuning files keyed by the
 * machine's signature, and online autotuning from measured throughput.
 *
 * Part of the schedule's API: schedule.h includes this header, and this
 * header includes schedule.h. */
#ifndef MYRIAD_TUNING_H
#define MYRIAD_TUNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "myriad/schedule.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- tuning files ------------------------------------------------------- */

/* A tuning file keeps the chunk size found for each system, per machine (a
 * text file, docs/tuning.md):
 *
 *   # comments and blank lines are ignored
 *   @format 1                  first line that is not a comment; required
 *   @scenario particles        what was tuned (free text)
 *   @entities 1000000          how many entities it had
 *   @threads 2                 the pool's worker count
 *   @machine <signature>       myr_machine_signature() of where it was made
 *   gravity = 16384            a system's rows per chunk (1..2^30)
 *   drag = 4096
 *
 * Other @ keys are ignored. A system name is the text before the first '='
 * with the blanks around it trimmed, so names holding '=' or a line break,
 * starting with '#' or '@' or with blanks at either end cannot be written. */

/* Writes this machine's signature, e.g. "Intel(R) Xeon(R) CPU @ 2.20GHz; 2
 * cpus; L1d 32K, L1i 32K, L2 1024K, L3 33792K" (CPU model, online CPUs,
 * cache sizes), NUL-terminated and cut to fit into buf (cap bytes; buf may
 * be NULL when cap is 0). Returns its full length. */
MYR_API size_t myr_machine_signature(char *buf, size_t cap);

/* What a tuning file's header says, for myr_schedule_write_tuning. */
typedef struct myr_tuning_desc {
  const char *scenario; /* NULL: none written */
  uint64_t entities;    /* 0: the world's entity count now */
} myr_tuning_desc;

/* Writes a tuning file of every chunked system's chunk size in effect (its
 * own, or the schedule's default), with the header: format, scenario,
 * entities, the pool's worker count, this machine's signature. Run-once and
 * MYR_SYSTEM_WHOLE systems have no chunk size and are left out. Errors:
 * MYR_EINVAL (NULL s or out; a system name that cannot be written, a chunk
 * size above 2^30, a scenario with a line break or above 4079 bytes, or a
 * file that would be above 1 MiB: nothing is written then), MYR_EBUSY
 * (while the schedule runs a frame), MYR_EIO (a write error). */
MYR_API myr_status myr_schedule_write_tuning(const myr_schedule *s, FILE *out, const myr_tuning_desc *desc);

/* Reads a tuning file and sets the chunk size of every system it names (as
 * myr_schedule_set_chunk_rows would, which also stops those systems'
 * autotuning). A file written on another machine (its @machine differs from
 * myr_machine_signature()) or for another worker count is applied all the
 * same, with a one-line warning on stderr. Errors change nothing, and
 * myr_schedule_error names the file, the line and the reason: MYR_EINVAL
 * (NULL), MYR_EBUSY (while running), MYR_EIO (cannot be opened or read,
 * or not a regular file: a directory or a FIFO is refused, not waited on),
 * MYR_ECORRUPT
 * (no @format 1 first, a line that is neither a comment, a header nor
 * "name = rows", a bad or out-of-range value, a system named twice, a line
 * above 4095 bytes, a file above 1 MiB), MYR_ENOTFOUND (a system the
 * schedule does not have), MYR_ENOMEM.
 *
 * At creation, a schedule reads the file named by the environment variable
 * MYRIAD_TUNING (when set and not empty) the same way, and each system
 * added later whose name the file holds gets its chunk size from it, over
 * the desc's chunk_rows (a later myr_schedule_set_chunk_rows wins). Names
 * no system takes are ignored there, since systems come after creation; a
 * file that cannot be read or is corrupt is reported on stderr and not
 * applied, and creation goes on. */
MYR_API myr_status myr_schedule_load_tuning(myr_schedule *s, const char *path);

/* ---- online tuning ------------------------------------------------------ */

/* Autotuning moves each chunked system's chunk size between frames to the
 * one it measures fastest, and then keeps it. Each candidate size is run
 * for `frames` successful frames and scored by the median of the system's
 * wall time per entity (myr_system_stats.ns_per_entity). First a coarse
 * pass, the same for every system and in the same frames: min_rows,
 * 4 x min_rows, ... up to max_rows; then each system's fine pass, the half
 * and the double of its best (sizes that cut the same chunks as one
 * already tried are skipped). Last, a check: systems of a stage share
 * the workers, so a system's own time does not tell the whole frame; the
 * frame with every system on its own best and the frame with the coarse
 * size whose whole frames were fastest on all run in turn, `frames` of
 * each, and the faster (by median frame time) is kept. All systems are
 * tuned at once and have settled after at most frames x (coarse sizes + 4)
 * frames; with the defaults, 3 x (6 + 4) = 30. Only the chunk sizes change: the world after each frame is the same
 * as with any fixed chunk size (the schedule's results do not depend on
 * it). Frames in which a system has no entities count toward the bound
 * without scoring. */
typedef struct myr_autotune_desc {
  uint32_t min_rows; /* smallest size tried, rounded up to 16 (not past max_rows); 0 = 64 */
  uint32_t max_rows; /* largest size tried (2^24 at most); 0 = 65536 */
  uint32_t frames;   /* frames per candidate, 1..64; 0 = 3 */
} myr_autotune_desc;

/* Starts (or restarts) autotuning every chunked system (not run-once or
 * MYR_SYSTEM_WHOLE ones), from its first candidate, at the next frame.
 * myr_schedule_set_chunk_rows and myr_schedule_load_tuning on a system
 * stop its tuning. desc may be NULL (the defaults). Errors: MYR_EINVAL
 * (NULL s, min_rows above max_rows, max_rows above 2^24, frames above 64),
 * MYR_EBUSY (while running). */
MYR_API myr_status myr_schedule_autotune(myr_schedule *s, const myr_autotune_desc *desc);

/* Stops autotuning now: each system still tuning keeps its own fastest
 * size scored so far (its size from before autotuning if none was scored).
 * Errors: MYR_EINVAL (NULL), MYR_EBUSY (while running). */
MYR_API myr_status myr_schedule_autotune_freeze(myr_schedule *s);

typedef struct myr_autotune_info {
  bool tuning;               /* still trying sizes (or waiting for the check) */
  bool settled;              /* tuning ended: settled or frozen */
  uint32_t rows;             /* the chunk size it runs with next; once settled,
                              best_rows or the check's one size for all */
  uint32_t best_rows;        /* its own fastest size scored, 0 if none yet */
  double best_ns_per_entity; /* its score, 0 if none */
  uint32_t frames;           /* frames it has been tuned for */
} myr_autotune_info;

/* A system's autotuning. A system never tuned has tuning and settled false
 * and rows its chunk size. Errors: MYR_EINVAL (NULL, unknown system). */
MYR_API myr_status myr_schedule_autotune_info(const myr_schedule *s, myr_system sys, myr_autotune_info *out);

/* True when no system is still tuning (also before any autotuning). */
MYR_API bool myr_schedule_autotune_done(const myr_schedule *s);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_TUNING_H */
