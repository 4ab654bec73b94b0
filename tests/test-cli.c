/* test-cli.c: the `dendrite` command, run as a user runs it.
 *
 * Every test spawns the real binary (its path comes from $DENDRITE_CLI, set
 * in tests/meson.build) and checks the exit status (0 success, 1 the run
 * failed, 2 usage), what went to stdout and what went to stderr. The
 * children run with LC_ALL=C so GLib's own messages are in English.
 *
 * Help, usage errors, failed runs and inspect are here; training through
 * the binary, run folders and the end-to-end runs on real data are in
 * test-cli-train.c.
 */
#include "dn-cli-test.h"

/* ---- help ----------------------------------------------------------------- */

static void test_help_top (void)
{
    static const char *const forms[] = {"--help", "-h", "help"};
    for (guint i = 0; i < G_N_ELEMENTS (forms); i++) {
        g_auto (CliRun) r = {0};
        cli_run (&r, forms[i], NULL);
        assert_exit (&r, 0);
        assert_has (r.out, "Usage: dendrite COMMAND");
        assert_has (r.out, "train");
        assert_has (r.out, "eval");
        assert_has (r.out, "inspect");
        assert_has (r.out, "--help");
        assert_has (r.out, "--version");
        g_assert_cmpstr (r.err, ==, "");
    }
    g_auto (CliRun) v = {0};
    cli_run (&v, "--version", NULL);
    assert_exit (&v, 0);
    g_assert_true (g_str_has_prefix (v.out, "dendrite "));
}

typedef struct {
    const char *path;
    const char *command;
    const char *options[10]; /* NULL-terminated */
} HelpCase;

static const HelpCase help_cases[] = {
    {"/cli/help/train",
     "train",
     {"EXPERIMENT", "--data", "--out", "--epochs", "--seed", "--threads", "--device", "--json"}},
    {"/cli/help/eval", "eval", {"MODEL", "--data", "--batch-size", "--threads", "--json"}},
    {"/cli/help/inspect", "inspect", {"MODEL", "EXPERIMENT"}},
};

static void test_help_command (gconstpointer data)
{
    const HelpCase *c = data;
    g_auto (CliRun) r = {0};
    cli_run (&r, c->command, "--help", NULL);
    assert_exit (&r, 0);
    g_assert_cmpstr (r.err, ==, "");
    for (int i = 0; c->options[i] != NULL; i++)
        assert_has (r.out, c->options[i]);
}

/* ---- usage errors: exit 2, usage on stderr, nothing on stdout -------------- */

typedef struct {
    const char *path;
    const char *args[8];  /* NULL-terminated */
    const char *fragment; /* must appear on stderr */
} UsageCase;

static const UsageCase usage_cases[] = {
    {"/cli/usage/no-command", {NULL}, "Usage: dendrite COMMAND"},
    {"/cli/usage/unknown-command", {"frobnicate", NULL}, "unknown command \"frobnicate\""},
    {"/cli/usage/unknown-option", {"train", "--frobnicate", "x.json", NULL}, "--frobnicate"},
    {"/cli/usage/epochs-not-a-number", {"train", "--epochs", "abc", "x.json", NULL}, "--epochs"},
    {"/cli/usage/epochs-negative", {"train", "--epochs", "-1", "x.json", NULL}, "--epochs"},
    {"/cli/usage/threads-negative", {"train", "--threads", "-3", "x.json", NULL}, "--threads"},
    {"/cli/usage/seed-negative", {"train", "--seed", "-5", "x.json", NULL}, "--seed"},
    {"/cli/usage/train-no-file", {"train", NULL}, "experiment file"},
    {"/cli/usage/train-two-files", {"train", "a.json", "b.json", NULL}, "only one"},
    {"/cli/usage/eval-no-file", {"eval", "--data", "d", NULL}, "model file"},
    {"/cli/usage/eval-no-data", {"eval", "m.safetensors", NULL}, "--data"},
    {"/cli/usage/eval-data-no-value", {"eval", "m.safetensors", "--data", NULL}, "--data"},
    {"/cli/usage/eval-batch-zero",
     {"eval", "m.safetensors", "--data", "d", "--batch-size", "0", NULL},
     "--batch-size"},
    {"/cli/usage/resume-and-overwrite",
     {"train", "--resume", "runs/x", "--overwrite", NULL},
     "give one of them"},
    {"/cli/usage/inspect-no-file", {"inspect", NULL}, "model or experiment file"},
    {"/cli/usage/inspect-unknown-option", {"inspect", "--json", "m", NULL}, "--json"},
};

