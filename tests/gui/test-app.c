/* test-app.c: Dendrite Studio's widgets and models, in a real display (Xvfb).
 *
 * The layer editor's shapes and counts (the engine's), errors on the layer
 * that breaks, the settings pages writing exactly what the experiment file
 * reads back, the chart widget drawing a recorded history, the trainer's
 * coalesced snapshots, exports, importing a model with dendrites, and where
 * the examples and the runs are.
 */
#include "dn-application.h"
#include "dn-chart-widget.h"
#include "dn-data-page.h"
#include "dn-dendrites-page.h"
#include "dn-document.h"
#include "dn-error.h"
#include "dn-export.h"
#include "dn-model.h"
#include "dn-network-page.h"
#include "dn-paths.h"
#include "dn-results-page.h"
#include "dn-run-folder-dialog.h"
#include "dn-gui-test.h"
#include "dn-test-util.h"
#include "dn-trainer.h"
#include "dn-training-page.h"

#include <adwaita.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Limits on waits for something that must happen: reached only when it never does, so
 * they are far beyond what a loaded machine needs (the waits end as soon as it happens). */
#define CHART_WAIT 60.0
#define RUN_WAIT 600.0

/* ---- the network analysis behind the layer editor ---- */

static void test_network_info_cnn (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mnist-cnn");
    const DnNetworkInfo *info = dn_document_get_network_info (doc);
    g_assert_true (info->ok);
    g_assert_cmpuint (info->layers->len, ==, 11);
    g_assert_cmpint (info->total_params, ==, 1199882);
    g_assert_cmpstr (info->input, ==, "1×28×28");
    static const struct {
        const char *name, *output;
        int64_t params;
    } want[] = {{"conv1", "32×26×26", 320}, {"relu1", "32×26×26", 0}, {"conv2", "64×24×24", 18496},
                {"pool", "64×12×12", 0},    {"flatten", "9216", 0},   {"fc1", "128", 1179776},
                {"fc2", "10", 1290}};
    for (guint k = 0; k < G_N_ELEMENTS (want); k++) {
        gboolean seen = FALSE;
        for (guint i = 0; i < info->layers->len; i++) {
            DnLayerInfo *l = g_ptr_array_index (info->layers, i);
            if (!g_str_equal (l->name, want[k].name))
                continue;
            g_assert_cmpstr (l->output, ==, want[k].output);
            g_assert_cmpint (l->params, ==, want[k].params);
            g_assert_null (l->error);
            seen = TRUE;
        }
        g_assert_true (seen);
    }
}

static void test_network_info_error_layer (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mnist-cnn");
    /* without flatten, fc1 gets (64, 12, 12): the error belongs to fc1, not later */
    guint flatten = 6;
    g_assert_cmpstr (json_object_get_string_member (dn_document_get_layer (doc, flatten), "name"),
                     ==, "flatten");
    dn_document_remove_layer (doc, flatten);
    const DnNetworkInfo *info = dn_document_get_network_info (doc);
    g_assert_false (info->ok);
    g_assert_cmpint (info->error_layer, ==, 6);
    DnLayerInfo *fc1 = g_ptr_array_index (info->layers, 6);
    g_assert_cmpstr (fc1->name, ==, "fc1");
    g_assert_nonnull (fc1->error);
    g_assert_nonnull (strstr (fc1->error, "fc1"));
    /* layers before it keep their shapes, layers after it have none */
    DnLayerInfo *pool = g_ptr_array_index (info->layers, 4);
    g_assert_cmpstr (pool->output, ==, "64×12×12");
    DnLayerInfo *fc2 = g_ptr_array_index (info->layers, 9);
    g_assert_null (fc2->output);
    g_assert_null (fc2->error);
    /* putting it back fixes it */
    guint pos = dn_document_insert_layer (doc, 6, "flatten");
    g_assert_cmpuint (pos, ==, 6);
    g_assert_true (dn_document_get_network_info (doc)->ok);
    g_assert_cmpint (dn_document_get_network_info (doc)->total_params, ==, 1199882);
}

static void test_network_page_rows (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mnist-cnn");
    DnExperiment *exp = dn_document_get_experiment (doc);
    exp->dendrites = TRUE;
    dn_document_changed (doc, DN_CHANGE_DENDRITES);
    GtkWidget *page = g_object_ref_sink (g_object_new (DN_TYPE_NETWORK_PAGE, NULL));
    dn_network_page_set_document (DN_NETWORK_PAGE (page), doc);
    g_assert_cmpuint (dn_network_page_n_rows (DN_NETWORK_PAGE (page)), ==, 11);
    g_autofree char *conv1 = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 0);
    g_assert_true (g_str_has_prefix (conv1, "conv1|Conv2d|"));
    g_assert_nonnull (strstr (conv1, "|32×26×26|320|Dendrites|"));
    g_autofree char *relu = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 1);
    g_assert_nonnull (strstr (relu, "|—|"));
    g_assert_cmpint (dn_document_get_network_info (doc)->n_dendritic, ==, 4);

    /* fc2 tracked only: the selection gets it in "track" and the count drops */
    dn_document_set_layer_dendrites (doc, 10, DN_LAYER_DENDRITES_TRACK);
    g_assert_true (g_strv_contains ((const char *const *) exp->selection.track_names, "fc2"));
    g_assert_cmpint (dn_document_get_network_info (doc)->n_dendritic, ==, 3);
    g_autofree char *fc2 = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 10);
    g_assert_nonnull (strstr (fc2, "|Tracked only|"));

    /* a new linear layer after fc2 reads 10 features: 10*10+10 parameters */
    guint pos = dn_document_insert_layer (doc, -1, "linear");
    g_assert_cmpuint (dn_network_page_n_rows (DN_NETWORK_PAGE (page)), ==, 12);
    g_autofree char *added = dn_network_page_describe_row (DN_NETWORK_PAGE (page), pos);
    g_assert_true (g_str_has_prefix (added, "linear1|Linear|"));
    g_assert_nonnull (strstr (added, "|10|110|Dendrites|"));

    /* a setting change updates the counts in place */
    JsonNode *v = json_node_new (JSON_NODE_VALUE);
    json_node_set_int (v, 64);
    dn_document_set_layer_setting (doc, 0, "out_channels", v);
    g_autofree char *conv1b = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 0);
    g_assert_nonnull (strstr (conv1b, "|64×26×26|640|"));
    /* conv2 says in_channels 32: now it is the layer that breaks, with the engine's reason */
    g_autofree char *conv2 = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 2);
    g_assert_true (g_str_has_prefix (conv2, "conv2|"));
    g_assert_nonnull (strstr (conv2, "|—|—|"));
    g_assert_nonnull (strstr (conv2, "in_channels"));
    g_assert_cmpint (dn_document_get_network_info (doc)->error_layer, ==, 2);
    /* leaving in_channels to the input fixes it: 64*64*9 + 64 parameters */
    dn_document_set_layer_setting (doc, 2, "in_channels", NULL);
    g_autofree char *conv2b = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 2);
    g_autofree char *count = dn_format_count (36928);
    g_autofree char *want = g_strdup_printf ("|64×24×24|%s|", count);
    g_assert_nonnull (strstr (conv2b, want));
    g_assert_true (g_str_has_suffix (conv2b, "|"));

    /* moving fc1 before flatten breaks fc1, and the row says so */
    dn_document_move_layer (doc, 7, 6);
    g_autofree char *broken = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 6);
    g_assert_true (g_str_has_prefix (broken, "fc1|"));
    g_assert_false (g_str_has_suffix (broken, "|"));

    /* renaming keeps the dendrite lists pointing at the layer */
    GError *error = NULL;
    g_assert_true (dn_document_rename_layer (doc, 11, "head", &error));
    g_assert_no_error (error);
    g_assert_true (dn_document_rename_layer (doc, 10, "out", &error));
    g_assert_true (g_strv_contains ((const char *const *) exp->selection.track_names, "out"));
    g_assert_false (dn_document_rename_layer (doc, 0, "out", &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_clear_error (&error);
    g_object_unref (page);
}

/* ---- settings pages write exactly what the experiment file reads back ---- */

static void set_spin (GtkWidget *w, double v)
{
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), v);
}

