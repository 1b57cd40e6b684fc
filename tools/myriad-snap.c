/* myriad-snap: looks into snapshot files (myriad/snapshot.h): what one
 * holds, whether it loads, its world hash, where two of them part, and a
 * component's rows. The parts are in snap.h; this file is the command
 * line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snap.h"

void snap_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("myriad-snap: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void usage(FILE *out) {
  fprintf(out, "usage: myriad-snap COMMAND FILE...\n"
               "Looks into myriad snapshot files (myr_snapshot_save_file).\n\n"
               "  info FILE      the format version, the saver's text (meta), the schema\n"
               "                 (components and their fields: name, type, size, offset),\n"
               "                 the resources, entity and table counts, seed, frame,\n"
               "                 time, and each section's kind, offset, sizes and\n"
               "                 whether its checksum holds; a file that does not load\n"
               "                 still shows its sections\n"
               "  verify FILE    loads the file into a fresh world: exit 0 if it loads, 1\n"
               "                 if its content is bad (the reason, with the byte offset,\n"
               "                 on stderr), 2 if it cannot be read\n"
               "  hash FILE      prints world_hash=<16 hex digits> of the loaded world, as\n"
               "                 myriad-tune --hash does\n"
               "  diff A B       the first entity, in slot order, that differs between the\n"
               "                 worlds of A and B (its component, field and both values),\n"
               "                 how many differ, and whether the resources, the free\n"
               "                 list (the next ids), the seed or the clock differ: exit 0\n"
               "                 when all are equal, 1 when not\n"
               "  dump FILE --component NAME [--format csv|json]\n"
               "                 the component's rows over every table that has it, in\n"
               "                 table then row order: the entity (index:generation) and\n"
               "                 each field (bytes as hex); csv by default\n"
               "  --help, -h     this text\n"
               "  --version      the library's version\n\n"
               "examples:\n"
               "  myriad-snap verify run.snap\n"
               "  myriad-snap diff run1/frame120.snap run2/frame120.snap\n"
               "  myriad-snap dump run.snap --component Position --format json\n\n"
               "Exit status: 0; 1 for a difference (diff) or a file whose content is bad\n"
               "(verify, info); 2 for a bad argument, a file that cannot be read, or one\n"
               "that does not load where the command needs its world (hash, diff, dump).\n");
}

static _Noreturn void bad(const char *arg, const char *why) {
  snap_error("%s: %s (see --help)", arg, why);
  exit(SNAP_EXIT_USAGE);
}

/* The FILE arguments of a command that takes `n` of them and no option. */
static void files_only(int argc, char **argv, int n) {
  for (int i = 2; i < argc; i++)
    if (argv[i][0] == '-' && argv[i][1]) bad(argv[i], "unknown option");
  if (argc - 2 < n) bad(argv[1], n == 1 ? "needs a FILE" : "needs two FILEs");
  if (argc - 2 > n) bad(argv[2 + n], "unexpected argument");
}

static int dump_command(int argc, char **argv) {
  const char *file = NULL, *component = NULL;
  snap_format format = SNAP_FORMAT_CSV;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *value = NULL;
    size_t len = strcspn(a, "=");
    bool is_component = strncmp(a, "--component", len) == 0 && len == strlen("--component");
    bool is_format = strncmp(a, "--format", len) == 0 && len == strlen("--format");
    if (is_component || is_format) {
      if (a[len] == '=') value = a + len + 1;
      else if (i + 1 < argc) value = argv[++i];
      else bad(a, "needs a value");
      if (is_component) component = value;
      else if (strcmp(value, "csv") == 0) format = SNAP_FORMAT_CSV;
      else if (strcmp(value, "json") == 0) format = SNAP_FORMAT_JSON;
      else bad("--format", "csv or json");
    } else if (a[0] == '-' && a[1]) {
      bad(a, "unknown option");
    } else if (!file) {
      file = a;
    } else {
      bad(a, "unexpected argument");
    }
  }
  if (!file) bad("dump", "needs a FILE");
  if (!component || !component[0]) bad("dump", "needs --component NAME");
  return snap_dump(file, component, format);
}

static int run_command(int argc, char **argv) {
  const char *cmd = argv[1];
  if (strcmp(cmd, "dump") == 0) return dump_command(argc, argv);
  if (strcmp(cmd, "diff") == 0) {
    files_only(argc, argv, 2);
    return snap_diff(argv[2], argv[3]);
  }
  int (*const one_file[])(const char *) = {snap_info, snap_verify, snap_hash};
  const char *const names[] = {"info", "verify", "hash"};
  for (int i = 0; i < 3; i++) {
    if (strcmp(cmd, names[i]) != 0) continue;
    files_only(argc, argv, 1);
    return one_file[i](argv[2]);
  }
  bad(cmd, cmd[0] == '-' ? "unknown option" : "unknown command (info, verify, hash, diff or dump)");
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      usage(stdout);
      return SNAP_EXIT_OK;
    }
    if (strcmp(argv[i], "--version") == 0) {
      printf("myriad-snap %s (snapshot format %d)\n", myr_version_string(), MYR_SNAPSHOT_FORMAT_VERSION);
      return SNAP_EXIT_OK;
    }
  }
  if (argc < 2) {
    snap_error("needs a command: info, verify, hash, diff or dump (see --help)");
    return SNAP_EXIT_USAGE;
  }
  int status = run_command(argc, argv);
  /* a full disk or a closed pipe must not pass for a whole answer */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    snap_error("standard output: write error");
    return SNAP_EXIT_USAGE;
  }
  return status;
}
