/* dn-run-table.h: every run of the output folder in one sortable table.
 *
 * A GtkColumnView over the folder's run summaries (dn_run_summary_scan): name,
 * data, network, dendrite mode, sets kept, parameters, best validation, test at
 * best validation, the remaining error removed against the pinned baseline, epochs,
 * wall time, date, and what is wrong with a broken or partial run. Click a header
 * to sort; select several rows (Ctrl, Shift) to compare them: "selection-changed"
 * is emitted and dn_run_table_get_selected says which.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define DN_TYPE_RUN_TABLE (dn_run_table_get_type ())
G_DECLARE_FINAL_TYPE (DnRunTable, dn_run_table, DN, RUN_TABLE, GtkWidget)

GtkWidget *dn_run_table_new (void);
/* Takes runs (DnRunSummary, as dn_run_summary_scan gives them); baseline_test is the
 * pinned run's test score at its best validation (NaN: none). The selection is kept
 * for the runs still listed. */
void dn_run_table_set_runs (DnRunTable *self, GPtrArray *runs, double baseline_test);
guint dn_run_table_get_n_runs (DnRunTable *self);
/* The folders of the selected runs, in the table's order. g_ptr_array_unref. */
GPtrArray *dn_run_table_get_selected (DnRunTable *self);
/* Selects the runs whose folder is in paths (NULL-terminated) and no other. */
void dn_run_table_select (DnRunTable *self, const char *const *paths);
/* Sorts by a column (0 the name, ... as listed above). */
void dn_run_table_sort_by (DnRunTable *self, guint column, gboolean descending);
/* The folder of row i as shown (sorted), or NULL past the end. */
const char *dn_run_table_get_path (DnRunTable *self, guint i);
/* The text of a cell as shown, for tests. g_free. */
char *dn_run_table_get_text (DnRunTable *self, guint row, guint column);

G_END_DECLS
