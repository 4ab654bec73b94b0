/* dn-tracker-config.c: the tracker's settings (spec perforated-dendrites.md §8):
 * defaults, range checks, the list rule, and the "dendrites" JSON object.
 *
 * Every setting is described once in `fields`: its JSON name, its kind, where
 * it lives in DnTrackerConfig and its allowed range. Reading, writing and
 * validating all walk that table, so a setting cannot be read but forgotten
 * when written.
 */
#include "dn-tracker-private.h"

#include "dn-config-reader.h"
#include "dn-error.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

typedef enum {
    KIND_BOOL,
    KIND_NUMBER,    /* one number */
    KIND_INT,       /* one whole number (an int) */
    KIND_LIST_INT,  /* whole numbers, a number or a list (the list rule) */
    KIND_LIST_REAL, /* numbers, a number or a list */
    KIND_SWITCH_MODE,
    KIND_PARAM_VALS,
} FieldKind;

typedef struct {
    const char *name;
    FieldKind kind;
    size_t offset;
    DnRange range; /* numbers: the values allowed */
} Field;

#define OFF(member) offsetof (DnTrackerConfig, member)
#define WHOLE_FROM(lo)                                                                             \
    {                                                                                              \
        .min = (lo), .max = INT_MAX, .whole = TRUE                                                 \
    }

/* In the order of the reference's setting groups (spec §8, user-expectations §5.3). */
static const Field fields[] = {
    {"doing_pai", KIND_BOOL, OFF (doing_pai)},
    {"testing_dendrite_capacity", KIND_BOOL, OFF (testing_dendrite_capacity)},
    {"maximizing_score", KIND_BOOL, OFF (maximizing_score)},
    {"num_classes", KIND_NUMBER, OFF (num_classes), {0, HUGE_VAL, .min_open = TRUE}},
    {"switch_mode", KIND_SWITCH_MODE, OFF (switch_mode)},
    {"n_epochs_to_switch", KIND_LIST_INT, OFF (n_epochs_to_switch), WHOLE_FROM (1)},
    {"history_lookback", KIND_LIST_INT, OFF (history_lookback), WHOLE_FROM (1)},
    {"initial_history_after_switches", KIND_LIST_INT, OFF (initial_history_after_switches),
     WHOLE_FROM (0)},
    {"fixed_switch_num", KIND_LIST_INT, OFF (fixed_switch_num), WHOLE_FROM (1)},
    {"first_fixed_switch_num", KIND_LIST_INT, OFF (first_fixed_switch_num), WHOLE_FROM (-1)},
    {"improvement_threshold",
     KIND_LIST_REAL,
     OFF (improvement_threshold),
     {0, 1, .max_open = TRUE}},
    {"improvement_threshold_raw", KIND_LIST_REAL, OFF (improvement_threshold_raw), {0, HUGE_VAL}},
    {"max_dendrite_tries", KIND_LIST_INT, OFF (max_dendrite_tries), WHOLE_FROM (0)},
    {"max_dendrites", KIND_LIST_INT, OFF (max_dendrites), WHOLE_FROM (0)},
    {"retain_all_dendrites", KIND_BOOL, OFF (retain_all_dendrites)},
    {"find_best_lr", KIND_BOOL, OFF (find_best_lr)},
    {"dont_give_up_unless_learning_rate_lowered", KIND_BOOL,
     OFF (dont_give_up_unless_learning_rate_lowered)},
    {"reset_best_score_on_switch", KIND_BOOL, OFF (reset_best_score_on_switch)},
    {"param_vals_setting", KIND_PARAM_VALS, OFF (param_vals_setting)},
    {"save_old_graph_scores", KIND_BOOL, OFF (save_old_graph_scores)},
    {"test_saves", KIND_BOOL, OFF (test_saves)},
    {"perforated_backpropagation", KIND_BOOL, OFF (perforated_backpropagation)},
    {"p_epochs_to_switch", KIND_INT, OFF (p_epochs_to_switch), WHOLE_FROM (1)},
    {"pai_improvement_threshold", KIND_NUMBER, OFF (pai_improvement_threshold), {0, HUGE_VAL}},
    {"pai_improvement_threshold_raw",
     KIND_NUMBER,
     OFF (pai_improvement_threshold_raw),
     {0, HUGE_VAL}},
    {"cap_at_n", KIND_BOOL, OFF (cap_at_n)},
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
    NULL,
};

