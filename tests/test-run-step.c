/* test-run-step.c: the batch step every schedule shares (dn-run-step.h): the same
 * numbers whether the backend's memory is host memory (the batch written in place)
 * or not (the batch uploaded), no host buffer reaching an op, gradients zeroed each
 * step, a non-finite loss refused, and a batch no memory holds refused. */
#include "dn-error.h"
#include "dn-run-step.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

#define BATCH 5

/* A small CNN with dropout, so that the step's seed matters too. */
static const char *const NETWORK =
    "{\"input\": [1, 6, 6], \"layers\": ["
    " {\"name\": \"conv\", \"type\": \"conv2d\", \"in_channels\": 1, \"out_channels\": 2,"
    "  \"kernel_size\": 3},"
    " {\"name\": \"relu\", \"type\": \"relu\"},"
    " {\"name\": \"drop\", \"type\": \"dropout\", \"p\": 0.25},"
    " {\"name\": \"flatten\", \"type\": \"flatten\"},"
    " {\"name\": \"fc\", \"type\": \"linear\", \"in_features\": 32, \"out_features\": 3}]}";

/* ---- a backend whose memory is not host memory ----
 * The CPU's ops under host_memory = FALSE, with the ops that read the batch checking
 * that none is handed the caller's host buffers, and the uploads counted. */

static DnBackend staging;
static const void *host_x, *host_y;
static int host_pointers, conv_calls;
static gsize uploaded;

static void counting_upload (DnBackend *be, void *dst, const void *host_src, size_t bytes)
{
    uploaded += bytes;
    dn_backend_cpu ()->upload (be, dst, host_src, bytes);
}

static void checked_conv2d_forward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f,
                                    int batch, const float *x, const float *w, const float *bias,
                                    float *y, float *workspace)
{
    host_pointers += x == host_x;
    conv_calls++;
    dn_backend_cpu ()->conv2d_forward (be, g, f, batch, x, w, bias, y, workspace);
}

static void checked_conv2d_backward (DnBackend *be, const DnConvGeom *g, const DnConvFusion *f,
                                     int batch, const float *x, const float *w, const float *y,
                                     const float *dy, float *dx, float *dw, float *db,
                                     float *workspace)
{
    host_pointers += x == host_x;
    dn_backend_cpu ()->conv2d_backward (be, g, f, batch, x, w, y, dy, dx, dw, db, workspace);
}

static void checked_cross_entropy (DnBackend *be, int rows, int cols, const float *logits,
                                   const int32_t *labels, float label_smoothing, float scale,
                                   double *loss, float *dlogits)
{
    host_pointers += (const void *) labels == host_y;
    dn_backend_cpu ()->cross_entropy (be, rows, cols, logits, labels, label_smoothing, scale, loss,
                                      dlogits);
}

static int checked_count_correct (DnBackend *be, int rows, int cols, const float *logits,
                                  const int32_t *labels)
{
    host_pointers += (const void *) labels == host_y;
    return dn_backend_cpu ()->count_correct (be, rows, cols, logits, labels);
}

static DnBackend *staging_backend (void)
{
    staging = *dn_backend_cpu ();
    staging.host_memory = FALSE;
    staging.upload = counting_upload;
    staging.conv2d_forward = checked_conv2d_forward;
    staging.conv2d_backward = checked_conv2d_backward;
    staging.cross_entropy = checked_cross_entropy;
    staging.count_correct = checked_count_correct;
    return &staging;
}

/* ---- helpers ---- */

static DnNetwork *network (DnBackend *be)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonNode) desc = json_from_string (NETWORK, &error);
    g_assert_no_error (error);
    DnNetwork *net = dn_network_new_from_json (desc, be, &error);
    g_assert_no_error (error);
    DnRng rng;
    dn_rng_seed (&rng, 3);
    dn_network_init (net, &rng);
    g_assert_true (dn_network_reserve (net, BATCH, &error));
    dn_network_set_training (net, TRUE);
    return net;
}

static DnRunStep *step_for (DnNetwork *net, DnLossKind loss, float smoothing)
{
    g_autoptr (GError) error = NULL;
    DnRunStep *s = dn_run_step_new (net->backend, 36, 3, BATCH, loss, smoothing, &error);
    g_assert_no_error (error);
    g_assert_nonnull (s);
    return s;
}

/* A batch of n samples in the step's host buffers. */
static void fill_batch (DnRunStep *s, int n)
{
    for (int i = 0; i < n * 36; i++)
        s->x[i] = (float) ((i * 7) % 11) / 5.0f - 1.0f;
    for (int i = 0; i < n; i++)
        s->y[i] = i % 3;
}

/* ---- tests ---- */

