/* test-train.c: dn_experiment_run(), the training loop, seen through its observer.
 *
 * A small MLP (784-32-10) on the bundled MNIST sample keeps every run under a
 * second or two: the order of the events, cancelling from the observer, a
 * diverging run, the files of a run folder, and what the seed decides.
 */
#include "dn-error.h"
#include "dn-run.h"
#include "dn-model.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <zlib.h>


#define HIDDEN 32
#define N_PARAMS (784 * HIDDEN + HIDDEN + HIDDEN * 10 + 10)

/* The MLP on the MNIST sample; optimizer is the "optimizer" object of the file. */
static DnExperiment *tiny_experiment (const char *name, int epochs, const char *optimizer)
{
    g_autofree char *data = dn_test_data_path ("datasets/mnist-10k");
    g_autofree char *text = g_strdup_printf (
        "{\"name\": \"%s\","
        " \"data\": {\"format\": \"idx\", \"path\": \"%s\", \"validation_split\": 0.1,"
        "          \"normalize\": {\"mean\": [0.1307], \"std\": [0.3081]}},"
        " \"network\": {\"input\": [1, 28, 28], \"layers\": ["
        "   {\"name\": \"flatten\", \"type\": \"flatten\"},"
        "   {\"name\": \"fc1\", \"type\": \"linear\", \"out_features\": %d},"
        "   {\"name\": \"relu1\", \"type\": \"relu\"},"
        "   {\"name\": \"fc2\", \"type\": \"linear\", \"out_features\": 10}]},"
        " \"training\": {\"optimizer\": %s, \"scheduler\": {\"type\": \"none\"},"
        "   \"loss\": \"cross_entropy\", \"batch_size\": 64, \"epochs\": %d, \"seed\": 1,"
        "   \"device\": \"cpu\"},"
        " \"output\": {\"dir\": \"runs\"}}",
        name, data, HIDDEN, optimizer, epochs);
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, text, -1, &error);
    g_assert_no_error (error);
    DnExperiment *exp =
        dn_experiment_from_json (json_parser_get_root (parser), ".", "tiny.json", &error);
    g_assert_no_error (error);
    g_assert_nonnull (exp);
    return exp;
}

#define ADAM "{\"type\": \"adam\", \"lr\": 0.001}"

/* ---- an observer that keeps what it saw --------------------------------- */

typedef struct {
    GArray *kinds;  /* DnEventKind, in arrival order */
    GArray *epochs; /* DnEvent copies of the EPOCH events, pointers cleared */
    DnEvent start;  /* pointers cleared */
    DnEvent done;   /* pointers cleared */
    char *done_model_path;
    char *done_run_dir;
    int n_done;
    int batch_events;
    int last_batch;                 /* of the last BATCH event */
    int cancel_epoch, cancel_batch; /* > 0: raise the flag at this BATCH event */
    volatile gint cancel;
} Recorder;

static void recorder_init (Recorder *r)
{
    memset (r, 0, sizeof *r);
    r->kinds = g_array_new (FALSE, FALSE, sizeof (DnEventKind));
    r->epochs = g_array_new (FALSE, FALSE, sizeof (DnEvent));
}

