/* test-optim.c: optimizers against PyTorch (tests/fixtures/optim.json, made by
 * tools/gen-fixtures-optim.py), their defaults, JSON configuration errors,
 * state buffers and resuming from saved state. */
#include "dn-backend.h"
#include "dn-error.h"
#include "dn-optim.h"
#include "dn-test-util.h"

#include <string.h>

static JsonObject *fixture;

static JsonObject *parse_object (const char *text)
{
    g_autoptr (JsonParser) parser = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (parser, text, -1, &error);
    g_assert_no_error (error);
    JsonNode *root = json_parser_get_root (parser);
    g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
    return json_object_ref (json_node_get_object (root));
}

static void check_parity (gconstpointer data)
{
    JsonObject *c = (JsonObject *) data;
    g_autoptr (GError) error = NULL;
    DnOptimConfig cfg;
    g_assert_true (
        dn_optim_config_from_json (json_object_get_object_member (c, "config"), &cfg, &error));
    g_assert_no_error (error);

    gsize n, ng;
    g_autofree float *w =
        dn_test_json_floats (json_object_get_array_member (fixture, "params0"), &n);
    JsonArray *grads = json_object_get_array_member (fixture, "grads");
    JsonArray *steps = json_object_get_array_member (c, "steps");
    g_assert_cmpuint (json_array_get_length (steps), ==, json_array_get_length (grads));

    g_autoptr (DnOptimizer) opt = dn_optimizer_new (&cfg, dn_backend_cpu (), n, &error);
    g_assert_no_error (error);
    for (guint s = 0; s < json_array_get_length (grads); s++) {
        g_autofree float *g = dn_test_json_floats (json_array_get_array_element (grads, s), &ng);
        g_autofree float *want = dn_test_json_floats (json_array_get_array_element (steps, s), &ng);
        g_assert_cmpuint (ng, ==, n);
        dn_optimizer_step (opt, w, g, cfg.lr);
        g_assert_cmpint (dn_optimizer_steps (opt), ==, s + 1);
        dn_assert_floats_close (w, want, n, 1e-5, 1e-7);
    }
}

static void test_defaults (void)
{
    DnOptimConfig c;
    dn_optim_config_defaults (&c, DN_OPTIM_SGD);
    g_assert_cmpfloat (c.lr, ==, 0.01);
    g_assert_cmpfloat (c.momentum, ==, 0.0);
    g_assert_cmpfloat (c.dampening, ==, 0.0);
    g_assert_false (c.nesterov);
    g_assert_cmpfloat (c.weight_decay, ==, 0.0);

    dn_optim_config_defaults (&c, DN_OPTIM_ADAM);
    g_assert_cmpfloat (c.lr, ==, 1e-3);
    g_assert_cmpfloat (c.beta1, ==, 0.9);
    g_assert_cmpfloat (c.beta2, ==, 0.999);
    g_assert_cmpfloat (c.eps, ==, 1e-8);
    g_assert_cmpfloat (c.weight_decay, ==, 0.0);
    g_assert_false (c.amsgrad);

    dn_optim_config_defaults (&c, DN_OPTIM_ADAMW);
    g_assert_cmpfloat (c.lr, ==, 1e-3);
    g_assert_cmpfloat (c.weight_decay, ==, 0.01);

    dn_optim_config_defaults (&c, DN_OPTIM_ADADELTA);
    g_assert_cmpfloat (c.lr, ==, 1.0);
    g_assert_cmpfloat (c.rho, ==, 0.9);
    g_assert_cmpfloat (c.eps, ==, 1e-6);

    dn_optim_config_defaults (&c, DN_OPTIM_RMSPROP);
    g_assert_cmpfloat (c.lr, ==, 0.01);
    g_assert_cmpfloat (c.alpha, ==, 0.99);
    g_assert_cmpfloat (c.eps, ==, 1e-8);
    g_assert_cmpfloat (c.momentum, ==, 0.0);
    g_assert_false (c.centered);

    /* Missing fields take the defaults; the type is case-insensitive. */
    g_autoptr (JsonObject) o = parse_object ("{\"type\": \"AdamW\", \"lr\": 0.5}");
    g_autoptr (GError) error = NULL;
    g_assert_true (dn_optim_config_from_json (o, &c, &error));
    g_assert_no_error (error);
    g_assert_cmpint (c.kind, ==, DN_OPTIM_ADAMW);
    g_assert_cmpfloat (c.lr, ==, 0.5);
    g_assert_cmpfloat (c.weight_decay, ==, 0.01);
    g_assert_cmpfloat (c.beta2, ==, 0.999);

    g_assert_cmpstr (dn_optim_kind_name (DN_OPTIM_ADADELTA), ==, "adadelta");
    g_assert_cmpstr (dn_optim_kind_name (DN_OPTIM_RMSPROP), ==, "rmsprop");
}

