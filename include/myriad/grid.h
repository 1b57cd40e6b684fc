/* myriad — a uniform neighbour grid over a 2D or 3D position component.
 *
 * myr_grid_add puts two systems into a schedule that rebuild the grid once
 * per frame, in the stage the caller picks, by a deterministic counting sort
 * (schedule.h, myr_view_partial_of):
 *
 *   "<name>.count"  a reduction counts the entities per cell per block of
 *                   rows, scans the counts into each block's offsets; its
 *                   end hook turns the totals into each cell's start;
 *   "<name>.place"  copies each entity's id, position and payload fields into
 *                   its slot: its cell's start plus its block's cursor.
 *
 * Slots are therefore in cell order, and within a cell in row order (tables
 * in the query's order): the same for any thread count and chunk size.
 *
 * Row order differs between worlds that hold the same entities in other
 * rows (e.g. a simulation split over processes, where entities migrate).
 * With desc.has_order, the place system's end hook then sorts each cell's
 * slots by a key, the first field (MYR_U64) of component desc.order, in
 * ascending order; entities with equal keys keep their row order (the sort
 * is stable). The slots (ids aside) are then the same for the same
 * entities, keys, positions and payload, whatever their rows, as long as
 * the keys are unique. The sort is an insertion sort per cell: its cost
 * grows with the square of a cell's count, so cells should hold few
 * entities (as a neighbour grid's do).
 *
 * The grid's arrays live in two world resources, "<name>.counts" (a count
 * per cell) and "<name>" (the slots), allocated with the world's allocator
 * at myr_grid_add and never again: the grid holds at most `capacity`
 * entities, and a frame with more fails with MYR_ELIMIT (schedule.h,
 * myr_system_fail). The myr_grid holds pointers into both, so they must not
 * be resized (myr_resource_resize). Both are part of myr_world_hash, like
 * every resource registered without MYR_RESOURCE_UNHASHED (their bytes
 * follow from the positions, so they change no comparison of hashes). The counting pass keeps a count
 * per cell for every block of block_rows rows (schedule.h, reductions):
 * 4 * cells bytes per block, so a grid of many cells wants large blocks.
 *
 * A system reads the grid by declaring the resource term
 * {grid->slots, MYR_TERM_READ} (so the schedule runs it after the rebuild
 * when it is in the same stage and added after myr_grid_add) and walking
 * the slots from its callbacks with a cursor (myr_grid_near,
 * myr_grid_cells, myr_grid_next), which visits cells in order (z, then y,
 * then x, each ascending from the point's cell minus the reach) and each
 * cell's slots in order: a deterministic order.
 *
 * Cells. A position p falls in the cell floor((p - min) * (1 / cell)) on each
 * axis. Edges: MYR_GRID_CLAMP puts positions outside the box into its edge
 * cells (NaN into cell 0) and measures plain distances; MYR_GRID_WRAP makes
 * the box a torus: cells wrap around, and the delta between two positions
 * is wrapped once into [-width/2, width/2] per axis (so positions should be
 * kept within one box width of the box, as a simulation on a torus does;
 * NaN and positions beyond 2^30 cells go to cell 0). */
#ifndef MYRIAD_GRID_H
#define MYRIAD_GRID_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "myriad/query.h"
#include "myriad/schedule.h"
#include "myriad/status.h"
#include "myriad/world.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MYR_GRID_MAX_PAYLOAD 8 /* f32 fields copied into the grid per entity */
#define MYR_GRID_MAX_FILTERS 8 /* extra with/without/optional terms */
#define MYR_GRID_MAX_CELLS (1u << 24)

typedef enum myr_grid_edges {
  MYR_GRID_CLAMP = 0, /* outside the box: the nearest edge cell */
  MYR_GRID_WRAP = 1   /* the box is a torus */
} myr_grid_edges;

/* One f32 field of a component. */
typedef struct myr_grid_field {
  myr_component component;
  uint32_t field;
} myr_grid_field;

