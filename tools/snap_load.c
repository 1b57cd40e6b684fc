/* Loading a snapshot into a fresh world, and what a failure is. */
#include <stdio.h>

#include "snap.h"

myr_status snap_load(const char *path, myr_world **out, myr_snapshot_report *report) {
  *out = NULL;
  myr_world *w;
  myr_status st = myr_world_create(NULL, &w);
  if (st != MYR_OK) return st;
  st = myr_snapshot_load_file(w, path, &(myr_snapshot_load_desc){.report = report});
  if (st != MYR_OK) {
    myr_world_destroy(w);
    return st;
  }
  *out = w;
  return MYR_OK;
}

void snap_load_error(const char *path, myr_status status, const myr_snapshot_report *report) {
  if (report && report->message[0]) snap_error("%s", report->message);
  else snap_error("%s: %s (%s)", path, myr_strerror(status), myr_status_name(status));
}

bool snap_unreadable(myr_status status) { return status == MYR_EIO || status == MYR_ENOMEM; }
