/* test-cli-train.c: training through the `dendrite` binary, as a user runs it:
 * JSON events, fixed-seed determinism, run folders and a stop before the first
 * epoch, evaluation on CSV data with the model's class list, and the end-to-end
 * runs on real data (the bundled MNIST sample, full Fashion-MNIST when installed)
 * held to accuracy floors: the slow part of the CLI tests. */
#include "dn-cli-test.h"

/* ---- training through the CLI ---------------------------------------------- */

/* The MLP example, one epoch on the MNIST sample, in --json mode: the event stream,
 * the saved files, eval of the saved model, inspect of it, and a truncated copy. */
static void test_train_json (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *data = mnist_dir ();
    g_autofree char *exp = write_experiment (tmp, "examples/mlp.json", "mlp-tiny", data, 1);
    g_auto (CliRun) r = {0};
    cli_run (&r, "train", exp, "--json", "--seed", "7", "--threads", "2", NULL);
    assert_exit (&r, 0);

    g_auto (TrainReport) t = {0};
    read_train_report (r.out, 1, &t);
    g_test_message ("mlp, 1 epoch: val %.2f %%, test %.2f %%, %.1f s", t.best_val,
                    t.test_at_best_val, num (t.done, "seconds"));
    g_assert_cmpfloat (num (t.done, "params"), ==, 203530);
    g_assert_cmpfloat (t.test_at_best_val, >=, 80.0); /* one epoch of Adam gives about 90 */

    /* the run folder is the experiment's output dir / name */
    g_autofree char *run_dir = g_build_filename (tmp, "runs", "mlp-tiny", NULL);
    g_autofree char *best = g_build_filename (run_dir, "best_model.safetensors", NULL);
    g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
    g_autofree char *copy = g_build_filename (run_dir, "experiment.json", NULL);
    g_assert_cmpstr (t.model, ==, best);
    g_assert_cmpstr (json_object_get_string_member (t.done, "run_dir"), ==, run_dir);
    g_assert_true (g_file_test (latest, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (copy, G_FILE_TEST_IS_REGULAR));
    /* the history's tables and picture, as a dendritic run has them; no dendrite fields */
    static const char *const history[] = {"Scores.csv",          "Times.csv", "learningRate.csv",
                                          "paramCounts.csv",     ".png",      "switchEpochs.csv",
                                          "best_test_scores.csv"};
    for (guint i = 0; i < G_N_ELEMENTS (history); i++) {
        g_autofree char *path = g_strconcat (run_dir, "/mlp-tiny", history[i], NULL);
        if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_error ("the run folder of a run without dendrites has no %s", path);
    }
    g_assert_false (json_object_has_member (t.epochs->pdata[0], "dendrites"));
    g_assert_false (json_object_has_member (t.done, "architectures"));

    check_eval_reproduces (&t, data, 1996);

    g_auto (CliRun) s = {0};
    cli_run (&s, "inspect", t.model, NULL);
    assert_exit (&s, 0);
    assert_has (s.out, t.model);
    assert_has (s.out, "training: ");
    assert_has (s.out, "\"experiment\":\"mlp-tiny\"");
    assert_has (s.out, "\"seed\":7"); /* the seed of the run, not the file's */
    assert_mlp_table (s.out);

    /* A model cut in half is corrupt: eval and inspect fail and name it. */
    g_autofree char *bytes = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (t.model, &bytes, &len, NULL));
    g_autofree char *cut = dn_test_write_file (tmp, "cut.safetensors", bytes, len / 2);
    g_auto (CliRun) e = {0};
    cli_run (&e, "eval", cut, "--data", data, "--json", NULL);
    assert_exit (&e, 1);
    g_assert_cmpstr (e.out, ==, "");
    assert_has (e.err, "dendrite eval: ");
    assert_has (e.err, cut);
    dn_test_tmpdir_remove (tmp);
}

