/* dn-model-window.h: a trained model brought back into the app.
 *
 * Shown when a window opens a model file written by the engine (the window's
 * document then holds the model's network and settings, and its runs start from the
 * model's weights: dn_document_get_model). It says what the model is (network,
 * parameters, dendrite sets, input, outputs, normalisation, how it was trained) and
 * offers what to do with it: Evaluate it on the experiment's data or on a file or
 * folder of your choosing (a DnEvaluationWindow), Continue Training it, or Add
 * Dendrites to it (a dendritic run whose neurons start from the model's weights).
 * Both runs go through the main window's "win.start", as the Start button does.
 */
#pragma once

#include "dn-document.h"
#include "dn-evaluation-window.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_MODEL_WINDOW (dn_model_window_get_type ())
G_DECLARE_FINAL_TYPE (DnModelWindow, dn_model_window, DN, MODEL_WINDOW, AdwWindow)

/* doc must have a model (dn_document_get_model); parent is the main window whose
 * "win.start" the runs use. NULL + error when the model cannot be read. */
DnModelWindow *dn_model_window_new (GtkWindow *parent, DnDocument *doc, GError **error);
/* The text of the summary's row titled `title`, for tests; NULL when absent. */
const char *dn_model_window_get_fact (DnModelWindow *self, const char *title);
/* Evaluate: on data_path (a CSV file or an IDX folder), or with NULL on the test
 * split of the document's experiment. The window is presented. */
DnEvaluationWindow *dn_model_window_evaluate (DnModelWindow *self, const char *data_path);
/* Continue Training (dendrites FALSE: the experiment as the model was built) or Add
 * Dendrites (TRUE: its dendrites section switched on); the run starts at once. */
void dn_model_window_train (DnModelWindow *self, gboolean add_dendrites);

G_END_DECLS
