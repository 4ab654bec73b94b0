/* dn-tracker-load.c: reads the tracker state that dn-tracker-state.c writes
 * (the layout is described there), for resume after a crash.
 *
 * Reading checks types, ranges and that the pieces agree (row i is epoch i,
 * a switch points into the history, the counters fit the history): a damaged
 * checkpoint gives an error that names the member, never a tracker that
 * crashes later.
 */
#include "dn-json.h"
#include "dn-tracker-private.h"

#include "dn-error.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#define MAX_DENDRITES_STATE 1000000
#define MAX_COUNT 100000000 /* epochs, steps: far beyond any run, far below INT_MAX */

static gboolean fail (GError **error, const char *path, const char *rule)
{
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "tracker state \"%s\" is missing or not %s; resume from a checkpoint that this "
                 "version of Dendrite Studio wrote",
                 path, rule);
    return FALSE;
}

static gboolean inconsistent (GError **error, const char *what)
{
    g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                 "tracker state is inconsistent: %s; the checkpoint is damaged, resume from an "
                 "older one",
                 what);
    return FALSE;
}

static gboolean number_node (JsonNode *n, double *out)
{
    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
        return FALSE;
    GType t = json_node_get_value_type (n);
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return FALSE;
    *out = json_node_get_double (n);
    return isfinite (*out);
}

/* One value of `type` into p; doubles may be null (NaN). */
static gboolean read_value (JsonNode *n, DnTrackerMemberType type, void *p)
{
    double v;
    switch (type) {
    case DN_TRACKER_T_INT:
        if (!number_node (n, &v) || v != floor (v) || v < INT_MIN || v > INT_MAX)
            return FALSE;
        *(int *) p = (int) v;
        return TRUE;
    case DN_TRACKER_T_INT64:
        if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
            return FALSE;
        *(int64_t *) p = json_node_get_int (n);
        return TRUE;
    case DN_TRACKER_T_DOUBLE:
        if (n != NULL && JSON_NODE_HOLDS_NULL (n)) {
            *(double *) p = NAN;
            return TRUE;
        }
        if (!number_node (n, &v))
            return FALSE;
        *(double *) p = v;
        return TRUE;
    case DN_TRACKER_T_BOOL:
        if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) ||
            json_node_get_value_type (n) != G_TYPE_BOOLEAN)
            return FALSE;
        *(gboolean *) p = json_node_get_boolean (n);
        return TRUE;
    }
    return FALSE;
}

static const char *type_rule (DnTrackerMemberType type)
{
    switch (type) {
    case DN_TRACKER_T_INT:
    case DN_TRACKER_T_INT64:
        return "a whole number";
    case DN_TRACKER_T_DOUBLE:
        return "a number (or null)";
    case DN_TRACKER_T_BOOL:
        return "true or false";
    }
    return "valid";
}

static JsonObject *member_object (JsonObject *o, const char *name)
{
    JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
    return n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
}

static JsonArray *member_array (JsonObject *o, const char *name)
{
    JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
    return n != NULL && JSON_NODE_HOLDS_ARRAY (n) ? json_node_get_array (n) : NULL;
}

static const char *member_string (JsonObject *o, const char *name)
{
    JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string (n);
}

static gboolean member_int (JsonObject *o, const char *path, const char *name, int lo, int *out,
                            GError **error)
{
    g_autofree char *full = g_strdup_printf ("%s%s", path, name);
    JsonNode *n = o != NULL ? json_object_get_member (o, name) : NULL;
    if (!read_value (n, DN_TRACKER_T_INT, out) || *out < lo)
        return fail (error, full, lo == 0 ? "a whole number >= 0" : "a whole number");
    return TRUE;
}

static gboolean enum_from (const char *s, const char *const *names, int n, int *out)
{
    for (int i = 0; s != NULL && i < n; i++) {
        if (g_str_equal (s, names[i])) {
            *out = i;
            return TRUE;
        }
    }
    return FALSE;
}

/* An optional per-layer series of the rows (a double[DN_TRACKER_MAX_CORR] at
 * `offset`, written by dn-tracker-state.c's write_series); absent layers are NaN. */
