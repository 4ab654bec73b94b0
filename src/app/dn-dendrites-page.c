/* dn-dendrites-page.c: the dendrite settings, from one table, and the capacity test. */
#include "dn-dendrites-page.h"

#include "dn-application.h"
#include "dn-selection-editor.h"
#include "dn-trainer.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stddef.h>

typedef enum {
    KIND_BOOL,        /* gboolean in DnTrackerConfig */
    KIND_INT_LIST,    /* DnTrackerList of whole numbers: an entry, "10" or "10, 5, 3" */
    KIND_DOUBLE_LIST, /* DnTrackerList of numbers: an entry, "0.001, 0.0001" */
    KIND_DOUBLE,      /* double in DnTrackerConfig */
    KIND_SWITCH_MODE,
    KIND_PARAM_VALS,
    KIND_FORWARD,   /* DnDendriteSelection.forward_function */
    KIND_INIT_MULT, /* DnDendriteSelection.init_multiplier */
    KIND_INT,       /* int, a spin button */
    KIND_TRAINING,  /* gboolean perforated_backpropagation as a choice of two */
} SettingKind;

typedef enum {
    IN_TRACKER, /* offset into DnTrackerConfig */
    IN_PB,      /* offset into DnPbSettings (the experiment's selection.pb) */
} SettingPlace;

typedef struct {
    const char *group;
    const char *key; /* the JSON name */
    const char *title;
    const char *help;
    SettingKind kind;
    size_t offset; /* into DnTrackerConfig, or DnPbSettings for IN_PB */
    double min, max;
    int digits;
    gboolean impactful; /* Perforated AI's "Impactful" label */
    SettingPlace place;
    gboolean basic;   /* shown without Advanced Settings, though not labelled impactful */
    gboolean pb_only; /* shown only with correlation-trained dendrites */
} SettingSpec;

#define OFF(f) offsetof (DnTrackerConfig, f)
#define PB_OFF(f) offsetof (DnPbSettings, f)

static const char *const groups[][2] = {
    {N_ ("How Dendrites Learn"), NULL}, /* the description: the chosen way's explanation */
    {N_ ("Switching"), N_ ("When a new dendrite set is added")},
    {N_ ("Improvement Thresholds"), N_ ("What counts as a better score")},
    {N_ ("Dendrite Shape and Initialisation"), N_ ("How new dendrites compute and start")},
    {N_ ("Limits and Retries"), N_ ("How far the network may grow")},
    {N_ ("Learning-Rate Sweep"), N_ ("The starting rate of each new dendrite set")},
    {N_ ("Files"), N_ ("What the run folder keeps")},
};

