/* dn-window.c: the main window: header bar, sidebar, pages, actions, the run. */
#include "dn-window.h"

#include "dn-busy-indicator.h"
#include "dn-error.h"
#include "dn-data-page.h"
#include "dn-dendrites-page.h"
#include "dn-export.h"
#include "dn-network-page.h"
#include "dn-results-page.h"
#include "dn-run-folder-dialog.h"
#include "dn-templates.h"
#include "dn-training-page.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const page_names[] = {"network", "dendrites", "data", "training", "results"};
#define N_PAGES 5

struct _DnWindow {
    AdwApplicationWindow parent_instance;

    AdwToastOverlay *toast_overlay;
    AdwWindowTitle *window_title;
    GtkButton *start_button;
    GtkButton *stop_button;
    GtkButton *resume_button;
    DnBusyIndicator *spinner;
    GtkStack *main_stack;
    GtkListBox *template_list;
    GtkListBox *nav_list;
    GtkStack *page_stack;
    DnNetworkPage *network_page;
    DnDendritesPage *dendrites_page;
    DnDataPage *data_page;
    DnTrainingPage *training_page;
    DnResultsPage *results_page;

    GtkLabel *nav_subtitles[N_PAGES];
    DnDocument *document;
    DnTrainer *trainer;
    char *resume_dir; /* a stopped run of this experiment that can go on */
    GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (DnWindow, dn_window, ADW_TYPE_APPLICATION_WINDOW)

/* ---- toasts ---- */

void dn_window_toast (DnWindow *self, const char *text)
{
    AdwToast *toast = adw_toast_new (text);
    adw_toast_set_timeout (toast, 4);
    adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void dn_window_toast_folder (DnWindow *self, const char *text, const char *folder)
{
    AdwToast *toast = adw_toast_new (text);
    adw_toast_set_button_label (toast, _ ("Open Folder"));
    adw_toast_set_action_name (toast, "win.open-folder");
    adw_toast_set_action_target_value (toast, g_variant_new_string (folder));
    adw_toast_set_timeout (toast, 8);
    adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

static void show_error (DnWindow *self, const char *heading, const char *body)
{
    GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), heading, body);
    adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _ ("_Close"));
    gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- summaries: the sidebar and the subtitle ---- */

static char *network_summary (DnWindow *self)
{
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    DnExperiment *exp = dn_document_get_experiment (self->document);
    if (!info->ok && info->error_layer >= 0) {
        DnLayerInfo *l = g_ptr_array_index (info->layers, info->error_layer);
        return g_strdup_printf (_ ("error at %s"), l->name);
    }
    if (!info->ok)
        return g_strdup (_ ("does not build"));
    /* short: the sidebar is narrow */
    g_autofree char *params =
        info->total_params >= 1000000 ? g_strdup_printf ("%.1f M", info->total_params / 1e6)
        : info->total_params >= 10000 ? g_strdup_printf ("%.0f k", info->total_params / 1e3)
                                      : dn_format_count (info->total_params);
    if (!exp->dendrites)
        return g_strdup_printf (_ ("%u layers · %s parameters"), info->layers->len, params);
    return g_strdup_printf (ngettext ("%d dendritic layer · %s parameters",
                                      "%d dendritic layers · %s parameters", info->n_dendritic),
                            info->n_dendritic, params);
}

static char *dendrites_summary (DnWindow *self)
{
    DnExperiment *exp = dn_document_get_experiment (self->document);
    if (!exp->dendrites)
        return g_strdup (_ ("off: a run without dendrites"));
    if (exp->tracker.testing_dendrite_capacity)
        return g_strdup (_ ("capacity test"));
    int patience = (int) dn_tracker_list_at (&exp->tracker.n_epochs_to_switch, 0);
    int max = (int) dn_tracker_list_at (&exp->tracker.max_dendrites, 0);
    return g_strdup_printf (_ ("patience %d · up to %d sets"), patience, max);
}

static char *data_summary (DnWindow *self)
{
    DnExperiment *exp = dn_document_get_experiment (self->document);
    g_autofree char *what = NULL;
    if (exp->data_path == NULL)
        what = g_strdup (_ ("MNIST sample"));
    else if (g_str_has_suffix (exp->data_path, "fashion-mnist"))
        what = g_strdup (_ ("Fashion-MNIST"));
    else {
        g_autofree char *base = g_path_get_basename (exp->data_path);
        what = dn_quote_inner (base);
    }
    if (exp->continual)
        return g_strdup_printf (
            ngettext ("%s · %d permuted task", "%s · %d permuted tasks", exp->cl.tasks), what,
            exp->cl.tasks);
    return g_strdup_printf (_ ("%s · %.0f %% validation"), what, exp->val_fraction * 100);
}

static char *training_summary (DnWindow *self)
{
    DnRunSnapshot *s = dn_trainer_get_snapshot (self->trainer);
    switch (s->state) {
    case DN_RUN_IDLE:
        return g_strdup (_ ("not started"));
    case DN_RUN_PREPARING:
        return g_strdup (_ ("starting…"));
    case DN_RUN_FAILED:
        return g_strdup (_ ("failed"));
    default:
        break;
    }
    if (s->tasks > 0) {
        if (s->state == DN_RUN_FINISHED && isfinite (s->average_accuracy))
            return g_strdup_printf (_ ("finished · %.1f %% over %d tasks"), s->average_accuracy,
                                    s->tasks);
        if (s->state == DN_RUN_FINISHED || s->state == DN_RUN_STOPPED)
            return g_strdup_printf (_ ("stopped after %d of %d tasks"), s->tasks_done, s->tasks);
        int task = s->tasks_done > s->task ? s->tasks_done : s->task;
        return g_strdup_printf (_ ("task %d of %d"), MIN (task, s->tasks - 1) + 1, s->tasks);
    }
    const char *state = s->state == DN_RUN_FINISHED  ? _ ("finished")
                        : s->state == DN_RUN_STOPPED ? _ ("stopped")
                                                     : _ ("epoch");
    if (s->dendritic)
        return g_strdup_printf (
            ngettext ("%s %d · %d set", "%s %d · %d sets", s->dendrites), state,
            s->state == DN_RUN_TRAINING || s->state == DN_RUN_STOPPING ? s->epoch + 1 : s->epoch,
            s->dendrites);
    return g_strdup_printf ("%s %d", state, s->state == DN_RUN_TRAINING ? s->epoch + 1 : s->epoch);
}

static void update_summaries (DnWindow *self)
{
    if (self->document == NULL)
        return;
    char *texts[N_PAGES] = {
        network_summary (self),
        dendrites_summary (self),
        data_summary (self),
        training_summary (self),
        dn_results_page_get_summary (self->results_page),
    };
    for (int i = 0; i < N_PAGES; i++) {
        gtk_label_set_label (self->nav_subtitles[i], texts[i]);
        g_free (texts[i]);
    }
}

static void update_title (DnWindow *self)
{
    if (self->document == NULL) {
        adw_window_title_set_title (self->window_title, _ ("Dendrite Studio"));
        adw_window_title_set_subtitle (self->window_title, "");
        gtk_window_set_title (GTK_WINDOW (self), _ ("Dendrite Studio"));
        return;
    }
    DnExperiment *exp = dn_document_get_experiment (self->document);
    g_autofree char *title =
        g_strdup_printf ("%s%s", dn_document_get_modified (self->document) ? "• " : "", exp->name);
    adw_window_title_set_title (self->window_title, title);
    g_autofree char *win_title = g_strdup_printf (_ ("%s — Dendrite Studio"), exp->name);
    gtk_window_set_title (GTK_WINDOW (self), win_title);
    DnRunSnapshot *s = dn_trainer_get_snapshot (self->trainer);
    if (s->state != DN_RUN_IDLE && s->status != NULL) {
        adw_window_title_set_subtitle (self->window_title, s->status);
        return;
    }
    const DnNetworkInfo *info = dn_document_get_network_info (self->document);
    g_autofree char *params = dn_format_count (info->total_params);
    g_autofree char *sub = NULL;
    if (!info->ok)
        sub = g_strdup (_ ("The network does not build: see the Network page"));
    else if (exp->continual)
        sub = g_strdup_printf (ngettext ("Continual learning on %d permuted task · %s parameters",
                                         "Continual learning on %d permuted tasks · %s parameters",
                                         exp->cl.tasks),
                               exp->cl.tasks, params);
    else if (exp->dendrites)
        sub = g_strdup_printf (ngettext ("%d layer gets dendrites · %s parameters",
                                         "%d layers get dendrites · %s parameters",
                                         info->n_dendritic),
                               info->n_dendritic, params);
    else
        sub = g_strdup_printf (_ ("No dendrites · %s parameters"), params);
    adw_window_title_set_subtitle (self->window_title, sub);
}

static void update_actions (DnWindow *self)
{
    gboolean have = self->document != NULL;
    gboolean running = dn_trainer_is_running (self->trainer);
    DnRunSnapshot *s = dn_trainer_get_snapshot (self->trainer);
    gboolean builds = have && dn_document_get_network_info (self->document)->ok;
    GtkWidget *w = GTK_WIDGET (self);
    gtk_widget_action_set_enabled (w, "win.start", builds && !running);
    gtk_widget_action_set_enabled (w, "win.stop", running && s->state != DN_RUN_STOPPING);
    gtk_widget_action_set_enabled (w, "win.resume", !running && self->resume_dir != NULL);
    gtk_widget_action_set_enabled (w, "win.save", have);
    gtk_widget_action_set_enabled (w, "win.save-as", have);
    gtk_widget_action_set_enabled (w, "win.export", have);
    gtk_widget_action_set_enabled (w, "win.export-all", have);
    gtk_widget_set_visible (GTK_WIDGET (self->start_button), !running);
    gtk_widget_set_visible (GTK_WIDGET (self->stop_button), running);
    gtk_widget_set_visible (GTK_WIDGET (self->resume_button), !running && self->resume_dir != NULL);
    gtk_widget_set_visible (GTK_WIDGET (self->spinner), running);
    dn_busy_indicator_set_spinning (self->spinner, running);
}

static void on_document_changed (DnDocument *doc, guint what, DnWindow *self)
{
    if (what & ~(guint) DN_CHANGE_FILE) {
        /* a run that was stopped belongs to the experiment as it was */
        if (self->resume_dir != NULL && (what & (DN_CHANGE_NETWORK | DN_CHANGE_DATA |
                                                 DN_CHANGE_DENDRITES | DN_CHANGE_TRAINING)))
            g_clear_pointer (&self->resume_dir, g_free);
    }
    update_title (self);
    update_summaries (self);
    update_actions (self);
}

void dn_window_set_document (DnWindow *self, DnDocument *doc)
{
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_clear_object (&self->document);
    g_clear_pointer (&self->resume_dir, g_free);
    self->document = doc;
    if (doc != NULL)
        g_signal_connect (doc, "changed", G_CALLBACK (on_document_changed), self);
    dn_network_page_set_document (self->network_page, doc);
    dn_dendrites_page_set_document (self->dendrites_page, doc);
    dn_data_page_set_document (self->data_page, doc);
    dn_training_page_set_document (self->training_page, doc);
    dn_results_page_set_document (self->results_page, doc);
    gtk_stack_set_visible_child_name (self->main_stack, doc != NULL ? "experiment" : "empty");
    update_title (self);
    update_summaries (self);
    update_actions (self);
}

DnDocument *dn_window_get_document (DnWindow *self)
{
    return self->document;
}

DnTrainer *dn_window_get_trainer (DnWindow *self)
{
    return self->trainer;
}

void dn_window_show_page (DnWindow *self, const char *name)
{
    for (int i = 0; i < N_PAGES; i++)
        if (g_str_equal (page_names[i], name))
            gtk_list_box_select_row (self->nav_list,
                                     gtk_list_box_get_row_at_index (self->nav_list, i));
}

/* ---- opening and saving ---- */

void dn_window_open_file (DnWindow *self, GFile *file)
{
    if (dn_trainer_is_running (self->trainer)) {
        show_error (self, _ ("Training Is Running"),
                    _ ("Stop the run before opening another experiment."));
        return;
    }
    GError *error = NULL;
    DnDocument *doc = dn_document_new_from_file (file, &error);
    if (doc == NULL) {
        /* a file name can hold control and bidi characters: shown written out */
        g_autofree char *base = g_file_get_basename (file);
        g_autofree char *name = dn_quote_inner (base);
        g_autofree char *heading = g_strdup_printf (_ ("Could Not Open “%s”"), name);
        show_error (self, heading, error->message);
        g_error_free (error);
        return;
    }
    gboolean model = dn_document_get_file (doc) == NULL;
    /* an example is a template: saving must not overwrite it */
    g_autofree char *path = g_file_get_path (file);
    g_autofree char *examples = dn_application_get_examples_dir ();
    g_autofree char *prefix = g_strconcat (examples, G_DIR_SEPARATOR_S, NULL);
    if (path != NULL && g_str_has_prefix (path, prefix)) {
        DnExperiment *exp = dn_document_copy_experiment (doc);
        g_object_unref (doc);
        doc = dn_document_new (exp, NULL);
    }
    dn_window_set_document (self, doc);
    dn_window_show_page (self, "network");
    if (model)
        dn_window_toast (self,
                         _ ("Imported the model’s network; training starts from new weights"));
}

static void on_open_response (GtkNativeDialog *dialog, int response, DnWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
        dn_window_open_file (self, file);
    }
    g_clear_object (&self->chooser);
}