static gboolean read_series (JsonObject *o, const char *path, const char *name, size_t offset,
                             GArray *rows, GError **error)
{
    guint n = rows->len;
    for (guint i = 0; i < n; i++) {
        double *v = (double *) ((char *) &g_array_index (rows, DnTrackerEpoch, i) + offset);
        for (int x = 0; x < DN_TRACKER_MAX_CORR; x++)
            v[x] = NAN;
    }
    JsonArray *series = member_array (o, name);
    for (guint x = 0; series != NULL && x < json_array_get_length (series); x++) {
        JsonNode *cn = json_array_get_element (series, x);
        JsonArray *col = JSON_NODE_HOLDS_ARRAY (cn) ? json_node_get_array (cn) : NULL;
        g_autofree char *at = g_strdup_printf ("%s.%s[%u]", path, name, x);
        if (x >= DN_TRACKER_MAX_CORR || col == NULL || json_array_get_length (col) != n) {
            g_autofree char *rule = g_strdup_printf ("a list of %u numbers", n);
            return fail (error, at, rule);
        }
        for (guint i = 0; i < n; i++) {
            char *row = (char *) &g_array_index (rows, DnTrackerEpoch, i);
            if (!read_value (json_array_get_element (col, i), DN_TRACKER_T_DOUBLE,
                             row + offset + x * sizeof (double))) {
                g_autofree char *cell = g_strdup_printf ("%s[%u]", at, i);
                return fail (error, cell, "a number or null");
            }
        }
    }
    return TRUE;
}

static gboolean read_rows (JsonObject *o, const char *path, int n_extra, GArray **out,
                           GError **error)
{
    JsonArray *first = member_array (o, "epoch");
    if (first == NULL) {
        g_autofree char *full = g_strdup_printf ("%s.epoch", path);
        return fail (error, full, "a list of whole numbers");
    }
    guint n = json_array_get_length (first);
    GArray *rows = g_array_sized_new (FALSE, TRUE, sizeof (DnTrackerEpoch), n);
    g_array_set_size (rows, n);
    for (guint m = 0; m < dn_tracker_n_row_members; m++) {
        const DnTrackerMember *mb = &dn_tracker_row_members[m];
        JsonArray *col = member_array (o, mb->name);
        g_autofree char *full = g_strdup_printf ("%s.%s", path, mb->name);
        if (col == NULL || json_array_get_length (col) != n) {
            g_autofree char *rule = g_strdup_printf ("a list of %u values", n);
            g_array_unref (rows);
            return fail (error, full, rule);
        }
        for (guint i = 0; i < n; i++) {
            char *row = (char *) &g_array_index (rows, DnTrackerEpoch, i);
            if (!read_value (json_array_get_element (col, i), mb->type, row + mb->offset)) {
                g_autofree char *at = g_strdup_printf ("%s[%u]", full, i);
                g_array_unref (rows);
                return fail (error, at, type_rule (mb->type));
            }
        }
    }
    JsonArray *extra = member_array (o, "extra");
    g_autofree char *extra_path = g_strdup_printf ("%s.extra", path);
    if (extra == NULL || (int) json_array_get_length (extra) != n_extra) {
        g_autofree char *rule = g_strdup_printf ("a list of %d series", n_extra);
        g_array_unref (rows);
        return fail (error, extra_path, rule);
    }
    for (int x = 0; x < n_extra; x++) {
        JsonNode *cn = json_array_get_element (extra, x);
        JsonArray *col = JSON_NODE_HOLDS_ARRAY (cn) ? json_node_get_array (cn) : NULL;
        for (guint i = 0; col != NULL && i < n; i++) {
            if (i >= json_array_get_length (col) ||
                !read_value (json_array_get_element (col, i), DN_TRACKER_T_DOUBLE,
                             &g_array_index (rows, DnTrackerEpoch, i).extra[x]))
                col = NULL;
        }
        if (col == NULL || json_array_get_length (col) != n) {
            g_autofree char *at = g_strdup_printf ("%s[%d]", extra_path, x);
            g_autofree char *rule = g_strdup_printf ("a list of %u numbers", n);
            g_array_unref (rows);
            return fail (error, at, rule);
        }
    }
    if (!read_series (o, path, "correlation", offsetof (DnTrackerEpoch, correlation), rows,
                      error) ||
        !read_series (o, path, "pb_best_ever", offsetof (DnTrackerEpoch, pb_best_ever), rows,
                      error) ||
        !read_series (o, path, "pb_phase_best", offsetof (DnTrackerEpoch, pb_phase_best), rows,
                      error)) {
        g_array_unref (rows);
        return FALSE;
    }
    JsonArray *improved = member_array (o, "pb_improved"); /* optional */
    for (guint i = 0; improved != NULL && i < n; i++) {
        if (json_array_get_length (improved) != n ||
            !read_value (json_array_get_element (improved, i), DN_TRACKER_T_BOOL,
                         &g_array_index (rows, DnTrackerEpoch, i).pb_improved)) {
            g_array_unref (rows);
            g_autofree char *at = g_strdup_printf ("%s.pb_improved", path);
            g_autofree char *rule = g_strdup_printf ("a list of %u true or false", n);
            return fail (error, at, rule);
        }
    }
    for (guint i = 0; i < n; i++) {
        DnTrackerEpoch *r = &g_array_index (rows, DnTrackerEpoch, i);
        for (int x = n_extra; x < DN_TRACKER_MAX_EXTRA; x++)
            r->extra[x] = NAN;
        if (r->mode != DN_TRACKER_MODE_NEURON && r->mode != DN_TRACKER_MODE_DENDRITE) {
            g_array_unref (rows);
            return inconsistent (error, "a history row has an unknown mode");
        }
        if (r->dendrites < 0 || r->dendrites > MAX_DENDRITES_STATE || r->total_epoch < 0) {
            g_array_unref (rows);
            return inconsistent (error, "a history row has a negative count");
        }
    }
    *out = rows;
    return TRUE;
}

