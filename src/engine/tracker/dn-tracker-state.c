/* dn-tracker-state.c: writes the whole tracker as JSON, for checkpoints and
 * resume (spec §6.12: every checkpoint carries the tracker; the encoding is
 * ours). dn-tracker-load.c reads it back.
 *
 *   {"format": "dendrite-studio-tracker", "version": 1,
 *    "config": {...the "dendrites" settings...},
 *    "scheduler": {"config": {...}, "base_lr": 1.0, "state": {...}},
 *    "extra_names": ["Train"], "score_unit": "%",
 *    "total_epochs": 31, "complete": false, ("recorder": true, only for a recorder)
 *    "state": STATE,
 *    "snapshots": {"best_model": STATE | null,
 *                  "switch": {"name": "switch_2", "state": STATE} | null,
 *                  "sweep": {"name": "PBCount_1_startSteps_0", "state": STATE} | null},
 *    "rollbacks": [{"kind": "switch", "from_epoch", "to_epoch", "first_epoch",
 *                   "total_epoch", "rows": ROWS}],
 *    "events": [{"epoch", "total_epoch", "decision", "done", "dendrites", "message"}]}
 *
 * STATE holds the scalars of DnTrackerState, "trial" (the sweep's scores),
 * "rows" and "switches". ROWS is by column: {"val": [...], "test": [...], ...,
 * "extra": [[...], ...]}, one array per field of DnTrackerEpoch. A score that
 * is not a number (a missing test score) is null.
 */
#include "dn-tracker-private.h"

#include <math.h>
#include <stddef.h>

#define S(m) offsetof (DnTrackerState, m)
const DnTrackerMember dn_tracker_state_members[] = {
    {"num_epochs_run", DN_TRACKER_T_INT, S (num_epochs_run)},
    {"dendrites", DN_TRACKER_T_INT, S (dendrites)},
    {"tries", DN_TRACKER_T_INT, S (tries)},
    {"num_cycles", DN_TRACKER_T_INT, S (num_cycles)},
    {"last_switch", DN_TRACKER_T_INT, S (last_switch)},
    {"epoch_last_improved", DN_TRACKER_T_INT, S (epoch_last_improved)},
    {"running", DN_TRACKER_T_DOUBLE, S (running)},
    {"current_best", DN_TRACKER_T_DOUBLE, S (current_best)},
    {"has_current_best", DN_TRACKER_T_BOOL, S (has_current_best)},
    {"global_best", DN_TRACKER_T_DOUBLE, S (global_best)},
    {"has_global_best", DN_TRACKER_T_BOOL, S (has_global_best)},
    {"global_best_epoch", DN_TRACKER_T_INT, S (global_best_epoch)},
    {"cycle_set_global_best", DN_TRACKER_T_BOOL, S (cycle_set_global_best)},
    {"initial_params", DN_TRACKER_T_INT64, S (initial_params)},
    {"has_params", DN_TRACKER_T_BOOL, S (has_params)},
    {"skip_steps", DN_TRACKER_T_INT, S (skip_steps)},
    {"last_max_steps", DN_TRACKER_T_INT, S (last_max_steps)},
    {"last_max_lr", DN_TRACKER_T_DOUBLE, S (last_max_lr)},
    {"step_count", DN_TRACKER_T_INT, S (step_count)},
    {"test_epoch_count", DN_TRACKER_T_INT, S (test_epoch_count)},
    {"committed", DN_TRACKER_T_BOOL, S (committed)},
};
/* Perforated Backpropagation: written when the run uses it, 0 when absent */
const DnTrackerMember dn_tracker_pb_state_members[] = {
    {"mode", DN_TRACKER_T_INT, S (mode)},
    {"phase_start", DN_TRACKER_T_INT, S (phase_start)},
    {"phase_last_improved", DN_TRACKER_T_INT, S (phase_last_improved)},
    {"neuron_epochs", DN_TRACKER_T_INT, S (neuron_epochs)},
};
#undef S

