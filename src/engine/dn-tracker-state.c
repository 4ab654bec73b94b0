/* dn-tracker-state.c: the whole tracker as JSON, for checkpoints and resume
 * (spec §6.12: every checkpoint carries the tracker; our encoding is ours).
 *
 *   {"format": "dendrite-studio-tracker", "version": 1,
 *    "config": {...the "dendrites" settings...},
 *    "scheduler": {"config": {...}, "base_lr": 1.0, "state": {...}},
 *    "extra_names": ["Train"], "score_unit": "%",
 *    "total_epochs": 31, "complete": false,
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
 *
 * Reading checks types, ranges and that the pieces agree (row i is epoch i,
 * a switch points into the history, ...): a damaged file gives an error that
 * names the member, never a tracker that crashes later.
 */
#include "dn-tracker-private.h"

#include "dn-error.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define FORMAT_NAME "dendrite-studio-tracker"
#define FORMAT_VERSION 1
#define MAX_DENDRITES_STATE 1000000
#define MAX_COUNT 100000000 /* epochs, steps: far beyond any run, far below INT_MAX */

typedef enum { T_INT, T_INT64, T_DOUBLE, T_BOOL } Type;

typedef struct {
    const char *name;
    Type type;
    size_t offset;
} Member;

#define S(m) offsetof(DnTrackerState, m)
static const Member state_members[] = {
    {"num_epochs_run", T_INT, S(num_epochs_run)},
    {"dendrites", T_INT, S(dendrites)},
    {"tries", T_INT, S(tries)},
    {"num_cycles", T_INT, S(num_cycles)},
    {"last_switch", T_INT, S(last_switch)},
    {"epoch_last_improved", T_INT, S(epoch_last_improved)},
    {"running", T_DOUBLE, S(running)},
    {"current_best", T_DOUBLE, S(current_best)},
    {"has_current_best", T_BOOL, S(has_current_best)},
    {"global_best", T_DOUBLE, S(global_best)},
    {"has_global_best", T_BOOL, S(has_global_best)},
    {"global_best_epoch", T_INT, S(global_best_epoch)},
    {"cycle_set_global_best", T_BOOL, S(cycle_set_global_best)},
    {"initial_params", T_INT64, S(initial_params)},
    {"has_params", T_BOOL, S(has_params)},
    {"skip_steps", T_INT, S(skip_steps)},
    {"last_max_steps", T_INT, S(last_max_steps)},
    {"last_max_lr", T_DOUBLE, S(last_max_lr)},
    {"step_count", T_INT, S(step_count)},
    {"test_epoch_count", T_INT, S(test_epoch_count)},
    {"committed", T_BOOL, S(committed)},
};
#undef S

#define R(m) offsetof(DnTrackerEpoch, m)
static const Member row_members[] = {
    {"epoch", T_INT, R(epoch)},
    {"total_epoch", T_INT, R(total_epoch)},
    {"cycle_epoch", T_INT, R(cycle_epoch)},
    {"dendrites", T_INT, R(dendrites)},
    {"mode", T_INT, R(mode)},
    {"val", T_DOUBLE, R(val)},
    {"running", T_DOUBLE, R(running)},
    {"test", T_DOUBLE, R(test)},
    {"seconds", T_DOUBLE, R(seconds)},
    {"lr", T_DOUBLE, R(lr)},
    {"params", T_INT64, R(params)},
    {"last_improved", T_INT, R(last_improved)},
    {"new_best", T_BOOL, R(new_best)},
    {"new_global_best", T_BOOL, R(new_global_best)},
};
#undef R

static const char *const decision_names[] = {
    [DN_TRACKER_CONTINUE] = "continue",
    [DN_TRACKER_ADD_DENDRITES] = "add_dendrites",
    [DN_TRACKER_RETRY] = "retry",
    [DN_TRACKER_RESTART_LR] = "restart_lr",
    [DN_TRACKER_COMPLETE] = "complete",
};
static const char *const done_names[] = {
    [DN_TRACKER_DONE_NONE] = "none",
    [DN_TRACKER_DONE_NO_IMPROVEMENT] = "no_improvement",
    [DN_TRACKER_DONE_MAX_DENDRITES] = "max_dendrites",
    [DN_TRACKER_DONE_EARLY_STOPPING] = "early_stopping",
    [DN_TRACKER_DONE_CAPACITY_TEST] = "capacity_test",
};
static const char *const rollback_names[] = {
    [DN_TRACKER_ROLLBACK_SWITCH] = "switch",
    [DN_TRACKER_ROLLBACK_RETRY] = "retry",
    [DN_TRACKER_ROLLBACK_FINAL] = "final",
    [DN_TRACKER_ROLLBACK_SWEEP] = "sweep",
};
static const char *const switch_kind_names[] = {
    [DN_TRACKER_SWITCH_ADD] = "add",
    [DN_TRACKER_SWITCH_RETRY] = "retry",
};

