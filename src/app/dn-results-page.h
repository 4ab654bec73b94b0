/* dn-results-page.h: what the runs achieved, and a baseline to compare with.
 *
 * A row per architecture of the run shown (dn_tracker_best_scores: the
 * parameter count, the best validation score, the test score at that
 * epoch) with the remaining-error reduction against the pinned baseline
 * run, or, without one, against the run's own first architecture (no
 * dendrites). Recent runs are found in the output folder, each can be
 * reopened or pinned as the baseline (kept in GSettings).
 */
#pragma once

#include "dn-document.h"
#include "dn-run-snapshot.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_RESULTS_PAGE (dn_results_page_get_type ())
G_DECLARE_FINAL_TYPE (DnResultsPage, dn_results_page, DN, RESULTS_PAGE, AdwBin)

void dn_results_page_set_document (DnResultsPage *self, DnDocument *doc);
/* A run ended (or was reopened): show its architectures, list it. */
void dn_results_page_add_run (DnResultsPage *self, DnRunSnapshot *snap);
/* The sidebar's line. g_free. */
char *dn_results_page_get_summary (DnResultsPage *self);
/* Remaining-error reduction (a fraction) of accuracy `acc` against `base`, both in
 * percent; NaN when the baseline is perfect or either is missing. */
double dn_remaining_error_reduction (double base, double acc);

G_END_DECLS