static void test_usage (gconstpointer data)
{
    const UsageCase *c = data;
    g_auto (CliRun) r = {0};
    cli_runv (&r, c->args);
    assert_exit (&r, 2);
    g_assert_cmpstr (r.out, ==, "");
    assert_has (r.err, "Usage");
    assert_has (r.err, c->fragment);
}

/* ---- failed runs: exit 1, a message naming the file ----------------------- */

static void test_error_missing_experiment (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *path = g_build_filename (tmp, "no-such-experiment.json", NULL);
    g_autofree char *out = g_build_filename (tmp, "runs", NULL);
    g_auto (CliRun) r = {0};
    cli_run (&r, "train", path, "--out", out, "--json", NULL);
    assert_exit (&r, 1);
    g_assert_cmpstr (r.out, ==, "");
    assert_has (r.err, "dendrite train: ");
    assert_has (r.err, path);
    g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
    dn_test_tmpdir_remove (tmp);
}

static void test_error_corrupt_experiment (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    static const char text[] = "{\n  \"name\": \"broken\",\n  \"network\": {\"input\": [1, 28,\n";
    g_autofree char *path = dn_test_write_file (tmp, "broken.json", text, strlen (text));
    g_autofree char *out = g_build_filename (tmp, "runs", NULL);

    g_auto (CliRun) r = {0};
    cli_run (&r, "train", path, "--out", out, NULL);
    assert_exit (&r, 1);
    assert_no_success_claim (&r);
    assert_has (r.err, "dendrite train: ");
    assert_has (r.err, path);
    g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

    g_auto (CliRun) i = {0};
    cli_run (&i, "inspect", path, NULL);
    assert_exit (&i, 1);
    g_assert_cmpstr (i.out, ==, "");
    assert_has (i.err, "dendrite inspect: ");
    assert_has (i.err, path);
    dn_test_tmpdir_remove (tmp);
}

static void test_error_network_does_not_fit (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *data = mnist_dir ();
    g_autofree char *path = write_experiment (tmp, "examples/mlp.json", "cifar-shaped", data, 1);
    g_autofree char *text = NULL;
    g_file_get_contents (path, &text, NULL, NULL);
    g_autoptr (GRegex) re = g_regex_new ("\"input\"\\s*:\\s*\\[[^]]*\\]", 0, 0, NULL);
    g_autofree char *wrong =
        g_regex_replace_literal (re, text, -1, 0, "\"input\": [3, 32, 32]", 0, NULL);
    g_assert_cmpstr (wrong, !=, text);
    g_file_set_contents (path, wrong, -1, NULL);

    for (int json = 0; json < 2; json++) {
        g_auto (CliRun) r = {0};
        cli_run (&r, "train", path, json ? "--json" : "--threads", json ? NULL : "1", NULL);
        assert_exit (&r, 1);
        assert_no_success_claim (&r);
        assert_has (r.err, "dendrite train: ");
        assert_has (r.err, "(3, 32, 32)");
        assert_has (r.err, "(1, 28, 28)");
        assert_has (r.err, "mnist-10k"); /* the data file it does not fit */
        assert_has (r.err, "\"input\"");
    }
    /* The run folder may exist, but no model may pretend to be a result. */
    g_autofree char *model =
        g_build_filename (tmp, "runs", "cifar-shaped", "best_model.safetensors", NULL);
    g_assert_false (g_file_test (model, G_FILE_TEST_EXISTS));
    dn_test_tmpdir_remove (tmp);
}

