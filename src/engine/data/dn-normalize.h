/* dn-normalize.h: reading a normalisation ({"mean": [...], "std": [...]}) from JSON.
 *
 * Experiment files and model files both carry one; both read it here, so a
 * model refuses exactly what an experiment refuses.
 */
#pragma once

#include "dn-data.h"

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The smallest std a normalisation may give a channel; the dataset's own
 * statistics treat a smaller one as a constant channel. */
#define DN_NORMALIZE_MIN_STD 1e-12

/* {"mean": [...], "std": [...]}: 1 to 16 channels, finite means, finite stds of at
 * least DN_NORMALIZE_MIN_STD. `what` names the file in messages. */
gboolean dn_normalize_from_json (JsonNode *node, DnNormalize *out, const char *what,
                                 GError **error);

G_END_DECLS