/* Perforated Backpropagation: a dendrite phase is the newest switch's, still
 * open; any other switch has ended. */
static gboolean check_phase (const DnTrackerState *s, GError **error)
{
    if (s->mode != DN_TRACKER_MODE_NEURON && s->mode != DN_TRACKER_MODE_DENDRITE)
        return inconsistent (error, "the mode is neither neuron nor dendrite training");
    guint ns = s->switches->len;
    for (guint i = 0; i < ns; i++) {
        const DnTrackerSwitch *sw = &g_array_index (s->switches, DnTrackerSwitch, i);
        gboolean open = s->mode == DN_TRACKER_MODE_DENDRITE && i + 1 == ns;
        if ((sw->end_epoch < 0) != open)
            return inconsistent (error, "a dendrite phase is open outside dendrite training");
    }
    if (s->mode == DN_TRACKER_MODE_DENDRITE &&
        (ns == 0 || s->phase_start < 0 || s->phase_start > s->phase_last_improved ||
         s->phase_last_improved > s->num_epochs_run || s->neuron_epochs < 1))
        return inconsistent (error, "the dendrite phase's counters do not fit the history");
    return TRUE;
}

/* `mid_call`: a snapshot, taken inside add_score after the row was added. */
static gboolean read_state (JsonObject *o, const char *path, int n_extra, gboolean mid_call,
                            DnTrackerState *s, GError **error)
{
    if (o == NULL)
        return fail (error, path, "an object");
    dn_tracker_state_init (s);
    for (guint m = 0; m < dn_tracker_n_state_members; m++) {
        const DnTrackerMember *mb = &dn_tracker_state_members[m];
        if (!read_value (json_object_get_member (o, mb->name), mb->type, (char *) s + mb->offset)) {
            g_autofree char *full = g_strdup_printf ("%s.%s", path, mb->name);
            return fail (error, full, type_rule (mb->type));
        }
    }
    for (int m = 0; m < dn_tracker_n_pb_state_members; m++) {
        const DnTrackerMember *mb = &dn_tracker_pb_state_members[m];
        JsonNode *v = json_object_get_member (o, mb->name); /* optional */
        if (v != NULL && !read_value (v, mb->type, (char *) s + mb->offset)) {
            g_autofree char *full = g_strdup_printf ("%s.%s", path, mb->name);
            return fail (error, full, type_rule (mb->type));
        }
    }
    JsonArray *trial = member_array (o, "trial");
    if (trial == NULL || json_array_get_length (trial) > 2) {
        g_autofree char *full = g_strdup_printf ("%s.trial", path);
        return fail (error, full, "a list of at most 2 scores");
    }
    s->n_trial = (int) json_array_get_length (trial);
    for (int i = 0; i < s->n_trial; i++) {
        if (!read_value (json_array_get_element (trial, i), DN_TRACKER_T_DOUBLE, &s->trial[i])) {
            g_autofree char *full = g_strdup_printf ("%s.trial[%d]", path, i);
            return fail (error, full, "a number");
        }
    }
    g_autofree char *rows_path = g_strdup_printf ("%s.rows", path);
    GArray *rows = NULL;
    if (!read_rows (member_object (o, "rows"), rows_path, n_extra, &rows, error))
        return FALSE;
    g_array_unref (s->rows);
    s->rows = rows;
    int n = (int) rows->len;
    for (int i = 0; i < n; i++) {
        if (g_array_index (rows, DnTrackerEpoch, i).epoch != i)
            return inconsistent (error, "history row numbers are not 0, 1, 2, ...");
    }

    JsonArray *sws = member_array (o, "switches");
    if (sws == NULL) {
        g_autofree char *full = g_strdup_printf ("%s.switches", path);
        return fail (error, full, "a list");
    }
    for (guint i = 0; i < json_array_get_length (sws); i++) {
        JsonNode *en = json_array_get_element (sws, i);
        JsonObject *e = JSON_NODE_HOLDS_OBJECT (en) ? json_node_get_object (en) : NULL;
        g_autofree char *at = g_strdup_printf ("%s.switches[%u].", path, i);
        DnTrackerSwitch sw = {0};
        int kind = 0;
        if (!member_int (e, at, "epoch", 0, &sw.epoch, error) ||
            !member_int (e, at, "dendrites", 1, &sw.dendrites, error) ||
            !member_int (e, at, "try", 0, &sw.try_index, error))
            return FALSE;
        if (!read_value (e != NULL ? json_object_get_member (e, "params") : NULL,
                         DN_TRACKER_T_INT64, &sw.params)) {
            g_autofree char *full = g_strdup_printf ("%sparams", at);
            return fail (error, full, "a whole number");
        }
        if (!enum_from (member_string (e, "kind"), dn_tracker_switch_kind_names, 2, &kind)) {
            g_autofree char *full = g_strdup_printf ("%skind", at);
            return fail (error, full, "\"add\" or \"retry\"");
        }
        sw.kind = (DnTrackerSwitchKind) kind;
        sw.end_epoch = sw.epoch;
        JsonNode *end = e != NULL ? json_object_get_member (e, "end_epoch") : NULL; /* PB */
        if (end != NULL && !member_int (e, at, "end_epoch", -1, &sw.end_epoch, error))
            return FALSE;
        if (sw.epoch >= n || sw.end_epoch >= n || sw.dendrites > MAX_DENDRITES_STATE)
            return inconsistent (error, "a switch lies outside the history");
        if (sw.end_epoch >= 0 && sw.end_epoch < sw.epoch)
            return inconsistent (error, "a dendrite phase ends before it starts");
        g_array_append_val (s->switches, sw);
    }

    for (guint m = 0; m < dn_tracker_n_state_members; m++) {
        const DnTrackerMember *mb = &dn_tracker_state_members[m];
        int v = mb->type == DN_TRACKER_T_INT ? *(const int *) ((const char *) s + mb->offset) : 0;
        if (v < -MAX_COUNT || v > MAX_COUNT)
            return inconsistent (error, "a counter is out of range");
    }
    int want = mid_call ? n - 1 : n;
    if (s->num_epochs_run != want)
        return inconsistent (error, "the epoch counter does not match the history");
    if (s->dendrites < 0 || s->dendrites > MAX_DENDRITES_STATE || s->tries < 0 ||
        s->num_cycles < 0 || s->skip_steps < 0 || s->last_max_steps < 0 || s->step_count < 0 ||
        s->test_epoch_count < -1)
        return inconsistent (error, "a counter is negative");
    if (s->last_switch < 0 || s->last_switch > s->num_epochs_run)
        return inconsistent (error, "the last switch lies outside the history");
    return check_phase (s, error);
}

