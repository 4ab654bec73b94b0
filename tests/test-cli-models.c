/* test-cli-models.c: trained models brought back through the `dendrite` binary:
 * `train --init MODEL` (a matching network, a mismatch named, dendrites grown on a
 * pretrained network) and `eval --confusion FILE.csv`. */
#include "dn-test-util.h"

#include <math.h>
#include <string.h>
#include <sys/wait.h>

typedef struct {
    int status;
    char *out, *err;
} Run;

static void run_clear (Run *r)
{
    g_clear_pointer (&r->out, g_free);
    g_clear_pointer (&r->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Run, run_clear)

static void cli (Run *r, const char *first, ...) G_GNUC_NULL_TERMINATED;
static void cli (Run *r, const char *first, ...)
{
    const char *bin = g_getenv ("DENDRITE_CLI");
    g_assert_nonnull (bin); /* set by tests/meson.build */
    g_autoptr (GPtrArray) argv = g_ptr_array_new ();
    g_ptr_array_add (argv, (char *) bin);
    va_list ap;
    va_start (ap, first);
    for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
        g_ptr_array_add (argv, (char *) a);
    va_end (ap);
    g_ptr_array_add (argv, NULL);
    g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "LC_ALL", "C", TRUE);
    g_autofree char *cmdline = g_strjoinv (" ", (char **) argv->pdata);
    g_test_message ("running %s", cmdline);
    run_clear (r);
    int wait_status = 0;
    g_autoptr (GError) error = NULL;
    g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &r->out, &r->err,
                  &wait_status, &error);
    g_assert_no_error (error);
    r->status = WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
    if (r->status != 0)
        g_test_message ("exit %d; stderr: %s", r->status, r->err);
}

/* examples/mlp-dendrites.json named `name`, reading the MNIST sample, writing to
 * tmp/runs; without its dendrites section unless `dendrites`; lr and the width of
 * fc1 changed when > 0; `extra_layer` appends a layer fc3. */
static char *experiment (const char *tmp, const char *name, gboolean dendrites, double lr,
                         int width, gboolean extra_layer)
{
    g_autofree char *src = dn_test_data_path ("examples/mlp-dendrites.json");
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_file (p, src, &error);
    g_assert_no_error (error);
    JsonObject *root = json_node_get_object (json_parser_get_root (p));
    json_object_set_string_member (root, "name", name);
    g_autofree char *data = dn_test_data_path ("datasets/mnist-10k");
    json_object_set_string_member (json_object_get_object_member (root, "data"), "path", data);
    g_autofree char *out = g_build_filename (tmp, "runs", NULL);
    json_object_set_string_member (json_object_get_object_member (root, "output"), "dir", out);
    if (!dendrites)
        json_object_remove_member (root, "dendrites");
    JsonObject *training = json_object_get_object_member (root, "training");
    if (lr > 0)
        json_object_set_double_member (json_object_get_object_member (training, "optimizer"),
                                       "lr", lr);
    JsonArray *layers =
        json_object_get_array_member (json_object_get_object_member (root, "network"), "layers");
    if (width > 0)
        json_object_set_int_member (json_array_get_object_element (layers, 1), "out_features",
                                    width);
    if (extra_layer) {
        JsonObject *fc3 = json_object_new ();
        json_object_set_string_member (fc3, "name", "fc3");
        json_object_set_string_member (fc3, "type", "linear");
        json_object_set_int_member (fc3, "out_features", 10);
        json_array_add_object_element (layers, fc3);
    }
    g_autoptr (JsonGenerator) gen = json_generator_new ();
    json_generator_set_root (gen, json_parser_get_root (p));
    g_autofree char *file = g_strconcat (name, ".json", NULL);
    char *path = g_build_filename (tmp, file, NULL);
    json_generator_to_file (gen, path, &error);
    g_assert_no_error (error);
    return path;
}

