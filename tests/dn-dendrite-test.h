/* dn-dendrite-test.h: what the dendrite tests share: example networks, reading a
 * selection, describing a wrapped network's layout, random inputs and outputs. */
#pragma once

#include "dn-dendrite.h"
#include "dn-error.h"
#include "dn-model.h"
#include "dn-optim.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        g_autofree char *fail_msg_ = g_strdup_printf (__VA_ARGS__);                                \
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, fail_msg_);              \
    } while (0)

/* conv1 + bn1 and conv2 + bn2, a residual add that reads bn1, and a linear head. */
#define BN_NET \
    "{\"input\": [2, 6, 6], \"layers\": [" \
    "{\"name\": \"conv1\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, " \
    "\"padding\": 1}," \
    "{\"name\": \"bn1\", \"type\": \"batchnorm2d\"}," \
    "{\"name\": \"relu1\", \"type\": \"relu\"}," \
    "{\"name\": \"conv2\", \"type\": \"conv2d\", \"out_channels\": 4, \"kernel_size\": 3, " \
    "\"padding\": 1}," \
    "{\"name\": \"bn2\", \"type\": \"batchnorm2d\"}," \
    "{\"name\": \"add1\", \"type\": \"add\", \"inputs\": [\"bn2\", \"bn1\"]}," \
    "{\"name\": \"flatten\", \"type\": \"flatten\"}," \
    "{\"name\": \"fc\", \"type\": \"linear\", \"out_features\": 3}]}"
#define BN_GROUPS "{\"groups\": [[\"conv1\", \"bn1\"], [\"conv2\", \"bn2\"]]}"

static inline JsonNode *parse (const char *json)
{
    return dn_test_parse_json (json);
}

/* The "network" member of data/examples/<name>.json. */
static inline JsonNode *example_network (const char *name)
{
    return dn_test_example_network (name);
}

/* A copy of desc without its dropout layers (none of ours is read by name). */
static inline JsonNode *without_dropout (JsonNode *desc)
{
    JsonNode *out = json_node_copy (desc);
    JsonArray *layers = json_object_get_array_member (json_node_get_object (out), "layers");
    for (guint i = json_array_get_length (layers); i-- > 0;) {
        JsonObject *o = json_array_get_object_element (layers, i);
        if (g_str_equal (json_object_get_string_member (o, "type"), "dropout"))
            json_array_remove_element (layers, i);
    }
    return out;
}

static inline gboolean selection (const char *sel_json, DnDendriteSelection *sel, GError **error)
{
    dn_dendrite_selection_init (sel);
    if (sel_json == NULL)
        return TRUE;
    g_autoptr (JsonNode) n = parse (sel_json);
    return dn_dendrite_selection_from_json (json_node_get_object (n), sel, error);
}

/* desc wrapped with the selection in sel_json (NULL: defaults); must succeed. */
static inline JsonNode *wrap (JsonNode *desc, const char *sel_json, GPtrArray **warnings)
{
    DnDendriteSelection sel;
    g_autoptr (GError) error = NULL;
    g_assert_true (selection (sel_json, &sel, &error));
    g_assert_no_error (error);
    JsonNode *w = dn_dendrite_wrap_network (desc, &sel, warnings, &error);
    dn_dendrite_selection_clear (&sel);
    g_assert_no_error (error);
    g_assert_nonnull (w);
    return w;
}

/* "name:type" of every node, types of dendritic nodes as "dendritic(conv2d+batchnorm2d)". */
static inline char *layout (JsonNode *desc)
{
    GString *s = g_string_new (NULL);
    JsonArray *a = json_object_get_array_member (json_node_get_object (desc), "layers");
    for (guint i = 0; i < json_array_get_length (a); i++) {
        JsonObject *o = json_array_get_object_element (a, i);
        const char *type = json_object_get_string_member (o, "type");
        g_string_append_printf (s, "%s%s:%s", i ? " " : "",
                                json_object_get_string_member_with_default (o, "name", "?"), type);
        if (g_str_equal (type, "dendritic")) {
            JsonArray *m = json_object_get_array_member (o, "layers");
            g_string_append_c (s, '(');
            for (guint j = 0; j < json_array_get_length (m); j++)
                g_string_append_printf (
                    s, "%s%s", j ? "+" : "",
                    json_object_get_string_member (json_array_get_object_element (m, j), "type"));
            g_string_append_c (s, ')');
        }
        if (json_object_has_member (o, "inputs")) {
            JsonArray *in = json_object_get_array_member (o, "inputs");
            g_string_append_c (s, '<');
            for (guint j = 0; j < json_array_get_length (in); j++)
                g_string_append_printf (s, "%s%s", j ? "," : "",
                                        json_array_get_string_element (in, j));
        }
    }
    return g_string_free (s, FALSE);
}

