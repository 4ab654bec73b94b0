/* fuzz-experiment.c: experiment files and the networks they describe, under hostile bytes.
 *
 * The input is parsed as JSON (json-glib, as dn_experiment_load does) and read
 * with dn_experiment_from_json; what reads is written back and must read again,
 * and its network is built on the CPU backend. A network that builds must
 * survive its own to_json, and a small one is run forward and backward on a
 * batch of two, in eval and in training mode. A small network is also saved as a
 * model and loaded again: the description and every weight must come back
 * identical (whatever the writer writes, the reader reads). Every call must give a result or
 * an error, never both, never neither, and never crash or allocate what the
 * input merely claims. Built with -DDN_LIBFUZZER it is a libFuzzer target;
 * otherwise main() replays the files and folders given as arguments (the
 * corpus in tests/fuzz/corpus/experiment/).
 */
#include "dn-experiment.h"
#include "dn-json.h"
#include "dn-model.h"
#include "dn-network.h"

#include <glib/gstdio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Runs networks whose activations and parameters are small, so a run stays fast. */
#define SMALL_FLOATS (1 << 20)

static void check (gboolean ok, const GError *error)
{
    if (ok == (error != NULL)) {
        fprintf (stderr, "fuzz-experiment: a call returned %s with %s error\n",
                 ok ? "a result" : "nothing", error != NULL ? "an" : "no");
        abort ();
    }
}

static char *describe (DnNetwork *net)
{
    JsonNode *d = dn_network_to_json (net);
    char *s = dn_json_to_string (d, FALSE);
    json_node_unref (d);
    return s;
}

static char *model_dir = NULL;

static void remove_model_dir (void)
{
    g_rmdir (model_dir);
}

/* Saves the network as a model file and loads it back: same description, same
 * parameters and buffers, bit for bit. */
static void check_model_roundtrip (DnNetwork *net)
{
    if (model_dir == NULL) {
        model_dir = g_dir_make_tmp ("fuzz-experiment-XXXXXX", NULL);
        if (model_dir == NULL)
            abort ();
        atexit (remove_model_dir);
    }
    const char *dir = model_dir;
    char *path = g_build_filename (dir, "model.safetensors", NULL);
    GError *error = NULL;
    if (!dn_model_save (net, path, NULL, &error)) {
        fprintf (stderr, "fuzz-experiment: a network that builds does not save: %s\n",
                 error->message);
        abort ();
    }
    DnNetwork *back = dn_model_load (path, dn_backend_cpu (), NULL, &error);
    if (back == NULL) {
        fprintf (stderr, "fuzz-experiment: a saved model does not load: %s\n", error->message);
        abort ();
    }
    char *a = describe (net), *b = describe (back);
    if (strcmp (a, b) != 0 || back->n_params != net->n_params ||
        back->n_buffers != net->n_buffers ||
        memcmp (back->params, net->params, net->n_params * sizeof (float)) != 0 ||
        memcmp (back->buffers, net->buffers, net->n_buffers * sizeof (float)) != 0) {
        fprintf (stderr, "fuzz-experiment: a model loads back different:\n%s\n%s\n", a, b);
        abort ();
    }
    g_free (a);
    g_free (b);
    dn_network_free (back);
    g_unlink (path);
    g_free (path);
}

static void run_small (DnNetwork *net)
{
    size_t acts = 0, ws = 0;
    for (int i = 0; i < dn_network_n_nodes (net); i++) {
        DnLayer *l = dn_network_node (net, i)->layer;
        acts += (size_t) dn_shape_numel (&l->out_shape);
        ws = MAX (ws, l->workspace_per_sample);
    }
    size_t in = (size_t) dn_shape_numel (&net->input_shape);
    if (acts > SMALL_FLOATS || ws > SMALL_FLOATS || in > SMALL_FLOATS ||
        net->n_params + net->n_buffers > SMALL_FLOATS)
        return;
    GError *error = NULL;
    gboolean ok = dn_network_reserve (net, 2, &error);
    check (ok, error);
    if (!ok) {
        g_clear_error (&error);
        return;
    }
    DnRng rng;
    dn_rng_seed (&rng, 1);
    dn_network_init (net, &rng);
    /* before any forward pass, so that every weight is the finite one init gave */
    check_model_roundtrip (net);
    float *x = g_new (float, 2 * in);
    for (size_t i = 0; i < 2 * in; i++)
        x[i] = dn_rng_uniform_range (&rng, -2.0f, 2.0f);
    DnShape os = dn_network_output_shape (net);
    size_t out = (size_t) dn_shape_numel (&os);
    float *dy = g_new (float, 2 * out);
    for (size_t i = 0; i < 2 * out; i++)
        dy[i] = 1.0f / (float) (i + 1);
    for (int training = 0; training <= 1; training++) {
        dn_network_set_training (net, training);
        const DnTensor *y = dn_network_forward (net, x, 2, 7);
        if (y == NULL || dn_tensor_numel (y) != (int64_t) (2 * out))
            abort ();
        dn_network_zero_grad (net);
        dn_network_backward (net, dy, 2);
    }
    g_free (dy);
    g_free (x);
}

static void build_network (JsonNode *desc)
{
    GError *error = NULL;
    DnNetwork *net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    check (net != NULL, error);
    if (net == NULL) {
        g_clear_error (&error);
        return;
    }
    /* what built must describe itself in a form that builds again */
    JsonNode *again = dn_network_to_json (net);
    DnNetwork *net2 = dn_network_new_from_json (again, dn_backend_cpu (), &error);
    if (net2 == NULL || dn_network_n_params (net2) != dn_network_n_params (net)) {
        fprintf (stderr, "fuzz-experiment: a network does not rebuild from its to_json: %s\n",
                 error != NULL ? error->message : "different parameter counts");
        abort ();
    }
    g_free (dn_network_summary (net));
    run_small (net);
    dn_network_free (net2);
    json_node_unref (again);
    dn_network_free (net);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    GError *error = NULL;
    /* the parser dn_experiment_load uses: nesting is checked before json-glib runs */
    const char *text = size > 0 ? (const char *) data : "";
    JsonNode *root = dn_json_parse (text, (gssize) size, "fuzz.json", &error);
    if (root == NULL) {
        g_clear_error (&error);
        return 0;
    }
    DnExperiment *exp = dn_experiment_from_json (root, "/nonexistent", "fuzz.json", &error);
    check (exp != NULL, error);
    g_clear_error (&error);
    if (exp != NULL) {
        /* what reads must be written in a form that reads again */
        JsonNode *written = dn_experiment_to_json (exp);
        DnExperiment *exp2 = dn_experiment_from_json (written, "/nonexistent", "again", &error);
        if (exp2 == NULL) {
            fprintf (stderr, "fuzz-experiment: to_json output does not read back: %s\n",
                     error != NULL ? error->message : "(no error)");
            abort ();
        }
        build_network (exp->network);
        dn_experiment_free (exp2);
        json_node_unref (written);
        dn_experiment_free (exp);
    }
    json_node_unref (root);
    return 0;
}
