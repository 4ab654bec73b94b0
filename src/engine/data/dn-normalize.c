/* dn-normalize.c: a normalisation written in a file, checked channel by channel. */
#include "dn-normalize.h"
#include "dn-error.h"
#include "dn-json.h"

#include <math.h>

/* One list of the normalisation: 1 to 16 finite numbers. */
static gboolean read_norm_list (JsonObject *o, const char *key, double *out, int *count,
                                const char *what, GError **error)
{
    JsonNode *n = json_object_get_member (o, key);
    guint len = n != NULL && JSON_NODE_HOLDS_ARRAY (n)
                    ? json_array_get_length (json_node_get_array (n))
                    : 0;
    if (len < 1 || len > 16) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s: \"normalize\".\"%s\" must be a list of 1 to 16 numbers, one per "
                     "channel",
                     what, key);
        return FALSE;
    }
    JsonArray *a = json_node_get_array (n);
    for (guint i = 0; i < len; i++) {
        JsonNode *e = json_array_get_element (a, i);
        if (!JSON_NODE_HOLDS_VALUE (e) ||
            (json_node_get_value_type (e) != G_TYPE_DOUBLE &&
             json_node_get_value_type (e) != G_TYPE_INT64) ||
            !isfinite (json_node_get_double (e))) {
            g_autofree char *got = dn_json_describe (e);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "%s: \"normalize\".\"%s\"[%u] is %s; it must be a finite number", what,
                         key, i, got);
            return FALSE;
        }
        out[i] = json_node_get_double (e);
    }
    *count = (int) len;
    return TRUE;
}

gboolean dn_normalize_from_json (JsonNode *n, DnNormalize *out, const char *what, GError **error)
{
    if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s: \"normalize\" must be {\"mean\": [0.1307], \"std\": [0.3081]} with one "
                     "value per channel",
                     what);
        return FALSE;
    }
    JsonObject *o = json_node_get_object (n);
    static const char *const known[] = {"mean", "std", NULL};
    g_autoptr (GList) members = json_object_get_members (o);
    for (GList *m = members; m != NULL; m = m->next) {
        if (!g_strv_contains (known, m->data)) {
            g_autofree char *q = dn_quote (m->data);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "%s: unknown field %s in \"normalize\"; it holds only \"mean\" and "
                         "\"std\"",
                         what, q);
            return FALSE;
        }
    }
    double mean[16], std[16];
    int nm = 0, ns = 0;
    if (!read_norm_list (o, "mean", mean, &nm, what, error) ||
        !read_norm_list (o, "std", std, &ns, what, error))
        return FALSE;
    if (nm != ns) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s: \"normalize\" has %d means but %d stds; give one of each per channel",
                     what, nm, ns);
        return FALSE;
    }
    for (int i = 0; i < ns; i++) {
        /* the bound the dataset's own statistics use: a smaller std is a constant channel */
        const char *why = NULL;
        if (!isfinite ((float) mean[i]))
            why = "its mean does not fit a float (|mean| at most 3.4e38)";
        else if (!(std[i] > 0))
            why = "its std is not positive; it must be at least 1e-12";
        else if (std[i] < DN_NORMALIZE_MIN_STD)
            why = "its std is too small: below 1e-12, a channel that does not vary";
        else if (!isfinite ((float) std[i]))
            why = "its std does not fit a float (at most 3.4e38)";
        if (why != NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "%s: \"normalize\" channel %d has mean %g and std %g: %s", what, i,
                         mean[i], std[i], why);
            return FALSE;
        }
    }
    out->n_channels = nm;
    for (int i = 0; i < nm; i++) {
        out->mean[i] = (float) mean[i];
        out->std[i] = (float) std[i];
    }
    return TRUE;
}
