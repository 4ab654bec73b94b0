/* dn-tracker-config.c: the tracker's settings (spec perforated-dendrites.md §8):
 * defaults, range checks, the list rule, and the "dendrites" JSON object.
 *
 * Every setting is described once in `fields`: its JSON name, its kind, where
 * it lives in DnTrackerConfig and its allowed range. Reading, writing and
 * validating all walk that table, so a setting cannot be read but forgotten
 * when written.
 */
#include "dn-tracker-private.h"

#include "dn-error.h"
#include "dn-json.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

typedef enum {
    KIND_BOOL,
    KIND_NUMBER,    /* one number */
    KIND_LIST_INT,  /* whole numbers, a number or a list (the list rule) */
    KIND_LIST_REAL, /* numbers, a number or a list */
    KIND_SWITCH_MODE,
    KIND_PARAM_VALS,
} FieldKind;

typedef struct {
    const char *name;
    FieldKind kind;
    size_t offset;
    double lo, hi;
    gboolean hi_open; /* the value must be < hi */
    const char *rule; /* what a value must be, for messages */
} Field;

#define OFF(member) offsetof (DnTrackerConfig, member)

/* In the order of the reference's setting groups (spec §8, user-expectations §5.3). */
static const Field fields[] = {
    {"doing_pai", KIND_BOOL, OFF (doing_pai), 0, 0, FALSE, "true or false"},
    {"testing_dendrite_capacity", KIND_BOOL, OFF (testing_dendrite_capacity), 0, 0, FALSE,
     "true or false"},
    {"maximizing_score", KIND_BOOL, OFF (maximizing_score), 0, 0, FALSE, "true or false"},
    {"num_classes", KIND_NUMBER, OFF (num_classes), 0, HUGE_VAL, FALSE, "a number > 0"},
    {"switch_mode", KIND_SWITCH_MODE, OFF (switch_mode), 0, 0, FALSE,
     "one of \"history\", \"every_epoch\", \"fixed\", \"never\""},
    {"n_epochs_to_switch", KIND_LIST_INT, OFF (n_epochs_to_switch), 1, INT_MAX, FALSE,
     "a whole number of epochs >= 1"},
    {"history_lookback", KIND_LIST_INT, OFF (history_lookback), 1, INT_MAX, FALSE,
     "a whole number of epochs >= 1"},
    {"initial_history_after_switches", KIND_LIST_INT, OFF (initial_history_after_switches), 0,
     INT_MAX, FALSE, "a whole number of epochs >= 0"},
    {"fixed_switch_num", KIND_LIST_INT, OFF (fixed_switch_num), 1, INT_MAX, FALSE,
     "a whole number of epochs >= 1"},
    {"first_fixed_switch_num", KIND_LIST_INT, OFF (first_fixed_switch_num), 0, INT_MAX, FALSE,
     "a whole number of epochs >= 0"},
    {"improvement_threshold", KIND_LIST_REAL, OFF (improvement_threshold), 0, 1, TRUE,
     "a number in [0, 1), e.g. 0.001"},
    {"improvement_threshold_raw", KIND_LIST_REAL, OFF (improvement_threshold_raw), 0, HUGE_VAL,
     FALSE, "a number >= 0, e.g. 1e-5"},
    {"max_dendrite_tries", KIND_LIST_INT, OFF (max_dendrite_tries), 0, INT_MAX, FALSE,
     "a whole number of retries >= 0"},
    {"max_dendrites", KIND_LIST_INT, OFF (max_dendrites), 0, INT_MAX, FALSE,
     "a whole number of dendrite sets >= 0"},
    {"retain_all_dendrites", KIND_BOOL, OFF (retain_all_dendrites), 0, 0, FALSE, "true or false"},
    {"find_best_lr", KIND_BOOL, OFF (find_best_lr), 0, 0, FALSE, "true or false"},
    {"dont_give_up_unless_learning_rate_lowered", KIND_BOOL,
     OFF (dont_give_up_unless_learning_rate_lowered), 0, 0, FALSE, "true or false"},
    {"reset_best_score_on_switch", KIND_BOOL, OFF (reset_best_score_on_switch), 0, 0, FALSE,
     "true or false"},
    {"param_vals_setting", KIND_PARAM_VALS, OFF (param_vals_setting), 0, 0, FALSE,
     "one of \"by_update_epoch\", \"by_total_epoch\", \"by_neuron_epoch_start\""},
    {"save_old_graph_scores", KIND_BOOL, OFF (save_old_graph_scores), 0, 0, FALSE, "true or false"},
    {"test_saves", KIND_BOOL, OFF (test_saves), 0, 0, FALSE, "true or false"},
};