static void recorder_clear (Recorder *r)
{
    g_clear_pointer (&r->kinds, g_array_unref);
    g_clear_pointer (&r->epochs, g_array_unref);
    g_clear_pointer (&r->done_model_path, g_free);
    g_clear_pointer (&r->done_run_dir, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Recorder, recorder_clear)

static DnEvent plain_copy (const DnEvent *ev)
{
    DnEvent c = *ev;
    c.message = NULL;
    c.model_path = NULL;
    c.run_dir = NULL;
    c.device = NULL;
    return c;
}

static void on_event (const DnEvent *ev, gpointer user_data)
{
    Recorder *r = user_data;
    g_array_append_val (r->kinds, ev->kind);
    switch (ev->kind) {
    case DN_EVENT_START:
        r->start = plain_copy (ev);
        g_assert_nonnull (ev->run_dir);
        g_assert_cmpstr (ev->device, ==, "cpu");
        break;
    case DN_EVENT_BATCH:
        r->batch_events++;
        r->last_batch = ev->batch;
        if (r->cancel_epoch > 0 && ev->epoch == r->cancel_epoch && ev->batch >= r->cancel_batch)
            g_atomic_int_set (&r->cancel, 1);
        break;
    case DN_EVENT_EPOCH: {
        DnEvent c = plain_copy (ev);
        g_array_append_val (r->epochs, c);
        break;
    }
    case DN_EVENT_LOG:
        g_assert_nonnull (ev->message);
        break;
    case DN_EVENT_DONE:
        r->n_done++;
        r->done = plain_copy (ev);
        g_assert_nonnull (ev->message);
        r->done_model_path = g_strdup (ev->model_path);
        r->done_run_dir = g_strdup (ev->run_dir);
        break;
    default: /* the tracker's events: checked in the run-order test */
        break;
    }
}

static DnObserver recorder_observer (Recorder *r)
{
    DnObserver obs = {.event = on_event, .user_data = r, .cancel = &r->cancel};
    return obs;
}

static DnRunOptions options (const char *out_dir)
{
    DnRunOptions o = {0};
    o.out_dir = out_dir;
    o.threads = 2;
    o.batch_every = 5;
    return o;
}

static DnEvent *epoch_event (Recorder *r, int i)
{
    return &g_array_index (r->epochs, DnEvent, i);
}

/* ---- tests ------------------------------------------------------------------ */

/* log* start (log | batch+ epoch)* done: batches of an epoch before its EPOCH event,
 * epochs numbered 1..n, done once and last. */
static void test_events_in_order (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (DnExperiment) exp = tiny_experiment ("order", 2, ADAM);
    g_auto (Recorder) rec;
    recorder_init (&rec);
    DnObserver obs = recorder_observer (&rec);
    DnRunOptions opts = options (tmp);
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_no_error (error);

    gboolean started = FALSE;
    int epoch = 1, batches_in_epoch = 0;
    for (guint i = 0; i < rec.kinds->len; i++) {
        DnEventKind k = g_array_index (rec.kinds, DnEventKind, i);
        switch (k) {
        case DN_EVENT_LOG:
            break;
        case DN_EVENT_START:
            g_assert_false (started);
            started = TRUE;
            break;
        case DN_EVENT_BATCH:
            g_assert_true (started);
            batches_in_epoch++;
            break;
        case DN_EVENT_EPOCH:
            g_assert_true (started);
            g_assert_cmpint (batches_in_epoch, >, 0);
            g_assert_cmpint (epoch_event (&rec, epoch - 1)->epoch, ==, epoch);
            epoch++;
            batches_in_epoch = 0;
            break;
        case DN_EVENT_DONE:
            g_assert_cmpuint (i, ==, rec.kinds->len - 1);
            break;
        default:
            g_error ("event kind %d in a run without dendrites", (int) k);
        }
    }
    g_assert_cmpint (rec.n_done, ==, 1);
    g_assert_cmpuint (rec.epochs->len, ==, 2);

    /* start: the MNIST sample, split 90/10 */
    g_assert_cmpint (rec.start.epochs, ==, 2);
    g_assert_cmpint (rec.start.train_samples + rec.start.val_samples, ==, 8004);
    g_assert_cmpint (rec.start.val_samples, >, 0);
    g_assert_cmpint (rec.start.test_samples, ==, 1996);
    g_assert_cmpint (rec.start.params, ==, N_PARAMS);
    int n_batches = (int) ((rec.start.train_samples + 63) / 64);
    g_assert_cmpint (rec.start.n_batches, ==, n_batches);
    g_assert_cmpint (rec.last_batch, ==, n_batches); /* the last batch always reports */
    g_assert_cmpint (rec.batch_events, ==, 2 * ((n_batches + 4) / 5));

    for (int e = 0; e < 2; e++) {
        DnEvent *ev = epoch_event (&rec, e);
        g_test_message ("epoch %d: loss %.4f, val %.2f %%, test %.2f %%", ev->epoch, ev->loss,
                        ev->val_acc, ev->test_acc);
        g_assert_true (isfinite (ev->loss) && ev->loss > 0);
        g_assert_cmpint (ev->samples, ==, rec.start.train_samples);
        g_assert_cmpfloat (ev->val_acc, >, 80.0);
        g_assert_cmpfloat (ev->test_acc, >, 80.0);
        g_assert_cmpfloat (ev->lr, ==, 0.001);
    }
    /* Two epochs of Adam learn something. */
    g_assert_cmpfloat (epoch_event (&rec, 1)->loss, <, epoch_event (&rec, 0)->loss);

    /* done and the result agree with the best EPOCH event */
    g_assert_false (rec.done.cancelled);
    int best = rec.done.best_epoch;
    g_assert_cmpint (best, >=, 1);
    g_assert_cmpint (best, <=, 2);
    g_assert_cmpfloat (rec.done.best_val, ==, epoch_event (&rec, best - 1)->val_acc);
    g_assert_cmpfloat (rec.done.test_at_best_val, ==, epoch_event (&rec, best - 1)->test_acc);
    g_assert_cmpint (result.best_epoch, ==, best);
    g_assert_cmpfloat (result.best_val, ==, rec.done.best_val);
    g_assert_cmpfloat (result.test_at_best_val, ==, rec.done.test_at_best_val);
    g_assert_cmpint (result.params, ==, N_PARAMS);
    g_assert_cmpstr (result.model_path, ==, rec.done_model_path);
    g_assert_cmpstr (result.run_dir, ==, rec.done_run_dir);
    dn_run_result_clear (&result);
    dn_test_tmpdir_remove (tmp);
}

/* The run folder: OUT/NAME/ with the best and latest models and the experiment; the
 * best model reloads to the same test accuracy. */
static void test_run_folder (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (DnExperiment) exp = tiny_experiment ("folder", 1, ADAM);
    g_auto (Recorder) rec;
    recorder_init (&rec);
    DnObserver obs = recorder_observer (&rec);
    DnRunOptions opts = options (tmp);
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_no_error (error);

    g_autofree char *run_dir = g_build_filename (tmp, "folder", NULL);
    g_autofree char *best = g_build_filename (run_dir, "best_model.safetensors", NULL);
    g_autofree char *latest = g_build_filename (run_dir, "latest.safetensors", NULL);
    g_autofree char *copy = g_build_filename (run_dir, "experiment.json", NULL);
    g_assert_cmpstr (result.run_dir, ==, run_dir);
    g_assert_cmpstr (result.model_path, ==, best);
    g_assert_true (g_file_test (best, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (latest, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (copy, G_FILE_TEST_IS_REGULAR));

    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (best, dn_backend_cpu (), &meta, &error);
    g_assert_no_error (error);
    g_assert_nonnull (g_hash_table_lookup (meta, "dendrite_normalize"));
    g_autofree char *data = dn_test_data_path ("datasets/mnist-10k");
    g_autoptr (DnDataset) test = dn_dataset_load_idx_dir (data, "test", &error);
    g_assert_no_error (error);
    double acc = 0, loss = 0;
    g_assert_true (dn_evaluate (net, test, &exp->normalize, exp->loss, 64, &acc, &loss, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (acc, ==, result.test_at_best_val);
    g_assert_cmpfloat (loss, ==, epoch_event (&rec, result.best_epoch - 1)->test_loss);
    dn_run_result_clear (&result);
    dn_test_tmpdir_remove (tmp);
}

/* The run folder's experiment.json loads back as the experiment that ran, small
 * numbers (Adam's eps, 1e-8) included. */
static void test_experiment_copy_reloads (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (DnExperiment) exp = tiny_experiment ("copy", 1, ADAM);
    DnRunOptions opts = options (tmp);
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, NULL, &result, &error));
    g_assert_no_error (error);
    g_autofree char *copy = g_build_filename (result.run_dir, "experiment.json", NULL);
    g_autoptr (DnExperiment) again = dn_experiment_load (copy, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (again->name, ==, "copy");
    g_assert_cmpint (again->batch_size, ==, 64);
    g_assert_cmpfloat (again->optim.lr, ==, exp->optim.lr);
    g_assert_cmpfloat (again->optim.eps, ==, exp->optim.eps);
    dn_run_result_clear (&result);
    dn_test_tmpdir_remove (tmp);
}

/* The flag raised from the observer after three batches: the loop stops before a
 * fourth, reports done with cancelled, and saves nothing. */
static void test_cancel_first_epoch (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (DnExperiment) exp = tiny_experiment ("cancel", 3, ADAM);
    g_auto (Recorder) rec;
    recorder_init (&rec);
    rec.cancel_epoch = 1;
    rec.cancel_batch = 3;
    DnObserver obs = recorder_observer (&rec);
    DnRunOptions opts = options (tmp);
    opts.batch_every = 1;
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpint (rec.batch_events, ==, 3);
    g_assert_cmpint (rec.last_batch, ==, 3);
    g_assert_cmpuint (rec.epochs->len, ==, 0);
    g_assert_cmpint (rec.n_done, ==, 1);
    g_assert_true (rec.done.cancelled);
    g_assert_cmpint (rec.done.best_epoch, ==, 0);
    g_assert_null (rec.done_model_path);
    g_assert_null (result.model_path);
    g_assert_cmpint (result.best_epoch, ==, 0);
    g_autofree char *best = g_build_filename (tmp, "cancel", "best_model.safetensors", NULL);
    g_assert_false (g_file_test (best, G_FILE_TEST_EXISTS));
    dn_run_result_clear (&result);
    dn_test_tmpdir_remove (tmp);
}

/* Cancelled during the second epoch: the first epoch's model stays the result. */
static void test_cancel_second_epoch (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (DnExperiment) exp = tiny_experiment ("cancel2", 3, ADAM);
    g_auto (Recorder) rec;
    recorder_init (&rec);
    DnObserver obs = recorder_observer (&rec);
    DnRunOptions opts = options (tmp);
    opts.batch_every = 1;
    rec.cancel_epoch = 2;
    rec.cancel_batch = 2;
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpint (rec.batch_events, ==, rec.start.n_batches + 2);
    g_assert_cmpint (rec.last_batch, ==, 2);
    g_assert_cmpuint (rec.epochs->len, ==, 1);
    g_assert_true (rec.done.cancelled);
    g_assert_cmpint (rec.done.best_epoch, ==, 1);
    g_assert_cmpfloat (rec.done.test_at_best_val, ==, epoch_event (&rec, 0)->test_acc);
    g_assert_nonnull (result.model_path);
    g_assert_true (g_file_test (result.model_path, G_FILE_TEST_IS_REGULAR));
    dn_run_result_clear (&result);
    dn_test_tmpdir_remove (tmp);
}

/* SGD with a learning rate of 1e6 overflows within a few batches: a NUMERIC error
 * that names the learning rate, no DONE event, no crash, no leak (ASan). */
static void test_diverging_run (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    g_autoptr (DnExperiment) exp =
        tiny_experiment ("diverge", 2, "{\"type\": \"sgd\", \"lr\": 1e6}");
    g_auto (Recorder) rec;
    recorder_init (&rec);
    DnObserver obs = recorder_observer (&rec);
    DnRunOptions opts = options (tmp);
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NUMERIC);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "learning rate"));
    g_assert_nonnull (strstr (error->message, "1e+06"));
    g_assert_cmpint (rec.n_done, ==, 0);
    g_assert_null (result.model_path);
    g_assert_null (result.run_dir);
    dn_test_tmpdir_remove (tmp);
}

typedef struct {
    double loss[2], val[2], test[2];
    char *model;
    gsize model_len;
} RunDigest;

static void run_digest (guint64 seed, const char *out_dir, RunDigest *d)
{
    g_autoptr (DnExperiment) exp = tiny_experiment ("seeded", 2, ADAM);
    g_auto (Recorder) rec;
    recorder_init (&rec);
    DnObserver obs = recorder_observer (&rec);
    DnRunOptions opts = options (out_dir);
    opts.seed_set = TRUE;
    opts.seed = seed;
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, &obs, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (rec.epochs->len, ==, 2);
    for (int e = 0; e < 2; e++) {
        d->loss[e] = epoch_event (&rec, e)->loss;
        d->val[e] = epoch_event (&rec, e)->val_acc;
        d->test[e] = epoch_event (&rec, e)->test_acc;
    }
    g_assert_true (g_file_get_contents (result.model_path, &d->model, &d->model_len, NULL));
    dn_run_result_clear (&result);
}

static void test_seed (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    static const guint64 seeds[3] = {7, 7, 8};
    RunDigest d[3] = {{{0}}};
    for (int i = 0; i < 3; i++) {
        g_autofree char *out = g_strdup_printf ("%s/run%d", tmp, i);
        run_digest (seeds[i], out, &d[i]);
        g_test_message ("seed %" G_GUINT64_FORMAT ": loss %.17g %.17g, test %.2f %.2f", seeds[i],
                        d[i].loss[0], d[i].loss[1], d[i].test[0], d[i].test[1]);
    }
    /* same seed: the same numbers, bit for bit, and the same model file */
    g_assert_cmpmem (d[0].loss, sizeof d[0].loss, d[1].loss, sizeof d[1].loss);
    g_assert_cmpmem (d[0].val, sizeof d[0].val, d[1].val, sizeof d[1].val);
    g_assert_cmpmem (d[0].test, sizeof d[0].test, d[1].test, sizeof d[1].test);
    g_assert_cmpmem (d[0].model, d[0].model_len, d[1].model, d[1].model_len);
    /* another seed: another initialisation, shuffle and split */
    g_assert_cmpfloat (d[0].loss[0], !=, d[2].loss[0]);
    g_assert_cmpfloat (d[0].loss[1], !=, d[2].loss[1]);
    g_assert_cmpuint (d[0].model_len, ==, d[2].model_len);
    g_assert_true (memcmp (d[0].model, d[2].model, d[0].model_len) != 0);
    for (int i = 0; i < 3; i++)
        g_free (d[i].model);
    dn_test_tmpdir_remove (tmp);
}

/* ---- the data a run reads: test shapes, classes, normalisation ------------ */

static DnExperiment *experiment_text (const char *text)
{
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, text, -1, &error);
    g_assert_no_error (error);
    DnExperiment *exp =
        dn_experiment_from_json (json_parser_get_root (parser), ".", "t.json", &error);
    g_assert_no_error (error);
    return exp;
}

