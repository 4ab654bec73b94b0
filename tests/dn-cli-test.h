/* dn-cli-test.h: what the CLI tests share: running the real `dendrite` binary
 * (its path from $DENDRITE_CLI) with LC_ALL=C, checking its exit status and
 * output, reading its JSON events, and writing experiments for it. */
#pragma once

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

static inline void cli_run_clear (CliRun *r)
{
    g_clear_pointer (&r->cmdline, g_free);
    g_clear_pointer (&r->out, g_free);
    g_clear_pointer (&r->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliRun, cli_run_clear)

/* Runs dendrite with args (NULL-terminated) and waits for it. */
static inline void cli_runv (CliRun *r, const char *const *args)
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

static inline void cli_run (CliRun *r, const char *first, ...) G_GNUC_NULL_TERMINATED;
static inline void cli_run (CliRun *r, const char *first, ...)
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
static inline void assert_exit_impl (const char *file, int line, const CliRun *r, int code)
{
    if (r->status == code)
        return;
    g_autofree char *msg =
        g_strdup_printf ("`%s` exited with %d, expected %d\n--- stdout:\n%s\n--- stderr:\n%s",
                         r->cmdline, r->status, code, r->out, r->err);
    g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, msg);
}

#define assert_has(text, fragment) assert_has_impl (__FILE__, __LINE__, #text, (text), (fragment))
static inline void assert_has_impl (const char *file, int line, const char *what, const char *text,
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
static inline void assert_lacks_impl (const char *file, int line, const char *what, const char *text,
                               const char *fragment)
{
    if (text == NULL || strstr (text, fragment) == NULL)
        return;
    g_autofree char *msg =
        g_strdup_printf ("%s contains \"%s\" but should not; it is:\n%s", what, fragment, text);
    g_assertion_message (G_LOG_DOMAIN, file, line, G_STRFUNC, msg);
}

/* A failed run may log progress, but nothing that reads as a result. */
static inline void assert_no_success_claim (const CliRun *r)
{
    assert_lacks (r->out, "\"done\"");
    assert_lacks (r->out, "\"epoch\"");
    assert_lacks (r->out, "done:");
    assert_lacks (r->out, "best model");
    assert_lacks (r->out, "accuracy");
}

/* ---- JSON output ---------------------------------------------------------- */

/* Every line of text must be a JSON object with a string "event"; returns them in order. */
static inline GPtrArray *parse_json_lines (const char *text)
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
static inline double num (JsonObject *o, const char *key)
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

static inline void train_report_clear (TrainReport *t)
{
    g_clear_pointer (&t->epochs, g_ptr_array_unref);
    g_clear_pointer (&t->done, json_object_unref);
    g_clear_pointer (&t->model, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (TrainReport, train_report_clear)

/* Checks the event stream of a successful run of n_epochs epochs: log lines, one
 * start, batches, an epoch event per epoch with all its fields, and done last. */
static inline void read_train_report (const char *out, int n_epochs, TrainReport *t)
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
static inline void check_eval_reproduces (const TrainReport *t, const char *data, int test_samples)
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
static inline char *write_experiment (const char *dir, const char *example, const char *name,
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

static inline char *mnist_dir (void)
{
    return dn_test_data_path ("datasets/mnist-10k");
}

/* stdout with thousands separators removed, so counts compare in any locale */
static inline char *without_commas (const char *s)
{
    GString *g = g_string_new (NULL);
    for (; *s; s++)
        if (*s != ',')
            g_string_append_c (g, *s);
    return g_string_free (g, FALSE);
}

static inline void assert_mlp_table (const char *out)
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
