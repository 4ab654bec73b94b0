/* dn-network.c: building, running and describing a graph of layers. */
#include "dn-network.h"
#include "dn-error.h"

#include <string.h>

/* The most floats one layer may hold (its output per sample, each parameter, its
 * scratch per sample) and the network's parameters and buffers in all: what the
 * int-indexed kernels can address, far beyond any network one machine trains.
 * Checked before anything is allocated, so absurd shapes are a clear error. */
#define DN_MAX_FLOATS ((int64_t) G_MAXINT32)

/* The number of elements of s, or -1 when it is above DN_MAX_FLOATS (checked
 * before each multiplication, so it never overflows). */
static int64_t checked_numel (const DnShape *s)
{
    int64_t n = 1;
    for (int i = 0; i < s->ndim; i++) {
        if (s->d[i] < 0 || (s->d[i] > 0 && n > DN_MAX_FLOATS / s->d[i]))
            return -1;
        n *= s->d[i];
    }
    return n;
}

static void node_free (gpointer p)
{
    DnNode *n = p;
    dn_layer_free (n->layer);
    g_free (n->name);
    g_free (n);
}

static gboolean read_input_shape (JsonObject *obj, DnShape *shape, GError **error)
{
    g_auto (DnFieldReader) r = dn_fields_reader (obj, "network", NULL, 0, error);
    JsonNode *n = dn_fields_member (&r, "input");
    if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "network: \"input\" must be the shape of one sample, e.g. [1, 28, 28] for "
                     "MNIST images or [4] for 4 features");
        return FALSE;
    }
    guint len = json_array_get_length (json_node_get_array (n));
    if (len < 1 || len > 4) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "network: \"input\" has %u dimensions; give 1 to 4, e.g. [1, 28, 28]", len);
        return FALSE;
    }
    int dims[4], n_dims = 0;
    if (!dn_fields_int_list (&r, "input", 1, 1 << 24, 1, 4, FALSE, dims, &n_dims))
        return FALSE;
    shape->ndim = n_dims;
    for (int i = 0; i < n_dims; i++)
        shape->d[i] = dims[i];
    if (checked_numel (shape) < 0) {
        g_autofree char *s = dn_shape_to_string (shape);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "network: \"input\" %s has more than %" G_GINT64_FORMAT
                     " values per sample; use a smaller input",
                     s, DN_MAX_FLOATS);
        return FALSE;
    }
    return TRUE;
}

/* After infer: the layer's output, parameters and scratch must be of a size that
 * can be allocated and indexed. */
static gboolean check_layer_sizes (DnLayer *l, GError **error)
{
    const char *what = "output";
    const DnShape *shape = &l->out_shape;
    gboolean ok = checked_numel (shape) >= 0;
    for (int j = 0; ok && j < l->n_params; j++) {
        what = l->params[j].name;
        shape = &l->params[j].shape;
        ok = checked_numel (shape) >= 0;
    }
    if (!ok) {
        g_autofree char *s = dn_shape_to_string (shape);
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (%s): its %s %s has more than %" G_GINT64_FORMAT
                     " values; make the layer or its input smaller",
                     l->name, l->klass->type, what, s, DN_MAX_FLOATS);
        return FALSE;
    }
    if (l->workspace_per_sample > (size_t) DN_MAX_FLOATS) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "layer '%s' (%s): needs %zu floats of scratch space per sample, more than "
                     "%" G_GINT64_FORMAT "; make the layer or its input smaller",
                     l->name, l->klass->type, l->workspace_per_sample, DN_MAX_FLOATS);
        return FALSE;
    }
    return TRUE;
}

static int find_node_index (GPtrArray *nodes, const char *name)
{
    for (guint i = 0; i < nodes->len; i++)
        if (g_str_equal (((DnNode *) nodes->pdata[i])->name, name))
            return (int) i;
    return -2;
}

