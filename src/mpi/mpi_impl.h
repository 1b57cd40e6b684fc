/* Private to the MPI part: the struct behind myr_mpi, the entity records
 * that migration, ghosts and restores exchange, and the key map. */
#ifndef MYRIAD_MPI_IMPL_H
#define MYRIAD_MPI_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "myriad/mpi.h"
#include "myriad/query.h"

/* A growable byte buffer. */
typedef struct mbuf {
  unsigned char *data;
  size_t size, cap;
} mbuf;
bool myr_mpx_mbuf_reserve(mbuf *b, size_t more);
bool myr_mpx_mbuf_put(mbuf *b, const void *p, size_t n);
void myr_mpx_mbuf_free(mbuf *b);

/* key -> entity, open addressing (keys are never 0 here: 0 is "no key"). */
typedef struct keymap {
  uint64_t *keys;
  myr_entity *ids;
  uint64_t *aux; /* a value beside each id (the ghosts' component signature) */
  uint32_t cap;  /* power of two, or 0 */
  uint32_t count;
} keymap;
bool myr_mpx_keymap_put(keymap *m, uint64_t key, myr_entity id);
/* The same, with an aux value (put sets it 0). */
bool myr_mpx_keymap_put_aux(keymap *m, uint64_t key, myr_entity id, uint64_t aux);
/* The aux value beside key, 0 when absent. */
uint64_t myr_mpx_keymap_aux(const keymap *m, uint64_t key);
/* A component list's signature: equal lists, equal signatures (never 0). */
uint64_t myr_mpx_signature(const myr_component *comps, uint32_t n);
myr_entity myr_mpx_keymap_get(const keymap *m, uint64_t key);
void myr_mpx_keymap_clear(keymap *m);
void myr_mpx_keymap_free(keymap *m);

/* In the map of ghosts by key during the migration: the ghost arrived as
 * an owned entity; a second record with its key is a corrupt message. */
#define MPI_KEPT ((myr_entity)UINT64_MAX)

/* A link to fix once every entity of an exchange has arrived: field `field`
 * of `component` on `entity` names the entity keyed `key`. */
typedef struct pending_link {
  myr_entity entity;
  myr_component component;
  uint32_t field;
  uint64_t key;
} pending_link;

/* How one component travels: its fields' offsets, types and sizes in the
 * row struct myr_component_get fills (row_size: the end of its last field). */
typedef struct comp_layout {
  uint32_t field_count, row_size;
  uint32_t *offset, *size;
  myr_type *type;
  bool has_links;
} comp_layout;

/* A list of entity ids. */
typedef struct id_list {
  myr_entity *ids;
  uint32_t count, cap;
} id_list;
bool myr_mpx_id_push(id_list *l, myr_entity e);

/* A component set (a table's, without the ghost tag) and its queries: the
 * owned entities of tables with at least those components, and the ghosts
 * of such tables (ghosts.c). */
typedef struct set_q {
  uint64_t sig;
  uint32_t index; /* in m->sets */
  uint32_t n;     /* components, ascending */
  myr_component comps[MYR_MAX_COMPONENTS];
  int32_t term[MYR_MAX_COMPONENTS]; /* each component's term in the queries, -1 for a tag */
  uint32_t packed, fields;          /* bytes of a record's values; fields in all */
  uint32_t key_at;                  /* where the key is in a record's values */
  bool has_links;
  myr_query *owned, *ghosts;  /* terms: the components (read; write), then the ghost tag (with) */
  int32_t pos_term, key_term; /* -1 when the set lacks them */
} set_q;

struct myr_mpi {
  MPI_Comm comm;
  int rank, ranks;
  myr_world *world;
  myr_mpi_desc d;
  myr_component ghost;
  myr_query *owned_q, *ghost_q; /* position, without / with the ghost tag */
  /* cells: per axis count and shift; curve position of each cell and the
   * owner of each curve position */
  uint32_t cells[3], cell_count, bits[3];
  float scale[3];       /* cells per unit, per axis */
  uint32_t *curve_of;   /* cell index (x fastest) -> position on the curve */
  uint16_t *owner;      /* curve position -> rank */
  uint64_t *counts;     /* scratch: entities per curve position */
  uint16_t *cell_owner; /* cell index -> rank (from owner, after each split) */
  unsigned char *near;  /* cell index -> 1 when another rank's cells are within the ghost width */
  comp_layout *layouts; /* per component, made at create */
  uint32_t component_count;
  /* the ghosts made by the last refresh */
  myr_entity *ghost_ids;
  uint64_t *ghost_keys;
  int *ghost_from;
  uint32_t ghost_count, ghost_cap;
  keymap map;         /* scratch */
  keymap ghost_map;   /* scratch: this rank's ghosts by key, during an exchange */
  keymap ghost_index; /* ghost id -> its index in ghost_ids + 1 (forward.c), made when first needed */
  bool ghost_index_fresh;
  set_q **sets; /* the component sets seen (ghosts.c) */
  uint32_t set_count, set_cap;
  uint32_t *table_set; /* table id -> its set's index + 1, 0 unknown */
  uint32_t table_set_cap;
  uint32_t stage_ends; /* stage-end hooks run in this frame */
  pending_link *links;
  uint32_t link_count, link_cap;
  keymap pending; /* entity -> its first pending link + 1 (exchange.c) */
  uint32_t pending_built;
  mbuf *out; /* per rank, scratch */
  mbuf in;
  int *scount, *sdispl, *rcount, *rdispl;
  int *seen;           /* scratch: ranks a ghost goes to */
  unsigned char *mark; /* per rank, scratch */
  unsigned char *row;  /* scratch row struct, big enough for any component */
  uint32_t row_cap;
  myr_mpi_stats stats;
  char error[256];
};