/* a list setting's entry, typed over as a person would */
static void set_text (GtkWidget *w, const char *text)
{
    g_assert_true (GTK_IS_ENTRY (w));
    gtk_editable_set_text (GTK_EDITABLE (w), text);
}

static DnExperiment *load_file (const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename (dir, name, NULL);
    GError *error = NULL;
    DnExperiment *exp = dn_experiment_load (path, &error);
    g_assert_no_error (error);
    return exp;
}

static DnExperiment *save_and_load (DnDocument *doc, const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_autoptr (GFile) file = g_file_new_for_path (path);
    GError *error = NULL;
    g_assert_true (dn_document_save (doc, file, &error));
    g_assert_no_error (error);
    g_assert_false (dn_document_get_modified (doc));
    return load_file (dir, name);
}

static void test_settings_round_trip (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mnist-cnn");
    GtkWidget *dpage = g_object_ref_sink (g_object_new (DN_TYPE_DENDRITES_PAGE, NULL));
    dn_dendrites_page_set_document (DN_DENDRITES_PAGE (dpage), doc);
    DnDendritesPage *dp = DN_DENDRITES_PAGE (dpage);
    gtk_switch_set_active (GTK_SWITCH (dn_dendrites_page_get_editor (dp, "dendrites")), TRUE);
    /* lists show every value: the default threshold has one value per dendrite count 0, 1, 2+ */
    GtkWidget *threshold = dn_dendrites_page_get_editor (dp, "improvement_threshold");
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (threshold)), ==, "0.001, 0.0001, 0");
    set_text (dn_dendrites_page_get_editor (dp, "n_epochs_to_switch"), "1");
    set_text (dn_dendrites_page_get_editor (dp, "max_dendrites"), "2");
    set_text (dn_dendrites_page_get_editor (dp, "max_dendrite_tries"), "0");
    set_text (threshold, "0.005, 0.0002, 0.0001");
    /* one value per dendrite count: patience 1 before dendrites, then 3, then 5 */
    GtkWidget *lookback = dn_dendrites_page_get_editor (dp, "history_lookback");
    set_text (lookback, "3, 2;4");
    /* what a person can get wrong is marked, says why, and changes nothing */
    GtkWidget *grace = dn_dendrites_page_get_editor (dp, "initial_history_after_switches");
    set_text (grace, "2, x");
    g_assert_true (gtk_widget_has_css_class (grace, "error"));
    const char *why = gtk_widget_get_tooltip_text (grace);
    g_assert_nonnull (strstr (why, "“x”"));
    set_text (grace, "1.5");
    g_assert_true (gtk_widget_has_css_class (grace, "error"));
    set_text (lookback, "3, 2, 4, 0");
    g_assert_true (gtk_widget_has_css_class (lookback, "error"));
    set_text (lookback, "3, 2, 4");
    g_assert_false (gtk_widget_has_css_class (lookback, "error"));
    set_text (grace, "0, 2");
    g_assert_false (gtk_widget_has_css_class (grace, "error"));
    set_spin (dn_dendrites_page_get_editor (dp, "init_multiplier"), 0.1);
    gtk_switch_set_active (GTK_SWITCH (dn_dendrites_page_get_editor (dp, "find_best_lr")), FALSE);
    gtk_switch_set_active (GTK_SWITCH (dn_dendrites_page_get_editor (dp, "retain_all_dendrites")),
                           TRUE);
    adw_combo_row_set_selected (ADW_COMBO_ROW (dn_dendrites_page_get_editor (dp, "switch_mode")),
                                DN_TRACKER_SWITCH_FIXED);
    adw_combo_row_set_selected (
        ADW_COMBO_ROW (dn_dendrites_page_get_editor (dp, "forward_function")), 1); /* tanh */
    dn_document_set_layer_dendrites (doc, 10, DN_LAYER_DENDRITES_NONE);
    dn_document_set_layer_dendrites (doc, 5, DN_LAYER_DENDRITES_TRACK); /* dropout1 */

    GtkWidget *tpage = g_object_ref_sink (g_object_new (DN_TYPE_TRAINING_PAGE, NULL));
    dn_training_page_set_document (DN_TRAINING_PAGE (tpage), doc);
    g_assert_true (dn_document_get_modified (doc));

    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnExperiment) back = save_and_load (doc, dir, "exp.json");
    g_assert_true (back->dendrites);
    g_assert_cmpint (back->tracker.n_epochs_to_switch.n, ==, 1);
    g_assert_cmpfloat (dn_tracker_list_at (&back->tracker.n_epochs_to_switch, 0), ==, 1);
    g_assert_cmpfloat (dn_tracker_list_at (&back->tracker.max_dendrites, 0), ==, 2);
    g_assert_cmpfloat (dn_tracker_list_at (&back->tracker.max_dendrite_tries, 0), ==, 0);
    g_assert_cmpint (back->tracker.improvement_threshold.n, ==, 3);
    g_assert_cmpfloat_with_epsilon (back->tracker.improvement_threshold.v[0], 0.005, 1e-12);
    g_assert_cmpfloat_with_epsilon (back->tracker.improvement_threshold.v[1], 0.0002, 1e-12);
    g_assert_cmpfloat_with_epsilon (back->tracker.improvement_threshold.v[2], 0.0001, 1e-12);
    g_assert_cmpint (back->tracker.history_lookback.n, ==, 3);
    g_assert_cmpfloat (dn_tracker_list_at (&back->tracker.history_lookback, 0), ==, 3);
    g_assert_cmpfloat (dn_tracker_list_at (&back->tracker.history_lookback, 1), ==, 2);
    g_assert_cmpfloat (dn_tracker_list_at (&back->tracker.history_lookback, 2), ==, 4);
    g_assert_cmpfloat (dn_tracker_list_at (&back->tracker.history_lookback, 7), ==, 4);
    g_assert_cmpint (back->tracker.initial_history_after_switches.n, ==, 2);
    g_assert_cmpfloat (dn_tracker_list_at (&back->tracker.initial_history_after_switches, 1), ==,
                       2);
    g_assert_false (back->tracker.find_best_lr);
    g_assert_true (back->tracker.retain_all_dendrites);
    g_assert_cmpint (back->tracker.switch_mode, ==, DN_TRACKER_SWITCH_FIXED);
    g_assert_cmpint (back->selection.forward_function, ==, DN_ACT_TANH);
    g_assert_cmpfloat_with_epsilon (back->selection.init_multiplier, 0.1, 1e-12);
    g_assert_true (g_strv_contains ((const char *const *) back->selection.skip_names, "fc2"));
    g_assert_true (g_strv_contains ((const char *const *) back->selection.track_names, "dropout1"));
    /* untouched settings keep their values */
    DnExperiment *exp = dn_document_get_experiment (doc);
    g_assert_cmpint (back->epochs, ==, exp->epochs);
    g_assert_cmpint (back->batch_size, ==, 64);
    g_assert_cmpint (back->optim.kind, ==, DN_OPTIM_ADADELTA);

    /* a file opened with lists shows them as saved */
    g_autoptr (DnDocument) reopened = dn_document_new (load_file (dir, "exp.json"), NULL);
    dn_dendrites_page_set_document (dp, reopened);
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (lookback)), ==, "3, 2, 4");
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (threshold)), ==, "0.005, 0.0002, 0.0001");
    g_assert_false (gtk_widget_has_css_class (grace, "error"));

    /* saving the loaded file again gives the same text (the engine's promise) */
    g_autofree char *path = g_build_filename (dir, "exp.json", NULL);
    g_autofree char *path2 = g_build_filename (dir, "again.json", NULL);
    GError *error = NULL;
    g_assert_true (dn_experiment_save (back, path2, &error));
    g_assert_no_error (error);
    g_autofree char *a = NULL, *b = NULL;
    g_file_get_contents (path, &a, NULL, NULL);
    g_file_get_contents (path2, &b, NULL, NULL);
    g_assert_cmpstr (a, ==, b);

    g_object_unref (dpage);
    g_object_unref (tpage);
    dn_test_tmpdir_remove (dir);
}