static DnExperiment *idx_experiment (const char *dir, int side, const char *normalize)
{
    g_autofree char *text = g_strdup_printf (
        "{\"name\": \"idx\", \"data\": {\"format\": \"idx\", \"path\": \"%s\","
        " \"validation_split\": 0, \"normalize\": %s},"
        " \"network\": {\"input\": [1, %d, %d], \"layers\": ["
        "   {\"name\": \"flatten\", \"type\": \"flatten\"},"
        "   {\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 2}]},"
        " \"training\": {\"optimizer\": " ADAM ", \"loss\": \"cross_entropy\","
        "   \"batch_size\": 4, \"epochs\": 1, \"seed\": 1, \"device\": \"cpu\"}}",
        dir, normalize, side, side);
    return experiment_text (text);
}

static void on_log (const DnEvent *ev, gpointer user_data)
{
    if (ev->kind == DN_EVENT_LOG && strstr (ev->message, "warning") != NULL)
        g_ptr_array_add (user_data, g_strdup (ev->message));
}

/* The model's "dendrite_training" summary is JSON that any reader takes: a name in
 * other scripts comes back as the same string, not as C octal escapes. */
static void test_training_metadata_name (void)
{
    static const char name[] = "Schr\u00f6dinger-\u6d4b\u8bd5";
    g_autofree char *tmp = dn_test_tmpdir ();
    dn_test_write_idx (tmp, "train", 12, 4, 0);
    dn_test_write_idx (tmp, "t10k", 6, 4, 0);
    g_autofree char *text =
        g_strdup_printf ("{\"name\": \"%s\", \"data\": {\"format\": \"idx\", \"path\": \"%s\","
                         " \"validation_split\": 0, \"normalize\": \"dataset\"},"
                         " \"network\": {\"input\": [1, 4, 4], \"layers\": ["
                         "   {\"name\": \"flatten\", \"type\": \"flatten\"},"
                         "   {\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 2}]},"
                         " \"training\": {\"optimizer\": " ADAM ", \"loss\": \"cross_entropy\","
                         "   \"batch_size\": 4, \"epochs\": 1, \"seed\": 7, \"device\": \"cpu\"}}",
                         name, tmp);
    g_autoptr (DnExperiment) exp = experiment_text (text);
    DnRunOptions opts = options (tmp);
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, NULL, &result, &error));
    g_assert_no_error (error);
    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (result.model_path, dn_backend_cpu (), &meta, &error);
    g_assert_no_error (error);
    const char *training = g_hash_table_lookup (meta, "dendrite_training");
    g_assert_nonnull (training);
    g_test_message ("%s", training);
    g_assert_true (g_utf8_validate (training, -1, NULL));
    g_assert_null (strchr (training, '\\'));
    g_autoptr (JsonNode) root = json_from_string (training, &error);
    g_assert_no_error (error);
    JsonObject *o = json_node_get_object (root);
    g_assert_cmpstr (json_object_get_string_member (o, "experiment"), ==, name);
    g_assert_cmpstr (json_object_get_string_member (o, "loss"), ==, "cross_entropy");
    g_assert_cmpint (json_object_get_int_member (o, "epoch"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (o, "seed"), ==, 7);
    dn_run_result_clear (&result);
    dn_test_tmpdir_remove (tmp);
}

