/* test-continual.c: continual learning (Active Dendrites on permuted tasks) in
 * the app, in a real display (Xvfb).
 *
 * The template, the Data page's permuted-tasks rows writing exactly what the
 * experiment file reads back, the task-accuracy and activity charts drawing a
 * recorded run and saying what they show, and a short real run on two tasks
 * whose task events update the Training page's chart, status and the results.
 */
#include "dn-chart-widget.h"
#include "dn-data-page.h"
#include "dn-dendrites-page.h"
#include "dn-document.h"
#include "dn-export.h"
#include "dn-layer-catalog.h"
#include "dn-network-page.h"
#include "dn-results-page.h"
#include "dn-templates.h"
#include "dn-gui-test.h"
#include "dn-test-util.h"
#include "dn-trainer.h"
#include "dn-training-page.h"

#include <adwaita.h>
#include <math.h>
#include <string.h>

/* Limits on waits for something that must happen: reached only when it never does, so
 * they are far beyond what a loaded machine needs (the waits end as soon as it happens). */
#define CHART_WAIT 60.0
#define RUN_WAIT 600.0

static DnExperiment *save_and_load (DnDocument *doc, const char *dir, const char *name)
{
    g_autofree char *path = g_build_filename (dir, name, NULL);
    g_autoptr (GFile) file = g_file_new_for_path (path);
    GError *error = NULL;
    g_assert_true (dn_document_save (doc, file, &error));
    g_assert_no_error (error);
    DnExperiment *exp = dn_experiment_load (path, &error);
    g_assert_no_error (error);
    return exp;
}

/* ---- the template ---- */

static void test_template (void)
{
    g_autoptr (GPtrArray) templates = dn_templates_list ();
    const DnTemplate *ad = NULL, *mlp = NULL;
    guint n_continual = 0;
    for (guint i = 0; i < templates->len; i++) {
        const DnTemplate *t = templates->pdata[i];
        if (g_str_has_prefix (t->id, "continual/"))
            n_continual++;
        if (g_str_equal (t->id, "continual/prototype_10"))
            ad = t;
        if (g_str_equal (t->id, "continual/three_layer_mlp_10"))
            mlp = t;
    }
    /* two templates, not the folder's 42 configurations */
    g_assert_cmpuint (n_continual, ==, 2);
    g_assert_nonnull (ad);
    g_assert_nonnull (mlp);
    g_assert_cmpstr (ad->title, ==, "Active Dendrites (continual learning)");
    g_assert_nonnull (strstr (ad->description, "10 permuted-MNIST tasks"));

    /* choosing it gives an experiment with a continual section (what the window does) */
    GError *error = NULL;
    DnExperiment *exp = dn_experiment_load (ad->path, &error);
    g_assert_no_error (error);
    g_assert_true (exp->continual);
    g_assert_false (exp->dendrites);
    g_assert_cmpint (exp->cl.tasks, ==, 10);
    g_assert_cmpint (exp->cl.context, ==, DN_CONTEXT_PROTOTYPE);
    g_assert_cmpint (exp->cl.epochs_per_task, ==, 3);
    g_test_timer_start ();
    g_autoptr (DnDocument) doc = dn_document_new (exp, NULL);
    g_test_message ("network analysis of prototype_10: %.2f s", g_test_timer_elapsed ());

    /* the layer editor knows the new kinds: shapes and parameter counts from the engine */
    g_assert_nonnull (dn_layer_catalog_lookup ("active_dendrite"));
    g_assert_nonnull (dn_layer_catalog_lookup ("sparse_linear"));
    g_assert_nonnull (dn_layer_catalog_lookup ("kwta"));
    const DnNetworkInfo *info = dn_document_get_network_info (doc);
    g_assert_true (info->ok);
    GtkWidget *page = g_object_ref_sink (g_object_new (DN_TYPE_NETWORK_PAGE, NULL));
    dn_network_page_set_document (DN_NETWORK_PAGE (page), doc);
    g_assert_cmpuint (dn_network_page_n_rows (DN_NETWORK_PAGE (page)), ==, 6);
    /* fc1: 2048 x 784 weights + 2048 biases + 2048 x 10 x 784 segment weights */
    g_autofree char *count = dn_format_count (2048 * 784 + 2048 + 2048 * 10 * 784);
    g_autofree char *want = g_strdup_printf ("|2048|%s|", count);
    g_autofree char *fc1 = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 1);
    g_test_message ("%s", fc1);
    g_assert_true (g_str_has_prefix (fc1, "fc1|ActiveDendrite|"));
    g_assert_nonnull (strstr (fc1, want));
    g_assert_true (g_str_has_suffix (fc1, "|")); /* no error */
    g_autofree char *kwta = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 2);
    g_assert_true (g_str_has_prefix (kwta, "kwta1|KWinners|"));
    g_autofree char *head = dn_network_page_describe_row (DN_NETWORK_PAGE (page), 5);
    g_assert_true (g_str_has_prefix (head, "head|SparseLinear|"));
    g_assert_nonnull (strstr (head, "|10|"));

    /* the palette adds an active dendrite layer that builds */
    g_autoptr (DnDocument) small = dn_gui_test_load_template ("mlp");
    guint pos = dn_document_insert_layer (small, 2, "active_dendrite");
    g_assert_true (dn_document_get_network_info (small)->ok);
    DnLayerInfo *added = g_ptr_array_index (dn_document_get_network_info (small)->layers, pos);
    g_assert_cmpstr (added->type, ==, "active_dendrite");
    g_assert_cmpstr (added->output, ==, "256");
    g_assert_cmpint (added->params, >, 256 * 10 * 784);
    g_object_unref (page);
}