/* ---- which layers get dendrites: kinds and neuron modules ---- */

static void select_name (GtkWidget *dropdown, const char *name)
{
    GListModel *model = gtk_drop_down_get_model (GTK_DROP_DOWN (dropdown));
    for (guint i = 0; i < g_list_model_get_n_items (model); i++) {
        g_autoptr (GtkStringObject) o = g_list_model_get_item (model, i);
        if (g_str_equal (gtk_string_object_get_string (o), name)) {
            gtk_drop_down_set_selected (GTK_DROP_DOWN (dropdown), i);
            return;
        }
    }
    g_error ("%s is not offered as a module's first layer", name);
}

/* a button of a page outside a window: activating it would wait for the press
 * animation of a realized button, so the click is emitted as it ends */
static void click (GtkWidget *button)
{
    g_assert_true (GTK_IS_BUTTON (button));
    g_signal_emit_by_name (button, "clicked");
}

static void add_module (DnDendritesPage *dp, const char *first, int size)
{
    select_name (dn_dendrites_page_get_editor (dp, "groups:first"), first);
    set_spin (dn_dendrites_page_get_editor (dp, "groups:size"), size);
    click (dn_dendrites_page_get_editor (dp, "groups:add"));
}

static void test_layer_selection (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("resnet-small");
    DnExperiment *exp = dn_document_get_experiment (doc);
    GtkWidget *dpage = g_object_ref_sink (g_object_new (DN_TYPE_DENDRITES_PAGE, NULL));
    DnDendritesPage *dp = DN_DENDRITES_PAGE (dpage);
    dn_dendrites_page_set_document (dp, doc);
    gtk_switch_set_active (GTK_SWITCH (dn_dendrites_page_get_editor (dp, "dendrites")), TRUE);
    /* every conv is followed by a batch norm it is not grouped with: the engine warns */
    guint warnings = dn_document_get_network_info (doc)->warnings->len;
    g_assert_cmpuint (warnings, >, 0);

    /* the default kinds are checked; linear layers stop getting dendrites by kind */
    GtkWidget *linear = dn_dendrites_page_get_editor (dp, "perforate_types:linear");
    GtkWidget *conv2d = dn_dendrites_page_get_editor (dp, "perforate_types:conv2d");
    g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (linear)));
    g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (conv2d)));
    int dendritic = dn_document_get_network_info (doc)->n_dendritic;
    gtk_check_button_set_active (GTK_CHECK_BUTTON (linear), FALSE);
    g_assert_cmpint (dn_document_get_network_info (doc)->n_dendritic, ==, dendritic - 1);

    /* two modules, picked as a person picks them: the first layer and how many */
    add_module (dp, "conv1", 2);
    add_module (dp, "block1_conv1", 2);
    g_assert_nonnull (dn_dendrites_page_get_editor (dp, "groups:remove:1"));
    g_assert_cmpuint (dn_document_get_network_info (doc)->warnings->len, ==, warnings - 2);
    /* a layer already in a module is not offered again */
    GListModel *firsts =
        gtk_drop_down_get_model (GTK_DROP_DOWN (dn_dendrites_page_get_editor (dp, "groups:first")));
    for (guint i = 0; i < g_list_model_get_n_items (firsts); i++) {
        g_autoptr (GtkStringObject) o = g_list_model_get_item (firsts, i);
        g_assert_cmpstr (gtk_string_object_get_string (o), !=, "conv1");
    }
    /* a module the engine would refuse (block1_add reads two layers) is not written,
     * and the row says why */
    add_module (dp, "block1_conv2", 3);
    GtkWidget *message = dn_dendrites_page_get_editor (dp, "groups:message");
    g_assert_true (gtk_widget_has_css_class (message, "error"));
    g_test_message ("refused: %s", adw_action_row_get_subtitle (ADW_ACTION_ROW (message)));
    g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (message)), "group"));
    g_assert_cmpuint (g_strv_length ((char **) exp->selection.groups), ==, 2);
    /* one more, then remove the second: the others keep their order */
    add_module (dp, "block2_conv1", 2);
    g_assert_false (gtk_widget_has_css_class (message, "error"));
    click (dn_dendrites_page_get_editor (dp, "groups:remove:1"));
    g_assert_null (dn_dendrites_page_get_editor (dp, "groups:remove:2"));

    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnExperiment) back = save_and_load (doc, dir, "resnet.json");
    char **types = back->selection.perforate_types;
    g_assert_false (g_strv_contains ((const char *const *) types, "linear"));
    g_assert_true (g_strv_contains ((const char *const *) types, "conv2d"));
    g_assert_true (g_strv_contains ((const char *const *) types, "conv1d"));
    char ***groups = back->selection.groups;
    g_assert_nonnull (groups[0]);
    g_assert_nonnull (groups[1]);
    g_assert_null (groups[2]);
    const char *const first[] = {"conv1", "bn1", NULL};
    const char *const second[] = {"block2_conv1", "block2_bn1", NULL};
    g_assert_true (g_strv_equal ((const char *const *) groups[0], first));
    g_assert_true (g_strv_equal ((const char *const *) groups[1], second));

    /* opened again, the editor shows what the file says */
    g_autoptr (DnDocument) reopened = dn_document_new (load_file (dir, "resnet.json"), NULL);
    dn_dendrites_page_set_document (dp, reopened);
    g_assert_false (gtk_check_button_get_active (GTK_CHECK_BUTTON (linear)));
    g_assert_nonnull (dn_dendrites_page_get_editor (dp, "groups:remove:1"));
    g_assert_null (dn_dendrites_page_get_editor (dp, "groups:remove:2"));

    g_object_unref (dpage);
    dn_test_tmpdir_remove (dir);
}

