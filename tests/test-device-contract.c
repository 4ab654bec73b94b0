/* test-device-contract.c: the device contract of dn-backend.h, proved on the CPU.
 *
 * Every pointer that reaches a layer or a backend op must be memory of that backend.
 * The checking backend (dn-backend-check.h) fails on any pointer its alloc did not
 * hand out, so a CNN, a dendritic CNN, an Active Dendrites network and a network of
 * the remaining layer kinds train for a few steps through the engine's own calls
 * (forward, loss, correct count, backward, optimizer step, with batches uploaded here)
 * and are evaluated with dn_evaluate through it: a host pointer anywhere in those
 * paths fails the test with the op and the argument. The last tests show the checker
 * catches each kind of mistake. */
#include "dn-backend-check.h"
#include "dn-dendrite.h"
#include "dn-error.h"
#include "dn-model.h"
#include "dn-optim.h"
#include "dn-test-util.h"
#include "dn-train-private.h"

#include <math.h>
#include <string.h>

#define BATCH 32
#define STEPS 3
#define N_TRAIN (BATCH * STEPS)
#define N_EVAL 100 /* not a multiple of the batch: the last batch is a short one */

static DnDataset *train_set, *eval_set;
static DnNormalize norm;

static void load_data (void)
{
    g_autofree char *dir = dn_test_data_path ("datasets/mnist-10k");
    g_autoptr (GError) error = NULL;
    g_autoptr (DnDataset) all = dn_dataset_load_idx_dir (dir, "train", &error);
    g_assert_no_error (error);
    int idx[N_TRAIN + N_EVAL];
    for (int i = 0; i < N_TRAIN + N_EVAL; i++)
        idx[i] = i;
    train_set = dn_dataset_subset (all, idx, N_TRAIN, &error);
    g_assert_no_error (error);
    eval_set = dn_dataset_subset (all, idx + N_TRAIN, N_EVAL, &error);
    g_assert_no_error (error);
    dn_dataset_compute_normalize (train_set, &norm);
}

static DnNetwork *network (const char *text, DnBackend *be)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) desc = json_from_string (text, &error);
    g_assert_no_error (error);
    DnNetwork *net = dn_network_new_from_json (desc, be, &error);
    g_assert_no_error (error);
    return net;
}

/* A network initialised from `seed`, with activations for batches of up to BATCH + 16. */
static DnNetwork *ready_network (const char *text, DnBackend *be, guint64 seed)
{
    DnNetwork *net = network (text, be);
    DnRng rng;
    dn_rng_seed (&rng, seed);
    dn_network_init (net, &rng);
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_network_reserve (net, BATCH + 16, &error));
    g_assert_no_error (error);
    return net;
}

static void assert_clean (DnBackend *be)
{
    g_autofree char *found = dn_backend_check_violations (be);
    g_assert_cmpstr (found, ==, NULL);
    g_assert_cmpuint (dn_backend_check_n_violations (be), ==, 0);
}

/* No violation, and every block freed again, through the checking backend; frees it. */
static void check_done (DnBackend *be)
{
    assert_clean (be);
    g_assert_cmpuint (dn_backend_check_n_blocks (be), ==, 0);
    dn_backend_check_free (be);
}

/* ---- training through the engine's calls ---- */

/* A batch in backend memory, filled from host copies through be->upload. */
typedef struct {
    DnBackend *be;
    int sample, cols;
    float *x, *targets, *dlogits; /* backend */
    int32_t *y;                   /* backend */
    float *xh;                    /* host */
    int32_t *yh;                  /* host */
} Batch;

static void batch_init (Batch *b, DnBackend *be, DnNetwork *net)
{
    DnShape out = dn_network_output_shape (net);
    b->be = be;
    b->sample = (int) dn_shape_numel (&net->input_shape);
    b->cols = (int) dn_shape_numel (&out);
    b->x = be->alloc (be, (size_t) BATCH * b->sample * sizeof (float));
    b->y = be->alloc (be, BATCH * sizeof (int32_t));
    b->targets = be->alloc (be, (size_t) BATCH * b->cols * sizeof (float));
    b->dlogits = be->alloc (be, (size_t) BATCH * b->cols * sizeof (float));
    b->xh = g_new (float, (size_t) BATCH * b->sample);
    b->yh = g_new (int32_t, BATCH);
    g_assert_true (b->x != NULL && b->y != NULL && b->targets != NULL && b->dlogits != NULL);
}

