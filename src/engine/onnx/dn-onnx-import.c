/* dn-onnx-import.c: an ONNX graph onto the network's layers.
 *
 * Nodes are read in file order, which ONNX requires to be topological: a node
 * reading a value that no earlier node, initializer or graph input defines is an
 * error (a cycle, a missing initializer). Each value is either a constant or an
 * activation computed by one of our layers, with its per-sample shape; each layer
 * is built as it is added, so its own shape checks run at once and name the node.
 * The network is made only when every node mapped.
 */
#include "dn-onnx-private.h"
#include "dn-error.h"
#include "dn-json.h"

#include <string.h>

static void value_free (gpointer p)
{
    DnOnnxValue *v = p;
    g_free (v->layer);
    g_free (v);
}

DnOnnxValue *_dn_onnx_input (DnOnnxImport *im, const Onnx__NodeProto *n, int i, DnOnnxConst **c)
{
    *c = NULL;
    if (i >= (int) n->n_input || n->input[i] == NULL || n->input[i][0] == '\0')
        return NULL;
    *c = g_hash_table_lookup (im->consts, n->input[i]);
    return *c != NULL ? NULL : g_hash_table_lookup (im->values, n->input[i]);
}

int _dn_onnx_readers (DnOnnxImport *im, const char *name)
{
    return GPOINTER_TO_INT (g_hash_table_lookup (im->consumers, name));
}

gboolean _dn_onnx_single_output (DnOnnxImport *im, const Onnx__NodeProto *n, const char *label,
                                 GError **error)
{
    for (size_t i = 1; i < n->n_output; i++) {
        if (n->output[i] != NULL && n->output[i][0] != '\0' &&
            _dn_onnx_readers (im, n->output[i]) > 0) {
            g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                         "%s: its output %" G_GSIZE_FORMAT " ('%s') is read, but only the "
                         "first output of this operator can be imported (a layer that also "
                         "gives that output would be needed)",
                         label, i + 1, n->output[i]);
            return FALSE;
        }
    }
    return TRUE;
}

static void set_output (DnOnnxImport *im, const Onnx__NodeProto *n, const char *layer, int index,
                        DnShape shape)
{
    DnOnnxValue *v = g_new0 (DnOnnxValue, 1);
    v->layer = g_strdup (layer);
    v->index = index;
    v->shape = shape;
    g_hash_table_replace (im->values, g_strdup (n->output[0]), v);
}

void _dn_onnx_alias (DnOnnxImport *im, const Onnx__NodeProto *n, const DnOnnxValue *v)
{
    set_output (im, n, v->layer, v->index, v->shape);
}

void _dn_onnx_weight (DnOnnxImport *im, const char *layer, const char *param, DnOnnxConst *c,
                      const char *label)
{
    char *key = g_strdup_printf ("%s.%s", layer, param);
    g_hash_table_replace (im->weight_of, g_strdup (key), g_strdup (label));
    g_hash_table_replace (im->weights, key, c);
}

/* "conv1" from "conv1.weight"; else the node's name without its op ("/conv1/Conv");
 * else the layer type and node number. Unique, and a valid layer name. */
