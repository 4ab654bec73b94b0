/* dn-window-actions.c: the window's actions: opening and saving experiments,
 * new windows and templates, starting, stopping and resuming a run, exports,
 * and opening a run folder. The application sets their accelerators. */
#include "dn-window-private.h"

#include "dn-error.h"
#include "dn-export.h"
#include "dn-onnx-actions.h"
#include "dn-paths.h"
#include "dn-run-folder-dialog.h"

#include <glib/gi18n.h>
#include <stdlib.h>

/* ---- replacing the experiment shown: never while it trains, never losing edits ---- */

typedef void (*ReplaceFunc) (DnWindow *self, const char *arg);

typedef struct {
    DnWindow *self;
    ReplaceFunc then;
    char *arg;
} ReplaceRequest;

static void replace_request_free (gpointer data, GClosure *unused)
{
    ReplaceRequest *req = data;
    g_free (req->arg);
    g_free (req);
}

/* The dialog goes with the window (destroy-with-parent): self outlives it. */
static void on_discard_response (AdwMessageDialog *dialog, const char *response,
                                 ReplaceRequest *req)
{
    if (g_str_equal (response, "discard") && !dn_trainer_is_running (req->self->trainer))
        req->then (req->self, req->arg);
}

/* Calls then (self, arg) at once, or after the user agreed to lose the unsaved
 * edits of the experiment shown; refuses while a run is going on. */
static void replace_document (DnWindow *self, ReplaceFunc then, const char *arg)
{
    if (dn_trainer_is_running (self->trainer)) {
        _dn_window_show_error (self, _ ("Training Is Running"),
                               _ ("Stop the run before opening another experiment."));
        return;
    }
    if (self->document == NULL || !dn_document_get_modified (self->document)) {
        then (self, arg);
        return;
    }
    DnExperiment *exp = dn_document_get_experiment (self->document);
    g_autofree char *name = dn_quote_inner (exp->name);
    g_autofree char *body = g_strdup_printf (_ ("The changes to “%s” have not been saved and will "
                                                "be lost."),
                                             name);
    GtkWidget *dialog =
        adw_message_dialog_new (GTK_WINDOW (self), _ ("Discard Unsaved Changes?"), body);
    adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _ ("_Cancel"),
                                      "discard", _ ("_Discard Changes"), NULL);
    adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "discard",
                                                ADW_RESPONSE_DESTRUCTIVE);
    adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
    ReplaceRequest *req = g_new0 (ReplaceRequest, 1);
    req->self = self;
    req->then = then;
    req->arg = g_strdup (arg);
    g_signal_connect_data (dialog, "response", G_CALLBACK (on_discard_response), req,
                           replace_request_free, 0);
    adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
    gtk_window_set_destroy_with_parent (GTK_WINDOW (dialog), TRUE);
    gtk_window_present (GTK_WINDOW (dialog));
}

/* ---- opening and saving ---- */

static void open_uri (DnWindow *self, const char *uri)
{
    g_autoptr (GFile) file = g_file_new_for_uri (uri);
    GError *error = NULL;
    g_autoptr (GFile) imported = dn_onnx_actions_is_onnx (file)
                                     ? dn_onnx_actions_import (file, &error)
                                     : NULL;
    DnDocument *doc = error != NULL ? NULL
                                    : dn_document_new_from_file (imported ? imported : file, &error);
    if (doc == NULL) {
        /* a file name can hold control and bidi characters: shown written out */
        g_autofree char *base = g_file_get_basename (file);
        g_autofree char *name = dn_quote_inner (base);
        g_autofree char *heading = g_strdup_printf (_ ("Could Not Open “%s”"), name);
        _dn_window_show_error (self, heading, error->message);
        g_error_free (error);
        return;
    }
    gboolean model = dn_document_get_model (doc) != NULL;
    /* an example is a template: saving must not overwrite it */
    g_autofree char *path = g_file_get_path (file);
    g_autofree char *examples = dn_paths_examples_dir ();
    g_autofree char *prefix = g_strconcat (examples, G_DIR_SEPARATOR_S, NULL);
    if (path != NULL && g_str_has_prefix (path, prefix)) {
        DnExperiment *exp = dn_document_copy_experiment (doc);
        g_object_unref (doc);
        doc = dn_document_new (exp, NULL);
    }
    dn_window_set_document (self, doc);
    dn_window_show_page (self, "network");
    if (model)
        dn_window_show_model (self);
}

