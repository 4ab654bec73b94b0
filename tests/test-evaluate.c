/* test-evaluate.c: what a network predicts against what is true (dn_evaluate_confusion,
 * the confusion CSV), and run folders read back (dn_run_summary). */
#include "dn-confusion-files.h"
#include "dn-error.h"
#include "dn-run-summary.h"
#include "dn-run-writer.h"
#include "dn-run.h"
#include "dn-test-util.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* A 2 -> 2 linear layer with the identity as weights predicts the larger feature. */
static DnNetwork *identity_net (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) desc = json_from_string (
        "{\"input\": [2], \"layers\": [{\"name\": \"fc\", \"type\": \"linear\", "
        "\"out_features\": 2}]}",
        &error);
    g_assert_no_error (error);
    DnNetwork *net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_autoptr (GPtrArray) params = dn_network_named_params (net);
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = params->pdata[i];
        float w[4] = {1, 0, 0, 1};
        float zero[2] = {0, 0};
        size_t n = (size_t) dn_shape_numel (&np->param->shape);
        net->backend->upload (net->backend, np->param->value,
                              g_str_has_suffix (np->name, ".weight") ? w : zero,
                              n * sizeof (float));
    }
    return net;
}

/* Six samples: three of class 0 predicted 0, two of class 1 predicted 1, one of class 1
 * predicted 0. */
static DnDataset *six_samples (const char *dir)
{
    static const char csv[] = "a,b,label\n1,0,0\n1,0,0\n1,0,0\n0,1,1\n0,1,1\n1,0,1\n";
    g_autofree char *path = dn_test_write_file (dir, "six.csv", csv, sizeof csv - 1);
    DnCsvOptions opts;
    dn_csv_options_init (&opts);
    g_autoptr (GError) error = NULL;
    DnDataset *d = dn_dataset_load_csv (path, &opts, &error);
    g_assert_no_error (error);
    return d;
}

static void test_confusion (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (DnNetwork) net = identity_net ();
    g_autoptr (DnDataset) data = six_samples (tmp);
    DnNormalize norm = {.n_channels = 1, .mean = {0.0f}, .std = {1.0f}};
    double acc = 0, loss = 0;
    g_autoptr (DnConfusion) c = NULL;
    g_autoptr (GError) error = NULL;
    /* a batch of 4 splits the data: the tally goes on across batches */
    g_assert_true (dn_evaluate_confusion (net, data, &norm, DN_LOSS_CROSS_ENTROPY, 4, &acc, &loss,
                                          &c, &error));
    g_assert_no_error (error);
    g_assert_nonnull (c);
    g_assert_cmpint (c->n_classes, ==, 2);
    g_assert_cmpint (c->total, ==, 6);
    g_assert_cmpint (dn_confusion_at (c, 0, 0), ==, 3);
    g_assert_cmpint (dn_confusion_at (c, 0, 1), ==, 0);
    g_assert_cmpint (dn_confusion_at (c, 1, 0), ==, 1);
    g_assert_cmpint (dn_confusion_at (c, 1, 1), ==, 2);
    g_assert_cmpfloat_with_epsilon (dn_confusion_precision (c, 0), 0.75, 1e-12);
    g_assert_cmpfloat_with_epsilon (dn_confusion_precision (c, 1), 1.0, 1e-12);
    g_assert_cmpfloat_with_epsilon (dn_confusion_recall (c, 0), 1.0, 1e-12);
    g_assert_cmpfloat_with_epsilon (dn_confusion_recall (c, 1), 2.0 / 3.0, 1e-12);
    /* the matrix agrees with the accuracy dn_evaluate reports */
    g_assert_cmpfloat (dn_confusion_accuracy (c), ==, acc);
    double acc2 = 0, loss2 = 0;
    g_assert_true (dn_evaluate (net, data, &norm, DN_LOSS_CROSS_ENTROPY, 4, &acc2, &loss2, &error));
    g_assert_cmpfloat (acc2, ==, acc);
    g_assert_cmpfloat (loss2, ==, loss);

    g_autofree char *text = dn_confusion_csv (c, NULL);
    g_assert_cmpstr (text, ==,
                     "class,pred_0,pred_1,support,recall,precision\n"
                     "0,3,0,3,1.0,0.75\n"
                     "1,1,2,3,0.6666666666666666,1.0\n");
    static const char *const names[] = {"cat", "dog, big", NULL};
    g_autofree char *named = dn_confusion_csv (c, names);
    g_assert_true (g_str_has_prefix (named, "class,pred_cat,\"pred_dog, big\",support"));
    /* a class never predicted has no precision: an empty field */
    DnConfusion *none = dn_confusion_new (2);
    none->counts[1] = 4; /* four of class 0 predicted as 1 */
    none->total = 4;
    g_autofree char *empty = dn_confusion_csv (none, NULL);
    g_assert_cmpstr (empty, ==,
                     "class,pred_0,pred_1,support,recall,precision\n"
                     "0,0,4,4,0.0,\n"
                     "1,0,0,0,,0.0\n");
    dn_confusion_free (none);
    dn_test_tmpdir_remove (tmp);
}

/* ---- run folders --------------------------------------------------------- */

static void observe (const DnEvent *ev, gpointer data)
{
    dn_run_writer_event (data, ev);
}