static gboolean read_named_snapshot (JsonObject *snaps, const char *member, int n_extra,
                                     DnTrackerState **out, char *name, GError **error)
{
    JsonNode *n = json_object_get_member (snaps, member);
    g_autofree char *path = g_strdup_printf ("snapshots.%s", member);
    if (n == NULL)
        return fail (error, path, "an object or null");
    if (JSON_NODE_HOLDS_NULL (n))
        return TRUE;
    JsonObject *o = JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
    const char *s = member_string (o, "name");
    if (s == NULL || strlen (s) == 0 || strlen (s) >= DN_TRACKER_NAME_MAX) {
        g_autofree char *full = g_strdup_printf ("%s.name", path);
        return fail (error, full, "a checkpoint name");
    }
    g_strlcpy (name, s, DN_TRACKER_NAME_MAX);
    g_autofree char *state_path = g_strdup_printf ("%s.state", path);
    *out = g_new0 (DnTrackerState, 1);
    return read_state (member_object (o, "state"), state_path, n_extra, TRUE, *out, error);
}

static gboolean read_scheduler (JsonObject *root, DnTrackerConfig *cfg, DnTracker **out,
                                GError **error)
{
    JsonObject *so = member_object (root, "scheduler");
    if (so == NULL)
        return fail (error, "scheduler", "an object");
    DnSchedConfig sched;
    if (!dn_sched_config_from_json (member_object (so, "config"), &sched, error)) {
        g_prefix_error (error, "tracker state: ");
        return FALSE;
    }
    double base_lr;
    if (!number_node (json_object_get_member (so, "base_lr"), &base_lr) || base_lr < 0)
        return fail (error, "scheduler.base_lr", "a number >= 0");
    DnTracker *t = dn_tracker_alloc (cfg, &sched, base_lr);
    if (t->scheduler == NULL) {
        dn_tracker_free (t);
        return fail (error, "scheduler.config", "a valid scheduler");
    }
    if (!dn_scheduler_state_from_json (t->scheduler, member_object (so, "state"), error)) {
        g_prefix_error (error, "tracker state: ");
        dn_tracker_free (t);
        return FALSE;
    }
    *out = t;
    return TRUE;
}

