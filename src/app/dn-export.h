/* dn-export.h: what the Export menu and the charts' menus write.
 *
 * Everything comes from the same places the run folder's files come from:
 * the CSVs from dn_run_file_text (libdendrite-report) on the snapshot's
 * tracker, pictures from dn_chart_save, models copied from the run folder,
 * the experiment from dn_experiment_save. No widgets: the window asks for
 * the folder and shows the toast.
 *
 * `what` names a set:
 *   "csv"            the six Perforated AI CSVs (<name>Scores.csv, ...)
 *   "tidy"           history.csv, one row per epoch
 *   "picture-FMT"    the 2x2 figure as <name>.FMT (png, svg, pdf)
 *   "chart-K-FMT"    one chart, K = scores|times|lr|correlation, or for a
 *                    continual run tasks|activity (<name>-tasks.FMT)
 *   "best-model"     best_model.safetensors
 *   "clean-model"    final_clean_pai.safetensors
 *   "experiment"     <name>.json
 *   "all"            all of the above with PNG and SVG pictures
 *
 * A continual-learning run (snap->tasks > 0) has no tracker: its sets are
 * "accuracy-matrix" (<name>-accuracy_matrix.csv), the task charts ("picture-FMT"
 * is the task accuracy chart), "final-model" (final_model.safetensors) and
 * "experiment"; "all" writes those.
 */
#pragma once

#include "dn-run-snapshot.h"

G_BEGIN_DECLS

/* TRUE when `what` can be exported from this snapshot (a run with a history,
 * a model file that exists); *why gets a sentence for people otherwise. */
gboolean dn_export_available (const DnRunSnapshot *snap, const char *what, char **why);
/* Writes into dir (created if needed). *n_files receives how many files were
 * written. FALSE + error at the first failure. */
gboolean dn_export_run (const DnRunSnapshot *snap, const DnExperiment *exp, const char *what,
                        const char *dir, int *n_files, GError **error);

/* "Export as ONNX…": the model file it writes out, in the snapshot's run folder: the
 * best model, or a continual run's final model. NULL when there is none yet, with *why
 * a sentence for people (why may be NULL). g_free. */
char *dn_export_onnx_source (const DnRunSnapshot *snap, char **why);
/* Writes that model to `onnx_path` as ONNX (dn_onnx_export_model); a network export
 * cannot write (k-WTA, active dendrites) or a build without ONNX is an error that says
 * so. */
gboolean dn_export_onnx (const DnRunSnapshot *snap, const char *onnx_path, GError **error);

G_END_DECLS