static void add_filter (GtkFileChooser *chooser, const char *name, const char *const *patterns)
{
    GtkFileFilter *f = gtk_file_filter_new ();
    gtk_file_filter_set_name (f, name);
    for (int i = 0; patterns[i] != NULL; i++)
        gtk_file_filter_add_pattern (f, patterns[i]);
    gtk_file_chooser_add_filter (chooser, f);
    g_object_unref (f);
}

static void open_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    g_clear_object (&self->chooser);
    self->chooser =
        gtk_file_chooser_native_new (_ ("Open an Experiment or a Model"), GTK_WINDOW (self),
                                     GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Open"), _ ("_Cancel"));
    add_filter (GTK_FILE_CHOOSER (self->chooser), _ ("Experiments and models"),
                (const char *[]){"*.json", "*.safetensors", NULL});
    add_filter (GTK_FILE_CHOOSER (self->chooser), _ ("Experiments (*.json)"),
                (const char *[]){"*.json", NULL});
    add_filter (GTK_FILE_CHOOSER (self->chooser), _ ("Models (*.safetensors)"),
                (const char *[]){"*.safetensors", NULL});
    g_signal_connect (self->chooser, "response", G_CALLBACK (on_open_response), self);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void save_to (DnWindow *self, GFile *file)
{
    GError *error = NULL;
    if (!dn_document_save (self->document, file, &error)) {
        show_error (self, _ ("Could Not Save the Experiment"), error->message);
        g_error_free (error);
        return;
    }
    g_autofree char *base = g_file_get_basename (file);
    g_autofree char *name = dn_quote_inner (base);
    g_autofree char *text = g_strdup_printf (_ ("Saved “%s”"), name);
    dn_window_toast (self, text);
}

static void on_save_response (GtkNativeDialog *dialog, int response, DnWindow *self)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
        save_to (self, file);
    }
    g_clear_object (&self->chooser);
}

