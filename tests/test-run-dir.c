/* test-run-dir.c: run folders: numbered folders for new runs, the lock (a
 * second run refused with the holder's pid, no stale lock after kill -9),
 * overwrite of run folders only, atomic writes and their temporaries, snapshot
 * names, and the run-state reader's answers to damaged states. */
#include "dn-error.h"
#include "dn-run-dir.h"
#include "dn-test-util.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void touch (const char *dir, const char *name)
{
    g_autofree char *p = dn_test_write_file (dir, name, "x", 1);
}

static gboolean exists (const char *dir, const char *name)
{
    g_autofree char *p = g_build_filename (dir, name, NULL);
    return g_file_test (p, G_FILE_TEST_EXISTS);
}

static char *pid_text (pid_t pid)
{
    return g_strdup_printf ("process %ld on host ", (long) pid);
}

/* ---- choosing ---- */

static void test_numbered (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *out = g_build_filename (tmp, "runs", NULL);
    g_autoptr (GError) error = NULL;
    g_autofree char *first = NULL, *second = NULL;
    {
        /* the first run gets NAME itself, creating the output folder */
        g_autoptr (DnRunDir) d = dn_run_dir_create (out, "mnist-cnn", FALSE, &error);
        g_assert_no_error (error);
        first = g_strdup (dn_run_dir_path (d));
        g_assert_true (g_str_has_suffix (first, "/runs/mnist-cnn"));
        g_assert_cmpstr (dn_run_dir_requested (d), ==, first);
        touch (first, "experiment.json");
    }
    {
        /* NAME holds a run: the next one gets NAME-2, and says which it asked for */
        g_autoptr (DnRunDir) d = dn_run_dir_create (out, "mnist-cnn", FALSE, &error);
        g_assert_no_error (error);
        second = g_strdup (dn_run_dir_path (d));
        g_autofree char *want = g_strconcat (first, "-2", NULL);
        g_assert_cmpstr (second, ==, want);
        g_assert_cmpstr (dn_run_dir_requested (d), ==, first);
        /* while NAME-2 is in use (still empty), a third run does not take it */
        g_autoptr (DnRunDir) e = dn_run_dir_create (out, "mnist-cnn", FALSE, &error);
        g_assert_no_error (error);
        g_autofree char *third = g_strconcat (first, "-3", NULL);
        g_assert_cmpstr (dn_run_dir_path (e), ==, third);
    }
    touch (second, "experiment.json");
    /* an empty folder (NAME-3, left by a run that never wrote) is free again */
    g_autoptr (DnRunDir) d = dn_run_dir_create (out, "mnist-cnn", FALSE, &error);
    g_assert_no_error (error);
    g_assert_true (g_str_has_suffix (dn_run_dir_path (d), "/runs/mnist-cnn-3"));
    /* the earlier runs' files are where they were */
    g_assert_true (exists (first, "experiment.json"));
    g_assert_true (exists (second, "experiment.json"));
    dn_test_tmpdir_remove (tmp);
}