static const char *const switch_mode_names[] = {
    [DN_TRACKER_SWITCH_EVERY_EPOCH] = "every_epoch",
    [DN_TRACKER_SWITCH_HISTORY] = "history",
    [DN_TRACKER_SWITCH_FIXED] = "fixed",
    [DN_TRACKER_SWITCH_NEVER] = "never",
    NULL,
};
static const char *const switch_mode_ref_names[] = {
    [DN_TRACKER_SWITCH_EVERY_EPOCH] = "DOING_SWITCH_EVERY_TIME",
    [DN_TRACKER_SWITCH_HISTORY] = "DOING_HISTORY",
    [DN_TRACKER_SWITCH_FIXED] = "DOING_FIXED_SWITCH",
    [DN_TRACKER_SWITCH_NEVER] = "DOING_NO_SWITCH",
    NULL,
};
static const char *const param_vals_names[] = {
    [DN_TRACKER_PARAM_VALS_BY_TOTAL_EPOCH] = "by_total_epoch",
    [DN_TRACKER_PARAM_VALS_BY_UPDATE_EPOCH] = "by_update_epoch",
    [DN_TRACKER_PARAM_VALS_BY_NEURON_EPOCH_START] = "by_neuron_epoch_start",
    NULL,
};
static const char *const param_vals_ref_names[] = {
    [DN_TRACKER_PARAM_VALS_BY_TOTAL_EPOCH] = "PARAM_VALS_BY_TOTAL_EPOCH",
    [DN_TRACKER_PARAM_VALS_BY_UPDATE_EPOCH] = "PARAM_VALS_BY_UPDATE_EPOCH",
    [DN_TRACKER_PARAM_VALS_BY_NEURON_EPOCH_START] = "PARAM_VALS_BY_NEURON_EPOCH_START",
    NULL,
};

const char *dn_tracker_switch_mode_name (DnTrackerSwitchMode mode)
{
    if ((int) mode < 0 || (int) mode > DN_TRACKER_SWITCH_NEVER)
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
    dn_tracker_list_set (&cfg->first_fixed_switch_num, -1);
    const double thr[] = {0.001, 0.0001, 0.0};
    dn_tracker_list_set_values (&cfg->improvement_threshold, thr, 3);
    dn_tracker_list_set (&cfg->improvement_threshold_raw, 1e-5);
    dn_tracker_list_set (&cfg->max_dendrite_tries, 2);
    dn_tracker_list_set (&cfg->max_dendrites, 100);
    cfg->retain_all_dendrites = FALSE;
    cfg->find_best_lr = TRUE;
    cfg->dont_give_up_unless_learning_rate_lowered = TRUE;
    cfg->reset_best_score_on_switch = TRUE;
    cfg->param_vals_setting = DN_TRACKER_PARAM_VALS_BY_UPDATE_EPOCH;
    cfg->save_old_graph_scores = TRUE;
    cfg->test_saves = TRUE;
    cfg->perforated_backpropagation = FALSE;
    cfg->p_epochs_to_switch = 2;
    cfg->pai_improvement_threshold = 0.1;
    cfg->pai_improvement_threshold_raw = 1e-4;
    cfg->cap_at_n = FALSE;
}

/* ---- validation ---- */