typedef struct myr_grid_desc {
  const char *name;              /* required; names the systems and resources (at most 100 chars) */
  uint32_t stage;                /* the stage of the rebuild systems */
  myr_component position;        /* required */
  uint32_t dims;                 /* 2 or 3 */
  uint32_t axis[3];              /* the f32 fields of position that are x, y[, z] */
  float min[3];                  /* the box's low corner */
  float cell;                    /* a cell's edge length, > 0 */
  uint32_t cells[3];             /* cells per axis, >= 1 (cells[2] unused in 2D); product <= MYR_GRID_MAX_CELLS */
  myr_grid_edges edges;          /* MYR_GRID_CLAMP (0) or MYR_GRID_WRAP */
  uint32_t capacity;             /* most entities the grid holds, >= 1 */
  const myr_grid_field *payload; /* f32 fields copied per slot (e.g. velocity); copied */
  uint32_t payload_count;        /* up to MYR_GRID_MAX_PAYLOAD */
  /* Terms added to the rebuild systems' queries, copied: MYR_TERM_WITH and
   * MYR_TERM_WITHOUT select the rows; MYR_TERM_OPTIONAL selects nothing by
   * itself (rows match whether or not they have the component) but names
   * the component in the queries, for components whose entities only
   * queries naming them match (e.g. to include read-only ghost copies). */
  const myr_term *filter;
  uint32_t filter_count; /* up to MYR_GRID_MAX_FILTERS */
  uint32_t block_rows;   /* rows per block of the counting reduction (rounded up to 16, <= 2^30); 0 = 4096 */
  /* When has_order, each cell's slots are sorted by the first field of
   * component `order`, which must be MYR_U64 (see the top of this header).
   * `order` is then a MYR_TERM_READ term of the rebuild systems: rows
   * without it are not in the grid. It may be the position's component or
   * a payload field's, not a filter's. */
  bool has_order;
  myr_component order;
} myr_grid_desc;

/* A grid, filled in by myr_grid_add. The caller owns the struct: it must stay
 * at its address as long as the schedule runs (the systems point at it).
 * Every field is read-only for the caller. */
typedef struct myr_grid {
  myr_resource counts, slots; /* the resources; readers declare {slots, MYR_TERM_READ} */
  myr_system count, place;    /* the rebuild systems */
  uint32_t dims, capacity, payload_count;
  myr_grid_edges edges;
  uint32_t cells[3], cell_count; /* cells[2] is 1 in 2D */
  float min[3], cell, inv_cell;
  float width[3], half[3]; /* the box's size per axis, and half of it (wrap) */
  /* The slots, valid after a rebuild: start[c] .. start[c + 1] are cell c's;
   * start[cell_count] is the number of entities placed. */
  const uint32_t *start;
  const myr_entity *ids;
  const float *pos[3];                        /* x, y[, z] per slot */
  const float *payload[MYR_GRID_MAX_PAYLOAD]; /* per slot, in desc order */
  const uint64_t *keys;                       /* per slot with has_order (the sort key); else NULL */
  /* private */
  uint32_t axis_[3], block_rows_, key_term_;
  uint32_t payload_term_[MYR_GRID_MAX_PAYLOAD], payload_field_[MYR_GRID_MAX_PAYLOAD];
  size_t ids_offset_, keys_offset_, pos_offset_[3], payload_offset_[MYR_GRID_MAX_PAYLOAD], slots_size_;
} myr_grid;

/* Adds the rebuild systems to the schedule (before any system that reads
 * the grid in the same stage) and registers the grid's resources in the
 * schedule's world. Errors: MYR_EINVAL (NULL, no name or a long one, dims
 * not 2 or 3, a cell size not finite and > 0, a min not finite, zero cells
 * or too many, capacity 0, block_rows above 2^30, too many payload fields
 * or filters, a filter kind other than with/without/optional, a component
 * named twice, the order component a filter's), MYR_ENOCOMP (an unknown
 * component, the order one too when has_order), MYR_EFIELD (no such
 * field), MYR_ETYPE (a position or payload field not f32, with has_order
 * an order component whose first field is not MYR_U64 or that has no
 * fields), MYR_EEXIST (a resource or system name taken):
 * in these cases nothing is changed. MYR_ENOMEM, MYR_ELIMIT (the world's
 * resources are full) and MYR_EBUSY (called while the schedule runs, which
 * is not allowed: not from a system callback) may leave a resource or the
 * count system registered. */
MYR_API myr_status myr_grid_add(myr_schedule *schedule, const myr_grid_desc *desc, myr_grid *grid);

/* The cell of a position on one axis (0 .. cells[axis] - 1), as the rebuild
 * computes it. May be called from a system callback. */
static inline uint32_t myr_grid_axis_cell(const myr_grid *g, uint32_t axis, float v) {
  float f = (v - g->min[axis]) * g->inv_cell;
  int32_t n = (int32_t)g->cells[axis];
  if (g->edges == MYR_GRID_WRAP) {
    if (!(f > -1073741824.0f && f < 1073741824.0f)) return 0;
    int32_t c = (int32_t)f;
    if ((float)c > f) c--; /* floor */
    if ((uint32_t)c < (uint32_t)n) return (uint32_t)c;
    c %= n;
    return (uint32_t)(c < 0 ? c + n : c);
  }
  if (!(f >= 0.0f)) return 0;
  return f >= (float)n ? (uint32_t)n - 1 : (uint32_t)f;
}

/* The cell index of a position (p[0..dims-1]): x + cells[0] * (y +
 * cells[1] * z). May be called from a system callback. */
