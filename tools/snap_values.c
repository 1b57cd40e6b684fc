/* Field values as text: for people (diff, with the bits of floats), CSV
 * and JSON (dump). Floats are written with enough digits to read back to
 * the same bits (%.9g, %.17g). */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "snap.h"

const char *snap_type_name(myr_type type) {
  switch (type) {
  case MYR_F32: return "f32";
  case MYR_F64: return "f64";
  case MYR_I32: return "i32";
  case MYR_U32: return "u32";
  case MYR_I64: return "i64";
  case MYR_U64: return "u64";
  case MYR_U8: return "u8";
  case MYR_BYTES: return "bytes";
  case MYR_ENTITY: return "entity";
  }
  return "?";
}

uint32_t snap_field_size(const myr_field *field) {
  return field->type == MYR_BYTES ? field->size : myr_type_size(field->type);
}

void snap_write_entity(FILE *out, myr_entity entity) {
  fprintf(out, "%" PRIu32 ":%" PRIu32, MYR_ENTITY_INDEX(entity), MYR_ENTITY_GENERATION(entity));
}

/* A float as text; JSON has no NaN or infinity, so those are strings there. */
static void write_float(FILE *out, double v, int digits, snap_style style) {
  bool quote = style == SNAP_JSON && !isfinite(v);
  if (quote) fputc('"', out);
  if (isnan(v)) fputs(signbit(v) ? "-nan" : "nan", out);
  else if (isinf(v)) fputs(v < 0 ? "-inf" : "inf", out);
  else fprintf(out, "%.*g", digits, v);
  if (quote) fputc('"', out);
}

void snap_write_value(FILE *out, myr_type type, uint32_t size, const void *value, snap_style style) {
  union {
    float f32;
    double f64;
    int32_t i32;
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    uint8_t u8;
  } v;
  uint32_t n = type == MYR_BYTES ? 0 : myr_type_size(type);
  memcpy(&v, value, n);
  switch (type) {
  case MYR_F32:
    write_float(out, v.f32, 9, style);
    if (style == SNAP_TEXT) fprintf(out, " (0x%08" PRIx32 ")", v.u32);
    break;
  case MYR_F64:
    write_float(out, v.f64, 17, style);
    if (style == SNAP_TEXT) fprintf(out, " (0x%016" PRIx64 ")", v.u64);
    break;
  case MYR_I32: fprintf(out, "%" PRId32, v.i32); break;
  case MYR_U32: fprintf(out, "%" PRIu32, v.u32); break;
  case MYR_I64: fprintf(out, "%" PRId64, v.i64); break;
  case MYR_U64: fprintf(out, "%" PRIu64, v.u64); break;
  case MYR_U8: fprintf(out, "%u", (unsigned)v.u8); break;
  case MYR_ENTITY:
    if (style == SNAP_JSON) fputc('"', out);
    snap_write_entity(out, v.u64);
    if (style == SNAP_JSON) fputc('"', out);
    break;
  case MYR_BYTES:
    if (style == SNAP_JSON) fputc('"', out);
    for (uint32_t i = 0; i < size; i++) fprintf(out, "%02x", ((const unsigned char *)value)[i]);
    if (style == SNAP_JSON) fputc('"', out);
    break;
  default: fputs(style == SNAP_JSON ? "null" : "?", out);
  }
}