/* ---- memory the input asks for ---- */

/* A batch no memory holds: 2^20 images of 1024 x 1024 pixels (4 TB of floats) is an
 * out-of-memory error that says how much, not an abort. */
static void test_batch_out_of_memory (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    dn_test_write_idx (tmp, "train", 2, 1024, 0);
    dn_test_write_idx (tmp, "t10k", 2, 1024, 0);
    g_autofree char *text = g_strdup_printf (
        "{\"name\": \"huge-batch\", \"data\": {\"format\": \"idx\", \"path\": \"%s\","
        " \"validation_split\": 0, \"normalize\": \"dataset\"},"
        " \"network\": {\"input\": [1, 1024, 1024], \"layers\": ["
        "   {\"name\": \"flatten\", \"type\": \"flatten\"},"
        "   {\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 2}]},"
        " \"training\": {\"optimizer\": " ADAM ", \"loss\": \"cross_entropy\","
        "   \"batch_size\": 1048576, \"epochs\": 1, \"seed\": 1, \"device\": \"cpu\"}}",
        tmp);
    g_autoptr (DnExperiment) exp = experiment_text (text);
    DnRunOptions opts = options (tmp);
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_experiment_run (exp, &opts, NULL, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NOMEM);
    g_test_message ("%s", error->message);
    g_assert_cmpstr (error->message, ==,
                     "out of memory: a batch of 1048576 needs 4398046.5 MB for the inputs; lower "
                     "\"batch_size\"");
    dn_test_tmpdir_remove (tmp);
}