static char *layer_name (DnOnnxImport *im, const Onnx__NodeProto *n, int index, const char *type)
{
    const char *src = NULL;
    g_autofree char *base = NULL;
    for (size_t i = 1; i < n->n_input && src == NULL; i++)
        if (n->input[i] != NULL && g_str_has_suffix (n->input[i], ".weight") &&
            g_hash_table_contains (im->consts, n->input[i]))
            base = g_strndup (n->input[i], strlen (n->input[i]) - strlen (".weight"));
    if (base == NULL && n->name != NULL && n->name[0] != '\0') {
        base = g_strdup (n->name);
        char *slash = strrchr (base, '/');
        if (slash != NULL && slash != base && n->op_type != NULL &&
            g_str_has_prefix (slash + 1, n->op_type))
            *slash = '\0';
    }
    GString *s = g_string_new (NULL);
    for (const char *p = base != NULL ? base : ""; *p != '\0' && s->len < 48; p++) {
        gboolean ok = g_ascii_isalnum (*p) || *p == '_' || *p == '-';
        if (ok && !(s->len == 0 && *p == '-'))
            g_string_append_c (s, *p);
        else if (s->len > 0 && s->str[s->len - 1] != '_')
            g_string_append_c (s, '_');
    }
    while (s->len > 0 && s->str[s->len - 1] == '_')
        g_string_truncate (s, s->len - 1);
    if (s->len == 0 || g_str_equal (s->str, "input"))
        g_string_printf (s, "%s%d", type, index + 1);
    char *name = g_strdup (s->str);
    for (int k = 2; g_hash_table_contains (im->names, name); k++) {
        g_free (name);
        name = g_strdup_printf ("%s_%d", s->str, k);
    }
    g_string_free (s, TRUE);
    g_hash_table_add (im->names, g_strdup (name));
    return name;
}

const char *_dn_onnx_add_layer (DnOnnxImport *im, const Onnx__NodeProto *n, int index,
                                const char *type, JsonObject *cfg, int n_in, DnOnnxValue **in,
                                GError **error)
{
    g_autofree char *label = _dn_onnx_node_label (n, index);
    g_autofree char *name = layer_name (im, n, index, type);
    json_object_set_string_member (cfg, "type", type);
    json_object_set_string_member (cfg, "name", name);
    JsonArray *inputs = json_array_new ();
    DnShape shapes[DN_LAYER_MAX_INPUTS];
    for (int i = 0; i < n_in && i < DN_LAYER_MAX_INPUTS; i++) {
        json_array_add_string_element (inputs, in[i]->layer);
        shapes[i] = in[i]->shape;
    }
    json_object_set_array_member (cfg, "inputs", inputs);
    if (n_in > DN_LAYER_MAX_INPUTS) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: reads %d inputs; a layer reads at most %d", label, n_in,
                     DN_LAYER_MAX_INPUTS);
        json_object_unref (cfg);
        return NULL;
    }
    /* build it now: its own checks name the layer, and we name the node */
    g_autoptr (GError) local = NULL;
    g_autoptr (DnLayer) l = dn_layer_new (type, name, cfg, &local);
    if (l == NULL || !dn_layer_infer (l, n_in, shapes, &local)) {
        g_set_error (error, DN_ERROR, local->code, "%s: %s", label, local->message);
        json_object_unref (cfg);
        return NULL;
    }
    json_array_add_object_element (im->layers, cfg);
    int li = (int) json_array_get_length (im->layers) - 1;
    set_output (im, n, name, li, l->out_shape);
    DnOnnxValue *v = g_hash_table_lookup (im->values, n->output[0]);
    return v->layer;
}

