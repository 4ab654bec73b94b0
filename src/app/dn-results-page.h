/* dn-results-page.h: what the runs achieved, and a baseline to compare with.
 *
 * A row per architecture of the run shown (dn_tracker_best_scores: the
 * parameter count, the best validation score, the test score at that
 * epoch) with the remaining-error reduction against the pinned baseline
 * run, or, without one, against the run's own first architecture (no
 * dendrites). Recent runs are found in the output folder, each can be
 * reopened or pinned as the baseline (kept in GSettings). Every run of the folder
 * is also in a sortable table (dn-run-table.h); the runs selected there, and the
 * pinned baseline (dashed), are drawn over four charts below it, which can be
 * exported as one picture.
 */
#pragma once

#include "dn-document.h"
#include "dn-evaluation-window.h"
#include "dn-run-snapshot.h"
#include "dn-run-table.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_RESULTS_PAGE (dn_results_page_get_type ())
G_DECLARE_FINAL_TYPE (DnResultsPage, dn_results_page, DN, RESULTS_PAGE, AdwBin)

void dn_results_page_set_document (DnResultsPage *self, DnDocument *doc);
/* A run ended (or was reopened): show its architectures, list it. */
void dn_results_page_add_run (DnResultsPage *self, DnRunSnapshot *snap);
/* The sidebar's line. g_free. */
char *dn_results_page_get_summary (DnResultsPage *self);
/* The run table, and the comparison chart of a DnChartKind (tests). */
DnRunTable *dn_results_page_get_run_table (DnResultsPage *self);
GtkWidget *dn_results_page_get_compare_chart (DnResultsPage *self, int kind);
/* Evaluates the best model of the one run selected in the table on that run's test
 * split, in a new evaluation window (presented); NULL + error without one. */
DnEvaluationWindow *dn_results_page_show_confusion (DnResultsPage *self, GError **error);
/* The four charts with the selected runs (and the pinned baseline) drawn over them,
 * as a PNG, SVG or PDF by path's extension; FALSE + error when none is selected. */
gboolean dn_results_page_export_comparison (DnResultsPage *self, const char *path,
                                            GError **error);
/* Remaining-error reduction (a fraction) of accuracy `acc` against `base`, both in
 * percent; NaN when the baseline is perfect or either is missing. */
double dn_remaining_error_reduction (double base, double acc);

G_END_DECLS
