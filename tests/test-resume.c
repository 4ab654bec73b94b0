/* test-resume.c: a dendritic run stopped at any moment and resumed ends with
 * the same model and the same files as a run that was never interrupted; a
 * run without dendrites continues its history the same way. */
#include "dn-error.h"
#include "dn-run.h"
#include "dn-run-dir.h"
#include "dn-run-writer.h"
#include "dn-safetensors.h"
#include "dn-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* data/examples/<name>.json on the MNIST sample, half of it held out (fewer training
 * samples: faster epochs). */
static DnExperiment *example (const char *name, int epochs)
{
    return dn_test_example_experiment (name, epochs);
}

/* A narrow MLP that adds dendrite sets within a few epochs. */
static DnExperiment *small_experiment (void)
{
    return example ("mlp-dendrites", 24);
}

/* The MLP without dendrites: four epochs, the rate halved after each. */
static DnExperiment *plain_experiment (void)
{
    DnExperiment *exp = example ("mlp", 4);
    dn_sched_config_defaults (&exp->sched, DN_SCHED_STEP);
    exp->sched.step_size = 1;
    exp->sched.gamma = 0.5;
    return exp;
}

typedef struct {
    DnRunWriter *writer;
    int stop_after; /* raise cancel after this many epochs; 0: never */
    volatile gint cancel;
    int epochs_seen;
} Watch;

static void on_event (const DnEvent *ev, gpointer data)
{
    Watch *w = data;
    dn_run_writer_event (w->writer, ev);
    if (ev->kind == DN_EVENT_EPOCH && ++w->epochs_seen == w->stop_after)
        g_atomic_int_set (&w->cancel, 1);
}