static gboolean read_inputs (JsonObject *lo, DnNode *node, GPtrArray *nodes, GError **error)
{
    g_autofree char *what = g_strdup_printf ("layer '%s'", node->name);
    g_auto (DnFieldReader) r = dn_fields_reader (lo, what, NULL, 0, error);
    JsonNode *n = dn_fields_member (&r, "inputs");
    if (n == NULL) {
        node->n_inputs = 1;
        node->inputs[0] = (int) nodes->len - 1; /* the node before, or -1: the input */
        return TRUE;
    }
    g_auto (GStrv) names = NULL;
    if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
        names = g_new0 (char *, 2);
        names[0] = g_strdup (json_node_get_string (n));
    } else if (!dn_fields_string_list (&r, "inputs", &names)) {
        return FALSE;
    }
    guint len = g_strv_length (names);
    if (len == 0 || len > DN_LAYER_MAX_INPUTS) {
        g_autofree char *rule =
            g_strdup_printf ("a layer name or a list of 1 to %d layer names", DN_LAYER_MAX_INPUTS);
        return dn_fields_fail (&r, "inputs", rule);
    }
    node->n_inputs = (int) len;
    for (guint i = 0; i < len; i++) {
        const char *name = names[i];
        int idx = g_str_equal (name, "input") ? -1 : find_node_index (nodes, name);
        if (idx == -2) {
            g_autofree char *q = dn_quote (name);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "layer '%s': input %s is not a layer defined before it (or "
                         "\"input\" for the network input)",
                         node->name, q);
            return FALSE;
        }
        node->inputs[i] = idx;
    }
    return TRUE;
}

/* " (the device has F MB free of T MB)" for a backend that reports its memory, else "":
 * what a message about a run that does not fit adds. */
static char *device_memory (DnBackend *be)
{
    size_t free_bytes = 0, total_bytes = 0;
    if (be->memory_info == NULL)
        return g_strdup ("");
    be->memory_info (be, &free_bytes, &total_bytes);
    return g_strdup_printf (" (the %s device has %.0f MB free of %.0f MB)", be->name,
                            free_bytes / 1e6, total_bytes / 1e6);
}

static gboolean allocate_params (DnNetwork *net, GError **error)
{
    size_t np = 0, nb = 0;
    for (guint i = 0; i < net->nodes->len; i++) {
        DnLayer *l = ((DnNode *) net->nodes->pdata[i])->layer;
        for (int j = 0; j < l->n_params; j++) {
            size_t n = (size_t) dn_shape_numel (&l->params[j].shape);
            if (l->params[j].trainable)
                np += n;
            else
                nb += n;
        }
    }
    if (np + nb > (size_t) DN_MAX_FLOATS) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "network: %zu parameters and buffers in all, more than %" G_GINT64_FORMAT
                     "; use a smaller network",
                     np + nb, DN_MAX_FLOATS);
        return FALSE;
    }
    DnBackend *be = net->backend;
    net->n_params = np;
    net->n_buffers = nb;
    net->params = be->alloc (be, np * sizeof (float));
    net->grads = be->alloc (be, np * sizeof (float));
    net->buffers = be->alloc (be, nb * sizeof (float));
    if (net->params == NULL || net->grads == NULL || net->buffers == NULL) {
        g_autofree char *card = device_memory (be);
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory for %zu parameters (%.0f MB with their gradients)%s; use a "
                     "smaller network",
                     np + nb, (2.0 * np + nb) * 4 / 1e6, card);
        return FALSE;
    }
    size_t op = 0, ob = 0;
    for (guint i = 0; i < net->nodes->len; i++) {
        DnLayer *l = ((DnNode *) net->nodes->pdata[i])->layer;
        for (int j = 0; j < l->n_params; j++) {
            DnParam *p = &l->params[j];
            size_t n = (size_t) dn_shape_numel (&p->shape);
            if (p->trainable) {
                p->value = net->params + op;
                p->grad = net->grads + op;
                op += n;
                if (p->row_len > 0) {
                    g_free (p->rows);
                    p->rows =
                        dn_try_malloc0 (n / p->row_len, "the row flags of a parameter", error);
                    if (p->rows == NULL)
                        return FALSE;
                    net->n_tracked++;
                }
            } else {
                p->value = net->buffers + ob;
                p->grad = NULL;
                ob += n;
            }
        }
    }
    return TRUE;
}

/* Offers every layer that can fuse (DnLayerClass.fuse) the chain of nodes after it:
 * each reads only the node before, which nothing else reads and no caller keeps. */