DnModelWindow *dn_window_show_model (DnWindow *self)
{
    if (self->document == NULL || dn_document_get_model (self->document) == NULL)
        return NULL;
    GError *error = NULL;
    DnModelWindow *win = dn_model_window_new (GTK_WINDOW (self), self->document, &error);
    if (win == NULL) {
        _dn_window_show_error (self, _ ("Could Not Read the Model"), error->message);
        g_error_free (error);
        return NULL;
    }
    gtk_window_present (GTK_WINDOW (win));
    return win;
}

void dn_window_open_file (DnWindow *self, GFile *file)
{
    g_autofree char *uri = g_file_get_uri (file);
    replace_document (self, open_uri, uri);
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
                (const char *[]){"*.json", "*.safetensors", "*.onnx", NULL});
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
        _dn_window_show_error (self, _ ("Could Not Save the Experiment"), error->message);
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
    /* a new experiment is saved beside its runs */
    DnApplication *app = DN_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
    g_autofree char *runs = dn_paths_output_folder (dn_application_get_settings (app));
    if (dn_document_get_file (self->document) == NULL && g_mkdir_with_parents (runs, 0755) == 0) {
        g_autoptr (GFile) folder = g_file_new_for_path (runs);
        gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (self->chooser), folder, NULL);
    }
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

static void open_template (DnWindow *self, const char *path)
{
    GError *error = NULL;
    DnExperiment *exp = dn_experiment_load (path, &error);
    if (exp == NULL) {
        _dn_window_show_error (self, _ ("Could Not Open the Template"), error->message);
        g_error_free (error);
        return;
    }
    /* a template is a starting point: it has no file until it is saved */
    dn_window_set_document (self, dn_document_new (exp, NULL));
    dn_window_show_page (self, "network");
}

static void new_from_template_action (GtkWidget *widget, const char *action, GVariant *param)
{
    replace_document (DN_WINDOW (widget), open_template, g_variant_get_string (param, NULL));
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
    if (self->document != NULL)
        _dn_window_show_page_at (self, i);
}

/* ---- training ---- */

static void start_run (DnWindow *self, const char *resume_dir, gboolean overwrite)
{
    DnApplication *app = DN_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
    GSettings *settings = dn_application_get_settings (app);
    DnTrainerOptions opts = {0};
    opts.out_dir = dn_paths_output_folder (settings);
    opts.threads = settings != NULL ? g_settings_get_int (settings, "threads") : 0;
    g_autofree char *device = settings != NULL ? g_settings_get_string (settings, "device") : NULL;
    if (device != NULL && *device != '\0' && !g_str_equal (device, "experiment"))
        opts.device = g_strdup (device);
    opts.resume_dir = g_strdup (resume_dir);
    opts.overwrite = overwrite;
    if (resume_dir == NULL)
        opts.init_model = g_strdup (dn_document_get_model (self->document));
    GError *error = NULL;
    if (g_mkdir_with_parents (opts.out_dir, 0755) != 0) {
        g_autofree char *msg =
            g_strdup_printf (_ ("The output folder %s cannot be created; choose another one in "
                                "Preferences."),
                             opts.out_dir);
        _dn_window_show_error (self, _ ("Could Not Start"), msg);
        dn_trainer_options_clear (&opts);
        return;
    }
    DnExperiment *exp = resume_dir == NULL ? dn_document_copy_experiment (self->document) : NULL;
    if (!dn_trainer_start (self->trainer, exp, &opts, &error)) {
        _dn_window_show_error (self, _ ("Could Not Start"), error->message);
        g_error_free (error);
    }
    dn_trainer_options_clear (&opts);
    g_clear_pointer (&self->resume_dir, g_free);
    dn_window_show_page (self, "training");
    _dn_window_update_actions (self);
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
        _dn_window_show_error (self, _ ("The Network Does Not Build"),
                               dn_document_get_network_info (self->document)->error);
        return;
    }
    /* the run's folder holds an earlier run: resume it, overwrite it, or go beside it */
    DnApplication *app = DN_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));
    g_autofree char *out_dir = dn_paths_output_folder (dn_application_get_settings (app));
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
    _dn_window_update_actions (self);
}