/* Same seed and thread count: the same numbers and the same model, byte for byte. */
static void test_train_deterministic (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *data = mnist_dir ();
    g_autofree char *exp = write_experiment (tmp, "examples/mlp.json", "mlp-det", data, 1);
    g_auto (TrainReport) t0 = {0};
    g_auto (TrainReport) t1 = {0};
    TrainReport *t[2] = {&t0, &t1};
    g_autofree char *bytes0 = NULL, *bytes1 = NULL;
    char **model_bytes[2] = {&bytes0, &bytes1};
    gsize model_len[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        g_autofree char *out = g_strdup_printf ("%s/out%d", tmp, k);
        g_auto (CliRun) r = {0};
        cli_run (&r, "train", exp, "--json", "--seed", "7", "--threads", "2", "--out", out, NULL);
        assert_exit (&r, 0);
        read_train_report (r.out, 1, t[k]);
        g_assert_true (g_str_has_prefix (t[k]->model, out));
        g_assert_true (g_file_get_contents (t[k]->model, model_bytes[k], &model_len[k], NULL));
    }
    static const char *const keys[] = {"loss", "train", "val", "val_loss", "test", "test_loss"};
    for (guint e = 0; e < t0.epochs->len; e++) {
        for (guint k = 0; k < G_N_ELEMENTS (keys); k++) {
            double a = num (t0.epochs->pdata[e], keys[k]);
            double b = num (t1.epochs->pdata[e], keys[k]);
            if (memcmp (&a, &b, sizeof a) != 0)
                g_error ("epoch %u: %s is %.17g in one run and %.17g in the other", e + 1, keys[k],
                         a, b);
        }
    }
    g_assert_cmpfloat (t0.test_at_best_val, ==, t1.test_at_best_val);
    g_assert_cmpmem (bytes0, model_len[0], bytes1, model_len[1]);
    dn_test_tmpdir_remove (tmp);
}

/* ---- run folders ------------------------------------------------------------- */

/* The README's command, run again and again: NAME, NAME-2; --overwrite replaces NAME;
 * a folder in use is refused with the pid that holds it. */
static void test_train_run_folders (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *data = mnist_dir ();
    g_autofree char *exp = write_experiment (tmp, "examples/mlp.json", "mlp-again", data, 1);
    g_autofree char *first = g_build_filename (tmp, "runs", "mlp-again", NULL);
    g_autofree char *second = g_strconcat (first, "-2", NULL);
    const char *want[] = {first, second};
    for (int k = 0; k < 2; k++) {
        g_auto (CliRun) r = {0};
        cli_run (&r, "train", exp, "--threads", "2", NULL);
        assert_exit (&r, 0);
        g_autofree char *line = g_strdup_printf ("run folder: %s\n", want[k]);
        assert_has (r.out, line);
        if (k == 1) {
            g_autofree char *says =
                g_strdup_printf ("%s holds an earlier run; this run goes to %s", first, second);
            assert_has (r.out, says);
        }
    }
    /* an earlier run's stray snapshot goes with --overwrite */
    g_autofree char *stray = dn_test_write_file (first, "mlp-again_epoch7_1_noImprove_lr_0.png",
                                                 "x", 1);
    {
        g_auto (CliRun) r = {0};
        cli_run (&r, "train", exp, "--threads", "2", "--overwrite", "--json", NULL);
        assert_exit (&r, 0);
        g_auto (TrainReport) t = {0};
        read_train_report (r.out, 1, &t);
        g_assert_cmpstr (json_object_get_string_member (t.done, "run_dir"), ==, first);
        g_assert_false (g_file_test (stray, G_FILE_TEST_EXISTS));
    }
    /* --overwrite of a folder that is not a run's */
    g_autofree char *notes = dn_test_write_file (second, "notes.txt", "mine", 4);
    g_autofree char *exp2 = write_experiment (tmp, "examples/mlp.json", "mlp-again-2", data, 1);
    {
        g_auto (CliRun) r = {0};
        cli_run (&r, "train", exp2, "--threads", "2", "--overwrite", NULL);
        assert_exit (&r, 1);
        assert_has (r.err, "does not look like a run folder: it holds notes.txt");
        g_assert_true (g_file_test (notes, G_FILE_TEST_EXISTS));
    }
    /* a folder in use: resume and overwrite are refused, naming the holder */
    g_autoptr (GError) error = NULL;
    g_autoptr (DnRunDir) held = dn_run_dir_open (first, &error);
    g_assert_no_error (error);
    g_autofree char *me = g_strdup_printf ("is in use by process %ld on host ", (long) getpid ());
    {
        g_auto (CliRun) r = {0};
        cli_run (&r, "train", "--resume", first, "--threads", "2", NULL);
        assert_exit (&r, 1);
        assert_has (r.err, me);
        assert_no_success_claim (&r);
    }
    {
        g_auto (CliRun) r = {0};
        cli_run (&r, "train", exp, "--threads", "2", "--overwrite", NULL);
        assert_exit (&r, 1);
        assert_has (r.err, me);
    }
    dn_test_tmpdir_remove (tmp);
}