static const SettingSpec specs[] = {
    {groups[0][0], "perforated_backpropagation", N_ ("Dendrite Training"), NULL, KIND_TRAINING,
     OFF (perforated_backpropagation), 0, 0, 0, FALSE, IN_TRACKER, TRUE, FALSE},
    {groups[0][0], "p_epochs_to_switch", N_ ("Phase Patience"),
     N_ ("Epochs without a better candidate before the dendrite phase ends and the best "
         "candidates are installed (default 2)"),
     KIND_INT, OFF (p_epochs_to_switch), 1, 100000, 0, FALSE, IN_TRACKER, TRUE, TRUE},
    {groups[0][0], "pai_improvement_threshold", N_ ("Candidate Improvement"),
     N_ ("A candidate’s correlation counts as better when it beats its best so far by this "
         "fraction (default 0.1: 10 %)"),
     KIND_DOUBLE, OFF (pai_improvement_threshold), 0, 1000, 4, FALSE, IN_TRACKER, TRUE, TRUE},
    {groups[0][0], "initial_correlation_batches", N_ ("Warm-Up Batches"),
     N_ ("Batches that settle the running averages of outputs and errors before the "
         "candidates start learning (default 100)"),
     KIND_INT, PB_OFF (initial_correlation_batches), 0, 1000000, 0, FALSE, IN_PB, TRUE, TRUE},
    {groups[0][0], "pai_improvement_threshold_raw", N_ ("Absolute Candidate Improvement"),
     N_ ("… and by at least this much correlation (default 0.0001)"), KIND_DOUBLE,
     OFF (pai_improvement_threshold_raw), 0, 1000, 6, FALSE, IN_TRACKER, FALSE, TRUE},
    {groups[0][0], "cap_at_n", N_ ("Cap the Phase Length"),
     N_ ("End a dendrite phase after as many epochs as the neuron phase before it trained "
         "(default off)"),
     KIND_BOOL, OFF (cap_at_n), 0, 0, 0, FALSE, IN_TRACKER, FALSE, TRUE},
    {groups[0][0], "learn_dendrites_live", N_ ("Installed Dendrites Keep Learning"),
     N_ ("On: installed dendrites go on learning with the neurons. Off: they stay as their "
         "phase left them (default off)"),
     KIND_BOOL, PB_OFF (learn_dendrites_live), 0, 0, 0, FALSE, IN_PB, FALSE, TRUE},
    {groups[0][0], "normalized_covariance", N_ ("Normalised Correlation"),
     N_ ("Score candidates by Pearson correlation rather than raw covariance, so channels of "
         "different scale compare fairly (default on)"),
     KIND_BOOL, PB_OFF (normalized_covariance), 0, 0, 0, FALSE, IN_PB, FALSE, TRUE},
    {groups[0][0], "correlations_by_mean", N_ ("Average Over Positions"),
     N_ ("A convolution channel’s score is the mean over its positions, not their sum "
         "(default on)"),
     KIND_BOOL, PB_OFF (correlations_by_mean), 0, 0, 0, FALSE, IN_PB, FALSE, TRUE},
    {groups[0][0], "candidate_grad_clipping", N_ ("Candidate Gradient Limit"),
     N_ ("Each candidate gradient is clipped to plus or minus this value; 0: no clipping "
         "(default 0)"),
     KIND_DOUBLE, PB_OFF (candidate_grad_clipping), 0, 1000000, 4, FALSE, IN_PB, FALSE, TRUE},

    {groups[1][0], "switch_mode", N_ ("Switch Mode"),
     N_ ("History: after the patience runs out. Every epoch, a fixed period, or never (stop by "
         "hand or by the epoch limit)"),
     KIND_SWITCH_MODE, 0, 0, 0, 0, TRUE},
    {groups[1][0], "n_epochs_to_switch", N_ ("Patience"),
     N_ ("Epochs without a new best before a dendrite set is added (default 10); keep it above a "
         "plateau scheduler’s patience"),
     KIND_INT_LIST, OFF (n_epochs_to_switch), 1, 100000, 0, TRUE},
    {groups[1][0], "history_lookback", N_ ("Score Smoothing"),
     N_ ("The validation score is averaged with factor 1/L before it is compared (default 1: "
         "no smoothing)"),
     KIND_INT_LIST, OFF (history_lookback), 1, 1000, 0, FALSE},
    {groups[1][0], "initial_history_after_switches", N_ ("Grace Epochs After a Switch"),
     N_ ("Epochs after each switch before patience starts counting (default 0)"), KIND_INT_LIST,
     OFF (initial_history_after_switches), 0, 100000, 0, FALSE},
    {groups[1][0], "fixed_switch_num", N_ ("Fixed Period"),
     N_ ("Fixed mode: switch every this many epochs (default 250)"), KIND_INT_LIST,
     OFF (fixed_switch_num), 1, 1000000, 0, FALSE},
    {groups[1][0], "first_fixed_switch_num", N_ ("First Fixed Switch"),
     N_ ("Fixed mode: no switch before this epoch; -1: none (default -1)"), KIND_INT_LIST,
     OFF (first_fixed_switch_num), -1, 1000000, 0, FALSE},
    {groups[1][0], "reset_best_score_on_switch", N_ ("Reset Best Score on Switch"),
     N_ ("Forget the best running score at each switch (default on)"), KIND_BOOL,
     OFF (reset_best_score_on_switch), 0, 0, 0, FALSE},

    {groups[2][0], "maximizing_score", N_ ("Higher Is Better"),
     N_ ("On for accuracies (the default); off when the score is a loss"), KIND_BOOL,
     OFF (maximizing_score), 0, 0, 0, FALSE},
    {groups[2][0], "improvement_threshold", N_ ("Relative Improvement"),
     N_ ("A new best must beat the old one by this fraction (default 0.001, then 0.0001 with "
         "one dendrite set, 0 with more)"),
     KIND_DOUBLE_LIST, OFF (improvement_threshold), 0, 0.9999, 5, TRUE},
    {groups[2][0], "improvement_threshold_raw", N_ ("Absolute Improvement"),
     N_ ("… and by at least this much in score units (default 0.00001)"), KIND_DOUBLE_LIST,
     OFF (improvement_threshold_raw), 0, 1000, 5, FALSE},
    {groups[2][0], "num_classes", N_ ("Classes for the Starting Score"),
     N_ ("The running score starts at 100 / classes (default 10000000000: at zero)"), KIND_DOUBLE,
     OFF (num_classes), 1e-9, 1e12, 0, FALSE},

    {groups[3][0], "forward_function", N_ ("Dendrite Function"),
     N_ ("Applied to each dendrite’s output before it reaches the neuron (default sigmoid)"),
     KIND_FORWARD, 0, 0, 0, 0, TRUE},
    {groups[3][0], "init_multiplier", N_ ("Initial Weight Scale"),
     N_ ("New dendrite weights are drawn from N(0, 1) times this (default 0.01; try 0.1)"),
     KIND_INIT_MULT, 0, 0, 1000, 4, TRUE},

    {groups[4][0], "max_dendrites", N_ ("Most Dendrite Sets"),
     N_ ("Training ends when this many sets were added and kept (default 100)"), KIND_INT_LIST,
     OFF (max_dendrites), 0, 1000, 0, TRUE},
    {groups[4][0], "max_dendrite_tries", N_ ("Attempts per Set"),
     N_ ("Attempts with fresh dendrites when a new set does not improve the score; 2 allows "
         "one retry (default 2)"),
     KIND_INT_LIST, OFF (max_dendrite_tries), 0, 1000, 0, TRUE},
    {groups[4][0], "retain_all_dendrites", N_ ("Keep Every Set"),
     N_ ("Keep a new set even when it does not help (default off)"), KIND_BOOL,
     OFF (retain_all_dendrites), 0, 0, 0, FALSE},
    {groups[4][0], "doing_pai", N_ ("Add Dendrites When Stuck"),
     N_ ("Off: the tracker only stops early, restoring the best epoch (default on)"), KIND_BOOL,
     OFF (doing_pai), 0, 0, 0, FALSE},
    {groups[4][0], "testing_dendrite_capacity", N_ ("Capacity Test Run"),
     N_ ("Makes the whole run a dry run that adds a set every epoch; off for real runs (the test "
         "above runs it separately)"),
     KIND_BOOL, OFF (testing_dendrite_capacity), 0, 0, 0, FALSE},

    {groups[5][0], "find_best_lr", N_ ("Sweep the Starting Rate"),
     N_ ("Try lower starting rates for each new set and keep the best (needs a scheduler; "
         "default on)"),
     KIND_BOOL, OFF (find_best_lr), 0, 0, 0, FALSE},
    {groups[5][0], "dont_give_up_unless_learning_rate_lowered", N_ ("Wait for the Sweep"),
     N_ ("No switch while the sweep is undecided (default on)"), KIND_BOOL,
     OFF (dont_give_up_unless_learning_rate_lowered), 0, 0, 0, FALSE},
    {groups[5][0], "param_vals_setting", N_ ("Scheduler Replay"),
     N_ ("How a rebuilt scheduler counts the epochs it catches up on (default: by update epoch)"),
     KIND_PARAM_VALS, 0, 0, 0, 0, FALSE},

    {groups[6][0], "save_old_graph_scores", N_ ("Keep Rolled-Back Scores"),
     N_ ("Draw every rolled-back history faintly, not only the latest (default on)"), KIND_BOOL,
     OFF (save_old_graph_scores), 0, 0, 0, FALSE},
    {groups[6][0], "test_saves", N_ ("Extra Checkpoints"),
     N_ ("Write latest, beforeSwitch_N and sweep checkpoints (default on; latest is needed to "
         "resume)"),
     KIND_BOOL, OFF (test_saves), 0, 0, 0, FALSE},
};

