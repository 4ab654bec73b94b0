/* dn-run-table.c: the run table of the Results page. */
#include "dn-run-table.h"

#include "dn-network-info.h"
#include "dn-run-summary.h"

#include <glib/gi18n.h>
#include <math.h>

/* ---- one row: a run summary as a GObject ---- */

#define DN_TYPE_RUN_ROW (dn_run_row_get_type ())
G_DECLARE_FINAL_TYPE (DnRunRow, dn_run_row, DN, RUN_ROW, GObject)

struct _DnRunRow {
    GObject parent_instance;
    DnRunSummary *s;
    double removed; /* remaining error removed against the baseline, a fraction; NaN */
};

G_DEFINE_FINAL_TYPE (DnRunRow, dn_run_row, G_TYPE_OBJECT)

static void dn_run_row_finalize (GObject *o)
{
    dn_run_summary_free (DN_RUN_ROW (o)->s);
    G_OBJECT_CLASS (dn_run_row_parent_class)->finalize (o);
}

static void dn_run_row_class_init (DnRunRowClass *klass)
{
    G_OBJECT_CLASS (klass)->finalize = dn_run_row_finalize;
}

static void dn_run_row_init (DnRunRow *self)
{
}

/* ---- columns ---- */

enum {
    COL_NAME,
    COL_DATA,
    COL_NETWORK,
    COL_MODE,
    COL_SETS,
    COL_PARAMS,
    COL_VAL,
    COL_TEST,
    COL_REMOVED,
    COL_EPOCHS,
    COL_TIME,
    COL_DATE,
    COL_PROBLEM,
    N_COLS,
};

static const char *const titles[N_COLS] = {
    N_ ("Run"),         N_ ("Data"),          N_ ("Network"),       N_ ("Dendrites"),
    N_ ("Sets Kept"),   N_ ("Parameters"),    N_ ("Best Validation"), N_ ("Test at Best"),
    N_ ("Error Removed"), N_ ("Epochs"),      N_ ("Wall Time"),     N_ ("Date"),
    N_ ("Problem"),
};

static char *percent (double v)
{
    return isfinite (v) ? g_strdup_printf ("%.2f %%", v) : g_strdup ("—");
}

