/* test-parity.c: every layer kind, every loss and one small network against
 * reference values computed by PyTorch (tests/fixtures/layers.json, written by
 * tools/gen-fixtures.py; see that script for the layout).
 *
 * One test per fixture case: /engine/parity/<type>/<case>. Each builds the layer
 * from the same JSON settings a network file holds, fills its parameters with the
 * fixture's values, runs forward (output, and running statistics for batch norm
 * in training) and backward with the fixture's upstream gradient (dx and every
 * parameter gradient). A second backward checks that gradients are added, not
 * overwritten, as dn-layer.h requires.
 */
#include "dn-backend.h"
#include "dn-error.h"
#include "dn-layer.h"
#include "dn-network.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

#define RTOL 1e-4
#define ATOL 1e-5

static JsonNode *fixtures;

/* Fails like a g_assert, with a formatted message. */
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        g_autofree char *fail_msg_ = g_strdup_printf (__VA_ARGS__);                                \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, fail_msg_);              \
    } while (0)

/* A fixture tensor {"shape": [batch, ...], "data": [...]}: its per-sample shape,
 * batch size and data (freed by the caller). */
static float *load_tensor (JsonObject *t, DnShape *sample, int *batch)
{
    JsonArray *shape = json_object_get_array_member (t, "shape");
    int ndim = (int) json_array_get_length (shape);
    g_assert_cmpint (ndim, >=, 1);
    g_assert_cmpint (ndim - 1, <=, DN_MAX_DIMS);
    int64_t d[DN_MAX_DIMS] = {0};
    for (int i = 1; i < ndim; i++)
        d[i - 1] = json_array_get_int_element (shape, i);
    *sample = dn_shape_make (ndim - 1, d);
    *batch = (int) json_array_get_int_element (shape, 0);
    gsize n;
    float *data = dn_test_json_floats (json_object_get_array_member (t, "data"), &n);
    g_assert_cmpuint (n, ==, (gsize) (*batch * dn_shape_numel (sample)));
    return data;
}

static DnShape shape_from_json (JsonArray *a)
{
    int64_t d[DN_MAX_DIMS] = {0};
    int ndim = (int) json_array_get_length (a);
    g_assert_cmpint (ndim, <=, DN_MAX_DIMS);
    for (int i = 0; i < ndim; i++)
        d[i] = json_array_get_int_element (a, i);
    return dn_shape_make (ndim, d);
}

static void assert_shape (const char *what, const DnShape *got, const DnShape *want)
{
    if (!dn_shape_equal (got, want)) {
        g_autofree char *g = dn_shape_to_string (got);
        g_autofree char *w = dn_shape_to_string (want);
        FAIL ("%s: shape %s, expected %s", what, g, w);
    }
}

static float *fixture_floats (JsonObject *o, const char *member, gsize expect_n)
{
    gsize n;
    float *data = dn_test_json_floats (json_object_get_array_member (o, member), &n);
    g_assert_cmpuint (n, ==, expect_n);
    return data;
}

/* Scratch space for one layer call, as the network would give it. */
static float *make_workspace (const DnLayer *l, int batch, DnCtx *ctx)
{
    size_t n = l->workspace_per_sample * (size_t) batch;
    ctx->workspace = g_new0 (float, n ? n : 1);
    ctx->workspace_size = n;
    return ctx->workspace;
}