static void save_as_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    if (self->document == NULL)
        return;
    g_clear_object (&self->chooser);
    self->chooser =
        gtk_file_chooser_native_new (_ ("Save the Experiment"), GTK_WINDOW (self),
                                     GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Save"), _ ("_Cancel"));
    DnExperiment *exp = dn_document_get_experiment (self->document);
    g_autofree char *name = g_strdup_printf ("%s.json", exp->name);
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), name);
    add_filter (GTK_FILE_CHOOSER (self->chooser), _ ("Experiments (*.json)"),
                (const char *[]){"*.json", NULL});
    g_signal_connect (self->chooser, "response", G_CALLBACK (on_save_response), self);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void save_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    if (self->document == NULL)
        return;
    GFile *file = dn_document_get_file (self->document);
    if (file == NULL)
        save_as_action (widget, action, param);
    else
        save_to (self, file);
}

static void new_action (GtkWidget *widget, const char *action, GVariant *param)
{
    GtkApplication *app = gtk_window_get_application (GTK_WINDOW (widget));
    gtk_window_present (GTK_WINDOW (dn_window_new (DN_APPLICATION (app))));
}

static void new_from_template_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    const char *path = g_variant_get_string (param, NULL);
    GError *error = NULL;
    DnExperiment *exp = dn_experiment_load (path, &error);
    if (exp == NULL) {
        show_error (self, _ ("Could Not Open the Template"), error->message);
        g_error_free (error);
        return;
    }
    /* a template is a starting point: it has no file until it is saved */
    dn_window_set_document (self, dn_document_new (exp, NULL));
    dn_window_show_page (self, "network");
}

