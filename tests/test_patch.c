/* Patches through a command buffer: recording, outcomes, one move per
 * entity, provisional ids, and failure. */
#include "helpers.h"

typedef struct pfix {
  fixture f;
  myr_patches *p;
} pfix;

static int pfix_setup(void **state) {
  pfix *x = calloc(1, sizeof *x);
  if (!x || myr_world_create(checked_world(), &x->f.w) != MYR_OK) return -1;
  fixture_register(&x->f);
  if (myr_patches_create(x->f.w, &x->p) != MYR_OK) return -1;
  *state = x;
  return 0;
}

static int pfix_teardown(void **state) {
  pfix *x = *state;
  myr_patches_destroy(x->p);
  myr_world_destroy(x->f.w);
  free(x);
  return 0;
}

static myr_entity make(pfix *x, const myr_component *set, uint32_t n) {
  myr_entity e;
  assert_int_equal(
      myr_entity_create_bulk(
          x->f.w, &(myr_bulk_desc){.components = set, .component_count = n, .values = NULL, .count = 1, .ids_out = &e}),
      MYR_OK);
  return e;
}

static myr_patch_stats apply(pfix *x) {
  myr_patch_stats st = {0};
  assert_int_equal(myr_patches_apply(x->p, &st), MYR_OK);
  assert_int_equal(myr_patches_count(x->p), 0);
  return st;
}

static void commutative_updates_apply_in_order_to_the_value_left_before(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.health, x->f.pos, x->f.label}, 3);
  assert_int_equal(myr_component_set(x->f.w, e, x->f.health, &(t_health){10, 0, 1.0}), MYR_OK);
  assert_int_equal(myr_component_set(x->f.w, e, x->f.label, &(t_label){"ab", UINT64_MAX - 1}), MYR_OK);
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.health, 0, MYR_I32, &(int32_t){5}), MYR_OK);
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.health, 0, MYR_I32, &(int32_t){-20}), MYR_OK);
  assert_int_equal(myr_patch_max(x->p, e, x->f.health, 0, MYR_I32, &(int32_t){-7}), MYR_OK); /* -5 -> -5 */
  assert_int_equal(myr_patch_min(x->p, e, x->f.health, 0, MYR_I32, &(int32_t){-6}), MYR_OK); /* -> -6 */
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.health, 2, MYR_F64, &(double){0.5}), MYR_OK);
  assert_int_equal(myr_patch_max(x->p, e, x->f.pos, 1, MYR_F32, &(float){3}), MYR_OK);
  assert_int_equal(myr_patch_min(x->p, e, x->f.pos, 2, MYR_F32, &(float){-1}), MYR_OK);
  float nan = 0.0f / 0.0f;
  assert_int_equal(myr_patch_min(x->p, e, x->f.pos, 2, MYR_F32, &nan), MYR_OK); /* changes nothing */
  /* unsigned wraps around */
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.label, 1, MYR_U64, &(uint64_t){3}), MYR_OK);
  /* a set in between: later updates start from its value */
  assert_int_equal(myr_patch_set_field(x->p, e, x->f.pos, 0, MYR_F32, &(float){100}), MYR_OK);
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.pos, 0, MYR_F32, &(float){0.25f}), MYR_OK);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.recorded, 11);
  assert_int_equal(st.applied, 11);
  t_health h;
  t_position p;
  t_label l;
  assert_int_equal(myr_component_get(x->f.w, e, x->f.health, &h), MYR_OK);
  assert_int_equal(myr_component_get(x->f.w, e, x->f.pos, &p), MYR_OK);
  assert_int_equal(myr_component_get(x->f.w, e, x->f.label, &l), MYR_OK);
  assert_int_equal(h.hp, -6);
  assert_true(h.regen == 1.5);
  assert_true(p.x == 100.25f && p.y == 3 && p.z == -1);
  assert_int_equal(l.serial, 1);
}