/* ---- the Data page: permuted tasks round-trip to the file ---- */

static gboolean sensitive (GtkWidget *w)
{
    return gtk_widget_get_sensitive (w);
}

static void toggle (GtkWidget *row, gboolean on)
{
    adw_expander_row_set_enable_expansion (ADW_EXPANDER_ROW (row), on);
}

static int layer_context_dim (DnDocument *doc, guint i)
{
    return (int) json_object_get_int_member_with_default (dn_document_get_layer (doc, i),
                                                          "context_dim", 0);
}

static void test_data_page_round_trip (void)
{
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("mlp");
    GtkWidget *page = g_object_ref_sink (g_object_new (DN_TYPE_DATA_PAGE, NULL));
    DnDataPage *dp = DN_DATA_PAGE (page);
    dn_data_page_set_document (dp, doc);
    GtkWidget *row = dn_data_page_get_editor (dp, "continual");
    g_assert_true (sensitive (row));
    g_assert_false (adw_expander_row_get_enable_expansion (ADW_EXPANDER_ROW (row)));

    /* on: a continual section, evaluated on the test split */
    toggle (row, TRUE);
    DnExperiment *exp = dn_document_get_experiment (doc);
    g_assert_true (exp->continual);
    g_assert_cmpfloat (exp->val_fraction, ==, 0.0);
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (dn_data_page_get_editor (dp, "tasks")), 5);
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (dn_data_page_get_editor (dp, "epochs_per_task")),
                               2);
    adw_combo_row_set_selected (ADW_COMBO_ROW (dn_data_page_get_editor (dp, "context")),
                                DN_CONTEXT_TASK_ID);
    g_autoptr (DnExperiment) back = save_and_load (doc, dir, "on.json");
    g_assert_true (back->continual);
    g_assert_cmpint (back->cl.tasks, ==, 5);
    g_assert_cmpint (back->cl.epochs_per_task, ==, 2);
    g_assert_cmpint (back->cl.context, ==, DN_CONTEXT_TASK_ID);
    g_assert_cmpint (back->cl.permutation_seed, ==, 42); /* untouched settings keep theirs */
    g_assert_cmpfloat (back->val_fraction, ==, 0.0);
    g_autofree char *text = NULL;
    g_autofree char *on_path = g_build_filename (dir, "on.json", NULL);
    g_assert_true (g_file_get_contents (on_path, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "\"continual\""));

    /* the Dendrites page cannot turn dendrites on meanwhile */
    GtkWidget *dpage = g_object_ref_sink (g_object_new (DN_TYPE_DENDRITES_PAGE, NULL));
    dn_dendrites_page_set_document (DN_DENDRITES_PAGE (dpage), doc);
    GtkWidget *sw = dn_dendrites_page_get_editor (DN_DENDRITES_PAGE (dpage), "dendrites");
    g_assert_false (gtk_widget_is_sensitive (sw));

    /* off: no section in the file; on again: the settings of this session are back */
    toggle (row, FALSE);
    g_assert_false (exp->continual);
    g_assert_true (gtk_widget_is_sensitive (sw));
    g_autoptr (DnExperiment) off = save_and_load (doc, dir, "off.json");
    g_assert_false (off->continual);
    g_autofree char *off_path = g_build_filename (dir, "off.json", NULL);
    g_autofree char *off_text = NULL;
    g_assert_true (g_file_get_contents (off_path, &off_text, NULL, NULL));
    g_assert_null (strstr (off_text, "\"continual\""));
    toggle (row, TRUE);
    g_assert_cmpint (exp->cl.tasks, ==, 5);

    /* dendrites on: permuted tasks are off limits */
    toggle (row, FALSE);
    gtk_switch_set_active (GTK_SWITCH (sw), TRUE);
    g_assert_true (exp->dendrites);
    g_assert_false (sensitive (row));
    gtk_switch_set_active (GTK_SWITCH (sw), FALSE);
    g_assert_true (sensitive (row));
    /* and for a CSV file: the tasks permute pixels */
    g_free (exp->data_format);
    exp->data_format = g_strdup ("csv");
    dn_document_changed (doc, DN_CHANGE_DATA);
    g_assert_false (sensitive (row));
    g_free (exp->data_format);
    exp->data_format = g_strdup ("idx");
    dn_document_changed (doc, DN_CHANGE_DATA);
    g_assert_true (sensitive (row));

    /* the Active Dendrites template: the context's length follows the choice */
    g_autoptr (DnDocument) ad = dn_gui_test_load_template ("continual/prototype_10");
    dn_data_page_set_document (dp, ad);
    g_assert_true (adw_expander_row_get_enable_expansion (ADW_EXPANDER_ROW (row)));
    g_assert_cmpint (
        gtk_spin_button_get_value_as_int (GTK_SPIN_BUTTON (dn_data_page_get_editor (dp, "tasks"))),
        ==, 10);
    g_assert_cmpint (layer_context_dim (ad, 1), ==, 784);
    adw_combo_row_set_selected (ADW_COMBO_ROW (dn_data_page_get_editor (dp, "context")),
                                DN_CONTEXT_TASK_ID);
    g_assert_cmpint (layer_context_dim (ad, 1), ==, 10);
    g_assert_cmpint (layer_context_dim (ad, 3), ==, 10);
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (dn_data_page_get_editor (dp, "tasks")), 4);
    g_assert_cmpint (layer_context_dim (ad, 3), ==, 4);
    /* named for its task count, the name follows it: title, sidebar and folder agree */
    g_assert_cmpstr (dn_document_get_experiment (ad)->name, ==, "prototype_4");
    g_assert_true (dn_document_get_network_info (ad)->ok);
    g_autoptr (DnExperiment) ad_back = save_and_load (ad, dir, "ad.json");
    g_assert_cmpint (ad_back->cl.tasks, ==, 4);
    g_assert_cmpstr (ad_back->name, ==, "prototype_4");
    g_assert_cmpint (ad_back->cl.context, ==, DN_CONTEXT_TASK_ID);
    adw_combo_row_set_selected (ADW_COMBO_ROW (dn_data_page_get_editor (dp, "context")),
                                DN_CONTEXT_PROTOTYPE);
    g_assert_cmpint (layer_context_dim (ad, 1), ==, 784);

    g_object_unref (dpage);
    g_object_unref (page);
    dn_test_tmpdir_remove (dir);
}