static void open_folder_action (GtkWidget *widget, const char *action, GVariant *param)
{
    g_autoptr (GFile) dir = g_file_new_for_path (g_variant_get_string (param, NULL));
    g_autofree char *uri = g_file_get_uri (dir);
    gtk_show_uri (GTK_WINDOW (widget), uri, GDK_CURRENT_TIME);
}

static void show_page_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    int i = atoi (g_variant_get_string (param, NULL));
    if (self->document != NULL && i >= 0 && i < N_PAGES)
        dn_window_show_page (self, page_names[i]);
}

/* ---- training ---- */

static void start_run (DnWindow *self, const char *resume_dir, gboolean overwrite)
{
    DnApplication *app = DN_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
    GSettings *settings = dn_application_get_settings (app);
    DnTrainerOptions opts = {0};
    opts.out_dir = dn_application_get_output_folder (app);
    opts.threads = settings != NULL ? g_settings_get_int (settings, "threads") : 0;
    g_autofree char *device = settings != NULL ? g_settings_get_string (settings, "device") : NULL;
    if (device != NULL && *device != '\0' && !g_str_equal (device, "experiment"))
        opts.device = g_strdup (device);
    opts.resume_dir = g_strdup (resume_dir);
    opts.overwrite = overwrite;
    GError *error = NULL;
    if (g_mkdir_with_parents (opts.out_dir, 0755) != 0) {
        g_autofree char *msg =
            g_strdup_printf (_ ("The output folder %s cannot be created; choose another one in "
                                "Preferences."),
                             opts.out_dir);
        show_error (self, _ ("Could Not Start"), msg);
        dn_trainer_options_clear (&opts);
        return;
    }
    DnExperiment *exp = resume_dir == NULL ? dn_document_copy_experiment (self->document) : NULL;
    if (!dn_trainer_start (self->trainer, exp, &opts, &error)) {
        show_error (self, _ ("Could Not Start"), error->message);
        g_error_free (error);
    }
    dn_trainer_options_clear (&opts);
    g_clear_pointer (&self->resume_dir, g_free);
    dn_window_show_page (self, "training");
    update_actions (self);
}