static void commutative_updates_reject_fields_they_cannot_combine(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.health, x->f.label}, 2);
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.health, 1, MYR_U8, &(uint8_t){1}), MYR_ETYPE); /* u8 */
  assert_int_equal(myr_patch_min(x->p, e, x->f.label, 0, MYR_BYTES, "abcd"), MYR_ETYPE);         /* bytes */
  assert_int_equal(myr_patch_max(x->p, e, x->f.health, 0, MYR_F32, &(float){1}), MYR_ETYPE);     /* wrong type */
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.health, 3, MYR_I32, &(int32_t){1}), MYR_EFIELD);
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.health, 0, MYR_I32, NULL), MYR_EINVAL);
  assert_int_equal(myr_patch_add_to(x->p, e, 99, 0, MYR_I32, &(int32_t){1}), MYR_ENOCOMP);
  assert_int_equal(myr_patch_add_to(NULL, e, x->f.health, 0, MYR_I32, &(int32_t){1}), MYR_EINVAL);
  assert_int_equal(myr_patches_count(x->p), 0);
  /* absent component, dead entity: skipped and counted like sets */
  myr_entity gone = make(x, (myr_component[]){x->f.health}, 1);
  assert_int_equal(myr_entity_destroy(x->f.w, gone), MYR_OK);
  assert_int_equal(myr_patch_add_to(x->p, gone, x->f.health, 0, MYR_I32, &(int32_t){1}), MYR_OK);
  assert_int_equal(myr_patch_add_to(x->p, e, x->f.pos, 0, MYR_F32, &(float){1}), MYR_OK);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.skipped_dead, 1);
  assert_int_equal(st.skipped_absent, 1);
  assert_int_equal(st.applied, 0);
}

static void the_first_first_wins_set_wins_and_later_ones_are_counted(void **state) {
  pfix *x = *state;
  myr_entity a = make(x, (myr_component[]){x->f.pos}, 1), b = make(x, (myr_component[]){x->f.pos}, 1);
  assert_int_equal(myr_patch_set_first(x->p, a, x->f.pos, &(t_position){1, 1, 1}), MYR_OK);
  assert_int_equal(myr_patch_set_first(x->p, a, x->f.pos, &(t_position){2, 2, 2}), MYR_OK); /* loses */
  assert_int_equal(myr_patch_set_first(x->p, b, x->f.pos, &(t_position){3, 3, 3}), MYR_OK); /* another entity */
  assert_int_equal(myr_patch_set_first(x->p, a, x->f.vel, &(t_velocity){4, 4, 4}), MYR_OK); /* absent */
  /* an add in the same batch: the later first-wins set of the new
   * component is its first */
  assert_int_equal(myr_patch_add(x->p, a, x->f.vel, NULL), MYR_OK);
  assert_int_equal(myr_patch_set_first(x->p, a, x->f.vel, &(t_velocity){5, 5, 5}), MYR_OK);
  assert_int_equal(myr_patch_set_first(x->p, a, x->f.vel, &(t_velocity){6, 6, 6}), MYR_OK); /* loses */
  /* an ordinary set after the winner still applies (last wins) */
  assert_int_equal(myr_patch_set_field(x->p, b, x->f.pos, 0, MYR_F32, &(float){7}), MYR_OK);
  assert_int_equal(myr_patch_set_first(x->p, b, x->f.pos, &(t_position){8, 8, 8}), MYR_OK); /* loses */
  myr_patch_stats st = apply(x);
  assert_int_equal(st.skipped_lost, 3);
  assert_int_equal(st.skipped_absent, 1);
  t_position pa, pb;
  t_velocity va;
  assert_int_equal(myr_component_get(x->f.w, a, x->f.pos, &pa), MYR_OK);
  assert_int_equal(myr_component_get(x->f.w, b, x->f.pos, &pb), MYR_OK);
  assert_int_equal(myr_component_get(x->f.w, a, x->f.vel, &va), MYR_OK);
  assert_true(pa.x == 1 && pb.x == 7 && pb.y == 3 && va.x == 5);
  /* a new batch: first wins again */
  assert_int_equal(myr_patch_set_first(x->p, a, x->f.pos, &(t_position){9, 9, 9}), MYR_OK);
  st = apply(x);
  assert_int_equal(st.skipped_lost, 0);
  assert_int_equal(myr_component_get(x->f.w, a, x->f.pos, &pa), MYR_OK);
  assert_true(pa.x == 9);
  assert_int_equal(myr_patch_set_first(x->p, a, x->f.pos, NULL), MYR_EINVAL);
}

