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