static void batch_clear (Batch *b)
{
    b->be->free (b->be, b->x);
    b->be->free (b->be, b->y);
    b->be->free (b->be, b->targets);
    b->be->free (b->be, b->dlogits);
    g_free (b->xh);
    g_free (b->yh);
}

/* Training samples [start, start + BATCH), normalised, into backend memory. */
static void batch_load (Batch *b, int start)
{
    int idx[BATCH];
    for (int i = 0; i < BATCH; i++)
        idx[i] = start + i;
    dn_dataset_get_batch (train_set, idx, BATCH, &norm, b->xh, b->yh);
    b->be->upload (b->be, b->x, b->xh, (size_t) BATCH * b->sample * sizeof (float));
    b->be->upload (b->be, b->y, b->yh, BATCH * sizeof (int32_t));
}

/* Forward, loss, correct count, zero grad and backward on the loaded batch. */
static double forward_backward (DnNetwork *net, Batch *b, DnLossKind loss, uint64_t seed)
{
    DnBackend *be = net->backend;
    dn_network_set_training (net, TRUE);
    const DnTensor *out = dn_network_forward (net, b->x, BATCH, seed);
    double l = NAN;
    dn_compute_loss (be, loss, BATCH, b->cols, out->data, b->y, 0.0f, b->targets, &l, b->dlogits);
    g_assert_true (isfinite (l));
    int correct = be->count_correct (be, BATCH, b->cols, out->data, b->y);
    g_assert_cmpint (correct, >=, 0);
    g_assert_cmpint (correct, <=, BATCH);
    dn_network_zero_grad (net);
    dn_network_backward (net, b->dlogits, BATCH);
    return l;
}

/* STEPS steps of forward, backward and a whole-arena optimizer step. */
static void train (DnNetwork *net, DnOptimizer *opt, DnLossKind loss, double lr)
{
    Batch b;
    batch_init (&b, net->backend, net);
    for (int s = 0; s < STEPS; s++) {
        batch_load (&b, s * BATCH);
        forward_backward (net, &b, loss, 1000 + (uint64_t) s);
        dn_optimizer_step (opt, net->params, net->grads, lr);
    }
    batch_clear (&b);
}

static DnOptimizer *optimizer (DnNetwork *net, DnOptimKind kind)
{
    DnOptimConfig cfg;
    dn_optim_config_defaults (&cfg, kind);
    g_autoptr (GError) error = NULL;
    DnOptimizer *opt = dn_optimizer_new (&cfg, net->backend, net->n_params, &error);
    g_assert_no_error (error);
    return opt;
}

/* dn_evaluate on the evaluation split: a finite loss and an accuracy in [0, 100]. */
static double evaluate (DnNetwork *net, DnLossKind loss)
{
    double acc = NAN, mean_loss = NAN;
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_evaluate (net, eval_set, &norm, loss, BATCH + 16, &acc, &mean_loss, &error));
    g_assert_no_error (error);
    g_assert_true (isfinite (mean_loss));
    g_assert_cmpfloat (acc, >=, 0.0);
    g_assert_cmpfloat (acc, <=, 100.0);
    return acc;
}

/* The trainable parameters, copied to the host. */
static float *download_params (DnNetwork *net)
{
    float *h = g_new (float, MAX (net->n_params, 1));
    net->backend->download (net->backend, h, net->params, net->n_params * sizeof (float));
    return h;
}

/* ---- the networks ---- */