static void set_patches_write_values_and_skip_absent_components(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.pos}, 1);
  assert_int_equal(myr_patch_set(x->p, e, x->f.pos, &(t_position){1, 2, 3}), MYR_OK);
  assert_int_equal(myr_patch_set_field(x->p, e, x->f.pos, 2, MYR_F32, &(float){9}), MYR_OK);
  assert_int_equal(myr_patch_set(x->p, e, x->f.vel, &(t_velocity){1, 1, 1}), MYR_OK);
  assert_int_equal(myr_patches_count(x->p), 3);
  /* nothing happens before apply */
  t_position p;
  assert_int_equal(myr_component_get(x->f.w, e, x->f.pos, &p), MYR_OK);
  assert_true(p.x == 0);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.recorded, 3);
  assert_int_equal(st.applied, 2);
  assert_int_equal(st.skipped_absent, 1);
  assert_int_equal(myr_component_get(x->f.w, e, x->f.pos, &p), MYR_OK);
  assert_true(p.x == 1 && p.y == 2 && p.z == 9);
  assert_false(myr_component_has(x->f.w, e, x->f.vel));
}

static void apply_fills_stats_rather_than_adding(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.pos}, 1);
  myr_patch_stats st;
  memset(&st, 0x5a, sizeof st); /* garbage in: the counts of this batch out */
  assert_int_equal(myr_patch_set(x->p, e, x->f.pos, &(t_position){1, 2, 3}), MYR_OK);
  assert_int_equal(myr_patches_apply(x->p, &st), MYR_OK);
  assert_int_equal(st.recorded, 1);
  assert_int_equal(st.applied, 1);
  assert_int_equal(st.skipped_dead + st.skipped_present + st.skipped_absent, 0);
  assert_int_equal(myr_patch_destroy(x->p, e), MYR_OK);
  assert_int_equal(myr_patches_apply(x->p, &st), MYR_OK);
  assert_int_equal(st.recorded, 1);
  assert_int_equal(st.destroyed, 1);
  assert_int_equal(st.spawned + st.moved, 0);
}

static myr_status callback_apply, callback_count_after;
static void try_to_apply_own_handle(const myr_view *v, myr_patches *p) {
  assert_int_equal(myr_patch_destroy(p, v->chunk.ids[0]), MYR_OK);
  callback_apply = myr_patches_apply(p, NULL);
  myr_patches_clear(p);   /* ignored */
  myr_patches_destroy(p); /* ignored */
  callback_count_after = myr_patches_count(p) ? MYR_OK : MYR_EINVAL;
}

static void a_callback_handle_is_not_a_command_buffer(void **state) {
  pfix *x = *state;
  make(x, (myr_component[]){x->f.pos}, 1);
  myr_schedule *s;
  assert_int_equal(myr_schedule_create(x->f.w, NULL, &s), MYR_OK);
  assert_int_equal(myr_schedule_add(s,
                                    &(myr_system_desc){.name = "apply",
                                                       .terms = (myr_term[]){{x->f.pos, MYR_TERM_READ}},
                                                       .term_count = 1,
                                                       .fn = try_to_apply_own_handle},
                                    NULL),
                   MYR_OK);
  assert_int_equal(myr_schedule_run(s, 1), MYR_OK);
  assert_int_equal(callback_apply, MYR_EBUSY);
  assert_int_equal(callback_count_after, MYR_OK);      /* the patch survived clear and destroy */
  assert_int_equal(myr_world_entity_count(x->f.w), 0); /* and the schedule applied it */
  myr_schedule_destroy(s);
}

static void recording_rejects_bad_input(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.pos}, 1);
  assert_int_equal(myr_patch_set(x->p, e, 99, &(t_position){0}), MYR_ENOCOMP);
  assert_int_equal(myr_patch_set(x->p, e, x->f.pos, NULL), MYR_EINVAL);
  assert_int_equal(myr_patch_set(NULL, e, x->f.pos, &(t_position){0}), MYR_EINVAL);
  assert_int_equal(myr_patch_set(x->p, MYR_ENTITY_NULL, x->f.pos, &(t_position){0}), MYR_EINVAL);
  assert_int_equal(myr_patch_set_field(x->p, e, x->f.pos, 3, MYR_F32, &(float){0}), MYR_EFIELD);
  assert_int_equal(myr_patch_set_field(x->p, e, x->f.pos, 0, MYR_F64, &(double){0}), MYR_ETYPE);
  assert_int_equal(myr_patch_add(x->p, e, 99, NULL), MYR_ENOCOMP);
  assert_int_equal(myr_patch_remove(x->p, e, 99), MYR_ENOCOMP);
  assert_int_equal(myr_patch_destroy(x->p, MYR_ENTITY_NULL), MYR_EINVAL);
  assert_int_equal(myr_patch_spawn(x->p, (myr_component[]){x->f.pos, 99}, 2, NULL, NULL), MYR_ENOCOMP);
  assert_int_equal(myr_patch_spawn(x->p, (myr_component[]){x->f.pos, x->f.pos}, 2, NULL, NULL), MYR_EINVAL);
  assert_int_equal(myr_patches_count(x->p), 0);
}