#define R(m) offsetof (DnTrackerEpoch, m)
const DnTrackerMember dn_tracker_row_members[] = {
    {"epoch", DN_TRACKER_T_INT, R (epoch)},
    {"total_epoch", DN_TRACKER_T_INT, R (total_epoch)},
    {"cycle_epoch", DN_TRACKER_T_INT, R (cycle_epoch)},
    {"dendrites", DN_TRACKER_T_INT, R (dendrites)},
    {"mode", DN_TRACKER_T_INT, R (mode)},
    {"val", DN_TRACKER_T_DOUBLE, R (val)},
    {"running", DN_TRACKER_T_DOUBLE, R (running)},
    {"test", DN_TRACKER_T_DOUBLE, R (test)},
    {"seconds", DN_TRACKER_T_DOUBLE, R (seconds)},
    {"lr", DN_TRACKER_T_DOUBLE, R (lr)},
    {"params", DN_TRACKER_T_INT64, R (params)},
    {"last_improved", DN_TRACKER_T_INT, R (last_improved)},
    {"new_best", DN_TRACKER_T_BOOL, R (new_best)},
    {"new_global_best", DN_TRACKER_T_BOOL, R (new_global_best)},
};
#undef R

const char *const dn_tracker_decision_names[] = {
    [DN_TRACKER_CONTINUE] = "continue", [DN_TRACKER_ADD_DENDRITES] = "add_dendrites",
    [DN_TRACKER_RETRY] = "retry",       [DN_TRACKER_RESTART_LR] = "restart_lr",
    [DN_TRACKER_COMPLETE] = "complete",
};
const char *const dn_tracker_done_names[] = {
    [DN_TRACKER_DONE_NONE] = "none",
    [DN_TRACKER_DONE_NO_IMPROVEMENT] = "no_improvement",
    [DN_TRACKER_DONE_MAX_DENDRITES] = "max_dendrites",
    [DN_TRACKER_DONE_EARLY_STOPPING] = "early_stopping",
    [DN_TRACKER_DONE_CAPACITY_TEST] = "capacity_test",
};
const char *const dn_tracker_rollback_names[] = {
    [DN_TRACKER_ROLLBACK_SWITCH] = "switch",
    [DN_TRACKER_ROLLBACK_RETRY] = "retry",
    [DN_TRACKER_ROLLBACK_FINAL] = "final",
    [DN_TRACKER_ROLLBACK_SWEEP] = "sweep",
};
const char *const dn_tracker_switch_kind_names[] = {
    [DN_TRACKER_SWITCH_ADD] = "add",
    [DN_TRACKER_SWITCH_RETRY] = "retry",
};

const int dn_tracker_n_state_members = G_N_ELEMENTS (dn_tracker_state_members);
const int dn_tracker_n_pb_state_members = G_N_ELEMENTS (dn_tracker_pb_state_members);
const int dn_tracker_n_row_members = G_N_ELEMENTS (dn_tracker_row_members);

/* ---- writing ---- */

static void add_member_value (JsonBuilder *b, DnTrackerMemberType type, const void *p)
{
    switch (type) {
    case DN_TRACKER_T_INT:
        json_builder_add_int_value (b, *(const int *) p);
        break;
    case DN_TRACKER_T_INT64:
        json_builder_add_int_value (b, *(const int64_t *) p);
        break;
    case DN_TRACKER_T_DOUBLE: {
        double v = *(const double *) p;
        if (isfinite (v))
            json_builder_add_double_value (b, v);
        else
            json_builder_add_null_value (b);
        break;
    }
    case DN_TRACKER_T_BOOL:
        json_builder_add_boolean_value (b, *(const gboolean *) p);
        break;
    }
}

/* A per-layer series of DnTrackerEpoch (a double[DN_TRACKER_MAX_CORR] at
 * `offset`): as many layers as any row fills. always: write the member even
 * when empty. TRUE when it was written. */