static void check_layer_case (gconstpointer data)
{
    JsonObject *c = (JsonObject *) data;
    const char *type = json_object_get_string_member (c, "type");
    const char *name = json_object_get_string_member (c, "name");
    JsonObject *settings = json_object_get_object_member (c, "settings");
    gboolean training = json_object_get_boolean_member (c, "training");
    g_autoptr (GError) error = NULL;

    g_autoptr (DnLayer) l = dn_layer_new (type, name, settings, &error);
    g_assert_no_error (error);
    g_assert_nonnull (l);

    /* Inputs. */
    JsonArray *ins = json_object_get_array_member (c, "inputs");
    int n_in = (int) json_array_get_length (ins);
    g_assert_cmpint (n_in, <=, DN_LAYER_MAX_INPUTS);
    DnShape in_shapes[DN_LAYER_MAX_INPUTS];
    float *in_data[DN_LAYER_MAX_INPUTS];
    DnTensor in_t[DN_LAYER_MAX_INPUTS];
    const DnTensor *in_ptrs[DN_LAYER_MAX_INPUTS];
    int batch = 0;
    for (int i = 0; i < n_in; i++) {
        int b;
        in_data[i] = load_tensor (json_array_get_object_element (ins, i), &in_shapes[i], &b);
        g_assert_true (i == 0 || b == batch);
        batch = b;
        dn_tensor_view (&in_t[i], in_data[i], batch, &in_shapes[i]);
        in_ptrs[i] = &in_t[i];
    }

    g_assert_true (dn_layer_infer (l, n_in, in_shapes, &error));
    g_assert_no_error (error);

    /* Output shape. */
    DnShape out_shape;
    int out_batch;
    g_autofree float *want_y =
        load_tensor (json_object_get_object_member (c, "output"), &out_shape, &out_batch);
    g_assert_cmpint (out_batch, ==, batch);
    assert_shape ("output", &l->out_shape, &out_shape);
    gsize n_out = (gsize) batch * dn_shape_numel (&out_shape);

    /* Parameters: every declared one must be in the fixture and the other way round. */
    JsonObject *fparams = json_object_get_object_member (c, "params");
    JsonObject *fgrads = json_object_get_object_member (c, "grads");
    g_assert_cmpuint (json_object_get_size (fparams), ==, (guint) l->n_params);
    for (int i = 0; i < l->n_params; i++) {
        DnParam *p = &l->params[i];
        if (!json_object_has_member (fparams, p->name))
            FAIL ("layer declares a parameter \"%s\" that PyTorch does not have", p->name);
        JsonObject *fp = json_object_get_object_member (fparams, p->name);
        DnShape pshape = shape_from_json (json_object_get_array_member (fp, "shape"));
        assert_shape (p->name, &p->shape, &pshape);
        gsize n;
        p->value = dn_test_json_floats (json_object_get_array_member (fp, "data"), &n);
        g_assert_cmpuint (n, ==, (gsize) dn_shape_numel (&p->shape));
        /* "running_var", or "main_module.1.running_var" inside a dendritic group */
        const char *leaf = strrchr (p->name, '.');
        gboolean is_buffer = g_str_has_prefix (leaf != NULL ? leaf + 1 : p->name, "running_") ||
                             g_str_equal (p->name, "weight_mask");
        g_assert_cmpint (p->trainable, ==, !is_buffer);
        p->grad = p->trainable ? g_new0 (float, n) : NULL;
    }

    DnCtx ctx = {.backend = dn_backend_cpu (), .training = training, .seed = 42};
    g_autofree float *ws = make_workspace (l, batch, &ctx);
    /* Active dendrites: a table of contexts and each sample's row in it. */
    g_autofree float *contexts = NULL;
    g_autofree int32_t *ctx_index = NULL;
    if (json_object_has_member (c, "contexts")) {
        DnShape cshape;
        int n_ctx;
        contexts = load_tensor (json_object_get_object_member (c, "contexts"), &cshape, &n_ctx);
        JsonArray *idx = json_object_get_array_member (c, "context_index");
        g_assert_cmpint ((int) json_array_get_length (idx), ==, batch);
        ctx_index = g_new (int32_t, batch);
        for (int b = 0; b < batch; b++)
            ctx_index[b] = (int32_t) json_array_get_int_element (idx, b);
        ctx.contexts = contexts;
        ctx.n_contexts = n_ctx;
        ctx.context_dim = (int) dn_shape_numel (&cshape);
        ctx.context_index = ctx_index;
    }

    /* Forward overwrites its output: start from garbage. */
    g_autoptr (DnTensor) out = dn_tensor_new (batch, &l->out_shape, &error);
    g_assert_no_error (error);
    for (gsize i = 0; i < n_out; i++)
        out->data[i] = 123.0f;
    l->klass->forward (l, &ctx, batch, in_ptrs, out);
    dn_assert_floats_close (out->data, want_y, n_out, RTOL, ATOL);

    if (json_object_has_member (c, "updated")) {
        JsonObject *upd = json_object_get_object_member (c, "updated");
        g_autoptr (GList) keys = json_object_get_members (upd);
        for (GList *k = keys; k != NULL; k = k->next) {
            DnParam *p = dn_layer_find_param (l, k->data);
            g_assert_nonnull (p);
            gsize n = (gsize) dn_shape_numel (&p->shape);
            g_autofree float *want = fixture_floats (upd, k->data, n);
            g_test_message ("running statistic %s", (char *) k->data);
            dn_assert_floats_close (p->value, want, n, RTOL, ATOL);
        }
    }

    /* Backward into zeroed gradients, then once more: gradients must add up. */
    g_autofree float *dy = fixture_floats (c, "dy", n_out);
    DnTensor dout;
    dn_tensor_view (&dout, dy, batch, &l->out_shape);
    JsonArray *fdx = json_object_get_array_member (c, "dx");
    g_assert_cmpint ((int) json_array_get_length (fdx), ==, n_in);
    DnTensor *din[DN_LAYER_MAX_INPUTS];
    float *want_dx[DN_LAYER_MAX_INPUTS];
    for (int i = 0; i < n_in; i++) {
        din[i] = dn_tensor_new (batch, &in_shapes[i], &error);
        g_assert_no_error (error);
        gsize n;
        want_dx[i] = dn_test_json_floats (json_array_get_array_element (fdx, i), &n);
        g_assert_cmpuint (n, ==, (gsize) dn_tensor_numel (din[i]));
    }

    for (int pass = 1; pass <= 2; pass++) {
        l->klass->backward (l, &ctx, batch, in_ptrs, out, &dout, din);
        for (int i = 0; i < n_in; i++) {
            gsize n = (gsize) dn_tensor_numel (din[i]);
            g_autofree float *want = g_new (float, n);
            for (gsize j = 0; j < n; j++)
                want[j] = pass * want_dx[i][j];
            g_test_message ("backward pass %d, dx of input %d", pass, i);
            dn_assert_floats_close (din[i]->data, want, n, RTOL, ATOL * pass);
        }
        for (int i = 0; i < l->n_params; i++) {
            DnParam *p = &l->params[i];
            if (!p->trainable)
                continue;
            gsize n = (gsize) dn_shape_numel (&p->shape);
            g_autofree float *want = fixture_floats (fgrads, p->name, n);
            for (gsize j = 0; j < n; j++)
                want[j] *= pass;
            g_test_message ("backward pass %d, gradient of %s", pass, p->name);
            dn_assert_floats_close (p->grad, want, n, RTOL, ATOL * pass);
        }
    }

    for (int i = 0; i < n_in; i++) {
        g_free (in_data[i]);
        g_free (want_dx[i]);
        dn_tensor_free (din[i]);
    }
    for (int i = 0; i < l->n_params; i++) {
        g_free (l->params[i].value);
        g_free (l->params[i].grad);
        l->params[i].value = l->params[i].grad = NULL;
    }
}