struct _DnDendritesPage {
    AdwBin parent_instance;
    AdwPreferencesPage *prefs_page;
    AdwActionRow *dendrites_row;
    GtkSwitch *dendrites_switch;
    AdwActionRow *capacity_row;
    GtkButton *capacity_button;

    DnDocument *document;
    GtkWidget *editors[G_N_ELEMENTS (specs)];
    GtkWidget *rows[G_N_ELEMENTS (specs)];
    AdwPreferencesGroup *group_widgets[G_N_ELEMENTS (groups)];
    GtkSwitch *advanced_switch;
    DnSelectionEditor *selection; /* perforate_types and groups */
    gboolean updating;
    DnTrainer *capacity;
    char *capacity_dir;
};

G_DEFINE_FINAL_TYPE (DnDendritesPage, dn_dendrites_page, ADW_TYPE_BIN)

static DnExperiment *experiment (DnDendritesPage *self)
{
    return self->document != NULL ? dn_document_get_experiment (self->document) : NULL;
}

static void *field (DnExperiment *exp, const SettingSpec *spec)
{
    if (spec->place == IN_PB)
        return (char *) &exp->selection.pb + spec->offset;
    return (char *) &exp->tracker + spec->offset;
}

static const char *const switch_modes[] = {N_ ("Every epoch"), N_ ("History (patience)"),
                                           N_ ("Fixed period"), N_ ("Never"), NULL};
static const char *const param_vals[] = {N_ ("By total epoch"), N_ ("By update epoch"),
                                         N_ ("By neuron epoch start"), NULL};
/* the choice of perforated_backpropagation: FALSE, TRUE */
static const char *const trainings[] = {N_ ("Gradient descent"),
                                        N_ ("Correlation (Perforated Backpropagation)"), NULL};
static const char *const training_help[] = {
    N_ ("New dendrites learn together with the neurons, from the same loss"),
    N_ ("The neurons pause while candidate dendrites learn to follow the error each neuron "
        "still makes; the best are installed and the neurons train again"),
};
static const DnAct forward_acts[] = {DN_ACT_SIGMOID, DN_ACT_TANH, DN_ACT_RELU};
static const char *const forward_names[] = {"sigmoid", "tanh", "relu", NULL};

/* ---- list settings: one value, or one per dendrite count ---- */

static gboolean is_list (const SettingSpec *spec)
{
    return spec->kind == KIND_INT_LIST || spec->kind == KIND_DOUBLE_LIST;
}

/* "0.001, 0.0001": numbers as the experiment file writes them, never with a
 * locale's decimal comma (the comma separates values). */
