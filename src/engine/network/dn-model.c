/* dn-model.c: saving and loading networks as safetensors. */
#include "dn-model.h"
#include "dn-error.h"
#include "dn-json.h"
#include "dn-normalize.h"

#include "dn-config.h"

#include <math.h>
#include <string.h>

gboolean dn_model_save (DnNetwork *net, const char *path, GHashTable *extra_metadata,
                        GError **error)
{
    return dn_model_save_checkpoint (net, NULL, path, extra_metadata, error);
}

gboolean dn_model_save_checkpoint (DnNetwork *net, DnOptimizer *opt, const char *path,
                                   GHashTable *extra_metadata, GError **error)
{
    return dn_model_save_checkpoint_pending (net, opt, path, extra_metadata, NULL, error);
}

gboolean dn_model_save_checkpoint_pending (DnNetwork *net, DnOptimizer *opt, const char *path,
                                           GHashTable *extra_metadata, DnFileCommit **pending,
                                           GError **error)
{
    if (pending != NULL)
        *pending = NULL;
    DnBackend *be = net->backend;
    g_autoptr (GPtrArray) params = dn_network_named_params (net);
    int n_opt = opt != NULL ? dn_optimizer_n_buffers (opt) : 0;
    g_autofree DnStWrite *w = g_new0 (DnStWrite, params->len + n_opt + 1);
    g_autoptr (GPtrArray) host = g_ptr_array_new_with_free_func (g_free);
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = params->pdata[i];
        size_t n = (size_t) dn_shape_numel (&np->param->shape);
        /* the network's size comes from its file: a host copy that does not fit is an error */
        float *h = dn_try_malloc0 (n * sizeof (float), "a host copy of a parameter", error);
        if (h == NULL)
            return FALSE;
        be->download (be, h, np->param->value, n * sizeof (float));
        g_ptr_array_add (host, h);
        w[i].name = np->name;
        w[i].shape = np->param->shape;
        w[i].data = h;
    }
    int nw = (int) params->len;
    if (opt != NULL) {
        for (int i = 0; i < n_opt; i++) {
            const char *bname;
            float *buf = dn_optimizer_buffer (opt, i, &bname);
            float *h = dn_try_malloc0 (net->n_params * sizeof (float),
                                       "a host copy of the optimizer state", error);
            if (h == NULL)
                return FALSE;
            be->download (be, h, buf, net->n_params * sizeof (float));
            g_ptr_array_add (host, h);
            char *name = g_strdup_printf ("optimizer.%s", bname);
            g_ptr_array_add (names, name);
            w[nw].name = name;
            w[nw].shape = dn_shape_1d ((int64_t) net->n_params);
            w[nw].data = h;
            nw++;
        }
        /* the step count, exact as a float up to 2^24 steps; kept as text too */
        float *steps = g_new (float, 1);
        steps[0] = (float) dn_optimizer_steps (opt);
        g_ptr_array_add (host, steps);
        w[nw].name = "optimizer.step";
        w[nw].shape = dn_shape_make (0, NULL);
        w[nw].data = steps;
        nw++;
    }
    g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
    if (extra_metadata != NULL) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init (&it, extra_metadata);
        while (g_hash_table_iter_next (&it, &k, &v))
            g_hash_table_replace (meta, g_strdup (k), g_strdup (v));
    }
    g_autoptr (JsonNode) desc = dn_network_to_json (net);
    g_hash_table_replace (meta, g_strdup ("format"), g_strdup ("pt"));
    g_hash_table_replace (meta, g_strdup ("app"), g_strdup ("dendrite-studio"));
    g_hash_table_replace (meta, g_strdup ("app_version"), g_strdup (PACKAGE_VERSION));
    g_hash_table_replace (meta, g_strdup ("dendrite_network"), dn_json_to_string (desc, FALSE));
    if (opt != NULL)
        g_hash_table_replace (meta, g_strdup ("dendrite_optimizer_steps"),
                              g_strdup_printf ("%" G_GINT64_FORMAT, dn_optimizer_steps (opt)));
    return dn_safetensors_write_pending (path, w, nw, meta, pending, error);
}

