/* dn-normalize.c: a normalisation written in a file, checked channel by channel. */
#include "dn-normalize.h"
#include "dn-config-reader.h"
#include "dn-error.h"

#include <math.h>

gboolean dn_normalize_from_json (JsonNode *n, DnNormalize *out, const char *what, GError **error)
{
    if (n == NULL || !JSON_NODE_HOLDS_OBJECT (n)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "%s: \"normalize\" must be {\"mean\": [0.1307], \"std\": [0.3081]} with one "
                     "value per channel",
                     what);
        return FALSE;
    }
    static const char *const known[] = {"mean", "std", NULL};
    g_auto (DnFieldReader) r =
        dn_fields_reader (json_node_get_object (n), what, "normalize", 0, error);
    r.required = known;
    const DnRange any = {-INFINITY, INFINITY};
    double mean[16], std[16];
    int nm = 0, ns = 0;
    if (!dn_fields_check_keys (&r, known) ||
        !dn_fields_number_list (&r, "mean", &any, 1, 16, FALSE, mean, &nm) ||
        !dn_fields_number_list (&r, "std", &any, 1, 16, FALSE, std, &ns))
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