/* Ctrl-C before the first epoch ends: nothing to resume, and --resume is not offered. */
static void test_train_stop_before_first_epoch (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *data = mnist_dir ();
    g_autofree char *exp = write_experiment (tmp, "examples/mnist-cnn.json", "cnn-stop", data, 1);
    const char *argv[] = {g_getenv ("DENDRITE_CLI"), "train", exp, "--threads", "1", NULL};
    g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "LC_ALL", "C", TRUE);
    GPid pid;
    int out_fd = -1;
    g_autoptr (GError) error = NULL;
    g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, envp,
                                             G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                                             NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
    g_assert_no_error (error);
    /* experiment.json is written once the data is loaded, just before the first batch */
    g_autofree char *copy = g_build_filename (tmp, "runs", "cnn-stop", "experiment.json", NULL);
    for (int i = 0; i < 3000 && !g_file_test (copy, G_FILE_TEST_EXISTS); i++)
        g_usleep (10000);
    kill (pid, SIGINT);
    int status = 0;
    g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
    g_spawn_close_pid (pid);
    GString *out = g_string_new (NULL);
    char buf[4096];
    ssize_t n;
    while ((n = read (out_fd, buf, sizeof buf)) > 0)
        g_string_append_len (out, buf, n);
    close (out_fd);
    g_autofree char *text = g_string_free (out, FALSE);
    g_test_message ("%s", text);
    g_assert_true (WIFEXITED (status));
    g_assert_cmpint (WEXITSTATUS (status), ==, 130);
    assert_has (text, "stopped before the first epoch finished");
    assert_has (text, "nothing to resume");
    assert_lacks (text, "--resume");
    dn_test_tmpdir_remove (tmp);
}

/* ---- end to end: accuracy floors on real data -------------------------------- */

static void run_e2e (const char *example, const char *data, int epochs, int test_samples,
                     double floor)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *exp_path = dn_test_data_path (example);
    g_autofree char *out = g_build_filename (tmp, "runs", NULL);
    g_autofree char *n = g_strdup_printf ("%d", epochs);
    g_auto (CliRun) r = {0};
    cli_run (&r, "train", exp_path, "--data", data, "--epochs", n, "--threads", "2", "--out", out,
             "--json", NULL);
    assert_exit (&r, 0);
    g_auto (TrainReport) t = {0};
    read_train_report (r.out, epochs, &t);
    for (guint e = 0; e < t.epochs->len; e++) {
        JsonObject *o = t.epochs->pdata[e];
        g_test_message ("epoch %u: loss %.4f, val %.2f %%, test %.2f %%, %.1f s, %.0f samples/s",
                        e + 1, num (o, "loss"), num (o, "val"), num (o, "test"), num (o, "seconds"),
                        num (o, "samples_per_s"));
    }
    g_test_message ("%s on %s: best epoch %d, test %.2f %% (floor %.0f %%), %.1f s in all", example,
                    data, t.best_epoch, t.test_at_best_val, floor, num (t.done, "seconds"));
    check_eval_reproduces (&t, data, test_samples);
    g_assert_cmpfloat (t.test_at_best_val, >=, floor);
    dn_test_tmpdir_remove (tmp);
}

static void test_e2e_mnist_cnn (void)
{
    g_autofree char *data = mnist_dir ();
    run_e2e ("examples/mnist-cnn.json", data, 2, 1996, 95.0);
}

static void test_e2e_fashion_mnist (void)
{
    const char *dir = g_getenv ("DN_FASHION_MNIST_DIR");
    if (dir == NULL)
        dir = FASHION_MNIST_DIR;
    g_autofree char *probe = g_build_filename (dir, "train-images-idx3-ubyte.gz", NULL);
    if (!g_file_test (probe, G_FILE_TEST_EXISTS)) {
        g_autofree char *msg = g_strdup_printf ("Fashion-MNIST is not installed in %s", dir);
        g_test_skip (msg);
        return;
    }
    run_e2e ("examples/mnist-cnn.json", dir, 1, 10000, 88.0);
}

/* ---- eval on CSV data: the model's class list ---------------------------- */

static double eval_accuracy (const char *model, const char *data)
{
    g_auto (CliRun) r = {0};
    cli_run (&r, "eval", model, "--data", data, "--threads", "1", "--json", NULL);
    assert_exit (&r, 0);
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, r.out, -1, &error);
    g_assert_no_error (error);
    return num (json_node_get_object (json_parser_get_root (parser)), "accuracy");
}