/* ---- the task charts, on a recorded run ---- */

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

/* A run of 4 tasks stopped after 3: row t after task t, NaN where not measured;
 * the first task is slowly forgotten. */
static DnRunSnapshot *recorded_run (int rows)
{
    static const double acc[4][4] = {
        {97.5, NAN, NAN, NAN},
        {95.0, 97.0, NAN, NAN},
        {92.5, 95.5, 96.5, NAN},
        {90.0, 94.0, 95.5, 97.0},
    };
    DnRunSnapshot *s = dn_run_snapshot_new ();
    s->state = rows == 4 ? DN_RUN_FINISHED : DN_RUN_TRAINING;
    s->tasks = 4;
    double *m = g_new (double, 16);
    for (int i = 0; i < 16; i++)
        m[i] = i / 4 < rows ? acc[i / 4][i % 4] : NAN;
    s->accuracy = g_bytes_new_take (m, 16 * sizeof (double));
    return s;
}

/* Pixels of the widget's picture that are not background (alpha > 0), and how many
 * of them are saturated colour (the task lines). */
static void count_pixels (GtkWidget *w, const char *shot, guint *painted, guint *coloured)
{
    int width = gtk_widget_get_width (w), height = gtk_widget_get_height (w);
    GdkPaintable *p = gtk_widget_paintable_new (w);
    GtkSnapshot *s = gtk_snapshot_new ();
    gdk_paintable_snapshot (p, s, width, height);
    GskRenderNode *node = gtk_snapshot_free_to_node (s);
    GskRenderer *r = gtk_native_get_renderer (gtk_widget_get_native (w));
    g_assert_nonnull (node);
    g_assert_nonnull (r);
    GdkTexture *tex = gsk_renderer_render_texture (r, node, NULL);
    int tw = gdk_texture_get_width (tex), th = gdk_texture_get_height (tex);
    guint8 *px = g_malloc ((gsize) tw * th * 4);
    gdk_texture_download (tex, px, (gsize) tw * 4);
    *painted = *coloured = 0;
    for (int i = 0; i < tw * th; i++) {
        const guint8 *c = px + (gsize) i * 4; /* B G R A, premultiplied */
        if (c[3] == 0)
            continue;
        (*painted)++;
        int hi = MAX (c[0], MAX (c[1], c[2])), lo = MIN (c[0], MIN (c[1], c[2]));
        if (c[3] > 200 && hi - lo > 50)
            (*coloured)++;
    }
    const char *dir = g_getenv ("DN_SCREENSHOT_DIR");
    if (shot != NULL && dir != NULL) {
        g_autofree char *path = g_build_filename (dir, shot, NULL);
        gdk_texture_save_to_png (tex, path);
    }
    g_free (px);
    g_object_unref (tex);
    gsk_render_node_unref (node);
    g_object_unref (p);
}