static void run (DnExperiment *exp, const char *out, const char *resume, int stop_after)
{
    Watch w = {.writer = dn_run_writer_new (), .stop_after = stop_after};
    DnObserver obs = {.event = on_event, .user_data = &w, .cancel = &w.cancel};
    DnRunOptions opts = {.out_dir = out, .threads = 2, .resume_dir = resume};
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    gboolean ok = resume != NULL ? dn_experiment_resume (resume, &opts, &obs, &result, &error)
                                 : dn_experiment_run (exp, &opts, &obs, &result, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
    g_autoptr (GError) write_error = dn_run_writer_free (w.writer);
    g_assert_no_error (write_error);
    dn_run_result_clear (&result);
}

/* Tensors (not the metadata, which holds wall-clock epoch times) are identical. */
static void assert_same_file (const char *a_dir, const char *b_dir, const char *name)
{
    g_autofree char *pa = g_build_filename (a_dir, name, NULL);
    g_autofree char *pb = g_build_filename (b_dir, name, NULL);
    g_autofree char *ta = NULL, *tb = NULL;
    g_assert_true (g_file_get_contents (pa, &ta, NULL, NULL));
    g_assert_true (g_file_get_contents (pb, &tb, NULL, NULL));
    g_assert_cmpstr (ta, ==, tb);
}

/* The run's files that hold no wall-clock times must match byte for byte. */
static void assert_same_run (const char *a_dir, const char *b_dir)
{
    static const char *const files[] = {
        "mlp-dendritesScores.csv",        "mlp-dendritesbest_test_scores.csv",
        "mlp-dendriteslearningRate.csv", "mlp-dendritesparamCounts.csv",
        "mlp-dendritesswitchEpochs.csv", NULL};
    for (int i = 0; files[i] != NULL; i++)
        assert_same_file (a_dir, b_dir, files[i]);
    static const char *const models[] = {"best_model.safetensors", "final_clean_pai.safetensors",
                                         NULL};
    for (int i = 0; models[i] != NULL; i++) {
        g_autofree char *pa = g_build_filename (a_dir, models[i], NULL);
        g_autofree char *pb = g_build_filename (b_dir, models[i], NULL);
        dn_test_assert_same_tensors (pa, pb);
    }
}

static int cmp_names (gconstpointer a, gconstpointer b)
{
    return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The file names in dir, sorted, NULL-terminated. */
static GPtrArray *list_names (const char *dir)
{
    GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    g_assert_nonnull (d);
    const char *name;
    while ((name = g_dir_read_name (d)) != NULL)
        g_ptr_array_add (names, g_strdup (name));
    g_ptr_array_sort (names, cmp_names);
    g_ptr_array_add (names, NULL);
    return names;
}

static char *reference_dir;

static const char *reference_run (void)
{
    if (reference_dir == NULL) {
        g_autoptr (DnExperiment) exp = small_experiment ();
        char *out = dn_test_tmpdir ();
        run (exp, out, NULL, 0);
        reference_dir = g_build_filename (out, "mlp-dendrites", NULL);
        g_free (out);
    }
    return reference_dir;
}

static void test_stop_and_resume (gconstpointer data)
{
    int stop_after = GPOINTER_TO_INT (data);
    const char *ref = reference_run ();
    g_autoptr (DnExperiment) exp = small_experiment ();
    g_autofree char *out = dn_test_tmpdir ();
    run (exp, out, NULL, stop_after);
    g_autofree char *dir = g_build_filename (out, "mlp-dendrites", NULL);
    /* what a kill while writing leaves: a temporary of every file (every writer
     * names them the same way); resume removes them all */
    g_autoptr (GPtrArray) before = list_names (dir);
    for (guint i = 0; i + 1 < before->len; i++) { /* the last is the NULL */
        g_autofree char *path = g_build_filename (dir, before->pdata[i], NULL);
        g_autofree char *t = dn_file_temp_template (path);
        int fd = g_mkstemp (t);
        g_assert_cmpint (fd, >=, 0);
        g_assert_cmpint (write (fd, "half", 4), ==, 4);
        close (fd);
    }
    run (NULL, NULL, dir, 0);
    assert_same_run (ref, dir);
    /* the same files by the same names, snapshots included: none left over */
    g_autoptr (GPtrArray) ref_names = list_names (ref);
    g_autoptr (GPtrArray) names = list_names (dir);
    g_autofree char *want = g_strjoinv (" ", (char **) ref_names->pdata);
    g_autofree char *got = g_strjoinv (" ", (char **) names->pdata);
    g_test_message ("run folder: %s", got);
    g_assert_cmpstr (got, ==, want);
    dn_test_tmpdir_remove (out);
}

/* A short real run leaves the whole Perforated AI file set, and the clean final
 * model is the best model: same tensors, nothing else. */
static void test_file_set (void)
{
    const char *dir = reference_run ();
    static const char *const files[] = {"best_model.safetensors",
                                        "latest.safetensors",
                                        "final_clean_pai.safetensors",
                                        "beforeSwitch_0.safetensors",
                                        "best_model_beforeSwitch_0.safetensors",
                                        "switch_2.safetensors",
                                        "experiment.json",
                                        "run.log",
                                        "history.csv",
                                        "mlp-dendritesScores.csv",
                                        "mlp-dendritesTimes.csv",
                                        "mlp-dendriteslearningRate.csv",
                                        "mlp-dendritesparamCounts.csv",
                                        "mlp-dendritesswitchEpochs.csv",
                                        "mlp-dendritesbest_test_scores.csv",
                                        "mlp-dendrites.png",
                                        NULL};
    for (int i = 0; files[i] != NULL; i++) {
        g_autofree char *path = g_build_filename (dir, files[i], NULL);
        if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_error ("the run folder has no %s", files[i]);
    }
    g_autofree char *png = g_build_filename (dir, "mlp-dendrites.png", NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (png, &data, &len, NULL));
    g_assert_cmpuint (len, >, 20000);
    g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
    /* the header of every CSV */
    g_autofree char *scores_path = g_build_filename (dir, "mlp-dendritesScores.csv", NULL);
    g_autofree char *scores = NULL;
    g_assert_true (g_file_get_contents (scores_path, &scores, NULL, NULL));
    g_assert_true (g_str_has_prefix (scores, "Epochs,Validation Scores,Validation Running Scores"));
    g_autofree char *best = g_build_filename (dir, "best_model.safetensors", NULL);
    g_autofree char *clean = g_build_filename (dir, "final_clean_pai.safetensors", NULL);
    dn_test_assert_same_tensors (best, clean);
    /* the latest checkpoint carries the optimizer state; the models do not */
    g_autoptr (GError) error = NULL;
    g_autofree char *latest = g_build_filename (dir, "latest.safetensors", NULL);
    g_autoptr (DnSafetensors) st = dn_safetensors_read (latest, &error);
    g_assert_no_error (error);
    g_assert_nonnull (dn_safetensors_find (st, "optimizer.exp_avg"));
    g_assert_nonnull (dn_safetensors_metadata (st, "dendrite_tracker"));
    g_autoptr (DnSafetensors) bm = dn_safetensors_read (best, &error);
    g_assert_no_error (error);
    g_assert_null (dn_safetensors_find (bm, "optimizer.exp_avg"));
}

/* A checkpoint whose run state says it trained -2 epochs (or has its best epoch after its
 * last) is refused with an error naming it, instead of training more epochs than asked. */
static void test_damaged_run_state (void)
{
    g_autoptr (DnExperiment) exp = small_experiment ();
    exp->dendrites = FALSE;
    exp->epochs = 3;
    g_autofree char *out = dn_test_tmpdir ();
    run (exp, out, NULL, 1);
    g_autofree char *dir = g_build_filename (out, "mlp-dendrites", NULL);
    g_autofree char *latest = g_build_filename (dir, "latest.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    static const char *const damage[][2] = {{"\"epoch\":1,", "\"epoch\":-2,"},
                                            {"\"epoch\":1,", "\"epoch\":\"1\","},
                                            {"\"best_epoch\":1", "\"best_epoch\":7"}};
    for (guint k = 0; k < G_N_ELEMENTS (damage); k++) {
        dn_test_edit_metadata (latest, "dendrite_run", damage[k][0], damage[k][1]);
        DnRunOptions opts = {.threads = 2, .resume_dir = dir};
        DnRunResult result = {0};
        g_assert_false (dn_experiment_resume (dir, &opts, NULL, &result, &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
        g_test_message ("%s: %s", damage[k][1], error->message);
        g_assert_nonnull (strstr (error->message, "latest.safetensors"));
        g_assert_nonnull (strstr (error->message, "dendrite_run"));
        g_clear_error (&error);
        dn_run_result_clear (&result);
        dn_test_edit_metadata (latest, "dendrite_run", damage[k][1], damage[k][0]);
    }
    dn_test_tmpdir_remove (out);
}

/* The real program, killed with SIGKILL while it writes, then resumed. */
static void test_kill_and_resume (void)
{
    const char *cli = g_getenv ("DENDRITE_CLI");
    if (cli == NULL) {
        g_test_skip ("DENDRITE_CLI is not set");
        return;
    }
    g_autofree char *out = dn_test_tmpdir ();
    /* the reference experiment, as a file */
    g_autoptr (DnExperiment) exp = small_experiment ();
    g_autofree char *exp_path = g_build_filename (out, "mlp-dendrites.json", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_save (exp, exp_path, &error));
    /* The reference: the same program uninterrupted (a program may pick other BLAS
     * kernels than this test, so compare program with program). */
    g_autofree char *ref_out = g_build_filename (out, "reference", NULL);
    {
        char *argv[] = {(char *) cli,     (char *) "train",  exp_path,
                        (char *) "--out", ref_out,           (char *) "--threads",
                        (char *) "2",     (char *) "--json", NULL};
        int exit_status = -1;
        g_assert_true (g_spawn_sync (NULL, argv, NULL,
                                     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL,
                                     NULL, NULL, NULL, &exit_status, &error));
        g_assert_true (g_spawn_check_wait_status (exit_status, NULL));
    }
    g_autofree char *ref = g_build_filename (ref_out, "mlp-dendrites", NULL);
    for (int kill_ms = 150; kill_ms <= 950; kill_ms += 400) {
        g_autofree char *run_out = g_build_filename (out, "runs", NULL);
        char *argv[] = {(char *) cli,     (char *) "train",  exp_path,
                        (char *) "--out", run_out,           (char *) "--threads",
                        (char *) "2",     (char *) "--json", NULL};
        GPid pid;
        g_assert_true (g_spawn_async (NULL, argv, NULL,
                                      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                          G_SPAWN_STDERR_TO_DEV_NULL,
                                      NULL, NULL, &pid, &error));
        /* wait for the first checkpoint (written by rename: it exists whole or not at
         * all), however long a loaded machine takes, then kill at some moment after
         * it. Where the moment falls decides only what is being tested, not the
         * outcome: the resumed run must match the reference either way. */
        g_autofree char *run_latest =
            g_build_filename (run_out, "mlp-dendrites", "latest.safetensors", NULL);
        int status = 0;
        gboolean exited = FALSE;
        while (!g_file_test (run_latest, G_FILE_TEST_EXISTS) && !exited) {
            exited = waitpid (pid, &status, WNOHANG) == pid;
            g_usleep (10000);
        }
        if (exited && !g_file_test (run_latest, G_FILE_TEST_EXISTS))
            g_error ("the run exited (status %d) before its first checkpoint", status);
        if (!exited) {
            g_usleep (kill_ms * 1000);
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
        }
        g_test_message ("kill after %d ms: %s", kill_ms,
                        WIFSIGNALED (status) ? "killed while running" : "it had finished");
        g_spawn_close_pid (pid);
        g_autofree char *run_dir = g_build_filename (run_out, "mlp-dendrites", NULL);
        char *resume_argv[] = {(char *) cli,         (char *) "train", (char *) "--resume", run_dir,
                               (char *) "--threads", (char *) "2",     (char *) "--json",   NULL};
        int exit_status = -1;
        g_autofree char *err = NULL;
        g_assert_true (g_spawn_sync (NULL, resume_argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL,
                                     NULL, NULL, &err, &exit_status, &error));
        g_assert_no_error (error);
        if (!g_spawn_check_wait_status (exit_status, NULL))
            g_error ("resume failed: %s", err);
        assert_same_run (ref, run_dir);
        /* no half-written files were left behind */
        GDir *d = g_dir_open (run_dir, 0, NULL);
        const char *name;
        while ((name = g_dir_read_name (d)) != NULL)
            g_assert_false (strstr (name, ".tmp") != NULL || g_str_has_suffix (name, "~"));
        g_dir_close (d);
        dn_test_tmpdir_remove (run_out);
    }
    dn_test_tmpdir_remove (out);
}

/* A run whose dendrite sets never count as an improvement (a 50 % relative
 * threshold): every set is rejected, and each rejection snapshots the tables
 * under a numbered name. Stopped in the middle and resumed, it names them
 * exactly as the uninterrupted run does (a clock could not). */
static void test_snapshot_names (void)
{
    g_autofree char *out = dn_test_tmpdir ();
    g_autofree char *whole_out = g_build_filename (out, "whole", NULL);
    g_autofree char *part_out = g_build_filename (out, "part", NULL);
    for (int k = 0; k < 2; k++) {
        g_autoptr (DnExperiment) exp = small_experiment ();
        exp->epochs = 14;
        dn_tracker_list_set (&exp->tracker.improvement_threshold, 0.5);
        run (exp, k == 0 ? whole_out : part_out, NULL, k == 0 ? 0 : 6);
    }
    g_autofree char *whole = g_build_filename (whole_out, "mlp-dendrites", NULL);
    g_autofree char *part = g_build_filename (part_out, "mlp-dendrites", NULL);
    run (NULL, NULL, part, 0);
    g_autoptr (GPtrArray) a = list_names (whole);
    g_autoptr (GPtrArray) b = list_names (part);
    g_autofree char *want = g_strjoinv (" ", (char **) a->pdata);
    g_autofree char *got = g_strjoinv (" ", (char **) b->pdata);
    g_test_message ("run folder: %s", want);
    g_assert_nonnull (strstr (want, "mlp-dendrites_epoch"));
    g_assert_nonnull (strstr (want, "_1_noImprove_lr_"));
    g_assert_cmpstr (got, ==, want);
    dn_test_tmpdir_remove (out);
}

/* ---- one folder, one run ---- */

typedef struct {
    DnRunWriter *writer;
    volatile gint cancel;
    DnExperiment *exp;
    GError *resume_error, *overwrite_error;
} Intruder;

/* At the first epoch a second run tries the same folder: resume, then overwrite. */
static void on_event_intrude (const DnEvent *ev, gpointer data)
{
    Intruder *in = data;
    dn_run_writer_event (in->writer, ev);
    if (ev->kind != DN_EVENT_EPOCH || in->resume_error != NULL)
        return;
    DnRunOptions opts = {.threads = 2};
    DnRunResult result = {0};
    g_assert_false (dn_experiment_resume (ev->run_dir, &opts, NULL, &result, &in->resume_error));
    g_autofree char *out = g_path_get_dirname (ev->run_dir);
    DnRunOptions over = {.threads = 2, .out_dir = out, .overwrite = TRUE};
    g_assert_false (dn_experiment_run (in->exp, &over, NULL, &result, &in->overwrite_error));
    g_atomic_int_set (&in->cancel, 1);
}

static void test_one_run_per_folder (void)
{
    g_autoptr (DnExperiment) exp = small_experiment ();
    exp->dendrites = FALSE; /* a plain run: the folder handling is the same */
    exp->epochs = 2;
    g_autofree char *out = dn_test_tmpdir ();
    g_autofree char *dir = g_build_filename (out, exp->name, NULL);
    Intruder in = {.writer = dn_run_writer_new (), .exp = exp};
    DnObserver obs = {.event = on_event_intrude, .user_data = &in, .cancel = &in.cancel};
    DnRunOptions opts = {.out_dir = out, .threads = 2};
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (result.run_dir, ==, dir);
    dn_run_result_clear (&result);
    g_autoptr (GError) write_error = dn_run_writer_free (in.writer);
    g_assert_no_error (write_error);
    /* both refused, naming this process */
    g_autofree char *me = g_strdup_printf ("in use by process %ld on host ", (long) getpid ());
    g_assert_nonnull (in.resume_error);
    g_assert_nonnull (in.overwrite_error);
    g_test_message ("%s", in.resume_error->message);
    g_assert_nonnull (strstr (in.resume_error->message, me));
    g_assert_nonnull (strstr (in.overwrite_error->message, me));
    g_clear_error (&in.resume_error);
    g_clear_error (&in.overwrite_error);
    /* the refused runs left nothing: the first run's checkpoint is its own */
    g_autofree char *latest = g_build_filename (dir, "latest.safetensors", NULL);
    g_assert_true (g_file_test (latest, G_FILE_TEST_IS_REGULAR));

    /* the same experiment again: a new numbered folder, the earlier run untouched */
    g_autofree char *snap = dn_test_write_file (dir, "mlp-dendrites_epoch9_1_noImprove_lr_0.png",
                                                "x", 1);
    exp->epochs = 1;
    DnRunOptions again = {.out_dir = out, .threads = 2};
    g_assert_true (dn_experiment_run (exp, &again, NULL, &result, &error));
    g_autofree char *second = g_strconcat (dir, "-2", NULL);
    g_assert_cmpstr (result.run_dir, ==, second);
    dn_run_result_clear (&result);
    g_assert_true (g_file_test (snap, G_FILE_TEST_IS_REGULAR));
    /* overwrite: the earlier run's files are gone, the new run's are there */
    DnRunOptions over = {.out_dir = out, .threads = 2, .overwrite = TRUE};
    g_assert_true (dn_experiment_run (exp, &over, NULL, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (result.run_dir, ==, dir);
    dn_run_result_clear (&result);
    g_assert_false (g_file_test (snap, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (latest, G_FILE_TEST_IS_REGULAR));
    g_autofree char *third = g_strconcat (dir, "-3", NULL);
    g_assert_false (g_file_test (third, G_FILE_TEST_EXISTS));
    dn_test_tmpdir_remove (out);
}

/* The history in a run folder's latest checkpoint (NULL: none). */
static DnTracker *latest_history (const char *dir)
{
    g_autofree char *latest = g_build_filename (dir, "latest.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) st = dn_safetensors_open (latest, &error);
    g_assert_no_error (error);
    const char *text = dn_safetensors_metadata (st, "dendrite_tracker");
    if (text == NULL)
        return NULL;
    DnTracker *t = dn_tracker_state_from_string (text, &error);
    g_assert_no_error (error);
    return t;
}

/* ---- runs without dendrites ---- */

/* The engine keeps a plain run's history: its folder has the tables and the picture
 * of a dendritic run, with the rates it trained with, and a run stopped after two
 * epochs and resumed continues that history as if it had never stopped. */
static void test_plain_history (void)
{
    g_autoptr (DnExperiment) exp = plain_experiment ();
    g_autofree char *out = dn_test_tmpdir ();
    g_autofree char *ref_out = g_build_filename (out, "whole", NULL);
    g_autofree char *cut_out = g_build_filename (out, "cut", NULL);
    run (exp, ref_out, NULL, 0);
    run (exp, cut_out, NULL, 2);
    g_autofree char *ref = g_build_filename (ref_out, "mlp", NULL);
    g_autofree char *dir = g_build_filename (cut_out, "mlp", NULL);
    {
        g_autoptr (DnTracker) stopped = latest_history (dir);
        g_assert_nonnull (stopped);
        g_assert_true (dn_tracker_is_recorder (stopped));
        g_assert_cmpint (dn_tracker_total_epochs (stopped), ==, 2);
    }
    run (NULL, NULL, dir, 0);

    static const char *const same[] = {"mlpScores.csv",       "mlpbest_test_scores.csv",
                                       "mlplearningRate.csv", "mlpparamCounts.csv",
                                       "mlpswitchEpochs.csv", NULL};
    for (int i = 0; same[i] != NULL; i++)
        assert_same_file (ref, dir, same[i]);
    static const char *const timed[] = {"mlpTimes.csv", "history.csv", "mlp.png", NULL};
    for (int i = 0; timed[i] != NULL; i++) {
        g_autofree char *path = g_build_filename (dir, timed[i], NULL);
        if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_error ("the run folder has no %s", timed[i]);
    }
    g_autofree char *best = g_build_filename (ref, "best_model.safetensors", NULL);
    g_autofree char *best2 = g_build_filename (dir, "best_model.safetensors", NULL);
    dn_test_assert_same_tensors (best, best2);
    g_autoptr (DnTracker) t = latest_history (dir);
    g_assert_true (dn_tracker_is_recorder (t));
    int n = 0;
    const DnTrackerEpoch *rows = dn_tracker_epochs (t, &n);
    g_assert_cmpint (n, ==, 4);
    for (int i = 0; i < n; i++) /* the rate each epoch trained with, not one behind */
        g_assert_cmpfloat (rows[i].lr, ==, 0.001 * pow (0.5, i));
    dn_test_tmpdir_remove (out);
}

/* A plain run's checkpoint without a history resumes (without one); a history that is
 * not this run's is refused. */
static void test_plain_checkpoint_history (void)
{
    g_autoptr (DnExperiment) exp = plain_experiment ();
    static const struct {
        const char *find, *with, *fragment;
    } cases[] = {
        {NULL, NULL, NULL},
        {"\"total_epochs\":", "\"total_epochs\":3,\"t\":", "does not belong to this run"},
        {"\"recorder\":true", "\"recorder\":false", "does not belong to this run"},
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *out = dn_test_tmpdir ();
        run (exp, out, NULL, 2);
        g_autofree char *dir = g_build_filename (out, "mlp", NULL);
        g_autofree char *latest = g_build_filename (dir, "latest.safetensors", NULL);
        dn_test_edit_metadata (latest, "dendrite_tracker", cases[i].find, cases[i].with);
        DnRunOptions opts = {.threads = 2};
        DnRunResult result = {0};
        g_autoptr (GError) error = NULL;
        gboolean ok = dn_experiment_resume (dir, &opts, NULL, &result, &error);
        if (cases[i].fragment == NULL) {
            g_assert_no_error (error);
            g_assert_true (ok);
            g_assert_cmpint (result.best_epoch, >=, 1);
            g_assert_null (latest_history (dir));
        } else {
            g_assert_false (ok);
            g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
            g_test_message ("%s", error->message);
            g_assert_true (g_str_has_prefix (error->message, latest));
            g_assert_nonnull (strstr (error->message, cases[i].fragment));
        }
        dn_run_result_clear (&result);
        dn_test_tmpdir_remove (out);
    }
}

/* ---- damaged run states ---- */

typedef struct {
    const char *path;
    const char *key;   /* the metadata entry to change */
    const char *find;  /* replace this text in it ... (NULL: remove the entry) */
    const char *with;  /* ... with this */
    const char *fragment;
} DamageCase;

static const DamageCase damage_cases[] = {
    {"/run/resume/damaged/run-state-missing", "dendrite_run", NULL, NULL,
     "the run state (\"dendrite_run\" in the metadata) is damaged: it is missing"},
    {"/run/resume/damaged/epoch-string", "dendrite_run", "\"epoch\":", "\"epoch\":\"x\",\"e\":",
     "\"epoch\" is \"x\" but must be a whole number"},
    {"/run/resume/damaged/epoch-zero", "dendrite_run", "\"epoch\":", "\"epoch\":0,\"e\":",
     "\"epoch\" is 0"},
    {"/run/resume/damaged/seed-negative", "dendrite_run", "\"seed\":", "\"seed\":-1,\"s\":",
     "\"seed\" is -1"},
    {"/run/resume/damaged/seed-missing", "dendrite_run", "\"seed\":", "\"s\":",
     "\"seed\" is missing"},
    {"/run/resume/damaged/rng-short", "dendrite_run", "\"rng\":[", "\"rng\":[\"1\"],\"r\":[",
     "\"rng\" has 1 elements but must have 4"},
    {"/run/resume/damaged/best-epoch-after-epoch", "dendrite_run", "\"best_epoch\":",
     "\"best_epoch\":9999,\"b\":", "\"best_epoch\" is 9999"},
    {"/run/resume/damaged/best-val-string", "dendrite_run", "\"best_val\":",
     "\"best_val\":\"high\",\"v\":", "\"best_val\" is \"high\""},
    {"/run/resume/damaged/tracker-missing", "dendrite_tracker", NULL, NULL,
     "the tracker state (\"dendrite_tracker\" in the metadata) is missing"},
    {"/run/resume/damaged/tracker-not-json", "dendrite_tracker", "{", "[",
     "the tracker state (\"dendrite_tracker\" in the metadata) is damaged"},
    {"/run/resume/damaged/tracker-counter-string", "dendrite_tracker", "\"num_epochs_run\":",
     "\"num_epochs_run\":\"x\",\"n\":", "the tracker state"},
    {"/run/resume/damaged/tracker-counter-negative", "dendrite_tracker", "\"num_epochs_run\":",
     "\"num_epochs_run\":-7,\"n\":", "the tracker state"},
};

static void test_damaged_state (gconstpointer data)
{
    const DamageCase *c = data;
    g_autoptr (DnExperiment) exp = small_experiment ();
    g_autofree char *out = dn_test_tmpdir ();
    run (exp, out, NULL, 2);
    g_autofree char *dir = g_build_filename (out, "mlp-dendrites", NULL);
    g_autofree char *latest = g_build_filename (dir, "latest.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    dn_test_edit_metadata (latest, c->key, c->find, c->with);
    /* an error naming the file and the member; a critical would abort the test */
    DnRunOptions opts = {.threads = 2};
    DnRunResult result = {0};
    g_assert_false (dn_experiment_resume (dir, &opts, NULL, &result, &error));
    g_assert_nonnull (error);
    g_test_message ("%s", error->message);
    g_assert_true (g_str_has_prefix (error->message, latest));
    g_assert_nonnull (strstr (error->message, c->fragment));
    /* and the folder is free again */
    g_assert_false (dn_run_dir_is_locked (dir, NULL));
    dn_test_tmpdir_remove (out);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_data_func ("/run/resume/after-epoch-3", GINT_TO_POINTER (3), test_stop_and_resume);
    g_test_add_data_func ("/run/resume/after-epoch-9", GINT_TO_POINTER (9), test_stop_and_resume);
    g_test_add_data_func ("/run/resume/after-epoch-16", GINT_TO_POINTER (16), test_stop_and_resume);
    g_test_add_func ("/run/resume/damaged-run-state", test_damaged_run_state);
    g_test_add_func ("/run/resume/kill-9", test_kill_and_resume);
    g_test_add_func ("/run/files/whole-set", test_file_set);
    g_test_add_func ("/run/folder/one-run-per-folder", test_one_run_per_folder);
    g_test_add_func ("/run/resume/snapshot-names", test_snapshot_names);
    g_test_add_func ("/run/resume/plain-history", test_plain_history);
    g_test_add_func ("/run/resume/plain-checkpoint-history", test_plain_checkpoint_history);
    for (guint i = 0; i < G_N_ELEMENTS (damage_cases); i++)
        g_test_add_data_func (damage_cases[i].path, &damage_cases[i], test_damaged_state);
    int rc = g_test_run ();
    if (reference_dir != NULL) {
        g_autofree char *parent = g_path_get_dirname (reference_dir);
        dn_test_tmpdir_remove (parent);
    }
    return rc;
}
