/* test-run-files.c: the run folder's CSV files (spec perforated-dendrites.md
 * §10.2, user-expectations §4.4) from a scripted tracker history: exact
 * contents of the Perforated-AI-compatible set and of history.csv, file
 * names, snapshots drawn from the history before a restore, RFC 4180 quoting,
 * numbers that ignore the locale, atomic writes and errors. */
#include "dn-chart-private.h"
#include "dn-error.h"
#include "dn-run-files.h"
#include "dn-test-util.h"

#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>
#include <string.h>

/* ---- a scripted run ---- */

static int64_t params_of (const DnTracker *t)
{
    return 1000 * (int64_t) (dn_tracker_dendrites (t) + 1);
}

static void feed (DnTracker *t, double val, int call, DnTrackerAction *a)
{
    double train = val + 5;
    DnTrackerScores s = {.val = val,
                         .test = val - 1,
                         .extra = &train,
                         .n_extra = 1,
                         .seconds = 2.0 + 0.25 * (call % 4),
                         .params = params_of (t)};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_tracker_add_score (t, &s, a, &error));
    g_assert_no_error (error);
}

/* Patience 3, one retry per count, StepLR(1, 0.5) without the LR sweep:
 * set 1 is added at row 2, set 2 at row 4 is rejected and retried, set 3 is
 * added at row 6, and two epochs of the open cycle follow. */
static const double script[] = {10, 20,  30, 30, 30, 30, /* switch: restore row 2, add set 1 */
                                35, 40,  40, 40, 40,     /* switch: restore row 4, add set 2 */
                                38, 38,  38, 38,         /* set 2 fails: retry from row 4 */
                                45, 46,  46, 46, 46,     /* switch: restore row 6, add set 3 */
                                47, 48.5};
#define N_RETRY_CALL 14 /* the call whose decision is the retry */

static DnTracker *scripted (int n_calls, DnTrackerAction *last)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    dn_tracker_list_set (&c.n_epochs_to_switch, 3);
    dn_tracker_list_set (&c.max_dendrite_tries, 2); /* two attempts: one retry */
    c.find_best_lr = FALSE;
    DnSchedConfig sched;
    dn_sched_config_defaults (&sched, DN_SCHED_STEP);
    sched.step_size = 1;
    sched.gamma = 0.5;
    g_autoptr (GError) error = NULL;
    DnTracker *t = dn_tracker_new (&c, &sched, 0.1, &error);
    g_assert_no_error (error);
    const char *names[] = {"Train"};
    g_assert_true (dn_tracker_set_extra_names (t, names, 1, &error));
    DnTrackerAction a;
    for (int i = 0; i < n_calls; i++)
        feed (t, script[i], i, &a);
    if (last != NULL)
        *last = a;
    return t;
}

static DnTracker *full_run (void)
{
    return scripted (G_N_ELEMENTS (script), NULL);
}

static char *text_of (const DnTracker *t, DnRunFile f)
{
    return dn_run_file_text (t, f, FALSE);
}

/* ---- exact contents ---- */

static const char expect_scores[] =
    "Epochs,Validation Scores,Validation Running Scores,Train,Test\n"
    "0,10.0,,,\n1,20.0,,,\n2,30.0,,,\n3,35.0,,,\n4,40.0,,,\n"
    "5,45.0,,,\n6,46.0,,,\n7,47.0,,,\n8,48.5,,,\n"
    "0,,10.0,,\n1,,20.0,,\n2,,30.0,,\n3,,35.0,,\n4,,40.0,,\n"
    "5,,45.0,,\n6,,46.0,,\n7,,47.0,,\n8,,48.5,,\n"
    "0,,,15.0,\n1,,,25.0,\n2,,,35.0,\n3,,,40.0,\n4,,,45.0,\n"
    "5,,,50.0,\n6,,,51.0,\n7,,,52.0,\n8,,,53.5,\n"
    "0,,,,9.0\n1,,,,19.0\n2,,,,29.0\n3,,,,34.0\n4,,,,39.0\n"
    "5,,,,44.0\n6,,,,45.0\n7,,,,46.0\n8,,,,47.5\n";

