/* dn-run-files.c: the run folder's CSV files and chart PNG (dn-run-files.h;
 * spec perforated-dendrites.md §10.2, user-expectations §4.4). Every table is
 * built from a DnChartData, the same history view the charts draw, so the
 * files and the picture of a snapshot always agree.
 */
#include "dn-run-files.h"

#include "dn-chart-private.h"
#include "dn-error.h"
#include "dn-run-dir.h"

#include <math.h>
#include <string.h>

static const char *const base_names[DN_RUN_FILE_N] = {
    [DN_RUN_FILE_SCORES] = "Scores.csv",
    [DN_RUN_FILE_TIMES] = "Times.csv",
    [DN_RUN_FILE_LEARNING_RATE] = "learningRate.csv",
    [DN_RUN_FILE_SWITCH_EPOCHS] = "switchEpochs.csv",
    [DN_RUN_FILE_PARAM_COUNTS] = "paramCounts.csv",
    [DN_RUN_FILE_BEST_TEST_SCORES] = "best_test_scores.csv",
    [DN_RUN_FILE_HISTORY] = "history.csv",
};

const char *dn_run_file_base_name (DnRunFile file)
{
    g_return_val_if_fail (file >= 0 && file < DN_RUN_FILE_N, NULL);
    return base_names[file];
}

char *dn_run_file_path (const char *dir, const char *save_name, const char *suffix, DnRunFile file)
{
    g_return_val_if_fail (dir != NULL && file >= 0 && file < DN_RUN_FILE_N, NULL);
    if (save_name == NULL)
        save_name = "PAI";
    if (suffix == NULL)
        suffix = "";
    g_autofree char *name = NULL;
    if (file == DN_RUN_FILE_HISTORY)
        name = g_strdup_printf ("history%s%s.csv", suffix[0] != '\0' && suffix[0] != '_' ? "_" : "",
                                suffix);
    else
        name = g_strconcat (save_name, suffix, base_names[file], NULL);
    return g_build_filename (dir, name, NULL);
}

/* ---- cells ---- */

/* A field, quoted when it holds a comma, a quote or a line end (RFC 4180). */
void dn_run_files_put_text (GString *s, const char *text)
{
    if (strpbrk (text, ",\"\r\n") == NULL) {
        g_string_append (s, text);
        return;
    }
    g_string_append_c (s, '"');
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '"')
            g_string_append_c (s, '"');
        g_string_append_c (s, *p);
    }
    g_string_append_c (s, '"');
}

/* A number; nothing for NaN (a missing value). */
static void put_double (GString *s, double v)
{
    char buf[40];
    if (!isnan (v))
        g_string_append (s, dn_chart_format_double (buf, sizeof buf, v));
}

static void put_count (GString *s, int64_t v)
{
    if (v >= 0)
        g_string_append_printf (s, "%" G_GINT64_FORMAT, (gint64) v);
}

static void header (GString *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (i > 0)
            g_string_append_c (s, ',');
        dn_run_files_put_text (s, names[i]);
    }
    g_string_append_c (s, '\n');
}

/* ---- the compatible set: long layout ---- */

typedef double (*ValueFn) (const DnTrackerEpoch *e, int arg);

static double v_val (const DnTrackerEpoch *e, int arg)
{
    return e->val;
}

static double v_running (const DnTrackerEpoch *e, int arg)
{
    return e->running;
}

static double v_test (const DnTrackerEpoch *e, int arg)
{
    return e->test;
}

static double v_extra (const DnTrackerEpoch *e, int arg)
{
    return e->extra[arg];
}

/* Seconds of the epochs trained in one mode (arg), NaN for the others. */
static double v_seconds_in (const DnTrackerEpoch *e, int arg)
{
    return (int) e->mode == arg ? e->seconds : NAN;
}

/* One block of the long layout: the series' finite values, each in column
 * `col` of n_cols, with its index within the series in "Epochs". */
static void long_block (GString *s, const DnChartData *d, int col, int n_cols, ValueFn get, int arg)
{
    int k = 0;
    for (int i = 0; i < d->n_rows; i++) {
        double v = get (&d->rows[i], arg);
        if (!isfinite (v))
            continue;
        g_string_append_printf (s, "%d", k++);
        for (int c = 0; c < n_cols; c++) {
            g_string_append_c (s, ',');
            if (c == col)
                put_double (s, v);
        }
        g_string_append_c (s, '\n');
    }
}

static gboolean has_test (const DnChartData *d)
{
    for (int i = 0; i < d->n_rows; i++)
        if (isfinite (d->rows[i].test))
            return TRUE;
    return FALSE;
}