static char *cell_text (const DnRunRow *row, guint col)
{
    const DnRunSummary *s = row->s;
    switch (col) {
    case COL_NAME:
        return g_strdup (s->name);
    case COL_DATA: {
        if (s->data == NULL)
            return g_strdup ("—");
        return g_path_get_basename (s->data);
    }
    case COL_NETWORK:
        return g_strdup (s->network != NULL ? s->network : "—");
    case COL_MODE:
        return g_strdup (s->mode);
    case COL_SETS:
        return s->dendrites >= 0 ? g_strdup_printf ("%d", s->dendrites) : g_strdup ("—");
    case COL_PARAMS:
        return s->params >= 0 ? dn_format_count (s->params) : g_strdup ("—");
    case COL_VAL:
        return percent (s->best_val);
    case COL_TEST:
        return percent (s->test_at_best);
    case COL_REMOVED:
        return isfinite (row->removed) ? g_strdup_printf ("%+.1f %%", 100 * row->removed)
                                       : g_strdup ("—");
    case COL_EPOCHS:
        return s->epochs >= 0 ? g_strdup_printf ("%d", s->epochs) : g_strdup ("—");
    case COL_TIME: {
        if (!isfinite (s->seconds))
            return g_strdup ("—");
        int t = (int) round (s->seconds);
        return t >= 3600 ? g_strdup_printf ("%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60)
                         : g_strdup_printf ("%d:%02d", t / 60, t % 60);
    }
    case COL_DATE: {
        g_autoptr (GDateTime) when = g_date_time_new_from_unix_local (s->mtime);
        return when != NULL ? g_date_time_format (when, "%Y-%m-%d %H:%M") : g_strdup ("—");
    }
    case COL_PROBLEM:
        return g_strdup (s->problem != NULL ? s->problem : "");
    default:
        return g_strdup ("");
    }
}

/* The sort key of a number column: a missing value sorts after every number. */
static double number_key (const DnRunRow *row, guint col)
{
    const DnRunSummary *s = row->s;
    switch (col) {
    case COL_SETS:
        return s->dendrites >= 0 ? s->dendrites : NAN;
    case COL_PARAMS:
        return s->params >= 0 ? (double) s->params : NAN;
    case COL_VAL:
        return s->best_val;
    case COL_TEST:
        return s->test_at_best;
    case COL_REMOVED:
        return row->removed;
    case COL_EPOCHS:
        return s->epochs >= 0 ? s->epochs : NAN;
    case COL_TIME:
        return s->seconds;
    case COL_DATE:
        return (double) s->mtime;
    default:
        return NAN;
    }
}

static int compare_rows (gconstpointer a, gconstpointer b, gpointer data)
{
    guint col = GPOINTER_TO_UINT (data);
    const DnRunRow *x = a, *y = b;
    double kx = number_key (x, col), ky = number_key (y, col);
    if (col >= COL_SETS && col <= COL_DATE) {
        if (isnan (kx) || isnan (ky))
            return isnan (kx) - isnan (ky);
        return kx < ky ? -1 : kx > ky ? 1 : 0;
    }
    g_autofree char *tx = cell_text (x, col);
    g_autofree char *ty = cell_text (y, col);
    return g_utf8_collate (tx, ty);
}

struct _DnRunTable {
    GtkWidget parent_instance;
    GtkWidget *scroller;
    GtkColumnView *view;
    GListStore *store;
    GtkSortListModel *sorted;
    GtkMultiSelection *selection;
    GtkColumnViewColumn *columns[N_COLS];
};

G_DEFINE_FINAL_TYPE (DnRunTable, dn_run_table, GTK_TYPE_WIDGET)

enum { SIGNAL_SELECTION_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static void setup_cell (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
    GtkWidget *label = gtk_label_new (NULL);
    gtk_label_set_xalign (GTK_LABEL (label), 0.0);
    guint col = GPOINTER_TO_UINT (data);
    if (col == COL_NETWORK || col == COL_PROBLEM || col == COL_DATA) {
        gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
        gtk_label_set_max_width_chars (GTK_LABEL (label), col == COL_PROBLEM ? 40 : 22);
    }
    if (col == COL_PROBLEM)
        gtk_widget_add_css_class (label, "error");
    else if (col >= COL_SETS && col <= COL_TIME)
        gtk_widget_add_css_class (label, "numeric");
    gtk_list_item_set_child (item, label);
}

static void bind_cell (GtkSignalListItemFactory *f, GtkListItem *item, gpointer data)
{
    DnRunRow *row = gtk_list_item_get_item (item);
    g_autofree char *text = cell_text (row, GPOINTER_TO_UINT (data));
    GtkWidget *label = gtk_list_item_get_child (item);
    gtk_label_set_text (GTK_LABEL (label), text);
    gtk_widget_set_tooltip_text (label, GPOINTER_TO_UINT (data) == COL_PROBLEM ||
                                                GPOINTER_TO_UINT (data) == COL_DATA
                                            ? (GPOINTER_TO_UINT (data) == COL_DATA ? row->s->data
                                                                                  : text)
                                            : NULL);
}

static void on_selection_changed (GtkSelectionModel *m, guint pos, guint n, DnRunTable *self)
{
    g_signal_emit (self, signals[SIGNAL_SELECTION_CHANGED], 0);
}

GtkWidget *dn_run_table_new (void)
{
    return g_object_new (DN_TYPE_RUN_TABLE, NULL);
}

void dn_run_table_set_runs (DnRunTable *self, GPtrArray *runs, double baseline_test)
{
    g_autoptr (GPtrArray) keep = dn_run_table_get_selected (self);
    g_signal_handlers_block_by_func (self->selection, on_selection_changed, self);
    g_list_store_remove_all (self->store);
    for (guint i = 0; runs != NULL && i < runs->len; i++) {
        DnRunRow *row = g_object_new (DN_TYPE_RUN_ROW, NULL);
        row->s = runs->pdata[i];
        runs->pdata[i] = NULL;
        double base = baseline_test, acc = row->s->test_at_best;
        row->removed = isfinite (base) && isfinite (acc) && base < 100
                           ? ((100 - base) - (100 - acc)) / (100 - base)
                           : NAN;
        g_list_store_append (self->store, row);
        g_object_unref (row);
    }
    g_ptr_array_add (keep, NULL);
    dn_run_table_select (self, (const char *const *) keep->pdata);
    g_signal_handlers_unblock_by_func (self->selection, on_selection_changed, self);
    g_signal_emit (self, signals[SIGNAL_SELECTION_CHANGED], 0);
}

guint dn_run_table_get_n_runs (DnRunTable *self)
{
    return g_list_model_get_n_items (G_LIST_MODEL (self->store));
}

GPtrArray *dn_run_table_get_selected (DnRunTable *self)
{
    GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
    GListModel *m = G_LIST_MODEL (self->selection);
    for (guint i = 0; i < g_list_model_get_n_items (m); i++) {
        if (!gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), i))
            continue;
        g_autoptr (DnRunRow) row = g_list_model_get_item (m, i);
        g_ptr_array_add (out, g_strdup (row->s->path));
    }
    return out;
}