/* conv + relu + maxpool (fused), conv + batch norm + relu + avgpool, dropout, linear. */
static const char cnn_json[] =
    "{\"input\": [1, 28, 28], \"layers\": ["
    "{\"name\": \"conv1\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3},"
    "{\"name\": \"relu1\", \"type\": \"relu\"},"
    "{\"name\": \"pool1\", \"type\": \"maxpool2d\", \"kernel_size\": 2},"
    "{\"name\": \"conv2\", \"type\": \"conv2d\", \"out_channels\": 8, \"kernel_size\": 3, "
    " \"padding\": 1},"
    "{\"name\": \"bn2\", \"type\": \"batchnorm2d\"},"
    "{\"name\": \"relu2\", \"type\": \"relu\"},"
    "{\"name\": \"pool2\", \"type\": \"avgpool2d\", \"kernel_size\": 2},"
    "{\"name\": \"drop1\", \"type\": \"dropout\", \"p\": 0.25},"
    "{\"name\": \"flatten\", \"type\": \"flatten\"},"
    "{\"name\": \"fc1\", \"type\": \"linear\", \"out_features\": 32},"
    "{\"name\": \"relu3\", \"type\": \"relu\"},"
    "{\"name\": \"drop2\", \"type\": \"dropout\", \"p\": 0.5},"
    "{\"name\": \"fc2\", \"type\": \"linear\", \"out_features\": 10}]}";

/* A CNN trains and evaluates through the checking backend with the CPU's numbers, bit
 * for bit; its model file saves from and loads into backend memory. */
static void test_cnn (void)
{
    DnBackend *be = dn_backend_check_new (dn_backend_cpu ());
    g_autofree float *checked = NULL, *plain = NULL;
    double acc;
    {
        g_autoptr (DnNetwork) net = ready_network (cnn_json, be, 7);
        DnOptimizer *opt = optimizer (net, DN_OPTIM_ADADELTA);
        train (net, opt, DN_LOSS_CROSS_ENTROPY, 1.0);
        acc = evaluate (net, DN_LOSS_CROSS_ENTROPY);
        checked = download_params (net);

        g_autofree char *dir = dn_test_tmpdir ();
        g_autofree char *path = g_build_filename (dir, "cnn.safetensors", NULL);
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_model_save_checkpoint (net, opt, path, NULL, &error));
        g_assert_no_error (error);
        g_autoptr (DnNetwork) loaded = dn_model_load (path, be, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpfloat (evaluate (loaded, DN_LOSS_CROSS_ENTROPY), ==, acc);
        dn_optimizer_free (opt);
        dn_test_tmpdir_remove (dir);
    }
    check_done (be);

    /* the same run on the CPU backend */
    g_autoptr (DnNetwork) net = ready_network (cnn_json, dn_backend_cpu (), 7);
    DnOptimizer *opt = optimizer (net, DN_OPTIM_ADADELTA);
    train (net, opt, DN_LOSS_CROSS_ENTROPY, 1.0);
    g_assert_cmpfloat (evaluate (net, DN_LOSS_CROSS_ENTROPY), ==, acc);
    plain = download_params (net);
    g_assert_cmpmem (checked, net->n_params * sizeof (float), plain,
                     net->n_params * sizeof (float));
    dn_optimizer_free (opt);
}

/* A dendritic CNN: the convolutions and linear layers wrapped as neuron modules, trained,
 * given a dendrite set, trained again, given a second (cascade weights), trained and
 * evaluated; the tracker's correlation reads the dendrites through download. */
static void test_dendritic_cnn (void)
{
    DnBackend *be = dn_backend_check_new (dn_backend_cpu ());
    {
        g_autoptr (GError) error = NULL;
        g_autoptr (JsonNode) desc = json_from_string (cnn_json, &error);
        g_assert_no_error (error);
        DnDendriteSelection sel;
        dn_dendrite_selection_init (&sel);
        g_autoptr (JsonNode) wrapped = dn_dendrite_wrap_network (desc, &sel, NULL, &error);
        dn_dendrite_selection_clear (&sel);
        g_assert_no_error (error);
        g_autoptr (DnNetwork) net = dn_network_new_from_json (wrapped, be, &error);
        g_assert_no_error (error);
        g_assert_cmpint (dn_network_n_dendritic (net), ==, 4);
        DnRng rng;
        dn_rng_seed (&rng, 3);
        dn_network_init (net, &rng);
        for (int set = 0; set <= 2; set++) {
            if (set > 0) {
                DnNetwork *bigger = dn_network_add_dendrites (net, &rng, &error);
                g_assert_no_error (error);
                dn_network_free (net);
                net = bigger;
            }
            g_assert_cmpint (dn_network_dendrite_count (net), ==, set);
            g_assert_true (dn_network_reserve (net, BATCH + 16, &error));
            DnOptimizer *opt = optimizer (net, DN_OPTIM_ADAM);
            train (net, opt, DN_LOSS_CROSS_ENTROPY, 1e-3);
            dn_optimizer_free (opt);
            for (int i = 0; set > 0 && i < dn_network_n_nodes (net); i++) {
                DnNode *node = dn_network_node (net, i);
                if (dn_dendritic_count (node->layer) > 0) {
                    double c = dn_dendritic_correlation (node->layer, node->dout.data, BATCH);
                    g_assert_true (isfinite (c));
                }
            }
            evaluate (net, DN_LOSS_CROSS_ENTROPY);
        }
    }
    check_done (be);
}