static void plan_fusion (DnNetwork *net)
{
    const guint n = net->nodes->len;
    g_autofree int *readers = g_new0 (int, n);
    for (guint i = 0; i < n; i++) {
        DnNode *node = net->nodes->pdata[i];
        for (int k = 0; k < node->n_inputs; k++)
            if (node->inputs[k] >= 0)
                readers[node->inputs[k]]++;
        node->fused = 0;
        node->computed_by = (int) i;
    }
    for (guint i = 0; i < n; i++) {
        DnNode *node = net->nodes->pdata[i];
        if (node->computed_by != (int) i || node->layer->klass->fuse == NULL)
            continue;
        DnLayer *next[4];
        int len = 0;
        for (guint j = i + 1; j < n && len < (int) G_N_ELEMENTS (next); j++) {
            DnNode *prev = net->nodes->pdata[j - 1], *nj = net->nodes->pdata[j];
            if (nj->n_inputs != 1 || nj->inputs[0] != (int) j - 1 || readers[j - 1] != 1 ||
                prev->keep_output)
                break;
            next[len++] = nj->layer;
        }
        node->fused = node->layer->klass->fuse (node->layer, next, len);
        for (int j = 1; j <= node->fused; j++)
            ((DnNode *) net->nodes->pdata[i + j])->computed_by = (int) i;
    }
}

void dn_network_keep_output (DnNetwork *net, int i)
{
    ((DnNode *) net->nodes->pdata[i])->keep_output = TRUE;
    plan_fusion (net);
}

/* Whether node i's output and gradient are never written: it is inside a fused chain. */
static gboolean is_inner (DnNetwork *net, int i)
{
    DnNode *n = net->nodes->pdata[i];
    DnNode *head = net->nodes->pdata[n->computed_by];
    return n->fused > 0 || (n->computed_by != i && i != n->computed_by + head->fused);
}

DnNetwork *dn_network_new_from_json (JsonNode *desc, DnBackend *be, GError **error)
{
    if (desc == NULL || !JSON_NODE_HOLDS_OBJECT (desc)) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "network: expected an object with \"input\" and \"layers\"");
        return NULL;
    }
    JsonObject *obj = json_node_get_object (desc);
    g_autoptr (DnNetwork) net = g_new0 (DnNetwork, 1);
    net->backend = be;
    net->nodes = g_ptr_array_new_with_free_func (node_free);
    if (!read_input_shape (obj, &net->input_shape, error))
        return NULL;
    JsonNode *ln = json_object_get_member (obj, "layers");
    if (ln == NULL || !JSON_NODE_HOLDS_ARRAY (ln) ||
        json_array_get_length (json_node_get_array (ln)) == 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                     "network: \"layers\" must be a non-empty list of layers");
        return NULL;
    }
    JsonArray *layers = json_node_get_array (ln);
    g_autoptr (GHashTable) type_counts =
        g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < json_array_get_length (layers); i++) {
        JsonNode *e = json_array_get_element (layers, i);
        if (!JSON_NODE_HOLDS_OBJECT (e)) {
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "network: layer %u must be an object like {\"type\": \"relu\"}", i + 1);
            return NULL;
        }
        JsonObject *lo = json_node_get_object (e);
        g_autofree char *layer_what = g_strdup_printf ("network: layer %u", i + 1);
        g_auto (DnFieldReader) lr = dn_fields_reader (lo, layer_what, NULL, 0, error);
        lr.required = (const char *const[]){"type", NULL};
        g_autofree char *type = NULL, *given = NULL;
        if (!dn_fields_string (&lr, "type", &type) || !dn_fields_string (&lr, "name", &given))
            return NULL;
        g_autofree char *name = NULL;
        if (given != NULL) {
            g_autofree char *name_what = g_strdup_printf ("network: layer %u: \"name\"", i + 1);
            if (!dn_check_name (given, FALSE, name_what, error))
                return NULL;
            /* parameters are named "<layer>.<param>", as in a PyTorch state dict */
            if (strchr (given, '.') != NULL) {
                g_autofree char *q = dn_quote (given);
                g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                             "%s %s contains a dot; layer names have no dots, as tensors are "
                             "named layer.weight",
                             name_what, q);
                return NULL;
            }
            name = g_steal_pointer (&given);
        } else {
            int count = GPOINTER_TO_INT (g_hash_table_lookup (type_counts, type)) + 1;
            g_hash_table_replace (type_counts, g_ascii_strdown (type, -1), GINT_TO_POINTER (count));
            name = g_strdup_printf ("%s%d", type, count);
            while (find_node_index (net->nodes, name) != -2) {
                g_free (name);
                name = g_strdup_printf ("%s%d_%u", type, count, i + 1);
            }
        }
        if (g_str_equal (name, "input") || find_node_index (net->nodes, name) != -2) {
            g_autofree char *q = dn_quote (name);
            g_set_error (error, DN_ERROR, DN_ERROR_CONFIG,
                         "network: layer %u: the name %s is %s; names must be unique", i + 1, q,
                         g_str_equal (name, "input") ? "reserved" : "used twice");
            return NULL;
        }
        DnNode *node = g_new0 (DnNode, 1);
        node->name = g_steal_pointer (&name);
        /* inputs are resolved against the nodes before this one */
        if (!read_inputs (lo, node, net->nodes, error) ||
            (node->layer = dn_layer_new (type, node->name, lo, error)) == NULL) {
            node_free (node);
            return NULL;
        }
        g_ptr_array_add (net->nodes, node);
        DnShape in_shapes[DN_LAYER_MAX_INPUTS];
        for (int k = 0; k < node->n_inputs; k++) {
            int src = node->inputs[k];
            in_shapes[k] =
                src < 0 ? net->input_shape : ((DnNode *) net->nodes->pdata[src])->layer->out_shape;
        }
        if (!dn_layer_infer (node->layer, node->n_inputs, in_shapes, error) ||
            !check_layer_sizes (node->layer, error))
            return NULL;
    }
    if (!allocate_params (net, error))
        return NULL;
    /* Backward only where a parameter is reached: a node needs its output's gradient
     * when it or a node before it has trainable parameters. */
    for (guint i = 0; i < net->nodes->len; i++) {
        DnNode *node = net->nodes->pdata[i];
        node->needs_grad = dn_layer_n_params (node->layer) > 0;
        for (int k = 0; k < node->n_inputs && !node->needs_grad; k++)
            node->needs_grad = node->inputs[k] >= 0 &&
                               ((DnNode *) net->nodes->pdata[node->inputs[k]])->needs_grad;
    }
    plan_fusion (net);
    net->training = TRUE;
    return g_steal_pointer (&net);
}

