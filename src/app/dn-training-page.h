/* dn-training-page.h: the page a user watches while a run trains.
 *
 * A status card (epoch, batch, samples/s, ETA, best so far and the test
 * score at that epoch, and the tracker's plain-language status), the run
 * settings (epochs, batch size, optimizer, learning rate, seed), the four
 * charts of the run (dn_chart_draw) with zoom and per-chart export, and
 * every tracker decision in plain words. It shows whatever snapshot it is
 * given: the live run's, or a finished run reopened from its folder.
 *
 * A continual-learning run (snapshot tasks > 0; before a run, an experiment
 * with a "continual" section) shows "Task 3 · epoch 2" with "Task 3 of 10 ·
 * epoch 2 of 3" below it, and instead of the four charts the accuracy of every
 * task (redrawn when a task has been evaluated) and, at the end, the hidden
 * activity per task.
 */
#pragma once

#include "dn-document.h"
#include "dn-run-snapshot.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_TRAINING_PAGE (dn_training_page_get_type ())
G_DECLARE_FINAL_TYPE (DnTrainingPage, dn_training_page, DN, TRAINING_PAGE, AdwBin)

void dn_training_page_set_document (DnTrainingPage *self, DnDocument *doc);
void dn_training_page_set_snapshot (DnTrainingPage *self, DnRunSnapshot *snap);
/* The snapshot shown (NULL before any). */
DnRunSnapshot *dn_training_page_get_snapshot (DnTrainingPage *self);
void dn_training_page_set_dark (DnTrainingPage *self, gboolean dark);
/* The chart widgets: a DnChartKind, DN_CHART_WIDGET_TASKS or _ACTIVITY (tests, benchmarks). */
GtkWidget *dn_training_page_get_chart (DnTrainingPage *self, int kind);
/* The status card's texts joined (tests). g_free. */
char *dn_training_page_get_status_text (DnTrainingPage *self);

G_END_DECLS