/* ---- the chart widget with a recorded history ---- */

static DnTracker *recorded_tracker (void)
{
    DnTrackerConfig cfg;
    dn_tracker_config_defaults (&cfg);
    dn_tracker_list_set (&cfg.n_epochs_to_switch, 2);
    cfg.find_best_lr = FALSE;
    dn_tracker_list_set (&cfg.max_dendrites, 2);
    GError *error = NULL;
    DnTracker *t = dn_tracker_new (&cfg, NULL, 0.01, &error);
    g_assert_no_error (error);
    dn_tracker_set_score_unit (t, "%");
    /* scores that plateau, get a dendrite set, improve, plateau again */
    const double val[] = {90, 93, 94, 94, 94, 95, 96, 96.5, 96.5, 96.5, 96.5, 96.5};
    for (guint i = 0; i < G_N_ELEMENTS (val) && !dn_tracker_is_complete (t); i++) {
        DnTrackerScores sc = {.val = val[i],
                              .test = val[i] - 0.5,
                              .seconds = 1.0 + i,
                              .params = 1000 + 100 * dn_tracker_dendrites (t)};
        DnTrackerAction action;
        g_assert_true (dn_tracker_add_score (t, &sc, &action, &error));
        g_assert_no_error (error);
    }
    g_assert_cmpint (dn_tracker_dendrites (t), >=, 1);
    return t;
}

static gboolean drawn (gpointer data)
{
    return dn_chart_widget_get_n_draws (data) > 0;
}

/* The picture shown is of the newest snapshot: waits end on this, not on a fixed time. */
static gboolean settled (gpointer data)
{
    return dn_chart_widget_is_settled (data);
}

typedef struct {
    DnChartWidget *chart;
    guint before;
} ChartWait;

static gboolean drawn_again (gpointer data)
{
    ChartWait *w = data;
    return dn_chart_widget_get_n_draws (w->chart) > w->before;
}