static void assert_loss_close (double got, double want)
{
    if (!(fabs (got - want) <= ATOL + RTOL * fabs (want)))
        FAIL ("loss %.9g, expected %.9g", got, want);
}

static void check_loss_case (gconstpointer data)
{
    JsonObject *c = (JsonObject *) data;
    const char *type = json_object_get_string_member (c, "type");
    int rows = (int) json_object_get_int_member (c, "rows");
    int cols = (int) json_object_get_int_member (c, "cols");
    gsize n = (gsize) rows * cols;
    DnBackend *be = dn_backend_cpu ();
    g_autofree float *logits = fixture_floats (c, "logits", n);
    g_autofree float *want_d = fixture_floats (c, "dlogits", n);
    double want_loss = json_object_get_double_member (c, "loss");
    g_autofree int32_t *labels = NULL;
    g_autofree float *target = NULL;
    if (json_object_has_member (c, "labels")) {
        JsonArray *a = json_object_get_array_member (c, "labels");
        g_assert_cmpint ((int) json_array_get_length (a), ==, rows);
        labels = g_new (int32_t, rows);
        for (int i = 0; i < rows; i++)
            labels[i] = (int32_t) json_array_get_int_element (a, i);
    } else {
        target = fixture_floats (c, "target", n);
    }
    float ls = json_object_has_member (c, "label_smoothing")
                   ? (float) json_object_get_double_member (c, "label_smoothing")
                   : 0.0f;

    /* scale 1 and 0.5; dlogits starts as garbage since the op overwrites it;
     * and once without dlogits (the loss alone). */
    const float scales[] = {1.0f, 0.5f, 0.0f};
    for (int s = 0; s < 3; s++) {
        g_autofree float *d = g_new (float, n);
        for (gsize i = 0; i < n; i++)
            d[i] = 77.0f;
        float *dp = scales[s] != 0.0f ? d : NULL;
        double loss = NAN;
        if (g_str_equal (type, "cross_entropy"))
            be->cross_entropy (be, rows, cols, logits, labels, ls, scales[s], &loss, dp);
        else if (g_str_equal (type, "nll"))
            be->nll (be, rows, cols, logits, labels, scales[s], &loss, dp);
        else if (g_str_equal (type, "mse"))
            be->mse (be, rows, cols, logits, target, scales[s], &loss, dp);
        else if (g_str_equal (type, "bce_logits"))
            be->bce_logits (be, rows, cols, logits, target, scales[s], &loss, dp);
        else
            FAIL ("unknown loss %s in the fixture", type);
        assert_loss_close (loss, want_loss);
        if (dp != NULL) {
            g_autofree float *want = g_new (float, n);
            for (gsize i = 0; i < n; i++)
                want[i] = scales[s] * want_d[i];
            g_test_message ("dlogits with scale %g", scales[s]);
            dn_assert_floats_close (d, want, n, RTOL, ATOL);
        }
    }
}

