/* test-pb-run.c: perforated backpropagation, the run side (dn-run-pb.c).
 *
 * Per-channel best snapshots; and real runs of data/examples/mlp-pb.json on the
 * MNIST sample: a phase starts and ends and installs its set, everything but the
 * candidates stays bit-identical through the phase, no candidate moves while the
 * running means warm up, and a run stopped inside a phase and resumed ends exactly
 * as an uninterrupted one; and a small CNN through its first phase. */
#include "dn-run-private.h"
#include "dn-run.h"
#include "dn-safetensors.h"
#include "dn-test-util.h"

#include <string.h>

/* ---- snapshots ---- */

/* Channel 0 peaks in the first epoch, channel 1 in the second: each gets its epoch's
 * rows (a linear candidate with cascade weights: k = 2). */
static void test_snapshots (void)
{
    const char *json =
        "{\"input\": [4], \"layers\": [{\"name\": \"d\", \"type\": \"dendritic\", "
        "\"dendrites\": 2, \"layers\": [{\"type\": \"linear\", \"out_features\": 2}]}]}";
    g_autoptr (JsonParser) p = json_parser_new ();
    g_assert_true (json_parser_load_from_data (p, json, -1, NULL));
    g_autoptr (GError) error = NULL;
    g_autoptr (DnNetwork) net =
        dn_network_new_from_json (json_parser_get_root (p), dn_backend_cpu (), &error);
    g_assert_no_error (error);
    DnRng rng;
    dn_rng_seed (&rng, 1);
    dn_network_init (net, &rng);
    DnPbSettings cfg = dn_pb_settings_default;
    cfg.normalized_covariance = FALSE;
    DnPb pb;
    _dn_pb_init (&pb, &cfg, net->backend);
    g_assert_true (_dn_pb_start (&pb, net, 8, &error));
    g_assert_no_error (error);
    DnLayer *l = dn_network_find_node (net, "d")->layer;
    int idx[DN_LAYER_MAX_PARAMS];
    int n = dn_dendritic_candidate_params (l, idx);
    g_assert_cmpint (n, ==, 3); /* weight, bias, cascade row */
    /* epoch scores from sums: n = 1, ve = score, the rest zero gives cov = score */
    const double scores[2][2] = {{0.5, 0.1}, {0.2, 0.3}};
    for (int epoch = 0; epoch < 2; epoch++) {
        _dn_pb_epoch_begin (&pb);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dn_shape_numel (&l->params[idx[i]].shape); j++)
                l->params[idx[i]].value[j] = (float) (epoch + 1);
        DnPbLayer *pl = &pb.layers[0];
        pl->n = 1;
        for (int c = 0; c < 2; c++)
            pl->sums[2 * 2 + c] = scores[epoch][c]; /* the ve sums */
        _dn_pb_epoch_end (&pb, net);
        g_assert_cmpfloat (pl->score[0], ==, scores[epoch][0]);
    }
    _dn_pb_end (&pb, net);
    g_assert_false (pb.in_phase);
    g_assert_cmpint (dn_dendritic_mode (l), ==, DN_DENDRITIC_PB_NEURON);
    /* weight (2, 4): row 0 from epoch 1, row 1 from epoch 2; bias alike; cascade
     * (1, 2): column c */
    DnParam *w = &l->params[idx[0]], *b = &l->params[idx[1]], *d2d = &l->params[idx[2]];
    for (int j = 0; j < 4; j++) {
        g_assert_cmpfloat (w->value[j], ==, 1.0f);
        g_assert_cmpfloat (w->value[4 + j], ==, 2.0f);
    }
    g_assert_cmpfloat (b->value[0], ==, 1.0f);
    g_assert_cmpfloat (b->value[1], ==, 2.0f);
    g_assert_cmpfloat (d2d->value[0], ==, 1.0f);
    g_assert_cmpfloat (d2d->value[1], ==, 2.0f);
    _dn_pb_clear (&pb);
}

