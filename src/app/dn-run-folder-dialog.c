/* dn-run-folder-dialog.c: Resume / Overwrite / New Numbered Run. */
#include "dn-run-folder-dialog.h"

#include "dn-run-dir.h"

#include <glib/gi18n.h>

void dn_run_folder_offer_init (DnRunFolderOffer *offer, const char *run_dir)
{
    memset (offer, 0, sizeof *offer);
    offer->holds_run = dn_run_dir_holds_run (run_dir);
    if (!offer->holds_run)
        return;
    offer->in_use = dn_run_dir_is_locked (run_dir, &offer->holder);
    g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
    offer->can_resume = !offer->in_use && g_file_test (latest, G_FILE_TEST_IS_REGULAR);
}

void dn_run_folder_offer_clear (DnRunFolderOffer *offer)
{
    g_clear_pointer (&offer->holder, g_free);
}

typedef struct {
    DnRunFolderCallback callback;
    gpointer user_data;
    char *run_dir;
} Ask;

static void ask_free (gpointer p)
{
    Ask *a = p;
    g_free (a->run_dir);
    g_free (a);
}

static void on_response (AdwMessageDialog *dialog, const char *response, Ask *a)
{
    DnRunFolderChoice c = g_str_equal (response, "resume")      ? DN_RUN_FOLDER_RESUME
                          : g_str_equal (response, "overwrite") ? DN_RUN_FOLDER_OVERWRITE
                          : g_str_equal (response, "new")       ? DN_RUN_FOLDER_NEW
                                                                : DN_RUN_FOLDER_CANCEL;
    a->callback (c, a->run_dir, a->user_data);
}

GtkWidget *dn_run_folder_dialog_ask (GtkWindow *parent, const char *run_dir,
                                     DnRunFolderCallback callback, gpointer user_data)
{
    DnRunFolderOffer offer;
    dn_run_folder_offer_init (&offer, run_dir);
    if (!offer.holds_run) {
        dn_run_folder_offer_clear (&offer);
        return NULL;
    }
    g_autofree char *body = NULL;
    if (offer.in_use)
        body = g_strdup_printf (_ ("%s is in use by %s. This run can go to a new numbered folder "
                                   "beside it."),
                                run_dir, offer.holder);
    else if (offer.can_resume)
        body = g_strdup_printf (_ ("%s holds an earlier run of this experiment. Resume continues "
                                   "it as it was set up; Overwrite deletes it and starts this run "
                                   "there; New Numbered Run keeps it and starts this run in a "
                                   "folder beside it (%s-2, …)."),
                                run_dir, run_dir);
    else
        body = g_strdup_printf (_ ("%s holds an earlier run of this experiment, stopped before "
                                   "its first epoch, so there is nothing to resume. Overwrite "
                                   "deletes it and starts this run there; New Numbered Run keeps "
                                   "it and starts this run in a folder beside it (%s-2, …)."),
                                run_dir, run_dir);
    GtkWidget *dialog = adw_message_dialog_new (parent, _ ("The Run Folder Exists"), body);
    AdwMessageDialog *d = ADW_MESSAGE_DIALOG (dialog);
    adw_message_dialog_add_responses (d, "cancel", _ ("_Cancel"), "resume", _ ("_Resume"),
                                      "overwrite", _ ("_Overwrite"), "new", _ ("_New Numbered Run"),
                                      NULL);
    adw_message_dialog_set_response_enabled (d, "resume", offer.can_resume);
    adw_message_dialog_set_response_enabled (d, "overwrite", !offer.in_use);
    adw_message_dialog_set_response_appearance (d, "overwrite", ADW_RESPONSE_DESTRUCTIVE);
    adw_message_dialog_set_response_appearance (d, "new", ADW_RESPONSE_SUGGESTED);
    adw_message_dialog_set_default_response (d, "new");
    adw_message_dialog_set_close_response (d, "cancel");
    Ask *a = g_new0 (Ask, 1);
    a->callback = callback;
    a->user_data = user_data;
    a->run_dir = g_strdup (run_dir);
    g_object_set_data_full (G_OBJECT (dialog), "dn-ask", a, ask_free);
    g_signal_connect (dialog, "response", G_CALLBACK (on_response), a);
    dn_run_folder_offer_clear (&offer);
    gtk_window_present (GTK_WINDOW (dialog));
    return dialog;
}