/* The layers of data/examples/continual/prototype_5.json, 256 units wide. */
static const char active_json[] =
    "{\"input\": [1, 28, 28], \"layers\": ["
    "{\"name\": \"flatten\", \"type\": \"flatten\"},"
    "{\"name\": \"fc1\", \"type\": \"active_dendrite\", \"out_features\": 256, "
    " \"weight_sparsity\": 0.5, \"segments\": 5, \"context_dim\": 784, "
    " \"context_density\": 0.1, \"gating\": \"abs_max\"},"
    "{\"name\": \"kwta1\", \"type\": \"kwta\", \"percent_on\": 0.05},"
    "{\"name\": \"fc2\", \"type\": \"active_dendrite\", \"out_features\": 256, "
    " \"weight_sparsity\": 0.5, \"input_density\": 0.05, \"segments\": 5, "
    " \"context_dim\": 784, \"context_density\": 0.1, \"gating\": \"abs_max\"},"
    "{\"name\": \"kwta2\", \"type\": \"kwta\", \"percent_on\": 0.05},"
    "{\"name\": \"head\", \"type\": \"sparse_linear\", \"out_features\": 10, "
    " \"weight_sparsity\": 0.5, \"input_density\": 0.05}]}";

#define N_PROTOS 2

/* An Active Dendrites network trained as the continual loop trains it: one prototype
 * context per task (a table in backend memory), segment responses kept between batches
 * with only the rows an optimizer step moved recomputed (a row list uploaded by the
 * layer), row-tracked optimizer steps over the live spans; then evaluated on one
 * context with dn_evaluate and on a table of contexts picked per sample. */
static void test_active_dendrites (void)
{
    DnBackend *be = dn_backend_check_new (dn_backend_cpu ());
    {
        g_autoptr (DnNetwork) net = ready_network (active_json, be, 5);
        g_assert_cmpint (net->n_tracked, ==, 2);
        const int dim = dn_network_context_dim (net);
        g_assert_cmpint (dim, ==, 784);

        /* prototypes: the mean training image, and its mirror image as a second task's */
        g_autofree float *protos = g_new0 (float, (size_t) N_PROTOS *dim);
        Batch b;
        batch_init (&b, be, net);
        for (int s = 0; s < STEPS; s++) {
            int idx[BATCH];
            for (int i = 0; i < BATCH; i++)
                idx[i] = s * BATCH + i;
            dn_dataset_get_batch (train_set, idx, BATCH, &norm, b.xh, b.yh);
            for (int i = 0; i < BATCH * dim; i++)
                protos[i % dim] += b.xh[i] / N_TRAIN;
        }
        for (int i = 0; i < dim; i++)
            protos[dim + i] = protos[dim - 1 - i];
        float *protos_dev = be->alloc (be, (size_t) N_PROTOS * dim * sizeof (float));
        be->upload (be, protos_dev, protos, (size_t) N_PROTOS * dim * sizeof (float));

        DnOptimizer *opt = optimizer (net, DN_OPTIM_ADAM);
        dn_network_forget_live_rows (net);
        g_assert_true (dn_optimizer_spans_exact (opt));
        for (int task = 0; task < N_PROTOS; task++) {
            dn_network_set_contexts (net, protos_dev + (size_t) task * dim, 1, dim);
            net->ctx.segment_reuse = (guint64) task + 1;
            for (int s = 0; s < STEPS; s++) {
                batch_load (&b, s * BATCH);
                forward_backward (net, &b, DN_LOSS_CROSS_ENTROPY, 77 + (uint64_t) s);
                g_autoptr (GArray) spans = dn_network_live_spans (net);
                dn_optimizer_step_spans (opt, net->params, net->grads, 5e-4,
                                         (const size_t *) spans->data, (int) spans->len / 2);
                dn_network_mark_stepped_rows (net, FALSE);
            }
            net->ctx.segment_reuse = 0;
        }
        dn_optimizer_free (opt);

        /* one context for every sample */
        dn_network_set_contexts (net, protos_dev, 1, dim);
        evaluate (net, DN_LOSS_CROSS_ENTROPY);

        /* a table of contexts, one picked per sample */
        g_autofree int32_t *pick = g_new (int32_t, BATCH);
        for (int i = 0; i < BATCH; i++)
            pick[i] = i % N_PROTOS;
        int32_t *pick_dev = be->alloc (be, BATCH * sizeof (int32_t));
        be->upload (be, pick_dev, pick, BATCH * sizeof (int32_t));
        dn_network_set_contexts (net, protos_dev, N_PROTOS, dim);
        dn_network_set_context_index (net, pick_dev);
        dn_network_set_training (net, FALSE);
        batch_load (&b, 0);
        const DnTensor *out = dn_network_forward (net, b.x, BATCH, 0);
        int correct = be->count_correct (be, BATCH, b.cols, out->data, b.y);
        g_assert_cmpint (correct, >=, 0);
        dn_network_set_context_index (net, NULL);
        dn_network_set_contexts (net, NULL, 0, 0);
        be->free (be, pick_dev);
        be->free (be, protos_dev);
        batch_clear (&b);
    }
    check_done (be);
}