/* ---- runs ---- */

static DnExperiment *experiment (int epochs)
{
    return dn_test_example_experiment ("mlp-pb", epochs);
}

typedef struct {
    int stop_after; /* raise cancel after this many epochs; 0: never */
    gboolean stop_at_end; /* raise cancel once the first phase has ended */
    volatile gint cancel;
    int epochs_seen;
    int start_epoch, end_epoch; /* run epochs whose actions started / ended a phase */
    int dendrites_after_end;
    char *at_start, *at_end; /* copies of latest.safetensors after those epochs */
    char *in_phase;          /* ... after the first epoch of the phase */
} Watch;

static char *copy_latest (const char *run_dir, const char *name)
{
    g_autofree char *src = g_build_filename (run_dir, "latest.safetensors", NULL);
    char *dst = g_build_filename (run_dir, name, NULL);
    g_autofree char *data = NULL;
    gsize len = 0;
    g_assert_true (g_file_get_contents (src, &data, &len, NULL));
    g_assert_true (g_file_set_contents (dst, data, len, NULL));
    return dst;
}

static void on_event (const DnEvent *ev, gpointer data)
{
    Watch *w = data;
    if (ev->kind != DN_EVENT_EPOCH)
        return;
    w->epochs_seen++;
    if (w->start_epoch > 0 && w->epochs_seen == w->start_epoch + 1 && w->in_phase == NULL)
        w->in_phase = copy_latest (ev->run_dir, "pb-in-phase.st");
    for (int i = 0; ev->action != NULL && i < ev->action->n_ops; i++) {
        DnTrackerOpKind k = ev->action->ops[i].kind;
        if (k == DN_TRACKER_OP_START_DENDRITE_PHASE && w->start_epoch == 0) {
            w->start_epoch = w->epochs_seen;
            w->at_start = copy_latest (ev->run_dir, "pb-start.st");
        }
        if (k == DN_TRACKER_OP_END_DENDRITE_PHASE && w->end_epoch == 0) {
            w->end_epoch = w->epochs_seen;
            w->at_end = copy_latest (ev->run_dir, "pb-end.st");
            w->dendrites_after_end = ev->dendrites;
        }
    }
    if (w->epochs_seen == w->stop_after || (w->stop_at_end && w->end_epoch > 0))
        g_atomic_int_set (&w->cancel, 1);
}

static void run (DnExperiment *exp, const char *out, const char *resume, Watch *w)
{
    DnObserver obs = {.event = on_event, .user_data = w, .cancel = &w->cancel};
    /* the observer copies latest at epoch events: each must be on disk by then */
    DnRunOptions opts = {.out_dir = out, .threads = 1, .resume_dir = resume, .sync_latest = TRUE};
    DnRunResult result = {0};
    g_autoptr (GError) error = NULL;
    gboolean ok = resume != NULL ? dn_experiment_resume (resume, &opts, &obs, &result, &error)
                                 : dn_experiment_run (exp, &opts, &obs, &result, &error);
    g_assert_no_error (error);
    g_assert_true (ok);
    dn_run_result_clear (&result);
}

static void watch_clear (Watch *w)
{
    g_free (w->at_start);
    g_free (w->at_end);
    g_free (w->in_phase);
}

/* Whether a tensor name belongs to dendrite set `set` (0-based) of any node: its
 * layers or its cascade row. */
static gboolean of_set (const char *name, int set)
{
    g_autofree char *layers = g_strdup_printf (".dendrite_module.layers.%d.", set);
    g_autofree char *cascade = g_strdup_printf (".dendrites_to_dendrites.%d", set);
    return strstr (name, layers) != NULL || g_str_has_suffix (name, cascade);
}

/* Tensors of a and b: those of set `set` must differ somewhere (want_moved) or not,
 * every other one must be bit-identical. */