static gboolean read_rollbacks (JsonObject *root, DnTracker *t, GError **error)
{
    JsonArray *a = member_array (root, "rollbacks");
    if (a == NULL)
        return fail (error, "rollbacks", "a list");
    for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonNode *en = json_array_get_element (a, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT (en) ? json_node_get_object (en) : NULL;
        g_autofree char *at = g_strdup_printf ("rollbacks[%u].", i);
        DnTrackerRollbackRec r = {0};
        int kind;
        if (!member_int (o, at, "from_epoch", 0, &r.from_epoch, error) ||
            !member_int (o, at, "to_epoch", 0, &r.to_epoch, error) ||
            !member_int (o, at, "first_epoch", 0, &r.first_epoch, error) ||
            !member_int (o, at, "total_epoch", 0, &r.total_epoch, error))
            return FALSE;
        if (!enum_from (member_string (o, "kind"), dn_tracker_rollback_names, 4, &kind)) {
            g_autofree char *full = g_strdup_printf ("%skind", at);
            return fail (error, full, "\"switch\", \"retry\", \"final\" or \"sweep\"");
        }
        r.kind = (DnTrackerRollbackKind) kind;
        g_autofree char *rows_path = g_strdup_printf ("%srows", at);
        if (!read_rows (member_object (o, "rows"), rows_path, t->n_extra, &r.rows, error))
            return FALSE;
        g_array_append_val (t->rollbacks, r);
    }
    return TRUE;
}

static gboolean read_events (JsonObject *root, DnTracker *t, GError **error)
{
    JsonArray *a = member_array (root, "events");
    if (a == NULL)
        return fail (error, "events", "a list");
    for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonNode *en = json_array_get_element (a, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT (en) ? json_node_get_object (en) : NULL;
        g_autofree char *at = g_strdup_printf ("events[%u].", i);
        DnTrackerEventRec e = {0};
        int decision, done;
        if (!member_int (o, at, "epoch", 0, &e.epoch, error) ||
            !member_int (o, at, "total_epoch", 0, &e.total_epoch, error) ||
            !member_int (o, at, "dendrites", 0, &e.dendrites, error))
            return FALSE;
        if (!enum_from (member_string (o, "decision"), dn_tracker_decision_names, 5, &decision) ||
            !enum_from (member_string (o, "done"), dn_tracker_done_names, 5, &done)) {
            g_autofree char *full = g_strdup_printf ("%sdecision", at);
            return fail (error, full, "a known decision and reason");
        }
        const char *msg = member_string (o, "message");
        if (msg == NULL) {
            g_autofree char *full = g_strdup_printf ("%smessage", at);
            return fail (error, full, "a string");
        }
        e.decision = (DnTrackerDecision) decision;
        e.done = (DnTrackerDoneReason) done;
        e.message = g_strdup (msg);
        g_array_append_val (t->events, e);
    }
    return TRUE;
}