static void test_error_corrupt_model (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *data = mnist_dir ();
    static const char cut_header[] = "\x10\0\0\0\0\0\0\0{\"a\":{\"dtype\":";
    static const struct {
        const char *bytes;
        gsize len;
    } bodies[] = {
        {"this is not a model at all", 0}, /* 0: strlen */
        {"{\"looks\": \"like json\"}", 0},
        {cut_header, sizeof cut_header - 1}, /* the header claims 16 bytes and has 14 */
    };
    for (guint i = 0; i < G_N_ELEMENTS (bodies); i++) {
        g_autofree char *name = g_strdup_printf ("corrupt-%u.safetensors", i);
        gsize len = bodies[i].len ? bodies[i].len : strlen (bodies[i].bytes);
        g_autofree char *path = dn_test_write_file (tmp, name, bodies[i].bytes, len);
        g_auto (CliRun) r = {0};
        cli_run (&r, "eval", path, "--data", data, "--json", NULL);
        assert_exit (&r, 1);
        g_assert_cmpstr (r.out, ==, "");
        assert_has (r.err, "dendrite eval: ");
        assert_has (r.err, path);

        g_auto (CliRun) s = {0};
        cli_run (&s, "inspect", path, NULL);
        assert_exit (&s, 1);
        assert_lacks (s.out, "total");
        assert_has (s.err, path);
    }
    dn_test_tmpdir_remove (tmp);
}

/* A continual model whose "dendrite_continual" metadata is damaged: `eval` names the
 * file and the member and exits 1, with no GLib critical on the way (made fatal). */
static void test_eval_continual_damaged (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    dn_test_write_idx (tmp, "t10k", 8, 28, 0);
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) desc = json_from_string (
        "{\"input\": [1, 28, 28], \"layers\": [{\"name\": \"flatten\", \"type\": \"flatten\"},"
        "{\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 10}]}",
        &error);
    g_assert_no_error (error);
    g_autoptr (DnNetwork) net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    static const struct {
        const char *meta, *needle;
    } cases[] = {
        {"{\"tasks\": \"2\", \"permutation_seed\": 1, \"context\": \"none\", \"prototypes\": []}",
         "\"tasks\" is \"2\" but must be a whole number from 1 to 1000"},
        {"{\"tasks\": 2, \"permutation_seed\": 1, \"context\": [], \"prototypes\": []}",
         "\"context\" is an array"},
        {"{\"tasks\": 2, \"permutation_seed\": 1, \"context\": \"prototype\", \"prototypes\": "
         "[[1], [2]]}",
         "prototype 0 is not an array of 784 numbers"},
    };
    g_setenv ("G_DEBUG", "fatal-criticals", TRUE);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (GHashTable) meta = g_hash_table_new (g_str_hash, g_str_equal);
        g_hash_table_insert (meta, (gpointer) "dendrite_normalize",
                             (gpointer) "{\"mean\": [0.1307], \"std\": [0.3081]}");
        g_hash_table_insert (meta, (gpointer) "dendrite_continual", (gpointer) cases[i].meta);
        g_autofree char *name = g_strdup_printf ("continual-%u.safetensors", i);
        g_autofree char *path = g_build_filename (tmp, name, NULL);
        g_assert_true (dn_model_save (net, path, meta, &error));
        g_assert_no_error (error);
        g_auto (CliRun) r = {0};
        cli_run (&r, "eval", path, "--data", tmp, NULL);
        assert_exit (&r, 1);
        assert_has (r.err, "dendrite eval: ");
        assert_has (r.err, path);
        assert_has (r.err, "dendrite_continual");
        assert_has (r.err, cases[i].needle);
        assert_lacks (r.err, "CRITICAL");
    }
    g_unsetenv ("G_DEBUG");
    dn_test_tmpdir_remove (tmp);
}

/* ---- inspect ---------------------------------------------------------------- */

static void test_inspect_experiment (void)
{
    g_autofree char *path = dn_test_data_path ("examples/mlp.json");
    g_auto (CliRun) r = {0};
    cli_run (&r, "inspect", path, NULL);
    assert_exit (&r, 0);
    assert_has (r.out, "experiment mlp");
    assert_mlp_table (r.out);

    g_autofree char *cnn = dn_test_data_path ("examples/mnist-cnn.json");
    g_auto (CliRun) c = {0};
    cli_run (&c, "inspect", cnn, NULL);
    assert_exit (&c, 0);
    g_autofree char *plain = without_commas (c.out);
    assert_has (plain, "conv2");
    assert_has (c.out, "(64, 12, 12)");
    assert_has (plain, "1199882");
}

