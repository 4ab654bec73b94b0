/* dn-network-test.h: what the network tests share: building networks from JSON
 * and the examples, checking shapes and messages, filling weights at random. */
#pragma once

#include "dn-error.h"
#include "dn-model.h"
#include "dn-network.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

static inline JsonNode *parse (const char *json)
{
    return dn_test_parse_json (json);
}

static inline DnNetwork *build (const char *json, GError **error)
{
    g_autoptr (JsonNode) desc = parse (json);
    return dn_network_new_from_json (desc, dn_backend_cpu (), error);
}

static inline DnNetwork *build_ok (const char *json)
{
    g_autoptr (GError) error = NULL;
    DnNetwork *net = build (json, &error);
    g_assert_no_error (error);
    g_assert_nonnull (net);
    return net;
}

/* The "network" member of data/examples/<name>.json. */
static inline JsonNode *example_network (const char *name)
{
    return dn_test_example_network (name);
}

static inline DnNetwork *build_example (const char *name)
{
    g_autoptr (JsonNode) desc = example_network (name);
    g_autoptr (GError) error = NULL;
    DnNetwork *net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_nonnull (net);
    return net;
}

static inline void assert_message_has (const GError *error, const char *needle)
{
    if (needle != NULL && strstr (error->message, needle) == NULL) {
        g_autofree char *msg = g_strdup_printf ("error message \"%s\" does not mention \"%s\"",
                                                error->message, needle);
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
}

static inline void assert_shape (const DnShape *s, const char *expected)
{
    g_autofree char *str = dn_shape_to_string (s);
    g_assert_cmpstr (str, ==, expected);
}

static inline void assert_node (DnNetwork *net, const char *name, const char *shape, int64_t params)
{
    DnNode *n = dn_network_find_node (net, name);
    if (n == NULL)
        g_error ("no node named '%s'", name);
    assert_shape (&n->layer->out_shape, shape);
    g_assert_cmpint (dn_layer_n_params (n->layer), ==, params);
}

/* Random values in every parameter and buffer (running_var stays positive). */
static inline void fill_random (DnNetwork *net, guint64 seed)
{
    DnRng rng;
    dn_rng_seed (&rng, seed);
    for (size_t i = 0; i < net->n_params; i++)
        net->params[i] = dn_rng_uniform_range (&rng, -0.5f, 0.5f);
    for (size_t i = 0; i < net->n_buffers; i++)
        net->buffers[i] = dn_rng_uniform_range (&rng, 0.5f, 1.5f);
}

static inline float *random_floats (size_t n, guint64 seed)
{
    DnRng rng;
    dn_rng_seed (&rng, seed);
    float *x = g_new (float, n);
    for (size_t i = 0; i < n; i++)
        x[i] = dn_rng_uniform_range (&rng, -1.0f, 1.0f);
    return x;
}

static inline void assert_same_params (DnNetwork *a, DnNetwork *b, gboolean same_values)
{
    g_autoptr (GPtrArray) pa = dn_network_named_params (a);
    g_autoptr (GPtrArray) pb = dn_network_named_params (b);
    g_assert_cmpuint (pa->len, ==, pb->len);
    for (guint i = 0; i < pa->len; i++) {
        DnNamedParam *x = pa->pdata[i], *y = pb->pdata[i];
        g_assert_cmpstr (x->name, ==, y->name);
        g_assert_true (dn_shape_equal (&x->param->shape, &y->param->shape));
        g_assert_cmpint (x->param->trainable, ==, y->param->trainable);
        if (same_values) {
            size_t n = (size_t) dn_shape_numel (&x->param->shape);
            if (memcmp (x->param->value, y->param->value, n * sizeof (float)) != 0)
                g_error ("parameter %s differs", x->name);
        }
    }
}