static gboolean read_extra_names (JsonObject *root, DnTracker *t, GError **error)
{
    JsonArray *a = member_array (root, "extra_names");
    if (a == NULL || json_array_get_length (a) > DN_TRACKER_MAX_EXTRA)
        return fail (error, "extra_names", "a list of at most 8 names");
    int n = (int) json_array_get_length (a);
    const char *names[DN_TRACKER_MAX_EXTRA];
    for (int i = 0; i < n; i++) {
        JsonNode *en = json_array_get_element (a, i);
        names[i] = JSON_NODE_HOLDS_VALUE (en) && json_node_get_value_type (en) == G_TYPE_STRING
                       ? json_node_get_string (en)
                       : NULL;
        if (names[i] == NULL || names[i][0] == '\0')
            return fail (error, "extra_names", "a list of names");
    }
    return dn_tracker_set_extra_names (t, names, n, error);
}

/* Perforated Backpropagation's candidate layers (optional). */
static gboolean read_candidates (JsonObject *root, DnTracker *t, GError **error)
{
    JsonNode *node = json_object_get_member (root, "candidates");
    if (node == NULL)
        return TRUE;
    JsonArray *a = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
    if (a == NULL || json_array_get_length (a) > DN_TRACKER_MAX_CORR)
        return fail (error, "candidates", "a list of at most 32 layers");
    for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonNode *en = json_array_get_element (a, i);
        JsonObject *o = JSON_NODE_HOLDS_OBJECT (en) ? json_node_get_object (en) : NULL;
        g_autofree char *at = g_strdup_printf ("candidates[%u].", i);
        DnTrackerCandLayer *c = &t->cand[t->n_cand];
        memset (c, 0, sizeof *c);
        c->n_pending = -1;
        const char *name = member_string (o, "name");
        if (name == NULL) {
            g_autofree char *full = g_strdup_printf ("%sname", at);
            return fail (error, full, "a layer name");
        }
        c->name = g_strdup (name);
        t->n_cand++;
        if (!read_value (json_object_get_member (o, "best_ever"), DN_TRACKER_T_DOUBLE,
                         &c->best_ever) ||
            !read_value (json_object_get_member (o, "phase_best"), DN_TRACKER_T_DOUBLE,
                         &c->phase_best)) {
            g_autofree char *full = g_strdup_printf ("%sbest_ever", at);
            return fail (error, full, "a number (or null), as is phase_best");
        }
        JsonArray *ch = member_array (o, "channel_best");
        if (ch == NULL || json_array_get_length (ch) > MAX_COUNT) {
            g_autofree char *full = g_strdup_printf ("%schannel_best", at);
            return fail (error, full, "a list of numbers");
        }
        c->n_channels = (int) json_array_get_length (ch);
        c->channel_best = g_new (double, MAX (c->n_channels, 1));
        for (int k = 0; k < c->n_channels; k++) {
            if (!read_value (json_array_get_element (ch, (guint) k), DN_TRACKER_T_DOUBLE,
                             &c->channel_best[k]) ||
                (!isnan (c->channel_best[k]) && c->channel_best[k] < 0)) {
                g_autofree char *full = g_strdup_printf ("%schannel_best[%d]", at, k);
                return fail (error, full, "a number >= 0 (or null)");
            }
        }
    }
    return TRUE;
}