/* "dendrite_optimizer_steps": a whole number >= 0, 0 when absent. */
static gboolean metadata_steps (GHashTable *meta, const char *what, gint64 *out, GError **error)
{
    const char *text = g_hash_table_lookup (meta, "dendrite_optimizer_steps");
    guint64 v = 0;
    if (text != NULL && !g_ascii_string_to_unsigned (text, 10, 0, G_MAXINT64, &v, NULL)) {
        g_autofree char *q = dn_quote (text);
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: __metadata__ \"dendrite_optimizer_steps\" is %s; it must be a whole "
                     "number >= 0 (the file is corrupt; re-save it)",
                     what, q);
        return FALSE;
    }
    *out = (gint64) v;
    return TRUE;
}

gboolean dn_model_normalize (GHashTable *metadata, const DnNetwork *net, const char *what,
                             DnNormalize *out, gboolean *present, GError **error)
{
    *out = (DnNormalize){.n_channels = 1, .mean = {0.0f}, .std = {1.0f}};
    const char *text = g_hash_table_lookup (metadata, "dendrite_normalize");
    if (present != NULL)
        *present = text != NULL;
    if (text == NULL)
        return TRUE;
    g_autofree char *where = g_strdup_printf ("%s: __metadata__ \"dendrite_normalize\"", what);
    g_autoptr (JsonNode) root = dn_json_parse (text, -1, where, error);
    DnNormalize n;
    if (root == NULL || !dn_normalize_from_json (root, &n, where, error))
        return FALSE;
    int64_t numel = dn_shape_numel (&net->input_shape);
    int channels = net->input_shape.ndim == 3 ? (int) net->input_shape.d[0] : 1;
    if (n.n_channels != 1 &&
        (numel % n.n_channels != 0 || (net->input_shape.ndim == 3 && n.n_channels != channels))) {
        g_autofree char *shape = dn_shape_to_string (&net->input_shape);
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s gives %d channels but the network's input %s has %d; the file is "
                     "corrupt or was edited, so re-save it",
                     where, n.n_channels, shape, channels);
        return FALSE;
    }
    *out = n;
    return TRUE;
}

/* The members this module and its callers read, each of the type they read. */
static gboolean check_metadata (GHashTable *meta, const DnNetwork *net, const char *what,
                                GError **error)
{
    DnNormalize norm;
    gint64 steps;
    if (!dn_model_normalize (meta, net, what, &norm, NULL, error) ||
        !metadata_steps (meta, what, &steps, error))
        return FALSE;
    static const char *const objects[] = {"dendrite_run", "dendrite_continual",
                                          "dendrite_continual_run", "dendrite_training", NULL};
    for (int i = 0; objects[i] != NULL; i++) {
        const char *text = g_hash_table_lookup (meta, objects[i]);
        if (text == NULL)
            continue;
        g_autofree char *where = g_strdup_printf ("%s: __metadata__ \"%s\"", what, objects[i]);
        g_autoptr (JsonNode) root = dn_json_parse (text, -1, where, error);
        if (root == NULL)
            return FALSE;
        if (!JSON_NODE_HOLDS_OBJECT (root)) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s is not a JSON object; the file is corrupt, so re-save it", where);
            return FALSE;
        }
    }
    return TRUE;
}

gboolean dn_model_load_optimizer (DnSafetensors *st, DnOptimizer *opt, const char *what,
                                  GError **error)
{
    for (int i = 0; i < dn_optimizer_n_buffers (opt); i++) {
        const char *bname;
        dn_optimizer_buffer (opt, i, &bname);
        g_autofree char *name = g_strdup_printf ("optimizer.%s", bname);
        DnStTensor *t = NULL;
        for (guint k = 0; k < st->tensors->len && t == NULL; k++)
            if (g_str_equal (((DnStTensor *) st->tensors->pdata[k])->name, name))
                t = st->tensors->pdata[k];
        if (t == NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: the checkpoint has no optimizer state \"%s\"; was it saved with "
                         "another optimizer?",
                         what, name);
            return FALSE;
        }
        g_autoptr (GError) local = NULL;
        const float *data = t->shape.ndim == 1 ? dn_safetensors_tensor_data (st, t, &local) : NULL;
        if (data == NULL ||
            !dn_optimizer_load_buffer (opt, i, data, (size_t) t->shape.d[0], &local)) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: %s", what,
                         local != NULL ? local->message : "optimizer state is not a flat array");
            return FALSE;
        }
    }
    gint64 steps = 0;
    if (!metadata_steps (st->metadata, what, &steps, error))
        return FALSE;
    dn_optimizer_set_steps (opt, steps);
    return TRUE;
}