static void on_folder_choice (DnRunFolderChoice choice, const char *run_dir, gpointer data)
{
    DnWindow *self = DN_WINDOW (data);
    if (self->document == NULL || dn_trainer_is_running (self->trainer))
        return;
    switch (choice) {
    case DN_RUN_FOLDER_RESUME:
        start_run (self, run_dir, FALSE);
        break;
    case DN_RUN_FOLDER_OVERWRITE:
        start_run (self, NULL, TRUE);
        break;
    case DN_RUN_FOLDER_NEW:
        start_run (self, NULL, FALSE);
        break;
    case DN_RUN_FOLDER_CANCEL:
        break;
    }
}

static void start_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    if (self->document == NULL || dn_trainer_is_running (self->trainer))
        return;
    if (!dn_document_get_network_info (self->document)->ok) {
        show_error (self, _ ("The Network Does Not Build"),
                    dn_document_get_network_info (self->document)->error);
        return;
    }
    /* the run's folder holds an earlier run: resume it, overwrite it, or go beside it */
    DnApplication *app = DN_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
    g_autofree char *out_dir = dn_application_get_output_folder (app);
    g_autofree char *run_dir =
        g_build_filename (out_dir, dn_document_get_experiment (self->document)->name, NULL);
    GtkWidget *dialog =
        dn_run_folder_dialog_ask (GTK_WINDOW (self), run_dir, on_folder_choice, self);
    if (dialog != NULL)
        gtk_window_set_destroy_with_parent (GTK_WINDOW (dialog), TRUE);
    else
        start_run (self, NULL, FALSE);
}

static void stop_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    dn_trainer_stop (self->trainer);
    update_actions (self);
}

static void resume_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    if (self->resume_dir == NULL || dn_trainer_is_running (self->trainer))
        return;
    g_autofree char *dir = g_strdup (self->resume_dir);
    start_run (self, dir, FALSE);
}

static void on_progress (DnTrainer *trainer, DnRunSnapshot *snap, DnWindow *self)
{
    dn_training_page_set_snapshot (self->training_page, snap);
    update_title (self);
    update_summaries (self);
    update_actions (self);
}

static void on_finished (DnTrainer *trainer, DnRunSnapshot *snap, DnWindow *self)
{
    dn_results_page_add_run (self->results_page, snap);
    g_clear_pointer (&self->resume_dir, g_free);
    g_autofree char *latest =
        snap->run_dir != NULL ? g_build_filename (snap->run_dir, "latest.safetensors", NULL) : NULL;
    if (snap->state == DN_RUN_STOPPED && latest != NULL && g_file_test (latest, G_FILE_TEST_EXISTS))
        self->resume_dir = g_strdup (snap->run_dir);
    switch (snap->state) {
    case DN_RUN_FINISHED:
        dn_window_toast_folder (self, _ ("Training finished"), snap->run_dir);
        break;
    case DN_RUN_STOPPED:
        dn_window_toast (self, self->resume_dir != NULL
                                   ? _ ("Training stopped; Resume continues it")
                                   : _ ("Training stopped before the first epoch finished"));
        break;
    case DN_RUN_FAILED:
        show_error (self, _ ("Training Failed"), snap->error);
        break;
    default:
        break;
    }
    update_title (self);
    update_summaries (self);
    update_actions (self);
}

/* ---- export ---- */

typedef struct {
    DnWindow *self;
    char *what;
} ExportRequest;