/* --verbose says which kernels run and why. Only the reasons that do not depend on the
 * processor are asserted: a value in the environment, a choice handed down (whose
 * self-check runs in the child), a choice that failed its check. */
static void test_verbose_blas (void)
{
    g_autofree char *cnn = dn_test_data_path ("examples/mnist-cnn.json");
    g_autofree char *saved = g_strdup (g_getenv ("OPENBLAS_CORETYPE"));
    g_unsetenv ("DN_KEEP_BLAS_CORE");
    g_unsetenv ("DN_BLAS_ORIGINAL");

    g_setenv ("OPENBLAS_CORETYPE", "Haswell", TRUE);
    g_auto (CliRun) r = {0};
    cli_run (&r, "inspect", cnn, "--verbose", NULL);
    assert_exit (&r, 0);
    assert_has (r.err, "dendrite inspect: OpenBLAS kernels ");
    assert_has (r.err, "OPENBLAS_CORETYPE is set in the environment, and a value set there stands");

    /* as a parent dendrite hands its choice down: the child checks it again */
    g_setenv ("OPENBLAS_CORETYPE", "Prescott", TRUE);
    g_setenv ("DN_BLAS_CHOSEN", "Prescott", TRUE);
    g_auto (CliRun) c = {0};
    cli_run (&c, "inspect", cnn, "-v", NULL);
    assert_exit (&c, 0);
    assert_has (c.err, "self-check passed");
    g_unsetenv ("DN_BLAS_CHOSEN");

    g_unsetenv ("OPENBLAS_CORETYPE");
    g_setenv ("DN_BLAS_REJECTED", "SkylakeX: sgemm 7×5×3 (AB) gave 1 at row 0, column 0", TRUE);
    g_auto (CliRun) f = {0};
    cli_run (&f, "inspect", cnn, "--verbose", NULL);
    assert_exit (&f, 0);
    assert_has (f.err, "OpenBLAS's own choice: the kernels chosen instead failed a self-check "
                       "(SkylakeX: sgemm 7×5×3 (AB) gave 1 at row 0, column 0)");
    g_unsetenv ("DN_BLAS_REJECTED");

    g_setenv ("OPENBLAS_CORETYPE", "Haswell", TRUE);
    g_auto (CliRun) b = {0};
    cli_run (&b, "--verbose", "inspect", cnn, NULL);
    assert_exit (&b, 0);
    assert_has (b.err, "dendrite inspect: OpenBLAS kernels ");
    assert_has (b.out, "conv2");
    g_unsetenv ("OPENBLAS_CORETYPE");

    g_auto (CliRun) q = {0};
    cli_run (&q, "inspect", cnn, NULL);
    assert_exit (&q, 0);
    g_assert_null (strstr (q.err, "OpenBLAS"));
    if (saved != NULL)
        g_setenv ("OPENBLAS_CORETYPE", saved, TRUE);
}

static void test_inspect_missing (void)
{
    g_auto (CliRun) r = {0};
    cli_run (&r, "inspect", "/nonexistent/model.safetensors", NULL);
    assert_exit (&r, 1);
    g_assert_cmpstr (r.out, ==, "");
    assert_has (r.err, "/nonexistent/model.safetensors");
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/cli/help/top", test_help_top);
    for (guint i = 0; i < G_N_ELEMENTS (help_cases); i++)
        g_test_add_data_func (help_cases[i].path, &help_cases[i], test_help_command);
    for (guint i = 0; i < G_N_ELEMENTS (usage_cases); i++)
        g_test_add_data_func (usage_cases[i].path, &usage_cases[i], test_usage);
    g_test_add_func ("/cli/error/missing-experiment", test_error_missing_experiment);
    g_test_add_func ("/cli/error/corrupt-experiment", test_error_corrupt_experiment);
    g_test_add_func ("/cli/error/network-does-not-fit", test_error_network_does_not_fit);
    g_test_add_func ("/cli/error/corrupt-model", test_error_corrupt_model);
    g_test_add_func ("/cli/eval/continual-damaged", test_eval_continual_damaged);
    g_test_add_func ("/cli/inspect/experiment", test_inspect_experiment);
    g_test_add_func ("/cli/inspect/missing", test_inspect_missing);
    g_test_add_func ("/cli/verbose/blas", test_verbose_blas);
    return g_test_run ();
}