static void clear_discards_recorded_patches(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.pos}, 1);
  uint64_t h = world_hash(x->f.w);
  assert_int_equal(myr_patch_destroy(x->p, e), MYR_OK);
  assert_int_equal(myr_patch_spawn(x->p, NULL, 0, NULL, NULL), MYR_OK);
  assert_int_equal(myr_patches_count(x->p), 2);
  myr_patches_clear(x->p);
  assert_int_equal(myr_patches_count(x->p), 0);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.recorded, 0);
  assert_int_equal(world_hash(x->f.w), h);
}

static void stale_dead_and_after_destroy_patches_are_skipped(void **state) {
  pfix *x = *state;
  myr_entity a = make(x, (myr_component[]){x->f.pos}, 1), b = make(x, (myr_component[]){x->f.pos}, 1);
  assert_int_equal(myr_entity_destroy(x->f.w, b), MYR_OK);
  assert_int_equal(myr_patch_set(x->p, b, x->f.pos, &(t_position){1, 1, 1}), MYR_OK); /* stale */
  assert_int_equal(myr_patch_destroy(x->p, a), MYR_OK);
  assert_int_equal(myr_patch_set(x->p, a, x->f.pos, &(t_position){1, 1, 1}), MYR_OK);      /* after destroy */
  assert_int_equal(myr_patch_add(x->p, a, x->f.vel, NULL), MYR_OK);                        /* after destroy */
  assert_int_equal(myr_patch_destroy(x->p, a), MYR_OK);                                    /* twice */
  assert_int_equal(myr_patch_remove(x->p, ((myr_entity)1 << 32) | 777, x->f.pos), MYR_OK); /* unknown */
  myr_patch_stats st = apply(x);
  assert_int_equal(st.applied, 1);
  assert_int_equal(st.skipped_dead, 5);
  assert_int_equal(st.destroyed, 1);
  assert_false(myr_entity_alive(x->f.w, a));
  assert_int_equal(myr_world_entity_count(x->f.w), 0);
}

static void add_present_and_remove_absent_are_skipped(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.pos}, 1);
  uint64_t h = world_hash(x->f.w);
  assert_int_equal(myr_patch_add(x->p, e, x->f.pos, &(t_position){5, 5, 5}), MYR_OK);
  assert_int_equal(myr_patch_remove(x->p, e, x->f.vel), MYR_OK);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.skipped_present, 1);
  assert_int_equal(st.skipped_absent, 1);
  assert_int_equal(st.moved, 0);
  assert_int_equal(world_hash(x->f.w), h); /* the add's values were not written */
}

static void several_structural_patches_move_the_row_once(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.pos, x->f.tag}, 2);
  assert_int_equal(myr_component_set(x->f.w, e, x->f.pos, &(t_position){7, 8, 9}), MYR_OK);
  uint32_t tables = myr_world_table_count(x->f.w);
  assert_int_equal(myr_patch_add(x->p, e, x->f.vel, &(t_velocity){1, 2, 3}), MYR_OK);
  assert_int_equal(myr_patch_add(x->p, e, x->f.health, &(t_health){10, 1, 0.5}), MYR_OK);
  assert_int_equal(myr_patch_remove(x->p, e, x->f.tag), MYR_OK);
  assert_int_equal(myr_patch_set_field(x->p, e, x->f.health, 0, MYR_I32, &(int32_t){11}), MYR_OK);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.applied, 4);
  assert_int_equal(st.moved, 1);
  /* only the final table was made: no table per intermediate set */
  assert_int_equal(myr_world_table_count(x->f.w), tables + 1);
  t_position p;
  t_velocity v;
  t_health hh;
  assert_int_equal(myr_component_get(x->f.w, e, x->f.pos, &p), MYR_OK);
  assert_int_equal(myr_component_get(x->f.w, e, x->f.vel, &v), MYR_OK);
  assert_int_equal(myr_component_get(x->f.w, e, x->f.health, &hh), MYR_OK);
  assert_true(p.x == 7 && p.z == 9 && v.y == 2 && hh.hp == 11 && hh.armor == 1);
  assert_false(myr_component_has(x->f.w, e, x->f.tag));
}