static void do_export (DnWindow *self, const char *what, const char *dir)
{
    DnRunSnapshot *snap = dn_trainer_get_snapshot (self->trainer);
    DnRunSnapshot *shown = dn_training_page_get_snapshot (self->training_page);
    if (shown != NULL)
        snap = shown;
    int n = 0;
    GError *error = NULL;
    if (!dn_export_run (snap, dn_document_get_experiment (self->document), what, dir, &n, &error)) {
        show_error (self, _ ("Could Not Export"), error->message);
        g_error_free (error);
        return;
    }
    g_autofree char *text =
        g_strdup_printf (ngettext ("Exported %d file", "Exported %d files", n), n);
    dn_window_toast_folder (self, text, dir);
}

static void on_export_folder (GtkNativeDialog *dialog, int response, ExportRequest *req)
{
    DnWindow *self = req->self;
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr (GFile) dir = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
        g_autofree char *path = g_file_get_path (dir);
        if (path != NULL)
            do_export (self, req->what, path);
    }
    g_free (req->what);
    g_free (req);
    g_clear_object (&self->chooser);
}

void dn_window_export (DnWindow *self, const char *what)
{
    if (self->document == NULL)
        return;
    g_autofree char *why = NULL;
    if (!g_str_equal (what, "all")) {
        DnRunSnapshot *snap = dn_training_page_get_snapshot (self->training_page);
        if (!dn_export_available (snap, what, &why)) {
            dn_window_toast (self, why);
            return;
        }
    }
    GSettings *settings = dn_settings ();
    g_autofree char *folder =
        settings != NULL ? g_settings_get_string (settings, "export-folder") : NULL;
    if (folder != NULL && *folder != '\0') {
        DnExperiment *exp = dn_document_get_experiment (self->document);
        g_autofree char *dir = g_build_filename (folder, exp->name, NULL);
        do_export (self, what, dir);
        return;
    }
    g_clear_object (&self->chooser);
    self->chooser = gtk_file_chooser_native_new (_ ("Export to Folder"), GTK_WINDOW (self),
                                                 GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                 _ ("_Export"), _ ("_Cancel"));
    ExportRequest *req = g_new0 (ExportRequest, 1);
    req->self = self;
    req->what = g_strdup (what);
    g_signal_connect (self->chooser, "response", G_CALLBACK (on_export_folder), req);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void export_action (GtkWidget *widget, const char *action, GVariant *param)
{
    dn_window_export (DN_WINDOW (widget), g_variant_get_string (param, NULL));
}

static void export_all_action (GtkWidget *widget, const char *action, GVariant *param)
{
    dn_window_export (DN_WINDOW (widget), "all");
}

static void open_run_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    const char *dir = g_variant_get_string (param, NULL);
    if (dn_trainer_is_running (self->trainer)) {
        show_error (self, _ ("Training Is Running"),
                    _ ("Stop the run before opening another one."));
        return;
    }
    GError *error = NULL;
    g_autofree char *path = g_build_filename (dir, "experiment.json", NULL);
    DnExperiment *exp = dn_experiment_load (path, &error);
    DnRunSnapshot *snap = exp != NULL ? dn_run_snapshot_new_from_folder (dir, &error) : NULL;
    if (snap == NULL) {
        dn_experiment_free (exp);
        show_error (self, _ ("Could Not Open the Run"), error->message);
        g_error_free (error);
        return;
    }
    dn_window_set_document (self, dn_document_new (exp, NULL));
    dn_training_page_set_snapshot (self->training_page, snap);
    if (snap->state == DN_RUN_STOPPED)
        self->resume_dir = g_strdup (dir);
    dn_run_snapshot_unref (snap);
    dn_window_show_page (self, "training");
    update_actions (self);
}

/* ---- drag and drop ---- */

static gboolean on_drop (GtkDropTarget *target, const GValue *value, double x, double y,
                         DnWindow *self)
{
    if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
        return FALSE;
    GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));
    if (files == NULL)
        return FALSE;
    dn_window_open_file (self, files->data);
    g_slist_free (files);
    return TRUE;
}

/* ---- closing ---- */

static void on_close_response (AdwMessageDialog *dialog, const char *response, DnWindow *self)
{
    if (g_str_equal (response, "close")) {
        dn_trainer_stop (self->trainer);
        g_object_set_data (G_OBJECT (self), "dn-closing", GINT_TO_POINTER (1));
        gtk_window_close (GTK_WINDOW (self));
    }
}

