/* dn-continual-files.h: what a continual-learning run leaves in its folder:
 * accuracy_matrix.csv (row t: after task t; columns task_j and their mean),
 * accuracy_curves.png, hidden_activity.csv/.png (Figure 6), summary.json, and
 * history.csv (one row per task epoch, written by the run writer). All files are
 * written atomically. */
#pragma once

#include "dn-train.h"

G_BEGIN_DECLS

/* The CSV text of an accuracy matrix (rows not measured are left out). Free with g_free. */
char *dn_continual_matrix_csv (int tasks, const double *matrix);
gboolean dn_continual_files_matrix (const char *dir, int tasks, const double *matrix,
                                    GError **error);
gboolean dn_continual_files_activity (const char *dir, int tasks, int units, const float *activity,
                                      const char *layer, GError **error);
/* summary.json from the DONE event. */
gboolean dn_continual_files_summary (const char *dir, const DnEvent *ev, GError **error);

G_END_DECLS