static JsonObject *network_fixture (void)
{
    return json_object_get_object_member (json_node_get_object (fixtures), "network");
}

static void compute_ce (JsonObject *c, const float *logits, int batch, int cols, float *dlogits)
{
    DnBackend *be = dn_backend_cpu ();
    JsonArray *a = json_object_get_array_member (c, "labels");
    g_autofree int32_t *labels = g_new (int32_t, batch);
    for (int i = 0; i < batch; i++)
        labels[i] = (int32_t) json_array_get_int_element (a, i);
    double loss = NAN;
    be->cross_entropy (be, batch, cols, logits, labels, 0.0f, 1.0f, &loss, dlogits);
    assert_loss_close (loss, json_object_get_double_member (c, "loss"));
}

/* The whole network through DnNetwork: logits, loss and every state-dict gradient. */
static void test_network (void)
{
    JsonObject *c = network_fixture ();
    g_autoptr (GError) error = NULL;
    DnBackend *be = dn_backend_cpu ();

    g_autoptr (DnNetwork) net =
        dn_network_new_from_json (json_object_get_member (c, "desc"), be, &error);
    g_assert_no_error (error);
    DnShape xs;
    int batch;
    g_autofree float *x = load_tensor (json_object_get_object_member (c, "input"), &xs, &batch);
    assert_shape ("network input", &net->input_shape, &xs);
    g_assert_true (dn_network_reserve (net, batch, &error));
    g_assert_no_error (error);

    JsonObject *fparams = json_object_get_object_member (c, "params");
    JsonObject *fgrads = json_object_get_object_member (c, "grads");
    g_autoptr (GPtrArray) named = dn_network_named_params (net);
    g_assert_cmpuint (named->len, ==, json_object_get_size (fparams));
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = g_ptr_array_index (named, i);
        if (!json_object_has_member (fparams, np->name))
            FAIL ("network has a parameter \"%s\" that PyTorch's state dict does not", np->name);
        JsonObject *fp = json_object_get_object_member (fparams, np->name);
        DnShape ps = shape_from_json (json_object_get_array_member (fp, "shape"));
        assert_shape (np->name, &np->param->shape, &ps);
        gsize n = (gsize) dn_shape_numel (&ps);
        g_autofree float *v = fixture_floats (fp, "data", n);
        memcpy (np->param->value, v, n * sizeof (float));
    }

    dn_network_set_training (net, TRUE);
    const DnTensor *y = dn_network_forward (net, x, batch, 7);
    DnShape ls;
    int lb;
    g_autofree float *want_logits =
        load_tensor (json_object_get_object_member (c, "logits"), &ls, &lb);
    DnShape ys = dn_tensor_sample_shape (y);
    assert_shape ("logits", &ys, &ls);
    g_assert_cmpint ((int) y->shape[0], ==, batch);
    gsize n_logits = (gsize) batch * dn_shape_numel (&ls);
    dn_assert_floats_close (y->data, want_logits, n_logits, RTOL, ATOL);

    int cols = (int) dn_shape_numel (&ls);
    g_autofree float *dlogits = g_new0 (float, n_logits);
    compute_ce (c, y->data, batch, cols, dlogits);

    dn_network_zero_grad (net);
    dn_network_backward (net, dlogits, batch);
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = g_ptr_array_index (named, i);
        gsize n = (gsize) dn_shape_numel (&np->param->shape);
        g_autofree float *want = fixture_floats (fgrads, np->name, n);
        g_test_message ("gradient of %s", np->name);
        dn_assert_floats_close (np->param->grad, want, n, RTOL, ATOL);
    }
}