/* A two-epoch run on a small separable CSV file, written the way the CLI writes it. */
static char *small_run (const char *tmp, const char *name)
{
    g_autofree char *out = g_build_filename (tmp, "runs", NULL);
    g_autofree char *text = dn_test_small_experiment (tmp, name, out, 4, 2);
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) root = json_from_string (text, &error);
    g_assert_no_error (error);
    g_autoptr (DnExperiment) exp = dn_experiment_from_json (root, tmp, "test", &error);
    g_assert_no_error (error);
    DnRunOptions opts = {.threads = 1};
    DnRunWriter *w = dn_run_writer_new ();
    DnObserver obs = {.event = observe, .user_data = w};
    DnRunResult result = {0};
    gboolean ok = dn_experiment_run (exp, &opts, &obs, &result, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
    g_autoptr (GError) write_error = dn_run_writer_free (w);
    g_assert_no_error (write_error);
    char *dir = g_strdup (result.run_dir);
    dn_run_result_clear (&result);
    return dir;
}

static void test_summary_complete (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *dir = small_run (tmp, "sep");
    g_autoptr (DnRunSummary) s = dn_run_summary_read (dir);
    g_assert_null (s->problem);
    g_assert_cmpstr (s->name, ==, "sep");
    g_assert_cmpstr (s->experiment, ==, "sep");
    g_assert_true (g_str_has_suffix (s->data, "sep.csv"));
    g_assert_cmpstr (s->network, ==, "3 layers: 2 linear");
    g_assert_cmpstr (s->mode, ==, "none");
    g_assert_cmpint (s->epochs, ==, 2);
    g_assert_cmpint (s->dendrites, ==, 0);
    g_assert_cmpint (s->params, ==, 2 * 4 + 4 + 4 * 2 + 2);
    g_test_message ("best val %g test %g", s->best_val, s->test_at_best);
    g_assert_true (isfinite (s->best_val) && s->best_val >= 0 && s->best_val <= 100);
    g_assert_true (isfinite (s->test_at_best));
    g_assert_true (isfinite (s->seconds) && s->seconds >= 0);
    g_assert_true (s->has_best_model && s->has_latest && s->has_tables);
    g_assert_cmpint (s->mtime, >, 0);
    dn_test_tmpdir_remove (tmp);
}

/* Broken and partial folders are read as far as they go and say what is wrong;
 * folders that are no run are left out of a scan. */
static void test_summary_broken (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autofree char *good = small_run (tmp, "good");
    g_autofree char *runs = g_path_get_dirname (good);

    /* a damaged experiment.json and a truncated latest */
    g_autofree char *bad = g_build_filename (runs, "bad", NULL);
    g_mkdir (bad, 0755);
    g_free (dn_test_write_file (bad, "experiment.json", "{\"name\": ", 9));
    g_free (dn_test_write_file (bad, "latest.safetensors", "\x10\0\0", 3));
    /* a stop before the first epoch: experiment.json only */
    g_autofree char *early = g_build_filename (runs, "early", NULL);
    g_mkdir (early, 0755);
    g_autofree char *exp_src = g_build_filename (good, "experiment.json", NULL);
    g_autofree char *exp_text = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (exp_src, &exp_text, &len, NULL));
    g_free (dn_test_write_file (early, "experiment.json", exp_text, len));
    /* not a run at all */
    g_autofree char *notes = g_build_filename (runs, "notes", NULL);
    g_mkdir (notes, 0755);
    g_free (dn_test_write_file (notes, "todo.txt", "x", 1));
    /* the good run with its best model cut short */
    g_autofree char *cut = g_build_filename (runs, "cut", NULL);
    g_mkdir (cut, 0755);
    g_free (dn_test_write_file (cut, "experiment.json", exp_text, len));
    g_free (dn_test_write_file (cut, "best_model.safetensors", "\x40\0\0\0\0\0\0\0{", 9));

    g_autoptr (GError) error = NULL;
    g_autoptr (GPtrArray) all = dn_run_summary_scan (runs, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (all->len, ==, 4);
    for (guint i = 0; i < all->len; i++) {
        DnRunSummary *s = all->pdata[i];
        g_test_message ("%s: %s", s->name, s->problem ? s->problem : "complete");
        g_assert_cmpstr (s->name, !=, "notes");
        if (g_str_equal (s->name, "good")) {
            g_assert_null (s->problem);
        } else if (g_str_equal (s->name, "bad")) {
            g_assert_nonnull (strstr (s->problem, "experiment.json"));
            g_assert_nonnull (strstr (s->problem, "latest.safetensors"));
            g_assert_null (s->experiment);
            g_assert_cmpint (s->epochs, ==, -1);
        } else if (g_str_equal (s->name, "early")) {
            g_assert_nonnull (strstr (s->problem, "no latest.safetensors"));
            g_assert_cmpstr (s->experiment, ==, "good");
            g_assert_true (isnan (s->best_val));
        } else {
            g_assert_cmpstr (s->name, ==, "cut");
            g_assert_nonnull (strstr (s->problem, "best_model.safetensors"));
        }
    }
    /* a folder that is not there, and a file */
    g_autofree char *missing = g_build_filename (runs, "missing", NULL);
    g_autoptr (DnRunSummary) m = dn_run_summary_read (missing);
    g_assert_nonnull (m->problem);
    g_autoptr (GPtrArray) none = dn_run_summary_scan (missing, &error);
    g_assert_null (none);
    g_assert_error (error, DN_ERROR, DN_ERROR_IO);
    dn_test_tmpdir_remove (tmp);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/evaluate/confusion", test_confusion);
    g_test_add_func ("/run-summary/complete", test_summary_complete);
    g_test_add_func ("/run-summary/broken", test_summary_broken);
    return g_test_run ();
}