/* The other layer kinds (a strided convolution, layer norm, adaptive pooling, 1-d batch
 * norm, the activations, softmax and log-softmax, residual add and concat), with every
 * other loss and optimizer. */
static const char kinds_json[] =
    "{\"input\": [1, 28, 28], \"layers\": ["
    "{\"name\": \"conv\", \"type\": \"conv2d\", \"out_channels\": 3, \"kernel_size\": 5, "
    " \"stride\": 2, \"groups\": 1},"
    "{\"name\": \"ln\", \"type\": \"layernorm\"},"
    "{\"name\": \"gap\", \"type\": \"adaptive_avgpool2d\", \"output_size\": 1},"
    "{\"name\": \"flat\", \"type\": \"flatten\"},"
    "{\"name\": \"fcin\", \"type\": \"linear\", \"out_features\": 16, \"inputs\": \"flat\"},"
    "{\"name\": \"flat0\", \"type\": \"flatten\", \"inputs\": \"input\"},"
    "{\"name\": \"fcx\", \"type\": \"linear\", \"out_features\": 16},"
    "{\"name\": \"sum\", \"type\": \"add\", \"inputs\": [\"fcin\", \"fcx\"]},"
    "{\"name\": \"bn\", \"type\": \"batchnorm1d\"},"
    "{\"name\": \"leaky\", \"type\": \"leaky_relu\"},"
    "{\"name\": \"sig\", \"type\": \"sigmoid\", \"inputs\": \"leaky\"},"
    "{\"name\": \"tanh\", \"type\": \"tanh\", \"inputs\": \"leaky\"},"
    "{\"name\": \"gelu\", \"type\": \"gelu\", \"inputs\": \"leaky\"},"
    "{\"name\": \"cat\", \"type\": \"concat\", \"inputs\": [\"sig\", \"tanh\", \"gelu\"]},"
    "{\"name\": \"sm\", \"type\": \"softmax\"},"
    "{\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 10}%s]}";

static void test_layer_kinds (void)
{
    static const struct {
        DnLossKind loss;
        DnOptimKind optim;
        double lr;
        const char *tail;
    } runs[] = {
        {DN_LOSS_NLL, DN_OPTIM_SGD, 0.05, ", {\"name\": \"lsm\", \"type\": \"log_softmax\"}"},
        {DN_LOSS_MSE, DN_OPTIM_RMSPROP, 1e-3, ""},
        {DN_LOSS_BCE_LOGITS, DN_OPTIM_ADAMW, 1e-3, ""},
    };
    for (gsize r = 0; r < G_N_ELEMENTS (runs); r++) {
        DnBackend *be = dn_backend_check_new (dn_backend_cpu ());
        {
            g_autofree char *text = g_strdup_printf (kinds_json, runs[r].tail);
            g_autoptr (DnNetwork) net = ready_network (text, be, 11);
            g_autoptr (GError) error = NULL;
            DnOptimConfig cfg;
            dn_optim_config_defaults (&cfg, runs[r].optim);
            cfg.momentum = runs[r].optim == DN_OPTIM_SGD ? 0.9 : 0.5; /* a momentum buffer */
            cfg.centered = TRUE;                                      /* RMSprop's grad_avg */
            cfg.amsgrad = TRUE;                                       /* AdamW's vmax */
            DnOptimizer *opt = dn_optimizer_new (&cfg, be, net->n_params, &error);
            g_assert_no_error (error);
            train (net, opt, runs[r].loss, runs[r].lr);
            dn_optimizer_free (opt);
            evaluate (net, runs[r].loss);
        }
        check_done (be);
    }
}