static char *list_text (const DnTrackerList *list)
{
    GString *s = g_string_new (NULL);
    for (int k = 0; k < MAX (list->n, 1); k++) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append_printf (s, "%s%s", k > 0 ? ", " : "",
                                g_ascii_formatd (buf, sizeof buf, "%.10g", list->v[k]));
    }
    return g_string_free (s, FALSE);
}

static char *range_text (double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.10g", v));
}

/* Reads "10", "0.001, 0.0001" or "3 2 1" (commas, semicolons or spaces between
 * values): one to DN_TRACKER_LIST_MAX numbers, each in the setting's range and
 * whole where the setting counts. FALSE + a message a person can act on. */
static gboolean parse_list (const SettingSpec *spec, const char *text, DnTrackerList *out,
                            char **message)
{
    g_auto (GStrv) parts = g_strsplit_set (text, ",; \t", -1);
    DnTrackerList list = {0};
    for (int k = 0; parts[k] != NULL; k++) {
        const char *p = parts[k];
        if (*p == '\0')
            continue;
        if (list.n == DN_TRACKER_LIST_MAX) {
            *message = g_strdup_printf (_ ("At most %d values: one per dendrite count"),
                                        DN_TRACKER_LIST_MAX);
            return FALSE;
        }
        char *end = NULL;
        double v = g_ascii_strtod (p, &end);
        if (end == p || *end != '\0' || !isfinite (v)) {
            *message = g_strdup_printf (_ ("“%s” is not a number: write decimals with a point "
                                           "(0.001) and separate values with commas"),
                                        p);
            return FALSE;
        }
        if (spec->kind == KIND_INT_LIST && v != round (v)) {
            *message = g_strdup_printf (_ ("“%s” is not a whole number"), p);
            return FALSE;
        }
        if (v < spec->min || v > spec->max) {
            g_autofree char *lo = range_text (spec->min), *hi = range_text (spec->max);
            *message = g_strdup_printf (_ ("%s is outside the range %s to %s"), p, lo, hi);
            return FALSE;
        }
        list.v[list.n++] = v;
    }
    if (list.n == 0) {
        *message = g_strdup (_ ("Enter at least one value"));
        return FALSE;
    }
    *out = list;
    return TRUE;
}

static gboolean list_equal (const DnTrackerList *a, const DnTrackerList *b)
{
    if (a->n != b->n)
        return FALSE;
    for (int k = 0; k < a->n; k++)
        if (a->v[k] != b->v[k])
            return FALSE;
    return TRUE;
}

static const char *list_hint (void)
{
    return _ ("One value, or one per dendrite count separated by commas: the first applies "
              "before any dendrites are added, the second after the first set, and the last "
              "to every later set");
}

static void set_list_error (GtkWidget *entry, const char *message)
{
    if (message != NULL) {
        gtk_widget_add_css_class (entry, "error");
        gtk_widget_set_tooltip_text (entry, message);
        gtk_accessible_update_state (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_STATE_INVALID,
                                     GTK_ACCESSIBLE_INVALID_TRUE, -1);
    } else {
        gtk_widget_remove_css_class (entry, "error");
        gtk_widget_set_tooltip_text (entry, list_hint ());
        gtk_accessible_reset_state (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_STATE_INVALID);
    }
}

/* Shows the list unless the entry already says the same (the person typing it). */
static void load_list (GtkWidget *entry, const SettingSpec *spec, const DnTrackerList *list)
{
    DnTrackerList shown;
    g_autofree char *message = NULL;
    if (parse_list (spec, gtk_editable_get_text (GTK_EDITABLE (entry)), &shown, &message) &&
        list_equal (&shown, list))
        return;
    g_autofree char *text = list_text (list);
    gtk_editable_set_text (GTK_EDITABLE (entry), text);
    set_list_error (entry, NULL);
}

/* The settings that change a run most are always shown; the rest with Advanced
 * Settings on, the correlation-training ones only when that training is chosen,
 * and a group with none shown is hidden. */
static void update_visibility (DnDendritesPage *self)
{
    gboolean all = gtk_switch_get_active (self->advanced_switch);
    DnExperiment *exp = experiment (self);
    gboolean pb = exp != NULL && exp->tracker.perforated_backpropagation;
    for (guint g = 0; g < G_N_ELEMENTS (groups); g++) {
        gboolean any = FALSE;
        for (guint i = 0; i < G_N_ELEMENTS (specs); i++) {
            if (specs[i].group != groups[g][0] || self->rows[i] == NULL)
                continue;
            gboolean shown =
                (all || specs[i].impactful || specs[i].basic) && (pb || !specs[i].pb_only);
            gtk_widget_set_visible (self->rows[i], shown);
            any |= shown;
        }
        gtk_widget_set_visible (GTK_WIDGET (self->group_widgets[g]), any);
    }
}

static void set_groups_sensitive (DnDendritesPage *self, gboolean on)
{
    gtk_widget_set_sensitive (GTK_WIDGET (self->selection), on);
    for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
        gtk_widget_set_sensitive (GTK_WIDGET (self->group_widgets[g]), on);
}