void dn_network_free (DnNetwork *net)
{
    if (net == NULL)
        return;
    DnBackend *be = net->backend;
    if (net->nodes != NULL)
        g_ptr_array_unref (net->nodes);
    if (be != NULL) {
        be->free (be, net->params);
        be->free (be, net->grads);
        be->free (be, net->buffers);
        be->free (be, net->acts);
        be->free (be, net->dacts);
        be->free (be, net->workspace);
    }
    g_free (net);
}

JsonNode *dn_network_to_json (DnNetwork *net)
{
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "input");
    json_builder_begin_array (b);
    for (int i = 0; i < net->input_shape.ndim; i++)
        json_builder_add_int_value (b, net->input_shape.d[i]);
    json_builder_end_array (b);
    json_builder_set_member_name (b, "layers");
    json_builder_begin_array (b);
    for (guint i = 0; i < net->nodes->len; i++) {
        DnNode *n = net->nodes->pdata[i];
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "name");
        json_builder_add_string_value (b, n->name);
        json_builder_set_member_name (b, "type");
        json_builder_add_string_value (b, n->layer->klass->type);
        gboolean default_input = n->n_inputs == 1 && n->inputs[0] == (int) i - 1;
        if (!default_input) {
            json_builder_set_member_name (b, "inputs");
            json_builder_begin_array (b);
            for (int k = 0; k < n->n_inputs; k++) {
                int src = n->inputs[k];
                json_builder_add_string_value (
                    b, src < 0 ? "input" : ((DnNode *) net->nodes->pdata[src])->name);
            }
            json_builder_end_array (b);
        }
        if (n->layer->klass->to_json != NULL)
            n->layer->klass->to_json (n->layer, b);
        json_builder_end_object (b);
    }
    json_builder_end_array (b);
    json_builder_end_object (b);
    return json_builder_get_root (b);
}