static const char expect_times[] = "Epochs,Normal Epoch Times,PAI Epoch Times\n"
                                   "0,2.0,\n1,2.25,\n2,2.5,\n3,2.5,\n4,2.75,\n5,2.75,\n6,2.0,\n"
                                   "7,2.0,\n8,2.25,\n";

static const char expect_lr[] = "Epochs,learningRate\n"
                                "0,0.1\n1,0.1\n2,0.05\n3,0.1\n4,0.05\n5,0.1\n6,0.05\n7,0.1\n"
                                "8,0.05\n";

/* each switch twice (to dendrite learning and back), §6.6 */
static const char expect_switch_epochs[] = "Switch Number,Switch Epoch\n"
                                           "0,2\n1,2\n2,4\n3,4\n4,6\n5,6\n";

static const char expect_param_counts[] = "Switch Number,Param Count\n"
                                          "0,1000\n1,2000\n2,2000\n3,3000\n4,3000\n5,4000\n"
                                          "6,4000\n";

/* the test score at the epoch of best validation, one row per architecture */
static const char expect_best[] = "Param Counts,Max Valid Scores,Max Test Scores\n"
                                  "1000,30.0,29.0\n2000,40.0,39.0\n3000,46.0,45.0\n"
                                  "4000,48.5,47.5\n";

static const char expect_history[] =
    "epoch,phase,dendrites,train_score,val_score,val_running,test_score,lr,epoch_seconds,"
    "param_count,switched,total_epoch,rolled_back\n"
    "0,n,0,15.0,10.0,10.0,9.0,0.1,2.0,1000,0,0,0\n"
    "1,n,0,25.0,20.0,20.0,19.0,0.1,2.25,1000,0,1,0\n"
    "2,n,0,35.0,30.0,30.0,29.0,0.05,2.5,1000,1,2,0\n"
    "3,n,0,35.0,30.0,30.0,29.0,0.025,2.75,1000,0,3,1\n"
    "4,n,0,35.0,30.0,30.0,29.0,0.0125,2.0,1000,0,4,1\n"
    "5,n,0,35.0,30.0,30.0,29.0,0.00625,2.25,1000,0,5,1\n"
    "3,n,1,40.0,35.0,35.0,34.0,0.1,2.5,2000,0,6,0\n"
    "4,n,1,45.0,40.0,40.0,39.0,0.05,2.75,2000,1,7,0\n"
    "5,n,1,45.0,40.0,40.0,39.0,0.025,2.0,2000,0,8,1\n"
    "6,n,1,45.0,40.0,40.0,39.0,0.0125,2.25,2000,0,9,1\n"
    "7,n,1,45.0,40.0,40.0,39.0,0.00625,2.5,2000,0,10,1\n"
    "5,n,2,43.0,38.0,38.0,37.0,0.1,2.75,3000,0,11,1\n"
    "6,n,2,43.0,38.0,38.0,37.0,0.05,2.0,3000,0,12,1\n"
    "7,n,2,43.0,38.0,38.0,37.0,0.025,2.25,3000,0,13,1\n"
    "8,n,2,43.0,38.0,38.0,37.0,0.0125,2.5,3000,0,14,1\n"
    "5,n,2,50.0,45.0,45.0,44.0,0.1,2.75,3000,0,15,0\n"
    "6,n,2,51.0,46.0,46.0,45.0,0.05,2.0,3000,1,16,0\n"
    "7,n,2,51.0,46.0,46.0,45.0,0.025,2.25,3000,0,17,1\n"
    "8,n,2,51.0,46.0,46.0,45.0,0.0125,2.5,3000,0,18,1\n"
    "9,n,2,51.0,46.0,46.0,45.0,0.00625,2.75,3000,0,19,1\n"
    "7,n,3,52.0,47.0,47.0,46.0,0.1,2.0,4000,0,20,0\n"
    "8,n,3,53.5,48.5,48.5,47.5,0.05,2.25,4000,0,21,0\n";