static gboolean bad_number (GError **error, const Field *f, int index, double v)
{
    g_autofree char *rule = dn_range_describe (&f->range);
    g_autofree char *at = index >= 0 ? g_strdup_printf ("[%d]", index) : g_strdup ("");
    g_set_error (error, DN_ERROR, DN_ERROR_CONFIG, "dendrites \"%s\"%s must be %s, got %g", f->name,
                 at, rule, v);
    return FALSE;
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
            if (!dn_range_contains (&f->range, *(const double *) p))
                return bad_number (error, f, -1, *(const double *) p);
            break;
        case KIND_INT:
            if (!dn_range_contains (&f->range, *(const int *) p))
                return bad_number (error, f, -1, *(const int *) p);
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
                if (!dn_range_contains (&f->range, l->v[j]))
                    return bad_number (error, f, j, l->v[j]);
            }
            break;
        }
        case KIND_SWITCH_MODE:
        case KIND_PARAM_VALS: {
            int m = *(const int *) p;
            int last = f->kind == KIND_SWITCH_MODE ? DN_TRACKER_SWITCH_NEVER
                                                   : DN_TRACKER_PARAM_VALS_BY_NEURON_EPOCH_START;
            if (m < 0 || m > last) {
                g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                             "dendrites \"%s\" must be one of its values, 0 to %d, got %d", f->name,
                             last, m);
                return FALSE;
            }
            break;
        }
        }
    }
    return TRUE;
}

/* ---- JSON in ---- */

/* An enum given as one of our names or the reference's (any case), or as the
 * reference's integer value. */
static gboolean read_enum (DnFieldReader *r, const Field *f, const char *const *names,
                           const char *const *ref_names, int *out)
{
    JsonNode *n = dn_fields_member (r, f->name);
    if (n != NULL && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) != G_TYPE_STRING)
        return dn_fields_int (r, f->name, 0, (int) g_strv_length ((char **) names) - 1, out);
    return dn_fields_enum (r, f->name, names, ref_names, out);
}

static gboolean read_field (DnFieldReader *r, const Field *f, DnTrackerConfig *cfg)
{
    char *p = (char *) cfg + f->offset;
    switch (f->kind) {
    case KIND_BOOL:
        return dn_fields_bool (r, f->name, (gboolean *) p);
    case KIND_NUMBER:
        return dn_fields_number_in (r, f->name, &f->range, (double *) p);
    case KIND_INT:
        return dn_fields_int (r, f->name, (int) f->range.min, (int) f->range.max, (int *) p);
    case KIND_LIST_INT:
    case KIND_LIST_REAL: {
        /* the list rule: a number, or one per dendrite count */
        DnTrackerList l = {0};
        if (!dn_fields_number_list (r, f->name, &f->range, 1, DN_TRACKER_LIST_MAX, TRUE, l.v, &l.n))
            return FALSE;
        if (l.n > 0)
            *(DnTrackerList *) p = l;
        return TRUE;
    }
    case KIND_SWITCH_MODE:
        return read_enum (r, f, switch_mode_names, switch_mode_ref_names, (int *) p);
    case KIND_PARAM_VALS:
        return read_enum (r, f, param_vals_names, param_vals_ref_names, (int *) p);
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

gboolean dn_tracker_config_from_json (JsonObject *obj, DnTrackerConfig *cfg, GError **error)
{
    g_return_val_if_fail (cfg != NULL, FALSE);
    g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    g_auto (DnFieldReader) r = dn_fields_reader (obj, NULL, "dendrites", 0, error);
    r.ignored = foreign_keys;
    const char *known[N_FIELDS + 1];
    for (int i = 0; i < N_FIELDS; i++)
        known[i] = fields[i].name;
    known[N_FIELDS] = NULL;
    if (!dn_fields_check_keys (&r, known))
        return FALSE;
    for (int i = 0; i < N_FIELDS; i++) {
        if (!read_field (&r, &fields[i], &c))
            return FALSE;
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
        case KIND_INT:
            json_builder_add_int_value (b, *(const int *) p);
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
            json_builder_add_string_value (
                b, m >= 0 && m <= DN_TRACKER_PARAM_VALS_BY_NEURON_EPOCH_START ? param_vals_names[m]
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
