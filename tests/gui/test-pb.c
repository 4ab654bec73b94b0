/* test-pb.c: correlation-trained dendrites (Perforated Backpropagation) in the window.
 *
 * On the Dendrites page, choosing Correlation shows the PB settings (the
 * specialist ones under Advanced Settings), writes what is set to the
 * experiment, and a saved and reopened experiment shows the same. A short run
 * of the mlp-pb example in the window draws, live, a red line where its
 * dendrite phase starts and fills the fourth chart with each layer's candidate
 * correlation while the status card says which set the candidates train for;
 * after the phase a blue line marks the return to neuron training. Screenshots
 * at 1280×800 and 800×600, light and dark, go to DN_SCREENSHOT_DIR when it is set.
 */
#include "dn-chart-widget.h"
#include "dn-gui-test.h"
#include "dn-run-snapshot.h"
#include "dn-templates.h"
#include "dn-test-util.h"
#include "dn-window-private.h"

#include <adwaita.h>
#include <string.h>

#define RUN_WAIT 300.0

/* the PB settings on the page: shown without Advanced Settings, and with them only */
static const char *const basic_keys[] = {"p_epochs_to_switch", "pai_improvement_threshold",
                                         "initial_correlation_batches"};
static const char *const advanced_keys[] = {
    "pai_improvement_threshold_raw", "cap_at_n",
    "learn_dendrites_live",          "normalized_covariance",
    "correlations_by_mean",          "candidate_grad_clipping"};

static GtkWidget *editor (DnGuiWindow *f, const char *key)
{
    GtkWidget *w = dn_dendrites_page_get_editor (f->win->dendrites_page, key);
    g_assert_nonnull (w);
    return w;
}

static void assert_shown (DnGuiWindow *f, const char *const *keys, guint n, gboolean shown)
{
    for (guint i = 0; i < n; i++)
        if (gtk_widget_is_visible (editor (f, keys[i])) != shown)
            g_error ("%s is %s", keys[i], shown ? "hidden" : "shown");
}

static void set_spin (DnGuiWindow *f, const char *key, double v)
{
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (editor (f, key)), v);
}

static void set_switch (DnGuiWindow *f, const char *key, gboolean on)
{
    gtk_switch_set_active (GTK_SWITCH (editor (f, key)), on);
}

static void set_dark (gboolean dark)
{
    adw_style_manager_set_color_scheme (adw_style_manager_get_default (),
                                        dark ? ADW_COLOR_SCHEME_FORCE_DARK
                                             : ADW_COLOR_SCHEME_FORCE_LIGHT);
    dn_test_pump (0.3);
}

/* The window at both sizes, light and dark: NAME-1280x800-light.png and so on. */
static void shoot (DnGuiWindow *f, const char *name)
{
    static const int sizes[][2] = {{1280, 800}, {800, 600}};
    for (guint k = 0; k < G_N_ELEMENTS (sizes); k++) {
        gtk_window_set_default_size (GTK_WINDOW (f->win), sizes[k][0], sizes[k][1]);
        gtk_widget_set_size_request (GTK_WIDGET (f->win), sizes[k][0], sizes[k][1]);
        for (int dark = 0; dark < 2; dark++) {
            set_dark (dark);
            dn_test_pump (0.5); /* the charts render off the main thread */
            g_autofree char *file = g_strdup_printf ("%s-%dx%d-%s.png", name, sizes[k][0],
                                                     sizes[k][1], dark ? "dark" : "light");
            dn_gui_test_save_shot (GTK_WIDGET (f->win), file);
        }
    }
    set_dark (FALSE);
    gtk_widget_set_size_request (GTK_WIDGET (f->win), 1280, 800);
    gtk_window_set_default_size (GTK_WINDOW (f->win), 1280, 800);
    dn_test_pump (0.3);
}

/* ---- the settings ---- */