static gboolean dn_window_close_request (GtkWindow *window)
{
    DnWindow *self = DN_WINDOW (window);
    if (g_object_get_data (G_OBJECT (self), "dn-closing") != NULL) {
        if (dn_trainer_is_running (self->trainer))
            return TRUE; /* closes when the run has stopped (on_finished_close) */
        return GTK_WINDOW_CLASS (dn_window_parent_class)->close_request (window);
    }
    gboolean running = dn_trainer_is_running (self->trainer);
    gboolean modified = self->document != NULL && dn_document_get_modified (self->document) &&
                        dn_document_get_file (self->document) != NULL;
    if (!running && !modified)
        return GTK_WINDOW_CLASS (dn_window_parent_class)->close_request (window);
    GtkWidget *dialog = adw_message_dialog_new (
        window, running ? _ ("Stop Training and Close?") : _ ("Close Without Saving?"),
        running ? _ ("The run stops after the current batch; its folder keeps everything written "
                     "so far and it can be resumed later.")
                : _ ("The changes to the experiment will be lost."));
    adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _ ("_Cancel"), "close",
                                      running ? _ ("_Stop and Close") : _ ("_Discard Changes"),
                                      NULL);
    adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "close",
                                                ADW_RESPONSE_DESTRUCTIVE);
    g_signal_connect (dialog, "response", G_CALLBACK (on_close_response), self);
    gtk_window_present (GTK_WINDOW (dialog));
    return TRUE;
}

static void on_finished_close (DnTrainer *trainer, DnRunSnapshot *snap, DnWindow *self)
{
    if (g_object_get_data (G_OBJECT (self), "dn-closing") != NULL)
        gtk_window_close (GTK_WINDOW (self));
}

/* ---- construction ---- */

static void on_nav_selected (GtkListBox *box, GtkListBoxRow *row, DnWindow *self)
{
    if (row == NULL)
        return;
    int i = gtk_list_box_row_get_index (row);
    if (i >= 0 && i < N_PAGES)
        gtk_stack_set_visible_child_name (self->page_stack, page_names[i]);
}

static void build_nav (DnWindow *self)
{
    const char *titles[N_PAGES] = {_ ("Network"), _ ("Dendrites"), _ ("Data"), _ ("Training"),
                                   _ ("Results")};
    for (int i = 0; i < N_PAGES; i++) {
        GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
        gtk_widget_set_margin_top (box, 6);
        gtk_widget_set_margin_bottom (box, 6);
        gtk_widget_set_margin_start (box, 6);
        gtk_widget_set_margin_end (box, 6);
        GtkWidget *title = gtk_label_new (titles[i]);
        gtk_label_set_xalign (GTK_LABEL (title), 0);
        gtk_widget_add_css_class (title, "heading");
        GtkWidget *sub = gtk_label_new ("");
        gtk_label_set_xalign (GTK_LABEL (sub), 0);
        gtk_label_set_ellipsize (GTK_LABEL (sub), PANGO_ELLIPSIZE_END);
        gtk_widget_add_css_class (sub, "caption");
        gtk_widget_add_css_class (sub, "dim-label");
        gtk_box_append (GTK_BOX (box), title);
        gtk_box_append (GTK_BOX (box), sub);
        gtk_list_box_append (self->nav_list, box);
        self->nav_subtitles[i] = GTK_LABEL (sub);
        GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->nav_list, i);
        gtk_accessible_update_relation (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_RELATION_LABELLED_BY,
                                        title, NULL, GTK_ACCESSIBLE_RELATION_DESCRIBED_BY, sub,
                                        NULL, -1);
    }
    g_signal_connect (self->nav_list, "row-selected", G_CALLBACK (on_nav_selected), self);
    gtk_list_box_select_row (self->nav_list, gtk_list_box_get_row_at_index (self->nav_list, 0));
}

static void build_templates (DnWindow *self)
{
    g_autoptr (GPtrArray) templates = dn_templates_list ();
    for (guint i = 0; i < templates->len; i++) {
        DnTemplate *t = templates->pdata[i];
        GtkWidget *row = adw_action_row_new ();
        adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), t->title);
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), t->description);
        adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 2);
        GtkWidget *button = gtk_button_new_with_label (_ ("Create"));
        gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
        gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "win.new-from-template");
        gtk_actionable_set_action_target_value (GTK_ACTIONABLE (button),
                                                g_variant_new_string (t->path));
        g_autofree char *label = g_strdup_printf (_ ("Create from template %s"), t->title);
        gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                        label, -1);
        adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
        adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), button);
        gtk_list_box_append (self->template_list, row);
    }
}