static gboolean read_input (DnOnnxImport *im, GError **error)
{
    const Onnx__ValueInfoProto *input = NULL;
    for (size_t i = 0; i < im->graph->n_input; i++) {
        const Onnx__ValueInfoProto *vi = im->graph->input[i];
        if (vi->name == NULL || g_hash_table_contains (im->consts, vi->name))
            continue; /* IR 3 lists initializers among the inputs */
        if (input != NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                         "%s: the graph has more than one input ('%s' and '%s'); a network "
                         "has one (give the others as initializers)",
                         im->what, input->name, vi->name);
            return FALSE;
        }
        input = vi;
    }
    if (input == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: the graph has no input", im->what);
        return FALSE;
    }
    const Onnx__TypeProto *tp = input->type;
    const Onnx__TypeProto__Tensor *tt =
        tp != NULL && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ? tp->tensor_type
                                                                          : NULL;
    if (tt == NULL || !tt->has_elem_type || tt->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
        tt->shape == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: the input '%s' must be a float tensor of known shape (batch, ...)",
                     im->what, input->name);
        return FALSE;
    }
    const Onnx__TensorShapeProto *sh = tt->shape;
    if (sh->n_dim < 2 || sh->n_dim > DN_MAX_DIMS + 1) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: the input '%s' has %" G_GSIZE_FORMAT " dimensions; a network's input "
                     "is (batch, ...) with 1 to %d dimensions per sample",
                     im->what, input->name, sh->n_dim, DN_MAX_DIMS);
        return FALSE;
    }
    DnShape s = {.ndim = (int) sh->n_dim - 1};
    int64_t numel = 1;
    for (size_t i = 1; i < sh->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        int64_t v = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                        ? d->dim_value
                        : -1;
        if (v < 1 || v > DN_ONNX_MAX_DIM || numel * v > DN_ONNX_MAX_NUMEL) {
            g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                         "%s: dimension %" G_GSIZE_FORMAT " of the input '%s' is %s; every "
                         "dimension but the batch must be a fixed size, at most %" G_GINT64_FORMAT
                         " values per sample",
                         im->what, i, input->name, v < 0 ? "not a fixed number" : "too large",
                         DN_ONNX_MAX_NUMEL);
            return FALSE;
        }
        s.d[i - 1] = v;
        numel *= v;
    }
    im->input_shape = s;
    DnOnnxValue *v = g_new0 (DnOnnxValue, 1);
    v->layer = g_strdup ("input");
    v->index = -1;
    v->shape = s;
    g_hash_table_replace (im->values, g_strdup (input->name), v);
    return TRUE;
}

static gboolean read_constant (DnOnnxImport *im, const Onnx__NodeProto *n, const char *label,
                               GError **error)
{
    static const char *const known[] = {"value", NULL};
    const Onnx__AttributeProto *a = _dn_onnx_attr (n, "value");
    if (!_dn_onnx_check_attrs (n, known, label, error))
        return FALSE;
    if (a == NULL || a->t == NULL || n->n_output < 1) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: only a Constant with a tensor \"value\" can be imported", label);
        return FALSE;
    }
    DnOnnxConst *c = _dn_onnx_tensor_read (a->t, im->dir, label, error);
    if (c == NULL)
        return FALSE;
    g_hash_table_replace (im->consts, g_strdup (n->output[0]), c);
    return TRUE;
}

/* Every input defined before, every output new: the graph is in order and acyclic. */
static gboolean check_node_io (DnOnnxImport *im, const Onnx__NodeProto *n, const char *label,
                               GError **error)
{
    if (n->op_type == NULL || n->n_output < 1 || n->output[0] == NULL || n->output[0][0] == '\0') {
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT, "%s: has no op_type or no output", label);
        return FALSE;
    }
    if (n->domain != NULL && n->domain[0] != '\0' && !g_str_equal (n->domain, "ai.onnx")) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: belongs to the operator domain '%s'; import maps standard ONNX "
                     "operators only",
                     label, n->domain);
        return FALSE;
    }
    for (size_t i = 0; i < n->n_input; i++) {
        const char *in = n->input[i];
        if (in == NULL || in[0] == '\0' || g_hash_table_contains (im->values, in) ||
            g_hash_table_contains (im->consts, in))
            continue;
        g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                     "%s: reads '%s', which no earlier node computes and no initializer holds "
                     "(a missing initializer, or nodes out of order or in a cycle)",
                     label, in);
        return FALSE;
    }
    for (size_t i = 0; i < n->n_output; i++) {
        const char *out = n->output[i];
        if (out != NULL && (g_hash_table_contains (im->values, out) ||
                            g_hash_table_contains (im->consts, out))) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: computes '%s', which is already defined (every value is "
                         "computed once)",
                         label, out);
            return FALSE;
        }
    }
    return TRUE;
}

