/* The machine's signature, which keys tuning files: CPU model, CPU count,
 * cache sizes. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "schedule_impl.h"

/* ---- the machine's signature --------------------------------------------- */

/* The first line of a small file, without its line break; "" if none. */
static void first_line(const char *path, char *buf, size_t cap) {
  buf[0] = 0;
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (!fgets(buf, (int)cap, f)) buf[0] = 0;
  fclose(f);
  buf[strcspn(buf, "\r\n")] = 0;
}

static void cpu_model(char *buf, size_t cap) {
  snprintf(buf, cap, "unknown cpu");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    /* x86: "model name"; some arm kernels: "Model" or "Hardware" */
    if (strncmp(line, "model name", 10) && strncmp(line, "Model", 5) && strncmp(line, "Hardware", 8)) continue;
    const char *v = strchr(line, ':');
    if (!v) continue;
    for (v++; *v == ' ' || *v == '\t'; v++) {}
    line[strcspn(line, "\r\n")] = 0;
    if (*v) snprintf(buf, cap, "%s", v);
    break;
  }
  fclose(f);
}

size_t myr_machine_signature(char *buf, size_t cap) {
  char model[256], caches[256] = "", path[96], level[16], type[32], size[32];
  cpu_model(model, sizeof model);
  size_t used = 0;
  for (int i = 0; i < 16; i++) { /* cpu0's caches, as sysfs lists them */
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    first_line(path, level, sizeof level);
    if (!level[0]) break;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
    first_line(path, type, sizeof type);
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    first_line(path, size, sizeof size);
    const char *kind = strcmp(type, "Data") == 0 ? "d" : strcmp(type, "Instruction") == 0 ? "i" : "";
    int n = snprintf(caches + used, sizeof caches - used, "%sL%s%s %s", used ? ", " : "", level, kind, size);
    if (n < 0 || (size_t)n >= sizeof caches - used) break;
    used += (size_t)n;
  }
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int n = snprintf(buf, cap, "%s; %ld cpus; %s", model, cpus > 0 ? cpus : 1, caches[0] ? caches : "caches unknown");
  return n < 0 ? 0 : (size_t)n;
}
