#include "myriad/status.h"

#define MYR_STR2(x) #x
#define MYR_STR(x) MYR_STR2(x)

static const struct {
  myr_status status;
  const char *name;
  const char *text;
} status_table[] = {
    {MYR_OK, "MYR_OK", "success"},
    {MYR_EINVAL, "MYR_EINVAL", "invalid argument (NULL or out of range)"},
    {MYR_ENOMEM, "MYR_ENOMEM", "out of memory; nothing was changed"},
    {MYR_ESTALE, "MYR_ESTALE", "stale entity id: the entity was destroyed"},
    {MYR_ENOENT, "MYR_ENOENT", "unknown entity id: never created in this world"},
    {MYR_ENOCOMP, "MYR_ENOCOMP", "unknown component"},
    {MYR_EFIELD, "MYR_EFIELD", "field index out of range for the component"},
    {MYR_ETYPE, "MYR_ETYPE", "field type does not match the registered type"},
    {MYR_EEXIST, "MYR_EEXIST", "already present"},
    {MYR_EABSENT, "MYR_EABSENT", "the entity does not have that component"},
    {MYR_EBUSY, "MYR_EBUSY", "refused in this context"},
    {MYR_ELIMIT, "MYR_ELIMIT", "a fixed limit was reached"},
    {MYR_ECYCLE, "MYR_ECYCLE", "dependency cycle"},
    {MYR_EIO, "MYR_EIO", "input/output error"},
    {MYR_ECORRUPT, "MYR_ECORRUPT", "data failed validation (corrupt input)"},
    {MYR_ENOTFOUND, "MYR_ENOTFOUND", "no such name"},
    {MYR_ETHREAD, "MYR_ETHREAD", "a thread could not be started"},
    {MYR_EACCESS, "MYR_EACCESS", "an access the system did not declare"},
};

const char *myr_strerror(myr_status status) {
  for (unsigned i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
    if (status_table[i].status == status) return status_table[i].text;
  return "unknown status code";
}

const char *myr_status_name(myr_status status) {
  for (unsigned i = 0; i < sizeof status_table / sizeof status_table[0]; i++)
    if (status_table[i].status == status) return status_table[i].name;
  return "MYR_E?";
}

const char *myr_version_string(void) {
  return MYR_STR(MYR_VERSION_MAJOR) "." MYR_STR(MYR_VERSION_MINOR) "." MYR_STR(MYR_VERSION_PATCH);
}