static const char *strip_prefixes (const char *name)
{
    static const char *const prefixes[] = {"module.", "_orig_mod.", NULL};
    gboolean again = TRUE;
    while (again) {
        again = FALSE;
        for (int i = 0; prefixes[i] != NULL; i++) {
            if (g_str_has_prefix (name, prefixes[i])) {
                name += strlen (prefixes[i]);
                again = TRUE;
            }
        }
    }
    return name;
}

gboolean dn_model_load_weights (DnNetwork *net, DnSafetensors *st, const char *what, GError **error)
{
    DnBackend *be = net->backend;
    g_autoptr (GPtrArray) params = dn_network_named_params (net);
    g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
    for (guint i = 0; i < params->len; i++)
        g_hash_table_insert (by_name, ((DnNamedParam *) params->pdata[i])->name, params->pdata[i]);
    g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
    for (guint i = 0; i < st->tensors->len; i++) {
        DnStTensor *t = st->tensors->pdata[i];
        const char *name = strip_prefixes (t->name);
        if (g_str_has_suffix (name, ".num_batches_tracked") ||
            g_str_has_prefix (name, "optimizer."))
            continue;
        DnNamedParam *np = g_hash_table_lookup (by_name, name);
        if (np == NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: tensor \"%s\" has no place in the network; check that the file "
                         "belongs to this network",
                         what, t->name);
            return FALSE;
        }
        if (!dn_shape_equal (&t->shape, &np->param->shape)) {
            g_autofree char *a = dn_shape_to_string (&t->shape);
            g_autofree char *b = dn_shape_to_string (&np->param->shape);
            g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                         "%s: tensor \"%s\" has shape %s but the network's layer '%s' needs %s",
                         what, t->name, a, np->node->name, b);
            return FALSE;
        }
        const float *data = dn_safetensors_tensor_data (st, t, error);
        if (data == NULL)
            return FALSE;
        size_t numel = (size_t) dn_shape_numel (&t->shape);
        size_t bad = 0, first = 0;
        for (size_t k = 0; k < numel; k++) {
            if (!isfinite (data[k])) {
                first = bad == 0 ? k : first;
                bad++;
            }
        }
        if (bad > 0) {
            g_autofree char *q = dn_quote (t->name);
            g_set_error (error, DN_ERROR, DN_ERROR_NUMERIC,
                         "%s: tensor %s holds %" G_GSIZE_FORMAT " value%s that %s not finite "
                         "(the first, element %" G_GSIZE_FORMAT ", is %g); the training that "
                         "wrote it diverged, so retrain with a lower learning rate or use an "
                         "earlier checkpoint",
                         what, q, bad, bad == 1 ? "" : "s", bad == 1 ? "is" : "are", first,
                         (double) data[first]);
            return FALSE;
        }
        be->upload (be, np->param->value, data, numel * sizeof (float));
        dn_safetensors_tensor_release (st, t);
        g_hash_table_add (seen, np->name);
    }
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = params->pdata[i];
        if (!g_hash_table_contains (seen, np->name)) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: the network needs tensor \"%s\" but the file does not have it", what,
                         np->name);
            return FALSE;
        }
    }
    return TRUE;
}

DnNetwork *dn_model_load (const char *path, DnBackend *be, GHashTable **metadata, GError **error)
{
    g_autoptr (DnSafetensors) st = dn_safetensors_open (path, error);
    if (st == NULL)
        return NULL;
    const char *desc = dn_safetensors_metadata (st, "dendrite_network");
    if (desc == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: this safetensors file has no network description "
                     "(\"dendrite_network\" in __metadata__); it was not written by Dendrite "
                     "Studio. Load its weights into a network from an experiment file instead",
                     path);
        return NULL;
    }
    g_autoptr (GError) local = NULL;
    g_autofree char *what = g_strdup_printf ("%s: the network description in __metadata__", path);
    g_autoptr (JsonNode) root = dn_json_parse (desc, -1, what, error);
    if (root == NULL)
        return NULL;
    DnNetwork *net = dn_network_new_from_json (root, be, &local);
    if (net == NULL) {
        g_set_error (error, DN_ERROR,
                     g_error_matches (local, DN_ERROR, DN_ERROR_SHAPE) ? DN_ERROR_SHAPE
                                                                       : DN_ERROR_FORMAT,
                     "%s: %s", path, local->message);
        return NULL;
    }
    if (!check_metadata (st->metadata, net, path, error) ||
        !dn_model_load_weights (net, st, path, error)) {
        dn_network_free (net);
        return NULL;
    }
    if (metadata != NULL)
        *metadata = g_hash_table_ref (st->metadata);
    return net;
}