static const char *const expected[DN_RUN_FILE_N] = {
    [DN_RUN_FILE_SCORES] = expect_scores,
    [DN_RUN_FILE_TIMES] = expect_times,
    [DN_RUN_FILE_LEARNING_RATE] = expect_lr,
    [DN_RUN_FILE_SWITCH_EPOCHS] = expect_switch_epochs,
    [DN_RUN_FILE_PARAM_COUNTS] = expect_param_counts,
    [DN_RUN_FILE_BEST_TEST_SCORES] = expect_best,
    [DN_RUN_FILE_HISTORY] = expect_history,
};

static void test_exact (void)
{
    g_autoptr (DnTracker) t = full_run ();
    for (int f = 0; f < DN_RUN_FILE_N; f++) {
        g_autofree char *text = text_of (t, (DnRunFile) f);
        g_test_message ("%s:\n%s", dn_run_file_base_name ((DnRunFile) f), text);
        g_assert_cmpstr (text, ==, expected[f]);
    }
}

static void test_empty (void)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    g_autoptr (DnTracker) t = dn_tracker_new (&c, NULL, 0.1, NULL);
    g_autofree char *scores = text_of (t, DN_RUN_FILE_SCORES);
    g_assert_cmpstr (scores, ==, "Epochs,Validation Scores,Validation Running Scores\n");
    g_autofree char *params = text_of (t, DN_RUN_FILE_PARAM_COUNTS);
    g_assert_cmpstr (params, ==, "Switch Number,Param Count\n");
    g_autofree char *best = text_of (t, DN_RUN_FILE_BEST_TEST_SCORES);
    g_assert_cmpstr (best, ==, "Param Counts,Max Valid Scores,Max Test Scores\n");
    g_autofree char *history = text_of (t, DN_RUN_FILE_HISTORY);
    g_assert_true (g_str_has_prefix (history, "epoch,phase,dendrites,"));
    g_assert_cmpint (strchr (history, '\n')[1], ==, '\0');
}

/* best_test_scores.csv says what dn_tracker_best_scores() says, minimising
 * and without a test split too */
static void check_best_agrees (const DnTracker *t)
{
    int n;
    g_autofree DnTrackerArchScore *arch = dn_tracker_best_scores (t, &n);
    g_autofree char *text = text_of (t, DN_RUN_FILE_BEST_TEST_SCORES);
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    g_assert_cmpint (g_strv_length (lines), ==, n + 2); /* header, rows, "" after the last \n */
    for (int i = 0; i < n; i++) {
        g_auto (GStrv) f = g_strsplit (lines[i + 1], ",", -1);
        g_assert_cmpint (g_strv_length (f), ==, 3);
        g_assert_cmpint (g_ascii_strtoll (f[0], NULL, 10), ==, arch[i].params);
        g_assert_cmpfloat (g_ascii_strtod (f[1], NULL), ==, arch[i].best_val);
        g_assert_cmpfloat (g_ascii_strtod (f[2], NULL), ==, arch[i].test_at_best);
    }
}