/* The error of wrapping desc with sel_json (at parsing or at wrapping). */
static inline void expect_wrap_error (JsonNode *desc, const char *sel_json, const char *needle)
{
    DnDendriteSelection sel;
    g_autoptr (GError) error = NULL;
    JsonNode *w = NULL;
    if (selection (sel_json, &sel, &error))
        w = dn_dendrite_wrap_network (desc, &sel, NULL, &error);
    dn_dendrite_selection_clear (&sel);
    if (w != NULL) {
        g_autofree char *got = layout (w);
        json_node_unref (w);
        FAIL ("%s was accepted: %s", sel_json, got);
    }
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_test_message ("%s: %s", sel_json, error->message);
    if (needle != NULL && strstr (error->message, needle) == NULL)
        FAIL ("error \"%s\" does not mention \"%s\"", error->message, needle);
}

static inline DnNetwork *build (JsonNode *desc, int batch, guint64 seed)
{
    g_autoptr (GError) error = NULL;
    DnNetwork *net = dn_network_new_from_json (desc, dn_backend_cpu (), &error);
    g_assert_no_error (error);
    g_assert_true (dn_network_reserve (net, batch, &error));
    g_assert_no_error (error);
    DnRng rng;
    dn_rng_seed (&rng, seed);
    dn_network_init (net, &rng);
    return net;
}

/* One more dendrite everywhere; frees the old network. */
static inline DnNetwork *grow (DnNetwork *net, DnRng *rng, int batch)
{
    g_autoptr (GError) error = NULL;
    int k = dn_network_dendrite_count (net);
    DnNetwork *bigger = dn_network_add_dendrites (net, rng, &error);
    g_assert_no_error (error);
    g_assert_nonnull (bigger);
    g_assert_cmpint (dn_network_dendrite_count (bigger), ==, k + 1);
    g_assert_cmpint (bigger->training, ==, net->training);
    g_assert_true (dn_network_reserve (bigger, batch, &error));
    dn_network_free (net);
    return bigger;
}

static inline float *random_input (DnNetwork *net, int batch, guint64 seed)
{
    DnRng rng;
    dn_rng_seed (&rng, seed);
    size_t n = (size_t) batch * dn_shape_numel (&net->input_shape);
    float *x = g_new (float, n);
    for (size_t i = 0; i < n; i++)
        x[i] = dn_rng_normal (&rng);
    return x;
}

static inline float *forward_copy (DnNetwork *net, const float *x, int batch, size_t *n)
{
    const DnTensor *y = dn_network_forward (net, x, batch, 11);
    *n = (size_t) dn_tensor_numel (y);
    return g_memdup2 (y->data, *n * sizeof (float));
}

static inline gboolean is_cascade (const char *name)
{
    return strstr (name, ".dendrites_to_top.") != NULL ||
           strstr (name, ".dendrites_to_dendrites.") != NULL;
}

/* Non-zero output and cascade weights, so every dendrite matters. */
static inline void randomize_cascade (DnNetwork *net, guint64 seed)
{
    DnRng rng;
    dn_rng_seed (&rng, seed);
    g_autoptr (GPtrArray) named = dn_network_named_params (net);
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = named->pdata[i];
        if (is_cascade (np->name))
            for (int64_t j = 0; j < dn_shape_numel (&np->param->shape); j++)
                np->param->value[j] = dn_rng_uniform_range (&rng, 0.5f, 1.5f) *
                                      (dn_rng_uniform (&rng) < 0.5f ? -1.0f : 1.0f);
    }
}

static inline DnParam *param (DnNetwork *net, const char *name)
{
    g_autoptr (GPtrArray) named = dn_network_named_params (net);
    for (guint i = 0; i < named->len; i++) {
        DnNamedParam *np = named->pdata[i];
        if (g_str_equal (np->name, name))
            return np->param;
    }
    FAIL ("no parameter %s", name);
    return NULL;
}

static inline double max_abs_diff (const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = MAX (m, fabs ((double) a[i] - b[i]));
    return m;
}