static gboolean write_series (JsonBuilder *b, GArray *rows, const char *name, size_t offset,
                              gboolean always)
{
    int nc = 0;
    for (guint i = 0; i < rows->len; i++) {
        const double *v =
            (const double *) ((const char *) &g_array_index (rows, DnTrackerEpoch, i) + offset);
        for (int x = 0; x < DN_TRACKER_MAX_CORR; x++)
            if (!isnan (v[x]))
                nc = MAX (nc, x + 1);
    }
    if (nc == 0 && !always)
        return FALSE;
    json_builder_set_member_name (b, name);
    json_builder_begin_array (b);
    for (int x = 0; x < nc; x++) {
        json_builder_begin_array (b);
        for (guint i = 0; i < rows->len; i++) {
            const char *row = (const char *) &g_array_index (rows, DnTrackerEpoch, i);
            add_member_value (b, DN_TRACKER_T_DOUBLE, row + offset + x * sizeof (double));
        }
        json_builder_end_array (b);
    }
    json_builder_end_array (b);
    return TRUE;
}

static void write_rows (JsonBuilder *b, GArray *rows, int n_extra)
{
    json_builder_begin_object (b);
    for (guint m = 0; m < dn_tracker_n_row_members; m++) {
        json_builder_set_member_name (b, dn_tracker_row_members[m].name);
        json_builder_begin_array (b);
        for (guint i = 0; i < rows->len; i++) {
            const char *row = (const char *) &g_array_index (rows, DnTrackerEpoch, i);
            add_member_value (b, dn_tracker_row_members[m].type,
                              row + dn_tracker_row_members[m].offset);
        }
        json_builder_end_array (b);
    }
    json_builder_set_member_name (b, "extra");
    json_builder_begin_array (b);
    for (int x = 0; x < n_extra; x++) {
        json_builder_begin_array (b);
        for (guint i = 0; i < rows->len; i++)
            add_member_value (b, DN_TRACKER_T_DOUBLE,
                              &g_array_index (rows, DnTrackerEpoch, i).extra[x]);
        json_builder_end_array (b);
    }
    json_builder_end_array (b);
    write_series (b, rows, "correlation", offsetof (DnTrackerEpoch, correlation), TRUE);
    /* Perforated Backpropagation: only in runs that have candidate scores */
    if (write_series (b, rows, "pb_best_ever", offsetof (DnTrackerEpoch, pb_best_ever), FALSE)) {
        write_series (b, rows, "pb_phase_best", offsetof (DnTrackerEpoch, pb_phase_best), TRUE);
        json_builder_set_member_name (b, "pb_improved");
        json_builder_begin_array (b);
        for (guint i = 0; i < rows->len; i++)
            json_builder_add_boolean_value (b, g_array_index (rows, DnTrackerEpoch, i).pb_improved);
        json_builder_end_array (b);
    }
    json_builder_end_object (b);
}

static void write_state (JsonBuilder *b, const DnTrackerState *s, int n_extra, gboolean pb)
{
    json_builder_begin_object (b);
    for (guint m = 0; m < dn_tracker_n_state_members; m++) {
        json_builder_set_member_name (b, dn_tracker_state_members[m].name);
        add_member_value (b, dn_tracker_state_members[m].type,
                          (const char *) s + dn_tracker_state_members[m].offset);
    }
    for (int m = 0; pb && m < dn_tracker_n_pb_state_members; m++) {
        json_builder_set_member_name (b, dn_tracker_pb_state_members[m].name);
        add_member_value (b, dn_tracker_pb_state_members[m].type,
                          (const char *) s + dn_tracker_pb_state_members[m].offset);
    }
    json_builder_set_member_name (b, "trial");
    json_builder_begin_array (b);
    for (int i = 0; i < s->n_trial; i++)
        add_member_value (b, DN_TRACKER_T_DOUBLE, &s->trial[i]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "switches");
    json_builder_begin_array (b);
    for (guint i = 0; i < s->switches->len; i++) {
        const DnTrackerSwitch *sw = &g_array_index (s->switches, DnTrackerSwitch, i);
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "epoch");
        json_builder_add_int_value (b, sw->epoch);
        json_builder_set_member_name (b, "dendrites");
        json_builder_add_int_value (b, sw->dendrites);
        json_builder_set_member_name (b, "try");
        json_builder_add_int_value (b, sw->try_index);
        json_builder_set_member_name (b, "params");
        json_builder_add_int_value (b, sw->params);
        json_builder_set_member_name (b, "kind");
        json_builder_add_string_value (b, dn_tracker_switch_kind_names[sw->kind]);
        if (sw->end_epoch != sw->epoch) { /* Perforated Backpropagation */
            json_builder_set_member_name (b, "end_epoch");
            json_builder_add_int_value (b, sw->end_epoch);
        }
        json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_set_member_name (b, "rows");
    write_rows (b, s->rows, n_extra);
    json_builder_end_object (b);
}