static void test_overwrite (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *dir = g_build_filename (tmp, "mnist-cnn", NULL);
    g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
    static const char *const run_files[] = {"experiment.json",
                                            "run.log",
                                            "best_model.safetensors",
                                            "mnist-cnnScores.csv",
                                            "mnist-cnn.png",
                                            "mnist-cnn_epoch7_1_noImprove_lr_0Scores.csv",
                                            "history.csv",
                                            "summary.json",
                                            "latest.safetensors.tmp-Ab12Cd",
                                            "history.csv.x1Y2z3",
                                            NULL};
    for (int i = 0; run_files[i] != NULL; i++)
        touch (dir, run_files[i]);
    g_autoptr (GError) error = NULL;
    {
        g_autoptr (DnRunDir) d = dn_run_dir_create (tmp, "mnist-cnn", TRUE, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (dn_run_dir_path (d), ==, dir);
        for (int i = 0; run_files[i] != NULL; i++)
            g_assert_false (exists (dir, run_files[i]));
        g_assert_true (exists (dir, DN_RUN_DIR_LOCK_FILE));
    }

    /* a folder with anything a run does not write is not cleared */
    touch (dir, "experiment.json");
    touch (dir, "notes.txt");
    g_autoptr (DnRunDir) d = dn_run_dir_create (tmp, "mnist-cnn", TRUE, &error);
    g_assert_null (d);
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "does not look like a run folder"));
    g_assert_nonnull (strstr (error->message, "notes.txt"));
    g_assert_true (exists (dir, "notes.txt"));
    g_assert_true (exists (dir, "experiment.json"));
    g_clear_error (&error);
    g_autofree char *notes = g_build_filename (dir, "notes.txt", NULL);
    g_assert_cmpint (g_remove (notes), ==, 0);
    g_autofree char *sub = g_build_filename (dir, "data", NULL);
    g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);
    d = dn_run_dir_create (tmp, "mnist-cnn", TRUE, &error);
    g_assert_null (d);
    g_assert_nonnull (strstr (error->message, "it holds data,"));
    g_clear_error (&error);

    /* CSV files only, but no run's: someone's data */
    g_autofree char *csvs = g_build_filename (tmp, "tables", NULL);
    g_assert_cmpint (g_mkdir (csvs, 0755), ==, 0);
    touch (csvs, "train.csv");
    d = dn_run_dir_create (tmp, "tables", TRUE, &error);
    g_assert_null (d);
    g_assert_nonnull (strstr (error->message, "it has no experiment.json"));
    g_assert_true (exists (csvs, "train.csv"));
    g_assert_false (exists (csvs, DN_RUN_DIR_LOCK_FILE));
    g_clear_error (&error);

    /* a file where the folder would be */
    touch (tmp, "plain");
    d = dn_run_dir_create (tmp, "plain", TRUE, &error);
    g_assert_null (d);
    g_assert_nonnull (strstr (error->message, "is a file, not a run folder"));
    dn_test_tmpdir_remove (tmp);
}

/* ---- the lock ---- */

static void test_lock_refuses (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;
    g_autoptr (DnRunDir) d = dn_run_dir_create (tmp, "run", FALSE, &error);
    g_assert_no_error (error);
    g_autofree char *path = g_strdup (dn_run_dir_path (d));
    touch (path, "experiment.json");
    touch (path, "latest.safetensors");
    touch (path, "latest.safetensors.tmp-AAAAAA"); /* the holder writing */
    g_autofree char *me = pid_text (getpid ());

    /* resume and overwrite are refused, naming the holder */
    g_autoptr (DnRunDir) r = dn_run_dir_open (path, &error);
    g_assert_null (r);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "is in use by"));
    g_assert_nonnull (strstr (error->message, me));
    g_clear_error (&error);
    g_autoptr (DnRunDir) o = dn_run_dir_create (tmp, "run", TRUE, &error);
    g_assert_null (o);
    g_assert_nonnull (strstr (error->message, me));
    g_clear_error (&error);
    /* the live run's temporary was not touched, nor its files */
    g_assert_true (exists (path, "latest.safetensors.tmp-AAAAAA"));
    g_assert_true (exists (path, "experiment.json"));
    g_autofree char *holder = NULL;
    g_assert_true (dn_run_dir_is_locked (path, &holder));
    g_assert_nonnull (strstr (holder, me));

    /* released: resume takes it, and removes the stale temporary */
    g_clear_pointer (&d, dn_run_dir_free);
    g_assert_false (dn_run_dir_is_locked (path, NULL));
    r = dn_run_dir_open (path, &error);
    g_assert_no_error (error);
    g_assert_false (exists (path, "latest.safetensors.tmp-AAAAAA"));
    dn_test_tmpdir_remove (tmp);
}

/* A holder killed with SIGKILL leaves run.lock with its pid, but no lock. */
static void test_lock_kill9 (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (tmp, "run", NULL);
    int ready[2];
    g_assert_cmpint (pipe (ready), ==, 0);
    pid_t child = fork ();
    g_assert_cmpint (child, >=, 0);
    if (child == 0) {
        DnRunDir *d = dn_run_dir_create (tmp, "run", FALSE, NULL);
        char c = d != NULL ? 'y' : 'n';
        if (write (ready[1], &c, 1) != 1)
            _exit (1);
        pause ();
        _exit (0);
    }
    close (ready[1]);
    char c = 0;
    g_assert_cmpint (read (ready[0], &c, 1), ==, 1);
    close (ready[0]);
    g_assert_cmpint (c, ==, 'y');
    g_autofree char *it = pid_text (child);
    g_autofree char *holder = NULL;
    g_assert_true (dn_run_dir_is_locked (path, &holder));
    g_assert_nonnull (strstr (holder, it));
    kill (child, SIGKILL);
    int status = 0;
    g_assert_cmpint (waitpid (child, &status, 0), ==, child);
    g_assert_true (exists (path, DN_RUN_DIR_LOCK_FILE));
    g_assert_false (dn_run_dir_is_locked (path, NULL));
    touch (path, "latest.safetensors");
    g_autoptr (GError) error = NULL;
    g_autoptr (DnRunDir) d = dn_run_dir_open (path, &error);
    g_assert_no_error (error);
    dn_test_tmpdir_remove (tmp);
}