void dn_network_init (DnNetwork *net, DnRng *rng)
{
    for (guint i = 0; i < net->nodes->len; i++) {
        DnLayer *l = ((DnNode *) net->nodes->pdata[i])->layer;
        if (l->klass->init != NULL)
            l->klass->init (l, rng);
    }
}

gboolean dn_network_reserve (DnNetwork *net, int batch, GError **error)
{
    if (batch <= net->max_batch)
        return TRUE;
    DnBackend *be = net->backend;
    size_t per = 0, ws = 0;
    for (guint i = 0; i < net->nodes->len; i++) {
        DnNode *n = net->nodes->pdata[i];
        n->act_offset = per;
        /* 16-float alignment per node keeps every tensor 64-byte aligned */
        per += ((size_t) dn_shape_numel (&n->layer->out_shape) + 15) & ~(size_t) 15;
        const DnLayerClass *k = n->layer->klass;
        size_t need = k->workspace_size != NULL ? k->workspace_size (n->layer, be, batch)
                                                : n->layer->workspace_per_sample * batch;
        ws = MAX (ws, need);
    }
    gsize act_bytes = 0, ws_bytes = 0;
    if (!g_size_checked_mul (&act_bytes, per, sizeof (float)) ||
        !g_size_checked_mul (&act_bytes, act_bytes, (gsize) batch) ||
        !g_size_checked_mul (&ws_bytes, MAX (ws, 1), sizeof (float))) {
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "activations for a batch of %d do not fit in memory (%zu floats per "
                     "sample); use a smaller batch size",
                     batch, per);
        return FALSE;
    }
    be->free (be, net->acts);
    be->free (be, net->dacts);
    be->free (be, net->workspace);
    net->acts_per_sample = per;
    net->workspace_size = ws;
    net->acts = be->alloc (be, act_bytes);
    net->dacts = be->alloc (be, act_bytes);
    net->workspace = be->alloc (be, ws_bytes);
    if (net->acts == NULL || net->dacts == NULL || net->workspace == NULL) {
        net->max_batch = 0;
        g_autofree char *card = device_memory (be);
        g_set_error (error, DN_ERROR, DN_ERROR_NOMEM,
                     "out of memory for activations of a batch of %d (%.0f MB)%s; use a smaller "
                     "batch size",
                     batch, (2.0 * per * batch + ws) * 4 / 1e6, card);
        return FALSE;
    }
    net->max_batch = batch;
    /* views are laid out batch-major within each node's block; a view layer's gradient
     * is its input's (its output follows the input in every forward) */
    for (guint i = 0; i < net->nodes->len; i++) {
        DnNode *n = net->nodes->pdata[i];
        dn_tensor_view (&n->out, net->acts + n->act_offset * batch, batch, &n->layer->out_shape);
        dn_tensor_view (&n->dout, net->dacts + n->act_offset * batch, batch, &n->layer->out_shape);
        if (n->layer->klass->view && n->inputs[0] >= 0)
            n->dout.data = ((DnNode *) net->nodes->pdata[n->inputs[0]])->dout.data;
    }
    return TRUE;
}

void dn_network_set_training (DnNetwork *net, gboolean training)
{
    net->training = training;
}

static void set_batch (DnNetwork *net, int batch)
{
    for (guint i = 0; i < net->nodes->len; i++) {
        DnNode *n = net->nodes->pdata[i];
        n->out.shape[0] = batch;
        n->dout.shape[0] = batch;
    }
    net->ctx.backend = net->backend;
    net->ctx.training = net->training;
    net->ctx.workspace = net->workspace;
    net->ctx.workspace_size = net->workspace_size;
}