/* ---- writing ---- */

static void add_member_value(JsonBuilder *b, Type type, const void *p)
{
    switch (type) {
    case T_INT:
        json_builder_add_int_value(b, *(const int *)p);
        break;
    case T_INT64:
        json_builder_add_int_value(b, *(const int64_t *)p);
        break;
    case T_DOUBLE: {
        double v = *(const double *)p;
        if (isfinite(v))
            json_builder_add_double_value(b, v);
        else
            json_builder_add_null_value(b);
        break;
    }
    case T_BOOL:
        json_builder_add_boolean_value(b, *(const gboolean *)p);
        break;
    }
}

static void write_rows(JsonBuilder *b, GArray *rows, int n_extra)
{
    json_builder_begin_object(b);
    for (guint m = 0; m < G_N_ELEMENTS(row_members); m++) {
        json_builder_set_member_name(b, row_members[m].name);
        json_builder_begin_array(b);
        for (guint i = 0; i < rows->len; i++) {
            const char *row = (const char *)&g_array_index(rows, DnTrackerEpoch, i);
            add_member_value(b, row_members[m].type, row + row_members[m].offset);
        }
        json_builder_end_array(b);
    }
    json_builder_set_member_name(b, "extra");
    json_builder_begin_array(b);
    for (int x = 0; x < n_extra; x++) {
        json_builder_begin_array(b);
        for (guint i = 0; i < rows->len; i++)
            add_member_value(b, T_DOUBLE, &g_array_index(rows, DnTrackerEpoch, i).extra[x]);
        json_builder_end_array(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static void write_state(JsonBuilder *b, const DnTrackerState *s, int n_extra)
{
    json_builder_begin_object(b);
    for (guint m = 0; m < G_N_ELEMENTS(state_members); m++) {
        json_builder_set_member_name(b, state_members[m].name);
        add_member_value(b, state_members[m].type, (const char *)s + state_members[m].offset);
    }
    json_builder_set_member_name(b, "trial");
    json_builder_begin_array(b);
    for (int i = 0; i < s->n_trial; i++)
        add_member_value(b, T_DOUBLE, &s->trial[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "switches");
    json_builder_begin_array(b);
    for (guint i = 0; i < s->switches->len; i++) {
        const DnTrackerSwitch *sw = &g_array_index(s->switches, DnTrackerSwitch, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "epoch");
        json_builder_add_int_value(b, sw->epoch);
        json_builder_set_member_name(b, "dendrites");
        json_builder_add_int_value(b, sw->dendrites);
        json_builder_set_member_name(b, "try");
        json_builder_add_int_value(b, sw->try_index);
        json_builder_set_member_name(b, "params");
        json_builder_add_int_value(b, sw->params);
        json_builder_set_member_name(b, "kind");
        json_builder_add_string_value(b, switch_kind_names[sw->kind]);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "rows");
    write_rows(b, s->rows, n_extra);
    json_builder_end_object(b);
}

static void write_named_snapshot(JsonBuilder *b, const char *member, const char *name,
                                 const DnTrackerState *s, int n_extra)
{
    json_builder_set_member_name(b, member);
    if (s == NULL) {
        json_builder_add_null_value(b);
        return;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "name");
    json_builder_add_string_value(b, name);
    json_builder_set_member_name(b, "state");
    write_state(b, s, n_extra);
    json_builder_end_object(b);
}

void dn_tracker_state_to_json(const DnTracker *t, JsonBuilder *b)
{
    g_return_if_fail(t != NULL && b != NULL);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "format");
    json_builder_add_string_value(b, FORMAT_NAME);
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, FORMAT_VERSION);
    json_builder_set_member_name(b, "config");
    dn_tracker_config_to_json(&t->cfg, b);

    json_builder_set_member_name(b, "scheduler");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "config");
    dn_sched_config_to_json(&t->sched, b);
    json_builder_set_member_name(b, "base_lr");
    json_builder_add_double_value(b, t->base_lr);
    json_builder_set_member_name(b, "state");
    dn_scheduler_state_to_json(t->scheduler, b);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "extra_names");
    json_builder_begin_array(b);
    for (int i = 0; i < t->n_extra; i++)
        json_builder_add_string_value(b, t->extra_names[i]);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "score_unit");
    json_builder_add_string_value(b, t->score_unit);
    json_builder_set_member_name(b, "total_epochs");
    json_builder_add_int_value(b, t->total_epochs);
    json_builder_set_member_name(b, "complete");
    json_builder_add_boolean_value(b, t->complete);

    json_builder_set_member_name(b, "state");
    write_state(b, &t->st, t->n_extra);

    json_builder_set_member_name(b, "snapshots");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "best_model");
    if (t->snap_best != NULL)
        write_state(b, t->snap_best, t->n_extra);
    else
        json_builder_add_null_value(b);
    write_named_snapshot(b, "switch", t->snap_switch_name, t->snap_switch, t->n_extra);
    write_named_snapshot(b, "sweep", t->snap_sweep_name, t->snap_sweep, t->n_extra);
    json_builder_end_object(b);

    json_builder_set_member_name(b, "rollbacks");
    json_builder_begin_array(b);
    for (guint i = 0; i < t->rollbacks->len; i++) {
        const DnTrackerRollbackRec *r = &g_array_index(t->rollbacks, DnTrackerRollbackRec, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "kind");
        json_builder_add_string_value(b, rollback_names[r->kind]);
        json_builder_set_member_name(b, "from_epoch");
        json_builder_add_int_value(b, r->from_epoch);
        json_builder_set_member_name(b, "to_epoch");
        json_builder_add_int_value(b, r->to_epoch);
        json_builder_set_member_name(b, "first_epoch");
        json_builder_add_int_value(b, r->first_epoch);
        json_builder_set_member_name(b, "total_epoch");
        json_builder_add_int_value(b, r->total_epoch);
        json_builder_set_member_name(b, "rows");
        write_rows(b, r->rows, t->n_extra);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);

    json_builder_set_member_name(b, "events");
    json_builder_begin_array(b);
    for (guint i = 0; i < t->events->len; i++) {
        const DnTrackerEventRec *e = &g_array_index(t->events, DnTrackerEventRec, i);
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "epoch");
        json_builder_add_int_value(b, e->epoch);
        json_builder_set_member_name(b, "total_epoch");
        json_builder_add_int_value(b, e->total_epoch);
        json_builder_set_member_name(b, "decision");
        json_builder_add_string_value(b, decision_names[e->decision]);
        json_builder_set_member_name(b, "done");
        json_builder_add_string_value(b, done_names[e->done]);
        json_builder_set_member_name(b, "dendrites");
        json_builder_add_int_value(b, e->dendrites);
        json_builder_set_member_name(b, "message");
        json_builder_add_string_value(b, e->message);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