static void test_chart_widget (void)
{
    DnRunSnapshot *snap = dn_run_snapshot_new ();
    snap->shared = dn_shared_tracker_new (recorded_tracker ());
    snap->state = DN_RUN_FINISHED;
    GtkWidget *win = gtk_window_new ();
    gtk_window_set_default_size (GTK_WINDOW (win), 640, 360);
    GtkWidget *chart = dn_chart_widget_new (DN_CHART_SCORES);
    gtk_window_set_child (GTK_WINDOW (win), chart);
    /* before a run: the empty chart */
    g_assert_nonnull (
        strstr (dn_chart_widget_get_description (DN_CHART_WIDGET (chart)), "no epochs yet"));
    dn_chart_widget_set_snapshot (DN_CHART_WIDGET (chart), snap);
    gtk_window_present (GTK_WINDOW (win));
    dn_test_spin_until (drawn, chart, CHART_WAIT);
    g_assert_cmpuint (dn_chart_widget_get_n_draws (DN_CHART_WIDGET (chart)), >, 0);
    const char *desc = dn_chart_widget_get_description (DN_CHART_WIDGET (chart));
    g_test_message ("description: %s", desc);
    g_assert_nonnull (strstr (desc, "dendrite set"));
    g_assert_nonnull (strstr (desc, "epoch"));

    /* hover: the middle of the chart is an epoch inside the history */
    int w = gtk_widget_get_width (chart);
    int h = gtk_widget_get_height (chart);
    dn_chart_widget_hover_at (DN_CHART_WIDGET (chart), w * 0.5, h * 0.5);
    int row = dn_chart_widget_get_hover_row (DN_CHART_WIDGET (chart));
    int n = 0;
    dn_tracker_epochs (dn_run_snapshot_get_tracker (snap), &n);
    g_assert_cmpint (row, >=, 1);
    g_assert_cmpint (row, <, n - 1);
    dn_chart_widget_hover_at (DN_CHART_WIDGET (chart), 0, -1);
    g_assert_cmpint (dn_chart_widget_get_hover_row (DN_CHART_WIDGET (chart)), ==, -1);

    /* zoom redraws (on the chart thread: the picture comes when it is done) */
    ChartWait wait = {DN_CHART_WIDGET (chart),
                      dn_chart_widget_get_n_draws (DN_CHART_WIDGET (chart))};
    dn_chart_widget_set_last_epochs (DN_CHART_WIDGET (chart), 5);
    dn_test_spin_until (drawn_again, &wait, CHART_WAIT);
    g_assert_cmpuint (dn_chart_widget_get_n_draws (DN_CHART_WIDGET (chart)), >, wait.before);
    dn_test_pump (0.3); /* the window paints the new picture */

    /* a picture of what the widget shows, for a person to look at */
    const char *shots = g_getenv ("DN_SCREENSHOT_DIR");
    if (shots != NULL) {
        GdkPaintable *p = gtk_widget_paintable_new (chart);
        GtkSnapshot *s = gtk_snapshot_new ();
        gdk_paintable_snapshot (p, s, w, h);
        GskRenderNode *node = gtk_snapshot_free_to_node (s);
        GskRenderer *r = gtk_native_get_renderer (gtk_widget_get_native (chart));
        if (node != NULL && r != NULL) {
            GdkTexture *tex = gsk_renderer_render_texture (r, node, NULL);
            g_autofree char *path = g_build_filename (shots, "chart-widget.png", NULL);
            gdk_texture_save_to_png (tex, path);
            g_object_unref (tex);
        }
        if (node != NULL)
            gsk_render_node_unref (node);
        g_object_unref (p);
    }

    /* a new history every 20 ms (a run far faster than any real one) is drawn at
     * most ten times a second; a snapshot with the same history (a batch
     * update) is not drawn again */
    dn_test_spin_until (settled, chart, CHART_WAIT);
    g_assert_true (dn_chart_widget_is_settled (DN_CHART_WIDGET (chart)));
    guint before = dn_chart_widget_get_n_draws (DN_CHART_WIDGET (chart));
    gint64 t0 = g_get_monotonic_time ();
    DnRunSnapshot *last = NULL;
    for (int i = 0; i < 25; i++) {
        g_clear_pointer (&last, dn_run_snapshot_unref);
        last = dn_run_snapshot_new ();
        last->shared = dn_shared_tracker_new (recorded_tracker ());
        last->state = DN_RUN_TRAINING;
        dn_chart_widget_set_snapshot (DN_CHART_WIDGET (chart), last);
        dn_test_pump (0.02);
    }
    double elapsed = (g_get_monotonic_time () - t0) / 1e6;
    /* the last history is drawn once the interval has passed (later on a loaded machine) */
    dn_test_spin_until (settled, chart, CHART_WAIT);
    g_assert_true (dn_chart_widget_is_settled (DN_CHART_WIDGET (chart)));
    guint drawn = dn_chart_widget_get_n_draws (DN_CHART_WIDGET (chart)) - before;
    g_test_message ("%u pictures for 25 histories in %.2f s", drawn, elapsed);
    g_assert_cmpuint (drawn, >=, 1);
    g_assert_cmpuint (drawn, <=, (guint) (elapsed * 10) + 2);
    before = dn_chart_widget_get_n_draws (DN_CHART_WIDGET (chart));
    DnRunSnapshot *same = dn_run_snapshot_new ();
    same->shared = dn_shared_tracker_ref (last->shared);
    same->state = DN_RUN_TRAINING;
    same->batch = 7;
    dn_chart_widget_set_snapshot (DN_CHART_WIDGET (chart), same);
    g_assert_true (dn_chart_widget_is_settled (DN_CHART_WIDGET (chart))); /* nothing to redo */
    dn_test_pump (0.3);
    g_assert_cmpuint (dn_chart_widget_get_n_draws (DN_CHART_WIDGET (chart)), ==, before);
    dn_run_snapshot_unref (same);
    dn_run_snapshot_unref (last);

    gtk_window_destroy (GTK_WINDOW (win));
    dn_run_snapshot_unref (snap);
}

/* ---- the trainer: a real run on a worker thread ---- */

typedef struct {
    int progress, finished;
    gint64 last, min_gap;
    DnRunSnapshot *final;
    GThread *main_thread;
} RunWatch;

static void on_progress (DnTrainer *t, DnRunSnapshot *s, RunWatch *w)
{
    /* the first (synchronous, "preparing") and the last (the end, shown at once)
     * snapshots are not throttled; every other one is */
    gint64 now = g_get_monotonic_time ();
    if (s->state == DN_RUN_TRAINING) {
        if (w->last > 0)
            w->min_gap = MIN (w->min_gap, now - w->last);
        w->last = now;
    }
    w->progress++;
    g_assert_true (g_thread_self () == w->main_thread); /* widgets may be touched here */
}

static void on_finished (DnTrainer *t, DnRunSnapshot *s, RunWatch *w)
{
    w->finished++;
    w->final = dn_run_snapshot_ref (s);
}

static gboolean run_finished (gpointer data)
{
    return ((RunWatch *) data)->finished > 0;
}