static void write_named_snapshot (JsonBuilder *b, const char *member, const char *name,
                                  const DnTrackerState *s, int n_extra, gboolean pb)
{
    json_builder_set_member_name (b, member);
    if (s == NULL) {
        json_builder_add_null_value (b);
        return;
    }
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "name");
    json_builder_add_string_value (b, name);
    json_builder_set_member_name (b, "state");
    write_state (b, s, n_extra, pb);
    json_builder_end_object (b);
}

/* Perforated Backpropagation: each candidate layer's scores, with the
 * current phase's channel bests, so a resumed phase decides as before. */
static void write_candidates (JsonBuilder *b, const DnTracker *t)
{
    json_builder_set_member_name (b, "candidates");
    json_builder_begin_array (b);
    for (int i = 0; i < t->n_cand; i++) {
        const DnTrackerCandLayer *c = &t->cand[i];
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "name");
        json_builder_add_string_value (b, c->name);
        json_builder_set_member_name (b, "best_ever");
        add_member_value (b, DN_TRACKER_T_DOUBLE, &c->best_ever);
        json_builder_set_member_name (b, "phase_best");
        add_member_value (b, DN_TRACKER_T_DOUBLE, &c->phase_best);
        json_builder_set_member_name (b, "channel_best");
        json_builder_begin_array (b);
        for (int ch = 0; ch < c->n_channels; ch++)
            add_member_value (b, DN_TRACKER_T_DOUBLE, &c->channel_best[ch]);
        json_builder_end_array (b);
        json_builder_end_object (b);
    }
    json_builder_end_array (b);
}

void dn_tracker_state_to_json (const DnTracker *t, JsonBuilder *b)
{
    g_return_if_fail (t != NULL && b != NULL);
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "format");
    json_builder_add_string_value (b, DN_TRACKER_FORMAT_NAME);
    json_builder_set_member_name (b, "version");
    json_builder_add_int_value (b, DN_TRACKER_FORMAT_VERSION);
    json_builder_set_member_name (b, "config");
    dn_tracker_config_to_json (&t->cfg, b);

    json_builder_set_member_name (b, "scheduler");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "config");
    dn_sched_config_to_json (&t->sched, b);
    json_builder_set_member_name (b, "base_lr");
    json_builder_add_double_value (b, t->base_lr);
    json_builder_set_member_name (b, "state");
    dn_scheduler_state_to_json (t->scheduler, b);
    json_builder_end_object (b);

    json_builder_set_member_name (b, "correlation_names");
    json_builder_begin_array (b);
    for (int i = 0; i < t->n_corr; i++)
        json_builder_add_string_value (b, t->corr_names[i]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "extra_names");
    json_builder_begin_array (b);
    for (int i = 0; i < t->n_extra; i++)
        json_builder_add_string_value (b, t->extra_names[i]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "score_unit");
    json_builder_add_string_value (b, t->score_unit);
    json_builder_set_member_name (b, "total_epochs");
    json_builder_add_int_value (b, t->total_epochs);
    json_builder_set_member_name (b, "complete");
    json_builder_add_boolean_value (b, t->complete);
    if (t->recorder) {
        json_builder_set_member_name (b, "recorder");
        json_builder_add_boolean_value (b, TRUE);
    }

    gboolean pb = t->cfg.perforated_backpropagation;
    if (pb || t->n_cand > 0)
        write_candidates (b, t);
    json_builder_set_member_name (b, "state");
    write_state (b, &t->st, t->n_extra, pb);

    json_builder_set_member_name (b, "snapshots");
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "best_model");
    if (t->snap_best != NULL)
        write_state (b, t->snap_best, t->n_extra, pb);
    else
        json_builder_add_null_value (b);
    write_named_snapshot (b, "switch", t->snap_switch_name, t->snap_switch, t->n_extra, pb);
    write_named_snapshot (b, "sweep", t->snap_sweep_name, t->snap_sweep, t->n_extra, pb);
    json_builder_end_object (b);

    json_builder_set_member_name (b, "rollbacks");
    json_builder_begin_array (b);
    for (guint i = 0; i < t->rollbacks->len; i++) {
        const DnTrackerRollbackRec *r = &g_array_index (t->rollbacks, DnTrackerRollbackRec, i);
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "kind");
        json_builder_add_string_value (b, dn_tracker_rollback_names[r->kind]);
        json_builder_set_member_name (b, "from_epoch");
        json_builder_add_int_value (b, r->from_epoch);
        json_builder_set_member_name (b, "to_epoch");
        json_builder_add_int_value (b, r->to_epoch);
        json_builder_set_member_name (b, "first_epoch");
        json_builder_add_int_value (b, r->first_epoch);
        json_builder_set_member_name (b, "total_epoch");
        json_builder_add_int_value (b, r->total_epoch);
        json_builder_set_member_name (b, "rows");
        write_rows (b, r->rows, t->n_extra);
        json_builder_end_object (b);
    }
    json_builder_end_array (b);

    json_builder_set_member_name (b, "events");
    json_builder_begin_array (b);
    for (guint i = 0; i < t->events->len; i++) {
        const DnTrackerEventRec *e = &g_array_index (t->events, DnTrackerEventRec, i);
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "epoch");
        json_builder_add_int_value (b, e->epoch);
        json_builder_set_member_name (b, "total_epoch");
        json_builder_add_int_value (b, e->total_epoch);
        json_builder_set_member_name (b, "decision");
        json_builder_add_string_value (b, dn_tracker_decision_names[e->decision]);
        json_builder_set_member_name (b, "done");
        json_builder_add_string_value (b, dn_tracker_done_names[e->done]);
        json_builder_set_member_name (b, "dendrites");
        json_builder_add_int_value (b, e->dendrites);
        json_builder_set_member_name (b, "message");
        json_builder_add_string_value (b, e->message);
        json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
}

