/* dn-application.c: the application, its preferences and actions. */
#include "dn-application.h"

#include "dn-config.h"
#include "dn-preferences-window.h"
#include "dn-window.h"

#include <glib/gi18n.h>

struct _DnApplication {
    AdwApplication parent_instance;
    GSettings *settings;
};

G_DEFINE_FINAL_TYPE (DnApplication, dn_application, ADW_TYPE_APPLICATION)

GSettings *dn_settings (void)
{
    GApplication *app = g_application_get_default ();
    return DN_IS_APPLICATION (app) ? DN_APPLICATION (app)->settings : NULL;
}

/* Installed: the schema is in the system's list. Uninstalled (run from the
 * build tree): the one compiled into build/data. */
static GSettings *open_settings (void)
{
    GSettingsSchemaSource *src = g_settings_schema_source_get_default ();
    g_autoptr (GSettingsSchema) schema =
        src != NULL ? g_settings_schema_source_lookup (src, DN_APP_ID, TRUE) : NULL;
    if (schema == NULL) {
        g_autoptr (GSettingsSchemaSource) local =
            g_settings_schema_source_new_from_directory (DN_BUILD_SCHEMA_DIR, src, FALSE, NULL);
        if (local != NULL)
            schema = g_settings_schema_source_lookup (local, DN_APP_ID, FALSE);
    }
    if (schema == NULL) {
        g_warning ("the GSettings schema %s is not installed; preferences will not be kept",
                   DN_APP_ID);
        return NULL;
    }
    return g_settings_new_full (schema, NULL, NULL);
}

GSettings *dn_application_get_settings (DnApplication *self)
{
    return self->settings;
}

static void about_action (GSimpleAction *action, GVariant *param, gpointer data)
{
    GtkApplication *app = GTK_APPLICATION (data);
    const char *developers[] = {_ ("The Dendrite Studio developers"), NULL};
    GtkWidget *about = g_object_new (
        ADW_TYPE_ABOUT_WINDOW, "transient-for", gtk_application_get_active_window (app),
        "application-name", _ ("Dendrite Studio"), "application-icon", DN_APP_ID, "version",
        PACKAGE_VERSION, "developers", developers, "license-type", GTK_LICENSE_GPL_3_0, "comments",
        _ ("A laboratory for neural networks with artificial dendrites: build a network, choose "
           "how dendrites grow, watch the training live and take away the results."),
        "translator-credits", _ ("translator-credits"), NULL);
    gtk_window_present (GTK_WINDOW (about));
}

static void preferences_action (GSimpleAction *action, GVariant *param, gpointer data)
{
    DnApplication *self = DN_APPLICATION (data);
    GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
    GtkWidget *prefs = dn_preferences_window_new (self->settings);
    gtk_window_set_transient_for (GTK_WINDOW (prefs), parent);
    gtk_window_present (GTK_WINDOW (prefs));
}

static void quit_action (GSimpleAction *action, GVariant *param, gpointer data)
{
    GtkApplication *app = GTK_APPLICATION (data);
    /* each window asks about unsaved changes and running trainings itself */
    GList *windows = g_list_copy (gtk_application_get_windows (app));
    for (GList *l = windows; l != NULL; l = l->next)
        gtk_window_close (GTK_WINDOW (l->data));
    g_list_free (windows);
}

static void apply_style (DnApplication *self)
{
    AdwStyleManager *sm = adw_style_manager_get_default ();
    g_autofree char *scheme = self->settings != NULL
                                  ? g_settings_get_string (self->settings, "color-scheme")
                                  : g_strdup ("default");
    adw_style_manager_set_color_scheme (
        sm, g_str_equal (scheme, "dark")    ? ADW_COLOR_SCHEME_FORCE_DARK
            : g_str_equal (scheme, "light") ? ADW_COLOR_SCHEME_FORCE_LIGHT
                                            : ADW_COLOR_SCHEME_DEFAULT);
}