static gboolean read_tracker (JsonObject *root, DnTracker **out, GError **error)
{
    const char *format = member_string (root, "format");
    if (format == NULL || !g_str_equal (format, DN_TRACKER_FORMAT_NAME))
        return fail (error, "format", "\"" DN_TRACKER_FORMAT_NAME "\"");
    int version;
    if (!member_int (root, "", "version", 0, &version, error))
        return FALSE;
    if (version != DN_TRACKER_FORMAT_VERSION) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "tracker state version %d is not supported (this build reads version %d); "
                     "resume with the version that wrote it",
                     version, DN_TRACKER_FORMAT_VERSION);
        return FALSE;
    }
    DnTrackerConfig cfg;
    JsonObject *co = member_object (root, "config");
    if (co == NULL)
        return fail (error, "config", "an object");
    if (!dn_tracker_config_from_json (co, &cfg, error) ||
        !dn_tracker_config_validate (&cfg, error)) {
        g_prefix_error (error, "tracker state: ");
        return FALSE;
    }
    DnTracker *t = NULL;
    if (!read_scheduler (root, &cfg, &t, error))
        return FALSE;
    *out = t; /* freed by the caller on failure */

    const char *unit = member_string (root, "score_unit");
    JsonNode *complete = json_object_get_member (root, "complete");
    if (unit == NULL)
        return fail (error, "score_unit", "a string");
    dn_tracker_set_score_unit (t, unit);
    JsonArray *cnames = member_array (root, "correlation_names"); /* optional */
    for (guint i = 0; cnames != NULL && i < json_array_get_length (cnames); i++) {
        JsonNode *e = json_array_get_element (cnames, i);
        if (i >= DN_TRACKER_MAX_CORR || !JSON_NODE_HOLDS_VALUE (e) ||
            json_node_get_value_type (e) != G_TYPE_STRING)
            return fail (error, "correlation_names", "a list of at most 32 layer names");
        t->corr_names[t->n_corr++] = g_strdup (json_node_get_string (e));
    }
    if (!read_extra_names (root, t, error) ||
        !member_int (root, "", "total_epochs", 0, &t->total_epochs, error))
        return FALSE;
    if (!read_value (complete, DN_TRACKER_T_BOOL, &t->complete))
        return fail (error, "complete", "true or false");
    JsonNode *recorder = json_object_get_member (root, "recorder"); /* optional */
    if (recorder != NULL && !read_value (recorder, DN_TRACKER_T_BOOL, &t->recorder))
        return fail (error, "recorder", "true or false");

    dn_tracker_state_clear (&t->st);
    if (!read_state (member_object (root, "state"), "state", t->n_extra, FALSE, &t->st, error))
        return FALSE;

    JsonObject *snaps = member_object (root, "snapshots");
    if (snaps == NULL)
        return fail (error, "snapshots", "an object");
    JsonNode *bn = json_object_get_member (snaps, "best_model");
    if (bn == NULL || (!JSON_NODE_HOLDS_NULL (bn) && !JSON_NODE_HOLDS_OBJECT (bn)))
        return fail (error, "snapshots.best_model", "an object or null");
    if (JSON_NODE_HOLDS_OBJECT (bn)) {
        t->snap_best = g_new0 (DnTrackerState, 1);
        if (!read_state (json_node_get_object (bn), "snapshots.best_model", t->n_extra, TRUE,
                         t->snap_best, error))
            return FALSE;
    }
    if (!read_named_snapshot (snaps, "switch", t->n_extra, &t->snap_switch, t->snap_switch_name,
                              error) ||
        !read_named_snapshot (snaps, "sweep", t->n_extra, &t->snap_sweep, t->snap_sweep_name,
                              error))
        return FALSE;
    if (!read_rollbacks (root, t, error) || !read_events (root, t, error) ||
        !read_candidates (root, t, error))
        return FALSE;

    if (t->total_epochs < (int) t->st.rows->len || t->total_epochs > MAX_COUNT)
        return inconsistent (error, "fewer epochs run than history rows");
    if (t->st.rows->len > 0 && t->snap_best == NULL)
        return inconsistent (error, "a history without a best_model state");
    if (!t->st.committed && t->snap_switch == NULL && dn_tracker_has_scheduler (t))
        return inconsistent (error, "a learning-rate sweep without its switch state");
    if (t->recorder &&
        (t->cfg.switch_mode != DN_TRACKER_SWITCH_NEVER || dn_tracker_has_scheduler (t)))
        return inconsistent (error, "a recorder that switches or keeps a schedule");
    return TRUE;
}

DnTracker *dn_tracker_state_from_json (JsonObject *obj, GError **error)
{
    g_return_val_if_fail (error == NULL || *error == NULL, NULL);
    if (obj == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "tracker state is missing; resume from a checkpoint that has one");
        return NULL;
    }
    DnTracker *t = NULL;
    if (!read_tracker (obj, &t, error)) {
        dn_tracker_free (t);
        return NULL;
    }
    return t;
}

DnTracker *dn_tracker_state_from_string (const char *text, GError **error)
{
    g_return_val_if_fail (text != NULL, NULL);
    g_return_val_if_fail (error == NULL || *error == NULL, NULL);
    g_autoptr (JsonNode) root =
        dn_json_parse (text, -1, "tracker state (resume from an undamaged checkpoint)", error);
    if (root == NULL)
        return NULL;
    if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "tracker state is not a JSON object; resume from an undamaged checkpoint");
        return NULL;
    }
    return dn_tracker_state_from_json (json_node_get_object (root), error);
}