static void test_settings (void)
{
    DnGuiWindow f;
    dn_gui_test_window_open (&f, 1280, 800);
    DnDocument *doc = dn_gui_test_load_template ("mlp-dendrites");
    dn_window_set_document (f.win, doc);
    _dn_window_show_page_at (f.win, 1);
    dn_test_pump (0.2);
    DnExperiment *exp = dn_document_get_experiment (doc);
    g_assert_false (exp->tracker.perforated_backpropagation);

    /* gradient descent: the choice is there, the PB settings are not */
    AdwComboRow *training = ADW_COMBO_ROW (editor (&f, "perforated_backpropagation"));
    g_assert_true (gtk_widget_is_visible (GTK_WIDGET (training)));
    g_assert_cmpuint (adw_combo_row_get_selected (training), ==, 0);
    g_assert_cmpuint (g_list_model_get_n_items (adw_combo_row_get_model (training)), ==, 2);
    AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (
        gtk_widget_get_ancestor (GTK_WIDGET (training), ADW_TYPE_PREFERENCES_GROUP));
    g_assert_nonnull (
        strstr (adw_preferences_group_get_description (group), "together with the neurons"));
    assert_shown (&f, basic_keys, G_N_ELEMENTS (basic_keys), FALSE);
    assert_shown (&f, advanced_keys, G_N_ELEMENTS (advanced_keys), FALSE);

    /* correlation: the main PB settings, the rest under Advanced Settings */
    adw_combo_row_set_selected (training, 1);
    dn_test_pump (0.1);
    g_assert_true (exp->tracker.perforated_backpropagation);
    g_assert_true (dn_document_get_modified (doc));
    g_assert_nonnull (
        strstr (adw_preferences_group_get_description (group), "error each neuron still makes"));
    assert_shown (&f, basic_keys, G_N_ELEMENTS (basic_keys), TRUE);
    assert_shown (&f, advanced_keys, G_N_ELEMENTS (advanced_keys), FALSE);
    /* each says what it does in plain words */
    for (guint i = 0; i < G_N_ELEMENTS (basic_keys); i++) {
        GtkWidget *row = gtk_widget_get_ancestor (editor (&f, basic_keys[i]), ADW_TYPE_ACTION_ROW);
        g_assert_nonnull (row);
        const char *sub = adw_action_row_get_subtitle (ADW_ACTION_ROW (row));
        g_assert_true (sub != NULL && strstr (sub, "(default") != NULL);
    }
    gtk_widget_grab_focus (GTK_WIDGET (training)); /* scrolled into view, as a person would */
    dn_gui_test_save_shot (GTK_WIDGET (f.win), "pb-dendrites-page-basic.png");
    set_switch (&f, "advanced", TRUE);
    dn_test_pump (0.1);
    assert_shown (&f, advanced_keys, G_N_ELEMENTS (advanced_keys), TRUE);

    /* values as a person sets them; the spin buttons keep them in range */
    set_spin (&f, "p_epochs_to_switch", 0);
    g_assert_cmpint (exp->tracker.p_epochs_to_switch, ==, 1);
    set_spin (&f, "p_epochs_to_switch", 3);
    set_spin (&f, "pai_improvement_threshold", -1);
    g_assert_cmpfloat (exp->tracker.pai_improvement_threshold, ==, 0);
    set_spin (&f, "pai_improvement_threshold", 0.25);
    set_spin (&f, "pai_improvement_threshold_raw", 0.0005);
    set_spin (&f, "initial_correlation_batches", 7);
    set_spin (&f, "candidate_grad_clipping", 1.5);
    set_switch (&f, "cap_at_n", TRUE);
    set_switch (&f, "learn_dendrites_live", TRUE);
    set_switch (&f, "normalized_covariance", FALSE);
    set_switch (&f, "correlations_by_mean", FALSE);
    g_assert_cmpint (exp->tracker.p_epochs_to_switch, ==, 3);
    g_assert_cmpfloat_with_epsilon (exp->tracker.pai_improvement_threshold, 0.25, 1e-12);
    g_assert_cmpint (exp->selection.pb.initial_correlation_batches, ==, 7);
    g_assert_false (exp->selection.pb.normalized_covariance);

    /* saved and opened again: the same choice and values, shown as saved */
    g_autofree char *path = g_build_filename (f.dir, "pb.json", NULL);
    g_autoptr (GFile) file = g_file_new_for_path (path);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_document_save (doc, file, &error));
    g_assert_no_error (error);
    g_autoptr (DnExperiment) back = dn_experiment_load (path, &error);
    g_assert_no_error (error);
    g_assert_true (back->tracker.perforated_backpropagation);
    g_assert_cmpint (back->tracker.p_epochs_to_switch, ==, 3);
    g_assert_cmpfloat_with_epsilon (back->tracker.pai_improvement_threshold, 0.25, 1e-12);
    g_assert_cmpfloat_with_epsilon (back->tracker.pai_improvement_threshold_raw, 0.0005, 1e-12);
    g_assert_true (back->tracker.cap_at_n);
    g_assert_cmpint (back->selection.pb.initial_correlation_batches, ==, 7);
    g_assert_cmpfloat_with_epsilon (back->selection.pb.candidate_grad_clipping, 1.5, 1e-12);
    g_assert_true (back->selection.pb.learn_dendrites_live);
    g_assert_false (back->selection.pb.normalized_covariance);
    g_assert_false (back->selection.pb.correlations_by_mean);

    /* gradient descent again on a fresh template hides them ... */
    dn_window_set_document (f.win, dn_gui_test_load_template ("mlp-dendrites"));
    dn_test_pump (0.2);
    g_assert_cmpuint (adw_combo_row_get_selected (training), ==, 0);
    assert_shown (&f, basic_keys, G_N_ELEMENTS (basic_keys), FALSE);
    /* ... and the saved file brings them back */
    dn_window_set_document (f.win, dn_document_new (g_steal_pointer (&back), NULL));
    dn_test_pump (0.2);
    g_assert_cmpuint (adw_combo_row_get_selected (training), ==, 1);
    assert_shown (&f, basic_keys, G_N_ELEMENTS (basic_keys), TRUE);
    g_assert_cmpint (gtk_spin_button_get_value_as_int (
                         GTK_SPIN_BUTTON (editor (&f, "initial_correlation_batches"))),
                     ==, 7);
    g_assert_false (gtk_switch_get_active (GTK_SWITCH (editor (&f, "normalized_covariance"))));
    set_switch (&f, "advanced", FALSE);
    gtk_widget_grab_focus (GTK_WIDGET (training));
    shoot (&f, "pb-dendrites-page");
    dn_gui_test_window_close (&f);
}