static void remove_then_add_resets_values_and_add_then_remove_cancels(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.pos}, 1);
  assert_int_equal(myr_component_set(x->f.w, e, x->f.pos, &(t_position){7, 8, 9}), MYR_OK);
  assert_int_equal(myr_patch_remove(x->p, e, x->f.pos), MYR_OK);
  assert_int_equal(myr_patch_set(x->p, e, x->f.pos, &(t_position){1, 1, 1}), MYR_OK); /* absent now */
  assert_int_equal(myr_patch_add(x->p, e, x->f.pos, NULL), MYR_OK);
  assert_int_equal(myr_patch_add(x->p, e, x->f.vel, &(t_velocity){4, 4, 4}), MYR_OK);
  assert_int_equal(myr_patch_remove(x->p, e, x->f.vel), MYR_OK);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.skipped_absent, 1);
  assert_int_equal(st.moved, 0); /* the final set is the one it had */
  t_position p;
  assert_int_equal(myr_component_get(x->f.w, e, x->f.pos, &p), MYR_OK);
  assert_true(p.x == 0 && p.y == 0 && p.z == 0);
  assert_false(myr_component_has(x->f.w, e, x->f.vel));
}

static void spawned_entities_take_later_patches_and_resolve_in_order(void **state) {
  pfix *x = *state;
  myr_entity a, b, c;
  const myr_component set[] = {x->f.pos};
  const void *vals[] = {&(t_position){1, 2, 3}};
  assert_int_equal(myr_patch_spawn(x->p, set, 1, vals, &a), MYR_OK);
  assert_int_equal(myr_patch_spawn(x->p, set, 1, NULL, &b), MYR_OK);
  assert_int_equal(myr_patch_spawn(x->p, NULL, 0, NULL, &c), MYR_OK);
  assert_true(MYR_ENTITY_IS_PROVISIONAL(a) && MYR_ENTITY_IS_PROVISIONAL(b) && a != b);
  assert_int_equal(myr_patch_add(x->p, a, x->f.health, &(t_health){3, 0, 0}), MYR_OK);
  assert_int_equal(myr_patch_set_field(x->p, b, x->f.pos, 0, MYR_F32, &(float){5}), MYR_OK);
  assert_int_equal(myr_patch_destroy(x->p, c), MYR_OK); /* spawned and destroyed: never made */
  myr_patch_stats st = apply(x);
  assert_int_equal(st.spawned, 2);
  assert_int_equal(st.destroyed, 0);
  assert_int_equal(myr_world_entity_count(x->f.w), 2);
  /* resolved in patch order: a got the first fresh slot, b the next */
  myr_entity ra = (myr_entity)1 << 32, rb = ((myr_entity)1 << 32) | 1;
  t_position p;
  t_health h;
  assert_int_equal(myr_component_get(x->f.w, ra, x->f.pos, &p), MYR_OK);
  assert_true(p.x == 1 && p.y == 2 && p.z == 3);
  assert_int_equal(myr_component_get(x->f.w, ra, x->f.health, &h), MYR_OK);
  assert_int_equal(h.hp, 3);
  assert_int_equal(myr_component_get(x->f.w, rb, x->f.pos, &p), MYR_OK);
  assert_true(p.x == 5 && p.y == 0);
  /* a provisional id from an applied batch is refused, and nothing recorded */
  assert_int_equal(myr_patch_set(x->p, a, x->f.pos, &(t_position){0}), MYR_ESTALE);
  assert_int_equal(myr_patch_destroy(x->p, b), MYR_ESTALE);
  assert_int_equal(myr_patches_count(x->p), 0);
}