/* Separable classes named in a middle column. eval reads another file through the
 * classes and label column the model stores: another order of the classes still
 * scores 100 %, an unseen label names its line, and a model without a stored list
 * (written before there was one) numbers the file's labels itself, as it used to. */
static void test_eval_csv_classes (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    const char *names[] = {"setosa", "versicolor", "virginica"};
    GString *train = g_string_new ("f0,y,f1,f2\n");
    GString *reversed = g_string_new ("f0,y,f1,f2\n");
    GString *last = g_string_new ("f0,f1,f2,y\n");
    for (int i = 0; i < 30; i++) {
        int k = i % 3, j = 2 - k;
        g_string_append_printf (train, "%d,%s,%d,%d\n", k == 0, names[k], k == 1, k == 2);
        g_string_append_printf (reversed, "%d,%s,%d,%d\n", j == 0, names[j], j == 1, j == 2);
        g_string_append_printf (last, "%d,%d,%d,%s\n", k == 0, k == 1, k == 2, names[k]);
    }
    g_autofree char *tr = dn_test_write_file (tmp, "train.csv", train->str, train->len);
    g_autofree char *rev = dn_test_write_file (tmp, "reversed.csv", reversed->str, reversed->len);
    g_autofree char *lst = dn_test_write_file (tmp, "last.csv", last->str, last->len);
    g_string_append (reversed, "1,iris,0,0\n");
    g_autofree char *bad = dn_test_write_file (tmp, "bad.csv", reversed->str, reversed->len);
    g_autofree char *exp_text = g_strdup_printf (
        "{\"name\": \"classes\", \"data\": {\"format\": \"csv\", \"path\": \"%s\","
        " \"test_path\": \"%s\", \"label_column\": \"y\", \"validation_split\": 0},"
        " \"network\": {\"input\": [3], \"layers\": ["
        "   {\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 3}]},"
        " \"training\": {\"optimizer\": {\"type\": \"adam\", \"lr\": 0.05},"
        "   \"loss\": \"cross_entropy\", \"batch_size\": 8, \"epochs\": 30, \"seed\": 1},"
        " \"output\": {\"dir\": \"%s/runs\"}}",
        tr, rev, tmp);
    g_autofree char *exp = dn_test_write_file (tmp, "classes.json", exp_text, strlen (exp_text));
    g_auto (CliRun) t = {0};
    cli_run (&t, "train", exp, "--threads", "1", "--json", NULL);
    assert_exit (&t, 0);
    g_autofree char *model = g_build_filename (tmp, "runs", "classes", "best_model.safetensors",
                                               NULL);
    g_assert_cmpfloat (eval_accuracy (model, rev), ==, 100.0);
    g_assert_cmpfloat (eval_accuracy (model, tr), ==, 100.0);

    g_auto (CliRun) b = {0};
    cli_run (&b, "eval", model, "--data", bad, NULL);
    assert_exit (&b, 1);
    assert_has (b.err, "dendrite eval: ");
    assert_has (b.err, "bad.csv' line 32");
    assert_has (b.err, "'iris'");
    g_assert_cmpstr (b.out, ==, "");

    /* the same weights without the stored list: labels numbered per file, label last */
    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (model, dn_backend_cpu (), &meta, &error);
    g_assert_no_error (error);
    g_assert_true (g_hash_table_remove (meta, "dendrite_classes"));
    g_autofree char *legacy = g_build_filename (tmp, "legacy.safetensors", NULL);
    g_assert_true (dn_model_save (net, legacy, meta, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (eval_accuracy (legacy, lst), ==, 100.0);
    g_string_free (train, TRUE);
    g_string_free (reversed, TRUE);
    g_string_free (last, TRUE);
    dn_test_tmpdir_remove (tmp);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/cli/train/json-events", test_train_json);
    g_test_add_func ("/cli/train/deterministic", test_train_deterministic);
    g_test_add_func ("/cli/eval/csv-classes", test_eval_csv_classes);
    g_test_add_func ("/cli/train/run-folders", test_train_run_folders);
    g_test_add_func ("/cli/train/stop-before-first-epoch", test_train_stop_before_first_epoch);
    g_test_add_func ("/cli/e2e/mnist-cnn", test_e2e_mnist_cnn);
    g_test_add_func ("/cli/e2e/fashion-mnist", test_e2e_fashion_mnist);
    return g_test_run ();
}
