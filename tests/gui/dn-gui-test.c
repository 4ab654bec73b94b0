/* dn-gui-test.c: what the window tests share beyond dn-test-util.c. */
#include "dn-gui-test.h"

#include "dn-test-util.h"

DnDocument *dn_gui_test_load_template (const char *name)
{
    g_autofree char *rel = g_strdup_printf ("examples/%s.json", name);
    g_autofree char *path = dn_test_data_path (rel);
    GError *error = NULL;
    DnExperiment *exp = dn_experiment_load (path, &error);
    g_assert_no_error (error);
    return dn_document_new (exp, NULL);
}

AdwMessageDialog *dn_gui_test_find_dialog (GtkWindow *parent)
{
    GListModel *tops = gtk_window_get_toplevels ();
    for (guint i = 0; i < g_list_model_get_n_items (tops); i++) {
        g_autoptr (GtkWindow) w = g_list_model_get_item (tops, i);
        if (ADW_IS_MESSAGE_DIALOG (w) && gtk_window_get_transient_for (w) == parent &&
            gtk_widget_get_visible (GTK_WIDGET (w)))
            return ADW_MESSAGE_DIALOG (w);
    }
    return NULL;
}

void dn_gui_test_save_shot (GtkWidget *w, const char *name)
{
    const char *dir = g_getenv ("DN_SCREENSHOT_DIR");
    if (dir == NULL)
        return;
    dn_test_pump (0.3); /* the window paints what it shows first */
    GdkPaintable *p = gtk_widget_paintable_new (w);
    GtkSnapshot *s = gtk_snapshot_new ();
    gdk_paintable_snapshot (p, s, gtk_widget_get_width (w), gtk_widget_get_height (w));
    GskRenderNode *node = gtk_snapshot_free_to_node (s);
    if (node != NULL) {
        GskRenderer *r = gtk_native_get_renderer (gtk_widget_get_native (w));
        GdkTexture *tex = gsk_renderer_render_texture (r, node, NULL);
        g_autofree char *path = g_build_filename (dir, name, NULL);
        gdk_texture_save_to_png (tex, path);
        g_object_unref (tex);
        gsk_render_node_unref (node);
    }
    g_object_unref (p);
}

void dn_gui_test_window_open (DnGuiWindow *f, int width, int height)
{
    f->dir = dn_test_tmpdir ();
    /* one application per process: it registers once */
    static DnApplication *app;
    if (app == NULL) {
        app = dn_application_new ();
        g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
        g_autoptr (GError) error = NULL;
        g_assert_true (g_application_register (G_APPLICATION (app), NULL, &error));
    }
    f->app = app;
    GSettings *settings = dn_application_get_settings (f->app);
    g_assert_nonnull (settings);
    g_autofree char *runs = g_build_filename (f->dir, "runs", NULL);
    g_settings_set_string (settings, "output-folder", runs);
    g_settings_set_int (settings, "threads", 2);
    f->win = dn_window_new (f->app);
    gtk_window_set_default_size (GTK_WINDOW (f->win), width, height);
    gtk_window_present (GTK_WINDOW (f->win));
    dn_test_pump (0.3);
}

void dn_gui_test_window_close (DnGuiWindow *f)
{
    gtk_window_destroy (GTK_WINDOW (f->win));
    dn_test_pump (0.1);
    dn_test_tmpdir_remove (f->dir);
    g_free (f->dir);
}
