/* dn-bench-cuda.c: MNIST CNN training throughput on the CUDA backend.
 *
 * The network of data/examples/mnist-cnn.json at batch 64 and 512, on random
 * MNIST-shaped data already on the device: forward, cross-entropy, backward and an
 * Adadelta step, the step every schedule runs. Reports the median samples/s of
 * `repeats` timed runs of `steps` steps each (after a warm-up run), timed with the
 * device synchronised before each clock reading.
 *
 * Usage: dn-bench-cuda EXAMPLES_DIR [--device cuda] [--steps 50] [--repeats 5] [--json FILE] */
#include "dn-backend.h"
#include "dn-network.h"
#include "dn-optim.h"
#include "dn-rng.h"
#include "dn-train-private.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>

static int compare_doubles (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

/* Median samples/s of `repeats` runs of `steps` training steps at `batch`. */
static double bench (JsonNode *desc, DnBackend *be, int batch, int steps, int repeats,
                     GError **error)
{
    g_autoptr (DnNetwork) net = dn_network_new_from_json (desc, be, error);
    if (net == NULL)
        return -1;
    DnRng rng;
    dn_rng_seed (&rng, 1);
    dn_network_init (net, &rng);
    if (!dn_network_reserve (net, batch, error))
        return -1;
    const size_t sample = 28 * 28;
    g_autofree float *xh = g_new (float, sample * batch);
    g_autofree int32_t *yh = g_new (int32_t, batch);
    for (size_t i = 0; i < sample * batch; i++)
        xh[i] = (float) (dn_rng_next (&rng) >> 40) / 16777216.0f;
    for (int i = 0; i < batch; i++)
        yh[i] = (int32_t) (dn_rng_next (&rng) % 10);
    float *x = be->alloc (be, sample * batch * sizeof (float));
    int32_t *y = be->alloc (be, batch * sizeof (int32_t));
    float *tg = be->alloc (be, (size_t) batch * 10 * sizeof (float));
    float *dl = be->alloc (be, (size_t) batch * 10 * sizeof (float));
    DnOptimConfig cfg;
    dn_optim_config_defaults (&cfg, DN_OPTIM_ADADELTA);
    DnOptimizer *opt = dn_optimizer_new (&cfg, be, net->n_params, error);
    if (x == NULL || y == NULL || tg == NULL || dl == NULL || opt == NULL) {
        if (opt != NULL)
            dn_optimizer_free (opt);
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "out of device memory");
        return -1;
    }
    be->upload (be, x, xh, sample * batch * sizeof (float));
    be->upload (be, y, yh, batch * sizeof (int32_t));
    dn_network_set_training (net, TRUE);
    g_autofree double *rates = g_new (double, repeats);
    for (int r = -1; r < repeats; r++) {
        be->synchronize (be);
        gint64 t0 = g_get_monotonic_time ();
        for (int s = 0; s < steps; s++) {
            double loss;
            const DnTensor *o = dn_network_forward (net, x, batch, (uint64_t) s);
            dn_compute_loss (be, DN_LOSS_CROSS_ENTROPY, batch, 10, o->data, y, 0.0f, tg, &loss,
                             dl);
            dn_network_zero_grad (net);
            dn_network_backward (net, dl, batch);
            dn_optimizer_step (opt, net->params, net->grads, 1.0);
        }
        be->synchronize (be);
        double secs = (g_get_monotonic_time () - t0) / 1e6;
        if (r >= 0)
            rates[r] = (double) steps * batch / secs;
    }
    const char *failed = dn_backend_take_error (be);
    dn_optimizer_free (opt);
    be->free (be, x);
    be->free (be, y);
    be->free (be, tg);
    be->free (be, dl);
    if (failed != NULL) {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the device failed: %s", failed);
        return -1;
    }
    qsort (rates, repeats, sizeof (double), compare_doubles);
    return rates[repeats / 2];
}

int main (int argc, char **argv)
{
    const char *device = "cuda", *json_path = NULL;
    int steps = 50, repeats = 5;
    GOptionEntry entries[] = {
        {"device", 0, 0, G_OPTION_ARG_STRING, &device, "cuda, cuda:N or cpu", "DEVICE"},
        {"steps", 0, 0, G_OPTION_ARG_INT, &steps, "Steps per timed run", "N"},
        {"repeats", 0, 0, G_OPTION_ARG_INT, &repeats, "Timed runs (median)", "N"},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &json_path, "Write the results here", "FILE"},
        {NULL}};
    g_autoptr (GOptionContext) ctx = g_option_context_new ("EXAMPLES_DIR");
    g_option_context_add_main_entries (ctx, entries, NULL);
    g_autoptr (GError) error = NULL;
    if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2 || steps < 1 ||
        repeats < 1) {
        fprintf (stderr, "dn-bench-cuda: %s\n", error ? error->message : "give EXAMPLES_DIR");
        return 2;
    }
    DnBackend *be = dn_backend_by_name (device, &error);
    if (be == NULL) {
        fprintf (stderr, "dn-bench-cuda: %s\n", error->message);
        return 1;
    }
    g_autofree char *path = g_build_filename (argv[1], "mnist-cnn.json", NULL);
    g_autoptr (JsonParser) p = json_parser_new ();
    if (!json_parser_load_from_file (p, path, &error)) {
        fprintf (stderr, "dn-bench-cuda: %s: %s\n", path, error->message);
        return 1;
    }
    JsonNode *desc = json_object_get_member (json_node_get_object (json_parser_get_root (p)),
                                             "network");
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "device");
    json_builder_add_string_value (b, device);
    const int batches[] = {64, 512};
    for (int i = 0; i < 2; i++) {
        double rate = bench (desc, be, batches[i], steps, repeats, &error);
        if (rate < 0) {
            fprintf (stderr, "dn-bench-cuda: batch %d: %s\n", batches[i], error->message);
            return 1;
        }
        printf ("%-44s %10.0f samples/s\n",
                batches[i] == 64 ? "train MNIST CNN, batch 64" : "train MNIST CNN, batch 512",
                rate);
        g_autofree char *key = g_strdup_printf ("cnn_batch_%d_samples_per_s", batches[i]);
        json_builder_set_member_name (b, key);
        json_builder_add_double_value (b, rate);
    }
    json_builder_end_object (b);
    if (json_path != NULL) {
        g_autoptr (JsonGenerator) gen = json_generator_new ();
        g_autoptr (JsonNode) root = json_builder_get_root (b);
        json_generator_set_root (gen, root);
        json_generator_set_pretty (gen, TRUE);
        if (!json_generator_to_file (gen, json_path, &error)) {
            fprintf (stderr, "dn-bench-cuda: %s\n", error->message);
            return 1;
        }
    }
    return 0;
}