static void test_best_agrees (void)
{
    g_autoptr (DnTracker) t = full_run ();
    check_best_agrees (t);

    /* a loss, no test split, a run that ends on a rejected set */
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    c.maximizing_score = FALSE;
    dn_tracker_list_set (&c.n_epochs_to_switch, 2);
    dn_tracker_list_set (&c.max_dendrite_tries, 0);
    g_autoptr (DnTracker) loss = dn_tracker_new (&c, NULL, 0.1, NULL);
    const double v[] = {1.0, 0.5, 0.4, 0.45, 0.41, 0.3, 0.2, 0.25, 0.22, 0.21, 0.22};
    DnTrackerAction a;
    for (guint i = 0; i < G_N_ELEMENTS (v) && !dn_tracker_is_complete (loss); i++) {
        DnTrackerScores s = {.val = v[i], .test = NAN, .seconds = 1, .params = params_of (loss)};
        g_assert_true (dn_tracker_add_score (loss, &s, &a, NULL));
    }
    check_best_agrees (loss);
    g_autofree char *best = text_of (loss, DN_RUN_FILE_BEST_TEST_SCORES);
    g_test_message ("loss run:\n%s", best);
    g_assert_true (g_str_has_prefix (best, "Param Counts,Max Valid Scores,Max Test Scores\n"
                                           "1000,0.4,0.4\n"));
}

/* ---- snapshots ---- */

static void test_snapshot_before_restore (void)
{
    /* at the retry: the history as it stood, with set 2's failed epochs */
    DnTrackerAction a;
    g_autoptr (DnTracker) t = scripted (N_RETRY_CALL + 1, &a);
    g_assert_cmpint (a.decision, ==, DN_TRACKER_RETRY);
    const DnTrackerOp *op = NULL;
    for (int i = 0; i < a.n_ops; i++)
        if (a.ops[i].kind == DN_TRACKER_OP_SAVE_GRAPHS)
            op = &a.ops[i];
    g_assert_nonnull (op);
    g_assert_true (op->before_restore);
    g_assert_true (op->timestamped);

    g_autofree char *now = dn_run_file_text (t, DN_RUN_FILE_LEARNING_RATE, FALSE);
    g_autofree char *before = dn_run_file_text (t, DN_RUN_FILE_LEARNING_RATE, TRUE);
    g_assert_cmpstr (now, ==, "Epochs,learningRate\n0,0.1\n1,0.1\n2,0.05\n3,0.1\n4,0.05\n");
    g_assert_cmpstr (before, ==,
                     "Epochs,learningRate\n0,0.1\n1,0.1\n2,0.05\n3,0.1\n4,0.05\n"
                     "5,0.1\n6,0.05\n7,0.025\n8,0.0125\n");
    g_autofree char *best = dn_run_file_text (t, DN_RUN_FILE_BEST_TEST_SCORES, TRUE);
    g_assert_cmpstr (best, ==,
                     "Param Counts,Max Valid Scores,Max Test Scores\n"
                     "1000,30.0,29.0\n2000,40.0,39.0\n3000,38.0,37.0\n");
    /* the rejected set's rows are current in that picture, not rolled back */
    g_autofree char *history = dn_run_file_text (t, DN_RUN_FILE_HISTORY, TRUE);
    g_assert_nonnull (strstr (history, "\n8,n,2,43.0,38.0,38.0,37.0,0.0125,2.5,3000,0,14,0\n"));

    /* named by the epoch and the snapshot's number in the decision, not the clock */
    g_autofree char *suffix = dn_run_files_snapshot_suffix (op, 14, 1);
    g_assert_cmpstr (suffix, ==, "_epoch14_1_noImprove_lr_0");
    g_autofree char *second = dn_run_files_snapshot_suffix (op, 14, 2);
    g_assert_cmpstr (second, !=, suffix);

    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_run_files_write_snapshot (t, dir, "PAI", op, 14, 1, &error));
    g_assert_no_error (error);
    g_autofree char *lr_path =
        g_build_filename (dir, "PAI_epoch14_1_noImprove_lr_0learningRate.csv", NULL);
    g_autofree char *contents = NULL;
    g_assert_true (g_file_get_contents (lr_path, &contents, NULL, NULL));
    g_assert_cmpstr (contents, ==, before);
    g_autofree char *png = g_build_filename (dir, "PAI_epoch14_1_noImprove_lr_0.png", NULL);
    g_assert_true (g_file_test (png, G_FILE_TEST_IS_REGULAR));
    g_autofree char *hist = g_build_filename (dir, "history_epoch14_1_noImprove_lr_0.csv", NULL);
    g_assert_true (g_file_test (hist, G_FILE_TEST_IS_REGULAR));
    dn_test_tmpdir_remove (dir);
}