const DnTensor *dn_network_forward (DnNetwork *net, const float *x, int batch, uint64_t seed)
{
    g_assert (batch <= net->max_batch);
    set_batch (net, batch);
    net->ctx.seed = seed;
    net->last_input = x;
    DnTensor xin;
    dn_tensor_view (&xin, (float *) x, batch, &net->input_shape);
    for (guint i = 0; i < net->nodes->len; i++) {
        DnNode *n = net->nodes->pdata[i];
        if (n->computed_by != (int) i)
            continue; /* an earlier node's layer computed it */
        DnNode *last = net->nodes->pdata[i + n->fused];
        const DnTensor *in[DN_LAYER_MAX_INPUTS];
        for (int k = 0; k < n->n_inputs; k++)
            in[k] = n->inputs[k] < 0 ? &xin : &((DnNode *) net->nodes->pdata[n->inputs[k]])->out;
        if (n->layer->klass->view) {
            n->out.data = in[0]->data;
            continue;
        }
        gint64 t0 = net->ctx.profile ? g_get_monotonic_time () : 0;
        n->layer->klass->forward (n->layer, &net->ctx, batch, in, &last->out);
        if (net->ctx.profile) {
            net->backend->synchronize (net->backend);
            n->layer->prof_seconds[0] += (g_get_monotonic_time () - t0) / 1e6;
        }
    }
    return &((DnNode *) net->nodes->pdata[net->nodes->len - 1])->out;
}

void dn_network_backward (DnNetwork *net, const float *dy, int batch)
{
    DnBackend *be = net->backend;
    set_batch (net, batch);
    /* Node blocks are laid out for max_batch samples, so a smaller (last) batch
     * must clear each node's own gradient rather than a prefix of the arena. */
    for (guint i = 0; i < net->nodes->len; i++) {
        DnNode *n = net->nodes->pdata[i];
        if ((n->needs_grad && !is_inner (net, (int) i) && !n->layer->klass->view) ||
            i + 1 == net->nodes->len)
            be->zero (be, n->dout.data, (size_t) dn_tensor_numel (&n->dout));
    }
    DnNode *out_node = net->nodes->pdata[net->nodes->len - 1];
    be->copy (be, out_node->dout.data, dy, (size_t) dn_tensor_numel (&out_node->dout));
    DnTensor xin;
    dn_tensor_view (&xin, (float *) net->last_input, batch, &net->input_shape);
    for (int i = (int) net->nodes->len - 1; i >= 0; i--) {
        DnNode *n = net->nodes->pdata[i];
        if (!n->needs_grad || n->computed_by != i || n->layer->klass->view)
            continue; /* nothing before it learns, an earlier node's layer does its work, or
                       * its gradient is its input's already */
        DnNode *last = net->nodes->pdata[i + n->fused];
        const DnTensor *in[DN_LAYER_MAX_INPUTS];
        DnTensor *din[DN_LAYER_MAX_INPUTS];
        for (int k = 0; k < n->n_inputs; k++) {
            DnNode *src = n->inputs[k] < 0 ? NULL : net->nodes->pdata[n->inputs[k]];
            in[k] = src != NULL ? &src->out : &xin;
            din[k] = src != NULL && src->needs_grad ? &src->dout : NULL;
        }
        gint64 t0 = net->ctx.profile ? g_get_monotonic_time () : 0;
        n->layer->klass->backward (n->layer, &net->ctx, batch, in, &last->out, &last->dout, din);
        if (net->ctx.profile) {
            net->backend->synchronize (net->backend);
            n->layer->prof_seconds[1] += (g_get_monotonic_time () - t0) / 1e6;
        }
    }
}

/* Calls fn for every run of the trainable arena: dense parameters whole, tracked
 * ones row by row where a flag in `bits` is set; adjacent runs are merged. */
typedef void (*SpanFunc) (DnNetwork *net, size_t offset, size_t len, gpointer data);

/* Calls fn on the merged spans of every untracked parameter and of the tracked rows
 * with one of `bits` and none of `skip`. */
static void for_each_span (DnNetwork *net, guint8 bits, guint8 skip, SpanFunc fn, gpointer data)
{
    size_t start = 0, len = 0;
    for (guint i = 0; i < net->nodes->len; i++) {
        DnLayer *l = ((DnNode *) net->nodes->pdata[i])->layer;
        for (int j = 0; j < l->n_params; j++) {
            DnParam *p = &l->params[j];
            if (!p->trainable)
                continue;
            size_t off = (size_t) (p->value - net->params);
            size_t n = (size_t) dn_shape_numel (&p->shape);
            size_t rows = p->row_len > 0 ? n / p->row_len : 1;
            size_t rl = p->row_len > 0 ? p->row_len : n;
            for (size_t r = 0; r < rows; r++) {
                if (p->row_len > 0 && ((p->rows[r] & bits) == 0 || (p->rows[r] & skip) != 0))
                    continue;
                size_t o = off + r * rl;
                if (len > 0 && start + len == o) {
                    len += rl;
                } else {
                    if (len > 0)
                        fn (net, start, len, data);
                    start = o;
                    len = rl;
                }
            }
        }
    }
    if (len > 0)
        fn (net, start, len, data);
}