static void test_trainer_run_and_export (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mlp-dendrites");
    DnExperiment *exp = dn_experiment_new_default ();
    dn_experiment_free (exp);
    exp = dn_document_copy_experiment (doc);
    exp->epochs = 3;
    dn_tracker_list_set (&exp->tracker.n_epochs_to_switch, 1);
    g_autofree char *dir = dn_test_tmpdir ();
    DnTrainerOptions opts = {.out_dir = g_strdup (dir), .threads = 2};
    g_autoptr (DnTrainer) trainer = dn_trainer_new ();
    /* A longer interval than the app's, so that the check below leaves room for the
     * main loop being late (a loaded machine) between a delivery and its handler. */
    dn_trainer_set_interval (trainer, 300 * G_TIME_SPAN_MILLISECOND);
    RunWatch w = {.min_gap = G_MAXINT64, .main_thread = g_thread_self ()};
    g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), &w);
    g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), &w);
    GError *error = NULL;
    g_assert_true (dn_trainer_start (trainer, exp, &opts, &error));
    g_assert_no_error (error);
    g_assert_true (dn_trainer_is_running (trainer));
    dn_test_spin_until (run_finished, &w, RUN_WAIT);
    g_assert_cmpint (w.finished, ==, 1);
    g_assert_cmpint (w.final->state, ==, DN_RUN_FINISHED);
    g_assert_cmpint (w.final->epoch, ==, 3);
    g_assert_true (w.final->dendritic);
    g_assert_nonnull (dn_run_snapshot_get_tracker (w.final));
    int n = 0;
    dn_tracker_epochs (dn_run_snapshot_get_tracker (w.final), &n);
    g_assert_cmpint (n, >=, 1);
    /* coalesced: never two snapshots closer than the interval (the first two aside) */
    g_test_message ("%d snapshots, closest %" G_GINT64_FORMAT " us", w.progress, w.min_gap);
    g_assert_cmpint (w.min_gap, >=, 200 * 1000);
    g_assert_nonnull (w.final->run_dir);
    /* the run folder got the writer's files, as the CLI's does */
    g_autofree char *log = g_build_filename (w.final->run_dir, "run.log", NULL);
    g_autofree char *png = g_build_filename (w.final->run_dir, "mlp-dendrites.png", NULL);
    g_autofree char *scores = g_build_filename (w.final->run_dir, "mlp-dendritesScores.csv", NULL);
    g_assert_true (g_file_test (log, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (png, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (scores, G_FILE_TEST_EXISTS));

    /* exports */
    g_autofree char *out = g_build_filename (dir, "export", NULL);
    int files = 0;
    DnExperiment *shown = dn_document_get_experiment (doc);
    g_assert_true (dn_export_run (w.final, shown, "csv", out, &files, &error));
    g_assert_no_error (error);
    g_assert_cmpint (files, ==, 6);
    g_assert_true (dn_export_run (w.final, shown, "picture-svg", out, &files, &error));
    g_assert_true (dn_export_run (w.final, shown, "chart-scores-pdf", out, &files, &error));
    g_assert_true (dn_export_run (w.final, shown, "best-model", out, &files, &error));
    g_assert_no_error (error);
    g_autofree char *svg = g_build_filename (out, "mlp-dendrites.svg", NULL);
    g_autofree char *pdf = g_build_filename (out, "mlp-dendrites-scores.pdf", NULL);
    g_autofree char *model = g_build_filename (out, "mlp-dendrites-best_model.safetensors", NULL);
    g_assert_true (g_file_test (svg, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (pdf, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (model, G_FILE_TEST_EXISTS));
    /* the exported table is the run folder's own */
    g_autofree char *a = NULL, *b = NULL;
    g_autofree char *exported = g_build_filename (out, "mlp-dendritesScores.csv", NULL);
    g_file_get_contents (scores, &a, NULL, NULL);
    g_file_get_contents (exported, &b, NULL, NULL);
    g_assert_cmpstr (a, ==, b);

    /* the run folder reads back as a snapshot with the same history */
    g_autoptr (DnRunSnapshot) back = dn_run_snapshot_new_from_folder (w.final->run_dir, &error);
    g_assert_no_error (error);
    int n2 = 0;
    dn_tracker_epochs (dn_run_snapshot_get_tracker (back), &n2);
    g_assert_cmpint (n2, ==, n);

    /* importing the best model gives back the network with its dendrite choice */
    g_autofree char *best = g_build_filename (w.final->run_dir, "best_model.safetensors", NULL);
    g_autoptr (GFile) bf = g_file_new_for_path (best);
    g_autoptr (DnDocument) imported = dn_document_new_from_file (bf, &error);
    g_assert_no_error (error);
    DnExperiment *iexp = dn_document_get_experiment (imported);
    g_assert_true (dn_document_get_network_info (imported)->ok);
    g_assert_cmpuint (dn_document_n_layers (imported), ==, dn_document_n_layers (doc));
    g_assert_cmpint (dn_document_get_network_info (imported)->total_params, ==,
                     dn_document_get_network_info (doc)->total_params);
    g_assert_true (iexp->dendrites);
    g_assert_cmpint (dn_document_get_network_info (imported)->n_dendritic, ==, 2);
    dn_run_snapshot_unref (w.final);
    dn_trainer_options_clear (&opts);
    dn_test_tmpdir_remove (dir);
}

/* The history a plain run's snapshot charts: the engine's recorder, one row per epoch. */
static int plain_history_rows (const DnRunSnapshot *s)
{
    const DnTracker *t = dn_run_snapshot_get_tracker (s);
    g_assert_nonnull (t);
    g_assert_true (dn_tracker_is_recorder (t));
    g_assert_false (s->dendritic);
    int n = 0;
    dn_tracker_epochs (t, &n);
    return n;
}

static void test_trainer_stop_resume (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mlp");
    DnExperiment *exp = dn_document_copy_experiment (doc);
    exp->epochs = 50;
    g_autofree char *dir = dn_test_tmpdir ();
    DnTrainerOptions opts = {.out_dir = g_strdup (dir), .threads = 2};
    g_autoptr (DnTrainer) trainer = dn_trainer_new ();
    RunWatch w = {.min_gap = G_MAXINT64, .main_thread = g_thread_self ()};
    g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), &w);
    g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), &w);
    GError *error = NULL;
    g_assert_true (dn_trainer_start (trainer, exp, &opts, &error));
    /* stop once an epoch is done */
    gint64 end = g_get_monotonic_time () + (gint64) (RUN_WAIT * G_USEC_PER_SEC);
    while (dn_trainer_get_snapshot (trainer)->epoch < 1 && g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, TRUE);
    dn_trainer_stop (trainer);
    dn_test_spin_until (run_finished, &w, RUN_WAIT);
    g_assert_cmpint (w.final->state, ==, DN_RUN_STOPPED);
    int stopped_at = w.final->epoch;
    g_assert_cmpint (stopped_at, >=, 1);
    g_assert_cmpint (stopped_at, <, 50);
    g_assert_cmpint (plain_history_rows (w.final), ==, stopped_at);
    g_autofree char *run_dir = g_strdup (w.final->run_dir);
    dn_run_snapshot_unref (w.final);

    /* resume: it goes on from where it stopped. Snapshots are coalesced, so the first
     * one after the resume may already show a later epoch than stopped_at + 1: wait for
     * any later epoch, then read what was trained from the run's own history. */
    w.finished = 0;
    w.final = NULL;
    DnTrainerOptions ropts = {.resume_dir = g_strdup (run_dir), .threads = 2};
    g_assert_true (dn_trainer_start (trainer, NULL, &ropts, &error));
    g_assert_no_error (error);
    end = g_get_monotonic_time () + (gint64) (RUN_WAIT * G_USEC_PER_SEC);
    while (dn_trainer_get_snapshot (trainer)->epoch <= stopped_at && w.finished == 0 &&
           g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, TRUE);
    g_assert_cmpint (dn_trainer_get_snapshot (trainer)->epoch, >, stopped_at);
    dn_trainer_stop (trainer);
    dn_test_spin_until (run_finished, &w, RUN_WAIT);
    g_assert_cmpint (w.final->state, ==, DN_RUN_STOPPED);
    int resumed_to = w.final->epoch;
    g_assert_cmpint (resumed_to, >, stopped_at);
    g_assert_cmpint (resumed_to, <=, 50);
    /* the history goes on where it stopped, and says the run has no dendrites */
    g_assert_cmpint (plain_history_rows (w.final), ==, resumed_to);
    dn_run_snapshot_unref (w.final);

    /* run.log, written by both runs: epochs 1, 2, ... resumed_to, each once, none skipped */
    g_autofree char *log = g_build_filename (run_dir, "run.log", NULL);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (log, &text, NULL, NULL));
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    int next = 1;
    for (int i = 0; lines[i] != NULL; i++) {
        const char *e = strstr (lines[i], "  epoch ");
        int epoch = 0;
        if (e != NULL && sscanf (e, "  epoch %d:", &epoch) == 1) {
            g_assert_cmpint (epoch, ==, next);
            next++;
        }
    }
    g_assert_cmpint (next - 1, ==, resumed_to);
    /* and the checkpoint the next resume reads says so too */
    g_autoptr (DnRunSnapshot) back = dn_run_snapshot_new_from_folder (run_dir, &error);
    g_assert_no_error (error);
    g_assert_cmpint (back->epoch, ==, resumed_to);
    g_assert_cmpint (plain_history_rows (back), ==, resumed_to);
    g_assert_null (back->status);
    g_autofree char *scores = g_build_filename (run_dir, "mlpScores.csv", NULL);
    g_assert_true (g_file_test (scores, G_FILE_TEST_IS_REGULAR));
    dn_trainer_options_clear (&opts);
    dn_trainer_options_clear (&ropts);
    dn_test_tmpdir_remove (dir);
}

