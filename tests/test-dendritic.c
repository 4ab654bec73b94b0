/* test-dendritic.c: the dendritic layer's two ways of running its copies.
 *
 * A module that starts with a convolution runs the first layers of its k + 1
 * copies as one convolution (dn-layer-dendritic.c); one copy after the other
 * must give the same outputs, parameter and input gradients and running
 * statistics, up to float rounding (test-gradcheck.c checks the fused path,
 * the default, against finite differences, and linear modules, which always
 * run copy by copy). The networks here are big enough for every op to split
 * its work across threads, and the same thread count must give bit-identical
 * numbers.
 */
#include "dn-dendrite.h"
#include "dn-test-util.h"

#include <string.h>

#define BATCH 40

typedef struct {
    const char *path;
    const char *layers; /* the dendritic node's "layers" */
    int k;
} FusedCase;

static const FusedCase cases[] = {
    {"conv2d-k1",
     "[{\"type\": \"conv2d\", \"out_channels\": 6, \"kernel_size\": 3, "
     "\"padding\": 1}]",
     1},
    {"conv2d-k3",
     "[{\"type\": \"conv2d\", \"out_channels\": 6, \"kernel_size\": 3, "
     "\"padding\": 1}]",
     3},
    {"conv2d-stride-dilation-nobias-k3",
     "[{\"type\": \"conv2d\", \"out_channels\": 5, \"kernel_size\": [3, 2], \"stride\": 2, "
     "\"padding\": [2, 1], \"dilation\": 2, \"bias\": false}]",
     3},
    {"conv2d-bn-k1",
     "[{\"type\": \"conv2d\", \"out_channels\": 6, \"kernel_size\": 3, "
     "\"padding\": 1}, {\"type\": \"batchnorm2d\"}]",
     1},
    {"conv2d-bn-k3",
     "[{\"type\": \"conv2d\", \"out_channels\": 6, \"kernel_size\": 3, "
     "\"padding\": 1}, {\"type\": \"batchnorm2d\"}]",
     3},
};

/* conv0 feeds the dendritic node, so its gradients check the node's input gradient. */
static DnNetwork *build (const FusedCase *c, gboolean fused)
{
    g_autofree char *json = g_strdup_printf (
        "{\"input\": [3, 12, 12], \"layers\": ["
        "{\"name\": \"conv0\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, "
        "\"padding\": 1},"
        "{\"name\": \"relu0\", \"type\": \"relu\"},"
        "{\"name\": \"d\", \"type\": \"dendritic\", \"dendrites\": %d, \"layers\": %s}]}",
        c->k, c->layers);
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (p, json, -1, &error);
    g_assert_no_error (error);
    DnNetwork *net = dn_network_new_from_json (json_parser_get_root (p), dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_true (dn_network_reserve (net, BATCH, &error));
    DnRng rng;
    dn_rng_seed (&rng, 7);
    dn_network_init (net, &rng);
    /* T and D2D start at zero; trained values make every path carry gradient */
    for (size_t i = 0; i < net->n_params; i++)
        net->params[i] = 0.5f * dn_rng_normal (&rng);
    dn_dendritic_set_fused (dn_network_find_node (net, "d")->layer, fused);
    dn_network_set_training (net, TRUE);
    return net;
}

typedef struct {
    float *out, *grads, *buffers;
    size_t n_out;
} Step;

/* One training forward and backward on fixed data. */
static Step step (DnNetwork *net)
{
    DnRng rng;
    dn_rng_seed (&rng, 8);
    size_t n_in = (size_t) BATCH * dn_shape_numel (&net->input_shape);
    g_autofree float *x = g_new (float, n_in);
    for (size_t i = 0; i < n_in; i++)
        x[i] = dn_rng_normal (&rng);
    const DnTensor *y = dn_network_forward (net, x, BATCH, 1);
    Step s;
    s.n_out = (size_t) dn_tensor_numel (y);
    s.out = g_memdup2 (y->data, s.n_out * sizeof (float));
    g_autofree float *dy = g_new (float, s.n_out);
    for (size_t i = 0; i < s.n_out; i++)
        dy[i] = dn_rng_normal (&rng);
    dn_network_zero_grad (net);
    dn_network_backward (net, dy, BATCH);
    s.grads = g_memdup2 (net->grads, net->n_params * sizeof (float));
    s.buffers = g_memdup2 (net->buffers, MAX (net->n_buffers, 1) * sizeof (float));
    return s;
}

static void step_clear (Step *s)
{
    g_free (s->out);
    g_free (s->grads);
    g_free (s->buffers);
}

static void test_fused (gconstpointer data)
{
    const FusedCase *c = data;
    g_autoptr (DnNetwork) fused = build (c, TRUE);
    g_autoptr (DnNetwork) copies = build (c, FALSE);
    Step a = step (fused), b = step (copies);
    g_assert_cmpuint (a.n_out, ==, b.n_out);
    dn_assert_floats_close (a.out, b.out, a.n_out, 1e-5, 1e-5);
    dn_assert_floats_close (a.grads, b.grads, fused->n_params, 1e-4, 1e-4);
    dn_assert_floats_close (a.buffers, b.buffers, fused->n_buffers, 1e-5, 1e-5);
    /* the same numbers again, to the bit */
    Step again = step (fused);
    g_assert_cmpmem (again.out, a.n_out * sizeof (float), a.out, a.n_out * sizeof (float));
    g_assert_cmpmem (again.grads, fused->n_params * sizeof (float), a.grads,
                     fused->n_params * sizeof (float));
    step_clear (&a);
    step_clear (&b);
    step_clear (&again);
}

/* The combination splits samples (forward) and channels (backward) across threads. */
static void test_threads (void)
{
    const FusedCase *c = &cases[4];
    int saved = dn_backend_cpu_get_threads ();
    dn_backend_cpu_set_threads (1);
    g_autoptr (DnNetwork) one = build (c, TRUE);
    Step a = step (one);
    dn_backend_cpu_set_threads (2);
    g_autoptr (DnNetwork) two = build (c, TRUE);
    Step b = step (two);
    dn_backend_cpu_set_threads (saved);
    dn_assert_floats_close (a.out, b.out, a.n_out, 1e-5, 1e-5);
    dn_assert_floats_close (a.grads, b.grads, one->n_params, 1e-4, 1e-4);
    step_clear (&a);
    step_clear (&b);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
        g_autofree char *path = g_strdup_printf ("/engine/dendritic/fused/%s", cases[i].path);
        g_test_add_data_func (path, &cases[i], test_fused);
    }
    g_test_add_func ("/engine/dendritic/threads", test_threads);
    return g_test_run ();
}