static void load (DnDendritesPage *self)
{
    DnExperiment *exp = experiment (self);
    if (exp == NULL)
        return;
    self->updating = TRUE;
    gtk_switch_set_active (self->dendrites_switch, exp->dendrites);
    /* a run grows dendrites or trains on permuted tasks (Data page), not both */
    gboolean blocked = exp->continual && !exp->dendrites;
    gtk_widget_set_sensitive (GTK_WIDGET (self->dendrites_row), !blocked);
    gtk_widget_set_sensitive (GTK_WIDGET (self->capacity_row), !exp->continual);
    adw_action_row_set_subtitle (self->dendrites_row,
                                 blocked ? _ ("Not with permuted tasks: turn them off on the Data "
                                              "page to grow dendrites")
                                         : _ ("Off: a baseline run without dendrites, to compare "
                                              "against"));
    for (guint i = 0; i < G_N_ELEMENTS (specs); i++) {
        const SettingSpec *spec = &specs[i];
        GtkWidget *ed = self->editors[i];
        switch (spec->kind) {
        case KIND_BOOL:
            gtk_switch_set_active (GTK_SWITCH (ed), *(gboolean *) field (exp, spec));
            break;
        case KIND_INT_LIST:
        case KIND_DOUBLE_LIST:
            load_list (ed, spec, field (exp, spec));
            break;
        case KIND_DOUBLE:
            gtk_spin_button_set_value (GTK_SPIN_BUTTON (ed), *(double *) field (exp, spec));
            break;
        case KIND_INT:
            gtk_spin_button_set_value (GTK_SPIN_BUTTON (ed), *(int *) field (exp, spec));
            break;
        case KIND_TRAINING: {
            gboolean pb = *(gboolean *) field (exp, spec);
            adw_combo_row_set_selected (ADW_COMBO_ROW (ed), pb ? 1 : 0);
            adw_preferences_group_set_description (self->group_widgets[0],
                                                   _ (training_help[pb ? 1 : 0]));
            break;
        }
        case KIND_SWITCH_MODE:
            adw_combo_row_set_selected (ADW_COMBO_ROW (ed), exp->tracker.switch_mode);
            break;
        case KIND_PARAM_VALS:
            adw_combo_row_set_selected (ADW_COMBO_ROW (ed), exp->tracker.param_vals_setting);
            break;
        case KIND_FORWARD:
            for (guint k = 0; k < G_N_ELEMENTS (forward_acts); k++)
                if (forward_acts[k] == exp->selection.forward_function)
                    adw_combo_row_set_selected (ADW_COMBO_ROW (ed), k);
            break;
        case KIND_INIT_MULT:
            gtk_spin_button_set_value (GTK_SPIN_BUTTON (ed), exp->selection.init_multiplier);
            break;
        }
    }
    set_groups_sensitive (self, exp->dendrites);
    update_visibility (self);
    self->updating = FALSE;
}

static void store (DnDendritesPage *self, guint i)
{
    DnExperiment *exp = experiment (self);
    if (exp == NULL || self->updating)
        return;
    const SettingSpec *spec = &specs[i];
    GtkWidget *ed = self->editors[i];
    switch (spec->kind) {
    case KIND_BOOL:
        *(gboolean *) field (exp, spec) = gtk_switch_get_active (GTK_SWITCH (ed));
        break;
    case KIND_INT_LIST:
    case KIND_DOUBLE_LIST: {
        DnTrackerList list;
        g_autofree char *message = NULL;
        if (!parse_list (spec, gtk_editable_get_text (GTK_EDITABLE (ed)), &list, &message)) {
            set_list_error (ed, message); /* the experiment keeps its last good list */
            return;
        }
        set_list_error (ed, NULL);
        DnTrackerList *dst = field (exp, spec);
        if (list_equal (dst, &list))
            return;
        *dst = list;
        break;
    }
    case KIND_DOUBLE:
        *(double *) field (exp, spec) = gtk_spin_button_get_value (GTK_SPIN_BUTTON (ed));
        break;
    case KIND_INT:
        *(int *) field (exp, spec) = gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (ed));
        break;
    case KIND_TRAINING:
        *(gboolean *) field (exp, spec) = adw_combo_row_get_selected (ADW_COMBO_ROW (ed)) == 1;
        break;
    case KIND_SWITCH_MODE:
        exp->tracker.switch_mode = adw_combo_row_get_selected (ADW_COMBO_ROW (ed));
        break;
    case KIND_PARAM_VALS:
        exp->tracker.param_vals_setting = adw_combo_row_get_selected (ADW_COMBO_ROW (ed));
        break;
    case KIND_FORWARD: {
        guint k = adw_combo_row_get_selected (ADW_COMBO_ROW (ed));
        if (k < G_N_ELEMENTS (forward_acts))
            exp->selection.forward_function = forward_acts[k];
        break;
    }
    case KIND_INIT_MULT:
        exp->selection.init_multiplier = gtk_spin_button_get_value (GTK_SPIN_BUTTON (ed));
        break;
    }
    dn_document_changed (self->document, DN_CHANGE_DENDRITES);
}