/* ---- files ---- */

static GPtrArray *list_dir (const char *dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
    GDir *d = g_dir_open (dir, 0, NULL);
    g_assert_nonnull (d);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (names, g_strdup (name));
    g_dir_close (d);
    return names;
}

static int cmp_names (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static char *joined_listing (const char *dir)
{
    g_autoptr (GPtrArray) names = list_dir (dir);
    g_ptr_array_sort (names, cmp_names);
    g_ptr_array_add (names, NULL);
    return g_strjoinv (" ", (char **) names->pdata);
}

static void test_names (void)
{
    g_autofree char *a = dn_run_file_path ("run", "PAI", NULL, DN_RUN_FILE_SCORES);
    g_assert_cmpstr (a, ==, "run" G_DIR_SEPARATOR_S "PAIScores.csv");
    g_autofree char *b =
        dn_run_file_path ("run", NULL, "_beforeSwitch_2", DN_RUN_FILE_PARAM_COUNTS);
    g_assert_cmpstr (b, ==, "run" G_DIR_SEPARATOR_S "PAI_beforeSwitch_2paramCounts.csv");
    g_autofree char *c = dn_run_file_path ("run", "mnist", "", DN_RUN_FILE_HISTORY);
    g_assert_cmpstr (c, ==, "run" G_DIR_SEPARATOR_S "history.csv");
    g_autofree char *d = dn_run_file_path ("run", "mnist", "_beforeSwitch_2", DN_RUN_FILE_HISTORY);
    g_assert_cmpstr (d, ==, "run" G_DIR_SEPARATOR_S "history_beforeSwitch_2.csv");
    g_autofree char *e = dn_run_file_path ("run", "mnist", "before_final", DN_RUN_FILE_HISTORY);
    g_assert_cmpstr (e, ==, "run" G_DIR_SEPARATOR_S "history_before_final.csv");
    g_autofree char *f = dn_run_file_path ("run", "mnist", "before_final", DN_RUN_FILE_TIMES);
    g_assert_cmpstr (f, ==, "run" G_DIR_SEPARATOR_S "mnistbefore_finalTimes.csv");
}

static void test_write (void)
{
    g_autoptr (DnTracker) t = full_run ();
    g_autofree char *dir = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_run_files_write_csvs (t, dir, "PAI", NULL, &error));
    g_assert_no_error (error);
    /* written twice: the second replaces the first, and no temporary is left */
    g_assert_true (dn_run_files_write_csvs (t, dir, "PAI", NULL, &error));
    g_assert_true (dn_run_files_write_csvs (t, dir, "PAI", "_beforeSwitch_2", &error));
    g_assert_true (dn_run_files_write_graph (t, dir, "PAI", NULL, &error));
    g_assert_no_error (error);
    g_autofree char *listing = joined_listing (dir);
    g_assert_cmpstr (listing, ==,
                     "PAI.png PAIScores.csv PAITimes.csv PAI_beforeSwitch_2Scores.csv "
                     "PAI_beforeSwitch_2Times.csv PAI_beforeSwitch_2best_test_scores.csv "
                     "PAI_beforeSwitch_2learningRate.csv PAI_beforeSwitch_2paramCounts.csv "
                     "PAI_beforeSwitch_2switchEpochs.csv PAIbest_test_scores.csv "
                     "PAIlearningRate.csv PAIparamCounts.csv PAIswitchEpochs.csv history.csv "
                     "history_beforeSwitch_2.csv");
    for (int f = 0; f < DN_RUN_FILE_N; f++) {
        g_autofree char *path = dn_run_file_path (dir, "PAI", NULL, (DnRunFile) f);
        g_autofree char *contents = NULL;
        g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
        g_assert_cmpstr (contents, ==, expected[f]);
    }
    g_autofree char *png_path = g_build_filename (dir, "PAI.png", NULL);
    g_autofree char *png = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (png_path, &png, &len, NULL));
    g_assert_cmpuint (len, >, 8);
    g_assert_cmpmem (png, 8, "\x89PNG\r\n\x1a\n", 8);
    dn_test_tmpdir_remove (dir);
}