static double eval_accuracy (const char *model)
{
    g_autofree char *data = dn_test_data_path ("datasets/mnist-10k");
    g_auto (Run) r = {0};
    cli (&r, "eval", model, "--data", data, "--threads", "1", "--json", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_autoptr (JsonObject) o = dn_test_json_object (r.out);
    return json_object_get_double_member (o, "accuracy");
}

/* A model trained for one epoch, as tmp/runs/plain/best_model.safetensors. */
static char *trained_model (const char *tmp)
{
    g_autofree char *exp = experiment (tmp, "plain", FALSE, 0, 0, FALSE);
    g_auto (Run) r = {0};
    cli (&r, "train", exp, "--epochs", "1", "--threads", "1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    char *model = g_build_filename (tmp, "runs", "plain", "best_model.safetensors", NULL);
    g_assert_true (g_file_test (model, G_FILE_TEST_EXISTS));
    return model;
}

/* With a learning rate too small to move anything, a run started from the model
 * scores what the model scores; started from random weights it does not. */
static void test_init_match (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *model = trained_model (tmp);
    double trained = eval_accuracy (model);
    g_assert_cmpfloat (trained, >, 50);
    g_autofree char *exp = experiment (tmp, "still", FALSE, 1e-9, 0, FALSE);
    g_auto (Run) r = {0};
    cli (&r, "train", exp, "--epochs", "1", "--threads", "1", "--init", model, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "weights from"));
    g_autofree char *kept = g_build_filename (tmp, "runs", "still", "best_model.safetensors", NULL);
    g_assert_cmpfloat (eval_accuracy (kept), ==, trained);
    cli (&r, "train", exp, "--epochs", "1", "--threads", "1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_autofree char *fresh =
        g_build_filename (tmp, "runs", "still-2", "best_model.safetensors", NULL);
    g_assert_cmpfloat (eval_accuracy (fresh), <, trained - 20);
    dn_test_tmpdir_remove (tmp);
}

/* A network that differs is refused with the first difference named, and nothing
 * is trained. */
static void test_init_mismatch (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *model = trained_model (tmp);
    g_autofree char *narrow = experiment (tmp, "narrow", FALSE, 0, 16, FALSE);
    g_auto (Run) r = {0};
    cli (&r, "train", narrow, "--epochs", "1", "--threads", "1", "--init", model, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "does not match the experiment's network"));
    g_assert_nonnull (strstr (r.err, "\"fc1.weight\" of layer 'fc1' is (16, 784) in the network "
                                     "but (32, 784) in the model"));
    g_autofree char *narrow_model =
        g_build_filename (tmp, "runs", "narrow", "latest.safetensors", NULL);
    g_assert_false (g_file_test (narrow_model, G_FILE_TEST_EXISTS));
    g_autofree char *deeper = experiment (tmp, "deeper", FALSE, 0, 0, TRUE);
    cli (&r, "train", deeper, "--epochs", "1", "--threads", "1", "--init", model, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "layer 'fc3' needs \"fc3.weight\" but the model has no such "
                                     "tensor"));
    /* --init and --resume contradict each other */
    g_autofree char *plain_dir = g_build_filename (tmp, "runs", "plain", NULL);
    cli (&r, "train", "--resume", plain_dir, "--init", model, NULL);
    g_assert_cmpint (r.status, ==, 2);
    g_assert_nonnull (strstr (r.err, "--init"));
    dn_test_tmpdir_remove (tmp);
}

/* Dendrites on a pretrained network: the model's layers become the neuron modules of
 * the dendritic run, which starts where the model is. */
static void test_init_dendrites (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *model = trained_model (tmp);
    double trained = eval_accuracy (model);
    g_autofree char *exp = experiment (tmp, "grown", TRUE, 1e-9, 0, FALSE);
    g_auto (Run) r = {0};
    cli (&r, "train", exp, "--epochs", "2", "--threads", "1", "--init", model, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "its neurons start the dendritic run"));
    g_autofree char *kept = g_build_filename (tmp, "runs", "grown", "best_model.safetensors", NULL);
    g_assert_cmpfloat (eval_accuracy (kept), ==, trained);
    cli (&r, "inspect", kept, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "2 neuron modules with 0 dendrite sets"));
    /* a continual experiment cannot start from a model */
    g_autofree char *cont = dn_test_data_path ("examples/continual/prototype_2.json");
    g_autofree char *out = g_build_filename (tmp, "continual", NULL);
    cli (&r, "train", cont, "--epochs", "1", "--out", out, "--init", model, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "continual run"));
    dn_test_tmpdir_remove (tmp);
}

/* The confusion matrix adds up to the samples, its diagonal to the accuracy printed. */
static void test_eval_confusion (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *model = trained_model (tmp);
    g_autofree char *data = dn_test_data_path ("datasets/mnist-10k");
    g_autofree char *csv = g_build_filename (tmp, "confusion.csv", NULL);
    g_auto (Run) r = {0};
    cli (&r, "eval", model, "--data", data, "--threads", "1", "--json", "--confusion", csv, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_autoptr (JsonObject) o = dn_test_json_object (r.out);
    double acc = json_object_get_double_member (o, "accuracy");
    gint64 samples = json_object_get_int_member (o, "samples");
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
    g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 12); /* header, 10 classes, "" */
    g_assert_cmpstr (lines[0], ==,
                     "class,pred_0,pred_1,pred_2,pred_3,pred_4,pred_5,pred_6,pred_7,pred_8,"
                     "pred_9,support,recall,precision");
    gint64 total = 0, diagonal = 0;
    for (int k = 0; k < 10; k++) {
        g_auto (GStrv) f = g_strsplit (lines[k + 1], ",", -1);
        g_assert_cmpuint (g_strv_length (f), ==, 14);
        gint64 row = 0;
        for (int p = 0; p < 10; p++)
            row += g_ascii_strtoll (f[p + 1], NULL, 10);
        g_assert_cmpint (row, ==, g_ascii_strtoll (f[11], NULL, 10));
        diagonal += g_ascii_strtoll (f[k + 1], NULL, 10);
        total += row;
    }
    g_assert_cmpint (total, ==, samples);
    g_assert_cmpfloat (100.0 * diagonal / total, ==, acc);
    /* a folder that is not there is named */
    g_autofree char *nowhere = g_build_filename (tmp, "missing", "c.csv", NULL);
    cli (&r, "eval", model, "--data", data, "--confusion", nowhere, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "missing"));
    dn_test_tmpdir_remove (tmp);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/cli/init/match", test_init_match);
    g_test_add_func ("/cli/init/mismatch", test_init_mismatch);
    g_test_add_func ("/cli/init/dendrites", test_init_dendrites);
    g_test_add_func ("/cli/eval/confusion", test_eval_confusion);
    return g_test_run ();
}