void dn_run_table_select (DnRunTable *self, const char *const *paths)
{
    GListModel *m = G_LIST_MODEL (self->selection);
    guint n = g_list_model_get_n_items (m);
    g_autoptr (GtkBitset) set = gtk_bitset_new_empty ();
    for (guint i = 0; i < n; i++) {
        g_autoptr (DnRunRow) row = g_list_model_get_item (m, i);
        if (paths != NULL && g_strv_contains (paths, row->s->path))
            gtk_bitset_add (set, i);
    }
    g_autoptr (GtkBitset) all = gtk_bitset_new_range (0, n);
    gtk_selection_model_set_selection (GTK_SELECTION_MODEL (self->selection), set, all);
}

void dn_run_table_sort_by (DnRunTable *self, guint column, gboolean descending)
{
    g_return_if_fail (column < N_COLS);
    gtk_column_view_sort_by_column (self->view, self->columns[column],
                                    descending ? GTK_SORT_DESCENDING : GTK_SORT_ASCENDING);
}

const char *dn_run_table_get_path (DnRunTable *self, guint i)
{
    g_autoptr (DnRunRow) row = g_list_model_get_item (G_LIST_MODEL (self->selection), i);
    return row != NULL ? row->s->path : NULL;
}

char *dn_run_table_get_text (DnRunTable *self, guint row, guint column)
{
    g_autoptr (DnRunRow) r = g_list_model_get_item (G_LIST_MODEL (self->selection), row);
    return r != NULL && column < N_COLS ? cell_text (r, column) : NULL;
}

static void dn_run_table_dispose (GObject *object)
{
    DnRunTable *self = DN_RUN_TABLE (object);
    g_clear_pointer (&self->scroller, gtk_widget_unparent);
    G_OBJECT_CLASS (dn_run_table_parent_class)->dispose (object);
}

static void dn_run_table_class_init (DnRunTableClass *klass)
{
    G_OBJECT_CLASS (klass)->dispose = dn_run_table_dispose;
    gtk_widget_class_set_layout_manager_type (GTK_WIDGET_CLASS (klass), GTK_TYPE_BIN_LAYOUT);
    gtk_widget_class_set_accessible_role (GTK_WIDGET_CLASS (klass), GTK_ACCESSIBLE_ROLE_GROUP);
    signals[SIGNAL_SELECTION_CHANGED] =
        g_signal_new ("selection-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                      NULL, NULL, G_TYPE_NONE, 0);
}

static void dn_run_table_init (DnRunTable *self)
{
    self->store = g_list_store_new (DN_TYPE_RUN_ROW);
    self->view = GTK_COLUMN_VIEW (gtk_column_view_new (NULL));
    for (guint c = 0; c < N_COLS; c++) {
        GtkListItemFactory *f = gtk_signal_list_item_factory_new ();
        g_signal_connect (f, "setup", G_CALLBACK (setup_cell), GUINT_TO_POINTER (c));
        g_signal_connect (f, "bind", G_CALLBACK (bind_cell), GUINT_TO_POINTER (c));
        GtkColumnViewColumn *col = gtk_column_view_column_new (_ (titles[c]), f);
        gtk_column_view_column_set_resizable (col, TRUE);
        gtk_column_view_column_set_expand (col, c == COL_PROBLEM);
        GtkSorter *sorter =
            GTK_SORTER (gtk_custom_sorter_new (compare_rows, GUINT_TO_POINTER (c), NULL));
        gtk_column_view_column_set_sorter (col, sorter);
        g_object_unref (sorter);
        gtk_column_view_append_column (self->view, col);
        self->columns[c] = col;
        g_object_unref (col);
    }
    GtkSorter *sorter = gtk_column_view_get_sorter (self->view);
    self->sorted = gtk_sort_list_model_new (G_LIST_MODEL (self->store), g_object_ref (sorter));
    self->selection = gtk_multi_selection_new (G_LIST_MODEL (self->sorted));
    gtk_column_view_set_model (self->view, GTK_SELECTION_MODEL (self->selection));
    gtk_column_view_set_show_column_separators (self->view, TRUE);
    gtk_widget_add_css_class (GTK_WIDGET (self->view), "data-table");
    g_signal_connect (self->selection, "selection-changed", G_CALLBACK (on_selection_changed),
                      self);
    gtk_accessible_update_property (GTK_ACCESSIBLE (self->view), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _ ("Runs in the output folder"), -1);
    self->scroller = gtk_scrolled_window_new ();
    gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (self->scroller), GTK_POLICY_AUTOMATIC,
                                    GTK_POLICY_AUTOMATIC);
    gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (self->scroller), 180);
    gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (self->scroller), 320);
    gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (self->scroller), TRUE);
    gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (self->scroller), GTK_WIDGET (self->view));
    gtk_widget_set_parent (self->scroller, GTK_WIDGET (self));
    g_object_unref (self->selection); /* the view holds it */
}