/* The same network, its layers chained by hand: checks the layers compose
 * without relying on DnNetwork. */
static void test_network_chained (void)
{
    JsonObject *c = network_fixture ();
    g_autoptr (GError) error = NULL;
    JsonArray *layers =
        json_object_get_array_member (json_object_get_object_member (c, "desc"), "layers");
    int n_layers = (int) json_array_get_length (layers);
    JsonObject *fparams = json_object_get_object_member (c, "params");
    JsonObject *fgrads = json_object_get_object_member (c, "grads");

    DnShape xs;
    int batch;
    g_autofree float *x = load_tensor (json_object_get_object_member (c, "input"), &xs, &batch);

    DnLayer **l = g_new0 (DnLayer *, n_layers);
    DnTensor **acts = g_new0 (DnTensor *, n_layers + 1);
    DnTensor **dacts = g_new0 (DnTensor *, n_layers + 1);
    acts[0] = dn_tensor_new (batch, &xs, &error);
    g_assert_no_error (error);
    memcpy (acts[0]->data, x, (gsize) dn_tensor_numel (acts[0]) * sizeof (float));
    dacts[0] = dn_tensor_new (batch, &xs, &error);
    size_t ws = 1;
    DnShape shape = xs;
    for (int i = 0; i < n_layers; i++) {
        JsonObject *lo = json_array_get_object_element (layers, i);
        const char *name = json_object_get_string_member (lo, "name");
        l[i] = dn_layer_new (json_object_get_string_member (lo, "type"), name, lo, &error);
        g_assert_no_error (error);
        g_assert_true (dn_layer_infer (l[i], 1, &shape, &error));
        g_assert_no_error (error);
        shape = l[i]->out_shape;
        acts[i + 1] = dn_tensor_new (batch, &shape, &error);
        dacts[i + 1] = dn_tensor_new (batch, &shape, &error);
        ws = MAX (ws, l[i]->workspace_per_sample * (size_t) batch);
        for (int j = 0; j < l[i]->n_params; j++) {
            DnParam *p = &l[i]->params[j];
            g_autofree char *key = g_strdup_printf ("%s.%s", name, p->name);
            g_assert_true (json_object_has_member (fparams, key));
            gsize n = (gsize) dn_shape_numel (&p->shape);
            p->value = fixture_floats (json_object_get_object_member (fparams, key), "data", n);
            p->grad = g_new0 (float, n);
        }
    }
    g_autofree float *workspace = g_new0 (float, ws);
    DnCtx ctx = {.backend = dn_backend_cpu (),
                 .training = TRUE,
                 .seed = 7,
                 .workspace = workspace,
                 .workspace_size = ws};

    for (int i = 0; i < n_layers; i++) {
        const DnTensor *in[1] = {acts[i]};
        l[i]->klass->forward (l[i], &ctx, batch, in, acts[i + 1]);
    }
    gsize n_logits = (gsize) dn_tensor_numel (acts[n_layers]);
    DnShape ls;
    int lb;
    g_autofree float *want_logits =
        load_tensor (json_object_get_object_member (c, "logits"), &ls, &lb);
    assert_shape ("logits", &shape, &ls);
    dn_assert_floats_close (acts[n_layers]->data, want_logits, n_logits, RTOL, ATOL);

    compute_ce (c, acts[n_layers]->data, batch, (int) dn_shape_numel (&ls), dacts[n_layers]->data);
    for (int i = n_layers - 1; i >= 0; i--) {
        const DnTensor *in[1] = {acts[i]};
        DnTensor *din[1] = {dacts[i]};
        l[i]->klass->backward (l[i], &ctx, batch, in, acts[i + 1], dacts[i + 1], din);
    }
    for (int i = 0; i < n_layers; i++) {
        for (int j = 0; j < l[i]->n_params; j++) {
            DnParam *p = &l[i]->params[j];
            g_autofree char *key = g_strdup_printf ("%s.%s", l[i]->name, p->name);
            gsize n = (gsize) dn_shape_numel (&p->shape);
            g_autofree float *want = fixture_floats (fgrads, key, n);
            g_test_message ("gradient of %s", key);
            dn_assert_floats_close (p->grad, want, n, RTOL, ATOL);
            g_free (p->value);
            g_free (p->grad);
            p->value = p->grad = NULL;
        }
        dn_layer_free (l[i]);
    }
    for (int i = 0; i <= n_layers; i++) {
        dn_tensor_free (acts[i]);
        dn_tensor_free (dacts[i]);
    }
    g_free (acts);
    g_free (dacts);
    g_free (l);
}

