/* dn-onnx-actions.c: ONNX models in the window. Opening one (Open… and drag and drop)
 * imports it beside itself (NAME.json and NAME.safetensors, as `dendrite import
 * MODEL.onnx --out` its folder does) and opens the experiment; "Export as ONNX…" writes
 * the shown run's model as `dendrite export` does. */
#include "dn-onnx-actions.h"

#include "dn-application.h"
#include "dn-export.h"
#include "dn-onnx.h"
#include "dn-paths.h"

#include <glib/gi18n.h>

gboolean dn_onnx_actions_is_onnx (GFile *file)
{
    g_autofree char *base = g_file_get_basename (file);
    return base != NULL && g_str_has_suffix (base, ".onnx");
}

GFile *dn_onnx_actions_import (GFile *file, GError **error)
{
    g_autofree char *path = g_file_get_path (file);
    g_autofree char *dir = path != NULL ? g_path_get_dirname (path) : NULL;
    g_autofree char *json = NULL;
    if (path == NULL) {
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                             "only a local ONNX file can be imported");
        return NULL;
    }
    if (!dn_onnx_import_to_dir (path, dir, NULL, &json, NULL, error))
        return NULL;
    return g_file_new_for_path (json);
}

gboolean dn_onnx_actions_export_to (DnWindow *win, const DnRunSnapshot *snap, const char *path)
{
    g_autoptr (GError) error = NULL;
    if (!dn_export_onnx (snap, path, &error)) {
        GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (win),
                                                    _ ("Could Not Export as ONNX"), error->message);
        adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _ ("_Close"));
        gtk_window_present (GTK_WINDOW (dialog));
        return FALSE;
    }
    g_autofree char *text = g_strdup_printf (_ ("Exported as ONNX to %s"), path);
    g_autofree char *folder = g_path_get_dirname (path);
    dn_window_toast_folder (win, text, folder);
    return TRUE;
}

typedef struct {
    DnWindow *win;
    DnRunSnapshot *snap;
} ExportRequest;

static void request_free (ExportRequest *req)
{
    dn_run_snapshot_unref (req->snap);
    g_free (req);
}

static void on_chooser_response (GtkNativeDialog *chooser, int response, ExportRequest *req)
{
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
        g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
        if (path != NULL)
            dn_onnx_actions_export_to (req->win, req->snap, path);
    }
    /* frees the chooser and, with it, req */
    g_object_set_data (G_OBJECT (req->win), DN_ONNX_ACTIONS_CHOOSER, NULL);
}

void dn_onnx_actions_export (DnWindow *win, DnRunSnapshot *snap, const char *name)
{
    g_autofree char *why = NULL;
    g_autofree char *model = dn_export_onnx_source (snap, &why);
    if (model == NULL) {
        dn_window_toast (win, why);
        return;
    }
    GtkFileChooserNative *chooser =
        gtk_file_chooser_native_new (_ ("Export as ONNX"), GTK_WINDOW (win),
                                     GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Export"), _ ("_Cancel"));
    GtkFileChooser *fc = GTK_FILE_CHOOSER (chooser);
    g_autofree char *runs = dn_paths_output_folder (dn_settings ());
    g_mkdir_with_parents (runs, 0755);
    g_autoptr (GFile) folder = g_file_new_for_path (runs);
    gtk_file_chooser_set_current_folder (fc, folder, NULL);
    g_autofree char *file = g_strdup_printf ("%s.onnx", name != NULL ? name : "model");
    gtk_file_chooser_set_current_name (fc, file);
    GtkFileFilter *filter = gtk_file_filter_new ();
    gtk_file_filter_set_name (filter, _ ("ONNX Models"));
    gtk_file_filter_add_pattern (filter, "*.onnx");
    gtk_file_chooser_add_filter (fc, filter);
    g_object_unref (filter);
    ExportRequest *req = g_new0 (ExportRequest, 1);
    req->win = win;
    req->snap = dn_run_snapshot_ref (snap);
    g_object_set_data_full (G_OBJECT (chooser), "dn-request", req, (GDestroyNotify) request_free);
    g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response), req);
    g_object_set_data_full (G_OBJECT (win), DN_ONNX_ACTIONS_CHOOSER, chooser, g_object_unref);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