static inline uint32_t myr_grid_cell_of(const myr_grid *g, const float *p) {
  uint32_t c = myr_grid_axis_cell(g, 1, p[1]) * g->cells[0] + myr_grid_axis_cell(g, 0, p[0]);
  if (g->dims == 3) c += myr_grid_axis_cell(g, 2, p[2]) * g->cells[0] * g->cells[1];
  return c;
}

/* The delta q - p on one axis: wrapped once into [-width/2, width/2] on a
 * torus (see the top of this header); the walks compute theirs so. May be
 * called from a system callback. */
static inline float myr_grid_delta(const myr_grid *g, uint32_t axis, float q, float p) {
  float d = q - p;
  if (g->edges != MYR_GRID_WRAP) return d;
  return d > g->half[axis] ? d - g->width[axis] : d < -g->half[axis] ? d + g->width[axis] : d;
}

/* A neighbour visited: its slot (index into pos, payload, ids), its id, its
 * delta from the point (neighbour minus point, per axis; 0 beyond dims) and
 * the squared distance, delta[0]^2 + delta[1]^2 (+ delta[2]^2). */
typedef struct myr_grid_hit {
  uint32_t slot;
  myr_entity id;
  float delta[3];
  float d2;
} myr_grid_hit;

/* A walk over the slots around a point; fields private (copies of the
 * grid's, so that a walk's loop reads one struct). */
typedef struct myr_grid_cursor {
  const uint32_t *start;
  const myr_entity *ids;
  const float *pos[3];
  float p[3], half[3], width[3], r2;
  bool wrap, filter;
  uint32_t dims, n0, n1, n2;
  /* A row of cells (fixed y, z) is one run of slots, or two where it wraps
   * around: cells [xa0, xa1) then [xb0, xb1) of the row. */
  uint32_t xa0, xa1, xb0, xb1;
  int32_t y, z, y_lo, y_hi, z_hi; /* the row, and the rows' range */
  uint32_t k, end, k2, end2;      /* the run being walked, the row's second run */
} myr_grid_cursor;

static inline float myr_grid_cursor_delta_(const myr_grid_cursor *q, uint32_t a, float v) {
  float d = v - q->p[a];
  if (!q->wrap) return d;
  return d > q->half[a] ? d - q->width[a] : d < -q->half[a] ? d + q->width[a] : d;
}

static inline myr_status myr_grid_walk_nothing_(myr_grid_cursor *q) {
  *q = (myr_grid_cursor){.y = 0, .y_hi = 0, .z = 1, .z_hi = 0}; /* past the last row: done */
  return MYR_EINVAL;
}

static inline myr_status myr_grid_walk_(const myr_grid *g, const float *point, uint32_t reach, myr_grid_cursor *q) {
  const bool wrap = g->edges == MYR_GRID_WRAP;
  int32_t lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  float p[3] = {0.0f, 0.0f, 0.0f};
  for (uint32_t a = 0; a < g->dims; a++) {
    if (wrap ? 2 * (uint64_t)reach + 1 > g->cells[a] : reach >= (1u << 30)) return myr_grid_walk_nothing_(q);
    p[a] = point[a];
    int32_t c = (int32_t)myr_grid_axis_cell(g, a, point[a]);
    lo[a] = c - (int32_t)reach;
    hi[a] = c + (int32_t)reach;
    if (!wrap) {
      lo[a] = lo[a] < 0 ? 0 : lo[a];
      hi[a] = hi[a] >= (int32_t)g->cells[a] ? (int32_t)g->cells[a] - 1 : hi[a];
    }
  }
  const int32_t n0 = (int32_t)g->cells[0];
  *q = (myr_grid_cursor){.start = g->start,
                         .ids = g->ids,
                         .pos = {g->pos[0], g->pos[1], g->pos[2]},
                         .p = {p[0], p[1], p[2]},
                         .half = {g->half[0], g->half[1], g->half[2]},
                         .width = {g->width[0], g->width[1], g->width[2]},
                         .wrap = wrap,
                         .dims = g->dims,
                         .n0 = g->cells[0],
                         .n1 = g->cells[1],
                         .n2 = g->cells[2],
                         .xa0 = (uint32_t)(lo[0] < 0 ? lo[0] + n0 : lo[0]),
                         .xa1 = (uint32_t)(lo[0] < 0 || hi[0] >= n0 ? n0 : hi[0] + 1),
                         .xb1 = (uint32_t)(lo[0] < 0     ? hi[0] + 1
                                           : hi[0] >= n0 ? hi[0] - n0 + 1
                                                         : 0),
                         .y = lo[1] - 1, /* the first step moves to the first row */
                         .z = lo[2],
                         .y_lo = lo[1],
                         .y_hi = hi[1],
                         .z_hi = hi[2]};
  return MYR_OK;
}