static void on_editor_changed (GtkWidget *ed, gpointer unused)
{
    DnDendritesPage *self = g_object_get_data (G_OBJECT (ed), "dn-page");
    guint i = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (ed), "dn-index"));
    store (self, i);
}

static void on_dendrites_switch (GtkSwitch *sw, GParamSpec *pspec, DnDendritesPage *self)
{
    DnExperiment *exp = experiment (self);
    if (exp == NULL || self->updating)
        return;
    exp->dendrites = gtk_switch_get_active (sw);
    set_groups_sensitive (self, exp->dendrites);
    dn_document_changed (self->document, DN_CHANGE_DENDRITES);
}

static void on_advanced (GtkSwitch *sw, GParamSpec *pspec, DnDendritesPage *self)
{
    update_visibility (self);
}

static GtkStringList *string_list (const char *const *items, gboolean translate)
{
    GtkStringList *l = gtk_string_list_new (NULL);
    for (int i = 0; items[i] != NULL; i++)
        gtk_string_list_append (l, translate ? _ (items[i]) : items[i]);
    return l;
}

/* The training choice's popover: each way with its one-line explanation. */
static void training_item_setup (GtkSignalListItemFactory *f, GtkListItem *item, gpointer unused)
{
    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
    GtkWidget *title = gtk_label_new (NULL), *help = gtk_label_new (NULL);
    gtk_label_set_xalign (GTK_LABEL (title), 0);
    gtk_label_set_xalign (GTK_LABEL (help), 0);
    gtk_label_set_wrap (GTK_LABEL (help), TRUE);
    gtk_label_set_max_width_chars (GTK_LABEL (help), 48);
    gtk_widget_add_css_class (help, "dim-label");
    gtk_widget_add_css_class (help, "caption");
    gtk_box_append (GTK_BOX (box), title);
    gtk_box_append (GTK_BOX (box), help);
    gtk_list_item_set_child (item, box);
}

static void training_item_bind (GtkSignalListItemFactory *f, GtkListItem *item, gpointer unused)
{
    GtkWidget *title = gtk_widget_get_first_child (gtk_list_item_get_child (item));
    guint k = MIN (gtk_list_item_get_position (item), G_N_ELEMENTS (training_help) - 1);
    gtk_label_set_label (GTK_LABEL (title), _ (trainings[k]));
    gtk_label_set_label (GTK_LABEL (gtk_widget_get_next_sibling (title)), _ (training_help[k]));
}

static GtkListItemFactory *training_factory (void)
{
    GtkListItemFactory *f = gtk_signal_list_item_factory_new ();
    g_signal_connect (f, "setup", G_CALLBACK (training_item_setup), NULL);
    g_signal_connect (f, "bind", G_CALLBACK (training_item_bind), NULL);
    return f;
}

static void build_rows (DnDendritesPage *self)
{
    self->selection = DN_SELECTION_EDITOR (dn_selection_editor_new ());
    for (guint g = 0; g < G_N_ELEMENTS (groups); g++) {
        if (g == 1) /* which layers, after how dendrites learn */
            adw_preferences_page_add (self->prefs_page, ADW_PREFERENCES_GROUP (self->selection));
        AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
        adw_preferences_group_set_title (group, _ (groups[g][0]));
        adw_preferences_group_set_description (group, groups[g][1] != NULL ? _ (groups[g][1])
                                                                           : _ (training_help[0]));
        adw_preferences_page_add (self->prefs_page, group);
        self->group_widgets[g] = group;
        for (guint i = 0; i < G_N_ELEMENTS (specs); i++) {
            const SettingSpec *spec = &specs[i];
            if (spec->group != groups[g][0])
                continue;
            GtkWidget *row, *ed;
            g_autofree char *title = spec->impactful
                                         ? g_strdup_printf (_ ("%s · impactful"), _ (spec->title))
                                         : g_strdup (_ (spec->title));
            if (spec->kind == KIND_SWITCH_MODE || spec->kind == KIND_PARAM_VALS ||
                spec->kind == KIND_FORWARD || spec->kind == KIND_TRAINING) {
                row = adw_combo_row_new ();
                const char *const *items = spec->kind == KIND_SWITCH_MODE  ? switch_modes
                                           : spec->kind == KIND_PARAM_VALS ? param_vals
                                           : spec->kind == KIND_TRAINING   ? trainings
                                                                           : forward_names;
                g_autoptr (GtkStringList) model = string_list (items, spec->kind != KIND_FORWARD);
                adw_combo_row_set_model (ADW_COMBO_ROW (row), G_LIST_MODEL (model));
                if (spec->kind == KIND_TRAINING) {
                    /* the way chosen is the subtitle, in full; the group explains it */
                    g_autoptr (GtkListItemFactory) factory = training_factory ();
                    adw_combo_row_set_list_factory (ADW_COMBO_ROW (row), factory);
                    adw_combo_row_set_use_subtitle (ADW_COMBO_ROW (row), TRUE);
                }
                ed = row;
                g_signal_connect (ed, "notify::selected", G_CALLBACK (on_editor_changed), NULL);
            } else {
                row = adw_action_row_new ();
                if (spec->kind == KIND_BOOL) {
                    ed = gtk_switch_new ();
                    g_signal_connect (ed, "notify::active", G_CALLBACK (on_editor_changed), NULL);
                } else if (is_list (spec)) {
                    ed = gtk_entry_new ();
                    gtk_editable_set_width_chars (GTK_EDITABLE (ed), 16);
                    gtk_entry_set_alignment (GTK_ENTRY (ed), 1);
                    gtk_widget_set_tooltip_text (ed, list_hint ());
                    /* named by the row's title (the activatable widget's label) */
                    gtk_accessible_update_property (GTK_ACCESSIBLE (ed),
                                                    GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                                    _ (spec->help), -1);
                    g_signal_connect (ed, "changed", G_CALLBACK (on_editor_changed), NULL);
                } else {
                    double step = spec->digits > 0 ? pow (10, -spec->digits) : 1;
                    ed = gtk_spin_button_new_with_range (spec->min, spec->max, step);
                    gtk_spin_button_set_digits (GTK_SPIN_BUTTON (ed), (guint) spec->digits);
                    gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (ed), TRUE);
                    g_signal_connect (ed, "value-changed", G_CALLBACK (on_editor_changed), NULL);
                }
                gtk_widget_set_valign (ed, GTK_ALIGN_CENTER);
                adw_action_row_add_suffix (ADW_ACTION_ROW (row), ed);
                adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), ed);
            }
            adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
            if (spec->kind != KIND_TRAINING)
                adw_action_row_set_subtitle (ADW_ACTION_ROW (row), _ (spec->help));
            adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
            gtk_widget_set_tooltip_text (row, spec->key);
            g_object_set_data (G_OBJECT (ed), "dn-page", self);
            g_object_set_data (G_OBJECT (ed), "dn-index", GUINT_TO_POINTER (i));
            self->editors[i] = ed;
            self->rows[i] = row;
            adw_preferences_group_add (group, row);
        }
    }
}

