/* dn-preferences-window.c: preferences bound to GSettings. */
#include "dn-preferences-window.h"

#include "dn-paths.h"

#include <glib/gi18n.h>

struct _DnPreferencesWindow {
    AdwPreferencesWindow parent_instance;
    AdwActionRow *output_row;
    GtkButton *output_button;
    AdwActionRow *export_row;
    GtkButton *export_button;
    GtkButton *export_clear_button;
    GtkSpinButton *threads_spin;
    AdwComboRow *device_row;
    AdwComboRow *style_row;
    GSettings *settings;
    GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (DnPreferencesWindow, dn_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static const char *const devices[] = {"experiment", "cpu", "cuda", "auto"};
static const char *const styles[] = {"default", "light", "dark"};

static void show_folders (DnPreferencesWindow *self)
{
    g_autofree char *out = dn_paths_output_folder (self->settings);
    adw_action_row_set_subtitle (self->output_row, out);
    g_autofree char *exp = g_settings_get_string (self->settings, "export-folder");
    adw_action_row_set_subtitle (self->export_row,
                                 *exp != '\0' ? exp : _ ("Asked for at each export"));
    gtk_widget_set_visible (GTK_WIDGET (self->export_clear_button), *exp != '\0');
}

static void on_folder_response (GtkNativeDialog *d, int response, DnPreferencesWindow *self)
{
    const char *key = g_object_get_data (G_OBJECT (d), "dn-key");
    if (response == GTK_RESPONSE_ACCEPT) {
        g_autoptr (GFile) f = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (d));
        g_autofree char *path = g_file_get_path (f);
        if (path != NULL)
            g_settings_set_string (self->settings, key, path);
    }
    g_clear_object (&self->chooser);
    show_folders (self);
}

static void choose_folder (DnPreferencesWindow *self, const char *key)
{
    g_clear_object (&self->chooser);
    self->chooser = gtk_file_chooser_native_new (_ ("Choose a Folder"), GTK_WINDOW (self),
                                                 GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                                 _ ("_Choose"), _ ("_Cancel"));
    g_object_set_data (G_OBJECT (self->chooser), "dn-key", (gpointer) key);
    g_signal_connect (self->chooser, "response", G_CALLBACK (on_folder_response), self);
    gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void on_output (GtkButton *b, DnPreferencesWindow *self)
{
    choose_folder (self, "output-folder");
}

static void on_export (GtkButton *b, DnPreferencesWindow *self)
{
    choose_folder (self, "export-folder");
}

static void on_export_clear (GtkButton *b, DnPreferencesWindow *self)
{
    g_settings_set_string (self->settings, "export-folder", "");
    show_folders (self);
}

static void on_device (AdwComboRow *row, GParamSpec *p, DnPreferencesWindow *self)
{
    guint i = adw_combo_row_get_selected (row);
    if (i < G_N_ELEMENTS (devices))
        g_settings_set_string (self->settings, "device", devices[i]);
}

static void on_style (AdwComboRow *row, GParamSpec *p, DnPreferencesWindow *self)
{
    guint i = adw_combo_row_get_selected (row);
    if (i < G_N_ELEMENTS (styles))
        g_settings_set_string (self->settings, "color-scheme", styles[i]);
}

static void select_string (AdwComboRow *row, const char *const *values, guint n, const char *v)
{
    for (guint i = 0; i < n; i++)
        if (g_strcmp0 (values[i], v) == 0)
            adw_combo_row_set_selected (row, i);
}

static void dn_preferences_window_dispose (GObject *object)
{
    DnPreferencesWindow *self = DN_PREFERENCES_WINDOW (object);
    g_clear_object (&self->settings);
    g_clear_object (&self->chooser);
    gtk_widget_dispose_template (GTK_WIDGET (self), DN_TYPE_PREFERENCES_WINDOW);
    G_OBJECT_CLASS (dn_preferences_window_parent_class)->dispose (object);
}

static void dn_preferences_window_class_init (DnPreferencesWindowClass *klass)
{
    GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
    G_OBJECT_CLASS (klass)->dispose = dn_preferences_window_dispose;
    gtk_widget_class_set_template_from_resource (widget_class,
                                                 "/org/dendrite/Studio/dn-preferences-window.ui");
    gtk_widget_class_bind_template_child (widget_class, DnPreferencesWindow, output_row);
    gtk_widget_class_bind_template_child (widget_class, DnPreferencesWindow, output_button);
    gtk_widget_class_bind_template_child (widget_class, DnPreferencesWindow, export_row);
    gtk_widget_class_bind_template_child (widget_class, DnPreferencesWindow, export_button);
    gtk_widget_class_bind_template_child (widget_class, DnPreferencesWindow, export_clear_button);
    gtk_widget_class_bind_template_child (widget_class, DnPreferencesWindow, threads_spin);
    gtk_widget_class_bind_template_child (widget_class, DnPreferencesWindow, device_row);
    gtk_widget_class_bind_template_child (widget_class, DnPreferencesWindow, style_row);
}

static void dn_preferences_window_init (DnPreferencesWindow *self)
{
    gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *dn_preferences_window_new (GSettings *settings)
{
    DnPreferencesWindow *self = g_object_new (DN_TYPE_PREFERENCES_WINDOW, NULL);
    if (settings == NULL) {
        gtk_widget_set_sensitive (GTK_WIDGET (self), FALSE);
        return GTK_WIDGET (self);
    }
    self->settings = g_object_ref (settings);
    g_settings_bind (settings, "threads", self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
    g_autofree char *device = g_settings_get_string (settings, "device");
    select_string (self->device_row, devices, G_N_ELEMENTS (devices), device);
    g_autofree char *style = g_settings_get_string (settings, "color-scheme");
    select_string (self->style_row, styles, G_N_ELEMENTS (styles), style);
    g_signal_connect (self->device_row, "notify::selected", G_CALLBACK (on_device), self);
    g_signal_connect (self->style_row, "notify::selected", G_CALLBACK (on_style), self);
    g_signal_connect (self->output_button, "clicked", G_CALLBACK (on_output), self);
    g_signal_connect (self->export_button, "clicked", G_CALLBACK (on_export), self);
    g_signal_connect (self->export_clear_button, "clicked", G_CALLBACK (on_export_clear), self);
    show_folders (self);
    return GTK_WIDGET (self);
}