static void assert_configs_equal (const DnOptimConfig *a, const DnOptimConfig *b)
{
    g_assert_cmpint (a->kind, ==, b->kind);
    g_assert_cmpfloat (a->lr, ==, b->lr);
    g_assert_cmpfloat (a->weight_decay, ==, b->weight_decay);
    g_assert_cmpfloat (a->momentum, ==, b->momentum);
    g_assert_cmpfloat (a->dampening, ==, b->dampening);
    g_assert_cmpint (a->nesterov, ==, b->nesterov);
    g_assert_cmpfloat (a->beta1, ==, b->beta1);
    g_assert_cmpfloat (a->beta2, ==, b->beta2);
    g_assert_cmpfloat (a->eps, ==, b->eps);
    g_assert_cmpint (a->amsgrad, ==, b->amsgrad);
    g_assert_cmpfloat (a->rho, ==, b->rho);
    g_assert_cmpfloat (a->alpha, ==, b->alpha);
    g_assert_cmpint (a->centered, ==, b->centered);
}

static void test_roundtrip (void)
{
    const char *configs[] = {
        "{\"type\": \"sgd\", \"lr\": 0.3, \"momentum\": 0.9, \"nesterov\": true, "
        "\"weight_decay\": 0.001}",
        "{\"type\": \"adam\", \"betas\": [0.8, 0.95], \"amsgrad\": true, \"eps\": 1e-7}",
        "{\"type\": \"adamw\", \"weight_decay\": 0.05}",
        "{\"type\": \"adadelta\", \"rho\": 0.7}",
        "{\"type\": \"rmsprop\", \"alpha\": 0.9, \"centered\": true, \"momentum\": 0.2}",
    };
    for (guint i = 0; i < G_N_ELEMENTS (configs); i++) {
        g_autoptr (JsonObject) o = parse_object (configs[i]);
        g_autoptr (GError) error = NULL;
        DnOptimConfig a, b;
        g_assert_true (dn_optim_config_from_json (o, &a, &error));
        g_assert_no_error (error);

        g_autoptr (JsonBuilder) builder = json_builder_new ();
        dn_optim_config_to_json (&a, builder);
        g_autoptr (JsonNode) root = json_builder_get_root (builder);
        g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
        g_assert_true (dn_optim_config_from_json (json_node_get_object (root), &b, &error));
        g_assert_no_error (error);
        assert_configs_equal (&a, &b);
    }
}

typedef struct {
    const char *json;
    const char *message_part;
} BadConfig;

static void test_config_errors (void)
{
    static const BadConfig bad[] = {
        {"{}", "\"type\" is missing"},
        {"{\"type\": \"lbfgs\"}", "\"type\" must be one of"},
        {"{\"type\": 3}", "got 3"},
        {"{\"type\": \"sgd\", \"momentum\": \"fast\"}",
         "optimizer \"momentum\" must be a number >= 0, got \"fast\""},
        {"{\"type\": \"sgd\", \"momentum\": -0.5}", "\"momentum\" must be a number >= 0, got -0.5"},
        {"{\"type\": \"sgd\", \"lr\": -1}", "\"lr\" must be a number >= 0, got -1"},
        {"{\"type\": \"sgd\", \"lr\": null}", "got null"},
        {"{\"type\": \"sgd\", \"weight_decay\": -0.1}", "\"weight_decay\""},
        {"{\"type\": \"sgd\", \"nesterov\": true}", "\"nesterov\" needs \"momentum\" > 0"},
        {"{\"type\": \"sgd\", \"nesterov\": true, \"momentum\": 0.9, \"dampening\": 0.1}",
         "\"dampening\" 0"},
        {"{\"type\": \"sgd\", \"nesterov\": 1}", "\"nesterov\" must be true or false"},
        {"{\"type\": \"sgd\", \"betas\": [0.9, 0.99]}", "\"betas\" does not apply to \"sgd\""},
        {"{\"type\": \"sgd\", \"learning_rate\": 0.1}", "\"learning_rate\" is unknown"},
        {"{\"type\": \"adam\", \"betas\": [0.9]}", "\"betas\" must be two numbers in [0, 1)"},
        {"{\"type\": \"adam\", \"betas\": 0.9}", "\"betas\" must be two numbers"},
        {"{\"type\": \"adam\", \"betas\": [0.9, 1.0]}", "\"betas\"[1] must be a number in [0, 1)"},
        {"{\"type\": \"adam\", \"betas\": [-0.1, 0.9]}", "\"betas\"[0]"},
        {"{\"type\": \"adam\", \"betas\": [\"a\", 0.9]}", "got \"a\""},
        {"{\"type\": \"adam\", \"eps\": -1e-8}", "\"eps\" must be a number >= 0"},
        {"{\"type\": \"adam\", \"amsgrad\": \"yes\"}", "\"amsgrad\" must be true or false"},
        {"{\"type\": \"adam\", \"momentum\": 0.9}", "\"momentum\" does not apply to \"adam\""},
        {"{\"type\": \"adadelta\", \"rho\": 1.5}", "\"rho\" must be a number in [0, 1], got 1.5"},
        {"{\"type\": \"rmsprop\", \"alpha\": -1}", "\"alpha\" must be a number >= 0"},
        {"{\"type\": \"rmsprop\", \"centered\": [true]}", "got an array"},
        {"{\"type\": \"rmsprop\", \"rho\": 0.9}", "\"rho\" does not apply to \"rmsprop\""},
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
        g_autoptr (JsonObject) o = parse_object (bad[i].json);
        g_autoptr (GError) error = NULL;
        DnOptimConfig c;
        dn_optim_config_defaults (&c, DN_OPTIM_SGD);
        DnOptimConfig before = c;
        g_assert_false (dn_optim_config_from_json (o, &c, &error));
        g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
        if (strstr (error->message, bad[i].message_part) == NULL)
            g_error ("config %s: message \"%s\" lacks \"%s\"", bad[i].json, error->message,
                     bad[i].message_part);
        /* A failed parse leaves the config alone. */
        assert_configs_equal (&c, &before);
    }
}