static void compare_checkpoints (const char *a_path, const char *b_path, int set,
                                 gboolean want_moved)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnSafetensors) a = dn_safetensors_read (a_path, &error);
    g_assert_no_error (error);
    g_autoptr (DnSafetensors) b = dn_safetensors_read (b_path, &error);
    g_assert_no_error (error);
    gboolean moved = FALSE;
    int compared = 0;
    for (guint i = 0; i < a->tensors->len; i++) {
        DnStTensor *ta = a->tensors->pdata[i];
        if (!g_str_has_prefix (ta->name, "fc") && !g_str_has_prefix (ta->name, "conv"))
            continue; /* optimizer state: a new optimizer at the phase's end */
        DnStTensor *tb = dn_safetensors_find (b, ta->name);
        g_assert_nonnull (tb);
        size_t bytes = (size_t) dn_shape_numel (&ta->shape) * sizeof (float);
        gboolean same = memcmp (ta->data, tb->data, bytes) == 0;
        if (of_set (ta->name, set)) {
            moved = moved || !same;
        } else {
            if (!same)
                g_error ("%s changed during the dendrite phase", ta->name);
            compared++;
        }
    }
    g_assert_cmpint (compared, >, 0);
    g_assert_true (moved == want_moved);
}

static char *reference_dir;
static Watch reference;

static const char *reference_run (void)
{
    if (reference_dir == NULL) {
        g_autoptr (DnExperiment) exp = experiment (30);
        char *out = dn_test_tmpdir ();
        run (exp, out, NULL, &reference);
        reference_dir = g_build_filename (out, "mlp-pb", NULL);
        g_free (out);
    }
    return reference_dir;
}

/* A phase starts, ends some epochs later and installs dendrite set 1; the neurons
 * and output weights do not move inside it, the candidates do. */
static void test_phase (void)
{
    reference_run ();
    g_assert_cmpint (reference.start_epoch, >, 0);
    g_assert_cmpint (reference.end_epoch, >, reference.start_epoch + 1);
    g_assert_cmpint (reference.dendrites_after_end, ==, 1);
    compare_checkpoints (reference.at_start, reference.at_end, 0, TRUE);
}

/* With a warm-up longer than the run, the candidates never move. */
static void test_warmup (void)
{
    g_autoptr (DnExperiment) exp = experiment (30);
    exp->selection.pb.initial_correlation_batches = 1000000;
    g_autofree char *out = dn_test_tmpdir ();
    Watch w = {0};
    reference_run ();
    w.stop_after = reference.start_epoch + 1;
    run (exp, out, NULL, &w);
    g_assert_cmpint (w.start_epoch, ==, reference.start_epoch);
    g_assert_nonnull (w.in_phase);
    compare_checkpoints (w.at_start, w.in_phase, 0, FALSE);
    /* and without the warm-up they did move in that epoch */
    compare_checkpoints (reference.at_start, reference.in_phase, 0, TRUE);
    watch_clear (&w);
    dn_test_tmpdir_remove (out);
}

static void assert_same_tensors (const char *a_dir, const char *b_dir, const char *name)
{
    g_autofree char *pa = g_build_filename (a_dir, name, NULL);
    g_autofree char *pb = g_build_filename (b_dir, name, NULL);
    dn_test_assert_same_tensors (pa, pb);
}

/* Stopped after the phase's first epoch (candidates learning) and resumed: the same
 * models and phase state. */