static void scores_csv (GString *s, const DnChartData *d)
{
    /* validation, running, the extra series in order, then the test score */
    const char *names[3 + DN_TRACKER_MAX_EXTRA + 1] = {"Epochs", "Validation Scores",
                                                       "Validation Running Scores"};
    int n = 3;
    for (int x = 0; x < d->n_extra; x++)
        names[n++] = d->extra_names[x];
    gboolean test = has_test (d);
    if (test)
        names[n++] = "Test";
    header (s, names, n);
    int cols = n - 1;
    long_block (s, d, 0, cols, v_val, 0);
    long_block (s, d, 1, cols, v_running, 0);
    for (int x = 0; x < d->n_extra; x++)
        long_block (s, d, 2 + x, cols, v_extra, x);
    if (test)
        long_block (s, d, 2 + d->n_extra, cols, v_test, 0);
}

static void times_csv (GString *s, const DnChartData *d)
{
    static const char *const names[] = {"Epochs", "Normal Epoch Times", "PAI Epoch Times"};
    header (s, names, 3);
    long_block (s, d, 0, 2, v_seconds_in, DN_TRACKER_MODE_NEURON);
    long_block (s, d, 1, 2, v_seconds_in, DN_TRACKER_MODE_DENDRITE);
}

static void lr_csv (GString *s, const DnChartData *d)
{
    g_string_append (s, "Epochs,learningRate\n");
    for (int i = 0; i < d->n_rows; i++) {
        g_string_append_printf (s, "%d,", i);
        put_double (s, d->rows[i].lr);
        g_string_append_c (s, '\n');
    }
}

/* The reference lists every switch twice (to dendrite and back to neuron
 * learning, §6.6), and param counts start with the initial count. */
static void switch_epochs_csv (GString *s, const DnChartData *d)
{
    g_string_append (s, "Switch Number,Switch Epoch\n");
    for (int i = 0; i < 2 * d->n_switches; i++)
        g_string_append_printf (s, "%d,%d\n", i, d->switches[i / 2].epoch);
}

/* The parameter count after switch i; the tracker learns it from the next
 * epoch, which a before-restore view may hold while the tracker's list does
 * not. -1 when unknown. */
static int64_t switch_params (const DnChartData *d, int i)
{
    const DnTrackerSwitch *sw = &d->switches[i];
    if (sw->params >= 0)
        return sw->params;
    return sw->epoch + 1 < d->n_rows ? d->rows[sw->epoch + 1].params : -1;
}

static int64_t initial_params (const DnTracker *t)
{
    int n;
    g_autofree int64_t *pc = dn_tracker_compat_param_counts (t, &n);
    return n > 0 ? pc[0] : -1;
}

static void param_counts_csv (GString *s, const DnTracker *t, const DnChartData *d)
{
    g_string_append (s, "Switch Number,Param Count\n");
    int64_t p0 = initial_params (t);
    if (p0 < 0 && d->n_rows == 0)
        return;
    g_string_append (s, "0,");
    put_count (s, p0 >= 0 ? p0 : d->rows[0].params);
    g_string_append_c (s, '\n');
    for (int i = 0; i < 2 * d->n_switches; i++) {
        g_string_append_printf (s, "%d,", i + 1);
        put_count (s, switch_params (d, i / 2));
        g_string_append_c (s, '\n');
    }
}

/* Index of the best validation score in rows[lo..hi]; the first on ties. */
static int best_index (const DnChartData *d, int lo, int hi)
{
    int best = lo;
    for (int i = lo + 1; i <= hi; i++)
        if (d->maximizing ? d->rows[i].val > d->rows[best].val : d->rows[i].val < d->rows[best].val)
            best = i;
    return best;
}

static void arch_row (GString *s, const DnChartData *d, int i, int64_t params, gboolean test)
{
    put_count (s, params >= 0 ? params : d->rows[i].params);
    g_string_append_c (s, ',');
    put_double (s, d->rows[i].val);
    g_string_append_c (s, ',');
    put_double (s, test ? d->rows[i].test : d->rows[i].val);
    g_string_append_c (s, '\n');
}

/* §10.2's best-per-architecture algorithm, on the single (not doubled)
 * switches: one row per cycle kept in the history, then the open cycle. The
 * test value is the one at the epoch of best validation. Same result as
 * dn_tracker_best_scores() on the live history. */
