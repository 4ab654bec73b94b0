/* dn-layers-test.h: what the layer tests share: building a layer from JSON
 * settings and input shapes, and expecting its configuration and shape errors. */
#pragma once

#include "dn-backend.h"
#include "dn-dendrite.h"
#include "dn-error.h"
#include "dn-layer.h"
#include "dn-test-util.h"

#include <math.h>
#include <string.h>

static inline JsonObject *parse_object (const char *json)
{
    g_autoptr (JsonParser) p = json_parser_new ();
    g_autoptr (GError) error = NULL;
    json_parser_load_from_data (p, json, -1, &error);
    g_assert_no_error (error);
    return json_object_ref (json_node_get_object (json_parser_get_root (p)));
}

static inline DnShape shp (int ndim, int64_t a, int64_t b, int64_t c)
{
    int64_t d[3] = {a, b, c};
    return dn_shape_make (ndim, d);
}

/* Builds and infers a layer; NULL with the error from whichever step failed. */
static inline DnLayer *build (const char *type, const char *name, const char *cfg, int n_in,
                       const DnShape *shapes, gboolean *failed_in_infer, GError **error)
{
    g_autoptr (JsonObject) o = cfg != NULL ? parse_object (cfg) : NULL;
    *failed_in_infer = FALSE;
    DnLayer *l = dn_layer_new (type, name, o, error);
    if (l == NULL)
        return NULL;
    if (!dn_layer_infer (l, n_in, shapes, error)) {
        *failed_in_infer = TRUE;
        dn_layer_free (l);
        return NULL;
    }
    return l;
}

static inline void assert_message_has (const GError *error, const char *needle)
{
    if (strstr (error->message, needle) == NULL) {
        g_autofree char *msg = g_strdup_printf ("error message \"%s\" does not mention \"%s\"",
                                                error->message, needle);
        g_assertion_message (G_LOG_DOMAIN, __FILE__, __LINE__, G_STRFUNC, msg);
    }
}

/* A configuration error from dn_layer_new naming the layer and `key`. */
static inline void expect_config_error (const char *type, const char *name, const char *cfg,
                                 const char *key)
{
    g_autoptr (GError) error = NULL;
    g_autoptr (JsonObject) o = parse_object (cfg);
    g_autoptr (DnLayer) l = dn_layer_new (type, name, o, &error);
    g_assert_null (l);
    g_assert_error (error, DN_ERROR, DN_ERROR_CONFIG);
    g_test_message ("%s %s: %s", type, cfg, error->message);
    assert_message_has (error, name);
    if (key != NULL)
        assert_message_has (error, key);
}

/* A shape error from dn_layer_infer naming the layer. */
static inline void expect_shape_error (const char *type, const char *name, const char *cfg, int n_in,
                                const DnShape *shapes)
{
    g_autoptr (GError) error = NULL;
    gboolean in_infer;
    g_autoptr (DnLayer) l = build (type, name, cfg, n_in, shapes, &in_infer, &error);
    g_assert_null (l);
    g_assert_nonnull (error);
    g_test_message ("%s %s: %s", type, cfg, error->message);
    g_assert_true (in_infer);
    g_assert_error (error, DN_ERROR, DN_ERROR_SHAPE);
    assert_message_has (error, name);
}

static inline JsonNode *layer_to_json (DnLayer *l)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    if (l->klass->to_json != NULL)
        l->klass->to_json (l, b);
    json_builder_end_object (b);
    return json_builder_get_root (b);
}

static inline char *describe (DnLayer *l)
{
    return l->klass->describe != NULL ? l->klass->describe (l) : g_strdup ("");
}