#define N_FIELDS ((int) G_N_ELEMENTS (fields))

/* Settings of spec §8 that belong to other modules (the dendrite layers, the
 * conversion, the run-folder writer, logging). The tracker leaves them alone
 * so that one "dendrites" object can hold every setting. */
static const char *const foreign_keys[] = {
    "device",
    "use_cuda",
    "save_name",
    "candidate_weight_initialization_multiplier",
    "candidate_weight_init_by_main",
    "pai_forward_function",
    "pb_forward_function",
    "d_type",
    "global_candidates",
    "input_dimensions",
    "output_dimensions",
    "debugging_input_dimensions",
    "debugging_output_dimensions",
    "confirm_correct_sizes",
    "modules_to_convert",
    "modules_to_perforate",
    "module_names_to_convert",
    "module_names_to_perforate",
    "module_ids_to_convert",
    "module_ids_to_perforate",
    "modules_to_track",
    "module_names_to_track",
    "module_ids_to_track",
    "parameter_ids_to_track",
    "modules_to_replace",
    "replacement_modules",
    "modules_with_processing",
    "modules_processing_classes",
    "module_names_with_processing",
    "module_by_name_processing_classes",
    "module_names_to_not_save",
    "unwrapped_modules_confirmed",
    "weight_decay_accepted",
    "checked_skipped_modules",
    "verbose",
    "extra_verbose",
    "silent",
    "drawing_pai",
    "drawing_extra_graphs",
    "pai_saves",
    "using_safe_tensors",
    "making_graphs",
    "zooming_graph",
    "values_per_train_epoch",
    "values_per_val_epoch",
    "learn_dendrites_live",
    "no_extra_n_modes",
    "perforated_backpropagation",
};

static const char *const switch_mode_names[] = {
    [DN_TRACKER_SWITCH_EVERY_EPOCH] = "every_epoch",
    [DN_TRACKER_SWITCH_HISTORY] = "history",
    [DN_TRACKER_SWITCH_FIXED] = "fixed",
    [DN_TRACKER_SWITCH_NEVER] = "never",
};
static const char *const switch_mode_ref_names[] = {
    [DN_TRACKER_SWITCH_EVERY_EPOCH] = "DOING_SWITCH_EVERY_TIME",
    [DN_TRACKER_SWITCH_HISTORY] = "DOING_HISTORY",
    [DN_TRACKER_SWITCH_FIXED] = "DOING_FIXED_SWITCH",
    [DN_TRACKER_SWITCH_NEVER] = "DOING_NO_SWITCH",
};
static const char *const param_vals_names[] = {
    [DN_TRACKER_PARAM_VALS_BY_TOTAL_EPOCH] = "by_total_epoch",
    [DN_TRACKER_PARAM_VALS_BY_UPDATE_EPOCH] = "by_update_epoch",
    [DN_TRACKER_PARAM_VALS_BY_NEURON_EPOCH_START] = "by_neuron_epoch_start",
};

const char *dn_tracker_switch_mode_name (DnTrackerSwitchMode mode)
{
    if ((int) mode < 0 || (int) mode >= (int) G_N_ELEMENTS (switch_mode_names))
        return "unknown";
    return switch_mode_names[mode];
}

/* ---- lists ---- */

void dn_tracker_list_set (DnTrackerList *list, double value)
{
    g_return_if_fail (list != NULL);
    memset (list, 0, sizeof *list);
    list->n = 1;
    list->v[0] = value;
}

gboolean dn_tracker_list_set_values (DnTrackerList *list, const double *values, int n)
{
    g_return_val_if_fail (list != NULL, FALSE);
    if (n < 1 || n > DN_TRACKER_LIST_MAX || values == NULL)
        return FALSE;
    memset (list, 0, sizeof *list);
    list->n = n;
    memcpy (list->v, values, (size_t) n * sizeof (double));
    return TRUE;
}

double dn_tracker_list_at (const DnTrackerList *list, int dendrites)
{
    g_return_val_if_fail (list != NULL && list->n >= 1, 0.0);
    int i = MIN (list->n - 1, MAX (dendrites, 0));
    return list->v[i];
}