static void on_choice (DnRunFolderChoice choice, const char *run_dir, gpointer data)
{
    *(DnRunFolderChoice *) data = choice;
}

/* Starts exp into dir and waits until it has finished an epoch; returns the run folder. */
static char *start_one_epoch (DnTrainer *trainer, RunWatch *w, DnExperiment *exp, const char *dir,
                              gboolean overwrite)
{
    DnTrainerOptions opts = {.out_dir = g_strdup (dir), .threads = 2, .overwrite = overwrite};
    GError *error = NULL;
    w->finished = 0;
    w->final = NULL;
    g_assert_true (dn_trainer_start (trainer, exp, &opts, &error));
    g_assert_no_error (error);
    dn_trainer_options_clear (&opts);
    gint64 end = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
    while (dn_trainer_get_snapshot (trainer)->epoch < 1 && w->finished == 0 &&
           g_get_monotonic_time () < end)
        g_main_context_iteration (NULL, TRUE);
    return g_strdup (dn_trainer_get_snapshot (trainer)->run_dir);
}

static void stop_and_wait (DnTrainer *trainer, RunWatch *w)
{
    dn_trainer_stop (trainer);
    dn_test_spin_until (run_finished, w, 120);
    dn_run_snapshot_unref (w->final);
}

/* Start when the folder holds a run: Resume / Overwrite / New Numbered Run, as the
 * folder allows; a new run goes beside the earlier one, Overwrite replaces it. */
static void test_run_folder_choice (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mlp");
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *name_dir =
        g_build_filename (dir, dn_document_get_experiment (doc)->name, NULL);
    GtkWindow *parent = GTK_WINDOW (gtk_window_new ());
    /* nothing there yet: nothing to ask */
    g_assert_null (dn_run_folder_dialog_ask (parent, name_dir, on_choice, NULL));

    g_autoptr (DnTrainer) trainer = dn_trainer_new ();
    RunWatch w = {.min_gap = G_MAXINT64, .main_thread = g_thread_self ()};
    g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), &w);
    g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), &w);
    DnExperiment *exp = dn_document_copy_experiment (doc);
    exp->epochs = 50;
    g_autofree char *first = start_one_epoch (trainer, &w, exp, dir, FALSE);
    g_assert_cmpstr (first, ==, name_dir);
    {
        /* in use: only a numbered run, and who holds it */
        DnRunFolderOffer offer;
        dn_run_folder_offer_init (&offer, first);
        g_assert_true (offer.holds_run && offer.in_use && !offer.can_resume);
        g_autofree char *me = g_strdup_printf ("process %ld on host ", (long) getpid ());
        g_assert_nonnull (strstr (offer.holder, me));
        dn_run_folder_offer_clear (&offer);
        DnRunFolderChoice got = DN_RUN_FOLDER_CANCEL;
        GtkWidget *d = dn_run_folder_dialog_ask (parent, first, on_choice, &got);
        g_assert_nonnull (d);
        AdwMessageDialog *md = ADW_MESSAGE_DIALOG (d);
        g_assert_false (adw_message_dialog_get_response_enabled (md, "resume"));
        g_assert_false (adw_message_dialog_get_response_enabled (md, "overwrite"));
        g_assert_true (adw_message_dialog_get_response_enabled (md, "new"));
        g_assert_nonnull (strstr (adw_message_dialog_get_body (md), me));
        gtk_window_destroy (GTK_WINDOW (d));
    }
    stop_and_wait (trainer, &w);
    {
        /* stopped after an epoch: all three */
        DnRunFolderChoice got = DN_RUN_FOLDER_CANCEL;
        GtkWidget *d = dn_run_folder_dialog_ask (parent, first, on_choice, &got);
        g_assert_nonnull (d);
        AdwMessageDialog *md = ADW_MESSAGE_DIALOG (d);
        g_assert_true (adw_message_dialog_get_response_enabled (md, "resume"));
        g_assert_true (adw_message_dialog_get_response_enabled (md, "overwrite"));
        g_assert_true (adw_message_dialog_get_response_enabled (md, "new"));
        adw_message_dialog_response (md, "new");
        g_assert_cmpint (got, ==, DN_RUN_FOLDER_NEW);
        gtk_window_destroy (GTK_WINDOW (d));
    }
    /* a new run: beside the earlier one */
    exp = dn_document_copy_experiment (doc);
    exp->epochs = 50;
    g_autofree char *second = start_one_epoch (trainer, &w, exp, dir, FALSE);
    g_autofree char *want = g_strconcat (name_dir, "-2", NULL);
    g_assert_cmpstr (second, ==, want);
    stop_and_wait (trainer, &w);
    /* overwrite: the earlier run's folder, its stray files gone */
    g_autofree char *stray = dn_test_write_file (first, "mlp_epoch3_1_noImprove_lr_0.png", "x", 1);
    exp = dn_document_copy_experiment (doc);
    exp->epochs = 50;
    g_autofree char *third = start_one_epoch (trainer, &w, exp, dir, TRUE);
    g_assert_cmpstr (third, ==, name_dir);
    g_assert_false (g_file_test (stray, G_FILE_TEST_EXISTS));
    stop_and_wait (trainer, &w);
    gtk_window_destroy (parent);
    dn_test_tmpdir_remove (dir);
}

