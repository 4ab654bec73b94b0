/* dn-run-folder-dialog.h: what to do when a run's folder already holds a run.
 *
 * The app offers what the command line does: Resume the earlier run (it goes
 * on as it was set up), Overwrite it (the folder is cleared; only a run
 * folder), or a New Numbered Run beside it (NAME-2, NAME-3, ...). A folder
 * another process is running in offers the numbered run only, and says who
 * holds it.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

typedef enum {
    DN_RUN_FOLDER_CANCEL,
    DN_RUN_FOLDER_RESUME,
    DN_RUN_FOLDER_OVERWRITE,
    DN_RUN_FOLDER_NEW,
} DnRunFolderChoice;

/* What the folder allows. */
typedef struct {
    gboolean holds_run;  /* something is in it: ask */
    gboolean can_resume; /* it has latest.safetensors and no one runs in it */
    gboolean in_use;     /* another run holds its lock */
    char *holder;        /* in_use: "process PID on host HOST" */
} DnRunFolderOffer;

void dn_run_folder_offer_init (DnRunFolderOffer *offer, const char *run_dir);
void dn_run_folder_offer_clear (DnRunFolderOffer *offer);

typedef void (*DnRunFolderCallback) (DnRunFolderChoice choice, const char *run_dir,
                                     gpointer user_data);

/* Shows the question as a dialog over parent when run_dir holds a run and returns
 * it (callback on the answer); NULL when there is nothing to ask. */
GtkWidget *dn_run_folder_dialog_ask (GtkWindow *parent, const char *run_dir,
                                     DnRunFolderCallback callback, gpointer user_data);

G_END_DECLS