/* ---- the checker catches what it is for ---- */

/* One violation expected from `call`, its message matching `pattern`. */
#define EXPECT_VIOLATION(be, pattern, call)                                                        \
    do {                                                                                           \
        guint64 before_ = dn_backend_check_n_violations (be);                                      \
        g_test_expect_message ("dendrite", G_LOG_LEVEL_CRITICAL, "backend check: " pattern);       \
        call;                                                                                      \
        g_test_assert_expected_messages ();                                                        \
        g_assert_cmpuint (dn_backend_check_n_violations (be), ==, before_ + 1);                    \
    } while (0)

/* A host pointer where the network reads its input, or where the loss reads labels, is
 * caught by the op that receives it: what the evaluation did before it uploaded. */
static void test_catches_host_batch (void)
{
    DnBackend *be = dn_backend_check_new (dn_backend_cpu ());
    {
        g_autoptr (DnNetwork) net =
            network ("{\"input\": [4], \"layers\": [{\"name\": \"fc\", \"type\": \"linear\", "
                     "\"out_features\": 3}]}",
                     be);
        g_autoptr (GError) error = NULL;
        g_assert_true (dn_network_reserve (net, 2, &error));
        float x[8] = {1, 2, 3, 4, 5, 6, 7, 8};
        int32_t labels[2] = {0, 2};
        const DnTensor *out = NULL;
        EXPECT_VIOLATION (be, "gemm: argument a (*) is not memory of the backend*",
                          out = dn_network_forward (net, x, 2, 0));
        double loss = 0.0;
        EXPECT_VIOLATION (be, "cross_entropy: argument labels (*) is not memory*",
                          dn_compute_loss (be, DN_LOSS_CROSS_ENTROPY, 2, 3, out->data, labels, 0.0f,
                                           NULL, &loss, NULL));
        EXPECT_VIOLATION (be, "count_correct: argument labels*",
                          be->count_correct (be, 2, 3, out->data, labels));
        /* backend memory, but one sample where the batch has two */
        float *one = be->alloc (be, 4 * sizeof (float));
        EXPECT_VIOLATION (be, "gemm: argument a (*) needs 32 bytes, but its block * ends 16*",
                          dn_network_forward (net, one, 2, 0));
        be->free (be, one);
        g_autofree char *found = dn_backend_check_violations (be);
        g_assert_nonnull (strstr (found, "gemm: argument a"));
        g_assert_nonnull (strstr (found, "cross_entropy: argument labels"));
    }
    g_assert_cmpuint (dn_backend_check_n_violations (be), ==, 4);
    dn_backend_check_reset (be);
    assert_clean (be);
    dn_backend_check_free (be);
}