/* mpi.c */
uint32_t myr_mpx_curve_of_position(const myr_mpi *m, const float *p);
/* The cell of coordinate v on axis a (below the box or NaN: 0; at or past
 * its top: the last). */
static inline uint32_t myr_mpx_axis_cell(const myr_mpi *m, uint32_t a, float v) {
  float f = (v - m->d.min[a]) * m->scale[a], top = (float)(m->cells[a] - 1);
  f = f > 0.0f ? f : 0.0f;
  f = f < top ? f : top;
  return (uint32_t)(int32_t)f;
}
/* The cells of rows [0, n) of position columns (col[a] per axis; NULL
 * past dims), by cell index. */
void myr_mpx_cells_of_rows(const myr_mpi *m, const float *const *col, uint32_t n, uint32_t *restrict out);
void myr_mpx_fail(myr_mpi *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Agrees on a status: the first failing rank's (lowest rank), its message
 * copied to every rank. */
myr_status myr_mpx_agree(myr_mpi *m, myr_status local);
double myr_mpx_now_ms(void);
myr_status myr_mpx_split(myr_mpi *m, bool local_only);
myr_status myr_mpx_migrate(myr_mpi *m);
/* ghosts.c: the ghosts' refresh, and the sets' queries freed. */
myr_status myr_mpx_refresh_ghosts(myr_mpi *m);
void myr_mpx_sets_free(myr_mpi *m);
/* Sends the ghosts destroyed between frames to their owners (at a frame's
 * end, when no stage ran the hook). */
myr_status myr_mpx_forward_destroys(myr_mpi *m);

/* forward.c: the schedule's stage-end hook (ctx: the myr_mpi), which sends
 * the patches diverted from ghosts to their owners and injects those that
 * arrive. */
myr_status myr_mpx_stage_end(myr_schedule *s, uint32_t stage, myr_status status, void *ctx);

/* exchange.c: records of whole entities. An entity's record: its key (0
 * without one), its component count, then per component its id and its
 * row struct's bytes (links as the linked entity's key). */
myr_status myr_mpx_layouts_make(myr_mpi *m);
void myr_mpx_layouts_free(myr_mpi *m);
/* The components of e here but the ghost tag, ascending, into comps (room
 * for every component); their count. */
uint32_t myr_mpx_entity_comps(const myr_mpi *m, myr_entity e, myr_component *comps);
/* Appends the record of entity e of this rank's world, whose key and
 * components are known (those of its chunk's table). */
myr_status myr_mpx_pack_known(myr_mpi *m, myr_entity e, uint64_t key, const myr_component *comps, uint32_t n, mbuf *b);
/* The same from another world w (a checkpoint's file): its key component,
 * its ghost component (left out; any other value if none) and its
 * components' ids here (map[c]); the layouts must agree (checked before). */
myr_status myr_mpx_pack_from(myr_mpi *m, const myr_world *w, bool has_key, myr_component key, myr_component skip,
                             const myr_component *map, myr_entity e, mbuf *b);
/* Reads records from in[0..size): each arriving entity is created, or, when
 * its key names a ghost here (in `ghosts`), the ghost is updated and becomes
 * owned. Links go to m->links. `got` counts the records. */
myr_status myr_mpx_unpack(myr_mpi *m, const unsigned char *in, size_t size, keymap *ghosts, uint64_t *got);
/* The key that stands for link target `target` of field f of component c
 * on entity e here: the target's key, or the key of a link that arrived
 * and is not resolved yet; 0 for none. */
uint64_t myr_mpx_link_key(myr_mpi *m, myr_entity e, myr_component c, uint32_t f, myr_entity target);
/* Field f of c on e is to name the entity keyed `key` once every entity
 * of the exchange has arrived (myr_mpx_resolve_links). */
myr_status myr_mpx_link_later(myr_mpi *m, myr_entity e, myr_component c, uint32_t f, uint64_t key);
/* Gives e exactly the components comps[0..n) (ascending; values[i] a row
 * struct for comps[i]), besides the ghost tag. */
myr_status myr_mpx_change_set(myr_mpi *m, myr_entity e, const myr_component *comps, uint32_t n,
                              const void *const *values);
/* Every pending link resolved against the entities here (owned and ghosts). */
myr_status myr_mpx_resolve_links(myr_mpi *m);
/* Sends out[r] to rank r and receives into m->in, with per-rank counts in
 * m->rcount and displacements in m->rdispl. */
myr_status myr_mpx_exchange(myr_mpi *m, uint64_t *bytes_sent);
/* m->map holds keys wanted (their entities NULL): one pass over every keyed
 * entity here (owned and ghosts) fills in the entity of each that is here. */
myr_status myr_mpx_find_keys(myr_mpi *m);

#endif
