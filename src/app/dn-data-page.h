/* dn-data-page.h: where the samples come from, how they are split and scaled.
 *
 * Sources: the bundled MNIST sample, Fashion-MNIST when Debian's
 * dataset-fashion-mnist package is installed, any folder of IDX files, or
 * a CSV file (choose the label column). The preview loads the training
 * file on a worker thread with the engine's readers and shows the first
 * samples: thumbnails with their labels for images, a table for CSV.
 *
 * Permuted tasks (image data only) turn the experiment into a continual-learning
 * run: the switch writes or drops the "continual" section (its settings stay for
 * the session), with the task count T, the context the active dendrite layers
 * read (their context_dim follows it: the image's size for a prototype, T for a
 * task id) and the epochs per task. A run has dendrites or permuted tasks, never
 * both: each page's switch is off limits while the other is on.
 */
#pragma once

#include "dn-document.h"

#include <adwaita.h>

G_BEGIN_DECLS

#define DN_TYPE_DATA_PAGE (dn_data_page_get_type ())
G_DECLARE_FINAL_TYPE (DnDataPage, dn_data_page, DN, DATA_PAGE, AdwBin)

#define DN_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

void dn_data_page_set_document (DnDataPage *self, DnDocument *doc);
/* The preview's summary line (tests). */
const char *dn_data_page_get_summary (DnDataPage *self);
/* Samples shown in the preview (tests). */
guint dn_data_page_get_n_preview (DnDataPage *self);
/* The editors (tests): "continual" (AdwExpanderRow, its enable switch), "tasks",
 * "epochs_per_task" (GtkSpinButton), "context" (AdwComboRow), "source", "validation". */
GtkWidget *dn_data_page_get_editor (DnDataPage *self, const char *name);

G_END_DECLS