/* Every registered layer kind has at least one parity case. */
static void test_coverage (void)
{
    JsonArray *cases = json_object_get_array_member (json_node_get_object (fixtures), "layers");
    const DnLayerClass *const *classes = dn_layer_classes ();
    for (int k = 0; classes[k] != NULL; k++) {
        gboolean found = FALSE;
        for (guint i = 0; i < json_array_get_length (cases) && !found; i++) {
            JsonObject *c = json_array_get_object_element (cases, i);
            found = g_str_equal (json_object_get_string_member (c, "type"), classes[k]->type);
        }
        if (!found)
            FAIL ("layer kind %s has no PyTorch parity case in layers.json", classes[k]->type);
    }
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    fixtures = dn_test_load_json ("layers.json");
    JsonObject *root = json_node_get_object (fixtures);

    JsonArray *cases = json_object_get_array_member (root, "layers");
    for (guint i = 0; i < json_array_get_length (cases); i++) {
        JsonObject *c = json_array_get_object_element (cases, i);
        g_autofree char *path =
            g_strdup_printf ("/engine/parity/%s/%s", json_object_get_string_member (c, "type"),
                             json_object_get_string_member (c, "name"));
        g_test_add_data_func (path, c, check_layer_case);
    }
    JsonArray *losses = json_object_get_array_member (root, "losses");
    for (guint i = 0; i < json_array_get_length (losses); i++) {
        JsonObject *c = json_array_get_object_element (losses, i);
        g_autofree char *path =
            g_strdup_printf ("/engine/parity/loss/%s", json_object_get_string_member (c, "name"));
        g_test_add_data_func (path, c, check_loss_case);
    }
    g_test_add_func ("/engine/parity/coverage", test_coverage);
    g_test_add_func ("/engine/parity/network/chained", test_network_chained);
    g_test_add_func ("/engine/parity/network/dn-network", test_network);

    int ret = g_test_run ();
    json_node_unref (fixtures);
    return ret;
}