static void test_remaining_error (void)
{
    /* 98 % -> 99 %: half of the remaining error is gone */
    g_assert_cmpfloat_with_epsilon (dn_remaining_error_reduction (98, 99), 0.5, 1e-12);
    g_assert_cmpfloat_with_epsilon (dn_remaining_error_reduction (90, 85), -0.5, 1e-12);
    g_assert_true (isnan (dn_remaining_error_reduction (100, 99)));
    g_assert_true (isnan (dn_remaining_error_reduction (NAN, 99)));
}

static gboolean preview_loaded (gpointer data)
{
    return dn_data_page_get_n_preview (data) > 0;
}

static void test_data_page_preview (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mlp");
    GtkWidget *page = g_object_ref_sink (g_object_new (DN_TYPE_DATA_PAGE, NULL));
    dn_data_page_set_document (DN_DATA_PAGE (page), doc);
    dn_test_spin_until (preview_loaded, page, RUN_WAIT);
    g_assert_cmpuint (dn_data_page_get_n_preview (DN_DATA_PAGE (page)), ==, 24);
    g_assert_nonnull (strstr (dn_data_page_get_summary (DN_DATA_PAGE (page)), "10 classes"));

    /* a CSV file: a table, the label column by name */
    g_autofree char *dir = dn_test_tmpdir ();
    const char *text = "a,b,species\n1,2,x\n3,4,y\n5,6,x\n7,8,z\n";
    g_autofree char *csv = dn_test_write_file (dir, "t.csv", text, strlen (text));
    DnExperiment *exp = dn_document_get_experiment (doc);
    g_free (exp->data_format);
    exp->data_format = g_strdup ("csv");
    exp->data_path = g_strdup (csv);
    exp->label_column = g_strdup ("species");
    dn_document_changed (doc, DN_CHANGE_DATA);
    dn_test_spin_until (preview_loaded, page, RUN_WAIT);
    g_assert_cmpuint (dn_data_page_get_n_preview (DN_DATA_PAGE (page)), ==, 4);
    g_assert_nonnull (strstr (dn_data_page_get_summary (DN_DATA_PAGE (page)), "3 classes"));
    g_object_unref (page);
    dn_test_tmpdir_remove (dir);
}

/* The examples folder holds the templates; the output folder is the preference when
 * it is set, else "Dendrite Studio" in the documents (or home) folder. */
static void test_paths (void)
{
    g_autofree char *examples = dn_paths_examples_dir ();
    g_autofree char *cnn = g_build_filename (examples, "mnist-cnn.json", NULL);
    g_assert_true (g_file_test (cnn, G_FILE_TEST_IS_REGULAR));
    g_autofree char *fallback = dn_paths_output_folder (NULL);
    g_autofree char *base = g_path_get_basename (fallback);
    g_assert_cmpstr (base, ==, "Dendrite Studio");

    g_autoptr (GError) error = NULL;
    g_autoptr (GSettingsSchemaSource) src =
        g_settings_schema_source_new_from_directory (DN_BUILD_SCHEMA_DIR, NULL, FALSE, &error);
    g_assert_no_error (error);
    g_autoptr (GSettingsSchema) schema = g_settings_schema_source_lookup (src, DN_APP_ID, FALSE);
    g_assert_nonnull (schema);
    g_autoptr (GSettings) settings = g_settings_new_full (schema, NULL, NULL);
    g_autofree char *unset = dn_paths_output_folder (settings);
    g_assert_cmpstr (unset, ==, fallback);
    g_settings_set_string (settings, "output-folder", "/srv/runs");
    g_autofree char *set = dn_paths_output_folder (settings);
    g_assert_cmpstr (set, ==, "/srv/runs");
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    if (!gtk_init_check ()) {
        g_test_skip ("no display");
        g_print ("1..0 # SKIP no display\n");
        return 77;
    }
    adw_init ();
    g_test_add_func ("/app/network-info/mnist-cnn", test_network_info_cnn);
    g_test_add_func ("/app/network-info/error-on-the-breaking-layer",
                     test_network_info_error_layer);
    g_test_add_func ("/app/network-page/rows", test_network_page_rows);
    g_test_add_func ("/app/settings/round-trip", test_settings_round_trip);
    g_test_add_func ("/app/settings/layer-selection", test_layer_selection);
    g_test_add_func ("/app/chart-widget/recorded-history", test_chart_widget);
    g_test_add_func ("/app/data-page/preview", test_data_page_preview);
    g_test_add_func ("/app/results/remaining-error", test_remaining_error);
    g_test_add_func ("/app/trainer/run-and-export", test_trainer_run_and_export);
    g_test_add_func ("/app/trainer/stop-and-resume", test_trainer_stop_resume);
    g_test_add_func ("/app/trainer/run-folder-choice", test_run_folder_choice);
    g_test_add_func ("/app/paths", test_paths);
    return g_test_run ();
}