static void destroys_come_before_spawns_so_slots_are_reused(void **state) {
  pfix *x = *state;
  myr_entity e = make(x, (myr_component[]){x->f.pos}, 1), s;
  assert_int_equal(myr_patch_spawn(x->p, (myr_component[]){x->f.vel}, 1, NULL, &s), MYR_OK);
  assert_int_equal(myr_patch_destroy(x->p, e), MYR_OK);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.spawned, 1);
  assert_int_equal(st.destroyed, 1);
  myr_entity reused = ((myr_entity)2 << 32) | MYR_ENTITY_INDEX(e);
  assert_true(myr_component_has(x->f.w, reused, x->f.vel));
}

static void rows_leave_tables_correctly_in_any_patch_order(void **state) {
  pfix *x = *state;
  enum { N = 300 };
  myr_entity a[N], b[N];
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos},
                                                                   .component_count = 1,
                                                                   .values = NULL,
                                                                   .count = N,
                                                                   .ids_out = a}),
                   MYR_OK);
  assert_int_equal(myr_entity_create_bulk(x->f.w, &(myr_bulk_desc){.components = (myr_component[]){x->f.pos, x->f.tag},
                                                                   .component_count = 2,
                                                                   .values = NULL,
                                                                   .count = N,
                                                                   .ids_out = b}),
                   MYR_OK);
  for (int i = 0; i < N; i++) {
    assert_int_equal(myr_component_set(x->f.w, a[i], x->f.pos, &(t_position){(float)i, 0, 0}), MYR_OK);
    assert_int_equal(myr_component_set(x->f.w, b[i], x->f.pos, &(t_position){(float)-i, 0, 0}), MYR_OK);
  }
  /* scattered order, tables interleaved: destroys and moves from both */
  uint64_t rng = test_seed(99);
  int fate[2][N] = {{0}};
  for (int k = 0; k < N; k++) {
    int i = (int)(rng_next(&rng) % N), which = (int)(rng_next(&rng) & 1);
    if (fate[which][i]) continue;
    fate[which][i] = 1 + (int)(rng_next(&rng) % 2); /* 1 destroy, 2 add Velocity */
    myr_entity e = which ? b[i] : a[i];
    if (fate[which][i] == 1) assert_int_equal(myr_patch_destroy(x->p, e), MYR_OK);
    else assert_int_equal(myr_patch_add(x->p, e, x->f.vel, &(t_velocity){1, 1, 1}), MYR_OK);
  }
  apply(x);
  for (int which = 0; which < 2; which++) {
    for (int i = 0; i < N; i++) {
      myr_entity e = which ? b[i] : a[i];
      t_position p;
      if (fate[which][i] == 1) {
        assert_false(myr_entity_alive(x->f.w, e));
        continue;
      }
      assert_int_equal(myr_component_get(x->f.w, e, x->f.pos, &p), MYR_OK);
      assert_true(p.x == (which ? (float)-i : (float)i));
      assert_int_equal(myr_component_has(x->f.w, e, x->f.vel), fate[which][i] == 2);
      assert_int_equal(myr_component_has(x->f.w, e, x->f.tag), which == 1);
    }
  }
}

typedef struct failing {
  long countdown;
  long live;
} failing;

static void *fail_alloc(size_t size, size_t align, void *user) {
  failing *f = user;
  if (f->countdown == 0) return NULL;
  if (f->countdown > 0) f->countdown--;
  if (align < sizeof(void *)) align = sizeof(void *);
  f->live++;
  return aligned_alloc(align, (size + align - 1) / align * align + align);
}

static void fail_free(void *p, size_t size, void *user) {
  (void)size;
  ((failing *)user)->live--;
  free(p);
}