void dn_tracker_config_defaults (DnTrackerConfig *cfg)
{
    g_return_if_fail (cfg != NULL);
    memset (cfg, 0, sizeof *cfg);
    cfg->doing_pai = TRUE;
    cfg->maximizing_score = TRUE;
    cfg->num_classes = 1e10;
    cfg->testing_dendrite_capacity = FALSE; /* the issue overrides the reference's true */
    cfg->switch_mode = DN_TRACKER_SWITCH_HISTORY;
    dn_tracker_list_set (&cfg->n_epochs_to_switch, 10);
    dn_tracker_list_set (&cfg->history_lookback, 1);
    dn_tracker_list_set (&cfg->initial_history_after_switches, 0);
    dn_tracker_list_set (&cfg->fixed_switch_num, 250);
    dn_tracker_list_set (&cfg->first_fixed_switch_num, 249);
    const double thr[] = {0.001, 0.0001};
    dn_tracker_list_set_values (&cfg->improvement_threshold, thr, 2);
    dn_tracker_list_set (&cfg->improvement_threshold_raw, 1e-5);
    dn_tracker_list_set (&cfg->max_dendrite_tries, 2);
    dn_tracker_list_set (&cfg->max_dendrites, 100);
    cfg->retain_all_dendrites = FALSE;
    cfg->find_best_lr = TRUE;
    cfg->dont_give_up_unless_learning_rate_lowered = TRUE;
    cfg->reset_best_score_on_switch = FALSE;
    cfg->param_vals_setting = DN_TRACKER_PARAM_VALS_BY_UPDATE_EPOCH;
    cfg->save_old_graph_scores = TRUE;
    cfg->test_saves = TRUE;
}

/* ---- validation ---- */

static gboolean value_ok (const Field *f, double v)
{
    if (!isfinite (v) || v < f->lo || v > f->hi || (f->hi_open && v >= f->hi))
        return FALSE;
    if (f->kind == KIND_LIST_INT && v != floor (v))
        return FALSE;
    if (f->kind == KIND_NUMBER && f->lo == 0 && v <= 0) /* num_classes: > 0 */
        return FALSE;
    return TRUE;
}

gboolean dn_tracker_config_validate (const DnTrackerConfig *cfg, GError **error)
{
    g_return_val_if_fail (cfg != NULL, FALSE);
    for (int i = 0; i < N_FIELDS; i++) {
        const Field *f = &fields[i];
        const char *p = (const char *) cfg + f->offset;
        switch (f->kind) {
        case KIND_BOOL:
            break;
        case KIND_NUMBER:
            if (!value_ok (f, *(const double *) p)) {
                g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                             "dendrites \"%s\" must be %s, got %g", f->name, f->rule,
                             *(const double *) p);
                return FALSE;
            }
            break;
        case KIND_LIST_INT:
        case KIND_LIST_REAL: {
            const DnTrackerList *l = (const DnTrackerList *) p;
            if (l->n < 1 || l->n > DN_TRACKER_LIST_MAX) {
                g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                             "dendrites \"%s\" must have 1 to %d values (one per dendrite count), "
                             "got %d",
                             f->name, DN_TRACKER_LIST_MAX, l->n);
                return FALSE;
            }
            for (int j = 0; j < l->n; j++) {
                if (!value_ok (f, l->v[j])) {
                    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                                 "dendrites \"%s\"[%d] must be %s, got %g", f->name, j, f->rule,
                                 l->v[j]);
                    return FALSE;
                }
            }
            break;
        }
        case KIND_SWITCH_MODE: {
            int m = *(const int *) p;
            if (m < 0 || m > DN_TRACKER_SWITCH_NEVER) {
                g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                             "dendrites \"%s\" must be %s, got %d", f->name, f->rule, m);
                return FALSE;
            }
            break;
        }
        case KIND_PARAM_VALS: {
            int m = *(const int *) p;
            if (m < 0 || m > DN_TRACKER_PARAM_VALS_BY_NEURON_EPOCH_START) {
                g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                             "dendrites \"%s\" must be %s, got %d", f->name, f->rule, m);
                return FALSE;
            }
            break;
        }
        }
    }
    return TRUE;
}

/* ---- JSON in ---- */


static gboolean node_number (JsonNode *node, double *out)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
        return FALSE;
    GType t = json_node_get_value_type (node);
    if (t != G_TYPE_INT64 && t != G_TYPE_DOUBLE)
        return FALSE;
    *out = json_node_get_double (node);
    return TRUE;
}

static const char *node_string (JsonNode *node)
{
    if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
        json_node_get_value_type (node) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string (node);
}