static void test_task_chart (void)
{
    GtkWidget *win = gtk_window_new ();
    gtk_window_set_default_size (GTK_WINDOW (win), 720, 420);
    GtkWidget *chart = dn_chart_widget_new (DN_CHART_WIDGET_TASKS);
    DnChartWidget *cw = DN_CHART_WIDGET (chart);
    gtk_window_set_child (GTK_WINDOW (win), chart);
    g_assert_nonnull (strstr (dn_chart_widget_get_description (cw), "no continual run yet"));
    DnRunSnapshot *snap = recorded_run (3);
    dn_chart_widget_set_snapshot (cw, snap);
    gtk_window_present (GTK_WINDOW (win));
    dn_test_spin_until (settled, chart, CHART_WAIT);
    g_assert_true (dn_chart_widget_is_settled (cw));
    g_assert_cmpuint (dn_chart_widget_get_n_draws (cw), >, 0);
    dn_test_pump (0.3); /* the window paints the picture */
    const char *desc = dn_chart_widget_get_description (cw);
    g_test_message ("description: %s", desc);
    g_assert_nonnull (strstr (desc, "Accuracy after 3 of 4 tasks"));
    g_assert_nonnull (strstr (desc, "task 1 92.5")); /* tasks counted from 1, as the app does */
    guint painted, coloured;
    count_pixels (chart, "task-chart.png", &painted, &coloured);
    g_test_message ("%u painted pixels, %u in colour", painted, coloured);
    g_assert_cmpuint (painted, >, 2000);
    g_assert_cmpuint (coloured, >, 300); /* three task lines */

    /* a batch update (the same matrix) draws nothing; the next task's row does */
    dn_test_spin_until (settled, chart, CHART_WAIT);
    g_assert_true (dn_chart_widget_is_settled (cw));
    guint before = dn_chart_widget_get_n_draws (cw);
    DnRunSnapshot *same = dn_run_snapshot_new ();
    same->tasks = 4;
    same->accuracy = g_bytes_ref (snap->accuracy);
    same->batch = 9;
    dn_chart_widget_set_snapshot (cw, same);
    g_assert_true (dn_chart_widget_is_settled (cw)); /* nothing to redo */
    dn_test_pump (0.3);
    g_assert_cmpuint (dn_chart_widget_get_n_draws (cw), ==, before);
    DnRunSnapshot *next = recorded_run (4);
    ChartWait wait = {cw, before};
    dn_chart_widget_set_snapshot (cw, next);
    dn_test_spin_until (drawn_again, &wait, CHART_WAIT);
    g_assert_cmpuint (dn_chart_widget_get_n_draws (cw), >, before);
    g_assert_nonnull (strstr (dn_chart_widget_get_description (cw), "Accuracy after 4 of 4"));

    /* the activity map: what it draws and says */
    GtkWidget *act = dn_chart_widget_new (DN_CHART_WIDGET_ACTIVITY);
    gtk_window_set_child (GTK_WINDOW (win), act);
    float *a = g_new0 (float, 4 * 16);
    for (int t = 0; t < 4; t++)
        for (int u = 0; u < 4; u++)
            a[t * 16 + t * 4 + u] = 0.9f; /* units 4t..4t+3 belong to task t */
    next->activity = g_bytes_new_take (a, 4 * 16 * sizeof (float));
    next->activity_units = 16;
    next->activity_layer = g_strdup ("kwta2");
    dn_chart_widget_set_snapshot (DN_CHART_WIDGET (act), next);
    dn_test_spin_until (settled, act, CHART_WAIT);
    g_assert_true (dn_chart_widget_is_settled (DN_CHART_WIDGET (act)));
    dn_test_pump (0.3);
    const char *adesc = dn_chart_widget_get_description (DN_CHART_WIDGET (act));
    g_test_message ("activity: %s", adesc);
    g_assert_nonnull (strstr (adesc, "kwta2"));
    g_assert_nonnull (strstr (adesc, "16 units are active mostly for one task"));
    count_pixels (act, "activity-chart.png", &painted, &coloured);
    g_assert_cmpuint (coloured, >, 500); /* the green cells */

    gtk_window_destroy (GTK_WINDOW (win));
    dn_run_snapshot_unref (snap);
    dn_run_snapshot_unref (same);
    dn_run_snapshot_unref (next);
}

