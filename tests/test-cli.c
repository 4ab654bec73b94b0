/* test-cli.c: the `dendrite` command, run as a user runs it.
 *
 * Every test spawns the real binary (its path comes from $DENDRITE_CLI, set
 * in tests/meson.build) and checks the exit status (0 success, 1 the run
 * failed, 2 usage), what went to stdout and what went to stderr. The
 * children run with LC_ALL=C so GLib's own messages are in English.
 *
 * The /cli/e2e/ tests train real networks on real data (the bundled MNIST
 * sample, full Fashion-MNIST when installed) and hold them to accuracy
 * floors; they are the slow part of the suite.
 */
#include "dn-model.h"
#include "dn-run-dir.h"
#include "dn-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Where Fashion-MNIST is installed; $DN_FASHION_MNIST_DIR overrides. */
#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* ---- running the binary ------------------------------------------------- */

typedef struct {
    char *cmdline; /* for failure messages */
    int status;    /* exit status; -1 when a signal ended the process */
    char *out, *err;
} CliRun;

static void cli_run_clear (CliRun *r)
{
    g_clear_pointer (&r->cmdline, g_free);
    g_clear_pointer (&r->out, g_free);
    g_clear_pointer (&r->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliRun, cli_run_clear)

/* Runs dendrite with args (NULL-terminated) and waits for it. */
static void cli_runv (CliRun *r, const char *const *args)
{
    const char *bin = g_getenv ("DENDRITE_CLI");
    g_assert_nonnull (bin); /* set by tests/meson.build */
    g_autoptr (GPtrArray) argv = g_ptr_array_new ();
    g_ptr_array_add (argv, (char *) bin);
    for (int i = 0; args[i] != NULL; i++)
        g_ptr_array_add (argv, (char *) args[i]);
    g_ptr_array_add (argv, NULL);
    g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "LC_ALL", "C", TRUE);

    cli_run_clear (r);
    r->cmdline = g_strjoinv (" ", (char **) argv->pdata);
    g_test_message ("running %s", r->cmdline);
    g_autoptr (GError) error = NULL;
    int wait_status = 0;
    gboolean ok = g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL,
                                &r->out, &r->err, &wait_status, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
    r->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
}

static void cli_run (CliRun *r, const char *first, ...) G_GNUC_NULL_TERMINATED;
static void cli_run (CliRun *r, const char *first, ...)
{
    g_autoptr (GPtrArray) args = g_ptr_array_new ();
    va_list ap;
    va_start (ap, first);
    for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
        g_ptr_array_add (args, (char *) a);
    va_end (ap);
    g_ptr_array_add (args, NULL);
    cli_runv (r, (const char *const *) args->pdata);
}

#define assert_exit(r, code) assert_exit_impl (__FILE__, __LINE__, (r), (code))
static void assert_exit_impl (const char *file, int line, const CliRun *r, int code)
{
    if (r->status == code)
        return;
    g_autofree char *msg =
        g_strdup_printf ("`%s` exited with %d, expected %d\n--- stdout:\n%s\n--- stderr:\n%s",
                         r->cmdline, r->status, code, r->out, r->err);
    g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, msg);
}

#define assert_has(text, fragment) assert_has_impl (__FILE__, __LINE__, #text, (text), (fragment))
static void assert_has_impl (const char *file, int line, const char *what, const char *text,
                             const char *fragment)
{
    if (text != NULL && strstr (text, fragment) != NULL)
        return;
    g_autofree char *msg =
        g_strdup_printf ("%s does not contain \"%s\"; it is:\n%s", what, fragment, text);
    g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, msg);
}

#define assert_lacks(text, fragment)                                                               \
    assert_lacks_impl (__FILE__, __LINE__, #text, (text), (fragment))
static void assert_lacks_impl (const char *file, int line, const char *what, const char *text,
                               const char *fragment)
{
    if (text == NULL || strstr (text, fragment) == NULL)
        return;
    g_autofree char *msg =
        g_strdup_printf ("%s contains \"%s\" but should not; it is:\n%s", what, fragment, text);
    g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, msg);
}

/* A failed run may log progress, but nothing that reads as a result. */
static void assert_no_success_claim (const CliRun *r)
{
    assert_lacks (r->out, "\"done\"");
    assert_lacks (r->out, "\"epoch\"");
    assert_lacks (r->out, "done:");
    assert_lacks (r->out, "best model");
    assert_lacks (r->out, "accuracy");
}

/* ---- JSON output ---------------------------------------------------------- */