static gboolean bad_value (GError **error, const Field *f, JsonNode *node, const char *extra_rule)
{
    g_autofree char *got = dn_json_describe (node);
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "dendrites \"%s\" must be %s%s, got %s", f->name,
                 f->rule, extra_rule, got);
    return FALSE;
}

/* An enum given as one of our names, one of the reference's names (any case)
 * or the reference's integer value. */
static gboolean read_enum (const Field *f, JsonNode *node, const char *const *names,
                           const char *const *ref_names, const char *ref_prefix, int n, int *out,
                           GError **error)
{
    const char *s = node_string (node);
    double v;
    for (int i = 0; s != NULL && i < n; i++) {
        gboolean ref = FALSE;
        if (ref_names != NULL)
            ref = g_ascii_strcasecmp (s, ref_names[i]) == 0;
        else if (g_ascii_strncasecmp (s, ref_prefix, strlen (ref_prefix)) == 0)
            ref = g_ascii_strcasecmp (s + strlen (ref_prefix), names[i]) == 0;
        if (g_ascii_strcasecmp (s, names[i]) == 0 || ref) {
            *out = i;
            return TRUE;
        }
    }
    if (s == NULL && node_number (node, &v) && v == floor (v) && v >= 0 && v < n) {
        *out = (int) v;
        return TRUE;
    }
    return bad_value (error, f, node, " (or the reference's name or number)");
}

static gboolean read_list (const Field *f, JsonNode *node, DnTrackerList *out, GError **error)
{
    double v;
    if (node_number (node, &v)) {
        if (!value_ok (f, v))
            return bad_value (error, f, node, ", or a list of them (one per dendrite count)");
        dn_tracker_list_set (out, v);
        return TRUE;
    }
    if (!JSON_NODE_HOLDS_ARRAY (node))
        return bad_value (error, f, node, ", or a list of them (one per dendrite count)");
    JsonArray *a = json_node_get_array (node);
    guint len = json_array_get_length (a);
    if (len < 1 || len > DN_TRACKER_LIST_MAX) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "dendrites \"%s\" must have 1 to %d values (one per dendrite count), got %u",
                     f->name, DN_TRACKER_LIST_MAX, len);
        return FALSE;
    }
    DnTrackerList l = {.n = (int) len};
    for (guint i = 0; i < len; i++) {
        JsonNode *el = json_array_get_element (a, i);
        if (!node_number (el, &l.v[i]) || !value_ok (f, l.v[i])) {
            g_autofree char *got = dn_json_describe (el);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "dendrites \"%s\"[%u] must be %s, got %s", f->name, i, f->rule, got);
            return FALSE;
        }
    }
    *out = l;
    return TRUE;
}

static gboolean read_field (const Field *f, JsonNode *node, DnTrackerConfig *cfg, GError **error)
{
    char *p = (char *) cfg + f->offset;
    double v;
    int e;
    switch (f->kind) {
    case KIND_BOOL:
        if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
            return bad_value (error, f, node, "");
        *(gboolean *) p = json_node_get_boolean (node);
        return TRUE;
    case KIND_NUMBER:
        if (!node_number (node, &v) || !value_ok (f, v))
            return bad_value (error, f, node, "");
        *(double *) p = v;
        return TRUE;
    case KIND_LIST_INT:
    case KIND_LIST_REAL:
        return read_list (f, node, (DnTrackerList *) p, error);
    case KIND_SWITCH_MODE:
        if (!read_enum (f, node, switch_mode_names, switch_mode_ref_names, NULL,
                        G_N_ELEMENTS (switch_mode_names), &e, error))
            return FALSE;
        *(DnTrackerSwitchMode *) p = (DnTrackerSwitchMode) e;
        return TRUE;
    case KIND_PARAM_VALS:
        if (!read_enum (f, node, param_vals_names, NULL, "PARAM_VALS_",
                        G_N_ELEMENTS (param_vals_names), &e, error))
            return FALSE;
        *(DnTrackerParamVals *) p = (DnTrackerParamVals) e;
        return TRUE;
    }
    return FALSE;
}

static const Field *find_field (const char *name)
{
    for (int i = 0; i < N_FIELDS; i++) {
        if (g_str_equal (name, fields[i].name))
            return &fields[i];
    }
    return NULL;
}

gboolean dn_tracker_config_owns_key (const char *key)
{
    return key != NULL && find_field (key) != NULL;
}