/* ---- capacity test ---- */

static void remove_tree (const char *path)
{
    if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
        g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
        const char *name;
        while (d != NULL && (name = g_dir_read_name (d)) != NULL) {
            g_autofree char *child = g_build_filename (path, name, NULL);
            remove_tree (child);
        }
    }
    g_remove (path);
}

static void capacity_report (DnDendritesPage *self, DnRunSnapshot *s)
{
    const DnTracker *t = dn_run_snapshot_get_tracker (s);
    int n = 0;
    const DnTrackerEpoch *rows = t != NULL ? dn_tracker_epochs (t, &n) : NULL;
    g_autofree char *text = NULL;
    if (s->state == DN_RUN_FAILED) {
        text = g_strdup_printf (_ ("The test failed: %s"), s->error);
    } else if (s->state == DN_RUN_STOPPED) {
        text = g_strdup (_ ("The test was stopped."));
    } else if (n > 0) {
        int sets = 0;
        for (int i = 0; i < n; i++)
            sets = MAX (sets, rows[i].dendrites);
        g_autofree char *p0 = dn_format_count (rows[0].params);
        g_autofree char *p1 = dn_format_count (rows[n - 1].params);
        gboolean complete = t != NULL && dn_tracker_is_complete (t);
        text = g_strdup_printf (
            ngettext ("%s %d dendrite set was added; parameters %s → %s; epoch time %.1f s → "
                      "%.1f s.",
                      "%s %d dendrite sets were added; parameters %s → %s; epoch time %.1f s → "
                      "%.1f s.",
                      sets),
            complete ? _ ("No problems were detected:") : _ ("The test ended early:"), sets, p0, p1,
            rows[0].seconds, rows[n - 1].seconds);
    } else {
        text = g_strdup (_ ("The test ended before its first epoch."));
    }
    adw_action_row_set_subtitle (self->capacity_row, text);
}

static void on_capacity_progress (DnTrainer *t, DnRunSnapshot *s, DnDendritesPage *self)
{
    if (s->state != DN_RUN_TRAINING && s->state != DN_RUN_PREPARING)
        return;
    g_autofree char *text =
        g_strdup_printf (_ ("Testing: epoch %d of at most 4, %d dendrite sets so far…"),
                         MIN (s->epoch + 1, 4), s->dendrites);
    adw_action_row_set_subtitle (self->capacity_row, text);
}

static void on_capacity_finished (DnTrainer *t, DnRunSnapshot *s, DnDendritesPage *self)
{
    capacity_report (self, s);
    gtk_button_set_label (self->capacity_button, _ ("Run Test"));
    if (self->capacity_dir != NULL) {
        remove_tree (self->capacity_dir);
        g_clear_pointer (&self->capacity_dir, g_free);
    }
}