static void dn_application_startup (GApplication *app)
{
    DnApplication *self = DN_APPLICATION (app);
    G_APPLICATION_CLASS (dn_application_parent_class)->startup (app);
    self->settings = open_settings ();
    if (self->settings != NULL)
        g_signal_connect_swapped (self->settings, "changed::color-scheme", G_CALLBACK (apply_style),
                                  self);
    apply_style (self);
    gtk_window_set_default_icon_name (DN_APP_ID);

    static const GActionEntry entries[] = {
        {"about", about_action},
        {"preferences", preferences_action},
        {"quit", quit_action},
    };
    g_action_map_add_action_entries (G_ACTION_MAP (app), entries, G_N_ELEMENTS (entries), app);
    GtkApplication *gapp = GTK_APPLICATION (app);
    gtk_application_set_accels_for_action (gapp, "app.quit", (const char *[]){"<Control>q", NULL});
    gtk_application_set_accels_for_action (gapp, "app.preferences",
                                           (const char *[]){"<Control>comma", NULL});
    gtk_application_set_accels_for_action (gapp, "win.open", (const char *[]){"<Control>o", NULL});
    gtk_application_set_accels_for_action (gapp, "win.save", (const char *[]){"<Control>s", NULL});
    gtk_application_set_accels_for_action (gapp, "win.save-as",
                                           (const char *[]){"<Control><Shift>s", NULL});
    gtk_application_set_accels_for_action (gapp, "win.new", (const char *[]){"<Control>n", NULL});
    gtk_application_set_accels_for_action (gapp, "win.start",
                                           (const char *[]){"<Control>Return", "F5", NULL});
    gtk_application_set_accels_for_action (gapp, "win.stop",
                                           (const char *[]){"Escape", "<Control>period", NULL});
    gtk_application_set_accels_for_action (gapp, "win.export-all",
                                           (const char *[]){"<Control>e", NULL});
    gtk_application_set_accels_for_action (gapp, "window.close",
                                           (const char *[]){"<Control>w", NULL});
    for (int i = 0; i < 5; i++) {
        char action[64], accel[32];
        g_snprintf (action, sizeof action, "win.show-page::%d", i);
        g_snprintf (accel, sizeof accel, "<Alt>%d", i + 1);
        gtk_application_set_accels_for_action (gapp, action, (const char *[]){accel, NULL});
    }
}

static void dn_application_activate (GApplication *app)
{
    GtkWindow *win = gtk_application_get_active_window (GTK_APPLICATION (app));
    if (win == NULL)
        win = GTK_WINDOW (dn_window_new (DN_APPLICATION (app)));
    gtk_window_present (win);
}

static void dn_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
    for (int i = 0; i < n_files; i++) {
        DnWindow *win = dn_window_new (DN_APPLICATION (app));
        gtk_window_present (GTK_WINDOW (win));
        dn_window_open_file (win, files[i]);
    }
}

static void dn_application_finalize (GObject *object)
{
    DnApplication *self = DN_APPLICATION (object);
    g_clear_object (&self->settings);
    G_OBJECT_CLASS (dn_application_parent_class)->finalize (object);
}

static void dn_application_class_init (DnApplicationClass *klass)
{
    G_OBJECT_CLASS (klass)->finalize = dn_application_finalize;
    G_APPLICATION_CLASS (klass)->startup = dn_application_startup;
    G_APPLICATION_CLASS (klass)->activate = dn_application_activate;
    G_APPLICATION_CLASS (klass)->open = dn_application_open;
}

static void dn_application_init (DnApplication *self)
{
}

DnApplication *dn_application_new (void)
{
    return g_object_new (DN_TYPE_APPLICATION, "application-id", DN_APP_ID, "flags",
                         G_APPLICATION_HANDLES_OPEN, "resource-base-path", "/org/dendrite/Studio",
                         NULL);
}