static void write_json_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            g_string_append_printf(out, "\\%c", *p);
        else if (*p < 0x20)
            g_string_append_printf(out, "\\u%04x", *p);
        else
            g_string_append_c(out, (char)*p);
    }
    g_string_append_c(out, '"');
}

/* json-glib 1.6's generator appends ".0" to any double printed without a
 * point, so 1e-08 (the running score's seed) comes out as "1e-08.0", which
 * no parser reads back. This writer prints doubles with g_ascii_dtostr,
 * which round-trips exactly and is valid JSON. */
static void write_json(GString *out, JsonNode *node)
{
    switch (json_node_get_node_type(node)) {
    case JSON_NODE_OBJECT: {
        JsonObject *o = json_node_get_object(node);
        g_autoptr(GList) members = json_object_get_members(o);
        g_string_append_c(out, '{');
        for (GList *l = members; l != NULL; l = l->next) {
            if (l != members)
                g_string_append_c(out, ',');
            write_json_string(out, l->data);
            g_string_append_c(out, ':');
            write_json(out, json_object_get_member(o, l->data));
        }
        g_string_append_c(out, '}');
        break;
    }
    case JSON_NODE_ARRAY: {
        JsonArray *a = json_node_get_array(node);
        g_string_append_c(out, '[');
        for (guint i = 0; i < json_array_get_length(a); i++) {
            if (i > 0)
                g_string_append_c(out, ',');
            write_json(out, json_array_get_element(a, i));
        }
        g_string_append_c(out, ']');
        break;
    }
    case JSON_NODE_NULL:
        g_string_append(out, "null");
        break;
    case JSON_NODE_VALUE: {
        GType type = json_node_get_value_type(node);
        if (type == G_TYPE_INT64) {
            g_string_append_printf(out, "%" G_GINT64_FORMAT, json_node_get_int(node));
        } else if (type == G_TYPE_DOUBLE) {
            double v = json_node_get_double(node);
            char buf[G_ASCII_DTOSTR_BUF_SIZE];
            g_string_append(out, isfinite(v) ? g_ascii_dtostr(buf, sizeof buf, v) : "null");
        } else if (type == G_TYPE_BOOLEAN) {
            g_string_append(out, json_node_get_boolean(node) ? "true" : "false");
        } else {
            write_json_string(out, json_node_get_string(node));
        }
        break;
    }
    }
}