static void on_capacity_clicked (GtkButton *b, DnDendritesPage *self)
{
    if (self->document == NULL)
        return;
    if (dn_trainer_is_running (self->capacity)) {
        dn_trainer_stop (self->capacity);
        return;
    }
    DnExperiment *exp = dn_document_copy_experiment (self->document);
    exp->dendrites = TRUE;
    exp->tracker.testing_dendrite_capacity = TRUE;
    exp->epochs = 4;
    self->capacity_dir = g_dir_make_tmp ("dendrite-capacity-XXXXXX", NULL);
    DnTrainerOptions opts = {0};
    opts.out_dir = g_strdup (self->capacity_dir);
    GSettings *settings = dn_settings ();
    opts.threads = settings != NULL ? g_settings_get_int (settings, "threads") : 0;
    GError *error = NULL;
    if (self->capacity_dir == NULL || !dn_trainer_start (self->capacity, exp, &opts, &error)) {
        g_autofree char *msg =
            g_strdup_printf (_ ("The test could not start: %s"),
                             error != NULL ? error->message : g_strerror (errno));
        adw_action_row_set_subtitle (self->capacity_row, msg);
        g_clear_error (&error);
    } else {
        gtk_button_set_label (self->capacity_button, _ ("Stop Test"));
    }
    dn_trainer_options_clear (&opts);
}

/* ---- document ---- */

static void on_document_changed (DnDocument *doc, guint what, DnDendritesPage *self)
{
    if (what & (DN_CHANGE_DENDRITES | DN_CHANGE_DATA))
        load (self);
}

void dn_dendrites_page_set_document (DnDendritesPage *self, DnDocument *doc)
{
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_set_object (&self->document, doc);
    dn_selection_editor_set_document (self->selection, doc);
    if (doc != NULL) {
        g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
        load (self);
    }
    adw_action_row_set_subtitle (
        self->capacity_row,
        _ ("A quick dry run in a scratch folder: adds three dendrite sets, one per epoch, to check "
           "memory and time before a real run"));
}

GtkWidget *dn_dendrites_page_get_editor (DnDendritesPage *self, const char *key)
{
    if (g_str_equal (key, "dendrites"))
        return GTK_WIDGET (self->dendrites_switch);
    if (g_str_equal (key, "advanced"))
        return GTK_WIDGET (self->advanced_switch);
    if (g_str_has_prefix (key, "perforate_types:") || g_str_has_prefix (key, "groups:"))
        return dn_selection_editor_get_editor (self->selection, key);
    for (guint i = 0; i < G_N_ELEMENTS (specs); i++)
        if (g_str_equal (specs[i].key, key))
            return self->editors[i];
    return NULL;
}

static void dn_dendrites_page_dispose (GObject *object)
{
    DnDendritesPage *self = DN_DENDRITES_PAGE (object);
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_clear_object (&self->document);
    if (self->capacity != NULL) {
        dn_trainer_stop (self->capacity);
        g_signal_handlers_disconnect_by_data (self->capacity, self);
        g_clear_object (&self->capacity);
    }
    gtk_widget_dispose_template (GTK_WIDGET (self), DN_TYPE_DENDRITES_PAGE);
    G_OBJECT_CLASS (dn_dendrites_page_parent_class)->dispose (object);
}

static void dn_dendrites_page_finalize (GObject *object)
{
    DnDendritesPage *self = DN_DENDRITES_PAGE (object);
    g_free (self->capacity_dir);
    G_OBJECT_CLASS (dn_dendrites_page_parent_class)->finalize (object);
}

static void dn_dendrites_page_class_init (DnDendritesPageClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    G_OBJECT_CLASS (klass)->dispose = dn_dendrites_page_dispose;
    G_OBJECT_CLASS (klass)->finalize = dn_dendrites_page_finalize;
    gtk_widget_class_set_template_from_resource (widget_class,
                                                 "/org/dendrite/Studio/dn-dendrites-page.ui");
    gtk_widget_class_bind_template_child (widget_class, DnDendritesPage, dendrites_row);
    gtk_widget_class_bind_template_child (widget_class, DnDendritesPage, dendrites_switch);
    gtk_widget_class_bind_template_child (widget_class, DnDendritesPage, capacity_row);
    gtk_widget_class_bind_template_child (widget_class, DnDendritesPage, capacity_button);
    gtk_widget_class_bind_template_child (widget_class, DnDendritesPage, advanced_switch);
}

static void dn_dendrites_page_init (DnDendritesPage *self)
{
    gtk_widget_init_template (GTK_WIDGET (self));
    /* the bin's own child: not a bound template child, which dispose_template would
     * unparent behind AdwBin's back */
    self->prefs_page = ADW_PREFERENCES_PAGE (adw_bin_get_child (ADW_BIN (self)));
    build_rows (self);
    g_signal_connect (self->advanced_switch, "notify::active", G_CALLBACK (on_advanced), self);
    on_advanced (self->advanced_switch, NULL, self);
    g_signal_connect (self->dendrites_switch, "notify::active", G_CALLBACK (on_dendrites_switch),
                      self);
    self->capacity = dn_trainer_new ();
    g_signal_connect (self->capacity, "progress", G_CALLBACK (on_capacity_progress), self);
    g_signal_connect (self->capacity, "finished", G_CALLBACK (on_capacity_finished), self);
    g_signal_connect (self->capacity_button, "clicked", G_CALLBACK (on_capacity_clicked), self);
}