static void check_buffers (const char *json, const char *const *names)
{
    g_autoptr (JsonObject) o = parse_object (json);
    g_autoptr (GError) error = NULL;
    DnOptimConfig cfg;
    g_assert_true (dn_optim_config_from_json (o, &cfg, &error));
    g_autoptr (DnOptimizer) opt = dn_optimizer_new (&cfg, dn_backend_cpu (), 7, &error);
    g_assert_no_error (error);
    g_assert_cmpint (dn_optimizer_n_buffers (opt), ==, g_strv_length ((char **) names));
    for (int i = 0; names[i] != NULL; i++) {
        const char *name = NULL;
        float *buf = dn_optimizer_buffer (opt, i, &name);
        g_assert_nonnull (buf);
        g_assert_cmpstr (name, ==, names[i]);
        for (int j = 0; j < 7; j++)
            g_assert_cmpfloat (buf[j], ==, 0.0f);
    }
}

static void test_buffers (void)
{
    check_buffers ("{\"type\": \"sgd\"}", (const char *[]){NULL});
    check_buffers ("{\"type\": \"sgd\", \"momentum\": 0.9}",
                   (const char *[]){"momentum_buffer", NULL});
    check_buffers ("{\"type\": \"adam\"}", (const char *[]){"exp_avg", "exp_avg_sq", NULL});
    check_buffers ("{\"type\": \"adamw\", \"amsgrad\": true}",
                   (const char *[]){"exp_avg", "exp_avg_sq", "max_exp_avg_sq", NULL});
    check_buffers ("{\"type\": \"adadelta\"}", (const char *[]){"square_avg", "acc_delta", NULL});
    check_buffers ("{\"type\": \"rmsprop\"}", (const char *[]){"square_avg", NULL});
    check_buffers ("{\"type\": \"rmsprop\", \"momentum\": 0.5, \"centered\": true}",
                   (const char *[]){"square_avg", "momentum_buffer", "grad_avg", NULL});
}

/* Saving the buffers and the step count after 2 steps and loading them into a
 * new optimizer continues exactly like an uninterrupted run. */