static void best_scores_csv (GString *s, const DnTracker *t, const DnChartData *d)
{
    g_string_append (s, "Param Counts,Max Valid Scores,Max Test Scores\n");
    gboolean doing_pai = dn_tracker_get_config (t)->doing_pai;
    gboolean test = has_test (d);
    int64_t p0 = initial_params (t);
    int ns = d->n_switches;
    int64_t last = ns > 0 ? switch_params (d, ns - 1) : p0; /* -1: the row's own count */
    int lo = 0;
    for (int i = 0; i < ns; i++) {
        int hi = MIN (d->switches[i].epoch, d->n_rows - 1);
        if (lo <= hi)
            arch_row (s, d, best_index (d, lo, hi),
                      !doing_pai ? last
                      : i == 0   ? p0
                                 : switch_params (d, i - 1),
                      test);
        lo = d->switches[i].epoch + 1;
    }
    if (lo <= d->n_rows - 1)
        arch_row (s, d, best_index (d, lo, d->n_rows - 1), last, test);
}

/* ---- the tidy table ---- */

static int by_total_epoch (gconstpointer a, gconstpointer b)
{
    const DnTrackerEpoch *x = *(const DnTrackerEpoch *const *) a;
    const DnTrackerEpoch *y = *(const DnTrackerEpoch *const *) b;
    return (x->total_epoch > y->total_epoch) - (x->total_epoch < y->total_epoch);
}

/* The extra series that fills train_score: the first whose name starts with
 * "train" (Train, Training accuracy, train_loss); -1 if none. */
static int train_extra (const DnChartData *d)
{
    for (int x = 0; x < d->n_extra; x++)
        if (g_ascii_strncasecmp (d->extra_names[x], "train", 5) == 0)
            return x;
    return -1;
}

static void history_csv (GString *s, const DnChartData *d)
{
    static const char *const fixed[] = {"epoch",         "phase",       "dendrites",  "train_score",
                                        "val_score",     "val_running", "test_score", "lr",
                                        "epoch_seconds", "param_count", "switched",   "total_epoch",
                                        "rolled_back"};
    int train = train_extra (d);
    header (s, fixed, G_N_ELEMENTS (fixed));
    /* more series in wide form after the fixed columns */
    if (d->n_extra > (train >= 0) || d->n_corr > 0) {
        g_string_truncate (s, s->len - 1);
        for (int x = 0; x < d->n_extra; x++)
            if (x != train) {
                g_string_append_c (s, ',');
                dn_run_files_put_text (s, d->extra_names[x]);
            }
        for (int c = 0; c < d->n_corr; c++) {
            g_autofree char *name = g_strconcat ("correlation_", d->corr_names[c], NULL);
            g_string_append_c (s, ',');
            dn_run_files_put_text (s, name);
        }
        g_string_append_c (s, '\n');
    }

    /* every epoch trained, once: the current rows, and the rolled-back ones
     * that are not current again (an LR-sweep trial can be picked back) */
    GHashTable *current = g_hash_table_new (NULL, NULL);
    GPtrArray *rows = g_ptr_array_new ();
    for (int i = 0; i < d->n_rows; i++) {
        g_ptr_array_add (rows, (gpointer) &d->rows[i]);
        g_hash_table_add (current, GINT_TO_POINTER (d->rows[i].total_epoch + 1));
    }
    GHashTable *seen = g_hash_table_new (NULL, NULL);
    for (int r = 0; r < d->n_rollbacks; r++)
        for (int i = 0; i < d->rollbacks[r].n_rows; i++) {
            const DnTrackerEpoch *e = &d->rollbacks[r].rows[i];
            gpointer key = GINT_TO_POINTER (e->total_epoch + 1);
            if (!g_hash_table_contains (current, key) && g_hash_table_add (seen, key))
                g_ptr_array_add (rows, (gpointer) e);
        }
    g_ptr_array_sort (rows, by_total_epoch);

    for (guint r = 0; r < rows->len; r++) {
        const DnTrackerEpoch *e = g_ptr_array_index (rows, r);
        gboolean rolled_back =
            !g_hash_table_contains (current, GINT_TO_POINTER (e->total_epoch + 1));
        gboolean switched = FALSE;
        for (int i = 0; i < d->n_switches && !rolled_back; i++)
            switched |= d->switches[i].epoch == e->epoch;
        g_string_append_printf (s, "%d,%c,%d,", e->epoch,
                                e->mode == DN_TRACKER_MODE_DENDRITE ? 'p' : 'n', e->dendrites);
        if (train >= 0)
            put_double (s, e->extra[train]);
        g_string_append_c (s, ',');
        put_double (s, e->val);
        g_string_append_c (s, ',');
        put_double (s, e->running);
        g_string_append_c (s, ',');
        put_double (s, e->test);
        g_string_append_c (s, ',');
        put_double (s, e->lr);
        g_string_append_c (s, ',');
        put_double (s, e->seconds);
        g_string_append_c (s, ',');
        put_count (s, e->params);
        g_string_append_printf (s, ",%d,%d,%d", switched, e->total_epoch, rolled_back);
        for (int x = 0; x < d->n_extra; x++)
            if (x != train) {
                g_string_append_c (s, ',');
                put_double (s, e->extra[x]);
            }
        for (int c = 0; c < d->n_corr; c++) {
            g_string_append_c (s, ',');
            put_double (s, e->correlation[c]);
        }
        g_string_append_c (s, '\n');
    }
    g_ptr_array_unref (rows);
    g_hash_table_unref (seen);
    g_hash_table_unref (current);
}