char *dn_tracker_state_to_string(const DnTracker *t)
{
    g_return_val_if_fail(t != NULL, NULL);
    g_autoptr(JsonBuilder) b = json_builder_new();
    dn_tracker_state_to_json(t, b);
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    GString *out = g_string_new(NULL);
    write_json(out, root);
    return g_string_free(out, FALSE);
}

/* ---- reading ---- */

static gboolean fail(GError **error, const char *path, const char *rule)
{
    g_set_error(error, DN_ERROR, DN_ERROR_FORMAT,
                "tracker state \"%s\" is missing or not %s; resume from a checkpoint that this "
                "version of Dendrite Studio wrote",
                path, rule);
    return FALSE;
}

static gboolean inconsistent(GError **error, const char *what)
{
    g_set_error(error, DN_ERROR, DN_ERROR_FORMAT,
                "tracker state is inconsistent: %s; the checkpoint is damaged, resume from an "
                "older one",
                what);
    return FALSE;
}

static gboolean number_node(JsonNode *n, double *out)
{
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n))
        return FALSE;
    GType t = json_node_get_value_type(n);
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return FALSE;
    *out = json_node_get_double(n);
    return isfinite(*out);
}

/* One value of `type` into p; doubles may be null (NaN). */
static gboolean read_value(JsonNode *n, Type type, void *p)
{
    double v;
    switch (type) {
    case T_INT:
        if (!number_node(n, &v) || v != floor(v) || v < INT_MIN || v > INT_MAX)
            return FALSE;
        *(int *)p = (int)v;
        return TRUE;
    case T_INT64:
        if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
            return FALSE;
        *(int64_t *)p = json_node_get_int(n);
        return TRUE;
    case T_DOUBLE:
        if (n != NULL && JSON_NODE_HOLDS_NULL(n)) {
            *(double *)p = NAN;
            return TRUE;
        }
        if (!number_node(n, &v))
            return FALSE;
        *(double *)p = v;
        return TRUE;
    case T_BOOL:
        if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) ||
            json_node_get_value_type(n) != G_TYPE_BOOLEAN)
            return FALSE;
        *(gboolean *)p = json_node_get_boolean(n);
        return TRUE;
    }
    return FALSE;
}

static const char *type_rule(Type type)
{
    switch (type) {
    case T_INT:
    case T_INT64:
        return "a whole number";
    case T_DOUBLE:
        return "a number (or null)";
    case T_BOOL:
        return "true or false";
    }
    return "valid";
}