/* ---- a run ---- */

typedef struct {
    DnGuiWindow f;
    int stops;          /* 1: stopped inside the dendrite phase, 2: also after it */
    char *phase_status; /* the status card's text at the first stop */
    int installed_at;   /* the epoch first seen with the new set in neuron training */
} Run;

/* The newest history row in dendrite mode (a dendrite-phase epoch), the phase still open. */
static gboolean in_phase (DnRunSnapshot *s)
{
    const DnTracker *t = dn_run_snapshot_get_tracker (s);
    int n = 0;
    const DnTrackerEpoch *rows = t != NULL ? dn_tracker_epochs (t, &n) : NULL;
    return n > 0 && rows[n - 1].mode == DN_TRACKER_MODE_DENDRITE && s->status != NULL &&
           strstr (s->status, "training candidates") != NULL;
}

/* Stops the run at the first progress that shows a dendrite-phase epoch, as a
 * person watching it would, with the phase still going; resumed, at the first
 * that shows neuron training with the new set (a later rejection of the set
 * would roll the phase back into the faint history). */
static void on_progress (DnTrainer *trainer, DnRunSnapshot *s, Run *r)
{
    if (r->stops == 0 && in_phase (s)) {
        r->phase_status = dn_training_page_get_status_text (r->f.win->training_page);
    } else if (r->stops == 1 && s->status != NULL &&
               strstr (s->status, "euron phase, 1 dendrite set") != NULL) {
        /* two epochs of neuron training with the new set, so the blue line stands clear */
        if (r->installed_at == 0)
            r->installed_at = s->epoch;
        if (s->epoch < r->installed_at + 2)
            return;
    } else {
        return;
    }
    r->stops++;
    gtk_widget_activate_action (GTK_WIDGET (r->f.win), "win.stop", NULL);
}

static gboolean run_ended (gpointer data)
{
    Run *r = data;
    return !dn_trainer_is_running (r->f.win->trainer);
}

static DnChartWidget *chart (Run *r, DnChartKind kind)
{
    return DN_CHART_WIDGET (dn_training_page_get_chart (r->f.win->training_page, kind));
}

static gboolean charts_settled (gpointer data)
{
    Run *r = data;
    for (int k = 0; k < DN_CHART_N_KINDS; k++)
        if (!dn_chart_widget_is_settled (chart (r, k)))
            return FALSE;
    return TRUE;
}

static gboolean has_legend (DnChartWidget *c, const char *prefix)
{
    const DnChartPlotArea *a = dn_chart_widget_get_plot_area (c);
    for (int i = 0; a->valid && i < a->n_legend; i++)
        if (g_str_has_prefix (a->legend[i].label, prefix))
            return TRUE;
    return FALSE;
}

static void wait_charts (Run *r)
{
    dn_test_pump (0.3);
    dn_test_spin_until (charts_settled, r, 30.0);
}