/* ---- Best PBScores.csv ---- */

static gboolean pb_row_has_value (const DnChartData *d, int i)
{
    for (int c = 0; c < d->n_cand; c++)
        if (isfinite (d->rows[i].pb_best_ever[c]) || isfinite (d->rows[i].pb_phase_best[c]))
            return TRUE;
    return FALSE;
}

static void pb_scores_csv (GString *s, const DnChartData *d)
{
    dn_run_files_put_text (s, "Epochs");
    for (int c = 0; c < d->n_cand; c++) {
        g_autofree char *ever =
            g_strdup_printf ("Best ever for all nodes Layer %s", d->cand_names[c]);
        g_autofree char *cur =
            g_strdup_printf ("Best current for all nodes Layer %s", d->cand_names[c]);
        g_string_append_c (s, ',');
        dn_run_files_put_text (s, ever);
        g_string_append_c (s, ',');
        dn_run_files_put_text (s, cur);
    }
    g_string_append_c (s, '\n');
    for (int i = 0; i < d->n_rows; i++) {
        if (!pb_row_has_value (d, i))
            continue;
        g_string_append_printf (s, "%d", d->rows[i].epoch);
        for (int c = 0; c < d->n_cand; c++) {
            g_string_append_c (s, ',');
            put_double (s, d->rows[i].pb_best_ever[c]);
            g_string_append_c (s, ',');
            put_double (s, d->rows[i].pb_phase_best[c]);
        }
        g_string_append_c (s, '\n');
    }
}

static char *pb_scores_text (const DnChartData *d)
{
    if (d->n_cand == 0)
        return NULL;
    GString *s = g_string_new (NULL);
    pb_scores_csv (s, d);
    return g_string_free (s, FALSE);
}

char *dn_run_file_pb_scores_text (const DnTracker *t, gboolean before_restore)
{
    g_return_val_if_fail (t != NULL, NULL);
    DnChartData d;
    dn_chart_data_init (&d, t, before_restore);
    char *text = pb_scores_text (&d);
    dn_chart_data_clear (&d);
    return text;
}

char *dn_run_file_pb_scores_path (const char *dir, const char *save_name, const char *suffix)
{
    g_return_val_if_fail (dir != NULL, NULL);
    g_autofree char *name =
        g_strconcat (save_name != NULL ? save_name : "PAI", suffix != NULL ? suffix : "",
                     DN_RUN_FILE_PB_SCORES_NAME, NULL);
    return g_build_filename (dir, name, NULL);
}

/* ---- files ---- */

static char *file_text (const DnTracker *t, const DnChartData *d, DnRunFile file)
{
    GString *s = g_string_new (NULL);
    switch (file) {
    case DN_RUN_FILE_SCORES:
        scores_csv (s, d);
        break;
    case DN_RUN_FILE_TIMES:
        times_csv (s, d);
        break;
    case DN_RUN_FILE_LEARNING_RATE:
        lr_csv (s, d);
        break;
    case DN_RUN_FILE_SWITCH_EPOCHS:
        switch_epochs_csv (s, d);
        break;
    case DN_RUN_FILE_PARAM_COUNTS:
        param_counts_csv (s, t, d);
        break;
    case DN_RUN_FILE_BEST_TEST_SCORES:
        best_scores_csv (s, t, d);
        break;
    case DN_RUN_FILE_HISTORY:
    case DN_RUN_FILE_N:
        history_csv (s, d);
        break;
    }
    return g_string_free (s, FALSE);
}