static JsonObject *member_object(JsonObject *o, const char *name)
{
    JsonNode *n = o != NULL ? json_object_get_member(o, name) : NULL;
    return n != NULL && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *member_array(JsonObject *o, const char *name)
{
    JsonNode *n = o != NULL ? json_object_get_member(o, name) : NULL;
    return n != NULL && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static const char *member_string(JsonObject *o, const char *name)
{
    JsonNode *n = o != NULL ? json_object_get_member(o, name) : NULL;
    if (n == NULL || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

static gboolean member_int(JsonObject *o, const char *path, const char *name, int lo, int *out,
                           GError **error)
{
    g_autofree char *full = g_strdup_printf("%s%s", path, name);
    JsonNode *n = o != NULL ? json_object_get_member(o, name) : NULL;
    if (!read_value(n, T_INT, out) || *out < lo)
        return fail(error, full, lo == 0 ? "a whole number >= 0" : "a whole number");
    return TRUE;
}

static gboolean enum_from(const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; s != NULL && i < n; i++) {
        if (g_str_equal(s, names[i])) {
            *out = i;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean read_rows(JsonObject *o, const char *path, int n_extra, GArray **out,
                          GError **error)
{
    JsonArray *first = member_array(o, "epoch");
    if (first == NULL) {
        g_autofree char *full = g_strdup_printf("%s.epoch", path);
        return fail(error, full, "a list of whole numbers");
    }
    guint n = json_array_get_length(first);
    GArray *rows = g_array_sized_new(FALSE, TRUE, sizeof(DnTrackerEpoch), n);
    g_array_set_size(rows, n);
    for (guint m = 0; m < G_N_ELEMENTS(row_members); m++) {
        const Member *mb = &row_members[m];
        JsonArray *col = member_array(o, mb->name);
        g_autofree char *full = g_strdup_printf("%s.%s", path, mb->name);
        if (col == NULL || json_array_get_length(col) != n) {
            g_autofree char *rule = g_strdup_printf("a list of %u values", n);
            g_array_unref(rows);
            return fail(error, full, rule);
        }
        for (guint i = 0; i < n; i++) {
            char *row = (char *)&g_array_index(rows, DnTrackerEpoch, i);
            if (!read_value(json_array_get_element(col, i), mb->type, row + mb->offset)) {
                g_autofree char *at = g_strdup_printf("%s[%u]", full, i);
                g_array_unref(rows);
                return fail(error, at, type_rule(mb->type));
            }
        }
    }
    JsonArray *extra = member_array(o, "extra");
    g_autofree char *extra_path = g_strdup_printf("%s.extra", path);
    if (extra == NULL || (int)json_array_get_length(extra) != n_extra) {
        g_autofree char *rule = g_strdup_printf("a list of %d series", n_extra);
        g_array_unref(rows);
        return fail(error, extra_path, rule);
    }
    for (int x = 0; x < n_extra; x++) {
        JsonNode *cn = json_array_get_element(extra, x);
        JsonArray *col = JSON_NODE_HOLDS_ARRAY(cn) ? json_node_get_array(cn) : NULL;
        for (guint i = 0; col != NULL && i < n; i++) {
            if (i >= json_array_get_length(col) ||
                !read_value(json_array_get_element(col, i), T_DOUBLE,
                            &g_array_index(rows, DnTrackerEpoch, i).extra[x]))
                col = NULL;
        }
        if (col == NULL || json_array_get_length(col) != n) {
            g_autofree char *at = g_strdup_printf("%s[%d]", extra_path, x);
            g_autofree char *rule = g_strdup_printf("a list of %u numbers", n);
            g_array_unref(rows);
            return fail(error, at, rule);
        }
    }
    for (guint i = 0; i < n; i++) {
        DnTrackerEpoch *r = &g_array_index(rows, DnTrackerEpoch, i);
        for (int x = n_extra; x < DN_TRACKER_MAX_EXTRA; x++)
            r->extra[x] = NAN;
        if (r->mode != DN_TRACKER_MODE_NEURON && r->mode != DN_TRACKER_MODE_DENDRITE) {
            g_array_unref(rows);
            return inconsistent(error, "a history row has an unknown mode");
        }
        if (r->dendrites < 0 || r->dendrites > MAX_DENDRITES_STATE || r->total_epoch < 0) {
            g_array_unref(rows);
            return inconsistent(error, "a history row has a negative count");
        }
    }
    *out = rows;
    return TRUE;
}

/* `mid_call`: a snapshot, taken inside add_score after the row was added. */
static gboolean read_state(JsonObject *o, const char *path, int n_extra, gboolean mid_call,
                           DnTrackerState *s, GError **error)
{
    if (o == NULL)
        return fail(error, path, "an object");
    dn_tracker_state_init(s);
    for (guint m = 0; m < G_N_ELEMENTS(state_members); m++) {
        const Member *mb = &state_members[m];
        if (!read_value(json_object_get_member(o, mb->name), mb->type, (char *)s + mb->offset)) {
            g_autofree char *full = g_strdup_printf("%s.%s", path, mb->name);
            return fail(error, full, type_rule(mb->type));
        }
    }
    JsonArray *trial = member_array(o, "trial");
    if (trial == NULL || json_array_get_length(trial) > 2) {
        g_autofree char *full = g_strdup_printf("%s.trial", path);
        return fail(error, full, "a list of at most 2 scores");
    }
    s->n_trial = (int)json_array_get_length(trial);
    for (int i = 0; i < s->n_trial; i++) {
        if (!read_value(json_array_get_element(trial, i), T_DOUBLE, &s->trial[i])) {
            g_autofree char *full = g_strdup_printf("%s.trial[%d]", path, i);
            return fail(error, full, "a number");
        }
    }
    g_autofree char *rows_path = g_strdup_printf("%s.rows", path);
    GArray *rows = NULL;
    if (!read_rows(member_object(o, "rows"), rows_path, n_extra, &rows, error))
        return FALSE;
    g_array_unref(s->rows);
    s->rows = rows;
    int n = (int)rows->len;
    for (int i = 0; i < n; i++) {
        if (g_array_index(rows, DnTrackerEpoch, i).epoch != i)
            return inconsistent(error, "history row numbers are not 0, 1, 2, ...");
    }

    JsonArray *sws = member_array(o, "switches");
    if (sws == NULL) {
        g_autofree char *full = g_strdup_printf("%s.switches", path);
        return fail(error, full, "a list");
    }
    for (guint i = 0; i < json_array_get_length(sws); i++) {
        JsonNode *en = json_array_get_element(sws, i);
        JsonObject *e = JSON_NODE_HOLDS_OBJECT(en) ? json_node_get_object(en) : NULL;
        g_autofree char *at = g_strdup_printf("%s.switches[%u].", path, i);
        DnTrackerSwitch sw = {0};
        int kind = 0;
        if (!member_int(e, at, "epoch", 0, &sw.epoch, error) ||
            !member_int(e, at, "dendrites", 1, &sw.dendrites, error) ||
            !member_int(e, at, "try", 0, &sw.try_index, error))
            return FALSE;
        if (!read_value(e != NULL ? json_object_get_member(e, "params") : NULL, T_INT64,
                        &sw.params)) {
            g_autofree char *full = g_strdup_printf("%sparams", at);
            return fail(error, full, "a whole number");
        }
        if (!enum_from(member_string(e, "kind"), switch_kind_names,
                       G_N_ELEMENTS(switch_kind_names), &kind)) {
            g_autofree char *full = g_strdup_printf("%skind", at);
            return fail(error, full, "\"add\" or \"retry\"");
        }
        sw.kind = (DnTrackerSwitchKind)kind;
        if (sw.epoch >= n || sw.dendrites > MAX_DENDRITES_STATE)
            return inconsistent(error, "a switch lies outside the history");
        g_array_append_val(s->switches, sw);
    }

    for (guint m = 0; m < G_N_ELEMENTS(state_members); m++) {
        const Member *mb = &state_members[m];
        int v = mb->type == T_INT ? *(const int *)((const char *)s + mb->offset) : 0;
        if (v < -MAX_COUNT || v > MAX_COUNT)
            return inconsistent(error, "a counter is out of range");
    }
    int want = mid_call ? n - 1 : n;
    if (s->num_epochs_run != want)
        return inconsistent(error, "the epoch counter does not match the history");
    if (s->dendrites < 0 || s->dendrites > MAX_DENDRITES_STATE || s->tries < 0 ||
        s->num_cycles < 0 || s->skip_steps < 0 || s->last_max_steps < 0 || s->step_count < 0 ||
        s->test_epoch_count < -1)
        return inconsistent(error, "a counter is negative");
    if (s->last_switch < 0 || s->last_switch > s->num_epochs_run)
        return inconsistent(error, "the last switch lies outside the history");
    return TRUE;
}

static gboolean read_named_snapshot(JsonObject *snaps, const char *member, int n_extra,
                                    DnTrackerState **out, char *name, GError **error)
{
    JsonNode *n = json_object_get_member(snaps, member);
    g_autofree char *path = g_strdup_printf("snapshots.%s", member);
    if (n == NULL)
        return fail(error, path, "an object or null");
    if (JSON_NODE_HOLDS_NULL(n))
        return TRUE;
    JsonObject *o = JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
    const char *s = member_string(o, "name");
    if (s == NULL || strlen(s) == 0 || strlen(s) >= DN_TRACKER_NAME_MAX) {
        g_autofree char *full = g_strdup_printf("%s.name", path);
        return fail(error, full, "a checkpoint name");
    }
    g_strlcpy(name, s, DN_TRACKER_NAME_MAX);
    g_autofree char *state_path = g_strdup_printf("%s.state", path);
    *out = g_new0(DnTrackerState, 1);
    return read_state(member_object(o, "state"), state_path, n_extra, TRUE, *out, error);
}

static gboolean read_scheduler(JsonObject *root, DnTrackerConfig *cfg, DnTracker **out,
                               GError **error)
{
    JsonObject *so = member_object(root, "scheduler");
    if (so == NULL)
        return fail(error, "scheduler", "an object");
    DnSchedConfig sched;
    if (!dn_sched_config_from_json(member_object(so, "config"), &sched, error)) {
        g_prefix_error(error, "tracker state: ");
        return FALSE;
    }
    double base_lr;
    if (!number_node(json_object_get_member(so, "base_lr"), &base_lr) || base_lr < 0)
        return fail(error, "scheduler.base_lr", "a number >= 0");
    DnTracker *t = dn_tracker_alloc(cfg, &sched, base_lr);
    if (t->scheduler == NULL) {
        dn_tracker_free(t);
        return fail(error, "scheduler.config", "a valid scheduler");
    }
    if (!dn_scheduler_state_from_json(t->scheduler, member_object(so, "state"), error)) {
        g_prefix_error(error, "tracker state: ");
        dn_tracker_free(t);
        return FALSE;
    }
    *out = t;
    return TRUE;
}

static gboolean read_rollbacks(JsonObject *root, DnTracker *t, GError **error)
{
    JsonArray *a = member_array(root, "rollbacks");
    if (a == NULL)
        return fail(error, "rollbacks", "a list");
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *en = json_array_get_element(a, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(en) ? json_node_get_object(en) : NULL;
        g_autofree char *at = g_strdup_printf("rollbacks[%u].", i);
        DnTrackerRollbackRec r = {0};
        int kind;
        if (!member_int(o, at, "from_epoch", 0, &r.from_epoch, error) ||
            !member_int(o, at, "to_epoch", 0, &r.to_epoch, error) ||
            !member_int(o, at, "first_epoch", 0, &r.first_epoch, error) ||
            !member_int(o, at, "total_epoch", 0, &r.total_epoch, error))
            return FALSE;
        if (!enum_from(member_string(o, "kind"), rollback_names, G_N_ELEMENTS(rollback_names),
                       &kind)) {
            g_autofree char *full = g_strdup_printf("%skind", at);
            return fail(error, full, "\"switch\", \"retry\", \"final\" or \"sweep\"");
        }
        r.kind = (DnTrackerRollbackKind)kind;
        g_autofree char *rows_path = g_strdup_printf("%srows", at);
        if (!read_rows(member_object(o, "rows"), rows_path, t->n_extra, &r.rows, error))
            return FALSE;
        g_array_append_val(t->rollbacks, r);
    }
    return TRUE;
}

static gboolean read_events(JsonObject *root, DnTracker *t, GError **error)
{
    JsonArray *a = member_array(root, "events");
    if (a == NULL)
        return fail(error, "events", "a list");
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonNode *en = json_array_get_element(a, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT(en) ? json_node_get_object(en) : NULL;
        g_autofree char *at = g_strdup_printf("events[%u].", i);
        DnTrackerEventRec e = {0};
        int decision, done;
        if (!member_int(o, at, "epoch", 0, &e.epoch, error) ||
            !member_int(o, at, "total_epoch", 0, &e.total_epoch, error) ||
            !member_int(o, at, "dendrites", 0, &e.dendrites, error))
            return FALSE;
        if (!enum_from(member_string(o, "decision"), decision_names,
                       G_N_ELEMENTS(decision_names), &decision) ||
            !enum_from(member_string(o, "done"), done_names, G_N_ELEMENTS(done_names), &done)) {
            g_autofree char *full = g_strdup_printf("%sdecision", at);
            return fail(error, full, "a known decision and reason");
        }
        const char *msg = member_string(o, "message");
        if (msg == NULL) {
            g_autofree char *full = g_strdup_printf("%smessage", at);
            return fail(error, full, "a string");
        }
        e.decision = (DnTrackerDecision)decision;
        e.done = (DnTrackerDoneReason)done;
        e.message = g_strdup(msg);
        g_array_append_val(t->events, e);
    }
    return TRUE;
}

static gboolean read_extra_names(JsonObject *root, DnTracker *t, GError **error)
{
    JsonArray *a = member_array(root, "extra_names");
    if (a == NULL || json_array_get_length(a) > DN_TRACKER_MAX_EXTRA)
        return fail(error, "extra_names", "a list of at most 8 names");
    int n = (int)json_array_get_length(a);
    const char *names[DN_TRACKER_MAX_EXTRA];
    for (int i = 0; i < n; i++) {
        JsonNode *en = json_array_get_element(a, i);
        names[i] = JSON_NODE_HOLDS_VALUE(en) && json_node_get_value_type(en) == G_TYPE_STRING
                       ? json_node_get_string(en)
                       : NULL;
        if (names[i] == NULL || names[i][0] == '\0')
            return fail(error, "extra_names", "a list of names");
    }
    return dn_tracker_set_extra_names(t, names, n, error);
}

static gboolean read_tracker(JsonObject *root, DnTracker **out, GError **error)
{
    const char *format = member_string(root, "format");
    if (format == NULL || !g_str_equal(format, FORMAT_NAME))
        return fail(error, "format", "\"" FORMAT_NAME "\"");
    int version;
    if (!member_int(root, "", "version", 0, &version, error))
        return FALSE;
    if (version != FORMAT_VERSION) {
        g_set_error(error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                    "tracker state version %d is not supported (this build reads version %d); "
                    "resume with the version that wrote it",
                    version, FORMAT_VERSION);
        return FALSE;
    }
    DnTrackerConfig cfg;
    JsonObject *co = member_object(root, "config");
    if (co == NULL)
        return fail(error, "config", "an object");
    if (!dn_tracker_config_from_json(co, &cfg, error) ||
        !dn_tracker_config_validate(&cfg, error)) {
        g_prefix_error(error, "tracker state: ");
        return FALSE;
    }
    DnTracker *t = NULL;
    if (!read_scheduler(root, &cfg, &t, error))
        return FALSE;
    *out = t; /* freed by the caller on failure */

    const char *unit = member_string(root, "score_unit");
    JsonNode *complete = json_object_get_member(root, "complete");
    if (unit == NULL)
        return fail(error, "score_unit", "a string");
    dn_tracker_set_score_unit(t, unit);
    if (!read_extra_names(root, t, error) ||
        !member_int(root, "", "total_epochs", 0, &t->total_epochs, error))
        return FALSE;
    if (!read_value(complete, T_BOOL, &t->complete))
        return fail(error, "complete", "true or false");

    dn_tracker_state_clear(&t->st);
    if (!read_state(member_object(root, "state"), "state", t->n_extra, FALSE, &t->st, error))
        return FALSE;

    JsonObject *snaps = member_object(root, "snapshots");
    if (snaps == NULL)
        return fail(error, "snapshots", "an object");
    JsonNode *bn = json_object_get_member(snaps, "best_model");
    if (bn == NULL || (!JSON_NODE_HOLDS_NULL(bn) && !JSON_NODE_HOLDS_OBJECT(bn)))
        return fail(error, "snapshots.best_model", "an object or null");
    if (JSON_NODE_HOLDS_OBJECT(bn)) {
        t->snap_best = g_new0(DnTrackerState, 1);
        if (!read_state(json_node_get_object(bn), "snapshots.best_model", t->n_extra, TRUE,
                        t->snap_best, error))
            return FALSE;
    }
    if (!read_named_snapshot(snaps, "switch", t->n_extra, &t->snap_switch, t->snap_switch_name,
                             error) ||
        !read_named_snapshot(snaps, "sweep", t->n_extra, &t->snap_sweep, t->snap_sweep_name,
                             error))
        return FALSE;
    if (!read_rollbacks(root, t, error) || !read_events(root, t, error))
        return FALSE;

    if (t->total_epochs < (int)t->st.rows->len || t->total_epochs > MAX_COUNT)
        return inconsistent(error, "fewer epochs run than history rows");
    if (t->st.rows->len > 0 && t->snap_best == NULL)
        return inconsistent(error, "a history without a best_model state");
    if (!t->st.committed && t->snap_switch == NULL && dn_tracker_has_scheduler(t))
        return inconsistent(error, "a learning-rate sweep without its switch state");
    return TRUE;
}

DnTracker *dn_tracker_state_from_json(JsonObject *obj, GError **error)
{
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    if (obj == NULL) {
        g_set_error(error, DN_ERROR, DN_ERROR_FORMAT,
                    "tracker state is missing; resume from a checkpoint that has one");
        return NULL;
    }
    DnTracker *t = NULL;
    if (!read_tracker(obj, &t, error)) {
        dn_tracker_free(t);
        return NULL;
    }
    return t;
}

DnTracker *dn_tracker_state_from_string(const char *text, GError **error)
{
    g_return_val_if_fail(text != NULL, NULL);
    g_return_val_if_fail(error == NULL || *error == NULL, NULL);
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) local = NULL;
    if (!json_parser_load_from_data(parser, text, -1, &local)) {
        g_set_error(error, DN_ERROR, DN_ERROR_FORMAT,
                    "tracker state is not valid JSON (%s); resume from an undamaged checkpoint",
                    local->message);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(parser);
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(error, DN_ERROR, DN_ERROR_FORMAT,
                    "tracker state is not a JSON object; resume from an undamaged checkpoint");
        return NULL;
    }
    return dn_tracker_state_from_json(json_node_get_object(root), error);
}