static void zero_span (DnNetwork *net, size_t offset, size_t len, gpointer data)
{
    (void) data;
    net->backend->zero (net->backend, net->grads + offset, len);
}

static void clear_bits (DnNetwork *net, guint8 bits)
{
    for (guint i = 0; i < net->nodes->len; i++) {
        DnLayer *l = ((DnNode *) net->nodes->pdata[i])->layer;
        for (int j = 0; j < l->n_params; j++) {
            DnParam *p = &l->params[j];
            if (p->trainable && p->row_len > 0) {
                size_t rows = (size_t) dn_shape_numel (&p->shape) / p->row_len;
                for (size_t r = 0; r < rows; r++)
                    p->rows[r] &= (guint8) ~bits;
            }
        }
    }
}

void dn_network_zero_grad (DnNetwork *net)
{
    if (net->n_tracked == 0) {
        net->backend->zero (net->backend, net->grads, net->n_params);
        return;
    }
    for_each_span (net, DN_ROW_DIRTY, 0, zero_span, NULL);
    clear_bits (net, DN_ROW_DIRTY);
}

static void add_span (DnNetwork *net, size_t offset, size_t len, gpointer data)
{
    (void) net;
    GArray *spans = data;
    size_t pair[2] = {offset, len};
    g_array_append_vals (spans, pair, 2);
}

GArray *dn_network_live_spans (DnNetwork *net)
{
    GArray *spans = g_array_new (FALSE, FALSE, sizeof (size_t));
    for_each_span (net, DN_ROW_LIVE, DN_ROW_IDLE, add_span, spans);
    return spans;
}

void dn_network_forget_live_rows (DnNetwork *net)
{
    clear_bits (net, DN_ROW_LIVE | DN_ROW_IDLE);
}

void dn_network_mark_stepped_rows (DnNetwork *net, gboolean all)
{
    for (guint i = 0; i < net->nodes->len; i++) {
        DnLayer *l = ((DnNode *) net->nodes->pdata[i])->layer;
        for (int j = 0; j < l->n_params; j++) {
            DnParam *p = &l->params[j];
            if (!p->trainable || p->row_len == 0)
                continue;
            size_t rows = (size_t) dn_shape_numel (&p->shape) / p->row_len;
            for (size_t r = 0; r < rows; r++)
                if (all || (p->rows[r] & (DN_ROW_LIVE | DN_ROW_IDLE)) == DN_ROW_LIVE)
                    p->rows[r] |= DN_ROW_STALE;
        }
    }
}

void dn_network_mark_all_live (DnNetwork *net)
{
    for (guint i = 0; i < net->nodes->len; i++) {
        DnLayer *l = ((DnNode *) net->nodes->pdata[i])->layer;
        for (int j = 0; j < l->n_params; j++) {
            DnParam *p = &l->params[j];
            if (p->trainable && p->row_len > 0)
                memset (p->rows, DN_ROW_TOUCHED, (size_t) dn_shape_numel (&p->shape) / p->row_len);
        }
    }
}

void dn_network_set_contexts (DnNetwork *net, const float *table, int n, int dim)
{
    net->ctx.contexts = table;
    net->ctx.n_contexts = table != NULL ? n : 0;
    net->ctx.context_dim = table != NULL ? dim : 0;
    net->ctx.context_index = NULL;
    net->ctx.context_version++;
}

int dn_network_context_dim (DnNetwork *net)
{
    int dim = 0;
    for (guint i = 0; i < net->nodes->len; i++)
        dim = MAX (dim, ((DnNode *) net->nodes->pdata[i])->layer->context_dim);
    return dim;
}

void dn_network_set_context_index (DnNetwork *net, const int32_t *index)
{
    net->ctx.context_index = index;
}

DnShape dn_network_output_shape (DnNetwork *net)
{
    return ((DnNode *) net->nodes->pdata[net->nodes->len - 1])->layer->out_shape;
}

