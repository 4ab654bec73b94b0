/* dn-window.h: a Dendrite Studio window: one experiment, its pages and its run.
 *
 * Holds the DnDocument being edited and the DnTrainer that runs it; the
 * pages (Network, Dendrites, Data, Training, Results) edit the document
 * and show the trainer's snapshots. Window actions (open, save, start,
 * stop, resume, export, pages) live in dn-window-actions.c and are
 * installed in class_init; the application sets the accelerators.
 */
#pragma once

#include "dn-application.h"
#include "dn-document.h"
#include "dn-model-window.h"
#include "dn-trainer.h"

G_BEGIN_DECLS

#define DN_TYPE_WINDOW (dn_window_get_type ())
G_DECLARE_FINAL_TYPE (DnWindow, dn_window, DN, WINDOW, AdwApplicationWindow)

DnWindow *dn_window_new (DnApplication *app);
/* An experiment (.json) or a model (.safetensors); errors become a dialog. */
void dn_window_open_file (DnWindow *self, GFile *file);
/* The window of the trained model the document was opened from, presented (NULL
 * when the document is no model, or with an error dialog when it cannot be read). */
DnModelWindow *dn_window_show_model (DnWindow *self);
/* Takes doc. */
void dn_window_set_document (DnWindow *self, DnDocument *doc);
DnDocument *dn_window_get_document (DnWindow *self);
DnTrainer *dn_window_get_trainer (DnWindow *self);
void dn_window_show_page (DnWindow *self, const char *name);
void dn_window_toast (DnWindow *self, const char *text);
/* Exports `what` (see dn-export.h) of the run shown to the preferred export
 * folder, or asks for a folder; a toast says where it went. */
void dn_window_export (DnWindow *self, const char *what);
/* A toast with an "Open Folder" button that shows `folder`. */
void dn_window_toast_folder (DnWindow *self, const char *text, const char *folder);

G_END_DECLS