static void test_errors (void)
{
    g_autoptr (DnTracker) t = full_run ();
    g_autofree char *dir = dn_test_tmpdir ();
    g_autofree char *missing = g_build_filename (dir, "no-such-folder", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_run_files_write_csvs (t, missing, "PAI", NULL, &error));
    g_assert_nonnull (error);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, missing));
    g_assert_nonnull (strstr (error->message, "PAIScores.csv"));
    g_clear_error (&error);
    g_assert_false (dn_run_files_write_graph (t, missing, "PAI", NULL, &error));
    g_assert_nonnull (strstr (error->message, "PAI.png"));
    g_clear_error (&error);

    g_assert_false (dn_run_files_write_csvs (t, dir, "runs/PAI", NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "runs/PAI"));
    g_clear_error (&error);
    g_assert_false (dn_run_files_write_csvs (t, dir, "PAI", "_x/y", &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_clear_error (&error);

    /* nothing half-written anywhere */
    g_autofree char *listing = joined_listing (dir);
    g_assert_cmpstr (listing, ==, "");
    dn_test_tmpdir_remove (dir);
}

/* ---- numbers and text ---- */

static void test_format (void)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {70.88, "70.88"},
        {70.0, "70.0"},
        {0.1, "0.1"},
        {0.05, "0.05"},
        {1e-05, "1e-05"},
        {0.0001, "0.0001"},
        {1e6, "1000000.0"},
        {1e16, "1e+16"},
        {-2.5, "-2.5"},
        {0.0, "0.0"},
        {1.0 / 3, "0.3333333333333333"},
        {0.1 + 0.2, "0.30000000000000004"},
        {123456789.125, "123456789.125"},
        {6.02e23, "6.02e+23"},
        {-1e-300, "-1e-300"},
        {INFINITY, "inf"},
        {1.2345678901234567e16, "1.2345678901234568e+16"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        char buf[40];
        g_assert_cmpstr (dn_chart_format_double (buf, sizeof buf, cases[i].v), ==, cases[i].text);
        if (isfinite (cases[i].v))
            g_assert_cmpfloat (g_ascii_strtod (buf, NULL), ==, cases[i].v);
    }
}

static void test_rfc4180 (void)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    g_autoptr (DnTracker) t = dn_tracker_new (&c, NULL, 0.1, NULL);
    const char *names[] = {"Train", "top-5, \"strict\""};
    g_assert_true (dn_tracker_set_extra_names (t, names, 2, NULL));
    double extra[] = {0.5, 0.25};
    DnTrackerScores s = {.val = 0.75, .test = NAN, .extra = extra, .n_extra = 2, .params = 10};
    DnTrackerAction a;
    g_assert_true (dn_tracker_add_score (t, &s, &a, NULL));
    g_autofree char *scores = text_of (t, DN_RUN_FILE_SCORES);
    g_assert_cmpstr (scores, ==,
                     "Epochs,Validation Scores,Validation Running Scores,Train,"
                     "\"top-5, \"\"strict\"\"\"\n"
                     "0,0.75,,,\n0,,0.75,,\n0,,,0.5,\n0,,,,0.25\n");
    g_autofree char *history = text_of (t, DN_RUN_FILE_HISTORY);
    g_assert_cmpstr (history, ==,
                     "epoch,phase,dendrites,train_score,val_score,val_running,test_score,lr,"
                     "epoch_seconds,param_count,switched,total_epoch,rolled_back,"
                     "\"top-5, \"\"strict\"\"\"\n"
                     "0,n,0,0.5,0.75,0.75,,0.1,0.0,10,0,0,0,0.25\n");
}