static void write_json_string (GString *out, const char *s)
{
    g_string_append_c (out, '"');
    for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_printf (out, "\\%c", *p);
        else if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
        else
            g_string_append_c (out, (char) *p);
    }
    g_string_append_c (out, '"');
}

/* json-glib 1.6's generator appends ".0" to any double printed without a
 * point, so 1e-08 (the running score's seed) comes out as "1e-08.0", which
 * no parser reads back. This writer prints doubles with g_ascii_dtostr,
 * which round-trips exactly and is valid JSON. */
static void write_json (GString *out, JsonNode *node)
{
    switch (json_node_get_node_type (node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object (node);
        g_autoptr (GList) members = json_object_get_members (o);
        g_string_append_c (out, '{');
        for (GList *l = members; l != NULL; l = l->next) {
            if (l != members)
                g_string_append_c (out, ',');
            write_json_string (out, l->data);
            g_string_append_c (out, ':');
            write_json (out, json_object_get_member (o, l->data));
        }
        g_string_append_c (out, '}');
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array (node);
        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (a); i++) {
            if (i > 0)
                g_string_append_c (out, ',');
            write_json (out, json_array_get_element (a, i));
        }
        g_string_append_c (out, ']');
        break;
    }
    case JSON_NODE_NULL:
        g_string_append (out, "null");
        break;
    case JSON_NODE_VALUE: {
        GType type = json_node_get_value_type (node);
        if (type == G_TYPE_INT64) {
            g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
        } else if (type == G_TYPE_DOUBLE) {
            double v = json_node_get_double (node);
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            g_string_append (out, isfinite (v) ? g_ascii_dtostr (buf, sizeof buf, v) : "null");
        } else if (type == G_TYPE_BOOLEAN) {
            g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
        } else {
            write_json_string (out, json_node_get_string (node));
        }
        break;
    }
    }
}

char *dn_tracker_state_to_string (const DnTracker *t)
{
    g_return_val_if_fail (t != NULL, NULL);
    g_autoptr (JsonBuilder) b = json_builder_new ();
    dn_tracker_state_to_json (t, b);
    g_autoptr (JsonNode) root = json_builder_get_root (b);
    GString *out = g_string_new (NULL);
    write_json (out, root);
    return g_string_free (out, FALSE);
}