static void import_clear (DnOnnxImport *im)
{
    g_clear_pointer (&im->values, g_hash_table_unref);
    g_clear_pointer (&im->consts, g_hash_table_unref);
    g_clear_pointer (&im->consumers, g_hash_table_unref);
    g_clear_pointer (&im->layers, json_array_unref);
    g_clear_pointer (&im->names, g_hash_table_unref);
    g_clear_pointer (&im->weights, g_hash_table_unref);
    g_clear_pointer (&im->weight_of, g_hash_table_unref);
    g_clear_pointer (&im->foldable, g_hash_table_unref);
    g_clear_pointer (&im->role, g_free);
    if (im->pattern_input != NULL && im->graph != NULL)
        for (size_t i = 0; i < im->graph->n_node; i++)
            g_free (im->pattern_input[i]);
    g_clear_pointer (&im->pattern_input, g_free);
}

/* Copies the weights into the network by name; every parameter must have one. */
static gboolean load_weights (DnOnnxImport *im, DnNetwork *net, GError **error)
{
    g_autoptr (GPtrArray) params = dn_network_named_params (net);
    for (guint i = 0; i < params->len; i++) {
        DnNamedParam *np = g_ptr_array_index (params, i);
        DnOnnxConst *c = g_hash_table_lookup (im->weights, np->name);
        const char *label = g_hash_table_lookup (im->weight_of, np->name);
        DnShape want = np->param->shape;
        if (c == NULL) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: no initializer gives the layer's parameter '%s'", im->what,
                         np->name);
            return FALSE;
        }
        if (c->numel != dn_shape_numel (&want)) {
            g_autofree char *ws = dn_shape_to_string (&want);
            DnShape have = dn_shape_make (c->ndim, c->dims);
            g_autofree char *hs = dn_shape_to_string (&have);
            g_set_error (error, DN_ERROR, DN_ERROR_SHAPE,
                         "%s: %s: its initializer for '%s' has shape %s but the layer needs %s",
                         im->what, label != NULL ? label : "a node", np->name, hs, ws);
            return FALSE;
        }
        net->backend->upload (net->backend, np->param->value, c->f,
                              (size_t) c->numel * sizeof (float));
    }
    return TRUE;
}

/* A model `dendrite export` wrote imports back only when it is plain layers: its
 * normalisation (Sub, Div at the input) and its dendrites (Mul, Add of each dendrite's
 * output) have no layer of their own, and a dendritic network flattened into layers
 * would no longer be one. The model file it came from has all of it. */
static void explain_own_export (DnOnnxImport *im, GError **error)
{
    if (error == NULL || *error == NULL || (*error)->code != DN_ERROR_UNSUPPORTED)
        return;
    g_prefix_error (error,
                    "%s was written by Dendrite Studio (`dendrite export`); import maps its plain "
                    "layers back, not its normalisation (Sub, Div at the input) or its dendrites "
                    "(Mul, Add): open the .safetensors model it was exported from instead "
                    "(`dendrite eval`, `inspect` and `train --init` read it, dendrites and "
                    "normalisation included). ",
                    im->what);
}