static void test_run (void)
{
    Run r = {0};
    dn_gui_test_window_open (&r.f, 1280, 800);
    DnDocument *doc = dn_gui_test_load_template ("mlp-pb");
    DnExperiment *exp = dn_document_get_experiment (doc);
    exp->epochs = 40; /* the first phase starts after about 14 epochs and lasts about 13 */
    dn_window_set_document (r.f.win, doc);
    _dn_window_show_page_at (r.f.win, 3);
    g_signal_connect (r.f.win->trainer, "progress", G_CALLBACK (on_progress), &r);
    gtk_widget_activate_action (GTK_WIDGET (r.f.win), "win.start", NULL);
    dn_test_spin_until (run_ended, &r, RUN_WAIT);
    g_assert_cmpint (r.stops, ==, 1);
    DnRunSnapshot *s = dn_training_page_get_snapshot (r.f.win->training_page);
    g_assert_cmpint (s->state, ==, DN_RUN_STOPPED);

    /* inside the phase: the status card names the set the candidates train for */
    g_test_message ("status in the phase: %s", r.phase_status);
    g_assert_nonnull (strstr (r.phase_status, "Dendrite phase"));
    g_assert_nonnull (strstr (r.phase_status, "training candidates for set 1"));
    /* a red line where it started, no blue one yet, the phase's epochs marked */
    wait_charts (&r);
    DnChartWidget *scores = chart (&r, DN_CHART_SCORES);
    g_assert_true (has_legend (scores, "dendrite phase starts"));
    g_assert_true (has_legend (scores, "dendrite learning"));
    g_assert_false (has_legend (scores, "+1 dendrite set"));
    /* the fourth chart: each layer's best and this phase's best candidate correlation */
    DnChartWidget *corr = chart (&r, DN_CHART_CORRELATION);
    const char *said = dn_chart_widget_get_description (corr);
    g_test_message ("fourth chart: %s", said);
    g_assert_nonnull (strstr (said, "fc1 best"));
    g_assert_nonnull (strstr (said, "(this phase"));
    g_assert_true (has_legend (corr, "phase: fc1"));
    g_assert_true (has_legend (corr, "phase: fc2"));
    shoot (&r.f, "pb-training-in-phase");

    /* resumed: the phase ends, the best candidates are installed, a blue line */
    gtk_widget_activate_action (GTK_WIDGET (r.f.win), "win.resume", NULL);
    dn_test_pump (0.1);
    dn_test_spin_until (run_ended, &r, RUN_WAIT);
    s = dn_training_page_get_snapshot (r.f.win->training_page);
    g_assert_cmpint (r.stops, ==, 2);
    g_assert_cmpint (s->state, ==, DN_RUN_STOPPED);
    g_assert_cmpint (s->dendrites, ==, 1);
    g_autofree char *after_status = dn_training_page_get_status_text (r.f.win->training_page);
    g_assert_nonnull (strstr (after_status, "Neuron phase, 1 dendrite set"));
    gboolean installed = FALSE;
    for (guint i = 0; i < s->log->len; i++)
        installed |= strstr (s->log->pdata[i], "installing dendrite set 1") != NULL;
    g_assert_true (installed);
    wait_charts (&r);
    g_assert_true (has_legend (scores, "dendrite phase starts"));
    g_assert_true (has_legend (scores, "+1 dendrite set"));
    for (int k = 0; k < DN_CHART_N_KINDS; k++)
        g_assert_true (dn_chart_widget_get_plot_area (chart (&r, k))->valid);
    g_assert_nonnull (strstr (dn_chart_widget_get_description (corr), "fc2 best"));
    shoot (&r.f, "pb-training-after");
    g_signal_handlers_disconnect_by_data (r.f.win->trainer, &r);
    g_free (r.phase_status);
    dn_gui_test_window_close (&r.f);
}

/* The example is offered as a template, under a title that says what it is. */
static void test_template (void)
{
    g_autoptr (GPtrArray) templates = dn_templates_list ();
    const DnTemplate *found = NULL;
    for (guint i = 0; i < templates->len; i++) {
        const DnTemplate *t = templates->pdata[i];
        if (g_str_equal (t->id, "mlp-pb"))
            found = t;
    }
    g_assert_nonnull (found);
    g_assert_nonnull (strstr (found->title, "Correlation"));
    g_assert_nonnull (strstr (found->description, "dendrite phase"));
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/app/pb/template", test_template);
    g_test_add_func ("/app/pb/settings", test_settings);
    g_test_add_func ("/app/pb/run", test_run);
    return g_test_run ();
}