/* Every line of text must be a JSON object with a string "event"; returns them in order. */
static GPtrArray *parse_json_lines (const char *text)
{
    GPtrArray *objs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    for (int i = 0; lines[i] != NULL; i++) {
        if (lines[i][0] == '\0' && lines[i + 1] == NULL)
            break; /* after the final newline */
        g_autoptr (JsonParser) parser = json_parser_new ();
        g_autoptr (GError) error = NULL;
        if (!json_parser_load_from_data (parser, lines[i], -1, &error))
            g_error ("stdout line %d is not JSON (%s): %s", i + 1, error->message, lines[i]);
        JsonNode *root = json_parser_get_root (parser);
        if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
            g_error ("stdout line %d is not a JSON object: %s", i + 1, lines[i]);
        JsonObject *o = json_node_get_object (root);
        JsonNode *ev = json_object_get_member (o, "event");
        if (ev == NULL || json_node_get_value_type (ev) != G_TYPE_STRING)
            g_error ("stdout line %d has no string \"event\": %s", i + 1, lines[i]);
        g_ptr_array_add (objs, json_object_ref (o));
    }
    return objs;
}

static const char *event_kind (JsonObject *o)
{
    return json_object_get_string_member (o, "event");
}

/* A member that must be a number (not null, not missing). */
static double num (JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member (o, key);
    if (n == NULL || !JSON_NODE_HOLDS_VALUE (n))
        g_error ("\"%s\" event: \"%s\" is missing or not a number", event_kind (o), key);
    GType t = json_node_get_value_type (n);
    if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
        g_error ("\"%s\" event: \"%s\" is a %s, not a number", event_kind (o), key,
                 g_type_name (t));
    return json_node_get_double (n);
}

/* What a `train --json` run reported, checked for shape on the way. */
typedef struct {
    GPtrArray *epochs; /* the "epoch" events, JsonObject */
    JsonObject *done;
    double best_val, test_at_best_val;
    int best_epoch;
    char *model;
} TrainReport;

static void train_report_clear (TrainReport *t)
{
    g_clear_pointer (&t->epochs, g_ptr_array_unref);
    g_clear_pointer (&t->done, json_object_unref);
    g_clear_pointer (&t->model, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrainReport, train_report_clear)

/* Checks the event stream of a successful run of n_epochs epochs: log lines, one
 * start, batches, an epoch event per epoch with all its fields, and done last. */
static void read_train_report (const char *out, int n_epochs, TrainReport *t)
{
    g_autoptr (GPtrArray) objs = parse_json_lines (out);
    g_assert_cmpuint (objs->len, >=, 3);
    t->epochs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
    gboolean started = FALSE;
    for (guint i = 0; i < objs->len; i++) {
        JsonObject *o = objs->pdata[i];
        const char *kind = event_kind (o);
        gboolean last = i + 1 == objs->len;
        if (g_str_equal (kind, "log")) {
            g_assert_nonnull (json_object_get_string_member (o, "message"));
        } else if (g_str_equal (kind, "start")) {
            g_assert_false (started);
            started = TRUE;
            g_assert_cmpfloat (num (o, "epochs"), ==, n_epochs);
            g_assert_cmpfloat (num (o, "params"), >, 0);
        } else if (g_str_equal (kind, "batch")) {
            g_assert_true (started);
            g_assert_cmpfloat (num (o, "epoch"), ==, t->epochs->len + 1);
            g_assert_true (isfinite (num (o, "loss")));
        } else if (g_str_equal (kind, "epoch")) {
            g_assert_true (started);
            g_assert_cmpfloat (num (o, "epoch"), ==, t->epochs->len + 1);
            double loss = num (o, "loss"), val = num (o, "val"), test = num (o, "test");
            g_assert_true (isfinite (loss) && loss > 0);
            g_assert_cmpfloat (val, >=, 0);
            g_assert_cmpfloat (val, <=, 100);
            g_assert_cmpfloat (test, >=, 0);
            g_assert_cmpfloat (test, <=, 100);
            g_assert_cmpfloat (num (o, "lr"), >, 0);
            g_assert_cmpfloat (num (o, "seconds"), >=, 0);
            g_assert_cmpfloat (num (o, "samples_per_s"), >, 0);
            g_ptr_array_add (t->epochs, json_object_ref (o));
        } else if (g_str_equal (kind, "done")) {
            g_assert_true (last);
        } else {
            g_error ("unexpected event \"%s\"", kind);
        }
    }
    JsonObject *done = objs->pdata[objs->len - 1];
    g_assert_cmpstr (event_kind (done), ==, "done");
    g_assert_cmpuint (t->epochs->len, ==, n_epochs);
    t->done = json_object_ref (done);
    t->best_val = num (done, "best_val");
    t->test_at_best_val = num (done, "test_at_best_val");
    t->best_epoch = (int) num (done, "best_epoch");
    g_assert_cmpfloat (num (done, "params"), >, 0);
    g_assert_cmpfloat (num (done, "seconds"), >=, 0);
    g_assert_false (json_object_get_boolean_member (done, "cancelled"));
    t->model = g_strdup (json_object_get_string_member (done, "model"));
    g_assert_nonnull (t->model);
    g_assert_true (g_file_test (t->model, G_FILE_TEST_IS_REGULAR));

    /* done restates the best epoch's scores */
    g_assert_cmpint (t->best_epoch, >=, 1);
    g_assert_cmpint (t->best_epoch, <=, n_epochs);
    JsonObject *best = t->epochs->pdata[t->best_epoch - 1];
    g_assert_cmpfloat (t->best_val, ==, num (best, "val"));
    g_assert_cmpfloat (t->test_at_best_val, ==, num (best, "test"));
}

/* `eval MODEL --data DIR --json` must print exactly one object and reproduce the
 * accuracy and loss the training run measured on the same test set. */
static void check_eval_reproduces (const TrainReport *t, const char *data, int test_samples)
{
    g_auto (CliRun) r = {0};
    cli_run (&r, "eval", t->model, "--data", data, "--threads", "2", "--json", NULL);
    assert_exit (&r, 0);
    assert_lacks (r.err, "warning");
    g_auto (GStrv) split = g_strsplit (g_strchomp (r.out), "\n", -1);
    g_assert_cmpuint (g_strv_length (split), ==, 1);
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, split[0], -1, &error);
    g_assert_no_error (error);
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));
    g_assert_nonnull (o);
    double acc = num (o, "accuracy"), loss = num (o, "loss");
    g_assert_cmpfloat (num (o, "samples"), ==, test_samples);

    /* The best model was saved at the best epoch: same predictions, same scores. */
    JsonObject *best = t->epochs->pdata[t->best_epoch - 1];
    g_test_message ("eval: accuracy %.4f %%, loss %.6f; training run at epoch %d: %.4f %%, %.6f",
                    acc, loss, t->best_epoch, t->test_at_best_val, num (best, "test_loss"));
    g_assert_cmpfloat_with_epsilon (acc, t->test_at_best_val, 1e-9);
    /* eval batches by 256, training by 64: the mean loss may differ in rounding only */
    g_assert_cmpfloat_with_epsilon (loss, num (best, "test_loss"), 1e-6 * fabs (loss) + 1e-9);
}