static void on_dark_changed (AdwStyleManager *sm, GParamSpec *pspec, DnWindow *self)
{
    dn_training_page_set_dark (self->training_page, adw_style_manager_get_dark (sm));
}

static void dn_window_dispose (GObject *object)
{
    DnWindow *self = DN_WINDOW (object);
    if (self->trainer != NULL) {
        dn_trainer_stop (self->trainer);
        g_signal_handlers_disconnect_by_data (self->trainer, self);
    }
    if (self->document != NULL)
        g_signal_handlers_disconnect_by_func (self->document, on_document_changed, self);
    g_signal_handlers_disconnect_by_data (adw_style_manager_get_default (), self);
    g_clear_object (&self->chooser);
    gtk_widget_dispose_template (GTK_WIDGET (self), DN_TYPE_WINDOW);
    G_OBJECT_CLASS (dn_window_parent_class)->dispose (object);
}

static void dn_window_finalize (GObject *object)
{
    DnWindow *self = DN_WINDOW (object);
    g_clear_object (&self->document);
    g_clear_object (&self->trainer);
    g_free (self->resume_dir);
    G_OBJECT_CLASS (dn_window_parent_class)->finalize (object);
}

static void dn_window_class_init (DnWindowClass *klass)
{
    GObjectClass *object_class = G_OBJECT_CLASS (klass);
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    object_class->dispose = dn_window_dispose;
    object_class->finalize = dn_window_finalize;
    GTK_WINDOW_CLASS (klass)->close_request = dn_window_close_request;

    g_type_ensure (DN_TYPE_BUSY_INDICATOR);
    g_type_ensure (DN_TYPE_NETWORK_PAGE);
    g_type_ensure (DN_TYPE_DENDRITES_PAGE);
    g_type_ensure (DN_TYPE_DATA_PAGE);
    g_type_ensure (DN_TYPE_TRAINING_PAGE);
    g_type_ensure (DN_TYPE_RESULTS_PAGE);
    gtk_widget_class_set_template_from_resource (widget_class, "/org/dendrite/Studio/dn-window.ui");
    gtk_widget_class_bind_template_child (widget_class, DnWindow, window_title);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, start_button);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, stop_button);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, resume_button);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, spinner);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, main_stack);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, template_list);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, nav_list);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, page_stack);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, network_page);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, dendrites_page);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, data_page);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, training_page);
    gtk_widget_class_bind_template_child (widget_class, DnWindow, results_page);

    gtk_widget_class_install_action (widget_class, "win.new", NULL, new_action);
    gtk_widget_class_install_action (widget_class, "win.new-from-template", "s",
                                     new_from_template_action);
    gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
    gtk_widget_class_install_action (widget_class, "win.save", NULL, save_action);
    gtk_widget_class_install_action (widget_class, "win.save-as", NULL, save_as_action);
    gtk_widget_class_install_action (widget_class, "win.start", NULL, start_action);
    gtk_widget_class_install_action (widget_class, "win.stop", NULL, stop_action);
    gtk_widget_class_install_action (widget_class, "win.resume", NULL, resume_action);
    gtk_widget_class_install_action (widget_class, "win.export", "s", export_action);
    gtk_widget_class_install_action (widget_class, "win.export-all", NULL, export_all_action);
    gtk_widget_class_install_action (widget_class, "win.open-folder", "s", open_folder_action);
    gtk_widget_class_install_action (widget_class, "win.open-run", "s", open_run_action);
    gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
}

static void dn_window_init (DnWindow *self)
{
    gtk_widget_init_template (GTK_WIDGET (self));
    self->toast_overlay =
        ADW_TOAST_OVERLAY (adw_application_window_get_content (ADW_APPLICATION_WINDOW (self)));
    self->trainer = dn_trainer_new ();
    g_signal_connect (self->trainer, "progress", G_CALLBACK (on_progress), self);
    g_signal_connect (self->trainer, "finished", G_CALLBACK (on_finished), self);
    g_signal_connect_after (self->trainer, "finished", G_CALLBACK (on_finished_close), self);
    build_nav (self);
    build_templates (self);

    GtkDropTarget *drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
    g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
    gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

    AdwStyleManager *sm = adw_style_manager_get_default ();
    g_signal_connect (sm, "notify::dark", G_CALLBACK (on_dark_changed), self);
    dn_training_page_set_dark (self->training_page, adw_style_manager_get_dark (sm));
    update_title (self);
    update_actions (self);
}

DnWindow *dn_window_new (DnApplication *app)
{
    return g_object_new (DN_TYPE_WINDOW, "application", app, NULL);
}