static void test_open_errors (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (GError) error = NULL;
    g_autofree char *missing = g_build_filename (tmp, "nope", NULL);
    g_autoptr (DnRunDir) d = dn_run_dir_open (missing, &error);
    g_assert_null (d);
    g_assert_nonnull (strstr (error->message, "is not a folder"));
    g_clear_error (&error);
    /* a run stopped before its first epoch: nothing to resume, and it says why */
    d = dn_run_dir_open (tmp, &error);
    g_assert_null (d);
    g_assert_nonnull (strstr (error->message, "no latest.safetensors"));
    g_assert_false (dn_run_dir_is_locked (tmp, NULL));
    dn_test_tmpdir_remove (tmp);
}

/* ---- writing ---- */

static void test_temporaries (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    /* what a kill leaves behind, one per writer (all use one template) */
    static const char *const files[] = {"latest.safetensors", "mnistScores.csv", "mnist.png",
                                        "history.csv",        "experiment.json", "summary.json"};
    for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
        g_autofree char *path = g_build_filename (tmp, files[i], NULL);
        g_autofree char *t = dn_file_temp_template (path);
        int fd = g_mkstemp (t);
        g_assert_cmpint (fd, >=, 0);
        close (fd);
        g_assert_true (dn_file_is_temporary (strrchr (t, '/') + 1));
        touch (tmp, files[i]);
    }
    touch (tmp, "history.csv.Ab3dE6"); /* g_file_set_contents' name, of earlier versions */
    touch (tmp, "notes.tmp-old.txt");  /* not a temporary: kept */
    touch (tmp, "model.tmp-ab");
    g_assert_cmpint (dn_run_dir_remove_temporaries (tmp), ==, G_N_ELEMENTS (files) + 1);
    for (guint i = 0; i < G_N_ELEMENTS (files); i++)
        g_assert_true (exists (tmp, files[i]));
    g_assert_true (exists (tmp, "notes.tmp-old.txt"));
    g_assert_true (exists (tmp, "model.tmp-ab"));
    g_assert_false (dn_file_is_temporary ("PAIScores.csv"));
    g_assert_false (dn_file_is_temporary (".tmp-abcdef"));
    dn_test_tmpdir_remove (tmp);
}