/* ---- a short real run: 2 tasks, a small network ---- */

typedef struct {
    DnTrainingPage *page;
    int finished;
    DnRunSnapshot *final;
    /* the chart's description and the status line in the first snapshot with a task
     * evaluated (coalesced deliveries may skip the one with exactly one) */
    char *after_first;
    char *status_first;
    int first_evaluated;
} RunWatch;

static void on_progress (DnTrainer *t, DnRunSnapshot *s, RunWatch *w)
{
    dn_training_page_set_snapshot (w->page, s);
    if (w->after_first == NULL && dn_run_snapshot_tasks_evaluated (s) >= 1) {
        w->first_evaluated = dn_run_snapshot_tasks_evaluated (s);
        GtkWidget *chart = dn_training_page_get_chart (w->page, DN_CHART_WIDGET_TASKS);
        w->after_first = g_strdup (dn_chart_widget_get_description (DN_CHART_WIDGET (chart)));
        w->status_first = dn_training_page_get_status_text (w->page);
    }
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

static const char small_network[] =
    "{\"input\": [1, 28, 28], \"layers\": ["
    "{\"name\": \"flatten\", \"type\": \"flatten\"},"
    "{\"name\": \"fc1\", \"type\": \"active_dendrite\", \"out_features\": 64,"
    " \"weight_sparsity\": 0.5, \"segments\": 2, \"context_dim\": 784,"
    " \"context_density\": 0.1},"
    "{\"name\": \"kwta1\", \"type\": \"kwta\", \"percent_on\": 0.1},"
    "{\"name\": \"head\", \"type\": \"sparse_linear\", \"out_features\": 10,"
    " \"weight_sparsity\": 0.5, \"input_density\": 0.1}]}";

static void test_trainer_run (void)
{
    g_autoptr (DnDocument) doc = dn_gui_test_load_template ("continual/prototype_10");
    g_autoptr (JsonNode) net = json_from_string (small_network, NULL);
    g_assert_nonnull (net);
    dn_document_set_network (doc, json_node_copy (net));
    DnExperiment *dexp = dn_document_get_experiment (doc);
    dexp->cl.tasks = 2;
    dexp->cl.epochs_per_task = 1;
    dexp->cl.activity_samples = 1000;
    dexp->optim.lr = 0.001;
    dn_document_changed (doc, DN_CHANGE_DATA | DN_CHANGE_TRAINING);
    g_assert_true (dn_document_get_network_info (doc)->ok);

    GtkWidget *win = gtk_window_new ();
    gtk_window_set_default_size (GTK_WINDOW (win), 1100, 900);
    GtkWidget *page = g_object_new (DN_TYPE_TRAINING_PAGE, NULL);
    gtk_window_set_child (GTK_WINDOW (win), page);
    DnTrainingPage *tp = DN_TRAINING_PAGE (page);
    dn_training_page_set_document (tp, doc);
    gtk_window_present (GTK_WINDOW (win));
    /* before the run, a continual experiment shows the task chart, not the tracker's */
    GtkWidget *tasks = dn_training_page_get_chart (tp, DN_CHART_WIDGET_TASKS);
    GtkWidget *scores = dn_training_page_get_chart (tp, DN_CHART_SCORES);
    g_assert_true (gtk_widget_is_visible (tasks));
    g_assert_false (gtk_widget_is_visible (scores));

    g_autofree char *dir = dn_test_tmpdir ();
    DnTrainerOptions opts = {.out_dir = g_strdup (dir), .threads = 2};
    g_autoptr (DnTrainer) trainer = dn_trainer_new ();
    RunWatch w = {.page = tp};
    g_signal_connect (trainer, "progress", G_CALLBACK (on_progress), &w);
    g_signal_connect (trainer, "finished", G_CALLBACK (on_finished), &w);
    GError *error = NULL;
    g_test_timer_start ();
    g_assert_true (dn_trainer_start (trainer, dn_document_copy_experiment (doc), &opts, &error));
    g_assert_no_error (error);
    dn_test_spin_until (run_finished, &w, RUN_WAIT);
    g_test_message ("two tasks in %.1f s", g_test_timer_elapsed ());
    g_assert_cmpint (w.finished, ==, 1);
    g_assert_cmpstr (w.final->error, ==, NULL);
    g_assert_cmpint (w.final->state, ==, DN_RUN_FINISHED);

    /* the first snapshot with an evaluated task updated the chart and the status line
     * with it; deliveries are coalesced (at most one per 100 ms), so on a fast machine
     * that snapshot may already carry the second task's batches or its evaluation */
    g_assert_nonnull (w.after_first);
    g_test_message ("after task %d: %s | %s", w.first_evaluated, w.after_first, w.status_first);
    g_autofree char *want = g_strdup_printf ("Accuracy after %d of 2 tasks", w.first_evaluated);
    g_assert_nonnull (strstr (w.after_first, want));
    if (w.first_evaluated == 1)
        g_assert_true (strstr (w.status_first, "Task 1 of 2") != NULL ||
                       strstr (w.status_first, "Task 2 of 2") != NULL);

    /* the end: every task measured, the average, the activity map */
    g_assert_cmpint (w.final->tasks, ==, 2);
    g_assert_cmpint (dn_run_snapshot_tasks_evaluated (w.final), ==, 2);
    g_assert_true (isfinite (w.final->average_accuracy));
    g_assert_cmpfloat (w.final->average_accuracy, >, 50.0);
    g_assert_nonnull (dn_run_snapshot_get_activity (w.final));
    g_assert_cmpint (w.final->activity_units, ==, 64);
    const char *desc = dn_chart_widget_get_description (DN_CHART_WIDGET (tasks));
    g_assert_nonnull (strstr (desc, "Accuracy after 2 of 2 tasks"));
    g_autofree char *status = dn_training_page_get_status_text (tp);
    g_test_message ("status: %s", status);
    g_assert_nonnull (strstr (status, "Finished all 2 tasks"));
    g_assert_nonnull (strstr (status, "Average accuracy over all 2 tasks"));
    GtkWidget *act = dn_training_page_get_chart (tp, DN_CHART_WIDGET_ACTIVITY);
    g_assert_true (gtk_widget_is_visible (act));
    dn_test_spin_until (settled, act, CHART_WAIT);
    dn_test_spin_until (settled, tasks, CHART_WAIT);
    g_assert_true (dn_chart_widget_is_settled (DN_CHART_WIDGET (act)));
    g_assert_true (dn_chart_widget_is_settled (DN_CHART_WIDGET (tasks)));
    dn_test_pump (0.3); /* the window paints the pictures */
    guint painted, coloured;
    count_pixels (tasks, NULL, &painted, &coloured);
    g_assert_cmpuint (coloured, >, 100);
    const char *shots = g_getenv ("DN_SCREENSHOT_DIR");
    if (shots != NULL) {
        /* the whole page, for a person to look at */
        GdkPaintable *p = gtk_widget_paintable_new (win);
        GtkSnapshot *s = gtk_snapshot_new ();
        int ww = gtk_widget_get_width (win), wh = gtk_widget_get_height (win);
        gdk_paintable_snapshot (p, s, ww, wh);
        GskRenderNode *node = gtk_snapshot_free_to_node (s);
        GdkTexture *tex =
            gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (win)), node, NULL);
        g_autofree char *path = g_build_filename (shots, "continual-training.png", NULL);
        gdk_texture_save_to_png (tex, path);
        g_object_unref (tex);
        gsk_render_node_unref (node);
        g_object_unref (p);
    }

    /* the run folder reads back as the same run */
    g_autoptr (DnRunSnapshot) back = dn_run_snapshot_new_from_folder (w.final->run_dir, &error);
    g_assert_no_error (error);
    g_assert_cmpint (back->tasks, ==, 2);
    g_assert_cmpint (back->state, ==, DN_RUN_FINISHED);
    g_assert_cmpfloat_with_epsilon (back->average_accuracy, w.final->average_accuracy, 1e-9);
    g_assert_nonnull (dn_run_snapshot_get_activity (back));

    /* the results page shows the average where tracker runs show their best */
    GtkWidget *results = g_object_ref_sink (g_object_new (DN_TYPE_RESULTS_PAGE, NULL));
    dn_results_page_add_run (DN_RESULTS_PAGE (results), w.final);
    g_autofree char *summary = dn_results_page_get_summary (DN_RESULTS_PAGE (results));
    g_assert_nonnull (strstr (summary, "over 2 tasks"));
    g_object_unref (results);

    /* exports: the matrix, the task charts, the model */
    g_autofree char *out = g_build_filename (dir, "export", NULL);
    int files = 0;
    g_assert_true (dn_export_run (w.final, dexp, "all", out, &files, &error));
    g_assert_no_error (error);
    g_assert_cmpint (files, ==, 7);
    g_autofree char *csv = g_build_filename (out, "prototype_10-accuracy_matrix.csv", NULL);
    g_autofree char *svg = g_build_filename (out, "prototype_10-tasks.svg", NULL);
    g_assert_true (g_file_test (csv, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (svg, G_FILE_TEST_EXISTS));
    g_assert_false (dn_export_available (w.final, "best-model", NULL));

    gtk_window_destroy (GTK_WINDOW (win));
    g_free (w.after_first);
    g_free (w.status_first);
    dn_run_snapshot_unref (w.final);
    dn_trainer_options_clear (&opts);
    dn_test_tmpdir_remove (dir);
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
    g_test_add_func ("/continual/template", test_template);
    g_test_add_func ("/continual/data-page/round-trip", test_data_page_round_trip);
    g_test_add_func ("/continual/task-chart/recorded-run", test_task_chart);
    g_test_add_func ("/continual/trainer/two-tasks", test_trainer_run);
    return g_test_run ();
}