/* Starts a walk over every slot of the cells within `reach` cells of the
 * point's cell on each axis (a (2 reach + 1)^dims block, clipped at the
 * box's edges with MYR_GRID_CLAMP). Errors: MYR_EINVAL (NULL, reach
 * larger than the grid: with MYR_GRID_WRAP 2 reach + 1 must not exceed
 * cells on any axis, else a cell would be visited twice; with
 * MYR_GRID_CLAMP reach < 2^30); on an error the cursor walks nothing. May
 * be called from a system callback that declares {grid->slots,
 * MYR_TERM_READ}, or between frames: a walk only reads. */
static inline myr_status myr_grid_cells(const myr_grid *g, const float *point, uint32_t reach, myr_grid_cursor *q) {
  if (!q) return MYR_EINVAL;
  if (!g || !point || !g->start) return myr_grid_walk_nothing_(q);
  return myr_grid_walk_(g, point, reach, q);
}

/* Starts a walk over the entities within `radius` of the point (squared
 * distance <= radius^2, as myr_grid_hit's d2), through the cells within
 * ceil(radius / cell) of the point's cell. Cell coordinates are rounded
 * floats: when the radius is a whole number of cells, an entity at the
 * radius to within a rounding error may be left out, unless min is 0 and
 * the cell a power of two (then they are exact, as in boids); a radius a
 * hair under avoids it. Errors: MYR_EINVAL (NULL, a radius negative or not
 * finite, or larger than the grid as for myr_grid_cells); on an error the
 * cursor walks nothing. May be called from a system callback that declares
 * {grid->slots, MYR_TERM_READ}, or between frames. */
static inline myr_status myr_grid_near(const myr_grid *g, const float *point, float radius, myr_grid_cursor *q) {
  if (!q) return MYR_EINVAL;
  if (!g || !point || !g->start || !(radius >= 0.0f && radius <= 3.0e38f)) return myr_grid_walk_nothing_(q);
  const float reach = ceilf(radius * g->inv_cell);
  if (!(reach < 1073741824.0f)) return myr_grid_walk_nothing_(q);
  myr_status st = myr_grid_walk_(g, point, (uint32_t)reach, q);
  q->filter = true;
  q->r2 = radius * radius;
  return st;
}

/* Moves to the next cell of the walk with slots; false at the end. */
static inline bool myr_grid_cursor_step_(myr_grid_cursor *q) {
  for (;;) {
    if (q->k2 != q->end2) { /* the row's second run */
      q->k = q->k2;
      q->end = q->end2;
      q->k2 = q->end2;
      return true;
    }
    if (++q->y > q->y_hi) {
      q->y = q->y_lo;
      if (++q->z > q->z_hi) {
        q->y = q->y_hi; /* stays done */
        q->z = q->z_hi + 1;
        return false;
      }
    }
    /* rows never leave [-n, 2n): 2 reach + 1 <= n when wrapped, clamped otherwise */
    const int32_t n1 = (int32_t)q->n1, n2 = (int32_t)q->n2;
    const uint32_t y = (uint32_t)(q->y < 0     ? q->y + n1
                                  : q->y >= n1 ? q->y - n1
                                               : q->y),
                   z = (uint32_t)(q->z < 0     ? q->z + n2
                                  : q->z >= n2 ? q->z - n2
                                               : q->z);
    const uint32_t *row = q->start + (z * q->n1 + y) * q->n0;
    q->k = row[q->xa0];
    q->end = row[q->xa1];
    q->k2 = row[q->xb0];
    q->end2 = row[q->xb1];
    if (q->k != q->end) return true;
  }
}

/* The next slot of a walk in cell order, then slot order; false at the end.
 * Reads the grid's own packed copy. May be called from a system callback. */
static inline bool myr_grid_next(myr_grid_cursor *q, myr_grid_hit *hit) {
  for (;;) {
    if (q->k == q->end && !myr_grid_cursor_step_(q)) return false;
    const uint32_t k = q->k++;
    const float dx = myr_grid_cursor_delta_(q, 0, q->pos[0][k]), dy = myr_grid_cursor_delta_(q, 1, q->pos[1][k]);
    float d2 = dx * dx + dy * dy, dz = 0.0f;
    if (q->dims == 3) {
      dz = myr_grid_cursor_delta_(q, 2, q->pos[2][k]);
      d2 += dz * dz;
    }
    if (q->filter && d2 > q->r2) continue;
    hit->slot = k;
    hit->id = q->ids[k];
    hit->delta[0] = dx;
    hit->delta[1] = dy;
    hit->delta[2] = dz;
    hit->d2 = d2;
    return true;
  }
}

#ifdef __cplusplus
}
#endif
#endif /* MYRIAD_GRID_H */