static void resume_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    if (self->resume_dir == NULL || dn_trainer_is_running (self->trainer))
        return;
    g_autofree char *dir = g_strdup (self->resume_dir);
    start_run (self, dir, FALSE);
}

/* ---- export ---- */

typedef struct {
    DnWindow *self;
    char *what;
} ExportRequest;

/* The run the Training page shows, else the trainer's. */
static DnRunSnapshot *shown_snapshot (DnWindow *self)
{
    DnRunSnapshot *shown = dn_training_page_get_snapshot (self->training_page);
    return shown != NULL ? shown : dn_trainer_get_snapshot (self->trainer);
}

static void do_export (DnWindow *self, const char *what, const char *dir)
{
    DnRunSnapshot *snap = shown_snapshot (self);
    int n = 0;
    GError *error = NULL;
    if (!dn_export_run (snap, dn_document_get_experiment (self->document), what, dir, &n, &error)) {
        _dn_window_show_error (self, _ ("Could Not Export"), error->message);
        g_error_free (error);
        return;
    }
    g_autofree char *text =
        g_strdup_printf (ngettext ("Exported %d file to %s", "Exported %d files to %s", n), n, dir);
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

static void export_onnx_action (GtkWidget *widget, const char *action, GVariant *param)
{
    DnWindow *self = DN_WINDOW (widget);
    if (self->document != NULL)
        dn_onnx_actions_export (self, shown_snapshot (self),
                                dn_document_get_experiment (self->document)->name);
}

static void open_run (DnWindow *self, const char *dir)
{
    GError *error = NULL;
    g_autofree char *path = g_build_filename (dir, "experiment.json", NULL);
    DnExperiment *exp = dn_experiment_load (path, &error);
    DnRunSnapshot *snap = exp != NULL ? dn_run_snapshot_new_from_folder (dir, &error) : NULL;
    if (snap == NULL) {
        dn_experiment_free (exp);
        _dn_window_show_error (self, _ ("Could Not Open the Run"), error->message);
        g_error_free (error);
        return;
    }
    dn_window_set_document (self, dn_document_new (exp, NULL));
    dn_training_page_set_snapshot (self->training_page, snap);
    if (snap->state == DN_RUN_STOPPED)
        self->resume_dir = g_strdup (dir);
    dn_run_snapshot_unref (snap);
    dn_window_show_page (self, "training");
    _dn_window_refresh (self);
}

static void open_run_action (GtkWidget *widget, const char *action, GVariant *param)
{
    replace_document (DN_WINDOW (widget), open_run, g_variant_get_string (param, NULL));
}

void _dn_window_class_actions_init (GtkWidgetClass *widget_class)
{
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
    gtk_widget_class_install_action (widget_class, "win.export-onnx", NULL, export_onnx_action);
    gtk_widget_class_install_action (widget_class, "win.open-folder", "s", open_folder_action);
    gtk_widget_class_install_action (widget_class, "win.open-run", "s", open_run_action);
    gtk_widget_class_install_action (widget_class, "win.show-page", "s", show_page_action);
}