/* One gzip member of `data`, appended to `out` (a file of several members reads as
 * their concatenation). */
static void append_gzip (GByteArray *out, const guint8 *data, gsize len)
{
    z_stream zs = {0};
    g_assert_cmpint (deflateInit2 (&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), ==, Z_OK);
    gsize cap = deflateBound (&zs, (uLong) len) + 64;
    guint start = out->len;
    g_byte_array_set_size (out, start + (guint) cap);
    zs.next_in = (Bytef *) data;
    zs.avail_in = (uInt) len;
    zs.next_out = out->data + start;
    zs.avail_out = (uInt) cap;
    g_assert_cmpint (deflate (&zs, Z_FINISH), ==, Z_STREAM_END);
    g_byte_array_set_size (out, start + (guint) zs.total_out);
    deflateEnd (&zs);
}

/* The address space in use now, from /proc/self/statm, or 0 where there is none. */
static guint64 address_space_in_use (void)
{
    g_autofree char *statm = NULL;
    if (!g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
        return 0;
    return g_ascii_strtoull (statm, NULL, 10) * (guint64) sysconf (_SC_PAGESIZE);
}

/* A 2 MB .gz IDX file whose header and content expand to 2.1 GB, within the IDX limits,
 * read with 512 MB of address space to spare: a clear out-of-memory error, never an
 * abort. In a process of its own, since the limit stays. */
static void oom_idx_child (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    const guint32 n = 2700000; /* 2700000 * 784 < 2^31 elements */
    const gsize block = 1 << 24;
    g_autofree guint8 *zeros = g_malloc0 (block);
    g_autoptr (GByteArray) one = g_byte_array_new ();
    append_gzip (one, zeros, block);
    g_autoptr (GByteArray) img = g_byte_array_new ();
    const guint8 head[16] = {
        0, 0, 8, 3, n >> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff, 0, 0, 0, 28, 0, 0, 0, 28};
    append_gzip (img, head, sizeof head);
    guint64 total = (guint64) n * 784;
    for (guint64 done = 0; done < total; done += block)
        if (total - done >= block)
            g_byte_array_append (img, one->data, one->len);
        else
            append_gzip (img, zeros, (gsize) (total - done));
    g_free (dn_test_write_file (tmp, "train-images-idx3-ubyte.gz", img->data, img->len));
    g_autoptr (GByteArray) lab = g_byte_array_new ();
    g_autofree guint8 *labels = g_malloc (8 + (gsize) n);
    memcpy (labels,
            (const guint8[]){0, 0, 8, 1, n >> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff}, 8);
    for (guint32 i = 0; i < n; i++)
        labels[8 + i] = (guint8) (i % 10);
    append_gzip (lab, labels, 8 + (gsize) n);
    g_free (dn_test_write_file (tmp, "train-labels-idx1-ubyte.gz", lab->data, lab->len));
    dn_test_write_idx (tmp, "t10k", 4, 28, 0);
    g_autoptr (DnExperiment) exp = idx_experiment (tmp, 28, "\"dataset\"");
    DnRunOptions opts = options (tmp);

    guint64 used = address_space_in_use ();
    g_assert_cmpuint (used, >, 0);
    struct rlimit lim = {.rlim_cur = used + ((guint64) 512 << 20),
                         .rlim_max = used + ((guint64) 512 << 20)};
    g_assert_cmpint (setrlimit (RLIMIT_AS, &lim), ==, 0);
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_experiment_run (exp, &opts, NULL, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NOMEM);
    g_printerr ("%s\n", error->message);
    g_assert_true (g_str_has_prefix (error->message, "out of memory"));
    g_assert_nonnull (strstr (error->message, "train-images-idx3-ubyte.gz"));
    g_assert_nonnull (strstr (error->message, " MB"));
    dn_test_tmpdir_remove (tmp);
}

static void test_idx_out_of_memory (void)
{
#ifdef DN_TEST_ASAN
    g_test_skip ("AddressSanitizer cannot run under a small RLIMIT_AS (its shadow memory "
                 "reserves terabytes of address space); the normal build runs this test");
    return;
#else
    if (!g_file_test ("/proc/self/statm", G_FILE_TEST_EXISTS)) {
        g_test_skip ("no /proc/self/statm to measure the address space in use");
        return;
    }
    if (g_test_subprocess ()) {
        oom_idx_child ();
        return;
    }
    g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed ();
    g_test_trap_assert_stderr ("*out of memory*train-images-idx3-ubyte.gz* MB*");
#endif
}

/* The test images must have the training images' size: t10k files of 5 x 5
 * pixels next to 4 x 4 training images are refused before anything is evaluated. */
static void test_test_shape_idx (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    dn_test_write_idx (tmp, "train", 12, 4, 0);
    dn_test_write_idx (tmp, "t10k", 6, 5, 0);
    g_autoptr (DnExperiment) exp = idx_experiment (tmp, 4, "\"dataset\"");
    DnRunOptions opts = options (tmp);
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_experiment_run (exp, &opts, NULL, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_SHAPE);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "t10k-images-idx3-ubyte"));
    g_assert_nonnull (strstr (error->message, "(1, 5, 5)"));
    g_assert_nonnull (strstr (error->message, "(1, 4, 4)"));
    dn_test_tmpdir_remove (tmp);
}

