/* myriad — status codes, version and the export macro shared by every part.
 *
 * Every public function that can fail returns a myr_status: MYR_OK (0) or a
 * negative code that myr_strerror() names. A call that fails changes nothing
 * a caller can observe in the world's content: its entities, components and
 * values (world.h names the one allocation it may keep: an empty table). */
#ifndef MYRIAD_STATUS_H
#define MYRIAD_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#define MYR_VERSION_MAJOR 0
#define MYR_VERSION_MINOR 1
#define MYR_VERSION_PATCH 0

#if defined(__GNUC__)
#define MYR_API __attribute__((visibility("default")))
#else
#define MYR_API
#endif

typedef enum myr_status {
  MYR_OK = 0,
  MYR_EINVAL = -1,     /* a NULL or out-of-range argument */
  MYR_ENOMEM = -2,     /* the allocator returned NULL; nothing was changed */
  MYR_ESTALE = -3,     /* entity id of a destroyed entity (generation mismatch) */
  MYR_ENOENT = -4,     /* entity id that was never created in this world */
  MYR_ENOCOMP = -5,    /* unknown component id or name */
  MYR_EFIELD = -6,     /* field index out of range for the component */
  MYR_ETYPE = -7,      /* field type does not match the registered type */
  MYR_EEXIST = -8,     /* already present: component on entity, name taken */
  MYR_EABSENT = -9,    /* the entity does not have that component */
  MYR_EBUSY = -10,     /* refused in this context (e.g. from inside a job) */
  MYR_ELIMIT = -11,    /* a fixed limit was reached (components, entities) */
  MYR_ECYCLE = -12,    /* a dependency cycle */
  MYR_EIO = -13,       /* a file could not be read or written */
  MYR_ECORRUPT = -14,  /* a file or stream failed validation */
  MYR_ENOTFOUND = -15, /* no such name (system, file) */
  MYR_ETHREAD = -16,   /* a thread could not be started */
  MYR_EACCESS = -17    /* an access a system did not declare (access-checking builds) */
} myr_status;

/* Returns a static, human-readable description of a status (never NULL). */
MYR_API const char *myr_strerror(myr_status status);

/* Returns the status' symbolic name, e.g. "MYR_ESTALE" (never NULL). */
MYR_API const char *myr_status_name(myr_status status);

/* Returns the library's version at run time, e.g. "0.1.0". */
MYR_API const char *myr_version_string(void);

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_STATUS_H */