static void same_numbers (DnLossKind kind, float smoothing)
{
    g_autoptr (DnNetwork) a = network (dn_backend_cpu ());
    g_autoptr (DnNetwork) b = network (staging_backend ());
    g_autoptr (DnRunStep) sa = step_for (a, kind, smoothing);
    g_autoptr (DnRunStep) sb = step_for (b, kind, smoothing);
    /* the CPU's memory is host memory: the batch is written where the network reads it */
    g_assert_true (sa->x == sa->x_dev && sa->y == sa->y_dev);
    g_assert_true (sb->x != sb->x_dev && sb->y != sb->y_dev);
    const int n = BATCH - 1; /* a last, partial batch */
    fill_batch (sa, n);
    fill_batch (sb, n);
    host_x = sb->x;
    host_y = sb->y;
    host_pointers = 0;
    conv_calls = 0;
    uploaded = 0;
    double la = 0.0, lb = 0.0;
    int ca = -1, cb = -1;
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_run_step (sa, a, n, 42, &la, &ca, &error));
    g_assert_no_error (error);
    g_assert_true (dn_run_step (sb, b, n, 42, &lb, &cb, &error));
    g_assert_no_error (error);
    g_assert_cmpint (conv_calls, ==, 1);
    g_assert_cmpint (host_pointers, ==, 0);
    g_assert_cmpuint (uploaded, ==, (gsize) n * 36 * sizeof (float) + (gsize) n * sizeof (int32_t));
    g_assert_true (memcmp (sb->x_dev, sb->x, (size_t) n * 36 * sizeof (float)) == 0);
    g_assert_true (isfinite (la) && la > 0.0);
    g_assert_cmpfloat (la, ==, lb);
    g_assert_cmpint (ca, ==, cb);
    g_assert_cmpint (ca, >=, 0);
    g_assert_cmpint (ca, <=, n);
    g_assert_cmpuint (a->n_params, ==, b->n_params);
    g_assert_true (memcmp (a->grads, b->grads, a->n_params * sizeof (float)) == 0);
    float sum = 0.0f;
    for (size_t i = 0; i < a->n_params; i++)
        sum += fabsf (a->grads[i]);
    g_assert_cmpfloat (sum, >, 0.0f);
}

static void test_uploaded_cross_entropy (void)
{
    same_numbers (DN_LOSS_CROSS_ENTROPY, 0.1f);
}

static void test_uploaded_mse (void)
{
    same_numbers (DN_LOSS_MSE, 0.0f);
}

/* backward adds into the gradients: a second step on the same batch and seed gives the
 * same gradients only because the step zeroes them first. */
static void test_zero_grad (void)
{
    g_autoptr (DnNetwork) net = network (dn_backend_cpu ());
    g_autoptr (DnRunStep) s = step_for (net, DN_LOSS_CROSS_ENTROPY, 0.0f);
    fill_batch (s, BATCH);
    double l1 = 0.0, l2 = 0.0;
    int c1 = 0, c2 = 0;
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_run_step (s, net, BATCH, 7, &l1, &c1, &error));
    g_autofree float *first = g_memdup2 (net->grads, net->n_params * sizeof (float));
    g_assert_true (dn_run_step (s, net, BATCH, 7, &l2, &c2, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (l1, ==, l2);
    g_assert_cmpint (c1, ==, c2);
    g_assert_true (memcmp (first, net->grads, net->n_params * sizeof (float)) == 0);
    /* another seed drops other units */
    g_assert_true (dn_run_step (s, net, BATCH, 8, &l2, &c2, &error));
    g_assert_cmpfloat (l1, !=, l2);
}

/* A NaN in the batch makes the loss NaN: a NUMERIC error, the gradients untouched. */
static void test_not_finite (void)
{
    g_autoptr (DnNetwork) net = network (dn_backend_cpu ());
    g_autoptr (DnRunStep) s = step_for (net, DN_LOSS_CROSS_ENTROPY, 0.0f);
    fill_batch (s, BATCH);
    double loss = 0.0;
    int correct = 0;
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_run_step (s, net, BATCH, 1, &loss, &correct, &error));
    g_autofree float *before = g_memdup2 (net->grads, net->n_params * sizeof (float));
    for (int i = 0; i < 36; i++)
        s->x[i] = NAN;
    g_assert_false (dn_run_step (s, net, BATCH, 1, &loss, &correct, &error));
    g_assert_error (error, DN_ERROR, DN_ERROR_NUMERIC);
    g_assert_cmpstr (error->message, ==,
                     "the training loss became NaN; lower the learning rate or check the data");
    g_assert_true (memcmp (before, net->grads, net->n_params * sizeof (float)) == 0);
}

/* 2^20 samples of 2^20 floats (4 TB) is an out-of-memory error, never an abort. */
static void test_out_of_memory (void)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (DnRunStep) s = dn_run_step_new (dn_backend_cpu (), (gsize) 1 << 20, 10, 1 << 20,
                                               DN_LOSS_CROSS_ENTROPY, 0.0f, &error);
    g_assert_null (s);
    g_assert_error (error, DN_ERROR, DN_ERROR_NOMEM);
    g_assert_cmpstr (error->message, ==,
                     "out of memory: a batch of 1048576 needs 4398046.5 MB for the inputs; lower "
                     "\"batch_size\"");
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    dn_backend_cpu_set_threads (1);
    g_test_add_func ("/engine/run-step/uploaded/cross-entropy", test_uploaded_cross_entropy);
    g_test_add_func ("/engine/run-step/uploaded/mse", test_uploaded_mse);
    g_test_add_func ("/engine/run-step/zero-grad", test_zero_grad);
    g_test_add_func ("/engine/run-step/not-finite", test_not_finite);
    g_test_add_func ("/engine/run-step/out-of-memory", test_out_of_memory);
    return g_test_run ();
}