static gboolean is_foreign (const char *key)
{
    for (guint i = 0; i < G_N_ELEMENTS (foreign_keys); i++) {
        if (g_str_equal (key, foreign_keys[i]))
            return TRUE;
    }
    return FALSE;
}

/* Levenshtein distance, for "did you mean". Keys are short. */
static int edit_distance (const char *a, const char *b)
{
    int la = (int) strlen (a), lb = (int) strlen (b);
    if (la > 80 || lb > 80)
        return 1000;
    int prev[81], cur[81];
    for (int j = 0; j <= lb; j++)
        prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            cur[j] = MIN (sub, MIN (prev[j] + 1, cur[j - 1] + 1));
        }
        memcpy (prev, cur, sizeof (int) * (size_t) (lb + 1));
    }
    return prev[lb];
}

static void unknown_key (const char *key, GError **error)
{
    g_autofree char *q = dn_quote (key);
    const char *best = NULL;
    int best_d = 1000;
    for (int i = 0; i < N_FIELDS; i++) {
        int d = edit_distance (key, fields[i].name);
        if (d < best_d) {
            best_d = d;
            best = fields[i].name;
        }
    }
    if (best != NULL && best_d <= MAX (2, (int) strlen (key) / 5)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "dendrites field %s is unknown; did you mean \"%s\"?", q, best);
        return;
    }
    GString *known = g_string_new (NULL);
    for (int i = 0; i < N_FIELDS; i++)
        g_string_append_printf (known, "%s%s", i ? ", " : "", fields[i].name);
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                 "dendrites field %s is unknown; the tracker reads: %s", q, known->str);
    g_string_free (known, TRUE);
}

gboolean dn_tracker_config_from_json (JsonObject *obj, DnTrackerConfig *cfg, GError **error)
{
    g_return_val_if_fail (cfg != NULL, FALSE);
    g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    if (obj != NULL) {
        g_autoptr (GList) members = json_object_get_members (obj);
        for (GList *l = members; l != NULL; l = l->next) {
            const char *name = l->data;
            const Field *f = find_field (name);
            if (f == NULL) {
                if (is_foreign (name))
                    continue;
                unknown_key (name, error);
                return FALSE;
            }
            if (!read_field (f, json_object_get_member (obj, name), &c, error))
                return FALSE;
        }
    }
    *cfg = c;
    return TRUE;
}

/* ---- JSON out ---- */

void dn_tracker_list_to_json (const DnTrackerList *list, gboolean integral, JsonBuilder *b)
{
    if (list->n > 1)
        json_builder_begin_array (b);
    for (int i = 0; i < MAX (list->n, 1); i++) {
        if (integral)
            json_builder_add_int_value (b, (gint64) list->v[i]);
        else
            json_builder_add_double_value (b, list->v[i]);
    }
    if (list->n > 1)
        json_builder_end_array (b);
}

void dn_tracker_config_add_members (const DnTrackerConfig *cfg, JsonBuilder *b)
{
    g_return_if_fail (cfg != NULL && b != NULL);
    for (int i = 0; i < N_FIELDS; i++) {
        const Field *f = &fields[i];
        const char *p = (const char *) cfg + f->offset;
        json_builder_set_member_name (b, f->name);
        switch (f->kind) {
        case KIND_BOOL:
            json_builder_add_boolean_value (b, *(const gboolean *) p);
            break;
        case KIND_NUMBER:
            json_builder_add_double_value (b, *(const double *) p);
            break;
        case KIND_LIST_INT:
        case KIND_LIST_REAL:
            dn_tracker_list_to_json ((const DnTrackerList *) p, f->kind == KIND_LIST_INT, b);
            break;
        case KIND_SWITCH_MODE:
            json_builder_add_string_value (
                b, dn_tracker_switch_mode_name (*(const DnTrackerSwitchMode *) p));
            break;
        case KIND_PARAM_VALS: {
            int m = *(const int *) p;
            json_builder_add_string_value (b, m >= 0 && m < (int) G_N_ELEMENTS (param_vals_names)
                                                  ? param_vals_names[m]
                                                  : "by_update_epoch");
            break;
        }
        }
    }
}

void dn_tracker_config_to_json (const DnTrackerConfig *cfg, JsonBuilder *b)
{
    g_return_if_fail (cfg != NULL && b != NULL);
    json_builder_begin_object (b);
    dn_tracker_config_add_members (cfg, b);
    json_builder_end_object (b);
}