/* Copies an example experiment into dir as NAME.json with its data, epochs and
 * output folder replaced; returns the new file's path. */
static char *write_experiment (const char *dir, const char *example, const char *name,
                               const char *data, int epochs)
{
    g_autofree char *src = dn_test_data_path (example);
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_file (parser, src, &error);
    g_assert_no_error (error);
    JsonObject *root = json_node_get_object (json_parser_get_root (parser));
    json_object_set_string_member (root, "name", name);
    json_object_set_string_member (json_object_get_object_member (root, "data"), "path", data);
    json_object_set_int_member (json_object_get_object_member (root, "training"), "epochs", epochs);
    g_autofree char *out = g_build_filename (dir, "runs", NULL);
    json_object_set_string_member (json_object_get_object_member (root, "output"), "dir", out);

    g_autoptr (JsonGenerator) gen = json_generator_new ();
    json_generator_set_root (gen, json_parser_get_root (parser));
    json_generator_set_pretty (gen, TRUE);
    g_autofree char *file = g_strconcat (name, ".json", NULL);
    char *path = g_build_filename (dir, file, NULL);
    json_generator_to_file (gen, path, &error);
    g_assert_no_error (error);
    return path;
}

static char *mnist_dir (void)
{
    return dn_test_data_path ("datasets/mnist-10k");
}

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

/* stdout with thousands separators removed, so counts compare in any locale */
static char *without_commas (const char *s)
{
    GString *g = g_string_new (NULL);
    for (; *s; s++)
        if (*s != ',')
            g_string_append_c (g, *s);
    return g_string_free (g, FALSE);
}

static void assert_mlp_table (const char *out)
{
    g_autofree char *plain = without_commas (out);
    assert_has (plain, "name");
    assert_has (plain, "parameters");
    assert_has (plain, "flatten");
    assert_has (plain, "784 → 256");
    assert_has (plain, "fc1");
    assert_has (plain, "200960"); /* 784 * 256 + 256 */
    assert_has (plain, "relu1");
    assert_has (plain, "fc2");
    assert_has (plain, "2570");
    assert_has (plain, "total trainable parameters");
    assert_has (plain, "203530");
}

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
    g_test_add_func ("/cli/train/json-events", test_train_json);
    g_test_add_func ("/cli/train/deterministic", test_train_deterministic);
    g_test_add_func ("/cli/eval/csv-classes", test_eval_csv_classes);
    g_test_add_func ("/cli/train/run-folders", test_train_run_folders);
    g_test_add_func ("/cli/train/stop-before-first-epoch", test_train_stop_before_first_epoch);
    g_test_add_func ("/cli/e2e/mnist-cnn", test_e2e_mnist_cnn);
    g_test_add_func ("/cli/e2e/fashion-mnist", test_e2e_fashion_mnist);
    return g_test_run ();
}