DnNode *dn_network_node (DnNetwork *net, int i)
{
    return net->nodes->pdata[i];
}

int dn_network_n_nodes (DnNetwork *net)
{
    return (int) net->nodes->len;
}

DnNode *dn_network_find_node (DnNetwork *net, const char *name)
{
    int i = find_node_index (net->nodes, name);
    return i >= 0 ? net->nodes->pdata[i] : NULL;
}

int64_t dn_network_n_params (DnNetwork *net)
{
    return (int64_t) net->n_params;
}

static void named_param_free (gpointer p)
{
    DnNamedParam *np = p;
    g_free (np->name);
    g_free (np);
}

GPtrArray *dn_network_named_params (DnNetwork *net)
{
    GPtrArray *out = g_ptr_array_new_with_free_func (named_param_free);
    for (guint i = 0; i < net->nodes->len; i++) {
        DnNode *n = net->nodes->pdata[i];
        for (int j = 0; j < n->layer->n_params; j++) {
            DnNamedParam *np = g_new0 (DnNamedParam, 1);
            np->name = g_strdup_printf ("%s.%s", n->name, n->layer->params[j].name);
            np->param = &n->layer->params[j];
            np->node = n;
            g_ptr_array_add (out, np);
        }
    }
    return out;
}

static char *format_count (int64_t n)
{
    /* 1234567 -> "1,234,567" */
    g_autofree char *raw = g_strdup_printf ("%" G_GINT64_FORMAT, n);
    GString *s = g_string_new (NULL);
    int len = (int) strlen (raw);
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            g_string_append_c (s, ',');
        g_string_append_c (s, raw[i]);
    }
    return g_string_free (s, FALSE);
}

/* Pads a UTF-8 string to `width` columns (printf pads bytes, not characters). */
static void append_padded (GString *s, const char *text, int width, gboolean right)
{
    int cols = (int) g_utf8_strlen (text, -1);
    if (right)
        for (int i = cols; i < width; i++)
            g_string_append_c (s, ' ');
    g_string_append (s, text);
    if (!right)
        for (int i = cols; i < width; i++)
            g_string_append_c (s, ' ');
}

char *dn_network_summary (DnNetwork *net)
{
    int n = (int) net->nodes->len;
    char **cells = g_new0 (char *, (size_t) (n + 2) * 5 + 1); /* NULL-terminated */
    cells[0] = g_strdup ("name");
    cells[1] = g_strdup ("kind");
    cells[2] = g_strdup ("settings");
    cells[3] = g_strdup ("output");
    cells[4] = g_strdup ("parameters");
    cells[5] = g_strdup ("input");
    cells[6] = g_strdup ("");
    cells[7] = g_strdup ("");
    cells[8] = dn_shape_to_string (&net->input_shape);
    cells[9] = g_strdup ("");
    for (int i = 0; i < n; i++) {
        DnNode *node = net->nodes->pdata[i];
        char **row = cells + (size_t) (i + 2) * 5;
        row[0] = g_strdup (node->name);
        row[1] = g_strdup (node->layer->klass->type);
        row[2] = node->layer->klass->describe != NULL ? node->layer->klass->describe (node->layer)
                                                      : g_strdup ("");
        row[3] = dn_shape_to_string (&node->layer->out_shape);
        row[4] = format_count (dn_layer_n_params (node->layer));
    }
    int width[5] = {0};
    for (int r = 0; r < n + 2; r++)
        for (int c = 0; c < 5; c++)
            width[c] = MAX (width[c], (int) g_utf8_strlen (cells[r * 5 + c], -1));
    GString *s = g_string_new (NULL);
    for (int r = 0; r < n + 2; r++) {
        for (int c = 0; c < 5; c++) {
            append_padded (s, cells[r * 5 + c], width[c], c == 4);
            g_string_append (s, c < 4 ? "  " : "\n");
        }
    }
    g_autofree char *total = format_count (dn_network_n_params (net));
    int line = width[0] + width[1] + width[2] + width[3] + 8;
    append_padded (s, "total trainable parameters", line, FALSE);
    append_padded (s, total, width[4], TRUE);
    g_string_append_c (s, '\n');
    g_strfreev (cells);
    return g_string_free (s, FALSE);
}