static void test_resume_in_phase (void)
{
    const char *ref = reference_run ();
    g_autoptr (DnExperiment) exp = experiment (30);
    g_autofree char *out = dn_test_tmpdir ();
    Watch w = {.stop_after = reference.start_epoch + 1};
    run (exp, out, NULL, &w);
    g_autofree char *dir = g_build_filename (out, "mlp-pb", NULL);
    {
        g_autofree char *path = g_build_filename (dir, "latest.safetensors", NULL);
        g_autoptr (DnSafetensors) st = dn_safetensors_read (path, NULL);
        g_assert_nonnull (
            strstr (dn_safetensors_metadata (st, "dendrite_pb"), "\"in_phase\":true"));
    }
    Watch again = {0};
    run (NULL, NULL, dir, &again);
    assert_same_tensors (ref, dir, "best_model.safetensors");
    assert_same_tensors (ref, dir, "final_clean_pai.safetensors");
    assert_same_tensors (ref, dir, "latest.safetensors");
    /* the phase state the runs ended with (after the phase: none left) */
    g_autofree char *la = g_build_filename (ref, "latest.safetensors", NULL);
    g_autofree char *lb = g_build_filename (dir, "latest.safetensors", NULL);
    g_autoptr (DnSafetensors) a = dn_safetensors_read (la, NULL);
    g_autoptr (DnSafetensors) b = dn_safetensors_read (lb, NULL);
    g_assert_nonnull (dn_safetensors_metadata (a, "dendrite_pb"));
    g_assert_cmpstr (dn_safetensors_metadata (a, "dendrite_pb"), ==,
                     dn_safetensors_metadata (b, "dendrite_pb"));
    watch_clear (&w);
    watch_clear (&again);
    dn_test_tmpdir_remove (out);
}

/* A small CNN (a dendritic convolution whose module is conv + batch norm, a ReLU and a
 * max pooling the combination computes, a dendritic linear layer) through its first
 * phase: it starts, ends and installs set 1; its neurons, output weights and running
 * statistics stay bit-identical inside it while the candidates learn. */
static void test_cnn_phase (void)
{
    g_autoptr (DnExperiment) exp = experiment (30);
    const char *net =
        "{\"input\": [1, 28, 28], \"layers\": ["
        "{\"name\": \"conv1\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3},"
        "{\"name\": \"conv1_bn\", \"type\": \"batchnorm2d\"},"
        "{\"name\": \"relu1\", \"type\": \"relu\"},"
        "{\"name\": \"pool\", \"type\": \"maxpool2d\", \"kernel_size\": 2},"
        "{\"name\": \"flatten\", \"type\": \"flatten\"},"
        "{\"name\": \"fc1\", \"type\": \"linear\", \"out_features\": 10}]}";
    g_autoptr (JsonParser) p = json_parser_new ();
    g_assert_true (json_parser_load_from_data (p, net, -1, NULL));
    json_node_unref (exp->network);
    exp->network = json_node_copy (json_parser_get_root (p));
    g_free (exp->name);
    exp->name = g_strdup ("cnn-pb");
    static const char *const group[] = {"conv1", "conv1_bn", NULL};
    g_free (exp->selection.groups);
    exp->selection.groups = g_new0 (char **, 2);
    exp->selection.groups[0] = g_strdupv ((char **) group);
    g_autofree char *out = dn_test_tmpdir ();
    Watch w = {.stop_at_end = TRUE};
    run (exp, out, NULL, &w);
    g_assert_cmpint (w.start_epoch, >, 0);
    g_assert_cmpint (w.end_epoch, >, w.start_epoch + 1);
    g_assert_cmpint (w.dendrites_after_end, ==, 1);
    g_test_message ("phase from epoch %d to %d", w.start_epoch, w.end_epoch);
    compare_checkpoints (w.at_start, w.at_end, 0, TRUE);
    watch_clear (&w);
    dn_test_tmpdir_remove (out);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_test_add_func ("/pb-run/snapshots", test_snapshots);
    g_test_add_func ("/pb-run/phase", test_phase);
    g_test_add_func ("/pb-run/warmup", test_warmup);
    g_test_add_func ("/pb-run/resume-in-phase", test_resume_in_phase);
    g_test_add_func ("/pb-run/cnn-phase", test_cnn_phase);
    int rc = g_test_run ();
    if (reference_dir != NULL) {
        g_autofree char *out = g_path_get_dirname (reference_dir);
        dn_test_tmpdir_remove (out);
        g_free (reference_dir);
    }
    watch_clear (&reference);
    return rc;
}