static void test_write_atomic (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (tmp, "a.csv", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_file_write_atomic (path, "old\n", 4, &error));
    g_assert_true (dn_file_write_atomic (path, "new\n", 4, &error));
    g_assert_no_error (error);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "new\n");
    g_assert_cmpint (dn_run_dir_remove_temporaries (tmp), ==, 0);
    g_autofree char *bad = g_build_filename (tmp, "no-such-folder", "a.csv", NULL);
    g_assert_false (dn_file_write_atomic (bad, "x", 1, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    g_assert_nonnull (strstr (error->message, bad));
    dn_test_tmpdir_remove (tmp);
}

/* A commit left to its own thread: the old file stays whole until it is finished,
 * and a commit that cannot rename reports it when finished, leaving no temporary. */
static void test_atomic_pending (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (tmp, "latest.safetensors", NULL);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_file_write_atomic (path, "old\n", 4, &error));
    char *t = NULL;
    int fd = dn_file_atomic_open (path, &t, &error);
    g_assert_cmpint (fd, >=, 0);
    g_assert_true (dn_file_write_all (fd, "new\n", 4));
    DnFileCommit *pending = NULL;
    g_assert_true (dn_file_atomic_commit_start (fd, t, path, TRUE, &pending, &error));
    g_assert_no_error (error);
    g_assert_nonnull (pending);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_assert_true (g_str_equal (text, "old\n") || g_str_equal (text, "new\n"));
    g_assert_true (dn_file_commit_finish (pending, &error));
    g_assert_no_error (error);
    g_clear_pointer (&text, g_free);
    g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
    g_assert_cmpstr (text, ==, "new\n");
    g_assert_true (dn_file_commit_finish (NULL, &error));

    /* a failed write is cleaned up at once and nothing is left pending */
    fd = dn_file_atomic_open (path, &t, &error);
    g_assert_cmpint (fd, >=, 0);
    errno = ENOSPC;
    g_assert_false (dn_file_atomic_commit_start (fd, t, path, FALSE, &pending, &error));
    g_assert_null (pending);
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    g_assert_nonnull (strstr (error->message, g_strerror (ENOSPC)));
    g_clear_error (&error);

    /* a rename that fails on the thread (the target is a folder) is reported by finish */
    g_autofree char *folder = g_build_filename (tmp, "taken", NULL);
    g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
    g_autofree char *inside = g_build_filename (folder, "x", NULL);
    g_assert_true (dn_file_write_atomic (inside, "x", 1, &error));
    fd = dn_file_atomic_open (folder, &t, &error);
    g_assert_cmpint (fd, >=, 0);
    g_assert_true (dn_file_write_all (fd, "y", 1));
    g_assert_true (dn_file_atomic_commit_start (fd, t, folder, TRUE, &pending, &error));
    g_assert_false (dn_file_commit_finish (pending, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    g_assert_nonnull (strstr (error->message, folder));
    g_assert_cmpint (dn_run_dir_remove_temporaries (tmp), ==, 0);
    g_unlink (inside);
    g_rmdir (folder);
    dn_test_tmpdir_remove (tmp);
}

static void test_snapshot_names (void)
{
    g_autofree char *a = dn_run_dir_snapshot_suffix ("_noImprove_lr_0", TRUE, 12, 1);
    g_autofree char *b = dn_run_dir_snapshot_suffix ("_noImprove_lr_0", TRUE, 12, 2);
    g_autofree char *c = dn_run_dir_snapshot_suffix ("_noImprove_lr_0", TRUE, 13, 1);
    g_autofree char *d = dn_run_dir_snapshot_suffix ("_beforeSwitch_0", FALSE, 12, 1);
    g_assert_cmpstr (a, ==, "_epoch12_1_noImprove_lr_0");
    g_assert_cmpstr (b, ==, "_epoch12_2_noImprove_lr_0");
    g_assert_cmpstr (c, ==, "_epoch13_1_noImprove_lr_0");
    g_assert_cmpstr (d, ==, "_beforeSwitch_0");
}

/* ---- run state ---- */

typedef struct {
    const char *path;
    const char *json; /* NULL: the key is missing */
    const char *fragment;
} StateCase;

static const StateCase state_cases[] = {
    {"/engine/run-dir/state/missing", NULL, "it is missing"},
    {"/engine/run-dir/state/not-json", "{\"epoch\":", "damaged"},
    {"/engine/run-dir/state/not-object", "[1,2]", "not a JSON object"},
    {"/engine/run-dir/state/epoch-missing", "{\"rng\":[]}", "\"epoch\" is missing"},
    {"/engine/run-dir/state/epoch-string", "{\"epoch\":\"3\"}", "\"epoch\" is \"3\""},
    {"/engine/run-dir/state/epoch-double", "{\"epoch\":2.5}", "whole number from 1"},
    {"/engine/run-dir/state/epoch-negative", "{\"epoch\":-4}", "whole number from 1"},
    {"/engine/run-dir/state/epoch-object", "{\"epoch\":{}}", "\"epoch\" is"},
    {"/engine/run-dir/state/rng-short", "{\"epoch\":1,\"rng\":[\"00000000000000ff\"]}",
     "\"rng\" has 1 elements but must have 4"},
    {"/engine/run-dir/state/rng-number", "{\"epoch\":1,\"rng\":[1,2,3,4]}", "element 0 of \"rng\""},
    {"/engine/run-dir/state/rng-0x",
     "{\"epoch\":1,\"rng\":[\"0x00000000000001\",\"00000000000000ff\",\"00000000000000ff\","
     "\"00000000000000ff\"]}",
     "16 hexadecimal"},
    {"/engine/run-dir/state/rng-zero",
     "{\"epoch\":1,\"rng\":[\"0000000000000000\",\"0000000000000000\",\"0000000000000000\","
     "\"0000000000000000\"]}",
     "all zeros"},
    {"/engine/run-dir/state/rng-not-array", "{\"epoch\":1,\"rng\":\"x\"}", "must be an array"},
    {"/engine/run-dir/state/val-string",
     "{\"epoch\":1,\"rng\":[\"00000000000000ff\","
     "\"00000000000000ff\",\"00000000000000ff\","
     "\"00000000000000ff\"],\"val\":\"high\"}",
     "\"val\" is \"high\""},
    {"/engine/run-dir/state/val-range",
     "{\"epoch\":1,\"rng\":[\"00000000000000ff\","
     "\"00000000000000ff\",\"00000000000000ff\","
     "\"00000000000000ff\"],\"val\":101}",
     "from 0 to 100"},
};

/* Reads what a loop reads: epoch, rng, then "val" (a percentage or null). */
static void test_state (gconstpointer data)
{
    const StateCase *c = data;
    DnStateReader s;
    g_autoptr (GError) error = NULL;
    gint64 epoch = 0;
    guint64 rng[4];
    double val;
    gboolean ok =
        dn_run_state_init (&s, "runs/x/latest.safetensors", "dendrite_run", c->json, &error) &&
        dn_run_state_int (&s, "epoch", 1, 1000, &epoch, &error) &&
        dn_run_state_rng (&s, "rng", rng, &error) &&
        dn_run_state_double (&s, "val", 0.0, 100.0, TRUE, &val, &error);
    dn_run_state_clear (&s);
    g_assert_false (ok);
    g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
    g_test_message ("%s", error->message);
    g_assert_true (g_str_has_prefix (error->message, "runs/x/latest.safetensors: the run state "
                                                     "(\"dendrite_run\" in the metadata) is "
                                                     "damaged: "));
    g_assert_nonnull (strstr (error->message, c->fragment));
}

static void test_state_good (void)
{
    DnStateReader s;
    g_autoptr (GError) error = NULL;
    gint64 epoch = 0;
    guint64 rng[4];
    double val = 0, none = 0;
    g_assert_true (
        dn_run_state_init (&s, "f", "k",
                           "{\"epoch\":3,\"rng\":[\"00000000000000ff\",\"0000000000000001\","
                           "\"0000000000000000\",\"ffffffffffffffff\"],\"val\":97.5,"
                           "\"none\":null}",
                           &error));
    g_assert_true (dn_run_state_int (&s, "epoch", 1, 1000, &epoch, &error));
    g_assert_true (dn_run_state_rng (&s, "rng", rng, &error));
    g_assert_true (dn_run_state_double (&s, "val", 0.0, 100.0, TRUE, &val, &error));
    g_assert_true (dn_run_state_double (&s, "none", 0.0, 100.0, TRUE, &none, &error));
    g_assert_false (dn_run_state_double (&s, "none", 0.0, 100.0, FALSE, &none, &error));
    g_clear_error (&error);
    dn_run_state_clear (&s);
    g_assert_cmpint (epoch, ==, 3);
    g_assert_cmphex (rng[0], ==, 0xff);
    g_assert_cmphex (rng[3], ==, G_MAXUINT64);
    g_assert_cmpfloat (val, ==, 97.5);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/engine/run-dir/choose/numbered", test_numbered);
    g_test_add_func ("/engine/run-dir/atomic/pending", test_atomic_pending);
    g_test_add_func ("/engine/run-dir/choose/overwrite", test_overwrite);
    g_test_add_func ("/engine/run-dir/lock/second-refused", test_lock_refuses);
    g_test_add_func ("/engine/run-dir/lock/kill-9", test_lock_kill9);
    g_test_add_func ("/engine/run-dir/open/errors", test_open_errors);
    g_test_add_func ("/engine/run-dir/write/temporaries", test_temporaries);
    g_test_add_func ("/engine/run-dir/write/atomic", test_write_atomic);
    g_test_add_func ("/engine/run-dir/snapshot/names", test_snapshot_names);
    g_test_add_func ("/engine/run-dir/state/good", test_state_good);
    for (guint i = 0; i < G_N_ELEMENTS (state_cases); i++)
        g_test_add_data_func (state_cases[i].path, &state_cases[i], test_state);
    return g_test_run ();
}