char *dn_run_file_text (const DnTracker *t, DnRunFile file, gboolean before_restore)
{
    g_return_val_if_fail (t != NULL && file >= 0 && file < DN_RUN_FILE_N, NULL);
    DnChartData d;
    dn_chart_data_init (&d, t, before_restore);
    char *text = file_text (t, &d, file);
    dn_chart_data_clear (&d);
    return text;
}

static gboolean check_names (const char *dir, const char *save_name, const char *suffix,
                             GError **error)
{
    if ((save_name != NULL && strchr (save_name, G_DIR_SEPARATOR) != NULL) ||
        (suffix != NULL && strchr (suffix, G_DIR_SEPARATOR) != NULL)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "cannot write run files in %s: the save name \"%s\" and suffix \"%s\" must "
                     "not contain \"%c\"",
                     dir, save_name != NULL ? save_name : "", suffix != NULL ? suffix : "",
                     G_DIR_SEPARATOR);
        return FALSE;
    }
    return TRUE;
}

static gboolean write_atomic (const char *path, const char *text, GError **error)
{
    /* a temporary file beside it, renamed over it; removed again on failure */
    return dn_file_write_atomic (path, text, strlen (text), error);
}

static gboolean write_csvs (const DnTracker *t, const DnChartData *d, const char *dir,
                            const char *save_name, const char *suffix, GError **error)
{
    for (int f = 0; f < DN_RUN_FILE_N; f++) {
        g_autofree char *path = dn_run_file_path (dir, save_name, suffix, (DnRunFile) f);
        g_autofree char *text = file_text (t, d, (DnRunFile) f);
        if (!write_atomic (path, text, error))
            return FALSE;
    }
    g_autofree char *pb = pb_scores_text (d);
    if (pb != NULL) {
        g_autofree char *path = dn_run_file_pb_scores_path (dir, save_name, suffix);
        if (!write_atomic (path, pb, error))
            return FALSE;
    }
    return TRUE;
}

static gboolean write_graph (const DnChartData *d, const char *dir, const char *save_name,
                             const char *suffix, GError **error)
{
    g_autofree char *name = g_strconcat (save_name != NULL ? save_name : "PAI",
                                         suffix != NULL ? suffix : "", ".png", NULL);
    g_autofree char *path = g_build_filename (dir, name, NULL);
    DnChartStyle style;
    dn_chart_style_init (&style);
    style.font_size = 12;
    return dn_chart_save_data (d, DN_CHART_ALL, path, DN_RUN_FILES_GRAPH_WIDTH,
                               DN_RUN_FILES_GRAPH_HEIGHT, &style, error);
}

gboolean dn_run_files_write_csvs (const DnTracker *t, const char *dir, const char *save_name,
                                  const char *suffix, GError **error)
{
    g_return_val_if_fail (t != NULL && dir != NULL, FALSE);
    if (!check_names (dir, save_name, suffix, error))
        return FALSE;
    DnChartData d;
    dn_chart_data_init (&d, t, FALSE);
    gboolean ok = write_csvs (t, &d, dir, save_name, suffix, error);
    dn_chart_data_clear (&d);
    return ok;
}

gboolean dn_run_files_write_graph (const DnTracker *t, const char *dir, const char *save_name,
                                   const char *suffix, GError **error)
{
    g_return_val_if_fail (t != NULL && dir != NULL, FALSE);
    if (!check_names (dir, save_name, suffix, error))
        return FALSE;
    DnChartData d;
    dn_chart_data_init (&d, t, FALSE);
    gboolean ok = write_graph (&d, dir, save_name, suffix, error);
    dn_chart_data_clear (&d);
    return ok;
}

char *dn_run_files_snapshot_suffix (const DnTrackerOp *op, int epoch, int number)
{
    g_return_val_if_fail (op != NULL, NULL);
    return dn_run_dir_snapshot_suffix (op->name, op->timestamped, epoch, number);
}

gboolean dn_run_files_write_snapshot (const DnTracker *t, const char *dir, const char *save_name,
                                      const DnTrackerOp *op, int epoch, int number, GError **error)
{
    g_return_val_if_fail (t != NULL && dir != NULL && op != NULL, FALSE);
    g_autofree char *suffix = dn_run_files_snapshot_suffix (op, epoch, number);
    if (!check_names (dir, save_name, suffix, error))
        return FALSE;
    DnChartData d;
    dn_chart_data_init (&d, t, op->before_restore);
    gboolean ok = write_csvs (t, &d, dir, save_name, suffix, error) &&
                  write_graph (&d, dir, save_name, suffix, error);
    dn_chart_data_clear (&d);
    return ok;
}