/* Correlation series join history.csv as wide columns, NaN as empty. */
static void test_correlation_columns (void)
{
    DnTrackerConfig c;
    dn_tracker_config_defaults (&c);
    g_autoptr (DnTracker) t = dn_tracker_new (&c, NULL, 0.1, NULL);
    DnTrackerAction a;
    DnTrackerScores s = {.val = 0.5, .test = NAN, .seconds = 1.5, .params = 10};
    g_assert_true (dn_tracker_add_score (t, &s, &a, NULL));
    const char *names[] = {"conv1", "fc1"};
    const double values[] = {0.125, NAN};
    dn_tracker_set_correlations (t, names, values, 2);
    s.val = 0.625;
    g_assert_true (dn_tracker_add_score (t, &s, &a, NULL));
    g_autofree char *history = text_of (t, DN_RUN_FILE_HISTORY);
    g_assert_cmpstr (history, ==,
                     "epoch,phase,dendrites,train_score,val_score,val_running,test_score,lr,"
                     "epoch_seconds,param_count,switched,total_epoch,rolled_back,"
                     "correlation_conv1,correlation_fc1\n"
                     "0,n,0,,0.5,0.5,,0.1,1.5,10,0,0,0,,\n"
                     "1,n,0,,0.625,0.625,,0.1,1.5,10,0,1,0,0.125,\n");
}

/* A comma locale must not reach the files (user-expectations §4.4). */
static void test_locale (void)
{
    static const char *const candidates[] = {"de_DE.UTF-8", "de_DE.utf8", "de_DE",
                                             "fr_FR.UTF-8", "fr_FR.utf8", "nl_NL.UTF-8"};
    g_autoptr (DnTracker) t = full_run ();
    char *in_c[DN_RUN_FILE_N];
    for (int f = 0; f < DN_RUN_FILE_N; f++)
        in_c[f] = text_of (t, (DnRunFile) f);
    const char *found = NULL;
    for (guint i = 0; i < G_N_ELEMENTS (candidates) && found == NULL; i++)
        if (setlocale (LC_ALL, candidates[i]) != NULL)
            found = candidates[i];
    if (found == NULL) {
        g_test_skip ("no comma locale installed (de_DE, fr_FR, nl_NL)");
        for (int f = 0; f < DN_RUN_FILE_N; f++)
            g_free (in_c[f]);
        return;
    }
    char probe[16];
    g_snprintf (probe, sizeof probe, "%.1f", 0.5);
    g_test_message ("locale %s prints 0.5 as %s", found, probe);
    for (int f = 0; f < DN_RUN_FILE_N; f++) {
        g_autofree char *text = text_of (t, (DnRunFile) f);
        g_assert_cmpstr (text, ==, in_c[f]);
        g_free (in_c[f]);
    }
    setlocale (LC_ALL, "C");
}

int main (int argc, char **argv)
{
    setlocale (LC_ALL, "C");
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/report/run-files/compat/exact", test_exact);
    g_test_add_func ("/report/run-files/compat/empty", test_empty);
    g_test_add_func ("/report/run-files/compat/best-scores", test_best_agrees);
    g_test_add_func ("/report/run-files/snapshot/before-restore", test_snapshot_before_restore);
    g_test_add_func ("/report/run-files/files/names", test_names);
    g_test_add_func ("/report/run-files/files/write", test_write);
    g_test_add_func ("/report/run-files/files/errors", test_errors);
    g_test_add_func ("/report/run-files/text/numbers", test_format);
    g_test_add_func ("/report/run-files/text/rfc4180", test_rfc4180);
    g_test_add_func ("/report/run-files/text/locale", test_locale);
    g_test_add_func ("/report/run-files/history/correlation", test_correlation_columns);
    return g_test_run ();
}