static DnExperiment *csv_experiment (const char *train, const char *test, int features,
                                     int classes, int epochs)
{
    g_autofree char *text = g_strdup_printf (
        "{\"name\": \"csv\", \"data\": {\"format\": \"csv\", \"path\": \"%s\","
        " \"test_path\": \"%s\", \"label_column\": \"y\", \"validation_split\": 0},"
        " \"network\": {\"input\": [%d], \"layers\": ["
        "   {\"name\": \"fc\", \"type\": \"linear\", \"out_features\": %d}]},"
        " \"training\": {\"optimizer\": {\"type\": \"adam\", \"lr\": 0.05},"
        "   \"loss\": \"cross_entropy\", \"batch_size\": 8, \"epochs\": %d, \"seed\": 1,"
        "   \"device\": \"cpu\"}}",
        train, test, features, classes, epochs);
    return experiment_text (text);
}

/* A CSV test file with another number of columns is refused, naming both shapes. */
static void test_test_shape_csv (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    const char train[] = "a,b,y\n1,2,0\n2,1,1\n3,3,0\n1,1,1\n";
    const char test[] = "a,b,c,y\n1,2,3,0\n2,1,3,1\n";
    g_autofree char *tr = dn_test_write_file (tmp, "train.csv", train, strlen (train));
    g_autofree char *te = dn_test_write_file (tmp, "test.csv", test, strlen (test));
    g_autoptr (DnExperiment) exp = csv_experiment (tr, te, 2, 2, 1);
    DnRunOptions opts = options (tmp);
    g_autoptr (GError) error = NULL;
    g_assert_false (dn_experiment_run (exp, &opts, NULL, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_SHAPE);
    g_assert_nonnull (strstr (error->message, "test.csv"));
    g_assert_nonnull (strstr (error->message, "(3)"));
    g_assert_nonnull (strstr (error->message, "(2)"));
    dn_test_tmpdir_remove (tmp);
}

/* Separable classes: the test file lists them in another order and still scores
 * 100 %; the model stores the class list; an unseen label names its line. */
static void test_classes_order (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    const char *names[] = {"setosa", "versicolor", "virginica"};
    GString *train = g_string_new ("f0,f1,f2,y\n");
    GString *test = g_string_new ("f0,f1,f2,y\n");
    for (int i = 0; i < 30; i++) {
        int k = i % 3, j = 2 - i % 3; /* test rows: virginica first */
        g_string_append_printf (train, "%d,%d,%d,%s\n", k == 0, k == 1, k == 2, names[k]);
        g_string_append_printf (test, "%d,%d,%d,%s\n", j == 0, j == 1, j == 2, names[j]);
    }
    g_autofree char *tr = dn_test_write_file (tmp, "train.csv", train->str, train->len);
    g_autofree char *te = dn_test_write_file (tmp, "test.csv", test->str, test->len);
    g_autoptr (DnExperiment) exp = csv_experiment (tr, te, 3, 3, 30);
    DnRunOptions opts = options (tmp);
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_experiment_run (exp, &opts, NULL, &result, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (result.test_at_best_val, ==, 100.0);
    g_autoptr (GHashTable) meta = NULL;
    g_autoptr (DnNetwork) net = dn_model_load (result.model_path, dn_backend_cpu (), &meta, &error);
    g_assert_no_error (error);
    DnClassList classes;
    g_autofree char *column = NULL;
    g_assert_true (dn_class_list_from_json (g_hash_table_lookup (meta, "dendrite_classes"),
                                            &classes, &column, &error));
    g_assert_cmpint (classes.kind, ==, DN_LABELS_NAME);
    g_assert_cmpint (classes.n_classes, ==, 3);
    g_assert_cmpstr (classes.names[2], ==, "virginica");
    g_assert_cmpstr (column, ==, "y");
    dn_class_list_clear (&classes);
    dn_run_result_clear (&result);

    g_string_append (test, "0,0,1,iris\n");
    g_autofree char *te2 = dn_test_write_file (tmp, "test2.csv", test->str, test->len);
    g_autoptr (DnExperiment) exp2 = csv_experiment (tr, te2, 3, 3, 1);
    g_assert_false (dn_experiment_run (exp2, &opts, NULL, NULL, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "test2.csv' line 32"));
    g_assert_nonnull (strstr (error->message, "'iris'"));
    g_string_free (train, TRUE);
    g_string_free (test, TRUE);
    dn_test_tmpdir_remove (tmp);
}

/* Fixed constants far from the data's own are reported as a warning naming both;
 * "dataset", constants close to the data's and "none" say nothing. The rule: a
 * mean off by more than a quarter of the data's std, a std off by a factor of 2. */
static void test_normalize_warning (void)
{
    g_autofree char *tmp = dn_test_tmpdir ();
    dn_test_write_idx (tmp, "train", 12, 4, 200); /* bright images: mean about 0.86 */
    dn_test_write_idx (tmp, "t10k", 6, 4, 200);
    g_autoptr (GError) error = NULL;
    g_autofree char *img = g_build_filename (tmp, "train-images-idx3-ubyte", NULL);
    g_autofree char *lab = g_build_filename (tmp, "train-labels-idx1-ubyte", NULL);
    g_autoptr (DnDataset) train = dn_dataset_load_idx (img, lab, &error);
    g_assert_no_error (error);
    DnNormalize own;
    dn_dataset_compute_normalize (train, &own);
    double m = own.mean[0], sd = own.std[0];
    struct {
        char *form;
        gboolean warns;
    } cases[] = {
        {g_strdup ("{\"mean\": [0.1307], \"std\": [0.3081]}"), TRUE},
        {g_strdup ("\"dataset\""), FALSE},
        {g_strdup ("\"none\""), FALSE},
        {g_strdup_printf ("{\"mean\": [%.6f], \"std\": [%.6f]}", m + 0.2 * sd, sd * 1.9), FALSE},
        {g_strdup_printf ("{\"mean\": [%.6f], \"std\": [%.6f]}", m - 0.3 * sd, sd), TRUE},
        {g_strdup_printf ("{\"mean\": [%.6f], \"std\": [%.6f]}", m, sd * 0.45), TRUE},
    };
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autoptr (DnExperiment) exp = idx_experiment (tmp, 4, cases[i].form);
        g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
        DnObserver obs = {.event = on_log, .user_data = warnings};
        DnRunOptions opts = options (tmp);
        g_assert_true (dn_experiment_run (exp, &opts, &obs, NULL, &error));
        g_assert_no_error (error);
        if (warnings->len != (cases[i].warns ? 1u : 0u))
            g_error ("%s: %u warnings", cases[i].form, warnings->len);
        if (i == 0) {
            const char *w = warnings->pdata[0];
            g_test_message ("%s", w);
            g_assert_nonnull (strstr (w, "mean 0.1307, std 0.3081"));
            g_assert_nonnull (strstr (w, "train-images-idx3-ubyte (mean 0.8601, std 0.04555)"));
        }
        g_free (cases[i].form);
    }
    dn_test_tmpdir_remove (tmp);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/train/events/order", test_events_in_order);
    g_test_add_func ("/train/run-folder", test_run_folder);
    g_test_add_func ("/train/cancel/first-epoch", test_cancel_first_epoch);
    g_test_add_func ("/train/cancel/second-epoch", test_cancel_second_epoch);
    g_test_add_func ("/train/diverge/numeric-error", test_diverging_run);
    g_test_add_func ("/train/seed", test_seed);
    g_test_add_func ("/train/data/test-shape-idx", test_test_shape_idx);
    g_test_add_func ("/train/data/test-shape-csv", test_test_shape_csv);
    g_test_add_func ("/train/data/classes-order", test_classes_order);
    g_test_add_func ("/train/data/normalize-warning", test_normalize_warning);
    g_test_add_func ("/train/metadata/training-name", test_training_metadata_name);
    g_test_add_func ("/train/memory/batch", test_batch_out_of_memory);
    g_test_add_func ("/train/memory/idx-gz", test_idx_out_of_memory);
    /* json-glib 1.6 wrote Adam's eps as "1e-08.0", which nothing reads back */
    g_test_add_func ("/train/run-folder/experiment-reloads", test_experiment_copy_reloads);
    return g_test_run ();
}