static void apply_survives_every_failed_allocation(void **state) {
  (void)state;
  failing fa = {-1, 0};
  fixture f = {0};
  assert_int_equal(myr_world_create(&(myr_world_desc){{fail_alloc, fail_free, &fa}}, &f.w), MYR_OK);
  fixture_register(&f);
  myr_entity ids[40];
  assert_int_equal(myr_entity_create_bulk(f.w, &(myr_bulk_desc){.components = (myr_component[]){f.pos},
                                                                .component_count = 1,
                                                                .values = NULL,
                                                                .count = 40,
                                                                .ids_out = ids}),
                   MYR_OK);
  myr_patches *p;
  assert_int_equal(myr_patches_create(f.w, &p), MYR_OK);
  for (int i = 0; i < 40; i++) {
    if (i % 4 == 0) assert_int_equal(myr_patch_add(p, ids[i], f.health, &(t_health){i, 0, 0}), MYR_OK);
    if (i % 4 == 1) assert_int_equal(myr_patch_destroy(p, ids[i]), MYR_OK);
    if (i % 4 == 2) assert_int_equal(myr_patch_spawn(p, (myr_component[]){f.vel, f.label}, 2, NULL, NULL), MYR_OK);
    if (i % 4 == 3) assert_int_equal(myr_patch_set(p, ids[i], f.pos, &(t_position){1, 1, 1}), MYR_OK);
  }
  uint64_t recorded = myr_patches_count(p);
  long failures = 0;
  for (long k = 0;; k++) {
    uint64_t h = world_hash(f.w);
    fa.countdown = k;
    myr_status s = myr_patches_apply(p, NULL);
    fa.countdown = -1;
    if (s == MYR_OK) break;
    assert_int_equal(s, MYR_ENOMEM);
    assert_int_equal(world_hash(f.w), h);
    assert_int_equal(myr_patches_count(p), recorded); /* still there to retry */
    failures++;
  }
  assert_true(failures >= 3);
  assert_int_equal(myr_world_entity_count(f.w), 40 - 10 + 10);
  myr_patches_destroy(p);
  myr_world_destroy(f.w);
  assert_int_equal(fa.live, 0);
}

static void put_patches_set_or_add_in_batch_order(void **state) {
  pfix *x = *state;
  myr_entity a = make(x, (myr_component[]){x->f.pos}, 1), b = make(x, (myr_component[]){x->f.vel}, 1);
  assert_int_equal(myr_patch_put(x->p, a, x->f.pos, &(t_position){1, 1, 1}), MYR_OK); /* has it: a set */
  assert_int_equal(myr_patch_put(x->p, b, x->f.pos, &(t_position){2, 2, 2}), MYR_OK); /* lacks it: an add */
  assert_int_equal(myr_patch_put(x->p, b, x->f.pos, &(t_position){3, 3, 3}), MYR_OK); /* has it now: a set */
  assert_int_equal(myr_patch_remove(x->p, a, x->f.pos), MYR_OK);
  assert_int_equal(myr_patch_put(x->p, a, x->f.pos, &(t_position){4, 4, 4}), MYR_OK); /* removed: added back */
  assert_int_equal(myr_patch_put(x->p, a, x->f.pos, NULL), MYR_EINVAL);
  myr_patch_stats st = apply(x);
  assert_int_equal(st.recorded, 5);
  assert_int_equal(st.applied, 5);
  t_position p;
  assert_int_equal(myr_component_get(x->f.w, b, x->f.pos, &p), MYR_OK);
  assert_true(p.x == 3);
  assert_int_equal(myr_component_get(x->f.w, a, x->f.pos, &p), MYR_OK);
  assert_true(p.x == 4);
  assert_true(myr_component_has(x->f.w, b, x->f.vel));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(put_patches_set_or_add_in_batch_order, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(commutative_updates_apply_in_order_to_the_value_left_before, pfix_setup,
                                      pfix_teardown),
      cmocka_unit_test_setup_teardown(commutative_updates_reject_fields_they_cannot_combine, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(the_first_first_wins_set_wins_and_later_ones_are_counted, pfix_setup,
                                      pfix_teardown),
      cmocka_unit_test_setup_teardown(set_patches_write_values_and_skip_absent_components, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(recording_rejects_bad_input, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(apply_fills_stats_rather_than_adding, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(a_callback_handle_is_not_a_command_buffer, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(clear_discards_recorded_patches, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(stale_dead_and_after_destroy_patches_are_skipped, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(add_present_and_remove_absent_are_skipped, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(several_structural_patches_move_the_row_once, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(remove_then_add_resets_values_and_add_then_remove_cancels, pfix_setup,
                                      pfix_teardown),
      cmocka_unit_test_setup_teardown(spawned_entities_take_later_patches_and_resolve_in_order, pfix_setup,
                                      pfix_teardown),
      cmocka_unit_test_setup_teardown(destroys_come_before_spawns_so_slots_are_reused, pfix_setup, pfix_teardown),
      cmocka_unit_test_setup_teardown(rows_leave_tables_correctly_in_any_patch_order, pfix_setup, pfix_teardown),
      cmocka_unit_test(apply_survives_every_failed_allocation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