static void test_resume (void)
{
    JsonArray *cases = json_object_get_array_member (fixture, "cases");
    JsonArray *grads = json_object_get_array_member (fixture, "grads");
    guint n_steps = json_array_get_length (grads);
    for (guint k = 0; k < json_array_get_length (cases); k++) {
        JsonObject *c = json_array_get_object_element (cases, k);
        g_autoptr (GError) error = NULL;
        DnOptimConfig cfg;
        g_assert_true (
            dn_optim_config_from_json (json_object_get_object_member (c, "config"), &cfg, &error));
        gsize n, ng;
        g_autofree float *w_full =
            dn_test_json_floats (json_object_get_array_member (fixture, "params0"), &n);
        g_autofree float *w_split = g_memdup2 (w_full, n * sizeof (float));

        g_autoptr (DnOptimizer) full = dn_optimizer_new (&cfg, dn_backend_cpu (), n, &error);
        g_assert_no_error (error);
        g_autoptr (DnOptimizer) first = dn_optimizer_new (&cfg, dn_backend_cpu (), n, &error);
        g_assert_no_error (error);
        g_autoptr (DnOptimizer) resumed = NULL;
        for (guint s = 0; s < n_steps; s++) {
            g_autofree float *g =
                dn_test_json_floats (json_array_get_array_element (grads, s), &ng);
            if (s == 2) {
                resumed = dn_optimizer_new (&cfg, dn_backend_cpu (), n, &error);
                g_assert_no_error (error);
                g_assert_cmpint (dn_optimizer_n_buffers (resumed), ==,
                                 dn_optimizer_n_buffers (first));
                for (int i = 0; i < dn_optimizer_n_buffers (first); i++) {
                    const char *name_a, *name_b;
                    float *src = dn_optimizer_buffer (first, i, &name_a);
                    float *dst = dn_optimizer_buffer (resumed, i, &name_b);
                    g_assert_cmpstr (name_a, ==, name_b);
                    memcpy (dst, src, n * sizeof (float));
                }
                dn_optimizer_set_steps (resumed, dn_optimizer_steps (first));
                g_clear_pointer (&first, dn_optimizer_free);
            }
            dn_optimizer_step (full, w_full, g, cfg.lr);
            dn_optimizer_step (resumed != NULL ? resumed : first, w_split, g, cfg.lr);
        }
        g_assert_cmpint (dn_optimizer_steps (resumed), ==, n_steps);
        if (memcmp (w_full, w_split, n * sizeof (float)) != 0)
            g_error ("%s: resumed run differs from the uninterrupted one",
                     json_object_get_string_member (c, "name"));
    }
}

static void *failing_alloc (DnBackend *be, size_t bytes)
{
    return NULL;
}

/* A backend out of memory gives DN_ERROR_NOMEM naming the state buffer, not a crash. */
static void test_nomem (void)
{
    DnBackend be = *dn_backend_cpu ();
    be.alloc = failing_alloc;
    DnOptimConfig cfg;
    dn_optim_config_defaults (&cfg, DN_OPTIM_ADAM);
    g_autoptr (GError) error = NULL;
    g_autoptr (DnOptimizer) opt = dn_optimizer_new (&cfg, &be, 1000, &error);
    g_assert_null (opt);
    g_assert_error (error, DN_ERROR, DN_ERROR_NOMEM);
    g_assert_nonnull (strstr (error->message, "exp_avg"));

    /* Plain SGD has no state, so it needs no memory at all. */
    g_clear_error (&error);
    dn_optim_config_defaults (&cfg, DN_OPTIM_SGD);
    opt = dn_optimizer_new (&cfg, &be, 1000, &error);
    g_assert_no_error (error);
    g_assert_cmpint (dn_optimizer_n_buffers (opt), ==, 0);
}

/* An empty parameter arena is allowed and steps do nothing but count. */
static void test_empty (void)
{
    DnOptimConfig cfg;
    dn_optim_config_defaults (&cfg, DN_OPTIM_RMSPROP);
    cfg.centered = TRUE;
    g_autoptr (GError) error = NULL;
    g_autoptr (DnOptimizer) opt = dn_optimizer_new (&cfg, dn_backend_cpu (), 0, &error);
    g_assert_no_error (error);
    dn_optimizer_step (opt, NULL, NULL, cfg.lr);
    g_assert_cmpint (dn_optimizer_steps (opt), ==, 1);
}

int main (int argc, char **argv)
{
    g_test_init (&argc, &argv, NULL);
    g_autoptr (JsonNode) root = dn_test_load_json ("optim.json");
    fixture = json_node_get_object (root);

    JsonArray *cases = json_object_get_array_member (fixture, "cases");
    for (guint i = 0; i < json_array_get_length (cases); i++) {
        JsonObject *c = json_array_get_object_element (cases, i);
        g_autofree char *path =
            g_strdup_printf ("/engine/optim/%s/parity", json_object_get_string_member (c, "name"));
        g_test_add_data_func (path, c, check_parity);
    }
    g_test_add_func ("/engine/optim/defaults", test_defaults);
    g_test_add_func ("/engine/optim/config/roundtrip", test_roundtrip);
    g_test_add_func ("/engine/optim/config/errors", test_config_errors);
    g_test_add_func ("/engine/optim/buffers", test_buffers);
    g_test_add_func ("/engine/optim/resume", test_resume);
    g_test_add_func ("/engine/optim/nomem", test_nomem);
    g_test_add_func ("/engine/optim/empty", test_empty);
    return g_test_run ();
}