/* Each kind of violation, named with its op and argument. */
static void test_catches_each_kind (void)
{
    DnBackend *be = dn_backend_check_new (dn_backend_cpu ());
    float *dev = be->alloc (be, 16 * sizeof (float));
    float *other = be->alloc (be, 16 * sizeof (float));
    float host[16] = {0};
    g_assert_true (dn_backend_check_owns (be, dev, 16 * sizeof (float)));
    g_assert_true (dn_backend_check_owns (be, dev + 4, 12 * sizeof (float)));
    g_assert_false (dn_backend_check_owns (be, dev + 4, 13 * sizeof (float)));
    g_assert_false (dn_backend_check_owns (be, host, sizeof (float)));

    /* allowed: whole blocks, parts of them, NULL where the op takes it */
    be->gemm (be, FALSE, FALSE, 4, 4, 4, 1.0f, dev, 4, other, 4, 0.0f, other, 4);
    be->gemm (be, TRUE, TRUE, 2, 3, 4, 1.0f, dev + 8, 2, other + 4, 4, 0.0f, dev, 3);
    be->upload (be, dev, host, sizeof host);
    be->download (be, host, other, sizeof host);
    be->act_backward (be, DN_ACT_RELU, 0.0f, 16, dev, NULL, other, dev);
    assert_clean (be);

    EXPECT_VIOLATION (be, "gemm: argument b (*) is not memory of the backend*",
                      be->gemm (be, FALSE, FALSE, 4, 4, 4, 1.0f, dev, 4, host, 4, 0.0f, other, 4));
    /* op(a) of a transposed (4 x 4) a with lda 5 reaches 3 * 5 + 4 = 19 floats */
    EXPECT_VIOLATION (be, "gemm: argument a (*) needs 76 bytes, but its block * ends 64 bytes*",
                      be->gemm (be, TRUE, FALSE, 4, 4, 4, 1.0f, dev, 5, other, 4, 0.0f, other, 4));
    EXPECT_VIOLATION (be, "zero: argument x (*) needs 68 bytes*", be->zero (be, dev, 17));
    EXPECT_VIOLATION (be, "axpy: argument x is NULL*", be->axpy (be, 4, 1.0f, NULL, dev));
    EXPECT_VIOLATION (be, "act_backward: argument y is NULL*",
                      be->act_backward (be, DN_ACT_SIGMOID, 0.0f, 16, dev, NULL, other, dev));
    EXPECT_VIOLATION (be, "upload: argument host_src (*) is memory of the backend*",
                      be->upload (be, dev, other, sizeof host));
    EXPECT_VIOLATION (be, "download: argument src (*) is not memory of the backend*",
                      be->download (be, host, host + 8, 4));
    EXPECT_VIOLATION (be, "mse: argument loss (*) is memory of the backend*",
                      be->mse (be, 2, 2, dev, other, 1.0f, (double *) (void *) other, NULL));
    EXPECT_VIOLATION (be, "free: * is not the start of a block*", be->free (be, dev + 1));
    be->free (be, other);
    EXPECT_VIOLATION (be, "free: * is not the start of a block*", be->free (be, other));
    EXPECT_VIOLATION (be, "copy: argument src (*) is not memory of the backend*",
                      be->copy (be, dev, other, 4));
    g_assert_cmpuint (dn_backend_check_n_violations (be), ==, 11);
    g_autofree char *found = dn_backend_check_violations (be);
    g_auto (GStrv) lines = g_strsplit (g_strchomp (found), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 11);

    be->free (be, dev);
    g_assert_cmpuint (dn_backend_check_n_blocks (be), ==, 0);
    dn_backend_check_free (be);
}

/* `--device check` selects the process's checking backend over the CPU's. */
static void test_by_name (void)
{
    g_autoptr (GError) error = NULL;
    DnBackend *be = dn_backend_by_name ("check", &error);
    g_assert_no_error (error);
    g_assert_true (dn_backend_is_check (be));
    g_assert_cmpstr (be->name, ==, "check");
    g_assert_true (be == dn_backend_check ());
    g_assert_false (dn_backend_is_check (dn_backend_cpu ()));
    g_assert_null (dn_backend_by_name ("gpu", &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_assert_nonnull (strstr (error->message, "\"check\""));
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    dn_backend_cpu_set_threads (2);
    load_data ();
    g_test_add_func ("/engine/device-contract/cnn", test_cnn);
    g_test_add_func ("/engine/device-contract/dendritic-cnn", test_dendritic_cnn);
    g_test_add_func ("/engine/device-contract/active-dendrites", test_active_dendrites);
    g_test_add_func ("/engine/device-contract/layer-kinds", test_layer_kinds);
    g_test_add_func ("/engine/device-contract/catches-host-batch", test_catches_host_batch);
    g_test_add_func ("/engine/device-contract/catches-each-kind", test_catches_each_kind);
    g_test_add_func ("/engine/device-contract/by-name", test_by_name);
    int rc = g_test_run ();
    dn_dataset_free (train_set);
    dn_dataset_free (eval_set);
    return rc;
}
