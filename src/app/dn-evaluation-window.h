/* dn-evaluation-window.h: a model scored on a dataset, in a window of its own.
 *
 * The evaluation (dn_model_evaluate_file or dn_model_evaluate_experiment) runs in a
 * GTask thread while the window shows what it is doing; the window never waits on
 * it. The result: accuracy, loss and samples, the confusion matrix as a heat map
 * (DnConfusionWidget) and each class's precision, recall and support beside it;
 * Export writes the CSV `dendrite eval --confusion` writes and says where in a
 * toast. An error (data that does not fit the model, a broken file) is shown in a
 * dialog with the engine's message. "finished" is emitted once, either way.
 */
#pragma once

#include "dn-model-eval.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_EVALUATION_WINDOW (dn_evaluation_window_get_type ())
G_DECLARE_FINAL_TYPE (DnEvaluationWindow, dn_evaluation_window, DN, EVALUATION_WINDOW, AdwWindow)

/* Scores model_path on data_path (a file or IDX folder) or, with data_path NULL, on
 * the test split of exp (taken; may be NULL only with data_path). The window is
 * transient for parent (may be NULL) and presented by the caller. */
DnEvaluationWindow *dn_evaluation_window_new (GtkWindow *parent, const char *model_path,
                                              const char *data_path, DnExperiment *exp);
gboolean dn_evaluation_window_is_busy (DnEvaluationWindow *self);
/* NULL while busy or after an error. */
const DnModelEvaluation *dn_evaluation_window_get_result (DnEvaluationWindow *self);
/* The error's message after a failure, else NULL. */
const char *dn_evaluation_window_get_error (DnEvaluationWindow *self);
GtkWidget *dn_evaluation_window_get_heat_map (DnEvaluationWindow *self);
/* Writes the confusion matrix CSV (dn_confusion_write_csv) and toasts its path. */
gboolean dn_evaluation_window_export (DnEvaluationWindow *self, const char *path, GError **error);

G_END_DECLS