static gboolean import_graph (DnOnnxImport *im, GError **error)
{
    Onnx__GraphProto *g = im->graph;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        if (t->name == NULL || g_hash_table_contains (im->consts, t->name)) {
            g_set_error (error, DN_ERROR, DN_ERROR_FORMAT,
                         "%s: initializer %" G_GSIZE_FORMAT " has no name or one used before",
                         im->what, i + 1);
            return FALSE;
        }
        DnOnnxConst *c = _dn_onnx_tensor_read (t, im->dir, im->what, error);
        if (c == NULL)
            return FALSE;
        g_hash_table_replace (im->consts, g_strdup (t->name), c);
    }
    if (g->n_sparse_initializer > 0) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: the graph has sparse initializers; store them dense", im->what);
        return FALSE;
    }
    if (!read_input (im, error))
        return FALSE;
    for (size_t i = 0; i < g->n_node; i++)
        for (size_t k = 0; k < g->node[i]->n_input; k++)
            if (g->node[i]->input[k] != NULL)
                g_hash_table_replace (im->consumers, g_strdup (g->node[i]->input[k]),
                                      GINT_TO_POINTER (_dn_onnx_readers (im, g->node[i]->input[k]) + 1));
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name != NULL)
            g_hash_table_replace (im->consumers, g_strdup (g->output[i]->name),
                                  GINT_TO_POINTER (_dn_onnx_readers (im, g->output[i]->name) + 1));
    im->role = g_new0 (int, MAX (g->n_node, 1));
    im->pattern_input = g_new0 (char *, MAX (g->n_node, 1));
    _dn_onnx_find_patterns (im);
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        g_autofree char *label = _dn_onnx_node_label (n, (int) i);
        if (im->role[i] == 1)
            continue; /* inside a pattern its last node maps */
        if (im->role[i] == 0 && !check_node_io (im, n, label, error))
            return FALSE;
        if (g_str_equal (n->op_type, "Constant")) {
            if (!read_constant (im, n, label, error))
                return FALSE;
        } else if (!_dn_onnx_map_node (im, (int) i, error)) {
            if (im->ours)
                explain_own_export (im, error);
            return FALSE;
        }
    }
    if (g->n_output != 1 || g->output[0]->name == NULL) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: the graph has %" G_GSIZE_FORMAT " outputs; a network has one",
                     im->what, g->n_output);
        return FALSE;
    }
    DnOnnxValue *out = g_hash_table_lookup (im->values, g->output[0]->name);
    int n_layers = (int) json_array_get_length (im->layers);
    if (out == NULL || out->index < 0 || out->index != n_layers - 1) {
        g_set_error (error, DN_ERROR, DN_ERROR_UNSUPPORTED,
                     "%s: the graph's output '%s' is %s; a network's output is its last layer",
                     im->what, g->output[0]->name,
                     out == NULL       ? "not computed by any node"
                     : out->index < 0 ? "its input, unchanged"
                                      : "not computed by the last node (a layer computes "
                                        "something never used)");
        return FALSE;
    }
    return TRUE;
}

DnNetwork *dn_onnx_import_bytes (const guint8 *bytes, gsize len, const char *dir,
                                 const char *what, DnBackend *be, JsonNode **desc_out,
                                 GError **error)
{
    int opset = 0;
    Onnx__ModelProto *m = _dn_onnx_unpack (bytes, len, what, &opset, error);
    if (m == NULL)
        return NULL;
    DnOnnxImport im = {
        .what = what,
        .dir = dir,
        .opset = opset,
        .graph = m->graph,
        .ours = m->producer_name != NULL && g_str_equal (m->producer_name, DN_ONNX_PRODUCER),
        .values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, value_free),
        .consts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) _dn_onnx_const_free),
        .consumers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
        .layers = json_array_new (),
        .names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
        .weights = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) _dn_onnx_const_free),
        .weight_of = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free),
        .foldable = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
    };
    g_hash_table_add (im.names, g_strdup ("input"));
    DnNetwork *net = NULL;
    if (import_graph (&im, error)) {
        g_autoptr (JsonBuilder) b = json_builder_new ();
        json_builder_begin_object (b);
        json_builder_set_member_name (b, "input");
        json_builder_begin_array (b);
        for (int i = 0; i < im.input_shape.ndim; i++)
            json_builder_add_int_value (b, im.input_shape.d[i]);
        json_builder_end_array (b);
        json_builder_set_member_name (b, "layers");
        json_builder_add_value (b, json_node_init_array (json_node_alloc (), im.layers));
        json_builder_end_object (b);
        g_autoptr (JsonNode) desc = json_builder_get_root (b);
        g_autoptr (GError) local = NULL;
        net = dn_network_new_from_json (desc, be, &local);
        if (net == NULL)
            g_set_error (error, DN_ERROR, local->code, "%s: %s", what, local->message);
        else if (!load_weights (&im, net, error))
            g_clear_pointer (&net, dn_network_free);
        if (net != NULL && desc_out != NULL)
            *desc_out = g_steal_pointer (&desc);
    }
    import_clear (&im);
    protobuf_c_message_free_unpacked (&m->base, NULL);
    return net;
}
